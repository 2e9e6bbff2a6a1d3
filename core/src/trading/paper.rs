//! The paper engine: simulated market fills from the book ticker, positions (long and
//! short, isolated margin with leverage) and a paper account's equity.
//!
//! Formulas:
//! - fill price: buy at `ask × (1 + slippage_bps / 10 000)`, sell at
//!   `bid × (1 − slippage_bps / 10 000)` (always against the trader);
//! - fee of one side: `notional × fee_bps / 10 000`, with `notional = qty × fill price`;
//! - quantity from a quote notional: `notional / fill price`, rounded DOWN to the
//!   symbol's LOT_SIZE step when its filters are known, else to 8 decimals;
//! - margin (isolated): `entry notional / lev`;
//! - unrealized PnL at `mark` (gross): long `(mark − entry) × qty`, short
//!   `(entry − mark) × qty`;
//! - realized PnL on close (net): gross PnL at the exit price − open fee − close fee;
//! - equity: `starting equity + Σ realized net PnL + Σ over open positions
//!   (unrealized PnL − open fee)`; margin in use: `Σ margin`; free equity:
//!   `equity − margin in use`.

use super::liquidation::{LiquidationError, liquidation_price};
use super::risk::OpenExposure;
use super::{Leverage, Overflow, PositionSide, SizeSpec, add, bps_of, div, mul, sub};
use crate::exchange::{BookTicker, Side, SizeError, SymbolFilters};
use rust_decimal::{Decimal, RoundingStrategy};

/// Decimals a quantity keeps when the symbol's filters are unknown.
pub const DEFAULT_QTY_DP: u32 = 8;

/// `trading.paper_*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperSettings {
    /// How far a market fill moves against the trader from the best price (default 2).
    pub slippage_bps: Decimal,
    /// Fee charged on each side's notional (default 10 = 0.1 %).
    pub fee_bps: Decimal,
    /// A new or reset paper account's equity in USDT (default 10 000).
    pub starting_equity: Decimal,
}

impl Default for PaperSettings {
    fn default() -> Self {
        Self {
            slippage_bps: Decimal::from(2),
            fee_bps: Decimal::from(10),
            starting_equity: Decimal::from(10_000),
        }
    }
}

/// Why a paper order or position operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaperError {
    /// The book has no usable price on the side the order takes (zero or negative).
    #[error("no price to fill at")]
    NoPrice,
    /// The quantity after rounding is not tradable (below minQty / minNotional, above
    /// maxQty, or zero), with the numbers.
    #[error(transparent)]
    Size(#[from] SizeError),
    /// `slippage_bps` or `fee_bps` negative, or slippage of 10 000 bps or more.
    #[error("invalid paper settings")]
    InvalidSettings,
    #[error("no open position {0:?}")]
    NoSuchPosition(PositionId),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl From<Overflow> for SizeError {
    fn from(_: Overflow) -> Self {
        SizeError::Overflow
    }
}

/// The price a market order on `side` fills at: the best ask (buy) or bid (sell) moved
/// against the trader by `slippage_bps`.
pub fn fill_price(book: &BookTicker, side: Side, slippage_bps: Decimal) -> Result<Decimal, PaperError> {
    if slippage_bps < Decimal::ZERO || slippage_bps >= Decimal::from(10_000) {
        return Err(PaperError::InvalidSettings);
    }
    let best = match side {
        Side::Buy => book.ask,
        Side::Sell => book.bid,
    };
    if best <= Decimal::ZERO {
        return Err(PaperError::NoPrice);
    }
    let slip = bps_of(best, slippage_bps)?;
    Ok(match side {
        Side::Buy => add(best, slip)?,
        Side::Sell => sub(best, slip)?,
    })
}

/// The fee of one side: `notional × fee_bps / 10 000`.
pub fn fee_for(notional: Decimal, fee_bps: Decimal) -> Result<Decimal, Overflow> {
    bps_of(notional, fee_bps)
}

/// The base quantity `size` means at `price`, rounded DOWN to the symbol's step and
/// checked against its minQty / maxQty / minNotional when `filters` are known; else
/// rounded down to [`DEFAULT_QTY_DP`] decimals. A result of zero is
/// [`SizeError::BelowMinQty`].
pub fn quantity_for(
    size: SizeSpec,
    price: Decimal,
    filters: Option<&SymbolFilters>,
) -> Result<Decimal, SizeError> {
    if price <= Decimal::ZERO {
        return Err(SizeError::NotPositive);
    }
    let raw = match size {
        SizeSpec::Base(q) => q,
        SizeSpec::Quote(n) => {
            if n <= Decimal::ZERO {
                return Err(SizeError::NotPositive);
            }
            div(n, price)?
        }
    };
    if raw <= Decimal::ZERO {
        return Err(SizeError::NotPositive);
    }
    match filters {
        Some(f) => f.market_quantity(raw, price),
        None => {
            let q = raw
                .round_dp_with_strategy(DEFAULT_QTY_DP, RoundingStrategy::ToZero)
                .normalize();
            if q.is_zero() {
                let step = Decimal::new(1, DEFAULT_QTY_DP);
                Err(SizeError::BelowMinQty {
                    qty: raw.normalize(),
                    min_qty: step,
                    step,
                })
            } else {
                Ok(q)
            }
        }
    }
}

/// One simulated market execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaperFill {
    pub side: Side,
    pub price: Decimal,
    pub qty: Decimal,
    /// `qty × price`.
    pub notional: Decimal,
    /// `notional × fee_bps / 10 000`.
    pub fee: Decimal,
}

