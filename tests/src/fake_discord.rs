//! A fake Discord (REST under `/api/v10` plus a plain `ws://` gateway at `/gateway`) on
//! 127.0.0.1, for end-to-end tests that drive the real serenity client.
//!
//! Point serenity at it with `HttpBuilder::new(token).proxy(fake.url()).ratelimiter_disabled(true)`
//! (the proxy is ignored while serenity's own ratelimiter is on); gateway discovery
//! (`GET /api/v10/gateway` and `/gateway/bot`) answers `ws://127.0.0.1:PORT/gateway`.
//!
//! What it emulates, and where it is stricter than "accept anything" (each rule is Discord's):
//! - REST needs `Authorization: Bot <TOKEN>` (401 otherwise), except interaction callbacks and
//!   interaction webhooks, which are authorised by the token in their URL.
//! - Gateway: HELLO (op 10, configurable `heartbeat_interval`), heartbeats are ACKed (op 11),
//!   IDENTIFY (op 2) with a wrong token is closed with 4004, otherwise READY (with
//!   `application.id`) starts a session. RESUME (op 6) of the current session replays the
//!   dispatches after the client's `seq` and sends RESUMED; an unknown session gets op 9 (invalid
//!   session, not resumable). [`FakeDiscord::reconnect`] sends op 7 RECONNECT. Dispatches pushed
//!   with [`FakeDiscord::send_interaction`]/[`FakeDiscord::dispatch`] are queued until a session is
//!   READY and carry consecutive sequence numbers.
//! - Interactions must be acknowledged once (`400 code 40060` for a second callback) within
//!   [`FakeOptions::interaction_deadline`] (3 s, like Discord) of their delivery, else
//!   `404 code 10062 Unknown interaction`. The callback type must suit the interaction (8 only for
//!   autocomplete, 6/7 only for components). Callbacks answer 204.
//! - Follow-ups and `@original` edits need an acknowledged interaction (`404 code 10015 Unknown
//!   Webhook` otherwise). The first follow-up after a deferred (type 5) answer replaces the
//!   "thinking…" message, as on Discord.
//! - Messages are checked like Discord does (`400 code 50035 Invalid Form Body`): content ≤ 2000,
//!   ≤ 10 embeds, title ≤ 256, description ≤ 4096, ≤ 25 fields, footer ≤ 2048, 6000 characters
//!   in all embeds, colour 0..=0xFFFFFF, ≤ 5 action rows of ≤ 5 components, custom_id ≤ 100,
//!   label ≤ 80, unique custom ids, known flags; an empty message is `400 code 50006`.
//!   Autocomplete results: ≤ 25 choices, names 1..=100 characters.
//! - Commands (`PUT` bulk overwrite, `GET`, `POST`, `PATCH`, `DELETE`, global and per guild) are
//!   validated (names 1..=32 lower-case characters, descriptions 1..=100, ≤ 25 options, ≤ 25
//!   choices, required options first, no choices together with autocomplete, localisation keys
//!   must be Discord locales such as `pl` or `en-US`, never `en`; sub-commands not mixed with
//!   other options; choices and autocomplete only on string/integer/number options, choice
//!   values of the option's type; `min_value`/`max_value` only on integer (whole, within ±2^53)
//!   and number options, `min_length`/`max_length` only on strings;
//!   `default_member_permissions` a decimal string or null) and stored normalised the way
//!   Discord answers: ids and `version` assigned (ids kept for unchanged names), `required` and
//!   `autocomplete` only when true, empty `options`/`choices` left out, and — unless the GET
//!   asks `?with_localizations=true` — **no** `name_localizations`/`description_localizations`.
//!   A client that compares its commands with a plain GET therefore sees differences in
//!   localisations and `required: false` that are not real.
//! - Multipart bodies (`payload_json` plus `files[N]`) are parsed: [`Call::body`] is the parsed
//!   `payload_json`, [`Call::files`] the uploaded files; messages get matching attachments.
//! - [`FakeDiscord::fail_next`] answers the next matching request with an injected status; a 429
//!   carries `Retry-After` (whole seconds, rounded up; the body's `retry_after` is exact),
//!   `X-RateLimit-Reset-After` and `X-RateLimit-Scope: user`, and the JSON body given.
//!
//! Every request is recorded as a [`Call`] (failed ones too, with their status); tests wait on
//! them with [`FakeDiscord::wait_for`] (event-driven, no polling).

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

/// The application (and bot) token the fake accepts.
pub const TOKEN: &str = "FAKE.DISCORD.TOKEN";
/// The application id (READY `application.id`, `/oauth2/applications/@me`).
pub const APP_ID: u64 = 111_111_111_111_111_111;
/// The bot user's id (`/users/@me`, author of the bot's messages).
pub const BOT_ID: u64 = 222_222_222_222_222_222;
/// The default guild of built interactions.
pub const GUILD_ID: u64 = 333_333_333_333_333_333;
/// The default channel of built interactions.
pub const CHANNEL_ID: u64 = 444_444_444_444_444_444;
/// The channel of the bot's DM with the default user ([`Interaction::in_dm`]).
pub const DM_CHANNEL_ID: u64 = 444_444_444_444_444_999;
/// The default user of built interactions.
pub const USER_ID: u64 = 555_555_555_555_555_555;
/// The bot's username.
pub const BOT_NAME: &str = "chainsignal-test";

/// Discord's locales (the only keys accepted in `*_localizations`).
pub const LOCALES: &[&str] = &[
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl",
    "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja",
    "zh-TW", "ko",
];

/// Message flags a bot may set: SUPPRESS_EMBEDS, EPHEMERAL, SUPPRESS_NOTIFICATIONS,
/// IS_COMPONENTS_V2.
const ALLOWED_MESSAGE_FLAGS: u64 = 4 | 64 | 4096 | 32768;
const FLAG_EPHEMERAL: u64 = 64;
const FLAG_LOADING: u64 = 128;
/// A regular member's permissions: VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, ATTACH_FILES,
/// READ_MESSAGE_HISTORY, USE_APPLICATION_COMMANDS (no MANAGE_GUILD, no ADMINISTRATOR).
pub const MEMBER_PERMISSIONS: &str = "2147601408";
/// Privileged gateway intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
pub const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

const MAX_BODY: usize = 32 * 1024 * 1024;

/// Options of [`FakeDiscord::start_with`].
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// HELLO's `heartbeat_interval`.
    pub heartbeat_interval: Duration,
    /// How long after delivery an interaction may still be acknowledged.
    pub interaction_deadline: Duration,
    /// Close an IDENTIFY asking for privileged intents with 4014 (an application whose portal
    /// switches are off).
    pub reject_privileged_intents: bool,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(41_250),
            interaction_deadline: Duration::from_secs(3),
            reject_privileged_intents: false,
        }
    }
}

/// An uploaded file of a multipart request.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The form field (`files[0]`).
    pub field: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl UploadedFile {
    /// The content as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// One REST request the fake received, failed ones included.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The full path, `/api/v10/...`, without the query.
    pub path: String,
    /// The query pairs (`with_localizations=true`), empty names dropped.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header.
    pub auth: Option<String>,
    /// The JSON body, or `payload_json` of a multipart body; `Null` when empty; the raw text as a
    /// JSON string when it was not JSON.
    pub body: Value,
    /// Whether the body was `multipart/form-data`.
    pub multipart: bool,
    /// The uploaded files of a multipart body.
    pub files: Vec<UploadedFile>,
    /// Other multipart text fields.
    pub fields: Vec<(String, String)>,
    /// The status the fake answered with.
    pub status: u16,
    /// When the request arrived.
    pub at: Instant,
}

impl Call {
    /// The path below `/api/v10` (`/interactions/1/tok/callback`).
    pub fn route(&self) -> &str {
        self.path.strip_prefix("/api/v10").unwrap_or(&self.path)
    }

    /// `method` is this call's method and its route starts with `route_prefix` (with or
    /// without `/api/v10`).
    pub fn is(&self, method: &str, route_prefix: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.route().starts_with(strip_api(route_prefix))
    }

    /// A 2xx answer.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        let mut body = self.body.to_string();
        if body.len() > 600 {
            let mut cut = 600;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        let files: Vec<&str> = self.files.iter().map(|f| f.filename.as_str()).collect();
        format!(
            "{} {}{} -> {} body={} files={:?}",
            self.method,
            self.path,
            if self.query.is_empty() {
                String::new()
            } else {
                format!("?{:?}", self.query)
            },
            self.status,
            body,
            files
        )
    }
}

fn strip_api(p: &str) -> &str {
    p.strip_prefix("/api/v10").unwrap_or(p)
}

/// A failure injected with [`FakeDiscord::fail_next`].
#[derive(Debug, Clone)]
struct Failure {
    method: Option<String>,
    route_prefix: String,
    status: u16,
    body: Value,
    retry_after: Option<f64>,
}

/// A gateway payload the client sent.
#[derive(Debug, Clone)]
pub struct GatewayFrame {
    pub payload: Value,
    /// Which websocket connection (1, 2, ...).
    pub connection: u64,
    pub at: Instant,
}

#[derive(Default)]
struct Gateway {
    frames: Vec<GatewayFrame>,
    connections: u64,
    /// Generation of the connection allowed to send dispatches.
    current: u64,
    identifies: u64,
    resumes: u64,
    ready: bool,
    session_id: Option<String>,
    seq: u64,
    /// Dispatches waiting for a READY session.
    pending: VecDeque<(String, Value)>,
    /// Dispatches sent in this session (seq, t, d), for RESUME.
    sent: Vec<(u64, String, Value)>,
    /// Ask the current connection to send op 7 RECONNECT.
    kick: bool,
}

#[derive(Debug, Clone)]
struct InteractionState {
    id: String,
    kind: u64,
    channel_id: String,
    /// The message of a component interaction.
    message: Option<Value>,
    delivered_at: Option<Instant>,
    ack: Option<u64>,
    original_id: Option<String>,
    followup_ids: Vec<String>,
    choices: Option<Value>,
    /// The modal shown (callback type 9).
    modal: Option<Value>,
}

#[derive(Default)]
struct FakeState {
    calls: Vec<Call>,
    failures: VecDeque<Failure>,
    gateway: Gateway,
    /// Commands by scope: `None` global, `Some(guild)`.
    commands: HashMap<Option<u64>, Vec<Value>>,
    interactions: HashMap<String, InteractionState>,
    messages: HashMap<String, Value>,
}

