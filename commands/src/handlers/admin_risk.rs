//! `/admin risk USER PROFILE`: put an account on a risk profile (admins and owners).
//! The run is audited like every command (`risk user=#42 profile=model2`). An owner's
//! account (from the config) is changed by an owner only.

use super::admin::{is_owner, target};
use crate::access::Denial;
use crate::approval::account_name;
use crate::{CommandError, Ctx, Handled, Reply, Role};
use chainsignal_core::trading::Profile;
use chrono::Utc;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let profile = match (
        ctx.args.user("user"),
        ctx.args.choice("profile").and_then(Profile::parse),
    ) {
        (None, None) => return list(ctx).await,
        (Some(_), Some(p)) => p,
        _ => {
            return Err(CommandError::Usage {
                key: "admin-risk-usage",
                args: Vec::new(),
                usage: ctx.spec.usage(),
            });
        }
    };
    let account = target(ctx).await?;
    if ctx.role < Role::Owner && is_owner(ctx, account.id).await? {
        return Err(CommandError::Denied(Denial::NeedsOwner));
    }
    let before = ctx
        .services
        .store
        .account_settings(account.id)
        .await?
        .risk_profile;
    ctx.services
        .store
        .set_risk_profile(account.id, profile, Utc::now())
        .await?;
    let name = account_name(ctx.services, account.id).await;
    Ok(Reply::text(ctx.tr(
        "admin-risk-set",
        &[
            ("name", &name),
            ("profile", profile.as_str()),
            ("before", before.as_str()),
        ],
    ))
    .into())
}

/// Accounts that traded in the last day, at most this many in `/admin risk`.
const LIST_MAX: usize = 50;

/// `/admin risk`: the accounts that traded today, by daily loss limit used, then gross
/// exposure: profile, limit used, exposure, open positions, kill switch.
async fn list(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    use crate::format::exact;
    use crate::reply::{Align, Block};
    use chainsignal_core::trading::KillSwitch;
    let services = ctx.services;
    let now = services.desk.now();
    let active = services
        .store
        .trading_accounts_active_since(now - chrono::Duration::days(1))
        .await?;
    let mut rows = Vec::new();
    for user in active.into_iter().take(LIST_MAX) {
        let risk = crate::risk_context::account_risk(services, user).await?;
        let view = match services.desk.risk_view(user, &risk.limits, risk.day_start).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(user, error = %e, "an account's risk is unavailable for /admin risk");
                continue;
            }
        };
        rows.push((user, risk.profile, view));
    }
    if rows.is_empty() {
        return Ok(Reply::text(ctx.t("admin-risk-none")).into());
    }
    let zero = rust_decimal::Decimal::ZERO;
    rows.sort_by(|a, b| {
        let used = |v: &chainsignal_core::desk::RiskView| v.daily.used_pct.unwrap_or(zero);
        used(&b.2)
            .cmp(&used(&a.2))
            .then(b.2.gross_pct.unwrap_or(zero).cmp(&a.2.gross_pct.unwrap_or(zero)))
    });
    let l = ctx.locale;
    let pct = |d: Option<rust_decimal::Decimal>| {
        d.map(|p| format!("{} %", exact(p.round_dp(1), l)))
            .unwrap_or_else(|| "—".into())
    };
    let mut table = Vec::with_capacity(rows.len());
    for (user, profile, v) in &rows {
        table.push(vec![
            account_name(services, *user).await,
            ctx.t(&format!("profile-{profile}")),
            pct(v.daily.used_pct),
            pct(v.gross_pct),
            format!("{}/{}", v.open, v.limits.max_open_positions),
            ctx.t(match v.daily.kill_switch {
                KillSwitch::Tripped => "admin-risk-tripped",
                KillSwitch::Armed => "admin-risk-armed",
            }),
        ]);
    }
    Ok(Reply::default()
        .block(Block::Title(ctx.t("admin-risk-title")))
        .block(Block::Table {
            headers: [
                "col-account",
                "col-profile",
                "col-daily-used",
                "col-gross",
                "col-open",
                "col-kill-switch",
            ]
            .iter()
            .map(|k| ctx.t(k))
            .collect(),
            align: vec![
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Left,
            ],
            rows: table,
        })
        .into())
}

/// `/admin risk-compare [days=7]`: per profile (each account's current one), over the
/// last `days`: accounts, closed trades, realized PnL net of fees, opens the risk check
/// refused (from the audit log).
pub(crate) async fn compare(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    use crate::format::money_signed;
    use crate::reply::{Align, Block};
    use rust_decimal::Decimal;
    use std::collections::{BTreeMap, BTreeSet};
    let services = ctx.services;
    let days = ctx.args.integer("days").unwrap_or(7);
    let since = services.desk.now() - chrono::Duration::days(days);
    let realized = services.store.realized_since_all(since).await?;
    let refused = services.store.refused_opens_since(since).await?;
    #[derive(Default)]
    struct Row {
        accounts: BTreeSet<i64>,
        /// A position closed in parts (a thin book) is one trade.
        trades: BTreeSet<i64>,
        pnl: Decimal,
        refused: i64,
    }
    let mut by: BTreeMap<&'static str, Row> = Profile::ALL
        .iter()
        .map(|p| (p.as_str(), Row::default()))
        .collect();
    let mut profiles: BTreeMap<i64, &'static str> = BTreeMap::new();
    for user in realized
        .iter()
        .map(|(u, _, _)| *u)
        .chain(refused.iter().map(|(u, _)| *u))
    {
        if let std::collections::btree_map::Entry::Vacant(e) = profiles.entry(user) {
            e.insert(services.store.account_settings(user).await?.risk_profile.as_str());
        }
    }
    for (user, pnl, trade) in &realized {
        let Some(row) = profiles.get(user).and_then(|p| by.get_mut(p)) else {
            continue;
        };
        row.accounts.insert(*user);
        row.trades.insert(*trade);
        let pnl = pnl
            .as_deref()
            .and_then(|p| p.parse::<Decimal>().ok())
            .unwrap_or_default();
        row.pnl = row.pnl.checked_add(pnl).unwrap_or(row.pnl);
    }
    for (user, n) in &refused {
        let Some(row) = profiles.get(user).and_then(|p| by.get_mut(p)) else {
            continue;
        };
        row.accounts.insert(*user);
        row.refused += n;
    }
    let l = ctx.locale;
    let rows = Profile::ALL
        .iter()
        .filter_map(|p| by.get(p.as_str()).map(|r| (p, r)))
        .map(|(p, r)| {
            vec![
                ctx.t(&format!("profile-{}", p.as_str())),
                r.accounts.len().to_string(),
                r.trades.len().to_string(),
                money_signed(r.pnl, l),
                r.refused.to_string(),
            ]
        })
        .collect();
    Ok(Reply::default()
        .block(Block::Title(
            ctx.tr("admin-risk-compare-title", &[("days", &days.to_string())]),
        ))
        .block(Block::Table {
            headers: [
                "col-profile",
                "col-accounts",
                "col-trades",
                "col-realized",
                "col-refused",
            ]
            .iter()
            .map(|k| ctx.t(k))
            .collect(),
            align: vec![
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            rows,
        })
        .into())
}
