//! One storage suite, run on SQLite (temp file) and on PostgreSQL (a fresh database on
//! the local server, dropped afterwards). PostgreSQL is required when CI is set.

use chainsignal_core::market::{MarketError, Source};
use chainsignal_core::report::{Report, ReportError, ReportRow, SymbolFailure};
use chainsignal_core::store::{
    self, AiCall, AuditEntry, Backend, ChatKey, CommandStore, Identity, NewAction, Outcome, ReportOrigin,
    ReportStore, Store, StoredSchedule,
};
use chainsignal_core::symbol::Symbol;
use chrono::{Duration, TimeZone, Utc};
use secrecy::SecretString;
use std::sync::Arc;

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
        username: None,
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
                account_id: None,
                request_id: None,
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
    // Each aggregate is a trait of its own, reachable from the umbrella `Store`.
    assert_eq!(
        history_len(&*store).await,
        store.report_history(None).await.unwrap().len()
    );
    commands_suite(store.clone(), t0).await;
    keys_suite(&store, t0).await;
    key_forms_suite(&store, t0).await;
    settings_suite(&store, t0).await;
    store.close().await;
}

/// Account settings (issue 16): the defaults without a row; each setter changes its own
/// column only (and creates the row); overrides round-trip as JSON and clear; rows are
/// per account.
async fn settings_suite(store: &Store, t0: chrono::DateTime<Utc>) {
    use chainsignal_core::store::AccountSettings;
    use chainsignal_core::trading::{LimitOverrides, Profile};
    let account = store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: "settings-1".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    assert_eq!(
        store.account_settings(account).await.unwrap(),
        AccountSettings::default()
    );
    let warsaw = chainsignal_core::schedule::parse_tz("Europe/Warsaw").unwrap();
    store.set_timezone(account, warsaw, t0).await.unwrap();
    let s = store.account_settings(account).await.unwrap();
    assert_eq!(s.timezone, warsaw);
    assert_eq!(s.risk_profile, Profile::Conservative, "the column's default");
    assert_eq!(s.limit_overrides, None);
    assert_eq!(s.updated_at, Some(t0));

    let t1 = t0 + Duration::minutes(5);
    store
        .set_risk_profile(account, Profile::Model2, t1)
        .await
        .unwrap();
    let overrides = LimitOverrides {
        max_leverage: Some(2),
        max_risk_to_sl_pct: Some("0.75".parse().unwrap()),
        stop_loss_required: Some(true),
        ..LimitOverrides::default()
    };
    store
        .set_limit_overrides(account, Some(&overrides), t1)
        .await
        .unwrap();
    let s = store.account_settings(account).await.unwrap();
    assert_eq!(s.timezone, warsaw, "kept");
    assert_eq!(s.risk_profile, Profile::Model2);
    assert_eq!(s.limit_overrides.as_ref(), Some(&overrides));
    assert_eq!(s.updated_at, Some(t1));

    // Clearing: None and an empty set both store NULL.
    store
        .set_limit_overrides(account, Some(&LimitOverrides::default()), t1)
        .await
        .unwrap();
    assert_eq!(
        store.account_settings(account).await.unwrap().limit_overrides,
        None
    );
    store.set_risk_profile(account, Profile::Loose, t1).await.unwrap();
    assert_eq!(
        store.account_settings(account).await.unwrap().risk_profile,
        Profile::Loose
    );

    // A second account's row is its own; a fresh account starts with a profile row.
    let other = store
        .ensure_user(&Identity {
            platform: "discord".into(),
            platform_user_id: "settings-2".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    store.set_risk_profile(other, Profile::Model2, t1).await.unwrap();
    let s = store.account_settings(other).await.unwrap();
    assert_eq!((s.timezone.name(), s.risk_profile), ("UTC", Profile::Model2));
    assert_eq!(store.account_settings(account).await.unwrap().timezone, warsaw);
}

/// Exchange keys: stored sealed, one label per account, a row moved to another account
/// does not open there, removal, last use.
async fn keys_suite(store: &Store, t0: chrono::DateTime<Utc>) {
    use chainsignal_core::store::NewExchangeKey;
    use chainsignal_core::vault::{Binding, Sealed, Vault};
    use secrecy::ExposeSecret;
    let k1 = chainsignal_core::vault::generate_key().unwrap();
    let vault = Vault::from_keys(&[(1, k1.clone())]).unwrap().unwrap();
    let identity = |id: &str| Identity {
        platform: "telegram".into(),
        platform_user_id: id.into(),
        display_name: None,
        username: None,
    };
    let alice = store.ensure_user(&identity("key-alice")).await.unwrap();
    let bob = store.ensure_user(&identity("key-bob")).await.unwrap();
    let seal = |user: i64, field: &'static str, value: &str| {
        let b = Binding {
            account_id: user,
            exchange: "binance-testnet",
            label: "main",
            field,
        };
        vault
            .seal(&b, &SecretString::from(value.to_string()))
            .unwrap()
            .to_text()
    };
    let row = |user: i64| {
        let (api_key_nonce, api_key_sealed) = seal(user, "api_key", "APIKEY-abcdefgh-wxyz");
        let (secret_nonce, secret_sealed) = seal(user, "secret", "SECRET-recognisable-42");
        NewExchangeKey {
            user_id: user,
            exchange: "binance-testnet".into(),
            label: "main".into(),
            api_key_mask: "APIK…wxyz".into(),
            api_key_sealed,
            api_key_nonce,
            secret_sealed,
            secret_nonce,
            key_version: 1,
            created_at: t0,
        }
    };
    let id = store
        .add_exchange_key(&row(alice))
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        store.add_exchange_key(&row(alice)).await.unwrap(),
        None,
        "one label per account"
    );
    let stored = store.exchange_key(alice, "main").await.unwrap().unwrap();
    assert_eq!(stored.id, id);
    assert_eq!(
        (stored.created_at, stored.last_used_at, stored.key_version),
        (t0, None, 1)
    );
    assert!(!format!("{stored:?}").contains("SECRET-recognisable-42"));
    let open = |user: i64, r: &chainsignal_core::store::ExchangeKeyRecord| {
        let sealed = Sealed::from_text(r.key_version as u32, &r.secret_nonce, &r.secret_sealed).unwrap();
        let b = Binding {
            account_id: user,
            exchange: &r.exchange,
            label: &r.label,
            field: "secret",
        };
        vault.open(&b, &sealed).map(|s| s.expose_secret().to_string())
    };
    assert_eq!(open(alice, &stored).unwrap(), "SECRET-recognisable-42");
    // Alice's row copied to Bob's account does not open there.
    let mut copied = row(alice);
    copied.user_id = bob;
    store
        .add_exchange_key(&copied)
        .await
        .unwrap()
        .expect("bob may use the same label");
    let moved = store.exchange_key(bob, "main").await.unwrap().unwrap();
    assert!(
        open(bob, &moved).is_err(),
        "a row copied to another account does not open"
    );
    assert_eq!(store.exchange_keys(alice).await.unwrap().len(), 1);

    store
        .touch_exchange_key(id, t0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .exchange_key(alice, "main")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(t0 + Duration::hours(1))
    );
    assert!(store.remove_exchange_key(alice, "main").await.unwrap());
    assert!(!store.remove_exchange_key(alice, "main").await.unwrap());
    assert!(store.exchange_keys(alice).await.unwrap().is_empty());
    assert_eq!(store.exchange_keys(bob).await.unwrap().len(), 1);

    // Rotation: the rows not on a version, by id; a row re-sealed only when still as read.
    let both = Vault::from_keys(&[(1, k1), (2, chainsignal_core::vault::generate_key().unwrap())])
        .unwrap()
        .unwrap();
    let carol = store.ensure_user(&identity("key-carol")).await.unwrap();
    store
        .add_exchange_key(&row(carol))
        .await
        .unwrap()
        .expect("stored");
    let carol_row = store.exchange_key(carol, "main").await.unwrap().unwrap();
    let pending = store.exchange_keys_not_on(2, 0, 1000).await.unwrap();
    assert!(pending.iter().any(|r| r.id == carol_row.id));
    assert!(pending.windows(2).all(|w| w[0].id < w[1].id), "by id");
    assert!(
        store
            .exchange_keys_not_on(2, carol_row.id, 1000)
            .await
            .unwrap()
            .iter()
            .all(|r| r.id > carol_row.id)
    );
    assert_eq!(
        store.exchange_keys_not_on(2, 0, 1).await.unwrap().len(),
        1,
        "a batch"
    );
    assert_eq!(
        both.reseal_row(&moved, 2).unwrap_err(),
        chainsignal_core::vault::VaultError::DoesNotOpen,
        "the moved row does not open, so it is not re-sealed"
    );
    let new = both.reseal_row(&carol_row, 2).unwrap();
    assert!(store.reseal_exchange_key(&carol_row, &new).await.unwrap());
    assert!(
        !store.reseal_exchange_key(&carol_row, &new).await.unwrap(),
        "no longer as read"
    );
    let after = store.exchange_key(carol, "main").await.unwrap().unwrap();
    assert_eq!(after.key_version, 2);
    let (_, secret) = both.open_row(&after).unwrap();
    assert_eq!(secret.expose_secret(), "SECRET-recognisable-42");
    assert!(
        !store
            .exchange_keys_not_on(2, 0, 1000)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == after.id)
    );
    let versions = store.exchange_key_versions().await.unwrap();
    assert!(versions.iter().any(|(v, n)| *v == 2 && *n >= 1), "{versions:?}");
    assert!(versions.iter().any(|(v, n)| *v == 1 && *n >= 1), "{versions:?}");

    // Posture: ages without values; the weekly reminder claimed once.
    let ages = store.exchange_key_ages().await.unwrap();
    assert!(ages.iter().any(|a| a.user_id == carol
        && a.label == "main"
        && a.exchange == "binance-testnet"
        && a.created_at == t0));
    assert!(store.claim_key_reminder(carol, "2026-W48", t0).await.unwrap());
    assert!(!store.claim_key_reminder(carol, "2026-W48", t0).await.unwrap());
    assert!(store.claim_key_reminder(carol, "2026-W49", t0).await.unwrap());
    assert!(store.claim_key_reminder(bob, "2026-W48", t0).await.unwrap());
}

