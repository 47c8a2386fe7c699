//! The `access_keys` table: RAM users' long-lived keys.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone)]
pub struct AccessKeyRow {
    pub access_key_id: String,
    pub user_id: String,
    pub access_key_secret: String,
    pub status: String,
    pub create_date: String,
}

const COLUMNS: &str = "access_key_id, user_id, access_key_secret, status, create_date";

fn from_row(r: &Row<'_>) -> rusqlite::Result<AccessKeyRow> {
    Ok(AccessKeyRow {
        access_key_id: r.get(0)?,
        user_id: r.get(1)?,
        access_key_secret: r.get(2)?,
        status: r.get(3)?,
        create_date: r.get(4)?,
    })
}

pub fn get(tx: &Transaction<'_>, access_key_id: &str) -> ApiResult<Option<AccessKeyRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM access_keys WHERE access_key_id = ?1"
        ))?
        .query_row([access_key_id], from_row)
        .optional()?)
}

pub fn list_for_user(tx: &Transaction<'_>, user_id: &str) -> ApiResult<Vec<AccessKeyRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM access_keys WHERE user_id = ?1 ORDER BY create_date, access_key_id"
    ))?;
    let rows = stmt
        .query_map([user_id], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn insert(tx: &Transaction<'_>, k: &AccessKeyRow) -> ApiResult<()> {
    tx.prepare_cached("INSERT INTO access_keys (access_key_id, user_id, access_key_secret, status, create_date) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(
        params![k.access_key_id, k.user_id, k.access_key_secret, k.status, k.create_date],
    )?;
    Ok(())
}

pub fn set_status(tx: &Transaction<'_>, access_key_id: &str, status: &str) -> ApiResult<()> {
    tx.prepare_cached("UPDATE access_keys SET status = ?2 WHERE access_key_id = ?1")?
        .execute(params![access_key_id, status])?;
    Ok(())
}

pub fn delete(tx: &Transaction<'_>, access_key_id: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM access_keys WHERE access_key_id = ?1")?
        .execute([access_key_id])?;
    Ok(())
}

/// A user's keys: what the two-key limit and DeleteUser count.
pub fn count_for_user(tx: &Transaction<'_>, user_id: &str) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM access_keys WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))?)
}
