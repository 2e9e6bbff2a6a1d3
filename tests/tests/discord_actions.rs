//! Commands v2 on Discord, end to end: the real serenity client (inside `chainsignal::discord`)
//! against the fake Discord, the real commands, SQLite (PostgreSQL for the restart on another
//! instance). Slash options are registered typed from the registry, sub-command options reach
//! the handler typed, and a Confirm button does its work exactly once: pressed twice, by
//! someone else, after expiry, after a restart on another instance, or delivered twice.

use chainsignal::app::App;
use chainsignal::discord::{self, Started};
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{AuditRecord, Store};
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_discord::{APP_ID, Call, FakeDiscord, Interaction, TOKEN, USER_ID};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// Someone in the channel who is not the bot admin who asked.
const OTHER_USER: u64 = 777_000_000_000_000_042;
const FLAG_EPHEMERAL: u64 = 64;
const DEFINITION: &str = "0 20 * * * Europe/Warsaw";

fn init_tracing() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,chainsignal=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

// ============================ helpers ============================

struct Bot {
    app: App,
    started: Started,
    trigger: ShutdownTrigger,
    /// The SQLite file, when the bot runs on SQLite.
    sqlite: Option<PathBuf>,
    _dir: tempfile::TempDir,
}

impl Bot {
    fn store(&self) -> &Store {
        &self.app.store
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("the discord task stops after shutdown")
            .expect("the discord task does not panic");
    }
}

/// A bot whose admin (config `admins.discord`) is the fake's default user, on SQLite or on
/// the database at `database`.
async fn start(fake: &FakeDiscord, database: Option<&str>) -> Bot {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    config.admins.discord = vec![USER_ID.to_string()];
    let file = dir.path().join("dc.sqlite");
    let url = match database {
        Some(url) => url.to_string(),
        None => format!("sqlite://{}", file.display()),
    };
    let app = App::build(config, Some(Source::Demo), Some(SecretString::from(url)))
        .await
        .unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
    Bot {
        app,
        started,
        trigger,
        sqlite: database.is_none().then_some(file),
        _dir: dir,
    }
}

fn global_commands_path() -> String {
    format!("/applications/{APP_ID}/commands")
}

async fn registered(fake: &FakeDiscord) -> Vec<Value> {
    let route = global_commands_path();
    fake.wait_for(
        |c| {
            c.iter()
                .any(|c| c.method == "PUT" && c.route() == route && c.ok())
        },
        WAIT,
    )
    .await;
    fake.registered_commands(None)
}

fn has_embed(m: &Value) -> bool {
    m["embeds"].as_array().is_some_and(|e| !e.is_empty())
}

fn shown(m: &Value) -> bool {
    has_embed(m) || m["content"].as_str().is_some_and(|c| !c.is_empty())
}

/// Content, embed titles and descriptions, without Markdown escapes.
fn visible_text(m: &Value) -> String {
    let mut out = m["content"].as_str().unwrap_or_default().to_string();
    for e in m["embeds"].as_array().into_iter().flatten() {
        for k in ["title", "description"] {
            out.push('\n');
            out.push_str(e[k].as_str().unwrap_or_default());
        }
    }
    out.replace('\\', "")
}

