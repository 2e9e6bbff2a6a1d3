//! Issue 14's "Done when" for the keys at rest: the real `chainsignal` binary registers
//! a key with a recognisable secret (console, against the fake testnet), lists and tests
//! it, trades with it on the testnet (open, close, a refused order, a lost answer looked
//! up by client id, an SL close by the monitor), restarts, rotates the vault, backs up,
//! all at `RUST_LOG=trace`; then every log line, every reply, the SQLite files, a
//! PostgreSQL dump and the backup are searched: the secret and every HMAC signature the
//! exchange received nowhere, the API key only masked. Also `vault rotate` killed halfway and
//! run again, `/keys list|remove|test` with a tampered and a moved row, the weekly
//! reminder of old keys, and `/admin keys`.

use chainsignal::app::App;
use chainsignal::console;
use chainsignal::delivery::Outboxes;
use chainsignal::scheduler::Scheduler;
use chainsignal_commands::{PrivateMessenger, Reply};
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_core::store::{ExchangeKeyRecord, Identity, NewExchangeKey, Store};
use chainsignal_core::vault::{Binding, Vault};
use chainsignal_core::{Clock, ManualClock};
use chainsignal_tests::fake_binance::{FakeBinance, MarketSpec, OrderFault};
use chainsignal_tests::{TEST_VAULT_KEY, TempPostgres, chainsignal_bin, sqlite_files_contain};
use chrono::{Datelike, Duration as Days, TimeZone, Utc};
use secrecy::SecretString;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(60);
const VAULT_KEY_2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
const API_KEY: &str = "APIKEYdonewhen000000000000001234wxyz";
const SECRET: &str = "SECRETdonewhenRecognisable0000000000077";
const MASK: &str = "APIK…wxyz";

// ============================ the real binary ============================

struct Env {
    dir: tempfile::TempDir,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(database_url: &str, fake: &FakeBinance) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let vars = [
            ("DATABASE_URL", database_url.to_string()),
            ("CHAINSIGNAL_VAULT_KEY", TEST_VAULT_KEY.to_string()),
            ("CHAINSIGNAL_MARKET__BINANCE_TESTNET_URL", fake.url()),
            ("CHAINSIGNAL_MARKET__BINANCE_URL", fake.url()),
            ("CHAINSIGNAL_MARKET__SOURCE", "demo".to_string()),
            ("CHAINSIGNAL_HTTP__ENABLED", "false".to_string()),
            ("CHAINSIGNAL_SCHEDULER__ENABLED", "false".to_string()),
            ("RUST_LOG", "trace".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .to_vec();
        Self { dir, vars }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(chainsignal_bin());
        c.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true);
        c
    }

    fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
    }
}

