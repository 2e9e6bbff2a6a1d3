//! The trading desk: where `/open`, `/close`, `/positions` and the SL/TP monitor meet
//! storage and a venue. A venue is paper (simulated fills at the public best bid/ask) or
//! a Binance spot exchange (the testnet, or live: the same code with another base URL).
//!
//! What keeps money right:
//! - an order is written (`orders`, status `pending`) before anything is sent, under a
//!   client order id derived from what was confirmed (`o` + the Confirm token for an
//!   open; `c` + 24 characters of the position's open token + `-N` for close attempt N),
//!   UNIQUE in storage: a second press, a second instance or a retry finds that row
//!   instead of trading again;
//! - an exchange order is sent at most once; a lost answer is looked up by its client
//!   id, and when the exchange has no such order the row stays `unknown` (the monitor
//!   looks again later) rather than sending a second time;
//! - a filled order and its position are written in one transaction: nothing
//!   half-written, whatever the exchange answered;
//! - one open (or paper reset) at a time per account, across instances: the account's
//!   order lease, renewed while held; no open while an earlier one's outcome is unknown;
//! - a position is closed by whoever holds its claim, which re-reads the row once it
//!   holds it (a partial close keeps a position open with less and gives its claim
//!   back); see `close.rs` and `store::positions`.

mod close;
mod ledger;
mod monitor;
mod reconcile;
mod risk_view;

pub use ledger::{Execution, execution_of, mark_of, paper_equity, position_of};
pub use monitor::{Notice, NoticeDecodeError, NoticeKind, TickReport};
pub use risk_view::{DailyLimitCheck, PositionRisk, RiskView};

use crate::exchange::{
    ApiKey, BookTicker, ExchangeError, MarketOrder, OrderAmount, OrderReport, SizeError, SpotClient,
    SpotSettings, SymbolFilters, Venue,
};
use crate::store::{
    ExchangeKeyRecord, NewOrder, NewPosition, OpenRecorded, OrderFill, PositionRecord, Store, StoreError,
    TradingAccountRecord,
};
use crate::symbol::Symbol;
use crate::trading::{
    AccountState, ClosedTrade, Leverage, OrderRequest, Overflow, PaperError, PaperFill, PaperSettings,
    Position, PositionSide, Preview, PreviewError, PreviewInput, RiskLimits, Violation, pretrade_check,
    preview,
};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use ledger::{dec, exposures, realized_of, text};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Where an account's orders go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Paper,
    Testnet,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Testnet => "testnet",
            Mode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "paper" => Some(Mode::Paper),
            "testnet" => Some(Mode::Testnet),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    /// The exchange of an exchange mode (its keys are stored under its name).
    pub fn venue(self) -> Option<Venue> {
        match self {
            Mode::Paper => None,
            Mode::Testnet => Some(Venue::Testnet),
            Mode::Live => Some(Venue::Live),
        }
    }
}

/// `[trading]` as the desk uses it.
#[derive(Debug, Clone)]
pub struct DeskSettings {
    pub paper: PaperSettings,
    /// `trading.live_enabled`: whether `/mode live` may be granted at all.
    pub live_enabled: bool,
    /// The quote asset positions are valued in (USDT).
    pub quote: String,
    /// Maintenance margin rate for liquidation prices, unless `mmr_per_symbol` has one.
    pub mmr: Decimal,
    /// By full symbol (`BTCUSDT`), from `[risk.mmr_per_symbol]`.
    pub mmr_per_symbol: HashMap<String, Decimal>,
    /// A close claim lasts this long (a crashed closer's claim then expires).
    pub claim_for: chrono::Duration,
    /// How long a Confirm (or a paper reset) waits for another instance's open on the
    /// same account before it says the account is busy.
    pub lease_wait: Duration,
    /// "Now" for every record and every trading day (tests move it).
    pub clock: Arc<dyn crate::Clock>,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            paper: PaperSettings::default(),
            live_enabled: false,
            quote: "USDT".into(),
            mmr: crate::trading::DEFAULT_MMR,
            mmr_per_symbol: HashMap::new(),
            claim_for: chrono::Duration::seconds(60),
            lease_wait: Duration::from_secs(15),
            clock: Arc::new(crate::SystemClock),
        }
    }
}

