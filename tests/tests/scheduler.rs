//! The scheduler driven by a manual clock: local times across DST, the grace window,
//! a crash mid-fan-out, two instances on one PostgreSQL, refusing targets, alerts.

use async_trait::async_trait;
use chainsignal::app::App;
use chainsignal::scheduler::{Outbox, Outboxes, Scheduler, SendError};
use chainsignal_commands::Reply;
use chainsignal_core::config::{Config, ScheduleConfig};
use chainsignal_core::market::Source;
use chainsignal_core::store::ChatKey;
use chainsignal_core::{Clock, ManualClock};
use chainsignal_tests::fake_binance::{FakeBinance, Kline, flat_then_jump};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Records every post; refuses some chats; can hang on the n-th post (a crash).
#[derive(Default)]
struct Recorder {
    posts: Mutex<Vec<(String, String)>>,
    refuse: HashSet<String>,
    hang_on: Option<usize>,
    hung: Notify,
}

impl Recorder {
    fn posts(&self) -> Vec<(String, String)> {
        self.posts.lock().unwrap().clone()
    }

    fn count_to(&self, chat: &str) -> usize {
        self.posts().iter().filter(|(c, _)| c == chat).count()
    }
}

#[async_trait]
impl Outbox for Recorder {
    async fn send(&self, chat_id: &str, reply: &Reply) -> Result<(), SendError> {
        if self.refuse.contains(chat_id) {
            return Err(SendError::Gone("HTTP 403".into()));
        }
        let n = self.posts.lock().unwrap().len();
        if self.hang_on == Some(n + 1) {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        self.posts
            .lock()
            .unwrap()
            .push((chat_id.to_string(), reply.to_plain_text()));
        Ok(())
    }
}

async fn app(url: &str, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::default();
    config.alerts.enabled = false;
    tweak(&mut config);
    App::build(
        config,
        Some(Source::Demo),
        Some(SecretString::from(url.to_string())),
    )
    .await
    .unwrap()
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("sched.sqlite").display())
}

fn scheduler(app: &App, clock: &Arc<ManualClock>, outbox: &Arc<Recorder>, owner: &str) -> Scheduler {
    let mut outboxes = Outboxes::new();
    outboxes.insert("telegram".into(), outbox.clone() as Arc<dyn Outbox>);
    Scheduler::new(app, clock.clone() as Arc<dyn Clock>, outboxes, owner)
}

async fn subscribe(app: &App, chats: &[&str], kind: &str) {
    for chat in chats {
        let key = ChatKey {
            platform: "telegram".into(),
            platform_chat_id: chat.to_string(),
        };
        app.store.subscribe(&key, kind).await.unwrap();
    }
}

#[tokio::test]
async fn the_default_schedule_posts_at_warsaw_time_across_dst() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&sqlite(&dir), |_| {}).await;
    subscribe(&app, &["-100", "42"], "reports").await;
    let outbox = Arc::new(Recorder::default());

    // Spring forward, 29 March 2026: 06:00 CEST is 04:00 UTC.
    let clock = Arc::new(ManualClock::new(utc("2026-03-29T03:59:00Z")));
    let s = scheduler(&app, &clock, &outbox, "a");
    assert!(s.tick().await.runs.is_empty());
    clock.set(utc("2026-03-29T04:00:05Z"));
    let r = s.tick().await;
    assert_eq!(
        r.runs,
        [("daily-report".to_string(), utc("2026-03-29T04:00:00Z"))]
    );
    assert_eq!(r.delivered, 2);
    clock.set(utc("2026-03-29T13:59:00Z"));
    assert!(s.tick().await.runs.is_empty());
    clock.set(utc("2026-03-29T14:00:01Z")); // 16:00 CEST
    assert_eq!(s.tick().await.runs.len(), 1);
    assert_eq!(outbox.count_to("-100"), 2);
    let post = &outbox.posts()[0].1;
    assert!(post.starts_with("Scheduled report: daily-report"), "{post}");
    assert!(post.contains("BTCUSDT") && post.contains("PYTHUSDT"), "{post}");

    // Fall back, 25 October 2026: 06:00 CET is 05:00 UTC; the repeated hour changes nothing.
    let clock = Arc::new(ManualClock::new(utc("2026-10-25T04:59:00Z")));
    let s = scheduler(&app, &clock, &outbox, "b");
    assert!(s.tick().await.runs.is_empty(), "04:59 UTC is 05:59 CET");
    clock.set(utc("2026-10-25T05:00:30Z"));
    assert_eq!(
        s.tick().await.runs,
        [("daily-report".to_string(), utc("2026-10-25T05:00:00Z"))]
    );
    assert_eq!(outbox.count_to("-100"), 3);
}

