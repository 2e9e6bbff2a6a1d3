//! The symbols a command was asked about: the watchlist when none are given; what
//! cannot be a symbol is kept as a failure to show, not as an error for the whole command.

use crate::{CommandError, MAX_REPORT_SYMBOLS, Services};
use chainsignal_core::report::{ReportError, SymbolFailure};
use chainsignal_core::symbol::{Symbol, check_count};

/// The localized refusal of a list longer than [`MAX_REPORT_SYMBOLS`].
pub fn too_many() -> CommandError {
    CommandError::user_with(
        "report-too-many-symbols",
        vec![("max", MAX_REPORT_SYMBOLS.to_string())],
    )
}

pub fn requested(
    services: &Services,
    args: &[String],
) -> Result<(Vec<Symbol>, Vec<SymbolFailure>), CommandError> {
    check_count(args.len()).map_err(|_| too_many())?;
    if args.is_empty() {
        return Ok((services.watchlist.clone(), Vec::new()));
    }
    let mut symbols: Vec<Symbol> = Vec::new();
    let mut invalid = Vec::new();
    for arg in args {
        match Symbol::parse(arg, &services.quote) {
            Ok(s) if !symbols.contains(&s) => symbols.push(s),
            Ok(_) => {}
            Err(e) => invalid.push(SymbolFailure {
                // What the user typed, cut short: it is shown back to them.
                symbol: arg.chars().take(24).collect(),
                error: ReportError::InvalidSymbol(e),
            }),
        }
    }
    Ok((symbols, invalid))
}
