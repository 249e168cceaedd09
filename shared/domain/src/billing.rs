//! Fees and the monthly close (§六, §9): each day's fee total per item is rounded half-up to
//! whole NT$; on the 1st, last month's daily totals become that month's bill, and the amount
//! due is that bill plus every earlier bill still unpaid.

use crate::calendar;
use crate::merchant::{rate_in_force, FeeBasis, FeeItem, FeeRate, RedemptionMode};
use crate::products::TicketKind;
use crate::ticket::TicketEvent;
use crate::tickets::{TicketNumber, TicketStatus};
use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

/// One unit's fee at `rate`: the amount per unit, or the percentage of the unit's face
/// value (an SMS has none: a percentage of it is nothing).
pub fn unit_fee(rate: &FeeRate, face_value: Decimal) -> Decimal {
    match rate.basis {
        FeeBasis::PerUnit => rate.amount,
        FeeBasis::Percent => face_value * rate.amount / Decimal::ONE_HUNDRED,
    }
}

/// §6-3: an item's fee total for Taipei day `day`: every unit (by its face value) at the
/// rate in force that day (the latest of the day if it changed), summed, then rounded
/// half-up to whole NT$. `None` when nothing is billable: no unit, or no rate set.
pub fn daily_fee_total(
    day: NaiveDate,
    item: FeeItem,
    mode: RedemptionMode,
    rates: &[FeeRate],
    units: &[Decimal],
) -> Option<DailyFeeTotal> {
    daily_fee_total_of(
        day,
        item,
        mode,
        rates,
        units.len(),
        units.iter().copied().sum(),
    )
}

/// [`daily_fee_total`] of `count` units whose face values sum to `face_total` (a
/// percentage of each face, summed, is the percentage of their sum).
pub fn daily_fee_total_of(
    day: NaiveDate,
    item: FeeItem,
    mode: RedemptionMode,
    rates: &[FeeRate],
    count: usize,
    face_total: Decimal,
) -> Option<DailyFeeTotal> {
    let rate = rate_in_force(rates, mode, item, day)?;
    if count == 0 {
        return None;
    }
    let raw = match rate.basis {
        FeeBasis::PerUnit => rate.amount * Decimal::from(count),
        FeeBasis::Percent => face_total * rate.amount / Decimal::ONE_HUNDRED,
    };
    Some(DailyFeeTotal {
        date: day,
        item,
        amount: round_daily_total(raw),
    })
}

/// One fee-bearing return as the return-fee report shows it (§6-3 退貨作業費報表): the
/// ticket, when it was returned, its face value, the rate of its day and its own fee
/// (unrounded: the day's total is rounded once).
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnFeeLine {
    pub ticket_no: TicketNumber,
    pub returned_at: chrono::DateTime<chrono::Utc>,
    /// The branch that returned it (`None`: head office).
    pub branch: Option<crate::values::BranchCode>,
    pub product_id: crate::products::ProductId,
    pub face_value: Decimal,
    pub rate: Option<FeeRate>,
    pub fee: Decimal,
}

/// The return-fee report's lines of one Taipei day, from the issuer's ticket events of that
/// day (in time order) and its rates: the same returns and rate as the day's total.
pub fn return_fee_lines(
    day: NaiveDate,
    mode: RedemptionMode,
    rates: &[FeeRate],
    events: &[TicketEvent],
) -> Vec<ReturnFeeLine> {
    let rate = rate_in_force(rates, mode, FeeItem::ReturnOperation, day);
    let standing = fee_bearing_returns(events);
    standing
        .into_iter()
        .filter_map(|(ticket_no, face_value)| {
            // The standing return is the day's last return of the ticket.
            let event = events
                .iter()
                .rev()
                .find(|e| e.ticket_no == ticket_no && e.operation == "return")?;
            Some(ReturnFeeLine {
                returned_at: event.at,
                branch: event.branch.clone(),
                product_id: event.product_id.clone(),
                fee: rate.map_or(Decimal::ZERO, |r| unit_fee(r, face_value)),
                rate: rate.cloned(),
                ticket_no,
                face_value,
            })
        })
        .collect()
}

/// The returns of a day that bear the return-operation fee (§六: only goods vouchers
/// returned within escrow, i.e. to `pending_return`; not gift vouchers), from the issuer's ticket events of
/// that day in time order: a return cancelled the same day drops out (a pending return can
/// be cancelled only on its day), a ticket returned again after a cancel counts once. Each
/// with its face value, by ticket.
pub fn fee_bearing_returns(events: &[TicketEvent]) -> Vec<(TicketNumber, Decimal)> {
    let mut standing: BTreeMap<&TicketNumber, Option<Decimal>> = BTreeMap::new();
    for event in events {
        match event.operation.as_str() {
            "return"
                if event.kind == Some(TicketKind::GoodsVoucher)
                    && event.after == Some(TicketStatus::PendingReturn) =>
            {
                standing.insert(&event.ticket_no, Some(event.face_value));
            }
            "cancel_return" => {
                standing.insert(&event.ticket_no, None);
            }
            _ => {}
        }
    }
    standing
        .into_iter()
        .filter_map(|(ticket_no, face)| face.map(|face| (ticket_no.clone(), face)))
        .collect()
}

