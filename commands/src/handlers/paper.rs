//! `/paper`: the paper account (equity, since when); `/paper reset`: start it over
//! (Confirm), refused while today's loss limit is reached (a reset would clear the open
//! losses that tripped it).

use super::trade::desk_error;
use crate::format::{money, utc_minute};
use crate::{CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply};
use chainsignal_core::desk::Mode;
use chainsignal_core::trading::{KillSwitch, daily_loss};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let desk = &ctx.services.desk;
    if ctx.args.sub != Some("reset") {
        let book = desk
            .book(user_id, Mode::Paper)
            .await
            .map_err(|e| desk_error(ctx, e))?;
        let started = desk
            .account(user_id)
            .await
            .map_err(|e| desk_error(ctx, e))?
            .paper_started_at;
        let equity = book.equity.unwrap_or_default();
        return Ok(Reply::text(ctx.tr(
            "paper-status",
            &[
                ("equity", &money(equity, ctx.locale)),
                ("open", &book.positions.len().to_string()),
                ("since", &utc_minute(started)),
            ],
        ))
        .into());
    }
    let risk = crate::risk_context::account_risk(ctx.services, user_id).await?;
    let state = desk
        .state(user_id, Mode::Paper, risk.day_start)
        .await
        .map_err(|e| desk_error(ctx, e))?;
    let tripped = daily_loss(&state, &risk.limits)
        .map(|d| d.kill_switch == KillSwitch::Tripped)
        .unwrap_or(true);
    if tripped {
        return Err(CommandError::user_with(
            "paper-reset-kill-switch",
            vec![("until", risk.next_day_local.clone())],
        ));
    }
    let equity = desk.settings().paper.starting_equity;
    if ctx.phase == Phase::Run {
        let mut reply = Reply::text(ctx.tr("paper-reset-confirm", &[("equity", &money(equity, ctx.locale))]));
        reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    let equity = desk.reset_paper(user_id).await.map_err(|e| match e {
        // The open's sentence says "nothing was placed": a reset is not placed.
        chainsignal_core::desk::DeskError::AccountBusy => CommandError::user("paper-reset-busy"),
        e => desk_error(ctx, e),
    })?;
    Ok(Reply::text(ctx.tr("paper-reset-done", &[("equity", &money(equity, ctx.locale))])).into())
}
