//! One storage API, two backends: SQLite (the embedded default) and PostgreSQL. Each
//! has its own migrations under `migrations/`; both run the same SQL text (`$N`
//! parameters, `RETURNING`, `ON CONFLICT`), written once per method in the file of its
//! aggregate:
//!
//! | trait | file | what |
//! |---|---|---|
//! | [`ReportStore`] | `reports.rs` | reports, their rows, the history |
//! | [`ChatStore`] | `chats.rs` | users, platform identities, chats |
//! | [`AccountStore`] | `accounts.rs` | accounts, roles, approvals, link codes |
//! | [`AiStore`] | `ai.rs` | AI calls, token ledger, summary cache |
//! | [`ScheduleStore`] | `scheduler.rs` | schedules, subscriptions, runs, deliveries, alert marks |
//! | [`CommandStore`] | `commands.rs` | pending actions (buttons), handled request ids |
//! | [`AuditStore`] | `audit.rs` | the audit log |
//! | [`KeyStore`] | `keys.rs` | exchange API keys, sealed by the vault |
//! | [`KeyFormStore`] | `key_forms.rs` | one-time links to the `/keys add` web form |
//! | [`PositionStore`] | `positions.rs` | trading accounts (venue, paper run), positions, orders |
//! | [`SettingsStore`] | `settings.rs` | per-account time zone, risk profile, limit overrides |
//! | [`NoticeStore`] | `notices.rs` | private notices to account owners, sent once, never lost |
//!
//! [`Storage`] is all of them plus the engine's own operations (migrate, ping, backup);
//! [`Store`] = `Arc<dyn Storage>` is what the rest of the program holds, and every
//! aggregate's methods are called on it directly. Each aggregate is implemented once,
//! for any `engine::Engine` (`sqlite.rs`, `postgres.rs`): see `engine.rs` for how a
//! statement says whether it reads (read pool) or writes (the writer).

mod accounts;
mod ai;
mod audit;
mod chats;
mod commands;
mod engine;
mod key_forms;
mod keys;
mod notices;
mod positions;
mod postgres;
mod reports;
mod scheduler;
mod settings;
mod sqlite;

pub use accounts::{
    Account, AccountIdentity, AccountStore, AccountSummary, Decision, LinkOutcome, LinkPolicy, StoredRole,
    UnlinkOutcome, WrongCode, link_code_hash, merged_role,
};
pub use ai::AiStore;
pub use audit::AuditStore;
pub use chats::ChatStore;
pub use commands::CommandStore;
pub use key_forms::{KeyFormRecord, KeyFormStore, NewKeyForm, key_form_hash};
pub use keys::{ExchangeKeyRecord, KeyAge, KeyStore, NewExchangeKey, Resealed};
pub use notices::{NoticeStore, OwnerNoticeRecord};
pub use positions::{
    MonitorPosition, NewOrder, NewPosition, OpenRecorded, OrderFill, OrderRecord, PositionClose,
    PositionRecord, PositionSplit, PositionStore, TradingAccountRecord,
};
pub use postgres::PgStore;
pub use reports::ReportStore;
pub use scheduler::ScheduleStore;
pub use settings::{AccountSettings, SettingsStore};
pub use sqlite::{SqliteStore, check_backup, lock_path};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// Storage errors. The messages of the opening ones (`SqliteOpen`, `Postgres`,
/// `UnsupportedUrl`, `BadUrl`, `Restoring`) are whole sentences for the operator: what
/// failed, where, and the likely fix; none repeats a URL (it may hold a password).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("applying the database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The scheme of the URL (only its letters), never the rest.
    #[error(
        "DATABASE_URL starts with {0:?}, which is unsupported: use sqlite:PATH (embedded) or postgres://user:password@host:5432/database"
    )]
    UnsupportedUrl(String),
    #[error("DATABASE_URL is not valid: {0}")]
    BadUrl(&'static str),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("online backups are for SQLite; for PostgreSQL use pg_dump (see README, Deploy)")]
    BackupUnsupported,
    #[error("cannot open the SQLite database {path}: {reason}; {fix}")]
    SqliteOpen {
        path: String,
        reason: String,
        fix: &'static str,
    },
    #[error(
        "the SQLite database {0} is being restored by `chainsignal restore`; start again when it has finished"
    )]
    Restoring(String),
    #[error("cannot use the PostgreSQL database {target}: {failure}")]
    Postgres { target: String, failure: PgFailure },
    #[error("applying the database migrations failed: {reason}; {fix}")]
    MigrationFailed { reason: String, fix: &'static str },
}