struct Shared {
    state: Mutex<FakeState>,
    changed: watch::Sender<u64>,
    options: FakeOptions,
    base: String,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    fn ws_url(&self) -> String {
        format!("{}/gateway", self.base.replacen("http://", "ws://", 1))
    }
}

/// Aborts the server task when dropped.
struct ServerTask(JoinHandle<()>);

impl Drop for ServerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Handle on a running fake; clones share it; the server stops with the last clone.
#[derive(Clone)]
pub struct FakeDiscord {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _server: Arc<ServerTask>,
}

static SNOWFLAKE: AtomicU64 = AtomicU64::new(1_300_000_000_000_000_000);

/// A fresh snowflake, as a string.
/// The DM channel of a user (`POST /users/@me/channels`).
pub const DM_CHANNEL_BASE: u64 = 5_000_000_000;

pub fn dm_channel(user: u64) -> u64 {
    DM_CHANNEL_BASE + user
}

pub fn snowflake() -> String {
    SNOWFLAKE.fetch_add(1, Ordering::Relaxed).to_string()
}

const TIMESTAMP: &str = "2024-01-01T00:00:00.000000+00:00";

impl FakeDiscord {
    /// A fake with default options.
    pub async fn start() -> Self {
        Self::start_with(FakeOptions::default()).await
    }

    pub async fn start_with(options: FakeOptions) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let (changed, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState::default()),
            changed,
            options,
            base: format!("http://{addr}"),
        });
        let app = Router::new()
            .route("/gateway", any(gateway))
            .fallback(rest)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            shared,
            addr,
            _server: Arc::new(ServerTask(server)),
        }
    }

    /// `http://127.0.0.1:PORT` (the client appends `/api/v10`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/gateway`.
    pub fn ws_url(&self) -> String {
        self.shared.ws_url()
    }

    // ----- recorded calls -----

    /// Every REST call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// The calls with `method` whose route starts with `route_prefix`.
    pub fn calls_to(&self, method: &str, route_prefix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.is(method, route_prefix))
            .collect()
    }

    /// Waits until `pred(all calls)` holds and returns the calls; panics after `timeout` with the
    /// calls seen.
    pub async fn wait_for(&self, pred: impl Fn(&[Call]) -> bool, timeout: Duration) -> Vec<Call> {
        self.wait_state("the expected REST calls", timeout, |st| {
            pred(&st.calls).then(|| st.calls.clone())
        })
        .await
    }

    /// Like [`Self::wait_for`], but `None` after `timeout` instead of a panic (for "this does
    /// not happen" checks).
    pub async fn try_wait_for(&self, pred: impl Fn(&[Call]) -> bool, timeout: Duration) -> Option<Vec<Call>> {
        let deadline = Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            {
                let st = self.shared.lock();
                if pred(&st.calls) {
                    return Some(st.calls.clone());
                }
            }
            if timeout_at(deadline, rx.changed()).await.is_err() {
                let st = self.shared.lock();
                return pred(&st.calls).then(|| st.calls.clone());
            }
        }
    }

    /// Waits for `f(state)` to return `Some`.
    async fn wait_state<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&FakeState) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut rx = self.shared.changed.subscribe();
        loop {
            if let Some(t) = f(&self.shared.lock()) {
                return t;
            }
            if timeout_at(deadline, rx.changed()).await.is_err() {
                let st = self.shared.lock();
                if let Some(t) = f(&st) {
                    return t;
                }
                panic!(
                    "fake discord: timed out after {timeout:?} waiting for {what}\nREST calls:\n{}\ngateway ops: {:?}",
                    st.calls
                        .iter()
                        .map(|c| format!("  {}", c.summary()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    st.gateway
                        .frames
                        .iter()
                        .map(|f| f.payload["op"].clone())
                        .collect::<Vec<_>>()
                );
            }
        }
    }

    // ----- failures -----

    /// Answer the next request whose route (with or without `/api/v10`) starts with
    /// `path_prefix` with `status` and `body`. A `retry_after` (seconds) adds Discord's
    /// rate-limit headers. Failures apply in the order they were queued, each once.
    pub fn fail_next(&self, path_prefix: &str, status: u16, body: Value, retry_after: Option<f64>) {
        self.push_failure(None, path_prefix, status, body, retry_after);
    }

    /// [`Self::fail_next`] for one method only.
    pub fn fail_next_method(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        body: Value,
        retry_after: Option<f64>,
    ) {
        self.push_failure(
            Some(method.to_ascii_uppercase()),
            path_prefix,
            status,
            body,
            retry_after,
        );
    }

    /// A per-route 429 as Discord sends it, for the next request under `path_prefix`.
    pub fn rate_limit_next(&self, path_prefix: &str, retry_after: f64) {
        self.fail_next(
            path_prefix,
            429,
            json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false}),
            Some(retry_after),
        );
    }

    fn push_failure(
        &self,
        method: Option<String>,
        path_prefix: &str,
        status: u16,
        body: Value,
        retry_after: Option<f64>,
    ) {
        self.shared.lock().failures.push_back(Failure {
            method,
            route_prefix: strip_api(path_prefix).to_string(),
            status,
            body,
            retry_after,
        });
    }

    // ----- commands -----

    /// Replace the registered commands of a scope (`None` global, `Some(guild)`), as if a
    /// bulk overwrite had stored them (same normalisation, no validation).
    pub fn set_registered_commands(&self, guild: Option<u64>, commands: Vec<Value>) {
        let mut st = self.shared.lock();
        let stored = store_commands(st.commands.get(&guild), &commands, guild);
        st.commands.insert(guild, stored);
        drop(st);
        self.shared.bump();
    }

    /// The registered commands of a scope as Discord returns them with
    /// `?with_localizations=true`.
    pub fn registered_commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.shared
            .lock()
            .commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    // ----- gateway -----

    /// Queue a dispatch (op 0) for the READY session (sent as soon as there is one).
    pub fn dispatch(&self, t: &str, d: Value) {
        self.shared.lock().gateway.pending.push_back((t.to_string(), d));
        self.shared.bump();
    }

    /// Queue an INTERACTION_CREATE. Its `token` and `id` become known to the REST side, so the
    /// callback, follow-ups and edits for it are accepted. A `data.id` of `"0"` is replaced by
    /// the registered command's id. Sending the same interaction again delivers it again as
    /// the same interaction: still acknowledged at most once (`40060` for a second
    /// callback), its 3 s counted from the first delivery.
    pub fn send_interaction(&self, interaction: impl Into<Value>) {
        let mut ix: Value = interaction.into();
        let token = ix["token"]
            .as_str()
            .expect("an interaction has a token")
            .to_string();
        let id = ix["id"]
            .as_str()
            .expect("an interaction id is a string")
            .to_string();
        let kind = ix["type"].as_u64().expect("an interaction has a type");
        let mut st = self.shared.lock();
        if ix["data"]["id"] == "0" {
            let name = ix["data"]["name"].as_str().unwrap_or_default().to_string();
            let guild = ix["guild_id"].as_str().and_then(|g| g.parse::<u64>().ok());
            let found = guild
                .and_then(|g| st.commands.get(&Some(g)))
                .into_iter()
                .chain(st.commands.get(&None))
                .flatten()
                .find(|c| c["name"] == name.as_str())
                .cloned();
            if let Some(c) = found {
                ix["data"]["id"] = c["id"].clone();
                if let Some(g) = c.get("guild_id").filter(|g| !g.is_null()) {
                    ix["data"]["guild_id"] = g.clone();
                }
            } else {
                ix["data"]["id"] = json!("1200000000000000000");
            }
        }
        // The same interaction delivered again (a gateway replay, a retry): one
        // interaction still, acknowledged once, its 3 s counted from the first delivery.
        let known = st.interactions.get(&token).is_some_and(|i| i.id == id);
        if !known {
            st.interactions.insert(
                token.clone(),
                InteractionState {
                    id,
                    kind,
                    channel_id: ix["channel_id"].as_str().unwrap_or_default().to_string(),
                    message: ix.get("message").cloned(),
                    delivered_at: None,
                    ack: None,
                    original_id: None,
                    followup_ids: Vec::new(),
                    choices: None,
                    modal: None,
                },
            );
        }
        if let Some(m) = ix.get("message").filter(|m| m.is_object()) {
            let mid = m["id"].as_str().unwrap_or_default().to_string();
            st.messages.entry(mid).or_insert_with(|| m.clone());
        }
        st.gateway.pending.push_back(("INTERACTION_CREATE".into(), ix));
        drop(st);
        self.shared.bump();
    }

    /// Waits until a session is READY (IDENTIFY answered, or resumed).
    pub async fn wait_ready(&self, timeout: Duration) {
        self.wait_state("a READY gateway session", timeout, |st| {
            st.gateway.ready.then_some(())
        })
        .await
    }

    /// Ask the connected client to reconnect (op 7); it should RESUME on a new connection.
    pub fn reconnect(&self) {
        self.shared.lock().gateway.kick = true;
        self.shared.bump();
    }

    /// Every gateway payload the client sent, in order.
    pub fn gateway_frames(&self) -> Vec<GatewayFrame> {
        self.shared.lock().gateway.frames.clone()
    }

    /// The ops of [`Self::gateway_frames`].
    pub fn gateway_ops(&self) -> Vec<i64> {
        self.gateway_frames()
            .iter()
            .map(|f| f.payload["op"].as_i64().unwrap_or(-1))
            .collect()
    }

    /// (websocket connections, IDENTIFYs answered with READY, RESUMEs answered with RESUMED).
    pub fn gateway_counts(&self) -> (u64, u64, u64) {
        let st = self.shared.lock();
        (st.gateway.connections, st.gateway.identifies, st.gateway.resumes)
    }

    /// Waits until the client sent a gateway payload satisfying `pred`.
    pub async fn wait_for_gateway(
        &self,
        pred: impl Fn(&[GatewayFrame]) -> bool,
        timeout: Duration,
    ) -> Vec<GatewayFrame> {
        self.wait_state("the expected gateway payloads", timeout, |st| {
            pred(&st.gateway.frames).then(|| st.gateway.frames.clone())
        })
        .await
    }

    // ----- interaction outcomes -----

    /// The callback type the interaction was acknowledged with.
    pub fn ack_type(&self, token: &str) -> Option<u64> {
        self.shared.lock().interactions.get(token).and_then(|i| i.ack)
    }

    /// The original response (or, for components, the updated message), as Discord stores it.
    pub fn original_response(&self, token: &str) -> Option<Value> {
        let st = self.shared.lock();
        let id = st.interactions.get(token)?.original_id.clone()?;
        st.messages.get(&id).cloned()
    }

    /// The follow-up messages, in order.
    pub fn followups(&self, token: &str) -> Vec<Value> {
        let st = self.shared.lock();
        visible(&st, token).1
    }

    /// Messages a user sees for the interaction: the original response unless it is still
    /// "thinking…", then the follow-ups.
    pub fn messages_for(&self, token: &str) -> Vec<Value> {
        let st = self.shared.lock();
        let (orig, mut f) = visible(&st, token);
        let mut out: Vec<Value> = orig.into_iter().collect();
        out.append(&mut f);
        out
    }

    /// Waits until `pred(messages_for(token))` holds and returns those messages.
    pub async fn wait_for_messages(
        &self,
        token: &str,
        pred: impl Fn(&[Value]) -> bool,
        timeout: Duration,
    ) -> Vec<Value> {
        self.wait_state(&format!("messages for interaction {token}"), timeout, |st| {
            let (orig, f) = visible(st, token);
            let all: Vec<Value> = orig.into_iter().chain(f).collect();
            pred(&all).then_some(all)
        })
        .await
    }

    /// The modal shown as the interaction's response (callback type 9), as sent.
    pub fn modal(&self, token: &str) -> Option<Value> {
        self.shared
            .lock()
            .interactions
            .get(token)
            .and_then(|i| i.modal.clone())
    }

    /// The autocomplete choices given for the interaction.
    pub fn autocomplete_choices(&self, token: &str) -> Option<Value> {
        self.shared
            .lock()
            .interactions
            .get(token)
            .and_then(|i| i.choices.clone())
    }

    /// A stored message by id.
    pub fn message(&self, id: &str) -> Option<Value> {
        self.shared.lock().messages.get(id).cloned()
    }

    /// The messages in a channel (as now, after edits), oldest first.
    pub fn channel_messages(&self, channel: u64) -> Vec<Value> {
        channel_messages(&self.shared.lock(), channel)
    }

    /// Waits until `pred(the channel's messages)` holds and returns them; panics after
    /// `timeout`.
    pub async fn wait_for_channel_messages(
        &self,
        channel: u64,
        pred: impl Fn(&[Value]) -> bool,
        timeout: Duration,
    ) -> Vec<Value> {
        self.wait_state("the expected channel messages", timeout, |st| {
            let msgs = channel_messages(st, channel);
            pred(&msgs).then_some(msgs)
        })
        .await
    }
}

