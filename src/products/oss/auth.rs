//! Who signed the request (signing.md §3): the `Authorization: OSS <ak>:<sig>` header or a
//! presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`, `security-token`), or signature V4
//! (`Authorization: OSS4-HMAC-SHA256 ...` or a presigned URL with `x-oss-signature-version`, see
//! `sign_v4`), checked against the stored secret of the root key, a RAM user's key or STS
//! credentials (`x-oss-security-token`). Anonymous requests are refused: acsemu buckets are
//! private.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::address::Target;
use super::error::{OssError, OssResult};
use super::{sign, sign_v4, OssRequest};
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
    /// Signature V4, in the Authorization header (`expires` None) or a presigned URL.
    V4 {
        access_key_id: String,
        signature: String,
        token: Option<String>,
        scope: sign_v4::Scope,
        /// `x-oss-date` (`20240101T120000Z`).
        date_time: String,
        additional_headers: Vec<String>,
        /// `x-oss-expires` (seconds after `date_time`) of a presigned URL.
        expires: Option<String>,
    },
}

fn non_empty(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.is_empty()).map(str::to_string)
}

/// The parameters of a V4 presigned URL; the presence of any one makes the URL a V4 one.
const V4_QUERY: &[&str] = &[
    "x-oss-signature-version",
    "x-oss-credential",
    "x-oss-signature",
];

/// The scope must be this date's, for `oss`, ending in `aliyun_v4_request` (any region: acsemu
/// does not tie buckets to regions when verifying).
fn check_scope(scope: &sign_v4::Scope, date_time: &str) -> OssResult<()> {
    if scope.product != "oss" || scope.terminator != sign_v4::TERMINATOR {
        return Err(OssError::invalid_argument(format!(
            "Invalid credential scope {}: expected <date>/<region>/oss/aliyun_v4_request.",
            scope.to_line()
        )));
    }
    if date_time.get(..8) != Some(scope.date.as_str()) {
        return Err(OssError::invalid_argument(format!(
            "Invalid signing date in the credential scope {}: x-oss-date is {date_time}.",
            scope.to_line()
        )));
    }
    Ok(())
}

fn claim_v4_header(r: &OssRequest, h: &str) -> OssResult<Claim> {
    let a = sign_v4::parse_authorization(h)
        .ok_or_else(|| OssError::invalid_argument("Authorization header is invalid."))?;
    let date_time = non_empty(r.header("x-oss-date")).ok_or_else(|| {
        OssError::access_denied("OSS V4 authentication requires a valid x-oss-date.")
    })?;
    check_scope(&a.scope, &date_time)?;
    Ok(Claim::V4 {
        access_key_id: a.access_key_id,
        signature: a.signature,
        token: non_empty(r.header("x-oss-security-token")),
        scope: a.scope,
        date_time,
        additional_headers: a.additional_headers,
        expires: None,
    })
}

fn claim_v4_query(r: &OssRequest) -> OssResult<Claim> {
    let need = |n: &str| {
        non_empty(r.param(n)).ok_or_else(|| {
            OssError::access_denied(format!(
                "Query-string authentication V4 requires the {n} parameter."
            ))
        })
    };
    let version = need("x-oss-signature-version")?;
    if version != sign_v4::ALGORITHM {
        return Err(OssError::invalid_argument(format!(
            "Unsupported x-oss-signature-version {version}: acsemu verifies {} and signature V1.",
            sign_v4::ALGORITHM
        )));
    }
    let (access_key_id, scope) = sign_v4::parse_credential(&need("x-oss-credential")?)
        .ok_or_else(|| OssError::invalid_argument("x-oss-credential is invalid."))?;
    let date_time = need("x-oss-date")?;
    check_scope(&scope, &date_time)?;
    Ok(Claim::V4 {
        access_key_id,
        signature: need("x-oss-signature")?,
        token: non_empty(r.param("x-oss-security-token")),
        scope,
        date_time,
        additional_headers: sign_v4::additional_header_names(
            r.param("x-oss-additional-headers").unwrap_or_default(),
        ),
        expires: Some(need("x-oss-expires")?),
    })
}

