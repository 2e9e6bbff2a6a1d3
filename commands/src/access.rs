//! Who may do what, decided here from the facts an adapter supplies and the config:
//! bot admins by platform id, chat administrators by the platform's word, the person at
//! the console as the owner. And how often: a per-user, per-command rate limit.

use crate::invocation::{ChatKind, ChatRef, Platform, Role, UserRef};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Per-user command limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Commands one person may run per minute, per command (a burst of as many).
    pub per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { per_minute: 30 }
    }
}

type Limiter = RateLimiter<
    (Platform, String, &'static str),
    DefaultKeyedStateStore<(Platform, String, &'static str)>,
    DefaultClock,
>;

/// Roles and rate limits, shared by every adapter of the process.
#[derive(Clone)]
pub struct Access {
    telegram_admins: Vec<String>,
    discord_admins: Vec<String>,
    limiter: Option<Arc<Limiter>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("telegram_admins", &self.telegram_admins.len())
            .field("discord_admins", &self.discord_admins.len())
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

impl Access {
    /// `per_minute` 0 turns the rate limit off.
    pub fn new(telegram_admins: Vec<String>, discord_admins: Vec<String>, limits: RateLimits) -> Self {
        let limiter =
            NonZeroU32::new(limits.per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))));
        Self {
            telegram_admins,
            discord_admins,
            limiter,
        }
    }

    /// What `user` may do in `chat`. `chat_admin` is the platform's word on this chat.
    pub fn role(&self, user: &UserRef, chat: &ChatRef, chat_admin: bool) -> Role {
        let admins = match user.platform {
            // The person at the console runs the process: they own it.
            Platform::Console => return Role::Owner,
            Platform::Telegram => &self.telegram_admins,
            Platform::Discord => &self.discord_admins,
        };
        if admins.contains(&user.id) {
            Role::BotAdmin
        } else if chat_admin || chat.kind == ChatKind::Private {
            // Everyone administers their own private chat.
            Role::ChatAdmin
        } else {
            Role::User
        }
    }

    /// Forget the people whose limits are back to full (called now and then, so the
    /// table does not grow with everyone ever seen).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Count one run of `command` by `user`: `Err(wait)` when over the limit. The console
    /// is not limited (it is the operator).
    pub fn check_rate(&self, user: &UserRef, command: &'static str) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if user.platform == Platform::Console {
            return Ok(());
        }
        limiter
            .check_key(&(user.platform, user.id.clone(), command))
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(platform: Platform, id: &str) -> UserRef {
        UserRef {
            platform,
            id: id.into(),
            display_name: None,
        }
    }

    fn chat(kind: ChatKind) -> ChatRef {
        ChatRef {
            platform: Platform::Telegram,
            id: "-100".into(),
            kind,
        }
    }

    #[test]
    fn roles_from_facts_and_config() {
        let access = Access::new(vec!["1".into()], vec![], RateLimits::default());
        let group = chat(ChatKind::Group);
        assert_eq!(
            access.role(&user(Platform::Telegram, "1"), &group, false),
            Role::BotAdmin
        );
        assert_eq!(
            access.role(&user(Platform::Telegram, "2"), &group, false),
            Role::User
        );
        assert_eq!(
            access.role(&user(Platform::Telegram, "2"), &group, true),
            Role::ChatAdmin
        );
        assert_eq!(
            access.role(&user(Platform::Telegram, "2"), &chat(ChatKind::Private), false),
            Role::ChatAdmin
        );
        // An id that is an admin on Telegram is nobody special on Discord.
        assert_eq!(
            access.role(&user(Platform::Discord, "1"), &group, false),
            Role::User
        );
        assert_eq!(
            access.role(&user(Platform::Console, "local"), &group, false),
            Role::Owner
        );
    }

    #[test]
    fn rate_limit_per_user_and_command() {
        let access = Access::new(vec![], vec![], RateLimits { per_minute: 2 });
        let a = user(Platform::Telegram, "a");
        assert!(access.check_rate(&a, "report").is_ok());
        assert!(access.check_rate(&a, "report").is_ok());
        let wait = access.check_rate(&a, "report").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        // Another command, another person: their own budgets.
        assert!(access.check_rate(&a, "summary").is_ok());
        assert!(
            access
                .check_rate(&user(Platform::Telegram, "b"), "report")
                .is_ok()
        );
        // Forgetting idle people keeps those still limited.
        access.forget_idle();
        assert!(access.check_rate(&a, "report").is_err());
        let off = Access::new(vec![], vec![], RateLimits { per_minute: 0 });
        for _ in 0..100 {
            assert!(off.check_rate(&a, "report").is_ok());
        }
    }
}
