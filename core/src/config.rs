//! Layered configuration: defaults, then `chainsignal.toml` (or `--config FILE`), then
//! `CHAINSIGNAL_<SECTION>__<KEY>` environment variables. Secrets come only from the
//! environment and are redacted in `Debug`.

use crate::market::BinanceSettings;
/// `[[schedule]]` tables: defined (and validated) with the schedules themselves.
pub use crate::schedule::ScheduleConfig;
use crate::trading::{DEFAULT_MMR, LimitOverrides, Profile, RiskLimits};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG_FILE: &str = "chainsignal.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub market: MarketConfig,
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub chat: ChatConfig,
    pub telegram: TelegramConfig,
    pub ai: AiConfig,
    /// `[[schedule]]` tables; absent: the report at 06:00 and 16:00 Europe/Warsaw.
    pub schedule: Option<Vec<ScheduleConfig>>,
    pub scheduler: SchedulerConfig,
    pub alerts: AlertsConfig,
    pub admins: AdminsConfig,
    pub access: AccessConfig,
    pub discord: DiscordConfig,
    pub shutdown: ShutdownConfig,
    pub limits: LimitsConfig,
    pub vault: VaultConfig,
    pub trading: TradingConfig,
    /// `[risk]`: maintenance margin rates and the profiles' limits (issue 16).
    pub risk: RiskConfig,
    #[serde(skip)]
    pub secrets: Secrets,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketConfig {
    /// `binance` or `demo`.
    pub source: String,
    pub binance_url: String,
    /// The Binance spot testnet (play money), where `binance-testnet` keys trade.
    pub binance_testnet_url: String,
    /// Quote asset appended to a bare symbol (`btc` -> `BTCUSDT`).
    pub quote: String,
    /// Default watchlist; bare assets get `quote` appended.
    pub watchlist: Vec<String>,
    pub cache_ttl_secs: u64,
    /// Symbols fetched at once.
    pub concurrency: usize,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub max_retries: u32,
    pub backoff_ms: u64,
    pub max_retry_after_secs: u64,
    pub weight_soft_limit: u32,
    pub hourly_candles: u16,
    pub daily_candles: u16,
}

impl Default for MarketConfig {
    fn default() -> Self {
        Self {
            source: "binance".into(),
            binance_url: "https://api.binance.com".into(),
            binance_testnet_url: "https://testnet.binance.vision".into(),
            quote: "USDT".into(),
            watchlist: ["BTC", "ETH", "SOL", "BNB", "TAO", "DASH", "HEMI", "PYTH"]
                .map(String::from)
                .to_vec(),
            cache_ttl_secs: 30,
            concurrency: 8,
            connect_timeout_ms: 3_000,
            request_timeout_ms: 10_000,
            max_retries: 2,
            backoff_ms: 250,
            max_retry_after_secs: 10,
            weight_soft_limit: 5_000,
            hourly_candles: 200,
            daily_candles: 365,
        }
    }
}

impl MarketConfig {
    pub fn binance_settings(&self) -> BinanceSettings {
        BinanceSettings {
            base_url: self.binance_url.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_retries: self.max_retries,
            backoff: Duration::from_millis(self.backoff_ms),
            max_retry_after: Duration::from_secs(self.max_retry_after_secs),
            weight_soft_limit: self.weight_soft_limit,
        }
    }

    /// The signed spot client's settings for `venue`: `binance_url` for live,
    /// `binance_testnet_url` for the testnet, with the same timeouts and retries.
    pub fn spot_settings(&self, venue: crate::exchange::Venue) -> crate::exchange::SpotSettings {
        let base_url = match venue {
            crate::exchange::Venue::Live => &self.binance_url,
            crate::exchange::Venue::Testnet => &self.binance_testnet_url,
        };
        crate::exchange::SpotSettings {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            max_retries: self.max_retries,
            backoff: Duration::from_millis(self.backoff_ms),
            ..crate::exchange::SpotSettings::new(venue, base_url.clone())
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// The SQLite file used when `DATABASE_URL` is not set.
    pub sqlite_path: PathBuf,
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            sqlite_path: PathBuf::from("data/chainsignal.sqlite"),
            max_connections: 5,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub enabled: bool,
    pub bind: String,
    /// The public `https://` base URL of this HTTP server behind its reverse proxy, e.g.
    /// `https://bot.example.com`: `/keys add` on Telegram then answers with a one-time
    /// link to `{public_url}/keys/form/TOKEN`. Unset: no form, the private-chat fallback.
    pub public_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: "127.0.0.1:8080".into(),
            public_url: None,
        }
    }
}

