//! Operations: backup and restore of the SQLite database, SIGTERM during a command,
//! `/metrics`, and the README, `--help` and the config template agreeing.

use chainsignal::app::App;
use chainsignal::console;
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_tests::chainsignal_bin;
use chainsignal_tests::fake_binance::{Behaviour, FakeBinance};
use secrecy::SecretString;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn cli(dir: &Path, db: &Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(chainsignal_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", sqlite_url(db))
        .output()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_wipe_restore_finds_every_row_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/live.sqlite");
    let url = SecretString::from(sqlite_url(&db));
    {
        let app = App::build(Config::default(), Some(Source::Demo), Some(url.clone()))
            .await
            .unwrap();
        let mut out = Vec::new();
        console::serve(
            &app.commands,
            "/report btc eth\n/lang pl\n/report sol\n".as_bytes(),
            &mut out,
            false,
        )
        .await
        .unwrap();
        app.store.close().await;
    }
    let backup = dir.path().join("backup.sqlite");
    let out = cli(dir.path(), &db, &["backup", "--out", backup.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = cli(dir.path(), &db, &["backup", "--out", backup.to_str().unwrap()]).await;
    assert!(!again.status.success(), "an existing file is not overwritten");

    for f in ["live.sqlite", "live.sqlite-wal", "live.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join("data").join(f));
    }
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, b"not a database").unwrap();
    let out = cli(dir.path(), &db, &["restore", junk.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(!db.exists(), "a bad backup replaces nothing");
    let out = cli(dir.path(), &db, &["restore", backup.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let store = chainsignal_core::store::open(&url, 1).await.unwrap();
    assert_eq!(
        store.report_history(None).await.unwrap().len(),
        3,
        "every report row"
    );
    let chat = chainsignal_core::store::ChatKey {
        platform: "console".into(),
        platform_chat_id: "console".into(),
    };
    assert_eq!(
        store.ensure_chat(&chat, "en").await.unwrap().locale,
        "pl",
        "every chat"
    );
    assert_eq!(store.recent_audit(100).await.unwrap().len(), 3, "every audit row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_command_lets_it_finish_and_exits_cleanly() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("BTCUSDT", Behaviour::Slow(Duration::from_secs(2)));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("run.sqlite");
    let mut child = tokio::process::Command::new(chainsignal_bin())
        .args(["run", "--console"])
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", sqlite_url(&db))
        .env("CHAINSIGNAL_MARKET__BINANCE_URL", fake.url())
        .env("CHAINSIGNAL_HTTP__BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr all along: a full pipe would block the child.
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let reader = tokio::spawn({
        let log = log.clone();
        async move {
            let mut addr_tx = Some(addr_tx);
            while let Ok(Some(line)) = stderr.next_line().await {
                if line.contains("http server listening")
                    && let Some(tx) = addr_tx.take()
                {
                    let addr = line.split("addr=").nth(1).unwrap_or_default();
                    let _ = tx.send(addr.split_whitespace().next().unwrap_or_default().to_string());
                }
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx)
        .await
        .unwrap()
        .unwrap();

    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"/report eth\n").await.unwrap();
    fake.wait_for_requests(2, Duration::from_secs(30)).await;
    stdin.write_all(b"/report btc\n").await.unwrap();
    fake.wait_for_requests(3, Duration::from_secs(30)).await;
    // The BTC report is in flight (the exchange takes 2 s): stop the bot now.
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let Some(status) = chainsignal_tests::terminate(&mut child).await else {
        panic!("no exit 30 s after SIGTERM; log:\n{}", log.lock().unwrap());
    };
    let _ = reader.await;
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        stdout.contains("ETHUSDT") && stdout.contains("BTCUSDT"),
        "the command in flight answered:\n{stdout}"
    );

    let store = chainsignal_core::store::open(&SecretString::from(sqlite_url(&db)), 1)
        .await
        .unwrap();
    let audit = store.recent_audit(10).await.unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(
        (audit[0].args.as_str(), audit[0].outcome.as_str()),
        ("symbols=BTCUSDT", "ok"),
        "its audit row is complete (typed arguments, canonical)"
    );

    for family in [
        "chainsignal_commands_total{command=\"report\",outcome=\"ok\"} 1",
        "chainsignal_command_duration_seconds_bucket",
        "chainsignal_outbound_requests_total{service=\"binance\",status=\"200\"}",
        "chainsignal_scheduled_posts_total",
        "chainsignal_ai_tokens_total",
        "chainsignal_alerts_total",
    ] {
        assert!(
            metrics.contains(family),
            "{family} missing from /metrics:\n{metrics}"
        );
    }
}

#[test]
fn readme_help_and_config_template_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let help = std::process::Command::new(chainsignal_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 8, "{help}");
    for c in commands {
        assert!(
            readme.contains(&format!("chainsignal {c}")),
            "README does not show `chainsignal {c}`"
        );
    }
    // Every key of the template is a real setting (unknown keys are refused), and every
    // section of the config appears in the template.
    let template = root.join("chainsignal.example.toml");
    let config = Config::load(Some(&template)).expect("the template loads");
    config.validate().unwrap();
    let text = std::fs::read_to_string(&template).unwrap();
    for section in [
        "market",
        "database",
        "http",
        "log",
        "chat",
        "telegram",
        "ai",
        "scheduler",
        "alerts",
        "admins",
        "discord",
        "shutdown",
        "risk",
    ] {
        assert!(
            text.contains(&format!("[{section}]")),
            "[{section}] missing from the template"
        );
    }
}
