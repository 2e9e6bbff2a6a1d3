//! Sends the queued private notices to account owners (`owner_notices`, written by the
//! desk and the daily-limit check): claimed per notice so that one instance sends each,
//! bounded per send, marked sent after. A notice whose send failed is tried again after
//! `trading.notice_timeout_secs`, doubling up to an hour, and given up (logged) after
//! [`MAX_ATTEMPTS`]; one whose sender died is taken by another once its claim expires.

use crate::app::App;
use chainsignal_commands::trade_view::notice_reply;
use chainsignal_core::desk::Notice;
use chainsignal_core::store::OwnerNoticeRecord;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::time::Duration;

/// Notices claimed in one pass.
const BATCH: i64 = 50;
/// Sends at once within a pass (a slow chat does not hold up the others).
const CONCURRENCY: usize = 8;
/// Tries before a notice is given up.
const MAX_ATTEMPTS: i32 = 12;
/// The longest wait between two tries.
const MAX_RETRY: chrono::Duration = chrono::Duration::hours(1);

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
}

/// Send every due notice once (those another instance holds are left to it).
pub async fn send_due(app: &App, now: DateTime<Utc>) -> SendReport {
    let timeout_secs = app.config.trading.notice_timeout_secs.max(1);
    let timeout = Duration::from_secs(timeout_secs);
    let claim = chrono::Duration::seconds(i64::try_from(timeout_secs.saturating_mul(2)).unwrap_or(1_200));
    let by = match claimant() {
        Some(by) => by,
        None => {
            tracing::error!("no randomness for a notice claim");
            return SendReport::default();
        }
    };
    let due = match app.store.claim_notices(&by, now, now + claim, BATCH).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "owner notices could not be read");
            return SendReport::default();
        }
    };
    let outcomes: Vec<bool> = futures::stream::iter(due)
        .map(|notice| send_one(app, notice, &by, now, timeout, timeout_secs))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let sent = outcomes.iter().filter(|ok| **ok).count();
    SendReport {
        sent,
        failed: outcomes.len() - sent,
    }
}

async fn send_one(
    app: &App,
    record: OwnerNoticeRecord,
    by: &str,
    now: DateTime<Utc>,
    timeout: Duration,
    timeout_secs: u64,
) -> bool {
    let notice: Notice = match serde_json::from_str(&record.payload) {
        Ok(n) => n,
        Err(e) => {
            // Written by another version, or edited by hand: never sendable.
            tracing::error!(notice_id = record.id, error = %e, "an owner notice does not read; given up");
            give_up(app, &record, by).await;
            return false;
        }
    };
    let services = app.commands.services();
    let send = chainsignal_commands::messenger::tell_account(services, record.user_id, |locale| {
        notice_reply(&services.i18n, locale, &notice)
    });
    let sent = match tokio::time::timeout(timeout, send).await {
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
    };
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
    let attempts = record.attempts.saturating_add(1);
    if attempts >= MAX_ATTEMPTS {
        tracing::error!(
            notice_id = record.id,
            user_id = record.user_id,
            attempts,
            "an owner notice was given up"
        );
        give_up(app, &record, by).await;
        return false;
    }
    let first = chrono::Duration::seconds(i64::try_from(timeout_secs).unwrap_or(30));
    let wait = first
        .checked_mul(1 << attempts.clamp(0, 16))
        .unwrap_or(MAX_RETRY)
        .min(MAX_RETRY);
    if let Err(e) = app.store.notice_failed(record.id, by, Some(now + wait)).await {
        tracing::warn!(notice_id = record.id, error = %e, "a failed notice could not be marked; its claim expires");
    }
    false
}

async fn give_up(app: &App, record: &OwnerNoticeRecord, by: &str) {
    if let Err(e) = app.store.notice_failed(record.id, by, None).await {
        tracing::warn!(notice_id = record.id, error = %e, "a notice could not be given up; its claim expires");
    }
}

/// A name for one pass's claims: random, so two passes never share one.
fn claimant() -> Option<String> {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).ok()?;
    Some(nonce.iter().map(|b| format!("{b:02x}")).collect())
}
