//! Private input end to end (issue 12 item 4, issue 14's `/keys add`): the real serenity
//! and teloxide against the fakes, the real commands, the vault, SQLite. The whole
//! process logs at TRACE through Chainsignal's own logging setup into a buffer, and
//! every test searches that log, every request the bot made (its replies) and the
//! database files for the secrets: none may appear anywhere, the API key only masked.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::{discord, telegram};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{Identity, Store};
use chainsignal_tests::fake_binance::FakeBinance;
use chainsignal_tests::fake_discord::{FakeDiscord, Interaction, TOKEN, USER_ID};
use chainsignal_tests::fake_telegram::{Failure, FakeTelegram, IncomingMessage};
use chainsignal_tests::trace_log::{assert_not_logged, log, log_text};
use chainsignal_tests::{TEST_VAULT_KEY, sqlite_files_contain};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const FLAG_EPHEMERAL: u64 = 64;

// ============================ the log, at TRACE ============================

// ============================ helpers ============================

/// The fake spot testnet and live exchange the keys are checked on.
struct Exchanges {
    testnet: FakeBinance,
    live: FakeBinance,
}

impl Exchanges {
    async fn start() -> Self {
        Self {
            testnet: FakeBinance::start_testnet().await,
            live: FakeBinance::start().await,
        }
    }
}

fn config_with_vault(dir: &std::path::Path, exchanges: &Exchanges) -> (Config, PathBuf) {
    let mut config = Config::default();
    config.secrets.vault_keys = vec![(1, SecretString::from(TEST_VAULT_KEY))];
    config.market.binance_testnet_url = exchanges.testnet.url();
    config.market.binance_url = exchanges.live.url();
    config.market.backoff_ms = 1;
    (config, dir.join("keys.sqlite"))
}

async fn build(config: Config, db: &std::path::Path) -> App {
    let url = SecretString::from(format!("sqlite://{}", db.display()));
    App::build(config, Some(Source::Demo), Some(url)).await.unwrap()
}

