//! The ticket aggregate: a ticket's state, and what each operation does to it. Pure: the
//! caller reads the ticket and what decides who may act (the [`Decider`]), asks
//! [`Ticket::apply`], and commits the [`TicketChange`] it gets (the change engine does, with
//! the version condition, the history entries, the report event and the outbox events).
//! Versions are not the aggregate's business: the store advances the stored version by one
//! per history entry.

use crate::access::Actor;
use crate::calendar;
use crate::error::{Error, ErrorCode};
use crate::events::EventType;
use crate::lifecycle::{
    check_return_fee, check_window, lapse, may_act, next_bank_cutoff, return_bank_update_at,
    transition, Operation, Standing, TicketParties,
};
use crate::merchant::DeliveryMethod;
use crate::products::{ProductLists, TicketKind};
use crate::tickets::{term_name, TicketStatus};
use crate::values::{
    AccountName, BranchCode, MerchantId, ProductId, RedemptionCode, TicketNumber, TradeNo,
};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Reasons and remarks: what the manual's screens allow.
pub const REASON_MAX: usize = 100;

/// A person a ticket belongs to (the buyer, or later the holder after a transfer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub mobile: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintStatus {
    /// Waiting for the merchant to print it (paper printed by the merchant).
    AwaitingMerchantPrint,
    /// Queued for the platform's print run (paper printed by the platform).
    AwaitingPlatformPrint,
    /// Printed in the platform's run, waiting to be shipped to the merchant.
    PlatformPrinted,
    /// Shipped to the merchant by the platform.
    Shipped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_no: TicketNumber,
    pub merchant_id: MerchantId,
    pub product_id: ProductId,
    pub product_name: String,
    pub kind: TicketKind,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    /// Last day of escrow (goods) or of validity (gift), Taipei.
    pub term_ends_on: NaiveDate,
    /// A non-immediate (非即期) ticket's first valid day, Taipei: not redeemable before it.
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// The refund notify URL in force when it was issued: where its refund result goes.
    #[serde(default)]
    pub notify_url: Option<String>,
    pub status: TicketStatus,
    pub redemption_code: RedemptionCode,
    /// The transfer it is gifted under (its holder is the recipient); `None` while it is
    /// with its buyer. Its page is the transfer's link then, the issued order's otherwise.
    #[serde(default)]
    pub transfer_id: Option<String>,
    #[serde(default)]
    pub pickup_code: Option<String>,
    pub delivery_method: DeliveryMethod,
    #[serde(default)]
    pub print_status: Option<PrintStatus>,
    /// How many times it was printed on paper (paper printing; the first print is not a
    /// reprint).
    #[serde(default)]
    pub print_count: u32,
    pub batch_id: String,
    pub import_no: String,
    #[serde(default)]
    pub trade_no: Option<TradeNo>,
    pub buyer: Person,
    pub holder: Person,
    pub issued_by: AccountName,
    #[serde(default)]
    pub issued_branch: Option<BranchCode>,
    pub issued_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The redemption in force: when, by which merchant (issuer or store) and branch.
    #[serde(default)]
    pub redeemed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub redeemed_by: Option<MerchantId>,
    #[serde(default)]
    pub redeemed_branch: Option<BranchCode>,
    /// The return in force: when, by which branch (None: head office), the fee kept.
    #[serde(default)]
    pub returned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub returned_branch: Option<BranchCode>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub return_fee: Option<Decimal>,
    /// The holder's return request from the e-ticket page (§3-3), if any: when and why.
    #[serde(default)]
    pub return_requested_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub return_request_reason: Option<String>,
    /// When the bank is told of the pending return (issue day + 2, 01:00 for a ticket
    /// issued and returned the same day; otherwise the next day, 01:00).
    #[serde(default)]
    pub bank_update_at: Option<DateTime<Utc>>,
    /// The stored version (the store's optimistic-concurrency counter).
    pub version: u64,
}

