//! The SL/TP monitor's tick: every open position, prices read once per venue in one
//! request (`bookTicker?symbols=[…]`), and each position whose stop-loss, take-profit or
//! (paper, leveraged) liquidation price was crossed closed by whoever claims it first.
//! Across instances each close happens once: the claim is a conditional UPDATE, and the
//! close is recorded only by the claim's holder. A close that fails is retried with
//! backoff; its owner is told once.

use super::ledger::{mark_of, position_from};
use super::{Closed, Desk, DeskError, Mode};
use crate::exchange::BookTicker;
use crate::store::PositionRecord;
use crate::symbol::Symbol;
use crate::trading::{PositionSide, crosses_liquidation};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Symbols per `bookTicker?symbols=[…]` request (the URL stays short; lists go at once).
const SYMBOLS_PER_REQUEST: usize = 100;
/// Closes run at most this many at a time within one tick.
const CLOSE_CONCURRENCY: usize = 16;
/// The first retry of a failed close waits this long; each next one twice as long.
const RETRY_FIRST_SECS: i64 = 10;
const RETRY_MAX_SECS: i64 = 600;

/// What the owner of a position is told (queued as JSON in `owner_notices`, then sent).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    pub user_id: i64,
    pub kind: NoticeKind,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum NoticeKind {
    /// Closed by its SL or TP (`closed.position.close_reason`), or liquidated.
    Closed(Box<Closed>),
    /// Closing it failed; it will be retried (told once).
    CloseFailing {
        position: Box<PositionRecord>,
        /// `sl`, `tp`, `liquidation` or `limit`.
        reason: String,
    },
    /// An order whose answer was lost was found filled: this position was opened.
    FoundFilled(Box<PositionRecord>),
    /// An order whose answer was lost was never placed.
    NotPlaced { symbol: String },
    /// An order whose answer was lost cannot be looked up (its key was removed).
    Unverifiable { symbol: String },
    /// The daily loss limit was reached (told once per trading day); `next_day_local`
    /// is when the kill switch resets, in the account's zone.
    DailyLimit {
        check: Box<super::DailyLimitCheck>,
        next_day_local: String,
    },
}

/// The version of the JSON a notice is queued as ([`Notice::to_queued`]).
const QUEUED_VERSION: u32 = 1;

#[derive(serde::Serialize, serde::Deserialize)]
struct Queued {
    v: u32,
    notice: Notice,
}

/// A queued notice that does not read: written by another version of Chainsignal (a
/// newer instance may read it), or damaged.
#[derive(Debug, thiserror::Error)]
#[error("a queued notice does not read (version {version:?})")]
pub struct NoticeDecodeError {
    pub version: Option<u64>,
}

impl Notice {
    /// The notice as queued in `owner_notices`: versioned JSON, without what the message
    /// does not need (the Confirm token a position was opened with, close claims).
    pub fn to_queued(&self) -> Result<String, serde_json::Error> {
        let mut notice = self.clone();
        notice.scrub();
        serde_json::to_string(&Queued {
            v: QUEUED_VERSION,
            notice,
        })
    }

    /// A notice read back from [`Notice::to_queued`]'s JSON.
    pub fn from_queued(payload: &str) -> Result<Notice, NoticeDecodeError> {
        match serde_json::from_str::<Queued>(payload) {
            Ok(q) if q.v == QUEUED_VERSION => Ok(q.notice),
            Ok(q) => Err(NoticeDecodeError {
                version: Some(u64::from(q.v)),
            }),
            Err(_) => Err(NoticeDecodeError {
                version: serde_json::from_str::<serde_json::Value>(payload)
                    .ok()
                    .and_then(|v| v["v"].as_u64()),
            }),
        }
    }

    fn scrub(&mut self) {
        fn scrub(p: &mut PositionRecord) {
            p.open_token.clear();
            p.claimed_by = None;
            p.claim_until = None;
        }
        match &mut self.kind {
            NoticeKind::Closed(c) => scrub(&mut c.position),
            NoticeKind::CloseFailing { position, .. } | NoticeKind::FoundFilled(position) => scrub(position),
            NoticeKind::DailyLimit { check, .. } => {
                for c in &mut check.flattened {
                    scrub(&mut c.position);
                }
            }
            NoticeKind::NotPlaced { .. } | NoticeKind::Unverifiable { .. } => {}
        }
    }
}

/// What one tick did.
#[derive(Debug, Clone, Default)]
pub struct TickReport {
    pub positions: usize,
    pub symbols: usize,
    /// Price requests made (one per venue with positions).
    pub price_requests: usize,
    pub triggered: usize,
    pub closed: usize,
    pub failed: usize,
    pub notices: Vec<Notice>,
}