/// Why the desk could not do what was asked. Each maps to one localized sentence; none
/// carries a key, a secret or a URL.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("exchange: {0}")]
    Exchange(ExchangeError),
    #[error("preview: {0}")]
    Preview(#[from] PreviewError),
    #[error("size: {0}")]
    Size(#[from] SizeError),
    #[error("no {0:?} key registered")]
    NoKey(Mode),
    #[error("the stored key does not open")]
    KeyDoesNotOpen,
    #[error("no vault configured")]
    NoVault,
    #[error("live trading is not enabled by the operator")]
    LiveDisabled,
    #[error("live trading is not allowed for this account")]
    LiveNotAllowed,
    #[error("spot has no shorts")]
    ShortOnSpot,
    #[error("spot has no leverage")]
    LeverageOnSpot,
    #[error("no such open position")]
    NoSuchPosition,
    #[error("the symbol is not trading now")]
    NotTrading,
    /// The symbol is not quoted in the desk's quote asset.
    #[error("the symbol is quoted in {0}")]
    WrongQuote(String),
    /// Confirm pressed after the account changed its mode since the preview.
    #[error("the venue changed since the preview")]
    VenueChanged,
    /// The closing order's outcome is unknown; it is looked up, never resent.
    #[error("the close's outcome is unknown")]
    CloseUnknown,
    /// The order was sent and the exchange's answer was lost; asked again, it has no such
    /// order. Recorded as unknown; the monitor looks again.
    #[error("the order's outcome is unknown")]
    OutcomeUnknown,
    /// An earlier attempt with this Confirm token failed: nothing was placed.
    #[error("this confirmation already failed")]
    AlreadyFailed,
    /// The exchange answered without filling anything.
    #[error("the order was not filled (status {0})")]
    NotFilled(String),
    /// Someone else is closing this position right now.
    #[error("the position is being closed")]
    Busy,
    /// This confirmation's order is being placed right now (another press, instance).
    #[error("the order is being placed")]
    InProgress,
    /// Another open or reset of this account is running (in another instance) and did
    /// not finish in time.
    #[error("another order of the account is being placed")]
    AccountBusy,
    /// An earlier open of the account has an outcome not known yet (it may have filled):
    /// no new open until it is settled.
    #[error("an earlier order's outcome is not known yet")]
    OrderUnsettled,
    #[error("the risk check refused the order")]
    Refused(Vec<Violation>),
    #[error("{0}")]
    Corrupt(&'static str),
    #[error("the numbers are too large to compute")]
    Overflow,
}

impl From<Overflow> for DeskError {
    fn from(_: Overflow) -> Self {
        DeskError::Overflow
    }
}

impl From<ExchangeError> for DeskError {
    fn from(e: ExchangeError) -> Self {
        DeskError::Exchange(e)
    }
}

impl From<PaperError> for DeskError {
    fn from(e: PaperError) -> Self {
        DeskError::Preview(e.into())
    }
}

/// An order preview with the account's state and the risk verdict.
#[derive(Debug, Clone)]
pub struct Quote {
    pub mode: Mode,
    pub symbol: Symbol,
    pub preview: Preview,
    pub state: AccountState,
    /// Empty: the order may be placed.
    pub violations: Vec<Violation>,
    /// The prices and filters the preview (and its check) was made with: a paper fill
    /// at Confirm uses them rather than asking again.
    pub book: BookTicker,
    pub filters: Arc<SymbolFilters>,
}

/// A position opened by [`Desk::open`].
#[derive(Debug, Clone)]
pub struct Opened {
    pub position: PositionRecord,
    /// True when this token had opened it already (a retry): nothing new was placed.
    pub existing: bool,
}

/// A position closed by [`Desk::close`] or the monitor.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Closed {
    /// The closed row: the position itself, or, after a partial close, the new row of
    /// the part that sold (its `split_from` is the position's id, which stays open).
    pub position: PositionRecord,
    /// The closed row's numbers: the sold part's only, after a partial close.
    pub trade: ClosedTrade,
    /// Base quantity left over after rounding to the step (exchange only).
    pub dust: Decimal,
    /// A partial close (a thin book; exchange only): the base quantity still open in
    /// the position `position.split_from`, its SL/TP still watched. `None`: closed whole.
    #[serde(default)]
    pub remaining: Option<Decimal>,
}

impl Closed {
    /// The id of the position the trader knows: the one closed, or the one that stays
    /// open with the rest after a partial close.
    pub fn position_id(&self) -> i64 {
        self.position.split_from.unwrap_or(self.position.id)
    }
}

/// An open position valued at its mark.
#[derive(Debug, Clone)]
pub struct PositionView {
    pub row: PositionRecord,
    pub position: Position,
    /// `None` when no price could be read.
    pub mark: Option<Decimal>,
    pub unrealized: Option<Decimal>,
    pub unrealized_pct: Option<Decimal>,
}

/// The account's positions and totals on one venue.
#[derive(Debug, Clone)]
pub struct Book {
    pub mode: Mode,
    pub positions: Vec<PositionView>,
    /// Paper: the run's equity; exchange: `None` (its balances are the exchange's).
    pub equity: Option<Decimal>,
    pub unrealized: Decimal,
}

struct Inner {
    store: Store,
    /// Public prices and filters for paper.
    market: SpotClient,
    testnet: SpotClient,
    live: SpotClient,
    vault: Option<Arc<Vault>>,
    settings: DeskSettings,
    /// This process, for close claims.
    instance: String,
    /// One open at a time per account (see [`Desk::open`]).
    open_locks: std::sync::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

/// How long an account's order lease holds without renewal. Its holder renews it every
/// [`LEASE_RENEW_EVERY`] for as long as it holds it (however long the exchange takes), so
/// it lapses only when its holder died, and then soon.
const ORDER_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
const LEASE_RENEW_EVERY: Duration = Duration::from_secs(15);

/// An account's order lease, held by one open or reset (see [`Desk::open`]) and renewed
/// in the background while held. Give it back with [`OrderLease::release`]; dropped
/// without that (a cancelled open), it is given back in the background, and if that
/// fails too it expires on its own.
struct OrderLease {
    store: Store,
    user_id: i64,
    by: String,
    released: bool,
    /// The renewing task, once the lease is held.
    renewal: Option<tokio::task::JoinHandle<()>>,
}

impl OrderLease {
    /// Take or extend the lease for another [`ORDER_LEASE`] from `clock`'s now: false
    /// when another holder has it.
    async fn renew(
        store: &Store,
        clock: &dyn crate::Clock,
        user_id: i64,
        by: &str,
    ) -> Result<bool, StoreError> {
        let now = clock.now();
        store.claim_order_lease(user_id, by, now, now + ORDER_LEASE).await
    }

    /// Renew the lease every [`LEASE_RENEW_EVERY`] until released or dropped.
    fn keep_renewed(&mut self, clock: Arc<dyn crate::Clock>) {
        let (store, user_id, by) = (self.store.clone(), self.user_id, self.by.clone());
        self.renewal = Some(tokio::spawn(async move {
            loop {
                tokio::time::sleep(LEASE_RENEW_EVERY).await;
                match Self::renew(&store, clock.as_ref(), user_id, &by).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::error!(user_id, "an account's order lease was lost while held");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(user_id, error = %e, "an account's order lease could not be renewed")
                    }
                }
            }
        }));
    }

    async fn release(mut self) {
        self.released = true;
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if let Err(e) = self.store.release_order_lease(self.user_id, &self.by).await {
            tracing::warn!(error = %e, user_id = self.user_id, "an order lease was not given back; it expires on its own");
        }
    }
}

