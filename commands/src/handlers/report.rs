//! `/report [symbols…]`: the market report, kept as history.

use crate::report_view::{failure_code_summary, report_reply};
use crate::{CommandError, Ctx, Handled, symbols};

use chainsignal_core::report::{Report, ReportError};
use chainsignal_core::store::{Outcome, ReportOrigin};

/// How long a report's Refresh button works.
const REFRESH_TTL: chrono::Duration = chrono::Duration::days(7);

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let report = build(ctx).await?;
    let mut reply = report_reply(&report, ctx.locale, &ctx.services.i18n);
    if !report.rows.is_empty() {
        // Anyone in the chat may refresh the same symbols, in place.
        match ctx.rerun_button("action-refresh", &ctx.args, REFRESH_TTL).await {
            Ok(button) => reply.buttons.push(button),
            Err(e) => tracing::warn!(error = %e, "no Refresh button: the pending action was not stored"),
        }
    }
    Ok(Handled {
        reply,
        outcome: outcome(&report),
        detail: failure_code_summary(&report),
    })
}

/// The report for the invocation's symbols, kept in the history when it has rows.
pub(crate) async fn build(ctx: &Ctx<'_>) -> Result<Report, CommandError> {
    let services = ctx.services;
    let (symbols, invalid) = symbols::requested(services, &ctx.args.symbols("symbols"));
    let mut report = services.reports.build(&symbols).await;
    report.errors.splice(0..0, invalid);
    if !report.rows.is_empty() {
        let origin = ReportOrigin {
            origin: ctx.chat_ref.platform.as_str().into(),
            platform_chat_id: Some(ctx.chat_ref.id.clone()),
            user_id: ctx.user_id,
        };
        // Keeping history must not cost the user the report they asked for.
        if let Err(e) = services.store.save_report(&report, &origin).await {
            tracing::error!(error = %e, "could not store a report");
        }
    }
    Ok(report)
}

/// Ok when complete; the user's fault when only their symbols failed; failed otherwise.
pub(crate) fn outcome(report: &Report) -> Outcome {
    if report.errors.is_empty() {
        Outcome::Ok
    } else if report.errors.iter().all(|f| is_users_fault(&f.error)) {
        Outcome::UserError
    } else {
        Outcome::Failed
    }
}

fn is_users_fault(e: &ReportError) -> bool {
    matches!(
        e,
        ReportError::InvalidSymbol(_)
            | ReportError::TooManySymbols
            | ReportError::Market(chainsignal_core::MarketError::UnknownSymbol)
    )
}