/// Code that needs one aggregate takes only its trait.
async fn history_len(reports: &dyn ReportStore) -> usize {
    reports.report_history(None).await.unwrap().len()
}

fn action(
    token: &str,
    allowed: Option<&str>,
    reusable: bool,
    at: chrono::DateTime<Utc>,
    ttl: Duration,
) -> NewAction {
    NewAction {
        token: token.into(),
        platform: "telegram".into(),
        platform_chat_id: "-100".into(),
        allowed_user: allowed.map(str::to_string),
        command: "schedule".into(),
        args: r#"{"sub":"remove","name":"evening"}"#.into(),
        reusable,
        created_at: at,
        expires_at: at + ttl,
    }
}

/// Pending actions and handled requests, through the `CommandStore` aggregate alone
/// (an `Arc<dyn Storage>` upcast to `Arc<dyn CommandStore>`).
async fn commands_suite(store: Arc<dyn CommandStore>, t0: chrono::DateTime<Utc>) {
    let confirm = action("t1", Some("42"), false, t0, Duration::seconds(120));
    store.create_action(&confirm).await.unwrap();
    let stored = store.action("t1").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.allowed_user.as_deref(),
            stored.args.as_str(),
            stored.reusable
        ),
        (Some("42"), confirm.args.as_str(), false)
    );
    assert_eq!(
        (stored.created_at, stored.expires_at),
        (t0, t0 + Duration::seconds(120))
    );
    assert_eq!((stored.claimed_at, stored.claimed_by), (None, None));
    assert!(store.action("nope").await.unwrap().is_none());

    let at = t0 + Duration::seconds(10);
    assert_eq!(
        store.claim_action("t1", "43", at, "a").await.unwrap(),
        None,
        "someone else's button"
    );
    assert_eq!(
        store
            .claim_action("t1", "42", t0 + Duration::seconds(121), "a")
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.claim_action("nope", "42", at, "a").await.unwrap(), None);
    let claimed = store
        .claim_action("t1", "42", at, "instance-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            claimed.token.as_str(),
            claimed.claimed_at,
            claimed.claimed_by.as_deref()
        ),
        ("t1", Some(at), Some("instance-a"))
    );
    assert_eq!(
        store.claim_action("t1", "42", at, "instance-b").await.unwrap(),
        None,
        "claimed once"
    );

    // A claim whose action failed is given back, by its claimer only.
    assert!(!store.release_action("t1", "instance-b").await.unwrap());
    assert!(!store.release_action("nope", "instance-a").await.unwrap());
    assert!(store.release_action("t1", "instance-a").await.unwrap());
    let released = store.action("t1").await.unwrap().unwrap();
    assert_eq!((released.claimed_at, released.claimed_by), (None, None));
    assert!(
        store
            .claim_action("t1", "42", at, "instance-c")
            .await
            .unwrap()
            .is_some(),
        "the button works again"
    );

    // Refresh: reusable, never claimed; anyone-may-press single-use: the first presser.
    store
        .create_action(&action("t2", None, true, t0, Duration::days(7)))
        .await
        .unwrap();
    assert_eq!(store.claim_action("t2", "42", at, "a").await.unwrap(), None);
    assert!(store.action("t2").await.unwrap().is_some());
    store
        .create_action(&action("t3", None, false, t0, Duration::seconds(120)))
        .await
        .unwrap();
    assert!(store.claim_action("t3", "99", at, "a").await.unwrap().is_some());

    // Of presses at once, one wins.
    store
        .create_action(&action("t4", Some("42"), false, t0, Duration::seconds(120)))
        .await
        .unwrap();
    let presses = (0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .claim_action("t4", "42", at, &format!("i{i}"))
                .await
                .unwrap()
        }
    });
    let won = futures_won(presses).await;
    assert_eq!(won, 1, "exactly one press claims the action");

    // Request ids: a retry is refused, per platform.
    assert!(store.claim_request("telegram", "u1", t0).await.unwrap());
    assert!(!store.claim_request("telegram", "u1", at).await.unwrap());
    assert!(store.claim_request("discord", "u1", t0).await.unwrap());

    // Pruning: expired actions (t1, t3, t4) and old requests (2) go; Refresh stays.
    assert_eq!(
        store.prune_commands_state(t0 + Duration::days(1)).await.unwrap(),
        5
    );
    assert!(store.action("t1").await.unwrap().is_none());
    assert!(store.action("t2").await.unwrap().is_some());
    assert!(store.claim_request("telegram", "u1", t0).await.unwrap());
}

async fn futures_won<F>(presses: impl Iterator<Item = F>) -> usize
where
    F: std::future::Future<Output = Option<store::ActionRecord>> + Send + 'static,
{
    let handles: Vec<_> = presses.map(tokio::spawn).collect();
    let mut won = 0;
    for h in handles {
        if h.await.unwrap().is_some() {
            won += 1;
        }
    }
    won
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

    // Renaming a stored schedule carries its runs and deliveries along.
    let nightly = StoredSchedule {
        name: "nightly".into(),
        cron: "0 22 * * *".into(),
        timezone: "UTC".into(),
        kind: "report".into(),
        symbols: String::new(),
    };
    let other = StoredSchedule {
        name: "other".into(),
        ..nightly.clone()
    };
    assert!(store.add_schedule(&nightly, "telegram:42").await.unwrap());
    assert!(store.add_schedule(&other, "telegram:42").await.unwrap());
    let night = t0 + Duration::hours(22);
    assert!(store.claim_run("nightly", night, "a", m(0), m(2)).await.unwrap());
    assert!(
        store
            .claim_delivery("nightly", night, "telegram:-100", m(1))
            .await
            .unwrap()
    );
    assert!(
        !store.rename_schedule("nightly", "other").await.unwrap(),
        "the new name is taken"
    );
    assert!(
        !store.rename_schedule("nope", "late").await.unwrap(),
        "nothing to rename"
    );
    assert!(store.rename_schedule("nightly", "late").await.unwrap());
    let names: Vec<String> = store
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["late", "other"]);
    assert!(store.run_exists("late", night).await.unwrap());
    assert!(!store.run_exists("nightly", night).await.unwrap());
    assert!(
        !store
            .claim_delivery("late", night, "telegram:-100", m(2))
            .await
            .unwrap(),
        "what went out under the old name does not go out again"
    );
    assert!(store.deliveries("nightly", night).await.unwrap().is_empty());
    assert!(store.remove_schedule("late").await.unwrap());
    assert!(store.remove_schedule("other").await.unwrap());
}

