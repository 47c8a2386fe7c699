//! Policy attachments: AttachPolicyTo{Role,User,Group}, DetachPolicyFrom{Role,User,Group},
//! ListPoliciesFor{Role,User,Group} and ListEntitiesForPolicy (reference/ram.md). One table,
//! `policy_attachments`, holds all three kinds, so AttachmentCount is a COUNT and always right.

use serde_json::{json, Map, Value};

use super::{nested, object, permission_on, policies, roles};
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::clock::iso;
use crate::protocol::{ApiError, ApiResult};
use crate::store;

/// The three kinds of principal a policy attaches to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Role,
    User,
    Group,
}

impl Principal {
    /// As `policy_attachments.principal_type` stores it, and as error codes spell it.
    #[must_use]
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Role => "Role",
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    fn param(self) -> &'static str {
        match self {
            Self::Role => "RoleName",
            Self::User => "UserName",
            Self::Group => "GroupName",
        }
    }

    /// The `<kind>` of the resource ARN `acs:ram:*:<acct>:<kind>/<name>`.
    fn resource_kind(self) -> &'static str {
        match self {
            Self::Role => "role",
            Self::User => "user",
            Self::Group => "group",
        }
    }

    /// The principal's id, or its `EntityNotExist.<Kind>`.
    fn id(self, ctx: &Ctx<'_>, name: &str) -> ApiResult<String> {
        Ok(match self {
            Self::Role => roles::load(ctx, name)?.role_id,
            Self::User => super::users::load(ctx, name)?.user_id,
            Self::Group => super::groups::load(ctx, name)?.group_id,
        })
    }
}

/// `ram:<action>` on the role, user or group the action names.
fn principal_permission(ctx: &Ctx<'_>, action: &str, who: Principal) -> Vec<Permission> {
    permission_on(ctx, action, who.resource_kind(), who.param())
}

// ---- AttachPolicyTo{Role,User,Group} ----

pub const ATTACH_POLICY_TO_ROLE: ActionSpec = ActionSpec {
    name: "AttachPolicyToRole",
    write: true,
    permissions: |ctx| principal_permission(ctx, "AttachPolicyToRole", Principal::Role),
    handler: |ctx| attach(ctx, Principal::Role),
};

pub const ATTACH_POLICY_TO_USER: ActionSpec = ActionSpec {
    name: "AttachPolicyToUser",
    write: true,
    permissions: |ctx| principal_permission(ctx, "AttachPolicyToUser", Principal::User),
    handler: |ctx| attach(ctx, Principal::User),
};

pub const ATTACH_POLICY_TO_GROUP: ActionSpec = ActionSpec {
    name: "AttachPolicyToGroup",
    write: true,
    permissions: |ctx| principal_permission(ctx, "AttachPolicyToGroup", Principal::Group),
    handler: |ctx| attach(ctx, Principal::Group),
};

fn attach(ctx: &Ctx<'_>, who: Principal) -> ApiResult<Map<String, Value>> {
    let principal_name = ctx.params.required(who.param())?;
    let policy_type = ctx.params.required("PolicyType")?;
    let policy_name = ctx.params.required("PolicyName")?;
    let principal_id = who.id(ctx, principal_name)?;
    let policy = policies::load(ctx, policy_type, policy_name)?;
    let kind = who.type_name();
    if !store::policies::attach(
        ctx.tx,
        kind,
        &principal_id,
        &policy.policy_type,
        &policy.policy_name,
        &iso(ctx.now),
    )? {
        return Err(ApiError::new(
            409,
            format!("EntityAlreadyExists.{kind}.Policy"),
            format!(
                "The {} has already been attached this policy: {principal_name} {policy_name}.",
                kind.to_lowercase()
            ),
        ));
    }
    Ok(Map::new())
}

// ---- DetachPolicyFrom{Role,User,Group} ----

pub const DETACH_POLICY_FROM_ROLE: ActionSpec = ActionSpec {
    name: "DetachPolicyFromRole",
    write: true,
    permissions: |ctx| principal_permission(ctx, "DetachPolicyFromRole", Principal::Role),
    handler: |ctx| detach(ctx, Principal::Role),
};

pub const DETACH_POLICY_FROM_USER: ActionSpec = ActionSpec {
    name: "DetachPolicyFromUser",
    write: true,
    permissions: |ctx| principal_permission(ctx, "DetachPolicyFromUser", Principal::User),
    handler: |ctx| detach(ctx, Principal::User),
};

