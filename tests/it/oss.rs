//! OSS (issue 7): every action and error through real HTTP, signed with OSS signature V1, in path
//! style (`/<bucket>/<key>`, as oss2 with an IP endpoint) and virtual-host style (bucket in Host).

use std::collections::HashMap;
use std::time::Duration;

use acsemu::config::Config;
use acsemu::products::oss::{crc64, sign};
use acsemu::testing::TestServer;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::support::{account_trust, advance_clock, server, server_with, user_with, Client};

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn q(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Path,
    /// The bucket in `Host: <bucket>.<region host>`.
    VHost(&'static str),
}

#[derive(Debug, Clone)]
struct Oss {
    endpoint: String,
    ak: String,
    sk: String,
    token: Option<String>,
    style: Style,
    http: reqwest::blocking::Client,
}

#[derive(Debug, Default, Clone)]
struct Req<'a> {
    query: Vec<(&'a str, &'a str)>,
    headers: Vec<(&'a str, String)>,
    body: Vec<u8>,
    /// Sign with this secret instead.
    secret: Option<String>,
    /// Sign and send this Date instead of now.
    date: Option<String>,
    anonymous: bool,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn h(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The text of the first `<name>` element.
    fn tag(&self, name: &str) -> Option<String> {
        tag_in(&self.text(), name)
    }

    fn tags(&self, name: &str) -> Vec<String> {
        let text = self.text();
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(&open) {
            let after = &rest[i + open.len()..];
            let Some(j) = after.find(&close) else { break };
            out.push(unescape(&after[..j]));
            rest = &after[j + close.len()..];
        }
        out
    }

    #[track_caller]
    fn ok(&self) -> &Self {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {} {}",
            self.status,
            self.text()
        );
        self.common();
        self
    }

    /// An OSS error: status, code, the envelope, application/xml.
    #[track_caller]
    fn err(&self, status: u16, code: &str) -> &Self {
        let text = if self.body.is_empty() && !self.h("x-oss-err").is_empty() {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(self.h("x-oss-err"))
                    .unwrap(),
            )
            .unwrap()
        } else {
            self.text()
        };
        assert_eq!(
            (
                self.status,
                tag_in(&text, "Code").unwrap_or_default().as_str()
            ),
            (status, code),
            "unexpected answer: {text}"
        );
        assert!(text.starts_with("<?xml"), "{text}");
        for t in ["Code", "Message", "RequestId", "HostId"] {
            assert!(tag_in(&text, t).is_some(), "error lacks {t}: {text}");
        }
        assert_eq!(
            tag_in(&text, "RequestId").unwrap(),
            self.h("x-oss-request-id")
        );
        assert!(self.h("content-type").starts_with("application/xml"));
        self.common();
        self
    }

    fn common(&self) {
        let id = self.h("x-oss-request-id");
        assert_eq!(id.len(), 24, "x-oss-request-id {id:?}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn tag_in(text: &str, name: &str) -> Option<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let i = text.find(&open)? + open.len();
    let j = text[i..].find(&close)? + i;
    Some(unescape(&text[i..j]))
}

fn http_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn md5_b64(data: &[u8]) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(data))
}

impl Oss {
    fn new(endpoint: &str, ak: &str, sk: &str, token: Option<&str>) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            ak: ak.to_string(),
            sk: sk.to_string(),
            token: token.map(str::to_string),
            style: Style::Path,
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(20))
                .no_proxy()
                .build()
                .unwrap(),
        }
    }

    fn root(s: &TestServer) -> Self {
        Self::new(&s.endpoint, &s.access_key_id, &s.access_key_secret, None)
    }

    fn vhost(mut self, region_host: &'static str) -> Self {
        self.style = Style::VHost(region_host);
        self
    }

    fn send(&self, method: &str, bucket: Option<&str>, key: Option<&str>, r: &Req<'_>) -> Resp {
        let (url_path, host) = match (self.style, bucket) {
            (Style::VHost(region), Some(b)) => (
                format!(
                    "/{}",
                    key.map(|k| q(k).replace("%2F", "/")).unwrap_or_default()
                ),
                Some(format!("{b}.{region}")),
            ),
            (_, Some(b)) => (format!("/{b}/{}", key.map(q).unwrap_or_default()), None),
            (_, None) => ("/".to_string(), None),
        };
        let date = r
            .date
            .clone()
            .unwrap_or_else(|| http_date(chrono::Utc::now()));
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        headers.push(("date".into(), date.clone()));
        if let Some(t) = &self.token {
            headers.push(("x-oss-security-token".into(), t.clone()));
        }
        if !r.anonymous {
            let query: Vec<(String, String)> = r
                .query
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect();
            let get = |n: &str| {
                headers
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let sts = sign::string_to_sign(
                method,
                &get("content-md5"),
                &get("content-type"),
                &date,
                &sign::canonicalized_headers(&headers),
                &sign::canonicalized_resource(bucket, Some(key.unwrap_or_default()), &query),
            );
            let secret = r.secret.clone().unwrap_or_else(|| self.sk.clone());
            headers.push((
                "authorization".into(),
                format!("OSS {}:{}", self.ak, sign::sign(&secret, &sts)),
            ));
        }
        let qs: Vec<String> = r
            .query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    q(k)
                } else {
                    format!("{}={}", q(k), q(v))
                }
            })
            .collect();
        let url = if qs.is_empty() {
            format!("{}{url_path}", self.endpoint)
        } else {
            format!("{}{url_path}?{}", self.endpoint, qs.join("&"))
        };
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(h) = host {
            req = req.header("host", h);
        }
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.body(r.body.clone()).send().unwrap();
        into_resp(resp)
    }

    fn put_bucket(&self, b: &str) -> Resp {
        self.send("PUT", Some(b), None, &Req::default())
    }

    fn put(&self, b: &str, k: &str, data: &[u8]) -> Resp {
        self.send(
            "PUT",
            Some(b),
            Some(k),
            &Req {
                body: data.to_vec(),
                ..Req::default()
            },
        )
    }

    fn get(&self, b: &str, k: &str) -> Resp {
        self.send("GET", Some(b), Some(k), &Req::default())
    }

    fn list(&self, b: &str, query: &[(&str, &str)]) -> Resp {
        self.send(
            "GET",
            Some(b),
            None,
            &Req {
                query: query.to_vec(),
                ..Req::default()
            },
        )
    }
}

