//! `/close ID|SYMBOL|all`: close at market on each position's venue; `all` asks for
//! Confirm. The answer carries the realized PnL in USDT and %, fees included.

use super::trade::{desk_error, mode_word};
use crate::format::{exact, money, money_signed};
use crate::reply::{Block, Tone};
use crate::trade_view::closed_reply;
use crate::{CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply};
use chainsignal_core::desk::Closed;
use chainsignal_core::store::PositionRecord;
use chainsignal_core::symbol::Symbol;
use rust_decimal::Decimal;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let what = ctx.args.text("what").unwrap_or_default().trim();
    // A symbol or `all` means the positions on the account's venue; a position number
    // reaches any venue.
    let mode = ctx
        .services
        .desk
        .mode(user_id)
        .await
        .map_err(|e| desk_error(ctx, e))?;
    let all_open = ctx.services.store.open_positions(user_id, None).await?;
    let open: Vec<PositionRecord> = all_open
        .iter()
        .filter(|p| p.venue == mode.as_str())
        .cloned()
        .collect();
    let targets: Vec<PositionRecord> = if what.eq_ignore_ascii_case("all") {
        if open.is_empty() {
            return Ok(Reply::text(ctx.t("positions-none")).into());
        }
        if ctx.phase == Phase::Run {
            let mut reply = Reply::text(ctx.tr(
                "close-all-confirm",
                &[
                    ("count", &open.len().to_string()),
                    ("venue", &mode_word(ctx, mode)),
                ],
            ));
            reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
            return Ok(reply.into());
        }
        open
    } else if let Some(id) = position_id(what) {
        let found: Vec<_> = all_open.into_iter().filter(|p| p.id == id).collect();
        if found.is_empty() {
            return Err(CommandError::user_with(
                "close-unknown-id",
                vec![("id", id.to_string())],
            ));
        }
        found
    } else {
        let symbol = Symbol::parse(what, &ctx.services.quote).map_err(|_| {
            CommandError::user_with(
                "close-bad-target",
                vec![("given", what.chars().take(24).collect())],
            )
        })?;
        let found: Vec<_> = open.into_iter().filter(|p| p.symbol == symbol.as_str()).collect();
        if found.is_empty() {
            return Err(CommandError::user_with(
                "close-none-on-symbol",
                vec![("symbol", symbol.as_str().to_string())],
            ));
        }
        found
    };
    let mut closed: Vec<Closed> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for p in &targets {
        match ctx.services.desk.close(user_id, p.id, "manual").await {
            Ok(c) => closed.push(c),
            Err(e) if targets.len() == 1 => return Err(desk_error(ctx, e)),
            Err(e) => {
                let reason = match desk_error(ctx, e) {
                    CommandError::User { key, args } => {
                        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                        ctx.tr(key, &args)
                    }
                    _ => ctx.t("error-internal"),
                };
                failures.push(ctx.tr(
                    "close-failed-one",
                    &[
                        ("id", &p.id.to_string()),
                        ("symbol", &p.symbol),
                        ("reason", &reason),
                    ],
                ));
            }
        }
    }
    if closed.len() == 1 && failures.is_empty() {
        return Ok(closed_reply(&ctx.services.i18n, ctx.locale, &closed[0]).into());
    }
    let l = ctx.locale;
    let mut total = Decimal::ZERO;
    let mut fees = Decimal::ZERO;
    let lines: Vec<String> = closed
        .iter()
        .map(|c| {
            total = total.checked_add(c.trade.realized_pnl).unwrap_or(total);
            fees = fees.checked_add(c.trade.fees).unwrap_or(fees);
            match c.remaining {
                // Sold in part (a thin book): the rest stays open in the same position.
                Some(rest) => ctx.tr(
                    "close-line-partial",
                    &[
                        ("id", &c.position_id().to_string()),
                        ("symbol", &c.position.symbol),
                        ("pnl", &money_signed(c.trade.realized_pnl, l)),
                        ("rest", &exact(rest, l)),
                    ],
                ),
                None => ctx.tr(
                    "close-line",
                    &[
                        ("id", &c.position_id().to_string()),
                        ("symbol", &c.position.symbol),
                        ("pnl", &money_signed(c.trade.realized_pnl, l)),
                    ],
                ),
            }
        })
        .collect();
    let mut reply = Reply::text(ctx.tr("close-many", &[("count", &closed.len().to_string())]))
        .block(Block::List(lines))
        .block(Block::Paragraph(ctx.tr(
            "close-total",
            &[("pnl", &money_signed(total, l)), ("fees", &money(fees, l))],
        )));
    if !failures.is_empty() {
        reply = reply.block(Block::List(failures));
    }
    reply.tone = if total.is_sign_negative() {
        Tone::Down
    } else {
        Tone::Up
    };
    Ok(reply.into())
}

/// `12` or `#12`.
fn position_id(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('#').unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
