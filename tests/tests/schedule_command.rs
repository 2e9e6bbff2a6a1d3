//! `/schedule add|remove` through the real commands: the grammar (kind words, names,
//! time zones, cron fields), one specific message per mistake, the symbol cap, on
//! SQLite and PostgreSQL.

use chainsignal::app::App;
use chainsignal_commands::{ChatKind, ChatRef, Invocation, Platform, RawInput, UserRef};
use chainsignal_core::config::{Config, ScheduleConfig};
use chainsignal_core::market::Source;
use chainsignal_tests::TempPostgres;
use secrecy::SecretString;

async fn app(url: &str) -> App {
    let mut config = Config::default();
    config.alerts.enabled = false;
    // User 7 is a bot admin, and sends more commands a minute than a person would.
    config.admins.telegram = vec!["7".into()];
    config.limits.commands_per_minute = 0;
    config.schedule = Some(vec![ScheduleConfig {
        name: "Daily-Report".into(),
        ..ScheduleConfig::default_daily()
    }]);
    App::build(
        config,
        Some(Source::Demo),
        Some(SecretString::from(url.to_string())),
    )
    .await
    .unwrap()
}

async fn run(app: &App, raw: &str) -> String {
    run_in(app, raw, None).await
}

async fn run_in(app: &App, raw: &str, lang: Option<chainsignal_commands::Locale>) -> String {
    app.commands.run(&invocation(raw, lang)).await.to_plain_text()
}

/// Run a command that asks for confirmation, check the preview, press Confirm.
async fn run_confirmed(app: &App, raw: &str) -> String {
    let invocation = invocation(raw, None);
    let preview = app.commands.run(&invocation).await;
    let confirm = preview
        .buttons
        .iter()
        .find(|b| b.data.ends_with(":y"))
        .unwrap_or_else(|| panic!("no Confirm button: {}", preview.to_plain_text()));
    let press = chainsignal_commands::ActionPress {
        request_id: format!("press-{raw}"),
        user: invocation.user.clone(),
        chat: invocation.chat.clone(),
        locale: None,
        chat_admin: false,
        data: confirm.data.clone(),
    };
    app.commands.on_action(&press).await.reply().to_plain_text()
}

fn invocation(raw: &str, lang: Option<chainsignal_commands::Locale>) -> Invocation {
    Invocation {
        user: UserRef {
            platform: Platform::Telegram,
            id: "7".into(),
            display_name: None,
            username: None,
        },
        chat: ChatRef {
            platform: Platform::Telegram,
            // A chat's language is set when first seen: another chat for another language.
            id: if lang.is_some() { "-301" } else { "-300" }.into(),
            kind: ChatKind::Group,
        },
        locale: lang,
        request_id: String::new(),
        chat_admin: false,
        command: "schedule".into(),
        input: RawInput::Text(raw.into()),
        reply_to: None,
    }
}

/// The stored schedules as (name, cron, zone, kind, symbols).
async fn stored(app: &App) -> Vec<(String, String, String, String, String)> {
    app.store
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.cron, s.timezone, s.kind, s.symbols))
        .collect()
}

