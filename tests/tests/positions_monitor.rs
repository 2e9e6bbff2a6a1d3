//! The SL/TP monitor (issue 15).
//!
//! - Two `chainsignal run` processes on one PostgreSQL, each with the scheduler (monitor
//!   every second), the Telegram adapter on the fake Bot API and its own fake exchange
//!   (same markets, same prices: each process's ticks are counted apart): a paper long
//!   whose SL the price crosses is closed once, with one closing order, the PnL as
//!   computed, and ONE private message to its owner, also after both have ticked again.
//! - In process, on SQLite: a TP closes with reason `tp`; a leveraged paper position is
//!   liquidated at its liquidation price; a testnet close the exchange fails is retried
//!   with backoff and its owner is told once, then told of the close; a symbol the
//!   exchange no longer knows does not blind the monitor to the others.

use chainsignal_core::desk::{Desk, DeskSettings, NoticeKind, TickReport};
use chainsignal_core::exchange::{SpotSettings, Venue};
use chainsignal_core::store::{self, NewExchangeKey, Store};
use chainsignal_core::trading::{DEFAULT_MMR, Leverage, PositionSide, liquidation_price};
use chainsignal_core::vault::{Binding, Vault};
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_binance::{CommissionAsset, FakeBinance, MarketSpec};
use chainsignal_tests::fake_telegram::{Call, CallbackPress, FakeTelegram, IncomingMessage};
use chainsignal_tests::positions_seed::{self, Seed};
use chainsignal_tests::run_process::{self, Instance, spawn_run};
use chrono::{Duration as Span, Utc};
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(90);
const OWNER: i64 = 501;
const TICKER: &str = "/api/v3/ticker/bookTicker";

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn spawn(
    dir: &std::path::Path,
    db: &str,
    exchange: &FakeBinance,
    telegram: &FakeTelegram,
    changed: &watch::Sender<u64>,
) -> Instance {
    let env = [
        ("DATABASE_URL", db.to_string()),
        ("TELEGRAM_BOT_TOKEN", "4242:monitor-token".to_string()),
        ("CHAINSIGNAL_TELEGRAM__API_URL", telegram.url()),
        ("CHAINSIGNAL_TELEGRAM__POLL_TIMEOUT_SECS", "1".to_string()),
        ("CHAINSIGNAL_MARKET__SOURCE", "demo".to_string()),
        ("CHAINSIGNAL_MARKET__BINANCE_URL", exchange.url()),
        ("CHAINSIGNAL_MARKET__BINANCE_TESTNET_URL", exchange.url()),
        ("CHAINSIGNAL_HTTP__ENABLED", "false".to_string()),
        ("RUST_LOG", "info".to_string()),
    ];
    spawn_run(dir, &env, changed)
}

/// Wait until `pred` holds over the two logs.
async fn wait_logs(
    a: &Instance,
    b: &Instance,
    changed: &watch::Sender<u64>,
    pred: impl Fn(&str, &str) -> bool,
) {
    run_process::wait_logs(a, b, changed, WAIT, pred).await;
}

async fn exchange_with_btc() -> FakeBinance {
    let fake = FakeBinance::start().await;
    fake.add_market(MarketSpec::new("BTCUSDT", "BTC", "USDT").price("100", "100.1"));
    fake.add_market(MarketSpec::new("ETHUSDT", "ETH", "USDT").price("100", "100.1"));
    fake
}

/// Private messages to the owner telling of a close.
fn close_messages(calls: &[Call]) -> Vec<String> {
    messages_to(calls, OWNER)
}

/// The texts of the messages sent to `chat`.
fn messages_to(calls: &[Call], chat: i64) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat))
        .filter_map(|c| c.text().map(str::to_string))
        .collect()
}

/// BTCUSDT's bid and ask set to `(bid, ask)` on every exchange (the bid falls through
/// the position's SL), then, once one of the two instances logged its close: the
/// position's row, asserted closed by its SL.
async fn sl_crossed_on_both(
    exchanges: &[&FakeBinance],
    (bid, ask): (&str, &str),
    (a, b, changed): (&Instance, &Instance, &watch::Sender<u64>),
    store: &Store,
    position_id: i64,
) -> chainsignal_core::store::PositionRecord {
    for ex in exchanges {
        ex.set_price("BTCUSDT", bid, ask);
    }
    wait_logs(a, b, changed, |a, b| {
        a.contains("position closed by the monitor") || b.contains("position closed by the monitor")
    })
    .await;
    let row = store.position(position_id).await.unwrap().unwrap();
    assert_eq!(row.status, "closed");
    assert_eq!(row.close_reason.as_deref(), Some("sl"));
    row
}

