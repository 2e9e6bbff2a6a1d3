//! Binance spot REST client: klines, with timeouts, retries, `Retry-After` and the
//! used-weight header respected so the IP never earns a 418 ban; the listing
//! (`exchangeInfo`), kept for an hour, tells unknown symbols without asking for candles.

use super::{Candle, Interval, Listing, MarketData, MarketError, Source, SymbolInfo};
use crate::symbol::Symbol;
use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use reqwest::{StatusCode, header::HeaderMap};
use serde::Deserialize;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Binance's code for "Invalid symbol."
const INVALID_SYMBOL: i64 = -1121;
const WEIGHT_HEADER: &str = "x-mbx-used-weight-1m";

#[derive(Debug, Clone)]
pub struct BinanceSettings {
    /// e.g. `https://api.binance.com`; no trailing path.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Further attempts after the first on 5xx, timeouts, connection errors and 429.
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry.
    pub backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails at once
    /// (and so do the following ones until the time has passed).
    pub max_retry_after: Duration,
    /// Above this used weight in the current minute, new requests wait for the next one.
    /// Binance's limit is 6,000 per minute per IP.
    pub weight_soft_limit: u32,
}

impl Default for BinanceSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.binance.com".into(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff: Duration::from_millis(250),
            max_retry_after: Duration::from_secs(10),
            weight_soft_limit: 5_000,
        }
    }
}

#[derive(Debug, Default)]
struct Gate {
    /// Set from `Retry-After` on 429/418: nothing is sent before this instant.
    blocked_until: Option<Instant>,
    /// Last used weight the exchange reported, and the Unix minute it was reported in.
    used_weight: u32,
    weight_minute: u64,
}

/// How long a fetched listing is used.
const LISTING_TTL: Duration = Duration::from_secs(3_600);
/// A listing at least this old is fetched again when it misses an asked-for symbol
/// (a coin listed since), at most this often.
const LISTING_MISS_REFRESH: Duration = Duration::from_secs(300);
/// After exchangeInfo failed, symbols are asked for by their candles for this long
/// before exchangeInfo is tried again.
const LISTING_RETRY: Duration = Duration::from_secs(60);
/// exchangeInfo is a few megabytes; anything far larger is not it.
const LISTING_MAX_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Default)]
struct ListingCache {
    fetched: Option<(Instant, Arc<Listing>)>,
    failed_at: Option<Instant>,
}

#[derive(Debug, Clone)]
pub struct BinanceClient {
    http: reqwest::Client,
    settings: Arc<BinanceSettings>,
    klines_url: String,
    gate: Arc<Mutex<Gate>>,
    exchange_info_url: String,
    /// Behind an async lock: one exchangeInfo request at a time, the others wait for it.
    listing: Arc<tokio::sync::Mutex<ListingCache>>,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<i64>,
}

enum Attempt {
    Done(Result<Arc<[Candle]>, MarketError>),
    Retry(MarketError, Option<Duration>),
}

impl BinanceClient {
    pub fn new(settings: BinanceSettings) -> Result<Self, MarketError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("chainsignal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MarketError::Unavailable(format!("HTTP client: {e}")))?;
        let klines_url = format!("{}/api/v3/klines", settings.base_url.trim_end_matches('/'));
        let exchange_info_url = format!("{}/api/v3/exchangeInfo", settings.base_url.trim_end_matches('/'));
        Ok(Self {
            http,
            settings: Arc::new(settings),
            klines_url,
            gate: Arc::default(),
            exchange_info_url,
            listing: Arc::default(),
        })
    }

    fn lock_gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long to hold the next request, or an error when the wait is too long.
    fn pause_before_send(&self) -> Result<Option<Duration>, MarketError> {
        let gate = self.lock_gate();
        let now = Instant::now();
        if let Some(until) = gate.blocked_until.filter(|u| *u > now) {
            let wait = until - now;
            if wait > self.settings.max_retry_after {
                return Err(MarketError::RateLimited {
                    retry_after: Some(wait),
                });
            }
            return Ok(Some(wait));
        }
        Ok(weight_pause(
            gate.used_weight,
            self.settings.weight_soft_limit,
            gate.weight_minute,
            unix_millis(),
        ))
    }

