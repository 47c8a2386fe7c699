"""Issue "Foundation": roles CRUD, the error envelope and request authentication, driven by the
official Python SDKs against a real `acsemu serve` process.

SDKs (shared/reference/clients.md):
  v1     aliyun-python-sdk-core AcsClient + CommonRequest: RPC signature V1 (HMAC-SHA1), GET
  v3     alibabacloud_ram20150501 Client, default Config: ACS3-HMAC-SHA256, POST /
  tea-v2 the same Client with signature_algorithm="v2": RPC V1 through tea (Format=json, no
         SignatureType, no RegionId)
Contract facts: ram.md (Roles), errors.md (envelope, common codes), signing.md.
"""

from __future__ import annotations

import calendar
import json
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any, Callable, Optional
from urllib.parse import quote, quote_plus

import pytest

from acsemu_harness import (
    DATE_RE,
    RAM_VERSION,
    REQUEST_ID_RE,
    AcsemuServer,
    SdkError,
    tea_error,
    tea_runtime,
    v1_error,
)

ECS_TRUST_POLICY = (
    '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",'
    '"Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}'
)
# Characters that the two percent-encodings treat differently (space, *, ~, /, :, non-ASCII).
TRICKY_DESCRIPTION = "web server*01~ for a/b:c (ünïcødé) 100% & more"

UNKNOWN_AK = "LTAI5tAcsemuNoSuchKey0001"
SIGN_MISMATCH_MARK = "server string to sign is:"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def utc_iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_date(s: str) -> float:
    assert DATE_RE.match(s), f"not YYYY-MM-DDThh:mm:ssZ: {s!r}"
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


# ---- one interface over the three ways of calling ------------------------------------------------


class Sdk:
    """Calls RAM role actions and returns the response body as the wire's JSON keys."""

    name = "?"

    def __init__(self, server: AcsemuServer, ak: Optional[str] = None, secret: Optional[str] = None):
        self.server = server

    def create_role(self, name: str, doc: str = ECS_TRUST_POLICY, description: Optional[str] = None,
                    max_session_duration: Optional[int] = None) -> dict:
        raise NotImplementedError

    def get_role(self, name: str) -> dict:
        raise NotImplementedError

    def list_roles(self, max_items: Optional[int] = None, marker: Optional[str] = None) -> dict:
        raise NotImplementedError

    def delete_role(self, name: str) -> dict:
        raise NotImplementedError

    def error(self, fn: Callable[[], Any]) -> SdkError:
        raise NotImplementedError

    def patch_nonce(self, monkeypatch, nonce: str) -> None:
        raise NotImplementedError

    def patch_timestamp(self, monkeypatch, stamp: str) -> None:
        raise NotImplementedError


class V1Sdk(Sdk):
    name = "v1"

    def __init__(self, server, ak=None, secret=None):
        super().__init__(server)
        self.client = server.v1_client(ak, secret)

    def call(self, action: str, params: Optional[dict] = None) -> dict:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        body = self.client.do_action_with_exception(self.server.v1_request(action, params))
        return json.loads(body)

    def create_role(self, name, doc=ECS_TRUST_POLICY, description=None, max_session_duration=None):
        return self.call("CreateRole", {
            "RoleName": name,
            "AssumeRolePolicyDocument": doc,
            "Description": description,
            "MaxSessionDuration": max_session_duration,
        })

    def get_role(self, name):
        return self.call("GetRole", {"RoleName": name})

    def list_roles(self, max_items=None, marker=None):
        return self.call("ListRoles", {"MaxItems": max_items, "Marker": marker})

    def delete_role(self, name):
        return self.call("DeleteRole", {"RoleName": name})

    def error(self, fn):
        return v1_error(fn)

    def patch_nonce(self, monkeypatch, nonce):
        # rpc_signature_composer calls parameter_helper.get_uuid() for SignatureNonce.
        from aliyunsdkcore.utils import parameter_helper

        monkeypatch.setattr(parameter_helper, "get_uuid", lambda: nonce)

    def patch_timestamp(self, monkeypatch, stamp):
        # rpc_signature_composer calls parameter_helper.get_iso_8061_date() for Timestamp.
        from aliyunsdkcore.utils import parameter_helper

        monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: stamp)


