//! `chainsignal report` as a user runs it (the real binary, configured by environment
//! variables) against the fake exchange; the numbers are checked against an independent
//! implementation of DESIGN.md's definitions.

use chainsignal_tests::chainsignal_bin;
use chainsignal_tests::fake_binance::{Behaviour, FakeBinance, Kline};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

async fn chainsignal(dir: &Path, fake: &FakeBinance, args: &[&str]) -> Output {
    chainsignal_with(dir, fake, args, &[]).await
}

/// As [`chainsignal`], with more environment variables (later ones win).
async fn chainsignal_with(dir: &Path, fake: &FakeBinance, args: &[&str], env: &[(&str, &str)]) -> Output {
    tokio::process::Command::new(chainsignal_bin())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHAINSIGNAL_MARKET__BINANCE_URL", fake.url())
        .env("CHAINSIGNAL_MARKET__BACKOFF_MS", "10")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("history.sqlite").display()),
        )
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run chainsignal")
}

fn f(s: &str) -> f64 {
    s.parse().unwrap()
}

/// DESIGN.md's definitions, written from the text, independently of core::indicators.
struct Expected {
    close: f64,
    ch: [f64; 3],
    atr: [f64; 2],
}

fn expected(hourly: &[Kline], daily: &[Kline]) -> Expected {
    let closes: Vec<f64> = hourly.iter().map(|k| f(&k.close)).collect();
    let last = closes.len() - 1;
    let close = closes[last];
    let ch = [24, 72, 168].map(|h| (close / closes[last - h] - 1.0) * 100.0);
    let atr = [3usize, 7].map(|n| {
        let mut value = 0.0;
        for i in 1..daily.len() {
            let (h, l, pc) = (f(&daily[i].high), f(&daily[i].low), f(&daily[i - 1].close));
            let tr = [h - l, (h - pc).abs(), (l - pc).abs()]
                .into_iter()
                .fold(f64::MIN, f64::max);
            if i < n {
                value += tr;
            } else if i == n {
                value = (value + tr) / n as f64;
            } else {
                value = (value * (n as f64 - 1.0) + tr) / n as f64;
            }
        }
        value / close * 100.0
    });
    Expected { close, ch, atr }
}

