//! Accounts, linking, roles and approval (issue 13), end to end: one bot with the real
//! teloxide and serenity against the fake Telegram and the fake Discord, the real
//! commands, SQLite (and PostgreSQL for linking).
//!
//! - a Telegram identity and a Discord identity linked by a one-time code (works once,
//!   expires, 20 wrong codes in a row lock /link for 15 minutes);
//! - approval mode with two owners (Telegram and Discord): each gets one request, the
//!   first press decides, the other's message is edited to say who, a second press does
//!   nothing, the person is told;
//! - blocked people get one line for every command, audited as denied;
//! - a trader is denied every /admin sub-command; an owner cannot be demoted from chat,
//!   and only an owner makes admins.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::{discord, telegram};
use chainsignal_core::config::{AccessMode, Config};
use chainsignal_core::market::Source;
use chainsignal_core::store::{StoredRole, link_code_hash};
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_discord::{FakeDiscord, Interaction, TOKEN, USER_ID, dm_channel};
use chainsignal_tests::fake_telegram::{Call, CallbackPress, FakeTelegram, IncomingMessage, sends_to};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The Telegram owner (config `admins.telegram`).
const TG_OWNER: i64 = 77;
/// The Discord owner (config `admins.discord`) is the fake's default user [`USER_ID`].
/// Someone else on Discord.
const BOB: u64 = 777_000_000_000_000_042;

const BLOCKED: &str = "Your access to this bot is blocked.";
const PENDING: &str = "Your access is awaiting an admin's approval";
const ADMINS_ONLY: &str = "Only the bot's admins can do that.";

struct Bot {
    app: App,
    tg: telegram::Started,
    dc: discord::Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Bot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.tg.task)
            .await
            .expect("telegram stops")
            .unwrap();
        tokio::time::timeout(WAIT, self.dc.task)
            .await
            .expect("discord stops")
            .unwrap();
    }

    async fn account_of(&self, platform: &str, id: &str) -> chainsignal_core::store::Account {
        self.app
            .store
            .account_by_identity(platform, id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{platform}:{id} has an account"))
    }
}

async fn start(
    tg: &FakeTelegram,
    dc: &FakeDiscord,
    db: Option<&str>,
    tweak: impl FnOnce(&mut Config),
) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.telegram.api_url = tg.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    config.discord.api_url = dc.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    config.admins.telegram = vec![TG_OWNER.to_string()];
    config.admins.discord = vec![USER_ID.to_string()];
    tweak(&mut config);
    let db = db
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("acc.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(SecretString::from(db)))
        .await
        .unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let tg_started = telegram::start(&app, shutdown.clone()).unwrap().expect("a token");
    let dc_started = discord::start(&app, shutdown).unwrap().expect("a token");
    Bot {
        app,
        tg: tg_started,
        dc: dc_started,
        trigger,
        _dir: dir,
    }
}

// ---------------------------- Telegram ----------------------------

/// `text` from `user` in their private chat; the next message the bot sends there.
async fn tg_ask(fake: &FakeTelegram, user: i64, text: &str) -> Call {
    fake.ask_private(user, text, WAIT).await
}

async fn tg_text(fake: &FakeTelegram, user: i64, text: &str) -> String {
    tg_ask(fake, user, text)
        .await
        .text()
        .unwrap_or_default()
        .to_string()
}

/// Push a press and wait for its answerCallbackQuery; the toast ("" when none).
async fn tg_press(fake: &FakeTelegram, press: &CallbackPress) -> String {
    fake.press_answered(press, WAIT).await
}