class TeaSdk(Sdk):
    name = "v3"
    config_kw: dict = {}

    def __init__(self, server, ak=None, secret=None):
        super().__init__(server)
        self.client = server.ram_client(ak, secret, **self.config_kw)

    def _body(self, resp) -> dict:
        assert resp.status_code == 200, resp.status_code
        return resp.body.to_map()

    def create_role(self, name, doc=ECS_TRUST_POLICY, description=None, max_session_duration=None):
        from alibabacloud_ram20150501 import models

        req = models.CreateRoleRequest(role_name=name, assume_role_policy_document=doc,
                                       description=description, max_session_duration=max_session_duration)
        return self._body(self.client.create_role_with_options(req, tea_runtime()))

    def get_role(self, name):
        from alibabacloud_ram20150501 import models

        return self._body(self.client.get_role_with_options(models.GetRoleRequest(role_name=name), tea_runtime()))

    def list_roles(self, max_items=None, marker=None):
        from alibabacloud_ram20150501 import models

        req = models.ListRolesRequest(max_items=max_items, marker=marker)
        return self._body(self.client.list_roles_with_options(req, tea_runtime()))

    def delete_role(self, name):
        from alibabacloud_ram20150501 import models

        return self._body(self.client.delete_role_with_options(models.DeleteRoleRequest(role_name=name),
                                                               tea_runtime()))

    def error(self, fn):
        return tea_error(fn)

    def patch_nonce(self, monkeypatch, nonce):
        # tea-openapi: x-acs-signature-nonce (V3) and SignatureNonce (V1) come from Utils.get_nonce().
        from alibabacloud_tea_openapi.utils import Utils

        monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: nonce))

    def patch_timestamp(self, monkeypatch, stamp):
        # tea-openapi: x-acs-date (V3) and Timestamp (V1) come from Utils.get_timestamp().
        from alibabacloud_tea_openapi.utils import Utils

        monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: stamp))


class TeaV2Sdk(TeaSdk):
    name = "tea-v2"
    config_kw = {"signature_algorithm": "v2"}


SDKS = {cls.name: cls for cls in (V1Sdk, TeaSdk, TeaV2Sdk)}
ALL_SDKS = pytest.mark.parametrize("sdk_name", list(SDKS))


def make_sdk(server: AcsemuServer, sdk_name: str, ak=None, secret=None) -> Sdk:
    return SDKS[sdk_name](server, ak, secret)


# ---- assertions shared by the tests --------------------------------------------------------------


def assert_request_id(value: Any) -> None:
    assert isinstance(value, str) and REQUEST_ID_RE.match(value), f"RequestId not an upper-case UUID: {value!r}"


def assert_error(err: SdkError, code: str, status: int) -> None:
    assert (err.code, err.status) == (code, status), (
        f"expected {code} / HTTP {status}, got {err.code} / HTTP {err.status}: {err.message}"
    )
    assert_request_id(err.request_id)
    assert err.server_message, "the error carries no Message"


def assert_role(role: dict, server: AcsemuServer, name: str, *, max_session_duration: int = 3600,
                description: Optional[str] = None) -> None:
    assert role["RoleName"] == name
    assert isinstance(role["RoleId"], str) and role["RoleId"].isdigit(), role["RoleId"]
    assert 18 <= len(role["RoleId"]) <= 19, f"RoleId is 18-19 digits in ram.md: {role['RoleId']!r}"
    assert role["Arn"] == f"acs:ram::{server.account_id}:role/{name}"
    created = parse_date(role["CreateDate"])
    assert abs(created - time.time()) < 600, f"CreateDate far from now: {role['CreateDate']}"
    assert role["MaxSessionDuration"] == max_session_duration
    assert type(role["MaxSessionDuration"]) is int
    if description is not None:
        assert role["Description"] == description


# ---- the server process --------------------------------------------------------------------------


