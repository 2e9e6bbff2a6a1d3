//! Commands v2 on Telegram (issue 12): inline keyboards, callback queries answered and
//! edited, Confirm/Cancel claimed exactly once (twice, by another user, after expiry,
//! after a restart on another instance over PostgreSQL, two instances at once), Refresh
//! by anyone, private answers in groups, and request ids against redelivery. The real
//! teloxide client against the fake Bot API on 127.0.0.1.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::telegram::{self, Started};
use chainsignal_core::config::{Config, TelegramMode};
use chainsignal_core::market::Source;
use chainsignal_core::store::AuditRecord;
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_telegram::{
    CANT_INITIATE, Call, CallbackPress, Failure, FakeTelegram, IncomingMessage, PressedMessage, sends_to,
};
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The bot admin of every test (config `admins.telegram`).
const ADMIN: i64 = 77;

const ALREADY: &str = "This was already answered; nothing was done again.";
const NOT_YOURS: &str = "This button is for the person who asked.";
const EXPIRED: &str = "This button has expired. Run the command again.";
const NO_LONGER: &str = "This button is no longer valid.";
const HANDLED: &str = "This request was handled already.";

struct Bot {
    app: App,
    started: Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
    db: String,
}

impl Bot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("telegram stops")
            .unwrap();
    }

    async fn schedule_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .app
            .store
            .schedules()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort();
        names
    }

    async fn audit(&self) -> Vec<AuditRecord> {
        self.app.store.recent_audit(1000).await.unwrap()
    }

    /// Audit rows of the confirmed `/schedule remove NAME`.
    async fn confirmed_removals(&self, name: &str) -> Vec<AuditRecord> {
        self.audit()
            .await
            .into_iter()
            .filter(|a| a.command == "schedule" && a.args.starts_with("confirm") && a.args.contains(name))
            .collect()
    }
}

/// A bot on SQLite in a temp dir (`db: None`) or on the given database URL.
async fn start(fake: &FakeTelegram, db: Option<&str>, tweak: impl FnOnce(&mut Config)) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    config.admins.telegram = vec![ADMIN.to_string()];
    tweak(&mut config);
    let db = db
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("tg.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(SecretString::from(db.clone())))
        .await
        .unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
    Bot {
        app,
        started,
        trigger,
        _dir: dir,
        db,
    }
}

/// Send `text` as `user` in `chat` (private when `chat == user`) and wait for the next
/// message the bot sends to `reply_chat`.
async fn ask(fake: &FakeTelegram, user: i64, chat: i64, text: &str, reply_chat: i64) -> Call {
    let before = sends_to(&fake.calls(), reply_chat).len();
    let mut m = IncomingMessage::private(user, text);
    if chat != user {
        m = m.in_supergroup(chat);
    }
    fake.push_message(&m);
    let calls = fake
        .wait_until(WAIT, |calls| sends_to(calls, reply_chat).len() > before)
        .await;
    sends_to(&calls, reply_chat)[before].clone()
}

/// `/schedule add NAME …` by the admin in their private chat.
async fn add_schedule(fake: &FakeTelegram, name: &str) {
    let reply = ask(
        fake,
        ADMIN,
        ADMIN,
        &format!("/schedule add {name} 0 8 * * * UTC report btc"),
        ADMIN,
    )
    .await;
    assert!(
        reply.text().unwrap().contains(&format!("Schedule {name} added")),
        "{reply:?}"
    );
}

/// The preview of `/schedule remove NAME` asked by the admin in `chat`: its message id and
/// the data of Confirm and Cancel.
async fn remove_preview(fake: &FakeTelegram, chat: i64, name: &str) -> (i64, String, String) {
    let preview = ask(fake, ADMIN, chat, &format!("/schedule remove {name}"), chat).await;
    assert!(
        preview
            .text()
            .unwrap()
            .contains(&format!("Remove schedule {name}")),
        "{preview:?}"
    );
    let buttons = preview.buttons();
    assert_eq!(buttons.len(), 2, "Confirm and Cancel: {buttons:?}");
    assert_eq!(buttons[0].0, "Confirm");
    assert_eq!(buttons[1].0, "Cancel");
    for (_, data) in &buttons {
        assert!(data.len() <= 64 && data.starts_with("a:"), "{data}");
    }
    (
        preview.message_id().expect("the fake answered a Message"),
        buttons[0].1.clone(),
        buttons[1].1.clone(),
    )
}

