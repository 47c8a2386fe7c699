//! The OSS V1 signer against reference/vectors.json (`oss_v1`) and the requests captured from
//! oss2 2.19.1 (tests/data/signed-requests/oss_v1_*.json): each verifies through the same path
//! the server takes (address -> claim -> string to sign -> signature), and the same request with
//! one byte changed does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use acsemu::catalog::RequestFacts;
use acsemu::products::oss::auth::{self, Claim};
use acsemu::products::oss::{address, parse_query, sign, OssRequest};
use serde_json::Value;

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn request(
    method: &str,
    path_and_query: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> OssRequest {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let host = headers
        .iter()
        .find(|(k, _)| k == "host")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    OssRequest {
        method: method.to_string(),
        raw_path: path.to_string(),
        query: parse_query(query),
        headers,
        host,
        body: body.to_vec(),
        facts: RequestFacts::default(),
    }
}

/// (string to sign, whether the signature verifies with `secret`) as the server computes them.
fn check(r: &OssRequest, secret: &str) -> (String, bool) {
    let target = address::targets(&r.host, &r.raw_path).unwrap().remove(0);
    let Claim::Header {
        signature, date, ..
    } = auth::claim(r).unwrap()
    else {
        panic!("not a header-signed request")
    };
    let sts = auth::string_to_sign(r, &target, &date);
    let ok = sign::verify(secret, &sts, &signature);
    (sts, ok)
}

/// Every way of changing one byte that the signature covers.
fn mutations(r: &OssRequest) -> Vec<OssRequest> {
    let mut out = Vec::new();
    let mut m = r.clone();
    m.method = if r.method == "GET" { "PUT" } else { "GET" }.into();
    out.push(m);
    let mut m = r.clone();
    m.raw_path.push('x');
    out.push(m);
    for (i, (k, v)) in r.headers.iter().enumerate() {
        if k == "date" || k.starts_with("x-oss-") || k == "content-type" {
            let mut m = r.clone();
            let mut bytes = v.clone().into_bytes();
            let last = bytes.len() - 1;
            bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
            m.headers[i].1 = String::from_utf8(bytes).unwrap();
            out.push(m);
        }
    }
    let mut m = r.clone();
    m.query.push(("acl".into(), String::new()));
    out.push(m);
    out
}

#[test]
fn vectors_json_oss_v1() {
    let all = load("vectors.json");
    let cases = all["oss_v1"].as_array().unwrap();
    assert!(!cases.is_empty());
    for v in cases {
        let headers: Vec<(String, String)> = v["request"]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let r = request(
            v["request"]["method"].as_str().unwrap(),
            v["request"]["path"].as_str().unwrap(),
            headers,
            b"",
        );
        let secret = v["access_key_secret"].as_str().unwrap();
        let (sts, ok) = check(&r, secret);
        assert_eq!(sts, v["string_to_sign"].as_str().unwrap(), "{}", v["name"]);
        assert_eq!(sign::sign(secret, &sts), v["signature"].as_str().unwrap());
        assert!(ok, "{}", v["name"]);
        for m in mutations(&r) {
            assert!(
                !check(&m, secret).1,
                "{}: a changed request verified: {m:?}",
                v["name"]
            );
        }
        let mut wrong = secret.to_string().into_bytes();
        wrong[0] ^= 1;
        assert!(!check(&r, std::str::from_utf8(&wrong).unwrap()).1);
    }
}

#[test]
fn captured_oss2_requests() {
    let dir = format!("{}/tests/data/signed-requests", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with("oss_v1_") {
            continue;
        }
        seen += 1;
        let v = load(&format!("signed-requests/{name}"));
        let req = &v["request"];
        let headers: Vec<(String, String)> = req["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let r = request(
            req["method"].as_str().unwrap(),
            req["target"].as_str().unwrap(),
            headers,
            req["body"].as_str().unwrap().as_bytes(),
        );
        let secret = v["access_key_secret"].as_str().unwrap();
        let (sts, ok) = check(&r, secret);
        assert_eq!(
            sts,
            v["expected"]["string_to_sign"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            sign::sign(secret, &sts),
            v["expected"]["signature"].as_str().unwrap(),
            "{name}"
        );
        assert!(ok, "{name}");
        for m in mutations(&r) {
            assert!(
                !check(&m, secret).1,
                "{name}: a changed request verified: {m:?}"
            );
        }
    }
    assert_eq!(seen, 2, "both captured oss2 requests are checked");
}