def test_ready_line_and_health(acsemu):
    assert acsemu.endpoint == f"http://127.0.0.1:{acsemu.port}"
    assert len(acsemu.account_id) == 16 and acsemu.account_id.isdigit(), acsemu.account_id
    assert acsemu.access_key_id and acsemu.access_key_secret
    health = acsemu.health()
    assert isinstance(health, dict) and health, health


# ---- roles: the happy path with every SDK --------------------------------------------------------


@ALL_SDKS
def test_create_get_delete_role(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name)
    name = unique(f"ct-crud-{sdk_name}")

    created = sdk.create_role(name, description=TRICKY_DESCRIPTION, max_session_duration=7200)
    assert_request_id(created["RequestId"])
    role = created["Role"]
    assert_role(role, acsemu, name, max_session_duration=7200, description=TRICKY_DESCRIPTION)

    got = sdk.get_role(name)
    assert_request_id(got["RequestId"])
    assert got["RequestId"] != created["RequestId"]
    grole = got["Role"]
    assert_role(grole, acsemu, name, max_session_duration=7200, description=TRICKY_DESCRIPTION)
    assert grole["RoleId"] == role["RoleId"]
    assert grole["CreateDate"] == role["CreateDate"]
    assert json.loads(grole["AssumeRolePolicyDocument"]) == json.loads(ECS_TRUST_POLICY)
    assert parse_date(grole["UpdateDate"]) >= parse_date(grole["CreateDate"])

    deleted = sdk.delete_role(name)
    assert_request_id(deleted["RequestId"])
    assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)


@ALL_SDKS
def test_create_role_defaults(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name)
    name = unique(f"ct-dflt-{sdk_name}")
    role = sdk.create_role(name)["Role"]
    assert_role(role, acsemu, name, max_session_duration=3600)
    assert json.loads(role["AssumeRolePolicyDocument"]) == json.loads(ECS_TRUST_POLICY)
    assert sdk.get_role(name)["Role"]["MaxSessionDuration"] == 3600
    sdk.delete_role(name)


def test_tea_typed_models(acsemu):
    """The generated models see every field (a misspelt wire name would come back None)."""
    from alibabacloud_ram20150501 import models

    client = acsemu.ram_client()
    name = unique("ct-typed")
    resp = client.create_role_with_options(
        models.CreateRoleRequest(role_name=name, assume_role_policy_document=ECS_TRUST_POLICY,
                                 description="typed", max_session_duration=3600),
        tea_runtime(),
    )
    r = resp.body.role
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    assert None not in (resp.body.request_id, r.role_id, r.role_name, r.arn, r.create_date,
                        r.max_session_duration, r.assume_role_policy_document, r.description)
    g = client.get_role_with_options(models.GetRoleRequest(role_name=name), tea_runtime()).body.role
    assert None not in (g.role_id, g.role_name, g.arn, g.create_date, g.update_date,
                        g.max_session_duration, g.assume_role_policy_document, g.description)
    assert (g.role_id, g.arn, g.max_session_duration) == (r.role_id, r.arn, 3600)
    page = client.list_roles_with_options(models.ListRolesRequest(max_items=1000), tea_runtime()).body
    assert page.is_truncated is False
    mine = [x for x in page.roles.role if x.role_name == name]
    assert len(mine) == 1
    assert None not in (mine[0].role_id, mine[0].arn, mine[0].create_date, mine[0].update_date,
                        mine[0].max_session_duration)
    client.delete_role_with_options(models.DeleteRoleRequest(role_name=name), tea_runtime())


