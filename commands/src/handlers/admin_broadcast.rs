//! `/admin broadcast TEXT`: a preview with Confirm / Cancel; on Confirm the text is kept
//! as a broadcast, which the scheduler fans out to every subscribed chat through its
//! outbox (exactly one delivery claimed per target, paced, resumed after a restart).
//! Bot admins only.

use crate::{Block, CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply};
use chrono::Utc;

/// The longest broadcast: one Telegram message with room for the title.
pub(crate) const MAX_CHARS: usize = 3500;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let text = ctx.args.text("text").unwrap_or_default().trim();
    if text.is_empty() {
        return Err(CommandError::user("admin-broadcast-empty"));
    }
    if text.chars().count() > MAX_CHARS {
        return Err(CommandError::user_with(
            "admin-broadcast-too-long",
            vec![("max", MAX_CHARS.to_string())],
        ));
    }
    let store = &ctx.services.store;
    let targets = store.all_targets().await?.len().to_string();
    match ctx.phase {
        Phase::Run => {
            let buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
            let mut reply = Reply::text(ctx.tr("admin-broadcast-preview", &[("count", &targets)]))
                .block(Block::Paragraph(text.to_string()));
            reply.buttons = buttons;
            Ok(reply.into())
        }
        Phase::Confirmed => {
            let by = format!("{}:{}", ctx.user.platform.as_str(), ctx.user.id);
            let id = store.create_broadcast(text, &by, Utc::now()).await?;
            tracing::info!(broadcast = id, targets = %targets, "broadcast queued");
            Ok(Reply::text(ctx.tr(
                "admin-broadcast-queued",
                &[("id", &id.to_string()), ("count", &targets)],
            ))
            .into())
        }
    }
}