async fn keys_of(store: &Store, platform: &str, id: &str) -> Vec<chainsignal_core::store::ExchangeKeyRecord> {
    let user = store
        .ensure_user(&Identity {
            platform: platform.into(),
            platform_user_id: id.into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    store.exchange_keys(user).await.unwrap()
}

// ============================ Discord ============================

struct DiscordBot {
    app: App,
    started: discord::Started,
    trigger: ShutdownTrigger,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

async fn discord_bot(fake: &FakeDiscord, exchanges: &Exchanges) -> DiscordBot {
    log();
    let dir = tempfile::tempdir().unwrap();
    let (mut config, db) = config_with_vault(dir.path(), exchanges);
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    let app = build(config, &db).await;
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
    DiscordBot {
        app,
        started,
        trigger,
        db,
        _dir: dir,
    }
}

fn text_of(m: &Value) -> String {
    let mut out = m["content"].as_str().unwrap_or_default().to_string();
    for e in m["embeds"].as_array().into_iter().flatten() {
        for k in ["title", "description"] {
            out.push('\n');
            out.push_str(e[k].as_str().unwrap_or_default());
        }
    }
    out.replace('\\', "")
}

fn shown(m: &Value) -> bool {
    !text_of(m).trim().is_empty()
}

/// `/keys add exchange:binance-testnet` opens a modal as the first response (API key,
/// secret, label); the submission reaches the handler, which stores the key sealed and
/// answers ephemerally with the mask; the same submission again stores nothing twice.
/// The secret is in no log line at TRACE, no request the bot made, no database byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_modal_reaches_the_handler_and_the_secret_goes_nowhere() {
    const API_KEY: &str = "APIKEYdiscord00000000001234wxyz";
    const SECRET: &str = "SECRETdiscordRecognisable0000000042";
    let fake = FakeDiscord::start().await;
    let exchanges = Exchanges::start().await;
    exchanges.testnet.add_key(API_KEY, SECRET);
    let bot = discord_bot(&fake, &exchanges).await;
    fake.wait_ready(WAIT).await;

    // Secrets are never slash options.
    let route = format!(
        "/applications/{}/commands",
        chainsignal_tests::fake_discord::APP_ID
    );
    fake.wait_for(
        |c| {
            c.iter()
                .any(|c| c.method == "PUT" && c.route() == route && c.ok())
        },
        WAIT,
    )
    .await;
    let keys = fake
        .registered_commands(None)
        .into_iter()
        .find(|c| c["name"] == "keys")
        .expect("/keys is registered");
    let add_options: Vec<&str> = keys["options"][0]["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(add_options, ["exchange", "label"], "{keys:#}");

    let ix = Interaction::command("keys").subcommand("add", &[("exchange", json!("binance-testnet"))]);
    fake.send_interaction(&ix);
    let token = ix.token().to_string();
    fake.wait_for(
        |c| c.iter().any(|c| c.method == "POST" && c.path.contains(&token)),
        WAIT,
    )
    .await;
    let modal = fake.modal(ix.token()).expect("a modal is the first response");
    assert_eq!(fake.ack_type(ix.token()), Some(9));
    let custom_id = modal["custom_id"].as_str().unwrap().to_string();
    assert_eq!(custom_id, "f:keys:add:exchange=binance-testnet");
    let fields: Vec<(String, bool)> = modal["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let input = &row["components"][0];
            (
                input["custom_id"].as_str().unwrap().to_string(),
                input["required"] == true,
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("api_key".into(), true),
            ("secret".into(), true),
            ("label".into(), false)
        ]
    );

    let submit = Interaction::modal_submit(
        &custom_id,
        &[("api_key", API_KEY), ("secret", SECRET), ("label", "main")],
    );
    fake.send_interaction(&submit);
    let msgs = fake
        .wait_for_messages(submit.token(), |m| m.iter().any(shown), WAIT)
        .await;
    let answer = msgs.into_iter().find(shown).unwrap();
    assert!(
        answer["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL != 0,
        "ephemeral: {answer:#}"
    );
    assert!(
        text_of(&answer).contains("Key main for binance-testnet stored, sealed: APIK…wxyz."),
        "{}",
        text_of(&answer)
    );
    let stored = keys_of(&bot.app.store, "discord", &USER_ID.to_string()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].label.as_str(), stored[0].api_key_mask.as_str()),
        ("main", "APIK…wxyz")
    );

    // The same submission retried (same interaction id, a new token): nothing twice.
    let mut retried = submit.clone();
    retried.json_mut()["token"] = json!(format!("{}-retry", submit.token()));
    fake.send_interaction(&retried);
    let msgs = fake
        .wait_for_messages(retried.token(), |m| m.iter().any(shown), WAIT)
        .await;
    let again = text_of(msgs.iter().find(|m| shown(m)).unwrap());
    assert!(again.contains("handled already"), "{again}");
    assert_eq!(
        keys_of(&bot.app.store, "discord", &USER_ID.to_string())
            .await
            .len(),
        1
    );
    let audit = bot.app.store.recent_audit(10).await.unwrap();
    let adds: Vec<_> = audit.iter().filter(|a| a.command == "keys").collect();
    assert_eq!(adds.len(), 1, "{audit:#?}");
    assert_eq!(
        adds[0].args,
        "add exchange=binance-testnet api_key=*** secret=*** label=main"
    );

    // Someone who may not add keys (a viewer) is refused at once, never asked for a
    // secret in a modal.
    let account = bot
        .app
        .store
        .account_of("discord", &USER_ID.to_string())
        .await
        .unwrap()
        .expect("the account exists");
    bot.app
        .store
        .set_role(account, chainsignal_core::store::StoredRole::Viewer, None)
        .await
        .unwrap();
    let ix = Interaction::command("keys").subcommand("add", &[("exchange", json!("binance-testnet"))]);
    fake.send_interaction(&ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    assert!(fake.modal(ix.token()).is_none(), "no modal for a viewer");
    let refused = text_of(msgs.iter().find(|m| shown(m)).unwrap());
    assert!(refused.contains("read-only"), "{refused}");

    bot.trigger.trigger();
    tokio::time::timeout(WAIT, bot.started.task)
        .await
        .unwrap()
        .unwrap();
    bot.app.store.close().await;
    let sent: String = fake
        .calls()
        .iter()
        .map(|c| format!("{} {}\n", c.path, c.body))
        .collect();
    for secret in [SECRET, API_KEY] {
        assert!(!sent.contains(secret), "{secret} in a request of the bot");
        assert!(!sqlite_files_contain(&bot.db, secret), "{secret} in the database");
    }
    assert_not_logged(&[SECRET, API_KEY]);
}

// ============================ Telegram ============================

struct TelegramBot {
    app: App,
    started: telegram::Started,
    trigger: ShutdownTrigger,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

async fn telegram_bot(fake: &FakeTelegram, exchanges: &Exchanges) -> TelegramBot {
    log();
    let dir = tempfile::tempdir().unwrap();
    let (mut config, db) = config_with_vault(dir.path(), exchanges);
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    let app = build(config, &db).await;
    let (trigger, shutdown) = shutdown::channel();
    let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
    TelegramBot {
        app,
        started,
        trigger,
        db,
        _dir: dir,
    }
}

fn sent_texts(fake: &FakeTelegram, chat: i64) -> Vec<String> {
    fake.calls_of("sendMessage")
        .iter()
        .filter(|c| c.chat_id() == Some(chat) && c.status == 200)
        .filter_map(|c| c.text().map(str::to_string))
        .collect()
}

async fn wait_texts(fake: &FakeTelegram, chat: i64, n: usize) -> Vec<String> {
    fake.wait_until(WAIT, |calls| {
        calls
            .iter()
            .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat) && c.status == 200)
            .count()
            >= n
    })
    .await;
    sent_texts(fake, chat)
}

/// In a private chat `/keys add binance-testnet API_KEY SECRET` is stored sealed, the
/// message is deleted at once and the reply says so. In a group the command is refused
/// (the answer goes to the private chat), the message deleted where the bot can, and a
/// refused deletion is logged once and said. No secret in the log at TRACE, in any
/// request of the bot, or in the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_deletes_the_secret_message_and_stores_the_key_sealed() {
    const USER: i64 = 4242;
    const GROUP: i64 = -100777;
    const API_KEY: &str = "APIKEYtelegram000000000001234wxyz";
    const SECRET: &str = "SECRETtelegramRecognisable00000000042";
    const API_KEY_2: &str = "APIKEYgroup0000000000000000005678";
    const SECRET_2: &str = "SECRETgroupRecognisable000000000099";
    const API_KEY_3: &str = "APIKEYmisplaced00000000000000009876";
    const SECRET_3: &str = "SECRETmisplacedRecognisable00000000077";
    let fake = FakeTelegram::start().await;
    let exchanges = Exchanges::start().await;
    exchanges.testnet.add_key(API_KEY, SECRET);
    exchanges.testnet.add_key(API_KEY_2, SECRET_2);
    let bot = telegram_bot(&fake, &exchanges).await;

    fake.push_message(&IncomingMessage::private(
        USER,
        format!("/keys add binance-testnet {API_KEY} {SECRET} label=tg"),
    ));
    let texts = wait_texts(&fake, USER, 1).await;
    assert!(
        texts[0].contains("Key tg for binance-testnet stored, sealed: APIK…wxyz."),
        "{texts:?}"
    );
    assert!(
        texts[0].contains("I deleted your message: it was for a command that takes secrets."),
        "{texts:?}"
    );
    let deletions = fake.calls_of("deleteMessage");
    assert_eq!(deletions.len(), 1, "{deletions:?}");
    assert_eq!(deletions[0].chat_id(), Some(USER));
    assert!(deletions[0].body["message_id"].as_i64().is_some());
    let stored = keys_of(&bot.app.store, "telegram", &USER.to_string()).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].api_key_mask, "APIK…wxyz");

    // In a group, where the bot may not delete: refused, privately, and told to delete it.
    fake.fail("deleteMessage", Failure::Foreign { status: 400 });
    fake.push_message(
        &IncomingMessage::private(USER, format!("/keys add binance-testnet {API_KEY_2} {SECRET_2}"))
            .in_group(GROUP),
    );
    let texts = wait_texts(&fake, USER, 2).await;
    assert!(
        texts[1].contains("is secret: give it only in a private chat"),
        "{texts:?}"
    );
    assert!(texts[1].contains("I could not delete it"), "{texts:?}");
    let deletions = fake.calls_of("deleteMessage");
    assert_eq!(deletions.len(), 2);
    assert_eq!(deletions[1].chat_id(), Some(GROUP));
    assert!(
        sent_texts(&fake, GROUP).is_empty(),
        "nothing about it in the group"
    );
    assert_eq!(
        keys_of(&bot.app.store, "telegram", &USER.to_string()).await.len(),
        1
    );
    fake.clear_failures("deleteMessage");

    // In a group without secrets: refused too (only in a private chat).
    fake.push_message(&IncomingMessage::private(USER, "/keys add binance-testnet").in_group(GROUP));
    let texts = wait_texts(&fake, USER, 3).await;
    assert!(texts[2].contains("only taken in a private chat"), "{texts:?}");

    // Secrets in the wrong place: a label before them (the label is `label=` only), or
    // no sub-command at all. The message is deleted, the answer never shows a word of
    // it, and nothing reaches the audit log or the keys.
    let deleted_before = fake.calls_of("deleteMessage").len();
    fake.push_message(&IncomingMessage::private(
        USER,
        format!("/keys add binance-testnet main {API_KEY_3} {SECRET_3}"),
    ));
    fake.push_message(&IncomingMessage::private(
        USER,
        format!("/keys binance-testnet {API_KEY_3} {SECRET_3}"),
    ));
    let texts = wait_texts(&fake, USER, 5).await;
    assert_eq!(fake.calls_of("deleteMessage").len(), deleted_before + 2);
    for text in &texts[3..] {
        assert!(
            !text.contains("SECRETmisplaced") && !text.contains("APIKEYmisplaced"),
            "{text}"
        );
    }
    let audit = bot.app.store.recent_audit(50).await.unwrap();
    assert!(audit.iter().all(|r| !r.args.contains("misplaced")), "{audit:#?}");
    assert_eq!(
        keys_of(&bot.app.store, "telegram", &USER.to_string()).await.len(),
        1
    );

    bot.trigger.trigger();
    tokio::time::timeout(WAIT, bot.started.task)
        .await
        .unwrap()
        .unwrap();
    bot.app.store.close().await;
    let warned = log_text()
        .lines()
        .filter(|l| l.contains("deleteMessage") && l.contains("WARN"))
        .count();
    assert_eq!(warned, 1, "a refused deletion is logged once as a warning");
    let sent: String = fake
        .calls()
        .iter()
        .filter(|c| c.method != "getupdates")
        .map(|c| format!("{} {}\n", c.method, c.body))
        .collect();
    for secret in [SECRET, API_KEY, SECRET_2, API_KEY_2, SECRET_3, API_KEY_3] {
        assert!(
            !sent.contains(secret),
            "{secret} in a request of the bot:\n{sent}"
        );
        assert!(!sqlite_files_contain(&bot.db, secret), "{secret} in the database");
    }
    assert_not_logged(&[SECRET, API_KEY, SECRET_2, API_KEY_2, SECRET_3, API_KEY_3]);
}