fn ephemeral(m: &Value) -> bool {
    m["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL != 0
}

/// Sends an interaction and waits for the first message the user sees.
async fn ask(fake: &FakeDiscord, ix: &Interaction) -> Value {
    fake.send_interaction(ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    msgs.into_iter().find(shown).unwrap()
}

/// The buttons of a message: (custom_id, style, label).
fn buttons(m: &Value) -> Vec<(String, u64, String)> {
    m["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap_or_default().to_string(),
                b["style"].as_u64().unwrap_or(0),
                b["label"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn calls_for(fake: &FakeDiscord, token: &str) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| c.path.contains(token))
        .collect()
}

fn summary(fake: &FakeDiscord, token: &str) -> Vec<String> {
    calls_for(fake, token).iter().map(Call::summary).collect()
}

/// `/schedule add name:NAME definition:…` by the bot admin.
async fn add_schedule(fake: &FakeDiscord, name: &str) {
    let ix = Interaction::command("schedule")
        .subcommand("add", &[("name", json!(name)), ("definition", json!(DEFINITION))]);
    let msg = ask(fake, &ix).await;
    assert!(
        visible_text(&msg).contains(&format!("Schedule {name} added")),
        "{}",
        visible_text(&msg)
    );
}

async fn schedule_names(store: &Store) -> Vec<String> {
    store
        .schedules()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect()
}

/// The preview of `/schedule remove name:NAME` by the bot admin, and its Confirm and Cancel
/// custom ids.
async fn removal_preview(fake: &FakeDiscord, name: &str) -> (Value, String, String) {
    let ix = Interaction::command("schedule").subcommand("remove", &[("name", json!(name))]);
    let msg = ask(fake, &ix).await;
    assert!(!ephemeral(&msg), "the preview is public: {msg:#}");
    assert!(
        visible_text(&msg).contains(&format!("Remove schedule {name}")),
        "{}",
        visible_text(&msg)
    );
    let b = buttons(&msg);
    assert_eq!(b.len(), 2, "Confirm and Cancel: {b:?}");
    let (confirm, cancel) = (&b[0], &b[1]);
    // Discord's styles: 4 danger, 2 secondary.
    assert_eq!((confirm.1, confirm.2.as_str()), (4, "Confirm"), "{b:?}");
    assert_eq!((cancel.1, cancel.2.as_str()), (2, "Cancel"), "{b:?}");
    let token = |id: &str, code: &str| -> String {
        let t = id
            .strip_prefix("a:")
            .and_then(|r| r.strip_suffix(code))
            .unwrap_or_else(|| panic!("{id} is a:<token>{code}"));
        assert!(t.len() == 32 && t.bytes().all(|c| c.is_ascii_hexdigit()), "{id}");
        t.to_string()
    };
    assert_eq!(
        token(&confirm.0, ":y"),
        token(&cancel.0, ":n"),
        "one pending action"
    );
    (msg, confirm.0.clone(), cancel.0.clone())
}

/// A press of `custom_id` on `message` (by the bot admin unless `user` says otherwise).
fn press(fake: &FakeDiscord, custom_id: &str, message: &Value, user: Option<u64>) -> Interaction {
    let mut ix = Interaction::button(custom_id, message.clone());
    if let Some(u) = user {
        ix = ix.user(u, "bob");
    }
    fake.send_interaction(&ix);
    ix
}

/// The message the press edited (type 6, then PATCH @original).
async fn edited(fake: &FakeDiscord, press: &Interaction, message: &Value) -> Value {
    let msgs = fake
        .wait_for_messages(
            press.token(),
            |m| m.iter().any(|m| !m["edited_timestamp"].is_null()),
            WAIT,
        )
        .await;
    let calls = summary(fake, press.token());
    assert_eq!(
        fake.ack_type(press.token()),
        Some(6),
        "acknowledged with type 6: {calls:#?}"
    );
    let patched = calls_for(fake, press.token())
        .into_iter()
        .any(|c| c.method == "PATCH" && c.route().ends_with("/messages/@original") && c.ok());
    assert!(patched, "then the message edited: {calls:#?}");
    let m = msgs[0].clone();
    assert_eq!(m["id"], message["id"], "the message that carried the buttons");
    assert!(buttons(&m).is_empty(), "no buttons left: {m:#}");
    m
}

/// The ephemeral answer to a refused press, its first and only response.
async fn notice(fake: &FakeDiscord, press: &Interaction) -> String {
    let msgs = fake
        .wait_for_messages(press.token(), |m| m.iter().any(shown), WAIT)
        .await;
    let calls = summary(fake, press.token());
    assert_eq!(
        fake.ack_type(press.token()),
        Some(4),
        "a message as the first response: {calls:#?}"
    );
    assert!(ephemeral(&msgs[0]), "only the presser sees it: {:#}", msgs[0]);
    assert!(
        calls_for(fake, press.token())
            .iter()
            .all(|c| c.method == "POST" && c.ok()),
        "nothing else: {calls:#?}"
    );
    visible_text(&msgs[0])
}

async fn audit(store: &Store) -> Vec<AuditRecord> {
    store.recent_audit(1000).await.unwrap()
}

/// Audit rows of a confirmed removal of `name`.
async fn confirmed_removals(store: &Store, name: &str) -> usize {
    audit(store)
        .await
        .iter()
        .filter(|r| r.command == "schedule" && r.args.starts_with("confirm") && r.args.contains(name))
        .count()
}

// ============================ registration ============================

/// The slash commands are typed from the registry's one list: `/schedule` has the
/// sub-commands list/add/remove/rename (type 1) with their string options, `/lang` an
/// optional string with the choices en/pl, `/subscribe` and `/unsubscribe` are for members with
/// Manage Server (`default_member_permissions` "32", a string on the wire), the others for
/// everyone. What the fake gives back on GET compares equal: a second start does not PUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_is_typed_from_the_registry() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    let stored = registered(&fake).await;
    let puts = fake.calls_to("PUT", &global_commands_path());
    let body = puts[0].body.as_array().unwrap().clone();
    let find = |list: &[Value], name: &str| -> Value {
        list.iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("/{name} in {list:#?}"))
            .clone()
    };
    for list in [&body, &stored] {
        let schedule = find(list, "schedule");
        let subs = schedule["options"].as_array().unwrap();
        let names: Vec<&str> = subs.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["list", "add", "remove", "rename"], "{schedule:#}");
        assert!(subs.iter().all(|s| s["type"] == 1), "sub-commands: {schedule:#}");
        assert!(subs[0]["options"].as_array().is_none_or(Vec::is_empty));
        let add: Vec<(&str, u64, bool)> = subs[1]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap(),
                    o["type"].as_u64().unwrap(),
                    o["required"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(add, [("name", 3, true), ("definition", 3, true)], "{schedule:#}");
        let remove = &subs[2]["options"];
        assert_eq!(
            (remove[0]["name"].clone(), remove[0]["type"].clone()),
            (json!("name"), json!(3))
        );
        assert_eq!(remove[0]["required"], true);
        let rename: Vec<(&str, u64, bool)> = subs[3]["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["name"].as_str().unwrap(),
                    o["type"].as_u64().unwrap(),
                    o["required"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        assert_eq!(rename, [("name", 3, true), ("new_name", 3, true)], "{schedule:#}");
        assert!(
            subs.iter().all(|s| s["description_localizations"]["pl"]
                .as_str()
                .is_some_and(|d| !d.is_empty())),
            "Polish descriptions of the sub-commands: {schedule:#}"
        );

        let lang = find(list, "lang");
        let option = &lang["options"][0];
        assert_eq!(
            (option["name"].clone(), option["type"].clone()),
            (json!("language"), json!(3))
        );
        // Optional: without a value /lang tells the current language.
        assert!(!option["required"].as_bool().unwrap_or(false), "{lang:#}");
        let choices: Vec<&str> = option["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(choices, ["en", "pl"]);

        for name in ["subscribe", "unsubscribe"] {
            assert_eq!(
                find(list, name)["default_member_permissions"],
                json!("32"),
                "/{name}"
            );
        }
        for name in ["help", "report", "summary", "lang"] {
            assert!(
                find(list, name)["default_member_permissions"].is_null(),
                "/{name} is for everyone"
            );
        }
    }
    bot.stop().await;

    let route = global_commands_path();
    let bot = start(&fake, None).await;
    fake.wait_for(
        |c| {
            c.iter()
                .filter(|c| c.method == "GET" && c.route() == route)
                .count()
                >= 2
        },
        WAIT,
    )
    .await;
    let again = fake
        .try_wait_for(
            |c| {
                c.iter()
                    .filter(|c| c.method == "PUT" && c.route() == route)
                    .count()
                    >= 2
            },
            Duration::from_secs(2),
        )
        .await;
    assert!(
        again.is_none(),
        "the typed commands compare equal to what Discord gives back"
    );
    bot.stop().await;
}

/// The fake refuses what Discord refuses in typed registrations, so the adapter's payloads
/// are checked against Discord's rules, not only stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_checks_typed_registrations_like_discord() {
    let fake = FakeDiscord::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v10{}", fake.url(), global_commands_path());
    let put = |body: Value| {
        http.put(&url)
            .header("Authorization", format!("Bot {TOKEN}"))
            .json(&body)
            .send()
    };
    let cmd = |options: Value| json!([{"name": "x", "description": "X", "options": options}]);
    let refused = [
        // Bounds on a string option.
        cmd(json!([{"type": 3, "name": "a", "description": "A", "min_value": 1}])),
        // A fractional bound on an integer option.
        cmd(json!([{"type": 4, "name": "a", "description": "A", "min_value": 0.5}])),
        // Minimum above maximum.
        cmd(json!([{"type": 4, "name": "a", "description": "A", "min_value": 5, "max_value": 1}])),
        // A sub-command next to a plain option.
        cmd(
            json!([{"type": 1, "name": "a", "description": "A"}, {"type": 3, "name": "b", "description": "B"}]),
        ),
        // A required sub-command.
        cmd(json!([{"type": 1, "name": "a", "description": "A", "required": true}])),
        // An integer choice on a string option.
        cmd(json!([{"type": 3, "name": "a", "description": "A", "choices": [{"name": "one", "value": 1}]}])),
        // Choices on a user option.
        cmd(json!([{"type": 6, "name": "a", "description": "A", "choices": [{"name": "x", "value": "x"}]}])),
        // Permissions as a number instead of a string.
        json!([{"name": "x", "description": "X", "default_member_permissions": 32}]),
    ];
    for body in refused {
        let r = put(body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "refused: {body}");
    }
    let typed = json!([{"name": "x", "description": "X", "default_member_permissions": "32", "options": [
        {"type": 1, "name": "sub", "description": "S", "options": [
            {"type": 4, "name": "n", "description": "N", "required": true, "min_value": -10.0, "max_value": 10},
            {"type": 6, "name": "who", "description": "W"},
            {"type": 3, "name": "qty", "description": "Q"}
        ]}
    ]}]);
    let r = put(typed).await.unwrap();
    assert_eq!(r.status(), 200);
    let stored = fake.registered_commands(None);
    let n = &stored[0]["options"][0]["options"][0];
    assert_eq!(stored[0]["default_member_permissions"], "32");
    assert_eq!(
        (n["min_value"].clone(), n["max_value"].clone()),
        (json!(-10), json!(10)),
        "{n}"
    );
}

// ============================ typed invocations ============================

/// A slash command with a sub-command reaches the handler typed: `/schedule remove
/// name:nothing` by a bot admin names the missing schedule (only to the asker); by a
/// member it is refused. `/lang language:pl` switches the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_command_options_reach_the_handler_typed() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    let ix = Interaction::command("schedule").subcommand("remove", &[("name", json!("nothing"))]);
    let msg = ask(&fake, &ix).await;
    assert!(
        visible_text(&msg).contains("There is no schedule named nothing."),
        "{}",
        visible_text(&msg)
    );
    assert!(ephemeral(&msg), "{msg:#}");

    let member = Interaction::command("schedule")
        .subcommand("remove", &[("name", json!("nothing"))])
        .user(OTHER_USER, "bob");
    let msg = ask(&fake, &member).await;
    assert!(
        visible_text(&msg).contains("Only the bot's admins can do that."),
        "a member is refused before anything is looked up: {}",
        visible_text(&msg)
    );

    // `/schedule list` (no options) after an add: the typed sub-commands round-trip.
    add_schedule(&fake, "morning").await;
    let list = Interaction::command("schedule").subcommand("list", &[]);
    let msg = ask(&fake, &list).await;
    assert!(visible_text(&msg).contains("morning"), "{}", visible_text(&msg));

    let channel = 777_000_000_000_000_007;
    let lang = Interaction::command("lang")
        .option("language", "pl")
        .channel(channel);
    let msg = ask(&fake, &lang).await;
    assert!(visible_text(&msg).contains("polski"), "{}", visible_text(&msg));
    let help = Interaction::command("help").channel(channel);
    let msg = ask(&fake, &help).await;
    assert!(
        visible_text(&msg).contains("Komendy Chainsignal"),
        "{}",
        visible_text(&msg)
    );
    bot.stop().await;
}

// ============================ Confirm buttons ============================

/// Confirm pressed twice: acknowledged (type 6), the message edited to "Schedule … removed.",
/// the schedule removed once; the second press is told, only to the presser, that it was
/// answered already. One audit row for the confirmed removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_pressed_twice_removes_once() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    add_schedule(&fake, "evening").await;
    add_schedule(&fake, "night").await;
    let (preview, confirm, _) = removal_preview(&fake, "evening").await;
    assert_eq!(
        schedule_names(bot.store()).await,
        ["evening", "night"],
        "nothing removed by the preview"
    );

    let first = press(&fake, &confirm, &preview, None);
    let m = edited(&fake, &first, &preview).await;
    assert!(
        visible_text(&m).contains("Schedule evening removed."),
        "{}",
        visible_text(&m)
    );
    assert_eq!(schedule_names(bot.store()).await, ["night"]);

    let second = press(&fake, &confirm, &preview, None);
    let text = notice(&fake, &second).await;
    assert!(text.contains("This was already answered"), "{text}");
    assert_eq!(schedule_names(bot.store()).await, ["night"]);
    assert_eq!(
        fake.message(preview["id"].as_str().unwrap())
            .map(|m| visible_text(&m)),
        Some(visible_text(&m)),
        "the message stays as the first press left it"
    );
    assert_eq!(
        confirmed_removals(bot.store(), "evening").await,
        1,
        "{:#?}",
        audit(bot.store()).await
    );
    bot.stop().await;
}

/// `/schedule rename`, a command added in `commands/` only (two typed options, bot admins,
/// a Confirm), is native on Discord with no adapter change: registered with its options,
/// previewed with Confirm/Cancel, renamed once on Confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_is_native_on_discord_without_adapter_code() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    add_schedule(&fake, "evening").await;
    let ix = Interaction::command("schedule").subcommand(
        "rename",
        &[("name", json!("evening")), ("new_name", json!("dusk"))],
    );
    let preview = ask(&fake, &ix).await;
    assert!(
        visible_text(&preview).contains("Rename schedule evening to dusk?"),
        "{}",
        visible_text(&preview)
    );
    let b = buttons(&preview);
    assert_eq!(b.iter().map(|b| b.1).collect::<Vec<_>>(), [4, 2], "{b:?}");
    assert!(b[0].0.ends_with(":y") && b[1].0.ends_with(":n"), "{b:?}");
    let yes = press(&fake, &b[0].0, &preview, None);
    let m = edited(&fake, &yes, &preview).await;
    assert!(
        visible_text(&m).contains("Schedule evening is now dusk."),
        "{}",
        visible_text(&m)
    );
    assert_eq!(schedule_names(bot.store()).await, ["dusk"]);
    let again = press(&fake, &b[0].0, &preview, None);
    assert!(notice(&fake, &again).await.contains("This was already answered"));
    assert_eq!(schedule_names(bot.store()).await, ["dusk"]);
    bot.stop().await;
}

