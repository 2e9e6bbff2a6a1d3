//! Trading-pair symbols as users write them: `btc`, `BTC`, `BTCUSDT`, `BTC/USDT`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Quote assets recognised at the end of a symbol written without a separator
/// (`ETHUSDC`). Any other pair needs a separator (`ETH/BTC`), so `WBTC` means
/// WBTC against the default quote rather than "W against BTC".
const SUFFIX_QUOTES: &[&str] = &["USDT", "USDC", "FDUSD"];
const MAX_SYMBOL_LEN: usize = 20;

/// A normalised exchange symbol such as `BTCUSDT`: upper-case ASCII letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Symbol(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    #[error("empty symbol")]
    Empty,
    #[error("symbol is too long")]
    TooLong,
    #[error("symbol contains characters other than letters and digits")]
    InvalidCharacters,
}

impl Symbol {
    /// Normalise what a user typed, appending `default_quote` to a bare asset.
    pub fn parse(input: &str, default_quote: &str) -> Result<Self, SymbolError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(SymbolError::Empty);
        }
        if raw.chars().count() > MAX_SYMBOL_LEN + 1 {
            return Err(SymbolError::TooLong);
        }
        let upper = raw.to_ascii_uppercase();
        let mut parts = upper.split(['/', '-', '_', ':']);
        let base = parts.next().unwrap_or_default();
        let quote = parts.next();
        if parts.next().is_some() {
            return Err(SymbolError::InvalidCharacters);
        }
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
        let joined = match quote {
            Some(q) => {
                if !valid(base) || !valid(q) {
                    return Err(SymbolError::InvalidCharacters);
                }
                format!("{base}{q}")
            }
            None => {
                if !valid(base) {
                    return Err(SymbolError::InvalidCharacters);
                }
                let has_quote = SUFFIX_QUOTES
                    .iter()
                    .chain(std::iter::once(&default_quote))
                    .any(|q| base.len() > q.len() && base.ends_with(q));
                if has_quote {
                    base.to_string()
                } else {
                    format!("{base}{}", default_quote.to_ascii_uppercase())
                }
            }
        };
        if joined.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong);
        }
        Ok(Self(joined))
    }

    /// A symbol in its normal form as stored by an earlier parse (`ETHBTC`): upper-case
    /// ASCII letters and digits, at most the length a symbol has. No quote is appended.
    pub fn parse_normalized(s: &str) -> Result<Self, SymbolError> {
        if s.is_empty() {
            return Err(SymbolError::Empty);
        }
        if s.len() > MAX_SYMBOL_LEN {
            return Err(SymbolError::TooLong);
        }
        if !s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err(SymbolError::InvalidCharacters);
        }
        Ok(Self(s.to_string()))
    }

    /// A symbol known to be in normal form already (exchange data, stored rows).
    pub fn from_normalized(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most symbols in one report, whatever asks for it: `/report`, `/summary`, a schedule
/// (chat or config), the watchlist, `chainsignal report --symbols`. Each symbol costs two
/// klines requests; the [`crate::report::ReportBuilder`] fetches no more than this.
pub const MAX_REPORT_SYMBOLS: usize = 20;

/// Why a list of symbols was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("{input:?} is not a symbol ({error})")]
    Invalid { input: String, error: SymbolError },
    #[error("at most {max} symbols in one report, {got} given", max = MAX_REPORT_SYMBOLS)]
    TooMany { got: usize },
}

/// Refuse more than [`MAX_REPORT_SYMBOLS`] entries (as given, duplicates included).
pub fn check_count(entries: usize) -> Result<(), ListError> {
    if entries > MAX_REPORT_SYMBOLS {
        Err(ListError::TooMany { got: entries })
    } else {
        Ok(())
    }
}

/// Parse a list of user-typed symbols for one report, dropping duplicates but keeping
/// order; at most [`MAX_REPORT_SYMBOLS`] entries.
pub fn parse_list<'a>(
    inputs: impl IntoIterator<Item = &'a str>,
    default_quote: &str,
) -> Result<Vec<Symbol>, ListError> {
    let inputs: Vec<&str> = inputs.into_iter().collect();
    check_count(inputs.len())?;
    let mut out: Vec<Symbol> = Vec::new();
    for input in inputs {
        let s = Symbol::parse(input, default_quote).map_err(|error| ListError::Invalid {
            input: input.to_string(),
            error,
        })?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, SymbolError> {
        Symbol::parse(s, "USDT").map(|s| s.0)
    }

    #[test]
    fn the_ways_users_write_a_symbol() {
        for s in ["btc", "BTC", "BTCUSDT", "BTC/USDT", "btc/usdt", " btc-usdt "] {
            assert_eq!(p(s).unwrap(), "BTCUSDT", "{s}");
        }
        assert_eq!(p("eth/btc").unwrap(), "ETHBTC");
        assert_eq!(p("ETHUSDC").unwrap(), "ETHUSDC");
        assert_eq!(p("WBTC").unwrap(), "WBTCUSDT");
        assert_eq!(p("USDT").unwrap(), "USDTUSDT");
        assert_eq!(p("1000sats").unwrap(), "1000SATSUSDT");
    }

    #[test]
    fn garbage_is_refused() {
        assert_eq!(p(""), Err(SymbolError::Empty));
        assert_eq!(p("<b>"), Err(SymbolError::InvalidCharacters));
        assert_eq!(p("a/b/c"), Err(SymbolError::InvalidCharacters));
        assert_eq!(p("/usdt"), Err(SymbolError::InvalidCharacters));
        assert_eq!(p("bitcoin😀"), Err(SymbolError::InvalidCharacters));
        assert_eq!(p(&"X".repeat(500)), Err(SymbolError::TooLong));
        assert_eq!(p(&"X".repeat(18)), Err(SymbolError::TooLong));
    }

    #[test]
    fn lists_drop_duplicates_in_order() {
        let l = parse_list(["eth", "btc", "ETHUSDT"], "USDT").unwrap();
        assert_eq!(
            l.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            ["ETHUSDT", "BTCUSDT"]
        );
        assert!(parse_list(["btc", "$$"], "USDT").is_err());
    }

    #[test]
    fn lists_are_capped() {
        let many: Vec<String> = (0..21).map(|i| format!("c{i}")).collect();
        assert_eq!(
            parse_list(many.iter().map(String::as_str), "USDT"),
            Err(ListError::TooMany { got: 21 })
        );
        assert_eq!(
            parse_list(many[..20].iter().map(String::as_str), "USDT")
                .unwrap()
                .len(),
            20
        );
        assert_eq!(
            ListError::TooMany { got: 21 }.to_string(),
            "at most 20 symbols in one report, 21 given"
        );
    }
}
