//! The ECS instance metadata service (reference/metadata.md): `/latest/meta-data/...` for the
//! instance that asks, with real, rotating STS credentials of its role, and the hardened mode's
//! `PUT /latest/api/token`.
//!
//! It answers on the API port (also for absolute-form targets such as
//! `GET http://100.100.100.200/latest/meta-data/`, which is what a client sends when acsemu is
//! its HTTP proxy) and on the optional `--metadata-listen` address.
//!
//! Which instance is asking, first match wins:
//! 1. the `X-Acsemu-Instance-Id` header;
//! 2. the caller's source address, when it is an instance's private IP;
//! 3. `--metadata-instance` / `ACSEMU_METADATA_INSTANCE`;
//! 4. the one running instance that has a RAM role.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use parking_lot::Mutex;
use rand::Rng;
use rusqlite::Transaction;
use serde_json::json;

use crate::clock::iso_unix;
use crate::products::ecs::ram_roles::trusts_ecs;
use crate::products::sts::assume_role;
use crate::protocol::ApiResult;
use crate::server::AppState;
use crate::store::{self, instances::InstanceRow, sts::SessionRow};

/// Header naming the instance a request speaks for (acsemu's own; the real service knows).
pub const INSTANCE_HEADER: &str = "x-acsemu-instance-id";
pub const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";
pub const TOKEN_TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
/// metadata.md: a token lives 1 to 21600 seconds.
pub const MAX_TOKEN_TTL: i64 = 21_600;
/// A role session the service hands out lives an hour.
pub const CREDENTIAL_SECONDS: i64 = 3600;
/// seed 003: a new credential appears 30 minutes before the current one expires.
pub const ROTATE_BEFORE_SECONDS: i64 = 1800;

const TEXT: &str = "text/plain; charset=utf-8";

const HOW_TO_CHOOSE: &str =
    "acsemu cannot tell which ECS instance is asking. Choose one: send the header \
X-Acsemu-Instance-Id: <instance-id>; or call from the instance's private IP; or start acsemu with \
--metadata-instance <instance-id> (ACSEMU_METADATA_INSTANCE); or have exactly one Running instance \
with a RAM role attached.";

/// The service's own state: the hardened-mode tokens (in memory; a restart forgets them, as
/// a token is only ever a short-lived session) and the address of the metadata-only listener.
#[derive(Default)]
pub struct MetadataState {
    /// token -> expiry, Unix seconds on the virtual clock.
    tokens: Mutex<HashMap<String, i64>>,
    listener: OnceLock<SocketAddr>,
}

impl MetadataState {
    /// Records the metadata-only listener's bound address (set once, at bind time).
    pub fn set_listener(&self, addr: SocketAddr) {
        let _ = self.listener.set(addr);
    }

    #[must_use]
    pub fn listener(&self) -> Option<SocketAddr> {
        self.listener.get().copied()
    }

    /// True when a connection arrived on the metadata-only listener.
    #[must_use]
    pub fn is_listener(&self, local: SocketAddr) -> bool {
        self.listener() == Some(local)
    }

    fn issue_token(&self, ttl: i64, now: i64) -> String {
        let bytes: [u8; 32] = rand::thread_rng().gen();
        let token = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        };
        let mut tokens = self.tokens.lock();
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), now + ttl);
        token
    }

    fn token_valid(&self, token: &str, now: i64) -> bool {
        self.tokens.lock().get(token).is_some_and(|e| *e > now)
    }
}

/// True for the paths this service answers.
#[must_use]
pub fn is_metadata_path(path: &str) -> bool {
    path == "/latest" || path.starts_with("/latest/")
}

/// What the service needs of an HTTP request.
#[derive(Debug, Clone, Default)]
pub struct MetaRequest {
    pub method: String,
    pub path: String,
    pub instance_header: Option<String>,
    pub token: Option<String>,
    pub token_ttl: Option<String>,
    pub peer_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaReply {
    pub status: u16,
    pub body: String,
}

impl MetaReply {
    fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: body.into(),
        }
    }

    fn status(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }

    fn not_found(why: impl Into<String>) -> Self {
        Self::status(404, why)
    }
}

