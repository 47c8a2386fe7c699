"""Issue 4 (STS): AssumeRole by a RAM user holding AliyunSTSAssumeRoleAccess, the temporary
credentials signing later calls through every SDK, GetCallerIdentity, duration bounds, the root
key refused, expiry on the virtual clock and persistence across a restart.

SDKs (shared/reference/clients.md):
  v1      aliyun-python-sdk-core AcsClient + CommonRequest, V1; STS identities through
          aliyunsdkcore.auth.credentials.StsTokenCredential (SecurityToken in the query)
  v3      alibabacloud_sts20150401 / alibabacloud_ram20150501 clients, ACS3-HMAC-SHA256;
          Config(security_token=...) (x-acs-security-token header)
  tea-v2  the tea clients with signature_algorithm="v2" (SecurityToken in the query)
Contract: sts.md, errors.md, policy.md (trust), ram.md (identifiers), the brief's issue 4.
"""

from __future__ import annotations

import calendar
import json
import re
import time

import pytest

from acsemu_harness import (
    DATE_RE,
    REQUEST_ID_RE,
    SDK_NAMES,
    AcsemuServer,
    Rpc,
    SdkError,
    account_trust_policy,
    advance_clock,
    make_role,
    make_user,
    unique_name,
)

BOTH = pytest.mark.parametrize("sdk", SDK_NAMES)
ALL_SIGNERS = ("v1", "v3", "tea-v2")


def parse_date(s: str) -> float:
    assert isinstance(s, str) and DATE_RE.match(s), f"not YYYY-MM-DDThh:mm:ssZ: {s!r}"
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def assert_error(err: SdkError, code: str, status: int) -> None:
    assert (err.code, err.status) == (code, status), (
        f"expected {code} / HTTP {status}, got {err.code} / HTTP {err.status}: {err.message}")
    assert err.request_id and REQUEST_ID_RE.match(err.request_id), err.request_id
    assert err.server_message, "the error carries no Message"


class Setup:
    """A role trusted by the account root and a RAM user allowed to assume it (seed 004 / sts.md)."""

    def __init__(self, server: AcsemuServer, sdk: str, role_policies: tuple = ("AliyunRAMReadOnlyAccess",),
                 max_session_duration=None):
        self.server = server
        self.sdk = sdk
        self.admin = Rpc(server, "v3")
        self.account = server.account_id
        self.role = make_role(self.admin, "ct-sts-role", account_trust_policy(self.account),
                              system=role_policies, max_session_duration=max_session_duration)
        self.role_arn = f"acs:ram::{self.account}:role/{self.role['RoleName']}"
        self.user, self.ak, self.secret = make_user(self.admin, "ct-sts-user", system=("AliyunSTSAssumeRoleAccess",))
        self.caller = Rpc(server, sdk, self.ak, self.secret)

    def assume(self, session: str = "alice", **kw) -> dict:
        return self.caller.sts("AssumeRole", RoleArn=self.role_arn, RoleSessionName=session, **kw)

    def as_session(self, creds: dict, sdk: str = None) -> Rpc:
        return Rpc(self.server, sdk or self.sdk, creds["AccessKeyId"], creds["AccessKeySecret"],
                   creds["SecurityToken"])


def assert_session_identity(ident: dict, setup: Setup, session: str) -> None:
    assert REQUEST_ID_RE.match(ident["RequestId"]), ident
    assert ident["IdentityType"] == "AssumedRoleUser"
    assert ident["AccountId"] == setup.account
    assert ident["Arn"] == f"acs:ram::{setup.account}:assumed-role/{setup.role['RoleName']}/{session}"
    assert ident["RoleId"] == setup.role["RoleId"]
    assert ident["PrincipalId"] == f"{setup.role['RoleId']}:{session}"
    assert "UserId" not in ident, ident


# ---- the seed flow -------------------------------------------------------------------------------


