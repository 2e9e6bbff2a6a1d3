//! An OpenAI-compatible chat-completions client (Groq, OpenAI, a local Ollama): one
//! system and one user message in, the answer and its token usage out. 429 and 5xx are
//! retried with backoff within the overall timeout. The key never reaches a log or an
//! error.

use backon::{ExponentialBuilder, Retryable};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct AiSettings {
    /// e.g. `https://api.groq.com/openai/v1`; `/chat/completions` is appended.
    pub base_url: String,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: f32,
    /// For the whole call, retries included.
    pub timeout: Duration,
    pub api_key: Option<SecretString>,
}

impl std::fmt::Debug for AiSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("timeout", &self.timeout)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AiError {
    #[error("the AI provider refused the API key (HTTP 401/403)")]
    Unauthorized,
    #[error("the AI provider is rate limiting")]
    RateLimited,
    #[error("the AI provider did not answer in time")]
    Timeout,
    #[error("the AI provider is unavailable: {0}")]
    Unavailable(String),
    #[error("the AI provider sent an answer that could not be read: {0}")]
    InvalidResponse(String),
}

impl AiError {
    /// A stable code for the call log.
    pub fn code(&self) -> &'static str {
        match self {
            AiError::Unauthorized => "unauthorized",
            AiError::RateLimited => "rate_limited",
            AiError::Timeout => "timeout",
            AiError::Unavailable(_) => "unavailable",
            AiError::InvalidResponse(_) => "invalid_response",
        }
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub latency: Duration,
}

#[derive(Debug, Clone)]
pub struct AiClient {
    http: reqwest::Client,
    url: String,
    settings: AiSettings,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
    max_tokens: u32,
    temperature: f32,
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Response {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<i64>,
    completion_tokens: Option<i64>,
}

impl AiClient {
    /// `None` when no API key is configured: callers fall back to the rule-based summary.
    pub fn new(settings: AiSettings) -> Result<Option<Self>, AiError> {
        if settings.api_key.is_none() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5).min(settings.timeout))
            .user_agent(concat!("chainsignal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AiError::Unavailable(format!("HTTP client: {e}")))?;
        let url = format!("{}/chat/completions", settings.base_url.trim_end_matches('/'));
        Ok(Some(Self { http, url, settings }))
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// One completion for a system and a user message, retried on 429 and 5xx while the
    /// overall timeout allows.
    pub async fn complete(&self, system: &str, user: &str) -> Result<Completion, AiError> {
        let started = Instant::now();
        let deadline = started + self.settings.timeout;
        let body = Request {
            model: &self.settings.model,
            messages: [
                Message {
                    role: "system",
                    content: system,
                },
                Message {
                    role: "user",
                    content: user,
                },
            ],
            max_tokens: self.settings.max_tokens,
            temperature: self.settings.temperature,
            stream: false,
        };
        // No count limit: the deadline is the budget.
        let backoff = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(300))
            .with_factor(2.0)
            .without_max_delay()
            .without_max_times();
        let once = || self.attempt(&body, started, deadline);
        once.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f| matches!(f, Failure::Retry { .. }))
            .adjust(|f, backoff| {
                let backoff = backoff?;
                // A `Retry-After` (capped; junk means the backoff) replaces the backoff.
                let wait = match f {
                    Failure::Retry {
                        retry_after: Some(v), ..
                    } => crate::pacing::server_wait(v, backoff),
                    _ => backoff,
                };
                // No time left for another try: the last error says most.
                (wait < deadline.saturating_duration_since(Instant::now())).then_some(wait)
            })
            .notify(|f, wait| tracing::warn!(error = %f.error(), ?wait, "AI call failed; retrying"))
            .await
            .map_err(Failure::into_error)
    }

