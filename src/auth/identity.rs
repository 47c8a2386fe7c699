//! Who is calling: the account's root key, a RAM user's key, or STS credentials.

use rusqlite::Transaction;

use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, sts::SessionRow};

#[derive(Debug, Clone)]
pub enum Caller {
    Root {
        access_key_id: String,
    },
    User {
        user_id: String,
        user_name: String,
        access_key_id: String,
    },
    Session(Box<SessionRow>),
}

impl Caller {
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        match self {
            Self::Root { access_key_id } | Self::User { access_key_id, .. } => access_key_id,
            Self::Session(s) => &s.access_key_id,
        }
    }

    /// The ARN policies and trust documents see (`acs:PrincipalARN`).
    #[must_use]
    pub fn arn(&self, account_id: &str) -> String {
        match self {
            Self::Root { .. } => format!("acs:ram::{account_id}:root"),
            Self::User { user_name, .. } => format!("acs:ram::{account_id}:user/{user_name}"),
            Self::Session(s) => format!(
                "acs:ram::{account_id}:assumed-role/{}/{}",
                s.role_name, s.session_name
            ),
        }
    }

    /// A short label for logs: never a secret.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Root { .. } => "root".to_string(),
            Self::User { user_name, .. } => format!("user/{user_name}"),
            Self::Session(s) => format!("assumed-role/{}/{}", s.role_name, s.session_name),
        }
    }
}

/// The secret a request must be signed with, and who it belongs to.
pub struct Credential {
    pub caller: Caller,
    pub secret: String,
}

/// Finds the key and checks its state. `token` is the SecurityToken the request carried.
pub fn lookup(
    tx: &Transaction<'_>,
    root: (&str, &str),
    access_key_id: &str,
    token: Option<&str>,
    now_unix: i64,
) -> ApiResult<Credential> {
    if access_key_id == root.0 {
        return Ok(Credential {
            caller: Caller::Root {
                access_key_id: access_key_id.to_string(),
            },
            secret: root.1.to_string(),
        });
    }
    if access_key_id.starts_with("STS.") {
        let token = token.ok_or_else(ApiError::missing_security_token)?;
        let Some(by_token) = store::sts::get_by_token(tx, token)? else {
            // Real tokens are self-describing; one we never issued cannot be read.
            return Err(ApiError::security_token_malformed());
        };
        if by_token.access_key_id != access_key_id {
            return Err(ApiError::security_token_mismatch());
        }
        if now_unix >= by_token.expiration {
            return Err(ApiError::security_token_expired());
        }
        return Ok(Credential {
            secret: by_token.access_key_secret.clone(),
            caller: Caller::Session(Box::new(by_token)),
        });
    }
    let Some(key) = store::keys::get(tx, access_key_id)? else {
        return Err(ApiError::access_key_not_found());
    };
    if key.status != "Active" {
        return Err(ApiError::access_key_inactive());
    }
    let user = store::principals::get_user_by_id(tx, &key.user_id)?
        .ok_or_else(ApiError::access_key_not_found)?;
    Ok(Credential {
        caller: Caller::User {
            user_id: user.user_id,
            user_name: user.user_name,
            access_key_id: access_key_id.to_string(),
        },
        secret: key.access_key_secret,
    })
}