/// Someone else presses Confirm: told it is not theirs, nothing removed. Then the asker
/// presses Cancel: the message says so, nothing removed, and the Confirm is spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_by_someone_else_then_cancel() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    add_schedule(&fake, "evening").await;
    let (preview, confirm, cancel) = removal_preview(&fake, "evening").await;

    let stranger = press(&fake, &confirm, &preview, Some(OTHER_USER));
    let text = notice(&fake, &stranger).await;
    assert!(
        text.contains("This button is for the person who asked."),
        "{text}"
    );
    assert_eq!(schedule_names(bot.store()).await, ["evening"]);

    let no = press(&fake, &cancel, &preview, None);
    let m = edited(&fake, &no, &preview).await;
    assert!(
        visible_text(&m).contains("Cancelled. Nothing was done."),
        "{}",
        visible_text(&m)
    );
    assert_eq!(schedule_names(bot.store()).await, ["evening"]);

    let late = press(&fake, &confirm, &preview, None);
    let text = notice(&fake, &late).await;
    assert!(text.contains("This was already answered"), "{text}");
    assert_eq!(schedule_names(bot.store()).await, ["evening"]);
    assert_eq!(confirmed_removals(bot.store(), "evening").await, 0);
    bot.stop().await;
}

/// A Confirm pressed after its expiry (the row's `expires_at` set in the past in the
/// SQLite file): told it expired, nothing removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_confirm_does_nothing() {
    use sqlx::Connection;
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    add_schedule(&fake, "evening").await;
    let (preview, confirm, _) = removal_preview(&fake, "evening").await;
    let token = &confirm[2..34];
    let file = bot.sqlite.clone().unwrap();
    let mut db = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let past = chrono::Utc::now() - chrono::Duration::minutes(5);
    let r = sqlx::query("UPDATE pending_actions SET expires_at = $1 WHERE token = $2")
        .bind(past)
        .bind(token)
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(r.rows_affected(), 1);
    db.close().await.unwrap();

    let late = press(&fake, &confirm, &preview, None);
    let text = notice(&fake, &late).await;
    assert!(text.contains("This button has expired."), "{text}");
    assert_eq!(schedule_names(bot.store()).await, ["evening"]);
    assert_eq!(confirmed_removals(bot.store(), "evening").await, 0);
    bot.stop().await;
}

