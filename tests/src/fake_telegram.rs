//! A fake Telegram Bot API (<https://core.telegram.org/bots/api>) on 127.0.0.1 for end-to-end
//! tests that drive the real teloxide client: `Bot::new(token).set_api_url(fake.url().parse()?)`.
//!
//! teloxide calls `POST /bot<TOKEN>/<Method>` and expects `{"ok":true,"result":...}`, or
//! `{"ok":false,"error_code":..,"description":..}` whose `description` it matches *exactly* against
//! the strings of `teloxide_core::ApiError` (anything else becomes `ApiError::Unknown`).
//!
//! Wire-format facts the fake relies on (teloxide-core 0.13):
//! - Method names arrive PascalCase (`GetMe`, `SendMessage`); they are matched case-insensitively
//!   and recorded lower-case.
//! - Most methods send a JSON body, but every payload that *may* carry a file (sendDocument,
//!   sendPhoto, setWebhook, ...) is always sent as `multipart/form-data`, even without a file. Every
//!   multipart value is text there: `chat_id` is `"42"`, `drop_pending_updates` is `"true"`, and
//!   nested objects (`reply_markup`, `allowed_updates`) are JSON *strings*. An uploaded file is a
//!   text field `document = "attach://<id>"` plus a file part named `<id>`; the fake resolves such
//!   references, so the recorded body has `body["document"] == {"filename": .., "content": ..}`.
//! - `parameters.retry_after` turns any error into `RequestError::RetryAfter`, whatever the
//!   description.
//! - teloxide sleeps 10 s before parsing the answer to any 5xx response
//!   (`DELAY_ON_SERVER_ERROR`), so [`Failure::ServerError`] makes a teloxide call take 10 s.
//! - The description "Not Found" ([`Failure::NotFound`]) is parsed as `ApiError::InvalidToken`.
//! - `teloxide::types::Update` only deserializes from text (`serde_json::from_str`); through
//!   `serde_json::from_value` every update silently becomes `UpdateKind::Error`.
//! - teloxide's polling listener ends with `getUpdates` `timeout=0, limit=1` carrying the offset
//!   that confirms what it has processed, and drops pending updates with `offset=-1`.

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

/// The bot's user id, as answered by getMe and used as `from` of the messages it sends.
pub const BOT_ID: i64 = 1;
/// The bot's username (getMe).
pub const BOT_USERNAME: &str = "chainsignal_test_bot";
/// The bot's first name (getMe).
pub const BOT_FIRST_NAME: &str = "Chainsignal Test";

/// Description of a 403 for a blocked chat; teloxide parses it as `ApiError::BotBlocked`.
pub const BOT_BLOCKED: &str = "Forbidden: bot was blocked by the user";
/// Description of the 403 Telegram gives for a message to a user who never opened a private
/// chat with the bot (real server text; teloxide reads it as `ApiError::Unknown`, its own
/// `CantInitiateConversation` expects "Unauthorized: ...").
pub const CANT_INITIATE: &str = "Forbidden: bot can't initiate conversation with a user";
/// Description of a 409 for a competing getUpdates; teloxide parses it as
/// `ApiError::TerminatedByOtherGetUpdates`.
pub const TERMINATED_BY_OTHER_GET_UPDATES: &str =
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";
/// Description of a 409 for getUpdates while a webhook is set. The real server appends more text;
/// this is the exact string teloxide parses as `ApiError::CantGetUpdates`.
pub const CANT_GET_UPDATES: &str = "can't use getUpdates method while webhook is active";

/// The longest a getUpdates long poll is held, whatever `timeout` the client asked for, so that
/// tests stay fast but an idle bot does not spin.
pub const MAX_LONG_POLL: Duration = Duration::from_millis(500);

/// Largest request body accepted (Telegram's own upload limit is 50 MB).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// One request the fake received, failed ones included.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method name, lower-case (`"sendmessage"`).
    pub method: String,
    /// The request body: the JSON object, or for multipart requests an object of text fields
    /// (JSON strings) and files (`{"filename": .., "content": <utf-8 lossy text>}`). `{}` for an
    /// empty body; the raw text as a JSON string when the body was not valid JSON.
    pub body: serde_json::Value,
    /// When the request arrived.
    pub at: tokio::time::Instant,
    /// The HTTP status the fake answered with (200 for every long poll).
    pub status: u16,
    /// The `result` of a successful answer (the Message sent or edited, `true`, ...); `None`
    /// for errors and long polls.
    pub result: Option<Value>,
}

impl Call {
    /// `chat_id` of the body, whether a JSON number or a multipart text field.
    pub fn chat_id(&self) -> Option<i64> {
        int_field(&self.body, "chat_id")
    }

    /// `text` of the body, if any.
    pub fn text(&self) -> Option<&str> {
        self.body.get("text").and_then(Value::as_str)
    }

    /// The `message_id` of the message this call sent or edited.
    pub fn message_id(&self) -> Option<i64> {
        self.result
            .as_ref()
            .and_then(|r| r.get("message_id"))
            .and_then(Value::as_i64)
    }