impl HttpConfig {
    /// `public_url` without a trailing `/`, when set and the server is on.
    pub fn form_base_url(&self) -> Option<String> {
        let url = self.public_url.as_deref()?.trim();
        (self.enabled && !url.is_empty()).then(|| url.trim_end_matches('/').to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `chainsignal=debug,sqlx=warn`; `RUST_LOG` wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Language of a new chat when the platform tells none (`en` or `pl`).
    pub default_locale: String,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            default_locale: "en".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    /// getUpdates long polling: works anywhere, one instance per token.
    #[default]
    Polling,
    /// Telegram POSTs updates to `webhook_url`, served by the bot's own HTTP server.
    Webhook,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The Bot API server (a local Bot API server or a test fake elsewhere).
    pub api_url: String,
    pub mode: TelegramMode,
    /// Webhook mode: the public HTTPS URL Telegram calls, e.g. https://bot.example.com/telegram/webhook.
    pub webhook_url: String,
    /// Webhook mode: the path of that URL on the bot's own HTTP server (`http.bind`).
    pub webhook_path: String,
    /// Long polling: how long one getUpdates waits for news.
    pub poll_timeout_secs: u64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            api_url: "https://api.telegram.org".into(),
            mode: TelegramMode::Polling,
            webhook_url: String::new(),
            webhook_path: "/telegram/webhook".into(),
            poll_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiConfig {
    /// Any OpenAI-compatible API: Groq (default), `https://api.openai.com/v1`, a local
    /// Ollama at `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: f32,
    /// For a whole call, retries included.
    pub timeout_secs: u64,
    /// A user waits this long between two summaries that ask the model.
    pub cooldown_secs: u64,
    /// Tokens (prompt + completion) a user may spend per UTC day.
    pub user_daily_tokens: i64,
    /// Tokens all users together may spend per UTC day.
    pub total_daily_tokens: i64,
    /// The model's answer is cut to this many characters.
    pub max_answer_chars: usize,
}

impl Default for AiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.groq.com/openai/v1".into(),
            model: "llama-3.1-8b-instant".into(),
            max_tokens: 500,
            temperature: 0.3,
            timeout_secs: 30,
            cooldown_secs: 60,
            user_daily_tokens: 20_000,
            total_daily_tokens: 500_000,
            max_answer_chars: 1_800,
        }
    }
}

impl AiConfig {
    pub fn settings(&self, api_key: Option<SecretString>) -> crate::ai::AiSettings {
        crate::ai::AiSettings {
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            timeout: Duration::from_secs(self.timeout_secs),
            api_key,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchedulerConfig {
    pub enabled: bool,
    /// A slot missed while the bot was down runs at start-up when at most this old.
    pub grace_minutes: i64,
    /// How long a claimed slot stays ours without finishing before another instance may
    /// take it over.
    pub lease_secs: i64,
    /// How often due slots are looked for.
    pub tick_secs: u64,
    /// A target refused (403/404) this many times in a row is disabled.
    pub max_failures: i64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            grace_minutes: 15,
            lease_secs: 120,
            tick_secs: 20,
            max_failures: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    pub enabled: bool,
    pub interval_secs: u64,
    /// A move of at least this percent over the last hour is an alert.
    pub move_pct: f64,
    /// ATR 3D at least this many times ATR 7D is a volatility alert.
    pub atr_ratio: f64,
    /// At most one alert per symbol and direction within this time.
    pub cooldown_secs: i64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_secs: 300,
            move_pct: 3.0,
            atr_ratio: 1.5,
            cooldown_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShutdownConfig {
    /// On SIGTERM, commands and deliveries in flight get this long to finish.
    pub timeout_secs: u64,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self { timeout_secs: 10 }
    }
}

/// Per-user limits of the commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Runs of one command by one person per minute (0: no limit). The console is not
    /// limited. `/summary` also keeps its own cooldown between AI calls (`ai.cooldown_secs`).
    pub commands_per_minute: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            commands_per_minute: 30,
        }
    }
}

