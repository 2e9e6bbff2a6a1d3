//! The trading desk against the fake testnet (which checks signatures, filters, balances
//! and client ids as Binance does), on SQLite: a Confirm token opens once, an order whose
//! answer is lost is never sent again and is reconciled later, a base-asset commission
//! leaves the position net of it and its close shows the dust.

use chainsignal_core::desk::{Desk, DeskError, DeskSettings, Mode, NoticeKind};
use chainsignal_core::exchange::{ApiKey, MarketOrder, OrderAmount, Side, SpotClient, SpotSettings, Venue};
use chainsignal_core::store::{self, Identity, NewExchangeKey, Store};
use chainsignal_core::symbol::Symbol;
use chainsignal_core::trading::{Leverage, OrderRequest, PositionSide, Profile, SizeSpec};
use chainsignal_core::vault::{Binding, Vault};
use chainsignal_core::{Clock, ManualClock};
use chainsignal_tests::TEST_VAULT_KEY;
use chainsignal_tests::fake_binance::{CommissionAsset, FakeBinance, MarketSpec, OrderFault, d};
use chrono::Utc;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "deskKEY6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "deskSECmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

struct Setup {
    clock: Arc<ManualClock>,
    fake: FakeBinance,
    desk: Desk,
    store: Store,
    user: i64,
    vault: Arc<Vault>,
    url: SecretString,
    _dir: Option<tempfile::TempDir>,
}

impl Setup {
    /// Another instance: its own database pool and desk (its own in-process locks) on
    /// the same database, exchange and clock.
    async fn second_instance(&self) -> (Store, Desk) {
        let store = store::open(&self.url, 4).await.unwrap();
        let desk = desk_on(&store, &self.fake, &self.vault, &self.clock);
        (store, desk)
    }
}

fn desk_on(store: &Store, fake: &FakeBinance, vault: &Arc<Vault>, clock: &Arc<ManualClock>) -> Desk {
    Desk::new(
        store.clone(),
        settings(&fake.url(), Venue::Live),
        settings(&fake.url(), Venue::Testnet),
        settings(&fake.url(), Venue::Live),
        Some(vault.clone()),
        DeskSettings {
            clock: clock.clone(),
            ..DeskSettings::default()
        },
    )
    .unwrap()
}

fn settings(url: &str, venue: Venue) -> SpotSettings {
    SpotSettings {
        request_timeout: Duration::from_millis(700),
        backoff: Duration::from_millis(20),
        ..SpotSettings::new(venue, url)
    }
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = SecretString::from(format!("sqlite://{}", dir.path().join("desk.sqlite").display()));
    setup_on(url, Some(dir)).await
}

async fn setup_on(url: SecretString, dir: Option<tempfile::TempDir>) -> Setup {
    let fake = FakeBinance::start_testnet().await;
    fake.add_key(KEY, SECRET);
    fake.set_balance(KEY, "USDT", "100000");
    fake.set_balance(KEY, "BTC", "1");
    fake.add_market(
        MarketSpec::new("BTCUSDT", "BTC", "USDT")
            .price("60000", "60010")
            .lot("0.001", "0.001", "9000")
            .min_notional("5"),
    );
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = store::open(&url, 4).await.unwrap();
    let vault = Arc::new(
        Vault::from_keys(&[(1, SecretString::from(TEST_VAULT_KEY.to_string()))])
            .unwrap()
            .unwrap(),
    );
    let user = store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: "4242".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let seal = |field: &str, value: &str| {
        vault
            .seal(
                &Binding {
                    account_id: user,
                    exchange: "binance-testnet",
                    label: "main",
                    field,
                },
                &SecretString::from(value.to_string()),
            )
            .unwrap()
            .to_text()
    };
    let (key_nonce, key_sealed) = seal("api_key", KEY);
    let (secret_nonce, secret_sealed) = seal("secret", SECRET);
    store
        .add_exchange_key(&NewExchangeKey {
            user_id: user,
            exchange: "binance-testnet".into(),
            label: "main".into(),
            api_key_mask: "desk…Eh8A".into(),
            api_key_sealed: key_sealed,
            api_key_nonce: key_nonce,
            secret_sealed,
            secret_nonce,
            key_version: 1,
            created_at: Utc::now(),
        })
        .await
        .unwrap()
        .unwrap();
    let desk = desk_on(&store, &fake, &vault, &clock);
    desk.set_mode(user, Mode::Testnet).await.unwrap();
    Setup {
        clock,
        fake,
        desk,
        store,
        user,
        vault,
        url,
        _dir: dir,
    }
}

fn long(qty: &str) -> OrderRequest {
    OrderRequest {
        side: PositionSide::Long,
        size: SizeSpec::Base(d(qty)),
        sl: Some(d("59500")),
        tp: Some(d("61000")),
        lev: Leverage::NONE,
    }
}

fn btc() -> Symbol {
    Symbol::from_normalized("BTCUSDT")
}

/// The loose profile: these tests are about orders, not limits.
fn limits() -> chainsignal_core::trading::RiskLimits {
    Profile::Loose.limits()
}

