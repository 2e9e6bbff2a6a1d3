//! How scheduled posts and alerts leave the bot, without naming a platform: each
//! adapter (and the console, and Discord webhooks) implements [`Outbox`], and the
//! scheduler posts through the trait only. The scheduler knows no adapter module.

use async_trait::async_trait;
use chainsignal_commands::Reply;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a post did not arrive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The target refused for good (403, 404, blocked, deleted): counts toward disabling.
    #[error("refused: {0}")]
    Gone(String),
    #[error("failed: {0}")]
    Failed(String),
}

/// One platform's way to post a reply into a chat it knows by its platform id.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn send(&self, chat_id: &str, reply: &Reply) -> Result<(), SendError>;
}

/// Outboxes by platform name (`telegram`, `discord`, `discord-webhook`, `console`).
pub type Outboxes = HashMap<String, Arc<dyn Outbox>>;
