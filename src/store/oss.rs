//! The `oss_buckets` and `oss_objects` tables. Object content is a BLOB in the object's row, so
//! a write is one transaction (see migrations/0004_oss.sql).

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::protocol::ApiResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketRow {
    pub name: String,
    pub account_id: String,
    pub location: String,
    pub storage_class: String,
    pub acl: String,
    pub created_ms: i64,
}

const BUCKET_COLUMNS: &str = "name, account_id, location, storage_class, acl, created_ms";

fn bucket_from(r: &Row<'_>) -> rusqlite::Result<BucketRow> {
    Ok(BucketRow {
        name: r.get(0)?,
        account_id: r.get(1)?,
        location: r.get(2)?,
        storage_class: r.get(3)?,
        acl: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

pub fn get_bucket(tx: &Transaction<'_>, name: &str) -> ApiResult<Option<BucketRow>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {BUCKET_COLUMNS} FROM oss_buckets WHERE name = ?1"
        ))?
        .query_row([name], bucket_from)
        .optional()?)
}

/// False when the name is taken.
pub fn insert_bucket(tx: &Transaction<'_>, b: &BucketRow) -> ApiResult<bool> {
    let n = tx.prepare_cached(&format!("INSERT INTO oss_buckets ({BUCKET_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(name) DO NOTHING"))?
            .execute(
        params![b.name, b.account_id, b.location, b.storage_class, b.acl, b.created_ms],
    )?;
    Ok(n == 1)
}

pub fn delete_bucket(tx: &Transaction<'_>, name: &str) -> ApiResult<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM oss_buckets WHERE name = ?1")?
        .execute([name])?
        == 1)
}

pub fn bucket_has_objects(tx: &Transaction<'_>, name: &str) -> ApiResult<bool> {
    Ok(tx
        .prepare_cached("SELECT 1 FROM oss_objects WHERE bucket = ?1 LIMIT 1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The account's buckets whose names start with `prefix` and sort after `marker`, in name
/// order, at most `limit`.
pub fn list_buckets(
    tx: &Transaction<'_>,
    account_id: &str,
    prefix: &str,
    marker: &str,
    limit: usize,
) -> ApiResult<Vec<BucketRow>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {BUCKET_COLUMNS} FROM oss_buckets WHERE account_id = ?1 AND name > ?2 AND name >= ?3 ORDER BY name"
    ))?;
    let mut rows = stmt.query(params![account_id, marker, prefix])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let b = bucket_from(r)?;
        if !b.name.starts_with(prefix) {
            break;
        }
        out.push(b);
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// An object without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub crc64: u64,
    pub content_type: String,
    /// (header name in lower case, value)
    pub user_meta: Vec<(String, String)>,
    pub last_modified_ms: i64,
}

const META_COLUMNS: &str = "key, size, etag, crc64, content_type, user_meta, last_modified_ms";

fn meta_from(r: &Row<'_>) -> rusqlite::Result<ObjectMeta> {
    let meta_text: String = r.get(5)?;
    let user_meta: Vec<(String, String)> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&meta_text)
            .map(|m| {
                m.into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
    let crc_text: String = r.get(3)?;
    Ok(ObjectMeta {
        key: r.get(0)?,
        size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
        etag: r.get(2)?,
        crc64: crc_text.parse().unwrap_or(0),
        content_type: r.get(4)?,
        user_meta,
        last_modified_ms: r.get(6)?,
    })
}

fn meta_json(meta: &[(String, String)]) -> String {
    let m: serde_json::Map<String, serde_json::Value> = meta
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(m).to_string()
}

pub fn get_meta(tx: &Transaction<'_>, bucket: &str, key: &str) -> ApiResult<Option<ObjectMeta>> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT {META_COLUMNS} FROM oss_objects WHERE bucket = ?1 AND key = ?2"
        ))?
        .query_row([bucket, key], meta_from)
        .optional()?)
}

