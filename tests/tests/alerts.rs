//! Issue 11, item 12: an alert mark (the cooldown of a symbol and direction) is set only
//! when the alert reached at least one chat. Manual clock, the fake exchange, SQLite.

use async_trait::async_trait;
use chainsignal::app::App;
use chainsignal::scheduler::{Outbox, Outboxes, Scheduler, SendError};
use chainsignal_commands::Reply;
use chainsignal_core::config::Config;
use chainsignal_core::store::ChatKey;
use chainsignal_core::{Clock, ManualClock};
use chainsignal_tests::fake_binance::{FakeBinance, flat_then_jump};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Fails every post while `down`; records the others.
#[derive(Default)]
struct Flaky {
    down: AtomicBool,
    posts: Mutex<Vec<String>>,
}

#[async_trait]
impl Outbox for Flaky {
    async fn send(&self, _chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(SendError::Failed("HTTP 502".into()));
        }
        self.posts.lock().unwrap().push(reply.to_plain_text());
        Ok(())
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_reached_no_chat_is_not_marked_sent() {
    let fake = FakeBinance::start().await;
    fake.list("SOLUSDT", flat_then_jump(200, 5.0), flat_then_jump(60, 0.0));
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.market.binance_url = fake.url();
    config.market.watchlist = vec!["SOL".into()];
    config.market.cache_ttl_secs = 0;
    config.schedule = Some(Vec::new());
    let url = format!("sqlite://{}", dir.path().join("alerts.sqlite").display());
    let app = App::build(config, None, Some(SecretString::from(url)))
        .await
        .unwrap();
    for (platform, chat) in [("telegram", "-500"), ("console", "console")] {
        let key = ChatKey {
            platform: platform.into(),
            platform_chat_id: chat.into(),
        };
        app.store.subscribe(&key, "alerts").await.unwrap();
    }
    // Telegram fails; the console has no outbox in this process (like `run` without it).
    let outbox = Arc::new(Flaky::default());
    outbox.down.store(true, Ordering::SeqCst);
    let mut outboxes = Outboxes::new();
    outboxes.insert("telegram".into(), outbox.clone() as Arc<dyn Outbox>);
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T10:00:00Z")));
    let s = Scheduler::new(&app, clock.clone() as Arc<dyn Clock>, outboxes, "a");

    assert_eq!(s.tick().await.alerts, 0, "nothing reached anyone");
    assert!(outbox.posts.lock().unwrap().is_empty());

    // Five minutes later (the next check, well inside the hour of cooldown) it is delivered.
    outbox.down.store(false, Ordering::SeqCst);
    clock.advance(Duration::minutes(5));
    assert_eq!(s.tick().await.alerts, 1, "the undelivered alert goes out now");
    let posts = outbox.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].contains("SOLUSDT rose +5.00% in the last hour"),
        "{posts:?}"
    );

    // Delivered once: now the cooldown holds.
    clock.advance(Duration::minutes(5));
    assert_eq!(
        s.tick().await.alerts,
        0,
        "within the cooldown of a delivered alert"
    );
    assert_eq!(outbox.posts.lock().unwrap().len(), 1);
}

/// The store's side: a released claim (at a time with sub-second digits, as the system
/// clock gives) lets the next claim through; an unreleased one holds the cooldown.
#[tokio::test]
async fn a_released_alert_claim_can_be_claimed_again_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("marks.sqlite").display());
    let pg = chainsignal_tests::TempPostgres::create("alert marks").await;
    let mut urls = vec![sqlite];
    urls.extend(pg.as_ref().map(|p| p.url.clone()));
    let t0 = utc("2026-11-23T10:00:00.123456789Z");
    for url in urls {
        let store = chainsignal_core::store::open(&SecretString::from(url.clone()), 2)
            .await
            .unwrap();
        let cooldown = Duration::hours(1);
        assert!(
            store
                .claim_alert("SOLUSDT", "up", t0, t0 - cooldown)
                .await
                .unwrap()
        );
        store.release_alert("SOLUSDT", "up", t0).await.unwrap();
        let t1 = t0 + Duration::minutes(5);
        assert!(
            store
                .claim_alert("SOLUSDT", "up", t1, t1 - cooldown)
                .await
                .unwrap(),
            "{url}: released"
        );
        let t2 = t1 + Duration::minutes(5);
        assert!(
            !store
                .claim_alert("SOLUSDT", "up", t2, t2 - cooldown)
                .await
                .unwrap(),
            "{url}: kept"
        );
        // Releasing with another instant than the claim's changes nothing.
        store.release_alert("SOLUSDT", "up", t2).await.unwrap();
        assert!(
            !store
                .claim_alert("SOLUSDT", "up", t2, t2 - cooldown)
                .await
                .unwrap()
        );
        store.close().await;
    }
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
}
