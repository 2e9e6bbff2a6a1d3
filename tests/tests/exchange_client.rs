//! The signed Binance spot client against the fake exchange, which checks keys,
//! signatures and timestamps as Binance does: signing, clock-skew recovery, error
//! mapping, key validation per venue, lot-size rounding, idempotent orders and their
//! recovery after a lost answer, hostile answers, and secrets kept out of every log line.

use chainsignal_core::Symbol;
use chainsignal_core::exchange::{
    ApiKey, ExchangeError, KeyProblem, MarketOrder, OrderAmount, Side, SizeError, SpotClient, SpotSettings,
    SymbolFilters, Venue, sign,
};
use chainsignal_tests::fake_binance::{CommissionAsset, FakeBinance, MarketSpec, OrderFault, d};
use secrecy::SecretString;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Binance's documented example key and secret (no real account).
const KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn api_key(key: &str, secret: &str) -> ApiKey {
    ApiKey::new(
        SecretString::from(key.to_string()),
        SecretString::from(secret.to_string()),
    )
}

fn good_key() -> ApiKey {
    api_key(KEY, SECRET)
}

fn client_with(fake: &FakeBinance, venue: Venue, tweak: impl FnOnce(&mut SpotSettings)) -> SpotClient {
    let mut s = SpotSettings::new(venue, fake.url());
    s.request_timeout = Duration::from_secs(5);
    s.backoff = Duration::from_millis(10);
    tweak(&mut s);
    SpotClient::new(s).unwrap()
}

fn client(fake: &FakeBinance, venue: Venue) -> SpotClient {
    client_with(fake, venue, |_| {})
}

fn sym(s: &str) -> Symbol {
    Symbol::from_normalized(s)
}

/// A fake with the documented key (10,000 USDT, 1 BTC, 10 BNB) and BTCUSDT at
/// 60,000 / 60,010 (step and minQty 0.00001, min notional 5).
async fn exchange(testnet: bool) -> FakeBinance {
    let fake = if testnet {
        FakeBinance::start_testnet().await
    } else {
        FakeBinance::start().await
    };
    fake.add_key(KEY, SECRET);
    fake.set_balance(KEY, "USDT", "10000");
    fake.set_balance(KEY, "BTC", "1");
    fake.set_balance(KEY, "BNB", "10");
    fake.add_market(
        MarketSpec::new("BTCUSDT", "BTC", "USDT")
            .price("60000", "60010")
            .lot("0.00001", "0.00001", "9000")
            .min_notional("5"),
    );
    fake
}

fn buy(qty: &str, id: &str) -> MarketOrder {
    MarketOrder {
        symbol: sym("BTCUSDT"),
        side: Side::Buy,
        amount: OrderAmount::Base(d(qty)),
        client_order_id: id.into(),
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[tokio::test]
async fn signature_is_accepted_and_a_tampered_one_rejected() {
    let fake = exchange(true).await;
    let account = client(&fake, Venue::Testnet).account(&good_key()).await.unwrap();
    assert_eq!(account.free("USDT"), d("10000"));
    assert_eq!(account.free("BTC"), d("1"));

    // By hand: the fake really checks the HMAC of the exact query string.
    let http = reqwest::Client::new();
    let secret = SecretString::from(SECRET.to_string());
    let query = format!("omitZeroBalances=true&recvWindow=5000&timestamp={}", now_ms());
    let signature = sign(&secret, &query);
    let get = |q: String| {
        http.get(format!("{}/api/v3/account?{q}", fake.url()))
            .header("X-MBX-APIKEY", KEY)
            .send()
    };
    let ok = get(format!("{query}&signature={signature}")).await.unwrap();
    assert_eq!(ok.status(), 200);
    let tampered_query = query.replace("omitZeroBalances=true", "omitZeroBalances=fals");
    let r = get(format!("{tampered_query}&signature={signature}"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], -1022, "{body}");
    let mut flipped = signature.clone().into_bytes();
    flipped[10] = if flipped[10] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let r = get(format!("{query}&signature={flipped}")).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], -1022, "{body}");

    // Through the client: a wrong secret is a bad signature.
    let err = client(&fake, Venue::Testnet)
        .account(&api_key(KEY, "not-the-secret"))
        .await
        .unwrap_err();
    assert_eq!(err, ExchangeError::BadSignature);

    // A signed POST body is checked the same way: one order placed, one refused.
    let c = client(&fake, Venue::Testnet);
    c.market_order(&good_key(), &buy("0.001", "sig-ok"))
        .await
        .unwrap();
    let err = c
        .market_order(&api_key(KEY, "wrong"), &buy("0.001", "sig-bad"))
        .await
        .unwrap_err();
    assert_eq!(err, ExchangeError::BadSignature);
    assert_eq!(fake.orders().len(), 1);
}

