//! Signature, timestamp and nonce checks for RPC requests (reference/signing.md). The order
//! follows the suggested server order: signature parameters, timestamp, key, token, signature,
//! nonce (a forged request never burns a nonce).

use subtle::ConstantTimeEq;

use crate::protocol::request::RpcRequest;
use crate::protocol::{sign_v1, sign_v3, ApiError, ApiResult};

/// Largest difference allowed between the signed time and the wall clock.
pub const MAX_SKEW_SECONDS: i64 = 15 * 60;

/// What a request claims before any secret is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub access_key_id: String,
    pub security_token: Option<String>,
    pub nonce: String,
    pub timestamp: i64,
    pub scheme: Scheme,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    V1 {
        algorithm: sign_v1::Algorithm,
        signature: String,
    },
    V3(sign_v3::Authorization),
}

/// V3 when the Authorization header says so, else V1.
#[must_use]
pub fn is_v3(req: &RpcRequest) -> bool {
    req.header("authorization")
        .is_some_and(|h| h.starts_with("ACS3-"))
}

/// Reads the signature parts; refuses what is missing or malformed.
pub fn claim(req: &RpcRequest) -> ApiResult<Claim> {
    if is_v3(req) {
        claim_v3(req)
    } else {
        claim_v1(req)
    }
}

fn claim_v1(req: &RpcRequest) -> ApiResult<Claim> {
    let get = |name: &str| -> ApiResult<String> {
        req.param(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::missing_parameter(name))
    };
    let access_key_id = get("AccessKeyId")?;
    let signature = get("Signature")?;
    let method = get("SignatureMethod")?;
    let version = get("SignatureVersion")?;
    let nonce = get("SignatureNonce")?;
    let timestamp = get("Timestamp")?;
    let algorithm = sign_v1::Algorithm::from_method(&method).ok_or_else(|| {
        ApiError::incomplete_signature("SignatureMethod must be HMAC-SHA1 or HMAC-SHA256.")
    })?;
    if version != "1.0" {
        return Err(ApiError::incomplete_signature(
            "SignatureVersion must be 1.0.",
        ));
    }
    Ok(Claim {
        access_key_id,
        security_token: req
            .param("SecurityToken")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        nonce,
        timestamp: parse_timestamp(&timestamp)?,
        scheme: Scheme::V1 {
            algorithm,
            signature,
        },
    })
}

fn claim_v3(req: &RpcRequest) -> ApiResult<Claim> {
    let header = req.header("authorization").unwrap_or_default();
    let auth = sign_v3::parse_authorization(header)
        .map_err(|e| ApiError::incomplete_signature(&format!("{e}.")))?;
    let signed = |name: &str| auth.signed_headers.iter().any(|h| h == name);
    if !signed("host") {
        return Err(ApiError::incomplete_signature(
            "SignedHeaders must include host.",
        ));
    }
    if let Some((name, _)) = req
        .headers
        .iter()
        .find(|(k, _)| k.starts_with("x-acs-") && !signed(k))
    {
        return Err(ApiError::incomplete_signature(&format!(
            "SignedHeaders must include {name}."
        )));
    }
    let header_value = |name: &'static str| -> ApiResult<String> {
        req.header(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ApiError::missing_parameter(name))
    };
    let nonce = header_value("x-acs-signature-nonce")?;
    let date = header_value("x-acs-date")?;
    if let Some(claimed) = req.header("x-acs-content-sha256") {
        let actual = sign_v3::sha256_hex(&req.body);
        if !claimed.eq_ignore_ascii_case(&actual) {
            return Err(ApiError::new(
                400,
                "SignatureDoesNotMatch",
                format!("The x-acs-content-sha256 header does not match the request body: expected:{actual}"),
            ));
        }
    }
    Ok(Claim {
        access_key_id: auth.access_key_id.clone(),
        security_token: req
            .header("x-acs-security-token")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        nonce,
        timestamp: parse_timestamp(&date)?,
        scheme: Scheme::V3(auth),
    })
}

fn parse_timestamp(s: &str) -> ApiResult<i64> {
    crate::clock::parse_iso(s)
        .map(|t| t.timestamp())
        .ok_or_else(ApiError::timestamp_format)
}

/// Refuses a signed time more than 15 minutes from the wall clock.
pub fn check_skew(claim: &Claim, wall_now: i64) -> ApiResult<()> {
    if (claim.timestamp - wall_now).abs() > MAX_SKEW_SECONDS {
        return Err(ApiError::timestamp_expired());
    }
    Ok(())
}

/// Recomputes the signature with `secret` and compares in constant time.
pub fn check_signature(req: &RpcRequest, claim: &Claim, secret: &str) -> ApiResult<()> {
    match &claim.scheme {
        Scheme::V1 {
            algorithm,
            signature,
        } => {
            let sts = sign_v1::string_to_sign(&req.method, &req.all_params());
            let expected = sign_v1::sign(secret, &sts, *algorithm);
            if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
                Ok(())
            } else {
                Err(ApiError::signature_does_not_match(&sts))
            }
        }
        Scheme::V3(auth) => {
            let payload_hash = req
                .header("x-acs-content-sha256")
                .map_or_else(|| sign_v3::sha256_hex(&req.body), str::to_string);
            let canonical = sign_v3::canonical_request(
                &req.method,
                &req.path,
                &req.query,
                &req.headers,
                &auth.signed_headers,
                &payload_hash,
            );
            let sts = sign_v3::string_to_sign(&canonical);
            let expected = sign_v3::sign(secret, &sts);
            if bool::from(
                expected
                    .as_bytes()
                    .ct_eq(auth.signature.to_ascii_lowercase().as_bytes()),
            ) {
                Ok(())
            } else {
                Err(ApiError::signature_does_not_match(
                    &sts.replace('\n', "\\n"),
                ))
            }
        }
    }
}
