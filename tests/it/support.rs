//! The integration-test harness: a real server on port 0 per test and a client that signs its
//! own requests with V1 or V3, as the official SDKs do.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use acsemu::config::Config;
use acsemu::protocol::{sign_v1, sign_v3};
use acsemu::testing::TestServer;
use serde_json::Value;

pub const RAM: &str = "2015-05-01";
pub const STS: &str = "2015-04-01";
pub const ECS: &str = "2014-05-26";

pub const ECS_TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}"#;

pub fn server() -> TestServer {
    TestServer::start().expect("server starts")
}

pub fn server_with(config: Config) -> TestServer {
    TestServer::start_with(config).expect("server starts")
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub text: String,
    pub content_type: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The error code, asserting the status too.
    pub fn code(&self) -> String {
        self.json()["Code"].as_str().unwrap_or_default().to_string()
    }

    /// `OK` for a success, else the error code: for tallies.
    pub fn code_or_ok(&self) -> String {
        if self.status == 200 {
            "OK".to_string()
        } else {
            self.code()
        }
    }

    #[track_caller]
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "expected success, got {}", self.text);
        self.json()
    }

    #[track_caller]
    pub fn err(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
        let v = self.json();
        for k in ["RequestId", "HostId", "Code", "Message"] {
            assert!(
                v.get(k).is_some(),
                "error envelope lacks {k}: {}",
                self.text
            );
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    V1,
    V3,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
    pub sig: Sig,
    http: reqwest::blocking::Client,
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .no_proxy()
        .build()
        .unwrap()
}

pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Client {
    pub fn root(s: &TestServer) -> Self {
        Self::new(&s.endpoint, &s.access_key_id, &s.access_key_secret, None)
    }

    pub fn new(endpoint: &str, ak: &str, sk: &str, token: Option<&str>) -> Self {
        Self {
            endpoint: endpoint.to_string(),
            access_key_id: ak.to_string(),
            access_key_secret: sk.to_string(),
            security_token: token.map(str::to_string),
            sig: Sig::V1,
            http: http(),
        }
    }

    pub fn v3(mut self) -> Self {
        self.sig = Sig::V3;
        self
    }

    pub fn call(&self, version: &str, action: &str, params: &[(&str, &str)]) -> Resp {
        match self.sig {
            Sig::V1 => self.call_v1(version, action, params, &Overrides::default()),
            Sig::V3 => self.call_v3(version, action, params, &Overrides::default()),
        }
    }

    pub fn ram(&self, action: &str, params: &[(&str, &str)]) -> Resp {
        self.call(RAM, action, params)
    }

    pub fn sts(&self, action: &str, params: &[(&str, &str)]) -> Resp {
        self.call(STS, action, params)
    }

    pub fn ecs(&self, action: &str, params: &[(&str, &str)]) -> Resp {
        self.call(ECS, action, params)
    }

    /// A V1 GET with every parameter in the query.
    pub fn call_v1(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        o: &Overrides,
    ) -> Resp {
        let mut p: Vec<(String, String)> = vec![
            ("Action".into(), action.into()),
            ("Version".into(), version.into()),
            (
                "Format".into(),
                o.format.clone().unwrap_or_else(|| "JSON".into()),
            ),
            ("AccessKeyId".into(), self.access_key_id.clone()),
            ("SignatureMethod".into(), "HMAC-SHA1".into()),
            ("SignatureVersion".into(), "1.0".into()),
            (
                "SignatureNonce".into(),
                o.nonce
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            ),
            (
                "Timestamp".into(),
                o.timestamp.clone().unwrap_or_else(now_iso),
            ),
        ];
        if let Some(t) = &self.security_token {
            p.push(("SecurityToken".into(), t.clone()));
        }
        p.extend(
            params
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        );
        let sts = sign_v1::string_to_sign("GET", &p);
        let secret = o
            .secret
            .clone()
            .unwrap_or_else(|| self.access_key_secret.clone());
        let sig = sign_v1::sign(&secret, &sts, sign_v1::Algorithm::HmacSha1);
        p.push(("Signature".into(), sig));
        let query: Vec<String> = p
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    sign_v1::percent_encode(k),
                    sign_v1::percent_encode(v)
                )
            })
            .collect();
        let url = format!("{}/?{}", self.endpoint, query.join("&"));
        into_resp(self.http.get(url).send())
    }

    /// A V3 POST to `/` with the parameters in the query, as the generated SDKs send.
    pub fn call_v3(
        &self,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        o: &Overrides,
    ) -> Resp {
        let query: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let host = self.endpoint.trim_start_matches("http://").to_string();
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("x-acs-action".into(), action.into()),
            ("x-acs-version".into(), version.into()),
            (
                "x-acs-date".into(),
                o.timestamp.clone().unwrap_or_else(now_iso),
            ),
            (
                "x-acs-signature-nonce".into(),
                o.nonce
                    .clone()
                    .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            ),
            ("x-acs-content-sha256".into(), sign_v3::EMPTY_SHA256.into()),
            ("accept".into(), "application/json".into()),
        ];
        if let Some(t) = &self.security_token {
            headers.push(("x-acs-security-token".into(), t.clone()));
        }
        let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let canonical = sign_v3::canonical_request(
            "POST",
            "/",
            &query,
            &headers,
            &signed,
            sign_v3::EMPTY_SHA256,
        );
        let secret = o
            .secret
            .clone()
            .unwrap_or_else(|| self.access_key_secret.clone());
        let signature = sign_v3::sign(&secret, &sign_v3::string_to_sign(&canonical));
        let auth = format!(
            "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={signature}",
            self.access_key_id,
            sign_v3::signed_headers_line(&signed)
        );
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    sign_v1::percent_encode(k),
                    sign_v1::percent_encode(v)
                )
            })
            .collect();
        let mut req = self
            .http
            .post(format!("{}/?{}", self.endpoint, qs.join("&")));
        for (k, v) in &headers {
            if k != "host" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        into_resp(req.header("authorization", auth).send())
    }
}

