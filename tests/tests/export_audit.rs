//! `chainsignal export audit [--since AGE|DATE] [--output FILE]` with the real binary, on
//! SQLite and PostgreSQL: every row as CSV, oldest first, filtered by age or date.

use chainsignal_core::store::{self, AuditEntry, Outcome};
use chainsignal_tests::chainsignal_bin;
use chrono::{Duration, Utc};
use secrecy::SecretString;
use std::path::Path;
use std::process::Stdio;

async fn cli(dir: &Path, database_url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(chainsignal_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("CHAINSIGNAL_MARKET__SOURCE", "demo")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap()
}

async fn exports_by_age_and_date(url: &str) {
    let store = store::open(&SecretString::from(url.to_string()), 2)
        .await
        .unwrap();
    let now = Utc::now();
    for (age_hours, command, args) in [(72, "report", "btc"), (2, "keys", "secret=***"), (0, "help", "")] {
        store
            .record_audit(&AuditEntry {
                at: now - Duration::hours(age_hours),
                platform: "telegram".into(),
                platform_user_id: "42".into(),
                platform_chat_id: "42".into(),
                command: command.into(),
                args: args.into(),
                outcome: Outcome::Ok,
                detail: None,
                duration_ms: 7,
                account_id: Some(1),
                request_id: Some(format!("upd-{command}")),
            })
            .await
            .unwrap();
    }
    store.close().await;
    let dir = tempfile::tempdir().unwrap();

    let out = cli(dir.path(), url, &["export", "audit"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert_eq!(
        lines[0],
        "id,at,account_id,platform,platform_user_id,platform_chat_id,command,args,outcome,detail,duration_ms,request_id"
    );
    assert!(lines[1].contains(",report,btc,ok,"), "oldest first: {csv}");
    assert!(
        lines[2].contains("secret=***") && lines[2].ends_with(",upd-keys"),
        "{csv}"
    );

    let out = cli(dir.path(), url, &["export", "audit", "--since", "24h"]).await;
    let csv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(!csv.contains(",report,"), "{csv}");

    let since = (now - Duration::hours(1)).to_rfc3339();
    let file = dir.path().join("audit.csv");
    let out = cli(
        dir.path(),
        url,
        &[
            "export",
            "audit",
            "--since",
            &since,
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 audit rows written to"));
    let csv = std::fs::read_to_string(&file).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains(",help,"), "{csv}");

    let out = cli(dir.path(), url, &["export", "audit", "--since", "soon"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("24h"));
}

#[tokio::test]
async fn export_audit_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.sqlite").display());
    exports_by_age_and_date(&url).await;
}

#[tokio::test]
async fn export_audit_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("export_audit_on_postgres").await else {
        return;
    };
    exports_by_age_and_date(&db.url).await;
    db.drop_db().await;
}
