"""Issue 3 (RAM): the seeds' step 1 and the PassRole user set-up, policy versions, users, access
keys, groups, conflicts, system policies and persistence, driven by the official Python SDKs
against a real `acsemu serve` process.

SDKs (shared/reference/clients.md), every flow run with both:
  v1  aliyun-python-sdk-core AcsClient + CommonRequest: RPC signature V1 (HMAC-SHA1)
  v3  alibabacloud_ram20150501 / alibabacloud_sts20150401: ACS3-HMAC-SHA256, typed models
Contract: ram.md (actions, shapes, codes), policy.md (grammar), errors.md (envelope), the seeds
003 (step 1: EcsRamRoleTest / EcsRamRolePolicyTest) and 000/001 (the PassRole policy).
Statuses from the brief: EntityNotExist.* 404, EntityAlreadyExists.* 409, DeleteConflict.* 409,
LimitExceeded.* 409.
"""

from __future__ import annotations

import calendar
import json
import re
import time

import pytest

from acsemu_harness import (
    SEED_OSS_POLICY,
    SEED_TRUST_POLICY,
    DATE_RE,
    REQUEST_ID_RE,
    SDK_NAMES,
    AcsemuServer,
    Rpc,
    SdkError,
    make_user,
    unique_name,
)

BOTH = pytest.mark.parametrize("sdk", SDK_NAMES)

# Seed 003, step 1, verbatim (whitespace included).
SEED_ROLE = "EcsRamRoleTest"
SEED_POLICY = "EcsRamRolePolicyTest"
# Seed 000: the PassRole policy for a general user, <rolename> replaced.
SEED_PASSROLE_POLICY = """{
   "Statement": [
    {
      "Effect": "Allow",
      "Action": "ram:PassRole",
      "Resource": "acs:ram:*:*:role/EcsRamRoleTest"
    }
  ],
  "Version": "1"
}"""
# ram.md, verified: the AliyunECSFullAccess system policy.
ECS_FULL_ACCESS = {"Version": "1", "Statement": [
    {"Action": "ecs:*", "Resource": "*", "Effect": "Allow"},
    {"Action": ["vpc:DescribeVpcs", "vpc:DescribeVSwitches"], "Resource": "*", "Effect": "Allow"},
]}


def doc(*actions: str, effect: str = "Allow", resource: str = "*") -> str:
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": effect, "Action": list(actions), "Resource": resource}]})


def parse_date(s: str) -> float:
    assert isinstance(s, str) and DATE_RE.match(s), f"not YYYY-MM-DDThh:mm:ssZ: {s!r}"
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def recent(s: str) -> None:
    assert abs(parse_date(s) - time.time()) < 600, f"date far from now: {s}"


def assert_rid(body: dict) -> None:
    rid = body.get("RequestId")
    assert isinstance(rid, str) and REQUEST_ID_RE.match(rid), f"RequestId: {rid!r}"


def assert_error(err: SdkError, code: str, status: int) -> None:
    assert (err.code, err.status) == (code, status), (
        f"expected {code} / HTTP {status}, got {err.code} / HTTP {err.status}: {err.message}")
    assert err.request_id and REQUEST_ID_RE.match(err.request_id), err.request_id
    assert err.server_message, "the error carries no Message"


def items(body: dict, outer: str, inner: str) -> list:
    """`{"Roles": {"Role": [...]}}` → the list (ram.md nesting)."""
    assert outer in body, f"{outer} missing: {body}"
    value = body[outer].get(inner, [])
    assert isinstance(value, list), body
    return value


def names(body: dict, outer: str, inner: str, key: str) -> list:
    return [x[key] for x in items(body, outer, inner)]


def fails(rpc: Rpc, fn) -> SdkError:
    return rpc.error(fn)


# ---- seed 003, step 1 ----------------------------------------------------------------------------