#[tokio::test]
async fn a_missed_slot_runs_inside_the_grace_window_only() {
    let outbox = Arc::new(Recorder::default());
    // Down over 06:00 Warsaw (05:00 UTC), back at 06:10: it runs, once.
    let dir = tempfile::tempdir().unwrap();
    let app1 = app(&sqlite(&dir), |_| {}).await;
    subscribe(&app1, &["-100"], "reports").await;
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T05:10:00Z")));
    let r = scheduler(&app1, &clock, &outbox, "a").tick().await;
    assert_eq!(
        r.runs,
        [("daily-report".to_string(), utc("2026-11-23T05:00:00Z"))]
    );
    let r = scheduler(&app1, &clock, &outbox, "b").tick().await;
    assert!(r.runs.is_empty(), "a restart does not post it again");
    assert_eq!(outbox.count_to("-100"), 1);

    // Back at 06:20: too late, logged and skipped.
    let dir = tempfile::tempdir().unwrap();
    let app2 = app(&sqlite(&dir), |_| {}).await;
    subscribe(&app2, &["-200"], "reports").await;
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T05:20:00Z")));
    let r = scheduler(&app2, &clock, &outbox, "a").tick().await;
    assert!(r.runs.is_empty());
    assert_eq!(r.skipped_missed, 1);
    assert_eq!(outbox.count_to("-200"), 0);
}

