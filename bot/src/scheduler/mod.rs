//! The scheduler: posts scheduled reports and market alerts to subscribed chats and
//! webhooks. Time comes from core's [`Clock`]; each (schedule, slot) is claimed in the
//! database before anything is sent and each delivery is recorded, so a slot goes out
//! once per target whatever the number of instances, and a crash mid-fan-out resumes
//! with the remaining targets without posting twice.

mod alerts;
pub mod monitor;
pub mod notices;
pub mod outbox;

pub use crate::delivery::{Outbox, Outboxes, SendError};

use crate::app::App;
use crate::shutdown::Shutdown;
use chainsignal_commands::report_view::report_reply;
use chainsignal_commands::summary::summarize;
use chainsignal_commands::{Block, I18n, Locale, Reply};
use chainsignal_core::Clock;
use chainsignal_core::config::{AlertsConfig, SchedulerConfig};
use chainsignal_core::report::Report;
use chainsignal_core::schedule::{ScheduleDef, ScheduleKind};
use chainsignal_core::store::{Broadcast, ChatKey, ReportOrigin, Store, Subscription};
use chrono::{DateTime, Duration, Utc};
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::Mutex;

/// What one tick did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// (schedule, slot) runs this instance carried out.
    pub runs: Vec<(String, DateTime<Utc>)>,
    pub delivered: usize,
    pub failed: usize,
    pub skipped_missed: usize,
    pub alerts: usize,
    /// Broadcasts this instance fanned out (or finished fanning out).
    pub broadcasts: Vec<i64>,
    /// Owners reminded of exchange keys older than `vault.max_age_days`.
    pub key_reminders: usize,
}

/// The runs of broadcasts are named `broadcast:<id>`.
const BROADCAST_PREFIX: &str = "broadcast:";

pub struct Scheduler {
    app: App,
    clock: Arc<dyn Clock>,
    owner: String,
    config: SchedulerConfig,
    alerts: AlertsConfig,
    outboxes: Outboxes,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_tick: Option<DateTime<Utc>>,
    last_alert_check: Option<DateTime<Utc>>,
    last_prune: Option<DateTime<Utc>>,
    last_key_reminders: Option<DateTime<Utc>>,
}

impl Scheduler {
    /// `owner` names this instance in the claims (unique per process).
    pub fn new(app: &App, clock: Arc<dyn Clock>, outboxes: Outboxes, owner: impl Into<String>) -> Self {
        Self {
            app: app.clone(),
            clock,
            owner: owner.into(),
            config: app.config.scheduler.clone(),
            alerts: app.config.alerts.clone(),
            outboxes,
            state: Mutex::default(),
        }
    }

    fn store(&self) -> &Store {
        &self.app.store
    }

    fn i18n(&self) -> &I18n {
        &self.app.i18n
    }

    /// One more error for `/admin status` (a kind, never a message).
    fn mark_error(&self, kind: &str) {
        self.app.commands.services().status.record_error(kind);
    }

    /// Make the configured webhooks targets of the reports.
    pub async fn register_webhooks(&self, ids: &[String]) {
        for id in ids {
            let key = ChatKey {
                platform: "discord-webhook".into(),
                platform_chat_id: id.clone(),
            };
            if let Err(e) = self.store().subscribe(&key, "reports").await {
                tracing::error!(error = %e, "could not register a Discord webhook target");
            }
        }
    }

    /// Config schedules, then those of the database.
    async fn schedules(&self) -> Vec<ScheduleDef> {
        let mut out = self.app.commands.services().schedules.clone();
        match self.store().schedules().await {
            Ok(stored) => out.extend(stored.iter().filter_map(|s| {
                ScheduleDef::from_stored(s, &self.app.config.market.quote)
                    .inspect_err(
                        |e| tracing::warn!(schedule = %s.name, error = %e, "stored schedule ignored"),
                    )
                    .ok()
            })),
            Err(e) => tracing::error!(error = %e, "cannot read the stored schedules"),
        }
        out
    }

