//! `/schedule list|add|remove`: scheduled reports kept in the database, next to those of
//! the config file. Bot admins only.
//!
//! ```text
//! /schedule add <name> <min> <hour> <day> <month> <weekday> <Area/City> [report|report+summary] [symbols…]
//! /schedule remove <name>
//! ```

use crate::{Block, CommandError, Ctx, Handled, Reply, format};
use chainsignal_core::schedule::{ScheduleDef, ScheduleError};
use chrono::Utc;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let words: Vec<&str> = ctx.invocation.raw_args.split_whitespace().collect();
    match words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
        None | Some("list") => list(ctx).await,
        Some("add") => add(ctx, &words[1..]).await,
        Some("remove") | Some("rm") | Some("delete") => remove(ctx, &words[1..]).await,
        _ => Err(CommandError::user("schedule-usage")),
    }
}

/// Config schedules first, then those of the database.
pub(crate) async fn all(ctx: &Ctx<'_>) -> Result<Vec<ScheduleDef>, CommandError> {
    let mut out = ctx.services.schedules.clone();
    for stored in ctx.services.store.schedules().await? {
        match ScheduleDef::from_stored(&stored, &ctx.services.quote) {
            Ok(def) => out.push(def),
            Err(e) => tracing::warn!(schedule = %stored.name, error = %e, "a stored schedule is not valid"),
        }
    }
    Ok(out)
}

async fn list(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let schedules = all(ctx).await?;
    if schedules.is_empty() {
        return Ok(Reply::text(ctx.t("schedule-none")).into());
    }
    let now = Utc::now();
    let lines = schedules
        .iter()
        .map(|s| {
            let next = s
                .cron
                .next_after(s.tz, now)
                .map(|t| t.with_timezone(&s.tz).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "–".into());
            let symbols = if s.symbols.is_empty() {
                ctx.t("schedule-watchlist")
            } else {
                s.symbols.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" ")
            };
            let origin = ctx.t(if s.from_config {
                "schedule-from-config"
            } else {
                "schedule-from-chat"
            });
            ctx.tr(
                "schedule-line",
                &[
                    ("name", &s.name),
                    ("cron", &s.cron.to_string()),
                    ("zone", s.tz.name()),
                    ("kind", s.kind.as_str()),
                    ("symbols", &symbols),
                    ("next", &next),
                    ("origin", &origin),
                ],
            )
        })
        .collect();
    let now_text = format::utc_minute(now);
    Ok(Reply::default()
        .block(Block::Title(ctx.t("schedule-title")))
        .block(Block::List(lines))
        .block(Block::Footer(ctx.tr("schedule-footer", &[("time", &now_text)])))
        .into())
}

async fn add(ctx: &Ctx<'_>, words: &[&str]) -> Result<Handled, CommandError> {
    if words.len() < 7 {
        return Err(CommandError::user("schedule-usage"));
    }
    let (name, cron, zone) = (words[0], words[1..6].join(" "), words[6]);
    let (kind, symbols) = match words.get(7) {
        Some(k) if k.starts_with("report") => (*k, &words[8..]),
        _ => ("report", &words[7.min(words.len())..]),
    };
    let symbols: Vec<String> = symbols
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let def =
        ScheduleDef::new(name, &cron, zone, kind, &symbols, &ctx.services.quote, false).map_err(|e| {
            let (key, arg) = match e {
                ScheduleError::Name => ("schedule-bad-name", name.to_string()),
                ScheduleError::Cron(chainsignal_core::schedule::CronError::TimeZone(z)) => {
                    ("schedule-bad-zone", z)
                }
                ScheduleError::Cron(_) => ("schedule-bad-cron", cron.clone()),
                ScheduleError::Kind => ("schedule-usage", String::new()),
                ScheduleError::Symbol(s) => ("symbol-invalid", s),
            };
            CommandError::user_with(key, vec![("value", arg.clone()), ("symbol", arg)])
        })?;
    if ctx.services.schedules.iter().any(|s| s.name == def.name) {
        return Err(CommandError::user_with(
            "schedule-exists",
            vec![("value", def.name)],
        ));
    }
    let by = format!("{}:{}", ctx.invocation.user.platform, ctx.invocation.user.id);
    if !ctx.services.store.add_schedule(&def.to_stored(), &by).await? {
        return Err(CommandError::user_with(
            "schedule-exists",
            vec![("value", def.name)],
        ));
    }
    let next = def
        .cron
        .next_after(def.tz, Utc::now())
        .map(|t| t.with_timezone(&def.tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "–".into());
    Ok(Reply::text(ctx.tr(
        "schedule-added",
        &[("name", &def.name), ("next", &next), ("zone", def.tz.name())],
    ))
    .into())
}

async fn remove(ctx: &Ctx<'_>, words: &[&str]) -> Result<Handled, CommandError> {
    let [name] = words else {
        return Err(CommandError::user("schedule-usage"));
    };
    if ctx.services.schedules.iter().any(|s| s.name == *name) {
        return Err(CommandError::user_with(
            "schedule-in-config",
            vec![("value", name.to_string())],
        ));
    }
    if !ctx.services.store.remove_schedule(name).await? {
        return Err(CommandError::user_with(
            "schedule-unknown",
            vec![("value", name.to_string())],
        ));
    }
    Ok(Reply::text(ctx.tr("schedule-removed", &[("name", name)])).into())
}