/// Positions on paper and on the exchange (`[trading]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TradingConfig {
    /// How far a paper market fill moves against the trader from the best price.
    pub paper_slippage_bps: u32,
    /// Paper fee on each side's notional (10 = 0.1 %).
    pub paper_fee_bps: u32,
    /// A new or reset paper account's equity, in the quote asset (USDT).
    pub paper_equity: u64,
    /// How often the SL/TP monitor reads prices and closes what crossed.
    pub monitor_secs: u64,
    /// How long one private notice to an account's owner may take to send. A notice is
    /// claimed for twice this: one whose sender died is sent by another instance then.
    /// A failed send is tried again after this, doubling each time (at most an hour),
    /// for about a day.
    pub notice_timeout_secs: u64,
    /// Whether `/mode live` may be granted at all (an admin still enables each account).
    pub live_enabled: bool,
}

impl TradingConfig {
    /// What the desk needs of `[trading]`; prices are valued in `quote`.
    pub fn desk_settings(&self, quote: &str) -> crate::desk::DeskSettings {
        use rust_decimal::Decimal;
        crate::desk::DeskSettings {
            paper: crate::trading::PaperSettings {
                slippage_bps: Decimal::from(self.paper_slippage_bps),
                fee_bps: Decimal::from(self.paper_fee_bps),
                starting_equity: Decimal::from(self.paper_equity),
            },
            live_enabled: self.live_enabled,
            quote: quote.to_ascii_uppercase(),
            ..crate::desk::DeskSettings::default()
        }
    }
}

impl Default for TradingConfig {
    fn default() -> Self {
        Self {
            paper_slippage_bps: 2,
            paper_fee_bps: 10,
            paper_equity: 10_000,
            monitor_secs: 10,
            notice_timeout_secs: 30,
            live_enabled: false,
        }
    }
}

/// Who may use the bot (`[access]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    pub mode: AccessMode,
}

/// What new people are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessMode {
    /// New people are traders.
    #[default]
    Open,
    /// New people are pending: /start, /help, /link only, until an admin approves them.
    Approval,
}

/// The owners, by platform user id (the console is an owner too); they cannot be
/// demoted from chat.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminsConfig {
    #[serde(deserialize_with = "ids")]
    pub telegram: Vec<String>,
    #[serde(deserialize_with = "ids")]
    pub discord: Vec<String>,
}

/// Ids written as numbers or as strings.
fn ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        N(i64),
        S(String),
    }
    Ok(Vec::<Id>::deserialize(d)?
        .into_iter()
        .map(|i| match i {
            Id::N(n) => n.to_string(),
            Id::S(s) => s,
        })
        .collect())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// REST and gateway discovery (`/api/v10` is appended); a private gateway or a test
    /// fake elsewhere. The bot starts when `DISCORD_TOKEN` is set.
    pub api_url: String,
    /// Register the slash commands in this guild only (instant, for testing); global otherwise.
    pub guild_id: Option<u64>,
    /// Discord webhook URLs that receive every scheduled report (also `DISCORD_WEBHOOK`).
    /// They carry a token: keep the config file private. Never logged.
    #[serde(skip_serializing)]
    pub webhooks: Vec<SecretString>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            api_url: "https://discord.com".into(),
            guild_id: None,
            webhooks: Vec::new(),
        }
    }
}

/// The vault sealing exchange API keys. Its keys come from `CHAINSIGNAL_VAULT_KEY`,
/// `CHAINSIGNAL_VAULT_KEY_2`, … or from `key_file` (one key per line: `N:base64` is
/// version N; bare lines are numbered in order); without any, `/keys` is off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VaultConfig {
    pub key_file: Option<PathBuf>,
    /// A key older than this many days is flagged in `/keys list`, counted as old in
    /// `/admin keys`, and its owner reminded once a week to rotate it.
    pub max_age_days: u32,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            max_age_days: 90,
        }
    }
}

/// `[risk]`: the maintenance margin rate of liquidation prices (default 0.004, per
/// symbol in `[risk.mmr_per_symbol]`) and the risk profiles' limits: each field of
/// `[risk.profiles.conservative|model2|loose]` replaces that profile's default (the
/// table of issue 16, [`RiskLimits::defaults`]); absent fields keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Maintenance margin rate of a symbol not in `mmr_per_symbol`: 0 to below 1.
    pub mmr: Decimal,
    /// By symbol in its full form (`BTCUSDT = 0.004`).
    pub mmr_per_symbol: BTreeMap<String, Decimal>,
    pub profiles: RiskProfilesConfig,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            mmr: DEFAULT_MMR,
            mmr_per_symbol: BTreeMap::new(),
            profiles: RiskProfilesConfig::default(),
        }
    }
}