fn channel_messages(st: &FakeState, channel: u64) -> Vec<Value> {
    let ch = channel.to_string();
    let mut out: Vec<Value> = st
        .messages
        .values()
        .filter(|m| m["channel_id"].as_str() == Some(ch.as_str()))
        .cloned()
        .collect();
    out.sort_by_key(|m| m["id"].as_str().and_then(|i| i.parse::<u64>().ok()).unwrap_or(0));
    out
}

fn visible(st: &FakeState, token: &str) -> (Option<Value>, Vec<Value>) {
    let Some(ix) = st.interactions.get(token) else {
        return (None, Vec::new());
    };
    let orig = ix
        .original_id
        .as_ref()
        .and_then(|id| st.messages.get(id))
        .filter(|m| m["flags"].as_u64().unwrap_or(0) & FLAG_LOADING == 0)
        .cloned();
    let f = ix
        .followup_ids
        .iter()
        .filter_map(|id| st.messages.get(id))
        .cloned()
        .collect();
    (orig, f)
}

// ===================== interaction builders =====================

static INTERACTION_SEQ: AtomicU64 = AtomicU64::new(1);

/// An interaction as Discord sends it in INTERACTION_CREATE; complete enough for serenity
/// (`locale`, `entitlements`, `attachment_size_limit`, `version`, `token`, `app_permissions`).
/// By default it comes from user [`USER_ID`] ("alice") in channel [`CHANNEL_ID`] of guild
/// [`GUILD_ID`], locale `en-US`; id and token are unique.
#[derive(Debug, Clone)]
pub struct Interaction {
    json: Value,
}

impl From<Interaction> for Value {
    fn from(i: Interaction) -> Value {
        i.json
    }
}

impl From<&Interaction> for Value {
    fn from(i: &Interaction) -> Value {
        i.json.clone()
    }
}

fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
           "avatar": null, "bot": bot, "public_flags": 0})
}

/// One option of an interaction, typed from the JSON value.
fn option_json(name: &str, value: Value) -> Value {
    let kind = match &value {
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        _ => 3,
    };
    json!({"name": name, "type": kind, "value": value})
}

impl Interaction {
    fn base(kind: u64, data: Value) -> Self {
        let n = INTERACTION_SEQ.fetch_add(1, Ordering::Relaxed);
        let json = json!({
            "id": (1_250_000_000_000_000_000u64 + n).to_string(),
            "application_id": APP_ID.to_string(),
            "type": kind,
            "data": data,
            "channel_id": CHANNEL_ID.to_string(),
            "channel": {"id": CHANNEL_ID.to_string(), "type": 0, "name": "trading",
                        "guild_id": GUILD_ID.to_string(), "permissions": "2147483647"},
            "token": format!("fake-interaction-token-{n}-aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"),
            "version": 1,
            "app_permissions": "2147483647",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
            "attachment_size_limit": 26_214_400,
        });
        Self { json }.guild(GUILD_ID)
    }

    /// A slash command (type 2, CHAT_INPUT). `data.id` is filled by
    /// [`FakeDiscord::send_interaction`] from the registered commands.
    pub fn command(name: &str) -> Self {
        Self::base(2, json!({"id": "0", "name": name, "type": 1, "options": []}))
    }

    /// An autocomplete request (type 4) for `option` of command `name`, typed so far: `value`.
    pub fn autocomplete(name: &str, option: &str, value: &str) -> Self {
        Self::base(
            4,
            json!({"id": "0", "name": name, "type": 1,
                   "options": [{"name": option, "type": 3, "value": value, "focused": true}]}),
        )
    }

    /// A button press (type 3) on `message` (a message object, e.g. from
    /// [`FakeDiscord::original_response`]).
    pub fn button(custom_id: &str, message: Value) -> Self {
        let mut i = Self::base(3, json!({"custom_id": custom_id, "component_type": 2}));
        if let Some(ch) = message["channel_id"].as_str() {
            i = i.channel(ch.parse().unwrap_or(CHANNEL_ID));
        }
        i.json["message"] = message;
        i
    }

    /// A modal submission (type 5, MODAL_SUBMIT) of the modal `custom_id`, each field
    /// a text input (type 4) in its own action row, as Discord sends them.
    pub fn modal_submit(custom_id: &str, fields: &[(&str, &str)]) -> Self {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]}))
            .collect();
        Self::base(5, json!({"custom_id": custom_id, "components": rows}))
    }

    /// Adds an option (string 3, integer 4, boolean 5, number 10 — from the JSON type).
    pub fn option(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.json["data"]["options"]
            .as_array_mut()
            .expect("options of a command")
            .push(option_json(name, value.into()));
        self
    }

    /// Adds a sub-command (type 1) with its options, as Discord sends
    /// `/schedule remove name:x`: `{"name": "remove", "type": 1, "options": [...]}`.
    pub fn subcommand(mut self, name: &str, options: &[(&str, Value)]) -> Self {
        let inner: Vec<Value> = options.iter().map(|(n, v)| option_json(n, v.clone())).collect();
        self.json["data"]["options"]
            .as_array_mut()
            .expect("options of a command")
            .push(json!({"name": name, "type": 1, "options": inner}));
        self
    }

    /// The user's client language (`locale`), e.g. `"pl"`.
    pub fn locale(mut self, locale: &str) -> Self {
        self.json["locale"] = json!(locale);
        self
    }

    /// The guild's preferred locale.
    pub fn guild_locale(mut self, locale: &str) -> Self {
        self.json["guild_locale"] = json!(locale);
        self
    }

    /// Another channel.
    pub fn channel(mut self, id: u64) -> Self {
        self.json["channel_id"] = json!(id.to_string());
        self.json["channel"]["id"] = json!(id.to_string());
        self
    }

    /// Another invoking user.
    pub fn user(mut self, id: u64, name: &str) -> Self {
        let u = user_json(id, name, false);
        if self.json.get("member").is_some_and(Value::is_object) {
            self.json["member"]["user"] = u;
        } else {
            self.json["user"] = u;
        }
        self
    }

    fn current_user(&self) -> Value {
        self.json
            .get("member")
            .and_then(|m| m.get("user"))
            .or_else(|| self.json.get("user"))
            .cloned()
            .unwrap_or_else(|| user_json(USER_ID, "alice", false))
    }

    /// Invoked in guild `id` (a `member` object, context 0).
    pub fn guild(mut self, id: u64) -> Self {
        let u = self.current_user();
        let obj = self.json.as_object_mut().expect("object");
        obj.remove("user");
        obj.insert("guild_id".into(), json!(id.to_string()));
        obj.insert("guild_locale".into(), json!("en-US"));
        obj.insert("context".into(), json!(0));
        obj.insert(
            "member".into(),
            json!({"user": u, "nick": null, "roles": [], "joined_at": TIMESTAMP,
                   "deaf": false, "mute": false, "flags": 0, "pending": false,
                   "permissions": MEMBER_PERMISSIONS, "avatar": null}),
        );
        self.json["channel"]["guild_id"] = json!(id.to_string());
        self
    }

    /// The invoking member's permissions in the channel (a decimal bit set, e.g. `"8"` for
    /// ADMINISTRATOR, `"32"` for MANAGE_GUILD). Guild interactions only.
    pub fn member_permissions(mut self, permissions: &str) -> Self {
        self.json["member"]["permissions"] = json!(permissions);
        self
    }

    /// Invoked in the bot's DM with the user (a `user` object, context 1, DM channel
    /// [`DM_CHANNEL_ID`]; call [`Self::channel`] afterwards for another one).
    pub fn in_dm(mut self) -> Self {
        self.json["channel_id"] = json!(DM_CHANNEL_ID.to_string());
        let u = self.current_user();
        let obj = self.json.as_object_mut().expect("object");
        obj.remove("member");
        obj.remove("guild_id");
        obj.remove("guild_locale");
        obj.insert("user".into(), u);
        obj.insert("context".into(), json!(1));
        obj.insert(
            "authorizing_integration_owners".into(),
            json!({"1": USER_ID.to_string()}),
        );
        obj.insert(
            "channel".into(),
            json!({"id": obj["channel_id"].clone(), "type": 1}),
        );
        self
    }

    pub fn id(&self) -> &str {
        self.json["id"].as_str().expect("id")
    }

    pub fn token(&self) -> &str {
        self.json["token"].as_str().expect("token")
    }

    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Direct access for anything the builder does not cover.
    pub fn json_mut(&mut self) -> &mut Value {
        &mut self.json
    }
}

