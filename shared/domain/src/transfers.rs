//! Transfers (轉贈, §7-1, §7-3 K): a buyer gives some of an order's electronic goods
//! vouchers to another person from the e-ticket page. The recipient gets a page of their
//! own (the transfer's link); the buyer's page stops showing the tickets given. The merchant
//! may cancel a transfer: every gifted ticket still unused goes back to the buyer. Returning
//! a gifted ticket cancels its transfer for that ticket.
//!
//! Pure: what a transfer is, who may receive one, and what giving, taking back and a return
//! do to a ticket. The platform reads, asks these, and commits through the change engine.

use crate::access::Actor;
use crate::error::{Error, ErrorCode};
use crate::events::EventType;
use crate::issuance::{needs_email, BUYER_NAME_MAX};
use crate::products::TicketKind;
use crate::ticket::{Person, Ticket, TicketChange, TicketHistoryEntry};
use crate::tickets::{TicketNumber, TicketStatus};
use crate::values::{is_email, AccountName, BranchCode, MerchantId, TaiwanMobile};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Tickets one transfer may hold: each is four writes of the transfer's one transaction
/// (the ticket, its history entry, its outbox event, the recipient's claim), within
/// DynamoDB's 100.
pub const TRANSFER_MAX_TICKETS: usize = 20;

/// Who acts when the consumer does (the history's account column): no account can be
/// called this, as login names have no `~`.
pub fn consumer_account() -> AccountName {
    AccountName::consumer()
}