/// `[risk.profiles.*]`: the operator's changes to each profile's default limits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskProfilesConfig {
    pub conservative: LimitOverrides,
    pub model2: LimitOverrides,
    pub loose: LimitOverrides,
}

impl RiskProfilesConfig {
    pub fn get(&self, profile: Profile) -> &LimitOverrides {
        match profile {
            Profile::Conservative => &self.conservative,
            Profile::Model2 => &self.model2,
            Profile::Loose => &self.loose,
        }
    }
}

impl RiskConfig {
    /// The limits of `profile` as configured: its defaults with the operator's fields.
    /// (An account's own overrides go on top: [`crate::trading::effective_limits`].)
    pub fn limits_for(&self, profile: Profile) -> RiskLimits {
        self.profiles.get(profile).apply(RiskLimits::defaults(profile))
    }

    /// The maintenance margin rate of `symbol` (`BTCUSDT`): its own, or `mmr`.
    pub fn mmr_for(&self, symbol: &str) -> Decimal {
        self.mmr_per_symbol
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(symbol))
            .map_or(self.mmr, |(_, m)| *m)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mmr_ok = |m: Decimal| m >= Decimal::ZERO && m < Decimal::ONE;
        if !mmr_ok(self.mmr) {
            return Err(ConfigError::Invalid(format!(
                "risk.mmr must be at least 0 and below 1 (0.004 is 0.4 %), not {}",
                self.mmr
            )));
        }
        for (symbol, mmr) in &self.mmr_per_symbol {
            let shown: String = symbol.chars().take(40).collect();
            if crate::symbol::Symbol::parse_normalized(symbol).is_err() {
                return Err(ConfigError::Invalid(format!(
                    "risk.mmr_per_symbol: {shown:?} is not a full symbol in capitals, like BTCUSDT"
                )));
            }
            if !mmr_ok(*mmr) {
                return Err(ConfigError::Invalid(format!(
                    "risk.mmr_per_symbol.{shown} must be at least 0 and below 1 (0.004 is 0.4 %), not {mmr}"
                )));
            }
        }
        for profile in Profile::ALL {
            if let Err(e) = self.profiles.get(profile).validate() {
                return Err(ConfigError::Invalid(format!(
                    "risk.profiles.{}.{e}",
                    profile.as_str()
                )));
            }
        }
        Ok(())
    }
}

impl Config {
    /// The vault this config describes; `None` when no key is configured.
    pub fn vault(&self) -> Result<Option<crate::vault::Vault>, crate::vault::VaultError> {
        crate::vault::Vault::configured(&self.secrets.vault_keys, self.vault.key_file.as_deref())
    }
}

/// Secrets, read only from the environment. `Debug` prints `[REDACTED]`.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub discord_token: Option<SecretString>,
    pub telegram_token: Option<SecretString>,
    /// Webhook mode: the `secret_token` Telegram sends back; derived from the bot token when unset.
    pub telegram_webhook_secret: Option<SecretString>,
    pub ai_api_key: Option<SecretString>,
    /// `CHAINSIGNAL_VAULT_KEY` (version 1), `CHAINSIGNAL_VAULT_KEY_2`, …: base64 keys.
    pub vault_keys: Vec<(u32, SecretString)>,
    pub database_url: Option<SecretString>,
    /// `DISCORD_WEBHOOK`: a webhook URL receiving scheduled reports.
    pub discord_webhook: Option<SecretString>,
}

impl Secrets {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let secret = |k: &str| get(k).filter(|v| !v.trim().is_empty()).map(SecretString::from);
        Self {
            discord_token: secret("DISCORD_TOKEN"),
            telegram_token: secret("TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret: secret("TELEGRAM_WEBHOOK_SECRET"),
            ai_api_key: secret("AI_API_KEY").or_else(|| secret("GROQ_API_KEY")),
            vault_keys: crate::vault::env_keys(&get),
            database_url: secret("DATABASE_URL"),
            discord_webhook: secret("DISCORD_WEBHOOK"),
        }
    }
}