// ===================== REST =====================

fn error(status: u16, code: u64, message: &str) -> (u16, Value) {
    (status, json!({"message": message, "code": code}))
}

fn form_error(path: &str, code: &str, message: &str) -> (u16, Value) {
    (
        400,
        json!({"message": "Invalid Form Body", "code": 50035,
               "errors": {path: {"_errors": [{"code": code, "message": message}]}}}),
    )
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

async fn rest(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let at = Instant::now();
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let auth = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_multipart = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let mut files = Vec::new();
    let mut fields = Vec::new();
    let body = if is_multipart {
        match Multipart::from_request(req, &()).await {
            Ok(mut mp) => {
                let mut payload = Value::Null;
                loop {
                    match mp.next_field().await {
                        Ok(Some(field)) => {
                            let name = field.name().unwrap_or_default().to_string();
                            let filename = field.file_name().map(str::to_string);
                            let ct = field.content_type().map(str::to_string);
                            let bytes = field.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                            if let Some(filename) = filename {
                                files.push(UploadedFile {
                                    field: name,
                                    filename,
                                    content_type: ct,
                                    bytes,
                                });
                            } else if name == "payload_json" {
                                payload = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                                    Value::String(String::from_utf8_lossy(&bytes).into_owned())
                                });
                            } else {
                                fields.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            payload = json!(format!("bad multipart: {e}"));
                            break;
                        }
                    }
                }
                payload
            }
            Err(e) => json!(format!("bad multipart: {e}")),
        }
    } else {
        match Bytes::from_request(req, &()).await {
            Ok(b) if b.is_empty() => Value::Null,
            Ok(b) => serde_json::from_slice(&b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned())),
            Err(e) => json!(format!("unreadable body: {e}")),
        }
    };
    let mut call = Call {
        method,
        path,
        query,
        auth,
        body,
        multipart: is_multipart,
        files,
        fields,
        status: 0,
        at,
    };
    let mut st = shared.lock();
    let route = call.route().to_string();
    // Injected failures first.
    let failure = st
        .failures
        .iter()
        .position(|f| {
            route.starts_with(&f.route_prefix)
                && f.method.as_deref().is_none_or(|m| m == call.method)
                && call.path.starts_with("/api/v10")
        })
        .and_then(|i| st.failures.remove(i));
    let (status, answer) = if let Some(f) = failure {
        (f.status, Err(f))
    } else {
        let (status, body) = handle(&shared, &mut st, &call);
        (status, Ok(body))
    };
    call.status = status;
    st.calls.push(call);
    drop(st);
    shared.bump();
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match answer {
        Ok(Value::Null) if status == 204 => code.into_response(),
        Ok(body) => (code, axum::Json(body)).into_response(),
        Err(f) => {
            let mut resp = (code, axum::Json(f.body)).into_response();
            if let Some(ra) = f.retry_after {
                let h = resp.headers_mut();
                let secs = ra.ceil().max(0.0) as u64;
                h.insert(
                    "retry-after",
                    HeaderValue::from_str(&secs.to_string()).expect("header"),
                );
                h.insert(
                    "x-ratelimit-reset-after",
                    HeaderValue::from_str(&format!("{ra:.3}")).expect("header"),
                );
                h.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
                h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
                h.insert("x-ratelimit-bucket", HeaderValue::from_static("fakebucket"));
                h.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            }
            resp
        }
    }
}

/// (status, JSON body); `(204, Null)` for no content.
fn handle(shared: &Shared, st: &mut FakeState, call: &Call) -> (u16, Value) {
    let Some(route) = call.path.strip_prefix("/api/v10") else {
        return error(404, 0, "404: Not Found (the fake serves /api/v10 only)");
    };
    let seg: Vec<&str> = route.trim_matches('/').split('/').collect();
    let m = call.method.as_str();
    // Interaction endpoints are authorised by their token; everything else by the bot token.
    let token_routes = matches!(
        seg.as_slice(),
        ["interactions", ..] | ["webhooks", ..] | ["gateway"]
    );
    let authorised = call.auth.as_deref().is_some_and(|a| a == format!("Bot {TOKEN}"));
    if !token_routes && !authorised {
        return error(401, 0, "401: Unauthorized");
    }
    let app = APP_ID.to_string();
    match (m, seg.as_slice()) {
        ("GET", ["gateway"]) => (200, json!({"url": shared.ws_url()})),
        ("GET", ["gateway", "bot"]) => (
            200,
            json!({"url": shared.ws_url(), "shards": 1,
                   "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0,
                                           "max_concurrency": 1}}),
        ),
        ("GET", ["users", "@me"]) => (200, bot_user()),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => (200, application()),
        (_, ["applications", a, ..]) if *a != app => error(403, 50001, "Missing Access"),
        ("GET", ["applications", _, "commands"]) => (200, list_commands(st, None, call)),
        ("GET", ["applications", _, "guilds", g, "commands"]) => match g.parse::<u64>() {
            Ok(g) => (200, list_commands(st, Some(g), call)),
            Err(_) => error(404, 10004, "Unknown Guild"),
        },
        ("PUT", ["applications", _, "commands"]) => put_commands(st, None, &call.body),
        ("PUT", ["applications", _, "guilds", g, "commands"]) => match g.parse::<u64>() {
            Ok(g) => put_commands(st, Some(g), &call.body),
            Err(_) => error(404, 10004, "Unknown Guild"),
        },
        ("POST", ["applications", _, "commands"]) => upsert_command(st, None, &call.body),
        ("POST", ["applications", _, "guilds", g, "commands"]) => match g.parse::<u64>() {
            Ok(g) => upsert_command(st, Some(g), &call.body),
            Err(_) => error(404, 10004, "Unknown Guild"),
        },
        ("DELETE", ["applications", _, "commands", id]) => delete_command(st, None, id),
        ("DELETE", ["applications", _, "guilds", g, "commands", id]) => match g.parse::<u64>() {
            Ok(g) => delete_command(st, Some(g), id),
            Err(_) => error(404, 10004, "Unknown Guild"),
        },
        ("PATCH", ["applications", _, "commands", id]) => patch_command(st, None, id, &call.body),
        ("PATCH", ["applications", _, "guilds", g, "commands", id]) => match g.parse::<u64>() {
            Ok(g) => patch_command(st, Some(g), id, &call.body),
            Err(_) => error(404, 10004, "Unknown Guild"),
        },
        ("POST", ["interactions", id, token, "callback"]) => callback(shared, st, id, token, call),
        ("POST", ["webhooks", a, token]) if *a == app => followup(shared, st, token, call),
        ("GET", ["webhooks", a, token, "messages", mid]) if *a == app => {
            match resolve_message(st, token, mid) {
                Ok(id) => (200, st.messages[&id].clone()),
                Err(e) => e,
            }
        }
        ("PATCH", ["webhooks", a, token, "messages", mid]) if *a == app => {
            edit_message(shared, st, token, mid, call)
        }
        ("DELETE", ["webhooks", a, token, "messages", mid]) if *a == app => {
            match resolve_message(st, token, mid) {
                Ok(id) => {
                    st.messages.remove(&id);
                    (204, Value::Null)
                }
                Err(e) => e,
            }
        }
        ("POST", ["webhooks", ..]) | ("PATCH", ["webhooks", ..]) | ("GET", ["webhooks", ..]) => {
            error(404, 10015, "Unknown Webhook")
        }
        ("POST", ["channels", ch, "typing"]) => {
            let _ = ch;
            (204, Value::Null)
        }
        // A DM channel with a user: `DM_CHANNEL_BASE + user id`, the same every time.
        ("POST", ["users", "@me", "channels"]) => {
            let Some(user) = call.body["recipient_id"]
                .as_str()
                .and_then(|u| u.parse::<u64>().ok())
                .or_else(|| call.body["recipient_id"].as_u64())
            else {
                return error(400, 50035, "Invalid Form Body");
            };
            (
                200,
                json!({
                    "id": dm_channel(user).to_string(), "type": 1, "last_message_id": null,
                    "recipients": [user_json(user, "someone", false)],
                }),
            )
        }
        ("PATCH", ["channels", ch, "messages", mid]) => {
            let Some(mut msg) = st.messages.get(*mid).cloned() else {
                return error(404, 10008, "Unknown Message");
            };
            if msg["channel_id"].as_str() != Some(*ch) {
                return error(404, 10008, "Unknown Message");
            }
            if let Err(e) = validate_message(&call.body, call.files.len(), false, true) {
                return e;
            }
            apply_edit(shared, &mut msg, &call.body, &call.files);
            st.messages.insert(mid.to_string(), msg.clone());
            (200, msg)
        }
        ("POST", ["channels", ch, "messages"]) => {
            if let Err(e) = validate_message(&call.body, call.files.len(), true, false) {
                return e;
            }
            let id = snowflake();
            let msg = build_message(shared, &id, ch, &call.body, &call.files, 0, None);
            st.messages.insert(id, msg.clone());
            (200, msg)
        }
        _ => error(404, 0, "404: Not Found"),
    }
}

fn bot_user() -> Value {
    let mut u = user_json(BOT_ID, BOT_NAME, true);
    u["verified"] = json!(true);
    u["mfa_enabled"] = json!(false);
    u["flags"] = json!(0);
    u
}

fn application() -> Value {
    json!({
        "id": APP_ID.to_string(), "name": "Chainsignal Test", "icon": null, "description": "",
        "bot_public": true, "bot_require_code_grant": false, "verify_key": "00",
        "owner": user_json(666, "owner", false), "team": null, "flags": 0, "bot": bot_user(),
    })
}