@pytest.mark.parametrize("sdk", ALL_SIGNERS)
def test_assume_role_seed_flow(acsemu, sdk):
    s = Setup(acsemu, sdk)
    before = time.time()
    out = s.assume("alice")
    assert REQUEST_ID_RE.match(out["RequestId"]), out
    creds = out["Credentials"]
    assert re.fullmatch(r"STS\.[A-Za-z0-9]{16,32}", creds["AccessKeyId"]), creds["AccessKeyId"]
    assert isinstance(creds["AccessKeySecret"], str) and len(creds["AccessKeySecret"]) >= 30, creds
    assert isinstance(creds["SecurityToken"], str) and len(creds["SecurityToken"]) >= 32, creds
    expires = parse_date(creds["Expiration"])
    assert before + 3600 - 120 <= expires <= time.time() + 3600 + 120, (creds["Expiration"], before)
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"acs:ram::{s.account}:assumed-role/{s.role['RoleName']}/alice"
    assert user["AssumedRoleId"] == f"{s.role['RoleId']}:alice"

    # A second session gets other credentials.
    other = s.assume("bob")["Credentials"]
    assert other["AccessKeyId"] != creds["AccessKeyId"]
    assert other["SecurityToken"] != creds["SecurityToken"]

    # The credentials sign, through every SDK and signature.
    for signer in ALL_SIGNERS:
        ident = s.as_session(creds, signer).sts("GetCallerIdentity")
        assert_session_identity(ident, s, "alice")
    if sdk == "v1":  # the raw body: exactly the keys sts.md lists for an assumed role
        status, body = s.as_session(creds, "v1").raw("sts", "GetCallerIdentity")
        assert status == 200
        assert set(body) == {"AccountId", "Arn", "IdentityType", "PrincipalId", "RequestId", "RoleId"}, body

    # The user's own identity is unchanged.
    me = s.caller.sts("GetCallerIdentity")
    assert (me["IdentityType"], me["UserId"], me["PrincipalId"]) == ("RAMUser", s.user["UserId"], s.user["UserId"])
    assert me["Arn"] == f"acs:ram::{s.account}:user/{s.user['UserName']}"


@pytest.mark.parametrize("signer", ALL_SIGNERS)
def test_sts_credentials_sign_ram_calls(acsemu, signer):
    """The role holds AliyunRAMReadOnlyAccess: a session reads RAM through each SDK."""
    s = Setup(acsemu, "v3")
    creds = s.assume("reader")["Credentials"]
    session = s.as_session(creds, signer)
    got = session.ram("GetRole", RoleName=s.role["RoleName"])
    assert got["Role"]["RoleId"] == s.role["RoleId"]
    listed = session.ram("ListRoles", MaxItems=1000)
    assert s.role["RoleName"] in [r["RoleName"] for r in listed["Roles"]["Role"]]


def test_get_caller_identity_root(acsemu):
    for sdk in SDK_NAMES:
        ident = Rpc(acsemu, sdk).sts("GetCallerIdentity")
        assert ident["IdentityType"] == "Account"
        assert ident["Arn"] == f"acs:ram::{acsemu.account_id}:root"
        assert ident["AccountId"] == acsemu.account_id
        assert "RoleId" not in ident, ident


# ---- parameters ----------------------------------------------------------------------------------


@BOTH
def test_duration_seconds_bounds(acsemu, sdk):
    s = Setup(acsemu, sdk)
    for bad in (899, 3601):  # min 900; max the role's MaxSessionDuration (3600 by default)
        err = s.caller.error(lambda: s.assume("dur", DurationSeconds=bad))
        assert_error(err, "InvalidParameter.DurationSeconds", 400)
        assert err.server_message == "The Min/Max value of DurationSeconds is 15min/1hr.", err.server_message  # md
    start = time.time()
    exp = parse_date(s.assume("dur", DurationSeconds=900)["Credentials"]["Expiration"])
    assert start + 900 - 120 <= exp <= time.time() + 900 + 120
    exp = parse_date(s.assume("dur", DurationSeconds=3600)["Credentials"]["Expiration"])
    assert start + 3600 - 120 <= exp <= time.time() + 3600 + 120

    long = Setup(acsemu, sdk, max_session_duration=7200)
    exp = parse_date(long.assume("dur", DurationSeconds=7200)["Credentials"]["Expiration"])
    assert start + 7200 - 120 <= exp <= time.time() + 7200 + 120
    assert_error(long.caller.error(lambda: long.assume("dur", DurationSeconds=7201)),
                 "InvalidParameter.DurationSeconds", 400)