impl Config {
    /// Defaults < config file < `CHAINSIGNAL_<SECTION>__<KEY>` variables; secrets from
    /// the environment. `file` must exist when given; without it `chainsignal.toml` in
    /// the working directory is read when present.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.exists() => return Err(ConfigError::Missing(path.to_path_buf())),
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE)),
        }
        // Only SECTION__KEY variables: CHAINSIGNAL_VAULT_KEY is a secret, not a setting.
        let env = Env::prefixed("CHAINSIGNAL_")
            .filter(|k| k.as_str().contains("__"))
            .split("__");
        let mut config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.secrets = Secrets::from_env();
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let t = &self.trading;
        if t.paper_slippage_bps > 1_000 || t.paper_fee_bps > 1_000 {
            return bad(
                "trading.paper_slippage_bps and trading.paper_fee_bps must be 0 to 1000 (10 %)".into(),
            );
        }
        if t.paper_equity == 0 || t.paper_equity > 1_000_000_000_000 {
            return bad("trading.paper_equity must be 1 to 1000000000000".into());
        }
        if !(1..=3_600).contains(&t.monitor_secs) {
            return bad("trading.monitor_secs must be 1 to 3600".into());
        }
        if !(1..=600).contains(&t.notice_timeout_secs) {
            return bad("trading.notice_timeout_secs must be 1 to 600".into());
        }
        let m = &self.market;
        if crate::market::Source::parse(&m.source).is_none() {
            return bad(format!(
                "market.source must be \"binance\" or \"demo\", not {:?}",
                m.source
            ));
        }
        if m.quote.is_empty() || !m.quote.chars().all(|c| c.is_ascii_alphanumeric()) {
            return bad("market.quote must be letters and digits, e.g. USDT".into());
        }
        if m.watchlist.is_empty() {
            return bad("market.watchlist must name at least one symbol".into());
        }
        if let Err(e) = crate::symbol::parse_list(m.watchlist.iter().map(String::as_str), &m.quote) {
            return bad(format!("market.watchlist: {e}"));
        }
        check_url("market.binance_url", &m.binance_url, true)?;
        check_url("market.binance_testnet_url", &m.binance_testnet_url, true)?;
        if self.vault.max_age_days == 0 || self.vault.max_age_days > 3650 {
            return bad("vault.max_age_days must be between 1 and 3650".into());
        }
        if m.concurrency == 0 || m.concurrency > 64 {
            return bad("market.concurrency must be between 1 and 64".into());
        }
        if m.hourly_candles as usize > 1000 || m.daily_candles as usize > 1000 {
            return bad("market.hourly_candles and market.daily_candles are at most 1000".into());
        }
        if self.http.bind.parse::<std::net::SocketAddr>().is_err() {
            return bad(format!(
                "http.bind must be an address like 127.0.0.1:8080, not {:?}",
                self.http.bind
            ));
        }
        if let Some(url) = &self.http.public_url {
            check_url("http.public_url", url, true)?;
            if !url.starts_with("https://") {
                return bad(format!(
                    "http.public_url must be an https:// URL (the reverse proxy's), not {:?}",
                    url.chars().take(200).collect::<String>()
                ));
            }
            if url.contains(['?', '#']) {
                return bad("http.public_url is a base URL: no ?query or #fragment".into());
            }
            if !self.http.enabled {
                return bad("http.public_url needs the HTTP server (http.enabled = true)".into());
            }
        }
        if !["en", "pl"].contains(&self.chat.default_locale.as_str()) {
            return bad("chat.default_locale must be \"en\" or \"pl\"".into());
        }
        let tg = &self.telegram;
        check_url("telegram.api_url", &tg.api_url, true)?;
        check_url("discord.api_url", &self.discord.api_url, true)?;
        if tg.mode == TelegramMode::Webhook {
            if !(tg.webhook_url.starts_with("https://") || tg.webhook_url.starts_with("http://")) {
                return bad("telegram.webhook_url must be the public https:// URL in webhook mode".into());
            }
            check_url("telegram.webhook_url", &tg.webhook_url, true)?;
            if !tg.webhook_path.starts_with('/') {
                return bad("telegram.webhook_path must start with /".into());
            }
            if !self.http.enabled {
                return bad("telegram webhook mode needs the HTTP server (http.enabled = true)".into());
            }
        }
        let ai = &self.ai;
        check_url("ai.base_url", &ai.base_url, true)?;
        if ai.model.trim().is_empty()
            || ai.max_tokens == 0
            || ai.timeout_secs == 0
            || ai.max_answer_chars < 100
        {
            return bad("ai.model must be set; ai.max_tokens and ai.timeout_secs above 0; ai.max_answer_chars at least 100".into());
        }
        if !(0.0..=2.0).contains(&ai.temperature) {
            return bad("ai.temperature must be between 0 and 2".into());
        }
        let schedules = self.schedules();
        for s in &schedules {
            s.validate(&m.quote).map_err(ConfigError::Invalid)?;
        }
        let names: std::collections::HashSet<String> =
            schedules.iter().map(|s| s.name.to_ascii_lowercase()).collect();
        if names.len() != schedules.len() {
            return bad("two [[schedule]] tables have the same name (names are not case-sensitive)".into());
        }
        for url in self.discord.webhooks.iter().map(|u| u.expose_secret()) {
            // The URL carries the webhook's token: never shown.
            if check_url("discord.webhooks", url, false).is_err() {
                return bad("discord.webhooks must be http:// or https:// URLs with a host".into());
            }
        }
        if self.scheduler.grace_minutes < 0 || self.scheduler.lease_secs < 10 || self.scheduler.tick_secs == 0
        {
            return bad(
                "scheduler.grace_minutes >= 0, scheduler.lease_secs >= 10, scheduler.tick_secs > 0".into(),
            );
        }
        if self.alerts.move_pct <= 0.0 || self.alerts.atr_ratio <= 1.0 || self.alerts.interval_secs == 0 {
            return bad("alerts.move_pct > 0, alerts.atr_ratio > 1 and alerts.interval_secs > 0".into());
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections must be at least 1".into());
        }
        self.risk.validate()?;
        Ok(())
    }

    /// The configured schedules, or the default report at 06:00 and 16:00 Europe/Warsaw.
    pub fn schedules(&self) -> Vec<ScheduleConfig> {
        self.schedule
            .clone()
            .unwrap_or_else(|| vec![ScheduleConfig::default_daily()])
    }

    /// Webhook URLs from `discord.webhooks` and `DISCORD_WEBHOOK`.
    pub fn discord_webhooks(&self) -> Vec<SecretString> {
        let mut out = self.discord.webhooks.clone();
        out.extend(self.secrets.discord_webhook.clone());
        out
    }

    /// `DATABASE_URL`, or the SQLite file of `database.sqlite_path`.
    pub fn database_url(&self) -> SecretString {
        match &self.secrets.database_url {
            Some(url) => url.clone(),
            None => SecretString::from(sqlite_url(&self.database.sqlite_path)),
        }
    }

    /// The watchlist, normalised (validated at load time).
    pub fn watchlist(&self) -> Vec<crate::Symbol> {
        crate::symbol::parse_list(
            self.market.watchlist.iter().map(String::as_str),
            &self.market.quote,
        )
        .unwrap_or_default()
    }
}

