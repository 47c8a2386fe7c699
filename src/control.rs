//! Control endpoints outside the API: `/_acsemu/health`, `/_acsemu/reset`, `/_acsemu/clock`.

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::clock::{self, Clock};
use crate::ids;
use crate::protocol::encode::{self, Format};
use crate::protocol::{ApiError, ApiResult};
use crate::server::{status, AppState};
use crate::store::{self, Store};

const CLOCK_KEY: &str = "clock_offset_seconds";

pub fn handle(state: &AppState, req: &HttpRequest, path: &str, body: &[u8]) -> HttpResponse {
    let method = req.method().as_str();
    let result = match guard(state, req) {
        Err(e) => Err(e),
        Ok(()) => route(state, method, path, body),
    };
    match result {
        Ok(v) => HttpResponse::Ok()
            .content_type("application/json;charset=utf-8")
            .body(v.to_string()),
        Err(e) => {
            let request_id = ids::request_id();
            HttpResponse::build(status(e.status))
                .content_type(Format::Json.content_type())
                .body(encode::error(
                    &e,
                    &request_id,
                    "acsemu",
                    "Acsemu",
                    Format::Json,
                ))
        }
    }
}

/// Control endpoints answer loopback callers only and, with `--control-token`, only callers
/// that present it (compared in constant time).
fn guard(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
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
        let given = req
            .headers()
            .get("x-acsemu-control-token")
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
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
