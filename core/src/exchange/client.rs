//! The signed Binance spot REST client: account, API-key restrictions, key validation,
//! symbol filters (cached), best bid/ask, market orders and their recovery after a
//! lost answer.
//!
//! Signed calls carry `timestamp` and `recvWindow` and the HMAC-SHA256 `signature` of
//! the exact parameter string (the query of a GET, the body of a POST), with the key in
//! `X-MBX-APIKEY`. When the exchange answers -1021 (timestamp outside the window), the
//! offset to its clock is taken from `GET /api/v3/time`, kept for later calls, and the
//! call is made once more. Reads are retried on 5xx, timeouts and failed connections;
//! an order is never sent twice blindly: see [`SpotClient::place_or_recover`].
//!
//! Nothing here logs or returns a key, a secret, a signature or a signed URL.

use super::filters::{decimal, parse_symbol_filters};
use super::{
    Account, ApiKey, ApiRestrictions, Balance, BookTicker, ExchangeError, Fill, KeyProblem, MarketOrder,
    OrderAmount, OrderReport, Placement, Side, SymbolFilters, Venue, sign,
};
use crate::symbol::Symbol;
use backon::{ExponentialBuilder, Retryable};
use reqwest::{Method, StatusCode, header::HeaderMap};
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
pub struct SpotSettings {
    pub venue: Venue,
    /// e.g. `https://testnet.binance.vision`; no trailing path.
    pub base_url: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Further tries of a read after a 5xx, a timeout or a failed connection. Orders are
    /// never retried blindly.
    pub max_retries: u32,
    /// First backoff delay; doubled on each retry.
    pub backoff: Duration,
    /// `recvWindow` of signed requests, in milliseconds (Binance's default 5,000).
    pub recv_window_ms: u64,
    /// How long a symbol's filters from `exchangeInfo` are kept.
    pub filters_ttl: Duration,
}

impl SpotSettings {
    pub fn new(venue: Venue, base_url: impl Into<String>) -> Self {
        Self {
            venue,
            base_url: base_url.into(),
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            max_retries: 2,
            backoff: Duration::from_millis(250),
            recv_window_ms: 5_000,
            filters_ttl: Duration::from_secs(3_600),
        }
    }
}

/// An answer's size beyond which it is not read (one symbol's exchangeInfo is small).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How often a lost order is asked for before deciding it was never placed.
const RECOVERY_QUERIES: usize = 3;

struct Inner {
    http: reqwest::Client,
    settings: SpotSettings,
    base: String,
    /// Exchange clock minus ours, in ms, once learned from `/api/v3/time`.
    offset_ms: Mutex<Option<i64>>,
    /// Set from `Retry-After` on 429/418: nothing is sent before this instant.
    blocked_until: Mutex<Option<Instant>>,
    /// Behind an async lock: one exchangeInfo request per symbol at a time.
    filters: tokio::sync::Mutex<HashMap<String, (Instant, Arc<SymbolFilters>)>>,
}

/// One Binance spot exchange (testnet or live). Cheap to clone; the clock offset and the
/// filters cache are shared by every key used with it.
#[derive(Clone)]
pub struct SpotClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SpotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpotClient")
            .field("venue", &self.inner.settings.venue)
            .field("base_url", &self.inner.base)
            .finish()
    }
}

/// A signed or public request, before it is sent.
struct Call<'a> {
    method: Method,
    path: &'static str,
    params: Vec<(&'static str, String)>,
    key: Option<&'a ApiKey>,
}

