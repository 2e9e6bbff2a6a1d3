//! Closing a position at market, once, on its venue.
//!
//! A close is attempt-numbered: attempt N sends `c<24 hex of the position's open
//! token>-<N>` (unique across databases and deployments, since the open token is 128
//! random bits). Its order row is written before sending and is the send lock: a second
//! closer cannot write the same attempt. Before a new attempt, the previous one must be
//! settled: found filled on the exchange, it is the close; not filled, or not found
//! after [`NOT_PLACED_AFTER_SECS`], the next attempt may go; otherwise the close waits
//! (it is never sent blindly a second time). The claim is renewed just before sending, so
//! a closer whose claim expired (a slow exchange) stops rather than sells twice.
//!
//! A thin book may fill a MARKET close only in part (`EXPIRED`, executedQty below what
//! was asked). When the unsold rest is sellable (minQty and the minimum notional at the
//! current price), the position stays open with the rest under its own id (its SL/TP
//! still watched, its attempt numbering going on) and the sold part becomes a closed row
//! of its own (`split_from`), with its share of the opening fee: both written with the
//! closing order in one transaction. A rest that is not sellable closes with the
//! position and is shown as left over.

use super::ledger::{dec, mark_of, position_of, text};
use super::{Closed, Desk, DeskError, Mode, definitely_not_placed, error_code, report_json};
use crate::exchange::{ApiKey, BookTicker, ExchangeError, MarketOrder, OrderAmount, OrderReport, Side};
use crate::store::{NewOrder, OrderFill, PositionClose, PositionRecord, PositionSplit};
use crate::symbol::Symbol;
use crate::trading::{ClosedTrade, Overflow, PaperFill, Position, fill_price};
use rust_decimal::Decimal;

/// An earlier attempt not found on the exchange this long after it was sent was never
/// placed.
const NOT_PLACED_AFTER_SECS: i64 = 120;
/// After a partial close by the monitor, the rest is tried again this much later.
const PARTIAL_REST_WAIT_SECS: i64 = 30;

impl Desk {
    /// Close an open position of `user_id` at market on its venue (a person's `/close`:
    /// the monitor's retry backoff does not hold it back).
    pub async fn close(&self, user_id: i64, position_id: i64, reason: &str) -> Result<Closed, DeskError> {
        let row = self
            .store()
            .position(position_id)
            .await?
            .filter(|r| r.user_id == user_id && r.status == "open")
            .ok_or(DeskError::NoSuchPosition)?;
        let now = self.now();
        let by = self.claimant(position_id)?;
        if !self
            .store()
            .claim_close(position_id, &by, now, now + self.settings().claim_for, true)
            .await?
        {
            return Err(DeskError::Busy);
        }
        match self.close_claimed(&row, &by, reason, None, None).await {
            Ok(c) => Ok(c),
            Err(e) => {
                // A person's close gives the claim back at once: they may try again.
                if let Err(se) = self
                    .store()
                    .release_close(position_id, &by, self.now(), false)
                    .await
                {
                    tracing::error!(position_id, error = %se, "a failed close could not give its claim back");
                }
                Err(e)
            }
        }
    }

