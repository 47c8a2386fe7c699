//! The signers against reference/vectors.json and the requests captured from the official
//! SDKs (tests/data, copied from the shared fixtures): each must verify, and the same request
//! with one byte changed must not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use acsemu::auth::verify::{self, Scheme};
use acsemu::protocol::request::RpcRequest;
use acsemu::protocol::{sign_v1, sign_v3};
use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn v1_vectors() {
    let all = load("vectors.json");
    for v in all["rpc_v1_hmac_sha1"].as_array().unwrap() {
        let mut params = if let Some(p) = v.get("all_signed_params") {
            pairs(p)
        } else {
            pairs(&v["query_params_after_signing"])
        };
        if let Some(body) = v.get("form_body_params") {
            params.extend(pairs(body));
        }
        let method = v["method"].as_str().unwrap();
        let sts = sign_v1::string_to_sign(method, &params);
        assert_eq!(sts, v["string_to_sign"].as_str().unwrap(), "{}", v["name"]);
        let secret = v["access_key_secret"].as_str().unwrap();
        assert_eq!(
            sign_v1::sign(secret, &sts, sign_v1::Algorithm::HmacSha1),
            v["signature"].as_str().unwrap()
        );
    }
}

#[test]
fn v3_vectors() {
    let all = load("vectors.json");
    for v in all["acs3_hmac_sha256"].as_array().unwrap() {
        let (path, query) = v["path_and_query"]
            .as_str()
            .unwrap()
            .split_once('?')
            .unwrap_or((v["path_and_query"].as_str().unwrap(), ""));
        let headers: Vec<(String, String)> = pairs(&v["headers"]);
        let req = RpcRequest::parse(
            v["method"].as_str().unwrap(),
            path,
            query,
            headers,
            v["body"].as_str().unwrap().as_bytes().to_vec(),
        )
        .unwrap();
        let claim = verify::claim(&req).unwrap();
        let Scheme::V3(auth) = &claim.scheme else {
            panic!("not V3")
        };
        let canonical = sign_v3::canonical_request(
            &req.method,
            &req.path,
            &req.query,
            &req.headers,
            &auth.signed_headers,
            sign_v3::EMPTY_SHA256,
        );
        assert_eq!(
            canonical,
            v["canonical_request"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        let sts = sign_v3::string_to_sign(&canonical);
        assert_eq!(sts, v["string_to_sign"].as_str().unwrap());
        assert_eq!(
            sign_v3::sign(v["access_key_secret"].as_str().unwrap(), &sts),
            v["signature"].as_str().unwrap()
        );
        verify::check_signature(&req, &claim, v["access_key_secret"].as_str().unwrap()).unwrap();
    }
}

struct Captured {
    name: String,
    kind: String,
    secret: String,
    method: String,
    path: String,
    raw_query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    expected: Value,
}

fn captured() -> Vec<Captured> {
    let dir = format!("{}/tests/data/signed-requests", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let r = &v["request"];
        out.push(Captured {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            kind: v["kind"].as_str().unwrap().to_string(),
            secret: v["access_key_secret"].as_str().unwrap().to_string(),
            method: r["method"].as_str().unwrap().to_string(),
            path: r["path"].as_str().unwrap().to_string(),
            raw_query: r["raw_query"].as_str().unwrap_or_default().to_string(),
            headers: r["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h[0].as_str().unwrap().to_ascii_lowercase(),
                        h[1].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
            body: r["body"].as_str().unwrap_or_default().as_bytes().to_vec(),
            expected: v["expected"].clone(),
        });
    }
    out
}

fn rpc(c: &Captured, raw_query: &str, body: &[u8]) -> RpcRequest {
    RpcRequest::parse(
        &c.method,
        &c.path,
        raw_query,
        c.headers.clone(),
        body.to_vec(),
    )
    .unwrap()
}

/// Flips one byte of a parameter value (never of a signature part) in a raw query or body.
fn tamper(raw: &str) -> Option<String> {
    let mut parts: Vec<String> = raw.split('&').map(str::to_string).collect();
    for p in &mut parts {
        let (k, v) = p.split_once('=')?;
        if [
            "Signature",
            "SignatureNonce",
            "Timestamp",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SecurityToken",
            "Action",
            "Version",
        ]
        .contains(&k)
            || v.is_empty()
        {
            continue;
        }
        let last = v.chars().last()?;
        let swapped = if last == 'x' { 'y' } else { 'x' };
        *p = format!("{k}={}{swapped}", &v[..v.len() - last.len_utf8()]);
        return Some(parts.join("&"));
    }
    None
}

#[test]
fn captured_rpc_requests_verify_and_tampered_ones_do_not() {
    let mut checked = 0;
    for c in captured()
        .iter()
        .filter(|c| c.kind == "v1" || c.kind == "v3")
    {
        let req = rpc(c, &c.raw_query, &c.body);
        let claim = verify::claim(&req).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        verify::check_signature(&req, &claim, &c.secret)
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        if c.kind == "v1" {
            let sts = sign_v1::string_to_sign(&req.method, &req.all_params());
            assert_eq!(
                sts,
                c.expected["string_to_sign"].as_str().unwrap(),
                "{}",
                c.name
            );
        }
        // One byte changed in the query, then in the body where there is one.
        let tampered_query = tamper(&c.raw_query).map(|q| rpc(c, &q, &c.body));
        let tampered_body = (!c.body.is_empty())
            .then(|| tamper(std::str::from_utf8(&c.body).unwrap()))
            .flatten()
            .map(|b| rpc(c, &c.raw_query, b.as_bytes()));
        // For V3, one byte of a signed header too.
        let tampered_header = (c.kind == "v3").then(|| {
            let mut t = rpc(c, &c.raw_query, &c.body);
            for (k, v) in &mut t.headers {
                if k == "user-agent" {
                    v.push('!');
                }
            }
            t
        });
        let mut any = false;
        for t in [tampered_query, tampered_body, tampered_header]
            .into_iter()
            .flatten()
        {
            any = true;
            let outcome =
                verify::claim(&t).and_then(|cl| verify::check_signature(&t, &cl, &c.secret));
            let err = outcome.expect_err(&c.name);
            assert_eq!(err.code, "SignatureDoesNotMatch", "{}", c.name);
        }
        assert!(any, "{}: nothing to tamper with", c.name);
        // And the wrong secret never verifies.
        assert!(verify::check_signature(&req, &claim, "not-the-secret").is_err());
        checked += 1;
    }
    assert_eq!(checked, 8);
}
