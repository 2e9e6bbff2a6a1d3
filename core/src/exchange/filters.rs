//! A symbol's trading filters from `exchangeInfo` (LOT_SIZE, NOTIONAL / MIN_NOTIONAL,
//! PRICE_FILTER) and the rounding of an order's quantity they ask for.

use super::ExchangeError;
use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// What a market order on one symbol must satisfy. A zero means "no limit", as on Binance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolFilters {
    pub symbol: String,
    /// `TRADING`, `BREAK`, `HALT`, …
    pub status: String,
    pub base_asset: String,
    pub quote_asset: String,
    /// LOT_SIZE.
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub max_qty: Decimal,
    /// NOTIONAL `minNotional` when `applyMinToMarket`, or MIN_NOTIONAL when
    /// `applyToMarket`; `None` when neither applies to market orders.
    pub min_notional: Option<Decimal>,
    /// PRICE_FILTER.
    pub tick_size: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
}

/// Why a quantity cannot be ordered. Each is a clear sentence for the user, with the
/// numbers that explain it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("the quantity and the price must be greater than zero")]
    NotPositive,
    #[error("{qty} is below the minimum quantity {min_qty} (step {step})")]
    BelowMinQty {
        qty: Decimal,
        min_qty: Decimal,
        step: Decimal,
    },
    #[error("{qty} is above the maximum quantity {max_qty}")]
    AboveMaxQty { qty: Decimal, max_qty: Decimal },
    #[error("{qty} at {price} is worth {notional}, below the minimum order value {min_notional}")]
    BelowMinNotional {
        qty: Decimal,
        price: Decimal,
        notional: Decimal,
        min_notional: Decimal,
    },
    #[error("the numbers are too large to compute")]
    Overflow,
}

impl SymbolFilters {
    pub fn is_trading(&self) -> bool {
        self.status == "TRADING"
    }

    /// `qty` rounded DOWN to what LOT_SIZE allows (`minQty + k × stepSize`, Binance's
    /// rule), checked against minQty, maxQty and the minimum notional at `price` (the
    /// expected fill price). Never rounds up: an order never exceeds what was asked.
    pub fn market_quantity(&self, qty: Decimal, price: Decimal) -> Result<Decimal, SizeError> {
        if qty <= Decimal::ZERO || price <= Decimal::ZERO {
            return Err(SizeError::NotPositive);
        }
        let step = self.step_size.max(Decimal::ZERO);
        let min_qty = self.min_qty.max(Decimal::ZERO);
        let below_min = |qty: Decimal| SizeError::BelowMinQty {
            qty: qty.normalize(),
            min_qty: min_qty.normalize(),
            step: step.normalize(),
        };
        if qty < min_qty {
            return Err(below_min(qty));
        }
        let rounded = if step.is_zero() {
            qty
        } else {
            let above = qty.checked_sub(min_qty).ok_or(SizeError::Overflow)?;
            let steps = above.checked_div(step).ok_or(SizeError::Overflow)?.floor();
            steps
                .checked_mul(step)
                .and_then(|q| q.checked_add(min_qty))
                .ok_or(SizeError::Overflow)?
        }
        .normalize();
        if rounded.is_zero() {
            return Err(below_min(qty));
        }
        if self.max_qty > Decimal::ZERO && rounded > self.max_qty {
            return Err(SizeError::AboveMaxQty {
                qty: rounded,
                max_qty: self.max_qty.normalize(),
            });
        }
        let notional = rounded.checked_mul(price).ok_or(SizeError::Overflow)?;
        if let Some(min_notional) = self.min_notional.filter(|m| *m > Decimal::ZERO)
            && notional < min_notional
        {
            return Err(SizeError::BelowMinNotional {
                qty: rounded,
                price: price.normalize(),
                notional: notional.normalize(),
                min_notional: min_notional.normalize(),
            });
        }
        Ok(rounded)
    }

    /// The base quantity that `quote_amount` (e.g. 250 USDT) buys at `price`, rounded
    /// and checked like [`market_quantity`](Self::market_quantity).
    pub fn market_quantity_for_quote(
        &self,
        quote_amount: Decimal,
        price: Decimal,
    ) -> Result<Decimal, SizeError> {
        if quote_amount <= Decimal::ZERO || price <= Decimal::ZERO {
            return Err(SizeError::NotPositive);
        }
        let qty = quote_amount.checked_div(price).ok_or(SizeError::Overflow)?;
        self.market_quantity(qty, price)
    }
}

