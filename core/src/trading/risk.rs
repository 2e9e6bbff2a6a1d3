//! Risk profiles, the pretrade check and the daily-loss kill switch (issue 16).
//!
//! [`pretrade_check`] is a pure function of the account's state (with prices already
//! applied), the profile's limits and the order's [`Preview`]. It returns EVERY
//! violated rule with its numbers, not only the first; an empty list approves.
//!
//! Rules (a value equal to its limit passes, except the daily loss, which trips when
//! it *reaches* the limit):
//! - open positions: `open + 1 > max_open_positions`;
//! - notional of the order: `notional / equity × 100 > max_position_notional_pct`;
//! - gross exposure after the order: `(Σ open notionals + notional) / equity × 100 >
//!   max_gross_exposure_pct`;
//! - leverage: `lev > max_leverage`;
//! - stop-loss required and none given;
//! - reward/risk when both SL and TP are set: `reward / risk < min_reward_risk`;
//! - risk to SL (fees included): `risk / equity × 100 > max_risk_to_sl_pct` (only when
//!   an SL is set: without one there is nothing to measure; profiles that care require
//!   an SL);
//! - daily loss (see [`daily_loss`]): `loss / day-start equity × 100 ≥
//!   daily_loss_limit_pct`;
//! - margin: `margin + opening fee > free equity` (`equity − Σ open margins`), a fact
//!   of isolated margin rather than a profile limit;
//! - equity not positive: nothing can be opened.

use super::{Leverage, Overflow, Preview, add, pct, sub};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A named set of limits. Conservative is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Conservative,
    Model2,
    Loose,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Conservative, Profile::Model2, Profile::Loose];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Conservative => "conservative",
            Profile::Model2 => "model2",
            Profile::Loose => "loose",
        }
    }

    /// `conservative`, `model2` or `loose` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The limits of the issue's table.
    pub fn limits(self) -> RiskLimits {
        RiskLimits::defaults(self)
    }
}

/// The limits of one profile (config `risk.profiles.<name>`, overridable per account).
/// Percentages are of the current equity, except the daily loss (of the equity at the
/// day's start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskLimits {
    pub max_open_positions: u32,
    pub max_position_notional_pct: Decimal,
    pub max_gross_exposure_pct: Decimal,
    /// 1 to 125.
    pub max_leverage: u8,
    pub daily_loss_limit_pct: Decimal,
    pub stop_loss_required: bool,
    /// `None`: no minimum.
    pub min_reward_risk: Option<Decimal>,
    pub max_risk_to_sl_pct: Decimal,
    /// Close every position when the daily loss limit is hit.
    pub flatten_on_limit: bool,
}

impl RiskLimits {
    /// The issue's table:
    ///
    /// | limit | conservative | model2 | loose |
    /// |---|---|---|---|
    /// | max open positions | 3 | 5 | 10 |
    /// | max notional of one position, % of equity | 10 | 20 | 50 |
    /// | max total gross exposure, % of equity | 30 | 60 | 150 |
    /// | max leverage | 1 | 3 | 10 |
    /// | daily loss limit, % of day-start equity | 2 | 3 | 5 |
    /// | stop-loss required | yes | yes | no |
    /// | min reward/risk when TP and SL are set | 1.5 | 1.2 | none |
    /// | max risk to SL of one position, % of equity | 1 | 2 | 5 |
    ///
    /// `flatten_on_limit` is off for all three by default.
    pub fn defaults(profile: Profile) -> Self {
        let n = Decimal::from;
        match profile {
            Profile::Conservative => Self {
                max_open_positions: 3,
                max_position_notional_pct: n(10),
                max_gross_exposure_pct: n(30),
                max_leverage: 1,
                daily_loss_limit_pct: n(2),
                stop_loss_required: true,
                min_reward_risk: Some(Decimal::new(15, 1)),
                max_risk_to_sl_pct: n(1),
                flatten_on_limit: false,
            },
            Profile::Model2 => Self {
                max_open_positions: 5,
                max_position_notional_pct: n(20),
                max_gross_exposure_pct: n(60),
                max_leverage: 3,
                daily_loss_limit_pct: n(3),
                stop_loss_required: true,
                min_reward_risk: Some(Decimal::new(12, 1)),
                max_risk_to_sl_pct: n(2),
                flatten_on_limit: false,
            },
            Profile::Loose => Self {
                max_open_positions: 10,
                max_position_notional_pct: n(50),
                max_gross_exposure_pct: n(150),
                max_leverage: 10,
                daily_loss_limit_pct: n(5),
                stop_loss_required: false,
                min_reward_risk: None,
                max_risk_to_sl_pct: n(5),
                flatten_on_limit: false,
            },
        }
    }
}

