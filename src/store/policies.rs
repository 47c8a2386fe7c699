//! The `policies`, `policy_versions` and `policy_attachments` tables.

use rusqlite::{params, Transaction};

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
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM policy_attachments WHERE policy_type = ?1 AND policy_name = ?2",
        params![policy_type, policy_name],
        |r| r.get(0),
    )?)
}

/// Attachments of one principal: what DeleteRole / DeleteUser / DeleteGroup refuse over.
pub fn count_for_principal(
    tx: &Transaction<'_>,
    principal_type: &str,
    principal_id: &str,
) -> ApiResult<i64> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM policy_attachments WHERE principal_type = ?1 AND principal_id = ?2",
        params![principal_type, principal_id],
        |r| r.get(0),
    )?)
}
