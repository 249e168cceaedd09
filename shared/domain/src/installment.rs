//! Installment redemption mode (分期核銷, §10, manual §八): an order's amount split into
//! periods, each a serial with a face value and an expected redemption date, redeemed by
//! the system on schedule; the order returned whole (its unused serials) with the return
//! handling fee apportioned across them; a return cancelled on its day; the bank cut-offs
//! and the refund that completes a return. The order with its serials is one aggregate:
//! every change decides over all of it and is written together.
//!
//! The stated rules (docs/decisions/0017-installment-orders.md):
//! - **Split**: whole NT$; every period gets the amount divided by the periods, rounded
//!   down, and the remainder goes one NT$ each to the earliest periods.
//! - **Schedule**: monthly from the first date, on the same day of the month, or the
//!   month's last day when it is shorter (1/31, 2/28, 3/31, …).
//! - **Fee apportionment**: as even as possible over the unused periods, never more than a
//!   period's face value, the remainder one NT$ each to the earliest periods still below
//!   their face value.

use crate::calendar;
use crate::circulation::{Place, TicketFacts};
use crate::error::{Error, ErrorCode, Violation};
use crate::lifecycle::{bank_cutoff_time, next_bank_cutoff, return_bank_update_at};
use crate::orders::TradeNo;
use crate::products::ProductId;
use crate::values::AccountName;
use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many periods in one order (five years of monthly periods).
pub const MAX_PERIODS: u32 = 60;
/// The first redemption date may be at most this many days after issuance.
pub const MAX_FIRST_DELAY_DAYS: i64 = 366;
/// An order's amount, at most (whole NT$).
pub const MAX_AMOUNT: i64 = 10_000_000;
/// A return or cancel reason, at most.
pub const REASON_MAX: usize = 100;

/// A serial's status (§八 8-3 C 注意事項); an order's status is derived from its serials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialStatus {
    /// Not yet redeemed: can be returned.
    Unused,
    /// In the system's redemption, with the bank.
    Redeeming,
    /// Redeemed; paid out to the merchant on its terms.
    Redeemed,
    /// Returned by the merchant; can still be cancelled on the return day.
    PendingReturn,
    /// With the bank for the refund: no change any more.
    Returning,
    /// Refunded to the cardholder.
    Returned,
}

impl SerialStatus {
    pub const ALL: [SerialStatus; 6] = [
        SerialStatus::Unused,
        SerialStatus::Redeeming,
        SerialStatus::Redeemed,
        SerialStatus::PendingReturn,
        SerialStatus::Returning,
        SerialStatus::Returned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SerialStatus::Unused => "unused",
            SerialStatus::Redeeming => "redeeming",
            SerialStatus::Redeemed => "redeemed",
            SerialStatus::PendingReturn => "pending_return",
            SerialStatus::Returning => "returning",
            SerialStatus::Returned => "returned",
        }
    }

    pub fn name_zh_tw(self) -> &'static str {
        match self {
            SerialStatus::Unused => "未使用",
            SerialStatus::Redeeming => "核銷中",
            SerialStatus::Redeemed => "已核銷",
            SerialStatus::PendingReturn => "待退貨",
            SerialStatus::Returning => "退貨中",
            SerialStatus::Returned => "已退貨",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<SerialStatus, Error> {
        SerialStatus::ALL
            .into_iter()
            .find(|status| status.name() == value)
            .ok_or_else(|| {
                Error::invalid_field(
                    field,
                    "one of unused, redeeming, redeemed, pending_return, returning, returned",
                )
            })
    }

    /// The status group of the report filters (未使用 / 核銷 / 退貨).
    pub fn is_redemption(self) -> bool {
        matches!(self, SerialStatus::Redeeming | SerialStatus::Redeemed)
    }

    pub fn is_return(self) -> bool {
        matches!(
            self,
            SerialStatus::PendingReturn | SerialStatus::Returning | SerialStatus::Returned
        )
    }
}

/// How an order is split: the number of periods and the first expected redemption date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub periods: u32,
    pub first_redemption_on: NaiveDate,
}

