//! What one row writes, drawn once per attempt: the issued order, the paid order's change,
//! the tickets with their codes, and what is written beside and after the transaction.

use chrono::{DateTime, Utc};
use serde_json::json;
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::orders::{OrderEvent, OrderStatus};
use tessera_domain::tickets::{self, RedemptionCode, TicketNumber, TicketStatus};
use tessera_domain::Error;
use tessera_platform::random::random_bytes;
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::issuance::{
    issued_order_write, BatchRecord, IssuedOrderRecord, IssuedOrderStatus, IssuedTicket,
    PlannedRow, RowOutcome, RowResult,
};
use tessera_platform::store::links::{link_claim_write, LinkTarget};
use tessera_platform::store::orders::{order_write, OrderRecord};
use tessera_platform::store::products::ProductRecord;
use tessera_platform::store::tickets::{
    new_ticket_write, ticket_prelude, Person, PrintStatus, Ticket,
};
use tessera_platform::store::Versioned;
use tessera_platform::store::{Item, Write, MAX_TRANSACTION_WRITES};

/// The paid order's "issued" history entry. It is written after the row commits, not in
/// its transaction (an entry in a transaction costs as much as a ticket), and is derived
/// from the issued order alone, so a repair writes the very same item.
pub(crate) fn order_history_item(
    batch: &BatchRecord,
    issued: &IssuedOrderRecord,
) -> Result<Option<Item>, Error> {
    let (Some(trade_no), Some(version)) = (&issued.trade_no, issued.order_version) else {
        return Ok(None);
    };
    let entry = HistoryEntry::new(
        &batch.merchant_id,
        &batch.created_by,
        issued.issued_at,
        "order",
        trade_no.as_str(),
        "issued",
        json!({"import_no": issued.import_no, "batch_id": batch.batch_id,
            "status": {"before": "unissued", "after": "issued"}}),
    );
    Ok(Some(entry.write(version)?.item))
}

/// The issued order's own prelude: the claim of the buyer's e-ticket link, if it has one.
/// Not in the row's transaction: a claim is an unconditional put of a fresh 160-bit token,
/// and the ticket page serves a claim only when the issued order it names carries that
/// token, so a claim left behind by a row that did not commit shows nothing. Derived from
/// the issued order alone, so a repair writes the very same item.
pub(crate) fn issued_order_prelude(issued: &IssuedOrderRecord) -> Result<Vec<Item>, Error> {
    let Some(token) = &issued.link_token else {
        return Ok(Vec::new());
    };
    let target = LinkTarget::Order {
        merchant_id: issued.merchant_id.clone(),
        import_no: issued.import_no.clone(),
    };
    Ok(vec![link_claim_write(token, &target)?.item])
}

/// A pending row that passed its checks, with what it is issued from: its product and
/// its paid order as read now.
pub(crate) struct RowJob {
    pub(crate) planned: PlannedRow,
    pub(crate) product: ProductRecord,
    pub(crate) order: Option<OrderRecord>,
}

impl RowJob {
    /// How many writes the row's transaction holds: its issued order, its paid order's
    /// change if it has one, and its tickets ([`RowDraft::single_transaction`]).
    pub(crate) fn transaction_writes(&self) -> usize {
        1 + usize::from(self.order.is_some()) + self.planned.row.quantity as usize
    }
}

/// Everything one row writes, drawn once per attempt.
pub(crate) struct RowDraft {
    pub(crate) issued_order: IssuedOrderRecord,
    pub(crate) order: Option<OrderRecord>,
    pub(crate) tickets: Vec<Ticket>,
    pub(crate) result: RowResult,
}

impl RowDraft {
    /// The issued order (the import-number claim; first) and the paid order's change.
    pub(crate) fn head_writes(&self) -> Result<Vec<Write>, Error> {
        let mut head = vec![issued_order_write(&self.issued_order)?];
        if let Some(order) = &self.order {
            head.push(order_write(order)?);
        }
        Ok(head)
    }

    /// Every write of the row (its head, then one per ticket), if they fit in one
    /// transaction.
    pub(crate) fn single_transaction(&self) -> Result<Option<Vec<Write>>, Error> {
        let mut writes = self.head_writes()?;
        if writes.len() + self.tickets.len() >= MAX_TRANSACTION_WRITES {
            return Ok(None);
        }
        for ticket in &self.tickets {
            writes.push(new_ticket_write(ticket)?);
        }
        Ok(Some(writes))
    }

    /// What is written beside the transaction: the claim of the buyer's e-ticket link and
    /// every ticket's prelude (its first history entry).
    pub(crate) fn prelude(&self) -> Result<Vec<Item>, Error> {
        let mut items = issued_order_prelude(&self.issued_order)?;
        for ticket in &self.tickets {
            items.extend(ticket_prelude(ticket)?);
        }
        Ok(items)
    }

