//! Chainsignal's command surface, transport-neutral. An adapter turns a platform event
//! into an [`Invocation`] (or an [`ActionPress`]), calls [`Commands::run`] (or
//! [`Commands::on_action`]), and renders the [`Reply`]. A command written here, with its
//! typed options in the registry, appears on every platform.

pub mod access;
mod approval;
pub mod format;
mod handlers;
pub mod i18n;
pub mod invocation;
pub mod key_check;
pub mod key_posture;
pub mod messenger;
pub mod options;
pub mod parser;
pub mod private;
pub mod registry;
pub mod reply;
pub mod report_view;
pub mod risk_context;
pub mod sanitize;
pub mod status;
pub mod summary;
pub mod symbols;
pub mod trade_view;
pub mod web_form;

pub use access::{Access, AccessMode, Denial, RateLimits};
pub use i18n::{I18n, Locale};
pub use invocation::{ActionPress, ChatKind, ChatRef, Invocation, Platform, Role, UserRef};
pub use key_check::SpotKeyCheck;
pub use messenger::{Messengers, PrivateMessenger};
pub use options::{Args, RawInput, RawValue};
pub use private::{FormField, PrivateForm};
pub use registry::{COMMANDS, CommandSpec};
pub use reply::{Align, Attachment, Block, Button, ButtonStyle, Reply, Tone, Visibility};

use chainsignal_core::report::ReportBuilder;
use chainsignal_core::store::{
    ActionRecord, AuditEntry, ChatKey, Identity, NewAction, Outcome, Store, StoredRole,
};
use chainsignal_core::symbol::Symbol;
use chrono::Utc;
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
    /// Who is who (owners from the config, the access mode) and the per-user rate limits.
    pub access: Access,
    /// Private messages to people (approval requests), by platform; adapters register.
    pub messengers: Messengers,
    /// Seals exchange API keys; `None` when the operator configured no vault key
    /// (`/keys` then says it is not enabled).
    pub vault: Option<Arc<chainsignal_core::vault::Vault>>,
    /// Checks a key with its exchange before it is stored (`/keys add`) and again on
    /// `/keys test`.
    pub key_check: Arc<dyn KeyCheck>,
    /// The process's state for `/admin status` (adapters, last errors).
    pub status: Arc<status::Status>,
    /// The running version (`/admin status`).
    pub version: &'static str,
    /// `vault.max_age_days`: older keys are flagged and their owners reminded weekly.
    pub key_max_age_days: u32,
    /// `http.public_url` without a trailing `/`: `/keys add` on Telegram answers with a
    /// one-time link to `{form_url}/keys/form/TOKEN` (see [`web_form`]). `None`: no form.
    pub form_url: Option<String>,
    /// Positions and orders on paper and on the exchange (`/open`, `/close`, the monitor).
    pub desk: chainsignal_core::desk::Desk,
    /// `[risk]`: maintenance margin rates (`/liq`) and the profiles' limits (`/risk`).
    pub risk: chainsignal_core::config::RiskConfig,
}

/// Checks an exchange API key before `/keys add` stores it. `Err` carries the Fluent key
/// of the sentence saying why it was refused.
#[async_trait::async_trait]
pub trait KeyCheck: Send + Sync + std::fmt::Debug {
    async fn validate(
        &self,
        exchange: &str,
        api_key: &secrecy::SecretString,
        secret: &secrecy::SecretString,
    ) -> Result<(), &'static str>;
}

/// Accepts every key: the check until validation against the exchange exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAllKeys;

