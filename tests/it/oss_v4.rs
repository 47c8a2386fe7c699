//! OSS signature V4 (`OSS4-HMAC-SHA256`) through real HTTP: the header oss2 `AuthV4` sends, in
//! path style and virtual-host style, STS tokens, additional headers, presigned URLs, and the
//! errors (SignatureDoesNotMatch with the canonical request, skew, unknown key, malformed
//! header, wrong scope). The client side is a small signer built on `sign_v4`'s pure functions,
//! which are checked against oss2's own vectors in the unit tests.

use std::time::Duration;

use acsemu::products::oss::sign_v4;
use acsemu::testing::TestServer;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::support::{account_trust, server, user_with, Client};

const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn q(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

#[derive(Debug, Clone)]
struct V4 {
    endpoint: String,
    ak: String,
    sk: String,
    token: Option<String>,
    region: String,
    /// The bucket in `Host: <bucket>.oss-cn-hangzhou.aliyuncs.com`.
    vhost: bool,
}

#[derive(Debug, Default, Clone)]
struct Req<'a> {
    query: Vec<(&'a str, &'a str)>,
    headers: Vec<(&'a str, &'a str)>,
    additional: Vec<&'a str>,
    body: Vec<u8>,
    secret: Option<&'a str>,
    time: Option<chrono::DateTime<chrono::Utc>>,
    /// Date of the scope instead of the x-oss-date's.
    scope_date: Option<&'a str>,
    product: Option<&'a str>,
    /// Headers set (replacing any of the same name) after signing.
    after: Vec<(&'a str, &'a str)>,
}

#[derive(Debug)]
struct Resp {
    status: u16,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn tag(&self, name: &str) -> Option<String> {
        let text = self.text();
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        let i = text.find(&open)? + open.len();
        let j = text[i..].find(&close)? + i;
        Some(
            text[i..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        )
    }

    #[track_caller]
    fn ok(&self) -> &Self {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {} {}",
            self.status,
            self.text()
        );
        self
    }

