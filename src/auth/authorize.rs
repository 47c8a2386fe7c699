//! Enforcement: the caller's policies evaluated for each permission an action declares
//! (reference/policy.md "Evaluation"). Every request reads the caller's policies in its own
//! transaction, so a grant or a revoke counts from the very next call; only the parsing of a
//! document's text is remembered (auth::parsed), which cannot go stale.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde_json::{Map, Value};

use super::identity::Caller;
use super::policy::{
    self, ConditionKeys, Decision, DocumentKind, NamedPolicy, PolicyDocument, RequestContext,
};
use crate::catalog::{Ctx, Permission, RequestFacts};
use crate::protocol::{ApiError, ApiResult};
use crate::server::AppState;
use crate::store;

/// The policies a caller holds, parsed.
struct Held {
    /// (name, type, document)
    identity: Vec<(String, String, Arc<PolicyDocument>)>,
    session: Option<Arc<PolicyDocument>>,
}

fn held(tx: &Transaction<'_>, caller: &Caller) -> ApiResult<Held> {
    let (rows, session_text) = match caller {
        Caller::Root { .. } => (Vec::new(), None),
        Caller::User { user_id, .. } => (store::policies::documents_for_user(tx, user_id)?, None),
        Caller::Session(s) => (
            store::policies::documents_for("Role", &s.role_id, tx)?,
            s.session_policy.clone(),
        ),
    };
    let mut identity = Vec::with_capacity(rows.len());
    for (name, kind, text) in rows {
        // INVARIANT: documents were validated on write; one that no longer parses grants nothing.
        if let Ok(doc) = super::parsed::parse(&text, DocumentKind::Permission) {
            identity.push((name, kind, doc));
        }
    }
    let session = match session_text {
        Some(t) => Some(
            super::parsed::parse(&t, DocumentKind::Session).map_err(|e| {
                ApiError::internal_from(&format!("stored session policy unreadable: {}", e.message))
            })?,
        ),
        None => None,
    };
    Ok(Held { identity, session })
}

/// The condition keys of this request (policy.md "Common keys").
#[must_use]
pub fn condition_keys(ctx: &Ctx<'_>) -> ConditionKeys {
    common_condition_keys(ctx.caller, ctx.account_id(), ctx.now, ctx.facts)
}

/// The common condition keys of a request made by `caller`, for paths without a [`Ctx`] (OSS).
#[must_use]
pub fn common_condition_keys(
    caller: &Caller,
    account_id: &str,
    now: DateTime<Utc>,
    facts: &RequestFacts,
) -> ConditionKeys {
    let mut keys = ConditionKeys::new();
    keys.set("acs:CurrentTime", vec![crate::clock::iso(now)]);
    keys.set(
        "acs:SecureTransport",
        vec![facts.secure_transport.to_string()],
    );
    keys.set("acs:MFAPresent", vec!["false".to_string()]);
    keys.set("acs:PrincipalARN", vec![caller.arn(account_id)]);
    keys.set("acs:AccessId", vec![caller.access_key_id().to_string()]);
    if let Some(ip) = &facts.source_ip {
        keys.set("acs:SourceIp", vec![ip.clone()]);
    }
    keys
}

/// Why [`authorize_caller`] refused.
#[derive(Debug)]
pub enum Refusal {
    /// The policies refused this permission.
    Denied(Box<Denied>),
    /// The policies could not be read.
    Fault(ApiError),
}

/// A refused permission and the decision (which statement decided).
#[derive(Debug)]
pub struct Denied {
    pub permission: Permission,
    pub decision: Decision,
}