impl Drop for OrderLease {
    fn drop(&mut self) {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        if self.released {
            return;
        }
        let (store, user_id, by) = (self.store.clone(), self.user_id, std::mem::take(&mut self.by));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.release_order_lease(user_id, &by).await {
                    tracing::warn!(error = %e, user_id, "an order lease was not given back; it expires on its own");
                }
            });
        }
    }
}

/// Cheap to clone.
#[derive(Clone)]
pub struct Desk {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("instance", &self.inner.instance)
            .finish()
    }
}

impl Desk {
    pub fn new(
        store: Store,
        market: SpotSettings,
        testnet: SpotSettings,
        live: SpotSettings,
        vault: Option<Arc<Vault>>,
        settings: DeskSettings,
    ) -> Result<Self, DeskError> {
        let mut id = [0u8; 8];
        getrandom::fill(&mut id).map_err(|_| DeskError::Corrupt("no randomness for the instance id"))?;
        let instance: String = id.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                market: SpotClient::new(market)?,
                testnet: SpotClient::new(testnet)?,
                live: SpotClient::new(live)?,
                vault,
                settings,
                instance,
                open_locks: std::sync::Mutex::default(),
            }),
        })
    }

    pub fn settings(&self) -> &DeskSettings {
        &self.inner.settings
    }

    /// The maintenance margin rate of `symbol`.
    pub fn mmr_for(&self, symbol: &str) -> Decimal {
        self.inner
            .settings
            .mmr_per_symbol
            .get(&symbol.to_ascii_uppercase())
            .copied()
            .unwrap_or(self.inner.settings.mmr)
    }

    /// The desk's clock's now.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.settings.clock.now()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn client(&self, mode: Mode) -> &SpotClient {
        match mode {
            Mode::Paper => &self.inner.market,
            Mode::Testnet => &self.inner.testnet,
            Mode::Live => &self.inner.live,
        }
    }

    /// The account's trading record (created on first use).
    pub async fn account(&self, user_id: i64) -> Result<TradingAccountRecord, DeskError> {
        let equity = text(self.inner.settings.paper.starting_equity);
        Ok(self.store().trading_account(user_id, &equity, self.now()).await?)
    }

    /// The account's mode.
    pub async fn mode(&self, user_id: i64) -> Result<Mode, DeskError> {
        let account = self.account(user_id).await?;
        Mode::parse(&account.venue).ok_or(DeskError::Corrupt("a stored mode does not read"))
    }

    /// Switch the account to `mode`: testnet and live need a key of their exchange; live
    /// needs the operator's `trading.live_enabled` and an admin's grant.
    pub async fn set_mode(&self, user_id: i64, mode: Mode) -> Result<(), DeskError> {
        let account = self.account(user_id).await?;
        if mode == Mode::Live {
            if !self.inner.settings.live_enabled {
                return Err(DeskError::LiveDisabled);
            }
            if !account.live_allowed {
                return Err(DeskError::LiveNotAllowed);
            }
        }
        if mode != Mode::Paper {
            self.key_row(user_id, mode).await?;
        }
        self.store().set_venue(user_id, mode.as_str()).await?;
        Ok(())
    }

    /// Allow or forbid `/mode live` for an account (admins). Forbidding moves an account
    /// in live back to paper.
    pub async fn allow_live(&self, user_id: i64, allowed: bool) -> Result<(), DeskError> {
        let account = self.account(user_id).await?;
        self.store().set_live_allowed(user_id, allowed).await?;
        if !allowed && account.venue == Mode::Live.as_str() {
            self.store().set_venue(user_id, Mode::Paper.as_str()).await?;
        }
        Ok(())
    }

    /// Start the paper account over (its open positions are dropped, not closed). Holds
    /// the account's order lease, so no open in progress lands in the old run.
    pub async fn reset_paper(&self, user_id: i64) -> Result<Decimal, DeskError> {
        let lock = self.account_lock(user_id);
        let _held = lock.lock().await;
        let lease = self.take_order_lease(user_id).await?;
        let equity = self.inner.settings.paper.starting_equity;
        let result = self.store().reset_paper(user_id, &text(equity), self.now()).await;
        lease.release().await;
        result?;
        Ok(equity)
    }

    /// Take the account's order lease (creating the account's row first), waiting up to
    /// `lease_wait` for another instance's open to finish.
    async fn take_order_lease(&self, user_id: i64) -> Result<OrderLease, DeskError> {
        self.account(user_id).await?;
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|_| DeskError::Corrupt("no randomness for a lease"))?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let mut lease = OrderLease {
            store: self.store().clone(),
            user_id,
            by: format!("{}:{nonce}", self.inner.instance),
            released: false,
            renewal: None,
        };
        let deadline = tokio::time::Instant::now() + self.inner.settings.lease_wait;
        let mut pause = Duration::from_millis(50);
        loop {
            if self.renew_order_lease(&lease).await? {
                lease.keep_renewed(self.inner.settings.clock.clone());
                return Ok(lease);
            }
            if tokio::time::Instant::now() + pause > deadline {
                // Never held: nothing to give back.
                let mut lease = lease;
                lease.released = true;
                return Err(DeskError::AccountBusy);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    /// Take or extend `lease` for another [`ORDER_LEASE`] from now: false when another
    /// holder has it.
    async fn renew_order_lease(&self, lease: &OrderLease) -> Result<bool, DeskError> {
        Ok(OrderLease::renew(
            self.store(),
            self.inner.settings.clock.as_ref(),
            lease.user_id,
            &lease.by,
        )
        .await?)
    }

    async fn key_row(&self, user_id: i64, mode: Mode) -> Result<ExchangeKeyRecord, DeskError> {
        let venue = mode.venue().ok_or(DeskError::NoKey(mode))?;
        self.store()
            .exchange_keys(user_id)
            .await?
            .into_iter()
            .find(|k| k.exchange == venue.as_str())
            .ok_or(DeskError::NoKey(mode))
    }

    async fn api_key(&self, user_id: i64, mode: Mode) -> Result<ApiKey, DeskError> {
        let row = self.key_row(user_id, mode).await?;
        self.open_key(&row)
    }

    /// The key with id `key_id` of the account (the one a position or an order was sent
    /// with), opened; `NoKey` when it was removed.
    async fn api_key_by_id(
        &self,
        user_id: i64,
        mode: Mode,
        key_id: Option<i64>,
    ) -> Result<ApiKey, DeskError> {
        let Some(key_id) = key_id else {
            return self.api_key(user_id, mode).await;
        };
        let row = self
            .store()
            .exchange_keys(user_id)
            .await?
            .into_iter()
            .find(|k| k.id == key_id)
            .ok_or(DeskError::NoKey(mode))?;
        self.open_key(&row)
    }

    fn open_key(&self, row: &ExchangeKeyRecord) -> Result<ApiKey, DeskError> {
        let vault = self.inner.vault.as_deref().ok_or(DeskError::NoVault)?;
        let (key, secret) = vault.open_row(row).map_err(|e| {
            tracing::warn!(key_id = row.id, error = %e, "a stored exchange key does not open");
            DeskError::KeyDoesNotOpen
        })?;
        Ok(ApiKey::new(key, secret))
    }

    /// Whether `mode` may place opening orders now: live needs the operator's switch and
    /// the account's grant at every order, not only when it was chosen.
    async fn may_open_on(&self, user_id: i64, mode: Mode) -> Result<(), DeskError> {
        if mode == Mode::Live {
            if !self.inner.settings.live_enabled {
                return Err(DeskError::LiveDisabled);
            }
            if !self.account(user_id).await?.live_allowed {
                return Err(DeskError::LiveNotAllowed);
            }
        }
        Ok(())
    }

    /// The symbol's filters and best prices on `mode`'s venue (paper: the public market).
    async fn market_of(
        &self,
        mode: Mode,
        symbol: &Symbol,
    ) -> Result<(Arc<SymbolFilters>, BookTicker), DeskError> {
        let client = self.client(mode);
        let (filters, book) = tokio::join!(client.exchange_info(symbol), client.book_ticker(symbol));
        let filters = filters?;
        if !filters.is_trading() {
            return Err(DeskError::NotTrading);
        }
        // Every amount is valued in the quote asset (USDT): ETH/BTC would mix units.
        if filters.quote_asset != self.inner.settings.quote {
            return Err(DeskError::WrongQuote(
                filters.quote_asset.chars().take(12).collect(),
            ));
        }
        Ok((filters, book?))
    }

    /// The account's state for the risk check on `mode`: equity, today's realized PnL
    /// (from `day_start`), open positions at their marks.
    pub async fn state(
        &self,
        user_id: i64,
        mode: Mode,
        day_start: DateTime<Utc>,
    ) -> Result<AccountState, DeskError> {
        let book = self.book(user_id, mode).await?;
        self.state_of(user_id, day_start, &book).await
    }

    /// [`state`](Self::state) from a book already read.
    ///
    /// The day-start equity is the equity at the day's start with open positions valued
    /// at their entry: `equity − today's realized PnL − Σ unrealized PnL of the open
    /// positions + Σ opening fees of those opened today` (no price snapshot is kept at
    /// midnight; on paper this is exactly the starting equity + PnL realized before the
    /// day − opening fees of positions opened before it and still open).
    pub async fn state_of(
        &self,
        user_id: i64,
        day_start: DateTime<Utc>,
        book: &Book,
    ) -> Result<AccountState, DeskError> {
        let mode = book.mode;
        let fee_bps = self.inner.settings.paper.fee_bps;
        let open: Vec<(Position, Decimal)> = book
            .positions
            .iter()
            .map(|v| (v.position.clone(), v.mark.unwrap_or(v.position.entry)))
            .collect();
        let realized_today = self.realized_since(user_id, mode, day_start).await?;
        let equity = match book.equity {
            Some(e) => e,
            None => self.exchange_equity(user_id, mode, &open).await?,
        };
        let mut day_start_equity = equity.checked_sub(realized_today).ok_or(Overflow)?;
        for v in &book.positions {
            let mark = v.mark.unwrap_or(v.position.entry);
            day_start_equity = day_start_equity
                .checked_sub(v.position.unrealized_pnl(mark)?)
                .ok_or(Overflow)?;
            if v.row.opened_at >= day_start {
                day_start_equity = day_start_equity
                    .checked_add(v.position.open_fee)
                    .ok_or(Overflow)?;
            }
        }
        Ok(AccountState {
            equity,
            day_start_equity,
            realized_pnl_today: realized_today,
            positions: exposures(&open, fee_bps)?,
        })
    }

    /// Net realized PnL of the account's positions on `mode` closed since `since`; the
    /// opening fee of a position opened before `since` is not counted (it was paid then).
    pub async fn realized_since(
        &self,
        user_id: i64,
        mode: Mode,
        since: DateTime<Utc>,
    ) -> Result<Decimal, DeskError> {
        let closed = self.store().closed_since(user_id, mode.as_str(), since).await?;
        let mut total = Decimal::ZERO;
        for row in &closed {
            total = total.checked_add(realized_of(row)?).ok_or(Overflow)?;
            // Its opening fee was paid before `since`: not today's loss.
            if row.opened_at < since {
                total = total.checked_add(dec(&row.open_fee)?).ok_or(Overflow)?;
            }
        }
        Ok(total)
    }

    /// An exchange account's equity as the desk sees it: its quote balance plus the
    /// value of the positions it holds through the desk.
    async fn exchange_equity(
        &self,
        user_id: i64,
        mode: Mode,
        open: &[(Position, Decimal)],
    ) -> Result<Decimal, DeskError> {
        let key = self.api_key(user_id, mode).await?;
        let account = self.client(mode).account(&key).await?;
        let quote = &self.inner.settings.quote;
        let balance = account
            .balances
            .iter()
            .find(|b| &b.asset == quote)
            .map(|b| b.free.checked_add(b.locked).unwrap_or(b.free))
            .unwrap_or_default();
        let mut e = balance;
        for (p, mark) in open {
            e = e
                .checked_add(p.qty.checked_mul(*mark).ok_or(Overflow)?)
                .ok_or(Overflow)?;
        }
        Ok(e)
    }

    /// The preview of `order` on the account's venue, with the risk verdict against
    /// `limits`.
    pub async fn quote(
        &self,
        user_id: i64,
        symbol: &Symbol,
        order: &OrderRequest,
        limits: &RiskLimits,
        day_start: DateTime<Utc>,
    ) -> Result<Quote, DeskError> {
        let mode = self.mode(user_id).await?;
        self.may_open_on(user_id, mode).await?;
        if mode != Mode::Paper {
            if order.side == PositionSide::Short {
                return Err(DeskError::ShortOnSpot);
            }
            if order.lev != Leverage::NONE {
                return Err(DeskError::LeverageOnSpot);
            }
        }
        let (filters, book) = self.market_of(mode, symbol).await?;
        let state = self.state(user_id, mode, day_start).await?;
        let mut settings = self.inner.settings.paper;
        if mode != Mode::Paper {
            // An exchange fill is the best price as it is; its fee is the exchange's
            // (estimated at the paper rate).
            settings.slippage_bps = Decimal::ZERO;
        }
        let preview = preview(
            order,
            &PreviewInput {
                equity: state.equity,
                book: &book,
                filters: Some(&filters),
                settings: &settings,
                mmr: self.mmr_for(symbol.as_str()),
            },
        )?;
        let violations = pretrade_check(&state, limits, &preview);
        Ok(Quote {
            mode,
            symbol: symbol.clone(),
            preview,
            state,
            violations,
            book,
            filters,
        })
    }

    /// Open the position `token` confirmed: checks the venue (it must still be the one
    /// previewed, `expected`) and the risk again with fresh prices, then places the order
    /// once. A token that opened a position already returns it.
    #[allow(clippy::too_many_arguments)]
    pub async fn open(
        &self,
        user_id: i64,
        token: &str,
        expected: Option<Mode>,
        symbol: &Symbol,
        order: &OrderRequest,
        limits: &RiskLimits,
        day_start: DateTime<Utc>,
    ) -> Result<Opened, DeskError> {
        if let Some(done) = self.opened_before(user_id, token, symbol, order).await {
            return done;
        }
        // One open at a time per account, in this process (a mutex) and across instances
        // (the account's order lease): two Confirms at once would both pass the risk
        // check against the same positions.
        let lock = self.account_lock(user_id);
        let _held = lock.lock().await;
        let lease = self.take_order_lease(user_id).await?;
        let result = self
            .open_leased(user_id, token, expected, symbol, order, limits, day_start, &lease)
            .await;
        lease.release().await;
        result
    }

    /// What an earlier Confirm of `token` did, if it got as far as an order row.
    async fn opened_before(
        &self,
        user_id: i64,
        token: &str,
        symbol: &Symbol,
        order: &OrderRequest,
    ) -> Option<Result<Opened, DeskError>> {
        match self.store().position_by_token(token).await {
            Ok(Some(existing)) => {
                return Some(Ok(Opened {
                    position: existing,
                    existing: true,
                }));
            }
            Ok(None) => {}
            Err(e) => return Some(Err(e.into())),
        }
        match self.store().order_by_client_id(&format!("o{token}")).await {
            Ok(None) => None,
            Ok(Some(o)) if o.status == "failed" => Some(Err(DeskError::AlreadyFailed)),
            // Sent before and not known to have filled: look it up, never resend.
            Ok(Some(_)) => Some(self.resume_open(user_id, token, symbol, order).await),
            Err(e) => Some(Err(e.into())),
        }
    }

    /// [`Desk::open`] once the account's order lease is held.
    #[allow(clippy::too_many_arguments)]
    async fn open_leased(
        &self,
        user_id: i64,
        token: &str,
        expected: Option<Mode>,
        symbol: &Symbol,
        order: &OrderRequest,
        limits: &RiskLimits,
        day_start: DateTime<Utc>,
        lease: &OrderLease,
    ) -> Result<Opened, DeskError> {
        // Another instance may have handled this very token while we waited.
        if let Some(done) = self.opened_before(user_id, token, symbol, order).await {
            return done;
        }
        let client_order_id = format!("o{token}");
        // An earlier open whose outcome is not known yet may have filled: the risk check
        // cannot count it, so nothing new goes until it is settled (looked up by the
        // monitor, at most minutes).
        if self.store().unsettled_opens(user_id, &client_order_id).await? > 0 {
            return Err(DeskError::OrderUnsettled);
        }
        let quote = self.quote(user_id, symbol, order, limits, day_start).await?;
        if expected.is_some_and(|m| m != quote.mode) {
            return Err(DeskError::VenueChanged);
        }
        if !quote.violations.is_empty() {
            return Err(DeskError::Refused(quote.violations));
        }
        // Everything that can fail before sending, before the order row is written: a
        // row stays only for an order that may have left.
        let key = match quote.mode.venue() {
            Some(_) => {
                let row = self.key_row(user_id, quote.mode).await?;
                Some((row.id, self.open_key(&row)?))
            }
            None => None,
        };
        let account = self.account(user_id).await?;
        // Still ours, for long enough to send and record (a holder that stalled past its
        // lease stops here: someone else may be trading on this account now).
        if !self.renew_order_lease(lease).await? {
            return Err(DeskError::AccountBusy);
        }
        let side = order.side.open_side();
        let request = serde_json::json!({
            "symbol": symbol.as_str(),
            "side": side.as_binance(),
            "type": "MARKET",
            "quantity": text(quote.preview.qty),
            "position": order.side.as_str(),
            "leverage": order.lev.get(),
            "sl": order.sl.map(text),
            "tp": order.tp.map(text),
            "estimated_price": text(quote.preview.fill_price),
        })
        .to_string();
        let Some(order_id) = self
            .store()
            .insert_order(&NewOrder {
                user_id,
                position_id: None,
                venue: quote.mode.as_str().into(),
                key_id: key.as_ref().map(|(id, _)| *id),
                symbol: symbol.as_str().into(),
                side: side.as_binance().into(),
                purpose: "open".into(),
                client_order_id: client_order_id.clone(),
                quantity: text(quote.preview.qty),
                request,
                created_at: self.now(),
            })
            .await?
        else {
            // Another press or instance wrote it between our look and now.
            return Err(DeskError::InProgress);
        };
        let Some((key_id, key)) = key else {
            return self
                .open_on_paper(user_id, token, &quote, order, order_id, account.paper_epoch)
                .await;
        };
        let market = MarketOrder {
            symbol: symbol.clone(),
            side,
            amount: OrderAmount::Base(quote.preview.qty),
            client_order_id,
        };
        let report = match self.client(quote.mode).place_or_recover(&key, &market).await {
            Ok(p) => p.order,
            Err(e) if definitely_not_placed(&e) => {
                self.fail_order(order_id, error_code(&e), None).await;
                return Err(e.into());
            }
            Err(e) => {
                tracing::warn!(order_id, error = %e, "an order's outcome is unknown; kept for the monitor to look up");
                self.store()
                    .mark_order(order_id, "unknown", Some(error_code(&e)), None, self.now())
                    .await?;
                return Err(DeskError::OutcomeUnknown);
            }
        };
        self.record_exchange_open(
            user_id,
            token,
            symbol,
            order,
            order_id,
            quote.mode,
            Some(key_id),
            &key,
            report,
        )
        .await
    }

    /// The process-wide lock of one account's opens.
    fn account_lock(&self, user_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.open_locks.lock().unwrap_or_else(|e| e.into_inner());
        if locks.len() > 10_000 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        locks.entry(user_id).or_default().clone()
    }

    /// A paper fill at the prices the Confirm's check just used.
    async fn open_on_paper(
        &self,
        user_id: i64,
        token: &str,
        quote: &Quote,
        order: &OrderRequest,
        order_id: i64,
        epoch: i64,
    ) -> Result<Opened, DeskError> {
        let symbol = &quote.symbol;
        let book = &quote.book;
        let fill = match PaperFill::market(
            book,
            order.side.open_side(),
            order_size(order, quote.preview.qty),
            Some(&quote.filters),
            &self.inner.settings.paper,
        ) {
            Ok(f) => f,
            Err(e) => {
                self.fail_order(order_id, "paper_fill", None).await;
                return Err(e.into());
            }
        };
        let position = Position::from_fill(order.side, &fill, order.lev, order.sl, order.tp);
        let response = serde_json::json!({
            "status": "FILLED",
            "price": text(fill.price),
            "executedQty": text(fill.qty),
            "fee": text(fill.fee),
            "bid": text(book.bid),
            "ask": text(book.ask),
        })
        .to_string();
        let recorded = self
            .store()
            .record_open(
                order_id,
                &OrderFill {
                    exchange_order_id: None,
                    executed_qty: text(fill.qty),
                    avg_price: text(fill.price),
                    fee_usdt: text(fill.fee),
                    response,
                },
                &new_position(
                    user_id,
                    Mode::Paper,
                    epoch,
                    None,
                    symbol,
                    &position,
                    token,
                    self.now(),
                ),
                self.now(),
            )
            .await?;
        self.opened(recorded).await
    }

    async fn opened(&self, recorded: OpenRecorded) -> Result<Opened, DeskError> {
        let (id, existing) = match recorded {
            OpenRecorded::Opened(id) => (id, false),
            OpenRecorded::Existing(id) => (id, true),
        };
        let position = self
            .store()
            .position(id)
            .await?
            .ok_or(DeskError::NoSuchPosition)?;
        Ok(Opened { position, existing })
    }

    async fn fail_order(&self, order_id: i64, code: &str, response: Option<&str>) {
        if let Err(e) = self
            .store()
            .mark_order(order_id, "failed", Some(code), response, self.now())
            .await
        {
            tracing::error!(order_id, error = %e, "an order's failure could not be recorded");
        }
    }

    /// A filled exchange order becomes a position (net of a base-asset commission). An
    /// answer with an executed quantity but no fills (a recovered order whose trades the
    /// exchange does not list yet) is looked up once more, else left `unknown`.
    #[allow(clippy::too_many_arguments)]
    async fn record_exchange_open(
        &self,
        user_id: i64,
        token: &str,
        symbol: &Symbol,
        order: &OrderRequest,
        order_id: i64,
        mode: Mode,
        key_id: Option<i64>,
        key: &ApiKey,
        mut report: OrderReport,
    ) -> Result<Opened, DeskError> {
        if report.executed_qty > Decimal::ZERO && report.fills.is_empty() {
            report.fills = self
                .client(mode)
                .order_fills(key, symbol, report.order_id)
                .await
                .unwrap_or_default();
        }
        let response = report_json(&report);
        if report.executed_qty <= Decimal::ZERO {
            self.fail_order(order_id, "not_filled", Some(&response)).await;
            return Err(DeskError::NotFilled(report.status.clone()));
        }
        if report.fills.is_empty() {
            self.store()
                .mark_order(
                    order_id,
                    "unknown",
                    Some("no_fills_yet"),
                    Some(&response),
                    self.now(),
                )
                .await?;
            return Err(DeskError::OutcomeUnknown);
        }
        let filters = match self.client(mode).exchange_info(symbol).await {
            Ok(f) => f,
            Err(e) => {
                // Filled, not yet recorded: the reconciler records it.
                self.store()
                    .mark_order(
                        order_id,
                        "unknown",
                        Some(error_code(&e)),
                        Some(&response),
                        self.now(),
                    )
                    .await?;
                return Err(DeskError::OutcomeUnknown);
            }
        };
        let exec = self.execution(mode, &report, &filters).await?;
        let qty = exec
            .executed_qty
            .checked_sub(exec.base_commission)
            .ok_or(Overflow)?;
        let position = Position {
            side: order.side,
            entry: exec.price,
            qty,
            lev: Leverage::NONE,
            sl: order.sl,
            tp: order.tp,
            open_fee: exec.fee_quote,
        };
        let recorded = self
            .store()
            .record_open(
                order_id,
                &OrderFill {
                    exchange_order_id: Some(report.order_id),
                    executed_qty: text(exec.executed_qty),
                    avg_price: text(exec.price),
                    fee_usdt: text(exec.fee_quote),
                    response,
                },
                &new_position(user_id, mode, 0, key_id, symbol, &position, token, self.now()),
                self.now(),
            )
            .await?;
        if let Some(id) = key_id
            && let Err(e) = self.store().touch_exchange_key(id, self.now()).await
        {
            tracing::warn!(error = %e, "could not mark a key used");
        }
        self.opened(recorded).await
    }

    /// An order fill in the quote asset (BNB commissions at the BNB price).
    async fn execution(
        &self,
        mode: Mode,
        report: &OrderReport,
        filters: &SymbolFilters,
    ) -> Result<Execution, DeskError> {
        let quote = filters.quote_asset.clone();
        let others: Vec<String> = report
            .fills
            .iter()
            .map(|f| f.commission_asset.clone())
            .filter(|a| *a != quote && *a != filters.base_asset)
            .collect();
        let mut prices: HashMap<String, Decimal> = HashMap::new();
        for asset in others {
            if prices.contains_key(&asset) {
                continue;
            }
            let pair = Symbol::from_normalized(format!("{asset}{quote}"));
            match self.client(mode).book_ticker(&pair).await {
                Ok(b) => {
                    prices.insert(asset, b.bid);
                }
                Err(e) => tracing::warn!(asset = %asset, error = %e, "no price for a commission asset"),
            }
        }
        execution_of(report, &filters.base_asset, &quote, |a| prices.get(a).copied())
    }

    /// A confirmed open whose order row exists: the position if it was recorded, else the
    /// order looked up on the exchange (never sent again).
    async fn resume_open(
        &self,
        user_id: i64,
        token: &str,
        symbol: &Symbol,
        order: &OrderRequest,
    ) -> Result<Opened, DeskError> {
        if let Some(existing) = self.store().position_by_token(token).await? {
            return Ok(Opened {
                position: existing,
                existing: true,
            });
        }
        let client_order_id = format!("o{token}");
        let row = self
            .store()
            .order_by_client_id(&client_order_id)
            .await?
            .ok_or(DeskError::InProgress)?;
        let mode = Mode::parse(&row.venue).ok_or(DeskError::Corrupt("a stored venue does not read"))?;
        if mode == Mode::Paper || row.status == "pending" {
            // Paper fills are written with their order; a pending exchange order is being
            // sent by whoever wrote it (the monitor looks at one abandoned half-way).
            return Err(DeskError::InProgress);
        }
        let key = self.api_key_by_id(user_id, mode, row.key_id).await?;
        match self
            .client(mode)
            .query_order(&key, symbol, &client_order_id)
            .await
        {
            Ok(found) => {
                self.record_exchange_open(
                    user_id, token, symbol, order, row.id, mode, row.key_id, &key, found,
                )
                .await
            }
            Err(ExchangeError::OrderNotFound) => Err(DeskError::OutcomeUnknown),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's open positions on its current venue, at their marks.
    pub async fn book(&self, user_id: i64, mode: Mode) -> Result<Book, DeskError> {
        let account = self.account(user_id).await?;
        let rows: Vec<PositionRecord> = self
            .store()
            .open_positions(user_id, Some(mode.as_str()))
            .await?
            .into_iter()
            .filter(|r| mode != Mode::Paper || r.paper_epoch == account.paper_epoch)
            .collect();
        let symbols: Vec<Symbol> = unique_symbols(rows.iter().map(|r| r.symbol.as_str()));
        let books = if symbols.is_empty() {
            HashMap::new()
        } else {
            match self.client(mode).book_tickers(&symbols).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "no prices for the positions");
                    HashMap::new()
                }
            }
        };
        let mut positions = Vec::with_capacity(rows.len());
        let mut unrealized = Decimal::ZERO;
        let mut open = Vec::with_capacity(rows.len());
        for row in rows {
            let position = position_of(&row)?;
            let mark = books.get(&row.symbol).map(|b| mark_of(position.side, b));
            let u = mark.map(|m| position.unrealized_pnl(m)).transpose()?;
            let u_pct = mark.map(|m| position.unrealized_pct(m)).transpose()?;
            if let Some(u) = u {
                unrealized = unrealized.checked_add(u).ok_or(Overflow)?;
            }
            open.push((position.clone(), mark.unwrap_or(position.entry)));
            positions.push(PositionView {
                row,
                position,
                mark,
                unrealized: u,
                unrealized_pct: u_pct,
            });
        }
        let equity = if mode == Mode::Paper {
            let closed = self.store().paper_ledger(user_id, account.paper_epoch).await?;
            Some(paper_equity(dec(&account.paper_equity)?, &closed, &open)?)
        } else {
            None
        };
        Ok(Book {
            mode,
            positions,
            equity,
            unrealized,
        })
    }

    /// The account's closed positions, newest first.
    pub async fn history(&self, user_id: i64, n: i64) -> Result<Vec<PositionRecord>, DeskError> {
        Ok(self.store().closed_positions(user_id, n.clamp(1, 100)).await?)
    }
}