impl StoreError {
    /// A migration failure as one sentence: what, and the likely fix.
    fn migration(e: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError as M;
        let newer = "the database was used by a newer Chainsignal: run that version, or restore a backup made with this one";
        let (reason, fix) = match &e {
            M::VersionMissing(v) | M::VersionTooNew(v, _) => (
                format!("the database has migration {v}, which this version does not know"),
                newer,
            ),
            M::VersionMismatch(v) => (
                format!("migration {v} in the database differs from this version's"),
                newer,
            ),
            M::Execute(err) | M::ExecuteMigration(err, _) => (
                match err {
                    // The server's sentence, without "at line N" of its source code.
                    sqlx::Error::Database(d) => d.message().to_string(),
                    other => other.to_string(),
                },
                "check that the database user may create tables (PostgreSQL: the owner of the database)",
            ),
            other => (other.to_string(), "check the database, or restore a backup"),
        };
        Self::MigrationFailed { reason, fix }
    }

    fn sqlite_open(path: &std::path::Path, e: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        let fix = match e.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                "give this user write access there, or set database.sqlite_path (or DATABASE_URL) to a writable place"
            }
            ErrorKind::NotADirectory | ErrorKind::NotFound => {
                "fix database.sqlite_path (or DATABASE_URL) or create the directory"
            }
            ErrorKind::IsADirectory => {
                "name a file, not a directory, in database.sqlite_path (or DATABASE_URL)"
            }
            _ => "check database.sqlite_path (or DATABASE_URL) and the disk",
        };
        let reason = e.to_string();
        let reason = reason
            .split(" (os error")
            .next()
            .unwrap_or(&reason)
            .to_lowercase();
        Self::SqliteOpen {
            path: path.display().to_string(),
            reason,
            fix,
        }
    }

    fn sqlite_open_sqlx(path: &std::path::Path, e: sqlx::Error) -> Self {
        let reason = match &e {
            sqlx::Error::Database(d) => d.message().to_string(),
            sqlx::Error::Io(io) => return Self::sqlite_open(path, io),
            other => other.to_string(),
        };
        let fix = if reason.contains("not a database") {
            "it is not a SQLite database; point database.sqlite_path (or DATABASE_URL) at the right file"
        } else {
            "check that this user may read and write the file and its directory"
        };
        Self::SqliteOpen {
            path: path.display().to_string(),
            reason,
            fix,
        }
    }

    fn postgres(target: &PgTarget, failure: PgFailure) -> Self {
        Self::Postgres {
            target: target.0.clone(),
            failure,
        }
    }
}

/// Where a PostgreSQL database is, without the password: `user@host:port/database`.
#[derive(Debug, Clone)]
struct PgTarget(String);

impl PgTarget {
    fn of(o: &sqlx::postgres::PgConnectOptions) -> Self {
        let user = o.get_username();
        let database = o.get_database().unwrap_or(user);
        Self(format!("{user}@{}:{}/{database}", o.get_host(), o.get_port()))
    }
}

/// Why PostgreSQL could not be used, with the likely fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgFailure {
    #[error(
        "connection refused; is PostgreSQL running and listening there? Check the host and port in DATABASE_URL"
    )]
    Refused,
    #[error("no answer in time; check the host and port in DATABASE_URL and the firewall")]
    Timeout,
    #[error("the host name does not resolve; check the host in DATABASE_URL")]
    UnknownHost,
    #[error("the database does not exist; create it (createdb {0}) or fix its name in DATABASE_URL")]
    NoDatabase(String),
    #[error("the server refused the user or the password; check both in DATABASE_URL")]
    Auth,
    #[error("{0}")]
    Other(String),
}

