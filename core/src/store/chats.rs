//! Accounts and chats: who someone is on each platform, and each chat's settings.

use super::engine::{Engine, WriteTx, sql};
use super::{ChatKey, ChatRecord, Identity, StoreError};
use async_trait::async_trait;
use chrono::Utc;

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// The user behind a platform identity, created on first sight; returns the user id.
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
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let found: Option<(i64,)> =
            sql("SELECT user_id FROM user_identities WHERE platform = $1 AND platform_user_id = $2")
                .bind(&identity.platform)
                .bind(&identity.platform_user_id)
                .fetch_optional(&mut tx)
                .await?;
        let user_id = match found {
            Some((user_id,)) => {
                sql("UPDATE user_identities SET last_seen_at = $1, \
                     display_name = COALESCE($2, display_name) \
                     WHERE platform = $3 AND platform_user_id = $4")
                .bind(now)
                .bind(&identity.display_name)
                .bind(&identity.platform)
                .bind(&identity.platform_user_id)
                .execute(&mut tx)
                .await?;
                user_id
            }
            None => {
                let (new_id,): (i64,) = sql("INSERT INTO users (created_at) VALUES ($1) RETURNING id")
                    .bind(now)
                    .fetch_one(&mut tx)
                    .await?;
                let inserted = sql(
                    "INSERT INTO user_identities (user_id, platform, platform_user_id, \
                     display_name, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (platform, platform_user_id) DO NOTHING",
                )
                .bind(new_id)
                .bind(&identity.platform)
                .bind(&identity.platform_user_id)
                .bind(&identity.display_name)
                .bind(now)
                .bind(now)
                .execute(&mut tx)
                .await?;
                if inserted == 0 {
                    // Another connection created this identity meanwhile
                    // (PostgreSQL): drop our user row, answer with theirs.
                    tx.rollback().await?;
                    let (user_id,): (i64,) = sql("SELECT user_id FROM user_identities \
                         WHERE platform = $1 AND platform_user_id = $2")
                    .bind(&identity.platform)
                    .bind(&identity.platform_user_id)
                    .write_one(self)
                    .await?;
                    return Ok(user_id);
                }
                new_id
            }
        };
        tx.commit().await?;
        Ok(user_id)
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
