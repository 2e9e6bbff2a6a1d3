//! A [`Report`] as people see it: a titled table, what was left out and why, the
//! source and time, the CSV attached. Shared by `/report`, the CLI and the scheduler.

use crate::format;
use crate::i18n::{I18n, Locale};
use crate::reply::{Align, Attachment, Block, Reply, Tone, Visibility};
use chainsignal_core::market::Source;
use chainsignal_core::report::{Report, SymbolFailure};

/// The localized sentence for a symbol left out of a report.
pub fn failure_message(failure: &SymbolFailure, locale: Locale, i18n: &I18n) -> String {
    let key = match failure.error.code() {
        "invalid_symbol" => "symbol-invalid",
        "unknown_symbol" => "symbol-unknown",
        "rate_limited" => "symbol-rate-limited",
        "timeout" => "symbol-timeout",
        "exchange_unavailable" => "symbol-exchange-unavailable",
        "exchange_rejected" => "symbol-exchange-rejected",
        "insufficient_history" => "symbol-insufficient-history",
        "too_many_symbols" => "symbol-too-many",
        _ => "symbol-invalid-data",
    };
    let max = chainsignal_core::symbol::MAX_REPORT_SYMBOLS.to_string();
    i18n.tr(locale, key, &[("symbol", &failure.symbol), ("max", &max)])
}

/// `SYMBOL:code` pairs of the failures, for the audit log.
pub fn failure_code_summary(report: &Report) -> Option<String> {
    (!report.errors.is_empty()).then(|| {
        report
            .errors
            .iter()
            .map(|f| format!("{}:{}", f.symbol, f.error.code()))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The report table alone.
pub fn report_table(report: &Report, locale: Locale, i18n: &I18n) -> Block {
    let headers = [
        "report-col-symbol",
        "report-col-close",
        "report-col-24h",
        "report-col-3d",
        "report-col-7d",
        "report-col-atr3",
        "report-col-atr7",
    ]
    .iter()
    .map(|k| i18n.t(locale, k))
    .collect();
    let mut align = vec![Align::Left];
    align.extend([Align::Right; 6]);
    let rows = report
        .rows
        .iter()
        .map(|r| {
            vec![
                r.symbol.to_string(),
                format::price(r.close, locale),
                format::percent(r.change_24h_pct, locale),
                format::percent(r.change_3d_pct, locale),
                format::percent(r.change_7d_pct, locale),
                format::percent_unsigned(r.atr_3d_pct, locale),
                format::percent_unsigned(r.atr_7d_pct, locale),
            ]
        })
        .collect();
    Block::Table { headers, align, rows }
}

pub fn csv_filename(report: &Report) -> String {
    format!("report-{}.csv", report.generated_at.format("%Y%m%d-%H%M"))
}

/// The whole reply for a report.
pub fn report_reply(report: &Report, locale: Locale, i18n: &I18n) -> Reply {
    let demo = report.source == Source::Demo;
    let mut reply = Reply::default();
    if report.rows.is_empty() {
        reply.visibility = Visibility::Private;
        reply.tone = Tone::Error;
        reply
            .blocks
            .push(Block::Paragraph(i18n.t(locale, "report-no-rows")));
    } else {
        let title = if demo { "report-title-demo" } else { "report-title" };
        reply.blocks.push(Block::Title(i18n.t(locale, title)));
        reply.blocks.push(report_table(report, locale, i18n));
        let mean_24h: f64 =
            report.rows.iter().map(|r| r.change_24h_pct).sum::<f64>() / report.rows.len() as f64;
        reply.tone = if mean_24h >= 0.0 { Tone::Up } else { Tone::Down };
        reply.attachments.push(Attachment {
            filename: csv_filename(report),
            content_type: "text/csv".into(),
            data: report.to_csv().into_bytes(),
        });
    }
    if !report.errors.is_empty() {
        let list = report
            .errors
            .iter()
            .map(|f| failure_message(f, locale, i18n))
            .collect();
        if !report.rows.is_empty() {
            reply
                .blocks
                .push(Block::Paragraph(i18n.t(locale, "report-not-included")));
        }
        reply.blocks.push(Block::List(list));
    }
    let source = i18n.t(
        locale,
        if demo {
            "report-source-demo"
        } else {
            "report-source-binance"
        },
    );
    let time = format::utc_minute(report.generated_at);
    reply.blocks.push(Block::Footer(i18n.tr(
        locale,
        "report-footer",
        &[("source", &source), ("time", &time)],
    )));
    reply
}

/// The line the demo starts with: what this is and that the prices are synthetic.
pub fn demo_banner(i18n: &I18n, locale: Locale) -> String {
    i18n.t(locale, "demo-banner")
}
