//! ECS, Version 2014-05-26 (reference/ecs.md): the instance lifecycle and instance RAM roles.
//! Each resource file holds its actions' handlers and permissions; ACTIONS joins them.

pub mod instances;
pub mod ram_roles;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::{ActionSpec, Ctx, Permission, Product};
use crate::protocol::params::ProductDoc;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, instances::InstanceRow};

pub const VERSION: &str = "2014-05-26";

pub static ACTIONS: &[ActionSpec] = &[
    instances::CREATE_INSTANCE,
    instances::RUN_INSTANCES,
    instances::START_INSTANCE,
    instances::STOP_INSTANCE,
    instances::REBOOT_INSTANCE,
    instances::DELETE_INSTANCE,
    instances::DESCRIBE_INSTANCES,
    instances::DESCRIBE_INSTANCE_STATUS,
    ram_roles::ATTACH_INSTANCE_RAM_ROLE,
    ram_roles::DETACH_INSTANCE_RAM_ROLE,
    ram_roles::DESCRIBE_INSTANCE_RAM_ROLE,
];

#[must_use]
pub fn product(doc: ProductDoc) -> Product {
    Product {
        name: "Ecs",
        version: VERSION,
        host: "ecs.aliyuncs.com",
        actions: ACTIONS,
        deny: ApiError::forbidden_ram,
        doc,
    }
}

/// Public regions and the two-character infix their resource ids carry (`i-bp...` in
/// cn-hangzhou). Infixes not seen in real ids are derived from the region's name.
const REGIONS: &[(&str, &str)] = &[
    ("cn-qingdao", "m5"),
    ("cn-beijing", "2z"),
    ("cn-zhangjiakou", "8v"),
    ("cn-huhehaote", "hp"),
    ("cn-wulanchabu", "0j"),
    ("cn-hangzhou", "bp"),
    ("cn-shanghai", "uf"),
    ("cn-nanjing", ""),
    ("cn-fuzhou", ""),
    ("cn-shenzhen", "wz"),
    ("cn-heyuan", ""),
    ("cn-guangzhou", ""),
    ("cn-chengdu", "2v"),
    ("cn-wuhan-lr", ""),
    ("cn-hongkong", "j6"),
    ("ap-northeast-1", "6w"),
    ("ap-northeast-2", ""),
    ("ap-southeast-1", "t4"),
    ("ap-southeast-2", ""),
    ("ap-southeast-3", "8p"),
    ("ap-southeast-5", "k1"),
    ("ap-southeast-6", ""),
    ("ap-southeast-7", ""),
    ("ap-south-1", "a2"),
    ("us-east-1", "0x"),
    ("us-west-1", "rj"),
    ("eu-west-1", "d7"),
    ("eu-central-1", "gw"),
    ("me-east-1", "eb"),
    ("me-central-1", ""),
    ("na-south-1", ""),
    ("cn-beijing-finance-1", ""),
    ("cn-hangzhou-finance", ""),
    ("cn-shanghai-finance-1", ""),
    ("cn-shenzhen-finance-1", ""),
];

/// The request's RegionId, which must name a real region (`InvalidRegionId.NotFound`, 404).
pub fn region<'a>(ctx: &'a Ctx<'_>) -> ApiResult<&'a str> {
    let r = ctx.params.required("RegionId")?;
    if REGIONS.iter().any(|(name, _)| *name == r) {
        Ok(r)
    } else {
        Err(ApiError::new(
            404,
            "InvalidRegionId.NotFound",
            "The RegionId provided does not exist in our records.",
        ))
    }
}

/// The two lower-case characters after the dash in the region's resource ids.
#[must_use]
pub fn region_infix(region: &str) -> String {
    match REGIONS.iter().find(|(name, _)| *name == region) {
        Some((_, infix)) if !infix.is_empty() => (*infix).to_string(),
        _ => {
            let h = digest(&["infix", region]);
            alnum_from(&h, 2)
        }
    }
}

/// SHA-256 of the parts, each followed by a NUL so `["ab","c"]` and `["a","bc"]` differ.
#[must_use]
pub fn digest(parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().into()
}

/// `n` lower-case alphanumerics drawn deterministically from `bytes`.
#[must_use]
pub fn alnum_from(bytes: &[u8], n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    bytes
        .iter()
        .cycle()
        .take(n)
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect()
}

/// `acs:ecs:<region>:<account>:instance/<id>` (policy.md).
#[must_use]
pub fn instance_arn(ctx: &Ctx<'_>, instance_id: &str) -> String {
    format!(
        "acs:ecs:{}:{}:instance/{instance_id}",
        ctx.params.get("RegionId").unwrap_or("*"),
        ctx.account_id()
    )
}

/// `ecs:<Action>` on every instance of the region (creation and account-wide reads).
#[must_use]
pub fn on_all_instances(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    vec![Permission::new(
        format!("ecs:{action}"),
        instance_arn(ctx, "*"),
    )]
}

/// `ecs:<Action>` on the instance named by the `InstanceId` parameter, in the instance's own
/// region (these actions take no RegionId in the SDK).
#[must_use]
pub fn on_instance(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    let id = ctx.params.get("InstanceId").unwrap_or("*");
    let region = store::instances::get(ctx.tx, id)
        .ok()
        .flatten()
        .map(|i| i.region_id)
        .or_else(|| ctx.params.get("RegionId").map(str::to_string))
        .unwrap_or_else(|| "*".to_string());
    vec![Permission::new(
        format!("ecs:{action}"),
        format!("acs:ecs:{region}:{}:instance/{id}", ctx.account_id()),
    )]
}