#[tokio::test]
async fn a_crash_mid_fan_out_resumes_with_the_remaining_targets_and_never_posts_twice() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&sqlite(&dir), |_| {}).await;
    let chats = ["1", "2", "3", "4", "5"];
    subscribe(&app, &chats, "reports").await;
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T05:00:10Z")));

    // The first instance posts twice, then "crashes" while sending the third.
    let crashing = Arc::new(Recorder {
        hang_on: Some(3),
        ..Recorder::default()
    });
    let s = Arc::new(scheduler(&app, &clock, &crashing, "crashed"));
    let running = tokio::spawn({
        let s = s.clone();
        async move { s.tick().await }
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), crashing.hung.notified())
        .await
        .unwrap();
    running.abort();
    assert_eq!(crashing.posts().len(), 2);

    // Another instance, after the lease (120 s) has expired, takes over the run.
    clock.advance(Duration::minutes(3));
    let outbox = Arc::new(Recorder::default());
    let r = scheduler(&app, &clock, &outbox, "survivor").tick().await;
    assert_eq!(r.runs.len(), 1);
    let mut all = crashing.posts();
    all.extend(outbox.posts());
    for chat in chats {
        let n = all.iter().filter(|(c, _)| c == chat).count();
        assert!(n <= 1, "chat {chat} got {n} posts");
    }
    // Four certainly delivered; the one in doubt (mid-send at the crash) is not retried.
    assert_eq!(all.len(), 4);
    let deliveries = app
        .store
        .deliveries("daily-report", utc("2026-11-23T05:00:00Z"))
        .await
        .unwrap();
    let in_doubt: Vec<_> = deliveries.iter().filter(|(_, s)| s == "sending").collect();
    assert_eq!(in_doubt.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries.iter().filter(|(_, s)| s == "sent").count(), 4);
    // And it is finished: nothing more happens later.
    clock.advance(Duration::minutes(5));
    assert!(
        scheduler(&app, &clock, &outbox, "later")
            .tick()
            .await
            .runs
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_post_each_slot_once_per_target() {
    let Some(db) = chainsignal_tests::TempPostgres::create("two_instances_on_one_postgres").await else {
        return;
    };
    let url = db.url.clone();

    let every_minute = |c: &mut Config| {
        c.schedule = Some(vec![ScheduleConfig {
            name: "minutely".into(),
            cron: "* * * * *".into(),
            timezone: "Europe/Warsaw".into(),
            kind: "report".into(),
            symbols: vec!["BTC".into()],
        }]);
    };
    let app_a = app(&url, every_minute).await;
    let app_b = app(&url, every_minute).await;
    let chats: Vec<String> = (0..12).map(|i| format!("-{}", 1000 + i)).collect();
    subscribe(
        &app_a,
        &chats.iter().map(String::as_str).collect::<Vec<_>>(),
        "reports",
    )
    .await;
    let outbox = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T10:00:30Z")));
    let a = scheduler(&app_a, &clock, &outbox, "instance-a");
    let b = scheduler(&app_b, &clock, &outbox, "instance-b");
    for minute in 0..3 {
        clock.set(utc("2026-11-23T10:00:30Z") + Duration::minutes(minute));
        let (ra, rb) = tokio::join!(a.tick(), b.tick());
        assert_eq!(
            ra.runs.len() + rb.runs.len(),
            1,
            "minute {minute}: exactly one instance runs the slot"
        );
    }
    for chat in &chats {
        assert_eq!(outbox.count_to(chat), 3, "chat {chat}: one post per slot");
    }
    app_a.store.close().await;
    app_b.store.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_target_refusing_three_times_is_disabled_and_admins_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&sqlite(&dir), |c| {
        c.schedule = Some(vec![ScheduleConfig {
            name: "minutely".into(),
            cron: "* * * * *".into(),
            timezone: "UTC".into(),
            kind: "report".into(),
            symbols: vec!["ETH".into()],
        }]);
        c.admins.telegram = vec!["999".into()];
    })
    .await;
    subscribe(&app, &["-13", "-14"], "reports").await;
    let outbox = Arc::new(Recorder {
        refuse: ["-13".to_string()].into(),
        ..Recorder::default()
    });
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T10:00:30Z")));
    let s = scheduler(&app, &clock, &outbox, "a");
    let mut failed = Vec::new();
    for minute in 0..5 {
        clock.set(utc("2026-11-23T10:00:30Z") + Duration::minutes(minute));
        failed.push(s.tick().await.failed);
    }
    assert_eq!(
        failed,
        [1, 1, 1, 0, 0],
        "three refusals, then the target is left alone"
    );
    assert_eq!(outbox.count_to("-14"), 5);
    let told = outbox
        .posts()
        .into_iter()
        .filter(|(c, _)| c == "999")
        .collect::<Vec<_>>();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].1.contains("disabled after 3 refusals") && told[0].1.contains("telegram:-13"));
    assert_eq!(app.store.subscribers("reports").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_respect_the_cooldown_and_the_chat_language() {
    let fake = FakeBinance::start().await;
    let daily: Vec<Kline> = flat_then_jump(60, 0.0);
    fake.list("SOLUSDT", flat_then_jump(200, 5.0), daily.clone());
    fake.list("ETHUSDT", flat_then_jump(200, 0.4), daily);
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.market.binance_url = fake.url();
    config.market.watchlist = vec!["SOL".into(), "ETH".into()];
    config.market.cache_ttl_secs = 0;
    config.schedule = Some(Vec::new());
    let app = App::build(config, None, Some(SecretString::from(sqlite(&dir))))
        .await
        .unwrap();
    subscribe(&app, &["-500", "-501"], "alerts").await;
    let pl = ChatKey {
        platform: "telegram".into(),
        platform_chat_id: "-501".into(),
    };
    app.store.set_chat_locale(&pl, "pl").await.unwrap();

    let outbox = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::new(utc("2026-11-23T10:00:00Z")));
    let s = scheduler(&app, &clock, &outbox, "a");
    assert_eq!(
        s.tick().await.alerts,
        1,
        "SOL jumped 5% in the hour; ETH's 0.4% is no alert"
    );
    let posts = outbox.posts();
    assert_eq!(posts.len(), 2);
    let en = &posts.iter().find(|(c, _)| c == "-500").unwrap().1;
    let pl = &posts.iter().find(|(c, _)| c == "-501").unwrap().1;
    assert!(en.contains("SOLUSDT rose +5.00% in the last hour"), "{en}");
    assert!(
        pl.contains("SOLUSDT wzrósł o +5,00% w ostatniej godzinie"),
        "{pl}"
    );

    clock.advance(Duration::minutes(10));
    assert_eq!(
        s.tick().await.alerts,
        0,
        "same symbol and direction within the cooldown"
    );
    clock.advance(Duration::minutes(55));
    assert_eq!(s.tick().await.alerts, 1, "after the cooldown it may alert again");
    assert_eq!(outbox.posts().len(), 4);
}

