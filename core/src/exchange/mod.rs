//! Trading on an exchange: the signed Binance spot REST client ([`SpotClient`]), its
//! request signer ([`sign`]), API credentials that never show ([`ApiKey`]), the symbol
//! filters from `exchangeInfo` with the quantity rounding they ask for
//! ([`SymbolFilters::market_quantity`]), and the typed errors every call maps to.
//!
//! Money is [`Decimal`] throughout: quantities, prices, fees and balances never touch
//! a float.

mod client;
mod filters;
mod signer;

pub use client::{SpotClient, SpotSettings};
pub use filters::{SizeError, SymbolFilters};
pub use signer::{ApiKey, sign};

use rust_decimal::Decimal;
use std::time::Duration;

/// Which Binance spot exchange a key belongs to. Both speak the same API from a
/// different base URL; only live has `/sapi` (API-key restrictions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// `market.binance_testnet_url`: play money.
    Testnet,
    /// `market.binance_url`: real money.
    Live,
}

impl Venue {
    /// The exchange name as stored with a key: `binance-testnet` or `binance`.
    pub fn as_str(self) -> &'static str {
        match self {
            Venue::Testnet => "binance-testnet",
            Venue::Live => "binance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "binance-testnet" => Some(Venue::Testnet),
            "binance" => Some(Venue::Live),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_binance(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "BUY" => Some(Side::Buy),
            "SELL" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// How much a market order is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAmount {
    /// `quantity`: in the base asset (0.01 BTC), already rounded to the step.
    Base(Decimal),
    /// `quoteOrderQty`: in the quote asset (250 USDT); the exchange works out the quantity.
    Quote(Decimal),
}

/// One market order to place. `client_order_id` makes it idempotent: derive it from
/// what the user confirmed, so that a retry cannot place a second order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketOrder {
    pub symbol: crate::Symbol,
    pub side: Side,
    pub amount: OrderAmount,
    /// 1 to 36 of `A-Z a-z 0-9 . : / _ -` (Binance's rule).
    pub client_order_id: String,
}

/// One execution of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub price: Decimal,
    pub qty: Decimal,
    pub commission: Decimal,
    pub commission_asset: String,
}

/// An order as the exchange reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    pub symbol: String,
    pub order_id: i64,
    pub client_order_id: String,
    pub side: Side,
    /// `NEW`, `FILLED`, `PARTIALLY_FILLED`, `EXPIRED`, `REJECTED`, …
    pub status: String,
    pub executed_qty: Decimal,
    /// Quote asset spent (buy) or received (sell).
    pub cumulative_quote_qty: Decimal,
    /// Every execution with its commission. A `POST /api/v3/order` answer carries them;
    /// a queried order has them from `GET /api/v3/myTrades`.
    pub fills: Vec<Fill>,
}

impl OrderReport {
    pub fn is_filled(&self) -> bool {
        self.status == "FILLED"
    }

    /// The quantity-weighted average fill price; `None` without fills.
    pub fn average_price(&self) -> Option<Decimal> {
        let mut qty = Decimal::ZERO;
        let mut quote = Decimal::ZERO;
        for f in &self.fills {
            qty = qty.checked_add(f.qty)?;
            quote = quote.checked_add(f.price.checked_mul(f.qty)?)?;
        }
        if qty.is_zero() {
            None
        } else {
            quote.checked_div(qty)
        }
    }
}

/// How a [`SpotClient::place_or_recover`] call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub order: OrderReport,
    /// True when the order's answer was lost (timeout, duplicate id) and the order was
    /// found by its client id instead of being placed again.
    pub recovered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub asset: String,
    pub free: Decimal,
    pub locked: Decimal,
}

/// `GET /api/v3/account`, what is needed of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub can_trade: bool,
    pub can_withdraw: bool,
    pub balances: Vec<Balance>,
}

impl Account {
    /// The free amount of `asset` (zero when not listed).
    pub fn free(&self, asset: &str) -> Decimal {
        self.balances
            .iter()
            .find(|b| b.asset == asset)
            .map(|b| b.free)
            .unwrap_or_default()
    }
}