/// Bot A (PostgreSQL) shows the preview and stops; bot B, another instance on the same
/// database, receives the press: the schedule is removed once, the message edited; a second
/// press on B is answered as already done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_after_a_restart_on_another_instance_over_postgres() {
    let Some(pg) = TempPostgres::create("confirm_after_a_restart_on_another_instance_over_postgres").await
    else {
        return;
    };
    let fake = FakeDiscord::start().await;
    let a = start(&fake, Some(&pg.url)).await;
    add_schedule(&fake, "evening").await;
    let (preview, confirm, _) = removal_preview(&fake, "evening").await;
    a.stop().await;

    let b = start(&fake, Some(&pg.url)).await;
    let first = press(&fake, &confirm, &preview, None);
    let m = edited(&fake, &first, &preview).await;
    assert!(
        visible_text(&m).contains("Schedule evening removed."),
        "{}",
        visible_text(&m)
    );
    assert!(schedule_names(b.store()).await.is_empty());
    let second = press(&fake, &confirm, &preview, None);
    let text = notice(&fake, &second).await;
    assert!(text.contains("This was already answered"), "{text}");
    assert_eq!(
        confirmed_removals(b.store(), "evening").await,
        1,
        "{:#?}",
        audit(b.store()).await
    );
    let (connections, identifies, _) = fake.gateway_counts();
    assert_eq!(
        (connections, identifies),
        (2, 2),
        "two instances, one after the other"
    );
    b.stop().await;
    pg.drop_db().await;
}

