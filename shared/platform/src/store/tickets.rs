//! Tickets: one item per ticket under its own partition (a ticket is reached by number or,
//! through its claim item, by redemption code or link token), with its history beside it.
//! On GSI1 by merchant and issue time, on GSI2 by issued order, and on the sparse GSI3
//! while a paper ticket waits to be printed.

use super::{from_item, internal, key, keys, to_item, Expect, Gsi, Item, SortKeys, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::products::TicketKind;
use tessera_domain::tickets::{self, TicketStatus};
use tessera_domain::values::{AccountName, BranchCode, MerchantId};
use tessera_domain::Error;

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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub ticket_no: String,
    pub merchant_id: MerchantId,
    pub product_id: String,
    pub product_name: String,
    pub kind: TicketKind,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    /// Last day of escrow (goods) or of validity (gift), Taipei.
    pub term_ends_on: NaiveDate,
    pub status: TicketStatus,
    pub redemption_code: String,
    #[serde(default)]
    pub link_token: Option<String>,
    #[serde(default)]
    pub pickup_code: Option<String>,
    pub delivery_method: DeliveryMethod,
    #[serde(default)]
    pub print_status: Option<PrintStatus>,
    pub batch_id: String,
    pub import_no: String,
    #[serde(default)]
    pub trade_no: Option<String>,
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
    /// When the bank is told of the pending return (issue day + 2, 01:00 for a ticket
    /// issued and returned the same day; otherwise the next day, 01:00).
    #[serde(default)]
    pub bank_update_at: Option<DateTime<Utc>>,
    pub version: u64,
}

/// One entry of a ticket's history (issuance, every status change, remarks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketHistoryEntry {
    pub ticket_no: String,
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

fn ticket_item(ticket: &TicketRecord) -> Result<Item, Error> {
    let mut item = to_item(ticket, keys::ticket(&ticket.ticket_no), keys::TICKET)?;
    let merchant = ticket.merchant_id.as_str();
    let mut index = |name: &str, value: String| {
        item.insert(name.to_owned(), AttributeValue::S(value));
    };
    index(keys::GSI1PK, keys::tickets_of(merchant));
    index(
        keys::GSI1SK,
        keys::ticket_timeline(ticket.issued_at, &ticket.ticket_no),
    );
    index(
        keys::GSI2PK,
        keys::tickets_of_issued_order(merchant, &ticket.import_no),
    );
    index(keys::GSI2SK, ticket.ticket_no.clone());
    match ticket.print_status {
        Some(PrintStatus::AwaitingPlatformPrint) => {
            index(keys::GSI3PK, keys::PLATFORM_PRINT_QUEUE.to_owned());
            index(keys::GSI3SK, format!("{merchant}#{}", ticket.ticket_no));
        }
        Some(PrintStatus::AwaitingMerchantPrint) => {
            index(keys::GSI3PK, keys::merchant_print_queue(merchant));
            index(keys::GSI3SK, ticket.ticket_no.clone());
        }
        None => {}
    }
    Ok(item)
}

/// A ticket link's claim: the ticket (and its issuer) the token leads to.
fn link_claim_item(token: &str, ticket: &TicketRecord) -> Item {
    let mut item = key(keys::ticket_link(token), keys::LINK);
    item.insert(
        "ticket_no".to_owned(),
        AttributeValue::S(ticket.ticket_no.clone()),
    );
    item.insert(
        "merchant_id".to_owned(),
        AttributeValue::S(ticket.merchant_id.as_str().to_owned()),
    );
    item
}

/// The conditional write that creates a ticket, only if its number is new. Its
/// redemption code spells that number, so codes are unique platform-wide with it.
pub fn new_ticket_write(ticket: &TicketRecord) -> Result<Write, Error> {
    Ok(Write {
        item: ticket_item(ticket)?,
        expect: Expect::Absent,
    })
}

