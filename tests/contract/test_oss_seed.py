"""Issue 7 (OSS): seed 003 step 4 with the official oss2 2.19.1 against a real `acsemu serve`.

  step 4: oss2.StsAuth(AccessKeyId, AccessKeySecret, SecurityToken) with the credentials of a role
          that has only the seed's custom policy (oss:Get*, oss:List*), oss2.Bucket(auth,
          endpoint, bucket), `for b in islice(oss2.ObjectIterator(bucket), 10): print(b.key)`.
          The credentials come from the instance metadata service (the seed's way: an ECS
          instance with the role) and from STS AssumeRole by a RAM user.
The bucket is filled beforehand by the root key through oss2.Auth. With the same credentials a
PutObject is refused with oss2.exceptions.AccessDenied; full-access credentials put, get (with a
range), copy and delete; a wrong secret is SignatureDoesNotMatch; an expired token is refused once
the virtual clock passes its hour.

oss2 with an IP endpoint uses path style (`/<bucket>/<key>`, `/` in a key as `%2F`); with a domain
endpoint it uses virtual-host style, exercised here through oss2's `proxies` (the request reaches
acsemu in absolute form with `Host: <bucket>.oss-cn-hangzhou.aliyuncs.com`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from itertools import islice
from typing import Optional

import oss2
import pytest

from acsemu_harness import (
    SEED_OSS_POLICY,
    SEED_TRUST_POLICY,
    AcsemuServer,
    Rpc,
    account_trust_policy,
    advance_clock,
    make_user,
    unique_name,
)

# Seed 003 step 1, verbatim.
ECS_VERSION = "2014-05-26"
KEYS = [f"file-{i:02d}.txt" for i in range(15)] + ["ramroletest.txt", "test.shh", "dir/nested key.txt"]


def bucket_name() -> str:
    return unique_name("ramroletest").lower()


def root_bucket(server: AcsemuServer, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(server.access_key_id, server.access_key_secret), server.endpoint, name)


def filled_bucket(server: AcsemuServer) -> tuple[str, oss2.Bucket]:
    """A bucket created and filled by the root key through oss2.Auth."""
    name = bucket_name()
    b = root_bucket(server, name)
    b.create_bucket()
    for k in KEYS:
        b.put_object(k, f"content of {k}".encode())
    return name, b


def ecs_call(server: AcsemuServer, action: str, **params) -> dict:
    req = server.v1_request(action, {k: str(v) for k, v in params.items()}, version=ECS_VERSION)
    return json.loads(server.v1_client().do_action_with_exception(req))


def metadata_credentials(server: AcsemuServer, instance_id: str, role: str) -> dict:
    req = urllib.request.Request(
        f"{server.endpoint}/latest/meta-data/ram/security-credentials/{role}",
        headers={"X-Acsemu-Instance-Id": instance_id},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def seed_role(admin: Rpc, trust: str, policy_document: str = SEED_OSS_POLICY) -> str:
    """Seed 003 step 1: the role, the custom policy, the attachment."""
    role = unique_name("EcsRamRoleTest")
    admin.ram("CreateRole", RoleName=role, AssumeRolePolicyDocument=trust)
    policy = unique_name("EcsRamRolePolicyTest")
    admin.ram("CreatePolicy", PolicyName=policy, PolicyDocument=policy_document)
    admin.ram("AttachPolicyToRole", PolicyType="Custom", PolicyName=policy, RoleName=role)
    return role


def credentials_from_metadata(server: AcsemuServer) -> dict:
    """Steps 1-3 the seed's way: an ECS role, an instance with it, the metadata read."""
    admin = Rpc(server, "v1")
    role = seed_role(admin, SEED_TRUST_POLICY)
    instance = ecs_call(server, "CreateInstance", RegionId="cn-hangzhou",
                        ImageId="centos_7_03_64_40G_alibase_20170503.vhd",
                        InstanceType="ecs.g6.large", VSwitchId="vsw-bp1s5fnvk4gn2tws03624",
                        RamRoleName=role)["InstanceId"]
    ecs_call(server, "StartInstance", InstanceId=instance)
    doc = metadata_credentials(server, instance, role)
    assert doc["Code"] == "Success"
    return doc