/// `chainsignal run --console` fed `input`, until stdout shows `until` (then SIGTERM):
/// its stdout and stderr.
async fn run_console(env: &Env, input: &str, until: &str) -> (String, String) {
    let mut child = env
        .command(&["run", "--console"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let stderr = child.stderr.take().unwrap();
    let err_task = tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        let mut all = String::new();
        while let Ok(Some(l)) = lines.next_line().await {
            all.push_str(&l);
            all.push('\n');
        }
        all
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    let seen = tokio::time::timeout(WAIT, async {
        while let Ok(Some(l)) = lines.next_line().await {
            out.push_str(&l);
            out.push('\n');
            if l.contains(until) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(seen, Ok(true), "{until:?} never shown:\n{out}");
    let status = chainsignal_tests::terminate(&mut child)
        .await
        .expect("stops on SIGTERM");
    while let Ok(Some(l)) = lines.next_line().await {
        out.push_str(&l);
        out.push('\n');
    }
    let err = err_task.await.unwrap();
    assert!(status.success(), "{status:?}\n{err}");
    (out, err)
}

/// `chainsignal run --console` driven one line at a time: each line is followed by
/// `/mode`, whose one-line answer marks the end of the line's reply, so that the next
/// line can depend on what came back (a position's number, a button's number).
struct Console {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    err_task: tokio::task::JoinHandle<String>,
    out: String,
}

/// The answer to `/mode` (on one line): the end of each reply in a [`Console`].
const MODE_LINE: &str = "Change with /mode paper, /mode testnet or /mode live.";

impl Console {
    fn start(env: &Env) -> Self {
        let mut child = env
            .command(&["run", "--console"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut all = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                all.push_str(&l);
                all.push('\n');
            }
            all
        });
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            lines,
            err_task,
            out: String::new(),
        }
    }

    /// The reply to `line` (without the `/mode` line that ends it).
    async fn say(&mut self, line: &str) -> String {
        self.stdin
            .write_all(format!("{line}\n/mode\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
        let mut reply = String::new();
        let lines = &mut self.lines;
        let ended = tokio::time::timeout(WAIT, async {
            while let Ok(Some(l)) = lines.next_line().await {
                if l.contains(MODE_LINE) {
                    return true;
                }
                reply.push_str(&l);
                reply.push('\n');
            }
            false
        })
        .await;
        self.out.push_str(&reply);
        assert_eq!(ended, Ok(true), "no answer to {line:?}:\n{}", self.out);
        reply
    }

    /// SIGTERM: every line it wrote to stdout and to stderr.
    async fn stop(mut self) -> (String, String) {
        drop(self.stdin);
        let status = chainsignal_tests::terminate(&mut self.child)
            .await
            .expect("stops on SIGTERM");
        while let Ok(Some(l)) = self.lines.next_line().await {
            self.out.push_str(&l);
            self.out.push('\n');
        }
        let err = self.err_task.await.unwrap();
        assert!(status.success(), "{status:?}\n{err}");
        (self.out, err)
    }
}

/// The number after `marker` in `text` (`Opened #12:` → 12, `/confirm 3]` → 3).
fn number_after(text: &str, marker: &str) -> u64 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in:\n{text}"));
    text[at + marker.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in:\n{text}"))
}

/// A one-shot subcommand: (exit status, stdout, stderr).
async fn one_shot(env: &Env, args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let out = env.command(args).stdin(Stdio::null()).output().await.unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every text the processes produced, with what it is for the messages.
struct Seen(Vec<(String, String)>);

impl Seen {
    fn push(&mut self, what: &str, text: String) {
        self.0.push((what.to_string(), text));
    }

    /// Neither the secret, the API key nor any of `signatures` (the HMAC values the fake
    /// exchange received) in any of it.
    fn assert_clean(&self, signatures: &[String]) {
        let logs: usize = self.0.iter().map(|(_, t)| t.lines().count()).sum();
        assert!(logs > 100, "the processes log verbosely ({logs} lines)");
        for (what, text) in &self.0 {
            let needles = [SECRET, API_KEY]
                .into_iter()
                .chain(signatures.iter().map(String::as_str));
            for needle in needles {
                let hits: Vec<&str> = text.lines().filter(|l| l.contains(needle)).collect();
                assert!(hits.is_empty(), "{needle} in {what}:\n{}", hits.join("\n"));
            }
        }
    }
}

/// The whole life of one key on one database, through the real binary.
async fn key_life(env: &mut Env, fake: &FakeBinance, seen: &mut Seen) {
    let input =
        format!("/keys add binance-testnet label=main\n{API_KEY}\n{SECRET}\n/keys list\n/keys test main\n");
    let (out, err) = run_console(env, &input, "works.").await;
    assert!(
        out.contains(&format!("Key main for binance-testnet stored, sealed: {MASK}.")),
        "{out}"
    );
    assert!(
        out.contains(&format!("main · binance-testnet (testnet) · {MASK} · added")),
        "{out}"
    );
    assert!(out.contains(&format!("Key main ({MASK}) works.")), "{out}");
    assert!(
        err.lines()
            .any(|l| l.contains(" DEBUG ") || l.contains(" TRACE ")),
        "RUST_LOG=trace lets the verbose lines through:\n{err}"
    );
    seen.push("the first run's replies", out);
    seen.push("the first run's log", err);
    assert!(fake.requests_to("/api/v3/account") >= 2);

    trade(env, fake, seen).await;

    // A restart: the key still opens and works.
    let (out, err) = run_console(env, "/keys test\n/keys list\n", "last used").await;
    assert!(out.contains(&format!("Key main ({MASK}) works.")), "{out}");
    assert!(!out.contains("last used never"), "{out}");
    seen.push("the restart's replies", out);
    seen.push("the restart's log", err);

    // Rotation to a second vault key, with the first still configured to open.
    env.set("CHAINSIGNAL_VAULT_KEY_2", VAULT_KEY_2);
    let (status, out, err) = one_shot(env, &["vault", "rotate"]).await;
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("1 resealed, 0 already on it"), "{out}");
    seen.push("vault rotate's output", out);
    seen.push("vault rotate's log", err);
    let (status, out, err) = one_shot(env, &["vault", "check"]).await;
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains("1 open, 0 do not open (v2: 1)"), "{out}");
    seen.push("vault check", format!("{out}\n{err}"));

    // After the rotation, the key opens under version 2 alone.
    env.vars.retain(|(k, _)| k != "CHAINSIGNAL_VAULT_KEY");
    env.set("CHAINSIGNAL_VAULT_KEY_2", VAULT_KEY_2);
    let (out, err) = run_console(env, "/keys test main\n", "works.").await;
    seen.push("the run after the rotation", format!("{out}\n{err}"));
}

/// The trading paths with the registered key, through the real binary on the fake
/// testnet (which checks every signature): `/mode testnet`; a long opened by Confirm,
/// listed, closed by its number; an order the exchange refuses (-2010, balance locked);
/// an order whose answer is lost (placed, then the request times out: looked up by its
/// client id, never sent twice); then, in a second run with the scheduler on, the SL/TP
/// monitor closing that position when the fake's price crosses its stop-loss. The
/// fake's own order book shows the four orders.
async fn trade(env: &mut Env, fake: &FakeBinance, seen: &mut Seen) {
    fake.add_market(
        MarketSpec::new("BTCUSDT", "BTC", "USDT")
            .price("50000", "50010")
            .lot("0.001", "0.001", "9000")
            .min_notional("10"),
    );
    fake.set_balance(API_KEY, "USDT", "10000");
    // A lost answer is given up on after this long (then looked up by client id).
    env.set("CHAINSIGNAL_MARKET__REQUEST_TIMEOUT_MS", "1500");
    let open = "/open btc long 0.01 sl=49000 tp=52000";

    let mut console = Console::start(env);
    let said = console.say("/mode testnet").await;
    assert!(said.contains("Done: your orders now go to"), "{said}");

    // 1. Preview, Confirm, the position listed, closed by its number.
    let preview = console.say(open).await;
    assert!(preview.contains("Order preview: BTCUSDT"), "{preview}");
    let confirm = number_after(&preview, "/confirm ");
    let opened = console.say(&format!("/confirm {confirm}")).await;
    assert!(opened.contains("Opened #"), "{opened}");
    let first = number_after(&opened, "Opened #");
    let listed = console.say("/positions").await;
    assert!(listed.contains("BTCUSDT"), "{listed}");
    let closed = console.say(&format!("/close {first}")).await;
    assert!(closed.contains(&format!("Closed #{first}")), "{closed}");
    assert_eq!(fake.orders().len(), 2, "bought and sold: {:#?}", fake.orders());

    // 2. The exchange refuses the order: the USDT is locked in other orders (-2010).
    let usdt = fake.balance(API_KEY, "USDT");
    fake.set_balance(API_KEY, "USDT", "1");
    fake.set_locked(API_KEY, "USDT", "9999");
    let preview = console.say(open).await;
    let confirm = number_after(&preview, "/confirm ");
    let refused = console.say(&format!("/confirm {confirm}")).await;
    assert!(
        refused.contains("The exchange says your balance is too low for this order; nothing was placed."),
        "{refused}"
    );
    assert_eq!(fake.requests_with("POST", "/api/v3/order"), 3);
    assert_eq!(fake.orders().len(), 2, "refused: nothing placed");
    fake.set_balance(API_KEY, "USDT", &usdt.to_string());
    fake.set_locked(API_KEY, "USDT", "0");

    // 3. Placed, but the answer is lost: the order is looked up by its client id.
    let lookups = fake.requests_with("GET", "/api/v3/order");
    let preview = console.say(open).await;
    let confirm = number_after(&preview, "/confirm ");
    fake.inject_order_fault(OrderFault::TimeoutAfterPlacing);
    let opened = console.say(&format!("/confirm {confirm}")).await;
    assert!(opened.contains("Opened #"), "{opened}");
    let second = number_after(&opened, "Opened #");
    assert_ne!(first, second);
    assert_eq!(fake.requests_with("POST", "/api/v3/order"), 4, "not sent twice");
    assert!(fake.requests_with("GET", "/api/v3/order") > lookups, "looked up");
    assert_eq!(fake.orders().len(), 3);
    let (out, err) = console.stop().await;
    assert!(
        err.contains("looking it up by its client id") && err.contains("lost order found"),
        "the lost answer's path ran:\n{err}"
    );
    seen.push("the trading run's replies", out);
    seen.push("the trading run's log", err);

    // 4. The monitor closes that position once its stop-loss is crossed.
    env.set("CHAINSIGNAL_SCHEDULER__ENABLED", "true");
    env.set("CHAINSIGNAL_TRADING__MONITOR_SECS", "1");
    let mut console = Console::start(env);
    let listed = console.say("/positions").await;
    assert!(listed.contains("BTCUSDT"), "{listed}");
    fake.set_price("BTCUSDT", "48000", "48010");
    fake.wait_for_orders(4, WAIT).await;
    // The close is recorded just after the exchange's answer: ask until it shows.
    tokio::time::timeout(WAIT, async {
        while !console.say("/positions").await.contains("No open positions.") {}
    })
    .await
    .expect("the monitor's close is recorded");
    let history = console.say("/positions history").await;
    assert_eq!(history.matches("BTCUSDT").count(), 2, "{history}");
    let (out, err) = console.stop().await;
    assert!(
        err.lines()
            .any(|l| l.contains("position monitor tick") && l.contains("closed=1")),
        "the monitor closed it:\n{err}"
    );
    seen.push("the monitor run's replies", out);
    seen.push("the monitor run's log", err);
    env.set("CHAINSIGNAL_SCHEDULER__ENABLED", "false");

    // The fake's own book: buy, sell (manual close), buy (lost answer), sell (monitor).
    let orders = fake.orders();
    let sides: Vec<&str> = orders.iter().map(|o| o.side.as_str()).collect();
    assert_eq!(sides, ["BUY", "SELL", "BUY", "SELL"], "{orders:#?}");
    assert!(orders.iter().all(|o| !o.fills.is_empty()), "{orders:#?}");
    assert_eq!(fake.requests_with("POST", "/api/v3/order"), 5);
}

/// The signatures the fake received: many (every signed call), none of them empty.
fn signatures(fake: &FakeBinance) -> Vec<String> {
    let signatures = fake.signatures();
    assert!(
        signatures.len() >= fake.requests_with("POST", "/api/v3/order") + 2,
        "{signatures:?}"
    );
    assert!(signatures.iter().all(|s| s.len() == 64), "{signatures:?}");
    signatures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_when_no_secret_in_logs_replies_sqlite_or_backup() {
    let fake = FakeBinance::start_testnet().await;
    fake.add_key(API_KEY, SECRET);
    let dbdir = tempfile::tempdir().unwrap();
    let db = dbdir.path().join("keys.sqlite");
    let mut env = Env::new(&format!("sqlite://{}", db.display()), &fake);
    let mut seen = Seen(Vec::new());
    key_life(&mut env, &fake, &mut seen).await;

    let backup = dbdir.path().join("backup.sqlite");
    let (status, out, err) = one_shot(&env, &["backup", "--out", backup.to_str().unwrap()]).await;
    assert!(status.success(), "{out}\n{err}");
    seen.push("backup", format!("{out}\n{err}"));
    let signatures = signatures(&fake);
    seen.assert_clean(&signatures);
    for file in [&db, &backup] {
        assert!(file.exists());
        for order in fake.orders() {
            assert!(
                sqlite_files_contain(file, &order.client_order_id),
                "the order rows are searched: {} in {}",
                order.client_order_id,
                file.display()
            );
        }
        for signature in &signatures {
            assert!(
                !sqlite_files_contain(file, signature),
                "the signature {signature} in {}",
                file.display()
            );
        }
        assert!(
            !sqlite_files_contain(file, SECRET),
            "the secret in {}",
            file.display()
        );
        assert!(
            !sqlite_files_contain(file, API_KEY),
            "the API key in {}",
            file.display()
        );
    }
    assert!(sqlite_files_contain(&backup, MASK), "the mask is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_when_no_secret_in_a_postgres_dump() {
    let Some(pg) = TempPostgres::create("done_when_no_secret_in_a_postgres_dump").await else {
        return;
    };
    let fake = FakeBinance::start_testnet().await;
    fake.add_key(API_KEY, SECRET);
    let mut env = Env::new(&pg.url, &fake);
    let mut seen = Seen(Vec::new());
    key_life(&mut env, &fake, &mut seen).await;
    let signatures = signatures(&fake);
    seen.assert_clean(&signatures);
    let dump = std::process::Command::new("pg_dump")
        .arg(&pg.url)
        .output()
        .expect("pg_dump is on PATH");
    assert!(dump.status.success(), "{}", String::from_utf8_lossy(&dump.stderr));
    let dump = String::from_utf8_lossy(&dump.stdout).into_owned();
    assert!(dump.contains("exchange_keys"), "a real dump");
    assert!(dump.contains(MASK), "the masked key is there");
    assert!(!dump.contains(SECRET), "the secret in the dump");
    assert!(!dump.contains(API_KEY), "the API key in the dump");
    for order in fake.orders() {
        assert!(
            dump.contains(&order.client_order_id),
            "the order rows are in the dump: {}",
            order.client_order_id
        );
    }
    for signature in &signatures {
        assert!(
            !dump.contains(signature.as_str()),
            "the signature {signature} in the dump"
        );
    }
    pg.drop_db().await;
}

// ============================ vault rotate, killed halfway ============================

async fn seed(store: &Store, vault: &Vault, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let user = store
            .ensure_user(&Identity {
                platform: "telegram".into(),
                platform_user_id: format!("{}", 1000 + i % 7),
                display_name: None,
                username: None,
            })
            .await
            .unwrap();
        let label = format!("k{i}");
        let seal = |field: &str, value: &str| {
            let binding = Binding {
                account_id: user,
                exchange: "binance-testnet",
                label: &label,
                field,
            };
            vault
                .seal(&binding, &SecretString::from(value.to_string()))
                .unwrap()
                .to_text()
        };
        let (api_key_nonce, api_key_sealed) = seal("api_key", &format!("APIKEY{i:04}rotate"));
        let (secret_nonce, secret_sealed) = seal("secret", &format!("SECRET{i:04}rotate"));
        let id = store
            .add_exchange_key(&NewExchangeKey {
                user_id: user,
                exchange: "binance-testnet".into(),
                label: label.clone(),
                api_key_mask: "APIK…tate".into(),
                api_key_sealed,
                api_key_nonce,
                secret_sealed,
                secret_nonce,
                key_version: vault.current_version() as i32,
                created_at: Utc::now(),
            })
            .await
            .unwrap()
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn all_rows(store: &Store) -> Vec<ExchangeKeyRecord> {
    store.exchange_keys_not_on(0, 0, 10_000).await.unwrap()
}

fn vault_of(keys: &[(u32, &str)]) -> Vault {
    let keys: Vec<_> = keys
        .iter()
        .map(|(v, k)| (*v, SecretString::from(k.to_string())))
        .collect();
    Vault::from_keys(&keys).unwrap().unwrap()
}

/// 150 rows on version 1; `vault rotate` aborts (a crash) after 60 re-sealed rows; a
/// second run finishes: every row on version 2, every one opening with its own values,
/// and `vault check` agrees. A tampered row is then reported by `vault check` alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_rotate_killed_halfway_and_run_again_finishes() {
    let fake = FakeBinance::start_testnet().await;
    let dbdir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dbdir.path().join("rotate.sqlite").display());
    let store = chainsignal_core::store::open(&SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    let v1 = vault_of(&[(1, TEST_VAULT_KEY)]);
    seed(&store, &v1, 150).await;
    store.close().await;

    let mut env = Env::new(&url, &fake);
    env.set("CHAINSIGNAL_VAULT_KEY_2", VAULT_KEY_2);
    env.set("RUST_LOG", "warn");
    env.set("CHAINSIGNAL_TEST_ROTATE_ABORT_AFTER", "60");
    let (status, out, _) = one_shot(&env, &["vault", "rotate"]).await;
    assert!(!status.success(), "it crashed: {status:?}");
    assert_eq!(out.lines().filter(|l| l.starts_with("resealed")).count(), 60);

    let store = chainsignal_core::store::open(&SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    assert_eq!(
        store.exchange_key_versions().await.unwrap(),
        vec![(1, 90), (2, 60)],
        "halfway"
    );
    store.close().await;

    env.vars
        .retain(|(k, _)| k != "CHAINSIGNAL_TEST_ROTATE_ABORT_AFTER");
    let (status, out, err) = one_shot(&env, &["vault", "rotate", "--to", "2"]).await;
    assert!(status.success(), "{out}\n{err}");
    assert!(
        out.contains("vault rotate to version 2: 90 resealed, 60 already on it"),
        "{out}"
    );
    let (status, out, _) = one_shot(&env, &["vault", "check"]).await;
    assert!(status.success(), "{out}");
    assert!(out.contains("150 open, 0 do not open (v2: 150)"), "{out}");

    let store = chainsignal_core::store::open(&SecretString::from(url.clone()), 2)
        .await
        .unwrap();
    let only_v2 = vault_of(&[(2, VAULT_KEY_2)]);
    let rows = all_rows(&store).await;
    assert_eq!(rows.len(), 150);
    for row in &rows {
        assert_eq!(row.key_version, 2);
        let (key, secret) = only_v2.open_row(row).unwrap();
        let n = &row.label[1..];
        use secrecy::ExposeSecret;
        assert_eq!(key.expose_secret(), &format!("APIKEY{:0>4}rotate", n));
        assert_eq!(secret.expose_secret(), &format!("SECRET{:0>4}rotate", n));
    }
    // One byte of one sealed value changed: that row alone fails to open.
    let victim = &rows[10];
    let mut bytes = victim.secret_sealed.clone().into_bytes();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let new = chainsignal_core::store::Resealed {
        api_key_sealed: victim.api_key_sealed.clone(),
        api_key_nonce: victim.api_key_nonce.clone(),
        secret_sealed: tampered,
        secret_nonce: victim.secret_nonce.clone(),
        key_version: 2,
    };
    assert!(store.reseal_exchange_key(victim, &new).await.unwrap());
    store.close().await;
    let (status, out, _) = one_shot(&env, &["vault", "check"]).await;
    assert!(!status.success());
    assert!(out.contains("149 open, 1 do not open"), "{out}");
    assert!(
        out.contains(&format!(
            "key #{} (account #{}, v2) does not open",
            victim.id, victim.user_id
        )),
        "{out}"
    );
    assert!(!out.contains("SECRET"), "{out}");

    let (status, out, _) = one_shot(&env, &["vault", "generate-key"]).await;
    assert!(status.success());
    let generated = vault_of(&[(1, out.trim())]);
    assert_eq!(generated.versions(), vec![1]);
}

// ============================ /keys list, remove, test ============================

async fn console_app(fake: &FakeBinance, db: &std::path::Path, max_age_days: u32) -> App {
    let mut config = Config::default();
    config.market.binance_testnet_url = fake.url();
    config.market.binance_url = fake.url();
    config.market.backoff_ms = 1;
    config.vault.max_age_days = max_age_days;
    config.alerts.enabled = false;
    config.secrets.vault_keys = vec![(1, SecretString::from(TEST_VAULT_KEY))];
    let url = SecretString::from(format!("sqlite://{}", db.display()));
    App::build(config, Some(Source::Demo), Some(url)).await.unwrap()
}

async fn session(app: &App, input: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    console::serve(&app.commands, input.as_bytes(), &mut out, false)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// List (masked, age, venue, old ones flagged), test (one, each; a tampered row and a
/// row moved to another account fail alone with their own sentence), remove after
/// Confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_list_test_remove_and_rows_that_do_not_open() {
    let fake = FakeBinance::start_testnet().await;
    fake.add_key("APIKEYlistAAAA00000001aaaa", "SECRETlistAAAA0000000001");
    fake.add_key("APIKEYlistBBBB00000002bbbb", "SECRETlistBBBB0000000002");
    fake.add_key("APIKEYlistCCCC00000003cccc", "SECRETlistCCCC0000000003");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("list.sqlite");
    let app = console_app(&fake, &db, 90).await;

    let out = session(&app, "/keys list\n").await;
    assert!(out.contains("You have no exchange keys."), "{out}");
    let out = session(
        &app,
        "/keys add binance-testnet label=a\nAPIKEYlistAAAA00000001aaaa\nSECRETlistAAAA0000000001\n\
         /keys add binance-testnet label=b\nAPIKEYlistBBBB00000002bbbb\nSECRETlistBBBB0000000002\n\
         /keys add binance-testnet label=c\nAPIKEYlistCCCC00000003cccc\nSECRETlistCCCC0000000003\n",
    )
    .await;
    assert_eq!(out.matches("stored, sealed").count(), 3, "{out}");

    let store = &app.store;
    let me = store
        .ensure_user(&Identity {
            platform: "console".into(),
            platform_user_id: "local".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    // Key a is 100 days old: flagged.
    let a = store.exchange_key(me, "a").await.unwrap().unwrap();
    let old = a.created_at - Days::days(100);
    sqlx_exec(
        &db,
        "UPDATE exchange_keys SET created_at = $1 WHERE id = $2",
        old.to_rfc3339(),
        a.id,
    )
    .await;
    assert_eq!(
        store.exchange_key(me, "a").await.unwrap().unwrap().created_at,
        old
    );
    let out = session(&app, "/keys list\n").await;
    assert!(
        out.contains("a · binance-testnet (testnet) · APIK…aaaa · added"),
        "{out}"
    );
    assert!(out.contains("· 100 days old ⚠ older than 90 days"), "{out}");
    assert!(out.contains("b · binance-testnet (testnet) · APIK…bbbb"), "{out}");
    assert_eq!(out.matches("⚠").count(), 1, "{out}");
    assert!(out.contains("last used never"), "{out}");

    // Tamper with b (one byte of its sealed secret); move c to another account.
    let b = store.exchange_key(me, "b").await.unwrap().unwrap();
    let mut bytes = b.secret_sealed.clone().into_bytes();
    bytes[3] = if bytes[3] == b'x' { b'y' } else { b'x' };
    sqlx_exec(
        &db,
        "UPDATE exchange_keys SET secret_sealed = $1 WHERE id = $2",
        String::from_utf8(bytes).unwrap(),
        b.id,
    )
    .await;
    let other = store
        .ensure_user(&Identity {
            platform: "telegram".into(),
            platform_user_id: "999".into(),
            display_name: None,
            username: None,
        })
        .await
        .unwrap();
    let c = store.exchange_key(me, "c").await.unwrap().unwrap();
    sqlx_exec(
        &db,
        "UPDATE exchange_keys SET user_id = CAST($1 AS INTEGER) WHERE id = $2",
        other,
        c.id,
    )
    .await;
    let out = session(&app, "/keys test\n").await;
    assert!(out.contains("Key a (APIK…aaaa) works."), "{out}");
    assert!(
        out.contains("Key b (APIK…bbbb) cannot be opened: it was changed in the database"),
        "{out}"
    );
    let out = session(&app, "/keys test b\n/keys test a\n").await;
    assert!(out.contains("Key b (APIK…bbbb) cannot be opened"), "{out}");
    assert!(out.contains("Key a (APIK…aaaa) works."), "{out}");
    // The moved row, for its new account, does not open either.
    let moved = store.exchange_key(other, "c").await.unwrap().unwrap();
    let vault = app.commands.services().vault.clone().unwrap();
    assert_eq!(
        vault.open_row(&moved).unwrap_err(),
        chainsignal_core::vault::VaultError::DoesNotOpen
    );
    let used = store.exchange_key(me, "a").await.unwrap().unwrap();
    assert!(used.last_used_at.is_some(), "a test marks the key used");

    // A key refused by the exchange now (its secret was changed there).
    fake.add_key("APIKEYlistAAAA00000001aaaa", "SECRETrotatedOnTheExchange");
    let out = session(&app, "/keys test a\n").await;
    assert!(
        out.contains("Key a (APIK…aaaa) was refused: The exchange refused the signature"),
        "{out}"
    );

    // Remove asks first; Confirm removes.
    let out = session(&app, "/keys remove nope\n").await;
    assert!(out.contains("You have no key labelled nope."), "{out}");
    let out = session(&app, "/keys remove b\n/confirm 1\n/keys list\n").await;
    assert!(
        out.contains("Remove key b (binance-testnet, APIK…bbbb)?"),
        "{out}"
    );
    assert!(out.contains("Key b removed."), "{out}");
    assert!(store.exchange_key(me, "b").await.unwrap().is_none());
    assert!(store.exchange_key(me, "a").await.unwrap().is_some());
}

/// Change the database behind the app's back (a tampering, a moved row).
async fn sqlx_exec(db: &std::path::Path, statement: &'static str, bind: impl ToString, id: i64) {
    use sqlx::Connection;
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let n = sqlx::query(statement)
        .bind(bind.to_string())
        .bind(id)
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1, "{statement}");
    c.close().await.unwrap();
}

// ============================ age posture ============================

#[derive(Default)]
struct Inbox(Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl PrivateMessenger for Inbox {
    async fn private_chat(&self, user_id: &str) -> Option<String> {
        Some(user_id.to_string())
    }

    async fn send(&self, chat_id: &str, reply: &Reply) -> Option<String> {
        self.0
            .lock()
            .unwrap()
            .push((chat_id.to_string(), reply.to_plain_text()));
        Some("1".into())
    }

    async fn edit(&self, _chat_id: &str, _message_id: &str, _reply: &Reply) -> bool {
        true
    }
}

/// The owner of a key older than `vault.max_age_days` gets one reminder a week, however
/// many instances tick; `/admin keys` counts keys by age band, never showing one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_keys_remind_their_owner_once_a_week_and_admins_see_counts() {
    let fake = FakeBinance::start_testnet().await;
    let dir = tempfile::tempdir().unwrap();
    let app = console_app(&fake, &dir.path().join("posture.sqlite"), 30).await;
    let vault = app.commands.services().vault.clone().unwrap();
    let store = &app.store;
    // Monday 01:00 of this ISO week: three days later is the same week.
    let today = Utc::now().date_naive();
    let monday = today - Days::days(i64::from(today.weekday().num_days_from_monday()));
    let now = Utc.from_utc_datetime(&monday.and_hms_opt(1, 0, 0).unwrap());
    let mut owners = Vec::new();
    for (who, ages) in [
        ("501", &[40i64, 5][..]),
        ("502", &[20][..]),
        ("503", &[31, 400][..]),
    ] {
        let user = store
            .ensure_user(&Identity {
                platform: "telegram".into(),
                platform_user_id: who.into(),
                display_name: None,
                username: None,
            })
            .await
            .unwrap();
        owners.push(user);
        for (i, age) in ages.iter().enumerate() {
            let label = format!("key{i}");
            let seal = |field: &str| {
                vault
                    .seal(
                        &Binding {
                            account_id: user,
                            exchange: "binance",
                            label: &label,
                            field,
                        },
                        &SecretString::from("SECRETposture000".to_string()),
                    )
                    .unwrap()
                    .to_text()
            };
            let (an, a) = seal("api_key");
            let (sn, s) = seal("secret");
            store
                .add_exchange_key(&NewExchangeKey {
                    user_id: user,
                    exchange: if i == 0 { "binance" } else { "binance-testnet" }.into(),
                    label: label.clone(),
                    api_key_mask: "APIK…post".into(),
                    api_key_sealed: a,
                    api_key_nonce: an,
                    secret_sealed: s,
                    secret_nonce: sn,
                    key_version: 1,
                    created_at: now - Days::days(*age),
                })
                .await
                .unwrap();
        }
    }
    let inbox = Arc::new(Inbox::default());
    app.commands
        .services()
        .messengers
        .register(chainsignal_commands::Platform::Telegram, inbox.clone());
    let clock = Arc::new(ManualClock::new(now));
    let instance = |name: &str| Scheduler::new(&app, clock.clone() as Arc<dyn Clock>, Outboxes::new(), name);
    let (a, b) = (instance("a"), instance("b"));
    let (ra, rb) = tokio::join!(a.tick(), b.tick());
    assert_eq!(ra.key_reminders + rb.key_reminders, 2, "two owners have old keys");
    let sent = inbox.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent.iter().filter(|(chat, _)| chat == "501").count(), 1);
    assert_eq!(sent.iter().filter(|(chat, _)| chat == "503").count(), 1);
    let to_503 = &sent.iter().find(|(c, _)| c == "503").unwrap().1;
    assert!(
        to_503.contains("older than 30 days: key1 (400 days), key0 (31 days)"),
        "{to_503}"
    );
    assert!(!to_503.contains("SECRET"));

    // Later the same week, on fresh instances: nothing more.
    clock.advance(Days::days(3));
    let (c, d) = (instance("c"), instance("d"));
    let (rc, rd) = tokio::join!(c.tick(), d.tick());
    assert_eq!(rc.key_reminders + rd.key_reminders, 0);
    // The next week: once more each.
    clock.advance(Days::days(4));
    let e = instance("e");
    assert_eq!(e.tick().await.key_reminders, 2);
    assert_eq!(inbox.0.lock().unwrap().len(), 4);

    // /admin keys (the console is the owner): counts by band, no key, no label.
    let out = session(&app, "/admin keys\n").await;
    assert!(out.contains("Exchange keys: 5"), "{out}");
    for line in [
        "Under 15 days: 1",
        "15 to 30 days: 1",
        "30 days or older: 3",
        "Live (binance): 3",
        "Testnet (binance-testnet): 2",
        "Accounts with keys: 3",
        "Accounts with old keys: 2",
    ] {
        assert!(out.contains(line), "{line} in:\n{out}");
    }
    assert!(!out.contains("key0") && !out.contains("APIK"), "{out}");
    let _ = owners;
}
