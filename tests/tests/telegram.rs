//! The Telegram adapter end to end: the real teloxide client against a fake Bot API
//! server on 127.0.0.1, the real commands, demo market data, SQLite.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::telegram::{self, Started};
use chainsignal_commands::{ChatKind, ChatRef, Platform, chat_key};
use chainsignal_core::config::{Config, TelegramMode};
use chainsignal_core::market::Source;
use chainsignal_tests::fake_telegram::{Call, Failure, FakeTelegram, IncomingMessage};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

struct Bot {
    app: App,
    started: Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Bot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("telegram stops")
            .unwrap();
    }
}

async fn start(fake: &FakeTelegram, tweak: impl FnOnce(&mut Config)) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    tweak(&mut config);
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("tg.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
    Bot {
        app,
        started,
        trigger,
        _dir: dir,
    }
}

fn texts(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.method == "sendmessage")
        .map(|c| c.body["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn replies(fake: &FakeTelegram, n: usize) -> Vec<Call> {
    fake.wait_for_calls("sendmessage", n, WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_start_help_report_lang() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, |_| {}).await;

    fake.push_message(&IncomingMessage::private(42, "/start"));
    let sent = replies(&fake, 1).await;
    assert_eq!(sent[0].body["chat_id"], 42);
    assert_eq!(sent[0].body["parse_mode"], "HTML");
    let start = texts(&sent)[0].clone();
    assert!(start.contains("I am Chainsignal"), "{start}");
    assert!(
        start.contains("/report") && start.contains("/lang") && !start.contains("/start "),
        "{start}"
    );

    // The command menus: English by default, Polish for Polish clients, without /start.
    let menus = fake.calls_of("setmycommands");
    assert_eq!(menus.len(), 2, "{menus:?}");
    let names: Vec<&str> = menus[0].body["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "help",
            "report",
            "summary",
            "lang",
            "subscribe",
            "unsubscribe",
            "mode",
            "open",
            "close",
            "positions",
            "paper",
            "link",
            "unlink",
            "whoami",
            "keys",
            "audit",
            "settings",
            "risk",
            "liq"
        ]
    );
    assert!(menus[0].body.get("language_code").is_none_or(Value::is_null));
    assert_eq!(menus[1].body["language_code"], "pl");
    assert!(
        menus[1].body["commands"][1]["description"]
            .as_str()
            .unwrap()
            .contains("Raport")
    );

    fake.push_message(&IncomingMessage::private(42, "/report btc eth"));
    let sent = replies(&fake, 2).await;
    let report = &texts(&sent)[1];
    assert!(report.starts_with("<b>Market report (demo data)</b>"), "{report}");
    assert!(report.contains("<pre>Symbol") && report.contains("BTCUSDT") && report.contains("ETHUSDT"));
    let docs = fake.wait_for_calls("senddocument", 1, WAIT).await;
    let doc = &docs[0].body["document"];
    assert!(doc["filename"].as_str().unwrap().ends_with(".csv"));
    assert!(
        doc["content"]
            .as_str()
            .unwrap()
            .starts_with("symbol,close,change_24h_pct")
    );
    let typing = fake.calls_of("sendchataction");
    assert!(typing.iter().any(|c| c.body["action"] == "typing"), "{typing:?}");

    fake.push_message(&IncomingMessage::private(42, "/report nope"));
    let sent = replies(&fake, 3).await;
    assert!(texts(&sent)[2].contains("NOPEUSDT: the exchange does not list this symbol."));

    fake.push_message(&IncomingMessage::private(42, "/lang pl"));
    fake.push_message(&IncomingMessage::private(42, "/report btc"));
    let sent = replies(&fake, 5).await;
    let t = texts(&sent);
    assert_eq!(t[3], "Język tego czatu: polski.");
    assert!(
        t[4].contains("Raport rynkowy") && t[4].contains("Cena"),
        "{}",
        t[4]
    );

    fake.push_message(&IncomingMessage::private(42, "hello there"));
    let sent = replies(&fake, 6).await;
    assert!(
        texts(&sent)[5].contains("To nie jest komenda"),
        "plain talk in private gets a hint"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_topics_language_and_escaping() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, |_| {}).await;
    let group = -100_777;

    // Not for us: other bots' commands, unknown commands, chatter.
    fake.push_message(&IncomingMessage::private(31, "/report@OtherBot btc").in_group(group));
    fake.push_message(&IncomingMessage::private(31, "/foo").in_group(group));
    fake.push_message(&IncomingMessage::private(31, "good morning").in_group(group));
    // For us.
    fake.push_message(&IncomingMessage::private(31, "/foo@chainsignal_test_bot").in_group(group));
    fake.push_message(
        &IncomingMessage::private(31, "/report@chainsignal_test_bot <b>&amp; btc").in_group(group),
    );
    let sent = replies(&fake, 2).await;
    let t = texts(&sent);
    // An error is meant for the asker: it goes to their private chat, not the group.
    assert!(t[0].contains("Unknown command /foo"), "{}", t[0]);
    assert_eq!(sent[0].body["chat_id"], 31, "the error went private");
    assert!(t[1].contains("BTCUSDT"), "{}", t[1]);
    assert!(
        t[1].contains("“&lt;b&gt;&amp;amp;” is not a symbol"),
        "escaped: {}",
        t[1]
    );
    assert_eq!(sent[1].body["chat_id"], group, "the report is public");

    // A forum topic: the answer goes to the same thread.
    fake.push_message(&IncomingMessage::private(0, "/help").in_topic(-100_888, 77));
    let sent = replies(&fake, 3).await;
    assert_eq!(sent[2].body["message_thread_id"], 77);
    assert_eq!(sent[2].body["chat_id"], -100_888);

    // A Polish client's new chat starts in Polish.
    fake.push_message(&IncomingMessage::private(55, "/help").lang("pl"));
    let sent = replies(&fake, 4).await;
    assert!(
        texts(&sent)[3].contains("Komendy Chainsignal"),
        "{}",
        texts(&sent)[3]
    );

    // Only the group command addressed to us with a public answer was answered there.
    let to_group = fake
        .calls_of("sendmessage")
        .iter()
        .filter(|c| c.body["chat_id"] == group)
        .count();
    assert_eq!(to_group, 1);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_of_non_essential_calls_do_not_stop_the_text() {
    let fake = FakeTelegram::start().await;
    fake.fail("setMyCommands", Failure::NotFound);
    fake.fail("sendChatAction", Failure::NotFound);
    fake.fail("sendDocument", Failure::NotFound);
    let bot = start(&fake, |_| {}).await;

    fake.push_message(&IncomingMessage::private(7, "/report btc"));
    fake.push_message(&IncomingMessage::private(7, "/help"));
    let sent = replies(&fake, 2).await;
    let t = texts(&sent);
    assert!(t[0].contains("BTCUSDT"));
    assert!(t[1].contains("Chainsignal commands"));
    // The document follows the text in the background.
    fake.wait_for_calls("senddocument", 1, WAIT).await;
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured_and_blocked_chats_are_left_alone() {
    let fake = FakeTelegram::start().await;
    fake.fail("sendMessage", Failure::RetryAfter { secs: 1, times: 1 });
    let bot = start(&fake, |_| {}).await;

    fake.push_message(&IncomingMessage::private(9, "/help"));
    let sent = fake
        .wait_until(WAIT, |calls| {
            calls
                .iter()
                .any(|c| c.method == "sendmessage" && c.status == 200 && c.text().is_some())
        })
        .await;
    let attempts: Vec<&Call> = sent.iter().filter(|c| c.method == "sendmessage").collect();
    assert_eq!(attempts.len(), 2, "one 429, then the retry");
    assert!(
        attempts[1].at - attempts[0].at >= Duration::from_secs(1),
        "the retry waited retry_after"
    );

    fake.block_chat(13);
    fake.push_message(&IncomingMessage::private(13, "/report btc"));
    fake.push_message(&IncomingMessage::private(14, "/help"));
    fake.wait_until(WAIT, |calls| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage" && c.body["chat_id"] == 14)
    })
    .await;
    let chat = ChatRef {
        platform: Platform::Telegram,
        id: "13".into(),
        kind: ChatKind::Private,
    };
    // The refused send and the marking happen in chat 13's own worker: wait for the mark.
    let store = bot.app.store.clone();
    let key = chat_key(&chat);
    let active = tokio::time::timeout(WAIT, async {
        while store.ensure_chat(&key, "en").await.unwrap().active {
            tokio::task::yield_now().await;
        }
        false
    })
    .await
    .unwrap_or(true);
    assert!(!active, "a chat that blocked the bot is marked inactive");
    let to_blocked: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| c.body["chat_id"] == 13)
        .collect();
    let sends = to_blocked
        .iter()
        .filter(|c| c.method.starts_with("send") && c.method != "sendchataction")
        .count();
    assert_eq!(
        sends, 1,
        "one refused send, no retry loop, no document: {to_blocked:?}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_checks_the_secret() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, |c| {
        c.telegram.mode = TelegramMode::Webhook;
        c.telegram.webhook_url = "https://bot.example.invalid/telegram/webhook".into();
        c.secrets.telegram_webhook_secret = Some(SecretString::from("s3cret-Token_1".to_string()));
    })
    .await;
    let routes = chainsignal::http::router(bot.app.store.clone(), bot.started.webhook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await });

    let set = fake.wait_for_calls("setwebhook", 1, WAIT).await;
    assert_eq!(set[0].body["url"], "https://bot.example.invalid/telegram/webhook");
    assert_eq!(set[0].body["secret_token"], "s3cret-Token_1");
    assert!(
        fake.calls_of("getupdates").is_empty(),
        "no polling in webhook mode"
    );

    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 1_700_000_000,
        "chat": {"id": 21, "type": "private", "first_name": "Ann"},
        "from": {"id": 21, "is_bot": false, "first_name": "Ann", "language_code": "en"},
        "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}});
    let http = reqwest::Client::new();
    let hook = format!("http://{addr}/telegram/webhook");
    for secret in [None, Some("wrong"), Some("s3cret-Token_")] {
        let mut request = http.post(&hook).json(&update);
        if let Some(s) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        assert_eq!(request.send().await.unwrap().status(), 403, "secret {secret:?}");
    }
    let ok = http
        .post(&hook)
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret-Token_1")
        .json(&update);
    assert_eq!(ok.send().await.unwrap().status(), 200);
    let sent = replies(&fake, 1).await;
    assert_eq!(sent[0].body["chat_id"], 21);
    assert!(texts(&sent)[0].contains("Chainsignal commands"));
    assert_eq!(
        fake.calls_of("sendmessage").len(),
        1,
        "refused updates were not processed"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_chat_admins_subscribe_a_group() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, |c| c.admins.telegram = vec!["77".into()]).await;
    let group = -100_900;
    fake.make_owner(group, 5);
    fake.push_message(&IncomingMessage::private(6, "/subscribe reports").in_group(group));
    fake.push_message(&IncomingMessage::private(5, "/subscribe reports").in_group(group));
    fake.push_message(&IncomingMessage::private(77, "/schedule list").in_group(group));
    fake.push_message(&IncomingMessage::private(6, "/schedule list").in_group(group));
    let sent = replies(&fake, 4).await;
    let t = texts(&sent);
    // Refusals are meant for the asker (user 6): they go to 6's private chat.
    assert!(t[0].contains("Only the chat's administrators"), "{}", t[0]);
    assert_eq!(sent[0].body["chat_id"], 6);
    assert!(
        t[1].contains("now receives the scheduled market reports"),
        "{}",
        t[1]
    );
    assert_eq!(sent[1].body["chat_id"], group);
    assert!(
        t[2].contains("Scheduled reports") && t[2].contains("daily-report"),
        "a bot admin: {}",
        t[2]
    );
    assert_eq!(sent[2].body["chat_id"], group);
    assert!(t[3].contains("Only the bot's admins"), "{}", t[3]);
    assert_eq!(sent[3].body["chat_id"], 6);
    let subs = bot.app.store.subscribers("reports").await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].platform_chat_id, group.to_string());
    // Only the commands that need a chat administrator (the two /subscribe) ask Telegram
    // who the user is; /schedule needs a bot admin, which the config decides.
    let asked = fake.calls_of("getchatmember");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.iter().all(|c| c.body["chat_id"] == group));
    bot.stop().await;
}

