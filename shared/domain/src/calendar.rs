//! Asia/Taipei calendar rules.
//!
//! Every "same day", "until 23:59", "the 1st of the month" and "21:00" in the spec is
//! Taipei time, whatever the server's zone. Instants are stored as UTC; these helpers
//! turn them into Taipei dates and back.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const TAIPEI: Tz = chrono_tz::Asia::Taipei;

/// The Taipei calendar date an instant falls on.
pub fn taipei_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&TAIPEI).date_naive()
}

/// The instant of a Taipei wall-clock time on a date.
pub fn taipei_instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(time);
    match TAIPEI.from_local_datetime(&local).earliest() {
        Some(at) => at.with_timezone(&Utc),
        // Taipei has kept UTC+8 without daylight saving since 1980, so every local time of
        // interest exists; a skipped hour of an older date is read as UTC+8.
        None => Utc.from_utc_datetime(&(local - Duration::hours(8))),
    }
}

/// 00:00 Taipei on `date`.
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    taipei_instant(date, NaiveTime::MIN)
}

/// The first instant after `date` in Taipei: the exclusive end of the day. A rule
/// "until 23:59 of that day" holds for every instant strictly before this one.
pub fn end_of_day_exclusive(date: NaiveDate) -> DateTime<Utc> {
    start_of_day(next_day(date))
}

/// Whether two instants fall on the same Taipei calendar day.
pub fn same_day(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    taipei_date(a) == taipei_date(b)
}

/// Whether `now` is still within the Taipei day on which `happened_at` happened
/// (the "until 23:59 of that day" windows of §6).
pub fn within_same_day_window(happened_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= happened_at && now < end_of_day_exclusive(taipei_date(happened_at))
}

/// Whole Taipei calendar days from `from` to `to` (negative if `to` is earlier).
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (taipei_date(to) - taipei_date(from)).num_days()
}

/// The first day of the month `date` is in.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The first day of the month after the one `date` is in.
pub fn next_month_start(date: NaiveDate) -> NaiveDate {
    let (year, month) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    first_of(year, month, date)
}

/// The first day of the month before the one `date` is in (the month a bill on the 1st covers).
pub fn previous_month_start(date: NaiveDate) -> NaiveDate {
    let (year, month) = if date.month() == 1 {
        (date.year() - 1, 12)
    } else {
        (date.year(), date.month() - 1)
    };
    first_of(year, month, date)
}

/// The instants bounding the Taipei month that `date` is in: `[start, end)`.
pub fn month_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        start_of_day(month_start(date)),
        start_of_day(next_month_start(date)),
    )
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

