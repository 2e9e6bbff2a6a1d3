//! Issue 16's account-level pieces end to end: `/liq` through the real teloxide client
//! against the fake Bot API and through the real serenity client against the fake
//! Discord, its price equal to the formula to 1e-8 relative; `/settings tz`,
//! `/admin risk USER PROFILE` (audited, admins only) and `/risk profile` on Telegram.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::{discord, telegram};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::Identity;
use chainsignal_core::trading::LimitOverrides;
use chainsignal_tests::fake_discord::{FakeDiscord, Interaction, TOKEN};
use chainsignal_tests::fake_telegram::FakeTelegram;
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const OWNER: i64 = 77;
const TRADER: i64 = 5;
const OTHER: i64 = 6;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The config of both bots: an ETHUSDT maintenance margin rate of its own.
fn config(dir: &tempfile::TempDir) -> (Config, SecretString) {
    let mut config = Config::default();
    config.alerts.enabled = false;
    config.risk.mmr_per_symbol.insert("ETHUSDT".into(), d("0.005"));
    let url = format!("sqlite://{}", dir.path().join("risk.sqlite").display());
    (config, SecretString::from(url))
}

/// The formula of the issue, computed here independently of the bot.
fn formula(long: bool, entry: Decimal, lev: u32, mmr: Decimal) -> Decimal {
    let inv = Decimal::ONE / Decimal::from(lev);
    if long {
        entry * (Decimal::ONE - inv) / (Decimal::ONE - mmr)
    } else {
        entry * (Decimal::ONE + inv) / (Decimal::ONE + mmr)
    }
}