// ============================ request ids ============================

/// The same interaction delivered twice (a replayed dispatch): the work is done once. The
/// fake holds Discord's rule of one acknowledgement per interaction, so the second answer
/// is refused (40060) and the first one stays what the user sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_interaction_does_the_work_once() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, None).await;
    let ix = Interaction::command("schedule").subcommand(
        "add",
        &[("name", json!("twice")), ("definition", json!(DEFINITION))],
    );
    let first = ask(&fake, &ix).await;
    assert!(
        visible_text(&first).contains("Schedule twice added"),
        "{}",
        visible_text(&first)
    );
    fake.send_interaction(&ix);
    let token = ix.token().to_string();
    let callbacks = |c: &[Call]| {
        c.iter()
            .filter(|c| c.path.contains(&token) && c.route().ends_with("/callback"))
            .count()
    };
    fake.wait_for(|c| callbacks(c) >= 2, WAIT).await;
    let calls = calls_for(&fake, ix.token());
    let cbs: Vec<&Call> = calls
        .iter()
        .filter(|c| c.route().ends_with("/callback"))
        .collect();
    assert_eq!(
        cbs[1].status,
        400,
        "one acknowledgement per interaction: {:#?}",
        summary(&fake, &token)
    );
    assert_eq!(
        cbs[1].body["data"]["flags"].as_u64().map(|f| f & FLAG_EPHEMERAL),
        Some(FLAG_EPHEMERAL)
    );
    let seen = fake.messages_for(&token);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(visible_text(&seen[0]).contains("Schedule twice added"));
    let adds = audit(bot.store())
        .await
        .iter()
        .filter(|r| r.command == "schedule" && r.args.starts_with("add name=twice"))
        .count();
    assert_eq!(adds, 1, "{:#?}", audit(bot.store()).await);
    assert_eq!(schedule_names(bot.store()).await, ["twice"]);

    // A Confirm press delivered twice: removed once, the message edited once.
    let (preview, confirm, _) = removal_preview(&fake, "twice").await;
    let p = press(&fake, &confirm, &preview, None);
    edited(&fake, &p, &preview).await;
    fake.send_interaction(&p);
    let ptoken = p.token().to_string();
    fake.wait_for(
        |c| {
            c.iter()
                .filter(|c| c.path.contains(&ptoken) && c.route().ends_with("/callback"))
                .count()
                >= 2
        },
        WAIT,
    )
    .await;
    let patches = calls_for(&fake, &ptoken)
        .iter()
        .filter(|c| c.method == "PATCH")
        .count();
    assert_eq!(patches, 1, "{:#?}", summary(&fake, &ptoken));
    assert!(schedule_names(bot.store()).await.is_empty());
    assert_eq!(confirmed_removals(bot.store(), "twice").await, 1);
    bot.stop().await;
}