/// One entry of a ticket's history (issuance, every status change, remarks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketHistoryEntry {
    pub ticket_no: TicketNumber,
    pub at: DateTime<Utc>,
    pub action: String,
    pub by_merchant: MerchantId,
    pub by_account: AccountName,
    #[serde(default)]
    pub branch: Option<BranchCode>,
    #[serde(default)]
    pub before: Option<TicketStatus>,
    #[serde(default)]
    pub after: Option<TicketStatus>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub changes: serde_json::Value,
}

/// A ticket event for the reports (circulation, branch, cross-store): one per change, under
/// the issuer and, when a store acted, under the store too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: DateTime<Utc>,
    pub ticket_no: TicketNumber,
    /// The ticket version the change produced (set by the store when it commits).
    pub version: u64,
    pub operation: String,
    pub issuer: MerchantId,
    pub product_id: ProductId,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    pub by_merchant: MerchantId,
    #[serde(default)]
    pub branch: Option<BranchCode>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub fee: Option<Decimal>,
    /// The ticket's kind and the status the change left it in: the return-operation fee
    /// is due only on goods vouchers returned within escrow (to `pending_return`).
    #[serde(default)]
    pub kind: Option<TicketKind>,
    #[serde(default)]
    pub after: Option<TicketStatus>,
}

/// A merchant's request on a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRequest {
    pub operation: Operation,
    pub reason: Option<String>,
    pub fee: Option<Decimal>,
}

/// Who asks, and what decides whether they may: the caller's standing to the ticket and the
/// product's lists (empty when they cannot matter to this caller).
#[derive(Debug, Clone, Copy)]
pub struct Decider<'a> {
    pub actor: &'a Actor,
    pub standing: &'a Standing,
    pub lists: &'a ProductLists,
}

/// What a decision does: the ticket's new state, one history entry per step (a lapse the
/// store had not recorded yet, then the change), the report event and the outbox events.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketChange {
    pub ticket: Ticket,
    pub entries: Vec<TicketHistoryEntry>,
    pub report: Option<TicketEvent>,
    /// One per entry that is a fact for consumers (a lapse, a status change, a remark).
    pub events: Vec<EventType>,
}

