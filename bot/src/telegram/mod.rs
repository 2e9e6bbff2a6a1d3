//! The Telegram adapter (teloxide): long polling or webhook, every command of the
//! commands crate without per-command code, HTML rendering, paced and retried sends.

pub mod delivery;
mod polling;
mod render;
pub mod webhook;

pub use render::{MESSAGE_LIMIT, html_messages};

use crate::app::App;
use crate::shutdown::Shutdown;
use axum::Router;
use backon::{ExponentialBuilder, Retryable};
use chainsignal_commands::parser::{self, ParsedCommand};
use chainsignal_commands::private;
use chainsignal_commands::{
    ActionAnswer, ActionPress, Block, Button, ChatKind, ChatRef, Commands, I18n, Invocation, Locale,
    Platform, Reply, UserRef, Visibility, chat_key, registry,
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
    AnswerCallbackQuerySetters, EditMessageTextSetters, SendChatActionSetters, SendDocumentSetters,
    SendMessageSetters, SetMyCommandsSetters, SetWebhookSetters,
};
use teloxide::prelude::{Bot, Requester};
use teloxide::types::{
    AllowedUpdate, BotCommand, CallbackQuery, Chat, ChatAction, ChatId, InlineKeyboardButton,
    InlineKeyboardMarkup, InputFile, LinkPreviewOptions, MaybeInaccessibleMessage, Message, MessageId,
    ParseMode, ThreadId, Update,
};
use teloxide::update_listeners::StatefulListener;
use teloxide::{ApiError, RequestError, dptree};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the adapter asks Telegram to deliver: messages and button presses.
const ALLOWED_UPDATES: [AllowedUpdate; 2] = [AllowedUpdate::Message, AllowedUpdate::CallbackQuery];

/// Attempts of one send on network errors and `RetryAfter`.
const SEND_ATTEMPTS: u32 = 4;
/// Optional calls (typing, command menus) get this long, once, and nobody waits for them.
const OPTIONAL_CALL_LIMIT: Duration = Duration::from_secs(1);
/// A callback query is answered (the presser's spinner stops) within this, once.
const CALLBACK_ANSWER_LIMIT: Duration = Duration::from_secs(2);
/// How long a press's answer is waited for before the callback query is answered without
/// it; a notice that comes later goes to the presser's private chat instead of a toast.
const PRESS_ANSWER_WAIT: Duration = Duration::from_millis(2500);
/// Telegram's limits: `callback_data` bytes, characters of a callback answer's text.
const CALLBACK_DATA_LIMIT: usize = 64;
const CALLBACK_TEXT_LIMIT: usize = 200;
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
    Answer,
    Delete,
}

static OPTIONAL_WARNED: [AtomicBool; 5] = [const { AtomicBool::new(false) }; 5];

impl Optional {
    fn name(self) -> &'static str {
        match self {
            Optional::Typing => "sendChatAction",
            Optional::Menus => "setMyCommands",
            Optional::Document => "sendDocument",
            Optional::Answer => "answerCallbackQuery",
            Optional::Delete => "deleteMessage",
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
    i18n: Arc<I18n>,
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
    // Approval requests and their outcome go to private chats through the same sender.
    app.commands.services().messengers.register(
        Platform::Telegram,
        Arc::new(delivery::TelegramMessenger(sender.clone())),
    );
    // The webhook channel's receiver outlives a restart: the route keeps sending into it.
    let updates = updates.map(|rx| Arc::new(tokio::sync::Mutex::new(rx)));
    let task = tokio::spawn(crate::supervise::supervise(
        "telegram",
        shutdown.clone(),
        move || {
            serve(
                bot.clone(),
                token.clone(),
                config.clone(),
                commands.clone(),
                store.clone(),
                i18n.clone(),
                for_task.clone(),
                updates.clone(),
                shutdown.clone(),
            )
        },
    ));
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
    updates: Option<Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Update>>>>,
    shutdown: Shutdown,
) {
    let Some(username) = until_shutdown(&shutdown, connect(&bot)).await.flatten() else {
        return;
    };
    tracing::info!(bot = %username, mode = ?config.telegram.mode, "telegram connected");
    let status = commands.services().status.clone();
    status.set_adapter("telegram", true);
    // The menus are a nicety: set in the background, never holding the first reply.
    tokio::spawn(register_commands(bot.clone(), i18n.clone()));

    let ctx = Arc::new(Ctx {
        bot: bot.clone(),
        username,
        commands,
        store,
        i18n,
        sender,
    });
    let handler = dptree::entry()
        .branch(
            Update::filter_message().endpoint(|update: Update, msg: Message, ctx: Arc<Ctx>| async move {
                crate::scheduler::guarded("telegram message", on_message(&ctx, update.id.0, &msg)).await;
                Ok::<(), RequestError>(())
            }),
        )
        .branch(
            Update::filter_callback_query().endpoint(|query: CallbackQuery, ctx: Arc<Ctx>| async move {
                crate::scheduler::guarded("telegram button", on_callback(&ctx, query)).await;
                Ok::<(), RequestError>(())
            }),
        );
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![ctx])
        .default_handler(|_| async {})
        .build();
    let stop = dispatcher.shutdown_token();
    let listener_errors = Arc::new(ListenerErrors::default());

