//! Trading accounts, positions and orders (`trading_accounts`, `positions`, `orders`).
//! Every amount is an exact decimal stored as TEXT; the rows here are as stored, and
//! `crate::trading::desk` turns them into numbers.
//!
//! The invariants that keep money right live in the statements:
//! - one position per Confirm token (`open_token` UNIQUE) and one order per client
//!   order id (`client_order_id` UNIQUE), so a retried Confirm finds what was done;
//! - an order becomes `filled` and its position is written in ONE transaction: no
//!   position without its order, no filled order without its position;
//! - a position is closed only by whoever holds its claim, and only once
//!   (`WHERE status = 'open' AND claimed_by = $by`).

use super::StoreError;
use super::engine::{Engine, WriteTx, sql};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Where an account trades and its paper run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TradingAccountRecord {
    pub user_id: i64,
    /// `paper`, `testnet` or `live`.
    pub venue: String,
    pub live_allowed: bool,
    pub paper_epoch: i64,
    /// The paper run's starting equity (USDT, decimal text).
    pub paper_equity: String,
    pub paper_started_at: DateTime<Utc>,
}

/// An order about to be sent (or simulated), written before anything leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub user_id: i64,
    pub position_id: Option<i64>,
    pub venue: String,
    /// The exchange key it is sent with; `None` on paper.
    pub key_id: Option<i64>,
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: String,
    /// `open` or `close`.
    pub purpose: String,
    pub client_order_id: String,
    pub quantity: String,
    /// JSON of what is asked (never a key, a secret or a signature).
    pub request: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderRecord {
    pub id: i64,
    pub user_id: i64,
    pub position_id: Option<i64>,
    pub venue: String,
    pub key_id: Option<i64>,
    pub symbol: String,
    pub side: String,
    pub purpose: String,
    pub client_order_id: String,
    pub quantity: String,
    /// `pending`, `filled`, `failed` or `unknown`.
    pub status: String,
    pub exchange_order_id: Option<i64>,
    pub executed_qty: Option<String>,
    pub avg_price: Option<String>,
    pub fee_usdt: Option<String>,
    pub request: String,
    pub response: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an order's execution was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFill {
    pub exchange_order_id: Option<i64>,
    pub executed_qty: String,
    pub avg_price: String,
    pub fee_usdt: String,
    /// JSON of the answer (fills, status), never a secret.
    pub response: String,
}

/// A position to write with its opening order's fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPosition {
    pub user_id: i64,
    pub venue: String,
    pub key_id: Option<i64>,
    pub paper_epoch: i64,
    pub symbol: String,
    pub side: String,
    pub qty: String,
    pub entry_price: String,
    pub leverage: i32,
    pub sl: Option<String>,
    pub tp: Option<String>,
    pub open_fee: String,
    pub opened_at: DateTime<Utc>,
    pub open_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct PositionRecord {
    pub id: i64,
    pub user_id: i64,
    pub venue: String,
    pub paper_epoch: i64,
    pub symbol: String,
    pub side: String,
    pub qty: String,
    pub entry_price: String,
    pub leverage: i32,
    pub sl: Option<String>,
    pub tp: Option<String>,
    pub open_fee: String,
    pub opened_at: DateTime<Utc>,
    pub open_token: String,
    pub key_id: Option<i64>,
    pub status: String,
    pub close_reason: Option<String>,
    pub exit_price: Option<String>,
    pub close_fee: Option<String>,
    pub realized_pnl: Option<String>,
    pub dust: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
    pub claim_until: Option<DateTime<Utc>>,
    pub close_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub failure_told: bool,
    /// The position this closed row was sold from, when a close filled only in part
    /// (see [`PositionStore::record_partial_close`]); `None` otherwise. Absent from
    /// notices queued before it existed.
    #[serde(default)]
    pub split_from: Option<i64>,
}

/// What the monitor reads of an open position each tick: the numbers only (no times:
/// claimed and backing-off positions are left out by the query itself).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MonitorPosition {
    pub id: i64,
    pub user_id: i64,
    pub venue: String,
    pub symbol: String,
    pub side: String,
    pub qty: String,
    pub entry_price: String,
    pub leverage: i32,
    pub sl: Option<String>,
    pub tp: Option<String>,
    pub open_fee: String,
}

