//! Positions end to end (issue 15): the real teloxide and serenity clients against the
//! fake Telegram and Discord, the real commands and desk, SQLite, and a fake Binance that
//! verifies HMAC signatures, recvWindow and filters and keeps its own orders and fills.
//! One fake serves both the public prices of paper (`market.binance_url`) and the
//! testnet (`market.binance_testnet_url`).
//!
//! Expected money is computed here by hand from the fake's prices and the defaults of
//! `[trading]` (slippage 2 bps against the trader, fee 10 bps of the notional each side),
//! never read back from the code under test.

use chainsignal::app::App;
use chainsignal::shutdown::{self, ShutdownTrigger};
use chainsignal::{discord, telegram};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{Identity, PositionRecord, Store};
use chainsignal_tests::TEST_VAULT_KEY;
use chainsignal_tests::fake_binance::{FakeBinance, MarketSpec, OrderFault, d};
use chainsignal_tests::fake_discord::{FakeDiscord, Interaction, TOKEN, USER_ID};
use chainsignal_tests::fake_telegram::{Call, CallbackPress, FakeTelegram, sends_to};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const FLAG_EPHEMERAL: u64 = 64;

const KEY: &str = "APIKEYpositionsTestnet000000001111";
const SECRET: &str = "SECRETpositionsTestnetRecognisable01";

const ALREADY: &str = "This was already answered; nothing was done again.";

// ============================ money by hand ============================

/// 2 bps of slippage, 10 bps of fee: the defaults of `[trading]`.
fn slip() -> Decimal {
    d("0.0002")
}
fn fee_rate() -> Decimal {
    d("0.001")
}

/// A paper buy fills at ask × (1 + 2 bps); a sell at bid × (1 − 2 bps).
fn buy_fill(ask: &str) -> Decimal {
    d(ask) * (Decimal::ONE + slip())
}
fn sell_fill(bid: &str) -> Decimal {
    d(bid) * (Decimal::ONE - slip())
}

/// Realized PnL of a round trip, both fees out: long `(exit − entry) × qty`, short
/// `(entry − exit) × qty`.
fn realized(long: bool, entry: Decimal, exit: Decimal, qty: Decimal) -> Decimal {
    let gross = if long { exit - entry } else { entry - exit } * qty;
    gross - entry * qty * fee_rate() - exit * qty * fee_rate()
}

/// To the cent as the bot shows it: `+8.69` / `-3.10`, thousands with a comma.
fn cents_signed(v: Decimal) -> String {
    let r = v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    if r.is_sign_negative() {
        format!("{r:.2}")
    } else {
        format!("+{r:.2}")
    }
}

// ============================ the exchange ============================

/// BTCUSDT 50 000 / 50 010 with a 0.001 step (min 0.001, min notional 10);
/// ETHUSDT 3 000 / 3 000.5 (step 0.0001); XRPUSDT 0.5 / 0.5001 (step 1, min 1, min
/// notional 5). The test account's key is registered with 10 000 USDT.
async fn exchange() -> FakeBinance {
    let fake = FakeBinance::start_testnet().await;
    chainsignal_tests::positions_seed::add_markets_at_50k(&fake);
    fake.add_market(
        MarketSpec::new("XRPUSDT", "XRP", "USDT")
            .price("0.5", "0.5001")
            .lot("1", "1", "9000000")
            .min_notional("5"),
    );
    fake.add_key(KEY, SECRET);
    fake.set_balance(KEY, "USDT", "10000");
    fake
}

fn config(dir: &std::path::Path, exchange: &FakeBinance) -> (Config, SecretString) {
    let mut config = Config::default();
    config.secrets.vault_keys = vec![(1, SecretString::from(TEST_VAULT_KEY))];
    config.market.binance_url = exchange.url();
    config.market.binance_testnet_url = exchange.url();
    config.market.backoff_ms = 1;
    let db = SecretString::from(format!("sqlite://{}", dir.join("positions.sqlite").display()));
    (config, db)
}

