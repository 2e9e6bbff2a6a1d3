//! The one-time HTTPS form for `/keys add` on Telegram (issue 14 item 2): the real
//! teloxide against the fake Telegram, the real commands, the vault, SQLite, and the
//! bot's own HTTP server on 127.0.0.1 driven with reqwest (the reverse proxy's TLS is
//! not part of it). The whole process logs at TRACE through Chainsignal's own logging
//! setup into a buffer; the tests search it, every request the bot made and the
//! database files for the secrets and the form tokens.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::{http, keys_form, telegram};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{Identity, NewKeyForm, Store, key_form_hash};
use chainsignal_tests::fake_binance::FakeBinance;
use chainsignal_tests::fake_telegram::{FakeTelegram, IncomingMessage};
use chainsignal_tests::trace_log::{assert_not_logged, log};
use chainsignal_tests::{TEST_VAULT_KEY, sqlite_files_contain};
use chrono::Utc;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PUBLIC_URL: &str = "https://bot.example.test";
const LINK_PREFIX: &str = "https://bot.example.test/keys/form/";

// ============================ the log, at TRACE ============================

// ============================ the bot ============================

struct FormBot {
    app: App,
    started: telegram::Started,
    http: tokio::task::JoinHandle<std::io::Result<()>>,
    addr: SocketAddr,
    trigger: ShutdownTrigger,
    db: PathBuf,
    _dir: tempfile::TempDir,
    _testnet: FakeBinance,
}

impl FormBot {
    async fn start(fake: &FakeTelegram, public_url: Option<&str>) -> FormBot {
        log();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("form.sqlite");
        let mut config = Config::default();
        config.secrets.vault_keys = vec![(1, SecretString::from(TEST_VAULT_KEY))];
        config.telegram.api_url = fake.url();
        config.telegram.poll_timeout_secs = 1;
        config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
        config.http.public_url = public_url.map(str::to_string);
        // Keys are checked on the exchange before they are stored: the fake testnet
        // knows the pairs these tests send.
        let testnet = FakeBinance::start_testnet().await;
        testnet.add_key(
            "APIKEYform000000000000001234wxyz",
            "SECRETformRecognisable000000000077",
        );
        testnet.add_key(
            "APIKEYalice00000000000000009999",
            "SECRETaliceRecognisable000000000055",
        );
        config.market.binance_testnet_url = testnet.url();
        config.market.backoff_ms = 1;
        config.validate().unwrap();
        let url = SecretString::from(format!("sqlite://{}", db.display()));
        let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
        let (trigger, shutdown) = shutdown::channel();
        let started = telegram::start(&app, shutdown.clone()).unwrap().unwrap();
        // The bot's HTTP server, as `run` mounts it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes = http::router(app.store.clone(), None).merge(keys_form::router(app.commands.clone()));
        let http = tokio::spawn(http::serve(listener, routes, shutdown));
        FormBot {
            _testnet: testnet,
            app,
            started,
            http,
            addr,
            trigger,
            db,
            _dir: dir,
        }
    }

    fn form_url(&self, token: &str) -> String {
        format!("http://{}/keys/form/{token}", self.addr)
    }

    async fn stop(self) -> (Store, PathBuf, tempfile::TempDir) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(WAIT, self.http)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.app.store.close().await;
        (self.app.store, self.db, self._dir)
    }
}

async fn account_of(store: &Store, user: i64) -> i64 {
    store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: user.to_string(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap()
}

async fn keys_of(store: &Store, user: i64) -> Vec<chainsignal_core::store::ExchangeKeyRecord> {
    let account = account_of(store, user).await;
    store.exchange_keys(account).await.unwrap()
}

fn sent_texts(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.calls_of("sendMessage")
        .iter()
        .filter(|c| c.chat_id() == Some(chat) && c.status == 200)
        .filter_map(|c| c.text().map(str::to_string))
        .collect()
}

async fn wait_texts(fake: &FakeTelegram, chat: i64, n: usize) -> Vec<String> {
    fake.wait_until(WAIT, |calls| {
        calls
            .iter()
            .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat) && c.status == 200)
            .count()
            >= n
    })
    .await;
    sent_texts(fake, chat)
}

/// The token of the form link in `text`, if any.
fn token_in(text: &str) -> Option<String> {
    let start = text.find(LINK_PREFIX)? + LINK_PREFIX.len();
    let token: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    Some(token)
}