impl PgFailure {
    fn of(e: &sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => Self::Refused,
                std::io::ErrorKind::TimedOut => Self::Timeout,
                _ if io.to_string().contains("failed to lookup address")
                    || io.to_string().contains("not known") =>
                {
                    Self::UnknownHost
                }
                _ => Self::Other(io.to_string()),
            },
            sqlx::Error::PoolTimedOut => Self::Timeout,
            sqlx::Error::Database(d) => match d.code().as_deref() {
                Some("3D000") => {
                    let name = d
                        .message()
                        .split('"')
                        .nth(1)
                        .unwrap_or("the_database")
                        .to_string();
                    Self::NoDatabase(name)
                }
                Some("28P01") | Some("28000") => Self::Auth,
                // The server's sentence, without "at line N" of its source code.
                _ => Self::Other(d.message().to_string()),
            },
            other => Self::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Who someone is on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    pub platform: String,
    pub platform_user_id: String,
    pub display_name: Option<String>,
    /// The platform username without `@` (Telegram), when it has one.
    pub username: Option<String>,
}

/// A chat (or channel) on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatKey {
    pub platform: String,
    pub platform_chat_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatRecord {
    pub id: i64,
    pub platform: String,
    pub platform_chat_id: String,
    pub locale: String,
    pub active: bool,
}

/// Where a stored report came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOrigin {
    /// `cli`, `console`, `telegram`, `discord`, `scheduler`…
    pub origin: String,
    pub platform_chat_id: Option<String>,
    pub user_id: Option<i64>,
}

/// One row of the merged report history (what `export reports` writes).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HistoryRow {
    pub report_id: i64,
    pub generated_at: DateTime<Utc>,
    pub source: String,
    pub symbol: String,
    pub close: f64,
    pub change_24h_pct: f64,
    pub change_3d_pct: f64,
    pub change_7d_pct: f64,
    pub atr_3d_pct: f64,
    pub atr_7d_pct: f64,
}

impl HistoryRow {
    /// The numbers in the order of [`crate::report::CSV_HEADER`] after the symbol.
    pub fn numbers(&self) -> [f64; 6] {
        [
            self.close,
            self.change_24h_pct,
            self.change_3d_pct,
            self.change_7d_pct,
            self.atr_3d_pct,
            self.atr_7d_pct,
        ]
    }
}

/// A stored report, rows and failed symbols included.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    pub id: i64,
    pub generated_at: DateTime<Utc>,
    pub source: String,
    pub origin: String,
    pub rows: Vec<HistoryRow>,
    /// (symbol, error code)
    pub errors: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The user asked for something that cannot be done (bad symbol, bad argument).
    UserError,
    Denied,
    /// Something on our side or upstream failed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::UserError => "user_error",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

/// One command run: who, where, what, outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub platform: String,
    pub platform_user_id: String,
    pub platform_chat_id: String,
    pub command: String,
    /// Arguments as the command chose to record them (secrets never).
    pub args: String,
    pub outcome: Outcome,
    pub detail: Option<String>,
    pub duration_ms: i64,
    /// The account (users.id) of the identity when the row was written.
    pub account_id: Option<i64>,
    /// The platform event that caused it; `None` where there is none (console).
    pub request_id: Option<String>,
}

/// What `/admin audit` asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Rows of this account's identities (as linked now).
    pub account_id: Option<i64>,
    pub command: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub platform: String,
    pub platform_user_id: String,
    pub platform_chat_id: String,
    pub command: String,
    pub args: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub duration_ms: i64,
    pub account_id: Option<i64>,
    pub request_id: Option<String>,
}

/// One call to the AI provider, whatever its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct AiCall {
    pub at: DateTime<Utc>,
    pub platform: String,
    pub platform_user_id: String,
    pub model: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency_ms: i64,
    /// `ok` or an error code.
    pub outcome: String,
}

