//! `/open SYMBOL long|short SIZE [sl=PRICE] [tp=PRICE] [lev=N]`: a preview with the risk
//! verdict and Confirm / Cancel; only Confirm places the order, once per token.

use super::trade::{desk_error, mode_word, risk_context};
use crate::format::{exact, money, percent_dec, price_dec};
use crate::reply::{Block, Tone};
use crate::trade_view::{side_word, violation_lines};
use crate::{CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply};
use chainsignal_core::desk::{DeskError, Mode};
use chainsignal_core::store::Outcome;
use chainsignal_core::trading::{Leverage, OrderRequest, PositionSide, SizeParseError, parse_size};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let symbol = ctx
        .args
        .symbol("symbol")
        .cloned()
        .ok_or(CommandError::Internal("no symbol"))?;
    let order = order_of(ctx)?;
    let (limits, day_start) = risk_context(ctx, user_id).await?;
    let desk = &ctx.services.desk;
    let venue = ctx.args.choice("venue").and_then(Mode::parse);
    if ctx.phase == Phase::Confirmed {
        let token = ctx
            .confirm_token
            .ok_or(CommandError::Internal("a confirmation without its token"))?;
        return match desk
            .open(user_id, token, venue, &symbol, &order, &limits, day_start)
            .await
        {
            Ok(opened) => {
                let p = &opened.position;
                let key = if opened.existing {
                    "open-already"
                } else {
                    "open-done"
                };
                let entry: rust_decimal::Decimal = p.entry_price.parse().unwrap_or_default();
                let qty: rust_decimal::Decimal = p.qty.parse().unwrap_or_default();
                let fee: rust_decimal::Decimal = p.open_fee.parse().unwrap_or_default();
                Ok(Reply::text(ctx.tr(
                    key,
                    &[
                        ("id", &p.id.to_string()),
                        ("side", &side_word(&ctx.services.i18n, ctx.locale, &p.side)),
                        ("qty", &exact(qty, ctx.locale)),
                        ("symbol", &p.symbol),
                        ("price", &price_dec(entry, ctx.locale)),
                        ("fee", &money(fee, ctx.locale)),
                    ],
                ))
                .into())
            }
            Err(DeskError::Refused(violations)) => Ok(refused(ctx, "open-refused-now", &violations)),
            Err(e) => Err(desk_error(ctx, e)),
        };
    }
    let quote = desk
        .quote(user_id, &symbol, &order, &limits, day_start)
        .await
        .map_err(|e| desk_error(ctx, e))?;
    if venue.is_some_and(|v| v != quote.mode) {
        return Err(desk_error(ctx, DeskError::VenueChanged));
    }
    let p = &quote.preview;
    let l = ctx.locale;
    let mut fields = vec![
        (ctx.t("field-venue"), mode_word(ctx, quote.mode)),
        (
            ctx.t("field-order"),
            format!(
                "{} {} {}",
                side_word(&ctx.services.i18n, l, p.side.as_str()),
                exact(p.qty, l),
                symbol.as_str()
            ),
        ),
        (ctx.t("field-fill-price"), price_dec(p.fill_price, l)),
        (ctx.t("field-notional"), format!("{} USDT", money(p.notional, l))),
        (ctx.t("field-fee"), format!("{} USDT", money(p.fee, l))),
    ];
    // The distances are unsigned; shown signed by the side of the entry the price is on
    // (a long's stop below the entry reads -2.04%, not +2.04%).
    let toward = |price: rust_decimal::Decimal, dist: rust_decimal::Decimal| {
        if price < p.fill_price { -dist } else { dist }
    };
    if let (Some(sl), Some(dist)) = (p.sl, p.sl_distance_pct) {
        fields.push((
            ctx.t("field-sl"),
            format!("{} ({})", price_dec(sl, l), percent_dec(toward(sl, dist), l)),
        ));
    }
    if let (Some(tp), Some(dist)) = (p.tp, p.tp_distance_pct) {
        fields.push((
            ctx.t("field-tp"),
            format!("{} ({})", price_dec(tp, l), percent_dec(toward(tp, dist), l)),
        ));
    }
    if let Some(risk) = p.risk_to_sl {
        let pct = p
            .risk_pct
            .map(|x| format!(" ({} {})", exact(x.round_dp(2), l), ctx.t("of-equity")))
            .unwrap_or_default();
        fields.push((ctx.t("field-risk"), format!("{} USDT{pct}", money(risk, l))));
    }
    if let Some(rr) = p.reward_risk {
        fields.push((ctx.t("field-reward-risk"), exact(rr.round_dp(2), l)));
    }
    if p.lev.get() > 1 {
        fields.push((ctx.t("field-leverage"), format!("{}x", p.lev.get())));
        fields.push((ctx.t("field-margin"), format!("{} USDT", money(p.margin, l))));
        if let Some(lp) = p.liquidation {
            fields.push((ctx.t("field-liquidation"), price_dec(lp, l)));
        }
    }
    fields.push((
        ctx.t("field-equity"),
        format!("{} USDT", money(quote.state.equity, l)),
    ));
    let mut reply =
        Reply::text(ctx.tr("open-preview", &[("symbol", symbol.as_str())])).block(Block::Fields(fields));
    if p.sl_beyond_liquidation {
        reply = reply.block(Block::Paragraph(ctx.t("open-sl-beyond-liquidation")));
    }
    if quote.violations.is_empty() {
        reply = reply.block(Block::Paragraph(ctx.t("risk-ok")));
        // The Confirm carries the venue previewed: pressed after a /mode change, it
        // places nothing.
        let args = ctx
            .args
            .clone()
            .with("venue", crate::options::Value::Choice(quote.mode.as_str()));
        reply.buttons = ctx.confirm_buttons(&args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    let lines = violation_lines(&ctx.services.i18n, l, &quote.violations);
    reply = reply
        .block(Block::Paragraph(ctx.t("risk-refused")))
        .block(Block::List(lines));
    reply.tone = Tone::Down;
    Ok(Handled {
        reply,
        outcome: Outcome::UserError,
        detail: Some("risk_refused".into()),
    })
}

/// The refusal at Confirm: the reasons, no button. It replaces the preview (not an
/// error notice, which Telegram would cut to a short pop-up): this Confirm is used up,
/// a new `/open` checks again.
fn refused(ctx: &Ctx<'_>, key: &str, violations: &[chainsignal_core::trading::Violation]) -> Handled {
    let mut reply = Reply::text(ctx.t(key)).block(Block::List(violation_lines(
        &ctx.services.i18n,
        ctx.locale,
        violations,
    )));
    reply.tone = Tone::Down;
    Handled {
        reply,
        outcome: Outcome::UserError,
        detail: Some("risk_refused".into()),
    }
}

fn order_of(ctx: &Ctx<'_>) -> Result<OrderRequest, CommandError> {
    let side = match ctx.args.choice("side") {
        Some("short") => PositionSide::Short,
        _ => PositionSide::Long,
    };
    let given = ctx.args.text("size").unwrap_or_default();
    let size = parse_size(given, &ctx.services.quote).map_err(|e| {
        let shown: String = given.chars().take(24).collect();
        match e {
            SizeParseError::TooLarge { max } => {
                CommandError::user_with("size-too-large", vec![("max", exact(max, ctx.locale))])
            }
            SizeParseError::NotPositive => CommandError::user("trade-size-not-positive"),
            SizeParseError::Exponent => CommandError::user_with("size-exponent", vec![("given", shown)]),
            SizeParseError::Separator => CommandError::user_with("size-separator", vec![("given", shown)]),
            SizeParseError::WrongUnit { unit, quote } => CommandError::user_with(
                "size-wrong-unit",
                vec![("unit", unit.chars().take(12).collect()), ("quote", quote)],
            ),
            SizeParseError::Empty | SizeParseError::TooLong | SizeParseError::NotANumber => {
                CommandError::user_with("size-not-a-number", vec![("given", shown)])
            }
        }
    })?;
    let lev = match ctx.args.integer("lev") {
        Some(n) => Leverage::new(u32::try_from(n).unwrap_or(0))
            .map_err(|_| CommandError::user("trade-bad-leverage"))?,
        None => Leverage::NONE,
    };
    Ok(OrderRequest {
        side,
        size,
        sl: ctx.args.decimal("sl"),
        tp: ctx.args.decimal("tp"),
        lev,
    })
}
