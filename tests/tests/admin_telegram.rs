//! `/audit` and `/admin status|audit|broadcast` through the real teloxide client against
//! the fake Bot API: an account's audit across its identities, denials and refused button
//! presses audited, the audit in chat with a CSV above 20 rows, the status page, and a
//! broadcast fanned out by the scheduler once per subscribed chat.

use chainsignal::app::App;
use chainsignal::scheduler::{Outbox, Outboxes, Scheduler};
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::telegram::delivery::TelegramOutbox;
use chainsignal::telegram::{self, Started};
use chainsignal_commands::{ChatKind, ChatRef, Invocation, Platform, RawInput, UserRef};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{AuditEntry, AuditRecord, ChatKey, Outcome};
use chainsignal_core::{Clock, SystemClock};
use chainsignal_tests::fake_telegram::{Call, CallbackPress, FakeTelegram, sends_to};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const ADMIN: i64 = 77;
const TRADER: i64 = 5;

struct Bot {
    app: App,
    started: Started,
    trigger: ShutdownTrigger,
    dir: tempfile::TempDir,
}

impl Bot {
    async fn start(fake: &FakeTelegram) -> Bot {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.telegram.api_url = fake.url();
        config.telegram.poll_timeout_secs = 1;
        config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
        config.admins.telegram = vec![ADMIN.to_string()];
        config.alerts.enabled = false;
        let app = App::build(
            config,
            Some(Source::Demo),
            Some(SecretString::from(Self::url(&dir))),
        )
        .await
        .unwrap();
        let (trigger, shutdown) = shutdown::channel();
        let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
        Bot {
            app,
            started,
            trigger,
            dir,
        }
    }

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("admin.sqlite").display())
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("telegram stops")
            .unwrap();
    }

    async fn audit(&self) -> Vec<AuditRecord> {
        self.app.store.recent_audit(1000).await.unwrap()
    }
}

/// `text` from `user` in their private chat; the next message the bot sends there.
async fn ask(fake: &FakeTelegram, user: i64, text: &str) -> Call {
    fake.ask_private(user, text, WAIT).await
}

/// Push a press and return the text of its answerCallbackQuery ("" when none).
async fn press(fake: &FakeTelegram, p: &CallbackPress) -> String {
    fake.press_answered(p, WAIT).await
}

