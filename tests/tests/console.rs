//! The console path end to end: lines in, the real commands, the real Binance client
//! against the fake exchange, SQLite, plain text out.

use chainsignal::app::App;
use chainsignal::console;
use chainsignal_core::config::Config;
use chainsignal_core::store::Store;
use chainsignal_tests::fake_binance::{Behaviour, FakeBinance};
use secrecy::SecretString;

async fn app(fake: &FakeBinance, dir: &std::path::Path) -> App {
    let mut config = Config::default();
    config.market.binance_url = fake.url();
    config.market.backoff_ms = 1;
    let url = SecretString::from(format!("sqlite://{}", dir.join("console.sqlite").display()));
    App::build(config, None, Some(url)).await.unwrap()
}

async fn session(app: &App, input: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    console::serve(&app.commands, input.as_bytes(), &mut out, false)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn audit_count(store: &Store) -> usize {
    store.recent_audit(1000).await.unwrap().len()
}

#[tokio::test]
async fn report_help_errors_and_language() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&fake, dir.path()).await;

    let out = session(&app, "/report btc eth\n").await;
    assert!(out.starts_with("Market report\n"), "{out}");
    assert!(
        out.contains("BTCUSDT") && out.contains("ETHUSDT") && !out.contains("SOLUSDT"),
        "{out}"
    );
    assert!(out.contains("Source: Binance"));
    assert_eq!(
        app.store.report_history(None).await.unwrap().len(),
        2,
        "the report is kept"
    );

    let out = session(&app, "/report nope\n").await;
    assert!(out.contains("No symbol could be reported."), "{out}");
    assert!(
        out.contains("NOPEUSDT: the exchange does not list this symbol."),
        "{out}"
    );
    assert_eq!(
        app.store.report_history(None).await.unwrap().len(),
        2,
        "empty reports are not kept"
    );

    let out = session(&app, "/help\n").await;
    for c in [
        "/help",
        "/report [symbols…]",
        "/lang [en|pl]",
        "/schedule remove <name>",
    ] {
        assert!(out.contains(c), "{c} missing from help:\n{out}");
    }

    let out = session(&app, "/lang pl\n/report btc\n/help\n/foo\n").await;
    assert!(out.starts_with("Język tego czatu: polski."), "{out}");
    assert!(out.contains("Raport rynkowy") && out.contains("Cena"), "{out}");
    assert!(out.contains("Komendy Chainsignal"), "{out}");
    assert!(out.contains("Nieznana komenda /foo"), "{out}");

    // Polish stays: it is stored for the chat, not held in memory by the session.
    let again = app_again(&fake, dir.path()).await;
    let out = session(&again, "report btc\n").await;
    assert!(out.contains("Raport rynkowy"), "{out}");
    let out = session(&again, "/lang\n/lang de\n/lang en\n/report btc\n").await;
    assert!(
        out.contains("Użycie: /lang en lub /lang pl. Obecny język: polski."),
        "{out}"
    );
    assert!(out.contains("Language of this chat: English."), "{out}");
    assert!(out.contains("Market report"), "{out}");
}

async fn app_again(fake: &FakeBinance, dir: &std::path::Path) -> App {
    app(fake, dir).await
}

