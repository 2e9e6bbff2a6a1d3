//! Deterministic synthetic candles for offline use: the same symbol and hour always
//! give the same prices, the series ends at the current hour of the [`Clock`], and the
//! volatility is that of a real coin (0.4% to 0.8% an hour).

use super::{Candle, Interval, Listing, MarketData, MarketError, Source, SymbolInfo};
use crate::clock::Clock;
use crate::symbol::Symbol;
use async_trait::async_trait;
use std::sync::Arc;

/// The random walk starts here for every symbol, so that any hour's candle is the same
/// whenever it is asked for (2024-01-01T00:00:00Z, in hours since the epoch).
const EPOCH_HOUR: i64 = 473_352;
const HOUR_MS: i64 = 3_600_000;

/// Symbols the demo exchange lists, with a plausible reference price.
const LISTED: &[(&str, f64)] = &[
    ("BTC", 92_000.0),
    ("ETH", 3_100.0),
    ("SOL", 145.0),
    ("BNB", 610.0),
    ("TAO", 380.0),
    ("DASH", 32.0),
    ("HEMI", 0.048),
    ("PYTH", 0.14),
    ("XRP", 2.1),
    ("ADA", 0.62),
    ("DOGE", 0.17),
    ("AVAX", 24.0),
    ("DOT", 4.2),
    ("LINK", 15.5),
    ("LTC", 95.0),
    ("TRX", 0.27),
    ("ATOM", 4.6),
    ("NEAR", 2.6),
    ("APT", 4.9),
    ("ARB", 0.31),
    ("OP", 0.52),
    ("SUI", 2.4),
    ("TON", 2.2),
    ("PEPE", 0.0000072),
];

#[derive(Debug, Clone)]
pub struct DemoMarket {
    clock: Arc<dyn Clock>,
    quotes: Vec<String>,
    listing: Arc<Listing>,
}

impl DemoMarket {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let quotes: Vec<String> = vec!["USDT".into(), "USDC".into(), "FDUSD".into()];
        let listing = Listing::new(quotes.iter().flat_map(|q| {
            LISTED
                .iter()
                .map(move |(base, _)| SymbolInfo::new(&format!("{base}{q}"), "TRADING", base, q))
        }));
        Self {
            clock,
            quotes,
            listing: Arc::new(listing),
        }
    }

    /// The demo exchange's listed symbols against `quote`.
    pub fn listed(quote: &str) -> impl Iterator<Item = String> + '_ {
        LISTED.iter().map(move |(base, _)| format!("{base}{quote}"))
    }

    fn reference_price(&self, symbol: &Symbol) -> Option<f64> {
        let s = symbol.as_str();
        self.quotes.iter().find_map(|q| {
            let base = s.strip_suffix(q.as_str())?;
            LISTED.iter().find(|(b, _)| *b == base).map(|(_, p)| *p)
        })
    }
}

/// SplitMix64: tiny, fast, and fixed forever, unlike a library's "standard" RNG.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately standard normal (Irwin-Hall with 12 uniforms).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Hourly candles from EPOCH_HOUR up to and including `last_hour`.
fn hourly_walk(symbol: &Symbol, reference: f64, last_hour: i64) -> Vec<Candle> {
    let mut rng = SplitMix64(fnv1a(symbol.as_str()));
    let sigma = 0.004 + rng.unit() * 0.004; // 0.4%..0.8% an hour
    let anchor = reference.ln();
    let mut log_price = anchor + (rng.unit() - 0.5) * 0.2;
    let hours = (last_hour - EPOCH_HOUR + 1).max(0) as usize;
    let mut out = Vec::with_capacity(hours);
    for i in 0..hours {
        let open = log_price.exp();
        // Mean-reverting log walk keeps the price near its reference over months.
        log_price += 0.002 * (anchor - log_price) + sigma * rng.normal();
        let close = log_price.exp();
        let wick_up = 1.0 + rng.unit() * sigma * 0.8;
        let wick_down = 1.0 - rng.unit() * sigma * 0.8;
        out.push(Candle {
            open_time: (EPOCH_HOUR + i as i64) * HOUR_MS,
            open,
            high: open.max(close) * wick_up,
            low: open.min(close) * wick_down,
            close,
            volume: 1_000.0 * (1.0 + rng.unit()),
        });
    }
    out
}

