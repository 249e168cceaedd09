//! Ticket operations (redeem, cancel redemption, return, cancel return, remarks) for the
//! redeem and return functions: find the ticket behind a code, decide who the caller is to
//! it, and let the change engine commit what the domain's ticket aggregate decides
//! (`tessera_domain::ticket::Ticket::apply`) with its history, report event, outbox events
//! and idempotency record. A lost race is read again and decided again, so fifty concurrent
//! redemptions end as one success and forty-nine "already redeemed".

use crate::auth::SignedIn;
use crate::change::{ChangeEngine, Changes, Decision, KeyedRequest};
use crate::idempotency::Keyed;
use crate::services::Services;
use crate::session::SessionClaims;
use crate::store::outbox::OutboxEvent;
use crate::store::products::ProductRecord;
use crate::store::relations::RelationRecord;
use crate::store::tickets::{ticket_change_writes, Ticket, TicketHistoryEntry};
use crate::store::Table;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tessera_domain::access::{authorize, Access, Actor, FunctionArea};
use tessera_domain::circulation::TicketFacts;
use tessera_domain::clock::Clock;
use tessera_domain::lifecycle::{product_lists_matter, Operation, Standing};
use tessera_domain::products::ProductId;
use tessera_domain::products::TicketKind;
use tessera_domain::ticket::{Decider, TicketChange, TicketRequest};
use tessera_domain::tickets::{RedemptionCode, TicketNumber, TicketStatus};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};
use utoipa::ToSchema;

/// What an issuer sees of its ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TicketView {
    pub ticket_no: String,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    pub product_id: String,
    pub product_name: String,
    #[schema(value_type = String)]
    pub kind: TicketKind,
    pub face_value: String,
    /// Last day of escrow (goods) or validity (gift), Taipei.
    pub term_ends_on: NaiveDate,
    /// A non-immediate ticket's first valid day (Taipei).
    pub valid_from: Option<NaiveDate>,
    pub issued_at: DateTime<Utc>,
    pub import_no: String,
    pub trade_no: Option<String>,
    pub holder_name: String,
    pub redeemed_at: Option<DateTime<Utc>>,
    pub redeemed_by: Option<String>,
    pub redeemed_branch: Option<String>,
    pub returned_at: Option<DateTime<Utc>>,
    pub returned_branch: Option<String>,
    pub return_fee: Option<String>,
    pub bank_update_at: Option<DateTime<Utc>>,
    /// What the caller may do with it now.
    pub allowed: Vec<String>,
}

/// What a redeeming store sees of another issuer's ticket: enough to redeem it, nothing
/// about its buyer, order or history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoreTicketView {
    pub ticket_no: String,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    pub issuer: String,
    pub product_name: String,
    pub face_value: String,
    pub term_ends_on: NaiveDate,
    pub allowed: Vec<String>,
}

/// A ticket as its caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TicketLookup {
    Issuer(Box<TicketView>),
    Store(StoreTicketView),
}

/// A ticket with what decides who may act on it.
struct Found {
    /// The ticket as stored (the aggregate brings it up to date with the time).
    ticket: Ticket,
    standing: Standing,
    /// The product's lists; left empty when they cannot matter to the caller.
    lists: tessera_domain::products::ProductLists,
}

impl Found {
    fn decider<'a>(&'a self, actor: &'a Actor) -> Decider<'a> {
        Decider {
            actor,
            standing: &self.standing,
            lists: &self.lists,
        }
    }

    /// The ticket as the caller may see it at `now`, with what it may do with it.
    fn lookup(&self, actor: &Actor, now: DateTime<Utc>) -> TicketLookup {
        let (ticket, _) = self.ticket.as_of(now);
        let allowed = ticket
            .allowed(&self.decider(actor), now)
            .into_iter()
            .map(|op| op.name().to_owned())
            .collect();
        view(&ticket, &self.standing, allowed)
    }
}

/// The ticket as a caller of this standing sees it.
fn view(ticket: &Ticket, standing: &Standing, allowed: Vec<String>) -> TicketLookup {
    match standing {
        Standing::Issuer => TicketLookup::Issuer(Box::new(issuer_view(ticket, allowed))),
        _ => TicketLookup::Store(store_view(ticket, allowed)),
    }
}

fn store_view(t: &Ticket, allowed: Vec<String>) -> StoreTicketView {
    StoreTicketView {
        ticket_no: t.ticket_no.to_string(),
        status: t.status,
        issuer: t.merchant_id.to_string(),
        product_name: t.product_name.clone(),
        face_value: t.face_value.to_string(),
        term_ends_on: t.term_ends_on,
        allowed,
    }
}

