//! Control endpoints outside the API: `/_acsemu/health`, `/_acsemu/reset`, `/_acsemu/clock`,
//! the dashboard (`/_acsemu/`, `/_acsemu/policies`, `/_acsemu/requests`, see dashboard.rs) and
//! `/_acsemu/credentials/<instance-id>`, the instance's role credentials for the official
//! `credentials_uri` provider (`ALIBABA_CLOUD_CREDENTIALS_URI`).

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::clock::{self, Clock};
use crate::dashboard;
use crate::ids;
use crate::protocol::encode::{self, Format};
use crate::protocol::{ApiError, ApiResult};
use crate::server::{status, AppState};
use crate::store::{self, Store};

const CLOCK_KEY: &str = "clock_offset_seconds";
const CREDENTIALS_PREFIX: &str = "/_acsemu/credentials/";

pub fn handle(state: &AppState, req: &HttpRequest, path: &str, body: &[u8]) -> HttpResponse {
    let method = req.method().as_str();
    if let Err(e) = guard(state, req, path) {
        return error_response(&e);
    }
    if let Some(view) = dashboard::View::of_path(path) {
        if method != "GET" && method != "HEAD" {
            return error_response(&ApiError::unsupported_method());
        }
        return match dashboard::page(state, view) {
            Ok(html) => HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("cache-control", "no-store"))
                .body(html),
            Err(e) => error_response(&e),
        };
    }
    if let Some(instance_id) = path.strip_prefix(CREDENTIALS_PREFIX) {
        if method != "GET" {
            return error_response(&ApiError::unsupported_method());
        }
        return match credentials(state, instance_id) {
            Ok(document) => HttpResponse::Ok()
                .content_type("application/json;charset=utf-8")
                .insert_header(("cache-control", "no-store"))
                .body(document),
            Err(e) => error_response(&e),
        };
    }
    match route(state, method, path, body) {
        Ok(v) => HttpResponse::Ok()
            .content_type("application/json;charset=utf-8")
            .body(v.to_string()),
        Err(e) => error_response(&e),
    }
}

fn error_response(e: &ApiError) -> HttpResponse {
    let request_id = ids::request_id();
    HttpResponse::build(status(e.status))
        .content_type(Format::Json.content_type())
        .body(encode::error(
            e,
            &request_id,
            "acsemu",
            "Acsemu",
            Format::Json,
        ))
}

/// Control endpoints answer loopback callers only and, with `--control-token`, only callers
/// that present it (compared in constant time) in `X-Acsemu-Control-Token`, or, on the
/// credentials endpoint, whose URL a credentials provider fetches without headers of its own,
/// in the `token` query parameter.
fn guard(state: &AppState, req: &HttpRequest, path: &str) -> ApiResult<()> {
    let loopback = req.peer_addr().is_some_and(|a| a.ip().is_loopback());
    if !loopback {
        return Err(ApiError::new(
            403,
            "Forbidden",
            "Control endpoints answer loopback callers only.",
        ));
    }
    if let Some(expected) = &state.config.control_token {
        use subtle::ConstantTimeEq;
        let header = req
            .headers()
            .get("x-acsemu-control-token")
            .map(|v| v.as_bytes().to_vec());
        let query = || {
            serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
                .ok()
                .and_then(|q| q.into_iter().find(|(k, _)| k == "token"))
                .map(|(_, v)| v.into_bytes())
        };
        let given = match header {
            Some(h) => h,
            None if path.starts_with(CREDENTIALS_PREFIX) => query().unwrap_or_default(),
            None => Vec::new(),
        };
        if !bool::from(given.as_slice().ct_eq(expected.as_bytes())) {
            return Err(ApiError::new(
                403,
                "Forbidden",
                "A valid X-Acsemu-Control-Token header is required.",
            ));
        }
    }
    Ok(())
}

