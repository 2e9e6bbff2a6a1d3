//! The real Binance client against the fake exchange: data, unknown symbols, retries,
//! Retry-After, bans and timeouts.

use chainsignal_core::market::{BinanceClient, BinanceSettings, Interval, MarketData, MarketError};
use chainsignal_core::symbol::Symbol;
use chainsignal_tests::fake_binance::{Behaviour, FakeBinance};
use std::time::Duration;

fn client(fake: &FakeBinance, tweak: impl FnOnce(&mut BinanceSettings)) -> BinanceClient {
    let mut settings = BinanceSettings {
        base_url: fake.url(),
        request_timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(10),
        ..BinanceSettings::default()
    };
    tweak(&mut settings);
    BinanceClient::new(settings).unwrap()
}

fn sym(s: &str) -> Symbol {
    Symbol::from_normalized(s)
}

#[tokio::test]
async fn reads_klines_and_sends_the_documented_query() {
    let fake = FakeBinance::with_watchlist().await;
    let c = client(&fake, |_| {});
    let hourly = c.klines(&sym("BTCUSDT"), Interval::Hour, 200).await.unwrap();
    assert_eq!(hourly.len(), 200);
    let served = fake.klines("BTCUSDT", "1h");
    let last = served.last().unwrap();
    assert_eq!(hourly.last().unwrap().close, last.close.parse::<f64>().unwrap());
    assert_eq!(hourly.last().unwrap().open_time, last.open_time);
    let req = &fake.requests()[0];
    assert_eq!(
        (req.symbol.as_str(), req.interval.as_str(), req.limit),
        ("BTCUSDT", "1h", Some(200))
    );
    let daily = c.klines(&sym("BTCUSDT"), Interval::Day, 365).await.unwrap();
    assert_eq!(fake.requests()[1].interval, "1d");
    assert_eq!(daily.len(), 365);
}

