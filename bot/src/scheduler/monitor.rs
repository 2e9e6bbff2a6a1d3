//! The SL/TP monitor (issue 15): every `trading.monitor_secs`, one tick of the desk
//! (prices read once per venue, crossed positions closed once across instances), and
//! each notice sent privately to the position's owner, off the tick's path.

use super::guarded;
use crate::app::App;
use crate::shutdown::Shutdown;
use chainsignal_commands::trade_view::notice_reply;
use chainsignal_core::Clock;
use chainsignal_core::desk::{NoticeKind, TickReport};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// How long one owner's notice may take to send.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(30);

/// Every account that traded today is checked against its daily loss limit this often
/// (and at once after one of its positions was closed).
const DAILY_LIMIT_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// Tick until shutdown, every `every`. The SL/TP tick has its own loop: looking up lost
/// orders and checking daily limits (both may wait on a slow exchange) run beside it,
/// never in its way.
pub async fn run(app: App, clock: Arc<dyn Clock>, every: Duration, shutdown: Shutdown) {
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let side = {
        let (app, clock, shutdown) = (app.clone(), clock.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut last_daily: Option<DateTime<Utc>> = None;
            loop {
                let now = clock.now();
                guarded("unknown orders", reconcile(&app, now)).await;
                let all = last_daily.is_none_or(|t| now - t >= DAILY_LIMIT_EVERY);
                if all {
                    last_daily = Some(now);
                }
                let mut closed = Vec::new();
                while let Ok(user) = closed_rx.try_recv() {
                    closed.push(user);
                }
                guarded("daily loss limits", daily_limits(&app, now, all, closed)).await;
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
    if let Err(e) = side.await {
        tracing::error!(error = %e, "the monitor's side task failed");
    }
    tracing::info!("position monitor stopped");
}

/// Orders whose answer was lost, looked up again (never sent again); owners told.
pub async fn reconcile(app: &App, now: DateTime<Utc>) -> usize {
    let services = app.commands.services();
    match services.desk.reconcile(now).await {
        Ok(notices) => {
            let n = notices.len();
            for notice in notices {
                tell(services, notice);
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "looking up unknown orders failed");
            0
        }
    }
}

/// Send one notice to its owner in the background, bounded.
fn tell(services: &chainsignal_commands::Services, notice: chainsignal_core::desk::Notice) {
    let user_id = notice.user_id;
    tell_owner(services, user_id, move |s, locale| {
        notice_reply(&s.i18n, locale, &notice)
    });
}

/// Send `render(services, locale)` privately to account `user_id`, in the background and
/// bounded by [`NOTICE_TIMEOUT`]; a failure is logged once.
fn tell_owner(
    services: &chainsignal_commands::Services,
    user_id: i64,
    render: impl Fn(&chainsignal_commands::Services, chainsignal_commands::Locale) -> chainsignal_commands::Reply
    + Send
    + Sync
    + 'static,
) {
    let services = services.clone();
    tokio::spawn(async move {
        let send = chainsignal_commands::messenger::tell_account(&services, user_id, |locale| {
            render(&services, locale)
        });
        match tokio::time::timeout(NOTICE_TIMEOUT, send).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(user_id, "an account's owner could not be told"),
            Err(_) => tracing::warn!(user_id, "telling an account's owner timed out"),
        }
    });
}

/// One tick at `now`; the owners' notices are sent in the background.
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
            for notice in report.notices.clone() {
                tell(services, notice);
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
/// positions closed. Returns how many owners were told.
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
            .check_daily_limit(user_id, &risk.limits, risk.day_start, &risk.day_label)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "the daily limit could not be checked");
                continue;
            }
        };
        if !check.first_time {
            continue;
        }
        told += 1;
        tell_owner(services, user_id, move |s, locale| {
            chainsignal_commands::trade_view::daily_limit_reply(&s.i18n, locale, &check, &risk.next_day_local)
        });
    }
    told
}