#[tokio::test]
async fn a_confirm_token_opens_once_and_rounds_to_the_lot_step() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    s.fake.set_commission(CommissionAsset::Quote, 10);
    let token = "0123456789abcdef0123456789abcdef";
    let first = s
        .desk
        .open(s.user, token, None, &btc(), &long("0.0123456"), &limits(), day)
        .await
        .unwrap();
    assert!(!first.existing);
    // 0.0123456 rounded down to the 0.001 step; the commission (0.1 %) in USDT.
    assert_eq!(first.position.qty, "0.012");
    assert_eq!(first.position.entry_price, "60010");
    assert_eq!(first.position.open_fee, "0.72012");
    let again = s
        .desk
        .open(s.user, token, None, &btc(), &long("0.0123456"), &limits(), day)
        .await
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.position.id, first.position.id);
    let orders = s.fake.orders();
    assert_eq!(orders.len(), 1, "one order whatever the presses");
    assert_eq!(orders[0].client_order_id, format!("o{token}"));
}

#[tokio::test]
async fn a_lost_answer_is_never_sent_again_and_is_reconciled() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    // The request never reaches the book; the lookups find nothing: unknown, not resent.
    s.fake.inject_order_fault(OrderFault::TimeoutBeforePlacing);
    let token = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let e = s
        .desk
        .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::OutcomeUnknown), "{e:?}");
    let row = s
        .store
        .order_by_client_id(&format!("o{token}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "unknown");
    assert!(s.fake.orders().is_empty());
    // Pressed again: looked up, never sent a second time.
    let e = s
        .desk
        .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::OutcomeUnknown), "{e:?}");
    assert!(s.fake.orders().is_empty());
    let posts = s.fake.requests_to("/api/v3/order");
    // Soon after: still unknown, nothing told. Ten minutes on: never placed, told once.
    let now = Utc::now() + chrono::Duration::seconds(30);
    assert!(s.desk.reconcile(now).await.unwrap().is_empty());
    let later = Utc::now() + chrono::Duration::minutes(11);
    let notices = s.desk.reconcile(later).await.unwrap();
    assert!(matches!(notices.as_slice(), [n] if matches!(n.kind, NoticeKind::NotPlaced { .. })));
    assert!(s.desk.reconcile(later).await.unwrap().is_empty(), "told once");
    assert_eq!(
        s.store
            .order_by_client_id(&format!("o{token}"))
            .await
            .unwrap()
            .unwrap()
            .status,
        "failed"
    );
    assert!(s.fake.orders().is_empty());
    assert!(
        s.fake.requests_to("/api/v3/order") > posts,
        "looked up, not placed"
    );

    // The other case: the order did reach the exchange late. Reconciled into a position.
    s.fake.inject_order_fault(OrderFault::TimeoutBeforePlacing);
    let token = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    s.desk
        .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap_err();
    let late = SpotClient::new(settings(&s.fake.url(), Venue::Testnet)).unwrap();
    late.market_order(
        &ApiKey::new(
            SecretString::from(KEY.to_string()),
            SecretString::from(SECRET.to_string()),
        ),
        &MarketOrder {
            symbol: btc(),
            side: Side::Buy,
            amount: OrderAmount::Base(d("0.01")),
            client_order_id: format!("o{token}"),
        },
    )
    .await
    .unwrap();
    let notices = s
        .desk
        .reconcile(Utc::now() + chrono::Duration::seconds(30))
        .await
        .unwrap();
    let [n] = notices.as_slice() else {
        panic!("one notice: {notices:?}")
    };
    let NoticeKind::FoundFilled(p) = &n.kind else {
        panic!("found: {n:?}")
    };
    assert_eq!(
        (p.symbol.as_str(), p.side.as_str(), p.sl.as_deref()),
        ("BTCUSDT", "long", Some("59500"))
    );
    assert_eq!(s.fake.orders().len(), 1);
    assert!(
        s.desk
            .reconcile(Utc::now() + chrono::Duration::seconds(30))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.store.open_positions(s.user, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_base_asset_commission_is_netted_and_the_close_shows_the_dust() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    s.fake.set_commission(CommissionAsset::Base, 10);
    let opened = s
        .desk
        .open(
            s.user,
            "cccccccccccccccccccccccccccccccc",
            None,
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap();
    // 0.01 bought, 0.00001 BTC kept as commission: the position holds 0.00999.
    assert_eq!(opened.position.qty, "0.00999");
    // The fee in USDT: 0.00001 BTC at the fill price 60010.
    assert_eq!(opened.position.open_fee, "0.6001");
    s.fake.set_price("BTCUSDT", "61000", "61010");
    let closed = s.desk.close(s.user, opened.position.id, "manual").await.unwrap();
    // Sold 0.009 (the step); 0.00099 is dust, shown, not lost.
    assert_eq!(closed.dust, d("0.00099"));
    let sold = d("0.009");
    let close_fee = sold * d("61000") * d("0.001");
    let expected = (d("61000") - d("60010")) * sold - d("0.6001") - close_fee;
    assert_eq!(closed.trade.realized_pnl, expected);
    assert_eq!(s.fake.orders().len(), 2);
    assert_eq!(
        s.fake.orders()[1].client_order_id,
        format!("c{}-0", &opened.position.open_token[..24])
    );
    // Closed once: a second close finds nothing open.
    assert!(matches!(
        s.desk
            .close(s.user, opened.position.id, "manual")
            .await
            .unwrap_err(),
        DeskError::NoSuchPosition
    ));
    // Spot has no shorts; no order is sent for one.
    let short = OrderRequest {
        side: PositionSide::Short,
        ..long("0.01")
    };
    assert!(matches!(
        s.desk
            .open(
                s.user,
                "dddddddddddddddddddddddddddddddd",
                None,
                &btc(),
                &short,
                &limits(),
                day
            )
            .await
            .unwrap_err(),
        DeskError::ShortOnSpot
    ));
    assert_eq!(s.fake.orders().len(), 2);
}

/// The sender stopped between the exchange's fill and its record (a crash, the database
/// gone): the order row is left `pending`. Two minutes on, the monitor finds the order on
/// the exchange by its client id and writes the position; nothing is sent again.
#[tokio::test]
async fn an_order_abandoned_half_way_is_found_and_recorded() {
    use chainsignal_core::store::NewOrder;
    let s = setup().await;
    let token = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
    let cid = format!("o{token}");
    let sent_at = Utc::now() - chrono::Duration::minutes(3);
    s.store
        .insert_order(&NewOrder {
            user_id: s.user,
            position_id: None,
            venue: "testnet".into(),
            key_id: None,
            symbol: "BTCUSDT".into(),
            side: "BUY".into(),
            purpose: "open".into(),
            client_order_id: cid.clone(),
            quantity: "0.01".into(),
            request: r#"{"position":"long","sl":"59000","tp":null}"#.into(),
            created_at: sent_at,
        })
        .await
        .unwrap()
        .unwrap();
    let c = SpotClient::new(settings(&s.fake.url(), Venue::Testnet)).unwrap();
    c.market_order(
        &ApiKey::new(
            SecretString::from(KEY.to_string()),
            SecretString::from(SECRET.to_string()),
        ),
        &MarketOrder {
            symbol: btc(),
            side: Side::Buy,
            amount: OrderAmount::Base(d("0.01")),
            client_order_id: cid.clone(),
        },
    )
    .await
    .unwrap();
    // A confirmation pressed again meanwhile is told the order is being placed.
    let day = Utc::now() - chrono::Duration::hours(1);
    assert!(matches!(
        s.desk
            .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
            .await
            .unwrap_err(),
        DeskError::InProgress
    ));
    let notices = s.desk.reconcile(Utc::now()).await.unwrap();
    assert!(
        matches!(notices.as_slice(), [n] if matches!(n.kind, NoticeKind::FoundFilled(_))),
        "{notices:?}"
    );
    let open = s.store.open_positions(s.user, None).await.unwrap();
    assert_eq!((open.len(), open[0].sl.as_deref()), (1, Some("59000")));
    assert_eq!(s.fake.orders().len(), 1);
    assert_eq!(
        s.store.order_by_client_id(&cid).await.unwrap().unwrap().status,
        "filled"
    );
}

/// A close whose answer is lost is looked up, never sent blindly again: a second /close
/// at once is told the outcome is unknown; once the first attempt is known never to have
/// been placed (two minutes on), the next attempt goes under its own client id.
#[tokio::test]
async fn a_close_whose_answer_is_lost_is_not_sent_twice() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    s.fake.set_commission(CommissionAsset::Quote, 10);
    let opened = s
        .desk
        .open(
            s.user,
            "ffffffffffffffffffffffffffffffff",
            None,
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap();
    let id = opened.position.id;
    s.fake.inject_order_fault(OrderFault::TimeoutBeforePlacing);
    assert!(matches!(
        s.desk.close(s.user, id, "manual").await.unwrap_err(),
        DeskError::CloseUnknown
    ));
    assert!(matches!(
        s.desk.close(s.user, id, "manual").await.unwrap_err(),
        DeskError::CloseUnknown
    ));
    assert_eq!(s.fake.orders().len(), 1, "only the opening order");
    assert_eq!(
        s.fake.requests_with("POST", "/api/v3/order"),
        2,
        "one open, one close attempt"
    );
    // Three minutes on, the first attempt was never placed: the next one goes.
    s.clock.advance(chrono::Duration::minutes(3));
    let closed = s.desk.close(s.user, id, "manual").await.unwrap();
    assert_eq!(closed.position.status, "closed");
    let orders = s.fake.orders();
    assert_eq!(orders.len(), 2);
    assert_eq!(
        orders[1].client_order_id,
        format!("c{}-1", &opened.position.open_token[..24])
    );
    let rows = s.store.close_orders(id).await.unwrap();
    let states: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|o| (o.status.as_str(), o.error.as_deref()))
        .collect();
    assert_eq!(states, vec![("failed", Some("not_placed")), ("filled", None)]);
}

/// A Confirm carries the venue its preview was for: pressed after the account moved to
/// another venue, it places nothing (review H5).
#[tokio::test]
async fn a_confirm_for_another_venue_places_nothing() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    // The account is on the testnet; the preview was on paper.
    let e = s
        .desk
        .open(
            s.user,
            "99999999999999999999999999999999",
            Some(Mode::Paper),
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::VenueChanged), "{e:?}");
    assert!(s.fake.orders().is_empty());
    assert!(
        s.store
            .order_by_client_id("o99999999999999999999999999999999")
            .await
            .unwrap()
            .is_none(),
        "no order row either"
    );
}

