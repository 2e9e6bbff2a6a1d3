//! Who may do what: owners by platform id from the config (and the person at the
//! console), everyone else by the role stored on their account, new people by the access
//! mode; chat administrators by the platform's word, per chat. And how often: a
//! per-user, per-command rate limit.

use crate::invocation::{ChatKind, Platform, Role, UserRef};
use crate::registry::CommandSpec;
use chainsignal_core::store::StoredRole;
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

/// What new people are (`access.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessMode {
    /// New people are traders.
    #[default]
    Open,
    /// New people are pending until an admin approves them.
    Approval,
}

/// Why a command is refused to someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Blocked,
    Pending,
    /// A viewer asked for something that changes things.
    ReadOnly,
    NeedsAdmin,
    NeedsOwner,
    /// The command needs the chat's administrator (or an admin).
    ChatAdmin,
    /// The asker's role could not be read (storage outage): refused, fail closed.
    Unavailable,
}

impl Denial {
    /// The Fluent key of the one line the asker gets.
    pub fn key(self) -> &'static str {
        match self {
            Denial::Blocked => "access-blocked",
            Denial::Pending => "access-pending",
            Denial::ReadOnly => "permission-read-only",
            Denial::NeedsAdmin => "permission-bot-admin",
            Denial::NeedsOwner => "permission-owner",
            Denial::ChatAdmin => "permission-chat-admin",
            Denial::Unavailable => "access-unavailable",
        }
    }

    /// The audit detail.
    pub fn code(self) -> &'static str {
        match self {
            Denial::Blocked => "blocked",
            Denial::Pending => "pending",
            Denial::ReadOnly => "read_only",
            Denial::NeedsAdmin => "needs_admin",
            Denial::NeedsOwner => "needs_owner",
            Denial::ChatAdmin => "needs_chat_admin",
            Denial::Unavailable => "role_unavailable",
        }
    }
}

/// Whether `role` may run `spec` here. `chat_admin`: the platform says the asker
/// administers this chat (a private chat is their own).
pub fn check(role: Role, spec: &CommandSpec, chat_admin: bool, chat: ChatKind) -> Result<(), Denial> {
    if role == Role::Blocked {
        return Err(Denial::Blocked);
    }
    if role < spec.permission {
        return Err(match (role, spec.permission) {
            (Role::Pending, _) => Denial::Pending,
            (_, Role::Owner) => Denial::NeedsOwner,
            (_, Role::Admin) => Denial::NeedsAdmin,
            _ => Denial::ReadOnly,
        });
    }
    if spec.chat_admin && role < Role::Admin && !chat_admin && chat != ChatKind::Private {
        return Err(Denial::ChatAdmin);
    }
    Ok(())
}

/// The role a stored account role gives.
pub fn role_of(stored: StoredRole) -> Role {
    match stored {
        StoredRole::Admin => Role::Admin,
        StoredRole::Trader => Role::Trader,
        StoredRole::Viewer => Role::Viewer,
        StoredRole::Pending => Role::Pending,
        StoredRole::Blocked => Role::Blocked,
    }
}

/// Owners, the access mode and rate limits, shared by every adapter of the process.
#[derive(Clone)]
pub struct Access {
    telegram_admins: Vec<String>,
    discord_admins: Vec<String>,
    mode: AccessMode,
    limiter: Option<Arc<Limiter>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("telegram_admins", &self.telegram_admins.len())
            .field("discord_admins", &self.discord_admins.len())
            .field("mode", &self.mode)
            .field("rate_limited", &self.limiter.is_some())
            .finish()
    }
}

impl Access {
    /// `telegram_admins`, `discord_admins`: the owners, by platform user id.
    /// `per_minute` 0 turns the rate limit off.
    pub fn new(
        telegram_admins: Vec<String>,
        discord_admins: Vec<String>,
        mode: AccessMode,
        limits: RateLimits,
    ) -> Self {
        let limiter =
            NonZeroU32::new(limits.per_minute).map(|n| Arc::new(RateLimiter::keyed(Quota::per_minute(n))));
        Self {
            telegram_admins,
            discord_admins,
            mode,
            limiter,
        }
    }

