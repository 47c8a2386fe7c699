//! Instance RAM roles: AttachInstanceRamRole, DetachInstanceRamRole, DescribeInstanceRamRole
//! (reference/ecs.md), and the checks CreateInstance / RunInstances share with them: the role
//! exists, trusts `ecs.aliyuncs.com`, and the caller may pass it (`ram:PassRole`).

use serde_json::{json, Map, Value};

use super::{
    instance_ids_malformed, load_instance, nested, on_instance_ids, page_of, paging,
    parse_instance_ids, region,
};
use crate::auth::policy::{self, ConditionKeys, DocumentKind, TrustedCaller};
use crate::catalog::{ActionSpec, Ctx, Permission};
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, instances::InstanceRow, roles::RoleRow};

/// The service principal an instance role's trust policy must name.
pub const ECS_SERVICE: &str = "ecs.aliyuncs.com";
/// Largest extra session policy AttachInstanceRamRole takes (ecs.md, policy.md).
pub const MAX_POLICY_CHARS: usize = 1024;

const PASS_ROLE_FORBIDDEN: &str = "The RAM user does not have the privilege to pass a RAM role.";

/// `ram:PassRole` on the role, for callers other than the account (seed 000, ecs.md). A denial
/// answers `InvalidUser.PassRoleForbidden` 403 and keeps the AccessDeniedDetail that says why.
pub fn pass_role(ctx: &Ctx<'_>, role_name: &str) -> ApiResult<()> {
    let permission = Permission::new(
        "ram:PassRole",
        format!("acs:ram:*:{}:role/{role_name}", ctx.account_id()),
    );
    ctx.authorize(&permission).map_err(|e| {
        if e.status != 403 {
            return e;
        }
        let base = (ctx.product.deny)().message;
        let why = e.message.strip_prefix(base.as_str()).unwrap_or_default();
        let mut out = ApiError::new(
            403,
            "InvalidUser.PassRoleForbidden",
            format!("{PASS_ROLE_FORBIDDEN}{why}"),
        );
        out.access_denied_detail = e.access_denied_detail;
        out
    })
}

/// True when the role's trust policy lets ECS assume it.
#[must_use]
pub fn trusts_ecs(role: &RoleRow) -> bool {
    policy::parse(&role.assume_role_policy_document, DocumentKind::Trust).is_ok_and(|doc| {
        policy::trusts(
            &doc,
            &TrustedCaller::Service(ECS_SERVICE),
            "sts:AssumeRole",
            &ConditionKeys::new(),
        )
        .is_allowed()
    })
}

/// The role a caller hands to instances: it must exist (`InvalidRamRole.NotFound` 404) and be
/// an ECS service role (`InvalidRamRole.NotEcsRole`, 401 on Create/RunInstances and 404 on
/// AttachInstanceRamRole, per the metadata in ecs.md).
pub fn ecs_role(
    ctx: &Ctx<'_>,
    role_name: &str,
    not_found_message: &'static str,
    not_ecs_status: u16,
) -> ApiResult<RoleRow> {
    let role = store::roles::get(ctx.tx, role_name)?
        .ok_or_else(|| ApiError::new(404, "InvalidRamRole.NotFound", not_found_message))?;
    if !trusts_ecs(&role) {
        return Err(ApiError::new(
            not_ecs_status,
            "InvalidRamRole.NotEcsRole",
            "The specified ram role is not authorized for ecs, please check your role policy.",
        ));
    }
    Ok(role)
}

/// A role can only be given to a VPC instance (one with a VSwitch).
pub fn require_vpc(instance: &InstanceRow) -> ApiResult<()> {
    if instance.vswitch_id.is_some() {
        Ok(())
    } else {
        Err(mismatch_network())
    }
}

#[must_use]
pub fn mismatch_network() -> ApiError {
    ApiError::new(
        403,
        "InvalidNetworkType.MismatchRamRole",
        "Ram role cannot be applied to instances of Classic network type.",
    )
}

