//! `/schedule list|add|remove`: scheduled reports kept in the database, next to those of
//! the config file. Bot admins only.
//!
//! ```text
//! /schedule add <name> <min> <hour> <day> <month> <weekday> <Area/City> [report|summary|report+summary] [symbols…]
//! /schedule remove <name>
//! ```

use crate::{Block, CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply, format};
use chainsignal_core::schedule::{
    CronError, CronField, FieldProblem, ScheduleDef, ScheduleError, ScheduleKind, parse_tz, valid_name,
};
use chrono::Utc;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let name = ctx.args.text("name").unwrap_or_default();
    match ctx.args.sub {
        Some("add") => {
            let definition = ctx.args.text("definition").unwrap_or_default();
            let words: Vec<&str> = std::iter::once(name)
                .chain(definition.split_whitespace())
                .collect();
            add(ctx, &words).await
        }
        Some("remove") => remove(ctx, name).await,
        Some("rename") => rename(ctx, name, ctx.args.text("new_name").unwrap_or_default()).await,
        _ => list(ctx).await,
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

/// `MIN HOUR DAY MONTH WEEKDAY ZONE [KIND] [SYMBOLS…]` after the name. KIND (`report`,
/// `summary`, `report+summary`, any case) is recognised right after the zone and nowhere
/// else; symbols are separated by spaces or commas.
async fn add(ctx: &Ctx<'_>, words: &[&str]) -> Result<Handled, CommandError> {
    if words.len() < 7 {
        return Err(CommandError::user("schedule-usage"));
    }
    let (typed_name, cron_words, zone) = (words[0], &words[1..6], words[6]);
    // Checked before anything is echoed; kept in lower case (names are not case-sensitive).
    if !valid_name(typed_name) {
        return Err(CommandError::user("schedule-bad-name"));
    }
    let name = typed_name.to_ascii_lowercase();
    let cron = cron_words.join(" ");
    let mut rest = &words[7..];
    let kind = match rest.first() {
        Some(word) if ScheduleKind::parse(word).is_some() => {
            rest = &rest[1..];
            *word
        }
        _ => "report",
    };
    let symbols: Vec<String> = rest
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(word) = symbols.iter().find(|s| ScheduleKind::parse(s).is_some()) {
        return Err(CommandError::user_with(
            "schedule-kind-misplaced",
            vec![("value", word.clone())],
        ));
    }
    let def =
        ScheduleDef::new(&name, &cron, zone, kind, &symbols, &ctx.services.quote, false).map_err(|e| {
            // Four cron fields and the zone where the weekday goes.
            if matches!(e, ScheduleError::Cron(CronError::Field { .. })) && parse_tz(cron_words[4]).is_ok() {
                return CommandError::user("schedule-cron-count");
            }
            schedule_error(ctx, e, &cron)
        })?;
    let taken = |other: &str| other.eq_ignore_ascii_case(&def.name);
    let exists = || CommandError::user_with("schedule-exists", vec![("value", def.name.clone())]);
    if ctx.services.schedules.iter().any(|s| taken(&s.name)) {
        return Err(exists());
    }
    if ctx
        .services
        .store
        .schedules()
        .await?
        .iter()
        .any(|s| taken(&s.name))
    {
        return Err(exists());
    }
    let by = format!("{}:{}", ctx.user.platform, ctx.user.id);
    if !ctx.services.store.add_schedule(&def.to_stored(), &by).await? {
        return Err(exists());
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

/// What the user typed, cut short: it is shown back to them.
fn shown(s: &str) -> String {
    s.chars().take(40).collect()
}

/// One localized sentence per mistake: which part, and why.
fn schedule_error(ctx: &Ctx<'_>, e: ScheduleError, cron: &str) -> CommandError {
    match e {
        ScheduleError::Name => CommandError::user("schedule-bad-name"),
        ScheduleError::Cron(CronError::FieldCount) => {
            CommandError::user_with("schedule-bad-cron", vec![("value", shown(cron))])
        }
        ScheduleError::Cron(CronError::Field {
            field,
            value,
            problem,
        }) => {
            let field_name = ctx.t(match field {
                CronField::Minute => "schedule-field-minute",
                CronField::Hour => "schedule-field-hour",
                CronField::DayOfMonth => "schedule-field-day",
                CronField::Month => "schedule-field-month",
                CronField::DayOfWeek => "schedule-field-weekday",
            });
            let (min, max) = field.bounds();
            let (key, min, max) = match problem {
                FieldProblem::Syntax if !field.names_hint().is_empty() => {
                    ("schedule-cron-syntax-names", min, max)
                }
                FieldProblem::Syntax => ("schedule-cron-syntax", min, max),
                FieldProblem::Digits => ("schedule-cron-digits", min, max),
                FieldProblem::Range { min, max } => ("schedule-cron-range", min, max),
                FieldProblem::Backwards => ("schedule-cron-backwards", min, max),
                FieldProblem::Step { max } => ("schedule-cron-step", 1, max),
            };
            CommandError::user_with(
                key,
                vec![
                    ("field", field_name),
                    ("value", shown(&value)),
                    ("min", min.to_string()),
                    ("max", max.to_string()),
                    ("names", field.names_hint().to_string()),
                    (
                        "range",
                        if field == CronField::Month {
                            "JAN-MAR"
                        } else {
                            "MON-FRI"
                        }
                        .to_string(),
                    ),
                ],
            )
        }
        ScheduleError::Cron(CronError::Never(expr)) => {
            CommandError::user_with("schedule-cron-never", vec![("value", shown(&expr))])
        }
        ScheduleError::Cron(CronError::TimeZone(zone)) => {
            CommandError::user_with("schedule-bad-zone", vec![("value", shown(&zone))])
        }
        ScheduleError::Kind => CommandError::user("schedule-usage"),
        ScheduleError::Symbol(symbol) => CommandError::user_with(
            "symbol-invalid",
            vec![("symbol", symbol.chars().take(24).collect())],
        ),
        ScheduleError::TooManySymbols { .. } => crate::symbols::too_many(),
    }
}

/// A stored schedule under a new name, after a Confirm: its posts go on as before.
async fn rename(ctx: &Ctx<'_>, typed: &str, new_name: &str) -> Result<Handled, CommandError> {
    // Both checked before anything is echoed.
    if !valid_name(typed) || !valid_name(new_name) {
        return Err(CommandError::user("schedule-bad-name"));
    }
    let new_name = new_name.to_ascii_lowercase();
    if ctx
        .services
        .schedules
        .iter()
        .any(|s| s.name.eq_ignore_ascii_case(typed))
    {
        return Err(CommandError::user_with(
            "schedule-in-config",
            vec![("value", typed.to_string())],
        ));
    }
    let stored = ctx.services.store.schedules().await?;
    let Some(found) = stored.iter().find(|s| s.name.eq_ignore_ascii_case(typed)) else {
        return Err(CommandError::user_with(
            "schedule-unknown",
            vec![("value", typed.to_string())],
        ));
    };
    let taken = |n: &str| n.eq_ignore_ascii_case(&new_name) && !n.eq_ignore_ascii_case(&found.name);
    if ctx.services.schedules.iter().any(|s| taken(&s.name)) || stored.iter().any(|s| taken(&s.name)) {
        return Err(CommandError::user_with(
            "schedule-exists",
            vec![("value", new_name)],
        ));
    }
    if ctx.phase == Phase::Run {
        let mut reply = Reply::text(ctx.tr(
            "schedule-rename-confirm",
            &[("name", &found.name), ("new", &new_name)],
        ));
        reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    // One transaction, past runs included: no slot goes out twice under two names.
    if !ctx.services.store.rename_schedule(&found.name, &new_name).await? {
        return Err(CommandError::user_with(
            "schedule-exists",
            vec![("value", new_name)],
        ));
    }
    Ok(Reply::text(ctx.tr("schedule-renamed", &[("name", &found.name), ("new", &new_name)])).into())
}

/// Removing asks for confirmation: the preview names the schedule and its next run,
/// with Confirm / Cancel for the asker; Confirm removes it, once.
async fn remove(ctx: &Ctx<'_>, typed: &str) -> Result<Handled, CommandError> {
    // Checked before anything is echoed.
    if !valid_name(typed) {
        return Err(CommandError::user("schedule-bad-name"));
    }
    if let Some(s) = ctx
        .services
        .schedules
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(typed))
    {
        return Err(CommandError::user_with(
            "schedule-in-config",
            vec![("value", s.name.clone())],
        ));
    }
    // Case-insensitive, also for names stored in another case before names were.
    let stored = ctx.services.store.schedules().await?;
    let Some(found) = stored.iter().find(|s| s.name.eq_ignore_ascii_case(typed)) else {
        return Err(CommandError::user_with(
            "schedule-unknown",
            vec![("value", typed.to_string())],
        ));
    };
    if ctx.phase == Phase::Run {
        let mut reply = Reply::text(ctx.tr(
            "schedule-remove-confirm",
            &[
                ("name", &found.name),
                ("cron", &found.cron),
                ("zone", &found.timezone),
            ],
        ));
        reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    if !ctx.services.store.remove_schedule(&found.name).await? {
        return Err(CommandError::user_with(
            "schedule-unknown",
            vec![("value", typed.to_string())],
        ));
    }
    Ok(Reply::text(ctx.tr("schedule-removed", &[("name", &found.name)])).into())
}
