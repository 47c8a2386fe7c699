//! Pre-built, pre-signed HTTP/1.1 requests: every request the timed window sends is a finished
//! byte string, so the load generator only writes and reads.

use std::sync::atomic::{AtomicU64, Ordering};

use acsemu::protocol::sign_v1::{self, percent_encode, Algorithm};
use base64::Engine;
use hmac::{Hmac, Mac};

/// Nonces are `<run>-<counter>`: unique within a run and across runs of one server.
pub struct Nonces {
    run: String,
    next: AtomicU64,
}

impl Nonces {
    pub fn new() -> Self {
        Self {
            run: uuid::Uuid::new_v4().simple().to_string(),
            next: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.run)
    }

    /// A short unique suffix for names (CreateRole).
    pub fn unique_name(&self, prefix: &str) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{}{n}", &self.run[..8])
    }
}

#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

impl Key {
    pub fn new(id: &str, secret: &str) -> Self {
        Self {
            id: id.to_string(),
            secret: secret.to_string(),
            token: None,
        }
    }
}

pub fn now_iso() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn now_rfc1123() -> String {
    chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Where a request goes: the Host header and the path (`/` for acsemu's RPC; the bare server
/// routes on a path prefix).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub host: &'a str,
    pub path: &'a str,
}

/// A V1-signed RPC GET (every parameter in the query) to `path` (`/` for acsemu; the bare
/// server routes on the path, and V1 signs `/` whatever the path).
pub fn rpc_get(
    target: &Target<'_>,
    key: &Key,
    version: &str,
    action: &str,
    params: &[(&str, &str)],
    nonce: &str,
    timestamp: &str,
) -> Vec<u8> {
    let mut p: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Version".into(), version.into()),
        ("Format".into(), "JSON".into()),
        ("AccessKeyId".into(), key.id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("Timestamp".into(), timestamp.into()),
    ];
    if let Some(t) = &key.token {
        p.push(("SecurityToken".into(), t.clone()));
    }
    p.extend(
        params
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    let sts = sign_v1::string_to_sign("GET", &p);
    let sig = sign_v1::sign(&key.secret, &sts, Algorithm::HmacSha1);
    p.push(("Signature".into(), sig));
    let mut out = String::with_capacity(512);
    out.push_str("GET ");
    out.push_str(target.path);
    out.push('?');
    for (i, (k, v)) in p.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
    }
    out.push_str(" HTTP/1.1\r\nHost: ");
    out.push_str(target.host);
    out.push_str("\r\n\r\n");
    out.into_bytes()
}

/// An OSS V1-signed GET of `/<bucket>/<key>` (reference/signing.md section 3), with a unique
/// `x-oss-bench-nonce` header so no two requests are byte-equal.
pub fn oss_get(
    host: &str,
    path_prefix: &str,
    key: &Key,
    bucket: &str,
    object: &str,
    nonce: &str,
    date: &str,
) -> Vec<u8> {
    let mut oss_headers: Vec<(String, String)> = vec![("x-oss-bench-nonce".into(), nonce.into())];
    if let Some(t) = &key.token {
        oss_headers.push(("x-oss-security-token".into(), t.clone()));
    }
    oss_headers.sort();
    let mut sts = format!("GET\n\n\n{date}\n");
    for (k, v) in &oss_headers {
        sts.push_str(k);
        sts.push(':');
        sts.push_str(v);
        sts.push('\n');
    }
    sts.push_str(&format!("/{bucket}/{object}"));
    let sig = oss_sign(&key.secret, &sts);
    let mut out = format!(
        "GET {path_prefix}/{bucket}/{object} HTTP/1.1\r\nHost: {host}\r\nDate: {date}\r\nAuthorization: OSS {}:{sig}\r\n",
        key.id
    );
    for (k, v) in &oss_headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// An OSS V1-signed PUT (bucket when `object` is empty) with `body`.
pub fn oss_put(host: &str, key: &Key, bucket: &str, object: &str, body: &[u8]) -> Vec<u8> {
    let date = now_rfc1123();
    let content_type = if object.is_empty() {
        ""
    } else {
        "application/octet-stream"
    };
    let mut oss_headers: Vec<(String, String)> = Vec::new();
    if let Some(t) = &key.token {
        oss_headers.push(("x-oss-security-token".into(), t.clone()));
    }
    let mut sts = format!("PUT\n\n{content_type}\n{date}\n");
    for (k, v) in &oss_headers {
        sts.push_str(&format!("{k}:{v}\n"));
    }
    sts.push_str(&format!("/{bucket}/{object}"));
    let sig = oss_sign(&key.secret, &sts);
    let mut out = format!(
        "PUT /{bucket}/{object} HTTP/1.1\r\nHost: {host}\r\nDate: {date}\r\nAuthorization: OSS {}:{sig}\r\nContent-Length: {}\r\n",
        key.id,
        body.len()
    );
    if !content_type.is_empty() {
        out.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    for (k, v) in &oss_headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn oss_sign(secret: &str, string_to_sign: &str) -> String {
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A metadata-service GET naming the instance by header (no signature: IMDS has none).
pub fn metadata_get(host: &str, path_prefix: &str, instance_id: &str, role: &str) -> Vec<u8> {
    format!(
        "GET {path_prefix}/latest/meta-data/ram/security-credentials/{role} HTTP/1.1\r\nHost: {host}\r\nX-Acsemu-Instance-Id: {instance_id}\r\n\r\n"
    )
    .into_bytes()
}