impl PaperFill {
    /// A market order for `size` on `side` against `book`.
    pub fn market(
        book: &BookTicker,
        side: Side,
        size: SizeSpec,
        filters: Option<&SymbolFilters>,
        settings: &PaperSettings,
    ) -> Result<Self, PaperError> {
        let price = fill_price(book, side, settings.slippage_bps)?;
        let qty = quantity_for(size, price, filters)?;
        Self::at(side, price, qty, settings)
    }

    /// A fill of exactly `qty` at `price` (closing a known quantity, or a replayed fill).
    pub fn at(
        side: Side,
        price: Decimal,
        qty: Decimal,
        settings: &PaperSettings,
    ) -> Result<Self, PaperError> {
        if settings.fee_bps < Decimal::ZERO {
            return Err(PaperError::InvalidSettings);
        }
        if price <= Decimal::ZERO {
            return Err(PaperError::NoPrice);
        }
        if qty <= Decimal::ZERO {
            return Err(SizeError::NotPositive.into());
        }
        let notional = mul(qty, price)?;
        let fee = fee_for(notional, settings.fee_bps)?;
        Ok(Self {
            side,
            price,
            qty,
            notional,
            fee,
        })
    }
}

/// An open position, on paper or on an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub side: PositionSide,
    /// Average entry price.
    pub entry: Decimal,
    /// Base quantity held.
    pub qty: Decimal,
    pub lev: Leverage,
    pub sl: Option<Decimal>,
    pub tp: Option<Decimal>,
    /// The fee paid to open, in quote.
    pub open_fee: Decimal,
}

impl Position {
    /// The position an opening fill makes.
    pub fn from_fill(
        side: PositionSide,
        fill: &PaperFill,
        lev: Leverage,
        sl: Option<Decimal>,
        tp: Option<Decimal>,
    ) -> Self {
        Self {
            side,
            entry: fill.price,
            qty: fill.qty,
            lev,
            sl,
            tp,
            open_fee: fill.fee,
        }
    }

    /// `entry × qty`.
    pub fn notional(&self) -> Result<Decimal, Overflow> {
        mul(self.entry, self.qty)
    }

    /// Isolated margin: `notional / lev`.
    pub fn margin(&self) -> Result<Decimal, Overflow> {
        div(self.notional()?, self.lev.as_decimal())
    }

    /// Gross PnL if the position were valued at `price`: long `(price − entry) × qty`,
    /// short `(entry − price) × qty`. Fees not included.
    pub fn unrealized_pnl(&self, price: Decimal) -> Result<Decimal, Overflow> {
        let diff = match self.side {
            PositionSide::Long => sub(price, self.entry)?,
            PositionSide::Short => sub(self.entry, price)?,
        };
        mul(diff, self.qty)
    }

    /// Unrealized PnL as a percentage of the margin put up (the return on margin).
    pub fn unrealized_pct(&self, price: Decimal) -> Result<Decimal, Overflow> {
        super::pct(self.unrealized_pnl(price)?, self.margin()?)
    }