async fn account(store: &Store, platform: &str, id: &str) -> i64 {
    store
        .ensure_user(&Identity {
            platform: platform.into(),
            platform_user_id: id.into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap()
}

// ============================ Telegram ============================

struct Tg {
    fake: FakeTelegram,
    app: App,
    started: telegram::Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Tg {
    async fn start(exchange: &FakeBinance, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(
            exchange,
            tweak,
            std::sync::Arc::new(chainsignal_core::SystemClock),
        )
        .await
    }

    /// As [`Tg::start`], with "now" from `clock` (the trading day, the kill switch).
    async fn start_with_clock(
        exchange: &FakeBinance,
        tweak: impl FnOnce(&mut Config),
        clock: std::sync::Arc<dyn chainsignal_core::Clock>,
    ) -> Self {
        let fake = FakeTelegram::start().await;
        let dir = tempfile::tempdir().unwrap();
        let (mut config, db) = config(dir.path(), exchange);
        config.telegram.api_url = fake.url();
        config.telegram.poll_timeout_secs = 1;
        config.secrets.telegram_token = Some(SecretString::from("123:TEST".to_string()));
        tweak(&mut config);
        let app = App::build_with_clock(config, Some(Source::Demo), Some(db), clock)
            .await
            .unwrap();
        let (trigger, shutdown) = shutdown::channel();
        let started = telegram::start(&app, shutdown).unwrap().expect("a token is set");
        Self {
            fake,
            app,
            started,
            trigger,
            _dir: dir,
        }
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("telegram stops")
            .unwrap();
        self.app.store.close().await;
    }

    /// `user` says `text` in their private chat; the next message the bot sends there.
    async fn ask(&self, user: i64, text: &str) -> Call {
        self.fake.ask_private(user, text, WAIT).await
    }

    /// Press `data` under `message` in `user`'s private chat; the callback answer's text.
    async fn press(&self, user: i64, message: i64, data: &str) -> String {
        let (_, id) = self
            .fake
            .push_callback(&CallbackPress::new(user, user, message, data));
        self.answered(&id).await
    }

    async fn answered(&self, id: &str) -> String {
        self.fake.callback_answer(id, WAIT).await.body["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `n`th (1-based) edit of a message, its text.
    async fn edit(&self, n: usize) -> String {
        let edits = self.fake.wait_for_calls("editmessagetext", n, WAIT).await;
        edits[n - 1].text().unwrap_or_default().to_owned()
    }

    /// Add the testnet key through `/keys add` in the private chat (the fake validates
    /// it) and switch to `/mode testnet`.
    async fn testnet(&self, user: i64) {
        let stored = self
            .ask(user, &format!("/keys add binance-testnet {KEY} {SECRET} label=t"))
            .await;
        assert!(text(&stored).contains("stored, sealed"), "{}", text(&stored));
        let mode = self.ask(user, "/mode testnet").await;
        assert!(
            text(&mode).contains("Done: your orders now go to"),
            "{}",
            text(&mode)
        );
    }
}

/// The text of a Telegram message without HTML tags and entities.
fn text(call: &Call) -> String {
    strip_html(call.text().unwrap_or_default())
}

fn strip_html(html: &str) -> String {
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

/// Confirm's data of a preview: `a:<token>:y`, and the token.
fn confirm_of(preview: &Call) -> (String, String) {
    let buttons = preview.buttons();
    assert_eq!(buttons.len(), 2, "Confirm and Cancel: {buttons:?}");
    assert_eq!(buttons[0].0, "Confirm", "{buttons:?}");
    let data = buttons[0].1.clone();
    let token = data
        .strip_prefix("a:")
        .and_then(|r| r.strip_suffix(":y"))
        .unwrap_or_else(|| panic!("{data} is a:<token>:y"))
        .to_string();
    (data, token)
}

async fn positions_of(store: &Store, user: i64) -> (Vec<PositionRecord>, Vec<PositionRecord>) {
    (
        store.open_positions(user, None).await.unwrap(),
        store.closed_positions(user, 100).await.unwrap(),
    )
}

/// 1. Paper LONG on Telegram: the preview shows venue, quantity, estimated fill, fee,
/// SL/TP with distance, risk to SL, reward/risk and Confirm; Confirm opens at
/// ask × (1 + 2 bps); after the fake's price moves, `/close ID` answers with the realized
/// PnL, to the cent, of the hand computation; `/positions history` lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_paper_long_round_trip_to_the_cent() {
    const USER: i64 = 3101;
    let exchange = exchange().await;
    let bot = Tg::start(&exchange, |_| {}).await;

    let preview = bot.ask(USER, "/open BTC long 0.01 sl=49000 tp=52000").await;
    let shown = text(&preview);
    let entry = buy_fill("50010");
    assert_eq!(entry, d("50020.002"));
    for part in [
        "Order preview: BTCUSDT",
        "Venue",
        "paper",
        "long 0.01 BTCUSDT",
        "Estimated fill price",
        "50,020.00",
        "Estimated fee",
        // 0.01 × 50 020.002 × 0.001 = 0.50020002
        "0.50 USDT",
        "Stop-loss",
        "49,000.00 (-2.04%)",
        "Take-profit",
        "52,000.00 (+3.96%)",
        "Risk to stop-loss",
        "Reward/risk",
        "Risk check: passed",
    ] {
        assert!(shown.contains(part), "{part:?} in:\n{shown}");
    }
    let (confirm, token) = confirm_of(&preview);
    assert_eq!(bot.press(USER, preview.message_id().unwrap(), &confirm).await, "");
    let opened = bot.edit(1).await;
    let user = account(&bot.app.store, "telegram", &USER.to_string()).await;
    let position = bot
        .app
        .store
        .position_by_token(&token)
        .await
        .unwrap()
        .expect("the position of this Confirm");
    assert_eq!(
        opened,
        format!(
            "Opened #{}: long 0.01 BTCUSDT at 50,020.00, fee 0.50 USDT.",
            position.id
        )
    );
    assert_eq!(d(&position.entry_price), entry);
    assert_eq!(d(&position.qty), d("0.01"));
    assert_eq!(position.venue, "paper");
    assert!(exchange.orders().is_empty(), "paper sends no order");

    // The price rises; the long closes at bid × (1 − 2 bps).
    exchange.set_price("BTCUSDT", "51000", "51010");
    let closed = bot.ask(USER, &format!("/close {}", position.id)).await;
    let exit = sell_fill("51000");
    let expected = realized(true, entry, exit, d("0.01"));
    // (50 989.8 − 50 020.002) × 0.01 − 0.50020002 − 0.509898 = 8.68788198
    assert_eq!(expected, d("8.68788198"));
    let shown = text(&closed);
    assert!(
        shown.contains(&format!("Closed #{}: long BTCUSDT on paper.", position.id)),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("Realized PnL: {} USDT (", cents_signed(expected))),
        "{shown}"
    );
    assert!(shown.contains("+8.69 USDT"), "{shown}");
    assert!(shown.contains("Exit price: 50,989.80"), "{shown}");
    let (open, history) = positions_of(&bot.app.store, user).await;
    assert!(open.is_empty());
    assert_eq!(history.len(), 1);
    assert_eq!(d(history[0].realized_pnl.as_deref().unwrap()), expected);

    let listed = text(&bot.ask(USER, "/positions history").await);
    assert!(listed.contains("Closed positions"), "{listed}");
    for part in [
        format!("{}", position.id),
        "BTCUSDT".into(),
        "50,020.00".into(),
        "50,989.80".into(),
        "+8.69".into(),
    ] {
        assert!(listed.contains(&part), "{part:?} in:\n{listed}");
    }
    bot.stop().await;
}

// ============================ testnet on Telegram ============================

/// 3. Testnet on Telegram: the key added through `/keys add` (validated by the fake),
/// `/mode testnet`, `/open BTC long 0.0123456` previews 0.012 (LOT_SIZE step 0.001,
/// rounded down); Confirm pressed twice in a row and then twice at once: the fake has
/// exactly ONE order per Confirm, and every extra press gets the "already done" notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_testnet_confirm_twice_places_one_order() {
    const USER: i64 = 3103;
    let exchange = exchange().await;
    let bot = Tg::start(&exchange, |_| {}).await;
    bot.testnet(USER).await;

    let preview = bot.ask(USER, "/open BTC long 0.0123456 sl=49000 tp=52000").await;
    let shown = text(&preview);
    assert!(shown.contains("testnet"), "{shown}");
    assert!(
        shown.contains("long 0.012 BTCUSDT"),
        "rounded down to the step: {shown}"
    );
    assert!(shown.contains("Risk check: passed"), "{shown}");
    let (confirm, token) = confirm_of(&preview);
    let message = preview.message_id().unwrap();
    assert_eq!(bot.press(USER, message, &confirm).await, "");
    assert_eq!(bot.press(USER, message, &confirm).await, ALREADY);
    let opened = bot.edit(1).await;
    assert!(opened.starts_with("Opened #"), "{opened}");
    let orders = exchange.orders();
    assert_eq!(orders.len(), 1, "{orders:#?}");
    assert_eq!(orders[0].client_order_id, format!("o{token}"));
    assert_eq!(orders[0].executed_qty, d("0.012"));
    assert_eq!(orders[0].side, "BUY");
    assert_eq!(exchange.requests_with("POST", "/api/v3/order"), 1);
    let position = bot.app.store.position_by_token(&token).await.unwrap().unwrap();
    assert_eq!(position.venue, "testnet");
    // 10 bps of commission in BTC: the position holds what was received.
    assert_eq!(d(&position.qty), d("0.011988"));
    assert_eq!(d(&position.entry_price), d("50010"));

    // Two presses at once (two callback queries with the same data).
    let preview = bot.ask(USER, "/open BTC long 0.001 sl=49000 tp=52000").await;
    let (confirm, token) = confirm_of(&preview);
    let message = preview.message_id().unwrap();
    let (_, a) = bot
        .fake
        .push_callback(&CallbackPress::new(USER, USER, message, &confirm));
    let (_, b) = bot
        .fake
        .push_callback(&CallbackPress::new(USER, USER, message, &confirm));
    let mut answers = [bot.answered(&a).await, bot.answered(&b).await];
    answers.sort();
    assert_eq!(answers, ["".to_string(), ALREADY.to_string()]);
    let opened = bot.edit(2).await;
    assert!(opened.starts_with("Opened #"), "{opened}");
    let orders = exchange.orders();
    assert_eq!(orders.len(), 2, "{orders:#?}");
    assert_eq!(
        orders
            .iter()
            .filter(|o| o.client_order_id == format!("o{token}"))
            .count(),
        1
    );
    assert_eq!(exchange.requests_with("POST", "/api/v3/order"), 2);
    let user = account(&bot.app.store, "telegram", &USER.to_string()).await;
    let (open, _) = positions_of(&bot.app.store, user).await;
    assert_eq!(open.len(), 2);
    bot.stop().await;
}

/// 4. The exchange accepts the order but its answer never comes (the request times out
/// after `market.request_timeout_ms`): the order is looked up by its client id, the
/// position is recorded from it, and no second POST is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_testnet_timeout_after_placing_makes_no_second_order() {
    const USER: i64 = 3104;
    let exchange = exchange().await;
    let bot = Tg::start(&exchange, |c| c.market.request_timeout_ms = 1_500).await;
    bot.testnet(USER).await;

    let preview = bot.ask(USER, "/open BTC long 0.01 sl=49000 tp=52000").await;
    let (confirm, token) = confirm_of(&preview);
    exchange.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    assert_eq!(bot.press(USER, preview.message_id().unwrap(), &confirm).await, "");
    let opened = bot.edit(1).await;
    let position = bot
        .app
        .store
        .position_by_token(&token)
        .await
        .unwrap()
        .expect("the position is recorded from the order found by its client id");
    assert_eq!(
        opened,
        format!(
            "Opened #{}: long 0.00999 BTCUSDT at 50,010.00, fee 0.50 USDT.",
            position.id
        )
    );
    let orders = exchange.orders();
    assert_eq!(orders.len(), 1, "{orders:#?}");
    assert_eq!(
        exchange.requests_with("POST", "/api/v3/order"),
        1,
        "no second POST"
    );
    assert!(exchange.requests_with("GET", "/api/v3/order") >= 1, "looked up");
    let order = bot
        .app
        .store
        .order_by_client_id(&format!("o{token}"))
        .await
        .unwrap()
        .expect("the order row");
    assert_eq!(order.status, "filled");
    assert_eq!(order.exchange_order_id, Some(orders[0].order_id));
    assert_eq!(order.position_id, Some(position.id));
    bot.stop().await;
}

/// 5, 6, 7. Refusals on the testnet, before any order is sent: below minQty and below
/// MIN_NOTIONAL (no POST /api/v3/order at all), a short (spot has none); then an order
/// the exchange refuses with -2010 (the balance is locked in other orders) leaves no
/// position row. The same in a chat set to Polish shows the Polish sentences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_testnet_refusals_in_english_and_polish() {
    const USER: i64 = 3105;
    const POLISH: i64 = 3106;
    let exchange = exchange().await;
    let bot = Tg::start(&exchange, |_| {}).await;
    bot.testnet(USER).await;

    let said = text(&bot.ask(USER, "/open BTC long 0.0005 sl=49000 tp=52000").await);
    assert!(
        said.contains("0.0005 is below the symbol's minimum quantity 0.001 (step 0.001); nothing was sent."),
        "{said}"
    );
    let said = text(&bot.ask(USER, "/open XRP long 9 sl=0.45 tp=0.6").await);
    assert!(
        said.contains("9 is worth 4.5 USDT, below the exchange's minimum order of 5 USDT; nothing was sent."),
        "{said}"
    );
    let said = text(&bot.ask(USER, "/open BTC short 0.01 sl=51000 tp=48000").await);
    assert!(
        said.contains("Spot trading has no shorts: short positions are on paper only (/mode paper)."),
        "{said}"
    );
    assert_eq!(exchange.requests_to("/api/v3/order"), 0, "nothing sent");
    assert!(exchange.orders().is_empty());

    // -2010: the account's USDT is locked in other orders (it counts as equity, so the
    // risk check passes, but the exchange cannot spend it).
    exchange.set_balance(KEY, "USDT", "1");
    exchange.set_locked(KEY, "USDT", "9999");
    let preview = bot.ask(USER, "/open BTC long 0.01 sl=49000 tp=52000").await;
    let (confirm, token) = confirm_of(&preview);
    let said = bot.press(USER, preview.message_id().unwrap(), &confirm).await;
    assert_eq!(
        said,
        "The exchange says your balance is too low for this order; nothing was placed."
    );
    assert_eq!(exchange.requests_with("POST", "/api/v3/order"), 1);
    assert!(exchange.orders().is_empty());
    // The button stays, but this Confirm failed: pressed again, it sends nothing.
    let again = bot.press(USER, preview.message_id().unwrap(), &confirm).await;
    assert_eq!(
        again,
        "This confirmation failed before and placed nothing; run /open again."
    );
    assert_eq!(exchange.requests_with("POST", "/api/v3/order"), 1);
    let user = account(&bot.app.store, "telegram", &USER.to_string()).await;
    let (open, closed) = positions_of(&bot.app.store, user).await;
    assert!(open.is_empty() && closed.is_empty(), "{open:?} {closed:?}");
    assert!(bot.app.store.position_by_token(&token).await.unwrap().is_none());
    let order = bot
        .app
        .store
        .order_by_client_id(&format!("o{token}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.status, "failed");
    assert_eq!(order.position_id, None);

    // In Polish.
    exchange.set_balance(KEY, "USDT", "10000");
    exchange.set_locked(KEY, "USDT", "0");
    let lang = text(&bot.ask(POLISH, "/lang pl").await);
    assert!(!lang.is_empty());
    bot.testnet_pl(POLISH).await;
    let said = text(&bot.ask(POLISH, "/open BTC short 0.01 sl=51000 tp=48000").await);
    assert!(
        said.contains(
            "Na rynku spot nie ma krótkiej sprzedaży: pozycje short są tylko na paper (/mode paper)."
        ),
        "{said}"
    );
    let said = text(&bot.ask(POLISH, "/open BTC long 0.0005 sl=49000 tp=52000").await);
    assert!(
        said.contains(
            "0,0005 to mniej niż minimalna ilość dla symbolu 0,001 (krok 0,001); nic nie zostało wysłane."
        ),
        "{said}"
    );
    assert_eq!(
        exchange.requests_with("POST", "/api/v3/order"),
        1,
        "nothing more sent"
    );
    bot.stop().await;
}

impl Tg {
    /// [`Tg::testnet`] for a chat in Polish.
    async fn testnet_pl(&self, user: i64) {
        let stored = self
            .ask(user, &format!("/keys add binance-testnet {KEY} {SECRET} label=t"))
            .await;
        assert!(!text(&stored).is_empty());
        let mode = self.ask(user, "/mode testnet").await;
        assert!(text(&mode).contains("testnet"), "{}", text(&mode));
    }
}

// ============================ Discord ============================

struct Dc {
    fake: FakeDiscord,
    app: App,
    started: discord::Started,
    trigger: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Dc {
    async fn start(exchange: &FakeBinance) -> Self {
        Self::start_with_clock(exchange, std::sync::Arc::new(chainsignal_core::SystemClock)).await
    }

    /// As [`Dc::start`], with "now" from `clock` (the trading day, the kill switch).
    async fn start_with_clock(
        exchange: &FakeBinance,
        clock: std::sync::Arc<dyn chainsignal_core::Clock>,
    ) -> Self {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir().unwrap();
        let (mut config, db) = config(dir.path(), exchange);
        config.discord.api_url = fake.url();
        config.secrets.discord_token = Some(SecretString::from(TOKEN.to_string()));
        let app = App::build_with_clock(config, Some(Source::Demo), Some(db), clock)
            .await
            .unwrap();
        let (trigger, shutdown) = shutdown::channel();
        let started = discord::start(&app, shutdown).unwrap().expect("a token is set");
        fake.wait_ready(WAIT).await;
        Self {
            fake,
            app,
            started,
            trigger,
            _dir: dir,
        }
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(WAIT, self.started.task)
            .await
            .expect("discord stops")
            .unwrap();
        self.app.store.close().await;
    }

    /// Send an interaction; the first message the user sees.
    async fn ask(&self, ix: &Interaction) -> Value {
        self.fake.send_interaction(ix);
        let msgs = self
            .fake
            .wait_for_messages(ix.token(), |m| m.iter().any(dc_shown), WAIT)
            .await;
        msgs.into_iter().find(dc_shown).unwrap()
    }

    /// Press `custom_id` on `message`; the message as the press edited it.
    async fn press_edited(&self, custom_id: &str, message: &Value) -> Value {
        let ix = Interaction::button(custom_id, message.clone());
        self.fake.send_interaction(&ix);
        let msgs = self
            .fake
            .wait_for_messages(
                ix.token(),
                |m| m.iter().any(|m| !m["edited_timestamp"].is_null()),
                WAIT,
            )
            .await;
        msgs.into_iter()
            .find(|m| !m["edited_timestamp"].is_null())
            .unwrap()
    }

    /// Press `custom_id` on `message`; the ephemeral notice it gets.
    async fn press_notice(&self, custom_id: &str, message: &Value) -> String {
        let ix = Interaction::button(custom_id, message.clone());
        let m = self.ask(&ix).await;
        assert!(m["flags"].as_u64().unwrap_or(0) & FLAG_EPHEMERAL != 0, "{m:#}");
        dc_text(&m)
    }
}

fn dc_shown(m: &Value) -> bool {
    !dc_text(m).trim().is_empty()
}

/// Content, and every embed's title, description, fields and footer, without Markdown
/// escapes.
fn dc_text(m: &Value) -> String {
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
        out.push('\n');
        out.push_str(e["footer"]["text"].as_str().unwrap_or_default());
    }
    out.replace('\\', "")
}

fn dc_confirm(m: &Value) -> String {
    let ids: Vec<String> = m["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|b| b["custom_id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "Confirm and Cancel: {m:#}");
    assert!(ids[0].ends_with(":y"), "{ids:?}");
    ids[0].clone()
}

/// 2. Paper SHORT on Discord: opens at bid × (1 − 2 bps), `/positions` shows it with its
/// unrealized PnL at the ask, and `/close` answers with the realized PnL of the hand
/// computation, to the cent (closing buys at ask × (1 + 2 bps)).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_paper_short_round_trip_to_the_cent() {
    let exchange = exchange().await;
    let bot = Dc::start(&exchange).await;

    let ix = Interaction::command("open")
        .option("symbol", json!("ETH"))
        .option("side", json!("short"))
        .option("size", json!("0.1"))
        .option("sl", json!("3100"))
        .option("tp", json!("2800"));
    let preview = bot.ask(&ix).await;
    let shown = dc_text(&preview);
    let entry = sell_fill("3000");
    assert_eq!(entry, d("2999.4"));
    for part in ["paper", "short 0.1 ETHUSDT", "2,999.40", "Risk check: passed"] {
        assert!(shown.contains(part), "{part:?} in:\n{shown}");
    }
    let confirm = dc_confirm(&preview);
    let opened = dc_text(&bot.press_edited(&confirm, &preview).await);
    let user = account(&bot.app.store, "discord", &USER_ID.to_string()).await;
    let (open, _) = positions_of(&bot.app.store, user).await;
    assert_eq!(open.len(), 1);
    let id = open[0].id;
    assert!(
        opened.contains(&format!(
            "Opened #{id}: short 0.1 ETHUSDT at 2,999.40, fee 0.30 USDT."
        )),
        "{opened}"
    );
    assert_eq!(d(&open[0].entry_price), entry);

    // The price falls: the open short shows its unrealized PnL at the ask.
    exchange.set_price("ETHUSDT", "2980", "2980.5");
    let listed = dc_text(
        &bot.ask(&Interaction::command("positions").subcommand("open", &[]))
            .await,
    );
    // (2 999.4 − 2 980.5) × 0.1 = 1.89
    let unrealized = (entry - d("2980.5")) * d("0.1");
    assert_eq!(unrealized, d("1.89"));
    for part in [
        "Open positions (paper)".to_string(),
        "ETHUSDT".into(),
        "short".into(),
        "2,999.40".into(),
        "2,980.50".into(),
        cents_signed(unrealized),
    ] {
        assert!(listed.contains(&part), "{part:?} in:\n{listed}");
    }

    exchange.set_price("ETHUSDT", "2950", "2950.5");
    let closed = dc_text(
        &bot.ask(&Interaction::command("close").option("what", json!(id.to_string())))
            .await,
    );
    let exit = buy_fill("2950.5");
    let expected = realized(false, entry, exit, d("0.1"));
    // (2 999.4 − 2 951.0901) × 0.1 − 0.29994 − 0.29510901 = 4.23594099
    assert_eq!(expected, d("4.23594099"));
    assert!(
        closed.contains(&format!("Closed #{id}: short ETHUSDT on paper.")),
        "{closed}"
    );
    assert!(
        closed.contains(&format!("{} USDT (", cents_signed(expected))),
        "{closed}"
    );
    assert!(closed.contains("+4.24 USDT"), "{closed}");
    let (open, history) = positions_of(&bot.app.store, user).await;
    assert!(open.is_empty());
    assert_eq!(d(history[0].realized_pnl.as_deref().unwrap()), expected);

    let listed = dc_text(
        &bot.ask(&Interaction::command("positions").subcommand("history", &[]))
            .await,
    );
    assert!(listed.contains("+4.24"), "{listed}");
    assert!(exchange.orders().is_empty(), "paper sends no order");
    bot.stop().await;
}

/// 3 on Discord: the testnet key through the `/keys add` modal, `/mode testnet`, and
/// Confirm pressed twice: one order at the fake, the second press told it was done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_testnet_confirm_twice_places_one_order() {
    let exchange = exchange().await;
    let bot = Dc::start(&exchange).await;
    let submit = Interaction::modal_submit(
        "f:keys:add:exchange=binance-testnet",
        &[("api_key", KEY), ("secret", SECRET), ("label", "t")],
    );
    let stored = dc_text(&bot.ask(&submit).await);
    assert!(stored.contains("stored, sealed"), "{stored}");
    let mode = dc_text(
        &bot.ask(&Interaction::command("mode").option("mode", json!("testnet")))
            .await,
    );
    assert!(mode.contains("Done: your orders now go to"), "{mode}");

    let ix = Interaction::command("open")
        .option("symbol", json!("BTC"))
        .option("side", json!("long"))
        .option("size", json!("0.0123456"))
        .option("sl", json!("49000"))
        .option("tp", json!("52000"));
    let preview = bot.ask(&ix).await;
    let shown = dc_text(&preview);
    assert!(shown.contains("long 0.012 BTCUSDT"), "{shown}");
    let confirm = dc_confirm(&preview);
    let opened = dc_text(&bot.press_edited(&confirm, &preview).await);
    assert!(opened.contains("Opened #"), "{opened}");
    assert_eq!(bot.press_notice(&confirm, &preview).await.trim(), ALREADY);
    let orders = exchange.orders();
    assert_eq!(orders.len(), 1, "{orders:#?}");
    assert_eq!(orders[0].executed_qty, d("0.012"));
    assert_eq!(exchange.requests_with("POST", "/api/v3/order"), 1);
    bot.stop().await;
}

// ============================ risk (issue 16) ============================

/// Whether a Telegram message carries buttons.
fn has_buttons(call: &Call) -> bool {
    call.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .is_some_and(|rows| !rows.is_empty())
}

/// Issue 16, Telegram: the daily loss limit reached by a paper loss refuses the next
/// `/open` until the account's midnight, with a controlled clock on the day Europe/Warsaw
/// leaves summer time (25 October 2026: 25 hours, midnight to midnight is 22:00 to 23:00
/// UTC). An order over the notional limit gets its reasons and no button; `/risk` shows
/// numbers equal to a hand computation, to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_daily_loss_limit_until_the_accounts_midnight_across_dst() {
    use chrono::TimeZone;
    let exchange = exchange().await;
    // 11:00 in Warsaw (CET, since 03:00 CEST became 02:00 CET).
    let clock = std::sync::Arc::new(chainsignal_core::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 10, 25, 10, 0, 0).unwrap(),
    ));
    let bot = Tg::start_with_clock(&exchange, |_| {}, clock.clone()).await;
    let user = 4100;
    let tz = text(&bot.ask(user, "/settings tz Europe/Warsaw").await);
    assert!(tz.contains("Europe/Warsaw"), "{tz}");

    // Over the notional limit (10 % of 10 000): the reasons with their numbers, no button.
    let big = bot.ask(user, "/open btc long 0.5 sl=49000").await;
    let shown = text(&big);
    assert!(shown.contains("Risk check: refused"), "{shown}");
    assert!(
        shown.contains("Notional 25,010.00 USDT is 250.1 % of equity; your limit is 10 %."),
        "{shown}"
    );
    assert!(
        !has_buttons(&big),
        "no Confirm for a refused order: {:#}",
        big.body
    );

    // A position within the limits: 0.018 BTC at 50 010 × 1.0002, SL 45 000.
    let preview = bot.ask(user, "/open btc long 0.018 sl=45000").await;
    assert!(
        text(&preview).contains("Risk check: passed"),
        "{}",
        text(&preview)
    );
    let (confirm, _) = confirm_of(&preview);
    bot.press(user, preview.message_id().unwrap(), &confirm).await;
    bot.edit(1).await;
    let account = account(&bot.app.store, "telegram", &user.to_string()).await;
    let (open, _) = positions_of(&bot.app.store, account).await;
    let id = open[0].id;
    let entry = buy_fill("50010");
    let qty = d("0.018");
    let open_fee = entry * qty * fee_rate();

    // /risk at bid 49 000, by hand.
    exchange.set_price("BTCUSDT", "49000", "49010");
    let risk = text(&bot.ask(user, "/risk").await);
    let mark = d("49000");
    let unrealized = (mark - entry) * qty;
    let equity = d("10000") - open_fee + unrealized;
    let free = equity - entry * qty;
    let gross = qty * mark;
    let at_sl = (d("45000") - entry) * qty - open_fee - qty * d("45000") * fee_rate();
    let cents = |v: Decimal| {
        let r = v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        let int = r.trunc().abs().to_string();
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!(
            "{}{grouped}.{:02}",
            if r.is_sign_negative() { "-" } else { "" },
            (r.fract().abs() * d("100")).round()
        )
    };
    assert_eq!(cents(equity), "9,980.74");
    for part in [
        format!("{} USDT", cents(equity)),
        format!("{} USDT", cents(free)),
        format!("{} USDT", cents(gross)),
        format!("{} USDT", cents(-at_sl)),
        format!("{} USDT", cents(-unrealized)),
        "1 / 3".to_string(),
        "armed".to_string(),
    ] {
        assert!(risk.contains(&part), "{part:?} in:\n{risk}");
    }
    // Gross exposure as % of equity, and today's loss as % of the day's start (10 000).
    let gross_pct = (gross / equity * d("100")).round_dp(2);
    assert!(
        risk.contains(&format!("({gross_pct} % / 30 %)")),
        "{gross_pct} in:\n{risk}"
    );
    let loss_pct = (-unrealized / d("10000") * d("100")).round_dp(2);
    assert!(
        risk.contains(&format!("({loss_pct} % / 2 %)")),
        "{loss_pct} in:\n{risk}"
    );

    // The price crashes and the position is closed by hand: a loss over 2 % of 10 000.
    exchange.set_price("BTCUSDT", "36000", "36010");
    let closed = text(&bot.ask(user, &format!("/close {id}")).await);
    let exit = sell_fill("36000");
    let loss = realized(true, entry, exit, qty);
    assert!(loss < d("-200"), "{loss}");
    assert!(closed.contains(&cents_signed(loss)), "{closed}");

    // Refused for the rest of the local day, with the reason; no button.
    exchange.set_price("BTCUSDT", "50000", "50010");
    let again = bot.ask(user, "/open btc long 0.001 sl=49000").await;
    assert!(text(&again).contains("Today's loss"), "{}", text(&again));
    assert!(
        text(&again).contains("your daily limit is 2 %"),
        "{}",
        text(&again)
    );
    assert!(!has_buttons(&again));
    let risk = text(&bot.ask(user, "/risk").await);
    assert!(
        risk.contains("TRIPPED: no new positions until 2026-10-26 00:00 Europe/Warsaw"),
        "{risk}"
    );
    // 23:59:59 in Warsaw (22:59:59 UTC): still the same trading day.
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 10, 25, 22, 59, 59).unwrap());
    let late = bot.ask(user, "/open btc long 0.001 sl=49000").await;
    assert!(text(&late).contains("Today's loss"), "{}", text(&late));
    assert!(!has_buttons(&late));
    // Midnight in Warsaw is 23:00 UTC on this 25-hour day (the UTC day has an hour left).
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 10, 25, 23, 0, 0).unwrap());
    let next = bot.ask(user, "/open btc long 0.001 sl=49000").await;
    assert!(text(&next).contains("Risk check: passed"), "{}", text(&next));
    assert!(has_buttons(&next));
    bot.stop().await;
}

