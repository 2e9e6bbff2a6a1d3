//! `chainsignal run` with TELEGRAM_BOT_TOKEN against the fake Bot API: it answers, and a
//! 409 Conflict (a second poller) is logged once, clearly, while the bot keeps trying.

use chainsignal_tests::chainsignal_bin;
use chainsignal_tests::fake_telegram::{Failure, FakeTelegram, IncomingMessage};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_answers_on_telegram_and_survives_a_second_poller() {
    let fake = FakeTelegram::start().await;
    fake.fail("getUpdates", Failure::Conflict { times: 3 });
    // A Bot-API-compatible server that implements only the essentials.
    for method in [
        "setMyCommands",
        "getWebhookInfo",
        "deleteWebhook",
        "sendChatAction",
        "sendDocument",
    ] {
        fake.fail(method, Failure::NotFound);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(chainsignal_bin())
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        .env("TELEGRAM_BOT_TOKEN", "4242:very-secret-token")
        .env("CHAINSIGNAL_TELEGRAM__API_URL", fake.url())
        .env("CHAINSIGNAL_TELEGRAM__POLL_TIMEOUT_SECS", "1")
        .env("CHAINSIGNAL_MARKET__SOURCE", "demo")
        .env("CHAINSIGNAL_HTTP__ENABLED", "false")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain stderr from the start: at RUST_LOG=debug a pipe nobody reads fills up and
    // blocks the bot on its next log line.
    let mut stderr = child.stderr.take().unwrap();
    let reader = tokio::spawn(async move {
        let mut log = String::new();
        stderr.read_to_string(&mut log).await.unwrap();
        log
    });

    fake.push_message(&IncomingMessage::private(42, "/start"));
    fake.push_message(&IncomingMessage::private(42, "/report btc eth"));
    fake.push_message(&IncomingMessage::private(42, "/report nope"));
    let sent = fake
        .wait_for_calls("sendmessage", 3, Duration::from_secs(60))
        .await;
    let texts: Vec<&str> = sent.iter().map(|c| c.body["text"].as_str().unwrap()).collect();
    assert!(texts[0].contains("I am Chainsignal"));
    assert!(texts[1].contains("BTCUSDT") && texts[1].contains("ETHUSDT"));
    assert!(texts[2].contains("NOPEUSDT"));

    let status = chainsignal_tests::terminate(&mut child)
        .await
        .expect("exits after SIGTERM");
    let log = reader.await.unwrap();
    assert!(status.success(), "{log}");
    let conflict_lines = log.lines().filter(|l| l.contains("409 Conflict")).count();
    assert_eq!(conflict_lines, 1, "one clear line for a streak of 409s:\n{log}");
    assert!(log.contains("another instance is polling getUpdates with the same bot token"));
    assert!(
        !log.contains("very-secret-token"),
        "the token reached the log:\n{log}"
    );
}