def credentials_from_assume_role(server: AcsemuServer, policy_document: str = SEED_OSS_POLICY) -> dict:
    """The same role trusted by the account, assumed by a RAM user through STS."""
    admin = Rpc(server, "v1")
    role = seed_role(admin, account_trust_policy(server.account_id), policy_document)
    _, ak, secret = make_user(admin, "oss-app", system=("AliyunSTSAssumeRoleAccess",))
    user = admin.with_identity(ak, secret)
    creds = user.sts("AssumeRole", RoleArn=f"acs:ram::{server.account_id}:role/{role}",
                     RoleSessionName="oss-seed")["Credentials"]
    return creds


SOURCES = {"metadata": credentials_from_metadata, "assume_role": credentials_from_assume_role}


def sts_bucket(server: AcsemuServer, creds: dict, name: str, endpoint: Optional[str] = None) -> oss2.Bucket:
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    return oss2.Bucket(auth, endpoint or server.endpoint, name)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_seed_step4_read_only_role_lists_ten_keys(acsemu: AcsemuServer, source: str, capsys) -> None:
    name, root = filled_bucket(acsemu)
    creds = SOURCES[source](acsemu)
    assert creds["AccessKeyId"].startswith("STS.")

    # Step 4, as the seed writes it.
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"])
    bucket = oss2.Bucket(auth, acsemu.endpoint, name)
    for b in islice(oss2.ObjectIterator(bucket), 10):
        print(b.key)
    printed = capsys.readouterr().out.split("\n")[:-1]
    assert printed == sorted(KEYS)[:10]

    # The whole listing pages through (oss2 follows NextMarker), and the role reads objects.
    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=4)] == sorted(KEYS)
    assert bucket.get_object("ramroletest.txt").read() == b"content of ramroletest.txt"
    assert bucket.get_object("dir/nested key.txt", byte_range=(0, 6)).read() == b"content"
    assert bucket.object_exists("test.shh") and not bucket.object_exists("missing")
    assert bucket.get_bucket_info().name == name

    # oss:Get*/oss:List* only: writes are refused with AccessDenied and change nothing.
    with pytest.raises(oss2.exceptions.AccessDenied) as e:
        bucket.put_object("new.txt", b"nope")
    assert e.value.status == 403 and e.value.code == "AccessDenied"
    assert len(e.value.request_id) == 24
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.delete_object("ramroletest.txt")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.batch_delete_objects(["file-00.txt"])
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.copy_object(name, "test.shh", "copy.shh")
    with pytest.raises(oss2.exceptions.AccessDenied):
        sts_bucket(acsemu, creds, bucket_name()).create_bucket()
    assert [o.key for o in oss2.ObjectIterator(root)] == sorted(KEYS)


def test_full_access_put_get_range_copy_delete(acsemu: AcsemuServer) -> None:
    full = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:*","Resource":"*"}]}'
    creds = credentials_from_assume_role(acsemu, full)
    name = bucket_name()
    bucket = sts_bucket(acsemu, creds, name)
    bucket.create_bucket()
    assert name in [b.name for b in oss2.Service(bucket.auth, acsemu.endpoint).list_buckets().buckets]

    data = b"0123456789" * 1000
    put = bucket.put_object("a/b c.bin", data, headers={"Content-Type": "application/x-test"})
    assert put.status == 200 and put.etag and put.crc is not None  # oss2 checked the CRC-64
    got = bucket.get_object("a/b c.bin")
    assert got.read() == data and got.content_type == "application/x-test"
    assert got.server_crc == put.crc
    part = bucket.get_object("a/b c.bin", byte_range=(10, 19))
    assert part.status == 206 and part.read() == b"0123456789"
    assert part.content_range == "bytes 10-19/10000"
    head = bucket.head_object("a/b c.bin")
    assert head.content_length == 10000 and head.etag == put.etag

    bucket.copy_object(name, "a/b c.bin", "copy/b.bin")
    assert bucket.get_object("copy/b.bin").read() == data
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        bucket.delete_bucket()
    assert bucket.delete_object("copy/b.bin").status == 204
    deleted = bucket.batch_delete_objects(["a/b c.bin", "never"]).deleted_keys
    assert sorted(deleted) == ["a/b c.bin", "never"]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("a/b c.bin")
    with pytest.raises(oss2.exceptions.NotFound):
        bucket.head_object("a/b c.bin")
    bucket.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket.get_bucket_info()


