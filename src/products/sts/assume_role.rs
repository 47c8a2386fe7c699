//! AssumeRole (reference/sts.md): a RAM user or a role session trades its identity for a role's
//! temporary credentials, if its own policies allow `sts:AssumeRole` on the role AND the role's
//! trust policy names it.

use rusqlite::Transaction;
use serde_json::{json, Map, Value};

use crate::auth::authorize::condition_keys;
use crate::auth::identity::Caller;
use crate::auth::policy::{self, DocumentKind, TrustedCaller};
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso_unix;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, roles::RoleRow, sts::SessionRow};

pub const DEFAULT_DURATION: i64 = 3600;
pub const MIN_DURATION: i64 = 900;
/// A session assumed with a session's credentials lasts at most an hour (sts.md, role chaining).
pub const CHAINED_MAX_DURATION: i64 = 3600;
pub const MAX_SESSION_POLICY_BYTES: usize = 2048;

pub const ASSUME_ROLE: ActionSpec = ActionSpec {
    name: "AssumeRole",
    write: true,
    permissions: |ctx| {
        role_from_arn(ctx.params.get("RoleArn").unwrap_or_default())
            .map(|(account, name)| {
                vec![Permission::new(
                    "sts:AssumeRole",
                    format!("acs:ram::{account}:role/{name}"),
                )]
            })
            .unwrap_or_default()
    },
    handler: assume_role,
};

/// `acs:ram::<account>:role/<name>` → (account, name).
#[must_use]
pub fn role_from_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, name) = rest.split_once(":role/")?;
    (!account.is_empty() && !name.is_empty() && account.chars().all(|c| c.is_ascii_digit()))
        .then_some((account, name))
}

fn arn_error() -> ApiError {
    ApiError::new(
        400,
        "InvalidParameter.RoleArn",
        "The parameter RoleArn is wrongly formed.",
    )
}

fn role_missing() -> ApiError {
    // Sic: the real message has a space before the period (sts.md).
    ApiError::new(
        404,
        "EntityNotExist.Role",
        "The specified Role not exists .",
    )
}

fn assume_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    if let Caller::Root { .. } = ctx.caller {
        let mut e = ApiError::no_permission();
        e.message = format!(
            "{} An Alibaba Cloud account cannot call AssumeRole: sign with a RAM user or a role.",
            e.message
        );
        return Err(e);
    }
    let (account, role_name) =
        role_from_arn(ctx.params.required("RoleArn")?).ok_or_else(arn_error)?;
    if account != ctx.account_id() {
        return Err(role_missing());
    }
    let role = store::roles::get(ctx.tx, role_name)?.ok_or_else(role_missing)?;
    let session_name = ctx.params.required("RoleSessionName")?;

    let chained = matches!(ctx.caller, Caller::Session(_));
    let max = if chained {
        CHAINED_MAX_DURATION.min(role.max_session_duration)
    } else {
        role.max_session_duration
    };
    let duration = ctx
        .params
        .int("DurationSeconds")
        .unwrap_or(DEFAULT_DURATION);
    if !(MIN_DURATION..=max).contains(&duration) {
        return Err(ApiError::new(
            400,
            "InvalidParameter.DurationSeconds",
            format!(
                "The Min/Max value of DurationSeconds is 15min/{}.",
                if max == 3600 {
                    "1hr".to_string()
                } else {
                    format!("{max}s")
                }
            ),
        ));
    }
    let session_policy = ctx.params.get("Policy");
    if let Some(p) = session_policy {
        if p.len() > MAX_SESSION_POLICY_BYTES {
            return Err(ApiError::new(
                400,
                "InvalidParameter.PolicySize",
                "The size of Policy must be smaller than 2048 bytes.",
            ));
        }
        policy::parse(p, DocumentKind::Session).map_err(|e| {
            ApiError::new(
                400,
                "InvalidParameter.PolicyGrammar",
                format!(
                    "The parameter Policy has not passed grammar check. {}",
                    e.message
                ),
            )
        })?;
    }
    check_trust(ctx, &role)?;

    let source = match ctx.caller {
        Caller::Session(_) => "role",
        _ => "user",
    };
    let s = issue(
        ctx.tx,
        &role,
        session_name,
        duration,
        session_policy,
        source,
        &ctx.caller.arn(ctx.account_id()),
        ctx.now.timestamp(),
    )?;
    let mut out = Map::new();
    out.insert(
        "AssumedRoleUser".into(),
        json!({
            "Arn": assumed_role_arn(ctx.account_id(), &role.role_name, session_name),
            "AssumedRoleId": format!("{}:{session_name}", role.role_id),
        }),
    );
    out.insert("Credentials".into(), credentials_json(&s));
    if let Some(si) = ctx.params.get("SourceIdentity") {
        out.insert("SourceIdentity".into(), json!(si));
    }
    Ok(out)
}