    /// The `callback_data` of the buttons of the inline keyboard the call carried, row by
    /// row, as (label, data).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let markup = match self.body.get("reply_markup") {
            // Multipart requests carry it as a JSON string.
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        };
        markup["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().into_iter().flatten())
            .map(|b| {
                (
                    b["text"].as_str().unwrap_or_default().to_owned(),
                    b["callback_data"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

/// What a [`CallbackPress`] says about the message that carried the button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PressedMessage {
    /// The message as the fake sent it (or a minimal bot message in that chat if unknown).
    Sent,
    /// `InaccessibleMessage` (`date: 0`): deleted or otherwise out of the bot's reach.
    Inaccessible,
    /// No `message` field at all.
    Missing,
}

/// A press of an inline button by a user, turned into a `callback_query` update by
/// [`FakeTelegram::push_callback`].
#[derive(Debug, Clone)]
pub struct CallbackPress {
    /// The callback query id; `None`: a fresh one.
    pub id: Option<String>,
    pub user_id: i64,
    pub first_name: String,
    pub language_code: Option<String>,
    /// The chat and message that carried the button.
    pub chat_id: i64,
    pub message_id: i64,
    pub data: String,
    pub message: PressedMessage,
}

impl CallbackPress {
    /// User `user_id` ("Alice") presses the button with `data` under message `message_id`
    /// of `chat_id`.
    pub fn new(user_id: i64, chat_id: i64, message_id: i64, data: impl Into<String>) -> Self {
        CallbackPress {
            id: None,
            user_id,
            first_name: "Alice".into(),
            language_code: None,
            chat_id,
            message_id,
            data: data.into(),
            message: PressedMessage::Sent,
        }
    }

    /// The same press with this callback query id (a redelivered query keeps its id).
    pub fn id(self, id: impl Into<String>) -> Self {
        CallbackPress {
            id: Some(id.into()),
            ..self
        }
    }

    /// The presser's client language.
    pub fn lang(self, code: &str) -> Self {
        CallbackPress {
            language_code: Some(code.into()),
            ..self
        }
    }

    /// What the update says about the message.
    pub fn message(self, message: PressedMessage) -> Self {
        CallbackPress { message, ..self }
    }
}

/// A misbehaviour injected with [`FakeTelegram::fail`] for one method. Failures queued for the
/// same method apply one after the other; then the method answers normally again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 404 {"ok":false,"error_code":404,"description":"Not Found"}: a method the server does not
    /// implement. Lasts until [`FakeTelegram::clear_failures`]. teloxide reads it as
    /// `ApiError::InvalidToken`.
    NotFound,
    /// 429 with parameters.retry_after = secs, for the next `times` calls of that method.
    RetryAfter { secs: u64, times: u32 },
    /// 500 for the next `times` calls. NB: teloxide waits 10 s before it reports a 5xx.
    ServerError { times: u32 },
    /// 409 Conflict "terminated by other getUpdates request…" (exact teloxide string) for the
    /// next `times` calls (meant for getUpdates).
    Conflict { times: u32 },
    /// HTTP `status` with a body that is not the Bot API's (`{"error":"nope"}`), as a proxy
    /// or a Bot-API-compatible server answers a method it does not know. Lasts until
    /// [`FakeTelegram::clear_failures`]. NB: teloxide waits 10 s before it reports a 5xx.
    Foreign { status: u16 },
    /// No answer at all: the connection is held open until the client gives up. Lasts until
    /// [`FakeTelegram::clear_failures`].
    Hang,
}

/// The kind of chat an [`IncomingMessage`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Private,
    Group,
    Supergroup,
    /// A supergroup with topics (`"is_forum": true`).
    ForumSupergroup,
}

/// A text message a user sends to the bot, turned into a realistic update by
/// [`FakeTelegram::push_message`]. Start from [`IncomingMessage::private`].
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub chat_id: i64,
    pub chat_type: ChatType,
    pub user_id: i64,
    pub first_name: String,
    pub username: Option<String>,
    /// The user's client language (`from.language_code`), e.g. `"pl"`.
    pub language_code: Option<String>,
    pub text: String,
    /// Forum topic: sets `message_thread_id` and `is_topic_message: true`.
    pub thread_id: Option<i64>,
}

impl IncomingMessage {
    /// A message from user `user_id` ("Alice", no username, no language) in their private chat
    /// with the bot (whose id is the user's id).
    pub fn private(user_id: i64, text: impl Into<String>) -> Self {
        IncomingMessage {
            chat_id: user_id,
            chat_type: ChatType::Private,
            user_id,
            first_name: "Alice".into(),
            username: None,
            language_code: None,
            text: text.into(),
            thread_id: None,
        }
    }

    /// The same message, sent in the basic group `chat_id` (group ids are negative).
    pub fn in_group(self, chat_id: i64) -> Self {
        IncomingMessage {
            chat_id,
            chat_type: ChatType::Group,
            thread_id: None,
            ..self
        }
    }

    /// The same message, sent in the supergroup `chat_id` (e.g. -100123).
    pub fn in_supergroup(self, chat_id: i64) -> Self {
        IncomingMessage {
            chat_id,
            chat_type: ChatType::Supergroup,
            thread_id: None,
            ..self
        }
    }

    /// The same message, sent in topic `thread_id` of the forum supergroup `chat_id`.
    pub fn in_topic(self, chat_id: i64, thread_id: i64) -> Self {
        IncomingMessage {
            chat_id,
            chat_type: ChatType::ForumSupergroup,
            thread_id: Some(thread_id),
            ..self
        }
    }

    /// The sender's client language.
    pub fn lang(self, code: &str) -> Self {
        IncomingMessage {
            language_code: Some(code.into()),
            ..self
        }
    }

    /// Another sender. In a private chat the chat id follows the user id.
    pub fn from_user(self, user_id: i64, first_name: &str) -> Self {
        let chat_id = if self.chat_type == ChatType::Private {
            user_id
        } else {
            self.chat_id
        };
        IncomingMessage {
            user_id,
            chat_id,
            first_name: first_name.into(),
            ..self
        }
    }

    /// The sender's @username (without the @).
    pub fn username(self, username: &str) -> Self {
        IncomingMessage {
            username: Some(username.into()),
            ..self
        }
    }
}

/// The webhook registered with setWebhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub secret_token: Option<String>,
}

/// Handle on a running fake; clones share the server, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct FakeTelegram {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _server: Arc<ServerTask>,
}

