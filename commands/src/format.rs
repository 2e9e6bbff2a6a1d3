//! Numbers and times as people read them, per locale. Full precision stays in CSV/JSON.

use crate::i18n::Locale;
use chrono::{DateTime, Utc};

/// A price with as many decimals as its size needs: 92,345.12 / 145.20 / 1.2345 /
/// 0.00007234; Polish uses `92 345,12`.
pub fn price(value: f64, locale: Locale) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    let abs = value.abs();
    let decimals = if abs >= 100.0 {
        2
    } else if abs >= 1.0 {
        4
    } else if abs == 0.0 {
        2
    } else {
        // Four significant digits.
        ((-abs.log10().floor()) as usize + 3).min(12)
    };
    localize(&format!("{value:.decimals$}"), locale)
}

/// A signed percentage with two decimals: `+1.23%`, `-0.50%` (`+1,23%` in Polish).
pub fn percent(value: f64, locale: Locale) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    localize(&format!("{value:+.2}%"), locale)
}

/// An unsigned percentage with two decimals (ATR).
pub fn percent_unsigned(value: f64, locale: Locale) -> String {
    if !value.is_finite() {
        return "–".into();
    }
    localize(&format!("{value:.2}%"), locale)
}

/// `2026-11-22 10:00` (UTC).
pub fn utc_minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// An amount of money to the cent, rounded half away from zero: `1,234.57`
/// (`1234,57` in Polish). Exact: computed on the decimal, never a float.
pub fn money(value: rust_decimal::Decimal, locale: Locale) -> String {
    localize(&format!("{:.2}", cents(value)), locale)
}

/// A signed amount of money to the cent: `+12.50`, `-3.10`.
pub fn money_signed(value: rust_decimal::Decimal, locale: Locale) -> String {
    let v = cents(value);
    let text = localize(&format!("{v:.2}"), locale);
    if v.is_sign_negative() {
        text
    } else {
        format!("+{text}")
    }
}

/// Rounded to the cent, half away from zero; never a negative zero.
fn cents(value: rust_decimal::Decimal) -> rust_decimal::Decimal {
    let v = value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    if v.is_zero() {
        rust_decimal::Decimal::ZERO
    } else {
        v
    }
}

/// A price or quantity exactly as it is (no trailing zeros), localized.
pub fn exact(value: rust_decimal::Decimal, locale: Locale) -> String {
    localize(&value.normalize().to_string(), locale)
}

/// A price with as many decimals as its size needs (see [`price`]), from a decimal.
pub fn price_dec(value: rust_decimal::Decimal, locale: Locale) -> String {
    let abs = value.abs();
    let dp = if abs >= rust_decimal::Decimal::ONE_HUNDRED {
        2
    } else if abs >= rust_decimal::Decimal::ONE {
        4
    } else {
        8
    };
    let v = value.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let v = if v.is_zero() {
        rust_decimal::Decimal::ZERO
    } else {
        v
    };
    localize(&format!("{v:.prec$}", prec = dp as usize), locale)
}

/// A signed percentage with two decimals, from a decimal: `+1.23%`.
pub fn percent_dec(value: rust_decimal::Decimal, locale: Locale) -> String {
    let v = cents(value);
    let sign = if v.is_sign_negative() { "" } else { "+" };
    localize(&format!("{sign}{v:.2}%"), locale)
}

/// Swap the decimal point and group the integer part's thousands.
pub(crate) fn localize(plain: &str, locale: Locale) -> String {
    let (sign, rest) = match plain.strip_prefix(['-', '+']) {
        Some(r) => (&plain[..1], r),
        None => ("", plain),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits: Vec<char> = int.chars().collect();
    let mut grouped = String::new();
    for (i, c) in digits.iter().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && digits.len() >= locale.group_from_digits() {
            grouped.push(locale.group_separator());
        }
        grouped.push(*c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}{}{f}", locale.decimal_separator()),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_and_percentages_per_locale() {
        assert_eq!(price(92345.123, Locale::En), "92,345.12");
        assert_eq!(price(92345.123, Locale::Pl), "92 345,12");
        assert_eq!(price(1234.5, Locale::En), "1,234.50");
        assert_eq!(price(1234.5, Locale::Pl), "1234,50");
        assert_eq!(price(145.2, Locale::En), "145.20");
        assert_eq!(price(1.23456, Locale::Pl), "1,2346");
        assert_eq!(price(0.000072345, Locale::En), "0.00007234");
        assert_eq!(price(f64::NAN, Locale::En), "–");
        assert_eq!(percent(1.234, Locale::En), "+1.23%");
        assert_eq!(percent(-0.5, Locale::Pl), "-0,50%");
        assert_eq!(percent_unsigned(3.14659, Locale::En), "3.15%");
        assert_eq!(percent(12345.0, Locale::En), "+12,345.00%");
    }

    #[test]
    fn decimals_to_the_cent() {
        use rust_decimal::Decimal;
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("1234.565"), Locale::En), "1,234.57");
        assert_eq!(money(d("-1234.565"), Locale::Pl), "-1234,57");
        assert_eq!(money(d("12345.5"), Locale::Pl), "12 345,50");
        assert_eq!(money_signed(d("12.5"), Locale::En), "+12.50");
        assert_eq!(money_signed(d("-3.104"), Locale::En), "-3.10");
        assert_eq!(money_signed(d("-0.001"), Locale::En), "+0.00");
        assert_eq!(exact(d("0.01000"), Locale::Pl), "0,01");
        assert_eq!(price_dec(d("60012.004"), Locale::En), "60,012.00");
        assert_eq!(price_dec(d("0.000072345"), Locale::En), "0.00007235");
        assert_eq!(percent_dec(d("-1.005"), Locale::En), "-1.01%");
        assert_eq!(percent_dec(d("2"), Locale::En), "+2.00%");
    }
}
