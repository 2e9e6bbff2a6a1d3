//! The command line (DESIGN.md "CLI"): `run`, `demo`, `report`, `migrate`, `export`.

use crate::app::App;
use crate::delivery::{Outbox, Outboxes};
use crate::discord::delivery::DiscordOutbox;
use crate::scheduler::Scheduler;
use crate::scheduler::outbox::{ConsoleOutbox, DiscordWebhookOutbox};
use crate::shutdown::{self, Shutdown};
use crate::telegram::delivery::TelegramOutbox;
use crate::{console, http, logging};
use anyhow::{Context, bail};
use chainsignal_commands::report_view::{failure_message, report_reply};
use chainsignal_commands::summary::summarize;
use chainsignal_commands::{I18n, Locale};
use chainsignal_core::SystemClock;
use chainsignal_core::config::{Config, ScheduleConfig, sqlite_url};
use chainsignal_core::market::Source;
use chainsignal_core::report::{Report, ReportRow};
use chainsignal_core::store::ReportOrigin;
use chainsignal_core::store::{ChatKey, StoredRole};
use chainsignal_core::symbol;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncWrite, AsyncWriteExt};

/// Chainsignal: market reports and alerts for crypto traders, on Discord, Telegram
/// and the console.
///
/// Signals: SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every subcommand gracefully (SIGHUP
/// is a stop, not a reload). `run` and `demo` take no new command, give those in flight
/// up to `shutdown.timeout_secs` and exit 0; `report`, `summary` stop at once, `migrate`,
/// `backup`, `export` get `shutdown.timeout_secs` to finish, and an interrupted one exits
/// 130. A second signal exits at once with 130.
#[derive(Debug, Parser)]
#[command(name = "chainsignal", version, about, after_help = SIGNALS_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const SIGNALS_HELP: &str = "Signals: SIGINT (Ctrl-C), SIGTERM and SIGHUP stop gracefully \
(SIGHUP is a stop, not a reload): run and demo finish the commands in flight (at most \
shutdown.timeout_secs) and exit 0; report and summary stop at once; migrate, backup and \
export get shutdown.timeout_secs; an interrupted command exits 130. A second signal exits \
at once with 130.";

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file (default: ./chainsignal.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bot: every adapter that has a token, the scheduler, the HTTP server.
    Run {
        #[command(flatten)]
        config: ConfigArg,
        /// Also serve the console on stdin/stdout.
        #[arg(long)]
        console: bool,
    },
    /// Offline showcase: demo market data, a temporary SQLite database, the console.
    Demo {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Print a market report once (and keep it in the history).
    Report {
        #[command(flatten)]
        config: ConfigArg,
        /// Comma-separated symbols (default: the watchlist), e.g. BTCUSDT,ETH,sol.
        #[arg(long, value_delimiter = ',')]
        symbols: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Language of the table and the messages.
        #[arg(long, value_enum, default_value_t = LocaleArg::En)]
        locale: LocaleArg,
    },
    /// Print a market summary once: AI when AI_API_KEY is set, rule-based otherwise.
    Summary {
        #[command(flatten)]
        config: ConfigArg,
        /// Comma-separated symbols (default: the watchlist).
        #[arg(long, value_delimiter = ',')]
        symbols: Vec<String>,
        /// Language of the summary.
        #[arg(long, value_enum, default_value_t = LocaleArg::En)]
        locale: LocaleArg,
    },
    /// Apply the database migrations and exit.
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// A consistent online copy of the SQLite database (for PostgreSQL use pg_dump).
    Backup {
        #[command(flatten)]
        config: ConfigArg,
        /// Where to write the copy.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Replace the SQLite database with a backup. Stop the bot first: it refuses while
    /// another process uses the database.
    Restore {
        #[command(flatten)]
        config: ConfigArg,
        /// A file written by `chainsignal backup`.
        file: PathBuf,
        /// Restore even though another process uses the database (it keeps the old one
        /// open and may write to it): only when you know that is safe.
        #[arg(long)]
        force: bool,
    },
    /// Export stored data.
    Export {
        #[command(subcommand)]
        what: Export,
    },
    /// Accounts and roles, on the database directly (the first admin, recovery without a chat).
    Admin {
        #[command(subcommand)]
        what: Admin,
    },
    /// The vault sealing exchange API keys: new keys, rotation, a check of every row.
    Vault {
        #[command(subcommand)]
        what: VaultCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Print a new random vault key (base64 of 32 bytes) on stdout. Configure it as the
    /// next version (CHAINSIGNAL_VAULT_KEY_N or a new line of vault.key_file), then run
    /// `vault rotate`.
    GenerateKey,
    /// Re-seal every stored exchange key with the newest vault key version (or --to),
    /// row by row, each in its own transaction. Resumable: after a crash or a stop, run
    /// it again; rows already on the version are left alone. The bot may keep running.
    Rotate {
        #[command(flatten)]
        config: ConfigArg,
        /// The version to seal with (default: the newest configured).
        #[arg(long, value_name = "VERSION")]
        to: Option<u32>,
    },
    /// Open every stored exchange key and report those that do not open (never a value).
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// Test hook of `vault rotate`: abort the process (as a crash would) right after this
/// many rows were re-sealed. Only the resumability test sets it.
const ROTATE_ABORT_AFTER_ENV: &str = "CHAINSIGNAL_TEST_ROTATE_ABORT_AFTER";
/// Rows read at a time by `vault rotate` and `vault check`.
const VAULT_BATCH: i64 = 100;

#[derive(Debug, Subcommand)]
pub enum Admin {
    /// List the accounts: number, role, platforms, name, last seen.
    Users {
        #[command(flatten)]
        config: ConfigArg,
        /// Only accounts with this role (admin, trader, viewer, pending, blocked).
        #[arg(long, value_parser = parse_role)]
        role: Option<StoredRole>,
    },
    /// Give a person a role: admin, trader, viewer, pending or blocked (owners come from
    /// the config). A person never seen gets an account now.
    Role {
        #[command(flatten)]
        config: ConfigArg,
        /// `telegram:ID`, `discord:ID`, `console:local`, or `#ACCOUNT`.
        #[arg(value_name = "PLATFORM:ID", value_parser = parse_who)]
        who: Who,
        #[arg(value_parser = parse_role)]
        role: StoredRole,
    },
    /// Block a person.
    Block {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(value_name = "PLATFORM:ID", value_parser = parse_who)]
        who: Who,
        /// Why (kept for the admins).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// A person named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Identity { platform: String, id: String },
    Account(i64),
}

fn parse_who(s: &str) -> Result<Who, String> {
    if let Some(n) = s.strip_prefix('#') {
        return n
            .parse()
            .map(Who::Account)
            .map_err(|_| format!("{s:?}: an account is # and a number, e.g. #3"));
    }
    match s.split_once(':') {
        Some((platform @ ("telegram" | "discord" | "console"), id))
            if !id.is_empty() && !id.contains(char::is_whitespace) =>
        {
            Ok(Who::Identity {
                platform: platform.to_string(),
                id: id.to_string(),
            })
        }
        _ => Err(format!(
            "{s:?}: write telegram:ID, discord:ID, console:local or #ACCOUNT"
        )),
    }
}

fn parse_role(s: &str) -> Result<StoredRole, String> {
    StoredRole::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a role: admin, trader, viewer, pending or blocked (owners come from the config)"
        )
    })
}

#[derive(Debug, Subcommand)]
pub enum Export {
    /// Every stored report row as one merged CSV.
    Reports {
        #[command(flatten)]
        config: ConfigArg,
        /// Only reports generated on or after this date (YYYY-MM-DD, UTC) or instant (RFC 3339).
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The audit log (every command, button press and denial) as CSV, oldest first.
    Audit {
        #[command(flatten)]
        config: ConfigArg,
        /// Only rows from this far back (30m, 24h, 7d) or since this date (YYYY-MM-DD,
        /// UTC) or instant (RFC 3339).
        #[arg(long, value_name = "AGE|DATE", value_parser = parse_since_or_age)]
        since: Option<DateTime<Utc>>,
        /// Write here instead of standard output.
        #[arg(long, visible_alias = "out", value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocaleArg {
    En,
    Pl,
}

impl From<LocaleArg> for Locale {
    fn from(l: LocaleArg) -> Self {
        match l {
            LocaleArg::En => Locale::En,
            LocaleArg::Pl => Locale::Pl,
        }
    }
}

/// `24h`, `30m`, `7d`, `2w` before now, or what [`parse_since`] takes.
fn parse_since_or_age(s: &str) -> Result<DateTime<Utc>, String> {
    let age = s.char_indices().last().and_then(|(i, unit)| {
        let n: i64 = s[..i].parse().ok().filter(|n| *n >= 0)?;
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return None,
        };
        chrono::Duration::try_seconds(n.checked_mul(secs)?)
    });
    match age {
        Some(age) => Utc::now()
            .checked_sub_signed(age)
            .ok_or_else(|| "that is too far back".to_string()),
        None => parse_since(s).map_err(|_| {
            "expected an age like 24h or 7d, a date like 2026-11-01, or an RFC 3339 instant".into()
        }),
    }
}

fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "expected a date like 2026-11-01 or an RFC 3339 instant".into())
}