/// A Discord `/open SYMBOL long SIZE sl=SL` with its options.
fn dc_open_long(symbol: &str, size: &str, sl: &str) -> Interaction {
    Interaction::command("open")
        .option("symbol", json!(symbol))
        .option("side", json!("long"))
        .option("size", json!(size))
        .option("sl", json!(sl))
}

/// Whether a Discord message carries no components (no Confirm, no Cancel).
fn dc_no_buttons(m: &Value) -> bool {
    m["components"].as_array().is_none_or(|c| c.is_empty())
}

/// Issue 16, Discord: the Telegram story above through serenity and slash commands. The
/// daily loss limit reached by a paper loss closed with `/close` refuses `/open` (no
/// button) until midnight in Europe/Warsaw on the day it leaves summer time: still at
/// 22:59:59 UTC (23:59:59 local), allowed at 23:00:00 UTC, while the UTC date is still
/// the 25th (a UTC trading day would keep refusing for another hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_daily_loss_limit_until_the_accounts_midnight_across_dst() {
    use chrono::TimeZone;
    let exchange = exchange().await;
    // 11:00 in Warsaw (CET, since 03:00 CEST became 02:00 CET).
    let clock = std::sync::Arc::new(chainsignal_core::ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 10, 25, 10, 0, 0).unwrap(),
    ));
    let bot = Dc::start_with_clock(&exchange, clock.clone()).await;
    let tz = dc_text(
        &bot.ask(&Interaction::command("settings").subcommand("tz", &[("zone", json!("Europe/Warsaw"))]))
            .await,
    );
    assert!(tz.contains("Europe/Warsaw"), "{tz}");

    // A position within the limits, Confirmed by a press: 0.018 BTC at 50 010 × 1.0002.
    let preview = bot.ask(&dc_open_long("BTC", "0.018", "45000")).await;
    let shown = dc_text(&preview);
    assert!(shown.contains("Risk check: passed"), "{shown}");
    let confirm = dc_confirm(&preview);
    let opened = dc_text(&bot.press_edited(&confirm, &preview).await);
    let user = account(&bot.app.store, "discord", &USER_ID.to_string()).await;
    let (open, _) = positions_of(&bot.app.store, user).await;
    assert_eq!(open.len(), 1);
    let id = open[0].id;
    let entry = buy_fill("50010");
    let qty = d("0.018");
    assert_eq!(entry, d("50020.002"));
    // 0.018 × 50 020.002 × 0.001 = 0.900360036
    assert!(
        opened.contains(&format!(
            "Opened #{id}: long 0.018 BTCUSDT at 50,020.00, fee 0.90 USDT."
        )),
        "{opened}"
    );
    assert_eq!(d(&open[0].entry_price), entry);

    // The price crashes; `/close ID` sells at 36 000 × (1 − 2 bps) = 35 992.8.
    exchange.set_price("BTCUSDT", "36000", "36010");
    let closed = dc_text(
        &bot.ask(&Interaction::command("close").option("what", json!(id.to_string())))
            .await,
    );
    let exit = sell_fill("36000");
    assert_eq!(exit, d("35992.8"));
    let loss = realized(true, entry, exit, qty);
    // (35 992.8 − 50 020.002) × 0.018 − 0.900360036 − 0.6478704 = −254.037866436
    assert_eq!(loss, d("-254.037866436"));
    assert!(
        closed.contains(&format!("Closed #{id}: long BTCUSDT on paper.")),
        "{closed}"
    );
    assert!(closed.contains("-254.04 USDT ("), "{closed}");
    let (open, history) = positions_of(&bot.app.store, user).await;
    assert!(open.is_empty());
    assert_eq!(d(history[0].realized_pnl.as_deref().unwrap()), loss);

    // Over 2 % of the day's 10 000: refused for the rest of the local day, no button.
    exchange.set_price("BTCUSDT", "50000", "50010");
    let again = bot.ask(&dc_open_long("BTC", "0.001", "49000")).await;
    let shown = dc_text(&again);
    assert!(shown.contains("Today's loss"), "{shown}");
    assert!(shown.contains("your daily limit is 2 %"), "{shown}");
    assert!(dc_no_buttons(&again), "no Confirm: {again:#}");
    let risk = dc_text(
        &bot.ask(&Interaction::command("risk").subcommand("show", &[]))
            .await,
    );
    assert!(
        risk.contains("TRIPPED: no new positions until 2026-10-26 00:00 Europe/Warsaw"),
        "{risk}"
    );

    // 23:59:59 in Warsaw (22:59:59 UTC): still the same trading day.
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 10, 25, 22, 59, 59).unwrap());
    let late = bot.ask(&dc_open_long("BTC", "0.001", "49000")).await;
    assert!(dc_text(&late).contains("Today's loss"), "{}", dc_text(&late));
    assert!(dc_no_buttons(&late), "no Confirm: {late:#}");

    // Midnight in Warsaw is 23:00 UTC on this 25-hour day (the UTC day has an hour left).
    clock.set(chrono::Utc.with_ymd_and_hms(2026, 10, 25, 23, 0, 0).unwrap());
    let next = bot.ask(&dc_open_long("BTC", "0.001", "49000")).await;
    let shown = dc_text(&next);
    assert!(shown.contains("Risk check: passed"), "{shown}");
    assert!(!shown.contains("Today's loss"), "{shown}");
    dc_confirm(&next);
    bot.stop().await;
}