/// `/keys add binance-testnet` in `user`'s private chat: the link's token (the reply's
/// text is returned too).
async fn ask_link(fake: &FakeTelegram, message: IncomingMessage) -> (String, String) {
    let user = message.chat_id;
    let before = sent_texts(fake, user).len();
    fake.push_message(&message);
    let texts = wait_texts(fake, user, before + 1).await;
    let text = texts[before].clone();
    let token = token_in(&text).unwrap_or_else(|| panic!("a form link: {text}"));
    assert_eq!(token.len(), 64, "256 random bits as hex: {text}");
    (token, text)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `application/x-www-form-urlencoded` of `fields`.
fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(n, v)| format!("{}={}", pct(n), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn pct(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

async fn post(
    bot: &FormBot,
    token: &str,
    fields: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client()
        .post(bot.form_url(token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(fields))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn get(bot: &FormBot, token: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = client().get(bot.form_url(token)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The security headers every answer of the form carries.
fn assert_secure(headers: &reqwest::header::HeaderMap) {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(h("cache-control"), "no-store", "{headers:?}");
    let csp = h("content-security-policy");
    assert!(
        csp.contains("default-src 'none'")
            && csp.contains("form-action 'self'")
            && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert!(h("content-type").starts_with("text/html"), "{headers:?}");
}

/// The hidden CSRF value of a form page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].chars().take_while(|c| *c != '"').collect()
}

// ============================ tests ============================

/// With `http.public_url`, `/keys add binance-testnet` in a private chat answers with a
/// one-time link (the message is deleted, as any `/keys add`); in a group it is refused
/// and no link is given anywhere. Without a public URL the private chat gets the
/// fallback: send the key and secret with the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_is_offered_only_in_private_chats() {
    const USER: i64 = 5101;
    const GROUP: i64 = -100510;
    let fake = FakeTelegram::start().await;
    let bot = FormBot::start(&fake, Some(PUBLIC_URL)).await;

    let (token, text) = ask_link(&fake, IncomingMessage::private(USER, "/keys add binance-testnet")).await;
    assert!(text.contains("one-time link"), "{text}");
    assert!(text.contains("10 minutes"), "{text}");
    assert_eq!(fake.calls_of("deleteMessage").len(), 1);

    fake.push_message(&IncomingMessage::private(USER, "/keys add binance-testnet").in_group(GROUP));
    let texts = wait_texts(&fake, USER, 2).await;
    assert!(texts[1].contains("only taken in a private chat"), "{texts:?}");
    let all: Vec<String> = fake
        .calls_of("sendMessage")
        .iter()
        .filter_map(|c| c.text().map(str::to_string))
        .collect();
    assert_eq!(
        all.iter().filter(|t| t.contains(LINK_PREFIX)).count(),
        1,
        "one link, in the private chat: {all:?}"
    );
    let (store, db, _dir) = bot.stop().await;
    assert!(
        !sqlite_files_contain(&db, &token),
        "the token is stored hashed only"
    );
    drop(store);

    // Without a public URL: the fallback sentence, no link.
    let fake = FakeTelegram::start().await;
    let bot = FormBot::start(&fake, None).await;
    fake.push_message(&IncomingMessage::private(USER, "/keys add binance-testnet"));
    let texts = wait_texts(&fake, USER, 1).await;
    assert!(
        texts[0].contains("/keys add binance-testnet API_KEY SECRET"),
        "{texts:?}"
    );
    assert!(!texts[0].contains("/keys/form/"), "{texts:?}");
    bot.stop().await;
    assert_not_logged(&[&token]);
}

/// The whole way: the form (security headers, a CSRF field, password inputs), a POST
/// without or with a wrong CSRF value refused and nothing stored, the right one stores
/// the key sealed in the account of the link and tells the chat; a second POST and a
/// later GET get the page without detail and nothing is stored twice. The secret, the
/// API key (but for its mask) and the token are in no log line at TRACE, no request of
/// the bot but the link itself, and no database byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_stores_the_key_sealed_once_and_tells_the_chat() {
    const USER: i64 = 5202;
    const API_KEY: &str = "APIKEYform000000000000001234wxyz";
    const SECRET: &str = "SECRETformRecognisable000000000077";
    let fake = FakeTelegram::start().await;
    let bot = FormBot::start(&fake, Some(PUBLIC_URL)).await;
    let (token, _) = ask_link(
        &fake,
        IncomingMessage::private(USER, "/keys add binance-testnet label=main"),
    )
    .await;

    let (status, headers, html) = get(&bot, &token).await;
    assert_eq!(status, 200, "{html}");
    assert_secure(&headers);
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("For binance-testnet."), "{html}");
    assert!(
        html.contains("name=\"api_key\" type=\"password\"")
            && html.contains("name=\"secret\" type=\"password\""),
        "{html}"
    );
    assert!(html.contains("name=\"label\" type=\"text\""), "{html}");
    assert!(
        html.contains("value=\"main\""),
        "the label given is pre-filled: {html}"
    );
    assert!(!html.contains("action=\"http"), "posts back to itself: {html}");
    let csrf = csrf_of(&html);
    assert!(csrf.len() >= 32, "{csrf}");

    let fields = |csrf: Option<&'static str>| {
        let mut f = vec![("api_key", API_KEY), ("secret", SECRET), ("label", "main")];
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        f
    };
    let (status, headers, page) = post(&bot, &token, &fields(None)).await;
    assert_eq!(status, 403, "{page}");
    assert_secure(&headers);
    assert!(page.contains("could not be verified"), "{page}");
    let (status, _, page) = post(&bot, &token, &fields(Some("0123456789abcdef0123456789abcdef"))).await;
    assert_eq!(status, 403, "{page}");
    assert!(keys_of(&bot.app.store, USER).await.is_empty());
    assert!(!page.contains(SECRET) && !page.contains(API_KEY));

    let csrf: &'static str = Box::leak(csrf.into_boxed_str());
    let (status, headers, page) = post(&bot, &token, &fields(Some(csrf))).await;
    assert_eq!(status, 200, "{page}");
    assert_secure(&headers);
    assert!(
        page.contains("Key main for binance-testnet stored, sealed: APIK…wxyz."),
        "{page}"
    );
    assert!(page.contains("the chat has the answer too"), "{page}");
    let texts = wait_texts(&fake, USER, 2).await;
    assert!(
        texts[1].contains("Key main for binance-testnet stored, sealed: APIK…wxyz."),
        "the chat is told: {texts:?}"
    );
    let stored = keys_of(&bot.app.store, USER).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].label.as_str(), stored[0].api_key_mask.as_str()),
        ("main", "APIK…wxyz")
    );
    assert_ne!(stored[0].secret_sealed, SECRET);

    // Once only.
    let (status, headers, page) = post(&bot, &token, &fields(Some(csrf))).await;
    assert_eq!(status, 404, "{page}");
    assert_secure(&headers);
    assert!(page.contains("This link is not valid"), "{page}");
    let (status, _, page) = get(&bot, &token).await;
    assert_eq!(status, 404, "{page}");
    assert!(!page.contains("csrf"), "{page}");
    assert_eq!(keys_of(&bot.app.store, USER).await.len(), 1, "nothing twice");
    assert_eq!(sent_texts(&fake, USER).len(), 2, "the chat is told once");

    let audit = bot.app.store.recent_audit(20).await.unwrap();
    let adds: Vec<&str> = audit
        .iter()
        .filter(|a| a.command == "keys")
        .map(|a| a.args.as_str())
        .collect();
    assert!(
        adds.contains(&"add exchange=binance-testnet api_key=*** secret=*** label=main"),
        "{adds:?}"
    );

    let (_store, db, _dir) = bot.stop().await;
    let requests: Vec<String> = fake
        .calls()
        .iter()
        .filter(|c| c.method != "getupdates")
        .map(|c| format!("{} {}", c.method, c.body))
        .collect();
    assert_eq!(
        requests.iter().filter(|r| r.contains(&token)).count(),
        1,
        "the token is only in the link: {requests:#?}"
    );
    for needle in [SECRET, API_KEY] {
        assert!(
            !requests.iter().any(|r| r.contains(needle)),
            "{needle} in a request of the bot"
        );
    }
    for needle in [SECRET, API_KEY, token.as_str()] {
        assert!(!sqlite_files_contain(&db, needle), "{needle} in the database");
    }
    assert_not_logged(&[SECRET, API_KEY, &token]);
}

