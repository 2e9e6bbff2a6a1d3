//! Private notices to an account's owner (`owner_notices`): written before sending,
//! claimed by one sender at a time, marked sent after. A sender that dies mid-send
//! leaves its claim to expire, and another sends the notice then: a notice is delayed
//! by a crash or a platform outage, never lost (and, in the rare case of a crash
//! between sending and marking, sent twice rather than not at all).

use super::StoreError;
use super::engine::{Engine, sql};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A notice due to be sent, as claimed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OwnerNoticeRecord {
    pub id: i64,
    pub user_id: i64,
    /// The notice as JSON.
    pub payload: String,
    /// Sends tried and failed before this one.
    pub attempts: i32,
}

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Queue a notice for `user_id`, due now: its id.
    async fn queue_notice(&self, user_id: i64, payload: &str, now: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Claim up to `limit` due notices (pending, due by `now`, no live claim) for `by`
    /// until `until`, oldest first: those this caller now holds.
    async fn claim_notices(
        &self,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OwnerNoticeRecord>, StoreError>;
    /// Mark a claimed notice sent: false when `by` no longer held it.
    async fn notice_sent(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// A claimed notice did not go: counted, and due again at `retry_at`; `None` gives
    /// it up (logged by the caller).
    async fn notice_failed(
        &self,
        id: i64,
        by: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Notices not sent yet (pending), for the operator's status.
    async fn pending_notices(&self) -> Result<i64, StoreError>;
}

#[async_trait]
impl<E: Engine> NoticeStore for E {
    async fn queue_notice(&self, user_id: i64, payload: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let (id,): (i64,) = sql(
            "INSERT INTO owner_notices (user_id, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(user_id)
        .bind(payload)
        .bind(now)
        .write_one(self)
        .await?;
        Ok(id)
    }

    async fn claim_notices(
        &self,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OwnerNoticeRecord>, StoreError> {
        let due: Vec<OwnerNoticeRecord> = sql("SELECT id, user_id, payload, attempts FROM owner_notices \
             WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (claim_until IS NULL OR claim_until < $1) ORDER BY id LIMIT $2")
        .bind(now)
        .bind(limit)
        .read_all(self)
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for notice in due {
            // The same conditions again: another sender may have claimed it since.
            let n = sql(
                "UPDATE owner_notices SET claimed_by = $1, claim_until = $2 WHERE id = $3 \
                 AND status = 'pending' AND next_attempt_at <= $4 \
                 AND (claim_until IS NULL OR claim_until < $4)",
            )
            .bind(by)
            .bind(until)
            .bind(notice.id)
            .bind(now)
            .write(self)
            .await?;
            if n == 1 {
                claimed.push(notice);
            }
        }
        Ok(claimed)
    }

    async fn notice_sent(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE owner_notices SET status = 'sent', sent_at = $1, claimed_by = NULL, claim_until = NULL \
             WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
        )
        .bind(now)
        .bind(id)
        .bind(by)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn notice_failed(
        &self,
        id: i64,
        by: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        match retry_at {
            Some(at) => {
                sql(
                    "UPDATE owner_notices SET attempts = attempts + 1, next_attempt_at = $1, \
                     claimed_by = NULL, claim_until = NULL WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
                )
                .bind(at)
                .bind(id)
                .bind(by)
                .write(self)
                .await?
            }
            None => {
                sql(
                    "UPDATE owner_notices SET attempts = attempts + 1, status = 'given_up', \
                     claimed_by = NULL, claim_until = NULL WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
                )
                .bind(id)
                .bind(by)
                .write(self)
                .await?
            }
        };
        Ok(())
    }

    async fn pending_notices(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sql("SELECT COUNT(*) FROM owner_notices WHERE status = 'pending'")
            .read_one(self)
            .await?;
        Ok(n)
    }
}
