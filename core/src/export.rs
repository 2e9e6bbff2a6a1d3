//! Exports of what the store keeps, in the report's CSV columns. Neither in `report`
//! nor in `store`: the store depends on report types (one way), and an export needs
//! both, so it sits above them.

use crate::report::CSV_HEADER;
use crate::store::HistoryRow;

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