/// Issue 11, item 4: typing, the command menus and the CSV document are optional. A server
/// that answers them with a non-Telegram 404 or 500 (teloxide waits 10 s before reading a
/// 5xx) or never answers them held every reply for 10-30 s. With such a server, whose
/// getUpdates answers at once instead of long-polling, every reply arrives within 2 s of
/// its update being handed out, and the first poll is not held by the menus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_calls_never_hold_a_reply() {
    const BOUND: Duration = Duration::from_secs(2);
    let scenarios = [
        ("404, non-Telegram body", Failure::Foreign { status: 404 }),
        ("500, non-Telegram body", Failure::Foreign { status: 500 }),
        ("no answer at all", Failure::Hang),
    ];
    for (what, failure) in scenarios {
        let fake = FakeTelegram::start().await;
        fake.answer_updates_at_once();
        for method in ["setMyCommands", "sendChatAction", "sendDocument"] {
            fake.fail(method, failure);
        }
        let bot = start(&fake, |_| {}).await;
        let calls = fake.wait_for_calls("getupdates", 1, WAIT).await;
        let me = fake.calls_of("getme");
        let first_poll = calls[0].at - me.last().unwrap().at;
        assert!(
            first_poll < BOUND,
            "{what}: the first poll came {first_poll:?} after getMe"
        );

        let mut latencies = Vec::new();
        for (user, text) in [
            (7, "/report btc"),
            (7, "/help"),
            (8, "/report eth sol"),
            (7, "/report btc"),
            (9, "/start"),
        ] {
            let to_user = |calls: &[Call]| -> Vec<Call> {
                calls
                    .iter()
                    .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(user))
                    .cloned()
                    .collect()
            };
            let before = to_user(&fake.calls()).len();
            let id = fake.push_message(&IncomingMessage::private(user, text));
            let calls = fake.wait_until(WAIT, |calls| to_user(calls).len() > before).await;
            let reply = to_user(&calls)[before].clone();
            let at = fake
                .served_at(id)
                .expect("the update was served before its reply");
            latencies.push((text, reply.at - at));
            if text.starts_with("/report") {
                // The CSV follows in the background; the next message waits for it to be
                // tried, so that Telegram's pacing (1 message/s per chat) is not measured.
                let docs = |calls: &[Call]| {
                    calls
                        .iter()
                        .filter(|c| c.method == "senddocument" && c.chat_id() == Some(user))
                        .count()
                };
                let before = docs(&calls);
                fake.wait_until(WAIT, |calls| docs(calls) > before).await;
            }
        }
        eprintln!(
            "{what}: reply latencies {latencies:?}; idle polls {}",
            fake.idle_polls()
        );
        for (text, latency) in &latencies {
            assert!(
                *latency < BOUND,
                "{what}: {text} answered {latency:?} after it was served"
            );
        }
        assert!(
            !fake.calls_of("sendchataction").is_empty(),
            "{what}: typing was tried"
        );
        bot.stop().await;
    }
}

