//! A fake Binance spot REST API on 127.0.0.1: `GET /api/v3/klines` with deterministic
//! candles, and per-symbol misbehaviour: unknown symbol (400, code -1121), 429 with
//! `Retry-After`, 418, 500, a response slower than any sane timeout, and an injected
//! latency for benchmarks. `GET /api/v3/exchangeInfo` lists the listed symbols (with a
//! settable status, or failing with 500 on demand). Every klines request is recorded;
//! every request is counted per path.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A candle as the fake serves it (Binance sends prices as decimal strings).
#[derive(Debug, Clone, PartialEq)]
pub struct Kline {
    pub open_time: i64,
    pub open: String,
    pub high: String,
    pub low: String,
    pub close: String,
}

/// `hours` candles flat at 100 (high/low ±0.5), the last one `jump` % away, ending at
/// the current hour: a sharp move for the alert checks.
pub fn flat_then_jump(hours: usize, jump: f64) -> Vec<Kline> {
    let now_h = unix_now_secs() / 3600;
    (0..hours)
        .map(|i| {
            let close = if i + 1 == hours {
                100.0 * (1.0 + jump / 100.0)
            } else {
                100.0
            };
            Kline {
                open_time: (now_h - (hours - 1 - i) as i64) * 3_600_000,
                open: "100".into(),
                high: format!("{}", close.max(100.0) + 0.5),
                low: format!("{}", close.min(100.0) - 0.5),
                close: format!("{close}"),
            }
        })
        .collect()
}

fn unix_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// How the fake answers for one symbol. Failures apply to the first `times` requests
/// for that symbol, then it answers normally.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    Normal,
    ServerError { times: u32 },
    RateLimited { retry_after_secs: u64, times: u32 },
    Banned { retry_after_secs: u64 },
    Slow(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub symbol: String,
    pub interval: String,
    pub limit: Option<u32>,
}

#[derive(Default)]
struct Listed {
    hourly: Vec<Kline>,
    daily: Vec<Kline>,
}

#[derive(Default)]
struct Inner {
    listed: Mutex<HashMap<String, Listed>>,
    behaviour: Mutex<HashMap<String, (Behaviour, u32)>>,
    requests: Mutex<Vec<Request>>,
    latency: Mutex<Duration>,
    used_weight: AtomicU32,
    weight_base: AtomicU32,
    arrived: tokio::sync::Notify,
    /// Requests per path, every route.
    per_path: Mutex<HashMap<String, usize>>,
    /// `status` of a symbol in exchangeInfo when not TRADING (e.g. BREAK).
    status: Mutex<HashMap<String, String>>,
    exchange_info_fails: std::sync::atomic::AtomicBool,
}