#[tokio::test]
async fn clock_skew_is_recovered_via_server_time_and_kept() {
    for skew_ms in [5 * 60_000, -5 * 60_000] {
        let fake = exchange(true).await;
        fake.set_clock_skew_ms(skew_ms);
        let c = client(&fake, Venue::Testnet);
        c.account(&good_key()).await.unwrap();
        assert_eq!(fake.requests_to("/api/v3/time"), 1);
        assert_eq!(
            fake.requests_to("/api/v3/account"),
            2,
            "refused once, then accepted"
        );
        let offset = c.clock_offset().unwrap();
        assert!(
            offset > Duration::from_secs(290) && offset < Duration::from_secs(310),
            "{offset:?}"
        );
        // Kept: the next calls (an order included) are on time at once.
        c.account(&good_key()).await.unwrap();
        c.market_order(&good_key(), &buy("0.001", &format!("skew{skew_ms}")))
            .await
            .unwrap();
        assert_eq!(fake.requests_to("/api/v3/time"), 1);
        assert_eq!(fake.requests_to("/api/v3/account"), 3);
        assert_eq!(fake.requests_to("/api/v3/order"), 1);
    }

    // Refused again after the offset was learned: a clock-skew error, after one retry.
    let fake = exchange(true).await;
    let refuse = r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#;
    fake.push_canned("/api/v3/account", 400, &[], refuse);
    fake.push_canned("/api/v3/account", 400, &[], refuse);
    let err = client(&fake, Venue::Testnet)
        .account(&good_key())
        .await
        .unwrap_err();
    assert_eq!(err, ExchangeError::ClockSkew);
    assert_eq!(fake.requests_to("/api/v3/account"), 2);
    assert_eq!(fake.requests_to("/api/v3/time"), 1);
}

