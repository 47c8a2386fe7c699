//! Seeding a database quickly: the schema from acsemu's own migrations (Store::open), then rows
//! written straight into the SQLite file in one transaction while no server runs.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

pub const SEED_DATE: &str = "2024-01-01T00:00:00Z";

/// A trust policy that lets every RAM identity of `account` assume the role.
pub fn account_trust(account: &str) -> String {
    format!(
        r#"{{"Statement":[{{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{{"RAM":["acs:ram::{account}:root"]}}}}],"Version":"1"}}"#
    )
}

pub const ECS_TRUST: &str = r#"{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":["ecs.aliyuncs.com"]}}],"Version":"1"}"#;

const POLICY_DOC: &str = r#"{"Statement":[{"Action":["oss:GetObject","oss:ListObjects"],"Effect":"Allow","Resource":["acs:oss:*:*:seed-bucket/*"]}],"Version":"1"}"#;

/// The name of seeded role number `i`.
pub fn role_name(i: usize) -> String {
    format!("seed-role-{i:07}")
}

#[derive(Debug, Default, Clone)]
pub struct Seeded {
    pub roles: usize,
    pub policies: usize,
    pub instances: usize,
    /// Why instances were not seeded (no ECS table yet, or a schema this tool does not know).
    pub instances_skipped: Option<String>,
    pub took: Duration,
}

/// Creates the schema at `path` by opening it as acsemu would.
pub fn create_schema(path: &Path) -> Result<(), String> {
    acsemu::store::Store::open(Some(path))
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Writes `roles` roles, `policies` custom policies and `instances` instances (when the ECS
/// table exists) into the database at `path`, whose schema must exist.
pub fn seed(
    path: &Path,
    account: &str,
    roles: usize,
    policies: usize,
    instances: usize,
) -> Result<Seeded, String> {
    let started = Instant::now();
    let mut conn = Connection::open(path).map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;")
        .map_err(|e| e.to_string())?;
    let tx = conn.transaction().map_err(|e| e.to_string())?;
    let trust = account_trust(account);
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO roles (role_id, role_name, description, assume_role_policy_document, max_session_duration, create_date, update_date)
                 VALUES (?1, ?2, 'seeded by acsemu-bench', ?3, 3600, ?4, ?4)",
            )
            .map_err(|e| e.to_string())?;
        for i in 0..roles {
            stmt.execute(params![format!("3{i:018}"), role_name(i), trust, SEED_DATE])
                .map_err(|e| format!("seeding roles: {e}"))?;
        }
    }
    {
        let mut policy = tx
            .prepare(
                "INSERT INTO policies (policy_type, policy_name, description, default_version, next_version, create_date, update_date)
                 VALUES ('Custom', ?1, 'seeded by acsemu-bench', 'v1', 2, ?2, ?2)",
            )
            .map_err(|e| e.to_string())?;
        let mut version = tx
            .prepare(
                "INSERT INTO policy_versions (policy_type, policy_name, version_id, document, create_date)
                 VALUES ('Custom', ?1, 'v1', ?2, ?3)",
            )
            .map_err(|e| e.to_string())?;
        for i in 0..policies {
            let name = format!("seed-policy-{i:07}");
            policy
                .execute(params![name, SEED_DATE])
                .map_err(|e| format!("seeding policies: {e}"))?;
            version
                .execute(params![name, POLICY_DOC, SEED_DATE])
                .map_err(|e| format!("seeding policy versions: {e}"))?;
        }
    }
    let mut out = Seeded {
        roles,
        policies,
        ..Seeded::default()
    };
    if instances > 0 {
        match seed_instances(&tx, instances) {
            Ok(()) => out.instances = instances,
            Err(e) => out.instances_skipped = Some(e),
        }
    }
    tx.commit().map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(|e| e.to_string())?;
    out.took = started.elapsed();
    Ok(out)
}

fn seed_instances(tx: &rusqlite::Transaction<'_>, n: usize) -> Result<(), String> {
    let exists: i64 = tx
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'instances'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| e.to_string())?;
    if exists == 0 {
        return Err("no instances table (ECS not in this build)".into());
    }
    // A savepoint, so a schema this tool does not know leaves the roles and policies intact.
    tx.execute_batch("SAVEPOINT seed_instances;")
        .map_err(|e| e.to_string())?;
    let result = (|| -> rusqlite::Result<()> {
        let mut stmt = tx.prepare(
            "INSERT INTO instances (instance_id, region_id, zone_id, instance_name, host_name, image_id, instance_type,
                 vswitch_id, vpc_id, private_ip, mac, serial_number, status, creation_time)
             VALUES (?1, 'cn-hangzhou', 'cn-hangzhou-i', ?2, ?2, 'aliyun_3_x64_20G_alibase_20240819.vhd', 'ecs.g7.large',
                 'vsw-bp1seed0000000000000', 'vpc-bp1seed0000000000000', ?3, ?4, ?5, 'Stopped', 1704067200)",
        )?;
        for i in 0..n {
            stmt.execute(params![
                format!("i-bp1seed{i:012}"),
                format!("seed-instance-{i}"),
                format!("172.16.{}.{}", (i / 250) % 250, i % 250 + 2),
                format!("00:16:3e:00:{:02x}:{:02x}", (i / 256) % 256, i % 256),
                format!("{i:08}-0000-4000-8000-000000000000"),
            ])?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => tx
            .execute_batch("RELEASE seed_instances;")
            .map_err(|e| e.to_string()),
        Err(e) => {
            let _ = tx.execute_batch("ROLLBACK TO seed_instances; RELEASE seed_instances;");
            Err(format!("cannot seed instances: {e}"))
        }
    }
}
