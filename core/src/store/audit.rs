//! The audit log: one row per command run (who, where, what, outcome; secrets never).

use super::engine::{Engine, sql};
use super::{AuditEntry, AuditRecord, StoreError};
use async_trait::async_trait;

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;
    /// The newest `limit` audit rows, newest first.
    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
}

#[async_trait]
impl<E: Engine> AuditStore for E {
    async fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let (id,): (i64,) = sql(
            "INSERT INTO audit_log (at, platform, platform_user_id, platform_chat_id, command, \
             args, outcome, detail, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(e.at)
        .bind(&e.platform)
        .bind(&e.platform_user_id)
        .bind(&e.platform_chat_id)
        .bind(&e.command)
        .bind(&e.args)
        .bind(e.outcome.as_str())
        .bind(&e.detail)
        .bind(e.duration_ms)
        .write_one(self)
        .await?;
        Ok(id)
    }

    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(sql(
            "SELECT id, at, platform, platform_user_id, platform_chat_id, command, args, \
             outcome, detail, duration_ms FROM audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .read_all(self)
        .await?)
    }
}
