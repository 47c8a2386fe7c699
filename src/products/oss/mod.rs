//! OSS (reference/oss.md): its own REST router, signers (V1, signing.md §3, and V4) and XML,
//! over the same store, identity and policy engine as the RPC products.
//!
//! The path of a request: address (bucket and key from the Host or the path) -> authenticate
//! (V1 or V4 header or presigned URL; anonymous requests are refused) -> classify (the action from
//! method, target and sub-resources) -> authorize (`oss:<Action>` on the bucket or object ARN)
//! -> handle, all in one SQLite transaction -> answer (XML, or bare headers; errors in the OSS
//! `<Error>` envelope, for HEAD in `x-oss-err`).

pub mod address;
pub mod auth;
mod buckets;
pub mod crc64;
pub mod error;
mod list;
mod objects;
pub mod sign;
pub mod sign_v4;
pub mod xml;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use rusqlite::Transaction;

use crate::auth::authorize::{self, Refusal};
use crate::auth::identity::Caller;
use crate::auth::policy::{ConditionKeys, Decision};
use crate::catalog::{Permission, RequestFacts};
use crate::ids;
use crate::protocol::ApiError;
use crate::server::{status, AppState};

use address::Target;
use error::{OssError, OssResult};

/// Largest object body accepted in one PutObject (real OSS takes 5 GB; acsemu keeps bodies in
/// memory and in SQLite, so it draws the line lower).
pub const MAX_OBJECT_BYTES: usize = 64 * 1024 * 1024;

/// The OSS-only listener (`--oss-listen`), if any.
#[derive(Debug, Default)]
pub struct OssState {
    listener: OnceLock<SocketAddr>,
}

impl OssState {
    pub fn set_listener(&self, addr: SocketAddr) {
        let _ = self.listener.set(addr);
    }

    #[must_use]
    pub fn listener(&self) -> Option<SocketAddr> {
        self.listener.get().copied()
    }

    #[must_use]
    pub fn is_listener(&self, local: SocketAddr) -> bool {
        self.listener.get() == Some(&local)
    }
}

/// A request as the OSS path sees it: method, raw path, decoded query, lower-case headers.
#[derive(Debug, Clone)]
pub struct OssRequest {
    pub method: String,
    /// Still percent-encoded, as it arrived.
    pub raw_path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub host: String,
    pub body: Vec<u8>,
    pub facts: RequestFacts,
}

impl OssRequest {
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[must_use]
    pub fn has_param(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }
}

/// `a=1&b&c=%2F` → decoded pairs (a bare name has an empty value). `+` stays `+`: OSS clients
/// percent-encode spaces.
#[must_use]
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_lossy(k), decode_lossy(v))
        })
        .collect()
}