/// The metadata-only listener: metadata paths, and 404 for everything else.
pub fn handle_only(state: &AppState, req: &HttpRequest, path: &str) -> HttpResponse {
    if is_metadata_path(path) {
        handle(state, req, path)
    } else {
        HttpResponse::NotFound()
            .content_type(TEXT)
            .body("Not Found")
    }
}

/// The HTTP adapter: reads the request, answers plain text.
pub fn handle(state: &AppState, req: &HttpRequest, path: &str) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
    };
    let m = MetaRequest {
        method: req.method().as_str().to_string(),
        path: path.to_string(),
        instance_header: header(INSTANCE_HEADER).filter(|v| !v.is_empty()),
        token: header(TOKEN_HEADER),
        token_ttl: header(TOKEN_TTL_HEADER),
        peer_ip: req.peer_addr().map(|a| a.ip().to_string()),
    };
    let reply = answer(state, &m);
    tracing::info!(
        method = %m.method,
        path = %m.path,
        status = reply.status,
        "metadata"
    );
    let mut out = HttpResponse::build(
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    );
    out.content_type(TEXT);
    if reply.status == 405 {
        out.insert_header(("allow", "GET, HEAD, PUT"));
    }
    if m.method == "HEAD" {
        return out.finish();
    }
    out.body(reply.body)
}

/// The whole service, without HTTP.
pub fn answer(state: &AppState, m: &MetaRequest) -> MetaReply {
    let now = state.clock.now_unix();
    let rest = m.path.strip_prefix("/latest").unwrap_or(&m.path);
    if rest == "/api/token" {
        return put_token(state, m, now);
    }
    if m.method != "GET" && m.method != "HEAD" {
        return MetaReply::status(405, "Method Not Allowed");
    }
    match &m.token {
        Some(t) if !state.metadata.token_valid(t, now) => {
            return MetaReply::status(
                401,
                "Unauthorized: the X-aliyun-ecs-metadata-token is invalid or has expired.",
            )
        }
        None if state.config.metadata_hardened => {
            return MetaReply::status(
                401,
                "Unauthorized: this metadata service runs in hardened mode; get a token with PUT /latest/api/token first.",
            )
        }
        _ => {}
    }
    let credentials = rest.starts_with("/meta-data/ram/security-credentials/")
        && rest.len() > "/meta-data/ram/security-credentials/".len();
    let result = state
        .store
        .transaction(credentials, |tx| Ok(serve(state, tx, m, rest, now)));
    result.unwrap_or_else(|e| MetaReply::status(500, format!("Internal error: {}", e.message)))
}

fn put_token(state: &AppState, m: &MetaRequest, now: i64) -> MetaReply {
    if m.method != "PUT" {
        return MetaReply::status(405, "Method Not Allowed");
    }
    let ttl = m
        .token_ttl
        .as_deref()
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| (1..=MAX_TOKEN_TTL).contains(t));
    match ttl {
        Some(ttl) => MetaReply::ok(state.metadata.issue_token(ttl, now)),
        None => MetaReply::status(
            400,
            "Bad Request: X-aliyun-ecs-metadata-token-ttl-seconds must be an integer from 1 to 21600.",
        ),
    }
}

/// Which instance is asking (see the module comment), or the 404 text that says why not.
fn select(
    state: &AppState,
    tx: &Transaction<'_>,
    m: &MetaRequest,
) -> ApiResult<Result<InstanceRow, String>> {
    if let Some(id) = &m.instance_header {
        return Ok(store::instances::get(tx, id)?.ok_or_else(|| {
            format!("No ECS instance {id} (named by the X-Acsemu-Instance-Id header).")
        }));
    }
    if let Some(ip) = &m.peer_ip {
        if let Some(i) = store::instances::by_private_ip(tx, ip)? {
            return Ok(Ok(i));
        }
    }
    if let Some(id) = &state.config.metadata_instance {
        return Ok(store::instances::get(tx, id)?.ok_or_else(|| {
            format!(
                "No ECS instance {id} (named by --metadata-instance / ACSEMU_METADATA_INSTANCE)."
            )
        }));
    }
    let mut running = store::instances::running_with_role(tx)?;
    if running.len() == 1 {
        if let Some(i) = running.pop() {
            return Ok(Ok(i));
        }
    }
    let found = if running.is_empty() {
        "No Running instance has a RAM role.".to_string()
    } else {
        format!("{} Running instances have a RAM role.", running.len())
    };
    Ok(Err(format!("{HOW_TO_CHOOSE} ({found})")))
}

