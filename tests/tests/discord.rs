//! The Discord adapter end to end: the real serenity client (inside `chainsignal::discord`)
//! against a fake Discord (REST + gateway) on 127.0.0.1, the real commands, demo market data,
//! SQLite. The first tests check the fake itself with a bare serenity client, so that a failure
//! of the adapter's tests can be told apart from a fake that serenity does not accept.
//!
//! `RUST_LOG=chainsignal=debug,serenity=info cargo test -p chainsignal-tests --test discord`
//! shows the adapter's logs.

use chainsignal::app::App;
use chainsignal::discord::{self, Started};
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_tests::fake_discord::{
    APP_ID, Call, FakeDiscord, FakeOptions, GUILD_ID, Interaction, PRIVILEGED_INTENTS, TOKEN,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
/// The commands registered on Discord (`start` is Telegram's only).
const COMMANDS: [&str; 21] = [
    "help",
    "report",
    "summary",
    "lang",
    "subscribe",
    "unsubscribe",
    "schedule",
    "keys",
    "link",
    "unlink",
    "whoami",
    "audit",
    "admin",
    "mode",
    "open",
    "close",
    "positions",
    "paper",
    "settings",
    "risk",
    "liq",
];

fn init_tracing() {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,chainsignal=info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
}

// ============================ helpers ============================

struct Bot {
    _app: App,
    started: Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Bot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("the discord task stops after shutdown")
            .expect("the discord task does not panic");
    }
}

async fn start(fake: &FakeDiscord, tweak: impl FnOnce(&mut Config)) -> Bot {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    tweak(&mut config);
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("dc.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
    Bot {
        _app: app,
        started,
        trigger,
        _dir: dir,
    }
}

fn global_commands_path() -> String {
    format!("/applications/{APP_ID}/commands")
}

fn guild_commands_path(guild: u64) -> String {
    format!("/applications/{APP_ID}/guilds/{guild}/commands")
}

fn count(calls: &[Call], method: &str, route: &str) -> usize {
    calls
        .iter()
        .filter(|c| c.method == method && c.route() == route)
        .count()
}

/// Waits until the adapter's registration finished: a PUT answered, or the GET answered and
/// nothing followed for a while.
async fn registered(fake: &FakeDiscord, route: &str) -> Vec<Value> {
    let r = route.to_string();
    fake.wait_for(
        |c| c.iter().any(|c| c.method == "PUT" && c.route() == r && c.ok()),
        WAIT,
    )
    .await;
    fake.registered_commands(None)
}

/// All calls about one interaction (its callback and webhook calls), in order.
fn calls_for(fake: &FakeDiscord, token: &str) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| c.path.contains(token))
        .collect()
}

/// The message payloads the adapter sent for an interaction: callback `data`, follow-up and
/// edit bodies (answered 2xx).
fn payloads_for(fake: &FakeDiscord, token: &str) -> Vec<Value> {
    calls_for(fake, token)
        .into_iter()
        .filter(Call::ok)
        .filter_map(|c| {
            if c.route().ends_with("/callback") {
                c.body.get("data").filter(|d| !d.is_null()).cloned()
            } else if c.method != "DELETE" && c.method != "GET" {
                Some(c.body)
            } else {
                None
            }
        })
        .collect()
}

fn has_embed(m: &Value) -> bool {
    m["embeds"].as_array().is_some_and(|e| !e.is_empty())
}

/// The text a user sees in a message: content, embed titles, descriptions, fields, footers.
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
            out.push('\n');
            out.push_str(f["value"].as_str().unwrap_or_default());
        }
        out.push('\n');
        out.push_str(e["footer"]["text"].as_str().unwrap_or_default());
    }
    out
}

/// Sends an interaction and waits for the first message the user sees (content or embed).
async fn ask(fake: &FakeDiscord, ix: &Interaction) -> Value {
    fake.send_interaction(ix);
    let msgs = fake
        .wait_for_messages(
            ix.token(),
            |m| {
                m.iter()
                    .any(|m| has_embed(m) || m["content"].as_str().is_some_and(|c| !c.is_empty()))
            },
            WAIT,
        )
        .await;
    msgs.into_iter()
        .find(|m| has_embed(m) || m["content"].as_str().is_some_and(|c| !c.is_empty()))
        .unwrap()
}

/// The name of the (single) option of a registered command, as the adapter registered it.
fn option_name(fake: &FakeDiscord, command: &str) -> String {
    let cmds = fake.registered_commands(None);
    let c = cmds
        .iter()
        .find(|c| c["name"] == command)
        .unwrap_or_else(|| panic!("/{command} is registered: {cmds:#?}"));
    c["options"][0]["name"].as_str().expect("an option").to_string()
}

