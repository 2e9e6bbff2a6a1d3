//! `/summary [symbols…]`: the report's summary in the chat's language.

use crate::report_view::report_reply;
use crate::summary::{Asker, summarize};
use crate::{CommandError, Ctx, Handled};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let report = super::report::build(ctx).await?;
    if report.rows.is_empty() {
        // Nothing to summarize: the report's own answer says why.
        return Ok(Handled {
            reply: report_reply(&report, ctx.locale, &ctx.services.i18n),
            outcome: super::report::outcome(&report),
            detail: crate::report_view::failure_code_summary(&report),
        });
    }
    let asker = Asker {
        platform: ctx.user.platform.as_str(),
        user_id: &ctx.user.id,
    };
    let summary = summarize(ctx.services, &report, ctx.locale, Some(asker)).await?;
    Ok(Handled {
        reply: summary.reply,
        outcome: summary.outcome,
        detail: Some(summary.kind.code()),
    })
}
