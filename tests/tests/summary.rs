//! `/summary` end to end: the real AI client against a fake OpenAI-compatible server on
//! 127.0.0.1, the real commands, demo market data, SQLite.

use chainsignal::app::App;
use chainsignal::console;
use chainsignal_core::config::Config;
use chainsignal_core::market::Source;
use chainsignal_tests::fake_openai::{Behaviour, COMPLETION_TOKENS, FakeOpenAi, PROMPT_TOKENS};
use chrono::Utc;
use secrecy::SecretString;
use std::time::Duration;

const KEY: &str = "sk-test-key-0123456789";

async fn app(fake: Option<&FakeOpenAi>, dir: &std::path::Path, tweak: impl FnOnce(&mut Config)) -> App {
    let mut config = Config::default();
    if let Some(fake) = fake {
        config.ai.base_url = fake.base_url();
        config.secrets.ai_api_key = Some(SecretString::from(KEY.to_string()));
    }
    config.ai.cooldown_secs = 0;
    tweak(&mut config);
    let url = SecretString::from(format!("sqlite://{}", dir.join("ai.sqlite").display()));
    App::build(config, Some(Source::Demo), Some(url)).await.unwrap()
}

async fn ask(app: &App, lines: &str) -> String {
    let mut out = Vec::new();
    console::serve(&app.commands, lines.as_bytes(), &mut out, false)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn tokens_today(app: &App) -> i64 {
    let day = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    app.store.ai_tokens_since(day, None).await.unwrap()
}

#[tokio::test]
async fn one_well_formed_request_with_the_numbers_and_the_language() {
    let fake = FakeOpenAi::start().await;
    fake.set_answer("BTC leads <b>higher</b> & ETH lags.");
    let dir = tempfile::tempdir().unwrap();
    let app = app(Some(&fake), dir.path(), |_| {}).await;

    let out = ask(&app, "/summary btc eth\n").await;
    assert!(out.starts_with("AI market summary\n"), "{out}");
    assert!(
        out.contains("BTC leads <b>higher</b> & ETH lags."),
        "the answer as plain text: {out}"
    );
    assert!(
        out.contains("Not financial advice.") && out.contains("model llama-3.1-8b-instant"),
        "{out}"
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(r.body["model"], "llama-3.1-8b-instant");
    assert_eq!(r.body["max_tokens"], 500);
    let system = r.body["messages"][0]["content"].as_str().unwrap();
    let user = r.body["messages"][1]["content"].as_str().unwrap();
    assert_eq!(r.body["messages"][0]["role"], "system");
    assert!(system.contains("Write in English"), "{system}");
    // The numbers of the report the user just got (the market cache makes it the same one).
    let report = app.reports.build(&app.commands.services().watchlist[..2]).await;
    for row in &report.rows {
        let line = format!(
            "{} close={} 24h={:+.2}% 3d={:+.2}% 7d={:+.2}% atr3d={:.2}% atr7d={:.2}%",
            row.symbol,
            row.close,
            row.change_24h_pct,
            row.change_3d_pct,
            row.change_7d_pct,
            row.atr_3d_pct,
            row.atr_7d_pct
        );
        assert!(user.contains(&line), "{line} missing from\n{user}");
    }
    assert_eq!(
        tokens_today(&app).await,
        PROMPT_TOKENS + COMPLETION_TOKENS,
        "the call is recorded with its usage"
    );

    ask(&app, "/lang pl\n").await;
    let out = ask(&app, "/summary btc eth\n").await;
    assert!(out.starts_with("Podsumowanie rynku (AI)"), "{out}");
    assert!(out.contains("To nie jest porada inwestycyjna."));
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "another language is another summary");
    let system = requests[1].body["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Pisz po polsku"), "{system}");
    assert!(
        requests[1].body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("Raport rynkowy")
    );
}

#[tokio::test]
async fn the_same_report_in_the_same_language_is_not_asked_twice() {
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(Some(&fake), dir.path(), |_| {}).await;
    let first = ask(&app, "/summary btc\n").await;
    let second = ask(&app, "/summary BTCUSDT\n").await;
    assert_eq!(first, second);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(
        tokens_today(&app).await,
        PROMPT_TOKENS + COMPLETION_TOKENS,
        "nothing recorded twice"
    );
}

