//! Issued orders (已發行訂單管理, §7-3 C): what a change of buyer and a resend of the issue
//! notice may do, per delivery type. Pure: the caller reads the order's tickets and asks.
//!
//! | delivery   | change buyer                          | resend                         |
//! |------------|---------------------------------------|--------------------------------|
//! | ibon       | not once printed; new pickup code; notices | not once printed          |
//! | electronic | not while a ticket is given; new link; notices | always, to the buyer only |
//! | paper      | not once printed; no notice           | not offered                    |
//!
//! "Printed" is a ticket's print count (paper printing). For ibon tickets the convenience
//! store's system would report a print; Tessera has no such feed, so an ibon ticket counts
//! as not printed.

use crate::error::{Error, ErrorCode};
use crate::merchant::DeliveryMethod;
use crate::ticket::Ticket;

/// What the order's tickets say about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderTickets {
    /// A ticket is given to someone now (electronic).
    pub any_transferred: bool,
    /// A ticket was printed at least once (paper).
    pub any_printed: bool,
}

impl OrderTickets {
    pub fn of<'a>(tickets: impl IntoIterator<Item = &'a Ticket>) -> OrderTickets {
        tickets
            .into_iter()
            .fold(OrderTickets::default(), |facts, t| OrderTickets {
                any_transferred: facts.any_transferred || t.transfer_id.is_some(),
                any_printed: facts.any_printed || t.print_count > 0,
            })
    }
}

fn is_paper(method: DeliveryMethod) -> bool {
    matches!(
        method,
        DeliveryMethod::PaperByMerchant | DeliveryMethod::PaperByPlatform
    )
}

fn is_electronic(method: DeliveryMethod) -> bool {
    crate::issuance::needs_email(method)
}

/// Whether the order's buyer may change now.
pub fn check_change_buyer(method: DeliveryMethod, tickets: OrderTickets) -> Result<(), Error> {
    if is_electronic(method) && tickets.any_transferred {
        return Err(Error::new(ErrorCode::OrderTicketsTransferred));
    }
    if !is_electronic(method) && tickets.any_printed {
        return Err(Error::new(ErrorCode::OrderTicketsPrinted));
    }
    Ok(())
}

/// Whether a change of buyer tells anyone (paper: the merchant tells the buyer itself).
pub fn change_buyer_notifies(method: DeliveryMethod) -> bool {
    !is_paper(method)
}

/// Whether the issue notice may be sent again now.
pub fn check_resend(method: DeliveryMethod, tickets: OrderTickets) -> Result<(), Error> {
    if is_paper(method) {
        return Err(Error::new(ErrorCode::ResendNotOffered));
    }
    if method == DeliveryMethod::Ibon && tickets.any_printed {
        return Err(Error::new(ErrorCode::OrderTicketsPrinted));
    }
    Ok(())
}

