//! The `instances` table (migrations/0003_ecs.sql), and the lookup of an instance's metadata
//! credentials among the STS sessions.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRow {
    pub instance_id: String,
    pub region_id: String,
    pub zone_id: String,
    pub instance_name: String,
    pub host_name: String,
    pub description: String,
    pub image_id: String,
    pub instance_type: String,
    pub vswitch_id: Option<String>,
    pub vpc_id: Option<String>,
    /// JSON array of security group ids.
    pub security_group_ids: String,
    pub private_ip: String,
    pub mac: String,
    pub serial_number: String,
    pub status: String,
    pub ram_role_name: Option<String>,
    pub ram_role_policy: Option<String>,
    /// JSON array of `[key, value]` pairs.
    pub tags: String,
    /// JSON object of the other accepted parameters.
    pub attributes: String,
    pub client_token: Option<String>,
    pub request_digest: Option<String>,
    pub launch_index: i64,
    /// Unix seconds on the virtual clock.
    pub creation_time: i64,
    pub start_time: Option<i64>,
}

const COLUMNS: &str = "instance_id, region_id, zone_id, instance_name, host_name, description, image_id, instance_type, vswitch_id, vpc_id, security_group_ids, private_ip, mac, serial_number, status, ram_role_name, ram_role_policy, tags, attributes, client_token, request_digest, launch_index, creation_time, start_time";

fn from_row(r: &Row<'_>) -> rusqlite::Result<InstanceRow> {
    Ok(InstanceRow {
        instance_id: r.get(0)?,
        region_id: r.get(1)?,
        zone_id: r.get(2)?,
        instance_name: r.get(3)?,
        host_name: r.get(4)?,
        description: r.get(5)?,
        image_id: r.get(6)?,
        instance_type: r.get(7)?,
        vswitch_id: r.get(8)?,
        vpc_id: r.get(9)?,
        security_group_ids: r.get(10)?,
        private_ip: r.get(11)?,
        mac: r.get(12)?,
        serial_number: r.get(13)?,
        status: r.get(14)?,
        ram_role_name: r.get(15)?,
        ram_role_policy: r.get(16)?,
        tags: r.get(17)?,
        attributes: r.get(18)?,
        client_token: r.get(19)?,
        request_digest: r.get(20)?,
        launch_index: r.get(21)?,
        creation_time: r.get(22)?,
        start_time: r.get(23)?,
    })
}

pub fn insert(tx: &Transaction<'_>, i: &InstanceRow) -> ApiResult<()> {
    tx.prepare_cached(&format!(
            "INSERT INTO instances ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)"
        ))?
            .execute(
        params![
            i.instance_id,
            i.region_id,
            i.zone_id,
            i.instance_name,
            i.host_name,
            i.description,
            i.image_id,
            i.instance_type,
            i.vswitch_id,
            i.vpc_id,
            i.security_group_ids,
            i.private_ip,
            i.mac,
            i.serial_number,
            i.status,
            i.ram_role_name,
            i.ram_role_policy,
            i.tags,
            i.attributes,
            i.client_token,
            i.request_digest,
            i.launch_index,
            i.creation_time,
            i.start_time
        ],
    )?;
    Ok(())
}

pub fn get(tx: &Transaction<'_>, instance_id: &str) -> ApiResult<Option<InstanceRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM instances WHERE instance_id = ?1"
        ))?
        .query_row([instance_id], from_row)
        .optional()?)
}

/// Every instance of a region, oldest first (the order DescribeInstances pages in).
pub fn list_region(tx: &Transaction<'_>, region_id: &str) -> ApiResult<Vec<InstanceRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE region_id = ?1 ORDER BY creation_time, rowid"
    ))?;
    let rows = stmt
        .query_map([region_id], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Every instance, oldest first: for `acsemu export` and the dashboard.
pub fn list_all(tx: &Transaction<'_>) -> ApiResult<Vec<InstanceRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances ORDER BY creation_time, rowid"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The instances an earlier call created with this ClientToken, in launch order.
pub fn by_client_token(tx: &Transaction<'_>, token: &str) -> ApiResult<Vec<InstanceRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE client_token = ?1 ORDER BY launch_index, rowid"
    ))?;
    let rows = stmt
        .query_map([token], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn by_private_ip(tx: &Transaction<'_>, ip: &str) -> ApiResult<Option<InstanceRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM instances WHERE private_ip = ?1"
        ))?
        .query_row([ip], from_row)
        .optional()?)
}

pub fn ip_in_use(tx: &Transaction<'_>, ip: &str) -> ApiResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM instances WHERE private_ip = ?1")?
        .query_row([ip], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Running instances that have a role, in any region, oldest first.
pub fn running_with_role(tx: &Transaction<'_>) -> ApiResult<Vec<InstanceRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM instances WHERE status = 'Running' AND ram_role_name IS NOT NULL ORDER BY creation_time, rowid"
    ))?;
    let rows = stmt
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn set_status(
    tx: &Transaction<'_>,
    instance_id: &str,
    status: &str,
    start_time: Option<i64>,
) -> ApiResult<()> {
    tx.prepare_cached("UPDATE instances SET status = ?2, start_time = COALESCE(?3, start_time) WHERE instance_id = ?1")?
            .execute(
        params![instance_id, status, start_time],
    )?;
    Ok(())
}

/// Attaches (`Some`) or detaches (`None`) the instance's role.
pub fn set_role(
    tx: &Transaction<'_>,
    instance_id: &str,
    role_name: Option<&str>,
    policy: Option<&str>,
) -> ApiResult<()> {
    tx.prepare_cached(
        "UPDATE instances SET ram_role_name = ?2, ram_role_policy = ?3 WHERE instance_id = ?1",
    )?
    .execute(params![instance_id, role_name, policy])?;
    Ok(())
}

pub fn delete(tx: &Transaction<'_>, instance_id: &str) -> ApiResult<()> {
    tx.prepare_cached("DELETE FROM instances WHERE instance_id = ?1")?
        .execute([instance_id])?;
    Ok(())
}

/// The AccessKeyId of the newest metadata session of this instance, role and session policy
/// that is still valid at `now`: the metadata service hands it out again until it nears expiry.
pub fn newest_session(
    tx: &Transaction<'_>,
    instance_id: &str,
    role_id: &str,
    session_policy: Option<&str>,
    now: i64,
) -> ApiResult<Option<String>> {
    Ok(tx
        .prepare_cached(
            "SELECT access_key_id FROM sts_sessions
             WHERE source = 'ecs' AND session_name = ?1 AND role_id = ?2 AND session_policy IS ?3
               AND expiration > ?4
             ORDER BY create_date DESC, expiration DESC LIMIT 1",
        )?
        .query_row(params![instance_id, role_id, session_policy, now], |r| {
            r.get(0)
        })
        .optional()?)
}
