//! Accounts and chats: who someone is on each platform, and each chat's settings.

use super::AccountStore;
use super::engine::{Engine, sql};
use super::{ChatKey, ChatRecord, Identity, StoreError};
use async_trait::async_trait;
use chrono::Utc;

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// The account behind a platform identity, created on first sight (a trader);
    /// returns the account id. See [`AccountStore::ensure_account`].
    async fn ensure_user(&self, identity: &Identity) -> Result<i64, StoreError>;
    /// The chat, created with `default_locale` on first sight.
    async fn ensure_chat(&self, chat: &ChatKey, default_locale: &str) -> Result<ChatRecord, StoreError>;
    async fn set_chat_locale(&self, chat: &ChatKey, locale: &str) -> Result<(), StoreError>;
    /// Mark a chat reachable or not (a bot blocked or removed is not retried).
    async fn set_chat_active(&self, chat: &ChatKey, active: bool) -> Result<(), StoreError>;
}

#[async_trait]
impl<E: Engine> ChatStore for E {
    async fn ensure_user(&self, identity: &Identity) -> Result<i64, StoreError> {
        let (account, _) = self.ensure_account(identity, super::StoredRole::Trader).await?;
        Ok(account.id)
    }

    async fn ensure_chat(&self, chat: &ChatKey, default_locale: &str) -> Result<ChatRecord, StoreError> {
        const SELECT: &str = "SELECT id, platform, platform_chat_id, locale, active \
                              FROM chats WHERE platform = $1 AND platform_chat_id = $2";
        let existing: Option<ChatRecord> = sql(SELECT)
            .bind(&chat.platform)
            .bind(&chat.platform_chat_id)
            .read_optional(self)
            .await?;
        if let Some(record) = existing {
            return Ok(record);
        }
        let now = Utc::now();
        sql(
            "INSERT INTO chats (platform, platform_chat_id, locale, active, created_at, updated_at) \
             VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (platform, platform_chat_id) DO NOTHING",
        )
        .bind(&chat.platform)
        .bind(&chat.platform_chat_id)
        .bind(default_locale)
        .bind(now)
        .bind(now)
        .write(self)
        .await?;
        // On the writer: it sees the row just written (ours or a concurrent one).
        Ok(sql(SELECT)
            .bind(&chat.platform)
            .bind(&chat.platform_chat_id)
            .write_one(self)
            .await?)
    }

    async fn set_chat_locale(&self, chat: &ChatKey, locale: &str) -> Result<(), StoreError> {
        self.ensure_chat(chat, locale).await?;
        sql("UPDATE chats SET locale = $1, updated_at = $2 \
             WHERE platform = $3 AND platform_chat_id = $4")
        .bind(locale)
        .bind(Utc::now())
        .bind(&chat.platform)
        .bind(&chat.platform_chat_id)
        .write(self)
        .await?;
        Ok(())
    }

    async fn set_chat_active(&self, chat: &ChatKey, active: bool) -> Result<(), StoreError> {
        sql("UPDATE chats SET active = $1, updated_at = $2 \
             WHERE platform = $3 AND platform_chat_id = $4")
        .bind(active)
        .bind(Utc::now())
        .bind(&chat.platform)
        .bind(&chat.platform_chat_id)
        .write(self)
        .await?;
        Ok(())
    }
}
