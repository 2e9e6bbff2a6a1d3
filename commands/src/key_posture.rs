//! Key age posture: how old the stored exchange keys are (`/admin keys`, counts only,
//! never a key or a label) and the weekly reminder to the owner of a key older than
//! `vault.max_age_days` (the scheduler calls [`remind_old_keys`]).
//!
//! The reminder is claimed in the database per (account, ISO week) before it is sent,
//! so however many instances run and however often they tick, an owner gets at most one
//! a week.

use crate::Services;
use crate::reply::Reply;
use chainsignal_core::store::KeyAge;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Keys counted by age band: under half the maximum age, from half to the maximum, and
/// at or past it (old).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posture {
    pub fresh: usize,
    pub aging: usize,
    pub old: usize,
    pub live: usize,
    pub testnet: usize,
    /// Accounts with at least one key.
    pub accounts: usize,
    /// Accounts with at least one old key.
    pub accounts_with_old: usize,
}

/// Whole days since `created`.
pub fn age_days(created: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - created).num_days().max(0)
}

pub fn posture(keys: &[KeyAge], now: DateTime<Utc>, max_age_days: u32) -> Posture {
    let max = i64::from(max_age_days);
    let mut p = Posture::default();
    let mut accounts = BTreeSet::new();
    let mut old_accounts = BTreeSet::new();
    for k in keys {
        let age = age_days(k.created_at, now);
        accounts.insert(k.user_id);
        if age >= max {
            p.old += 1;
            old_accounts.insert(k.user_id);
        } else if age * 2 >= max {
            p.aging += 1;
        } else {
            p.fresh += 1;
        }
        if k.exchange == "binance" {
            p.live += 1;
        } else {
            p.testnet += 1;
        }
    }
    p.accounts = accounts.len();
    p.accounts_with_old = old_accounts.len();
    p
}

/// The ISO week of `now`, as the reminders are claimed by: `2026-W48`.
pub fn iso_week(now: DateTime<Utc>) -> String {
    now.format("%G-W%V").to_string()
}

/// Remind each owner of a key older than `max_age_days`, at most once per ISO week (the
/// claim is taken before sending: a failed send is not retried that week). The number
/// of owners reminded by this call.
pub async fn remind_old_keys(services: &Services, now: DateTime<Utc>, max_age_days: u32) -> usize {
    let keys = match services.store.exchange_key_ages().await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the key ages");
            return 0;
        }
    };
    let max = i64::from(max_age_days);
    let mut old: BTreeMap<i64, Vec<(String, i64)>> = BTreeMap::new();
    for k in &keys {
        let age = age_days(k.created_at, now);
        if age >= max {
            old.entry(k.user_id).or_default().push((k.label.clone(), age));
        }
    }
    let week = iso_week(now);
    let mut reminded = 0;
    for (user_id, labels) in old {
        match services.store.claim_key_reminder(user_id, &week, now).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim a key reminder");
                continue;
            }
        }
        if tell_owner(services, user_id, &labels, max_age_days).await {
            reminded += 1;
        }
    }
    if reminded > 0 {
        tracing::info!(reminded, %week, "owners of old exchange keys reminded");
    }
    reminded
}

/// The reminder in each private chat the owner can be reached in; true when one went.
async fn tell_owner(services: &Services, user_id: i64, labels: &[(String, i64)], max_age_days: u32) -> bool {
    let sent = crate::messenger::tell_account(services, user_id, |locale| {
        let list = labels
            .iter()
            .map(|(label, age)| {
                services.i18n.tr(
                    locale,
                    "keys-reminder-line",
                    &[("label", label), ("age", &age.to_string())],
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        Reply::text(services.i18n.tr(
            locale,
            "keys-reminder",
            &[("keys", &list), ("max", &max_age_days.to_string())],
        ))
    })
    .await;
    if !sent {
        tracing::info!(user_id, "an owner could not be reminded of an old key");
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(user_id: i64, exchange: &str, days: i64, now: DateTime<Utc>) -> KeyAge {
        KeyAge {
            user_id,
            exchange: exchange.into(),
            label: format!("k{days}"),
            created_at: now - chrono::Duration::days(days),
        }
    }

    #[test]
    fn bands_and_weeks() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        let keys = [
            key(1, "binance-testnet", 1, now),
            key(1, "binance", 50, now),
            key(2, "binance", 90, now),
            key(3, "binance-testnet", 400, now),
            key(3, "binance-testnet", 44, now),
        ];
        let p = posture(&keys, now, 90);
        assert_eq!(
            p,
            Posture {
                fresh: 2,
                aging: 1,
                old: 2,
                live: 2,
                testnet: 3,
                accounts: 3,
                accounts_with_old: 2,
            }
        );
        assert_eq!(iso_week(now), "2026-W48");
        // The ISO year of the first days of January may be the one before.
        assert_eq!(
            iso_week(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()),
            "2026-W53"
        );
    }
}