    /// Run everything due at the clock's now: slots since the last tick (at start-up,
    /// those within the grace window), stalled runs of other instances, alerts.
    pub async fn tick(&self) -> TickReport {
        let now = self.clock.now();
        let grace = Duration::minutes(self.config.grace_minutes);
        let mut report = TickReport::default();
        let schedules = self.schedules().await;
        let from = {
            let state = self.state.lock().await;
            state.last_tick.unwrap_or(now - grace).min(now)
        };
        let first_tick = self.state.lock().await.last_tick.is_none();
        for def in &schedules {
            if first_tick
                && let Some(missed) = def.cron.last_at_or_before(def.tz, now - grace, Duration::days(1))
                && !self.store().run_exists(&def.name, missed).await.unwrap_or(true)
            {
                tracing::info!(schedule = %def.name, slot = %missed, "missed slot is older than the grace window; skipped");
                report.skipped_missed += 1;
            }
            let mut slots = def.cron.slots_between(def.tz, from, now);
            if first_tick && slots.len() > 1 {
                // After a stop, a schedule catches up once, with its latest slot.
                let older = slots.len() - 1;
                tracing::info!(schedule = %def.name, older, "older missed slots skipped; the latest runs");
                report.skipped_missed += older;
                slots.drain(..older);
            }
            for slot in slots {
                self.run_slot(def, slot, now, &mut report).await;
            }
        }
        // Runs left unfinished by an instance that stopped: resume the remaining targets.
        let resume_since = now - grace.max(Duration::hours(1));
        match self.store().stalled_runs(resume_since, now).await {
            Ok(stalled) => {
                for (name, slot) in stalled {
                    if name.starts_with(BROADCAST_PREFIX) {
                        continue; // resumed below, with the open broadcasts
                    }
                    match schedules.iter().find(|d| d.name == name) {
                        Some(def) => {
                            tracing::warn!(schedule = %name, %slot, "resuming an unfinished run");
                            self.run_slot(def, slot, now, &mut report).await;
                        }
                        None => {
                            tracing::warn!(schedule = %name, "an unfinished run of a schedule that is gone")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot look for unfinished runs"),
        }
        self.run_broadcasts(now, &mut report).await;
        self.state.lock().await.last_tick = Some(now);
        self.prune(now).await;
        report.key_reminders = self.remind_old_keys(now).await;
        if self.alerts.enabled {
            let due = {
                let mut state = self.state.lock().await;
                let interval = Duration::seconds(self.alerts.interval_secs as i64);
                let due = state.last_alert_check.is_none_or(|t| now - t >= interval);
                if due {
                    state.last_alert_check = Some(now);
                }
                due
            };
            if due {
                report.alerts = guarded("alerts", alerts::check(self, now)).await.unwrap_or(0);
            }
        }
        report
    }

    /// Once an hour: forget buttons that expired a day ago, platform events older than a
    /// day (a retry comes within minutes), `/keys add` form links expired a day ago, and
    /// rate-limit entries back to full.
    async fn prune(&self, now: DateTime<Utc>) {
        {
            let mut state = self.state.lock().await;
            if state.last_prune.is_some_and(|t| now - t < Duration::hours(1)) {
                return;
            }
            state.last_prune = Some(now);
        }
        self.app.commands.services().access.forget_idle();
        match self.store().prune_commands_state(now - Duration::days(1)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "pruned expired buttons and old request ids"),
            Err(e) => tracing::warn!(error = %e, "could not prune expired buttons"),
        }
        match self.store().prune_key_forms(now - Duration::days(1)).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "pruned expired key form links"),
            Err(e) => tracing::warn!(error = %e, "could not prune expired key form links"),
        }
        // Owner notices carry positions and PnL: kept a month once sent (the audit of
        // what was told), three once given up.
        match self
            .store()
            .prune_notices(now - Duration::days(30), now - Duration::days(90))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "pruned old owner notices"),
            Err(e) => tracing::warn!(error = %e, "could not prune old owner notices"),
        }
    }

    /// Once an hour: the weekly reminder to owners of old exchange keys (claimed per
    /// account and ISO week in the database: one a week whatever the instances).
    async fn remind_old_keys(&self, now: DateTime<Utc>) -> usize {
        {
            let mut state = self.state.lock().await;
            if state
                .last_key_reminders
                .is_some_and(|t| now - t < Duration::hours(1))
            {
                return 0;
            }
            state.last_key_reminders = Some(now);
        }
        let services = self.app.commands.services();
        guarded(
            "key reminders",
            chainsignal_commands::key_posture::remind_old_keys(services, now, services.key_max_age_days),
        )
        .await
        .unwrap_or(0)
    }

    async fn run_slot(
        &self,
        def: &ScheduleDef,
        slot: DateTime<Utc>,
        now: DateTime<Utc>,
        out: &mut TickReport,
    ) {
        let lease = now + Duration::seconds(self.config.lease_secs);
        match self
            .store()
            .claim_run(&def.name, slot, &self.owner, now, lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(schedule = %def.name, error = %e, "cannot claim a slot; not posting");
                self.mark_error("scheduler:claim");
                return;
            }
        }
        tracing::info!(schedule = %def.name, %slot, owner = %self.owner, "posting a scheduled report");
        out.runs.push((def.name.clone(), slot));
        let services = self.app.commands.services();
        let symbols = if def.symbols.is_empty() {
            services.watchlist.clone()
        } else {
            def.symbols.clone()
        };
        let report = services.reports.build(&symbols).await;
        if !report.rows.is_empty() {
            let origin = ReportOrigin {
                origin: format!("schedule:{}", def.name),
                ..Default::default()
            };
            if let Err(e) = self.store().save_report(&report, &origin).await {
                tracing::error!(error = %e, "could not store a scheduled report");
            }
        }
        let targets = match self.store().subscribers("reports").await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the subscribers; the run stays open for a retry");
                self.mark_error("scheduler:subscribers");
                return;
            }
        };
        let mut replies: HashMap<Locale, Reply> = HashMap::new();
        for target in targets {
            let key = format!("{}:{}", target.platform, target.platform_chat_id);
            match self
                .store()
                .claim_delivery(&def.name, slot, &key, self.clock.now())
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a delivery; skipped");
                    continue;
                }
            }
            let locale = self.locale_of(&target).await;
            let reply = match replies.get(&locale) {
                Some(r) => r.clone(),
                None => {
                    let r = self.scheduled_reply(def, &report, locale).await;
                    replies.insert(locale, r.clone());
                    r
                }
            };
            let result = self.send(&target, &reply).await;
            let outcome = if result.is_ok() { "sent" } else { "failed" };
            metrics::counter!("chainsignal_scheduled_posts_total", "outcome" => outcome).increment(1);
            let status = match result {
                Ok(()) => {
                    out.delivered += 1;
                    "sent"
                }
                Err(_) => {
                    out.failed += 1;
                    "failed"
                }
            };
            if let Err(e) = self.store().finish_delivery(&def.name, slot, &key, status).await {
                tracing::error!(error = %e, "could not record a delivery");
            }
        }
        if let Err(e) = self.store().finish_run(&def.name, slot).await {
            tracing::error!(error = %e, "could not close a run");
        }
    }

    /// Fan out the confirmed `/admin broadcast`s: each is a run `broadcast:<id>` (slot:
    /// the epoch) claimed like a schedule's slot, with one delivery claimed per target,
    /// so it goes out once per target whatever the number of instances, and an instance
    /// that stops mid-way is relieved when its lease expires.
    async fn run_broadcasts(&self, now: DateTime<Utc>, out: &mut TickReport) {
        let open = match self.store().open_broadcasts(now - Duration::days(1)).await {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the broadcasts");
                self.mark_error("scheduler:broadcasts");
                return;
            }
        };
        for broadcast in open {
            self.run_broadcast(&broadcast, now, out).await;
        }
    }

    async fn run_broadcast(&self, b: &Broadcast, now: DateTime<Utc>, out: &mut TickReport) {
        let name = format!("{BROADCAST_PREFIX}{}", b.id);
        let slot = DateTime::<Utc>::UNIX_EPOCH;
        let lease = now + Duration::seconds(self.config.lease_secs);
        match self.store().claim_run(&name, slot, &self.owner, now, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::error!(broadcast = b.id, error = %e, "cannot claim a broadcast; not posting");
                self.mark_error("scheduler:claim");
                return;
            }
        }
        tracing::info!(broadcast = b.id, owner = %self.owner, "posting a broadcast");
        out.broadcasts.push(b.id);
        let targets = match self.store().all_targets().await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the targets; the broadcast stays open for a retry");
                self.mark_error("scheduler:subscribers");
                return;
            }
        };
        let mut replies: HashMap<Locale, Reply> = HashMap::new();
        for target in targets {
            let key = format!("{}:{}", target.platform, target.platform_chat_id);
            match self
                .store()
                .claim_delivery(&name, slot, &key, self.clock.now())
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim a delivery; skipped");
                    continue;
                }
            }
            let locale = self.locale_of(&target).await;
            let reply = replies
                .entry(locale)
                .or_insert_with(|| {
                    Reply::default()
                        .block(Block::Title(self.i18n().t(locale, "broadcast-title")))
                        .block(Block::Paragraph(b.text.clone()))
                })
                .clone();
            let status = match self.send(&target, &reply).await {
                Ok(()) => {
                    out.delivered += 1;
                    "sent"
                }
                Err(_) => {
                    out.failed += 1;
                    "failed"
                }
            };
            metrics::counter!("chainsignal_broadcast_posts_total", "outcome" => status).increment(1);
            if let Err(e) = self.store().finish_delivery(&name, slot, &key, status).await {
                tracing::error!(error = %e, "could not record a delivery");
            }
        }
        if let Err(e) = self.store().finish_run(&name, slot).await {
            tracing::error!(error = %e, "could not close a broadcast run");
        }
        if let Err(e) = self.store().finish_broadcast(b.id, self.clock.now()).await {
            tracing::warn!(error = %e, "could not mark a broadcast finished");
        }
    }

    async fn locale_of(&self, target: &Subscription) -> Locale {
        let default = self.app.commands.services().default_locale;
        if target.platform == "discord-webhook" {
            return default;
        }
        let key = ChatKey {
            platform: target.platform.clone(),
            platform_chat_id: target.platform_chat_id.clone(),
        };
        match self.store().ensure_chat(&key, default.code()).await {
            Ok(chat) => Locale::from_tag(&chat.locale).unwrap_or(default),
            Err(_) => default,
        }
    }

    async fn scheduled_reply(&self, def: &ScheduleDef, report: &Report, locale: Locale) -> Reply {
        let mut reply = report_reply(report, locale, self.i18n());
        reply.blocks.insert(
            0,
            Block::Title(
                self.i18n()
                    .tr(locale, "scheduled-report-title", &[("name", &def.name)]),
            ),
        );
        if def.kind == ScheduleKind::ReportAndSummary && !report.rows.is_empty() {
            match summarize(self.app.commands.services(), report, locale, None).await {
                Ok(summary) => reply.blocks.extend(summary.reply.blocks),
                Err(e) => tracing::warn!(error = %e, "no summary for a scheduled report"),
            }
        }
        reply
    }

    /// Send to one target; refusals count toward disabling it, and admins are told.
    pub(crate) async fn send(&self, target: &Subscription, reply: &Reply) -> Result<(), SendError> {
        let Some(outbox) = self.outboxes.get(&target.platform) else {
            tracing::debug!(platform = %target.platform, "no outbox for this platform here");
            return Err(SendError::Failed("platform not running".into()));
        };
        match outbox.send(&target.platform_chat_id, reply).await {
            Ok(()) => {
                if let Err(e) = self.store().target_succeeded(target).await {
                    tracing::warn!(error = %e, "could not reset a target's failures");
                }
                Ok(())
            }
            Err(SendError::Gone(why)) => {
                let count = self.store().target_failed(target).await.unwrap_or(0);
                tracing::warn!(platform = %target.platform, %why, count, "a target refused a post");
                self.mark_error("scheduler:target_refused");
                if count >= self.config.max_failures {
                    if let Err(e) = self.store().disable_target(target).await {
                        tracing::error!(error = %e, "could not disable a target");
                    }
                    self.tell_admins(target, count).await;
                }
                Err(SendError::Gone(why))
            }
            Err(e) => {
                tracing::warn!(platform = %target.platform, error = %e, "a post failed");
                self.mark_error("scheduler:send");
                Err(e)
            }
        }
    }

    /// Bot admins hear about a disabled target (Telegram admins in private chats); it
    /// is always logged.
    async fn tell_admins(&self, target: &Subscription, count: i64) {
        let name = format!("{}:{}", target.platform, target.platform_chat_id);
        tracing::error!(target = %name, count, "scheduled-post target disabled after repeated refusals");
        let Some(outbox) = self.outboxes.get("telegram") else {
            return;
        };
        let locale = self.app.commands.services().default_locale;
        let text = self.i18n().tr(
            locale,
            "target-disabled",
            &[("count", &count.to_string()), ("target", &name)],
        );
        for admin in &self.app.config.admins.telegram {
            if let Err(e) = outbox.send(admin, &Reply::text(text.clone())).await {
                tracing::warn!(error = %e, "could not tell an admin");
            }
        }
    }

    /// Tick until shutdown: at every slot and at least every `tick_secs`. A tick that
    /// panics is logged and the ticking goes on after a short backoff (doubling while
    /// it keeps panicking, at most a minute): one bad run never ends the scheduler.
    pub async fn run(self: Arc<Self>, shutdown: Shutdown) {
        let every = std::time::Duration::from_secs(self.app.config.trading.monitor_secs.max(1));
        let positions = tokio::spawn(monitor::run(
            self.app.clone(),
            self.clock.clone(),
            every,
            shutdown.clone(),
        ));
        let mut panics: u32 = 0;
        loop {
            let Some(report) = guarded("scheduler tick", self.tick()).await else {
                panics = panics.saturating_add(1);
                self.mark_error("scheduler:panic");
                let backoff = std::time::Duration::from_millis(500u64 << panics.min(7))
                    .min(std::time::Duration::from_secs(60));
                tracing::warn!(?backoff, "scheduler restarting after a panic");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => continue,
                    _ = shutdown.clone().wait() => break,
                }
            };
            panics = 0;
            if !report.runs.is_empty() || report.alerts > 0 || report.key_reminders > 0 {
                tracing::info!(?report, "scheduler tick");
            }
            let now = self.clock.now();
            let mut wait = std::time::Duration::from_secs(self.config.tick_secs);
            for def in self.schedules().await {
                if let Some(next) = def.cron.next_after(def.tz, now) {
                    let until =
                        (next - now).to_std().unwrap_or_default() + std::time::Duration::from_millis(200);
                    wait = wait.min(until);
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.clone().wait() => break,
            }
        }
        if let Err(e) = positions.await {
            tracing::error!(error = %e, "the position monitor's task failed");
        }
        tracing::info!("scheduler stopped");
    }
}

/// Run one job (a scheduler tick, an alert check, an adapter's handling of one message),
/// catching a panic: it is logged once with the job's name and `None` returned; the caller
/// carries on, so the job runs again on its next turn.
pub(crate) async fn guarded<T>(job: &'static str, work: impl std::future::Future<Output = T>) -> Option<T> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(value) => Some(value),
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            metrics::counter!("chainsignal_job_panics_total", "job" => job).increment(1);
            tracing::error!(job, panic = %message, "a job panicked; it runs again on its next turn");
            None
        }
    }
}

/// What a caught panic said, when it said it with a string.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
