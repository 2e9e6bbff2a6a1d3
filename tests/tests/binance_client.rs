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
