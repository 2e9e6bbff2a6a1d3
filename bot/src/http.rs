//! The bot's own HTTP server: `/healthz` (the process is up) and `/readyz` (the
//! database answers), `/metrics` (Prometheus), plus the adapters' routes (the Telegram
//! webhook).

use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chainsignal_core::store::Store;
use tokio::net::TcpListener;

/// Health routes, merged with `extra` (the Telegram webhook) when given.
pub fn router(store: Store, extra: Option<Router>) -> Router {
    let mut health = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store);
    if let Some(handle) = crate::metrics::install() {
        health = health.route("/metrics", get(move || std::future::ready(handle.render())));
    }
    match extra {
        Some(routes) => health.merge(routes),
        None => health,
    }
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
pub async fn serve(listener: TcpListener, routes: Router, shutdown: Shutdown) -> std::io::Result<()> {
    axum::serve(listener, routes)
        .with_graceful_shutdown(shutdown.wait())
        .await
}
