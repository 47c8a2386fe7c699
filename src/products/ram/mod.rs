//! RAM, Version 2015-05-01 (reference/ram.md). Each resource file holds its actions' handlers
//! and permissions; ACTIONS joins them for the catalog.

pub mod attachments;
pub mod groups;
pub mod keys;
pub mod policies;
pub mod roles;
pub mod users;

use serde_json::{Map, Value};

use crate::auth::policy::{self, DocumentKind, PolicyDocument};
use crate::catalog::{ActionSpec, Ctx, Permission, Product};
use crate::protocol::params::ProductDoc;
use crate::protocol::{ApiError, ApiResult};

pub const VERSION: &str = "2015-05-01";

pub static ACTIONS: &[ActionSpec] = &[
    roles::CREATE_ROLE,
    roles::GET_ROLE,
    roles::LIST_ROLES,
    roles::UPDATE_ROLE,
    roles::DELETE_ROLE,
    policies::CREATE_POLICY,
    policies::GET_POLICY,
    policies::LIST_POLICIES,
    policies::DELETE_POLICY,
    policies::CREATE_POLICY_VERSION,
    policies::GET_POLICY_VERSION,
    policies::LIST_POLICY_VERSIONS,
    policies::SET_DEFAULT_POLICY_VERSION,
    policies::DELETE_POLICY_VERSION,
    attachments::ATTACH_POLICY_TO_ROLE,
    attachments::DETACH_POLICY_FROM_ROLE,
    attachments::LIST_POLICIES_FOR_ROLE,
    attachments::ATTACH_POLICY_TO_USER,
    attachments::DETACH_POLICY_FROM_USER,
    attachments::LIST_POLICIES_FOR_USER,
    attachments::ATTACH_POLICY_TO_GROUP,
    attachments::DETACH_POLICY_FROM_GROUP,
    attachments::LIST_POLICIES_FOR_GROUP,
    attachments::LIST_ENTITIES_FOR_POLICY,
    users::CREATE_USER,
    users::GET_USER,
    users::UPDATE_USER,
    users::LIST_USERS,
    users::DELETE_USER,
    keys::CREATE_ACCESS_KEY,
    keys::LIST_ACCESS_KEYS,
    keys::UPDATE_ACCESS_KEY,
    keys::DELETE_ACCESS_KEY,
    groups::CREATE_GROUP,
    groups::GET_GROUP,
    groups::UPDATE_GROUP,
    groups::LIST_GROUPS,
    groups::DELETE_GROUP,
    groups::ADD_USER_TO_GROUP,
    groups::REMOVE_USER_FROM_GROUP,
    groups::LIST_GROUPS_FOR_USER,
    groups::LIST_USERS_FOR_GROUP,
];

#[must_use]
pub fn product(doc: ProductDoc) -> Product {
    Product {
        name: "Ram",
        version: VERSION,
        host: "ram.aliyuncs.com",
        actions: ACTIONS,
        deny: ApiError::no_permission,
        doc,
    }
}

/// `acs:ram:*:<account>:<kind>/<name>`: the resource policies match RAM actions against.
#[must_use]
pub fn resource(ctx: &Ctx<'_>, kind: &str, name: &str) -> String {
    format!("acs:ram:*:{}:{kind}/{name}", ctx.account_id())
}

/// The resource of account-wide List actions.
#[must_use]
pub fn account_resource(ctx: &Ctx<'_>) -> String {
    format!("acs:ram:*:{}:*", ctx.account_id())
}

/// `ram:<Action>` on one named resource, or on the account when the name is absent.
pub fn permission_on(ctx: &Ctx<'_>, action: &str, kind: &str, param: &str) -> Vec<Permission> {
    let resource = ctx
        .params
        .get(param)
        .map_or_else(|| account_resource(ctx), |name| resource(ctx, kind, name));
    vec![Permission::new(format!("ram:{action}"), resource)]
}

/// Largest permission policy document (ram.md: 1-6144 characters).
pub const MAX_POLICY_CHARS: usize = 6144;
/// Largest trust policy document (ram.md).
pub const MAX_TRUST_CHARS: usize = 2048;

/// Validates a policy document on write; every fault answers MalformedPolicyDocument with
/// a message that says what is wrong.
pub fn check_document(
    text: &str,
    kind: DocumentKind,
    max_chars: usize,
) -> ApiResult<PolicyDocument> {
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ApiError::new(
            400,
            "MalformedPolicyDocument.Length",
            format!("The policy document is {chars} characters long; the limit is {max_chars}."),
        ));
    }
    policy::parse(text, kind).map_err(|e| {
        ApiError::new(
            400,
            "MalformedPolicyDocument",
            format!("The policy document is malformed: {}", e.message),
        )
    })
}

/// Paging shared by the List actions: an opaque marker that names the last item returned.
pub fn decode_marker(marker: Option<&str>) -> ApiResult<Option<String>> {
    use base64::Engine;
    let Some(m) = marker else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::new(
                400,
                "InvalidParameter.Marker",
                "The specified parameter Marker is not valid.",
            )
        })
}

#[must_use]
pub fn encode_marker(last: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

/// Adds `IsTruncated` (and `Marker` when truncated) to a List answer, given one extra row was
/// fetched to tell.
pub fn page<T>(
    mut rows: Vec<T>,
    max_items: usize,
    name_of: impl Fn(&T) -> String,
    out: &mut Map<String, Value>,
) -> Vec<T> {
    let truncated = rows.len() > max_items;
    rows.truncate(max_items);
    out.insert("IsTruncated".into(), Value::Bool(truncated));
    if truncated {
        if let Some(last) = rows.last() {
            out.insert(
                "Marker".into(),
                Value::String(encode_marker(&name_of(last))),
            );
        }
    }
    rows
}

/// `MaxItems`, 1-1000 as the description checks, default 100.
#[must_use]
pub fn max_items(ctx: &Ctx<'_>) -> usize {
    ctx.params
        .int("MaxItems")
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(100)
}

/// Wraps a list the way RAM nests it: `{"Roles": {"Role": [...]}}`.
#[must_use]
pub fn nested(item: &str, items: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert(item.into(), Value::Array(items));
    Value::Object(m)
}

/// A one-field answer, such as `{"Policy": {...}}`.
#[must_use]
pub fn object(key: &str, v: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(key.into(), v);
    m
}
