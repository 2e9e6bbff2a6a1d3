//! The command contract of issue 12 through the real `Commands` and the console adapter:
//! Confirm/Cancel buttons claimed once, request ids that make a retry harmless, the
//! per-user rate limit, typed options with a localized usage line.

use chainsignal::app::App;
use chainsignal::console;
use chainsignal_commands::{ActionPress, ChatKind, ChatRef, Invocation, Platform, RawInput, UserRef};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use secrecy::SecretString;

async fn app(dir: &tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::default();
    config.alerts.enabled = false;
    tweak(&mut config);
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("v2.sqlite").display()));
    App::build(config, Some(Source::Demo), Some(url)).await.unwrap()
}

/// A Telegram command's answer as text.
async fn ask(app: &App, user: &str, chat: &str, command: &str, raw: &str, request_id: &str) -> String {
    app.commands
        .run(&telegram(user, chat, command, raw, request_id))
        .await
        .to_plain_text()
}

async fn session(app: &App, input: &str) -> String {
    let mut out = Vec::new();
    console::serve(&app.commands, input.as_bytes(), &mut out, false)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

fn telegram(user: &str, chat: &str, command: &str, raw: &str, request_id: &str) -> Invocation {
    Invocation {
        request_id: request_id.into(),
        user: UserRef {
            platform: Platform::Telegram,
            id: user.into(),
            display_name: None,
            username: None,
        },
        chat: ChatRef {
            platform: Platform::Telegram,
            id: chat.into(),
            kind: if chat.starts_with('-') {
                ChatKind::Group
            } else {
                ChatKind::Private
            },
        },
        locale: None,
        chat_admin: false,
        command: command.into(),
        input: RawInput::Text(raw.into()),
        reply_to: None,
    }
}

#[tokio::test]
async fn console_confirm_and_cancel_are_numbered_and_act_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {}).await;
    let out = session(
        &app,
        "/schedule add night 0 1 * * * UTC\n/schedule add noon 0 12 * * * UTC\n\
         /schedule remove night\n/confirm 1\n/confirm 1\n/cancel 2\n\
         /schedule remove noon\n/cancel 4\n/confirm 3\n/confirm 99\n",
    )
    .await;
    assert!(out.contains("Remove schedule night (0 1 * * *, UTC)?"), "{out}");
    assert!(
        out.contains("[Confirm: /confirm 1]") && out.contains("[Cancel: /cancel 2]"),
        "{out}"
    );
    assert!(out.contains("Schedule night removed."), "{out}");
    assert_eq!(
        out.matches("This was already answered; nothing was done again.")
            .count(),
        3,
        "the second Confirm, the Cancel after it, and the Confirm after a Cancel: {out}"
    );
    assert!(out.contains("Cancelled. Nothing was done."), "{out}");
    assert!(
        out.contains("This button is no longer valid."),
        "an unknown number: {out}"
    );
    let names: Vec<String> = app
        .store
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["noon"], "night removed once, noon kept by Cancel");
    let audit = app.store.recent_audit(50).await.unwrap();
    let confirmed: Vec<_> = audit
        .iter()
        .filter(|a| a.command == "schedule" && a.args.starts_with("confirm"))
        .collect();
    assert_eq!(confirmed.len(), 1, "{audit:?}");
    assert_eq!(confirmed[0].outcome, "ok");
}

#[tokio::test]
async fn a_retried_event_does_its_work_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| c.admins.telegram = vec!["1".into()]).await;
    let add = telegram("1", "1", "schedule", "add once 0 3 * * * UTC", "u100");
    let first = app.commands.run(&add).await.to_plain_text();
    assert!(first.starts_with("Schedule once added"), "{first}");
    let again = app.commands.run(&add).await.to_plain_text();
    assert_eq!(again, "This request was handled already.");
    let audit = app.store.recent_audit(10).await.unwrap();
    assert_eq!(audit.iter().filter(|a| a.command == "schedule").count(), 1);

    // The same press delivered twice: one removal, the retry does nothing.
    let remove = telegram("1", "1", "schedule", "remove once", "u101");
    let preview = app.commands.run(&remove).await;
    let data = preview.buttons[0].data.clone();
    let press = ActionPress {
        request_id: "c-7".into(),
        user: remove.user.clone(),
        chat: remove.chat.clone(),
        locale: None,
        chat_admin: false,
        data,
    };
    let done = app.commands.on_action(&press).await.reply().to_plain_text();
    assert_eq!(done, "Schedule once removed.");
    let retry = app.commands.on_action(&press).await.reply().to_plain_text();
    assert_eq!(retry, "This request was handled already.");
}

