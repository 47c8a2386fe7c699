"""pytest-acsemu: an `acsemu` fixture for pytest suites that talk to Alibaba Cloud.

Each test that asks for `acsemu` gets its own acsemu process on a free loopback port with a
temporary database, stopped after the test:

    def test_role(acsemu):
        client = AcsClient(acsemu.access_key_id, acsemu.access_key_secret, "cn-hangzhou",
                           port=acsemu.port)
        ...

The binary is `ACSEMU_BIN` (a path), else `acsemu` on PATH, else `--acsemu-bin PATH`.
`@pytest.mark.acsemu(init="state.yaml", args=["--enforce", "off"])` starts it with a state file
or other `acsemu serve` flags. Load it with `-p pytest_acsemu` (or `pytest_plugins =
["pytest_acsemu"]` in a conftest), with this directory's parent on `sys.path`, or install it
(`pip install ./python`, which registers the plugin).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

__all__ = ["Acsemu", "AcsemuError", "start"]

READY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
READY_RE = re.compile(r"^acsemu ready((?: [a-z_]+=\S+)+)\s*$")


class AcsemuError(RuntimeError):
    pass


@dataclass
class Acsemu:
    """A running acsemu: where it listens and the account's root key."""

    endpoint: str  # http://127.0.0.1:PORT
    host: str
    port: int
    account_id: str
    access_key_id: str
    access_key_secret: str
    data: Path
    process: subprocess.Popen = field(repr=False)
    #: The `export NAME=value` lines acsemu printed after its ready line, as a dict.
    env: dict = field(default_factory=dict)
    _log: list = field(default_factory=list, repr=False)

    def url(self, path: str) -> str:
        return self.endpoint + path

    def control(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        """A control endpoint call (`/_acsemu/...`); raises on an HTTP error."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url(path), data=data, method=method)
        with _opener().open(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def reset(self) -> None:
        self.control("POST", "/_acsemu/reset")

    def advance_clock(self, seconds: int) -> dict:
        return self.control("POST", "/_acsemu/clock", {"advance_seconds": seconds})

    def credentials_uri(self, instance_id: str) -> str:
        """What to put in ALIBABA_CLOUD_CREDENTIALS_URI for an instance's role credentials."""
        return self.url(f"/_acsemu/credentials/{instance_id}")

    def log(self) -> str:
        return "".join(self._log)

    def stop(self) -> Optional[int]:
        p = self.process
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=STOP_TIMEOUT_S)
        return p.returncode


def _opener():
    # Never through a proxy from the environment: acsemu is on loopback.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_binary(option: Optional[str] = None) -> Path:
    for candidate in (os.environ.get("ACSEMU_BIN"), option, shutil.which("acsemu")):
        if candidate:
            p = Path(candidate).expanduser()
            if p.is_file() and os.access(p, os.X_OK):
                return p.resolve()
            raise AcsemuError(f"acsemu binary not found or not executable: {p}")
    raise AcsemuError("no acsemu binary: set ACSEMU_BIN, pass --acsemu-bin, or put acsemu on PATH")


def start(binary: Path, data_dir: Path, init: Optional[str] = None, args: tuple = ()) -> Acsemu:
    """Starts `acsemu serve` on a free port and a new database in `data_dir`."""
    data = Path(data_dir) / "acsemu.db"
    argv = [str(binary), "serve", "--listen", "127.0.0.1:0", "--data", str(data)]
    if init:
        argv += ["--init", str(init)]
    argv += list(args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACSEMU_")}
    env["NO_COLOR"] = "1"
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    lines: "queue.Queue[Optional[str]]" = queue.Queue()
    log: list = []

    def drain(stream, into_queue: bool) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace")
            log.append(text)
            if into_queue:
                lines.put(text)
        if into_queue:
            lines.put(None)
        stream.close()

    threading.Thread(target=drain, args=(proc.stdout, True), daemon=True).start()
    threading.Thread(target=drain, args=(proc.stderr, False), daemon=True).start()
    try:
        first = lines.get(timeout=READY_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        raise AcsemuError(f"acsemu printed no ready line in {READY_TIMEOUT_S}s:\n{''.join(log)}") from None
    m = READY_RE.match(first or "")
    if not m:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)
        raise AcsemuError(f"acsemu did not start:\n{''.join(log)}")
    fields = dict(kv.split("=", 1) for kv in m.group(1).split())
    host, port = fields["endpoint"].removeprefix("http://").rsplit(":", 1)
    exports: dict = {}
    # The exports follow the ready line at once; read what is there without waiting long.
    while True:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("export "):
            k, _, v = line[len("export "):].strip().partition("=")
            exports[k] = v.strip("'")
        if line.startswith("unset "):
            break
    return Acsemu(endpoint=fields["endpoint"], host=host, port=int(port),
                  account_id=fields["account_id"], access_key_id=fields["access_key_id"],
                  access_key_secret=fields["access_key_secret"], data=data, process=proc,
                  env=exports, _log=log)


def pytest_addoption(parser):
    parser.addoption("--acsemu-bin", default=None,
                     help="the acsemu binary (default: $ACSEMU_BIN, else acsemu on PATH)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "acsemu(init=None, args=()): start the acsemu fixture with a state file or flags")


@pytest.fixture
def acsemu(request):
    """A fresh acsemu for this test: endpoint, host, port and the root key; stopped afterwards."""
    binary = find_binary(request.config.getoption("--acsemu-bin"))
    marker = request.node.get_closest_marker("acsemu")
    init = marker.kwargs.get("init") if marker else None
    args = tuple(marker.kwargs.get("args", ())) if marker else ()
    with tempfile.TemporaryDirectory(prefix="acsemu-") as tmp:
        server = start(binary, Path(tmp), init=init, args=args)
        try:
            yield server
        finally:
            server.stop()
