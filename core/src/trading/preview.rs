//! What `/open` shows before anything is placed: the order after rounding, its
//! estimated fill and fee, the distances to SL/TP, the risk to the stop and the
//! reward/risk, and the liquidation price when leveraged.
//!
//! With `entry` the estimated fill price ([`fill_price`]), `qty` the rounded quantity,
//! `f = fee_bps / 10 000`:
//! - notional `= qty × entry`; estimated fee (opening) `= notional × f`;
//!   margin `= notional / lev`;
//! - SL/TP distance `= |price − entry| / entry × 100` (%);
//! - risk to SL (fees included) `= qty × |entry − sl| + notional × f + qty × sl × f`,
//!   and as % of equity `= risk / equity × 100`;
//! - reward at TP (net of fees) `= qty × |tp − entry| − notional × f − qty × tp × f`;
//! - reward/risk `= reward / risk` when both SL and TP are set;
//! - liquidation price: [`liquidation_price`] when `lev > 1`.
//!
//! Validation: long needs `sl < entry < tp`, short `tp < entry < sl`; an SL or TP
//! equal to the entry is on the wrong side.

use super::liquidation::{LiquidationError, crosses_liquidation, liquidation_price};
use super::paper::{fee_for, fill_price, quantity_for};
use super::{Leverage, Overflow, PaperError, PaperSettings, PositionSide, SizeSpec, add, div, mul, pct, sub};
use crate::exchange::{BookTicker, SizeError, SymbolFilters};
use rust_decimal::Decimal;

/// An order as the user asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    pub side: PositionSide,
    pub size: SizeSpec,
    pub sl: Option<Decimal>,
    pub tp: Option<Decimal>,
    pub lev: Leverage,
}

/// The market and account facts a preview needs.
#[derive(Debug, Clone, Copy)]
pub struct PreviewInput<'a> {
    /// The account's current equity (USDT).
    pub equity: Decimal,
    pub book: &'a BookTicker,
    /// The symbol's filters when known (always on an exchange; optional on paper).
    pub filters: Option<&'a SymbolFilters>,
    pub settings: &'a PaperSettings,
    /// Maintenance margin rate of the symbol (default [`super::DEFAULT_MMR`]).
    pub mmr: Decimal,
}

/// The preview of one order. See the module docs for every formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub side: PositionSide,
    pub lev: Leverage,
    /// After rounding down to the step.
    pub qty: Decimal,
    /// Estimated fill price (best price moved by the slippage).
    pub fill_price: Decimal,
    pub notional: Decimal,
    /// Estimated opening fee.
    pub fee: Decimal,
    pub margin: Decimal,
    pub sl: Option<Decimal>,
    pub tp: Option<Decimal>,
    pub sl_distance_pct: Option<Decimal>,
    pub tp_distance_pct: Option<Decimal>,
    /// Loss if the stop fills at its price, both fees included.
    pub risk_to_sl: Option<Decimal>,
    /// `risk_to_sl` as % of equity; `None` without SL or when equity is not positive.
    pub risk_pct: Option<Decimal>,
    /// Gain if the target fills at its price, net of both fees.
    pub reward: Option<Decimal>,
    pub reward_risk: Option<Decimal>,
    /// `None` at `lev = 1` (a long cannot be liquidated; a short at 1x is shown as
    /// unleveraged too, as the issue asks for LP "when lev > 1").
    pub liquidation: Option<Decimal>,
    /// True when the SL lies at or beyond the liquidation price: the position would be
    /// liquidated before its stop could fill.
    pub sl_beyond_liquidation: bool,
}

