//! The bot's own HTTP server: `/healthz` (the process is up) and `/readyz` (the
//! database answers), `/metrics` (Prometheus), plus the adapters' routes (the Telegram
//! webhook).

use crate::shutdown::Shutdown;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use chainsignal_core::store::Store;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

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

/// How long a client may take to send what the server reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request (or of a new connection) to the end of its headers.
    pub header_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
        }
    }
}

/// Serve until `shutdown`, then finish in-flight requests.
pub async fn serve(listener: TcpListener, routes: Router, shutdown: Shutdown) -> std::io::Result<()> {
    serve_with(listener, routes, shutdown, Timeouts::default()).await
}

/// [`serve`] with the given timeouts: HTTP/1.1 (what Telegram and a reverse proxy speak)
/// through hyper, whose header read timeout closes a connection that sends its headers too
/// slowly (`axum::serve` has none). Bodies are read by the routes, each with its own limit.
pub async fn serve_with(
    listener: TcpListener,
    routes: Router,
    shutdown: Shutdown,
    timeouts: Timeouts,
) -> std::io::Result<()> {
    let mut connections = JoinSet::new();
    let stop = shutdown.clone().wait();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, do not spin.
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            _ = &mut stop => break,
        };
        let service = TowerToHyperService::new(routes.clone());
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeouts.header_read);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                r = connection.as_mut() => r,
                _ = shutdown.wait() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "http connection ended with an error");
            }
        });
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}
