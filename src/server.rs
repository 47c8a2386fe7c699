//! Listeners and the top router (rpc | metadata | oss | control), nothing else.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;

use crate::auth::nonce::NonceCache;
use crate::catalog::{Catalog, RequestFacts};
use crate::clock::Clock;
use crate::config::Config;
use crate::protocol::encode::{self, Format};
use crate::protocol::request::RpcRequest;
use crate::protocol::ApiError;
use crate::store::{Store, StoreError};
use crate::{control, dispatch, ids, metadata};

/// Largest RPC body accepted; the real gateways refuse far smaller forms.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub clock: Clock,
    pub nonces: NonceCache,
    pub catalog: Catalog,
    pub metadata: crate::metadata::MetadataState,
    pub recent: crate::recent::Recent,
    pub oss: crate::products::oss::OssState,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the built-in API descriptions are broken: {0}")]
    Catalog(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("{0}")]
    Config(String),
}

impl AppState {
    /// What a graceful shutdown does after the listeners close: save the live nonces (so a
    /// request captured before the restart cannot be replayed after it) and checkpoint the WAL.
    pub fn shutdown(&self) {
        if let Some(data) = &self.config.data {
            let path = crate::auth::nonce::sidecar(data);
            if let Err(e) = self.nonces.save(&path, chrono::Utc::now().timestamp()) {
                tracing::warn!(error = %e, "cannot save the nonces");
            }
        }
        if let Err(e) = self.store.checkpoint() {
            tracing::warn!(error = %e, "WAL checkpoint at shutdown failed");
        }
    }

    /// Opens the store, restores the clock and loads the catalog.
    pub fn new(config: Config) -> Result<Self, StartError> {
        let store = Store::open(config.data.as_deref())?;
        let catalog = Catalog::load().map_err(StartError::Catalog)?;
        let clock = Clock::default();
        control::restore_clock(&store, &clock, config.clock_offset)
            .map_err(|e| StartError::Config(e.to_string()))?;
        let nonces = NonceCache::default();
        if let Some(data) = &config.data {
            let path = crate::auth::nonce::sidecar(data);
            match nonces.load(&path, chrono::Utc::now().timestamp()) {
                Ok(n) if n > 0 => tracing::info!(nonces = n, "restored the nonces of the last run"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read the saved nonces"),
            }
        }
        Ok(Self {
            config,
            store,
            clock,
            nonces,
            catalog,
            recent: crate::recent::Recent::default(),
            metadata: crate::metadata::MetadataState::default(),
            oss: crate::products::oss::OssState::default(),
        })
    }
}

/// A bound, not yet running, server and the address it listens on.
pub struct Bound {
    pub server: actix_web::dev::Server,
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
}

/// Binds the API listener (and the metadata-only one, if configured); the caller awaits
/// `server`.
pub fn bind(state: Arc<AppState>, workers: usize) -> Result<Bound, StartError> {
    let data = web::Data::from(state.clone());
    let listen = state.config.listen;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(route))
    })
    .workers(workers)
    .shutdown_timeout(5)
    .bind(listen)
    .map_err(|e| StartError::Bind(listen, e))?;
    if let Some(m) = state.config.metadata_listen {
        // One server, two listeners: `route` tells them apart by the local address.
        let listener = std::net::TcpListener::bind(m).map_err(|e| StartError::Bind(m, e))?;
        let local = listener.local_addr().map_err(|e| StartError::Bind(m, e))?;
        server = server
            .listen(listener)
            .map_err(|e| StartError::Bind(m, e))?;
        state.metadata.set_listener(local);
    }
    if let Some(o) = state.config.oss_listen {
        // The OSS-only listener, told apart the same way.
        let listener = std::net::TcpListener::bind(o).map_err(|e| StartError::Bind(o, e))?;
        let local = listener.local_addr().map_err(|e| StartError::Bind(o, e))?;
        server = server
            .listen(listener)
            .map_err(|e| StartError::Bind(o, e))?;
        state.oss.set_listener(local);
    }
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartError::Config("no address bound".into()))?;
    Ok(Bound {
        server: server.run(),
        addr,
        state,
    })
}

async fn route(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    // OSS reads its own (larger) bodies: decide before reading.
    let local = req.app_config().local_addr();
    if state.oss.is_listener(local)
        || (!state.metadata.is_listener(local) && crate::products::oss::is_oss_request(&req))
    {
        return crate::products::oss::serve(&state, &req, payload).await;
    }
    let body = match read_body(payload, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(e) => return rpc_error(&req, &e),
    };
    // For an absolute-form target (`GET http://100.100.100.200/latest/...`, sent to a proxy)
    // this is the URL's path: the authority is ignored.
    let path = req.path().to_string();
    if state.metadata.is_listener(req.app_config().local_addr()) {
        return metadata::handle_only(&state, &req, &path);
    }
    if metadata::is_metadata_path(&path) {
        return metadata::handle(&state, &req, &path);
    }
    if path == "/_acsemu" || path.starts_with("/_acsemu/") {
        return control::handle(&state, &req, &path, &body);
    }
    rpc(&state, &req, body)
}

fn rpc(state: &AppState, req: &HttpRequest, body: Vec<u8>) -> HttpResponse {
    let headers = header_pairs(req);
    let parsed = RpcRequest::parse(
        req.method().as_str(),
        req.path(),
        req.query_string(),
        headers,
        body,
    );
    let facts = RequestFacts {
        source_ip: req.peer_addr().map(|a| a.ip().to_string()),
        secure_transport: req.connection_info().scheme() == "https",
    };
    let reply = match parsed {
        Ok(r) => dispatch::handle(state, &r, &facts),
        Err(e) => return rpc_error(req, &e),
    };
    HttpResponse::build(status(reply.status))
        .content_type(reply.content_type)
        .insert_header(("x-acs-request-id", reply.request_id))
        .body(reply.body)
}

/// Every header with a lower-case name; values that are not visible ASCII are read lossily.
#[must_use]
pub fn header_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An error answered before the request could be routed.
fn rpc_error(req: &HttpRequest, err: &ApiError) -> HttpResponse {
    let request_id = ids::request_id();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("acsemu")
        .to_string();
    HttpResponse::build(status(err.status))
        .content_type(Format::Json.content_type())
        .insert_header(("x-acs-request-id", request_id.clone()))
        .body(encode::error(
            err,
            &request_id,
            &host,
            "Acsemu",
            Format::Json,
        ))
}

#[must_use]
pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                400,
                "InvalidParameter",
                "The request body could not be read.",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::body_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