/// The code in a `/link` answer: the word after "Your link code: ".
fn code_in(text: &str) -> String {
    text.split("Your link code: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("a code in {text:?}"))
        .to_string()
}

// ---------------------------- Discord ----------------------------

fn shown(m: &Value) -> bool {
    m["embeds"].as_array().is_some_and(|e| !e.is_empty())
        || m["content"].as_str().is_some_and(|c| !c.is_empty())
}

fn visible_text(m: &Value) -> String {
    let mut out = m["content"].as_str().unwrap_or_default().to_string();
    for e in m["embeds"].as_array().into_iter().flatten() {
        for k in ["title", "description"] {
            out.push('\n');
            out.push_str(e[k].as_str().unwrap_or_default());
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(f["value"].as_str().unwrap_or_default());
        }
    }
    out.replace('\\', "")
}

fn dc_buttons(m: &Value) -> Vec<(String, String)> {
    m["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["label"].as_str().unwrap_or_default().to_string(),
                b["custom_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn dc_ask(fake: &FakeDiscord, ix: &Interaction) -> String {
    fake.send_interaction(ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    visible_text(msgs.iter().find(|m| shown(m)).unwrap())
}

/// The messages of a Discord DM channel once `pred` holds for them.
async fn dm_messages(fake: &FakeDiscord, user: u64, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    fake.wait_for_channel_messages(dm_channel(user), pred, WAIT).await
}

// ---------------------------- tests ----------------------------

async fn link_across_platforms(db: Option<&str>) {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, db, |_| {}).await;
    dc.wait_ready(WAIT).await;

    // Telegram: /link shows a code (in the private chat).
    let text = tg_text(&tg, 501, "/link").await;
    let code = code_in(&text);
    assert!(code.chars().count() >= 8, "{code}");
    assert!(text.contains("10 minutes"), "{text}");
    let telegram_account = bot.account_of("telegram", "501").await.id;

    // Discord: /link CODE joins this identity to the Telegram account.
    let ix = Interaction::command("link")
        .user(BOB, "bob")
        .option("code", json!(code.to_lowercase()));
    let answer = dc_ask(&dc, &ix).await;
    assert!(
        answer.contains(&format!("account #{telegram_account} (discord, telegram)")),
        "{answer}"
    );
    assert_eq!(
        bot.account_of("discord", &BOB.to_string()).await.id,
        telegram_account
    );
    let whoami = dc_ask(&dc, &Interaction::command("whoami").user(BOB, "bob")).await;
    assert!(
        whoami.contains(&format!("Account #{telegram_account}")),
        "{whoami}"
    );
    assert!(
        whoami.contains("telegram: ") && whoami.contains("discord: "),
        "{whoami}"
    );

    // One account: `/audit` on either platform shows the actions from both.
    let tg_audit = tg_text(&tg, 501, "/audit").await;
    let dc_audit = dc_ask(&dc, &Interaction::command("audit").user(BOB, "bob")).await;
    for answer in [&tg_audit, &dc_audit] {
        assert!(
            answer.contains("telegram") && answer.contains("discord"),
            "{answer}"
        );
        assert!(answer.contains("/link") && answer.contains("/whoami"), "{answer}");
    }
    // The Discord /audit lists the Telegram /audit just run.
    assert!(dc_audit.contains("/audit"), "{dc_audit}");

    // Single use: the same code from someone else.
    let again = tg_text(&tg, 502, &format!("/link {code}")).await;
    assert!(again.contains("already used"), "{again}");

    // Expired: a code made 20 minutes ago for 10 minutes.
    let now = chrono::Utc::now();
    bot.app
        .store
        .create_link_code(
            telegram_account,
            &link_code_hash("EXPRDCDE22"),
            now - chrono::Duration::minutes(20),
            now - chrono::Duration::minutes(10),
        )
        .await
        .unwrap();
    let expired = tg_text(&tg, 503, "/link EXPRDCDE22").await;
    assert!(expired.contains("has expired"), "{expired}");

    // 20 wrong codes in a row from one identity lock /link for it for 15 minutes.
    for n in 1..20 {
        let wrong = tg_text(&tg, 504, "/link WRONGCODE9").await;
        assert!(
            wrong.contains(&format!("{} more wrong codes", 20 - n)),
            "{n}: {wrong}"
        );
    }
    let locked = tg_text(&tg, 504, "/link WRONGCODE9").await;
    assert!(locked.contains("/link is locked for 15 more minutes"), "{locked}");
    // Even a good code, now.
    let fresh = code_in(&tg_text(&tg, 501, "/link").await);
    let still = tg_text(&tg, 504, &format!("/link {fresh}")).await;
    assert!(still.contains("is locked"), "{still}");
    // Others are not locked.
    let ok = tg_text(&tg, 505, &format!("/link {fresh}")).await;
    assert!(ok.contains("Linked"), "{ok}");

    // Unlinking: never the last identity; otherwise after Confirm.
    let last = tg_text(&tg, 503, "/unlink").await;
    assert!(last.contains("only identity"), "{last}");
    let preview = tg_ask(&tg, 505, "/unlink").await;
    assert!(
        preview.text().unwrap().contains("Remove this telegram identity"),
        "{preview:?}"
    );
    let confirm = preview.buttons()[0].1.clone();
    let message = preview.message_id().unwrap();
    tg_press(&tg, &CallbackPress::new(505, 505, message, &confirm)).await;
    let fresh_account = bot.account_of("telegram", "505").await.id;
    assert_ne!(fresh_account, telegram_account);
    assert_eq!(bot.app.store.identities(telegram_account).await.unwrap().len(), 2);

    // The audit log has the links from both platforms, never a code.
    let audit = bot.app.store.recent_audit(1000).await.unwrap();
    assert!(
        audit
            .iter()
            .all(|a| !a.args.contains(&code) && !a.args.contains(&fresh)),
        "{audit:#?}"
    );
    assert!(audit.iter().any(|a| a.command == "link" && a.args == "code=***"));
    for platform in ["telegram", "discord"] {
        assert!(
            audit
                .iter()
                .any(|a| a.command == "link" && a.platform == platform && a.outcome == "ok"),
            "{platform}: {audit:#?}"
        );
    }
    bot.stop().await;
}

/// Linking Telegram and Discord: a code works once, expires, and 20 wrong codes lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_discord_and_telegram_on_sqlite() {
    link_across_platforms(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_discord_and_telegram_on_postgres() {
    let Some(db) = TempPostgres::create("accounts_link").await else {
        return;
    };
    link_across_platforms(Some(&db.url)).await;
    db.drop_db().await;
}

/// Approval mode with two owners, one on each platform, and a stored admin: one request
/// each; the Telegram owner's press decides, the Discord owner's DM and the admin's
/// message are edited to say who decided, the Discord owner's press then does nothing,
/// and the person is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_with_two_admins_first_press_decides() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, None, |c| c.access.mode = AccessMode::Approval).await;
    dc.wait_ready(WAIT).await;
    // A stored admin (as `chainsignal admin role telegram:88 admin` makes one) is asked too.
    const ADMIN: i64 = 88;
    let admin = chainsignal_core::store::Identity {
        platform: "telegram".into(),
        platform_user_id: ADMIN.to_string(),
        display_name: Some("Adam".into()),
        username: None,
    };
    bot.app
        .store
        .ensure_account(&admin, StoredRole::Admin)
        .await
        .unwrap();
    let requests_in = |calls: &[Call], chat: i64| -> Vec<Call> {
        sends_to(calls, chat)
            .into_iter()
            .filter(|c| !c.buttons().is_empty())
            .collect()
    };

    // A new person: pending, may use /help and /link, not /report.
    let asked = tg_text(&tg, 501, "/report").await;
    assert!(asked.contains(PENDING), "{asked}");
    assert_eq!(bot.account_of("telegram", "501").await.role, StoredRole::Pending);
    let help = tg_text(&tg, 501, "/help").await;
    assert!(help.contains("/link") && !help.contains("/report ["), "{help}");

    // The Telegram owner's request.
    let calls = tg
        .wait_until(WAIT, |calls| {
            !requests_in(calls, TG_OWNER).is_empty() && !requests_in(calls, ADMIN).is_empty()
        })
        .await;
    let requests = requests_in(&calls, TG_OWNER);
    let admin_requests = requests_in(&calls, ADMIN);
    assert_eq!(admin_requests.len(), 1, "one request: {admin_requests:#?}");
    assert_eq!(requests.len(), 1, "one request: {requests:#?}");
    let request = &requests[0];
    assert!(
        request.text().unwrap().contains("awaiting approval"),
        "{request:?}"
    );
    let tg_buttons = request.buttons();
    assert_eq!(
        tg_buttons.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["Approve", "Deny"]
    );

    // The Discord owner's request, in a DM.
    let dm = dm_messages(&dc, USER_ID, |m| m.iter().any(|m| !dc_buttons(m).is_empty())).await;
    assert_eq!(dm.len(), 1, "one request: {dm:#?}");
    let dc_request = dm[0].clone();
    assert!(visible_text(&dc_request).contains("awaiting approval"));
    let dc_b = dc_buttons(&dc_request);
    assert_eq!(
        dc_b.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["Approve", "Deny"]
    );

    // The Telegram owner approves.
    let message = request.message_id().unwrap();
    let toast = tg_press(
        &tg,
        &CallbackPress::new(TG_OWNER, TG_OWNER, message, &tg_buttons[0].1),
    )
    .await;
    assert_eq!(toast, "", "an edit, no toast");
    let edited_in = |calls: &[Call], chat: i64| {
        calls
            .iter()
            .find(|c| c.method == "editmessagetext" && c.status == 200 && c.chat_id() == Some(chat))
            .cloned()
    };
    let edits = tg
        .wait_until(WAIT, |calls| {
            edited_in(calls, TG_OWNER).is_some() && edited_in(calls, ADMIN).is_some()
        })
        .await;
    for chat in [TG_OWNER, ADMIN] {
        let edit = edited_in(&edits, chat).unwrap();
        let text = edit.body["text"].as_str().unwrap_or_default();
        assert!(
            text.contains("was approved by") && text.contains("telegram:77"),
            "{edit:?}"
        );
    }
    assert_eq!(
        edited_in(&edits, ADMIN).unwrap().body["message_id"].as_i64(),
        admin_requests[0].message_id(),
        "the stored admin's request itself is edited"
    );
    assert_eq!(bot.account_of("telegram", "501").await.role, StoredRole::Trader);

    // The Discord owner's request now says who decided, without buttons.
    let dm = dm_messages(&dc, USER_ID, |m| {
        m.iter().any(|m| visible_text(m).contains("was approved by"))
    })
    .await;
    assert_eq!(dm.len(), 1, "edited, not a new message: {dm:#?}");
    assert!(dc_buttons(&dm[0]).is_empty(), "{:#?}", dm[0]);
    assert_eq!(dm[0]["id"], dc_request["id"]);

    // The person is told.
    let told = tg
        .wait_until(WAIT, |calls| {
            sends_to(calls, 501)
                .iter()
                .any(|c| c.text().unwrap_or_default().contains("Your access was approved"))
        })
        .await;
    assert!(!told.is_empty());

    // The Discord owner's press on the old request does nothing (the stale message).
    let deny = dc_b[1].1.clone();
    let ix = Interaction::button(&deny, dc_request.clone())
        .in_dm()
        .channel(dm_channel(USER_ID));
    let notice = dc_ask(&dc, &ix).await;
    assert!(notice.contains("Already decided by"), "{notice}");
    assert_eq!(bot.account_of("telegram", "501").await.role, StoredRole::Trader);
    // A second press of Telegram's Deny: the same.
    let toast = tg_press(
        &tg,
        &CallbackPress::new(TG_OWNER, TG_OWNER, message, &tg_buttons[1].1),
    )
    .await;
    assert!(toast.contains("Already decided by"), "{toast}");
    assert_eq!(bot.account_of("telegram", "501").await.role, StoredRole::Trader);

    // Approved: /report works now.
    let report = tg_text(&tg, 501, "/report btc").await;
    assert!(!report.contains(PENDING), "{report}");
    // Audited: the request's decision and the refused press.
    let audit = bot.app.store.recent_audit(1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.command == "admin" && a.args.contains("approve") && a.outcome == "ok")
    );
    assert!(
        audit
            .iter()
            .any(|a| a.command == "report" && a.outcome == "denied" && a.platform_user_id == "501")
    );
    bot.stop().await;
}

/// Blocked people (blocked from Telegram and from Discord) get one line for any
/// command, and every such run is audited as denied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_people_get_one_line_and_are_audited_denied() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, None, |_| {}).await;
    dc.wait_ready(WAIT).await;

    // Both seen once (traders in open mode), then blocked by the owners.
    assert!(!tg_text(&tg, 601, "/help").await.contains(BLOCKED));
    assert!(
        !dc_ask(&dc, &Interaction::command("help").user(BOB, "bob"))
            .await
            .contains(BLOCKED)
    );
    let done = tg_text(&tg, TG_OWNER, "/admin block 601 spam").await;
    assert!(done.contains("is now blocked"), "{done}");
    let ix = Interaction::command("admin").subcommand("block", &[("user", json!(BOB.to_string()))]);
    let done = dc_ask(&dc, &ix).await;
    assert!(done.contains("is now blocked"), "{done}");
    let account = bot.account_of("telegram", "601").await;
    assert_eq!(account.role, StoredRole::Blocked);
    assert_eq!(account.block_reason.as_deref(), Some("spam"));

    for text in [
        "/report",
        "/help",
        "/start",
        "/link",
        "/whoami",
        "/admin users",
        "/lang pl",
        "/nosuch",
    ] {
        let answer = tg_text(&tg, 601, text).await;
        assert_eq!(answer, BLOCKED, "{text}");
    }
    for name in ["report", "help", "link", "whoami", "summary", "lang"] {
        let answer = dc_ask(&dc, &Interaction::command(name).user(BOB, "bob")).await;
        assert_eq!(answer.trim(), BLOCKED, "{name}");
    }
    let audit = bot.app.store.recent_audit(1000).await.unwrap();
    let tg_rows: Vec<_> = audit
        .iter()
        .filter(|a| a.platform_user_id == "601" && a.detail.as_deref() == Some("blocked"))
        .collect();
    assert_eq!(tg_rows.len(), 8, "{audit:#?}");
    assert!(tg_rows.iter().all(|a| a.outcome == "denied"));
    let dc_rows = audit
        .iter()
        .filter(|a| a.platform_user_id == BOB.to_string() && a.detail.as_deref() == Some("blocked"))
        .count();
    assert_eq!(dc_rows, 6);

    // Unblocked: back to a trader.
    let done = tg_text(&tg, TG_OWNER, "/admin unblock 601").await;
    assert!(done.contains("no longer blocked"), "{done}");
    assert_ne!(tg_text(&tg, 601, "/help").await, BLOCKED);
    bot.stop().await;
}

/// A trader is denied every /admin sub-command on both platforms; the owner cannot be
/// demoted from chat (by themselves or by an admin); only the owner makes admins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traders_are_denied_admin_and_owners_cannot_be_demoted() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, None, |_| {}).await;
    dc.wait_ready(WAIT).await;
    let trader = 700;
    for text in [
        "/admin",
        "/admin users",
        "/admin users trader 2",
        "/admin approve 701",
        "/admin deny 701",
        "/admin block 77 because",
        "/admin unblock 701",
        "/admin role 700 admin",
    ] {
        let answer = tg_text(&tg, trader, text).await;
        assert_eq!(answer, ADMINS_ONLY, "{text}");
    }
    let user = json!(USER_ID.to_string());
    for (sub, options) in [
        ("users", vec![]),
        ("approve", vec![("user", user.clone())]),
        ("deny", vec![("user", user.clone())]),
        ("block", vec![("user", user.clone())]),
        ("unblock", vec![("user", user.clone())]),
        ("role", vec![("user", user.clone()), ("role", json!("trader"))]),
    ] {
        let ix = Interaction::command("admin")
            .user(BOB, "bob")
            .subcommand(sub, &options);
        let answer = dc_ask(&dc, &ix).await;
        assert_eq!(answer.trim(), ADMINS_ONLY, "{sub}");
    }
    assert_eq!(bot.account_of("telegram", "700").await.role, StoredRole::Trader);

    // The owner cannot be demoted from chat, not even by themselves.
    let answer = tg_text(&tg, TG_OWNER, "/admin role 77 trader").await;
    assert!(answer.contains("is an owner"), "{answer}");
    // On Discord, the owner picks themselves as the user option.
    let ix = Interaction::command("admin").subcommand(
        "role",
        &[("user", json!(USER_ID.to_string())), ("role", json!("viewer"))],
    );
    let answer = dc_ask(&dc, &ix).await;
    assert!(answer.contains("is an owner"), "{answer}");

    // The owner makes 701 an admin; 701 may list users but not touch the owner, nor make
    // admins.
    tg_text(&tg, 701, "/help").await;
    let answer = tg_text(&tg, TG_OWNER, "/admin role 701 admin").await;
    assert!(answer.contains("now has the role admin"), "{answer}");
    let list = tg_text(&tg, 701, "/admin users").await;
    assert!(
        list.contains("owner") && list.contains("admin") && list.contains("trader"),
        "{list}"
    );
    let owner_account = bot.account_of("telegram", "77").await.id;
    for text in [
        "/admin block 77".to_string(),
        format!("/admin role #{owner_account} viewer"),
    ] {
        let answer = tg_text(&tg, 701, &text).await;
        assert!(answer.contains("is an owner"), "{text}: {answer}");
    }
    let answer = tg_text(&tg, 701, "/admin role 700 admin").await;
    assert!(answer.contains("Only the bot's owner"), "{answer}");
    let answer = tg_text(&tg, 701, "/admin role 700 viewer").await;
    assert!(answer.contains("now has the role viewer"), "{answer}");
    // A viewer reads, and changes nothing.
    let answer = tg_text(&tg, 700, "/report btc").await;
    assert!(!answer.contains("read-only"), "{answer}");
    let unknown = tg_text(&tg, 701, "/admin approve 123456").await;
    assert!(unknown.contains("I don't know anyone called 123456"), "{unknown}");
    bot.stop().await;
}