#[async_trait::async_trait]
impl KeyCheck for AcceptAllKeys {
    async fn validate(
        &self,
        _exchange: &str,
        _api_key: &secrecy::SecretString,
        _secret: &secrecy::SecretString,
    ) -> Result<(), &'static str> {
        Ok(())
    }
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
    /// The asker may not do this (the reason picks the line they get).
    #[error("permission denied: {0:?}")]
    Denied(Denial),
    /// The arguments do not fit the command's options: this sentence, then the usage.
    #[error("usage: {key}")]
    Usage {
        key: &'static str,
        args: Vec<(&'static str, String)>,
        usage: Vec<String>,
    },
    /// Something on our side that is not storage.
    #[error("internal: {0}")]
    Internal(&'static str),
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

/// Whether a handler runs for the command itself or for its Confirm button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The command as typed: a command that needs confirming answers with a preview.
    Run,
    /// Confirm was pressed (by the one allowed, once): do it.
    Confirmed,
}

/// The per-invocation context a handler gets.
pub struct Ctx<'a> {
    pub services: &'a Services,
    pub user: &'a UserRef,
    pub chat_ref: &'a ChatRef,
    pub request_id: &'a str,
    /// What the asker may do, as [`Commands`] decided it.
    pub role: Role,
    /// The typed arguments.
    pub args: Args,
    pub phase: Phase,
    /// The chat's language, as stored (or the default for a new chat).
    pub locale: Locale,
    pub chat: ChatKey,
    pub user_id: Option<i64>,
    pub spec: &'static CommandSpec,
    /// The reusable button pressed to run this again (Refresh), if any.
    pub rerun_token: Option<&'a str>,
    /// The Confirm token pressed to run this ([`Phase::Confirmed`]): what an order's
    /// client id is derived from, so that the same confirmation never trades twice.
    pub confirm_token: Option<&'a str>,
}

impl Ctx<'_> {
    /// The asker's account (`users.id`); only missing when storage failed, and then
    /// nothing runs.
    pub fn account(&self) -> Result<i64, CommandError> {
        self.user_id
            .ok_or(CommandError::Internal("no account for the asker"))
    }

    pub fn t(&self, key: &str) -> String {
        self.services.i18n.t(self.locale, key)
    }

    /// A role's name (`owner`, `admin`, `trader`, …) in the chat's language.
    pub fn role_word(&self, role: &str) -> String {
        self.t(&format!("role-{role}"))
    }

    pub fn tr(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.services.i18n.tr(self.locale, key, args)
    }

    /// Confirm and Cancel buttons for this command with these arguments: only the asker
    /// may press them, once, within `ttl`. Confirm runs the handler again in
    /// [`Phase::Confirmed`].
    pub async fn confirm_buttons(
        &self,
        args: &Args,
        ttl: chrono::Duration,
    ) -> Result<Vec<Button>, CommandError> {
        let token = self
            .pending_action(args, Some(self.user.id.clone()), false, ttl)
            .await?;
        Ok(vec![
            Button {
                label: self.t("button-confirm"),
                style: ButtonStyle::Danger,
                data: action_data(&token, Choice::Confirm),
            },
            Button {
                label: self.t("button-cancel"),
                style: ButtonStyle::Secondary,
                data: action_data(&token, Choice::Cancel),
            },
        ])
    }

    /// A button anyone in the chat may press any number of times within `ttl`, which
    /// runs this command again with `args` (Refresh).
    pub async fn rerun_button(
        &self,
        label_key: &str,
        args: &Args,
        ttl: chrono::Duration,
    ) -> Result<Button, CommandError> {
        // Pressed again: the same button, not one more row per press.
        let token = match self.rerun_token {
            Some(t) => t.to_string(),
            None => self.pending_action(args, None, true, ttl).await?,
        };
        Ok(Button {
            label: self.t(label_key),
            style: ButtonStyle::Secondary,
            data: action_data(&token, Choice::Rerun),
        })
    }

    async fn pending_action(
        &self,
        args: &Args,
        allowed_user: Option<String>,
        reusable: bool,
        ttl: chrono::Duration,
    ) -> Result<String, CommandError> {
        create_pending(
            &self.services.store,
            &self.chat,
            allowed_user,
            self.spec.name,
            args,
            reusable,
            ttl,
        )
        .await
    }
}

