"""The pytest-acsemu plugin's own tests: run with `-p pytest_acsemu` and python/ on sys.path
(tests/contract/test_pytest_plugin.py does so with the binary under test in ACSEMU_BIN)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

SEED = Path(__file__).resolve().parents[3] / "examples" / "seed.yaml"
INSTANCE = "i-bp1acsemuseed00000001"
_previous = []


def signed_get(endpoint: str, ak: str, secret: str, action: str, version: str, **params) -> tuple:
    """An RPC call signed with signature V1 (HMAC-SHA1), standard library only."""
    p = {"Action": action, "Version": version, "Format": "JSON", "AccessKeyId": ak,
         "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
         "SignatureNonce": str(uuid.uuid4()),
         "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         **params}
    enc = lambda s: urllib.parse.quote(str(s), safe="-_.~")  # noqa: E731
    canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(p.items()))
    to_sign = "GET&%2F&" + enc(canonical)
    p["Signature"] = base64.b64encode(
        hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint + "/?" + urllib.parse.urlencode(p), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_fixture_gives_a_running_server(acsemu):
    assert acsemu.endpoint == f"http://127.0.0.1:{acsemu.port}"
    health = acsemu.control("GET", "/_acsemu/health")
    assert health["status"] == "ok"
    assert health["account_id"] == acsemu.account_id
    assert acsemu.env["ACSEMU_ENDPOINT"] == acsemu.endpoint
    assert acsemu.env["ALIBABA_CLOUD_ACCESS_KEY_ID"] == acsemu.access_key_id
    assert acsemu.data.exists()
    _previous.append(acsemu)


def test_each_test_gets_its_own_server(acsemu):
    assert _previous, "runs after test_fixture_gives_a_running_server"
    before = _previous[-1]
    assert before.process.poll() is not None, "the previous test's server was stopped"
    assert before.data != acsemu.data


def test_the_root_key_signs_calls(acsemu):
    status, body = signed_get(acsemu.endpoint, acsemu.access_key_id, acsemu.access_key_secret,
                              "GetCallerIdentity", "2015-04-01")
    assert status == 200, body
    assert body["AccountId"] == acsemu.account_id
    status, body = signed_get(acsemu.endpoint, acsemu.access_key_id, "wrong-secret",
                              "GetCallerIdentity", "2015-04-01")
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch"), body


@pytest.mark.acsemu(init=str(SEED))
def test_marker_applies_a_state_file(acsemu):
    status, body = signed_get(acsemu.endpoint, "LTAI5tAcsemuSeedUser0001",
                              "acsemuSeedUserSecret0000000001",
                              "DescribeInstances", "2014-05-26", RegionId="cn-hangzhou")
    assert status == 200, body
    assert body["Instances"]["Instance"][0]["InstanceId"] == INSTANCE
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(acsemu.credentials_uri(INSTANCE), timeout=10) as r:
        assert json.loads(r.read())["Code"] == "Success"


@pytest.mark.acsemu(args=["--enforce", "off"])
def test_marker_passes_flags_and_the_clock_helper_works(acsemu):
    before = acsemu.control("GET", "/_acsemu/clock")["offset_seconds"]
    after = acsemu.advance_clock(3600)["offset_seconds"]
    assert after == before + 3600
