//! A fake Binance spot REST API on 127.0.0.1: `GET /api/v3/klines` with deterministic
//! candles, and per-symbol misbehaviour: unknown symbol (400, code -1121), 429 with
//! `Retry-After`, 418, 500, a response slower than any sane timeout, and an injected
//! latency for benchmarks. `GET /api/v3/exchangeInfo` lists the listed symbols (with a
//! settable status, or failing with 500 on demand). Every klines request is recorded;
//! every request is counted per path.
//!
//! Trading (see [`MarketSpec`], [`FakeBinance::add_key`]): signed endpoints that check
//! like Binance does: a known `X-MBX-APIKEY` (-2014/-2015, an IP-restricted key whose
//! list misses 127.0.0.1 gets -2015 naming the request IP), the HMAC-SHA256 signature
//! of the exact query string followed by the body (-1022), `timestamp` within
//! `recvWindow` of the fake's clock, which can be set off (-1021); `/api/v3/time`,
//! `/api/v3/account`, `/sapi/v1/account/apiRestrictions` (404 on a testnet fake),
//! exchangeInfo filters per symbol, `bookTicker`, MARKET orders enforcing LOT_SIZE,
//! NOTIONAL (-1013), balances (-2010), client-id idempotency (-2010 "Duplicate order
//! sent."), fills walking a settable book with commission in the quote, base or BNB,
//! an injectable timeout after (or before) the order is placed, `GET /api/v3/order`,
//! `GET /api/v3/myTrades`, and canned answers per path (429, 418, garbage).

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_decimal::Decimal;
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
    /// Requests per (method, path), every route.
    per_method_path: Mutex<HashMap<(String, String), usize>>,
    /// `status` of a symbol in exchangeInfo when not TRADING (e.g. BREAK).
    status: Mutex<HashMap<String, String>>,
    exchange_info_fails: std::sync::atomic::AtomicBool,
    /// Accounts, markets and orders of the signed endpoints.
    trading: Mutex<Trading>,
    /// Answers queued per path, served before anything else.
    canned: Mutex<HashMap<String, std::collections::VecDeque<Canned>>>,
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
            .route("/api/v3/time", get(server_time))
            .route("/api/v3/account", get(account))
            .route("/sapi/v1/account/apiRestrictions", get(api_restrictions))
            .route("/api/v3/ticker/bookTicker", get(book_ticker))
            .route("/api/v3/order", get(query_order).post(new_order))
            .route("/api/v3/myTrades", get(my_trades))
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

    /// Delay every answer by `latency` (benchmarks), on every route.
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

    /// How many `method` requests arrived for `path` (e.g. `POST /api/v3/order`: orders
    /// sent, as opposed to looked up), any answer.
    pub fn requests_with(&self, method: &str, path: &str) -> usize {
        lock(&self.inner.per_method_path)
            .get(&(method.to_ascii_uppercase(), path.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Wait until at least `n` requests have arrived for `path` (any answer), or panic
    /// after `timeout`.
    pub async fn wait_for_path_requests(&self, path: &str, n: usize, timeout: Duration) {
        let wait = async {
            loop {
                let notified = self.inner.arrived.notified();
                if self.requests_to(path) >= n {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            panic!(
                "{n} requests to {path} did not arrive in {timeout:?} (seen {})",
                self.requests_to(path)
            );
        }
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
    let path = request.uri().path().to_string();
    *lock(&inner.per_path).entry(path.clone()).or_default() += 1;
    *lock(&inner.per_method_path)
        .entry((request.method().as_str().to_string(), path.clone()))
        .or_default() += 1;
    inner.arrived.notify_waiters();
    // The injected latency, for every route (klines sleeps in its handler, after
    // recording the request, so that a request is seen as soon as it arrives).
    let latency = *lock(&inner.latency);
    if !latency.is_zero() && path != "/api/v3/klines" {
        tokio::time::sleep(latency).await;
    }
    let canned = lock(&inner.canned).get_mut(&path).and_then(|q| q.pop_front());
    if let Some(c) = canned {
        let mut headers = HeaderMap::new();
        for (k, v) in &c.headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, headers, c.body).into_response();
    }
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
async fn exchange_info(
    State(inner): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if inner.exchange_info_fails.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
    }
    let markets = lock(&inner.trading).markets.clone();
    let mut names: Vec<String> = lock(&inner.listed)
        .keys()
        .filter(|n| !markets.contains_key(*n))
        .cloned()
        .collect();
    names.sort();
    let mut market_names: Vec<&String> = markets.keys().collect();
    market_names.sort();
    if let Some(wanted) = q.get("symbol") {
        names.retain(|n| n == wanted);
        market_names.retain(|n| *n == wanted);
        if names.is_empty() && market_names.is_empty() {
            return binance_error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol.");
        }
    }
    let status = lock(&inner.status).clone();
    let market_symbols = market_names.iter().map(|name| {
        let m = &markets[*name];
        json!({
            "symbol": m.symbol,
            "status": status.get(*name).map(String::as_str).unwrap_or("TRADING"),
            "baseAsset": m.base,
            "baseAssetPrecision": 8,
            "quoteAsset": m.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "isSpotTradingAllowed": true,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": m.tick_size.to_string(), "maxPrice": "1000000.00000000", "tickSize": m.tick_size.to_string()},
                {"filterType": "LOT_SIZE", "minQty": m.min_qty.to_string(), "maxQty": m.max_qty.to_string(), "stepSize": m.step_size.to_string()},
                {"filterType": "NOTIONAL", "minNotional": m.min_notional.to_string(), "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]]
        })
    });
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
        .chain(market_symbols)
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

// ---------------------------------------------------------------------------------
// Trading: signed endpoints that check like Binance.
// ---------------------------------------------------------------------------------

/// One tradable symbol: its filters and its book. Prices and sizes are decimal strings.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketSpec {
    pub symbol: String,
    pub base: String,
    pub quote: String,
    pub bid: Decimal,
    pub ask: Decimal,
    /// Levels a BUY walks (price ascending) and a SELL walks (price descending), each
    /// (price, quantity); the last level takes whatever remains. Empty: one level at
    /// the ask / the bid.
    pub asks: Vec<(Decimal, Decimal)>,
    pub bids: Vec<(Decimal, Decimal)>,
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    pub min_notional: Decimal,
    pub tick_size: Decimal,
}

/// A decimal from a literal the tests write (`"0.001"`); panics on a typo in a test.
pub fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

impl MarketSpec {
    /// Bid/ask 100/100.1, step and minQty 0.001, maxQty 9000, min notional 5, tick 0.01.
    pub fn new(symbol: &str, base: &str, quote: &str) -> Self {
        Self {
            symbol: symbol.into(),
            base: base.into(),
            quote: quote.into(),
            bid: d("100"),
            ask: d("100.1"),
            asks: Vec::new(),
            bids: Vec::new(),
            step_size: d("0.001"),
            min_qty: d("0.001"),
            max_qty: d("9000"),
            min_notional: d("5"),
            tick_size: d("0.01"),
        }
    }

    pub fn price(mut self, bid: &str, ask: &str) -> Self {
        self.bid = d(bid);
        self.ask = d(ask);
        self
    }

    pub fn lot(mut self, step: &str, min_qty: &str, max_qty: &str) -> Self {
        self.step_size = d(step);
        self.min_qty = d(min_qty);
        self.max_qty = d(max_qty);
        self
    }

    pub fn min_notional(mut self, min: &str) -> Self {
        self.min_notional = d(min);
        self
    }

    /// Ask levels a BUY walks, e.g. `[("100", "0.5"), ("101", "1")]`.
    pub fn asks(mut self, levels: &[(&str, &str)]) -> Self {
        self.asks = levels.iter().map(|(p, q)| (d(p), d(q))).collect();
        self
    }
}

/// Which asset the fake charges commission in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommissionAsset {
    Quote,
    Base,
    Bnb,
}

/// Something to go wrong with the next order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFault {
    /// The order is placed and recorded, but its answer comes only after 60 s.
    TimeoutAfterPlacing,
    /// The request is held 60 s and then dropped: no order is placed.
    TimeoutBeforePlacing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FakeFill {
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
    pub trade_id: i64,
}

/// An order the fake placed.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOrder {
    pub api_key: String,
    pub order_id: i64,
    pub client_order_id: String,
    pub symbol: String,
    pub side: String,
    pub executed_qty: Decimal,
    pub quote_qty: Decimal,
    pub fills: Vec<FakeFill>,
    pub transact_time: i64,
    /// What was asked (`executed_qty` is what filled).
    pub orig_qty: Decimal,
    /// `FILLED`, or `EXPIRED` when a thin book (see [`FakeBinance::set_liquidity`])
    /// filled less than asked, nothing included.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq)]
struct FakeKey {
    secret: String,
    /// Free balances: what an order may spend.
    balances: HashMap<String, Decimal>,
    /// Locked balances (held by open orders elsewhere): shown, never spendable.
    locked: HashMap<String, Decimal>,
    withdrawals: bool,
    ip_restrict: bool,
    ip_allowed: bool,
}

#[derive(Debug, Clone)]
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

struct Trading {
    keys: HashMap<String, FakeKey>,
    markets: HashMap<String, MarketSpec>,
    orders: Vec<FakeOrder>,
    next_id: i64,
    faults: std::collections::VecDeque<OrderFault>,
    signatures: Vec<String>,
    skew_ms: i64,
    testnet: bool,
    commission_asset: CommissionAsset,
    commission_bps: u32,
    bnb_price: Decimal,
    /// Binance's real rule: a client id is a duplicate only among open orders, and a
    /// filled MARKET order is not open, so its id can be used again.
    open_only_duplicates: bool,
    /// By symbol: the most a MARKET order fills (a thin book); absent: unlimited.
    liquidity: HashMap<String, Decimal>,
}

impl Default for Trading {
    fn default() -> Self {
        Self {
            keys: HashMap::new(),
            markets: HashMap::new(),
            orders: Vec::new(),
            next_id: 1000,
            faults: Default::default(),
            signatures: Vec::new(),
            skew_ms: 0,
            testnet: false,
            commission_asset: CommissionAsset::Base,
            commission_bps: 10,
            bnb_price: d("500"),
            open_only_duplicates: false,
            liquidity: HashMap::new(),
        }
    }
}

impl FakeBinance {
    /// A fake of the spot testnet: as [`start`](Self::start), but `/sapi` answers 404.
    pub async fn start_testnet() -> Self {
        let fake = Self::start().await;
        fake.trading().testnet = true;
        fake
    }

    fn trading(&self) -> std::sync::MutexGuard<'_, Trading> {
        lock(&self.inner.trading)
    }

    /// Register an API key with its secret: no funds, withdrawals off, restricted to an
    /// IP list that contains 127.0.0.1 (the posture a live key must have).
    pub fn add_key(&self, api_key: &str, secret: &str) {
        self.trading().keys.insert(
            api_key.into(),
            FakeKey {
                secret: secret.into(),
                balances: HashMap::new(),
                locked: HashMap::new(),
                withdrawals: false,
                ip_restrict: true,
                ip_allowed: true,
            },
        );
    }

    /// What `apiRestrictions` says of the key, and whether 127.0.0.1 is on its list
    /// (`false` with `ip_restrict`: every signed call gets -2015 naming the IP).
    pub fn set_key_restrictions(
        &self,
        api_key: &str,
        withdrawals: bool,
        ip_restrict: bool,
        ip_allowed: bool,
    ) {
        if let Some(k) = self.trading().keys.get_mut(api_key) {
            k.withdrawals = withdrawals;
            k.ip_restrict = ip_restrict;
            k.ip_allowed = ip_allowed;
        }
    }

    pub fn set_balance(&self, api_key: &str, asset: &str, amount: &str) {
        if let Some(k) = self.trading().keys.get_mut(api_key) {
            k.balances.insert(asset.into(), d(amount));
        }
    }

    /// `amount` of `asset` held by the account's open orders (as Binance's `locked`):
    /// counted in `/api/v3/account`, but a new order can only spend the free balance.
    pub fn set_locked(&self, api_key: &str, asset: &str, amount: &str) {
        if let Some(k) = self.trading().keys.get_mut(api_key) {
            k.locked.insert(asset.into(), d(amount));
        }
    }

    pub fn balance(&self, api_key: &str, asset: &str) -> Decimal {
        self.trading()
            .keys
            .get(api_key)
            .and_then(|k| k.balances.get(asset).copied())
            .unwrap_or_default()
    }

    /// The fake's clock runs `skew_ms` ahead of the real one (negative: behind).
    pub fn set_clock_skew_ms(&self, skew_ms: i64) {
        self.trading().skew_ms = skew_ms;
    }

    pub fn add_market(&self, spec: MarketSpec) {
        self.trading().markets.insert(spec.symbol.clone(), spec);
    }

    pub fn set_price(&self, symbol: &str, bid: &str, ask: &str) {
        if let Some(m) = self.trading().markets.get_mut(symbol) {
            m.bid = d(bid);
            m.ask = d(ask);
        }
    }

    /// Commission of each fill: `bps` of it, in `asset` (BNB at [`set_bnb_price`]).
    pub fn set_commission(&self, asset: CommissionAsset, bps: u32) {
        let mut t = self.trading();
        t.commission_asset = asset;
        t.commission_bps = bps;
    }

    /// The BNB price in the quote asset for commissions charged in BNB (default 500).
    pub fn set_bnb_price(&self, price: &str) {
        self.trading().bnb_price = d(price);
    }

    /// `true`: duplicates of client ids as Binance really checks them, among open orders
    /// only (MARKET orders fill at once, so never); `false` (default): any earlier order
    /// with the id makes a new one a duplicate (-2010 "Duplicate order sent.").
    pub fn set_duplicates_only_among_open_orders(&self, open_only: bool) {
        self.trading().open_only_duplicates = open_only;
    }

    /// The next order meets `fault` (queued: one per call).
    /// A thin book: MARKET orders of `symbol` fill at most `max_qty` (rounded down to the
    /// lot step), the rest expires as on Binance (status `EXPIRED`, `executedQty` below
    /// `origQty`, or 0 when nothing fills); balances move only by what filled. `None`:
    /// unlimited again.
    pub fn set_liquidity(&self, symbol: &str, max_qty: Option<Decimal>) {
        let mut t = self.trading();
        match max_qty {
            Some(q) => t.liquidity.insert(symbol.to_string(), q),
            None => t.liquidity.remove(symbol),
        };
    }

    pub fn inject_order_fault(&self, fault: OrderFault) {
        self.trading().faults.push_back(fault);
    }

    /// The next request for `path` gets this answer instead (queued per path).
    pub fn push_canned(&self, path: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        lock(&self.inner.canned)
            .entry(path.into())
            .or_default()
            .push_back(Canned {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                body: body.into(),
            });
    }

    /// Every order placed, in order.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.trading().orders.clone()
    }

    /// Every signature the fake accepted or refused, as received.
    pub fn signatures(&self) -> Vec<String> {
        self.trading().signatures.clone()
    }

    /// Wait until at least `n` orders are placed (or panic after `timeout`).
    pub async fn wait_for_orders(&self, n: usize, timeout: Duration) {
        let wait = async {
            loop {
                let notified = self.inner.arrived.notified();
                if self.trading().orders.len() >= n {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(timeout, wait).await.is_err() {
            panic!("{n} orders were not placed in {timeout:?}: {:?}", self.orders());
        }
    }
}

fn binance_error(status: StatusCode, code: i64, msg: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (status, headers, json!({"code": code, "msg": msg}).to_string()).into_response()
}

fn ok_json(body: serde_json::Value) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, body.to_string()).into_response()
}

fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn hmac_hex(secret: &str, payload: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `raw` without its `signature=` pair, and that signature.
fn strip_signature(raw: &str) -> (String, Option<String>) {
    let mut kept = Vec::new();
    let mut signature = None;
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("signature=") {
            Some(sig) => signature = Some(sig.to_string()),
            None => kept.push(pair),
        }
    }
    (kept.join("&"), signature)
}

/// A signed request, checked as Binance does: the key, its IP list, the signature of
/// the query string followed by the body, the timestamp. The caller's key and the
/// decoded parameters, or Binance's error answer.
fn authenticate(
    inner: &Inner,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &str,
) -> Result<(String, HashMap<String, String>), Box<Response>> {
    let mut t = lock(&inner.trading);
    let api_key = headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if api_key.is_empty() || !api_key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Box::new(binance_error(
            StatusCode::UNAUTHORIZED,
            -2014,
            "API-key format invalid.",
        )));
    }
    let Some(key) = t.keys.get(&api_key).cloned() else {
        return Err(Box::new(binance_error(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        )));
    };
    if key.ip_restrict && !key.ip_allowed {
        return Err(Box::new(binance_error(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1",
        )));
    }
    let (query_payload, query_sig) = strip_signature(query.unwrap_or_default());
    let (body_payload, body_sig) = strip_signature(body);
    let Some(signature) = query_sig.or(body_sig) else {
        return Err(Box::new(binance_error(
            StatusCode::BAD_REQUEST,
            -1102,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        )));
    };
    t.signatures.push(signature.clone());
    let payload = format!("{query_payload}{body_payload}");
    if !hmac_hex(&key.secret, &payload).eq_ignore_ascii_case(&signature) {
        return Err(Box::new(binance_error(
            StatusCode::BAD_REQUEST,
            -1022,
            "Signature for this request is not valid.",
        )));
    }
    let params: HashMap<String, String> = query_payload
        .split('&')
        .chain(body_payload.split('&'))
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .collect();
    let Some(timestamp) = params.get("timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return Err(Box::new(binance_error(
            StatusCode::BAD_REQUEST,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        )));
    };
    let recv_window = params
        .get("recvWindow")
        .and_then(|w| w.parse::<i64>().ok())
        .unwrap_or(5_000);
    if !(0..=60_000).contains(&recv_window) {
        return Err(Box::new(binance_error(
            StatusCode::BAD_REQUEST,
            -1131,
            "recvWindow must be less than 60000",
        )));
    }
    let server_now = unix_now_ms() + t.skew_ms;
    if !(timestamp < server_now + 1_000 && server_now - timestamp <= recv_window) {
        return Err(Box::new(binance_error(
            StatusCode::BAD_REQUEST,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        )));
    }
    Ok((api_key, params))
}

