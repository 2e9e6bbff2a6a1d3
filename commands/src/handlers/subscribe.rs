//! `/subscribe reports|alerts` and `/unsubscribe [reports|alerts]`: what this chat
//! receives from the scheduler. Chat administrators and bot admins only.

use crate::{CommandError, Ctx, Handled, Reply};

const KINDS: [&str; 2] = ["reports", "alerts"];

fn kind(ctx: &Ctx<'_>, required: bool) -> Result<Option<&'static str>, CommandError> {
    let args = &ctx.invocation.args;
    match args.first().map(|a| a.to_ascii_lowercase()) {
        None if !required => Ok(None),
        Some(a) if args.len() == 1 => match KINDS.iter().find(|k| **k == a) {
            Some(k) => Ok(Some(*k)),
            None => Err(CommandError::user("subscribe-usage")),
        },
        _ => Err(CommandError::user("subscribe-usage")),
    }
}

pub(crate) async fn subscribe(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let Some(kind) = kind(ctx, true)? else {
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
    let kind = kind(ctx, false)?;
    let removed = ctx.services.store.unsubscribe(&ctx.chat, kind).await?;
    Ok(Reply::text(ctx.t(if removed > 0 {
        "unsubscribed"
    } else {
        "not-subscribed"
    }))
    .into())
}