pub const DETACH_POLICY_FROM_GROUP: ActionSpec = ActionSpec {
    name: "DetachPolicyFromGroup",
    write: true,
    permissions: |ctx| principal_permission(ctx, "DetachPolicyFromGroup", Principal::Group),
    handler: |ctx| detach(ctx, Principal::Group),
};

fn detach(ctx: &Ctx<'_>, who: Principal) -> ApiResult<Map<String, Value>> {
    let principal_name = ctx.params.required(who.param())?;
    let policy_type = ctx.params.required("PolicyType")?;
    let policy_name = ctx.params.required("PolicyName")?;
    let principal_id = who.id(ctx, principal_name)?;
    let policy = policies::load(ctx, policy_type, policy_name)?;
    let kind = who.type_name();
    if !store::policies::detach(
        ctx.tx,
        kind,
        &principal_id,
        &policy.policy_type,
        &policy.policy_name,
    )? {
        return Err(ApiError::new(
            404,
            format!("EntityNotExist.{kind}.Policy"),
            format!(
                "The policy is not attached to the {}: {principal_name} {policy_name}.",
                kind.to_lowercase()
            ),
        ));
    }
    Ok(Map::new())
}

// ---- ListPoliciesFor{Role,User,Group} ----

pub const LIST_POLICIES_FOR_ROLE: ActionSpec = ActionSpec {
    name: "ListPoliciesForRole",
    write: false,
    permissions: |ctx| principal_permission(ctx, "ListPoliciesForRole", Principal::Role),
    handler: |ctx| list_policies_for(ctx, Principal::Role),
};

pub const LIST_POLICIES_FOR_USER: ActionSpec = ActionSpec {
    name: "ListPoliciesForUser",
    write: false,
    permissions: |ctx| principal_permission(ctx, "ListPoliciesForUser", Principal::User),
    handler: |ctx| list_policies_for(ctx, Principal::User),
};

pub const LIST_POLICIES_FOR_GROUP: ActionSpec = ActionSpec {
    name: "ListPoliciesForGroup",
    write: false,
    permissions: |ctx| principal_permission(ctx, "ListPoliciesForGroup", Principal::Group),
    handler: |ctx| list_policies_for(ctx, Principal::Group),
};

fn list_policies_for(ctx: &Ctx<'_>, who: Principal) -> ApiResult<Map<String, Value>> {
    let principal_id = who.id(ctx, ctx.params.required(who.param())?)?;
    let rows = store::policies::list_for_principal(ctx.tx, who.type_name(), &principal_id)?;
    let items = rows
        .iter()
        .map(|(p, attach_date)| {
            json!({
                "PolicyName": p.policy_name,
                "PolicyType": p.policy_type,
                "Description": p.description,
                "DefaultVersion": p.default_version,
                "AttachDate": attach_date,
            })
        })
        .collect();
    Ok(object("Policies", nested("Policy", items)))
}

// ---- ListEntitiesForPolicy ----

pub const LIST_ENTITIES_FOR_POLICY: ActionSpec = ActionSpec {
    name: "ListEntitiesForPolicy",
    write: false,
    permissions: |ctx| permission_on(ctx, "ListEntitiesForPolicy", "policy", "PolicyName"),
    handler: list_entities_for_policy,
};

fn list_entities_for_policy(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let policy = policies::find(ctx, ctx.params.required("PolicyName")?)?;
    let (mut users, mut groups, mut role_items) = (Vec::new(), Vec::new(), Vec::new());
    for (kind, id, attach_date) in
        store::policies::attachments_of(ctx.tx, &policy.policy_type, &policy.policy_name)?
    {
        match kind.as_str() {
            "User" => {
                if let Some(u) = store::principals::get_user_by_id(ctx.tx, &id)? {
                    users.push(json!({
                        "UserId": u.user_id,
                        "UserName": u.user_name,
                        "DisplayName": u.display_name,
                        "AttachDate": attach_date,
                    }));
                }
            }
            "Group" => {
                if let Some(g) = store::principals::get_group_by_id(ctx.tx, &id)? {
                    groups.push(json!({
                        "GroupName": g.group_name,
                        "Comments": g.comments,
                        "AttachDate": attach_date,
                    }));
                }
            }
            _ => {
                if let Some(r) = store::roles::get_by_id(ctx.tx, &id)? {
                    role_items.push(json!({
                        "RoleId": r.role_id,
                        "RoleName": r.role_name,
                        "Arn": roles::role_arn(ctx.account_id(), &r.role_name),
                        "Description": r.description,
                        "AttachDate": attach_date,
                    }));
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("Users".into(), nested("User", users));
    out.insert("Groups".into(), nested("Group", groups));
    out.insert("Roles".into(), nested("Role", role_items));
    Ok(out)
}
