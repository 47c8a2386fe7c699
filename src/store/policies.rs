//! The `policies`, `policy_versions` and `policy_attachments` tables.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

/// (policy name, policy type, default version's document) of every policy attached to one
/// principal.
pub fn documents_for(
    principal_type: &str,
    principal_id: &str,
    tx: &Transaction<'_>,
) -> ApiResult<Vec<(String, String, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.policy_name, p.policy_type, v.document
           FROM policy_attachments a
           JOIN policies p ON p.policy_type = a.policy_type AND p.policy_name = a.policy_name
           JOIN policy_versions v ON v.policy_type = p.policy_type AND v.policy_name = p.policy_name AND v.version_id = p.default_version
          WHERE a.principal_type = ?1 AND a.principal_id = ?2
          ORDER BY p.policy_type, p.policy_name",
    )?;
    let rows = stmt
        .query_map(params![principal_type, principal_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A user's own policies and those of every group it belongs to.
pub fn documents_for_user(
    tx: &Transaction<'_>,
    user_id: &str,
) -> ApiResult<Vec<(String, String, String)>> {
    let mut out = documents_for("User", user_id, tx)?;
    let groups: Vec<String> = tx
        .prepare_cached("SELECT group_id FROM group_members WHERE user_id = ?1")?
        .query_map([user_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for g in groups {
        out.extend(documents_for("Group", &g, tx)?);
    }
    Ok(out)
}

/// How many principals a policy is attached to.
pub fn attachment_count(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*) FROM policy_attachments WHERE policy_type = ?1 AND policy_name = ?2",
        )?
        .query_row(params![policy_type, policy_name], |r| r.get(0))?)
}

/// Attachments of one principal: what DeleteRole / DeleteUser / DeleteGroup refuse over.
pub fn count_for_principal(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
) -> ApiResult<i64> {
    Ok(tx.prepare_cached("SELECT COUNT(*) FROM policy_attachments WHERE principal_type = ?1 AND principal_id = ?2")?
            .query_row(
        params![principal_type, principal_id],
        |r| r.get(0),
    )?)
}

// ---- policies and their versions (RAM policy actions, reference/ram.md "Policies") ----

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub policy_type: String,
    pub policy_name: String,
    pub description: String,
    pub default_version: String,
    /// The number the next version gets (`v<next_version>`).
    pub next_version: i64,
    pub create_date: String,
    pub update_date: String,
}

#[derive(Debug, Clone)]
pub struct PolicyVersionRow {
    pub version_id: String,
    pub document: String,
    pub create_date: String,
}

const POLICY_COLUMNS: &str =
    "p.policy_type, p.policy_name, p.description, p.default_version, p.next_version, p.create_date, p.update_date";

fn policy_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyRow> {
    Ok(PolicyRow {
        policy_type: r.get(0)?,
        policy_name: r.get(1)?,
        description: r.get(2)?,
        default_version: r.get(3)?,
        next_version: r.get(4)?,
        create_date: r.get(5)?,
        update_date: r.get(6)?,
    })
}