async fn server_time(State(inner): State<Arc<Inner>>) -> Response {
    let skew = lock(&inner.trading).skew_ms;
    ok_json(json!({"serverTime": unix_now_ms() + skew}))
}

async fn account(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let (api_key, params) = match authenticate(&inner, &headers, query.as_deref(), "") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let t = lock(&inner.trading);
    let Some(key) = t.keys.get(&api_key) else {
        return binance_error(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    };
    let omit_zero = params.get("omitZeroBalances").is_some_and(|v| v == "true");
    let mut names: Vec<&String> = key.balances.keys().chain(key.locked.keys()).collect();
    names.sort();
    names.dedup();
    let amount = |m: &HashMap<String, Decimal>, a: &String| m.get(a).copied().unwrap_or_default();
    let balances: Vec<serde_json::Value> = names
        .into_iter()
        .map(|a| (a, amount(&key.balances, a), amount(&key.locked, a)))
        .filter(|(_, free, locked)| !(omit_zero && free.is_zero() && locked.is_zero()))
        .map(|(a, free, locked)| {
            json!({"asset": a, "free": format!("{:.8}", free), "locked": format!("{:.8}", locked)})
        })
        .collect();
    ok_json(json!({
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
        "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": true, "canWithdraw": key.withdrawals, "canDeposit": true, "brokered": false,
        "requireSelfTradePrevention": false, "preventSor": false,
        "updateTime": unix_now_ms(), "accountType": "SPOT",
        "balances": balances, "permissions": ["SPOT"], "uid": 354937868
    }))
}

async fn api_restrictions(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if lock(&inner.trading).testnet {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let (api_key, _) = match authenticate(&inner, &headers, query.as_deref(), "") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let t = lock(&inner.trading);
    let Some(key) = t.keys.get(&api_key) else {
        return binance_error(
            StatusCode::UNAUTHORIZED,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    };
    ok_json(json!({
        "ipRestrict": key.ip_restrict,
        "createTime": 1_700_000_000_000_i64,
        "enableReading": true,
        "enableWithdrawals": key.withdrawals,
        "enableInternalTransfer": false,
        "enableMargin": false,
        "enableFutures": false,
        "permitsUniversalTransfer": false,
        "enableVanillaOptions": false,
        "enableFixApiTrade": false,
        "enableFixReadOnly": false,
        "enableSpotAndMarginTrading": true,
        "enablePortfolioMarginTrading": false
    }))
}

async fn book_ticker(State(inner): State<Arc<Inner>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let t = lock(&inner.trading);
    let row = |m: &MarketSpec| {
        json!({
            "symbol": m.symbol,
            "bidPrice": format!("{:.8}", m.bid), "bidQty": "10.00000000",
            "askPrice": format!("{:.8}", m.ask), "askQty": "10.00000000"
        })
    };
    if let Some(list) = q.get("symbols") {
        let Ok(names) = serde_json::from_str::<Vec<String>>(list) else {
            return binance_error(
                StatusCode::BAD_REQUEST,
                -1100,
                "Illegal characters found in parameter 'symbols'.",
            );
        };
        let mut rows = Vec::new();
        for n in names {
            match t.markets.get(&n) {
                Some(m) => rows.push(row(m)),
                None => return binance_error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol."),
            }
        }
        return ok_json(serde_json::Value::Array(rows));
    }
    match q.get("symbol") {
        Some(s) => match t.markets.get(s) {
            Some(m) => ok_json(row(m)),
            None => binance_error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol."),
        },
        None => {
            let mut names: Vec<&String> = t.markets.keys().collect();
            names.sort();
            ok_json(serde_json::Value::Array(
                names.into_iter().map(|n| row(&t.markets[n])).collect(),
            ))
        }
    }
}

fn order_json(o: &FakeOrder, with_fills: bool) -> serde_json::Value {
    let mut v = json!({
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "transactTime": o.transact_time,
        "price": "0.00000000",
        "origQty": format!("{:.8}", o.orig_qty),
        "executedQty": format!("{:.8}", o.executed_qty),
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": format!("{:.8}", o.quote_qty),
        "status": o.status,
        "timeInForce": "GTC",
        "type": "MARKET",
        "side": o.side,
        "workingTime": o.transact_time,
        "selfTradePreventionMode": "EXPIRE_MAKER"
    });
    if with_fills {
        v["fills"] = o
            .fills
            .iter()
            .map(|f| {
                json!({
                    "price": format!("{:.8}", f.price),
                    "qty": format!("{:.8}", f.qty),
                    "commission": format!("{:.8}", f.commission),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id
                })
            })
            .collect();
    }
    v
}

/// `qty` rounded down to what LOT_SIZE allows (`minQty + k × stepSize`); 0 below minQty.
fn lot_floor(m: &MarketSpec, qty: Decimal) -> Decimal {
    if qty < m.min_qty || qty <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    if m.step_size.is_zero() {
        return qty;
    }
    ((qty - m.min_qty) / m.step_size).floor() * m.step_size + m.min_qty
}

fn lot_size_ok(m: &MarketSpec, qty: Decimal) -> bool {
    if qty < m.min_qty || (m.max_qty > Decimal::ZERO && qty > m.max_qty) || qty <= Decimal::ZERO {
        return false;
    }
    m.step_size.is_zero()
        || (qty - m.min_qty)
            .checked_rem(m.step_size)
            .is_some_and(|r| r.is_zero())
}

async fn new_order(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    body: String,
) -> Response {
    let (api_key, p) = match authenticate(&inner, &headers, query.as_deref(), &body) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match place_order(&inner, &api_key, &p) {
        Placed::Refused(r) => r,
        Placed::Lost => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            (StatusCode::SERVICE_UNAVAILABLE, "gave up").into_response()
        }
        Placed::Done(fault, order) => {
            if fault == Some(OrderFault::TimeoutAfterPlacing) {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            ok_json(order_json(&order, true))
        }
    }
}

enum Placed {
    Refused(Response),
    Lost,
    Done(Option<OrderFault>, FakeOrder),
}

fn place_order(inner: &Inner, api_key: &str, p: &HashMap<String, String>) -> Placed {
    let refuse = |status, code, msg| Placed::Refused(binance_error(status, code, msg));
    {
        let mut t = lock(&inner.trading);
        let Some(m) = p.get("symbol").and_then(|s| t.markets.get(s)).cloned() else {
            return refuse(StatusCode::BAD_REQUEST, -1121, "Invalid symbol.");
        };
        if p.get("type").map(String::as_str) != Some("MARKET") {
            return refuse(StatusCode::BAD_REQUEST, -1116, "Invalid orderType.");
        }
        let side = match p.get("side").map(String::as_str) {
            Some(s @ ("BUY" | "SELL")) => s.to_string(),
            _ => return refuse(StatusCode::BAD_REQUEST, -1117, "Invalid side."),
        };
        let client_order_id = p
            .get("newClientOrderId")
            .cloned()
            .unwrap_or_else(|| format!("fake{}", t.next_id));
        if !t.open_only_duplicates
            && t.orders
                .iter()
                .any(|o| o.api_key == api_key && o.client_order_id == client_order_id)
        {
            return refuse(StatusCode::BAD_REQUEST, -2010, "Duplicate order sent.");
        }
        let fault = t.faults.pop_front();
        if fault == Some(OrderFault::TimeoutBeforePlacing) {
            return Placed::Lost;
        }
        let buy = side == "BUY";
        let price = if buy { m.ask } else { m.bid };
        let qty = match (p.get("quantity"), p.get("quoteOrderQty")) {
            (Some(q), None) => match q.parse::<Decimal>() {
                Ok(q) => q,
                Err(_) => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        -1100,
                        "Illegal characters found in parameter 'quantity'.",
                    );
                }
            },
            (None, Some(q)) => match q.parse::<Decimal>().ok().and_then(|q| q.checked_div(price)) {
                Some(q) if m.step_size.is_zero() => q,
                Some(q) => match q.checked_sub(m.min_qty).and_then(|a| a.checked_div(m.step_size)) {
                    Some(steps) if steps >= Decimal::ZERO => steps.floor() * m.step_size + m.min_qty,
                    _ => Decimal::ZERO,
                },
                None => {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        -1100,
                        "Illegal characters found in parameter 'quoteOrderQty'.",
                    );
                }
            },
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    -1102,
                    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
                );
            }
        };
        if !lot_size_ok(&m, qty) {
            return refuse(StatusCode::BAD_REQUEST, -1013, "Filter failure: LOT_SIZE");
        }
        // A thin book fills at most its liquidity, rounded down to the lot step.
        let orig_qty = qty;
        let qty = match t.liquidity.get(&m.symbol) {
            Some(max) if *max < qty => lot_floor(&m, *max),
            _ => qty,
        };
        let partial = qty < orig_qty;
        // Walk the book.
        let levels = if buy { &m.asks } else { &m.bids };
        let levels: Vec<(Decimal, Decimal)> = if levels.is_empty() {
            vec![(price, qty)]
        } else {
            levels.clone()
        };
        let mut left = qty;
        let mut pieces = Vec::new();
        for (i, (lp, lq)) in levels.iter().enumerate() {
            if left.is_zero() {
                break;
            }
            let take = if i + 1 == levels.len() {
                left
            } else {
                left.min(*lq)
            };
            pieces.push((*lp, take));
            left -= take;
        }
        let Some(notional) = pieces
            .iter()
            .try_fold(Decimal::ZERO, |acc, (lp, q)| acc.checked_add(lp.checked_mul(*q)?))
        else {
            return refuse(StatusCode::BAD_REQUEST, -1013, "Filter failure: NOTIONAL");
        };
        // The filter is the order's (what was asked, at the top of the book), not the
        // part a thin book filled.
        let asked = if partial { orig_qty * price } else { notional };
        if asked < m.min_notional {
            return refuse(StatusCode::BAD_REQUEST, -1013, "Filter failure: NOTIONAL");
        }
        let rate = Decimal::from(t.commission_bps) / Decimal::from(10_000);
        let bnb_price = t.bnb_price;
        let asset = t.commission_asset;
        let first_trade = t.next_id * 10;
        let fills: Vec<FakeFill> = pieces
            .iter()
            .enumerate()
            .map(|(i, (lp, q))| {
                let (commission, commission_asset) = match asset {
                    CommissionAsset::Quote => (lp * q * rate, m.quote.clone()),
                    CommissionAsset::Base => (q * rate, m.base.clone()),
                    CommissionAsset::Bnb => (lp * q * rate / bnb_price, "BNB".to_string()),
                };
                FakeFill {
                    price: *lp,
                    qty: *q,
                    commission: commission.round_dp(8),
                    commission_asset,
                    trade_id: first_trade + i as i64,
                }
            })
            .collect();
        let fee: Decimal = fills.iter().map(|f| f.commission).sum();
        let fee_asset = fills
            .first()
            .map(|f| f.commission_asset.clone())
            .unwrap_or_default();
        let Some(key) = t.keys.get_mut(api_key) else {
            return refuse(
                StatusCode::UNAUTHORIZED,
                -2015,
                "Invalid API-key, IP, or permissions for action.",
            );
        };
        let have = |asset: &str| key.balances.get(asset).copied().unwrap_or_default();
        let (pay_asset, pay) = if buy {
            (m.quote.clone(), notional)
        } else {
            (m.base.clone(), qty)
        };
        // A sell must hold what it asks to sell, whatever fills.
        let needed = if buy { pay } else { orig_qty };
        let fee_from_pay = if fee_asset == pay_asset {
            fee
        } else {
            Decimal::ZERO
        };
        let fee_ok = fee_asset == pay_asset || fee_asset != "BNB" || have("BNB") >= fee;
        if have(&pay_asset) < needed + fee_from_pay || !fee_ok {
            return refuse(
                StatusCode::BAD_REQUEST,
                -2010,
                "Account has insufficient balance for requested action.",
            );
        }
        let (get_asset, get) = if buy {
            (m.base.clone(), qty)
        } else {
            (m.quote.clone(), notional)
        };
        *key.balances.entry(pay_asset).or_default() -= pay;
        *key.balances.entry(get_asset).or_default() += get;
        if !fee_asset.is_empty() {
            // Nothing filled (a thin book): no fill, no commission asset.
            *key.balances.entry(fee_asset).or_default() -= fee;
        }
        let order = FakeOrder {
            api_key: api_key.to_string(),
            order_id: t.next_id,
            client_order_id,
            symbol: m.symbol.clone(),
            side,
            executed_qty: qty,
            quote_qty: notional,
            fills,
            transact_time: unix_now_ms(),
            orig_qty,
            status: if partial { "EXPIRED" } else { "FILLED" }.to_string(),
        };
        t.next_id += 1;
        t.orders.push(order.clone());
        inner.arrived.notify_waiters();
        Placed::Done(fault, order)
    }
}

