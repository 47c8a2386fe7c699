"""Issue 10: `GET /_acsemu/credentials/<instance-id>` read by the official alibabacloud-credentials
`credentials_uri` provider, the way a program finds it: `ALIBABA_CLOUD_CREDENTIALS_URI` in the
environment and the default credentials chain (env AK unset, ECS metadata disabled), then a call
signed with what it read (alibabacloud_sts20150401, ACS3-HMAC-SHA256).

The provider reads the variable when `alibabacloud_credentials.utils.auth_util` is imported, so
each check runs in a Python process of its own with the environment set before the import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from acsemu_harness import REGION, REPO_ROOT, AcsemuServer

INSTANCE = "i-bp1acsemuseed00000001"
SEED = REPO_ROOT / "examples" / "seed.yaml"

# Runs in the child: the default chain, then GetCallerIdentity signed with its credentials.
CHILD = r"""
import json, sys
from alibabacloud_credentials.client import Client as Credentials
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_sts20150401.client import Client as Sts

endpoint = sys.argv[1]
cred = Credentials()
c = cred.get_credential()
sts = Sts(Config(credential=cred, endpoint=endpoint, protocol="http", region_id=sys.argv[2],
                 connect_timeout=5000, read_timeout=10000))
me = sts.get_caller_identity().body
print(json.dumps({
    "provider": c.provider_name,
    "access_key_id": c.access_key_id,
    "has_token": bool(c.security_token),
    "arn": me.arn,
    "identity_type": me.identity_type,
}))
"""


@pytest.fixture
def seeded(acsemu_bin, tmp_path):
    server = AcsemuServer(acsemu_bin, tmp_path / "state.db", tmp_path / "acsemu.log",
                          extra_args=("--init", str(SEED)))
    server.start()
    try:
        yield server
    finally:
        server.kill()


def run_child(server: AcsemuServer, uri: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ALIBABA_CLOUD_", "ALIBABACLOUD_", "ALICLOUD_", "ALIYUN_"))}
    env.update({
        "ALIBABA_CLOUD_CREDENTIALS_URI": uri,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "HOME": str(server.data_path.parent),  # no ~/.aliyun or ~/.alibabacloud profile
        "NO_PROXY": "127.0.0.1,localhost",
    })
    return subprocess.run(
        [sys.executable, "-c", CHILD, f"{server.host}:{server.port}", REGION],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_default_chain_reads_the_instance_role_and_signs_with_it(seeded):
    uri = f"{seeded.endpoint}/_acsemu/credentials/{INSTANCE}"
    proc = run_child(seeded, uri)
    assert proc.returncode == 0, proc.stderr + seeded.log_tail()
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # The default chain fell through to the URI provider (alibabacloud-credentials 1.0.12 names
    # it `credential_uri`).
    assert got["provider"] == "default/credential_uri", got
    assert got["access_key_id"].startswith("STS."), got
    assert got["has_token"], got
    assert got["arn"] == f"acs:ram::{seeded.account_id}:assumed-role/EcsRamRoleTest/{INSTANCE}", got
    assert got["identity_type"] == "AssumedRoleUser", got


def test_same_document_as_the_metadata_service(seeded):
    status, headers, body = seeded.http("GET", f"/_acsemu/credentials/{INSTANCE}")
    assert status == 200, body
    doc = json.loads(body)
    assert doc["Code"] == "Success"
    assert set(doc) >= {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration", "LastUpdated"}
    # The metadata service (instance chosen by header) hands out the very same session.
    import urllib.request

    req = urllib.request.Request(
        f"{seeded.endpoint}/latest/meta-data/ram/security-credentials/EcsRamRoleTest",
        headers={"X-Acsemu-Instance-Id": INSTANCE},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        md = json.loads(r.read())
    assert md["AccessKeyId"] == doc["AccessKeyId"]
    assert md["Expiration"] == doc["Expiration"]


def test_unknown_instance_fails_the_provider_clearly(seeded):
    proc = run_child(seeded, f"{seeded.endpoint}/_acsemu/credentials/i-bp1doesnotexist000000")
    assert proc.returncode != 0
    assert "404" in proc.stderr and "i-bp1doesnotexist000000" in proc.stderr, proc.stderr
