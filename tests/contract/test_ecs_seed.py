"""Issue 6 (ECS + metadata): the seeds 000-003 end to end with the official Python SDKs against a
real `acsemu serve` process.

  seed 003: CreateRole (ECS trust) -> CreatePolicy (oss:Get*/oss:List*) -> AttachPolicyToRole
            (Custom) -> CreateInstance with RamRoleName / AttachInstanceRamRole to another
            instance -> the metadata read -> a call signed with the credentials read.
  seed 000/001: a RAM user with only AliyunECSFullAccess cannot create an instance with a role
            (InvalidUser.PassRoleForbidden) until it is granted ram:PassRole on that role; no
            restart in between.

SDKs (shared/reference/clients.md), every flow run with both:
  v1  aliyun-python-sdk-core AcsClient + CommonRequest (RPC signature V1)
  v3  alibabacloud_ecs20140526 / _ram20150501 / _sts20150401 tea clients (ACS3-HMAC-SHA256)
The metadata service is read with plain HTTP (X-Acsemu-Instance-Id header) and with the official
alibabacloud_credentials ECS RAM role provider, given acsemu as its HTTP proxy (metadata.md: the
provider's host 100.100.100.200 is fixed; a proxy receives absolute-form targets).
"""

from __future__ import annotations

import calendar
import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest

from acsemu_harness import (
    SEED_OSS_POLICY,
    SEED_TRUST_POLICY,
    REGION,
    SDK_NAMES,
    AcsemuServer,
    Rpc,
    SdkError,
    make_user,
    tea_error,
    tea_runtime,
    unique_name,
    v1_error,
)

BOTH = pytest.mark.parametrize("sdk", SDK_NAMES)

ECS_VERSION = "2014-05-26"
# Seed 003, step 1, verbatim.
# Seed 003, step 2: the instance's parameters.
SEED_IMAGE = "centos_7_03_64_40G_alibase_20170503.vhd"
SEED_TYPE = "ecs.g6.large"
VSWITCH = "vsw-bp1s5fnvk4gn2tws03624"
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


def _flatten(params: dict) -> dict:
    """Wire form of list parameters for aliyunsdkcore: `Tag.1.Key`, `InstanceId.1`."""
    out: dict = {}
    for k, v in params.items():
        if v is None:
            continue
        if isinstance(v, list):
            for i, item in enumerate(v, start=1):
                if isinstance(item, dict):
                    for fk, fv in item.items():
                        out[f"{k}.{i}.{fk}"] = str(fv)
                else:
                    out[f"{k}.{i}"] = str(item)
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        else:
            out[k] = str(v)
    return out


def _snake(action: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


class Ecs:
    """ECS actions by wire name through one SDK, as one identity; answers keyed by wire names."""

    def __init__(self, server: AcsemuServer, sdk: str, ak: Optional[str] = None,
                 secret: Optional[str] = None):
        self.server = server
        self.sdk = sdk
        self.rpc = Rpc(server, sdk, ak, secret)
        self._tea = None

    def call(self, action: str, **params: Any) -> dict:
        params = {"RegionId": REGION, **{k: v for k, v in params.items() if v is not None}}
        if self.sdk == "v1":
            req = self.server.v1_request(action, _flatten(params), version=ECS_VERSION)
            return json.loads(self.rpc.acs_client().do_action_with_exception(req))
        if self._tea is None:
            from alibabacloud_ecs20140526.client import Client

            self._tea = Client(self.server.tea_config(self.rpc.ak, self.rpc.secret))
        import alibabacloud_ecs20140526.models as models

        request = getattr(models, f"{action}Request")().from_map(params)
        method = getattr(self._tea, f"{_snake(action)}_with_options")
        resp = method(request, tea_runtime())
        assert resp.status_code == 200, resp.status_code
        return resp.body.to_map()

    def error(self, action: str, **params: Any) -> SdkError:
        fn = lambda: self.call(action, **params)  # noqa: E731
        return v1_error(fn) if self.sdk == "v1" else tea_error(fn)


def metadata_get(server: AcsemuServer, path: str, instance_id: Optional[str]) -> tuple[int, str]:
    """A plain HTTP GET of /latest/meta-data/<path>, naming the instance in the acsemu header."""
    req = urllib.request.Request(f"{server.endpoint}/latest/meta-data/{path}", method="GET")
    if instance_id:
        req.add_header("X-Acsemu-Instance-Id", instance_id)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def check_credentials_document(doc: dict) -> None:
    """metadata.md / seed 003: the six fields, Code Success, Expiration exactly as the client
    parses it, one hour after LastUpdated."""
    assert list(doc) == ["AccessKeyId", "AccessKeySecret", "Expiration", "SecurityToken",
                         "LastUpdated", "Code"], doc
    assert doc["Code"] == "Success"
    assert doc["AccessKeyId"].startswith("STS.")
    assert doc["SecurityToken"].startswith("CAIS")
    expiration = calendar.timegm(time.strptime(doc["Expiration"], ISO_SECONDS))
    updated = calendar.timegm(time.strptime(doc["LastUpdated"], ISO_SECONDS))
    assert expiration - updated == 3600


def seed_role(admin: Rpc) -> str:
    """Seed 003 step 1: the role, the OSS read-only policy, the attachment."""
    role = unique_name("EcsRamRoleTest")
    created = admin.ram("CreateRole", RoleName=role, AssumeRolePolicyDocument=SEED_TRUST_POLICY)
    assert created["Role"]["RoleName"] == role
    policy = unique_name("EcsRamRolePolicyTest")
    admin.ram("CreatePolicy", PolicyName=policy, PolicyDocument=SEED_OSS_POLICY)
    admin.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=policy, RoleName=role)
    return role


