//! ECS instances (reference/ecs.md): CreateInstance, RunInstances, StartInstance, StopInstance,
//! RebootInstance, DeleteInstance, DescribeInstances, DescribeInstanceStatus.
//!
//! Images, instance types, VSwitches and security groups are not modelled as resources: any id
//! of a plausible shape is accepted, and the VPC, zone, addresses and hardware an instance gets
//! are derived from its parameters deterministically.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::ram_roles::{ecs_role, mismatch_network, pass_role};
use super::{
    alnum_from, digest, dry_run, incorrect_status, instance_param, nested, on_all_instances,
    on_instance, page_of, paging, region, region_infix,
};
use crate::catalog::{ActionSpec, Ctx};
use crate::clock::iso_minutes;
use crate::ids;
use crate::protocol::{ApiError, ApiResult};
use crate::store::{self, instances::InstanceRow};

/// Parameters of the signing protocol: never part of an instance or of its ClientToken digest.
const PROTOCOL_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "SignatureType",
    "Timestamp",
    "SecurityToken",
    "ClientToken",
    "DryRun",
];

/// Launch parameters the handlers read themselves; the rest are kept in `attributes`.
const MODELLED_PARAMS: &[&str] = &[
    "RegionId",
    "ZoneId",
    "ImageId",
    "InstanceType",
    "VSwitchId",
    "SecurityGroupId",
    "InstanceName",
    "HostName",
    "Description",
    "RamRoleName",
    "Password",
    "Amount",
    "MinAmount",
];
/// Prefixes of flattened list parameters handled (or, for secrets, deliberately not kept).
const MODELLED_PREFIXES: &[&str] = &["Tag.", "SecurityGroupIds.", "HostNames.", "Password"];

/// Alibaba Cloud's MAC prefix for instance NICs.
const MAC_PREFIX: &str = "00:16:3e";

// ---- the launch request, shared by CreateInstance and RunInstances ----

struct Launch<'a> {
    region: &'a str,
    zone_id: Option<&'a str>,
    image_id: &'a str,
    instance_type: &'a str,
    vswitch_id: Option<&'a str>,
    security_group_ids: Vec<String>,
    instance_name: Option<&'a str>,
    host_name: Option<&'a str>,
    description: &'a str,
    role_name: Option<String>,
    tags: Vec<(String, String)>,
    attributes: Map<String, Value>,
    /// What a ClientToken was first used with: the action and every non-protocol parameter.
    digest: String,
}

fn invalid(status: u16, code: &'static str, message: &str) -> ApiError {
    ApiError::new(status, code, message)
}

fn is_windows(image_id: &str) -> bool {
    image_id.to_ascii_lowercase().starts_with("win")
}

/// Image ids are `m-...` (custom) or public names such as
/// `aliyun_3_x64_20G_alibase_20240528.vhd`.
fn plausible_image(id: &str) -> bool {
    let custom = id
        .strip_prefix("m-")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    let public = !id.starts_with("m-")
        && (2..=128).contains(&id.len())
        && id.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    custom || public
}