/// Replace the SQLite database file with `file` after checking that it is a Chainsignal
/// database; the copy is migrated to this version before it replaces anything. Refused
/// while another process holds the database's lock file (unless `force`).
async fn restore(config: Config, file: &std::path::Path, force: bool) -> anyhow::Result<ExitCode> {
    use chainsignal_core::store;
    let url = config.database_url();
    let path = match url
        .expose_secret()
        .strip_prefix("sqlite://")
        .or_else(|| url.expose_secret().strip_prefix("sqlite:"))
    {
        Some(p) => PathBuf::from(p.split('?').next().unwrap_or(p)),
        None => bail!("restore is for SQLite; for PostgreSQL use pg_restore (see README, Deploy)"),
    };
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    // The backup must open as a Chainsignal database before anything is replaced.
    store::check_backup(file)
        .await
        .with_context(|| format!("{} is not a Chainsignal backup", file.display()))?;

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    // Every process using the database holds a shared lock on its lock file.
    let lock_path = store::lock_path(&path);
    let lock =
        private_file(&lock_path).with_context(|| format!("opening the lock file {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) if force => {
            eprintln!(
                "warning: {} is in use by another process; restoring anyway (--force)",
                path.display()
            );
        }
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{} is in use by another Chainsignal process (is `chainsignal run` running?); stop it and try again, or pass --force if you are sure nothing writes to it",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
    }

    let staging = path.with_extension("restore-tmp");
    let sidecars = |p: &std::path::Path| {
        ["-wal", "-shm", ".lock"].map(|suffix| PathBuf::from(format!("{}{suffix}", p.display())))
    };
    for side in sidecars(&staging) {
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(file, &staging).with_context(|| format!("copying {}", file.display()))?;
    set_private(&staging)?;
    // Bring an older backup's schema up to date, before it replaces anything.
    let staged = SecretString::from(sqlite_url(&staging));
    let migrated = async {
        let store = store::open(&staged, 1).await?;
        store.close().await;
        anyhow::Ok(())
    }
    .await;
    for side in sidecars(&staging) {
        let _ = std::fs::remove_file(side);
    }
    if let Err(e) = migrated {
        let _ = std::fs::remove_file(&staging);
        return Err(e.context(format!("migrating the copy of {}", file.display())));
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            std::fs::remove_file(&side)?;
        }
    }
    std::fs::rename(&staging, &path)?;
    drop(lock);
    eprintln!("restored {} from {}", path.display(), file.display());
    Ok(ExitCode::SUCCESS)
}

