//! Stored rows as numbers: a position row as a [`Position`], the paper account's
//! equity from its ledger, an order's fills as one fill in USDT.

use crate::exchange::{BookTicker, OrderReport};
use crate::store::PositionRecord;
use crate::trading::{Leverage, OpenExposure, Overflow, Position, PositionSide};
use rust_decimal::Decimal;

use super::DeskError;

/// A stored decimal; a row that does not read is an error, never a zero.
pub(crate) fn dec(s: &str) -> Result<Decimal, DeskError> {
    s.parse::<Decimal>()
        .map_err(|_| DeskError::Corrupt("a stored amount does not read"))
}

fn opt_dec(s: &Option<String>) -> Result<Option<Decimal>, DeskError> {
    s.as_deref().map(dec).transpose()
}

/// A stored decimal as text: exact, without trailing zeros.
pub(crate) fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// An open position row as numbers.
pub fn position_of(row: &PositionRecord) -> Result<Position, DeskError> {
    position_from(
        &row.side,
        row.leverage,
        &row.entry_price,
        &row.qty,
        &row.sl,
        &row.tp,
        &row.open_fee,
    )
}

/// The numbers of a position from their stored text.
pub fn position_from(
    side: &str,
    leverage: i32,
    entry: &str,
    qty: &str,
    sl: &Option<String>,
    tp: &Option<String>,
    open_fee: &str,
) -> Result<Position, DeskError> {
    let side = PositionSide::parse(side).ok_or(DeskError::Corrupt("a stored side does not read"))?;
    let lev = u32::try_from(leverage)
        .ok()
        .and_then(|l| Leverage::new(l).ok())
        .ok_or(DeskError::Corrupt("a stored leverage does not read"))?;
    Ok(Position {
        side,
        entry: dec(entry)?,
        qty: dec(qty)?,
        lev,
        sl: opt_dec(sl)?,
        tp: opt_dec(tp)?,
        open_fee: dec(open_fee)?,
    })
}

/// The price a position is valued (and closed) at: the best bid for a long (what it
/// sells at), the best ask for a short (what it buys back at).
pub fn mark_of(side: PositionSide, book: &BookTicker) -> Decimal {
    match side {
        PositionSide::Long => book.bid,
        PositionSide::Short => book.ask,
    }
}

/// A closed position's realized PnL (net of both fees), zero for a row without one.
pub fn realized_of(row: &PositionRecord) -> Result<Decimal, DeskError> {
    Ok(opt_dec(&row.realized_pnl)?.unwrap_or_default())
}

/// Paper equity: the run's starting equity + realized net PnL of its closed positions
/// + Σ (unrealized PnL − opening fee) of its open ones at their marks.
pub fn paper_equity(
    starting: Decimal,
    closed: &[PositionRecord],
    open: &[(Position, Decimal)],
) -> Result<Decimal, DeskError> {
    let mut e = starting;
    for row in closed {
        e = e.checked_add(realized_of(row)?).ok_or(Overflow)?;
    }
    for (p, mark) in open {
        e = e
            .checked_add(p.unrealized_pnl(*mark)?)
            .and_then(|e| e.checked_sub(p.open_fee))
            .ok_or(Overflow)?;
    }
    Ok(e)
}

/// What the risk check needs of the open positions.
pub fn exposures(open: &[(Position, Decimal)], fee_bps: Decimal) -> Result<Vec<OpenExposure>, Overflow> {
    open.iter().map(|(p, mark)| p.exposure(*mark, fee_bps)).collect()
}

/// An exchange order's execution, as one fill in the quote asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    /// Quantity-weighted average of the fills.
    pub price: Decimal,
    pub executed_qty: Decimal,
    /// Base asset charged as commission (comes off what a buy receives).
    pub base_commission: Decimal,
    /// Every commission, in the quote asset.
    pub fee_quote: Decimal,
}

