//! The `sts_sessions` table: temporary credentials issued by AssumeRole and the metadata service.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: String,
    pub role_id: String,
    pub role_name: String,
    pub session_name: String,
    pub session_policy: Option<String>,
    /// `user`, `role`, `ecs` or `root`: who asked for it.
    pub source: String,
    pub source_arn: String,
    /// Unix seconds on the virtual clock.
    pub expiration: i64,
    pub create_date: i64,
}

const COLUMNS: &str = "access_key_id, access_key_secret, security_token, role_id, role_name, session_name, session_policy, source, source_arn, expiration, create_date";

fn from_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    Ok(SessionRow {
        access_key_id: r.get(0)?,
        access_key_secret: r.get(1)?,
        security_token: r.get(2)?,
        role_id: r.get(3)?,
        role_name: r.get(4)?,
        session_name: r.get(5)?,
        session_policy: r.get(6)?,
        source: r.get(7)?,
        source_arn: r.get(8)?,
        expiration: r.get(9)?,
        create_date: r.get(10)?,
    })
}

pub fn get(tx: &Transaction<'_>, access_key_id: &str) -> ApiResult<Option<SessionRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sts_sessions WHERE access_key_id = ?1"
        ))?
        .query_row([access_key_id], from_row)
        .optional()?)
}

pub fn get_by_token(tx: &Transaction<'_>, token: &str) -> ApiResult<Option<SessionRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sts_sessions WHERE security_token = ?1"
        ))?
        .query_row([token], from_row)
        .optional()?)
}

pub fn insert(tx: &Transaction<'_>, s: &SessionRow) -> ApiResult<()> {
    tx.prepare_cached(&format!("INSERT INTO sts_sessions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"))?
            .execute(
        params![
            s.access_key_id,
            s.access_key_secret,
            s.security_token,
            s.role_id,
            s.role_name,
            s.session_name,
            s.session_policy,
            s.source,
            s.source_arn,
            s.expiration,
            s.create_date
        ],
    )?;
    Ok(())
}

/// Sessions that expired more than a day ago can no longer be told apart from unknown ones
/// usefully; dropping them keeps the table bounded.
///
/// At most once a virtual minute per process: a DELETE on every AssumeRole was measurable and
/// bought nothing.
pub fn prune(tx: &Transaction<'_>, now: i64) -> ApiResult<usize> {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NEXT: AtomicI64 = AtomicI64::new(i64::MIN);
    if now < NEXT.load(Ordering::Relaxed) {
        return Ok(0);
    }
    NEXT.store(now + 60, Ordering::Relaxed);
    Ok(tx
        .prepare_cached("DELETE FROM sts_sessions WHERE expiration < ?1")?
        .execute([now - 86_400])?)
}

/// Sessions still valid at `now`, soonest expiry first: for the dashboard.
pub fn list_live(tx: &Transaction<'_>, now: i64) -> ApiResult<Vec<SessionRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM sts_sessions WHERE expiration > ?1 ORDER BY expiration, access_key_id"
    ))?;
    let rows = stmt
        .query_map([now], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
