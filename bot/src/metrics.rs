//! Prometheus metrics through the `metrics` facade, rendered at `/metrics`:
//! - `chainsignal_commands_total{command,outcome}` and
//!   `chainsignal_command_duration_seconds{command}` (histogram),
//! - `chainsignal_outbound_requests_total{service,status}` (binance, ai, telegram, discord-webhook),
//! - `chainsignal_scheduled_posts_total{outcome}`, `chainsignal_alerts_total`,
//! - `chainsignal_ai_tokens_total{kind}`.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process-wide recorder once; later calls return the same handle.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
            let builder = match PrometheusBuilder::new().set_buckets(&buckets) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "metrics buckets refused");
                    return None;
                }
            };
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

/// Help texts, and the families that may stay quiet for a long time made visible at 0.
fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        "chainsignal_commands_total",
        "Commands run, by command and outcome"
    );
    describe_histogram!("chainsignal_command_duration_seconds", "Time to answer a command");
    describe_counter!(
        "chainsignal_outbound_requests_total",
        "Requests to other services, by service and status"
    );
    describe_counter!("chainsignal_scheduled_posts_total", "Scheduled posts, by outcome");
    describe_counter!("chainsignal_alerts_total", "Market alerts sent");
    describe_counter!("chainsignal_ai_tokens_total", "AI tokens spent, by kind");
    for outcome in ["sent", "failed"] {
        metrics::counter!("chainsignal_scheduled_posts_total", "outcome" => outcome).increment(0);
    }
    for kind in ["prompt", "completion"] {
        metrics::counter!("chainsignal_ai_tokens_total", "kind" => kind).increment(0);
    }
    metrics::counter!("chainsignal_alerts_total").increment(0);
}