/// Push `press` and wait for its answerCallbackQuery; the answer's text ("" when none).
async fn press(fake: &FakeTelegram, press: &CallbackPress) -> String {
    let (_, id) = fake.push_callback(press);
    answered(fake, &id).await
}

async fn answered(fake: &FakeTelegram, id: &str) -> String {
    let call = fake.callback_answer(id, WAIT).await;
    if call.body.get("text").is_some() {
        assert_eq!(call.body["show_alert"], false, "a toast, not an alert");
    }
    call.body["text"].as_str().unwrap_or_default().to_owned()
}

fn edits(fake: &FakeTelegram) -> Vec<Call> {
    fake.calls_of("editmessagetext")
}

/// a. Confirm pressed twice by the one who asked: removed once, the second press told
/// "already answered", one audit row for the confirmed removal. A press whose message is
/// gone is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_twice_removes_once() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    add_schedule(&fake, "nightly").await;
    add_schedule(&fake, "keep").await;
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "nightly").await;

    let first = press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await;
    assert_eq!(first, "", "the confirmation shows in the edited message");
    let edited = fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    assert_eq!(edited[0].chat_id(), Some(ADMIN));
    assert_eq!(edited[0].body["message_id"], message);
    assert_eq!(edited[0].body["parse_mode"], "HTML");
    assert_eq!(edited[0].text(), Some("Schedule nightly removed."));
    assert_eq!(
        edited[0].body["reply_markup"],
        json!({"inline_keyboard": []}),
        "the buttons are gone"
    );

    let second = press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await;
    assert_eq!(second, ALREADY);
    assert_eq!(bot.schedule_names().await, ["keep"]);
    let removals = bot.confirmed_removals("nightly").await;
    assert_eq!(removals.len(), 1, "{removals:?}");
    assert_eq!(removals[0].outcome, "ok");
    assert_eq!(edits(&fake).len(), 1, "the second press edited nothing");

    // A press on a message Telegram no longer shows, or without one: answered all the same.
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "keep").await;
    for gone in [PressedMessage::Inaccessible, PressedMessage::Missing] {
        let text = press(
            &fake,
            &CallbackPress::new(ADMIN, ADMIN, message, &confirm).message(gone),
        )
        .await;
        assert_eq!(text, NO_LONGER, "{gone:?}");
    }
    assert_eq!(bot.schedule_names().await, ["keep"], "nothing was done");
    bot.stop().await;
}

/// answerCallbackQuery is required but bounded: a server that never answers it does not
/// hold the edit (the adapter waits 2 s for it, then edits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_callback_answer_does_not_hold_the_edit() {
    const BOUND: Duration = Duration::from_secs(4);
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    add_schedule(&fake, "nightly").await;
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "nightly").await;

    fake.fail("answerCallbackQuery", Failure::Hang);
    fake.push_callback(&CallbackPress::new(ADMIN, ADMIN, message, &confirm));
    let calls = fake
        .wait_until(WAIT, |calls| calls.iter().any(|c| c.method == "editmessagetext"))
        .await;
    let asked = calls
        .iter()
        .find(|c| c.method == "answercallbackquery")
        .expect("the query was answered first");
    let edit = calls.iter().find(|c| c.method == "editmessagetext").unwrap();
    assert_eq!(edit.text(), Some("Schedule nightly removed."));
    let held = edit.at - asked.at;
    assert!(held < BOUND, "the edit waited {held:?} for the answer");
    assert!(bot.schedule_names().await.is_empty());
    fake.clear_failures("answerCallbackQuery");
    bot.stop().await;
}