fn issuer_view(t: &Ticket, allowed: Vec<String>) -> TicketView {
    TicketView {
        ticket_no: t.ticket_no.to_string(),
        status: t.status,
        product_id: t.product_id.to_string(),
        product_name: t.product_name.clone(),
        kind: t.kind,
        face_value: t.face_value.to_string(),
        term_ends_on: t.term_ends_on,
        valid_from: t.valid_from,
        issued_at: t.issued_at,
        import_no: t.import_no.clone(),
        trade_no: t.trade_no.as_ref().map(ToString::to_string),
        holder_name: t.holder.name.clone(),
        redeemed_at: t.redeemed_at,
        redeemed_by: t.redeemed_by.as_ref().map(ToString::to_string),
        redeemed_branch: t.redeemed_branch.as_ref().map(ToString::to_string),
        returned_at: t.returned_at,
        returned_branch: t.returned_branch.as_ref().map(ToString::to_string),
        return_fee: t.return_fee.map(|f| f.to_string()),
        bank_update_at: t.bank_update_at,
        allowed,
    }
}

/// What a redemption code leads to, read before (or while) the caller is loaded: the
/// ticket, and what the caller will probably need besides. The read-ahead is only a guess;
/// [`resolve`] decides with the loaded caller and reads what the guess missed.
struct CodeRead {
    /// The ticket carrying this very code.
    ticket: Ticket,
    beside: Beside,
}

/// What a caller needs read besides the ticket to be decided on.
#[derive(Debug, Clone, Default)]
struct Needs {
    /// The product: its lists decide for branches and stores.
    product: bool,
    /// The relation between the issuer and this store.
    relation_for: Option<MerchantId>,
}

/// What was read besides the ticket; `None` where it was not read.
#[derive(Debug, Default)]
struct Beside {
    product: Option<Option<ProductRecord>>,
    /// The issuer's relation with a store, and which store it was read for.
    relation: Option<(MerchantId, Option<RelationRecord>)>,
}

/// Reads what `needs` names about the ticket's issuer and product, at once.
async fn read_beside(services: &Services, ticket: &Ticket, needs: Needs) -> Result<Beside, Error> {
    let product = async {
        match needs.product {
            true => services
                .table
                .get_product(&ticket.merchant_id, &ticket.product_id)
                .await
                .map(Some),
            false => Ok(None),
        }
    };
    let relation = async {
        match needs.relation_for {
            Some(store) => {
                let relation = services
                    .table
                    .get_relation(&ticket.merchant_id, &store)
                    .await?;
                Ok(Some((store, relation)))
            }
            None => Ok(None),
        }
    };
    let (product, relation) = tokio::try_join!(product, relation)?;
    Ok(Beside { product, relation })
}

/// The ticket the code names (one read: the code spells the ticket's number), then
/// whatever `needs` asks for. `None` for a code that is malformed, names no ticket, or is
/// not the code that ticket carries.
async fn read_code(
    services: &Services,
    code: &str,
    needs: impl FnOnce(&Ticket) -> Needs,
) -> Result<Option<CodeRead>, Error> {
    let Ok(code) = RedemptionCode::parse("code", code) else {
        return Ok(None);
    };
    let Some(ticket) = services.table.ticket_by_code(&code).await? else {
        return Ok(None);
    };
    let beside = read_beside(services, &ticket, needs(&ticket)).await?;
    Ok(Some(CodeRead { ticket, beside }))
}

/// Whether the actor is the issuer (or the issuer's parent acting as itself).
fn is_issuer(actor: &Actor, issuer: &MerchantId) -> bool {
    *issuer == actor.acting_as
        || (actor.acting_as == actor.merchant && actor.children.contains(issuer))
}

/// What the loaded actor needs besides the ticket: the product when its lists can matter
/// (the domain says when), the relation when it is not the issuer.
fn needs(actor: &Actor, ticket: &Ticket) -> Needs {
    let issuer = is_issuer(actor, &ticket.merchant_id);
    Needs {
        product: !issuer || product_lists_matter(actor, &Standing::Issuer),
        relation_for: (!issuer).then(|| actor.acting_as.clone()),
    }
}

