//! The one explicit list of commands. Adapters read it to register slash commands and
//! menus; help is generated from it.

use crate::invocation::Role;

/// Which handler runs the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Start,
    Help,
    Report,
    Summary,
    Lang,
    Subscribe,
    Unsubscribe,
    Schedule,
}

/// The kind of arguments a command takes, so adapters can offer typed options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// Zero or more symbols (`btc eth`).
    Symbols,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// One of a fixed set of words, or nothing.
    OptionalChoice(&'static [&'static str]),
    /// Free text (a sub-command and its arguments).
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    pub kind: CommandKind,
    /// Fluent key of the one-line description.
    pub description_key: &'static str,
    /// Fluent key of the argument synopsis, if any.
    pub usage_key: Option<&'static str>,
    pub args: ArgKind,
    /// Whether arguments may be written to the audit log (never for secrets).
    pub audit_args: bool,
    /// Who may run it.
    pub permission: Role,
    /// Listed in /help and in the platforms' command menus. `/start` is not: Telegram
    /// sends it by itself when someone opens the bot.
    pub menu: bool,
}

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "start",
        kind: CommandKind::Start,
        description_key: "cmd-start",
        usage_key: None,
        args: ArgKind::None,
        audit_args: true,
        menu: false,
        permission: Role::User,
    },
    CommandSpec {
        name: "help",
        kind: CommandKind::Help,
        description_key: "cmd-help",
        usage_key: None,
        args: ArgKind::None,
        audit_args: true,
        menu: true,
        permission: Role::User,
    },
    CommandSpec {
        name: "report",
        kind: CommandKind::Report,
        description_key: "cmd-report",
        usage_key: Some("arg-symbols"),
        args: ArgKind::Symbols,
        audit_args: true,
        menu: true,
        permission: Role::User,
    },
    CommandSpec {
        name: "summary",
        kind: CommandKind::Summary,
        description_key: "cmd-summary",
        usage_key: Some("arg-symbols"),
        args: ArgKind::Symbols,
        audit_args: true,
        menu: true,
        permission: Role::User,
    },
    CommandSpec {
        name: "lang",
        kind: CommandKind::Lang,
        description_key: "cmd-lang",
        usage_key: Some("arg-lang"),
        args: ArgKind::Choice(&["en", "pl"]),
        audit_args: true,
        menu: true,
        permission: Role::User,
    },
    CommandSpec {
        name: "subscribe",
        kind: CommandKind::Subscribe,
        description_key: "cmd-subscribe",
        usage_key: Some("arg-subscription"),
        args: ArgKind::Choice(&["reports", "alerts"]),
        audit_args: true,
        menu: true,
        permission: Role::ChatAdmin,
    },
    CommandSpec {
        name: "unsubscribe",
        kind: CommandKind::Unsubscribe,
        description_key: "cmd-unsubscribe",
        usage_key: Some("arg-subscription-optional"),
        args: ArgKind::OptionalChoice(&["reports", "alerts"]),
        audit_args: true,
        menu: true,
        permission: Role::ChatAdmin,
    },
    CommandSpec {
        name: "schedule",
        kind: CommandKind::Schedule,
        description_key: "cmd-schedule",
        usage_key: Some("arg-schedule"),
        args: ArgKind::Text,
        audit_args: true,
        menu: true,
        permission: Role::BotAdmin,
    },
];

/// The commands of the platforms' menus: everything but the bot admins' commands.
pub fn menu() -> impl Iterator<Item = &'static CommandSpec> {
    available_to(Role::ChatAdmin)
}

/// The commands someone with `role` may run, as /help lists them.
pub fn available_to(role: Role) -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(move |c| c.menu && c.permission <= role)
}

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
