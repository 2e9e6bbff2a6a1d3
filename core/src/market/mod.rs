//! Market data: the [`MarketData`] trait, the Binance REST client, the offline demo
//! source and a TTL cache in front of either.

mod binance;
mod cache;
mod demo;

pub use binance::{BinanceClient, BinanceSettings};
pub use cache::CachedMarket;
pub use demo::DemoMarket;

use crate::symbol::Symbol;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
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

#[async_trait]
pub trait MarketData: Send + Sync {
    fn source(&self) -> Source;

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

    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError> {
        (**self).klines(symbol, interval, limit).await
    }
}