    fn note_headers(&self, headers: &HeaderMap) {
        if let Some(used) = headers
            .get(WEIGHT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok())
        {
            let minute = unix_millis() / 60_000;
            let mut gate = self.lock_gate();
            if minute > gate.weight_minute || used > gate.used_weight {
                gate.used_weight = used;
                gate.weight_minute = minute;
            }
            if used >= self.settings.weight_soft_limit {
                tracing::warn!(
                    used,
                    limit = self.settings.weight_soft_limit,
                    "Binance request weight near the limit; slowing down"
                );
            }
        }
    }

    fn block_for(&self, wait: Duration) {
        // Capped again here: an instant plus an unbounded duration overflows (a panic).
        let until = Instant::now() + wait.min(crate::pacing::MAX_SERVER_WAIT);
        let mut gate = self.lock_gate();
        if gate.blocked_until.is_none_or(|u| u < until) {
            gate.blocked_until = Some(until);
        }
    }

    async fn attempt(&self, symbol: &Symbol, interval: Interval, limit: u16) -> Attempt {
        let request = self.http.get(&self.klines_url).query(&[
            ("symbol", symbol.as_str()),
            ("interval", interval.as_binance()),
            ("limit", &limit.to_string()),
        ]);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                metrics::counter!("chainsignal_outbound_requests_total", "service" => "binance", "status" => "error")
                    .increment(1);
                return Attempt::Retry(transport_error(&e), None);
            }
        };
        self.note_headers(response.headers());
        let status = response.status();
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "binance", "status" => status.as_str().to_string())
            .increment(1);
        if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 418 {
            // 418 means an IP ban is already in place: never retry before it ends.
            let retry_after = retry_after(response.headers()).unwrap_or(if status.as_u16() == 418 {
                Duration::from_secs(120)
            } else {
                Duration::from_secs(1)
            });
            tracing::warn!(status = status.as_u16(), ?retry_after, "Binance rate limit hit");
            self.block_for(retry_after);
            let err = MarketError::RateLimited {
                retry_after: Some(retry_after),
            };
            return if retry_after <= self.settings.max_retry_after {
                Attempt::Retry(err, Some(Duration::ZERO))
            } else {
                Attempt::Done(Err(err))
            };
        }
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Retry(transport_error(&e), None),
        };
        if status.is_server_error() {
            return Attempt::Retry(
                MarketError::Unavailable(format!("HTTP {}", status.as_u16())),
                None,
            );
        }
        if status.is_client_error() {
            let code = serde_json::from_slice::<ApiError>(&body)
                .ok()
                .and_then(|e| e.code);
            return Attempt::Done(Err(if code == Some(INVALID_SYMBOL) {
                MarketError::UnknownSymbol
            } else {
                MarketError::Rejected {
                    status: status.as_u16(),
                    code,
                }
            }));
        }
        Attempt::Done(parse_klines(&body).map(Arc::from))
    }
}

impl BinanceClient {
    /// The listing: kept for [`LISTING_TTL`], fetched again early (at most every
    /// [`LISTING_MISS_REFRESH`]) when it misses one of `wanted`. `None` while
    /// exchangeInfo fails: the caller then asks for candles, as before.
    async fn cached_listing(&self, wanted: &[Symbol]) -> Option<Arc<Listing>> {
        let mut cache = self.listing.lock().await;
        let now = Instant::now();
        let kept = cache
            .fetched
            .as_ref()
            .filter(|(at, _)| now.duration_since(*at) < LISTING_TTL)
            .map(|(at, l)| (now.duration_since(*at), l.clone()));
        if let Some((age, listing)) = &kept {
            let misses = wanted.iter().any(|s| listing.get(s).is_none());
            if !misses || *age < LISTING_MISS_REFRESH {
                return Some(listing.clone());
            }
        }
        if cache
            .failed_at
            .is_some_and(|at| now.duration_since(at) < LISTING_RETRY)
        {
            return kept.map(|(_, l)| l);
        }
        match self.fetch_listing().await {
            Ok(listing) => {
                tracing::debug!(symbols = listing.len(), "Binance listing fetched");
                let listing = Arc::new(listing);
                cache.fetched = Some((Instant::now(), listing.clone()));
                cache.failed_at = None;
                Some(listing)
            }
            Err(e) => {
                tracing::warn!(error = %e, "Binance exchangeInfo unavailable; asking for each symbol's candles instead");
                cache.failed_at = Some(Instant::now());
                kept.map(|(_, l)| l)
            }
        }
    }

