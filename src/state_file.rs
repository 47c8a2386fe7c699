//! State files (issue 10): `acsemu serve --init FILE` creates, before the first request, RAM
//! users with fixed access keys, groups and their members, roles with trust policies, custom
//! policies, attachments, ECS instances with their roles and OSS buckets with objects;
//! `acsemu export` writes the current state in the same format (YAML or JSON).
//!
//! What the file names is created, or brought to what the file says; nothing the file does not
//! name is ever deleted. So applying the same file again (every restart) changes nothing and
//! fails nothing. The whole file is applied in one transaction: a file with one fault changes
//! nothing, and the error names the entry (`roles[0] (EcsRamRoleTest).trust_policy: ...`).
//!
//! Policy documents may be written as YAML/JSON structures or as JSON text; they are validated
//! by the same parser as the API (`auth::policy::parse`, through `products::ram::check_document`)
//! and compared as JSON values, so reformatting a document is not a change.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::policy::DocumentKind;
use crate::clock::iso;
use crate::ids;
use crate::products::ecs::instances::{allocate_ip, mac_of, vpc_of, zone_of};
use crate::products::ecs::ram_roles::trusts_ecs;
use crate::products::ecs::{alnum_from, digest, region_infix};
use crate::products::oss::address::check_bucket_name;
use crate::products::ram::policies::{CUSTOM, MAX_VERSIONS, SYSTEM};
use crate::products::ram::roles::DEFAULT_MAX_SESSION_DURATION;
use crate::products::ram::{check_document, MAX_POLICY_CHARS, MAX_TRUST_CHARS};
use crate::protocol::{ApiError, ApiResult};
use crate::server::AppState;
use crate::store::instances::InstanceRow;
use crate::store::keys::AccessKeyRow;
use crate::store::oss::{self, BucketRow, ObjectMeta};
use crate::store::policies::{PolicyRow, PolicyVersionRow};
use crate::store::principals::{GroupRow, UserRow};
use crate::store::roles::RoleRow;
use crate::store::{self, Store};

pub const DEFAULT_REGION: &str = "cn-hangzhou";
pub const DEFAULT_IMAGE: &str = "aliyun_3_x64_20G_alibase_20240819.vhd";
pub const DEFAULT_INSTANCE_TYPE: &str = "ecs.g7.large";
/// ram.md: a user has at most two AccessKeys.
const MAX_KEYS: usize = 2;
/// What PutObject stores when the request names no Content-Type.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";
const STORAGE_CLASSES: &[&str] = &[
    "Standard",
    "IA",
    "Archive",
    "ColdArchive",
    "DeepColdArchive",
];
const ACLS: &[&str] = &["private", "public-read", "public-read-write"];
/// The code of a fault in the file; it never reaches the wire.
const FAULT: &str = "InvalidStateFile";

/// The whole file. Every section is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicySpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<RoleSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<BucketSpec>,
}

/// A custom policy; `document` becomes its default version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub document: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub trust_policy: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<i64>,
    /// Attached policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_keys: Vec<KeySpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRef>,
}

/// A user's AccessKey with the id and secret the file fixes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub id: String,
    pub secret: String,
    /// `Active` (the default) or `Inactive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    /// User names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRef>,
}

/// A policy to attach: its name (a Custom policy of that name first, else the System one, as
/// GetPolicy looks), or `{name, type}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PolicyRef {
    Name(String),
    Typed {
        name: String,
        #[serde(rename = "type")]
        policy_type: String,
    },
}

impl PolicyRef {
    fn name(&self) -> &str {
        match self {
            Self::Name(n) | Self::Typed { name: n, .. } => n,
        }
    }
}

/// An ECS instance with a fixed id. Unnamed fields get the values CreateInstance would derive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceSpec {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vswitch_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_ip: Option<String>,
    /// `Running` (the default) or `Stopped`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The RAM role the instance's metadata service hands out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// An OSS bucket and objects in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjectSpec>,
}

/// An object: its content as UTF-8 text (`content`) or as base64 (`content_base64`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// What applying a file did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub updated: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// JSON for a `.json` file, YAML otherwise.
    #[must_use]
    pub fn of_path(path: &Path) -> Self {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

impl StateFile {
    pub fn parse(text: &str, format: Format) -> Result<Self, String> {
        match format {
            Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
            Format::Yaml => serde_norway::from_str(text).map_err(|e| e.to_string()),
        }
    }

    /// Reads and parses a file; the error names the file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the state file {}: {e}", path.display()))?;
        Self::parse(&text, Format::of_path(path))
            .map_err(|e| format!("the state file {} is not valid: {e}", path.display()))
    }

    pub fn render(&self, format: Format) -> Result<String, String> {
        match format {
            Format::Json => serde_json::to_string_pretty(self)
                .map(|s| s + "\n")
                .map_err(|e| e.to_string()),
            Format::Yaml => serde_norway::to_string(self).map_err(|e| e.to_string()),
        }
    }
}

