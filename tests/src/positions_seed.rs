//! Open positions written straight through core's store API (an opening order, then
//! its fill and the position in one transaction), as the desk records them, for the
//! SL/TP monitor's tests and benchmark: no chat, no Confirm, any leverage.

use crate::fake_binance::{FakeBinance, MarketSpec};
use chainsignal_core::store::{Identity, NewOrder, NewPosition, OpenRecorded, OrderFill, Store, StoredRole};
use chrono::Utc;

/// BTCUSDT 50 000 / 50 010 (step 0.001, min 0.001, min notional 10) and ETHUSDT
/// 3 000 / 3 000.5 (step 0.0001, min notional 5) on `fake`: the markets the chat's
/// position tests trade.
pub fn add_markets_at_50k(fake: &FakeBinance) {
    fake.add_market(
        MarketSpec::new("BTCUSDT", "BTC", "USDT")
            .price("50000", "50010")
            .lot("0.001", "0.001", "9000")
            .min_notional("10"),
    );
    fake.add_market(
        MarketSpec::new("ETHUSDT", "ETH", "USDT")
            .price("3000", "3000.5")
            .lot("0.0001", "0.0001", "9000")
            .min_notional("5"),
    );
}

/// A trader reachable on Telegram as `telegram_id`: the account id.
pub async fn trader(store: &Store, telegram_id: i64) -> i64 {
    let identity = Identity {
        platform: "telegram".into(),
        platform_user_id: telegram_id.to_string(),
        display_name: Some(format!("trader {telegram_id}")),
        username: None,
    };
    let (account, _) = store
        .ensure_account(&identity, StoredRole::Trader)
        .await
        .expect("a trader account");
    account.id
}

/// One position to write (decimals as text, as stored).
#[derive(Debug, Clone)]
pub struct Seed<'a> {
    pub user_id: i64,
    /// `paper`, `testnet` or `live`.
    pub venue: &'a str,
    pub symbol: &'a str,
    /// `long` or `short`.
    pub side: &'a str,
    pub qty: &'a str,
    pub entry: &'a str,
    pub lev: i32,
    pub sl: Option<&'a str>,
    pub tp: Option<&'a str>,
    pub open_fee: &'a str,
    /// Unique per position (the Confirm token it was opened with).
    pub token: String,
}

/// Write `seed` as an opened position (its trading account created with 10000 USDT on
/// first use): the position's id.
pub async fn open(store: &Store, seed: &Seed<'_>) -> i64 {
    let now = Utc::now();
    let account = store
        .trading_account(seed.user_id, "10000", now)
        .await
        .expect("a trading account");
    let buy = seed.side == "long";
    let token = token_of(&seed.token);
    let order_id = store
        .insert_order(&NewOrder {
            user_id: seed.user_id,
            position_id: None,
            venue: seed.venue.into(),
            key_id: None,
            symbol: seed.symbol.into(),
            side: if buy { "BUY" } else { "SELL" }.into(),
            purpose: "open".into(),
            client_order_id: format!("o{token}"),
            quantity: seed.qty.into(),
            request: "{}".into(),
            created_at: now,
        })
        .await
        .expect("an opening order")
        .expect("a new client order id");
    let position = NewPosition {
        user_id: seed.user_id,
        venue: seed.venue.into(),
        key_id: None,
        paper_epoch: if seed.venue == "paper" {
            account.paper_epoch
        } else {
            0
        },
        symbol: seed.symbol.into(),
        side: seed.side.into(),
        qty: seed.qty.into(),
        entry_price: seed.entry.into(),
        leverage: seed.lev,
        sl: seed.sl.map(str::to_string),
        tp: seed.tp.map(str::to_string),
        open_fee: seed.open_fee.into(),
        opened_at: now,
        open_token: token.clone(),
    };
    let fill = OrderFill {
        exchange_order_id: None,
        executed_qty: seed.qty.into(),
        avg_price: seed.entry.into(),
        fee_usdt: seed.open_fee.into(),
        response: "{}".into(),
    };
    match store
        .record_open(order_id, &fill, &position, now)
        .await
        .expect("a recorded open")
    {
        OpenRecorded::Opened(id) | OpenRecorded::Existing(id) => id,
    }
}

/// The open token a seed's `token` is stored as: 32 hex characters, as a Confirm token
/// is (a close's client id is made from it).
pub fn token_of(name: &str) -> String {
    name.bytes()
        .map(|b| format!("{b:02x}"))
        .chain(std::iter::repeat_n("0".to_string(), 32))
        .collect::<String>()
        .chars()
        .take(32)
        .collect()
}