/// Why no preview could be made. Each variant is one sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreviewError {
    #[error("no price to estimate the fill")]
    NoPrice,
    #[error("invalid paper settings")]
    InvalidSettings,
    /// Below minQty / minNotional, above maxQty, or zero after rounding; with numbers.
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error("SL and TP must be greater than zero")]
    PriceNotPositive,
    /// Long: SL must be below the entry; short: above.
    #[error("the stop-loss {sl} is on the wrong side of the entry {entry} for a {side:?}")]
    StopOnWrongSide {
        side: PositionSide,
        entry: Decimal,
        sl: Decimal,
    },
    /// Long: TP must be above the entry; short: below.
    #[error("the take-profit {tp} is on the wrong side of the entry {entry} for a {side:?}")]
    TargetOnWrongSide {
        side: PositionSide,
        entry: Decimal,
        tp: Decimal,
    },
    #[error(transparent)]
    Liquidation(#[from] LiquidationError),
    #[error(transparent)]
    Overflow(#[from] Overflow),
}

impl From<PaperError> for PreviewError {
    fn from(e: PaperError) -> Self {
        match e {
            PaperError::NoPrice | PaperError::NoSuchPosition(_) => PreviewError::NoPrice,
            PaperError::InvalidSettings => PreviewError::InvalidSettings,
            PaperError::Size(s) => PreviewError::Size(s),
            PaperError::Overflow(o) => PreviewError::Overflow(o),
        }
    }
}

/// Preview `order` against the book and the account's equity.
pub fn preview(order: &OrderRequest, input: &PreviewInput<'_>) -> Result<Preview, PreviewError> {
    let s = input.settings;
    if s.fee_bps < Decimal::ZERO {
        return Err(PreviewError::InvalidSettings);
    }
    let entry = fill_price(input.book, order.side.open_side(), s.slippage_bps)?;
    for p in [order.sl, order.tp].into_iter().flatten() {
        if p <= Decimal::ZERO {
            return Err(PreviewError::PriceNotPositive);
        }
    }
    match order.side {
        PositionSide::Long => {
            if let Some(sl) = order.sl.filter(|sl| *sl >= entry) {
                return Err(PreviewError::StopOnWrongSide {
                    side: order.side,
                    entry,
                    sl,
                });
            }
            if let Some(tp) = order.tp.filter(|tp| *tp <= entry) {
                return Err(PreviewError::TargetOnWrongSide {
                    side: order.side,
                    entry,
                    tp,
                });
            }
        }
        PositionSide::Short => {
            if let Some(sl) = order.sl.filter(|sl| *sl <= entry) {
                return Err(PreviewError::StopOnWrongSide {
                    side: order.side,
                    entry,
                    sl,
                });
            }
            if let Some(tp) = order.tp.filter(|tp| *tp >= entry) {
                return Err(PreviewError::TargetOnWrongSide {
                    side: order.side,
                    entry,
                    tp,
                });
            }
        }
    }
    let qty = quantity_for(order.size, entry, input.filters)?;
    let notional = mul(qty, entry)?;
    let fee = fee_for(notional, s.fee_bps)?;
    let margin = div(notional, order.lev.as_decimal())?;
    let distance = |p: Decimal| -> Result<Decimal, Overflow> { pct(sub(p, entry)?.abs(), entry) };
    let exit_fee = |p: Decimal| -> Result<Decimal, Overflow> { fee_for(mul(qty, p)?, s.fee_bps) };

    let risk_to_sl = match order.sl {
        Some(sl) => Some(add(add(mul(qty, sub(entry, sl)?.abs())?, fee)?, exit_fee(sl)?)?),
        None => None,
    };
    let risk_pct = match risk_to_sl {
        Some(r) if input.equity > Decimal::ZERO => Some(pct(r, input.equity)?),
        _ => None,
    };
    let reward = match order.tp {
        Some(tp) => Some(sub(sub(mul(qty, sub(tp, entry)?.abs())?, fee)?, exit_fee(tp)?)?),
        None => None,
    };
    let reward_risk = match (reward, risk_to_sl) {
        (Some(w), Some(r)) if r > Decimal::ZERO => Some(div(w, r)?),
        _ => None,
    };
    let liquidation = if order.lev > Leverage::NONE {
        liquidation_price(order.side, entry, order.lev, input.mmr)?
    } else {
        None
    };
    let sl_beyond_liquidation = match (order.sl, liquidation) {
        (Some(sl), Some(lp)) => crosses_liquidation(order.side, sl, lp),
        _ => false,
    };
    Ok(Preview {
        side: order.side,
        lev: order.lev,
        qty,
        fill_price: entry,
        notional,
        fee,
        margin,
        sl: order.sl,
        tp: order.tp,
        sl_distance_pct: order.sl.map(distance).transpose()?,
        tp_distance_pct: order.tp.map(distance).transpose()?,
        risk_to_sl,
        risk_pct,
        reward,
        reward_risk,
        liquidation,
        sl_beyond_liquidation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::{DEFAULT_MMR, d};

    fn book() -> BookTicker {
        BookTicker {
            symbol: "BTCUSDT".into(),
            bid: d("50000"),
            bid_qty: d("1"),
            ask: d("50000"),
            ask_qty: d("1"),
        }
    }

    fn zero_slip() -> PaperSettings {
        PaperSettings {
            slippage_bps: Decimal::ZERO,
            ..PaperSettings::default()
        }
    }

    fn run(order: OrderRequest, settings: &PaperSettings) -> Result<Preview, PreviewError> {
        let b = book();
        preview(
            &order,
            &PreviewInput {
                equity: d("10000"),
                book: &b,
                filters: None,
                settings,
                mmr: DEFAULT_MMR,
            },
        )
    }

    fn long(size: SizeSpec, sl: Option<&str>, tp: Option<&str>, lev: u32) -> OrderRequest {
        OrderRequest {
            side: PositionSide::Long,
            size,
            sl: sl.map(d),
            tp: tp.map(d),
            lev: Leverage::new(lev).unwrap(),
        }
    }

    #[test]
    fn long_preview_numbers_by_hand() {
        let s = zero_slip();
        let p = run(
            long(SizeSpec::Base(d("0.1")), Some("49000"), Some("53000"), 1),
            &s,
        )
        .unwrap();
        assert_eq!(p.qty, d("0.1"));
        assert_eq!(p.fill_price, d("50000"));
        assert_eq!(p.notional, d("5000"));
        assert_eq!(p.fee, d("5"));
        assert_eq!(p.margin, d("5000"));
        assert_eq!(p.sl_distance_pct, Some(d("2")));
        assert_eq!(p.tp_distance_pct, Some(d("6")));
        // 0.1 × 1000 + 5 + 0.1 × 49000 × 0.001 = 100 + 5 + 4.9
        assert_eq!(p.risk_to_sl, Some(d("109.9")));
        assert_eq!(p.risk_pct, Some(d("1.099")));
        // 0.1 × 3000 − 5 − 5.3
        assert_eq!(p.reward, Some(d("289.7")));
        assert_eq!(p.reward_risk.unwrap().round_dp(6), d("2.636033"));
        assert_eq!(p.liquidation, None);
        assert!(!p.sl_beyond_liquidation);
    }

    #[test]
    fn short_preview_uses_bid_and_finite_liquidation() {
        let s = PaperSettings::default();
        let order = OrderRequest {
            side: PositionSide::Short,
            size: SizeSpec::Quote(d("1000")),
            sl: Some(d("51000")),
            tp: Some(d("47000")),
            lev: Leverage::new(3).unwrap(),
        };
        let p = run(order, &s).unwrap();
        assert_eq!(p.fill_price, d("49990"));
        assert!(p.notional <= d("1000"));
        assert_eq!(p.margin, p.notional / d("3"));
        let lp = p.liquidation.unwrap();
        assert_eq!(
            lp,
            d("49990") * (Decimal::ONE + Decimal::ONE / d("3")) / d("1.004")
        );
        assert!(!p.sl_beyond_liquidation);
        assert!(p.reward_risk.unwrap() > Decimal::ONE);
    }

    #[test]
    fn sl_and_tp_on_the_wrong_side_are_refused() {
        let s = zero_slip();
        let size = SizeSpec::Base(d("0.1"));
        assert_eq!(
            run(long(size, Some("50000"), None, 1), &s),
            Err(PreviewError::StopOnWrongSide {
                side: PositionSide::Long,
                entry: d("50000"),
                sl: d("50000")
            })
        );
        assert_eq!(
            run(long(size, Some("51000"), None, 1), &s),
            Err(PreviewError::StopOnWrongSide {
                side: PositionSide::Long,
                entry: d("50000"),
                sl: d("51000")
            })
        );
        assert_eq!(
            run(long(size, None, Some("49000"), 1), &s),
            Err(PreviewError::TargetOnWrongSide {
                side: PositionSide::Long,
                entry: d("50000"),
                tp: d("49000")
            })
        );
        let short = OrderRequest {
            side: PositionSide::Short,
            ..long(size, Some("49000"), None, 1)
        };
        assert!(matches!(
            run(short, &s),
            Err(PreviewError::StopOnWrongSide { .. })
        ));
        let short = OrderRequest {
            side: PositionSide::Short,
            ..long(size, None, Some("50000"), 1)
        };
        assert!(matches!(
            run(short, &s),
            Err(PreviewError::TargetOnWrongSide { .. })
        ));
        assert_eq!(
            run(long(size, Some("0"), None, 1), &s),
            Err(PreviewError::PriceNotPositive)
        );
    }

    #[test]
    fn leverage_125_preview_and_stop_beyond_liquidation() {
        let s = zero_slip();
        let p = run(long(SizeSpec::Base(d("1")), Some("49000"), None, 125), &s).unwrap();
        assert_eq!(p.margin, d("400"));
        let lp = p.liquidation.unwrap();
        assert!(lp > d("49000"));
        assert!(p.sl_beyond_liquidation);
        let p = run(long(SizeSpec::Base(d("1")), Some("49900"), None, 125), &s).unwrap();
        assert!(!p.sl_beyond_liquidation);
    }

    #[test]
    fn tiny_and_huge_sizes_are_typed_errors() {
        let s = zero_slip();
        let f = crate::exchange::SymbolFilters {
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
        };
        let b = book();
        let with_filters = |size| {
            preview(
                &long(size, None, None, 1),
                &PreviewInput {
                    equity: d("10000"),
                    book: &b,
                    filters: Some(&f),
                    settings: &s,
                    mmr: DEFAULT_MMR,
                },
            )
        };
        assert_eq!(
            with_filters(SizeSpec::Quote(d("4"))),
            Err(PreviewError::Size(SizeError::BelowMinNotional {
                qty: d("0.00008"),
                price: d("50000"),
                notional: d("4"),
                min_notional: d("5")
            }))
        );
        assert_eq!(
            with_filters(SizeSpec::Base(d("0.000009"))),
            Err(PreviewError::Size(SizeError::BelowMinQty {
                qty: d("0.000009"),
                min_qty: d("0.00001"),
                step: d("0.00001")
            }))
        );
        // 250 USDT at 50 000 = 0.005 exactly; 251 rounds down to 0.00502
        assert_eq!(with_filters(SizeSpec::Quote(d("251"))).unwrap().qty, d("0.00502"));
        assert!(matches!(
            run(long(SizeSpec::Quote(d("0.00000001")), None, None, 1), &s),
            Err(PreviewError::Size(SizeError::BelowMinQty { .. }))
        ));
        let b = BookTicker {
            ask: Decimal::MAX,
            ..book()
        };
        let r = preview(
            &long(SizeSpec::Base(d("1000000000000")), None, None, 1),
            &PreviewInput {
                equity: d("1"),
                book: &b,
                filters: None,
                settings: &s,
                mmr: DEFAULT_MMR,
            },
        );
        assert!(matches!(r, Err(PreviewError::Overflow(_))), "{r:?}");
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::trading::DEFAULT_MMR;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary decimals in every field never panic the preview.
        #[test]
        fn preview_never_panics(
            px in any::<(i64, u32)>(), size in any::<(i64, u32)>(), sl in any::<(i64, u32)>(),
            tp in any::<(i64, u32)>(), equity in any::<(i64, u32)>(), lev in 1u32..=125,
            short in any::<bool>(), quote in any::<bool>(), fee in 0i64..100_000,
        ) {
            let mk = |(m, s): (i64, u32)| Decimal::new(m, s % 29);
            let b = BookTicker { symbol: "X".into(), bid: mk(px), bid_qty: Decimal::ONE, ask: mk(px), ask_qty: Decimal::ONE };
            let s = PaperSettings { fee_bps: Decimal::new(fee, 0), ..PaperSettings::default() };
            let order = OrderRequest {
                side: if short { PositionSide::Short } else { PositionSide::Long },
                size: if quote { SizeSpec::Quote(mk(size)) } else { SizeSpec::Base(mk(size)) },
                sl: Some(mk(sl)), tp: Some(mk(tp)), lev: Leverage::new(lev).unwrap(),
            };
            let input = PreviewInput { equity: mk(equity), book: &b, filters: None, settings: &s, mmr: DEFAULT_MMR };
            if let Ok(p) = preview(&order, &input) {
                prop_assert!(p.qty > Decimal::ZERO);
                prop_assert!(p.risk_to_sl.unwrap() >= Decimal::ZERO);
            }
        }
    }
}
