//! tracing to stderr (stdout belongs to reports and the console), text or JSON.

use chainsignal_core::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// What a filter is expected to look like, for the line that refuses one.
pub const FILTER_HINT: &str =
    "expected a level (off, error, warn, info, debug, trace) or directives like chainsignal=debug,sqlx=warn";

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

fn is_level(s: &str) -> bool {
    LEVELS.iter().any(|l| l.eq_ignore_ascii_case(s)) || matches!(s, "0" | "1" | "2" | "3" | "4" | "5")
}

/// A Rust module path (`chainsignal_core::market`), what a target is.
fn is_target(s: &str) -> bool {
    !s.is_empty()
        && s.split("::").all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Whether `filter` is a tracing filter that means something: tracing's own parser
/// takes `verbose!!` as a target named so (and then logs nothing), so each directive
/// must also be a level, a module path, or `path=level`. Span directives
/// (`target[span{field=value}]=level`) are left to tracing's parser.
pub fn check_filter(filter: &str) -> Result<(), String> {
    EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    for directive in filter.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        if directive.contains('[') {
            continue;
        }
        match directive.split_once('=') {
            Some((target, level)) => {
                if !is_target(target) {
                    return Err(format!("{target:?} is not a module path"));
                }
                if !is_level(level) {
                    return Err(format!("{level:?} is not a level"));
                }
            }
            None if is_level(directive) || is_target(directive) => {}
            None => return Err(format!("{directive:?} is neither a level nor a module path")),
        }
    }
    Ok(())
}

/// Libraries that log whole payloads (serenity and tungstenite the gateway's raw
/// events, which carry modal submissions; teloxide the API responses; the HTTP stack
/// bodies and headers). Whatever `RUST_LOG` says, they log at DEBUG at most and their
/// spans not at all (see [`allowed`]), so a secret typed into a Discord modal or a
/// Telegram message never reaches a log line.
pub const CAPPED_TARGETS: &[&str] = &[
    "serenity",
    "tungstenite",
    "tokio_tungstenite",
    "async_tungstenite",
    "teloxide",
    "teloxide_core",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "axum",
    "tower",
    "tower_http",
];

/// Whether the cap lets a span or event through: libraries' spans never (serenity's
/// `#[instrument]` spans record the whole gateway event, a modal's values included, and
/// would be printed with every line logged inside them); their events up to DEBUG, and
/// up to INFO from serenity's gateway socket (it dumps undecodable payloads at DEBUG).
fn allowed(target: &str, level: tracing::Level, span: bool) -> bool {
    if !capped(target) {
        return true;
    }
    if span {
        return false;
    }
    let most = if target.starts_with("serenity::gateway::ws") {
        tracing::Level::INFO
    } else {
        tracing::Level::DEBUG
    };
    level <= most
}

fn capped(target: &str) -> bool {
    CAPPED_TARGETS.iter().any(|c| {
        target
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// `filter` (checked with [`check_filter`]; `info` when it does not parse after all),
/// with [`CAPPED_TARGETS`] never below DEBUG. Safe to call twice (the second call does
/// nothing).
pub fn init(format: LogFormat, filter: &str) {
    init_with_writer(format, filter, std::io::stderr, std::io::stderr().is_terminal());
}

/// [`init`] writing to `writer` (tests capture the log this way).
pub fn init_with_writer<W>(format: LogFormat, filter: &str, writer: W, ansi: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let env = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let cap =
        tracing_subscriber::filter::filter_fn(|meta| allowed(meta.target(), *meta.level(), meta.is_span()));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let layer = match format {
        LogFormat::Json => layer.json().flatten_event(true).with_filter(cap).boxed(),
        LogFormat::Text => layer.with_filter(cap).boxed(),
    };
    let _ = tracing_subscriber::registry().with(layer).with(env).try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_that_mean_something_and_those_that_do_not() {
        for ok in [
            "info",
            "WARN",
            "chainsignal=debug,sqlx=warn",
            "chainsignal_core::market=trace,warn",
            "chainsignal",
            "info,",
            "3",
            "chainsignal[report]=debug",
        ] {
            assert_eq!(check_filter(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "verbose!!",
            "[[[",
            "chainsignal=loud",
            "=info",
            "x=",
            "a b",
            "chainsignal==debug",
        ] {
            assert!(check_filter(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn payload_logging_libraries_are_capped() {
        for t in [
            "serenity",
            "serenity::gateway::shard",
            "tungstenite::protocol",
            "teloxide_core::adaptors::trace",
        ] {
            assert!(capped(t), "{t}");
        }
        for t in ["chainsignal", "serenity_like", "sqlx::query"] {
            assert!(!capped(t), "{t}");
        }
        use tracing::Level;
        assert!(allowed("chainsignal", Level::TRACE, true));
        assert!(
            !allowed("serenity::gateway::shard", Level::INFO, true),
            "no library spans"
        );
        assert!(allowed("serenity::gateway::shard", Level::DEBUG, false));
        assert!(!allowed("serenity::gateway::shard", Level::TRACE, false));
        assert!(!allowed("serenity::gateway::ws", Level::DEBUG, false));
        assert!(allowed("serenity::gateway::ws", Level::WARN, false));
    }
}
