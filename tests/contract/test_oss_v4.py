"""OSS signature V4 with the official oss2 2.19.1 against a real `acsemu serve`.

oss2 signs with V1 by default; `oss2.AuthV4`, `oss2.StsAuth(..., auth_version="v4")` and a
`region` on the Bucket switch it to `OSS4-HMAC-SHA256` (x-oss-date, x-oss-content-sha256:
UNSIGNED-PAYLOAD, scope `<date>/cn-hangzhou/oss/aliyun_v4_request`). The same checks as the V1
seed test: put/get/list, a wrong secret, the read-only role's STS credentials, presigned URLs, in
path style (IP endpoint) and virtual-host style (domain endpoint through a proxy).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from itertools import islice

import oss2
import pytest

from acsemu_harness import AcsemuServer
from test_oss_seed import KEYS, bucket_name, credentials_from_assume_role, filled_bucket

REGION = "cn-hangzhou"


def v4_bucket(server: AcsemuServer, name: str, **kwargs) -> oss2.Bucket:
    auth = oss2.AuthV4(server.access_key_id, server.access_key_secret)
    return oss2.Bucket(auth, server.endpoint, name, region=REGION, **kwargs)


def sts_v4_bucket(server: AcsemuServer, creds: dict, name: str) -> oss2.Bucket:
    auth = oss2.StsAuth(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"], auth_version="v4")
    return oss2.Bucket(auth, server.endpoint, name, region=REGION)


def test_v4_put_get_list_presign(acsemu: AcsemuServer) -> None:
    name = bucket_name()
    bucket = v4_bucket(acsemu, name)
    assert bucket.auth.auth_version() == "v4"
    bucket.create_bucket()
    service = oss2.Service(bucket.auth, acsemu.endpoint, region=REGION)
    assert name in [b.name for b in service.list_buckets().buckets]

    data = b"0123456789" * 100
    put = bucket.put_object("a/b c.bin", data, headers={"Content-Type": "application/x-test", "x-oss-meta-k": "v"})
    assert put.status == 200 and put.crc is not None
    got = bucket.get_object("a/b c.bin")
    assert got.read() == data and got.content_type == "application/x-test"
    assert bucket.get_object("a/b c.bin", byte_range=(10, 19)).read() == b"0123456789"
    assert bucket.head_object("a/b c.bin").content_length == 1000
    for k in KEYS:
        bucket.put_object(k, f"content of {k}".encode())
    assert [o.key for o in oss2.ObjectIterator(bucket, max_keys=4)] == sorted(KEYS + ["a/b c.bin"])
    assert [o.key for o in oss2.ObjectIteratorV2(bucket, prefix="dir/")] == ["dir/nested key.txt"]
    assert bucket.get_bucket_info().name == name
    bucket.copy_object(name, "a/b c.bin", "copy.bin")
    assert sorted(bucket.batch_delete_objects(["copy.bin", "never"]).deleted_keys) == ["copy.bin", "never"]

    # Presigned URL V4 (x-oss-signature-version=OSS4-HMAC-SHA256 in the query).
    url = bucket.sign_url("GET", "dir/nested key.txt", 60)
    assert "x-oss-signature-version=OSS4-HMAC-SHA256" in url and "x-oss-signature=" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"content of dir/nested key.txt"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url.replace("nested%20key", "nested%20kez"), timeout=10)
    assert e.value.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in e.value.read()


def test_v4_virtual_host_style_through_a_proxy(acsemu: AcsemuServer) -> None:
    name, _ = filled_bucket(acsemu)
    auth = oss2.AuthV4(acsemu.access_key_id, acsemu.access_key_secret)
    vhost = oss2.Bucket(auth, "http://oss-cn-hangzhou.aliyuncs.com", name, region=REGION,
                        proxies={"http": acsemu.endpoint})
    assert [o.key for o in islice(oss2.ObjectIterator(vhost), 3)] == sorted(KEYS)[:3]
    vhost.put_object("via/vhost.txt", b"vhost v4")
    assert v4_bucket(acsemu, name).get_object("via/vhost.txt").read() == b"vhost v4"


def test_v4_wrong_secret_is_signature_does_not_match(acsemu: AcsemuServer) -> None:
    name, _ = filled_bucket(acsemu)
    wrong = oss2.Bucket(oss2.AuthV4(acsemu.access_key_id, "not-the-secret"), acsemu.endpoint, name, region=REGION)
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as e:
        list(islice(oss2.ObjectIterator(wrong), 10))
    assert e.value.status == 403
    details = e.value.details
    assert details["OSSAccessKeyId"] == acsemu.access_key_id
    assert details["StringToSign"].startswith("OSS4-HMAC-SHA256\n")
    assert f"/{REGION}/oss/aliyun_v4_request\n" in details["StringToSign"]
    assert details["CanonicalRequest"].startswith(f"GET\n/{name}/\n")
    with pytest.raises(oss2.exceptions.ServerError) as e:
        oss2.Bucket(oss2.AuthV4("LTAI5tNoSuchKey000000001", "x"), acsemu.endpoint, name,
                    region=REGION).get_object("test.shh")
    assert (e.value.status, e.value.code) == (403, "InvalidAccessKeyId")


def test_v4_read_only_role_sts_lists_but_cannot_put(acsemu: AcsemuServer) -> None:
    name, root = filled_bucket(acsemu)
    creds = credentials_from_assume_role(acsemu)
    bucket = sts_v4_bucket(acsemu, creds, name)
    assert bucket.auth.auth_version() == "v4"
    assert [o.key for o in islice(oss2.ObjectIterator(bucket), 10)] == sorted(KEYS)[:10]
    assert bucket.get_object("ramroletest.txt").read() == b"content of ramroletest.txt"
    with pytest.raises(oss2.exceptions.AccessDenied) as e:
        bucket.put_object("new.txt", b"nope")
    assert e.value.status == 403 and e.value.code == "AccessDenied"
    assert [o.key for o in oss2.ObjectIterator(root)] == sorted(KEYS)
    # The token travels as x-oss-security-token in a presigned URL's query.
    url = bucket.sign_url("GET", "test.shh", 60)
    assert "x-oss-security-token=" in url
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.read() == b"content of test.shh"