/// Daily candles aggregated from hourly ones, UTC days, the last day still forming.
fn daily_from_hourly(hourly: &[Candle]) -> Vec<Candle> {
    let mut out: Vec<Candle> = Vec::new();
    for c in hourly {
        let day_open = c.open_time.div_euclid(86_400_000) * 86_400_000;
        match out.last_mut() {
            Some(d) if d.open_time == day_open => {
                d.high = d.high.max(c.high);
                d.low = d.low.min(c.low);
                d.close = c.close;
                d.volume += c.volume;
            }
            _ => out.push(Candle {
                open_time: day_open,
                ..*c
            }),
        }
    }
    out
}

#[async_trait]
impl MarketData for DemoMarket {
    fn source(&self) -> Source {
        Source::Demo
    }

    async fn listing(&self, _wanted: &[Symbol]) -> Option<Arc<Listing>> {
        Some(self.listing.clone())
    }

    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError> {
        let reference = self.reference_price(symbol).ok_or(MarketError::UnknownSymbol)?;
        let last_hour = self.clock.now().timestamp().div_euclid(3_600);
        let hourly = hourly_walk(symbol, reference, last_hour);
        let series = match interval {
            Interval::Hour => hourly,
            Interval::Day => daily_from_hourly(&hourly),
        };
        let skip = series.len().saturating_sub(limit as usize);
        Ok(series[skip..].into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone;

    fn market(at: &str) -> DemoMarket {
        let t = chrono::DateTime::parse_from_rfc3339(at)
            .unwrap()
            .with_timezone(&chrono::Utc);
        DemoMarket::new(Arc::new(ManualClock::new(
            chrono::Utc.from_utc_datetime(&t.naive_utc()),
        )))
    }

    #[tokio::test]
    async fn deterministic_plausible_and_ending_now() {
        let m = market("2026-11-22T10:30:00Z");
        let btc = Symbol::parse("btc", "USDT").unwrap();
        let a = m.klines(&btc, Interval::Hour, 200).await.unwrap();
        let b = market("2026-11-22T10:59:00Z")
            .klines(&btc, Interval::Hour, 200)
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 200);
        let last = a.last().unwrap();
        let expected_open = chrono::Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        assert_eq!(last.open_time, expected_open.timestamp_millis());
        assert!(last.close > 30_000.0 && last.close < 300_000.0, "{}", last.close);
        for c in a.iter() {
            assert!(c.low <= c.open.min(c.close) && c.high >= c.open.max(c.close));
        }
        let daily = m.klines(&btc, Interval::Day, 60).await.unwrap();
        assert_eq!(daily.len(), 60);
        assert_eq!(daily.last().unwrap().close, last.close);
        let eth = m
            .klines(&Symbol::parse("eth", "USDT").unwrap(), Interval::Hour, 10)
            .await
            .unwrap();
        assert_ne!(eth.last().unwrap().close, last.close);
    }

    #[tokio::test]
    async fn unknown_symbols_are_unknown() {
        let m = market("2026-11-22T10:30:00Z");
        let nope = Symbol::parse("nope", "USDT").unwrap();
        assert_eq!(
            m.klines(&nope, Interval::Hour, 10).await.unwrap_err(),
            MarketError::UnknownSymbol
        );
        let listing = m.listing(&[]).await.unwrap();
        assert!(!listing.is_trading(&nope));
        assert!(listing.is_trading(&Symbol::parse("btc/usdc", "USDT").unwrap()));
        assert_eq!(listing.len(), LISTED.len() * 3);
    }
}
