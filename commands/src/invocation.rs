//! What an adapter hands to the commands: who asked, where, in which language, what.

use crate::i18n::Locale;
use crate::options::RawInput;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Telegram,
    Discord,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub platform: Platform,
    /// The platform's id for the user, as text (Discord snowflakes, Telegram ids).
    pub id: String,
    pub display_name: Option<String>,
    /// The platform username without `@` (Telegram), when the person has one.
    pub username: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Private,
    Group,
    Channel,
}

/// A chat, group, channel or the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRef {
    pub platform: Platform,
    pub id: String,
    pub kind: ChatKind,
}

/// What the asker may do, from least to most. Decided by [`crate::Commands`] from the
/// config (owners), the account's stored role and the console, never by an adapter.
/// Administering a chat (for `/subscribe`) is not a role: it is a per-chat fact
/// ([`Invocation::chat_admin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Gets one line for any command.
    Blocked,
    /// Waiting for an admin's approval (`access.mode = "approval"`): /start, /help, /link.
    Pending,
    /// Read-only commands.
    Viewer,
    Trader,
    Admin,
    /// From the config (`admins.telegram`, `admins.discord`) and the console; never stored.
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Blocked => "blocked",
            Role::Pending => "pending",
            Role::Viewer => "viewer",
            Role::Trader => "trader",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

/// One command as asked, whatever the platform.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The platform's id of the event (Discord interaction id, Telegram update id, a
    /// console counter): a retried event with the same id does nothing twice.
    pub request_id: String,
    pub user: UserRef,
    pub chat: ChatRef,
    /// The language the platform reports for the user, if any: the default of a new chat.
    pub locale: Option<Locale>,
    /// A fact only the platform knows: the asker administers this chat (Telegram
    /// owner/administrator, Discord Manage Server). Private chats are their own.
    pub chat_admin: bool,
    /// The command's name, lower case, without the slash.
    pub command: String,
    /// The arguments as received, decoded by the command's declared options.
    pub input: RawInput,
    /// The platform id of the author of the message replied to (Telegram), the default
    /// of a missing user option.
    pub reply_to: Option<String>,
}

/// A button pressed (Telegram callback query, Discord component, console `/confirm N`).
#[derive(Debug, Clone)]
pub struct ActionPress {
    /// The platform's id of the press: a retried press does nothing twice.
    pub request_id: String,
    pub user: UserRef,
    pub chat: ChatRef,
    pub locale: Option<Locale>,
    pub chat_admin: bool,
    /// The button's data, as [`crate::reply::Button::data`] carried it.
    pub data: String,
}