@BOTH
def test_seed_step1_ecs_role_with_oss_read_policy(acsemu: AcsemuServer, sdk):
    acsemu.reset()  # the seed's own names: start from a clean account
    ram = Rpc(acsemu, sdk)
    account = acsemu.account_id

    # 1. CreateRole
    created = ram.ram("CreateRole", RoleName=SEED_ROLE, AssumeRolePolicyDocument=SEED_TRUST_POLICY)
    assert_rid(created)
    role = created["Role"]
    assert role["RoleName"] == SEED_ROLE
    assert role["Arn"] == f"acs:ram::{account}:role/{SEED_ROLE}"
    assert role["RoleId"].isdigit() and 18 <= len(role["RoleId"]) <= 19, role["RoleId"]
    assert json.loads(role["AssumeRolePolicyDocument"]) == json.loads(SEED_TRUST_POLICY)
    recent(role["CreateDate"])

    # 2. CreatePolicy
    created = ram.ram("CreatePolicy", PolicyName=SEED_POLICY, PolicyDocument=SEED_OSS_POLICY)
    assert_rid(created)
    policy = created["Policy"]
    assert policy["PolicyName"] == SEED_POLICY
    assert policy["PolicyType"] == "Custom"
    assert policy["DefaultVersion"] == "v1"
    recent(policy["CreateDate"])

    # 3. AttachPolicyToRole, PolicyType Custom
    assert_rid(ram.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=SEED_POLICY, RoleName=SEED_ROLE))

    listed = ram.ram("ListPoliciesForRole", RoleName=SEED_ROLE)
    assert_rid(listed)
    pols = items(listed, "Policies", "Policy")
    assert [p["PolicyName"] for p in pols] == [SEED_POLICY], pols
    assert pols[0]["PolicyType"] == "Custom"
    assert pols[0]["DefaultVersion"] == "v1"
    recent(pols[0]["AttachDate"])

    got = ram.ram("GetPolicy", PolicyName=SEED_POLICY, PolicyType="Custom")
    assert_rid(got)
    gp = got["Policy"]
    assert (gp["PolicyName"], gp["PolicyType"], gp["DefaultVersion"]) == (SEED_POLICY, "Custom", "v1")
    assert gp["AttachmentCount"] == 1 and type(gp["AttachmentCount"]) is int, gp
    assert gp["CreateDate"] == policy["CreateDate"]
    parse_date(gp["UpdateDate"])
    dv = got["DefaultPolicyVersion"]
    assert dv["VersionId"] == "v1"
    assert dv["IsDefaultVersion"] is True
    assert json.loads(dv["PolicyDocument"]) == json.loads(SEED_OSS_POLICY)
    parse_date(dv["CreateDate"])

    ents = ram.ram("ListEntitiesForPolicy", PolicyType="Custom", PolicyName=SEED_POLICY)
    assert_rid(ents)
    roles = items(ents, "Roles", "Role")
    assert [r["RoleName"] for r in roles] == [SEED_ROLE]
    assert roles[0]["RoleId"] == role["RoleId"]
    assert roles[0]["Arn"] == role["Arn"]
    recent(roles[0]["AttachDate"])
    assert items(ents, "Users", "User") == []
    assert items(ents, "Groups", "Group") == []

    # Neither the role nor the policy can go while attached (ram.md, terraform's codes).
    assert_error(fails(ram, lambda: ram.ram("DeleteRole", RoleName=SEED_ROLE)), "DeleteConflict.Role.Policy", 409)
    assert_error(fails(ram, lambda: ram.ram("DeletePolicy", PolicyName=SEED_POLICY)),
                 "DeleteConflict.Role.Policy", 409)
    assert ram.ram("GetRole", RoleName=SEED_ROLE)["Role"]["RoleId"] == role["RoleId"]

    # Attaching twice conflicts; detaching, then detaching again, is not found.
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=SEED_POLICY,
                                            RoleName=SEED_ROLE)), "EntityAlreadyExists.Role.Policy", 409)
    ram.ram("DetachPolicyFromRole", PolicyType="Custom", PolicyName=SEED_POLICY, RoleName=SEED_ROLE)
    assert_error(fails(ram, lambda: ram.ram("DetachPolicyFromRole", PolicyType="Custom", PolicyName=SEED_POLICY,
                                            RoleName=SEED_ROLE)), "EntityNotExist.Role.Policy", 404)
    assert items(ram.ram("ListPoliciesForRole", RoleName=SEED_ROLE), "Policies", "Policy") == []
    assert ram.ram("GetPolicy", PolicyName=SEED_POLICY, PolicyType="Custom")["Policy"]["AttachmentCount"] == 0

    assert_rid(ram.ram("DeleteRole", RoleName=SEED_ROLE))
    assert_rid(ram.ram("DeletePolicy", PolicyName=SEED_POLICY))
    assert_error(fails(ram, lambda: ram.ram("GetPolicy", PolicyName=SEED_POLICY, PolicyType="Custom")),
                 "EntityNotExist.Policy", 404)
    assert_error(fails(ram, lambda: ram.ram("GetRole", RoleName=SEED_ROLE)), "EntityNotExist.Role", 404)


@BOTH
def test_attach_errors(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    role = unique_name("ct-att-role")
    pol = unique_name("ct-att-pol")
    ram.ram("CreateRole", RoleName=role, AssumeRolePolicyDocument=SEED_TRUST_POLICY)
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=pol,
                                            RoleName=unique_name("ct-none"))), "EntityNotExist.Role", 404)
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToRole", PolicyType="Custom",
                                            PolicyName=unique_name("ct-none"), RoleName=role)),
                 "EntityNotExist.Policy", 404)
    # a Custom policy is not found under System
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToRole", PolicyType="System", PolicyName=pol,
                                            RoleName=role)), "EntityNotExist.Policy", 404)
    assert items(ram.ram("ListPoliciesForRole", RoleName=role), "Policies", "Policy") == []
    # a System policy attaches by its name
    ram.ram("AttachPolicyToRole", PolicyType="System", PolicyName="AliyunOSSReadOnlyAccess", RoleName=role)
    pols = items(ram.ram("ListPoliciesForRole", RoleName=role), "Policies", "Policy")
    assert [(p["PolicyName"], p["PolicyType"]) for p in pols] == [("AliyunOSSReadOnlyAccess", "System")]
    ram.ram("DetachPolicyFromRole", PolicyType="System", PolicyName="AliyunOSSReadOnlyAccess", RoleName=role)
    ram.ram("DeleteRole", RoleName=role)
    ram.ram("DeletePolicy", PolicyName=pol)


# ---- the PassRole user (seeds 000/001/003) -------------------------------------------------------