def start(ecs: Ecs, instance_id: str) -> None:
    ecs.call("StartInstance", InstanceId=instance_id)


@BOTH
def test_seed_003_end_to_end(acsemu: AcsemuServer, sdk: str) -> None:
    admin = Rpc(acsemu, sdk)
    ecs = Ecs(acsemu, sdk)
    role = seed_role(admin)

    # Step 2, second way: CreateInstance with the role (a VPC instance), then start it.
    created = ecs.call("CreateInstance", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                       VSwitchId=VSWITCH, RamRoleName=role, InstanceName="seed-003",
                       Tag=[{"Key": "seed", "Value": "003"}])
    first = created["InstanceId"]
    assert first.startswith("i-bp") and len(first) == 22
    described = ecs.call("DescribeInstances", InstanceIds=json.dumps([first]))
    instance = described["Instances"]["Instance"][0]
    assert instance["Status"] == "Stopped"
    assert instance["InstanceNetworkType"] == "vpc"
    assert instance["VpcAttributes"]["VSwitchId"] == VSWITCH
    start(ecs, first)
    status = ecs.call("DescribeInstanceStatus", InstanceId=[first])
    assert status["InstanceStatuses"]["InstanceStatus"] == [{"InstanceId": first, "Status": "Running"}]

    # Step 2, first way: AttachInstanceRamRole to an existing VPC instance.
    second = ecs.call("CreateInstance", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                      VSwitchId=VSWITCH)["InstanceId"]
    start(ecs, second)
    attached = ecs.call("AttachInstanceRamRole", RamRoleName=role, InstanceIds=json.dumps([second]))
    assert attached["RamRoleName"] == role
    assert attached["TotalCount"] == 1 and attached["FailCount"] == 0
    result = attached["AttachInstanceRamRoleResults"]["AttachInstanceRamRoleResult"][0]
    assert result["InstanceId"] == second and result["Success"] is True and result["Code"] == "200"
    roles = ecs.call("DescribeInstanceRamRole", InstanceIds=json.dumps([first, second]))
    assert roles["TotalCount"] == 2
    assert {(r["InstanceId"], r["RamRoleName"]) for r in roles["InstanceRamRoleSets"]["InstanceRamRoleSet"]} \
        == {(first, role), (second, role)}

    # Step 3: the metadata read, from each instance.
    for instance_id in (first, second):
        status_code, listed = metadata_get(acsemu, "ram/security-credentials/", instance_id)
        assert (status_code, listed) == (200, role)
        status_code, body = metadata_get(acsemu, f"ram/security-credentials/{role}", instance_id)
        assert status_code == 200, body
        doc = json.loads(body)
        check_credentials_document(doc)
        assert metadata_get(acsemu, "instance-id", instance_id) == (200, instance_id)

        # Step 4: a call signed with the credentials read.
        session = admin.with_identity(doc["AccessKeyId"], doc["AccessKeySecret"], doc["SecurityToken"])
        me = session.sts("GetCallerIdentity")
        assert me["Arn"] == f"acs:ram::{acsemu.account_id}:assumed-role/{role}/{instance_id}"
        assert me["IdentityType"] == "AssumedRoleUser"
        # The role reads OSS and nothing else: RAM refuses it.
        denied = session.error(lambda: session.ram("GetRole", RoleName=role))
        assert (denied.status, denied.code) == (403, "NoPermission")

    # A wrong role name, and an instance without a role, answer 404.
    assert metadata_get(acsemu, "ram/security-credentials/NotMyRole", first)[0] == 404
    bare = ecs.call("RunInstances", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                    VSwitchId=VSWITCH)["InstanceIdSets"]["InstanceIdSet"][0]
    assert metadata_get(acsemu, "ram/security-credentials/", bare)[0] == 404

    # Detach: the credentials path goes away.
    detached = ecs.call("DetachInstanceRamRole", InstanceIds=json.dumps([second]), RamRoleName=role)
    assert detached["FailCount"] == 0
    assert metadata_get(acsemu, f"ram/security-credentials/{role}", second)[0] == 404


