//! The `roles` table.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub role_id: String,
    pub role_name: String,
    pub description: String,
    pub assume_role_policy_document: String,
    pub max_session_duration: i64,
    pub create_date: String,
    pub update_date: String,
}

const COLUMNS: &str = "role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date";

fn from_row(r: &Row<'_>) -> rusqlite::Result<RoleRow> {
    Ok(RoleRow {
        role_id: r.get(0)?,
        role_name: r.get(1)?,
        description: r.get(2)?,
        assume_role_policy_document: r.get(3)?,
        max_session_duration: r.get(4)?,
        create_date: r.get(5)?,
        update_date: r.get(6)?,
    })
}

/// Inserts a role; `Ok(false)` when the name is taken (case-insensitively).
pub fn insert(tx: &Transaction<'_>, role: &RoleRow) -> ApiResult<bool> {
    let n = tx.prepare_cached("INSERT INTO roles (role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING")?
            .execute(
        params![
            role.role_id,
            role.role_name,
            role.description,
            role.assume_role_policy_document,
            role.max_session_duration,
            role.create_date,
            role.update_date
        ],
    )?;
    Ok(n == 1)
}

pub fn get(tx: &Transaction<'_>, name: &str) -> ApiResult<Option<RoleRow>> {
    Ok(tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM roles WHERE role_name = ?1"))?
        .query_row([name], from_row)
        .optional()?)
}

pub fn get_by_id(tx: &Transaction<'_>, role_id: &str) -> ApiResult<Option<RoleRow>> {
    Ok(tx
        .prepare_cached(&format!("SELECT {COLUMNS} FROM roles WHERE role_id = ?1"))?
        .query_row([role_id], from_row)
        .optional()?)
}

/// Up to `limit` roles after `marker` (a role name), in name order.
pub fn list(tx: &Transaction<'_>, marker: Option<&str>, limit: usize) -> ApiResult<Vec<RoleRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM roles WHERE role_name > ?1 ORDER BY role_name LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(
            params![
                marker.unwrap_or(""),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn update(tx: &Transaction<'_>, role: &RoleRow) -> ApiResult<()> {
    tx.prepare_cached("UPDATE roles SET description = ?2, assume_role_policy_document = ?3, max_session_duration = ?4, update_date = ?5 WHERE role_id = ?1")?
            .execute(
        params![
            role.role_id,
            role.description,
            role.assume_role_policy_document,
            role.max_session_duration,
            role.update_date
        ],
    )?;
    Ok(())
}

pub fn delete(tx: &Transaction<'_>, role_id: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM roles WHERE role_id = ?1")?
        .execute([role_id])?;
    Ok(())
}

pub fn count(tx: &Transaction<'_>) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM roles")?
        .query_row([], |r| r.get(0))?)
}
