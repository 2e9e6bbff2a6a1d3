//! The outboxes the scheduler owns itself: Discord webhooks and the console. The
//! adapters' outboxes live with the adapters (each adapter's `delivery` module);
//! the trait is [`crate::delivery::Outbox`].

pub use crate::delivery::{Outbox, Outboxes, SendError};
use async_trait::async_trait;
use backon::{ConstantBuilder, Retryable};
use chainsignal_commands::{Block, Reply};
use chainsignal_core::pacing::{Pacer, PacerLimits, Rate, server_wait, server_wait_secs};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Mutex;

/// The id a webhook URL is known by: a digest, since the URL itself is a secret.
pub fn webhook_id(url: &SecretString) -> String {
    let digest = Sha256::digest(url.expose_secret().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Discord webhooks: Markdown text, no mentions, split under 2000 characters, paced
/// (Discord allows about 5 requests per 2 s per webhook), `retry_after` honoured.
pub struct DiscordWebhookOutbox {
    http: reqwest::Client,
    urls: HashMap<String, SecretString>,
    pacer: Pacer,
}

const DISCORD_LIMIT: usize = 2000;
/// The longest `retry_after` a webhook post waits for; a longer one fails the post.
const WEBHOOK_MAX_WAIT: Duration = Duration::from_secs(60);

impl DiscordWebhookOutbox {
    pub fn new(urls: &[SecretString]) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        let pacer = Pacer::new(PacerLimits {
            overall: Rate::new(30, Duration::from_secs(1)),
            per_chat: Rate::new(5, Duration::from_secs(2)),
            per_group: Rate::new(30, Duration::from_secs(60)),
        });
        Self {
            http,
            urls: urls.iter().map(|u| (webhook_id(u), u.clone())).collect(),
            pacer,
        }
    }

    pub fn ids(&self) -> Vec<String> {
        self.urls.keys().cloned().collect()
    }
}

/// A reply as Discord Markdown: bold title, tables in code blocks, italic footer.
pub fn discord_markdown(reply: &Reply) -> Vec<String> {
    let reply = &reply.sanitized();
    let mut parts: Vec<String> = Vec::new();
    for block in &reply.blocks {
        parts.push(match block {
            Block::Title(t) => format!("**{}**", t.replace('*', "\\\\*")),
            Block::Paragraph(p) => p.clone(),
            Block::Fields(f) => f
                .iter()
                .map(|(k, v)| format!("**{k}**: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Table { headers, align, rows } => {
                format!(
                    "```\n{}\n```",
                    chainsignal_commands::reply::render_table(headers, align, rows)
                )
            }
            Block::List(items) => items
                .iter()
                .map(|i| format!("- {i}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Footer(f) => format!("*{f}*"),
        });
    }
    // Split between blocks; a block longer than the limit is cut at lines.
    let mut messages = Vec::new();
    let mut current = String::new();
    for part in parts {
        for line in split_long(&part, DISCORD_LIMIT) {
            if !current.is_empty() && current.chars().count() + 2 + line.chars().count() > DISCORD_LIMIT {
                messages.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(&line);
        }
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

fn split_long(text: &str, limit: usize) -> Vec<String> {
    if text.chars().count() <= limit {
        return vec![text.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if current.chars().count() + line.chars().count() + 1 > limit - 8 && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push_str(&line.chars().take(limit - 8).collect::<String>());
        current.push('\n');
    }
    out.push(current);
    out
}

/// How one webhook post ended when it did not arrive.
enum PostError {
    /// 429: Discord's wait (capped; junk means a second) before the same post again.
    RateLimited(Duration),
    Send(SendError),
}

impl DiscordWebhookOutbox {
    /// One paced `POST`; only a 429 is worth another try.
    async fn post_once(
        &self,
        url: &SecretString,
        chat_id: &str,
        body: &serde_json::Value,
    ) -> Result<(), PostError> {
        self.pacer.acquire(chat_id, false).await;
        let response = self
            .http
            .post(url.expose_secret())
            .query(&[("wait", "true")])
            .json(body)
            .send()
            .await
            // Never the URL in an error: it holds the webhook's token.
            .map_err(|e| {
                PostError::Send(SendError::Failed(
                    if e.is_timeout() {
                        "timeout"
                    } else {
                        "request failed"
                    }
                    .into(),
                ))
            })?;
        let status = response.status();
        metrics::counter!(
            "chainsignal_outbound_requests_total",
            "service" => "discord-webhook",
            "status" => status.as_str().to_string()
        )
        .increment(1);
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() == 429 {
            // Discord's body says it exactly; the header in whole seconds. Either may be
            // anything: capped, and NaN or junk means a second.
            let default = Duration::from_secs(1);
            let header = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(|v| server_wait(v, default));
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let wait = body["retry_after"]
                .as_f64()
                .map(|s| server_wait_secs(s, default))
                .or(header)
                .unwrap_or(default);
            return Err(PostError::RateLimited(wait));
        }
        Err(PostError::Send(match status.as_u16() {
            401 | 403 | 404 => SendError::Gone(format!("HTTP {}", status.as_u16())),
            code => SendError::Failed(format!("HTTP {code}")),
        }))
    }
}

#[async_trait]
impl Outbox for DiscordWebhookOutbox {
    async fn send(&self, chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        let url = self
            .urls
            .get(chat_id)
            .ok_or_else(|| SendError::Gone("webhook no longer configured".into()))?;
        for content in discord_markdown(reply) {
            let body = serde_json::json!({"content": content, "allowed_mentions": {"parse": []}});
            // Up to 3 more tries after a 429, each after the wait Discord names (the
            // policy's own delay is not used: the server dictates every wait).
            let mut dropped = false;
            let once = || self.post_once(url, chat_id, &body);
            let posted = once
                .retry(ConstantBuilder::new().with_max_times(3))
                .sleep(tokio::time::sleep)
                .when(|e| matches!(e, PostError::RateLimited(_)))
                .adjust(|e, next| {
                    let (PostError::RateLimited(wait), Some(_)) = (e, next) else {
                        return None;
                    };
                    if *wait > WEBHOOK_MAX_WAIT {
                        // Longer than a post is worth holding the scheduler for: give up
                        // this one (recorded as failed) rather than sleep.
                        tracing::warn!(?wait, "discord webhook rate limited for too long; post dropped");
                        dropped = true;
                        return None;
                    }
                    Some(*wait)
                })
                .notify(|_, wait| tracing::warn!(?wait, "discord webhook rate limited"))
                .await;
            posted.map_err(|e| match e {
                PostError::Send(e) => e,
                PostError::RateLimited(_) if dropped => SendError::Failed("rate limited".into()),
                PostError::RateLimited(_) => SendError::Failed("HTTP 429".into()),
            })?;
        }
        Ok(())
    }
}

/// The console (`demo`, `run --console`): plain text on a writer.
pub struct ConsoleOutbox {
    out: Mutex<Box<dyn AsyncWrite + Send + Unpin>>,
}

impl ConsoleOutbox {
    pub fn new(out: Box<dyn AsyncWrite + Send + Unpin>) -> Self {
        Self { out: Mutex::new(out) }
    }
}

#[async_trait]
impl Outbox for ConsoleOutbox {
    async fn send(&self, _chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        let text = format!("\n{}\n\n", reply.to_plain_text());
        let mut out = self.out.lock().await;
        out.write_all(text.as_bytes())
            .await
            .map_err(|e| SendError::Failed(e.to_string()))?;
        out.flush().await.map_err(|e| SendError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_fits_discord() {
        let rows: Vec<Vec<String>> = (0..300).map(|i| vec![format!("S{i}"), "1.0".into()]).collect();
        let reply = Reply::default()
            .block(Block::Title("T".into()))
            .block(Block::Table {
                headers: vec!["a".into(), "b".into()],
                align: vec![
                    chainsignal_commands::Align::Left,
                    chainsignal_commands::Align::Right,
                ],
                rows,
            });
        let messages = discord_markdown(&reply);
        assert!(messages.len() > 1);
        assert!(messages.iter().all(|m| m.chars().count() <= DISCORD_LIMIT));
        assert!(messages[0].starts_with("**T**"));
    }

    #[test]
    fn webhook_ids_hide_the_url() {
        let url = SecretString::from("https://discord.com/api/webhooks/1/secret-token".to_string());
        let id = webhook_id(&url);
        assert_eq!(id.len(), 16);
        assert!(!id.contains("secret"));
    }
}
