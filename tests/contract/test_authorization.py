"""Issue 5 (authorization): RAM users and STS sessions are held to their policies, live: a grant or
a revocation applies to the very next call, explicit Deny wins, AssumeRole needs both the caller's
permission and the role's trust, a session Policy narrows a role, a group's policies reach its
members. Driven by the official Python SDKs against a real `acsemu serve` process.

SDKs: v1 (aliyun-python-sdk-core, V1) and v3 (generated tea clients, ACS3); see clients.md.
Contract: policy.md (grammar, evaluation, action/resource map), sts.md (AssumeRole rules),
errors.md (NoPermission 403 and AccessDeniedDetail), seed 000 (policies of a role take effect
immediately), the brief's issue 5.
"""

from __future__ import annotations

import json

import pytest

from acsemu_harness import (
    REQUEST_ID_RE,
    SDK_NAMES,
    Rpc,
    SdkError,
    account_trust_policy,
    make_policy,
    make_role,
    make_user,
    policy_document,
    statement,
    unique_name,
)

BOTH = pytest.mark.parametrize("sdk", SDK_NAMES)
ECS_TRUST = ('{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",'
             '"Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}')


def assert_error(err: SdkError, code: str, status: int) -> None:
    assert (err.code, err.status) == (code, status), (
        f"expected {code} / HTTP {status}, got {err.code} / HTTP {err.status}: {err.message}")
    assert err.request_id and REQUEST_ID_RE.match(err.request_id), err.request_id
    assert err.server_message, "the error carries no Message"


def refused(rpc: Rpc, product: str, action: str, *, identity_policy: bool = True, **params) -> dict:
    """The call must answer NoPermission 403; returns the AccessDeniedDetail the SDK exposes.

    errors.md describes AccessDeniedDetail for identity-policy refusals (its PolicyType values are
    identity-based); a role's trust policy refusing a caller (identity_policy=False) need not
    carry one.

    tea: ClientException.access_denied_detail (and .data, the parsed body); aliyunsdkcore's
    ServerException drops the body, so the same request is repeated through AcsClient.get_response
    to read it.
    """
    err = rpc.error(lambda: rpc.call(product, action, params))
    assert_error(err, "NoPermission", 403)
    # errors.md / STS metadata: "You are not authorized to do this action. You should be authorized by RAM."
    assert err.server_message.startswith("You are not authorized to do this action."), err.server_message
    if rpc.sdk == "v1":
        status, body = rpc.raw(product, action, params)
        assert (status, body.get("Code")) == (403, "NoPermission"), (status, body)
    else:
        body = err.raw.data
        assert err.raw.access_denied_detail == body.get("AccessDeniedDetail"), err.raw.access_denied_detail
    detail = body.get("AccessDeniedDetail")
    if identity_policy:
        assert isinstance(detail, dict), f"no AccessDeniedDetail in {body}"
    return detail or {}


def assert_detail(detail: dict, *, action: str, account: str, principal_type: str, display_name: str,
                  deny: str = "ImplicitDeny") -> None:
    assert detail["AuthAction"] == action, detail
    assert detail["AuthPrincipalOwnerId"] == account, detail
    assert detail["AuthPrincipalType"] == principal_type, detail
    assert detail["AuthPrincipalDisplayName"] == display_name, detail
    assert detail["NoPermissionType"] == deny, detail


def trust_for(account: str, *principals: str) -> str:
    return json.dumps({"Version": "1", "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                                                      "Principal": {"RAM": [f"acs:ram::{account}:{p}"
                                                                            for p in principals]}}]})


# ---- RAM users -----------------------------------------------------------------------------------