/// Two instances (two pools, two desks: no shared in-process lock) confirm two different
/// previews of one account at the same moment, with room for one more position: the
/// account's order lease lets one open at a time, so the second's risk check sees the
/// first's position and refuses. Without the lease both passed against the same state.
async fn two_instances_cannot_both_pass_the_risk_check(s: Setup) {
    let day = Utc::now() - chrono::Duration::hours(1);
    // Every exchange answer takes 300 ms: the two opens overlap from start to end.
    s.fake.set_latency(Duration::from_millis(300));
    let (_store_b, desk_b) = s.second_instance().await;
    let one_more = chainsignal_core::trading::RiskLimits {
        max_open_positions: 1,
        ..limits()
    };
    let (symbol, order) = (btc(), long("0.01"));
    let (a, b) = tokio::join!(
        s.desk.open(
            s.user,
            "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
            None,
            &symbol,
            &order,
            &one_more,
            day
        ),
        desk_b.open(
            s.user,
            "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
            None,
            &symbol,
            &order,
            &one_more,
            day
        ),
    );
    let (opened, refused) = match (a, b) {
        (Ok(o), Err(e)) | (Err(e), Ok(o)) => (o, e),
        (a, b) => panic!("exactly one open expected: {a:?} / {b:?}"),
    };
    assert!(!opened.existing);
    let DeskError::Refused(violations) = refused else {
        panic!("refused by the risk check expected: {refused:?}");
    };
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(s.fake.orders().len(), 1, "one order on the exchange");
    assert_eq!(s.fake.requests_with("POST", "/api/v3/order"), 1);
    assert_eq!(s.store.open_positions(s.user, None).await.unwrap().len(), 1);

    // The lease was given back: the next open (room made by the limit) goes at once.
    s.fake.set_latency(Duration::ZERO);
    let next = desk_b
        .open(
            s.user,
            "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3",
            None,
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap();
    assert!(!next.existing);
    assert_eq!(s.store.open_positions(s.user, None).await.unwrap().len(), 2);
}

#[tokio::test]
async fn two_instances_cannot_both_pass_the_risk_check_on_sqlite() {
    two_instances_cannot_both_pass_the_risk_check(setup().await).await;
}

#[tokio::test]
async fn two_instances_cannot_both_pass_the_risk_check_on_postgres() {
    let Some(db) = chainsignal_tests::TempPostgres::create("desk_two_instances").await else {
        return;
    };
    let url = SecretString::from(db.url.clone());
    two_instances_cannot_both_pass_the_risk_check(setup_on(url, None).await).await;
    db.drop_db().await;
}

/// A paper reset pressed while an open is on its way (another instance): the reset
/// waits for the open, so the position is never left open in the old paper run.
#[tokio::test]
async fn a_paper_reset_during_an_open_leaves_nothing_in_the_old_run() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    s.desk.set_mode(s.user, Mode::Paper).await.unwrap();
    s.fake.set_latency(Duration::from_millis(300));
    let (store_b, desk_b) = s.second_instance().await;
    let (symbol, order, limits) = (btc(), long("0.01"), limits());
    let (opened, reset) = tokio::join!(
        s.desk.open(
            s.user,
            "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4",
            None,
            &symbol,
            &order,
            &limits,
            day
        ),
        async {
            // Once the open holds the lease (its first price request is on its way).
            s.fake
                .wait_for_path_requests("/api/v3/ticker/bookTicker", 1, Duration::from_secs(30))
                .await;
            desk_b.reset_paper(s.user).await
        },
    );
    let opened = opened.unwrap();
    reset.unwrap();
    let account = store_b
        .trading_account(s.user, "10000", Utc::now())
        .await
        .unwrap();
    assert_eq!(account.paper_epoch, 2, "the reset ran after the open");
    let position = s.store.position(opened.position.id).await.unwrap().unwrap();
    assert_eq!(position.paper_epoch, 1);
    assert_eq!(position.status, "reset", "dropped with its run, not left open");
    assert!(s.store.open_positions(s.user, None).await.unwrap().is_empty());
}