/// A decimal as Binance sends one: a string (`"0.00001000"`) or a JSON number. Anything
/// else, or a value out of [`Decimal`]'s range (`"1e400"`, `"NaN"`), is `None`.
pub(crate) fn decimal(v: &Value) -> Option<Decimal> {
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if text.is_empty() || text.len() > 64 {
        return None;
    }
    Decimal::from_str(&text)
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

fn field<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?.get(name)
}

fn text(v: &Value, name: &str) -> Result<String, ExchangeError> {
    field(v, name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ExchangeError::InvalidData(format!("exchangeInfo: {name} is missing")))
}

/// A non-negative decimal field of a filter; absent means zero (no limit).
fn filter_decimal(filter: &Value, name: &str) -> Result<Decimal, ExchangeError> {
    match field(filter, name) {
        None | Some(Value::Null) => Ok(Decimal::ZERO),
        Some(v) => decimal(v)
            .filter(|d| *d >= Decimal::ZERO)
            .ok_or_else(|| ExchangeError::InvalidData(format!("exchangeInfo: {name} is not a number"))),
    }
}

/// The filters of `symbol` in an `exchangeInfo` answer.
pub(crate) fn parse_symbol_filters(body: &[u8], symbol: &str) -> Result<SymbolFilters, ExchangeError> {
    let info: Value = serde_json::from_slice(body)
        .map_err(|_| ExchangeError::InvalidData("exchangeInfo is not JSON".into()))?;
    let symbols = field(&info, "symbols")
        .and_then(Value::as_array)
        .ok_or_else(|| ExchangeError::InvalidData("exchangeInfo has no symbols".into()))?;
    let Some(s) = symbols
        .iter()
        .find(|s| field(s, "symbol").and_then(Value::as_str) == Some(symbol))
    else {
        return Err(ExchangeError::UnknownSymbol);
    };
    let mut out = SymbolFilters {
        symbol: symbol.to_string(),
        status: text(s, "status")?,
        base_asset: text(s, "baseAsset")?,
        quote_asset: text(s, "quoteAsset")?,
        step_size: Decimal::ZERO,
        min_qty: Decimal::ZERO,
        max_qty: Decimal::ZERO,
        min_notional: None,
        tick_size: Decimal::ZERO,
        min_price: Decimal::ZERO,
        max_price: Decimal::ZERO,
    };
    let filters = field(s, "filters").and_then(Value::as_array);
    for f in filters.into_iter().flatten() {
        match field(f, "filterType").and_then(Value::as_str) {
            Some("LOT_SIZE") => {
                out.step_size = filter_decimal(f, "stepSize")?;
                out.min_qty = filter_decimal(f, "minQty")?;
                out.max_qty = filter_decimal(f, "maxQty")?;
            }
            Some("NOTIONAL") if field(f, "applyMinToMarket").and_then(Value::as_bool) != Some(false) => {
                out.min_notional = Some(filter_decimal(f, "minNotional")?);
            }
            Some("MIN_NOTIONAL") if field(f, "applyToMarket").and_then(Value::as_bool) != Some(false) => {
                out.min_notional = Some(filter_decimal(f, "minNotional")?);
            }
            Some("PRICE_FILTER") => {
                out.tick_size = filter_decimal(f, "tickSize")?;
                out.min_price = filter_decimal(f, "minPrice")?;
                out.max_price = filter_decimal(f, "maxPrice")?;
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn reads_decimals_as_binance_sends_them() {
        assert_eq!(decimal(&Value::from("0.00001000")), Some(d("0.00001")));
        assert_eq!(decimal(&serde_json::json!(1.5)), Some(d("1.5")));
        assert_eq!(decimal(&Value::from("1e-5")), Some(d("0.00001")));
        for bad in [
            "NaN",
            "inf",
            "1e400",
            "",
            "x",
            "99999999999999999999999999999999999",
        ] {
            assert_eq!(decimal(&Value::from(bad)), None, "{bad}");
        }
        assert_eq!(decimal(&serde_json::json!(1e300)), None);
        assert_eq!(decimal(&Value::Null), None);
    }
}
