//! RAM user groups: CreateGroup, GetGroup, UpdateGroup, ListGroups, DeleteGroup, and membership:
//! AddUserToGroup, RemoveUserFromGroup, ListGroupsForUser, ListUsersForGroup. Field names from
//! the RAM SDK models (GroupId included, as the current API returns it); codes and messages
//! from RAM's published error list (AlibabaCloudDocs/ram, API reference "Error messages").

use serde_json::{json, Map, Value};

use super::{max_items, nested, object, page, permission_on};
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, principals::GroupRow};

pub fn group_not_found(name: &str) -> ApiError {
    ApiError::new(
        404,
        "EntityNotExist.Group",
        format!("The group does not exist: {name}."),
    )
}

fn group_exists(name: &str) -> ApiError {
    ApiError::new(
        409,
        "EntityAlreadyExists.Group",
        format!("The group does already EXIST: {name}."),
    )
}

/// A group by name, or `EntityNotExist.Group`.
pub fn load(ctx: &Ctx<'_>, name: &str) -> ApiResult<GroupRow> {
    store::principals::get_group(ctx.tx, name)?.ok_or_else(|| group_not_found(name))
}

fn group_json(g: &GroupRow, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("GroupId".into(), json!(g.group_id));
    m.insert("GroupName".into(), json!(g.group_name));
    m.insert("Comments".into(), json!(g.comments));
    m.insert("CreateDate".into(), json!(g.create_date));
    if full {
        m.insert("UpdateDate".into(), json!(g.update_date));
    }
    Value::Object(m)
}

fn group_permission(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    permission_on(ctx, action, "group", "GroupName")
}

// ---- CreateGroup ----

pub const CREATE_GROUP: ActionSpec = ActionSpec {
    name: "CreateGroup",
    write: true,
    permissions: |ctx| group_permission(ctx, "CreateGroup"),
    handler: create_group,
};

fn create_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("GroupName")?;
    let now = iso(ctx.now);
    let group = GroupRow {
        group_id: ids::group_id(),
        group_name: name.to_string(),
        comments: ctx.params.get("Comments").unwrap_or_default().to_string(),
        create_date: now.clone(),
        update_date: now,
    };
    if !store::principals::insert_group(ctx.tx, &group)? {
        return Err(group_exists(name));
    }
    Ok(object("Group", group_json(&group, false)))
}

// ---- GetGroup ----

pub const GET_GROUP: ActionSpec = ActionSpec {
    name: "GetGroup",
    write: false,
    permissions: |ctx| group_permission(ctx, "GetGroup"),
    handler: get_group,
};

fn get_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let group = load(ctx, ctx.params.required("GroupName")?)?;
    Ok(object("Group", group_json(&group, true)))
}

// ---- UpdateGroup ----

pub const UPDATE_GROUP: ActionSpec = ActionSpec {
    name: "UpdateGroup",
    write: true,
    permissions: |ctx| group_permission(ctx, "UpdateGroup"),
    handler: update_group,
};

fn update_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let mut group = load(ctx, ctx.params.required("GroupName")?)?;
    if let Some(n) = ctx.params.get("NewGroupName") {
        group.group_name = n.to_string();
    }
    if let Some(c) = ctx.params.get("NewComments") {
        group.comments = c.to_string();
    }
    group.update_date = iso(ctx.now);
    if !store::principals::update_group(ctx.tx, &group)? {
        return Err(group_exists(&group.group_name));
    }
    Ok(object("Group", group_json(&group, true)))
}

// ---- ListGroups ----

pub const LIST_GROUPS: ActionSpec = ActionSpec {
    name: "ListGroups",
    write: false,
    permissions: |ctx| {
        vec![Permission::new(
            "ram:ListGroups",
            super::account_resource(ctx),
        )]
    },
    handler: list_groups,
};

fn list_groups(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let marker = super::decode_marker(ctx.params.get("Marker"))?;
    let max = max_items(ctx);
    let rows = store::principals::list_groups(ctx.tx, marker.as_deref(), max + 1)?;
    let mut out = Map::new();
    let rows = page(rows, max, |g| g.group_name.clone(), &mut out);
    let items = rows.iter().map(|g| group_json(g, true)).collect();
    out.insert("Groups".into(), nested("Group", items));
    Ok(out)
}

// ---- DeleteGroup ----