impl Plan {
    /// Checks a plan for an order of `amount` issued on Taipei day `today`.
    pub fn validate(&self, amount: Decimal, today: NaiveDate) -> Result<(), Error> {
        let mut violations = Vec::new();
        if !(1..=MAX_PERIODS).contains(&self.periods) {
            violations.push(Violation::field(
                "periods",
                format!("1 to {MAX_PERIODS} periods"),
            ));
        } else if Decimal::from(self.periods) > amount {
            violations.push(Violation::field(
                "periods",
                format!("at most one period per NT$ of the order's amount (NT${amount})"),
            ));
        }
        let latest = today + chrono::Duration::days(MAX_FIRST_DELAY_DAYS);
        if self.first_redemption_on < today || self.first_redemption_on > latest {
            violations.push(Violation::field(
                "first_redemption_on",
                format!("from today ({today}) to {latest}"),
            ));
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::invalid(violations))
        }
    }
}

/// Whole NT$ as an integer; amounts here are validated whole and bounded.
fn dollars(amount: Decimal) -> i64 {
    amount.trunc().to_i64().unwrap_or(0)
}

/// The split rule: `amount` over `periods`, the remainder one NT$ each to the earliest
/// periods. Empty for zero periods.
pub fn split_amount(amount: Decimal, periods: u32) -> Vec<Decimal> {
    if periods == 0 {
        return Vec::new();
    }
    let total = dollars(amount);
    let count = i64::from(periods);
    let (base, remainder) = (total / count, total % count);
    (0..count)
        .map(|index| Decimal::from(base + i64::from(index < remainder)))
        .collect()
}

/// The schedule rule: `periods` monthly dates from `first`, on its day of the month or the
/// month's last day when the month is shorter.
pub fn schedule(first: NaiveDate, periods: u32) -> Vec<NaiveDate> {
    (0..periods)
        .map(|index| {
            // checked_add_months clamps to the month's last day; out of range never happens
            // for the bounded dates here, but a date is never invented.
            first
                .checked_add_months(Months::new(index))
                .unwrap_or(NaiveDate::MAX)
        })
        .collect()
}

/// The apportionment rule: `fee` over periods of these face values, as even as possible,
/// never above a face value, the remainder to the earliest periods with room. Refused when
/// the fee is above the faces' total (§八 8-3 A 注意事項 3).
pub fn apportion_fee(fee: Decimal, faces: &[Decimal]) -> Result<Vec<Decimal>, Error> {
    let total: Decimal = faces.iter().copied().sum();
    if fee < Decimal::ZERO || !fee.fract().is_zero() {
        return Err(Error::invalid_field(
            "fee",
            "a whole NT$ amount, not negative",
        ));
    }
    if fee > total {
        return Err(Error::new(ErrorCode::ReturnFeeTooHigh)
            .with_detail(format!("the unused periods' face value is NT${total}")));
    }
    let faces: Vec<i64> = faces.iter().map(|face| dollars(*face)).collect();
    let mut parts = vec![0i64; faces.len()];
    let mut remaining = dollars(fee);
    while remaining > 0 {
        let open: Vec<usize> = (0..faces.len()).filter(|i| parts[*i] < faces[*i]).collect();
        if open.is_empty() {
            break; // unreachable: the fee is at most the faces' total
        }
        let share = remaining / open.len() as i64;
        if share == 0 {
            for index in open.into_iter().take(remaining as usize) {
                parts[index] += 1;
            }
            remaining = 0;
        } else {
            for index in open {
                let add = share.min(faces[index] - parts[index]);
                parts[index] += add;
                remaining -= add;
            }
        }
    }
    Ok(parts.into_iter().map(Decimal::from).collect())
}

/// One period of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serial {
    /// 1-based.
    pub period: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    pub expected_on: NaiveDate,
    pub status: SerialStatus,
    /// When it took its status.
    pub status_at: DateTime<Utc>,
    /// Its part of the standing return's handling fee (zero when not returned).
    #[serde(with = "rust_decimal::serde::str")]
    pub return_fee: Decimal,
    /// When the system redeemed it (went to `redeeming`): its redemption's day in the
    /// circulation counters, unchanged by the settlement.
    #[serde(default)]
    pub redeemed_at: Option<DateTime<Utc>>,
}

impl Serial {
    /// A serial's number: the order's trade number and the two-digit period.
    pub fn number(trade_no: &TradeNo, period: u32) -> String {
        format!("{}-{period:02}", trade_no.as_str())
    }
}

