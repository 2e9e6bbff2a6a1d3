//! Messages the commands send by themselves, outside the answer to the asker: the
//! Approve / Deny request each admin gets about a pending person (edited once someone
//! decided), and the outcome told to that person. Each adapter registers its platform's
//! [`PrivateMessenger`] when it starts; a platform without one is skipped.

use crate::Services;
use crate::i18n::Locale;
use crate::invocation::Platform;
use crate::reply::Reply;
use async_trait::async_trait;
use chainsignal_core::store::ChatKey;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// One platform's private messages.
#[async_trait]
pub trait PrivateMessenger: Send + Sync {
    /// The private chat with a user, by the user's platform id (Telegram: the same id;
    /// Discord: a DM channel, opened if needed). `None` when it cannot be had.
    async fn private_chat(&self, user_id: &str) -> Option<String>;
    /// Post `reply`; the message's id when it was sent.
    async fn send(&self, chat_id: &str, reply: &Reply) -> Option<String>;
    /// Replace a message sent before (its buttons go with it unless `reply` has some).
    async fn edit(&self, chat_id: &str, message_id: &str, reply: &Reply) -> bool;
}

/// The messengers of the running adapters, by platform.
#[derive(Clone, Default)]
pub struct Messengers(Arc<RwLock<HashMap<Platform, Arc<dyn PrivateMessenger>>>>);

impl std::fmt::Debug for Messengers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let platforms: Vec<Platform> = self
            .0
            .read()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        f.debug_tuple("Messengers").field(&platforms).finish()
    }
}

impl Messengers {
    pub fn register(&self, platform: Platform, messenger: Arc<dyn PrivateMessenger>) {
        if let Ok(mut m) = self.0.write() {
            m.insert(platform, messenger);
        }
    }

    pub fn get(&self, platform: &str) -> Option<Arc<dyn PrivateMessenger>> {
        let m = self.0.read().ok()?;
        m.iter()
            .find(|(p, _)| p.as_str() == platform)
            .map(|(_, v)| v.clone())
    }
}

/// Send `render(locale)` to every private chat an account can be reached in (each of
/// its identities whose platform has a messenger), in that chat's language. True when
/// at least one went.
pub async fn tell_account(services: &Services, user_id: i64, render: impl Fn(Locale) -> Reply) -> bool {
    let identities = match services.store.identities(user_id).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "identities unavailable");
            return false;
        }
    };
    let mut sent = false;
    for identity in identities {
        let Some(messenger) = services.messengers.get(&identity.platform) else {
            continue;
        };
        let Some(chat_id) = messenger.private_chat(&identity.platform_user_id).await else {
            continue;
        };
        let chat = ChatKey {
            platform: identity.platform.clone(),
            platform_chat_id: chat_id.clone(),
        };
        let locale = match services
            .store
            .ensure_chat(&chat, services.default_locale.code())
            .await
        {
            Ok(record) => Locale::from_tag(&record.locale).unwrap_or(services.default_locale),
            Err(_) => services.default_locale,
        };
        if messenger.send(&chat_id, &render(locale)).await.is_some() {
            sent = true;
        } else {
            tracing::info!(platform = %identity.platform, "a private message to an account's owner did not go");
        }
    }
    sent
}