/// Reads the signature parts; refuses what is malformed.
pub fn claim(r: &OssRequest) -> OssResult<Claim> {
    if let Some(h) = r.header("authorization") {
        if h.starts_with("OSS4-") {
            return claim_v4_header(r, h);
        }
        if h.starts_with("OSS2 ") {
            return Err(OssError::invalid_argument(
                "acsemu verifies OSS signature V1 (Authorization: OSS <AccessKeyId>:<Signature>) and V4 (OSS4-HMAC-SHA256), not V2.",
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
    if V4_QUERY.iter().any(|n| r.has_param(n)) {
        return claim_v4_query(r);
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
        Claim::V4 {
            date_time,
            expires: Some(expires),
            ..
        } => check_v4_expiry(date_time, expires, wall_now),
        Claim::Header { date, .. }
        | Claim::V4 {
            date_time: date, ..
        } => {
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

/// Longest validity of a V4 presigned URL (as OSS: 7 days).
pub const MAX_V4_EXPIRES_SECONDS: i64 = 7 * 24 * 3600;

/// A V4 presigned URL is valid from `x-oss-date` (give or take the skew) for `x-oss-expires`
/// seconds.
fn check_v4_expiry(date_time: &str, expires: &str, wall_now: DateTime<Utc>) -> OssResult<()> {
    let start = chrono::NaiveDateTime::parse_from_str(date_time, "%Y%m%dT%H%M%SZ")
        .map_err(|_| OssError::access_denied("Invalid argument: x-oss-date."))?
        .and_utc();
    let seconds: i64 = expires
        .parse()
        .ok()
        .filter(|s| (1..=MAX_V4_EXPIRES_SECONDS).contains(s))
        .ok_or_else(|| {
            OssError::invalid_argument(format!(
                "x-oss-expires must be a number of seconds from 1 to {MAX_V4_EXPIRES_SECONDS}."
            ))
        })?;
    if (start - wall_now).num_seconds() > MAX_SKEW_SECONDS {
        return Err(OssError::new(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", date_time.to_string())
        .with("ServerTime", super::iso_ms(wall_now.timestamp_millis())));
    }
    let end = start.timestamp().saturating_add(seconds);
    if wall_now.timestamp() > end {
        return Err(OssError::access_denied("Request has expired.")
            .with("Expires", super::iso_ms(end.saturating_mul(1000)))
            .with("ServerTime", super::iso_ms(wall_now.timestamp_millis())));
    }
    Ok(())
}

/// The V4 canonical request the client must have signed for this reading of the address: the
/// URI is `/<bucket>/<key>` in both addressing styles; a presigned URL signs every parameter but
/// `x-oss-signature`.
#[must_use]
pub fn canonical_request_v4(
    r: &OssRequest,
    t: &Target,
    additional_headers: &[String],
    presigned: bool,
) -> String {
    let skip: &[&str] = if presigned { &["x-oss-signature"] } else { &[] };
    sign_v4::canonical_request(
        &r.method,
        &sign_v4::canonical_uri(t.bucket.as_deref(), t.key.as_deref().unwrap_or_default()),
        &sign_v4::canonical_query(&r.query, skip),
        &sign_v4::canonical_headers(&r.headers, additional_headers),
        &sign_v4::additional_headers_line(additional_headers),
        r.header("x-oss-content-sha256")
            .unwrap_or(sign_v4::UNSIGNED_PAYLOAD),
    )
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
    let (ak, token) = match claim {
        Claim::Anonymous => {
            return Err(OssError::access_denied(
                "You have no right to access this object because of bucket acl.",
            ))
        }
        Claim::Header {
            access_key_id,
            token,
            ..
        }
        | Claim::Presigned {
            access_key_id,
            token,
            ..
        }
        | Claim::V4 {
            access_key_id,
            token,
            ..
        } => (access_key_id, token),
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
    let mismatch = || {
        OssError::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    };
    if let Claim::V4 {
        signature,
        scope,
        date_time,
        additional_headers,
        expires,
        ..
    } = claim
    {
        let mut first: Option<(String, String)> = None;
        for t in candidates {
            let cr = canonical_request_v4(r, t, additional_headers, expires.is_some());
            let sts = sign_v4::string_to_sign(date_time, scope, &cr);
            if sign_v4::verify(&credential.secret, scope, &sts, signature) {
                return Ok((credential.caller, t.clone()));
            }
            first.get_or_insert((cr, sts));
        }
        let (cr, sts) = first.unwrap_or_default();
        return Err(mismatch()
            .with("StringToSign", sts.clone())
            .with("StringToSignBytes", sign::bytes_hex(&sts))
            .with("CanonicalRequest", cr)
            .with("OSSAccessKeyId", ak.clone()));
    }
    let (Claim::Header {
        signature,
        date: date_line,
        ..
    }
    | Claim::Presigned {
        signature,
        expires: date_line,
        ..
    }) = claim
    else {
        return Err(OssError::internal());
    };
    let mut first: Option<String> = None;
    for t in candidates {
        let sts = string_to_sign(r, t, date_line);
        if sign::verify(&credential.secret, &sts, signature) {
            return Ok((credential.caller, t.clone()));
        }
        first.get_or_insert(sts);
    }
    let sts = first.unwrap_or_default();
    Err(mismatch()
        .with("StringToSign", sts.clone())
        .with("StringToSignBytes", sign::bytes_hex(&sts))
        .with("OSSAccessKeyId", ak.clone()))
}