/// Applies a file to a running server's state, on its virtual clock.
pub fn apply_to(state: &AppState, file: &StateFile) -> Result<Applied, String> {
    apply(
        &state.store,
        state.clock.now(),
        &state.config.account_id,
        &state.config.root_access_key_id,
        file,
    )
}

/// Applies a file in one transaction (see the module comment).
pub fn apply(
    store: &Store,
    now: DateTime<Utc>,
    account_id: &str,
    root_access_key_id: &str,
    file: &StateFile,
) -> Result<Applied, String> {
    store
        .transaction(true, |tx| {
            let mut a = Applier {
                tx,
                now: iso(now),
                now_unix: now.timestamp(),
                account_id,
                root_access_key_id,
                out: Applied::default(),
            };
            a.run(file)?;
            Ok(a.out)
        })
        .map_err(|e| {
            if e.code == FAULT {
                e.message
            } else {
                format!("{}: {}", e.code, e.message)
            }
        })
}

fn fault(message: impl Into<String>) -> ApiError {
    ApiError::new(400, FAULT, message)
}

/// RAM names: 1-128 of letters, digits, `.`, `@`, `-`, `_`.
fn check_name(at: &str, name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(fault(format!(
            "{at}: the name {name:?} must be 1-128 letters, digits, '.', '@', '-' or '_'"
        )))
    }
}