/// One open position as the risk check sees it, valued at the current mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenExposure {
    /// `qty × mark` (absolute, long or short).
    pub notional: Decimal,
    /// Loss to its SL, fees included; `None` without SL.
    pub risk_to_sl: Option<Decimal>,
    pub lev: Leverage,
    /// Isolated margin put up (`entry notional / lev`).
    pub margin: Decimal,
    /// Unrealized PnL at the mark (negative is a loss).
    pub unrealized_pnl: Decimal,
}

/// The account at the time of the check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccountState {
    /// Current equity (USDT), unrealized PnL included.
    pub equity: Decimal,
    /// Equity at the start of the account's trading day (midnight in its time zone).
    pub day_start_equity: Decimal,
    /// Net realized PnL of trades closed today (fees included; negative is a loss).
    pub realized_pnl_today: Decimal,
    pub positions: Vec<OpenExposure>,
}

/// A rule an order breaks, with the numbers for the sentence the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Equity is zero or negative: nothing can be opened.
    NoEquity {
        equity: Decimal,
    },
    TooManyPositions {
        open: usize,
        limit: u32,
    },
    /// "notional 1,250 USDT is 12.5 % of equity; your limit is 10 %".
    NotionalTooLarge {
        notional: Decimal,
        pct: Decimal,
        limit_pct: Decimal,
    },
    /// Gross exposure after the order.
    ExposureTooLarge {
        gross: Decimal,
        pct: Decimal,
        limit_pct: Decimal,
    },
    LeverageTooHigh {
        lev: u8,
        limit: u8,
    },
    StopLossRequired,
    RewardRiskTooLow {
        ratio: Decimal,
        min: Decimal,
    },
    RiskTooLarge {
        risk: Decimal,
        pct: Decimal,
        limit_pct: Decimal,
    },
    /// The kill switch is tripped: no new opens until the next trading day. `pct` is
    /// of the day-start equity; when that was not positive (no percentage exists) it
    /// is reported as 100.
    DailyLossLimitReached {
        loss: Decimal,
        pct: Decimal,
        limit_pct: Decimal,
    },
    /// Margin plus opening fee exceed free equity.
    InsufficientMargin {
        required: Decimal,
        free: Decimal,
    },
    /// The numbers are too large to check: refused rather than guessed.
    TooLargeToCheck,
}

/// How much of today's loss limit is used.
///
/// `loss = max(0, −(realized_pnl_today + Σ min(0, unrealized_pnl)))`: today's net
/// realized PnL plus the losses of open positions (their unrealized gains do not offset
/// anything), and `pct = loss / day_start_equity × 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DailyLoss {
    pub loss: Decimal,
    /// `None` when the day-start equity is not positive.
    pub pct: Option<Decimal>,
    pub limit_pct: Decimal,
    /// `pct / limit_pct × 100`, for the bar in `/risk` (not capped at 100).
    pub used_pct: Option<Decimal>,
    pub kill_switch: KillSwitch,
    /// Tripped and the profile says to close every position.
    pub flatten: bool,
}

/// Whether new opens are allowed today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KillSwitch {
    Armed,
    /// The loss reached the limit (or there was no equity at the day's start with a
    /// loss on top).
    Tripped,
}