/// Open (creating when missing) a file only its owner may read and write.
fn private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Make `path` readable and writable by its owner only.
fn set_private(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("setting the permissions of {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// This process's name in the scheduler's claims.
fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "chainsignal".into());
    format!("{host}-{}-{}", std::process::id(), Utc::now().timestamp_millis())
}

/// Standard streams, replaceable in tests.
pub struct Io<R, W> {
    pub stdin: R,
    pub stdout: W,
    /// Whether stdin is a terminal (prompts are shown only then).
    pub interactive: bool,
}

/// The binary's entry: logs, runs, maps errors to an exit code and one clear line.
pub async fn main(cli: Cli) -> ExitCode {
    let (trigger, shutdown) = shutdown::channel();
    shutdown::listen(trigger);
    let io = Io {
        stdin: tokio::io::BufReader::new(tokio::io::stdin()),
        stdout: tokio::io::stdout(),
        interactive: std::io::stdin().is_terminal(),
    };
    match execute(cli, io, shutdown).await {
        Ok(code) => code,
        Err(e) => {
            // One line, on stderr only (not also as a log line).
            eprintln!("chainsignal: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes on one line, each cause once: a cause whose text the line
/// holds already (errors that embed their source in their own message) is skipped.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace(['\n', '\r'], " ");
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

fn load_config(arg: &ConfigArg, quiet: bool) -> anyhow::Result<Config> {
    let config = Config::load(arg.config.as_deref())?;
    // Both filters are checked, whichever is used: a typo must not silence the logs.
    if let Err(why) = logging::check_filter(&config.log.level) {
        bail!(
            "invalid configuration: log.level = {:?} is not a log filter ({why}); {}",
            config.log.level,
            logging::FILTER_HINT
        );
    }
    let rust_log = match std::env::var("RUST_LOG") {
        Ok(v) if v.trim().is_empty() => None,
        Ok(v) => Some(v),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("RUST_LOG is not valid UTF-8; {}", logging::FILTER_HINT)
        }
    };
    if let Some(v) = &rust_log
        && let Err(why) = logging::check_filter(v)
    {
        bail!(
            "RUST_LOG = {v:?} is not a log filter ({why}); {}",
            logging::FILTER_HINT
        );
    }
    // RUST_LOG wins; one-shot commands keep stderr quiet unless it says otherwise.
    let filter = match &rust_log {
        Some(v) => v.as_str(),
        None if quiet => "warn",
        None => config.log.level.as_str(),
    };
    logging::init(config.log.format, filter);
    Ok(config)
}

pub async fn execute<R, W>(cli: Cli, io: Io<R, W>, shutdown: Shutdown) -> anyhow::Result<ExitCode>
where
    R: AsyncBufRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    match cli.command {
        Command::Run { config, console } => {
            let config = load_config(&config, false)?;
            run(config, console.then_some(io), shutdown).await
        }
        Command::Demo { config } => {
            let config = load_config(&config, true)?;
            demo(config, io, shutdown).await
        }
        Command::Report {
            config,
            symbols,
            format,
            locale,
        } => {
            let config = load_config(&config, true)?;
            let work = report(config, &symbols, format, locale.into(), io.stdout);
            interruptible(shutdown, Duration::ZERO, work).await
        }
        Command::Summary {
            config,
            symbols,
            locale,
        } => {
            let config = load_config(&config, true)?;
            let work = summary(config, &symbols, locale.into(), io.stdout);
            interruptible(shutdown, Duration::ZERO, work).await
        }
        Command::Migrate { config } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            let work = async move {
                let app = App::build(config, None, None).await?;
                let mut out = io.stdout;
                out.write_all(b"migrations applied\n").await?;
                out.flush().await?;
                app.store.close().await;
                Ok(ExitCode::SUCCESS)
            };
            interruptible(shutdown, grace, work).await
        }
        Command::Backup { config, out } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            let work = async move {
                let app = App::build(config, None, None).await?;
                if out.exists() {
                    bail!("{} exists already; choose a new file", out.display());
                }
                app.store
                    .backup(&out)
                    .await
                    .with_context(|| format!("writing the backup to {}", out.display()))?;
                app.store.close().await;
                eprintln!("backup written to {}", out.display());
                Ok(ExitCode::SUCCESS)
            };
            interruptible(shutdown, grace, work).await
        }
        Command::Restore { config, file, force } => {
            let config = load_config(&config, true)?;
            restore(config, &file, force).await
        }
        Command::Export {
            what: Export::Reports { config, since, out },
        } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            let work = export_reports(config, since, out, io.stdout);
            interruptible(shutdown, grace, work).await
        }
        Command::Admin { what } => {
            let arg = match &what {
                Admin::Users { config, .. } | Admin::Role { config, .. } | Admin::Block { config, .. } => {
                    config
                }
            };
            let config = load_config(arg, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            let work = admin(config, what, io.stdout);
            interruptible(shutdown, grace, work).await
        }
        Command::Export {
            what:
                Export::Audit {
                    config,
                    since,
                    output,
                },
        } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            let work = export_audit(config, since, output, io.stdout);
            interruptible(shutdown, grace, work).await
        }
        Command::Vault {
            what: VaultCommand::GenerateKey,
        } => {
            let key = chainsignal_core::vault::generate_key().context("generating a vault key")?;
            let mut out = io.stdout;
            let line = zeroize::Zeroizing::new(format!("{}\n", key.expose_secret()));
            out.write_all(line.as_bytes()).await?;
            out.flush().await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Vault {
            what: VaultCommand::Rotate { config, to },
        } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            interruptible(shutdown, grace, vault_rotate(config, to, io.stdout)).await
        }
        Command::Vault {
            what: VaultCommand::Check { config },
        } => {
            let config = load_config(&config, true)?;
            let grace = Duration::from_secs(config.shutdown.timeout_secs);
            interruptible(shutdown, grace, vault_check(config, io.stdout)).await
        }
    }
}