/// An open whose outcome is unknown (it may have filled) holds back every other open of
/// the account until the monitor has settled it: the risk check cannot count it.
#[tokio::test]
async fn no_new_open_while_an_earlier_ones_outcome_is_unknown() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    s.fake.inject_order_fault(OrderFault::TimeoutBeforePlacing);
    let first = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
    let e = s
        .desk
        .open(s.user, first, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::OutcomeUnknown), "{e:?}");
    let posts = s.fake.requests_with("POST", "/api/v3/order");
    let e = s
        .desk
        .open(
            s.user,
            "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6",
            None,
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::OrderUnsettled), "{e:?}");
    assert_eq!(
        s.fake.requests_with("POST", "/api/v3/order"),
        posts,
        "nothing sent"
    );
    // Ten minutes on the exchange still has no such order: settled as not placed, and
    // the next open goes.
    s.clock.advance(chrono::Duration::minutes(11));
    let notices = s.desk.reconcile(s.clock.now()).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(
        s.store.pending_notices().await.unwrap(),
        1,
        "the owner's notice is queued"
    );
    let opened = s
        .desk
        .open(
            s.user,
            "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6",
            None,
            &btc(),
            &long("0.01"),
            &limits(),
            day,
        )
        .await
        .unwrap();
    assert!(!opened.existing);
    assert_eq!(s.fake.orders().len(), 1);
}