fn into_resp(r: reqwest::blocking::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    Resp {
        status,
        headers,
        body: r.bytes().unwrap().to_vec(),
    }
}

fn raw(method: &str, url: &str, headers: &[(&str, &str)]) -> Resp {
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let mut req = http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    into_resp(req.send().unwrap())
}

// ---- buckets -----------------------------------------------------------------------------

#[test]
fn bucket_lifecycle() {
    let s = server();
    let oss = Oss::root(&s);
    oss.put_bucket("life-bucket").ok();
    assert_eq!(oss.put_bucket("life-bucket").status, 409);
    oss.put_bucket("life-bucket")
        .err(409, "BucketAlreadyExists");
    oss.put_bucket("Bad_Name").err(400, "InvalidBucketName");
    oss.put_bucket("ab").err(400, "InvalidBucketName");

    let all = oss.send("GET", None, None, &Req::default());
    all.ok();
    assert_eq!(all.tags("Name"), vec!["life-bucket"]);
    assert_eq!(all.tag("Location").unwrap(), "oss-cn-hangzhou");
    assert!(all.text().contains("<ListAllMyBucketsResult>"));
    assert_eq!(all.tag("ID").unwrap(), s.account_id);

    let info = oss.list("life-bucket", &[("bucketInfo", "")]);
    info.ok();
    assert_eq!(info.tag("Name").unwrap(), "life-bucket");
    assert_eq!(info.tag("Grant").unwrap(), "private");
    assert!(info.tag("CreationDate").unwrap().ends_with(".000Z"));

    oss.put("life-bucket", "x", b"1").ok();
    oss.send("DELETE", Some("life-bucket"), None, &Req::default())
        .err(409, "BucketNotEmpty");
    let d = oss.send("DELETE", Some("life-bucket"), Some("x"), &Req::default());
    assert_eq!(d.ok().status, 204);
    let d = oss.send("DELETE", Some("life-bucket"), None, &Req::default());
    assert_eq!(d.ok().status, 204);
    let gone = oss.list("life-bucket", &[("bucketInfo", "")]);
    gone.err(404, "NoSuchBucket");
    assert_eq!(gone.tag("BucketName").unwrap(), "life-bucket");
    oss.get("life-bucket", "x").err(404, "NoSuchBucket");
    oss.send("DELETE", Some("life-bucket"), None, &Req::default())
        .err(404, "NoSuchBucket");
}

#[test]
fn list_buckets_pages() {
    let s = server();
    let oss = Oss::root(&s);
    for b in ["pa-1", "pa-2", "pa-3", "pb-1"] {
        oss.put_bucket(b).ok();
    }
    let page = oss.send(
        "GET",
        None,
        None,
        &Req {
            query: vec![("prefix", "pa-"), ("max-keys", "2")],
            ..Req::default()
        },
    );
    page.ok();
    assert_eq!(page.tags("Name"), vec!["pa-1", "pa-2"]);
    assert_eq!(page.tag("IsTruncated").unwrap(), "true");
    assert_eq!(page.tag("NextMarker").unwrap(), "pa-2");
    let next = oss.send(
        "GET",
        None,
        None,
        &Req {
            query: vec![("prefix", "pa-"), ("marker", "pa-2"), ("max-keys", "2")],
            ..Req::default()
        },
    );
    assert_eq!(next.tags("Name"), vec!["pa-3"]);
    assert_eq!(next.tag("IsTruncated").unwrap(), "false");
}

// ---- objects -----------------------------------------------------------------------------