/// The same guess from the token's claims alone, before the caller is loaded: a caller
/// bound to a branch, or acting as another merchant than the issuer, will need the product
/// (and a store its relation). A wrong guess costs a read, never a wrong answer.
fn needs_by_claims(claims: &SessionClaims, ticket: &Ticket) -> Needs {
    let stranger = claims.act != ticket.merchant_id.as_str();
    Needs {
        product: stranger || claims.br.is_some(),
        relation_for: stranger
            .then(|| MerchantId::parse("act", &claims.act).ok())
            .flatten(),
    }
}

/// The ticket behind a redemption code as the actor may know it: its issuer (or the
/// issuer's parent) sees it; a store with a relation to the issuer sees it; anyone else
/// gets "not found", exactly as for a code that does not exist. The ticket is as it stands
/// as stored.
async fn resolve(
    services: &Services,
    actor: &Actor,
    read: Option<CodeRead>,
) -> Result<Found, Error> {
    let not_found = || Error::new(ErrorCode::TicketNotFound);
    let CodeRead { ticket, beside } = read.ok_or_else(not_found)?;
    // What the loaded actor needs and the read-ahead did not guess, read now.
    let Needs {
        product: wants_product,
        relation_for,
    } = needs(actor, &ticket);
    let relation_read = beside
        .relation
        .filter(|(store, _)| Some(store) == relation_for.as_ref());
    let missing = Needs {
        product: wants_product && beside.product.is_none(),
        relation_for: relation_for.filter(|_| relation_read.is_none()),
    };
    let more = read_beside(services, &ticket, missing).await?;
    let product = beside
        .product
        .or(more.product)
        .flatten()
        .filter(|_| wants_product);
    let relation = relation_read
        .or(more.relation)
        .and_then(|(_, relation)| relation);
    let standing = if is_issuer(actor, &ticket.merchant_id) {
        Standing::Issuer
    } else {
        match relation {
            Some(relation) => Standing::Store {
                relation_open: relation.status.is_open(),
            },
            None => return Err(not_found()),
        }
    };
    Ok(Found {
        lists: product.map(|p| p.spec.lists).unwrap_or_default(),
        ticket,
        standing,
    })
}

/// Loads the caller and reads the code at once; the caller's failure comes first, so an
/// unknown session never learns anything about the code.
async fn caller_and_code(
    services: &Services,
    signed_in: &SignedIn,
    code: &str,
) -> Result<(Actor, Option<CodeRead>), Error> {
    let (current, read) = tokio::join!(
        signed_in.actor(services),
        read_code(services, code, |ticket| needs_by_claims(
            &signed_in.claims,
            ticket
        )),
    );
    Ok((current?.actor, read?))
}

/// Looks a ticket up by redemption code, with what the caller may do with it.
pub async fn lookup(
    services: &Services,
    signed_in: &SignedIn,
    code: &str,
) -> Result<TicketLookup, Error> {
    let (actor, read) = caller_and_code(services, signed_in, code).await?;
    let actor = &actor;
    let now = services.clock.now();
    let found = resolve(services, actor, read).await?;
    if found.standing == Standing::Issuer {
        authorize(
            actor,
            &found.ticket.merchant_id,
            FunctionArea::Redemption,
            Access::Query,
            ErrorCode::TicketNotFound,
        )
        .or_else(|_| {
            authorize(
                actor,
                &found.ticket.merchant_id,
                FunctionArea::Return,
                Access::Query,
                ErrorCode::TicketNotFound,
            )
        })?;
    } else {
        authorize(
            actor,
            &actor.acting_as,
            FunctionArea::Redemption,
            Access::Query,
            ErrorCode::TicketNotFound,
        )?;
    }
    Ok(found.lookup(actor, now))
}

/// A merchant operation on the ticket behind `code`.
#[derive(Debug, Clone)]
pub struct OperationRequest {
    pub code: String,
    pub operation: Operation,
    pub reason: Option<String>,
    pub fee: Option<Decimal>,
}