fn decode_lossy(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether the main listener hands this request to OSS (the metadata and control paths are
/// routed before): an OSS signature, a path other than `/` (RPC always posts to `/`), a
/// presigned URL, or a bucket in the Host of a request that carries no RPC signature.
#[must_use]
pub fn is_oss_request(req: &HttpRequest) -> bool {
    let path = req.uri().path();
    if path == "/_acsemu"
        || path.starts_with("/_acsemu/")
        || path == "/latest"
        || path.starts_with("/latest/")
    {
        return false;
    }
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let auth = header("authorization");
    if auth.starts_with("OSS ") || auth.starts_with("OSS4-") || auth.starts_with("OSS2 ") {
        return true;
    }
    if path != "/" && !path.is_empty() {
        return true;
    }
    // Only the parameter names matter here: read them off the raw query rather than decode
    // every value of every RPC request twice.
    let raw = req.query_string();
    let has = |n: &str| {
        raw.split('&')
            .any(|pair| pair.split_once('=').map_or(pair, |(k, _)| k) == n)
    };
    if has("OSSAccessKeyId") || has("x-oss-signature-version") {
        return true;
    }
    let rpc = auth.starts_with("ACS3-")
        || !header("x-acs-action").is_empty()
        || has("Action")
        || has("Signature")
        || has("AccessKeyId")
        || header("content-type").starts_with("application/x-www-form-urlencoded");
    !rpc && address::host_bucket(header("host")).is_some()
}

/// Serves one OSS request (from the main listener or the OSS-only one).
pub async fn serve(state: &AppState, req: &HttpRequest, payload: web::Payload) -> HttpResponse {
    let started = Instant::now();
    let request_id = ids::oss_request_id();
    let method = req.method().as_str().to_string();
    let head = method == "HEAD";
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("acsemu")
        .to_string();
    let mut log = LogLine::default();
    let result = match read_body(payload, MAX_OBJECT_BYTES).await {
        Ok(body) => {
            let r = OssRequest {
                method,
                raw_path: req.uri().path().to_string(),
                query: parse_query(req.query_string()),
                headers: crate::server::header_pairs(req),
                host: host.clone(),
                body,
                facts: RequestFacts {
                    source_ip: req.peer_addr().map(|a| a.ip().to_string()),
                    secure_transport: req.connection_info().scheme() == "https",
                },
            };
            handle(state, &r, &mut log)
        }
        Err(e) => Err(e),
    };
    let host_id = log
        .bucket
        .as_ref()
        .map_or_else(|| host.clone(), |b| format!("{b}.{host}"));
    let response = match result {
        Ok(reply) => reply.into_response(&request_id, head),
        Err(e) => error_response(&e, &request_id, &host_id, head),
    };
    tracing::info!(
        action = log.action,
        bucket = log.bucket.as_deref().unwrap_or("-"),
        caller = log.caller.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "oss"
    );
    response
}

/// What the log line says about a request (never a secret).
#[derive(Debug, Default)]
pub struct LogLine {
    pub action: &'static str,
    pub bucket: Option<String>,
    pub caller: Option<String>,
}

async fn read_body(mut payload: web::Payload, limit: usize) -> OssResult<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OssError::invalid_argument("The request body could not be read."))?;
        if body.len() + chunk.len() > limit {
            return Err(OssError::new(
                400,
                "EntityTooLarge",
                format!("Your proposed upload exceeds the maximum allowed size of {limit} bytes."),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A successful answer before it goes on the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Debug)]
pub enum Body {
    Empty,
    Xml(String),
    Data(Vec<u8>),
    /// HEAD: `Content-Length` of the object, no bytes.
    Length(u64),
}

impl Reply {
    #[must_use]
    pub fn new(status: u16, body: Body) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body,
        }
    }

    #[must_use]
    pub fn xml(text: String) -> Self {
        Self::new(200, Body::Xml(text))
    }

    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn into_response(self, request_id: &str, head: bool) -> HttpResponse {
        let mut b = HttpResponse::build(status(self.status));
        b.insert_header(("x-oss-request-id", request_id))
            .insert_header(("server", "AliyunOSS"));
        for (k, v) in &self.headers {
            b.append_header((k.as_str(), v.as_str()));
        }
        match self.body {
            Body::Empty => b.finish(),
            Body::Xml(x) => {
                b.content_type("application/xml");
                if head {
                    b.no_chunking(x.len() as u64)
                        .streaming(futures_util::stream::empty::<Result<web::Bytes, ApiError>>())
                } else {
                    b.body(x)
                }
            }
            Body::Data(d) => b.body(d),
            // The h1 encoder writes no payload for HEAD; `no_chunking` keeps our length.
            Body::Length(n) => b
                .no_chunking(n)
                .streaming(futures_util::stream::empty::<Result<web::Bytes, ApiError>>()),
        }
    }
}

fn error_response(e: &OssError, request_id: &str, host_id: &str, head: bool) -> HttpResponse {
    let body = xml::error(e, request_id, host_id);
    let mut b = HttpResponse::build(status(e.status));
    b.insert_header(("x-oss-request-id", request_id))
        .insert_header(("server", "AliyunOSS"))
        .content_type("application/xml");
    if e.code == "NotModified" {
        return b.finish();
    }
    if head {
        // reference/oss.md: HEAD errors travel base64-encoded in x-oss-err, with no body.
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        b.insert_header(("x-oss-err", encoded)).finish()
    } else {
        b.body(body)
    }
}

/// The actions served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ListBuckets,
    PutBucket,
    DeleteBucket,
    GetBucketInfo,
    GetBucketLocation,
    GetBucketAcl,
    ListObjects,
    ListObjectsV2,
    DeleteMultipleObjects,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    GetObjectMeta,
    DeleteObject,
}

impl Action {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ListBuckets => "ListBuckets",
            Self::PutBucket => "PutBucket",
            Self::DeleteBucket => "DeleteBucket",
            Self::GetBucketInfo => "GetBucketInfo",
            Self::GetBucketLocation => "GetBucketLocation",
            Self::GetBucketAcl => "GetBucketAcl",
            Self::ListObjects => "ListObjects",
            Self::ListObjectsV2 => "ListObjectsV2",
            Self::DeleteMultipleObjects => "DeleteMultipleObjects",
            Self::PutObject => "PutObject",
            Self::CopyObject => "CopyObject",
            Self::GetObject => "GetObject",
            Self::HeadObject => "HeadObject",
            Self::GetObjectMeta => "GetObjectMeta",
            Self::DeleteObject => "DeleteObject",
        }
    }
}

/// Sub-resources any request may carry without changing what it does.
const NEUTRAL: &[&str] = &["security-token"];
const RESPONSE_OVERRIDES: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
];

