//! An account's risk settings as the trading commands and the monitor use them: its
//! profile's limits and its trading day (midnight to midnight in its time zone).

use crate::{CommandError, Services};
use chainsignal_core::trading::RiskLimits;
use chrono::{DateTime, Utc};

/// The limits and the trading day of one account, now.
#[derive(Debug, Clone)]
pub struct AccountRisk {
    pub profile: String,
    pub limits: RiskLimits,
    /// Today's start and the next day's, in UTC.
    pub day_start: DateTime<Utc>,
    pub next_day: DateTime<Utc>,
    /// `YYYY-MM-DD` in the account's time zone.
    pub day_label: String,
    /// The next day's start as the account reads it (`2026-11-25 00:00 Europe/Warsaw`).
    pub next_day_local: String,
}

/// The account's risk settings at the desk's now: its profile's limits (the config's
/// profile with an admin's overrides) and its trading day in its time zone.
pub async fn account_risk(services: &Services, user_id: i64) -> Result<AccountRisk, CommandError> {
    use chainsignal_core::trading::{effective_limits, next_trading_day_start, trading_day_start};
    let now = services.desk.now();
    let settings = services.store.account_settings(user_id).await?;
    let tz = settings.timezone;
    let day_start = trading_day_start(now, tz);
    let next_day = next_trading_day_start(now, tz);
    let limits = effective_limits(
        &services.risk,
        settings.risk_profile,
        settings.limit_overrides.as_ref(),
    );
    Ok(AccountRisk {
        profile: settings.risk_profile.as_str().into(),
        limits,
        day_start,
        next_day,
        day_label: now.with_timezone(&tz).format("%Y-%m-%d").to_string(),
        next_day_local: format!(
            "{} {}",
            next_day.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            tz.name()
        ),
    })
}
