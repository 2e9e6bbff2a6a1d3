//! Exports of what the store keeps, in the report's CSV columns. Neither in `report`
//! nor in `store`: the store depends on report types (one way), and an export needs
//! both, so it sits above them.

use crate::report::CSV_HEADER;
use crate::store::{AuditRecord, HistoryRow};

/// The merged history CSV (what `chainsignal export reports` writes): the report's
/// id, time and source, then the columns of [`CSV_HEADER`], numbers at full precision.
pub fn history_csv(rows: &[HistoryRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = ["report_id", "generated_at", "source"]
        .into_iter()
        .chain(CSV_HEADER);
    let _ = w.write_record(header);
    for r in rows {
        let mut record = vec![
            r.report_id.to_string(),
            r.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.source.clone(),
            r.symbol.clone(),
        ];
        record.extend(r.numbers().iter().map(f64::to_string));
        let _ = w.write_record(&record);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The audit log as CSV (`chainsignal export audit`, `/admin audit` above 20 rows): one
/// line per row as stored. Arguments hold no secrets (secret options are written `***`).
pub fn audit_csv(rows: &[AuditRecord]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "id",
        "at",
        "account_id",
        "platform",
        "platform_user_id",
        "platform_chat_id",
        "command",
        "args",
        "outcome",
        "detail",
        "duration_ms",
        "request_id",
    ]);
    for r in rows {
        let _ = w.write_record([
            r.id.to_string(),
            r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            r.account_id.map(|a| a.to_string()).unwrap_or_default(),
            r.platform.clone(),
            r.platform_user_id.clone(),
            r.platform_chat_id.clone(),
            r.command.clone(),
            csv_safe(&r.args),
            r.outcome.clone(),
            r.detail.as_deref().map(csv_safe).unwrap_or_default(),
            r.duration_ms.to_string(),
            r.request_id.clone().unwrap_or_default(),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A cell a spreadsheet would not run as a formula (user text may start with `=`).
fn csv_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}
