//! Cron schedules on a time zone's wall clock. Five fields: minute, hour, day of month,
//! month, day of week (0 or 7 = Sunday), each `*`, a number, a range `a-b`, a list
//! `a,b`, or a step `*/n` / `a-b/n` / `a/n`. Months may be named JAN..DEC and weekdays
//! SUN..SAT (any case; `SAT-SUN` is the weekend). Numbers are one or two digits with no
//! sign (`5` and `05`, not `+5` or `0005`). An expression whose day and month fields no
//! date matches (`0 0 31 2 *`) is refused. Across DST: a wall time that does not exist
//! that day runs at the first instant after the gap; a wall time that occurs twice runs
//! once, at its first occurrence.
//!
//! Why not the `croner` crate (evaluated with 4.0.3, issue 12): its DST rules differ from
//! the ones above for wildcard and step fields (`0 * * * *` runs the repeated hour twice:
//! 25 slots on 25 October in Warsaw; `30 * * * *` skips a time in the gap instead of
//! running it at the gap's end; `0,30 2 29 3 *` found no slot at all on 29 March 2026),
//! its grammar is looser than ours (`0005`, `*/60`, `0 MON * * *`, `@daily`, `L` are
//! taken; `5/20` is refused), a never-firing expression parses and only fails when
//! searched, and its errors are text, not the field and problem our localized messages
//! name. Our parser would stay anyway, so the search is kept too.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    pub fn name(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::DayOfMonth => "day-of-month",
            Self::Month => "month",
            Self::DayOfWeek => "day-of-week",
        }
    }

    /// The smallest and largest number the field takes (day of week: 7 is Sunday too).
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Self::Minute => (0, 59),
            Self::Hour => (0, 23),
            Self::DayOfMonth => (1, 31),
            Self::Month => (1, 12),
            Self::DayOfWeek => (0, 7),
        }
    }

    /// Names the field takes, in the order of their numbers.
    fn names(self) -> &'static [&'static str] {
        match self {
            Self::Month => &[
                "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
            ],
            Self::DayOfWeek => &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
            _ => &[],
        }
    }

    /// `JAN..DEC`, `SUN..SAT`, or empty: for messages.
    pub fn names_hint(self) -> &'static str {
        match self {
            Self::Month => "JAN..DEC",
            Self::DayOfWeek => "SUN..SAT",
            _ => "",
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// Not `*`, a number, a name, a range, a list or a step.
    Syntax,
    /// A number with a sign or more than two digits (`+5`, `0005`).
    Digits,
    /// A number outside the field's bounds.
    Range { min: u32, max: u32 },
    /// A range from high to low (`5-1`, `FRI-MON`).
    Backwards,
    /// A step of 0 or beyond the field's largest number.
    Step { max: u32 },
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax => f.write_str("use *, a number, a range a-b, a list a,b or a step */n"),
            Self::Digits => f.write_str("numbers are one or two digits, without a sign"),
            Self::Range { min, max } => write!(f, "out of range ({min} to {max})"),
            Self::Backwards => f.write_str("a range goes from low to high"),
            Self::Step { max } => write!(f, "the step after / is a number from 1 to {max}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("a cron expression has five fields: minute hour day-of-month month day-of-week")]
    FieldCount,
    #[error("cron field {} {value:?}: {problem}", field.name())]
    Field {
        field: CronField,
        value: String,
        problem: FieldProblem,
    },
    #[error("cron {0:?} never fires: no date matches its day and month fields")]
    Never(String),
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Warsaw)")]
    TimeZone(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days: BTreeSet<u32>,
    months: BTreeSet<u32>,
    weekdays: BTreeSet<u32>,
    /// Vixie cron: when both day fields are restricted, either may match.
    days_restricted: bool,
    weekdays_restricted: bool,
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// A plain number: ASCII digits only, one or two of them.
fn number(token: &str) -> Result<u32, FieldProblem> {
    if token.is_empty() {
        return Err(FieldProblem::Syntax);
    }
    let digits = token.trim_start_matches(['+', '-']);
    if digits.len() != token.len() {
        // A sign: a number nonetheless, written the way cron does not take it.
        return Err(
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                FieldProblem::Digits
            } else {
                FieldProblem::Syntax
            },
        );
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldProblem::Syntax);
    }
    if token.len() > 2 {
        return Err(FieldProblem::Digits);
    }
    token.parse().map_err(|_| FieldProblem::Syntax)
}