/// A directory whose `chainsignal.toml` runs the scheduler and the monitor every second,
/// without schedules or alerts, for two `chainsignal run` processes.
fn two_instances_dir() -> tempfile::TempDir {
    instances_dir("")
}

/// [`two_instances_dir`] with more `[trading]` lines.
fn instances_dir(trading: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("chainsignal.toml"),
        format!(
            "schedule = []\n[scheduler]\ntick_secs = 1\n[alerts]\nenabled = false\n[trading]\nmonitor_secs = 1\n{trading}"
        ),
    )
    .unwrap();
    dir
}

/// OWNER's paper long 0.5 BTC at 100 (open fee 10 bps: 0.05), SL 95, TP `tp`, opened
/// with `token`, and another trader's ETH long far from its SL (every tick keeps reading
/// prices): the BTC position's id.
async fn seed_btc_long_and_bystander(db: &str, tp: Option<&'static str>, token: &str) -> i64 {
    let store = store::open(&SecretString::from(db.to_string()), 2).await.unwrap();
    let user = positions_seed::trader(&store, OWNER).await;
    let other = positions_seed::trader(&store, OWNER + 1).await;
    positions_seed::open(
        &store,
        &Seed {
            user_id: other,
            venue: "paper",
            symbol: "ETHUSDT",
            side: "long",
            qty: "1",
            entry: "100",
            lev: 1,
            sl: Some("50"),
            tp: None,
            open_fee: "0.1",
            token: "bystander".into(),
        },
    )
    .await;
    let id = positions_seed::open(
        &store,
        &Seed {
            user_id: user,
            venue: "paper",
            symbol: "BTCUSDT",
            side: "long",
            qty: "0.5",
            entry: "100",
            lev: 1,
            sl: Some("95"),
            tp,
            open_fee: "0.05",
            token: token.into(),
        },
    )
    .await;
    store.close().await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl_crossed_closes_once_across_two_instances_and_the_owner_is_told_once() {
    let Some(db) = TempPostgres::create("monitor_two_instances").await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    // One fake exchange per process, with the same market: each one's ticks counted.
    let (ex_a, ex_b) = (exchange_with_btc().await, exchange_with_btc().await);
    let dir = two_instances_dir();

    // A paper long 0.5 BTC at 100 (open fee 10 bps: 0.05), SL 95, TP 120.
    let position_id = seed_btc_long_and_bystander(&db.url, Some("120"), "two-instances").await;

    let (changed, _) = watch::channel(0u64);
    let a = spawn(dir.path(), &db.url, &ex_a, &telegram, &changed);
    let b = spawn(dir.path(), &db.url, &ex_b, &telegram, &changed);
    wait_logs(&a, &b, &changed, |a, b| {
        a.contains("telegram connected") && b.contains("telegram connected")
    })
    .await;
    // Both monitors read prices, and nothing crosses at 100.
    ex_a.wait_for_path_requests(TICKER, 2, WAIT).await;
    ex_b.wait_for_path_requests(TICKER, 2, WAIT).await;
    let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
    assert_eq!(store.position(position_id).await.unwrap().unwrap().status, "open");

    let row = sl_crossed_on_both(
        &[&ex_a, &ex_b],
        ("94", "94.1"),
        (&a, &b, &changed),
        &store,
        position_id,
    )
    .await;
    // Sold at the bid moved 2 bps against the trader, 10 bps fee on each side.
    let exit = d("94") * (Decimal::ONE - d("0.0002"));
    let close_fee = exit * d("0.5") * d("0.001");
    let pnl = (exit - d("100")) * d("0.5") - d("0.05") - close_fee;
    assert_eq!(d(row.exit_price.as_deref().unwrap()), exit);
    assert_eq!(d(row.close_fee.as_deref().unwrap()), close_fee);
    assert_eq!(d(row.realized_pnl.as_deref().unwrap()), pnl);
    assert_eq!(pnl, d("-3.1063906"));
    let closes: Vec<_> = store
        .orders_of(row.user_id, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.purpose == "close")
        .collect();
    assert_eq!(closes.len(), 1, "{closes:#?}");
    let token = store.position(position_id).await.unwrap().unwrap().open_token;
    assert_eq!(closes[0].client_order_id, format!("c{}-0", &token[..24]));
    assert_eq!(closes[0].status, "filled");
    assert_eq!(closes[0].position_id, Some(position_id));

    // The owner is told, in private.
    let told = |calls: &[Call]| close_messages(calls).iter().any(|t| t.contains("Stop-loss hit"));
    telegram.wait_until(WAIT, told).await;

    // Settle: each process ticks at least twice more (a tick in flight when the close
    // was recorded has finished, and its notices were sent), then count.
    let (na, nb) = (ex_a.requests_to(TICKER), ex_b.requests_to(TICKER));
    ex_a.wait_for_path_requests(TICKER, na + 2, WAIT).await;
    ex_b.wait_for_path_requests(TICKER, nb + 2, WAIT).await;
    let messages = close_messages(&telegram.calls());
    assert_eq!(messages.len(), 1, "the owner is told exactly once: {messages:#?}");
    let text = &messages[0];
    assert!(text.contains(&format!("#{position_id}")), "{text}");
    assert!(text.contains("BTCUSDT"), "{text}");
    assert!(text.contains("-3.11"), "the realized PnL: {text}");
    assert!(
        !telegram.calls().iter().any(|c| c.chat_id() == Some(OWNER + 1)),
        "the bystander is not told anything"
    );
    let open = store.all_open_positions().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].open_token, positions_seed::token_of("bystander"));
    let logs = a.log() + &b.log();
    assert_eq!(
        logs.matches("position closed by the monitor").count(),
        1,
        "one close in all:\n{logs}"
    );
    assert!(!logs.contains("could not be told"), "{logs}");
    store.close().await;

    let (mut a, mut b) = (a, b);
    chainsignal_tests::terminate(&mut a.child).await;
    chainsignal_tests::terminate(&mut b.child).await;
    db.drop_db().await;
}