/// One new user seen by many tasks at once (several updates from them in one batch):
/// one user, the same id for every caller, no error.
async fn same_new_user_at_once(store: &Store) {
    // Open every connection of the pool first, so that the calls below truly overlap.
    let warm: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.ping().await })
        })
        .collect();
    for w in warm {
        w.await.unwrap().unwrap();
    }
    for round in 0..5 {
        same_new_user_round(store, round).await;
    }
}

async fn same_new_user_round(store: &Store, round: usize) {
    let identity = Identity {
        platform: "discord".into(),
        platform_user_id: format!("same-at-once-{round}"),
        display_name: None,
        username: None,
    };
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let store = store.clone();
        let identity = identity.clone();
        tasks.push(tokio::spawn(async move { store.ensure_user(&identity).await }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().expect("ensure_user succeeds"));
    }
    assert_eq!(ids.len(), 1, "one user id for everyone: {ids:?}");
    let again = store.ensure_user(&identity).await.unwrap();
    assert!(ids.contains(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_new_user_at_once_on_sqlite_and_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("same.sqlite").display()));
    let store = store::open(&url, 8).await.unwrap();
    same_new_user_at_once(&store).await;
    store.close().await;
    let Some(db) = chainsignal_tests::TempPostgres::create("same_new_user_at_once").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 8).await.unwrap();
    same_new_user_at_once(&store).await;
    store.close().await;
    db.drop_db().await;
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

/// Many writers at once on one SQLite file (issue 11, item 1): several tasks, each a
/// stream of first-sight users, chats and audit rows, none may fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_on_sqlite_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("busy.sqlite").display()));
    let store = store::open(&url, 8).await.unwrap();
    const TASKS: usize = 16;
    const EACH: usize = 50;
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for i in 0..EACH {
                let id = format!("{t}-{i}");
                let identity = Identity {
                    platform: "telegram".into(),
                    platform_user_id: id.clone(),
                    display_name: Some(format!("User {id}")),
                    username: None,
                };
                let chat = ChatKey {
                    platform: "telegram".into(),
                    platform_chat_id: id.clone(),
                };
                if let Err(e) = store.ensure_chat(&chat, "en").await {
                    errors.push(format!("ensure_chat: {e}"));
                }
                if let Err(e) = store.ensure_user(&identity).await {
                    errors.push(format!("ensure_user: {e}"));
                }
                // Seen again: the update path of ensure_user.
                if let Err(e) = store.ensure_user(&identity).await {
                    errors.push(format!("ensure_user again: {e}"));
                }
                let entry = AuditEntry {
                    at: Utc::now(),
                    platform: "telegram".into(),
                    platform_user_id: id.clone(),
                    platform_chat_id: id,
                    command: "help".into(),
                    args: String::new(),
                    outcome: Outcome::Ok,
                    detail: None,
                    duration_ms: 1,
                    account_id: None,
                    request_id: None,
                };
                if let Err(e) = store.record_audit(&entry).await {
                    errors.push(format!("record_audit: {e}"));
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        errors.extend(t.await.unwrap());
    }
    assert!(
        errors.is_empty(),
        "{} failed writes, e.g. {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let audit = store.recent_audit(10_000).await.unwrap();
    assert_eq!(audit.len(), TASKS * EACH);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("busy.sqlite").display()))
        .await
        .unwrap();
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_identities")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users as usize, TASKS * EACH);
    pool.close().await;
    store.close().await;
}

/// Issue 11, item 14: the data directory is created 0700, the database file, its WAL
/// files, its lock file and backups 0600, whatever the umask.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = data.join("deep/chainsignal.sqlite");
    let url = SecretString::from(format!("sqlite://{}", db.display()));
    let store = store::open(&url, 2).await.unwrap();
    store
        .ensure_chat(
            &ChatKey {
                platform: "console".into(),
                platform_chat_id: "console".into(),
            },
            "en",
        )
        .await
        .unwrap();
    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("deep")), 0o700, "nested data directory");
    assert_eq!(mode(&db), 0o600, "database file");
    for side in ["-wal", "-shm", ".lock"] {
        let p = std::path::PathBuf::from(format!("{}{side}", db.display()));
        assert!(p.exists(), "{} exists while open", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    let backup = dir.path().join("backup.sqlite");
    store.backup(&backup).await.unwrap();
    assert_eq!(mode(&backup), 0o600, "backup file");
    store::check_backup(&backup).await.unwrap();
    store.close().await;

    // A file an older version left readable by others is made private when opened.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = store::open(&url, 2).await.unwrap();
    assert_eq!(mode(&db), 0o600, "an old 0644 database file");
    store.close().await;
}

/// Issue 11, item 14: the audit log's detail is a stable code, not Debug text.
#[tokio::test]
async fn audit_detail_is_a_stable_code() {
    use chainsignal_tests::fake_openai::{Behaviour, FakeOpenAi};
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = chainsignal_core::config::Config::default();
    config.ai.base_url = fake.base_url();
    config.ai.cooldown_secs = 0;
    config.ai.timeout_secs = 2;
    config.secrets.ai_api_key = Some(SecretString::from("sk-test-key-0123456789".to_string()));
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("audit.sqlite").display()));
    let app = chainsignal::app::App::build(config, Some(Source::Demo), Some(url))
        .await
        .unwrap();
    fake.then(Behaviour::Status {
        code: 401,
        retry_after: None,
    });
    let mut out = Vec::new();
    chainsignal::console::serve(
        &app.commands,
        "/summary btc\n/summary eth\n".as_bytes(),
        &mut out,
        false,
    )
    .await
    .unwrap();
    let audit = app.store.recent_audit(2).await.unwrap();
    assert_eq!(audit[1].command, "summary");
    assert_eq!(audit[1].detail.as_deref(), Some("rules_after:unauthorized"));
    assert_eq!(audit[0].detail.as_deref(), Some("ai"));
    app.store.close().await;
}

fn ident(platform: &str, id: &str, name: Option<&str>) -> Identity {
    Identity {
        platform: platform.into(),
        platform_user_id: id.into(),
        display_name: name.map(str::to_owned),
        username: None,
    }
}

