//! Ticket operations (redeem, cancel redemption, return, cancel return, remarks) as one
//! routine the redeem and return functions share: find the ticket, decide who the caller
//! is to it, apply the domain's rules, and commit the change, its history, its report
//! events and its idempotency record in one transaction. A lost race is read again and
//! decided again, so fifty concurrent redemptions end as one success and forty-nine
//! "already redeemed".

use crate::auth::SignedIn;
use crate::services::Services;
use crate::session::SessionClaims;
use crate::store::idempotency::IdempotencyRecord;
use crate::store::products::ProductRecord;
use crate::store::relations::RelationRecord;
use crate::store::tickets::{TicketChange, TicketEvent, TicketHistoryEntry, TicketRecord};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tessera_domain::access::{authorize, Access, Actor, FunctionArea};
use tessera_domain::calendar;
use tessera_domain::lifecycle::{
    check_return_fee, check_window, lapse, may_act, product_lists_matter, return_bank_update_at,
    transition, Operation, Standing, TicketParties,
};
use tessera_domain::products::TicketKind;
use tessera_domain::tickets::{normalise_redemption_code, TicketStatus};
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::{Error, ErrorCode};
use utoipa::ToSchema;

/// Attempts at a change before giving up on a ticket that keeps changing under us.
const ATTEMPTS: usize = 8;
pub const REASON_MAX: usize = 100;

/// The `Idempotency-Key` header, if any. Checked by [`perform`] after the rights, so that a
/// caller without the right hears that first.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(IdempotencyHeader(
            parts
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned()),
        ))
    }
}

fn valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

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
    /// The ticket as it stands today: lapsed, if its term ran out since it was last written.
    ticket: TicketRecord,
    /// The lapse's history entry, to be written with the next change.
    lapsed: Vec<TicketHistoryEntry>,
    standing: Standing,
    /// The product's lists; left empty when they cannot matter to the caller.
    lists: tessera_domain::products::ProductLists,
}

impl Found {
    fn parties(&self) -> TicketParties<'_> {
        let t = &self.ticket;
        TicketParties {
            issuer: &t.merchant_id,
            redeem_branches: &self.lists.redeem_branches,
            return_branches: &self.lists.return_branches,
            redeemable_stores: &self.lists.redeemable_stores,
            redeemed_by: t
                .redeemed_by
                .as_ref()
                .map(|m| (m, t.redeemed_branch.as_ref())),
            returned_by_branch: t.returned_at.map(|_| t.returned_branch.as_ref()),
        }
    }

    fn happened_at(&self, operation: Operation) -> Option<DateTime<Utc>> {
        match operation {
            Operation::CancelRedemption => self.ticket.redeemed_at,
            Operation::CancelReturn => self.ticket.returned_at,
            _ => None,
        }
    }

    /// The merchant operations the actor could perform now.
    fn allowed(&self, actor: &Actor, now: DateTime<Utc>) -> Vec<String> {
        [
            Operation::Redeem,
            Operation::CancelRedemption,
            Operation::Return,
            Operation::CancelReturn,
        ]
        .into_iter()
        .filter(|op| {
            may_act(actor, &self.standing, &self.parties(), *op).is_ok()
                && transition(self.ticket.kind, self.ticket.status, *op).is_ok()
                && check_window(self.ticket.status, *op, self.happened_at(*op), now).is_ok()
        })
        .map(|op| op.name().to_owned())
        .collect()
    }

    fn lookup(&self, actor: &Actor, now: DateTime<Utc>) -> TicketLookup {
        let t = &self.ticket;
        match self.standing {
            Standing::Issuer => {
                TicketLookup::Issuer(Box::new(issuer_view(t, self.allowed(actor, now))))
            }
            _ => TicketLookup::Store(store_view(t, self.allowed(actor, now))),
        }
    }
}

fn store_view(t: &TicketRecord, allowed: Vec<String>) -> StoreTicketView {
    StoreTicketView {
        ticket_no: t.ticket_no.clone(),
        status: t.status,
        issuer: t.merchant_id.to_string(),
        product_name: t.product_name.clone(),
        face_value: t.face_value.to_string(),
        term_ends_on: t.term_ends_on,
        allowed,
    }
}