/// The trust policy must let this caller assume the role; a service-only trust (an ECS role)
/// trusts no user.
fn check_trust(ctx: &Ctx<'_>, role: &RoleRow) -> ApiResult<()> {
    let deny = |why: &str| {
        let mut e = ApiError::no_permission();
        e.message = format!("{} {why}", e.message);
        e
    };
    let trust = crate::auth::parsed::parse(&role.assume_role_policy_document, DocumentKind::Trust)
        .map_err(|_| deny("The role's trust policy cannot be read."))?;
    let mut keys = condition_keys(ctx);
    if let Some(x) = ctx.params.get("ExternalId") {
        keys.set("sts:ExternalId", vec![x.to_string()]);
    }
    let arn = ctx.caller.arn(ctx.account_id());
    let caller = TrustedCaller::Ram {
        principal_arn: &arn,
        account_id: ctx.account_id(),
    };
    if policy::trusts(&trust, &caller, "sts:AssumeRole", &keys).is_allowed() {
        Ok(())
    } else {
        Err(deny(&format!(
            "The trust policy of role {} does not allow {arn} to assume it.",
            role.role_name
        )))
    }
}

#[must_use]
pub fn assumed_role_arn(account: &str, role: &str, session: &str) -> String {
    format!("acs:ram::{account}:assumed-role/{role}/{session}")
}

#[must_use]
pub fn credentials_json(s: &SessionRow) -> Value {
    json!({
        "AccessKeyId": s.access_key_id,
        "AccessKeySecret": s.access_key_secret,
        "SecurityToken": s.security_token,
        "Expiration": iso_unix(s.expiration),
    })
}

/// Issues and stores a role session; the metadata service uses it too.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    tx: &Transaction<'_>,
    role: &RoleRow,
    session_name: &str,
    duration: i64,
    session_policy: Option<&str>,
    source: &str,
    source_arn: &str,
    now: i64,
) -> ApiResult<SessionRow> {
    let s = SessionRow {
        access_key_id: ids::sts_access_key_id(),
        access_key_secret: ids::sts_access_key_secret(),
        security_token: ids::security_token(),
        role_id: role.role_id.clone(),
        role_name: role.role_name.clone(),
        session_name: session_name.to_string(),
        session_policy: session_policy.map(str::to_string),
        source: source.to_string(),
        source_arn: source_arn.to_string(),
        expiration: now + duration,
        create_date: now,
    };
    store::sts::insert(tx, &s)?;
    store::sts::prune(tx, now)?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_role_arns() {
        assert_eq!(
            role_from_arn("acs:ram::1234567890123456:role/ecs-app-role"),
            Some(("1234567890123456", "ecs-app-role"))
        );
        assert_eq!(role_from_arn("acs:ram::x:role/a"), None);
        assert_eq!(role_from_arn("acs:ram::123:user/a"), None);
        assert_eq!(role_from_arn("acs:ram::123:role/"), None);
    }
}
