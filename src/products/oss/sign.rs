//! OSS signature V1 (reference/signing.md §3), as pure functions tested step by step:
//! canonicalized headers, canonicalized resource, string to sign, signature.
//!
//! `Authorization: OSS <AccessKeyId>:<base64(HMAC-SHA1(secret, StringToSign))>` where
//! StringToSign = `VERB\nContent-MD5\nContent-Type\nDate\n` + CanonicalizedOSSHeaders +
//! CanonicalizedResource. Presigned URLs put `Expires` in the Date line.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The query parameters that are part of the canonicalized resource (oss2 2.19.1
/// `Auth._subresource_key_set`); every other parameter (prefix, marker, max-keys, delimiter,
/// encoding-type, list-type, start-after, fetch-owner, ...) is not signed.
pub const SUB_RESOURCES: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-cache-control",
    "logging",
    "response-content-encoding",
    "acl",
    "uploadId",
    "uploads",
    "partNumber",
    "group",
    "link",
    "delete",
    "website",
    "location",
    "objectInfo",
    "objectMeta",
    "response-expires",
    "response-content-disposition",
    "cors",
    "lifecycle",
    "restore",
    "qos",
    "referer",
    "stat",
    "bucketInfo",
    "append",
    "position",
    "security-token",
    "live",
    "comp",
    "status",
    "vod",
    "startTime",
    "endTime",
    "x-oss-process",
    "symlink",
    "callback",
    "callback-var",
    "tagging",
    "encryption",
    "versions",
    "versioning",
    "versionId",
    "policy",
    "requestPayment",
    "x-oss-traffic-limit",
    "qosInfo",
    "asyncFetch",
    "x-oss-request-payer",
    "sequential",
    "inventory",
    "inventoryId",
    "continuation-token",
    "worm",
    "wormId",
    "wormExtend",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "transferAcceleration",
    "cname",
    "metaQuery",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow",
    "resourceGroup",
    "style",
    "styleName",
    "x-oss-async-process",
    "regionList",
    "x-oss-write-get-object-response",
    "bucketArchiveDirectRead",
    "httpsConfig",
    "redundancyTransition",
    "x-oss-target-redundancy-type",
    "x-oss-redundancy-transition-taskid",
    "accessPoint",
    "accessPointPolicy",
    "publicAccessBlock",
    "x-oss-access-point-name",
    "requesterQosInfo",
    "qosRequester",
    "resourcePoolInfo",
    "resourcePool",
    "resourcePoolBuckets",
];

#[must_use]
pub fn is_sub_resource(name: &str) -> bool {
    SUB_RESOURCES.contains(&name)
}

/// Every `x-oss-*` header, lower-cased and sorted by name, each as `name:value\n`.
/// `headers` may be in any case and order.
#[must_use]
pub fn canonicalized_headers(headers: &[(String, String)]) -> String {
    let mut oss: Vec<(String, &str)> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k.starts_with("x-oss-"))
        .collect();
    oss.sort_by(|a, b| a.0.cmp(&b.0));
    oss.iter().map(|(k, v)| format!("{k}:{v}\n")).collect()
}

