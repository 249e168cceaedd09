//! Paper tickets (紙本票券列印, §5, §7-3 D): the merchant prints its own paper tickets from
//! the back office, any number of times (each print is recorded: who, when, the how-many-th;
//! a second print is a reprint the 21:00 reminder reports); the platform prints the others
//! in its print run and ships them (the operator advances them). Pure.

use crate::access::Actor;
use crate::error::{Error, ErrorCode};
use crate::events::EventType;
use crate::merchant::DeliveryMethod;
use crate::ticket::{PrintStatus, Ticket, TicketChange, TicketHistoryEntry};
use crate::tickets::TicketStatus;
use crate::values::AccountName;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// Tickets one print page holds: each print is a ticket write, its history entry and its
/// event (three writes of one transaction, within DynamoDB's 100 with the page's key).
pub const PRINT_MAX_TICKETS: usize = 30;

/// The history action of a print.
pub const PRINT_ACTION: &str = "print";

/// The reprint reminder's day ends at 21:00 Taipei (§7-3 D 注意事項 2).
pub const REMINDER_HOUR: u32 = 21;

/// The window the reminder of `day` covers: from 21:00 of the day before to 21:00 of `day`.
pub fn reminder_window(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = NaiveTime::from_hms_opt(REMINDER_HOUR, 0, 0).unwrap_or(NaiveTime::MIN);
    let end = crate::calendar::taipei_instant(day, at);
    (end - Duration::days(1), end)
}

/// Where a platform-printed ticket is in the platform's print run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformPrintStep {
    Printed,
    Shipped,
}

impl PlatformPrintStep {
    pub fn name(self) -> &'static str {
        match self {
            PlatformPrintStep::Printed => "platform_printed",
            PlatformPrintStep::Shipped => "platform_shipped",
        }
    }
}

impl Ticket {
    /// The merchant prints it (once more): a paper ticket of the merchant's printing, still
    /// unused. The print count goes up; the history says who printed it and the how-many-th.
    pub fn print(&self, actor: &Actor, now: DateTime<Utc>) -> Result<TicketChange, Error> {
        if self.delivery_method != DeliveryMethod::PaperByMerchant {
            return Err(
                Error::new(ErrorCode::TicketNotPrintable).with_detail(format!(
                    "ticket {}: only paper tickets the merchant prints",
                    self.ticket_no
                )),
            );
        }
        let (mut ticket, lapsed) = self.as_of(now);
        if ticket.status != TicketStatus::Unused {
            return Err(
                Error::new(ErrorCode::TicketNotPrintable).with_detail(format!(
                    "ticket {}: only an unused ticket is printed",
                    ticket.ticket_no
                )),
            );
        }
        ticket.print_count += 1;
        ticket.print_status = None;
        ticket.updated_at = now;
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: PRINT_ACTION.to_owned(),
            by_merchant: actor.acting_as.clone(),
            by_account: actor.account.clone(),
            branch: actor.branch.clone(),
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: None,
            changes: serde_json::json!({ "print": ticket.print_count }),
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.push(EventType::TicketPrinted);
        Ok(TicketChange {
            ticket,
            entries: lapsed.into_iter().chain([entry]).collect(),
            report: None,
            events,
        })
    }