#[tokio::test]
async fn exchange_errors_are_mapped() {
    let fake = exchange(true).await;
    let c = client(&fake, Venue::Testnet);
    let k = good_key();
    // -2010: more than the balance.
    assert_eq!(
        c.market_order(&k, &buy("1", "too-much")).await.unwrap_err(),
        ExchangeError::InsufficientBalance
    );
    // -1013: off the step, and below the minimum notional.
    assert_eq!(
        c.market_order(&k, &buy("0.000015", "off-step"))
            .await
            .unwrap_err(),
        ExchangeError::FilterFailure {
            filter: "LOT_SIZE".into()
        }
    );
    assert_eq!(
        c.market_order(&k, &buy("0.00005", "tiny")).await.unwrap_err(),
        ExchangeError::FilterFailure {
            filter: "NOTIONAL".into()
        }
    );
    // -1121.
    let mut unknown = buy("0.001", "unknown");
    unknown.symbol = sym("NOPEUSDT");
    assert_eq!(
        c.market_order(&k, &unknown).await.unwrap_err(),
        ExchangeError::UnknownSymbol
    );
    assert_eq!(
        c.book_ticker(&sym("NOPEUSDT")).await.unwrap_err(),
        ExchangeError::UnknownSymbol
    );
    assert_eq!(
        c.exchange_info(&sym("NOPEUSDT")).await.unwrap_err(),
        ExchangeError::UnknownSymbol
    );
    // -2013.
    assert_eq!(
        c.query_order(&k, &sym("BTCUSDT"), "never-placed")
            .await
            .unwrap_err(),
        ExchangeError::OrderNotFound
    );
    // -2015 / -2014 / -2015 naming the IP.
    assert_eq!(
        c.account(&api_key("UnknownKey123", SECRET)).await.unwrap_err(),
        ExchangeError::InvalidKey
    );
    assert_eq!(
        c.account(&api_key("bad-key!", SECRET)).await.unwrap_err(),
        ExchangeError::InvalidKey
    );
    fake.add_key("IpRestrictedKey", "s3cr3t");
    fake.set_key_restrictions("IpRestrictedKey", false, true, false);
    assert_eq!(
        c.account(&api_key("IpRestrictedKey", "s3cr3t"))
            .await
            .unwrap_err(),
        ExchangeError::IpNotAllowed
    );
    assert!(fake.orders().is_empty(), "{:?}", fake.orders());
    // A key that cannot be a header value never leaves the client.
    assert_eq!(
        c.account(&api_key("line\nbreak", SECRET)).await.unwrap_err(),
        ExchangeError::InvalidKey
    );
    // Invalid requests are refused before sending.
    let before = fake.requests_to("/api/v3/order");
    assert!(matches!(
        c.market_order(&k, &buy("0.001", "has space")).await.unwrap_err(),
        ExchangeError::InvalidRequest(_)
    ));
    assert!(matches!(
        c.market_order(&k, &buy("0", "zero")).await.unwrap_err(),
        ExchangeError::InvalidRequest(_)
    ));
    assert_eq!(fake.requests_to("/api/v3/order"), before);

    // 5xx: reads are retried, then Unavailable; an order is never retried blindly.
    for _ in 0..3 {
        fake.push_canned("/api/v3/account", 502, &[], "bad gateway");
    }
    assert!(matches!(
        c.account(&k).await.unwrap_err(),
        ExchangeError::Unavailable(_)
    ));
    fake.push_canned("/api/v3/order", 500, &[], "");
    assert!(matches!(
        c.market_order(&k, &buy("0.001", "five-hundred"))
            .await
            .unwrap_err(),
        ExchangeError::Unavailable(_)
    ));
    assert_eq!(fake.requests_to("/api/v3/order"), before + 1);

    // 429: Retry-After honoured, and nothing is sent until it has passed.
    let rl = client(&fake, Venue::Testnet);
    fake.push_canned(
        "/api/v3/order",
        429,
        &[("retry-after", "30")],
        r#"{"code":-1003,"msg":"Too many requests."}"#,
    );
    assert_eq!(
        rl.market_order(&k, &buy("0.001", "rate-1")).await.unwrap_err(),
        ExchangeError::RateLimited {
            retry_after: Duration::from_secs(30)
        }
    );
    let sent = fake.requests_to("/api/v3/order");
    let ExchangeError::RateLimited { retry_after } = rl.account(&k).await.unwrap_err() else {
        panic!("the client must hold back after a 429");
    };
    assert!(retry_after <= Duration::from_secs(30));
    assert_eq!(fake.requests_to("/api/v3/order"), sent);

    // 418: a ban far too long is capped at 10 minutes; garbage (inf included) means the default.
    for (header, expected) in [
        ("86400000", 600),
        ("1e30", 600),
        ("1e400", 120),
        ("NaN", 120),
        ("-5", 120),
    ] {
        let banned = client(&fake, Venue::Testnet);
        fake.push_canned(
            "/api/v3/account",
            418,
            &[("retry-after", header)],
            r#"{"code":-1003,"msg":"Way too many requests; IP banned."}"#,
        );
        assert_eq!(
            banned.account(&k).await.unwrap_err(),
            ExchangeError::RateLimited {
                retry_after: Duration::from_secs(expected)
            },
            "Retry-After: {header}"
        );
    }
}