/// The app and its vault; an error when no vault key is configured.
async fn vault_app(config: Config) -> anyhow::Result<(App, Arc<chainsignal_core::vault::Vault>)> {
    let app = App::build(config, None, None).await?;
    let Some(vault) = app.commands.services().vault.clone() else {
        app.store.close().await;
        bail!(
            "no vault key is configured (CHAINSIGNAL_VAULT_KEY, CHAINSIGNAL_VAULT_KEY_2, … or vault.key_file)"
        );
    };
    Ok((app, vault))
}

/// `chainsignal vault rotate`: every row not on `to` is opened and sealed again with
/// `to`, one UPDATE (one transaction) per row that applies only if the row is still as
/// read. A progress line per row; counts at the end. Exit 1 when a row did not open.
async fn vault_rotate<W: AsyncWrite + Unpin>(
    config: Config,
    to: Option<u32>,
    mut out: W,
) -> anyhow::Result<ExitCode> {
    let (app, vault) = vault_app(config).await?;
    let to = to.unwrap_or_else(|| vault.current_version());
    if !vault.versions().contains(&to) {
        app.store.close().await;
        bail!(
            "vault key version {to} is not configured (configured: {:?})",
            vault.versions()
        );
    }
    let to_i32 = i32::try_from(to).context("a vault key version")?;
    let abort_after: Option<usize> = std::env::var(ROTATE_ABORT_AFTER_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let store = &app.store;
    let already: i64 = store
        .exchange_key_versions()
        .await?
        .iter()
        .filter(|(v, _)| *v == to_i32)
        .map(|(_, n)| n)
        .sum();
    let (mut resealed, mut changed, mut failed) = (0usize, 0usize, 0usize);
    let mut after_id = 0;
    loop {
        let batch = store.exchange_keys_not_on(to_i32, after_id, VAULT_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        for row in &batch {
            match vault.reseal_row(row, to) {
                Err(e) => {
                    failed += 1;
                    out.write_all(
                        format!("key #{} (account #{}) does not open: {e}\n", row.id, row.user_id).as_bytes(),
                    )
                    .await?;
                }
                Ok(new) => {
                    if store.reseal_exchange_key(row, &new).await? {
                        resealed += 1;
                        out.write_all(
                            format!("resealed key #{} v{} -> v{to}\n", row.id, row.key_version).as_bytes(),
                        )
                        .await?;
                        out.flush().await?;
                        if abort_after == Some(resealed) {
                            std::process::abort();
                        }
                    } else {
                        // Changed or removed since it was read: the next run sees it again.
                        changed += 1;
                    }
                }
            }
        }
    }
    out.write_all(
        format!(
            "vault rotate to version {to}: {resealed} resealed, {already} already on it, \
             {changed} changed meanwhile (run again), {failed} do not open\n"
        )
        .as_bytes(),
    )
    .await?;
    out.flush().await?;
    app.store.close().await;
    Ok(if failed > 0 || changed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `chainsignal vault check`: open every row; list those that do not open (id, account,
/// why), never a value. Exit 1 when one does not.
async fn vault_check<W: AsyncWrite + Unpin>(config: Config, mut out: W) -> anyhow::Result<ExitCode> {
    let (app, vault) = vault_app(config).await?;
    let (mut opened, mut failed) = (0usize, 0usize);
    let mut after_id = 0;
    loop {
        // Versions start at 1: "not on version 0" is every row.
        let batch = app.store.exchange_keys_not_on(0, after_id, VAULT_BATCH).await?;
        let Some(last) = batch.last() else { break };
        after_id = last.id;
        for row in &batch {
            match vault.open_row(row) {
                Ok(_) => opened += 1,
                Err(e) => {
                    failed += 1;
                    out.write_all(
                        format!(
                            "key #{} (account #{}, v{}) does not open: {e}\n",
                            row.id, row.user_id, row.key_version
                        )
                        .as_bytes(),
                    )
                    .await?;
                }
            }
        }
    }
    let versions: Vec<String> = app
        .store
        .exchange_key_versions()
        .await?
        .iter()
        .map(|(v, n)| format!("v{v}: {n}"))
        .collect();
    out.write_all(
        format!(
            "vault check: {opened} open, {failed} do not open ({})\n",
            versions.join(", ")
        )
        .as_bytes(),
    )
    .await?;
    out.flush().await?;
    app.store.close().await;
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A one-shot command, until it ends or a stop is asked for; then it gets `grace` to
/// finish (none for `report` and `summary`, which only wait on the network), after which
/// it is dropped and the exit code is 130.
async fn interruptible(
    shutdown: Shutdown,
    grace: Duration,
    work: impl std::future::Future<Output = anyhow::Result<ExitCode>>,
) -> anyhow::Result<ExitCode> {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        _ = shutdown.wait() => {}
    }
    if !grace.is_zero()
        && let Ok(result) = tokio::time::timeout(grace, &mut work).await
    {
        return result;
    }
    eprintln!("chainsignal: interrupted");
    Ok(ExitCode::from(shutdown::INTERRUPTED))
}

async fn run<R, W>(
    config: Config,
    console_io: Option<Io<R, W>>,
    shutdown: Shutdown,
) -> anyhow::Result<ExitCode>
where
    R: AsyncBufRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let s = &config.secrets;
    tracing::info!(
        discord = s.discord_token.is_some(),
        telegram = s.telegram_token.is_some(),
        ai = s.ai_api_key.is_some(),
        "starting chainsignal"
    );
    let app = tokio::select! {
        app = App::build(config, None, None) => app?,
        _ = shutdown.clone().wait() => {
            tracing::info!("stopped during start-up");
            return Ok(ExitCode::from(shutdown::INTERRUPTED));
        }
    };
    match &app.commands.services().vault {
        Some(v) => tracing::info!(versions = ?v.versions(), "vault enabled: /keys seals exchange API keys"),
        None => tracing::warn!(
            "vault disabled: no CHAINSIGNAL_VAULT_KEY nor vault.key_file, so /keys is off (see README, Vault)"
        ),
    }
    let telegram = crate::telegram::start(&app, shutdown.clone())?;
    let discord = crate::discord::start(&app, shutdown.clone())?;
    let webhook = telegram.as_ref().and_then(|t| t.webhook.clone());
    let http = if app.config.http.enabled {
        let listener = tokio::net::TcpListener::bind(&app.config.http.bind)
            .await
            .with_context(|| format!("binding the HTTP server to {}", app.config.http.bind))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, "http server listening");
        let mut routes = http::router(app.store.clone(), webhook);
        if app.commands.services().form_url.is_some() {
            routes = routes.merge(crate::keys_form::router(app.commands.clone()));
        }
        Some(tokio::spawn(http::serve(listener, routes, shutdown.clone())))
    } else {
        None
    };
    let mut outboxes = Outboxes::new();
    if let Some(t) = &telegram {
        outboxes.insert(
            "telegram".into(),
            Arc::new(TelegramOutbox(t.sender.clone())) as Arc<dyn Outbox>,
        );
    }
    if let Some(d) = &discord {
        outboxes.insert(
            "discord".into(),
            Arc::new(DiscordOutbox(d.http.clone())) as Arc<dyn Outbox>,
        );
    }
    if console_io.is_some() {
        // The console's `/subscribe` gets its scheduled reports and alerts here, as in the demo.
        let printer: Arc<dyn Outbox> = Arc::new(ConsoleOutbox::new(Box::new(tokio::io::stdout())));
        outboxes.insert("console".into(), printer);
    }
    let webhooks = DiscordWebhookOutbox::new(&app.config.discord_webhooks());
    let webhook_ids = webhooks.ids();
    if !webhook_ids.is_empty() {
        outboxes.insert("discord-webhook".into(), Arc::new(webhooks));
    }
    let scheduler = if app.config.scheduler.enabled {
        let scheduler = Arc::new(Scheduler::new(
            &app,
            Arc::new(SystemClock),
            outboxes,
            instance_name(),
        ));
        scheduler.register_webhooks(&webhook_ids).await;
        Some(tokio::spawn(scheduler.run(shutdown.clone())))
    } else {
        None
    };
    let limit = Duration::from_secs(app.config.shutdown.timeout_secs);
    if let Some(io) = console_io {
        serve_console(&app, io.stdin, io.stdout, io.interactive, &shutdown).await?;
    }
    shutdown.clone().wait().await;
    tracing::info!("shutting down");
    let finish = async {
        if let Some(task) = scheduler
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "scheduler task failed");
        }
        if let Some(telegram) = telegram
            && let Err(e) = telegram.task.await
        {
            tracing::error!(error = %e, "telegram task failed");
        }
        if let Some(discord) = discord
            && let Err(e) = discord.task.await
        {
            tracing::error!(error = %e, "discord task failed");
        }
        if let Some(task) = http {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "http server failed"),
                Err(e) => tracing::error!(error = %e, "http server task failed"),
            }
        }
    };
    if tokio::time::timeout(limit, finish).await.is_err() {
        tracing::warn!(?limit, "work in flight did not finish in time; stopping anyway");
    }
    app.store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The console until end of input, `exit`, or a stop signal: on a signal it takes no new