/// A person as typed into a form: name (1–30 characters), Taiwan mobile, and an email
/// address (required when `email_required`). Fields are named `{prefix}.name` and so on.
pub fn check_person(
    prefix: &str,
    name: &str,
    mobile: &str,
    email: Option<&str>,
    email_required: bool,
) -> Result<Person, Error> {
    let mut violations = Vec::new();
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > BUYER_NAME_MAX
        || name.chars().any(char::is_control)
    {
        violations.push(crate::Violation::field(
            format!("{prefix}.name"),
            format!("required, at most {BUYER_NAME_MAX} characters"),
        ));
    }
    let mobile = match TaiwanMobile::parse(&format!("{prefix}.mobile"), mobile) {
        Ok(m) => Some(m),
        Err(_) => {
            violations.push(crate::Violation::field(
                format!("{prefix}.mobile"),
                "a Taiwan mobile number: 09 followed by 8 digits",
            ));
            None
        }
    };
    let email = email.map(str::trim).filter(|e| !e.is_empty());
    match email {
        None if email_required => violations.push(crate::Violation::field(
            format!("{prefix}.email"),
            "required",
        )),
        Some(address) if address.len() > 100 || !is_email(address) => {
            violations.push(crate::Violation::field(
                format!("{prefix}.email"),
                "an email address, at most 100 characters",
            ))
        }
        _ => {}
    }
    match (violations.is_empty(), mobile) {
        (true, Some(mobile)) => Ok(Person {
            name: name.to_owned(),
            mobile: mobile.as_str().to_owned(),
            email: email.map(str::to_owned),
        }),
        _ => Err(Error::invalid(violations)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Some gifted tickets may still be with the recipient.
    Active,
    /// Cancelled by the merchant: the unused gifted tickets went back to the buyer.
    Cancelled,
}

/// A transfer (轉贈單): who gave which tickets of which issued order to whom, and the
/// recipient's link. Which tickets are still gifted is the tickets' own `transfer_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    pub transfer_id: String,
    pub merchant_id: MerchantId,
    pub import_no: String,
    /// The branch that issued the order (`None`: head office): a branch-bound account sees
    /// only its branch's transfers.
    #[serde(default)]
    pub branch: Option<BranchCode>,
    pub giver: Person,
    pub recipient: Person,
    pub ticket_nos: Vec<TicketNumber>,
    /// The recipient's page.
    pub link_token: String,
    pub status: TransferStatus,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cancelled_by: Option<AccountName>,
    pub version: u64,
}

impl Ticket {
    /// Whether its holder may give it away now: an electronic goods voucher (提貨券),
    /// unused, with its buyer (a gifted ticket is not given on).
    pub fn may_transfer(&self, now: DateTime<Utc>) -> Result<(), Error> {
        let (current, _) = self.as_of(now);
        let refuse = |why: &str| {
            Err(Error::new(ErrorCode::TicketNotTransferable)
                .with_detail(format!("ticket {}: {why}", current.ticket_no)))
        };
        if current.kind != TicketKind::GoodsVoucher || !needs_email(current.delivery_method) {
            return refuse("only electronic goods vouchers can be transferred");
        }
        if current.transfer_id.is_some() {
            return refuse("it was given already");
        }
        if current.status != TicketStatus::Unused {
            return refuse("only an unused ticket can be transferred");
        }
        Ok(())
    }

    /// The buyer gives it to `recipient` under transfer `transfer_id`.
    pub fn transfer_to(
        &self,
        transfer_id: &str,
        recipient: &Person,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        self.may_transfer(now)?;
        let (mut ticket, lapsed) = self.as_of(now);
        let before = ticket.holder.clone();
        ticket.transfer_id = Some(transfer_id.to_owned());
        ticket.holder = recipient.clone();
        ticket.updated_at = now;
        let entry = self.transfer_entry(
            &ticket,
            "transfer",
            now,
            &self.merchant_id,
            consumer_account(),
            serde_json::json!({
                "transfer_id": transfer_id,
                "from": masked(&before),
                "to": masked(recipient),
            }),
        );
        Ok(change(ticket, lapsed, entry, EventType::TicketTransferred))
    }

    /// The merchant cancels transfer `transfer_id`: the ticket goes back to its buyer if it
    /// is still gifted under it and unused. `None`: nothing to take back (used, returned,
    /// or back already).
    pub fn take_back(
        &self,
        transfer_id: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Option<TicketChange> {
        let (mut ticket, lapsed) = self.as_of(now);
        if ticket.transfer_id.as_deref() != Some(transfer_id)
            || ticket.status != TicketStatus::Unused
        {
            return None;
        }
        ticket.transfer_id = None;
        ticket.holder = ticket.buyer.clone();
        ticket.updated_at = now;
        let mut entry = self.transfer_entry(
            &ticket,
            "cancel_transfer",
            now,
            &actor.acting_as,
            actor.account.clone(),
            serde_json::json!({ "transfer_id": transfer_id }),
        );
        entry.branch = actor.branch.clone();
        Some(change(
            ticket,
            lapsed,
            entry,
            EventType::TicketTransferCancelled,
        ))
    }

    fn transfer_entry(
        &self,
        ticket: &Ticket,
        action: &str,
        at: DateTime<Utc>,
        by_merchant: &MerchantId,
        by_account: AccountName,
        changes: serde_json::Value,
    ) -> TicketHistoryEntry {
        TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at,
            action: action.to_owned(),
            by_merchant: by_merchant.clone(),
            by_account,
            branch: None,
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: None,
            changes,
        }
    }
}

/// A return's effect on a gifted ticket (§7-1: returning a ticket cancels its transfer):
/// the ticket back with its buyer and the history entry that says so, or `None` when the
/// ticket is not gifted.
pub fn return_ends_transfer(
    ticket: &mut Ticket,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Option<TicketHistoryEntry> {
    let transfer_id = ticket.transfer_id.take()?;
    ticket.holder = ticket.buyer.clone();
    Some(TicketHistoryEntry {
        ticket_no: ticket.ticket_no.clone(),
        at,
        action: "transfer_cancelled_by_return".to_owned(),
        by_merchant: actor.acting_as.clone(),
        by_account: actor.account.clone(),
        branch: actor.branch.clone(),
        before: Some(ticket.status),
        after: Some(ticket.status),
        reason: None,
        changes: serde_json::json!({ "transfer_id": transfer_id }),
    })
}

/// The history actions that belong to a transfer's history (轉贈歷程).
pub const TRANSFER_ACTIONS: [&str; 3] = [
    "transfer",
    "cancel_transfer",
    "transfer_cancelled_by_return",
];

fn change(
    ticket: Ticket,
    lapsed: Option<TicketHistoryEntry>,
    entry: TicketHistoryEntry,
    event: EventType,
) -> TicketChange {
    let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
    events.push(event);
    TicketChange {
        ticket,
        entries: lapsed.into_iter().chain([entry]).collect(),
        report: None,
        events,
    }
}

/// A person as a history entry keeps them: the name and a masked mobile.
fn masked(person: &Person) -> serde_json::Value {
    let mobile = TaiwanMobile::parse("mobile", &person.mobile)
        .map(|m| m.masked())
        .unwrap_or_else(|_| "***".to_owned());
    serde_json::json!({ "name": person.name, "mobile": mobile })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rights, Role};
    use crate::merchant::DeliveryMethod;
    use crate::ticket::tests_support::ticket;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap()
    }

    fn recipient() -> Person {
        check_person(
            "recipient",
            "林小美",
            "0922333444",
            Some("mei@example.com"),
            true,
        )
        .unwrap()
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

    #[test]
    fn a_person_is_checked_field_by_field() {
        let error = check_person("recipient", "", "0812", Some("nope"), true).unwrap_err();
        let fields: Vec<_> = error
            .violations
            .iter()
            .filter_map(|v| v.field.clone())
            .collect();
        assert_eq!(
            fields,
            ["recipient.name", "recipient.mobile", "recipient.email"]
        );
        let error = check_person("recipient", "林", "0922333444", None, true).unwrap_err();
        assert_eq!(
            error.violations[0].field.as_deref(),
            Some("recipient.email")
        );
        assert!(check_person("buyer", "林", "0922333444", None, false).is_ok());
        let long: String = "林".repeat(BUYER_NAME_MAX + 1);
        assert!(check_person("buyer", &long, "0922333444", None, false).is_err());
    }

    #[test]
    fn a_choice_is_one_to_twenty_distinct_tickets() {
        use crate::tickets::parse_ticket_choice;
        let no = |n| TicketNumber::from_sequence(n).to_string();
        let choose =
            |values: Vec<String>| parse_ticket_choice("ticket_nos", &values, TRANSFER_MAX_TICKETS);
        assert!(choose(vec![]).is_err());
        assert!(choose(vec![no(1), no(1)]).is_err());
        assert!(choose(vec!["12".into()]).is_err());
        let many: Vec<String> = (1..=21).map(no).collect();
        assert!(choose(many.clone()).is_err());
        assert_eq!(choose(many[..20].to_vec()).unwrap().len(), 20);
    }

    #[test]
    fn giving_moves_the_holder_and_records_the_transfer() {
        let change = ticket().transfer_to("T1", &recipient(), now()).unwrap();
        assert_eq!(change.ticket.transfer_id.as_deref(), Some("T1"));
        assert_eq!(change.ticket.holder, recipient());
        assert_eq!(change.ticket.buyer.name, "王小明");
        assert_eq!(change.entries.len(), 1);
        assert_eq!(change.entries[0].action, "transfer");
        assert_eq!(change.entries[0].by_account, consumer_account());
        assert_eq!(change.entries[0].changes["to"]["mobile"], "09*****444");
        assert_eq!(change.events, vec![EventType::TicketTransferred]);
        assert!(change.report.is_none());
    }

    #[test]
    fn only_unused_electronic_goods_vouchers_with_their_buyer_are_given() {
        let given = ticket()
            .transfer_to("T1", &recipient(), now())
            .unwrap()
            .ticket;
        let refused = |t: &Ticket| {
            t.transfer_to("T2", &recipient(), now()).unwrap_err().code
                == ErrorCode::TicketNotTransferable
        };
        assert!(refused(&given), "given on");
        let mut used = ticket();
        used.status = TicketStatus::Used;
        assert!(refused(&used));
        let mut gift = ticket();
        gift.kind = TicketKind::GiftVoucher;
        assert!(refused(&gift));
        let mut paper = ticket();
        paper.delivery_method = DeliveryMethod::PaperByMerchant;
        assert!(refused(&paper));
        let mut lapsed = ticket();
        lapsed.term_ends_on = crate::calendar::taipei_date(now()) - Duration::days(1);
        assert!(refused(&lapsed), "escrow over");
    }

    #[test]
    fn taking_back_returns_only_unused_tickets_of_that_transfer() {
        let given = ticket()
            .transfer_to("T1", &recipient(), now())
            .unwrap()
            .ticket;
        let back = given.take_back("T1", &admin(), now()).unwrap();
        assert_eq!(back.ticket.transfer_id, None);
        assert_eq!(back.ticket.holder, back.ticket.buyer);
        assert_eq!(back.entries[0].action, "cancel_transfer");
        assert_eq!(back.events, vec![EventType::TicketTransferCancelled]);
        assert!(
            given.take_back("T9", &admin(), now()).is_none(),
            "another transfer"
        );
        let mut used = given.clone();
        used.status = TicketStatus::Used;
        assert!(
            used.take_back("T1", &admin(), now()).is_none(),
            "used: stays"
        );
    }

    #[test]
    fn a_return_ends_the_transfer_of_a_gifted_ticket() {
        let mut given = ticket()
            .transfer_to("T1", &recipient(), now())
            .unwrap()
            .ticket;
        let entry = return_ends_transfer(&mut given, &admin(), now()).unwrap();
        assert_eq!(entry.action, "transfer_cancelled_by_return");
        assert_eq!(given.holder, given.buyer);
        assert!(return_ends_transfer(&mut given, &admin(), now()).is_none());
    }

    #[test]
    fn a_return_is_asked_once_for_an_unused_electronic_ticket() {
        let asked = ticket().request_return("買錯了", now()).unwrap();
        assert_eq!(asked.ticket.return_requested_at, Some(now()));
        assert_eq!(asked.entries[0].action, "return_requested");
        assert_eq!(asked.entries[0].by_account, consumer_account());
        assert_eq!(asked.events, vec![EventType::TicketReturnRequested]);
        let again = asked.ticket.request_return("再一次", now()).unwrap_err();
        assert_eq!(again.code, ErrorCode::TicketStatusConflict);
        assert_eq!(
            ticket().request_return(" ", now()).unwrap_err().code,
            ErrorCode::ValidationFailed
        );
        let mut used = ticket();
        used.status = TicketStatus::Used;
        assert_eq!(
            used.request_return("x", now()).unwrap_err().code,
            ErrorCode::TicketStatusConflict
        );
        let mut paper = ticket();
        paper.delivery_method = DeliveryMethod::PaperByMerchant;
        assert!(paper.request_return("x", now()).is_err());
    }
}