/// Aborts the server task when dropped.
struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    state: Mutex<FakeState>,
    /// Bumped whenever a call is recorded (wakes [`FakeTelegram::wait_until`]).
    calls_changed: watch::Sender<u64>,
    /// Bumped whenever an update is queued (wakes long polls).
    updates_changed: watch::Sender<u64>,
}

impl Shared {
    /// The state; a panic elsewhere while holding the lock does not make the fake unusable.
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct FakeState {
    calls: Vec<Call>,
    /// Updates not yet confirmed by a getUpdates `offset`.
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    /// Lower-case method -> failures still to apply, in order.
    failures: HashMap<String, VecDeque<Failure>>,
    /// Calls of a method still answered before it starts to hang ([`FakeTelegram::hang_after`]).
    hang_after: HashMap<String, usize>,
    blocked: HashSet<i64>,
    /// (chat, user) pairs whose getChatMember answers "creator"; everyone else is a member.
    owners: HashSet<(i64, i64)>,
    webhook: Option<Webhook>,
    /// Chat objects of the chats seen in pushed messages, so replies carry the right chat type.
    chats: HashMap<i64, Value>,
    /// setMyCommands per scope and language, answered back by getMyCommands.
    commands: HashMap<String, Value>,
    /// When set, getUpdates answers up to this many updates whatever `limit` says (a
    /// burst larger than Telegram's 100 in one answer).
    batch: Option<usize>,
    /// getUpdates answers at once, never long-polls ([`FakeTelegram::answer_updates_at_once`]).
    instant_updates: bool,
    /// Empty getUpdates answered at once (not recorded as calls).
    idle_polls: u64,
    /// When each update was first handed out by getUpdates.
    served: HashMap<i64, Instant>,
    /// The messages the bot sent or edited, by (chat, message id), as last seen.
    messages: HashMap<(i64, i64), Value>,
    /// Users who never opened a private chat with the bot: a send to their chat gets 403
    /// [`CANT_INITIATE`].
    strangers: HashSet<i64>,
    next_callback_id: u64,
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 (a free port). The bot is `@chainsignal_test_bot`, id 1.
    pub async fn start() -> FakeTelegram {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                calls: Vec::new(),
                updates: VecDeque::new(),
                next_update_id: 1,
                next_message_id: 1,
                failures: HashMap::new(),
                hang_after: HashMap::new(),
                blocked: HashSet::new(),
                owners: HashSet::new(),
                webhook: None,
                chats: HashMap::new(),
                commands: HashMap::new(),
                batch: None,
                instant_updates: false,
                idle_polls: 0,
                served: HashMap::new(),
                messages: HashMap::new(),
                strangers: HashSet::new(),
                next_callback_id: 1,
            }),
            calls_changed: watch::Sender::new(0),
            updates_changed: watch::Sender::new(0),
        });
        let app = Router::new()
            .route("/{token}/{method}", any(handle))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("fake Telegram server stopped: {error}");
            }
        });
        FakeTelegram {
            shared,
            addr,
            _server: Arc::new(ServerTask(task)),
        }
    }

    /// `http://127.0.0.1:PORT/`, for `Bot::set_api_url`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes the next calls of `method` (case-insensitive) fail; see [`Failure`]. Failures
    /// queued for one method apply in order. A failure takes precedence over everything else.
    pub fn fail(&self, method: &str, failure: Failure) {
        let times = match failure {
            Failure::NotFound | Failure::Foreign { .. } | Failure::Hang => 1,
            Failure::RetryAfter { times, .. }
            | Failure::ServerError { times }
            | Failure::Conflict { times } => times,
        };
        if times > 0 {
            let mut state = self.shared.lock();
            state
                .failures
                .entry(method.to_ascii_lowercase())
                .or_default()
                .push_back(failure);
        }
    }

    /// Answers the next `n` calls of `method` normally, then hangs on every later one
    /// ([`Failure::Hang`], recorded as it arrives) until [`FakeTelegram::clear_failures`]:
    /// a send that reached Telegram when its sender died.
    pub fn hang_after(&self, method: &str, n: usize) {
        self.shared
            .lock()
            .hang_after
            .insert(method.to_ascii_lowercase(), n);
    }

    /// Forgets the failures still queued for `method`, [`Failure::NotFound`] included.
    pub fn clear_failures(&self, method: &str) {
        self.shared.lock().failures.remove(&method.to_ascii_lowercase());
    }

    /// From now on every method whose body has this `chat_id` (except getUpdates) answers 403
    /// "Forbidden: bot was blocked by the user" (`ApiError::BotBlocked`).
    pub fn block_chat(&self, chat_id: i64) {
        self.shared.lock().blocked.insert(chat_id);
    }

    /// Makes `user_id` the owner of `chat_id` for getChatMember (everyone else is a member).
    pub fn make_owner(&self, chat_id: i64, user_id: i64) {
        self.shared.lock().owners.insert((chat_id, user_id));
    }

    /// From now on every send to the private chat of `user_id` answers 403 "Forbidden: bot
    /// can't initiate conversation with a user" ([`CANT_INITIATE`]), as for a user who never
    /// pressed Start.
    pub fn never_started(&self, user_id: i64) {
        self.shared.lock().strangers.insert(user_id);
    }

    /// Queues a `callback_query` update for `press`; returns (update id, callback query id).
    pub fn push_callback(&self, press: &CallbackPress) -> (i64, String) {
        let query = {
            let mut state = self.shared.lock();
            let id = match &press.id {
                Some(id) => id.clone(),
                None => {
                    let n = state.next_callback_id;
                    state.next_callback_id += 1;
                    format!("cq{n}")
                }
            };
            let mut from = json!({ "id": press.user_id, "is_bot": false, "first_name": press.first_name });
            if let Some(code) = &press.language_code {
                from["language_code"] = json!(code);
            }
            let mut query = json!({
                "id": id,
                "from": from,
                "chat_instance": format!("ci{}", press.chat_id),
                "data": press.data,
            });
            let chat = state.chat(press.chat_id);
            match press.message {
                PressedMessage::Sent => {
                    let message = state
                        .messages
                        .get(&(press.chat_id, press.message_id))
                        .cloned()
                        .unwrap_or_else(|| {
                            json!({
                                "message_id": press.message_id, "date": unix_now(), "chat": chat,
                                "from": bot_user(), "text": "…",
                            })
                        });
                    query["message"] = message;
                }
                PressedMessage::Inaccessible => {
                    query["message"] = json!({ "message_id": press.message_id, "date": 0, "chat": chat });
                }
                PressedMessage::Missing => {}
            }
            (query, id)
        };
        let (query, id) = query;
        (self.push_update(json!({ "callback_query": query })), id)
    }

    /// Undoes [`FakeTelegram::block_chat`].
    pub fn unblock_chat(&self, chat_id: i64) {
        self.shared.lock().blocked.remove(&chat_id);
    }

    /// Queues a raw update (a JSON object) for getUpdates. Assigns the next `update_id` if it has
    /// none; returns the update id.
    ///
    /// # Panics
    /// If `update` is not a JSON object.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let Some(fields) = update.as_object_mut() else {
            panic!("push_update: an update is a JSON object, not {update}");
        };
        let id = {
            let mut state = self.shared.lock();
            let id = match fields.get("update_id").and_then(Value::as_i64) {
                Some(id) => id,
                None => {
                    let id = state.next_update_id;
                    fields.insert("update_id".into(), id.into());
                    id
                }
            };
            state.next_update_id = state.next_update_id.max(id + 1);
            state.updates.push_back(update);
            id
        };
        self.shared.updates_changed.send_modify(|n| *n += 1);
        id
    }

    /// Queues a text-message update built from `m`; returns the update id.
    pub fn push_message(&self, m: &IncomingMessage) -> i64 {
        let message = {
            let mut state = self.shared.lock();
            let message_id = state.next_message_id();
            let chat = incoming_chat(m);
            state.chats.insert(m.chat_id, chat.clone());
            incoming_message(m, message_id, chat)
        };
        self.push_update(json!({ "message": message }))
    }

    /// From now on getUpdates answers up to `n` pending updates at once, ignoring the
    /// client's `limit` (to serve a burst of many users in one answer).
    pub fn serve_batches_of(&self, n: usize) {
        self.shared.lock().batch = Some(n.max(1));
    }

    /// Queues text-message updates built from `ms` all at once (one getUpdates answer can
    /// carry them all, see [`FakeTelegram::serve_batches_of`]); returns their update ids.
    pub fn push_messages(&self, ms: &[IncomingMessage]) -> Vec<i64> {
        let ids = {
            let mut state = self.shared.lock();
            let mut ids = Vec::with_capacity(ms.len());
            for m in ms {
                let message_id = state.next_message_id();
                let chat = incoming_chat(m);
                state.chats.insert(m.chat_id, chat.clone());
                let id = state.next_update_id;
                state.next_update_id += 1;
                let message = incoming_message(m, message_id, chat);
                state
                    .updates
                    .push_back(json!({ "update_id": id, "message": message }));
                ids.push(id);
            }
            ids
        };
        self.shared.updates_changed.send_modify(|n| *n += 1);
        ids
    }

    /// From now on getUpdates answers at once (an empty list when nothing is queued) instead
    /// of long-polling, as some Bot-API-compatible servers and proxies do. Empty answers are
    /// counted by [`FakeTelegram::idle_polls`]; only the first is recorded as a call.
    pub fn answer_updates_at_once(&self) {
        self.shared.lock().instant_updates = true;
    }

    /// Empty getUpdates answered at once since [`FakeTelegram::answer_updates_at_once`].
    pub fn idle_polls(&self) -> u64 {
        self.shared.lock().idle_polls
    }

    /// When update `update_id` was first handed out by getUpdates, if it was.
    pub fn served_at(&self, update_id: i64) -> Option<Instant> {
        self.shared.lock().served.get(&update_id).copied()
    }

    /// Number of updates not yet confirmed by a getUpdates `offset`.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// The webhook set by setWebhook, if any.
    pub fn webhook(&self) -> Option<Webhook> {
        self.shared.lock().webhook.clone()
    }

    /// Every call so far, in arrival order.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls of `method` (case-insensitive) so far.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        let method = method.to_ascii_lowercase();
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// Waits until `pred` holds for the list of calls so far and returns that list, or panics
    /// after `timeout` listing the calls. Event-driven: it re-checks whenever a call is recorded
    /// (a watch channel), never by sleeping.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + timeout;
        let mut recorded = self.shared.calls_changed.subscribe();
        loop {
            // Mark the current version seen *before* looking, so no call can slip in between.
            recorded.borrow_and_update();
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            match timeout_at(deadline, recorded.changed()).await {
                Ok(Ok(())) => {}
                // Timed out (or, impossibly, the sender is gone: it lives as long as `self`).
                _ => {
                    let calls = self.calls();
                    if pred(&calls) {
                        return calls;
                    }
                    panic!(
                        "fake Telegram: condition not met within {timeout:?}; {} calls:\n{}",
                        calls.len(),
                        list_calls(&calls)
                    );
                }
            }
        }
    }

    /// Convenience: wait until at least `n` calls of `method` exist; returns them (all of them,
    /// possibly more than `n`).
    pub async fn wait_for_calls(&self, method: &str, n: usize, timeout: Duration) -> Vec<Call> {
        let method = method.to_ascii_lowercase();
        let calls = self
            .wait_until(timeout, |calls| {
                calls.iter().filter(|c| c.method == method).count() >= n
            })
            .await;
        calls.into_iter().filter(|c| c.method == method).collect()
    }

    /// `text` from `user` in their private chat; the next message the bot sends there
    /// (and Telegram accepts) within `timeout`.
    pub async fn ask_private(&self, user: i64, text: &str, timeout: Duration) -> Call {
        let before = sends_to(&self.calls(), user).len();
        self.push_message(&IncomingMessage::private(user, text));
        let calls = self
            .wait_until(timeout, |calls| sends_to(calls, user).len() > before)
            .await;
        sends_to(&calls, user)[before].clone()
    }

    /// Push `press` and wait for its answerCallbackQuery: the toast's text ("" when none).
    pub async fn press_answered(&self, press: &CallbackPress, timeout: Duration) -> String {
        let (_, id) = self.push_callback(press);
        self.callback_answer(&id, timeout).await.body["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The answerCallbackQuery of callback query `id`, once it came (within `timeout`).
    pub async fn callback_answer(&self, id: &str, timeout: Duration) -> Call {
        let answer = |calls: &[Call]| {
            calls
                .iter()
                .find(|c| c.method == "answercallbackquery" && c.body["callback_query_id"] == id)
                .cloned()
        };
        let calls = self.wait_until(timeout, |calls| answer(calls).is_some()).await;
        answer(&calls).expect("the condition just held")
    }
}

/// The messages the bot sent to `chat` that Telegram accepted, oldest first.
pub fn sends_to(calls: &[Call], chat: i64) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat) && c.status == 200)
        .cloned()
        .collect()
}