@BOTH
def test_role_checks_answer_the_real_codes(acsemu: AcsemuServer, sdk: str) -> None:
    admin = Rpc(acsemu, sdk)
    ecs = Ecs(acsemu, sdk)
    role = seed_role(admin)
    fc_role = unique_name("FcRole")
    admin.ram("CreateRole", RoleName=fc_role, AssumeRolePolicyDocument=json.dumps(
        {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                        "Principal": {"Service": ["fc.aliyuncs.com"]}}], "Version": "1"}))
    base = dict(ImageId=SEED_IMAGE, InstanceType=SEED_TYPE, VSwitchId=VSWITCH)
    cases = [
        (dict(base, RamRoleName=unique_name("NoSuchRole")), 404, "InvalidRamRole.NotFound"),
        (dict(base, RamRoleName=fc_role), 401, "InvalidRamRole.NotEcsRole"),
        (dict(base, RamRoleName=role, VSwitchId=None), 403, "InvalidNetworkType.MismatchRamRole"),
        (dict(base, VSwitchId="sw-123"), 404, "InvalidVSwitchId.NotFound"),
        (dict(base, DryRun=True), 400, "DryRunOperation"),
    ]
    for params, status, code in cases:
        e = ecs.error("CreateInstance", **params)
        assert (e.status, e.code) == (status, code), (params, e.message)
    vpc = ecs.call("CreateInstance", **base)["InstanceId"]
    e = ecs.error("AttachInstanceRamRole", RamRoleName=fc_role, InstanceIds=json.dumps([vpc]))
    assert (e.status, e.code) == (404, "InvalidRamRole.NotEcsRole")
    e = ecs.error("AttachInstanceRamRole", RamRoleName=role, InstanceIds="not json")
    assert (e.status, e.code) == (400, "InvalidInstanceIds.Malformed")
    e = ecs.error("StopInstance", InstanceId=vpc)
    assert (e.status, e.code) == (403, "IncorrectInstanceStatus")
    e = ecs.error("StartInstance", InstanceId="i-bpnosuchinstance0000")
    assert (e.status, e.code) == (404, "InvalidInstanceId.NotFound")
    token = unique_name("token")
    again = [ecs.call("CreateInstance", ClientToken=token, **base)["InstanceId"] for _ in range(2)]
    assert again[0] == again[1]
    e = ecs.error("CreateInstance", ClientToken=token, InstanceName="changed", **base)
    assert e.code == "IdempotentParameterMismatch"


@BOTH
def test_pass_role_separation(acsemu: AcsemuServer, sdk: str) -> None:
    """Seed 000: a user who only administers ECS cannot hand out a role until the RAM
    administrator grants ram:PassRole on it; the grant counts without a restart."""
    admin = Rpc(acsemu, sdk)
    role = seed_role(admin)
    user, ak, secret = make_user(admin, "ecs-operator", system=("AliyunECSFullAccess",))
    operator = Ecs(acsemu, sdk, ak, secret)
    params = dict(ImageId=SEED_IMAGE, InstanceType=SEED_TYPE, VSwitchId=VSWITCH, RamRoleName=role)

    plain = operator.call("CreateInstance", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                          VSwitchId=VSWITCH)["InstanceId"]
    refused = operator.error("CreateInstance", **params)
    assert (refused.status, refused.code) == (403, "InvalidUser.PassRoleForbidden")
    assert "The RAM user does not have the privilege to pass a RAM role." in refused.message
    refused = operator.error("AttachInstanceRamRole", RamRoleName=role, InstanceIds=json.dumps([plain]))
    assert (refused.status, refused.code) == (403, "InvalidUser.PassRoleForbidden")

    pass_policy = unique_name("PassRole")
    admin.ram("CreatePolicy", PolicyName=pass_policy, PolicyDocument=json.dumps({
        "Statement": [{"Effect": "Allow", "Action": "ram:PassRole",
                       "Resource": f"acs:ram:*:*:role/{role}"}],
        "Version": "1"}))
    admin.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=pass_policy,
              UserName=user["UserName"])

    instance_id = operator.call("CreateInstance", **params)["InstanceId"]
    attached = operator.call("AttachInstanceRamRole", RamRoleName=role, InstanceIds=json.dumps([plain]))
    assert attached["FailCount"] == 0
    roles = operator.call("DescribeInstanceRamRole", RamRoleName=role)
    assert {r["InstanceId"] for r in roles["InstanceRamRoleSets"]["InstanceRamRoleSet"]} == {instance_id, plain}
    # The grant names one role: another is still refused.
    other = seed_role(admin)
    refused = operator.error("CreateInstance", **dict(params, RamRoleName=other))
    assert refused.code == "InvalidUser.PassRoleForbidden"
    # And a user without ECS access is refused by ECS itself.
    _, ak2, secret2 = make_user(admin, "nobody")
    e = Ecs(acsemu, sdk, ak2, secret2).error("DescribeInstances")
    assert (e.status, e.code) == (403, "Forbidden.RAM")


