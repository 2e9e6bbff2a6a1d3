//! The account's trading day (issue 16): from midnight to midnight in the account's
//! time zone (`/settings tz`, default UTC). The daily loss limit counts from its start,
//! and a tripped kill switch re-arms at the next one.
//!
//! Time is UTC inside: these functions take and give UTC instants and use the zone only
//! to find where local midnight falls. A day is not always 24 hours: in Europe/Warsaw
//! the last Sunday of March has 23 (02:00 CET jumps to 03:00 CEST) and the last Sunday
//! of October 25 (03:00 CEST falls back to 02:00 CET). Where midnight itself does not
//! exist (a zone whose clocks jump at 00:00, e.g. America/Santiago), the day starts at
//! the first local time that does; where it exists twice, at the first.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// Longest gap in local time a zone's clock change makes, searched minute by minute.
const MAX_GAP_MINUTES: i64 = 24 * 60;

/// The first instant of the local calendar day `date` in `tz`.
pub fn trading_day_start_of(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    for minute in 0..=MAX_GAP_MINUTES {
        let Some(local) = midnight.checked_add_signed(Duration::minutes(minute)) else {
            break;
        };
        // Ambiguous (midnight twice): the first. Nothing (a gap): a minute later.
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    // No zone has a day-long gap; keep a defined answer rather than panic.
    midnight.and_utc()
}

/// The start of the trading day that `now` falls in: the last local midnight in `tz`
/// at or before `now`.
pub fn trading_day_start(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    trading_day_start_of(now.with_timezone(&tz).date_naive(), tz)
}

/// The start of the next trading day: when a tripped kill switch re-arms.
pub fn next_trading_day_start(now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    match now.with_timezone(&tz).date_naive().succ_opt() {
        Some(next) => trading_day_start_of(next, tz),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const WARSAW: Tz = chrono_tz::Europe::Warsaw;

    #[test]
    fn utc_days_are_utc_midnights() {
        let now = utc("2026-03-29T01:30:00Z");
        assert_eq!(trading_day_start(now, Tz::UTC), utc("2026-03-29T00:00:00Z"));
        assert_eq!(next_trading_day_start(now, Tz::UTC), utc("2026-03-30T00:00:00Z"));
        let midnight = utc("2026-03-29T00:00:00Z");
        assert_eq!(
            trading_day_start(midnight, Tz::UTC),
            midnight,
            "midnight starts its day"
        );
    }

    #[test]
    fn warsaw_ordinary_days_in_winter_and_summer() {
        // CET (+1): midnight is 23:00 UTC the day before.
        assert_eq!(
            trading_day_start(utc("2026-01-15T12:00:00Z"), WARSAW),
            utc("2026-01-14T23:00:00Z")
        );
        // CEST (+2): midnight is 22:00 UTC; one second before it is still yesterday.
        assert_eq!(
            trading_day_start(utc("2026-07-01T21:59:59Z"), WARSAW),
            utc("2026-06-30T22:00:00Z")
        );
        assert_eq!(
            trading_day_start(utc("2026-07-01T22:00:00Z"), WARSAW),
            utc("2026-07-01T22:00:00Z")
        );
        assert_eq!(
            next_trading_day_start(utc("2026-07-01T21:59:59Z"), WARSAW),
            utc("2026-07-01T22:00:00Z")
        );
    }

    /// 29 March 2026: 02:00 CET becomes 03:00 CEST, a day of 23 hours.
    #[test]
    fn warsaw_spring_forward_day_has_23_hours() {
        let start = utc("2026-03-28T23:00:00Z");
        let next = utc("2026-03-29T22:00:00Z");
        for now in [
            "2026-03-28T23:00:00Z", // 00:00 CET
            "2026-03-29T00:59:59Z", // 01:59:59 CET, just before the jump
            "2026-03-29T01:00:00Z", // 03:00 CEST, just after
            "2026-03-29T21:59:59Z", // 23:59:59 CEST
        ] {
            assert_eq!(trading_day_start(utc(now), WARSAW), start, "{now}");
            assert_eq!(next_trading_day_start(utc(now), WARSAW), next, "{now}");
        }
        assert_eq!(next - start, Duration::hours(23));
        // The day before ends where this one starts; the day after starts at 22:00 UTC.
        assert_eq!(next_trading_day_start(utc("2026-03-28T22:59:59Z"), WARSAW), start);
        assert_eq!(trading_day_start(next, WARSAW), next);
        assert_eq!(next_trading_day_start(next, WARSAW) - next, Duration::hours(24));
    }

    /// 25 October 2026: 03:00 CEST falls back to 02:00 CET, a day of 25 hours; the
    /// repeated hour 02:00–03:00 belongs to the same day both times.
    #[test]
    fn warsaw_fall_back_day_has_25_hours() {
        let start = utc("2026-10-24T22:00:00Z");
        let next = utc("2026-10-25T23:00:00Z");
        for now in [
            "2026-10-24T22:00:00Z", // 00:00 CEST
            "2026-10-25T00:30:00Z", // 02:30 CEST, the first time
            "2026-10-25T01:30:00Z", // 02:30 CET, the second time
            "2026-10-25T22:59:59Z", // 23:59:59 CET
        ] {
            assert_eq!(trading_day_start(utc(now), WARSAW), start, "{now}");
            assert_eq!(next_trading_day_start(utc(now), WARSAW), next, "{now}");
        }
        assert_eq!(next - start, Duration::hours(25));
        assert_eq!(
            trading_day_start(utc("2026-10-24T21:59:59Z"), WARSAW),
            utc("2026-10-23T22:00:00Z")
        );
    }

    #[test]
    fn a_midnight_that_does_not_exist_starts_the_day_at_the_jump() {
        // Find, in any zone, a date whose local midnight is skipped; the day must
        // start at the first local time after the gap, not before and not later.
        let mut checked = 0;
        for tz in chrono_tz::TZ_VARIANTS {
            for year in [2022, 2024, 2026] {
                let mut date = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                while date.year_ce().1 == year as u32 {
                    let midnight = date.and_time(chrono::NaiveTime::MIN);
                    if tz.from_local_datetime(&midnight).earliest().is_none() {
                        let start = trading_day_start_of(date, tz);
                        let local = start.with_timezone(&tz);
                        assert_eq!(local.date_naive(), date, "{tz} {date}");
                        let before = (start - Duration::seconds(1)).with_timezone(&tz);
                        assert!(before.date_naive() < date, "{tz} {date}");
                        checked += 1;
                    }
                    date = date.succ_opt().unwrap();
                }
            }
        }
        assert!(checked > 0, "some zone skips midnight in these years");
    }

    use chrono::Datelike;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// In every zone, any instant from 2000 to 2040 lies in [start, next); the start
        /// is on the instant's local date and a second earlier is the day before; the
        /// next start is on a later local date.
        #[test]
        fn every_instant_lies_in_its_trading_day(
            zone in 0..chrono_tz::TZ_VARIANTS.len(),
            secs in 946_684_800i64..2_208_988_800,
        ) {
            let tz = chrono_tz::TZ_VARIANTS[zone];
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let start = trading_day_start(now, tz);
            let next = next_trading_day_start(now, tz);
            prop_assert!(start <= now && now < next, "{tz} {now}: {start} {next}");
            let date = now.with_timezone(&tz).date_naive();
            prop_assert_eq!(start.with_timezone(&tz).date_naive(), date);
            prop_assert!((start - Duration::seconds(1)).with_timezone(&tz).date_naive() < date);
            prop_assert!(next.with_timezone(&tz).date_naive() > date);
        }
    }
}