@BOTH
def test_seed_passrole_user_setup(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    account = acsemu.account_id
    user_name = unique_name("ct-ecs-user")

    created = ram.ram("CreateUser", UserName=user_name, DisplayName="ECS operator", Comments="seed 003")
    assert_rid(created)
    user = created["User"]
    assert user["UserName"] == user_name
    assert user["DisplayName"] == "ECS operator"
    assert user["Comments"] == "seed 003"
    assert user["UserId"].isdigit() and 16 <= len(user["UserId"]) <= 18, user["UserId"]
    recent(user["CreateDate"])
    got = ram.ram("GetUser", UserName=user_name)["User"]
    assert (got["UserId"], got["UserName"], got["DisplayName"]) == (user["UserId"], user_name, "ECS operator")
    assert_error(fails(ram, lambda: ram.ram("CreateUser", UserName=user_name)), "EntityAlreadyExists.User", 409)

    # CreateAccessKey: the secret comes back once.
    key = ram.ram("CreateAccessKey", UserName=user_name)["AccessKey"]
    assert re.fullmatch(r"LTAI[A-Za-z0-9]{16,20}", key["AccessKeyId"]), key["AccessKeyId"]
    assert re.fullmatch(r"[A-Za-z0-9]{30}", key["AccessKeySecret"]), key["AccessKeySecret"]
    assert key["Status"] == "Active"
    recent(key["CreateDate"])
    listed = ram.ram("ListAccessKeys", UserName=user_name)
    assert_rid(listed)
    keys = items(listed, "AccessKeys", "AccessKey")
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(key["AccessKeyId"], "Active")]
    assert keys[0]["CreateDate"] == key["CreateDate"]
    assert "AccessKeySecret" not in keys[0], keys[0]
    if sdk == "v1":  # raw JSON: no secret anywhere in the listing
        body = json.dumps(listed)
        assert key["AccessKeySecret"] not in body, body

    # The key signs, as that user (GetCallerIdentity needs no permission: sts.md).
    me = Rpc(acsemu, sdk, key["AccessKeyId"], key["AccessKeySecret"]).sts("GetCallerIdentity")
    assert me["IdentityType"] == "RAMUser"
    assert me["Arn"] == f"acs:ram::{account}:user/{user_name}"
    assert me["UserId"] == user["UserId"] and me["PrincipalId"] == user["UserId"]
    assert me["AccountId"] == account

    # The PassRole policy of seed 000, attached to the user.
    pol = unique_name("ct-passrole")
    p = ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_PASSROLE_POLICY,
                Description="PassRole EcsRamRoleTest")["Policy"]
    assert (p["PolicyType"], p["DefaultVersion"], p["Description"]) == ("Custom", "v1", "PassRole EcsRamRoleTest")
    assert_rid(ram.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=pol, UserName=user_name))
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=pol,
                                            UserName=user_name)), "EntityAlreadyExists.User.Policy", 409)
    mine = items(ram.ram("ListPoliciesForUser", UserName=user_name), "Policies", "Policy")
    assert [(x["PolicyName"], x["PolicyType"], x["DefaultVersion"]) for x in mine] == [(pol, "Custom", "v1")]
    recent(mine[0]["AttachDate"])
    ents = ram.ram("ListEntitiesForPolicy", PolicyType="Custom", PolicyName=pol)
    users = items(ents, "Users", "User")
    assert [(u["UserName"], u["UserId"]) for u in users] == [(user_name, user["UserId"])]
    assert items(ents, "Roles", "Role") == []
    got = ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")
    assert got["Policy"]["AttachmentCount"] == 1
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == json.loads(SEED_PASSROLE_POLICY)

    # Conflicts on the way out, in the order ram.md lists them.
    assert_error(fails(ram, lambda: ram.ram("DeletePolicy", PolicyName=pol)), "DeleteConflict.Policy.User", 409)
    assert_error(fails(ram, lambda: ram.ram("DeleteUser", UserName=user_name)), "DeleteConflict.User.AccessKey", 409)
    ram.ram("DeleteAccessKey", UserName=user_name, UserAccessKeyId=key["AccessKeyId"])
    assert items(ram.ram("ListAccessKeys", UserName=user_name), "AccessKeys", "AccessKey") == []
    assert_error(fails(ram, lambda: ram.ram("DeleteAccessKey", UserName=user_name,
                                            UserAccessKeyId=key["AccessKeyId"])),
                 "EntityNotExist.User.AccessKey", 404)
    assert_error(fails(ram, lambda: ram.ram("DeleteUser", UserName=user_name)), "DeleteConflict.User.Policy", 409)
    ram.ram("DetachPolicyFromUser", PolicyType="Custom", PolicyName=pol, UserName=user_name)
    assert_error(fails(ram, lambda: ram.ram("DetachPolicyFromUser", PolicyType="Custom", PolicyName=pol,
                                            UserName=user_name)), "EntityNotExist.User.Policy", 404)
    assert_rid(ram.ram("DeleteUser", UserName=user_name))
    assert_error(fails(ram, lambda: ram.ram("GetUser", UserName=user_name)), "EntityNotExist.User", 404)
    assert_rid(ram.ram("DeletePolicy", PolicyName=pol))


