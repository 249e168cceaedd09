//! An issued order's tickets following its buyer (the outbox's `ticket_buyers` consumer):
//! a change of buyer rewrites the order and its link at once, and the tickets (up to a
//! thousand, more than a transaction holds) follow in transactions of a few each.

use crate::change::{ChangeEngine, Changes, Decision};
use crate::lifecycle::add_ticket_change;
use crate::store::issuance::IssuedOrderRecord;
use crate::store::outbox::OutboxEvent;
use crate::store::Table;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::events::EventType;
use tessera_domain::ticket::Person;
use tessera_domain::tickets::TicketNumber;
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// Tickets rewritten per transaction: each is a ticket, its history entry and perhaps a
/// lapse's event.
const TICKETS_PER_TRANSACTION: usize = 25;

/// What an `order.buyer_changed` event carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuyerChanged {
    pub merchant_id: MerchantId,
    pub import_no: String,
}

impl BuyerChanged {
    pub fn of(event: &OutboxEvent) -> Result<BuyerChanged, Error> {
        serde_json::from_str(&event.data).map_err(|e| crate::store::outbox::unreadable(event, &e))
    }
}

/// The order's buyer as a person.
pub fn buyer_of(order: &IssuedOrderRecord) -> Person {
    Person {
        name: order.buyer_name.clone(),
        mobile: order.buyer_mobile.clone(),
        email: order.buyer_email.clone(),
    }
}

/// The event of a change of buyer that produced `version` of the order.
pub fn buyer_changed_event(
    order: &IssuedOrderRecord,
    version: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<OutboxEvent, Error> {
    OutboxEvent::new(
        format!(
            "issued-{}-{}-v{version}",
            order.merchant_id, order.import_no
        ),
        EventType::OrderBuyerChanged,
        &order.merchant_id,
        at,
        &order.import_no,
        &BuyerChanged {
            merchant_id: order.merchant_id.clone(),
            import_no: order.import_no.clone(),
        },
    )
}

/// Brings the order's tickets in line with the order as it stands now (not as the event
/// says: a later change wins, and following twice changes nothing). How many tickets
/// changed.
pub async fn follow_buyer(
    table: &Table,
    clock: Arc<dyn Clock>,
    changed: &BuyerChanged,
) -> Result<usize, Error> {
    let Some(order) = table
        .get_issued_order(&changed.merchant_id, &changed.import_no)
        .await?
    else {
        return Ok(0);
    };
    let buyer = buyer_of(&order);
    let numbers: Vec<TicketNumber> = order.tickets.iter().map(|t| t.ticket_no.clone()).collect();
    let engine = ChangeEngine::new(table.clone(), clock);
    let mut followed = 0;
    for chunk in numbers.chunks(TICKETS_PER_TRANSACTION) {
        let (buyer, pickup) = (&buyer, order.pickup_code.as_deref());
        followed += engine
            .run(None, 200, |now| async move {
                let mut changes = Changes::new();
                let mut count = 0;
                for ticket in table.get_tickets(chunk).await? {
                    if let Some(change) = ticket.follow_buyer(buyer, pickup, now) {
                        add_ticket_change(&mut changes, &ticket, change)?;
                        count += 1;
                    }
                }
                Ok(Decision::new(changes, count))
            })
            .await?;
    }
    Ok(followed)
}
