//! The AI provider's ledger (calls, tokens, the cooldown's clock) and its summary cache.

use super::engine::{Engine, sql};
use super::{AiCall, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait AiStore: Send + Sync {
    async fn record_ai_call(&self, call: &AiCall) -> Result<(), StoreError>;
    /// Tokens spent since `since`, by one person (`Some((platform, id))`: summed over
    /// every identity of that identity's account) or by everyone.
    async fn ai_tokens_since(
        &self,
        since: DateTime<Utc>,
        user: Option<(&str, &str)>,
    ) -> Result<i64, StoreError>;
    /// When the person (any identity of the account) last called the model successfully (what the cooldown counts: a
    /// failed call must not keep the user from the next attempt).
    async fn last_ai_call(
        &self,
        platform: &str,
        platform_user_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn cached_summary(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn save_summary(&self, key: &str, locale: &str, model: &str, text: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<E: Engine> AiStore for E {
    async fn record_ai_call(&self, c: &AiCall) -> Result<(), StoreError> {
        sql(
            "INSERT INTO ai_calls (at, platform, platform_user_id, model, prompt_tokens, \
             completion_tokens, latency_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(c.at)
        .bind(&c.platform)
        .bind(&c.platform_user_id)
        .bind(&c.model)
        .bind(c.prompt_tokens)
        .bind(c.completion_tokens)
        .bind(c.latency_ms)
        .bind(&c.outcome)
        .write(self)
        .await?;
        Ok(())
    }

    async fn ai_tokens_since(
        &self,
        since: DateTime<Utc>,
        user: Option<(&str, &str)>,
    ) -> Result<i64, StoreError> {
        let (sum,): (Option<i64>,) = match user {
            Some((platform, id)) => {
                sql(
                    "SELECT CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) FROM ai_calls \
                     WHERE at >= $1 AND (platform, platform_user_id) IN (SELECT o.platform, o.platform_user_id \
                     FROM user_identities o JOIN user_identities me ON me.user_id = o.user_id \
                     WHERE me.platform = $2 AND me.platform_user_id = $3 \
                     UNION SELECT $2, $3)",
                )
                .bind(since)
                .bind(platform)
                .bind(id)
                .read_one(self)
                .await?
            }
            None => {
                sql(
                    "SELECT CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) FROM ai_calls \
                     WHERE at >= $1",
                )
                .bind(since)
                .read_one(self)
                .await?
            }
        };
        Ok(sum.unwrap_or(0))
    }

    async fn last_ai_call(
        &self,
        platform: &str,
        platform_user_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(DateTime<Utc>,)> = sql(
            "SELECT at FROM ai_calls WHERE (platform, platform_user_id) IN (SELECT o.platform, \
             o.platform_user_id FROM user_identities o JOIN user_identities me ON me.user_id = o.user_id \
             WHERE me.platform = $1 AND me.platform_user_id = $2 UNION SELECT $1, $2) \
             AND outcome = 'ok' ORDER BY at DESC LIMIT 1",
        )
        .bind(platform)
        .bind(platform_user_id)
        .read_optional(self)
        .await?;
        Ok(row.map(|(at,)| at))
    }

    async fn cached_summary(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = sql("SELECT text FROM ai_summaries WHERE cache_key = $1")
            .bind(key)
            .read_optional(self)
            .await?;
        Ok(row.map(|(t,)| t))
    }

    async fn save_summary(&self, key: &str, locale: &str, model: &str, text: &str) -> Result<(), StoreError> {
        sql(
            "INSERT INTO ai_summaries (cache_key, locale, model, created_at, text) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cache_key) DO NOTHING",
        )
        .bind(key)
        .bind(locale)
        .bind(model)
        .bind(Utc::now())
        .bind(text)
        .write(self)
        .await?;
        Ok(())
    }
}