/// `ecs.<family>.<size>`, e.g. `ecs.g7.large`, `ecs.t5-lc1m2.small`.
fn plausible_instance_type(t: &str) -> bool {
    let parts: Vec<&str> = t.split('.').collect();
    parts.len() == 3
        && parts[0] == "ecs"
        && parts[1..].iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `<prefix>-` followed by lower-case alphanumerics.
fn plausible_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|r| {
            !r.is_empty()
                && r.len() <= 64
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `<region>-<letter>` (or `<region><letter>`, as in `ap-southeast-1a`).
fn plausible_zone(zone: &str, region: &str) -> bool {
    zone.strip_prefix(region)
        .map(|r| r.strip_prefix('-').unwrap_or(r))
        .is_some_and(|r| r.len() == 1 && r.bytes().all(|b| b.is_ascii_lowercase()))
}

/// ecs.md: Linux host names are 2-64 characters of `.`-separated segments of letters, digits
/// and `-`; Windows ones 2-15 characters without `.`, not all digits. Neither may start, end or
/// repeat `.` / `-`.
fn valid_host_name(name: &str, windows: bool) -> bool {
    let len = name.chars().count();
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let edges_ok = !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-'])
        && !name.contains("..")
        && !name.contains("--")
        && !name.contains(".-")
        && !name.contains("-.");
    if windows {
        (2..=15).contains(&len)
            && chars_ok
            && edges_ok
            && !name.contains('.')
            && !name.bytes().all(|b| b.is_ascii_digit())
    } else {
        (2..=64).contains(&len) && chars_ok && edges_ok
    }
}

/// ecs.md: 8-30 characters with three of upper case, lower case, digits and specials.
fn valid_password(p: &str) -> bool {
    const SPECIALS: &str = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/";
    let len = p.chars().count();
    if !(8..=30).contains(&len) {
        return false;
    }
    if !p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
    {
        return false;
    }
    let classes = [
        p.chars().any(|c| c.is_ascii_uppercase()),
        p.chars().any(|c| c.is_ascii_lowercase()),
        p.chars().any(|c| c.is_ascii_digit()),
        p.chars().any(|c| SPECIALS.contains(c)),
    ];
    classes.iter().filter(|c| **c).count() >= 3
}

/// `Tag.N.Key` / `Tag.N.Value`, N in 1-20, in N order.
fn parse_tags(ctx: &Ctx<'_>) -> ApiResult<Vec<(String, String)>> {
    let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (name, value) in ctx.params.with_prefix("Tag.") {
        let rest = &name["Tag.".len()..];
        let Some((n, field)) = rest.split_once('.') else {
            continue;
        };
        let n: u32 =
            n.parse()
                .ok()
                .filter(|n| (1..=20).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                400,
                "InvalidParameter",
                format!("The parameter \"{name}\" is not valid: at most 20 tags, numbered from 1."),
            )
                })?;
        let slot = by_index.entry(n).or_default();
        match field {
            "Key" => slot.0 = Some(value.to_string()),
            "Value" => slot.1 = Some(value.to_string()),
            _ => {}
        }
    }
    let mut tags = Vec::with_capacity(by_index.len());
    for (key, value) in by_index.into_values() {
        let Some(key) = key.filter(|k| !k.is_empty()) else {
            if value.is_some() {
                return Err(invalid(
                    400,
                    "InvalidTagKey.Malformed",
                    "The specified Tag.n.Key is not valid.",
                ));
            }
            continue;
        };
        let lower = key.to_ascii_lowercase();
        if key.chars().count() > 128
            || lower.starts_with("aliyun")
            || lower.starts_with("acs:")
            || lower.contains("http://")
            || lower.contains("https://")
        {
            return Err(invalid(
                400,
                "InvalidTagKey.Malformed",
                "The specified Tag.n.Key is not valid.",
            ));
        }
        let value = value.unwrap_or_default();
        let lower_v = value.to_ascii_lowercase();
        if value.chars().count() > 128
            || lower_v.contains("http://")
            || lower_v.contains("https://")
        {
            return Err(invalid(
                400,
                "InvalidTagValue.Malformed",
                "The specified Tag.n.Value is not valid.",
            ));
        }
        tags.push((key, value));
    }
    Ok(tags)
}

