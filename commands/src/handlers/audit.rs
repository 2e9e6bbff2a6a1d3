//! `/audit`: the asker's own last actions, across every identity of their account,
//! newest first. Times in UTC; arguments and details are never shown (only what was
//! run and how it ended).

use crate::{Align, Block, CommandError, Ctx, Handled, Reply, Visibility, format};
use chainsignal_core::store::AuditRecord;

/// How many actions `/audit` shows.
pub(crate) const OWN_AUDIT_ROWS: i64 = 20;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = match ctx.user_id {
        Some(id) => id,
        None => return Err(CommandError::Internal("no account for the asker")),
    };
    let rows = ctx.services.store.account_audit(account, OWN_AUDIT_ROWS).await?;
    let mut reply = Reply {
        visibility: Visibility::Private,
        ..Reply::default()
    };
    reply.blocks.push(Block::Title(ctx.t("audit-title")));
    if rows.is_empty() {
        reply.blocks.push(Block::Paragraph(ctx.t("audit-none")));
        return Ok(reply.into());
    }
    reply.blocks.push(Block::Table {
        headers: vec![
            ctx.t("audit-col-time"),
            ctx.t("audit-col-platform"),
            ctx.t("audit-col-command"),
            ctx.t("audit-col-outcome"),
        ],
        align: vec![Align::Left; 4],
        rows: rows.iter().map(|r| own_row(ctx, r)).collect(),
    });
    reply.blocks.push(Block::Footer(ctx.t("audit-footer-utc")));
    Ok(reply.into())
}

fn own_row(ctx: &Ctx<'_>, r: &AuditRecord) -> Vec<String> {
    vec![
        format::utc_minute(r.at),
        r.platform.clone(),
        format!("/{}", r.command),
        outcome_label(ctx, &r.outcome),
    ]
}

/// The localized word for a stored outcome (`ok`, `denied`, …).
pub(crate) fn outcome_label(ctx: &Ctx<'_>, outcome: &str) -> String {
    match outcome {
        "ok" => ctx.t("audit-outcome-ok"),
        "user_error" => ctx.t("audit-outcome-user-error"),
        "denied" => ctx.t("audit-outcome-denied"),
        "failed" => ctx.t("audit-outcome-failed"),
        other => other.chars().take(16).collect(),
    }
}
