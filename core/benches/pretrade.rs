//! The pretrade check of one order against an account with 1,000 open positions
//! (issue 16: goal under 1 ms). Prints the median and the 99th percentile of 2,000
//! runs, and exits non-zero when the median is above 1 ms.
//!
//!     cargo bench -p chainsignal-core --bench pretrade

use chainsignal_core::trading::{
    AccountState, Leverage, OpenExposure, PositionSide, Preview, Profile, RiskLimits, pretrade_check,
};
use rust_decimal::Decimal;
use std::hint::black_box;
use std::time::{Duration, Instant};

const POSITIONS: usize = 1_000;
const RUNS: usize = 2_000;

fn main() {
    let d = |s: &str| s.parse::<Decimal>().expect("a decimal");
    // Realistic numbers: cents and satoshis, mixed leverage, gains and losses.
    let positions: Vec<OpenExposure> = (0..POSITIONS)
        .map(|i| {
            let notional = Decimal::new(10_000 + (i as i64 * 7_919) % 90_000, 2);
            let lev = Leverage::new(1 + (i as u32 % 10)).expect("1..=10");
            OpenExposure {
                notional,
                risk_to_sl: Some(Decimal::new(1_234 + i as i64, 4)),
                lev,
                margin: (notional / lev.as_decimal()).round_dp(8),
                unrealized_pnl: Decimal::new((i as i64 * 104_729) % 20_000 - 10_000, 3),
            }
        })
        .collect();
    let state = AccountState {
        equity: d("1000000.00"),
        day_start_equity: d("1005000.00"),
        realized_pnl_today: d("-1234.56"),
        positions,
    };
    // Loose, with room for the 1,001st position: every rule is evaluated either way
    // (the check reports all violations, not the first), and this order passes them.
    let limits = RiskLimits {
        max_open_positions: 10_000,
        ..Profile::Loose.limits()
    };
    let order = Preview {
        side: PositionSide::Long,
        lev: Leverage::new(3).expect("3"),
        qty: d("0.01234"),
        fill_price: d("91234.56"),
        notional: d("1125.833471"),
        fee: d("1.125833"),
        margin: d("375.277824"),
        sl: Some(d("90000")),
        tp: Some(d("95000")),
        sl_distance_pct: Some(d("1.35")),
        tp_distance_pct: Some(d("4.12")),
        risk_to_sl: Some(d("17.49")),
        risk_pct: Some(d("0.0017")),
        reward: Some(d("44.1")),
        reward_risk: Some(d("2.52")),
        liquidation: Some(d("60823.04")),
        sl_beyond_liquidation: false,
    };
    // Warm up, then time each run.
    for _ in 0..100 {
        black_box(pretrade_check(black_box(&state), &limits, black_box(&order)));
    }
    let mut samples: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            black_box(pretrade_check(black_box(&state), &limits, black_box(&order)));
            t.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[RUNS / 2];
    let p99 = samples[RUNS * 99 / 100];
    let verdict = pretrade_check(&state, &limits, &order);
    println!(
        "pretrade check, 1 order vs {POSITIONS} open positions: median {:.1} µs, p99 {:.1} µs ({RUNS} runs; {} violations: {:?})",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        verdict.len(),
        verdict
    );
    if median > Duration::from_millis(1) {
        eprintln!("FAIL: the median is above the 1 ms goal of issue 16");
        std::process::exit(1);
    }
}
