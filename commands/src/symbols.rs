//! The symbols a command was asked about: the watchlist when none are given; what
//! cannot be a symbol is kept as a failure to show, not as an error for the whole command.

use crate::options::SymbolList;
use crate::{CommandError, MAX_REPORT_SYMBOLS, Services};
use chainsignal_core::report::{ReportError, SymbolFailure};
use chainsignal_core::symbol::Symbol;

/// The localized refusal of a list longer than [`MAX_REPORT_SYMBOLS`].
pub fn too_many() -> CommandError {
    CommandError::user_with(
        "report-too-many-symbols",
        vec![("max", MAX_REPORT_SYMBOLS.to_string())],
    )
}

/// The symbols to report: those given, or the watchlist when none were; what could not
/// be a symbol is kept as a failure to show.
pub fn requested(services: &Services, given: &SymbolList) -> (Vec<Symbol>, Vec<SymbolFailure>) {
    if given.symbols.is_empty() && given.invalid.is_empty() {
        return (services.watchlist.clone(), Vec::new());
    }
    let invalid = given
        .invalid
        .iter()
        .map(|(input, e)| SymbolFailure {
            symbol: input.clone(),
            error: ReportError::InvalidSymbol(e.clone()),
        })
        .collect();
    (given.symbols.clone(), invalid)
}