/// The owner's notice outlives its sender: the only instance closes a position at its
/// SL and dies (SIGKILL) while its private message to the owner hangs at Telegram; a
/// second instance, started afterwards on the same PostgreSQL, sends the queued notice
/// once the dead sender's claim has expired. The owner gets it exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_notice_outlives_an_instance_killed_while_sending_it() {
    let Some(db) = TempPostgres::create("monitor_notice_survives").await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    let (ex_a, ex_b) = (exchange_with_btc().await, exchange_with_btc().await);
    let dir = instances_dir("notice_timeout_secs = 5\n");
    let position_id = seed_btc_long_and_bystander(&db.url, None, "notice-survives").await;

    // The first message the bot sends (the notice) is never answered.
    telegram.hang_after("sendmessage", 0);
    ex_a.set_price("BTCUSDT", "94", "94.1");
    let (changed, _) = watch::channel(0u64);
    let mut a = spawn(dir.path(), &db.url, &ex_a, &telegram, &changed);
    let hung = |calls: &[Call]| {
        calls
            .iter()
            .any(|c| c.method == "sendmessage" && c.chat_id() == Some(OWNER) && c.status == 599)
    };
    telegram.wait_until(WAIT, hung).await;
    // Killed mid-send (well within the 5 s the send may take, so it never retried).
    a.child.start_kill().unwrap();
    a.child.wait().await.unwrap();
    telegram.clear_failures("sendmessage");
    let a_log = a.log();
    assert!(a_log.contains("position closed by the monitor"), "{a_log}");
    assert!(!a_log.contains("owner notice sent"), "{a_log}");
    let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
    assert_eq!(
        store.position(position_id).await.unwrap().unwrap().status,
        "closed"
    );
    assert_eq!(store.pending_notices().await.unwrap(), 1, "queued, not sent");

    // A second instance takes the notice over once the claim (2 × 5 s) has expired.
    let b = spawn(dir.path(), &db.url, &ex_b, &telegram, &changed);
    let delivered = |calls: &[Call]| {
        calls.iter().any(|c| {
            c.method == "sendmessage"
                && c.chat_id() == Some(OWNER)
                && c.status == 200
                && c.text().is_some_and(|t| t.contains("Stop-loss hit"))
        })
    };
    telegram.wait_until(WAIT, delivered).await;
    wait_logs(&b, &b, &changed, |b, _| b.contains("owner notice sent")).await;
    // Settle: two more ticks of the survivor, then count.
    let n = ex_b.requests_to(TICKER);
    ex_b.wait_for_path_requests(TICKER, n + 2, WAIT).await;
    let calls = telegram.calls();
    let answered: Vec<_> = calls
        .iter()
        .filter(|c| c.method == "sendmessage" && c.chat_id() == Some(OWNER) && c.status == 200)
        .collect();
    assert_eq!(answered.len(), 1, "told exactly once: {answered:#?}");
    let text = answered[0].text().unwrap_or_default();
    assert!(text.contains(&format!("#{position_id}")), "{text}");
    assert!(text.contains("-3.11"), "the realized PnL: {text}");
    assert_eq!(store.pending_notices().await.unwrap(), 0);
    assert!(
        !b.log().contains("position closed by the monitor"),
        "closed once, by the first instance"
    );
    store.close().await;
    let mut b = b;
    chainsignal_tests::terminate(&mut b.child).await;
    db.drop_db().await;
}