/// Where a merchant remits what it owes (§6-1: shown on unpaid bills), set by the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceAccount {
    /// The bank's three-digit code.
    pub bank_code: String,
    pub bank_name: String,
    /// 10 to 16 digits (a virtual account per merchant, typically).
    pub account_no: String,
    pub account_name: String,
}

impl RemittanceAccount {
    /// Each field checked, trimmed; every violation named.
    pub fn parse(
        bank_code: &str,
        bank_name: &str,
        account_no: &str,
        account_name: &str,
    ) -> Result<RemittanceAccount, crate::Error> {
        use crate::error::Violation;
        let mut violations = Vec::new();
        let digits = |value: &str, range: std::ops::RangeInclusive<usize>| {
            range.contains(&value.len()) && value.chars().all(|c| c.is_ascii_digit())
        };
        let text = |value: &str| (1..=50).contains(&value.chars().count());
        let (bank_code, bank_name, account_no, account_name) = (
            bank_code.trim(),
            bank_name.trim(),
            account_no.trim(),
            account_name.trim(),
        );
        if !digits(bank_code, 3..=3) {
            violations.push(Violation::field("bank_code", "three digits"));
        }
        if !text(bank_name) {
            violations.push(Violation::field("bank_name", "1 to 50 characters"));
        }
        if !digits(account_no, 10..=16) {
            violations.push(Violation::field("account_no", "10 to 16 digits"));
        }
        if !text(account_name) {
            violations.push(Violation::field("account_name", "1 to 50 characters"));
        }
        if !violations.is_empty() {
            return Err(crate::Error::invalid(violations));
        }
        Ok(RemittanceAccount {
            bank_code: bank_code.to_owned(),
            bank_name: bank_name.to_owned(),
            account_no: account_no.to_owned(),
            account_name: account_name.to_owned(),
        })
    }
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

/// The fee items of a mode's bill (§6-2 各期帳單明細): redeem-after-use bills all four;
/// installment, the return-operation and serial processing fees only.
pub fn fee_items(mode: RedemptionMode) -> &'static [FeeItem] {
    match mode {
        RedemptionMode::RedeemAfterUse => &[
            FeeItem::ReturnOperation,
            FeeItem::Sms,
            FeeItem::PaperPrinting,
            FeeItem::SerialProcessing,
        ],
        RedemptionMode::Installment => &[FeeItem::ReturnOperation, FeeItem::SerialProcessing],
    }
}

/// The month a close run on `today` closes: the one before today's month.
pub fn month_to_close(today: NaiveDate) -> NaiveDate {
    calendar::previous_month_start(today)
}

