//! PostgreSQL: production, and several instances on one database.

use super::*;
use crate::report::Report;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long the first connection may take before `open` gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The same pool: PostgreSQL serializes conflicting writes itself.
    writer: PgPool,
}

/// Hand-written: the pool's options hold the password.
impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgStore")
    }
}

impl PgStore {
    /// Connect without migrating. One connection is tried first, so that a refused
    /// connection, a missing database or a wrong password fail at once with a sentence
    /// that says which (the pool would retry until its timeout).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        use sqlx::{ConnectOptions, Connection};
        let options = PgConnectOptions::from_str(url).map_err(|_| {
            StoreError::BadUrl("a PostgreSQL URL looks like postgres://user:password@host:5432/database")
        })?;
        let target = PgTarget::of(&options);
        let first = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| StoreError::postgres(&target, PgFailure::Timeout))?
            .map_err(|e| StoreError::postgres(&target, PgFailure::of(&e)))?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| StoreError::postgres(&target, PgFailure::of(&e)))?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.writer.begin().await
    }
}

impl PgStore {
    async fn no_backup(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::BackupUnsupported)
    }
}

impl_storage!(PgStore, Backend::Postgres, MIGRATOR, backup = no_backup);
