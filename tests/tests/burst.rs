//! Many users at once (issue 11, item 1): one `getUpdates` answer carrying 500 messages
//! from 500 users, served to the real teloxide client; every user and every audit row
//! must be stored, on SQLite and on PostgreSQL.

use chainsignal::app::App;
use chainsignal::shutdown;
use chainsignal::telegram;
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_telegram::{FakeTelegram, IncomingMessage};
use secrecy::SecretString;
use std::collections::HashSet;
use std::time::Duration;

const USERS: i64 = 500;
/// Generous: the bot sends at most 30 messages a second (Telegram's limit), so the 500
/// answers alone take about 17 s.
const WAIT: Duration = Duration::from_secs(180);

/// Runs the burst against a bot on `url` until every user has an answer; returns the app.
async fn burst(url: SecretString) -> App {
    let fake = FakeTelegram::start().await;
    fake.serve_batches_of(USERS as usize);
    let mut config = Config::default();
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, stopped) = shutdown::channel();
    let started = telegram::start(&app, stopped).unwrap().expect("a token is set");
    // After the bot's first getUpdates (so that nothing is dropped as "pending").
    fake.wait_for_calls("getupdates", 1, WAIT).await;
    let messages: Vec<IncomingMessage> = (1..=USERS)
        .map(|u| IncomingMessage::private(1_000 + u, "/help").from_user(1_000 + u, &format!("User {u}")))
        .collect();
    fake.push_messages(&messages);
    let sent = fake.wait_for_calls("sendmessage", USERS as usize, WAIT).await;
    let chats: HashSet<i64> = sent.iter().filter_map(|c| c.chat_id()).collect();
    assert_eq!(chats.len(), USERS as usize, "every user got an answer");
    trigger.trigger();
    tokio::time::timeout(WAIT, started.task)
        .await
        .expect("telegram stops")
        .unwrap();
    app
}

async fn assert_everyone_stored(app: &App, users_stored: i64) {
    assert_eq!(users_stored, USERS, "every user is stored");
    let audit = app.store.recent_audit(10 * USERS).await.unwrap();
    let audited: HashSet<&str> = audit
        .iter()
        .filter(|a| a.platform == "telegram" && a.command == "help")
        .map(|a| a.platform_user_id.as_str())
        .collect();
    for u in 1..=USERS {
        let id = (1_000 + u).to_string();
        assert!(audited.contains(id.as_str()), "no audit row for user {id}");
    }
    assert_eq!(audit.len(), USERS as usize, "one audit row per message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_users_in_one_update_batch_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("burst.sqlite");
    let app = burst(SecretString::from(format!("sqlite://{}", db.display()))).await;
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_identities WHERE platform = 'telegram'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (chats,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM chats WHERE platform = 'telegram'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(chats, USERS, "every chat is stored");
    assert_everyone_stored(&app, users).await;
    pool.close().await;
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_users_in_one_update_batch_postgres() {
    let Some(pg) = TempPostgres::create("five_hundred_users_in_one_update_batch_postgres").await else {
        return;
    };
    let app = burst(SecretString::from(pg.url.clone())).await;
    let pool = sqlx::PgPool::connect(&pg.url).await.unwrap();
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM user_identities WHERE platform = 'telegram'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (chats,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM chats WHERE platform = 'telegram'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(chats, USERS, "every chat is stored");
    assert_everyone_stored(&app, users).await;
    pool.close().await;
    app.store.close().await;
    pg.drop_db().await;
}
