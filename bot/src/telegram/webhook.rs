//! Webhook mode: Telegram POSTs updates to a route on the bot's own HTTP server. The
//! `X-Telegram-Bot-Api-Secret-Token` header is compared in constant time; anything
//! else gets 403.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use subtle::ConstantTimeEq;
use teloxide::types::Update;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// What the webhook reads of an authenticated POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest body read; Telegram's updates are far smaller.
    pub max_body: usize,
    /// How long the body may take to arrive.
    pub body_read: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            body_read: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
struct Hook {
    secret: SecretString,
    updates: mpsc::UnboundedSender<Update>,
    limits: Limits,
    refusals: Arc<RateLimitedWarn>,
}

/// At most one warning a minute about refused requests, with how many were not logged.
#[derive(Debug, Default)]
struct RateLimitedWarn {
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedWarn {
    const EVERY: Duration = Duration::from_secs(60);

    fn refused(&self) {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < Self::EVERY) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            suppressed,
            "telegram webhook: request without the right secret token refused (at most one such line a minute)"
        );
    }
}

/// The secret Telegram must send back: `TELEGRAM_WEBHOOK_SECRET`, or one derived from
/// the bot token, the same for every instance that shares the token. Telegram allows
/// 1-256 characters of A-Z, a-z, 0-9, `_` and `-`: hex fits.
pub fn secret(configured: Option<&SecretString>, bot_token: &SecretString) -> SecretString {
    if let Some(s) = configured {
        return s.clone();
    }
    let digest = Sha256::digest(format!("chainsignal-webhook:{}", bot_token.expose_secret()));
    SecretString::from(digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The route at `path` feeding `updates`.
pub fn router(path: &str, secret: SecretString, updates: mpsc::UnboundedSender<Update>) -> Router {
    router_with(path, secret, updates, Limits::default())
}

/// [`router`] with the given limits.
pub fn router_with(
    path: &str,
    secret: SecretString,
    updates: mpsc::UnboundedSender<Update>,
    limits: Limits,
) -> Router {
    Router::new().route(path, post(receive)).with_state(Hook {
        secret,
        updates,
        limits,
        refusals: Arc::default(),
    })
}

/// The secret header is checked before a byte of the body is read: a refused request costs
/// its headers only. Then at most `max_body` bytes are read, within `body_read`.
async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Body) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = hook.secret.expose_secret().as_bytes();
    if !bool::from(given.ct_eq(expected)) {
        hook.refusals.refused();
        return StatusCode::FORBIDDEN;
    }
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > hook.limits.max_body as u64) {
        tracing::warn!(length = declared, "telegram webhook: body too large; refused");
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let body = match tokio::time::timeout(
        hook.limits.body_read,
        axum::body::to_bytes(body, hook.limits.max_body),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            tracing::warn!("telegram webhook: body unreadable or too large; refused");
            return StatusCode::PAYLOAD_TOO_LARGE;
        }
        Err(_) => {
            tracing::warn!(limit = ?hook.limits.body_read, "telegram webhook: body too slow; refused");
            return StatusCode::REQUEST_TIMEOUT;
        }
    };
    match serde_json::from_slice::<Update>(&body) {
        Ok(update) => {
            if hook.updates.send(update).is_err() {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            StatusCode::OK
        }
        Err(e) => {
            tracing::warn!(error = %e, "telegram webhook: an update that could not be read");
            StatusCode::BAD_REQUEST
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_secret_is_stable_valid_and_not_the_token() {
        let token = SecretString::from("123:ABC".to_string());
        let a = secret(None, &token);
        let b = secret(None, &token);
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 64);
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!a.expose_secret().contains("ABC"));
        let configured = SecretString::from("mine".to_string());
        assert_eq!(secret(Some(&configured), &token).expose_secret(), "mine");
    }
}