/// Issue 16, Discord: an order over the notional limit gets its reasons and no button,
/// and `/risk` (a code block in the embed) shows the hand computation to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discord_refused_order_has_no_button_and_risk_is_the_hand_computation() {
    let exchange = exchange().await;
    let bot = Dc::start(&exchange).await;
    let big = bot
        .ask(
            &Interaction::command("open")
                .option("symbol", json!("BTC"))
                .option("side", json!("long"))
                .option("size", json!("0.5"))
                .option("sl", json!("49000")),
        )
        .await;
    let shown = dc_text(&big);
    assert!(
        shown.contains("Notional 25,010.00 USDT is 250.1 % of equity; your limit is 10 %."),
        "{shown}"
    );
    assert!(
        big["components"].as_array().is_none_or(|c| c.is_empty()),
        "no Confirm: {big:#}"
    );

    let preview = bot
        .ask(
            &Interaction::command("open")
                .option("symbol", json!("ETH"))
                .option("side", json!("short"))
                .option("size", json!("0.2"))
                .option("sl", json!("3100"))
                .option("tp", json!("2800")),
        )
        .await;
    let confirm = dc_confirm(&preview);
    bot.press_edited(&confirm, &preview).await;
    exchange.set_price("ETHUSDT", "3010", "3010.5");
    let risk = dc_text(
        &bot.ask(&Interaction::command("risk").subcommand("show", &[]))
            .await,
    );
    // Short 0.2 at 3 000 × 0.9998 = 2 999.4; marked at the ask 3 010.5.
    let entry = sell_fill("3000");
    let qty = d("0.2");
    let open_fee = entry * qty * fee_rate();
    let unrealized = (entry - d("3010.5")) * qty;
    let equity = d("10000") - open_fee + unrealized;
    // 10 000 − 0.59988 − 2.22 = 9 997.18012
    assert_eq!(equity, d("9997.18012"));
    let at_sl = (entry - d("3100")) * qty - open_fee - qty * d("3100") * fee_rate();
    // −20.12 − 0.59988 − 0.62 = −21.33988
    assert_eq!(at_sl, d("-21.33988"));
    for part in [
        "9,997.18 USDT",
        "21.34 USDT",
        "602.10 USDT",
        "-602.10 USDT",
        "-2.22 USDT",
        "1 / 3",
    ] {
        assert!(risk.contains(part), "{part:?} in:\n{risk}");
    }
    bot.stop().await;
}