/// A server that answers getUpdates at once with an empty list (no long poll) is not asked
/// again and again: empty instant answers put a short, bounded pause before the next poll,
/// while updates are still answered within the bound and the offset is confirmed at stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_empty_polls_are_paced() {
    const BOUND: Duration = Duration::from_secs(2);
    const WINDOW: Duration = Duration::from_secs(2);
    let fake = FakeTelegram::start().await;
    fake.answer_updates_at_once();
    let bot = start(&fake, |_| {}).await;
    for round in 0..2 {
        let id = fake.push_message(&IncomingMessage::private(7, "/help"));
        let calls = replies(&fake, round + 1).await;
        let at = fake
            .served_at(id)
            .expect("the update was served before its reply");
        let latency = calls[round].at - at;
        assert!(
            latency < BOUND,
            "round {round}: answered {latency:?} after it was served"
        );

        // The measuring window is the bound under test, not a synchronisation.
        let before = fake.idle_polls();
        tokio::time::sleep(WINDOW).await;
        let idle = fake.idle_polls() - before;
        eprintln!("round {round}: {idle} empty polls in {WINDOW:?}");
        assert!(idle < 20, "round {round}: {idle} empty polls in {WINDOW:?}");
    }
    bot.stop().await;
    assert_eq!(fake.pending_updates(), 0, "the offset is confirmed");
}