/// Store a pending action (what a button completes) in `chat`; its token.
pub(crate) async fn create_pending(
    store: &Store,
    chat: &ChatKey,
    allowed_user: Option<String>,
    command: &str,
    args: &Args,
    reusable: bool,
    ttl: chrono::Duration,
) -> Result<String, CommandError> {
    let token = new_token().ok_or(CommandError::Internal("no randomness for a button token"))?;
    let now = Utc::now();
    let stored =
        serde_json::to_string(&args.to_stored()).map_err(|_| CommandError::Internal("encoding arguments"))?;
    store
        .create_action(&NewAction {
            token: token.clone(),
            platform: chat.platform.clone(),
            platform_chat_id: chat.platform_chat_id.clone(),
            allowed_user,
            command: command.to_string(),
            args: stored,
            reusable,
            created_at: now,
            expires_at: now + ttl,
        })
        .await?;
    Ok(token)
}

/// How long a Confirm button stays valid, unless a command says otherwise.
pub const CONFIRM_TTL: chrono::Duration = chrono::Duration::seconds(120);

/// What a button press chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Confirm,
    Cancel,
    Rerun,
}

impl Choice {
    /// How the press is written in the audit log's arguments.
    fn audit_word(self) -> &'static str {
        match self {
            Choice::Confirm => "confirm",
            Choice::Cancel => "cancel",
            Choice::Rerun => "refresh",
        }
    }

    fn code(self) -> char {
        match self {
            Choice::Confirm => 'y',
            Choice::Cancel => 'n',
            Choice::Rerun => 'r',
        }
    }
}

/// `a:<32 hex>:<choice>`: 36 bytes, within Telegram's 64-byte callback data.
pub(crate) fn confirm_data(token: &str) -> String {
    action_data(token, Choice::Confirm)
}

fn action_data(token: &str, choice: Choice) -> String {
    format!("a:{token}:{}", choice.code())
}

fn parse_action_data(data: &str) -> Option<(&str, Choice)> {
    let rest = data.strip_prefix("a:")?;
    let (token, choice) = rest.split_once(':')?;
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let choice = match choice {
        "y" => Choice::Confirm,
        "n" => Choice::Cancel,
        "r" => Choice::Rerun,
        _ => return None,
    };
    Some((token, choice))
}

/// 128 random bits as hex; `None` without OS randomness (never a guessable token).
fn new_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
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

/// Who asked, where: what every entry point resolves first.
struct Asker<'a> {
    /// The command as named by the asker (shown back when unknown).
    command: &'a str,
    request_id: &'a str,
    user: &'a UserRef,
    chat: &'a ChatRef,
    chat_admin: bool,
}

/// What a press of a button produced.
#[derive(Debug, Clone)]
pub enum ActionAnswer {
    /// Replace the message that carried the button with this reply.
    Edit(Reply),
    /// Leave the message as it is; tell only the presser (a toast, an ephemeral note).
    Notice(Reply),
}

impl ActionAnswer {
    pub fn reply(&self) -> &Reply {
        match self {
            ActionAnswer::Edit(r) | ActionAnswer::Notice(r) => r,
        }
    }
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

