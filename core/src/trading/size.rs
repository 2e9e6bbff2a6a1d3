//! An order's SIZE as a user writes it: a base quantity (`0.01`) or a quote notional
//! (`250usdt`, the suffix being the symbol's quote asset in any case).

use rust_decimal::Decimal;
use std::str::FromStr;

/// The largest size accepted, in base or quote units: 1e12. Anything larger is a typo
/// or an attack, and keeps every later product (size × price × fee) far from
/// [`Decimal`]'s limits.
pub const MAX_SIZE: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Longest input looked at; a longer one is refused without parsing.
const MAX_INPUT_CHARS: usize = 48;

/// How much to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeSpec {
    /// A quantity of the base asset (`0.01` BTC).
    Base(Decimal),
    /// An amount of the quote asset to spend (`250usdt`): quantity = amount / fill price.
    Quote(Decimal),
}

/// Why a SIZE was refused. Each variant is one sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeParseError {
    #[error("no size given")]
    Empty,
    #[error("the size is too long")]
    TooLong,
    #[error("the size must be greater than zero")]
    NotPositive,
    #[error("the size is above the maximum {max}")]
    TooLarge { max: Decimal },
    #[error("write the size without exponent (1e3): use plain digits")]
    Exponent,
    #[error("write the size without thousands separators, with a dot for decimals (1000.5)")]
    Separator,
    #[error("{unit} is not this symbol's quote asset {quote}")]
    WrongUnit { unit: String, quote: String },
    #[error("the size is not a number")]
    NotANumber,
}

/// Parse a SIZE for a symbol whose quote asset is `quote_asset` (e.g. `USDT`).
///
/// Accepted: plain decimal digits with at most one `.` (`0.01`, `.5`, `250`),
/// optionally followed by the quote asset (`250usdt`, `250 USDT`). Refused, each with
/// its own error: empty, zero, negative, above [`MAX_SIZE`], exponent forms (`1e3`),
/// separators (`1,000.5`, `1_000`), another unit, `NaN`/`inf` and anything else.
pub fn parse_size(input: &str, quote_asset: &str) -> Result<SizeSpec, SizeParseError> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err(SizeParseError::Empty);
    }
    if raw.chars().count() > MAX_INPUT_CHARS {
        return Err(SizeParseError::TooLong);
    }
    // The number is everything before the first letter (char boundaries, never a byte
    // index into the user's text).
    let split = raw
        .char_indices()
        .find(|(_, c)| c.is_alphabetic())
        .map(|(i, _)| i)
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number = number.trim_end();
    let unit = unit.trim();

    let quote = if unit.is_empty() {
        false
    } else if unit.eq_ignore_ascii_case(quote_asset) && !quote_asset.is_empty() {
        true
    } else if is_exponent(unit) && !number.is_empty() {
        return Err(SizeParseError::Exponent);
    } else if number.is_empty() {
        // `nan`, `inf`, `abc`
        return Err(SizeParseError::NotANumber);
    } else {
        return Err(SizeParseError::WrongUnit {
            unit: unit.to_uppercase(),
            quote: quote_asset.to_uppercase(),
        });
    };

    let digits = match number.strip_prefix('-') {
        Some(rest) if !rest.is_empty() => {
            // A negative size is refused as such, whatever follows the sign.
            return if rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
                Err(SizeParseError::NotPositive)
            } else {
                Err(SizeParseError::NotANumber)
            };
        }
        _ => number.strip_prefix('+').unwrap_or(number),
    };
    if digits.contains([',', '_', '\'', ' ']) {
        return Err(SizeParseError::Separator);
    }
    let dots = digits.chars().filter(|c| *c == '.').count();
    let has_digit = digits.chars().any(|c| c.is_ascii_digit());
    if !has_digit || dots > 1 || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(SizeParseError::NotANumber);
    }
    let value = match Decimal::from_str(digits) {
        Ok(v) => v,
        // Only overflow is left once the text is digits and one dot.
        Err(_) => return Err(SizeParseError::TooLarge { max: MAX_SIZE }),
    };
    if value <= Decimal::ZERO {
        return Err(SizeParseError::NotPositive);
    }
    if value > MAX_SIZE {
        return Err(SizeParseError::TooLarge { max: MAX_SIZE });
    }
    let value = value.normalize();
    Ok(if quote {
        SizeSpec::Quote(value)
    } else {
        SizeSpec::Base(value)
    })
}