@BOTH
def test_assume_role_parameter_errors(acsemu, sdk):
    s = Setup(acsemu, sdk)
    c = s.caller
    missing = f"acs:ram::{s.account}:role/{unique_name('ct-none')}"
    err = c.error(lambda: c.sts("AssumeRole", RoleArn=missing, RoleSessionName="alice"))
    assert_error(err, "EntityNotExist.Role", 404)
    assert err.server_message == "The specified Role not exists .", err.server_message  # md, sic
    assert_error(c.error(lambda: c.sts("AssumeRole", RoleArn=f"acs:ram::{s.account}:user/x",
                                       RoleSessionName="alice")), "InvalidParameter.RoleArn", 400)
    assert_error(c.error(lambda: c.sts("AssumeRole", RoleArn="not-an-arn", RoleSessionName="alice")),
                 "InvalidParameter.RoleArn", 400)
    for bad in ("a", "has space", "x" * 65, "semi;colon"):
        assert_error(c.error(lambda: s.assume(bad)), "InvalidParameter.RoleSessionName", 400)
    for ok in ("ab", "a.b@c-d_e", "x" * 64):
        assert s.assume(ok)["AssumedRoleUser"]["AssumedRoleId"] == f"{s.role['RoleId']}:{ok}"
    assert_error(c.error(lambda: s.assume("pol", Policy="not a policy")), "InvalidParameter.PolicyGrammar", 400)
    big = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": [f"ram:Get{i:04d}" for i in range(200)], "Resource": "*"}]})
    assert len(big) > 2048
    assert_error(c.error(lambda: s.assume("pol", Policy=big)), "InvalidParameter.PolicySize", 400)


@BOTH
def test_root_key_cannot_assume_role(acsemu, sdk):
    s = Setup(acsemu, "v3")
    root = Rpc(acsemu, sdk)
    err = root.error(lambda: root.sts("AssumeRole", RoleArn=s.role_arn, RoleSessionName="root"))
    assert_error(err, "NoPermission", 403)


@BOTH
def test_security_token_errors(acsemu, sdk):
    """errors.md: an STS key needs its own token."""
    s = Setup(acsemu, sdk)
    a = s.assume("sa")["Credentials"]
    b = s.assume("sb")["Credentials"]
    no_token = Rpc(acsemu, sdk, a["AccessKeyId"], a["AccessKeySecret"])
    assert_error(no_token.error(lambda: no_token.sts("GetCallerIdentity")), "MissingSecurityToken", 400)
    crossed = Rpc(acsemu, sdk, a["AccessKeyId"], a["AccessKeySecret"], b["SecurityToken"])
    assert_error(crossed.error(lambda: crossed.sts("GetCallerIdentity")),
                 "InvalidSecurityToken.MismatchWithAccessKey", 400)
    wrong_secret = Rpc(acsemu, sdk, a["AccessKeyId"], b["AccessKeySecret"], a["SecurityToken"])
    err = wrong_secret.error(lambda: wrong_secret.sts("GetCallerIdentity"))
    assert err.status == 400 and err.code in ("SignatureDoesNotMatch", "InvalidAccessKeySecret"), err


def test_role_chaining(acsemu):
    """A session whose role may assume roles assumes another one (sts.md: chaining allowed)."""
    s = Setup(acsemu, "v3", role_policies=("AliyunSTSAssumeRoleAccess",))
    target = make_role(s.admin, "ct-sts-next", account_trust_policy(s.account), system=("AliyunRAMReadOnlyAccess",))
    first = s.as_session(s.assume("hop1")["Credentials"])
    out = first.sts("AssumeRole", RoleArn=f"acs:ram::{s.account}:role/{target['RoleName']}", RoleSessionName="hop2")
    assert out["AssumedRoleUser"]["Arn"] == f"acs:ram::{s.account}:assumed-role/{target['RoleName']}/hop2"
    second = Rpc(acsemu, "v1", out["Credentials"]["AccessKeyId"], out["Credentials"]["AccessKeySecret"],
                 out["Credentials"]["SecurityToken"])
    ident = second.sts("GetCallerIdentity")
    assert (ident["IdentityType"], ident["RoleId"]) == ("AssumedRoleUser", target["RoleId"])


# ---- time and restarts ---------------------------------------------------------------------------


@BOTH
def test_expired_token_refused(fresh_acsemu, sdk):
    """The virtual clock moves forward; a session dies at its Expiration, long-term keys do not."""
    s = Setup(fresh_acsemu, sdk)
    creds = s.assume("clock")["Credentials"]
    session = s.as_session(creds)
    assert session.sts("GetCallerIdentity")["IdentityType"] == "AssumedRoleUser"

    advance_clock(fresh_acsemu, 3500)
    assert session.sts("GetCallerIdentity")["IdentityType"] == "AssumedRoleUser"
    advance_clock(fresh_acsemu, 101)  # 3601 s after issue
    assert_error(session.error(lambda: session.sts("GetCallerIdentity")), "InvalidSecurityToken.Expired", 400)
    for signer in ALL_SIGNERS:
        other = s.as_session(creds, signer)
        assert_error(other.error(lambda: other.ram("GetRole", RoleName=s.role["RoleName"])),
                     "InvalidSecurityToken.Expired", 400)

    # The user's key still signs, and a new session works on the moved clock.
    assert s.caller.sts("GetCallerIdentity")["IdentityType"] == "RAMUser"
    fresh = s.assume("clock2")["Credentials"]
    assert s.as_session(fresh).sts("GetCallerIdentity")["PrincipalId"] == f"{s.role['RoleId']}:clock2"


