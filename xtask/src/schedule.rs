//! EventBridge Scheduler expressions (`cron(...)` in a time zone, `rate(...)`), so the
//! local gateway fires scheduled functions when AWS would.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Cron(Cron),
    Rate(Duration),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    /// None: `?` (the day-of-week field decides).
    days_of_month: Option<Vec<u32>>,
    months: Vec<u32>,
    /// 1 = Sunday … 7 = Saturday, as in EventBridge. None: `?`.
    days_of_week: Option<Vec<u32>>,
    zone: Tz,
}

impl Schedule {
    pub fn parse(expression: &str, timezone: Option<&str>) -> Result<Schedule, String> {
        let expression = expression.trim();
        if let Some(body) = expression
            .strip_prefix("rate(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return parse_rate(body).map(Schedule::Rate);
        }
        let body = expression
            .strip_prefix("cron(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| format!("{expression:?} is neither cron(...) nor rate(...)"))?;
        let zone: Tz = timezone
            .unwrap_or("UTC")
            .parse()
            .map_err(|_| format!("unknown time zone {timezone:?}"))?;
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, _year] = fields[..] else {
            return Err(format!("cron({body}) needs six fields"));
        };
        let optional =
            |field: &str, min, max, names: &[&str]| -> Result<Option<Vec<u32>>, String> {
                if field == "?" {
                    Ok(None)
                } else {
                    parse_field(field, min, max, names).map(Some)
                }
            };
        Ok(Schedule::Cron(Cron {
            minutes: parse_field(minutes, 0, 59, &[])?,
            hours: parse_field(hours, 0, 23, &[])?,
            days_of_month: optional(dom, 1, 31, &[])?,
            months: parse_field(month, 1, 12, &MONTHS)?,
            days_of_week: optional(dow, 1, 7, &WEEKDAYS)?,
            zone,
        }))
    }

    /// The first firing strictly after `after` (for a rate: one period after it).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(period) => Some(after + *period),
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        // A year and a day of minutes covers every schedule that fires at all.
        (0..=366 * 24 * 60)
            .map(|minute| start + Duration::minutes(minute))
            .find(|candidate| self.matches(&candidate.with_timezone(&self.zone)))
    }

    fn matches<T: TimeZone>(&self, local: &DateTime<T>) -> bool {
        let weekday = local.weekday().num_days_from_sunday() + 1;
        self.minutes.contains(&local.minute())
            && self.hours.contains(&local.hour())
            && self.months.contains(&local.month())
            && self
                .days_of_month
                .as_ref()
                .is_none_or(|days| days.contains(&local.day()))
            && self
                .days_of_week
                .as_ref()
                .is_none_or(|days| days.contains(&weekday))
    }
}

fn parse_rate(body: &str) -> Result<Duration, String> {
    let mut parts = body.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("rate({body}) must be `rate(<n> <unit>)`"));
    };
    let value: i64 = value
        .parse()
        .map_err(|_| format!("rate({body}): {value} is not a number"))?;
    if value < 1 {
        return Err(format!("rate({body}) must be at least 1"));
    }
    match unit.trim_end_matches('s') {
        "minute" => Ok(Duration::minutes(value)),
        "hour" => Ok(Duration::hours(value)),
        "day" => Ok(Duration::days(value)),
        _ => Err(format!("rate({body}): unit must be minutes, hours or days")),
    }
}

fn parse_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<u32>, String> {
    let value = |text: &str| -> Result<u32, String> {
        if let Some(index) = names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
        {
            return Ok(min + index as u32);
        }
        let number: u32 = text
            .parse()
            .map_err(|_| format!("{text:?} is not a valid cron value"))?;
        if (min..=max).contains(&number) {
            Ok(number)
        } else {
            Err(format!("{number} is outside {min}-{max}"))
        }
    };
    let mut values = Vec::new();
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .map_err(|_| format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("step 0 in {part:?}"));
        }
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((low, high)) = range.split_once('-') {
            (value(low)?, value(high)?)
        } else if part.contains('/') {
            (value(range)?, max)
        } else {
            let single = value(range)?;
            (single, single)
        };
        values.extend((low..=high).step_by(step as usize));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn daily_taipei_schedule_fires_at_taipei_wall_clock_time() {
        // 01:00 Taipei every day = 17:00 UTC the day before.
        let daily = Schedule::parse("cron(0 1 * * ? *)", Some("Asia/Taipei")).unwrap();
        let cases = [
            (utc(2026, 5, 1, 16, 59), utc(2026, 5, 1, 17, 0)),
            (utc(2026, 5, 1, 17, 0), utc(2026, 5, 2, 17, 0)),
            (utc(2026, 12, 31, 18, 0), utc(2027, 1, 1, 17, 0)),
        ];
        for (after, expected) in cases {
            assert_eq!(daily.next_after(after), Some(expected), "after {after}");
        }
    }

    #[test]
    fn monthly_close_fires_on_the_first_in_taipei() {
        // 00:30 Taipei on the 1st = 16:30 UTC on the last day of the previous month.
        let monthly = Schedule::parse("cron(30 0 1 * ? *)", Some("Asia/Taipei")).unwrap();
        assert_eq!(
            monthly.next_after(utc(2026, 11, 15, 0, 0)),
            Some(utc(2026, 11, 30, 16, 30))
        );
        assert_eq!(
            monthly.next_after(utc(2027, 2, 1, 0, 0)),
            Some(utc(2027, 2, 28, 16, 30))
        );
    }

    #[test]
    fn lists_ranges_steps_names_and_rates() {
        let weekdays = Schedule::parse("cron(0/15 9-10 ? * MON-FRI *)", None).unwrap();
        // Saturday 2026-05-02 → Monday 2026-05-04 09:00 UTC.
        assert_eq!(
            weekdays.next_after(utc(2026, 5, 1, 10, 50)),
            Some(utc(2026, 5, 4, 9, 0))
        );
        assert_eq!(
            weekdays.next_after(utc(2026, 5, 4, 9, 0)),
            Some(utc(2026, 5, 4, 9, 15))
        );
        let rate = Schedule::parse("rate(5 minutes)", None).unwrap();
        assert_eq!(
            rate.next_after(utc(2026, 5, 1, 0, 0)),
            Some(utc(2026, 5, 1, 0, 5))
        );
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for (expression, zone) in [
            ("cron(61 * * * ? *)", None),
            ("cron(0 1 * *)", None),
            ("cron(0 1 * * ? *)", Some("Mars/Olympus")),
            ("rate(0 minutes)", None),
            ("every day", None),
        ] {
            assert!(Schedule::parse(expression, zone).is_err(), "{expression}");
        }
    }
}