fn attribute(i: &InstanceRow, name: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&i.attributes)
        .ok()
        .and_then(|v| v.get(name).and_then(|s| s.as_str().map(str::to_string)))
}

/// The entries of `/latest/meta-data/`; sub-directories end with `/`.
const META_DATA: &[&str] = &[
    "hostname",
    "image-id",
    "instance/",
    "instance-id",
    "mac",
    "network-type",
    "owner-account-id",
    "private-ipv4",
    "ram/",
    "region-id",
    "serial-number",
    "vpc-id",
    "vswitch-id",
    "zone-id",
];

fn serve(
    state: &AppState,
    tx: &Transaction<'_>,
    m: &MetaRequest,
    rest: &str,
    now: i64,
) -> MetaReply {
    match serve_inner(state, tx, m, rest, now) {
        Ok(r) => r,
        Err(e) => MetaReply::status(500, format!("Internal error: {}", e.message)),
    }
}

fn serve_inner(
    state: &AppState,
    tx: &Transaction<'_>,
    m: &MetaRequest,
    rest: &str,
    now: i64,
) -> ApiResult<MetaReply> {
    let instance = match select(state, tx, m)? {
        Ok(i) => i,
        Err(why) => return Ok(MetaReply::not_found(why)),
    };
    if attribute(&instance, "HttpEndpoint").is_some_and(|v| v.eq_ignore_ascii_case("disabled")) {
        return Ok(MetaReply::not_found(format!(
            "The metadata service is disabled for instance {} (HttpEndpoint=disabled).",
            instance.instance_id
        )));
    }
    if m.token.is_none()
        && attribute(&instance, "HttpTokens").is_some_and(|v| v.eq_ignore_ascii_case("required"))
    {
        return Ok(MetaReply::status(
            401,
            format!(
                "Unauthorized: instance {} requires a metadata token (HttpTokens=required); get one with PUT /latest/api/token.",
                instance.instance_id
            ),
        ));
    }
    if instance.status != "Running" {
        return Ok(MetaReply::not_found(format!(
            "Instance {} is {}: only a Running instance reaches its metadata (StartInstance starts it).",
            instance.instance_id, instance.status
        )));
    }
    let vpc = instance.vswitch_id.is_some();
    let scalar = |v: Option<String>| match v {
        Some(v) => MetaReply::ok(v),
        None => MetaReply::not_found("Not Found"),
    };
    let reply = match rest {
        "" | "/" => MetaReply::ok("meta-data/"),
        "/meta-data" | "/meta-data/" => MetaReply::ok(META_DATA.join("\n")),
        "/meta-data/instance-id" => MetaReply::ok(instance.instance_id.clone()),
        "/meta-data/region-id" => MetaReply::ok(instance.region_id.clone()),
        "/meta-data/zone-id" => MetaReply::ok(instance.zone_id.clone()),
        "/meta-data/hostname" => MetaReply::ok(instance.host_name.clone()),
        "/meta-data/private-ipv4" => MetaReply::ok(instance.private_ip.clone()),
        "/meta-data/mac" => MetaReply::ok(instance.mac.clone()),
        "/meta-data/image-id" => MetaReply::ok(instance.image_id.clone()),
        "/meta-data/serial-number" => MetaReply::ok(instance.serial_number.clone()),
        "/meta-data/owner-account-id" => MetaReply::ok(state.config.account_id.clone()),
        "/meta-data/network-type" => MetaReply::ok(if vpc { "vpc" } else { "classic" }),
        "/meta-data/vpc-id" => scalar(instance.vpc_id.clone()),
        "/meta-data/vswitch-id" => scalar(instance.vswitch_id.clone()),
        "/meta-data/instance" | "/meta-data/instance/" => MetaReply::ok("instance-type"),
        "/meta-data/instance/instance-type" => MetaReply::ok(instance.instance_type.clone()),
        "/meta-data/ram" | "/meta-data/ram/" => MetaReply::ok("security-credentials/"),
        "/meta-data/ram/security-credentials" | "/meta-data/ram/security-credentials/" => {
            match &instance.ram_role_name {
                Some(r) => MetaReply::ok(r.clone()),
                None => MetaReply::not_found(format!(
                    "Instance {} has no RAM role attached.",
                    instance.instance_id
                )),
            }
        }
        other => match other.strip_prefix("/meta-data/ram/security-credentials/") {
            Some(role) => credentials(state, tx, &instance, role, now)?,
            None => MetaReply::not_found("Not Found"),
        },
    };
    Ok(reply)
}

