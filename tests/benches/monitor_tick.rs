//! The SL/TP monitor's tick over 10,000 open paper positions on 200 symbols, with the
//! fake exchange answering every request after 50 ms (issue 15).
//!
//! Prints one request's round trip, then min / median / max of several ticks and the
//! median's ratio to that round trip: with none crossing (the read-and-evaluate tick;
//! goal under 1.5x, prices being read in one batch or in parallel, never per position)
//! and with 1 % crossing their stop-loss (100 closes in the tick). On SQLite in a temp
//! dir, and on PostgreSQL too when the test server (TEST_DATABASE_URL or
//! 127.0.0.1:5432) answers. Exits non-zero when a no-crossing median is over the goal.
//!
//!     cargo bench -p chainsignal-tests --bench monitor_tick --no-run   # then run the binary

use chainsignal_core::desk::{Desk, DeskSettings};
use chainsignal_core::exchange::{SpotClient, SpotSettings, Venue};
use chainsignal_core::store::{self, Store};
use chainsignal_core::symbol::Symbol;
use chainsignal_tests::TempPostgres;
use chainsignal_tests::fake_binance::{FakeBinance, MarketSpec};
use chainsignal_tests::positions_seed::{self, Seed};
use futures::StreamExt;
use secrecy::SecretString;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const POSITIONS: usize = 10_000;
const SYMBOLS: usize = 200;
const TRADERS: usize = 100;
const RUNS: usize = 7;
const GOAL: f64 = 1.5;

fn symbol(i: usize) -> String {
    format!("C{i:03}USDT")
}

/// Position `i`: on symbol `i % 200`, long when that symbol's number is even (SL 90,
/// TP 110), short otherwise (SL 110, TP 90); entry 100, the price at 100.
fn seed(user_ids: &[i64], i: usize, token: String) -> Seed<'static> {
    let long = (i % SYMBOLS).is_multiple_of(2);
    Seed {
        user_id: user_ids[i % user_ids.len()],
        venue: "paper",
        symbol: Box::leak(symbol(i % SYMBOLS).into_boxed_str()),
        side: if long { "long" } else { "short" },
        qty: "0.5",
        entry: "100",
        lev: 1,
        sl: Some(if long { "90" } else { "110" }),
        tp: Some(if long { "110" } else { "90" }),
        open_fee: "0.05",
        token,
    }
}

struct Figures {
    min: Duration,
    median: Duration,
    max: Duration,
}

