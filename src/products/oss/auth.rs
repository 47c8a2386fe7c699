//! Who signed the request (signing.md §3): the `Authorization: OSS <ak>:<sig>` header or a
//! presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`, `security-token`), checked against the
//! stored secret of the root key, a RAM user's key or STS credentials (`x-oss-security-token`).
//! Anonymous requests are refused: acsemu buckets are private.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::address::Target;
use super::error::{OssError, OssResult};
use super::{sign, OssRequest};
use crate::auth::identity::{self, Caller};
use crate::server::AppState;

/// Largest difference between the signed Date and the wall clock (as OSS: 15 minutes).
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Anonymous,
    Header {
        access_key_id: String,
        signature: String,
        token: Option<String>,
        /// The Date line of the string to sign: `x-oss-date` if present, else `Date`.
        date: String,
    },
    Presigned {
        access_key_id: String,
        signature: String,
        token: Option<String>,
        expires: String,
    },
}

fn non_empty(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(str::to_string)
}

/// Reads the signature parts; refuses what is malformed.
pub fn claim(r: &OssRequest) -> OssResult<Claim> {
    if let Some(h) = r.header("authorization") {
        if h.starts_with("OSS4-") || h.starts_with("OSS2 ") {
            return Err(OssError::invalid_argument(
                "acsemu verifies OSS signature V1 only (Authorization: OSS <AccessKeyId>:<Signature>); sign with V1.",
            ));
        }
        let (ak, sig) = sign::parse_authorization(h)
            .ok_or_else(|| OssError::invalid_argument("Authorization header is invalid."))?;
        let date = non_empty(r.header("x-oss-date"))
            .or_else(|| non_empty(r.header("date")))
            .ok_or_else(|| OssError::access_denied("OSS authentication requires a valid Date."))?;
        return Ok(Claim::Header {
            access_key_id: ak.to_string(),
            signature: sig.to_string(),
            token: non_empty(r.header("x-oss-security-token")),
            date,
        });
    }
    if r.has_param("OSSAccessKeyId") || r.has_param("Signature") || r.has_param("Expires") {
        let need = |n: &str| {
            non_empty(r.param(n)).ok_or_else(|| {
                OssError::access_denied(format!(
                    "Query-string authentication requires the {n} parameter."
                ))
            })
        };
        return Ok(Claim::Presigned {
            access_key_id: need("OSSAccessKeyId")?,
            signature: need("Signature")?,
            expires: need("Expires")?,
            token: non_empty(r.param("security-token")),
        });
    }
    Ok(Claim::Anonymous)
}

/// RFC 1123 (`Mon, 01 Jan 2024 12:00:00 GMT`) or ISO 8601 basic (`20240101T120000Z`).
fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// The signed Date within 15 minutes of the wall clock (clients sign with real time, so the
/// virtual clock plays no part here); a presigned URL not past its Expires.
pub fn check_time(_r: &OssRequest, claim: &Claim, wall_now: DateTime<Utc>) -> OssResult<()> {
    match claim {
        Claim::Anonymous => Ok(()),
        Claim::Header { date, .. } => {
            let t = parse_date(date).ok_or_else(|| {
                OssError::access_denied("OSS authentication requires a valid Date.")
            })?;
            if (t - wall_now).num_seconds().abs() > MAX_SKEW_SECONDS {
                return Err(OssError::new(
                    403,
                    "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.",
                )
                .with("RequestTime", date.clone())
                .with("ServerTime", super::iso_ms(wall_now.timestamp_millis())));
            }
            Ok(())
        }
        Claim::Presigned { expires, .. } => {
            let e: i64 = expires
                .parse()
                .map_err(|_| OssError::access_denied("Invalid argument: Expires."))?;
            if wall_now.timestamp() > e {
                return Err(OssError::access_denied("Request has expired.")
                    .with("Expires", super::iso_ms(e.saturating_mul(1000)))
                    .with("ServerTime", super::iso_ms(wall_now.timestamp_millis())));
            }
            Ok(())
        }
    }
}

/// The string the client must have signed for this reading of the address.
#[must_use]
pub fn string_to_sign(r: &OssRequest, t: &Target, date_line: &str) -> String {
    let headers = sign::canonicalized_headers(&r.headers);
    let resource = sign::canonicalized_resource(
        t.bucket.as_deref(),
        Some(t.key.as_deref().unwrap_or_default()),
        &r.query,
    );
    sign::string_to_sign(
        &r.method,
        r.header("content-md5").unwrap_or_default(),
        r.header("content-type").unwrap_or_default(),
        date_line,
        &headers,
        &resource,
    )
}

/// Finds the key, then the reading of the address whose string to sign matches the signature.
pub fn authenticate(
    state: &AppState,
    tx: &Transaction<'_>,
    r: &OssRequest,
    claim: &Claim,
    candidates: &[Target],
    now: DateTime<Utc>,
) -> OssResult<(Caller, Target)> {
    let (ak, signature, token, date_line) = match claim {
        Claim::Anonymous => {
            return Err(OssError::access_denied(
                "You have no right to access this object because of bucket acl.",
            ))
        }
        Claim::Header {
            access_key_id,
            signature,
            token,
            date,
        } => (access_key_id, signature, token, date),
        Claim::Presigned {
            access_key_id,
            signature,
            token,
            expires,
        } => (access_key_id, signature, token, expires),
    };
    let credential = identity::lookup(
        tx,
        (
            &state.config.root_access_key_id,
            &state.config.root_access_key_secret,
        ),
        ak,
        token.as_deref(),
        now.timestamp(),
    )
    .map_err(|e| match e.code.as_ref() {
        "InvalidAccessKeyId.NotFound" => OssError::invalid_access_key_id(ak, false),
        "InvalidAccessKeyId.Inactive" => OssError::invalid_access_key_id(ak, true),
        _ => OssError::from(e),
    })?;
    let mut first: Option<String> = None;
    for t in candidates {
        let sts = string_to_sign(r, t, date_line);
        if sign::verify(&credential.secret, &sts, signature) {
            return Ok((credential.caller, t.clone()));
        }
        first.get_or_insert(sts);
    }
    let sts = first.unwrap_or_default();
    Err(OssError::new(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .with("StringToSign", sts.clone())
    .with("StringToSignBytes", sign::bytes_hex(&sts))
    .with("OSSAccessKeyId", ak.clone()))
}
