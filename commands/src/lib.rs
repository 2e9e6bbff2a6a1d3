//! Chainsignal's command surface, transport-neutral. An adapter turns a platform event
//! into an [`Invocation`], calls [`Commands::run`], and renders the [`Reply`]. A command
//! written here appears on every platform.

pub mod format;
mod handlers;
pub mod i18n;
pub mod invocation;
pub mod parser;
pub mod registry;
pub mod reply;
pub mod report_view;
pub mod sanitize;
pub mod summary;
pub mod symbols;

pub use i18n::{I18n, Locale};
pub use invocation::{ChatKind, ChatRef, Invocation, Platform, Role, UserRef};
pub use registry::{COMMANDS, CommandSpec};
pub use reply::{Action, Align, Attachment, Block, Reply, Tone, Visibility};

use chainsignal_core::report::ReportBuilder;
use chainsignal_core::store::{AuditEntry, ChatKey, Identity, Outcome, Store};
use chainsignal_core::symbol::Symbol;
use std::sync::Arc;
use std::time::Instant;

/// Most symbols in one report, on every path (defined once, in core).
pub use chainsignal_core::symbol::MAX_REPORT_SYMBOLS;

/// What commands need from the rest of the program.
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Store,
    pub reports: ReportBuilder,
    pub i18n: Arc<I18n>,
    pub watchlist: Vec<Symbol>,
    /// Quote asset appended to bare symbols.
    pub quote: String,
    pub default_locale: Locale,
    /// `None` without an API key: summaries are rule-based.
    pub ai: Option<chainsignal_core::ai::AiClient>,
    pub ai_limits: summary::AiLimits,
    /// The schedules of the config file (those in the database are read when needed).
    pub schedules: Vec<chainsignal_core::schedule::ScheduleDef>,
}

/// Why a command could not do what was asked. Users see a localized sentence chosen
/// by the variant; the detail goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The user's fault: show this localized message (key, arguments).
    #[error("user error: {key}")]
    User {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    #[error("storage: {0}")]
    Store(#[from] chainsignal_core::store::StoreError),
    /// The asker's role is below what the command needs.
    #[error("permission denied: {0:?} needed")]
    Denied(Role),
}

impl CommandError {
    pub fn user(key: &'static str) -> Self {
        Self::User {
            key,
            args: Vec::new(),
        }
    }

    pub fn user_with(key: &'static str, args: Vec<(&'static str, String)>) -> Self {
        Self::User { key, args }
    }
}

/// The per-invocation context a handler gets.
pub struct Ctx<'a> {
    pub services: &'a Services,
    pub invocation: &'a Invocation,
    /// The chat's language, as stored (or the default for a new chat).
    pub locale: Locale,
    pub chat: ChatKey,
    pub user_id: Option<i64>,
}

impl Ctx<'_> {
    pub fn t(&self, key: &str) -> String {
        self.services.i18n.t(self.locale, key)
    }

    pub fn tr(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.services.i18n.tr(self.locale, key, args)
    }
}

/// What a handler returns: the reply and how the run should be audited.
pub struct Handled {
    pub reply: Reply,
    pub outcome: Outcome,
    /// Short machine-readable detail for the audit log (error codes), never secrets.
    pub detail: Option<String>,
}

impl From<Reply> for Handled {
    fn from(reply: Reply) -> Self {
        Self {
            reply,
            outcome: Outcome::Ok,
            detail: None,
        }
    }
}

/// The command runner shared by every adapter.
#[derive(Debug, Clone)]
pub struct Commands {
    services: Services,
}