#[tokio::test]
async fn bad_input_of_every_kind_gets_an_answer_and_an_audit_row() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("SOLUSDT", Behaviour::ServerError { times: 1000 });
    let dir = tempfile::tempdir().unwrap();
    let app = app(&fake, dir.path()).await;
    let huge = format!("/report {}\n", "x".repeat(5000));
    let many = format!(
        "/report {}\n",
        (0..30).map(|i| format!("c{i}")).collect::<Vec<_>>().join(" ")
    );
    let input = format!(
        "/report btc <b>&amp; x/y/z 😀\n/report sol btc\n{huge}{many}$$$\n/\n\n   \n/report@someone btc\n"
    );
    let out = session(&app, &input).await;
    assert!(out.contains("“<b>&amp;” is not a symbol."), "{out}");
    assert!(out.contains("“x/y/z” is not a symbol."), "{out}");
    assert!(out.contains("“😀” is not a symbol."), "{out}");
    assert!(
        out.contains("SOLUSDT: the exchange is unavailable right now."),
        "{out}"
    );
    assert!(out.contains("That message is too long for a command."), "{out}");
    assert!(out.contains("At most 20 symbols in one report, please."), "{out}");
    assert!(out.contains("That is not a command."), "{out}");
    assert!(
        !out.to_lowercase().contains("panic") && !out.contains("error:"),
        "{out}"
    );
    // One audit row per command that ran (parse errors never reach a command).
    let audit = app.store.recent_audit(100).await.unwrap();
    let outcomes: Vec<&str> = audit.iter().rev().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        ["user_error", "failed", "user_error", "ok"],
        "{audit:#?}"
    );
    assert_eq!(audit_count(&app.store).await, 4);
    assert_eq!(audit[0].command, "report");
    assert_eq!(audit[0].platform, "console");
}

/// Issue 11, item 2: a line that is not UTF-8 is answered with an error and the next
/// line is served; so is a line longer than any command.
#[tokio::test]
async fn invalid_utf8_and_endless_lines_are_answered_and_the_session_goes_on() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&fake, dir.path()).await;
    let mut input = b"/help\n/report \xff\xfe btc\n".to_vec();
    input.extend(b"/report ");
    input.extend(std::iter::repeat_n(b'x', 1 << 20));
    input.extend(b"\n/report btc\n");
    let mut out: Vec<u8> = Vec::new();
    console::serve(&app.commands, input.as_slice(), &mut out, false)
        .await
        .expect("invalid input does not end the session");
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("Chainsignal"), "help answered:\n{out}");
    assert!(
        out.contains("That line is not valid UTF-8 text; nothing was run."),
        "{out}"
    );
    assert!(out.contains("That message is too long for a command."), "{out}");
    assert!(
        out.trim_end().ends_with(|c: char| !c.is_whitespace()) && out.contains("BTCUSDT"),
        "the last line is answered:\n{out}"
    );
    assert_eq!(
        app.store.report_history(None).await.unwrap().len(),
        1,
        "only the valid /report btc ran"
    );
}

/// Issue 12 item 4 at the console: `/keys add` without the secrets reads them from the
/// next lines (no terminal here), echoes neither, stores them sealed. Without a vault
/// key `/keys` says it is not enabled.
#[tokio::test]
async fn keys_add_reads_the_secrets_privately_and_stores_them_sealed() {
    const API_KEY: &str = "APIKEYconsole0123456789wxyz";
    const SECRET: &str = "SECRETconsoleRecognisable987";
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let off = app(&fake, dir.path()).await;
    let out = session(&off, "/keys add binance-testnet\n").await;
    assert!(
        out.contains("the operator has not configured a vault key"),
        "{out}"
    );
    off.store.close().await;

    let testnet = FakeBinance::start_testnet().await;
    testnet.add_key(API_KEY, SECRET);
    let mut config = Config::default();
    config.market.binance_url = fake.url();
    config.market.binance_testnet_url = testnet.url();
    config.secrets.vault_keys = vec![(1, SecretString::from(chainsignal_tests::TEST_VAULT_KEY))];
    let db = dir.path().join("console.sqlite");
    let url = SecretString::from(format!("sqlite://{}", db.display()));
    let app = App::build(config, None, Some(url)).await.unwrap();
    let input = format!(
        "/keys add binance-testnet\n{API_KEY}\n{SECRET}\n/keys add binance-testnet\n{API_KEY}\n{SECRET}\n"
    );
    let out = session(&app, &input).await;
    assert!(out.contains("API key (not shown as you type):"), "{out}");
    assert!(out.contains("API secret (not shown as you type):"), "{out}");
    assert!(
        out.contains("Key binance-testnet for binance-testnet stored, sealed: APIK…wxyz."),
        "{out}"
    );
    assert!(
        out.contains("You already have a key labelled binance-testnet."),
        "{out}"
    );
    assert!(
        !out.contains(SECRET) && !out.contains(API_KEY),
        "never echoed:\n{out}"
    );
    let audit = app.store.recent_audit(10).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.args == "add exchange=binance-testnet api_key=*** secret=***"),
        "{audit:#?}"
    );
    let user = app
        .store
        .ensure_user(&chainsignal_core::store::Identity {
            platform: "console".into(),
            platform_user_id: "local".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let keys = app.store.exchange_keys(user).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].api_key_mask, "APIK…wxyz");
    app.store.close().await;
    for needle in [SECRET, API_KEY] {
        assert!(
            !chainsignal_tests::sqlite_files_contain(&db, needle),
            "{needle} in the database"
        );
    }
}

