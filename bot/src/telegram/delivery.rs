//! Telegram as a scheduler [`Outbox`]: chats by their numeric id, through the adapter's
//! paced sender.

use super::{Sender, Target, is_unreachable};
use crate::delivery::{Outbox, SendError};
use async_trait::async_trait;
use chainsignal_commands::{PrivateMessenger, Reply};
use std::sync::Arc;
use teloxide::types::{ChatId, MessageId};

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

/// Private messages (approval requests): a Telegram private chat's id is the user's id.
pub struct TelegramMessenger(pub Arc<Sender>);

fn private_target(chat_id: &str) -> Option<Target> {
    let id: i64 = chat_id.parse().ok().filter(|id| *id > 0)?;
    Some(Target {
        chat: ChatId(id),
        thread: None,
        group: false,
    })
}

#[async_trait]
impl PrivateMessenger for TelegramMessenger {
    async fn private_chat(&self, user_id: &str) -> Option<String> {
        private_target(user_id).map(|_| user_id.to_string())
    }

    async fn send(&self, chat_id: &str, reply: &Reply) -> Option<String> {
        let target = private_target(chat_id)?;
        match self.0.send_reply_with_id(target, reply).await {
            Ok(id) => id.map(|m| m.0.to_string()),
            Err(e) => {
                tracing::info!(error = %e, "a private Telegram message was not sent");
                None
            }
        }
    }

    async fn edit(&self, chat_id: &str, message_id: &str, reply: &Reply) -> bool {
        let (Some(target), Ok(message)) = (private_target(chat_id), message_id.parse::<i32>()) else {
            return false;
        };
        match self.0.edit_text(target, MessageId(message), reply).await {
            Ok(()) => true,
            Err(e) => {
                tracing::info!(error = %e, "a private Telegram message was not edited");
                false
            }
        }
    }
}
