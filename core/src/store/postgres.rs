//! PostgreSQL: production, and several instances on one database.

use super::engine::{Engine, Record, Stmt, WriteTx, arguments};
use super::*;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, Postgres};
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
}

#[async_trait]
impl Storage for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await.map_err(StoreError::migration)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    async fn backup(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::BackupUnsupported)
    }

    async fn size_bytes(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }
}

/// `pool` and `writer` are the same pool here; writes still name the writer, so that
/// the two engines run every statement the same way.
impl Engine for PgStore {
    type Tx = sqlx::Transaction<'static, Postgres>;

    async fn read_one<T: Record>(&self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_one(&self.pool)
            .await
    }

    async fn read_optional<T: Record>(&self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_optional(&self.pool)
            .await
    }

    async fn read_all<T: Record>(&self, s: Stmt<'_>) -> Result<Vec<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_all(&self.pool)
            .await
    }

    async fn write(&self, s: Stmt<'_>) -> Result<u64, sqlx::Error> {
        let done = sqlx::query_with(s.sql, arguments::<Postgres>(&s.args)?)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn write_one<T: Record>(&self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_one(&self.writer)
            .await
    }

    async fn write_optional<T: Record>(&self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_optional(&self.writer)
            .await
    }

    async fn begin_write(&self) -> Result<Self::Tx, sqlx::Error> {
        self.writer.begin().await
    }
}

impl WriteTx for sqlx::Transaction<'static, Postgres> {
    async fn execute(&mut self, s: Stmt<'_>) -> Result<u64, sqlx::Error> {
        let done = sqlx::query_with(s.sql, arguments::<Postgres>(&s.args)?)
            .execute(&mut **self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn fetch_one<T: Record>(&mut self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_one(&mut **self)
            .await
    }

    async fn fetch_optional<T: Record>(&mut self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Postgres>(&s.args)?)
            .fetch_optional(&mut **self)
            .await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        sqlx::Transaction::commit(self).await
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        sqlx::Transaction::rollback(self).await
    }
}
