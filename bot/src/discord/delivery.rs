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