fn discord_invocation(user: &str, command: &str) -> Invocation {
    Invocation {
        request_id: format!("dc-{command}-1"),
        user: UserRef {
            platform: Platform::Discord,
            id: user.into(),
            display_name: None,
            username: None,
        },
        chat: ChatRef {
            platform: Platform::Discord,
            id: "4000".into(),
            kind: ChatKind::Group,
        },
        locale: None,
        chat_admin: false,
        command: command.into(),
        input: RawInput::Text(String::new()),
        reply_to: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_is_per_account_and_every_denial_and_refused_press_is_a_row() {
    let fake = FakeTelegram::start().await;
    let bot = Bot::start(&fake).await;

    assert!(
        ask(&fake, TRADER, "/help")
            .await
            .text()
            .unwrap()
            .contains("/report")
    );
    ask(&fake, TRADER, "/report btc").await;
    // The same person on Discord, before linking: a row of another account.
    bot.app.commands.run(&discord_invocation("900", "help")).await;

    // A trader is denied every /admin sub-command, and it is audited as denied.
    for sub in ["status", "audit", "broadcast hello"] {
        let denied = ask(&fake, TRADER, &format!("/admin {sub}")).await;
        assert!(
            denied
                .text()
                .unwrap()
                .contains("Only the bot's admins can do that."),
            "{denied:?}"
        );
    }
    // A made-up button, and the admin's Confirm pressed by the trader: refused, audited.
    let fake_button = format!("a:{}:y", "0".repeat(32));
    let said = press(&fake, &CallbackPress::new(TRADER, TRADER, 1, fake_button)).await;
    assert_eq!(said, "This button is no longer valid.");
    let preview = ask(&fake, ADMIN, "/admin broadcast Hello traders").await;
    assert!(
        preview
            .text()
            .unwrap()
            .contains("Send this to 0 subscribed chats?"),
        "{preview:?}"
    );
    let confirm = preview.buttons()[0].1.clone();
    let said = press(
        &fake,
        &CallbackPress::new(TRADER, ADMIN, preview.message_id().unwrap(), confirm),
    )
    .await;
    assert_eq!(said, "This button is for the person who asked.");

    let audit = bot.audit().await;
    let denied: Vec<(&str, &str, Option<&str>)> = audit
        .iter()
        .filter(|r| r.platform_user_id == TRADER.to_string() && r.outcome == "denied")
        .map(|r| (r.command.as_str(), r.args.as_str(), r.detail.as_deref()))
        .collect();
    assert_eq!(
        denied,
        [
            ("admin", "pressed confirm", Some("not_yours")),
            ("button", "pressed confirm", Some("unknown")),
            ("admin", "", Some("needs_admin")),
            ("admin", "", Some("needs_admin")),
            ("admin", "", Some("needs_admin")),
        ],
        "{audit:#?}"
    );
    let trader_account = bot.app.store.account_of("telegram", "5").await.unwrap();
    assert!(trader_account.is_some());
    assert!(
        audit
            .iter()
            .filter(|r| r.platform_user_id == "5")
            .all(|r| r.account_id == trader_account && r.request_id.is_some()),
        "{audit:#?}"
    );

    // Linking (the accounts work) joins Discord 900 to the Telegram account: /audit on
    // Telegram now shows both platforms, newest first, and never arguments.
    {
        use sqlx::Connection;
        let mut raw = sqlx::SqliteConnection::connect(&Bot::url(&bot.dir))
            .await
            .unwrap();
        sqlx::query(
            "UPDATE user_identities SET user_id = (SELECT user_id FROM user_identities \
             WHERE platform = 'telegram' AND platform_user_id = '5') \
             WHERE platform = 'discord' AND platform_user_id = '900'",
        )
        .execute(&mut raw)
        .await
        .unwrap();
    }
    let own = ask(&fake, TRADER, "/audit").await;
    let text = own.text().unwrap();
    assert!(text.contains("Your last actions"), "{text}");
    assert!(text.contains("discord") && text.contains("telegram"), "{text}");
    assert!(text.contains("/report") && text.contains("denied"), "{text}");
    assert!(
        !text.contains("btc") && !text.contains("Hello"),
        "no arguments: {text}"
    );
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("/admin")).collect();
    assert_eq!(lines.len(), 4, "{text}");
    // Another person's /audit shows only theirs.
    let other = ask(&fake, 6, "/audit").await;
    assert!(!other.text().unwrap().contains("/report"), "{other:?}");

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_audit_attaches_csv_above_twenty_rows_and_filters() {
    let fake = FakeTelegram::start().await;
    let bot = Bot::start(&fake).await;
    ask(&fake, TRADER, "/help").await;
    let now = chrono::Utc::now();
    for i in 0..25 {
        bot.app
            .store
            .record_audit(&AuditEntry {
                at: now - chrono::Duration::minutes(30) + chrono::Duration::seconds(i),
                platform: "telegram".into(),
                platform_user_id: "8".into(),
                platform_chat_id: "8".into(),
                command: "report".into(),
                args: format!("=cmd|' /C calc'!A{i}"),
                outcome: Outcome::Ok,
                detail: None,
                duration_ms: 5,
                account_id: None,
                request_id: Some(format!("r{i}")),
            })
            .await
            .unwrap();
    }
    // An old row, outside the default 24 hours.
    let old = AuditEntry {
        at: now - chrono::Duration::days(3),
        platform: "telegram".into(),
        platform_user_id: "9".into(),
        platform_chat_id: "9".into(),
        command: "summary".into(),
        args: String::new(),
        outcome: Outcome::Failed,
        detail: Some("internal".into()),
        duration_ms: 5,
        account_id: None,
        request_id: None,
    };
    bot.app.store.record_audit(&old).await.unwrap();

    let reply = ask(&fake, ADMIN, "/admin audit n=100").await;
    let text = reply.text().unwrap();
    assert!(
        text.contains("26 rows"),
        "25 + /help (this one is written after): {text}"
    );
    assert!(text.contains("The first 20 of 26 rows"), "{text}");
    assert!(!text.contains("summary"), "older than 24h: {text}");
    let docs = fake.wait_for_calls("senddocument", 1, WAIT).await;
    let doc = &docs[0].body["document"];
    assert!(doc["filename"].as_str().unwrap().ends_with(".csv"));
    let csv = doc["content"].as_str().unwrap();
    assert!(
        csv.starts_with("id,at,account_id,platform,platform_user_id"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 27, "{csv}");
    assert!(csv.contains("'=cmd"), "formulas are defused: {csv}");

    // Filters: a user by id, a command, a longer window, a row count; 20 or fewer: no CSV.
    let reply = ask(&fake, ADMIN, "/admin audit 5 command=help").await;
    let text = reply.text().unwrap();
    assert!(text.contains("1 rows") && text.contains("telegram:5"), "{text}");
    let reply = ask(&fake, ADMIN, "/admin audit command=summary since=7d").await;
    assert!(reply.text().unwrap().contains("telegram:9"), "{reply:?}");
    let reply = ask(&fake, ADMIN, "/admin audit n=3").await;
    assert!(reply.text().unwrap().contains("3 rows"), "{reply:?}");
    let reply = ask(&fake, ADMIN, "/admin audit 123456").await;
    assert!(
        reply
            .text()
            .unwrap()
            .contains("I don't know anyone called 123456."),
        "{reply:?}"
    );
    assert_eq!(fake.calls_of("senddocument").len(), 1);

    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_status_lists_version_database_adapters_schedules_and_errors() {
    let fake = FakeTelegram::start().await;
    let bot = Bot::start(&fake).await;
    bot.app.commands.services().status.record_error("scheduler:send");
    let reply = ask(&fake, ADMIN, "/admin status").await;
    let text = reply.text().unwrap();
    for part in [
        "Status",
        env!("CARGO_PKG_VERSION"),
        "SQLite",
        "telegram (connected)",
        "AI tokens today",
        "Open positions",
        "Pending approvals",
        "Owner notices waiting to be sent",
        "daily-report: ",
        "scheduler:send",
    ] {
        assert!(text.contains(part), "{part:?} missing: {text}");
    }
    // `/admin` alone is the status; Polish in a Polish chat.
    let reply = ask(&fake, ADMIN, "/admin").await;
    assert!(reply.text().unwrap().contains("Uptime"), "{reply:?}");
    ask(&fake, ADMIN, "/lang pl").await;
    let reply = ask(&fake, ADMIN, "/admin status").await;
    assert!(reply.text().unwrap().contains("Czas działania"), "{reply:?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_broadcast_previews_then_goes_to_each_subscribed_chat_once() {
    let fake = FakeTelegram::start().await;
    let bot = Bot::start(&fake).await;
    let chats = [-301_i64, -302, -303];
    for (i, chat) in chats.iter().enumerate() {
        let key = ChatKey {
            platform: "telegram".into(),
            platform_chat_id: chat.to_string(),
        };
        bot.app
            .store
            .subscribe(&key, if i == 0 { "alerts" } else { "reports" })
            .await
            .unwrap();
        if i == 0 {
            bot.app.store.subscribe(&key, "reports").await.unwrap();
            bot.app.store.set_chat_locale(&key, "pl").await.unwrap();
        }
    }
    let empty = ask(&fake, ADMIN, "/admin broadcast").await;
    assert!(empty.text().unwrap().contains("/admin broadcast"), "{empty:?}");
    let preview = ask(&fake, ADMIN, "/admin broadcast Exchange maintenance at 22:00").await;
    assert!(
        preview
            .text()
            .unwrap()
            .contains("Send this to 3 subscribed chats?"),
        "{preview:?}"
    );
    let buttons = preview.buttons();
    assert_eq!(
        buttons.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["Confirm", "Cancel"]
    );
    let id = preview.message_id().unwrap();
    press(&fake, &CallbackPress::new(ADMIN, ADMIN, id, buttons[0].1.clone())).await;
    let edited = fake
        .wait_until(WAIT, |calls| calls.iter().any(|c| c.method == "editmessagetext"))
        .await;
    let edit = edited.iter().find(|c| c.method == "editmessagetext").unwrap();
    assert!(
        edit.text()
            .unwrap()
            .contains("Broadcast #1 is on its way to 3 chats."),
        "{edit:?}"
    );
    // A second press does nothing.
    let again = press(&fake, &CallbackPress::new(ADMIN, ADMIN, id, buttons[0].1.clone())).await;
    assert_eq!(again, "This was already answered; nothing was done again.");

    // The scheduler fans it out through the Telegram outbox; a second tick, or another
    // scheduler, sends nothing more.
    let mut outboxes = Outboxes::new();
    outboxes.insert(
        "telegram".into(),
        Arc::new(TelegramOutbox(bot.started.sender.clone())) as Arc<dyn Outbox>,
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let s = Scheduler::new(&bot.app, clock.clone(), outboxes.clone(), "one");
    let report = s.tick().await;
    assert_eq!(report.broadcasts, [1]);
    assert!(s.tick().await.broadcasts.is_empty());
    assert!(
        Scheduler::new(&bot.app, clock, outboxes, "two")
            .tick()
            .await
            .broadcasts
            .is_empty()
    );
    let calls = fake.calls();
    for chat in chats {
        // (The default schedules may post too, within their grace window.)
        let sent: Vec<Call> = sends_to(&calls, chat)
            .into_iter()
            .filter(|c| c.text().is_some_and(|t| t.contains("maintenance")))
            .collect();
        assert_eq!(sent.len(), 1, "chat {chat}: {sent:?}");
        let text = sent[0].text().unwrap();
        assert!(text.contains("Exchange maintenance at 22:00"), "{text}");
        let title = if chat == -301 {
            "Ogłoszenie"
        } else {
            "Announcement"
        };
        assert!(text.contains(title), "{text}");
    }
    bot.stop().await;
}
