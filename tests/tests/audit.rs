//! The audit log and broadcasts in storage, on SQLite and PostgreSQL: an account's audit
//! follows its identities as linked now, filters, the CSV export, append-only rows
//! (no store method changes one, and the database refuses UPDATE / DELETE), and the
//! broadcast queue the scheduler fans out.

use chainsignal_core::export::audit_csv;
use chainsignal_core::store::{self, AuditEntry, AuditFilter, ChatKey, Identity, Outcome, Store};
use chrono::{Duration, TimeZone, Utc};
use secrecy::SecretString;

fn entry(
    platform: &str,
    user: &str,
    command: &str,
    at: chrono::DateTime<Utc>,
    outcome: Outcome,
) -> AuditEntry {
    AuditEntry {
        at,
        platform: platform.into(),
        platform_user_id: user.into(),
        platform_chat_id: format!("chat-{user}"),
        command: command.into(),
        args: "key=***".into(),
        outcome,
        detail: None,
        duration_ms: 3,
        account_id: None,
        request_id: Some(format!("req-{command}")),
    }
}

fn identity(platform: &str, id: &str) -> Identity {
    Identity {
        platform: platform.into(),
        platform_user_id: id.into(),
        display_name: None,
        username: None,
    }
}

/// Runs raw SQL on the same database (what linking will do, and what the application
/// must never do to audit rows).
enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Raw {
    async fn connect(url: &str) -> Self {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap())
        } else {
            Raw::Pg(sqlx::PgConnection::connect(url).await.unwrap())
        }
    }

    async fn exec(&mut self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match self {
            Raw::Sqlite(c) => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()),
            Raw::Pg(c) => sqlx::query(sql).execute(c).await.map(|r| r.rows_affected()),
        }
    }
}

