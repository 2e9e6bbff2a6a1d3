//! The one explicit list of commands. Adapters read it to register slash commands and
//! menus; help is generated from it.

use crate::invocation::Role;
use crate::options::{self, OptionKind, OptionSpec, SubSpec};

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
    Keys,
    Link,
    Unlink,
    Whoami,
    /// `/audit`: the asker's own last actions.
    Audit,
    /// `/admin <sub>`: `handlers/admin.rs` (accounts) and `handlers/admin_*.rs`.
    Admin,
    /// `/mode`: where the account's orders go (paper, testnet, live).
    Mode,
    /// `/open`: a preview with Confirm, then the order.
    Open,
    /// `/close ID|SYMBOL|all`.
    Close,
    /// `/positions [history [n]]`.
    Positions,
    /// `/paper reset`.
    Paper,
    /// `/settings [tz ZONE]`: the account's settings (issue 16).
    Settings,
    /// `/risk [show|profile]`: the account's risk profile and limits.
    Risk,
    /// `/liq SYMBOL long|short ENTRY LEV`: the liquidation price calculator.
    Liq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    pub kind: CommandKind,
    /// Fluent key of the one-line description.
    pub description_key: &'static str,
    /// The command's typed options (none when it has sub-commands).
    pub options: &'static [OptionSpec],
    /// Sub-commands, each with its own options (`/schedule add …`).
    pub subs: &'static [SubSpec],
    /// The sub-command run when none is named (`/schedule` lists).
    pub default_sub: Option<&'static str>,
    /// The least role that may run it (see [`crate::access::check`]).
    pub permission: Role,
    /// Also needs the chat's administrator (the platform's word; a private chat is the
    /// asker's own), unless the asker is an admin.
    pub chat_admin: bool,
    /// Listed in /help and in the platforms' command menus. `/start` is not: Telegram
    /// sends it by itself when someone opens the bot.
    pub menu: bool,
}

impl CommandSpec {
    /// The usage lines to show after a mistake in `input`: the named sub-command's
    /// line when there is one, else every line.
    pub fn usage_for(&self, input: &options::RawInput) -> Vec<String> {
        let named = match input {
            options::RawInput::Text(t) => t.split_whitespace().next(),
            options::RawInput::Named { sub, .. } => sub.as_deref(),
        };
        match named.and_then(|n| self.subs.iter().find(|s| s.name.eq_ignore_ascii_case(n))) {
            Some(sub) => vec![options::usage(self.name, Some(sub.name), sub.options)],
            None => self.usage(),
        }
    }

    /// Usage lines: one per sub-command, or one for the command.
    pub fn usage(&self) -> Vec<String> {
        if self.subs.is_empty() {
            vec![options::usage(self.name, None, self.options)]
        } else {
            self.subs
                .iter()
                .map(|s| options::usage(self.name, Some(s.name), s.options))
                .collect()
        }
    }
}

const SYMBOLS: &[OptionSpec] =
    &[OptionSpec::new("symbols", OptionKind::Symbols, "option-symbols").autocomplete()];
