//! Sends the queued private notices to account owners (`owner_notices`, written by the
//! desk and the daily-limit check). Each notice is claimed just before it is sent (with
//! the clock read then), by one instance, for twice `trading.notice_timeout_secs`; the
//! send is bounded by that timeout, so a claim never lapses under a live send. Sent:
//! marked. Failed: tried again after `notice_timeout_secs`, doubling up to an hour, and
//! given up (logged, counted in `/admin status`) after [`MAX_ATTEMPTS`], about a day. A
//! sender that died leaves its claim to expire; another instance sends the notice then.

use crate::app::App;
use chainsignal_commands::trade_view::notice_reply;
use chainsignal_core::Clock;
use chainsignal_core::desk::Notice;
use chainsignal_core::store::OwnerNoticeRecord;
use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Notices sent at most in one pass (the rest wait for the next).
const BATCH: usize = 50;
/// Senders at once within a pass (a slow chat does not hold up the others).
const CONCURRENCY: usize = 8;
/// Tries before a notice is given up: with the waits capped at an hour, about a day.
const MAX_ATTEMPTS: i32 = 30;
/// The longest wait between two tries.
const MAX_RETRY: chrono::Duration = chrono::Duration::hours(1);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
}

/// Send the due notices (those another instance holds are left to it), up to [`BATCH`].
pub async fn send_due(app: &App, clock: &dyn Clock) -> SendReport {
    let Some(by) = claimant() else {
        tracing::error!("no randomness for a notice claim");
        return SendReport::default();
    };
    let taken = AtomicUsize::new(0);
    let results: Vec<SendReport> = futures::stream::iter(0..CONCURRENCY)
        .map(|_| sender(app, clock, &by, &taken))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.iter().fold(SendReport::default(), |a, r| SendReport {
        sent: a.sent + r.sent,
        failed: a.failed + r.failed,
    })
}

/// One sender of a pass: claims one notice at a time until none is due or the pass has
/// taken [`BATCH`].
async fn sender(app: &App, clock: &dyn Clock, by: &str, taken: &AtomicUsize) -> SendReport {
    let timeout_secs = app.config.trading.notice_timeout_secs.max(1);
    let claim = chrono::Duration::seconds(i64::try_from(timeout_secs.saturating_mul(2)).unwrap_or(1_200));
    let mut report = SendReport::default();
    while taken.fetch_add(1, Ordering::Relaxed) < BATCH {
        let now = clock.now();
        let notice = match app.store.claim_notices(by, now, now + claim, 1).await {
            Ok(mut due) => match due.pop() {
                Some(n) => n,
                None => break,
            },
            Err(e) => {
                tracing::warn!(error = %e, "owner notices could not be read");
                break;
            }
        };
        if send_one(app, clock, &notice, by, timeout_secs).await {
            report.sent += 1;
        } else {
            report.failed += 1;
        }
    }
    report
}

async fn send_one(
    app: &App,
    clock: &dyn Clock,
    record: &OwnerNoticeRecord,
    by: &str,
    timeout_secs: u64,
) -> bool {
    let sent = match Notice::from_queued(&record.payload) {
        Ok(notice) => {
            let services = app.commands.services();
            let send = chainsignal_commands::messenger::tell_account(services, record.user_id, |locale| {
                notice_reply(&services.i18n, locale, &notice)
            });
            match tokio::time::timeout(Duration::from_secs(timeout_secs), send).await {
                Ok(true) => true,
                Ok(false) => {
                    tracing::warn!(
                        notice_id = record.id,
                        user_id = record.user_id,
                        "an account's owner could not be told"
                    );
                    false
                }
                Err(_) => {
                    tracing::warn!(
                        notice_id = record.id,
                        user_id = record.user_id,
                        "telling an account's owner timed out"
                    );
                    false
                }
            }
        }
        Err(e) => {
            // Another version's (a newer instance may read it) or damaged: tried again
            // later like a failed send, and given up with the rest.
            tracing::warn!(notice_id = record.id, error = %e, "an owner notice does not read here");
            false
        }
    };
    let now = clock.now();
    if sent {
        match app.store.notice_sent(record.id, by, now).await {
            Ok(true) => tracing::info!(
                notice_id = record.id,
                user_id = record.user_id,
                attempts = record.attempts,
                "owner notice sent"
            ),
            Ok(false) => tracing::warn!(
                notice_id = record.id,
                "a notice's claim expired while it was sent"
            ),
            Err(e) => tracing::warn!(notice_id = record.id, error = %e, "a sent notice could not be marked"),
        }
        return true;
    }
    let retry_at = (record.attempts < MAX_ATTEMPTS).then(|| now + retry_wait(timeout_secs, record.attempts));
    if retry_at.is_none() {
        tracing::error!(
            notice_id = record.id,
            user_id = record.user_id,
            attempts = record.attempts,
            "an owner notice was given up"
        );
    }
    if let Err(e) = app.store.notice_failed(record.id, by, retry_at).await {
        tracing::warn!(notice_id = record.id, error = %e, "a failed notice could not be marked; its claim expires");
    }
    false
}

/// The wait after the `attempts`-th failed try: `timeout_secs`, doubling, at most an hour.
fn retry_wait(timeout_secs: u64, attempts: i32) -> chrono::Duration {
    let first = chrono::Duration::seconds(i64::try_from(timeout_secs).unwrap_or(30));
    first
        .checked_mul(1 << (attempts.saturating_sub(1)).clamp(0, 16))
        .unwrap_or(MAX_RETRY)
        .min(MAX_RETRY)
}

/// A name for one pass's claims: random, so two passes never share one.
fn claimant() -> Option<String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).ok()?;
    Some(nonce.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waits_double_from_the_timeout_up_to_an_hour() {
        let secs = |a| retry_wait(30, a).num_seconds();
        assert_eq!((secs(1), secs(2), secs(3)), (30, 60, 120));
        assert_eq!(secs(8), 3_600, "capped");
        assert_eq!(secs(29), 3_600);
        assert_eq!(retry_wait(1, 1).num_seconds(), 1);
    }
}