/// A document written as a structure becomes compact JSON; one written as text stays as is.
fn document_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A stored document as the file writes it: a structure when it is JSON.
fn document_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Documents compare as JSON values: key order and spacing are not changes.
fn same_document(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn set_if(field: &mut String, given: Option<&String>) -> bool {
    match given {
        Some(v) if v != field => {
            field.clone_from(v);
            true
        }
        _ => false,
    }
}

struct Applier<'a, 't> {
    tx: &'a Transaction<'t>,
    now: String,
    now_unix: i64,
    account_id: &'a str,
    root_access_key_id: &'a str,
    out: Applied,
}

impl Applier<'_, '_> {
    fn run(&mut self, f: &StateFile) -> ApiResult<()> {
        for (i, p) in f.policies.iter().enumerate() {
            self.policy(&format!("policies[{i}] ({})", p.name), p)?;
        }
        for (i, r) in f.roles.iter().enumerate() {
            self.role(&format!("roles[{i}] ({})", r.name), r)?;
        }
        for (i, u) in f.users.iter().enumerate() {
            self.user(&format!("users[{i}] ({})", u.name), u)?;
        }
        for (i, g) in f.groups.iter().enumerate() {
            self.group(&format!("groups[{i}] ({})", g.name), g)?;
        }
        for (i, inst) in f.instances.iter().enumerate() {
            self.instance(&format!("instances[{i}] ({})", inst.id), inst)?;
        }
        for (i, b) in f.buckets.iter().enumerate() {
            self.bucket(&format!("buckets[{i}] ({})", b.name), b)?;
        }
        Ok(())
    }

    fn policy(&mut self, at: &str, p: &PolicySpec) -> ApiResult<()> {
        check_name(at, &p.name)?;
        let text = document_text(&p.document);
        check_document(&text, DocumentKind::Permission, MAX_POLICY_CHARS)
            .map_err(|e| fault(format!("{at}.document: {}", e.message)))?;
        let Some(mut row) = store::policies::get_policy(self.tx, CUSTOM, &p.name)? else {
            let row = PolicyRow {
                policy_type: CUSTOM.into(),
                policy_name: p.name.clone(),
                description: p.description.clone().unwrap_or_default(),
                default_version: "v1".into(),
                next_version: 2,
                create_date: self.now.clone(),
                update_date: self.now.clone(),
            };
            let first = PolicyVersionRow {
                version_id: "v1".into(),
                document: text,
                create_date: self.now.clone(),
            };
            store::policies::insert_policy(self.tx, &row, &first)?;
            self.out.created += 1;
            return Ok(());
        };
        let current =
            store::policies::get_version(self.tx, CUSTOM, &row.policy_name, &row.default_version)?;
        let mut changed = set_if(&mut row.description, p.description.as_ref());
        if !current.is_some_and(|v| same_document(&v.document, &text)) {
            // A new default version, as CreatePolicyVersion with SetAsDefault and the
            // rotate-oldest strategy would make it.
            let versions = store::policies::list_versions(self.tx, CUSTOM, &row.policy_name)?;
            if versions.len() >= MAX_VERSIONS {
                if let Some(oldest) = versions
                    .iter()
                    .find(|v| v.version_id != row.default_version)
                {
                    store::policies::delete_version(
                        self.tx,
                        CUSTOM,
                        &row.policy_name,
                        &oldest.version_id,
                    )?;
                }
            }
            let version = PolicyVersionRow {
                version_id: format!("v{}", row.next_version),
                document: text,
                create_date: self.now.clone(),
            };
            store::policies::insert_version(self.tx, CUSTOM, &row.policy_name, &version)?;
            row.next_version += 1;
            row.default_version = version.version_id;
            changed = true;
        }
        if changed {
            row.update_date.clone_from(&self.now);
            store::policies::update_policy(self.tx, &row)?;
            self.out.updated += 1;
        }
        Ok(())
    }

    fn role(&mut self, at: &str, r: &RoleSpec) -> ApiResult<()> {
        check_name(at, &r.name)?;
        let trust = document_text(&r.trust_policy);
        check_document(&trust, DocumentKind::Trust, MAX_TRUST_CHARS)
            .map_err(|e| fault(format!("{at}.trust_policy: {}", e.message)))?;
        if let Some(d) = r.max_session_duration {
            if !(3600..=43200).contains(&d) {
                return Err(fault(format!(
                    "{at}.max_session_duration: {d} is not between 3600 and 43200 seconds"
                )));
            }
        }
        let role = match store::roles::get(self.tx, &r.name)? {
            None => {
                let role = RoleRow {
                    role_id: ids::role_id(),
                    role_name: r.name.clone(),
                    description: r.description.clone().unwrap_or_default(),
                    assume_role_policy_document: trust,
                    max_session_duration: r
                        .max_session_duration
                        .unwrap_or(DEFAULT_MAX_SESSION_DURATION),
                    create_date: self.now.clone(),
                    update_date: self.now.clone(),
                };
                store::roles::insert(self.tx, &role)?;
                self.out.created += 1;
                role
            }
            Some(mut role) => {
                let mut changed = set_if(&mut role.description, r.description.as_ref());
                if !same_document(&role.assume_role_policy_document, &trust) {
                    role.assume_role_policy_document = trust;
                    changed = true;
                }
                if let Some(d) = r.max_session_duration {
                    if d != role.max_session_duration {
                        role.max_session_duration = d;
                        changed = true;
                    }
                }
                if changed {
                    role.update_date.clone_from(&self.now);
                    store::roles::update(self.tx, &role)?;
                    self.out.updated += 1;
                }
                role
            }
        };
        self.attach(at, "Role", &role.role_id, &r.policies)
    }

    fn user(&mut self, at: &str, u: &UserSpec) -> ApiResult<()> {
        check_name(at, &u.name)?;
        let user = match store::principals::get_user(self.tx, &u.name)? {
            None => {
                let user = UserRow {
                    user_id: ids::user_id(),
                    user_name: u.name.clone(),
                    display_name: u.display_name.clone().unwrap_or_default(),
                    mobile_phone: u.mobile_phone.clone().unwrap_or_default(),
                    email: u.email.clone().unwrap_or_default(),
                    comments: u.comments.clone().unwrap_or_default(),
                    create_date: self.now.clone(),
                    update_date: self.now.clone(),
                };
                store::principals::insert_user(self.tx, &user)?;
                self.out.created += 1;
                user
            }
            Some(mut user) => {
                let mut changed = set_if(&mut user.display_name, u.display_name.as_ref());
                changed |= set_if(&mut user.mobile_phone, u.mobile_phone.as_ref());
                changed |= set_if(&mut user.email, u.email.as_ref());
                changed |= set_if(&mut user.comments, u.comments.as_ref());
                if changed {
                    user.update_date.clone_from(&self.now);
                    store::principals::update_user(self.tx, &user)?;
                    self.out.updated += 1;
                }
                user
            }
        };
        if u.access_keys.len() > MAX_KEYS {
            return Err(fault(format!(
                "{at}.access_keys: a RAM user has at most {MAX_KEYS} AccessKeys"
            )));
        }
        for (i, k) in u.access_keys.iter().enumerate() {
            self.key(&format!("{at}.access_keys[{i}]"), &user, k)?;
        }
        self.attach(at, "User", &user.user_id, &u.policies)
    }

    fn key(&mut self, at: &str, user: &UserRow, k: &KeySpec) -> ApiResult<()> {
        let id_ok = !k.id.is_empty()
            && k.id.len() <= 128
            && k.id.chars().all(|c| c.is_ascii_alphanumeric());
        if !id_ok {
            return Err(fault(format!(
                "{at}.id: {:?} must be 1-128 letters and digits (e.g. LTAI5t...)",
                k.id
            )));
        }
        if k.id == self.root_access_key_id {
            return Err(fault(format!(
                "{at}.id: {} is the account's root AccessKeyId",
                k.id
            )));
        }
        if k.secret.is_empty() || k.secret.chars().any(char::is_whitespace) {
            return Err(fault(format!(
                "{at}.secret: must be non-empty, without spaces"
            )));
        }
        let status = k.status.as_deref().unwrap_or("Active");
        if status != "Active" && status != "Inactive" {
            return Err(fault(format!(
                "{at}.status: {status:?} is neither Active nor Inactive"
            )));
        }
        match store::keys::get(self.tx, &k.id)? {
            None => {
                if store::keys::count_for_user(self.tx, &user.user_id)?
                    >= i64::try_from(MAX_KEYS).unwrap_or(i64::MAX)
                {
                    return Err(fault(format!(
                        "{at}: user {} already has {MAX_KEYS} AccessKeys",
                        user.user_name
                    )));
                }
                store::keys::insert(
                    self.tx,
                    &AccessKeyRow {
                        access_key_id: k.id.clone(),
                        user_id: user.user_id.clone(),
                        access_key_secret: k.secret.clone(),
                        status: status.to_string(),
                        create_date: self.now.clone(),
                    },
                )?;
                self.out.created += 1;
            }
            Some(row) if row.user_id != user.user_id => {
                return Err(fault(format!("{at}.id: {} belongs to another user", k.id)));
            }
            Some(mut row) => {
                let mut changed = false;
                if row.access_key_secret != k.secret {
                    // The file fixes the secret: replace the key, keeping its creation date.
                    row.access_key_secret.clone_from(&k.secret);
                    store::keys::delete(self.tx, &row.access_key_id)?;
                    store::keys::insert(self.tx, &row)?;
                    changed = true;
                }
                if k.status.is_some() && row.status != status {
                    store::keys::set_status(self.tx, &row.access_key_id, status)?;
                    changed = true;
                }
                if changed {
                    self.out.updated += 1;
                }
            }
        }
        Ok(())
    }

    fn group(&mut self, at: &str, g: &GroupSpec) -> ApiResult<()> {
        check_name(at, &g.name)?;
        let group = match store::principals::get_group(self.tx, &g.name)? {
            None => {
                let group = GroupRow {
                    group_id: ids::group_id(),
                    group_name: g.name.clone(),
                    comments: g.comments.clone().unwrap_or_default(),
                    create_date: self.now.clone(),
                    update_date: self.now.clone(),
                };
                store::principals::insert_group(self.tx, &group)?;
                self.out.created += 1;
                group
            }
            Some(mut group) => {
                if set_if(&mut group.comments, g.comments.as_ref()) {
                    group.update_date.clone_from(&self.now);
                    store::principals::update_group(self.tx, &group)?;
                    self.out.updated += 1;
                }
                group
            }
        };
        for (i, name) in g.members.iter().enumerate() {
            let user = store::principals::get_user(self.tx, name)?.ok_or_else(|| {
                fault(format!(
                    "{at}.members[{i}]: there is no user {name} (list it under users)"
                ))
            })?;
            if store::principals::add_member(self.tx, &group.group_id, &user.user_id, &self.now)? {
                self.out.created += 1;
            }
        }
        self.attach(at, "Group", &group.group_id, &g.policies)
    }

    fn attach(
        &mut self,
        at: &str,
        principal_type: &str,
        principal_id: &str,
        refs: &[PolicyRef],
    ) -> ApiResult<()> {
        for (i, r) in refs.iter().enumerate() {
            let found = match r {
                PolicyRef::Typed { name, policy_type } => {
                    if policy_type != CUSTOM && policy_type != SYSTEM {
                        return Err(fault(format!(
                            "{at}.policies[{i}].type: {policy_type:?} is neither Custom nor System"
                        )));
                    }
                    store::policies::get_policy(self.tx, policy_type, name)?
                }
                PolicyRef::Name(name) => {
                    match store::policies::get_policy(self.tx, CUSTOM, name)? {
                        Some(p) => Some(p),
                        None => store::policies::get_policy(self.tx, SYSTEM, name)?,
                    }
                }
            };
            let policy = found.ok_or_else(|| {
                fault(format!(
                    "{at}.policies[{i}]: there is no policy {} (list custom ones under policies)",
                    r.name()
                ))
            })?;
            if store::policies::attach(
                self.tx,
                principal_type,
                principal_id,
                &policy.policy_type,
                &policy.policy_name,
                &self.now,
            )? {
                self.out.created += 1;
            }
        }
        Ok(())
    }

    fn instance(&mut self, at: &str, s: &InstanceSpec) -> ApiResult<()> {
        let id_ok = s.id.len() > 2
            && s.id.len() <= 64
            && s.id.starts_with("i-")
            && s.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(fault(format!(
                "{at}.id: {:?} must be i- followed by lower-case letters and digits",
                s.id
            )));
        }
        let status = s.status.as_deref().unwrap_or("Running");
        if status != "Running" && status != "Stopped" {
            return Err(fault(format!(
                "{at}.status: {status:?} is neither Running nor Stopped"
            )));
        }
        let role_name = match &s.role {
            None => None,
            Some(name) => {
                let role = store::roles::get(self.tx, name)?.ok_or_else(|| {
                    fault(format!(
                        "{at}.role: there is no role {name} (list it under roles)"
                    ))
                })?;
                if !trusts_ecs(&role) {
                    return Err(fault(format!(
                        "{at}.role: the trust policy of {name} does not let ecs.aliyuncs.com assume it"
                    )));
                }
                Some(role.role_name)
            }
        };
        let running = status == "Running";
        if let Some(row) = store::instances::get(self.tx, &s.id)? {
            let mut changed = false;
            if role_name.is_some() && row.ram_role_name != role_name {
                store::instances::set_role(self.tx, &row.instance_id, role_name.as_deref(), None)?;
                changed = true;
            }
            if s.status.is_some() && row.status != status {
                store::instances::set_status(
                    self.tx,
                    &row.instance_id,
                    status,
                    running.then_some(self.now_unix),
                )?;
                changed = true;
            }
            if changed {
                self.out.updated += 1;
            }
            return Ok(());
        }
        let region = s.region.as_deref().unwrap_or(DEFAULT_REGION);
        let infix = region_infix(region);
        let vswitch = s.vswitch_id.clone().unwrap_or_else(|| {
            format!(
                "vsw-{infix}{}",
                alnum_from(&digest(&["vswitch", region, &s.id]), 18)
            )
        });
        let private_ip = match &s.private_ip {
            Some(ip) => {
                if ip.parse::<std::net::Ipv4Addr>().is_err() {
                    return Err(fault(format!(
                        "{at}.private_ip: {ip:?} is not an IPv4 address"
                    )));
                }
                if store::instances::ip_in_use(self.tx, ip)? {
                    return Err(fault(format!("{at}.private_ip: another instance has {ip}")));
                }
                ip.clone()
            }
            None => allocate_ip(self.tx, region, Some(&vswitch))?,
        };
        let short = s.id.trim_start_matches("i-");
        let row = InstanceRow {
            instance_id: s.id.clone(),
            region_id: region.to_string(),
            zone_id: s.zone.clone().unwrap_or_else(|| zone_of(region, &vswitch)),
            instance_name: s.name.clone().unwrap_or_else(|| s.id.clone()),
            host_name: s.host_name.clone().unwrap_or_else(|| format!("iZ{short}Z")),
            description: s.description.clone().unwrap_or_default(),
            image_id: s.image_id.clone().unwrap_or_else(|| DEFAULT_IMAGE.into()),
            instance_type: s
                .instance_type
                .clone()
                .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into()),
            vpc_id: Some(vpc_of(region, &vswitch)),
            vswitch_id: Some(vswitch),
            security_group_ids: "[]".into(),
            private_ip,
            mac: mac_of(&s.id),
            serial_number: uuid::Uuid::new_v4().to_string(),
            status: status.to_string(),
            ram_role_name: role_name,
            ram_role_policy: None,
            tags: "[]".into(),
            attributes: "{}".into(),
            client_token: None,
            request_digest: None,
            launch_index: 0,
            creation_time: self.now_unix,
            start_time: running.then_some(self.now_unix),
        };
        store::instances::insert(self.tx, &row)?;
        self.out.created += 1;
        Ok(())
    }

    fn bucket(&mut self, at: &str, b: &BucketSpec) -> ApiResult<()> {
        check_bucket_name(&b.name).map_err(|_| {
            fault(format!(
                "{at}.name: {:?} is not a valid bucket name (3-63 lower-case letters, digits and '-')",
                b.name
            ))
        })?;
        let storage_class = b.storage_class.as_deref().unwrap_or("Standard");
        if !STORAGE_CLASSES.contains(&storage_class) {
            return Err(fault(format!(
                "{at}.storage_class: {storage_class:?} is not one of {STORAGE_CLASSES:?}"
            )));
        }
        let acl = b.acl.as_deref().unwrap_or("private");
        if !ACLS.contains(&acl) {
            return Err(fault(format!("{at}.acl: {acl:?} is not one of {ACLS:?}")));
        }
        let now_ms = self.now_unix.saturating_mul(1000);
        match oss::get_bucket(self.tx, &b.name)? {
            None => {
                let region = b.region.as_deref().unwrap_or(DEFAULT_REGION);
                oss::insert_bucket(
                    self.tx,
                    &BucketRow {
                        name: b.name.clone(),
                        account_id: self.account_id.to_string(),
                        location: format!("oss-{}", region.trim_start_matches("oss-")),
                        storage_class: storage_class.to_string(),
                        acl: acl.to_string(),
                        created_ms: now_ms,
                    },
                )?;
                self.out.created += 1;
            }
            Some(row) if row.account_id != self.account_id => {
                return Err(fault(format!(
                    "{at}: the bucket exists in account {}",
                    row.account_id
                )));
            }
            Some(_) => {}
        }
        for (i, o) in b.objects.iter().enumerate() {
            let at = format!("{at}.objects[{i}] ({})", o.key);
            if o.key.is_empty() || o.key.len() > 1023 {
                return Err(fault(format!("{at}.key: must be 1-1023 bytes")));
            }
            let data = match (&o.content, &o.content_base64) {
                (Some(text), None) => text.as_bytes().to_vec(),
                (None, Some(b64)) => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| fault(format!("{at}.content_base64: {e}")))?
                }
                (None, None) => Vec::new(),
                (Some(_), Some(_)) => {
                    return Err(fault(format!(
                        "{at}: give content or content_base64, not both"
                    )))
                }
            };
            let etag = {
                use md5::Digest;
                hex::encode_upper(md5::Md5::digest(&data))
            };
            let content_type = o
                .content_type
                .clone()
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string());
            let existing = oss::get_meta(self.tx, &b.name, &o.key)?;
            if existing
                .as_ref()
                .is_some_and(|m| m.etag == etag && m.content_type == content_type)
            {
                continue;
            }
            let meta = ObjectMeta {
                key: o.key.clone(),
                size: data.len() as u64,
                etag,
                crc64: crate::products::oss::crc64::checksum(&data),
                content_type,
                user_meta: existing.map(|m| m.user_meta).unwrap_or_default(),
                last_modified_ms: now_ms,
            };
            oss::put(self.tx, &b.name, &meta, &data)?;
            self.out.created += 1;
        }
        Ok(())
    }
}

