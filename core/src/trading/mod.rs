//! Trading domain math, pure and synchronous: parsing an order's size ([`size`]),
//! the paper engine's fills and positions ([`paper`]), the `/open` preview
//! ([`preview`]), isolated-margin liquidation prices ([`liquidation`]) and the
//! pretrade risk check with the daily-loss kill switch ([`risk`]), where an account's
//! limits come from ([`limits`]) and when its trading day starts ([`day`]).
//!
//! Money is [`Decimal`] everywhere; no float touches a quantity, price, fee or PnL.
//! Every operation on user- or exchange-supplied numbers is checked: a number too
//! large to compute is an [`Overflow`], never a panic.
//!
//! Conventions used throughout:
//! - `bps` are basis points: `x bps of v = v × x / 10 000`.
//! - percentages are `part / whole × 100` (12.5 means 12.5 %), not rounded: rounding is
//!   for display only.
//! - PnL of a position is *gross* (price move × quantity) unless its name says *net*;
//!   net figures subtract the fees of both sides.

pub mod day;
pub mod limits;
pub mod liquidation;
pub mod paper;
pub mod preview;
pub mod risk;
#[cfg(test)]
mod risk_tests;
pub mod size;

pub use day::{next_trading_day_start, trading_day_start, trading_day_start_of};
pub use limits::{LimitError, LimitOverrides, effective_limits};
pub use liquidation::{DEFAULT_MMR, LiquidationError, crosses_liquidation, liquidation_price};
pub use paper::{
    ClosedTrade, PaperAccount, PaperError, PaperFill, PaperSettings, Position, PositionId, fee_for,
    fill_price, quantity_for,
};
pub use preview::{OrderRequest, Preview, PreviewError, PreviewInput, preview};
pub use risk::{
    AccountState, DailyLoss, KillSwitch, OpenExposure, Profile, RiskLimits, Violation, daily_loss,
    pretrade_check,
};
pub use size::{SizeParseError, SizeSpec, parse_size};

use crate::exchange::Side;
use rust_decimal::Decimal;

/// The direction of a position. A long buys to open and sells to close; a short (paper
/// only: spot has no shorts) sells to open and buys to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PositionSide {
    Long,
    Short,
}

impl PositionSide {
    /// The order side that opens this position.
    pub fn open_side(self) -> Side {
        match self {
            PositionSide::Long => Side::Buy,
            PositionSide::Short => Side::Sell,
        }
    }

    /// The order side that closes this position.
    pub fn close_side(self) -> Side {
        match self {
            PositionSide::Long => Side::Sell,
            PositionSide::Short => Side::Buy,
        }
    }

    /// `long` or `short` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("long") {
            Some(PositionSide::Long)
        } else if s.eq_ignore_ascii_case("short") {
            Some(PositionSide::Short)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PositionSide::Long => "long",
            PositionSide::Short => "short",
        }
    }
}

/// Leverage of an isolated-margin position: 1 to 125 (Binance's maximum). 1 means no
/// leverage (margin = notional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Leverage(u8);

/// A leverage outside 1..=125.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("leverage {0} is outside 1..=125")]
pub struct LeverageError(pub u32);

impl Leverage {
    pub const NONE: Leverage = Leverage(1);
    pub const MAX: u8 = 125;

    pub fn new(lev: u32) -> Result<Self, LeverageError> {
        match u8::try_from(lev) {
            Ok(l) if (1..=Self::MAX).contains(&l) => Ok(Leverage(l)),
            _ => Err(LeverageError(lev)),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }

    pub fn as_decimal(self) -> Decimal {
        Decimal::from(self.0)
    }
}

impl Default for Leverage {
    fn default() -> Self {
        Leverage::NONE
    }
}

/// A computation on money whose result does not fit a [`Decimal`] (about 7.9e28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the numbers are too large to compute")]
pub struct Overflow;

pub(crate) type Num = Result<Decimal, Overflow>;

pub(crate) fn add(a: Decimal, b: Decimal) -> Num {
    a.checked_add(b).ok_or(Overflow)
}
pub(crate) fn sub(a: Decimal, b: Decimal) -> Num {
    a.checked_sub(b).ok_or(Overflow)
}
pub(crate) fn mul(a: Decimal, b: Decimal) -> Num {
    a.checked_mul(b).ok_or(Overflow)
}
/// `a / b`; a zero divisor is an [`Overflow`] too (callers rule it out beforehand).
pub(crate) fn div(a: Decimal, b: Decimal) -> Num {
    a.checked_div(b).ok_or(Overflow)
}
/// `bps` basis points of `v`: `v × bps / 10 000`.
pub(crate) fn bps_of(v: Decimal, bps: Decimal) -> Num {
    div(mul(v, bps)?, Decimal::from(10_000))
}
/// `part` as a percentage of `whole`: `part / whole × 100`.
pub(crate) fn pct(part: Decimal, whole: Decimal) -> Num {
    mul(div(part, whole)?, Decimal::ONE_HUNDRED)
}

#[cfg(test)]
pub(crate) fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leverage_accepts_1_to_125_only() {
        assert_eq!(Leverage::new(1).unwrap().get(), 1);
        assert_eq!(Leverage::new(125).unwrap().get(), 125);
        assert_eq!(Leverage::new(0), Err(LeverageError(0)));
        assert_eq!(Leverage::new(126), Err(LeverageError(126)));
        assert_eq!(Leverage::new(u32::MAX), Err(LeverageError(u32::MAX)));
    }

    #[test]
    fn sides_open_and_close_with_opposite_orders() {
        assert_eq!(PositionSide::Long.open_side(), Side::Buy);
        assert_eq!(PositionSide::Long.close_side(), Side::Sell);
        assert_eq!(PositionSide::Short.open_side(), Side::Sell);
        assert_eq!(PositionSide::Short.close_side(), Side::Buy);
        assert_eq!(PositionSide::parse("SHORT"), Some(PositionSide::Short));
        assert_eq!(PositionSide::parse("up"), None);
    }

    #[test]
    fn checked_helpers_report_overflow() {
        assert_eq!(mul(Decimal::MAX, d("2")), Err(Overflow));
        assert_eq!(div(d("1"), Decimal::ZERO), Err(Overflow));
        assert_eq!(bps_of(d("1000"), d("10")), Ok(d("1")));
        assert_eq!(pct(d("1250"), d("10000")), Ok(d("12.5")));
    }
}