pub struct FakeBinance {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeBinance {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Deserialize)]
struct KlinesQuery {
    symbol: Option<String>,
    interval: Option<String>,
    limit: Option<u32>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeBinance {
    /// Start on 127.0.0.1 with a free port, listing nothing yet.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/api/v3/klines", get(klines))
            .route("/api/v3/exchangeInfo", get(exchange_info))
            .layer(axum::middleware::from_fn_with_state(inner.clone(), count_path))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner, task }
    }

    /// Start listing the usual watchlist with generated data.
    pub async fn with_watchlist() -> Self {
        let fake = Self::start().await;
        for (i, s) in [
            "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "TAOUSDT", "DASHUSDT", "HEMIUSDT", "PYTHUSDT",
        ]
        .iter()
        .enumerate()
        {
            fake.list_generated(s, 1000 + i as u64);
        }
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn list(&self, symbol: &str, hourly: Vec<Kline>, daily: Vec<Kline>) {
        lock(&self.inner.listed).insert(symbol.into(), Listed { hourly, daily });
    }

    /// List `symbol` with 300 hourly and 400 daily candles from `seed`.
    pub fn list_generated(&self, symbol: &str, seed: u64) {
        self.list(
            symbol,
            generate(seed, 300, 3_600_000),
            generate(seed ^ 0xD1CE, 400, 86_400_000),
        );
    }

    pub fn set_behaviour(&self, symbol: &str, behaviour: Behaviour) {
        lock(&self.inner.behaviour).insert(symbol.into(), (behaviour, 0));
    }

    /// Delay every answer by `latency` (benchmarks).
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.inner.latency) = latency;
    }

    /// The `X-MBX-USED-WEIGHT-1M` the next answers report (plus 2 per request).
    pub fn set_used_weight(&self, weight: u32) {
        self.inner.weight_base.store(weight, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Request> {
        lock(&self.inner.requests).clone()
    }

    /// Wait until at least `n` requests have arrived (or panic after `timeout`).
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) {
        let wait = async {
            loop {
                let notified = self.inner.arrived.notified();
                if self.request_count() >= n {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            panic!(
                "{n} requests did not arrive in {timeout:?}: {:?}",
                self.requests()
            );
        }
    }

    pub fn request_count(&self) -> usize {
        lock(&self.inner.requests).len()
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// How many requests arrived for `path` (e.g. `/api/v3/exchangeInfo`), any answer.
    pub fn requests_to(&self, path: &str) -> usize {
        lock(&self.inner.per_path).get(path).copied().unwrap_or(0)
    }

    /// Requests for `/api/v3/exchangeInfo`.
    pub fn exchange_info_requests(&self) -> usize {
        self.requests_to("/api/v3/exchangeInfo")
    }

    /// The `status` exchangeInfo gives `symbol` (listed symbols are `TRADING` otherwise).
    pub fn set_status(&self, symbol: &str, status: &str) {
        lock(&self.inner.status).insert(symbol.into(), status.into());
    }

    /// Make exchangeInfo answer HTTP 500 (true) or normally (false).
    pub fn fail_exchange_info(&self, fail: bool) {
        self.inner.exchange_info_fails.store(fail, Ordering::SeqCst);
    }

    /// The served candles of a symbol (what a client would get with limit 1000).
    pub fn klines(&self, symbol: &str, interval: &str) -> Vec<Kline> {
        let listed = lock(&self.inner.listed);
        listed
            .get(symbol)
            .map(|l| {
                if interval == "1d" {
                    l.daily.clone()
                } else {
                    l.hourly.clone()
                }
            })
            .unwrap_or_default()
    }
}

/// A deterministic random walk with wicks, ending near now, prices as 8-decimal strings.
pub fn generate(seed: u64, count: usize, step_ms: i64) -> Vec<Kline> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64) / ((1u64 << 31) as f64)
    };
    let base = 0.5 + next() * 50_000.0;
    let mut price = base;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let start = (now_ms / step_ms - count as i64 + 1) * step_ms;
    (0..count)
        .map(|i| {
            let open = price;
            price *= 1.0 + (next() - 0.5) * 0.04;
            let close = price;
            let high = open.max(close) * (1.0 + next() * 0.01);
            let low = open.min(close) * (1.0 - next() * 0.01);
            Kline {
                open_time: start + i as i64 * step_ms,
                open: format!("{open:.8}"),
                high: format!("{high:.8}"),
                low: format!("{low:.8}"),
                close: format!("{close:.8}"),
            }
        })
        .collect()
}

async fn count_path(
    State(inner): State<Arc<Inner>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    *lock(&inner.per_path)
        .entry(request.uri().path().to_string())
        .or_default() += 1;
    next.run(request).await
}

/// The base and quote assets of a listed symbol, split at a known quote.
fn split_symbol(symbol: &str) -> (String, String) {
    for quote in ["USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB"] {
        if let Some(base) = symbol.strip_suffix(quote)
            && !base.is_empty()
        {
            return (base.into(), quote.into());
        }
    }
    (symbol.into(), String::new())
}

