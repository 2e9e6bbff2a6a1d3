//! `chainsignal admin users|role|block`: the real binary on the database directly, for
//! the first admin and for recovery without a chat (issue 13, item 6).

use chainsignal_core::store::{self, Identity, StoredRole};
use chainsignal_tests::chainsignal_bin;
use secrecy::SecretString;
use std::path::Path;
use std::process::Output;

async fn chainsignal(dir: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(chainsignal_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url(dir))
        .output()
        .await
        .expect("run chainsignal")
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("acc.sqlite").display())
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn operators_list_accounts_give_roles_and_block_without_a_chat() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chainsignal.toml"), "[admins]\ntelegram = [77]\n").unwrap();

    // The first admin, named before they ever wrote to the bot.
    let out = chainsignal(dir.path(), &["admin", "role", "discord:9001", "admin"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("is now admin"), "{}", stdout(&out));

    // Someone seen by the bot (an account of the database), then blocked.
    let store = store::open(&SecretString::from(db_url(dir.path())), 2)
        .await
        .unwrap();
    let seen = Identity {
        platform: "telegram".into(),
        platform_user_id: "501".into(),
        display_name: Some("Mallory".into()),
        username: None,
    };
    let (mallory, _) = store.ensure_account(&seen, StoredRole::Trader).await.unwrap();
    let owner = Identity {
        platform: "telegram".into(),
        platform_user_id: "77".into(),
        display_name: Some("Olga".into()),
        username: None,
    };
    store.ensure_account(&owner, StoredRole::Trader).await.unwrap();
    store.close().await;

    let out = chainsignal(
        dir.path(),
        &["admin", "block", "telegram:501", "--reason", "spam"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("#{} is now blocked", mallory.id)));

    let out = chainsignal(dir.path(), &["admin", "users"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(list.contains("\tadmin\tdiscord:9001\t"), "{list}");
    assert!(list.contains("\tblocked\ttelegram:501\tMallory\t"), "{list}");
    assert!(list.contains("\towner\ttelegram:77\tOlga\t"), "{list}");
    let out = chainsignal(dir.path(), &["admin", "users", "--role", "blocked"]).await;
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));

    // By account number; recovery: unblocked with a role.
    let out = chainsignal(
        dir.path(),
        &["admin", "role", &format!("#{}", mallory.id), "viewer"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    // Owners come from the config: not changed here. Bad input is a clear error.
    let out = chainsignal(dir.path(), &["admin", "block", "telegram:77"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is an owner"), "{}", stderr(&out));
    let out = chainsignal(dir.path(), &["admin", "role", "telegram:501", "owner"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a role"), "{}", stderr(&out));
    let out = chainsignal(dir.path(), &["admin", "role", "irc:5", "trader"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("telegram:ID"), "{}", stderr(&out));
    let out = chainsignal(dir.path(), &["admin", "role", "#999", "trader"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no account #999"), "{}", stderr(&out));

    let store = store::open(&SecretString::from(db_url(dir.path())), 2)
        .await
        .unwrap();
    let m = store.account(mallory.id).await.unwrap().unwrap();
    assert_eq!(m.role, StoredRole::Viewer);
    let a = store
        .account_by_identity("discord", "9001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.role, StoredRole::Admin);
    store.close().await;
}
