//! Orders whose outcome is unknown (sent, the answer lost, and the exchange did not show
//! them when asked at once): looked up again by their client id, never sent again. Found
//! filled, the position is written as if the answer had come; still unknown after
//! [`GIVE_UP_AFTER`], the order is marked failed. The owner is told either way.

use super::monitor::{Notice, NoticeKind};
use super::{Desk, DeskError, Mode};
use crate::exchange::ExchangeError;
use crate::store::OrderRecord;
use crate::symbol::Symbol;
use crate::trading::{Leverage, OrderRequest, PositionSide, SizeSpec};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// An unknown order is first looked at again this long after it was sent.
const FIRST_LOOK_AFTER_SECS: i64 = 15;
/// Not found by then: it was never placed.
pub const GIVE_UP_AFTER: Duration = Duration::minutes(10);
/// A pending order this old was abandoned by its sender.
const STALE_PENDING_SECS: i64 = 120;
/// At most this many unknown orders are looked up per tick.
const BATCH: i64 = 50;

impl Desk {
    /// Look up the unknown opening orders sent before `now − 15 s`.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<Vec<Notice>, DeskError> {
        let mut due = self
            .store()
            .orders_in_status(
                "unknown",
                "open",
                now - Duration::seconds(FIRST_LOOK_AFTER_SECS),
                BATCH,
            )
            .await?;
        // Still pending long after it was written: whoever sent it stopped half-way (a
        // crash, the database gone between the fill and its record).
        due.extend(
            self.store()
                .orders_in_status(
                    "pending",
                    "open",
                    now - Duration::seconds(STALE_PENDING_SECS),
                    BATCH,
                )
                .await?,
        );
        let mut notices = Vec::new();
        for order in due {
            if order.venue == Mode::Paper.as_str() {
                // A paper fill is written with its order: a pending one never filled.
                self.store()
                    .mark_order(order.id, "failed", Some("not_filled"), None, now)
                    .await?;
                continue;
            }
            match self.reconcile_open(&order, now).await {
                Ok(Some(n)) => {
                    self.queue_notice(&n, now).await;
                    notices.push(n);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(order_id = order.id, error = %e, "an unknown order could not be looked up")
                }
            }
        }
        Ok(notices)
    }

    async fn reconcile_open(
        &self,
        order: &OrderRecord,
        now: DateTime<Utc>,
    ) -> Result<Option<Notice>, DeskError> {
        let mode = Mode::parse(&order.venue).ok_or(DeskError::Corrupt("a stored venue does not read"))?;
        let token = order
            .client_order_id
            .strip_prefix('o')
            .ok_or(DeskError::Corrupt("an opening order without its token"))?;
        let symbol = Symbol::from_normalized(order.symbol.clone());
        let key = match self.api_key_by_id(order.user_id, mode, order.key_id).await {
            Ok(k) => k,
            // The key is gone or does not open: the order cannot be looked up. After the
            // grace time the owner is told to look on the exchange (not "never placed").
            Err(e @ (DeskError::NoKey(_) | DeskError::KeyDoesNotOpen | DeskError::NoVault)) => {
                if now - order.created_at < GIVE_UP_AFTER {
                    return Err(e);
                }
                self.store()
                    .mark_order(order.id, "failed", Some("unverifiable"), None, now)
                    .await?;
                return Ok(Some(Notice {
                    user_id: order.user_id,
                    kind: NoticeKind::Unverifiable {
                        symbol: order.symbol.clone(),
                    },
                }));
            }
            Err(e) => return Err(e),
        };
        match self
            .client(mode)
            .query_order(&key, &symbol, &order.client_order_id)
            .await
        {
            Ok(found) => {
                let request = request_of(order)?;
                let opened = self
                    .record_exchange_open(
                        order.user_id,
                        token,
                        &symbol,
                        &request,
                        order.id,
                        mode,
                        order.key_id,
                        &key,
                        found,
                    )
                    .await?;
                tracing::info!(
                    order_id = order.id,
                    position_id = opened.position.id,
                    "an unknown order was found filled"
                );
                Ok((!opened.existing).then(|| Notice {
                    user_id: order.user_id,
                    kind: NoticeKind::FoundFilled(Box::new(opened.position)),
                }))
            }
            Err(ExchangeError::OrderNotFound) if now - order.created_at >= GIVE_UP_AFTER => {
                self.store()
                    .mark_order(order.id, "failed", Some("not_placed"), None, now)
                    .await?;
                tracing::info!(order_id = order.id, "an unknown order was never placed");
                Ok(Some(Notice {
                    user_id: order.user_id,
                    kind: NoticeKind::NotPlaced {
                        symbol: order.symbol.clone(),
                    },
                }))
            }
            Err(ExchangeError::OrderNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The side, SL and TP an opening order was confirmed with (its stored request).
fn request_of(order: &OrderRecord) -> Result<OrderRequest, DeskError> {
    let bad = DeskError::Corrupt("a stored order request does not read");
    let v: serde_json::Value = serde_json::from_str(&order.request)
        .map_err(|_| DeskError::Corrupt("a stored order request does not read"))?;
    let side = v["position"].as_str().and_then(PositionSide::parse).ok_or(bad)?;
    let price = |name: &str| -> Result<Option<Decimal>, DeskError> {
        match v[name].as_str() {
            None => Ok(None),
            Some(s) => s
                .parse::<Decimal>()
                .map(Some)
                .map_err(|_| DeskError::Corrupt("a stored order price does not read")),
        }
    };
    Ok(OrderRequest {
        side,
        size: SizeSpec::Base(Decimal::ZERO),
        sl: price("sl")?,
        tp: price("tp")?,
        lev: Leverage::NONE,
    })
}