impl Ticket {
    /// The ticket as it stands at `now`: an unused ticket whose term ran out since it was
    /// last written has lapsed, with the system's history entry for it, dated the midnight
    /// it happened. The next write records both, so a ticket lapses on time whether or
    /// not a job got to it first.
    pub fn as_of(&self, now: DateTime<Utc>) -> (Ticket, Option<TicketHistoryEntry>) {
        let mut ticket = self.clone();
        let today = calendar::taipei_date(now);
        let Some((operation, status)) =
            lapse(ticket.kind, ticket.status, ticket.term_ends_on, today)
        else {
            return (ticket, None);
        };
        let at = calendar::taipei_instant(ticket.term_ends_on + Duration::days(1), NaiveTime::MIN);
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at,
            action: operation.name().to_owned(),
            by_merchant: ticket.merchant_id.clone(),
            by_account: AccountName::system(),
            branch: None,
            before: Some(ticket.status),
            after: Some(status),
            reason: None,
            changes: serde_json::json!({ term_name(ticket.kind): ticket.term_ends_on }),
        };
        ticket.status = status;
        ticket.updated_at = at;
        (ticket, Some(entry))
    }

    fn parties<'a>(&'a self, lists: &'a ProductLists) -> TicketParties<'a> {
        TicketParties {
            issuer: &self.merchant_id,
            redeem_branches: &lists.redeem_branches,
            return_branches: &lists.return_branches,
            redeemable_stores: &lists.redeemable_stores,
            redeemed_by: self
                .redeemed_by
                .as_ref()
                .map(|m| (m, self.redeemed_branch.as_ref())),
            returned_by_branch: self.returned_at.map(|_| self.returned_branch.as_ref()),
        }
    }

    /// When the operation's undone act happened (the window of a cancellation).
    fn happened_at(&self, operation: Operation) -> Option<DateTime<Utc>> {
        match operation {
            Operation::CancelRedemption => self.redeemed_at,
            Operation::CancelReturn => self.returned_at,
            _ => None,
        }
    }

    /// The merchant operations the caller could perform on the ticket as it stands.
    pub fn allowed(&self, decider: &Decider<'_>, now: DateTime<Utc>) -> Vec<Operation> {
        [
            Operation::Redeem,
            Operation::CancelRedemption,
            Operation::Return,
            Operation::CancelReturn,
        ]
        .into_iter()
        .filter(|op| {
            may_act(
                decider.actor,
                decider.standing,
                &self.parties(decider.lists),
                *op,
            )
            .is_ok()
                && transition(self.kind, self.status, *op).is_ok()
                && check_window(self.status, *op, self.happened_at(*op), now).is_ok()
                && (*op != Operation::Redeem || self.check_valid(now).is_ok())
        })
        .collect()
    }

    /// A non-immediate ticket is redeemed from its first valid day on (Taipei).
    pub fn check_valid(&self, now: DateTime<Utc>) -> Result<(), Error> {
        match self.valid_from {
            Some(from) if calendar::taipei_date(now) < from => {
                Err(Error::new(ErrorCode::TicketNotYetValid)
                    .with_detail(format!("ticket {} is valid from {from}", self.ticket_no)))
            }
            _ => Ok(()),
        }
    }

    /// A merchant operation (redeem, cancel redemption, return, cancel return) decided on
    /// the ticket as it stands at `now`: who may, whether the status allows it, the day
    /// windows, the reason and the return fee (§6).
    pub fn apply(
        &self,
        request: &TicketRequest,
        decider: &Decider<'_>,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        let operation = request.operation;
        let reason = check_reason(operation, request.reason.as_deref())?;
        let (current, lapsed) = self.as_of(now);
        let actor = decider.actor;
        may_act(
            actor,
            decider.standing,
            &current.parties(decider.lists),
            operation,
        )?;
        let before = current.status;
        let after = transition(current.kind, before, operation).map_err(Error::new)?;
        check_window(before, operation, current.happened_at(operation), now)?;
        if operation == Operation::Redeem {
            current.check_valid(now)?;
        }
        let fee = match operation {
            Operation::Return => Some(check_return_fee(
                current.kind,
                before,
                current.face_value,
                request.fee,
            )?),
            _ if request.fee.is_some_and(|f| !f.is_zero()) => {
                return Err(Error::new(ErrorCode::ReturnFeeNotAllowed))
            }
            _ => None,
        }
        .filter(|f| !f.is_zero());
        let mut ticket = current;
        ticket.status = after;
        ticket.updated_at = now;
        let mut ended_transfer = None;
        match operation {
            Operation::Redeem => {
                ticket.redeemed_at = Some(now);
                ticket.redeemed_by = Some(actor.acting_as.clone());
                ticket.redeemed_branch = actor.branch.clone();
            }
            Operation::CancelRedemption => {
                ticket.redeemed_at = None;
                ticket.redeemed_by = None;
                ticket.redeemed_branch = None;
            }
            Operation::Return => {
                ended_transfer = crate::transfers::return_ends_transfer(&mut ticket, actor, now);
                ticket.returned_at = Some(now);
                ticket.returned_branch = actor.branch.clone();
                ticket.return_fee = fee;
                ticket.bank_update_at = (after == TicketStatus::PendingReturn)
                    .then(|| return_bank_update_at(ticket.issued_at, now));
            }
            Operation::CancelReturn => {
                ticket.returned_at = None;
                ticket.returned_branch = None;
                ticket.return_fee = None;
                ticket.bank_update_at = None;
            }
            _ => {}
        }
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: operation.name().to_owned(),
            by_merchant: actor.acting_as.clone(),
            by_account: actor.account.clone(),
            branch: actor.branch.clone(),
            before: Some(before),
            after: Some(after),
            reason,
            changes: serde_json::json!({
                "fee": fee.map(|f| f.to_string()),
                "bank_update_at": ticket.bank_update_at,
            }),
        };
        let report = TicketEvent {
            at: now,
            ticket_no: ticket.ticket_no.clone(),
            version: 0,
            operation: operation.name().to_owned(),
            issuer: ticket.merchant_id.clone(),
            product_id: ticket.product_id.clone(),
            face_value: ticket.face_value,
            by_merchant: actor.acting_as.clone(),
            branch: actor.branch.clone(),
            fee,
            kind: Some(ticket.kind),
            after: Some(after),
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.extend(event_of(operation));
        events.extend(
            ended_transfer
                .iter()
                .map(|_| EventType::TicketTransferCancelled),
        );
        Ok(TicketChange {
            ticket,
            entries: lapsed
                .into_iter()
                .chain([entry])
                .chain(ended_transfer)
                .collect(),
            report: Some(report),
            events,
        })
    }

    /// The step the platform's daily job takes on the ticket by itself, and from when: an
    /// unused ticket lapses at the midnight after its term; a goods voucher's redemption and
    /// return go to the bank at the next cut-off (a return at its `bank_update_at`) and are
    /// settled at the cut-off after that. `None` for a ticket nothing more happens to
    /// without a person (a gift voucher's redemption has no bank to go to).
    pub fn next_system_step(&self) -> Option<SystemStep> {
        use TicketStatus as S;
        let (operation, due_at) = match self.status {
            S::Unused => {
                let (operation, _) = lapse(
                    self.kind,
                    self.status,
                    self.term_ends_on,
                    self.term_ends_on + Duration::days(1),
                )?;
                let midnight =
                    calendar::taipei_instant(self.term_ends_on + Duration::days(1), NaiveTime::MIN);
                (operation, midnight)
            }
            S::Used => (
                Operation::SendRedemptionToBank,
                next_bank_cutoff(self.redeemed_at?),
            ),
            S::Redeeming => (
                Operation::BankSettledRedemption,
                next_bank_cutoff(self.updated_at),
            ),
            S::PendingReturn => (Operation::SendReturnToBank, self.bank_update_at?),
            S::Returning => (
                Operation::BankSettledReturn,
                next_bank_cutoff(self.updated_at),
            ),
            _ => return None,
        };
        // Only what the lifecycle allows for this kind (a gift voucher never goes to the bank).
        transition(self.kind, self.status, operation).ok()?;
        Some(SystemStep { operation, due_at })
    }

    /// A system operation (a lapse, the bank cut-offs and settlements) by the platform's
    /// jobs: the status moves as the lifecycle allows, the history records the system.
    pub fn apply_system(
        &self,
        operation: Operation,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        if operation.area().is_some() {
            return Err(Error::new(ErrorCode::TicketStatusConflict));
        }
        let (mut ticket, lapsed) = self.as_of(now);
        if lapsed.is_some() && matches!(operation, Operation::EscrowExpiry | Operation::GiftExpiry)
        {
            // The lapse is this very operation: it happened at its midnight.
            return Ok(TicketChange {
                ticket,
                entries: lapsed.into_iter().collect(),
                report: None,
                events: vec![EventType::TicketLapsed],
            });
        }
        let before = ticket.status;
        ticket.status = transition(ticket.kind, before, operation).map_err(Error::new)?;
        ticket.updated_at = now;
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: operation.name().to_owned(),
            by_merchant: ticket.merchant_id.clone(),
            by_account: AccountName::system(),
            branch: None,
            before: Some(before),
            after: Some(ticket.status),
            reason: None,
            changes: serde_json::Value::Null,
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.push(event_of(operation).unwrap_or(EventType::TicketBankUpdated));
        Ok(TicketChange {
            ticket,
            entries: lapsed.into_iter().chain([entry]).collect(),
            report: None,
            events,
        })
    }

    /// A remark by the issuer: the ticket unchanged but for its history.
    pub fn remark(
        &self,
        remark: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        let remark = remark.trim();
        if remark.is_empty()
            || remark.chars().count() > REASON_MAX
            || remark.chars().any(char::is_control)
        {
            return Err(Error::invalid_field(
                "remark",
                format!("1 to {REASON_MAX} characters"),
            ));
        }
        let (mut ticket, lapsed) = self.as_of(now);
        ticket.updated_at = now;
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: "remark".to_owned(),
            by_merchant: actor.acting_as.clone(),
            by_account: actor.account.clone(),
            branch: actor.branch.clone(),
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: Some(remark.to_owned()),
            changes: serde_json::Value::Null,
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.push(EventType::TicketRemarked);
        Ok(TicketChange {
            ticket,
            entries: lapsed.into_iter().chain([entry]).collect(),
            report: None,
            events,
        })
    }
}