/// `ecs:<Action>` on each instance of the `InstanceIds` JSON array, or on all instances when
/// the array is absent or unreadable (the handler then refuses it with the real code).
#[must_use]
pub fn on_instance_ids(ctx: &Ctx<'_>, action: &str) -> Vec<Permission> {
    match ctx.params.get("InstanceIds").map(parse_instance_ids) {
        Some(Ok(ids)) if !ids.is_empty() => ids
            .iter()
            .map(|id| Permission::new(format!("ecs:{action}"), instance_arn(ctx, id)))
            .collect(),
        _ => on_all_instances(ctx, action),
    }
}

pub fn instance_ids_malformed() -> ApiError {
    ApiError::new(
        400,
        "InvalidInstanceIds.Malformed",
        "The specified instanceIds are not valid.",
    )
}

/// `InstanceIds`: a JSON array of 1-100 instance id strings; duplicates count once.
pub fn parse_instance_ids(text: &str) -> ApiResult<Vec<String>> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(text) else {
        return Err(instance_ids_malformed());
    };
    if items.is_empty() || items.len() > 100 {
        return Err(instance_ids_malformed());
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(id) = item else {
            return Err(instance_ids_malformed());
        };
        if id.is_empty() {
            return Err(instance_ids_malformed());
        }
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub fn instance_not_found(message: &'static str) -> ApiError {
    ApiError::new(404, "InvalidInstanceId.NotFound", message)
}

/// The instance named by `InstanceId`, for the actions whose SDK request carries no RegionId
/// (Start/Stop/Reboot/DeleteInstance). A RegionId, when a client adds one anyway (aliyunsdkcore
/// always does), must be a real region and the instance's own.
pub fn instance_param(ctx: &Ctx<'_>) -> ApiResult<InstanceRow> {
    let id = ctx.params.required("InstanceId")?;
    let wanted = match ctx.params.get("RegionId") {
        Some(_) => Some(region(ctx)?),
        None => None,
    };
    match store::instances::get(ctx.tx, id)? {
        Some(i) if wanted.is_none_or(|r| r == i.region_id) => Ok(i),
        _ => Err(instance_not_found(
            "The specified InstanceId does not exist.",
        )),
    }
}

/// The instance in the request's region, or `InvalidInstanceId.NotFound` (404).
pub fn load_instance(
    ctx: &Ctx<'_>,
    region: &str,
    instance_id: &str,
    message: &'static str,
) -> ApiResult<InstanceRow> {
    match store::instances::get(ctx.tx, instance_id)? {
        Some(i) if i.region_id == region => Ok(i),
        _ => Err(instance_not_found(message)),
    }
}

#[must_use]
pub fn incorrect_status() -> ApiError {
    ApiError::new(
        403,
        "IncorrectInstanceStatus",
        "The current status of the resource does not support this operation.",
    )
}

/// With `DryRun=true`, every check has passed once this is reached: answer DryRunOperation.
pub fn dry_run(ctx: &Ctx<'_>) -> ApiResult<()> {
    if ctx.params.bool("DryRun") == Some(true) {
        Err(ApiError::new(
            400,
            "DryRunOperation",
            "Request validation has been passed with DryRun flag set.",
        ))
    } else {
        Ok(())
    }
}

/// Wraps a list the way ECS nests it: `{"Instance": [...]}`.
#[must_use]
pub fn nested(item: &str, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert(item.into(), Value::Array(items));
    Value::Object(m)
}

/// PageNumber (from 1) and PageSize (default 10) as the description checked them.
#[must_use]
pub fn paging(ctx: &Ctx<'_>) -> (usize, usize) {
    let number = ctx
        .params
        .int("PageNumber")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1)
        .max(1);
    let size = ctx
        .params
        .int("PageSize")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(10)
        .max(1);
    (number, size)
}

/// The items of one page.
#[must_use]
pub fn page_of<T: Clone>(items: &[T], number: usize, size: usize) -> Vec<T> {
    items
        .iter()
        .skip(number.saturating_sub(1).saturating_mul(size))
        .take(size)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn instance_ids() {
        assert_eq!(
            parse_instance_ids(r#"["i-a","i-b","i-a"]"#).unwrap(),
            ["i-a", "i-b"]
        );
        for bad in ["[]", "i-a", r#"{"a":1}"#, "[1]", r#"[""]"#, "[\"i-a\""] {
            assert_eq!(
                parse_instance_ids(bad).unwrap_err().code,
                "InvalidInstanceIds.Malformed",
                "{bad}"
            );
        }
        let many: Vec<String> = (0..101).map(|i| format!("\"i-{i}\"")).collect();
        assert!(parse_instance_ids(&format!("[{}]", many.join(","))).is_err());
    }

    #[test]
    fn infixes() {
        assert_eq!(region_infix("cn-hangzhou"), "bp");
        let derived = region_infix("cn-nanjing");
        assert_eq!(derived.len(), 2);
        assert_eq!(derived, region_infix("cn-nanjing"));
    }

    #[test]
    fn pages() {
        let v: Vec<u32> = (1..=25).collect();
        assert_eq!(page_of(&v, 3, 10), [21, 22, 23, 24, 25]);
        assert!(page_of(&v, 4, 10).is_empty());
    }
}
