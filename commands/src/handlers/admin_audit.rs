//! `/admin audit [user] [command] [since=24h] [n=20]`: the audit log in the chat, newest
//! first, with each outcome. More than [`SHOWN`] rows: the first ones shown, all of them
//! attached as CSV. Bot admins only.

use super::audit::outcome_label;
use crate::{Align, Attachment, Block, CommandError, Ctx, Handled, Reply, Visibility, format};
use chainsignal_core::store::AuditFilter;
use chrono::Utc;

/// Rows shown in the chat; above this the whole result is attached as CSV.
pub(crate) const SHOWN: usize = 20;
const DEFAULT_SINCE: chrono::Duration = chrono::Duration::hours(24);
const DEFAULT_N: i64 = 20;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let store = &ctx.services.store;
    let account_id = match ctx.args.user("user") {
        None => None,
        Some(_) => Some(super::admin::target(ctx).await?.id),
    };
    let since = Utc::now() - ctx.args.duration("since").unwrap_or(DEFAULT_SINCE);
    let filter = AuditFilter {
        account_id,
        command: ctx
            .args
            .text("command")
            .map(|c| c.trim_start_matches('/').to_ascii_lowercase()),
        since: Some(since),
        limit: ctx.args.integer("n").unwrap_or(DEFAULT_N),
    };
    let rows = store.search_audit(&filter).await?;
    let mut reply = Reply {
        visibility: Visibility::Private,
        ..Reply::default()
    };
    reply.blocks.push(Block::Title(ctx.tr(
        "admin-audit-title",
        &[
            ("since", &format::utc_minute(since)),
            ("count", &rows.len().to_string()),
        ],
    )));
    if rows.is_empty() {
        reply.blocks.push(Block::Paragraph(ctx.t("admin-audit-none")));
        return Ok(reply.into());
    }
    reply.blocks.push(Block::Table {
        headers: vec![
            ctx.t("audit-col-time"),
            ctx.t("admin-audit-col-who"),
            ctx.t("audit-col-command"),
            ctx.t("audit-col-outcome"),
        ],
        align: vec![Align::Left; 4],
        rows: rows
            .iter()
            .take(SHOWN)
            .map(|r| {
                vec![
                    format::utc_minute(r.at),
                    format!("{}:{}", r.platform, r.platform_user_id),
                    format!("/{}", r.command),
                    outcome_label(ctx, &r.outcome),
                ]
            })
            .collect(),
    });
    if rows.len() > SHOWN {
        reply.blocks.push(Block::Footer(ctx.tr(
            "admin-audit-attached",
            &[("shown", &SHOWN.to_string()), ("count", &rows.len().to_string())],
        )));
        reply.attachments.push(Attachment {
            filename: format!("audit-{}.csv", Utc::now().format("%Y%m%d-%H%M")),
            content_type: "text/csv".into(),
            data: chainsignal_core::export::audit_csv(&rows).into_bytes(),
        });
    }
    Ok(reply.into())
}
