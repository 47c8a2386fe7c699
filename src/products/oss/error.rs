//! The OSS error envelope (reference/oss.md "Errors"): `application/xml`,
//! `<Error><Code/><Message/><RequestId/><HostId/>...extra...</Error>`; for HEAD the same XML
//! goes base64-encoded in `x-oss-err` and the body stays empty.

use crate::protocol::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Extra elements after HostId, in order (BucketName, Key, StringToSign, ...).
    pub extra: Vec<(&'static str, String)>,
}

pub type OssResult<T> = Result<T, OssError>;

impl OssError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    #[must_use]
    pub fn no_such_bucket(bucket: &str) -> Self {
        Self::new(404, "NoSuchBucket", "The specified bucket does not exist.")
            .with("BucketName", bucket)
    }

    #[must_use]
    pub fn no_such_key(key: &str) -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.").with("Key", key)
    }

    #[must_use]
    pub fn bucket_exists(bucket: &str) -> Self {
        Self::new(
            409,
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
        )
        .with("BucketName", bucket)
    }

    #[must_use]
    pub fn bucket_not_empty(bucket: &str) -> Self {
        Self::new(
            409,
            "BucketNotEmpty",
            "The bucket has objects. Please delete them first.",
        )
        .with("BucketName", bucket)
    }

    #[must_use]
    pub fn invalid_bucket_name(bucket: &str) -> Self {
        Self::new(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        )
        .with("BucketName", bucket)
    }

    #[must_use]
    pub fn invalid_object_name() -> Self {
        Self::new(
            400,
            "InvalidObjectName",
            "The specified object is not valid.",
        )
    }

    #[must_use]
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    #[must_use]
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }

    #[must_use]
    pub fn malformed_xml() -> Self {
        Self::new(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema.",
        )
    }

    #[must_use]
    pub fn invalid_access_key_id(ak: &str, disabled: bool) -> Self {
        let message = if disabled {
            "The OSS Access Key Id you provided is disabled."
        } else {
            "The OSS Access Key Id you provided does not exist in our records."
        };
        Self::new(403, "InvalidAccessKeyId", message).with("OSSAccessKeyId", ak)
    }

    #[must_use]
    pub fn not_implemented(what: &str) -> Self {
        // oss2 maps (400, NotImplemented); a 5xx would make clients retry.
        Self::new(
            400,
            "NotImplemented",
            format!("acsemu does not implement {what}."),
        )
    }

    #[must_use]
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
    }

    #[must_use]
    pub fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }
}

/// Store faults (the detail is already in the log) and identity errors, in OSS's words.
impl From<ApiError> for OssError {
    fn from(e: ApiError) -> Self {
        match e.code.as_ref() {
            "InvalidAccessKeyId.NotFound" => Self::invalid_access_key_id("", false),
            "InvalidAccessKeyId.Inactive" => Self::invalid_access_key_id("", true),
            "InvalidSecurityToken.Expired" => Self::new(
                403,
                "SecurityTokenExpired",
                "The security token you provided has expired.",
            ),
            "MissingSecurityToken"
            | "InvalidSecurityToken.Malformed"
            | "InvalidSecurityToken.MismatchWithAccessKey" => Self::new(
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
            ),
            _ => Self::internal(),
        }
    }
}

impl From<rusqlite::Error> for OssError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::from(e).into()
    }
}