fn report_csv_attachments(m: &Value) -> Vec<String> {
    m["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["filename"].as_str())
        .filter(|f| f.starts_with("report-") && f.ends_with(".csv"))
        .map(str::to_string)
        .collect()
}

/// A Refresh button's custom id: an ordinary reusable action, `a:<32 hex token>:r`.
fn is_refresh(custom_id: &str) -> bool {
    let token = custom_id.strip_prefix("a:").and_then(|r| r.strip_suffix(":r"));
    token.is_some_and(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn button_ids(m: &Value) -> Vec<String> {
    m["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["custom_id"].as_str().map(str::to_string))
        .collect()
}

// ============================ the fake, with a bare serenity client ============================

mod bare {
    //! A minimal serenity bot, only to prove the fake speaks Discord as serenity expects.
    use serenity::all::{
        ButtonStyle, ClientBuilder, Command, CommandOptionType, Context, CreateActionRow, CreateAttachment,
        CreateAutocompleteResponse, CreateButton, CreateCommand, CreateCommandOption,
        CreateInteractionResponse, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
        EventHandler, GatewayIntents, HttpBuilder, Interaction, Ready,
    };

    pub struct Handler;

    #[serenity::async_trait]
    impl EventHandler for Handler {
        async fn ready(&self, ctx: Context, _ready: Ready) {
            let cmds = vec![
                CreateCommand::new("ping")
                    .description("Replies pong")
                    .description_localized("pl", "Odpowiada pong")
                    .add_option(
                        CreateCommandOption::new(CommandOptionType::String, "symbols", "Symbols")
                            .description_localized("pl", "Symbole")
                            .set_autocomplete(true),
                    ),
                CreateCommand::new("slow").description("Defers, then follows up"),
                CreateCommand::new("ignored").description("Never answered"),
            ];
            Command::set_global_commands(&ctx.http, cmds)
                .await
                .expect("commands registered");
            // Read back both ways.
            let _ = Command::get_global_commands(&ctx.http)
                .await
                .expect("plain GET parses");
            let _ = ctx
                .http
                .get_global_commands_with_localizations()
                .await
                .expect("GET with localizations parses");
        }

        async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
            match interaction {
                Interaction::Command(c) if c.data.name == "ping" => {
                    let msg = CreateInteractionResponseMessage::new()
                        .content("pong")
                        .add_file(CreateAttachment::bytes(b"symbol,close\n".to_vec(), "t.csv"))
                        .components(vec![CreateActionRow::Buttons(vec![
                            CreateButton::new("again")
                                .label("Again")
                                .style(ButtonStyle::Secondary),
                        ])]);
                    c.create_response(&ctx.http, CreateInteractionResponse::Message(msg))
                        .await
                        .expect("callback accepted");
                    // The response can be read back as a serenity Message.
                    let m = c.get_response(&ctx.http).await.expect("@original parses");
                    assert_eq!(m.content, "pong");
                    assert_eq!(m.attachments.len(), 1);
                }
                Interaction::Command(c) if c.data.name == "slow" => {
                    c.defer(&ctx.http).await.expect("defer accepted");
                    let first = c
                        .create_followup(
                            &ctx.http,
                            CreateInteractionResponseFollowup::new().content("done"),
                        )
                        .await
                        .expect("follow-up parses as a Message");
                    assert_eq!(first.content, "done");
                    c.create_followup(
                        &ctx.http,
                        CreateInteractionResponseFollowup::new()
                            .content("and more")
                            .ephemeral(true),
                    )
                    .await
                    .expect("second follow-up");
                }
                Interaction::Command(_) => {}
                Interaction::Autocomplete(a) => {
                    let r = CreateAutocompleteResponse::new().add_string_choice("BTCUSDT", "BTCUSDT");
                    a.create_response(&ctx.http, CreateInteractionResponse::Autocomplete(r))
                        .await
                        .expect("autocomplete accepted");
                }
                Interaction::Component(c) => {
                    let msg = CreateInteractionResponseMessage::new().content("updated");
                    c.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(msg))
                        .await
                        .expect("update accepted");
                }
                _ => {}
            }
        }
    }

    pub async fn client(base: &str, token: &str) -> serenity::Client {
        let http = HttpBuilder::new(token)
            .proxy(base)
            .ratelimiter_disabled(true)
            .build();
        ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
            .event_handler(Handler)
            .await
            .expect("serenity client")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_selftest_with_bare_serenity() {
    init_tracing();
    let fake = FakeDiscord::start_with(FakeOptions {
        heartbeat_interval: Duration::from_millis(300),
        ..FakeOptions::default()
    })
    .await;
    let mut client = bare::client(&fake.url(), TOKEN).await;
    let shards = client.shard_manager.clone();
    let run = tokio::spawn(async move { client.start().await });

    // Registration, stored the way Discord answers.
    let calls = fake
        .wait_for(
            |c| {
                c.iter()
                    .filter(|c| c.method == "GET" && c.route() == global_commands_path())
                    .count()
                    >= 2
            },
            WAIT,
        )
        .await;
    let put = calls.iter().find(|c| c.method == "PUT").expect("PUT");
    assert_eq!(put.status, 200, "{}", put.summary());
    assert_eq!(put.auth.as_deref(), Some(&*format!("Bot {TOKEN}")));
    let stored = fake.registered_commands(None);
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0]["description_localizations"]["pl"], "Odpowiada pong");
    assert_eq!(stored[0]["options"][0]["autocomplete"], true);
    assert!(
        stored[0]["options"][0].get("required").is_none(),
        "required:false is not echoed"
    );

    // A slash command: JSON+file multipart callback, @original readable.
    let ping = Interaction::command("ping");
    fake.send_interaction(&ping);
    let msgs = fake
        .wait_for_messages(ping.token(), |m| !m.is_empty(), WAIT)
        .await;
    assert_eq!(msgs[0]["content"], "pong");
    assert_eq!(msgs[0]["attachments"][0]["filename"], "t.csv");
    let cb = fake.calls_to(
        "POST",
        &format!("/interactions/{}/{}/callback", ping.id(), ping.token()),
    );
    assert!(cb[0].multipart, "a callback with a file is multipart");
    assert_eq!(cb[0].files[0].field, "files[0]");
    assert_eq!(cb[0].files[0].text(), "symbol,close\n");
    assert_eq!(cb[0].body["type"], 4);
    assert_eq!(cb[0].body["data"]["attachments"][0]["filename"], "t.csv");
    fake.wait_for(
        |c| {
            c.iter()
                .any(|c| c.method == "GET" && c.path.contains(ping.token()))
        },
        WAIT,
    )
    .await;

    // A second callback for the same interaction is refused like Discord does.
    let again = reqwest::Client::new()
        .post(format!(
            "{}/api/v10/interactions/{}/{}/callback",
            fake.url(),
            ping.id(),
            ping.token()
        ))
        .json(&json!({"type": 4, "data": {"content": "twice"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(again.json::<Value>().await.unwrap()["code"], 40060);

    // Button press: type 7 updates the message in place.
    let original = fake.original_response(ping.token()).expect("original");
    let press = Interaction::button("again", original.clone());
    fake.send_interaction(&press);
    let msgs = fake
        .wait_for_messages(press.token(), |m| !m.is_empty(), WAIT)
        .await;
    assert_eq!(msgs[0]["content"], "updated");
    assert_eq!(msgs[0]["id"], original["id"]);
    assert_eq!(fake.ack_type(press.token()), Some(7));

    // Autocomplete.
    let ac = Interaction::autocomplete("ping", "symbols", "bt");
    fake.send_interaction(&ac);
    fake.wait_for(|c| c.iter().any(|c| c.path.contains(ac.token()) && c.ok()), WAIT)
        .await;
    assert_eq!(
        fake.autocomplete_choices(ac.token()).unwrap()[0]["value"],
        "BTCUSDT"
    );

    // Defer, then follow-ups: the first replaces "thinking…", the second is a new message.
    let slow = Interaction::command("slow").in_dm();
    fake.send_interaction(&slow);
    let msgs = fake.wait_for_messages(slow.token(), |m| m.len() == 2, WAIT).await;
    assert_eq!(msgs[0]["content"], "done");
    assert_eq!(msgs[1]["content"], "and more");
    assert_eq!(msgs[1]["flags"], 64);

    // Reconnect: op 7, serenity resumes on a new connection, dispatches keep flowing.
    fake.reconnect();
    fake.wait_for_gateway(|f| f.iter().any(|f| f.payload["op"] == 6), WAIT)
        .await;
    let ping2 = Interaction::command("ping");
    fake.send_interaction(&ping2);
    fake.wait_for_messages(ping2.token(), |m| !m.is_empty(), WAIT)
        .await;
    let (connections, identifies, resumes) = fake.gateway_counts();
    assert_eq!((connections, identifies, resumes), (2, 1, 1));
    // Heartbeats (serenity checks its timer between 500 ms reads) are ACKed: no reconnect.
    fake.wait_for_gateway(|f| f.iter().filter(|f| f.payload["op"] == 1).count() >= 2, WAIT)
        .await;
    assert_eq!(fake.gateway_counts(), (2, 1, 1));

    shards.shutdown_all().await;
    let _ = tokio::time::timeout(WAIT, run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_selftest_rules_over_raw_http() {
    let fake = FakeDiscord::start_with(FakeOptions {
        interaction_deadline: Duration::from_millis(200),
        ..FakeOptions::default()
    })
    .await;
    let http = reqwest::Client::new();
    let api = format!("{}/api/v10", fake.url());

    // Discovery and auth.
    let gw: Value = http
        .get(format!("{api}/gateway"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(gw["url"], fake.ws_url());
    let r = http.get(format!("{api}/users/@me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let auth = format!("Bot {TOKEN}");

    // Validation of commands: "en" is not a Discord locale; required after optional.
    let bad = json!([{"name": "x", "description": "d", "description_localizations": {"en": "d"}}]);
    let r = http
        .put(format!("{api}{}", global_commands_path()))
        .header("authorization", &auth)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let bad = json!([{"name": "x", "description": "d", "options": [
        {"type": 3, "name": "a", "description": "a"},
        {"type": 3, "name": "b", "description": "b", "required": true}]}]);
    let r = http
        .put(format!("{api}{}", global_commands_path()))
        .header("authorization", &auth)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Plain GET without localisations, GET with them.
    fake.set_registered_commands(
        None,
        vec![
            json!({"name": "x", "description": "d", "description_localizations": {"pl": "p"},
                    "options": [{"type": 3, "name": "a", "description": "a", "required": false}]}),
        ],
    );
    let plain: Value = http
        .get(format!("{api}{}", global_commands_path()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(plain[0].get("description_localizations").is_none());
    assert!(plain[0]["options"][0].get("required").is_none());
    let full: Value = http
        .get(format!("{api}{}?with_localizations=true", global_commands_path()))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(full[0]["description_localizations"]["pl"], "p");

    // Injected 429 with Discord's headers, then normal again.
    fake.rate_limit_next("/users/@me", 0.3);
    let r = http
        .get(format!("{api}/users/@me"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["x-ratelimit-reset-after"], "0.300");
    assert_eq!(r.json::<Value>().await.unwrap()["retry_after"], 0.3);
    let r = http
        .get(format!("{api}/users/@me"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Unknown interaction / webhook.
    let r = http
        .post(format!("{api}/interactions/1/nope/callback"))
        .json(&json!({"type": 4, "data": {"content": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 10062);
    let r = http
        .post(format!("{api}/webhooks/{APP_ID}/nope"))
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 10015);

    // An interaction that is never delivered (no gateway session) cannot be acknowledged.
    let ix = Interaction::command("x");
    fake.send_interaction(&ix);
    let r = http
        .post(format!("{api}/interactions/{}/{}/callback", ix.id(), ix.token()))
        .json(&json!({"type": 4, "data": {"content": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let calls = fake.calls();
    assert!(calls.iter().all(|c| c.path.starts_with("/api/v10/")));
}

// ============================ the adapter ============================

/// 1. Registration: GET, then PUT of the full set with Polish localisations; a second start
///    against the same commands does not PUT again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_global_commands_once() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    fake.wait_ready(WAIT).await;
    let stored = registered(&fake, &global_commands_path()).await;
    let calls = fake.calls();
    let get = calls
        .iter()
        .position(|c| c.method == "GET" && c.route() == global_commands_path())
        .expect("the registered commands are read first");
    let put = calls
        .iter()
        .position(|c| c.method == "PUT" && c.route() == global_commands_path())
        .unwrap();
    assert!(get < put, "GET before PUT");
    let put = &calls[put];
    assert_eq!(put.auth.as_deref(), Some(&*format!("Bot {TOKEN}")));
    let names: BTreeSet<&str> = put
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        COMMANDS.into_iter().collect(),
        "the full set, without /start"
    );
    for c in put.body.as_array().unwrap() {
        let pl = &c["description_localizations"]["pl"];
        assert!(
            pl.as_str().is_some_and(|d| !d.is_empty()),
            "Polish description of {}: {c}",
            c["name"]
        );
        assert!(c["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let report = stored.iter().find(|c| c["name"] == "report").unwrap();
    assert_eq!(report["options"][0]["name"], "symbols");
    assert_eq!(report["options"][0]["autocomplete"], true, "{report}");
    let lang = stored.iter().find(|c| c["name"] == "lang").unwrap();
    let choices: Vec<&str> = lang["options"][0]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(choices, ["en", "pl"]);
    // Optional: /lang without a value tells the current language.
    assert!(lang["options"][0]["required"].is_null(), "{lang}");
    assert!(
        calls.iter().all(|c| !c.route().contains("/guilds/")),
        "no guild registration without guild_id"
    );
    bot.stop().await;

    // Second start: same commands on Discord, so no PUT.
    let bot = start(&fake, |_| {}).await;
    let route = global_commands_path();
    fake.wait_for(|c| count(c, "GET", &route) >= 2, WAIT).await;
    let again = fake
        .try_wait_for(|c| count(c, "PUT", &route) >= 2, Duration::from_secs(2))
        .await;
    let gets: Vec<String> = fake.calls_to("GET", &route).iter().map(Call::summary).collect();
    assert!(
        again.is_none(),
        "the second start PUT the unchanged commands again; its GETs: {gets:#?}\nPUT bodies differ from GET answers by: {}",
        describe_put_vs_get(&fake)
    );
    bot.stop().await;
}

/// For failure messages: what the last PUT sent versus what the last GET answered.
fn describe_put_vs_get(fake: &FakeDiscord) -> String {
    let puts = fake.calls_to("PUT", "/applications/");
    let Some(put) = puts.last() else {
        return "no PUT".into();
    };
    let stored = fake.registered_commands(None);
    format!(
        "PUT body[0] = {}\nstored (with localisations) [0] = {}",
        put.body[0],
        stored.first().cloned().unwrap_or_default()
    )
}

/// 1b. Commands that differ from the wanted set are replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaces_stale_commands() {
    let fake = FakeDiscord::start().await;
    fake.set_registered_commands(
        None,
        vec![
            json!({"name": "help", "description": "An old description"}),
            json!({"name": "gone", "description": "A removed command"}),
        ],
    );
    let bot = start(&fake, |_| {}).await;
    let stored = registered(&fake, &global_commands_path()).await;
    let names: BTreeSet<&str> = stored.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, COMMANDS.into_iter().collect());
    bot.stop().await;
}

/// 1c. With `discord.guild_id` the guild endpoints are used, never the global ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_guild_commands_with_guild_id() {
    let fake = FakeDiscord::start().await;
    let guild = 987_654_321_098_765_432u64;
    let bot = start(&fake, |c| c.discord.guild_id = Some(guild)).await;
    let route = guild_commands_path(guild);
    let calls = fake.wait_for(|c| count(c, "PUT", &route) == 1, WAIT).await;
    assert_eq!(count(&calls, "GET", &route), 1);
    assert!(
        calls.iter().all(|c| c.route() != global_commands_path()),
        "no global registration"
    );
    let stored = fake.registered_commands(Some(guild));
    assert_eq!(stored.len(), COMMANDS.len());
    assert!(stored.iter().all(|c| c["guild_id"] == guild.to_string().as_str()));
    bot.stop().await;

    let bot = start(&fake, |c| c.discord.guild_id = Some(guild)).await;
    fake.wait_for(|c| count(c, "GET", &route) >= 2, WAIT).await;
    let again = fake
        .try_wait_for(|c| count(c, "PUT", &route) >= 2, Duration::from_secs(2))
        .await;
    assert!(again.is_none(), "unchanged guild commands were PUT again");
    bot.stop().await;
}

/// 2. /report btc eth: an embed with a code-block table, footer and colour, the CSV, no
///    mentions, a Refresh button. Then 5: the Refresh button updates the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_embed_csv_and_refresh_button() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::command("report").option("symbols", "btc eth");
    let msg = ask(&fake, &ix).await;

    let ack = fake.ack_type(ix.token());
    assert!(matches!(ack, Some(4 | 5)), "callback type 4 or 5, got {ack:?}");
    let embed = &msg["embeds"][0];
    assert_eq!(embed["title"], "Market report (demo data)", "{msg:#}");
    let description = embed["description"].as_str().unwrap_or_default();
    assert!(description.contains("```"), "a code block: {description}");
    assert!(
        description.contains("BTCUSDT") && description.contains("ETHUSDT"),
        "{description}"
    );
    assert!(
        embed["footer"]["text"].as_str().is_some_and(|f| !f.is_empty()),
        "a footer: {embed}"
    );
    assert!(embed["color"].is_u64(), "a colour: {embed}");
    let csv = report_csv_attachments(&msg);
    assert_eq!(
        csv.len(),
        1,
        "one report-*.csv attachment on the message: {:#}",
        msg["attachments"]
    );
    let files: Vec<_> = calls_for(&fake, ix.token())
        .into_iter()
        .flat_map(|c| c.files)
        .collect();
    let file = files
        .iter()
        .find(|f| f.filename == csv[0])
        .expect("the CSV was uploaded");
    assert!(
        file.text().starts_with("symbol,close,change_24h_pct"),
        "{}",
        file.text()
    );
    let payloads = payloads_for(&fake, ix.token());
    assert!(
        payloads
            .iter()
            .all(|p| p["allowed_mentions"]["parse"] == json!([])),
        "allowed_mentions.parse is [] on every message: {payloads:#?}"
    );
    let buttons = button_ids(&msg);
    assert!(buttons.iter().any(|b| is_refresh(b)), "{buttons:?}");
    assert!(
        calls_for(&fake, ix.token()).iter().all(Call::ok),
        "{:#?}",
        calls_for(&fake, ix.token())
            .iter()
            .map(Call::summary)
            .collect::<Vec<_>>()
    );

    // 5. Refresh.
    let refresh = buttons.iter().find(|b| is_refresh(b)).unwrap().clone();
    let press = Interaction::button(&refresh, msg.clone());
    fake.send_interaction(&press);
    let updated = fake
        .wait_for_messages(
            press.token(),
            |m| m.iter().any(|m| !m["edited_timestamp"].is_null() && has_embed(m)),
            WAIT,
        )
        .await;
    let ack = fake.ack_type(press.token());
    assert!(
        matches!(ack, Some(6 | 7)),
        "type 7, or 6 then an edit; got {ack:?}"
    );
    let updated = &updated[0];
    assert_eq!(updated["id"], msg["id"], "the same message is edited in place");
    assert_eq!(updated["embeds"][0]["title"], "Market report (demo data)");
    assert!(
        updated["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("BTCUSDT")
    );
    assert!(
        button_ids(updated).iter().any(|b| is_refresh(b)),
        "the button stays"
    );
    assert_eq!(
        report_csv_attachments(updated).len(),
        1,
        "one CSV after refresh: {:#}",
        updated["attachments"]
    );
    assert!(
        calls_for(&fake, press.token()).iter().all(Call::ok),
        "{:#?}",
        calls_for(&fake, press.token())
            .iter()
            .map(Call::summary)
            .collect::<Vec<_>>()
    );
    bot.stop().await;
}

/// 3. An unknown symbol: an ephemeral answer naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_symbol_is_ephemeral() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::command("report").option("symbols", "nope");
    let msg = ask(&fake, &ix).await;
    assert_eq!(msg["flags"].as_u64().unwrap_or(0) & 64, 64, "ephemeral: {msg:#}");
    assert!(visible_text(&msg).contains("NOPEUSDT"), "{}", visible_text(&msg));
    bot.stop().await;
}

/// 4. Autocomplete of `symbols`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_symbols() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::autocomplete("report", "symbols", "bt");
    fake.send_interaction(&ix);
    let calls = fake
        .wait_for(|c| c.iter().any(|c| c.path.contains(ix.token())), WAIT)
        .await;
    let cb: Vec<&Call> = calls.iter().filter(|c| c.path.contains(ix.token())).collect();
    assert_eq!(cb[0].body["type"], 8, "{}", cb[0].summary());
    assert!(cb[0].ok(), "{}", cb[0].summary());
    let choices = fake.autocomplete_choices(ix.token()).unwrap();
    let values: Vec<&str> = choices
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert!(values.contains(&"BTCUSDT"), "{choices}");

    // Completes the last word of a list.
    let ix = Interaction::autocomplete("report", "symbols", "eth so");
    fake.send_interaction(&ix);
    fake.wait_for(|c| c.iter().any(|c| c.path.contains(ix.token())), WAIT)
        .await;
    let choices = fake.autocomplete_choices(ix.token()).unwrap();
    let values: Vec<&str> = choices
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["value"].as_str())
        .collect();
    assert!(
        values.iter().any(|v| v.starts_with("eth ") && v.contains("SOL")),
        "{choices}"
    );

    // Nothing typed yet: suggestions anyway (at most Discord's 25, checked by the fake).
    let ix = Interaction::autocomplete("report", "symbols", "");
    fake.send_interaction(&ix);
    fake.wait_for(|c| c.iter().any(|c| c.path.contains(ix.token())), WAIT)
        .await;
    let cb = calls_for(&fake, ix.token());
    assert!(cb[0].ok(), "{}", cb[0].summary());
    let choices = fake.autocomplete_choices(ix.token()).unwrap();
    assert!(!choices.as_array().unwrap().is_empty(), "{choices}");
    bot.stop().await;
}

/// 6. A Polish client in a new channel gets Polish; /lang switches the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polish_locale_and_lang() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::command("report")
        .option("symbols", "btc")
        .locale("pl")
        .user(777_000_000_000_000_001, "ola")
        .channel(777_000_000_000_000_002);
    let msg = ask(&fake, &ix).await;
    assert!(
        msg["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Raport rynkowy"),
        "{msg:#}"
    );

    // /lang pl in an English channel, then /report there from an English client.
    registered(&fake, &global_commands_path()).await;
    let opt = option_name(&fake, "lang");
    let channel = 777_000_000_000_000_003;
    let lang = Interaction::command("lang").option(&opt, "pl").channel(channel);
    let msg = ask(&fake, &lang).await;
    assert!(visible_text(&msg).contains("polski"), "{}", visible_text(&msg));
    let report = Interaction::command("report")
        .option("symbols", "btc")
        .channel(channel);
    let msg = ask(&fake, &report).await;
    assert!(
        msg["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Raport rynkowy"),
        "{msg:#}"
    );

    // Refresh pressed by an English client keeps the channel's language.
    let refresh = button_ids(&msg)
        .into_iter()
        .find(|b| is_refresh(b))
        .expect("a Refresh button");
    let press = Interaction::button(&refresh, msg);
    fake.send_interaction(&press);
    let updated = fake
        .wait_for_messages(
            press.token(),
            |m| m.iter().any(|m| !m["edited_timestamp"].is_null() && has_embed(m)),
            WAIT,
        )
        .await;
    let title = updated[0]["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        title.contains("Raport rynkowy"),
        "the refreshed report stays Polish: {title}"
    );
    bot.stop().await;
}

/// 7a. A 429 on the interaction callback is retried after `retry_after`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_callback_is_retried() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    fake.wait_ready(WAIT).await;
    fake.rate_limit_next("/interactions/", 0.3);
    let ix = Interaction::command("help");
    let msg = ask(&fake, &ix).await;
    assert!(has_embed(&msg) || !msg["content"].is_null());
    let cbs: Vec<Call> = calls_for(&fake, ix.token())
        .into_iter()
        .filter(|c| c.route().ends_with("/callback"))
        .collect();
    let summary: Vec<String> = cbs.iter().map(Call::summary).collect();
    assert_eq!(cbs.len(), 2, "{summary:#?}");
    assert_eq!((cbs[0].status, cbs[1].status), (429, 204), "{summary:#?}");
    let gap = cbs[1].at - cbs[0].at;
    assert!(gap >= Duration::from_millis(300), "retried after {gap:?}");
    eprintln!("callback retried after {gap:?} (retry_after 0.3 s, Retry-After: 1)");
    bot.stop().await;
}

/// 7b. A 429 on the webhook edit of a Refresh (type 6 + PATCH @original) or on a follow-up is
///     retried too. (When the adapter answers a button with type 7 there is no webhook call;
///     then the 429 lands on the callback, which is retried the same way.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_webhook_is_retried() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::command("report").option("symbols", "btc");
    let msg = ask(&fake, &ix).await;
    let refresh = button_ids(&msg)
        .into_iter()
        .find(|b| is_refresh(b))
        .expect("a Refresh button");
    fake.rate_limit_next("/webhooks/", 0.3);
    let press = Interaction::button(&refresh, msg);
    fake.send_interaction(&press);
    fake.wait_for_messages(
        press.token(),
        |m| m.iter().any(|m| !m["edited_timestamp"].is_null()),
        WAIT,
    )
    .await;
    let hooks: Vec<Call> = calls_for(&fake, press.token())
        .into_iter()
        .filter(|c| c.route().starts_with("/webhooks/"))
        .collect();
    let summary: Vec<String> = calls_for(&fake, press.token())
        .iter()
        .map(Call::summary)
        .collect();
    if fake.ack_type(press.token()) == Some(7) {
        eprintln!("the button was answered with type 7; no webhook call to rate-limit: {summary:#?}");
    } else {
        assert!(hooks.len() >= 2, "{summary:#?}");
        assert_eq!(hooks[0].status, 429, "{summary:#?}");
        assert!(hooks[1].ok(), "{summary:#?}");
        let gap = hooks[1].at - hooks[0].at;
        assert!(gap >= Duration::from_millis(300), "retried after {gap:?}");
        eprintln!("webhook edit retried after {gap:?}");
    }
    bot.stop().await;
}

/// 8. /help lists the commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_commands() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    let ix = Interaction::command("help");
    let msg = ask(&fake, &ix).await;
    let text = visible_text(&msg);
    assert!(text.contains("Chainsignal commands"), "{text}");
    for c in ["/report", "/summary", "/lang", "/help"] {
        assert!(text.contains(c), "{c} in {text}");
    }
    // In a DM as well (a `user`, no `member`).
    let dm = Interaction::command("help").in_dm().locale("pl");
    let msg = ask(&fake, &dm).await;
    assert!(
        visible_text(&msg).contains("Komendy Chainsignal"),
        "{}",
        visible_text(&msg)
    );
    bot.stop().await;
}

/// Chat admins only: /subscribe by a regular member is refused, by a Manage Server member
/// works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_needs_manage_server() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    registered(&fake, &global_commands_path()).await;
    let opt = option_name(&fake, "subscribe");
    let member = Interaction::command("subscribe").option(&opt, "reports");
    let msg = ask(&fake, &member).await;
    assert!(
        visible_text(&msg).contains("Only the chat's administrators"),
        "{}",
        visible_text(&msg)
    );
    let admin = Interaction::command("subscribe")
        .option(&opt, "reports")
        .member_permissions("32");
    let msg = ask(&fake, &admin).await;
    assert!(
        visible_text(&msg).contains("now receives the scheduled market reports"),
        "{}",
        visible_text(&msg)
    );
    let _ = GUILD_ID;
    bot.stop().await;
}

/// The gateway: IDENTIFY with the bot token and no privileged intents; heartbeats; a
/// reconnect (op 7) is resumed and interactions keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_identify_heartbeat_and_resume() {
    let fake = FakeDiscord::start_with(FakeOptions {
        heartbeat_interval: Duration::from_millis(300),
        reject_privileged_intents: true,
        ..FakeOptions::default()
    })
    .await;
    let bot = start(&fake, |_| {}).await;
    fake.wait_ready(WAIT).await;
    let frames = fake
        .wait_for_gateway(|f| f.iter().filter(|f| f.payload["op"] == 1).count() >= 2, WAIT)
        .await;
    let identify = frames.iter().find(|f| f.payload["op"] == 2).unwrap();
    let intents = identify.payload["d"]["intents"].as_u64().unwrap();
    assert_eq!(
        intents & PRIVILEGED_INTENTS,
        0,
        "no privileged intents: {intents:#b}"
    );

    fake.reconnect();
    fake.wait_for_gateway(|f| f.iter().any(|f| f.payload["op"] == 6), WAIT)
        .await;
    let ix = Interaction::command("help");
    ask(&fake, &ix).await;
    let (_, identifies, resumes) = fake.gateway_counts();
    assert_eq!((identifies, resumes), (1, 1), "resumed rather than re-identified");
    bot.stop().await;
}

/// Without a token the adapter does not start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_no_adapter() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.secrets.discord_token = None;
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("dc.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (_trigger, shutdown) = shutdown::channel();
    assert!(discord::start(&app, shutdown).unwrap().is_none());
}

/// Registration also notices a changed translation or a changed `required` flag (what a
/// plain GET does not show: `?with_localizations=true` is needed for the translations).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_translation_or_flag_is_registered_again() {
    let fake = FakeDiscord::start().await;
    let route = global_commands_path();
    let bot = start(&fake, |_| {}).await;
    registered(&fake, &route).await;
    bot.stop().await;
    let good = fake.registered_commands(None);

    // An older build's Polish description of /report.
    let mut cmds = good.clone();
    let report = cmds.iter_mut().find(|c| c["name"] == "report").unwrap();
    report["description_localizations"]["pl"] = json!("Stary opis raportu");
    fake.set_registered_commands(None, cmds);
    let bot = start(&fake, |_| {}).await;
    fake.wait_for(|c| count(c, "GET", &route) >= 2, WAIT).await;
    let put = fake
        .try_wait_for(|c| count(c, "PUT", &route) >= 2, Duration::from_secs(3))
        .await;
    bot.stop().await;
    let gets: Vec<String> = fake
        .calls_to("GET", &route)
        .iter()
        .map(|c| format!("GET ?{:?}", c.query))
        .collect();

    // An older build's /lang whose option was required.
    let mut cmds = good.clone();
    let lang = cmds.iter_mut().find(|c| c["name"] == "lang").unwrap();
    lang["options"][0]["required"] = json!(true);
    fake.set_registered_commands(None, cmds);
    let puts_before = count(&fake.calls(), "PUT", &route);
    let bot = start(&fake, |_| {}).await;
    fake.wait_for(|c| count(c, "GET", &route) >= 3, WAIT).await;
    let put2 = fake
        .try_wait_for(|c| count(c, "PUT", &route) > puts_before, Duration::from_secs(3))
        .await;
    bot.stop().await;

    assert!(
        put.is_some() && put2.is_some(),
        "re-registered after a changed Polish description: {}; after a changed `required`: {}; the adapter's GETs: {gets:?}",
        put.is_some(),
        put2.is_some()
    );
}

/// The deferred path: a /summary slower than the adapter's 2.5 s budget (slow AI) is deferred
/// (type 5) in time, then answered by a follow-up, which survives a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_command_is_deferred_then_followed_up() {
    use chainsignal_tests::fake_openai::{Behaviour, FakeOpenAi};
    let ai = FakeOpenAi::start().await;
    ai.set_answer("BTC leads higher while ETH lags.");
    ai.then(Behaviour::Slow(Duration::from_millis(3_500)));
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |c| {
        c.ai.base_url = ai.base_url();
        c.ai.cooldown_secs = 0;
        c.secrets.ai_api_key = Some(SecretString::from("sk-test-key-0123456789".to_string()));
    })
    .await;
    fake.wait_ready(WAIT).await;
    fake.rate_limit_next("/webhooks/", 0.3);
    let ix = Interaction::command("summary").option("symbols", "btc eth");
    let msg = ask(&fake, &ix).await;
    let calls = calls_for(&fake, ix.token());
    let summary: Vec<String> = calls.iter().map(Call::summary).collect();
    assert_eq!(fake.ack_type(ix.token()), Some(5), "deferred: {summary:#?}");
    let cb = calls.iter().find(|c| c.route().ends_with("/callback")).unwrap();
    assert!(cb.ok(), "the deferral was in time: {}", cb.summary());
    let hooks: Vec<&Call> = calls
        .iter()
        .filter(|c| c.route().starts_with("/webhooks/"))
        .collect();
    assert!(
        hooks.len() >= 2 && hooks[0].status == 429 && hooks[1].ok(),
        "{summary:#?}"
    );
    let gap = hooks[1].at - hooks[0].at;
    assert!(
        gap >= Duration::from_millis(300),
        "the follow-up was retried after {gap:?}"
    );
    assert!(
        visible_text(&msg).contains("BTC leads higher"),
        "{}",
        visible_text(&msg)
    );
    let messages: Vec<Value> = payloads_for(&fake, ix.token())
        .into_iter()
        .filter(has_embed)
        .collect();
    assert!(!messages.is_empty());
    assert!(
        messages
            .iter()
            .all(|p| p["allowed_mentions"]["parse"] == json!([])),
        "{summary:#?}"
    );
    bot.stop().await;
}

/// 20 symbols (the most a report takes): the message passes Discord's limits, and Refresh keeps every symbol
/// (the button's custom_id holds at most 100 characters).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_report_fits_and_refresh_keeps_every_symbol() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    // The most one report takes.
    let all = "btc eth sol bnb tao dash hemi pyth xrp ada doge avax dot link ltc trx atom near apt arb";
    let ix = Interaction::command("report").option("symbols", all);
    let msg = ask(&fake, &ix).await;
    assert!(calls_for(&fake, ix.token()).iter().all(Call::ok));
    let symbols = |m: &Value| -> BTreeSet<String> {
        m["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() > 4 && w.ends_with("USDT"))
            .map(str::to_string)
            .collect()
    };
    let before = symbols(&msg);
    assert_eq!(before.len(), 20, "{before:?} in {}", visible_text(&msg));
    let refresh = button_ids(&msg)
        .into_iter()
        .find(|b| is_refresh(b))
        .expect("a Refresh button");
    let press = Interaction::button(&refresh, msg);
    fake.send_interaction(&press);
    let updated = fake
        .wait_for_messages(
            press.token(),
            |m| m.iter().any(|m| !m["edited_timestamp"].is_null() && has_embed(m)),
            WAIT,
        )
        .await;
    let after = symbols(&updated[0]);
    let lost: Vec<&String> = before.difference(&after).collect();
    assert!(
        lost.is_empty(),
        "Refresh dropped {} symbols: {lost:?} (custom_id {refresh:?})",
        lost.len()
    );
    bot.stop().await;
}

/// A wrong token: REST answers 401 and the gateway closes IDENTIFY with 4004. The adapter
/// gives up (its task ends) instead of reconnecting forever, and shutdown still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_gives_up_cleanly() {
    init_tracing();
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from("WRONG.TOKEN".to_string()));
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("dc.sqlite").display()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
    let mut task = started.task;
    let ended = tokio::time::timeout(Duration::from_secs(10), &mut task).await;
    let identifies = fake.gateway_ops().iter().filter(|&&o| o == 2).count();
    if ended.is_err() {
        trigger.trigger();
        tokio::time::timeout(WAIT, task)
            .await
            .expect("stops on shutdown")
            .unwrap();
    }
    assert!(
        identifies <= 3,
        "IDENTIFY retried {identifies} times with a rejected token"
    );
    assert!(
        ended.is_ok(),
        "the adapter keeps running with a rejected token ({identifies} IDENTIFYs)"
    );
}

/// A 429 on the deferral, which the adapter sends 2.5 s into Discord's 3 s: waiting what
/// `retry_after` says (0.3 s) still makes the deadline; a longer fixed wait does not, and the
/// user sees "The application did not respond".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_deferral_still_meets_the_deadline() {
    use chainsignal_tests::fake_openai::{Behaviour, FakeOpenAi};
    let ai = FakeOpenAi::start().await;
    ai.set_answer("BTC leads higher while ETH lags.");
    ai.then(Behaviour::Slow(Duration::from_millis(3_500)));
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |c| {
        c.ai.base_url = ai.base_url();
        c.ai.cooldown_secs = 0;
        c.secrets.ai_api_key = Some(SecretString::from("sk-test-key-0123456789".to_string()));
    })
    .await;
    fake.wait_ready(WAIT).await;
    fake.rate_limit_next("/interactions/", 0.3);
    let ix = Interaction::command("summary").option("symbols", "btc eth");
    fake.send_interaction(&ix);
    let token = ix.token().to_string();
    // The retried deferral and whatever follows it.
    fake.wait_for(
        |c| c.iter().filter(|c| c.path.contains(&token)).count() >= 3,
        WAIT,
    )
    .await;
    let calls = calls_for(&fake, ix.token());
    let summary: Vec<String> = calls.iter().map(Call::summary).collect();
    let cbs: Vec<&Call> = calls
        .iter()
        .filter(|c| c.route().ends_with("/callback"))
        .collect();
    assert_eq!(cbs[0].status, 429, "{summary:#?}");
    assert!(
        cbs.len() >= 2 && cbs[1].ok(),
        "the retried deferral came {:?} after the 429 (retry_after 0.3 s) and was too late: {summary:#?}",
        cbs.get(1).map(|c| c.at - cbs[0].at)
    );
    bot.stop().await;
}

/// Issue 11, item 3: a word separated by a non-ASCII space (U+00A0, U+3000) panicked the
/// autocomplete handler (byte slicing inside a multi-byte character), so no answer came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_survives_unicode_spaces() {
    let fake = FakeDiscord::start().await;
    let bot = start(&fake, |_| {}).await;
    for (typed, prefix, wanted) in [
        ("eth\u{a0}so", "eth\u{a0}", "SOLUSDT"),
        ("btc\u{3000}et", "btc\u{3000}", "ETHUSDT"),
        ("\u{3000}", "\u{3000}", "BTCUSDT"),
    ] {
        let ix = Interaction::autocomplete("report", "symbols", typed);
        fake.send_interaction(&ix);
        fake.wait_for(|c| c.iter().any(|c| c.path.contains(ix.token())), WAIT)
            .await;
        let choices = fake.autocomplete_choices(ix.token()).unwrap();
        let values: Vec<&str> = choices
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["value"].as_str())
            .collect();
        assert!(
            values
                .iter()
                .any(|v| v.starts_with(prefix) && v.ends_with(wanted)),
            "{typed:?}: {choices}"
        );
    }
    bot.stop().await;
}

/// Issue 11, item 11: with `discord.api_url` set, the gateway URL comes from there or the
/// bot does not connect. serenity fell back to `wss://gateway.discord.gg` when the first
/// `GET /gateway` failed (run before the fix in a network namespace with loopback only,
/// this test timed out: the fake never saw a gateway connection). Now the URL is asked
/// again with backoff; one on another host is refused; the bot connects to the fake once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_url_comes_from_api_url_only() {
    let fake = FakeDiscord::start().await;
    fake.fail_next("/gateway", 500, json!({"message": "oops"}), None);
    fake.fail_next("/gateway", 500, json!({"message": "oops"}), None);
    fake.fail_next("/gateway", 200, json!({"url": "wss://gateway.discord.gg"}), None);
    let bot = start(&fake, |_| {}).await;
    fake.wait_ready(WAIT).await;
    let asked = fake
        .calls()
        .iter()
        .filter(|c| c.method == "GET" && c.route().starts_with("/gateway"))
        .count();
    assert!(
        asked >= 4,
        "two failures, one foreign URL, then the answer: {asked}"
    );
    let (connections, identifies, _) = fake.gateway_counts();
    assert_eq!((connections, identifies), (1, 1), "one connection, to the fake");
    bot.stop().await;
}
