//! RAM users: CreateUser, GetUser, UpdateUser, ListUsers, DeleteUser (reference/ram.md "Users
//! and access keys"). Codes and messages follow RAM's published error list (AlibabaCloudDocs/ram,
//! API reference "Error messages").

use serde_json::{json, Map, Value};

use super::{max_items, nested, object, page, permission_on};
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, principals::UserRow};

pub fn user_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        "EntityNotExist.User",
        format!("The user does not exist: {name}."),
    )
}

fn user_exists(name: &str) -> ApiError {
    ApiError::new(
        409,
        "EntityAlreadyExists.User",
        format!("The user does already EXIST: {name}."),
    )
}

/// A user by name, or `EntityNotExist.User`.
pub fn load(ctx: &Ctx<'_>, name: &str) -> ApiResult<UserRow> {
    store::principals::get_user(ctx.tx, name)?.ok_or_else(|| user_not_found(name))
}

/// The `User` object: CreateUser's fields, and with `full` the UpdateDate that GetUser,
/// UpdateUser and ListUsers add.
pub fn user_json(u: &UserRow, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("UserId".into(), json!(u.user_id));
    m.insert("UserName".into(), json!(u.user_name));
    m.insert("DisplayName".into(), json!(u.display_name));
    m.insert("MobilePhone".into(), json!(u.mobile_phone));
    m.insert("Email".into(), json!(u.email));
    m.insert("Comments".into(), json!(u.comments));
    m.insert("CreateDate".into(), json!(u.create_date));
    if full {
        m.insert("UpdateDate".into(), json!(u.update_date));
    }
    Value::Object(m)
}

fn user_permission(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    permission_on(ctx, action, "user", "UserName")
}

// ---- CreateUser ----

pub const CREATE_USER: ActionSpec = ActionSpec {
    name: "CreateUser",
    write: true,
    permissions: |ctx| user_permission(ctx, "CreateUser"),
    handler: create_user,
};

fn create_user(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("UserName")?;
    let field = |p: &str| ctx.params.get(p).unwrap_or_default().to_string();
    let now = iso(ctx.now);
    let user = UserRow {
        user_id: ids::user_id(),
        user_name: name.to_string(),
        display_name: field("DisplayName"),
        mobile_phone: field("MobilePhone"),
        email: field("Email"),
        comments: field("Comments"),
        create_date: now.clone(),
        update_date: now,
    };
    if !store::principals::insert_user(ctx.tx, &user)? {
        return Err(user_exists(name));
    }
    Ok(object("User", user_json(&user, false)))
}

// ---- GetUser ----

pub const GET_USER: ActionSpec = ActionSpec {
    name: "GetUser",
    write: false,
    permissions: |ctx| user_permission(ctx, "GetUser"),
    handler: get_user,
};

fn get_user(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = load(ctx, ctx.params.required("UserName")?)?;
    Ok(object("User", user_json(&user, true)))
}

// ---- UpdateUser ----

pub const UPDATE_USER: ActionSpec = ActionSpec {
    name: "UpdateUser",
    write: true,
    permissions: |ctx| user_permission(ctx, "UpdateUser"),
    handler: update_user,
};

fn update_user(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let mut user = load(ctx, ctx.params.required("UserName")?)?;
    let set = |field: &mut String, param: &str| {
        if let Some(v) = ctx.params.get(param) {
            *field = v.to_string();
        }
    };
    set(&mut user.user_name, "NewUserName");
    set(&mut user.display_name, "NewDisplayName");
    set(&mut user.mobile_phone, "NewMobilePhone");
    set(&mut user.email, "NewEmail");
    set(&mut user.comments, "NewComments");
    user.update_date = iso(ctx.now);
    if !store::principals::update_user(ctx.tx, &user)? {
        return Err(user_exists(&user.user_name));
    }
    Ok(object("User", user_json(&user, true)))
}

// ---- ListUsers ----

pub const LIST_USERS: ActionSpec = ActionSpec {
    name: "ListUsers",
    write: false,
    permissions: |ctx| {
        vec![Permission::new(
            "ram:ListUsers",
            super::account_resource(ctx),
        )]
    },
    handler: list_users,
};

fn list_users(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let marker = super::decode_marker(ctx.params.get("Marker"))?;
    let max = max_items(ctx);
    let rows = store::principals::list_users(ctx.tx, marker.as_deref(), max + 1)?;
    let mut out = Map::new();
    let rows = page(rows, max, |u| u.user_name.clone(), &mut out);
    let items = rows.iter().map(|u| user_json(u, true)).collect();
    out.insert("Users".into(), nested("User", items));
    Ok(out)
}

// ---- DeleteUser ----

pub const DELETE_USER: ActionSpec = ActionSpec {
    name: "DeleteUser",
    write: true,
    permissions: |ctx| user_permission(ctx, "DeleteUser"),
    handler: delete_user,
};

fn delete_user(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("UserName")?;
    let user = load(ctx, name)?;
    let conflict = |code: &'static str, what: &str| {
        ApiError::new(
            409,
            code,
            format!("The user CAN NOT has any {what} while deleting the user: {name}."),
        )
    };
    if store::keys::count_for_user(ctx.tx, &user.user_id)? > 0 {
        return Err(conflict("DeleteConflict.User.AccessKey", "access key"));
    }
    if store::policies::count_for_principal(ctx.tx, "User", &user.user_id)? > 0 {
        return Err(conflict("DeleteConflict.User.Policy", "attached policy"));
    }
    if store::principals::count_groups_for_user(ctx.tx, &user.user_id)? > 0 {
        return Err(ApiError::new(
            409,
            "DeleteConflict.User.Group",
            format!("The user CAN NOT be in any group while deleting the user: {name}."),
        ));
    }
    store::principals::delete_user(ctx.tx, &user.user_id)?;
    Ok(Map::new())
}