/// Without a vault key `/keys` says the operator has not enabled it, on Telegram in a
/// private chat, and no modal is shown on Discord.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_vault_keys_are_not_enabled() {
    log();
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    let app = build(config, &dir.path().join("off.sqlite")).await;
    let (trigger, shutdown) = shutdown::channel();
    let started = telegram::start(&app, shutdown).unwrap().unwrap();
    fake.push_message(&IncomingMessage::private(7, "/keys add binance-testnet"));
    let texts = wait_texts(&fake, 7, 1).await;
    assert!(
        texts[0].contains("the operator has not configured a vault key"),
        "{texts:?}"
    );
    trigger.trigger();
    tokio::time::timeout(WAIT, started.task).await.unwrap().unwrap();

    let fake = FakeDiscord::start().await;
    let mut config = Config::default();
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    let app = build(config, &dir.path().join("off-discord.sqlite")).await;
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().unwrap();
    fake.wait_ready(WAIT).await;
    let ix = Interaction::command("keys").subcommand("add", &[("exchange", json!("binance"))]);
    fake.send_interaction(&ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    assert_eq!(fake.ack_type(ix.token()), Some(4), "an answer, not a modal");
    assert!(fake.modal(ix.token()).is_none());
    let text = text_of(msgs.iter().find(|m| shown(m)).unwrap());
    assert!(
        text.contains("the operator has not configured a vault key"),
        "{text}"
    );
    trigger.trigger();
    tokio::time::timeout(WAIT, started.task).await.unwrap().unwrap();
}

