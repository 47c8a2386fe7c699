//! RPC signature V1 (reference/signing.md section 1): pure functions, tested step by step
//! against reference/vectors.json and the captured requests in shared/fixtures.

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but `A-Z a-z 0-9 - _ . ~` is escaped, upper-case hex.
const RPC_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[must_use]
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, RPC_ESCAPE).to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
}

impl Algorithm {
    /// The `SignatureMethod` values the service accepts.
    #[must_use]
    pub fn from_method(method: &str) -> Option<Self> {
        match method {
            "HMAC-SHA1" => Some(Self::HmacSha1),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }
}

/// Sorted `key=value` pairs of every parameter but `Signature`, each side percent-encoded.
#[must_use]
pub fn canonicalized_query(params: &[(String, String)]) -> String {
    let signed: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect();
    sorted_encoded(&signed)
}

/// `k=v` pairs, both sides percent-encoded, sorted, joined by `&`: the canonical form V1 and
/// V3 share.
#[must_use]
pub fn sorted_encoded(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[must_use]
pub fn string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonicalized_query(params))
    )
}

/// base64(HMAC(secret + "&", string_to_sign)).
#[must_use]
pub fn sign(secret: &str, string_to_sign: &str, algorithm: Algorithm) -> String {
    let key = format!("{secret}&");
    let raw = match algorithm {
        Algorithm::HmacSha1 => hmac_sha1(key.as_bytes(), string_to_sign.as_bytes()),
        Algorithm::HmacSha256 => hmac_sha256(key.as_bytes(), string_to_sign.as_bytes()),
    };
    base64::engine::general_purpose::STANDARD.encode(raw)
}

pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    // INVARIANT: HMAC accepts keys of any length, so new_from_slice cannot fail.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn encodes_like_the_sdk() {
        assert_eq!(percent_encode("a b*c~/:"), "a%20b%2Ac~%2F%3A");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    #[test]
    fn keeps_empty_values_and_drops_signature() {
        let q = canonicalized_query(&p(&[("b", ""), ("a", "1"), ("Signature", "x")]));
        assert_eq!(q, "a=1&b=");
    }

    #[test]
    fn sha256_differs_from_sha1() {
        let a = sign("s", "x", Algorithm::HmacSha1);
        let b = sign("s", "x", Algorithm::HmacSha256);
        assert_ne!(a, b);
        assert_eq!(a.len(), 28);
        assert_eq!(b.len(), 44);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Order-free, ASCII-only, never panics; a changed value changes the string to sign.
        #[test]
        fn string_to_sign_properties(mut p in proptest::collection::vec(("[A-Za-z]{1,8}", ".{0,20}"), 1..10), extra in ".{1,5}") {
            let a = string_to_sign("GET", &p);
            prop_assert!(a.is_ascii());
            p.reverse();
            prop_assert_eq!(&a, &string_to_sign("GET", &p));
            p[0].1.push_str(&extra);
            prop_assert_ne!(&a, &string_to_sign("GET", &p));
        }

        #[test]
        fn percent_encoding_round_trips(s in ".{0,64}") {
            let e = percent_encode(&s);
            let d = percent_encoding::percent_decode_str(&e).decode_utf8().map(|c| c.into_owned());
            prop_assert_eq!(d.ok(), Some(s));
        }
    }
}
