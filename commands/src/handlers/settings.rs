//! `/settings`: the account's settings (issue 16). `/settings tz ZONE` sets the time
//! zone of its trading day (an IANA name, any case); `/settings` shows the zone, when
//! the next trading day starts, and the risk profile. Private: it is about one person.

use crate::{Block, CommandError, Ctx, Handled, Reply, Visibility, format};
use chainsignal_core::schedule::parse_tz;
use chainsignal_core::trading::next_trading_day_start;
use chrono::Utc;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    match ctx.args.sub {
        Some("tz") => set_tz(ctx, account).await,
        _ => show(ctx, account).await,
    }
}

async fn set_tz(ctx: &Ctx<'_>, account: i64) -> Result<Handled, CommandError> {
    let given = ctx.args.text("zone").unwrap_or_default();
    let Ok(tz) = parse_tz(given) else {
        return Err(CommandError::user_with(
            "settings-tz-unknown",
            vec![("zone", given.chars().take(40).collect())],
        ));
    };
    let now = Utc::now();
    ctx.services.store.set_timezone(account, tz, now).await?;
    let next = next_trading_day_start(now, tz);
    Ok(private(Reply::text(ctx.tr(
        "settings-tz-set",
        &[
            ("zone", tz.name()),
            ("next", &format!("{} UTC", format::utc_minute(next))),
        ],
    ))))
}

async fn show(ctx: &Ctx<'_>, account: i64) -> Result<Handled, CommandError> {
    let settings = ctx.services.store.account_settings(account).await?;
    let tz = settings.timezone;
    let next = next_trading_day_start(Utc::now(), tz);
    let reply = Reply::default()
        .block(Block::Title(ctx.t("settings-title")))
        .block(Block::Fields(vec![
            (ctx.t("settings-tz"), tz.name().to_string()),
            (
                ctx.t("settings-next-day"),
                format!("{} UTC", format::utc_minute(next)),
            ),
            (
                ctx.t("settings-profile"),
                settings.risk_profile.as_str().to_string(),
            ),
        ]))
        .block(Block::Footer(ctx.t("settings-footer")));
    Ok(private(reply))
}

fn private(mut reply: Reply) -> Handled {
    reply.visibility = Visibility::Private;
    reply.into()
}
