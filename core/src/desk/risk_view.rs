//! What `/risk` shows: the account's equity and exposure on its venue, today's loss
//! against its limit (the kill switch), risk to SL and liquidation price per position.

use super::{Book, Desk, DeskError, Mode};
use crate::trading::{DailyLoss, Overflow, PositionSide, RiskLimits, daily_loss};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// One open position's risk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionRisk {
    pub id: i64,
    pub symbol: String,
    pub side: PositionSide,
    pub lev: u8,
    /// `qty × mark`.
    pub notional: Decimal,
    /// Loss if its SL filled, both fees included; `None` without SL.
    pub risk_to_sl: Option<Decimal>,
    /// Isolated-margin liquidation price when leveraged.
    pub liquidation: Option<Decimal>,
    /// `|mark − liquidation| / mark × 100`.
    pub liquidation_distance_pct: Option<Decimal>,
}

/// The account's risk on one venue.
#[derive(Debug, Clone)]
pub struct RiskView {
    pub mode: Mode,
    pub equity: Decimal,
    /// Equity less the margin of the open positions.
    pub free_equity: Decimal,
    /// Σ notional at the marks.
    pub gross: Decimal,
    /// Σ long notional − Σ short notional.
    pub net: Decimal,
    /// Of equity; `None` when equity is not positive.
    pub gross_pct: Option<Decimal>,
    pub net_pct: Option<Decimal>,
    pub open: usize,
    pub realized_today: Decimal,
    pub unrealized: Decimal,
    pub day_start_equity: Decimal,
    pub daily: DailyLoss,
    pub positions: Vec<PositionRisk>,
    /// Σ risk to SL of the positions that have one.
    pub total_risk_to_sl: Decimal,
    pub limits: RiskLimits,
}

impl Desk {
    /// The risk view of the account's current venue, against `limits`, for the trading
    /// day that started at `day_start`.
    pub async fn risk_view(
        &self,
        user_id: i64,
        limits: &RiskLimits,
        day_start: DateTime<Utc>,
    ) -> Result<RiskView, DeskError> {
        let mode = self.mode(user_id).await?;
        let book = self.book(user_id, mode).await?;
        let state = self.state_of(user_id, day_start, &book).await?;
        let daily = daily_loss(&state, limits)?;
        view(
            &book,
            &state,
            daily,
            limits,
            |s: &str| self.mmr_for(s),
            self.settings().paper.fee_bps,
        )
    }
}

/// `part` as % of `whole`; `None` when `whole` is not positive.
fn pct(part: Decimal, whole: Decimal) -> Result<Option<Decimal>, Overflow> {
    if whole <= Decimal::ZERO {
        return Ok(None);
    }
    crate::trading::pct(part, whole).map(Some)
}