/// line, and the command in hand gets `shutdown.timeout_secs` to finish.
async fn serve_console<R, W>(
    app: &App,
    input: R,
    output: W,
    interactive: bool,
    shutdown: &Shutdown,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let limit = Duration::from_secs(app.config.shutdown.timeout_secs);
    app.commands.services().status.set_adapter("console", true);
    let console = console::serve_until(&app.commands, input, output, interactive, shutdown.clone().wait());
    let deadline = async {
        shutdown.clone().wait().await;
        tokio::time::sleep(limit).await;
    };
    tokio::select! {
        r = console => r,
        _ = deadline => {
            tracing::warn!(?limit, "a console command did not finish in time");
            Ok(())
        }
    }
}

async fn demo<R, W>(mut config: Config, io: Io<R, W>, shutdown: Shutdown) -> anyhow::Result<ExitCode>
where
    R: AsyncBufRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    // Offline: no AI provider either; /summary answers with the rule-based summary.
    config.secrets.ai_api_key = None;
    // The scheduler at work: a report posted to the console at every full minute.
    let mut schedules = config.schedules();
    schedules.push(ScheduleConfig {
        name: "demo-every-minute".into(),
        cron: "* * * * *".into(),
        timezone: "UTC".into(),
        kind: "report".into(),
        symbols: vec!["BTC".into(), "ETH".into()],
    });
    config.schedule = Some(schedules);
    config.scheduler.grace_minutes = 0;
    // A throw-away database: the demo never touches data/ or DATABASE_URL.
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let url = SecretString::from(sqlite_url(&dir.path().join("demo.sqlite")));
    let app = App::build(config, Some(Source::Demo), Some(url)).await?;
    let mut out = io.stdout;
    let greeting = chainsignal_commands::report_view::demo_banner(&app.i18n, Locale::En);
    out.write_all(greeting.as_bytes()).await?;
    out.write_all(b"\n\n").await?;
    if let Some(text) = console::answer(&app.commands, "/report").await {
        out.write_all(text.as_bytes()).await?;
        out.write_all(b"\n\n").await?;
    }
    out.flush().await?;
    let console_chat = ChatKey {
        platform: "console".into(),
        platform_chat_id: "console".into(),
    };
    app.store.subscribe(&console_chat, "reports").await?;
    app.store.subscribe(&console_chat, "alerts").await?;
    let mut outboxes = Outboxes::new();
    let printer: Arc<dyn Outbox> = Arc::new(ConsoleOutbox::new(Box::new(tokio::io::stdout())));
    outboxes.insert("console".into(), printer);
    let scheduler = Arc::new(Scheduler::new(
        &app,
        Arc::new(SystemClock),
        outboxes,
        instance_name(),
    ));
    let (stop, stopped) = crate::shutdown::channel();
    let task = tokio::spawn(scheduler.run(stopped));
    serve_console(&app, io.stdin, out, io.interactive, &shutdown).await?;
    stop.trigger();
    let _ = task.await;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct JsonReport<'a> {
    generated_at: String,
    source: &'static str,
    rows: &'a [ReportRow],
    errors: Vec<JsonError>,
}

