//! The one wire error of the RPC products (reference/errors.md). Handlers return
//! `Result<T, ApiError>`; the encoder adds RequestId, HostId and Recommend.

use std::borrow::Cow;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Real 403s carry it; clients may ignore it.
    pub access_denied_detail: Option<Box<Map<String, Value>>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            access_denied_detail: None,
        }
    }

    #[must_use]
    pub fn with_detail(mut self, detail: Map<String, Value>) -> Self {
        self.access_denied_detail = Some(Box::new(detail));
        self
    }

    // ---- protocol and signature (errors.md "Common error codes") ----

    #[must_use]
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(400, "MissingParameter", missing_message(name))
    }

    #[must_use]
    pub fn missing_with_code(code: String, name: &str) -> Self {
        Self::new(400, code, missing_message(name))
    }

    #[must_use]
    pub fn invalid_parameter(name: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid."),
        )
    }

    #[must_use]
    pub fn incomplete_signature(why: &str) -> Self {
        Self::new(
            400,
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards. {why}"),
        )
    }

    /// aliyun-python-sdk-core splits this message at ':' and compares the tail with its own
    /// string to sign (signing.md), so the form is fixed.
    #[must_use]
    pub fn signature_does_not_match(server_string_to_sign: &str) -> Self {
        Self::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{server_string_to_sign}"
            ),
        )
    }

    #[must_use]
    pub fn timestamp_format() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    }

    #[must_use]
    pub fn timestamp_expired() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )
    }

    #[must_use]
    pub fn nonce_used() -> Self {
        Self::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    #[must_use]
    pub fn access_key_not_found() -> Self {
        Self::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    #[must_use]
    pub fn access_key_inactive() -> Self {
        Self::new(
            400,
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        )
    }

    #[must_use]
    pub fn missing_security_token() -> Self {
        Self::new(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        )
    }

    #[must_use]
    pub fn security_token_expired() -> Self {
        Self::new(
            400,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        )
    }

    #[must_use]
    pub fn security_token_malformed() -> Self {
        Self::new(
            400,
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed.",
        )
    }

    #[must_use]
    pub fn security_token_mismatch() -> Self {
        Self::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )
    }

    #[must_use]
    pub fn invalid_version() -> Self {
        Self::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    }

    #[must_use]
    pub fn action_not_found() -> Self {
        Self::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }

    #[must_use]
    pub fn unsupported_method() -> Self {
        Self::new(
            400,
            "UnsupportedHTTPMethod",
            "This http method is not supported.",
        )
    }

    #[must_use]
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("The request body exceeds the limit of {limit} bytes."),
        )
    }

    /// Internal faults answer the real code; the detail goes to the log only.
    #[must_use]
    pub fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    }

    /// Logs the underlying fault and answers `InternalError`.
    pub fn internal_from(err: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::internal()
    }

    // ---- authorization ----

    /// RAM and STS deny with this (errors.md).
    #[must_use]
    pub fn no_permission() -> Self {
        Self::new(
            403,
            "NoPermission",
            "You are not authorized to do this action. You should be authorized by RAM.",
        )
    }

    /// ECS denies with this (errors.md).
    #[must_use]
    pub fn forbidden_ram() -> Self {
        Self::new(
            403,
            "Forbidden.RAM",
            "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
        )
    }
}

fn missing_message(name: &str) -> String {
    format!("The input parameter \"{name}\" that is mandatory for processing this request is not supplied.")
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal_from(&e)
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        Self::internal_from(&e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
