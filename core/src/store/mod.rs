//! One storage API, two backends: SQLite (the embedded default) and PostgreSQL. Each
//! has its own migrations under `migrations/`; both run the same SQL text (`$N`
//! parameters, `RETURNING`, `ON CONFLICT`), written once in [`sql`].

#[macro_use]
mod sql;
mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::{SqliteStore, check_backup, lock_path};

use crate::report::Report;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub platform: String,
    pub platform_user_id: String,
    pub display_name: Option<String>,
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

#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    fn backend(&self) -> Backend;
    /// Apply the embedded migrations of this backend.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Is the database reachable?
    async fn ping(&self) -> Result<(), StoreError>;
    async fn close(&self);
    /// A consistent copy of the whole database at `path` (SQLite: `VACUUM INTO`, safe
    /// while the bot runs). PostgreSQL: [`StoreError::BackupUnsupported`], use pg_dump.
    async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError>;

    /// Store a report with its rows and failed symbols; returns its id.
    async fn save_report(&self, report: &Report, origin: &ReportOrigin) -> Result<i64, StoreError>;
    async fn report(&self, id: i64) -> Result<Option<StoredReport>, StoreError>;
    /// Every stored row generated at or after `since`, oldest first.
    async fn report_history(&self, since: Option<DateTime<Utc>>) -> Result<Vec<HistoryRow>, StoreError>;

    /// The user behind a platform identity, created on first sight; returns the user id.
    async fn ensure_user(&self, identity: &Identity) -> Result<i64, StoreError>;
    /// The chat, created with `default_locale` on first sight.
    async fn ensure_chat(&self, chat: &ChatKey, default_locale: &str) -> Result<ChatRecord, StoreError>;
    async fn set_chat_locale(&self, chat: &ChatKey, locale: &str) -> Result<(), StoreError>;
    /// Mark a chat reachable or not (a bot blocked or removed is not retried).
    async fn set_chat_active(&self, chat: &ChatKey, active: bool) -> Result<(), StoreError>;

    async fn record_ai_call(&self, call: &AiCall) -> Result<(), StoreError>;
    /// Tokens spent since `since`, by one user (`Some((platform, id))`) or by everyone.
    async fn ai_tokens_since(
        &self,
        since: DateTime<Utc>,
        user: Option<(&str, &str)>,
    ) -> Result<i64, StoreError>;
    /// When the user last called the model successfully (what the cooldown counts: a
    /// failed call must not keep the user from the next attempt).
    async fn last_ai_call(
        &self,
        platform: &str,
        platform_user_id: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    async fn cached_summary(&self, key: &str) -> Result<Option<String>, StoreError>;
    async fn save_summary(&self, key: &str, locale: &str, model: &str, text: &str) -> Result<(), StoreError>;

    async fn add_schedule(&self, s: &StoredSchedule, created_by: &str) -> Result<bool, StoreError>;
    async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError>;
    async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError>;

    /// Subscribe a target to `kind` (`reports`, `alerts`); false when it already was
    /// (a disabled target is enabled again).
    async fn subscribe(&self, chat: &ChatKey, kind: &str) -> Result<bool, StoreError>;
    /// Remove the target's subscriptions of `kind`, or all of them; how many went.
    async fn unsubscribe(&self, chat: &ChatKey, kind: Option<&str>) -> Result<u64, StoreError>;
    /// The enabled targets of `kind`.
    async fn subscribers(&self, kind: &str) -> Result<Vec<Subscription>, StoreError>;
    /// Count one more refusal (403/404) in a row; returns the count.
    async fn target_failed(&self, target: &Subscription) -> Result<i64, StoreError>;
    async fn target_succeeded(&self, target: &Subscription) -> Result<(), StoreError>;
    async fn disable_target(&self, target: &Subscription) -> Result<(), StoreError>;

    /// Claim (schedule, slot) for `owner` until `lease_until`: true when it is ours, new
    /// or taken over from an owner whose lease expired before `now` without finishing.
    async fn claim_run(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn finish_run(&self, schedule: &str, slot: DateTime<Utc>) -> Result<(), StoreError>;
    /// Whether a run of (schedule, slot) exists at all (claimed by anyone).
    async fn run_exists(&self, schedule: &str, slot: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Unfinished runs with an expired lease and a slot at or after `since`.
    async fn stalled_runs(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError>;
    /// Claim one delivery; false when it was claimed before (sent, failed or in doubt).
    async fn claim_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn finish_delivery(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
        target: &str,
        status: &str,
    ) -> Result<(), StoreError>;
    /// The deliveries of a slot: (target, status).
    async fn deliveries(
        &self,
        schedule: &str,
        slot: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Claim the right to alert about (symbol, direction) now: true unless an alert went
    /// out after `not_since`.
    async fn claim_alert(
        &self,
        symbol: &str,
        direction: &str,
        now: DateTime<Utc>,
        not_since: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Undo a [`Storage::claim_alert`] made at `claimed_at` whose alert reached no chat,
    /// so that the next check may send it (a mark means "sent").
    async fn release_alert(
        &self,
        symbol: &str,
        direction: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    async fn create_action(&self, action: &NewAction) -> Result<(), StoreError>;
    async fn action(&self, token: &str) -> Result<Option<ActionRecord>, StoreError>;
    /// Claim a single-use action for `user` (a platform user id) at `now`: the record
    /// when this call took it; `None` when it is unknown, expired, already claimed, or
    /// someone else's. Atomic: of two presses on any instances, one wins.
    async fn claim_action(
        &self,
        token: &str,
        user: &str,
        now: DateTime<Utc>,
        claimed_by: &str,
    ) -> Result<Option<ActionRecord>, StoreError>;
    /// Record a platform event: false when it was handled before (a retry).
    async fn claim_request(
        &self,
        platform: &str,
        request_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forget pending actions and handled events older than `before`; how many went.
    async fn prune_commands_state(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn record_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError>;
    /// The newest `limit` audit rows, newest first.
    async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
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