fn close_to(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1e-12)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_report_matches_the_definitions_and_lists_failures() {
    let fake = FakeBinance::with_watchlist().await;
    fake.set_behaviour("SOLUSDT", Behaviour::ServerError { times: 1000 });
    let dir = tempfile::tempdir().unwrap();
    let out = chainsignal(
        dir.path(),
        &fake,
        &[
            "report",
            "--format",
            "json",
            "--symbols",
            "btc,ETH/USDT,nope,SOLUSDT,hemiusdt",
        ],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(json["source"], "binance");
    assert!(chrono::DateTime::parse_from_rfc3339(json["generated_at"].as_str().unwrap()).is_ok());

    let rows = json["rows"].as_array().unwrap();
    let symbols: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert_eq!(symbols, ["BTCUSDT", "ETHUSDT", "HEMIUSDT"]);
    for row in rows {
        let s = row["symbol"].as_str().unwrap();
        // All the daily candles the fake has (400), not only the 365 asked for:
        // Wilder's smoothing has forgotten its start long before.
        let want = expected(&fake.klines(s, "1h"), &fake.klines(s, "1d"));
        let fields = [
            ("close", want.close),
            ("change_24h_pct", want.ch[0]),
            ("change_3d_pct", want.ch[1]),
            ("change_7d_pct", want.ch[2]),
            ("atr_3d_pct", want.atr[0]),
            ("atr_7d_pct", want.atr[1]),
        ];
        for (name, value) in fields {
            let got = row[name]
                .as_f64()
                .unwrap_or_else(|| panic!("{s}.{name} is not a number"));
            assert!(close_to(got, value), "{s}.{name}: got {got}, want {value}");
        }
    }
    let errors = json["errors"].as_array().unwrap();
    let failed: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e["symbol"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("NOPEUSDT", "unknown_symbol"),
            ("SOLUSDT", "exchange_unavailable")
        ]
    );
    assert!(errors[0]["message"].as_str().unwrap().contains("does not list"));

    // The report is kept: the history export has its rows.
    let export = chainsignal(dir.path(), &fake, &["export", "reports", "--since", "2020-01-01"]).await;
    assert!(export.status.success());
    let csv = String::from_utf8_lossy(&export.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "report_id,generated_at,source,symbol,close,change_24h_pct,change_3d_pct,change_7d_pct,atr_3d_pct,atr_7d_pct"
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[1].contains(",binance,BTCUSDT,"));
    let close: f64 = lines[1].split(',').nth(4).unwrap().parse().unwrap();
    assert_eq!(
        close,
        rows[0]["close"].as_f64().unwrap(),
        "full precision in the history"
    );

    // --since in the future: header only; --out writes a file.
    let export = chainsignal(dir.path(), &fake, &["export", "reports", "--since", "2999-01-01"]).await;
    assert_eq!(String::from_utf8_lossy(&export.stdout).lines().count(), 1);
    let file = dir.path().join("history.csv");
    let export = chainsignal(
        dir.path(),
        &fake,
        &["export", "reports", "--out", file.to_str().unwrap()],
    )
    .await;
    assert!(export.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), csv);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_and_csv_formats_and_the_default_watchlist() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let out = chainsignal(dir.path(), &fake, &["report"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.starts_with("Market report\n"), "{table}");
    for s in [
        "BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "TAOUSDT", "DASHUSDT", "HEMIUSDT", "PYTHUSDT",
    ] {
        assert!(table.contains(s), "{s} missing:\n{table}");
    }
    assert!(table.contains("Source: Binance"));
    assert_eq!(fake.request_count(), 16, "hourly and daily for each of 8 symbols");

    let out = chainsignal(
        dir.path(),
        &fake,
        &["report", "--format", "csv", "--symbols", "btc,nope"],
    )
    .await;
    assert!(out.status.success());
    let csv = String::from_utf8_lossy(&out.stdout);
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.starts_with(
        "symbol,close,change_24h_pct,change_3d_pct,change_7d_pct,atr_3d_pct,atr_7d_pct\nBTCUSDT,"
    ));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOPEUSDT"));

    let out = chainsignal(
        dir.path(),
        &fake,
        &["report", "--symbols", "nope", "--locale", "pl"],
    )
    .await;
    assert!(!out.status.success(), "no row at all is a failure");
    assert!(String::from_utf8_lossy(&out.stdout).contains("giełda nie notuje"));

    let out = chainsignal(dir.path(), &fake, &["report", "--symbols", "b@d"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a symbol"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_and_bad_configuration() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let out = chainsignal(dir.path(), &fake, &["migrate"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("history.sqlite").exists());

    std::fs::write(dir.path().join("chainsignal.toml"), "[market]\nconcurrency = 0\n").unwrap();
    let out = chainsignal(dir.path(), &fake, &["report"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("market.concurrency"));

    let out = chainsignal(dir.path(), &fake, &["report", "--config", "missing.toml"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summary_cli_asks_the_configured_provider_in_polish_or_falls_back() {
    use chainsignal_tests::fake_openai::FakeOpenAi;
    let ai = FakeOpenAi::start().await;
    ai.set_answer("Rynek jest spokojny.");
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |key: Option<&'static str>| {
        let mut cmd = tokio::process::Command::new(chainsignal_bin());
        cmd.args(["summary", "--locale", "pl", "--symbols", "btc,eth"])
            .current_dir(dir.path())
            .env_clear()
            .env("CHAINSIGNAL_MARKET__BINANCE_URL", fake.url())
            .env("CHAINSIGNAL_AI__BASE_URL", ai.base_url())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("s.sqlite").display()),
            )
            .env("RUST_LOG", "debug");
        if let Some(k) = key {
            cmd.env("GROQ_API_KEY", k);
        }
        cmd.output()
    };
    let out = run(Some("gsk_cli_secret")).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Podsumowanie rynku (AI)") && stdout.contains("Rynek jest spokojny."),
        "{stdout}"
    );
    let requests = ai.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer gsk_cli_secret")
    );
    let body = requests[0].body.to_string();
    assert!(
        body.contains("Pisz po polsku") && body.contains("BTCUSDT close=") && body.contains("ETHUSDT close=")
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("gsk_cli_secret"));

    let out = run(None).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("Podsumowanie rynku (regułowe, nie AI)"),
        "{stdout}"
    );
    assert_eq!(ai.requests().len(), 1, "no key, no request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_symbols_than_the_cap_are_refused_before_any_request() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    let many: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
    let list = many.join(",");
    for command in ["report", "summary"] {
        let out = chainsignal(dir.path(), &fake, &[command, "--symbols", &list]).await;
        assert!(!out.status.success(), "{command}");
        // (How many times a fatal error is printed is issue 11's item 13, not this test's.)
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.lines().any(|l| l.starts_with("chainsignal: --symbols:")
                && l.contains("at most 20")
                && l.contains("21 given")),
            "{command}: {stderr}"
        );
    }
    assert_eq!(fake.request_count(), 0, "no klines request");
    assert_eq!(fake.exchange_info_requests(), 0);

    // Exactly the cap is fine (20 unknown symbols: answered from exchangeInfo alone).
    let out = chainsignal(
        dir.path(),
        &fake,
        &["report", "--format", "json", "--symbols", &many[..20].join(",")],
    )
    .await;
    let json: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(json["errors"].as_array().unwrap().len(), 20);
    assert_eq!(fake.request_count(), 0);
    assert_eq!(fake.exchange_info_requests(), 1);

    // A watchlist over the cap is refused at load.
    let out = chainsignal_with(
        dir.path(),
        &fake,
        &["report"],
        &[("CHAINSIGNAL_MARKET__WATCHLIST", &format!("[{}]", many.join(",")))],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("market.watchlist") && stderr.contains("at most 20"),
        "{stderr}"
    );
}