/// The action from the method, the target and the sub-resources; a sub-resource acsemu does not
/// serve answers NotImplemented rather than being silently ignored.
pub fn classify(r: &OssRequest, t: &Target) -> OssResult<Action> {
    let subs: Vec<&str> = r
        .query
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| sign::is_sub_resource(k) && !NEUTRAL.contains(k))
        .collect();
    let only = |allowed: &[&str]| subs.iter().all(|s| allowed.contains(s));
    let m = r.method.as_str();
    let action = match (&t.bucket, &t.key) {
        (None, _) => match m {
            "GET" if subs.is_empty() => Action::ListBuckets,
            "GET" => return Err(OssError::not_implemented("this service-level request")),
            _ => return Err(OssError::method_not_allowed()),
        },
        (Some(_), None) => match m {
            "PUT" if subs.is_empty() => Action::PutBucket,
            "DELETE" if subs.is_empty() => Action::DeleteBucket,
            "GET" if r.has_param("bucketInfo") && subs.len() == 1 => Action::GetBucketInfo,
            "GET" if r.has_param("location") && subs.len() == 1 => Action::GetBucketLocation,
            "GET" if r.has_param("acl") && subs.len() == 1 => Action::GetBucketAcl,
            "GET" if r.param("list-type") == Some("2") && only(&["continuation-token"]) => {
                Action::ListObjectsV2
            }
            "GET" if subs.is_empty() => Action::ListObjects,
            "POST" if r.has_param("delete") && subs.len() == 1 => Action::DeleteMultipleObjects,
            "PUT" | "DELETE" | "GET" | "POST" | "HEAD" => {
                return Err(OssError::not_implemented(&format!(
                    "{m} on a bucket with {}",
                    if subs.is_empty() {
                        "no sub-resource".to_string()
                    } else {
                        subs.join(", ")
                    }
                )))
            }
            _ => return Err(OssError::method_not_allowed()),
        },
        (Some(_), Some(_)) => match m {
            "PUT" if subs.is_empty() && r.header("x-oss-copy-source").is_some() => {
                Action::CopyObject
            }
            "PUT" if subs.is_empty() => Action::PutObject,
            "GET" if only(RESPONSE_OVERRIDES) => Action::GetObject,
            "HEAD" if subs == ["objectMeta"] => Action::GetObjectMeta,
            "HEAD" if subs.is_empty() => Action::HeadObject,
            "DELETE" if subs.is_empty() => Action::DeleteObject,
            "PUT" | "DELETE" | "GET" | "POST" | "HEAD" => {
                return Err(OssError::not_implemented(&format!(
                    "{m} on an object with {}",
                    subs.join(", ")
                )))
            }
            _ => return Err(OssError::method_not_allowed()),
        },
    };
    Ok(action)
}

/// `acs:oss:*:<account>:<bucket>`
#[must_use]
pub fn bucket_arn(account: &str, bucket: &str) -> String {
    format!("acs:oss:*:{account}:{bucket}")
}

/// `acs:oss:*:<account>:<bucket>/<key>`
#[must_use]
pub fn object_arn(account: &str, bucket: &str, key: &str) -> String {
    format!("acs:oss:*:{account}:{bucket}/{key}")
}

/// What a handler sees.
pub struct OssCtx<'a> {
    pub state: &'a AppState,
    pub tx: &'a Transaction<'a>,
    pub req: &'a OssRequest,
    pub caller: &'a Caller,
    pub bucket: &'a str,
    pub key: &'a str,
    pub now_ms: i64,
}

impl OssCtx<'_> {
    #[must_use]
    pub fn account_id(&self) -> &str {
        &self.state.config.account_id
    }

    /// Checks `permissions` for the caller with the request's condition keys (plus `extra`).
    pub fn authorize(
        &self,
        permissions: &[Permission],
        extra: &[(&str, Option<&str>)],
    ) -> OssResult<()> {
        let mut keys: ConditionKeys = authorize::common_condition_keys(
            self.caller,
            self.account_id(),
            self.state.clock.now(),
            &self.req.facts,
        );
        for (k, v) in extra {
            if let Some(v) = v {
                keys.set(k, vec![(*v).to_string()]);
            }
        }
        match authorize::authorize_caller(self.state, self.tx, self.caller, permissions, &keys) {
            Ok(()) => Ok(()),
            Err(Refusal::Fault(e)) => Err(e.into()),
            Err(Refusal::Denied(d)) => {
                let (permission, decision) = (&d.permission, &d.decision);
                let why = match decision {
                    Decision::ExplicitDeny(s) => format!("explicitly denied by {s}"),
                    _ => "no statement of the caller's policies allows it".to_string(),
                };
                tracing::info!(action = %permission.action, resource = %permission.resource, caller = %self.caller.label(), why = %why, "denied");
                Err(OssError::access_denied(format!(
                    "You have no right to access this object because of bucket acl. Action {} on {} was refused: {why}.",
                    permission.action, permission.resource
                )))
            }
        }
    }
}