/// A ticket's first history entry, derived from the ticket alone, so that it can be
/// written (or written again, on a retry or a repair) without anything else.
pub fn issued_entry(ticket: &TicketRecord) -> TicketHistoryEntry {
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
/// changes nothing) and its link claim (a 160-bit random token; a claim left by an attempt
/// that did not commit points at a ticket that does not carry it, and lookups check that).
pub fn ticket_prelude(ticket: &TicketRecord) -> Result<Vec<Item>, Error> {
    let mut items = vec![to_item(
        &issued_entry(ticket),
        keys::ticket(&ticket.ticket_no),
        &keys::ticket_history(1),
    )?];
    if let Some(token) = &ticket.link_token {
        items.push(link_claim_item(token, ticket));
    }
    Ok(items)
}

impl Table {
    pub async fn get_ticket(&self, ticket_no: &str) -> Result<Option<TicketRecord>, Error> {
        self.get(keys::ticket(ticket_no), keys::TICKET).await
    }

    pub async fn get_tickets(&self, ticket_nos: &[String]) -> Result<Vec<TicketRecord>, Error> {
        let keys = ticket_nos
            .iter()
            .map(|no| key(keys::ticket(no), keys::TICKET))
            .collect();
        self.get_many(keys).await
    }

    /// The ticket a (normalised) redemption code belongs to, platform-wide (the caller
    /// checks tenancy): the one whose number the code spells, if it carries this very code.
    pub async fn ticket_by_code(&self, code: &str) -> Result<Option<TicketRecord>, Error> {
        let Some(ticket_no) = tickets::ticket_number_in_code(code) else {
            return Ok(None);
        };
        Ok(self
            .get_ticket(&ticket_no)
            .await?
            .filter(|t| tickets::same_code(code, &t.redemption_code)))
    }

    /// The ticket behind a ticket link (the consumer's page). Only a ticket that carries
    /// the token answers: a claim left by an attempt that never committed leads nowhere.
    pub async fn ticket_by_link(&self, token: &str) -> Result<Option<TicketRecord>, Error> {
        let claim: Option<Item> = self
            .get_item_raw(keys::ticket_link(token), keys::LINK)
            .await?;
        let Some(ticket_no) = claim
            .as_ref()
            .and_then(|c| c.get("ticket_no"))
            .and_then(|v| v.as_s().ok())
        else {
            return Ok(None);
        };
        Ok(self
            .get_ticket(ticket_no)
            .await?
            .filter(|t| t.link_token.as_deref() == Some(token)))
    }

    pub async fn ticket_history(&self, ticket_no: &str) -> Result<Vec<TicketHistoryEntry>, Error> {
        self.query_prefix(
            keys::ticket(ticket_no),
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
    ) -> Result<Vec<TicketRecord>, Error> {
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

/// A ticket event for the reports (circulation, branch, cross-store): one per change, under
/// the issuer and, when a store acted, under the store too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: DateTime<Utc>,
    pub ticket_no: String,
    /// The ticket version the change produced.
    pub version: u64,
    pub operation: String,
    pub issuer: MerchantId,
    pub product_id: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    pub by_merchant: MerchantId,
    #[serde(default)]
    pub branch: Option<BranchCode>,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub fee: Option<Decimal>,
}

fn event_item(event: &TicketEvent, owner: &MerchantId) -> Result<Item, Error> {
    let date = tessera_domain::calendar::taipei_date(event.at);
    let mut item = to_item(
        event,
        keys::ticket_events(owner.as_str(), date),
        &keys::ticket_event(event.at, &event.ticket_no, event.version),
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
                &event.ticket_no,
                event.version,
            )),
        );
    }
    Ok(item)
}

/// A ticket change as one transaction: the ticket (conditional on the version it was read
/// at), its history entries, the report events, and whatever else must commit with it (an
/// idempotency record).
pub struct TicketChange {
    pub ticket: TicketRecord,
    /// One entry per version step, oldest first, the last at the ticket's new version:
    /// usually one; two when the ticket's term ran out since it was last written (the
    /// lapse, then the change).
    pub entries: Vec<TicketHistoryEntry>,
    pub event: Option<TicketEvent>,
    pub extra: Vec<Write>,
}

impl Table {
    pub async fn apply_ticket_change(&self, change: TicketChange) -> Result<(), Error> {
        let ticket = &change.ticket;
        let steps = change.entries.len() as u64;
        let read_at = ticket
            .version
            .checked_sub(steps)
            .filter(|_| steps > 0)
            .ok_or_else(|| internal(&"a ticket change needs a history entry per version"))?;
        let mut writes = vec![Write {
            item: ticket_item(ticket)?,
            expect: Expect::Version(read_at),
        }];
        for (version, entry) in (read_at + 1..).zip(&change.entries) {
            writes.push(Write {
                item: to_item(
                    entry,
                    keys::ticket(&ticket.ticket_no),
                    &keys::ticket_history(version),
                )?,
                expect: Expect::Absent,
            });
        }
        if let Some(event) = &change.event {
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
        writes.extend(change.extra);
        self.transact(writes, tessera_domain::ErrorCode::ConcurrentChange)
            .await
    }

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
