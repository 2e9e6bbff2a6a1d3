//! Telegram as a scheduler [`Outbox`]: chats by their numeric id, through the adapter's
//! paced sender.

use super::{Sender, Target, is_unreachable};
use crate::delivery::{Outbox, SendError};
use async_trait::async_trait;
use chainsignal_commands::Reply;
use std::sync::Arc;
use teloxide::types::ChatId;

/// Telegram chats, through the adapter's paced sender.
pub struct TelegramOutbox(pub Arc<Sender>);

#[async_trait]
impl Outbox for TelegramOutbox {
    async fn send(&self, chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        let id: i64 = chat_id
            .parse()
            .map_err(|_| SendError::Gone("not a Telegram chat id".into()))?;
        let target = Target {
            chat: ChatId(id),
            thread: None,
            group: id < 0,
        };
        self.0.send_reply(target, reply).await.map_err(|e| {
            if is_unreachable(&e) {
                SendError::Gone(e.to_string())
            } else {
                SendError::Failed(e.to_string())
            }
        })
    }
}