    /// The liquidation price (see [`liquidation_price`]); `None` for a long at 1x.
    pub fn liquidation_price(&self, mmr: Decimal) -> Result<Option<Decimal>, LiquidationError> {
        liquidation_price(self.side, self.entry, self.lev, mmr)
    }

    /// The position liquidated at `price` (its liquidation price, or the mark that
    /// crossed it): on isolated margin the whole margin is lost, and with the opening
    /// fee that is the realized loss: `realized = −(margin + open fee)`. No close fee.
    pub fn liquidated(&self, price: Decimal) -> Result<ClosedTrade, PaperError> {
        let margin = self.margin()?;
        let net = -add(margin, self.open_fee)?;
        Ok(ClosedTrade {
            exit: price,
            gross_pnl: -margin,
            close_fee: Decimal::ZERO,
            fees: self.open_fee,
            realized_pnl: net,
            realized_pct: super::pct(net, margin)?,
        })
    }

    /// What the risk check needs of this position at `mark`: notional at the mark,
    /// margin, unrealized PnL, and the risk to its SL = the net loss if the SL filled
    /// at its price, both fees included (`max(0, −(pnl at sl − open fee − qty × sl ×
    /// fee_bps / 10 000))`; zero when the SL locks in a profit).
    pub fn exposure(&self, mark: Decimal, fee_bps: Decimal) -> Result<OpenExposure, Overflow> {
        let risk_to_sl = match self.sl {
            Some(sl) => {
                let at_sl = sub(
                    sub(self.unrealized_pnl(sl)?, self.open_fee)?,
                    fee_for(mul(self.qty, sl)?, fee_bps)?,
                )?;
                Some((-at_sl).max(Decimal::ZERO))
            }
            None => None,
        };
        Ok(OpenExposure {
            notional: mul(self.qty, mark)?,
            risk_to_sl,
            lev: self.lev,
            margin: self.margin()?,
            unrealized_pnl: self.unrealized_pnl(mark)?,
        })
    }

    /// Close the whole position with `fill` (which must be on the closing side).
    /// Realized (net) PnL = gross PnL at the fill price − open fee − close fee.
    pub fn close(&self, fill: &PaperFill) -> Result<ClosedTrade, PaperError> {
        let gross = self.unrealized_pnl(fill.price)?;
        let fees = add(self.open_fee, fill.fee)?;
        let net = sub(gross, fees)?;
        let margin = self.margin()?;
        Ok(ClosedTrade {
            exit: fill.price,
            gross_pnl: gross,
            close_fee: fill.fee,
            fees,
            realized_pnl: net,
            realized_pct: super::pct(net, margin)?,
        })
    }
}

/// The result of closing a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClosedTrade {
    pub exit: Decimal,
    /// Price move × quantity.
    pub gross_pnl: Decimal,
    pub close_fee: Decimal,
    /// Open fee + close fee.
    pub fees: Decimal,
    /// `gross_pnl − fees`.
    pub realized_pnl: Decimal,
    /// `realized_pnl` as a percentage of the margin.
    pub realized_pct: Decimal,
}

/// An open position's number within a [`PaperAccount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PositionId(pub u64);

/// A paper account in memory: its starting equity, what closed trades realized, and
/// its open positions. Storage keeps the same numbers; this is the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperAccount {
    pub starting_equity: Decimal,
    /// Σ realized net PnL of closed trades (fees of both sides already subtracted).
    pub realized_pnl: Decimal,
    /// Σ of every fee paid, open positions' opening fees included (for display).
    pub fees_paid: Decimal,
    positions: Vec<(PositionId, Position)>,
    next_id: u64,
}

impl PaperAccount {
    pub fn new(starting_equity: Decimal) -> Self {
        Self {
            starting_equity,
            realized_pnl: Decimal::ZERO,
            fees_paid: Decimal::ZERO,
            positions: Vec::new(),
            next_id: 1,
        }
    }

    pub fn positions(&self) -> impl Iterator<Item = (PositionId, &Position)> {
        self.positions.iter().map(|(id, p)| (*id, p))
    }

    pub fn position(&self, id: PositionId) -> Option<&Position> {
        self.positions.iter().find(|(i, _)| *i == id).map(|(_, p)| p)
    }