    /// A claimant name for one close attempt: this process, the position, and random
    /// bits (two closers never share one, even within a process).
    pub(super) fn claimant(&self, position_id: i64) -> Result<String, DeskError> {
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|_| DeskError::Corrupt("no randomness for a claim"))?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("{}:{position_id}:{nonce}", self.inner.instance))
    }

    /// Close a position whose claim `by` holds, at market (or at `liquidation`'s price
    /// for a paper liquidation). `book`: prices just read (the monitor's tick), which a
    /// paper fill uses rather than asking again; `None` reads them now.
    pub(super) async fn close_claimed(
        &self,
        row: &PositionRecord,
        by: &str,
        reason: &str,
        liquidation: Option<Decimal>,
        book: Option<&BookTicker>,
    ) -> Result<Closed, DeskError> {
        // The row as it is now that the claim is held: `row` was read before the claim,
        // and another closer may have closed part of it since (a partial close keeps the
        // position open with less and gives its claim back).
        let fresh = self
            .store()
            .position(row.id)
            .await?
            .filter(|r| r.status == "open" && r.claimed_by.as_deref() == Some(by))
            .ok_or(DeskError::Busy)?;
        let row = &fresh;
        let position = position_of(row)?;
        let mode = Mode::parse(&row.venue).ok_or(DeskError::Corrupt("a stored venue does not read"))?;
        if let Some(price) = liquidation {
            let trade = position.liquidated(price)?;
            let close = PositionClose {
                status: "liquidated".into(),
                reason: reason.into(),
                exit_price: text(price),
                close_fee: text(trade.close_fee),
                realized_pnl: text(trade.realized_pnl),
                dust: None,
                closed_at: self.now(),
            };
            return self
                .finish_close(row, by, close, None, trade, Decimal::ZERO)
                .await;
        }
        match mode {
            Mode::Paper => self.close_on_paper(row, by, reason, &position, book).await,
            Mode::Testnet | Mode::Live => self.close_on_exchange(row, by, reason, &position, mode).await,
        }
    }

    async fn close_on_paper(
        &self,
        row: &PositionRecord,
        by: &str,
        reason: &str,
        position: &Position,
        book: Option<&BookTicker>,
    ) -> Result<Closed, DeskError> {
        let side = position.side.close_side();
        let symbol = Symbol::from_normalized(row.symbol.clone());
        let book = match book {
            Some(b) => b.clone(),
            None => self.client(Mode::Paper).book_ticker(&symbol).await?,
        };
        let price = fill_price(&book, side, self.settings().paper.slippage_bps)?;
        let fill = PaperFill::at(side, price, position.qty, &self.settings().paper)?;
        let trade = position.close(&fill)?;
        let prior = self.store().close_orders(row.id).await?;
        for p in prior.iter().filter(|o| o.status == "pending") {
            // A paper close is written with its order: a pending one never filled.
            self.store()
                .mark_order(p.id, "failed", Some("not_filled"), None, self.now())
                .await?;
        }
        let order_id = self
            .close_order_row(row, &close_id(row, prior.len())?, side, position.qty, Mode::Paper)
            .await?;
        let response = serde_json::json!({
            "status": "FILLED", "price": text(fill.price), "executedQty": text(fill.qty),
            "fee": text(fill.fee), "bid": text(book.bid), "ask": text(book.ask),
        })
        .to_string();
        let filled = OrderFill {
            exchange_order_id: None,
            executed_qty: text(fill.qty),
            avg_price: text(fill.price),
            fee_usdt: text(fill.fee),
            response,
        };
        let close = self.position_close(reason, &trade, Decimal::ZERO);
        self.finish_close(row, by, close, Some((order_id, filled)), trade, Decimal::ZERO)
            .await
    }

    async fn close_on_exchange(
        &self,
        row: &PositionRecord,
        by: &str,
        reason: &str,
        position: &Position,
        mode: Mode,
    ) -> Result<Closed, DeskError> {
        let symbol = Symbol::from_normalized(row.symbol.clone());
        let key = self.api_key_by_id(row.user_id, mode, row.key_id).await?;
        let side = position.side.close_side();
        // Settle the previous attempt first: it may have sold already.
        let prior = self.store().close_orders(row.id).await?;
        if let Some(last) = prior
            .iter()
            .rev()
            .find(|o| matches!(o.status.as_str(), "pending" | "unknown"))
        {
            match self
                .client(mode)
                .query_order(&key, &symbol, &last.client_order_id)
                .await
            {
                Ok(found) if found.executed_qty > Decimal::ZERO => {
                    let ordered = dec(&last.quantity)?;
                    return self
                        .record_exchange_close(
                            row,
                            by,
                            reason,
                            position,
                            mode,
                            &key,
                            (last.id, ordered),
                            found,
                        )
                        .await;
                }
                Ok(found) => {
                    self.fail_order(last.id, "not_filled", Some(&report_json(&found)))
                        .await;
                }
                Err(ExchangeError::OrderNotFound)
                    if (self.now() - last.created_at).num_seconds() >= NOT_PLACED_AFTER_SECS =>
                {
                    self.fail_order(last.id, "not_placed", None).await;
                }
                Err(ExchangeError::OrderNotFound) => return Err(DeskError::CloseUnknown),
                Err(e) => return Err(e.into()),
            }
        }
        let filters = self.client(mode).exchange_info(&symbol).await?;
        let book = self.client(mode).book_ticker(&symbol).await?;
        let sell = filters.market_quantity(position.qty, mark_of(position.side, &book))?;
        let client_order_id = close_id(row, prior.len())?;
        let order_id = self
            .close_order_row(row, &client_order_id, side, sell, mode)
            .await?;
        // Still ours? A closer whose claim lapsed stops here, before anything is sent.
        if !self
            .store()
            .extend_claim(row.id, by, self.now() + self.settings().claim_for)
            .await?
        {
            self.fail_order(order_id, "not_sent", None).await;
            return Err(DeskError::Busy);
        }
        let market = MarketOrder {
            symbol: symbol.clone(),
            side,
            amount: OrderAmount::Base(sell),
            client_order_id,
        };
        let report = match self.client(mode).place_or_recover(&key, &market).await {
            Ok(p) => p.order,
            Err(e) if definitely_not_placed(&e) => {
                self.fail_order(order_id, error_code(&e), None).await;
                return Err(e.into());
            }
            Err(e) => {
                self.store()
                    .mark_order(order_id, "unknown", Some(error_code(&e)), None, self.now())
                    .await?;
                tracing::warn!(position_id = row.id, error = %e, "a close's outcome is unknown; looked up before any new attempt");
                return Err(DeskError::CloseUnknown);
            }
        };
        self.record_exchange_close(row, by, reason, position, mode, &key, (order_id, sell), report)
            .await
    }

    /// A closing order's answer (or the order found) as the position's close. Nothing
    /// executed: the attempt failed. `order`: the order row's id and the quantity it
    /// asked for. A partial fill (a thin book) whose unsold rest is sellable (minQty and
    /// the minimum notional at the current price) is a partial close: the position stays
    /// open with the rest, the sold part is closed as a row of its own. A rest that is
    /// not sellable is closed with the rest: it stays in the exchange balance and is
    /// shown as left over.
    #[allow(clippy::too_many_arguments)]
    async fn record_exchange_close(
        &self,
        row: &PositionRecord,
        by: &str,
        reason: &str,
        position: &Position,
        mode: Mode,
        key: &ApiKey,
        (order_id, ordered): (i64, Decimal),
        mut report: OrderReport,
    ) -> Result<Closed, DeskError> {
        let symbol = Symbol::from_normalized(row.symbol.clone());
        if report.executed_qty > Decimal::ZERO && report.fills.is_empty() {
            report.fills = self
                .client(mode)
                .order_fills(key, &symbol, report.order_id)
                .await
                .unwrap_or_default();
        }
        if report.executed_qty <= Decimal::ZERO {
            self.fail_order(order_id, "not_filled", Some(&report_json(&report)))
                .await;
            return Err(DeskError::NotFilled(report.status.clone()));
        }
        if report.fills.is_empty() {
            return self.close_unknown(order_id, "no_fills_yet", &report).await;
        }
        // The fills must account for all that executed (a trade list read too early can
        // be short): otherwise it is looked up again later, never guessed.
        let listed = report
            .fills
            .iter()
            .try_fold(Decimal::ZERO, |sum, f| sum.checked_add(f.qty))
            .ok_or(Overflow)?;
        if listed != report.executed_qty {
            return self.close_unknown(order_id, "fills_incomplete", &report).await;
        }
        // Still executing (found by a lookup while it fills): looked up again later.
        if matches!(report.status.as_str(), "NEW" | "PARTIALLY_FILLED" | "PENDING_NEW") {
            return self.close_unknown(order_id, "not_final", &report).await;
        }
        let filters = self.client(mode).exchange_info(&symbol).await?;
        let exec = self.execution(mode, &report, &filters).await?;
        if exec.executed_qty > position.qty {
            // More sold than the position holds: never booked as this position's.
            tracing::error!(position_id = row.id, sold = %exec.executed_qty, held = %position.qty, "a close sold more than its position holds");
            return self.close_unknown(order_id, "oversold", &report).await;
        }
        let filled = OrderFill {
            exchange_order_id: Some(report.order_id),
            executed_qty: text(exec.executed_qty),
            avg_price: text(exec.price),
            fee_usdt: text(exec.fee_quote),
            response: report_json(&report),
        };
        let fill = PaperFill {
            side: position.side.close_side(),
            price: exec.price,
            qty: exec.executed_qty,
            notional: exec.executed_qty.checked_mul(exec.price).ok_or(Overflow)?,
            fee: exec.fee_quote,
        };
        let rest = position
            .qty
            .checked_sub(exec.executed_qty)
            .ok_or(Overflow)?
            .max(Decimal::ZERO);
        // A partial fill only in a final state (the rest of the order will never fill).
        let final_partial = matches!(
            report.status.as_str(),
            "EXPIRED" | "EXPIRED_IN_MATCH" | "CANCELED"
        );
        if final_partial && exec.executed_qty < ordered && !rest.is_zero() {
            // At the price the rest would sell at now; the fill's when the book does not
            // read (what sold is recorded whatever the book says).
            let price = match self.client(mode).book_ticker(&symbol).await {
                Ok(book) => mark_of(position.side, &book),
                Err(e) => {
                    tracing::warn!(position_id = row.id, error = %e, "no price for a partial close's rest; the fill's is used");
                    exec.price
                }
            };
            // Sellable with a margin (at half the price): a rest just over the minimum
            // would not stay sellable in the falling, thin book that left it, and would
            // then be stuck open; such a rest is closed as left over instead.
            let margin_price = price.checked_div(Decimal::TWO).unwrap_or(Decimal::ZERO);
            if filters.market_quantity(rest, margin_price).is_ok() {
                return self
                    .record_partial_close(row, by, reason, position, rest, (order_id, filled), fill)
                    .await;
            }
        }
        // Closed whole: the sold part carries the whole opening fee.
        let sold = Position {
            qty: exec.executed_qty,
            ..position.clone()
        };
        let trade = sold.close(&fill)?;
        let close = self.position_close(reason, &trade, rest);
        self.finish_close(row, by, close, Some((order_id, filled)), trade, rest)
            .await
    }

    /// A partial fill whose `rest` stays open: the sold part (with its share of the
    /// opening fee) becomes a closed row of its own, in one transaction with the rest
    /// and the closing order.
    #[allow(clippy::too_many_arguments)]
    async fn record_partial_close(
        &self,
        row: &PositionRecord,
        by: &str,
        reason: &str,
        position: &Position,
        rest: Decimal,
        (order_id, filled): (i64, OrderFill),
        fill: PaperFill,
    ) -> Result<Closed, DeskError> {
        let sold_open_fee = open_fee_share(position.open_fee, fill.qty, position.qty)?;
        let rest_open_fee = position.open_fee.checked_sub(sold_open_fee).ok_or(Overflow)?;
        let sold = Position {
            qty: fill.qty,
            open_fee: sold_open_fee,
            ..position.clone()
        };
        let trade = sold.close(&fill)?;
        let split = PositionSplit {
            expected_qty: row.qty.clone(),
            expected_open_fee: row.open_fee.clone(),
            rest_qty: text(rest),
            rest_open_fee: text(rest_open_fee),
            sold_qty: text(fill.qty),
            sold_open_fee: text(sold_open_fee),
            sold_token: fresh_token()?,
            close: self.position_close(reason, &trade, Decimal::ZERO),
            // A person's close may try the rest at once; the monitor waits a little.
            next_attempt_at: (reason != "manual")
                .then(|| self.now() + chrono::Duration::seconds(PARTIAL_REST_WAIT_SECS)),
        };
        let Some(sold_id) = self
            .store()
            .record_partial_close(row.id, by, &split, (order_id, &filled))
            .await?
        else {
            return Err(DeskError::Busy);
        };
        tracing::info!(position_id = row.id, sold_id, sold = %fill.qty, rest = %rest, "a close filled in part; the rest stays open");
        let position = self
            .store()
            .position(sold_id)
            .await?
            .ok_or(DeskError::NoSuchPosition)?;
        Ok(Closed {
            position,
            trade,
            dust: Decimal::ZERO,
            remaining: Some(rest),
        })
    }

    /// Leave a closing order `unknown` with `code` and the exchange's answer: it is
    /// looked up again before any new attempt, never guessed.
    async fn close_unknown(
        &self,
        order_id: i64,
        code: &str,
        report: &OrderReport,
    ) -> Result<Closed, DeskError> {
        self.store()
            .mark_order(
                order_id,
                "unknown",
                Some(code),
                Some(&report_json(report)),
                self.now(),
            )
            .await?;
        Err(DeskError::CloseUnknown)
    }

    fn position_close(&self, reason: &str, trade: &ClosedTrade, dust: Decimal) -> PositionClose {
        PositionClose {
            status: "closed".into(),
            reason: reason.into(),
            exit_price: text(trade.exit),
            close_fee: text(trade.close_fee),
            realized_pnl: text(trade.realized_pnl),
            dust: (!dust.is_zero()).then(|| text(dust)),
            closed_at: self.now(),
        }
    }

    async fn close_order_row(
        &self,
        row: &PositionRecord,
        client_order_id: &str,
        side: Side,
        qty: Decimal,
        mode: Mode,
    ) -> Result<i64, DeskError> {
        let request = serde_json::json!({
            "symbol": row.symbol, "side": side.as_binance(), "type": "MARKET",
            "quantity": text(qty), "position_id": row.id,
        })
        .to_string();
        self.store()
            .insert_order(&NewOrder {
                user_id: row.user_id,
                position_id: Some(row.id),
                venue: mode.as_str().into(),
                key_id: row.key_id,
                symbol: row.symbol.clone(),
                side: side.as_binance().into(),
                purpose: "close".into(),
                client_order_id: client_order_id.into(),
                quantity: text(qty),
                request,
                created_at: self.now(),
            })
            .await?
            // Another closer wrote this attempt: it is sending it.
            .ok_or(DeskError::Busy)
    }

    async fn finish_close(
        &self,
        row: &PositionRecord,
        by: &str,
        close: PositionClose,
        order: Option<(i64, OrderFill)>,
        trade: ClosedTrade,
        dust: Decimal,
    ) -> Result<Closed, DeskError> {
        let recorded = self
            .store()
            .record_close(row.id, by, &close, order.as_ref().map(|(id, f)| (*id, f)))
            .await?;
        if !recorded {
            return Err(DeskError::Busy);
        }
        let position = self
            .store()
            .position(row.id)
            .await?
            .ok_or(DeskError::NoSuchPosition)?;
        Ok(Closed {
            position,
            trade,
            dust,
            remaining: None,
        })
    }
}