/// A schedule kept in the database (added with `/schedule add`).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredSchedule {
    pub name: String,
    pub cron: String,
    pub timezone: String,
    pub kind: String,
    /// Space-separated symbols; empty for the watchlist.
    pub symbols: String,
}

/// A subscribed chat or webhook.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Subscription {
    pub platform: String,
    pub platform_chat_id: String,
    pub kind: String,
}

/// A confirmed `/admin broadcast`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Broadcast {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub text: String,
}

/// A pending action to store: what a button completes, who may press it, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    pub token: String,
    pub platform: String,
    pub platform_chat_id: String,
    /// The platform user id allowed to press; `None`: anyone in the chat.
    pub allowed_user: Option<String>,
    pub command: String,
    /// The typed arguments in stored form (JSON; never secrets).
    pub args: String,
    /// Pressed any number of times (Refresh) rather than claimed once (Confirm).
    pub reusable: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A pending action as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ActionRecord {
    pub token: String,
    pub platform: String,
    pub platform_chat_id: String,
    pub allowed_user: Option<String>,
    pub command: String,
    pub args: String,
    pub reusable: bool,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub claimed_by: Option<String>,
}

/// The whole store: every aggregate, plus what belongs to the engine itself.
#[async_trait]
pub trait Storage:
    ReportStore
    + ChatStore
    + AccountStore
    + AiStore
    + ScheduleStore
    + CommandStore
    + AuditStore
    + KeyStore
    + KeyFormStore
    + PositionStore
    + SettingsStore
    + NoticeStore
    + Send
    + Sync
    + std::fmt::Debug
{
    fn backend(&self) -> Backend;
    /// Apply the embedded migrations of this backend.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Is the database reachable?
    async fn ping(&self) -> Result<(), StoreError>;
    async fn close(&self);
    /// A consistent copy of the whole database at `path` (SQLite: `VACUUM INTO`, safe
    /// while the bot runs). PostgreSQL: [`StoreError::BackupUnsupported`], use pg_dump.
    async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError>;
    /// The database's size on disk, in bytes (SQLite: pages in use; PostgreSQL:
    /// `pg_database_size`).
    async fn size_bytes(&self) -> Result<i64, StoreError>;
}

pub type Store = Arc<dyn Storage>;

/// Open the database behind `url` (sqlite:… or postgres://…) and run its migrations.
pub async fn open(url: &SecretString, max_connections: u32) -> Result<Store, StoreError> {
    let u = url.expose_secret();
    let store: Store = if u.starts_with("postgres://") || u.starts_with("postgresql://") {
        Arc::new(PgStore::connect(u, max_connections).await?)
    } else if u.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(u, max_connections).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(url_scheme(u)));
    };
    store.migrate().await?;
    Ok(store)
}

/// The scheme of a URL (`mysql://…` -> `mysql://`), letters only: nothing else of the URL.
fn url_scheme(url: &str) -> String {
    let scheme: String = url
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        .take(20)
        .collect();
    let rest = &url[scheme.len()..];
    if rest.starts_with("://") {
        format!("{scheme}://")
    } else if rest.starts_with(':') {
        format!("{scheme}:")
    } else {
        "(no scheme)".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_errors_name_the_path_and_the_fix() {
        let path = std::path::Path::new("/srv/chainsignal/data/chainsignal.sqlite");
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let text = StoreError::sqlite_open(path, &denied).to_string();
        assert!(
            text.contains("/srv/chainsignal/data/chainsignal.sqlite"),
            "{text}"
        );
        assert!(
            text.contains("permission denied") && text.contains("write access"),
            "{text}"
        );
        assert_eq!(url_scheme("mysql://root:pw@h/db"), "mysql://");
        assert_eq!(url_scheme("redis:x"), "redis:");
        assert_eq!(url_scheme("data/x.sqlite"), "(no scheme)");
    }
}