#[tokio::test]
async fn confirm_is_for_the_asker_only_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| c.admins.telegram = vec!["1".into(), "2".into()]).await;
    for name in ["a", "b"] {
        let add = telegram("1", "-5", "schedule", &format!("add {name} 0 3 * * * UTC"), "");
        assert!(app.commands.run(&add).await.to_plain_text().contains("added"));
    }
    let preview = app
        .commands
        .run(&telegram("1", "-5", "schedule", "remove a", "r1"))
        .await;
    let confirm = preview.buttons.iter().find(|b| b.data.ends_with(":y")).unwrap();
    let press = |user: &str, id: &str| ActionPress {
        request_id: id.into(),
        user: UserRef {
            platform: Platform::Telegram,
            id: user.into(),
            display_name: None,
            username: None,
        },
        chat: ChatRef {
            platform: Platform::Telegram,
            id: "-5".into(),
            kind: ChatKind::Group,
        },
        locale: None,
        chat_admin: false,
        data: confirm.data.clone(),
    };
    // Another admin of the same group: not theirs to press.
    let other = app.commands.on_action(&press("2", "c1")).await;
    assert!(matches!(other, chainsignal_commands::ActionAnswer::Notice(_)));
    assert_eq!(
        other.reply().to_plain_text(),
        "This button is for the person who asked."
    );
    assert_eq!(app.store.schedules().await.unwrap().len(), 2);
    assert!(
        app.commands
            .on_action(&press("1", "c2"))
            .await
            .reply()
            .to_plain_text()
            .contains("Schedule a removed")
    );

    // Expired: the row's expiry passed (the clock moved on).
    let preview = app
        .commands
        .run(&telegram("1", "-5", "schedule", "remove b", "r2"))
        .await;
    let data = preview.buttons[0].data.clone();
    let token = data.split(':').nth(1).unwrap().to_string();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("v2.sqlite").display()))
        .await
        .unwrap();
    sqlx::query("UPDATE pending_actions SET expires_at = $1 WHERE token = $2")
        .bind(chrono::Utc::now() - chrono::Duration::seconds(1))
        .bind(&token)
        .execute(&pool)
        .await
        .unwrap();
    let expired = app
        .commands
        .on_action(&ActionPress {
            data,
            ..press("1", "c3")
        })
        .await;
    assert_eq!(
        expired.reply().to_plain_text(),
        "This button has expired. Run the command again."
    );
    assert_eq!(app.store.schedules().await.unwrap().len(), 1, "b is still there");
}

#[tokio::test]
async fn rate_limits_typed_errors_and_access() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| c.limits.commands_per_minute = 2).await;
    let run = |raw: &str, id: &str| {
        let inv = telegram("9", "9", "lang", raw, id);
        let commands = app.commands.clone();
        async move { commands.run(&inv).await.to_plain_text() }
    };
    let out = run("xx", "1").await;
    assert!(out.contains("language: “xx” is not one of en, pl."), "{out}");
    assert!(out.contains("Usage: /lang [en|pl]"), "{out}");
    assert!(run("en", "2").await.contains("English"));
    let limited = run("pl", "3").await;
    assert!(limited.starts_with("Slow down: try again in "), "{limited}");
    let audit = app.store.recent_audit(1).await.unwrap();
    assert_eq!(audit[0].outcome, "denied");
    assert_eq!(audit[0].detail.as_deref(), Some("rate_limited"));
    // Another person is not slowed down by the first.
    let other = ask(&app, "8", "8", "lang", "", "4").await;
    assert!(other.contains("Usage: /lang en or /lang pl"), "{other}");

    // A member of a group cannot run a bot admin's command; nobody is an admin by saying so.
    let denied = ask(&app, "8", "-8", "schedule", "list", "5").await;
    assert!(denied.contains("Only the bot's admins"), "{denied}");
}

#[tokio::test]
async fn schedule_rename_previews_then_renames_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {}).await;
    let out = session(
        &app,
        "/schedule add early 0 5 * * MON-FRI Europe/Warsaw report btc\n/schedule add late 0 22 * * * UTC\n\
         /schedule rename early late\n/schedule rename early b@d\n/schedule rename daily-report x\n\
         /schedule rename early dawn\n/confirm 1\n/confirm 1\n/schedule rename nothing x\n",
    )
    .await;
    assert!(out.contains("A schedule named late already exists"), "{out}");
    assert!(out.contains("cannot be a schedule name"), "{out}");
    assert!(out.contains("comes from the config file"), "{out}");
    assert!(out.contains("Rename schedule early to dawn?"), "{out}");
    assert!(out.contains("Schedule early is now dawn."), "{out}");
    assert!(out.contains("This was already answered"), "{out}");
    assert!(out.contains("There is no schedule named nothing"), "{out}");
    let stored = app.store.schedules().await.unwrap();
    let names: Vec<&str> = stored.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["dawn", "late"]);
    let dawn = &stored[0];
    assert_eq!(
        (dawn.cron.as_str(), dawn.timezone.as_str(), dawn.symbols.as_str()),
        ("0 5 * * MON-FRI", "Europe/Warsaw", "BTCUSDT"),
        "everything but the name is kept"
    );
}