/// A number or, where the field takes them, a name; within the field's bounds.
fn value(field: CronField, token: &str) -> Result<u32, FieldProblem> {
    let (min, max) = field.bounds();
    if token.bytes().all(|b| b.is_ascii_alphabetic()) && !token.is_empty() {
        return field
            .names()
            .iter()
            .position(|n| n.eq_ignore_ascii_case(token))
            .map(|i| i as u32 + if field == CronField::Month { 1 } else { 0 })
            .ok_or(FieldProblem::Syntax);
    }
    let v = number(token)?;
    if v < min || v > max {
        return Err(FieldProblem::Range { min, max });
    }
    Ok(v)
}

fn field(which: CronField, text: &str) -> Result<BTreeSet<u32>, CronError> {
    let bad = |problem| CronError::Field {
        field: which,
        value: text.to_string(),
        problem,
    };
    let (min, max) = which.bounds();
    let mut out = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step = number(s).map_err(bad)?;
                if step == 0 || step > max {
                    return Err(bad(FieldProblem::Step { max }));
                }
                (r, Some(step))
            }
            None => (part, None),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = value(which, a).map_err(bad)?;
            let mut hi = value(which, b).map_err(bad)?;
            // SAT-SUN: a named Sunday ending a range is day 7.
            if which == CronField::DayOfWeek
                && hi == 0
                && lo > 0
                && b.bytes().all(|c| c.is_ascii_alphabetic())
            {
                hi = 7;
            }
            (lo, hi)
        } else {
            let v = value(which, range).map_err(bad)?;
            (v, if step.is_some() { max } else { v })
        };
        if lo > hi {
            return Err(bad(FieldProblem::Backwards));
        }
        out.extend((lo..=hi).step_by(step.unwrap_or(1) as usize));
    }
    Ok(out)
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Self, CronError> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts[..] else {
            return Err(CronError::FieldCount);
        };
        let minutes = field(CronField::Minute, m)?;
        let hours = field(CronField::Hour, h)?;
        let days = field(CronField::DayOfMonth, dom)?;
        let months = field(CronField::Month, mon)?;
        let mut weekdays = field(CronField::DayOfWeek, dow)?;
        if weekdays.remove(&7) {
            weekdays.insert(0);
        }
        let cron = Self {
            source: parts.join(" "),
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted: dom != "*",
            weekdays_restricted: dow != "*",
        };
        // Every date of eight years (two leap days) is enough: the date fields repeat
        // within four years. Hours and minutes always match some time of a matching day.
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
        let fires = (0..366 * 8)
            .map(|d| start + Duration::days(d))
            .any(|d| cron.date_matches(d));
        if !fires {
            return Err(CronError::Never(cron.source));
        }
        Ok(cron)
    }

    fn date_matches(&self, d: NaiveDate) -> bool {
        if !self.months.contains(&d.month()) {
            return false;
        }
        let dom = self.days.contains(&d.day());
        let dow = self.weekdays.contains(&d.weekday().num_days_from_sunday());
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            _ => dom && dow,
        }
    }

    /// The instant a wall time of `tz` stands for: its first occurrence, or the first
    /// instant after a DST gap.
    fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => {
                // Walk forward to the end of the gap (gaps are at most a few hours).
                (1..=24 * 60).find_map(
                    |m| match tz.from_local_datetime(&(local + Duration::minutes(m))) {
                        // The first valid minute after the gap is the gap's end.
                        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
                        LocalResult::None => None,
                    },
                )
            }
        }
    }

    /// The first slot strictly after `after`, on the wall clock of `tz`. Wall times are
    /// tried in order; their instants never decrease (a gap maps to its end, a repeated
    /// time to its first occurrence), so the first one after `after` is the answer.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let after_local = after.with_timezone(&tz).naive_local();
        // No offset change exceeds three hours: earlier wall times cannot be later instants.
        let horizon = after_local - Duration::hours(3);
        let start = after_local.date() - Duration::days(1);
        // Four years cover every valid expression (29 February on a Monday, say).
        for offset in 0..(366 * 4 + 2) {
            let date = start + Duration::days(offset);
            if !self.date_matches(date) {
                continue;
            }
            for &h in &self.hours {
                for &m in &self.minutes {
                    let Some(time) = NaiveTime::from_hms_opt(h, m, 0) else {
                        continue;
                    };
                    let local = date.and_time(time);
                    if local < horizon {
                        continue;
                    }
                    if let Some(t) = Self::resolve(tz, local)
                        && t > after
                    {
                        return Some(t);
                    }
                }
            }
        }
        None
    }

    /// Every slot in `(from, to]`, oldest first (a gap can fold two wall times into
    /// one instant: it appears once).
    pub fn slots_between(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = from;
        while let Some(t) = self.next_after(tz, cursor) {
            if t > to {
                break;
            }
            out.push(t);
            cursor = t;
        }
        out
    }

    /// The last slot at or before `at`, looking back at most `window`.
    pub fn last_at_or_before(&self, tz: Tz, at: DateTime<Utc>, window: Duration) -> Option<DateTime<Utc>> {
        self.slots_between(tz, at - window, at).pop()
    }
}