impl Commands {
    pub fn new(services: Services) -> Self {
        Self { services }
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The language of a chat (creating its record on first sight).
    pub async fn chat_locale(&self, chat: &ChatRef, hint: Option<Locale>) -> Locale {
        let key = chat_key(chat);
        let default = hint.unwrap_or(self.services.default_locale);
        match self.services.store.ensure_chat(&key, default.code()).await {
            Ok(record) => {
                if !record.active {
                    // A message from the chat proves it is reachable again (unblocked, re-added).
                    if let Err(e) = self.services.store.set_chat_active(&key, true).await {
                        tracing::warn!(error = %e, "could not reactivate a chat");
                    }
                }
                Locale::from_tag(&record.locale).unwrap_or(default)
            }
            Err(e) => {
                tracing::warn!(error = %e, "chat record unavailable; using the default language");
                default
            }
        }
    }

    /// An answer for text that could not be parsed as a command, in the chat's language.
    pub async fn parse_error_reply(
        &self,
        chat: &ChatRef,
        hint: Option<Locale>,
        error: &parser::ParseError,
    ) -> Reply {
        let locale = self.chat_locale(chat, hint).await;
        let key = match error {
            parser::ParseError::TooLong => "error-too-long",
            parser::ParseError::BadName => "error-not-a-command",
        };
        Reply::error(self.services.i18n.t(locale, key))
    }

    /// Run one invocation: resolve the chat's language, run the command, audit it.
    /// Never fails: every error becomes a localized reply.
    pub async fn run(&self, invocation: &Invocation) -> Reply {
        let started = Instant::now();
        let locale = self.chat_locale(&invocation.chat, invocation.locale).await;
        let identity = Identity {
            platform: invocation.user.platform.as_str().into(),
            platform_user_id: invocation.user.id.clone(),
            display_name: invocation.user.display_name.clone(),
        };
        let user_id = match self.services.store.ensure_user(&identity).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "user record unavailable");
                None
            }
        };
        let ctx = Ctx {
            services: &self.services,
            invocation,
            locale,
            chat: chat_key(&invocation.chat),
            user_id,
        };
        let spec = registry::find(&invocation.command);
        let result = match spec {
            Some(spec) if invocation.role < spec.permission => Err(CommandError::Denied(spec.permission)),
            Some(spec) => handlers::dispatch(spec, &ctx).await,
            None => Err(CommandError::user_with(
                "error-unknown-command",
                vec![("command", invocation.command.clone())],
            )),
        };
        // A handler may change the chat's language (/lang): answer in the new one.
        let handled = match result {
            Ok(h) => h,
            Err(CommandError::User { key, args }) => {
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                Handled {
                    reply: Reply::error(self.services.i18n.tr(locale, key, &args)),
                    outcome: Outcome::UserError,
                    detail: Some(key.to_string()),
                }
            }
            Err(CommandError::Denied(needed)) => Handled {
                reply: Reply::error(self.services.i18n.t(
                    locale,
                    if needed >= Role::BotAdmin {
                        "permission-bot-admin"
                    } else {
                        "permission-chat-admin"
                    },
                )),
                outcome: Outcome::Denied,
                detail: None,
            },
            Err(e) => {
                tracing::error!(command = %invocation.command, error = %e, "command failed");
                Handled {
                    reply: Reply::error(self.services.i18n.t(locale, "error-internal")),
                    outcome: Outcome::Failed,
                    detail: Some("internal".into()),
                }
            }
        };
        let command = spec.map(|s| s.name).unwrap_or("unknown");
        metrics::counter!("chainsignal_commands_total", "command" => command, "outcome" => handled.outcome.as_str())
            .increment(1);
        metrics::histogram!("chainsignal_command_duration_seconds", "command" => command)
            .record(started.elapsed().as_secs_f64());
        let entry = AuditEntry {
            at: chrono::Utc::now(),
            platform: invocation.chat.platform.as_str().into(),
            platform_user_id: invocation.user.id.clone(),
            platform_chat_id: invocation.chat.id.clone(),
            command: spec.map(|s| s.name).unwrap_or("unknown").into(),
            args: audit_args(spec, invocation),
            outcome: handled.outcome,
            detail: handled.detail,
            duration_ms: started.elapsed().as_millis() as i64,
        };
        if let Err(e) = self.services.store.record_audit(&entry).await {
            tracing::warn!(error = %e, "audit log write failed");
        }
        handled.reply
    }
}

pub fn chat_key(chat: &ChatRef) -> ChatKey {
    ChatKey {
        platform: chat.platform.as_str().into(),
        platform_chat_id: chat.id.clone(),
    }
}

/// Arguments as recorded in the audit log: only commands that declare their arguments
/// safe have them recorded, cut to a sane length.
fn audit_args(spec: Option<&CommandSpec>, invocation: &Invocation) -> String {
    match spec {
        Some(s) if s.audit_args => {
            let joined = invocation.args.join(" ");
            joined.chars().take(200).collect()
        }
        Some(_) => "[not recorded]".into(),
        None => String::new(),
    }
}