/// One order return (退貨): its fee and the fee's parts, until cancelled or refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderReturn {
    /// 1-based among the order's returns.
    pub number: u32,
    pub returned_at: DateTime<Utc>,
    pub by_account: AccountName,
    pub reason: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee: Decimal,
    /// The returned periods with their part of the fee, in period order.
    pub parts: Vec<FeePart>,
    /// The face value returned.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// When the bank hears of it (01:00 the next day; issue day + 2 for a same-day return).
    pub bank_update_at: DateTime<Utc>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// When its last serial was refunded: the refund result is then published.
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeePart {
    pub period: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee: Decimal,
}

impl OrderReturn {
    /// Refunded: the amount less the fee goes back to the cardholder.
    pub fn refund_amount(&self) -> Decimal {
        self.amount - self.fee
    }

    pub fn is_standing(&self) -> bool {
        self.cancelled_at.is_none()
    }
}

/// An issued installment order, with its serials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallmentOrder {
    pub trade_no: TradeNo,
    pub product_id: ProductId,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub issued_at: DateTime<Utc>,
    /// The refund notify URL in force when it was issued (changes are not retroactive).
    #[serde(default)]
    pub notify_url: Option<String>,
    pub serials: Vec<Serial>,
    #[serde(default)]
    pub returns: Vec<OrderReturn>,
}

/// What a system step did to one serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialStep {
    pub period: u32,
    pub before: SerialStatus,
    pub after: SerialStatus,
}

/// What the due steps did to an order: the serials that moved, and the returns whose
/// refund completed with them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepsTaken {
    pub steps: Vec<SerialStep>,
    pub refunds_completed: Vec<u32>,
}

/// An order's figures (金額／期數): amounts and periods by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFigures {
    pub periods: u32,
    pub unused_periods: u32,
    pub redeemed_periods: u32,
    pub returned_periods: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub unused_amount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub redeemed_amount: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub returned_amount: Decimal,
    /// Every period redeemed (核銷完成).
    pub fully_redeemed: bool,
}

impl InstallmentOrder {
    /// Issues an order: its serials by the split and schedule rules, all unused.
    pub fn issue(
        trade_no: TradeNo,
        product_id: ProductId,
        amount: Decimal,
        plan: &Plan,
        issued_at: DateTime<Utc>,
        notify_url: Option<String>,
    ) -> Result<InstallmentOrder, Error> {
        if amount <= Decimal::ZERO || !amount.fract().is_zero() || dollars(amount) > MAX_AMOUNT {
            return Err(Error::invalid_field(
                "amount",
                format!("a whole NT$ amount from 1 to {MAX_AMOUNT}"),
            ));
        }
        plan.validate(amount, calendar::taipei_date(issued_at))?;
        let serials = split_amount(amount, plan.periods)
            .into_iter()
            .zip(schedule(plan.first_redemption_on, plan.periods))
            .enumerate()
            .map(|(index, (face_value, expected_on))| Serial {
                period: index as u32 + 1,
                face_value,
                expected_on,
                status: SerialStatus::Unused,
                status_at: issued_at,
                return_fee: Decimal::ZERO,
                redeemed_at: None,
            })
            .collect();
        Ok(InstallmentOrder {
            trade_no,
            product_id,
            amount,
            issued_at,
            notify_url,
            serials,
            returns: Vec::new(),
        })
    }

    /// The order's status, from its serials: the first of pending return, returning, unused
    /// and redeeming that any serial has; otherwise returned if any was, else redeemed.
    pub fn status(&self) -> SerialStatus {
        let has = |status| self.serials.iter().any(|s| s.status == status);
        [
            SerialStatus::PendingReturn,
            SerialStatus::Returning,
            SerialStatus::Unused,
            SerialStatus::Redeeming,
            SerialStatus::Returned,
        ]
        .into_iter()
        .find(|status| has(*status))
        .unwrap_or(SerialStatus::Redeemed)
    }

    pub fn figures(&self) -> OrderFigures {
        let mut figures = OrderFigures {
            periods: self.serials.len() as u32,
            ..OrderFigures::default()
        };
        for serial in &self.serials {
            let (periods, amount) = match serial.status {
                SerialStatus::Unused => (&mut figures.unused_periods, &mut figures.unused_amount),
                SerialStatus::Redeeming | SerialStatus::Redeemed => {
                    (&mut figures.redeemed_periods, &mut figures.redeemed_amount)
                }
                _ => (&mut figures.returned_periods, &mut figures.returned_amount),
            };
            *periods += 1;
            *amount += serial.face_value;
        }
        figures.fully_redeemed = !self.serials.is_empty()
            && self
                .serials
                .iter()
                .all(|s| s.status == SerialStatus::Redeemed);
        figures
    }

