//! The Telegram adapter (teloxide): long polling or webhook, every command of the
//! commands crate without per-command code, HTML rendering, paced and retried sends.

mod render;
pub mod webhook;

pub use render::{MESSAGE_LIMIT, html_messages};

use crate::app::App;
use crate::shutdown::Shutdown;
use axum::Router;
use chainsignal_commands::parser::{self, ParsedCommand};
use chainsignal_commands::{
    ChatKind, ChatRef, Commands, I18n, Invocation, Locale, Platform, Reply, Role, UserRef, chat_key, registry,
};
use chainsignal_core::config::{Config, TelegramMode};
use chainsignal_core::pacing::{Pacer, PacerLimits, server_wait_secs};
use chainsignal_core::store::Store;
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use teloxide::dispatching::{Dispatcher, UpdateFilterExt};
use teloxide::error_handlers::ErrorHandler;
use teloxide::payloads::{
    SendChatActionSetters, SendDocumentSetters, SendMessageSetters, SetMyCommandsSetters, SetWebhookSetters,
};
use teloxide::prelude::{Bot, Requester};
use teloxide::types::{
    AllowedUpdate, BotCommand, ChatAction, ChatId, InputFile, LinkPreviewOptions, Message, ParseMode,
    ThreadId, Update,
};
use teloxide::update_listeners::{Polling, StatefulListener};
use teloxide::{ApiError, RequestError, dptree};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Attempts of one send on network errors and `RetryAfter`.
const SEND_ATTEMPTS: u32 = 4;
/// Optional calls (typing, command menus) get this long, once, and nobody waits for them.
const OPTIONAL_CALL_LIMIT: Duration = Duration::from_secs(1);
/// A document (the report's CSV) follows its text within this, once, in the background: an
/// upload is larger than a chat action, so it gets longer, but never holds a reply.
const DOCUMENT_LIMIT: Duration = Duration::from_secs(15);

/// Calls a reply never waits for. A failure of each kind is logged once as a warning, then
/// at debug level: a server that lacks the method would otherwise log at every message.
#[derive(Debug, Clone, Copy)]
enum Optional {
    Typing,
    Menus,
    Document,
}

static OPTIONAL_WARNED: [AtomicBool; 3] = [const { AtomicBool::new(false) }; 3];

impl Optional {
    fn name(self) -> &'static str {
        match self {
            Optional::Typing => "sendChatAction",
            Optional::Menus => "setMyCommands",
            Optional::Document => "sendDocument",
        }
    }

    fn failed(self, error: &dyn std::fmt::Display) {
        if OPTIONAL_WARNED[self as usize].swap(true, Ordering::Relaxed) {
            tracing::debug!(call = self.name(), %error, "telegram optional call failed");
        } else {
            tracing::warn!(
                call = self.name(),
                %error,
                "telegram optional call failed; replies go on without it (further failures at debug level)"
            );
        }
    }

    /// Run `call` for at most `limit`; log a failure or a timeout.
    async fn run<T>(self, limit: Duration, call: impl Future<Output = Result<T, RequestError>>) {
        let status = match tokio::time::timeout(limit, call).await {
            Ok(Ok(_)) => "ok",
            Ok(Err(e)) => {
                self.failed(&e);
                "error"
            }
            Err(_) => {
                self.failed(&format_args!("no answer within {limit:?}"));
                "timeout"
            }
        };
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "telegram", "status" => status)
            .increment(1);
    }
}

/// What one chat message needs to be answered.
struct Ctx {
    bot: Bot,
    username: String,
    commands: Commands,
    store: Store,
    sender: Arc<Sender>,
}

/// Where a reply goes: the chat and, in a forum, the topic.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub chat: ChatId,
    pub thread: Option<ThreadId>,
    pub group: bool,
}

/// The running adapter: its task and, in webhook mode, the route to mount.
pub struct Started {
    pub webhook: Option<Router>,
    pub task: JoinHandle<()>,
    /// For the scheduler's posts.
    pub sender: Arc<Sender>,
}

