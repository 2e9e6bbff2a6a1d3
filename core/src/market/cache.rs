//! A TTL cache in front of any [`MarketData`], keyed by (symbol, interval), so a
//! repeated report within the TTL sends no request. An unknown symbol is remembered
//! too, so repeating `/report nope` does not spend the exchange's request weight.

use super::{Candle, Interval, Listing, MarketData, MarketError, Source};
use crate::symbol::Symbol;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Key = (Symbol, Interval);

struct Entry {
    fetched_at: Instant,
    limit: u16,
    result: Result<Arc<[Candle]>, MarketError>,
}

pub struct CachedMarket {
    inner: Arc<dyn MarketData>,
    ttl: Duration,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for CachedMarket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedMarket")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl CachedMarket {
    pub fn new(inner: Arc<dyn MarketData>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::default(),
        }
    }

    fn lookup(&self, key: &Key, limit: u16) -> Option<Result<Arc<[Candle]>, MarketError>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        if entry.fetched_at.elapsed() >= self.ttl {
            entries.remove(key);
            return None;
        }
        match &entry.result {
            Ok(candles) if entry.limit >= limit => {
                let skip = candles.len().saturating_sub(limit as usize);
                Some(Ok(candles[skip..].into()))
            }
            Ok(_) => None,
            Err(e) => Some(Err(e.clone())),
        }
    }
}

#[async_trait]
impl MarketData for CachedMarket {
    fn source(&self) -> Source {
        self.inner.source()
    }

    /// The inner source keeps its listing itself (for much longer than candles).
    async fn listing(&self, wanted: &[Symbol]) -> Option<Arc<Listing>> {
        self.inner.listing(wanted).await
    }

    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError> {
        let key = (symbol.clone(), interval);
        if let Some(hit) = self.lookup(&key, limit) {
            return hit;
        }
        let result = self.inner.klines(symbol, interval, limit).await;
        let cacheable = matches!(result, Ok(_) | Err(MarketError::UnknownSymbol));
        if cacheable && !self.ttl.is_zero() {
            let entry = Entry {
                fetched_at: Instant::now(),
                limit,
                result: result.clone(),
            };
            self.entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, entry);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    #[async_trait]
    impl MarketData for Counting {
        fn source(&self) -> Source {
            Source::Demo
        }
        async fn klines(&self, s: &Symbol, _: Interval, limit: u16) -> Result<Arc<[Candle]>, MarketError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if s.as_str() == "NOPEUSDT" {
                return Err(MarketError::UnknownSymbol);
            }
            if s.as_str() == "DOWNUSDT" {
                return Err(MarketError::Timeout);
            }
            let c = Candle {
                open_time: 0,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 0.0,
            };
            Ok(vec![c; limit as usize].into())
        }
    }

    #[tokio::test]
    async fn repeated_requests_within_the_ttl_are_served_from_memory() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = CachedMarket::new(inner.clone(), Duration::from_secs(60));
        let btc = Symbol::from_normalized("BTCUSDT");
        assert_eq!(cache.klines(&btc, Interval::Hour, 10).await.unwrap().len(), 10);
        assert_eq!(cache.klines(&btc, Interval::Hour, 5).await.unwrap().len(), 5);
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
        cache.klines(&btc, Interval::Day, 5).await.unwrap();
        cache.klines(&btc, Interval::Hour, 20).await.unwrap(); // more than cached
        assert_eq!(inner.0.load(Ordering::SeqCst), 3);
        let nope = Symbol::from_normalized("NOPEUSDT");
        for _ in 0..3 {
            assert_eq!(
                cache.klines(&nope, Interval::Hour, 5).await.unwrap_err(),
                MarketError::UnknownSymbol
            );
        }
        assert_eq!(inner.0.load(Ordering::SeqCst), 4);
        let down = Symbol::from_normalized("DOWNUSDT");
        for _ in 0..2 {
            assert!(cache.klines(&down, Interval::Hour, 5).await.is_err());
        }
        assert_eq!(
            inner.0.load(Ordering::SeqCst),
            6,
            "transient errors are not cached"
        );
    }

    #[tokio::test]
    async fn entries_expire() {
        let inner = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = CachedMarket::new(inner.clone(), Duration::ZERO);
        let btc = Symbol::from_normalized("BTCUSDT");
        cache.klines(&btc, Interval::Hour, 10).await.unwrap();
        cache.klines(&btc, Interval::Hour, 10).await.unwrap();
        assert_eq!(inner.0.load(Ordering::SeqCst), 2);
    }
}