/// BTCUSDT 50 000 / 50 010 (step 0.001, min notional 10) and ETHUSDT 3 000 / 3 000.5:
/// prices a conservative account may open 0.01 BTC at from the chat.
async fn exchange_at_50k() -> FakeBinance {
    let fake = FakeBinance::start().await;
    positions_seed::add_markets_at_50k(&fake);
    fake
}

/// The Telegram text without HTML tags and the entities the bot escapes.
fn plain(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Issue 15 Done-when, the whole way through the chat: two `chainsignal run` processes on
/// one PostgreSQL poll one fake Telegram (either may take an update); a trader sends
/// `/open btc long 0.01 sl=49000`, presses Confirm, and the paper long is opened once.
/// The fake exchanges' bid then falls through the SL: the position is closed once (one
/// closing order, reason `sl`), and its owner gets ONE private message about it, with
/// the realized PnL of the hand computation to the cent, also after both have ticked
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl_of_a_position_opened_in_the_chat_closes_once_across_two_instances() {
    const TRADER: i64 = 601;
    let Some(db) = TempPostgres::create("monitor_chat_two_instances").await else {
        return;
    };
    let telegram = FakeTelegram::start().await;
    let (ex_a, ex_b) = (exchange_at_50k().await, exchange_at_50k().await);
    let dir = two_instances_dir();

    // Another trader's ETH long far from its SL (through the store): the monitors keep
    // reading prices after the close, so the test can wait for their next ticks.
    {
        let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
        let other = positions_seed::trader(&store, TRADER + 1).await;
        positions_seed::open(
            &store,
            &Seed {
                user_id: other,
                venue: "paper",
                symbol: "ETHUSDT",
                side: "long",
                qty: "0.1",
                entry: "3000",
                lev: 1,
                sl: Some("1500"),
                tp: None,
                open_fee: "0.3",
                token: "chat-bystander".into(),
            },
        )
        .await;
        store.close().await;
    }

    let (changed, _) = watch::channel(0u64);
    let a = spawn(dir.path(), &db.url, &ex_a, &telegram, &changed);
    let b = spawn(dir.path(), &db.url, &ex_b, &telegram, &changed);
    wait_logs(&a, &b, &changed, |a, b| {
        a.contains("telegram connected") && b.contains("telegram connected")
    })
    .await;

    // The preview: whichever instance took the message answers with Confirm/Cancel.
    telegram.push_message(&IncomingMessage::private(TRADER, "/open btc long 0.01 sl=49000"));
    let is_preview =
        |c: &Call| c.method == "sendmessage" && c.chat_id() == Some(TRADER) && !c.buttons().is_empty();
    let calls = telegram
        .wait_until(WAIT, |calls| calls.iter().any(is_preview))
        .await;
    let previews: Vec<Call> = calls.iter().filter(|c| is_preview(c)).cloned().collect();
    assert_eq!(previews.len(), 1, "{previews:#?}");
    let preview = &previews[0];
    let shown = plain(preview.text().unwrap_or_default());
    assert!(shown.contains("Risk check: passed"), "{shown}");
    let buttons = preview.buttons();
    assert_eq!(buttons[0].0, "Confirm", "{buttons:?}");
    let confirm = buttons[0].1.clone();
    let token = confirm
        .strip_prefix("a:")
        .and_then(|r| r.strip_suffix(":y"))
        .unwrap_or_else(|| panic!("{confirm} is a:<token>:y"))
        .to_string();

    // Confirm, taken by either instance: the preview is edited to "Opened #…".
    let (_, press) = telegram.push_callback(&CallbackPress::new(
        TRADER,
        TRADER,
        preview.message_id().unwrap(),
        &confirm,
    ));
    let is_opened =
        |c: &Call| c.method == "editmessagetext" && c.text().is_some_and(|t| t.contains("Opened #"));
    // The instance that took the press answers it without a notice (the other, if it
    // saw the press too, says it was handled already).
    let answered = |c: &Call| {
        c.method == "answercallbackquery"
            && c.body["callback_query_id"] == press.as_str()
            && c.text().unwrap_or_default().is_empty()
    };
    let calls = telegram
        .wait_until(WAIT, |calls| {
            calls.iter().any(is_opened) && calls.iter().any(answered)
        })
        .await;
    let store = store::open(&SecretString::from(db.url.clone()), 2).await.unwrap();
    let position = store
        .position_by_token(&token)
        .await
        .unwrap()
        .expect("the position of this Confirm");
    let position_id = position.id;
    // Bought at the ask moved 2 bps against the trader: 50 010 × 1.0002.
    let entry = d("50010") * (Decimal::ONE + d("0.0002"));
    assert_eq!(entry, d("50020.002"));
    let qty = d("0.01");
    let open_fee = entry * qty * d("0.001");
    assert_eq!(
        (position.venue.as_str(), position.status.as_str()),
        ("paper", "open")
    );
    assert_eq!(d(&position.entry_price), entry);
    assert_eq!(d(&position.qty), qty);
    assert_eq!(position.sl.as_deref().map(d), Some(d("49000")));
    let opened: Vec<String> = calls
        .iter()
        .filter(|c| is_opened(c))
        .filter_map(|c| c.text().map(plain))
        .collect();
    assert_eq!(
        opened,
        vec![format!(
            "Opened #{position_id}: long 0.01 BTCUSDT at 50,020.00, fee 0.50 USDT."
        )]
    );
    let user = position.user_id;
    let opens: Vec<_> = store
        .orders_of(user, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.purpose == "open")
        .collect();
    assert_eq!(opens.len(), 1, "one opening order: {opens:#?}");

    // Both monitors read prices with the position open, and nothing crosses at 50 000.
    let (na, nb) = (ex_a.requests_to(TICKER), ex_b.requests_to(TICKER));
    ex_a.wait_for_path_requests(TICKER, na + 2, WAIT).await;
    ex_b.wait_for_path_requests(TICKER, nb + 2, WAIT).await;
    assert_eq!(store.position(position_id).await.unwrap().unwrap().status, "open");

    let row = sl_crossed_on_both(
        &[&ex_a, &ex_b],
        ("48900", "48910"),
        (&a, &b, &changed),
        &store,
        position_id,
    )
    .await;
    // Sold at the bid moved 2 bps against the trader, 10 bps fee on each side:
    // (48 890.22 − 50 020.002) × 0.01 − 0.50020002 − 0.4889022 = −12.28692222
    let exit = d("48900") * (Decimal::ONE - d("0.0002"));
    assert_eq!(exit, d("48890.22"));
    let close_fee = exit * qty * d("0.001");
    let pnl = (exit - entry) * qty - open_fee - close_fee;
    assert_eq!(pnl, d("-12.28692222"));
    assert_eq!(d(row.exit_price.as_deref().unwrap()), exit);
    assert_eq!(d(row.close_fee.as_deref().unwrap()), close_fee);
    assert_eq!(d(row.realized_pnl.as_deref().unwrap()), pnl);
    let closes: Vec<_> = store
        .orders_of(user, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.purpose == "close")
        .collect();
    assert_eq!(closes.len(), 1, "{closes:#?}");
    assert_eq!(closes[0].client_order_id, format!("c{}-0", &token[..24]));
    assert_eq!(closes[0].status, "filled");
    assert_eq!(closes[0].position_id, Some(position_id));

    // The owner is told, in private.
    let about_the_close = |t: &String| t.contains(&format!("#{position_id}"));
    let told = |calls: &[Call]| messages_to(calls, TRADER).iter().any(about_the_close);
    telegram.wait_until(WAIT, told).await;

    // Settle: each process ticks at least twice more (a tick in flight when the close
    // was recorded has finished, and its notices were sent), then count.
    let (na, nb) = (ex_a.requests_to(TICKER), ex_b.requests_to(TICKER));
    ex_a.wait_for_path_requests(TICKER, na + 2, WAIT).await;
    ex_b.wait_for_path_requests(TICKER, nb + 2, WAIT).await;
    let messages: Vec<String> = messages_to(&telegram.calls(), TRADER)
        .into_iter()
        .filter(about_the_close)
        .collect();
    assert_eq!(messages.len(), 1, "the owner is told exactly once: {messages:#?}");
    let text = plain(&messages[0]);
    assert!(
        text.contains(&format!(
            "Stop-loss hit: #{position_id} long BTCUSDT on paper was closed."
        )),
        "{text}"
    );
    assert!(text.contains("48,890.22"), "the fill: {text}");
    assert!(text.contains("-12.29 USDT"), "the realized PnL: {text}");
    assert_eq!(
        store.all_open_positions().await.unwrap().len(),
        1,
        "the bystander's"
    );
    let logs = a.log() + &b.log();
    assert_eq!(
        logs.matches("position closed by the monitor").count(),
        1,
        "one close in all:\n{logs}"
    );
    assert!(!logs.contains("could not be told"), "{logs}");
    store.close().await;

    let (mut a, mut b) = (a, b);
    chainsignal_tests::terminate(&mut a.child).await;
    chainsignal_tests::terminate(&mut b.child).await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------
// In process, on SQLite.
// ---------------------------------------------------------------------------------

struct Bench {
    _dir: tempfile::TempDir,
    store: Store,
    desk: Desk,
    /// The desk's "now" (orders' times, the wait before a new close attempt).
    clock: Arc<chainsignal_core::ManualClock>,
}

async fn sqlite_desk(market: &FakeBinance, testnet: &FakeBinance, vault: Option<Arc<Vault>>) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!(
        "sqlite://{}",
        dir.path().join("monitor.sqlite").display()
    ));
    let store = store::open(&url, 2).await.unwrap();
    // No transport retries: each failing close attempt is one request.
    let testnet = SpotSettings {
        max_retries: 0,
        ..SpotSettings::new(Venue::Testnet, testnet.url())
    };
    let market = SpotSettings::new(Venue::Live, market.url());
    let clock = Arc::new(chainsignal_core::ManualClock::new(Utc::now()));
    let desk = Desk::new(
        store.clone(),
        market.clone(),
        testnet,
        market,
        vault,
        DeskSettings {
            clock: clock.clone(),
            ..DeskSettings::default()
        },
    )
    .unwrap();
    Bench {
        clock,
        _dir: dir,
        store,
        desk,
    }
}