// ============================ validation on the exchange ============================

const GOOD_KEY: &str = "APIKEYvalidTestnet0000000000001111";
const GOOD_SECRET: &str = "SECRETvalidTestnetRecognisable0001";
const LIVE_KEY: &str = "APIKEYliveWithdraw0000000000002222";
const LIVE_SECRET: &str = "SECRETliveWithdrawRecognisable0002";
const SKEW_KEY: &str = "APIKEYskewedClock00000000000003333";
const SKEW_SECRET: &str = "SECRETskewedClockRecognisable00003";
const WRONG_SECRET: &str = "SECRETwrongForTheKeyRecognisable004";

fn refusal_exchanges(ex: &Exchanges) {
    ex.testnet.add_key(GOOD_KEY, GOOD_SECRET);
    ex.testnet.add_key(SKEW_KEY, SKEW_SECRET);
    ex.live.add_key(LIVE_KEY, LIVE_SECRET);
    // A live key that may withdraw (IP-restricted, this server on its list).
    ex.live.set_key_restrictions(LIVE_KEY, true, true, true);
}

const WRONG_SECRET_SAYS: &str =
    "The exchange refused the signature: the secret does not belong to this API key. Nothing was stored.";
const WITHDRAWALS_SAYS: &str = "a live key must have withdrawals disabled";
const SKEW_SAYS: &str = "This server's clock is too far from the exchange's";