const KINDS: &[&str] = &["reports", "alerts"];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "start",
        kind: CommandKind::Start,
        description_key: "cmd-start",
        // Telegram deep links send `/start <payload>`: taken, not refused.
        options: &[OptionSpec::new(
            "payload",
            OptionKind::Text,
            "option-start-payload",
        )],
        subs: &[],
        default_sub: None,
        menu: false,
        permission: Role::Pending,
        chat_admin: false,
    },
    CommandSpec {
        name: "help",
        kind: CommandKind::Help,
        description_key: "cmd-help",
        options: &[OptionSpec::new(
            "command",
            OptionKind::Word,
            "option-help-command",
        )],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Pending,
        chat_admin: false,
    },
    CommandSpec {
        name: "report",
        kind: CommandKind::Report,
        description_key: "cmd-report",
        options: SYMBOLS,
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "summary",
        kind: CommandKind::Summary,
        description_key: "cmd-summary",
        options: SYMBOLS,
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "lang",
        kind: CommandKind::Lang,
        description_key: "cmd-lang",
        // Without a value, /lang tells the current language and how to change it.
        options: &[OptionSpec::new(
            "language",
            OptionKind::Choice(&["en", "pl"]),
            "option-language",
        )],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "subscribe",
        kind: CommandKind::Subscribe,
        description_key: "cmd-subscribe",
        options: &[OptionSpec::new("what", OptionKind::Choice(KINDS), "option-subscription").required()],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Trader,
        chat_admin: true,
    },
    CommandSpec {
        name: "unsubscribe",
        kind: CommandKind::Unsubscribe,
        description_key: "cmd-unsubscribe",
        options: &[OptionSpec::new(
            "what",
            OptionKind::Choice(KINDS),
            "option-subscription",
        )],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Trader,
        chat_admin: true,
    },
    CommandSpec {
        name: "schedule",
        kind: CommandKind::Schedule,
        description_key: "cmd-schedule",
        options: &[],
        subs: &[
            SubSpec {
                name: "list",
                description_key: "sub-schedule-list",
                options: &[],
            },
            SubSpec {
                name: "add",
                description_key: "sub-schedule-add",
                options: &[
                    OptionSpec::new("name", OptionKind::Word, "option-schedule-name").required(),
                    OptionSpec::new("definition", OptionKind::Text, "option-schedule-definition").required(),
                ],
            },
            SubSpec {
                name: "remove",
                description_key: "sub-schedule-remove",
                options: &[OptionSpec::new("name", OptionKind::Word, "option-schedule-name").required()],
            },
            SubSpec {
                name: "rename",
                description_key: "sub-schedule-rename",
                options: &[
                    OptionSpec::new("name", OptionKind::Word, "option-schedule-name").required(),
                    OptionSpec::new("new_name", OptionKind::Word, "option-schedule-new-name").required(),
                ],
            },
        ],
        default_sub: Some("list"),
        menu: true,
        permission: Role::Admin,
        chat_admin: false,
    },
    CommandSpec {
        name: "mode",
        kind: CommandKind::Mode,
        description_key: "cmd-mode",
        options: &[OptionSpec::new(
            "mode",
            OptionKind::Choice(&["paper", "testnet", "live"]),
            "option-mode",
        )],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "open",
        kind: CommandKind::Open,
        description_key: "cmd-open",
        options: &[
            OptionSpec::new("symbol", OptionKind::Symbol, "option-open-symbol").required(),
            OptionSpec::new("side", OptionKind::Choice(&["long", "short"]), "option-open-side").required(),
            OptionSpec::new("size", OptionKind::Word, "option-open-size")
                .required()
                .lengths(1, 40),
            OptionSpec::new("sl", OptionKind::Decimal { positive: true }, "option-open-sl"),
            OptionSpec::new("tp", OptionKind::Decimal { positive: true }, "option-open-tp"),
            OptionSpec::new("lev", OptionKind::Integer { min: 1, max: 125 }, "option-open-lev"),
            // Set by the preview on its Confirm (named only when typed): the order goes
            // where the preview said, or nowhere.
            OptionSpec::new(
                "venue",
                OptionKind::Choice(&["paper", "testnet", "live"]),
                "option-open-venue",
            )
            .named(),
        ],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "close",
        kind: CommandKind::Close,
        description_key: "cmd-close",
        options: &[OptionSpec::new("what", OptionKind::Word, "option-close-what")
            .required()
            .lengths(1, 40)],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "positions",
        kind: CommandKind::Positions,
        description_key: "cmd-positions",
        options: &[],
        subs: &[
            SubSpec {
                name: "open",
                description_key: "sub-positions-open",
                options: &[],
            },
            SubSpec {
                name: "history",
                description_key: "sub-positions-history",
                options: &[OptionSpec::new(
                    "n",
                    OptionKind::Integer { min: 1, max: 50 },
                    "option-positions-n",
                )],
            },
        ],
        default_sub: Some("open"),
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "paper",
        kind: CommandKind::Paper,
        description_key: "cmd-paper",
        options: &[],
        subs: &[
            SubSpec {
                name: "status",
                description_key: "sub-paper-status",
                options: &[],
            },
            SubSpec {
                name: "reset",
                description_key: "sub-paper-reset",
                options: &[],
            },
        ],
        default_sub: Some("status"),
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "link",
        kind: CommandKind::Link,
        description_key: "cmd-link",
        // Without a code: show one (privately) to type on the other platform.
        options: &[OptionSpec::new("code", OptionKind::Word, "option-link-code").masked()],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Pending,
        chat_admin: false,
    },
    CommandSpec {
        name: "unlink",
        kind: CommandKind::Unlink,
        description_key: "cmd-unlink",
        options: &[],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "whoami",
        kind: CommandKind::Whoami,
        description_key: "cmd-whoami",
        options: &[],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Pending,
        chat_admin: false,
    },
    CommandSpec {
        name: "admin",
        kind: CommandKind::Admin,
        description_key: "cmd-admin",
        options: &[],
        // One line per sub-command in `ADMIN_SUBS`; handlers in `handlers/admin*.rs`.
        subs: ADMIN_SUBS,
        default_sub: Some("status"),
        menu: true,
        permission: Role::Admin,
        chat_admin: false,
    },
    CommandSpec {
        name: "keys",
        kind: CommandKind::Keys,
        description_key: "cmd-keys",
        options: &[],
        subs: &[
            SubSpec {
                name: "add",
                description_key: "sub-keys-add",
                // The secrets are not `required`: when missing they are asked privately
                // (a modal, a prompt without echo) rather than refused.
                options: &[
                    OptionSpec::new("exchange", OptionKind::Choice(EXCHANGES), "option-keys-exchange")
                        .required(),
                    OptionSpec::new("api_key", OptionKind::Word, "option-keys-api-key")
                        .secret()
                        .lengths(8, 256),
                    OptionSpec::new("secret", OptionKind::Word, "option-keys-secret")
                        .secret()
                        .lengths(8, 256),
                    OptionSpec::new("label", OptionKind::Word, "option-keys-label")
                        .lengths(1, 32)
                        .named(),
                ],
            },
            SubSpec {
                name: "list",
                description_key: "sub-keys-list",
                options: &[],
            },
            SubSpec {
                name: "remove",
                description_key: "sub-keys-remove",
                options: &[OptionSpec::new("label", OptionKind::Word, "option-keys-label-of")
                    .required()
                    .lengths(1, 32)],
            },
            SubSpec {
                name: "test",
                description_key: "sub-keys-test",
                options: &[
                    OptionSpec::new("label", OptionKind::Word, "option-keys-label-test").lengths(1, 32),
                ],
            },
        ],
        default_sub: Some("list"),
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "audit",
        kind: CommandKind::Audit,
        description_key: "cmd-audit",
        options: &[],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "settings",
        kind: CommandKind::Settings,
        description_key: "cmd-settings",
        options: &[],
        subs: &[
            SubSpec {
                name: "show",
                description_key: "sub-settings-show",
                options: &[],
            },
            SubSpec {
                name: "tz",
                description_key: "sub-settings-tz",
                options: &[OptionSpec::new("zone", OptionKind::Word, "option-settings-zone")
                    .required()
                    .lengths(1, 64)],
            },
        ],
        default_sub: Some("show"),
        menu: true,
        permission: Role::Trader,
        chat_admin: false,
    },
    CommandSpec {
        name: "risk",
        kind: CommandKind::Risk,
        description_key: "cmd-risk",
        options: &[],
        subs: &[
            SubSpec {
                name: "show",
                description_key: "sub-risk-show",
                options: &[],
            },
            SubSpec {
                name: "profile",
                description_key: "sub-risk-profile",
                options: &[],
            },
        ],
        default_sub: Some("show"),
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
    CommandSpec {
        name: "liq",
        kind: CommandKind::Liq,
        description_key: "cmd-liq",
        options: &[
            OptionSpec::new("symbol", OptionKind::Symbol, "option-liq-symbol").required(),
            OptionSpec::new("side", OptionKind::Choice(SIDES), "option-liq-side").required(),
            OptionSpec::new(
                "entry",
                OptionKind::Decimal { positive: true },
                "option-liq-entry",
            )
            .required(),
            OptionSpec::new("lev", OptionKind::Integer { min: 1, max: 125 }, "option-liq-lev").required(),
        ],
        subs: &[],
        default_sub: None,
        menu: true,
        permission: Role::Viewer,
        chat_admin: false,
    },
];

