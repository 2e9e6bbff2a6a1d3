//! Chainsignal's domain. Nothing here knows about Discord, Telegram or HTTP servers:
//! market data, the signed exchange client, indicators, reports, storage, configuration and time.

pub mod ai;
pub mod clock;
pub mod config;
pub mod desk;
pub mod exchange;
pub mod export;
pub mod indicators;
pub mod market;
pub mod pacing;
pub mod report;
pub mod schedule;
pub mod store;
pub mod symbol;
pub mod trading;
pub mod vault;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::Config;
pub use market::{Candle, Interval, MarketData, MarketError, Source};
pub use report::{Report, ReportBuilder, ReportRow, SymbolFailure};
pub use symbol::{Symbol, SymbolError};