    /// The platform's print run advances it: queued → printed → shipped, in that order.
    pub fn platform_print(
        &self,
        step: PlatformPrintStep,
        operator: &AccountName,
        now: DateTime<Utc>,
    ) -> Result<TicketChange, Error> {
        let expected = match step {
            PlatformPrintStep::Printed => PrintStatus::AwaitingPlatformPrint,
            PlatformPrintStep::Shipped => PrintStatus::PlatformPrinted,
        };
        if self.delivery_method != DeliveryMethod::PaperByPlatform
            || self.print_status != Some(expected)
        {
            return Err(
                Error::new(ErrorCode::TicketNotPrintable).with_detail(format!(
                    "ticket {}: not {} in the platform's print run",
                    self.ticket_no,
                    match step {
                        PlatformPrintStep::Printed => "waiting to be printed",
                        PlatformPrintStep::Shipped => "printed and waiting to be shipped",
                    }
                )),
            );
        }
        let (mut ticket, lapsed) = self.as_of(now);
        ticket.print_status = Some(match step {
            PlatformPrintStep::Printed => PrintStatus::PlatformPrinted,
            PlatformPrintStep::Shipped => PrintStatus::Shipped,
        });
        if step == PlatformPrintStep::Printed {
            ticket.print_count += 1;
        }
        ticket.updated_at = now;
        let entry = TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at: now,
            action: step.name().to_owned(),
            by_merchant: ticket.merchant_id.clone(),
            by_account: operator.clone(),
            branch: None,
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: None,
            changes: serde_json::json!({ "print": ticket.print_count }),
        };
        let mut events: Vec<EventType> = lapsed.iter().map(|_| EventType::TicketLapsed).collect();
        events.push(EventType::TicketPrinted);
        Ok(TicketChange {
            ticket,
            entries: lapsed.into_iter().chain([entry]).collect(),
            report: None,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rights, Role};
    use crate::ticket::tests_support::ticket;
    use crate::values::MerchantId;
    use chrono::TimeZone;

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

    fn paper(method: DeliveryMethod, status: Option<PrintStatus>) -> Ticket {
        let mut t = ticket();
        t.delivery_method = method;
        t.print_status = status;
        t
    }

    #[test]
    fn each_print_counts_and_says_which_it_was() {
        let now = ticket().issued_at + Duration::hours(1);
        let first = paper(
            DeliveryMethod::PaperByMerchant,
            Some(PrintStatus::AwaitingMerchantPrint),
        )
        .print(&admin(), now)
        .unwrap();
        assert_eq!(first.ticket.print_count, 1);
        assert_eq!(first.ticket.print_status, None, "off the waiting list");
        assert_eq!(first.entries[0].changes["print"], 1);
        assert_eq!(first.events, vec![EventType::TicketPrinted]);
        let again = first.ticket.print(&admin(), now).unwrap();
        assert_eq!(again.ticket.print_count, 2);
    }

    #[test]
    fn only_the_merchants_unused_paper_tickets_are_printed() {
        let now = ticket().issued_at + Duration::hours(1);
        let code = |t: Ticket| t.print(&admin(), now).unwrap_err().code;
        assert_eq!(code(ticket()), ErrorCode::TicketNotPrintable);
        assert_eq!(
            code(paper(DeliveryMethod::PaperByPlatform, None)),
            ErrorCode::TicketNotPrintable
        );
        let mut used = paper(DeliveryMethod::PaperByMerchant, None);
        used.status = TicketStatus::Used;
        assert_eq!(code(used), ErrorCode::TicketNotPrintable);
    }

    #[test]
    fn the_platforms_run_goes_printed_then_shipped() {
        let now = ticket().issued_at + Duration::hours(1);
        let ops = AccountName::parse_login("o", "ops").unwrap();
        let queued = paper(
            DeliveryMethod::PaperByPlatform,
            Some(PrintStatus::AwaitingPlatformPrint),
        );
        assert!(queued
            .platform_print(PlatformPrintStep::Shipped, &ops, now)
            .is_err());
        let printed = queued
            .platform_print(PlatformPrintStep::Printed, &ops, now)
            .unwrap()
            .ticket;
        assert_eq!(
            (printed.print_status, printed.print_count),
            (Some(PrintStatus::PlatformPrinted), 1)
        );
        assert!(
            printed
                .platform_print(PlatformPrintStep::Printed, &ops, now)
                .is_err(),
            "once"
        );
        let shipped = printed
            .platform_print(PlatformPrintStep::Shipped, &ops, now)
            .unwrap()
            .ticket;
        assert_eq!(shipped.print_status, Some(PrintStatus::Shipped));
    }

    #[test]
    fn the_reminder_covers_21_00_to_21_00_taipei() {
        let (from, to) = reminder_window(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap());
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 12, 2, 13, 0, 0).unwrap());
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 12, 3, 13, 0, 0).unwrap());
    }
}
