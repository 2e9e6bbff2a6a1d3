//! One storage suite, run on SQLite (temp file) and on PostgreSQL (a fresh database on
//! the local server, dropped afterwards). PostgreSQL is required when CI is set.

use chainsignal_core::market::{MarketError, Source};
use chainsignal_core::report::{Report, ReportError, ReportRow, SymbolFailure};
use chainsignal_core::store::{
    self, AiCall, AuditEntry, Backend, ChatKey, Identity, Outcome, ReportOrigin, Store, StoredSchedule,
};
use chainsignal_core::symbol::Symbol;
use chrono::{Duration, TimeZone, Utc};
use secrecy::SecretString;

fn report(at: chrono::DateTime<Utc>, closes: &[(&str, f64)], failed: &[&str]) -> Report {
    Report {
        generated_at: at,
        source: Source::Binance,
        rows: closes
            .iter()
            .map(|(s, c)| ReportRow {
                symbol: Symbol::from_normalized(*s),
                close: *c,
                change_24h_pct: 1.0 / 3.0,
                change_3d_pct: -2.5,
                change_7d_pct: 1e-12,
                atr_3d_pct: std::f64::consts::PI,
                atr_7d_pct: std::f64::consts::E,
            })
            .collect(),
        errors: failed
            .iter()
            .map(|s| SymbolFailure {
                symbol: s.to_string(),
                error: ReportError::Market(MarketError::UnknownSymbol),
            })
            .collect(),
    }
}