/// The current state, in the state file's shape: everything `apply` can create, user key
/// secrets included (the file must recreate them). STS sessions are not state to keep.
pub fn export(store: &Store, account_id: &str) -> ApiResult<StateFile> {
    store.transaction(false, |tx| {
        let all = usize::MAX;
        let mut out = StateFile::default();
        for (p, _) in store::policies::list_policies(tx, Some(CUSTOM), None, all)? {
            let doc = store::policies::get_version(
                tx,
                &p.policy_type,
                &p.policy_name,
                &p.default_version,
            )?
            .map(|v| document_value(&v.document))
            .unwrap_or(Value::Null);
            out.policies.push(PolicySpec {
                name: p.policy_name,
                description: Some(p.description).filter(|d| !d.is_empty()),
                document: doc,
            });
        }
        for r in store::roles::list(tx, None, all)? {
            out.roles.push(RoleSpec {
                policies: policy_refs(tx, "Role", &r.role_id)?,
                name: r.role_name,
                description: Some(r.description).filter(|d| !d.is_empty()),
                trust_policy: document_value(&r.assume_role_policy_document),
                max_session_duration: Some(r.max_session_duration)
                    .filter(|d| *d != DEFAULT_MAX_SESSION_DURATION),
            });
        }
        for u in store::principals::list_users(tx, None, all)? {
            let keys = store::keys::list_for_user(tx, &u.user_id)?
                .into_iter()
                .map(|k| KeySpec {
                    id: k.access_key_id,
                    secret: k.access_key_secret,
                    status: Some(k.status).filter(|s| s != "Active"),
                })
                .collect();
            out.users.push(UserSpec {
                policies: policy_refs(tx, "User", &u.user_id)?,
                name: u.user_name,
                display_name: Some(u.display_name).filter(|v| !v.is_empty()),
                email: Some(u.email).filter(|v| !v.is_empty()),
                mobile_phone: Some(u.mobile_phone).filter(|v| !v.is_empty()),
                comments: Some(u.comments).filter(|v| !v.is_empty()),
                access_keys: keys,
            });
        }
        for g in store::principals::list_groups(tx, None, all)? {
            let members = store::principals::users_for_group(tx, &g.group_id, None, all)?
                .into_iter()
                .map(|(u, _)| u.user_name)
                .collect();
            out.groups.push(GroupSpec {
                policies: policy_refs(tx, "Group", &g.group_id)?,
                name: g.group_name,
                comments: Some(g.comments).filter(|v| !v.is_empty()),
                members,
            });
        }
        for i in store::instances::list_all(tx)? {
            out.instances.push(InstanceSpec {
                region: Some(i.region_id),
                zone: Some(i.zone_id),
                name: Some(i.instance_name).filter(|n| *n != i.instance_id),
                host_name: Some(i.host_name),
                description: Some(i.description).filter(|d| !d.is_empty()),
                image_id: Some(i.image_id),
                instance_type: Some(i.instance_type),
                vswitch_id: i.vswitch_id,
                private_ip: Some(i.private_ip),
                status: Some(if i.status == "Stopped" {
                    "Stopped".to_string()
                } else {
                    "Running".to_string()
                }),
                role: i.ram_role_name,
                id: i.instance_id,
            });
        }
        for b in oss::list_buckets(tx, account_id, "", "", all)? {
            let mut metas = Vec::new();
            oss::walk(tx, &b.name, "", "", |m| {
                metas.push(m);
                true
            })?;
            let mut objects = Vec::with_capacity(metas.len());
            for m in metas {
                let data = oss::read_range(tx, &b.name, &m.key, 0, m.size)?.unwrap_or_default();
                let (content, content_base64) = match String::from_utf8(data) {
                    Ok(text) => (Some(text), None),
                    Err(e) => {
                        use base64::Engine;
                        (
                            None,
                            Some(base64::engine::general_purpose::STANDARD.encode(e.as_bytes())),
                        )
                    }
                };
                objects.push(ObjectSpec {
                    key: m.key,
                    content,
                    content_base64,
                    content_type: Some(m.content_type).filter(|t| t != DEFAULT_CONTENT_TYPE),
                });
            }
            out.buckets.push(BucketSpec {
                region: Some(b.location.trim_start_matches("oss-").to_string()),
                storage_class: Some(b.storage_class).filter(|c| c != "Standard"),
                acl: Some(b.acl).filter(|a| a != "private"),
                name: b.name,
                objects,
            });
        }
        Ok(out)
    })
}