def test_short_session_expires(fresh_acsemu):
    s = Setup(fresh_acsemu, "v1")
    session = s.as_session(s.assume("short", DurationSeconds=900)["Credentials"])
    # margins of whole seconds: the server's clock ticks in seconds and real time passes too
    advance_clock(fresh_acsemu, 890)
    assert session.sts("GetCallerIdentity")["IdentityType"] == "AssumedRoleUser"
    advance_clock(fresh_acsemu, 11)
    assert_error(session.error(lambda: session.sts("GetCallerIdentity")), "InvalidSecurityToken.Expired", 400)


def test_credentials_survive_restart(acsemu):
    s = Setup(acsemu, "v3")
    creds = s.assume("durable")["Credentials"]
    acsemu.restart()
    for signer in ALL_SIGNERS:
        session = Rpc(acsemu, signer, creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
        assert_session_identity(session.sts("GetCallerIdentity"), s, "durable")
        assert session.ram("GetRole", RoleName=s.role["RoleName"])["Role"]["RoleId"] == s.role["RoleId"]
    # and the user can still assume the role
    again = Rpc(acsemu, "v1", s.ak, s.secret).sts("AssumeRole", RoleArn=s.role_arn, RoleSessionName="after")
    assert again["AssumedRoleUser"]["AssumedRoleId"] == f"{s.role['RoleId']}:after"


@BOTH
def test_external_id(acsemu, sdk):
    """policy.md / sts.md: ExternalId is matched against the trust policy's sts:ExternalId."""
    s = Setup(acsemu, sdk)
    trust = json.dumps({"Version": "1", "Statement": [{
        "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": [f"acs:ram::{s.account}:root"]},
        "Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}}}]})
    s.admin.ram("UpdateRole", RoleName=s.role["RoleName"], NewAssumeRolePolicyDocument=trust)
    c = s.caller
    assert_error(c.error(lambda: s.assume("ext")), "NoPermission", 403)
    assert_error(c.error(lambda: s.assume("ext", ExternalId="abc-124")), "NoPermission", 403)
    assert s.assume("ext", ExternalId="abc-123")["AssumedRoleUser"]["AssumedRoleId"] == f"{s.role['RoleId']}:ext"
    for bad in ("a", "has space", "x" * 1225):
        assert_error(c.error(lambda: s.assume("ext", ExternalId=bad)), "InvalidParameter.ExternalId", 400)


@BOTH
def test_update_role_max_session_duration(acsemu, sdk):
    s = Setup(acsemu, sdk)
    assert_error(s.caller.error(lambda: s.assume("upd", DurationSeconds=7200)), "InvalidParameter.DurationSeconds", 400)
    s.admin.ram("UpdateRole", RoleName=s.role["RoleName"], NewMaxSessionDuration=7200)
    start = time.time()
    exp = parse_date(s.assume("upd", DurationSeconds=7200)["Credentials"]["Expiration"])
    assert start + 7200 - 120 <= exp <= time.time() + 7200 + 120


def test_session_in_xml(acsemu):
    """GetCallerIdentity signed by a session, Format=XML through aliyunsdkcore's older do_action."""
    import xml.etree.ElementTree as ET

    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient

    s = Setup(acsemu, "v1")
    c = s.assume("xml")["Credentials"]
    client = AcsClient(region_id="cn-hangzhou", auto_retry=False, port=acsemu.port,
                       credential=StsTokenCredential(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"]))
    req = acsemu.v1_request("GetCallerIdentity", version="2015-04-01")
    req.set_accept_format("XML")
    root = ET.fromstring(client.do_action(req))
    assert root.tag == "GetCallerIdentityResponse"
    assert root.findtext("IdentityType") == "AssumedRoleUser"
    assert root.findtext("Arn") == f"acs:ram::{s.account}:assumed-role/{s.role['RoleName']}/xml"
    assert root.find("UserId") is None


def test_session_v1_post_form_body(acsemu):
    """A session's V1 call with its parameters in a form body (aliyunsdkcore keeps SecurityToken in
    the query): signing.md section 1, clients.md."""
    s = Setup(acsemu, "v1")
    c = s.assume("form")["Credentials"]
    session = s.as_session(c, "v1")
    req = acsemu.v1_request("GetRole", method="POST", body_params={"RoleName": s.role["RoleName"]})
    body = json.loads(session.acs_client().do_action_with_exception(req))
    assert body["Role"]["RoleId"] == s.role["RoleId"]