fn first_of(year: i32, month: u32, fallback: NaiveDate) -> NaiveDate {
    // Only out-of-range years (beyond chrono's ±262,000) fail; keep the input then.
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn taipei_date_turns_over_at_taipei_midnight_not_utc_midnight() {
        let cases = [
            // (instant in UTC, Taipei date)
            (utc(2026, 5, 1, 15, 59, 59), date(2026, 5, 1)), // 23:59:59 Taipei
            (utc(2026, 5, 1, 16, 0, 0), date(2026, 5, 2)),   // 00:00:00 Taipei next day
            (utc(2026, 5, 1, 0, 0, 0), date(2026, 5, 1)),    // 08:00 Taipei
            (utc(2026, 4, 30, 23, 59, 59), date(2026, 5, 1)), // UTC still April
            (utc(2026, 12, 31, 16, 0, 0), date(2027, 1, 1)), // new year in Taipei first
            (utc(2028, 2, 28, 16, 0, 0), date(2028, 2, 29)), // leap day
        ];
        for (instant, expected) in cases {
            assert_eq!(taipei_date(instant), expected, "{instant}");
        }
    }

    #[test]
    fn day_bounds_are_taipei_midnights() {
        let cases = [
            (
                date(2026, 5, 1),
                utc(2026, 4, 30, 16, 0, 0),
                utc(2026, 5, 1, 16, 0, 0),
            ),
            (
                date(2026, 12, 31),
                utc(2026, 12, 30, 16, 0, 0),
                utc(2026, 12, 31, 16, 0, 0),
            ),
            (
                date(2028, 2, 29),
                utc(2028, 2, 28, 16, 0, 0),
                utc(2028, 2, 29, 16, 0, 0),
            ),
        ];
        for (day, start, end) in cases {
            assert_eq!(start_of_day(day), start, "{day} start");
            assert_eq!(end_of_day_exclusive(day), end, "{day} end");
        }
    }

    #[test]
    fn same_day_window_closes_after_23_59_59_taipei() {
        let redeemed = utc(2026, 5, 1, 2, 0, 0); // 10:00 Taipei, 1 May
        let cases = [
            (utc(2026, 5, 1, 2, 0, 0), true),    // the same instant
            (utc(2026, 5, 1, 15, 59, 0), true),  // 23:59:00 Taipei
            (utc(2026, 5, 1, 15, 59, 59), true), // 23:59:59 Taipei
            (utc(2026, 5, 1, 16, 0, 0), false),  // 00:00 Taipei, 2 May
            (utc(2026, 5, 1, 1, 59, 59), false), // before it happened
        ];
        for (now, allowed) in cases {
            assert_eq!(within_same_day_window(redeemed, now), allowed, "{now}");
        }
        assert!(same_day(
            utc(2026, 4, 30, 16, 0, 0),
            utc(2026, 5, 1, 15, 59, 59)
        ));
        assert!(!same_day(
            utc(2026, 4, 30, 15, 59, 59),
            utc(2026, 4, 30, 16, 0, 0)
        ));
    }

    #[test]
    fn days_between_counts_taipei_calendar_days() {
        let paid = utc(2026, 4, 30, 16, 30, 0); // 00:30 Taipei, 1 May
        let cases = [
            (utc(2026, 5, 1, 15, 59, 59), 0),   // still 1 May in Taipei
            (utc(2026, 5, 21, 15, 59, 59), 20), // 21 May 23:59:59
            (utc(2026, 5, 21, 16, 0, 0), 21),   // 22 May 00:00
            (utc(2026, 4, 30, 15, 0, 0), -1),   // 30 April 23:00
        ];
        for (now, days) in cases {
            assert_eq!(days_between(paid, now), days, "{now}");
        }
    }

    #[test]
    fn month_boundaries_roll_over_years_and_leap_years() {
        let cases = [
            // (date, month start, next month start, previous month start)
            (
                date(2026, 1, 31),
                date(2026, 1, 1),
                date(2026, 2, 1),
                date(2025, 12, 1),
            ),
            (
                date(2026, 12, 31),
                date(2026, 12, 1),
                date(2027, 1, 1),
                date(2026, 11, 1),
            ),
            (
                date(2028, 2, 29),
                date(2028, 2, 1),
                date(2028, 3, 1),
                date(2028, 1, 1),
            ),
            (
                date(2026, 3, 1),
                date(2026, 3, 1),
                date(2026, 4, 1),
                date(2026, 2, 1),
            ),
        ];
        for (day, start, next, previous) in cases {
            assert_eq!(month_start(day), start, "{day}");
            assert_eq!(next_month_start(day), next, "{day}");
            assert_eq!(previous_month_start(day), previous, "{day}");
        }
    }

    #[test]
    fn month_bounds_are_taipei_midnights_on_the_firsts() {
        let (start, end) = month_bounds(date(2026, 11, 30));
        assert_eq!(start, utc(2026, 10, 31, 16, 0, 0));
        assert_eq!(end, utc(2026, 11, 30, 16, 0, 0));
        // The last second of November in Taipei is inside; the first of December is not.
        assert!(utc(2026, 11, 30, 15, 59, 59) < end);
        assert_eq!(taipei_date(end), date(2026, 12, 1));
    }

    #[test]
    fn taipei_instant_places_wall_clock_times() {
        // Same-day issue and return: the bank update is at issue day + 2, 01:00 Taipei.
        let issued = date(2026, 5, 1);
        let bank_update = taipei_instant(
            issued + Duration::days(2),
            NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
        );
        assert_eq!(bank_update, utc(2026, 5, 2, 17, 0, 0));
    }
}