    pub(crate) fn new(
        batch: &BatchRecord,
        planned: &PlannedRow,
        product: &ProductRecord,
        order: Option<OrderRecord>,
        now: DateTime<Utc>,
    ) -> Result<RowDraft, Error> {
        let row = &planned.row;
        let method = batch.delivery_method;
        let electronic = tessera_domain::issuance::needs_email(method);
        let link_token = if electronic {
            Some(tickets::link_token(random_bytes()?))
        } else {
            None
        };
        let pickup_code = match method {
            DeliveryMethod::Ibon => Some(tickets::pickup_code(random_bytes()?)),
            _ => None,
        };
        let print_status = match method {
            DeliveryMethod::PaperByMerchant => Some(PrintStatus::AwaitingMerchantPrint),
            DeliveryMethod::PaperByPlatform => Some(PrintStatus::AwaitingPlatformPrint),
            _ => None,
        };
        let buyer = Person {
            name: row.buyer_name.clone(),
            mobile: row.buyer_mobile.as_str().to_owned(),
            email: row.buyer_email.clone(),
        };
        let mut drawn = Vec::with_capacity(row.quantity as usize);
        for offset in 0..u64::from(row.quantity) {
            let sequence = planned.first_sequence + offset;
            let ticket_no = TicketNumber::from_sequence(sequence);
            let ticket = Ticket {
                ticket_no: ticket_no.clone(),
                merchant_id: batch.merchant_id.clone(),
                product_id: product.product_id.clone(),
                product_name: product.spec.name.clone(),
                kind: product.spec.kind,
                face_value: product.spec.face_value,
                term_ends_on: tickets::term_ends_on(now, product.spec.term_days),
                valid_from: batch.valid_from,
                notify_url: batch.notify_url.clone(),
                status: TicketStatus::Unused,
                redemption_code: RedemptionCode::generate(sequence, random_bytes()?),
                transfer_id: None,
                return_requested_at: None,
                return_request_reason: None,
                pickup_code: pickup_code.clone(),
                delivery_method: method,
                print_status,
                print_count: 0,
                batch_id: batch.batch_id.clone(),
                import_no: row.import_no.clone(),
                trade_no: row.trade_no.clone(),
                buyer: buyer.clone(),
                holder: buyer.clone(),
                issued_by: batch.created_by.clone(),
                issued_branch: batch.branch.clone(),
                issued_at: now,
                updated_at: now,
                redeemed_at: None,
                redeemed_by: None,
                redeemed_branch: None,
                returned_at: None,
                returned_branch: None,
                return_fee: None,
                bank_update_at: None,
                version: 1,
            };
            drawn.push(ticket);
        }
        // The paid order becomes issued (the rows were checked issuable); its write is
        // conditional on the version it was read at, one version on (order_write).
        let order = match order {
            Some(mut order) => {
                // check_rows let the row through: the order is unissued, or issued by this
                // very batch (a redelivery, whose writes then find the row committed).
                order.status = match order.status {
                    OrderStatus::Issued => OrderStatus::Issued,
                    unissued => unissued.after(OrderEvent::Issue)?,
                };
                order.updated_at = now;
                order.set_version(order.version() + 1);
                Some(order)
            }
            None => None,
        };
        let result = RowResult {
            batch_id: batch.batch_id.clone(),
            index: planned.index,
            row: row.row,
            import_no: row.import_no.clone(),
            outcome: RowOutcome::Issued,
            error_code: None,
            reason: None,
            tickets: drawn
                .iter()
                .map(|t| IssuedTicket {
                    ticket_no: t.ticket_no.clone(),
                })
                .collect(),
            pickup_code: pickup_code.clone(),
            link_token: link_token.clone(),
            at: now,
        };
        let issued_order = IssuedOrderRecord {
            merchant_id: batch.merchant_id.clone(),
            import_no: row.import_no.clone(),
            batch_id: batch.batch_id.clone(),
            row_index: planned.index,
            trade_no: row.trade_no.clone(),
            product_id: product.product_id.clone(),
            quantity: row.quantity,
            face_value: product.spec.face_value,
            buyer_name: row.buyer_name.clone(),
            buyer_mobile: row.buyer_mobile.as_str().to_owned(),
            buyer_email: row.buyer_email.clone(),
            remark: row.remark.clone(),
            delivery_method: method,
            first_sequence: planned.first_sequence,
            pickup_code,
            link_token,
            branch: batch.branch.clone(),
            tickets: result.tickets.clone(),
            status: IssuedOrderStatus::Issued,
            issued_at: now,
            version: 1,
            order_version: order.as_ref().map(|o| o.version),
        };
        Ok(RowDraft {
            issued_order,
            order,
            tickets: drawn,
            result,
        })
    }
}
