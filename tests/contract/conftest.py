"""Fixtures for the SDK contract tests: build acsemu once, run it as a real process.

Environment:
  ACSEMU_BIN         the binary to run (absolute, or relative to the repo root). When set, nothing
                     is built. Default: `cargo build --bin acsemu` once per session, then
                     target/debug/acsemu.
  ACSEMU_SKIP_BUILD  set to 1 to use target/debug/acsemu as it is, without calling cargo.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acsemu_harness import REPO_ROOT, AcsemuServer, env_path  # noqa: E402

BUILD_TIMEOUT_S = 1800


@pytest.fixture(scope="session")
def acsemu_bin() -> Path:
    """The acsemu binary; built once per session unless ACSEMU_BIN / ACSEMU_SKIP_BUILD say not."""
    default = REPO_ROOT / "target" / "debug" / "acsemu"
    if not os.environ.get("ACSEMU_BIN") and os.environ.get("ACSEMU_SKIP_BUILD") != "1":
        try:
            proc = subprocess.run(
                ["cargo", "build", "--quiet", "--bin", "acsemu"],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"cargo build --bin acsemu took more than {BUILD_TIMEOUT_S}s", pytrace=False)
        if proc.returncode != 0:
            pytest.fail(f"cargo build --bin acsemu failed:\n{proc.stderr[-8000:]}", pytrace=False)
    binary = env_path("ACSEMU_BIN", default)
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(f"acsemu binary not found or not executable: {binary}", pytrace=False)
    return binary


def _new_server(binary: Path, base: Path) -> AcsemuServer:
    base.mkdir(parents=True, exist_ok=True)
    return AcsemuServer(binary, base / "state.db", base / "acsemu.log")


@pytest.fixture(scope="module")
def _module_server(acsemu_bin, tmp_path_factory):
    server = _new_server(acsemu_bin, tmp_path_factory.mktemp("acsemu"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def acsemu(_module_server) -> AcsemuServer:
    """The module's server (one process per test module, restarted if a test left it stopped).

    Tests keep their own names unique instead of resetting, so they do not depend on
    /_acsemu/reset; `acsemu.reset()` is there for tests that want a clean account.
    """
    if not _module_server.running:
        _module_server.stop()
        _module_server.start()
    return _module_server


@pytest.fixture
def fresh_acsemu(acsemu_bin, tmp_path):
    """A server of its own for one test, on a new database."""
    server = _new_server(acsemu_bin, tmp_path / "acsemu")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of the server's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for name in ("acsemu", "fresh_acsemu"):
            server = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(server, AcsemuServer):
                report.sections.append((f"{name} log", server.log_tail(80)))
