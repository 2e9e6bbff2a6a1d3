//! `/subscribe reports|alerts` and `/unsubscribe [reports|alerts]`: what this chat
//! receives from the scheduler. Chat administrators and bot admins only.

use crate::{CommandError, Ctx, Handled, Reply};

pub(crate) async fn subscribe(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let Some(kind) = ctx.args.choice("what") else {
        return Err(CommandError::user("subscribe-usage"));
    };
    let new = ctx.services.store.subscribe(&ctx.chat, kind).await?;
    let key = match (kind, new) {
        ("reports", true) => "subscribed-reports",
        ("reports", false) => "already-subscribed-reports",
        (_, true) => "subscribed-alerts",
        (_, false) => "already-subscribed-alerts",
    };
    Ok(Reply::text(ctx.t(key)).into())
}

pub(crate) async fn unsubscribe(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let kind = ctx.args.choice("what");
    let removed = ctx.services.store.unsubscribe(&ctx.chat, kind).await?;
    Ok(Reply::text(ctx.t(if removed > 0 {
        "unsubscribed"
    } else {
        "not-subscribed"
    }))
    .into())
}
