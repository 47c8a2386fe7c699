//! Signature V3, ACS3-HMAC-SHA256 (reference/signing.md section 2): pure functions.

use sha2::{Digest, Sha256};

use super::sign_v1::{hmac_sha256, sorted_encoded};

pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// Lower-case names, in the order the client gave them.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Why an Authorization header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    #[error("unsupported signature algorithm")]
    Algorithm,
    #[error("the Authorization header lacks {0}")]
    Missing(&'static str),
}

/// Parses `ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=<h1;h2>,Signature=<hex>`.
pub fn parse_authorization(header: &str) -> Result<Authorization, AuthorizationError> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .ok_or(AuthorizationError::Algorithm)?;
    if !rest.starts_with(' ') {
        return Err(AuthorizationError::Algorithm);
    }
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.trim().split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => credential = Some(v.trim().to_string()),
            "SignedHeaders" => signed = Some(v.trim().to_string()),
            "Signature" => signature = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let access_key_id = credential
        .filter(|s| !s.is_empty())
        .ok_or(AuthorizationError::Missing("Credential"))?;
    let signed = signed
        .filter(|s| !s.is_empty())
        .ok_or(AuthorizationError::Missing("SignedHeaders"))?;
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(AuthorizationError::Missing("Signature"))?;
    Ok(Authorization {
        access_key_id,
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature,
    })
}

/// Sorted `key=value`, both sides percent-encoded, joined with `&`.
#[must_use]
pub fn canonical_query(params: &[(String, String)]) -> String {
    sorted_encoded(params)
}

/// One `name:value\n` line per signed header; repeated headers trimmed, sorted, joined by `,`.
/// `headers` holds every received header with a lower-case name.
#[must_use]
pub fn canonical_headers(headers: &[(String, String)], signed: &[String]) -> String {
    let mut names: Vec<&String> = signed.iter().collect();
    names.sort();
    names.dedup();
    let mut out = String::new();
    for name in names {
        let mut values: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

#[must_use]
pub fn signed_headers_line(signed: &[String]) -> String {
    let mut names: Vec<&str> = signed.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    names.join(";")
}

#[must_use]
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    signed: &[String],
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{path}\n{}\n{}\n{}\n{payload_hash}",
        canonical_query(query),
        canonical_headers(headers, signed),
        signed_headers_line(signed)
    )
}

#[must_use]
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

#[must_use]
pub fn string_to_sign(canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// hex(HMAC-SHA256(secret, string_to_sign)); the key has no `&`, unlike V1.
#[must_use]
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization() {
        let a = parse_authorization(
            "ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;x-acs-date,Signature=abc",
        )
        .unwrap();
        assert_eq!(a.access_key_id, "ak");
        assert_eq!(a.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(a.signature, "abc");
        assert_eq!(
            parse_authorization("ACS3-HMAC-SHA256 Credential=ak,Signature=abc"),
            Err(AuthorizationError::Missing("SignedHeaders"))
        );
        assert_eq!(
            parse_authorization("ACS3-HMAC-SM3 Credential=ak"),
            Err(AuthorizationError::Algorithm)
        );
    }

    #[test]
    fn repeated_headers_are_joined_sorted() {
        let h = vec![
            ("x-a".to_string(), " 2 ".to_string()),
            ("x-a".to_string(), "1".to_string()),
        ];
        assert_eq!(canonical_headers(&h, &["x-a".to_string()]), "x-a:1,2\n");
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((".{0,12}", ".{0,24}"), 0..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Canonicalization ignores arrival order and never panics on any text.
        #[test]
        fn canonical_query_is_order_free(mut p in pairs()) {
            let a = canonical_query(&p);
            p.reverse();
            prop_assert_eq!(a.clone(), canonical_query(&p));
            prop_assert!(a.is_ascii());
        }

        #[test]
        fn authorization_parser_never_panics(h in ".{0,200}") {
            let _ = parse_authorization(&h);
            let _ = parse_authorization(&format!("ACS3-HMAC-SHA256 {h}"));
        }

        #[test]
        fn canonical_request_never_panics(p in pairs(), h in pairs(), signed in proptest::collection::vec("[a-z-]{0,10}", 0..6)) {
            let cr = canonical_request("POST", "/", &p, &h, &signed, EMPTY_SHA256);
            prop_assert_eq!(string_to_sign(&cr).len(), ALGORITHM.len() + 1 + 64);
        }
    }
}