    /// Equity at marks given by `mark(position)`: starting equity + realized net PnL
    /// + Σ (unrealized PnL − open fee) of open positions.
    pub fn equity(&self, mark: impl Fn(&Position) -> Decimal) -> Result<Decimal, Overflow> {
        let mut e = add(self.starting_equity, self.realized_pnl)?;
        for (_, p) in &self.positions {
            e = add(e, sub(p.unrealized_pnl(mark(p))?, p.open_fee)?)?;
        }
        Ok(e)
    }

    /// Σ margin of open positions.
    pub fn margin_in_use(&self) -> Result<Decimal, Overflow> {
        self.positions
            .iter()
            .try_fold(Decimal::ZERO, |acc, (_, p)| add(acc, p.margin()?))
    }

    /// `equity − margin in use`: what a new position's margin and fee can come from.
    pub fn free_equity(&self, mark: impl Fn(&Position) -> Decimal) -> Result<Decimal, Overflow> {
        sub(self.equity(mark)?, self.margin_in_use()?)
    }

    /// Record an opened position (its fee is paid now).
    pub fn open(&mut self, position: Position) -> Result<PositionId, Overflow> {
        self.fees_paid = add(self.fees_paid, position.open_fee)?;
        let id = PositionId(self.next_id);
        self.next_id += 1;
        self.positions.push((id, position));
        Ok(id)
    }

    /// Liquidate position `id` at `price` (see [`Position::liquidated`]).
    pub fn liquidate(&mut self, id: PositionId, price: Decimal) -> Result<ClosedTrade, PaperError> {
        let idx = self
            .positions
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(PaperError::NoSuchPosition(id))?;
        let trade = self.positions[idx].1.liquidated(price)?;
        self.realized_pnl = add(self.realized_pnl, trade.realized_pnl)?;
        self.positions.remove(idx);
        Ok(trade)
    }