/// Expired, unknown and malformed tokens get the same page without detail (404, the
/// security headers), on GET and POST; nothing is stored. A body over 8 KiB or not a
/// form is refused without taking the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_unknown_and_oversized_are_refused() {
    const USER: i64 = 5303;
    const SECRET: &str = "SECRETexpiredRecognisable0000000011";
    let fake = FakeTelegram::start().await;
    let bot = FormBot::start(&fake, Some(PUBLIC_URL)).await;
    let account = account_of(&bot.app.store, USER).await;
    let expired = "e".repeat(64);
    let now = Utc::now();
    bot.app
        .store
        .create_key_form(&NewKeyForm {
            token_hash: key_form_hash(&expired),
            csrf: "c".repeat(32),
            user_id: account,
            platform: "telegram".into(),
            platform_user_id: USER.to_string(),
            platform_chat_id: USER.to_string(),
            exchange: "binance-testnet".into(),
            label: None,
            locale: "en".into(),
            created_at: now - chrono::Duration::minutes(11),
            expires_at: now - chrono::Duration::minutes(1),
        })
        .await
        .unwrap();
    let csrf = "c".repeat(32);
    let submission = [
        ("api_key", "APIKEYexpired000000000000001234"),
        ("secret", SECRET),
        ("csrf", csrf.as_str()),
    ];
    let unknown = "a".repeat(64);
    for token in [
        expired.as_str(),
        unknown.as_str(),
        "short",
        "%ZZ",
        "E".repeat(64).as_str(),
    ] {
        let (status, headers, page) = get(&bot, token).await;
        assert_eq!(status, 404, "{token}: {page}");
        assert_secure(&headers);
        assert!(page.contains("This link is not valid"), "{page}");
        let (status, headers, page) = post(&bot, token, &submission).await;
        assert_eq!(status, 404, "{token}: {page}");
        assert_secure(&headers);
        assert!(!page.contains(SECRET));
    }
    assert!(keys_of(&bot.app.store, USER).await.is_empty());

    // A live link: an oversized body and a body that is not a form leave it usable.
    let (token, _) = ask_link(&fake, IncomingMessage::private(USER, "/keys add binance-testnet")).await;
    let huge = "x".repeat(9 * 1024);
    let (status, headers, page) = post(&bot, &token, &[("label", &huge)]).await;
    assert_eq!(status, 413, "{page}");
    assert_secure(&headers);
    let response = client()
        .post(bot.form_url(&token))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let (status, _, html) = get(&bot, &token).await;
    assert_eq!(status, 200, "still usable: {html}");
    bot.stop().await;
    assert_not_logged(&[SECRET, &token]);
}

