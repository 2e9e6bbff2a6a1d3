//! A market report for a watchlist: close, 24h / 3D / 7D change and ATR 3D / 7D per
//! symbol, built concurrently; failures become entries under `errors`.

use crate::clock::Clock;
use crate::indicators::{atr_last, pct_change_back};
use crate::market::{Interval, MarketData, MarketError, Source};
pub use crate::symbol::MAX_REPORT_SYMBOLS;
use crate::symbol::{Symbol, SymbolError};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;

/// Hourly candles a row needs: close[last - 168] must exist.
pub const MIN_HOURLY: usize = 169;
/// Daily candles a row needs: ATR(7) needs eight.
pub const MIN_DAILY: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub symbol: Symbol,
    pub close: f64,
    pub change_24h_pct: f64,
    pub change_3d_pct: f64,
    pub change_7d_pct: f64,
    pub atr_3d_pct: f64,
    pub atr_7d_pct: f64,
}

/// Why one symbol of a report has no row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("invalid symbol: {0}")]
    InvalidSymbol(#[from] SymbolError),
    #[error(transparent)]
    Market(#[from] MarketError),
    /// Beyond [`MAX_REPORT_SYMBOLS`]: not fetched.
    #[error("more than {} symbols in one report", MAX_REPORT_SYMBOLS)]
    TooManySymbols,
}

impl ReportError {
    /// A stable code: stored in the database, used to pick the localized message.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::InvalidSymbol(_) => "invalid_symbol",
            ReportError::TooManySymbols => "too_many_symbols",
            ReportError::Market(m) => match m {
                MarketError::UnknownSymbol => "unknown_symbol",
                MarketError::RateLimited { .. } => "rate_limited",
                MarketError::Timeout => "timeout",
                MarketError::Unavailable(_) => "exchange_unavailable",
                MarketError::Rejected { .. } => "exchange_rejected",
                MarketError::InvalidData(_) => "invalid_data",
                MarketError::InsufficientHistory { .. } => "insufficient_history",
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SymbolFailure {
    /// The symbol as normalised, or as typed when it could not be.
    pub symbol: String,
    pub error: ReportError,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    pub source: Source,
    pub rows: Vec<ReportRow>,
    pub errors: Vec<SymbolFailure>,
}

pub const CSV_HEADER: [&str; 7] = [
    "symbol",
    "close",
    "change_24h_pct",
    "change_3d_pct",
    "change_7d_pct",
    "atr_3d_pct",
    "atr_7d_pct",
];

impl ReportRow {
    /// The row's numbers at full precision, in CSV_HEADER order after the symbol.
    pub fn numbers(&self) -> [f64; 6] {
        [
            self.close,
            self.change_24h_pct,
            self.change_3d_pct,
            self.change_7d_pct,
            self.atr_3d_pct,
            self.atr_7d_pct,
        ]
    }
}

impl Report {
    /// A digest of what the report says (source, symbols, numbers), not of when it was
    /// made: two reports with the same numbers have the same fingerprint.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.source.as_str());
        for row in &self.rows {
            h.update(b"\n");
            h.update(row.symbol.as_str());
            for n in row.numbers() {
                h.update(n.to_bits().to_le_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The report as CSV, one row per symbol, numbers at full precision.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        // Writing to a Vec cannot fail; a failure would only drop the row.
        let _ = w.write_record(CSV_HEADER);
        for row in &self.rows {
            let mut record = vec![row.symbol.to_string()];
            record.extend(row.numbers().iter().map(f64::to_string));
            let _ = w.write_record(&record);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// Builds reports from any [`MarketData`].
#[derive(Clone)]
pub struct ReportBuilder {
    market: Arc<dyn MarketData>,
    clock: Arc<dyn Clock>,
    concurrency: usize,
    hourly_limit: u16,
    daily_limit: u16,
}

impl std::fmt::Debug for ReportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportBuilder")
            .field("source", &self.market.source())
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl ReportBuilder {
    /// `concurrency` bounds how many symbols are fetched at once (each fetches its
    /// hourly and daily candles together). `hourly_limit` and `daily_limit` are the
    /// candles asked for; more daily candles make Wilder's ATR independent of where
    /// the series starts.
    pub fn new(
        market: Arc<dyn MarketData>,
        clock: Arc<dyn Clock>,
        concurrency: usize,
        hourly_limit: u16,
        daily_limit: u16,
    ) -> Self {
        Self {
            market,
            clock,
            concurrency: concurrency.max(1),
            hourly_limit: hourly_limit.max(MIN_HOURLY as u16),
            daily_limit: daily_limit.max(MIN_DAILY as u16),
        }
    }

    pub fn source(&self) -> Source {
        self.market.source()
    }

    /// The market data the reports are built from (cached when the app made it so).
    pub fn market(&self) -> &Arc<dyn MarketData> {
        &self.market
    }

    /// A report for `symbols`, in their order. Never fails as a whole: each symbol
    /// that cannot be reported is listed under `errors`. At most [`MAX_REPORT_SYMBOLS`]
    /// are fetched whoever asks (inputs are refused earlier with a clear message; this
    /// is the backstop): the others are listed as `too_many_symbols`. Symbols the
    /// exchange's listing does not have (or not trading) are unknown without a request.
    pub async fn build(&self, symbols: &[Symbol]) -> Report {
        let (fetched, beyond) = symbols.split_at(symbols.len().min(MAX_REPORT_SYMBOLS));
        if !beyond.is_empty() {
            tracing::warn!(
                asked = symbols.len(),
                max = MAX_REPORT_SYMBOLS,
                "too many symbols for one report; the rest are left out"
            );
        }
        let listing = self.market.listing(fetched).await;
        let listing = &listing;
        // Owned symbols keep the futures free of higher-ranked borrows, so a report can
        // be built inside any spawned task.
        let results: Vec<(Symbol, Result<ReportRow, ReportError>)> = futures::stream::iter(fetched.to_vec())
            .map(|s| async move {
                let row = match listing {
                    Some(l) if !l.is_trading(&s) => Err(MarketError::UnknownSymbol),
                    _ => self.row(&s).await,
                };
                (s, row.map_err(ReportError::from))
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        let results = results.into_iter().chain(
            beyond
                .iter()
                .map(|s| (s.clone(), Err(ReportError::TooManySymbols))),
        );
        let mut report = Report {
            generated_at: self.clock.now(),
            source: self.market.source(),
            rows: Vec::new(),
            errors: Vec::new(),
        };
        for (symbol, result) in results {
            match result {
                Ok(row) => report.rows.push(row),
                Err(e) => {
                    tracing::info!(%symbol, error = %e, "symbol left out of the report");
                    report.errors.push(SymbolFailure {
                        symbol: symbol.to_string(),
                        error: e,
                    });
                }
            }
        }
        report
    }

    async fn row(&self, symbol: &Symbol) -> Result<ReportRow, MarketError> {
        let (hourly, daily) = futures::try_join!(
            self.market.klines(symbol, Interval::Hour, self.hourly_limit),
            self.market.klines(symbol, Interval::Day, self.daily_limit),
        )?;
        if hourly.len() < MIN_HOURLY {
            return Err(MarketError::InsufficientHistory {
                needed: MIN_HOURLY,
                got: hourly.len(),
            });
        }
        if daily.len() < MIN_DAILY {
            return Err(MarketError::InsufficientHistory {
                needed: MIN_DAILY,
                got: daily.len(),
            });
        }
        let closes: Vec<f64> = hourly.iter().map(|c| c.close).collect();
        let close = closes[closes.len() - 1];
        let change = |h| {
            pct_change_back(&closes, h)
                .ok_or_else(|| MarketError::InvalidData("zero or non-finite close".into()))
        };
        let atr_pct = |n| {
            atr_last(&daily, n)
                .map(|atr| atr / close * 100.0)
                .filter(|v| v.is_finite())
                .ok_or_else(|| MarketError::InvalidData("ATR is not finite".into()))
        };
        Ok(ReportRow {
            symbol: symbol.clone(),
            close,
            change_24h_pct: change(24)?,
            change_3d_pct: change(72)?,
            change_7d_pct: change(168)?,
            atr_3d_pct: atr_pct(3)?,
            atr_7d_pct: atr_pct(7)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::market::DemoMarket;

    #[tokio::test]
    async fn demo_report_has_rows_errors_and_csv() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let market = Arc::new(DemoMarket::new(clock.clone()));
        let builder = ReportBuilder::new(market, clock, 4, 200, 60);
        let symbols: Vec<Symbol> = ["btc", "nope", "eth"]
            .iter()
            .map(|s| Symbol::parse(s, "USDT").unwrap())
            .collect();
        let report = builder.build(&symbols).await;
        assert_eq!(report.source, Source::Demo);
        assert_eq!(report.rows.len(), 2);
        assert_eq!(report.rows[0].symbol.as_str(), "BTCUSDT");
        assert_eq!(report.rows[1].symbol.as_str(), "ETHUSDT");
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.errors[0].error.code(), "unknown_symbol");
        let csv = report.to_csv();
        let mut lines = csv.lines();
        assert_eq!(lines.next().unwrap(), CSV_HEADER.join(","));
        let first: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(first[0], "BTCUSDT");
        assert_eq!(first[1].parse::<f64>().unwrap(), report.rows[0].close);
        assert_eq!(csv.lines().count(), 3);

        let mut later = report.clone();
        later.generated_at += chrono::Duration::minutes(1);
        assert_eq!(
            later.fingerprint(),
            report.fingerprint(),
            "time is not part of it"
        );
        later.rows[0].close += 0.01;
        assert_ne!(later.fingerprint(), report.fingerprint());
    }

    #[tokio::test]
    async fn the_builder_never_fetches_more_than_the_cap() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let market = Arc::new(DemoMarket::new(clock.clone()));
        let builder = ReportBuilder::new(market, clock, 4, 200, 60);
        let symbols: Vec<Symbol> = DemoMarket::listed("USDT").map(Symbol::from_normalized).collect();
        assert!(symbols.len() > 20);
        let report = builder.build(&symbols).await;
        assert_eq!(report.rows.len(), 20);
        assert_eq!(report.errors.len(), symbols.len() - 20);
        assert!(report.errors.iter().all(|f| f.error.code() == "too_many_symbols"));
    }
}