/// `/` (service), `/<bucket>/` (bucket) or `/<bucket>/<key>` (object, key decoded), then the
/// sub-resources among the decoded `query` pairs, sorted, as `?k=v&k2` (an empty value signs as
/// the bare name).
#[must_use]
pub fn canonicalized_resource(
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(String, String)],
) -> String {
    let mut out = match bucket {
        None => "/".to_string(),
        Some(b) => format!("/{b}/{}", key.unwrap_or_default()),
    };
    let mut subs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| is_sub_resource(k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // oss2 sorts by name only (a stable sort keeps repeated names in request order).
    subs.sort_by(|a, b| a.0.cmp(b.0));
    if !subs.is_empty() {
        out.push('?');
        let parts: Vec<String> = subs
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    (*k).to_string()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push_str(&parts.join("&"));
    }
    out
}

/// The four fixed lines and the two canonical parts, joined.
#[must_use]
pub fn string_to_sign(
    method: &str,
    content_md5: &str,
    content_type: &str,
    date: &str,
    canonicalized_headers: &str,
    canonicalized_resource: &str,
) -> String {
    format!("{method}\n{content_md5}\n{content_type}\n{date}\n{canonicalized_headers}{canonicalized_resource}")
}

/// base64(HMAC-SHA1(secret, string_to_sign)).
#[must_use]
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    // INVARIANT: HMAC accepts keys of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Recomputes and compares in constant time.
#[must_use]
pub fn verify(secret: &str, string_to_sign: &str, signature: &str) -> bool {
    let expected = sign(secret, string_to_sign);
    bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}

/// `OSS <ak>:<signature>` → (ak, signature).
#[must_use]
pub fn parse_authorization(header: &str) -> Option<(&str, &str)> {
    let rest = header.strip_prefix("OSS ")?;
    let (ak, sig) = rest.trim().rsplit_once(':')?;
    (!ak.is_empty() && !sig.is_empty()).then_some((ak, sig))
}

/// The bytes of the string to sign as OSS shows them in `<StringToSignBytes>`: two-digit hex,
/// space-separated.
#[must_use]
pub fn bytes_hex(s: &str) -> String {
    s.bytes()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn reference_vector_step_by_step() {
        let headers = h(&[
            ("Host", "127.0.0.1:18082"),
            ("x-oss-security-token", "CAIS+token/with+special=chars"),
            ("date", "Mon, 01 Jan 2024 12:00:00 GMT"),
        ]);
        let ch = canonicalized_headers(&headers);
        assert_eq!(ch, "x-oss-security-token:CAIS+token/with+special=chars\n");
        let query = h(&[
            ("prefix", ""),
            ("delimiter", ""),
            ("marker", ""),
            ("max-keys", "100"),
            ("encoding-type", "url"),
        ]);
        let cr = canonicalized_resource(Some("demo-bucket"), Some(""), &query);
        assert_eq!(cr, "/demo-bucket/");
        let sts = string_to_sign("GET", "", "", "Mon, 01 Jan 2024 12:00:00 GMT", &ch, &cr);
        assert_eq!(
            sts,
            "GET\n\n\nMon, 01 Jan 2024 12:00:00 GMT\nx-oss-security-token:CAIS+token/with+special=chars\n/demo-bucket/"
        );
        assert_eq!(
            sign("AZ8v1Yn7tXm4vJxW6bXyT0ZYcGz3zBhq", &sts),
            "vjnUf7ctJqJAj2EagNpSatVVcZ8="
        );
        assert!(verify(
            "AZ8v1Yn7tXm4vJxW6bXyT0ZYcGz3zBhq",
            &sts,
            "vjnUf7ctJqJAj2EagNpSatVVcZ8="
        ));
        assert!(!verify(
            "AZ8v1Yn7tXm4vJxW6bXyT0ZYcGz3zBhQ",
            &sts,
            "vjnUf7ctJqJAj2EagNpSatVVcZ8="
        ));
    }

    #[test]
    fn sub_resources_sorted_bare_and_valued() {
        let q = h(&[
            ("uploadId", "abc"),
            ("prefix", "x"),
            ("acl", ""),
            ("continuation-token", "t"),
        ]);
        assert_eq!(
            canonicalized_resource(Some("b"), Some("k/1"), &q),
            "/b/k/1?acl&continuation-token=t&uploadId=abc"
        );
        assert_eq!(canonicalized_resource(None, None, &[]), "/");
    }

    #[test]
    fn headers_lowercased_sorted() {
        let hs = h(&[
            ("X-OSS-Meta-B", "2"),
            ("x-oss-date", "d"),
            ("Content-Type", "t"),
        ]);
        assert_eq!(canonicalized_headers(&hs), "x-oss-date:d\nx-oss-meta-b:2\n");
    }

    #[test]
    fn authorization_header() {
        assert_eq!(
            parse_authorization("OSS STS.x:abc="),
            Some(("STS.x", "abc="))
        );
        assert_eq!(parse_authorization("OSS nocolon"), None);
        assert_eq!(parse_authorization("ACS3-HMAC-SHA256 x"), None);
        assert_eq!(bytes_hex("GE"), "47 45");
    }
}