/// An account whose order lease another instance holds: a Confirm waits `lease_wait`,
/// then says the account is busy and sends nothing; once that holder's lease has lapsed
/// (it died: nobody renews it), the next Confirm takes it over.
#[tokio::test]
async fn a_lease_held_elsewhere_makes_the_account_busy_until_it_lapses() {
    let s = setup().await;
    let day = Utc::now() - chrono::Duration::hours(1);
    let desk = Desk::new(
        s.store.clone(),
        settings(&s.fake.url(), Venue::Live),
        settings(&s.fake.url(), Venue::Testnet),
        settings(&s.fake.url(), Venue::Live),
        Some(s.vault.clone()),
        DeskSettings {
            clock: s.clock.clone(),
            lease_wait: Duration::from_millis(200),
            ..DeskSettings::default()
        },
    )
    .unwrap();
    let now = s.clock.now();
    assert!(
        s.store
            .claim_order_lease(
                s.user,
                "dead-instance:1",
                now,
                now + chrono::Duration::seconds(60)
            )
            .await
            .unwrap()
    );
    let token = "a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7a7";
    let e = desk
        .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap_err();
    assert!(matches!(e, DeskError::AccountBusy), "{e:?}");
    assert_eq!(s.fake.requests_with("POST", "/api/v3/order"), 0);
    assert!(
        s.store
            .order_by_client_id(&format!("o{token}"))
            .await
            .unwrap()
            .is_none()
    );
    let e = desk.reset_paper(s.user).await.unwrap_err();
    assert!(
        matches!(e, DeskError::AccountBusy),
        "a reset waits for it too: {e:?}"
    );
    s.clock.advance(chrono::Duration::seconds(61));
    let opened = desk
        .open(s.user, token, None, &btc(), &long("0.01"), &limits(), day)
        .await
        .unwrap();
    assert!(!opened.existing);
    assert_eq!(s.fake.orders().len(), 1);
    let now = s.clock.now();
    assert!(
        s.store
            .claim_order_lease(s.user, "someone-else", now, now + chrono::Duration::seconds(60))
            .await
            .unwrap(),
        "free again after the open"
    );
}

/// Open 1 BTC long on the testnet at the ask (60010), commission 0.1 % in USDT: the
/// opening fee is 60.01 USDT. The account holds 200000 USDT before.
async fn one_btc_long(s: &Setup, token: &str) -> chainsignal_core::store::PositionRecord {
    s.fake.set_commission(CommissionAsset::Quote, 10);
    s.fake.set_balance(KEY, "USDT", "200000");
    let day = Utc::now() - chrono::Duration::hours(1);
    let opened = s
        .desk
        .open(s.user, token, None, &btc(), &long("1"), &limits(), day)
        .await
        .unwrap();
    assert_eq!(
        (
            opened.position.qty.as_str(),
            opened.position.entry_price.as_str(),
            opened.position.open_fee.as_str()
        ),
        ("1", "60010", "60.01")
    );
    opened.position
}