impl Ticket {
    /// The holder asks the merchant to take it back (電子票券申請退貨, §3-3): an electronic
    /// ticket, unused, asked once. The merchant decides and returns it at its back office;
    /// the request stays on the ticket (its history, the ticket report's order columns).
    pub fn request_return(&self, reason: &str, now: DateTime<Utc>) -> Result<TicketChange, Error> {
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > REASON_MAX
            || reason.chars().any(char::is_control)
        {
            return Err(Error::invalid_field(
                "reason",
                format!("1 to {REASON_MAX} characters"),
            ));
        }
        let (mut ticket, lapsed) = self.as_of(now);
        let refuse = |why: &str| {
            Err(Error::new(ErrorCode::TicketStatusConflict)
                .with_detail(format!("ticket {}: {why}", ticket.ticket_no)))
        };
        if !crate::issuance::needs_email(ticket.delivery_method) {
            return refuse("only electronic tickets are returned from their page");
        }
        if ticket.status != TicketStatus::Unused {
            return refuse("only an unused ticket can be returned");
        }
        if ticket.return_requested_at.is_some() {
            return refuse("its return was asked for already");
        }
        ticket.return_requested_at = Some(now);
        ticket.return_request_reason = Some(reason.to_owned());
        ticket.updated_at = now;
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: "return_requested".to_owned(),
            by_merchant: ticket.merchant_id.clone(),
            by_account: AccountName::consumer(),
            branch: None,
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: Some(reason.to_owned()),
            changes: serde_json::Value::Null,
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.push(EventType::TicketReturnRequested);
        Ok(TicketChange {
            ticket,
            entries: lapsed.into_iter().chain([entry]).collect(),
            report: None,
            events,
        })
    }
}

