//! `/admin broadcast` over two `chainsignal run` processes on one PostgreSQL, both
//! polling the fake Bot API: the preview, Confirm, then the fan-out to 50 subscribed
//! chats; the instance doing the fan-out is killed (SIGKILL) while a send is in flight,
//! the other takes the broadcast over when the lease expires, and every chat gets the
//! message exactly once.

use chainsignal_core::store::{self, ChatKey};
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_telegram::{Call, CallbackPress, FakeTelegram, IncomingMessage};
use chainsignal_tests::run_process::{self, Instance, spawn_run};
use secrecy::SecretString;
use std::time::Duration;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(60);
const ADMIN: i64 = 77;
const CHATS: i64 = 50;

fn spawn(dir: &std::path::Path, db: &str, fake: &FakeTelegram, changed: &watch::Sender<u64>) -> Instance {
    let env = [
        ("DATABASE_URL", db.to_string()),
        ("TELEGRAM_BOT_TOKEN", "4242:broadcast-token".to_string()),
        ("CHAINSIGNAL_TELEGRAM__API_URL", fake.url()),
        ("CHAINSIGNAL_TELEGRAM__POLL_TIMEOUT_SECS", "1".to_string()),
        ("CHAINSIGNAL_MARKET__SOURCE", "demo".to_string()),
        ("CHAINSIGNAL_HTTP__ENABLED", "false".to_string()),
        ("RUST_LOG", "info".to_string()),
    ];
    spawn_run(dir, &env, changed)
}

/// Wait until `pred` holds over the two logs.
async fn wait_logs(
    a: &Instance,
    b: &Instance,
    changed: &watch::Sender<u64>,
    pred: impl Fn(&str, &str) -> bool,
) {
    run_process::wait_logs(a, b, changed, WAIT, pred).await;
}

fn targets() -> Vec<i64> {
    (0..CHATS).map(|i| -2000 - i).collect()
}

/// The broadcast's sends to the subscribed chats as they reached the fake (answered or
/// left hanging by it), per chat.
fn sends_per_chat(calls: &[Call]) -> Vec<(i64, usize)> {
    targets()
        .into_iter()
        .map(|chat| {
            let n = calls
                .iter()
                .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat))
                .filter(|c| {
                    c.body["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("Maintenance tonight"))
                })
                .count();
            (chat, n)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_fifty_chats_exactly_once_across_two_instances_one_killed() {
    let Some(db) = TempPostgres::create("broadcast_two_instances").await else {
        return;
    };
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chainsignal.toml"),
        format!(
            "schedule = []\n[admins]\ntelegram = [\"{ADMIN}\"]\n[scheduler]\ntick_secs = 1\nlease_secs = 10\n\
             [alerts]\nenabled = false\n"
        ),
    )
    .unwrap();
    {
        let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
        for chat in targets() {
            let key = ChatKey {
                platform: "telegram".into(),
                platform_chat_id: chat.to_string(),
            };
            store.subscribe(&key, "reports").await.unwrap();
        }
        store.close().await;
    }

    let (changed, _) = watch::channel(0u64);
    let mut a = spawn(dir.path(), &db.url, &fake, &changed);
    let mut b = spawn(dir.path(), &db.url, &fake, &changed);
    wait_logs(&a, &b, &changed, |a, b| {
        a.contains("telegram connected") && b.contains("telegram connected")
    })
    .await;

    // The preview, with Confirm and Cancel (either instance may take the update; the
    // other, if it sees it too, finds the request handled).
    fake.push_message(&IncomingMessage::private(
        ADMIN,
        "/admin broadcast Maintenance tonight at 22:00 UTC",
    ));
    let preview = |calls: &[Call]| {
        calls
            .iter()
            .find(|c| c.method == "sendmessage" && c.chat_id() == Some(ADMIN) && !c.buttons().is_empty())
            .cloned()
    };
    let calls = fake.wait_until(WAIT, |calls| preview(calls).is_some()).await;
    let preview = preview(&calls).unwrap();
    let text = preview.text().unwrap();
    assert!(text.contains("Send this to 50 subscribed chats?"), "{text}");
    assert!(text.contains("Maintenance tonight at 22:00 UTC"), "{text}");
    let buttons = preview.buttons();
    assert_eq!(buttons[0].0, "Confirm");

    // The 21st send of the fan-out reaches Telegram and is never answered: its sender
    // dies with it in flight.
    fake.hang_after("sendmessage", 20);
    fake.push_callback(&CallbackPress::new(
        ADMIN,
        ADMIN,
        preview.message_id().unwrap(),
        buttons[0].1.clone(),
    ));
    // The Confirm answer and the fan-out race (the scheduler may take the broadcast
    // before the answer is sent): wait for both, in either order.
    let queued = |calls: &[Call]| {
        calls.iter().any(|c| {
            c.body["text"]
                .as_str()
                .is_some_and(|t| t.contains("is on its way to 50 chats"))
        })
    };
    let calls = fake
        .wait_until(WAIT, |calls| {
            calls.iter().any(|c| c.method == "sendmessage" && c.status == 599) && queued(calls)
        })
        .await;
    assert!(queued(&calls), "the Confirm answer says it is queued");
    wait_logs(&a, &b, &changed, |a, b| {
        a.contains("posting a broadcast") || b.contains("posting a broadcast")
    })
    .await;
    let (owner, survivor) = if a.log().contains("posting a broadcast") {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    owner.child.start_kill().unwrap();
    owner.child.wait().await.unwrap();
    fake.clear_failures("sendmessage");
    let mid_way = sends_per_chat(&fake.calls())
        .iter()
        .filter(|(_, n)| *n > 0)
        .count();
    assert_eq!(mid_way, 21, "killed mid fan-out");

    // The survivor takes over once the lease has expired and finishes the run.
    let calls = fake
        .wait_until(WAIT, |calls| sends_per_chat(calls).iter().all(|(_, n)| *n > 0))
        .await;
    let survivor_log = survivor.log.clone();
    let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
    tokio::time::timeout(WAIT, async {
        let mut rx = changed.subscribe();
        while !store
            .open_broadcasts(chrono::Utc::now() - chrono::Duration::days(1))
            .await
            .unwrap()
            .is_empty()
        {
            rx.changed().await.unwrap();
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the broadcast never finished:\n{}", survivor_log.lock().unwrap()));
    let calls = {
        let mut all = calls;
        all.extend(fake.calls().into_iter().skip(all.len()));
        all
    };
    let counts = sends_per_chat(&calls);
    let wrong: Vec<_> = counts.iter().filter(|(_, n)| *n != 1).collect();
    assert!(wrong.is_empty(), "chats not reached exactly once: {wrong:?}");
    assert!(
        survivor.log().contains("posting a broadcast"),
        "{}",
        survivor.log()
    );

    // Every press and command was audited, with the request id.
    let audit = store.recent_audit(100).await.unwrap();
    let confirmed: Vec<_> = audit
        .iter()
        .filter(|r| r.command == "admin" && r.args.starts_with("confirm"))
        .collect();
    assert_eq!(confirmed.len(), 1, "{audit:#?}");
    assert!(confirmed[0].request_id.is_some());
    store.close().await;

    chainsignal_tests::terminate(&mut survivor.child).await;
    db.drop_db().await;
}