#[tokio::test]
async fn validate_key_on_testnet_skips_api_restrictions() {
    let fake = exchange(true).await;
    // Withdrawals on and no IP list: the testnet cannot tell, so it is not asked.
    fake.set_key_restrictions(KEY, true, false, true);
    let c = client(&fake, Venue::Testnet);
    let account = c.validate_key(&good_key()).await.unwrap();
    assert_eq!(account.free("USDT"), d("10000"));
    assert_eq!(fake.requests_to("/sapi/v1/account/apiRestrictions"), 0);
    assert_eq!(
        c.api_restrictions(&good_key()).await.unwrap_err(),
        ExchangeError::NotFound
    );
    assert_eq!(fake.requests_to("/sapi/v1/account/apiRestrictions"), 0);
    // The testnet fake really has no /sapi.
    let r = reqwest::get(format!("{}/sapi/v1/account/apiRestrictions", fake.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    assert_eq!(
        c.validate_key(&api_key(KEY, "wrong secret")).await.unwrap_err(),
        KeyProblem::BadSignature
    );
    assert_eq!(
        c.validate_key(&api_key("NoSuchKey", SECRET)).await.unwrap_err(),
        KeyProblem::InvalidKey
    );
    fake.set_clock_skew_ms(-5 * 60_000);
    c.validate_key(&good_key()).await.unwrap();
}

#[tokio::test]
async fn validate_key_on_live_refuses_withdrawals_and_unrestricted_keys() {
    let fake = exchange(false).await;
    let c = client(&fake, Venue::Live);
    c.validate_key(&good_key()).await.unwrap();
    assert_eq!(fake.requests_to("/sapi/v1/account/apiRestrictions"), 1);

    fake.set_key_restrictions(KEY, true, true, true);
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::WithdrawalsEnabled
    );
    fake.set_key_restrictions(KEY, false, false, true);
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::NoIpRestriction
    );
    fake.set_key_restrictions(KEY, false, true, false);
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::IpNotAllowed
    );
    fake.set_key_restrictions(KEY, false, true, true);

    let refuse = r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#;
    fake.push_canned("/api/v3/account", 400, &[], refuse);
    fake.push_canned("/api/v3/account", 400, &[], refuse);
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::ClockSkew
    );
    for _ in 0..3 {
        fake.push_canned("/api/v3/account", 503, &[], "");
    }
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::ExchangeDown
    );
    fake.push_canned(
        "/sapi/v1/account/apiRestrictions",
        200,
        &[],
        r#"{"ipRestrict":"yes"}"#,
    );
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::ExchangeDown
    );
    fake.push_canned("/api/v3/account", 429, &[("retry-after", "2")], "");
    assert_eq!(
        c.validate_key(&good_key()).await.unwrap_err(),
        KeyProblem::RateLimited {
            retry_after: Duration::from_secs(2)
        }
    );
}