/// Accounts (issue 13): roles, approvals decided once, link codes (single use, expiry,
/// lockout after wrong codes in a row), refusing to merge two accounts with data,
/// unlinking, and the AI budget counted per account.
async fn accounts_suite(store: &Store) {
    use chainsignal_core::store::{Decision, LinkOutcome, LinkPolicy, StoredRole, UnlinkOutcome, WrongCode};
    let now = Utc::now();
    let tg = ident("telegram", "501", Some("alice_tg"));
    let dc = ident("discord", "9001", Some("Alice"));
    let (a, created) = store.ensure_account(&tg, StoredRole::Pending).await.unwrap();
    assert!(created);
    assert_eq!(a.role, StoredRole::Pending);
    let (again, created) = store.ensure_account(&tg, StoredRole::Trader).await.unwrap();
    assert!(!created);
    assert_eq!(again, a, "the role of a known person is kept");
    // ensure_user (existing callers) makes traders.
    let b_id = store.ensure_user(&dc).await.unwrap();
    assert_eq!(
        store.account(b_id).await.unwrap().unwrap().role,
        StoredRole::Trader
    );
    assert_eq!(
        store.accounts_named("telegram", "@ALICE_TG").await.unwrap(),
        vec![a.id]
    );
    assert!(store.accounts_named("telegram", "bob").await.unwrap().is_empty());

    // Approval: decided once; the second decision learns who decided.
    assert_eq!(
        store
            .decide_pending(a.id, StoredRole::Trader, "telegram:77", now)
            .await
            .unwrap(),
        Decision::Decided
    );
    assert_eq!(
        store
            .decide_pending(a.id, StoredRole::Blocked, "discord:88", now)
            .await
            .unwrap(),
        Decision::AlreadyDecided {
            role: StoredRole::Trader,
            by: Some("telegram:77".into())
        }
    );
    assert_eq!(
        store
            .decide_pending(999_999, StoredRole::Trader, "x", now)
            .await
            .unwrap(),
        Decision::Unknown
    );

    // Link codes: a wrong one counts, the right one links once, then it is used.
    let policy = LinkPolicy::default();
    store
        .create_link_code(a.id, "hash-a", now, now + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_link_code("discord", "9001", "nope", now, policy)
            .await
            .unwrap(),
        LinkOutcome::Wrong {
            why: WrongCode::Unknown,
            failures: 1
        }
    );
    assert_eq!(
        store
            .redeem_link_code("discord", "9001", "hash-a", now, policy)
            .await
            .unwrap(),
        LinkOutcome::Linked { account: a.id }
    );
    assert!(
        store.account(b_id).await.unwrap().is_none(),
        "the empty account is gone"
    );
    let ids = store.identities(a.id).await.unwrap();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(
        store
            .redeem_link_code("discord", "9001", "hash-a", now, policy)
            .await
            .unwrap(),
        LinkOutcome::Wrong {
            why: WrongCode::Used,
            failures: 1
        },
        "a code works once (and a success reset the count)"
    );
    // Expired.
    store
        .create_link_code(
            a.id,
            "hash-old",
            now - Duration::minutes(20),
            now - Duration::minutes(10),
        )
        .await
        .unwrap();
    let c = ident("telegram", "502", None);
    store.ensure_account(&c, StoredRole::Trader).await.unwrap();
    assert_eq!(
        store
            .redeem_link_code("telegram", "502", "hash-old", now, policy)
            .await
            .unwrap(),
        LinkOutcome::Wrong {
            why: WrongCode::Expired,
            failures: 1
        }
    );
    // 20 wrong codes in a row lock /link for 15 minutes, even for the right code.
    store
        .create_link_code(a.id, "hash-b", now, now + Duration::minutes(10))
        .await
        .unwrap();
    for n in 2..20 {
        assert!(matches!(
            store.redeem_link_code("telegram", "502", "bad", now, policy).await.unwrap(),
            LinkOutcome::Wrong { failures, .. } if failures == n
        ));
    }
    let locked = store
        .redeem_link_code("telegram", "502", "bad", now, policy)
        .await
        .unwrap();
    assert_eq!(
        locked,
        LinkOutcome::Locked {
            until: now + Duration::minutes(15)
        }
    );
    assert!(matches!(
        store
            .redeem_link_code("telegram", "502", "hash-b", now + Duration::minutes(14), policy)
            .await
            .unwrap(),
        LinkOutcome::Locked { .. }
    ));
    assert!(
        store
            .link_locked_until("telegram", "502", now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .link_locked_until("telegram", "502", now + Duration::minutes(16))
            .await
            .unwrap()
            .is_none()
    );

    // Both accounts own data (AI usage): refused, nothing merged.
    let call = |platform: &str, id: &str, tokens: i64| AiCall {
        at: now,
        platform: platform.into(),
        platform_user_id: id.into(),
        model: "m".into(),
        prompt_tokens: tokens,
        completion_tokens: 0,
        latency_ms: 1,
        outcome: "ok".into(),
    };
    store.record_ai_call(&call("telegram", "501", 100)).await.unwrap();
    store.record_ai_call(&call("telegram", "502", 7)).await.unwrap();
    let c_id = store
        .account_by_identity("telegram", "502")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(store.account_owns_data(a.id).await.unwrap());
    let later = now + Duration::minutes(16);
    store
        .create_link_code(a.id, "hash-c", later, later + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_link_code("telegram", "502", "hash-c", later, policy)
            .await
            .unwrap(),
        LinkOutcome::BothOwnData
    );
    assert_eq!(
        store
            .account_by_identity("telegram", "502")
            .await
            .unwrap()
            .unwrap()
            .id,
        c_id
    );

    // The AI budget is the account's: Discord's identity sees Telegram's tokens.
    store.record_ai_call(&call("discord", "9001", 20)).await.unwrap();
    let day = now - Duration::hours(1);
    assert_eq!(
        store
            .ai_tokens_since(day, Some(("discord", "9001")))
            .await
            .unwrap(),
        120
    );
    assert_eq!(
        store
            .ai_tokens_since(day, Some(("telegram", "501")))
            .await
            .unwrap(),
        120
    );
    assert_eq!(
        store
            .ai_tokens_since(day, Some(("telegram", "502")))
            .await
            .unwrap(),
        7
    );
    assert!(store.last_ai_call("discord", "9001").await.unwrap().is_some());
    // A never-seen identity still counts its own calls.
    store.record_ai_call(&call("telegram", "600", 3)).await.unwrap();
    assert_eq!(
        store
            .ai_tokens_since(day, Some(("telegram", "600")))
            .await
            .unwrap(),
        3
    );

    // Linking a blocked account is no way out of the block.
    store
        .set_role(c_id, StoredRole::Blocked, Some("spam"))
        .await
        .unwrap();
    let blocked = store.account(c_id).await.unwrap().unwrap();
    assert_eq!(blocked.block_reason.as_deref(), Some("spam"));

    // Unlink: the identity gets a fresh account of the same role; never the last one.
    assert_eq!(
        store
            .unlink_identity("telegram", "502", StoredRole::Trader, now)
            .await
            .unwrap(),
        UnlinkOutcome::LastIdentity
    );
    let UnlinkOutcome::Unlinked { account: fresh } = store
        .unlink_identity("discord", "9001", StoredRole::Trader, now)
        .await
        .unwrap()
    else {
        panic!("unlinked");
    };
    assert_ne!(fresh, a.id);
    assert_eq!(store.identities(a.id).await.unwrap().len(), 1);
    assert_eq!(
        store.account(fresh).await.unwrap().unwrap().role,
        StoredRole::Trader
    );

    // Listing, by role, paged; admins' identities.
    store.set_role(fresh, StoredRole::Admin, None).await.unwrap();
    let (all, total) = store.list_accounts(None, 10, 0).await.unwrap();
    assert_eq!(total, all.len() as i64);
    assert!(total >= 3);
    let (admins, n) = store.list_accounts(Some(StoredRole::Admin), 10, 0).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(admins[0].identities[0].platform_user_id, "9001");
    let (page, _) = store.list_accounts(None, 1, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].account.id, all[1].account.id);
    assert_eq!(
        store.admin_identities().await.unwrap(),
        vec![("discord".to_string(), "9001".to_string())]
    );

    // Approval messages are kept per admin chat.
    store
        .save_approval_message(c_id, "telegram", "77", "10")
        .await
        .unwrap();
    store
        .save_approval_message(c_id, "telegram", "77", "11")
        .await
        .unwrap();
    store
        .save_approval_message(c_id, "discord", "555", "12")
        .await
        .unwrap();
    assert_eq!(
        store.approval_messages(c_id).await.unwrap(),
        vec![
            ("discord".into(), "555".into(), "12".into()),
            ("telegram".into(), "77".into(), "11".into())
        ]
    );

    // One approval message per admin chat, claimed once (a retried event, another
    // instance); a claim not yet sent is not listed.
    assert!(
        store
            .claim_approval_message(c_id, "telegram", "88")
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_approval_message(c_id, "telegram", "88")
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_approval_message(c_id, "telegram", "77")
            .await
            .unwrap()
    );
    assert_eq!(store.approval_messages(c_id).await.unwrap().len(), 2);
    store
        .save_approval_message(c_id, "telegram", "88", "13")
        .await
        .unwrap();
    assert_eq!(store.approval_messages(c_id).await.unwrap().len(), 3);

    // Usernames: stored, refreshed, matched without case before display names.
    let joe = Identity {
        username: Some("Trader_Joe".into()),
        ..ident("telegram", "601", Some("Alice"))
    };
    let (joe_account, _) = store.ensure_account(&joe, StoredRole::Trader).await.unwrap();
    let (other, _) = store
        .ensure_account(&ident("telegram", "602", Some("trader_joe")), StoredRole::Trader)
        .await
        .unwrap();
    assert_eq!(
        store.accounts_named("telegram", "@TRADER_joe").await.unwrap(),
        vec![joe_account.id]
    );
    assert_eq!(
        store.accounts_named("telegram", "alice").await.unwrap().len(),
        1,
        "the display name is the fallback"
    );
    // Seen again without a username (not sent this time): the stored one is kept.
    store
        .ensure_account(&ident("telegram", "601", Some("Alice")), StoredRole::Trader)
        .await
        .unwrap();
    let ids = store.identities(joe_account.id).await.unwrap();
    assert_eq!(ids[0].username.as_deref(), Some("Trader_Joe"));

    // Exchange keys make an account "not empty": two such accounts are not linked; the
    // keys are counted in listings and move with a link into an empty account.
    use chainsignal_core::store::NewExchangeKey;
    let key = |user_id: i64, label: &str| NewExchangeKey {
        user_id,
        exchange: "binance".into(),
        label: label.into(),
        api_key_mask: "abcd…wxyz".into(),
        api_key_sealed: "c2VhbGVk".into(),
        api_key_nonce: "bm9uY2U=".into(),
        secret_sealed: "c2VhbGVk".into(),
        secret_nonce: "bm9uY2U=".into(),
        key_version: 1,
        created_at: now,
    };
    assert!(!store.account_owns_data(other.id).await.unwrap());
    store.add_exchange_key(&key(joe_account.id, "a")).await.unwrap();
    store.add_exchange_key(&key(other.id, "b")).await.unwrap();
    assert!(store.account_owns_data(joe_account.id).await.unwrap());
    let t = now + Duration::minutes(40);
    store
        .create_link_code(joe_account.id, "hash-keys", t, t + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_link_code("telegram", "602", "hash-keys", t, policy)
            .await
            .unwrap(),
        LinkOutcome::BothOwnData
    );
    let (all, _) = store.list_accounts(None, 100, 0).await.unwrap();
    let keys_of = |id: i64| all.iter().find(|a| a.account.id == id).map(|a| a.keys);
    assert_eq!(keys_of(joe_account.id), Some(1));
    assert_eq!(keys_of(other.id), Some(1));
    assert!(store.remove_exchange_key(joe_account.id, "a").await.unwrap());
    // The refused code is used up; a new one. The account that owns the keys is the one
    // kept (sealed keys are bound to their account and would not open elsewhere), here
    // the redeemer's: joe's identity joins it.
    store
        .create_link_code(joe_account.id, "hash-keys-2", t, t + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_link_code("telegram", "602", "hash-keys-2", t, policy)
            .await
            .unwrap(),
        LinkOutcome::Linked { account: other.id }
    );
    assert_eq!(store.exchange_keys(other.id).await.unwrap().len(), 1);
    assert_eq!(store.identities(other.id).await.unwrap().len(), 2);
    assert!(store.account(joe_account.id).await.unwrap().is_none());

    // An admin's second identity unlinked in approval mode: a pending account, not a
    // second admin nobody approved.
    let (boss, _) = store
        .ensure_account(&ident("telegram", "700", None), StoredRole::Trader)
        .await
        .unwrap();
    store.set_role(boss.id, StoredRole::Admin, None).await.unwrap();
    store
        .ensure_account(&ident("discord", "701", None), StoredRole::Pending)
        .await
        .unwrap();
    let t = now + Duration::minutes(20);
    store
        .create_link_code(boss.id, "hash-boss", t, t + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_link_code("discord", "701", "hash-boss", t, policy)
            .await
            .unwrap(),
        LinkOutcome::Linked { account: boss.id }
    );
    let UnlinkOutcome::Unlinked { account: split } = store
        .unlink_identity("discord", "701", StoredRole::Pending, t)
        .await
        .unwrap()
    else {
        panic!("unlinked");
    };
    assert_eq!(
        store.account(split).await.unwrap().unwrap().role,
        StoredRole::Pending
    );

    // One code redeemed by two identities at the same moment: one link, one "used".
    for id in ["702", "703"] {
        store
            .ensure_account(&ident("discord", id, None), StoredRole::Trader)
            .await
            .unwrap();
    }
    store
        .create_link_code(boss.id, "hash-race", t, t + Duration::minutes(10))
        .await
        .unwrap();
    let (x, y) = tokio::join!(
        store.redeem_link_code("discord", "702", "hash-race", t, policy),
        store.redeem_link_code("discord", "703", "hash-race", t, policy),
    );
    let outcomes = [x.unwrap(), y.unwrap()];
    let linked = outcomes
        .iter()
        .filter(|o| matches!(o, LinkOutcome::Linked { .. }))
        .count();
    assert_eq!(linked, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().any(|o| matches!(
            o,
            LinkOutcome::Wrong {
                why: WrongCode::Used,
                ..
            }
        )),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn accounts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("acc.sqlite").display()));
    let store = store::open(&url, 4).await.unwrap();
    accounts_suite(&store).await;
}