#[derive(Serialize)]
struct JsonError {
    symbol: String,
    code: &'static str,
    message: String,
}

fn report_json(report: &Report, locale: Locale, i18n: &I18n) -> anyhow::Result<String> {
    let json = JsonReport {
        generated_at: report.generated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        source: report.source.as_str(),
        rows: &report.rows,
        errors: report
            .errors
            .iter()
            .map(|f| JsonError {
                symbol: f.symbol.clone(),
                code: f.error.code(),
                message: failure_message(f, locale, i18n),
            })
            .collect(),
    };
    Ok(serde_json::to_string_pretty(&json)?)
}

/// The app and a report for `--symbols` (the watchlist when empty), kept in the history.
async fn cli_report(config: Config, symbols: &[String]) -> anyhow::Result<(App, Report)> {
    let symbols = if symbols.is_empty() {
        config.watchlist()
    } else {
        // The cap of every report, refused here before anything is asked of the exchange.
        match symbol::parse_list(symbols.iter().map(String::as_str), &config.market.quote) {
            Ok(list) => list,
            Err(e) => bail!("--symbols: {e}"),
        }
    };
    let app = App::build(config, None, None).await?;
    let report = app.reports.build(&symbols).await;
    if !report.rows.is_empty() {
        let origin = ReportOrigin {
            origin: "cli".into(),
            ..Default::default()
        };
        if let Err(e) = app.store.save_report(&report, &origin).await {
            tracing::error!(error = %e, "could not store the report in the history");
        }
    }
    Ok((app, report))
}

