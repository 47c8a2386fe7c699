//! RAM policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
//! CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion,
//! DeletePolicyVersion (reference/ram.md "Policies").
//!
//! System policies are seeded by migrations/0002_system_policies.sql. The actions that change a
//! policy (DeletePolicy, CreatePolicyVersion, SetDefaultPolicyVersion, DeletePolicyVersion) take
//! no PolicyType and look only at Custom policies, so on a System policy they answer
//! `EntityNotExist.Policy` (404): ram.md lists that code (or NoPermission, unverified) for
//! changing a system policy, and 404 is the one a caller can tell from a denial.

use serde_json::{json, Map, Value};

use super::{check_document, max_items, nested, object, page, permission_on, MAX_POLICY_CHARS};
use crate::auth::policy::DocumentKind;
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{
    self,
    policies::{PolicyRow, PolicyVersionRow},
};

pub const CUSTOM: &str = "Custom";
pub const SYSTEM: &str = "System";

/// ram.md: at most 5 versions per policy (`LimitExceeded.Policy.Version`).
pub const MAX_VERSIONS: usize = 5;

const ROTATE_OLDEST: &str = "DeleteOldestNonDefaultVersionWhenLimitExceeded";

pub fn policy_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        "EntityNotExist.Policy",
        format!("The policy does not exist: {name}."),
    )
}

fn version_not_found(name: &str, version: &str) -> ApiError {
    ApiError::new(
        404,
        "EntityNotExist.Policy.Version",
        format!("The policy version does not exist: {name} {version}."),
    )
}

/// A policy by type and name, or `EntityNotExist.Policy`.
pub fn load(ctx: &Ctx<'_>, policy_type: &str, name: &str) -> ApiResult<PolicyRow> {
    store::policies::get_policy(ctx.tx, policy_type, name)?.ok_or_else(|| policy_not_found(name))
}

/// The policy an optional `PolicyType` names: with it, that type only; without it, Custom
/// before System (ram.md GetPolicy: "accept absent -> search Custom then System").
pub fn find(ctx: &Ctx<'_>, name: &str) -> ApiResult<PolicyRow> {
    if let Some(t) = ctx.params.get("PolicyType") {
        return load(ctx, t, name);
    }
    if let Some(p) = store::policies::get_policy(ctx.tx, CUSTOM, name)? {
        return Ok(p);
    }
    load(ctx, SYSTEM, name)
}

fn policy_json(p: &PolicyRow, attachment_count: Option<i64>) -> Value {
    let mut m = Map::new();
    m.insert("PolicyName".into(), json!(p.policy_name));
    m.insert("PolicyType".into(), json!(p.policy_type));
    m.insert("Description".into(), json!(p.description));
    m.insert("DefaultVersion".into(), json!(p.default_version));
    m.insert("CreateDate".into(), json!(p.create_date));
    if let Some(n) = attachment_count {
        m.insert("UpdateDate".into(), json!(p.update_date));
        m.insert("AttachmentCount".into(), json!(n));
    }
    Value::Object(m)
}

fn version_json(p: &PolicyRow, v: &PolicyVersionRow) -> Value {
    json!({
        "VersionId": v.version_id,
        "IsDefaultVersion": v.version_id == p.default_version,
        "PolicyDocument": v.document,
        "CreateDate": v.create_date,
    })
}

fn policy_permission(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    permission_on(ctx, action, "policy", "PolicyName")
}

// ---- CreatePolicy ----

pub const CREATE_POLICY: ActionSpec = ActionSpec {
    name: "CreatePolicy",
    write: true,
    permissions: |ctx| policy_permission(ctx, "CreatePolicy"),
    handler: create_policy,
};

fn create_policy(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let document = ctx.params.required("PolicyDocument")?;
    check_document(document, DocumentKind::Permission, MAX_POLICY_CHARS)?;
    let now = iso(ctx.now);
    let policy = PolicyRow {
        policy_type: CUSTOM.to_string(),
        policy_name: name.to_string(),
        description: ctx
            .params
            .get("Description")
            .unwrap_or_default()
            .to_string(),
        default_version: "v1".to_string(),
        next_version: 2,
        create_date: now.clone(),
        update_date: now.clone(),
    };
    let first = PolicyVersionRow {
        version_id: "v1".to_string(),
        document: document.to_string(),
        create_date: now,
    };
    if !store::policies::insert_policy(ctx.tx, &policy, &first)? {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists.Policy",
            format!("The policy already exists: {name}."),
        ));
    }
    Ok(object("Policy", policy_json(&policy, None)))
}

// ---- GetPolicy ----