    /// A serial as the circulation counters see it (§8): issued with the order, redeemed
    /// when the system took it, returned with the standing return that took it; all at
    /// head office (an installment merchant has no till).
    pub fn serial_facts(&self, serial: &Serial) -> TicketFacts {
        let returned = if serial.status.is_return() {
            self.returns
                .iter()
                .rev()
                .find(|r| r.is_standing() && r.parts.iter().any(|p| p.period == serial.period))
                .map(|r| (r.returned_at, Place::HeadOffice))
        } else {
            None
        };
        TicketFacts {
            issued_at: self.issued_at,
            face_value: serial.face_value,
            redeemed: serial
                .redeemed_at
                .filter(|_| serial.status.is_redemption())
                .map(|at| (at, Place::HeadOffice)),
            returned,
        }
    }

    /// The facts before and after of every serial whose facts differ from `before`'s: what
    /// a change adds to the circulation counters (`circulation::change` of each pair).
    pub fn changed_facts(&self, before: &InstallmentOrder) -> Vec<(TicketFacts, TicketFacts)> {
        self.serials
            .iter()
            .filter_map(|serial| {
                let was = before.serial(serial.period)?;
                let pair = (before.serial_facts(was), self.serial_facts(serial));
                (pair.0 != pair.1).then_some(pair)
            })
            .collect()
    }

    /// The standing return whose serials are still pending, if any.
    pub fn pending_return(&self) -> Option<&OrderReturn> {
        self.returns.iter().rev().find(|r| {
            r.is_standing()
                && r.parts.iter().any(|part| {
                    self.serial(part.period)
                        .is_some_and(|s| s.status == SerialStatus::PendingReturn)
                })
        })
    }

    pub fn serial(&self, period: u32) -> Option<&Serial> {
        self.serials.iter().find(|s| s.period == period)
    }

    /// 訂單退貨: every unused serial at once to `pending_return`, the handling fee
    /// apportioned over them. Returns the new return's number.
    pub fn return_order(
        &mut self,
        fee: Decimal,
        reason: &str,
        by: &AccountName,
        at: DateTime<Utc>,
    ) -> Result<u32, Error> {
        let reason = check_reason("reason", reason)?;
        let unused: Vec<usize> = (0..self.serials.len())
            .filter(|i| self.serials[*i].status == SerialStatus::Unused)
            .collect();
        if unused.is_empty() {
            return Err(Error::new(ErrorCode::OrderNothingToReturn)
                .with_detail(format!("the order is {}", self.status().name())));
        }
        let faces: Vec<Decimal> = unused.iter().map(|i| self.serials[*i].face_value).collect();
        let fees = apportion_fee(fee, &faces)?;
        let mut parts = Vec::with_capacity(unused.len());
        for (index, part) in unused.iter().zip(fees) {
            let serial = &mut self.serials[*index];
            serial.status = SerialStatus::PendingReturn;
            serial.status_at = at;
            serial.return_fee = part;
            parts.push(FeePart {
                period: serial.period,
                fee: part,
            });
        }
        let number = self.returns.len() as u32 + 1;
        self.returns.push(OrderReturn {
            number,
            returned_at: at,
            by_account: by.clone(),
            reason,
            fee,
            amount: faces.iter().copied().sum(),
            parts,
            bank_update_at: return_bank_update_at(self.issued_at, at),
            cancelled_at: None,
            cancel_reason: None,
            refunded_at: None,
        });
        Ok(number)
    }

    /// 訂單取消退貨: every pending-return serial back to unused, until 23:59 Taipei of the
    /// return day. Returns the cancelled return's number.
    pub fn cancel_return(&mut self, reason: &str, at: DateTime<Utc>) -> Result<u32, Error> {
        let reason = check_reason("reason", reason)?;
        let Some(pending) = self.pending_return() else {
            return Err(Error::new(ErrorCode::OrderReturnNotPending)
                .with_detail(format!("the order is {}", self.status().name())));
        };
        let (number, returned_at) = (pending.number, pending.returned_at);
        if !calendar::within_same_day_window(returned_at, at) {
            return Err(
                Error::new(ErrorCode::CancelWindowClosed).with_detail(format!(
                    "possible until 23:59 (Taipei) on {}",
                    calendar::taipei_date(returned_at)
                )),
            );
        }
        for serial in &mut self.serials {
            if serial.status == SerialStatus::PendingReturn {
                serial.status = SerialStatus::Unused;
                serial.status_at = at;
                serial.return_fee = Decimal::ZERO;
            }
        }
        if let Some(record) = self.returns.iter_mut().find(|r| r.number == number) {
            record.cancelled_at = Some(at);
            record.cancel_reason = Some(reason);
        }
        Ok(number)
    }