    match updates {
        None => {
            let timeout = Duration::from_secs(config.telegram.poll_timeout_secs);
            let polling = polling::listener(bot.clone(), timeout, ALLOWED_UPDATES.to_vec()).await;
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
                        .allowed_updates(ALLOWED_UPDATES.to_vec());
                    if let Err(e) = set.await {
                        tracing::error!(error = %e, "telegram setWebhook failed; updates may not arrive");
                    }
                }
                Err(_) => tracing::error!("telegram.webhook_url is not a URL"),
            }
            // The stream ends when the dispatcher stops the listener.
            let (stop_token, stop_flag) = teloxide::stop::mk_stop_token();
            let stream = updates_stream(rx.lock_owned().await).take_until(stop_flag);
            let listener = StatefulListener::new(
                (stream, stop_token),
                first_mut,
                |state: &mut (_, teloxide::stop::StopToken)| state.1.clone(),
            );
            let run = dispatcher.try_dispatch_with_listener(listener, listener_errors);
            run_until(run, stop, shutdown).await;
        }
    }
    status.set_adapter("telegram", false);
    tracing::info!("telegram stopped");
}

fn first_mut<A, B>(pair: &mut (A, B)) -> &mut A {
    &mut pair.0
}

/// Updates from the webhook channel as the stream teloxide's listener wants.
fn updates_stream(
    mut rx: tokio::sync::OwnedMutexGuard<mpsc::UnboundedReceiver<Update>>,
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
    let chat = chat_ref(&msg.chat);
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
            // Anonymous group administrators and channels write as Telegram's shared
            // bots (GroupAnonymousBot, Channel_Bot); a message may have no sender at all.
            // None of them is a person: one account for all of them, in every group,
            // would let one anonymous admin act for all. Told once how to ask instead.
            let Some(person) = from.filter(|u| !u.is_bot && u.id.0 != TELEGRAM_SERVICE_ID) else {
                let locale = ctx.commands.chat_locale(&chat, locale).await;
                let text = ctx.commands.services().i18n.t(locale, "telegram-anonymous");
                deliver(ctx, target, &Reply::error(text)).await;
                return;
            };
            let user_id = person.id.0.to_string();
            let invocation = Invocation {
                // Update ids count per bot: the bot's name keeps two bots on one
                // database apart.
                request_id: format!("u{}:{update_id}", ctx.username),
                user: UserRef {
                    platform: Platform::Telegram,
                    id: user_id,
                    display_name: from.map(|u| u.first_name.clone()),
                    username: from.and_then(|u| u.username.clone()),
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
            // A message naming a command that takes secrets may hold one: it goes at
            // once, before anything else (in groups too, where it is refused).
            let deleted = if private::takes_secrets(&invocation.command, &invocation.input) {
                Some(delete_message(ctx, msg).await)
            } else {
                None
            };
            typing(&ctx.bot, target);
            let mut reply = ctx.commands.run(&invocation).await;
            if let Some(deleted) = deleted {
                let locale = ctx.commands.chat_locale(&chat, locale).await;
                let key = if deleted {
                    "secret-message-deleted"
                } else {
                    "secret-message-not-deleted"
                };
                reply = reply.block(Block::Paragraph(ctx.i18n.t(locale, key)));
            }
            reply
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
    respond(ctx, target, &chat, from, locale, &reply).await;
}

/// Delete a message that may hold a secret; whether it is gone. A failure (no right to
/// delete in a group, too old) is logged once as a warning, then at debug level.
async fn delete_message(ctx: &Ctx, msg: &Message) -> bool {
    let call = ctx.bot.delete_message(msg.chat.id, msg.id).into_future();
    match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            Optional::Delete.failed(&e);
            false
        }
        Err(_) => {
            Optional::Delete.failed(&"no answer within 10 s");
            false
        }
    }
}