/// A link belongs to the account it was made for: whoever submits it, the key goes
/// there (never to another account), and its CSRF value is its own (another link's is
/// refused). The form speaks the chat's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_stores_into_its_own_account_only() {
    const ALICE: i64 = 5404;
    const BOB: i64 = 5405;
    const SECRET: &str = "SECRETaliceRecognisable000000000055";
    let fake = FakeTelegram::start().await;
    let bot = FormBot::start(&fake, Some(PUBLIC_URL)).await;
    let (alice_token, text) = ask_link(
        &fake,
        IncomingMessage::private(ALICE, "/keys add binance-testnet").lang("pl"),
    )
    .await;
    assert!(text.contains("jednorazowy link"), "{text}");
    let (bob_token, _) = ask_link(
        &fake,
        IncomingMessage::private(BOB, "/keys add binance-testnet").from_user(BOB, "Bob"),
    )
    .await;
    assert_ne!(alice_token, bob_token);

    let (_, _, alice_form) = get(&bot, &alice_token).await;
    assert!(alice_form.contains("<html lang=\"pl\">"), "{alice_form}");
    assert!(alice_form.contains("Zapisz klucz"), "{alice_form}");
    let (_, _, bob_form) = get(&bot, &bob_token).await;
    let (alice_csrf, bob_csrf) = (csrf_of(&alice_form), csrf_of(&bob_form));
    assert_ne!(alice_csrf, bob_csrf);

    // Alice's link with Bob's CSRF value: refused, the link still works.
    let fields = |csrf: &str| {
        vec![
            (
                "api_key".to_string(),
                "APIKEYalice00000000000000009999".to_string(),
            ),
            ("secret".to_string(), SECRET.to_string()),
            ("csrf".to_string(), csrf.to_string()),
        ]
    };
    let bob_csrf_on_alice = fields(&bob_csrf);
    let refs: Vec<(&str, &str)> = bob_csrf_on_alice
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (status, _, page) = post(&bot, &alice_token, &refs).await;
    assert_eq!(status, 403, "{page}");

    // Submitted by anyone (the page knows no one): the key goes to Alice's account.
    let right = fields(&alice_csrf);
    let refs: Vec<(&str, &str)> = right.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let (status, _, page) = post(&bot, &alice_token, &refs).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("zapisany i zapieczętowany"), "{page}");
    assert_eq!(keys_of(&bot.app.store, ALICE).await.len(), 1);
    assert!(
        keys_of(&bot.app.store, BOB).await.is_empty(),
        "nothing in Bob's account"
    );
    assert!(
        sent_texts(&fake, BOB)
            .iter()
            .all(|t| !t.contains("binance-testnet stored")),
        "Bob is told nothing"
    );
    // Bob's link still works for Bob alone.
    let (status, _, _) = get(&bot, &bob_token).await;
    assert_eq!(status, 200);
    bot.stop().await;
    assert_not_logged(&[SECRET, &alice_token, &bob_token]);
}
