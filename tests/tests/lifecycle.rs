//! Issue 11, items 2, 5 and 12, with the binary as a process: the console survives bytes
//! that are not UTF-8 and a 100 MB line in little memory; every subcommand stops on
//! SIGINT/SIGTERM (a second SIGINT forces it), SIGHUP stops gracefully; `run --console`
//! delivers the scheduled reports a console subscribed to.

use chainsignal_tests::chainsignal_bin;
use chainsignal_tests::fake_binance::{Behaviour, FakeBinance};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(30);

/// Everything a stream has said so far, updated as it comes.
#[derive(Clone)]
struct Captured(watch::Receiver<Arc<Vec<u8>>>);

impl Captured {
    fn new(mut from: impl AsyncRead + Unpin + Send + 'static) -> Self {
        let (tx, rx) = watch::channel(Arc::new(Vec::new()));
        tokio::spawn(async move {
            let mut all = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = from.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
                let _ = tx.send(Arc::new(all.clone()));
            }
        });
        Self(rx)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }

    /// Wait until `pred` holds for the text so far.
    async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let mut rx = self.0.clone();
        let found = tokio::time::timeout(WAIT, async {
            loop {
                if pred(&String::from_utf8_lossy(&rx.borrow_and_update())) {
                    return true;
                }
                if rx.changed().await.is_err() {
                    return pred(&String::from_utf8_lossy(&rx.borrow()));
                }
            }
        })
        .await;
        assert!(matches!(found, Ok(true)), "{what} never came:\n{}", self.text());
    }
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    out: Captured,
    err: Captured,
}

fn spawn(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Proc {
    let mut cmd = Command::new(chainsignal_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("life.sqlite").display()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let out = Captured::new(child.stdout.take().unwrap());
    let err = Captured::new(child.stderr.take().unwrap());
    Proc {
        stdin: child.stdin.take(),
        child,
        out,
        err,
    }
}

impl Proc {
    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name} {pid}");
    }

    /// The exit code, waiting at most `limit`.
    async fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        match tokio::time::timeout(limit, self.child.wait()).await {
            Ok(status) => status.unwrap().code(),
            Err(_) => panic!(
                "still running after {limit:?}\nstdout:\n{}\nstderr:\n{}",
                self.out.text(),
                self.err.text()
            ),
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Peak resident memory so far (VmHWM), in kB.
    fn peak_rss_kb(&self) -> u64 {
        let pid = self.child.id().expect("still running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }
}

/// `demo`, its stdin an open pipe, once it shows its first report.
async fn demo(dir: &Path) -> Proc {
    let p = spawn(dir, &["demo"], &[]);
    p.out
        .wait_for("the demo's first report", |o| {
            o.contains("Market report (demo data)")
        })
        .await;
    p
}

fn run_env(fake_url: Option<String>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CHAINSIGNAL_HTTP__BIND", "127.0.0.1:0".to_string()),
        ("CHAINSIGNAL_SHUTDOWN__TIMEOUT_SECS", "60".to_string()),
    ];
    match fake_url {
        Some(url) => env.push(("CHAINSIGNAL_MARKET__BINANCE_URL", url)),
        None => env.push(("CHAINSIGNAL_MARKET__SOURCE", "demo".into())),
    }
    env
}

async fn started(p: &Proc) {
    p.err
        .wait_for("the listening line", |e| e.contains("http server listening"))
        .await;
}

/// Item 2: bytes that are not UTF-8 and a 100 MB line are answered; the next command is
/// too; memory stays small (the line is capped while it is read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_survives_invalid_utf8_and_a_100_mb_line_in_little_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = demo(dir.path()).await;
    p.write(b"/help\n/report \xff\n").await;
    p.out
        .wait_for("the answer to the invalid line", |o| {
            o.contains("not valid UTF-8")
        })
        .await;
    let before = p.peak_rss_kb();
    // 100 MB of one line, then a command, written while the output is read.
    let mut stdin = p.stdin.take().unwrap();
    let writer = tokio::spawn(async move {
        stdin.write_all(b"/report ").await.unwrap();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..100 {
            stdin.write_all(&chunk).await.unwrap();
        }
        stdin.write_all(b"\n/report sol\n").await.unwrap();
        stdin.flush().await.unwrap();
        stdin
    });
    p.out
        .wait_for("the answer to /report sol after the long line", |o| {
            o.find("too long for a command")
                .is_some_and(|i| o[i..].contains("SOLUSDT"))
        })
        .await;
    let peak = p.peak_rss_kb();
    eprintln!("demo peak RSS (VmHWM): {before} kB before a 100 MB line, {peak} kB after");
    drop(writer.await.unwrap());
    assert_eq!(p.exit_within(WAIT).await, Some(0), "{}", p.err.text());
    // The whole process (more crates since issue 13/14: ~41 MB); the line itself is the
    // check below.
    assert!(peak < 64 * 1024, "peak RSS {peak} kB");
    assert!(peak - before < 8 * 1024, "the line cost {} kB", peak - before);
}

/// Item 5: `report` and `summary` waiting on a slow exchange stop at SIGINT or SIGTERM
/// (exit 130).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_and_summary_on_a_slow_exchange_stop_at_a_signal() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("BTCUSDT", Behaviour::Slow(Duration::from_secs(120)));
    for (command, signal) in [("report", "INT"), ("summary", "TERM")] {
        let dir = tempfile::tempdir().unwrap();
        fake.clear_requests();
        let mut p = spawn(
            dir.path(),
            &[command, "--symbols", "btc"],
            &[
                ("CHAINSIGNAL_MARKET__BINANCE_URL", fake.url()),
                ("CHAINSIGNAL_MARKET__BACKOFF_MS", "10".into()),
            ],
        );
        // The exchange answers in 2 minutes: the command is waiting on it.
        fake.wait_for_requests(1, WAIT).await;
        let at = Instant::now();
        p.signal(signal);
        let code = p.exit_within(WAIT).await;
        let took = at.elapsed();
        assert!(took < Duration::from_secs(3), "{command}: took {took:?}");
        assert_eq!(code, Some(130), "{command}: {}", p.err.text());
    }
}