fn chat_ref(chat: &Chat) -> ChatRef {
    let kind = if chat.is_private() {
        ChatKind::Private
    } else if chat.is_channel() {
        ChatKind::Channel
    } else {
        ChatKind::Group
    };
    ChatRef {
        platform: Platform::Telegram,
        id: chat.id.0.to_string(),
        kind,
    }
}

/// Send a reply where it belongs. A private reply (an error, anything meant for one
/// person) asked for in a group goes to the asker's private chat; when Telegram refuses
/// that (the user never started the bot, or blocked it), the group gets one short line
/// saying to open a private chat with the bot, never the private content.
/// Telegram's service notifications account (777000): never a person asking.
const TELEGRAM_SERVICE_ID: u64 = 777_000;

async fn respond(
    ctx: &Ctx,
    target: Target,
    chat: &ChatRef,
    from: Option<&teloxide::types::User>,
    locale: Option<Locale>,
    reply: &Reply,
) {
    if reply.visibility != Visibility::Private || !target.group {
        return deliver(ctx, target, reply).await;
    }
    // An anonymous administrator writes as a bot (GroupAnonymousBot): no private chat.
    if let Some(user) = from.filter(|u| !u.is_bot) {
        let private = Target {
            chat: ChatId::from(user.id),
            thread: None,
            group: false,
        };
        match ctx.sender.send_reply(private, reply).await {
            Ok(()) => return,
            Err(e) => tracing::info!(
                error = %e,
                "telegram: a private answer could not reach the asker's private chat; saying so in the group"
            ),
        }
    }
    let locale = ctx.commands.chat_locale(chat, locale).await;
    let name = from.map(|u| u.first_name.as_str()).unwrap_or_default();
    let line = ctx.i18n.tr(
        locale,
        "telegram-open-private",
        &[("name", name), ("bot", ctx.username.as_str())],
    );
    deliver(ctx, target, &Reply::text(line)).await;
}

/// A button was pressed. The callback query is always answered, once and bounded: with
/// the commands' notice as a toast when it comes in time, else empty. An edit replaces
/// the message that carried the button.
async fn on_callback(ctx: &Ctx, query: CallbackQuery) {
    let locale = query.from.language_code.as_deref().and_then(Locale::from_tag);
    let message = match &query.message {
        Some(MaybeInaccessibleMessage::Regular(m)) => Some(m.as_ref()),
        // Deleted, too old, or an inline message: nothing to edit, nothing done.
        Some(MaybeInaccessibleMessage::Inaccessible(_)) | None => None,
    };
    let (Some(message), Some(data)) = (message, query.data.clone()) else {
        let text = ctx.i18n.t(locale.unwrap_or(Locale::En), "action-unknown");
        answer_query(ctx, &query, Some(&text)).await;
        return;
    };
    let chat = chat_ref(&message.chat);
    let press = ActionPress {
        request_id: format!("c{}", query.id.0),
        user: UserRef {
            platform: Platform::Telegram,
            id: query.from.id.0.to_string(),
            display_name: Some(query.from.first_name.clone()),
            username: query.from.username.clone(),
        },
        chat_admin: chat.kind == ChatKind::Private,
        chat,
        locale,
        data,
    };
    let commands = ctx.commands.clone();
    let mut work = tokio::spawn(async move { commands.on_action(&press).await });
    let (answer, late) = match tokio::time::timeout(PRESS_ANSWER_WAIT, &mut work).await {
        Ok(done) => (done, false),
        Err(_) => {
            // Stop the presser's spinner now; the answer follows when it is ready.
            answer_query(ctx, &query, None).await;
            (work.await, true)
        }
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "a button press failed");
            if !late {
                answer_query(ctx, &query, None).await;
            }
            return;
        }
    };
    let target = Target {
        chat: message.chat.id,
        thread: message.thread_id.filter(|_| message.is_topic_message),
        group: !message.chat.is_private(),
    };
    match answer {
        ActionAnswer::Notice(reply) if late => {
            // Too late for a toast: tell the presser privately, never the group.
            let private = Target {
                chat: ChatId::from(query.from.id),
                thread: None,
                group: false,
            };
            if let Err(e) = ctx.sender.send_reply(private, &reply).await {
                tracing::info!(error = %e, "telegram: a late notice could not reach the presser");
            }
        }
        ActionAnswer::Notice(reply) => {
            answer_query(ctx, &query, Some(&reply.to_plain_text())).await;
        }
        ActionAnswer::Edit(reply) => {
            if !late {
                answer_query(ctx, &query, None).await;
            }
            edit(ctx, target, message.id, &reply).await;
        }
    }
}

