//! The SL/TP monitor (issue 15): every `trading.monitor_secs`, one tick of the desk
//! (prices read once per venue, crossed positions closed once across instances). What
//! an owner is to be told is queued by the desk (`owner_notices`) and sent by a third
//! task ([`super::notices`]), woken at once, off the tick's path.

use super::guarded;
use super::notices;
use crate::app::App;
use crate::shutdown::Shutdown;
use chainsignal_core::Clock;
use chainsignal_core::desk::{NoticeKind, TickReport};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Every account that traded today is checked against its daily loss limit this often
/// (and at once after one of its positions was closed).
const DAILY_LIMIT_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Tick until shutdown, every `every`. The SL/TP tick has its own loop: looking up lost
/// orders and checking daily limits (both may wait on a slow exchange) run beside it,
/// never in its way; so does sending the owners' notices (woken whenever one is queued,
/// and every `every` for retries and notices other instances left behind).
pub async fn run(app: App, clock: Arc<dyn Clock>, every: Duration, shutdown: Shutdown) {
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let queued = Arc::new(Notify::new());
    let sender = {
        let (app, clock, shutdown, queued) = (app.clone(), clock.clone(), shutdown.clone(), queued.clone());
        tokio::spawn(async move {
            loop {
                guarded("owner notices", notices::send_due(&app, clock.as_ref())).await;
                tokio::select! {
                    _ = queued.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.clone().wait() => break,
                }
            }
        })
    };
    let side = {
        let (app, clock, shutdown, queued) = (app.clone(), clock.clone(), shutdown.clone(), queued.clone());
        tokio::spawn(async move {
            let mut last_daily: Option<DateTime<Utc>> = None;
            loop {
                let now = clock.now();
                let found = guarded("unknown orders", reconcile(&app, now)).await.unwrap_or(0);
                let all = last_daily.is_none_or(|t| now - t >= DAILY_LIMIT_EVERY);
                if all {
                    last_daily = Some(now);
                }
                let mut closed = Vec::new();
                while let Ok(user) = closed_rx.try_recv() {
                    closed.push(user);
                }
                let told = guarded("daily loss limits", daily_limits(&app, now, all, closed))
                    .await
                    .unwrap_or(0);
                if found + told > 0 {
                    queued.notify_one();
                }
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.clone().wait() => break,
                }
            }
        })
    };
    loop {
        let report = guarded("position monitor", tick(&app, clock.now()))
            .await
            .flatten();
        if report.as_ref().is_some_and(|r| !r.notices.is_empty()) {
            queued.notify_one();
        }
        for n in report.iter().flat_map(|r| r.notices.iter()) {
            if matches!(n.kind, NoticeKind::Closed(_)) {
                let _ = closed_tx.send(n.user_id);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.clone().wait() => break,
        }
    }
    for (name, task) in [("side", side), ("notice sender", sender)] {
        if let Err(e) = task.await {
            tracing::error!(task = name, error = %e, "a monitor task failed");
        }
    }
    tracing::info!("position monitor stopped");
}

/// Orders whose answer was lost, looked up again (never sent again); what their owners
/// are to be told is queued by the desk. Returns how many notices were queued.
pub async fn reconcile(app: &App, now: DateTime<Utc>) -> usize {
    let services = app.commands.services();
    match services.desk.reconcile(now).await {
        Ok(notices) => notices.len(),
        Err(e) => {
            tracing::warn!(error = %e, "looking up unknown orders failed");
            0
        }
    }
}

/// One tick at `now`; the owners' notices are queued by the desk (see [`run`]).
pub async fn tick(app: &App, now: DateTime<Utc>) -> Option<TickReport> {
    let services = app.commands.services();
    match services.desk.tick(now).await {
        Ok(report) => {
            if report.triggered > 0 {
                tracing::info!(
                    positions = report.positions,
                    triggered = report.triggered,
                    closed = report.closed,
                    failed = report.failed,
                    "position monitor tick"
                );
            }
            Some(report)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the position monitor's tick failed");
            None
        }
    }
}

/// The daily loss limit of every account that traded today (`all`), or of `users`: the
/// owner of an account over its limit is told once a day; a profile that flattens has its
/// positions closed. Returns how many owners' notices were queued.
pub async fn daily_limits(app: &App, now: DateTime<Utc>, all: bool, mut users: Vec<i64>) -> usize {
    let services = app.commands.services();
    if all {
        match services
            .store
            .trading_accounts_active_since(now - chrono::Duration::days(1))
            .await
        {
            Ok(active) => users.extend(active),
            Err(e) => {
                tracing::warn!(error = %e, "accounts for the daily limit unavailable");
                return 0;
            }
        }
    }
    users.sort_unstable();
    users.dedup();
    let mut told = 0;
    for user_id in users {
        let risk = match chainsignal_commands::risk_context::account_risk(services, user_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "an account's risk settings are unavailable");
                continue;
            }
        };
        let check = match services
            .desk
            .check_daily_limit(
                user_id,
                &risk.limits,
                risk.day_start,
                &risk.day_label,
                &risk.next_day_local,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "the daily limit could not be checked");
                continue;
            }
        };
        // Claimed and queued together by the desk.
        if check.first_time {
            told += 1;
        }
    }
    told
}
