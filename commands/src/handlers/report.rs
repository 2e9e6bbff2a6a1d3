//! `/report [symbols…]`: the market report, kept as history.

use crate::report_view::{failure_code_summary, report_reply};
use crate::{CommandError, Ctx, Handled, MAX_REPORT_SYMBOLS};
use chainsignal_core::report::{ReportError, SymbolFailure};
use chainsignal_core::store::{Outcome, ReportOrigin};
use chainsignal_core::symbol::Symbol;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let services = ctx.services;
    let args = &ctx.invocation.args;
    if args.len() > MAX_REPORT_SYMBOLS {
        return Err(CommandError::user_with(
            "report-too-many-symbols",
            vec![("max", MAX_REPORT_SYMBOLS.to_string())],
        ));
    }
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut invalid: Vec<SymbolFailure> = Vec::new();
    if args.is_empty() {
        symbols = services.watchlist.clone();
    }
    for arg in args {
        match Symbol::parse(arg, &services.quote) {
            Ok(s) if !symbols.contains(&s) => symbols.push(s),
            Ok(_) => {}
            Err(e) => invalid.push(SymbolFailure {
                // What the user typed, cut short: it is shown back to them.
                symbol: arg.chars().take(24).collect(),
                error: ReportError::InvalidSymbol(e),
            }),
        }
    }
    let mut report = services.reports.build(&symbols).await;
    report.errors.splice(0..0, invalid);

    if !report.rows.is_empty() {
        let origin = ReportOrigin {
            origin: ctx.invocation.chat.platform.as_str().into(),
            platform_chat_id: Some(ctx.invocation.chat.id.clone()),
            user_id: ctx.user_id,
        };
        // Keeping history must not cost the user the report they asked for.
        if let Err(e) = services.store.save_report(&report, &origin).await {
            tracing::error!(error = %e, "could not store a report");
        }
    }
    let outcome = if report.errors.is_empty() {
        Outcome::Ok
    } else if report.errors.iter().all(|f| is_users_fault(&f.error)) {
        Outcome::UserError
    } else {
        Outcome::Failed
    };
    Ok(Handled {
        reply: report_reply(&report, ctx.locale, &services.i18n),
        outcome,
        detail: failure_code_summary(&report),
    })
}

fn is_users_fault(e: &ReportError) -> bool {
    matches!(
        e,
        ReportError::InvalidSymbol(_) | ReportError::Market(chainsignal_core::MarketError::UnknownSymbol)
    )
}
