//! Paid orders awaiting issuance (§5, manual §7-2 and §7-3 B 注意事項 2–3): the 21-day
//! rule, the day-7 and day-19 reminders, and the day-31 automatic cancellation.

use crate::calendar;
use crate::error::{Error, ErrorCode};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Taipei calendar days after payment during which an order may still be issued: paid on
/// 5/1, issuable through 5/21.
pub const ISSUABLE_DAYS: i64 = 21;
/// "滿7天及滿19天": reminder mails on these days after payment (5/8 and 5/20 for 5/1).
pub const REMINDER_DAYS: [i64; 2] = [7, 19];
/// Not issued nor abandoned by day 30 → cancelled on day 31 (5/31 for 5/1), i.e. 30 days on.
pub const AUTO_CANCEL_AFTER_DAYS: i64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Unissued,
    Issued,
    /// The merchant gave up the card authorization.
    Abandoned,
    /// The system cancelled the authorization on day 31.
    AutoCancelled,
}

/// What can happen to a paid order after it is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// Its tickets were issued (batch issuance).
    Issue,
    /// The merchant gave up its authorization.
    Abandon,
    /// Day 31 came with the order still unissued (the daily job).
    AutoCancel,
}

impl OrderStatus {
    /// The order's state machine, in one place: only an unissued order moves, once.
    pub fn after(self, event: OrderEvent) -> Result<OrderStatus, Error> {
        match (self, event) {
            (OrderStatus::Unissued, OrderEvent::Issue) => Ok(OrderStatus::Issued),
            (OrderStatus::Unissued, OrderEvent::Abandon) => Ok(OrderStatus::Abandoned),
            (OrderStatus::Unissued, OrderEvent::AutoCancel) => Ok(OrderStatus::AutoCancelled),
            _ => Err(Error::new(ErrorCode::OrderNotUnissued)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            OrderStatus::Unissued => "unissued",
            OrderStatus::Issued => "issued",
            OrderStatus::Abandoned => "abandoned",
            OrderStatus::AutoCancelled => "auto_cancelled",
        }
    }
}

/// Whether an order paid at `paid_at` may be issued at `now`.
pub fn is_issuable(status: OrderStatus, paid_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let days = calendar::days_between(paid_at, now);
    status == OrderStatus::Unissued && (0..ISSUABLE_DAYS).contains(&days)
}

/// The last Taipei date on which an order can be issued.
pub fn last_issuable_day(paid_at: DateTime<Utc>) -> NaiveDate {
    calendar::taipei_date(paid_at) + chrono::Duration::days(ISSUABLE_DAYS - 1)
}

/// Refuses issuing an order past the 21-day rule, saying until when it was possible.
pub fn require_issuable(
    status: OrderStatus,
    paid_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    status.after(OrderEvent::Issue)?;
    if !is_issuable(status, paid_at, now) {
        return Err(
            Error::new(ErrorCode::OrderIssuePeriodOver).with_detail(format!(
                "paid on {}: issuable through {}",
                calendar::taipei_date(paid_at),
                last_issuable_day(paid_at)
            )),
        );
    }
    Ok(())
}

/// What the daily job does on `today` about an order paid on `paid_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DailyAction {
    /// Mail the "pending issuance" reminder for this day after payment (7 or 19).
    Remind(i64),
    AutoCancel,
}

/// The payment dates the daily job must look at on `today`, with what to do for each.
pub fn daily_work(today: NaiveDate) -> Vec<(NaiveDate, DailyAction)> {
    let mut work: Vec<(NaiveDate, DailyAction)> = REMINDER_DAYS
        .iter()
        .map(|days| {
            (
                today - chrono::Duration::days(*days),
                DailyAction::Remind(*days),
            )
        })
        .collect();
    work.push((
        today - chrono::Duration::days(AUTO_CANCEL_AFTER_DAYS),
        DailyAction::AutoCancel,
    ));
    work
}

pub use crate::values::TradeNo;

impl TradeNo {
    /// A merchant's order number as given: 1–20 letters or digits.
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        if value.is_empty() || value.len() > 20 || !value.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(Error::invalid_field(field, "1 to 20 letters or digits"));
        }
        Ok(TradeNo(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn taipei(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        // h o'clock Taipei = h-8 UTC.
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap() + chrono::Duration::hours(i64::from(h) - 8)
    }

    #[test]
    fn the_manuals_example_paid_5_1() {
        let paid = taipei(2026, 5, 1, 10);
        let cases = [
            (taipei(2026, 5, 1, 10), true),
            (taipei(2026, 5, 21, 23), true), // last day, 23:00 Taipei
            (taipei(2026, 5, 22, 0), false), // 00:00 Taipei the day after
            (taipei(2026, 4, 30, 23), false), // before payment
        ];
        for (now, issuable) in cases {
            assert_eq!(
                is_issuable(OrderStatus::Unissued, paid, now),
                issuable,
                "{now}"
            );
        }
        assert_eq!(
            last_issuable_day(paid),
            NaiveDate::from_ymd_opt(2026, 5, 21).unwrap()
        );
        let error =
            require_issuable(OrderStatus::Unissued, paid, taipei(2026, 5, 22, 9)).unwrap_err();
        assert_eq!(error.code, ErrorCode::OrderIssuePeriodOver);
        assert!(error.detail.unwrap().contains("2026-05-21"));
        assert_eq!(
            require_issuable(OrderStatus::Issued, paid, paid)
                .unwrap_err()
                .code,
            ErrorCode::OrderNotUnissued
        );
        assert!(!is_issuable(OrderStatus::Abandoned, paid, paid));
    }

    #[test]
    fn the_daily_job_reminds_on_5_8_and_5_20_and_cancels_on_5_31() {
        let paid_on = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 5, d).unwrap();
        let actions_on = |today: NaiveDate| -> Vec<DailyAction> {
            daily_work(today)
                .into_iter()
                .filter(|(date, _)| *date == paid_on)
                .map(|(_, action)| action)
                .collect()
        };
        assert_eq!(actions_on(day(8)), [DailyAction::Remind(7)]);
        assert_eq!(actions_on(day(20)), [DailyAction::Remind(19)]);
        assert_eq!(actions_on(day(31)), [DailyAction::AutoCancel]);
        for quiet in [2, 7, 9, 19, 21, 30] {
            assert!(actions_on(day(quiet)).is_empty(), "5/{quiet}");
        }
    }

    #[test]
    fn trade_numbers_are_short_and_plain() {
        assert_eq!(
            TradeNo::parse("t", " ORD20260501001 ").unwrap().as_str(),
            "ORD20260501001"
        );
        assert!(TradeNo::parse("t", "").is_err());
        assert!(TradeNo::parse("t", "ORD-1").is_err());
        assert!(TradeNo::parse("t", &"1".repeat(21)).is_err());
    }
}