/// Sum an order's fills. Commissions in the quote asset count as they are; in the base
/// asset at the fill's price; in another asset (BNB) at `other_price(asset)` in the
/// quote asset, or at zero with a warning when no price is known.
pub fn execution_of(
    order: &OrderReport,
    base: &str,
    quote: &str,
    other_price: impl Fn(&str) -> Option<Decimal>,
) -> Result<Execution, DeskError> {
    let price = order
        .average_price()
        .ok_or(DeskError::Corrupt("the exchange reported an order without fills"))?;
    let mut fee = Decimal::ZERO;
    let mut base_commission = Decimal::ZERO;
    let mut qty = Decimal::ZERO;
    for f in &order.fills {
        qty = qty.checked_add(f.qty).ok_or(Overflow)?;
        let in_quote = if f.commission_asset == quote {
            f.commission
        } else if f.commission_asset == base {
            base_commission = base_commission.checked_add(f.commission).ok_or(Overflow)?;
            f.commission.checked_mul(f.price).ok_or(Overflow)?
        } else {
            match other_price(&f.commission_asset) {
                Some(p) => f.commission.checked_mul(p).ok_or(Overflow)?,
                None => {
                    tracing::warn!(
                        asset = %f.commission_asset,
                        "no price for a commission asset; counted as zero"
                    );
                    Decimal::ZERO
                }
            }
        };
        fee = fee.checked_add(in_quote).ok_or(Overflow)?;
    }
    Ok(Execution {
        price,
        executed_qty: if qty.is_zero() { order.executed_qty } else { qty },
        base_commission,
        fee_quote: fee,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::{PaperFill, PaperSettings};
    use chrono::Utc;
    use proptest::prelude::*;

    fn closed_row(realized: Decimal) -> PositionRecord {
        PositionRecord {
            id: 1,
            user_id: 1,
            venue: "paper".into(),
            paper_epoch: 1,
            symbol: "BTCUSDT".into(),
            side: "long".into(),
            qty: "1".into(),
            entry_price: "1".into(),
            leverage: 1,
            sl: None,
            tp: None,
            open_fee: "0".into(),
            opened_at: Utc::now(),
            open_token: "t".into(),
            key_id: None,
            status: "closed".into(),
            close_reason: Some("manual".into()),
            exit_price: Some("1".into()),
            close_fee: Some("0".into()),
            // As stored: exact decimal text.
            realized_pnl: Some(text(realized)),
            dust: None,
            closed_at: Some(Utc::now()),
            claimed_by: None,
            claim_until: None,
            close_attempts: 0,
            next_attempt_at: None,
            failure_told: false,
            split_from: None,
        }
    }

    fn amount(lo: i64, hi: i64, dp: u32) -> impl Strategy<Value = Decimal> {
        (lo..hi).prop_map(move |n| Decimal::new(n, dp))
    }

    proptest! {
        /// The stored ledger against an independent cash model: every fill moves cash
        /// (a long pays qty × price + fee to open and receives qty × price − fee to
        /// close; a short the other way round), and equity is cash plus the open
        /// positions at the mark. Realized PnL (stored as text, read back) plus
        /// unrealized PnL always equals that equity change, to the last digit.
        #[test]
        fn realized_plus_unrealized_is_the_equity_change(
            trades in prop::collection::vec(
                (any::<bool>(), amount(1, 10_000_000, 2), amount(1, 10_000_000, 2), amount(1, 10_000_000, 6), 1u32..=20, any::<bool>()),
                1..10),
            fee_bps in 0u32..=50,
            slippage_bps in 0u32..=20,
            mark in amount(1, 10_000_000, 2),
        ) {
            let s = PaperSettings {
                fee_bps: Decimal::from(fee_bps),
                slippage_bps: Decimal::from(slippage_bps),
                starting_equity: Decimal::from(10_000),
            };
            let mut cash = s.starting_equity;
            let mut closed = Vec::new();
            let mut open = Vec::new();
            let mut held = Decimal::ZERO; // Σ long qty − Σ short qty still open
            for (long, entry, exit, qty, lev, close) in &trades {
                let side = if *long { PositionSide::Long } else { PositionSide::Short };
                let opening = PaperFill::at(side.open_side(), *entry, *qty, &s).unwrap();
                let p = Position::from_fill(side, &opening, Leverage::new(*lev).unwrap(), None, None);
                let sign = if *long { Decimal::ONE } else { -Decimal::ONE };
                cash -= sign * opening.notional + opening.fee;
                if *close {
                    let closing = PaperFill::at(side.close_side(), *exit, *qty, &s).unwrap();
                    cash += sign * closing.notional - closing.fee;
                    closed.push(closed_row(p.close(&closing).unwrap().realized_pnl));
                } else {
                    held += sign * *qty;
                    open.push((p, mark));
                }
            }
            let cash_equity = cash + held * mark;
            let ledger = paper_equity(s.starting_equity, &closed, &open).unwrap();
            prop_assert_eq!(ledger, cash_equity);
            let realized: Decimal = closed.iter().map(|r| realized_of(r).unwrap()).sum();
            let unrealized: Decimal = open.iter().map(|(p, m)| p.unrealized_pnl(*m).unwrap() - p.open_fee).sum();
            prop_assert_eq!(ledger - s.starting_equity, realized + unrealized);
        }
    }

    proptest! {
        /// A position closed in two parts (a thin book: the sold part carries its share
        /// of the opening fee, the rest the remainder) realizes, over both rows, exactly
        /// what the cash moved: the same as closing it whole at those fills would, to the
        /// last digit; and the two opening fees sum exactly to the position's.
        #[test]
        fn a_close_in_two_parts_realizes_the_cash_change(
            long in any::<bool>(),
            entry in amount(1, 10_000_000, 2),
            exit1 in amount(1, 10_000_000, 2),
            exit2 in amount(1, 10_000_000, 2),
            qty in amount(2, 10_000_000, 6),
            part in 1u32..1000,
            fee_bps in 0u32..=50,
        ) {
            let s = PaperSettings {
                fee_bps: Decimal::from(fee_bps),
                slippage_bps: Decimal::ZERO,
                starting_equity: Decimal::from(10_000),
            };
            let side = if long { PositionSide::Long } else { PositionSide::Short };
            // The sold part: a fraction of the quantity, at least one unit of its scale.
            let sold_qty = (qty * Decimal::from(part) / Decimal::from(1000)).round_dp(6)
                .clamp(Decimal::new(1, 6), qty - Decimal::new(1, 6));
            let rest_qty = qty - sold_qty;
            let opening = PaperFill::at(side.open_side(), entry, qty, &s).unwrap();
            let p = Position::from_fill(side, &opening, Leverage::NONE, None, None);
            let share = super::super::close::open_fee_share(p.open_fee, sold_qty, qty).unwrap();
            let rest_fee = p.open_fee - share;
            prop_assert_eq!(share + rest_fee, p.open_fee);
            prop_assert!(share >= Decimal::ZERO && rest_fee >= Decimal::ZERO);
            let sold = Position { qty: sold_qty, open_fee: share, ..p.clone() };
            let rest = Position { qty: rest_qty, open_fee: rest_fee, ..p.clone() };
            let f1 = PaperFill::at(side.close_side(), exit1, sold_qty, &s).unwrap();
            let f2 = PaperFill::at(side.close_side(), exit2, rest_qty, &s).unwrap();
            let r1 = sold.close(&f1).unwrap().realized_pnl;
            let r2 = rest.close(&f2).unwrap().realized_pnl;
            let sign = if long { Decimal::ONE } else { -Decimal::ONE };
            let cash = -(sign * opening.notional + opening.fee)
                + (sign * f1.notional - f1.fee)
                + (sign * f2.notional - f2.fee);
            prop_assert_eq!(r1 + r2, cash);
            // In the ledger: both rows closed, nothing open.
            let ledger = paper_equity(s.starting_equity, &[closed_row(r1), closed_row(r2)], &[]).unwrap();
            prop_assert_eq!(ledger - s.starting_equity, cash);
        }
    }

    #[test]
    fn a_row_that_does_not_read_is_an_error_not_zero() {
        let mut row = closed_row(Decimal::ONE);
        row.realized_pnl = Some("NaN".into());
        assert!(realized_of(&row).is_err());
        row.side = "sideways".into();
        assert!(position_of(&row).is_err());
    }
}