#[tokio::test]
async fn pruned_buttons_and_request_ids_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| c.admins.telegram = vec!["1".into()]).await;
    let add = telegram("1", "1", "schedule", "add keep 0 3 * * * UTC", "u1");
    assert!(app.commands.run(&add).await.to_plain_text().contains("added"));
    let preview = app
        .commands
        .run(&telegram("1", "1", "schedule", "remove keep", "u2"))
        .await;
    let data = preview.buttons[0].data.clone();
    // Nothing is pruned that is still young.
    let now = chrono::Utc::now();
    assert_eq!(
        app.store
            .prune_commands_state(now - chrono::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    // A week and a day later, both are gone.
    let removed = app
        .store
        .prune_commands_state(now + chrono::Duration::days(8))
        .await
        .unwrap();
    assert_eq!(removed, 3, "one pending action and two request ids");
    let press = ActionPress {
        request_id: "c1".into(),
        user: add.user.clone(),
        chat: add.chat.clone(),
        locale: None,
        chat_admin: false,
        data,
    };
    assert_eq!(
        app.commands.on_action(&press).await.reply().to_plain_text(),
        "This button is no longer valid."
    );
    assert_eq!(app.store.schedules().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failed_confirmation_gives_its_button_back_and_other_chats_cannot_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |c| c.admins.telegram = vec!["1".into()]).await;
    let run = |raw: &str, id: &str| {
        let inv = telegram("1", "1", "schedule", raw, id);
        let commands = app.commands.clone();
        async move { commands.run(&inv).await }
    };
    assert!(
        run("add early 0 5 * * * UTC", "1")
            .await
            .to_plain_text()
            .contains("added")
    );
    let preview = run("rename early dawn", "2").await;
    let data = preview.buttons[0].data.clone();
    let press = |chat: &str, id: &str| ActionPress {
        request_id: id.into(),
        user: UserRef {
            platform: Platform::Telegram,
            id: "1".into(),
            display_name: None,
            username: None,
        },
        chat: ChatRef {
            platform: Platform::Telegram,
            id: chat.into(),
            kind: ChatKind::Private,
        },
        locale: None,
        chat_admin: false,
        data: data.clone(),
    };
    // The same data pressed in another chat: refused, and the button is not used up.
    let elsewhere = app.commands.on_action(&press("2", "c1")).await;
    assert_eq!(
        elsewhere.reply().to_plain_text(),
        "This button is no longer valid."
    );
    // Someone takes the new name before the Confirm: the confirmation fails, says why,
    // and the button still works once the name is free again.
    assert!(
        run("add dawn 0 6 * * * UTC", "3")
            .await
            .to_plain_text()
            .contains("added")
    );
    let failed = app.commands.on_action(&press("1", "c2")).await;
    assert!(matches!(failed, chainsignal_commands::ActionAnswer::Notice(_)));
    assert!(
        failed
            .reply()
            .to_plain_text()
            .contains("A schedule named dawn already exists"),
        "{}",
        failed.reply().to_plain_text()
    );
    assert!(app.store.remove_schedule("dawn").await.unwrap());
    let done = app.commands.on_action(&press("1", "c3")).await;
    assert_eq!(done.reply().to_plain_text(), "Schedule early is now dawn.");
    let names: Vec<String> = app
        .store
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["dawn"]);
}

#[tokio::test]
async fn refresh_keeps_the_pairs_as_asked_and_reuses_its_button() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {}).await;
    let out = session(&app, "/report eth/btc sol\n/press 1\n/press 1\n").await;
    assert!(
        !out.contains("ETHBTCUSDT"),
        "a stored ETHBTC is not a bare asset:\n{out}"
    );
    assert_eq!(out.matches("[Refresh: /press").count(), 3, "{out}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("v2.sqlite").display()))
        .await
        .unwrap();
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pending_actions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1, "a Refresh press keeps its button, it does not add one");
}

#[tokio::test]
async fn start_takes_a_link_payload_and_help_explains_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, |_| {}).await;
    let start = ask(&app, "5", "5", "start", "ref-campaign-7", "s1").await;
    assert!(start.contains("/report"), "a greeting and the commands: {start}");
    let help = ask(&app, "5", "5", "help", "/schedule", "s2").await;
    assert!(help.starts_with("/schedule"), "{help}");
    assert!(help.contains("/schedule rename <name> <new_name>"), "{help}");
}