/// answerCallbackQuery, bounded, never retried: `text` as a toast (not an alert), cut to
/// Telegram's 200 characters.
async fn answer_query(ctx: &Ctx, query: &CallbackQuery, text: Option<&str>) {
    let mut request = ctx.bot.answer_callback_query(query.id.clone());
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        request = request
            .text(text.chars().take(CALLBACK_TEXT_LIMIT).collect::<String>())
            .show_alert(false);
    }
    Optional::Answer
        .run(CALLBACK_ANSWER_LIMIT, request.into_future())
        .await;
}

/// Replace the message that carried a button with `reply`: its first part edits the
/// message (with the reply's keyboard when it is the only part, else none); the other
/// parts follow as new messages (not the attachments: they came with the message the first
/// time). A message that can no longer be
/// edited gets the reply as new messages.
async fn edit(ctx: &Ctx, target: Target, message: MessageId, reply: &Reply) {
    let parts = html_messages(reply, MESSAGE_LIMIT);
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    let markup = if rest.is_empty() {
        keyboard(&reply.buttons)
    } else {
        InlineKeyboardMarkup::default()
    };
    let edited = ctx
        .sender
        .send(target, || {
            ctx.bot
                .edit_message_text(target.chat, message, first.clone())
                .parse_mode(ParseMode::Html)
                .link_preview_options(NO_PREVIEW)
                .reply_markup(markup.clone())
        })
        .await;
    match edited {
        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {
            // The attachments went with the message the first time: a Refresh does not
            // post the file again.
            let text_only = Reply {
                attachments: Vec::new(),
                ..reply.clone()
            };
            if let Err(e) = ctx.sender.send_parts(target, rest, &text_only).await {
                handle_send_error(ctx, target, &e).await;
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "telegram: a message could not be edited; sending the answer anew");
            deliver(ctx, target, reply).await;
        }
    }
}

/// The reply's buttons as one row of an inline keyboard. A button whose data does not fit
/// Telegram's 64 bytes is left out (logged once).
fn keyboard(buttons: &[Button]) -> InlineKeyboardMarkup {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let row: Vec<InlineKeyboardButton> = buttons
        .iter()
        .filter(|b| {
            let fits = b.data.len() <= CALLBACK_DATA_LIMIT;
            if !fits && !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    bytes = b.data.len(),
                    "telegram: a button's data exceeds 64 bytes; the button is left out"
                );
            }
            fits
        })
        .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.data.clone()))
        .collect();
    if row.is_empty() {
        InlineKeyboardMarkup::default()
    } else {
        InlineKeyboardMarkup::new([row])
    }
}

const NO_PREVIEW: LinkPreviewOptions = LinkPreviewOptions {
    is_disabled: true,
    url: None,
    prefer_small_media: false,
    prefer_large_media: false,
    show_above_text: false,
};