/// Performs a redeem, cancel-redemption, return or cancel-return through the change
/// engine. Answers the ticket as the caller may see it; a retry with the same key and
/// request answers the same. The key is required (after the rights: a caller without them
/// hears that first).
pub async fn perform(
    services: &Services,
    signed_in: &SignedIn,
    keyed: &Keyed,
    request: OperationRequest,
) -> Result<serde_json::Value, Error> {
    let operation = request.operation;
    let area = operation
        .area()
        .ok_or_else(|| Error::new(ErrorCode::TicketStatusConflict))?;
    let (actor, read) = caller_and_code(services, signed_in, &request.code).await?;
    let actor = &actor;
    // The right first: without it nothing else about the request matters.
    authorize(
        actor,
        &actor.acting_as,
        area,
        Access::Modify,
        ErrorCode::TicketNotFound,
    )?;
    let keyed = keyed.require()?;
    let ticket_request = TicketRequest {
        operation,
        reason: request.reason.clone(),
        fee: request.fee,
    };
    // Refused before anything is read again: a bad reason is the request's fault.
    tessera_domain::ticket::check_reason(operation, request.reason.as_deref())?;
    // The first decision uses what was read with the caller; a lost race reads again.
    let read_ahead = std::sync::Mutex::new(Some(read));
    let engine = ChangeEngine::new(services.table.clone(), services.clock.clone());
    let (ticket_request, code) = (&ticket_request, request.code.as_str());
    let answer = engine
        .run(Some(keyed), 200, |now| {
            let first = read_ahead.lock().ok().and_then(|mut r| r.take());
            async move {
                let read = match first {
                    Some(read) => read,
                    None => read_code(services, code, |ticket| needs(actor, ticket)).await?,
                };
                let found = resolve(services, actor, read).await?;
                let change = found
                    .ticket
                    .apply(ticket_request, &found.decider(actor), now)?;
                ticket_decision(&found.ticket, change, |ticket| {
                    serde_json::to_value(view(ticket, &found.standing, Vec::new())).map_err(|e| {
                        Error::new(ErrorCode::InternalError).with_detail(e.to_string())
                    })
                })
            }
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, ticket = %answer["ticket_no"].as_str().unwrap_or_default(), operation = operation.name(), "ticket changed");
    Ok(answer)
}

/// The engine's decision for a ticket change read at `read`'s version: the change's writes
/// and its outbox events (one per history entry, with ids from the ticket and the version
/// the entry produced), answering what `answer` makes of the new ticket.
fn ticket_decision(
    read: &Ticket,
    change: TicketChange,
    answer: impl FnOnce(&Ticket) -> Result<serde_json::Value, Error>,
) -> Result<Decision<serde_json::Value>, Error> {
    let mut changes = Changes::new();
    let ticket = add_ticket_change(&mut changes, read, change)?;
    Ok(Decision::new(changes, answer(&ticket)?))
}

/// Adds a ticket change read at `read`'s version to `changes`: its writes and its outbox
/// events. Answers the new ticket.
pub fn add_ticket_change(
    changes: &mut Changes,
    read: &Ticket,
    mut change: TicketChange,
) -> Result<Ticket, Error> {
    changes.writes(ticket_change_writes(read.version, &mut change)?);
    let ticket = &change.ticket;
    let last_version = read.version + change.entries.len() as u64;
    for ((version, entry), event_type) in (read.version + 1..)
        .zip(&change.entries)
        .zip(&change.events)
    {
        let facts =
            (version == last_version).then(|| (TicketFacts::of(read), TicketFacts::of(ticket)));
        changes.event(OutboxEvent::new(
            format!("ticket-{}-v{version}", ticket.ticket_no),
            *event_type,
            &ticket.merchant_id,
            entry.at,
            ticket.ticket_no.as_str(),
            &TicketEventData {
                ticket_no: &ticket.ticket_no,
                version,
                issuer: &ticket.merchant_id,
                product_id: &ticket.product_id,
                face_value: ticket.face_value.to_string(),
                entry,
                facts,
                refund: ticket_refund(ticket, entry),
            },
        )?);
    }
    Ok(change.ticket)
}

/// Adds the ticket's next system step to `changes` if it is due by `now`; whether it was.
pub fn add_due_step(
    changes: &mut Changes,
    ticket: &Ticket,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let Some(step) = ticket.next_system_step().filter(|s| s.due_at <= now) else {
        return Ok(false);
    };
    let change = ticket.apply_system(step.operation, now)?;
    add_ticket_change(changes, ticket, change)?;
    Ok(true)
}

/// At most this many tickets step in one transaction: a step writes the ticket, at most
/// two history entries and two events (a lapse not yet recorded, then the step), and a
/// transaction holds 100 writes.
pub const STEPS_PER_TRANSACTION: usize = 20;

/// The daily job's steps (lapses and bank cut-offs) on a group of tickets, through the
/// change engine in one transaction: each ticket read again, and if its next step is due
/// by now, the domain's change written with its history and events. A ticket that changed
/// meanwhile, or is not due, is left as it is (a retry of the job, or a race with a person,
/// takes nothing twice). Answers how many tickets stepped.
pub async fn take_due_steps(
    table: &Table,
    clock: Arc<dyn Clock>,
    ticket_nos: &[TicketNumber],
) -> Result<usize, Error> {
    if ticket_nos.len() > STEPS_PER_TRANSACTION {
        return Err(crate::store::internal(&format!(
            "at most {STEPS_PER_TRANSACTION} tickets step in one transaction"
        )));
    }
    let engine = ChangeEngine::new(table.clone(), clock);
    engine
        .run(None, 200, |now| async move {
            let mut changes = Changes::new();
            let mut stepped = 0_usize;
            for ticket in table.get_tickets(ticket_nos).await? {
                if add_due_step(&mut changes, &ticket, now)? {
                    stepped += 1;
                }
            }
            Ok(Decision::new(changes, stepped))
        })
        .await
}

/// What a ticket's outbox event carries: the ticket's identity and the history entry of
/// the step it reports.
#[derive(Serialize)]
struct TicketEventData<'a> {
    ticket_no: &'a TicketNumber,
    version: u64,
    issuer: &'a MerchantId,
    product_id: &'a ProductId,
    face_value: String,
    entry: &'a TicketHistoryEntry,
    /// What the counters need of the ticket before and after the change (on the
    /// change's own event; a lapse before it changes none of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    facts: Option<(TicketFacts, TicketFacts)>,
    /// The refund result, when the bank settled a return of a ticket issued with a notify
    /// URL: what the `callbacks` consumer posts there.
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<serde_json::Value>,
}

