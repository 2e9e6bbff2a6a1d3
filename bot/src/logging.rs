//! tracing to stderr (stdout belongs to reports and the console), text or JSON.

use chainsignal_core::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// `RUST_LOG` wins over `level`. Safe to call twice (the second call does nothing).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