/// The instance's role credentials, exactly the metadata service's document (and the same
/// rotating sessions: `metadata::credentials` decides when a new one is due).
fn credentials(state: &AppState, instance_id: &str) -> ApiResult<String> {
    let now = state.clock.now_unix();
    state.store.transaction(true, |tx| {
        let not_found = |message: String| ApiError::new(404, "NotFound", message);
        let instance = store::instances::get(tx, instance_id)?
            .ok_or_else(|| not_found(format!("No ECS instance {instance_id}.")))?;
        if instance.status != "Running" {
            return Err(not_found(format!(
                "Instance {instance_id} is {}: only a Running instance gets role credentials (StartInstance starts it).",
                instance.status
            )));
        }
        let role = instance.ram_role_name.clone().ok_or_else(|| {
            not_found(format!(
                "Instance {instance_id} has no RAM role attached (AttachInstanceRamRole)."
            ))
        })?;
        let reply = crate::metadata::credentials(state, tx, &instance, &role, now)?;
        if reply.status == 200 {
            Ok(reply.body)
        } else {
            Err(ApiError::new(reply.status, "NotFound", reply.body))
        }
    })
}

fn route(state: &AppState, method: &str, path: &str, body: &[u8]) -> ApiResult<serde_json::Value> {
    match (method, path) {
        ("GET", "/_acsemu/health") => Ok(health(state)),
        ("POST", "/_acsemu/reset") => reset(state),
        ("GET", "/_acsemu/clock") => Ok(clock_view(&state.clock)),
        ("POST", "/_acsemu/clock") => set_clock(state, body),
        (_, "/_acsemu/health" | "/_acsemu/reset" | "/_acsemu/clock") => {
            Err(ApiError::unsupported_method())
        }
        _ => Err(ApiError::new(
            404,
            "NotFound",
            format!("No control endpoint at {path}."),
        )),
    }
}

fn health(state: &AppState) -> serde_json::Value {
    json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "products": state.catalog.products.iter().map(|p| json!({"name": p.name, "version": p.version, "actions": p.actions.len()})).collect::<Vec<_>>(),
        "actions": state.catalog.action_count(),
        "account_id": state.config.account_id,
    })
}

/// Empties the state; the root key, which lives in the configuration, stays.
fn reset(state: &AppState) -> ApiResult<serde_json::Value> {
    state.store.reset()?;
    Ok(json!({"status": "reset"}))
}

fn clock_view(c: &Clock) -> serde_json::Value {
    json!({"now": clock::iso(c.now()), "offset_seconds": c.offset()})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    advance_seconds: Option<i64>,
    now: Option<String>,
}

fn set_clock(state: &AppState, body: &[u8]) -> ApiResult<serde_json::Value> {
    let change: ClockChange = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "InvalidParameter",
            format!("The clock change is not valid JSON: {e}"),
        )
    })?;
    match (change.advance_seconds, change.now) {
        (Some(n), None) => {
            let n = u32::try_from(n).map_err(|_| {
                ApiError::new(
                    400,
                    "InvalidParameter",
                    "advance_seconds must be between 0 and 4294967295: the virtual clock never goes backwards.",
                )
            })?;
            state.clock.advance(n);
        }
        (None, Some(now)) => {
            let t = clock::parse_iso(&now).ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidParameter",
                    "now must be an ISO-8601 UTC time such as 2024-01-01T12:00:00Z.",
                )
            })?;
            state.clock.set_now(t).map_err(|_| {
                ApiError::new(
                    400,
                    "InvalidParameter",
                    "The virtual clock cannot go backwards.",
                )
            })?;
        }
        _ => {
            return Err(ApiError::new(
                400,
                "InvalidParameter",
                "Give exactly one of advance_seconds or now.",
            ))
        }
    }
    persist_clock(&state.store, &state.clock)?;
    Ok(clock_view(&state.clock))
}

fn persist_clock(s: &Store, c: &Clock) -> ApiResult<()> {
    s.transaction(true, |tx| {
        store::settings::set(tx, CLOCK_KEY, &c.offset().to_string())
    })
}

/// At start: the flag wins; otherwise the offset saved by the last run.
pub fn restore_clock(s: &Store, c: &Clock, flag: Option<u32>) -> ApiResult<()> {
    if let Some(offset) = flag {
        c.set_offset(i64::from(offset));
        return persist_clock(s, c);
    }
    let saved = s.transaction(false, |tx| store::settings::get(tx, CLOCK_KEY))?;
    if let Some(v) = saved.and_then(|v| v.parse::<i64>().ok()) {
        c.set_offset(v);
    }
    Ok(())
}