@ALL_SDKS
def test_list_roles_paging(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name)
    prefix = unique(f"ct-list-{sdk_name}")
    names = [f"{prefix}-{i}" for i in range(3)]
    ids = {n: sdk.create_role(n)["Role"]["RoleId"] for n in names}

    # Everything in one page (MaxItems defaults to 100; this module makes far fewer roles).
    whole = sdk.list_roles()
    assert_request_id(whole["RequestId"])
    assert whole["IsTruncated"] is False
    listed = {r["RoleName"]: r for r in whole["Roles"]["Role"]}
    for n in names:
        r = listed[n]
        assert r["RoleId"] == ids[n]
        assert r["Arn"] == f"acs:ram::{acsemu.account_id}:role/{n}"
        assert r["MaxSessionDuration"] == 3600
        parse_date(r["CreateDate"])
        parse_date(r["UpdateDate"])
        if sdk_name == "v1":  # raw JSON: ram.md says the list carries no trust document
            assert "AssumeRolePolicyDocument" not in r, r

    # Pages of 2: first page truncated with a Marker, then follow the Markers to the end.
    seen: list[str] = []
    page = sdk.list_roles(max_items=2)
    assert page["IsTruncated"] is True
    assert len(page["Roles"]["Role"]) == 2
    pages = 1
    while True:
        seen += [r["RoleName"] for r in page["Roles"]["Role"]]
        assert len(page["Roles"]["Role"]) <= 2
        if not page["IsTruncated"]:
            break
        assert page.get("Marker"), page
        assert pages < 200, "paging does not end"
        page = sdk.list_roles(max_items=2, marker=page["Marker"])
        pages += 1
    assert len(seen) == len(set(seen)), f"a role listed twice: {seen}"
    assert sorted(seen) == sorted(listed), "paging and one page disagree"

    for n in names:
        sdk.delete_role(n)
    after = {r["RoleName"] for r in sdk.list_roles(max_items=1000)["Roles"]["Role"]}
    assert not after & set(names)


# ---- roles: errors -------------------------------------------------------------------------------


@ALL_SDKS
def test_create_existing_role_conflicts(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name)
    name = unique(f"ct-dup-{sdk_name}")
    first = sdk.create_role(name)["Role"]
    assert_error(sdk.error(lambda: sdk.create_role(name)), "EntityAlreadyExists.Role", 409)
    assert sdk.get_role(name)["Role"]["RoleId"] == first["RoleId"]
    sdk.delete_role(name)


@ALL_SDKS
def test_missing_role(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name)
    name = unique(f"ct-none-{sdk_name}")
    assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)
    assert_error(sdk.error(lambda: sdk.delete_role(name)), "EntityNotExist.Role", 404)


_PRINCIPAL = '"Principal":{"Service":["ecs.aliyuncs.com"]}'
# Grammar from policy.md: a JSON object; Version must be "1"; Statement an array of statements
# (a single object is accepted); Effect Allow|Deny; Action or NotAction.
NOT_JSON_TRUST_POLICIES = {
    "truncated-json": '{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow"',
    "not-json": "this is not a policy",
}
MALFORMED_TRUST_POLICIES = {
    "json-array": "[]",
    "json-string": '"sts:AssumeRole"',
    "no-statement": '{"Version":"1"}',
    "statement-is-string": '{"Version":"1","Statement":"sts:AssumeRole"}',
    "effect-not-allow-or-deny":
        '{"Version":"1","Statement":[{"Effect":"Maybe","Action":"sts:AssumeRole",%s}]}' % _PRINCIPAL,
    "version-not-1": '{"Version":"2","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",%s}]}' % _PRINCIPAL,
    "no-action": '{"Version":"1","Statement":[{"Effect":"Allow",%s}]}' % _PRINCIPAL,
}


@ALL_SDKS
@pytest.mark.parametrize("doc", list(NOT_JSON_TRUST_POLICIES.values()), ids=list(NOT_JSON_TRUST_POLICIES))
def test_trust_policy_not_json(acsemu, sdk_name, doc):
    sdk = make_sdk(acsemu, sdk_name)
    name = unique(f"ct-badpol-{sdk_name}")
    assert_error(sdk.error(lambda: sdk.create_role(name, doc=doc)), "MalformedPolicyDocument", 400)
    assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)


@pytest.mark.parametrize("doc", list(MALFORMED_TRUST_POLICIES.values()), ids=list(MALFORMED_TRUST_POLICIES))
def test_trust_policy_bad_grammar(acsemu, doc):
    """JSON, but not a policy: rejected the same way (the SDK plays no part, so one is enough)."""
    sdk = make_sdk(acsemu, "v3")
    name = unique("ct-badgram")
    assert_error(sdk.error(lambda: sdk.create_role(name, doc=doc)), "MalformedPolicyDocument", 400)
    assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)