/// A step the platform takes on a ticket by itself, due from `due_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemStep {
    pub operation: Operation,
    pub due_at: DateTime<Utc>,
}

/// The outbox event a merchant operation publishes.
fn event_of(operation: Operation) -> Option<EventType> {
    match operation {
        Operation::Redeem => Some(EventType::TicketRedeemed),
        Operation::CancelRedemption => Some(EventType::TicketRedemptionCancelled),
        Operation::Return => Some(EventType::TicketReturned),
        Operation::CancelReturn => Some(EventType::TicketReturnCancelled),
        Operation::EscrowExpiry | Operation::GiftExpiry => Some(EventType::TicketLapsed),
        _ => None,
    }
}

/// The reason, trimmed: required to undo or return (not to redeem), at most
/// [`REASON_MAX`] characters, no control characters.
pub fn check_reason(operation: Operation, reason: Option<&str>) -> Result<Option<String>, Error> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let required = operation != Operation::Redeem;
    match reason {
        None if required => Err(Error::invalid_field("reason", "required")),
        Some(r) if r.chars().count() > REASON_MAX => Err(Error::invalid_field(
            "reason",
            format!(
                "at most {REASON_MAX} characters, found {}",
                r.chars().count()
            ),
        )),
        Some(r) if r.chars().any(char::is_control) => Err(Error::invalid_field(
            "reason",
            "no control characters (tabs, line breaks and the like)",
        )),
        _ => Ok(reason.map(str::to_owned)),
    }
}

