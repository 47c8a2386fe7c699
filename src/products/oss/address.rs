//! Where a request points (reference/oss.md "Addressing", clients.md "other OSS clients"):
//! path style `/<bucket>/<key>` (oss2 with an IP endpoint; `/` in a key arrives as `%2F`) or
//! virtual-host style, the bucket in `Host: <bucket>.oss-<region>.aliyuncs.com` and the key in
//! the path. When the Host could name a bucket and the path could too, both readings are kept
//! in preference order and the signature decides (see `auth::authenticate`).

use std::net::IpAddr;

use super::error::{OssError, OssResult};

/// A bucket (None: the service, ListBuckets) and a key (None: the bucket itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

/// `host[:port]` → host.
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// The bucket a Host header names: the first label of a DNS name that is not `localhost`, an IP
/// address, or a bare OSS endpoint (`oss-cn-hangzhou.aliyuncs.com`).
#[must_use]
pub fn host_bucket(host: &str) -> Option<String> {
    let h = strip_port(host.trim()).trim_end_matches('.');
    if h.is_empty() || h.parse::<IpAddr>().is_ok() || h.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let (first, rest) = h.split_once('.')?;
    if rest.is_empty() || first.is_empty() || first == "oss" || first.starts_with("oss-") {
        return None;
    }
    Some(first.to_ascii_lowercase())
}

/// The OSS region a Host names (`<bucket>.oss-cn-beijing.aliyuncs.com` → `oss-cn-beijing`).
#[must_use]
pub fn host_location(host: &str) -> Option<String> {
    let h = strip_port(host.trim());
    h.split('.')
        .find(|l| l.starts_with("oss-") && l.len() > 4)
        .map(|l| l.trim_end_matches("-internal").to_string())
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// The readings of (Host, raw path), most likely first.
pub fn targets(host: &str, raw_path: &str) -> OssResult<Vec<Target>> {
    let path = raw_path.strip_prefix('/').unwrap_or(raw_path);
    let mut out = Vec::new();
    let mut undecodable = false;
    if let Some(bucket) = host_bucket(host) {
        if path.is_empty() {
            out.push(Target {
                bucket: Some(bucket),
                key: None,
            });
        } else if let Some(key) = decode(path) {
            out.push(Target {
                bucket: Some(bucket),
                key: Some(key),
            });
        } else {
            undecodable = true;
        }
    }
    if path.is_empty() {
        out.push(Target {
            bucket: None,
            key: None,
        });
    } else {
        let (b, k) = path.split_once('/').unwrap_or((path, ""));
        match (decode(b), decode(k)) {
            (Some(b), Some(k)) if !b.is_empty() => out.push(Target {
                bucket: Some(b),
                key: (!k.is_empty()).then_some(k),
            }),
            _ => undecodable = true,
        }
    }
    if out.is_empty() {
        return Err(if undecodable {
            OssError::invalid_object_name()
        } else {
            OssError::invalid_bucket_name("")
        });
    }
    Ok(out)
}

/// 3–63 characters, lower-case letters, digits and `-`, starting and ending with a letter or
/// digit.
pub fn check_bucket_name(name: &str) -> OssResult<()> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(OssError::invalid_bucket_name(name))
    }
}

/// 1–1023 bytes of UTF-8, not starting with `/` or `\`.
pub fn check_key(key: &str) -> OssResult<()> {
    if key.is_empty() || key.len() > 1023 || key.starts_with('/') || key.starts_with('\\') {
        return Err(OssError::invalid_object_name());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(b: Option<&str>, k: Option<&str>) -> Target {
        Target {
            bucket: b.map(str::to_string),
            key: k.map(str::to_string),
        }
    }

    #[test]
    fn hosts() {
        assert_eq!(host_bucket("127.0.0.1:8790"), None);
        assert_eq!(host_bucket("localhost:1"), None);
        assert_eq!(host_bucket("[::1]:1"), None);
        assert_eq!(host_bucket("oss-cn-hangzhou.aliyuncs.com"), None);
        assert_eq!(
            host_bucket("demo.oss-cn-hangzhou.aliyuncs.com"),
            Some("demo".into())
        );
        assert_eq!(host_bucket("demo.localhost:8080"), Some("demo".into()));
        assert_eq!(
            host_location("demo.oss-cn-beijing-internal.aliyuncs.com"),
            Some("oss-cn-beijing".into())
        );
    }

    #[test]
    fn path_style() {
        assert_eq!(
            targets("127.0.0.1:1", "/b/seed%2Fhello.txt").unwrap(),
            vec![t(Some("b"), Some("seed/hello.txt"))]
        );
        assert_eq!(
            targets("127.0.0.1:1", "/b/").unwrap(),
            vec![t(Some("b"), None)]
        );
        assert_eq!(
            targets("127.0.0.1:1", "/b").unwrap(),
            vec![t(Some("b"), None)]
        );
        assert_eq!(targets("127.0.0.1:1", "/").unwrap(), vec![t(None, None)]);
        assert!(targets("127.0.0.1:1", "/b/%FF").is_err());
    }

    #[test]
    fn virtual_host() {
        assert_eq!(
            targets("b.oss-cn-hangzhou.aliyuncs.com", "/a/b.txt").unwrap(),
            vec![t(Some("b"), Some("a/b.txt")), t(Some("a"), Some("b.txt"))]
        );
        assert_eq!(
            targets("b.oss-cn-hangzhou.aliyuncs.com", "/").unwrap(),
            vec![t(Some("b"), None), t(None, None)]
        );
    }

    #[test]
    fn names() {
        assert!(check_bucket_name("abc").is_ok());
        assert!(check_bucket_name("a-1-b").is_ok());
        for bad in ["ab", "-ab", "ab-", "Abc", "a_b", &"a".repeat(64)] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
        assert!(check_key("/x").is_err());
        assert!(check_key(&"k".repeat(1024)).is_err());
        assert!(check_key("a/b").is_ok());
    }
}