/// How a position ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionClose {
    /// `closed` or `liquidated`.
    pub status: String,
    /// `manual`, `sl`, `tp` or `liquidation`.
    pub reason: String,
    pub exit_price: String,
    pub close_fee: String,
    pub realized_pnl: String,
    pub dust: Option<String>,
    pub closed_at: DateTime<Utc>,
}

/// A close that sold only part of a position (a thin book) whose rest is sellable: the
/// position stays open with the rest, and the sold part becomes a closed row of its own.
/// The two open fees always sum exactly to the position's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionSplit {
    /// The position's quantity and open fee as the closer read them: the split is only
    /// written if they are still so (never twice, never on a changed position).
    pub expected_qty: String,
    pub expected_open_fee: String,
    /// What stays open.
    pub rest_qty: String,
    pub rest_open_fee: String,
    /// The sold part: its quantity, its share of the open fee, and a fresh random open
    /// token (32 hex; never derived from the position's, since close client ids are
    /// built from a token's first 24 characters).
    pub sold_qty: String,
    pub sold_open_fee: String,
    pub sold_token: String,
    /// How the sold part closed (`status` is `closed`, `dust` is `None`).
    pub close: PositionClose,
    /// When the monitor may try the rest (`None`: at once). A thin book that keeps
    /// filling in part is not sold in slices every tick.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The outcome of writing an opening fill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenRecorded {
    /// Written now: the new position's id.
    Opened(i64),
    /// The token's position existed already (a retry): its id.
    Existing(i64),
}

macro_rules! positions_sql {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, venue, paper_epoch, symbol, side, qty, entry_price, leverage, sl, tp, \
             open_fee, opened_at, open_token, key_id, status, close_reason, exit_price, close_fee, realized_pnl, \
             dust, closed_at, claimed_by, claim_until, close_attempts, next_attempt_at, failure_told, split_from \
             FROM positions ",
            $tail
        )
    };
}

macro_rules! orders_sql {
    ($tail:literal) => {
        concat!(
            "SELECT id, user_id, position_id, venue, key_id, symbol, side, purpose, client_order_id, quantity, \
             status, exchange_order_id, executed_qty, avg_price, fee_usdt, request, response, error, \
             created_at, updated_at FROM orders ",
            $tail
        )
    };
}

#[async_trait]
pub trait PositionStore: Send + Sync {
    /// The account's trading record, created with `paper_equity` on first use.
    async fn trading_account(
        &self,
        user_id: i64,
        paper_equity: &str,
        now: DateTime<Utc>,
    ) -> Result<TradingAccountRecord, StoreError>;
    async fn set_venue(&self, user_id: i64, venue: &str) -> Result<(), StoreError>;
    async fn set_live_allowed(&self, user_id: i64, allowed: bool) -> Result<(), StoreError>;
    /// Start a new paper run with `equity`: open paper positions are marked `reset`.
    /// The new epoch.
    async fn reset_paper(&self, user_id: i64, equity: &str, now: DateTime<Utc>) -> Result<i64, StoreError>;

