//! The `users`, `groups` and `group_members` tables.

use rusqlite::{OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone)]
pub struct UserRow {
    pub user_id: String,
    pub user_name: String,
    pub display_name: String,
    pub mobile_phone: String,
    pub email: String,
    pub comments: String,
    pub create_date: String,
    pub update_date: String,
}

pub const USER_COLUMNS: &str =
    "user_id, user_name, display_name, mobile_phone, email, comments, create_date, update_date";

pub fn user_from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        user_id: r.get(0)?,
        user_name: r.get(1)?,
        display_name: r.get(2)?,
        mobile_phone: r.get(3)?,
        email: r.get(4)?,
        comments: r.get(5)?,
        create_date: r.get(6)?,
        update_date: r.get(7)?,
    })
}

pub fn get_user_by_id(tx: &Transaction<'_>, user_id: &str) -> ApiResult<Option<UserRow>> {
    Ok(tx
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = ?1"),
            [user_id],
            user_from_row,
        )
        .optional()?)
}

pub fn get_user(tx: &Transaction<'_>, user_name: &str) -> ApiResult<Option<UserRow>> {
    Ok(tx
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE user_name = ?1"),
            [user_name],
            user_from_row,
        )
        .optional()?)
}