/// Telegram, private chat, the fallback form of `/keys add`: a valid testnet key is
/// stored; a wrong secret, a live key that can withdraw, and a 5-minute clock skew are
/// each refused with their sentence, and nothing of them is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_keys_are_validated_on_the_exchange() {
    const USER: i64 = 5151;
    let fake = FakeTelegram::start().await;
    let exchanges = Exchanges::start().await;
    refusal_exchanges(&exchanges);
    let bot = telegram_bot(&fake, &exchanges).await;
    let say = |text: String| fake.push_message(&IncomingMessage::private(USER, text));

    say(format!(
        "/keys add binance-testnet {GOOD_KEY} {GOOD_SECRET} label=good"
    ));
    let texts = wait_texts(&fake, USER, 1).await;
    assert!(
        texts[0].contains("Key good for binance-testnet stored, sealed: APIK…1111."),
        "{texts:?}"
    );
    say(format!(
        "/keys add binance-testnet {GOOD_KEY} {WRONG_SECRET} label=wrong"
    ));
    let texts = wait_texts(&fake, USER, 2).await;
    assert!(texts[1].contains(WRONG_SECRET_SAYS), "{texts:?}");
    say(format!("/keys add binance {LIVE_KEY} {LIVE_SECRET} label=live"));
    let texts = wait_texts(&fake, USER, 3).await;
    assert!(texts[2].contains(WITHDRAWALS_SAYS), "{texts:?}");
    exchanges.testnet.set_clock_skew_ms(5 * 60_000);
    say(format!(
        "/keys add binance-testnet {SKEW_KEY} {SKEW_SECRET} label=skew"
    ));
    let texts = wait_texts(&fake, USER, 4).await;
    assert!(texts[3].contains(SKEW_SAYS), "{texts:?}");
    for t in &texts[1..] {
        assert!(t.contains("I deleted your message"), "{t}");
    }

    let stored = keys_of(&bot.app.store, "telegram", &USER.to_string()).await;
    let labels: Vec<&str> = stored.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["good"], "only the valid key is stored");
    bot.trigger.trigger();
    tokio::time::timeout(WAIT, bot.started.task)
        .await
        .unwrap()
        .unwrap();
    bot.app.store.close().await;
    for secret in [GOOD_SECRET, LIVE_SECRET, SKEW_SECRET, WRONG_SECRET] {
        assert!(!sqlite_files_contain(&bot.db, secret), "{secret} in the database");
    }
    assert_not_logged(&[
        GOOD_SECRET,
        LIVE_SECRET,
        SKEW_SECRET,
        WRONG_SECRET,
        GOOD_KEY,
        LIVE_KEY,
        SKEW_KEY,
    ]);
}

