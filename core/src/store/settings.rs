//! Per-account settings (`account_settings`, issue 16): the time zone of the trading
//! day, the risk profile and an admin's per-field limit overrides. An account without
//! a row has the defaults (UTC, conservative, none); each setter writes its one column
//! and creates the row when missing, leaving the others as they were.

use super::StoreError;
use super::engine::{Engine, sql};
use crate::trading::{LimitOverrides, Profile};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// An account's settings as stored, or the defaults when it has no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    pub timezone: Tz,
    pub risk_profile: Profile,
    /// The admin's overrides; `None` when there are none.
    pub limit_overrides: Option<LimitOverrides>,
    /// When a setting last changed; `None` for the defaults (no row).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            timezone: Tz::UTC,
            risk_profile: Profile::Conservative,
            limit_overrides: None,
            updated_at: None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    timezone: String,
    risk_profile: String,
    limit_overrides: Option<String>,
    updated_at: DateTime<Utc>,
}

impl Row {
    /// Stored text that does not read back (edited by hand) is logged and replaced by
    /// the default, except overrides: an unreadable set is an error rather than a
    /// silent return to the profile's looser defaults.
    fn settings(self) -> Result<AccountSettings, StoreError> {
        let timezone = crate::schedule::parse_tz(&self.timezone).unwrap_or_else(|_| {
            tracing::warn!(stored = %self.timezone.chars().take(64).collect::<String>(), "an account's time zone is unknown; using UTC");
            Tz::UTC
        });
        let risk_profile = Profile::parse(&self.risk_profile).unwrap_or_else(|| {
            tracing::warn!("an account's risk profile is unknown; using conservative");
            Profile::Conservative
        });
        let limit_overrides = match self.limit_overrides.as_deref() {
            None => None,
            Some(text) => Some(
                LimitOverrides::from_json(text)
                    .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?,
            ),
        };
        Ok(AccountSettings {
            timezone,
            risk_profile,
            limit_overrides,
            updated_at: Some(self.updated_at),
        })
    }
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The account's settings; the defaults when it never changed any.
    async fn account_settings(&self, user_id: i64) -> Result<AccountSettings, StoreError>;
    /// The time zone of the account's trading day.
    async fn set_timezone(&self, user_id: i64, tz: Tz, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn set_risk_profile(
        &self,
        user_id: i64,
        profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Replace the account's overrides (`None` or an empty set: none).
    async fn set_limit_overrides(
        &self,
        user_id: i64,
        overrides: Option<&LimitOverrides>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
impl<E: Engine> SettingsStore for E {
    async fn account_settings(&self, user_id: i64) -> Result<AccountSettings, StoreError> {
        let row: Option<Row> = sql("SELECT timezone, risk_profile, limit_overrides, updated_at \
             FROM account_settings WHERE user_id = $1")
        .bind(user_id)
        .read_optional(self)
        .await?;
        match row {
            Some(row) => row.settings(),
            None => Ok(AccountSettings::default()),
        }
    }

    async fn set_timezone(&self, user_id: i64, tz: Tz, now: DateTime<Utc>) -> Result<(), StoreError> {
        sql(
            "INSERT INTO account_settings (user_id, timezone, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET timezone = excluded.timezone, updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(tz.name())
        .bind(now)
        .write(self)
        .await?;
        Ok(())
    }

    async fn set_risk_profile(
        &self,
        user_id: i64,
        profile: Profile,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql(
            "INSERT INTO account_settings (user_id, risk_profile, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET risk_profile = excluded.risk_profile, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(profile.as_str())
        .bind(now)
        .write(self)
        .await?;
        Ok(())
    }

    async fn set_limit_overrides(
        &self,
        user_id: i64,
        overrides: Option<&LimitOverrides>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = match overrides.filter(|o| !o.is_empty()) {
            Some(o) => Some(
                o.to_json()
                    .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?,
            ),
            None => None,
        };
        sql(
            "INSERT INTO account_settings (user_id, limit_overrides, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET limit_overrides = excluded.limit_overrides, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(&json)
        .bind(now)
        .write(self)
        .await?;
        Ok(())
    }
}