/// An IANA time zone name, in any case (`utc`, `europe/warsaw`).
pub fn parse_tz(name: &str) -> Result<Tz, CronError> {
    name.parse::<Tz>()
        .ok()
        .or_else(|| {
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(name))
                .copied()
        })
        .ok_or_else(|| CronError::TimeZone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn warsaw() -> Tz {
        parse_tz("Europe/Warsaw").unwrap()
    }

    #[test]
    fn parses_fields_and_refuses_garbage() {
        let c = Cron::parse("0 6,16 * * *").unwrap();
        assert_eq!(c.hours.iter().copied().collect::<Vec<_>>(), [6, 16]);
        assert_eq!(Cron::parse("*/15 * * * 1-5").unwrap().minutes.len(), 4);
        assert_eq!(
            Cron::parse("0 0 * * 7")
                .unwrap()
                .weekdays
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [0]
        );
        assert_eq!(
            Cron::parse("5/20 * * * *")
                .unwrap()
                .minutes
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [5, 25, 45]
        );
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "a * * * *",
            "5-1 * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn names_strict_numbers_and_dates_that_never_come() {
        let days = |e: &str| {
            Cron::parse(e)
                .unwrap()
                .weekdays
                .iter()
                .copied()
                .collect::<Vec<_>>()
        };
        assert_eq!(days("0 8 * * MON-FRI"), [1, 2, 3, 4, 5]);
        assert_eq!(days("0 8 * * sun"), [0]);
        assert_eq!(days("0 8 * * SAT-SUN"), [0, 6]);
        assert_eq!(days("0 8 * * mon,Wed,FRI"), [1, 3, 5]);
        assert_eq!(days("0 8 * * MON-FRI/2"), [1, 3, 5]);
        let months = Cron::parse("0 8 1 JAN-MAR,dec *").unwrap().months;
        assert_eq!(months.iter().copied().collect::<Vec<_>>(), [1, 2, 3, 12]);
        assert_eq!(
            Cron::parse("05 07 01 * *")
                .unwrap()
                .minutes
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [5]
        );
        for bad in [
            "+5 * * * *",
            "0005 * * * *",
            "005 * * * *",
            "*/005 * * * *",
            "*/+5 * * * *",
            "0 8 * * FRI-MON",
            "0 8 * * MONDAY",
            "0 MON * * *",
            "0 8 * FOO *",
            "0 8 * * MON-",
            "0 8 * * ,",
            "0 0 31 2 *",
            "0 0 30 2 *",
            "0 0 31 4,6,9,11 *",
            "*/60 * * * *",
        ] {
            assert!(Cron::parse(bad).is_err(), "{bad:?}");
        }
        // 29 February comes every four years; 31 February never does.
        assert!(Cron::parse("0 0 29 2 *").is_ok());
        assert!(
            Cron::parse("0 0 31 2 1").is_ok(),
            "or any Monday (Vixie cron's OR)"
        );
        assert_eq!(parse_tz("utc").unwrap().name(), "UTC");
        assert_eq!(parse_tz("europe/WARSAW").unwrap().name(), "Europe/Warsaw");
    }

    #[test]
    fn the_default_schedule_on_an_ordinary_day() {
        let c = Cron::parse("0 6,16 * * *").unwrap();
        let slots = c.slots_between(warsaw(), utc("2026-11-21T12:00:00Z"), utc("2026-11-22T23:00:00Z"));
        // Winter time: UTC+1.
        let want = [
            "2026-11-21T15:00:00Z",
            "2026-11-22T05:00:00Z",
            "2026-11-22T15:00:00Z",
        ];
        assert_eq!(slots, want.map(utc));
    }

    #[test]
    fn spring_forward_runs_a_missing_time_once_at_the_end_of_the_gap() {
        // 29 March 2026: in Warsaw 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        let c = Cron::parse("30 2 * * *").unwrap();
        let slots = c.slots_between(warsaw(), utc("2026-03-28T00:00:00Z"), utc("2026-03-30T12:00:00Z"));
        assert_eq!(
            slots,
            [
                utc("2026-03-28T01:30:00Z"),
                utc("2026-03-29T01:00:00Z"),
                utc("2026-03-30T00:30:00Z")
            ]
        );
        // Two wall times in the gap fold into one instant, run once.
        let c = Cron::parse("0,30 2 29 3 *").unwrap();
        let slots = c.slots_between(warsaw(), utc("2026-03-28T00:00:00Z"), utc("2026-03-30T00:00:00Z"));
        assert_eq!(slots, [utc("2026-03-29T01:00:00Z")]);
        // The default report times are unaffected: 06:00 CEST is 04:00 UTC.
        let c = Cron::parse("0 6,16 * * *").unwrap();
        assert_eq!(
            c.next_after(warsaw(), utc("2026-03-29T00:00:00Z")),
            Some(utc("2026-03-29T04:00:00Z"))
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_time_once() {
        // 25 October 2026: in Warsaw 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let c = Cron::parse("30 2 * * *").unwrap();
        let slots = c.slots_between(warsaw(), utc("2026-10-24T12:00:00Z"), utc("2026-10-26T12:00:00Z"));
        assert_eq!(slots, [utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")]);
        // Hourly: the repeated hour appears once, the day has 24 slots.
        let c = Cron::parse("0 * * * *").unwrap();
        let day = c.slots_between(warsaw(), utc("2026-10-24T22:00:00Z"), utc("2026-10-25T23:00:00Z"));
        assert_eq!(day.len(), 24);
    }

    #[test]
    fn day_fields_and_last_slot() {
        // The 1st of the month or any Monday (Vixie cron's OR).
        let c = Cron::parse("0 9 1 * 1").unwrap();
        let utc_tz: Tz = "UTC".parse().unwrap();
        let slots = c.slots_between(utc_tz, utc("2026-11-29T00:00:00Z"), utc("2026-12-08T00:00:00Z"));
        assert_eq!(
            slots,
            [
                utc("2026-11-30T09:00:00Z"),
                utc("2026-12-01T09:00:00Z"),
                utc("2026-12-07T09:00:00Z")
            ]
        );
        let c = Cron::parse("0 6,16 * * *").unwrap();
        let at = utc("2026-11-22T05:10:00Z");
        assert_eq!(
            c.last_at_or_before(warsaw(), at, Duration::minutes(15)),
            Some(utc("2026-11-22T05:00:00Z"))
        );
        assert_eq!(c.last_at_or_before(warsaw(), at, Duration::minutes(5)), None);
        assert!(Cron::parse("0 0 30 2 *").is_err(), "30 February never comes");
    }
}

/// What a schedule posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Report,
    ReportAndSummary,
}

impl ScheduleKind {
    /// `report`, `report+summary`, or `summary` (a scheduled summary comes with the
    /// report it sums up: `report+summary`); any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "report" => Some(Self::Report),
            "report+summary" | "summary" => Some(Self::ReportAndSummary),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::ReportAndSummary => "report+summary",
        }
    }
}

/// A `[[schedule]]` table of the config file, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    /// Five fields: minute hour day-of-month month day-of-week.
    pub cron: String,
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// `report` or `report+summary`.
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Empty: the watchlist.
    #[serde(default)]
    pub symbols: Vec<String>,
}