/// A close the book fills only in part (Binance: EXPIRED, executedQty < origQty) keeps
/// the sellable rest open in the same position, its SL/TP watched; the sold part is a
/// closed row of its own. Closed later, the two rows realize exactly the whole round
/// trip, and their opening fees sum exactly to the position's.
#[tokio::test]
async fn a_close_the_book_fills_in_part_keeps_the_rest_open() {
    let s = setup().await;
    let p = one_btc_long(&s, "1111111111111111aaaaaaaaaaaaaaaa").await;
    let usdt_before_open = d("200000");
    s.fake.set_price("BTCUSDT", "61000", "61010");
    s.fake.set_liquidity("BTCUSDT", Some(d("0.6")));
    let posts = s.fake.requests_with("POST", "/api/v3/order");
    let closed = s.desk.close(s.user, p.id, "manual").await.unwrap();
    assert_eq!(
        s.fake.requests_with("POST", "/api/v3/order"),
        posts + 1,
        "one closing order"
    );
    // What the exchange did: asked 1, sold 0.6 at the bid, 0.1 % commission in USDT.
    let sale = s.fake.orders()[1].clone();
    assert_eq!(
        (
            sale.client_order_id.as_str(),
            sale.status.as_str(),
            sale.orig_qty,
            sale.executed_qty
        ),
        (
            format!("c{}-0", &p.open_token[..24]).as_str(),
            "EXPIRED",
            d("1"),
            d("0.6")
        )
    );
    let [f] = sale.fills.as_slice() else {
        panic!("one fill: {:?}", sale.fills)
    };
    assert_eq!(
        (f.price, f.commission, f.commission_asset.as_str()),
        (d("61000"), d("36.6"), "USDT")
    );
    // By hand: the sold part carries 0.6 of the opening fee.
    let sold_open_fee = d("60.01") * d("0.6"); // 36.006
    let rest_open_fee = d("60.01") - sold_open_fee; // 24.004
    let first_pnl = (f.price - d("60010")) * d("0.6") - sold_open_fee - f.commission;
    assert_eq!(first_pnl, d("521.394"));

    assert_eq!(closed.remaining, Some(d("0.4")));
    assert_eq!(closed.dust, d("0"));
    assert_eq!(closed.position_id(), p.id);
    assert_eq!(closed.trade.realized_pnl, first_pnl);
    let sold = &closed.position;
    assert_ne!(sold.id, p.id);
    assert_eq!(
        (
            sold.status.as_str(),
            sold.split_from,
            sold.qty.as_str(),
            sold.open_fee.as_str(),
            sold.close_reason.as_deref(),
            sold.exit_price.as_deref()
        ),
        (
            "closed",
            Some(p.id),
            "0.6",
            "36.006",
            Some("manual"),
            Some("61000")
        )
    );
    assert_eq!(sold.realized_pnl.as_deref(), Some("521.394"));
    assert_eq!(
        (
            sold.symbol.as_str(),
            sold.side.as_str(),
            sold.entry_price.as_str(),
            sold.leverage,
            sold.sl.as_deref(),
            sold.tp.as_deref(),
            sold.key_id,
            sold.venue.as_str(),
            sold.opened_at
        ),
        (
            "BTCUSDT",
            "long",
            "60010",
            1,
            Some("59500"),
            Some("61000"),
            p.key_id,
            "testnet",
            p.opened_at
        )
    );
    // A fresh random token, not derived from the position's.
    assert_eq!(sold.open_token.len(), 32);
    assert!(sold.open_token.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(sold.open_token[..24], p.open_token[..24]);
    let rest = s.store.position(p.id).await.unwrap().unwrap();
    assert_eq!(
        (
            rest.status.as_str(),
            rest.qty.as_str(),
            rest.open_fee.as_str(),
            rest.claimed_by.as_deref()
        ),
        ("open", "0.4", "24.004", None)
    );
    assert_eq!(d(&rest.open_fee), rest_open_fee);
    // /positions shows the rest, /positions history the sold part.
    let book = s.desk.book(s.user, Mode::Testnet).await.unwrap();
    assert_eq!(
        book.positions
            .iter()
            .map(|v| (v.row.id, v.position.qty))
            .collect::<Vec<_>>(),
        vec![(p.id, d("0.4"))]
    );
    let history = s.desk.history(s.user, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|r| (r.id, r.split_from)).collect::<Vec<_>>(),
        vec![(sold.id, Some(p.id))]
    );
    // The ledger: equity is the USDT balance plus the rest at its mark (the bid), and
    // the day started (before the open) at the USDT balance then; nothing counted twice.
    let day = Utc::now() - chrono::Duration::hours(1);
    let state = s.desk.state_of(s.user, day, &book).await.unwrap();
    let usdt = usdt_before_open - d("60010") - d("60.01") + d("0.6") * d("61000") - d("36.6");
    assert_eq!(s.fake.balance(KEY, "USDT"), usdt);
    assert_eq!(state.equity, usdt + d("0.4") * d("61000"));
    assert_eq!(state.realized_pnl_today, first_pnl);
    assert_eq!(state.day_start_equity, usdt_before_open);
    // Realized + unrealized (net of the rest's opening fee) is the equity change.
    let unrealized_net = (d("61000") - d("60010")) * d("0.4") - rest_open_fee;
    assert_eq!(state.equity - usdt_before_open, first_pnl + unrealized_net);

    // The book is deep again: the rest closes under the next attempt's client id.
    s.fake.set_liquidity("BTCUSDT", None);
    s.fake.set_price("BTCUSDT", "61500", "61510");
    let closed = s.desk.close(s.user, p.id, "manual").await.unwrap();
    let sale = s.fake.orders()[2].clone();
    assert_eq!(
        (sale.client_order_id, sale.status.as_str(), sale.executed_qty),
        (format!("c{}-1", &p.open_token[..24]), "FILLED", d("0.4"))
    );
    let [f] = sale.fills.as_slice() else {
        panic!("one fill: {:?}", sale.fills)
    };
    assert_eq!((f.price, f.commission), (d("61500"), d("24.6")));
    let second_pnl = (f.price - d("60010")) * d("0.4") - rest_open_fee - f.commission;
    assert_eq!(second_pnl, d("547.396"));
    assert_eq!(closed.remaining, None);
    assert_eq!(closed.dust, d("0"));
    assert_eq!(
        (
            closed.position.id,
            closed.position.status.as_str(),
            closed.position.split_from
        ),
        (p.id, "closed", None)
    );
    assert_eq!(closed.trade.realized_pnl, second_pnl);
    // The whole round trip by hand: paid 1 × 60010 + 60.01; received 0.6 × 61000 − 36.6
    // and 0.4 × 61500 − 24.6.
    let round_trip =
        d("0.6") * d("61000") - d("36.6") + d("0.4") * d("61500") - d("24.6") - d("60010") - d("60.01");
    assert_eq!(round_trip, d("1068.79"));
    let rows = s.desk.history(s.user, 10).await.unwrap();
    let realized: rust_decimal::Decimal = rows.iter().map(|r| d(r.realized_pnl.as_deref().unwrap())).sum();
    assert_eq!(realized, round_trip);
    let fees: rust_decimal::Decimal = rows.iter().map(|r| d(&r.open_fee)).sum();
    assert_eq!(fees, d("60.01"), "the opening fees sum exactly to the position's");
    assert_eq!(s.fake.balance(KEY, "USDT"), usdt_before_open + round_trip);
    assert!(s.store.open_positions(s.user, None).await.unwrap().is_empty());
    // Both closing orders are the position's, filled, numbered on.
    let orders = s.store.close_orders(p.id).await.unwrap();
    assert_eq!(
        orders
            .iter()
            .map(|o| (o.status.as_str(), o.executed_qty.as_deref()))
            .collect::<Vec<_>>(),
        vec![("filled", Some("0.6")), ("filled", Some("0.4"))]
    );
    assert_eq!(s.fake.requests_with("POST", "/api/v3/order"), posts + 2);
}

