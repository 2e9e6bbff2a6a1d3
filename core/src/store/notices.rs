//! Private notices to an account's owner (`owner_notices`): written before sending,
//! claimed by one sender at a time, marked sent after. A sender that dies mid-send
//! leaves its claim to expire, and another sends the notice then: a notice is delayed
//! by a crash or a platform outage, never lost (and, in the rare case of a crash
//! between sending and marking, sent twice rather than not at all).

use super::StoreError;
use super::engine::{Engine, WriteTx, sql};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A notice due to be sent, as claimed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OwnerNoticeRecord {
    pub id: i64,
    pub user_id: i64,
    /// The notice as JSON.
    pub payload: String,
    /// Sends tried, this one included (counted when claimed: a send that crashes its
    /// sender counts too).
    pub attempts: i32,
}

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Queue a notice for `user_id`, due now: its id.
    async fn queue_notice(&self, user_id: i64, payload: &str, now: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Claim risk notice `kind` of `user_id` for trading day `day` (`risk_notices`: one
    /// per account, day and kind) and, if this caller got it, queue `payload` in the same
    /// transaction: true for the one caller that did. Never claimed without being queued.
    async fn claim_and_queue_risk_notice(
        &self,
        user_id: i64,
        day: &str,
        kind: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Claim up to `limit` due notices (pending, due by `now`, no live claim) for `by`
    /// until `until`, oldest first, counting an attempt each: those this caller now
    /// holds.
    async fn claim_notices(
        &self,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OwnerNoticeRecord>, StoreError>;
    /// Mark a claimed notice sent: false when `by` no longer held it.
    async fn notice_sent(&self, id: i64, by: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// A claimed notice did not go: due again at `retry_at`; `None` gives it up (logged
    /// by the caller).
    async fn notice_failed(
        &self,
        id: i64,
        by: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;
    /// Notices not sent yet (pending), for the operator's status.
    async fn pending_notices(&self) -> Result<i64, StoreError>;
    /// Notices given up since `since`, for the operator's status.
    async fn given_up_notices(&self, since: DateTime<Utc>) -> Result<i64, StoreError>;
    /// Delete sent notices queued before `sent_before` and given-up ones queued before
    /// `given_up_before`: how many.
    async fn prune_notices(
        &self,
        sent_before: DateTime<Utc>,
        given_up_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
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

    async fn claim_and_queue_risk_notice(
        &self,
        user_id: i64,
        day: &str,
        kind: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let claimed = sql(
            "INSERT INTO risk_notices (user_id, day, kind, sent_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, day, kind) DO NOTHING",
        )
        .bind(user_id)
        .bind(day)
        .bind(kind)
        .bind(now)
        .execute(&mut tx)
        .await?;
        if claimed != 1 {
            return Ok(false);
        }
        sql("INSERT INTO owner_notices (user_id, payload, created_at, next_attempt_at) VALUES ($1, $2, $3, $3)")
            .bind(user_id)
            .bind(payload)
            .bind(now)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(true)
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
                "UPDATE owner_notices SET claimed_by = $1, claim_until = $2, attempts = attempts + 1 \
                 WHERE id = $3 AND status = 'pending' AND next_attempt_at <= $4 \
                 AND (claim_until IS NULL OR claim_until < $4)",
            )
            .bind(by)
            .bind(until)
            .bind(notice.id)
            .bind(now)
            .write(self)
            .await?;
            if n == 1 {
                claimed.push(OwnerNoticeRecord {
                    attempts: notice.attempts.saturating_add(1),
                    ..notice
                });
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
                    "UPDATE owner_notices SET next_attempt_at = $1, claimed_by = NULL, claim_until = NULL \
                     WHERE id = $2 AND claimed_by = $3 AND status = 'pending'",
                )
                .bind(at)
                .bind(id)
                .bind(by)
                .write(self)
                .await?
            }
            None => {
                sql(
                    "UPDATE owner_notices SET status = 'given_up', claimed_by = NULL, claim_until = NULL \
                     WHERE id = $1 AND claimed_by = $2 AND status = 'pending'",
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

    async fn given_up_notices(&self, since: DateTime<Utc>) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sql("SELECT COUNT(*) FROM owner_notices WHERE status = 'given_up' AND created_at >= $1")
                .bind(since)
                .read_one(self)
                .await?;
        Ok(n)
    }

    async fn prune_notices(
        &self,
        sent_before: DateTime<Utc>,
        given_up_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(sql(
            "DELETE FROM owner_notices WHERE (status = 'sent' AND created_at < $1) \
             OR (status = 'given_up' AND created_at < $2)",
        )
        .bind(sent_before)
        .bind(given_up_before)
        .write(self)
        .await?)
    }
}