async fn suite(store: Store) {
    store.ping().await.unwrap();
    // Migrating twice is harmless.
    store.migrate().await.unwrap();

    // Reports and history, full precision, oldest first, filtered by date.
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 6, 0, 0).unwrap();
    let first = report(
        t0,
        &[("BTCUSDT", 91234.56789012345), ("ETHUSDT", 3012.5)],
        &["NOPEUSDT"],
    );
    let origin = ReportOrigin {
        origin: "cli".into(),
        ..Default::default()
    };
    let id1 = store.save_report(&first, &origin).await.unwrap();
    let second = report(
        t0 + Duration::hours(10),
        &[("SOLUSDT", 0.000012345678901234)],
        &[],
    );
    let id2 = store.save_report(&second, &origin).await.unwrap();
    assert!(id2 > id1);

    let all = store.report_history(None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!((all[0].report_id, all[0].symbol.as_str()), (id1, "BTCUSDT"));
    assert_eq!(all[0].close, 91234.56789012345);
    assert_eq!(all[0].change_24h_pct, 1.0 / 3.0);
    assert_eq!(all[0].atr_3d_pct, std::f64::consts::PI);
    assert_eq!(all[0].generated_at, t0);
    assert_eq!(all[2].close, 0.000012345678901234);
    let later = store.report_history(Some(t0 + Duration::hours(1))).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].symbol, "SOLUSDT");

    let stored = store.report(id1).await.unwrap().unwrap();
    assert_eq!(stored.rows.len(), 2);
    assert_eq!(
        stored.errors,
        [("NOPEUSDT".to_string(), "unknown_symbol".to_string())]
    );
    assert_eq!(stored.source, "binance");
    assert!(store.report(9_999_999).await.unwrap().is_none());

    // Users: one per platform identity, stable across calls.
    let alice = Identity {
        platform: "telegram".into(),
        platform_user_id: "42".into(),
        display_name: Some("Alice".into()),
    };
    let u1 = store.ensure_user(&alice).await.unwrap();
    assert_eq!(store.ensure_user(&alice).await.unwrap(), u1);
    let alice_dc = Identity {
        platform: "discord".into(),
        ..alice.clone()
    };
    assert_ne!(store.ensure_user(&alice_dc).await.unwrap(), u1);
    let origin = ReportOrigin {
        origin: "telegram".into(),
        platform_chat_id: Some("-100".into()),
        user_id: Some(u1),
    };
    store.save_report(&first, &origin).await.unwrap();

    // Chats: created with a default language, which /lang changes and which stays.
    let chat = ChatKey {
        platform: "telegram".into(),
        platform_chat_id: "-1001234567890".into(),
    };
    let c = store.ensure_chat(&chat, "pl").await.unwrap();
    assert_eq!((c.locale.as_str(), c.active), ("pl", true));
    assert_eq!(
        store.ensure_chat(&chat, "en").await.unwrap().locale,
        "pl",
        "first sight decides"
    );
    store.set_chat_locale(&chat, "en").await.unwrap();
    assert_eq!(store.ensure_chat(&chat, "pl").await.unwrap().locale, "en");
    store.set_chat_active(&chat, false).await.unwrap();
    let c = store.ensure_chat(&chat, "pl").await.unwrap();
    assert_eq!((c.locale.as_str(), c.active), ("en", false));
    store.set_chat_active(&chat, true).await.unwrap();
    assert!(store.ensure_chat(&chat, "pl").await.unwrap().active);
    let fresh = ChatKey {
        platform: "discord".into(),
        platform_chat_id: "1234".into(),
    };
    store.set_chat_locale(&fresh, "pl").await.unwrap();
    assert_eq!(store.ensure_chat(&fresh, "en").await.unwrap().locale, "pl");

    // Audit log: one row per command, newest first.
    for (i, outcome) in [Outcome::Ok, Outcome::UserError, Outcome::Failed]
        .into_iter()
        .enumerate()
    {
        store
            .record_audit(&AuditEntry {
                at: t0 + Duration::seconds(i as i64),
                platform: "console".into(),
                platform_user_id: "local".into(),
                platform_chat_id: "console".into(),
                command: "report".into(),
                args: format!("btc {i}"),
                outcome,
                detail: (i > 0).then(|| "NOPEUSDT:unknown_symbol".into()),
                duration_ms: 12,
            })
            .await
            .unwrap();
    }
    let audit = store.recent_audit(2).await.unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        (audit[0].outcome.as_str(), audit[0].args.as_str()),
        ("failed", "btc 2")
    );
    assert_eq!(audit[1].outcome, "user_error");
    assert_eq!(audit[1].at, t0 + Duration::seconds(1));
    assert_eq!(audit[1].detail.as_deref(), Some("NOPEUSDT:unknown_symbol"));

    // AI calls: tokens per user and in total since a time, the last call, kept answers.
    let call = |user: &str, at, tokens: i64, outcome: &str| AiCall {
        at,
        platform: "telegram".into(),
        platform_user_id: user.into(),
        model: "llama".into(),
        prompt_tokens: tokens,
        completion_tokens: 1,
        latency_ms: 250,
        outcome: outcome.into(),
    };
    assert_eq!(store.ai_tokens_since(t0, None).await.unwrap(), 0);
    assert_eq!(store.last_ai_call("telegram", "42").await.unwrap(), None);
    store.record_ai_call(&call("42", t0, 100, "ok")).await.unwrap();
    store
        .record_ai_call(&call("42", t0 + Duration::minutes(5), 0, "timeout"))
        .await
        .unwrap();
    store
        .record_ai_call(&call("43", t0 + Duration::minutes(1), 50, "ok"))
        .await
        .unwrap();
    store
        .record_ai_call(&call("42", t0 - Duration::days(1), 1000, "ok"))
        .await
        .unwrap();
    assert_eq!(
        store.ai_tokens_since(t0, Some(("telegram", "42"))).await.unwrap(),
        102
    );
    assert_eq!(store.ai_tokens_since(t0, None).await.unwrap(), 153);
    assert_eq!(
        store.ai_tokens_since(t0, Some(("discord", "42"))).await.unwrap(),
        0
    );
    assert_eq!(
        store.last_ai_call("telegram", "42").await.unwrap(),
        Some(t0),
        "the last successful call: a timeout does not count"
    );
    assert_eq!(store.cached_summary("k1").await.unwrap(), None);
    store
        .save_summary("k1", "pl", "llama", "Rynek rośnie.")
        .await
        .unwrap();
    store
        .save_summary("k1", "pl", "llama", "second write is ignored")
        .await
        .unwrap();
    assert_eq!(
        store.cached_summary("k1").await.unwrap().as_deref(),
        Some("Rynek rośnie.")
    );

    scheduler_suite(&store, t0).await;
    store.close().await;
}