/// The role's credentials for this instance: the newest session while more than 30 minutes
/// of it remain, else a new one (the previous stays valid until its own Expiration). Also what
/// `GET /_acsemu/credentials/<instance-id>` answers (control.rs).
pub fn credentials(
    state: &AppState,
    tx: &Transaction<'_>,
    instance: &InstanceRow,
    role_name: &str,
    now: i64,
) -> ApiResult<MetaReply> {
    // INVARIANT: the path must name the attached role exactly, as the listing spells it.
    if instance.ram_role_name.as_deref() != Some(role_name) {
        return Ok(MetaReply::not_found(format!(
            "Role {role_name} is not attached to instance {}.",
            instance.instance_id
        )));
    }
    let Some(role) = store::roles::get(tx, role_name)? else {
        return Ok(MetaReply::not_found(format!(
            "Role {role_name} no longer exists in RAM."
        )));
    };
    if !trusts_ecs(&role) {
        return Ok(MetaReply::not_found(format!(
            "The trust policy of role {role_name} no longer lets ecs.aliyuncs.com assume it."
        )));
    }
    let policy = instance.ram_role_policy.as_deref();
    let reusable = match store::instances::newest_session(
        tx,
        &instance.instance_id,
        &role.role_id,
        policy,
        now,
    )? {
        Some(ak) => {
            store::sts::get(tx, &ak)?.filter(|s| s.expiration - now > ROTATE_BEFORE_SECONDS)
        }
        None => None,
    };
    let session = match reusable {
        Some(s) => s,
        None => assume_role::issue(
            tx,
            &role,
            &instance.instance_id,
            CREDENTIAL_SECONDS,
            policy,
            "ecs",
            &format!(
                "acs:ecs:{}:{}:instance/{}",
                instance.region_id, state.config.account_id, instance.instance_id
            ),
            now,
        )?,
    };
    Ok(MetaReply::ok(credentials_document(&session)))
}

/// The document seed 003 shows, pretty-printed as the real service prints it.
#[must_use]
pub fn credentials_document(s: &SessionRow) -> String {
    let v = json!({
        "AccessKeyId": s.access_key_id,
        "AccessKeySecret": s.access_key_secret,
        "Expiration": iso_unix(s.expiration),
        "SecurityToken": s.security_token,
        "LastUpdated": iso_unix(s.create_date),
        "Code": "Success",
    });
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn paths() {
        assert!(is_metadata_path("/latest"));
        assert!(is_metadata_path("/latest/meta-data/instance-id"));
        assert!(!is_metadata_path("/latestx"));
        assert!(!is_metadata_path("/"));
    }

    #[test]
    fn tokens_expire() {
        let s = MetadataState::default();
        let t = s.issue_token(10, 100);
        assert!(s.token_valid(&t, 109));
        assert!(!s.token_valid(&t, 110));
        assert!(!s.token_valid("nope", 100));
    }

    #[test]
    fn document_shape() {
        let s = SessionRow {
            access_key_id: "STS.x".into(),
            access_key_secret: "secret".into(),
            security_token: "CAIS".into(),
            role_id: "1".into(),
            role_name: "r".into(),
            session_name: "i-x".into(),
            session_policy: None,
            source: "ecs".into(),
            source_arn: String::new(),
            expiration: 1_496_999_839,
            create_date: 1_496_996_239,
        };
        let v: serde_json::Value = serde_json::from_str(&credentials_document(&s)).unwrap();
        assert_eq!(v["Expiration"], "2017-06-09T09:17:19Z");
        assert_eq!(v["LastUpdated"], "2017-06-09T08:17:19Z");
        assert_eq!(v["Code"], "Success");
    }
}