fn security_groups(ctx: &Ctx<'_>) -> ApiResult<Vec<String>> {
    let mut groups: Vec<String> = Vec::new();
    let listed = ctx
        .params
        .with_prefix("SecurityGroupIds.")
        .map(|(_, v)| v.to_string());
    for g in ctx
        .params
        .get("SecurityGroupId")
        .map(str::to_string)
        .into_iter()
        .chain(listed)
    {
        if g.is_empty() {
            continue;
        }
        if !plausible_id(&g, "sg") {
            return Err(invalid(
                404,
                "InvalidSecurityGroupId.NotFound",
                "The specified SecurityGroupId does not exist.",
            ));
        }
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    Ok(groups)
}

/// Everything else the caller sent, kept as given (the password is never kept).
fn other_attributes(ctx: &Ctx<'_>) -> Map<String, Value> {
    ctx.params
        .with_prefix("")
        .filter(|(k, _)| {
            !PROTOCOL_PARAMS.contains(k)
                && !MODELLED_PARAMS.contains(k)
                && !MODELLED_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

fn request_digest(ctx: &Ctx<'_>, action: &str) -> String {
    let mut parts: Vec<&str> = vec![action];
    for (k, v) in ctx.params.with_prefix("") {
        if !PROTOCOL_PARAMS.contains(&k) {
            parts.push(k);
            parts.push(v);
        }
    }
    hex::encode(digest(&parts))
}

/// Checks a launch request in the order the real service reports faults: shapes, then the
/// role (PassRole, existence, trust, network).
fn launch<'a>(ctx: &'a Ctx<'_>, action: &str) -> ApiResult<Launch<'a>> {
    let region = region(ctx)?;
    let image_id = ctx.params.required("ImageId")?;
    if !plausible_image(image_id) {
        return Err(invalid(
            404,
            "InvalidImageId.NotFound",
            "The specified ImageId does not exist.",
        ));
    }
    let instance_type = ctx.params.required("InstanceType")?;
    if !plausible_instance_type(instance_type) {
        return Err(invalid(
            400,
            "InvalidInstanceType.ValueNotSupported",
            "The specified InstanceType does not exist or beyond the permitted range.",
        ));
    }
    let zone_id = ctx.params.get("ZoneId");
    if zone_id.is_some_and(|z| !plausible_zone(z, region)) {
        return Err(invalid(
            404,
            "InvalidZoneId.NotFound",
            "The specified zone does not exist.",
        ));
    }
    let vswitch_id = ctx.params.get("VSwitchId");
    if vswitch_id.is_some_and(|v| !plausible_id(v, "vsw")) {
        return Err(invalid(
            404,
            "InvalidVSwitchId.NotFound",
            "Specified virtual switch does not exist.",
        ));
    }
    let security_group_ids = security_groups(ctx)?;
    let host_name = ctx.params.get("HostName");
    if host_name.is_some_and(|h| !valid_host_name(h, is_windows(image_id))) {
        return Err(invalid(
            400,
            "InvalidHostName.Malformed",
            "The specified parameter \"HostName\" is not valid.",
        ));
    }
    if ctx
        .params
        .get("Password")
        .is_some_and(|p| !valid_password(p))
    {
        return Err(invalid(
            400,
            "InvalidPassword.Malformed",
            "The specified parameter \"Password\" is not valid.",
        ));
    }
    let description = ctx.params.get("Description").unwrap_or_default();
    let lower = description.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Err(invalid(
            400,
            "InvalidDescription.Malformed",
            "The specified parameter \"Description\" is not valid.",
        ));
    }
    let tags = parse_tags(ctx)?;
    let role_name = match ctx.params.get("RamRoleName") {
        Some(name) => {
            pass_role(ctx, name)?;
            let message = if action == "RunInstances" {
                "The specified parameter \"RAMRoleName\" does not exist."
            } else {
                "The specified RAMRoleName does not exist."
            };
            let role = ecs_role(ctx, name, message, 401)?;
            if vswitch_id.is_none() {
                return Err(mismatch_network());
            }
            Some(role.role_name)
        }
        None => None,
    };
    Ok(Launch {
        region,
        zone_id,
        image_id,
        instance_type,
        vswitch_id,
        security_group_ids,
        instance_name: ctx.params.get("InstanceName"),
        host_name,
        description,
        role_name,
        tags,
        attributes: other_attributes(ctx),
        digest: request_digest(ctx, action),
    })
}

/// A replay of an earlier call with the same ClientToken: the instances it created, or
/// `IdempotentParameterMismatch` when the parameters differ.
fn replay(ctx: &Ctx<'_>, l: &Launch<'_>) -> ApiResult<Option<Vec<String>>> {
    let Some(token) = ctx.params.get("ClientToken") else {
        return Ok(None);
    };
    let earlier = store::instances::by_client_token(ctx.tx, token)?;
    let Some(first) = earlier.first() else {
        return Ok(None);
    };
    if first.request_digest.as_deref() != Some(l.digest.as_str()) {
        return Err(ApiError::new(
            400,
            "IdempotentParameterMismatch",
            "The specified parameter has changed while using an already used clientToken.",
        ));
    }
    Ok(Some(earlier.into_iter().map(|i| i.instance_id).collect()))
}

/// A private address in 172.16.0.0/12 no other instance has: a /24 derived from the VSwitch
/// (so instances of one VSwitch share a subnet), hosts from .1 upwards, the next /24 when full.
pub(crate) fn allocate_ip(
    tx: &rusqlite::Transaction<'_>,
    region: &str,
    vswitch_id: Option<&str>,
) -> ApiResult<String> {
    let seed = digest(&["subnet", region, vswitch_id.unwrap_or("classic")]);
    let base = (u32::from(seed[0] % 16) << 8) | u32::from(seed[1]);
    for step in 0..4096u32 {
        let subnet = (base + step) % 4096;
        let second = 16 + (subnet >> 8);
        let third = subnet & 0xff;
        for host in 1..=253u32 {
            let ip = format!("172.{second}.{third}.{host}");
            if !store::instances::ip_in_use(tx, &ip)? {
                return Ok(ip);
            }
        }
    }
    Err(ApiError::internal_from(&"172.16.0.0/12 is exhausted"))
}

/// `vpc-` + the region infix + 18 characters derived from the VSwitch: one VPC per VSwitch.
pub(crate) fn vpc_of(region: &str, vswitch_id: &str) -> String {
    let h = digest(&["vpc", region, vswitch_id]);
    format!("vpc-{}{}", region_infix(region), alnum_from(&h, 18))
}

/// The zone of the VSwitch (or, for a classic instance, of the instance): a fixed letter.
pub(crate) fn zone_of(region: &str, seed: &str) -> String {
    const LETTERS: &[u8] = b"bcdefghijk";
    let h = digest(&["zone", region, seed]);
    format!(
        "{region}-{}",
        char::from(LETTERS[usize::from(h[0]) % LETTERS.len()])
    )
}

pub(crate) fn mac_of(instance_id: &str) -> String {
    let h = digest(&["mac", instance_id]);
    format!("{MAC_PREFIX}:{:02x}:{:02x}:{:02x}", h[0], h[1], h[2])
}

fn create_instances(
    ctx: &Ctx<'_>,
    l: &Launch<'_>,
    amount: usize,
    running: bool,
) -> ApiResult<Vec<String>> {
    let now = ctx.now.timestamp();
    let infix = region_infix(l.region);
    let token = ctx.params.get("ClientToken");
    let mut created = Vec::with_capacity(amount);
    let tags: Vec<Value> = l.tags.iter().map(|(k, v)| json!([k, v])).collect();
    for index in 0..amount {
        let instance_id = ids::instance_id(&infix);
        let short = instance_id.trim_start_matches("i-");
        let row = InstanceRow {
            zone_id: l.zone_id.map_or_else(
                || zone_of(l.region, l.vswitch_id.unwrap_or(&instance_id)),
                str::to_string,
            ),
            instance_name: l
                .instance_name
                .map_or_else(|| instance_id.clone(), str::to_string),
            host_name: l
                .host_name
                .map_or_else(|| format!("iZ{short}Z"), str::to_string),
            description: l.description.to_string(),
            image_id: l.image_id.to_string(),
            instance_type: l.instance_type.to_string(),
            vswitch_id: l.vswitch_id.map(str::to_string),
            vpc_id: l.vswitch_id.map(|v| vpc_of(l.region, v)),
            security_group_ids: Value::from(l.security_group_ids.clone()).to_string(),
            private_ip: allocate_ip(ctx.tx, l.region, l.vswitch_id)?,
            mac: mac_of(&instance_id),
            serial_number: uuid::Uuid::new_v4().to_string(),
            status: if running { "Running" } else { "Stopped" }.to_string(),
            ram_role_name: l.role_name.clone(),
            ram_role_policy: None,
            tags: Value::Array(tags.clone()).to_string(),
            attributes: Value::Object(l.attributes.clone()).to_string(),
            client_token: token.map(str::to_string),
            request_digest: token.map(|_| l.digest.clone()),
            launch_index: i64::try_from(index).unwrap_or(i64::MAX),
            creation_time: now,
            start_time: running.then_some(now),
            region_id: l.region.to_string(),
            instance_id: instance_id.clone(),
        };
        store::instances::insert(ctx.tx, &row)?;
        created.push(instance_id);
    }
    Ok(created)
}

/// Real pay-as-you-go orders carry a numeric order id; acsemu bills nothing.
fn order_fields(out: &mut Map<String, Value>) {
    out.insert(
        "OrderId".into(),
        json!(format!("2{}", &ids::role_id()[..14])),
    );
    out.insert("TradePrice".into(), json!(0.0));
}

// ---- CreateInstance ----

pub const CREATE_INSTANCE: ActionSpec = ActionSpec {
    name: "CreateInstance",
    write: true,
    permissions: |ctx| on_all_instances(ctx, "CreateInstance"),
    handler: create_instance,
};

/// Creates one instance, left `Stopped` as the real service leaves it.
fn create_instance(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let l = launch(ctx, "CreateInstance")?;
    dry_run(ctx)?;
    let ids = match replay(ctx, &l)? {
        Some(ids) => ids,
        None => create_instances(ctx, &l, 1, false)?,
    };
    let mut out = Map::new();
    out.insert(
        "InstanceId".into(),
        json!(ids.first().cloned().unwrap_or_default()),
    );
    order_fields(&mut out);
    Ok(out)
}

// ---- RunInstances ----

pub const RUN_INSTANCES: ActionSpec = ActionSpec {
    name: "RunInstances",
    write: true,
    permissions: |ctx| on_all_instances(ctx, "RunInstances"),
    handler: run_instances,
};

/// Creates 1-100 instances and starts them (Pending → Running at once).
fn run_instances(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let l = launch(ctx, "RunInstances")?;
    let amount = ctx
        .params
        .int("Amount")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1);
    if let Some(min) = ctx.params.int("MinAmount") {
        if usize::try_from(min).map_or(true, |m| m > amount) {
            return Err(ApiError::new(
                400,
                "InvalidParameter",
                "The parameter \"MinAmount\" must not be greater than \"Amount\".",
            ));
        }
    }
    dry_run(ctx)?;
    let ids = match replay(ctx, &l)? {
        Some(ids) => ids,
        None => create_instances(ctx, &l, amount, true)?,
    };
    let mut out = Map::new();
    out.insert(
        "InstanceIdSets".into(),
        nested(
            "InstanceIdSet",
            ids.into_iter().map(Value::String).collect(),
        ),
    );
    order_fields(&mut out);
    Ok(out)
}

// ---- StartInstance / StopInstance / RebootInstance ----

pub const START_INSTANCE: ActionSpec = ActionSpec {
    name: "StartInstance",
    write: true,
    permissions: |ctx| on_instance(ctx, "StartInstance"),
    handler: start_instance,
};

/// `Stopped` → `Running` (through `Starting`, which passes at once).
fn start_instance(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    transition(ctx, "Stopped", "Running")
}

pub const STOP_INSTANCE: ActionSpec = ActionSpec {
    name: "StopInstance",
    write: true,
    permissions: |ctx| on_instance(ctx, "StopInstance"),
    handler: stop_instance,
};

/// `Running` → `Stopped` (through `Stopping`, which passes at once).
fn stop_instance(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    transition(ctx, "Running", "Stopped")
}

pub const REBOOT_INSTANCE: ActionSpec = ActionSpec {
    name: "RebootInstance",
    write: true,
    permissions: |ctx| on_instance(ctx, "RebootInstance"),
    handler: reboot_instance,
};

/// `Running` → `Running`, with a new StartTime.
fn reboot_instance(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    transition(ctx, "Running", "Running")
}

/// One lifecycle step: the instance must be in `from` (else `IncorrectInstanceStatus`), DryRun
/// stops after the checks, and arriving at `Running` stamps a new StartTime.
fn transition(ctx: &Ctx<'_>, from: &str, to: &str) -> ApiResult<Map<String, Value>> {
    let i = instance_param(ctx)?;
    if i.status != from {
        return Err(incorrect_status());
    }
    dry_run(ctx)?;
    let started = (to == "Running").then(|| ctx.now.timestamp());
    store::instances::set_status(ctx.tx, &i.instance_id, to, started)?;
    Ok(Map::new())
}

// ---- DeleteInstance ----

pub const DELETE_INSTANCE: ActionSpec = ActionSpec {
    name: "DeleteInstance",
    write: true,
    permissions: |ctx| on_instance(ctx, "DeleteInstance"),
    handler: delete_instance,
};

fn attributes(i: &InstanceRow) -> Map<String, Value> {
    match serde_json::from_str(&i.attributes) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn attribute<'a>(attrs: &'a Map<String, Value>, name: &str, default: &'a str) -> &'a str {
    attrs.get(name).and_then(Value::as_str).unwrap_or(default)
}

/// A `Stopped` instance, or with `Force=true` a `Running` one, is released.
fn delete_instance(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let i = instance_param(ctx)?;
    if attribute(&attributes(&i), "DeletionProtection", "false").eq_ignore_ascii_case("true") {
        return Err(ApiError::new(
            403,
            "InvalidOperation.DeletionProtection",
            "The instance is protected from deletion; turn DeletionProtection off first.",
        ));
    }
    let force = ctx.params.bool("Force") == Some(true);
    match (i.status.as_str(), force) {
        ("Stopped", _) | ("Running", true) => {}
        _ => return Err(incorrect_status()),
    }
    dry_run(ctx)?;
    store::instances::delete(ctx.tx, &i.instance_id)?;
    Ok(Map::new())
}

// ---- DescribeInstances ----

pub const DESCRIBE_INSTANCES: ActionSpec = ActionSpec {
    name: "DescribeInstances",
    write: false,
    permissions: |ctx| on_all_instances(ctx, "DescribeInstances"),
    handler: describe_instances,
};

const STATUSES: &[&str] = &["Pending", "Running", "Starting", "Stopping", "Stopped"];

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(at) => rest = &rest[at + mid.len()..],
            None => return false,
        }
    }
    true
}