@BOTH
def test_grant_then_revoke_applies_to_the_next_call(acsemu, sdk):
    admin = Rpc(acsemu, "v3")
    account = acsemu.account_id
    user, ak, secret = make_user(admin, "ct-authz")
    me = Rpc(acsemu, sdk, ak, secret)
    trust = account_trust_policy(account)

    first = unique_name("ct-authz-role")
    detail = refused(me, "ram", "CreateRole", RoleName=first, AssumeRolePolicyDocument=trust)
    assert_detail(detail, action="ram:CreateRole", account=account, principal_type="SubUser",
                  display_name=user["UserId"])
    assert_error(admin.error(lambda: admin.ram("GetRole", RoleName=first)), "EntityNotExist.Role", 404)

    grant = make_policy(admin, "ct-authz-grant", policy_document(statement("Allow", "ram:CreateRole")))
    admin.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=grant, UserName=user["UserName"])
    role = me.ram("CreateRole", RoleName=first, AssumeRolePolicyDocument=trust)["Role"]
    assert role["Arn"] == f"acs:ram::{account}:role/{first}"
    # only what was granted: reading the role back is still refused
    refused(me, "ram", "GetRole", RoleName=first)

    admin.ram("DetachPolicyFromUser", PolicyType="Custom", PolicyName=grant, UserName=user["UserName"])
    second = unique_name("ct-authz-role")
    refused(me, "ram", "CreateRole", RoleName=second, AssumeRolePolicyDocument=trust)
    assert_error(admin.error(lambda: admin.ram("GetRole", RoleName=second)), "EntityNotExist.Role", 404)

    # a new default version of an attached policy applies at once too
    admin.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=grant, UserName=user["UserName"])
    me.ram("CreateRole", RoleName=second, AssumeRolePolicyDocument=trust)
    admin.ram("CreatePolicyVersion", PolicyName=grant, SetAsDefault=True,
              PolicyDocument=policy_document(statement("Allow", "ram:GetRole")))
    assert me.ram("GetRole", RoleName=second)["Role"]["RoleName"] == second
    refused(me, "ram", "CreateRole", RoleName=unique_name("ct-authz-role"), AssumeRolePolicyDocument=trust)


@BOTH
def test_resource_scoped_grant(acsemu, sdk):
    """policy.md: RAM role actions are checked on acs:ram:*:<acct>:role/<name>."""
    admin = Rpc(acsemu, "v3")
    account = acsemu.account_id
    prefix = unique_name("ct-scope")
    grant = make_policy(admin, "ct-scope-pol", policy_document(
        statement("Allow", ["ram:CreateRole", "ram:GetRole"], f"acs:ram:*:{account}:role/{prefix}-*")))
    _, ak, secret = make_user(admin, "ct-scope-user", custom=(grant,))
    me = Rpc(acsemu, sdk, ak, secret)
    trust = account_trust_policy(account)
    me.ram("CreateRole", RoleName=f"{prefix}-ok", AssumeRolePolicyDocument=trust)
    assert me.ram("GetRole", RoleName=f"{prefix}-ok")["Role"]["RoleName"] == f"{prefix}-ok"
    refused(me, "ram", "CreateRole", RoleName=unique_name("ct-elsewhere"), AssumeRolePolicyDocument=trust)
    # List* actions are on the account (acs:ram:*:<acct>:*), which the grant does not cover
    refused(me, "ram", "ListRoles")


@BOTH
def test_explicit_deny_beats_allow(acsemu, sdk):
    admin = Rpc(acsemu, "v3")
    account = acsemu.account_id
    deny = make_policy(admin, "ct-deny", policy_document(statement("Deny", "ram:CreateRole")))
    user, ak, secret = make_user(admin, "ct-deny-user", system=("AdministratorAccess",), custom=(deny,))
    me = Rpc(acsemu, sdk, ak, secret)
    trust = account_trust_policy(account)

    detail = refused(me, "ram", "CreateRole", RoleName=unique_name("ct-deny-role"), AssumeRolePolicyDocument=trust)
    assert_detail(detail, action="ram:CreateRole", account=account, principal_type="SubUser",
                  display_name=user["UserId"], deny="ExplicitDeny")
    # everything else AdministratorAccess allows
    assert me.ram("ListRoles")["IsTruncated"] in (True, False)
    pol = unique_name("ct-deny-other")
    me.ram("CreatePolicy", PolicyName=pol, PolicyDocument=policy_document(statement("Allow", "oss:GetObject")))

    admin.ram("DetachPolicyFromUser", PolicyType="Custom", PolicyName=deny, UserName=user["UserName"])
    name = unique_name("ct-deny-role")
    assert me.ram("CreateRole", RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["RoleName"] == name


@BOTH
def test_not_action_and_wildcards(acsemu, sdk):
    """policy.md: NotAction, `*`/`?` wildcards, case-insensitive actions."""
    admin = Rpc(acsemu, "v3")
    pol = make_policy(admin, "ct-notaction", json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "NotAction": ["ram:Create*", "ram:Delete*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "RAM:createpolic?", "Resource": "*"},
    ]}))
    _, ak, secret = make_user(admin, "ct-notaction-user", custom=(pol,))
    me = Rpc(acsemu, sdk, ak, secret)
    assert "Roles" in me.ram("ListRoles")
    me.ram("CreatePolicy", PolicyName=unique_name("ct-na"), PolicyDocument=policy_document(
        statement("Allow", "oss:GetObject")))
    refused(me, "ram", "CreateUser", UserName=unique_name("ct-na-user"))
    refused(me, "ram", "CreateRole", RoleName=unique_name("ct-na-role"),
            AssumeRolePolicyDocument=account_trust_policy(acsemu.account_id))