#[tokio::test]
async fn discord_webhooks_get_markdown_without_mentions_and_429_is_honoured() {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;
    use chainsignal::scheduler::outbox::{DiscordWebhookOutbox, webhook_id};

    #[derive(Default)]
    struct Hook {
        bodies: Mutex<Vec<serde_json::Value>>,
        calls: Mutex<usize>,
    }
    async fn receive(
        State(hook): State<Arc<Hook>>,
        axum::Json(body): axum::Json<serde_json::Value>,
    ) -> (StatusCode, String) {
        let n = {
            let mut c = hook.calls.lock().unwrap();
            *c += 1;
            *c
        };
        if n == 1 {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"message":"slow down","retry_after":0.2,"global":false}"#.into(),
            );
        }
        hook.bodies.lock().unwrap().push(body);
        (StatusCode::OK, "{}".into())
    }
    let hook = Arc::new(Hook::default());
    let app = axum::Router::new()
        .route("/api/webhooks/1/tok", post(receive))
        .route("/api/webhooks/2/gone", post(|| async { StatusCode::NOT_FOUND }))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let good = SecretString::from(format!("http://{addr}/api/webhooks/1/tok"));
    let gone = SecretString::from(format!("http://{addr}/api/webhooks/2/gone"));
    let outbox = DiscordWebhookOutbox::new(&[good.clone(), gone.clone()]);
    let reply = Reply::text("@everyone look").block(chainsignal_commands::Block::Footer("f".into()));
    outbox.send(&webhook_id(&good), &reply).await.unwrap();
    let bodies = hook.bodies.lock().unwrap().clone();
    assert_eq!(*hook.calls.lock().unwrap(), 2, "one 429, then the retry");
    assert_eq!(bodies[0]["allowed_mentions"]["parse"], serde_json::json!([]));
    assert_eq!(bodies[0]["content"], "@everyone look\n\n*f*");
    let err = outbox.send(&webhook_id(&gone), &reply).await.unwrap_err();
    assert!(matches!(err, SendError::Gone(_)), "{err:?}");
    assert!(
        !format!("{err}").contains("gone"),
        "the URL (a secret) is not in the error"
    );
}