pub const GET_POLICY: ActionSpec = ActionSpec {
    name: "GetPolicy",
    write: false,
    permissions: |ctx| policy_permission(ctx, "GetPolicy"),
    handler: get_policy,
};

fn get_policy(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let policy = find(ctx, ctx.params.required("PolicyName")?)?;
    let count =
        store::policies::attachment_count(ctx.tx, &policy.policy_type, &policy.policy_name)?;
    let default = store::policies::get_version(
        ctx.tx,
        &policy.policy_type,
        &policy.policy_name,
        &policy.default_version,
    )?
    // INVARIANT: a policy's default version exists (DeletePolicyVersion refuses to delete it).
    .ok_or_else(|| ApiError::internal_from(&"a policy has lost its default version"))?;
    let mut out = object("Policy", policy_json(&policy, Some(count)));
    out.insert(
        "DefaultPolicyVersion".into(),
        version_json(&policy, &default),
    );
    Ok(out)
}

// ---- ListPolicies ----

pub const LIST_POLICIES: ActionSpec = ActionSpec {
    name: "ListPolicies",
    write: false,
    permissions: |ctx| {
        vec![Permission::new(
            "ram:ListPolicies",
            super::account_resource(ctx),
        )]
    },
    handler: list_policies,
};

/// The marker names the last policy returned as `<type>:<name>` (names cannot hold ':').
fn policy_marker(p: &PolicyRow) -> String {
    format!("{}:{}", p.policy_type, p.policy_name)
}

fn list_policies(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let marker = super::decode_marker(ctx.params.get("Marker"))?;
    let after = match &marker {
        Some(m) => Some(m.split_once(':').ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidParameter.Marker",
                "The specified parameter Marker is not valid.",
            )
        })?),
        None => None,
    };
    let max = max_items(ctx);
    let rows =
        store::policies::list_policies(ctx.tx, ctx.params.get("PolicyType"), after, max + 1)?;
    let mut out = Map::new();
    let rows = page(rows, max, |(p, _)| policy_marker(p), &mut out);
    let items = rows.iter().map(|(p, n)| policy_json(p, Some(*n))).collect();
    out.insert("Policies".into(), nested("Policy", items));
    Ok(out)
}

// ---- DeletePolicy ----

pub const DELETE_POLICY: ActionSpec = ActionSpec {
    name: "DeletePolicy",
    write: true,
    permissions: |ctx| policy_permission(ctx, "DeletePolicy"),
    handler: delete_policy,
};

fn delete_policy(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let policy = load(ctx, CUSTOM, name)?;
    // The codes terraform expects from DeletePolicy (ram.md); note the role one is spelled
    // `DeleteConflict.Role.Policy`, not `DeleteConflict.Policy.Role`.
    let conflicts = [
        (
            "User",
            "DeleteConflict.Policy.User",
            "The policy CAN NOT been attached to any user while deleting the policy",
        ),
        (
            "Group",
            "DeleteConflict.Policy.Group",
            "The policy CAN NOT been attached to any group while deleting the policy",
        ),
        (
            "Role",
            "DeleteConflict.Role.Policy",
            "The policy CAN NOT been attached to any role while deleting the policy",
        ),
    ];
    for (principal_type, code, message) in conflicts {
        if store::policies::attachment_count_by(
            ctx.tx,
            &policy.policy_type,
            &policy.policy_name,
            principal_type,
        )? > 0
        {
            return Err(ApiError::new(409, code, format!("{message}: {name}.")));
        }
    }
    let versions = store::policies::list_versions(ctx.tx, CUSTOM, &policy.policy_name)?;
    if versions.len() > 1 && ctx.params.bool("CascadingDelete") != Some(true) {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Policy.Version",
            format!("The policy CAN NOT has any version except the default version: {name}."),
        ));
    }
    store::policies::delete_policy(ctx.tx, CUSTOM, &policy.policy_name)?;
    Ok(Map::new())
}

// ---- CreatePolicyVersion ----

pub const CREATE_POLICY_VERSION: ActionSpec = ActionSpec {
    name: "CreatePolicyVersion",
    write: true,
    permissions: |ctx| policy_permission(ctx, "CreatePolicyVersion"),
    handler: create_policy_version,
};