#[tokio::test]
async fn accounts_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("accounts_on_postgres").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 4).await.unwrap();
    accounts_suite(&store).await;
    store.close().await;
    db.drop_db().await;
}

/// `/keys add` form links: stored by the token's hash, taken once (of racing claims one
/// wins), never after expiry, pruned once expired.
async fn key_forms_suite(store: &Store, t0: chrono::DateTime<Utc>) {
    use chainsignal_core::store::{NewKeyForm, key_form_hash};
    let user = store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: "form-user".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let form = |token: &str, expires_at| NewKeyForm {
        token_hash: key_form_hash(token),
        csrf: "c".repeat(32),
        user_id: user,
        platform: "telegram".into(),
        platform_user_id: "form-user".into(),
        platform_chat_id: "form-user".into(),
        exchange: "binance-testnet".into(),
        label: Some("main".into()),
        locale: "pl".into(),
        created_at: t0,
        expires_at,
    };
    let live = "1".repeat(64);
    let old = "2".repeat(64);
    store
        .create_key_form(&form(&live, t0 + Duration::minutes(10)))
        .await
        .unwrap();
    store
        .create_key_form(&form(&old, t0 - Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(key_form_hash(&live).len(), 64);
    assert_ne!(key_form_hash(&live), live);

    let row = store.key_form(&key_form_hash(&live)).await.unwrap().unwrap();
    assert_eq!(
        (
            row.user_id,
            row.exchange.as_str(),
            row.label.as_deref(),
            row.locale.as_str()
        ),
        (user, "binance-testnet", Some("main"), "pl")
    );
    assert!(row.used_at.is_none());
    assert!(
        !format!("{row:?}").contains(&row.csrf),
        "Debug leaves the CSRF value out"
    );
    assert!(store.key_form(&key_form_hash("nope")).await.unwrap().is_none());

    // Expired: never taken.
    assert!(
        store
            .claim_key_form(&key_form_hash(&old), t0)
            .await
            .unwrap()
            .is_none()
    );
    // Racing claims: exactly one wins, and the row says when it was used.
    let claims: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let hash = key_form_hash(&live);
            tokio::spawn(async move { store.claim_key_form(&hash, t0).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for claim in claims {
        won += usize::from(claim.await.unwrap().is_some());
    }
    assert_eq!(won, 1);
    let used = store.key_form(&key_form_hash(&live)).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(t0));
    assert!(
        store
            .claim_key_form(&key_form_hash(&live), t0)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        store.prune_key_forms(t0).await.unwrap(),
        1,
        "the expired one goes"
    );
    assert!(store.key_form(&key_form_hash(&old)).await.unwrap().is_none());
    assert!(store.key_form(&key_form_hash(&live)).await.unwrap().is_some());
}

/// Positions and orders: one order per client id, a filled order and its position in
/// one transaction, one position per Confirm token, one closer per position, the paper
/// ledger and its reset; amounts kept exactly as decimal text.
async fn positions_suite(store: &Store) {
    use chainsignal_core::store::{NewOrder, NewPosition, OpenRecorded, OrderFill, PositionClose};
    let t0 = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let alice = store
        .ensure_user(&ident("telegram", "pos-alice", None))
        .await
        .unwrap();
    let account = store.trading_account(alice, "10000", t0).await.unwrap();
    assert_eq!(
        (account.venue.as_str(), account.paper_epoch, account.live_allowed),
        ("paper", 1, false)
    );
    // A second call keeps the row as it is.
    assert_eq!(
        store
            .trading_account(alice, "999", t0)
            .await
            .unwrap()
            .paper_equity,
        "10000"
    );
    store.set_venue(alice, "testnet").await.unwrap();
    store.set_live_allowed(alice, true).await.unwrap();
    let account = store.trading_account(alice, "10000", t0).await.unwrap();
    assert_eq!((account.venue.as_str(), account.live_allowed), ("testnet", true));
    store.set_venue(alice, "paper").await.unwrap();

    // The order lease: one holder at a time; its holder renews it; it expires on its own;
    // only its holder gives it back.
    let minute = chrono::Duration::minutes(1);
    assert!(
        store
            .claim_order_lease(alice, "a", t0, t0 + minute)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_order_lease(alice, "b", t0, t0 + minute)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_order_lease(alice, "a", t0, t0 + minute * 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_order_lease(alice, "b", t0 + minute, t0 + minute * 3)
            .await
            .unwrap(),
        "renewed by its holder"
    );
    store.release_order_lease(alice, "b").await.unwrap();
    assert!(
        !store
            .claim_order_lease(alice, "b", t0, t0 + minute)
            .await
            .unwrap(),
        "only the holder gives it back"
    );
    // Expired: taken over, and the old holder can no longer renew it.
    let later = t0 + minute * 3;
    assert!(
        store
            .claim_order_lease(alice, "b", later, later + minute)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_order_lease(alice, "a", later, later + minute)
            .await
            .unwrap()
    );
    store.release_order_lease(alice, "b").await.unwrap();
    assert!(
        store
            .claim_order_lease(alice, "c", later, later + minute)
            .await
            .unwrap()
    );
    store.release_order_lease(alice, "c").await.unwrap();
    // An account without its row has no lease to take.
    assert!(
        !store
            .claim_order_lease(alice + 10_000, "a", t0, t0 + minute)
            .await
            .unwrap()
    );

    // Owner notices: queued, claimed by one sender, sent once; a failed one is due again
    // at its retry time; a claim left by a dead sender expires; given up is final.
    let n1 = store.queue_notice(alice, r#"{"n":1}"#, t0).await.unwrap();
    let n2 = store.queue_notice(alice, r#"{"n":2}"#, t0).await.unwrap();
    assert_eq!(store.pending_notices().await.unwrap(), 2);
    let claimed = store.claim_notices("s1", t0, t0 + minute, 10).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|n| (n.id, n.payload.as_str(), n.attempts))
            .collect::<Vec<_>>(),
        vec![(n1, r#"{"n":1}"#, 1), (n2, r#"{"n":2}"#, 1)],
        "oldest first, an attempt counted at the claim"
    );
    assert!(
        store
            .claim_notices("s2", t0, t0 + minute, 10)
            .await
            .unwrap()
            .is_empty(),
        "held by s1"
    );
    assert!(
        !store.notice_sent(n1, "s2", t0).await.unwrap(),
        "only its claimant marks it"
    );
    assert!(store.notice_sent(n1, "s1", t0).await.unwrap());
    assert!(!store.notice_sent(n1, "s1", t0).await.unwrap(), "sent once");
    store
        .notice_failed(n2, "s1", Some(t0 + minute * 5))
        .await
        .unwrap();
    assert!(
        store
            .claim_notices("s2", t0 + minute * 4, t0 + minute * 6, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_notices("s2", t0 + minute * 5, t0 + minute * 6, 10)
        .await
        .unwrap();
    assert_eq!((again.len(), again[0].id, again[0].attempts), (1, n2, 2));
    // s2 dies holding it: once its claim has expired, s3 takes it.
    assert!(
        store
            .claim_notices("s3", t0 + minute * 5, t0 + minute * 7, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let taken = store
        .claim_notices("s3", t0 + minute * 7, t0 + minute * 8, 10)
        .await
        .unwrap();
    assert_eq!((taken.len(), taken[0].id), (1, n2));
    assert!(
        !store.notice_sent(n2, "s2", t0 + minute * 7).await.unwrap(),
        "the dead claim is void"
    );
    store.notice_failed(n2, "s3", None).await.unwrap();
    assert_eq!(store.pending_notices().await.unwrap(), 0, "given up");
    assert!(
        store
            .claim_notices("s4", t0 + minute * 600, t0 + minute * 601, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.given_up_notices(t0).await.unwrap(), 1);
    assert_eq!(
        store.given_up_notices(t0 + minute).await.unwrap(),
        0,
        "queued before"
    );
    // The daily-limit notice: claimed for its day and queued together, once.
    let day = "2026-11-20";
    assert!(
        store
            .claim_and_queue_risk_notice(alice, day, "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_and_queue_risk_notice(alice, day, "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_and_queue_risk_notice(alice, day, "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert_eq!(store.pending_notices().await.unwrap(), 1, "queued once");
    let n3 = store.claim_notices("s5", t0, t0 + minute, 10).await.unwrap()[0].id;
    assert!(store.notice_sent(n3, "s5", t0).await.unwrap());
    // Pruned: sent ones queued before the first cut, given-up ones before the second.
    assert_eq!(
        store.prune_notices(t0, t0).await.unwrap(),
        0,
        "nothing queued before t0"
    );
    assert_eq!(
        store.prune_notices(t0 + minute, t0).await.unwrap(),
        2,
        "the two sent"
    );
    assert_eq!(
        store.prune_notices(t0 + minute, t0 + minute).await.unwrap(),
        1,
        "the given-up one"
    );

    let order = |cid: &str, purpose: &str, position_id: Option<i64>| NewOrder {
        user_id: alice,
        position_id,
        key_id: None,
        venue: "paper".into(),
        symbol: "BTCUSDT".into(),
        side: "BUY".into(),
        purpose: purpose.into(),
        client_order_id: cid.into(),
        quantity: "0.00123456789".into(),
        request: r#"{"symbol":"BTCUSDT"}"#.into(),
        created_at: t0,
    };
    let o1 = store
        .insert_order(&order("otoken1", "open", None))
        .await
        .unwrap()
        .unwrap();
    // The same client id again (a retry, a second instance): nothing new.
    assert_eq!(
        store.insert_order(&order("otoken1", "open", None)).await.unwrap(),
        None
    );
    let stored = store.order_by_client_id("otoken1").await.unwrap().unwrap();
    assert_eq!(
        (stored.id, stored.status.as_str(), stored.quantity.as_str()),
        (o1, "pending", "0.00123456789")
    );

    let fill = OrderFill {
        exchange_order_id: Some(77),
        executed_qty: "0.00123456789".into(),
        avg_price: "60012.123456789".into(),
        fee_usdt: "0.0740899".into(),
        response: r#"{"status":"FILLED"}"#.into(),
    };
    let position = |token: &str| NewPosition {
        user_id: alice,
        key_id: None,
        venue: "paper".into(),
        paper_epoch: 1,
        symbol: "BTCUSDT".into(),
        side: "long".into(),
        qty: "0.00123456789".into(),
        entry_price: "60012.123456789".into(),
        leverage: 1,
        sl: Some("59000".into()),
        tp: None,
        open_fee: "0.0740899".into(),
        opened_at: t0,
        open_token: token.into(),
    };
    let OpenRecorded::Opened(p1) = store
        .record_open(o1, &fill, &position("token1"), t0)
        .await
        .unwrap()
    else {
        panic!("first record opens");
    };
    assert_eq!(
        store
            .record_open(o1, &fill, &position("token1"), t0)
            .await
            .unwrap(),
        OpenRecorded::Existing(p1),
        "one position per token"
    );
    let filled = store.order_by_client_id("otoken1").await.unwrap().unwrap();
    assert_eq!(
        (
            filled.status.as_str(),
            filled.position_id,
            filled.exchange_order_id,
            filled.avg_price.as_deref()
        ),
        ("filled", Some(p1), Some(77), Some("60012.123456789"))
    );
    // A filled order is never marked failed afterwards.
    store
        .mark_order(o1, "failed", Some("late"), None, t0)
        .await
        .unwrap();
    assert_eq!(
        store.order_by_client_id("otoken1").await.unwrap().unwrap().status,
        "filled"
    );

    let row = store.position_by_token("token1").await.unwrap().unwrap();
    assert_eq!(
        (row.id, row.entry_price.as_str(), row.sl.as_deref()),
        (p1, "60012.123456789", Some("59000"))
    );
    assert_eq!(store.open_positions(alice, None).await.unwrap().len(), 1);
    assert_eq!(
        store.open_positions(alice, Some("testnet")).await.unwrap().len(),
        0
    );
    assert_eq!(store.all_open_positions().await.unwrap().len(), 1);
    assert_eq!(
        store.open_markets().await.unwrap(),
        vec![("paper".to_string(), "BTCUSDT".to_string())]
    );

    // One closer at a time; an expired claim can be taken over; only the holder closes.
    let until = t0 + Duration::seconds(60);
    let watched = store.monitor_positions(t0).await.unwrap();
    assert_eq!(
        watched
            .iter()
            .map(|p| (p.id, p.entry_price.as_str()))
            .collect::<Vec<_>>(),
        vec![(p1, "60012.123456789")]
    );
    assert!(store.claim_close(p1, "a", t0, until, false).await.unwrap());
    assert!(
        store.monitor_positions(t0).await.unwrap().is_empty(),
        "a claimed position is left out"
    );
    assert!(!store.claim_close(p1, "b", t0, until, false).await.unwrap());
    assert!(
        !store.claim_close(p1, "b", t0, until, true).await.unwrap(),
        "manual or not, one claim"
    );
    assert!(
        store
            .claim_close(
                p1,
                "b",
                until + Duration::seconds(1),
                until + Duration::seconds(61),
                false
            )
            .await
            .unwrap()
    );
    // A failed close gives the claim back and waits for its retry time.
    store
        .release_close(p1, "b", until + Duration::seconds(30), true)
        .await
        .unwrap();
    let later = until + Duration::seconds(2);
    assert!(
        !store
            .claim_close(p1, "c", later, later + Duration::seconds(60), false)
            .await
            .unwrap()
    );
    // A person's /close is not held back by the monitor's backoff; the claim renews
    // only for its holder.
    assert!(
        store
            .claim_close(p1, "m", later, later + Duration::seconds(1), true)
            .await
            .unwrap()
    );
    assert!(
        store
            .extend_claim(p1, "m", later + Duration::seconds(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend_claim(p1, "x", later + Duration::seconds(2))
            .await
            .unwrap()
    );
    store
        .release_close(p1, "m", until + Duration::seconds(30), true)
        .await
        .unwrap();
    let retry = until + Duration::seconds(31);
    assert!(
        store
            .claim_close(p1, "c", retry, retry + Duration::seconds(60), false)
            .await
            .unwrap()
    );
    let r = store.position(p1).await.unwrap().unwrap();
    assert_eq!(
        (r.close_attempts, r.failure_told, r.claimed_by.as_deref()),
        (2, true, Some("c"))
    );

    let close = PositionClose {
        status: "closed".into(),
        reason: "sl".into(),
        exit_price: "59000".into(),
        close_fee: "0.07283".into(),
        realized_pnl: "-1.39670123".into(),
        dust: None,
        closed_at: retry,
    };
    let o2 = store
        .insert_order(&order("c1", "close", Some(p1)))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store
            .record_close(p1, "a", &close, Some((o2, &fill)))
            .await
            .unwrap(),
        "not the holder"
    );
    assert!(
        store
            .record_close(p1, "c", &close, Some((o2, &fill)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_close(p1, "c", &close, Some((o2, &fill)))
            .await
            .unwrap(),
        "closed once"
    );
    let r = store.position(p1).await.unwrap().unwrap();
    assert_eq!(
        (r.status.as_str(), r.realized_pnl.as_deref()),
        ("closed", Some("-1.39670123"))
    );
    assert_eq!(
        store.order_by_client_id("c1").await.unwrap().unwrap().status,
        "filled"
    );
    assert!(store.all_open_positions().await.unwrap().is_empty());
    assert!(store.open_markets().await.unwrap().is_empty());
    assert_eq!(store.paper_ledger(alice, 1).await.unwrap().len(), 1);
    assert_eq!(store.closed_positions(alice, 10).await.unwrap().len(), 1);
    assert_eq!(store.orders_of(alice, 10).await.unwrap().len(), 2);

    // An unknown order waits for the reconciler; reset starts a new paper run.
    let o3 = store
        .insert_order(&order("otoken3", "open", None))
        .await
        .unwrap()
        .unwrap();
    store
        .mark_order(o3, "unknown", Some("timeout"), None, t0)
        .await
        .unwrap();
    let waiting = store
        .orders_in_status("unknown", "open", t0 + Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(waiting.iter().map(|o| o.id).collect::<Vec<_>>(), vec![o3]);
    let o4 = store
        .insert_order(&order("otoken4", "open", None))
        .await
        .unwrap()
        .unwrap();
    let OpenRecorded::Opened(p4) = store
        .record_open(o4, &fill, &position("token4"), t0)
        .await
        .unwrap()
    else {
        panic!("opens");
    };
    assert_eq!(store.reset_paper(alice, "5000", t0).await.unwrap(), 2);
    assert_eq!(store.position(p4).await.unwrap().unwrap().status, "reset");
    let account = store.trading_account(alice, "10000", t0).await.unwrap();
    assert_eq!((account.paper_epoch, account.paper_equity.as_str()), (2, "5000"));
    assert!(store.paper_ledger(alice, 2).await.unwrap().is_empty());
    // Positions count as data an account owns (linking never merges two such).
    assert!(store.account_owns_data(alice).await.unwrap());

    // What /admin risk-compare reads: realized PnL per account, refused opens.
    let realized = store.realized_since_all(t0).await.unwrap();
    assert_eq!(
        realized
            .iter()
            .map(|(u, pnl, _)| (*u, pnl.clone()))
            .collect::<Vec<_>>(),
        vec![(alice, Some("-1.39670123".to_string()))]
    );
    assert!(
        store
            .realized_since_all(retry + Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    for detail in [Some("risk_refused"), Some("risk_refused"), None] {
        store
            .record_audit(&AuditEntry {
                at: t0,
                platform: "telegram".into(),
                platform_user_id: "pos-alice".into(),
                platform_chat_id: "1".into(),
                command: "open".into(),
                args: "BTCUSDT long 1".into(),
                outcome: Outcome::UserError,
                detail: detail.map(str::to_string),
                duration_ms: 1,
                account_id: Some(alice),
                request_id: None,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.refused_opens_since(t0).await.unwrap(), vec![(alice, 2)]);
    // The daily-limit notice is claimed once per account and day.
    assert!(
        store
            .claim_and_queue_risk_notice(alice, "2026-11-24", "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_and_queue_risk_notice(alice, "2026-11-24", "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_and_queue_risk_notice(alice, "2026-11-25", "daily_limit", "{}", t0)
            .await
            .unwrap()
    );
    assert_eq!(
        store.trading_accounts_active_since(t0).await.unwrap(),
        vec![alice]
    );
    assert_eq!(store.open_position_count(Some(alice)).await.unwrap(), 0);
    assert_eq!(store.closed_since(alice, "paper", t0).await.unwrap().len(), 1);

    // A close that filled in part: the position stays open with the rest (same id, its
    // share of the open fee, its claim given back, its retry backoff cleared) and the sold
    // part is a closed row of its own linked to it; all of it or nothing, by the claim's
    // holder only, once.
    {
        use chainsignal_core::store::{
            NewOrder, NewPosition, OpenRecorded, OrderFill, PositionClose, PositionSplit,
        };
        let bob = store
            .ensure_user(&ident("telegram", "pos-bob", None))
            .await
            .unwrap();
        store.trading_account(bob, "10000", t0).await.unwrap();
        let order = |cid: &str, purpose: &str, position_id: Option<i64>| NewOrder {
            user_id: bob,
            position_id,
            key_id: Some(7),
            venue: "testnet".into(),
            symbol: "BTCUSDT".into(),
            side: if purpose == "open" { "BUY" } else { "SELL" }.into(),
            purpose: purpose.into(),
            client_order_id: cid.into(),
            quantity: "1".into(),
            request: "{}".into(),
            created_at: t0,
        };
        let open_fill = OrderFill {
            exchange_order_id: Some(1),
            executed_qty: "1".into(),
            avg_price: "60010".into(),
            fee_usdt: "60.01".into(),
            response: r#"{"status":"FILLED"}"#.into(),
        };
        let token = "0123456789abcdef0123456789abcdef";
        let o = store
            .insert_order(&order("obob", "open", None))
            .await
            .unwrap()
            .unwrap();
        let OpenRecorded::Opened(p) = store
            .record_open(
                o,
                &open_fill,
                &NewPosition {
                    user_id: bob,
                    key_id: Some(7),
                    venue: "testnet".into(),
                    paper_epoch: 0,
                    symbol: "BTCUSDT".into(),
                    side: "long".into(),
                    qty: "1".into(),
                    entry_price: "60010".into(),
                    leverage: 1,
                    sl: Some("59500".into()),
                    tp: Some("61000".into()),
                    open_fee: "60.01".into(),
                    opened_at: t0,
                    open_token: token.into(),
                },
                t0,
            )
            .await
            .unwrap()
        else {
            panic!("opens");
        };
        // An earlier close failed (told, backing off); a person's close holds the claim now.
        let minute = Duration::minutes(1);
        assert!(store.claim_close(p, "m1", t0, t0 + minute, false).await.unwrap());
        store.release_close(p, "m1", t0 + minute * 5, true).await.unwrap();
        assert!(store.claim_close(p, "m2", t0, t0 + minute, true).await.unwrap());
        let c = store
            .insert_order(&order("cbob-0", "close", Some(p)))
            .await
            .unwrap()
            .unwrap();
        let close_fill = OrderFill {
            exchange_order_id: Some(2),
            executed_qty: "0.6".into(),
            avg_price: "61000".into(),
            fee_usdt: "36.6".into(),
            response: r#"{"status":"EXPIRED"}"#.into(),
        };
        let closed_at = t0 + Duration::seconds(30);
        let split = |sold_token: &str, expected_qty: &str| PositionSplit {
            expected_qty: expected_qty.into(),
            expected_open_fee: "60.01".into(),
            rest_qty: "0.4".into(),
            rest_open_fee: "24.004".into(),
            sold_qty: "0.6".into(),
            sold_open_fee: "36.006".into(),
            sold_token: sold_token.into(),
            close: PositionClose {
                status: "closed".into(),
                reason: "manual".into(),
                exit_price: "61000".into(),
                close_fee: "36.6".into(),
                realized_pnl: "521.394".into(),
                dust: None,
                closed_at,
            },
            next_attempt_at: None,
        };
        let untouched = |store: &Store| {
            let store = store.clone();
            async move {
                let r = store.position(p).await.unwrap().unwrap();
                assert_eq!(
                    (
                        r.status.as_str(),
                        r.qty.as_str(),
                        r.open_fee.as_str(),
                        r.claimed_by.as_deref(),
                        r.close_attempts
                    ),
                    ("open", "1", "60.01", Some("m2"), 1)
                );
                assert!(store.closed_positions(bob, 10).await.unwrap().is_empty());
                assert_eq!(store.close_orders(p).await.unwrap()[0].status, "pending");
            }
        };
        let fresh = "fedcba9876543210fedcba9876543210";
        // Not the claim's holder, or the position no longer as read: nothing written.
        assert_eq!(
            store
                .record_partial_close(p, "m1", &split(fresh, "1"), (c, &close_fill))
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .record_partial_close(p, "m2", &split(fresh, "0.9"), (c, &close_fill))
                .await
                .unwrap(),
            None
        );
        untouched(store).await;
        // The sold part's row cannot be written (its token is taken): the position is not
        // changed either, nor the order.
        assert!(
            store
                .record_partial_close(p, "m2", &split(token, "1"), (c, &close_fill))
                .await
                .is_err()
        );
        untouched(store).await;

        let sold = store
            .record_partial_close(p, "m2", &split(fresh, "1"), (c, &close_fill))
            .await
            .unwrap()
            .expect("written");
        let rest = store.position(p).await.unwrap().unwrap();
        assert_eq!(
            (
                rest.status.as_str(),
                rest.qty.as_str(),
                rest.open_fee.as_str(),
                rest.open_token.as_str(),
                rest.split_from
            ),
            ("open", "0.4", "24.004", token, None)
        );
        assert_eq!(
            (
                rest.claimed_by.as_deref(),
                rest.claim_until,
                rest.close_attempts,
                rest.next_attempt_at,
                rest.failure_told
            ),
            (None, None, 0, None, false),
            "claim given back, backoff cleared"
        );
        let row = store.position(sold).await.unwrap().unwrap();
        assert_eq!(
            (
                row.status.as_str(),
                row.qty.as_str(),
                row.open_fee.as_str(),
                row.open_token.as_str(),
                row.split_from
            ),
            ("closed", "0.6", "36.006", fresh, Some(p))
        );
        // /admin risk-compare counts the part as a trade of the position it was part of.
        let parts: Vec<i64> = store
            .realized_since_all(closed_at)
            .await
            .unwrap()
            .into_iter()
            .filter(|(u, _, _)| *u == row.user_id)
            .map(|(_, _, trade)| trade)
            .collect();
        assert_eq!(parts, vec![p]);
        assert_eq!(
            (
                row.close_reason.as_deref(),
                row.exit_price.as_deref(),
                row.close_fee.as_deref(),
                row.realized_pnl.as_deref(),
                row.dust.as_deref(),
                row.closed_at
            ),
            (
                Some("manual"),
                Some("61000"),
                Some("36.6"),
                Some("521.394"),
                None,
                Some(closed_at)
            )
        );
        // Everything else is the position's.
        assert_eq!(
            (
                row.user_id,
                row.venue.as_str(),
                row.paper_epoch,
                row.symbol.as_str(),
                row.side.as_str(),
                row.entry_price.as_str(),
                row.leverage,
                row.sl.as_deref(),
                row.tp.as_deref(),
                row.key_id,
                row.opened_at
            ),
            (
                bob,
                "testnet",
                0,
                "BTCUSDT",
                "long",
                "60010",
                1,
                Some("59500"),
                Some("61000"),
                Some(7),
                t0
            )
        );
        assert_eq!((row.claimed_by, row.close_attempts), (None, 0));
        // The closing order is filled and stays the position's (attempt numbering goes on).
        let orders = store.close_orders(p).await.unwrap();
        assert_eq!(
            orders
                .iter()
                .map(|o| (o.id, o.status.as_str(), o.position_id, o.executed_qty.as_deref()))
                .collect::<Vec<_>>(),
            vec![(c, "filled", Some(p), Some("0.6"))]
        );
        assert!(store.close_orders(sold).await.unwrap().is_empty());
        // Once: the claim was given back.
        assert_eq!(
            store
                .record_partial_close(
                    p,
                    "m2",
                    &split("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1"),
                    (c, &close_fill)
                )
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            store
                .open_positions(bob, None)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.id, r.qty.as_str()))
                .collect::<Vec<_>>(),
            vec![(p, "0.4")]
        );
        assert_eq!(
            store
                .closed_positions(bob, 10)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            vec![sold]
        );
        assert_eq!(store.closed_since(bob, "testnet", t0).await.unwrap().len(), 1);
        // The monitor sees the rest at once.
        assert!(
            store
                .monitor_positions(closed_at)
                .await
                .unwrap()
                .iter()
                .any(|m| m.id == p && m.qty == "0.4")
        );
    }
}

#[tokio::test]
async fn positions_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("pos.sqlite").display()));
    let store = store::open(&url, 4).await.unwrap();
    positions_suite(&store).await;
}

#[tokio::test]
async fn positions_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("positions_on_postgres").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 4).await.unwrap();
    positions_suite(&store).await;
    store.close().await;
    db.drop_db().await;
}

/// Two senders claim owner notices at the same moment, one at a time each, as the bot's
/// senders do: every notice is claimed exactly once.
async fn notices_claimed_once_by_concurrent_senders(store: &Store) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let user = store
        .ensure_user(&ident("telegram", "notice-race", None))
        .await
        .unwrap();
    let mut queued = Vec::new();
    for n in 0..60 {
        queued.push(
            store
                .queue_notice(user, &format!("{{\"n\":{n}}}"), t0)
                .await
                .unwrap(),
        );
    }
    let until = t0 + chrono::Duration::minutes(1);
    let sender = |by: &'static str| {
        let store = store.clone();
        async move {
            let mut got = Vec::new();
            while let Some(n) = store.claim_notices(by, t0, until, 1).await.unwrap().pop() {
                got.push(n.id);
                tokio::task::yield_now().await;
            }
            got
        }
    };
    let (a, b, c) = tokio::join!(
        tokio::spawn(sender("a")),
        tokio::spawn(sender("b")),
        tokio::spawn(sender("c"))
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let mut all: Vec<i64> = a.iter().chain(&b).chain(&c).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        queued,
        "each once: a {} b {} c {}",
        a.len(),
        b.len(),
        c.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_claimed_once_by_concurrent_senders_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("n.sqlite").display()));
    let store = store::open(&url, 4).await.unwrap();
    notices_claimed_once_by_concurrent_senders(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_claimed_once_by_concurrent_senders_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("notices_concurrent").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 8).await.unwrap();
    notices_claimed_once_by_concurrent_senders(&store).await;
    store.close().await;
    db.drop_db().await;
}
