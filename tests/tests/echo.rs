//! Issue 11, item 7: user text echoed in replies never carries control characters (ANSI
//! escapes, NUL, C0/C1) or bidi overrides (U+202E…), on the console, Telegram (real
//! teloxide against the fake Bot API) and Discord (real serenity against the fake).

use chainsignal::app::App;
use chainsignal::shutdown;
use chainsignal::{console, discord, telegram};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_tests::fake_discord::{FakeDiscord, Interaction, TOKEN};
use chainsignal_tests::fake_telegram::{FakeTelegram, IncomingMessage};
use secrecy::SecretString;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// What must never come back.
fn dirty(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n' && *c != '\t')
                || matches!(*c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{61C}')
        })
        .collect()
}

async fn demo_app(dir: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::default();
    tweak(&mut config);
    let url = SecretString::from(format!("sqlite://{}", dir.join("echo.sqlite").display()));
    App::build(config, Some(Source::Demo), Some(url)).await.unwrap()
}

#[tokio::test]
async fn console_echo_has_no_escape_or_bidi() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo_app(dir.path(), |_| {}).await;
    let input = "/report \u{1b}[2J btc\n/report \u{202E}eth\0\u{7}\u{9b}\n/report a\u{2066}b\u{200F}\r\n";
    let mut out: Vec<u8> = Vec::new();
    console::serve(&app.commands, input.as_bytes(), &mut out, false)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("BTCUSDT"),
        "the rest of the line is still answered:\n{out}"
    );
    assert!(out.contains("is not a symbol"), "{out}");
    assert_eq!(dirty(&out), Vec::<char>::new(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_echo_has_no_nul_or_bidi_override() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = demo_app(dir.path(), |c| {
        c.telegram.api_url = fake.url();
        c.telegram.poll_timeout_secs = 1;
        c.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    })
    .await;
    let (trigger, stop) = shutdown::channel();
    let started = telegram::start(&app, stop).unwrap().expect("a token is set");

    fake.push_message(&IncomingMessage::private(42, "/report \u{202E}btc\0 x\u{1b}[31m"));
    let sent = fake.wait_for_calls("sendmessage", 1, WAIT).await;
    let text = sent[0].body["text"].as_str().unwrap().to_string();
    assert!(text.contains("is not a symbol"), "{text}");
    assert_eq!(dirty(&text), Vec::<char>::new(), "{text:?}");

    trigger.trigger();
    tokio::time::timeout(WAIT, started.task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_echo_has_no_nul_or_bidi_override() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = demo_app(dir.path(), |c| {
        c.discord.api_url = fake.url();
        c.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    })
    .await;
    let (trigger, stop) = shutdown::channel();
    let started = discord::start(&app, stop).unwrap().expect("a token is set");

    let ix = Interaction::command("report").option("symbols", "\u{202E}btc\0 x\u{1b}[2J \u{2067}y");
    fake.send_interaction(&ix);
    let msgs = fake
        .wait_for_messages(
            ix.token(),
            |m| m.iter().any(|m| m.to_string().contains("not a symbol")),
            WAIT,
        )
        .await;
    for m in &msgs {
        let json = m.to_string();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        // Decoded JSON strings, not the escaped text: what the client would show.
        let mut strings = Vec::new();
        collect(&value, &mut strings);
        for s in strings {
            assert_eq!(dirty(&s), Vec::<char>::new(), "{s:?} in {json}");
        }
    }

    trigger.trigger();
    tokio::time::timeout(WAIT, started.task).await.unwrap().unwrap();
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}