fn check_objects(oss: &Oss, bucket: &str) {
    oss.put_bucket(bucket).ok();
    let key = "dir/sub dir/héllo+world.txt";
    let data = b"hello world";
    let put = oss.send(
        "PUT",
        Some(bucket),
        Some(key),
        &Req {
            body: data.to_vec(),
            headers: vec![
                ("content-type", "text/plain".into()),
                ("content-md5", md5_b64(data)),
                ("x-oss-meta-color", "blue".into()),
            ],
            ..Req::default()
        },
    );
    put.ok();
    assert_eq!(put.h("etag"), "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
    assert_eq!(
        put.h("x-oss-hash-crc64ecma"),
        crc64::checksum(data).to_string()
    );

    let get = oss.get(bucket, key);
    get.ok();
    assert_eq!(get.status, 200);
    assert_eq!(get.body, data);
    assert_eq!(get.h("content-type"), "text/plain");
    assert_eq!(get.h("content-length"), "11");
    assert_eq!(get.h("etag"), "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");
    assert_eq!(get.h("x-oss-object-type"), "Normal");
    assert_eq!(get.h("x-oss-meta-color"), "blue");
    assert_eq!(
        get.h("x-oss-hash-crc64ecma"),
        crc64::checksum(data).to_string()
    );
    let lm = get.h("last-modified");
    assert!(chrono::DateTime::parse_from_rfc2822(lm).is_ok(), "{lm}");
    assert!(lm.ends_with(" GMT"));

    for (range, status, body, content_range) in [
        ("bytes=0-4", 206, &b"hello"[..], "bytes 0-4/11"),
        ("bytes=6-", 206, b"world", "bytes 6-10/11"),
        ("bytes=-3", 206, b"rld", "bytes 8-10/11"),
        ("bytes=3-100", 206, b"lo world", "bytes 3-10/11"),
        ("bytes=50-60", 200, data, ""),
        ("bytes=x-y", 200, data, ""),
    ] {
        let r = oss.send(
            "GET",
            Some(bucket),
            Some(key),
            &Req {
                headers: vec![("range", range.into())],
                ..Req::default()
            },
        );
        r.ok();
        assert_eq!(r.status, status, "{range}");
        assert_eq!(r.body, body, "{range}");
        assert_eq!(r.h("content-range"), content_range, "{range}");
    }
    oss.send(
        "GET",
        Some(bucket),
        Some(key),
        &Req {
            headers: vec![
                ("range", "bytes=50-60".into()),
                ("x-oss-range-behavior", "standard".into()),
            ],
            ..Req::default()
        },
    )
    .err(416, "InvalidRange");

    let head = oss.send("HEAD", Some(bucket), Some(key), &Req::default());
    head.ok();
    assert_eq!(head.h("content-length"), "11");
    assert!(head.body.is_empty());
    assert_eq!(head.h("etag"), "\"5EB63BBBE01EEED093CB22BB8F5ACDC3\"");

    let missing = oss.send("HEAD", Some(bucket), Some("nope"), &Req::default());
    missing.err(404, "NoSuchKey");
    assert!(missing.body.is_empty());
    let missing = oss.get(bucket, "nope");
    missing.err(404, "NoSuchKey");
    assert_eq!(missing.tag("Key").unwrap(), "nope");

    // Default content type; overwrite.
    oss.put(bucket, key, b"v2").ok();
    let get = oss.get(bucket, key);
    assert_eq!(get.body, b"v2");
    assert_eq!(get.h("content-type"), "application/octet-stream");
    assert_eq!(get.h("x-oss-meta-color"), "");

    // Content-MD5 mismatch is refused and writes nothing.
    oss.send(
        "PUT",
        Some(bucket),
        Some(key),
        &Req {
            body: b"v3".to_vec(),
            headers: vec![("content-md5", md5_b64(b"other"))],
            ..Req::default()
        },
    )
    .err(400, "InvalidDigest");
    assert_eq!(oss.get(bucket, key).body, b"v2");

    // An empty object.
    oss.put(bucket, "empty", b"").ok();
    let e = oss.get(bucket, "empty");
    e.ok();
    assert!(e.body.is_empty());
    assert_eq!(e.h("x-oss-hash-crc64ecma"), "0");

    let del = oss.send("DELETE", Some(bucket), Some(key), &Req::default());
    assert_eq!(del.ok().status, 204);
    oss.get(bucket, key).err(404, "NoSuchKey");
    // Deleting what is not there is still 204.
    assert_eq!(
        oss.send("DELETE", Some(bucket), Some(key), &Req::default())
            .status,
        204
    );
}

#[test]
fn objects_path_style() {
    let s = server();
    check_objects(&Oss::root(&s), "path-bucket");
}

/// Objects are not held to the 1 MiB RPC body limit; a range read of a large object returns
/// exactly the bytes asked for.
#[test]
fn large_object_round_trip() {
    let s = server();
    let oss = Oss::root(&s);
    oss.put_bucket("big-bucket").ok();
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let put = oss.put("big-bucket", "big.bin", &data);
    put.ok();
    assert_eq!(
        put.h("x-oss-hash-crc64ecma"),
        crc64::checksum(&data).to_string()
    );
    assert_eq!(oss.get("big-bucket", "big.bin").body, data);
    let r = oss.send(
        "GET",
        Some("big-bucket"),
        Some("big.bin"),
        &Req {
            headers: vec![("range", "bytes=2000000-2000009".into())],
            ..Req::default()
        },
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &data[2_000_000..2_000_010]);
    let head = oss.send("HEAD", Some("big-bucket"), Some("big.bin"), &Req::default());
    assert_eq!(head.h("content-length"), data.len().to_string());
}

#[test]
fn objects_virtual_host_style() {
    let s = server();
    let oss = Oss::root(&s).vhost("oss-cn-beijing.aliyuncs.com");
    check_objects(&oss, "vhost-bucket");
    let info = oss.list("vhost-bucket", &[("bucketInfo", "")]);
    assert_eq!(info.tag("Location").unwrap(), "oss-cn-beijing");
    // The same objects through path style.
    let path = Oss::root(&s);
    path.put("vhost-bucket", "a/b", b"x").ok();
    assert_eq!(oss.get("vhost-bucket", "a/b").body, b"x");
    let l = oss.list("vhost-bucket", &[]);
    assert_eq!(l.tags("Key"), vec!["a/b", "empty"]);
}

#[test]
fn unknown_keys_and_names_never_5xx() {
    let s = server();
    let oss = Oss::root(&s);
    oss.put_bucket("fuzz-bucket").ok();
    for path in [
        "/fuzz-bucket/%FF%FE",
        "/fuzz-bucket//leading",
        "/Fuzz/x",
        "/fuzz-bucket/x?acl",
        "/fuzz-bucket/?uploads",
        "/%00/",
        "/a/b/c/../../d",
        "/favicon.ico",
    ] {
        for method in ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"] {
            let r = raw(method, &format!("{}{path}", s.endpoint), &[]);
            assert!(r.status < 500, "{method} {path}: {}", r.status);
            assert_eq!(r.h("x-oss-request-id").len(), 24, "{method} {path}");
            let signed = oss.send(
                method,
                Some("fuzz-bucket"),
                Some(&path[1..]),
                &Req::default(),
            );
            assert!(
                signed.status < 500,
                "{method} signed {path}: {}",
                signed.status
            );
        }
    }
    // Invalid key shapes with a valid signature.
    let r = oss.send("PUT", Some("fuzz-bucket"), Some("/abs"), &Req::default());
    r.err(400, "InvalidObjectName");
    let long = "k".repeat(1024);
    oss.put("fuzz-bucket", &long, b"x")
        .err(400, "InvalidObjectName");
    oss.send(
        "GET",
        Some("fuzz-bucket"),
        Some("x"),
        &Req {
            query: vec![("x-oss-process", "image/resize")],
            ..Req::default()
        },
    )
    .err(400, "NotImplemented");
}