@BOTH
def test_deleted_key_no_longer_signs(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    user, ak, secret = make_user(ram, "ct-delkey")
    me = Rpc(acsemu, sdk, ak, secret)
    assert me.sts("GetCallerIdentity")["IdentityType"] == "RAMUser"
    ram.ram("DeleteAccessKey", UserName=user["UserName"], UserAccessKeyId=ak)
    assert_error(fails(me, lambda: me.sts("GetCallerIdentity")), "InvalidAccessKeyId.NotFound", 404)


@BOTH
def test_inactive_key_cannot_sign(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    user, ak, secret = make_user(ram, "ct-inactive")
    me = Rpc(acsemu, sdk, ak, secret)
    assert me.sts("GetCallerIdentity")["UserId"] == user["UserId"]

    assert_rid(ram.ram("UpdateAccessKey", UserName=user["UserName"], UserAccessKeyId=ak, Status="Inactive"))
    keys = items(ram.ram("ListAccessKeys", UserName=user["UserName"]), "AccessKeys", "AccessKey")
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(ak, "Inactive")]
    assert_error(fails(me, lambda: me.sts("GetCallerIdentity")), "InvalidAccessKeyId.Inactive", 400)
    assert_error(fails(me, lambda: me.ram("ListRoles")), "InvalidAccessKeyId.Inactive", 400)

    ram.ram("UpdateAccessKey", UserName=user["UserName"], UserAccessKeyId=ak, Status="Active")
    assert me.sts("GetCallerIdentity")["UserId"] == user["UserId"]


def test_access_key_limit(acsemu):
    """ram.md: at most 2 keys per user, LimitExceeded.User.AccessKey."""
    ram = Rpc(acsemu, "v3")
    user, _, _ = make_user(ram, "ct-keylimit")
    ram.ram("CreateAccessKey", UserName=user["UserName"])
    err = fails(ram, lambda: ram.ram("CreateAccessKey", UserName=user["UserName"]))
    assert_error(err, "LimitExceeded.User.AccessKey", 409)
    assert len(items(ram.ram("ListAccessKeys", UserName=user["UserName"]), "AccessKeys", "AccessKey")) == 2


# ---- policy versions -----------------------------------------------------------------------------


@BOTH
def test_policy_versions(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    pol = unique_name("ct-ver")
    d1, d2, d3 = doc("oss:GetObject"), doc("oss:PutObject"), doc("oss:DeleteObject")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=d1)

    v2 = ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=d2, SetAsDefault=True)
    assert_rid(v2)
    pv = v2["PolicyVersion"]
    assert pv["VersionId"] == "v2"
    assert pv["IsDefaultVersion"] is True
    assert json.loads(pv["PolicyDocument"]) == json.loads(d2)
    recent(pv["CreateDate"])
    got = ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")
    assert got["Policy"]["DefaultVersion"] == "v2"
    assert got["DefaultPolicyVersion"]["VersionId"] == "v2"
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == json.loads(d2)

    # SetAsDefault defaults to false
    v3 = ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=d3)["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", False)
    assert ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")["Policy"]["DefaultVersion"] == "v2"

    listed = ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom")
    assert_rid(listed)
    versions = {v["VersionId"]: v for v in items(listed, "PolicyVersions", "PolicyVersion")}
    assert sorted(versions) == ["v1", "v2", "v3"]
    assert [k for k, v in versions.items() if v["IsDefaultVersion"] is True] == ["v2"]
    assert all(versions[k]["IsDefaultVersion"] is False for k in ("v1", "v3"))
    assert json.loads(versions["v1"]["PolicyDocument"]) == json.loads(d1)
    assert json.loads(versions["v3"]["PolicyDocument"]) == json.loads(d3)

    assert_rid(ram.ram("SetDefaultPolicyVersion", PolicyName=pol, VersionId="v1"))
    got = ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")
    assert got["Policy"]["DefaultVersion"] == "v1"
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == json.loads(d1)
    listed = items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"),
                   "PolicyVersions", "PolicyVersion")
    assert [v["VersionId"] for v in listed if v["IsDefaultVersion"] is True] == ["v1"]

    assert_rid(ram.ram("DeletePolicyVersion", PolicyName=pol, VersionId="v3"))
    assert_error(fails(ram, lambda: ram.ram("DeletePolicyVersion", PolicyName=pol, VersionId="v3")),
                 "EntityNotExist.Policy.Version", 404)
    assert_error(fails(ram, lambda: ram.ram("SetDefaultPolicyVersion", PolicyName=pol, VersionId="v3")),
                 "EntityNotExist.Policy.Version", 404)
    left = items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"), "PolicyVersions",
                 "PolicyVersion")
    assert sorted(v["VersionId"] for v in left) == ["v1", "v2"]

    # ≤ 5 versions: three more fit, the sixth is refused.
    for i in range(3):
        ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=doc(f"oss:GetObject{i}"))
    assert len(items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"), "PolicyVersions",
                     "PolicyVersion")) == 5
    err = fails(ram, lambda: ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=doc("oss:ListObjects")))
    assert_error(err, "LimitExceeded.Policy.Version", 409)
    assert len(items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"), "PolicyVersions",
                     "PolicyVersion")) == 5

    # RotateStrategy drops the oldest non-default version (v2; v1 is the default) instead.
    rotated = ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=doc("oss:ListObjects"),
                      RotateStrategy="DeleteOldestNonDefaultVersionWhenLimitExceeded")["PolicyVersion"]
    left = {v["VersionId"] for v in items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"),
                                           "PolicyVersions", "PolicyVersion")}
    assert len(left) == 5 and "v1" in left and "v2" not in left and rotated["VersionId"] in left, left

    # DeletePolicy without CascadingDelete while non-default versions exist: refused.
    assert_error(fails(ram, lambda: ram.ram("DeletePolicy", PolicyName=pol)), "DeleteConflict.Policy.Version", 409)
    assert_rid(ram.ram("DeletePolicy", PolicyName=pol, CascadingDelete=True))
    assert_error(fails(ram, lambda: ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom")),
                 "EntityNotExist.Policy", 404)


# ---- documents -----------------------------------------------------------------------------------

MALFORMED = {
    "not-json": "oss:Get* on everything",
    "version-2": '{"Version":"2","Statement":[{"Effect":"Allow","Action":"oss:Get*","Resource":"*"}]}',
    "effect-maybe": '{"Version":"1","Statement":[{"Effect":"Maybe","Action":"oss:Get*","Resource":"*"}]}',
    "no-action": '{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}',
    "no-resource": '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:Get*"}]}',
}


@BOTH
@pytest.mark.parametrize("bad", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_policy_document(acsemu, sdk, bad):
    ram = Rpc(acsemu, sdk)
    pol = unique_name("ct-bad")
    assert_error(fails(ram, lambda: ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=bad)),
                 "MalformedPolicyDocument", 400)
    assert_error(fails(ram, lambda: ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")),
                 "EntityNotExist.Policy", 404)
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    assert_error(fails(ram, lambda: ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=bad)),
                 "MalformedPolicyDocument", 400)
    assert len(items(ram.ram("ListPolicyVersions", PolicyName=pol, PolicyType="Custom"), "PolicyVersions",
                     "PolicyVersion")) == 1
    ram.ram("DeletePolicy", PolicyName=pol)


@BOTH
def test_policy_name_conflicts_and_missing(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    pol = unique_name("ct-dup")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    assert_error(fails(ram, lambda: ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)),
                 "EntityAlreadyExists.Policy", 409)
    missing = unique_name("ct-none")
    assert_error(fails(ram, lambda: ram.ram("GetPolicy", PolicyName=missing, PolicyType="Custom")),
                 "EntityNotExist.Policy", 404)
    assert_error(fails(ram, lambda: ram.ram("DeletePolicy", PolicyName=missing)), "EntityNotExist.Policy", 404)
    assert_error(fails(ram, lambda: ram.ram("GetUser", UserName=missing)), "EntityNotExist.User", 404)
    assert_error(fails(ram, lambda: ram.ram("DeleteUser", UserName=missing)), "EntityNotExist.User", 404)
    assert_error(fails(ram, lambda: ram.ram("GetGroup", GroupName=missing)), "EntityNotExist.Group", 404)
    assert_error(fails(ram, lambda: ram.ram("ListAccessKeys", UserName=missing)), "EntityNotExist.User", 404)
    assert_error(fails(ram, lambda: ram.ram("CreateAccessKey", UserName=missing)), "EntityNotExist.User", 404)
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=pol,
                                            UserName=missing)), "EntityNotExist.User", 404)
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToGroup", PolicyType="Custom", PolicyName=pol,
                                            GroupName=missing)), "EntityNotExist.Group", 404)
    assert_error(fails(ram, lambda: ram.ram("ListPoliciesForRole", RoleName=missing)), "EntityNotExist.Role", 404)
    assert_error(fails(ram, lambda: ram.ram("ListEntitiesForPolicy", PolicyType="Custom", PolicyName=missing)),
                 "EntityNotExist.Policy", 404)
    assert_error(fails(ram, lambda: ram.ram("CreatePolicyVersion", PolicyName=missing,
                                            PolicyDocument=SEED_OSS_POLICY)), "EntityNotExist.Policy", 404)
    ram.ram("DeletePolicy", PolicyName=pol)