/// The liquidation price as the reply shows it, in English (`45,180.72289157`).
fn shown_lp(text: &str, label_then: &str) -> Option<Decimal> {
    // The first occurrence followed by a number (a title may start the same way).
    text.match_indices(label_then).find_map(|(at, _)| {
        let value: String = text[at + label_then.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
            .filter(|c| *c != ',')
            .collect();
        value.parse().ok()
    })
}

fn assert_close(got: Decimal, want: Decimal, what: &str) {
    let rel = ((got - want) / want).abs();
    assert!(rel < d("0.00000001"), "{what}: {got} vs {want} (relative {rel})");
}

/// (command text, long, entry, lev, mmr) cases checked on both platforms.
const CASES: &[(&str, bool, &str, u32, &str)] = &[
    ("btc long 50000 10", true, "50000", 10, "0.004"),
    ("BTCUSDT short 50000 10", false, "50000", 10, "0.004"),
    ("eth short 3012.5 25", false, "3012.5", 25, "0.005"),
    ("eth long 3012.5 125", true, "3012.5", 125, "0.005"),
    ("pepe long 0.0000123456 3", true, "0.0000123456", 3, "0.004"),
    ("sol short 145.2 1", false, "145.2", 1, "0.004"),
    ("btc long 98765.4321 2", true, "98765.4321", 2, "0.004"),
];

// ============================ Telegram ============================

struct TgBot {
    app: App,
    started: telegram::Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

async fn telegram_bot(fake: &FakeTelegram) -> TgBot {
    let dir = tempfile::tempdir().unwrap();
    let (mut config, url) = config(&dir);
    config.telegram.api_url = fake.url();
    config.telegram.poll_timeout_secs = 1;
    config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
    config.admins.telegram = vec![OWNER.to_string()];
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
    TgBot {
        app,
        started,
        trigger,
        _dir: dir,
    }
}

impl TgBot {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("telegram stops")
            .unwrap();
    }
}

/// `text` from `user` in their private chat; the text of the next message sent there.
async fn ask(fake: &FakeTelegram, user: i64, text: &str) -> String {
    fake.ask_private(user, text, WAIT)
        .await
        .text()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liq_on_telegram_equals_the_formula_and_refuses_bad_numbers() {
    let fake = FakeTelegram::start().await;
    let bot = telegram_bot(&fake).await;

    for (args, long, entry, lev, mmr) in CASES {
        let text = ask(&fake, TRADER, &format!("/liq {args}")).await;
        let want = formula(*long, d(entry), *lev, d(mmr));
        let got = shown_lp(&text, "<b>Liquidation price</b>: ")
            .unwrap_or_else(|| panic!("/liq {args}: no price in {text}"));
        assert_close(got, want, args);
        // The distance from the entry, in %, to the cent of a percent.
        let distance = ((want - d(entry)) / d(entry) * Decimal::ONE_HUNDRED).round_dp(2);
        let sign = if distance > Decimal::ZERO { "+" } else { "" };
        assert!(
            text.contains(&format!(
                "<b>Distance from the entry</b>: {sign}{} %",
                distance.normalize()
            )),
            "{args}: {text}"
        );
        let mmr_pct = (d(mmr) * Decimal::ONE_HUNDRED).normalize();
        assert!(text.contains(&format!("{mmr_pct} %")), "{args}: {text}");
    }
    // A long at 1x has none.
    let text = ask(&fake, TRADER, "/liq btc long 100 1").await;
    assert!(text.contains("a long at 1× cannot be liquidated"), "{text}");

    // Numbers that are not prices, each with its sentence; nothing computed.
    for (args, sentence) in [
        ("btc long NaN 10", "entry: “NaN” is not a number"),
        ("btc long inf 10", "entry: “inf” is not a number"),
        ("btc long 1e9 10", "entry: “1e9” is not a number"),
        ("btc long -50000 10", "entry: “-50000” must be greater than zero"),
        ("btc long 0 10", "entry: “0” must be greater than zero"),
        ("btc long 0.000 10", "must be greater than zero"),
        ("btc long 50,000 10", "has a comma"),
        (
            "btc long 99999999999999 10",
            "The entry price 99999999999999 is too large to compute with",
        ),
        (
            "btc long 9999999999999999999999999999 10",
            "too large to compute with",
        ),
        ("btc long 99999999999999999999999999999999 10", "is not a number"),
        (
            "btc long 50000 0",
            "lev: “0” must be a whole number from 1 to 125",
        ),
        (
            "btc long 50000 126",
            "lev: “126” must be a whole number from 1 to 125",
        ),
        ("btc long 50000 2.5", "must be a whole number from 1 to 125"),
        ("btc up 50000 10", "side: “up” is not one of long, short"),
        ("btc long", "“entry” is missing"),
    ] {
        let text = ask(&fake, TRADER, &format!("/liq {args}")).await;
        assert!(text.contains(sentence), "/liq {args}: {text}");
        assert!(!text.contains("Liquidation price</b>"), "/liq {args}: {text}");
    }
    // In Polish: the sentence and the number's writing.
    ask(&fake, OTHER, "/lang pl").await;
    let text = ask(&fake, OTHER, "/liq btc long 50000 10").await;
    assert!(text.contains("<b>Cena likwidacji</b>: 45 180,72289157"), "{text}");
    let text = ask(&fake, OTHER, "/liq btc long 99999999999999 10").await;
    assert!(text.contains("jest za duża do obliczeń"), "{text}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_tz_admin_risk_and_risk_profile_on_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = telegram_bot(&fake).await;
    let store = bot.app.store.clone();

    // The defaults: UTC, conservative.
    let text = ask(&fake, TRADER, "/settings").await;
    assert!(
        text.contains("<b>Time zone of the trading day</b>: UTC"),
        "{text}"
    );
    assert!(text.contains("<b>Risk profile</b>: conservative"), "{text}");
    // `/risk` alone is the dashboard; `/risk profile` the limits.
    let text = ask(&fake, TRADER, "/risk").await;
    assert!(text.contains("Risk (paper, profile conservative)"), "{text}");
    let text = ask(&fake, TRADER, "/risk profile").await;
    assert!(text.contains("Risk profile: conservative"), "{text}");
    assert!(text.contains("<b>Leverage, at most</b>: 1×"), "{text}");
    assert!(
        text.contains("<b>One position's notional, at most</b>: 10 % of equity"),
        "{text}"
    );

    // /settings tz: any case, stored in its proper name; the next day starts at the
    // zone's midnight.
    let text = ask(&fake, TRADER, "/settings tz europe/warsaw").await;
    assert!(text.contains("midnight to midnight in Europe/Warsaw"), "{text}");
    assert!(
        text.contains(":00 UTC") && (text.contains(" 22:00 UTC") || text.contains(" 23:00 UTC")),
        "Warsaw's midnight is 22:00 or 23:00 UTC: {text}"
    );
    let account = store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: TRADER.to_string(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let settings = store.account_settings(account).await.unwrap();
    assert_eq!(settings.timezone.name(), "Europe/Warsaw");
    let text = ask(&fake, TRADER, "/settings tz Mars/Olympus_Mons").await;
    assert!(
        text.contains("“Mars/Olympus_Mons” is not a time zone. Use a name like Europe/Warsaw"),
        "{text}"
    );
    assert_eq!(
        store.account_settings(account).await.unwrap().timezone.name(),
        "Europe/Warsaw",
        "unchanged"
    );
    let text = ask(&fake, TRADER, "/settings").await;
    assert!(text.contains("Europe/Warsaw"), "{text}");

    // /admin risk: a trader may not.
    let text = ask(&fake, TRADER, &format!("/admin risk {OTHER} loose")).await;
    assert!(text.contains("Only the bot's admins can do that."), "{text}");
    // The owner puts the trader on model2; audited with readable arguments.
    let text = ask(&fake, OWNER, &format!("/admin risk {TRADER} model2")).await;
    assert!(
        text.contains("now trades on the model2 risk profile (was conservative)"),
        "{text}"
    );
    let audit = store.recent_audit(50).await.unwrap();
    let row = audit
        .iter()
        .find(|r| r.command == "admin" && r.outcome == "ok")
        .expect("the change is audited");
    assert_eq!(row.args, format!("risk user={TRADER} profile=model2"));
    assert!(
        audit.iter().any(|r| r.command == "admin"
            && r.outcome == "denied"
            && r.platform_user_id == TRADER.to_string())
    );
    // An admin who is not an owner may not change an owner's profile.
    ask(&fake, OTHER, "/help").await;
    let other = store
        .account_by_identity("telegram", &OTHER.to_string())
        .await
        .unwrap()
        .unwrap();
    store
        .set_role(other.id, chainsignal_core::store::StoredRole::Admin, None)
        .await
        .unwrap();
    let text = ask(&fake, OTHER, &format!("/admin risk {OWNER} loose")).await;
    assert!(text.contains("Only the bot's owner can do that."), "{text}");
    let text = ask(&fake, OTHER, &format!("/admin risk {TRADER} model2")).await;
    assert!(text.contains("now trades on the model2 risk profile"), "{text}");
    let text = ask(&fake, OWNER, "/admin risk 999999 loose").await;
    assert!(text.contains("I don't know anyone called 999999"), "{text}");
    let text = ask(&fake, OWNER, &format!("/admin risk {TRADER} yolo")).await;
    assert!(
        text.contains("is not one of conservative, model2, loose"),
        "{text}"
    );

    // /risk profile shows model2's limits, and an admin's override marked.
    store
        .set_limit_overrides(
            account,
            Some(&LimitOverrides {
                max_leverage: Some(2),
                ..LimitOverrides::default()
            }),
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let text = ask(&fake, TRADER, "/risk profile").await;
    for line in [
        "Risk profile: model2",
        "<b>Open positions, at most</b>: 5",
        "<b>One position's notional, at most</b>: 20 % of equity",
        "<b>Total gross exposure, at most</b>: 60 % of equity",
        "<b>Leverage, at most *</b>: 2×",
        "<b>Daily loss limit</b>: 3 % of the equity at the day's start",
        "<b>Stop-loss required</b>: yes",
        "<b>Reward/risk with TP and SL, at least</b>: 1.2",
        "<b>Risk to the stop-loss of one position, at most</b>: 2 % of equity",
        "<b>Close everything when the daily limit is hit</b>: no",
        "midnight to midnight in Europe/Warsaw",
        "* set by an admin for your account",
    ] {
        assert!(text.contains(line), "{line} missing from {text}");
    }
    let text = ask(&fake, TRADER, "/settings").await;
    assert!(text.contains("<b>Risk profile</b>: model2"), "{text}");
    bot.stop().await;
}

// ============================ Discord ============================

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liq_on_discord_equals_the_formula() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut config, url) = config(&dir);
    config.discord.api_url = fake.url();
    config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
    let app = App::build(config, Some(Source::Demo), Some(url)).await.unwrap();
    let (trigger, shutdown) = shutdown::channel();
    let started = discord::start(&app, shutdown).unwrap().expect("a token is set");

    // Registered with typed options: a symbol, a choice, the entry as text (no float
    // bounds), the leverage as an integer 1..=125.
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
    let liq = fake
        .registered_commands(None)
        .into_iter()
        .find(|c| c["name"] == "liq")
        .expect("/liq is registered");
    let options: Vec<(String, u64, bool)> = liq["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["type"].as_u64().unwrap(),
                o["required"] == true,
            )
        })
        .collect();
    assert_eq!(
        options,
        [
            ("symbol".to_string(), 3, true),
            ("side".to_string(), 3, true),
            ("entry".to_string(), 3, true),
            ("lev".to_string(), 4, true)
        ],
        "{liq:#}"
    );
    assert_eq!(liq["options"][3]["max_value"], 125, "{liq:#}");

    for (args, long, entry, lev, mmr) in CASES {
        let words: Vec<&str> = args.split_whitespace().collect();
        let ix = Interaction::command("liq")
            .option("symbol", json!(words[0]))
            .option("side", json!(words[1]))
            .option("entry", json!(words[2]))
            .option("lev", json!(words[3].parse::<i64>().unwrap()));
        fake.send_interaction(&ix);
        let msgs = fake
            .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
            .await;
        let text = visible_text(&msgs.into_iter().find(shown).unwrap());
        let got = shown_lp(&text, "Liquidation price: ")
            .unwrap_or_else(|| panic!("/liq {args}: no price in {text}"));
        assert_close(got, formula(*long, d(entry), *lev, d(mmr)), args);
    }
    // A bad entry: the sentence, no price.
    let ix = Interaction::command("liq")
        .option("symbol", json!("btc"))
        .option("side", json!("long"))
        .option("entry", json!("NaN"))
        .option("lev", json!(10));
    fake.send_interaction(&ix);
    let msgs = fake
        .wait_for_messages(ix.token(), |m| m.iter().any(shown), WAIT)
        .await;
    let text = visible_text(&msgs.into_iter().find(shown).unwrap());
    assert!(text.contains("“NaN” is not a number"), "{text}");

    trigger.trigger();
    tokio::time::timeout(WAIT, started.task)
        .await
        .expect("discord stops")
        .expect("no panic");
}
