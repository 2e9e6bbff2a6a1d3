//! What an adapter hands to the commands: who asked, where, in which language, what.

use crate::i18n::Locale;
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

/// What the asker may do, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    User,
    ChatAdmin,
    BotAdmin,
    Owner,
}

/// One command as asked, whatever the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub user: UserRef,
    pub chat: ChatRef,
    /// The language the platform reports for the user, if any: the default of a new chat.
    pub locale: Option<Locale>,
    pub role: Role,
    /// The command's name, lower case, without the slash.
    pub command: String,
    pub args: Vec<String>,
    /// The arguments as written, for commands whose arguments contain commas.
    pub raw_args: String,
}