fn default_timezone() -> String {
    "Europe/Warsaw".into()
}

fn default_kind() -> String {
    "report".into()
}

impl ScheduleConfig {
    /// Whether the table makes a schedule, as a sentence for the config error.
    pub fn validate(&self, quote: &str) -> Result<(), String> {
        ScheduleDef::from_config(self, quote)
            .map(|_| ())
            .map_err(|e| match e {
                ScheduleError::Name => format!(
                    "schedule name {:?}: letters, digits, - and _ only, at most 32",
                    self.name
                ),
                ScheduleError::Symbol(sym) => {
                    format!("schedule {:?}: symbol {sym:?} is not a symbol", self.name)
                }
                e => format!("schedule {:?}: {e}", self.name),
            })
    }

    pub fn default_daily() -> Self {
        Self {
            name: "daily-report".into(),
            cron: "0 6,16 * * *".into(),
            timezone: default_timezone(),
            kind: default_kind(),
            symbols: Vec::new(),
        }
    }
}

/// A schedule ready to run, from the config file or the database.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDef {
    pub name: String,
    pub cron: Cron,
    pub tz: Tz,
    pub kind: ScheduleKind,
    /// Empty: the watchlist.
    pub symbols: Vec<crate::Symbol>,
    pub from_config: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule name: letters, digits, - and _ only, at most 32")]
    Name,
    #[error(transparent)]
    Cron(#[from] CronError),
    #[error("kind must be report, summary or report+summary")]
    Kind,
    #[error("symbol {0:?} is not valid")]
    Symbol(String),
    #[error("at most {max} symbols in one report, {got} given", max = crate::symbol::MAX_REPORT_SYMBOLS)]
    TooManySymbols { got: usize },
}