impl SpotClient {
    pub fn new(settings: SpotSettings) -> Result<Self, ExchangeError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("chainsignal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| ExchangeError::Unavailable("HTTP client could not be built".into()))?;
        let base = settings.base_url.trim_end_matches('/').to_string();
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                settings,
                base,
                offset_ms: Mutex::new(None),
                blocked_until: Mutex::new(None),
                filters: tokio::sync::Mutex::default(),
            }),
        })
    }

    pub fn venue(&self) -> Venue {
        self.inner.settings.venue
    }

    /// The clock offset learned from the exchange (its time minus ours), if any.
    pub fn clock_offset(&self) -> Option<Duration> {
        lock(&self.inner.offset_ms).map(|ms| Duration::from_millis(ms.unsigned_abs()))
    }

    /// `GET /api/v3/account` (signed), zero balances left out.
    pub async fn account(&self, key: &ApiKey) -> Result<Account, ExchangeError> {
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/api/v3/account",
                params: vec![("omitZeroBalances", "true".into())],
                key: Some(key),
            })
            .await?;
        parse_account(&v)
    }

    /// `GET /sapi/v1/account/apiRestrictions` (signed). Live only: on the testnet it is
    /// [`ExchangeError::NotFound`] without a request.
    pub async fn api_restrictions(&self, key: &ApiKey) -> Result<ApiRestrictions, ExchangeError> {
        if self.venue() == Venue::Testnet {
            return Err(ExchangeError::NotFound);
        }
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/sapi/v1/account/apiRestrictions",
                params: Vec::new(),
                key: Some(key),
            })
            .await?;
        let flag = |name: &str| {
            v.get(name)
                .and_then(Value::as_bool)
                .ok_or_else(|| ExchangeError::InvalidData(format!("apiRestrictions: {name} is missing")))
        };
        Ok(ApiRestrictions {
            ip_restrict: flag("ipRestrict")?,
            enable_withdrawals: flag("enableWithdrawals")?,
            enable_reading: flag("enableReading").unwrap_or(true),
            enable_spot_and_margin_trading: flag("enableSpotAndMarginTrading").unwrap_or(false),
        })
    }

    /// Whether `key` may be stored: a signed account read must succeed; on live, the key
    /// must also have withdrawals disabled and an IP restriction (the testnet has no such
    /// endpoint, so it is not asked). The account is returned for display.
    pub async fn validate_key(&self, key: &ApiKey) -> Result<Account, KeyProblem> {
        let account = self.account(key).await.map_err(KeyProblem::from)?;
        if self.venue() == Venue::Live {
            let r = self.api_restrictions(key).await.map_err(KeyProblem::from)?;
            if r.enable_withdrawals {
                return Err(KeyProblem::WithdrawalsEnabled);
            }
            if !r.ip_restrict {
                return Err(KeyProblem::NoIpRestriction);
            }
        }
        Ok(account)
    }

    /// The trading filters of `symbol` from `GET /api/v3/exchangeInfo?symbol=`, kept for
    /// `filters_ttl`.
    pub async fn exchange_info(&self, symbol: &Symbol) -> Result<Arc<SymbolFilters>, ExchangeError> {
        let mut cache = self.inner.filters.lock().await;
        if let Some((at, f)) = cache.get(symbol.as_str())
            && at.elapsed() < self.inner.settings.filters_ttl
        {
            return Ok(f.clone());
        }
        let body = self
            .send_with_retries(Call {
                method: Method::GET,
                path: "/api/v3/exchangeInfo",
                params: vec![("symbol", symbol.as_str().to_string())],
                key: None,
            })
            .await?;
        let filters = Arc::new(parse_symbol_filters(&body, symbol.as_str())?);
        cache.insert(symbol.as_str().to_string(), (Instant::now(), filters.clone()));
        Ok(filters)
    }

    /// Best bid and ask: `GET /api/v3/ticker/bookTicker?symbol=`.
    pub async fn book_ticker(&self, symbol: &Symbol) -> Result<BookTicker, ExchangeError> {
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/api/v3/ticker/bookTicker",
                params: vec![("symbol", symbol.as_str().to_string())],
                key: None,
            })
            .await?;
        parse_book_ticker(&v)
    }

    /// Best bid and ask of several symbols in one request (`symbols=["A","B"]`), or of
    /// every symbol when `symbols` is empty: what a price monitor reads once per tick.
    /// Rows with unreadable numbers are an error, not skipped.
    pub async fn book_tickers(
        &self,
        symbols: &[Symbol],
    ) -> Result<HashMap<String, BookTicker>, ExchangeError> {
        let params = if symbols.is_empty() {
            Vec::new()
        } else {
            let names: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
            let list = serde_json::to_string(&names)
                .map_err(|_| ExchangeError::InvalidRequest("symbols could not be listed"))?;
            vec![("symbols", list)]
        };
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/api/v3/ticker/bookTicker",
                params,
                key: None,
            })
            .await?;
        let rows = v
            .as_array()
            .ok_or_else(|| ExchangeError::InvalidData("bookTicker is not a list".into()))?;
        rows.iter()
            .map(|r| {
                let t = parse_book_ticker(r)?;
                Ok((t.symbol.clone(), t))
            })
            .collect()
    }

    /// One MARKET order by `POST /api/v3/order` with `newOrderRespType=FULL`, sent once.
    /// On [`ExchangeError::Timeout`] its outcome is unknown: use
    /// [`place_or_recover`](Self::place_or_recover) rather than sending it again.
    pub async fn market_order(
        &self,
        key: &ApiKey,
        order: &MarketOrder,
    ) -> Result<OrderReport, ExchangeError> {
        if !valid_client_order_id(&order.client_order_id) {
            return Err(ExchangeError::InvalidRequest(
                "client order id: 1 to 36 of A-Z a-z 0-9 . : / _ -",
            ));
        }
        let (name, amount) = match order.amount {
            OrderAmount::Base(q) => ("quantity", q),
            OrderAmount::Quote(q) => ("quoteOrderQty", q),
        };
        if amount <= Decimal::ZERO {
            return Err(ExchangeError::InvalidRequest("the order amount must be positive"));
        }
        let call = Call {
            method: Method::POST,
            path: "/api/v3/order",
            params: vec![
                ("symbol", order.symbol.as_str().to_string()),
                ("side", order.side.as_binance().into()),
                ("type", "MARKET".into()),
                (name, amount.normalize().to_string()),
                ("newClientOrderId", order.client_order_id.clone()),
                ("newOrderRespType", "FULL".into()),
            ],
            key: Some(key),
        };
        let v = self.send_synced(&call).await.and_then(|b| json(&b))?;
        parse_order(&v)
    }

    /// `GET /api/v3/order` by `origClientOrderId` (no fills: see
    /// [`order_fills`](Self::order_fills)). [`ExchangeError::OrderNotFound`] when the
    /// exchange has no such order.
    pub async fn query_order(
        &self,
        key: &ApiKey,
        symbol: &Symbol,
        client_order_id: &str,
    ) -> Result<OrderReport, ExchangeError> {
        if !valid_client_order_id(client_order_id) {
            return Err(ExchangeError::InvalidRequest(
                "client order id: 1 to 36 of A-Z a-z 0-9 . : / _ -",
            ));
        }
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/api/v3/order",
                params: vec![
                    ("symbol", symbol.as_str().to_string()),
                    ("origClientOrderId", client_order_id.to_string()),
                ],
                key: Some(key),
            })
            .await?;
        parse_order(&v)
    }

    /// The executions of an order with their commissions: `GET /api/v3/myTrades`.
    pub async fn order_fills(
        &self,
        key: &ApiKey,
        symbol: &Symbol,
        order_id: i64,
    ) -> Result<Vec<Fill>, ExchangeError> {
        let v = self
            .read(Call {
                method: Method::GET,
                path: "/api/v3/myTrades",
                params: vec![
                    ("symbol", symbol.as_str().to_string()),
                    ("orderId", order_id.to_string()),
                ],
                key: Some(key),
            })
            .await?;
        let trades = v
            .as_array()
            .ok_or_else(|| ExchangeError::InvalidData("myTrades is not a list".into()))?;
        trades.iter().map(parse_fill).collect()
    }

    /// Place `order` at most once whatever happens to the answer. When the answer is lost
    /// (timeout, 5xx, broken connection) or the exchange says the client id is a
    /// duplicate, the order is looked up by its client id; found, it is returned
    /// (`recovered`) with its fills. When the exchange, asked three times, has no such
    /// order, the lost answer's error comes back and nothing is sent again: the first
    /// request may still be on its way (a blind second send could trade twice, since
    /// Binance accepts a filled order's client id again). The caller records the order
    /// as unknown and looks it up later.
    pub async fn place_or_recover(
        &self,
        key: &ApiKey,
        order: &MarketOrder,
    ) -> Result<Placement, ExchangeError> {
        match self.market_order(key, order).await {
            Ok(o) => Ok(Placement {
                order: o,
                recovered: false,
            }),
            Err(
                e @ (ExchangeError::Timeout | ExchangeError::Unavailable(_) | ExchangeError::DuplicateOrder),
            ) => {
                tracing::warn!(
                    venue = self.venue().as_str(),
                    symbol = %order.symbol,
                    error = %e,
                    "order answer lost or refused as a duplicate; looking it up by its client id"
                );
                match self.recover(key, order).await {
                    Ok(Some(found)) => Ok(Placement {
                        order: found,
                        recovered: true,
                    }),
                    Ok(None) => Err(e),
                    // The lookup failed too (rate limited, clock): the order's fate is
                    // still the first error's, not a refusal the lookup met.
                    Err(lookup) => {
                        tracing::warn!(error = %lookup, "looking up an order whose answer was lost failed");
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    /// For a retry of an order whose outcome was never recorded (a crash, a restart):
    /// look the client id up first and return that order (`recovered`) when the exchange
    /// has it; place it with [`place_or_recover`](Self::place_or_recover) otherwise.
    ///
    /// Binance refuses a duplicate client id only among OPEN orders: a filled market
    /// order's id can be used again, so sending the same order twice blindly would
    /// trade twice. Whoever may be retrying calls this, not `market_order`; two
    /// instances must still claim the order (e.g. its Confirm token) in storage first.
    pub async fn resume_or_place(
        &self,
        key: &ApiKey,
        order: &MarketOrder,
    ) -> Result<Placement, ExchangeError> {
        match self.query_order(key, &order.symbol, &order.client_order_id).await {
            Ok(mut found) => {
                found.fills = self.order_fills(key, &order.symbol, found.order_id).await?;
                Ok(Placement {
                    order: found,
                    recovered: true,
                })
            }
            Err(ExchangeError::OrderNotFound) => self.place_or_recover(key, order).await,
            Err(e) => Err(e),
        }
    }

    /// The order with `order`'s client id, with its fills; `None` when the exchange has
    /// none after a few looks.
    async fn recover(&self, key: &ApiKey, order: &MarketOrder) -> Result<Option<OrderReport>, ExchangeError> {
        let mut delay = self.inner.settings.backoff;
        for attempt in 0..RECOVERY_QUERIES {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            match self.query_order(key, &order.symbol, &order.client_order_id).await {
                Ok(mut found) => {
                    found.fills = self.order_fills(key, &order.symbol, found.order_id).await?;
                    tracing::info!(
                        venue = self.venue().as_str(),
                        symbol = %order.symbol,
                        status = %found.status,
                        "lost order found by its client id"
                    );
                    return Ok(Some(found));
                }
                Err(ExchangeError::OrderNotFound) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }
}

// Transport.
impl SpotClient {
    /// A read: signed or public GET, retried on transient failures, answer as JSON.
    async fn read(&self, call: Call<'_>) -> Result<Value, ExchangeError> {
        let body = self.send_with_retries(call).await?;
        json(&body)
    }

    async fn send_with_retries(&self, call: Call<'_>) -> Result<Vec<u8>, ExchangeError> {
        let s = &self.inner.settings;
        let backoff = ExponentialBuilder::new()
            .with_min_delay(s.backoff)
            .with_factor(2.0)
            .without_max_delay()
            .with_max_times(s.max_retries as usize);
        let path = call.path;
        (|| self.send_synced(&call))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e| matches!(e, ExchangeError::Timeout | ExchangeError::Unavailable(_)))
            .notify(|e, _| tracing::debug!(path, error = %e, "retrying Binance request"))
            .await
    }

    /// Send once; a signed call refused with -1021 learns the exchange's clock and is
    /// sent once more (the exchange refused the first, so nothing can be doubled).
    async fn send_synced(&self, call: &Call<'_>) -> Result<Vec<u8>, ExchangeError> {
        match self.send(call).await {
            Err(ExchangeError::ClockSkew) if call.key.is_some() => {
                self.sync_clock().await?;
                self.send(call).await
            }
            other => other,
        }
    }

    /// `GET /api/v3/time`: the offset between the exchange's clock and ours.
    async fn sync_clock(&self) -> Result<(), ExchangeError> {
        let before = unix_millis();
        let body = self
            .send(&Call {
                method: Method::GET,
                path: "/api/v3/time",
                params: Vec::new(),
                key: None,
            })
            .await?;
        let after = unix_millis();
        let server = json(&body)?
            .get("serverTime")
            .and_then(Value::as_i64)
            .filter(|t| *t > 0)
            .ok_or_else(|| ExchangeError::InvalidData("time: serverTime is missing".into()))?;
        let offset = server.saturating_sub(before / 2 + after / 2);
        tracing::info!(
            venue = self.venue().as_str(),
            offset_ms = offset,
            "clock offset to the exchange learned"
        );
        *lock(&self.inner.offset_ms) = Some(offset);
        Ok(())
    }

    async fn send(&self, call: &Call<'_>) -> Result<Vec<u8>, ExchangeError> {
        self.check_gate()?;
        let mut params = encode(&call.params);
        let request = if let Some(key) = call.key {
            let offset = lock(&self.inner.offset_ms).unwrap_or(0);
            let timestamp = unix_millis().saturating_add(offset);
            if !params.is_empty() {
                params.push('&');
            }
            params.push_str(&format!(
                "recvWindow={}&timestamp={timestamp}",
                self.inner.settings.recv_window_ms
            ));
            let signature = sign(key.secret(), &params);
            params.push_str("&signature=");
            params.push_str(&signature);
            let mut api_key = reqwest::header::HeaderValue::from_str(key.key().expose_secret())
                .map_err(|_| ExchangeError::InvalidKey)?;
            api_key.set_sensitive(true);
            self.build(call, params).header("X-MBX-APIKEY", api_key)
        } else {
            self.build(call, params)
        };
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                metrics::counter!("chainsignal_outbound_requests_total", "service" => "binance-spot", "status" => "error")
                    .increment(1);
                return Err(transport_error(&e));
            }
        };
        let status = response.status();
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "binance-spot", "status" => status.as_str().to_string())
            .increment(1);
        if status == StatusCode::TOO_MANY_REQUESTS || status.as_u16() == 418 {
            let retry_after = retry_after(response.headers(), status);
            self.block_for(retry_after);
            tracing::warn!(
                venue = self.venue().as_str(),
                path = call.path,
                status = status.as_u16(),
                ?retry_after,
                "Binance rate limit hit"
            );
            return Err(ExchangeError::RateLimited { retry_after });
        }
        let body = read_body(response).await?;
        if status.is_success() {
            tracing::debug!(
                venue = self.venue().as_str(),
                path = call.path,
                status = status.as_u16(),
                "Binance answered"
            );
            return Ok(body);
        }
        let (code, msg) = api_error(&body);
        let err = map_error(status, code, &msg);
        tracing::debug!(
            venue = self.venue().as_str(),
            path = call.path,
            status = status.as_u16(),
            code,
            error = %err,
            "Binance refused the request"
        );
        Err(err)
    }

    fn build(&self, call: &Call<'_>, params: String) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.inner.base, call.path);
        if call.method == Method::POST {
            self.inner
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(params)
        } else if params.is_empty() {
            self.inner.http.request(call.method.clone(), url)
        } else {
            self.inner
                .http
                .request(call.method.clone(), format!("{url}?{params}"))
        }
    }

    fn check_gate(&self) -> Result<(), ExchangeError> {
        let gate = lock(&self.inner.blocked_until);
        let now = Instant::now();
        match *gate {
            Some(until) if until > now => Err(ExchangeError::RateLimited {
                retry_after: until.saturating_duration_since(now),
            }),
            _ => Ok(()),
        }
    }

    fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(crate::pacing::MAX_SERVER_WAIT);
        let mut gate = lock(&self.inner.blocked_until);
        if gate.is_none_or(|u| u < until) {
            *gate = Some(until);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `Retry-After` (capped, NaN/garbage -> the default: 1 s on 429, 2 min on 418).
fn retry_after(headers: &HeaderMap, status: StatusCode) -> Duration {
    let default = if status.as_u16() == 418 {
        Duration::from_secs(120)
    } else {
        Duration::from_secs(1)
    };
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| crate::pacing::server_wait(v, default))
        .unwrap_or(default)
}

/// Never the reqwest error's text: it holds the URL, and a signed URL holds the signature.
fn transport_error(e: &reqwest::Error) -> ExchangeError {
    if e.is_timeout() {
        ExchangeError::Timeout
    } else if e.is_connect() {
        ExchangeError::Unavailable("connection failed".into())
    } else {
        ExchangeError::Unavailable("request failed".into())
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, ExchangeError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ExchangeError::InvalidData("the answer is too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn json(body: &[u8]) -> Result<Value, ExchangeError> {
    serde_json::from_slice(body).map_err(|_| ExchangeError::InvalidData("the answer is not JSON".into()))
}

/// Binance's `{"code": -1121, "msg": "Invalid symbol."}`, when the body is one.
fn api_error(body: &[u8]) -> (Option<i64>, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v.get("code").and_then(Value::as_i64);
    let msg: String = v
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    (code, msg)
}

/// An error answer as a typed error. `msg` only chooses between variants; it is never
/// kept whole.
fn map_error(status: StatusCode, code: Option<i64>, msg: &str) -> ExchangeError {
    let lower = msg.to_ascii_lowercase();
    match code {
        Some(-1021) => ExchangeError::ClockSkew,
        Some(-1022) => ExchangeError::BadSignature,
        Some(-2014) => ExchangeError::InvalidKey,
        Some(-2015) if lower.contains("request ip") => ExchangeError::IpNotAllowed,
        Some(-2015) => ExchangeError::InvalidKey,
        Some(-2010) if lower.contains("duplicate") => ExchangeError::DuplicateOrder,
        Some(-2010) if lower.contains("insufficient balance") => ExchangeError::InsufficientBalance,
        Some(-1013) => ExchangeError::FilterFailure {
            filter: filter_name(msg),
        },
        Some(-1121) => ExchangeError::UnknownSymbol,
        Some(-2013) => ExchangeError::OrderNotFound,
        _ if status.is_server_error() => ExchangeError::Unavailable(format!("HTTP {}", status.as_u16())),
        None if status == StatusCode::NOT_FOUND => ExchangeError::NotFound,
        _ => ExchangeError::Rejected {
            status: status.as_u16(),
            code,
        },
    }
}

/// `LOT_SIZE` out of "Filter failure: LOT_SIZE"; only a filter-like name is kept.
fn filter_name(msg: &str) -> String {
    let name = msg.rsplit(':').next().unwrap_or_default().trim();
    if !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
        name.to_string()
    } else {
        "unknown".to_string()
    }
}

/// Binance's rule for client order ids: `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
fn valid_client_order_id(id: &str) -> bool {
    (1..=36).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '_' | '-'))
}

/// `k=v&k=v`, values percent-encoded (everything but `A-Z a-z 0-9 - _ . ~`).
fn encode(params: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn str_field(v: &Value, name: &str) -> Result<String, ExchangeError> {
    v.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ExchangeError::InvalidData(format!("{name} is missing")))
}

/// A non-negative decimal field.
fn dec_field(v: &Value, name: &str) -> Result<Decimal, ExchangeError> {
    v.get(name)
        .and_then(decimal)
        .filter(|d| *d >= Decimal::ZERO)
        .ok_or_else(|| ExchangeError::InvalidData(format!("{name} is not a usable number")))
}

fn parse_book_ticker(v: &Value) -> Result<BookTicker, ExchangeError> {
    Ok(BookTicker {
        symbol: str_field(v, "symbol")?,
        bid: dec_field(v, "bidPrice")?,
        bid_qty: dec_field(v, "bidQty")?,
        ask: dec_field(v, "askPrice")?,
        ask_qty: dec_field(v, "askQty")?,
    })
}

fn parse_account(v: &Value) -> Result<Account, ExchangeError> {
    let balances = v
        .get("balances")
        .and_then(Value::as_array)
        .ok_or_else(|| ExchangeError::InvalidData("account: balances are missing".into()))?
        .iter()
        .map(|b| {
            Ok(Balance {
                asset: str_field(b, "asset")?,
                free: dec_field(b, "free")?,
                locked: dec_field(b, "locked")?,
            })
        })
        .collect::<Result<Vec<_>, ExchangeError>>()?;
    Ok(Account {
        can_trade: v.get("canTrade").and_then(Value::as_bool).unwrap_or(false),
        can_withdraw: v.get("canWithdraw").and_then(Value::as_bool).unwrap_or(false),
        balances,
    })
}

fn parse_fill(f: &Value) -> Result<Fill, ExchangeError> {
    Ok(Fill {
        price: dec_field(f, "price")?,
        qty: dec_field(f, "qty")?,
        commission: dec_field(f, "commission")?,
        commission_asset: str_field(f, "commissionAsset")?,
    })
}

fn parse_order(v: &Value) -> Result<OrderReport, ExchangeError> {
    let side = v
        .get("side")
        .and_then(Value::as_str)
        .and_then(Side::parse)
        .ok_or_else(|| ExchangeError::InvalidData("order: side is missing".into()))?;
    let fills = match v.get("fills") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(fills)) => fills.iter().map(parse_fill).collect::<Result<_, _>>()?,
        Some(_) => return Err(ExchangeError::InvalidData("order: fills is not a list".into())),
    };
    Ok(OrderReport {
        symbol: str_field(v, "symbol")?,
        order_id: v
            .get("orderId")
            .and_then(Value::as_i64)
            .ok_or_else(|| ExchangeError::InvalidData("order: orderId is missing".into()))?,
        client_order_id: str_field(v, "clientOrderId")?,
        side,
        status: str_field(v, "status")?,
        executed_qty: dec_field(v, "executedQty")?,
        cumulative_quote_qty: dec_field(v, "cummulativeQuoteQty")?,
        fills,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_binance_codes() {
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(map_error(bad, Some(-1021), ""), ExchangeError::ClockSkew);
        assert_eq!(map_error(bad, Some(-1022), ""), ExchangeError::BadSignature);
        assert_eq!(map_error(bad, Some(-2014), ""), ExchangeError::InvalidKey);
        assert_eq!(
            map_error(
                StatusCode::UNAUTHORIZED,
                Some(-2015),
                "Invalid API-key, IP, or permissions for action."
            ),
            ExchangeError::InvalidKey
        );
        assert_eq!(
            map_error(
                StatusCode::UNAUTHORIZED,
                Some(-2015),
                "Invalid API-key, IP, or permissions for action, request ip: 10.0.0.1"
            ),
            ExchangeError::IpNotAllowed
        );
        assert_eq!(
            map_error(bad, Some(-2010), "Duplicate order sent."),
            ExchangeError::DuplicateOrder
        );
        assert_eq!(
            map_error(
                bad,
                Some(-2010),
                "Account has insufficient balance for requested action."
            ),
            ExchangeError::InsufficientBalance
        );
        assert_eq!(
            map_error(bad, Some(-1013), "Filter failure: NOTIONAL"),
            ExchangeError::FilterFailure {
                filter: "NOTIONAL".into()
            }
        );
        assert_eq!(
            map_error(bad, Some(-1013), "Filter failure: <script>"),
            ExchangeError::FilterFailure {
                filter: "unknown".into()
            }
        );
        assert_eq!(map_error(bad, Some(-1121), ""), ExchangeError::UnknownSymbol);
        assert_eq!(map_error(bad, Some(-2013), ""), ExchangeError::OrderNotFound);
        assert_eq!(
            map_error(StatusCode::NOT_FOUND, None, ""),
            ExchangeError::NotFound
        );
        assert!(matches!(
            map_error(StatusCode::BAD_GATEWAY, None, ""),
            ExchangeError::Unavailable(_)
        ));
        assert_eq!(
            map_error(bad, Some(-1100), "Illegal characters"),
            ExchangeError::Rejected {
                status: 400,
                code: Some(-1100)
            }
        );
    }

    #[test]
    fn encodes_parameters_and_checks_client_ids() {
        assert_eq!(
            encode(&[("a", "x y&z".into()), ("b", "0.01".into())]),
            "a=x%20y%26z&b=0.01"
        );
        assert!(valid_client_order_id("cs-1a2b_3:4/5.6"));
        assert!(!valid_client_order_id(""));
        assert!(!valid_client_order_id(&"x".repeat(37)));
        assert!(!valid_client_order_id("zażółć"));
        assert!(!valid_client_order_id("a b"));
    }
}