@BOTH
def test_source_ip_condition(acsemu, sdk):
    """policy.md: IpAddress / acs:SourceIp; the SDKs connect from 127.0.0.1."""
    admin = Rpc(acsemu, "v3")
    def scoped(cidr: str) -> Rpc:
        pol = make_policy(admin, "ct-ip", json.dumps({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": "ram:ListRoles", "Resource": "*",
             "Condition": {"IpAddress": {"acs:SourceIp": cidr}}}]}))
        _, ak, secret = make_user(admin, "ct-ip-user", custom=(pol,))
        return Rpc(acsemu, sdk, ak, secret)

    assert "Roles" in scoped("127.0.0.0/8").ram("ListRoles")
    refused(scoped("10.0.0.0/8"), "ram", "ListRoles")


@BOTH
def test_group_policy_grants_members(acsemu, sdk):
    admin = Rpc(acsemu, "v3")
    group = unique_name("ct-authz-grp")
    admin.ram("CreateGroup", GroupName=group)
    admin.ram("AttachPolicyToGroup", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess", GroupName=group)
    user, ak, secret = make_user(admin, "ct-member")
    me = Rpc(acsemu, sdk, ak, secret)

    refused(me, "ram", "ListRoles")
    admin.ram("AddUserToGroup", GroupName=group, UserName=user["UserName"])
    assert "Roles" in me.ram("ListRoles")
    assert me.ram("GetUser", UserName=user["UserName"])["User"]["UserId"] == user["UserId"]
    refused(me, "ram", "CreateUser", UserName=unique_name("ct-member-x"))  # read-only

    # a Deny on the group reaches the member too
    deny = make_policy(admin, "ct-grp-deny", policy_document(statement("Deny", "ram:ListRoles")))
    admin.ram("AttachPolicyToGroup", PolicyType="Custom", PolicyName=deny, GroupName=group)
    detail = refused(me, "ram", "ListRoles")
    assert detail["NoPermissionType"] == "ExplicitDeny", detail
    admin.ram("DetachPolicyFromGroup", PolicyType="Custom", PolicyName=deny, GroupName=group)
    assert "Roles" in me.ram("ListRoles")

    admin.ram("RemoveUserFromGroup", GroupName=group, UserName=user["UserName"])
    refused(me, "ram", "ListRoles")


# ---- AssumeRole: permission and trust ------------------------------------------------------------


@BOTH
def test_assume_role_needs_trust(acsemu, sdk):
    admin = Rpc(acsemu, "v3")
    account = acsemu.account_id
    named, nak, nsecret = make_user(admin, "ct-trusted", system=("AliyunSTSAssumeRoleAccess",))
    _, ak, secret = make_user(admin, "ct-untrusted", system=("AliyunSTSAssumeRoleAccess",))
    role = make_role(admin, "ct-trust-role", trust_for(account, f"user/{named['UserName']}"))
    arn = f"acs:ram::{account}:role/{role['RoleName']}"

    outsider = Rpc(acsemu, sdk, ak, secret)
    refused(outsider, "sts", "AssumeRole", RoleArn=arn, RoleSessionName="outsider", identity_policy=False)
    insider = Rpc(acsemu, sdk, nak, nsecret)
    out = insider.sts("AssumeRole", RoleArn=arn, RoleSessionName="insider")
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:insider"

    # a service role (ECS trust, as in seed 003) trusts no user
    ecs_role = make_role(admin, "ct-ecs-role", ECS_TRUST)
    refused(insider, "sts", "AssumeRole", RoleArn=f"acs:ram::{account}:role/{ecs_role['RoleName']}",
            RoleSessionName="insider", identity_policy=False)

    # trust follows UpdateRole at once
    admin.ram("UpdateRole", RoleName=role["RoleName"], NewAssumeRolePolicyDocument=account_trust_policy(account))
    assert outsider.sts("AssumeRole", RoleArn=arn, RoleSessionName="outsider")["AssumedRoleUser"]


@BOTH
def test_assume_role_needs_sts_permission(acsemu, sdk):
    admin = Rpc(acsemu, "v3")
    account = acsemu.account_id
    role = make_role(admin, "ct-perm-role", account_trust_policy(account))
    other = make_role(admin, "ct-perm-other", account_trust_policy(account))
    arn = f"acs:ram::{account}:role/{role['RoleName']}"
    user, ak, secret = make_user(admin, "ct-noperm")
    me = Rpc(acsemu, sdk, ak, secret)

    detail = refused(me, "sts", "AssumeRole", RoleArn=arn, RoleSessionName="nope")
    assert_detail(detail, action="sts:AssumeRole", account=account, principal_type="SubUser",
                  display_name=user["UserId"])

    # sts:AssumeRole on this role only (policy.md: resource acs:ram::<acct>:role/<name>)
    grant = make_policy(admin, "ct-perm-pol", policy_document(
        statement("Allow", "sts:AssumeRole", f"acs:ram:*:{account}:role/{role['RoleName']}")))
    admin.ram("AttachPolicyToUser", PolicyType="Custom", PolicyName=grant, UserName=user["UserName"])
    assert me.sts("AssumeRole", RoleArn=arn, RoleSessionName="yes")["Credentials"]["AccessKeyId"].startswith("STS.")
    refused(me, "sts", "AssumeRole", RoleArn=f"acs:ram::{account}:role/{other['RoleName']}", RoleSessionName="yes")


# ---- STS sessions --------------------------------------------------------------------------------


def _session(acsemu, sdk: str, role_policies: tuple, **assume) -> tuple[Rpc, dict, Rpc]:
    admin = Rpc(acsemu, "v3")
    role = make_role(admin, "ct-sess-role", account_trust_policy(acsemu.account_id), system=role_policies)
    _, ak, secret = make_user(admin, "ct-sess-user", system=("AliyunSTSAssumeRoleAccess",))
    out = Rpc(acsemu, sdk, ak, secret).sts(
        "AssumeRole", RoleArn=f"acs:ram::{acsemu.account_id}:role/{role['RoleName']}", **assume)
    c = out["Credentials"]
    return Rpc(acsemu, sdk, c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]), role, admin