const UNAVAILABLE: &str = "The bot is temporarily unavailable. Please try again shortly.";

/// Fail closed: with the database gone (PostgreSQL dropped under the running bot), a
/// blocked person and a new one on both platforms get the "temporarily unavailable"
/// line (not the role of a new person), while the owners from the config keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_outage_fails_closed_for_all_but_owners() {
    let Some(db) = TempPostgres::create("accounts_outage").await else {
        return;
    };
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, Some(&db.url), |_| {}).await;
    dc.wait_ready(WAIT).await;
    // 601 (Telegram) and BOB (Discord) are seen, then blocked.
    tg_text(&tg, 601, "/help").await;
    dc_ask(&dc, &Interaction::command("help").user(BOB, "bob")).await;
    for (platform, id) in [("telegram", "601".to_string()), ("discord", BOB.to_string())] {
        let account = bot.account_of(platform, &id).await.id;
        bot.app
            .store
            .set_role(account, StoredRole::Blocked, Some("spam"))
            .await
            .unwrap();
    }
    assert_eq!(tg_text(&tg, 601, "/help").await, BLOCKED);

    // The database goes away.
    db.drop_db().await;

    for (user, text) in [(601, "/help"), (601, "/report btc"), (602, "/help")] {
        let answer = tg_text(&tg, user, text).await;
        assert_eq!(answer, UNAVAILABLE, "{user} {text}");
    }
    for name in ["help", "whoami"] {
        let answer = dc_ask(&dc, &Interaction::command(name).user(BOB, "bob")).await;
        assert_eq!(answer.trim(), UNAVAILABLE, "{name}");
    }
    // Owners (config) keep working: /help answers with the commands.
    let help = tg_text(&tg, TG_OWNER, "/help").await;
    assert!(!help.contains(UNAVAILABLE) && help.contains("/report"), "{help}");
    let help = dc_ask(&dc, &Interaction::command("help")).await;
    assert!(!help.contains(UNAVAILABLE) && help.contains("report"), "{help}");
    bot.stop().await;
}