impl Ticket {
    /// The ticket after its order's buyer changed to `buyer` (and, for ibon, to a new
    /// pickup code): the buyer, and the holder unless the ticket is given to someone.
    /// `None` when it already says so (a change followed twice changes nothing).
    pub fn follow_buyer(
        &self,
        buyer: &crate::ticket::Person,
        pickup_code: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<crate::ticket::TicketChange> {
        if &self.buyer == buyer && self.pickup_code.as_deref() == pickup_code {
            return None;
        }
        let (mut ticket, lapsed) = self.as_of(at);
        ticket.buyer = buyer.clone();
        if ticket.transfer_id.is_none() {
            ticket.holder = buyer.clone();
        }
        ticket.pickup_code = pickup_code.map(str::to_owned);
        ticket.updated_at = at;
        let entry = crate::ticket::TicketHistoryEntry {
            ticket_no: ticket.ticket_no.clone(),
            at,
            action: "buyer_changed".to_owned(),
            by_merchant: ticket.merchant_id.clone(),
            by_account: crate::values::AccountName::system(),
            branch: None,
            before: Some(ticket.status),
            after: Some(ticket.status),
            reason: None,
            changes: serde_json::json!({ "import_no": ticket.import_no, "buyer": buyer.name }),
        };
        let events = lapsed
            .iter()
            .map(|_| crate::events::EventType::TicketLapsed)
            .collect();
        Some(crate::ticket::TicketChange {
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
    use DeliveryMethod::*;

    const CLEAN: OrderTickets = OrderTickets {
        any_transferred: false,
        any_printed: false,
    };
    const GIVEN: OrderTickets = OrderTickets {
        any_transferred: true,
        any_printed: false,
    };
    const PRINTED: OrderTickets = OrderTickets {
        any_transferred: false,
        any_printed: true,
    };

    fn code(result: Result<(), Error>) -> Option<ErrorCode> {
        result.err().map(|e| e.code)
    }

    #[test]
    fn the_manuals_table_of_change_buyer() {
        use ErrorCode::*;
        for (method, facts, expected) in [
            (Ibon, CLEAN, None),
            (Ibon, PRINTED, Some(OrderTicketsPrinted)),
            (ElectronicImmediate, CLEAN, None),
            (ElectronicDeferred, GIVEN, Some(OrderTicketsTransferred)),
            (ElectronicImmediate, PRINTED, None),
            (PaperByMerchant, CLEAN, None),
            (PaperByMerchant, PRINTED, Some(OrderTicketsPrinted)),
            (PaperByPlatform, PRINTED, Some(OrderTicketsPrinted)),
        ] {
            assert_eq!(
                code(check_change_buyer(method, facts)),
                expected,
                "{method:?} {facts:?}"
            );
        }
        assert!(change_buyer_notifies(Ibon) && change_buyer_notifies(ElectronicImmediate));
        assert!(!change_buyer_notifies(PaperByMerchant));
    }

    #[test]
    fn the_manuals_table_of_resend() {
        use ErrorCode::*;
        for (method, facts, expected) in [
            (Ibon, CLEAN, None),
            (Ibon, PRINTED, Some(OrderTicketsPrinted)),
            (ElectronicImmediate, GIVEN, None),
            (PaperByMerchant, CLEAN, Some(ResendNotOffered)),
            (PaperByPlatform, CLEAN, Some(ResendNotOffered)),
        ] {
            assert_eq!(
                code(check_resend(method, facts)),
                expected,
                "{method:?} {facts:?}"
            );
        }
    }

    #[test]
    fn tickets_follow_their_orders_buyer_once_and_a_gift_keeps_its_holder() {
        let ticket = crate::ticket::tests_support::ticket();
        let at = ticket.issued_at + chrono::Duration::hours(1);
        let new = crate::ticket::Person {
            name: "陳新".into(),
            mobile: "0933000111".into(),
            email: None,
        };
        let change = ticket.follow_buyer(&new, Some("PICK"), at).unwrap();
        assert_eq!((&change.ticket.buyer, &change.ticket.holder), (&new, &new));
        assert_eq!(change.ticket.pickup_code.as_deref(), Some("PICK"));
        assert_eq!(change.entries[0].action, "buyer_changed");
        assert!(change.ticket.follow_buyer(&new, Some("PICK"), at).is_none());
        let mut gifted = ticket.clone();
        gifted.transfer_id = Some("TR1".into());
        let followed = gifted.follow_buyer(&new, None, at).unwrap().ticket;
        assert_eq!(followed.buyer, new);
        assert_eq!(
            followed.holder, ticket.holder,
            "the recipient still holds it"
        );
    }

    #[test]
    fn facts_come_from_the_tickets() {
        let mut a = crate::ticket::tests_support::ticket();
        let b = a.clone();
        assert_eq!(OrderTickets::of([&a, &b]), CLEAN);
        a.transfer_id = Some("TR1".into());
        assert!(OrderTickets::of([&a, &b]).any_transferred);
        a.print_count = 2;
        assert!(OrderTickets::of([&a]).any_printed);
    }
}
