//! Every generated identifier, in the real services' shapes (reference/ram.md, sts.md, ecs.md).

use rand::distributions::{Alphanumeric, Uniform};
use rand::Rng;

fn alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    let first = rng.sample(Uniform::new_inclusive(1u8, 9));
    let mut s = first.to_string();
    for _ in 1..n {
        s.push(char::from(
            b'0' + rng.sample(Uniform::new_inclusive(0u8, 9)),
        ));
    }
    s
}

fn lower_alnum(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

/// `6894B13B-6D71-4EF5-88FA-F32781734A7F`
#[must_use]
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// OSS request ids are 24 upper-case hex characters.
#[must_use]
pub fn oss_request_id() -> String {
    hex::encode_upper(rand::thread_rng().gen::<[u8; 12]>())
}

/// 19-digit numeric RoleId.
#[must_use]
pub fn role_id() -> String {
    digits(19)
}

/// 18-digit numeric UserId.
#[must_use]
pub fn user_id() -> String {
    digits(18)
}

/// Group ids look like user ids.
#[must_use]
pub fn group_id() -> String {
    digits(18)
}

/// `LTAI5t` + 18 characters: 24 in all, as real user keys.
#[must_use]
pub fn access_key_id() -> String {
    format!("LTAI5t{}", alnum(18))
}

/// 30 base62 characters.
#[must_use]
pub fn access_key_secret() -> String {
    alnum(30)
}

/// `STS.NU` + 22 characters.
#[must_use]
pub fn sts_access_key_id() -> String {
    format!("STS.NU{}", alnum(22))
}

#[must_use]
pub fn sts_access_key_secret() -> String {
    alnum(44)
}

/// Real tokens are opaque, start with `CAIS` and run to several hundred characters; clients
/// must not cap them, so neither do we make them short.
#[must_use]
pub fn security_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 300];
    rand::thread_rng().fill(&mut bytes[..]);
    format!(
        "CAIS{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// `i-` + region infix + 18 lower-case alphanumerics (20 after the dash).
#[must_use]
pub fn instance_id(region_infix: &str) -> String {
    format!("i-{region_infix}{}", lower_alnum(18))
}

#[must_use]
pub fn prefixed(prefix: &str, region_infix: &str) -> String {
    format!("{prefix}-{region_infix}{}", lower_alnum(18))
}

/// 32 lower-case hex characters, as the SDKs' nonces.
#[must_use]
pub fn nonce() -> String {
    hex::encode(rand::thread_rng().gen::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(request_id().len(), 36);
        assert_eq!(role_id().len(), 19);
        assert!(role_id().chars().all(|c| c.is_ascii_digit()));
        assert_eq!(access_key_id().len(), 24);
        assert!(sts_access_key_id().starts_with("STS."));
        assert!(security_token().starts_with("CAIS"));
        assert_eq!(instance_id("bp").len(), 22);
        assert_eq!(oss_request_id().len(), 24);
    }
}