/// Builds the bill of the month starting `month_start` from daily totals (days outside the
/// month are ignored) and the earlier unpaid bills `(month, total)`.
pub fn close_month(
    month_start: NaiveDate,
    mode: RedemptionMode,
    totals: &[DailyFeeTotal],
    unpaid_earlier: &[(String, Decimal)],
) -> Bill {
    let next = calendar::next_month_start(month_start);
    let in_month = |total: &&DailyFeeTotal| total.date >= month_start && total.date < next;
    let lines: Vec<BillLine> = fee_items(mode)
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

    fn rate(basis: FeeBasis, amount: &str, from: chrono::DateTime<chrono::Utc>) -> FeeRate {
        FeeRate {
            mode: RedemptionMode::RedeemAfterUse,
            item: FeeItem::ReturnOperation,
            basis,
            amount: amount.parse().unwrap(),
            effective_from: from,
        }
    }

    fn event(no: u64, operation: &str, after: TicketStatus, face: i64) -> TicketEvent {
        gift_or_goods(TicketKind::GoodsVoucher, no, operation, after, face)
    }

    fn gift_or_goods(
        kind: TicketKind,
        no: u64,
        operation: &str,
        after: TicketStatus,
        face: i64,
    ) -> TicketEvent {
        let merchant = crate::values::MerchantId::parse("m", "DEMO0001").unwrap();
        TicketEvent {
            at: calendar::start_of_day(day(12, 1)),
            ticket_no: TicketNumber::from_sequence(no),
            version: 2,
            operation: operation.to_owned(),
            issuer: merchant.clone(),
            product_id: crate::products::ProductId::generate([1; 10]),
            face_value: Decimal::new(face, 0),
            by_merchant: merchant,
            branch: None,
            fee: None,
            kind: Some(kind),
            after: Some(after),
        }
    }

    #[test]
    fn only_returns_within_escrow_still_standing_at_the_end_of_the_day_bear_the_fee() {
        use TicketStatus as S;
        let events = [
            event(1, "return", S::PendingReturn, 100),
            event(2, "return", S::PendingReturn, 250),
            event(2, "cancel_return", S::Unused, 250),
            event(3, "return", S::ReturnedEscrowExpired, 300),
            event(4, "redeem", S::Used, 80),
            event(5, "return", S::PendingReturn, 500),
            event(5, "cancel_return", S::Unused, 500),
            event(5, "return", S::PendingReturn, 500),
            gift_or_goods(TicketKind::GiftVoucher, 6, "return", S::PendingReturn, 50),
        ];
        let returns = fee_bearing_returns(&events);
        assert_eq!(
            returns,
            vec![
                (TicketNumber::from_sequence(1), Decimal::new(100, 0)),
                (TicketNumber::from_sequence(5), Decimal::new(500, 0)),
            ]
        );
    }

    #[test]
    fn the_report_lines_are_the_returns_the_day_bills_at_its_rate() {
        use TicketStatus as S;
        let events = [
            event(1, "return", S::PendingReturn, 110),
            event(2, "return", S::PendingReturn, 250),
            event(2, "cancel_return", S::Unused, 250),
        ];
        let rates = [rate(
            FeeBasis::Percent,
            "2.5",
            calendar::start_of_day(day(11, 1)),
        )];
        let lines = return_fee_lines(day(12, 1), RedemptionMode::RedeemAfterUse, &rates, &events);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].ticket_no, TicketNumber::from_sequence(1));
        assert_eq!(
            lines[0].fee,
            "2.75".parse::<Decimal>().unwrap(),
            "unrounded"
        );
        let total = daily_fee_total(
            day(12, 1),
            FeeItem::ReturnOperation,
            RedemptionMode::RedeemAfterUse,
            &rates,
            &lines.iter().map(|l| l.face_value).collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(
            total.amount,
            Decimal::new(3, 0),
            "the day's total, rounded once"
        );
    }

    #[test]
    fn a_days_fee_takes_the_days_latest_rate_and_rounds_the_sum_once() {
        let midnight = calendar::start_of_day(day(12, 1));
        // 1.5 % until 13:00, then 2.5 % from 13:00: the whole day bills at 2.5 %.
        let rates = [
            rate(
                FeeBasis::Percent,
                "1.5",
                midnight - chrono::Duration::days(30),
            ),
            rate(
                FeeBasis::Percent,
                "2.5",
                midnight + chrono::Duration::hours(13),
            ),
        ];
        let faces = [
            Decimal::new(110, 0),
            Decimal::new(110, 0),
            Decimal::new(10, 0),
        ];
        // 2.75 + 2.75 + 0.25 = 5.75 -> 6 (rounded once, not per return: 3 + 3 + 0 = 6 too,
        // but 0.25 x 2 would show the difference).
        let total = daily_fee_total(
            day(12, 1),
            FeeItem::ReturnOperation,
            RedemptionMode::RedeemAfterUse,
            &rates,
            &faces,
        )
        .unwrap();
        assert_eq!(total.amount, Decimal::new(6, 0));
        let halves = [Decimal::new(10, 0), Decimal::new(10, 0)];
        let total = daily_fee_total(
            day(12, 1),
            FeeItem::ReturnOperation,
            RedemptionMode::RedeemAfterUse,
            &rates,
            &halves,
        )
        .unwrap();
        assert_eq!(
            total.amount,
            Decimal::new(1, 0),
            "0.25 + 0.25 = 0.5 rounds up to 1"
        );
        // The day before bills at 1.5 %; per unit is per unit.
        let per_unit = [rate(FeeBasis::PerUnit, "8", midnight)];
        let total = daily_fee_total(
            day(12, 2),
            FeeItem::ReturnOperation,
            RedemptionMode::RedeemAfterUse,
            &per_unit,
            &faces,
        )
        .unwrap();
        assert_eq!(total.amount, Decimal::new(24, 0));
        assert_eq!(
            daily_fee_total(
                day(11, 30),
                FeeItem::ReturnOperation,
                RedemptionMode::RedeemAfterUse,
                &per_unit,
                &faces
            ),
            None,
            "no rate in force yet: nothing billed"
        );
        assert_eq!(
            daily_fee_total(
                day(12, 2),
                FeeItem::ReturnOperation,
                RedemptionMode::RedeemAfterUse,
                &per_unit,
                &[]
            ),
            None
        );
    }

    #[test]
    fn a_remittance_account_is_a_bank_code_and_an_account_number() {
        let account =
            RemittanceAccount::parse(" 812 ", "台新銀行", "9988776655443322", "Tessera 平台")
                .unwrap();
        assert_eq!(account.bank_code, "812");
        let refused = RemittanceAccount::parse("81", "", "12-34", "").unwrap_err();
        let fields: Vec<_> = refused
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(
            fields,
            ["bank_code", "bank_name", "account_no", "account_name"]
        );
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
        let bill = close_month(day(10, 1), RedemptionMode::RedeemAfterUse, &totals, &unpaid);
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
            close_month(day(10, 1), RedemptionMode::RedeemAfterUse, &[], &[]).amount_due,
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