/// Today's loss against the limit; see [`DailyLoss`].
pub fn daily_loss(state: &AccountState, limits: &RiskLimits) -> Result<DailyLoss, Overflow> {
    let mut total = state.realized_pnl_today;
    for p in &state.positions {
        total = add(total, p.unrealized_pnl.min(Decimal::ZERO))?;
    }
    let loss = (-total).max(Decimal::ZERO);
    let limit_pct = limits.daily_loss_limit_pct;
    let pct = if state.day_start_equity > Decimal::ZERO {
        Some(pct(loss, state.day_start_equity)?)
    } else {
        None
    };
    let used_pct = match pct {
        Some(p) if limit_pct > Decimal::ZERO => Some(super::pct(p, limit_pct)?),
        _ => None,
    };
    let tripped = match pct {
        Some(p) => p >= limit_pct,
        None => loss > Decimal::ZERO,
    };
    let kill_switch = if tripped {
        KillSwitch::Tripped
    } else {
        KillSwitch::Armed
    };
    Ok(DailyLoss {
        loss,
        pct,
        limit_pct,
        used_pct,
        kill_switch,
        flatten: tripped && limits.flatten_on_limit,
    })
}

/// Every rule `order` breaks for this account and profile; empty when it may be
/// placed. See the module docs for the rules.
pub fn pretrade_check(state: &AccountState, limits: &RiskLimits, order: &Preview) -> Vec<Violation> {
    let mut out = Vec::new();
    if check(state, limits, order, &mut out).is_err() {
        out.push(Violation::TooLargeToCheck);
    }
    out
}

