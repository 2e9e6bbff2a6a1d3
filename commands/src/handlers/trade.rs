//! What the trading commands share: the account, the risk limits and trading day, and
//! the desk's errors as localized sentences.

use crate::format::exact;
use crate::{CommandError, Ctx};
use chainsignal_core::desk::{DeskError, Mode};
use chainsignal_core::exchange::{ExchangeError, SizeError};
use chainsignal_core::trading::{PreviewError, RiskLimits};
use chrono::{DateTime, Utc};

/// The account's risk limits and the start of its trading day.
pub(crate) async fn risk_context(
    ctx: &Ctx<'_>,
    user_id: i64,
) -> Result<(RiskLimits, DateTime<Utc>), CommandError> {
    let r = crate::risk_context::account_risk(ctx.services, user_id).await?;
    Ok((r.limits, r.day_start))
}

/// The word for a mode, in the chat's language.
pub(crate) fn mode_word(ctx: &Ctx<'_>, mode: Mode) -> String {
    crate::trade_view::venue_word(&ctx.services.i18n, ctx.locale, mode.as_str())
}

/// A desk error as what the user reads (internal ones as an internal error, logged).
pub(crate) fn desk_error(ctx: &Ctx<'_>, e: DeskError) -> CommandError {
    let u = CommandError::user;
    let with = CommandError::user_with;
    match e {
        DeskError::Store(s) => CommandError::Store(s),
        DeskError::Exchange(x) => exchange_error(x),
        DeskError::Preview(p) => preview_error(ctx, p),
        DeskError::Size(s) => size_error(ctx, s),
        DeskError::NoKey(mode) => with("trade-no-key", vec![("mode", mode_word(ctx, mode))]),
        DeskError::KeyDoesNotOpen => u("trade-key-unopenable"),
        DeskError::NoVault => u("keys-vault-disabled"),
        DeskError::LiveDisabled => u("mode-live-disabled"),
        DeskError::LiveNotAllowed => u("mode-live-not-allowed"),
        DeskError::ShortOnSpot => u("trade-short-on-spot"),
        DeskError::LeverageOnSpot => u("trade-leverage-on-spot"),
        DeskError::NoSuchPosition => u("close-unknown"),
        DeskError::NotTrading => u("trade-not-trading"),
        DeskError::OutcomeUnknown => u("trade-outcome-unknown"),
        DeskError::AlreadyFailed => u("trade-already-failed"),
        DeskError::NotFilled(_) => u("trade-not-filled"),
        DeskError::Busy => u("trade-busy"),
        DeskError::InProgress => u("trade-in-progress"),
        DeskError::AccountBusy => u("trade-account-busy"),
        DeskError::OrderUnsettled => u("trade-order-unsettled"),
        DeskError::WrongQuote(asset) => with("trade-wrong-quote", vec![("asset", asset)]),
        DeskError::VenueChanged => u("trade-venue-changed"),
        DeskError::CloseUnknown => u("trade-close-unknown"),
        DeskError::Refused(_) => u("trade-refused"),
        DeskError::Corrupt(what) => {
            tracing::error!(what, "trading data does not read");
            CommandError::Internal("trading data does not read")
        }
        DeskError::Overflow => u("trade-too-large"),
    }
}

fn exchange_error(e: ExchangeError) -> CommandError {
    let u = CommandError::user;
    match e {
        ExchangeError::InsufficientBalance => u("trade-insufficient-balance"),
        ExchangeError::FilterFailure { filter } => CommandError::user_with(
            "trade-filter-failure",
            vec![("filter", filter.chars().take(40).collect())],
        ),
        ExchangeError::ClockSkew => u("trade-clock-skew"),
        ExchangeError::RateLimited { retry_after } => CommandError::user_with(
            "trade-rate-limited",
            vec![("seconds", retry_after.as_secs().max(1).to_string())],
        ),
        ExchangeError::UnknownSymbol => u("trade-unknown-symbol"),
        ExchangeError::InvalidKey | ExchangeError::BadSignature | ExchangeError::IpNotAllowed => {
            u("trade-key-refused")
        }
        ExchangeError::Timeout
        | ExchangeError::Unavailable(_)
        | ExchangeError::NotFound
        | ExchangeError::InvalidData(_) => u("trade-exchange-down"),
        other => {
            tracing::warn!(error = %other, "the exchange refused an order");
            u("trade-exchange-refused")
        }
    }
}

/// Numbers in these sentences are written as the chat's language writes them (0,001 in
/// Polish), like every other number the trading commands show.
fn preview_error(ctx: &Ctx<'_>, e: PreviewError) -> CommandError {
    let u = CommandError::user;
    let d = |v: rust_decimal::Decimal| exact(v, ctx.locale);
    match e {
        PreviewError::NoPrice => u("trade-no-price"),
        PreviewError::InvalidSettings => CommandError::Internal("invalid paper settings"),
        PreviewError::Size(s) => size_error(ctx, s),
        PreviewError::PriceNotPositive => u("trade-price-not-positive"),
        PreviewError::StopOnWrongSide { entry, sl, .. } => {
            CommandError::user_with("trade-sl-wrong-side", vec![("sl", d(sl)), ("entry", d(entry))])
        }
        PreviewError::TargetOnWrongSide { entry, tp, .. } => {
            CommandError::user_with("trade-tp-wrong-side", vec![("tp", d(tp)), ("entry", d(entry))])
        }
        PreviewError::Liquidation(_) | PreviewError::Overflow(_) => u("trade-too-large"),
    }
}

fn size_error(ctx: &Ctx<'_>, e: SizeError) -> CommandError {
    let d = |v: rust_decimal::Decimal| exact(v, ctx.locale);
    match e {
        SizeError::NotPositive => CommandError::user("trade-size-not-positive"),
        SizeError::BelowMinQty { qty, min_qty, step } => CommandError::user_with(
            "trade-below-min-qty",
            vec![("qty", d(qty)), ("min", d(min_qty)), ("step", d(step))],
        ),
        SizeError::AboveMaxQty { qty, max_qty } => {
            CommandError::user_with("trade-above-max-qty", vec![("qty", d(qty)), ("max", d(max_qty))])
        }
        SizeError::BelowMinNotional {
            qty,
            notional,
            min_notional,
            ..
        } => CommandError::user_with(
            "trade-below-min-notional",
            vec![
                ("qty", d(qty)),
                ("notional", d(notional.round_dp(2))),
                ("min", d(min_notional)),
            ],
        ),
        SizeError::Overflow => CommandError::user("trade-too-large"),
    }
}
