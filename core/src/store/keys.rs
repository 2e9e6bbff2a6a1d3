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
}
