//! A fake OpenAI-compatible chat-completions server on 127.0.0.1:
//! `POST /v1/chat/completions`. It records every request (the `Authorization` header and
//! the JSON body) and answers from a queue of behaviours, then with a fixed answer.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Tokens the fake reports for every answer.
pub const PROMPT_TOKENS: i64 = 120;
pub const COMPLETION_TOKENS: i64 = 80;

#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Answer with this text.
    Answer(String),
    /// Answer with an HTTP error (and `Retry-After` seconds, when given).
    Status { code: u16, retry_after: Option<u64> },
    /// Wait this long before answering normally.
    Slow(Duration),
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<Behaviour>>,
    answer: Mutex<String>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeOpenAi {
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner::default());
        *lock(&inner.answer) = "The market is calm.".into();
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, inner, task }
    }

    /// The base URL to configure (`ai.base_url`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The answer given when the queue is empty.
    pub fn set_answer(&self, text: &str) {
        *lock(&self.inner.answer) = text.into();
    }

    /// Behaviours for the next requests, in order.
    pub fn then(&self, behaviour: Behaviour) {
        lock(&self.inner.queue).push_back(behaviour);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.requests).clone()
    }
}

async fn completions(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    lock(&inner.requests).push(Recorded {
        authorization,
        body: body.clone(),
    });
    let behaviour = lock(&inner.queue).pop_front();
    let mut answer = lock(&inner.answer).clone();
    match behaviour {
        Some(Behaviour::Status { code, retry_after }) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut headers = HeaderMap::new();
            if let Some(s) = retry_after {
                headers.insert("retry-after", s.into());
            }
            let error = json!({"error": {"message": "fake error", "type": "fake", "code": code}});
            return (status, headers, error.to_string()).into_response();
        }
        Some(Behaviour::Slow(d)) => tokio::time::sleep(d).await,
        Some(Behaviour::Answer(text)) => answer = text,
        None => {}
    }
    let response = json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                  "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS}
    });
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        response.to_string(),
    )
        .into_response()
}
