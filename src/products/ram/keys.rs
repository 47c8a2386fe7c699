//! RAM users' access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey
//! (reference/ram.md "Users and access keys"). Without `UserName` these act on the calling RAM
//! user; the root account and STS sessions have no such user here, so they must name one
//! (`MissingParameter`).

use serde_json::{json, Map, Value};

use super::{nested, object};
use crate::auth::identity::Caller;
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, keys::AccessKeyRow, principals::UserRow};

/// RAM's limit (ram.md; the published error list: "The maximum number of AKs allowed is 2").
pub const MAX_KEYS_PER_USER: i64 = 2;

/// The user the request names, or the calling RAM user.
fn target_name<'a>(ctx: &'a Ctx<'_>) -> Option<&'a str> {
    ctx.params.get("UserName").or(match ctx.caller {
        Caller::User { user_name, .. } => Some(user_name.as_str()),
        _ => None,
    })
}

fn target(ctx: &Ctx<'_>) -> ApiResult<UserRow> {
    let name = target_name(ctx).ok_or_else(|| ApiError::missing_parameter("UserName"))?;
    super::users::load(ctx, name)
}

/// `ram:<action>` on the target user (the caller's own user when the name is omitted).
fn key_permission(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    let resource = target_name(ctx).map_or_else(
        || super::account_resource(ctx),
        |name| super::resource(ctx, "user", name),
    );
    vec![Permission::new(format!("ram:{action}"), resource)]
}

/// One of the target user's keys, or `EntityNotExist.User.AccessKey`.
fn load_key(ctx: &Ctx<'_>, user: &UserRow) -> ApiResult<AccessKeyRow> {
    let id = ctx.params.required("UserAccessKeyId")?;
    store::keys::get(ctx.tx, id)?
        .filter(|k| k.user_id == user.user_id)
        .ok_or_else(|| {
            ApiError::new(
                404,
                "EntityNotExist.User.AccessKey",
                format!("The user access key does not exist: {id}."),
            )
        })
}

// ---- CreateAccessKey ----

pub const CREATE_ACCESS_KEY: ActionSpec = ActionSpec {
    name: "CreateAccessKey",
    write: true,
    permissions: |ctx| key_permission(ctx, "CreateAccessKey"),
    handler: create_access_key,
};

fn create_access_key(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = target(ctx)?;
    // INVARIANT: the count and the insert share the action's write transaction, so two
    // concurrent creates cannot both pass the limit.
    if store::keys::count_for_user(ctx.tx, &user.user_id)? >= MAX_KEYS_PER_USER {
        return Err(ApiError::new(
            409,
            "LimitExceeded.User.AccessKey",
            format!(
                "The access key count of the user access keys beyond the current limits: {} already has {MAX_KEYS_PER_USER}.",
                user.user_name
            ),
        ));
    }
    let key = AccessKeyRow {
        access_key_id: ids::access_key_id(),
        user_id: user.user_id,
        access_key_secret: ids::access_key_secret(),
        status: "Active".to_string(),
        create_date: iso(ctx.now),
    };
    store::keys::insert(ctx.tx, &key)?;
    Ok(object(
        "AccessKey",
        json!({
            "AccessKeyId": key.access_key_id,
            "AccessKeySecret": key.access_key_secret,
            "Status": key.status,
            "CreateDate": key.create_date,
        }),
    ))
}

// ---- ListAccessKeys ----

pub const LIST_ACCESS_KEYS: ActionSpec = ActionSpec {
    name: "ListAccessKeys",
    write: false,
    permissions: |ctx| key_permission(ctx, "ListAccessKeys"),
    handler: list_access_keys,
};

fn list_access_keys(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = target(ctx)?;
    let items = store::keys::list_for_user(ctx.tx, &user.user_id)?
        .into_iter()
        .map(|k| {
            json!({
                "AccessKeyId": k.access_key_id,
                "Status": k.status,
                "CreateDate": k.create_date,
            })
        })
        .collect();
    Ok(object("AccessKeys", nested("AccessKey", items)))
}

// ---- UpdateAccessKey ----

pub const UPDATE_ACCESS_KEY: ActionSpec = ActionSpec {
    name: "UpdateAccessKey",
    write: true,
    permissions: |ctx| key_permission(ctx, "UpdateAccessKey"),
    handler: update_access_key,
};

fn update_access_key(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = target(ctx)?;
    let key = load_key(ctx, &user)?;
    let status = ctx.params.required("Status")?;
    store::keys::set_status(ctx.tx, &key.access_key_id, status)?;
    Ok(Map::new())
}

// ---- DeleteAccessKey ----

pub const DELETE_ACCESS_KEY: ActionSpec = ActionSpec {
    name: "DeleteAccessKey",
    write: true,
    permissions: |ctx| key_permission(ctx, "DeleteAccessKey"),
    handler: delete_access_key,
};

fn delete_access_key(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = target(ctx)?;
    let key = load_key(ctx, &user)?;
    store::keys::delete(ctx.tx, &key.access_key_id)?;
    Ok(Map::new())
}