/// A principal's attachments as the file writes them: the bare name unless a Custom policy
/// of the same name would hide the System one.
fn policy_refs(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
) -> ApiResult<Vec<PolicyRef>> {
    let mut out = Vec::new();
    for (p, _) in store::policies::list_for_principal(tx, principal_type, principal_id)? {
        let hidden = p.policy_type == SYSTEM
            && store::policies::get_policy(tx, CUSTOM, &p.policy_name)?.is_some();
        out.push(if hidden {
            PolicyRef::Typed {
                name: p.policy_name,
                policy_type: p.policy_type,
            }
        } else {
            PolicyRef::Name(p.policy_name)
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SEED: &str = include_str!("../examples/seed.yaml");
    const ACCOUNT: &str = "1234567890123456";

    fn store() -> Store {
        Store::open(None).unwrap()
    }

    #[test]
    fn seed_example_applies_once() {
        let file = StateFile::parse(SEED, Format::Yaml).unwrap();
        let s = store();
        let first = apply(&s, Utc::now(), ACCOUNT, "root", &file).unwrap();
        assert!(first.created >= 8, "{first:?}");
        let again = apply(&s, Utc::now(), ACCOUNT, "root", &file).unwrap();
        assert_eq!(again, Applied::default());
    }

    #[test]
    fn export_round_trips() {
        let file = StateFile::parse(SEED, Format::Yaml).unwrap();
        let s = store();
        apply(&s, Utc::now(), ACCOUNT, "root", &file).unwrap();
        let exported = export(&s, ACCOUNT).unwrap();
        for format in [Format::Yaml, Format::Json] {
            let text = exported.render(format).unwrap();
            let back = StateFile::parse(&text, format).unwrap();
            assert_eq!(back, exported);
            // Applying the export to the state it came from changes nothing.
            assert_eq!(
                apply(&s, Utc::now(), ACCOUNT, "root", &back).unwrap(),
                Applied::default()
            );
            // And recreates it on an empty store.
            let t = store();
            apply(&t, Utc::now(), ACCOUNT, "root", &back).unwrap();
            assert_eq!(export(&t, ACCOUNT).unwrap(), exported);
        }
    }

    #[test]
    fn faults_name_the_entry_and_change_nothing() {
        let s = store();
        let bad = r#"
policies:
  - name: Good
    document: {Version: "1", Statement: [{Effect: Allow, Action: "oss:Get*", Resource: "*"}]}
roles:
  - name: Broken
    trust_policy: {Version: "1", Statement: [{Effect: Maybe, Action: "sts:AssumeRole", Principal: {Service: [ecs.aliyuncs.com]}}]}
"#;
        let file = StateFile::parse(bad, Format::Yaml).unwrap();
        let e = apply(&s, Utc::now(), ACCOUNT, "root", &file).unwrap_err();
        assert!(e.starts_with("roles[0] (Broken).trust_policy:"), "{e}");
        assert!(
            export(&s, ACCOUNT).unwrap().policies.is_empty(),
            "rolled back"
        );
    }

    #[test]
    fn changed_documents_become_new_default_versions() {
        let s = store();
        let v1 = r#"{policies: [{name: P, document: {Version: "1", Statement: [{Effect: Allow, Action: "ecs:Describe*", Resource: "*"}]}}]}"#;
        let v2 = r#"{policies: [{name: P, document: '{"Statement":[{"Resource":"*","Action":"ecs:*","Effect":"Allow"}],"Version":"1"}'}]}"#;
        apply(
            &s,
            Utc::now(),
            ACCOUNT,
            "root",
            &StateFile::parse(v1, Format::Yaml).unwrap(),
        )
        .unwrap();
        let a = apply(
            &s,
            Utc::now(),
            ACCOUNT,
            "root",
            &StateFile::parse(v2, Format::Yaml).unwrap(),
        )
        .unwrap();
        assert_eq!(a.updated, 1);
        let doc = &export(&s, ACCOUNT).unwrap().policies[0].document;
        assert_eq!(doc["Statement"][0]["Action"], "ecs:*");
    }

    #[test]
    fn buckets_and_objects() {
        let s = store();
        let text = r#"
buckets:
  - name: seed-bucket
    objects:
      - {key: hello.txt, content: "hello", content_type: text/plain}
      - {key: bin/blob, content_base64: "AAEC/w=="}
"#;
        let file = StateFile::parse(text, Format::Yaml).unwrap();
        assert_eq!(
            apply(&s, Utc::now(), ACCOUNT, "root", &file)
                .unwrap()
                .created,
            3
        );
        assert_eq!(
            apply(&s, Utc::now(), ACCOUNT, "root", &file).unwrap(),
            Applied::default()
        );
        let out = export(&s, ACCOUNT).unwrap();
        assert_eq!(
            out.buckets[0].objects[0].content_base64.as_deref(),
            Some("AAEC/w==")
        );
        assert_eq!(out.buckets[0].objects[1].content.as_deref(), Some("hello"));
        assert_eq!(out.buckets[0].region.as_deref(), Some("cn-hangzhou"));
    }

    #[test]
    fn keys_are_checked() {
        let s = store();
        let root = r"{users: [{name: u, access_keys: [{id: root, secret: x}]}]}";
        let e = apply(
            &s,
            Utc::now(),
            ACCOUNT,
            "root",
            &StateFile::parse(root, Format::Yaml).unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("root AccessKeyId"), "{e}");
        let unknown = r"{users: [{name: u, nickname: x}]}";
        assert!(StateFile::parse(unknown, Format::Yaml)
            .unwrap_err()
            .contains("nickname"));
    }
}