/// Allows the root account and, with `--enforce off`, everyone; evaluates the caller's
/// policies for each permission otherwise. The RPC path ([`authorize`]) and the OSS path share it.
pub fn authorize_caller(
    state: &AppState,
    tx: &Transaction<'_>,
    caller: &Caller,
    permissions: &[Permission],
    keys: &ConditionKeys,
) -> Result<(), Refusal> {
    if permissions.is_empty() || !state.config.enforce {
        return Ok(());
    }
    if matches!(caller, Caller::Root { .. }) {
        return Ok(());
    }
    let held = held(tx, caller).map_err(Refusal::Fault)?;
    for p in permissions {
        let rc = RequestContext {
            action: &p.action,
            resource: &p.resource,
            keys,
        };
        let named: Vec<NamedPolicy<'_>> = held
            .identity
            .iter()
            .map(|(name, kind, doc)| NamedPolicy {
                name,
                policy_type: kind,
                document: doc,
            })
            .collect();
        let decision = match (caller, &held.session) {
            (Caller::Session(_), Some(doc)) => {
                let session = NamedPolicy {
                    name: "SessionPolicy",
                    policy_type: "Session",
                    document: doc,
                };
                policy::evaluate_session(&named, Some(&session), &rc)
            }
            (Caller::Session(_), None) => policy::evaluate_session(&named, None, &rc),
            _ => policy::evaluate(&named, &rc),
        };
        if !decision.is_allowed() {
            return Err(Refusal::Denied(Box::new(Denied {
                permission: p.clone(),
                decision,
            })));
        }
    }
    Ok(())
}

/// Allows the root account and, with `--enforce off`, everyone; evaluates the rest.
pub fn authorize(ctx: &Ctx<'_>, permissions: &[Permission]) -> ApiResult<()> {
    if permissions.is_empty() || !ctx.state.config.enforce {
        return Ok(());
    }
    let keys = condition_keys(ctx);
    match authorize_caller(ctx.state, ctx.tx, ctx.caller, permissions, &keys) {
        Ok(()) => Ok(()),
        Err(Refusal::Denied(d)) => Err(denial(ctx, &d.permission, &d.decision)),
        Err(Refusal::Fault(e)) => Err(e),
    }
}

/// The product's denial, with the real AccessDeniedDetail and, in the message, what decided.
fn denial(ctx: &Ctx<'_>, p: &Permission, decision: &Decision) -> ApiError {
    let (kind, why) = match decision {
        Decision::ExplicitDeny(s) => (
            "ExplicitDeny",
            format!(
                "explicitly denied by statement {} of {} policy {}",
                s.index + 1,
                s.policy_type,
                s.policy_name
            ),
        ),
        _ => (
            "ImplicitDeny",
            "no statement of the caller's policies allows it".to_string(),
        ),
    };
    tracing::info!(action = %p.action, resource = %p.resource, caller = %ctx.caller.label(), decision = kind, why = %why, "denied");
    let mut err = (ctx.product.deny)();
    err.message = format!(
        "{} Action {} on {} was refused: {why}.",
        err.message, p.action, p.resource
    );
    let (principal_type, display) = match ctx.caller {
        Caller::Root { .. } => ("Account", ctx.account_id().to_string()),
        Caller::User { user_id, .. } => ("SubUser", user_id.clone()),
        Caller::Session(s) => (
            "AssumedRoleUser",
            format!("{}:{}", s.role_name, s.session_name),
        ),
    };
    let policy_type = match decision {
        Decision::ExplicitDeny(s) if s.policy_type == "Session" => "SessionPolicy",
        _ => "AccountLevelIdentityBasedPolicy",
    };
    let mut detail = Map::new();
    detail.insert("AuthAction".into(), Value::String(p.action.clone()));
    detail.insert("AuthPrincipalDisplayName".into(), Value::String(display));
    detail.insert(
        "AuthPrincipalOwnerId".into(),
        Value::String(ctx.account_id().to_string()),
    );
    detail.insert(
        "AuthPrincipalType".into(),
        Value::String(principal_type.into()),
    );
    detail.insert("NoPermissionType".into(), Value::String(kind.into()));
    detail.insert("PolicyType".into(), Value::String(policy_type.into()));
    err.with_detail(detail)
}