fn list_calls(calls: &[Call]) -> String {
    calls
        .iter()
        .map(|c| format!("  {} {} -> {}\n", c.method, c.body, c.status))
        .collect()
}

/// What the fake answers to one call.
enum Reply {
    /// An answer ready now.
    Now { status: StatusCode, body: Value },
    /// getUpdates: the first `limit` pending updates, waiting up to `wait` for one to arrive.
    Updates { limit: usize, wait: Duration },
    /// No answer, ever ([`Failure::Hang`]).
    Hang,
}

impl Reply {
    fn status(&self) -> StatusCode {
        match self {
            Reply::Now { status, .. } => *status,
            Reply::Updates { .. } => StatusCode::OK,
            // Recorded as 599: nothing was answered.
            Reply::Hang => StatusCode::from_u16(599).unwrap_or(StatusCode::OK),
        }
    }
}

fn ok(result: Value) -> Reply {
    Reply::Now {
        status: StatusCode::OK,
        body: json!({ "ok": true, "result": result }),
    }
}

fn error(status: StatusCode, description: impl Into<String>) -> Reply {
    let body = json!({ "ok": false, "error_code": status.as_u16(), "description": description.into() });
    Reply::Now { status, body }
}

fn bad_request(reason: impl std::fmt::Display) -> Reply {
    error(StatusCode::BAD_REQUEST, format!("Bad Request: {reason}"))
}