/// Start Telegram when `TELEGRAM_BOT_TOKEN` is set. The task connects (retrying while
/// Telegram is unreachable), registers the command menus, and serves until `shutdown`.
pub fn start(app: &App, shutdown: Shutdown) -> anyhow::Result<Option<Started>> {
    let Some(token) = app.config.secrets.telegram_token.clone() else {
        return Ok(None);
    };
    let api_url: reqwest::Url = app
        .config
        .telegram
        .api_url
        .parse()
        .map_err(|_| anyhow::anyhow!("telegram.api_url is not a URL"))?;
    let bot = Bot::new(token.expose_secret()).set_api_url(api_url);
    let (webhook, updates) = match app.config.telegram.mode {
        TelegramMode::Polling => (None, None),
        TelegramMode::Webhook => {
            let (tx, rx) = mpsc::unbounded_channel();
            let secret = webhook::secret(app.config.secrets.telegram_webhook_secret.as_ref(), &token);
            (
                Some(webhook::router(&app.config.telegram.webhook_path, secret, tx)),
                Some(rx),
            )
        }
    };
    let config = app.config.clone();
    let commands = app.commands.clone();
    let store = app.store.clone();
    let i18n = app.i18n.clone();
    let sender = Arc::new(Sender::new(bot.clone()));
    let for_task = sender.clone();
    let task = tokio::spawn(async move {
        serve(
            bot, token, config, commands, store, i18n, for_task, updates, shutdown,
        )
        .await;
    });
    Ok(Some(Started {
        webhook,
        task,
        sender,
    }))
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    bot: Bot,
    token: SecretString,
    config: Arc<Config>,
    commands: Commands,
    store: Store,
    i18n: Arc<I18n>,
    sender: Arc<Sender>,
    updates: Option<mpsc::UnboundedReceiver<Update>>,
    shutdown: Shutdown,
) {
    let Some(username) = until_shutdown(&shutdown, connect(&bot)).await.flatten() else {
        return;
    };
    tracing::info!(bot = %username, mode = ?config.telegram.mode, "telegram connected");
    // The menus are a nicety: set in the background, never holding the first reply.
    tokio::spawn(register_commands(bot.clone(), i18n.clone()));

    let ctx = Arc::new(Ctx {
        bot: bot.clone(),
        username,
        commands,
        store,
        sender,
    });
    let handler =
        Update::filter_message().endpoint(|update: Update, msg: Message, ctx: Arc<Ctx>| async move {
            crate::scheduler::guarded("telegram message", on_message(&ctx, update.id.0, &msg)).await;
            Ok::<(), RequestError>(())
        });
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![ctx])
        .default_handler(|_| async {})
        .build();
    let stop = dispatcher.shutdown_token();
    let listener_errors = Arc::new(ListenerErrors::default());

    match updates {
        None => {
            let polling = Polling::builder(bot.clone())
                .timeout(Duration::from_secs(config.telegram.poll_timeout_secs))
                .allowed_updates(vec![AllowedUpdate::Message])
                .backoff_strategy(|errors| {
                    Duration::from_millis(500 * 2u64.pow(errors.min(7))).min(Duration::from_secs(60))
                })
                .delete_webhook()
                .await
                .build();
            let run = dispatcher.try_dispatch_with_listener(polling, listener_errors);
            run_until(run, stop, shutdown).await;
        }
        Some(rx) => {
            let url = config.telegram.webhook_url.parse();
            let secret = webhook::secret(config.secrets.telegram_webhook_secret.as_ref(), &token);
            match url {
                Ok(url) => {
                    let set = bot
                        .set_webhook(url)
                        .secret_token(secret.expose_secret().to_string())
                        .allowed_updates(vec![AllowedUpdate::Message]);
                    if let Err(e) = set.await {
                        tracing::error!(error = %e, "telegram setWebhook failed; updates may not arrive");
                    }
                }
                Err(_) => tracing::error!("telegram.webhook_url is not a URL"),
            }
            // The stream ends when the dispatcher stops the listener.
            let (stop_token, stop_flag) = teloxide::stop::mk_stop_token();
            let stream = updates_stream(rx).take_until(stop_flag);
            let listener = StatefulListener::new(
                (stream, stop_token),
                first_mut,
                |state: &mut (_, teloxide::stop::StopToken)| state.1.clone(),
            );
            let run = dispatcher.try_dispatch_with_listener(listener, listener_errors);
            run_until(run, stop, shutdown).await;
        }
    }
    tracing::info!("telegram stopped");
}