fn check(
    state: &AccountState,
    limits: &RiskLimits,
    order: &Preview,
    out: &mut Vec<Violation>,
) -> Result<(), Overflow> {
    // Rules that need no arithmetic on the account first, so they are reported even
    // when a later computation overflows.
    let open = state.positions.len();
    if open >= limits.max_open_positions as usize {
        out.push(Violation::TooManyPositions {
            open,
            limit: limits.max_open_positions,
        });
    }
    if order.lev.get() > limits.max_leverage {
        out.push(Violation::LeverageTooHigh {
            lev: order.lev.get(),
            limit: limits.max_leverage,
        });
    }
    if limits.stop_loss_required && order.sl.is_none() {
        out.push(Violation::StopLossRequired);
    }
    if let (Some(min), Some(ratio)) = (limits.min_reward_risk, order.reward_risk)
        && ratio < min
    {
        out.push(Violation::RewardRiskTooLow { ratio, min });
    }
    let daily = daily_loss(state, limits)?;
    if daily.kill_switch == KillSwitch::Tripped {
        out.push(Violation::DailyLossLimitReached {
            loss: daily.loss,
            pct: daily.pct.unwrap_or(Decimal::ONE_HUNDRED),
            limit_pct: daily.limit_pct,
        });
    }

    let equity = state.equity;
    if equity <= Decimal::ZERO {
        out.push(Violation::NoEquity { equity });
        return Ok(());
    }
    let notional_pct = pct(order.notional, equity)?;
    if notional_pct > limits.max_position_notional_pct {
        out.push(Violation::NotionalTooLarge {
            notional: order.notional,
            pct: notional_pct,
            limit_pct: limits.max_position_notional_pct,
        });
    }
    let mut gross = order.notional;
    let mut margins = Decimal::ZERO;
    for p in &state.positions {
        gross = add(gross, p.notional.abs())?;
        margins = add(margins, p.margin)?;
    }
    let gross_pct = pct(gross, equity)?;
    if gross_pct > limits.max_gross_exposure_pct {
        out.push(Violation::ExposureTooLarge {
            gross,
            pct: gross_pct,
            limit_pct: limits.max_gross_exposure_pct,
        });
    }
    if let Some(risk) = order.risk_to_sl {
        let risk_pct = pct(risk, equity)?;
        if risk_pct > limits.max_risk_to_sl_pct {
            out.push(Violation::RiskTooLarge {
                risk,
                pct: risk_pct,
                limit_pct: limits.max_risk_to_sl_pct,
            });
        }
    }
    let free = sub(equity, margins)?;
    let required = add(order.margin, order.fee)?;
    if required > free {
        out.push(Violation::InsufficientMargin { required, free });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::{PositionSide, d};

    /// A long preview with the numbers the rules look at.
    pub(super) fn order(notional: &str, risk: Option<&str>, rr: Option<&str>, lev: u32) -> Preview {
        let lev = Leverage::new(lev).unwrap();
        let notional = d(notional);
        Preview {
            side: PositionSide::Long,
            lev,
            qty: notional / d("100"),
            fill_price: d("100"),
            notional,
            fee: Decimal::ZERO,
            margin: notional / lev.as_decimal(),
            sl: risk.map(|_| d("90")),
            tp: rr.map(|_| d("120")),
            sl_distance_pct: None,
            tp_distance_pct: None,
            risk_to_sl: risk.map(d),
            risk_pct: None,
            reward: None,
            reward_risk: rr.map(d),
            liquidation: None,
            sl_beyond_liquidation: false,
        }
    }

    fn account(equity: &str) -> AccountState {
        AccountState {
            equity: d(equity),
            day_start_equity: d(equity),
            realized_pnl_today: Decimal::ZERO,
            positions: Vec::new(),
        }
    }

    fn position(notional: &str, unrealized: &str) -> OpenExposure {
        OpenExposure {
            notional: d(notional),
            risk_to_sl: None,
            lev: Leverage::NONE,
            margin: d(notional),
            unrealized_pnl: d(unrealized),
        }
    }

    fn conservative() -> RiskLimits {
        Profile::Conservative.limits()
    }

    #[test]
    fn defaults_are_the_issues_table() {
        let c = Profile::Conservative.limits();
        let m = Profile::Model2.limits();
        let l = Profile::Loose.limits();
        assert_eq!(
            [c.max_open_positions, m.max_open_positions, l.max_open_positions],
            [3, 5, 10]
        );
        assert_eq!(
            [
                c.max_position_notional_pct,
                m.max_position_notional_pct,
                l.max_position_notional_pct
            ],
            [d("10"), d("20"), d("50")]
        );
        assert_eq!(
            [
                c.max_gross_exposure_pct,
                m.max_gross_exposure_pct,
                l.max_gross_exposure_pct
            ],
            [d("30"), d("60"), d("150")]
        );
        assert_eq!([c.max_leverage, m.max_leverage, l.max_leverage], [1, 3, 10]);
        assert_eq!(
            [
                c.daily_loss_limit_pct,
                m.daily_loss_limit_pct,
                l.daily_loss_limit_pct
            ],
            [d("2"), d("3"), d("5")]
        );
        assert_eq!(
            [c.stop_loss_required, m.stop_loss_required, l.stop_loss_required],
            [true, true, false]
        );
        assert_eq!(
            [c.min_reward_risk, m.min_reward_risk, l.min_reward_risk],
            [Some(d("1.5")), Some(d("1.2")), None]
        );
        assert_eq!(
            [c.max_risk_to_sl_pct, m.max_risk_to_sl_pct, l.max_risk_to_sl_pct],
            [d("1"), d("2"), d("5")]
        );
        assert!(!c.flatten_on_limit && !m.flatten_on_limit && !l.flatten_on_limit);
        assert_eq!(Profile::default(), Profile::Conservative);
        assert_eq!(Profile::parse("MODEL2"), Some(Profile::Model2));
        assert_eq!(Profile::parse("yolo"), None);
    }

    #[test]
    fn a_compliant_order_passes() {
        let v = pretrade_check(
            &account("10000"),
            &conservative(),
            &order("1000", Some("100"), Some("1.5"), 1),
        );
        assert_eq!(v, vec![]);
    }

    #[test]
    fn notional_at_under_and_over_the_limit() {
        let l = conservative();
        let a = account("10000");
        assert!(pretrade_check(&a, &l, &order("999.99", Some("10"), None, 1)).is_empty());
        assert!(pretrade_check(&a, &l, &order("1000", Some("10"), None, 1)).is_empty());
        assert_eq!(
            pretrade_check(&a, &l, &order("1000.01", Some("10"), None, 1)),
            vec![Violation::NotionalTooLarge {
                notional: d("1000.01"),
                pct: d("10.0001"),
                limit_pct: d("10")
            }]
        );
        // The issue's example sentence: 1,250 USDT is 12.5 % of equity; limit 10 %.
        let loose_gross = RiskLimits {
            max_gross_exposure_pct: d("100"),
            ..l.clone()
        };
        assert_eq!(
            pretrade_check(&a, &loose_gross, &order("1250", Some("10"), None, 1)),
            vec![Violation::NotionalTooLarge {
                notional: d("1250"),
                pct: d("12.5"),
                limit_pct: d("10")
            }]
        );
    }

    #[test]
    fn gross_exposure_at_under_and_over_the_limit() {
        let l = conservative();
        let mut a = account("10000");
        a.positions = vec![position("1000", "0"), position("1000", "0")];
        assert!(pretrade_check(&a, &l, &order("999.99", Some("10"), None, 1)).is_empty());
        assert!(pretrade_check(&a, &l, &order("1000", Some("10"), None, 1)).is_empty());
        a.positions[0].notional = d("1000.01");
        assert_eq!(
            pretrade_check(&a, &l, &order("1000", Some("10"), None, 1)),
            vec![Violation::ExposureTooLarge {
                gross: d("3000.01"),
                pct: d("30.0001"),
                limit_pct: d("30")
            }]
        );
    }

    #[test]
    fn open_positions_at_and_over_the_limit() {
        let l = conservative();
        let mut a = account("100000");
        a.positions = vec![position("10", "0"); 2];
        assert!(pretrade_check(&a, &l, &order("100", Some("1"), None, 1)).is_empty());
        a.positions.push(position("10", "0"));
        assert_eq!(
            pretrade_check(&a, &l, &order("100", Some("1"), None, 1)),
            vec![Violation::TooManyPositions { open: 3, limit: 3 }]
        );
    }

    #[test]
    fn leverage_at_and_over_the_limit() {
        let l = Profile::Model2.limits();
        let a = account("10000");
        assert!(pretrade_check(&a, &l, &order("100", Some("1"), None, 3)).is_empty());
        assert_eq!(
            pretrade_check(&a, &l, &order("100", Some("1"), None, 4)),
            vec![Violation::LeverageTooHigh { lev: 4, limit: 3 }]
        );
        assert_eq!(
            pretrade_check(&a, &Profile::Loose.limits(), &order("100", None, None, 125)),
            vec![Violation::LeverageTooHigh { lev: 125, limit: 10 }]
        );
    }

    #[test]
    fn stop_loss_required_except_on_loose() {
        let a = account("10000");
        assert_eq!(
            pretrade_check(&a, &conservative(), &order("100", None, None, 1)),
            vec![Violation::StopLossRequired]
        );
        assert!(pretrade_check(&a, &Profile::Loose.limits(), &order("100", None, None, 1)).is_empty());
    }

    #[test]
    fn reward_risk_at_under_and_over_the_minimum() {
        let l = conservative();
        let a = account("10000");
        assert!(pretrade_check(&a, &l, &order("100", Some("1"), Some("1.5"), 1)).is_empty());
        assert!(pretrade_check(&a, &l, &order("100", Some("1"), Some("1.51"), 1)).is_empty());
        assert_eq!(
            pretrade_check(&a, &l, &order("100", Some("1"), Some("1.49"), 1)),
            vec![Violation::RewardRiskTooLow {
                ratio: d("1.49"),
                min: d("1.5")
            }]
        );
        // Loose has no minimum.
        assert!(
            pretrade_check(
                &a,
                &Profile::Loose.limits(),
                &order("100", Some("1"), Some("0.1"), 1)
            )
            .is_empty()
        );
    }

    #[test]
    fn risk_to_sl_at_under_and_over_the_limit() {
        let l = conservative();
        let a = account("10000");
        assert!(pretrade_check(&a, &l, &order("100", Some("99.99"), None, 1)).is_empty());
        assert!(pretrade_check(&a, &l, &order("100", Some("100"), None, 1)).is_empty());
        assert_eq!(
            pretrade_check(&a, &l, &order("100", Some("100.01"), None, 1)),
            vec![Violation::RiskTooLarge {
                risk: d("100.01"),
                pct: d("1.0001"),
                limit_pct: d("1")
            }]
        );
    }

    #[test]
    fn daily_loss_trips_when_reaching_the_limit() {
        let l = conservative();
        let mut a = account("10000");
        // 2 % of 10 000 = 200: realized −150, unrealized −49.99 → 199.99 (armed)
        a.realized_pnl_today = d("-150");
        a.positions = vec![position("100", "-49.99"), position("100", "500")];
        let dl = daily_loss(&a, &l).unwrap();
        assert_eq!(dl.loss, d("199.99"));
        assert_eq!(dl.kill_switch, KillSwitch::Armed);
        assert_eq!(dl.used_pct, Some(d("99.995")));
        assert!(pretrade_check(&a, &l, &order("100", Some("1"), None, 1)).is_empty());
        // exactly 200 → tripped; an unrealized gain of another position offsets nothing
        a.positions[0].unrealized_pnl = d("-50");
        let dl = daily_loss(&a, &l).unwrap();
        assert_eq!(dl.kill_switch, KillSwitch::Tripped);
        assert!(!dl.flatten);
        assert_eq!(
            pretrade_check(&a, &l, &order("100", Some("1"), None, 1)),
            vec![Violation::DailyLossLimitReached {
                loss: d("200"),
                pct: d("2"),
                limit_pct: d("2")
            }]
        );
        // over the limit, with flatten on
        a.realized_pnl_today = d("-300");
        let flat = RiskLimits {
            flatten_on_limit: true,
            ..l
        };
        let dl = daily_loss(&a, &flat).unwrap();
        assert_eq!(dl.kill_switch, KillSwitch::Tripped);
        assert!(dl.flatten);
        // a realized profit today offsets the day's losses
        a.realized_pnl_today = d("100");
        assert_eq!(daily_loss(&a, &flat).unwrap().loss, Decimal::ZERO);
    }

    #[test]
    fn every_rule_at_once() {
        let l = conservative();
        let mut a = account("1000");
        a.day_start_equity = d("1000");
        a.realized_pnl_today = d("-100");
        a.positions = vec![position("400", "0"); 3];
        // no SL (required), but a risk figure and an RR below minimum cannot both exist
        // without SL, so check that set with an SL and the SL rule separately below.
        let o = order("5000", Some("50"), Some("1"), 5);
        let v = pretrade_check(&a, &l, &o);
        assert_eq!(
            v,
            vec![
                Violation::TooManyPositions { open: 3, limit: 3 },
                Violation::LeverageTooHigh { lev: 5, limit: 1 },
                Violation::RewardRiskTooLow {
                    ratio: d("1"),
                    min: d("1.5")
                },
                Violation::DailyLossLimitReached {
                    loss: d("100"),
                    pct: d("10"),
                    limit_pct: d("2")
                },
                Violation::NotionalTooLarge {
                    notional: d("5000"),
                    pct: d("500"),
                    limit_pct: d("10")
                },
                Violation::ExposureTooLarge {
                    gross: d("6200"),
                    pct: d("620"),
                    limit_pct: d("30")
                },
                Violation::RiskTooLarge {
                    risk: d("50"),
                    pct: d("5"),
                    limit_pct: d("1")
                },
                Violation::InsufficientMargin {
                    required: d("1000"),
                    free: d("-200")
                },
            ]
        );
        let mut no_sl = o.clone();
        no_sl.sl = None;
        no_sl.risk_to_sl = None;
        let v = pretrade_check(&a, &l, &no_sl);
        assert!(v.contains(&Violation::StopLossRequired));
        assert_eq!(v.len(), 8);
    }

    #[test]
    fn no_equity_and_overflow_refuse() {
        let l = Profile::Loose.limits();
        let a = account("0");
        assert_eq!(
            pretrade_check(&a, &l, &order("100", None, None, 1)),
            vec![Violation::NoEquity { equity: d("0") }]
        );
        let mut a = account("0.0000000000000000000000001");
        a.positions = vec![position("1", "0")];
        let v = pretrade_check(&a, &l, &order("79228162514264337593543950335", None, None, 1));
        assert_eq!(v.last(), Some(&Violation::TooLargeToCheck), "{v:?}");
    }

    #[test]
    fn margin_must_fit_free_equity() {
        let l = Profile::Loose.limits();
        let mut a = account("1000");
        a.positions = vec![position("500", "0")];
        let mut o = order("500", None, None, 1);
        o.fee = d("0.5");
        assert_eq!(
            pretrade_check(&a, &l, &o),
            vec![Violation::InsufficientMargin {
                required: d("500.5"),
                free: d("500")
            }]
        );
        let o = order("500", None, None, 2);
        assert_eq!(
            pretrade_check(&a, &RiskLimits { max_leverage: 2, ..l }, &o),
            vec![]
        );
    }
}

#[cfg(test)]
mod props {
    use super::tests::order;
    use super::*;
    use proptest::prelude::*;

    fn money() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000).prop_map(|m| Decimal::new(m, 2))
    }

    proptest! {
        /// The check approves exactly the orders that keep every limit: each rule is
        /// restated here independently and the set of reported rules must match.
        #[test]
        fn approves_exactly_the_orders_within_every_limit(
            profile in prop::sample::select(Profile::ALL.to_vec()),
            equity in money(), day_start in money(), realized in (-10_000_000i64..10_000_000).prop_map(|m| Decimal::new(m, 2)),
            positions in prop::collection::vec((money(), (-1_000_000i64..1_000_000).prop_map(|m| Decimal::new(m, 2)), 1u32..=20), 0..12),
            notional in money(), risk in prop::option::of(money()), rr in prop::option::of((0i64..500).prop_map(|m| Decimal::new(m, 2))),
            lev in 1u32..=20,
        ) {
            let limits = profile.limits();
            let state = AccountState {
                equity, day_start_equity: day_start, realized_pnl_today: realized,
                positions: positions.iter().map(|(n, u, l)| {
                    let lev = Leverage::new(*l).unwrap();
                    OpenExposure { notional: *n, risk_to_sl: None, lev, margin: *n / lev.as_decimal(), unrealized_pnl: *u }
                }).collect(),
            };
            let mut o = order(&notional.to_string(), None, None, lev);
            o.sl = risk.map(|_| Decimal::ONE);
            o.risk_to_sl = risk;
            o.reward_risk = if risk.is_some() { rr } else { None };
            let v = pretrade_check(&state, &limits, &o);

            let hundred = Decimal::ONE_HUNDRED;
            let gross: Decimal = state.positions.iter().map(|p| p.notional).sum::<Decimal>() + o.notional;
            let margins: Decimal = state.positions.iter().map(|p| p.margin).sum();
            let loss = (-(realized + state.positions.iter().map(|p| p.unrealized_pnl.min(Decimal::ZERO)).sum::<Decimal>())).max(Decimal::ZERO);
            let daily_hit = if day_start > Decimal::ZERO { loss * hundred / day_start >= limits.daily_loss_limit_pct } else { loss > Decimal::ZERO };
            let eq_ok = equity > Decimal::ZERO;
            let expect = [
                state.positions.len() >= limits.max_open_positions as usize,
                o.lev.get() > limits.max_leverage,
                limits.stop_loss_required && o.sl.is_none(),
                matches!((limits.min_reward_risk, o.reward_risk), (Some(m), Some(r)) if r < m),
                daily_hit,
                !eq_ok,
                eq_ok && o.notional * hundred > limits.max_position_notional_pct * equity,
                eq_ok && gross * hundred > limits.max_gross_exposure_pct * equity,
                eq_ok && risk.is_some_and(|r| r * hundred > limits.max_risk_to_sl_pct * equity),
                eq_ok && o.margin + o.fee > equity - margins,
            ];
            let got = crate::trading::risk_tests::violated_kinds(&v);
            prop_assert_eq!(expect, got, "{:?}", v);
            prop_assert!(!v.contains(&Violation::TooLargeToCheck));
        }
    }
}