// ----- commands -----

fn is_command_name(s: &str) -> bool {
    let n = s.chars().count();
    (1..=32).contains(&n)
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '\'')
        && s.to_lowercase() == s
}

fn check_localizations(
    v: &Value,
    key: &str,
    path: &str,
    check: impl Fn(&str) -> bool,
) -> Result<(), (u16, Value)> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(map)) => {
            for (locale, text) in map {
                if !LOCALES.contains(&locale.as_str()) {
                    return Err(form_error(
                        &format!("{path}.{key}.{locale}"),
                        "ENUM_TYPE_COERCE",
                        &format!("Value \"{locale}\" is not a valid enum value."),
                    ));
                }
                if !text.as_str().is_some_and(&check) {
                    return Err(form_error(
                        &format!("{path}.{key}.{locale}"),
                        "APPLICATION_COMMAND_INVALID_NAME",
                        "Invalid localized value",
                    ));
                }
            }
            Ok(())
        }
        Some(_) => Err(form_error(
            &format!("{path}.{key}"),
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        )),
    }
}

fn len_between(v: &Value, lo: usize, hi: usize) -> bool {
    v.as_str().is_some_and(|s| (lo..=hi).contains(&s.chars().count()))
}

fn validate_options(options: &Value, path: &str, depth: usize) -> Result<(), (u16, Value)> {
    let Some(opts) = options.as_array() else {
        return if options.is_null() {
            Ok(())
        } else {
            Err(form_error(
                path,
                "LIST_TYPE_CONVERT",
                "Only iterables may be used in a ListType",
            ))
        };
    };
    if opts.len() > 25 {
        return Err(form_error(
            path,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    // Sub-commands (and groups) are not mixed with plain options on one level.
    let subs = opts
        .iter()
        .filter(|o| o["type"].as_u64().is_some_and(|k| k <= 2))
        .count();
    if subs != 0 && subs != opts.len() {
        return Err(form_error(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive to all other types",
        ));
    }
    let mut seen_optional = false;
    let mut names = Vec::new();
    for (i, o) in opts.iter().enumerate() {
        let p = format!("{path}.{i}");
        let kind = o["type"].as_u64().unwrap_or(0);
        if !(1..=11).contains(&kind) {
            return Err(form_error(
                &format!("{p}.type"),
                "ENUM_TYPE_COERCE",
                "Not a valid option type",
            ));
        }
        let name = o["name"].as_str().unwrap_or_default();
        if !is_command_name(name) {
            return Err(form_error(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            ));
        }
        if names.contains(&name) {
            return Err(form_error(
                &format!("{p}.name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option name already exists",
            ));
        }
        names.push(name);
        if !len_between(&o["description"], 1, 100) {
            return Err(form_error(
                &format!("{p}.description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        check_localizations(o, "name_localizations", &p, is_command_name)?;
        check_localizations(o, "description_localizations", &p, |s| {
            (1..=100).contains(&s.chars().count())
        })?;
        let required = o["required"].as_bool().unwrap_or(false);
        if kind <= 2 {
            if required {
                return Err(form_error(
                    &format!("{p}.required"),
                    "APPLICATION_COMMAND_OPTION_REQUIRED_INVALID",
                    "Sub-commands cannot be required",
                ));
            }
            if depth >= 2 {
                return Err(form_error(&p, "APPLICATION_COMMAND_OPTIONS_TOO_DEEP", "Too deep"));
            }
            validate_options(&o["options"], &format!("{p}.options"), depth + 1)?;
        } else if required && seen_optional {
            return Err(form_error(
                &p,
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            ));
        }
        if !required {
            seen_optional = true;
        }
        check_bounds(o, kind, &p)?;
        let choices = o["choices"].as_array().map(Vec::as_slice).unwrap_or_default();
        if !choices.is_empty() && !matches!(kind, 3 | 4 | 10) {
            return Err(form_error(
                &format!("{p}.choices"),
                "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                "Only string, integer and number options take choices",
            ));
        }
        if o["autocomplete"].as_bool() == Some(true) && !matches!(kind, 3 | 4 | 10) {
            return Err(form_error(
                &format!("{p}.autocomplete"),
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
                "Only string, integer and number options autocomplete",
            ));
        }
        if choices.len() > 25 {
            return Err(form_error(
                &format!("{p}.choices"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        if !choices.is_empty() && o["autocomplete"].as_bool().unwrap_or(false) {
            return Err(form_error(
                &format!("{p}.autocomplete"),
                "APPLICATION_COMMAND_OPTION_CHOICES_AUTOCOMPLETE",
                "Autocomplete cannot be set with choices",
            ));
        }
        for (j, c) in choices.iter().enumerate() {
            let cp = format!("{p}.choices.{j}");
            if !len_between(&c["name"], 1, 100) {
                return Err(form_error(
                    &format!("{cp}.name"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ));
            }
            let typed = match kind {
                3 => c["value"].is_string(),
                4 => c["value"].is_i64() || c["value"].is_u64(),
                _ => c["value"].is_number(),
            };
            if !typed {
                return Err(form_error(
                    &format!("{cp}.value"),
                    "APPLICATION_COMMAND_OPTION_CHOICE_VALUE_TYPE",
                    "A choice's value has the option's type",
                ));
            }
            if c["value"].is_string() && !len_between(&c["value"], 1, 100) {
                return Err(form_error(
                    &format!("{cp}.value"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ));
            }
            check_localizations(c, "name_localizations", &cp, |s| {
                (1..=100).contains(&s.chars().count())
            })?;
        }
    }
    Ok(())
}

/// Discord's integers: -2^53..=2^53.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

/// `min_value`/`max_value` only on integer (whole numbers within ±2^53) and number options;
/// `min_length`/`max_length` (0..=6000) only on string options; minimum not above maximum.
fn check_bounds(o: &Value, kind: u64, p: &str) -> Result<(), (u16, Value)> {
    let present = |k: &str| o.get(k).filter(|v| !v.is_null());
    let bad = |k: &str, msg: &str| Err(form_error(&format!("{p}.{k}"), "NUMBER_TYPE_COERCE", msg));
    let mut bounds = [None, None];
    for (i, k) in ["min_value", "max_value"].into_iter().enumerate() {
        let Some(v) = present(k) else { continue };
        if !matches!(kind, 4 | 10) {
            return bad(
                k,
                "Only integer and number options have a minimum or maximum value",
            );
        }
        let Some(f) = v.as_f64() else {
            return bad(k, "Value is not a number");
        };
        if kind == 4 && (f.fract() != 0.0 || f.abs() > MAX_SAFE_INTEGER) {
            return bad(k, "Value is not a valid integer");
        }
        bounds[i] = Some(f);
    }
    if let [Some(lo), Some(hi)] = bounds
        && lo > hi
    {
        return bad("min_value", "The minimum is above the maximum");
    }
    for k in ["min_length", "max_length"] {
        let Some(v) = present(k) else { continue };
        if kind != 3 {
            return bad(k, "Only string options have a minimum or maximum length");
        }
        if v.as_u64().is_none_or(|n| n > 6000) {
            return bad(k, "Must be between 0 and 6000");
        }
    }
    Ok(())
}

fn validate_command(c: &Value, path: &str) -> Result<(), (u16, Value)> {
    // A permission bit set as a decimal string (serenity sends `"32"`), or null.
    match c.get("default_member_permissions") {
        None | Some(Value::Null) => {}
        Some(Value::String(bits)) if !bits.is_empty() && bits.parse::<u64>().is_ok() => {}
        Some(_) => {
            return Err(form_error(
                &format!("{path}.default_member_permissions"),
                "BASE_TYPE_BAD_INT",
                "Value is not a valid permission bit set",
            ));
        }
    }
    let kind = c["type"].as_u64().unwrap_or(1);
    let name = c["name"].as_str().unwrap_or_default();
    if kind == 1 {
        if !is_command_name(name) {
            return Err(form_error(
                &format!("{path}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid",
            ));
        }
        if !len_between(&c["description"], 1, 100) {
            return Err(form_error(
                &format!("{path}.description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        check_localizations(c, "name_localizations", path, is_command_name)?;
        check_localizations(c, "description_localizations", path, |s| {
            (1..=100).contains(&s.chars().count())
        })?;
        validate_options(&c["options"], &format!("{path}.options"), 0)?;
    } else if !(1..=32).contains(&name.chars().count()) {
        return Err(form_error(
            &format!("{path}.name"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ));
    }
    Ok(())
}

fn nonempty_map(v: Option<&Value>) -> Value {
    match v {
        Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()),
        _ => Value::Null,
    }
}

fn normalize_option(o: &Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), o["type"].clone());
    out.insert("name".into(), o["name"].clone());
    out.insert(
        "name_localizations".into(),
        nonempty_map(o.get("name_localizations")),
    );
    out.insert("description".into(), o["description"].clone());
    out.insert(
        "description_localizations".into(),
        nonempty_map(o.get("description_localizations")),
    );
    if o["required"].as_bool() == Some(true) {
        out.insert("required".into(), json!(true));
    }
    if o["autocomplete"].as_bool() == Some(true) {
        out.insert("autocomplete".into(), json!(true));
    }
    if let Some(ch) = o["choices"].as_array().filter(|c| !c.is_empty()) {
        let ch: Vec<Value> = ch
            .iter()
            .map(|c| {
                json!({"name": c["name"], "name_localizations": nonempty_map(c.get("name_localizations")),
                       "value": c["value"]})
            })
            .collect();
        out.insert("choices".into(), Value::Array(ch));
    }
    if let Some(sub) = o["options"].as_array().filter(|s| !s.is_empty()) {
        out.insert(
            "options".into(),
            Value::Array(sub.iter().map(normalize_option).collect()),
        );
    }
    if let Some(ct) = o["channel_types"].as_array().filter(|s| !s.is_empty()) {
        out.insert("channel_types".into(), Value::Array(ct.clone()));
    }
    for k in ["min_value", "max_value", "min_length", "max_length"] {
        if let Some(v) = o.get(k).filter(|v| !v.is_null()) {
            // An integer option's bound is kept as an integer (`-10.0` is given back as `-10`).
            let whole = v
                .as_f64()
                .filter(|f| o["type"].as_u64() == Some(4) && !v.is_i64() && !v.is_u64() && f.fract() == 0.0);
            out.insert(k.into(), whole.map_or_else(|| v.clone(), |f| json!(f as i64)));
        }
    }
    Value::Object(out)
}

/// The command as Discord stores it (the `with_localizations=true` view), `id`/`version` given.
fn normalize_command(c: &Value, id: String, version: String, guild: Option<u64>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.insert("application_id".into(), json!(APP_ID.to_string()));
    out.insert("version".into(), json!(version));
    out.insert(
        "default_member_permissions".into(),
        c.get("default_member_permissions")
            .cloned()
            .unwrap_or(Value::Null),
    );
    out.insert("type".into(), json!(c["type"].as_u64().unwrap_or(1)));
    out.insert("name".into(), c["name"].clone());
    out.insert(
        "name_localizations".into(),
        nonempty_map(c.get("name_localizations")),
    );
    out.insert(
        "description".into(),
        json!(c["description"].as_str().unwrap_or_default()),
    );
    out.insert(
        "description_localizations".into(),
        nonempty_map(c.get("description_localizations")),
    );
    if let Some(g) = guild {
        out.insert("guild_id".into(), json!(g.to_string()));
    } else {
        out.insert(
            "dm_permission".into(),
            json!(c["dm_permission"].as_bool().unwrap_or(true)),
        );
    }
    if let Some(opts) = c["options"].as_array().filter(|o| !o.is_empty()) {
        out.insert(
            "options".into(),
            Value::Array(opts.iter().map(normalize_option).collect()),
        );
    }
    out.insert(
        "contexts".into(),
        c.get("contexts")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
    );
    out.insert(
        "integration_types".into(),
        c.get("integration_types")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!([0])),
    );
    out.insert("nsfw".into(), json!(c["nsfw"].as_bool().unwrap_or(false)));
    Value::Object(out)
}

/// Without localisations, the way a plain GET answers.
fn without_localizations(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "name_localizations" && *k != "description_localizations")
                .map(|(k, v)| (k.clone(), without_localizations(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_localizations).collect()),
        other => other.clone(),
    }
}

fn same_definition(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.remove("id");
            o.remove("version");
        }
        v
    };
    strip(a) == strip(b)
}

fn store_commands(existing: Option<&Vec<Value>>, new: &[Value], guild: Option<u64>) -> Vec<Value> {
    new.iter()
        .map(|c| {
            let prev = existing.and_then(|e| {
                e.iter().find(|p| {
                    p["name"] == c["name"] && p["type"].as_u64() == Some(c["type"].as_u64().unwrap_or(1))
                })
            });
            let id = prev
                .and_then(|p| p["id"].as_str())
                .map(str::to_string)
                .unwrap_or_else(snowflake);
            let candidate = normalize_command(c, id.clone(), String::new(), guild);
            let version = match prev {
                Some(p) if same_definition(p, &candidate) => {
                    p["version"].as_str().unwrap_or_default().to_string()
                }
                _ => snowflake(),
            };
            normalize_command(c, id, version, guild)
        })
        .collect()
}

fn list_commands(st: &FakeState, guild: Option<u64>, call: &Call) -> Value {
    let cmds = st.commands.get(&guild).cloned().unwrap_or_default();
    if call.query_param("with_localizations") == Some("true") {
        Value::Array(cmds)
    } else {
        Value::Array(cmds.iter().map(without_localizations).collect())
    }
}

fn put_commands(st: &mut FakeState, guild: Option<u64>, body: &Value) -> (u16, Value) {
    let Some(new) = body.as_array() else {
        return form_error(
            "_root",
            "LIST_TYPE_CONVERT",
            "Only iterables may be used in a ListType",
        );
    };
    if new.len() > 100 {
        return form_error("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.");
    }
    let mut names: Vec<(u64, &str)> = Vec::new();
    for (i, c) in new.iter().enumerate() {
        if let Err(e) = validate_command(c, &i.to_string()) {
            return e;
        }
        let key = (
            c["type"].as_u64().unwrap_or(1),
            c["name"].as_str().unwrap_or_default(),
        );
        if names.contains(&key) {
            return form_error(
                &format!("{i}.name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            );
        }
        names.push(key);
    }
    let stored = store_commands(st.commands.get(&guild), new, guild);
    st.commands.insert(guild, stored.clone());
    (200, Value::Array(stored))
}

fn upsert_command(st: &mut FakeState, guild: Option<u64>, body: &Value) -> (u16, Value) {
    if let Err(e) = validate_command(body, "_root") {
        return e;
    }
    let mut cmds = st.commands.get(&guild).cloned().unwrap_or_default();
    let stored = store_commands(Some(&cmds), std::slice::from_ref(body), guild).remove(0);
    let existed = cmds.iter().position(|c| c["id"] == stored["id"]);
    match existed {
        Some(i) => cmds[i] = stored.clone(),
        None => cmds.push(stored.clone()),
    }
    st.commands.insert(guild, cmds);
    (if existed.is_some() { 200 } else { 201 }, stored)
}

fn patch_command(st: &mut FakeState, guild: Option<u64>, id: &str, body: &Value) -> (u16, Value) {
    let mut cmds = st.commands.get(&guild).cloned().unwrap_or_default();
    let Some(i) = cmds.iter().position(|c| c["id"] == id) else {
        return error(404, 10063, "Unknown application command");
    };
    let mut merged = cmds[i].clone();
    if let (Some(m), Some(b)) = (merged.as_object_mut(), body.as_object()) {
        for (k, v) in b {
            m.insert(k.clone(), v.clone());
        }
    }
    if let Err(e) = validate_command(&merged, "_root") {
        return e;
    }
    let stored = store_commands(Some(&cmds), std::slice::from_ref(&merged), guild).remove(0);
    cmds[i] = stored.clone();
    st.commands.insert(guild, cmds);
    (200, stored)
}

fn delete_command(st: &mut FakeState, guild: Option<u64>, id: &str) -> (u16, Value) {
    let cmds = st.commands.entry(guild).or_default();
    let before = cmds.len();
    cmds.retain(|c| c["id"] != id);
    if cmds.len() == before {
        error(404, 10063, "Unknown application command")
    } else {
        (204, Value::Null)
    }
}

// ----- messages -----

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

/// Discord's message checks. `new`: a new message (empty is an error); `ephemeral_ok`: the
/// EPHEMERAL flag is allowed (interaction responses and follow-ups).
fn validate_message(body: &Value, files: usize, new: bool, ephemeral_ok: bool) -> Result<(), (u16, Value)> {
    if !(body.is_object() || body.is_null() && files > 0) {
        return Err(error(400, 50109, "The request body contains invalid JSON."));
    }
    if chars(&body["content"]) > 2000 {
        return Err(form_error(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    let embeds = body["embeds"].as_array().map(Vec::as_slice).unwrap_or_default();
    if embeds.len() > 10 {
        return Err(form_error(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        let p = format!("embeds.{i}");
        let limits = [("title", 256), ("description", 4096)];
        for (k, max) in limits {
            if chars(&e[k]) > max {
                return Err(form_error(
                    &format!("{p}.{k}"),
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {max} or fewer in length."),
                ));
            }
            total += chars(&e[k]);
        }
        if chars(&e["footer"]["text"]) > 2048 {
            return Err(form_error(
                &format!("{p}.footer.text"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 2048 or fewer in length.",
            ));
        }
        if chars(&e["author"]["name"]) > 256 {
            return Err(form_error(
                &format!("{p}.author.name"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 256 or fewer in length.",
            ));
        }
        total += chars(&e["footer"]["text"]) + chars(&e["author"]["name"]);
        let fields = e["fields"].as_array().map(Vec::as_slice).unwrap_or_default();
        if fields.len() > 25 {
            return Err(form_error(
                &format!("{p}.fields"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            if !(1..=256).contains(&chars(&f["name"])) || !(1..=1024).contains(&chars(&f["value"])) {
                return Err(form_error(
                    &format!("{p}.fields.{j}"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Field name 1..=256 and value 1..=1024 characters",
                ));
            }
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        match e.get("color") {
            None | Some(Value::Null) => {}
            Some(c) if c.as_u64().is_some_and(|c| c <= 0xFF_FFFF) => {}
            Some(_) => {
                return Err(form_error(
                    &format!("{p}.color"),
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 16777215.",
                ));
            }
        }
    }
    if total > 6000 {
        return Err(form_error(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    let rows = body["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let flags = body["flags"].as_u64().unwrap_or(0);
    if flags & 32768 == 0 {
        if rows.len() > 5 {
            return Err(form_error(
                "components",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 5 or fewer in length.",
            ));
        }
        let mut ids = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let p = format!("components.{i}");
            let comps = row["components"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if row["type"] != 1 || comps.is_empty() || comps.len() > 5 {
                return Err(form_error(
                    &p,
                    "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                    "An action row holds 1 to 5 components",
                ));
            }
            for (j, c) in comps.iter().enumerate() {
                let cp = format!("{p}.components.{j}");
                if c["type"] == 2 {
                    let style = c["style"].as_u64().unwrap_or(0);
                    if !(1..=6).contains(&style) {
                        return Err(form_error(
                            &format!("{cp}.style"),
                            "ENUM_TYPE_COERCE",
                            "Not a valid button style",
                        ));
                    }
                    if style == 5 && !c["url"].is_string() {
                        return Err(form_error(
                            &format!("{cp}.url"),
                            "BASE_TYPE_REQUIRED",
                            "This field is required",
                        ));
                    }
                    if chars(&c["label"]) > 80 {
                        return Err(form_error(
                            &format!("{cp}.label"),
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 80 or fewer in length.",
                        ));
                    }
                }
                if (c["type"] != 2 || c["style"].as_u64().unwrap_or(0) < 5) && !c["custom_id"].is_string() {
                    return Err(form_error(
                        &format!("{cp}.custom_id"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    ));
                }
                if let Some(id) = c["custom_id"].as_str() {
                    if !(1..=100).contains(&id.chars().count()) {
                        return Err(form_error(
                            &format!("{cp}.custom_id"),
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        ));
                    }
                    if ids.contains(&id) {
                        return Err(form_error(
                            &format!("{cp}.custom_id"),
                            "COMPONENT_CUSTOM_ID_DUPLICATED",
                            "Component custom id cannot be duplicated",
                        ));
                    }
                    ids.push(id);
                }
            }
        }
    }
    let allowed = ALLOWED_MESSAGE_FLAGS & if ephemeral_ok { u64::MAX } else { !FLAG_EPHEMERAL };
    if flags & !allowed != 0 {
        return Err(form_error("flags", "MESSAGE_FLAGS_INVALID", "Invalid flags"));
    }
    if let Some(parse) = body["allowed_mentions"]["parse"].as_array() {
        for p in parse {
            if !matches!(p.as_str(), Some("users" | "roles" | "everyone")) {
                return Err(form_error(
                    "allowed_mentions.parse",
                    "ENUM_TYPE_COERCE",
                    "Not a valid mention type",
                ));
            }
        }
    }
    if new {
        let empty = chars(&body["content"]) == 0
            && embeds.is_empty()
            && rows.is_empty()
            && files == 0
            && body["sticker_ids"].as_array().is_none_or(Vec::is_empty)
            && body["poll"].is_null();
        if empty {
            return Err(error(400, 50006, "Cannot send an empty message"));
        }
    }
    Ok(())
}

fn attachment_json(shared: &Shared, file: &UploadedFile, entry: Option<&Value>) -> Value {
    let id = snowflake();
    let filename = entry
        .and_then(|e| e["filename"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| file.filename.clone());
    let url = format!("{}/attachments/{CHANNEL_ID}/{id}/{filename}", shared.base);
    json!({
        "id": id, "filename": filename,
        "description": entry.and_then(|e| e.get("description")).cloned().unwrap_or(Value::Null),
        "content_type": file.content_type.clone(),
        "size": file.bytes.len(), "url": url, "proxy_url": url,
        "ephemeral": false,
    })
}

/// The message's attachments after a create or edit: the entries of `attachments` naming
/// an uploaded file (`id` = N of `files[N]`) or a kept attachment (its id), then unreferenced
/// uploads. Without an `attachments` key the old ones stay and uploads are appended.
fn attachments(shared: &Shared, body: &Value, files: &[UploadedFile], old: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut used = vec![false; files.len()];
    match body.get("attachments").and_then(Value::as_array) {
        Some(entries) => {
            for e in entries {
                let id = match &e["id"] {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                let upload = files.iter().position(|f| f.field == format!("files[{id}]"));
                if let Some(i) = upload {
                    used[i] = true;
                    out.push(attachment_json(shared, &files[i], Some(e)));
                } else if let Some(a) = old.iter().find(|a| a["id"] == id.as_str()) {
                    out.push(a.clone());
                }
            }
        }
        None => out.extend(old.iter().cloned()),
    }
    for (i, f) in files.iter().enumerate() {
        if !used[i] {
            out.push(attachment_json(shared, f, None));
        }
    }
    out
}

fn normalize_embeds(v: &Value) -> Value {
    Value::Array(
        v.as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if e.get("type").is_none() {
                    e["type"] = json!("rich");
                }
                e
            })
            .collect(),
    )
}

fn build_message(
    shared: &Shared,
    id: &str,
    channel_id: &str,
    body: &Value,
    files: &[UploadedFile],
    kind: u64,
    interaction: Option<(&str, u64)>,
) -> Value {
    let mut msg = json!({
        "id": id, "channel_id": channel_id, "author": bot_user(),
        "content": body["content"].as_str().unwrap_or_default(),
        "timestamp": TIMESTAMP, "edited_timestamp": null, "tts": body["tts"].as_bool().unwrap_or(false),
        "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": attachments(shared, body, files, &[]),
        "embeds": normalize_embeds(&body["embeds"]),
        "components": body.get("components").filter(|c| !c.is_null()).cloned().unwrap_or(json!([])),
        "pinned": false, "type": kind,
        "webhook_id": APP_ID.to_string(), "application_id": APP_ID.to_string(),
        "flags": body["flags"].as_u64().unwrap_or(0),
    });
    if let Some((ix_id, ix_type)) = interaction {
        msg["interaction_metadata"] = json!({
            "id": ix_id, "type": ix_type, "user": user_json(USER_ID, "alice", false),
            "authorizing_integration_owners": {}
        });
    }
    msg
}

/// Applies an edit (PATCH semantics) to a stored message.
fn apply_edit(shared: &Shared, msg: &mut Value, body: &Value, files: &[UploadedFile]) {
    let old_attachments = msg["attachments"].as_array().cloned().unwrap_or_default();
    if let Some(c) = body.get("content") {
        msg["content"] = json!(c.as_str().unwrap_or_default());
    }
    if let Some(e) = body.get("embeds") {
        msg["embeds"] = normalize_embeds(e);
    }
    if let Some(c) = body.get("components") {
        msg["components"] = if c.is_null() { json!([]) } else { c.clone() };
    }
    if body.get("attachments").is_some() || !files.is_empty() {
        msg["attachments"] = Value::Array(attachments(shared, body, files, &old_attachments));
    }
    if let Some(f) = body["flags"].as_u64() {
        // Only SUPPRESS_EMBEDS can be changed on an existing message; EPHEMERAL stays.
        let keep = msg["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL;
        msg["flags"] = json!((f & !FLAG_EPHEMERAL) | keep);
    }
    let flags = msg["flags"].as_u64().unwrap_or(0) & !FLAG_LOADING;
    msg["flags"] = json!(flags);
    msg["edited_timestamp"] = json!("2024-01-01T00:00:01.000000+00:00");
}

fn callback(shared: &Shared, st: &mut FakeState, id: &str, token: &str, call: &Call) -> (u16, Value) {
    let deadline = shared.options.interaction_deadline;
    let Some(ix) = st.interactions.get(token).cloned() else {
        return error(404, 10062, "Unknown interaction");
    };
    if ix.id != id {
        return error(404, 10062, "Unknown interaction");
    }
    match ix.delivered_at {
        Some(t) if call.at.duration_since(t) <= deadline => {}
        _ => return error(404, 10062, "Unknown interaction"),
    }
    if ix.ack.is_some() {
        return error(400, 40060, "Interaction has already been acknowledged.");
    }
    let body = &call.body;
    let Some(kind) = body["type"].as_u64() else {
        return form_error("type", "BASE_TYPE_REQUIRED", "This field is required");
    };
    let valid = match ix.kind {
        2 => matches!(kind, 4 | 5 | 9),
        3 => matches!(kind, 4 | 5 | 6 | 7 | 9),
        4 => kind == 8,
        5 => matches!(kind, 4..=7),
        _ => false,
    };
    if !valid {
        return form_error(
            "type",
            "INTERACTION_RESPONSE_TYPE_INVALID",
            &format!(
                "Interaction response type {kind} is not valid for interaction type {}",
                ix.kind
            ),
        );
    }
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let mut original_id = ix.original_id.clone();
    let mut choices = None;
    let mut modal = None;
    match kind {
        4 => {
            if let Err(e) = validate_message(&data, call.files.len(), true, true) {
                return e;
            }
            let mid = snowflake();
            let msg = build_message(
                shared,
                &mid,
                &ix.channel_id,
                &data,
                &call.files,
                20,
                Some((&ix.id, ix.kind)),
            );
            st.messages.insert(mid.clone(), msg);
            original_id = Some(mid);
        }
        5 => {
            let flags = data["flags"].as_u64().unwrap_or(0);
            if flags & !FLAG_EPHEMERAL != 0 {
                return form_error("data.flags", "MESSAGE_FLAGS_INVALID", "Invalid flags");
            }
            let mid = snowflake();
            let mut msg = build_message(
                shared,
                &mid,
                &ix.channel_id,
                &json!({}),
                &[],
                20,
                Some((&ix.id, ix.kind)),
            );
            msg["flags"] = json!(flags | FLAG_LOADING);
            st.messages.insert(mid.clone(), msg);
            original_id = Some(mid);
        }
        6 | 7 => {
            let Some(target) = ix
                .message
                .as_ref()
                .and_then(|m| m["id"].as_str())
                .map(str::to_string)
            else {
                return error(400, 50035, "Invalid Form Body");
            };
            if kind == 7 {
                if let Err(e) = validate_message(&data, call.files.len(), false, false) {
                    return e;
                }
                let mut msg = st
                    .messages
                    .get(&target)
                    .cloned()
                    .or(ix.message.clone())
                    .unwrap_or_default();
                apply_edit(shared, &mut msg, &data, &call.files);
                st.messages.insert(target.clone(), msg);
            }
            original_id = Some(target);
        }
        8 => {
            let list = data["choices"].as_array().cloned().unwrap_or_default();
            if list.len() > 25 {
                return form_error(
                    "data.choices",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 25 or fewer in length.",
                );
            }
            for (i, c) in list.iter().enumerate() {
                if !len_between(&c["name"], 1, 100) {
                    return form_error(
                        &format!("data.choices.{i}.name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    );
                }
                if c["value"].is_string() && chars(&c["value"]) > 100 {
                    return form_error(
                        &format!("data.choices.{i}.value"),
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    );
                }
            }
            choices = Some(Value::Array(list));
        }
        9 => {
            if let Err(e) = validate_modal(&data) {
                return e;
            }
            modal = Some(data.clone());
        }
        _ => {}
    }
    let ix = st.interactions.get_mut(token).expect("checked above");
    ix.ack = Some(kind);
    ix.original_id = original_id;
    ix.choices = choices;
    if modal.is_some() {
        ix.modal = modal;
    }
    (204, Value::Null)
}

/// A modal as Discord checks it: custom_id 1..=100, title 1..=45, 1 to 5 action rows of
/// one text input each (type 4: custom_id 1..=100, label 1..=45, style 1 or 2, lengths
/// within 0..=4000, min <= max).
fn validate_modal(data: &Value) -> Result<(), (u16, Value)> {
    if !len_between(&data["custom_id"], 1, 100) {
        return Err(form_error(
            "data.custom_id",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    if !len_between(&data["title"], 1, 45) {
        return Err(form_error(
            "data.title",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 45 in length.",
        ));
    }
    let rows = data["components"].as_array().cloned().unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        return Err(form_error(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let inner = row["components"].as_array().cloned().unwrap_or_default();
        if row["type"] != 1 || inner.len() != 1 || inner[0]["type"] != 4 {
            return Err(form_error(
                &format!("data.components.{i}"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "Invalid action row",
            ));
        }
        let input = &inner[0];
        let at = |f: &str| format!("data.components.{i}.components.0.{f}");
        if !len_between(&input["custom_id"], 1, 100) {
            return Err(form_error(
                &at("custom_id"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        if !len_between(&input["label"], 1, 45) {
            return Err(form_error(
                &at("label"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 45 in length.",
            ));
        }
        if !matches!(input["style"].as_u64(), Some(1 | 2)) {
            return Err(form_error(
                &at("style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of (1, 2).",
            ));
        }
        let min = input["min_length"].as_u64().unwrap_or(0);
        let max = input["max_length"].as_u64().unwrap_or(4000);
        if min > 4000 || max == 0 || max > 4000 || min > max {
            return Err(form_error(
                &at("max_length"),
                "BASE_TYPE_BAD_INT",
                "Invalid length bounds.",
            ));
        }
    }
    Ok(())
}

fn acked_interaction<'a>(st: &'a FakeState, token: &str) -> Result<&'a InteractionState, (u16, Value)> {
    match st.interactions.get(token) {
        Some(ix) if ix.ack.is_some_and(|a| a != 8) => Ok(ix),
        _ => Err(error(404, 10015, "Unknown Webhook")),
    }
}

fn followup(shared: &Shared, st: &mut FakeState, token: &str, call: &Call) -> (u16, Value) {
    let ix = match acked_interaction(st, token) {
        Ok(ix) => ix.clone(),
        Err(e) => return e,
    };
    if let Err(e) = validate_message(&call.body, call.files.len(), true, true) {
        return e;
    }
    // The first follow-up after a deferred answer replaces the "thinking…" message.
    if let Some(orig_id) = &ix.original_id {
        let loading = st
            .messages
            .get(orig_id)
            .is_some_and(|m| m["flags"].as_u64().unwrap_or(0) & FLAG_LOADING != 0);
        if loading && ix.ack == Some(5) {
            let mut msg = st.messages[orig_id].clone();
            apply_edit(shared, &mut msg, &call.body, &call.files);
            msg["edited_timestamp"] = Value::Null;
            st.messages.insert(orig_id.clone(), msg.clone());
            return (200, msg);
        }
    }
    let mid = snowflake();
    let msg = build_message(
        shared,
        &mid,
        &ix.channel_id,
        &call.body,
        &call.files,
        0,
        Some((&ix.id, ix.kind)),
    );
    st.messages.insert(mid.clone(), msg.clone());
    st.interactions
        .get_mut(token)
        .expect("known")
        .followup_ids
        .push(mid);
    (200, msg)
}

/// The stored message id for `@original` or a follow-up id of this interaction.
fn resolve_message(st: &FakeState, token: &str, mid: &str) -> Result<String, (u16, Value)> {
    let ix = acked_interaction(st, token)?;
    let id = if mid == "@original" {
        ix.original_id.clone()
    } else {
        let own = ix.followup_ids.iter().any(|f| f == mid) || ix.original_id.as_deref() == Some(mid);
        own.then(|| mid.to_string())
    };
    match id {
        Some(id) if st.messages.contains_key(&id) => Ok(id),
        _ => Err(error(404, 10008, "Unknown Message")),
    }
}

fn edit_message(shared: &Shared, st: &mut FakeState, token: &str, mid: &str, call: &Call) -> (u16, Value) {
    let id = match resolve_message(st, token, mid) {
        Ok(id) => id,
        Err(e) => return e,
    };
    if let Err(e) = validate_message(&call.body, call.files.len(), false, true) {
        return e;
    }
    let mut msg = st.messages[&id].clone();
    apply_edit(shared, &mut msg, &call.body, &call.files);
    let empty = chars(&msg["content"]) == 0
        && msg["embeds"].as_array().is_none_or(Vec::is_empty)
        && msg["attachments"].as_array().is_none_or(Vec::is_empty)
        && msg["components"].as_array().is_none_or(Vec::is_empty);
    if empty {
        return error(400, 50006, "Cannot send an empty message");
    }
    st.messages.insert(id, msg.clone());
    (200, msg)
}

// ===================== gateway =====================

async fn gateway(State(shared): State<Arc<Shared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| session(shared, socket))
}

fn text(v: Value) -> WsMessage {
    WsMessage::Text(v.to_string().into())
}

enum Step {
    Client(Option<Result<WsMessage, axum::Error>>),
    Changed,
}

async fn session(shared: Arc<Shared>, mut socket: WebSocket) {
    let conn = {
        let mut st = shared.lock();
        st.gateway.connections += 1;
        st.gateway.current = st.gateway.connections;
        // A new connection ends the previous one's right to dispatch.
        st.gateway.ready = false;
        st.gateway.connections
    };
    shared.bump();
    let hello =
        json!({"op": 10, "d": {"heartbeat_interval": shared.options.heartbeat_interval.as_millis() as u64}});
    if socket.send(text(hello)).await.is_err() {
        return;
    }
    let mut changed = shared.changed.subscribe();
    loop {
        // Dispatch what is pending, or obey a reconnect request.
        let (out, kick, stale) = {
            let mut st = shared.lock();
            let g = &mut st.gateway;
            if g.current != conn {
                (Vec::new(), false, true)
            } else if g.kick && g.ready {
                g.kick = false;
                g.ready = false;
                (Vec::new(), true, false)
            } else if g.ready {
                let mut out = Vec::new();
                while let Some((t, d)) = g.pending.pop_front() {
                    g.seq += 1;
                    g.sent.push((g.seq, t.clone(), d.clone()));
                    out.push(json!({"op": 0, "t": t, "s": g.seq, "d": d}));
                }
                let now = Instant::now();
                for p in out.iter().filter(|p| p["t"] == "INTERACTION_CREATE") {
                    if let Some(ix) = p["d"]["token"].as_str().and_then(|t| st.interactions.get_mut(t)) {
                        ix.delivered_at.get_or_insert(now);
                    }
                }
                (out, false, false)
            } else {
                (Vec::new(), false, false)
            }
        };
        if stale {
            let _ = socket.send(WsMessage::Close(None)).await;
            break;
        }
        for p in out {
            if socket.send(text(p)).await.is_err() {
                mark_gone(&shared, conn);
                return;
            }
        }
        if kick {
            let _ = socket.send(text(json!({"op": 7, "d": null}))).await;
            // Discord closes the socket after asking for a reconnect.
            let _ = socket
                .send(WsMessage::Close(Some(CloseFrame {
                    code: 4000,
                    reason: "reconnect".into(),
                })))
                .await;
            break;
        }
        let step = tokio::select! {
            m = socket.recv() => Step::Client(m),
            _ = changed.changed() => Step::Changed,
        };
        let msg = match step {
            Step::Changed => continue,
            Step::Client(Some(Ok(m))) => m,
            Step::Client(_) => break,
        };
        let payload: Value = match msg {
            WsMessage::Text(t) => serde_json::from_str(t.as_str()).unwrap_or(Value::Null),
            WsMessage::Binary(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            WsMessage::Close(_) => {
                // The websocket layer queued the closing handshake's reply; the next read
                // flushes it (the client waits for it), then sees the end.
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.recv()).await;
                break;
            }
            _ => continue,
        };
        shared.lock().gateway.frames.push(GatewayFrame {
            payload: payload.clone(),
            connection: conn,
            at: Instant::now(),
        });
        shared.bump();
        let reply: Vec<WsMessage> = match payload["op"].as_i64() {
            Some(1) => vec![text(json!({"op": 11}))],
            Some(2) => {
                let token = payload["d"]["token"].as_str().unwrap_or_default();
                let intents = payload["d"]["intents"].as_u64().unwrap_or(0);
                if token.trim_start_matches("Bot ") != TOKEN {
                    vec![WsMessage::Close(Some(CloseFrame {
                        code: 4004,
                        reason: "Authentication failed.".into(),
                    }))]
                } else if shared.options.reject_privileged_intents && intents & PRIVILEGED_INTENTS != 0 {
                    vec![WsMessage::Close(Some(CloseFrame {
                        code: 4014,
                        reason: "Disallowed intent(s).".into(),
                    }))]
                } else {
                    let mut st = shared.lock();
                    let g = &mut st.gateway;
                    g.identifies += 1;
                    let sid = format!("fake-session-{}", g.identifies);
                    g.session_id = Some(sid.clone());
                    g.seq = 1;
                    g.sent.clear();
                    g.ready = true;
                    let ready = json!({"op": 0, "t": "READY", "s": 1, "d": {
                        "v": 10, "user": bot_user(), "guilds": [], "session_id": sid,
                        "resume_gateway_url": shared.ws_url(), "shard": [0, 1],
                        "application": {"id": APP_ID.to_string(), "flags": 0},
                        "private_channels": [], "relationships": [], "presences": [],
                        "_trace": ["fake-discord"]}});
                    vec![text(ready)]
                }
            }
            Some(6) => {
                let d = &payload["d"];
                let mut st = shared.lock();
                let g = &mut st.gateway;
                let ok = d["token"].as_str().unwrap_or_default().trim_start_matches("Bot ") == TOKEN
                    && g.session_id.as_deref() == d["session_id"].as_str()
                    && g.session_id.is_some();
                if ok {
                    let from = d["seq"].as_u64().unwrap_or(0);
                    let mut out: Vec<WsMessage> = g
                        .sent
                        .iter()
                        .filter(|(s, _, _)| *s > from)
                        .map(|(s, t, d)| text(json!({"op": 0, "t": t, "s": s, "d": d})))
                        .collect();
                    g.seq += 1;
                    out.push(text(
                        json!({"op": 0, "t": "RESUMED", "s": g.seq, "d": {"_trace": ["fake-discord"]}}),
                    ));
                    g.resumes += 1;
                    g.ready = true;
                    out
                } else {
                    vec![text(json!({"op": 9, "d": false}))]
                }
            }
            _ => Vec::new(),
        };
        if !reply.is_empty() {
            shared.bump();
        }
        for r in reply {
            let closing = matches!(r, WsMessage::Close(_));
            if socket.send(r).await.is_err() || closing {
                mark_gone(&shared, conn);
                return;
            }
        }
    }
    mark_gone(&shared, conn);
}

fn mark_gone(shared: &Shared, conn: u64) {
    let mut st = shared.lock();
    if st.gateway.current == conn {
        st.gateway.ready = false;
    }
    drop(st);
    shared.bump();
}