    /// One `GET /api/v3/exchangeInfo` (weight 20), not retried: a failure only means
    /// unknown symbols cost their klines requests for a while.
    async fn fetch_listing(&self) -> Result<Listing, MarketError> {
        if let Some(wait) = self.pause_before_send()? {
            tokio::time::sleep(wait).await;
        }
        let request = self
            .http
            .get(&self.exchange_info_url)
            .query(&[("showPermissionSets", "false")]);
        let mut response = request.send().await.map_err(|e| transport_error(&e))?;
        self.note_headers(response.headers());
        let status = response.status();
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "binance", "status" => status.as_str().to_string())
            .increment(1);
        if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 418 {
            let wait = retry_after(response.headers()).unwrap_or(Duration::from_secs(60));
            self.block_for(wait);
            return Err(MarketError::RateLimited {
                retry_after: Some(wait),
            });
        }
        if !status.is_success() {
            return Err(MarketError::Unavailable(format!(
                "exchangeInfo: HTTP {}",
                status.as_u16()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
            if body.len() + chunk.len() > LISTING_MAX_BYTES {
                return Err(MarketError::InvalidData("exchangeInfo is too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        parse_exchange_info(&body)
    }
}

/// The symbols of an exchangeInfo answer (other fields are ignored).
pub fn parse_exchange_info(body: &[u8]) -> Result<Listing, MarketError> {
    #[derive(Deserialize)]
    struct ExchangeInfo {
        symbols: Vec<SymbolInfo>,
    }
    let info: ExchangeInfo = serde_json::from_slice(body)
        .map_err(|e| MarketError::InvalidData(format!("exchangeInfo could not be read: {e}")))?;
    Ok(Listing::new(info.symbols))
}

#[async_trait]
impl MarketData for BinanceClient {
    fn source(&self) -> Source {
        Source::Binance
    }

    async fn listing(&self, wanted: &[Symbol]) -> Option<Arc<Listing>> {
        self.cached_listing(wanted).await
    }

    async fn klines(
        &self,
        symbol: &Symbol,
        interval: Interval,
        limit: u16,
    ) -> Result<Arc<[Candle]>, MarketError> {
        // Retried on 5xx, timeouts, connection errors and a 429 whose `Retry-After` fits the
        // budget, with exponential backoff. A server-dictated wait is not a backoff delay:
        // `attempt` records it in the gate (and asks for a zero delay), so the next try
        // waits in `pause_before_send` — as does every other caller meanwhile.
        let backoff = ExponentialBuilder::new()
            .with_min_delay(self.settings.backoff)
            .with_factor(2.0)
            .without_max_delay()
            .with_max_times(self.settings.max_retries as usize);
        let mut attempt = 0;
        let once = || async {
            if let Some(wait) = self.pause_before_send().map_err(Failure::Final)? {
                tokio::time::sleep(wait).await;
            }
            match self.attempt(symbol, interval, limit).await {
                Attempt::Done(result) => result.map_err(Failure::Final),
                Attempt::Retry(err, delay) => Err(Failure::Retry(err, delay)),
            }
        };
        once.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f| matches!(f, Failure::Retry(..)))
            .adjust(|f, backoff| match f {
                Failure::Retry(_, Some(delay)) => backoff.map(|_| *delay),
                _ => backoff,
            })
            .notify(|f, _| {
                attempt += 1;
                tracing::debug!(%symbol, attempt, error = %f.error(), "retrying Binance request");
            })
            .await
            .map_err(Failure::into_error)
    }
}

/// How one klines try ended, for the retry policy.
enum Failure {
    /// Not worth another try (or the gate says no).
    Final(MarketError),
    /// Worth another try; `Some` is the delay the try asked for instead of the backoff.
    Retry(MarketError, Option<Duration>),
}

impl Failure {
    fn error(&self) -> &MarketError {
        match self {
            Failure::Final(e) | Failure::Retry(e, _) => e,
        }
    }

    fn into_error(self) -> MarketError {
        match self {
            Failure::Final(e) | Failure::Retry(e, _) => e,
        }
    }
}

fn transport_error(e: &reqwest::Error) -> MarketError {
    if e.is_timeout() {
        MarketError::Timeout
    } else if e.is_connect() {
        MarketError::Unavailable("connection failed".into())
    } else {
        MarketError::Unavailable("request failed".into())
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `Retry-After` in seconds (Binance sends an integer), capped at
/// [`MAX_SERVER_WAIT`](crate::pacing::MAX_SERVER_WAIT); `None` when absent or unreadable
/// (NaN, negative, not a number), so that the caller's default applies.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs = v
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)?;
    Some(crate::pacing::server_wait_secs(secs, Duration::ZERO))
}

/// When the weight reported this minute is at or above the soft limit, wait until the
/// next minute starts (Binance's window is the calendar minute).
pub(crate) fn weight_pause(used: u32, soft_limit: u32, minute: u64, now_ms: u64) -> Option<Duration> {
    if used < soft_limit || now_ms / 60_000 != minute {
        return None;
    }
    let next_minute_ms = (minute + 1) * 60_000;
    Some(Duration::from_millis(next_minute_ms.saturating_sub(now_ms) + 50))
}

fn parse_klines(body: &[u8]) -> Result<Vec<Candle>, MarketError> {
    let rows: Vec<Vec<Value>> = serde_json::from_slice(body)
        .map_err(|e| MarketError::InvalidData(format!("klines are not an array of arrays: {e}")))?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let bad = || MarketError::InvalidData(format!("kline {i} is malformed"));
            let num = |j: usize| -> Result<f64, MarketError> {
                let v = row.get(j).ok_or_else(bad)?;
                let x = match v {
                    Value::String(s) => s.parse::<f64>().map_err(|_| bad())?,
                    Value::Number(n) => n.as_f64().ok_or_else(bad)?,
                    _ => return Err(bad()),
                };
                if x.is_finite() { Ok(x) } else { Err(bad()) }
            };
            let open_time = row.first().and_then(Value::as_i64).ok_or_else(bad)?;
            Ok(Candle {
                open_time,
                open: num(1)?,
                high: num(2)?,
                low: num(3)?,
                close: num(4)?,
                volume: num(5).unwrap_or(0.0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binance_klines() {
        let body = br#"[[1700000000000,"1.5","2.0","1.0","1.75","10",1700003599999,"17.5",3,"5","8","0"],
                        [1700003600000,1.75,2.5,1.5,2.25,"11",0,"0",0,"0","0","0"]]"#;
        let c = parse_klines(body).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].close, 1.75);
        assert_eq!(c[1].high, 2.5);
        assert!(parse_klines(b"{}").is_err());
        assert!(parse_klines(br#"[[1,"x","1","1","1","1"]]"#).is_err());
        assert!(parse_klines(br#"[[1]]"#).is_err());
    }

    #[test]
    fn parses_exchange_info() {
        let body = br#"{"timezone":"UTC","serverTime":1,"rateLimits":[],"exchangeFilters":[],
            "symbols":[{"symbol":"ETHBTC","status":"TRADING","baseAsset":"ETH","baseAssetPrecision":8,
                        "quoteAsset":"BTC","filters":[{"filterType":"LOT_SIZE","minQty":"0.0001"}]},
                       {"symbol":"LUNAUSDT","status":"BREAK","baseAsset":"LUNA","quoteAsset":"USDT"}]}"#;
        let l = parse_exchange_info(body).unwrap();
        assert_eq!(l.len(), 2);
        let eth = Symbol::from_normalized("ETHBTC");
        assert!(l.is_trading(&eth));
        assert_eq!(l.get(&eth).unwrap().base_asset, "ETH");
        assert!(!l.is_trading(&Symbol::from_normalized("LUNAUSDT")));
        assert!(!l.is_trading(&Symbol::from_normalized("NOPEUSDT")));
        assert!(parse_exchange_info(b"[]").is_err());
        assert!(parse_exchange_info(br#"{"symbols":[{"symbol":"X"}]}"#).is_err());
    }

    #[test]
    fn slows_down_near_the_weight_limit() {
        let minute = 28_000_000;
        let now = minute * 60_000 + 45_000;
        assert_eq!(weight_pause(100, 5_000, minute, now), None);
        assert_eq!(
            weight_pause(5_500, 5_000, minute, now),
            Some(Duration::from_millis(15_050))
        );
        // A report from an earlier minute no longer counts.
        assert_eq!(weight_pause(5_900, 5_000, minute - 1, now), None);
    }
}