/// Binance's exchangeInfo shape, with the fields a client may read and a few filters.
async fn exchange_info(State(inner): State<Arc<Inner>>) -> Response {
    if inner.exchange_info_fails.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    }
    let mut names: Vec<String> = lock(&inner.listed).keys().cloned().collect();
    names.sort();
    let status = lock(&inner.status).clone();
    let symbols: Vec<serde_json::Value> = names
        .iter()
        .map(|name| {
            let (base, quote) = split_symbol(name);
            json!({
                "symbol": name,
                "status": status.get(name).map(String::as_str).unwrap_or("TRADING"),
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": true,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01000000", "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
                    {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}
                ],
                "permissions": [],
                "permissionSets": [["SPOT", "MARGIN"]]
            })
        })
        .collect();
    let body = json!({
        "timezone": "UTC",
        "serverTime": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}
        ],
        "exchangeFilters": [],
        "symbols": symbols
    });
    let mut headers = HeaderMap::new();
    let used = inner.weight_base.load(Ordering::SeqCst) + 20;
    headers.insert("x-mbx-used-weight-1m", HeaderValue::from(used));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, body.to_string()).into_response()
}

async fn klines(State(inner): State<Arc<Inner>>, Query(q): Query<KlinesQuery>) -> Response {
    let symbol = q.symbol.clone().unwrap_or_default();
    let interval = q.interval.clone().unwrap_or_default();
    lock(&inner.requests).push(Request {
        symbol: symbol.clone(),
        interval: interval.clone(),
        limit: q.limit,
    });
    inner.arrived.notify_waiters();
    let used =
        inner.weight_base.load(Ordering::SeqCst) + 2 * (inner.used_weight.fetch_add(1, Ordering::SeqCst) + 1);
    let mut headers = HeaderMap::new();
    headers.insert("x-mbx-used-weight-1m", HeaderValue::from(used));

    let latency = *lock(&inner.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let behaviour = {
        let mut map = lock(&inner.behaviour);
        match map.get_mut(&symbol) {
            Some((b, seen)) => {
                *seen += 1;
                Some((b.clone(), *seen))
            }
            None => None,
        }
    };
    match behaviour {
        Some((Behaviour::ServerError { times }, seen)) if seen <= times => {
            return (StatusCode::INTERNAL_SERVER_ERROR, headers, "internal error").into_response();
        }
        Some((
            Behaviour::RateLimited {
                retry_after_secs,
                times,
            },
            seen,
        )) if seen <= times => {
            headers.insert("retry-after", HeaderValue::from(retry_after_secs));
            let body = json!({"code": -1003, "msg": "Too many requests."});
            return (StatusCode::TOO_MANY_REQUESTS, headers, body.to_string()).into_response();
        }
        Some((Behaviour::Banned { retry_after_secs }, _)) => {
            headers.insert("retry-after", HeaderValue::from(retry_after_secs));
            let body = json!({"code": -1003, "msg": "Way too many requests; IP banned."});
            return (StatusCode::IM_A_TEAPOT, headers, body.to_string()).into_response();
        }
        Some((Behaviour::Slow(d), _)) => tokio::time::sleep(d).await,
        _ => {}
    }
    let listed = lock(&inner.listed);
    let Some(data) = listed.get(&symbol) else {
        let body = json!({"code": -1121, "msg": "Invalid symbol."});
        return (StatusCode::BAD_REQUEST, headers, body.to_string()).into_response();
    };
    let series = match interval.as_str() {
        "1h" => &data.hourly,
        "1d" => &data.daily,
        _ => {
            let body = json!({"code": -1120, "msg": "Invalid interval."});
            return (StatusCode::BAD_REQUEST, headers, body.to_string()).into_response();
        }
    };
    let limit = q.limit.unwrap_or(500).clamp(1, 1000) as usize;
    let skip = series.len().saturating_sub(limit);
    let rows: Vec<serde_json::Value> = series[skip..]
        .iter()
        .map(|k| {
            json!([
                k.open_time,
                k.open,
                k.high,
                k.low,
                k.close,
                "100.0",
                k.open_time + 3_599_999,
                "1000.0",
                10,
                "50.0",
                "500.0",
                "0"
            ])
        })
        .collect();
    (
        StatusCode::OK,
        headers,
        serde_json::Value::Array(rows).to_string(),
    )
        .into_response()
}