#[tokio::test]
async fn subscribe_and_schedule_commands_check_permissions_and_arguments() {
    use chainsignal_commands::{ChatKind, ChatRef, Invocation, Platform, RawInput, UserRef};
    /// Who asks: a member, a chat administrator (as Telegram says), an owner (config).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Who {
        Member,
        ChatAdmin,
        Owner,
    }
    let dir = tempfile::tempdir().unwrap();
    // User 99 is a bot admin; user 7 is a member (or a chat administrator, as Telegram says).
    let app = app(&sqlite(&dir), |c| c.admins.telegram = vec!["99".into()]).await;
    let run = |role: Who, command: &str, raw: &str| {
        let invocation = Invocation {
            request_id: String::new(),
            user: UserRef {
                platform: Platform::Telegram,
                id: if role == Who::Owner { "99" } else { "7" }.into(),
                display_name: None,
                username: None,
            },
            chat: ChatRef {
                platform: Platform::Telegram,
                id: "-300".into(),
                kind: ChatKind::Group,
            },
            locale: None,
            chat_admin: role >= Who::ChatAdmin,
            command: command.into(),
            input: RawInput::Text(raw.into()),
            reply_to: None,
        };
        let commands = app.commands.clone();
        async move { commands.run(&invocation).await.to_plain_text() }
    };
    assert!(
        run(Who::Member, "subscribe", "reports")
            .await
            .contains("Only the chat's administrators")
    );
    assert!(app.store.subscribers("reports").await.unwrap().is_empty());
    assert!(
        run(Who::ChatAdmin, "subscribe", "reports")
            .await
            .contains("now receives the scheduled")
    );
    assert!(
        run(Who::ChatAdmin, "subscribe", "reports")
            .await
            .contains("already receives")
    );
    assert!(
        run(Who::ChatAdmin, "subscribe", "news")
            .await
            .contains("Usage: /subscribe")
    );
    assert_eq!(app.store.subscribers("reports").await.unwrap().len(), 1);
    assert!(
        run(Who::ChatAdmin, "unsubscribe", "")
            .await
            .contains("no longer receives")
    );
    assert!(
        run(Who::ChatAdmin, "unsubscribe", "")
            .await
            .contains("was not subscribed")
    );

    assert!(
        run(Who::ChatAdmin, "schedule", "list")
            .await
            .contains("Only the bot's admins")
    );
    let out = run(
        Who::Owner,
        "schedule",
        "add evening 0 20 * * 1-5 Europe/Warsaw report btc,eth",
    )
    .await;
    assert!(out.starts_with("Schedule evening added; next run"), "{out}");
    let out = run(Who::Owner, "schedule", "list").await;
    assert!(
        out.contains("daily-report: 0 6,16 * * * (Europe/Warsaw)"),
        "{out}"
    );
    assert!(
        out.contains("evening: 0 20 * * 1-5 (Europe/Warsaw), report, BTCUSDT ETHUSDT"),
        "{out}"
    );
    for (raw, want) in [
        ("add evening 0 20 * * * UTC", "already exists"),
        ("add bad 0 25 * * * UTC", "is out of range"),
        ("add x 0 20 * * * Mars/Base", "is not a time zone"),
        ("add b@d 0 20 * * * UTC", "cannot be a schedule name"),
        ("add short 0 20", "Usage: /schedule"),
        ("remove daily-report", "comes from the config file"),
        ("remove nothing", "no schedule named nothing"),
        ("explode", "Usage: /schedule"),
    ] {
        let out = run(Who::Owner, "schedule", raw).await;
        assert!(out.contains(want), "{raw}: {out}");
    }
    assert!(
        run(Who::Owner, "schedule", "remove evening")
            .await
            .contains("Remove schedule evening"),
        "removing asks for confirmation first"
    );
    assert_eq!(
        app.store.schedules().await.unwrap().len(),
        1,
        "nothing removed yet"
    );
    let audit = app.store.recent_audit(100).await.unwrap();
    assert!(audit.iter().any(|a| a.outcome == "denied"));
}