const ATTACH_NOT_FOUND: &str = "The specified instanceId does not exist.";

/// The instances of `InstanceIds`, each of which must exist in the region.
fn instances_of(ctx: &Ctx<'_>, region: &str, text: &str) -> ApiResult<Vec<InstanceRow>> {
    parse_instance_ids(text)?
        .iter()
        .map(|id| load_instance(ctx, region, id, ATTACH_NOT_FOUND))
        .collect()
}

fn result(instance_id: &str, code: &str, message: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("InstanceId".into(), json!(instance_id));
    m.insert("Success".into(), json!(code == "200"));
    m.insert("Code".into(), json!(code));
    m.insert("Message".into(), json!(message));
    m
}

// ---- AttachInstanceRamRole ----

pub const ATTACH_INSTANCE_RAM_ROLE: ActionSpec = ActionSpec {
    name: "AttachInstanceRamRole",
    write: true,
    permissions: |ctx| on_instance_ids(ctx, "AttachInstanceRamRole"),
    handler: attach_instance_ram_role,
};

fn attach_instance_ram_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let region = region(ctx)?;
    let ids_text = ctx.params.required("InstanceIds")?;
    parse_instance_ids(ids_text)?;
    let role_name = ctx.params.required("RamRoleName")?;
    let session_policy = ctx.params.get("Policy");
    if let Some(p) = session_policy {
        policy::parse(p, DocumentKind::Session).map_err(|e| {
            ApiError::new(
                400,
                "InvalidParameter",
                format!(
                    "The specified parameter \"Policy\" is not valid: {}",
                    e.message
                ),
            )
        })?;
    }
    pass_role(ctx, role_name)?;
    let role = ecs_role(
        ctx,
        role_name,
        "The specified RAMRoleName does not exist.",
        404,
    )?;
    let instances = instances_of(ctx, region, ids_text)?;
    for i in &instances {
        require_vpc(i)?;
    }
    let mut results = Vec::with_capacity(instances.len());
    let mut failed = 0;
    for i in &instances {
        // INVARIANT: one role per instance; attaching over a role is refused per instance, as
        // the real service reports per-instance failures inside the results.
        if i.ram_role_name.is_some() {
            failed += 1;
            results.push(Value::Object(result(
                &i.instance_id,
                "InvalidInstanceId.AlreadyHasRole",
                "The instance already has a RAM role attached; detach it first.",
            )));
            continue;
        }
        store::instances::set_role(
            ctx.tx,
            &i.instance_id,
            Some(&role.role_name),
            session_policy,
        )?;
        results.push(Value::Object(result(&i.instance_id, "200", "success")));
    }
    let mut out = Map::new();
    out.insert("RamRoleName".into(), json!(role.role_name));
    out.insert("TotalCount".into(), json!(instances.len()));
    out.insert("FailCount".into(), json!(failed));
    out.insert(
        "AttachInstanceRamRoleResults".into(),
        nested("AttachInstanceRamRoleResult", results),
    );
    Ok(out)
}

// ---- DetachInstanceRamRole ----

pub const DETACH_INSTANCE_RAM_ROLE: ActionSpec = ActionSpec {
    name: "DetachInstanceRamRole",
    write: true,
    permissions: |ctx| on_instance_ids(ctx, "DetachInstanceRamRole"),
    handler: detach_instance_ram_role,
};