/// b. In a group, another member's press is refused and does nothing; the one who asked
/// can still confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_press_is_refused() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    let group = -100_500;
    add_schedule(&fake, "nightly").await;
    let (message, confirm, cancel) = remove_preview(&fake, group, "nightly").await;

    for data in [&confirm, &cancel] {
        let text = press(&fake, &CallbackPress::new(8, group, message, data)).await;
        assert_eq!(text, NOT_YOURS);
    }
    assert_eq!(bot.schedule_names().await, ["nightly"]);
    assert!(edits(&fake).is_empty());

    let text = press(&fake, &CallbackPress::new(ADMIN, group, message, &confirm)).await;
    assert_eq!(text, "");
    let edited = fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    assert_eq!(edited[0].chat_id(), Some(group));
    assert_eq!(edited[0].body["message_id"], message);
    assert_eq!(edited[0].text(), Some("Schedule nightly removed."));
    assert!(bot.schedule_names().await.is_empty());
    assert_eq!(bot.confirmed_removals("nightly").await.len(), 1);
    bot.stop().await;
}

/// c. A Confirm pressed after its expiry is refused and does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_confirm_does_nothing() {
    use sqlx::Connection;
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    add_schedule(&fake, "nightly").await;
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "nightly").await;

    // Expire the row behind the button, through the app's own database file.
    let token = confirm.split(':').nth(1).unwrap().to_owned();
    let mut db = sqlx::SqliteConnection::connect(&bot.db).await.unwrap();
    let expired = sqlx::query("UPDATE pending_actions SET expires_at = created_at WHERE token = $1")
        .bind(&token)
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(expired.rows_affected(), 1);
    db.close().await.unwrap();

    let text = press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await;
    assert_eq!(text, EXPIRED);
    assert_eq!(bot.schedule_names().await, ["nightly"]);
    assert!(bot.confirmed_removals("nightly").await.is_empty());
    assert!(edits(&fake).is_empty());
    bot.stop().await;
}

/// d. Over PostgreSQL: instance A shows the preview and stops; instance B takes the press,
/// removes once, and refuses a second press. Then two instances pressed at once (same
/// data, different callback ids): exactly one removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_after_a_restart_on_another_instance_over_postgres() {
    let Some(pg) = TempPostgres::create("confirm_after_a_restart_on_another_instance_over_postgres").await
    else {
        return;
    };
    let fake = FakeTelegram::start().await;
    let a = start(&fake, Some(&pg.url), |_| {}).await;
    add_schedule(&fake, "nightly").await;
    add_schedule(&fake, "twice").await;
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "nightly").await;
    a.stop().await;

    let b = start(&fake, Some(&pg.url), |_| {}).await;
    let text = press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await;
    assert_eq!(text, "");
    let edited = fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    assert_eq!(edited[0].text(), Some("Schedule nightly removed."));
    assert_eq!(edited[0].body["message_id"], message);
    let text = press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await;
    assert_eq!(text, ALREADY);
    assert_eq!(b.schedule_names().await, ["twice"]);
    assert_eq!(b.confirmed_removals("nightly").await.len(), 1);

    // Two instances, each with its own Telegram connection, get the same press at once.
    let (message, confirm, _) = remove_preview(&fake, ADMIN, "twice").await;
    let other_fake = FakeTelegram::start().await;
    let c = start(&other_fake, Some(&pg.url), |_| {}).await;
    other_fake.wait_for_calls("getupdates", 1, WAIT).await;
    let edits_before = edits(&fake).len();
    let same = CallbackPress::new(ADMIN, ADMIN, message, &confirm);
    let (_, on_b) = fake.push_callback(&same.clone().id("press-on-b"));
    let (_, on_c) = other_fake.push_callback(&same.id("press-on-c"));
    let (b_text, c_text) = tokio::join!(answered(&fake, &on_b), answered(&other_fake, &on_c));
    let mut texts = [b_text.clone(), c_text];
    texts.sort();
    assert_eq!(texts, ["".to_string(), ALREADY.to_string()]);
    // The winner edits its message (after answering): wait for that edit, then count.
    if b_text.is_empty() {
        fake.wait_for_calls("editmessagetext", edits_before + 1, WAIT)
            .await;
    } else {
        other_fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    }
    assert_eq!(
        edits(&fake).len() - edits_before + edits(&other_fake).len(),
        1,
        "one instance did the work"
    );
    assert!(c.schedule_names().await.is_empty());
    assert_eq!(c.confirmed_removals("twice").await.len(), 1);
    b.stop().await;
    c.stop().await;
    pg.drop_db().await;
}