    pub fn mode(&self) -> AccessMode {
        self.mode
    }

    /// The stored role of someone seen for the first time.
    pub fn new_role(&self) -> StoredRole {
        match self.mode {
            AccessMode::Open => StoredRole::Trader,
            AccessMode::Approval => StoredRole::Pending,
        }
    }

    /// Whether this platform identity is an owner: in the config, or at the console
    /// (the person at the console runs the process).
    pub fn is_owner(&self, platform: &str, id: &str) -> bool {
        match platform {
            "console" => true,
            "telegram" => self.telegram_admins.iter().any(|a| a == id),
            "discord" => self.discord_admins.iter().any(|a| a == id),
            _ => false,
        }
    }

    /// The owners' identities: (platform, platform user id).
    pub fn owners(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.telegram_admins
            .iter()
            .map(|id| ("telegram", id.as_str()))
            .chain(self.discord_admins.iter().map(|id| ("discord", id.as_str())))
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
            username: None,
        }
    }

    #[test]
    fn owners_from_config_and_the_console() {
        let access = Access::new(vec!["1".into()], vec![], AccessMode::Open, RateLimits::default());
        assert!(access.is_owner("telegram", "1"));
        assert!(!access.is_owner("telegram", "2"));
        // An id that is an owner on Telegram is nobody special on Discord.
        assert!(!access.is_owner("discord", "1"));
        assert!(access.is_owner("console", "local"));
        assert_eq!(access.new_role(), StoredRole::Trader);
        let approval = Access::new(vec![], vec![], AccessMode::Approval, RateLimits::default());
        assert_eq!(approval.new_role(), StoredRole::Pending);
    }

    #[test]
    fn who_may_run_what() {
        let spec = |name| crate::registry::find(name).unwrap();
        let group = ChatKind::Group;
        for name in ["start", "help", "report", "link", "admin"] {
            assert_eq!(
                check(Role::Blocked, spec(name), true, group),
                Err(Denial::Blocked)
            );
        }
        assert_eq!(check(Role::Pending, spec("link"), false, group), Ok(()));
        assert_eq!(check(Role::Pending, spec("help"), false, group), Ok(()));
        assert_eq!(
            check(Role::Pending, spec("report"), false, group),
            Err(Denial::Pending)
        );
        assert_eq!(check(Role::Viewer, spec("report"), false, group), Ok(()));
        assert_eq!(
            check(Role::Viewer, spec("subscribe"), true, group),
            Err(Denial::ReadOnly)
        );
        assert_eq!(
            check(Role::Trader, spec("subscribe"), false, group),
            Err(Denial::ChatAdmin)
        );
        assert_eq!(check(Role::Trader, spec("subscribe"), true, group), Ok(()));
        assert_eq!(
            check(Role::Trader, spec("subscribe"), false, ChatKind::Private),
            Ok(())
        );
        assert_eq!(check(Role::Admin, spec("subscribe"), false, group), Ok(()));
        assert_eq!(
            check(Role::Trader, spec("admin"), true, group),
            Err(Denial::NeedsAdmin)
        );
        assert_eq!(check(Role::Admin, spec("admin"), false, group), Ok(()));
        assert_eq!(check(Role::Owner, spec("schedule"), false, group), Ok(()));
    }

    #[test]
    fn rate_limit_per_user_and_command() {
        let access = Access::new(vec![], vec![], AccessMode::Open, RateLimits { per_minute: 2 });
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
        let off = Access::new(vec![], vec![], AccessMode::Open, RateLimits { per_minute: 0 });
        for _ in 0..100 {
            assert!(off.check_rate(&a, "report").is_ok());
        }
    }
}