/// Item 5: `demo` idle at its prompt (stdin open, nothing typed) stops at SIGTERM, SIGINT
/// and SIGHUP, with 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_at_its_prompt_stops_at_sigterm_sigint_and_sighup() {
    for signal in ["TERM", "INT", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let mut p = demo(dir.path()).await;
        let at = Instant::now();
        p.signal(signal);
        let code = p.exit_within(WAIT).await;
        let took = at.elapsed();
        assert!(took < Duration::from_secs(3), "SIG{signal}: took {took:?}");
        assert_eq!(code, Some(0), "SIG{signal}: {}", p.err.text());
        assert!(p.stdin.is_some(), "stdin stayed open");
    }
}

/// Item 5: SIGHUP stops `run` gracefully: exit 0 and the "stopped" line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_gracefully_at_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), &["run"], &run_env(None));
    started(&p).await;
    p.signal("HUP");
    let code = p.exit_within(WAIT).await;
    let log = p.err.text();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("SIGHUP received") && log.contains("stopped"),
        "{log}"
    );
    // No vault key: said once at start (issue 14).
    assert_eq!(log.matches("vault disabled").count(), 1, "{log}");
}

/// A vault key that is not 32 bytes of base64 stops `run` at start with a sentence that
/// names the variable and never shows the key; a good one is announced once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_bad_vault_keys_without_showing_them() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "bm90LTMyLWJ5dGVzLXNlY3JldGlzaA==";
    let mut env = run_env(None);
    env.push(("CHAINSIGNAL_VAULT_KEY", bad.to_string()));
    let mut p = spawn(dir.path(), &["run"], &env);
    let code = p.exit_within(WAIT).await;
    let log = p.err.text();
    assert_ne!(code, Some(0), "{log}");
    assert!(log.contains("CHAINSIGNAL_VAULT_KEY decodes to 22 bytes"), "{log}");
    assert!(!log.contains(bad), "{log}");

    let mut env = run_env(None);
    env.push((
        "CHAINSIGNAL_VAULT_KEY",
        chainsignal_tests::TEST_VAULT_KEY.to_string(),
    ));
    let mut p = spawn(dir.path(), &["run"], &env);
    started(&p).await;
    p.signal("TERM");
    assert_eq!(p.exit_within(WAIT).await, Some(0), "{}", p.err.text());
    let log = p.err.text();
    assert_eq!(log.matches("vault enabled").count(), 1, "{log}");
    assert!(!log.contains(chainsignal_tests::TEST_VAULT_KEY), "{log}");
}

/// Item 5: a second SIGINT ends `run` at once while a console command is still in flight
/// (the first one would give it `shutdown.timeout_secs`, here 60 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_forces_the_exit() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("BTCUSDT", Behaviour::Slow(Duration::from_secs(120)));
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), &["run", "--console"], &run_env(Some(fake.url())));
    started(&p).await;
    fake.clear_requests();
    p.write(b"/report btc\n").await;
    fake.wait_for_requests(1, WAIT).await;
    p.signal("INT");
    p.err
        .wait_for("the first SIGINT", |e| e.contains("SIGINT received"))
        .await;
    let at = Instant::now();
    p.signal("INT");
    let code = p.exit_within(WAIT).await;
    let took = at.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(code, Some(130), "{}", p.err.text());
}

/// Item 12: a console that said `/subscribe reports` in `run --console` receives the
/// scheduled report, recorded `sent`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_console_delivers_scheduled_reports_to_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), &["run", "--console"], &run_env(None));
    started(&p).await;
    p.write(b"/subscribe reports\n").await;
    p.out
        .wait_for("the subscription", |o| {
            o.contains("This chat now receives the scheduled market reports.")
        })
        .await;
    p.signal("TERM");
    assert_eq!(p.exit_within(WAIT).await, Some(0), "{}", p.err.text());

    // Again with a schedule every minute: at start it runs its latest slot.
    std::fs::write(
        dir.path().join("chainsignal.toml"),
        "[[schedule]]\nname = \"every-minute\"\ncron = \"* * * * *\"\ntimezone = \"UTC\"\n\
         kind = \"report\"\nsymbols = [\"BTC\"]\n",
    )
    .unwrap();
    let mut p = spawn(dir.path(), &["run", "--console"], &run_env(None));
    p.out
        .wait_for("the scheduled report on the console", |o| {
            o.contains("Scheduled report: every-minute") && o.contains("BTCUSDT")
        })
        .await;
    p.signal("TERM");
    assert_eq!(p.exit_within(WAIT).await, Some(0), "{}", p.err.text());

    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.path().join("life.sqlite").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT target, status FROM deliveries")
        .fetch_all(&mut db)
        .await
        .unwrap();
    assert_eq!(rows, [("console:console".to_string(), "sent".to_string())]);
}
