//! Market data: the [`MarketData`] trait, the Binance REST client, the offline demo
//! source and a TTL cache in front of either.

mod binance;
mod cache;
mod demo;

pub use binance::{BinanceClient, BinanceSettings, parse_exchange_info};
pub use cache::CachedMarket;
pub use demo::DemoMarket;

use crate::symbol::Symbol;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One OHLCV candle. Prices are floats: they feed indicators, not balances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candle {
    /// Open time, milliseconds since the Unix epoch (UTC).
    pub open_time: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn as_binance(self) -> &'static str {
        match self {
            Interval::Hour => "1h",
            Interval::Day => "1d",
        }
    }

    pub fn millis(self) -> i64 {
        match self {
            Interval::Hour => 3_600_000,
            Interval::Day => 86_400_000,
        }
    }
}

/// Where a report's numbers came from. Anything built from `Demo` says so where shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Binance,
    Demo,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Binance => "binance",
            Source::Demo => "demo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "binance" => Some(Source::Binance),
            "demo" => Some(Source::Demo),
            _ => None,
        }
    }
}

/// Why market data could not be had. Detail here is for logs; users see a localized
/// sentence chosen by the variant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MarketError {
    #[error("unknown symbol")]
    UnknownSymbol,
    #[error("rate limited by the exchange (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the exchange did not answer in time")]
    Timeout,
    #[error("the exchange is unavailable: {0}")]
    Unavailable(String),
    #[error("the exchange refused the request: HTTP {status}, code {code:?}")]
    Rejected { status: u16, code: Option<i64> },
    #[error("the exchange sent data that could not be read: {0}")]
    InvalidData(String),
    #[error("not enough history: {needed} candles needed, {got} available")]
    InsufficientHistory { needed: usize, got: usize },
}

/// One symbol as the exchange lists it (Binance `exchangeInfo`). Only what is needed
/// now; trading filters (LOT_SIZE, MIN_NOTIONAL) will join it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SymbolInfo {
    pub symbol: String,
    /// `TRADING`, `BREAK`, `HALT`, …
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
}

impl SymbolInfo {
    pub fn new(symbol: &str, status: &str, base_asset: &str, quote_asset: &str) -> Self {
        Self {
            symbol: symbol.into(),
            status: status.into(),
            base_asset: base_asset.into(),
            quote_asset: quote_asset.into(),
        }
    }

    pub fn is_trading(&self) -> bool {
        self.status == "TRADING"
    }
}

/// The symbols an exchange lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    symbols: HashMap<String, SymbolInfo>,
}

impl Listing {
    pub fn new(symbols: impl IntoIterator<Item = SymbolInfo>) -> Self {
        Self {
            symbols: symbols.into_iter().map(|s| (s.symbol.clone(), s)).collect(),
        }
    }

    pub fn get(&self, symbol: &Symbol) -> Option<&SymbolInfo> {
        self.symbols.get(symbol.as_str())
    }

    /// Listed and trading: only then can it have a report row.
    pub fn is_trading(&self, symbol: &Symbol) -> bool {
        self.get(symbol).is_some_and(SymbolInfo::is_trading)
    }

    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }
}

#[async_trait]
pub trait MarketData: Send + Sync {
    fn source(&self) -> Source;

    /// What the exchange lists, kept for a while; `None` when it cannot be told (then
    /// every symbol is asked for by its candles). `wanted` are the symbols about to be
    /// asked for: a listing that misses one of them may be refreshed early (a new coin).
    async fn listing(&self, wanted: &[Symbol]) -> Option<Arc<Listing>> {
        let _ = wanted;
        None
    }

    /// The most recent `limit` candles, oldest first; the last one may still be forming.
    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError>;
}

#[async_trait]
impl<M: MarketData + ?Sized> MarketData for Arc<M> {
    fn source(&self) -> Source {
        (**self).source()
    }

    async fn listing(&self, wanted: &[Symbol]) -> Option<Arc<Listing>> {
        (**self).listing(wanted).await
    }

    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError> {
        (**self).klines(symbol, interval, limit).await
    }
}