/// `e5`, `E-3`, `e+10`, `e3usdt`: the tail of an exponent form (an `e`, an optional
/// sign, then a digit).
fn is_exponent(unit: &str) -> bool {
    let mut chars = unit.chars();
    if !matches!(chars.next(), Some('e' | 'E')) {
        return false;
    }
    match chars.next() {
        Some('+' | '-') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) => c.is_ascii_digit(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trading::d;

    #[test]
    fn base_quantities_parse() {
        assert_eq!(parse_size("0.01", "USDT"), Ok(SizeSpec::Base(d("0.01"))));
        assert_eq!(parse_size(" 2 ", "USDT"), Ok(SizeSpec::Base(d("2"))));
        assert_eq!(parse_size(".5", "USDT"), Ok(SizeSpec::Base(d("0.5"))));
        assert_eq!(parse_size("+3", "USDT"), Ok(SizeSpec::Base(d("3"))));
        assert_eq!(
            parse_size("0.00000001", "USDT"),
            Ok(SizeSpec::Base(d("0.00000001")))
        );
    }

    #[test]
    fn quote_notionals_parse_in_any_case() {
        assert_eq!(parse_size("250usdt", "USDT"), Ok(SizeSpec::Quote(d("250"))));
        assert_eq!(parse_size("250USDT", "USDT"), Ok(SizeSpec::Quote(d("250"))));
        assert_eq!(parse_size("250 UsDt", "USDT"), Ok(SizeSpec::Quote(d("250"))));
        assert_eq!(parse_size("0.5btc", "BTC"), Ok(SizeSpec::Quote(d("0.5"))));
    }

    #[test]
    fn another_quote_asset_is_refused() {
        assert_eq!(
            parse_size("250usdc", "USDT"),
            Err(SizeParseError::WrongUnit {
                unit: "USDC".into(),
                quote: "USDT".into()
            })
        );
    }

    #[test]
    fn zero_negative_and_huge_are_refused() {
        assert_eq!(parse_size("0", "USDT"), Err(SizeParseError::NotPositive));
        assert_eq!(parse_size("0.000", "USDT"), Err(SizeParseError::NotPositive));
        assert_eq!(parse_size("-1", "USDT"), Err(SizeParseError::NotPositive));
        assert_eq!(parse_size("-5usdt", "USDT"), Err(SizeParseError::NotPositive));
        assert_eq!(
            parse_size("1000000000000", "USDT"),
            Ok(SizeSpec::Base(d("1000000000000")))
        );
        assert_eq!(
            parse_size("1000000000000.01", "USDT"),
            Err(SizeParseError::TooLarge { max: MAX_SIZE })
        );
        assert_eq!(
            parse_size("99999999999999999999999999999999999", "USDT"),
            Err(SizeParseError::TooLarge { max: MAX_SIZE })
        );
        assert_eq!(MAX_SIZE, d("1000000000000"));
    }

    #[test]
    fn exponents_separators_and_non_numbers_are_refused() {
        for e in ["1e3", "1E3", "2.5e-3", "1e+10", "1e3usdt"] {
            assert_eq!(parse_size(e, "USDT"), Err(SizeParseError::Exponent), "{e}");
        }
        for s in ["1,000.5", "1_000", "1'000", "1 000"] {
            assert_eq!(parse_size(s, "USDT"), Err(SizeParseError::Separator), "{s}");
        }
        for n in [
            "NaN", "nan", "inf", "-inf", "infinity", ".", "1.2.3", "--1", "0x10", "١٢",
        ] {
            assert!(
                matches!(
                    parse_size(n, "USDT"),
                    Err(SizeParseError::NotANumber | SizeParseError::WrongUnit { .. })
                ),
                "{n}: {:?}",
                parse_size(n, "USDT")
            );
        }
        assert_eq!(parse_size("", "USDT"), Err(SizeParseError::Empty));
        assert_eq!(parse_size(&"1".repeat(60), "USDT"), Err(SizeParseError::TooLong));
        assert_eq!(parse_size("usdt", "USDT"), Err(SizeParseError::NotANumber));
    }

    #[test]
    fn multibyte_input_does_not_panic() {
        for s in ["ąę", "1ż", "€100", "100€", "１２３", "1.5ü"] {
            assert!(parse_size(s, "USDT").is_err(), "{s}");
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any text, any quote asset: an answer, never a panic; an accepted size is
        /// positive and at most MAX_SIZE.
        #[test]
        fn parse_never_panics(input in "\\PC{0,60}", quote in "[A-Za-z]{0,6}") {
            if let Ok(SizeSpec::Base(v) | SizeSpec::Quote(v)) = parse_size(&input, &quote) {
                prop_assert!(v > Decimal::ZERO && v <= MAX_SIZE);
            }
        }

        /// Plain decimals round-trip.
        #[test]
        fn plain_decimals_parse(m in 1i64..1_000_000_000_000, scale in 0u32..8) {
            let v = Decimal::new(m, scale);
            prop_assert_eq!(parse_size(&v.to_string(), "USDT"), Ok(SizeSpec::Base(v.normalize())));
            prop_assert_eq!(parse_size(&format!("{v}usdt"), "USDT"), Ok(SizeSpec::Quote(v.normalize())));
        }
    }
}