@ALL_SDKS
@pytest.mark.parametrize("bad_name", ["bad name", "bad/name", "bad!name"])
def test_role_name_invalid_chars(acsemu, sdk_name, bad_name):
    sdk = make_sdk(acsemu, sdk_name)
    err = sdk.error(lambda: sdk.create_role(bad_name))
    assert_error(err, "InvalidParameter.RoleName.InvalidChars", 400)


@pytest.mark.parametrize("sdk_name", ["v1", "v3"])
def test_create_role_limits(acsemu, sdk_name):
    """ram.md: RoleName 1-64 chars, MaxSessionDuration 3600-43200."""
    sdk = make_sdk(acsemu, sdk_name)
    longest = unique(f"ct-lim-{sdk_name}").ljust(64, "x")
    assert_role(sdk.create_role(longest)["Role"], acsemu, longest)
    assert_error(sdk.error(lambda: sdk.create_role(longest + "x")), "InvalidParameter.RoleName.Length", 400)
    for ok in (3600, 43200):
        name = unique(f"ct-msd-{sdk_name}")
        assert sdk.create_role(name, max_session_duration=ok)["Role"]["MaxSessionDuration"] == ok
        sdk.delete_role(name)
    for bad in (3599, 43201):
        name = unique(f"ct-msd-{sdk_name}")
        err = sdk.error(lambda: sdk.create_role(name, max_session_duration=bad))
        assert_error(err, "InvalidParameter.MaxSessionDuration", 400)
        assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)
    sdk.delete_role(longest)


# ---- authentication ------------------------------------------------------------------------------


def test_wrong_secret_v1_common_request(acsemu):
    """CommonRequest keeps the string to sign on its inner request, so aliyunsdkcore compares the
    server's string with '' and surfaces SignatureDoesNotMatch with the server's message."""
    client = acsemu.v1_client(secret="wrong-" + acsemu.access_key_secret)
    req = acsemu.v1_request("GetRole", {"RoleName": unique("ct-sig")})
    err = v1_error(lambda: client.do_action_with_exception(req))
    assert_error(err, "SignatureDoesNotMatch", 400)
    assert SIGN_MISMATCH_MARK in err.server_message, err.server_message
    server_sts = err.server_message.split(SIGN_MISMATCH_MARK, 1)[1]
    assert server_sts == req.request.string_to_sign, "server and client strings to sign differ"


def test_wrong_secret_v1_rpc_request(acsemu):
    """With an RpcRequest the SDK sees its own string to sign in the server's message and reports
    InvalidAccessKeySecret: proof that the server canonicalized exactly as the client did."""
    from aliyunsdkcore.request import RpcRequest

    client = acsemu.v1_client(secret="wrong-" + acsemu.access_key_secret)
    req = RpcRequest("Ram", RAM_VERSION, "CreateRole")
    req.set_endpoint(acsemu.host)
    req.set_protocol_type("http")
    req.add_query_param("RoleName", unique("ct-sig"))
    req.add_query_param("AssumeRolePolicyDocument", ECS_TRUST_POLICY)
    req.add_query_param("Description", TRICKY_DESCRIPTION)
    err = v1_error(lambda: client.do_action_with_exception(req))
    assert (err.code, err.status) == ("InvalidAccessKeySecret", 400), (err.code, err.status, err.message)
    assert_request_id(err.request_id)

    # The raw answer behind it (the older do_action returns the body whatever the status).
    raw = json.loads(client.do_action(req))
    assert raw["Code"] == "SignatureDoesNotMatch", raw
    assert raw["Message"].split(SIGN_MISMATCH_MARK, 1)[1] == req.string_to_sign
    assert_request_id(raw["RequestId"])


def _rpc_string_to_sign(signed_params: dict, method: str) -> str:
    """The string tea-openapi's Utils.get_rpcsignature signs (same formula, signing.md section 1)."""
    canon = "&".join(
        f'{quote(k, safe="~")}={quote(signed_params[k], safe="~")}'
        for k in sorted(signed_params) if signed_params[k] is not None
    )
    return f'{method}&%2F&{quote_plus(canon, safe="~")}'


