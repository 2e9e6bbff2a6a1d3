//! The embedded default: a SQLite file (WAL) under `data/`.
//!
//! Writes go through one connection (`writer`), each transaction opened with
//! `BEGIN IMMEDIATE`, so concurrent commands queue for the write lock instead of failing
//! with `database is locked` (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT when a read
//! transaction tries to become a write one). Reads use a pool of their own and see the
//! last committed state (WAL readers never block the writer).
//!
//! Every process that opens the file holds a shared lock on `<file>.lock` for its
//! lifetime; `restore` takes it exclusively, so it refuses while the bot runs.

use super::engine::{Engine, Record, Stmt, WriteTx, arguments};
use super::*;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// How long a write waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a write waits for its turn on the writer connection of this process.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct SqliteStore {
    /// Reads.
    pool: SqlitePool,
    /// Writes: one connection (the same pool as `pool` for an in-memory database).
    writer: SqlitePool,
    /// The shared lock on `<file>.lock`, held while the store lives.
    _lock: Option<Arc<std::fs::File>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// The lock file that tells whether a SQLite database is in use: `<file>.lock`.
pub fn lock_path(db: &Path) -> PathBuf {
    side_file(db, ".lock")
}

/// Create `path` (only if missing) readable and writable by its owner alone.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let existed = path.exists();
    let file = options.open(path)?;
    if !existed {
        set_mode(path, 0o600)?;
    }
    Ok(file)
}

/// Set `path`'s permission bits, whatever the umask did (no-op off Unix).
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Create the missing directories of `dir`, each 0700 (those that exist are left alone).
fn create_private_dirs(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
        .collect();
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => set_mode(d, 0o700)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Prepare the database file: its directory (0700 when we create it), the file itself
/// (0600 when we create it; SQLite gives `-wal` and `-shm` the file's mode) and the
/// shared lock. Errors name the path.
fn prepare_file(path: &Path) -> Result<std::fs::File, StoreError> {
    let open_error = |e: std::io::Error| StoreError::sqlite_open(path, &e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dirs(dir).map_err(open_error)?;
    }
    let lock = create_private_file(&lock_path(path)).map_err(open_error)?;
    match lock.try_lock_shared() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::Restoring(path.display().to_string()));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(open_error(e)),
    }
    create_private_file(path).map_err(open_error)?;
    for p in [
        path.to_path_buf(),
        side_file(path, "-wal"),
        side_file(path, "-shm"),
    ] {
        tighten(&p);
    }
    Ok(lock)
}

/// `<db><suffix>`, e.g. the `-wal` file of a database.
fn side_file(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A database file that others may read (made by an older version): make it 0600.
fn tighten(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 == 0 {
            return;
        }
        match set_mode(path, 0o600) {
            Ok(()) => {
                tracing::info!(path = %path.display(), from = format!("{mode:o}"), "database file made private (0600)")
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the database file is readable by others and could not be made private")
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

impl SqliteStore {
    /// Open (creating file and directory when missing) without migrating.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::BadUrl("a SQLite URL looks like sqlite://data/chainsignal.sqlite"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await?;
            return Ok(Self {
                writer: pool.clone(),
                pool,
                _lock: None,
            });
        }
        let path = options.get_filename().to_path_buf();
        let lock = prepare_file(&path)?;
        let open_error = |e: sqlx::Error| StoreError::sqlite_open_sqlx(&path, e);
        // The writer first: it sets up WAL before any reader opens the file.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WRITE_QUEUE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(open_error)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        Ok(Self {
            pool,
            writer,
            _lock: Some(Arc::new(lock)),
        })
    }
}

/// Whether `path` is a Chainsignal SQLite database (opened read-only, nothing written).
pub async fn check_backup(path: &std::path::Path) -> Result<(), StoreError> {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await?;
    sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
        .execute(&mut conn)
        .await?;
    sqlx::query("SELECT COUNT(*) FROM reports")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

impl SqliteStore {
    async fn vacuum_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let target = path.to_str().ok_or_else(|| {
            StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "backup path is not UTF-8",
            ))
        })?;
        // VACUUM INTO fills an empty file and keeps its mode: create it 0600 first.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options.open(path)?;
        set_mode(path, 0o600)?;
        let result = sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await;
        if let Err(e) = result {
            let _ = std::fs::remove_file(path);
            return Err(e.into());
        }
        Ok(())
    }
}

#[async_trait]
impl Storage for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await.map_err(StoreError::migration)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError> {
        self.vacuum_into(path).await
    }

    async fn size_bytes(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                .fetch_one(&self.pool)
                .await?;
        Ok(n)
    }
}

/// Reads on `pool`, writes on the single-connection `writer`.
impl Engine for SqliteStore {
    type Tx = sqlx::Transaction<'static, Sqlite>;

    async fn read_one<T: Record>(&self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_one(&self.pool)
            .await
    }

    async fn read_optional<T: Record>(&self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_optional(&self.pool)
            .await
    }

    async fn read_all<T: Record>(&self, s: Stmt<'_>) -> Result<Vec<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_all(&self.pool)
            .await
    }

    async fn write(&self, s: Stmt<'_>) -> Result<u64, sqlx::Error> {
        let done = sqlx::query_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn write_one<T: Record>(&self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_one(&self.writer)
            .await
    }

    async fn write_optional<T: Record>(&self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_optional(&self.writer)
            .await
    }

    /// Holds the write lock from its start (`BEGIN IMMEDIATE`): a transaction that reads
    /// first cannot fail later with SQLITE_BUSY_SNAPSHOT when it writes.
    async fn begin_write(&self) -> Result<Self::Tx, sqlx::Error> {
        self.writer.begin_with("BEGIN IMMEDIATE").await
    }
}

impl WriteTx for sqlx::Transaction<'static, Sqlite> {
    async fn execute(&mut self, s: Stmt<'_>) -> Result<u64, sqlx::Error> {
        let done = sqlx::query_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .execute(&mut **self)
            .await?;
        Ok(done.rows_affected())
    }

    async fn fetch_one<T: Record>(&mut self, s: Stmt<'_>) -> Result<T, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_one(&mut **self)
            .await
    }

    async fn fetch_optional<T: Record>(&mut self, s: Stmt<'_>) -> Result<Option<T>, sqlx::Error> {
        sqlx::query_as_with(s.sql, arguments::<Sqlite>(&s.args)?)
            .fetch_optional(&mut **self)
            .await
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        sqlx::Transaction::commit(self).await
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        sqlx::Transaction::rollback(self).await
    }
}