fn tags_of(i: &InstanceRow) -> Vec<(String, String)> {
    serde_json::from_str::<Vec<(String, String)>>(&i.tags).unwrap_or_default()
}

fn security_groups_of(i: &InstanceRow) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(&i.security_group_ids).unwrap_or_default()
}

/// vCPUs by size (`large` 2, `xlarge` 4, `Nxlarge` 4N) and memory by family (`c` 2 GiB per
/// vCPU, `g` 4, `r` 8): the shapes of the real families, close enough for a description.
fn hardware(instance_type: &str) -> (i64, i64) {
    let mut parts = instance_type.split('.').skip(1);
    let family = parts.next().unwrap_or_default();
    let size = parts.next().unwrap_or_default();
    let cpu = match size {
        "small" | "micro" | "nano" | "tiny" => 1,
        "medium" | "large" => 2,
        "xlarge" => 4,
        s => s
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<i64>().ok())
            .map_or(2, |n| 4 * n),
    };
    let per_cpu_gib = match family.chars().next() {
        Some('c') => 2,
        Some('r') => 8,
        _ => 4,
    };
    (cpu, cpu * per_cpu_gib * 1024)
}

fn os_of(image_id: &str) -> (&'static str, String) {
    let lower = image_id.to_ascii_lowercase();
    if lower.starts_with("win") {
        return ("windows", "Windows Server".to_string());
    }
    let name = if let Some(rest) = lower.strip_prefix("aliyun_") {
        format!(
            "Alibaba Cloud Linux {}",
            rest.split('_').next().unwrap_or_default()
        )
    } else if let Some(rest) = lower.strip_prefix("centos_") {
        format!(
            "CentOS {} 64位",
            rest.split('_').take(2).collect::<Vec<_>>().join(".")
        )
    } else if let Some(rest) = lower.strip_prefix("ubuntu_") {
        format!(
            "Ubuntu {} 64位",
            rest.split('_').take(2).collect::<Vec<_>>().join(".")
        )
    } else if let Some(rest) = lower.strip_prefix("debian_") {
        format!("Debian {} 64位", rest.split('_').next().unwrap_or_default())
    } else {
        "Linux".to_string()
    };
    ("linux", name)
}