pub const DELETE_GROUP: ActionSpec = ActionSpec {
    name: "DeleteGroup",
    write: true,
    permissions: |ctx| group_permission(ctx, "DeleteGroup"),
    handler: delete_group,
};

fn delete_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let name = ctx.params.required("GroupName")?;
    let group = load(ctx, name)?;
    if store::principals::count_members(ctx.tx, &group.group_id)? > 0 {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Group.User",
            format!("The group CAN NOT has any user member while deleting the group: {name}."),
        ));
    }
    if store::policies::count_for_principal(ctx.tx, "Group", &group.group_id)? > 0 {
        return Err(ApiError::new(
            409,
            "DeleteConflict.Group.Policy",
            format!("The entity CAN NOT has any attached policy while deleting the group: {name}."),
        ));
    }
    store::principals::delete_group(ctx.tx, &group.group_id)?;
    Ok(Map::new())
}

// ---- AddUserToGroup ----

pub const ADD_USER_TO_GROUP: ActionSpec = ActionSpec {
    name: "AddUserToGroup",
    write: true,
    permissions: |ctx| group_permission(ctx, "AddUserToGroup"),
    handler: add_user_to_group,
};

fn add_user_to_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let group_name = ctx.params.required("GroupName")?;
    let user_name = ctx.params.required("UserName")?;
    let group = load(ctx, group_name)?;
    let user = super::users::load(ctx, user_name)?;
    if !store::principals::add_member(ctx.tx, &group.group_id, &user.user_id, &iso(ctx.now))? {
        return Err(ApiError::new(
            409,
            "EntityAlreadyExists.User.Group",
            format!("The user has already joined the group: {user_name} {group_name}."),
        ));
    }
    Ok(Map::new())
}

// ---- RemoveUserFromGroup ----

pub const REMOVE_USER_FROM_GROUP: ActionSpec = ActionSpec {
    name: "RemoveUserFromGroup",
    write: true,
    permissions: |ctx| group_permission(ctx, "RemoveUserFromGroup"),
    handler: remove_user_from_group,
};

fn remove_user_from_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let group_name = ctx.params.required("GroupName")?;
    let user_name = ctx.params.required("UserName")?;
    let group = load(ctx, group_name)?;
    let user = super::users::load(ctx, user_name)?;
    if !store::principals::remove_member(ctx.tx, &group.group_id, &user.user_id)? {
        return Err(ApiError::new(
            404,
            "EntityNotExist.User.Group",
            format!("The user has not joined the group: {user_name} {group_name}."),
        ));
    }
    Ok(Map::new())
}

// ---- ListGroupsForUser ----

pub const LIST_GROUPS_FOR_USER: ActionSpec = ActionSpec {
    name: "ListGroupsForUser",
    write: false,
    permissions: |ctx| permission_on(ctx, "ListGroupsForUser", "user", "UserName"),
    handler: list_groups_for_user,
};

fn list_groups_for_user(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let user = super::users::load(ctx, ctx.params.required("UserName")?)?;
    let items = store::principals::groups_for_user(ctx.tx, &user.user_id)?
        .into_iter()
        .map(|(g, join_date)| {
            json!({
                "GroupId": g.group_id,
                "GroupName": g.group_name,
                "Comments": g.comments,
                "JoinDate": join_date,
            })
        })
        .collect();
    Ok(object("Groups", nested("Group", items)))
}

// ---- ListUsersForGroup ----

pub const LIST_USERS_FOR_GROUP: ActionSpec = ActionSpec {
    name: "ListUsersForGroup",
    write: false,
    permissions: |ctx| group_permission(ctx, "ListUsersForGroup"),
    handler: list_users_for_group,
};

fn list_users_for_group(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let group = load(ctx, ctx.params.required("GroupName")?)?;
    let marker = super::decode_marker(ctx.params.get("Marker"))?;
    let max = max_items(ctx);
    let rows =
        store::principals::users_for_group(ctx.tx, &group.group_id, marker.as_deref(), max + 1)?;
    let mut out = Map::new();
    let rows = page(rows, max, |(u, _)| u.user_name.clone(), &mut out);
    let items = rows
        .iter()
        .map(|(u, join_date)| {
            json!({
                "UserName": u.user_name,
                "DisplayName": u.display_name,
                "JoinDate": join_date,
            })
        })
        .collect();
    out.insert("Users".into(), nested("User", items));
    Ok(out)
}
