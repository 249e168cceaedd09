//! Tickets: one item per ticket under its own partition (reached by number, or by its
//! redemption code, which spells the number), with its history beside it.
//! On GSI1 by merchant and issue time, on GSI2 by issued order, and on the sparse GSI3
//! while a paper ticket waits to be printed; on the sparse GSI4 (the daily job's worklist)
//! while the platform has a step to take on it by itself.

use super::{from_item, internal, key, keys, to_item, Expect, Gsi, Item, SortKeys, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::tickets::{RedemptionCode, TicketNumber, TicketStatus};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

pub use tessera_domain::ticket::{Person, PrintStatus, Ticket, TicketEvent, TicketHistoryEntry};

fn ticket_item(ticket: &Ticket) -> Result<Item, Error> {
    let mut item = to_item(
        ticket,
        keys::ticket(ticket.ticket_no.as_str()),
        keys::TICKET,
    )?;
    let merchant = ticket.merchant_id.as_str();
    let mut index = |name: &str, value: String| {
        item.insert(name.to_owned(), AttributeValue::S(value));
    };
    index(keys::GSI1PK, keys::tickets_of(merchant));
    index(
        keys::GSI1SK,
        keys::ticket_timeline(ticket.issued_at, ticket.ticket_no.as_str()),
    );
    index(
        keys::GSI2PK,
        keys::tickets_of_issued_order(merchant, &ticket.import_no),
    );
    index(keys::GSI2SK, ticket.ticket_no.to_string());
    // The merchant's paper tickets, printed or not, by issue time (the paper-printing
    // list); the platform's, while its print run has them (queued, printed, not shipped).
    match (ticket.delivery_method, ticket.print_status) {
        (DeliveryMethod::PaperByMerchant, _) => {
            index(keys::GSI3PK, keys::merchant_print_queue(merchant));
            index(
                keys::GSI3SK,
                keys::ticket_timeline(ticket.issued_at, ticket.ticket_no.as_str()),
            );
        }
        (
            DeliveryMethod::PaperByPlatform,
            Some(PrintStatus::AwaitingPlatformPrint | PrintStatus::PlatformPrinted),
        ) => {
            index(keys::GSI3PK, keys::PLATFORM_PRINT_QUEUE.to_owned());
            index(keys::GSI3SK, format!("{merchant}#{}", ticket.ticket_no));
        }
        _ => {}
    }
    if let Some(step) = ticket.next_system_step() {
        let no = ticket.ticket_no.as_str();
        index(keys::GSI4PK, keys::tickets_due(keys::due_shard(no)));
        index(keys::GSI4SK, keys::ticket_due(step.due_at, no));
    }
    Ok(item)
}

/// The conditional write that creates a ticket, only if its number is new. Its
/// redemption code spells that number, so codes are unique platform-wide with it.
pub fn new_ticket_write(ticket: &Ticket) -> Result<Write, Error> {
    Ok(Write {
        item: ticket_item(ticket)?,
        expect: Expect::Absent,
    })
}

/// A ticket's first history entry, derived from the ticket alone, so that it can be
/// written (or written again, on a retry or a repair) without anything else.
pub fn issued_entry(ticket: &Ticket) -> TicketHistoryEntry {
    TicketHistoryEntry {
        ticket_no: ticket.ticket_no.clone(),
        at: ticket.issued_at,
        action: "issued".to_owned(),
        by_merchant: ticket.merchant_id.clone(),
        by_account: ticket.issued_by.clone(),
        branch: ticket.issued_branch.clone(),
        before: None,
        after: Some(TicketStatus::Unused),
        reason: None,
        changes: serde_json::json!({
            "batch_id": ticket.batch_id,
            "import_no": ticket.import_no,
            "kind": ticket.kind,
            tessera_domain::tickets::term_name(ticket.kind): ticket.term_ends_on,
        }),
    }
}

/// What goes with a ticket but outside its transaction, unconditionally: its first history
/// entry (keyed by ticket number and version 1, derived from the ticket: writing it again
/// changes nothing).
pub fn ticket_prelude(ticket: &Ticket) -> Result<Vec<Item>, Error> {
    Ok(vec![to_item(
        &issued_entry(ticket),
        keys::ticket(ticket.ticket_no.as_str()),
        &keys::ticket_history(1),
    )?])
}

impl Table {
    pub async fn get_ticket(&self, ticket_no: &TicketNumber) -> Result<Option<Ticket>, Error> {
        self.get(keys::ticket(ticket_no.as_str()), keys::TICKET)
            .await
    }

    pub async fn get_tickets(&self, ticket_nos: &[TicketNumber]) -> Result<Vec<Ticket>, Error> {
        let keys = ticket_nos
            .iter()
            .map(|no| key(keys::ticket(no.as_str()), keys::TICKET))
            .collect();
        self.get_many(keys).await
    }

    /// One page of the tickets in a worklist shard whose next step is due by `now`,
    /// earliest first, and where the next page starts. The index is eventually consistent:
    /// the job reads each ticket again before it decides.
    pub async fn tickets_due(
        &self,
        shard: u32,
        now: chrono::DateTime<chrono::Utc>,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<TicketNumber>, Option<Item>), Error> {
        let (index, pk_name, sk_name) = Gsi::Four.names();
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND #sk < :due")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_names("#sk", sk_name)
            .expression_attribute_values(":pk", AttributeValue::S(keys::tickets_due(shard)))
            .expression_attribute_values(":due", AttributeValue::S(keys::due_by(now)))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(super::unavailable)?;
        let ticket_nos = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| match item.get(keys::PK) {
                Some(AttributeValue::S(pk)) => pk
                    .strip_prefix(keys::TICKET_PARTITION_PREFIX)
                    .and_then(|no| TicketNumber::parse("ticket_no", no).ok()),
                _ => None,
            })
            .collect();
        Ok((
            ticket_nos,
            output.last_evaluated_key.filter(|k| !k.is_empty()),
        ))
    }

    /// The ticket a redemption code belongs to, platform-wide (the caller checks tenancy):
    /// the one whose number the code spells, if it carries this very code.
    pub async fn ticket_by_code(&self, code: &RedemptionCode) -> Result<Option<Ticket>, Error> {
        let Some(ticket_no) = code.ticket_number() else {
            return Ok(None);
        };
        Ok(self
            .get_ticket(&ticket_no)
            .await?
            .filter(|t| t.redemption_code.is(code)))
    }

    pub async fn ticket_history(
        &self,
        ticket_no: &TicketNumber,
    ) -> Result<Vec<TicketHistoryEntry>, Error> {
        self.query_prefix(
            keys::ticket(ticket_no.as_str()),
            keys::TICKET_HISTORY_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// The tickets of one issued order, by ticket number.
    pub async fn tickets_of_issued_order(
        &self,
        merchant_id: &MerchantId,
        import_no: &str,
    ) -> Result<Vec<Ticket>, Error> {
        let pk = keys::tickets_of_issued_order(merchant_id.as_str(), import_no);
        self.query_index(Gsi::Two, pk, SortKeys::All)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Ticket numbers waiting in a print queue (GSI3 holds keys only).
    pub async fn print_queue(&self, queue: &str) -> Result<Vec<String>, Error> {
        let ticket_prefix = keys::ticket("");
        let items = self
            .query_index(Gsi::Three, queue.to_owned(), SortKeys::All)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| match item.get(keys::PK) {
                Some(AttributeValue::S(pk)) => pk.strip_prefix(&ticket_prefix).map(str::to_owned),
                _ => None,
            })
            .collect())
    }
}

fn event_item(event: &TicketEvent, owner: &MerchantId) -> Result<Item, Error> {
    let date = tessera_domain::calendar::taipei_date(event.at);
    let mut item = to_item(
        event,
        keys::ticket_events(owner.as_str(), date),
        &keys::ticket_event(event.at, event.ticket_no.as_str(), event.version),
    )?;
    if let (Some(branch), true) = (&event.branch, owner == &event.by_merchant) {
        item.insert(
            keys::GSI2PK.to_owned(),
            AttributeValue::S(keys::branch_events(owner.as_str(), branch.as_str())),
        );
        item.insert(
            keys::GSI2SK.to_owned(),
            AttributeValue::S(keys::ticket_event(
                event.at,
                event.ticket_no.as_str(),
                event.version,
            )),
        );
    }
    Ok(item)
}

/// The writes that commit a decided ticket change read at `read_version`: the ticket at
/// its new version (one step per history entry), conditional on the version it was read
/// at; its history entries under the versions they produced; the report event under the
/// issuer and, when a store acted, under the store. Versions are advanced here, nowhere
/// else.
pub fn ticket_change_writes(
    read_version: u64,
    change: &mut tessera_domain::ticket::TicketChange,
) -> Result<Vec<Write>, Error> {
    let steps = change.entries.len() as u64;
    if steps == 0 {
        return Err(internal(
            &"a ticket change needs a history entry per version",
        ));
    }
    let ticket = &mut change.ticket;
    ticket.version = read_version + steps;
    let mut writes = vec![Write {
        item: ticket_item(ticket)?,
        expect: Expect::Version(read_version),
    }];
    for (version, entry) in (read_version + 1..).zip(&change.entries) {
        writes.push(Write {
            item: to_item(
                entry,
                keys::ticket(ticket.ticket_no.as_str()),
                &keys::ticket_history(version),
            )?,
            expect: Expect::Absent,
        });
    }
    if let Some(event) = &mut change.report {
        event.version = ticket.version;
        writes.push(Write {
            item: event_item(event, &event.issuer)?,
            expect: Expect::Absent,
        });
        if event.by_merchant != event.issuer {
            writes.push(Write {
                item: event_item(event, &event.by_merchant)?,
                expect: Expect::Absent,
            });
        }
    }
    Ok(writes)
}

impl Table {
    /// A merchant's ticket events of one Taipei day, in time order.
    pub async fn ticket_events(
        &self,
        merchant_id: &MerchantId,
        date: NaiveDate,
    ) -> Result<Vec<TicketEvent>, Error> {
        // Every key of the partition starts with its timestamp, so with the year.
        let year = chrono::Datelike::year(&date).to_string();
        self.query_prefix(
            keys::ticket_events(merchant_id.as_str(), date),
            &year,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }
}
