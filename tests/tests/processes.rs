//! The binary as a process: `demo` offline, `run` serving health checks and stopping
//! cleanly on SIGTERM.

use chainsignal_tests::chainsignal_bin;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shows_a_report_answers_and_exits_at_end_of_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(chainsignal_bin())
        .arg("demo")
        .current_dir(dir.path())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"/report btc eth\n/report nope\n/help\n/lang pl\n/report\n")
        .await
        .unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Market report (demo data)"), "{stdout}");
    assert!(stdout.contains("demo data (synthetic prices, not the market)"));
    for s in [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "TAOUSDT", "DASHUSDT", "HEMIUSDT", "PYTHUSDT",
    ] {
        assert!(stdout.contains(s), "{s}");
    }
    assert!(stdout.contains("NOPEUSDT: the exchange does not list this symbol."));
    assert!(stdout.contains("Raport rynkowy (dane demonstracyjne)"));
    // Buttons are numbered once per session: the opening report shows none, so the first
    // number belongs to the first report asked for.
    assert_eq!(stdout.matches("[Refresh: /press 1]").count(), 1, "{stdout}");
    assert!(stdout.contains("[Odśwież: /press 2]"), "{stdout}");
    assert!(
        !dir.path().join("data").exists(),
        "the demo leaves no database behind"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(chainsignal_bin())
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        .env("CHAINSIGNAL_HTTP__BIND", "127.0.0.1:0")
        .env("CHAINSIGNAL_MARKET__SOURCE", "demo")
        .env("DISCORD_TOKEN", "dc-token-must-not-leak")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = stderr.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("http server listening") {
                let addr = line
                    .split("addr=")
                    .nth(1)
                    .unwrap()
                    .split_whitespace()
                    .next()
                    .unwrap();
                return addr.to_string();
            }
        }
        panic!("no listening line in:\n{log}");
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let health = http.get(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = http.get(format!("http://{addr}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
    assert!(
        dir.path().join("data/chainsignal.sqlite").exists(),
        "the default SQLite file under data/"
    );

    let status = chainsignal_tests::terminate(&mut child)
        .await
        .expect("exits after SIGTERM");
    while let Some(line) = stderr.next_line().await.unwrap() {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(status.success(), "exit status {status:?}\n{log}");
    assert!(
        log.contains("SIGTERM received") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        !log.contains("dc-token-must-not-leak"),
        "a secret reached the log:\n{log}"
    );
}