# ---- system policies -----------------------------------------------------------------------------


@BOTH
def test_system_policy_ecs_full_access(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    got = ram.ram("GetPolicy", PolicyName="AliyunECSFullAccess", PolicyType="System")
    assert_rid(got)
    assert got["Policy"]["PolicyName"] == "AliyunECSFullAccess"
    assert got["Policy"]["PolicyType"] == "System"
    assert got["Policy"]["DefaultVersion"] == got["DefaultPolicyVersion"]["VersionId"]
    assert got["DefaultPolicyVersion"]["IsDefaultVersion"] is True
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == ECS_FULL_ACCESS
    # not a Custom policy
    assert_error(fails(ram, lambda: ram.ram("GetPolicy", PolicyName="AliyunECSFullAccess", PolicyType="Custom")),
                 "EntityNotExist.Policy", 404)

    listed = ram.ram("ListPolicies", PolicyType="System", MaxItems=1000)
    assert_rid(listed)
    system = {p["PolicyName"]: p for p in items(listed, "Policies", "Policy")}
    for name in ("AdministratorAccess", "AliyunRAMReadOnlyAccess", "AliyunSTSAssumeRoleAccess",
                 "AliyunECSFullAccess", "AliyunECSReadOnlyAccess", "AliyunOSSReadOnlyAccess"):
        assert name in system, sorted(system)
        assert system[name]["PolicyType"] == "System"
    assert all(p["PolicyType"] == "System" for p in system.values())
    assert isinstance(system["AliyunECSFullAccess"]["AttachmentCount"], int)

    # without the filter: both kinds (ram.md: PolicyType is an optional filter)
    pol = unique_name("ct-sys-mix")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    both = {p["PolicyName"]: p["PolicyType"] for p in items(ram.ram("ListPolicies", MaxItems=1000),
                                                             "Policies", "Policy")}
    assert (both.get(pol), both.get("AliyunECSFullAccess")) == ("Custom", "System"), both
    ram.ram("DeletePolicy", PolicyName=pol)


# ---- groups --------------------------------------------------------------------------------------


@BOTH
def test_groups(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    group = unique_name("ct-grp")
    user = unique_name("ct-grp-user")
    ram.ram("CreateUser", UserName=user)

    created = ram.ram("CreateGroup", GroupName=group, Comments="seed operators")
    assert_rid(created)
    g = created["Group"]
    assert (g["GroupName"], g["Comments"]) == (group, "seed operators")
    recent(g["CreateDate"])
    assert ram.ram("GetGroup", GroupName=group)["Group"]["GroupName"] == group
    assert_error(fails(ram, lambda: ram.ram("CreateGroup", GroupName=group)), "EntityAlreadyExists.Group", 409)

    assert_rid(ram.ram("AddUserToGroup", GroupName=group, UserName=user))
    assert_error(fails(ram, lambda: ram.ram("AddUserToGroup", GroupName=group, UserName=user)),
                 "EntityAlreadyExists.User.Group", 409)
    assert_error(fails(ram, lambda: ram.ram("AddUserToGroup", GroupName=unique_name("ct-none"), UserName=user)),
                 "EntityNotExist.Group", 404)

    gfu = items(ram.ram("ListGroupsForUser", UserName=user), "Groups", "Group")
    assert [x["GroupName"] for x in gfu] == [group]
    assert gfu[0]["Comments"] == "seed operators"
    recent(gfu[0]["JoinDate"])
    ufg = ram.ram("ListUsersForGroup", GroupName=group)
    assert_rid(ufg)
    members = items(ufg, "Users", "User")
    assert [x["UserName"] for x in members] == [user]
    recent(members[0]["JoinDate"])
    assert ufg["IsTruncated"] is False

    # A user in a group cannot be deleted (ram.md: DeleteConflict.User.Group).
    assert_error(fails(ram, lambda: ram.ram("DeleteUser", UserName=user)), "DeleteConflict.User.Group", 409)

    # A policy attached to the group: listed for the group and as a group entity; blocks DeletePolicy.
    pol = unique_name("ct-grp-pol")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    ram.ram("AttachPolicyToGroup", PolicyType="Custom", PolicyName=pol, GroupName=group)
    assert [p["PolicyName"] for p in items(ram.ram("ListPoliciesForGroup", GroupName=group), "Policies",
                                           "Policy")] == [pol]
    ents = items(ram.ram("ListEntitiesForPolicy", PolicyType="Custom", PolicyName=pol), "Groups", "Group")
    assert [x["GroupName"] for x in ents] == [group]
    assert_error(fails(ram, lambda: ram.ram("DeletePolicy", PolicyName=pol)), "DeleteConflict.Policy.Group", 409)
    ram.ram("DetachPolicyFromGroup", PolicyType="Custom", PolicyName=pol, GroupName=group)
    ram.ram("DeletePolicy", PolicyName=pol)

    assert_rid(ram.ram("RemoveUserFromGroup", GroupName=group, UserName=user))
    assert items(ram.ram("ListGroupsForUser", UserName=user), "Groups", "Group") == []
    assert items(ram.ram("ListUsersForGroup", GroupName=group), "Users", "User") == []
    assert_rid(ram.ram("DeleteGroup", GroupName=group))
    assert_error(fails(ram, lambda: ram.ram("GetGroup", GroupName=group)), "EntityNotExist.Group", 404)
    assert_error(fails(ram, lambda: ram.ram("DeleteGroup", GroupName=group)), "EntityNotExist.Group", 404)
    ram.ram("DeleteUser", UserName=user)


# ---- persistence ---------------------------------------------------------------------------------


def test_ram_state_survives_restart(acsemu):
    ram = Rpc(acsemu, "v3")
    role = unique_name("ct-keep-role")
    pol = unique_name("ct-keep-pol")
    group = unique_name("ct-keep-grp")
    ram.ram("CreateRole", RoleName=role, AssumeRolePolicyDocument=SEED_TRUST_POLICY)
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=SEED_PASSROLE_POLICY, SetAsDefault=True)
    ram.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=pol, RoleName=role)
    user, ak, secret = make_user(ram, "ct-keep-user", system=("AliyunRAMReadOnlyAccess",), custom=(pol,))
    inactive = ram.ram("CreateAccessKey", UserName=user["UserName"])["AccessKey"]
    ram.ram("UpdateAccessKey", UserName=user["UserName"], UserAccessKeyId=inactive["AccessKeyId"],
            Status="Inactive")
    ram.ram("CreateGroup", GroupName=group)
    ram.ram("AddUserToGroup", GroupName=group, UserName=user["UserName"])

    acsemu.restart()

    for sdk in SDK_NAMES:
        ram = Rpc(acsemu, sdk)
        got = ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")
        assert got["Policy"]["DefaultVersion"] == "v2"
        assert got["Policy"]["AttachmentCount"] == 2
        assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == json.loads(SEED_PASSROLE_POLICY)
        assert [p["PolicyName"] for p in items(ram.ram("ListPoliciesForRole", RoleName=role), "Policies",
                                               "Policy")] == [pol]
        assert sorted(p["PolicyName"] for p in items(ram.ram("ListPoliciesForUser", UserName=user["UserName"]),
                                                     "Policies", "Policy")) == sorted([pol, "AliyunRAMReadOnlyAccess"])
        assert ram.ram("GetUser", UserName=user["UserName"])["User"]["UserId"] == user["UserId"]
        keys = {k["AccessKeyId"]: k["Status"] for k in items(ram.ram("ListAccessKeys", UserName=user["UserName"]),
                                                              "AccessKeys", "AccessKey")}
        assert keys == {ak: "Active", inactive["AccessKeyId"]: "Inactive"}
        assert [g["GroupName"] for g in items(ram.ram("ListGroupsForUser", UserName=user["UserName"]), "Groups",
                                              "Group")] == [group]
        # the user's key still signs, and its policies still grant (AliyunRAMReadOnlyAccess)
        me = Rpc(acsemu, sdk, ak, secret)
        assert me.ram("GetRole", RoleName=role)["Role"]["RoleName"] == role
        off = Rpc(acsemu, sdk, inactive["AccessKeyId"], inactive["AccessKeySecret"])
        assert_error(fails(off, lambda: off.ram("GetRole", RoleName=role)), "InvalidAccessKeyId.Inactive", 400)