/// The monitor: the stop-loss is crossed on a thin book. The tick sells what the book
/// takes, the owner is told it was partial and what stays open; the next tick (the book
/// deep again) closes the rest.
#[tokio::test]
async fn the_monitor_closes_a_thin_book_in_parts() {
    use chainsignal_commands::trade_view::notice_reply;
    use chainsignal_commands::{I18n, Locale};
    use chainsignal_core::desk::Notice;
    let s = setup().await;
    let p = one_btc_long(&s, "2222222222222222bbbbbbbbbbbbbbbb").await;
    // Below the stop-loss (59500).
    s.fake.set_price("BTCUSDT", "59400", "59410");
    s.fake.set_liquidity("BTCUSDT", Some(d("0.6")));
    let now = s.clock.now();
    let report = s.desk.tick(now).await.unwrap();
    assert_eq!((report.triggered, report.closed, report.failed), (1, 1, 0));
    let [n] = report.notices.as_slice() else {
        panic!("one notice: {:?}", report.notices)
    };
    let NoticeKind::Closed(c) = &n.kind else {
        panic!("closed: {n:?}")
    };
    let first_pnl = (d("59400") - d("60010")) * d("0.6") - d("36.006") - d("35.64");
    assert_eq!(first_pnl, d("-437.646"));
    assert_eq!(
        (
            c.remaining,
            c.position_id(),
            c.position.close_reason.as_deref(),
            c.trade.realized_pnl
        ),
        (Some(d("0.4")), p.id, Some("sl"), first_pnl)
    );
    let i18n = I18n::new();
    let en = notice_reply(&i18n, Locale::En, n).to_plain_text();
    assert!(
        en.contains(&format!(
            "#{} long BTCUSDT on Binance testnet was partly closed",
            p.id
        )),
        "{en}"
    );
    assert!(
        en.contains(&format!(
            "Sold 0.6 of 1 BTC (the book was thin); #{} stays open with 0.4 BTC, its SL/TP still watched.",
            p.id
        )),
        "{en}"
    );
    assert!(en.contains("-437.65"), "the sold part's PnL: {en}");
    let pl = notice_reply(&i18n, Locale::Pl, n).to_plain_text();
    assert!(
        pl.contains(&format!(
            "Sprzedano 0,6 z 1 BTC (za mała płynność w arkuszu zleceń); #{} pozostaje otwarta z 0,4 BTC",
            p.id
        )),
        "{pl}"
    );
    // The queued notice (JSON in owner_notices) says the same.
    let queued = s
        .store
        .claim_notices("t", now, now + chrono::Duration::minutes(1), 10)
        .await
        .unwrap();
    let [q] = queued.as_slice() else {
        panic!("one queued: {queued:?}")
    };
    let q = Notice::from_queued(&q.payload).unwrap();
    assert!(
        matches!(&q.kind, NoticeKind::Closed(c) if c.remaining == Some(d("0.4")) && c.position_id() == p.id)
    );
    let rest = s.store.position(p.id).await.unwrap().unwrap();
    assert_eq!(
        (rest.status.as_str(), rest.qty.as_str(), rest.open_fee.as_str()),
        ("open", "0.4", "24.004")
    );
    assert_eq!(s.fake.orders().len(), 2);

    // The rest waits 30 s (a thin book is not sold in a slice every tick)...
    s.fake.set_liquidity("BTCUSDT", None);
    s.clock.advance(chrono::Duration::seconds(10));
    let report = s.desk.tick(s.clock.now()).await.unwrap();
    assert!(report.notices.is_empty(), "{:?}", report.notices);
    assert_eq!(s.fake.orders().len(), 2);
    // ... then, the book deep again, it is sold under the next attempt.
    s.clock.advance(chrono::Duration::seconds(21));
    let report = s.desk.tick(s.clock.now()).await.unwrap();
    let [n] = report.notices.as_slice() else {
        panic!("one notice: {:?}", report.notices)
    };
    let NoticeKind::Closed(c) = &n.kind else {
        panic!("closed: {n:?}")
    };
    let second_pnl = (d("59400") - d("60010")) * d("0.4") - d("24.004") - d("23.76");
    assert_eq!(
        (
            c.remaining,
            c.position.id,
            c.position.status.as_str(),
            c.trade.realized_pnl
        ),
        (None, p.id, "closed", second_pnl)
    );
    let en = notice_reply(&i18n, Locale::En, n).to_plain_text();
    assert!(!en.contains("partly"), "{en}");
    let orders = s.fake.orders();
    assert_eq!(orders.len(), 3);
    assert_eq!(
        (orders[2].client_order_id.clone(), orders[2].executed_qty),
        (format!("c{}-1", &p.open_token[..24]), d("0.4"))
    );
    // Whole round trip: paid 60010 + 60.01, received 1 × 59400 − 0.1 % of it.
    let round_trip = d("59400") - d("59.4") - d("60070.01");
    assert_eq!(first_pnl + second_pnl, round_trip);
    assert!(s.store.open_positions(s.user, None).await.unwrap().is_empty());
    assert!(s.desk.tick(s.clock.now()).await.unwrap().notices.is_empty());
}