#[tokio::test]
async fn unknown_symbol_is_not_retried() {
    let fake = FakeBinance::with_watchlist().await;
    let c = client(&fake, |_| {});
    let err = c.klines(&sym("NOPEUSDT"), Interval::Hour, 10).await.unwrap_err();
    assert_eq!(err, MarketError::UnknownSymbol);
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("ETHUSDT", Behaviour::ServerError { times: 2 });
    let c = client(&fake, |s| s.max_retries = 2);
    assert_eq!(
        c.klines(&sym("ETHUSDT"), Interval::Hour, 10).await.unwrap().len(),
        10
    );
    assert_eq!(fake.request_count(), 3);

    fake.clear_requests();
    fake.set_behaviour("SOLUSDT", Behaviour::ServerError { times: 100 });
    let err = c.klines(&sym("SOLUSDT"), Interval::Hour, 10).await.unwrap_err();
    assert!(matches!(err, MarketError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.request_count(), 3, "one try and two retries, then give up");
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour(
        "BNBUSDT",
        Behaviour::RateLimited {
            retry_after_secs: 1,
            times: 1,
        },
    );
    let c = client(&fake, |_| {});
    let started = std::time::Instant::now();
    assert_eq!(
        c.klines(&sym("BNBUSDT"), Interval::Hour, 5).await.unwrap().len(),
        5
    );
    assert_eq!(fake.request_count(), 2);
    // Behaviour, not timing: the retry was not sent before Retry-After had passed.
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_long_retry_after_fails_fast_and_holds_back_later_calls() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour(
        "TAOUSDT",
        Behaviour::RateLimited {
            retry_after_secs: 120,
            times: 1,
        },
    );
    let c = client(&fake, |s| s.max_retry_after = Duration::from_secs(10));
    let err = c.klines(&sym("TAOUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert!(matches!(err, MarketError::RateLimited { .. }), "{err:?}");
    assert_eq!(fake.request_count(), 1);
    // Until Retry-After has passed nothing more is sent, for any symbol.
    let err = c.klines(&sym("BTCUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert!(matches!(err, MarketError::RateLimited { .. }), "{err:?}");
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn a_ban_is_respected() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour(
        "DASHUSDT",
        Behaviour::Banned {
            retry_after_secs: 600,
        },
    );
    let c = client(&fake, |_| {});
    let err = c.klines(&sym("DASHUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert_eq!(
        err,
        MarketError::RateLimited {
            retry_after: Some(Duration::from_secs(600))
        }
    );
    assert!(c.klines(&sym("ETHUSDT"), Interval::Hour, 5).await.is_err());
    assert_eq!(fake.request_count(), 1, "no request while banned");
}

#[tokio::test]
async fn a_slow_exchange_times_out() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("PYTHUSDT", Behaviour::Slow(Duration::from_secs(30)));
    let c = client(&fake, |s| {
        s.request_timeout = Duration::from_millis(300);
        s.max_retries = 1;
    });
    let err = c.klines(&sym("PYTHUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert_eq!(err, MarketError::Timeout);
    assert_eq!(fake.request_count(), 2, "a timeout is retried once");
}

#[tokio::test]
async fn nothing_listens_means_unavailable() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = BinanceClient::new(BinanceSettings {
        base_url: format!("http://{addr}"),
        backoff: Duration::from_millis(1),
        ..BinanceSettings::default()
    })
    .unwrap();
    let err = c.klines(&sym("BTCUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert!(matches!(err, MarketError::Unavailable(_)), "{err:?}");
}

/// A report builder over the real client, as the app wires it (behind the cache).
fn builder(fake: &FakeBinance) -> chainsignal_core::ReportBuilder {
    use chainsignal_core::market::CachedMarket;
    use std::sync::Arc;
    let market = Arc::new(CachedMarket::new(
        Arc::new(client(fake, |_| {})),
        Duration::from_secs(30),
    ));
    chainsignal_core::ReportBuilder::new(market, Arc::new(chainsignal_core::SystemClock), 8, 200, 365)
}

#[tokio::test]
async fn unknown_symbols_are_told_from_exchange_info_without_klines() {
    let fake = FakeBinance::with_watchlist().await;
    let reports = builder(&fake);
    let unknown: Vec<Symbol> = (0..20).map(|i| sym(&format!("NOPE{i}USDT"))).collect();
    let report = reports.build(&unknown).await;
    assert!(report.rows.is_empty());
    assert_eq!(report.errors.len(), 20);
    assert!(report.errors.iter().all(|f| f.error.code() == "unknown_symbol"));
    assert_eq!(fake.request_count(), 0, "no klines request for unlisted symbols");
    assert_eq!(fake.exchange_info_requests(), 1);

    // A second report: the listing is kept (no new exchangeInfo request).
    let mut mixed = vec![sym("BTCUSDT")];
    mixed.extend((20..25).map(|i| sym(&format!("NOPE{i}USDT"))));
    let report = reports.build(&mixed).await;
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.errors.len(), 5);
    assert_eq!(fake.exchange_info_requests(), 1, "exchangeInfo is cached");
    assert_eq!(fake.request_count(), 2, "klines only for the listed symbol");
}

#[tokio::test]
async fn a_symbol_not_trading_is_unknown_and_a_failing_exchange_info_falls_back() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_status("DASHUSDT", "BREAK");
    let report = builder(&fake).build(&[sym("DASHUSDT"), sym("ETHUSDT")]).await;
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.errors[0].symbol, "DASHUSDT");
    assert_eq!(report.errors[0].error.code(), "unknown_symbol");
    assert!(fake.requests().iter().all(|r| r.symbol == "ETHUSDT"));

    // exchangeInfo failing: every symbol is asked for by its candles, as before.
    let fake = FakeBinance::with_watchlist().await;
    fake.fail_exchange_info(true);
    let report = builder(&fake).build(&[sym("BTCUSDT"), sym("NOPEUSDT")]).await;
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.errors[0].error.code(), "unknown_symbol");
    assert!(fake.exchange_info_requests() >= 1);
    assert!(fake.requests().iter().any(|r| r.symbol == "NOPEUSDT"));
}

/// Issue 11, item 3: a `Retry-After` beyond any sane wait (here u64::MAX seconds, which
/// overflowed `Instant + Duration` and panicked) is capped at 10 minutes. Such a wait is
/// longer than a request's own budget (`max_retry_after`), so the call gives up at once
/// with the capped wait in the error and later calls fail fast instead of sleeping.
#[tokio::test]
async fn a_huge_retry_after_is_capped_and_does_not_panic() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour(
        "TAOUSDT",
        Behaviour::RateLimited {
            retry_after_secs: u64::MAX,
            times: 1,
        },
    );
    fake.set_behaviour(
        "DASHUSDT",
        Behaviour::Banned {
            retry_after_secs: u64::MAX,
        },
    );
    let capped = MarketError::RateLimited {
        retry_after: Some(Duration::from_secs(600)),
    };
    let c = client(&fake, |_| {});
    let err = c.klines(&sym("TAOUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert_eq!(err, capped);
    let err = c.klines(&sym("BTCUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert!(
        matches!(err, MarketError::RateLimited { retry_after: Some(d) } if d <= Duration::from_secs(600)),
        "{err:?}"
    );
    assert_eq!(fake.request_count(), 1, "nothing sent while held back");

    let c = client(&fake, |_| {});
    let err = c.klines(&sym("DASHUSDT"), Interval::Hour, 5).await.unwrap_err();
    assert_eq!(err, capped);
}