# ---- names, documents, listings ------------------------------------------------------------------


@BOTH
def test_name_validation(acsemu, sdk):
    """ram.md: PolicyName 1-128 `[A-Za-z0-9-]`; UserName 1-64 `[A-Za-z0-9._-]`."""
    ram = Rpc(acsemu, sdk)
    for bad in ("bad name", "bad_name", "bad.name", "bad/name"):
        assert_error(fails(ram, lambda: ram.ram("CreatePolicy", PolicyName=bad, PolicyDocument=SEED_OSS_POLICY)),
                     "InvalidParameter.PolicyName.InvalidChars", 400)
    longest = unique_name("ct-plen").ljust(128, "x")
    assert ram.ram("CreatePolicy", PolicyName=longest, PolicyDocument=SEED_OSS_POLICY)["Policy"]["PolicyName"] == longest
    assert_error(fails(ram, lambda: ram.ram("CreatePolicy", PolicyName=longest + "x", PolicyDocument=SEED_OSS_POLICY)),
                 "InvalidParameter.PolicyName.Length", 400)
    ram.ram("DeletePolicy", PolicyName=longest)

    for bad in ("bad name", "bad/name", "bad!name"):
        assert_error(fails(ram, lambda: ram.ram("CreateUser", UserName=bad)),
                     "InvalidParameter.UserName.InvalidChars", 400)
    ok = unique_name("ct.u_len").ljust(64, "x")
    assert ram.ram("CreateUser", UserName=ok)["User"]["UserName"] == ok
    assert_error(fails(ram, lambda: ram.ram("CreateUser", UserName=ok + "x")), "InvalidParameter.UserName.Length", 400)
    ram.ram("DeleteUser", UserName=ok)