fn ip_list(ips: Vec<String>) -> Value {
    json!({ "IpAddress": ips })
}

/// One instance as DescribeInstances shows it (ecs.md).
fn instance_json(i: &InstanceRow) -> Value {
    let attrs = attributes(i);
    let (cpu, memory) = hardware(&i.instance_type);
    let (os_type, os_name) = os_of(&i.image_id);
    let vpc = i.vswitch_id.is_some();
    let family = i
        .instance_type
        .rsplit_once('.')
        .map(|(f, _)| f.to_string())
        .unwrap_or_default();
    let time = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(iso_minutes)
            .unwrap_or_default()
    };
    json!({
        "InstanceId": i.instance_id,
        "InstanceName": i.instance_name,
        "RegionId": i.region_id,
        "ZoneId": i.zone_id,
        "Status": i.status,
        "InstanceType": i.instance_type,
        "InstanceTypeFamily": family,
        "ImageId": i.image_id,
        "Cpu": cpu,
        "Memory": memory,
        "HostName": i.host_name,
        "SerialNumber": i.serial_number,
        "CreationTime": time(i.creation_time),
        "StartTime": i.start_time.map(time).unwrap_or_default(),
        "ExpiredTime": "2099-12-31T15:59Z",
        "InstanceChargeType": attribute(&attrs, "InstanceChargeType", "PostPaid"),
        "InternetChargeType": attribute(&attrs, "InternetChargeType", "PayByTraffic"),
        "InternetMaxBandwidthOut": attribute(&attrs, "InternetMaxBandwidthOut", "0").parse::<i64>().unwrap_or(0),
        "InstanceNetworkType": if vpc { "vpc" } else { "classic" },
        "OSType": os_type,
        "OSName": os_name,
        "KeyPairName": attribute(&attrs, "KeyPairName", ""),
        "SecurityGroupIds": { "SecurityGroupId": security_groups_of(i) },
        "VpcAttributes": {
            "VpcId": i.vpc_id.clone().unwrap_or_default(),
            "VSwitchId": i.vswitch_id.clone().unwrap_or_default(),
            "PrivateIpAddress": ip_list(if vpc { vec![i.private_ip.clone()] } else { Vec::new() }),
            "NatIpAddress": "",
        },
        "PublicIpAddress": ip_list(Vec::new()),
        "InnerIpAddress": ip_list(if vpc { Vec::new() } else { vec![i.private_ip.clone()] }),
        "EipAddress": { "AllocationId": "", "IpAddress": "", "InternetChargeType": "" },
        "Tags": { "Tag": tags_of(i).into_iter().map(|(k, v)| json!({"TagKey": k, "TagValue": v})).collect::<Vec<_>>() },
        "OperationLocks": { "LockReason": [] },
        "MetadataOptions": {
            "HttpEndpoint": attribute(&attrs, "HttpEndpoint", "enabled"),
            "HttpTokens": attribute(&attrs, "HttpTokens", "optional"),
        },
        "Description": i.description,
        "DeletionProtection": attribute(&attrs, "DeletionProtection", "false").eq_ignore_ascii_case("true"),
    })
}