/// Issue 11, item 3: a webhook's `Retry-After: NaN` (with a body that is not Discord's
/// JSON) panicked the outbox in `Duration::from_secs_f64`; now it means "one second". A
/// `retry_after` of 1e30 is capped, and being longer than a post is worth waiting for
/// (60 s), fails that post at once instead of sleeping.
#[tokio::test]
async fn discord_webhook_retry_after_nan_or_huge_does_not_panic() {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::routing::post;
    use chainsignal::scheduler::outbox::{DiscordWebhookOutbox, webhook_id};

    #[derive(Default)]
    struct Hook {
        calls: Mutex<Vec<String>>,
    }
    async fn nan(State(hook): State<Arc<Hook>>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let n = {
            let mut c = hook.calls.lock().unwrap();
            c.push("nan".into());
            c.len()
        };
        if n == 1 {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "NaN")],
                "slow down",
            )
                .into_response();
        }
        (StatusCode::OK, "{}").into_response()
    }
    async fn huge(State(hook): State<Arc<Hook>>) -> axum::response::Response {
        use axum::response::IntoResponse;
        hook.calls.lock().unwrap().push("huge".into());
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1e30")],
            r#"{"message":"slow down","retry_after":1e30,"global":false}"#,
        )
            .into_response()
    }
    let hook = Arc::new(Hook::default());
    let app = axum::Router::new()
        .route("/api/webhooks/1/nan", post(nan))
        .route("/api/webhooks/2/huge", post(huge))
        .with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let nan_url = SecretString::from(format!("http://{addr}/api/webhooks/1/nan"));
    let huge_url = SecretString::from(format!("http://{addr}/api/webhooks/2/huge"));
    let outbox = Arc::new(DiscordWebhookOutbox::new(&[nan_url.clone(), huge_url.clone()]));
    let reply = Reply::text("hello");
    let (o, r, id) = (outbox.clone(), reply.clone(), webhook_id(&nan_url));
    let sent = tokio::spawn(async move { o.send(&id, &r).await });
    let sent = tokio::time::timeout(std::time::Duration::from_secs(20), sent)
        .await
        .expect("the post finishes")
        .expect("no panic in the outbox");
    assert_eq!(sent, Ok(()));
    assert_eq!(hook.calls.lock().unwrap().len(), 2, "one 429, then the retry");

    let (o, r, id) = (outbox.clone(), reply.clone(), webhook_id(&huge_url));
    let failed = tokio::spawn(async move { o.send(&id, &r).await });
    let failed = tokio::time::timeout(std::time::Duration::from_secs(20), failed)
        .await
        .expect("a huge wait is not slept")
        .expect("no panic in the outbox");
    assert!(matches!(failed, Err(SendError::Failed(_))), "{failed:?}");
    assert_eq!(hook.calls.lock().unwrap().len(), 3, "given up without a retry");
}

/// Issue 11, item 3: a panic inside a scheduler job (here the outbox, a test double that
/// panics on its first post) used to end the scheduler task for good. It is caught and
/// logged, and the scheduler keeps ticking: the next slot is posted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_job_does_not_stop_the_scheduler() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Default)]
    struct Panicky {
        calls: AtomicUsize,
        posted: Mutex<Vec<String>>,
        changed: Notify,
    }
    #[async_trait]
    impl Outbox for Panicky {
        async fn send(&self, chat_id: &str, _reply: &Reply) -> Result<(), SendError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.changed.notify_waiters();
            if n == 0 {
                panic!("injected panic in the outbox");
            }
            self.posted.lock().unwrap().push(chat_id.to_string());
            self.changed.notify_waiters();
            Ok(())
        }
    }
    async fn wait_until(outbox: &Panicky, what: &str, pred: impl Fn(&Panicky) -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let notified = outbox.changed.notified();
            if pred(outbox) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("timed out waiting for {what}");
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let app = app(&sqlite(&dir), |c| c.scheduler.tick_secs = 1).await;
    subscribe(&app, &["42"], "reports").await;
    let outbox = Arc::new(Panicky::default());
    let mut outboxes = Outboxes::new();
    outboxes.insert("telegram".into(), outbox.clone() as Arc<dyn Outbox>);
    // 06:00 in Warsaw: the default daily report is due.
    let clock = Arc::new(ManualClock::new(utc("2026-03-29T04:00:05Z")));
    let s = Arc::new(Scheduler::new(
        &app,
        clock.clone() as Arc<dyn Clock>,
        outboxes,
        "p",
    ));
    let (trigger, shutdown) = chainsignal::shutdown::channel();
    let task = tokio::spawn(s.run(shutdown));

    wait_until(&outbox, "the panicking post", |o| {
        o.calls.load(Ordering::SeqCst) >= 1
    })
    .await;
    // 16:00 in Warsaw: the next slot, posted by the same scheduler after the panic.
    clock.set(utc("2026-03-29T14:00:01Z"));
    wait_until(&outbox, "a post after the panic", |o| {
        !o.posted.lock().unwrap().is_empty()
    })
    .await;
    assert!(!task.is_finished(), "the scheduler is still running");
    trigger.trigger();
    tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .expect("the scheduler stops on shutdown")
        .expect("the scheduler task did not panic");
}
