//! Cron schedules on a time zone's wall clock. Five fields: minute, hour, day of month,
//! month, day of week (0 or 7 = Sunday), each `*`, a number, a range `a-b`, a list
//! `a,b`, or a step `*/n` / `a-b/n`. Across DST: a wall time that does not exist that
//! day runs at the first instant after the gap; a wall time that occurs twice runs
//! once, at its first occurrence.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("a cron expression has five fields: minute hour day-of-month month day-of-week")]
    FieldCount,
    #[error("cron field {field} is not valid: {value:?}")]
    Field { field: &'static str, value: String },
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

fn field(name: &'static str, text: &str, min: u32, max: u32) -> Result<BTreeSet<u32>, CronError> {
    let bad = || CronError::Field {
        field: name,
        value: text.to_string(),
    };
    let mut out = BTreeSet::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| bad())?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(bad());
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
        } else {
            let v: u32 = range.parse().map_err(|_| bad())?;
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(bad());
        }
        out.extend((lo..=hi).step_by(step as usize));
    }
    Ok(out)
}

impl Cron {
    pub fn parse(expr: &str) -> Result<Self, CronError> {
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts[..] else {
            return Err(CronError::FieldCount);
        };
        let mut weekdays = field("day-of-week", dow, 0, 7)?;
        if weekdays.remove(&7) {
            weekdays.insert(0);
        }
        Ok(Self {
            source: parts.join(" "),
            minutes: field("minute", m, 0, 59)?,
            hours: field("hour", h, 0, 23)?,
            days: field("day-of-month", dom, 1, 31)?,
            months: field("month", mon, 1, 12)?,
            weekdays,
            days_restricted: dom != "*",
            weekdays_restricted: dow != "*",
        })
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

pub fn parse_tz(name: &str) -> Result<Tz, CronError> {
    name.parse::<Tz>()
        .map_err(|_| CronError::TimeZone(name.to_string()))
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
        assert_eq!(
            Cron::parse("0 0 30 2 *").unwrap().next_after(utc_tz, at),
            None,
            "30 February never comes"
        );
    }
}

/// What a schedule posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    Report,
    ReportAndSummary,
}

impl ScheduleKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "report" => Some(Self::Report),
            "report+summary" => Some(Self::ReportAndSummary),
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
    #[error("kind must be report or report+summary")]
    Kind,
    #[error("symbol {0:?} is not valid")]
    Symbol(String),
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
        if name.is_empty()
            || name.len() > 32
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ScheduleError::Name);
        }
        let symbols = crate::symbol::parse_list(symbols.iter().map(String::as_str), quote)
            .map_err(|(s, _)| ScheduleError::Symbol(s))?;
        Ok(Self {
            name: name.to_string(),
            cron: Cron::parse(cron)?,
            tz: parse_tz(timezone)?,
            kind: ScheduleKind::parse(kind).ok_or(ScheduleError::Kind)?,
            symbols,
            from_config,
        })
    }

    pub fn from_config(c: &crate::config::ScheduleConfig, quote: &str) -> Result<Self, ScheduleError> {
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