    /// When the serial's next system step is due, if it has one: an unused serial is
    /// redeemed at 01:00 Taipei of its expected date; a pending return goes to the bank at
    /// its return's bank update; what went to the bank is settled at the next cut-off.
    pub fn serial_due_at(&self, serial: &Serial) -> Option<DateTime<Utc>> {
        match serial.status {
            SerialStatus::Unused => Some(calendar::taipei_instant(
                serial.expected_on,
                bank_cutoff_time(),
            )),
            SerialStatus::PendingReturn => self
                .pending_return()
                .map(|r| r.bank_update_at)
                .or_else(|| Some(next_bank_cutoff(serial.status_at))),
            SerialStatus::Redeeming | SerialStatus::Returning => {
                Some(next_bank_cutoff(serial.status_at))
            }
            SerialStatus::Redeemed | SerialStatus::Returned => None,
        }
    }

    /// The earliest step due on any serial: where the order sits on the jobs' worklist.
    pub fn next_step_at(&self) -> Option<DateTime<Utc>> {
        self.serials
            .iter()
            .filter_map(|serial| self.serial_due_at(serial))
            .min()
    }

    /// Takes every step due by `now` (each serial at most one), and completes the refunds
    /// whose serials are all returned.
    pub fn take_due_steps(&mut self, now: DateTime<Utc>) -> StepsTaken {
        let mut taken = StepsTaken::default();
        let due: Vec<(usize, SerialStatus)> = self
            .serials
            .iter()
            .enumerate()
            .filter(|(_, serial)| self.serial_due_at(serial).is_some_and(|due| due <= now))
            .filter_map(|(index, serial)| {
                let after = match serial.status {
                    SerialStatus::Unused => SerialStatus::Redeeming,
                    SerialStatus::Redeeming => SerialStatus::Redeemed,
                    SerialStatus::PendingReturn => SerialStatus::Returning,
                    SerialStatus::Returning => SerialStatus::Returned,
                    SerialStatus::Redeemed | SerialStatus::Returned => return None,
                };
                Some((index, after))
            })
            .collect();
        for (index, after) in due {
            let serial = &mut self.serials[index];
            taken.steps.push(SerialStep {
                period: serial.period,
                before: serial.status,
                after,
            });
            if after == SerialStatus::Redeeming {
                serial.redeemed_at = Some(now);
            }
            serial.status = after;
            serial.status_at = now;
        }
        let serials = &self.serials;
        for record in &mut self.returns {
            let all_returned = record.parts.iter().all(|part| {
                serials
                    .iter()
                    .any(|s| s.period == part.period && s.status == SerialStatus::Returned)
            });
            if record.is_standing() && record.refunded_at.is_none() && all_returned {
                record.refunded_at = Some(now);
                taken.refunds_completed.push(record.number);
            }
        }
        taken
    }
}

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOperation {
    Issued,
    Returned,
    ReturnCancelled,
}

/// One line of a merchant's installment ledger: a change the fee totals and the return-fee
/// report count, written with the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub at: DateTime<Utc>,
    pub trade_no: TradeNo,
    /// The order version the change produced (unique per order).
    pub version: u64,
    pub operation: LedgerOperation,
    pub product_id: ProductId,
    /// Serials concerned (issued, or returned).
    pub periods: u32,
    /// Face value concerned.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// The return's handling fee (returns and their cancels).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub fee: Option<Decimal>,
    #[serde(default)]
    pub return_number: Option<u32>,
}

