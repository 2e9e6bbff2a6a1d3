//! `/risk`: the account's risk. `/risk profile` shows its profile and every limit it
//! trades under (the profile's defaults, the operator's `[risk.profiles.*]`, an admin's
//! overrides for this account, marked). Private: it is about one person.

use super::liq::decimal;
use crate::{Block, CommandError, Ctx, Handled, Reply, Visibility};
use chainsignal_core::trading::{LimitOverrides, effective_limits};
use rust_decimal::Decimal;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    match ctx.args.sub {
        Some("profile") => profile(ctx).await,
        _ => show(ctx).await,
    }
}

/// `/risk` (`show`): the account's risk on its venue now (see
/// [`crate::trade_view::risk_reply`]).
async fn show(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    let risk = crate::risk_context::account_risk(ctx.services, account).await?;
    let view = ctx
        .services
        .desk
        .risk_view(account, &risk.limits, risk.day_start)
        .await
        .map_err(|e| super::trade::desk_error(ctx, e))?;
    let mut reply = crate::trade_view::risk_reply(
        &ctx.services.i18n,
        ctx.locale,
        &view,
        &risk.profile,
        &risk.next_day_local,
    );
    reply.visibility = Visibility::Private;
    Ok(reply.into())
}

async fn profile(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    let settings = ctx.services.store.account_settings(account).await?;
    let overrides = settings.limit_overrides.clone().unwrap_or_default();
    let limits = effective_limits(
        &ctx.services.risk,
        settings.risk_profile,
        settings.limit_overrides.as_ref(),
    );
    let locale = ctx.locale;
    let num = |d: Decimal| decimal(d, 4, locale);
    let pct_of_equity = |d: Decimal| ctx.tr("risk-pct-of-equity", &[("pct", &num(d))]);
    let yes_no = |b: bool| ctx.t(if b { "risk-yes" } else { "risk-no" });
    // A limit an admin set for this account is marked with an asterisk.
    let set: Vec<&str> = overrides.fields_set();
    let mark = |field: &str, label: &str| {
        let label = ctx.t(label);
        if set.contains(&field) {
            format!("{label} *")
        } else {
            label
        }
    };
    let fields = vec![
        (
            mark("max_open_positions", "risk-max-open"),
            limits.max_open_positions.to_string(),
        ),
        (
            mark("max_position_notional_pct", "risk-max-notional"),
            pct_of_equity(limits.max_position_notional_pct),
        ),
        (
            mark("max_gross_exposure_pct", "risk-max-gross"),
            pct_of_equity(limits.max_gross_exposure_pct),
        ),
        (
            mark("max_leverage", "risk-max-leverage"),
            format!("{}×", limits.max_leverage),
        ),
        (
            mark("daily_loss_limit_pct", "risk-label-daily-loss"),
            ctx.tr(
                "risk-pct-of-day-start",
                &[("pct", &num(limits.daily_loss_limit_pct))],
            ),
        ),
        (
            mark("stop_loss_required", "risk-label-sl-required"),
            yes_no(limits.stop_loss_required),
        ),
        (
            mark("min_reward_risk", "risk-min-rr"),
            match limits.min_reward_risk {
                Some(m) => num(m),
                None => ctx.t("risk-none"),
            },
        ),
        (
            mark("max_risk_to_sl_pct", "risk-max-risk-sl"),
            pct_of_equity(limits.max_risk_to_sl_pct),
        ),
        (
            mark("flatten_on_limit", "risk-flatten"),
            yes_no(limits.flatten_on_limit),
        ),
    ];
    let mut reply = Reply::default()
        .block(Block::Title(ctx.tr(
            "risk-profile-title",
            &[("profile", settings.risk_profile.as_str())],
        )))
        .block(Block::Fields(fields))
        .block(Block::Paragraph(
            ctx.tr("risk-trading-day", &[("zone", settings.timezone.name())]),
        ));
    if overrides != LimitOverrides::default() {
        reply = reply.block(Block::Footer(ctx.t("risk-overridden")));
    }
    reply.visibility = Visibility::Private;
    Ok(reply.into())
}