/// Stopping ends polling as teloxide's listener did: one last getUpdates with
/// `timeout=0, limit=1` whose offset confirms the updates handed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_confirms_the_offset() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, |_| {}).await;
    let id = fake.push_message(&IncomingMessage::private(7, "/help"));
    replies(&fake, 1).await;
    bot.stop().await;
    let polls = fake.calls_of("getupdates");
    let last = &polls.last().unwrap().body;
    assert_eq!(
        (&last["offset"], &last["timeout"], &last["limit"]),
        (&json!(id + 1), &json!(0), &json!(1)),
        "{last}"
    );
    assert_eq!(fake.pending_updates(), 0);
}

/// A writer for tracing that keeps what is logged, to count lines in a test.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

const HOOK_SECRET: &str = "s3cret-Token_1";

/// The webhook route alone on the bot's HTTP server, with short timeouts.
async fn webhook_server(
    header_read: Duration,
    body_read: Duration,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<teloxide::types::Update>,
    ShutdownTrigger,
) {
    use chainsignal::telegram::webhook;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let limits = webhook::Limits {
        body_read,
        ..webhook::Limits::default()
    };
    let routes = webhook::router_with(
        "/telegram/webhook",
        SecretString::from(HOOK_SECRET.to_string()),
        tx,
        limits,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let timeouts = chainsignal::http::Timeouts { header_read };
    tokio::spawn(chainsignal::http::serve_with(
        listener, routes, shutdown, timeouts,
    ));
    (addr, rx, trigger)
}

/// Read what the server sends until it closes the connection (or `limit` passes).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&got).into_owned())
}