/// The one line a bad setting gets: nonzero exit, exactly one line on stderr, naming `key`.
fn refused_with_one_line(out: &Output, key: &str, value: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{key}: accepted; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{key}: one line, got: {stderr}");
    assert!(lines[0].contains(key), "{key} not named: {stderr}");
    assert!(lines[0].contains(value), "{value} not shown: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_and_log_filters_are_refused_at_start_with_one_line() {
    let fake = FakeBinance::with_watchlist().await;
    let dir = tempfile::tempdir().unwrap();
    for (var, key, value) in [
        (
            "CHAINSIGNAL_MARKET__BINANCE_URL",
            "market.binance_url",
            "http://[::1",
        ),
        (
            "CHAINSIGNAL_MARKET__BINANCE_URL",
            "market.binance_url",
            "https://",
        ),
        (
            "CHAINSIGNAL_MARKET__BINANCE_URL",
            "market.binance_url",
            "ftp://example.com",
        ),
        ("CHAINSIGNAL_TELEGRAM__API_URL", "telegram.api_url", "http://[::1"),
        (
            "CHAINSIGNAL_DISCORD__API_URL",
            "discord.api_url",
            "http:// bad host",
        ),
        ("CHAINSIGNAL_AI__BASE_URL", "ai.base_url", "http://[::1"),
        ("CHAINSIGNAL_LOG__LEVEL", "log.level", "verbose!!"),
        ("RUST_LOG", "RUST_LOG", "[[["),
        ("RUST_LOG", "RUST_LOG", "chainsignal=loud"),
    ] {
        for command in ["report", "migrate"] {
            let out = chainsignal_with(dir.path(), &fake, &[command], &[(var, value)]).await;
            refused_with_one_line(&out, key, value);
        }
    }
    assert_eq!(fake.request_count(), 0);
    // Ordinary filters still work.
    for (var, value) in [
        ("CHAINSIGNAL_LOG__LEVEL", "debug"),
        ("CHAINSIGNAL_LOG__LEVEL", "chainsignal=debug,sqlx=warn"),
        ("RUST_LOG", "info"),
        ("RUST_LOG", "chainsignal_core::market=trace,warn"),
        ("RUST_LOG", ""),
    ] {
        let out = chainsignal_with(dir.path(), &fake, &["migrate"], &[(var, value)]).await;
        assert!(
            out.status.success(),
            "{var}={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
