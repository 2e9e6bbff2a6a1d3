-- Per-account settings (issue 16): the time zone of the trading day (/settings tz), the
-- risk profile (/admin risk USER PROFILE) and the per-field limit overrides an admin
-- set (JSON of core::trading::LimitOverrides, set fields only; NULL: none). An account
-- without a row has the defaults: UTC, conservative, no overrides.

CREATE TABLE account_settings (
    -- The account (users.id).
    user_id           INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    timezone          TEXT NOT NULL DEFAULT 'UTC',
    risk_profile      TEXT NOT NULL DEFAULT 'conservative',
    limit_overrides   TEXT NULL,
    updated_at        TEXT NOT NULL
);