    /// The form to show instead of running `invocation`, when its command has secret
    /// options not given yet and they may be asked here: the vault is on and, on
    /// Telegram, the chat is private (elsewhere the form itself is private). `None`:
    /// run the command as usual (its handler refuses what it must).
    pub async fn private_form(&self, invocation: &Invocation) -> Option<PrivateForm> {
        let spec = registry::find(&invocation.command)?;
        let options = private::named_options(spec, &invocation.input);
        if !options.iter().any(|o| o.secret) || self.services.vault.is_none() {
            return None;
        }
        if invocation.chat.platform == Platform::Telegram && invocation.chat.kind != ChatKind::Private {
            return None;
        }
        // Only someone who may run the command is asked for a secret; anyone else gets
        // the command's ordinary refusal instead of a form.
        let asker = Asker {
            command: &invocation.command,
            request_id: &invocation.request_id,
            user: &invocation.user,
            chat: &invocation.chat,
            chat_admin: invocation.chat_admin,
        };
        let (_, role) = self.resolve(&asker).await;
        let Ok(role) = role else {
            return None;
        };
        if access::check(role, spec, invocation.chat_admin, invocation.chat.kind).is_err() {
            return None;
        }
        let args = options::decode(
            spec.options,
            spec.subs,
            spec.default_sub,
            &invocation.input,
            options::DecodeContext {
                quote: &self.services.quote,
                reply_to: invocation.reply_to.as_deref(),
                private: true,
                stored: false,
            },
        )
        .ok()?;
        if options
            .iter()
            .filter(|o| o.secret)
            .all(|o| args.get(o.name).is_some())
        {
            return None;
        }
        let locale = self.chat_locale(&invocation.chat, invocation.locale).await;
        let i18n = &self.services.i18n;
        let mut carried = args.to_stored().values;
        let mut id = private::form_id(spec.name, args.sub, &carried);
        // Too long for a platform id: ask the free-text values again in the form.
        while id.len() > private::MAX_FORM_ID {
            let i = carried.iter().rposition(|(n, _)| {
                options
                    .iter()
                    .any(|o| o.name == n && !o.required && private::askable(o))
            })?;
            carried.remove(i);
            id = private::form_id(spec.name, args.sub, &carried);
        }
        let fields = options
            .iter()
            .filter(|o| {
                (private::askable(o) && args.get(o.name).is_none()) || carried_out(o, &carried, &args)
            })
            .map(|o| FormField {
                name: o.name,
                label: i18n.t(locale, o.description_key),
                required: o.secret || o.required,
                secret: o.secret,
                min_len: o.min_len,
                max_len: o.max_len,
                multiline: o.kind == options::OptionKind::Text,
            })
            .collect();
        let title_key = format!("form-{}", spec.name);
        Some(PrivateForm {
            title: i18n.t(locale, &title_key),
            id,
            fields,
        })
    }

    /// The command and input of a submitted private form (`id` as the form gave it,
    /// every field's value as typed): hand them on as an [`Invocation`] whose request
    /// id is the submission's. `None` when `id` is not a form's.
    pub fn form_submission(
        &self,
        id: &str,
        fields: Vec<(String, secrecy::SecretString)>,
    ) -> Option<(String, RawInput)> {
        private::submission(id, fields)
    }

    /// Whether this event was handled before (a retried webhook, a double delivery).
    /// Storage trouble does not stop the command: it is logged and the event handled.
    async fn seen_before(&self, platform: Platform, request_id: &str) -> bool {
        if request_id.is_empty() {
            return false;
        }
        match self
            .services
            .store
            .claim_request(platform.as_str(), request_id, Utc::now())
            .await
        {
            Ok(new) => !new,
            Err(e) => {
                tracing::warn!(error = %e, "could not record a request id");
                false
            }
        }
    }

    /// Run one command: resolve the chat's language and the asker's role, decode the
    /// typed options, check access and rate limits, run the handler, audit it. Never
    /// fails: every error becomes a localized reply. A request id seen before does
    /// nothing and says so.
    pub async fn run(&self, invocation: &Invocation) -> Reply {
        let asker = Asker {
            command: &invocation.command,
            request_id: &invocation.request_id,
            user: &invocation.user,
            chat: &invocation.chat,
            chat_admin: invocation.chat_admin,
        };
        if self
            .seen_before(invocation.chat.platform, &invocation.request_id)
            .await
        {
            return self.already_handled(invocation.locale);
        }
        let spec = registry::find(&invocation.command);
        let private = invocation.chat.kind == ChatKind::Private;
        let locale = self.chat_locale(&invocation.chat, invocation.locale).await;
        self.execute(&asker, spec, Phase::Run, locale, None, None, |spec| {
            options::decode(
                spec.options,
                spec.subs,
                spec.default_sub,
                &invocation.input,
                options::DecodeContext {
                    quote: &self.services.quote,
                    reply_to: invocation.reply_to.as_deref(),
                    private,
                    stored: false,
                },
            )
            .map_err(|e| (e, spec.usage_for(&invocation.input)))
        })
        .await
    }

