//! Webhook mode: Telegram POSTs updates to a route on the bot's own HTTP server. The
//! `X-Telegram-Bot-Api-Secret-Token` header is compared in constant time; anything
//! else gets 403.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use teloxide::types::Update;
use tokio::sync::mpsc;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Clone)]
struct Hook {
    secret: SecretString,
    updates: mpsc::UnboundedSender<Update>,
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
    Router::new()
        .route(path, post(receive))
        .with_state(Hook { secret, updates })
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let expected = hook.secret.expose_secret().as_bytes();
    if !bool::from(given.ct_eq(expected)) {
        tracing::warn!("telegram webhook: request without the right secret token refused");
        return StatusCode::FORBIDDEN;
    }
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