/// Waits until `check` holds (the store has no notification to wait on), at most [`WAIT`].
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Discord refusing the acknowledgement (here a 500 on the callback) does not cut short
/// the work that was asked: the schedules table is locked by another session, so the work
/// outlasts the adapter's 1.5 s and the adapter acknowledges (type 6 for the Confirm, a
/// deferral for the command); that is refused; the lock goes; the removal and the addition
/// still complete, once. (Cut short, the Confirm was claimed but nothing removed, and a new
/// press said "already answered".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_acknowledgement_does_not_cut_the_work_short() {
    use sqlx::Connection;
    let Some(pg) = TempPostgres::create("a_refused_acknowledgement_does_not_cut_the_work_short").await else {
        return;
    };
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, Some(&pg.url)).await;
    add_schedule(&fake, "evening").await;
    let (preview, confirm, _) = removal_preview(&fake, "evening").await;
    let mut locker = sqlx::PgConnection::connect(&pg.url).await.unwrap();

    // A Confirm whose type-6 acknowledgement is refused.
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE schedules IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let p = Interaction::button(&confirm, preview.clone());
    fake.fail_next(
        &format!("/interactions/{}/", p.id()),
        500,
        json!({"message": "oops"}),
        None,
    );
    fake.send_interaction(&p);
    let token = p.token().to_string();
    fake.wait_for(
        |c| c.iter().any(|c| c.path.contains(&token) && c.status == 500),
        WAIT,
    )
    .await;
    tx.rollback().await.unwrap();
    eventually("the confirmed removal", || async {
        schedule_names(bot.store()).await.is_empty()
    })
    .await;
    eventually("its audit row", || async {
        confirmed_removals(bot.store(), "evening").await == 1
    })
    .await;

    // A refusal that comes after the adapter's 1.5 s (the pending action locked): the
    // press was acknowledged with type 6, so the refusal is an ephemeral follow-up and the
    // message stays.
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE pending_actions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let again = press(&fake, &confirm, &preview, None);
    let token = again.token().to_string();
    fake.wait_for(|c| c.iter().any(|c| c.path.contains(&token) && c.ok()), WAIT)
        .await;
    tx.rollback().await.unwrap();
    let msgs = fake
        .wait_for_messages(&token, |m| m.iter().any(|m| ephemeral(m) && shown(m)), WAIT)
        .await;
    assert_eq!(fake.ack_type(&token), Some(6), "{:#?}", summary(&fake, &token));
    let told = msgs.iter().find(|m| ephemeral(m) && shown(m)).unwrap();
    assert!(
        visible_text(told).contains("This was already answered"),
        "{told:#}"
    );
    assert!(
        calls_for(&fake, &token).iter().all(|c| c.method != "PATCH"),
        "the message is not edited: {:#?}",
        summary(&fake, &token)
    );

    // A command whose deferral is refused.
    let mut tx = locker.begin().await.unwrap();
    sqlx::query("LOCK TABLE schedules IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let ix = Interaction::command("schedule").subcommand(
        "add",
        &[("name", json!("late")), ("definition", json!(DEFINITION))],
    );
    fake.fail_next(
        &format!("/interactions/{}/", ix.id()),
        500,
        json!({"message": "oops"}),
        None,
    );
    fake.send_interaction(&ix);
    let token = ix.token().to_string();
    fake.wait_for(
        |c| c.iter().any(|c| c.path.contains(&token) && c.status == 500),
        WAIT,
    )
    .await;
    tx.rollback().await.unwrap();
    eventually("the addition", || async {
        schedule_names(bot.store()).await == ["late"]
    })
    .await;
    bot.stop().await;
    locker.close().await.unwrap();
    pg.drop_db().await;
}