/// e. Cancel edits the message to "Cancelled…"; a later Confirm is already answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_confirm_does_nothing() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    add_schedule(&fake, "nightly").await;
    let (message, confirm, cancel) = remove_preview(&fake, ADMIN, "nightly").await;

    assert_eq!(
        press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &cancel)).await,
        ""
    );
    let edited = fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    assert_eq!(edited[0].text(), Some("Cancelled. Nothing was done."));
    assert_eq!(edited[0].body["message_id"], message);
    assert_eq!(edited[0].body["reply_markup"], json!({"inline_keyboard": []}));

    assert_eq!(
        press(&fake, &CallbackPress::new(ADMIN, ADMIN, message, &confirm)).await,
        ALREADY
    );
    assert_eq!(bot.schedule_names().await, ["nightly"]);
    assert!(bot.confirmed_removals("nightly").await.is_empty());
    assert_eq!(edits(&fake).len(), 1);
    bot.stop().await;
}

/// f. A group command whose answer is private (an error) arrives in the asker's private
/// chat, not in the group; when Telegram refuses the private chat (403), the group gets
/// one short line saying to open a private chat, never the private content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_answers_in_groups_go_private() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    let group = -100_600;

    let private = ask(&fake, 8, group, "/lang xx", 8).await;
    let error = private.text().unwrap().to_owned();
    assert!(error.contains("“xx” is not one of"), "{error}");
    let usage = ask(&fake, 8, group, "/report symbols=btc symbols=eth", 8).await;
    assert!(usage.text().unwrap().contains("Usage: /report"), "{usage:?}");

    fake.never_started(9);
    let line = ask(&fake, 9, group, "/lang xx", group).await;
    let text = line.text().unwrap();
    assert!(
        text.contains("open a private chat with @chainsignal_test_bot"),
        "{text}"
    );
    let refused: Vec<Call> = fake
        .calls_of("sendmessage")
        .into_iter()
        .filter(|c| c.chat_id() == Some(9))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].status, 403, "{CANT_INITIATE}");
    assert!(refused[0].text().unwrap().contains("“xx” is not one of"));

    // Nothing private ever reached the group: only the one line.
    let to_group = sends_to(&fake.calls(), group);
    assert_eq!(to_group.len(), 1, "{to_group:?}");
    assert!(!to_group[0].text().unwrap().contains("xx"));

    // A public answer in the group stays there.
    let report = ask(&fake, 9, group, "/report btc", group).await;
    assert!(report.text().unwrap().contains("BTCUSDT"));
    bot.stop().await;
}

/// g. Refresh under a group report: another member presses it, the message is edited in
/// place with a fresh report; the same callback query delivered twice works once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_by_anyone_edits_in_place_once() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    let group = -100_700;
    let report = ask(&fake, 8, group, "/report btc", group).await;
    let buttons = report.buttons();
    assert_eq!(buttons.len(), 1, "{buttons:?}");
    assert_eq!(buttons[0].0, "Refresh");
    let message = report.message_id().unwrap();

    let refresh = CallbackPress::new(9, group, message, &buttons[0].1).id("refresh-1");
    assert_eq!(press(&fake, &refresh).await, "");
    let edited = fake.wait_for_calls("editmessagetext", 1, WAIT).await;
    assert_eq!(edited[0].chat_id(), Some(group));
    assert_eq!(edited[0].body["message_id"], message);
    assert!(edited[0].text().unwrap().contains("BTCUSDT"), "{:?}", edited[0]);
    assert_eq!(edited[0].buttons().len(), 1, "the fresh report keeps a Refresh");
    assert_eq!(edited[0].buttons()[0].0, "Refresh");

    // Telegram delivers the same callback query again: answered, nothing redone.
    let (_, id) = fake.push_callback(&refresh);
    let answers = fake
        .wait_until(WAIT, |calls| {
            calls
                .iter()
                .filter(|c| c.method == "answercallbackquery" && c.body["callback_query_id"] == id.as_str())
                .count()
                == 2
        })
        .await;
    let last = answers
        .iter()
        .rfind(|c| c.method == "answercallbackquery")
        .unwrap();
    assert_eq!(last.body["text"], HANDLED);
    assert_eq!(edits(&fake).len(), 1, "one refresh");
    let reports = bot
        .audit()
        .await
        .into_iter()
        .filter(|a| a.command == "report")
        .count();
    assert_eq!(reports, 2, "the report and one refresh");
    assert!(
        sends_to(&fake.calls(), group).len() == 1,
        "the refresh edited, it did not post"
    );
    bot.stop().await;
}