#[tokio::test]
async fn cooldown_and_budgets_refuse_politely_and_record_nothing() {
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = self::app(Some(&fake), dir.path(), |c| c.ai.cooldown_secs = 60).await;
    ask(&app, "/summary btc\n").await;
    let out = ask(&app, "/summary eth\n").await;
    assert!(
        out.contains("One AI summary a minute, please: try again in"),
        "{out}"
    );
    assert_eq!(fake.requests().len(), 1);
    // A kept answer costs nothing, so the cooldown does not apply to it.
    assert!(ask(&app, "/summary btc\n").await.starts_with("AI market summary"));

    let dir = tempfile::tempdir().unwrap();
    let app = self::app(Some(&fake), dir.path(), |c| c.ai.user_daily_tokens = 150).await;
    ask(&app, "/summary btc\n").await;
    let out = ask(&app, "/summary sol\n").await;
    assert!(out.contains("You have used today's AI budget"), "{out}");
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(tokens_today(&app).await, PROMPT_TOKENS + COMPLETION_TOKENS);

    let dir = tempfile::tempdir().unwrap();
    let app = self::app(Some(&fake), dir.path(), |c| c.ai.total_daily_tokens = 150).await;
    ask(&app, "/summary btc\n").await;
    let out = ask(&app, "/lang pl\n/summary sol\n").await;
    assert!(
        out.contains("Dzisiejszy limit AI dla wszystkich został wykorzystany"),
        "{out}"
    );
    assert_eq!(fake.requests().len(), 3);
    let audit = app.store.recent_audit(1).await.unwrap();
    assert_eq!(
        (audit[0].command.as_str(), audit[0].outcome.as_str()),
        ("summary", "user_error")
    );
}

#[tokio::test]
async fn provider_failures_end_in_a_clear_answer() {
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = app(Some(&fake), dir.path(), |c| c.ai.timeout_secs = 2).await;

    // 401: no retry, the user hears "unavailable" and still gets the numbers' summary.
    fake.then(Behaviour::Status {
        code: 401,
        retry_after: None,
    });
    let out = ask(&app, "/summary btc\n").await;
    assert!(out.contains("AI is unavailable right now"), "{out}");
    assert!(
        out.contains("Market summary (rule-based, not AI)") && out.contains("Trend:"),
        "{out}"
    );
    assert_eq!(fake.requests().len(), 1);

    // 429 then success: retried after Retry-After.
    fake.then(Behaviour::Status {
        code: 429,
        retry_after: Some(0),
    });
    let out = ask(&app, "/summary eth\n").await;
    assert!(out.starts_with("AI market summary"), "{out}");
    assert_eq!(fake.requests().len(), 3);

    // 500 every time: retried with backoff until the timeout, then the fallback.
    for _ in 0..20 {
        fake.then(Behaviour::Status {
            code: 500,
            retry_after: None,
        });
    }
    let out = ask(&app, "/summary sol\n").await;
    assert!(out.contains("AI is unavailable right now"), "{out}");
    assert!(fake.requests().len() >= 5, "500s are retried");

    // Slower than the timeout.
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = self::app(Some(&fake), dir.path(), |c| c.ai.timeout_secs = 1).await;
    fake.then(Behaviour::Slow(Duration::from_secs(30)));
    let out = ask(&app, "/summary bnb\n").await;
    assert!(out.contains("The AI did not answer in time"), "{out}");
    let audit = app.store.recent_audit(1).await.unwrap();
    assert_eq!(audit[0].outcome, "failed");
    assert!(!format!("{audit:?}").contains(KEY));
}

#[tokio::test]
async fn without_a_key_the_rule_based_summary_is_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(None, dir.path(), |_| {}).await;
    let out = ask(&app, "/summary\n/summary nope\n").await;
    assert!(out.starts_with("Market summary (rule-based, not AI)\n"), "{out}");
    assert!(out.contains("Volatility:") && out.contains("Not financial advice."));
    assert!(
        out.contains("NOPEUSDT: the exchange does not list this symbol."),
        "{out}"
    );
    assert_eq!(tokens_today(&app).await, 0);
}

#[tokio::test]
async fn a_failed_ai_call_does_not_spend_the_cooldown() {
    let fake = FakeOpenAi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = self::app(Some(&fake), dir.path(), |c| {
        c.ai.cooldown_secs = 60;
        c.ai.timeout_secs = 1;
    })
    .await;
    let cooldown = "One AI summary a minute";

    // Refused (401), then too slow: each time the rule-based fallback, never the cooldown.
    fake.then(Behaviour::Status {
        code: 401,
        retry_after: None,
    });
    let out = ask(&app, "/summary btc\n").await;
    assert!(out.contains("Market summary (rule-based, not AI)"), "{out}");
    fake.then(Behaviour::Slow(Duration::from_secs(30)));
    let out = ask(&app, "/summary btc\n").await;
    assert!(!out.contains(cooldown), "a failure spent the cooldown: {out}");
    assert!(out.contains("The AI did not answer in time"), "{out}");
    assert_eq!(fake.requests().len(), 2);

    // The provider recovers: right away, a real answer.
    let out = ask(&app, "/summary btc\n").await;
    assert!(!out.contains(cooldown), "{out}");
    assert!(out.starts_with("AI market summary"), "{out}");
    assert_eq!(fake.requests().len(), 3);

    // A success does start the cooldown.
    let out = ask(&app, "/summary eth\n").await;
    assert!(out.contains(cooldown), "{out}");
    assert_eq!(fake.requests().len(), 3);
}