/// The platform's fact the commands decide access from: does the asker administer this
/// chat? A private chat is the user's own; in a group Telegram is asked, and only for
/// commands that need a chat administrator (commands decides the rest).
async fn chat_admin(ctx: &Ctx, msg: &Message, command: &str) -> bool {
    if msg.chat.is_private() {
        return true;
    }
    let needs = registry::find(command).is_some_and(|c| c.chat_admin);
    let Some(user) = msg.from.as_ref().filter(|_| needs) else {
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

    /// The text in as many HTML messages as it takes, the buttons as an inline keyboard on
    /// the last, then the attachments in the background (bounded, not retried, a failure
    /// logged): the error returned is the first refused text message.
    pub async fn send_reply(&self, target: Target, reply: &Reply) -> Result<(), RequestError> {
        self.send_parts(target, &html_messages(reply, MESSAGE_LIMIT), reply)
            .await
    }

    /// `reply` (without attachments) as new messages; the id of the last, which carries
    /// the keyboard.
    pub async fn send_reply_with_id(
        &self,
        target: Target,
        reply: &Reply,
    ) -> Result<Option<MessageId>, RequestError> {
        let parts = html_messages(reply, MESSAGE_LIMIT);
        let Some((last, rest)) = parts.split_last() else {
            return Ok(None);
        };
        let plain = Reply {
            attachments: Vec::new(),
            buttons: Vec::new(),
            ..reply.clone()
        };
        self.send_parts(target, rest, &plain).await?;
        let markup = keyboard(&reply.buttons);
        let message = self
            .send(target, || {
                let mut request = self
                    .bot
                    .send_message(target.chat, last.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(NO_PREVIEW);
                if !markup.inline_keyboard.is_empty() {
                    request = request.reply_markup(markup.clone());
                }
                request
            })
            .await?;
        Ok(Some(message.id))
    }

    /// Replace the text (and keyboard) of a message sent before with `reply`'s first part.
    pub async fn edit_text(
        &self,
        target: Target,
        message: MessageId,
        reply: &Reply,
    ) -> Result<(), RequestError> {
        let parts = html_messages(reply, MESSAGE_LIMIT);
        let Some(first) = parts.first() else {
            return Ok(());
        };
        let markup = keyboard(&reply.buttons);
        let edited = self
            .send(target, || {
                self.bot
                    .edit_message_text(target.chat, message, first.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(NO_PREVIEW)
                    .reply_markup(markup.clone())
            })
            .await;
        match edited {
            Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `parts` (HTML) as new messages, the reply's keyboard on the last, then the reply's
    /// attachments.
    async fn send_parts(&self, target: Target, parts: &[String], reply: &Reply) -> Result<(), RequestError> {
        let markup = keyboard(&reply.buttons);
        for (i, html) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            self.send(target, || {
                let mut request = self
                    .bot
                    .send_message(target.chat, html.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(NO_PREVIEW);
                if let Some(thread) = target.thread {
                    request = request.message_thread_id(thread);
                }
                if last && !markup.inline_keyboard.is_empty() {
                    request = request.reply_markup(markup.clone());
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

    /// One paced call, retried (backon) after `RetryAfter`, waiting what the server asks
    /// (capped), and on network errors with an exponential backoff.
    async fn send<F, R, T>(&self, target: Target, make: F) -> Result<T, RequestError>
    where
        F: Fn() -> R,
        R: IntoFuture<Output = Result<T, RequestError>>,
    {
        let key = target.chat.0.to_string();
        let attempt = || async {
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
            result
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(300))
            .with_factor(2.0)
            .with_max_delay(Duration::from_secs(10))
            .with_max_times(SEND_ATTEMPTS as usize - 1);
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| matches!(e, RequestError::RetryAfter(_) | RequestError::Network(_)))
            .adjust(|e, next| match (e, next) {
                // Out of attempts: stop, whatever the server asks.
                (_, None) => None,
                (RequestError::RetryAfter(wait), Some(_)) => {
                    let wait = server_wait_secs(wait.duration().as_secs_f64(), Duration::from_secs(1));
                    tracing::warn!(chat = target.chat.0, retry_after = ?wait, "telegram asked to slow down");
                    Some(wait)
                }
                (e, Some(delay)) => {
                    tracing::warn!(chat = target.chat.0, error = %e, ?delay, "telegram send failed; retrying");
                    Some(delay)
                }
            })
            .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use chainsignal_commands::ButtonStyle;

    fn button(label: &str, data: String) -> Button {
        Button {
            label: label.into(),
            style: ButtonStyle::Secondary,
            data,
        }
    }

    #[test]
    fn buttons_become_one_row_and_oversized_data_is_left_out() {
        let fits = format!("a:{}:y", "0".repeat(32));
        let markup = keyboard(&[
            button("Confirm", fits.clone()),
            button("Too long", "x".repeat(65)),
            button("Exactly 64", "y".repeat(64)),
        ]);
        assert_eq!(markup.inline_keyboard.len(), 1);
        let row = &markup.inline_keyboard[0];
        let labels: Vec<&str> = row.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(labels, ["Confirm", "Exactly 64"]);
        assert!(keyboard(&[]).inline_keyboard.is_empty());
        assert!(
            keyboard(&[button("Too long", "é".repeat(33))])
                .inline_keyboard
                .is_empty(),
            "bytes are counted, not characters"
        );
    }
}
