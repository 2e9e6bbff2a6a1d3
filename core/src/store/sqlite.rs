//! The embedded default: a SQLite file (WAL) under `data/`.

use super::*;
use crate::report::Report;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Open (creating file and directory when missing) without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory
            && let Some(dir) = options
                .get_filename()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(if in_memory { 1 } else { max_connections })
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }
}

/// Whether `path` is a Chainsignal SQLite database (opened read-only, nothing written).
pub async fn check_backup(path: &std::path::Path) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
        .execute(&mut conn)
        .await?;
    sqlx::query("SELECT COUNT(*) FROM reports")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

impl SqliteStore {
    async fn vacuum_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let target = path.to_str().ok_or_else(|| {
            StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "backup path is not UTF-8",
            ))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl_storage!(SqliteStore, Backend::Sqlite, MIGRATOR, backup = vacuum_into);