/// An `http://` or `https://` URL with a host; the error names `key` and, when `show`,
/// the value (never for URLs that carry a secret).
fn check_url(key: &str, value: &str, show: bool) -> Result<(), ConfigError> {
    let why = match reqwest::Url::parse(value) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => format!("the scheme is {:?}", u.scheme()),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => "it has no host".to_string(),
        Ok(_) => return Ok(()),
        Err(e) => e.to_string(),
    };
    let shown: String = value.chars().take(200).collect();
    Err(ConfigError::Invalid(if show {
        format!(
            "{key} = {shown:?} is not a usable URL ({why}); expected http:// or https:// and a host, e.g. https://example.com"
        )
    } else {
        format!("{key}: not a usable URL ({why}); expected http:// or https:// and a host")
    }))
}

pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A description of a database URL safe for logs: the engine only.
pub fn describe_database_url(url: &SecretString) -> &'static str {
    let u = url.expose_secret();
    if u.starts_with("postgres://") || u.starts_with("postgresql://") {
        "postgresql"
    } else if u.starts_with("sqlite:") {
        "sqlite"
    } else {
        "unknown"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_secrets_redacted() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.secrets = Secrets::from_lookup(|k| match k {
            "DISCORD_TOKEN" => Some("discord-secret-123".into()),
            "GROQ_API_KEY" => Some("gsk_secret_456".into()),
            "DATABASE_URL" => Some("postgres://u:pw-secret-789@h/db".into()),
            "DISCORD_WEBHOOK" => Some("https://discord.com/api/webhooks/1/hook-secret-000".into()),
            _ => None,
        });
        let debug = format!("{c:?}");
        c.discord.webhooks = vec![SecretString::from(
            "https://discord.com/api/webhooks/2/cfg-hook-secret".to_string(),
        )];
        assert_eq!(c.discord_webhooks().len(), 2);
        assert_eq!(c.schedules()[0].cron, "0 6,16 * * *");
        for secret in [
            "discord-secret-123",
            "gsk_secret_456",
            "pw-secret-789",
            "hook-secret-000",
            "cfg-hook-secret",
        ] {
            assert!(!debug.contains(secret), "{secret} leaked into Debug");
        }
        assert!(c.secrets.ai_api_key.is_some(), "GROQ_API_KEY is accepted");
        assert_eq!(describe_database_url(&c.database_url()), "postgresql");
        assert_eq!(c.watchlist().len(), 8);
        assert_eq!(c.watchlist()[0].as_str(), "BTCUSDT");
    }

    #[test]
    fn bad_values_are_explained() {
        let mut c = Config::default();
        c.market.watchlist = vec!["b@d".into()];
        assert!(c.validate().unwrap_err().to_string().contains("b@d"));
        let mut c = Config::default();
        c.http.bind = "nowhere".into();
        assert!(c.validate().unwrap_err().to_string().contains("http.bind"));
        let mut c = Config::default();
        c.market.source = "kraken".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn symbol_lists_are_capped_like_a_report() {
        let many: Vec<String> = (0..21).map(|i| format!("C{i}")).collect();
        let c = Config {
            schedule: Some(vec![ScheduleConfig {
                symbols: many.clone(),
                ..ScheduleConfig::default_daily()
            }]),
            ..Config::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("daily-report") && e.contains("at most 20"), "{e}");
        let mut c = Config::default();
        c.market.watchlist = many.clone();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("market.watchlist") && e.contains("at most 20"), "{e}");
        let mut c = Config::default();
        c.market.watchlist = many[..20].to_vec();
        c.validate().unwrap();
    }

    #[test]
    fn schedules_are_checked_at_load() {
        let with = |f: fn(&mut ScheduleConfig)| {
            let mut s = ScheduleConfig::default_daily();
            f(&mut s);
            let c = Config {
                schedule: Some(vec![s]),
                ..Config::default()
            };
            c.validate()
        };
        let e = with(|s| s.cron = "0 0 31 2 *".into()).unwrap_err().to_string();
        assert!(e.contains("never"), "{e}");
        with(|s| s.cron = "0 8 * * MON-FRI".into()).unwrap();
        with(|s| s.timezone = "utc".into()).unwrap();
        with(|s| s.kind = "summary".into()).unwrap();
        let c = Config {
            schedule: Some(vec![
                ScheduleConfig::default_daily(),
                ScheduleConfig {
                    name: "DAILY-REPORT".into(),
                    ..ScheduleConfig::default_daily()
                },
            ]),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("same name"));
    }

    fn load_toml(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(Some(&path))
    }

    #[test]
    fn risk_section_overrides_per_field() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let c = Config::default();
        assert_eq!(c.risk.mmr, d("0.004"));
        assert_eq!(c.risk.mmr_for("BTCUSDT"), d("0.004"));
        for p in Profile::ALL {
            assert_eq!(c.risk.limits_for(p), RiskLimits::defaults(p));
        }
        let c = load_toml(
            r#"
[risk]
mmr = 0.005
[risk.mmr_per_symbol]
BTCUSDT = 0.004
DOGEUSDT = "0.01"
[risk.profiles.model2]
max_leverage = 5
daily_loss_limit_pct = 2.5
[risk.profiles.loose]
min_reward_risk = 1.1
stop_loss_required = true
"#,
        )
        .unwrap();
        assert_eq!(c.risk.mmr, d("0.005"));
        assert_eq!(c.risk.mmr_for("BTCUSDT"), d("0.004"));
        assert_eq!(c.risk.mmr_for("dogeusdt"), d("0.01"));
        assert_eq!(c.risk.mmr_for("ETHUSDT"), d("0.005"));
        let m = c.risk.limits_for(Profile::Model2);
        assert_eq!((m.max_leverage, m.daily_loss_limit_pct), (5, d("2.5")));
        assert_eq!(m.max_open_positions, 5, "absent fields keep the default");
        let l = c.risk.limits_for(Profile::Loose);
        assert_eq!(l.min_reward_risk, Some(d("1.1")));
        assert!(l.stop_loss_required);
        assert_eq!(
            c.risk.limits_for(Profile::Conservative),
            RiskLimits::defaults(Profile::Conservative)
        );
    }

    #[test]
    fn risk_section_errors_name_the_key() {
        for (toml, want) in [
            ("[risk]\nmmr = 1", "risk.mmr"),
            ("[risk]\nmmr = -0.1", "risk.mmr"),
            ("[risk.mmr_per_symbol]\nbtc = 0.004", "risk.mmr_per_symbol"),
            (
                "[risk.mmr_per_symbol]\nBTCUSDT = 2",
                "risk.mmr_per_symbol.BTCUSDT",
            ),
            (
                "[risk.profiles.model2]\nmax_leverage = 200",
                "risk.profiles.model2.max_leverage must be a whole number from 1 to 125",
            ),
            (
                "[risk.profiles.loose]\nmax_gross_exposure_pct = 0",
                "risk.profiles.loose.max_gross_exposure_pct must be a percentage above 0",
            ),
            (
                "[risk.profiles.conservative]\nmax_open_positions = 0",
                "risk.profiles.conservative.max_open_positions",
            ),
        ] {
            let e = load_toml(toml).unwrap_err().to_string();
            assert!(e.contains(want), "{toml}: {e}");
        }
        // Unknown keys and profiles are refused, like everywhere else.
        for toml in [
            "[risk.profiles.model2]\nmax_lev = 3",
            "[risk.profiles.yolo]\nmax_leverage = 3",
            "[risk]\nmmr_default = 0.1",
        ] {
            assert!(load_toml(toml).is_err(), "{toml}");
        }
    }

    #[test]
    fn the_public_url_is_an_https_base_url() {
        let mut c = Config::default();
        assert_eq!(c.http.form_base_url(), None);
        c.http.public_url = Some("https://bot.example.com/".into());
        c.validate().unwrap();
        assert_eq!(c.http.form_base_url().as_deref(), Some("https://bot.example.com"));
        for bad in [
            "http://bot.example.com",
            "https://",
            "bot.example.com",
            "https://bot.example.com/?x=1",
        ] {
            let mut c = Config::default();
            c.http.public_url = Some(bad.into());
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("http.public_url"), "{bad}: {e}");
        }
        let mut c = Config::default();
        c.http.public_url = Some("https://bot.example.com".into());
        c.http.enabled = false;
        assert!(c.validate().unwrap_err().to_string().contains("http.enabled"));
        assert_eq!(c.http.form_base_url(), None);
    }

    #[test]
    fn urls_must_be_http_urls_with_a_host() {
        for bad in [
            "http://[::1",
            "https://",
            "ftp://example.com",
            "example.com",
            "http:// x",
        ] {
            let mut c = Config::default();
            c.market.binance_url = bad.into();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("market.binance_url") && e.contains(bad), "{bad}: {e}");
        }
        for bad in ["ftp://testnet.example", "testnet.binance.vision", "https://"] {
            let mut c = Config::default();
            c.market.binance_testnet_url = bad.into();
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.contains("market.binance_testnet_url") && e.contains(bad),
                "{bad}: {e}"
            );
        }
        let c = Config::default();
        assert_eq!(c.market.binance_testnet_url, "https://testnet.binance.vision");
        let s = c.market.spot_settings(crate::exchange::Venue::Testnet);
        assert_eq!(s.base_url, "https://testnet.binance.vision");
        assert_eq!(s.recv_window_ms, 5_000);
        assert_eq!(
            c.market.spot_settings(crate::exchange::Venue::Live).base_url,
            "https://api.binance.com"
        );
        let mut c = Config::default();
        c.market.binance_url = "http://127.0.0.1:9000".into();
        c.ai.base_url = "http://[::1]:11434/v1".into();
        c.validate().unwrap();
        let mut c = Config::default();
        c.discord.api_url = "http://[::1".into();
        assert!(c.validate().unwrap_err().to_string().contains("discord.api_url"));
        let mut c = Config::default();
        c.discord.webhooks = vec![SecretString::from(
            "https://[::1/api/webhooks/1/hook-secret".to_string(),
        )];
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("discord.webhooks") && !e.contains("hook-secret"),
            "{e}"
        );
    }
}
