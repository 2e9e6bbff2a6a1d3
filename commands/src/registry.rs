//! The one explicit list of commands. Adapters read it to register slash commands and
//! menus; help is generated from it.

/// Which handler runs the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Start,
    Help,
    Report,
    Summary,
    Lang,
}

/// The kind of arguments a command takes, so adapters can offer typed options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    None,
    /// Zero or more symbols (`btc eth`).
    Symbols,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
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
    },
    CommandSpec {
        name: "help",
        kind: CommandKind::Help,
        description_key: "cmd-help",
        usage_key: None,
        args: ArgKind::None,
        audit_args: true,
        menu: true,
    },
    CommandSpec {
        name: "report",
        kind: CommandKind::Report,
        description_key: "cmd-report",
        usage_key: Some("arg-symbols"),
        args: ArgKind::Symbols,
        audit_args: true,
        menu: true,
    },
    CommandSpec {
        name: "summary",
        kind: CommandKind::Summary,
        description_key: "cmd-summary",
        usage_key: Some("arg-symbols"),
        args: ArgKind::Symbols,
        audit_args: true,
        menu: true,
    },
    CommandSpec {
        name: "lang",
        kind: CommandKind::Lang,
        description_key: "cmd-lang",
        usage_key: Some("arg-lang"),
        args: ArgKind::Choice(&["en", "pl"]),
        audit_args: true,
        menu: true,
    },
];

/// The commands shown in /help and in the platforms' menus.
pub fn menu() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(|c| c.menu)
}

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