async fn summary<W: AsyncWrite + Unpin>(
    config: Config,
    symbols: &[String],
    locale: Locale,
    out: W,
) -> anyhow::Result<ExitCode> {
    let (app, report) = cli_report(config, symbols).await?;
    let text = if report.rows.is_empty() {
        report_reply(&report, locale, &app.i18n).to_plain_text()
    } else {
        match summarize(app.commands.services(), &report, locale, None).await {
            Ok(summary) => summary.reply.to_plain_text(),
            Err(chainsignal_commands::CommandError::User { key, .. }) => app.i18n.t(locale, key),
            Err(e) => return Err(e.into()),
        }
    };
    finish(app, &report, &text, out).await
}

async fn report<W: AsyncWrite + Unpin>(
    config: Config,
    symbols: &[String],
    format: Format,
    locale: Locale,
    out: W,
) -> anyhow::Result<ExitCode> {
    let (app, report) = cli_report(config, symbols).await?;
    let text = match format {
        Format::Table => report_reply(&report, locale, &app.i18n).to_plain_text(),
        Format::Csv => {
            for f in &report.errors {
                eprintln!("{}", failure_message(f, locale, &app.i18n));
            }
            report.to_csv().trim_end().to_string()
        }
        Format::Json => report_json(&report, locale, &app.i18n)?,
    };
    finish(app, &report, &text, out).await
}

