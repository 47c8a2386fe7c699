//! Enforcement: the caller's policies evaluated for each permission an action declares
//! (reference/policy.md "Evaluation"). No cache: every request reads the policies in its own
//! transaction, so a grant or a revoke counts from the very next call.

use serde_json::{Map, Value};

use super::identity::Caller;
use super::policy::{
    self, ConditionKeys, Decision, DocumentKind, NamedPolicy, PolicyDocument, RequestContext,
};
use crate::catalog::{Ctx, Permission};
use crate::protocol::{ApiError, ApiResult};
use crate::store;

/// The policies a caller holds, parsed.
struct Held {
    /// (name, type, document)
    identity: Vec<(String, String, PolicyDocument)>,
    session: Option<PolicyDocument>,
}

fn held(ctx: &Ctx<'_>) -> ApiResult<Held> {
    let (rows, session_text) = match ctx.caller {
        Caller::Root { .. } => (Vec::new(), None),
        Caller::User { user_id, .. } => {
            (store::policies::documents_for_user(ctx.tx, user_id)?, None)
        }
        Caller::Session(s) => (
            store::policies::documents_for("Role", &s.role_id, ctx.tx)?,
            s.session_policy.clone(),
        ),
    };
    let mut identity = Vec::with_capacity(rows.len());
    for (name, kind, text) in rows {
        // INVARIANT: documents were validated on write; one that no longer parses grants nothing.
        if let Ok(doc) = policy::parse(&text, DocumentKind::Permission) {
            identity.push((name, kind, doc));
        }
    }
    let session = match session_text {
        Some(t) => Some(policy::parse(&t, DocumentKind::Session).map_err(|e| {
            ApiError::internal_from(&format!("stored session policy unreadable: {}", e.message))
        })?),
        None => None,
    };
    Ok(Held { identity, session })
}

/// The condition keys of this request (policy.md "Common keys").
#[must_use]
pub fn condition_keys(ctx: &Ctx<'_>) -> ConditionKeys {
    let mut keys = ConditionKeys::new();
    keys.set("acs:CurrentTime", vec![crate::clock::iso(ctx.now)]);
    keys.set(
        "acs:SecureTransport",
        vec![ctx.facts.secure_transport.to_string()],
    );
    keys.set("acs:MFAPresent", vec!["false".to_string()]);
    keys.set("acs:PrincipalARN", vec![ctx.caller.arn(ctx.account_id())]);
    keys.set("acs:AccessId", vec![ctx.caller.access_key_id().to_string()]);
    if let Some(ip) = &ctx.facts.source_ip {
        keys.set("acs:SourceIp", vec![ip.clone()]);
    }
    keys
}

/// Allows the root account and, with `--enforce off`, everyone; evaluates the rest.
pub fn authorize(ctx: &Ctx<'_>, permissions: &[Permission]) -> ApiResult<()> {
    if permissions.is_empty() || !ctx.state.config.enforce {
        return Ok(());
    }
    if matches!(ctx.caller, Caller::Root { .. }) {
        return Ok(());
    }
    let held = held(ctx)?;
    let keys = condition_keys(ctx);
    for p in permissions {
        let rc = RequestContext {
            action: &p.action,
            resource: &p.resource,
            keys: &keys,
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
        let decision = match (&ctx.caller, &held.session) {
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
            return Err(denial(ctx, p, &decision));
        }
    }
    Ok(())
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