/// Discord, the modal: the same four cases, answered ephemerally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_keys_are_validated_on_the_exchange() {
    let fake = FakeDiscord::start().await;
    let exchanges = Exchanges::start().await;
    refusal_exchanges(&exchanges);
    let bot = discord_bot(&fake, &exchanges).await;
    fake.wait_ready(WAIT).await;
    let submit = |exchange: &str, key: &str, secret: &str, label: &str| {
        let ix = Interaction::modal_submit(
            &format!("f:keys:add:exchange={exchange}"),
            &[("api_key", key), ("secret", secret), ("label", label)],
        );
        fake.send_interaction(&ix);
        ix
    };
    let answer = |ix: Interaction| {
        let fake = &fake;
        async move {
            let msgs = fake
                .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
                .await;
            let m = msgs.into_iter().find(shown).unwrap();
            assert!(
                m["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL != 0,
                "ephemeral: {m:#}"
            );
            text_of(&m)
        }
    };
    let text = answer(submit("binance-testnet", GOOD_KEY, GOOD_SECRET, "good")).await;
    assert!(
        text.contains("Key good for binance-testnet stored, sealed: APIK…1111."),
        "{text}"
    );
    let text = answer(submit("binance-testnet", GOOD_KEY, WRONG_SECRET, "wrong")).await;
    assert!(text.contains(WRONG_SECRET_SAYS), "{text}");
    let text = answer(submit("binance", LIVE_KEY, LIVE_SECRET, "live")).await;
    assert!(text.contains(WITHDRAWALS_SAYS), "{text}");
    exchanges.testnet.set_clock_skew_ms(5 * 60_000);
    let text = answer(submit("binance-testnet", SKEW_KEY, SKEW_SECRET, "skew")).await;
    assert!(text.contains(SKEW_SAYS), "{text}");

    let stored = keys_of(&bot.app.store, "discord", &USER_ID.to_string()).await;
    let labels: Vec<&str> = stored.iter().map(|k| k.label.as_str()).collect();
    assert_eq!(labels, ["good"], "only the valid key is stored");
    bot.trigger.trigger();
    tokio::time::timeout(WAIT, bot.started.task)
        .await
        .unwrap()
        .unwrap();
    bot.app.store.close().await;
    let sent: String = fake
        .calls()
        .iter()
        .map(|c| format!("{} {}\n", c.path, c.body))
        .collect();
    for secret in [
        GOOD_SECRET,
        LIVE_SECRET,
        SKEW_SECRET,
        WRONG_SECRET,
        GOOD_KEY,
        LIVE_KEY,
    ] {
        assert!(!sent.contains(secret), "{secret} in a request of the bot");
        assert!(!sqlite_files_contain(&bot.db, secret), "{secret} in the database");
    }
    assert_not_logged(&[
        GOOD_SECRET,
        LIVE_SECRET,
        SKEW_SECRET,
        WRONG_SECRET,
        GOOD_KEY,
        LIVE_KEY,
        SKEW_KEY,
    ]);
}