// ---- listing -----------------------------------------------------------------------------

fn fill(oss: &Oss, bucket: &str, keys: &[&str]) {
    oss.put_bucket(bucket).ok();
    for k in keys {
        oss.put(bucket, k, k.as_bytes()).ok();
    }
}

#[test]
fn list_objects_v1() {
    let s = server();
    let oss = Oss::root(&s);
    let keys = [
        "a.txt",
        "b.txt",
        "dir/1",
        "dir/2",
        "dir/sub/3",
        "other/x",
        "sp ace+é",
        "z",
    ];
    fill(&oss, "list-v1", &keys);

    // What oss2 sends.
    let all = oss.list(
        "list-v1",
        &[
            ("prefix", ""),
            ("delimiter", ""),
            ("marker", ""),
            ("max-keys", "100"),
            ("encoding-type", "url"),
        ],
    );
    all.ok();
    assert_eq!(all.tag("EncodingType").unwrap(), "url");
    assert_eq!(all.tag("IsTruncated").unwrap(), "false");
    let got: Vec<String> = all
        .tags("Key")
        .iter()
        .map(|k| {
            percent_encoding::percent_decode_str(k)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect();
    assert_eq!(got, keys);
    assert!(
        all.text().contains("<Key>sp%20ace%2B%C3%A9</Key>"),
        "{}",
        all.text()
    );
    let c = tag_in(&all.text(), "Contents").unwrap();
    assert!(c.starts_with("<Key>a.txt</Key><LastModified>"));
    assert!(tag_in(&c, "LastModified").unwrap().ends_with(".000Z"));
    assert_eq!(
        tag_in(&c, "ETag").unwrap(),
        format!("\"{}\"", {
            use md5::Digest;
            hex::encode_upper(md5::Md5::digest(b"a.txt"))
        })
    );
    assert_eq!(tag_in(&c, "Type").unwrap(), "Normal");
    assert_eq!(tag_in(&c, "Size").unwrap(), "5");
    assert_eq!(tag_in(&c, "StorageClass").unwrap(), "Standard");
    assert_eq!(tag_in(&c, "ID").unwrap(), s.account_id);

    // Raw keys without encoding-type.
    let plain = oss.list("list-v1", &[("prefix", "sp")]);
    assert_eq!(plain.tags("Key"), vec!["sp ace+é"]);
    assert!(plain.tag("EncodingType").is_none());

    // Delimiter: common prefixes count toward max-keys; paging with NextMarker.
    let d = oss.list("list-v1", &[("delimiter", "/"), ("max-keys", "3")]);
    assert_eq!(d.tags("Key"), vec!["a.txt", "b.txt"]);
    assert_eq!(d.tags("Prefix")[1..], ["dir/"]);
    assert_eq!(d.tag("IsTruncated").unwrap(), "true");
    assert_eq!(d.tag("NextMarker").unwrap(), "dir/");
    let d2 = oss.list(
        "list-v1",
        &[("delimiter", "/"), ("max-keys", "3"), ("marker", "dir/")],
    );
    assert_eq!(d2.tags("Key"), vec!["sp ace+é", "z"]);
    assert_eq!(d2.tags("Prefix")[1..], ["other/"]);
    assert_eq!(d2.tag("IsTruncated").unwrap(), "false");
    assert!(d2.tag("NextMarker").is_none());

    let sub = oss.list("list-v1", &[("prefix", "dir/"), ("delimiter", "/")]);
    assert_eq!(sub.tags("Key"), vec!["dir/1", "dir/2"]);
    assert_eq!(sub.tags("Prefix"), vec!["dir/", "dir/sub/"]);

    let page = oss.list("list-v1", &[("max-keys", "2"), ("marker", "b.txt")]);
    assert_eq!(page.tags("Key"), vec!["dir/1", "dir/2"]);
    assert_eq!(page.tag("NextMarker").unwrap(), "dir/2");

    oss.list("list-v1", &[("max-keys", "0")])
        .err(400, "InvalidArgument");
    oss.list("list-v1", &[("max-keys", "1001")])
        .err(400, "InvalidArgument");
    oss.list("list-v1", &[("max-keys", "x")])
        .err(400, "InvalidArgument");
    oss.list("list-v1", &[("encoding-type", "base64")])
        .err(400, "InvalidArgument");
    oss.list("no-such-list", &[]).err(404, "NoSuchBucket");
}

#[test]
fn list_objects_v2() {
    let s = server();
    let oss = Oss::root(&s).vhost("oss-cn-hangzhou.aliyuncs.com");
    fill(&oss, "list-v2", &["a", "b", "c/1", "c/2", "d"]);
    let p1 = oss.list("list-v2", &[("list-type", "2"), ("max-keys", "2")]);
    p1.ok();
    assert_eq!(p1.tags("Key"), vec!["a", "b"]);
    assert_eq!(p1.tag("KeyCount").unwrap(), "2");
    assert_eq!(p1.tag("IsTruncated").unwrap(), "true");
    assert!(p1.tag("Owner").is_none(), "no Owner without fetch-owner");
    let token = p1.tag("NextContinuationToken").unwrap();
    let p2 = oss.list(
        "list-v2",
        &[
            ("list-type", "2"),
            ("max-keys", "2"),
            ("delimiter", "/"),
            ("continuation-token", &token),
            ("fetch-owner", "true"),
            ("encoding-type", "url"),
        ],
    );
    p2.ok();
    assert_eq!(p2.tags("Key"), vec!["d"]);
    assert_eq!(p2.tags("Prefix")[1..], ["c/"]);
    assert_eq!(p2.tag("ContinuationToken").unwrap(), token);
    assert_eq!(p2.tag("KeyCount").unwrap(), "2");
    assert_eq!(p2.tag("IsTruncated").unwrap(), "false");
    assert!(p2.tag("Owner").is_some());
    let after = oss.list("list-v2", &[("list-type", "2"), ("start-after", "c/1")]);
    assert_eq!(after.tags("Key"), vec!["c/2", "d"]);
    assert_eq!(after.tag("StartAfter").unwrap(), "c/1");
    oss.list(
        "list-v2",
        &[("list-type", "2"), ("continuation-token", "!!!")],
    )
    .err(400, "InvalidArgument");
}

// ---- copy and batch delete ---------------------------------------------------------------

#[test]
fn copy_object_and_delete_multiple() {
    let s = server();
    let oss = Oss::root(&s);
    fill(&oss, "copy-src", &[]);
    fill(&oss, "copy-dst", &[]);
    oss.send(
        "PUT",
        Some("copy-src"),
        Some("in/a b.txt"),
        &Req {
            body: b"payload".to_vec(),
            headers: vec![
                ("content-type", "text/x-test".into()),
                ("x-oss-meta-k", "v".into()),
            ],
            ..Req::default()
        },
    )
    .ok();
    let copy = oss.send(
        "PUT",
        Some("copy-dst"),
        Some("out/c.txt"),
        &Req {
            headers: vec![(
                "x-oss-copy-source",
                format!("/copy-src/{}", q("in/a b.txt")),
            )],
            ..Req::default()
        },
    );
    copy.ok();
    assert!(copy.text().contains("<CopyObjectResult>"));
    let etag = copy.tag("ETag").unwrap();
    let got = oss.get("copy-dst", "out/c.txt");
    assert_eq!(got.body, b"payload");
    assert_eq!(got.h("etag"), etag);
    assert_eq!(got.h("content-type"), "text/x-test");
    assert_eq!(got.h("x-oss-meta-k"), "v");

    let replaced = oss.send(
        "PUT",
        Some("copy-dst"),
        Some("out/d.txt"),
        &Req {
            headers: vec![
                ("x-oss-copy-source", "/copy-src/in%2Fa%20b.txt".into()),
                ("x-oss-metadata-directive", "REPLACE".into()),
                ("content-type", "text/other".into()),
            ],
            ..Req::default()
        },
    );
    replaced.ok();
    let got = oss.get("copy-dst", "out/d.txt");
    assert_eq!(got.h("content-type"), "text/other");
    assert_eq!(got.h("x-oss-meta-k"), "");

    let copy_missing = |src: &str| {
        oss.send(
            "PUT",
            Some("copy-dst"),
            Some("x"),
            &Req {
                headers: vec![("x-oss-copy-source", src.to_string())],
                ..Req::default()
            },
        )
    };
    copy_missing("/copy-src/none").err(404, "NoSuchKey");
    copy_missing("/no-such-src/none").err(404, "NoSuchBucket");
    copy_missing("garbage").err(400, "InvalidArgument");

    // DeleteMultipleObjects, verbose then quiet.
    for k in ["m/1", "m/2", "m/3"] {
        oss.put("copy-dst", k, b"x").ok();
    }
    let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>false</Quiet><Object><Key>m/1</Key></Object><Object><Key>m/2</Key></Object><Object><Key>never</Key></Object></Delete>".to_vec();
    let del = oss.send(
        "POST",
        Some("copy-dst"),
        None,
        &Req {
            query: vec![("delete", ""), ("encoding-type", "url")],
            headers: vec![("content-md5", md5_b64(&body))],
            body,
            ..Req::default()
        },
    );
    del.ok();
    assert_eq!(del.tags("Key"), vec!["m%2F1", "m%2F2", "never"]);
    assert_eq!(del.tag("EncodingType").unwrap(), "url");
    let body = b"<Delete><Quiet>true</Quiet><Object><Key>m/3</Key></Object></Delete>".to_vec();
    let quiet = oss.send(
        "POST",
        Some("copy-dst"),
        None,
        &Req {
            query: vec![("delete", "")],
            body,
            ..Req::default()
        },
    );
    quiet.ok();
    assert!(quiet.tags("Deleted").is_empty(), "{}", quiet.text());
    let left = oss.list("copy-dst", &[("prefix", "m/")]);
    assert!(left.tags("Key").is_empty());
    oss.send(
        "POST",
        Some("copy-dst"),
        None,
        &Req {
            query: vec![("delete", "")],
            body: b"<Delete><Object><Key>x".to_vec(),
            ..Req::default()
        },
    )
    .err(400, "MalformedXML");
}

// ---- authentication ----------------------------------------------------------------------

#[test]
fn authentication_errors() {
    let s = server();
    let oss = Oss::root(&s);
    oss.put_bucket("auth-bucket").ok();
    oss.put("auth-bucket", "k", b"v").ok();

    let bad = oss.send(
        "GET",
        Some("auth-bucket"),
        Some("k"),
        &Req {
            secret: Some("wrong".into()),
            ..Req::default()
        },
    );
    bad.err(403, "SignatureDoesNotMatch");
    let sts = bad.tag("StringToSign").unwrap();
    assert!(sts.starts_with("GET\n\n\n"), "{sts:?}");
    assert!(sts.ends_with("\n/auth-bucket/k"), "{sts:?}");
    assert_eq!(bad.tag("OSSAccessKeyId").unwrap(), s.access_key_id);
    assert!(bad
        .tag("StringToSignBytes")
        .unwrap()
        .starts_with("47 45 54 0a"));

    Oss::new(&s.endpoint, "LTAI5tNoSuchKey000000001", "x", None)
        .get("auth-bucket", "k")
        .err(403, "InvalidAccessKeyId");

    let skewed = oss.send(
        "GET",
        Some("auth-bucket"),
        Some("k"),
        &Req {
            date: Some(http_date(
                chrono::Utc::now() - chrono::Duration::minutes(16),
            )),
            ..Req::default()
        },
    );
    skewed.err(403, "RequestTimeTooSkewed");
    // 14 minutes is inside the window.
    oss.send(
        "GET",
        Some("auth-bucket"),
        Some("k"),
        &Req {
            date: Some(http_date(
                chrono::Utc::now() + chrono::Duration::minutes(14),
            )),
            ..Req::default()
        },
    )
    .ok();

    for (method, url) in [
        ("GET", format!("{}/auth-bucket/k", s.endpoint)),
        ("PUT", format!("{}/auth-bucket/k", s.endpoint)),
        ("GET", format!("{}/auth-bucket/", s.endpoint)),
        ("DELETE", format!("{}/auth-bucket", s.endpoint)),
    ] {
        raw(method, &url, &[]).err(403, "AccessDenied");
    }
    let head = raw("HEAD", &format!("{}/auth-bucket/k", s.endpoint), &[]);
    head.err(403, "AccessDenied");
    assert!(head.body.is_empty());
    // Anonymous virtual-host listing of the bucket at `/`.
    raw(
        "GET",
        &format!("{}/", s.endpoint),
        &[("host", "auth-bucket.oss-cn-hangzhou.aliyuncs.com")],
    )
    .err(403, "AccessDenied");
    // Malformed Authorization and V4 answer in the OSS envelope.
    raw(
        "GET",
        &format!("{}/auth-bucket/k", s.endpoint),
        &[
            ("authorization", "OSS nocolon"),
            ("date", &http_date(chrono::Utc::now())),
        ],
    )
    .err(400, "InvalidArgument");
    raw(
        "GET",
        &format!("{}/auth-bucket/k", s.endpoint),
        &[("authorization", "OSS4-HMAC-SHA256 Credential=x")],
    )
    .err(400, "InvalidArgument");
    raw(
        "GET",
        &format!("{}/auth-bucket/k", s.endpoint),
        &[("authorization", "OSS a:b")],
    )
    .err(403, "AccessDenied");

    // RPC on the same port is untouched.
    let me = Client::root(&s).sts("GetCallerIdentity", &[]).ok();
    assert_eq!(me["AccountId"], s.account_id);
}

/// Presigned URL as oss2 `sign_url` builds it.
fn presign(oss: &Oss, bucket: &str, key: &str, expires: i64) -> String {
    let mut query: Vec<(String, String)> = Vec::new();
    if let Some(t) = &oss.token {
        query.push(("security-token".into(), t.clone()));
    }
    let sts = sign::string_to_sign(
        "GET",
        "",
        "",
        &expires.to_string(),
        "",
        &sign::canonicalized_resource(Some(bucket), Some(key), &query),
    );
    query.push(("OSSAccessKeyId".into(), oss.ak.clone()));
    query.push(("Expires".into(), expires.to_string()));
    query.push(("Signature".into(), sign::sign(&oss.sk, &sts)));
    let qs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", q(k), q(v)))
        .collect();
    format!("{}/{bucket}/{}?{}", oss.endpoint, q(key), qs.join("&"))
}

#[test]
fn presigned_urls() {
    let s = server();
    let oss = Oss::root(&s);
    oss.put_bucket("pre-bucket").ok();
    oss.put("pre-bucket", "a/b.txt", b"shared").ok();
    let now = chrono::Utc::now().timestamp();
    let ok = raw(
        "GET",
        &presign(&oss, "pre-bucket", "a/b.txt", now + 60),
        &[],
    );
    assert_eq!(ok.ok().body, b"shared");
    raw("GET", &presign(&oss, "pre-bucket", "a/b.txt", now - 5), &[]).err(403, "AccessDenied");
    let tampered = presign(&oss, "pre-bucket", "a/b.txt", now + 60).replace("b.txt", "c.txt");
    raw("GET", &tampered, &[]).err(403, "SignatureDoesNotMatch");
}

// ---- authorization -----------------------------------------------------------------------

const READ_ONLY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"*"}]}"#;