/// The sides of a position.
pub const SIDES: &[&str] = &["long", "short"];

/// The risk profiles (`core::trading::Profile`).
pub const PROFILES: &[&str] = &["conservative", "model2", "loose"];

/// The exchanges `/keys` knows.
pub const EXCHANGES: &[&str] = &["binance", "binance-testnet"];

/// The stored roles an admin may give (`owner` comes from the config only).
pub const ROLES: &[&str] = &["admin", "trader", "viewer", "pending", "blocked"];
const USER: OptionSpec = OptionSpec::new("user", OptionKind::User, "option-admin-user").required();

/// `/admin` sub-commands: adding one is a line here and an arm in `handlers/admin.rs`.
pub const ADMIN_SUBS: &[SubSpec] = &[
    ADMIN_STATUS,
    ADMIN_AUDIT,
    ADMIN_BROADCAST,
    SubSpec {
        name: "users",
        description_key: "sub-admin-users",
        options: &[
            OptionSpec::new("role", OptionKind::Choice(ROLES), "option-admin-role-filter"),
            OptionSpec::new(
                "page",
                OptionKind::Integer { min: 1, max: 10_000 },
                "option-admin-page",
            ),
        ],
    },
    SubSpec {
        name: "approve",
        description_key: "sub-admin-approve",
        options: &[USER],
    },
    SubSpec {
        name: "deny",
        description_key: "sub-admin-deny",
        options: &[USER],
    },
    SubSpec {
        name: "block",
        description_key: "sub-admin-block",
        options: &[
            USER,
            OptionSpec::new("reason", OptionKind::Text, "option-admin-reason"),
        ],
    },
    SubSpec {
        name: "unblock",
        description_key: "sub-admin-unblock",
        options: &[USER],
    },
    SubSpec {
        name: "role",
        description_key: "sub-admin-role",
        options: &[
            USER,
            OptionSpec::new("role", OptionKind::Choice(ROLES), "option-admin-role").required(),
        ],
    },
    SubSpec {
        name: "keys",
        description_key: "sub-admin-keys",
        options: &[],
    },
    SubSpec {
        name: "live",
        description_key: "sub-admin-live",
        options: &[
            USER,
            OptionSpec::new("allow", OptionKind::Choice(&["on", "off"]), "option-admin-live").required(),
        ],
    },
    ADMIN_RISK,
    ADMIN_RISK_COMPARE,
];