fn failure_reply(failure: Failure) -> Reply {
    match failure {
        Failure::NotFound => error(StatusCode::NOT_FOUND, "Not Found"),
        Failure::RetryAfter { secs, .. } => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            let body = json!({
                "ok": false,
                "error_code": status.as_u16(),
                "description": format!("Too Many Requests: retry after {secs}"),
                "parameters": { "retry_after": secs },
            });
            Reply::Now { status, body }
        }
        Failure::ServerError { .. } => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Failure::Conflict { .. } => error(StatusCode::CONFLICT, TERMINATED_BY_OTHER_GET_UPDATES),
        Failure::Foreign { status } => Reply::Now {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body: json!({ "error": "nope" }),
        },
        Failure::Hang => Reply::Hang,
    }
}

fn into_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Any path other than `/{token}/{method}` (Telegram answers the same).
async fn not_found() -> Response {
    into_response(
        StatusCode::NOT_FOUND,
        json!({ "ok": false, "error_code": 404, "description": "Not Found" }),
    )
}

/// `/{token}/{method}`, any HTTP verb (Telegram accepts GET too).
async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let method = method.to_ascii_lowercase();
    let parsed = read_body(request).await;
    // Answer and record under one lock, so the recorded order matches e.g. message ids.
    let reply = {
        let mut state = shared.lock();
        let (body, reply) = match parsed {
            Err(BadBody { reason, recorded }) => (recorded, bad_request(reason)),
            // The path segment is `bot<TOKEN>`; Telegram answers anything else with a 404.
            Ok(body) if !token.starts_with("bot") => (body, error(StatusCode::NOT_FOUND, "Not Found")),
            Ok(body) => {
                let reply = state.answer(&method, &body);
                (body, reply)
            }
        };
        // Answering getUpdates at once, an idle client asks again and again: after the
        // first, those empty polls are only counted (the list would grow without bound).
        let idle_poll = state.instant_updates
            && method == "getupdates"
            && matches!(reply, Reply::Updates { .. })
            && state.updates.is_empty();
        if idle_poll {
            state.idle_polls += 1;
            if state.idle_polls > 1 {
                drop(state);
                return into_response(StatusCode::OK, json!({ "ok": true, "result": [] }));
            }
        }
        state.record(method, body, &reply);
        reply
    };
    shared.calls_changed.send_modify(|n| *n += 1);
    match reply {
        Reply::Now { status, body } => into_response(status, body),
        Reply::Updates { limit, wait } => long_poll(&shared, limit, wait).await,
        Reply::Hang => std::future::pending().await,
    }
}

/// Answers getUpdates with the first `limit` pending updates, waiting up to `wait` for one.
async fn long_poll(shared: &Shared, limit: usize, wait: Duration) -> Response {
    let deadline = Instant::now() + wait;
    let mut pushed = shared.updates_changed.subscribe();
    loop {
        pushed.borrow_and_update();
        let ready: Vec<Value> = {
            let mut state = shared.lock();
            let ready: Vec<Value> = state.updates.iter().take(limit).cloned().collect();
            let now = Instant::now();
            for id in ready.iter().filter_map(|u| u["update_id"].as_i64()) {
                state.served.entry(id).or_insert(now);
            }
            ready
        };
        if !ready.is_empty() {
            return into_response(StatusCode::OK, json!({ "ok": true, "result": ready }));
        }
        match timeout_at(deadline, pushed.changed()).await {
            Ok(Ok(())) => {}
            _ => return into_response(StatusCode::OK, json!({ "ok": true, "result": [] })),
        }
    }
}