/// Attempt `n`'s client order id: `c` + 24 hex of the open token + `-n` (at most 36).
fn close_id(row: &PositionRecord, n: usize) -> Result<String, DeskError> {
    let prefix: String = row
        .open_token
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(24)
        .collect();
    if prefix.len() < 16 {
        return Err(DeskError::Corrupt("a position's open token is too short"));
    }
    Ok(format!("c{prefix}-{n}"))
}

/// The share of `open_fee` that `part` of `qty` carries: `open_fee × part / qty`, rounded
/// to 8 decimal places (half away from zero), never more than `open_fee`.
pub(crate) fn open_fee_share(open_fee: Decimal, part: Decimal, qty: Decimal) -> Result<Decimal, DeskError> {
    if qty <= Decimal::ZERO || part < Decimal::ZERO || part > qty {
        return Err(DeskError::Corrupt(
            "a partial close sold more than the position held",
        ));
    }
    let share = open_fee
        .checked_mul(part)
        .and_then(|x| x.checked_div(qty))
        .ok_or(Overflow)?
        .round_dp_with_strategy(8, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Ok(if open_fee >= Decimal::ZERO {
        share.clamp(Decimal::ZERO, open_fee)
    } else {
        share.clamp(open_fee, Decimal::ZERO)
    })
}

/// A fresh random open token (32 hex) for the sold part of a partial close: never
/// derived from the position's, whose first 24 characters its close client ids carry.
fn fresh_token() -> Result<String, DeskError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| DeskError::Corrupt("no randomness for a token"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::open_fee_share;
    use rust_decimal::Decimal;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A notice queued (as JSON in `owner_notices`) before partial closes existed still
    /// reads: a whole close, no split.
    #[test]
    fn a_closed_queued_before_partial_closes_still_reads() {
        let old = r#"{"position":{"id":5,"user_id":1,"venue":"testnet","paper_epoch":0,
            "symbol":"BTCUSDT","side":"long","qty":"1","entry_price":"60010","leverage":1,
            "sl":"59500","tp":null,"open_fee":"60.01","opened_at":"2026-11-24T10:00:00Z",
            "open_token":"0123456789abcdef0123456789abcdef","key_id":3,"status":"closed",
            "close_reason":"sl","exit_price":"59400","close_fee":"59.4","realized_pnl":"-729.41",
            "dust":null,"closed_at":"2026-11-24T11:00:00Z","claimed_by":null,"claim_until":null,
            "close_attempts":0,"next_attempt_at":null,"failure_told":false},
            "trade":{"exit":"59400","gross_pnl":"-610","close_fee":"59.4","fees":"119.41",
            "realized_pnl":"-729.41","realized_pct":"-1.21"},"dust":"0"}"#;
        let closed: super::Closed = serde_json::from_str(old).unwrap();
        assert_eq!(closed.remaining, None);
        assert_eq!(closed.position.split_from, None);
        assert_eq!(closed.position_id(), 5);
        assert_eq!(closed.trade.realized_pnl, d("-729.41"));
    }

    #[test]
    fn the_open_fee_shares_sum_exactly_to_the_fee() {
        // Terminating: exact.
        assert_eq!(open_fee_share(d("60.01"), d("0.6"), d("1")).unwrap(), d("36.006"));
        // Not terminating: 8 dp, and the rest takes the difference.
        let share = open_fee_share(d("1"), d("1"), d("3")).unwrap();
        assert_eq!(share, d("0.33333333"));
        // The two parts' shares, each rounded, differ from the fee by at most 1e-8 (the
        // store gives the rest `fee − share`, exactly, never its own rounded share).
        let other = open_fee_share(d("1"), d("2"), d("3")).unwrap();
        assert_eq!(other, d("0.66666667"));
        assert!((share + other - d("1")).abs() <= d("0.00000001"));
        // A fee with more than 8 decimals (a BNB commission converted at its price).
        let bnb = d("0.123456789123");
        let part = open_fee_share(bnb, d("0.25"), d("1")).unwrap();
        assert_eq!(part, d("0.03086420"));
        assert!(part <= bnb);
        assert_eq!(open_fee_share(d("0"), d("0.5"), d("1")).unwrap(), d("0"));
        assert!(open_fee_share(d("1"), d("2"), d("1")).is_err());
        assert!(open_fee_share(d("1"), d("1"), d("0")).is_err());
    }
}