/// Bad vault key material stops the start with a clear sentence that never shows the key.
#[tokio::test]
async fn bad_vault_keys_are_a_clear_startup_error_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (bad, says) in [
        ("this-is-not-base64!!secretish", "is not valid base64"),
        (
            "c2hvcnRrZXlzZWNyZXQ=",
            "decodes to 14 bytes, a vault key must be 32",
        ),
    ] {
        let mut config = Config::default();
        config.secrets.vault_keys = vec![(1, SecretString::from(bad))];
        let url = SecretString::from(format!("sqlite://{}", dir.path().join("bad.sqlite").display()));
        let e = App::build(config, None, Some(url)).await.unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("CHAINSIGNAL_VAULT_KEY") && text.contains(says),
            "{text}"
        );
        assert!(!text.contains(bad), "{text}");
    }
}

/// Trading from the console (the owner): /mode and its refusals, /admin live, bad input
/// of every kind for /open and /close answered without an order, and a paper round trip
/// whose realized PnL is the hand computation to the cent.
#[tokio::test]
async fn trading_modes_bad_orders_and_a_paper_round_trip() {
    use chainsignal_tests::fake_binance::MarketSpec;
    let fake = FakeBinance::start().await;
    fake.add_market(
        MarketSpec::new("BTCUSDT", "BTC", "USDT")
            .price("60000", "60010")
            .lot("0.00001", "0.00001", "9000")
            .min_notional("5"),
    );
    // A pair quoted in BTC: its amounts are not USDT, so the desk refuses it.
    fake.add_market(
        MarketSpec::new("ETHBTC", "ETH", "BTC")
            .price("0.035", "0.03501")
            .lot("0.001", "0.001", "9000"),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.market.binance_url = fake.url();
    config.market.binance_testnet_url = fake.url();
    config.market.backoff_ms = 1;
    config.trading.live_enabled = true;
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("trade.sqlite").display()));
    let app = App::build(config, None, Some(url)).await.unwrap();

    let out = session(&app, "/mode\n").await;
    assert!(out.contains("Your orders go to: paper"), "{out}");
    let out = session(&app, "/mode testnet\n").await;
    assert!(out.contains("needs an exchange key"), "{out}");
    let out = session(&app, "/mode live\n").await;
    assert!(out.contains("not allowed for your account"), "{out}");
    let account = app
        .store
        .ensure_user(&chainsignal_core::store::Identity {
            platform: "console".into(),
            platform_user_id: "local".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let out = session(&app, &format!("/admin live #{account} on\n/mode live\n")).await;
    assert!(out.contains("may now use /mode live"), "{out}");
    assert!(out.contains("Binance live needs an exchange key"), "{out}");
    assert!(session(&app, "/mode\n").await.contains("paper"));

    for (line, expected) in [
        ("/open btc long -1", "greater than zero"),
        ("/open btc long 1e3", "plain digits"),
        ("/open btc long abc", "is not a size"),
        ("/open btc long 250eur", "not this symbol's quote asset"),
        ("/open btc sideways 1", "sideways"),
        (
            "/open btc long 99999999999999999999999999999",
            "above the maximum",
        ),
        (
            "/open btc long 0.000001 sl=59000",
            "below the symbol's minimum quantity",
        ),
        (
            "/open btc long 0.00005 sl=59000",
            "below the exchange's minimum order",
        ),
        (
            "/open btc long 0.01 sl=61000",
            "stop-loss 61,000 is on the wrong side",
        ),
        ("/open nope long 0.01 sl=1", "does not list this symbol"),
        (
            "/open btc long 1 sl=59000",
            "is 600.22 % of equity; your limit is 10 %",
        ),
        ("/open btc long 0.01", "requires a stop-loss"),
        (
            "/open eth/btc long 1 sl=0.03",
            "quoted in BTC; orders here are in USDT pairs only",
        ),
        ("/close xyz!", "neither a position number"),
        ("/close 999", "no open position #999"),
        ("/close all", "No open positions."),
    ] {
        let out = session(&app, &format!("{line}\n")).await;
        assert!(out.contains(expected), "{line}: {out}");
        assert!(!out.contains("/confirm"), "{line}: no Confirm: {out}");
    }
    assert!(app.store.orders_of(account, 10).await.unwrap().is_empty());

    // A paper long: preview, Confirm, then closed at the new bid.
    // Buttons are numbered per session: Confirm is 1, Cancel 2; pressed twice.
    let out = session(
        &app,
        "/open btc long 0.01 sl=59500 tp=61500\n/confirm 1\n/confirm 1\n",
    )
    .await;
    assert!(
        out.contains("Order preview: BTCUSDT") && out.contains("Risk check: passed"),
        "{out}"
    );
    assert_eq!(
        out.matches("Opened #").count(),
        1,
        "a second press opens nothing: {out}"
    );
    let open = app.store.open_positions(account, None).await.unwrap();
    assert_eq!(open.len(), 1);
    // Entry: ask 60010 moved 2 bps against = 60022.002; fee 10 bps.
    assert_eq!(open[0].entry_price, "60022.002");
    fake.set_price("BTCUSDT", "61000", "61010");
    let out = session(&app, &format!("/positions\n/close {}\n", open[0].id)).await;
    // Exit: bid 61000 − 2 bps = 60987.8. PnL (60987.8 − 60022.002) × 0.01 = 9.65798;
    // fees 0.60022002 + 0.609878 = 1.21009802; realized 8.44788198 → +8.45 USDT.
    assert!(out.contains("+8.45 USDT"), "{out}");
    assert!(out.contains("1.21 USDT"), "fees: {out}");
    let out = session(&app, "/positions history\n/positions\n").await;
    assert!(
        out.contains("+8.45") && out.contains("No open positions."),
        "{out}"
    );
    // Equity: 10,000 + 8.44788198.
    assert!(out.contains("10,008.45 USDT"), "{out}");
    assert_eq!(app.store.orders_of(account, 10).await.unwrap().len(), 2);

    // Four previews pass one by one (nothing open yet); confirmed in turn, the fourth
    // breaks the limits now (3 positions at most, gross exposure 30 %): refused at
    // Confirm with every reason, the preview replaced, nothing placed.
    let line = "/open btc long 0.016 sl=59000\n";
    let out = session(
        &app,
        &format!("{line}{line}{line}{line}/confirm 1\n/confirm 3\n/confirm 5\n/confirm 7\n"),
    )
    .await;
    assert_eq!(out.matches("Risk check: passed").count(), 4, "{out}");
    assert_eq!(out.matches("Opened #").count(), 3, "{out}");
    assert!(out.contains("The risk check refuses the order now"), "{out}");
    assert!(out.contains("3 positions are open; your limit is 3."), "{out}");
    assert!(out.contains("Gross exposure would be"), "{out}");
    assert_eq!(app.store.open_positions(account, None).await.unwrap().len(), 3);
}
