//! Liquidation price of an isolated-margin, USDT-margined position, with Binance's
//! formula for the first maintenance-margin tier:
//!
//! - long:  `LP = entry × (1 − 1/lev) / (1 − mmr)`
//! - short: `LP = entry × (1 + 1/lev) / (1 + mmr)`
//!
//! `mmr` is the maintenance margin rate (per symbol in config, default
//! [`DEFAULT_MMR`] = 0.004). A long at `lev = 1` cannot be liquidated (its LP is 0:
//! [`liquidation_price`] gives `None`); a short at `lev = 1` has a finite LP (about
//! twice the entry).

use super::{Leverage, Overflow, PositionSide, div, mul, sub};
use rust_decimal::Decimal;

/// The first tier's maintenance margin rate: 0.4 %.
pub const DEFAULT_MMR: Decimal = Decimal::from_parts(4, 0, 0, false, 3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiquidationError {
    #[error("the entry price must be greater than zero")]
    EntryNotPositive,
    #[error("the maintenance margin rate must be at least 0 and below 1")]
    InvalidMmr,
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

/// The liquidation price of a position, or `None` when there is none (a long at
/// `lev = 1`, whose LP is 0). See the module docs for the formula.
pub fn liquidation_price(
    side: PositionSide,
    entry: Decimal,
    lev: Leverage,
    mmr: Decimal,
) -> Result<Option<Decimal>, LiquidationError> {
    if entry <= Decimal::ZERO {
        return Err(LiquidationError::EntryNotPositive);
    }
    if mmr < Decimal::ZERO || mmr >= Decimal::ONE {
        return Err(LiquidationError::InvalidMmr);
    }
    let inv_lev = div(Decimal::ONE, lev.as_decimal())?;
    let lp = match side {
        PositionSide::Long => {
            if lev == Leverage::NONE {
                return Ok(None);
            }
            div(mul(entry, sub(Decimal::ONE, inv_lev)?)?, sub(Decimal::ONE, mmr)?)?
        }
        PositionSide::Short => div(mul(entry, Decimal::ONE + inv_lev)?, Decimal::ONE + mmr)?,
    };
    Ok(Some(lp))
}

/// Whether `mark` has reached the liquidation price `lp`: a long at or below it, a
/// short at or above it.
pub fn crosses_liquidation(side: PositionSide, mark: Decimal, lp: Decimal) -> bool {
    match side {
        PositionSide::Long => mark <= lp,
        PositionSide::Short => mark >= lp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::d;

    fn lev(n: u32) -> Leverage {
        Leverage::new(n).unwrap()
    }

    #[test]
    fn long_and_short_follow_the_formula() {
        // long 10x at 50 000: 50 000 × 0.9 / 0.996 = 45 180.722891566265…
        let lp = liquidation_price(PositionSide::Long, d("50000"), lev(10), DEFAULT_MMR)
            .unwrap()
            .unwrap();
        assert_eq!(lp.round_dp(8), d("45180.72289157"));
        // short 10x at 50 000: 50 000 × 1.1 / 1.004 = 54 780.876494023904…
        let lp = liquidation_price(PositionSide::Short, d("50000"), lev(10), DEFAULT_MMR)
            .unwrap()
            .unwrap();
        assert_eq!(lp.round_dp(8), d("54780.87649402"));
        assert_eq!(DEFAULT_MMR, d("0.004"));
    }

    #[test]
    fn lev_1_long_has_none_short_is_finite() {
        assert_eq!(
            liquidation_price(PositionSide::Long, d("100"), lev(1), DEFAULT_MMR),
            Ok(None)
        );
        let lp = liquidation_price(PositionSide::Short, d("100"), lev(1), DEFAULT_MMR)
            .unwrap()
            .unwrap();
        // 100 × 2 / 1.004
        assert_eq!(lp.round_dp(6), d("199.203187"));
    }

    #[test]
    fn lev_125_is_close_to_entry() {
        let lp = liquidation_price(PositionSide::Long, d("50000"), lev(125), DEFAULT_MMR)
            .unwrap()
            .unwrap();
        // 50 000 × 0.992 / 0.996 = 49 799.196787…
        assert_eq!(lp.round_dp(4), d("49799.1968"));
        assert!(lp < d("50000"));
        let lp = liquidation_price(PositionSide::Short, d("50000"), lev(125), DEFAULT_MMR)
            .unwrap()
            .unwrap();
        assert!(lp > d("50000") && lp < d("50200"));
    }

    #[test]
    fn invalid_inputs_are_typed_errors() {
        assert_eq!(
            liquidation_price(PositionSide::Long, d("0"), lev(2), DEFAULT_MMR),
            Err(LiquidationError::EntryNotPositive)
        );
        assert_eq!(
            liquidation_price(PositionSide::Long, d("1"), lev(2), d("1")),
            Err(LiquidationError::InvalidMmr)
        );
        assert_eq!(
            liquidation_price(PositionSide::Short, Decimal::MAX, lev(1), DEFAULT_MMR),
            Err(LiquidationError::Overflow(Overflow))
        );
    }

    #[test]
    fn crossing_is_at_or_beyond_lp() {
        assert!(crosses_liquidation(PositionSide::Long, d("45000"), d("45180")));
        assert!(crosses_liquidation(PositionSide::Long, d("45180"), d("45180")));
        assert!(!crosses_liquidation(PositionSide::Long, d("45181"), d("45180")));
        assert!(crosses_liquidation(PositionSide::Short, d("54781"), d("54780")));
        assert!(crosses_liquidation(PositionSide::Short, d("54780"), d("54780")));
        assert!(!crosses_liquidation(PositionSide::Short, d("54779"), d("54780")));
    }
}
