//! More tests of [`pretrade_check`](super::pretrade_check): the boundaries `risk.rs`'s
//! own tests leave out (each rule at, just under and just over its limit), and a
//! property test whose inputs sit ON the limits (±0.0001) under random limits, against
//! an oracle that restates every rule by cross-multiplication (no division, so it
//! shares no rounding with the check).

use super::{
    AccountState, Leverage, LimitOverrides, OpenExposure, PositionSide, Preview, Profile, RiskLimits,
    Violation, pretrade_check,
};
use crate::trading::d;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn preview(notional: Decimal, lev: u32, sl: bool, risk: Option<Decimal>, rr: Option<Decimal>) -> Preview {
    let lev = Leverage::new(lev).unwrap();
    Preview {
        side: PositionSide::Long,
        lev,
        qty: notional / d("100"),
        fill_price: d("100"),
        notional,
        fee: Decimal::ZERO,
        margin: notional / lev.as_decimal(),
        sl: sl.then(|| d("90")),
        tp: rr.map(|_| d("120")),
        sl_distance_pct: None,
        tp_distance_pct: None,
        risk_to_sl: risk,
        risk_pct: None,
        reward: None,
        reward_risk: rr,
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

fn exposure(notional: &str) -> OpenExposure {
    OpenExposure {
        notional: d(notional),
        risk_to_sl: None,
        lev: Leverage::NONE,
        margin: d(notional),
        unrealized_pnl: Decimal::ZERO,
    }
}

/// A small order that breaks nothing on the loose profile.
fn small(lev: u32) -> Preview {
    preview(d("10"), lev, true, Some(d("1")), None)
}

#[test]
fn open_positions_under_at_and_over_the_limit() {
    let l = Profile::Model2.limits(); // 5
    let mut a = account("100000");
    a.positions = vec![exposure("10"); 4];
    assert!(pretrade_check(&a, &l, &small(1)).is_empty(), "the 5th of 5");
    a.positions.push(exposure("10"));
    assert_eq!(
        pretrade_check(&a, &l, &small(1)),
        vec![Violation::TooManyPositions { open: 5, limit: 5 }],
        "a 6th"
    );
    a.positions.push(exposure("10"));
    assert_eq!(
        pretrade_check(&a, &l, &small(1)),
        vec![Violation::TooManyPositions { open: 6, limit: 5 }],
        "already over (limit lowered by an admin)"
    );
}

#[test]
fn leverage_under_at_and_over_the_limit() {
    let l = Profile::Loose.limits(); // 10
    let a = account("100000");
    assert!(pretrade_check(&a, &l, &small(9)).is_empty());
    assert!(pretrade_check(&a, &l, &small(10)).is_empty());
    assert_eq!(
        pretrade_check(&a, &l, &small(11)),
        vec![Violation::LeverageTooHigh { lev: 11, limit: 10 }]
    );
    let c = Profile::Conservative.limits(); // 1: no leverage at all
    assert_eq!(
        pretrade_check(&a, &c, &small(2)),
        vec![Violation::LeverageTooHigh { lev: 2, limit: 1 }]
    );
}

#[test]
fn margin_under_at_and_over_free_equity() {
    let l = RiskLimits {
        max_position_notional_pct: d("1000"),
        max_gross_exposure_pct: d("1000"),
        ..Profile::Loose.limits()
    };
    let mut a = account("1000");
    a.positions = vec![exposure("600")]; // free: 400
    let mut o = preview(d("399.99"), 1, false, None, None);
    assert!(pretrade_check(&a, &l, &o).is_empty());
    o.margin = d("399.5");
    o.fee = d("0.5");
    assert!(pretrade_check(&a, &l, &o).is_empty(), "margin + fee = free");
    o.fee = d("0.51");
    assert_eq!(
        pretrade_check(&a, &l, &o),
        vec![Violation::InsufficientMargin {
            required: d("400.01"),
            free: d("400")
        }]
    );
}

#[test]
fn equity_just_above_zero_is_not_no_equity() {
    let l = Profile::Loose.limits();
    let a = account("0.01");
    let v = pretrade_check(&a, &l, &preview(d("0.001"), 1, false, None, None));
    assert_eq!(v, vec![]);
    let a = account("-0.01");
    assert_eq!(
        pretrade_check(&a, &l, &preview(d("0.001"), 1, false, None, None)),
        vec![
            // No equity at the day's start with no loss on top: armed; nothing to
            // measure the percentages against.
            Violation::NoEquity { equity: d("-0.01") }
        ]
    );
}

#[test]
fn daily_loss_just_under_the_limit_on_an_overridden_profile() {
    let limits = LimitOverrides {
        daily_loss_limit_pct: Some(d("0.5")),
        ..LimitOverrides::default()
    }
    .apply(Profile::Loose.limits());
    let mut a = account("10000"); // 0.5 % = 50
    a.realized_pnl_today = d("-49.99");
    assert!(pretrade_check(&a, &limits, &small(1)).is_empty());
    a.realized_pnl_today = d("-50");
    assert_eq!(pretrade_check(&a, &limits, &small(1)).len(), 1);
    a.realized_pnl_today = d("-50.01");
    assert_eq!(
        pretrade_check(&a, &limits, &small(1)),
        vec![Violation::DailyLossLimitReached {
            loss: d("50.01"),
            pct: d("0.5001"),
            limit_pct: d("0.5")
        }]
    );
}

const TICK: Decimal = Decimal::from_parts(1, 0, 0, false, 4); // 0.0001

/// `x + k × 0.0001`, not below zero.
fn nudge(x: Decimal, k: i64) -> Decimal {
    (x + TICK * Decimal::from(k)).max(Decimal::ZERO)
}

fn pct_strategy() -> impl Strategy<Value = Decimal> {
    // 0.5 % to 200 %, in halves.
    (1i64..=400).prop_map(|h| Decimal::new(h * 5, 1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Under random limits, with the order's notional, the gross exposure, the risk to
    /// SL, the day's loss and the margin each placed exactly on its limit or a tick
    /// either side, the check reports exactly the rules an independent restatement
    /// says are broken: it never approves an order that puts a limit over, and never
    /// refuses one that keeps them all.
    #[test]
    fn on_the_boundaries_the_check_matches_an_independent_oracle(
        equity_cents in 1i64..100_000_000,
        day_start_cents in -1_000i64..100_000_000,
        notional_pct in pct_strategy(),
        gross_pct in pct_strategy(),
        risk_pct in pct_strategy(),
        daily_pct in pct_strategy(),
        max_open in 1u32..=10,
        max_lev in 1u32..=125,
        sl_required in any::<bool>(),
        min_rr in prop::option::of((1i64..=300).prop_map(|c| Decimal::new(c, 2))),
        others in prop::collection::vec(((0i64..1_000_000).prop_map(|c| Decimal::new(c, 2)), -50_000i64..50_000, 1u32..=10), 0..12),
        lev in 1u32..=125,
        with_sl in any::<bool>(),
        rr in prop::option::of((0i64..=400).prop_map(|c| Decimal::new(c, 2))),
        (k_notional, k_gross, k_risk, k_loss, k_margin) in (-2i64..=2, -2i64..=2, -2i64..=2, -2i64..=2, -2i64..=2),
    ) {
        let hundred = Decimal::ONE_HUNDRED;
        let equity = Decimal::new(equity_cents, 2);
        let day_start = Decimal::new(day_start_cents, 2);
        let limits = RiskLimits {
            max_open_positions: max_open,
            max_position_notional_pct: notional_pct,
            max_gross_exposure_pct: gross_pct,
            max_leverage: max_lev as u8,
            daily_loss_limit_pct: daily_pct,
            stop_loss_required: sl_required,
            min_reward_risk: min_rr,
            max_risk_to_sl_pct: risk_pct,
            flatten_on_limit: false,
        };
        let mut positions: Vec<OpenExposure> = others
            .iter()
            .map(|(n, u, l)| {
                let lev = Leverage::new(*l).unwrap();
                OpenExposure {
                    notional: *n,
                    risk_to_sl: None,
                    lev,
                    margin: (*n / lev.as_decimal()).round_dp(8),
                    unrealized_pnl: Decimal::new(*u, 2),
                }
            })
            .collect();
        // The order's notional on its limit.
        let notional = nudge(equity * notional_pct / hundred, k_notional);
        // One more position brings the gross exposure onto its limit (when it can).
        let others_sum: Decimal = positions.iter().map(|p| p.notional).sum();
        let filler = equity * gross_pct / hundred - notional - others_sum;
        if filler >= Decimal::ZERO {
            positions.push(OpenExposure {
                notional: nudge(filler, k_gross),
                risk_to_sl: None,
                lev: Leverage::NONE,
                margin: Decimal::ZERO,
                unrealized_pnl: Decimal::ZERO,
            });
        }
        // Today's realized PnL puts the day's loss onto its limit.
        let open_losses: Decimal = positions.iter().map(|p| p.unrealized_pnl.min(Decimal::ZERO)).sum();
        let target_loss = nudge(daily_pct * day_start.max(Decimal::ZERO) / hundred, k_loss);
        let realized = -target_loss - open_losses;
        let state = AccountState {
            equity,
            day_start_equity: day_start,
            realized_pnl_today: realized,
            positions,
        };
        let risk = with_sl.then(|| nudge(equity * risk_pct / hundred, k_risk));
        let mut order = preview(notional, lev, with_sl, risk, if with_sl { rr } else { None });
        // The fee puts margin + fee onto the free equity.
        let margins: Decimal = state.positions.iter().map(|p| p.margin).sum();
        order.fee = nudge(equity - margins - order.margin, k_margin);

        let v = pretrade_check(&state, &limits, &order);

        // The oracle: each rule restated without division.
        let gross: Decimal = state.positions.iter().map(|p| p.notional.abs()).sum::<Decimal>() + order.notional;
        let loss = (-(state.realized_pnl_today
            + state.positions.iter().map(|p| p.unrealized_pnl.min(Decimal::ZERO)).sum::<Decimal>()))
        .max(Decimal::ZERO);
        let daily_hit = if day_start > Decimal::ZERO {
            loss * hundred >= daily_pct * day_start
        } else {
            loss > Decimal::ZERO
        };
        let has_equity = equity > Decimal::ZERO;
        let expect = [
            state.positions.len() >= max_open as usize,
            lev > max_lev,
            sl_required && order.sl.is_none(),
            matches!((min_rr, order.reward_risk), (Some(m), Some(r)) if r < m),
            daily_hit,
            !has_equity,
            has_equity && order.notional * hundred > notional_pct * equity,
            has_equity && gross * hundred > gross_pct * equity,
            has_equity && order.risk_to_sl.is_some_and(|r| r * hundred > risk_pct * equity),
            has_equity && order.margin + order.fee > equity - margins,
        ];
        let got = violated_kinds(&v);
        prop_assert_eq!(expect, got, "{:?}", v);
        prop_assert!(!v.contains(&Violation::TooLargeToCheck));
        // Every violation is reported once.
        prop_assert_eq!(v.len(), got.iter().filter(|b| **b).count());
    }
}

/// Which kinds of rule `v` reports, in the order the oracles list them: too many
/// positions, leverage, stop-loss required, reward/risk, daily loss, no equity, notional,
/// exposure, risk to SL, margin.
pub(crate) fn violated_kinds(v: &[Violation]) -> [bool; 10] {
    [
        v.iter().any(|x| matches!(x, Violation::TooManyPositions { .. })),
        v.iter().any(|x| matches!(x, Violation::LeverageTooHigh { .. })),
        v.iter().any(|x| matches!(x, Violation::StopLossRequired)),
        v.iter().any(|x| matches!(x, Violation::RewardRiskTooLow { .. })),
        v.iter()
            .any(|x| matches!(x, Violation::DailyLossLimitReached { .. })),
        v.iter().any(|x| matches!(x, Violation::NoEquity { .. })),
        v.iter().any(|x| matches!(x, Violation::NotionalTooLarge { .. })),
        v.iter().any(|x| matches!(x, Violation::ExposureTooLarge { .. })),
        v.iter().any(|x| matches!(x, Violation::RiskTooLarge { .. })),
        v.iter()
            .any(|x| matches!(x, Violation::InsufficientMargin { .. })),
    ]
}