@pytest.mark.parametrize("sdk_name", ["v3", "tea-v2"])
def test_wrong_secret_tea(acsemu, sdk_name, monkeypatch):
    from alibabacloud_tea_openapi.utils import Utils

    seen: list[str] = []
    original = Utils.get_rpcsignature

    def capture(signed_params, method, secret):
        seen.append(_rpc_string_to_sign(signed_params, method))
        return original(signed_params, method, secret)

    monkeypatch.setattr(Utils, "get_rpcsignature", staticmethod(capture))
    sdk = make_sdk(acsemu, sdk_name, secret="wrong-" + acsemu.access_key_secret)
    err = sdk.error(lambda: sdk.create_role(unique("ct-sig"), description=TRICKY_DESCRIPTION))
    assert_error(err, "SignatureDoesNotMatch", 400)
    assert SIGN_MISMATCH_MARK in err.server_message, err.server_message
    if sdk_name == "tea-v2":
        assert len(seen) == 1
        assert err.server_message.split(SIGN_MISMATCH_MARK, 1)[1] == seen[0]


@ALL_SDKS
def test_unknown_access_key(acsemu, sdk_name):
    sdk = make_sdk(acsemu, sdk_name, ak=UNKNOWN_AK, secret="whatever-secret")
    assert_error(sdk.error(lambda: sdk.get_role(unique("ct-ak"))), "InvalidAccessKeyId.NotFound", 404)


@ALL_SDKS
def test_reused_nonce(acsemu, sdk_name, monkeypatch):
    sdk = make_sdk(acsemu, sdk_name)
    sdk.patch_nonce(monkeypatch, uuid.uuid4().hex)
    first = sdk.list_roles(max_items=1)
    assert_request_id(first["RequestId"])
    assert_error(sdk.error(lambda: sdk.list_roles(max_items=1)), "SignatureNonceUsed", 400)


@ALL_SDKS
def test_stale_timestamp(acsemu, sdk_name, monkeypatch):
    sdk = make_sdk(acsemu, sdk_name)
    sdk.patch_timestamp(monkeypatch, utc_iso(time.time() - 20 * 60))
    assert_error(sdk.error(lambda: sdk.list_roles(max_items=1)), "InvalidTimeStamp.Expired", 400)


def test_fresh_timestamp_within_skew_accepted(acsemu, monkeypatch):
    """5 minutes behind is inside the 15-minute window (errors.md)."""
    sdk = make_sdk(acsemu, "v1")
    sdk.patch_timestamp(monkeypatch, utc_iso(time.time() - 5 * 60))
    assert_request_id(sdk.list_roles(max_items=1)["RequestId"])


# ---- routing and encoding ------------------------------------------------------------------------


def test_unknown_action_v1(acsemu):
    client = acsemu.v1_client()
    req = acsemu.v1_request("NoSuchAction", {"RoleName": "x"})
    assert_error(v1_error(lambda: client.do_action_with_exception(req)), "InvalidAction.NotFound", 404)


