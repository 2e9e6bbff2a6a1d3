//! `/liq SYMBOL long|short ENTRY LEV`: the liquidation price of an isolated-margin,
//! USDT-margined position (Binance's formula, first maintenance tier), with the
//! symbol's maintenance margin rate from `[risk]`, and its distance from the entry.
//! A calculator anyone may use: it reads nothing of the asker's.
//!
//! The price is shown with at least 8 decimals (more below 1), so it equals the formula
//! to far better than 1e-8 relative.

use crate::{Block, CommandError, Ctx, Handled, Locale, Reply, format};
use chainsignal_core::trading::{Leverage, LiquidationError, PositionSide, liquidation_price};
use rust_decimal::Decimal;

/// Entries above this are refused: no price is anywhere near, and the arithmetic stays
/// far from a Decimal's limits.
const MAX_ENTRY: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0); // 1e12

pub(crate) fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let missing = || CommandError::Internal("a /liq option the decoder requires is missing");
    let symbol = ctx.args.symbol("symbol").ok_or_else(missing)?;
    let side = ctx
        .args
        .choice("side")
        .and_then(PositionSide::parse)
        .ok_or_else(missing)?;
    let entry = ctx.args.decimal("entry").ok_or_else(missing)?;
    let lev_given = ctx.args.integer("lev").ok_or_else(missing)?;
    let lev = u32::try_from(lev_given)
        .ok()
        .and_then(|l| Leverage::new(l).ok())
        .ok_or_else(|| CommandError::user_with("liq-bad-lev", vec![("lev", lev_given.to_string())]))?;
    let shown_entry = || entry.normalize().to_string().chars().take(40).collect::<String>();
    if entry <= Decimal::ZERO {
        return Err(CommandError::user_with(
            "liq-entry-not-positive",
            vec![("entry", shown_entry())],
        ));
    }
    if entry > MAX_ENTRY {
        return Err(CommandError::user_with(
            "liq-entry-too-large",
            vec![("entry", shown_entry())],
        ));
    }
    let mmr = ctx.services.risk.mmr_for(symbol.as_str());
    let locale = ctx.locale;
    let lp = match liquidation_price(side, entry, lev, mmr) {
        Ok(lp) => lp,
        Err(LiquidationError::EntryNotPositive) => {
            return Err(CommandError::user_with(
                "liq-entry-not-positive",
                vec![("entry", shown_entry())],
            ));
        }
        Err(LiquidationError::Overflow(_)) => {
            return Err(CommandError::user_with(
                "liq-entry-too-large",
                vec![("entry", shown_entry())],
            ));
        }
        // The config refuses such a rate at start-up.
        Err(LiquidationError::InvalidMmr) => return Err(CommandError::Internal("an invalid risk.mmr")),
    };
    let title = ctx.tr(
        "liq-title",
        &[
            ("symbol", symbol.as_str()),
            ("side", &ctx.t(&format!("liq-side-{}", side.as_str()))),
            ("lev", &lev.get().to_string()),
        ],
    );
    let mut fields = vec![
        (ctx.t("liq-entry"), decimal(entry, significant_dp(entry), locale)),
        (
            ctx.t("liq-mmr"),
            format!("{} %", decimal(mmr * Decimal::ONE_HUNDRED, 4, locale)),
        ),
    ];
    match lp {
        Some(lp) => {
            // (LP − entry) / entry × 100: negative for a long, positive for a short.
            let distance = lp
                .checked_sub(entry)
                .and_then(|d| d.checked_div(entry))
                .and_then(|d| d.checked_mul(Decimal::ONE_HUNDRED))
                .map(|d| d.round_dp(2));
            fields.push((ctx.t("liq-price"), decimal(lp, significant_dp(lp), locale)));
            fields.push((
                ctx.t("liq-distance"),
                distance.map_or_else(|| "–".into(), |d| signed_pct(d, locale)),
            ));
        }
        None => fields.push((ctx.t("liq-price"), ctx.t("liq-none"))),
    }
    Ok(Reply::default()
        .block(Block::Title(title))
        .block(Block::Fields(fields))
        .block(Block::Footer(ctx.t(match side {
            PositionSide::Long => "liq-formula-long",
            PositionSide::Short => "liq-formula-short",
        })))
        .into())
}

/// `d` rounded to `dp` decimals, trailing zeros dropped, in the locale's writing
/// (`45,180.72289157`, `45 180,72289157`).
pub(crate) fn decimal(d: Decimal, dp: u32, locale: Locale) -> String {
    format::localize(&d.round_dp(dp).normalize().to_string(), locale)
}

/// Decimals that keep about 12 significant digits of a price: 8 from 1 up, more below.
fn significant_dp(d: Decimal) -> u32 {
    let abs = d.abs();
    if abs >= Decimal::ONE || abs.is_zero() {
        return 8;
    }
    // Zeros right after the point: 0.000123 has 3.
    let text = abs.normalize().to_string();
    let zeros = text
        .strip_prefix("0.")
        .map_or(0, |f| f.chars().take_while(|c| *c == '0').count());
    (zeros as u32 + 12).min(26)
}

/// `+9.64 %`, `-9.64 %` (`-9,64 %` in Polish).
fn signed_pct(d: Decimal, locale: Locale) -> String {
    let sign = if d > Decimal::ZERO { "+" } else { "" };
    format!("{sign}{} %", format::localize(&d.normalize().to_string(), locale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_read_well_and_keep_their_digits() {
        assert_eq!(MAX_ENTRY, d("1000000000000"));
        assert_eq!(decimal(d("45180.722891566265"), 8, Locale::En), "45,180.72289157");
        assert_eq!(decimal(d("45180.722891566265"), 8, Locale::Pl), "45 180,72289157");
        assert_eq!(decimal(d("100.00000000"), 8, Locale::En), "100");
        assert_eq!(significant_dp(d("0.000012345")), 16);
        assert_eq!(significant_dp(d("54780.87")), 8);
        assert_eq!(signed_pct(d("9.64"), Locale::En), "+9.64 %");
        assert_eq!(signed_pct(d("-9.64"), Locale::Pl), "-9,64 %");
    }
}
