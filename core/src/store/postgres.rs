//! PostgreSQL: production, and several instances on one database.

use super::*;
use crate::report::Report;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Hand-written: the pool's options hold the password.
impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgStore")
    }
}

impl PgStore {
    /// Connect without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

impl PgStore {
    async fn no_backup(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::BackupUnsupported)
    }
}

impl_storage!(PgStore, Backend::Postgres, MIGRATOR, backup = no_backup);
