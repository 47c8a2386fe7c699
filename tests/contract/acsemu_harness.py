"""Run a real `acsemu` process and point the official Alibaba Cloud Python SDKs at it.

Used by conftest.py (fixtures) and the test modules (client factories, error helpers).
Facts about the clients come from shared/reference/clients.md and from reading the installed
SDK sources (aliyun-python-sdk-core 2.16.1, alibabacloud-tea-openapi 0.4.6).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 10.0

# `acsemu ready endpoint=http://127.0.0.1:PORT account_id=... access_key_id=... access_key_secret=...`
READY_RE = re.compile(r"^acsemu ready((?: [a-z_]+=\S+)+)\s*$")

# errors.md: RequestId is a UUID, upper-case hex with dashes.
REQUEST_ID_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
# ram.md: timestamps `YYYY-MM-DDThh:mm:ssZ` UTC.
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

RAM_VERSION = "2015-05-01"
REGION = "cn-hangzhou"


class ServerStartError(RuntimeError):
    pass


_LIVE: "set[subprocess.Popen]" = set()


@atexit.register
def _kill_leftovers() -> None:
    """Last resort if a fixture's teardown never ran (e.g. an interrupted session)."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            proc.kill()


@dataclass(frozen=True)
class Ready:
    endpoint: str  # http://127.0.0.1:PORT
    host: str  # 127.0.0.1
    port: int
    account_id: str
    access_key_id: str
    access_key_secret: str


def parse_ready_line(line: str) -> Ready:
    m = READY_RE.match(line.rstrip("\r\n"))
    if not m:
        raise ServerStartError(f"first stdout line is not the ready line: {line!r}")
    fields = dict(kv.split("=", 1) for kv in m.group(1).split())
    missing = {"endpoint", "account_id", "access_key_id", "access_key_secret"} - fields.keys()
    if missing:
        raise ServerStartError(f"ready line lacks {sorted(missing)}: {line!r}")
    em = re.match(r"^http://([^:/]+):(\d+)/?$", fields["endpoint"])
    if not em:
        raise ServerStartError(f"ready line endpoint is not http://HOST:PORT: {line!r}")
    return Ready(
        endpoint=fields["endpoint"].rstrip("/"),
        host=em.group(1),
        port=int(em.group(2)),
        account_id=fields["account_id"],
        access_key_id=fields["access_key_id"],
        access_key_secret=fields["access_key_secret"],
    )