@pytest.mark.parametrize("sdk_name", ["v3", "tea-v2"])
def test_unknown_action_tea(acsemu, sdk_name):
    from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params

    client = make_sdk(acsemu, sdk_name).client
    params = Params(action="NoSuchAction", version=RAM_VERSION, protocol="HTTPS", pathname="/",
                    method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    err = tea_error(lambda: client.call_api(params, OpenApiRequest(query={}), tea_runtime()))
    assert_error(err, "InvalidAction.NotFound", 404)


def test_v1_post_with_form_body(acsemu):
    """POST with parameters in a form body (signed with the query; signing.md section 1)."""
    client = acsemu.v1_client()
    name = unique("ct-form")
    req = acsemu.v1_request("CreateRole", method="POST", body_params={
        "RoleName": name,
        "AssumeRolePolicyDocument": ECS_TRUST_POLICY,
        "Description": TRICKY_DESCRIPTION,
    })
    role = json.loads(client.do_action_with_exception(req))["Role"]
    assert_role(role, acsemu, name, description=TRICKY_DESCRIPTION)
    got = V1Sdk(acsemu).get_role(name)["Role"]
    assert got["RoleId"] == role["RoleId"]
    assert got["Description"] == TRICKY_DESCRIPTION


def _xml_call(acsemu: AcsemuServer, action: str, params: dict, fmt: str = "XML") -> ET.Element:
    client = acsemu.v1_client()
    req = acsemu.v1_request(action, params)
    req.set_accept_format(fmt)
    body = client.do_action(req)  # the older call: keeps Format=XML, returns the raw body
    assert body.startswith(b"<?xml"), body[:200]
    return ET.fromstring(body)


@pytest.mark.parametrize("fmt", ["XML", "xml"])  # Format is case-insensitive (signing.md)
def test_xml_format_get_role(acsemu, fmt):
    name = unique("ct-xml")
    role = V1Sdk(acsemu).create_role(name)["Role"]
    root = _xml_call(acsemu, "GetRole", {"RoleName": name}, fmt)
    assert root.tag == "GetRoleResponse"
    assert_request_id(root.findtext("RequestId"))
    x = root.find("Role")
    assert x is not None, ET.tostring(root)
    assert x.findtext("RoleId") == role["RoleId"]
    assert x.findtext("RoleName") == name
    assert x.findtext("Arn") == f"acs:ram::{acsemu.account_id}:role/{name}"
    assert x.findtext("CreateDate") == role["CreateDate"]
    assert x.findtext("MaxSessionDuration") == "3600"
    assert json.loads(x.findtext("AssumeRolePolicyDocument")) == json.loads(ECS_TRUST_POLICY)


def test_xml_format_list_nesting(acsemu):
    """`Roles: {Role: [...]}` is `<Roles><Role>..</Role><Role>..</Role></Roles>` (errors.md)."""
    prefix = unique("ct-xmll")
    sdk = V1Sdk(acsemu)
    for i in range(2):
        sdk.create_role(f"{prefix}-{i}")
    root = _xml_call(acsemu, "ListRoles", {"MaxItems": "1000"})
    assert root.tag == "ListRolesResponse"
    assert_request_id(root.findtext("RequestId"))
    assert root.findtext("IsTruncated") == "false"
    roles = root.findall("./Roles/Role")
    names = [r.findtext("RoleName") for r in roles]
    assert {f"{prefix}-0", f"{prefix}-1"} <= set(names), names


# ---- persistence ---------------------------------------------------------------------------------


def test_state_survives_restart(acsemu):
    v1 = V1Sdk(acsemu)
    kept, gone = unique("ct-keep"), unique("ct-gone")
    role = v1.create_role(kept, description="kept across a restart", max_session_duration=7200)["Role"]
    v1.create_role(gone)
    v1.delete_role(gone)
    account = acsemu.account_id

    old_endpoint = acsemu.endpoint
    endpoint = acsemu.restart()
    assert endpoint == acsemu.endpoint
    assert endpoint.startswith("http://127.0.0.1:"), (old_endpoint, endpoint)
    assert acsemu.account_id == account

    for name in ("v1", "v3"):
        sdk = make_sdk(acsemu, name)
        got = sdk.get_role(kept)["Role"]
        assert got["RoleId"] == role["RoleId"]
        assert got["CreateDate"] == role["CreateDate"]
        assert got["MaxSessionDuration"] == 7200
        assert got["Description"] == "kept across a restart"
        assert_error(sdk.error(lambda: sdk.get_role(gone)), "EntityNotExist.Role", 404)
    v1 = V1Sdk(acsemu)
    v1.delete_role(kept)


def test_reset_clears_roles(fresh_acsemu):
    sdk = V1Sdk(fresh_acsemu)
    name = unique("ct-reset")
    sdk.create_role(name)
    fresh_acsemu.reset()
    # the root key still signs after a reset; the role is gone
    assert_error(sdk.error(lambda: sdk.get_role(name)), "EntityNotExist.Role", 404)
    assert name not in {r["RoleName"] for r in sdk.list_roles()["Roles"]["Role"]}
