//! The baseline: a bare actix-web server with the same worker count as acsemu, answering
//! - `/fixed/<n>...`: a fixed body of n bytes (the machine's limit for that exchange);
//! - `/sig/<n>?<V1 query>`: the V1 HMAC signature, timestamp and nonce checks, then n bytes;
//! - `/read/<n>?<V1 query>`: the same checks plus `SELECT` of the role named by `RoleName` on
//!   an r2d2 SQLite pool in WAL mode (the same pragmas and pool size as acsemu);
//! - `/insert/<n>?<V1 query>`: the same checks plus `INSERT` of a role named by `RoleName`.

use std::net::SocketAddr;
use std::path::PathBuf;

use acsemu::auth::nonce::NonceCache;
use acsemu::protocol::sign_v1::{self, Algorithm};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use subtle::ConstantTimeEq;

/// The largest fixed body the baseline serves.
const MAX_FIXED: usize = 256 * 1024;

pub struct BareArgs {
    pub listen: SocketAddr,
    pub data: PathBuf,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub workers: usize,
}

struct State {
    ak: String,
    sk: String,
    nonces: NonceCache,
    pool: Pool<SqliteConnectionManager>,
    filler: Vec<u8>,
    trust: String,
}

pub fn serve(args: BareArgs) -> Result<(), String> {
    let manager = SqliteConnectionManager::file(&args.data).with_init(|c| {
        c.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;
             PRAGMA synchronous = NORMAL;",
        )
    });
    let pool = Pool::builder()
        .max_size(8)
        .min_idle(Some(1))
        .build(manager)
        .map_err(|e| e.to_string())?;
    let state = web::Data::new(State {
        ak: args.access_key_id.clone(),
        sk: args.access_key_secret.clone(),
        nonces: NonceCache::default(),
        pool,
        filler: vec![b'x'; MAX_FIXED],
        trust: crate::seed::ECS_TRUST.to_string(),
    });
    actix_rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .default_service(web::to(route))
        })
        .workers(args.workers)
        .bind(args.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| "no address bound".to_string())?;
        println!(
            "acsemu-bare ready endpoint=http://{addr} access_key_id={} access_key_secret={}",
            args.access_key_id, args.access_key_secret
        );
        server.run().await.map_err(|e| e.to_string())
    })
}

async fn route(req: HttpRequest, state: web::Data<State>) -> HttpResponse {
    let path = req.path();
    let mut parts = path.trim_start_matches('/').splitn(3, '/');
    let kind = parts.next().unwrap_or_default();
    let size = parts
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_FIXED);
    let outcome = match kind {
        "fixed" => Ok(()),
        "sig" => check(&state, req.query_string()).map(drop),
        "read" => check(&state, req.query_string()).and_then(|p| read(&state, &p)),
        "insert" => check(&state, req.query_string()).and_then(|p| insert(&state, &p)),
        _ => Err((404, "unknown bare route")),
    };
    match outcome {
        Ok(()) => HttpResponse::Ok()
            .content_type("application/json;charset=utf-8")
            .insert_header(("x-acs-request-id", acsemu::ids::request_id()))
            .body(state.filler[..size].to_vec()),
        Err((status, why)) => HttpResponse::build(acsemu::server::status(status))
            .content_type("text/plain")
            .body(why),
    }
}

type Fault = (u16, &'static str);

/// The V1 checks every signed request needs: parse, timestamp window, signature, nonce.
fn check(state: &State, query: &str) -> Result<Vec<(String, String)>, Fault> {
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| (400, "bad query"))?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let ak = get("AccessKeyId").ok_or((400, "no AccessKeyId"))?;
    let signature = get("Signature").ok_or((400, "no Signature"))?;
    let nonce = get("SignatureNonce").ok_or((400, "no SignatureNonce"))?;
    let timestamp = get("Timestamp").ok_or((400, "no Timestamp"))?;
    let algorithm = Algorithm::from_method(get("SignatureMethod").unwrap_or_default())
        .ok_or((400, "bad SignatureMethod"))?;
    let signed = chrono::DateTime::parse_from_rfc3339(timestamp)
        .map_err(|_| (400, "bad Timestamp"))?
        .timestamp();
    let now = chrono::Utc::now().timestamp();
    if (now - signed).abs() > 15 * 60 {
        return Err((400, "Timestamp out of window"));
    }
    if ak != state.ak {
        return Err((404, "unknown AccessKeyId"));
    }
    let expected = sign_v1::sign(
        &state.sk,
        &sign_v1::string_to_sign("GET", &params),
        algorithm,
    );
    if !bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        return Err((400, "SignatureDoesNotMatch"));
    }
    if !state.nonces.check_and_insert(ak, nonce, now) {
        return Err((400, "SignatureNonceUsed"));
    }
    Ok(params)
}

fn role_name(params: &[(String, String)]) -> Result<&str, Fault> {
    params
        .iter()
        .find(|(k, _)| k == "RoleName")
        .map(|(_, v)| v.as_str())
        .ok_or((400, "no RoleName"))
}

fn read(state: &State, params: &[(String, String)]) -> Result<(), Fault> {
    let name = role_name(params)?;
    let conn = state.pool.get().map_err(|_| (500, "pool"))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date
             FROM roles WHERE role_name = ?1",
        )
        .map_err(|_| (500, "prepare"))?;
    let found = stmt
        .query_row([name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(|_| (404, "no such role"))?;
    drop(found);
    Ok(())
}

fn insert(state: &State, params: &[(String, String)]) -> Result<(), Fault> {
    let name = role_name(params)?;
    let conn = state.pool.get().map_err(|_| (500, "pool"))?;
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO roles (role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date)
             VALUES (?1, ?2, '', ?3, 3600, ?4, ?4)",
        )
        .map_err(|_| (500, "prepare"))?;
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    stmt.execute(rusqlite::params![
        acsemu::ids::role_id(),
        name,
        state.trust,
        now
    ])
    .map_err(|_| (409, "insert failed"))?;
    Ok(())
}