/// `/admin risk USER PROFILE`: `handlers/admin_risk.rs`.
const ADMIN_RISK: SubSpec = SubSpec {
    name: "risk",
    description_key: "sub-admin-risk",
    // Both or neither: without them, the accounts by daily limit used and exposure.
    options: &[
        OptionSpec::new("user", OptionKind::User, "option-admin-user"),
        OptionSpec::new(
            "profile",
            OptionKind::Choice(PROFILES),
            "option-admin-risk-profile",
        ),
    ],
};

/// `/admin risk-compare [days]`: `handlers/admin_risk.rs`.
const ADMIN_RISK_COMPARE: SubSpec = SubSpec {
    name: "risk-compare",
    description_key: "sub-admin-risk-compare",
    options: &[OptionSpec::new(
        "days",
        OptionKind::Integer { min: 1, max: 90 },
        "option-admin-risk-days",
    )],
};

/// `/admin status`
const ADMIN_STATUS: SubSpec = SubSpec {
    name: "status",
    description_key: "sub-admin-status",
    options: &[],
};

/// `/admin audit [user] [command] [since=24h] [n=20]`
const ADMIN_AUDIT: SubSpec = SubSpec {
    name: "audit",
    description_key: "sub-admin-audit",
    options: &[
        OptionSpec::new("user", OptionKind::User, "option-admin-audit-user"),
        OptionSpec::new("command", OptionKind::Word, "option-admin-audit-command"),
        OptionSpec::new(
            "since",
            OptionKind::Duration {
                max_secs: 366 * 86_400,
            },
            "option-admin-audit-since",
        ),
        OptionSpec::new(
            "n",
            OptionKind::Integer { min: 1, max: 1000 },
            "option-admin-audit-n",
        ),
    ],
};

/// `/admin broadcast TEXT`
const ADMIN_BROADCAST: SubSpec = SubSpec {
    name: "broadcast",
    description_key: "sub-admin-broadcast",
    options: &[OptionSpec::new("text", OptionKind::Text, "option-admin-broadcast-text").required()],
};

/// The commands of the platforms' menus: what a trader may run (not the admins' ones).
pub fn menu() -> impl Iterator<Item = &'static CommandSpec> {
    available_to(Role::Trader)
}

/// The commands someone with `role` may run, as /help lists them.
pub fn available_to(role: Role) -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter().filter(move |c| c.menu && c.permission <= role)
}

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}