fn figures(mut v: Vec<Duration>) -> Figures {
    v.sort();
    Figures {
        min: v[0],
        median: v[v.len() / 2],
        max: v[v.len() - 1],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn print(label: &str, f: &Figures, rtt: Duration) -> f64 {
    let ratio = f.median.as_secs_f64() / rtt.as_secs_f64();
    println!(
        "{label:<44} min {:>8.1} ms  median {:>8.1} ms  max {:>8.1} ms  median/rtt {ratio:.2}x",
        ms(f.min),
        ms(f.median),
        ms(f.max)
    );
    ratio
}

/// Seed 10,000 positions, tick RUNS times with none crossing, then RUNS times with
/// 100 (1 %) crossing: the no-crossing median's ratio to the round trip.
async fn run(engine: &str, store: Store, fake: &FakeBinance, rtt: Duration) -> f64 {
    let started = Instant::now();
    let mut users = Vec::new();
    for t in 0..TRADERS {
        users.push(positions_seed::trader(&store, 9_000 + t as i64).await);
    }
    let seeds: Vec<_> = (0..POSITIONS)
        .map(|i| seed(&users, i, format!("bench-{i}")))
        .collect();
    let _ids: Vec<i64> = futures::stream::iter(seeds.iter().map(|s| positions_seed::open(&store, s)))
        .buffer_unordered(8)
        .collect()
        .await;
    println!(
        "{engine}: {POSITIONS} positions of {TRADERS} traders on {SYMBOLS} symbols written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let market = SpotSettings::new(Venue::Live, fake.url());
    let desk = Desk::new(
        store.clone(),
        market.clone(),
        SpotSettings::new(Venue::Testnet, fake.url()),
        market,
        None,
        DeskSettings::default(),
    )
    .expect("a desk");

    // Warm-up: connections, statement caches.
    let report = desk.tick(chrono::Utc::now()).await.expect("a tick");
    assert_eq!(report.positions, POSITIONS);
    assert_eq!(report.symbols, SYMBOLS);
    assert_eq!(report.triggered, 0, "nothing crosses at 100");

    let mut quiet = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let report = desk.tick(chrono::Utc::now()).await.expect("a tick");
        quiet.push(t.elapsed());
        assert_eq!(report.triggered, 0);
        assert_eq!(report.positions, POSITIONS);
    }
    let quiet = figures(quiet);
    if std::env::var_os("MONITOR_TICK_PROFILE").is_some() {
        for _ in 0..3 {
            let t = Instant::now();
            let rows = store.all_open_positions().await.expect("rows");
            let read = t.elapsed();
            let t = Instant::now();
            let parsed = rows
                .iter()
                .filter(|r| chainsignal_core::desk::position_of(r).is_ok())
                .count();
            println!(
                "{engine}: read {} rows {:.1} ms, parsed {parsed} {:.1} ms",
                rows.len(),
                ms(read),
                ms(t.elapsed())
            );
        }
    }
    let requests = desk
        .tick(chrono::Utc::now())
        .await
        .expect("a tick")
        .price_requests;

    // 1 %: symbols 0 (longs, SL 90) and 1 (shorts, SL 110) move through their SLs; each
    // run re-opens their 100 positions first.
    fake.set_price(&symbol(0), "85", "85.1");
    fake.set_price(&symbol(1), "114.9", "115");
    let mut crossing = Vec::new();
    for run in 0..RUNS {
        if run > 0 {
            for i in (0..POSITIONS).filter(|i| i % SYMBOLS < 2) {
                positions_seed::open(&store, &seed(&users, i, format!("bench-{run}-{i}"))).await;
            }
        }
        let t = Instant::now();
        let report = desk.tick(chrono::Utc::now()).await.expect("a tick");
        crossing.push(t.elapsed());
        assert_eq!(report.triggered, POSITIONS / 100, "1 % crossed");
        assert_eq!(report.closed, POSITIONS / 100, "and closed: {report:?}");
    }
    fake.set_price(&symbol(0), "100", "100.1");
    fake.set_price(&symbol(1), "100", "100.1");
    let crossing = figures(crossing);

    println!("{engine}: price requests per tick: {requests}");
    let ratio = print(&format!("{engine}: tick, none crossing"), &quiet, rtt);
    print(
        &format!("{engine}: tick, 1 % crossing (100 closes)"),
        &crossing,
        rtt,
    );
    ratio
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ok = rt.block_on(async {
        let fake = FakeBinance::start().await;
        for i in 0..SYMBOLS {
            let name = symbol(i);
            let base = name.trim_end_matches("USDT").to_string();
            fake.add_market(MarketSpec::new(&name, &base, "USDT").price("100", "100.1"));
        }
        fake.set_latency(LATENCY);

        // One request's round trip (median of RUNS, after a warm-up).
        let client = SpotClient::new(SpotSettings::new(Venue::Live, fake.url())).expect("client");
        let one = Symbol::from_normalized(symbol(0));
        client.book_ticker(&one).await.expect("a price");
        let mut rtts = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            client.book_ticker(&one).await.expect("a price");
            rtts.push(t.elapsed());
        }
        let rtt = figures(rtts).median;
        println!(
            "injected latency {} ms; one bookTicker round trip (median of {RUNS}): {:.1} ms",
            LATENCY.as_millis(),
            ms(rtt)
        );

        let mut ok = true;
        let dir = tempfile::tempdir().expect("temp dir");
        let url = SecretString::from(format!("sqlite://{}", dir.path().join("bench.sqlite").display()));
        let sqlite = store::open(&url, 4).await.expect("sqlite");
        ok &= run("sqlite", sqlite.clone(), &fake, rtt).await <= GOAL;
        sqlite.close().await;

        match TempPostgres::create("monitor_tick_bench").await {
            Some(db) => {
                let pg = store::open(&SecretString::from(db.url.clone()), 8)
                    .await
                    .expect("postgres");
                ok &= run("postgres", pg.clone(), &fake, rtt).await <= GOAL;
                pg.close().await;
                db.drop_db().await;
            }
            None => println!("postgres: not reachable, skipped"),
        }
        ok
    });
    if !ok {
        eprintln!("a tick with none crossing is over {GOAL}x one round trip");
        std::process::exit(1);
    }
}