/// A ticket for the tests of this crate: issued 1 Nov 2026 10:00 Taipei, unused.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap() - Duration::hours(8)
    }

    fn person() -> Person {
        Person {
            name: "王小明".to_owned(),
            mobile: "0912345678".to_owned(),
            email: None,
        }
    }

    pub fn ticket_of(kind: TicketKind, term_ends_on: NaiveDate) -> Ticket {
        Ticket {
            ticket_no: TicketNumber::from_sequence(1),
            merchant_id: MerchantId::parse("m", "DEMO0001").unwrap(),
            product_id: ProductId::generate([1; 10]),
            product_name: "咖啡".to_owned(),
            kind,
            face_value: Decimal::new(100, 0),
            term_ends_on,
            valid_from: None,
            notify_url: None,
            status: TicketStatus::Unused,
            redemption_code: RedemptionCode::generate(1, [7; 16]),
            transfer_id: None,
            return_requested_at: None,
            return_request_reason: None,
            pickup_code: None,
            delivery_method: DeliveryMethod::ElectronicImmediate,
            print_status: None,
            print_count: 0,
            batch_id: "B".to_owned(),
            import_no: "I".to_owned(),
            trade_no: None,
            buyer: person(),
            holder: person(),
            issued_by: AccountName::system(),
            issued_branch: None,
            issued_at: at(1, 10),
            updated_at: at(1, 10),
            redeemed_at: None,
            redeemed_by: None,
            redeemed_branch: None,
            returned_at: None,
            returned_branch: None,
            return_fee: None,
            bank_update_at: None,
            version: 3,
        }
    }

    pub fn ticket() -> Ticket {
        ticket_of(
            TicketKind::GoodsVoucher,
            NaiveDate::from_ymd_opt(2027, 11, 1).unwrap(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rights, Role};
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // Hours are Taipei's.
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap() - Duration::hours(8)
    }

    fn ticket(kind: TicketKind, term_ends_on: NaiveDate) -> Ticket {
        super::tests_support::ticket_of(kind, term_ends_on)
    }

    fn admin() -> Actor {
        let merchant = MerchantId::parse("m", "DEMO0001").unwrap();
        Actor {
            merchant: merchant.clone(),
            account: AccountName::parse_login("a", "admin").unwrap(),
            role: Role::Admin,
            rights: Rights::default(),
            acting_as: merchant,
            children: Vec::new(),
            branch: None,
            branch_enabled: true,
        }
    }

    fn decide(
        t: &Ticket,
        operation: Operation,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        let actor = admin();
        let lists = ProductLists::default();
        let decider = Decider {
            actor: &actor,
            standing: &Standing::Issuer,
            lists: &lists,
        };
        let request = TicketRequest {
            operation,
            reason: reason.map(str::to_owned),
            fee: None,
        };
        t.apply(&request, &decider, now)
    }

    #[test]
    fn a_redemption_records_who_and_when_with_one_entry_and_its_events() {
        let t = ticket(
            TicketKind::GiftVoucher,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        let change = decide(&t, Operation::Redeem, None, at(2, 12)).unwrap();
        assert_eq!(change.ticket.status, TicketStatus::Used);
        assert_eq!(change.ticket.redeemed_at, Some(at(2, 12)));
        assert_eq!(change.ticket.version, 3, "versions are the store's");
        assert_eq!(change.entries.len(), 1);
        assert_eq!(change.events, vec![EventType::TicketRedeemed]);
        assert_eq!(change.report.unwrap().operation, "redeem");
    }

    #[test]
    fn a_non_immediate_ticket_is_redeemed_from_its_first_valid_day_on() {
        let mut t = ticket(
            TicketKind::GoodsVoucher,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        t.valid_from = Some(NaiveDate::from_ymd_opt(2026, 11, 10).unwrap());
        let early = decide(&t, Operation::Redeem, None, at(9, 23)).unwrap_err();
        assert_eq!(early.code, ErrorCode::TicketNotYetValid);
        let actor = admin();
        let lists = ProductLists::default();
        let decider = Decider {
            actor: &actor,
            standing: &Standing::Issuer,
            lists: &lists,
        };
        assert!(!t.allowed(&decider, at(9, 23)).contains(&Operation::Redeem));
        assert!(t.allowed(&decider, at(10, 0)).contains(&Operation::Redeem));
        assert!(
            decide(&t, Operation::Redeem, None, at(10, 0)).is_ok(),
            "00:00 Taipei on the day"
        );
        assert!(
            decide(&t, Operation::Return, Some("不要了"), at(9, 23)).is_ok(),
            "returned any time"
        );
    }

    #[test]
    fn a_ticket_whose_term_ran_out_lapses_first_and_then_refuses_the_redemption() {
        let t = ticket(
            TicketKind::GiftVoucher,
            NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(),
        );
        let (lapsed, entry) = t.as_of(at(6, 9));
        assert_ne!(lapsed.status, TicketStatus::Unused);
        assert_eq!(entry.unwrap().at, at(6, 0), "dated the midnight it lapsed");
        assert!(decide(&t, Operation::Redeem, None, at(6, 9)).is_err());
    }

    #[test]
    fn the_daily_steps_follow_the_cut_offs_until_nothing_is_left_to_do() {
        let t = ticket(
            TicketKind::GoodsVoucher,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        );
        let step = |t: &Ticket| t.next_system_step().map(|s| (s.operation, s.due_at));
        // Unused: the escrow ends at the midnight after its last day.
        assert_eq!(
            step(&t),
            Some((Operation::EscrowExpiry, at(21, 0))),
            "lapses at midnight"
        );
        // Redeemed at 23:30: still cancellable until 23:59, so sent at 01:00 the next day.
        let redeemed = decide(&t, Operation::Redeem, None, at(2, 23))
            .unwrap()
            .ticket;
        assert_eq!(
            step(&redeemed),
            Some((Operation::SendRedemptionToBank, at(3, 1)))
        );
        let sent = redeemed
            .apply_system(Operation::SendRedemptionToBank, at(3, 1))
            .unwrap();
        assert_eq!(sent.ticket.status, TicketStatus::Redeeming);
        assert_eq!(sent.events, vec![EventType::TicketBankUpdated]);
        assert_eq!(
            step(&sent.ticket),
            Some((Operation::BankSettledRedemption, at(4, 1)))
        );
        let settled = sent
            .ticket
            .apply_system(Operation::BankSettledRedemption, at(4, 1))
            .unwrap();
        assert_eq!(settled.ticket.status, TicketStatus::Redeemed);
        assert_eq!(step(&settled.ticket), None, "redeemed is final");

        // A return goes at its bank update time, then settles a cut-off later.
        let request = TicketRequest {
            operation: Operation::Return,
            reason: Some("顧客退貨".to_owned()),
            fee: None,
        };
        let actor = admin();
        let lists = ProductLists::default();
        let decider = Decider {
            actor: &actor,
            standing: &Standing::Issuer,
            lists: &lists,
        };
        let returned = t.apply(&request, &decider, at(1, 15)).unwrap().ticket;
        assert_eq!(
            step(&returned),
            Some((Operation::SendReturnToBank, at(3, 1))),
            "issued and returned the same day: issue day + 2, 01:00"
        );
        let sending = returned
            .apply_system(Operation::SendReturnToBank, at(3, 1) + Duration::minutes(3))
            .unwrap()
            .ticket;
        assert_eq!(
            step(&sending),
            Some((Operation::BankSettledReturn, at(4, 1)))
        );

        // A gift voucher's redemption stays as it is: there is no bank to go to.
        let gift = ticket(
            TicketKind::GiftVoucher,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        );
        assert_eq!(step(&gift), Some((Operation::GiftExpiry, at(21, 0))));
        let used = decide(&gift, Operation::Redeem, None, at(2, 9))
            .unwrap()
            .ticket;
        assert_eq!(step(&used), None);
    }

    #[test]
    fn undoing_needs_a_reason_and_a_remark_keeps_the_status() {
        let t = ticket(
            TicketKind::GoodsVoucher,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        );
        let redeemed = decide(&t, Operation::Redeem, None, at(2, 12))
            .unwrap()
            .ticket;
        let refused = decide(&redeemed, Operation::CancelRedemption, None, at(2, 13)).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationFailed);
        let undone = decide(
            &redeemed,
            Operation::CancelRedemption,
            Some("顧客取消"),
            at(2, 13),
        )
        .unwrap();
        assert_eq!(undone.ticket.status, TicketStatus::Unused);
        assert_eq!(undone.events, vec![EventType::TicketRedemptionCancelled]);
        let remarked = redeemed
            .remark("  已電話聯繫 ", &admin(), at(2, 14))
            .unwrap();
        assert_eq!(remarked.ticket.status, redeemed.status);
        assert_eq!(remarked.entries[0].reason.as_deref(), Some("已電話聯繫"));
        assert!(redeemed
            .remark(&"長".repeat(REASON_MAX + 1), &admin(), at(2, 14))
            .is_err());
    }
}