fn custom_policy(root: &Client, name: &str, doc: &str) {
    root.ram(
        "CreatePolicy",
        &[("PolicyName", name), ("PolicyDocument", doc)],
    )
    .ok();
}

fn filled(s: &TestServer, bucket: &str) -> Oss {
    let oss = Oss::root(s);
    fill(&oss, bucket, &["one", "two", "three"]);
    oss
}

#[test]
fn read_only_role_session_lists_and_gets_but_cannot_write() {
    let s = server();
    filled(&s, "ramroletest");
    let root = Client::root(&s);
    custom_policy(&root, "EcsRamRolePolicyTest", READ_ONLY);
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "OssReader"),
            ("AssumeRolePolicyDocument", &account_trust(&s.account_id)),
        ],
    )
    .ok();
    root.ram(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "EcsRamRolePolicyTest"),
            ("RoleName", "OssReader"),
        ],
    )
    .ok();
    let alice = user_with(&root, "alice", &[("System", "AliyunSTSAssumeRoleAccess")]);
    let a = crate::support::assume_role(&alice, &s.account_id, "OssReader", "reader");
    let c = &a["Credentials"];
    let session = Oss::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str(),
    );
    let l = session.list(
        "ramroletest",
        &[
            ("prefix", ""),
            ("max-keys", "100"),
            ("encoding-type", "url"),
        ],
    );
    l.ok();
    assert_eq!(l.tags("Key"), vec!["one", "three", "two"]);
    assert_eq!(session.get("ramroletest", "one").ok().body, b"one");
    session.list("ramroletest", &[("bucketInfo", "")]).ok();
    session.send("GET", None, None, &Req::default()).ok();
    let denied = session.put("ramroletest", "new", b"x");
    denied.err(403, "AccessDenied");
    assert!(denied.tag("Message").unwrap().contains("oss:PutObject"));
    session
        .send("DELETE", Some("ramroletest"), Some("one"), &Req::default())
        .err(403, "AccessDenied");
    session.put_bucket("reader-bucket").err(403, "AccessDenied");
    session
        .send(
            "PUT",
            Some("ramroletest"),
            Some("copy"),
            &Req {
                headers: vec![("x-oss-copy-source", "/ramroletest/one".into())],
                ..Req::default()
            },
        )
        .err(403, "AccessDenied");
    // Nothing was written.
    assert_eq!(Oss::root(&s).list("ramroletest", &[]).tags("Key").len(), 3);

    // A wrong or foreign token.
    let mut forged = session.clone();
    forged.token = Some("CAISnotatoken".into());
    forged
        .get("ramroletest", "one")
        .err(403, "InvalidSecurityToken");
    let mut tokenless = session.clone();
    tokenless.token = None;
    tokenless
        .get("ramroletest", "one")
        .err(403, "InvalidSecurityToken");

    // An hour later on the virtual clock the token has expired.
    advance_clock(&s.endpoint, 3601);
    session
        .get("ramroletest", "one")
        .err(403, "SecurityTokenExpired");
}