def test_policy_document_length(acsemu):
    """ram.md: a custom policy document is 1-6144 characters."""
    ram = Rpc(acsemu, "v3")

    def sized(n: int) -> str:
        base = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"acs:oss:*:*:b/'
        tail = '"}]}'
        return base + "k" * (n - len(base) - len(tail)) + tail

    assert len(sized(6144)) == 6144
    pol = unique_name("ct-size")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=sized(6144))
    got = ram.ram("GetPolicy", PolicyName=pol, PolicyType="Custom")["DefaultPolicyVersion"]["PolicyDocument"]
    assert json.loads(got) == json.loads(sized(6144))
    err = fails(ram, lambda: ram.ram("CreatePolicy", PolicyName=unique_name("ct-size"), PolicyDocument=sized(6145)))
    assert err.status == 400 and err.code in ("MalformedPolicyDocument", "MalformedPolicyDocument.Length"), err
    ram.ram("DeletePolicy", PolicyName=pol)


@BOTH
def test_get_policy_without_type(acsemu, sdk):
    """ram.md: PolicyType absent → Custom first, then System."""
    ram = Rpc(acsemu, sdk)
    pol = unique_name("ct-notype")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    assert ram.ram("GetPolicy", PolicyName=pol)["Policy"]["PolicyType"] == "Custom"
    got = ram.ram("GetPolicy", PolicyName="AliyunECSFullAccess")
    assert got["Policy"]["PolicyType"] == "System"
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == ECS_FULL_ACCESS
    ram.ram("DeletePolicy", PolicyName=pol)


@BOTH
@pytest.mark.parametrize("kind", ["policies", "users"])
def test_list_paging(acsemu, sdk, kind):
    ram = Rpc(acsemu, sdk)
    prefix = unique_name(f"ct-page-{kind}")
    mine = [f"{prefix}-{i}" for i in range(3)]
    if kind == "policies":
        action, outer, inner, key, extra = "ListPolicies", "Policies", "Policy", "PolicyName", {"PolicyType": "Custom"}
        for n in mine:
            ram.ram("CreatePolicy", PolicyName=n, PolicyDocument=SEED_OSS_POLICY)
    else:
        action, outer, inner, key, extra = "ListUsers", "Users", "User", "UserName", {}
        for n in mine:
            ram.ram("CreateUser", UserName=n)
    whole = ram.ram(action, MaxItems=1000, **extra)
    assert whole["IsTruncated"] is False
    everything = names(whole, outer, inner, key)
    assert set(mine) <= set(everything)
    if kind == "policies":
        assert {p["PolicyType"] for p in items(whole, outer, inner)} == {"Custom"}

    seen: list = []
    page = ram.ram(action, MaxItems=2, **extra)
    assert page["IsTruncated"] is True and page.get("Marker"), page
    for _ in range(500):
        got = items(page, outer, inner)
        assert 1 <= len(got) <= 2
        seen += [x[key] for x in got]
        if not page["IsTruncated"]:
            break
        page = ram.ram(action, MaxItems=2, Marker=page["Marker"], **extra)
    assert len(seen) == len(set(seen)), seen
    assert sorted(seen) == sorted(everything)
    for n in mine:
        ram.ram("DeletePolicy" if kind == "policies" else "DeleteUser",
                **({"PolicyName": n} if kind == "policies" else {"UserName": n}))


