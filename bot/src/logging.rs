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

/// `filter` (checked with [`check_filter`]; `info` when it does not parse after all).
/// Safe to call twice (the second call does nothing).
pub fn init(format: LogFormat, filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
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
}