fn filters(step: &str, min_qty: &str, max_qty: &str, min_notional: Option<&str>) -> SymbolFilters {
    SymbolFilters {
        symbol: "BTCUSDT".into(),
        status: "TRADING".into(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        step_size: d(step),
        min_qty: d(min_qty),
        max_qty: d(max_qty),
        min_notional: min_notional.map(d),
        tick_size: d("0.01"),
        min_price: d("0.01"),
        max_price: d("1000000"),
    }
}

#[tokio::test]
async fn lot_size_rounding_rounds_down_and_explains_too_small_orders() {
    let fake = exchange(true).await;
    let c = client(&fake, Venue::Testnet);
    let f = c.exchange_info(&sym("BTCUSDT")).await.unwrap();
    assert_eq!(
        (f.step_size, f.min_qty, f.min_notional),
        (d("0.00001"), d("0.00001"), Some(d("5")))
    );
    assert_eq!(f.base_asset, "BTC");
    assert!(f.is_trading());
    // Cached.
    c.exchange_info(&sym("BTCUSDT")).await.unwrap();
    assert_eq!(fake.exchange_info_requests(), 1);

    let price = d("60010");
    assert_eq!(f.market_quantity(d("0.0012345678"), price).unwrap(), d("0.00123"));
    assert_eq!(f.market_quantity(d("0.00123"), price).unwrap(), d("0.00123"));
    assert_eq!(f.market_quantity(d("0.0012399999"), price).unwrap(), d("0.00123"));
    assert_eq!(
        f.market_quantity_for_quote(d("250"), price).unwrap(),
        d("0.00416"),
        "250 USDT at 60,010 is 0.004166…, rounded down"
    );
    // Below minQty.
    assert_eq!(
        f.market_quantity(d("0.000009"), price).unwrap_err(),
        SizeError::BelowMinQty {
            qty: d("0.000009"),
            min_qty: d("0.00001"),
            step: d("0.00001")
        }
    );
    // Below the minimum notional after rounding: 0.000089 -> 0.00008 = 4.80 USDT.
    let err = f.market_quantity(d("0.000089"), price).unwrap_err();
    assert_eq!(
        err,
        SizeError::BelowMinNotional {
            qty: d("0.00008"),
            price: d("60010"),
            notional: d("4.8008"),
            min_notional: d("5")
        }
    );
    assert_eq!(
        err.to_string(),
        "0.00008 at 60010 is worth 4.8008, below the minimum order value 5"
    );
    assert_eq!(
        f.market_quantity(d("0"), price).unwrap_err(),
        SizeError::NotPositive
    );
    assert_eq!(
        f.market_quantity(d("-1"), price).unwrap_err(),
        SizeError::NotPositive
    );
    assert_eq!(
        f.market_quantity(d("1"), d("0")).unwrap_err(),
        SizeError::NotPositive
    );
    assert!(matches!(
        f.market_quantity(d("9000.5"), price).unwrap_err(),
        SizeError::AboveMaxQty { .. }
    ));
    // Huge numbers overflow cleanly.
    let huge = rust_decimal::Decimal::MAX;
    assert_eq!(
        filters("0.00001", "0.00001", "0", None)
            .market_quantity(huge, huge)
            .unwrap_err(),
        SizeError::Overflow
    );
    assert!(f.market_quantity_for_quote(huge, d("0.0000001")).is_err());

    // minQty not a multiple of the step: quantities are minQty + k × step.
    let odd = filters("0.01", "0.015", "100", None);
    assert_eq!(odd.market_quantity(d("0.0449"), d("1")).unwrap(), d("0.035"));
    assert_eq!(odd.market_quantity(d("0.015"), d("1")).unwrap(), d("0.015"));
    // No step (0): nothing to round. No min notional: any value.
    let free = filters("0", "0", "0", None);
    assert_eq!(
        free.market_quantity(d("0.123456789"), d("1")).unwrap(),
        d("0.123456789")
    );
    // Whole-unit steps.
    let whole = filters("1", "1", "0", Some("10"));
    assert_eq!(whole.market_quantity(d("12.99"), d("1")).unwrap(), d("12"));
    assert!(matches!(
        whole.market_quantity(d("9.9"), d("1")).unwrap_err(),
        SizeError::BelowMinNotional { .. }
    ));

    // The fake agrees: the rounded quantity is accepted, the raw one refused.
    let k = good_key();
    let raw = d("0.0012345678");
    assert_eq!(
        c.market_order(&k, &buy(&raw.to_string(), "raw"))
            .await
            .unwrap_err(),
        ExchangeError::FilterFailure {
            filter: "LOT_SIZE".into()
        }
    );
    let rounded = f.market_quantity(raw, price).unwrap();
    let o = c
        .market_order(&k, &buy(&rounded.to_string(), "rounded"))
        .await
        .unwrap();
    assert_eq!(o.executed_qty, d("0.00123"));
}

#[tokio::test]
async fn market_orders_return_fills_with_commission_in_the_charged_asset() {
    let fake = exchange(true).await;
    fake.add_market(
        MarketSpec::new("ETHUSDT", "ETH", "USDT")
            .price("3000", "3001")
            .lot("0.0001", "0.0001", "1000")
            .asks(&[("3001", "0.1"), ("3002", "1")]),
    );
    let c = client(&fake, Venue::Testnet);
    let k = good_key();

    // Base commission (the default): two levels walked, the average is weighted.
    let mut order = buy("0.3", "eth-1");
    order.symbol = sym("ETHUSDT");
    let o = c.market_order(&k, &order).await.unwrap();
    assert!(o.is_filled());
    assert_eq!(o.fills.len(), 2);
    assert_eq!((o.fills[0].price, o.fills[0].qty), (d("3001"), d("0.1")));
    assert_eq!((o.fills[1].price, o.fills[1].qty), (d("3002"), d("0.2")));
    assert_eq!(o.average_price().unwrap().round_dp(4), d("3001.6667"));
    assert_eq!(o.cumulative_quote_qty, d("900.5"));
    assert_eq!(o.fills[0].commission_asset, "ETH");
    assert_eq!(o.fills[0].commission, d("0.0001"));
    assert_eq!(
        fake.balance(KEY, "ETH"),
        d("0.2997"),
        "0.3 bought, 0.0003 ETH commission"
    );

    // Quote commission.
    fake.set_commission(CommissionAsset::Quote, 10);
    let o = c.market_order(&k, &buy("0.01", "btc-quote")).await.unwrap();
    assert_eq!(o.fills[0].commission_asset, "USDT");
    assert_eq!(o.fills[0].commission, d("0.6001"));
    // BNB commission at 500 USDT per BNB.
    fake.set_commission(CommissionAsset::Bnb, 10);
    let mut sell = buy("0.01", "btc-bnb");
    sell.side = Side::Sell;
    let o = c.market_order(&k, &sell).await.unwrap();
    assert_eq!((o.side, o.fills[0].price), (Side::Sell, d("60000")));
    assert_eq!(o.fills[0].commission_asset, "BNB");
    assert_eq!(o.fills[0].commission, d("0.0012"));
    assert_eq!(fake.balance(KEY, "BNB"), d("9.9988"));

    // Quote amount: the exchange works out the quantity.
    let mut by_quote = buy("0", "btc-by-quote");
    by_quote.amount = OrderAmount::Quote(d("100"));
    let o = c.market_order(&k, &by_quote).await.unwrap();
    assert_eq!(o.executed_qty, d("0.00166"));

    let t = c.book_ticker(&sym("ETHUSDT")).await.unwrap();
    assert_eq!((t.bid, t.ask), (d("3000"), d("3001")));
    // Several in one request, or all.
    let before = fake.requests_to("/api/v3/ticker/bookTicker");
    let both = c.book_tickers(&[sym("ETHUSDT"), sym("BTCUSDT")]).await.unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(both["BTCUSDT"].bid, d("60000"));
    assert_eq!(c.book_tickers(&[]).await.unwrap().len(), 2);
    assert_eq!(fake.requests_to("/api/v3/ticker/bookTicker"), before + 2);
    assert_eq!(
        c.book_tickers(&[sym("ETHUSDT"), sym("NOPEUSDT")])
            .await
            .unwrap_err(),
        ExchangeError::UnknownSymbol
    );
    let q = c.query_order(&k, &sym("ETHUSDT"), "eth-1").await.unwrap();
    assert_eq!((q.executed_qty, q.fills.len()), (d("0.3"), 0));
    let fills = c.order_fills(&k, &sym("ETHUSDT"), q.order_id).await.unwrap();
    assert_eq!(fills.len(), 2);
    assert_eq!(fake.orders().len(), 4);
}

#[tokio::test]
async fn place_or_recover_after_a_lost_answer_places_exactly_one_order() {
    let fake = exchange(true).await;
    let c = client_with(&fake, Venue::Testnet, |s| {
        s.request_timeout = Duration::from_millis(500)
    });
    let k = good_key();

    // The order is placed, its answer never comes in time: found by its client id.
    fake.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    let p = c.place_or_recover(&k, &buy("0.01", "confirm-abc")).await.unwrap();
    assert!(p.recovered);
    assert_eq!(p.order.client_order_id, "confirm-abc");
    assert_eq!(p.order.executed_qty, d("0.01"));
    assert_eq!(p.order.fills.len(), 1, "fills come from myTrades");
    assert_eq!(p.order.fills[0].commission, d("0.00001"));
    assert_eq!(p.order.average_price(), Some(d("60010")));
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(fake.requests_to("/api/v3/order"), 2, "one POST, one GET");

    // The request is lost before the exchange placed anything: the lookups find
    // nothing and the outcome is reported unknown; nothing is sent a second time (the
    // first request could still arrive, and Binance reuses filled orders' ids).
    fake.inject_order_fault(OrderFault::TimeoutBeforePlacing);
    assert_eq!(
        c.place_or_recover(&k, &buy("0.01", "confirm-def"))
            .await
            .unwrap_err(),
        ExchangeError::Timeout
    );
    assert_eq!(fake.orders().len(), 1);
    assert_eq!(
        fake.requests_to("/api/v3/order"),
        2 + 1 + 3,
        "before: one POST and one GET; now one POST and three lookups, never a second POST"
    );

    // A plain market_order reports the timeout, and the order exists all the same.
    fake.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    assert_eq!(
        c.market_order(&k, &buy("0.01", "plain")).await.unwrap_err(),
        ExchangeError::Timeout
    );
    assert_eq!(fake.orders().len(), 2);
}

#[tokio::test]
async fn a_duplicate_client_id_is_not_doubled() {
    let fake = exchange(true).await;
    let c = client(&fake, Venue::Testnet);
    let k = good_key();
    let first = c.place_or_recover(&k, &buy("0.01", "token-1")).await.unwrap();
    assert!(!first.recovered);
    // Confirm pressed again, a second instance, a retry: the same order comes back.
    let again = c.place_or_recover(&k, &buy("0.01", "token-1")).await.unwrap();
    assert!(again.recovered);
    assert_eq!(again.order.order_id, first.order.order_id);
    assert_eq!(
        c.market_order(&k, &buy("0.01", "token-1")).await.unwrap_err(),
        ExchangeError::DuplicateOrder
    );
    let token2 = buy("0.01", "token-2");
    let (a, b) = tokio::join!(c.place_or_recover(&k, &token2), c.place_or_recover(&k, &token2));
    assert_eq!(a.unwrap().order.order_id, b.unwrap().order.order_id);
    assert_eq!(fake.orders().len(), 2);
    assert_eq!(
        fake.balance(KEY, "BTC"),
        d("1.01998"),
        "two buys of 0.01 less 0.1 % commission"
    );
}

#[tokio::test]
async fn a_retry_looks_the_order_up_first_since_binance_reuses_filled_ids() {
    let fake = exchange(true).await;
    fake.set_duplicates_only_among_open_orders(true);
    let c = client(&fake, Venue::Testnet);
    let k = good_key();
    let first = c.resume_or_place(&k, &buy("0.01", "resume-1")).await.unwrap();
    assert!(!first.recovered);
    assert_eq!(first.order.fills.len(), 1);
    let again = c.resume_or_place(&k, &buy("0.01", "resume-1")).await.unwrap();
    assert!(again.recovered);
    assert_eq!(again.order.order_id, first.order.order_id);
    assert_eq!(again.order.fills, first.order.fills);
    assert_eq!(fake.orders().len(), 1);
    // Why: as on Binance, the filled order's id does not stop a blind second send.
    c.market_order(&k, &buy("0.01", "resume-1")).await.unwrap();
    assert_eq!(fake.orders().len(), 2);
}

#[tokio::test]
async fn hostile_numbers_and_garbage_never_panic() {
    let fake = exchange(true).await;
    let c = client(&fake, Venue::Testnet);
    let k = good_key();
    let garbage_numbers = [
        r#""1e400""#,
        r#""NaN""#,
        r#""-inf""#,
        r#""99999999999999999999999999999999999999""#,
        "1e308",
        r#""-1""#,
        "null",
        "[]",
        r#""""#,
        r#""0x10""#,
    ];
    for n in garbage_numbers {
        fake.push_canned(
            "/api/v3/account",
            200,
            &[],
            &format!(r#"{{"canTrade":true,"balances":[{{"asset":"USDT","free":{n},"locked":"0"}}]}}"#),
        );
        assert!(
            matches!(c.account(&k).await, Err(ExchangeError::InvalidData(_))),
            "free = {n}"
        );
        fake.push_canned(
            "/api/v3/ticker/bookTicker",
            200,
            &[],
            &format!(r#"{{"symbol":"BTCUSDT","bidPrice":{n},"bidQty":"1","askPrice":"1","askQty":"1"}}"#),
        );
        assert!(matches!(
            c.book_ticker(&sym("BTCUSDT")).await,
            Err(ExchangeError::InvalidData(_))
        ));
        fake.push_canned(
            "/api/v3/order",
            200,
            &[],
            &format!(
                r#"{{"symbol":"BTCUSDT","orderId":1,"clientOrderId":"g","side":"BUY","status":"FILLED",
                    "executedQty":"1","cummulativeQuoteQty":"1",
                    "fills":[{{"price":"1","qty":{n},"commission":"0","commissionAsset":"BTC"}}]}}"#
            ),
        );
        assert!(matches!(
            c.market_order(&k, &buy("0.01", "g")).await,
            Err(ExchangeError::InvalidData(_))
        ));
    }
    for body in [
        "",
        "not json",
        "{}",
        "[]",
        r#"{"symbols":"x"}"#,
        r#"{"symbols":[{"symbol":"BTCUSDT"}]}"#,
        r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[{"filterType":"LOT_SIZE","stepSize":"1e400"}]}]}"#,
        r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","filters":[{"filterType":"LOT_SIZE","stepSize":"-0.1"}]}]}"#,
        &"[".repeat(10_000),
    ] {
        let fresh = client(&fake, Venue::Testnet);
        fake.push_canned("/api/v3/exchangeInfo", 200, &[], body);
        assert!(fresh.exchange_info(&sym("BTCUSDT")).await.is_err(), "{body:.80}");
    }
    for body in [
        "{}",
        r#"[{"symbol":"BTCUSDT","bidPrice":"NaN","bidQty":"1","askPrice":"1","askQty":"1"}]"#,
        r#"[{"symbol":7}]"#,
    ] {
        fake.push_canned("/api/v3/ticker/bookTicker", 200, &[], body);
        assert!(
            matches!(c.book_tickers(&[]).await, Err(ExchangeError::InvalidData(_))),
            "{body}"
        );
    }
    // Order ids and times out of range, error bodies that are not Binance's.
    fake.push_canned(
        "/api/v3/order",
        200,
        &[],
        r#"{"symbol":"BTCUSDT","orderId":1e30,"clientOrderId":"g","side":"BUY","status":"FILLED","executedQty":"1","cummulativeQuoteQty":"1"}"#,
    );
    assert!(matches!(
        c.market_order(&k, &buy("0.01", "g2")).await,
        Err(ExchangeError::InvalidData(_))
    ));
    fake.push_canned("/api/v3/order", 400, &[], r#"{"code":1e400,"msg":[1,2]}"#);
    assert!(matches!(
        c.market_order(&k, &buy("0.01", "g3")).await,
        Err(ExchangeError::Rejected { status: 400, .. })
    ));
    fake.push_canned("/api/v3/time", 200, &[], r#"{"serverTime":"soon"}"#);
    fake.push_canned(
        "/api/v3/account",
        400,
        &[],
        r#"{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}"#,
    );
    assert!(matches!(c.account(&k).await, Err(ExchangeError::InvalidData(_))));
    // And after all that, the client works.
    c.account(&k).await.unwrap();
}

/// Every log line of this test binary, at TRACE (tracing and the `log` crate).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(logs.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .try_init()
            .expect("the only global subscriber of this test binary");
        logs
    })
    .clone()
}

