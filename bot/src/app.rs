//! Wiring: config -> market data (with cache) -> report builder -> store -> commands.

use anyhow::Context;
use chainsignal_commands::summary::AiLimits;
use chainsignal_commands::{
    Access, AccessMode, Commands, I18n, Locale, Messengers, RateLimits, Services, SpotKeyCheck,
};
use chainsignal_core::ai::AiClient;
use chainsignal_core::config::{Config, describe_database_url};
use chainsignal_core::desk::{Desk, DeskSettings};
use chainsignal_core::exchange::Venue;
use chainsignal_core::market::{BinanceClient, CachedMarket, DemoMarket, MarketData, Source};
use chainsignal_core::report::ReportBuilder;
use chainsignal_core::schedule::ScheduleDef;
use chainsignal_core::store::{self, Store};
use chainsignal_core::{Clock, SystemClock};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// Everything a running Chainsignal holds.
#[derive(Debug, Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub commands: Commands,
    pub reports: ReportBuilder,
    pub i18n: Arc<I18n>,
}

/// The market data source `config` asks for (or `source` when given), behind the cache.
pub fn market(config: &Config, source: Source, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn MarketData>> {
    let inner: Arc<dyn MarketData> = match source {
        Source::Demo => Arc::new(DemoMarket::new(clock)),
        Source::Binance => Arc::new(
            BinanceClient::new(config.market.binance_settings()).context("building the Binance client")?,
        ),
    };
    Ok(Arc::new(CachedMarket::new(
        inner,
        Duration::from_secs(config.market.cache_ttl_secs),
    )))
}

impl App {
    /// Open the database (migrating it) and build the services. `source` overrides
    /// `market.source`; `database_url` overrides `DATABASE_URL` and the SQLite default.
    pub async fn build(
        config: Config,
        source: Option<Source>,
        database_url: Option<SecretString>,
    ) -> anyhow::Result<Self> {
        Self::build_with_clock(config, source, database_url, Arc::new(SystemClock)).await
    }

    /// As [`build`](Self::build), with "now" from `clock` (tests move it).
    pub async fn build_with_clock(
        config: Config,
        source: Option<Source>,
        database_url: Option<SecretString>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let source = source
            .or_else(|| Source::parse(&config.market.source))
            .unwrap_or(Source::Binance);
        let market = market(&config, source, clock.clone())?;
        let m = &config.market;
        let reports = ReportBuilder::new(
            market,
            clock.clone(),
            m.concurrency,
            m.hourly_candles,
            m.daily_candles,
        );
        let url = database_url.unwrap_or_else(|| config.database_url());
        // The store's errors are whole sentences (what, where, the fix): no context added.
        let store = store::open(&url, config.database.max_connections).await?;
        tracing::info!(
            database = describe_database_url(&url),
            source = source.as_str(),
            "ready"
        );
        let i18n = Arc::new(I18n::new());
        let ai_key = config.secrets.ai_api_key.clone();
        let ai = AiClient::new(config.ai.settings(ai_key)).context("building the AI client")?;
        let ai_limits = AiLimits {
            cooldown: chrono::Duration::seconds(config.ai.cooldown_secs as i64),
            user_daily_tokens: config.ai.user_daily_tokens,
            total_daily_tokens: config.ai.total_daily_tokens,
            max_answer_chars: config.ai.max_answer_chars,
        };
        let mode = match config.access.mode {
            chainsignal_core::config::AccessMode::Open => AccessMode::Open,
            chainsignal_core::config::AccessMode::Approval => AccessMode::Approval,
        };
        let access = Access::new(
            config.admins.telegram.clone(),
            config.admins.discord.clone(),
            mode,
            RateLimits {
                per_minute: config.limits.commands_per_minute,
            },
        );
        // Bad key material stops the start with a sentence that never shows the key.
        let vault = config.vault().context("the vault key")?.map(Arc::new);
        // Paper fills use the public market (`market.binance_url`); testnet and live
        // orders go to their exchange with the account's key.
        let desk = Desk::new(
            store.clone(),
            config.market.spot_settings(Venue::Live),
            config.market.spot_settings(Venue::Testnet),
            config.market.spot_settings(Venue::Live),
            vault.clone(),
            DeskSettings {
                clock: clock.clone(),
                mmr: config.risk.mmr,
                mmr_per_symbol: config
                    .risk
                    .mmr_per_symbol
                    .iter()
                    .map(|(s, m)| (s.to_ascii_uppercase(), *m))
                    .collect(),
                ..config.trading.desk_settings(&config.market.quote)
            },
        )
        .context("building the trading desk")?;
        let services = Services {
            desk,
            vault,
            // Keys are checked on the exchange they belong to: `market.binance_testnet_url`
            // or `market.binance_url` (live keys also for withdrawals off and an IP list).
            key_check: Arc::new(SpotKeyCheck::new(
                config.market.spot_settings(Venue::Testnet),
                config.market.spot_settings(Venue::Live),
            )),
            key_max_age_days: config.vault.max_age_days,
            form_url: config.http.form_base_url(),
            risk: config.risk.clone(),
            access,
            messengers: Messengers::default(),
            status: Arc::new(chainsignal_commands::status::Status::new()),
            version: env!("CARGO_PKG_VERSION"),
            store: store.clone(),
            reports: reports.clone(),
            i18n: i18n.clone(),
            watchlist: config.watchlist(),
            quote: config.market.quote.to_ascii_uppercase(),
            default_locale: Locale::from_tag(&config.chat.default_locale).unwrap_or_default(),
            ai,
            ai_limits,
            schedules: config
                .schedules()
                .iter()
                .map(|s| ScheduleDef::from_config(s, &config.market.quote))
                .collect::<Result<_, _>>()
                .context("a [[schedule]] of the config")?,
        };
        Ok(Self {
            config: Arc::new(config),
            store,
            commands: Commands::new(services),
            reports,
            i18n,
        })
    }
}