/// The `Tag.N.Key` / `Tag.N.Value` filter: every given tag must be on the instance.
fn tag_filter(ctx: &Ctx<'_>) -> ApiResult<Vec<(String, Option<String>)>> {
    let mut by_index: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (name, value) in ctx.params.with_prefix("Tag.") {
        let rest = &name["Tag.".len()..];
        let Some((n, field)) = rest.split_once('.') else {
            continue;
        };
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidTag.Mismatch",
                    "The specified Tag.n.Key and Tag.n.Value are not valid.",
                )
            })?;
        let slot = by_index.entry(n).or_default();
        match field {
            "Key" => slot.0 = Some(value.to_string()),
            "Value" => slot.1 = Some(value.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (key, value) in by_index.into_values() {
        match key.filter(|k| !k.is_empty()) {
            Some(k) => out.push((k, value.filter(|v| !v.is_empty()))),
            None if value.is_some() => {
                return Err(ApiError::new(
                    400,
                    "InvalidTag.Mismatch",
                    "The specified Tag.n.Key and Tag.n.Value are not valid.",
                ))
            }
            None => {}
        }
    }
    Ok(out)
}

fn next_token(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("acsemu:{offset}"))
}

fn read_next_token(token: &str) -> ApiResult<usize> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("acsemu:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidParameter",
                "The specified parameter \"NextToken\" is not valid.",
            )
        })
}