def credentials_client(proxy: str, role_name: Optional[str], disable_imds_v1: bool = False):
    """The official ECS RAM role provider, given acsemu as its proxy (clients.md)."""
    from alibabacloud_credentials.client import Client
    from alibabacloud_credentials.models import Config

    return Client(Config(type="ecs_ram_role", role_name=role_name, proxy=proxy,
                         disable_imds_v1=disable_imds_v1, timeout=5000, connect_timeout=5000))


def sts_with(server: AcsemuServer, credential) -> Any:
    """The generated STS client signing with a credentials client (tea Config.credential)."""
    from alibabacloud_sts20150401.client import Client
    from alibabacloud_tea_openapi.utils_models import Config

    return Client(Config(credential=credential, endpoint=f"{server.host}:{server.port}",
                         protocol="http", region_id=REGION, connect_timeout=5000, read_timeout=10000))


def test_official_credentials_provider_through_the_proxy(fresh_acsemu: AcsemuServer) -> None:
    server = fresh_acsemu
    admin = Rpc(server, "v3")
    ecs = Ecs(server, "v3")
    role = seed_role(admin)
    first = ecs.call("CreateInstance", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                     VSwitchId=VSWITCH, RamRoleName=role)["InstanceId"]
    start(ecs, first)
    arn = f"acs:ram::{server.account_id}:assumed-role/{role}/{first}"

    # The one running instance with a role answers; the role name discovered, then given, then
    # with IMDSv1 disabled (the token from PUT /latest/api/token is then mandatory).
    for role_name, v1_off in ((None, False), (role, False), (role, True)):
        cred = credentials_client(server.endpoint, role_name, v1_off)
        model = cred.get_credential()
        assert model.access_key_id.startswith("STS.")
        assert model.security_token.startswith("CAIS")
        me = sts_with(server, cred).get_caller_identity_with_options(tea_runtime()).body.to_map()
        assert me["Arn"] == arn

    # A second running instance with a role: acsemu can no longer guess, and the provider fails
    # the way it fails on a machine without metadata (a non-200 answer).
    second = ecs.call("RunInstances", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                      VSwitchId=VSWITCH, RamRoleName=role)["InstanceIdSets"]["InstanceIdSet"][0]
    from alibabacloud_credentials.exceptions import CredentialException

    with pytest.raises(CredentialException):
        credentials_client(server.endpoint, role).get_credential()

    # --metadata-instance names the instance; the state survives the restart.
    server.extra_args = ("--metadata-instance", second)
    server.restart()
    cred = credentials_client(server.endpoint, None)
    me = sts_with(server, cred).get_caller_identity_with_options(tea_runtime()).body.to_map()
    assert me["Arn"] == f"acs:ram::{server.account_id}:assumed-role/{role}/{second}"
    # The same credential the plain read gives.
    status_code, body = metadata_get(server, f"ram/security-credentials/{role}", second)
    assert status_code == 200
    assert json.loads(body)["AccessKeyId"] == cred.get_credential().access_key_id


def test_hardened_metadata_with_the_official_provider(fresh_acsemu: AcsemuServer) -> None:
    server = fresh_acsemu
    server.extra_args = ("--metadata-hardened",)
    server.restart()
    admin = Rpc(server, "v1")
    ecs = Ecs(server, "v1")
    role = seed_role(admin)
    instance_id = ecs.call("RunInstances", ImageId=SEED_IMAGE, InstanceType=SEED_TYPE,
                           VSwitchId=VSWITCH, RamRoleName=role)["InstanceIdSets"]["InstanceIdSet"][0]
    # Plain HTTP without a token is refused...
    assert metadata_get(server, "instance-id", instance_id)[0] == 401
    # ...while the provider fetches a token first and gets through.
    cred = credentials_client(server.endpoint, role, disable_imds_v1=True)
    me = sts_with(server, cred).get_caller_identity_with_options(tea_runtime()).body.to_map()
    assert me["Arn"] == f"acs:ram::{server.account_id}:assumed-role/{role}/{instance_id}"