async fn the_grammar(app: &App) {
    // A kind word where the kind goes is the kind, in any case; never a symbol.
    let out = run(app, "add morning 0 8 * * * UTC summary btc").await;
    assert!(out.starts_with("Schedule morning added"), "{out}");
    let out = run(app, "add noon 0 12 * * * utc REPORT eth,sol").await;
    assert!(out.starts_with("Schedule noon added"), "{out}");
    let out = run(app, "add evening 0 20 * * MON-FRI europe/warsaw Report+Summary").await;
    assert!(out.starts_with("Schedule evening added"), "{out}");
    let out = run(app, "add weekend 30 9 * JAN-MAR,dec sat,SUN UTC").await;
    assert!(out.starts_with("Schedule weekend added"), "{out}");
    let out = run(app, "add padded 05 07 01 * * UTC").await;
    assert!(out.starts_with("Schedule padded added"), "{out}");
    let rows = stored(app).await;
    let find = |n: &str| rows.iter().find(|r| r.0 == n).cloned().unwrap();
    assert_eq!(
        find("morning"),
        (
            "morning".into(),
            "0 8 * * *".into(),
            "UTC".into(),
            "report+summary".into(),
            "BTCUSDT".into()
        )
    );
    assert_eq!(find("noon").2, "UTC", "the zone is stored by its canonical name");
    assert_eq!(find("noon").3, "report");
    assert_eq!(find("noon").4, "ETHUSDT SOLUSDT");
    assert_eq!(find("evening").2, "Europe/Warsaw");
    assert_eq!(find("evening").3, "report+summary");
    assert!(
        rows.iter()
            .all(|r| !r.4.contains("SUMMARY") && !r.4.contains("REPORT")),
        "{rows:?}"
    );

    // Names are not case-sensitive: kept in lower case, unique whatever the case.
    let out = run(app, "add DUP 0 8 * * * UTC").await;
    assert!(out.starts_with("Schedule dup added"), "{out}");
    for raw in ["add dup 0 9 * * * UTC", "add Dup 0 9 * * * UTC"] {
        let out = run(app, raw).await;
        assert!(
            out.contains("A schedule named dup already exists"),
            "{raw}: {out}"
        );
    }
    let out = run(app, "add daily-report 0 9 * * * UTC").await;
    assert!(out.contains("already exists"), "the config's Daily-Report: {out}");
    assert_eq!(stored(app).await.iter().filter(|r| r.0 == "dup").count(), 1);
    let out = run(app, "remove DAILY-REPORT").await;
    assert!(out.contains("comes from the config file"), "{out}");
    let out = run(app, "remove DuP").await;
    assert!(out.contains("Remove schedule dup"), "a preview first: {out}");
    assert!(
        stored(app).await.iter().any(|r| r.0 == "dup"),
        "nothing removed yet"
    );
    let out = run_confirmed(app, "remove DuP").await;
    assert!(out.contains("Schedule dup removed"), "{out}");
    assert!(!stored(app).await.iter().any(|r| r.0 == "dup"));

    // One specific sentence per mistake.
    for (raw, want) in [
        (
            "add a 0 8 * * * UTC report summary",
            "“summary” is a kind: write it once, right after the time zone",
        ),
        (
            "add a 0 25 * * * UTC",
            "The hour field “25” is out of range: 0 to 23",
        ),
        (
            "add a +5 8 * * * UTC",
            "The minute field “+5”: numbers are digits only",
        ),
        (
            "add a 0005 8 * * * UTC",
            "The minute field “0005”: numbers are digits only",
        ),
        (
            "add a 0 8 * * MON-XYZ UTC",
            "The weekday field “MON-XYZ” is not valid",
        ),
        ("add a 0 8 * * FRI-MON UTC", "a range goes from low to high"),
        ("add a 0 8 * FOO * UTC", "The month field “FOO” is not valid"),
        ("add a */0 8 * * * UTC", "the step after / is a number from 1"),
        ("add a 0 0 31 2 * UTC", "“0 0 31 2 *” never fires"),
        ("add a 0 0 30 2 * UTC", "never fires"),
        ("add a 0 8 * * UTC btc", "five cron fields"),
        ("add a 0 8 * * * Mars/Base", "“Mars/Base” is not a time zone"),
        ("add a 0 8 * * * UTC b@d", "“b@d” is not a symbol"),
    ] {
        let out = run(app, raw).await;
        assert!(out.contains(want), "{raw}: {out}");
    }

    // Names are checked before anything is echoed.
    for raw in [
        "add @everyone 0 8 * * * UTC",
        "remove @everyone",
        "remove <b>x</b>",
        &format!("remove {}", "n".repeat(33)),
    ] {
        let out = run(app, raw).await;
        assert!(out.contains("cannot be a schedule name"), "{raw}: {out}");
        assert!(!out.contains("@everyone") && !out.contains("<b>"), "{raw}: {out}");
    }
    let out = run(app, "remove nothing").await;
    assert!(out.contains("There is no schedule named nothing"), "{out}");

    // The symbol cap of /report, here too.
    let many: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
    let out = run(app, &format!("add many 0 8 * * * UTC report {}", many.join(" "))).await;
    assert!(out.contains("At most 20 symbols"), "{out}");
    let out = run(app, &format!("add many 0 8 * * * UTC {}", many.join(","))).await;
    assert!(out.contains("At most 20 symbols"), "{out}");
    assert!(!stored(app).await.iter().any(|r| r.0 == "many"));
    let out = run(app, &format!("add many 0 8 * * * UTC {}", many[..20].join(" "))).await;
    assert!(out.starts_with("Schedule many added"), "{out}");

    // In Polish too.
    let out = run_in(
        app,
        "add b 0 25 * * * UTC",
        Some(chainsignal_commands::Locale::Pl),
    )
    .await;
    assert!(out.contains("godzina") && out.contains("25"), "{out}");
}

#[tokio::test]
async fn schedule_grammar_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    let app = app(&url).await;
    the_grammar(&app).await;
    app.store.close().await;
}

#[tokio::test]
async fn schedule_grammar_on_postgres() {
    let Some(db) = TempPostgres::create("schedule_grammar_on_postgres").await else {
        return;
    };
    let app = app(&db.url).await;
    the_grammar(&app).await;
    app.store.close().await;
    db.drop_db().await;
}
