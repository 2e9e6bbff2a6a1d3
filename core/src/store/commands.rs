//! The commands layer's state: pending actions behind buttons (Confirm/Cancel claimed
//! once, Refresh reusable) and the platform events already handled (request ids).

use super::engine::{Engine, WriteTx, sql};
use super::{ActionRecord, NewAction, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait CommandStore: Send + Sync {
    async fn create_action(&self, action: &NewAction) -> Result<(), StoreError>;
    async fn action(&self, token: &str) -> Result<Option<ActionRecord>, StoreError>;
    /// Claim a single-use action for `user` (a platform user id) at `now`: the record
    /// when this call took it; `None` when it is unknown, expired, already claimed, or
    /// someone else's. Atomic: of two presses on any instances, one wins.
    async fn claim_action(
        &self,
        token: &str,
        user: &str,
        now: DateTime<Utc>,
        claimed_by: &str,
    ) -> Result<Option<ActionRecord>, StoreError>;
    /// Give back a claim made by `claimed_by` whose action failed, so the button works
    /// again; false when the claim is not (or no longer) that one.
    async fn release_action(&self, token: &str, claimed_by: &str) -> Result<bool, StoreError>;
    /// Record a platform event: false when it was handled before (a retry).
    async fn claim_request(
        &self,
        platform: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forget pending actions and handled events older than `before`; how many went.
    async fn prune_commands_state(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[async_trait]
impl<E: Engine> CommandStore for E {
    async fn create_action(&self, a: &NewAction) -> Result<(), StoreError> {
        sql(
            "INSERT INTO pending_actions (token, platform, platform_chat_id, allowed_user, command, \
             args, reusable, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&a.token)
        .bind(&a.platform)
        .bind(&a.platform_chat_id)
        .bind(&a.allowed_user)
        .bind(&a.command)
        .bind(&a.args)
        .bind(a.reusable)
        .bind(a.created_at)
        .bind(a.expires_at)
        .write(self)
        .await?;
        Ok(())
    }

    async fn action(&self, token: &str) -> Result<Option<ActionRecord>, StoreError> {
        Ok(sql(
            "SELECT token, platform, platform_chat_id, allowed_user, command, args, reusable, \
             created_at, expires_at, claimed_at, claimed_by FROM pending_actions WHERE token = $1",
        )
        .bind(token)
        .read_optional(self)
        .await?)
    }

    async fn claim_action(
        &self,
        token: &str,
        user: &str,
        now: DateTime<Utc>,
        claimed_by: &str,
    ) -> Result<Option<ActionRecord>, StoreError> {
        Ok(sql("UPDATE pending_actions SET claimed_at = $1, claimed_by = $2 \
             WHERE token = $3 AND NOT reusable AND claimed_at IS NULL AND expires_at > $1 \
             AND (allowed_user IS NULL OR allowed_user = $4) \
             RETURNING token, platform, platform_chat_id, allowed_user, command, args, reusable, \
             created_at, expires_at, claimed_at, claimed_by")
        .bind(now)
        .bind(claimed_by)
        .bind(token)
        .bind(user)
        .write_optional(self)
        .await?)
    }

    async fn release_action(&self, token: &str, claimed_by: &str) -> Result<bool, StoreError> {
        let n = sql("UPDATE pending_actions SET claimed_at = NULL, claimed_by = NULL \
             WHERE token = $1 AND claimed_by = $2")
        .bind(token)
        .bind(claimed_by)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn claim_request(
        &self,
        platform: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO handled_requests (platform, request_id, at) VALUES ($1, $2, $3) \
             ON CONFLICT (platform, request_id) DO NOTHING",
        )
        .bind(platform)
        .bind(request_id)
        .bind(now)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn prune_commands_state(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let actions = sql("DELETE FROM pending_actions WHERE expires_at < $1")
            .bind(before)
            .execute(&mut tx)
            .await?;
        let requests = sql("DELETE FROM handled_requests WHERE at < $1")
            .bind(before)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(actions + requests)
    }
}