def test_root_listing_v2_and_presigned_url(acsemu: AcsemuServer) -> None:
    name, root = filled_bucket(acsemu)
    v2 = [o.key for o in oss2.ObjectIteratorV2(root, max_keys=5)]
    assert v2 == sorted(KEYS)
    prefixes = [o.key for o in oss2.ObjectIterator(root, delimiter="/") if o.is_prefix()]
    assert prefixes == ["dir/"]
    url = root.sign_url("GET", "test.shh", 60)
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"content of test.shh"
    with pytest.raises(oss2.exceptions.ServerError) as e:
        root_bucket(acsemu, name).create_bucket()
    assert (e.value.status, e.value.code) == (409, "BucketAlreadyExists")


def test_virtual_host_style_through_a_proxy(acsemu: AcsemuServer) -> None:
    """A domain endpoint: oss2 puts the bucket in the Host; acsemu serves it the same."""
    name, _ = filled_bucket(acsemu)
    auth = oss2.Auth(acsemu.access_key_id, acsemu.access_key_secret)
    proxies = {"http": acsemu.endpoint}
    vhost = oss2.Bucket(auth, "http://oss-cn-hangzhou.aliyuncs.com", name, proxies=proxies)
    assert [o.key for o in islice(oss2.ObjectIterator(vhost), 3)] == sorted(KEYS)[:3]
    vhost.put_object("via/vhost.txt", b"vhost")
    assert root_bucket(acsemu, name).get_object("via/vhost.txt").read() == b"vhost"


def test_wrong_secret_is_signature_does_not_match(acsemu: AcsemuServer) -> None:
    name, _ = filled_bucket(acsemu)
    wrong = oss2.Bucket(oss2.Auth(acsemu.access_key_id, "not-the-secret"), acsemu.endpoint, name)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as e:
        list(islice(oss2.ObjectIterator(wrong), 10))
    assert e.value.status == 403
    assert e.value.details["OSSAccessKeyId"] == acsemu.access_key_id
    assert e.value.details["StringToSign"].endswith(f"/{name}/")
    with pytest.raises(oss2.exceptions.ServerError) as e:
        oss2.Bucket(oss2.Auth("LTAI5tNoSuchKey000000001", "x"), acsemu.endpoint, name).get_object("test.shh")
    assert (e.value.status, e.value.code) == (403, "InvalidAccessKeyId")
    with pytest.raises(oss2.exceptions.AccessDenied):
        oss2.Bucket(oss2.AnonymousAuth(), acsemu.endpoint, name).get_object("test.shh")


def test_expired_token_refused(fresh_acsemu: AcsemuServer) -> None:
    name, _ = filled_bucket(fresh_acsemu)
    creds = credentials_from_assume_role(fresh_acsemu)
    bucket = sts_bucket(fresh_acsemu, creds, name)
    assert len(list(islice(oss2.ObjectIterator(bucket), 10))) == 10
    advance_clock(fresh_acsemu, 3601)
    with pytest.raises(oss2.exceptions.ServerError) as e:
        list(islice(oss2.ObjectIterator(bucket), 10))
    assert (e.value.status, e.value.code) == (403, "SecurityTokenExpired")
    # The root key is not affected by the clock.
    assert len(list(islice(oss2.ObjectIterator(root_bucket(fresh_acsemu, name)), 10))) == 10
