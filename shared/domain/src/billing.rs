//! Fees and the monthly close (§六, §9): each day's fee total per item is rounded half-up to
//! whole NT$; on the 1st, last month's daily totals become that month's bill, and the amount
//! due is that bill plus every earlier bill still unpaid.

use crate::calendar;
use crate::merchant::FeeItem;
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// One item's fee total for one Taipei day, already rounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyFeeTotal {
    pub date: NaiveDate,
    pub item: FeeItem,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// §6-3: a day's total is summed, then rounded half-up to an integer.
pub fn round_daily_total(raw: Decimal) -> Decimal {
    raw.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
}

/// A bill's month, `YYYY-MM`.
pub fn month_label(month_start: NaiveDate) -> String {
    format!("{:04}-{:02}", month_start.year(), month_start.month())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLine {
    pub item: FeeItem,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// A month's bill as closed on the 1st of the next month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    pub month: String,
    pub lines: Vec<BillLine>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
    /// Earlier months still unpaid when this bill was closed, carried into the amount due.
    pub carried_months: Vec<String>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_due: Decimal,
    pub paid: bool,
}

const ITEMS: [FeeItem; 4] = [
    FeeItem::ReturnOperation,
    FeeItem::Sms,
    FeeItem::PaperPrinting,
    FeeItem::SerialProcessing,
];

/// The month a close run on `today` closes: the one before today's month.
pub fn month_to_close(today: NaiveDate) -> NaiveDate {
    calendar::previous_month_start(today)
}

/// Builds the bill of the month starting `month_start` from daily totals (days outside the
/// month are ignored) and the earlier unpaid bills `(month, total)`.
pub fn close_month(
    month_start: NaiveDate,
    totals: &[DailyFeeTotal],
    unpaid_earlier: &[(String, Decimal)],
) -> Bill {
    let next = calendar::next_month_start(month_start);
    let in_month = |total: &&DailyFeeTotal| total.date >= month_start && total.date < next;
    let lines: Vec<BillLine> = ITEMS
        .iter()
        .map(|item| BillLine {
            item: *item,
            amount: totals
                .iter()
                .filter(in_month)
                .filter(|t| t.item == *item)
                .map(|t| t.amount)
                .sum(),
        })
        .collect();
    let total: Decimal = lines.iter().map(|line| line.amount).sum();
    let label = month_label(month_start);
    let carried: Vec<&(String, Decimal)> = unpaid_earlier
        .iter()
        .filter(|(month, _)| *month < label)
        .collect();
    Bill {
        amount_due: total + carried.iter().map(|(_, amount)| *amount).sum::<Decimal>(),
        carried_months: carried.iter().map(|(month, _)| month.clone()).collect(),
        month: label,
        lines,
        total,
        paid: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn total(m: u32, d: u32, item: FeeItem, amount: i64) -> DailyFeeTotal {
        DailyFeeTotal {
            date: day(m, d),
            item,
            amount: Decimal::new(amount, 0),
        }
    }

    #[test]
    fn daily_totals_round_half_up() {
        for (raw, rounded) in [
            ("12.5", "13"),
            ("12.49", "12"),
            ("0.5", "1"),
            ("7", "7"),
            ("7.51", "8"),
        ] {
            assert_eq!(
                round_daily_total(raw.parse().unwrap()),
                rounded.parse::<Decimal>().unwrap(),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_month_is_its_daily_totals_plus_earlier_unpaid_bills() {
        let totals = [
            total(10, 1, FeeItem::ReturnOperation, 30),
            total(10, 31, FeeItem::ReturnOperation, 20),
            total(10, 15, FeeItem::Sms, 12),
            total(9, 30, FeeItem::Sms, 99), // September: not this bill
            total(11, 1, FeeItem::Sms, 99), // November: not this bill
        ];
        let unpaid = [
            ("2026-08".to_owned(), Decimal::new(40, 0)),
            ("2026-09".to_owned(), Decimal::new(15, 0)),
        ];
        let bill = close_month(day(10, 1), &totals, &unpaid);
        assert_eq!(bill.month, "2026-10");
        assert_eq!(
            bill.lines[0],
            BillLine {
                item: FeeItem::ReturnOperation,
                amount: Decimal::new(50, 0)
            }
        );
        assert_eq!(bill.lines[1].amount, Decimal::new(12, 0));
        assert_eq!(bill.total, Decimal::new(62, 0));
        assert_eq!(bill.carried_months, ["2026-08", "2026-09"]);
        assert_eq!(bill.amount_due, Decimal::new(117, 0));
        assert!(!bill.paid);
        assert_eq!(
            close_month(day(10, 1), &[], &[]).amount_due,
            Decimal::ZERO,
            "a quiet month bills zero"
        );
    }

    #[test]
    fn the_close_on_the_first_takes_the_previous_month() {
        assert_eq!(month_to_close(day(11, 1)), day(10, 1));
        assert_eq!(
            month_to_close(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
    }
}