/// The order returns of a day that bear the return-operation fee (§六 6-3, installment: per
/// returned order, or a rate on the returned amount), from that day's ledger in time order:
/// a return cancelled the same day drops out (a pending return can be cancelled only on its
/// day). Each is the return's ledger entry.
pub fn fee_bearing_returns(entries: &[LedgerEntry]) -> Vec<&LedgerEntry> {
    let cancelled: Vec<(&TradeNo, Option<u32>)> = entries
        .iter()
        .filter(|e| e.operation == LedgerOperation::ReturnCancelled)
        .map(|e| (&e.trade_no, e.return_number))
        .collect();
    entries
        .iter()
        .filter(|e| {
            e.operation == LedgerOperation::Returned
                && !cancelled.contains(&(&e.trade_no, e.return_number))
        })
        .collect()
}

/// The serials a day issued, with their total face value (the serial processing fee).
pub fn serials_issued(entries: &[LedgerEntry]) -> (usize, Decimal) {
    entries
        .iter()
        .filter(|e| e.operation == LedgerOperation::Issued)
        .fold((0, Decimal::ZERO), |(count, amount), e| {
            (count + e.periods as usize, amount + e.amount)
        })
}

fn check_reason(field: &str, reason: &str) -> Result<String, Error> {
    let reason = reason.trim();
    if reason.is_empty()
        || reason.chars().count() > REASON_MAX
        || reason.chars().any(char::is_control)
    {
        return Err(Error::invalid_field(
            field,
            format!("1 to {REASON_MAX} characters, no control characters"),
        ));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn taipei(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap() + chrono::Duration::hours(i64::from(h) - 8)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn order(
        amount: i64,
        periods: u32,
        first: NaiveDate,
        issued_at: DateTime<Utc>,
    ) -> InstallmentOrder {
        InstallmentOrder::issue(
            TradeNo::parse("t", "INST1").unwrap(),
            ProductId::generate([0; crate::products::PRODUCT_ID_RANDOM_LEN]),
            Decimal::from(amount),
            &Plan {
                periods,
                first_redemption_on: first,
            },
            issued_at,
            Some("https://example.com/refunds".to_owned()),
        )
        .unwrap()
    }

    fn admin() -> AccountName {
        AccountName::system()
    }

    #[test]
    fn the_remainder_goes_to_the_earliest_periods() {
        let parts = split_amount(Decimal::from(1000), 12);
        assert_eq!(parts[..4], [Decimal::from(84); 4]);
        assert_eq!(parts[4..], [Decimal::from(83); 8]);
        assert_eq!(parts.iter().copied().sum::<Decimal>(), Decimal::from(1000));
    }

    #[test]
    fn months_shorter_than_the_first_day_use_their_last_day() {
        assert_eq!(
            schedule(date(2027, 1, 31), 4),
            [
                date(2027, 1, 31),
                date(2027, 2, 28),
                date(2027, 3, 31),
                date(2027, 4, 30)
            ]
        );
    }

    #[test]
    fn a_fee_above_the_unused_face_value_is_refused() {
        let faces = [Decimal::from(5), Decimal::from(5)];
        assert_eq!(
            apportion_fee(Decimal::from(11), &faces).unwrap_err().code,
            ErrorCode::ReturnFeeTooHigh
        );
        assert_eq!(
            apportion_fee(Decimal::from(10), &faces).unwrap(),
            faces.to_vec()
        );
        assert!(apportion_fee(Decimal::new(15, 1), &faces).is_err());
    }

    #[test]
    fn a_small_face_caps_its_part_and_the_rest_spreads() {
        let faces = [Decimal::from(1), Decimal::from(100), Decimal::from(100)];
        assert_eq!(
            apportion_fee(Decimal::from(30), &faces).unwrap(),
            [Decimal::from(1), Decimal::from(15), Decimal::from(14)]
        );
    }

    #[test]
    fn a_twelve_period_order_redeems_returns_cancels_and_refunds() {
        let issued = taipei(2027, 1, 10, 10);
        let mut order = order(1200, 12, date(2027, 1, 15), issued);
        assert_eq!(order.status(), SerialStatus::Unused);
        assert_eq!(order.next_step_at(), Some(taipei(2027, 1, 15, 1)));
        // Periods 1–4 are redeemed on their dates and settled at the next cut-off.
        for month in 1..=4 {
            let redeem_at = taipei(2027, month, 15, 1);
            let taken = order.take_due_steps(redeem_at);
            assert!(taken
                .steps
                .iter()
                .any(|s| s.period == month && s.after == SerialStatus::Redeeming));
            order.take_due_steps(taipei(2027, month, 16, 1));
            assert_eq!(order.serial(month).unwrap().status, SerialStatus::Redeemed);
        }
        // A return in period 5: the fee over periods 5–12 (8 × 100), 20 → 3,3,3,3,2,2,2,2.
        let returned_at = taipei(2027, 5, 10, 14);
        let number = order
            .return_order(Decimal::from(20), "moved away", &admin(), returned_at)
            .unwrap();
        assert_eq!(number, 1);
        let parts: Vec<Decimal> = order.returns[0].parts.iter().map(|p| p.fee).collect();
        assert_eq!(parts, [3, 3, 3, 3, 2, 2, 2, 2].map(Decimal::from).to_vec());
        assert_eq!(order.status(), SerialStatus::PendingReturn);
        // Cancelled the same day; a day later it could not be.
        let mut too_late = order.clone();
        assert_eq!(
            too_late
                .cancel_return("oops", taipei(2027, 5, 11, 0))
                .unwrap_err()
                .code,
            ErrorCode::CancelWindowClosed
        );
        order
            .cancel_return("wrong order", taipei(2027, 5, 10, 23))
            .unwrap();
        assert_eq!(order.figures().unused_periods, 8);
        assert!(order.serials.iter().all(|s| s.return_fee.is_zero()));
        // Returned again; the bank hears at 01:00 the next day, refunds at the one after.
        order
            .return_order(
                Decimal::from(8),
                "for good",
                &admin(),
                taipei(2027, 5, 12, 9),
            )
            .unwrap();
        assert_eq!(order.returns[1].bank_update_at, taipei(2027, 5, 13, 1));
        assert!(order
            .take_due_steps(taipei(2027, 5, 12, 23))
            .steps
            .is_empty());
        let sent = order.take_due_steps(taipei(2027, 5, 13, 1));
        assert_eq!(sent.steps.len(), 8);
        assert!(sent.refunds_completed.is_empty());
        let settled = order.take_due_steps(taipei(2027, 5, 14, 1));
        assert_eq!(settled.refunds_completed, [2]);
        assert_eq!(order.status(), SerialStatus::Returned);
        let figures = order.figures();
        assert_eq!(
            (
                figures.redeemed_periods,
                figures.returned_periods,
                figures.unused_periods
            ),
            (4, 8, 0)
        );
        assert_eq!(figures.returned_amount, Decimal::from(800));
        assert_eq!(order.returns[1].refund_amount(), Decimal::from(792));
        assert_eq!(order.next_step_at(), None);
        // Nothing left to return or cancel.
        assert_eq!(
            order
                .return_order(Decimal::ZERO, "again", &admin(), taipei(2027, 5, 20, 9))
                .unwrap_err()
                .code,
            ErrorCode::OrderNothingToReturn
        );
        assert_eq!(
            order
                .cancel_return("x", taipei(2027, 5, 20, 9))
                .unwrap_err()
                .code,
            ErrorCode::OrderReturnNotPending
        );
    }

    #[test]
    fn a_cancelled_return_takes_back_what_its_return_counted_and_settling_counts_nothing() {
        use crate::circulation::{change, Measure};
        let mut order = order(300, 3, date(2027, 1, 5), taipei(2027, 1, 1, 9));
        let issued = order.clone();
        order.take_due_steps(taipei(2027, 1, 5, 1));
        let redeemed = order.clone();
        let deltas: Vec<_> = order
            .changed_facts(&issued)
            .iter()
            .flat_map(|(a, b)| change(a, b))
            .collect();
        assert!(deltas
            .iter()
            .all(|d| d.measure == Measure::Redeemed && d.count == 1));
        order.take_due_steps(taipei(2027, 1, 6, 1));
        assert!(
            order.changed_facts(&redeemed).is_empty(),
            "settling moves no counter"
        );
        let settled = order.clone();
        order
            .return_order(Decimal::ZERO, "x", &admin(), taipei(2027, 1, 7, 9))
            .unwrap();
        let returned = order.clone();
        order.cancel_return("y", taipei(2027, 1, 7, 10)).unwrap();
        let sum = |pairs: Vec<(TicketFacts, TicketFacts)>| -> i64 {
            pairs
                .iter()
                .flat_map(|(a, b)| change(a, b))
                .map(|d| d.count)
                .sum()
        };
        assert_eq!(
            sum(returned.changed_facts(&settled)),
            4,
            "two serials, day and cohort"
        );
        assert_eq!(sum(order.changed_facts(&returned)), -4);
    }

    #[test]
    fn a_same_day_return_reaches_the_bank_on_issue_day_plus_two() {
        let issued = taipei(2027, 7, 1, 9);
        let mut order = order(300, 3, date(2027, 8, 1), issued);
        order
            .return_order(
                Decimal::ZERO,
                "changed mind",
                &admin(),
                taipei(2027, 7, 1, 20),
            )
            .unwrap();
        assert_eq!(order.next_step_at(), Some(taipei(2027, 7, 3, 1)));
    }

    #[test]
    fn fully_redeemed_when_every_period_is() {
        let mut order = order(100, 2, date(2027, 1, 1), taipei(2027, 1, 1, 0));
        for day in [(1, 1), (1, 2), (2, 1), (2, 2)] {
            order.take_due_steps(taipei(2027, day.0, day.1, 1));
        }
        assert!(order.figures().fully_redeemed);
        assert_eq!(order.status(), SerialStatus::Redeemed);
    }

    #[test]
    fn plans_out_of_bounds_are_refused_with_their_limits() {
        let today = date(2027, 1, 10);
        let plan = |periods, first| Plan {
            periods,
            first_redemption_on: first,
        };
        let fields = |error: Error| -> Vec<String> {
            error
                .violations
                .into_iter()
                .map(|v| v.field.unwrap_or_default())
                .collect()
        };
        assert_eq!(
            fields(
                plan(0, today)
                    .validate(Decimal::from(100), today)
                    .unwrap_err()
            ),
            ["periods"]
        );
        assert_eq!(
            fields(
                plan(61, today)
                    .validate(Decimal::from(100), today)
                    .unwrap_err()
            ),
            ["periods"]
        );
        assert_eq!(
            fields(
                plan(5, today)
                    .validate(Decimal::from(4), today)
                    .unwrap_err()
            ),
            ["periods"]
        );
        assert_eq!(
            fields(
                plan(5, date(2027, 1, 9))
                    .validate(Decimal::from(100), today)
                    .unwrap_err()
            ),
            ["first_redemption_on"]
        );
        assert!(plan(60, date(2028, 1, 10))
            .validate(Decimal::from(60), today)
            .is_ok());
    }

    proptest! {
        #[test]
        fn serials_always_sum_to_the_amount(amount in 1i64..=MAX_AMOUNT, periods in 1u32..=MAX_PERIODS) {
            prop_assume!(i64::from(periods) <= amount);
            let parts = split_amount(Decimal::from(amount), periods);
            prop_assert_eq!(parts.len(), periods as usize);
            prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), Decimal::from(amount));
            prop_assert!(parts.iter().all(|p| *p >= Decimal::ONE));
            prop_assert!(parts.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= Decimal::ONE));
        }

        #[test]
        fn dates_follow_the_plan(year in 2026i32..2040, month in 1u32..=12, day in 1u32..=31, periods in 1u32..=MAX_PERIODS) {
            let Some(first) = NaiveDate::from_ymd_opt(year, month, day) else { return Ok(()) };
            let dates = schedule(first, periods);
            prop_assert_eq!(dates[0], first);
            for (index, pair) in dates.windows(2).enumerate() {
                let months = (pair[1].year() - pair[0].year()) * 12 + pair[1].month() as i32 - pair[0].month() as i32;
                prop_assert_eq!(months, 1, "period {}", index + 2);
                prop_assert!(pair[1].day() == first.day() || pair[1].day() < first.day());
            }
        }

        #[test]
        fn fee_parts_sum_to_the_fee_and_stay_within_each_face(
            faces in proptest::collection::vec(1i64..5000, 1..60),
            share in 0u32..=100,
        ) {
            let faces: Vec<Decimal> = faces.into_iter().map(Decimal::from).collect();
            let total: Decimal = faces.iter().copied().sum();
            let fee = (total * Decimal::from(share) / Decimal::ONE_HUNDRED).trunc();
            let parts = apportion_fee(fee, &faces).unwrap();
            prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), fee);
            for (part, face) in parts.iter().zip(&faces) {
                prop_assert!(*part >= Decimal::ZERO && part <= face);
            }
            // As even as possible: a part below another by more than one NT$ is capped.
            for (i, a) in parts.iter().enumerate() {
                for b in &parts {
                    prop_assert!(*b - *a <= Decimal::ONE || *a == faces[i]);
                }
            }
        }
    }
}