fn post_head(secret: &str, length: usize) -> String {
    format!(
        "POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\nX-Telegram-Bot-Api-Secret-Token: {secret}\r\n\r\n"
    )
}

/// Issue 11, item 15: a POST without the right secret is refused from its headers, before
/// a byte of its (2 MB) body is read, and a flood of them logs one warning, not one each.
/// Before, the body was buffered (up to 2 MB) first and every refusal logged a WARN.
#[tokio::test]
async fn webhook_refuses_from_the_headers_and_logs_once() {
    use tokio::io::AsyncWriteExt;
    let log = Captured::default();
    let writer = log.clone();
    use tracing_subscriber::util::SubscriberInitExt;
    let _guard = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();
    let (addr, _rx, _stop) = webhook_server(Duration::from_secs(5), Duration::from_secs(5)).await;

    // Headers only: the 2 MB body is never sent, yet the answer comes.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(post_head("wrong", 2 * 1024 * 1024).as_bytes())
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered and closed without waiting for the body");
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");

    // The right secret, but more than an update can be: refused from Content-Length.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(post_head(HOOK_SECRET, 2 * 1024 * 1024).as_bytes())
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered without waiting for the body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    let http = reqwest::Client::new();
    for _ in 0..50 {
        let r = http
            .post(format!("http://{addr}/telegram/webhook"))
            .header("X-Telegram-Bot-Api-Secret-Token", "nope")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }
    let logged = log.text();
    let refusals = logged.matches("without the right secret token").count();
    assert_eq!(refusals, 1, "one warning for 51 refusals:\n{logged}");
    assert!(
        !logged.contains(HOOK_SECRET) && !logged.contains("nope"),
        "{logged}"
    );
}

/// Issue 11, item 15: a connection that sends half its headers and stalls is closed after
/// the header read timeout; a body that stalls is answered 408 after the body read
/// timeout. Before, both were held open for as long as the client liked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_slow_clients_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let limit = Duration::from_secs(1);
    let (addr, mut rx, _stop) = webhook_server(limit, limit).await;

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    stream
        .write_all(b"POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nContent-Le")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(closed.is_some(), "a half-sent header is not held for ever");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    // Nothing at all after connecting: closed too.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    let closed = read_until_closed(&mut stream, Duration::from_secs(10)).await;
    let took = started.elapsed();
    assert!(closed.is_some(), "a silent connection is not held for ever");
    assert!(took < Duration::from_secs(5), "closed after {took:?}");

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = tokio::time::Instant::now();
    stream
        .write_all(post_head(HOOK_SECRET, 100).as_bytes())
        .await
        .unwrap();
    stream.write_all(b"{\"update_id\":").await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("a stalled body is not held for ever");
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");

    // A well-behaved update still goes through.
    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 1_700_000_000,
        "chat": {"id": 21, "type": "private", "first_name": "Ann"},
        "from": {"id": 21, "is_bot": false, "first_name": "Ann"}, "text": "/help"}});
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", HOOK_SECRET)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(rx.recv().await.is_some());
}
