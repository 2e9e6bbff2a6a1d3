//! `/admin status`: version, uptime, database kind and size, adapters connected, the
//! next run of each schedule, the last errors (kind and time only), AI tokens today,
//! open positions, pending approvals and owner notices waiting to be sent. Admins only.

use crate::{Block, CommandError, Ctx, Handled, Reply, Visibility, format};
use chainsignal_core::store::Backend;
use chrono::{Timelike, Utc};

/// What is shown for a figure that does not exist yet.
const NONE: &str = "—";

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let services = ctx.services;
    let status = &services.status;
    let now = Utc::now();
    let kind = match services.store.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let size = match services.store.size_bytes().await {
        Ok(bytes) => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
        Err(e) => {
            tracing::warn!(error = %e, "database size unavailable");
            NONE.into()
        }
    };
    let adapters = status.adapters();
    let adapters = if adapters.is_empty() {
        NONE.to_string()
    } else {
        adapters
            .iter()
            .map(|(name, up)| {
                let state = ctx.t(if *up {
                    "admin-status-connected"
                } else {
                    "admin-status-disconnected"
                });
                format!("{name} ({state})")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let midnight = now
        .with_hour(0)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let tokens = match services.store.ai_tokens_since(midnight, None).await {
        Ok(n) => n.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "AI token count unavailable");
            NONE.into()
        }
    };
    let approvals = match services
        .store
        .list_accounts(Some(chainsignal_core::store::StoredRole::Pending), 1, 0)
        .await
    {
        Ok((_, total)) => total.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "pending approvals unavailable for /admin status");
            NONE.into()
        }
    };
    let positions = match services.store.open_position_count(None).await {
        Ok(n) => n.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "open positions unavailable for /admin status");
            NONE.into()
        }
    };
    let given_up = services
        .store
        .given_up_notices(now - chrono::Duration::days(7))
        .await;
    let notices = match (services.store.pending_notices().await, given_up) {
        (Ok(n), Ok(0)) => n.to_string(),
        (Ok(n), Ok(g)) => ctx.tr(
            "admin-status-notices-given-up",
            &[("pending", &n.to_string()), ("given_up", &g.to_string())],
        ),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "owner notice counts unavailable for /admin status");
            NONE.into()
        }
    };
    let mut reply = Reply {
        visibility: Visibility::Private,
        ..Reply::default()
    };
    reply.blocks.push(Block::Title(ctx.t("admin-status-title")));
    reply.blocks.push(Block::Fields(vec![
        (ctx.t("admin-status-version"), services.version.to_string()),
        (ctx.t("admin-status-uptime"), uptime(now - status.started())),
        (ctx.t("admin-status-database"), format!("{kind}, {size}")),
        (ctx.t("admin-status-adapters"), adapters),
        (ctx.t("admin-status-ai-tokens"), tokens),
        (ctx.t("admin-status-positions"), positions),
        (ctx.t("admin-status-approvals"), approvals),
        (ctx.t("admin-status-notices"), notices),
    ]));

    let schedules = super::schedule::all(ctx).await?;
    let next: Vec<String> = schedules
        .iter()
        .map(|s| {
            let at = s
                .cron
                .next_after(s.tz, now)
                .map(|t| format!("{} UTC", format::utc_minute(t)))
                .unwrap_or_else(|| NONE.into());
            format!("{}: {at}", s.name)
        })
        .collect();
    reply
        .blocks
        .push(Block::Paragraph(ctx.t("admin-status-schedules")));
    reply.blocks.push(if next.is_empty() {
        Block::Paragraph(NONE.into())
    } else {
        Block::List(next)
    });

    let errors: Vec<String> = status
        .errors()
        .iter()
        .map(|e| format!("{} UTC: {}", format::utc_minute(e.at), e.kind))
        .collect();
    reply.blocks.push(Block::Paragraph(ctx.t("admin-status-errors")));
    reply.blocks.push(if errors.is_empty() {
        Block::Paragraph(NONE.into())
    } else {
        Block::List(errors)
    });
    Ok(reply.into())
}

/// `3d 4h 5m`, `12m`.
fn uptime(d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, mins / 60 % 24, mins % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h {minutes}m"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uptime_reads_well() {
        assert_eq!(super::uptime(chrono::Duration::seconds(59)), "0m");
        assert_eq!(super::uptime(chrono::Duration::minutes(125)), "2h 5m");
        assert_eq!(
            super::uptime(chrono::Duration::minutes(3 * 1440 + 61)),
            "3d 1h 1m"
        );
    }
}