#[tokio::test]
async fn secrets_and_signatures_never_reach_logs_or_errors() {
    let logs = captured_logs();
    let fake = exchange(false).await;
    fake.set_clock_skew_ms(5 * 60_000);
    let c = client_with(&fake, Venue::Live, |s| {
        s.request_timeout = Duration::from_millis(500)
    });
    let k = good_key();
    let mut shown = Vec::new();
    c.validate_key(&k).await.unwrap();
    shown.push(format!(
        "{:?}",
        c.validate_key(&api_key(KEY, "wrong-secret-value")).await
    ));
    shown.push(format!("{:?}", c.account(&api_key("UnknownKey", SECRET)).await));
    fake.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    shown.push(format!(
        "{:?}",
        c.place_or_recover(&k, &buy("0.01", "log-1")).await
    ));
    shown.push(format!("{:?}", c.market_order(&k, &buy("1000", "log-2")).await));
    shown.push(format!("{:?}", c.query_order(&k, &sym("BTCUSDT"), "nope").await));
    fake.push_canned("/api/v3/account", 429, &[("retry-after", "1")], "");
    shown.push(format!("{:?}", c.account(&k).await));
    shown.push(format!("{c:?} {k:?}"));
    for e in [ExchangeError::BadSignature, ExchangeError::Timeout] {
        shown.push(format!("{e} {e:?}"));
    }

    let signatures = fake.signatures();
    assert!(signatures.len() >= 8, "{signatures:?}");
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logs.contains("clock offset to the exchange learned") && logs.contains("order answer lost"),
        "the calls were logged at all: {logs}"
    );
    assert!(
        logs.contains("TRACE hyper_util"),
        "the HTTP stack's trace lines are captured too"
    );
    let shown = shown.join("\n");
    for (what, text) in [("logs", &logs), ("errors and Debug", &shown)] {
        for secret in [SECRET, KEY, "wrong-secret-value"] {
            assert!(!text.contains(secret), "{what} show a secret or key:\n{text}");
        }
        for s in &signatures {
            assert!(!text.contains(s.as_str()), "{what} show a signature:\n{text}");
        }
        assert!(!text.contains("signature="), "{what} show a signed URL:\n{text}");
    }
    assert!(shown.contains("vmPU…Eh8A"), "the key is shown masked: {shown}");
}

#[tokio::test]
async fn the_testnet_url_is_read_from_the_environment_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(chainsignal_tests::chainsignal_bin())
        .args(["report", "--format", "json"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHAINSIGNAL_MARKET__SOURCE", "demo")
        .env("CHAINSIGNAL_MARKET__BINANCE_TESTNET_URL", "ftp://testnet.example")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("h.sqlite").display()),
        )
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("market.binance_testnet_url") && stderr.contains("ftp://testnet.example"),
        "{stderr}"
    );
}
