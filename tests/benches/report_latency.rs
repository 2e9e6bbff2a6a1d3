//! Report latency against the fake exchange with 50 ms injected per request.
//!
//! Prints one request's latency, the 8-symbol report's latency and their ratio (the
//! floor is about 1.0: all 16 requests in flight at once; a sequential client is near
//! 16), plus the time of a report served from the cache. Exits non-zero when the
//! ratio is above 1.5, the target of issue #2.
//!
//!     cargo bench -p chainsignal-tests --bench report_latency

use chainsignal_core::clock::SystemClock;
use chainsignal_core::market::{BinanceClient, BinanceSettings, CachedMarket, Interval, MarketData};
use chainsignal_core::report::ReportBuilder;
use chainsignal_core::symbol::Symbol;
use chainsignal_tests::fake_binance::FakeBinance;
use std::sync::Arc;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RUNS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn time<F: std::future::Future>(f: impl Fn() -> F) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await;
        samples.push(t.elapsed());
    }
    median(samples)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ratio = rt.block_on(async {
        let fake = FakeBinance::with_watchlist().await;
        fake.set_latency(LATENCY);
        let settings = BinanceSettings {
            base_url: fake.url(),
            ..BinanceSettings::default()
        };
        let client: Arc<dyn MarketData> = Arc::new(BinanceClient::new(settings).expect("client"));
        let symbols: Vec<Symbol> = ["BTC", "ETH", "SOL", "BNB", "TAO", "DASH", "HEMI", "PYTH"]
            .iter()
            .map(|s| Symbol::parse(s, "USDT").expect("symbol"))
            .collect();
        let clock = Arc::new(SystemClock);
        let concurrent = ReportBuilder::new(client.clone(), clock.clone(), 8, 200, 365);
        let one_at_a_time = ReportBuilder::new(client.clone(), clock.clone(), 1, 200, 365);
        // Warm the connection pool so that no figure includes TCP set-up.
        concurrent.build(&symbols).await;

        let btc = symbols[0].clone();
        let one = time(|| client.klines(&btc, Interval::Hour, 200)).await;
        let report = time(|| concurrent.build(&symbols)).await;
        let serial_symbols = time(|| one_at_a_time.build(&symbols)).await;

        let cached_market: Arc<dyn MarketData> =
            Arc::new(CachedMarket::new(client.clone(), Duration::from_secs(600)));
        let cached = ReportBuilder::new(cached_market, clock, 8, 200, 365);
        cached.build(&symbols).await;
        let before = fake.request_count();
        let cached_time = time(|| cached.build(&symbols)).await;
        assert_eq!(fake.request_count(), before, "a cached report sends no request");

        let ratio = report.as_secs_f64() / one.as_secs_f64();
        println!("injected latency per request:      {LATENCY:?}");
        println!("one klines request (median of {RUNS}):  {one:.2?}");
        println!("8-symbol report, concurrency 8:     {report:.2?}  ratio {ratio:.2}");
        println!(
            "8-symbol report, concurrency 1:     {serial_symbols:.2?}  ratio {:.2}",
            serial_symbols.as_secs_f64() / one.as_secs_f64()
        );
        println!("8-symbol report from the cache:     {cached_time:.2?}");
        ratio
    });
    if ratio > 1.5 {
        eprintln!("FAIL: ratio {ratio:.2} is above the 1.5 target");
        std::process::exit(1);
    }
    println!("ok: ratio {ratio:.2} <= 1.5");
}
