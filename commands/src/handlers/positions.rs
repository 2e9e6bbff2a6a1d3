//! `/positions`: open positions on the account's venue with marks and unrealized PnL,
//! totals below; `/positions history [n]`: the closed ones.

use super::trade::{desk_error, mode_word};
use crate::format::{exact, money, money_signed, percent_dec, price_dec};
use crate::reply::{Align, Block};
use crate::trade_view::{history_block, side_word};
use crate::{CommandError, Ctx, Handled, Reply};
use chainsignal_core::desk::{Book, Mode};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let desk = &ctx.services.desk;
    if ctx.args.sub == Some("history") {
        let n = ctx.args.integer("n").unwrap_or(10);
        let rows = desk.history(user_id, n).await.map_err(|e| desk_error(ctx, e))?;
        if rows.is_empty() {
            return Ok(Reply::text(ctx.t("positions-history-none")).into());
        }
        let mut reply = Reply::text(ctx.t("positions-history")).block(history_block(
            &ctx.services.i18n,
            ctx.locale,
            &rows,
        ));
        if rows.iter().any(|r| r.split_from.is_some()) {
            reply = reply.block(crate::Block::Footer(ctx.t("positions-history-part")));
        }
        return Ok(reply.into());
    }
    let current = desk.mode(user_id).await.map_err(|e| desk_error(ctx, e))?;
    let open = ctx.services.store.open_positions(user_id, None).await?;
    let mut reply = Reply::default();
    // A table per venue: the current one always, the others when they hold positions.
    for mode in [Mode::Paper, Mode::Testnet, Mode::Live] {
        if mode != current && !open.iter().any(|p| p.venue == mode.as_str()) {
            continue;
        }
        let book = desk.book(user_id, mode).await.map_err(|e| desk_error(ctx, e))?;
        reply = venue_blocks(ctx, reply, &book);
    }
    Ok(reply.into())
}

/// One venue's title, table and totals.
fn venue_blocks(ctx: &Ctx<'_>, mut reply: Reply, book: &Book) -> Reply {
    let l = ctx.locale;
    reply = reply.block(Block::Title(
        ctx.tr("positions-title", &[("venue", &mode_word(ctx, book.mode))]),
    ));
    if book.positions.is_empty() {
        reply = reply.block(Block::Paragraph(ctx.t("positions-none")));
    } else {
        let now = ctx.services.desk.now();
        let dash = || "—".to_string();
        let rows = book
            .positions
            .iter()
            .map(|v| {
                let p = &v.position;
                vec![
                    v.row.id.to_string(),
                    v.row.symbol.clone(),
                    side_word(&ctx.services.i18n, l, p.side.as_str()),
                    exact(p.qty, l),
                    price_dec(p.entry, l),
                    v.mark.map(|m| price_dec(m, l)).unwrap_or_else(dash),
                    v.unrealized.map(|u| money_signed(u, l)).unwrap_or_else(dash),
                    v.unrealized_pct.map(|u| percent_dec(u, l)).unwrap_or_else(dash),
                    p.sl.map(|s| price_dec(s, l)).unwrap_or_else(dash),
                    p.tp.map(|s| price_dec(s, l)).unwrap_or_else(dash),
                    age(ctx, now - v.row.opened_at),
                ]
            })
            .collect();
        reply = reply.block(Block::Table {
            headers: [
                "col-id",
                "col-symbol",
                "col-side",
                "col-qty",
                "col-entry",
                "col-mark",
                "col-pnl",
                "col-pnl-pct",
                "col-sl",
                "col-tp",
                "col-age",
            ]
            .iter()
            .map(|k| ctx.t(k))
            .collect(),
            align: vec![
                Align::Right,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            rows,
        });
    }
    let mut totals = vec![(
        ctx.t("field-unrealized"),
        format!("{} USDT", money_signed(book.unrealized, l)),
    )];
    if let Some(equity) = book.equity {
        totals.push((ctx.t("field-equity"), format!("{} USDT", money(equity, l))));
    }
    reply.block(Block::Fields(totals))
}

/// A position's age in the chat's language: `5m`, `3h`, `2d` (Polish `5 min`, `3 godz.`, `2 dni`).
fn age(ctx: &Ctx<'_>, d: chrono::Duration) -> String {
    let m = d.num_minutes().max(0);
    let (key, n) = if m < 60 {
        ("age-minutes", m)
    } else if m < 48 * 60 {
        ("age-hours", m / 60)
    } else {
        ("age-days", m / (24 * 60))
    };
    ctx.tr(key, &[("n", &n.to_string())])
}
