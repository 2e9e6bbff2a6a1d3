//! The AI client against the fake OpenAI-compatible server: waits the server asks for.

use chainsignal_core::ai::{AiClient, AiError, AiSettings};
use chainsignal_tests::fake_openai::{Behaviour, FakeOpenAi};
use secrecy::SecretString;
use std::time::Duration;

/// Issue 11, item 3: `Retry-After: 18446744073709551615` on a 429 panicked the AI client
/// (`Duration::from_secs_f64` overflow). The wait is capped at 10 minutes, which is longer
/// than the call's own timeout (2 s), so the call ends at once with the 429's error.
#[tokio::test]
async fn a_huge_retry_after_does_not_panic_the_ai_client() {
    let fake = FakeOpenAi::start().await;
    fake.then(Behaviour::Status {
        code: 429,
        retry_after: Some(u64::MAX),
    });
    let client = AiClient::new(AiSettings {
        base_url: fake.base_url(),
        model: "m".into(),
        max_tokens: 10,
        temperature: 0.2,
        timeout: Duration::from_secs(2),
        api_key: Some(SecretString::from("sk-test".to_string())),
    })
    .unwrap()
    .unwrap();
    let started = tokio::time::Instant::now();
    let call = tokio::spawn(async move { client.complete("system", "user").await });
    let result = call.await.expect("no panic in the AI client");
    assert_eq!(result.unwrap_err(), AiError::RateLimited);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 1);
}