    /// Close position `id` with `fill`; its realized net PnL moves into the account.
    pub fn close(&mut self, id: PositionId, fill: &PaperFill) -> Result<ClosedTrade, PaperError> {
        let idx = self
            .positions
            .iter()
            .position(|(i, _)| *i == id)
            .ok_or(PaperError::NoSuchPosition(id))?;
        let trade = self.positions[idx].1.close(fill)?;
        let realized = add(self.realized_pnl, trade.realized_pnl)?;
        let fees = add(self.fees_paid, trade.close_fee)?;
        self.realized_pnl = realized;
        self.fees_paid = fees;
        self.positions.remove(idx);
        Ok(trade)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::d;

    pub(crate) fn book(bid: &str, ask: &str) -> BookTicker {
        BookTicker {
            symbol: "BTCUSDT".into(),
            bid: d(bid),
            bid_qty: d("1"),
            ask: d(ask),
            ask_qty: d("1"),
        }
    }

    pub(crate) fn btc_filters() -> SymbolFilters {
        SymbolFilters {
            symbol: "BTCUSDT".into(),
            status: "TRADING".into(),
            base_asset: "BTC".into(),
            quote_asset: "USDT".into(),
            step_size: d("0.00001"),
            min_qty: d("0.00001"),
            max_qty: d("9000"),
            min_notional: Some(d("5")),
            tick_size: d("0.01"),
            min_price: d("0.01"),
            max_price: d("1000000"),
        }
    }

    #[test]
    fn market_fills_move_against_the_trader() {
        let b = book("49990", "50010");
        // buy: 50010 × 1.0002 = 50020.002
        assert_eq!(fill_price(&b, Side::Buy, d("2")).unwrap(), d("50020.002"));
        // sell: 49990 × 0.9998 = 49980.002
        assert_eq!(fill_price(&b, Side::Sell, d("2")).unwrap(), d("49980.002"));
        assert_eq!(fill_price(&b, Side::Buy, d("0")).unwrap(), d("50010"));
        assert_eq!(
            fill_price(&book("0", "1"), Side::Sell, d("2")),
            Err(PaperError::NoPrice)
        );
        assert_eq!(
            fill_price(&b, Side::Buy, d("-1")),
            Err(PaperError::InvalidSettings)
        );
    }

    #[test]
    fn fee_is_bps_of_notional_each_side() {
        let s = PaperSettings::default();
        let f = PaperFill::at(Side::Buy, d("50000"), d("0.1"), &s).unwrap();
        assert_eq!(f.notional, d("5000"));
        assert_eq!(f.fee, d("5"));
    }

    #[test]
    fn quote_notional_is_rounded_down_to_the_step() {
        let f = btc_filters();
        // 250 / 50020.002 = 0.0049980... -> 0.00499
        let q = quantity_for(SizeSpec::Quote(d("250")), d("50020.002"), Some(&f)).unwrap();
        assert_eq!(q, d("0.00499"));
        assert!(q * d("50020.002") <= d("250"));
        // Without filters: 8 decimals, rounded down.
        let q = quantity_for(SizeSpec::Quote(d("250")), d("50020.002"), None).unwrap();
        assert_eq!(q, d("0.00499800"));
        // A base quantity is rounded down too.
        let q = quantity_for(SizeSpec::Base(d("0.0123456")), d("50000"), Some(&f)).unwrap();
        assert_eq!(q, d("0.01234"));
    }

    #[test]
    fn tiny_sizes_are_typed_errors_with_the_numbers() {
        let f = btc_filters();
        assert_eq!(
            quantity_for(SizeSpec::Base(d("0.000001")), d("50000"), Some(&f)),
            Err(SizeError::BelowMinQty {
                qty: d("0.000001"),
                min_qty: d("0.00001"),
                step: d("0.00001")
            })
        );
        assert_eq!(
            quantity_for(SizeSpec::Quote(d("4")), d("50000"), Some(&f)),
            Err(SizeError::BelowMinNotional {
                qty: d("0.00008"),
                price: d("50000"),
                notional: d("4"),
                min_notional: d("5")
            })
        );
        assert!(matches!(
            quantity_for(SizeSpec::Quote(d("0.0000001")), d("50000"), None),
            Err(SizeError::BelowMinQty { .. })
        ));
        assert!(matches!(
            quantity_for(SizeSpec::Base(d("10000")), d("50000"), Some(&f)),
            Err(SizeError::AboveMaxQty { .. })
        ));
    }

    #[test]
    fn huge_numbers_are_errors_not_panics() {
        let s = PaperSettings::default();
        let b = book("1", &Decimal::MAX.to_string());
        let r = PaperFill::market(&b, Side::Buy, SizeSpec::Base(d("1000000000000")), None, &s);
        assert!(
            matches!(
                r,
                Err(PaperError::Overflow(_)) | Err(PaperError::Size(SizeError::Overflow))
            ),
            "{r:?}"
        );
        let r = PaperFill::at(Side::Buy, Decimal::MAX, d("2"), &s);
        assert!(r.is_err());
    }

    #[test]
    fn long_round_trip_pnl_to_the_cent() {
        let s = PaperSettings::default();
        let mut acct = PaperAccount::new(s.starting_equity);
        let open = PaperFill::market(
            &book("49990", "50010"),
            Side::Buy,
            SizeSpec::Base(d("0.1")),
            None,
            &s,
        )
        .unwrap();
        assert_eq!(open.price, d("50020.002"));
        assert_eq!(open.fee, d("5.0020002"));
        let id = acct
            .open(Position::from_fill(
                PositionSide::Long,
                &open,
                Leverage::NONE,
                None,
                None,
            ))
            .unwrap();
        // At a mark of 51000: unrealized = (51000 − 50020.002) × 0.1 = 97.9998
        let p = acct.position(id).unwrap().clone();
        assert_eq!(p.unrealized_pnl(d("51000")).unwrap(), d("97.9998"));
        assert_eq!(acct.margin_in_use().unwrap(), d("5002.0002"));
        let eq = acct.equity(|_| d("51000")).unwrap();
        assert_eq!(eq, d("10092.9977998"));
        assert_eq!(acct.free_equity(|_| d("51000")).unwrap(), eq - d("5002.0002"));

        let close = PaperFill::market(
            &book("51000", "51010"),
            Side::Sell,
            SizeSpec::Base(p.qty),
            None,
            &s,
        )
        .unwrap();
        // 51000 × 0.9998 = 50989.8
        assert_eq!(close.price, d("50989.8"));
        let t = acct.close(id, &close).unwrap();
        assert_eq!(t.gross_pnl, d("96.9798"));
        assert_eq!(t.close_fee, d("5.09898"));
        assert_eq!(t.realized_pnl, d("86.8788198"));
        assert_eq!(t.realized_pnl.round_dp(2), d("86.88"));
        assert_eq!(acct.equity(|_| Decimal::ZERO).unwrap(), d("10086.8788198"));
        assert_eq!(acct.fees_paid, d("10.1009802"));
        assert_eq!(acct.margin_in_use().unwrap(), Decimal::ZERO);
    }

    #[test]
    fn short_on_paper_profits_when_price_falls() {
        let s = PaperSettings::default();
        let mut acct = PaperAccount::new(d("1000"));
        let open = PaperFill::market(
            &book("100", "100.1"),
            Side::Sell,
            SizeSpec::Quote(d("500")),
            None,
            &s,
        )
        .unwrap();
        assert_eq!(open.price, d("99.98"));
        // 500 / 99.98 = 5.00100020004.. -> 5.00100020
        assert_eq!(open.qty, d("5.0010002"));
        let lev = Leverage::new(5).unwrap();
        let id = acct
            .open(Position::from_fill(
                PositionSide::Short,
                &open,
                lev,
                Some(d("105")),
                Some(d("90")),
            ))
            .unwrap();
        let p = acct.position(id).unwrap().clone();
        assert_eq!(p.margin().unwrap(), p.notional().unwrap() / d("5"));
        assert!(p.unrealized_pnl(d("95")).unwrap() > Decimal::ZERO);
        assert!(p.unrealized_pnl(d("105")).unwrap() < Decimal::ZERO);
        let close = PaperFill::at(Side::Buy, d("90"), p.qty, &s).unwrap();
        let t = acct.close(id, &close).unwrap();
        // (99.98 − 90) × 5.0010002 = 49.90998 (gross)
        assert_eq!(t.gross_pnl, d("49.909981996"));
        assert_eq!(t.realized_pnl, t.gross_pnl - open.fee - close.fee);
        assert_eq!(
            acct.equity(|_| Decimal::ZERO).unwrap(),
            d("1000") + t.realized_pnl
        );
        assert_eq!(acct.close(id, &close), Err(PaperError::NoSuchPosition(id)));
    }

    #[test]
    fn liquidated_paper_position_loses_its_margin() {
        let s = PaperSettings::default();
        let mut acct = PaperAccount::new(d("10000"));
        let open = PaperFill::at(Side::Buy, d("50000"), d("0.2"), &s).unwrap();
        let p = Position::from_fill(PositionSide::Long, &open, Leverage::new(10).unwrap(), None, None);
        let lp = p.liquidation_price(crate::trading::DEFAULT_MMR).unwrap().unwrap();
        assert!(crate::trading::crosses_liquidation(p.side, d("45000"), lp));
        let id = acct.open(p).unwrap();
        let t = acct.liquidate(id, lp).unwrap();
        // margin 1 000, open fee 10
        assert_eq!(t.realized_pnl, d("-1010"));
        assert_eq!(acct.equity(|_| Decimal::ZERO).unwrap(), d("8990"));
        assert_eq!(acct.positions().count(), 0);
    }

    #[test]
    fn exposure_for_the_risk_check() {
        let s = PaperSettings::default();
        let open = PaperFill::at(Side::Buy, d("100"), d("10"), &s).unwrap();
        let p = Position::from_fill(
            PositionSide::Long,
            &open,
            Leverage::new(2).unwrap(),
            Some(d("95")),
            None,
        );
        let e = p.exposure(d("98"), s.fee_bps).unwrap();
        assert_eq!(e.notional, d("980"));
        assert_eq!(e.margin, d("500"));
        assert_eq!(e.unrealized_pnl, d("-20"));
        // 50 + 1 (open fee) + 0.95 (close fee at 95)
        assert_eq!(e.risk_to_sl, Some(d("51.95")));
        let trailing = Position {
            sl: Some(d("110")),
            ..p
        };
        assert_eq!(
            trailing.exposure(d("120"), s.fee_bps).unwrap().risk_to_sl,
            Some(Decimal::ZERO)
        );
    }

    #[test]
    fn leverage_125_margin() {
        let s = PaperSettings::default();
        let open = PaperFill::at(Side::Buy, d("50000"), d("1"), &s).unwrap();
        let p = Position::from_fill(PositionSide::Long, &open, Leverage::new(125).unwrap(), None, None);
        assert_eq!(p.margin().unwrap(), d("400"));
        // −1 % price move at 125x = −125 % of margin
        assert_eq!(p.unrealized_pct(d("49500")).unwrap(), d("-125"));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn dec(lo: i64, hi: i64, scale: u32) -> impl Strategy<Value = Decimal> {
        (lo..hi).prop_map(move |m| Decimal::new(m, scale))
    }

    proptest! {
        /// Realized + unrealized PnL (net of fees) always equals the equity change, and
        /// after every position is closed the equity change is Σ realized PnL.
        #[test]
        fn equity_change_is_realized_plus_unrealized(
            trades in prop::collection::vec(
                (any::<bool>(), dec(1, 100_000_000, 2), dec(1, 100_000_000, 2), dec(1, 10_000_000, 6), 1u32..=125),
                1..8),
            mark in dec(1, 100_000_000, 2),
        ) {
            let s = PaperSettings::default();
            let mut acct = PaperAccount::new(s.starting_equity);
            let mut ids = Vec::new();
            for (long, entry, _, qty, lev) in &trades {
                let side = if *long { PositionSide::Long } else { PositionSide::Short };
                let fill = PaperFill::at(side.open_side(), *entry, *qty, &s).unwrap();
                let id = acct.open(Position::from_fill(side, &fill, Leverage::new(*lev).unwrap(), None, None)).unwrap();
                ids.push(id);
            }
            let unrealized: Decimal = acct.positions().map(|(_, p)| p.unrealized_pnl(mark).unwrap() - p.open_fee).sum();
            prop_assert_eq!(acct.equity(|_| mark).unwrap() - s.starting_equity, acct.realized_pnl + unrealized);
            let mut realized = Decimal::ZERO;
            for (id, (_, _, exit, _, _)) in ids.into_iter().zip(&trades) {
                let p = acct.position(id).unwrap().clone();
                let fill = PaperFill::at(p.side.close_side(), *exit, p.qty, &s).unwrap();
                realized += acct.close(id, &fill).unwrap().realized_pnl;
            }
            prop_assert_eq!(acct.equity(|_| mark).unwrap() - s.starting_equity, realized);
            prop_assert_eq!(acct.margin_in_use().unwrap(), Decimal::ZERO);
        }

        /// A quote notional never buys more than it pays for: rounding is down.
        #[test]
        fn quote_sizes_round_down(notional in (500i64..100_000_000).prop_map(|m| Decimal::new(m, 2)), price in (1i64..10_000_000_000).prop_map(|m| Decimal::new(m, 4))) {
            let f = tests::btc_filters();
            if let Ok(q) = quantity_for(SizeSpec::Quote(notional), price, Some(&f)) {
                prop_assert!(q * price <= notional);
                prop_assert!(notional - q * price <= f.step_size * price + f.min_qty * price);
            }
            if let Ok(q) = quantity_for(SizeSpec::Quote(notional), price, None) {
                prop_assert!(q * price <= notional);
                prop_assert!(q.scale() <= DEFAULT_QTY_DP);
            }
        }

        /// Arbitrary decimals never panic the fill path.
        #[test]
        fn fills_never_panic(
            bid in any::<(i64, u32)>(), ask in any::<(i64, u32)>(),
            size in any::<(i64, u32)>(), quote in any::<bool>(), slip in 0i64..20_000,
        ) {
            let mk = |(m, s): (i64, u32)| Decimal::new(m, s % 29);
            let b = BookTicker { symbol: "X".into(), bid: mk(bid), bid_qty: Decimal::ONE, ask: mk(ask), ask_qty: Decimal::ONE };
            let s = PaperSettings { slippage_bps: Decimal::new(slip, 0), ..PaperSettings::default() };
            let size = if quote { SizeSpec::Quote(mk(size)) } else { SizeSpec::Base(mk(size)) };
            let _ = PaperFill::market(&b, Side::Buy, size, None, &s);
            let _ = PaperFill::market(&b, Side::Sell, size, Some(&tests::btc_filters()), &s);
        }
    }
}
