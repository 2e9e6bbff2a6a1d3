//! Local fakes for Chainsignal's tests and benchmarks. They listen on 127.0.0.1 only.

pub mod fake_binance;
pub mod fake_openai;
pub mod fake_telegram;

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