/// What to fill on paper: the previewed quantity (a quote size was turned into one).
fn order_size(order: &OrderRequest, qty: Decimal) -> crate::trading::SizeSpec {
    match order.size {
        crate::trading::SizeSpec::Base(_) => crate::trading::SizeSpec::Base(qty),
        quote => quote,
    }
}

#[allow(clippy::too_many_arguments)]
fn new_position(
    user_id: i64,
    mode: Mode,
    epoch: i64,
    key_id: Option<i64>,
    symbol: &Symbol,
    p: &Position,
    token: &str,
    now: DateTime<Utc>,
) -> NewPosition {
    NewPosition {
        user_id,
        venue: mode.as_str().into(),
        key_id,
        paper_epoch: epoch,
        symbol: symbol.as_str().into(),
        side: p.side.as_str().into(),
        qty: text(p.qty),
        entry_price: text(p.entry),
        leverage: i32::from(p.lev.get()),
        sl: p.sl.map(text),
        tp: p.tp.map(text),
        open_fee: text(p.open_fee),
        opened_at: now,
        open_token: token.into(),
    }
}

fn unique_symbols<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Symbol> {
    let mut seen: Vec<&str> = names.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.into_iter()
        .map(|s| Symbol::from_normalized(s.to_string()))
        .collect()
}

