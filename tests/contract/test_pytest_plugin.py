"""Issue 10: the pytest-acsemu plugin (python/pytest_acsemu/) runs its own tests against the
binary under test. They run in a pytest process of their own, loaded with `-p pytest_acsemu`:
the plugin's `acsemu` fixture and this suite's harness fixture of the same name stay apart."""

from __future__ import annotations

import os
import subprocess
import sys

from acsemu_harness import REPO_ROOT


def test_plugin_suite(acsemu_bin):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT / "python"), env.get("PYTHONPATH")]))
    env["ACSEMU_BIN"] = str(acsemu_bin)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "python/pytest_acsemu/tests", "-q", "-p", "pytest_acsemu",
         "-p", "no:cacheprovider", "--rootdir", "python"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout, proc.stdout
