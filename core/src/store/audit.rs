//! The audit log: one row per command run, button press or denial (who, where, what,
//! outcome; secrets never). Append-only: this trait has no method that changes or
//! deletes a row, and the migration `0006_audit.sql` makes the database refuse it too.

use super::engine::{Engine, sql};
use super::{AuditEntry, AuditFilter, AuditRecord, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// The columns of [`AuditRecord`], in one place.
macro_rules! columns {
    () => {
        "id, at, platform, platform_user_id, platform_chat_id, command, args, outcome, detail, \
         duration_ms, account_id, request_id"
    };
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;
    /// The newest `limit` audit rows, newest first.
    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// The newest `limit` rows of an account: those of every identity the account has
    /// now (linked identities bring their older rows), newest first by time.
    async fn account_audit(&self, account_id: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// Rows matching `filter`, newest first by time (`/admin audit`).
    async fn search_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError>;
    /// Every row at or after `since`, oldest first (`chainsignal export audit`).
    async fn audit_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AuditRecord>, StoreError>;
    /// The account (users.id) of a platform identity, if it was ever seen.
    async fn account_of(&self, platform: &str, platform_user_id: &str) -> Result<Option<i64>, StoreError>;
}

#[async_trait]
impl<E: Engine> AuditStore for E {
    async fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
        let (id,): (i64,) = sql(
            "INSERT INTO audit_log (at, platform, platform_user_id, platform_chat_id, command, \
             args, outcome, detail, duration_ms, account_id, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
        .bind(e.account_id)
        .bind(&e.request_id)
        .write_one(self)
        .await?;
        Ok(id)
    }

    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(sql(concat!(
            "SELECT ",
            columns!(),
            " FROM audit_log ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .read_all(self)
        .await?)
    }

    async fn account_audit(&self, account_id: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        Ok(sql(
            "SELECT a.id, a.at, a.platform, a.platform_user_id, a.platform_chat_id, a.command, \
             a.args, a.outcome, a.detail, a.duration_ms, a.account_id, a.request_id \
             FROM audit_log a JOIN user_identities i \
             ON i.platform = a.platform AND i.platform_user_id = a.platform_user_id \
             WHERE i.user_id = $1 ORDER BY a.at DESC, a.id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(limit)
        .read_all(self)
        .await?)
    }

    async fn search_audit(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        let since = f.since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let limit = f.limit.max(0);
        let rows = match (f.account_id, f.command.as_deref()) {
            (Some(account), command) => {
                sql(
                    "SELECT a.id, a.at, a.platform, a.platform_user_id, a.platform_chat_id, a.command, \
                     a.args, a.outcome, a.detail, a.duration_ms, a.account_id, a.request_id \
                     FROM audit_log a JOIN user_identities i \
                     ON i.platform = a.platform AND i.platform_user_id = a.platform_user_id \
                     WHERE i.user_id = $1 AND a.at >= $2 AND ($3 = '' OR a.command = $3) \
                     ORDER BY a.at DESC, a.id DESC LIMIT $4",
                )
                .bind(account)
                .bind(since)
                .bind(command.unwrap_or(""))
                .bind(limit)
                .read_all(self)
                .await?
            }
            (None, command) => {
                sql(concat!(
                    "SELECT ",
                    columns!(),
                    " FROM audit_log WHERE at >= $1 AND ($2 = '' OR command = $2) \
                     ORDER BY at DESC, id DESC LIMIT $3"
                ))
                .bind(since)
                .bind(command.unwrap_or(""))
                .bind(limit)
                .read_all(self)
                .await?
            }
        };
        Ok(rows)
    }

    async fn audit_since(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AuditRecord>, StoreError> {
        let since = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        Ok(sql(concat!(
            "SELECT ",
            columns!(),
            " FROM audit_log WHERE at >= $1 ORDER BY at, id"
        ))
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn account_of(&self, platform: &str, platform_user_id: &str) -> Result<Option<i64>, StoreError> {
        let found: Option<(i64,)> =
            sql("SELECT user_id FROM user_identities WHERE platform = $1 AND platform_user_id = $2")
                .bind(platform)
                .bind(platform_user_id)
                .read_optional(self)
                .await?;
        Ok(found.map(|(id,)| id))
    }
}
