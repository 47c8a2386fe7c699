//! The RPC path: parse -> route -> verify -> check parameters -> authorize -> handle in one
//! transaction -> encode.

use std::time::Instant;

use crate::auth::{identity, verify};
use crate::catalog::{Ctx, Product, RequestFacts};
use crate::ids;
use crate::protocol::encode::{self, Format};
use crate::protocol::params::{self, Params};
use crate::protocol::request::RpcRequest;
use crate::protocol::{ApiError, ApiResult};
use crate::server::AppState;

/// An answer ready for the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub request_id: String,
}

pub fn handle(state: &AppState, req: &RpcRequest, facts: &RequestFacts) -> Reply {
    let started = Instant::now();
    let request_id = ids::request_id();
    let v3 = verify::is_v3(req);
    let format = if v3 {
        Format::Json
    } else {
        Format::from_param(req.param("Format"))
    };
    let (action, version) = if v3 {
        (req.header("x-acs-action"), req.header("x-acs-version"))
    } else {
        (
            req.param("Action").or_else(|| req.header("x-acs-action")),
            req.param("Version").or_else(|| req.header("x-acs-version")),
        )
    };
    let product = version.and_then(|v| state.catalog.by_version(v));
    let mut caller_label = String::from("-");
    let result = run(
        state,
        req,
        facts,
        action,
        version,
        product,
        &mut caller_label,
    );
    let (host, product_name) = product.map_or_else(
        || (req.header("host").unwrap_or("acsemu").to_string(), "Acsemu"),
        |p| (p.host.to_string(), p.name),
    );
    let action_name = action.unwrap_or("-");
    let (code, detail) = match &result {
        Ok(_) => ("OK".to_string(), String::new()),
        Err(e) => (e.code.to_string(), e.message.clone()),
    };
    let reply = match result {
        Ok(fields) => Reply {
            status: 200,
            content_type: format.content_type(),
            body: encode::success(action_name, &request_id, fields, format),
            request_id,
        },
        Err(err) => Reply {
            status: err.status,
            content_type: format.content_type(),
            body: encode::error(&err, &request_id, &host, product_name, format),
            request_id,
        },
    };
    state.recent.push(crate::recent::Record {
        time: crate::clock::iso(chrono::Utc::now()),
        product: product_name.to_string(),
        action: action_name.to_string(),
        caller: caller_label.clone(),
        status: reply.status,
        code,
        detail,
    });
    tracing::info!(
        action = action_name,
        caller = %caller_label,
        status = reply.status,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "rpc"
    );
    reply
}

fn run(
    state: &AppState,
    req: &RpcRequest,
    facts: &RequestFacts,
    action: Option<&str>,
    version: Option<&str>,
    product: Option<&Product>,
    caller_label: &mut String,
) -> ApiResult<serde_json::Map<String, serde_json::Value>> {
    if req.method != "GET" && req.method != "POST" {
        return Err(ApiError::unsupported_method());
    }
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("Action"))?;
    version
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing_parameter("Version"))?;
    let product = product.ok_or_else(ApiError::invalid_version)?;
    let (spec, doc) = product
        .action(action)
        .ok_or_else(ApiError::action_not_found)?;

    let claim = verify::claim(req)?;
    verify::check_skew(&claim, chrono::Utc::now().timestamp())?;
    let params = Params::from_pairs(req.all_params());

    state.store.transaction(spec.write, |tx| {
        let now = state.clock.now();
        let credential = identity::lookup(
            tx,
            (
                &state.config.root_access_key_id,
                &state.config.root_access_key_secret,
            ),
            &claim.access_key_id,
            claim.security_token.as_deref(),
            now.timestamp(),
        )?;
        verify::check_signature(req, &claim, &credential.secret)?;
        if !state.nonces.check_and_insert(
            &claim.access_key_id,
            &claim.nonce,
            chrono::Utc::now().timestamp(),
        ) {
            return Err(ApiError::nonce_used());
        }
        caller_label.clone_from(&credential.caller.label());
        params::check(doc, &params)?;
        let ctx = Ctx {
            tx,
            params: &params,
            caller: &credential.caller,
            state,
            facts,
            product,
            now,
        };
        let permissions = (spec.permissions)(&ctx);
        crate::auth::authorize::authorize(&ctx, &permissions)?;
        (spec.handler)(&ctx)
    })
}