fn describe_instances(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let region = region(ctx)?;
    let ids = match ctx.params.get("InstanceIds") {
        Some(t) => Some(super::parse_instance_ids(t)?),
        None => None,
    };
    let status = ctx.params.get("Status");
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::new(
            404,
            "InvalidStatus.NotFound",
            "The specified Status is not found.",
        ));
    }
    let tags = tag_filter(ctx)?;
    let name = ctx.params.get("InstanceName");
    let eq = |param: &str, value: Option<&str>| {
        ctx.params.get(param).is_none_or(|want| value == Some(want))
    };
    let mut matched: Vec<InstanceRow> = store::instances::list_region(ctx.tx, region)?
        .into_iter()
        .filter(|i| ids.as_ref().is_none_or(|ids| ids.contains(&i.instance_id)))
        .filter(|i| name.is_none_or(|n| glob(n, &i.instance_name)))
        .filter(|i| status.is_none_or(|s| i.status == s))
        .filter(|i| eq("VpcId", i.vpc_id.as_deref()))
        .filter(|i| eq("VSwitchId", i.vswitch_id.as_deref()))
        .filter(|i| eq("ZoneId", Some(&i.zone_id)))
        .filter(|i| eq("InstanceType", Some(&i.instance_type)))
        .filter(|i| eq("ImageId", Some(&i.image_id)))
        .filter(|i| {
            ctx.params
                .get("SecurityGroupId")
                .is_none_or(|g| security_groups_of(i).iter().any(|s| s == g))
        })
        .filter(|i| {
            let have = tags_of(i);
            tags.iter().all(|(k, v)| {
                have.iter()
                    .any(|(hk, hv)| hk == k && v.as_ref().is_none_or(|v| v == hv))
            })
        })
        .collect();
    let total = matched.len();
    let mut out = Map::new();
    out.insert("TotalCount".into(), json!(total));
    if ctx.params.get("NextToken").is_some() || ctx.params.get("MaxResults").is_some() {
        // ecs.md: MaxResults 1-100, default 10, larger values read as 100.
        let max = ctx
            .params
            .int("MaxResults")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(10)
            .clamp(1, 100);
        let offset = match ctx.params.get("NextToken") {
            Some(t) => read_next_token(t)?,
            None => 0,
        };
        let end = (offset + max).min(total);
        let items: Vec<Value> = matched
            .drain(offset.min(total)..end)
            .map(|i| instance_json(&i))
            .collect();
        out.insert(
            "NextToken".into(),
            json!(if end < total {
                next_token(end)
            } else {
                String::new()
            }),
        );
        out.insert("Instances".into(), nested("Instance", items));
        return Ok(out);
    }
    let (number, size) = paging(ctx);
    out.insert("PageNumber".into(), json!(number));
    out.insert("PageSize".into(), json!(size));
    let items = page_of(&matched, number, size)
        .iter()
        .map(instance_json)
        .collect();
    out.insert("Instances".into(), nested("Instance", items));
    Ok(out)
}

// ---- DescribeInstanceStatus ----

pub const DESCRIBE_INSTANCE_STATUS: ActionSpec = ActionSpec {
    name: "DescribeInstanceStatus",
    write: false,
    permissions: |ctx| on_all_instances(ctx, "DescribeInstanceStatus"),
    handler: describe_instance_status,
};

