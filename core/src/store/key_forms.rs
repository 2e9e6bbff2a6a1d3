//! One-time links to the bot's HTTPS form for `/keys add` on Telegram (`key_forms`). The
//! link's token is never stored, only [`key_form_hash`] of it; a row is taken once
//! ([`KeyFormStore::claim_key_form`]), before it expires, for the account it was made for.

use super::StoreError;
use super::engine::{Engine, sql};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A form link to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKeyForm {
    /// [`key_form_hash`] of the link's token.
    pub token_hash: String,
    /// The CSRF value the form carries in a hidden field.
    pub csrf: String,
    /// The account (`users.id`) the key goes to.
    pub user_id: i64,
    /// The identity and the private chat that asked (the outcome is told there).
    pub platform: String,
    pub platform_user_id: String,
    pub platform_chat_id: String,
    pub exchange: String,
    /// The label given with the command, if any (the form may change it).
    pub label: Option<String>,
    /// The chat's language: the form's.
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A stored form link.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct KeyFormRecord {
    pub token_hash: String,
    pub csrf: String,
    pub user_id: i64,
    pub platform: String,
    pub platform_user_id: String,
    pub platform_chat_id: String,
    pub exchange: String,
    pub label: Option<String>,
    pub locale: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for KeyFormRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A prefix of the hash is enough to tell rows apart; the CSRF value is left out.
        f.debug_struct("KeyFormRecord")
            .field("token_hash", &self.token_hash.get(..8).unwrap_or(""))
            .field("user_id", &self.user_id)
            .field("platform", &self.platform)
            .field("exchange", &self.exchange)
            .field("label", &self.label)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// SHA-256 (hex) of a form token: what the database holds instead of the token (the
/// token carries 256 random bits, so no salt or slow hash is needed).
pub fn key_form_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[async_trait]
pub trait KeyFormStore: Send + Sync {
    async fn create_key_form(&self, form: &NewKeyForm) -> Result<(), StoreError>;
    /// The row of a token hash, used or not, expired or not.
    async fn key_form(&self, token_hash: &str) -> Result<Option<KeyFormRecord>, StoreError>;
    /// Take a form at `now`: the row when this call took it; `None` when it is unknown,
    /// expired or already used. Atomic: of two submissions on any instances, one wins.
    async fn claim_key_form(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyFormRecord>, StoreError>;
    /// Forget forms that expired before `before`; how many went.
    async fn prune_key_forms(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[async_trait]
impl<E: Engine> KeyFormStore for E {
    async fn create_key_form(&self, k: &NewKeyForm) -> Result<(), StoreError> {
        sql(
            "INSERT INTO key_forms (token_hash, csrf, user_id, platform, platform_user_id, \
             platform_chat_id, exchange, label, locale, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&k.token_hash)
        .bind(&k.csrf)
        .bind(k.user_id)
        .bind(&k.platform)
        .bind(&k.platform_user_id)
        .bind(&k.platform_chat_id)
        .bind(&k.exchange)
        .bind(&k.label)
        .bind(&k.locale)
        .bind(k.created_at)
        .bind(k.expires_at)
        .write(self)
        .await?;
        Ok(())
    }

    async fn key_form(&self, token_hash: &str) -> Result<Option<KeyFormRecord>, StoreError> {
        Ok(sql(
            "SELECT token_hash, csrf, user_id, platform, platform_user_id, platform_chat_id, \
             exchange, label, locale, created_at, expires_at, used_at \
             FROM key_forms WHERE token_hash = $1",
        )
        .bind(token_hash)
        .read_optional(self)
        .await?)
    }

    async fn claim_key_form(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<KeyFormRecord>, StoreError> {
        Ok(sql("UPDATE key_forms SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING token_hash, csrf, user_id, platform, platform_user_id, platform_chat_id, \
             exchange, label, locale, created_at, expires_at, used_at")
        .bind(now)
        .bind(token_hash)
        .write_optional(self)
        .await?)
    }

    async fn prune_key_forms(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sql("DELETE FROM key_forms WHERE expires_at < $1")
            .bind(before)
            .write(self)
            .await?)
    }
}