/// `len` bytes of the content from `start` (0-based); SQLite cuts the BLOB, so a range read
/// never loads the whole object.
pub fn read_range(
    tx: &Transaction<'_>,
    bucket: &str,
    key: &str,
    start: u64,
    len: u64,
) -> ApiResult<Option<Vec<u8>>> {
    let start = i64::try_from(start).unwrap_or(i64::MAX - 1) + 1;
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    Ok(tx
        .prepare_cached(
            "SELECT substr(data, ?3, ?4) FROM oss_objects WHERE bucket = ?1 AND key = ?2",
        )?
        .query_row(params![bucket, key, start, len], |r| {
            // substr of an empty BLOB answers an empty TEXT.
            match r.get_ref(0)? {
                rusqlite::types::ValueRef::Blob(b) => Ok(b.to_vec()),
                rusqlite::types::ValueRef::Text(t) => Ok(t.to_vec()),
                _ => Ok(Vec::new()),
            }
        })
        .optional()?)
}

/// Creates or replaces the object (metadata and content in the same row).
pub fn put(tx: &Transaction<'_>, bucket: &str, meta: &ObjectMeta, data: &[u8]) -> ApiResult<()> {
    tx.prepare_cached("INSERT INTO oss_objects (bucket, key, size, etag, crc64, content_type, user_meta, last_modified_ms, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           crc64 = excluded.crc64, content_type = excluded.content_type,
           user_meta = excluded.user_meta, last_modified_ms = excluded.last_modified_ms,
           data = excluded.data")?
            .execute(
        params![
            bucket,
            meta.key,
            i64::try_from(meta.size).unwrap_or(i64::MAX),
            meta.etag,
            meta.crc64.to_string(),
            meta.content_type,
            meta_json(&meta.user_meta),
            meta.last_modified_ms,
            data
        ],
    )?;
    Ok(())
}

/// Copies the content of (src_bucket, src_key) to (bucket, meta.key) inside SQLite, with the
/// metadata given; false when the source does not exist.
pub fn copy(
    tx: &Transaction<'_>,
    src_bucket: &str,
    src_key: &str,
    bucket: &str,
    meta: &ObjectMeta,
) -> ApiResult<bool> {
    let n = tx.prepare_cached("INSERT INTO oss_objects (bucket, key, size, etag, crc64, content_type, user_meta, last_modified_ms, data)
         SELECT ?1, ?2, size, etag, crc64, ?3, ?4, ?5, data FROM oss_objects
         WHERE bucket = ?6 AND key = ?7
         ON CONFLICT(bucket, key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
           crc64 = excluded.crc64, content_type = excluded.content_type,
           user_meta = excluded.user_meta, last_modified_ms = excluded.last_modified_ms,
           data = excluded.data")?
            .execute(
        params![
            bucket,
            meta.key,
            meta.content_type,
            meta_json(&meta.user_meta),
            meta.last_modified_ms,
            src_bucket,
            src_key
        ],
    )?;
    Ok(n == 1)
}

pub fn delete(tx: &Transaction<'_>, bucket: &str, key: &str) -> ApiResult<bool> {
    Ok(tx
        .prepare_cached("DELETE FROM oss_objects WHERE bucket = ?1 AND key = ?2")?
        .execute([bucket, key])?
        == 1)
}

/// Walks the bucket's objects whose keys start with `prefix` and sort after `after`, in key
/// order, until `visit` answers false. Reads rows lazily: a listing stops stepping as soon as
/// its page is full.
pub fn walk(
    tx: &Transaction<'_>,
    bucket: &str,
    prefix: &str,
    after: &str,
    mut visit: impl FnMut(ObjectMeta) -> bool,
) -> ApiResult<()> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {META_COLUMNS} FROM oss_objects WHERE bucket = ?1 AND key > ?2 AND key >= ?3 ORDER BY key"
    ))?;
    let mut rows = stmt.query(params![bucket, after, prefix])?;
    while let Some(r) = rows.next()? {
        let m = meta_from(r)?;
        if !m.key.starts_with(prefix) || !visit(m) {
            break;
        }
    }
    Ok(())
}