fn closed_notices(report: &TickReport) -> Vec<(i64, String)> {
    report
        .notices
        .iter()
        .filter_map(|n| match &n.kind {
            NoticeKind::Closed(c) => {
                Some((c.position.id, c.position.close_reason.clone().unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn tp_crossed_closes_with_reason_tp_at_the_expected_pnl() {
    let market = exchange_with_btc().await;
    let t = sqlite_desk(&market, &market, None).await;
    let user = positions_seed::trader(&t.store, OWNER).await;
    let seed = |side: &'static str, sl: &'static str, tp: &'static str, token: &str| Seed {
        user_id: user,
        venue: "paper",
        symbol: "BTCUSDT",
        side,
        qty: "2",
        entry: "100",
        lev: 1,
        sl: Some(sl),
        tp: Some(tp),
        open_fee: "0.2",
        token: token.into(),
    };
    // A short whose TP (90) the ask reaches, and a long whose TP (115) it does not.
    let short = positions_seed::open(&t.store, &seed("short", "110", "90", "tp-short")).await;
    let long = positions_seed::open(&t.store, &seed("long", "80", "115", "tp-long")).await;

    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!((report.positions, report.symbols, report.triggered), (2, 1, 0));
    assert_eq!(report.price_requests, 1);

    market.set_price("BTCUSDT", "89.9", "90");
    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!(report.triggered, 1);
    assert_eq!(closed_notices(&report), vec![(short, "tp".to_string())]);
    assert_eq!(report.notices[0].user_id, user);
    let row = t.store.position(short).await.unwrap().unwrap();
    assert_eq!(row.status, "closed");
    // Bought back at the ask moved 2 bps up; 10 bps fee.
    let exit = d("90") * d("1.0002");
    let fee = exit * d("2") * d("0.001");
    assert_eq!(d(row.exit_price.as_deref().unwrap()), exit);
    assert_eq!(
        d(row.realized_pnl.as_deref().unwrap()),
        (d("100") - exit) * d("2") - d("0.2") - fee
    );
    assert_eq!(t.store.position(long).await.unwrap().unwrap().status, "open");

    // Closed is closed: the next tick has one position left and closes nothing.
    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!((report.positions, report.triggered), (1, 0));
    assert!(report.notices.is_empty());
}

#[tokio::test]
async fn leveraged_paper_long_is_liquidated_at_its_liquidation_price() {
    let market = exchange_with_btc().await;
    let t = sqlite_desk(&market, &market, None).await;
    let user = positions_seed::trader(&t.store, OWNER).await;
    // 5x long at 100, no SL: liquidation at 100 * (1 - 1/5) / (1 - mmr).
    let id = positions_seed::open(
        &t.store,
        &Seed {
            user_id: user,
            venue: "paper",
            symbol: "BTCUSDT",
            side: "long",
            qty: "1",
            entry: "100",
            lev: 5,
            sl: None,
            tp: None,
            open_fee: "0.1",
            token: "liq".into(),
        },
    )
    .await;
    let lp = liquidation_price(
        PositionSide::Long,
        d("100"),
        Leverage::new(5).unwrap(),
        DEFAULT_MMR,
    )
    .unwrap()
    .unwrap();
    assert!(lp > d("80") && lp < d("81"), "{lp}");

    // Just above it: nothing.
    let above = (lp + d("0.05")).round_dp(2);
    market.set_price("BTCUSDT", &above.to_string(), &(above + d("0.1")).to_string());
    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!(report.triggered, 0, "{above} is above {lp}");

    market.set_price("BTCUSDT", "79", "79.1");
    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!(closed_notices(&report), vec![(id, "liquidation".to_string())]);
    let row = t.store.position(id).await.unwrap().unwrap();
    assert_eq!(row.status, "liquidated");
    // At its liquidation price, not the mark; the margin (20) and the open fee lost.
    assert_eq!(d(row.exit_price.as_deref().unwrap()), lp);
    assert_eq!(d(row.realized_pnl.as_deref().unwrap()), d("-20.1"));
    // No order is sent for a paper liquidation.
    let orders = t.store.orders_of(user, 10).await.unwrap();
    assert!(orders.iter().all(|o| o.purpose == "open"), "{orders:#?}");
}

/// Seal and store a `binance-testnet` key for `user`.
async fn store_testnet_key(store: &Store, vault: &Vault, user: i64, api_key: &str, secret: &str) {
    let label = "main";
    let seal = |field: &str, value: &str| {
        let binding = Binding {
            account_id: user,
            exchange: "binance-testnet",
            label,
            field,
        };
        vault
            .seal(&binding, &SecretString::from(value.to_string()))
            .unwrap()
            .to_text()
    };
    let (api_key_nonce, api_key_sealed) = seal("api_key", api_key);
    let (secret_nonce, secret_sealed) = seal("secret", secret);
    store
        .add_exchange_key(&NewExchangeKey {
            user_id: user,
            exchange: "binance-testnet".into(),
            label: label.into(),
            api_key_mask: "MONI…TKEY".into(),
            api_key_sealed,
            api_key_nonce,
            secret_sealed,
            secret_nonce,
            key_version: vault.current_version() as i32,
            created_at: Utc::now(),
        })
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn failing_testnet_close_is_retried_with_backoff_and_the_owner_is_told_once() {
    let market = exchange_with_btc().await;
    let testnet = FakeBinance::start_testnet().await;
    testnet.add_market(MarketSpec::new("BTCUSDT", "BTC", "USDT").price("100", "100.1"));
    testnet.add_key("MONITORTESTKEY", "monitor-secret");
    testnet.set_balance("MONITORTESTKEY", "BTC", "0.5");
    testnet.set_commission(CommissionAsset::Quote, 10);
    let vault = Arc::new(
        Vault::from_keys(&[(1, chainsignal_core::vault::generate_key().unwrap())])
            .unwrap()
            .unwrap(),
    );
    let t = sqlite_desk(&market, &testnet, Some(vault.clone())).await;
    let user = positions_seed::trader(&t.store, OWNER).await;
    store_testnet_key(&t.store, &vault, user, "MONITORTESTKEY", "monitor-secret").await;
    let id = positions_seed::open(
        &t.store,
        &Seed {
            user_id: user,
            venue: "testnet",
            symbol: "BTCUSDT",
            side: "long",
            qty: "0.5",
            entry: "100",
            lev: 1,
            sl: Some("95"),
            tp: None,
            open_fee: "0.05",
            token: "retry".into(),
        },
    )
    .await;

    // The exchange fails the close path twice (5xx on the order endpoint).
    for _ in 0..2 {
        testnet.push_canned("/api/v3/order", 500, &[], "internal error");
    }
    testnet.set_price("BTCUSDT", "94", "94.1");
    let t0 = Utc::now();
    t.clock.set(t0);

    // First attempt: its answer is a 5xx, so whether it sold is unknown: the owner is
    // told the close is failing.
    let report = t.desk.tick(t0).await.unwrap();
    assert_eq!((report.triggered, report.closed, report.failed), (1, 0, 1));
    match &report.notices[..] {
        [n] => match &n.kind {
            NoticeKind::CloseFailing { position, reason } => {
                assert_eq!((position.id, reason.as_str(), n.user_id), (id, "sl", user));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let row = t.store.position(id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.close_attempts, row.failure_told),
        ("open", 1, true)
    );
    assert!(row.claimed_by.is_none(), "the claim was given back");
    let retry_at = row.next_attempt_at.unwrap();
    assert!(retry_at > t0, "backoff");
    let orders_asked = testnet.requests_to("/api/v3/order");

    // Within the backoff: not tried.
    t.clock.set(t0 + Span::seconds(5));
    let report = t.desk.tick(t0 + Span::seconds(5)).await.unwrap();
    assert_eq!((report.triggered, report.notices.len()), (0, 0));
    assert_eq!(testnet.requests_to("/api/v3/order"), orders_asked);

    // After it: tried, fails again, nobody is told again; the wait doubles.
    // (The first attempt is looked up before anything new is sent; the lookup meets
    // the second 5xx.)
    let second = retry_at + Span::seconds(1);
    t.clock.set(second);
    let report = t.desk.tick(second).await.unwrap();
    assert_eq!(report.triggered, 1);
    assert!(report.notices.is_empty(), "told once: {:?}", report.notices);
    assert!(testnet.requests_to("/api/v3/order") > orders_asked);
    let row = t.store.position(id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.close_attempts), ("open", 2));
    let next = row.next_attempt_at.unwrap();
    assert!(
        next - second > retry_at - t0,
        "the second wait ({}) is longer than the first ({})",
        next - second,
        retry_at - t0
    );
    assert!(testnet.orders().is_empty(), "nothing was placed");

    // The exchange is back. The first attempt is not found; once it is two minutes old
    // it was never placed, and the next attempt (its own client id) closes, once, and
    // the owner is told of the close.
    let third = (next + Span::seconds(1)).max(t0 + Span::seconds(121));
    t.clock.set(third);
    let report = t.desk.tick(third).await.unwrap();
    assert_eq!(
        closed_notices(&report),
        vec![(id, "sl".to_string())],
        "{report:?}\n{:#?}",
        t.store.orders_of(user, 10).await.unwrap()
    );
    let placed = testnet.orders();
    assert_eq!(placed.len(), 1, "{placed:#?}");
    let token = t.store.position(id).await.unwrap().unwrap().open_token;
    assert_eq!(placed[0].client_order_id, format!("c{}-1", &token[..24]));
    let row = t.store.position(id).await.unwrap().unwrap();
    assert_eq!(row.status, "closed");
    let closes: Vec<_> = t
        .store
        .orders_of(user, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.purpose == "close")
        .collect();
    let states: Vec<(&str, Option<&str>)> = closes
        .iter()
        .rev()
        .map(|o| (o.status.as_str(), o.error.as_deref()))
        .collect();
    assert_eq!(
        states,
        vec![("failed", Some("not_placed")), ("filled", None)],
        "one row per attempt, the first known never placed"
    );
    let closes: Vec<_> = closes.into_iter().filter(|o| o.status == "filled").collect();
    // PnL from the fill as stored: (exit − entry) × qty − both fees.
    let fill_qty = d(closes[0].executed_qty.as_deref().unwrap());
    let avg = d(closes[0].avg_price.as_deref().unwrap());
    let fee = d(closes[0].fee_usdt.as_deref().unwrap());
    assert_eq!(
        d(row.realized_pnl.as_deref().unwrap()),
        (avg - d("100")) * fill_qty - d("0.05") - fee
    );

    let report = t.desk.tick(third + Span::seconds(30)).await.unwrap();
    assert_eq!((report.positions, report.notices.len()), (0, 0));
    assert_eq!(testnet.orders().len(), 1);
}

#[tokio::test]
async fn a_delisted_symbol_does_not_blind_the_monitor_to_the_others() {
    let market = exchange_with_btc().await;
    let t = sqlite_desk(&market, &market, None).await;
    let user = positions_seed::trader(&t.store, OWNER).await;
    let seed = |symbol: &'static str, token: &str| Seed {
        user_id: user,
        venue: "paper",
        symbol,
        side: "long",
        qty: "1",
        entry: "100",
        lev: 1,
        sl: Some("95"),
        tp: None,
        open_fee: "0.1",
        token: token.into(),
    };
    // GONEUSDT is not (any more) on the exchange: a list naming it is refused (-1121).
    let gone = positions_seed::open(&t.store, &seed("GONEUSDT", "gone")).await;
    let btc = positions_seed::open(&t.store, &seed("BTCUSDT", "btc")).await;
    market.set_price("BTCUSDT", "94", "94.1");

    let report = t.desk.tick(Utc::now()).await.unwrap();
    assert_eq!((report.positions, report.symbols), (2, 3 - 1));
    // The refused list, then each symbol on its own (inside the one price read).
    assert_eq!(report.price_requests, 1);
    assert!(market.requests_to("/api/v3/ticker/bookTicker") >= 3);
    assert_eq!(closed_notices(&report), vec![(btc, "sl".to_string())]);
    assert_eq!(t.store.position(gone).await.unwrap().unwrap().status, "open");
}