fn version_from_row(r: &Row<'_>) -> rusqlite::Result<PolicyVersionRow> {
    Ok(PolicyVersionRow {
        version_id: r.get(0)?,
        document: r.get(1)?,
        create_date: r.get(2)?,
    })
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Inserts a policy and its first version; `Ok(false)` when the name is taken
/// (case-insensitively) by a policy of the same type.
pub fn insert_policy(
    tx: &Transaction<'_>,
    p: &PolicyRow,
    first: &PolicyVersionRow,
) -> ApiResult<bool> {
    let n = tx.prepare_cached("INSERT INTO policies (policy_type, policy_name, description, default_version, next_version, create_date, update_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING")?
            .execute(
        params![
            p.policy_type,
            p.policy_name,
            p.description,
            p.default_version,
            p.next_version,
            p.create_date,
            p.update_date
        ],
    )?;
    if n == 0 {
        return Ok(false);
    }
    insert_version(tx, &p.policy_type, &p.policy_name, first)?;
    Ok(true)
}

pub fn get_policy(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
) -> ApiResult<Option<PolicyRow>> {
    Ok(tx.prepare_cached(&format!(
                "SELECT {POLICY_COLUMNS} FROM policies p WHERE p.policy_type = ?1 AND p.policy_name = ?2"
            ))?
            .query_row(
            params![policy_type, policy_name],
            policy_from_row,
        )
        .optional()?)
}

/// Up to `limit` policies after `after` (type, name), ordered by type then name, each with its
/// attachment count; `policy_type` filters when given.
pub fn list_policies(
    tx: &Transaction<'_>,
    policy_type: Option<&str>,
    after: Option<(&str, &str)>,
    limit: usize,
) -> ApiResult<Vec<(PolicyRow, i64)>> {
    let (after_type, after_name) = after.unwrap_or(("", ""));
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {POLICY_COLUMNS},
                (SELECT COUNT(*) FROM policy_attachments a
                  WHERE a.policy_type = p.policy_type AND a.policy_name = p.policy_name)
           FROM policies p
          WHERE (?1 IS NULL OR p.policy_type = ?1)
            AND (p.policy_type > ?2 OR (p.policy_type = ?2 AND p.policy_name > ?3))
          ORDER BY p.policy_type, p.policy_name
          LIMIT ?4"
    ))?;
    let rows = stmt
        .query_map(
            params![policy_type, after_type, after_name, limit_param(limit)],
            |r| Ok((policy_from_row(r)?, r.get(7)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Saves a policy's description, default version, version counter and update date.
pub fn update_policy(tx: &Transaction<'_>, p: &PolicyRow) -> ApiResult<()> {
    tx.prepare_cached("UPDATE policies SET description = ?3, default_version = ?4, next_version = ?5, update_date = ?6
          WHERE policy_type = ?1 AND policy_name = ?2")?
            .execute(
        params![
            p.policy_type,
            p.policy_name,
            p.description,
            p.default_version,
            p.next_version,
            p.update_date
        ],
    )?;
    Ok(())
}

/// Deletes a policy and all its versions.
pub fn delete_policy(tx: &Transaction<'_>, policy_type: &str, policy_name: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM policy_versions WHERE policy_type = ?1 AND policy_name = ?2")?
        .execute(params![policy_type, policy_name])?;
    tx.prepare_cached("DELETE FROM policies WHERE policy_type = ?1 AND policy_name = ?2")?
        .execute(params![policy_type, policy_name])?;
    Ok(())
}

pub fn insert_version(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
    v: &PolicyVersionRow,
) -> ApiResult<()> {
    tx.prepare_cached(
        "INSERT INTO policy_versions (policy_type, policy_name, version_id, document, create_date)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        policy_type,
        policy_name,
        v.version_id,
        v.document,
        v.create_date
    ])?;
    Ok(())
}

pub fn get_version(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
    version_id: &str,
) -> ApiResult<Option<PolicyVersionRow>> {
    Ok(tx
        .prepare_cached(
            "SELECT version_id, document, create_date FROM policy_versions
              WHERE policy_type = ?1 AND policy_name = ?2 AND version_id = ?3",
        )?
        .query_row(
            params![policy_type, policy_name, version_id],
            version_from_row,
        )
        .optional()?)
}

/// A policy's versions, oldest first (`v2` before `v10`).
pub fn list_versions(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
) -> ApiResult<Vec<PolicyVersionRow>> {
    let mut stmt = tx.prepare_cached(
        "SELECT version_id, document, create_date FROM policy_versions
          WHERE policy_type = ?1 AND policy_name = ?2
          ORDER BY CAST(substr(version_id, 2) AS INTEGER), version_id",
    )?;
    let rows = stmt
        .query_map(params![policy_type, policy_name], version_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn delete_version(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
    version_id: &str,
) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM policy_versions WHERE policy_type = ?1 AND policy_name = ?2 AND version_id = ?3")?
            .execute(
        params![policy_type, policy_name, version_id],
    )?;
    Ok(())
}

// ---- attachments ----

/// Attaches a policy to a principal; `Ok(false)` when it already is.
pub fn attach(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
    policy_type: &str,
    policy_name: &str,
    attach_date: &str,
) -> ApiResult<bool> {
    let n = tx.prepare_cached("INSERT INTO policy_attachments (principal_type, principal_id, policy_type, policy_name, attach_date)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")?
            .execute(
        params![principal_type, principal_id, policy_type, policy_name, attach_date],
    )?;
    Ok(n == 1)
}

/// Detaches a policy from a principal; `Ok(false)` when it was not attached.
pub fn detach(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
    policy_type: &str,
    policy_name: &str,
) -> ApiResult<bool> {
    let n = tx.prepare_cached("DELETE FROM policy_attachments
          WHERE principal_type = ?1 AND principal_id = ?2 AND policy_type = ?3 AND policy_name = ?4")?
            .execute(
        params![principal_type, principal_id, policy_type, policy_name],
    )?;
    Ok(n > 0)
}

/// The policies attached to one principal, with their attach dates, by type then name.
pub fn list_for_principal(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
) -> ApiResult<Vec<(PolicyRow, String)>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {POLICY_COLUMNS}, a.attach_date
           FROM policy_attachments a
           JOIN policies p ON p.policy_type = a.policy_type AND p.policy_name = a.policy_name
          WHERE a.principal_type = ?1 AND a.principal_id = ?2
          ORDER BY p.policy_type, p.policy_name"
    ))?;
    let rows = stmt
        .query_map(params![principal_type, principal_id], |r| {
            Ok((policy_from_row(r)?, r.get(7)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// (principal type, principal id, attach date) of every attachment of one policy, oldest first.
pub fn attachments_of(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
) -> ApiResult<Vec<(String, String, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT principal_type, principal_id, attach_date FROM policy_attachments
          WHERE policy_type = ?1 AND policy_name = ?2
          ORDER BY attach_date, principal_type, principal_id",
    )?;
    let rows = stmt
        .query_map(params![policy_type, policy_name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many principals of one type a policy is attached to: what DeletePolicy refuses over.
pub fn attachment_count_by(
    tx: &Transaction<'_>,
    policy_type: &str,
    policy_name: &str,
    principal_type: &str,
) -> ApiResult<i64> {
    Ok(tx
        .prepare_cached(
            "SELECT COUNT(*) FROM policy_attachments
          WHERE policy_type = ?1 AND policy_name = ?2 AND principal_type = ?3",
        )?
        .query_row(params![policy_type, policy_name, principal_type], |r| {
            r.get(0)
        })?)
}
