//! Sign-in lockout: after [`MAX_FAILURES`] failed attempts within [`WINDOW`], the account
//! is locked until the window that began with the oldest of them has passed.

use chrono::{DateTime, Duration, Utc};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::minutes(15);

/// The failures that still count at `now`, oldest first, with `now`'s failure added.
pub fn record_failure(previous: &[DateTime<Utc>], now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut failures: Vec<DateTime<Utc>> = previous
        .iter()
        .copied()
        .filter(|at| now - *at < WINDOW)
        .collect();
    failures.push(now);
    failures.sort();
    let excess = failures.len().saturating_sub(MAX_FAILURES);
    failures.drain(..excess);
    failures
}

/// Until when the account is locked, if it is locked at `now`.
pub fn locked_until(failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if failures.len() < MAX_FAILURES {
        return None;
    }
    let recent = &failures[failures.len() - MAX_FAILURES..];
    let first = *recent.first()?;
    let last = *recent.last()?;
    let until = first + WINDOW;
    (last - first < WINDOW && now < until).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap() + Duration::minutes(minute)
    }

    #[test]
    fn five_failures_in_fifteen_minutes_lock_until_the_window_ends() {
        let mut failures = Vec::new();
        for minute in 0..4 {
            failures = record_failure(&failures, at(minute));
            assert_eq!(
                locked_until(&failures, at(minute)),
                None,
                "after {} failures",
                minute + 1
            );
        }
        failures = record_failure(&failures, at(10));
        assert_eq!(locked_until(&failures, at(10)), Some(at(15)));
        assert_eq!(locked_until(&failures, at(14)), Some(at(15)));
        assert_eq!(
            locked_until(&failures, at(15)),
            None,
            "unlocked when the window passes"
        );
    }

    #[test]
    fn failures_spread_over_more_than_the_window_never_lock() {
        let mut failures = Vec::new();
        for minute in [0, 5, 10, 14, 16] {
            failures = record_failure(&failures, at(minute));
        }
        // The failure at minute 0 has aged out by minute 16: only four count.
        assert_eq!(failures.len(), 4);
        assert_eq!(locked_until(&failures, at(16)), None);
    }

    #[test]
    fn only_the_last_five_failures_are_kept() {
        let mut failures = Vec::new();
        for minute in 0..9 {
            failures = record_failure(&failures, at(minute));
        }
        assert_eq!(failures.len(), MAX_FAILURES);
        assert_eq!(failures[0], at(4));
        assert_eq!(locked_until(&failures, at(9)), Some(at(19)));
    }
}