/// A schedule name: ASCII letters, digits, `-` and `_`, 1 to 32 of them. Names are
/// compared without regard to case; those added in chat are kept in lower case.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl ScheduleDef {
    pub fn new(
        name: &str,
        cron: &str,
        timezone: &str,
        kind: &str,
        symbols: &[String],
        quote: &str,
        from_config: bool,
    ) -> Result<Self, ScheduleError> {
        if !valid_name(name) {
            return Err(ScheduleError::Name);
        }
        let cron = Cron::parse(cron)?;
        let tz = parse_tz(timezone)?;
        let kind = ScheduleKind::parse(kind).ok_or(ScheduleError::Kind)?;
        let symbols =
            crate::symbol::parse_list(symbols.iter().map(String::as_str), quote).map_err(|e| match e {
                crate::symbol::ListError::Invalid { input, .. } => ScheduleError::Symbol(input),
                crate::symbol::ListError::TooMany { got } => ScheduleError::TooManySymbols { got },
            })?;
        Ok(Self {
            name: name.to_string(),
            cron,
            tz,
            kind,
            symbols,
            from_config,
        })
    }

    pub fn from_config(c: &ScheduleConfig, quote: &str) -> Result<Self, ScheduleError> {
        Self::new(&c.name, &c.cron, &c.timezone, &c.kind, &c.symbols, quote, true)
    }

    pub fn from_stored(s: &crate::store::StoredSchedule, quote: &str) -> Result<Self, ScheduleError> {
        let symbols: Vec<String> = s.symbols.split_whitespace().map(String::from).collect();
        Self::new(&s.name, &s.cron, &s.timezone, &s.kind, &symbols, quote, false)
    }

    pub fn to_stored(&self) -> crate::store::StoredSchedule {
        crate::store::StoredSchedule {
            name: self.name.clone(),
            cron: self.cron.to_string(),
            timezone: self.tz.name().to_string(),
            kind: self.kind.as_str().into(),
            symbols: self
                .symbols
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}
