//! Local fakes for Chainsignal's tests and benchmarks. They listen on 127.0.0.1 only.

pub mod fake_binance;
pub mod fake_discord;
pub mod fake_openai;
pub mod fake_telegram;
pub mod positions_seed;
pub mod run_process;
pub mod trace_log;

use std::path::PathBuf;

/// The `chainsignal` binary of this build (target/<profile>/chainsignal). `cargo test
/// --workspace` builds it because the `chainsignal` package has integration tests.
pub fn chainsignal_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let bin = profile_dir.join(format!("chainsignal{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p chainsignal` or `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// The PostgreSQL server of the tests: `TEST_DATABASE_URL`, or the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database on the test PostgreSQL server, dropped by [`TempPostgres::drop_db`].
pub struct TempPostgres {
    pub url: String,
    name: String,
    admin: sqlx::PgConnection,
}

impl TempPostgres {
    /// `None` (after a clear SKIPPED line) when no server answers, except under `CI`,
    /// where PostgreSQL is required and its absence fails the test.
    pub async fn create(test: &str) -> Option<Self> {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED {test}: PostgreSQL not reachable ({e}); CI never skips this");
                return None;
            }
            Err(e) => panic!("PostgreSQL is required in CI: {e}"),
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        let name = format!("chainsignal_test_{}_{stamp}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create database");
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL ends in /name");
        Some(Self {
            url: format!("{base}/{name}"),
            name,
            admin,
        })
    }

    pub async fn drop_db(mut self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut self.admin)
        .await
        .expect("drop database");
    }
}

/// Send SIGTERM to `child` and wait up to 30 s for it to exit; `None` if it does not.
pub async fn terminate(child: &mut tokio::process::Child) -> Option<std::process::ExitStatus> {
    let pid = child.id().expect("the child is running").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(kill.success(), "kill -TERM {pid} failed");
    tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .ok()
        .map(|s| s.expect("wait"))
}

/// Whether `needle` occurs anywhere in a SQLite database's files (the database, its WAL
/// and journal): every table's text, and freed pages too. For "never stored in clear".
pub fn sqlite_files_contain(db: &std::path::Path, needle: &str) -> bool {
    let mut found = false;
    for suffix in ["", "-wal", "-journal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&path) {
            found |= bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        }
    }
    found
}

/// A fixed vault key (base64 of 32 bytes) for tests.
pub const TEST_VAULT_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