/// Issue 16: the owner of an account over its daily loss limit is told once (the check
/// runs again and tells nobody twice); `/admin risk` lists the account as tripped and
/// `/admin risk-compare` counts its trade, realized PnL and refused open per profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_daily_limit_told_once_and_the_admin_views() {
    const OWNER: i64 = 4200;
    let exchange = exchange().await;
    // This operator's conservative profile closes everything at the daily limit.
    let bot = Tg::start(&exchange, |c| {
        c.admins.telegram = vec![OWNER.to_string()];
        c.risk.profiles.conservative.flatten_on_limit = Some(true);
    })
    .await;
    let user = 4201;
    // One refused open (over the notional limit), then two positions, one closed at a
    // loss over 2 %.
    let big = bot.ask(user, "/open btc long 0.5 sl=49000").await;
    assert!(text(&big).contains("Risk check: refused"));
    for n in 1..=2 {
        let preview = bot.ask(user, "/open btc long 0.018 sl=45000").await;
        let (confirm, _) = confirm_of(&preview);
        bot.press(user, preview.message_id().unwrap(), &confirm).await;
        bot.edit(n).await;
    }
    let account = account(&bot.app.store, "telegram", &user.to_string()).await;
    let (open, _) = positions_of(&bot.app.store, account).await;
    assert_eq!(open.len(), 2);
    exchange.set_price("BTCUSDT", "36000", "36010");
    bot.ask(user, &format!("/close {}", open[0].id)).await;
    let loss = realized(true, buy_fill("50010"), sell_fill("36000"), d("0.018"));

    let now = chrono::Utc::now();
    let told = chainsignal::scheduler::monitor::daily_limits(&bot.app, now, true, Vec::new()).await;
    assert_eq!(told, 1);
    let again = chainsignal::scheduler::monitor::daily_limits(&bot.app, now, true, vec![account]).await;
    assert_eq!(again, 0, "told once a day");
    // Queued, then sent by the notice sender (the scheduler's third monitor task).
    let sent = chainsignal::scheduler::notices::send_due(&bot.app, &chainsignal_core::SystemClock).await;
    assert_eq!((sent.sent, sent.failed), (1, 0));
    let again = chainsignal::scheduler::notices::send_due(&bot.app, &chainsignal_core::SystemClock).await;
    assert_eq!((again.sent, again.failed), (0, 0), "sent once");
    let is_notice = |c: &Call| text(c).contains("Daily loss limit reached");
    let calls = bot
        .fake
        .wait_until(WAIT, |calls| sends_to(calls, user).iter().any(is_notice))
        .await;
    let notices: Vec<Call> = sends_to(&calls, user).into_iter().filter(is_notice).collect();
    assert_eq!(notices.len(), 1);
    let notice = text(&notices[0]);
    // Today's loss: the closed one's realized loss and the open one's loss at the bid.
    let open_loss = (d("36000") - buy_fill("50010")) * d("0.018");
    let today = -(loss + open_loss);
    assert!(
        notice.contains(&format!("{} USDT", cents_signed(today).trim_start_matches('+'))),
        "{today} in {notice}"
    );
    assert!(notice.contains("(limit 2 %)"), "{notice}");
    // The other position was closed by the limit (flatten_on_limit).
    assert!(notice.contains("1 positions were closed"), "{notice}");
    let (still, history) = positions_of(&bot.app.store, account).await;
    assert!(still.is_empty());
    assert!(history.iter().any(|p| p.close_reason.as_deref() == Some("limit")));

    let list = text(&bot.ask(OWNER, "/admin risk").await);
    assert!(
        list.contains("TRIPPED") && list.contains("conservative"),
        "{list}"
    );
    let compare = text(&bot.ask(OWNER, "/admin risk-compare").await);
    assert!(
        compare.contains("Profiles compared over the last 7 days"),
        "{compare}"
    );
    let row = compare
        .lines()
        .find(|l| l.trim_start().starts_with("conservative"))
        .unwrap_or_else(|| panic!("{compare}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // profile, accounts, trades, realized, refused
    // Two trades: the loss closed by hand and the position the limit closed, both at
    // the bid 36 000 (their realized PnL stored, summed here by hand).
    let (_, history) = positions_of(&bot.app.store, account).await;
    let total: Decimal = history
        .iter()
        .map(|p| d(p.realized_pnl.as_deref().unwrap()))
        .sum();
    assert_eq!(
        cells,
        vec!["conservative", "1", "2", cents_signed(total).as_str(), "1"],
        "{compare}"
    );
    // A trader may not see them.
    let denied = text(&bot.ask(user, "/admin risk").await);
    assert!(!denied.contains("TRIPPED"), "{denied}");
    bot.stop().await;
}
