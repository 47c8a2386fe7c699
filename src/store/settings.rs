//! Small persistent settings (the virtual clock's offset).

use rusqlite::{params, OptionalExtension, Transaction};

use crate::protocol::ApiResult;

pub fn get(tx: &Transaction<'_>, key: &str) -> ApiResult<Option<String>> {
    Ok(tx
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn set(tx: &Transaction<'_>, key: &str, value: &str) -> ApiResult<()> {
    tx.prepare_cached("INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
            .execute(
        params![key, value],
    )?;
    Ok(())
}