class AcsemuServer:
    """One `acsemu serve` process on a fixed database file; restartable.

    stdout and stderr are drained into `log_path` by a thread (a server that logs to a pipe
    nobody reads would block); the first stdout line is handed to `start()`.
    """

    def __init__(self, binary: Path, data_path: Path, log_path: Path, extra_args: tuple[str, ...] = ()):
        self.binary = Path(binary)
        self.data_path = Path(data_path)
        self.log_path = Path(log_path)
        self.extra_args = tuple(extra_args)
        self.proc: Optional[subprocess.Popen] = None
        self.ready: Optional[Ready] = None
        self._drainers: list[threading.Thread] = []
        self._log_lock = threading.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> Ready:
        if self.proc is not None:
            raise RuntimeError("acsemu already running")
        argv = [
            str(self.binary),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            str(self.data_path),
            *self.extra_args,
        ]
        self._log(f"\n===== start: {' '.join(argv)}\n")
        proc = subprocess.Popen(
            argv,
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "NO_COLOR": "1"},  # plain log lines in the log file
        )
        _LIVE.add(proc)
        self.proc = proc
        first: "queue.Queue[Optional[str]]" = queue.Queue(maxsize=1)
        self._drainers = [
            threading.Thread(target=self._drain, args=(proc.stdout, "stdout", first), daemon=True),
            threading.Thread(target=self._drain, args=(proc.stderr, "stderr", None), daemon=True),
        ]
        for t in self._drainers:
            t.start()
        try:
            line = first.get(timeout=READY_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise ServerStartError(
                f"no ready line within {READY_TIMEOUT_S}s\n{self.log_tail()}"
            ) from None
        if line is None:
            rc = proc.wait(timeout=STOP_TIMEOUT_S)
            self.proc = None
            _LIVE.discard(proc)
            raise ServerStartError(f"acsemu exited (rc={rc}) before its ready line\n{self.log_tail()}")
        try:
            self.ready = parse_ready_line(line)
        except ServerStartError as e:
            self.stop()
            raise ServerStartError(f"{e}\n{self.log_tail()}") from None
        return self.ready

    def stop(self) -> Optional[int]:
        """SIGTERM, wait (bounded), then SIGKILL. Returns the exit code."""
        proc, self.proc = self.proc, None
        self.ready = None
        if proc is None:
            return None
        rc = proc.poll()
        if rc is None:
            try:
                proc.send_signal(signal.SIGTERM)
                rc = proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._log(f"===== acsemu ignored SIGTERM for {STOP_TIMEOUT_S}s: SIGKILL\n")
                proc.kill()
                rc = proc.wait(timeout=STOP_TIMEOUT_S)
        _LIVE.discard(proc)
        for t in self._drainers:
            t.join(timeout=STOP_TIMEOUT_S)
        self._log(f"===== stopped rc={rc}\n")
        return rc

    def kill(self) -> None:
        """Teardown path: never leaves the process behind, whatever state it is in."""
        proc = self.proc
        if proc is None:
            return
        try:
            self.stop()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> str:
        """Stop (SIGTERM, wait) and start again on the same database; returns the new endpoint."""
        self.stop()
        return self.start().endpoint

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ---- logging ---------------------------------------------------------------------------

    def _log(self, text: str) -> None:
        with self._log_lock, open(self.log_path, "a", encoding="utf-8", errors="replace") as f:
            f.write(text)

    def _drain(self, stream, name: str, first: "Optional[queue.Queue[Optional[str]]]") -> None:
        got_first = first is None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            if not got_first:
                got_first = True
                first.put(line)
            self._log(f"[{name}] {line if line.endswith(chr(10)) else line + chr(10)}")
        if not got_first:
            first.put(None)
        stream.close()

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return "(no server log)"
        return "----- acsemu log (tail) -----\n" + "\n".join(lines[-n:])

    # ---- what tests use --------------------------------------------------------------------

    def _need(self) -> Ready:
        if self.ready is None or not self.running:
            raise RuntimeError(f"acsemu is not running\n{self.log_tail()}")
        return self.ready

    @property
    def endpoint(self) -> str:
        return self._need().endpoint

    @property
    def port(self) -> int:
        return self._need().port

    @property
    def host(self) -> str:
        return self._need().host

    @property
    def account_id(self) -> str:
        return self._need().account_id

    @property
    def access_key_id(self) -> str:
        return self._need().access_key_id

    @property
    def access_key_secret(self) -> str:
        return self._need().access_key_secret

    def http(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
        """A plain HTTP call to the server (control endpoints); never raises on HTTP status."""
        req = urllib.request.Request(self.endpoint + path, data=body if method != "GET" else None, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def health(self) -> dict:
        status, _, body = self.http("GET", "/_acsemu/health")
        assert status == 200, f"GET /_acsemu/health -> {status} {body!r}"
        return json.loads(body)

    def reset(self) -> None:
        status, _, body = self.http("POST", "/_acsemu/reset")
        assert 200 <= status < 300, f"POST /_acsemu/reset -> {status} {body!r}"

    # ---- SDK client factories --------------------------------------------------------------

    def v1_client(self, ak: Optional[str] = None, secret: Optional[str] = None):
        """aliyun-python-sdk-core AcsClient (RPC signature V1, HMAC-SHA1); no retries."""
        from aliyunsdkcore.client import AcsClient

        return AcsClient(
            ak if ak is not None else self.access_key_id,
            secret if secret is not None else self.access_key_secret,
            REGION,
            auto_retry=False,
            port=self.port,
            connect_timeout=5,
            timeout=10,
        )

    def v1_request(
        self,
        action: str,
        params: Optional[dict] = None,
        *,
        method: str = "GET",
        body_params: Optional[dict] = None,
        version: str = RAM_VERSION,
    ):
        """CommonRequest(domain=127.0.0.1, http) with `params` in the query (and a form body)."""
        from aliyunsdkcore.request import CommonRequest

        req = CommonRequest(domain=self.host, version=version, action_name=action)
        req.set_protocol_type("http")
        req.set_method(method)
        for k, v in (params or {}).items():
            req.add_query_param(k, v)
        for k, v in (body_params or {}).items():
            req.add_body_params(k, v)
        return req

    def tea_config(self, ak: Optional[str] = None, secret: Optional[str] = None, **kw):
        from alibabacloud_tea_openapi.utils_models import Config

        return Config(
            access_key_id=ak if ak is not None else self.access_key_id,
            access_key_secret=secret if secret is not None else self.access_key_secret,
            endpoint=f"{self.host}:{self.port}",
            protocol="http",
            region_id=REGION,
            connect_timeout=5000,
            read_timeout=10000,
            **kw,
        )

    def ram_client(self, ak: Optional[str] = None, secret: Optional[str] = None, **kw):
        """alibabacloud_ram20150501 Client; ACS3-HMAC-SHA256 unless signature_algorithm='v2'.

        No retries: tea-openapi 0.4.6 retries only when Config.retry_options says so (None here).
        """
        from alibabacloud_ram20150501.client import Client

        return Client(self.tea_config(ak, secret, **kw))


def tea_runtime():
    """RuntimeOptions with retries off (belt and braces; 0.4.6 reads Config.retry_options)."""
    from darabonba.runtime import RuntimeOptions

    return RuntimeOptions(autoretry=False, max_attempts=0, read_timeout=10000, connect_timeout=5000)


# ---- error capture ---------------------------------------------------------------------------


@dataclass
class SdkError:
    """What an SDK surfaced for a failed call."""

    code: str
    status: int
    message: str  # the SDK's message (tea prefixes "code: <status>, " and appends the request id)
    request_id: Optional[str]
    server_message: Optional[str]  # the server's Message, where the SDK keeps it
    raw: Any


def v1_error(fn: Callable[[], Any]) -> SdkError:
    """Run an aliyunsdkcore call that must fail with a ServerException."""
    from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

    try:
        result = fn()
    except ServerException as e:
        return SdkError(
            code=e.get_error_code(),
            status=e.get_http_status(),
            message=e.get_error_msg(),
            request_id=e.get_request_id(),
            server_message=e.get_error_msg(),
            raw=e,
        )
    except ClientException as e:  # pragma: no cover - reported as a failure with the detail
        raise AssertionError(f"expected a ServerException, got ClientException {e}") from e
    raise AssertionError(f"expected a ServerException, the call succeeded: {result!r}")


def tea_error(fn: Callable[[], Any]) -> SdkError:
    """Run a tea call that must fail with an error response (alibabacloud_tea_openapi exceptions)."""
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
    from Tea.exceptions import TeaException

    try:
        result = fn()
    except AlibabaCloudException as e:
        data = e.data or {}
        # INVARIANT (tea-openapi 0.4.6): status_code, statusCode and data['statusCode'] agree.
        assert data.get("statusCode") == e.status_code, (data, e.status_code)
        return SdkError(
            code=e.code,
            status=e.status_code,
            message=e.message,
            request_id=e.request_id,
            server_message=data.get("Message"),
            raw=e,
        )
    except TeaException as e:  # pragma: no cover
        raise AssertionError(f"expected an error response, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"expected an error response, the call succeeded: {result!r}")


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    if not value:
        return default
    p = Path(value)
    return p if p.is_absolute() else REPO_ROOT / p


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---- RAM / STS by wire name, through either SDK (test_ram_seed, test_sts, test_authorization) ----

STS_VERSION = "2015-04-01"
SDK_NAMES = ("v1", "v3")  # aliyunsdkcore CommonRequest (V1) / generated tea clients (ACS3)


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _v1_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


class Rpc:
    """RAM and STS actions by their wire names, signed by one SDK with one identity.

    sdk "v1": aliyun-python-sdk-core AcsClient + CommonRequest (V1; an STS identity through
    `aliyunsdkcore.auth.credentials.StsTokenCredential`, which adds SecurityToken to the query).
    sdk "v3": alibabacloud_ram20150501 / alibabacloud_sts20150401 clients (ACS3-HMAC-SHA256 by
    default; Config.security_token for an STS identity, sent as x-acs-security-token); requests
    are the generated `<Action>Request` models built with `from_map(wire params)`, answers are
    `resp.body.to_map()`, so a field the models do not know never shows up.
    sdk "tea-v2": the same tea clients with signature_algorithm="v2" (V1 through tea).
    Every call returns the body as a dict keyed by the wire names.
    """

    def __init__(self, server: "AcsemuServer", sdk: str, ak: Optional[str] = None,
                 secret: Optional[str] = None, token: Optional[str] = None):
        self.server = server
        self.sdk = sdk
        self.ak = ak if ak is not None else server.access_key_id
        self.secret = secret if secret is not None else server.access_key_secret
        self.token = token
        self._clients: dict = {}

    def with_identity(self, ak: str, secret: str, token: Optional[str] = None) -> "Rpc":
        return Rpc(self.server, self.sdk, ak, secret, token)

    # -- clients --

    def acs_client(self):
        """The aliyunsdkcore AcsClient signing as this identity."""
        if "v1" not in self._clients:
            from aliyunsdkcore.client import AcsClient

            if self.token:
                from aliyunsdkcore.auth.credentials import StsTokenCredential

                self._clients["v1"] = AcsClient(
                    region_id=REGION, auto_retry=False, port=self.server.port, connect_timeout=5,
                    timeout=10, credential=StsTokenCredential(self.ak, self.secret, self.token))
            else:
                self._clients["v1"] = self.server.v1_client(self.ak, self.secret)
        return self._clients["v1"]

    def _tea(self, product: str):
        if product not in self._clients:
            kw: dict = {}
            if self.token:
                kw["security_token"] = self.token
            if self.sdk == "tea-v2":
                kw["signature_algorithm"] = "v2"
            config = self.server.tea_config(self.ak, self.secret, **kw)
            if product == "ram":
                from alibabacloud_ram20150501.client import Client
            else:
                from alibabacloud_sts20150401.client import Client
            self._clients[product] = Client(config)
        return self._clients[product]

    # -- calls --

    def call(self, product: str, action: str, params: Optional[dict] = None) -> dict:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        version = RAM_VERSION if product == "ram" else STS_VERSION
        if self.sdk == "v1":
            req = self.server.v1_request(action, {k: _v1_value(v) for k, v in params.items()},
                                         version=version)
            return json.loads(self.acs_client().do_action_with_exception(req))
        client = self._tea(product)
        if product == "ram":
            import alibabacloud_ram20150501.models as models
        else:
            import alibabacloud_sts20150401.models as models
        method = getattr(client, f"{_snake(action)}_with_options")
        model = getattr(models, f"{action}Request", None)
        if model is None:
            assert not params, f"{action} takes no parameters in the generated SDK"
            resp = method(tea_runtime())
        else:
            resp = method(model().from_map(params), tea_runtime())
        assert resp.status_code == 200, resp.status_code
        return resp.body.to_map()

    def ram(self, action: str, **params) -> dict:
        return self.call("ram", action, params)

    def sts(self, action: str, **params) -> dict:
        return self.call("sts", action, params)

    def raw(self, product: str, action: str, params: Optional[dict] = None) -> tuple[int, dict]:
        """(HTTP status, JSON body) whatever the status: the error body as the server sent it.

        v1: AcsClient.do_action keeps the body; tea: the exception's `.data` (the parsed body plus
        the SDK's `statusCode`)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if self.sdk == "v1":
            version = RAM_VERSION if product == "ram" else STS_VERSION
            req = self.server.v1_request(action, {k: _v1_value(v) for k, v in params.items()},
                                         version=version)
            req.set_accept_format("JSON")
            status, _headers, body = self.acs_client().get_response(req)  # never raises on a status
            return status, json.loads(body)
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException

        try:
            return 200, self.call(product, action, params)
        except AlibabaCloudException as e:
            data = dict(e.data or {})
            data.pop("statusCode", None)
            return e.status_code, data

    def error(self, fn: Callable[[], Any]) -> SdkError:
        return v1_error(fn) if self.sdk == "v1" else tea_error(fn)


def unique_name(prefix: str) -> str:
    import uuid

    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def advance_clock(server: "AcsemuServer", seconds: int) -> dict:
    """POST /_acsemu/clock {"advance_seconds": N}: the virtual clock only moves forward."""
    status, _, body = server.http("POST", "/_acsemu/clock", json.dumps({"advance_seconds": seconds}).encode())
    assert status == 200, f"POST /_acsemu/clock -> {status} {body!r}"
    return json.loads(body)


def account_trust_policy(account_id: str) -> str:
    """A role every RAM identity of the account may assume (given sts:AssumeRole): sts.md."""
    return json.dumps({"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                      "Principal": {"RAM": [f"acs:ram::{account_id}:root"]}}],
                       "Version": "1"})


def policy_document(*statements: dict) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


def statement(effect: str, action: Any, resource: Any = "*") -> dict:
    return {"Effect": effect, "Action": action, "Resource": resource}


def make_policy(admin: Rpc, prefix: str, document: str) -> str:
    name = unique_name(prefix)
    admin.ram("CreatePolicy", PolicyName=name, PolicyDocument=document)
    return name


def make_user(admin: Rpc, prefix: str, system: tuple = (), custom: tuple = ()) -> tuple[dict, str, str]:
    """A RAM user with one access key and the given policies attached: (User, ak, secret)."""
    user = admin.ram("CreateUser", UserName=unique_name(prefix))["User"]
    key = admin.ram("CreateAccessKey", UserName=user["UserName"])["AccessKey"]
    for name in system:
        admin.ram("AttachPolicyToUser", PolicyType="System", PolicyName=name, UserName=user["UserName"])
    for name in custom:
        admin.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=name, UserName=user["UserName"])
    return user, key["AccessKeyId"], key["AccessKeySecret"]


def make_role(admin: Rpc, prefix: str, trust: str, system: tuple = (), custom: tuple = (),
              max_session_duration: Optional[int] = None) -> dict:
    role = admin.ram("CreateRole", RoleName=unique_name(prefix), AssumeRolePolicyDocument=trust,
                     MaxSessionDuration=max_session_duration)["Role"]
    for name in system:
        admin.ram("AttachPolicyToRole", PolicyType="System", PolicyName=name, RoleName=role["RoleName"])
    for name in custom:
        admin.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=name, RoleName=role["RoleName"])
    return role


# Seed 003, step 1, verbatim (whitespace included): the ECS trust policy and the OSS
# read-only policy every seed replay uses.
SEED_TRUST_POLICY = """{
    "Statement": [
        {
            "Action": "sts:AssumeRole", 
            "Effect": "Allow", 
            "Principal": {
                "Service": [
                    "ecs.aliyuncs.com"
                ]
            }
        }
    ], 
    "Version": "1"
}"""
SEED_OSS_POLICY = """{
    "Statement": [
        {
            "Action": [
                "oss:Get*", 
                "oss:List*"
            ], 
            "Effect": "Allow", 
            "Resource": "*"
        }
    ], 
    "Version": "1"
}"""