fn detach_instance_ram_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let region = region(ctx)?;
    let instances = instances_of(ctx, region, ctx.params.required("InstanceIds")?)?;
    let wanted = ctx.params.get("RamRoleName");
    for i in &instances {
        require_vpc(i)?;
    }
    // Taking a role away is guarded like handing it over (ecs.md lists
    // InvalidUser.PassRoleForbidden for DetachInstanceRamRole).
    let mut checked: Vec<&str> = Vec::new();
    for i in &instances {
        if let Some(r) = i.ram_role_name.as_deref() {
            if wanted.is_none_or(|w| w.eq_ignore_ascii_case(r)) && !checked.contains(&r) {
                pass_role(ctx, r)?;
                checked.push(r);
            }
        }
    }
    let mut results = Vec::with_capacity(instances.len());
    let mut failed = 0;
    let mut detached_name: Option<String> = wanted.map(str::to_string);
    for i in &instances {
        match i.ram_role_name.as_deref() {
            Some(r) if wanted.is_none_or(|w| w.eq_ignore_ascii_case(r)) => {
                store::instances::set_role(ctx.tx, &i.instance_id, None, None)?;
                if detached_name.is_none() {
                    detached_name = Some(r.to_string());
                }
                let mut m = result(&i.instance_id, "200", "Success");
                m.insert(
                    "InstanceRamRoleSets".into(),
                    nested(
                        "InstanceRamRoleSet",
                        vec![json!({"InstanceId": i.instance_id, "RamRoleName": r})],
                    ),
                );
                results.push(Value::Object(m));
            }
            _ => {
                failed += 1;
                let mut m = result(
                    &i.instance_id,
                    "InvalidRamRole.NotAttached",
                    "The specified RAM role is not attached to the instance.",
                );
                m.insert(
                    "InstanceRamRoleSets".into(),
                    nested("InstanceRamRoleSet", Vec::new()),
                );
                results.push(Value::Object(m));
            }
        }
    }
    let mut out = Map::new();
    out.insert(
        "RamRoleName".into(),
        json!(detached_name.unwrap_or_default()),
    );
    out.insert("TotalCount".into(), json!(instances.len()));
    out.insert("FailCount".into(), json!(failed));
    out.insert(
        "DetachInstanceRamRoleResults".into(),
        nested("DetachInstanceRamRoleResult", results),
    );
    Ok(out)
}

// ---- DescribeInstanceRamRole ----

pub const DESCRIBE_INSTANCE_RAM_ROLE: ActionSpec = ActionSpec {
    name: "DescribeInstanceRamRole",
    write: false,
    permissions: |ctx| on_instance_ids(ctx, "DescribeInstanceRamRole"),
    handler: describe_instance_ram_role,
};

fn describe_instance_ram_role(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let region = region(ctx)?;
    let ids_text = ctx.params.get("InstanceIds");
    let role_name = ctx.params.get("RamRoleName");
    if ids_text.is_none() && role_name.is_none() {
        return Err(ApiError::new(
            403,
            "InvalidParameter.AllEmpty",
            "The parameters InstanceIds and RamRoleName cannot both be empty.",
        ));
    }
    if let Some(t) = ids_text {
        parse_instance_ids(t).map_err(|_| instance_ids_malformed())?;
    }
    let role = match role_name {
        Some(name) => Some(store::roles::get(ctx.tx, name)?.ok_or_else(|| {
            ApiError::new(
                404,
                "InvalidRamRole.NotFound",
                "The specified RAMRoleName does not exist.",
            )
        })?),
        None => None,
    };
    let has_role = |i: &InstanceRow| {
        role.as_ref().is_none_or(|r| {
            i.ram_role_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(&r.role_name))
        })
    };
    let listed: Vec<InstanceRow> = match ids_text {
        Some(t) => instances_of(ctx, region, t)?
            .into_iter()
            .filter(|i| has_role(i))
            .collect(),
        None => store::instances::list_region(ctx.tx, region)?
            .into_iter()
            .filter(|i| i.ram_role_name.is_some() && has_role(i))
            .collect(),
    };
    let (number, size) = paging(ctx);
    let items = page_of(&listed, number, size)
        .iter()
        .map(|i| {
            json!({
                "InstanceId": i.instance_id,
                "RamRoleName": i.ram_role_name.clone().unwrap_or_default(),
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("RegionId".into(), json!(region));
    out.insert("TotalCount".into(), json!(listed.len()));
    out.insert(
        "InstanceRamRoleSets".into(),
        nested("InstanceRamRoleSet", items),
    );
    Ok(out)
}
