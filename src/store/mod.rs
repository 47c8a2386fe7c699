//! The only place with SQL: the pool, the migrations, and one module per group of tables.

pub mod instances;
pub mod keys;
pub mod oss;
pub mod policies;
pub mod principals;
pub mod roles;
pub mod settings;
pub mod sts;

use std::path::Path;

use include_dir::{include_dir, Dir};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{Migrations, M};

use crate::protocol::{ApiError, ApiResult};

static MIGRATIONS_DIR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/migrations");

pub type Conn = PooledConnection<SqliteConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("the database at {0} was written by a newer acsemu (schema version {1}, this binary knows {2})")]
    TooNew(String, usize, usize),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
}

/// `migrations/NNNN_name.sql`, in name order.
fn migrations() -> Migrations<'static> {
    let mut files: Vec<_> = MIGRATIONS_DIR
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort_by_key(|f| f.path());
    Migrations::new(
        files
            .into_iter()
            .filter_map(|f| f.contents_utf8())
            .map(M::up)
            .collect(),
    )
}

#[must_use]
pub fn schema_version() -> usize {
    MIGRATIONS_DIR
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "sql"))
        .count()
}

#[derive(Clone)]
pub struct Store {
    pool: Pool<SqliteConnectionManager>,
    /// Writers queue here rather than in SQLite's busy handler, whose sleeps and retries
    /// turned into long tail latencies under 64 concurrent writers (issue 9's profile).
    write_lock: std::sync::Arc<parking_lot::Mutex<()>>,
}

fn init_connection(c: &mut Connection) -> rusqlite::Result<()> {
    // Every statement of the store stays prepared: parsing SQL was a visible share of a
    // request's time in the benchmark profile.
    c.set_prepared_statement_cache_capacity(256);
    c.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA synchronous = NORMAL;",
    )
}

impl Store {
    /// Opens (creating it owner-only if new) the database at `path`, or a private in-memory one.
    pub fn open(path: Option<&Path>) -> Result<Self, StoreError> {
        let (manager, size, label) = match path {
            Some(p) => {
                create_private(p).map_err(|e| StoreError::Open {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                // Read the file once before the pool does: the pool retries a file that is not
                // a database until its 30-second timeout, this says so at once.
                Connection::open(p)
                    .and_then(|c| {
                        c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                            r.get::<_, i64>(0)
                        })
                    })
                    .map_err(|e| StoreError::Open {
                        path: p.display().to_string(),
                        reason: e.to_string(),
                    })?;
                (
                    SqliteConnectionManager::file(p).with_init(|c| {
                        c.execute_batch("PRAGMA journal_mode = WAL;")?;
                        init_connection(c)
                    }),
                    8,
                    p.display().to_string(),
                )
            }
            // One connection: every pooled connection to ":memory:" would be its own database.
            None => (
                SqliteConnectionManager::memory().with_init(init_connection),
                1,
                ":memory:".to_string(),
            ),
        };
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .build(manager)
            .map_err(|e| StoreError::Open {
                path: label.clone(),
                reason: e.to_string(),
            })?;
        let store = Self {
            pool,
            write_lock: std::sync::Arc::default(),
        };
        store.migrate(&label)?;
        Ok(store)
    }

    fn migrate(&self, label: &str) -> Result<(), StoreError> {
        let mut conn = self.pool.get().map_err(|e| StoreError::Open {
            path: label.to_string(),
            reason: e.to_string(),
        })?;
        let current: usize = conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map(|v| usize::try_from(v).unwrap_or(0))
            .map_err(|e| StoreError::Migrate(e.to_string()))?;
        if current > schema_version() {
            return Err(StoreError::TooNew(
                label.to_string(),
                current,
                schema_version(),
            ));
        }
        migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migrate(e.to_string()))
    }

    pub fn conn(&self) -> ApiResult<Conn> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in one transaction: committed on `Ok`, rolled back on `Err`. Writers take the
    /// write lock up front so two writers never deadlock upgrading a read lock.
    pub fn transaction<T>(
        &self,
        write: bool,
        f: impl FnOnce(&Transaction<'_>) -> ApiResult<T>,
    ) -> ApiResult<T> {
        // INVARIANT: no transaction opens another, so this lock is never taken twice.
        let _writer = write.then(|| self.write_lock.lock());
        let mut conn = self.conn()?;
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = conn.transaction_with_behavior(behavior)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Empties every table but the schema bookkeeping; the system policies, seeded by a migration,
    /// are kept.
    pub fn reset(&self) -> ApiResult<()> {
        self.transaction(true, |tx| {
            tx.execute_batch(
                "DELETE FROM policy_attachments;
                 DELETE FROM group_members;
                 DELETE FROM access_keys;
                 DELETE FROM sts_sessions;
                 DELETE FROM users;
                 DELETE FROM groups;
                 DELETE FROM roles;
                 DELETE FROM policy_versions WHERE policy_type = 'Custom';
                 DELETE FROM policies WHERE policy_type = 'Custom';
                 DELETE FROM settings;",
            )?;
            reset_extra(tx)?;
            Ok(())
        })
    }

    /// Flushes the WAL into the main file (graceful shutdown).
    pub fn checkpoint(&self) -> ApiResult<()> {
        let conn = self.conn()?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

/// Tables added by later migrations register their reset here.
fn reset_extra(tx: &Transaction<'_>) -> ApiResult<()> {
    let tables: Vec<String> = tx
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('instances', 'oss_objects', 'oss_buckets')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in tables {
        tx.execute_batch(&format!("DELETE FROM {t};"))?;
    }
    Ok(())
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(|_| ())
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(|_| ())
}

/// Maps "no row" to a product's not-found error.
pub fn not_found<T>(r: rusqlite::Result<T>, err: impl FnOnce() -> ApiError) -> ApiResult<T> {
    match r {
        Ok(v) => Ok(v),
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(err()),
        Err(e) => Err(e.into()),
    }
}

/// True for a UNIQUE or PRIMARY KEY violation: the loser of a create race.
#[must_use]
pub fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