/// A thin book that fills nothing is a failed attempt (the position stays whole); one
/// that leaves a rest the exchange would not take (below MIN_NOTIONAL at the price)
/// closes the position whole, the rest shown as left over, as before.
#[tokio::test]
async fn a_rest_too_small_to_sell_is_closed_with_the_dust() {
    let s = setup().await;
    s.fake.set_commission(CommissionAsset::Quote, 10);
    s.fake.add_market(
        MarketSpec::new("ETHUSDT", "ETH", "USDT")
            .price("3000", "3001")
            .lot("0.01", "0.01", "9000")
            .min_notional("100"),
    );
    let eth = Symbol::from_normalized("ETHUSDT");
    let day = Utc::now() - chrono::Duration::hours(1);
    let order = OrderRequest {
        sl: Some(d("2900")),
        tp: Some(d("3100")),
        ..long("0.5")
    };
    let p = s
        .desk
        .open(
            s.user,
            "3333333333333333cccccccccccccccc",
            None,
            &eth,
            &order,
            &limits(),
            day,
        )
        .await
        .unwrap()
        .position;
    assert_eq!((p.qty.as_str(), p.open_fee.as_str()), ("0.5", "1.5005"));
    // Nothing fills: EXPIRED with executedQty 0, the attempt failed, nothing changed.
    s.fake.set_liquidity("ETHUSDT", Some(d("0")));
    let e = s.desk.close(s.user, p.id, "manual").await.unwrap_err();
    assert!(
        matches!(&e, DeskError::NotFilled(status) if status == "EXPIRED"),
        "{e:?}"
    );
    let row = s.store.position(p.id).await.unwrap().unwrap();
    assert_eq!(
        (row.status.as_str(), row.qty.as_str(), row.claimed_by.as_deref()),
        ("open", "0.5", None)
    );
    assert_eq!(s.fake.balance(KEY, "ETH"), d("0.5"));
    assert_eq!(s.fake.orders()[1].status, "EXPIRED");
    // 0.47 fills; the rest 0.03 × 3000 = 90 USDT is below MIN_NOTIONAL (100).
    s.fake.set_liquidity("ETHUSDT", Some(d("0.47")));
    let closed = s.desk.close(s.user, p.id, "manual").await.unwrap();
    assert_eq!(
        (
            closed.remaining,
            closed.dust,
            closed.position.id,
            closed.position.status.as_str()
        ),
        (None, d("0.03"), p.id, "closed")
    );
    assert_eq!(closed.position.dust.as_deref(), Some("0.03"));
    // The whole opening fee is this close's.
    let expected = (d("3000") - d("3001")) * d("0.47") - d("1.5005") - d("0.47") * d("3000") * d("0.001");
    assert_eq!(closed.trade.realized_pnl, expected);
    assert_eq!(
        s.fake.orders()[2].client_order_id,
        format!("c{}-1", &p.open_token[..24])
    );
    assert_eq!(s.fake.balance(KEY, "ETH"), d("0.03"), "left in the balance");
    assert!(s.store.open_positions(s.user, None).await.unwrap().is_empty());
    let history = s.desk.history(s.user, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|r| (r.id, r.split_from)).collect::<Vec<_>>(),
        vec![(p.id, None)]
    );
}

/// The partial close of a thin book whose answer is lost: found by its client id (the
/// lookup reads EXPIRED, 0.6 of 1, and the fills from the trade list), it is recorded as
/// the same partial close, the quantity asked taken from the stored order row, and the
/// order is never sent twice.
#[tokio::test]
async fn a_partial_close_whose_answer_is_lost_is_found_and_split() {
    let s = setup().await;
    let p = one_btc_long(&s, "4444444444444444dddddddddddddddd").await;
    s.fake.set_price("BTCUSDT", "61000", "61010");
    s.fake.set_liquidity("BTCUSDT", Some(d("0.6")));
    s.fake.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    let posts = s.fake.requests_with("POST", "/api/v3/order");
    let closed = s.desk.close(s.user, p.id, "manual").await.unwrap();
    assert_eq!(
        s.fake.requests_with("POST", "/api/v3/order"),
        posts + 1,
        "sent once"
    );
    assert!(
        s.fake.requests_with("GET", "/api/v3/order") >= 1,
        "looked up by its client id"
    );
    assert_eq!(closed.remaining, Some(d("0.4")));
    assert_eq!(closed.position.qty, "0.6");
    assert_eq!(closed.position.split_from, Some(p.id));
    let expected = (d("61000") - d("60010")) * d("0.6") - d("60.01") * d("0.6") - d("36.6");
    assert_eq!(closed.trade.realized_pnl, expected);
    let rest = s.store.position(p.id).await.unwrap().unwrap();
    assert_eq!((rest.status.as_str(), rest.qty.as_str()), ("open", "0.4"));
}