    #[track_caller]
    fn err(&self, status: u16, code: &str) -> &Self {
        assert_eq!(
            (self.status, self.tag("Code").unwrap_or_default().as_str()),
            (status, code),
            "unexpected answer: {}",
            self.text()
        );
        self
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap()
}

fn into_resp(r: reqwest::blocking::Response) -> Resp {
    Resp {
        status: r.status().as_u16(),
        body: r.bytes().unwrap().to_vec(),
    }
}

impl V4 {
    fn new(endpoint: &str, ak: &str, sk: &str, token: Option<&str>) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            ak: ak.to_string(),
            sk: sk.to_string(),
            token: token.map(str::to_string),
            region: "cn-hangzhou".to_string(),
            vhost: false,
        }
    }

    fn root(s: &TestServer) -> Self {
        Self::new(&s.endpoint, &s.access_key_id, &s.access_key_secret, None)
    }

    fn scope(&self, r: &Req<'_>, date_time: &str) -> sign_v4::Scope {
        sign_v4::Scope {
            date: r.scope_date.unwrap_or(&date_time[..8]).to_string(),
            region: self.region.clone(),
            product: r.product.unwrap_or("oss").to_string(),
            terminator: sign_v4::TERMINATOR.to_string(),
        }
    }

    /// (URL path, Host override).
    fn address(&self, bucket: Option<&str>, key: Option<&str>) -> (String, Option<String>) {
        match (self.vhost, bucket) {
            (true, Some(b)) => (
                format!(
                    "/{}",
                    key.map(|k| q(k).replace("%2F", "/")).unwrap_or_default()
                ),
                Some(format!("{b}.oss-cn-hangzhou.aliyuncs.com")),
            ),
            (_, Some(b)) => (format!("/{b}/{}", key.map(q).unwrap_or_default()), None),
            (_, None) => ("/".to_string(), None),
        }
    }

    fn query_string(query: &[(String, String)]) -> String {
        query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    q(k)
                } else {
                    format!("{}={}", q(k), q(v))
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    fn send(&self, method: &str, bucket: Option<&str>, key: Option<&str>, r: &Req<'_>) -> Resp {
        let (path, host) = self.address(bucket, key);
        let date_time = iso(r.time.unwrap_or_else(chrono::Utc::now));
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        if let Some(h) = &host {
            headers.push(("host".into(), h.clone()));
        }
        if let Some(t) = &self.token {
            headers.push(("x-oss-security-token".into(), t.clone()));
        }
        headers.push(("x-oss-date".into(), date_time.clone()));
        headers.push(("x-oss-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
        let query: Vec<(String, String)> = r
            .query
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let additional: Vec<String> = r.additional.iter().map(|s| s.to_string()).collect();
        let scope = self.scope(r, &date_time);
        let cr = sign_v4::canonical_request(
            method,
            &sign_v4::canonical_uri(bucket, key.unwrap_or_default()),
            &sign_v4::canonical_query(&query, &[]),
            &sign_v4::canonical_headers(&headers, &additional),
            &sign_v4::additional_headers_line(&additional),
            sign_v4::UNSIGNED_PAYLOAD,
        );
        let sts = sign_v4::string_to_sign(&date_time, &scope, &cr);
        let signature = sign_v4::sign(r.secret.unwrap_or(&self.sk), &scope, &sts);
        let mut authorization = format!(
            "OSS4-HMAC-SHA256 Credential={}/{}, Signature={signature}",
            self.ak,
            scope.to_line()
        );
        if !additional.is_empty() {
            authorization.push_str(&format!(", AdditionalHeaders={}", additional.join(";")));
        }
        headers.push(("authorization".into(), authorization));
        for (k, v) in &r.after {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
            headers.push(((*k).to_string(), (*v).to_string()));
        }
        let qs = Self::query_string(&query);
        let url = if qs.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{qs}", self.endpoint)
        };
        let mut req = http().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        into_resp(req.body(r.body.clone()).send().unwrap())
    }

    /// A presigned GET URL as oss2 `AuthV4._sign_url` builds it.
    fn presign(
        &self,
        bucket: &str,
        key: &str,
        expires: i64,
        time: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let date_time = iso(time);
        let scope = self.scope(&Req::default(), &date_time);
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(t) = &self.token {
            query.push(("x-oss-security-token".into(), t.clone()));
        }
        query.push(("x-oss-date".into(), date_time.clone()));
        query.push(("x-oss-expires".into(), expires.to_string()));
        query.push(("x-oss-signature-version".into(), "OSS4-HMAC-SHA256".into()));
        query.push((
            "x-oss-credential".into(),
            format!("{}/{}", self.ak, scope.to_line()),
        ));
        let cr = sign_v4::canonical_request(
            "GET",
            &sign_v4::canonical_uri(Some(bucket), key),
            &sign_v4::canonical_query(&query, &[]),
            "",
            "",
            sign_v4::UNSIGNED_PAYLOAD,
        );
        let sts = sign_v4::string_to_sign(&date_time, &scope, &cr);
        query.push((
            "x-oss-signature".into(),
            sign_v4::sign(&self.sk, &scope, &sts),
        ));
        let (path, _) = self.address(Some(bucket), Some(key));
        format!("{}{path}?{}", self.endpoint, Self::query_string(&query))
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

    fn list(&self, b: &str) -> Resp {
        self.send(
            "GET",
            Some(b),
            None,
            &Req {
                query: vec![
                    ("prefix", ""),
                    ("delimiter", "/"),
                    ("max-keys", "100"),
                    ("encoding-type", "url"),
                ],
                ..Req::default()
            },
        )
    }
}

fn raw_get(url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    into_resp(req.send().unwrap())
}

fn round_trip(oss: &V4, bucket: &str) {
    oss.send("PUT", Some(bucket), None, &Req::default()).ok();
    oss.put(bucket, "a/b c.txt", b"hello v4").ok();
    oss.send(
        "PUT",
        Some(bucket),
        Some("typed.json"),
        &Req {
            headers: vec![
                ("Content-Type", "application/json"),
                ("x-oss-meta-Owner", "me"),
            ],
            body: b"{}".to_vec(),
            ..Req::default()
        },
    )
    .ok();
    assert_eq!(oss.get(bucket, "a/b c.txt").ok().body, b"hello v4");
    let l = oss.list(bucket);
    l.ok();
    assert_eq!(l.tag("Prefix").as_deref(), Some(""));
    assert!(l.text().contains("<Prefix>a/</Prefix>"), "{}", l.text());
    assert!(l.text().contains("<Key>typed.json</Key>"), "{}", l.text());
    oss.send(
        "GET",
        Some(bucket),
        None,
        &Req {
            query: vec![("list-type", "2"), ("prefix", "a/")],
            ..Req::default()
        },
    )
    .ok();
    oss.send(
        "GET",
        Some(bucket),
        None,
        &Req {
            query: vec![("bucketInfo", "")],
            ..Req::default()
        },
    )
    .ok();
    oss.send("HEAD", Some(bucket), Some("typed.json"), &Req::default())
        .ok();
    // A header named in AdditionalHeaders is signed.
    let ranged = oss.send(
        "GET",
        Some(bucket),
        Some("a/b c.txt"),
        &Req {
            headers: vec![("Range", "bytes=0-4")],
            additional: vec!["range"],
            ..Req::default()
        },
    );
    assert_eq!(ranged.ok().body, b"hello");
    oss.send("GET", None, None, &Req::default()).ok();
    oss.send("DELETE", Some(bucket), Some("typed.json"), &Req::default())
        .ok();
}

#[test]
fn path_style_round_trip() {
    let s = server();
    round_trip(&V4::root(&s), "v4-path");
}

#[test]
fn virtual_host_style_round_trip() {
    let s = server();
    let mut oss = V4::root(&s);
    oss.vhost = true;
    round_trip(&oss, "v4-vhost");
    // Objects written in V4 read back in V1 terms: same store.
    oss.vhost = false;
    assert_eq!(oss.get("v4-vhost", "a/b c.txt").ok().body, b"hello v4");
}

#[test]
fn errors() {
    let s = server();
    let oss = V4::root(&s);
    oss.send("PUT", Some("v4-errors"), None, &Req::default())
        .ok();
    oss.put("v4-errors", "k", b"v").ok();

    let bad = oss.send(
        "GET",
        Some("v4-errors"),
        Some("k"),
        &Req {
            secret: Some("wrong"),
            ..Req::default()
        },
    );
    bad.err(403, "SignatureDoesNotMatch");
    let cr = bad.tag("CanonicalRequest").unwrap();
    assert!(cr.starts_with("GET\n/v4-errors/k\n\n"), "{cr:?}");
    assert!(cr.ends_with("\n\n\nUNSIGNED-PAYLOAD"), "{cr:?}");
    let sts = bad.tag("StringToSign").unwrap();
    assert!(sts.starts_with("OSS4-HMAC-SHA256\n"), "{sts:?}");
    assert!(
        sts.contains("/cn-hangzhou/oss/aliyun_v4_request\n"),
        "{sts:?}"
    );
    assert_eq!(bad.tag("OSSAccessKeyId").unwrap(), s.access_key_id);

    // A header changed after signing: fine when unsigned, a mismatch when signed (an
    // additional header, x-oss-*, Content-Type).
    let changed = |headers: Vec<(&'static str, &'static str)>, additional: Vec<&'static str>| {
        oss.send(
            "GET",
            Some("v4-errors"),
            Some("k"),
            &Req {
                headers,
                additional,
                after: vec![("Range", "bytes=0-0")],
                ..Req::default()
            },
        )
    };
    assert_eq!(
        changed(vec![("Range", "bytes=0-9")], vec![]).ok().body,
        b"v"
    );
    let signed = changed(vec![("Range", "bytes=0-9")], vec!["range"]);
    signed.err(403, "SignatureDoesNotMatch");
    assert!(signed
        .tag("CanonicalRequest")
        .unwrap()
        .contains("\nrange:bytes=0-0\n"));
    for (name, value) in [("x-oss-meta-a", "2"), ("Content-Type", "text/html")] {
        let r = Req {
            headers: vec![(name, "1")],
            after: vec![(name, value)],
            ..Req::default()
        };
        oss.send("GET", Some("v4-errors"), Some("k"), &r)
            .err(403, "SignatureDoesNotMatch");
    }

    V4::new(&s.endpoint, "LTAI5tNoSuchKey000000001", "x", None)
        .get("v4-errors", "k")
        .err(403, "InvalidAccessKeyId");

    let skewed = Req {
        time: Some(chrono::Utc::now() - chrono::Duration::minutes(16)),
        ..Req::default()
    };
    oss.send("GET", Some("v4-errors"), Some("k"), &skewed)
        .err(403, "RequestTimeTooSkewed");
    let near = Req {
        time: Some(chrono::Utc::now() + chrono::Duration::minutes(14)),
        ..Req::default()
    };
    oss.send("GET", Some("v4-errors"), Some("k"), &near).ok();

    // The scope must be of the x-oss-date's day, for `oss`.
    let wrong_day = Req {
        scope_date: Some("20200101"),
        ..Req::default()
    };
    oss.send("GET", Some("v4-errors"), Some("k"), &wrong_day)
        .err(400, "InvalidArgument");
    let wrong_product = Req {
        product: Some("ecs"),
        ..Req::default()
    };
    oss.send("GET", Some("v4-errors"), Some("k"), &wrong_product)
        .err(400, "InvalidArgument");

    let url = format!("{}/v4-errors/k", s.endpoint);
    let now = iso(chrono::Utc::now());
    for malformed in [
        "OSS4-HMAC-SHA256 Credential=x",
        "OSS4-HMAC-SHA256 Signature=abc",
        "OSS4-HMAC-SHA1 Credential=a/20240101/cn-hangzhou/oss/aliyun_v4_request, Signature=ab",
    ] {
        raw_get(&url, &[("authorization", malformed), ("x-oss-date", &now)])
            .err(400, "InvalidArgument");
    }
    // Without x-oss-date.
    let no_date = format!(
        "OSS4-HMAC-SHA256 Credential={}/{}/cn-hangzhou/oss/aliyun_v4_request, Signature=ab",
        s.access_key_id,
        &now[..8]
    );
    raw_get(&url, &[("authorization", &no_date)]).err(403, "AccessDenied");
}

#[test]
fn presigned_urls() {
    let s = server();
    let oss = V4::root(&s);
    oss.send("PUT", Some("v4-pre"), None, &Req::default()).ok();
    oss.put("v4-pre", "dir/x y.txt", b"shared").ok();
    let now = chrono::Utc::now();
    let url = oss.presign("v4-pre", "dir/x y.txt", 60, now);
    assert_eq!(raw_get(&url, &[]).ok().body, b"shared");
    // Virtual-host style presigned URL.
    let mut vhost = oss.clone();
    vhost.vhost = true;
    let vurl = vhost.presign("v4-pre", "dir/x y.txt", 60, now);
    assert_eq!(
        raw_get(&vurl, &[("host", "v4-pre.oss-cn-hangzhou.aliyuncs.com")])
            .ok()
            .body,
        b"shared"
    );
    // Expired: signed two minutes ago for 60 seconds.
    let old = oss.presign(
        "v4-pre",
        "dir/x y.txt",
        60,
        now - chrono::Duration::minutes(2),
    );
    raw_get(&old, &[]).err(403, "AccessDenied");
    // Another key, or a longer validity, than signed.
    raw_get(&url.replace("x%20y", "x%20z"), &[]).err(403, "SignatureDoesNotMatch");
    raw_get(&url.replace("x-oss-expires=60", "x-oss-expires=600"), &[])
        .err(403, "SignatureDoesNotMatch");
    // Beyond seven days.
    let long = oss.presign("v4-pre", "dir/x y.txt", 8 * 24 * 3600, now);
    raw_get(&long, &[]).err(400, "InvalidArgument");
}

const READ_ONLY: &str = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:Get*","oss:List*"],"Resource":"*"}]}"#;

#[test]
fn read_only_role_session_in_v4() {
    let s = server();
    let root_oss = V4::root(&s);
    root_oss
        .send("PUT", Some("v4-role"), None, &Req::default())
        .ok();
    root_oss.put("v4-role", "one", b"one").ok();
    let root = Client::root(&s);
    root.ram(
        "CreatePolicy",
        &[("PolicyName", "V4Reader"), ("PolicyDocument", READ_ONLY)],
    )
    .ok();
    root.ram(
        "CreateRole",
        &[
            ("RoleName", "V4Reader"),
            ("AssumeRolePolicyDocument", &account_trust(&s.account_id)),
        ],
    )
    .ok();
    root.ram(
        "AttachPolicyToRole",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "V4Reader"),
            ("RoleName", "V4Reader"),
        ],
    )
    .ok();
    let bob = user_with(&root, "bob", &[("System", "AliyunSTSAssumeRoleAccess")]);
    let a = crate::support::assume_role(&bob, &s.account_id, "V4Reader", "reader");
    let c = &a["Credentials"];
    let session = V4::new(
        &s.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str(),
    );
    assert!(session
        .list("v4-role")
        .ok()
        .text()
        .contains("<Key>one</Key>"));
    assert_eq!(session.get("v4-role", "one").ok().body, b"one");
    let denied = session.put("v4-role", "new", b"x");
    denied.err(403, "AccessDenied");
    assert!(denied.tag("Message").unwrap().contains("oss:PutObject"));
    // The token travels in the query of a presigned URL.
    let url = session.presign("v4-role", "one", 60, chrono::Utc::now());
    assert!(url.contains("x-oss-security-token="));
    assert_eq!(raw_get(&url, &[]).ok().body, b"one");
    let mut tokenless = session.clone();
    tokenless.token = None;
    tokenless
        .get("v4-role", "one")
        .err(403, "InvalidSecurityToken");
}
