//! The bot's own HTTP server: `/healthz` (the process is up) and `/readyz` (the
//! database answers). Later also metrics and the Telegram webhook.

use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chainsignal_core::store::Store;
use tokio::net::TcpListener;

pub fn router(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(store): State<Store>) -> (StatusCode, &'static str) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Serve until `shutdown`, then finish in-flight requests.
pub async fn serve(listener: TcpListener, store: Store, shutdown: Shutdown) -> std::io::Result<()> {
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown.wait())
        .await
}