fn issuer_view(t: &TicketRecord, allowed: Vec<String>) -> TicketView {
    TicketView {
        ticket_no: t.ticket_no.clone(),
        status: t.status,
        product_id: t.product_id.clone(),
        product_name: t.product_name.clone(),
        kind: t.kind,
        face_value: t.face_value.to_string(),
        term_ends_on: t.term_ends_on,
        issued_at: t.issued_at,
        import_no: t.import_no.clone(),
        trade_no: t.trade_no.clone(),
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
    ticket: TicketRecord,
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
async fn read_beside(
    services: &Services,
    ticket: &TicketRecord,
    needs: Needs,
) -> Result<Beside, Error> {
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
    needs: impl FnOnce(&TicketRecord) -> Needs,
) -> Result<Option<CodeRead>, Error> {
    let Some(code) = normalise_redemption_code(code) else {
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
fn needs(actor: &Actor, ticket: &TicketRecord) -> Needs {
    let issuer = is_issuer(actor, &ticket.merchant_id);
    Needs {
        product: !issuer || product_lists_matter(actor, &Standing::Issuer),
        relation_for: (!issuer).then(|| actor.acting_as.clone()),
    }
}

/// The same guess from the token's claims alone, before the caller is loaded: a caller
/// bound to a branch, or acting as another merchant than the issuer, will need the product
/// (and a store its relation). A wrong guess costs a read, never a wrong answer.
fn needs_by_claims(claims: &SessionClaims, ticket: &TicketRecord) -> Needs {
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
/// at `now`.
async fn resolve(
    services: &Services,
    actor: &Actor,
    read: Option<CodeRead>,
    now: DateTime<Utc>,
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
    let (ticket, lapsed) = as_of(ticket, now);
    Ok(Found {
        lists: product.map(|p| p.spec.lists).unwrap_or_default(),
        ticket,
        lapsed,
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

/// The ticket as it stands at `now`: an unused ticket whose term ran out since it was last
/// written has lapsed (`lifecycle::lapse`), with the system's history entry for it, dated
/// the midnight it happened. The next write of the ticket records both, so a ticket lapses
/// on time whether or not a job got to it first.
fn as_of(mut ticket: TicketRecord, now: DateTime<Utc>) -> (TicketRecord, Vec<TicketHistoryEntry>) {
    let today = calendar::taipei_date(now);
    let Some((operation, status)) = lapse(ticket.kind, ticket.status, ticket.term_ends_on, today)
    else {
        return (ticket, Vec::new());
    };
    let at = calendar::taipei_instant(
        ticket.term_ends_on + chrono::Duration::days(1),
        chrono::NaiveTime::MIN,
    );
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
        changes: serde_json::json!({
            tessera_domain::tickets::term_name(ticket.kind): ticket.term_ends_on,
        }),
    };
    ticket.status = status;
    ticket.updated_at = at;
    ticket.version += 1;
    (ticket, vec![entry])
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
    let found = resolve(services, actor, read, now).await?;
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

/// The caller's `Idempotency-Key` and what it asked (path and parsed body, digested).
pub struct Idempotency {
    pub key: Option<String>,
    pub request: String,
}

impl Idempotency {
    pub fn of<T: Serialize>(header: IdempotencyHeader, path: &str, body: &T) -> Idempotency {
        Idempotency {
            key: header.0,
            request: format!("{path} {}", serde_json::to_string(body).unwrap_or_default()),
        }
    }
}

fn digest(request: &str) -> String {
    sha2::Sha256::digest(request.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key, which must be present and well-formed (checked after the rights: a caller
/// without them hears that first).
fn require_key(idempotency: &Idempotency) -> Result<(String, String), Error> {
    let key = idempotency
        .key
        .clone()
        .filter(|k| valid_key(k))
        .ok_or_else(|| Error::new(ErrorCode::IdempotencyKeyRequired))?;
    Ok((key, digest(&idempotency.request)))
}

/// The first answer given to this key, if the key was used for this very request; a key
/// used for another request is refused.
async fn stored_answer(
    services: &Services,
    actor: &Actor,
    key: &str,
    hash: &str,
) -> Result<Option<serde_json::Value>, Error> {
    let stored = services
        .table
        .get_idempotency(&actor.acting_as, key, services.clock.now())
        .await?;
    match stored {
        Some(record) if record.request_hash == hash => serde_json::from_str(&record.body)
            .map(Some)
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string())),
        Some(_) => Err(Error::new(ErrorCode::IdempotencyKeyReused)),
        None => Ok(None),
    }
}

fn check_reason(operation: Operation, reason: Option<String>) -> Result<Option<String>, Error> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let required = operation != Operation::Redeem;
    match &reason {
        None if required => Err(Error::invalid_field("reason", "required")),
        Some(r) if r.chars().count() > REASON_MAX || r.chars().any(char::is_control) => Err(
            Error::invalid_field("reason", format!("at most {REASON_MAX} characters")),
        ),
        _ => Ok(reason),
    }
}

/// Performs a redeem, cancel-redemption, return or cancel-return. Answers the ticket as
/// the caller may see it; a retry with the same key and request answers the same.
pub async fn perform(
    services: &Services,
    signed_in: &SignedIn,
    idempotency: Idempotency,
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
    let (key, hash) = require_key(&idempotency)?;
    let reason = check_reason(operation, request.reason.clone())?;
    // The happy path reads no idempotency record: the record is written with the change,
    // conditional on the key being new. Only when the change is refused or conflicts is the
    // key's first answer looked up (a retry of a request that succeeded lands there).
    // The first attempt decides on what was read with the caller; a lost race reads again.
    let mut read_ahead = Some(read);
    for _ in 0..ATTEMPTS {
        let read = match read_ahead.take() {
            Some(read) => read,
            None => read_code(services, &request.code, |ticket| needs(actor, ticket)).await?,
        };
        match attempt(services, actor, &request, read, reason.clone(), &key, &hash).await {
            Ok(Some(answer)) => return Ok(answer),
            Ok(None) => {
                // Someone changed the ticket, or used this key, since we read: a request
                // with the same key answers with its response; otherwise decide again.
                if let Some(body) = stored_answer(services, actor, &key, &hash).await? {
                    return Ok(body);
                }
            }
            Err(error)
                if !matches!(
                    error.code,
                    ErrorCode::DependencyUnavailable | ErrorCode::InternalError
                ) =>
            {
                return match stored_answer(services, actor, &key, &hash).await? {
                    Some(body) => Ok(body),
                    None => Err(error),
                };
            }
            Err(error) => return Err(error),
        }
    }
    Err(Error::new(ErrorCode::ConcurrentChange))
}

/// One decision and one transaction: the answer, or `None` if a condition failed.
async fn attempt(
    services: &Services,
    actor: &Actor,
    request: &OperationRequest,
    read: Option<CodeRead>,
    reason: Option<String>,
    key: &str,
    hash: &str,
) -> Result<Option<serde_json::Value>, Error> {
    let operation = request.operation;
    let now = services.clock.now();
    let found = resolve(services, actor, read, now).await?;
    may_act(actor, &found.standing, &found.parties(), operation)?;
    let before = found.ticket.status;
    let after = transition(found.ticket.kind, before, operation).map_err(Error::new)?;
    check_window(before, operation, found.happened_at(operation), now)?;
    let fee = if operation == Operation::Return {
        Some(check_return_fee(
            found.ticket.kind,
            before,
            found.ticket.face_value,
            request.fee,
        )?)
    } else if request.fee.is_some_and(|f| !f.is_zero()) {
        return Err(Error::new(ErrorCode::ReturnFeeNotAllowed));
    } else {
        None
    };
    let mut ticket = found.ticket.clone();
    ticket.status = after;
    ticket.updated_at = now;
    ticket.version += 1;
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
            ticket.returned_at = Some(now);
            ticket.returned_branch = actor.branch.clone();
            ticket.return_fee = fee.filter(|f| !f.is_zero());
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
        reason: reason.clone(),
        changes: serde_json::json!({
            "fee": fee.filter(|f| !f.is_zero()).map(|f| f.to_string()),
            "bank_update_at": ticket.bank_update_at,
        }),
    };
    let event = TicketEvent {
        at: now,
        ticket_no: ticket.ticket_no.clone(),
        version: ticket.version,
        operation: operation.name().to_owned(),
        issuer: ticket.merchant_id.clone(),
        product_id: ticket.product_id.clone(),
        face_value: ticket.face_value,
        by_merchant: actor.acting_as.clone(),
        branch: actor.branch.clone(),
        fee: fee.filter(|f| !f.is_zero()),
    };
    let answer = match found.standing {
        Standing::Issuer => serde_json::to_value(issuer_view(&ticket, Vec::new())),
        _ => serde_json::to_value(store_view(&ticket, Vec::new())),
    }
    .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
    let record = IdempotencyRecord {
        merchant_id: actor.acting_as.clone(),
        key: key.to_owned(),
        request_hash: hash.to_owned(),
        status: 200,
        body: answer.to_string(),
        created_at: now,
    };
    let change = TicketChange {
        ticket,
        entries: found.lapsed.into_iter().chain([entry]).collect(),
        event: Some(event),
        extra: vec![record.write()?],
    };
    match services.table.apply_ticket_change(change).await {
        Ok(()) => {
            tracing::info!(merchant = %actor.acting_as, ticket = %record_ticket(&answer), operation = operation.name(), "ticket changed");
            Ok(Some(answer))
        }
        Err(error) if error.code == ErrorCode::ConcurrentChange => Ok(None),
        Err(error) => Err(error),
    }
}

fn record_ticket(answer: &serde_json::Value) -> String {
    answer["ticket_no"].as_str().unwrap_or_default().to_owned()
}

/// Adds a remark to the issuer's ticket (it shows in the ticket's history).
pub async fn add_remark(
    services: &Services,
    actor: &Actor,
    idempotency: Idempotency,
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
    let (key, hash) = require_key(&idempotency)?;
    if let Some(body) = stored_answer(services, actor, &key, &hash).await? {
        return Ok(body);
    }
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
    for _ in 0..ATTEMPTS {
        let now = services.clock.now();
        let stored = issuers_ticket(services, actor, ticket_no, Access::Modify).await?;
        let (ticket, lapsed) = as_of(stored, now);
        let mut changed = ticket.clone();
        changed.updated_at = now;
        changed.version += 1;
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
        let answer = serde_json::to_value(issuer_view(&changed, Vec::new()))
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
        let record = IdempotencyRecord {
            merchant_id: actor.acting_as.clone(),
            key: key.clone(),
            request_hash: hash.clone(),
            status: 200,
            body: answer.to_string(),
            created_at: now,
        };
        match services
            .table
            .apply_ticket_change(TicketChange {
                ticket: changed,
                entries: lapsed.into_iter().chain([entry]).collect(),
                event: None,
                extra: vec![record.write()?],
            })
            .await
        {
            Ok(()) => return Ok(answer),
            Err(error) if error.code == ErrorCode::ConcurrentChange => {
                if let Some(body) = stored_answer(services, actor, &key, &hash).await? {
                    return Ok(body);
                }
            }
            Err(error) => return Err(error),
        }
    }
    Err(Error::new(ErrorCode::ConcurrentChange))
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
    entries.extend(as_of(ticket, services.clock.now()).1);
    Ok(entries)
}

/// The issuer's own ticket by number (another merchant's answers "not found").
pub async fn issuers_ticket(
    services: &Services,
    actor: &Actor,
    ticket_no: &str,
    access: Access,
) -> Result<TicketRecord, Error> {
    if !tessera_domain::tickets::is_ticket_number(ticket_no) {
        return Err(Error::new(ErrorCode::TicketNotFound));
    }
    let ticket = services
        .table
        .get_ticket(ticket_no)
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
