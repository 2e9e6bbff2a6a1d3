//! The scheduler's state: schedules added with `/schedule add`, subscribed targets,
//! runs claimed per (schedule, slot), the delivery outbox, and alert marks.

use super::engine::{Engine, WriteTx, sql};
use super::{Broadcast, ChatKey, StoreError, StoredSchedule, Subscription};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait ScheduleStore: Send + Sync {
    async fn add_schedule(&self, s: &StoredSchedule, created_by: &str) -> Result<bool, StoreError>;
    async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError>;
    /// Give a stored schedule a new name, with its past runs and deliveries (so no slot
    /// that went out under the old name goes out again): false when `name` is not stored
    /// or `new_name` is taken.
    async fn rename_schedule(&self, name: &str, new_name: &str) -> Result<bool, StoreError>;
    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError>;

    /// Subscribe a target to `kind` (`reports`, `alerts`); false when it already was
    /// (a disabled target is enabled again).
    async fn subscribe(&self, chat: &ChatKey, kind: &str) -> Result<bool, StoreError>;
    /// Remove the target's subscriptions of `kind`, or all of them; how many went.
    async fn unsubscribe(&self, chat: &ChatKey, kind: Option<&str>) -> Result<u64, StoreError>;
    /// The enabled targets of `kind`.
    async fn subscribers(&self, kind: &str) -> Result<Vec<Subscription>, StoreError>;
    /// Count one more refusal (403/404) in a row; returns the count.
    async fn target_failed(&self, target: &Subscription) -> Result<i64, StoreError>;
    async fn target_succeeded(&self, target: &Subscription) -> Result<(), StoreError>;
    async fn disable_target(&self, target: &Subscription) -> Result<(), StoreError>;

    /// Claim (schedule, slot) for `owner` until `lease_until`: true when it is ours, new
    /// or taken over from an owner whose lease expired before `now` without finishing.
    async fn claim_run(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn finish_run(&self, schedule: &str, slot: DateTime<Utc>) -> Result<(), StoreError>;
    /// Whether a run of (schedule, slot) exists at all (claimed by anyone).
    async fn run_exists(&self, schedule: &str, slot: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Unfinished runs with an expired lease and a slot at or after `since`.
    async fn stalled_runs(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError>;
    /// Claim one delivery; false when it was claimed before (sent, failed or in doubt).
    async fn claim_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn finish_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        status: &str,
    ) -> Result<(), StoreError>;
    /// The deliveries of a slot: (target, status).
    async fn deliveries(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Every enabled target, once (whatever it is subscribed to): a broadcast's targets.
    async fn all_targets(&self) -> Result<Vec<Subscription>, StoreError>;
    /// Keep a confirmed broadcast for the scheduler to fan out; returns its id.
    async fn create_broadcast(
        &self,
        text: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
    /// Broadcasts created at or after `since` whose run (`broadcast:<id>`) is not done.
    async fn open_broadcasts(&self, since: DateTime<Utc>) -> Result<Vec<Broadcast>, StoreError>;
    async fn finish_broadcast(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Claim the right to alert about (symbol, direction) now: true unless an alert went
    /// out after `not_since`.
    async fn claim_alert(
        &self,
        symbol: &str,
        direction: &str,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Undo a [`ScheduleStore::claim_alert`] made at `claimed_at` whose alert reached no
    /// chat, so that the next check may send it (a mark means "sent").
    async fn release_alert(
        &self,
        symbol: &str,
        direction: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
impl<E: Engine> ScheduleStore for E {
    async fn add_schedule(&self, s: &StoredSchedule, created_by: &str) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO schedules (name, cron, timezone, kind, symbols, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&s.name)
        .bind(&s.cron)
        .bind(&s.timezone)
        .bind(&s.kind)
        .bind(&s.symbols)
        .bind(created_by)
        .bind(Utc::now())
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError> {
        let n = sql("DELETE FROM schedules WHERE name = $1")
            .bind(name)
            .write(self)
            .await?;
        Ok(n > 0)
    }

    async fn rename_schedule(&self, name: &str, new_name: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let taken: Option<(String,)> = sql("SELECT name FROM schedules WHERE name = $1")
            .bind(new_name)
            .fetch_optional(&mut tx)
            .await?;
        if taken.is_some() {
            return Ok(false);
        }
        let renamed = sql("UPDATE schedules SET name = $1 WHERE name = $2")
            .bind(new_name)
            .bind(name)
            .execute(&mut tx)
            .await?;
        if renamed != 1 {
            return Ok(false);
        }
        for statement in [
            "UPDATE schedule_runs SET schedule = $1 WHERE schedule = $2",
            "UPDATE deliveries SET schedule = $1 WHERE schedule = $2",
        ] {
            sql(statement).bind(new_name).bind(name).execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
        Ok(
            sql("SELECT name, cron, timezone, kind, symbols FROM schedules ORDER BY name")
                .read_all(self)
                .await?,
        )
    }

    async fn subscribe(&self, chat: &ChatKey, kind: &str) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO subscriptions (platform, platform_chat_id, kind, created_at, failures, disabled) \
             VALUES ($1, $2, $3, $4, 0, FALSE) ON CONFLICT (platform, platform_chat_id, kind) DO NOTHING",
        )
        .bind(&chat.platform)
        .bind(&chat.platform_chat_id)
        .bind(kind)
        .bind(Utc::now())
        .write(self)
        .await?;
        if n == 0 {
            let again = sql("UPDATE subscriptions SET disabled = FALSE, failures = 0 \
                 WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 AND disabled")
            .bind(&chat.platform)
            .bind(&chat.platform_chat_id)
            .bind(kind)
            .write(self)
            .await?;
            return Ok(again == 1);
        }
        Ok(true)
    }

    async fn unsubscribe(&self, chat: &ChatKey, kind: Option<&str>) -> Result<u64, StoreError> {
        let n = match kind {
            Some(kind) => {
                sql("DELETE FROM subscriptions WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3")
                    .bind(&chat.platform)
                    .bind(&chat.platform_chat_id)
                    .bind(kind)
                    .write(self)
                    .await?
            }
            None => {
                sql("DELETE FROM subscriptions WHERE platform = $1 AND platform_chat_id = $2")
                    .bind(&chat.platform)
                    .bind(&chat.platform_chat_id)
                    .write(self)
                    .await?
            }
        };
        Ok(n)
    }

    async fn subscribers(&self, kind: &str) -> Result<Vec<Subscription>, StoreError> {
        Ok(sql("SELECT platform, platform_chat_id, kind FROM subscriptions \
             WHERE kind = $1 AND NOT disabled ORDER BY platform, platform_chat_id")
        .bind(kind)
        .read_all(self)
        .await?)
    }

    async fn target_failed(&self, t: &Subscription) -> Result<i64, StoreError> {
        let (n,): (i64,) = sql("UPDATE subscriptions SET failures = failures + 1 \
             WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 RETURNING CAST(failures AS BIGINT)")
        .bind(&t.platform)
        .bind(&t.platform_chat_id)
        .bind(&t.kind)
        .write_optional(self)
        .await?
        .unwrap_or((0,));
        Ok(n)
    }

    async fn target_succeeded(&self, t: &Subscription) -> Result<(), StoreError> {
        sql("UPDATE subscriptions SET failures = 0 \
             WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 AND failures > 0")
        .bind(&t.platform)
        .bind(&t.platform_chat_id)
        .bind(&t.kind)
        .write(self)
        .await?;
        Ok(())
    }

    async fn disable_target(&self, t: &Subscription) -> Result<(), StoreError> {
        sql("UPDATE subscriptions SET disabled = TRUE \
             WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3")
        .bind(&t.platform)
        .bind(&t.platform_chat_id)
        .bind(&t.kind)
        .write(self)
        .await?;
        Ok(())
    }

    async fn claim_run(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO schedule_runs (schedule, slot, owner, lease_until, status) \
             VALUES ($1, $2, $3, $4, 'running') ON CONFLICT (schedule, slot) DO NOTHING",
        )
        .bind(schedule)
        .bind(slot)
        .bind(owner)
        .bind(lease_until)
        .write(self)
        .await?;
        if n == 1 {
            return Ok(true);
        }
        let n = sql("UPDATE schedule_runs SET owner = $1, lease_until = $2 \
             WHERE schedule = $3 AND slot = $4 AND status = 'running' AND lease_until < $5")
        .bind(owner)
        .bind(lease_until)
        .bind(schedule)
        .bind(slot)
        .bind(now)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn finish_run(&self, schedule: &str, slot: DateTime<Utc>) -> Result<(), StoreError> {
        sql("UPDATE schedule_runs SET status = 'done' WHERE schedule = $1 AND slot = $2")
            .bind(schedule)
            .bind(slot)
            .write(self)
            .await?;
        Ok(())
    }

    async fn run_exists(&self, schedule: &str, slot: DateTime<Utc>) -> Result<bool, StoreError> {
        let row: Option<(String,)> =
            sql("SELECT status FROM schedule_runs WHERE schedule = $1 AND slot = $2")
                .bind(schedule)
                .bind(slot)
                .read_optional(self)
                .await?;
        Ok(row.is_some())
    }

    async fn stalled_runs(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        Ok(sql("SELECT schedule, slot FROM schedule_runs \
             WHERE status = 'running' AND lease_until < $1 AND slot >= $2 ORDER BY slot")
        .bind(now)
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn claim_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO deliveries (schedule, slot, target, status, at) VALUES ($1, $2, $3, 'sending', $4) \
             ON CONFLICT (schedule, slot, target) DO NOTHING",
        )
        .bind(schedule)
        .bind(slot)
        .bind(target)
        .bind(now)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn finish_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        sql("UPDATE deliveries SET status = $1 WHERE schedule = $2 AND slot = $3 AND target = $4")
            .bind(status)
            .bind(schedule)
            .bind(slot)
            .bind(target)
            .write(self)
            .await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sql("SELECT target, status FROM deliveries WHERE schedule = $1 AND slot = $2 ORDER BY target")
                .bind(schedule)
                .bind(slot)
                .read_all(self)
                .await?,
        )
    }

    async fn all_targets(&self) -> Result<Vec<Subscription>, StoreError> {
        Ok(sql(
            "SELECT platform, platform_chat_id, MIN(kind) AS kind FROM subscriptions \
             WHERE NOT disabled GROUP BY platform, platform_chat_id ORDER BY platform, platform_chat_id",
        )
        .read_all(self)
        .await?)
    }

    async fn create_broadcast(
        &self,
        text: &str,
        created_by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let (id,): (i64,) =
            sql("INSERT INTO broadcasts (created_at, created_by, text) VALUES ($1, $2, $3) RETURNING id")
                .bind(at)
                .bind(created_by)
                .bind(text)
                .write_one(self)
                .await?;
        Ok(id)
    }

    async fn open_broadcasts(&self, since: DateTime<Utc>) -> Result<Vec<Broadcast>, StoreError> {
        Ok(sql(
            "SELECT b.id, b.created_at, b.created_by, b.text FROM broadcasts b \
             WHERE b.finished_at IS NULL AND b.created_at >= $1 AND NOT EXISTS (\
             SELECT 1 FROM schedule_runs r WHERE r.schedule = 'broadcast:' || b.id AND r.status = 'done') \
             ORDER BY b.id",
        )
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn finish_broadcast(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sql("UPDATE broadcasts SET finished_at = $1 WHERE id = $2 AND finished_at IS NULL")
            .bind(at)
            .bind(id)
            .write(self)
            .await?;
        Ok(())
    }

    async fn claim_alert(
        &self,
        symbol: &str,
        direction: &str,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO alert_marks (symbol, direction, last_sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT (symbol, direction) DO NOTHING",
        )
        .bind(symbol)
        .bind(direction)
        .bind(now)
        .write(self)
        .await?;
        if n == 1 {
            return Ok(true);
        }
        let n = sql("UPDATE alert_marks SET last_sent_at = $1 \
             WHERE symbol = $2 AND direction = $3 AND last_sent_at < $4")
        .bind(now)
        .bind(symbol)
        .bind(direction)
        .bind(not_since)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn release_alert(
        &self,
        symbol: &str,
        direction: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The mark replaced by the claim was past its cooldown: no mark is the same.
        sql("DELETE FROM alert_marks WHERE symbol = $1 AND direction = $2 AND last_sent_at = $3")
            .bind(symbol)
            .bind(direction)
            .bind(claimed_at)
            .write(self)
            .await?;
        Ok(())
    }
}