/// A request body the fake cannot read: why, and what to record as the call's body.
struct BadBody {
    reason: String,
    recorded: Value,
}

impl BadBody {
    fn new(reason: impl std::fmt::Display, recorded: Value) -> Self {
        BadBody {
            reason: reason.to_string(),
            recorded,
        }
    }
}

/// The body as a JSON object: a JSON body as is (`{}` when empty), a multipart body as an object
/// of its fields.
async fn read_body(request: Request) -> Result<Value, BadBody> {
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if is_multipart {
        let multipart = Multipart::from_request(request, &())
            .await
            .map_err(|e| BadBody::new(format!("invalid multipart body: {e}"), Value::Null))?;
        return read_multipart(multipart).await;
    }
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|e| BadBody::new(format!("unreadable body: {e}"), Value::Null))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(body @ Value::Object(_)) => Ok(body),
        Ok(other) => Err(BadBody::new("the request body must be a JSON object", other)),
        Err(e) => Err(BadBody::new(
            format!("invalid JSON body: {e}"),
            Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        )),
    }
}

/// Text fields become JSON strings, file fields `{"filename": .., "content": ..}`; a text field
/// `attach://<name>` is replaced by the file part `<name>` it refers to.
async fn read_multipart(mut multipart: Multipart) -> Result<Value, BadBody> {
    let mut fields = Map::new();
    let mut files = Map::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return Err(BadBody::new(
                    format!("invalid multipart body: {e}"),
                    Value::Object(fields),
                ));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = match field.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                return Err(BadBody::new(
                    format!("invalid multipart field {name:?}: {e}"),
                    Value::Object(fields),
                ));
            }
        };
        let content = String::from_utf8_lossy(&bytes).into_owned();
        match file_name {
            Some(filename) => files.insert(name, json!({ "filename": filename, "content": content })),
            None => fields.insert(name, Value::String(content)),
        };
    }
    for value in fields.values_mut() {
        let attached = value
            .as_str()
            .and_then(|s| s.strip_prefix("attach://"))
            .map(str::to_owned);
        if let Some(file) = attached.and_then(|name| files.remove(&name)) {
            *value = file;
        }
    }
    // Files nobody refers to (e.g. from sendMediaGroup's JSON `media`) keep their own names.
    fields.extend(files);
    Ok(Value::Object(fields))
}

/// An integer field, whether a JSON number or a text (multipart) value.
fn int_field(body: &Value, key: &str) -> Option<i64> {
    match body.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean field, whether a JSON bool or a text (multipart) value.
fn bool_field(body: &Value, key: &str) -> bool {
    match body.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

fn str_field<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default() as i64
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME })
}

fn get_me() -> Value {
    let mut me = bot_user();
    // teloxide's `Me` requires these (except can_connect_to_business).
    me["can_join_groups"] = json!(true);
    me["can_read_all_group_messages"] = json!(false);
    me["supports_inline_queries"] = json!(false);
    me["can_connect_to_business"] = json!(false);
    me["has_main_web_app"] = json!(false);
    me
}

fn incoming_chat(m: &IncomingMessage) -> Value {
    match m.chat_type {
        ChatType::Private => {
            let mut chat = json!({ "id": m.chat_id, "type": "private", "first_name": m.first_name });
            if let Some(username) = &m.username {
                chat["username"] = json!(username);
            }
            chat
        }
        ChatType::Group => {
            json!({ "id": m.chat_id, "type": "group", "title": format!("Group {}", m.chat_id) })
        }
        ChatType::Supergroup => {
            json!({ "id": m.chat_id, "type": "supergroup", "title": format!("Supergroup {}", m.chat_id) })
        }
        ChatType::ForumSupergroup => json!({
            "id": m.chat_id, "type": "supergroup", "title": format!("Forum {}", m.chat_id), "is_forum": true,
        }),
    }
}

/// Telegram's own senders that write for someone else: an anonymous group administrator
/// (GroupAnonymousBot) and a channel (Channel_Bot). Both are bots, as on Telegram.
pub const GROUP_ANONYMOUS_BOT: i64 = 1_087_968_824;
pub const CHANNEL_BOT: i64 = 136_817_688;

fn incoming_message(m: &IncomingMessage, message_id: i64, chat: Value) -> Value {
    let is_bot = matches!(m.user_id, GROUP_ANONYMOUS_BOT | CHANNEL_BOT);
    let mut from = json!({ "id": m.user_id, "is_bot": is_bot, "first_name": m.first_name });
    if let Some(username) = &m.username {
        from["username"] = json!(username);
    }
    if let Some(code) = &m.language_code {
        from["language_code"] = json!(code);
    }
    let mut message = json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat,
        "from": from,
        "text": m.text,
    });
    if m.text.starts_with('/') {
        // Entity offsets and lengths count UTF-16 code units; the command runs to the first
        // whitespace and includes any @botname.
        let command = m.text.split_whitespace().next().unwrap_or_default();
        let length = command.encode_utf16().count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    if let Some(thread_id) = m.thread_id {
        message["message_thread_id"] = json!(thread_id);
        message["is_topic_message"] = json!(true);
    }
    message
}

/// The `chat_id` of a request to a chat, or the error Telegram gives.
fn target_chat(body: &Value) -> Result<i64, Reply> {
    match body.get("chat_id") {
        None => Err(bad_request("chat_id is empty")),
        // "@channelusername" and garbage: the fake knows no chat by name.
        Some(_) => int_field(body, "chat_id").ok_or_else(|| bad_request("chat not found")),
    }
}