/// Ways a test bends a request: a fixed nonce, an old timestamp, a wrong secret, XML.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub nonce: Option<String>,
    pub timestamp: Option<String>,
    pub secret: Option<String>,
    pub format: Option<String>,
}

/// A transport failure (the server is gone) reads as status 0, so load loops can stop cleanly.
fn into_resp(r: reqwest::Result<reqwest::blocking::Response>) -> Resp {
    let r = match r {
        Ok(r) => r,
        Err(e) => {
            return Resp {
                status: 0,
                text: e.to_string(),
                content_type: String::new(),
            }
        }
    };
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Resp {
        status,
        text: r.text().unwrap(),
        content_type,
    }
}

/// A raw request, for hostile input and control endpoints.
pub fn raw(method: &str, url: &str, body: Option<&str>) -> Resp {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http().request(m, url);
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    into_resp(req.send())
}

/// A trust policy that lets every RAM identity of `account` assume the role.
pub fn account_trust(account: &str) -> String {
    format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}],"Version":"1"}}"#
    )
}

/// Creates a RAM user with one access key and the given (PolicyType, PolicyName) attachments,
/// and returns a V1 client signing as that user.
pub fn user_with(root: &Client, name: &str, policies: &[(&str, &str)]) -> Client {
    root.ram("CreateUser", &[("UserName", name)]).ok();
    let key = root.ram("CreateAccessKey", &[("UserName", name)]).ok();
    for (kind, policy) in policies {
        root.ram(
            "AttachPolicyToUser",
            &[
                ("UserName", name),
                ("PolicyType", kind),
                ("PolicyName", policy),
            ],
        )
        .ok();
    }
    Client::new(
        &root.endpoint,
        key["AccessKey"]["AccessKeyId"].as_str().unwrap(),
        key["AccessKey"]["AccessKeySecret"].as_str().unwrap(),
        None,
    )
}

/// A client signing with the Credentials object of an AssumeRole answer.
pub fn session_client(endpoint: &str, assumed: &Value) -> Client {
    let c = &assumed["Credentials"];
    Client::new(
        endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["AccessKeySecret"].as_str().unwrap(),
        c["SecurityToken"].as_str(),
    )
}

/// Moves the server's virtual clock forward.
pub fn advance_clock(endpoint: &str, seconds: i64) {
    raw(
        "POST",
        &format!("{endpoint}/_acsemu/clock"),
        Some(&format!(r#"{{"advance_seconds": {seconds}}}"#)),
    )
    .ok();
}

/// AssumeRole of `account`'s role `role` by `caller`, asserting success: the answer, whose
/// `Credentials` [`session_client`] signs with.
pub fn assume_role(caller: &Client, account: &str, role: &str, session: &str) -> Value {
    caller
        .sts(
            "AssumeRole",
            &[
                ("RoleArn", &format!("acs:ram::{account}:role/{role}")),
                ("RoleSessionName", session),
            ],
        )
        .ok()
}
