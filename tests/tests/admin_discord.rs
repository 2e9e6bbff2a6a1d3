//! `/audit` and `/admin` on Discord, end to end: the real serenity client against the fake
//! Discord. `/admin` is registered with typed sub-commands, a member is denied (and
//! audited), `/admin status` shows Discord connected, `/admin audit` with a Discord user
//! option filters and attaches its CSV above 20 rows, `/audit` is private.

use chainsignal::app::App;
use chainsignal::discord::{self, Started};
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{AuditEntry, Outcome};
use chainsignal_tests::fake_discord::{APP_ID, Call, FakeDiscord, Interaction, TOKEN, USER_ID};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const MEMBER: u64 = 777_000_000_000_000_042;
const FLAG_EPHEMERAL: u64 = 64;

struct Bot {
    app: App,
    started: Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

async fn start(fake: &FakeDiscord) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    config.admins.discord = vec![USER_ID.to_string()];
    config.alerts.enabled = false;
    let url = format!("sqlite://{}", dir.path().join("dc.sqlite").display());
    let app = App::build(config, Some(Source::Demo), Some(SecretString::from(url)))
        .await
        .unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
    Bot {
        app,
        started,
        trigger,
        _dir: dir,
    }
}

impl Bot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("discord stops")
            .expect("no panic");
    }
}

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
            out.push_str(f["name"].as_str().unwrap_or_default());
            out.push_str(": ");
            out.push_str(f["value"].as_str().unwrap_or_default());
        }
    }
    out.replace('\\', "")
}

async fn ask(fake: &FakeDiscord, ix: &Interaction) -> Value {
    fake.send_interaction(ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    msgs.into_iter().find(shown).unwrap()
}

fn calls_for(fake: &FakeDiscord, token: &str) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| c.path.contains(token))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_audit_on_discord() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake).await;

    // Registered from the registry: /audit for everyone, /admin with typed sub-commands.
    let route = format!("/applications/{APP_ID}/commands");
    fake.wait_for(
        |c| {
            c.iter()
                .any(|c| c.method == "PUT" && c.route() == route && c.ok())
        },
        WAIT,
    )
    .await;
    let stored = fake.registered_commands(None);
    let admin = stored
        .iter()
        .find(|c| c["name"] == "admin")
        .expect("/admin registered");
    let subs: Vec<&str> = admin["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subs,
        [
            "status",
            "audit",
            "broadcast",
            "users",
            "approve",
            "deny",
            "block",
            "unblock",
            "role",
            "keys",
            "live",
            "risk",
            "risk-compare"
        ],
        "{admin:#}"
    );
    let audit_sub = &admin["options"][1]["options"];
    let types: Vec<(&str, u64)> = audit_sub
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["type"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        types,
        [("user", 6), ("command", 3), ("since", 3), ("n", 4)],
        "{admin:#}"
    );
    assert!(stored.iter().any(|c| c["name"] == "audit"));

    // A member is denied, privately, and the denial is audited.
    let denied = ask(
        &fake,
        &Interaction::command("admin")
            .subcommand("status", &[])
            .user(MEMBER, "bob"),
    )
    .await;
    assert!(visible_text(&denied).contains("Only the bot's admins can do that."));
    let rows = bot.app.store.recent_audit(10).await.unwrap();
    assert_eq!(
        (rows[0].command.as_str(), rows[0].outcome.as_str()),
        ("admin", "denied")
    );
    assert_eq!(rows[0].platform_user_id, MEMBER.to_string());
    assert!(rows[0].request_id.is_some() && rows[0].account_id.is_some());

    // Status: Discord connected.
    let status = ask(&fake, &Interaction::command("admin").subcommand("status", &[])).await;
    let text = visible_text(&status);
    assert!(text.contains("discord (connected)"), "{text}");
    assert!(text.contains("SQLite"), "{text}");

    // /admin audit for the member (a Discord user option), more than 20 rows: a CSV.
    let now = chrono::Utc::now();
    for i in 0..24 {
        bot.app
            .store
            .record_audit(&AuditEntry {
                at: now - chrono::Duration::seconds(100 - i),
                platform: "discord".into(),
                platform_user_id: MEMBER.to_string(),
                platform_chat_id: "1".into(),
                command: "report".into(),
                args: "btc".into(),
                outcome: Outcome::UserError,
                detail: None,
                duration_ms: 1,
                account_id: None,
                request_id: None,
            })
            .await
            .unwrap();
    }
    let ix = Interaction::command("admin")
        .subcommand("audit", &[("user", json!(MEMBER.to_string())), ("n", json!(50))]);
    let msg = ask(&fake, &ix).await;
    let text = visible_text(&msg);
    assert!(text.contains("25 rows"), "24 + the denial: {text}");
    assert!(text.contains(&format!("discord:{MEMBER}")), "{text}");
    assert!(
        !text.contains(&format!("discord:{USER_ID}")),
        "only the member: {text}"
    );
    let files: Vec<_> = calls_for(&fake, ix.token())
        .into_iter()
        .flat_map(|c| c.files)
        .collect();
    let csv = files
        .iter()
        .find(|f| f.filename.starts_with("audit-") && f.filename.ends_with(".csv"))
        .expect("the CSV was uploaded");
    assert_eq!(csv.text().lines().count(), 26, "{}", csv.text());

    // /audit: the member's own, privately.
    let own = ask(&fake, &Interaction::command("audit").user(MEMBER, "bob")).await;
    assert!(
        own["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL != 0,
        "{own:#}"
    );
    let text = visible_text(&own);
    assert!(text.contains("/report") && text.contains("/admin"), "{text}");
    bot.stop().await;
}