def test_xml_lists(acsemu):
    """errors.md: `Format=XML` nests lists as repeated children; booleans and numbers as text."""
    import xml.etree.ElementTree as ET

    ram = Rpc(acsemu, "v3")
    pol = unique_name("ct-xml")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=SEED_OSS_POLICY)
    ram.ram("CreatePolicyVersion", PolicyName=pol, PolicyDocument=SEED_PASSROLE_POLICY)
    user, ak, _ = make_user(ram, "ct-xml-user", custom=(pol,))
    client = acsemu.v1_client()

    def xml(action: str, params: dict) -> ET.Element:
        req = acsemu.v1_request(action, params)
        req.set_accept_format("XML")
        body = client.do_action(req)
        assert body.startswith(b"<?xml"), body[:200]
        root = ET.fromstring(body)
        assert root.tag == f"{action}Response", root.tag
        assert REQUEST_ID_RE.match(root.findtext("RequestId") or ""), ET.tostring(root)
        return root

    versions = xml("ListPolicyVersions", {"PolicyName": pol, "PolicyType": "Custom"}).findall(
        "./PolicyVersions/PolicyVersion")
    assert sorted((v.findtext("VersionId"), v.findtext("IsDefaultVersion")) for v in versions) == [
        ("v1", "true"), ("v2", "false")]
    keys = xml("ListAccessKeys", {"UserName": user["UserName"]}).findall("./AccessKeys/AccessKey")
    assert [(k.findtext("AccessKeyId"), k.findtext("Status")) for k in keys] == [(ak, "Active")]
    got = xml("GetPolicy", {"PolicyName": pol, "PolicyType": "Custom"})
    assert got.findtext("./Policy/AttachmentCount") == "1"
    assert got.findtext("./DefaultPolicyVersion/IsDefaultVersion") == "true"
    assert json.loads(got.findtext("./DefaultPolicyVersion/PolicyDocument")) == json.loads(SEED_OSS_POLICY)
    users = xml("ListEntitiesForPolicy", {"PolicyName": pol, "PolicyType": "Custom"}).findall("./Users/User")
    assert [u.findtext("UserName") for u in users] == [user["UserName"]]


@BOTH
def test_user_manages_own_access_keys(acsemu, sdk):
    """ram.md: CreateAccessKey / ListAccessKeys without UserName act on the caller."""
    ram = Rpc(acsemu, "v3")
    name = unique_name("ct-self")
    pol = unique_name("ct-self-pol")
    ram.ram("CreatePolicy", PolicyName=pol, PolicyDocument=json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["ram:CreateAccessKey", "ram:ListAccessKeys"],
        "Resource": f"acs:ram:*:{acsemu.account_id}:user/{name}"}]}))
    ram.ram("CreateUser", UserName=name)
    ram.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=pol, UserName=name)
    first = ram.ram("CreateAccessKey", UserName=name)["AccessKey"]
    me = Rpc(acsemu, sdk, first["AccessKeyId"], first["AccessKeySecret"])
    second = me.ram("CreateAccessKey")["AccessKey"]
    assert second["AccessKeyId"] != first["AccessKeyId"] and second["Status"] == "Active"
    mine = {k["AccessKeyId"] for k in items(me.ram("ListAccessKeys"), "AccessKeys", "AccessKey")}
    assert mine == {first["AccessKeyId"], second["AccessKeyId"]}
    assert {k["AccessKeyId"] for k in items(ram.ram("ListAccessKeys", UserName=name), "AccessKeys",
                                           "AccessKey")} == mine
    assert Rpc(acsemu, sdk, second["AccessKeyId"], second["AccessKeySecret"]).sts(
        "GetCallerIdentity")["Arn"].endswith(f":user/{name}")


@BOTH
def test_system_policy_attachments(acsemu, sdk):
    ram = Rpc(acsemu, sdk)
    before = ram.ram("GetPolicy", PolicyName="AliyunSTSAssumeRoleAccess", PolicyType="System")["Policy"]["AttachmentCount"]
    user, _, _ = make_user(ram, "ct-sysatt", system=("AliyunSTSAssumeRoleAccess",))
    after = ram.ram("GetPolicy", PolicyName="AliyunSTSAssumeRoleAccess", PolicyType="System")["Policy"]["AttachmentCount"]
    assert after == before + 1
    pols = items(ram.ram("ListPoliciesForUser", UserName=user["UserName"]), "Policies", "Policy")
    assert [(p["PolicyName"], p["PolicyType"]) for p in pols] == [("AliyunSTSAssumeRoleAccess", "System")]
    ents = ram.ram("ListEntitiesForPolicy", PolicyType="System", PolicyName="AliyunSTSAssumeRoleAccess")
    assert user["UserName"] in names(ents, "Users", "User", "UserName")
    assert_error(fails(ram, lambda: ram.ram("AttachPolicyToUser", PolicyType="System",
                                            PolicyName="AliyunSTSAssumeRoleAccess", UserName=user["UserName"])),
                 "EntityAlreadyExists.User.Policy", 409)
    ram.ram("DetachPolicyFromUser", PolicyType="System", PolicyName="AliyunSTSAssumeRoleAccess",
            UserName=user["UserName"])
    assert ram.ram("GetPolicy", PolicyName="AliyunSTSAssumeRoleAccess",
                   PolicyType="System")["Policy"]["AttachmentCount"] == before