fn create_policy_version(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let document = ctx.params.required("PolicyDocument")?;
    let mut policy = load(ctx, CUSTOM, name)?;
    check_document(document, DocumentKind::Permission, MAX_POLICY_CHARS)?;
    let versions = store::policies::list_versions(ctx.tx, CUSTOM, &policy.policy_name)?;
    if versions.len() >= MAX_VERSIONS {
        let oldest = versions
            .iter()
            .find(|v| v.version_id != policy.default_version);
        match (ctx.params.get("RotateStrategy"), oldest) {
            (Some(ROTATE_OLDEST), Some(oldest)) => store::policies::delete_version(
                ctx.tx,
                CUSTOM,
                &policy.policy_name,
                &oldest.version_id,
            )?,
            _ => {
                return Err(ApiError::new(
                    409,
                    "LimitExceeded.Policy.Version",
                    format!(
                        "The count of policy version beyond the current limits: {name} has {MAX_VERSIONS} versions."
                    ),
                ))
            }
        }
    }
    let now = iso(ctx.now);
    let version = PolicyVersionRow {
        version_id: format!("v{}", policy.next_version),
        document: document.to_string(),
        create_date: now.clone(),
    };
    store::policies::insert_version(ctx.tx, CUSTOM, &policy.policy_name, &version)?;
    policy.next_version += 1;
    if ctx.params.bool("SetAsDefault") == Some(true) {
        policy.default_version.clone_from(&version.version_id);
    }
    policy.update_date = now;
    store::policies::update_policy(ctx.tx, &policy)?;
    Ok(object("PolicyVersion", version_json(&policy, &version)))
}

// ---- GetPolicyVersion ----

pub const GET_POLICY_VERSION: ActionSpec = ActionSpec {
    name: "GetPolicyVersion",
    write: false,
    permissions: |ctx| policy_permission(ctx, "GetPolicyVersion"),
    handler: get_policy_version,
};

fn get_policy_version(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let version_id = ctx.params.required("VersionId")?;
    let policy = find(ctx, name)?;
    let version =
        store::policies::get_version(ctx.tx, &policy.policy_type, &policy.policy_name, version_id)?
            .ok_or_else(|| version_not_found(name, version_id))?;
    Ok(object("PolicyVersion", version_json(&policy, &version)))
}

// ---- ListPolicyVersions ----

pub const LIST_POLICY_VERSIONS: ActionSpec = ActionSpec {
    name: "ListPolicyVersions",
    write: false,
    permissions: |ctx| policy_permission(ctx, "ListPolicyVersions"),
    handler: list_policy_versions,
};

fn list_policy_versions(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let policy = find(ctx, ctx.params.required("PolicyName")?)?;
    let versions =
        store::policies::list_versions(ctx.tx, &policy.policy_type, &policy.policy_name)?;
    let items = versions.iter().map(|v| version_json(&policy, v)).collect();
    Ok(object("PolicyVersions", nested("PolicyVersion", items)))
}

// ---- SetDefaultPolicyVersion ----

pub const SET_DEFAULT_POLICY_VERSION: ActionSpec = ActionSpec {
    name: "SetDefaultPolicyVersion",
    write: true,
    permissions: |ctx| policy_permission(ctx, "SetDefaultPolicyVersion"),
    handler: set_default_policy_version,
};

fn set_default_policy_version(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let version_id = ctx.params.required("VersionId")?;
    let mut policy = load(ctx, CUSTOM, name)?;
    let version = store::policies::get_version(ctx.tx, CUSTOM, &policy.policy_name, version_id)?
        .ok_or_else(|| version_not_found(name, version_id))?;
    if policy.default_version != version.version_id {
        policy.default_version = version.version_id;
        policy.update_date = iso(ctx.now);
        store::policies::update_policy(ctx.tx, &policy)?;
    }
    Ok(Map::new())
}

// ---- DeletePolicyVersion ----

pub const DELETE_POLICY_VERSION: ActionSpec = ActionSpec {
    name: "DeletePolicyVersion",
    write: true,
    permissions: |ctx| policy_permission(ctx, "DeletePolicyVersion"),
    handler: delete_policy_version,
};

fn delete_policy_version(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("PolicyName")?;
    let version_id = ctx.params.required("VersionId")?;
    let policy = load(ctx, CUSTOM, name)?;
    let version = store::policies::get_version(ctx.tx, CUSTOM, &policy.policy_name, version_id)?
        .ok_or_else(|| version_not_found(name, version_id))?;
    // `DeleteConflict.Policy.Version.Default` 409 is the code and status of RAM's published
    // error list (AlibabaCloudDocs/ram, API reference "Error messages").
    if version.version_id == policy.default_version {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Policy.Version.Default",
            format!(
                "The default policy version CAN NOT been deleted directly: {name} {version_id}."
            ),
        ));
    }
    store::policies::delete_version(ctx.tx, CUSTOM, &policy.policy_name, &version.version_id)?;
    Ok(Map::new())
}