async fn suite(store: Store, url: &str) {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
    let tg = store.ensure_user(&identity("telegram", "111")).await.unwrap();
    let dc = store.ensure_user(&identity("discord", "222")).await.unwrap();
    assert_ne!(tg, dc);
    assert_eq!(store.account_of("telegram", "111").await.unwrap(), Some(tg));
    assert_eq!(store.account_of("telegram", "nobody").await.unwrap(), None);
    let mut e = entry("telegram", "111", "report", t0, Outcome::Ok);
    e.account_id = Some(tg);
    store.record_audit(&e).await.unwrap();
    store
        .record_audit(&entry(
            "discord",
            "222",
            "summary",
            t0 + Duration::minutes(1),
            Outcome::Denied,
        ))
        .await
        .unwrap();
    store
        .record_audit(&entry(
            "telegram",
            "333",
            "help",
            t0 + Duration::minutes(2),
            Outcome::Ok,
        ))
        .await
        .unwrap();

    let own = store.account_audit(tg, 20).await.unwrap();
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].account_id, Some(tg));
    assert_eq!(own[0].request_id.as_deref(), Some("req-report"));

    // Linking (done by the accounts work) moves the Discord identity to the Telegram
    // account: its older rows now belong to the account, through the join.
    let mut raw = Raw::connect(url).await;
    let moved = raw
        .exec("UPDATE user_identities SET user_id = (SELECT user_id FROM user_identities WHERE platform = 'telegram' AND platform_user_id = '111') WHERE platform = 'discord' AND platform_user_id = '222'")
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let own = store.account_audit(tg, 20).await.unwrap();
    let seen: Vec<(&str, &str)> = own
        .iter()
        .map(|r| (r.platform.as_str(), r.command.as_str()))
        .collect();
    assert_eq!(
        seen,
        [("discord", "summary"), ("telegram", "report")],
        "newest first"
    );

    // Filters: account, command, since, limit.
    let all = |f: AuditFilter| {
        let store = store.clone();
        async move { store.search_audit(&f).await.unwrap() }
    };
    assert_eq!(
        all(AuditFilter {
            limit: 20,
            ..Default::default()
        })
        .await
        .len(),
        3
    );
    assert_eq!(
        all(AuditFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    let by_account = all(AuditFilter {
        account_id: Some(tg),
        limit: 20,
        ..Default::default()
    })
    .await;
    assert_eq!(by_account.len(), 2);
    let by_command = all(AuditFilter {
        command: Some("help".into()),
        limit: 20,
        ..Default::default()
    })
    .await;
    assert_eq!(by_command.len(), 1);
    assert_eq!(by_command[0].platform_user_id, "333");
    let account_and_command = all(AuditFilter {
        account_id: Some(tg),
        command: Some("summary".into()),
        limit: 20,
        ..Default::default()
    })
    .await;
    assert_eq!(account_and_command.len(), 1);
    let recent = all(AuditFilter {
        since: Some(t0 + Duration::seconds(90)),
        limit: 20,
        ..Default::default()
    })
    .await;
    assert_eq!(recent.len(), 1);

    // Export: oldest first; CSV with a header, no secret in clear.
    let rows = store.audit_since(Some(t0 + Duration::seconds(30))).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].command, "summary");
    let csv = audit_csv(&store.audit_since(None).await.unwrap());
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("id,at,account_id,platform,"));
    assert!(csv.contains("key=***"));

    // Append-only: pruning (the only clean-up) leaves audit rows alone, and the
    // database refuses to change or delete one.
    store
        .prune_commands_state(Utc::now() + Duration::days(365))
        .await
        .unwrap();
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 3);
    assert!(raw.exec("UPDATE audit_log SET outcome = 'ok'").await.is_err());
    assert!(raw.exec("DELETE FROM audit_log").await.is_err());
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 3);
    assert_eq!(store.recent_audit(100).await.unwrap()[1].outcome, "denied");

    // Broadcasts: queued, open until their run is done; targets counted once each.
    for (chat, kind) in [("-1", "reports"), ("-1", "alerts"), ("-2", "alerts")] {
        let key = ChatKey {
            platform: "telegram".into(),
            platform_chat_id: chat.into(),
        };
        store.subscribe(&key, kind).await.unwrap();
    }
    let targets = store.all_targets().await.unwrap();
    assert_eq!(targets.len(), 2, "{targets:?}");
    let now = Utc::now();
    let id = store
        .create_broadcast("Maintenance at 22:00", "telegram:111", now)
        .await
        .unwrap();
    let open = store.open_broadcasts(now - Duration::days(1)).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].text, "Maintenance at 22:00");
    assert!(
        store
            .open_broadcasts(now + Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    let name = format!("broadcast:{id}");
    let epoch = chrono::DateTime::<Utc>::UNIX_EPOCH;
    assert!(
        store
            .claim_run(&name, epoch, "a", now, now + Duration::minutes(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_run(&name, epoch, "b", now, now + Duration::minutes(2))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .open_broadcasts(now - Duration::days(1))
            .await
            .unwrap()
            .len(),
        1
    );
    store.finish_run(&name, epoch).await.unwrap();
    assert!(
        store
            .open_broadcasts(now - Duration::days(1))
            .await
            .unwrap()
            .is_empty(),
        "a done run closes its broadcast even before it is marked finished"
    );
    store.finish_broadcast(id, now).await.unwrap();

    assert!(store.size_bytes().await.unwrap() > 0);
}

#[tokio::test]
async fn audit_and_broadcasts_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.sqlite").display());
    let store = store::open(&SecretString::from(url.clone()), 4).await.unwrap();
    suite(store.clone(), &url).await;
    store.close().await;
}

#[tokio::test]
async fn audit_and_broadcasts_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("audit_and_broadcasts_on_postgres").await else {
        return;
    };
    let store = store::open(&SecretString::from(db.url.clone()), 4).await.unwrap();
    suite(store.clone(), &db.url).await;
    // TRUNCATE is refused too on PostgreSQL.
    let mut raw = Raw::connect(&db.url).await;
    assert!(raw.exec("TRUNCATE audit_log").await.is_err());
    drop(raw);
    store.close().await;
    db.drop_db().await;
}