    /// One request, bounded by what is left of the overall timeout.
    async fn attempt(
        &self,
        body: &Request<'_>,
        started: Instant,
        deadline: Instant,
    ) -> Result<Completion, Failure> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure::Final(AiError::Timeout));
        }
        let mut request = self.http.post(&self.url).timeout(remaining).json(body);
        if let Some(key) = &self.settings.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let sent = request.send().await;
        let status = sent
            .as_ref()
            .map(|r| r.status().as_str().to_string())
            .unwrap_or_else(|_| "error".into());
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "ai", "status" => status)
            .increment(1);
        let retry = |error| Failure::Retry {
            error,
            retry_after: None,
        };
        let response = match sent {
            Err(e) if e.is_timeout() => return Err(Failure::Final(AiError::Timeout)),
            Err(e) => {
                let what = if e.is_connect() {
                    "connection failed"
                } else {
                    "request failed"
                };
                return Err(retry(AiError::Unavailable(what.into())));
            }
            Ok(response) => response,
        };
        match response.status() {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(Failure::Final(AiError::Unauthorized)),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::Retry {
                error: AiError::RateLimited,
                retry_after: response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(String::from),
            }),
            s if s.is_server_error() => Err(retry(AiError::Unavailable(format!("HTTP {}", s.as_u16())))),
            s if !s.is_success() => Err(Failure::Final(AiError::Unavailable(format!(
                "HTTP {}",
                s.as_u16()
            )))),
            _ => match response.bytes().await {
                Ok(bytes) => parse(&bytes, started.elapsed()).map_err(Failure::Final),
                Err(e) if e.is_timeout() => Err(Failure::Final(AiError::Timeout)),
                Err(_) => Err(Failure::Final(AiError::Unavailable(
                    "reading the answer failed".into(),
                ))),
            },
        }
    }
}

/// How one try ended, for the retry policy.
enum Failure {
    /// Not worth another try.
    Final(AiError),
    /// Worth another try (429, 5xx, no connection), after the server's `Retry-After`
    /// when it sent one.
    Retry {
        error: AiError,
        retry_after: Option<String>,
    },
}

impl Failure {
    fn error(&self) -> &AiError {
        match self {
            Failure::Final(e) | Failure::Retry { error: e, .. } => e,
        }
    }

    fn into_error(self) -> AiError {
        match self {
            Failure::Final(e) | Failure::Retry { error: e, .. } => e,
        }
    }
}

fn parse(bytes: &[u8], latency: Duration) -> Result<Completion, AiError> {
    let response: Response = serde_json::from_slice(bytes)
        .map_err(|e| AiError::InvalidResponse(format!("not a chat completion: {e}")))?;
    let text = response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AiError::InvalidResponse("no answer in the completion".into()))?;
    let usage = response.usage;
    Ok(Completion {
        text,
        prompt_tokens: usage.as_ref().and_then(|u| u.prompt_tokens).unwrap_or(0),
        completion_tokens: usage.as_ref().and_then(|u| u.completion_tokens).unwrap_or(0),
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_completion_and_refuses_junk() {
        let ok = br#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":" Hi "}}],
                     "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#;
        let c = parse(ok, Duration::from_millis(5)).unwrap();
        assert_eq!(
            (c.text.as_str(), c.prompt_tokens, c.completion_tokens),
            ("Hi", 12, 3)
        );
        assert!(parse(b"{}", Duration::ZERO).is_err());
        assert!(parse(br#"{"choices":[]}"#, Duration::ZERO).is_err());
        assert!(parse(br#"{"choices":[{"message":{"content":""}}]}"#, Duration::ZERO).is_err());
    }

    #[test]
    fn no_key_no_client_and_the_key_is_redacted() {
        let mut s = AiSettings {
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "m".into(),
            max_tokens: 10,
            temperature: 0.2,
            timeout: Duration::from_secs(1),
            api_key: None,
        };
        assert!(AiClient::new(s.clone()).unwrap().is_none());
        s.api_key = Some(SecretString::from("sk-very-secret".to_string()));
        assert!(!format!("{s:?}").contains("sk-very-secret"));
        let client = AiClient::new(s).unwrap().unwrap();
        assert!(!format!("{client:?}").contains("sk-very-secret"));
    }
}
