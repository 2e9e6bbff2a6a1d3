//! Exchange API keys, as the vault sealed them (`exchange_keys`). Nothing here is in
//! clear: the API key only as its mask, both values as ciphertexts (see `vault.rs`).

use super::StoreError;
use super::engine::{Engine, sql};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A key to store: its sealed values and where they belong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExchangeKey {
    /// The account (`users.id`).
    pub user_id: i64,
    pub exchange: String,
    pub label: String,
    /// `abcd…wxyz`: all that is ever shown of the API key.
    pub api_key_mask: String,
    /// Base64 ciphertexts and nonces (never the values themselves).
    pub api_key_sealed: String,
    pub api_key_nonce: String,
    pub secret_sealed: String,
    pub secret_nonce: String,
    pub key_version: i32,
    pub created_at: DateTime<Utc>,
}

/// A stored key row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExchangeKeyRecord {
    pub id: i64,
    pub user_id: i64,
    pub exchange: String,
    pub label: String,
    pub api_key_mask: String,
    pub api_key_sealed: String,
    pub api_key_nonce: String,
    pub secret_sealed: String,
    pub secret_nonce: String,
    pub key_version: i32,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What `/admin keys` and the weekly reminders need of a key: never its values.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyAge {
    pub user_id: i64,
    pub exchange: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

/// New sealed values of a row (`vault rotate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    pub api_key_sealed: String,
    pub api_key_nonce: String,
    pub secret_sealed: String,
    pub secret_nonce: String,
    pub key_version: i32,
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Store a key: its id, or `None` when the account already has a key of that label.
    async fn add_exchange_key(&self, key: &NewExchangeKey) -> Result<Option<i64>, StoreError>;
    /// The account's keys, by label.
    async fn exchange_keys(&self, user_id: i64) -> Result<Vec<ExchangeKeyRecord>, StoreError>;
    async fn exchange_key(&self, user_id: i64, label: &str) -> Result<Option<ExchangeKeyRecord>, StoreError>;
    /// Forget a key; false when there was none of that label.
    async fn remove_exchange_key(&self, user_id: i64, label: &str) -> Result<bool, StoreError>;
    /// Record that a key was used (validated, traded with) at `at`.
    async fn touch_exchange_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Up to `limit` rows not sealed with `version`, of id above `after_id`, by id (the
    /// batches of `vault rotate`).
    async fn exchange_keys_not_on(
        &self,
        version: i32,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ExchangeKeyRecord>, StoreError>;
    /// Replace the sealed values of row `old` with `new`, in one statement (its own
    /// transaction), only when the row is still as read: false when it changed or went.
    async fn reseal_exchange_key(&self, old: &ExchangeKeyRecord, new: &Resealed) -> Result<bool, StoreError>;
    /// How many rows each vault key version seals, by version.
    async fn exchange_key_versions(&self) -> Result<Vec<(i32, i64)>, StoreError>;
    /// Every key's owner, exchange, label and age (no values), oldest first.
    async fn exchange_key_ages(&self) -> Result<Vec<KeyAge>, StoreError>;
    /// Claim the weekly key reminder of `user_id` for `week` (`2026-W48`): true for the
    /// one caller that may send it, false when it was claimed already.
    async fn claim_key_reminder(
        &self,
        user_id: i64,
        week: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

#[async_trait]
impl<E: Engine> KeyStore for E {
    async fn add_exchange_key(&self, k: &NewExchangeKey) -> Result<Option<i64>, StoreError> {
        let id: Option<(i64,)> = sql(
            "INSERT INTO exchange_keys (user_id, exchange, label, api_key_mask, api_key_sealed, \
             api_key_nonce, secret_sealed, secret_nonce, key_version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (user_id, label) DO NOTHING RETURNING id",
        )
        .bind(k.user_id)
        .bind(&k.exchange)
        .bind(&k.label)
        .bind(&k.api_key_mask)
        .bind(&k.api_key_sealed)
        .bind(&k.api_key_nonce)
        .bind(&k.secret_sealed)
        .bind(&k.secret_nonce)
        .bind(k.key_version)
        .bind(k.created_at)
        .write_optional(self)
        .await?;
        Ok(id.map(|(id,)| id))
    }

    async fn exchange_keys(&self, user_id: i64) -> Result<Vec<ExchangeKeyRecord>, StoreError> {
        Ok(sql(
            "SELECT id, user_id, exchange, label, api_key_mask, api_key_sealed, api_key_nonce, \
             secret_sealed, secret_nonce, key_version, created_at, last_used_at \
             FROM exchange_keys WHERE user_id = $1 ORDER BY label",
        )
        .bind(user_id)
        .read_all(self)
        .await?)
    }

    async fn exchange_key(&self, user_id: i64, label: &str) -> Result<Option<ExchangeKeyRecord>, StoreError> {
        Ok(sql(
            "SELECT id, user_id, exchange, label, api_key_mask, api_key_sealed, api_key_nonce, \
             secret_sealed, secret_nonce, key_version, created_at, last_used_at \
             FROM exchange_keys WHERE user_id = $1 AND label = $2",
        )
        .bind(user_id)
        .bind(label)
        .read_optional(self)
        .await?)
    }

    async fn remove_exchange_key(&self, user_id: i64, label: &str) -> Result<bool, StoreError> {
        let n = sql("DELETE FROM exchange_keys WHERE user_id = $1 AND label = $2")
            .bind(user_id)
            .bind(label)
            .write(self)
            .await?;
        Ok(n == 1)
    }

    async fn touch_exchange_key(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sql("UPDATE exchange_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .write(self)
            .await?;
        Ok(())
    }

    async fn exchange_keys_not_on(
        &self,
        version: i32,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ExchangeKeyRecord>, StoreError> {
        Ok(sql(
            "SELECT id, user_id, exchange, label, api_key_mask, api_key_sealed, api_key_nonce, \
             secret_sealed, secret_nonce, key_version, created_at, last_used_at \
             FROM exchange_keys WHERE key_version <> $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(version)
        .bind(after_id)
        .bind(limit)
        .read_all(self)
        .await?)
    }

    async fn reseal_exchange_key(&self, old: &ExchangeKeyRecord, new: &Resealed) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE exchange_keys SET api_key_sealed = $1, api_key_nonce = $2, secret_sealed = $3, \
             secret_nonce = $4, key_version = $5 \
             WHERE id = $6 AND key_version = $7 AND secret_sealed = $8 AND api_key_sealed = $9",
        )
        .bind(&new.api_key_sealed)
        .bind(&new.api_key_nonce)
        .bind(&new.secret_sealed)
        .bind(&new.secret_nonce)
        .bind(new.key_version)
        .bind(old.id)
        .bind(old.key_version)
        .bind(&old.secret_sealed)
        .bind(&old.api_key_sealed)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn exchange_key_versions(&self) -> Result<Vec<(i32, i64)>, StoreError> {
        Ok(
            sql("SELECT key_version, COUNT(*) FROM exchange_keys GROUP BY key_version ORDER BY key_version")
                .read_all(self)
                .await?,
        )
    }

    async fn exchange_key_ages(&self) -> Result<Vec<KeyAge>, StoreError> {
        Ok(
            sql("SELECT user_id, exchange, label, created_at FROM exchange_keys ORDER BY created_at, id")
                .read_all(self)
                .await?,
        )
    }

    async fn claim_key_reminder(
        &self,
        user_id: i64,
        week: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "INSERT INTO key_reminders (user_id, week, sent_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, week) DO NOTHING",
        )
        .bind(user_id)
        .bind(week)
        .bind(now)
        .write(self)
        .await?;
        Ok(n == 1)
    }
}