/// Print the text of a one-shot `report` or `summary` and close the database. Partial
/// reports succeed; a report with no row at all is a failure for scripts.
async fn finish<W: AsyncWrite + Unpin>(
    app: App,
    report: &Report,
    text: &str,
    mut out: W,
) -> anyhow::Result<ExitCode> {
    out.write_all(text.as_bytes()).await?;
    out.write_all(b"\n").await?;
    out.flush().await?;
    app.store.close().await;
    Ok(if report.rows.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// An export's CSV to `out_file` (saying how many `what` went there) or to stdout.
async fn write_export<W: AsyncWrite + Unpin>(
    csv: &str,
    rows: usize,
    what: &str,
    out_file: Option<PathBuf>,
    out: &mut W,
) -> anyhow::Result<()> {
    match out_file {
        Some(path) => {
            tokio::fs::write(&path, csv)
                .await
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("{rows} {what} written to {}", path.display());
        }
        None => {
            out.write_all(csv.as_bytes()).await?;
            out.flush().await?;
        }
    }
    Ok(())
}

async fn export_reports<W: AsyncWrite + Unpin>(
    config: Config,
    since: Option<DateTime<Utc>>,
    out_file: Option<PathBuf>,
    mut out: W,
) -> anyhow::Result<ExitCode> {
    let app = App::build(config, None, None).await?;
    let rows = app.store.report_history(since).await?;
    let csv = chainsignal_core::export::history_csv(&rows);
    write_export(&csv, rows.len(), "rows", out_file, &mut out).await?;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `chainsignal admin …`: straight on the database.
async fn admin<W: AsyncWrite + Unpin>(config: Config, what: Admin, mut out: W) -> anyhow::Result<ExitCode> {
    let (telegram, discord) = (config.admins.telegram.clone(), config.admins.discord.clone());
    let owner_of = move |platform: &str, id: &str| match platform {
        "console" => true,
        "telegram" => telegram.iter().any(|a| a == id),
        "discord" => discord.iter().any(|a| a == id),
        _ => false,
    };
    let is_owner = |ids: &[chainsignal_core::store::AccountIdentity]| {
        ids.iter().any(|i| owner_of(&i.platform, &i.platform_user_id))
    };
    let app = App::build(config, None, None).await?;
    let store = &app.store;
    let text = match what {
        Admin::Users { role, .. } => {
            let mut text = String::new();
            let mut offset = 0;
            loop {
                let (page, total) = store.list_accounts(role, 200, offset).await?;
                for a in &page {
                    let ids: Vec<String> = a
                        .identities
                        .iter()
                        .map(|i| format!("{}:{}", i.platform, i.platform_user_id))
                        .collect();
                    let name = a
                        .identities
                        .iter()
                        .find_map(|i| i.display_name.clone())
                        .unwrap_or_else(|| "-".into());
                    let seen = a
                        .identities
                        .iter()
                        .map(|i| i.last_seen_at)
                        .max()
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_else(|| "-".into());
                    let role = if is_owner(&a.identities) {
                        "owner"
                    } else {
                        a.account.role.as_str()
                    };
                    text.push_str(&format!(
                        "#{}\t{role}\t{}\t{}\t{seen}\n",
                        a.account.id,
                        ids.join(","),
                        chainsignal_commands::sanitize::sanitize(&name).replace(['\t', '\n'], " "),
                    ));
                }
                offset += page.len() as i64;
                if page.is_empty() || offset >= total {
                    break;
                }
            }
            if text.is_empty() {
                text.push_str("no accounts\n");
            }
            text
        }
        Admin::Role { who, role, .. } => {
            let account = admin_account(store, &who).await?;
            if is_owner(&store.identities(account).await?) {
                bail!(
                    "#{account} is an owner (admins.telegram / admins.discord in the config): change the config instead"
                );
            }
            store.set_role(account, role, None).await?;
            format!("#{account} is now {}\n", role.as_str())
        }
        Admin::Block { who, reason, .. } => {
            let account = admin_account(store, &who).await?;
            if is_owner(&store.identities(account).await?) {
                bail!(
                    "#{account} is an owner (admins.telegram / admins.discord in the config): change the config instead"
                );
            }
            store
                .set_role(account, StoredRole::Blocked, reason.as_deref())
                .await?;
            format!("#{account} is now blocked\n")
        }
    };
    out.write_all(text.as_bytes()).await?;
    out.flush().await?;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn export_audit<W: AsyncWrite + Unpin>(
    config: Config,
    since: Option<DateTime<Utc>>,
    out_file: Option<PathBuf>,
    mut out: W,
) -> anyhow::Result<ExitCode> {
    let app = App::build(config, None, None).await?;
    let rows = app.store.audit_since(since).await?;
    let csv = chainsignal_core::export::audit_csv(&rows);
    write_export(&csv, rows.len(), "audit rows", out_file, &mut out).await?;
    app.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The account of `who`: created for an identity never seen (so the first admin can be
/// named before they write to the bot); an unknown `#N` is an error.
async fn admin_account(store: &chainsignal_core::store::Store, who: &Who) -> anyhow::Result<i64> {
    match who {
        Who::Account(n) => match store.account(*n).await? {
            Some(a) => Ok(a.id),
            None => bail!("there is no account #{n}; see `chainsignal admin users`"),
        },
        Who::Identity { platform, id } => {
            let identity = chainsignal_core::store::Identity {
                platform: platform.clone(),
                platform_user_id: id.clone(),
                display_name: None,
                username: None,
            };
            Ok(store.ensure_account(&identity, StoredRole::Trader).await?.0.id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_shape_and_dates() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        assert_eq!(
            parse_since("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(parse_since("2026-11-01T10:00:00Z").is_ok());
        assert!(parse_since("yesterday").is_err());
        let day_ago = parse_since_or_age("24h").unwrap();
        assert!(
            (Utc::now() - day_ago - chrono::Duration::hours(24))
                .num_seconds()
                .abs()
                < 5
        );
        assert_eq!(
            parse_since_or_age("2026-11-01").unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert!(parse_since_or_age("24x").is_err());
        assert!(parse_since_or_age("h").is_err());
        let cli = Cli::try_parse_from([
            "chainsignal",
            "report",
            "--symbols",
            "BTCUSDT,eth",
            "--format",
            "json",
        ])
        .unwrap();
        match cli.command {
            Command::Report { symbols, format, .. } => {
                assert_eq!(symbols, ["BTCUSDT", "eth"]);
                assert_eq!(format, Format::Json);
            }
            other => panic!("{other:?}"),
        }
    }
}