    /// Write an order before it is sent: its id, or `None` when an order with this
    /// client id exists already (a retry).
    async fn insert_order(&self, order: &NewOrder) -> Result<Option<i64>, StoreError>;
    async fn order_by_client_id(&self, client_order_id: &str) -> Result<Option<OrderRecord>, StoreError>;
    /// Orders in `status` for `purpose` (`open`, `close`) created before `before` (the
    /// reconciler's work), oldest first.
    async fn orders_in_status(
        &self,
        status: &str,
        purpose: &str,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, StoreError>;
    /// The account's orders, newest first.
    async fn orders_of(&self, user_id: i64, limit: i64) -> Result<Vec<OrderRecord>, StoreError>;
    /// How many of the account's opening orders are not settled (`pending` or `unknown`:
    /// they may have filled), leaving out the one with client id `except`.
    async fn unsettled_opens(&self, user_id: i64, except: &str) -> Result<i64, StoreError>;
    /// Mark an order that did not fill (`failed`) or whose outcome is not known
    /// (`unknown`), with the error code and the answer, if any.
    async fn mark_order(
        &self,
        order_id: i64,
        status: &str,
        error: Option<&str>,
        response: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// In one transaction: the opening order `order_id` becomes filled and `position` is
    /// written. A retry of a token already recorded returns its position.
    async fn record_open(
        &self,
        order_id: i64,
        fill: &OrderFill,
        position: &NewPosition,
        now: DateTime<Utc>,
    ) -> Result<OpenRecorded, StoreError>;

    async fn position(&self, id: i64) -> Result<Option<PositionRecord>, StoreError>;
    async fn position_by_token(&self, open_token: &str) -> Result<Option<PositionRecord>, StoreError>;
    /// The account's open positions on `venue` (every venue when `None`), by id.
    async fn open_positions(
        &self,
        user_id: i64,
        venue: Option<&str>,
    ) -> Result<Vec<PositionRecord>, StoreError>;
    /// Every open position, by id.
    async fn all_open_positions(&self) -> Result<Vec<PositionRecord>, StoreError>;
    /// The open positions the monitor may close at `now` (no live claim, not waiting for
    /// a retry), numbers only, by id.
    async fn monitor_positions(&self, now: DateTime<Utc>) -> Result<Vec<MonitorPosition>, StoreError>;
    /// How many positions are open: of one account, or of all.
    async fn open_position_count(&self, user_id: Option<i64>) -> Result<i64, StoreError>;
    /// The (venue, symbol) pairs of the open positions, each once: what the monitor
    /// reads prices for while it reads the positions themselves.
    async fn open_markets(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// The account's closed (or liquidated) positions, newest first.
    async fn closed_positions(&self, user_id: i64, limit: i64) -> Result<Vec<PositionRecord>, StoreError>;
    /// The account's positions on `venue` that ended (closed, liquidated) at or after
    /// `since`: today's realized PnL.
    async fn closed_since(
        &self,
        user_id: i64,
        venue: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<PositionRecord>, StoreError>;
    /// The account's paper positions of `epoch` that ended (closed, liquidated), every
    /// one: the paper account's realized ledger.
    async fn paper_ledger(&self, user_id: i64, epoch: i64) -> Result<Vec<PositionRecord>, StoreError>;

    /// Every account's positions ended since `since`: (account, realized PnL text, the
    /// trade: the position's id, the same for the parts of one closed in parts).
    async fn realized_since_all(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, Option<String>, i64)>, StoreError>;
    /// Opens the risk check refused since `since` (in the preview or at Confirm), by
    /// account: from the audit log.
    async fn refused_opens_since(&self, since: DateTime<Utc>) -> Result<Vec<(i64, i64)>, StoreError>;
    /// Accounts with a position closed since `since` or open now (what the daily limit
    /// may concern).
    async fn trading_accounts_active_since(&self, since: DateTime<Utc>) -> Result<Vec<i64>, StoreError>;

    /// Take the order lease of an account (its row must exist) for `by` until `until`:
    /// true when `by` holds it now (it was free, expired, or `by`'s already). Opens and
    /// paper resets hold it, so no two run at once for one account, whichever instance
    /// handles them.
    async fn claim_order_lease(
        &self,
        user_id: i64,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Give the order lease back, if `by` still holds it.
    async fn release_order_lease(&self, user_id: i64, by: &str) -> Result<(), StoreError>;

    /// Claim the close of an open position for `by` until `until`: true for the one
    /// caller that may close it now (no live claim, not waiting for a retry).
    /// `manual`: a person's close, which the monitor's retry backoff does not hold back.
    async fn claim_close(
        &self,
        position_id: i64,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        manual: bool,
    ) -> Result<bool, StoreError>;
    /// Keep holding the claim of `by` until `until` (just before sending a close): false
    /// when `by` lost it (expired and taken) or the position is no longer open.
    async fn extend_claim(
        &self,
        position_id: i64,
        by: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The closing orders of a position, oldest first (one per attempt).
    async fn close_orders(&self, position_id: i64) -> Result<Vec<OrderRecord>, StoreError>;
    /// Give a claim back after a failed close: counts the attempt and sets when the next
    /// one may run. `told` marks that the owner was told about the failure.
    async fn release_close(
        &self,
        position_id: i64,
        by: &str,
        next_attempt_at: DateTime<Utc>,
        told: bool,
    ) -> Result<(), StoreError>;
    /// Record the close of a claimed position (and its closing order's fill, when there
    /// is one) in one transaction: false when `by` no longer holds it open.
    async fn record_close(
        &self,
        position_id: i64,
        by: &str,
        close: &PositionClose,
        order: Option<(i64, &OrderFill)>,
    ) -> Result<bool, StoreError>;
    /// Record a close that sold only part of a claimed position, in one transaction:
    /// the position (same id) stays open with the rest and its claim is given back (its
    /// retry backoff cleared: a partial fill is not a failure); a new closed row holds
    /// the sold part (`split_from` = the position's id); the closing order `order` becomes
    /// filled and stays the position's (its attempt numbering goes on for the rest). The
    /// new row's id, or `None` (nothing written) when `by` no longer holds the position
    /// open or its quantity or open fee is no longer what `split` expects.
    async fn record_partial_close(
        &self,
        position_id: i64,
        by: &str,
        split: &PositionSplit,
        order: (i64, &OrderFill),
    ) -> Result<Option<i64>, StoreError>;
}

#[async_trait]
impl<E: Engine> PositionStore for E {
    async fn trading_account(
        &self,
        user_id: i64,
        paper_equity: &str,
        now: DateTime<Utc>,
    ) -> Result<TradingAccountRecord, StoreError> {
        const SELECT: &str = "SELECT user_id, venue, live_allowed, paper_epoch, paper_equity, paper_started_at \
                              FROM trading_accounts WHERE user_id = $1";
        // Read on every trading command: a write only the first time.
        if let Some(found) = sql(SELECT).bind(user_id).read_optional(self).await? {
            return Ok(found);
        }
        sql(
            "INSERT INTO trading_accounts (user_id, paper_equity, paper_started_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(paper_equity)
        .bind(now)
        .write(self)
        .await?;
        // On the writer: it sees the row just written (ours or a concurrent one).
        Ok(sql(SELECT).bind(user_id).write_one(self).await?)
    }

    async fn set_venue(&self, user_id: i64, venue: &str) -> Result<(), StoreError> {
        sql("UPDATE trading_accounts SET venue = $1 WHERE user_id = $2")
            .bind(venue)
            .bind(user_id)
            .write(self)
            .await?;
        Ok(())
    }

    async fn set_live_allowed(&self, user_id: i64, allowed: bool) -> Result<(), StoreError> {
        sql("UPDATE trading_accounts SET live_allowed = $1 WHERE user_id = $2")
            .bind(allowed)
            .bind(user_id)
            .write(self)
            .await?;
        Ok(())
    }

    async fn reset_paper(&self, user_id: i64, equity: &str, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        sql(
            "UPDATE positions SET status = 'reset', close_reason = 'reset', closed_at = $1 \
             WHERE user_id = $2 AND venue = 'paper' AND status = 'open'",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut tx)
        .await?;
        let (epoch,): (i64,) = sql(
            "UPDATE trading_accounts SET paper_epoch = paper_epoch + 1, paper_equity = $1, \
             paper_started_at = $2 WHERE user_id = $3 RETURNING paper_epoch",
        )
        .bind(equity)
        .bind(now)
        .bind(user_id)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(epoch)
    }

    async fn insert_order(&self, o: &NewOrder) -> Result<Option<i64>, StoreError> {
        let id: Option<(i64,)> = sql(
            "INSERT INTO orders (user_id, position_id, venue, symbol, side, purpose, client_order_id, \
             quantity, status, request, created_at, updated_at, key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $10, $11) \
             ON CONFLICT (client_order_id) DO NOTHING RETURNING id",
        )
        .bind(o.user_id)
        .bind(o.position_id)
        .bind(&o.venue)
        .bind(&o.symbol)
        .bind(&o.side)
        .bind(&o.purpose)
        .bind(&o.client_order_id)
        .bind(&o.quantity)
        .bind(&o.request)
        .bind(o.created_at)
        .bind(o.key_id)
        .write_optional(self)
        .await?;
        Ok(id.map(|(id,)| id))
    }

    async fn order_by_client_id(&self, client_order_id: &str) -> Result<Option<OrderRecord>, StoreError> {
        // On the writer: a retry must see the row its first attempt just wrote.
        Ok(sql(orders_sql!("WHERE client_order_id = $1"))
            .bind(client_order_id)
            .write_optional(self)
            .await?)
    }

    async fn orders_in_status(
        &self,
        status: &str,
        purpose: &str,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        Ok(sql(orders_sql!(
            "WHERE status = $1 AND purpose = $4 AND created_at < $2 ORDER BY id LIMIT $3"
        ))
        .bind(status)
        .bind(before)
        .bind(limit)
        .bind(purpose)
        .read_all(self)
        .await?)
    }

    async fn orders_of(&self, user_id: i64, limit: i64) -> Result<Vec<OrderRecord>, StoreError> {
        Ok(sql(orders_sql!("WHERE user_id = $1 ORDER BY id DESC LIMIT $2"))
            .bind(user_id)
            .bind(limit)
            .read_all(self)
            .await?)
    }

    async fn unsettled_opens(&self, user_id: i64, except: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = sql(
            "SELECT COUNT(*) FROM orders WHERE user_id = $1 AND purpose = 'open' \
             AND status IN ('pending', 'unknown') AND client_order_id <> $2",
        )
        .bind(user_id)
        .bind(except)
        .read_one(self)
        .await?;
        Ok(n)
    }

    async fn mark_order(
        &self,
        order_id: i64,
        status: &str,
        error: Option<&str>,
        response: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sql(
            "UPDATE orders SET status = $1, error = $2, response = COALESCE($3, response), updated_at = $4 \
             WHERE id = $5 AND status <> 'filled'",
        )
        .bind(status)
        .bind(error)
        .bind(response)
        .bind(now)
        .bind(order_id)
        .write(self)
        .await?;
        Ok(())
    }

    async fn record_open(
        &self,
        order_id: i64,
        fill: &OrderFill,
        p: &NewPosition,
        now: DateTime<Utc>,
    ) -> Result<OpenRecorded, StoreError> {
        let mut tx = self.begin_write().await?;
        // ON CONFLICT, not a look first: two recorders at once (a retry and the
        // reconciler) on PostgreSQL would both see no row and one would fail.
        let inserted: Option<(i64,)> = sql(
            "INSERT INTO positions (user_id, venue, paper_epoch, symbol, side, qty, entry_price, leverage, \
             sl, tp, open_fee, opened_at, open_token, key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (open_token) DO NOTHING RETURNING id",
        )
        .bind(p.user_id)
        .bind(&p.venue)
        .bind(p.paper_epoch)
        .bind(&p.symbol)
        .bind(&p.side)
        .bind(&p.qty)
        .bind(&p.entry_price)
        .bind(p.leverage)
        .bind(&p.sl)
        .bind(&p.tp)
        .bind(&p.open_fee)
        .bind(p.opened_at)
        .bind(&p.open_token)
        .bind(p.key_id)
        .fetch_optional(&mut tx)
        .await?;
        let Some((id,)) = inserted else {
            tx.rollback().await?;
            let (id,): (i64,) = sql("SELECT id FROM positions WHERE open_token = $1")
                .bind(&p.open_token)
                .write_one(self)
                .await?;
            return Ok(OpenRecorded::Existing(id));
        };
        fill_order(&mut tx, order_id, Some(id), fill, now).await?;
        tx.commit().await?;
        Ok(OpenRecorded::Opened(id))
    }

    async fn position(&self, id: i64) -> Result<Option<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!("WHERE id = $1"))
            .bind(id)
            .write_optional(self)
            .await?)
    }

    async fn position_by_token(&self, open_token: &str) -> Result<Option<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!("WHERE open_token = $1"))
            .bind(open_token)
            .write_optional(self)
            .await?)
    }

    async fn open_positions(
        &self,
        user_id: i64,
        venue: Option<&str>,
    ) -> Result<Vec<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!(
            "WHERE user_id = $1 AND status = 'open' AND ($2 IS NULL OR venue = $2) ORDER BY id"
        ))
        .bind(user_id)
        .bind(venue)
        .read_all(self)
        .await?)
    }

    async fn all_open_positions(&self) -> Result<Vec<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!("WHERE status = 'open' ORDER BY id"))
            .read_all(self)
            .await?)
    }

    async fn monitor_positions(&self, now: DateTime<Utc>) -> Result<Vec<MonitorPosition>, StoreError> {
        Ok(sql(
            "SELECT id, user_id, venue, symbol, side, qty, entry_price, leverage, sl, tp, open_fee \
             FROM positions WHERE status = 'open' AND (claim_until IS NULL OR claim_until < $1) \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY id",
        )
        .bind(now)
        .read_all(self)
        .await?)
    }

    async fn open_position_count(&self, user_id: Option<i64>) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sql("SELECT CAST(COUNT(*) AS BIGINT) FROM positions WHERE status = 'open' AND ($1 IS NULL OR user_id = $1)")
                .bind(user_id)
                .read_one(self)
                .await?;
        Ok(n)
    }

    async fn open_markets(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sql("SELECT DISTINCT venue, symbol FROM positions WHERE status = 'open' ORDER BY venue, symbol")
                .read_all(self)
                .await?,
        )
    }

    async fn closed_positions(&self, user_id: i64, limit: i64) -> Result<Vec<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!(
            "WHERE user_id = $1 AND status IN ('closed', 'liquidated') ORDER BY closed_at DESC, id DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .read_all(self)
        .await?)
    }

    async fn closed_since(
        &self,
        user_id: i64,
        venue: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!(
            "WHERE user_id = $1 AND venue = $2 AND status IN ('closed', 'liquidated') AND closed_at >= $3 ORDER BY id"
        ))
        .bind(user_id)
        .bind(venue)
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn paper_ledger(&self, user_id: i64, epoch: i64) -> Result<Vec<PositionRecord>, StoreError> {
        Ok(sql(positions_sql!(
            "WHERE user_id = $1 AND venue = 'paper' AND paper_epoch = $2 \
             AND status IN ('closed', 'liquidated') ORDER BY id"
        ))
        .bind(user_id)
        .bind(epoch)
        .read_all(self)
        .await?)
    }

    async fn realized_since_all(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, Option<String>, i64)>, StoreError> {
        Ok(sql(
            "SELECT user_id, realized_pnl, COALESCE(split_from, id) FROM positions \
             WHERE status IN ('closed', 'liquidated') AND closed_at >= $1 ORDER BY id",
        )
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn refused_opens_since(&self, since: DateTime<Utc>) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(sql(
            "SELECT account_id, CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE command = 'open' \
             AND detail = 'risk_refused' AND at >= $1 AND account_id IS NOT NULL GROUP BY account_id",
        )
        .bind(since)
        .read_all(self)
        .await?)
    }

    async fn trading_accounts_active_since(&self, since: DateTime<Utc>) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = sql("SELECT DISTINCT user_id FROM positions WHERE status = 'open' \
             OR (status IN ('closed', 'liquidated') AND closed_at >= $1) ORDER BY user_id")
        .bind(since)
        .read_all(self)
        .await?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    async fn claim_order_lease(
        &self,
        user_id: i64,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE trading_accounts SET order_lease_by = $1, order_lease_until = $2 WHERE user_id = $3 \
             AND (order_lease_until IS NULL OR order_lease_until < $4 OR order_lease_by = $1)",
        )
        .bind(by)
        .bind(until)
        .bind(user_id)
        .bind(now)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn release_order_lease(&self, user_id: i64, by: &str) -> Result<(), StoreError> {
        sql(
            "UPDATE trading_accounts SET order_lease_by = NULL, order_lease_until = NULL \
             WHERE user_id = $1 AND order_lease_by = $2",
        )
        .bind(user_id)
        .bind(by)
        .write(self)
        .await?;
        Ok(())
    }

    async fn claim_close(
        &self,
        position_id: i64,
        by: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        manual: bool,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE positions SET claimed_by = $1, claim_until = $2 WHERE id = $3 AND status = 'open' \
             AND (claim_until IS NULL OR claim_until < $4) \
             AND ($5 OR next_attempt_at IS NULL OR next_attempt_at <= $4)",
        )
        .bind(by)
        .bind(until)
        .bind(position_id)
        .bind(now)
        .bind(manual)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn extend_claim(
        &self,
        position_id: i64,
        by: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = sql(
            "UPDATE positions SET claim_until = $1 WHERE id = $2 AND claimed_by = $3 AND status = 'open'",
        )
        .bind(until)
        .bind(position_id)
        .bind(by)
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn close_orders(&self, position_id: i64) -> Result<Vec<OrderRecord>, StoreError> {
        Ok(sql(orders_sql!(
            "WHERE position_id = $1 AND purpose = 'close' ORDER BY id"
        ))
        .bind(position_id)
        .read_all(self)
        .await?)
    }

    async fn release_close(
        &self,
        position_id: i64,
        by: &str,
        next_attempt_at: DateTime<Utc>,
        told: bool,
    ) -> Result<(), StoreError> {
        sql("UPDATE positions SET claimed_by = NULL, claim_until = NULL, close_attempts = close_attempts + 1, \
             next_attempt_at = $1, failure_told = (failure_told OR $2) \
             WHERE id = $3 AND claimed_by = $4 AND status = 'open'")
        .bind(next_attempt_at)
        .bind(told)
        .bind(position_id)
        .bind(by)
        .write(self)
        .await?;
        Ok(())
    }

    async fn record_close(
        &self,
        position_id: i64,
        by: &str,
        c: &PositionClose,
        order: Option<(i64, &OrderFill)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sql(
            "UPDATE positions SET status = $1, close_reason = $2, exit_price = $3, close_fee = $4, \
             realized_pnl = $5, dust = $6, closed_at = $7, claimed_by = NULL, claim_until = NULL \
             WHERE id = $8 AND status = 'open' AND claimed_by = $9",
        )
        .bind(&c.status)
        .bind(&c.reason)
        .bind(&c.exit_price)
        .bind(&c.close_fee)
        .bind(&c.realized_pnl)
        .bind(&c.dust)
        .bind(c.closed_at)
        .bind(position_id)
        .bind(by)
        .execute(&mut tx)
        .await?;
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some((order_id, fill)) = order {
            fill_order(&mut tx, order_id, Some(position_id), fill, c.closed_at).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn record_partial_close(
        &self,
        position_id: i64,
        by: &str,
        split: &PositionSplit,
        (order_id, fill): (i64, &OrderFill),
    ) -> Result<Option<i64>, StoreError> {
        let c = &split.close;
        let mut tx = self.begin_write().await?;
        // The sold part first, copied from the position while it is still open, ours, and
        // as the closer read it: no row when any of that changed.
        let inserted: Option<(i64,)> = sql(
            "INSERT INTO positions (user_id, venue, paper_epoch, symbol, side, qty, entry_price, leverage, \
             sl, tp, open_fee, opened_at, open_token, key_id, status, close_reason, exit_price, close_fee, \
             realized_pnl, dust, closed_at, split_from) \
             SELECT user_id, venue, paper_epoch, symbol, side, $1, entry_price, leverage, sl, tp, $2, opened_at, \
             $3, key_id, $4, $5, $6, $7, $8, NULL, $9, id FROM positions \
             WHERE id = $10 AND status = 'open' AND claimed_by = $11 AND qty = $12 AND open_fee = $13 \
             RETURNING id",
        )
        .bind(&split.sold_qty)
        .bind(&split.sold_open_fee)
        .bind(&split.sold_token)
        .bind(&c.status)
        .bind(&c.reason)
        .bind(&c.exit_price)
        .bind(&c.close_fee)
        .bind(&c.realized_pnl)
        .bind(c.closed_at)
        .bind(position_id)
        .bind(by)
        .bind(&split.expected_qty)
        .bind(&split.expected_open_fee)
        .fetch_optional(&mut tx)
        .await?;
        let Some((sold_id,)) = inserted else {
            tx.rollback().await?;
            return Ok(None);
        };
        let n = sql(
            "UPDATE positions SET qty = $1, open_fee = $2, claimed_by = NULL, claim_until = NULL, \
             close_attempts = 0, next_attempt_at = CASE WHEN $8 THEN $7 ELSE NULL END, failure_told = FALSE \
             WHERE id = $3 AND status = 'open' AND claimed_by = $4 AND qty = $5 AND open_fee = $6",
        )
        .bind(&split.rest_qty)
        .bind(&split.rest_open_fee)
        .bind(position_id)
        .bind(by)
        .bind(&split.expected_qty)
        .bind(&split.expected_open_fee)
        .bind(split.next_attempt_at.unwrap_or(split.close.closed_at))
        .bind(split.next_attempt_at.is_some())
        .execute(&mut tx)
        .await?;
        if n != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        fill_order(&mut tx, order_id, Some(position_id), fill, c.closed_at).await?;
        tx.commit().await?;
        Ok(Some(sold_id))
    }
}

async fn fill_order<X: WriteTx>(
    tx: &mut X,
    order_id: i64,
    position_id: Option<i64>,
    fill: &OrderFill,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sql("UPDATE orders SET status = 'filled', position_id = COALESCE($1, position_id), exchange_order_id = $2, \
         executed_qty = $3, avg_price = $4, fee_usdt = $5, response = $6, error = NULL, updated_at = $7 \
         WHERE id = $8")
    .bind(position_id)
    .bind(fill.exchange_order_id)
    .bind(&fill.executed_qty)
    .bind(&fill.avg_price)
    .bind(&fill.fee_usdt)
    .bind(&fill.response)
    .bind(now)
    .bind(order_id)
    .execute(tx)
    .await?;
    Ok(())
}
