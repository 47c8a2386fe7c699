//! The `users`, `groups` and `group_members` tables.

use rusqlite::{params, OptionalExtension, Row, Transaction};

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
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_id = ?1"
        ))?
        .query_row([user_id], user_from_row)
        .optional()?)
}

pub fn get_user(tx: &Transaction<'_>, user_name: &str) -> ApiResult<Option<UserRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE user_name = ?1"
        ))?
        .query_row([user_name], user_from_row)
        .optional()?)
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

// ---- users ----

/// Inserts a user; `Ok(false)` when the name is taken (case-insensitively).
pub fn insert_user(tx: &Transaction<'_>, u: &UserRow) -> ApiResult<bool> {
    let n = tx.prepare_cached(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING"
        ))?
            .execute(
        params![
            u.user_id,
            u.user_name,
            u.display_name,
            u.mobile_phone,
            u.email,
            u.comments,
            u.create_date,
            u.update_date
        ],
    )?;
    Ok(n == 1)
}

/// Up to `limit` users after `marker` (a user name), in name order.
pub fn list_users(
    tx: &Transaction<'_>,
    marker: Option<&str>,
    limit: usize,
) -> ApiResult<Vec<UserRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE user_name > ?1 ORDER BY user_name LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(
            params![marker.unwrap_or(""), limit_param(limit)],
            user_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Saves every field of a user, its name included; `Ok(false)` when the new name is taken.
pub fn update_user(tx: &Transaction<'_>, u: &UserRow) -> ApiResult<bool> {
    let n = tx.prepare_cached("UPDATE OR IGNORE users SET user_name = ?2, display_name = ?3, mobile_phone = ?4, email = ?5,
                comments = ?6, update_date = ?7
          WHERE user_id = ?1")?
            .execute(
        params![
            u.user_id,
            u.user_name,
            u.display_name,
            u.mobile_phone,
            u.email,
            u.comments,
            u.update_date
        ],
    )?;
    Ok(n == 1)
}

pub fn delete_user(tx: &Transaction<'_>, user_id: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM users WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}

// ---- groups ----

#[derive(Debug, Clone)]
pub struct GroupRow {
    pub group_id: String,
    pub group_name: String,
    pub comments: String,
    pub create_date: String,
    pub update_date: String,
}

const GROUP_COLUMNS: &str = "group_id, group_name, comments, create_date, update_date";

fn group_from_row(r: &Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok(GroupRow {
        group_id: r.get(0)?,
        group_name: r.get(1)?,
        comments: r.get(2)?,
        create_date: r.get(3)?,
        update_date: r.get(4)?,
    })
}

/// Inserts a group; `Ok(false)` when the name is taken (case-insensitively).
pub fn insert_group(tx: &Transaction<'_>, g: &GroupRow) -> ApiResult<bool> {
    let n = tx.prepare_cached(&format!(
            "INSERT INTO groups ({GROUP_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"
        ))?
            .execute(
        params![
            g.group_id,
            g.group_name,
            g.comments,
            g.create_date,
            g.update_date
        ],
    )?;
    Ok(n == 1)
}

pub fn get_group(tx: &Transaction<'_>, group_name: &str) -> ApiResult<Option<GroupRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE group_name = ?1"
        ))?
        .query_row([group_name], group_from_row)
        .optional()?)
}

pub fn get_group_by_id(tx: &Transaction<'_>, group_id: &str) -> ApiResult<Option<GroupRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups WHERE group_id = ?1"
        ))?
        .query_row([group_id], group_from_row)
        .optional()?)
}

/// Up to `limit` groups after `marker` (a group name), in name order.
pub fn list_groups(
    tx: &Transaction<'_>,
    marker: Option<&str>,
    limit: usize,
) -> ApiResult<Vec<GroupRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {GROUP_COLUMNS} FROM groups WHERE group_name > ?1 ORDER BY group_name LIMIT ?2"
    ))?;
    let rows = stmt
        .query_map(
            params![marker.unwrap_or(""), limit_param(limit)],
            group_from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Saves a group's name, comments and update date; `Ok(false)` when the new name is taken.
pub fn update_group(tx: &Transaction<'_>, g: &GroupRow) -> ApiResult<bool> {
    let n = tx.prepare_cached("UPDATE OR IGNORE groups SET group_name = ?2, comments = ?3, update_date = ?4 WHERE group_id = ?1")?
            .execute(
        params![g.group_id, g.group_name, g.comments, g.update_date],
    )?;
    Ok(n == 1)
}

pub fn delete_group(tx: &Transaction<'_>, group_id: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM groups WHERE group_id = ?1")?
        .execute([group_id])?;
    Ok(())
}

// ---- group membership ----

/// Adds a user to a group; `Ok(false)` when it already is a member.
pub fn add_member(
    tx: &Transaction<'_>,
    group_id: &str,
    user_id: &str,
    join_date: &str,
) -> ApiResult<bool> {
    let n = tx.prepare_cached("INSERT INTO group_members (group_id, user_id, join_date) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
            .execute(
        params![group_id, user_id, join_date],
    )?;
    Ok(n == 1)
}

/// Removes a user from a group; `Ok(false)` when it was not a member.
pub fn remove_member(tx: &Transaction<'_>, group_id: &str, user_id: &str) -> ApiResult<bool> {
    let n = tx
        .prepare_cached("DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2")?
        .execute(params![group_id, user_id])?;
    Ok(n > 0)
}

/// The groups a user belongs to, with join dates, in group name order.
pub fn groups_for_user(tx: &Transaction<'_>, user_id: &str) -> ApiResult<Vec<(GroupRow, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT g.group_id, g.group_name, g.comments, g.create_date, g.update_date, m.join_date
           FROM group_members m JOIN groups g ON g.group_id = m.group_id
          WHERE m.user_id = ?1
          ORDER BY g.group_name",
    )?;
    let rows = stmt
        .query_map([user_id], |r| Ok((group_from_row(r)?, r.get(5)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Up to `limit` members of a group after `marker` (a user name), with join dates, in user
/// name order.
pub fn users_for_group(
    tx: &Transaction<'_>,
    group_id: &str,
    marker: Option<&str>,
    limit: usize,
) -> ApiResult<Vec<(UserRow, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT u.user_id, u.user_name, u.display_name, u.mobile_phone, u.email, u.comments,
                u.create_date, u.update_date, m.join_date
           FROM group_members m JOIN users u ON u.user_id = m.user_id
          WHERE m.group_id = ?1 AND u.user_name > ?2
          ORDER BY u.user_name
          LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(
            params![group_id, marker.unwrap_or(""), limit_param(limit)],
            |r| Ok((user_from_row(r)?, r.get(8)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Members of a group: what DeleteGroup refuses over.
pub fn count_members(tx: &Transaction<'_>, group_id: &str) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM group_members WHERE group_id = ?1")?
        .query_row([group_id], |r| r.get(0))?)
}

/// Groups a user belongs to: what DeleteUser refuses over.
pub fn count_groups_for_user(tx: &Transaction<'_>, user_id: &str) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM group_members WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))?)
}