/// Runs a request through the path; `log` learns what it can say about it.
pub fn handle(state: &AppState, r: &OssRequest, log: &mut LogLine) -> OssResult<Reply> {
    log.action = "-";
    let candidates = address::targets(&r.host, &r.raw_path)?;
    if let Some(b) = candidates.first().and_then(|t| t.bucket.clone()) {
        log.bucket = Some(b);
    }
    let claim = auth::claim(r)?;
    // Checked before any secret is read: a skewed or expired request costs no lookup.
    auth::check_time(r, &claim, chrono::Utc::now())?;
    let mut failure: Option<OssError> = None;
    // Every action served that PUTs, POSTs or DELETEs writes; GET and HEAD only read.
    let write = matches!(r.method.as_str(), "PUT" | "POST" | "DELETE");
    let out = state.store.transaction(write, |tx| {
        let mut run = || -> OssResult<Reply> {
            let now = state.clock.now();
            let (caller, target) = auth::authenticate(state, tx, r, &claim, &candidates, now)?;
            log.caller = Some(caller.label());
            log.bucket.clone_from(&target.bucket);
            let action = classify(r, &target)?;
            log.action = action.name();
            let ctx = OssCtx {
                state,
                tx,
                req: r,
                caller: &caller,
                bucket: target.bucket.as_deref().unwrap_or_default(),
                key: target.key.as_deref().unwrap_or_default(),
                now_ms: now.timestamp_millis(),
            };
            dispatch(&ctx, action)
        };
        match run() {
            Ok(v) => Ok(v),
            Err(e) => {
                failure = Some(e);
                // Any error rolls the transaction back; the OSS error is kept aside.
                Err(ApiError::new(500, "Rollback", ""))
            }
        }
    });
    match (out, failure) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
    }
}

fn dispatch(ctx: &OssCtx<'_>, action: Action) -> OssResult<Reply> {
    if let Action::ListBuckets = action {
        return buckets::list_buckets(ctx);
    }
    address::check_bucket_name(ctx.bucket)?;
    if !ctx.key.is_empty() {
        address::check_key(ctx.key)?;
    }
    match action {
        Action::PutBucket => buckets::put_bucket(ctx),
        Action::DeleteBucket => buckets::delete_bucket(ctx),
        Action::GetBucketInfo => buckets::get_bucket_info(ctx),
        Action::GetBucketLocation => buckets::get_bucket_location(ctx),
        Action::GetBucketAcl => buckets::get_bucket_acl(ctx),
        Action::ListObjects => list::list_objects(ctx, false),
        Action::ListObjectsV2 => list::list_objects(ctx, true),
        Action::DeleteMultipleObjects => objects::delete_multiple(ctx),
        Action::PutObject => objects::put_object(ctx),
        Action::CopyObject => objects::copy_object(ctx),
        Action::GetObject => objects::get_object(ctx, false),
        Action::HeadObject | Action::GetObjectMeta => objects::get_object(ctx, true),
        Action::DeleteObject => objects::delete_object(ctx),
        Action::ListBuckets => buckets::list_buckets(ctx),
    }
}

/// The bucket row, or NoSuchBucket.
pub fn existing_bucket(ctx: &OssCtx<'_>) -> OssResult<crate::store::oss::BucketRow> {
    crate::store::oss::get_bucket(ctx.tx, ctx.bucket)?
        .filter(|b| b.account_id == ctx.account_id())
        .ok_or_else(|| OssError::no_such_bucket(ctx.bucket))
}

/// `Mon, 01 Jan 2024 12:00:00 GMT` for a Unix-milliseconds time.
#[must_use]
pub fn http_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `2024-01-01T12:00:00.000Z` for a Unix-milliseconds time. OSS keeps whole seconds and always
/// writes `.000`; oss2's parser accepts nothing else.
#[must_use]
pub fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        assert_eq!(
            parse_query("prefix=&delete&k=a%2Fb+c"),
            vec![
                ("prefix".to_string(), String::new()),
                ("delete".to_string(), String::new()),
                ("k".to_string(), "a/b+c".to_string())
            ]
        );
    }

    #[test]
    fn dates() {
        assert_eq!(
            http_date(1_704_110_400_000),
            "Mon, 01 Jan 2024 12:00:00 GMT"
        );
        assert_eq!(iso_ms(1_704_110_400_123), "2024-01-01T12:00:00.000Z");
    }
}