async fn scheduler_suite(store: &Store, t0: chrono::DateTime<Utc>) {
    // Schedules added by admins.
    let s = StoredSchedule {
        name: "evening".into(),
        cron: "0 20 * * *".into(),
        timezone: "Europe/Warsaw".into(),
        kind: "report".into(),
        symbols: "BTCUSDT ETHUSDT".into(),
    };
    assert!(store.add_schedule(&s, "telegram:42").await.unwrap());
    assert!(
        !store.add_schedule(&s, "telegram:42").await.unwrap(),
        "names are unique"
    );
    assert_eq!(store.schedules().await.unwrap(), std::slice::from_ref(&s));
    assert!(store.remove_schedule("evening").await.unwrap());
    assert!(!store.remove_schedule("evening").await.unwrap());

    // Subscriptions, failures in a row, disabling, re-subscribing.
    let chat = ChatKey {
        platform: "telegram".into(),
        platform_chat_id: "-100".into(),
    };
    assert!(store.subscribe(&chat, "reports").await.unwrap());
    assert!(!store.subscribe(&chat, "reports").await.unwrap());
    assert!(store.subscribe(&chat, "alerts").await.unwrap());
    let sub = &store.subscribers("reports").await.unwrap()[0];
    assert_eq!(
        (sub.platform.as_str(), sub.platform_chat_id.as_str()),
        ("telegram", "-100")
    );
    assert_eq!(store.target_failed(sub).await.unwrap(), 1);
    assert_eq!(store.target_failed(sub).await.unwrap(), 2);
    store.target_succeeded(sub).await.unwrap();
    assert_eq!(
        store.target_failed(sub).await.unwrap(),
        1,
        "failures count in a row"
    );
    store.disable_target(sub).await.unwrap();
    assert!(store.subscribers("reports").await.unwrap().is_empty());
    assert_eq!(store.subscribers("alerts").await.unwrap().len(), 1);
    assert!(
        store.subscribe(&chat, "reports").await.unwrap(),
        "subscribing again enables"
    );
    assert_eq!(store.unsubscribe(&chat, Some("alerts")).await.unwrap(), 1);
    assert_eq!(store.unsubscribe(&chat, None).await.unwrap(), 1);
    assert!(store.subscribers("reports").await.unwrap().is_empty());

    // Runs: claimed once; taken over only when unfinished and the lease expired.
    let slot = t0 + Duration::hours(5);
    let m = |n| t0 + Duration::minutes(n);
    assert!(!store.run_exists("daily", slot).await.unwrap());
    assert!(store.claim_run("daily", slot, "a", m(0), m(2)).await.unwrap());
    assert!(store.run_exists("daily", slot).await.unwrap());
    assert!(
        !store.claim_run("daily", slot, "b", m(1), m(3)).await.unwrap(),
        "lease still held"
    );
    assert_eq!(store.stalled_runs(t0, m(1)).await.unwrap(), []);
    assert_eq!(
        store.stalled_runs(t0, m(5)).await.unwrap(),
        [("daily".to_string(), slot)]
    );
    assert!(
        store.claim_run("daily", slot, "b", m(5), m(7)).await.unwrap(),
        "expired lease taken over"
    );
    assert!(
        store
            .claim_delivery("daily", slot, "telegram:-100", m(5))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_delivery("daily", slot, "telegram:-100", m(5))
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_delivery("daily", slot, "discord-webhook:ab", m(5))
            .await
            .unwrap()
    );
    store
        .finish_delivery("daily", slot, "telegram:-100", "sent")
        .await
        .unwrap();
    let d = store.deliveries("daily", slot).await.unwrap();
    assert_eq!(
        d,
        [
            ("discord-webhook:ab".to_string(), "sending".to_string()),
            ("telegram:-100".to_string(), "sent".to_string())
        ]
    );
    store.finish_run("daily", slot).await.unwrap();
    assert!(
        !store.claim_run("daily", slot, "c", m(60), m(62)).await.unwrap(),
        "a finished run stays finished"
    );
    assert_eq!(store.stalled_runs(t0, m(60)).await.unwrap(), []);

    // Alerts: once per symbol and direction per cooldown.
    assert!(store.claim_alert("BTCUSDT", "up", m(0), m(-60)).await.unwrap());
    assert!(!store.claim_alert("BTCUSDT", "up", m(30), m(-30)).await.unwrap());
    assert!(store.claim_alert("BTCUSDT", "down", m(30), m(-30)).await.unwrap());
    assert!(store.claim_alert("BTCUSDT", "up", m(61), m(1)).await.unwrap());
}

#[tokio::test]
async fn storage_suite_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!(
        "sqlite://{}",
        dir.path().join("nested/dir/test.sqlite").display()
    ));
    let store = store::open(&url, 4).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    suite(store).await;
    assert!(dir.path().join("nested/dir/test.sqlite").exists());
}

#[tokio::test]
async fn storage_suite_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("storage_suite_on_postgres").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 4).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    suite(store).await;
    db.drop_db().await;
}

#[tokio::test]
async fn unsupported_and_unreachable_databases_are_clear_errors_without_the_url() {
    let url = SecretString::from("mysql://root:hunter2@localhost/db".to_string());
    let err = store::open(&url, 1).await.unwrap_err().to_string();
    assert!(err.contains("unsupported"), "{err}");
    assert!(!err.contains("hunter2"));
    let url = SecretString::from("postgres://u:sup3rsecret@127.0.0.1:1/db".to_string());
    let err = store::open(&url, 1).await.unwrap_err();
    assert!(
        !format!("{err} {err:?}").contains("sup3rsecret"),
        "password leaked: {err:?}"
    );
}