/// `GET /sapi/v1/account/apiRestrictions` (live only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRestrictions {
    pub ip_restrict: bool,
    pub enable_withdrawals: bool,
    pub enable_reading: bool,
    pub enable_spot_and_margin_trading: bool,
}

/// Best bid and ask of a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookTicker {
    pub symbol: String,
    pub bid: Decimal,
    pub bid_qty: Decimal,
    pub ask: Decimal,
    pub ask_qty: Decimal,
}

/// Why a call to the exchange failed. No variant carries a key, a secret, a signature
/// or a URL: the text is safe for logs. Users see a localized sentence per variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// -2014 (key format), or -2015 (unknown key or missing permission).
    #[error("the exchange does not accept this API key")]
    InvalidKey,
    /// -2015 whose message names the request's IP: the key is IP-restricted and this
    /// server's address is not on its list. (Binance gives the same code for an invalid
    /// key; only the message tells them apart, so the sentence should mention both.)
    #[error("the API key does not allow this server's IP address")]
    IpNotAllowed,
    /// -1022: the secret does not match the key.
    #[error("the exchange rejected the request signature")]
    BadSignature,
    /// -1021 even after the clock offset was taken from the exchange's time.
    #[error("the request timestamp is outside the exchange's receive window")]
    ClockSkew,
    /// -2010 other than a duplicate.
    #[error("the account has insufficient balance for the order")]
    InsufficientBalance,
    /// -2010 "Duplicate order sent.": an order with this client id exists.
    #[error("an order with this client order id already exists")]
    DuplicateOrder,
    /// -1013: a symbol filter (LOT_SIZE, NOTIONAL, …) refused the order.
    #[error("the order fails the exchange filter {filter}")]
    FilterFailure { filter: String },
    /// -1121.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// -2013: no such order.
    #[error("the exchange has no such order")]
    OrderNotFound,
    /// 429 or 418: nothing should be sent before `retry_after` (capped) has passed.
    #[error("rate limited by the exchange (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
    /// The request was sent but no answer came in time: for an order, its outcome is
    /// unknown (see [`SpotClient::place_or_recover`]).
    #[error("the exchange did not answer in time")]
    Timeout,
    /// Connection failed, 5xx, or the like.
    #[error("the exchange is unavailable: {0}")]
    Unavailable(String),
    /// HTTP 404 without an exchange code: the endpoint does not exist there (the
    /// testnet has no `/sapi`).
    #[error("the exchange has no such endpoint")]
    NotFound,
    /// Any other refusal.
    #[error("the exchange refused the request: HTTP {status}, code {code:?}")]
    Rejected { status: u16, code: Option<i64> },
    /// The answer could not be read (bad JSON, a number out of range, …).
    #[error("the exchange sent data that could not be read: {0}")]
    InvalidData(String),
    /// Refused before sending: the request itself is malformed.
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
}

/// Why a key cannot be used, from [`SpotClient::validate_key`]. Each maps to one
/// localized sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("invalid API key")]
    InvalidKey,
    #[error("wrong secret (bad signature)")]
    BadSignature,
    #[error("this server's IP address is not allowed for the key")]
    IpNotAllowed,
    #[error("the clock differs from the exchange's by more than the receive window")]
    ClockSkew,
    /// Live only: a key that can withdraw is refused.
    #[error("the key has withdrawals enabled")]
    WithdrawalsEnabled,
    /// Live only: a key without an IP whitelist is refused.
    #[error("the key has no IP restriction")]
    NoIpRestriction,
    #[error("the exchange is unavailable")]
    ExchangeDown,
    #[error("rate limited by the exchange (retry after {retry_after:?})")]
    RateLimited { retry_after: Duration },
}

impl From<ExchangeError> for KeyProblem {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::InvalidKey => KeyProblem::InvalidKey,
            ExchangeError::IpNotAllowed => KeyProblem::IpNotAllowed,
            ExchangeError::BadSignature => KeyProblem::BadSignature,
            ExchangeError::ClockSkew => KeyProblem::ClockSkew,
            ExchangeError::RateLimited { retry_after } => KeyProblem::RateLimited { retry_after },
            _ => KeyProblem::ExchangeDown,
        }
    }
}