fn first_mut<A, B>(pair: &mut (A, B)) -> &mut A {
    &mut pair.0
}

/// Updates from the webhook channel as the stream teloxide's listener wants.
fn updates_stream(
    mut rx: mpsc::UnboundedReceiver<Update>,
) -> impl futures::Stream<Item = Result<Update, RequestError>> + Send + Unpin {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|u| u.map(Ok)))
}

/// Run the dispatcher until it ends or shutdown is asked for, then let it finish the
/// updates in hand.
async fn run_until(
    run: impl Future<Output = Result<(), RequestError>>,
    stop: teloxide::dispatching::ShutdownToken,
    shutdown: Shutdown,
) {
    tokio::pin!(run);
    let result = tokio::select! {
        r = &mut run => r,
        _ = shutdown.wait() => match stop.shutdown() {
            Ok(_) => run.await,
            Err(_) => Ok(()),
        },
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "telegram dispatcher could not start; the Telegram adapter is off");
    }
}

/// Wait for `f` unless shutdown comes first.
async fn until_shutdown<T>(shutdown: &Shutdown, f: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        v = f => Some(v),
        _ = shutdown.clone().wait() => None,
    }
}

/// getMe until it answers; `None` when the token is refused (retrying cannot help).
async fn connect(bot: &Bot) -> Option<String> {
    let mut delay = Duration::from_millis(500);
    loop {
        match bot.get_me().await {
            Ok(me) => return Some(me.username.clone().unwrap_or_default()),
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                tracing::error!(
                    "telegram refused the bot token (TELEGRAM_BOT_TOKEN); the Telegram adapter is off"
                );
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, ?delay, "telegram getMe failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// The command menus, English by default and Polish for Polish clients. Not essential:
/// each call is bounded and never retried.
async fn register_commands(bot: Bot, i18n: Arc<I18n>) {
    for locale in Locale::ALL {
        let commands: Vec<BotCommand> = registry::menu()
            .map(|c| BotCommand::new(c.name, i18n.t(locale, c.description_key)))
            .collect();
        let request = bot.set_my_commands(commands);
        let request = match locale {
            Locale::En => request,
            other => request.language_code(other.code()),
        };
        Optional::Menus
            .run(OPTIONAL_CALL_LIMIT, request.into_future())
            .await;
    }
}

/// Listener errors: a 409 means a second instance polls the same token. Say so once per
/// streak, in one clear line; the listener backs off and keeps trying.
#[derive(Default)]
struct ListenerErrors {
    conflict_reported: AtomicBool,
}

impl ErrorHandler<RequestError> for ListenerErrors {
    fn handle_error(self: Arc<Self>, error: RequestError) -> futures::future::BoxFuture<'static, ()> {
        match error {
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
                if !self.conflict_reported.swap(true, Ordering::SeqCst) {
                    tracing::error!(
                        "telegram 409 Conflict: another instance is polling getUpdates with the same bot token; \
                         run one poller per token (or use webhook mode). Backing off and retrying."
                    );
                }
            }
            other => {
                self.conflict_reported.store(false, Ordering::SeqCst);
                tracing::warn!(error = %other, "telegram getUpdates failed; backing off");
            }
        }
        Box::pin(async {})
    }
}

pub fn is_unreachable(e: &RequestError) -> bool {
    matches!(
        e,
        RequestError::Api(
            ApiError::BotBlocked
                | ApiError::BotKicked
                | ApiError::BotKickedFromSupergroup
                | ApiError::BotKickedFromChannel
                | ApiError::UserDeactivated
                | ApiError::CantInitiateConversation
                | ApiError::ChatNotFound
        )
    )
}

async fn on_message(ctx: &Ctx, update_id: u32, msg: &Message) {
    let Some(text) = msg.text() else { return };
    let private = msg.chat.is_private();
    let kind = if private {
        ChatKind::Private
    } else if msg.chat.is_channel() {
        ChatKind::Channel
    } else {
        ChatKind::Group
    };
    let chat = ChatRef {
        platform: Platform::Telegram,
        id: msg.chat.id.0.to_string(),
        kind,
    };
    let target = Target {
        chat: msg.chat.id,
        thread: msg.thread_id.filter(|_| msg.is_topic_message),
        group: !private,
    };
    let from = msg.from.as_ref();
    let locale = from
        .and_then(|u| u.language_code.as_deref())
        .and_then(Locale::from_tag);
    let addressed = text.split_whitespace().next().is_some_and(|w| w.contains('@'));
    let reply = match parser::parse(text, Some(&ctx.username)) {
        Ok(Some(ParsedCommand { name, raw })) => {
            // In a group, a command we do not know is probably another bot's.
            if !private && !addressed && registry::find(&name).is_none() {
                return;
            }
            let user_id = from
                .map(|u| u.id.0.to_string())
                .unwrap_or_else(|| chat.id.clone());
            let invocation = Invocation {
                request_id: format!("u{update_id}"),
                user: UserRef {
                    platform: Platform::Telegram,
                    id: user_id,
                    display_name: from.map(|u| u.first_name.clone()),
                },
                chat: chat.clone(),
                locale,
                chat_admin: chat_admin(ctx, msg, &name).await,
                command: name,
                input: chainsignal_commands::RawInput::Text(raw),
                reply_to: msg
                    .reply_to_message()
                    .and_then(|m| m.from.as_ref())
                    .map(|u| u.id.0.to_string()),
            };
            typing(&ctx.bot, target);
            ctx.commands.run(&invocation).await
        }
        // Plain talk: answered with a hint in private, ignored in groups.
        Ok(None) if private && !text.trim_start().starts_with('/') => {
            ctx.commands
                .parse_error_reply(&chat, locale, &parser::ParseError::BadName)
                .await
        }
        Ok(None) => return,
        Err(e) if private || addressed => ctx.commands.parse_error_reply(&chat, locale, &e).await,
        Err(_) => return,
    };
    deliver(ctx, target, &reply).await;
}

/// The platform's fact the commands decide access from: does the asker administer this
/// chat? A private chat is the user's own; in a group Telegram is asked, and only for
/// commands that need a chat administrator (commands decides the rest).
async fn chat_admin(ctx: &Ctx, msg: &Message, command: &str) -> bool {
    if msg.chat.is_private() {
        return true;
    }
    let needs = registry::find(command).map(|c| c.permission);
    let Some(user) = msg.from.as_ref().filter(|_| needs == Some(Role::ChatAdmin)) else {
        return false;
    };
    match ctx.bot.get_chat_member(msg.chat.id, user.id).await {
        Ok(member) => member.is_privileged(),
        Err(e) => {
            tracing::warn!(error = %e, "telegram getChatMember failed; treating the user as a member");
            false
        }
    }
}

/// "typing…" while the command works, in the background: the reply never waits for it.
fn typing(bot: &Bot, target: Target) {
    let mut request = bot.send_chat_action(target.chat, ChatAction::Typing);
    if let Some(thread) = target.thread {
        request = request.message_thread_id(thread);
    }
    tokio::spawn(Optional::Typing.run(OPTIONAL_CALL_LIMIT, request.into_future()));
}

/// Send `reply` to `target` and handle a refusal: a chat that blocked the bot is marked
/// inactive and not tried again.
async fn deliver(ctx: &Ctx, target: Target, reply: &Reply) {
    if let Err(e) = ctx.sender.send_reply(target, reply).await {
        handle_send_error(ctx, target, &e).await;
    }
}

/// Paced, retried sending, shared by the adapter and the scheduler.
pub struct Sender {
    bot: Bot,
    pacer: Arc<Pacer>,
}

impl Sender {
    pub fn new(bot: Bot) -> Self {
        Self {
            bot,
            pacer: Arc::new(Pacer::new(PacerLimits::TELEGRAM)),
        }
    }

    /// The text in as many HTML messages as it takes, then the attachments in the
    /// background (bounded, not retried, a failure logged): the error returned is the
    /// first refused text message.
    pub async fn send_reply(&self, target: Target, reply: &Reply) -> Result<(), RequestError> {
        for html in html_messages(reply, MESSAGE_LIMIT) {
            self.send(target, || {
                let mut request = self
                    .bot
                    .send_message(target.chat, html.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(LinkPreviewOptions {
                        is_disabled: true,
                        url: None,
                        prefer_small_media: false,
                        prefer_large_media: false,
                        show_above_text: false,
                    });
                if let Some(thread) = target.thread {
                    request = request.message_thread_id(thread);
                }
                request
            })
            .await?;
        }
        if reply.attachments.is_empty() {
            return Ok(());
        }
        let (bot, pacer, attachments) = (self.bot.clone(), self.pacer.clone(), reply.attachments.clone());
        tokio::spawn(async move {
            for attachment in attachments {
                pacer.acquire(&target.chat.0.to_string(), target.group).await;
                let file = InputFile::memory(attachment.data).file_name(attachment.filename);
                let mut request = bot.send_document(target.chat, file);
                if let Some(thread) = target.thread {
                    request = request.message_thread_id(thread);
                }
                Optional::Document
                    .run(DOCUMENT_LIMIT, request.into_future())
                    .await;
            }
        });
        Ok(())
    }

    /// One paced send, retried after `RetryAfter` and on network errors.
    async fn send<F, R>(&self, target: Target, make: F) -> Result<Message, RequestError>
    where
        F: Fn() -> R,
        R: IntoFuture<Output = Result<Message, RequestError>>,
    {
        let key = target.chat.0.to_string();
        let mut backoff = Duration::from_millis(300);
        let mut attempt = 1;
        loop {
            self.pacer.acquire(&key, target.group).await;
            let result = make().await;
            let status = match &result {
                Ok(_) => "ok",
                Err(RequestError::RetryAfter(_)) => "429",
                Err(RequestError::Network(_)) => "error",
                Err(_) => "refused",
            };
            metrics::counter!("chainsignal_outbound_requests_total", "service" => "telegram", "status" => status)
                .increment(1);
            match result {
                Ok(message) => return Ok(message),
                Err(RequestError::RetryAfter(wait)) if attempt < SEND_ATTEMPTS => {
                    let wait = server_wait_secs(wait.duration().as_secs_f64(), Duration::from_secs(1));
                    tracing::warn!(chat = target.chat.0, retry_after = ?wait, "telegram asked to slow down");
                    tokio::time::sleep(wait).await;
                }
                Err(RequestError::Network(e)) if attempt < SEND_ATTEMPTS => {
                    tracing::warn!(chat = target.chat.0, error = %e, "telegram send failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
                Err(e) => return Err(e),
            }
            attempt += 1;
        }
    }
}

async fn handle_send_error(ctx: &Ctx, target: Target, e: &RequestError) {
    if is_unreachable(e) {
        tracing::info!(chat = target.chat.0, error = %e, "telegram chat unreachable; marked inactive");
        let chat = ChatRef {
            platform: Platform::Telegram,
            id: target.chat.0.to_string(),
            kind: if target.group {
                ChatKind::Group
            } else {
                ChatKind::Private
            },
        };
        if let Err(err) = ctx.store.set_chat_active(&chat_key(&chat), false).await {
            tracing::warn!(error = %err, "could not mark a chat inactive");
        }
    } else {
        tracing::error!(chat = target.chat.0, error = %e, "telegram send failed");
    }
}