#[test]
fn ram_user_policies_and_conditions() {
    let s = server();
    let root_oss = filled(&s, "cond-bucket");
    root_oss.put("cond-bucket", "pub/a", b"a").ok();
    root_oss.put("cond-bucket", "priv/b", b"b").ok();
    let root = Client::root(&s);
    custom_policy(
        &root,
        "PrefixOnly",
        &format!(
            r#"{{"Version":"1","Statement":[
              {{"Effect":"Allow","Action":"oss:ListObjects","Resource":"acs:oss:*:{acct}:cond-bucket","Condition":{{"StringLike":{{"oss:Prefix":"pub/*"}}}}}},
              {{"Effect":"Allow","Action":["oss:GetObject","oss:PutObject"],"Resource":"acs:oss:*:{acct}:cond-bucket/pub/*"}}]}}"#,
            acct = s.account_id
        ),
    );
    let bob = user_with(&root, "bob", &[("Custom", "PrefixOnly")]);
    let oss = Oss::new(
        &s.endpoint,
        &bob.access_key_id,
        &bob.access_key_secret,
        None,
    );
    let l = oss.list("cond-bucket", &[("prefix", "pub/")]);
    l.ok();
    assert_eq!(l.tags("Key"), vec!["pub/a"]);
    oss.list("cond-bucket", &[("prefix", "priv/")])
        .err(403, "AccessDenied");
    oss.list("cond-bucket", &[]).err(403, "AccessDenied");
    oss.get("cond-bucket", "pub/a").ok();
    oss.put("cond-bucket", "pub/new", b"n").ok();
    oss.get("cond-bucket", "priv/b").err(403, "AccessDenied");
    oss.put("cond-bucket", "priv/new", b"n")
        .err(403, "AccessDenied");
    oss.send("GET", None, None, &Req::default())
        .err(403, "AccessDenied");
    // A key without permission that does not exist is still AccessDenied, not NoSuchKey.
    oss.get("cond-bucket", "priv/none").err(403, "AccessDenied");
    // A missing bucket is NoSuchBucket whatever the policies.
    oss.get("no-such-bucket", "pub/a").err(404, "NoSuchBucket");

    // Full access for a second user: everything, including batch delete.
    let carol = user_with(&root, "carol", &[("System", "AliyunOSSFullAccess")]);
    let full = Oss::new(
        &s.endpoint,
        &carol.access_key_id,
        &carol.access_key_secret,
        None,
    );
    full.put_bucket("carol-bucket").ok();
    full.put("carol-bucket", "x", b"x").ok();
    full.send("DELETE", Some("carol-bucket"), Some("x"), &Req::default())
        .ok();
    full.send("DELETE", Some("carol-bucket"), None, &Req::default())
        .ok();
}

#[test]
fn oss_only_listener() {
    let mut config = Config::ephemeral();
    config.oss_listen = Some("127.0.0.1:0".parse().unwrap());
    let s = server_with(config);
    let addr = s.state.oss.listener().unwrap();
    let endpoint = format!("http://{addr}");
    let oss = Oss::new(&endpoint, &s.access_key_id, &s.access_key_secret, None);
    oss.put_bucket("only-bucket").ok();
    oss.put("only-bucket", "k", b"v").ok();
    assert_eq!(Oss::root(&s).get("only-bucket", "k").body, b"v");
    // Anything there is OSS: an RPC-looking request gets the OSS envelope.
    let r = raw("GET", &format!("{endpoint}/?Action=GetCallerIdentity"), &[]);
    r.err(403, "AccessDenied");
}