/// Why a position is to be closed now, if it is.
fn trigger(
    p: &crate::trading::Position,
    book: &BookTicker,
    mode: Mode,
    mmr: Decimal,
) -> Option<(&'static str, Option<Decimal>)> {
    let mark = mark_of(p.side, book);
    if mark <= Decimal::ZERO {
        return None;
    }
    if mode == Mode::Paper
        && p.lev.get() > 1
        && let Ok(Some(lp)) = p.liquidation_price(mmr)
        && crosses_liquidation(p.side, mark, lp)
    {
        return Some(("liquidation", Some(lp)));
    }
    let (sl_hit, tp_hit) = match p.side {
        PositionSide::Long => (
            p.sl.is_some_and(|sl| mark <= sl),
            p.tp.is_some_and(|tp| mark >= tp),
        ),
        PositionSide::Short => (
            p.sl.is_some_and(|sl| mark >= sl),
            p.tp.is_some_and(|tp| mark <= tp),
        ),
    };
    if sl_hit {
        Some(("sl", None))
    } else if tp_hit {
        Some(("tp", None))
    } else {
        None
    }
}

impl Desk {
    /// Best prices of `symbols` on `mode`'s venue: one request for all; when it fails
    /// (one delisted symbol fails the whole list), one request per symbol, so that one
    /// bad symbol does not blind the monitor to the others.
    async fn prices(
        &self,
        mode: Mode,
        symbols: &[crate::symbol::Symbol],
    ) -> Result<HashMap<String, BookTicker>, crate::exchange::ExchangeError> {
        let client = self.client(mode);
        match client.book_tickers(symbols).await {
            Ok(b) => Ok(b),
            Err(e @ crate::exchange::ExchangeError::RateLimited { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(venue = mode.as_str(), error = %e, "prices in one request failed; reading them one by one");
                let one = |s: &crate::symbol::Symbol| {
                    let s = s.clone();
                    async move { (s.as_str().to_string(), client.book_ticker(&s).await) }
                };
                let reads: Vec<_> = futures::stream::iter(symbols.iter().map(one))
                    .buffer_unordered(CLOSE_CONCURRENCY)
                    .collect()
                    .await;
                let mut out = HashMap::new();
                for (name, read) in reads {
                    match read {
                        Ok(b) => {
                            out.insert(name, b);
                        }
                        Err(e) => {
                            tracing::warn!(symbol = %name, error = %e, "no price for a position's symbol")
                        }
                    }
                }
                Ok(out)
            }
        }
    }

    /// One tick of the monitor at `now`.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, DeskError> {
        // The markets first (a small query), then their prices in lists of at most 100
        // symbols, all at once, while the positions themselves are read. A position
        // opened in between is seen on the next tick.
        let markets = self.store().open_markets().await?;
        let mut wanted: HashMap<Mode, Vec<Symbol>> = HashMap::new();
        for (venue, symbol) in markets {
            match Mode::parse(&venue) {
                Some(m) => wanted.entry(m).or_default().push(Symbol::from_normalized(symbol)),
                None => tracing::error!(venue = %venue, "open positions with an unknown venue"),
            }
        }
        let mut chunks: Vec<(Mode, Vec<Symbol>)> = Vec::new();
        let mut symbols = 0;
        for (mode, names) in wanted {
            symbols += names.len();
            chunks.extend(names.chunks(SYMBOLS_PER_REQUEST).map(|c| (mode, c.to_vec())));
        }
        let reads: Vec<_> = chunks
            .into_iter()
            .map(|(mode, chunk)| async move { (mode, self.prices(mode, &chunk).await) })
            .collect();
        let (rows, reads) = tokio::join!(
            self.store().monitor_positions(now),
            futures::future::join_all(reads)
        );
        let rows = rows?;
        let mut report = TickReport {
            positions: rows.len(),
            symbols,
            ..TickReport::default()
        };
        let mut books: HashMap<Mode, HashMap<String, BookTicker>> = HashMap::new();
        for (mode, read) in reads {
            report.price_requests += 1;
            match read {
                Ok(b) => books.entry(mode).or_default().extend(b),
                Err(e) => {
                    tracing::warn!(venue = mode.as_str(), error = %e, "the monitor could not read prices")
                }
            }
        }
        // What crossed, from the numbers; the whole row is read only for those.
        let mut crossed: Vec<(i64, &'static str, Option<Decimal>, BookTicker)> = Vec::new();
        for row in rows {
            let Some(mode) = Mode::parse(&row.venue) else {
                continue;
            };
            let Some(book) = books.get(&mode).and_then(|b| b.get(&row.symbol)) else {
                continue;
            };
            let position = match position_from(
                &row.side,
                row.leverage,
                &row.entry_price,
                &row.qty,
                &row.sl,
                &row.tp,
                &row.open_fee,
            ) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(position_id = row.id, error = %e, "a stored position does not read");
                    continue;
                }
            };
            if let Some((reason, lp)) = trigger(&position, book, mode, self.mmr_for(&row.symbol)) {
                crossed.push((row.id, reason, lp, book.clone()));
            }
        }
        let mut due: Vec<(PositionRecord, &'static str, Option<Decimal>, BookTicker)> =
            Vec::with_capacity(crossed.len());
        for (id, reason, lp, book) in crossed {
            match self.store().position(id).await {
                Ok(Some(row)) if row.status == "open" => due.push((row, reason, lp, book)),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(position_id = id, error = %e, "a crossed position could not be read")
                }
            }
        }
        report.triggered = due.len();
        let closes: Vec<_> = due
            .into_iter()
            .map(|(row, reason, lp, book)| self.close_due(row, reason, lp, book, now))
            .collect();
        let outcomes: Vec<_> = futures::stream::iter(closes)
            .buffer_unordered(CLOSE_CONCURRENCY)
            .collect()
            .await;
        for outcome in outcomes.into_iter().flatten() {
            match &outcome.kind {
                NoticeKind::Closed(_) => report.closed += 1,
                NoticeKind::CloseFailing { .. } => report.failed += 1,
                NoticeKind::FoundFilled(_)
                | NoticeKind::NotPlaced { .. }
                | NoticeKind::Unverifiable { .. }
                | NoticeKind::DailyLimit { .. } => {}
            }
            report.notices.push(outcome);
        }
        Ok(report)
    }

    /// Claim and close one triggered position; the notice for its owner, if any (none
    /// when another instance holds it, or a failure was told before).
    async fn close_due(
        &self,
        row: PositionRecord,
        reason: &'static str,
        liquidation: Option<Decimal>,
        book: BookTicker,
        now: DateTime<Utc>,
    ) -> Option<Notice> {
        let by = match self.claimant(row.id) {
            Ok(by) => by,
            Err(e) => {
                tracing::error!(error = %e, "no claimant name");
                return None;
            }
        };
        match self
            .store()
            .claim_close(row.id, &by, now, now + self.inner.settings.claim_for, false)
            .await
        {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::error!(position_id = row.id, error = %e, "could not claim a position's close");
                return None;
            }
        }
        match self
            .close_claimed(&row, &by, reason, liquidation, Some(&book))
            .await
        {
            Ok(closed) => {
                tracing::info!(position_id = row.id, reason, "position closed by the monitor");
                let notice = Notice {
                    user_id: row.user_id,
                    kind: NoticeKind::Closed(Box::new(closed)),
                };
                self.queue_notice(&notice, now).await;
                Some(notice)
            }
            Err(DeskError::Busy) => None,
            Err(e) => {
                let attempts = u32::try_from(row.close_attempts).unwrap_or(0).min(16);
                let wait = (RETRY_FIRST_SECS.saturating_mul(1 << attempts)).min(RETRY_MAX_SECS);
                let tell = !row.failure_told;
                tracing::warn!(position_id = row.id, reason, error = %e, retry_in_secs = wait, "closing a position failed");
                if let Err(se) = self
                    .store()
                    .release_close(row.id, &by, now + chrono::Duration::seconds(wait), tell)
                    .await
                {
                    tracing::error!(position_id = row.id, error = %se, "a failed close could not be recorded");
                    return None;
                }
                if !tell {
                    return None;
                }
                let notice = Notice {
                    user_id: row.user_id,
                    kind: NoticeKind::CloseFailing {
                        position: Box::new(row),
                        reason: reason.to_string(),
                    },
                };
                self.queue_notice(&notice, now).await;
                Some(notice)
            }
        }
    }

    /// Write `notice` to its owner's queue (`owner_notices`), from which the bot sends
    /// it: false (logged) when it could not be written.
    pub async fn queue_notice(&self, notice: &Notice, now: DateTime<Utc>) -> bool {
        let payload = match notice.to_queued() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(user_id = notice.user_id, error = %e, "a notice could not be written as JSON");
                return false;
            }
        };
        match self.store().queue_notice(notice.user_id, &payload, now).await {
            Ok(_) => true,
            Err(e) => {
                tracing::error!(user_id = notice.user_id, error = %e, "a notice for an account's owner could not be queued");
                false
            }
        }
    }
}