/// The status of the region's instances, optionally of `InstanceId.N` (1-100) or one zone.
fn describe_instance_status(ctx: &Ctx<'_>) -> ApiResult<Map<String, Value>> {
    let region = region(ctx)?;
    let mut wanted: Vec<&str> = Vec::new();
    for (name, value) in ctx.params.with_prefix("InstanceId.") {
        let n = name["InstanceId.".len()..].parse::<u32>().ok();
        if !n.is_some_and(|n| (1..=100).contains(&n)) {
            return Err(ApiError::new(
                400,
                "InvalidParameter",
                format!(
                    "The parameter \"{name}\" is not valid: InstanceId.N counts from 1 to 100."
                ),
            ));
        }
        if !value.is_empty() {
            wanted.push(value);
        }
    }
    let zone = ctx.params.get("ZoneId");
    let matched: Vec<InstanceRow> = store::instances::list_region(ctx.tx, region)?
        .into_iter()
        .filter(|i| wanted.is_empty() || wanted.contains(&i.instance_id.as_str()))
        .filter(|i| zone.is_none_or(|z| i.zone_id == z))
        .collect();
    let (number, size) = paging(ctx);
    let items = page_of(&matched, number, size)
        .iter()
        .map(|i| json!({"InstanceId": i.instance_id, "Status": i.status}))
        .collect();
    let mut out = Map::new();
    out.insert("TotalCount".into(), json!(matched.len()));
    out.insert("PageNumber".into(), json!(number));
    out.insert("PageSize".into(), json!(size));
    out.insert("InstanceStatuses".into(), nested("InstanceStatus", items));
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shapes() {
        assert!(plausible_image("aliyun_3_x64_20G_alibase_20240528.vhd"));
        assert!(plausible_image("centos_7_03_64_40G_alibase_20170503.vhd"));
        assert!(plausible_image("m-bp1abc"));
        assert!(!plausible_image("../etc"));
        assert!(!plausible_image("m-"));
        assert!(plausible_instance_type("ecs.g6.large"));
        assert!(plausible_instance_type("ecs.t5-lc1m2.small"));
        assert!(!plausible_instance_type("g6.large"));
        assert!(!plausible_instance_type("ecs.G6.large"));
        assert!(plausible_id("vsw-bp1abc", "vsw"));
        assert!(!plausible_id("vs-bp1abc", "vsw"));
        assert!(!plausible_id("vsw-", "vsw"));
        assert!(plausible_zone("cn-hangzhou-i", "cn-hangzhou"));
        assert!(plausible_zone("ap-southeast-1a", "ap-southeast-1"));
        assert!(!plausible_zone("cn-shanghai-b", "cn-hangzhou"));
        assert!(!plausible_zone("cn-hangzhou-ii", "cn-hangzhou"));
    }

    #[test]
    fn host_names_and_passwords() {
        assert!(valid_host_name("web-01.example", false));
        assert!(!valid_host_name("web..01", false));
        assert!(!valid_host_name("-web", false));
        assert!(!valid_host_name("a", false));
        assert!(valid_host_name("WIN-APP01", true));
        assert!(!valid_host_name("win.app", true));
        assert!(!valid_host_name("12345", true));
        assert!(valid_password("Abcdef12"));
        assert!(valid_password("abcdef1!"));
        assert!(!valid_password("abcdefgh1"));
        assert!(!valid_password("Ab1!"));
    }

    #[test]
    fn globbing() {
        assert!(glob("web*", "web-01"));
        assert!(glob("*01", "web-01"));
        assert!(glob("w*-*1", "web-01"));
        assert!(glob("*", ""));
        assert!(!glob("web", "web-01"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn hardware_and_os() {
        assert_eq!(hardware("ecs.g7.large"), (2, 8192));
        assert_eq!(hardware("ecs.c6.2xlarge"), (8, 16384));
        assert_eq!(hardware("ecs.r7.xlarge"), (4, 32768));
        assert_eq!(
            os_of("aliyun_3_x64_20G_alibase_20240528.vhd").1,
            "Alibaba Cloud Linux 3"
        );
        assert_eq!(os_of("win2022_21H2_x64.vhd").0, "windows");
    }

    #[test]
    fn derived_network() {
        assert_eq!(
            vpc_of("cn-hangzhou", "vsw-a"),
            vpc_of("cn-hangzhou", "vsw-a")
        );
        assert_ne!(
            vpc_of("cn-hangzhou", "vsw-a"),
            vpc_of("cn-hangzhou", "vsw-b")
        );
        assert!(vpc_of("cn-hangzhou", "vsw-a").starts_with("vpc-bp"));
        assert_eq!(vpc_of("cn-hangzhou", "vsw-a").len(), 24);
        assert!(zone_of("cn-hangzhou", "vsw-a").starts_with("cn-hangzhou-"));
        assert!(mac_of("i-x").starts_with("00:16:3e:"));
        assert_eq!(mac_of("i-x").len(), 17);
        let t = next_token(20);
        assert_eq!(read_next_token(&t).unwrap(), 20);
        assert!(read_next_token("zz").is_err());
    }
}
