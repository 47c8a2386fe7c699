//! RAM roles: CreateRole, GetRole, ListRoles, UpdateRole, DeleteRole.

use serde_json::{json, Map, Value};

use super::{check_document, max_items, nested, page, permission_on, MAX_TRUST_CHARS};
use crate::auth::policy::DocumentKind;
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, roles::RoleRow};

pub const DEFAULT_MAX_SESSION_DURATION: i64 = 3600;

#[must_use]
pub fn role_arn(account_id: &str, role_name: &str) -> String {
    format!("acs:ram::{account_id}:role/{role_name}")
}

pub fn role_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        "EntityNotExist.Role",
        format!("The role does not exist: {name}."),
    )
}

/// Loads a role by name or answers EntityNotExist.Role.
pub fn load(ctx: &Ctx<'_>, name: &str) -> ApiResult<RoleRow> {
    store::roles::get(ctx.tx, name)?.ok_or_else(|| role_not_found(name))
}

fn role_json(ctx: &Ctx<'_>, r: &RoleRow, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("RoleId".into(), json!(r.role_id));
    m.insert("RoleName".into(), json!(r.role_name));
    m.insert(
        "Arn".into(),
        json!(role_arn(ctx.account_id(), &r.role_name)),
    );
    m.insert("Description".into(), json!(r.description));
    if full {
        m.insert(
            "AssumeRolePolicyDocument".into(),
            json!(r.assume_role_policy_document),
        );
    }
    m.insert("CreateDate".into(), json!(r.create_date));
    m.insert("UpdateDate".into(), json!(r.update_date));
    m.insert("MaxSessionDuration".into(), json!(r.max_session_duration));
    if full {
        m.insert(
            "RolePrincipalName".into(),
            json!(format!(
                "{}@role.{}.onaliyunservice.com",
                r.role_name,
                ctx.account_id()
            )),
        );
        m.insert("IsServiceLinkedRole".into(), json!(false));
    }
    Value::Object(m)
}

fn one(key: &str, v: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), v);
    m
}

// ---- CreateRole ----

pub const CREATE_ROLE: ActionSpec = ActionSpec {
    name: "CreateRole",
    write: true,
    permissions: |ctx| permission_on(ctx, "CreateRole", "role", "RoleName"),
    handler: create_role,
};

fn create_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("RoleName")?;
    let document = ctx.params.required("AssumeRolePolicyDocument")?;
    check_document(document, DocumentKind::Trust, MAX_TRUST_CHARS)?;
    let now = iso(ctx.now);
    let role = RoleRow {
        role_id: ids::role_id(),
        role_name: name.to_string(),
        description: ctx
            .params
            .get("Description")
            .unwrap_or_default()
            .to_string(),
        assume_role_policy_document: document.to_string(),
        max_session_duration: ctx
            .params
            .int("MaxSessionDuration")
            .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
        create_date: now.clone(),
        update_date: now,
    };
    if !store::roles::insert(ctx.tx, &role)? {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists.Role",
            format!("The role already exists: {name}."),
        ));
    }
    let mut v = role_json(ctx, &role, true);
    if let Value::Object(m) = &mut v {
        m.shift_remove("UpdateDate");
        m.shift_remove("RolePrincipalName");
        m.shift_remove("IsServiceLinkedRole");
    }
    Ok(one("Role", v))
}

// ---- GetRole ----

pub const GET_ROLE: ActionSpec = ActionSpec {
    name: "GetRole",
    write: false,
    permissions: |ctx| permission_on(ctx, "GetRole", "role", "RoleName"),
    handler: get_role,
};

fn get_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let role = load(ctx, ctx.params.required("RoleName")?)?;
    Ok(one("Role", role_json(ctx, &role, true)))
}

// ---- ListRoles ----

pub const LIST_ROLES: ActionSpec = ActionSpec {
    name: "ListRoles",
    write: false,
    permissions: |ctx| {
        vec![Permission::new(
            "ram:ListRoles",
            super::account_resource(ctx),
        )]
    },
    handler: list_roles,
};

fn list_roles(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let marker = super::decode_marker(ctx.params.get("Marker"))?;
    let max = max_items(ctx);
    let rows = store::roles::list(ctx.tx, marker.as_deref(), max + 1)?;
    let mut out = Map::new();
    let rows = page(rows, max, |r| r.role_name.clone(), &mut out);
    let items = rows.iter().map(|r| role_json(ctx, r, false)).collect();
    out.insert("Roles".into(), nested("Role", items));
    Ok(out)
}

// ---- UpdateRole ----

pub const UPDATE_ROLE: ActionSpec = ActionSpec {
    name: "UpdateRole",
    write: true,
    permissions: |ctx| permission_on(ctx, "UpdateRole", "role", "RoleName"),
    handler: update_role,
};

fn update_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let mut role = load(ctx, ctx.params.required("RoleName")?)?;
    if let Some(doc) = ctx.params.get("NewAssumeRolePolicyDocument") {
        check_document(doc, DocumentKind::Trust, MAX_TRUST_CHARS)?;
        role.assume_role_policy_document = doc.to_string();
    }
    if let Some(d) = ctx.params.get("NewDescription") {
        role.description = d.to_string();
    }
    if let Some(n) = ctx.params.int("NewMaxSessionDuration") {
        role.max_session_duration = n;
    }
    role.update_date = iso(ctx.now);
    store::roles::update(ctx.tx, &role)?;
    Ok(one("Role", role_json(ctx, &role, true)))
}

// ---- DeleteRole ----

pub const DELETE_ROLE: ActionSpec = ActionSpec {
    name: "DeleteRole",
    write: true,
    permissions: |ctx| permission_on(ctx, "DeleteRole", "role", "RoleName"),
    handler: delete_role,
};

fn delete_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("RoleName")?;
    let role = load(ctx, name)?;
    if store::policies::count_for_principal(ctx.tx, "Role", &role.role_id)? > 0 {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Role.Policy",
            format!("The role still has policies attached: {name}."),
        ));
    }
    store::roles::delete(ctx.tx, &role.role_id)?;
    Ok(Map::new())
}