impl FakeState {
    fn record(&mut self, method: String, body: Value, reply: &Reply) {
        let result = match reply {
            Reply::Now { status, body } if status.is_success() => body.get("result").cloned(),
            _ => None,
        };
        // Remember what the bot's messages look like, for callback queries on them.
        if let Some(message) = &result
            && let (Some(chat), Some(id)) = (message["chat"]["id"].as_i64(), message["message_id"].as_i64())
        {
            self.messages.insert((chat, id), message.clone());
        }
        self.calls.push(Call {
            method,
            body,
            at: Instant::now(),
            status: reply.status().as_u16(),
            result,
        });
    }

    fn next_message_id(&mut self) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    fn take_failure(&mut self, method: &str) -> Option<Failure> {
        let queue = self.failures.get_mut(method)?;
        let front = queue.front_mut()?;
        let failure = *front;
        let remaining = match front {
            Failure::NotFound | Failure::Foreign { .. } | Failure::Hang => return Some(failure),
            Failure::RetryAfter { times, .. }
            | Failure::ServerError { times }
            | Failure::Conflict { times } => {
                *times = times.saturating_sub(1);
                *times
            }
        };
        if remaining == 0 {
            queue.pop_front();
        }
        Some(failure)
    }

    fn answer(&mut self, method: &str, body: &Value) -> Reply {
        if let Some(left) = self.hang_after.get_mut(method) {
            if *left == 0 {
                self.hang_after.remove(method);
                self.failures
                    .entry(method.to_string())
                    .or_default()
                    .push_front(Failure::Hang);
            } else {
                *left -= 1;
            }
        }
        if let Some(failure) = self.take_failure(method) {
            return failure_reply(failure);
        }
        if method != "getupdates" && int_field(body, "chat_id").is_some_and(|id| self.blocked.contains(&id)) {
            return error(StatusCode::FORBIDDEN, BOT_BLOCKED);
        }
        if method.starts_with("send")
            && method != "sendchataction"
            && int_field(body, "chat_id").is_some_and(|id| self.strangers.contains(&id))
        {
            return error(StatusCode::FORBIDDEN, CANT_INITIATE);
        }
        match method {
            "getme" => ok(get_me()),
            "getchatmember" => {
                let (Some(chat), Some(user)) = (int_field(body, "chat_id"), int_field(body, "user_id"))
                else {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "Bad Request: chat_id and user_id are required",
                    );
                };
                let person = json!({"id": user, "is_bot": false, "first_name": "Member"});
                if self.owners.contains(&(chat, user)) {
                    ok(json!({"status": "creator", "user": person, "is_anonymous": false}))
                } else {
                    ok(json!({"status": "member", "user": person}))
                }
            }
            "getwebhookinfo" => {
                let url = self.webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default();
                ok(
                    json!({ "url": url, "has_custom_certificate": false, "pending_update_count": self.updates.len() }),
                )
            }
            "setwebhook" => self.set_webhook(body),
            "deletewebhook" => {
                self.webhook = None;
                if bool_field(body, "drop_pending_updates") {
                    self.updates.clear();
                }
                ok(json!(true))
            }
            "getupdates" => self.get_updates(body),
            "sendmessage" => self.send_message(body),
            "senddocument" => self.send_document(body),
            "sendphoto" => self.send_photo(body),
            "editmessagetext" => self.edit_message_text(body),
            "editmessagereplymarkup" => self.edit_message_reply_markup(body),
            "setmycommands" => match body.get("commands") {
                Some(commands @ Value::Array(_)) => {
                    self.commands.insert(commands_key(body), commands.clone());
                    ok(json!(true))
                }
                _ => bad_request("parameter \"commands\" is required"),
            },
            "deletemycommands" => {
                self.commands.remove(&commands_key(body));
                ok(json!(true))
            }
            "getmycommands" => ok(self
                .commands
                .get(&commands_key(body))
                .cloned()
                .unwrap_or_else(|| json!([]))),
            // Recorded like every call (`calls_of("deleteMessage")`); refuse it with `fail`.
            "deletemessage" => match (body.get("chat_id"), body.get("message_id")) {
                (Some(_), Some(_)) => ok(json!(true)),
                _ => bad_request("parameters \"chat_id\" and \"message_id\" are required"),
            },
            // sendChatAction, answerCallbackQuery, close, ...
            _ => ok(json!(true)),
        }
    }

    fn set_webhook(&mut self, body: &Value) -> Reply {
        if bool_field(body, "drop_pending_updates") {
            self.updates.clear();
        }
        // An empty url removes the webhook, as on the real server.
        self.webhook = match str_field(body, "url") {
            None => return bad_request("bad webhook: an HTTPS URL must be provided for webhook"),
            Some("") => None,
            Some(url) => Some(Webhook {
                url: url.to_owned(),
                secret_token: str_field(body, "secret_token").map(str::to_owned),
            }),
        };
        ok(json!(true))
    }

    fn get_updates(&mut self, body: &Value) -> Reply {
        if self.webhook.is_some() {
            return error(StatusCode::CONFLICT, CANT_GET_UPDATES);
        }
        // A positive offset confirms every update below it; a negative one keeps only the last
        // -offset updates (teloxide's "drop pending updates" sends -1).
        let offset = int_field(body, "offset").unwrap_or(0);
        if offset > 0 {
            self.updates
                .retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset));
        } else if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            let excess = self.updates.len().saturating_sub(keep);
            self.updates.drain(..excess);
        }
        let limit = int_field(body, "limit")
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| (1..=100).contains(l))
            .unwrap_or(100);
        let limit = self.batch.unwrap_or(limit);
        let timeout = int_field(body, "timeout")
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(0);
        let wait = if self.instant_updates {
            Duration::ZERO
        } else {
            Duration::from_secs(timeout).min(MAX_LONG_POLL)
        };
        Reply::Updates { limit, wait }
    }

    /// The chat object of `chat_id`: as seen in a pushed message, else guessed from the sign.
    fn chat(&self, chat_id: i64) -> Value {
        self.chats.get(&chat_id).cloned().unwrap_or_else(|| {
            if chat_id > 0 {
                json!({ "id": chat_id, "type": "private", "first_name": format!("User {chat_id}") })
            } else {
                json!({ "id": chat_id, "type": "supergroup", "title": format!("Chat {chat_id}") })
            }
        })
    }

    /// A message the bot sends to `chat_id`, in the topic of the request's `message_thread_id`.
    fn bot_message(&mut self, chat_id: i64, body: &Value) -> Value {
        let chat = self.chat(chat_id);
        let is_forum = chat["is_forum"] == json!(true);
        let mut message = json!({
            "message_id": self.next_message_id(),
            "date": unix_now(),
            "chat": chat,
            "from": bot_user(),
        });
        if let Some(thread_id) = int_field(body, "message_thread_id") {
            message["message_thread_id"] = json!(thread_id);
            if is_forum {
                message["is_topic_message"] = json!(true);
            }
        }
        // Only inline keyboards are echoed in a Message.
        if let Some(markup) = body
            .get("reply_markup")
            .filter(|m| m.get("inline_keyboard").is_some())
        {
            message["reply_markup"] = markup.clone();
        }
        message
    }

    fn send_message(&mut self, body: &Value) -> Reply {
        let chat_id = match target_chat(body) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let Some(text) = str_field(body, "text").filter(|t| !t.is_empty()) else {
            return bad_request("message text is empty");
        };
        let mut message = self.bot_message(chat_id, body);
        message["text"] = json!(text);
        if let Some(entities @ Value::Array(_)) = body.get("entities") {
            message["entities"] = entities.clone();
        }
        ok(message)
    }

    fn edit_message_text(&mut self, body: &Value) -> Reply {
        let Some(text) = str_field(body, "text").filter(|t| !t.is_empty()) else {
            return bad_request("message text is empty");
        };
        // teloxide's editMessageTextInline arrives as editMessageText; Telegram answers `true`.
        if body.get("inline_message_id").is_some() {
            return ok(json!(true));
        }
        let (Some(chat_id), Some(message_id)) = (int_field(body, "chat_id"), int_field(body, "message_id"))
        else {
            return bad_request("message to edit not found");
        };
        let chat = self.chat(chat_id);
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "edit_date": unix_now(),
            "chat": chat,
            "from": bot_user(),
            "text": text,
        });
        if let Some(markup) = body
            .get("reply_markup")
            .filter(|m| m.get("inline_keyboard").is_some())
        {
            message["reply_markup"] = markup.clone();
        }
        ok(message)
    }

    fn edit_message_reply_markup(&mut self, body: &Value) -> Reply {
        if body.get("inline_message_id").is_some() {
            return ok(json!(true));
        }
        let (Some(chat_id), Some(message_id)) = (int_field(body, "chat_id"), int_field(body, "message_id"))
        else {
            return bad_request("message to edit not found");
        };
        let Some(mut message) = self.messages.get(&(chat_id, message_id)).cloned() else {
            return bad_request("message to edit not found");
        };
        message["edit_date"] = json!(unix_now());
        match body.get("reply_markup") {
            Some(markup) if markup.get("inline_keyboard").is_some() => {
                message["reply_markup"] = markup.clone()
            }
            _ => {
                if let Some(fields) = message.as_object_mut() {
                    fields.remove("reply_markup");
                }
            }
        }
        ok(message)
    }

    fn send_document(&mut self, body: &Value) -> Reply {
        let chat_id = match target_chat(body) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let Some(file) = body.get("document") else {
            return bad_request("there is no document in the request");
        };
        let mut message = self.bot_message(chat_id, body);
        let n = message["message_id"].clone();
        let mut document =
            json!({ "file_id": format!("document-{n}"), "file_unique_id": format!("u-document-{n}") });
        match file {
            // An upload.
            Value::Object(upload) => {
                let content = upload.get("content").and_then(Value::as_str).unwrap_or_default();
                document["file_name"] = upload.get("filename").cloned().unwrap_or(Value::Null);
                document["file_size"] = json!(content.len());
            }
            // A file_id or URL: send the known file again.
            other => document["file_id"] = other.clone(),
        }
        message["document"] = document;
        if let Some(caption) = str_field(body, "caption") {
            message["caption"] = json!(caption);
        }
        ok(message)
    }

    fn send_photo(&mut self, body: &Value) -> Reply {
        let chat_id = match target_chat(body) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        let Some(file) = body.get("photo") else {
            return bad_request("there is no photo in the request");
        };
        let mut message = self.bot_message(chat_id, body);
        let n = message["message_id"].clone();
        let size = file.get("content").and_then(Value::as_str).map_or(0, str::len);
        message["photo"] = json!([{
            "file_id": format!("photo-{n}"),
            "file_unique_id": format!("u-photo-{n}"),
            "file_size": size,
            "width": 800,
            "height": 600,
        }]);
        if let Some(caption) = str_field(body, "caption") {
            message["caption"] = json!(caption);
        }
        ok(message)
    }
}

/// setMyCommands/getMyCommands/deleteMyCommands keep one list per scope and language.
fn commands_key(body: &Value) -> String {
    let scope = match body.get("scope") {
        None | Some(Value::Null) => "default".to_owned(),
        Some(Value::Object(scope)) if scope.get("type") == Some(&json!("default")) && scope.len() == 1 => {
            "default".to_owned()
        }
        Some(scope) => scope.to_string(),
    };
    format!("{scope}|{}", str_field(body, "language_code").unwrap_or_default())
}
