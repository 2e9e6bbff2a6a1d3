//! Reports: what `/report`, the scheduler and the CLI generated, rows and failed symbols
//! included; the merged history that `export reports` writes.

use super::engine::{Engine, WriteTx, sql};
use super::{HistoryRow, ReportOrigin, StoreError, StoredReport};
use crate::report::Report;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Store a report with its rows and failed symbols; returns its id.
    async fn save_report(&self, report: &Report, origin: &ReportOrigin) -> Result<i64, StoreError>;
    async fn report(&self, id: i64) -> Result<Option<StoredReport>, StoreError>;
    /// Every stored row generated at or after `since`, oldest first.
    async fn report_history(&self, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryRow>, StoreError>;
}

#[async_trait]
impl<E: Engine> ReportStore for E {
    async fn save_report(&self, report: &Report, origin: &ReportOrigin) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let (id,): (i64,) = sql(
            "INSERT INTO reports (generated_at, source, origin, platform_chat_id, user_id) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(report.generated_at)
        .bind(report.source.as_str())
        .bind(&origin.origin)
        .bind(&origin.platform_chat_id)
        .bind(origin.user_id)
        .fetch_one(&mut tx)
        .await?;
        for (position, row) in report.rows.iter().enumerate() {
            sql(
                "INSERT INTO report_rows (report_id, position, symbol, close, change_24h_pct, \
                 change_3d_pct, change_7d_pct, atr_3d_pct, atr_7d_pct) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(id)
            .bind(position as i32)
            .bind(row.symbol.as_str())
            .bind(row.close)
            .bind(row.change_24h_pct)
            .bind(row.change_3d_pct)
            .bind(row.change_7d_pct)
            .bind(row.atr_3d_pct)
            .bind(row.atr_7d_pct)
            .execute(&mut tx)
            .await?;
        }
        for (position, failure) in report.errors.iter().enumerate() {
            sql(
                "INSERT INTO report_errors (report_id, position, symbol, error_code) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(position as i32)
            .bind(&failure.symbol)
            .bind(failure.error.code())
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn report(&self, id: i64) -> Result<Option<StoredReport>, StoreError> {
        let header: Option<(DateTime<Utc>, String, String)> =
            sql("SELECT generated_at, source, origin FROM reports WHERE id = $1")
                .bind(id)
                .read_optional(self)
                .await?;
        let Some((generated_at, source, origin)) = header else {
            return Ok(None);
        };
        let rows: Vec<HistoryRow> = sql(concat!(
            "SELECT r.id AS report_id, r.generated_at, r.source, w.symbol, w.close, ",
            "w.change_24h_pct, w.change_3d_pct, w.change_7d_pct, w.atr_3d_pct, w.atr_7d_pct ",
            "FROM reports r JOIN report_rows w ON w.report_id = r.id ",
            "WHERE r.id = $1 ORDER BY w.position"
        ))
        .bind(id)
        .read_all(self)
        .await?;
        let errors: Vec<(String, String)> =
            sql("SELECT symbol, error_code FROM report_errors WHERE report_id = $1 ORDER BY position")
                .bind(id)
                .read_all(self)
                .await?;
        Ok(Some(StoredReport {
            id,
            generated_at,
            source,
            origin,
            rows,
            errors,
        }))
    }

    async fn report_history(&self, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryRow>, StoreError> {
        let since = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        Ok(sql(concat!(
            "SELECT r.id AS report_id, r.generated_at, r.source, w.symbol, w.close, ",
            "w.change_24h_pct, w.change_3d_pct, w.change_7d_pct, w.atr_3d_pct, w.atr_7d_pct ",
            "FROM reports r JOIN report_rows w ON w.report_id = r.id ",
            "WHERE r.generated_at >= $1 ORDER BY r.generated_at, r.id, w.position"
        ))
        .bind(since)
        .read_all(self)
        .await?)
    }
}
