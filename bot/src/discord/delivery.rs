//! Discord as a scheduler [`Outbox`]: channels that said `/subscribe`, through the
//! adapter's REST client.

use crate::delivery::{Outbox, SendError};
use async_trait::async_trait;
use chainsignal_commands::Reply;
use std::sync::Arc;

/// Discord channels that said `/subscribe`, through the adapter's REST client.
pub struct DiscordOutbox(pub Arc<serenity::http::Http>);

#[async_trait]
impl Outbox for DiscordOutbox {
    async fn send(&self, chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        let id: u64 = chat_id
            .parse()
            .map_err(|_| SendError::Gone("not a Discord channel id".into()))?;
        super::post(&self.0, id, reply).await.map_err(|e| match &e {
            serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
                if matches!(r.status_code.as_u16(), 403 | 404) =>
            {
                SendError::Gone(format!("HTTP {}", r.status_code.as_u16()))
            }
            _ => SendError::Failed(e.to_string()),
        })
    }
}

/// Private messages (approval requests) in DM channels, opened as needed.
pub struct DiscordMessenger(pub Arc<serenity::http::Http>);

#[async_trait]
impl chainsignal_commands::PrivateMessenger for DiscordMessenger {
    async fn private_chat(&self, user_id: &str) -> Option<String> {
        let id: u64 = user_id.parse().ok().filter(|id| *id > 0)?;
        match serenity::all::UserId::new(id).create_dm_channel(&*self.0).await {
            Ok(channel) => Some(channel.id.get().to_string()),
            Err(e) => {
                tracing::info!(error = %e, "a Discord DM channel could not be opened");
                None
            }
        }
    }

    async fn send(&self, chat_id: &str, reply: &Reply) -> Option<String> {
        let id: u64 = chat_id.parse().ok().filter(|id| *id > 0)?;
        let m = super::render::message(reply);
        let message = serenity::all::CreateMessage::new()
            .embed(m.embed)
            .components(m.components)
            .allowed_mentions(super::render::no_mentions());
        match serenity::all::ChannelId::new(id)
            .send_message(&*self.0, message)
            .await
        {
            Ok(sent) => Some(sent.id.get().to_string()),
            Err(e) => {
                tracing::info!(error = %e, "a Discord DM was not sent");
                None
            }
        }
    }

    async fn edit(&self, chat_id: &str, message_id: &str, reply: &Reply) -> bool {
        let (Some(ch), Some(msg)) = (
            chat_id.parse::<u64>().ok().filter(|id| *id > 0),
            message_id.parse::<u64>().ok().filter(|id| *id > 0),
        ) else {
            return false;
        };
        let m = super::render::message(reply);
        let edit = serenity::all::EditMessage::new()
            .embed(m.embed)
            .components(m.components)
            .allowed_mentions(super::render::no_mentions());
        match serenity::all::ChannelId::new(ch)
            .edit_message(&*self.0, serenity::all::MessageId::new(msg), edit)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                tracing::info!(error = %e, "a Discord DM was not edited");
                false
            }
        }
    }
}