    /// A button was pressed. Everything that could refuse the press is checked first
    /// (the button's chat, who may press it, expiry, the presser's role and rate limit);
    /// only then is a Confirm or Cancel claimed, atomically (once, on any instance). A
    /// confirmed action that fails gives its claim back, so the button still works. A
    /// reusable button (Refresh) runs its command again for anyone in the chat.
    pub async fn on_action(&self, press: &ActionPress) -> ActionAnswer {
        let asker = Asker {
            command: "",
            request_id: &press.request_id,
            user: &press.user,
            chat: &press.chat,
            chat_admin: press.chat_admin,
        };
        let locale = self.chat_locale(&press.chat, press.locale).await;
        let notice = |key: &str| ActionAnswer::Notice(Reply::error(self.services.i18n.t(locale, key)));
        if self.seen_before(press.chat.platform, &press.request_id).await {
            return ActionAnswer::Notice(self.already_handled(Some(locale)));
        }
        let Some((token, choice)) = parse_action_data(&press.data) else {
            return self.refuse(&asker, "button", "", locale, "action-unknown").await;
        };
        let pressed = choice.audit_word();
        let now = Utc::now();
        let record = match self.services.store.action(token).await {
            Ok(Some(r)) if same_chat(&r, &press.chat) => r,
            Ok(_) => {
                return self
                    .refuse(&asker, "button", pressed, locale, "action-unknown")
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "pending action unavailable");
                return notice("error-internal");
            }
        };
        let Some(spec) = registry::find(&record.command) else {
            return self
                .refuse(&asker, "button", pressed, locale, "action-unknown")
                .await;
        };
        let refused = match choice {
            Choice::Rerun if !record.reusable => Some("action-unknown"),
            Choice::Confirm | Choice::Cancel if record.reusable => Some("action-unknown"),
            Choice::Confirm | Choice::Cancel if record.claimed_at.is_some() => Some("action-already-done"),
            Choice::Confirm | Choice::Cancel
                if record.allowed_user.as_deref().is_some_and(|u| u != press.user.id) =>
            {
                Some("action-not-yours")
            }
            _ if record.expires_at <= now => Some("action-expired"),
            _ => None,
        };
        if let Some(key) = refused {
            return self.refuse(&asker, spec.name, pressed, locale, key).await;
        }
        let stored: options::StoredArgs = match serde_json::from_str(&record.args) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "a pending action's arguments do not decode");
                return notice("error-internal");
            }
        };
        let decoded = options::decode(
            spec.options,
            spec.subs,
            spec.default_sub,
            &stored.into_input(),
            options::DecodeContext {
                quote: &self.services.quote,
                reply_to: None,
                private: press.chat.kind == ChatKind::Private,
                stored: true,
            },
        );
        let args = match decoded {
            Ok(args) => args,
            Err(e) => {
                tracing::error!(error = ?e, command = spec.name, "a pending action's arguments no longer decode");
                return self
                    .refuse(&asker, spec.name, pressed, locale, "action-unknown")
                    .await;
            }
        };
        let role = match self.admit(&asker, spec, locale).await {
            Ok(role) => role,
            // Cancel needs no permission: it does nothing.
            Err(_) if choice == Choice::Cancel => Role::Blocked,
            Err((detail, reply)) => {
                self.audit(
                    &asker,
                    spec.name,
                    args.audit_text(),
                    Outcome::Denied,
                    Some(detail),
                    Instant::now(),
                    None,
                )
                .await;
                return ActionAnswer::Notice(reply);
            }
        };
        let by = format!("{}:{}", press.chat.platform, press.request_id);
        if matches!(choice, Choice::Confirm | Choice::Cancel) {
            match self
                .services
                .store
                .claim_action(token, &press.user.id, now, &by)
                .await
            {
                Ok(Some(_)) => {}
                // Another press (on any instance) won the race in between.
                Ok(None) => {
                    let key = self.why_not_claimed(token, &press.user.id, now).await;
                    return self.refuse(&asker, spec.name, pressed, locale, key).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "pending action unavailable");
                    return notice("error-internal");
                }
            }
        }
        if choice == Choice::Cancel {
            self.audit_simple(&asker, spec.name, "cancel", Outcome::Ok).await;
            return ActionAnswer::Edit(Reply::text(self.services.i18n.t(locale, "action-cancelled")));
        }
        let phase = if choice == Choice::Confirm {
            Phase::Confirmed
        } else {
            Phase::Run
        };
        let reply = self
            .execute(&asker, Some(spec), phase, locale, Some(role), Some(token), |_| {
                Ok(args)
            })
            .await;
        if reply.tone != Tone::Error {
            return ActionAnswer::Edit(reply);
        }
        // Refused or failed now (the world moved, storage down): the button stays usable.
        if choice == Choice::Confirm
            && let Err(e) = self.services.store.release_action(token, &by).await
        {
            tracing::error!(error = %e, "a failed confirmation could not give its claim back");
        }
        ActionAnswer::Notice(reply)
    }

    /// A press refused before anything ran (unknown, expired, not the presser's, already
    /// done): audited as denied, and only the presser is told why.
    async fn refuse(
        &self,
        asker: &Asker<'_>,
        command: &str,
        pressed: &str,
        locale: Locale,
        key: &'static str,
    ) -> ActionAnswer {
        let detail = key.strip_prefix("action-").unwrap_or(key).replace('-', "_");
        // "pressed …": a press that ran nothing (a run after Confirm is "confirm …").
        let args = format!("pressed {pressed}").trim_end().to_string();
        self.audit(
            asker,
            command,
            args,
            Outcome::Denied,
            Some(detail),
            Instant::now(),
            None,
        )
        .await;
        ActionAnswer::Notice(Reply::error(self.services.i18n.t(locale, key)))
    }

    /// Whether the asker may run `spec` now: `Err((audit detail, reply))` when not.
    async fn admit(
        &self,
        asker: &Asker<'_>,
        spec: &'static CommandSpec,
        locale: Locale,
    ) -> Result<Role, (String, Reply)> {
        let (_, role) = self.resolve(asker).await;
        let checked =
            role.and_then(|role| access::check(role, spec, asker.chat_admin, asker.chat.kind).map(|()| role));
        let role = match checked {
            Ok(role) => role,
            Err(denial) => {
                return Err((
                    denial.code().into(),
                    Reply::error(self.services.i18n.t(locale, denial.key())),
                ));
            }
        };
        if let Err(wait) = self.services.access.check_rate(asker.user, spec.name) {
            let seconds = wait.as_secs().max(1).to_string();
            let text = self
                .services
                .i18n
                .tr(locale, "rate-limited", &[("seconds", &seconds)]);
            return Err(("rate_limited".into(), Reply::error(text)));
        }
        Ok(role)
    }

    /// The asker's account (created on first sight, as the access mode says) and role:
    /// owner when any identity of the account is an owner in the config (or at the
    /// console), else the stored role. A person seen for the first time in approval mode
    /// makes every admin and owner get an Approve / Deny request. Storage trouble fails
    /// closed: owners from the config stay owners, everyone else is refused with
    /// [`Denial::Unavailable`] (a blocked person must not pass as a new one).
    async fn resolve(&self, asker: &Asker<'_>) -> (Option<i64>, Result<Role, Denial>) {
        let access = &self.services.access;
        let platform = asker.user.platform.as_str();
        let owner_here = access.is_owner(platform, &asker.user.id);
        let identity = Identity {
            platform: platform.into(),
            platform_user_id: asker.user.id.clone(),
            display_name: asker.user.display_name.clone(),
            username: asker.user.username.clone(),
        };
        let new_role = if owner_here {
            StoredRole::Trader
        } else {
            access.new_role()
        };
        let store = &self.services.store;
        let (account, created) = match store.ensure_account(&identity, new_role).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "account unavailable; refusing all but the owners");
                let role = if owner_here {
                    Ok(Role::Owner)
                } else {
                    Err(Denial::Unavailable)
                };
                return (None, role);
            }
        };
        let owner = owner_here
            || match store.identities(account.id).await {
                Ok(ids) => ids
                    .iter()
                    .any(|i| access.is_owner(&i.platform, &i.platform_user_id)),
                Err(e) => {
                    tracing::warn!(error = %e, "identities unavailable");
                    false
                }
            };
        if created && account.role == StoredRole::Pending && !owner {
            // Off the reply path: the pending person's answer never waits on the admins'
            // messages (bounded, failures logged).
            approval::spawn_request(&self.services, account.id, asker.user);
        }
        let role = if owner {
            Role::Owner
        } else {
            access::role_of(account.role)
        };
        (Some(account.id), Ok(role))
    }

    /// Why a Confirm could not be claimed, as a Fluent key.
    async fn why_not_claimed(&self, token: &str, user: &str, now: chrono::DateTime<Utc>) -> &'static str {
        match self.services.store.action(token).await {
            Ok(Some(r)) if r.claimed_at.is_some() => "action-already-done",
            Ok(Some(r)) if r.allowed_user.as_deref().is_some_and(|u| u != user) => "action-not-yours",
            Ok(Some(r)) if r.expires_at <= now => "action-expired",
            Ok(_) => "action-unknown",
            Err(_) => "error-internal",
        }
    }

    fn already_handled(&self, locale: Option<Locale>) -> Reply {
        Reply::error(self.services.i18n.t(
            locale.unwrap_or(self.services.default_locale),
            "request-already-handled",
        ))
    }

    /// The pipeline every entry point shares (the caller has claimed the request id).
    ///
    /// `admitted`: the role when the caller has already checked access and the rate
    /// limit (a button press); `None` to check them here. `pressed`: the token of the
    /// button pressed: a reusable one (Refresh) is kept on the new reply instead of a new
    /// one; a Confirm's reaches the handler as [`Ctx::confirm_token`].
    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        asker: &Asker<'_>,
        spec: Option<&'static CommandSpec>,
        phase: Phase,
        locale: Locale,
        admitted: Option<Role>,
        pressed: Option<&str>,
        decode: impl FnOnce(&'static CommandSpec) -> Result<Args, (options::OptionError, Vec<String>)>,
    ) -> Reply {
        let started = Instant::now();
        let (user_id, resolved) = self.resolve(asker).await;
        let (role, unavailable) = match admitted.map_or(resolved, Ok) {
            Ok(role) => (role, false),
            // Never used: nothing runs when the role is unknown.
            Err(_) => (Role::Blocked, true),
        };
        let denied =
            |spec: &'static CommandSpec| access::check(role, spec, asker.chat_admin, asker.chat.kind).err();
        let rate = |spec: &'static CommandSpec| match admitted {
            Some(_) => Ok(()),
            None => self.services.access.check_rate(asker.user, spec.name),
        };
        let mut audit_args = String::new();
        let result = match spec {
            // The role is unknown (storage outage): fail closed, without detail.
            _ if unavailable => Err(CommandError::Denied(Denial::Unavailable)),
            // One line for anything a blocked person asks, even what does not exist.
            _ if role == Role::Blocked => Err(CommandError::Denied(Denial::Blocked)),
            None => Err(CommandError::user_with(
                "error-unknown-command",
                vec![("command", asker.command.chars().take(32).collect())],
            )),
            Some(spec) if denied(spec).is_some() => {
                Err(CommandError::Denied(denied(spec).unwrap_or(Denial::Blocked)))
            }
            Some(spec) => match rate(spec) {
                Err(wait) => Err(CommandError::user_with(
                    "rate-limited",
                    vec![("seconds", wait.as_secs().max(1).to_string())],
                )),
                Ok(()) => match decode(spec) {
                    // A secret typed in public: say so, without a usage line to copy.
                    Err((e @ options::OptionError::SecretInPublic { .. }, _)) => {
                        let (key, args) = e.message();
                        Err(CommandError::User { key, args })
                    }
                    Err((e, usage)) => {
                        let (key, mut args) = e.message();
                        if private::command_takes_secrets(spec) {
                            // What was typed may be a secret in the wrong place: never
                            // shown back.
                            for (name, value) in &mut args {
                                if matches!(*name, "given" | "extra") {
                                    *value = "…".into();
                                }
                            }
                        }
                        Err(CommandError::Usage { key, args, usage })
                    }
                    Ok(args) => {
                        audit_args = args.audit_text();
                        let ctx = Ctx {
                            services: &self.services,
                            user: asker.user,
                            chat_ref: asker.chat,
                            request_id: asker.request_id,
                            role,
                            args,
                            phase,
                            locale,
                            chat: chat_key(asker.chat),
                            user_id,
                            spec,
                            rerun_token: pressed.filter(|_| phase == Phase::Run),
                            confirm_token: pressed.filter(|_| phase == Phase::Confirmed),
                        };
                        handlers::dispatch(spec, &ctx).await
                    }
                },
            },
        };
        // A handler may change the chat's language (/lang): answer in the new one.
        let handled = match result {
            Ok(h) => h,
            Err(CommandError::User { key, args }) => {
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let detail = if key == "rate-limited" {
                    "rate_limited"
                } else {
                    key
                };
                Handled {
                    reply: Reply::error(self.services.i18n.tr(locale, key, &args)),
                    outcome: if key == "rate-limited" {
                        Outcome::Denied
                    } else {
                        Outcome::UserError
                    },
                    detail: Some(detail.to_string()),
                }
            }
            Err(CommandError::Usage { key, args, usage }) => {
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let usage = usage.join("\n");
                Handled {
                    reply: Reply::error(self.services.i18n.tr(locale, key, &args)).block(Block::Paragraph(
                        self.services.i18n.tr(locale, "usage-line", &[("usage", &usage)]),
                    )),
                    outcome: Outcome::UserError,
                    detail: Some(key.to_string()),
                }
            }
            Err(CommandError::Denied(denial)) => Handled {
                reply: Reply::error(self.services.i18n.t(locale, denial.key())),
                outcome: Outcome::Denied,
                detail: Some(denial.code().to_string()),
            },
            Err(e) => {
                tracing::error!(command = spec.map_or("unknown", |s| s.name), error = %e, "command failed");
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
        let args = match phase {
            Phase::Run => audit_args,
            Phase::Confirmed => format!("confirm {audit_args}").trim_end().to_string(),
        };
        self.audit(
            asker,
            command,
            args,
            handled.outcome,
            handled.detail,
            started,
            user_id,
        )
        .await;
        handled.reply
    }

    async fn audit_simple(&self, asker: &Asker<'_>, command: &str, args: &str, outcome: Outcome) {
        self.audit(
            asker,
            command,
            args.to_string(),
            outcome,
            None,
            Instant::now(),
            None,
        )
        .await;
    }

    /// One audit row. `account`: the asker's account when the caller knows it; else it
    /// is looked up (an identity never seen has none).
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        asker: &Asker<'_>,
        command: &str,
        args: String,
        outcome: Outcome,
        detail: Option<String>,
        started: Instant,
        account: Option<i64>,
    ) {
        let account_id = match account {
            Some(id) => Some(id),
            None => self
                .services
                .store
                .account_of(asker.user.platform.as_str(), &asker.user.id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "account unavailable for the audit row");
                    None
                }),
        };
        if outcome == Outcome::Failed {
            // The command's name only: a detail may name what the user typed.
            self.services.status.record_error(&format!("command:{command}"));
        }
        let entry = AuditEntry {
            at: Utc::now(),
            platform: asker.chat.platform.as_str().into(),
            platform_user_id: asker.user.id.clone(),
            platform_chat_id: asker.chat.id.clone(),
            command: command.into(),
            args,
            outcome,
            detail,
            duration_ms: started.elapsed().as_millis() as i64,
            account_id,
            request_id: (!asker.request_id.is_empty()).then(|| asker.request_id.to_string()),
        };
        if let Err(e) = self.services.store.record_audit(&entry).await {
            tracing::warn!(error = %e, "audit log write failed");
        }
    }
}

fn same_chat(record: &ActionRecord, chat: &ChatRef) -> bool {
    record.platform == chat.platform.as_str() && record.platform_chat_id == chat.id
}

/// A non-secret value that was given but dropped from a too long form id: asked again.
fn carried_out(option: &options::OptionSpec, carried: &[(String, String)], args: &Args) -> bool {
    !option.secret
        && private::askable(option)
        && args.get(option.name).is_some()
        && !carried.iter().any(|(n, _)| n == option.name)
}

pub fn chat_key(chat: &ChatRef) -> ChatKey {
    ChatKey {
        platform: chat.platform.as_str().into(),
        platform_chat_id: chat.id.clone(),
    }
}