/// h. The same update delivered twice (a webhook retry) runs the command once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_update_runs_once() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |c| {
        c.telegram.mode = TelegramMode::Webhook;
        c.telegram.webhook_url = "https://bot.example.invalid/telegram/webhook".into();
        c.secrets.telegram_webhook_secret = Some(SecretString::from("s3cret".to_string()));
    })
    .await;
    let routes = chainsignal::http::router(bot.app.store.clone(), bot.started.webhook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await });
    let set = fake.wait_for_calls("setwebhook", 1, WAIT).await;
    let allowed = set[0].body["allowed_updates"].as_str().unwrap_or_default();
    assert!(
        allowed.contains("message") && allowed.contains("callback_query"),
        "{allowed}"
    );

    let update = json!({"update_id": 4242, "message": {"message_id": 1, "date": 1_700_000_000,
        "chat": {"id": 21, "type": "private", "first_name": "Ann"},
        "from": {"id": 21, "is_bot": false, "first_name": "Ann"},
        "text": "/report btc", "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}});
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = http
            .post(format!("http://{addr}/telegram/webhook"))
            .header("X-Telegram-Bot-Api-Secret-Token", "s3cret")
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let sent = fake
        .wait_until(WAIT, |calls| sends_to(calls, 21).len() >= 2)
        .await;
    let sent = sends_to(&sent, 21);
    assert!(sent[0].text().unwrap().contains("BTCUSDT"));
    assert_eq!(sent[1].text(), Some(HANDLED));
    let reports: Vec<AuditRecord> = bot
        .audit()
        .await
        .into_iter()
        .filter(|a| a.command == "report")
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    bot.stop().await;
}

/// Polling asks Telegram for button presses too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_asks_for_callback_queries() {
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    let polls = fake.wait_for_calls("getupdates", 1, WAIT).await;
    let allowed = polls
        .iter()
        .find_map(|c| c.body.get("allowed_updates"))
        .cloned()
        .unwrap_or_default();
    assert!(
        allowed.to_string().contains("callback_query"),
        "{allowed} in {polls:?}"
    );
    bot.stop().await;
}

/// An anonymous group administrator and a channel write as Telegram's shared bots: they
/// are not people, get one line saying how to ask instead, and never become an account
/// (one account for every anonymous admin of every group).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_admins_and_channels_are_not_people() {
    use chainsignal_tests::fake_telegram::{CHANNEL_BOT, GROUP_ANONYMOUS_BOT};
    let fake = FakeTelegram::start().await;
    let bot = start(&fake, None, |_| {}).await;
    let group = -100_700;
    for sender in [GROUP_ANONYMOUS_BOT, CHANNEL_BOT] {
        for text in ["/link", "/report btc", "/subscribe reports"] {
            let line = ask(&fake, sender, group, text, group).await;
            assert!(
                line.text()
                    .unwrap()
                    .contains("anonymous administrators and channels"),
                "{text}: {line:?}"
            );
        }
        let account = bot
            .app
            .store
            .account_of("telegram", &sender.to_string())
            .await
            .unwrap();
        assert_eq!(account, None, "no account for {sender}");
    }
    // A person in the same group is answered as usual.
    let answer = ask(&fake, 8, group, "/report btc", group).await;
    assert!(answer.text().unwrap().contains("BTCUSDT"), "{answer:?}");
}