@BOTH
def test_session_policy_narrows_the_role(acsemu, sdk):
    only_get = policy_document(statement("Allow", "ram:GetRole"))
    narrow, role, _ = _session(acsemu, sdk, ("AliyunRAMReadOnlyAccess",), RoleSessionName="narrow",
                               Policy=only_get)
    assert narrow.ram("GetRole", RoleName=role["RoleName"])["Role"]["RoleId"] == role["RoleId"]
    detail = refused(narrow, "ram", "ListRoles")
    assert_detail(detail, action="ram:ListRoles", account=acsemu.account_id, principal_type="AssumedRoleUser",
                  display_name=f"{role['RoleName']}:narrow")

    # the same role without a session policy may list
    wide, role2, _ = _session(acsemu, sdk, ("AliyunRAMReadOnlyAccess",), RoleSessionName="wide")
    assert role2["RoleName"] in [r["RoleName"] for r in wide.ram("ListRoles", MaxItems=1000)["Roles"]["Role"]]

    # a session policy never widens the role
    widen, _, _ = _session(acsemu, sdk, ("AliyunRAMReadOnlyAccess",), RoleSessionName="widen",
                           Policy=policy_document(statement("Allow", "ram:*")))
    refused(widen, "ram", "CreateUser", UserName=unique_name("ct-widen"))
    assert "Roles" in widen.ram("ListRoles")