/// An exchange answer as stored: status, ids, fills. Nothing secret is in it.
fn report_json(r: &OrderReport) -> String {
    serde_json::json!({
        "orderId": r.order_id,
        "clientOrderId": r.client_order_id,
        "status": r.status,
        "executedQty": text(r.executed_qty),
        "cummulativeQuoteQty": text(r.cumulative_quote_qty),
        "fills": r.fills.iter().map(|f| serde_json::json!({
            "price": text(f.price), "qty": text(f.qty),
            "commission": text(f.commission), "commissionAsset": f.commission_asset,
        })).collect::<Vec<_>>(),
    })
    .to_string()
}

/// Whether an order that met `e` was certainly not placed: the exchange refused it (a
/// filter, the balance, the key, the symbol, its clock after the retry, a 4xx with a
/// code), or it was never sent. Anything else (no answer, a 5xx, -1006/-1007 "execution
/// status unknown", an unreadable answer) may have traded: the order is `unknown` and is
/// looked up, never sent again.
pub fn definitely_not_placed(e: &ExchangeError) -> bool {
    match e {
        ExchangeError::InsufficientBalance
        | ExchangeError::FilterFailure { .. }
        | ExchangeError::UnknownSymbol
        | ExchangeError::InvalidKey
        | ExchangeError::IpNotAllowed
        | ExchangeError::BadSignature
        | ExchangeError::ClockSkew
        | ExchangeError::InvalidRequest(_)
        | ExchangeError::RateLimited { .. }
        | ExchangeError::NotFound => true,
        ExchangeError::Rejected { status, code } => {
            *status < 500 && !matches!(code, Some(-1006) | Some(-1007))
        }
        ExchangeError::DuplicateOrder
        | ExchangeError::OrderNotFound
        | ExchangeError::Timeout
        | ExchangeError::Unavailable(_)
        | ExchangeError::InvalidData(_) => false,
    }
}

/// A short code for an exchange error, as stored with the order.
pub fn error_code(e: &ExchangeError) -> &'static str {
    match e {
        ExchangeError::InvalidKey => "invalid_key",
        ExchangeError::IpNotAllowed => "ip_not_allowed",
        ExchangeError::BadSignature => "bad_signature",
        ExchangeError::ClockSkew => "clock_skew",
        ExchangeError::InsufficientBalance => "insufficient_balance",
        ExchangeError::DuplicateOrder => "duplicate_order",
        ExchangeError::FilterFailure { .. } => "filter_failure",
        ExchangeError::UnknownSymbol => "unknown_symbol",
        ExchangeError::OrderNotFound => "order_not_found",
        ExchangeError::RateLimited { .. } => "rate_limited",
        ExchangeError::Timeout => "timeout",
        ExchangeError::Unavailable(_) => "unavailable",
        ExchangeError::NotFound => "not_found",
        ExchangeError::Rejected { .. } => "rejected",
        ExchangeError::InvalidData(_) => "invalid_data",
        ExchangeError::InvalidRequest(_) => "invalid_request",
    }
}