fn view(
    book: &Book,
    state: &crate::trading::AccountState,
    daily: DailyLoss,
    limits: &RiskLimits,
    mmr: impl Fn(&str) -> Decimal,
    fee_bps: Decimal,
) -> Result<RiskView, DeskError> {
    let mut gross = Decimal::ZERO;
    let mut net = Decimal::ZERO;
    let mut margin = Decimal::ZERO;
    let mut total_risk = Decimal::ZERO;
    let mut positions = Vec::with_capacity(book.positions.len());
    for v in &book.positions {
        let p = &v.position;
        let mark = v.mark.unwrap_or(p.entry);
        let e = p.exposure(mark, fee_bps)?;
        gross = gross.checked_add(e.notional).ok_or(Overflow)?;
        net = match p.side {
            PositionSide::Long => net.checked_add(e.notional),
            PositionSide::Short => net.checked_sub(e.notional),
        }
        .ok_or(Overflow)?;
        margin = margin.checked_add(e.margin).ok_or(Overflow)?;
        if let Some(r) = e.risk_to_sl {
            total_risk = total_risk.checked_add(r).ok_or(Overflow)?;
        }
        let liquidation = if p.lev.get() > 1 {
            p.liquidation_price(mmr(&v.row.symbol)).ok().flatten()
        } else {
            None
        };
        let liquidation_distance_pct = match liquidation {
            Some(lp) if mark > Decimal::ZERO => pct((mark - lp).abs(), mark)?,
            _ => None,
        };
        positions.push(PositionRisk {
            id: v.row.id,
            symbol: v.row.symbol.clone(),
            side: p.side,
            lev: p.lev.get(),
            notional: e.notional,
            risk_to_sl: e.risk_to_sl,
            liquidation,
            liquidation_distance_pct,
        });
    }
    Ok(RiskView {
        mode: book.mode,
        equity: state.equity,
        free_equity: state.equity.checked_sub(margin).ok_or(Overflow)?,
        gross,
        net,
        gross_pct: pct(gross, state.equity)?,
        net_pct: pct(net, state.equity)?,
        open: book.positions.len(),
        realized_today: state.realized_pnl_today,
        unrealized: book.unrealized,
        day_start_equity: state.day_start_equity,
        daily,
        positions,
        total_risk_to_sl: total_risk,
        limits: limits.clone(),
    })
}

/// What the daily-limit check did for one account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DailyLimitCheck {
    pub daily: DailyLoss,
    /// Positions closed because the profile flattens on the limit.
    pub flattened: Vec<super::Closed>,
    /// First time today this account is seen over its limit (its owner is to be told).
    pub first_time: bool,
}

impl Desk {
    /// Check `user_id`'s daily loss on its venue against `limits` for the trading day
    /// `day` (its label) that started at `day_start`. Over the limit: the kill switch is
    /// tripped (new opens are refused by the pretrade check until the next day), the
    /// notice is claimed once per day, and with `flatten_on_limit` every open position
    /// on the venue is closed.
    pub async fn check_daily_limit(
        &self,
        user_id: i64,
        limits: &RiskLimits,
        day_start: DateTime<Utc>,
        day: &str,
        next_day_local: &str,
    ) -> Result<DailyLimitCheck, DeskError> {
        let mode = self.mode(user_id).await?;
        let book = self.book(user_id, mode).await?;
        let state = self.state_of(user_id, day_start, &book).await?;
        let daily = daily_loss(&state, limits)?;
        let mut out = DailyLimitCheck {
            daily,
            flattened: Vec::new(),
            first_time: false,
        };
        if daily.kill_switch != crate::trading::KillSwitch::Tripped {
            return Ok(out);
        }
        if daily.flatten {
            for v in &book.positions {
                match self.close(user_id, v.row.id, "limit").await {
                    // A part sold (a thin book): the rest stays open and is closed by the
                    // next check; only what closed whole is told as closed.
                    Ok(c) if c.remaining.is_some() => {
                        tracing::info!(
                            position_id = v.row.id,
                            "flattening sold a part; the rest at the next check"
                        )
                    }
                    Ok(c) => out.flattened.push(c),
                    Err(DeskError::Busy | DeskError::NoSuchPosition) => {}
                    Err(e) => {
                        tracing::warn!(position_id = v.row.id, error = %e, "flattening on the daily limit failed")
                    }
                }
            }
        }
        // Claimed and queued in one transaction, after the flattening (a crash before it
        // leaves the notice to the next check, which flattens what is left and tells).
        let notice = super::Notice {
            user_id,
            kind: super::NoticeKind::DailyLimit {
                check: Box::new(out.clone()),
                next_day_local: next_day_local.to_string(),
            },
        };
        let payload = notice
            .to_queued()
            .map_err(|_| DeskError::Corrupt("a notice could not be written as JSON"))?;
        out.first_time = self
            .store()
            .claim_and_queue_risk_notice(user_id, day, "daily_limit", &payload, self.now())
            .await?;
        Ok(out)
    }
}