@BOTH
def test_role_policy_changes_reach_live_sessions(acsemu, sdk):
    """Seed 000: after the policies attached to the RAM role are updated, the permissions of the
    STS token take effect immediately."""
    session, role, admin = _session(acsemu, sdk, (), RoleSessionName="live")
    refused(session, "ram", "ListRoles")
    admin.ram("AttachPolicyToRole", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess",
              RoleName=role["RoleName"])
    assert "Roles" in session.ram("ListRoles")
    admin.ram("DetachPolicyFromRole", PolicyType="System", PolicyName="AliyunRAMReadOnlyAccess",
              RoleName=role["RoleName"])
    refused(session, "ram", "ListRoles")


# ---- conditions and resources --------------------------------------------------------------------

# policy.md operators; the SDKs call over http from 127.0.0.1, now is 20xx.
CONDITIONS = {
    "date-after-past": ({"DateGreaterThan": {"acs:CurrentTime": "2019-08-12T17:00:00+08:00"}}, True),
    "date-before-past": ({"DateLessThan": {"acs:CurrentTime": "2019-08-12T17:00:00+08:00"}}, False),
    "not-ip-elsewhere": ({"NotIpAddress": {"acs:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}, True),
    "ip-any-of": ({"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "127.0.0.1"]}}, True),
    "secure-transport": ({"Bool": {"acs:SecureTransport": "true"}}, False),
    "insecure-transport": ({"Bool": {"acs:SecureTransport": "false"}}, True),
    "missing-key": ({"StringEquals": {"sts:ExternalId": "abc"}}, False),
    "and-of-operators": ({"IpAddress": {"acs:SourceIp": "127.0.0.0/8"},
                          "DateLessThan": {"acs:CurrentTime": "2019-08-12T17:00:00+08:00"}}, False),
}


@pytest.mark.parametrize("sdk", SDK_NAMES)
@pytest.mark.parametrize("case", list(CONDITIONS))
def test_conditions(acsemu, sdk, case):
    condition, allowed = CONDITIONS[case]
    admin = Rpc(acsemu, "v3")
    pol = make_policy(admin, "ct-cond", json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "ram:ListRoles", "Resource": "*", "Condition": condition}]}))
    _, ak, secret = make_user(admin, "ct-cond-user", custom=(pol,))
    me = Rpc(acsemu, sdk, ak, secret)
    if allowed:
        assert "Roles" in me.ram("ListRoles")
    else:
        refused(me, "ram", "ListRoles")


@BOTH
def test_role_name_in_resource_is_case_insensitive(acsemu, sdk):
    """policy.md: compare the `role/<name>` part of a resource case-insensitively."""
    admin = Rpc(acsemu, "v3")
    name = "Ct-Case-" + unique_name("Role")
    admin.ram("CreateRole", RoleName=name, AssumeRolePolicyDocument=account_trust_policy(acsemu.account_id))
    pol = make_policy(admin, "ct-case", policy_document(
        statement("Allow", "ram:GetRole", f"acs:ram:*:*:role/{name.lower()}")))
    _, ak, secret = make_user(admin, "ct-case-user", custom=(pol,))
    me = Rpc(acsemu, sdk, ak, secret)
    assert me.ram("GetRole", RoleName=name)["Role"]["RoleName"] == name


@BOTH
def test_session_policy_deny(acsemu, sdk):
    """policy.md: a Deny in the session policy denies what the role allows."""
    session, role, _ = _session(acsemu, sdk, ("AliyunRAMReadOnlyAccess",), RoleSessionName="denied",
                                Policy=policy_document(statement("Allow", "ram:*"),
                                                       statement("Deny", "ram:GetRole")))
    refused(session, "ram", "GetRole", RoleName=role["RoleName"])
    assert "Roles" in session.ram("ListRoles")


@BOTH
def test_session_needs_sts_permission_to_chain(acsemu, sdk):
    session, role, admin = _session(acsemu, sdk, ("AliyunRAMReadOnlyAccess",), RoleSessionName="nochain")
    target = make_role(admin, "ct-chain-target", account_trust_policy(acsemu.account_id))
    detail = refused(session, "sts", "AssumeRole",
                     RoleArn=f"acs:ram::{acsemu.account_id}:role/{target['RoleName']}", RoleSessionName="hop")
    assert_detail(detail, action="sts:AssumeRole", account=acsemu.account_id, principal_type="AssumedRoleUser",
                  display_name=f"{role['RoleName']}:nochain")