/// The refund result of a ticket whose return the bank has just settled, if it was issued
/// with a notify URL.
fn ticket_refund(ticket: &Ticket, entry: &TicketHistoryEntry) -> Option<serde_json::Value> {
    let url = ticket.notify_url.as_deref()?;
    if entry.after != Some(tessera_domain::tickets::TicketStatus::Returned) {
        return None;
    }
    let fee = ticket.return_fee.unwrap_or_default();
    Some(serde_json::json!({
        "notify_url": url,
        "merchant_id": ticket.merchant_id,
        "ticket_no": ticket.ticket_no,
        "import_no": ticket.import_no,
        "trade_no": ticket.trade_no,
        "returned_at": ticket.returned_at,
        "refunded_at": entry.at,
        "amount": ticket.face_value.to_string(),
        "fee": fee.to_string(),
        "refund_amount": (ticket.face_value - fee).to_string(),
    }))
}

/// Adds a remark to the issuer's ticket (it shows in the ticket's history).
pub async fn add_remark(
    services: &Services,
    actor: &Actor,
    keyed: &Keyed,
    ticket_no: &str,
    remark: &str,
) -> Result<serde_json::Value, Error> {
    authorize(
        actor,
        &actor.acting_as,
        FunctionArea::IssuedOrders,
        Access::Modify,
        ErrorCode::TicketNotFound,
    )?;
    let keyed: &KeyedRequest = keyed.require()?;
    let engine = ChangeEngine::new(services.table.clone(), services.clock.clone());
    engine
        .run(Some(keyed), 200, |now| async move {
            let stored = issuers_ticket(services, actor, ticket_no, Access::Modify).await?;
            let change = stored.remark(remark, actor, now)?;
            ticket_decision(&stored, change, |ticket| {
                serde_json::to_value(issuer_view(ticket, Vec::new()))
                    .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))
            })
        })
        .await
}

/// The issuer's ticket's history, oldest first, ending with its lapse if its term ran out
/// since it was last written (the lapse is stored with the ticket's next change).
pub async fn history(
    services: &Services,
    actor: &Actor,
    ticket_no: &str,
) -> Result<Vec<TicketHistoryEntry>, Error> {
    let ticket = issuers_ticket(services, actor, ticket_no, Access::Query).await?;
    let mut entries = services.table.ticket_history(&ticket.ticket_no).await?;
    entries.extend(ticket.as_of(services.clock.now()).1);
    Ok(entries)
}

/// The issuer's own ticket by number (another merchant's answers "not found").
pub async fn issuers_ticket(
    services: &Services,
    actor: &Actor,
    ticket_no: &str,
    access: Access,
) -> Result<Ticket, Error> {
    // A number that cannot be a ticket's names none: the same answer as an unknown one.
    let ticket_no = TicketNumber::parse("ticket_no", ticket_no)
        .map_err(|_| Error::new(ErrorCode::TicketNotFound))?;
    let ticket = services
        .table
        .get_ticket(&ticket_no)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::TicketNotFound))?;
    authorize(
        actor,
        &ticket.merchant_id,
        FunctionArea::IssuedOrders,
        access,
        ErrorCode::TicketNotFound,
    )?;
    Ok(ticket)
}