/// A stored exchange key for `account` (sealed values are placeholders: only owning one
/// matters here).
async fn give_key(bot: &Bot, account: i64, label: &str) {
    use chainsignal_core::store::NewExchangeKey;
    let added = bot
        .app
        .store
        .add_exchange_key(&NewExchangeKey {
            user_id: account,
            exchange: "binance".into(),
            label: label.into(),
            api_key_mask: "abcd…wxyz".into(),
            api_key_sealed: "c2VhbGVk".into(),
            api_key_nonce: "bm9uY2U=".into(),
            secret_sealed: "c2VhbGVk".into(),
            secret_nonce: "bm9uY2U=".into(),
            key_version: 1,
            created_at: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert!(added.is_some());
}

const BOTH_OWN: &str = "Both accounts already have data of their own";

/// Linking two accounts that both own data (exchange keys) is refused with the
/// explanation, from Discord and from Telegram; once one side is empty it links, the
/// keys move with it, and `/admin users` counts them.
async fn linking_accounts_that_own_data(db: Option<&str>) {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, db, |_| {}).await;
    dc.wait_ready(WAIT).await;
    let bob = || Interaction::command("link").user(BOB, "bob");
    // Both seen, both own a key.
    tg_text(&tg, 801, "/help").await;
    dc_ask(&dc, &Interaction::command("help").user(BOB, "bob")).await;
    let tg_account = bot.account_of("telegram", "801").await.id;
    let dc_account = bot.account_of("discord", &BOB.to_string()).await.id;
    give_key(&bot, tg_account, "main").await;
    give_key(&bot, dc_account, "other").await;

    // A Telegram code used on Discord: refused, explained.
    let code = code_in(&tg_text(&tg, 801, "/link").await);
    let answer = dc_ask(&dc, &bob().option("code", json!(code.clone()))).await;
    assert!(answer.contains(BOTH_OWN), "{answer}");
    // A Discord code used on Telegram: the same.
    let dc_code = code_in(&dc_ask(&dc, &bob()).await);
    let answer = tg_text(&tg, 801, &format!("/link {dc_code}")).await;
    assert!(answer.contains(BOTH_OWN), "{answer}");
    assert_ne!(bot.account_of("discord", &BOB.to_string()).await.id, tg_account);

    // The Discord side gives its key up: now it links, and the Telegram key stays.
    assert!(
        bot.app
            .store
            .remove_exchange_key(dc_account, "other")
            .await
            .unwrap()
    );
    // A refused code is used up (it may have been read where it was typed): a new one.
    let answer = dc_ask(&dc, &bob().option("code", json!(code))).await;
    assert!(answer.contains("already used"), "{answer}");
    let code = code_in(&tg_text(&tg, 801, "/link").await);
    let answer = dc_ask(&dc, &bob().option("code", json!(code))).await;
    assert!(answer.contains("Linked"), "{answer}");
    assert_eq!(bot.account_of("discord", &BOB.to_string()).await.id, tg_account);
    assert_eq!(bot.app.store.exchange_keys(tg_account).await.unwrap().len(), 1);
    let list = tg_text(&tg, TG_OWNER, "/admin users").await;
    let line = list
        .lines()
        .find(|l| l.contains(&format!("#{tg_account} ")))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        line.contains("discord+telegram") || line.contains("telegram+discord"),
        "{line}"
    );
    assert!(line.contains("keys 1") && line.contains("positions 0"), "{line}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_accounts_that_own_data_on_sqlite() {
    linking_accounts_that_own_data(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_accounts_that_own_data_on_postgres() {
    let Some(db) = TempPostgres::create("accounts_owns_data").await else {
        return;
    };
    linking_accounts_that_own_data(Some(&db.url)).await;
    db.drop_db().await;
}

/// `msg` from its sender's private chat; the text of the next message the bot sends there.
async fn tg_send(fake: &FakeTelegram, msg: IncomingMessage) -> String {
    let user = msg.user_id;
    let before = sends_to(&fake.calls(), user).len();
    fake.push_message(&msg);
    let calls = fake
        .wait_until(WAIT, |calls| sends_to(calls, user).len() > before)
        .await;
    sends_to(&calls, user)[before]
        .text()
        .unwrap_or_default()
        .to_string()
}

/// Telegram `@username`: stored from `User.username`, matched without case before the
/// display name (the first name, the fallback), and shown in `/admin users`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_usernames_name_people_for_admin_commands() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, None, |_| {}).await;
    dc.wait_ready(WAIT).await;
    // Two "Alice"s (the first name), told apart by their usernames; "Zedekiah" has none.
    tg_send(&tg, IncomingMessage::private(901, "/help").username("Trader_Joe")).await;
    tg_send(&tg, IncomingMessage::private(902, "/help").username("other_one")).await;
    tg_send(
        &tg,
        IncomingMessage::private(903, "/help").from_user(903, "Zedekiah"),
    )
    .await;

    let done = tg_text(&tg, TG_OWNER, "/admin block @trader_joe spam").await;
    assert!(done.contains("is now blocked"), "{done}");
    assert_eq!(bot.account_of("telegram", "901").await.role, StoredRole::Blocked);
    assert_eq!(bot.account_of("telegram", "902").await.role, StoredRole::Trader);
    // The display name is the fallback: one Zedekiah, two Alices.
    let done = tg_text(&tg, TG_OWNER, "/admin role @ZEDEKIAH viewer").await;
    assert!(done.contains("now has the role viewer"), "{done}");
    assert_eq!(bot.account_of("telegram", "903").await.role, StoredRole::Viewer);
    let ambiguous = tg_text(&tg, TG_OWNER, "/admin block @alice").await;
    assert!(ambiguous.contains("More than one person"), "{ambiguous}");

    let list = tg_text(&tg, TG_OWNER, "/admin users").await;
    assert!(
        list.contains("@Trader_Joe") && list.contains("@other_one"),
        "{list}"
    );
    let stored = bot
        .app
        .store
        .identities(bot.account_of("telegram", "901").await.id)
        .await
        .unwrap();
    assert_eq!(stored[0].username.as_deref(), Some("Trader_Joe"));
    bot.stop().await;
}

/// The pending person's reply never waits on the approval requests: with every Telegram
/// send hanging (the Telegram owner's request never answered), a new person on Discord
/// is answered well before teloxide's 17 s client timeout would free a reply that
/// waited on it, and the Discord owner's request still arrives, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_requests_do_not_hold_up_the_pending_persons_reply() {
    let tg = FakeTelegram::start().await;
    let dc = FakeDiscord::start().await;
    let bot = start(&tg, &dc, None, |c| c.access.mode = AccessMode::Approval).await;
    dc.wait_ready(WAIT).await;
    tg.hang_after("sendMessage", 0);

    let ix = Interaction::command("report").user(BOB, "bob");
    dc.send_interaction(&ix);
    // Shorter than the 17 s a reply held by the hanging request would take.
    let msgs = dc
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), Duration::from_secs(8))
        .await;
    let answer = visible_text(msgs.iter().find(|m| shown(m)).unwrap());
    assert!(answer.contains(PENDING), "{answer}");
    // The Telegram owner's request was attempted (and hangs); the Discord owner's came.
    tg.wait_until(WAIT, |calls| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage" && c.chat_id() == Some(TG_OWNER))
    })
    .await;
    let dm = dm_messages(&dc, USER_ID, |m| !m.is_empty()).await;
    assert_eq!(dm.len(), 1, "{dm:#?}");
    assert!(visible_text(&dm[0]).contains("awaiting approval"));
    tg.clear_failures("sendMessage");
    bot.stop().await;
}