async fn query_order(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let (api_key, p) = match authenticate(&inner, &headers, query.as_deref(), "") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let t = lock(&inner.trading);
    let symbol = p.get("symbol").cloned().unwrap_or_default();
    if !t.markets.contains_key(&symbol) {
        return binance_error(StatusCode::BAD_REQUEST, -1121, "Invalid symbol.");
    }
    let by_client = p.get("origClientOrderId");
    let by_id = p.get("orderId").and_then(|i| i.parse::<i64>().ok());
    let found = t.orders.iter().find(|o| {
        o.api_key == api_key
            && o.symbol == symbol
            && (by_client.is_some_and(|c| *c == o.client_order_id) || by_id == Some(o.order_id))
    });
    match found {
        Some(o) => ok_json(order_json(o, false)),
        None => binance_error(StatusCode::BAD_REQUEST, -2013, "Order does not exist."),
    }
}

async fn my_trades(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let (api_key, p) = match authenticate(&inner, &headers, query.as_deref(), "") {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let t = lock(&inner.trading);
    let symbol = p.get("symbol").cloned().unwrap_or_default();
    let order_id = p.get("orderId").and_then(|i| i.parse::<i64>().ok());
    let trades: Vec<serde_json::Value> = t
        .orders
        .iter()
        .filter(|o| o.api_key == api_key && o.symbol == symbol && order_id.is_none_or(|i| i == o.order_id))
        .flat_map(|o| {
            o.fills.iter().map(move |f| {
                json!({
                    "symbol": o.symbol, "id": f.trade_id, "orderId": o.order_id, "orderListId": -1,
                    "price": format!("{:.8}", f.price), "qty": format!("{:.8}", f.qty),
                    "quoteQty": format!("{:.8}", f.price * f.qty),
                    "commission": format!("{:.8}", f.commission), "commissionAsset": f.commission_asset,
                    "time": o.transact_time, "isBuyer": o.side == "BUY", "isMaker": false, "isBestMatch": true
                })
            })
        })
        .collect();
    ok_json(serde_json::Value::Array(trades))
}
