//! The store: every byte of fleet state, in one SQLite file (WAL) reached through sqlx.
//! The schema lives in `migrations/` and is applied when the store opens.
//!
//! This is the only module that writes SQL. It knows rows, not rules: who may do what, and
//! what a row means for the fleet, are decided elsewhere.

mod audit_rows;
mod briefings;
mod cells;
mod confirmations;
mod deploys;
mod heals;
mod hosts;
mod incidents;
mod instances;
mod llm_usage;
mod old_servers;
mod pairing;
mod plans;
mod sim;
mod states;
mod watch;

pub use audit_rows::AuditRow;
pub use briefings::{FleetDayRow, HealthDayRow};
pub use cells::{AnomalyRow, CellHostRow, CellRow, NewCellHost};
pub use confirmations::{ConfirmationRow, PressResult};
pub use deploys::{DeployRow, StepRow};
pub use heals::{HealRunRow, HealStepRow};
pub use hosts::{BackupRow, HostKeyRow, KeyRow, NewBackup};
pub use incidents::{AlertMark, AlertMessageRow, AlertRow, IncidentRow, NewIncident, SilenceRow};
pub use instances::{InstanceRow, NewInstance};
pub use llm_usage::UsageSum;
pub use old_servers::{OldServerRow, SnapshotRow};
pub use pairing::{PairingRow, SeenRequest};
pub use plans::{NewPlan, PlanRow, PlanStepRow};
pub use sim::SimServerRow;
pub use states::{
    BackupKind, CellHostState, ConfirmationState, DeployState, InstanceStatus, OldServerState,
    PlanState, StepStatus,
};
pub use watch::{HourlyRow, JobRunRow, ReadingRow};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use thiserror::Error;

/// Why the store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the folder for the store {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another clawops process is already using {path}: stop it first, or give this one another [store] path"
    )]
    Busy { path: PathBuf },
    #[error("cannot open the store {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot bring the store's schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the disk holding the store is full ({0}): nothing was written. Free some space there; clawops goes on by itself, no restart needed"
    )]
    DiskFull(String),
    #[error("the store failed: {0}")]
    Sql(sqlx::Error),
    #[error("the store holds a value it cannot read ({what}): {detail}")]
    Corrupt { what: &'static str, detail: String },
}

impl From<sqlx::Error> for StoreError {
    /// A full disk is told apart (SQLite's `SQLITE_FULL`, or the OS's ENOSPC): it is the
    /// operator's to fix, and nothing is wrong with the store itself.
    fn from(e: sqlx::Error) -> StoreError {
        let full = match &e {
            sqlx::Error::Database(db) => db.code().as_deref() == Some("13"),
            sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
            _ => false,
        };
        if full {
            StoreError::DiskFull(e.to_string())
        } else {
            StoreError::Sql(e)
        }
    }
}

/// Makes the store file (mode 0600) before SQLite does, so its WAL and shared-memory
/// files, which SQLite creates with the database file's mode, are private too; an
/// existing store readable by others is made private, with a warning.
fn private_files(path: &Path) -> Result<(), StoreError> {
    let folder = |source| StoreError::Folder {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        match crate::vault::create_private(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(folder(e)),
        }
    }
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if let Err(problem) = crate::vault::check_private(&file) {
            if !file.exists() {
                continue;
            }
            tracing::warn!(file = %file.display(), %problem, "the store was readable by others: made private (0600)");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(folder)?;
        }
    }
    Ok(())
}

/// The open store. Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Held for the life of the process that owns the fleet: one writer per store file.
    _lock: Option<std::sync::Arc<File>>,
}

static COMMITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) the store for the process that runs the fleet, and takes
    /// the store's lock so that a second bot on the same file refuses to start.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let lock = take_lock(path)?;
        private_files(path)?;
        let mut store = Store::connect(path, true).await?;
        sqlx::migrate!("./migrations").run(&store.pool).await?;
        store._lock = Some(std::sync::Arc::new(lock));
        Ok(store)
    }

    /// Write transactions committed by every store of this process so far (each statement
    /// outside a transaction is one): the bench's SQLite writes per second.
    pub fn commits() -> u64 {
        COMMITS.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes a consistent copy of the whole store to `to` (SQLite's `VACUUM INTO`: one
    /// read transaction, so writers carry on and the copy is whole), readable by its owner
    /// only. `to` must not exist.
    pub async fn snapshot(&self, to: &Path) -> Result<(), StoreError> {
        sqlx::query("VACUUM INTO ?")
            .bind(to.display().to_string())
            .execute(&self.pool)
            .await?;
        private_files(to)?;
        Ok(())
    }

    /// Opens an existing store to read it while a bot may be running (audit verify).
    pub async fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        Store::connect(path, false).await
    }

    async fn connect(path: &Path, create: bool) -> Result<Store, StoreError> {
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.lock_handle().await?.set_commit_hook(|| {
                        COMMITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        true
                    });
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Store { pool, _lock: None })
    }

    /// A value a chat surface keeps across restarts (Telegram's update offset).
    pub async fn surface_value(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM surface_state WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Keeps a surface's value.
    pub async fn set_surface_value(
        &self,
        key: &str,
        value: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO surface_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The kept values whose key starts with `prefix`, as (key, value).
    pub async fn surface_values(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT key, value FROM surface_state WHERE substr(key, 1, length(?)) = ? ORDER BY key",
        )
        .bind(prefix)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets a kept surface value.
    pub async fn clear_surface_value(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM surface_state WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// SQLite's own check of the whole file: `ok`, or what is broken.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.join("; "))
    }

    /// Flushes the write-ahead log into the main file; called on a clean shutdown.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn take_lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Folder {
            path: lock_path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(_) => Err(StoreError::Busy {
            path: path.to_path_buf(),
        }),
    }
}

/// Timestamps are stored as RFC 3339 text with milliseconds, which sorts correctly.
pub(crate) fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub(crate) fn parse_ts(
    what: &'static str,
    s: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("{s:?}: {e}"),
        })
}
