//! Issued orders and transfers at the back office (§7-3 C, K): an issued order's view and
//! history, change of buyer and resend of the issue notice by delivery type
//! (`tessera_domain::issued_orders`); a transfer's view, history and cancellation
//! (`tessera_domain::transfers`). The lists are reports (`/reports/issued-orders`,
//! `/reports/transfers`). Every change goes through the change engine.

use axum::extract::{Path, State};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use tessera_domain::access::{Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::issued_orders::{
    change_buyer_notifies, check_change_buyer, check_resend, OrderTickets,
};
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::messages::{buyer_replaced_notice, issue_notice, OrderNotice, SmsPurpose};
use tessera_domain::notification::{mask_email, Message, Notification};
use tessera_domain::reports::masked_mobile;
use tessera_domain::ticket::{Person, Ticket};
use tessera_domain::tickets::{self, TicketNumber, TicketStatus};
use tessera_domain::transfers::{check_person, TransferStatus, TRANSFER_ACTIONS};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::issued_orders::{buyer_changed_event, buyer_of};
use tessera_platform::lifecycle::add_ticket_change;
use tessera_platform::notifications::notification_events;
use tessera_platform::random::random_bytes;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::{HistoryEntry, HistoryList};
use tessera_platform::store::issuance::IssuedOrderRecord;
use tessera_platform::store::links::{link_claim_write, LinkTarget, Transfer};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::TicketLinks];

const ORDERS: AreaGuard =
    AreaGuard::new(FunctionArea::IssuedOrders, ErrorCode::IssuedOrderNotFound);
const TRANSFERS: AreaGuard = AreaGuard::new(FunctionArea::Transfers, ErrorCode::TransferNotFound);
/// The history entity of issued orders.
const ENTITY: &str = "issued_order";
const PROBLEM: &str = "application/problem+json";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuyerView {
    pub name: String,
    pub mobile: String,
    pub email: Option<String>,
}

impl From<Person> for BuyerView {
    fn from(p: Person) -> Self {
        BuyerView {
            name: p.name,
            mobile: p.mobile,
            email: p.email,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderTicketView {
    pub ticket_no: String,
    #[schema(value_type = String)]
    pub status: TicketStatus,
    pub holder_name: String,
    /// The transfer it is given under, if any.
    pub transfer_id: Option<String>,
    pub print_count: u32,
}

/// An issued order (發行訂單) as the back office shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedOrderView {
    pub import_no: String,
    pub trade_no: Option<String>,
    pub product_id: String,
    pub quantity: u32,
    pub face_value: String,
    #[schema(value_type = String)]
    pub delivery_method: DeliveryMethod,
    pub buyer: BuyerView,
    pub remark: Option<String>,
    pub issued_at: DateTime<Utc>,
    /// The issuing branch (`null`: head office).
    pub branch: Option<String>,
    /// The ibon pickup code in force.
    pub pickup_code: Option<String>,
    pub tickets: Vec<OrderTicketView>,
    /// What may be done with it now (`change_buyer`, `resend`).
    pub allowed: Vec<String>,
}

/// The order, if the caller may see it: the merchant it acts as, and its own branch's
/// orders for a branch-bound account.
async fn visible_order(
    services: &Services,
    actor: &Actor,
    import_no: &str,
) -> Result<(IssuedOrderRecord, Vec<Ticket>), Error> {
    let not_found = || Error::new(ErrorCode::IssuedOrderNotFound);
    if import_no.is_empty()
        || import_no.len() > tessera_domain::issuance::IMPORT_NO_MAX
        || !import_no.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(not_found());
    }
    let order = services
        .table
        .get_issued_order(&actor.acting_as, import_no)
        .await?
        .filter(|o| actor.branch.is_none() || o.branch == actor.branch)
        .ok_or_else(not_found)?;
    let numbers: Vec<TicketNumber> = order.tickets.iter().map(|t| t.ticket_no.clone()).collect();
    let mut tickets = services.table.get_tickets(&numbers).await?;
    tickets.sort_by(|a, b| a.ticket_no.cmp(&b.ticket_no));
    Ok((order, tickets))
}

fn order_view(
    order: &IssuedOrderRecord,
    tickets: &[Ticket],
    now: DateTime<Utc>,
) -> IssuedOrderView {
    let facts = OrderTickets::of(tickets);
    let mut allowed = Vec::new();
    if check_change_buyer(order.delivery_method, facts).is_ok() {
        allowed.push("change_buyer".to_owned());
    }
    if check_resend(order.delivery_method, facts).is_ok() {
        allowed.push("resend".to_owned());
    }
    IssuedOrderView {
        import_no: order.import_no.clone(),
        trade_no: order.trade_no.as_ref().map(|t| t.to_string()),
        product_id: order.product_id.to_string(),
        quantity: order.quantity,
        face_value: order.face_value.to_string(),
        delivery_method: order.delivery_method,
        buyer: buyer_of(order).into(),
        remark: order.remark.clone(),
        issued_at: order.issued_at,
        branch: order.branch.as_ref().map(|b| b.to_string()),
        pickup_code: order.pickup_code.clone(),
        tickets: tickets
            .iter()
            .map(|stored| {
                let (t, _) = stored.as_of(now);
                OrderTicketView {
                    ticket_no: t.ticket_no.to_string(),
                    status: t.status,
                    holder_name: t.holder.name.clone(),
                    transfer_id: t.transfer_id.clone(),
                    print_count: t.print_count,
                }
            })
            .collect(),
        allowed,
    }
}

/// One issued order: its buyer, tickets (with their holders and transfers) and what may be
/// done with it.
#[utoipa::path(get, path = "/issued-orders/{import_no}", tag = "issued-orders", security(("bearer" = [])),
    params(("import_no" = String, Path, description = "The import number (匯入單號): 1-20 letters or digits")),
    responses((status = 200, body = IssuedOrderView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of issued_orders", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ISSUED_ORDER_NOT_FOUND (also another branch's order)", body = ProblemDetails, content_type = PROBLEM)))]
async fn get_order(
    State(services): State<Services>,
    current: CurrentActor,
    Path(import_no): Path<String>,
) -> Result<Json<IssuedOrderView>, Problem> {
    ORDERS.check_own(&current.actor, Access::Query)?;
    let (order, tickets) = visible_order(&services, &current.actor, &import_no).await?;
    Ok(Json(order_view(&order, &tickets, services.clock.now())))
}

/// The order's history (歷程): changes of buyer and resends, who and when.
#[utoipa::path(get, path = "/issued-orders/{import_no}/history", tag = "issued-orders", security(("bearer" = [])),
    params(("import_no" = String, Path, description = "The import number: 1-20 letters or digits")),
    responses((status = 200, body = HistoryList),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of issued_orders", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ISSUED_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn order_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(import_no): Path<String>,
) -> Result<Json<HistoryList>, Problem> {
    let actor = &current.actor;
    ORDERS.check_own(actor, Access::Query)?;
    let (order, _) = visible_order(&services, actor, &import_no).await?;
    let entries = services
        .table
        .list_history(&actor.acting_as, ENTITY, &order.import_no)
        .await?;
    Ok(Json(entries.into()))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BuyerInput {
    /// 1 to 30 characters.
    #[schema(min_length = 1, max_length = 30)]
    pub name: String,
    /// A Taiwan mobile number: 09 and 8 digits.
    #[schema(pattern = "^09[0-9]{8}$")]
    pub mobile: String,
    /// Required for electronic tickets (their page is mailed).
    #[serde(default)]
    #[schema(format = "email", max_length = 100)]
    pub email: Option<String>,
}

/// A person as history keeps them: name, masked mobile and address.
fn masked(person: &Person) -> serde_json::Value {
    json!({
        "name": person.name,
        "mobile": masked_mobile(&person.mobile),
        "email": person.email.as_deref().map(mask_email),
    })
}

/// Notifications of an order event: ids from the order, its version and the channel.
fn notifications(
    order: &IssuedOrderRecord,
    version: u64,
    messages: Vec<(&str, Message)>,
) -> Vec<Notification> {
    messages
        .into_iter()
        .map(|(whom, message)| Notification {
            id: format!(
                "order-{}-{}-v{version}-{whom}-{}",
                order.merchant_id,
                order.import_no,
                message.channel()
            ),
            merchant_id: order.merchant_id.to_string(),
            message,
        })
        .collect()
}

/// The issue notice of `order` to its buyer as it stands.
async fn notice_to_buyer(
    services: &Services,
    order: &IssuedOrderRecord,
    purpose: SmsPurpose,
) -> Result<Vec<Message>, Error> {
    let (settings, products) = tokio::join!(
        services.table.get_settings(&order.merchant_id),
        services
            .table
            .get_products(&order.merchant_id, std::slice::from_ref(&order.product_id)),
    );
    let product = products?
        .into_iter()
        .next()
        .map(|p| p.spec.name)
        .unwrap_or_default();
    let link = match &order.link_token {
        Some(token) => Some(services.ticket_link(token)?),
        None => None,
    };
    let notice = OrderNotice {
        delivery: order.delivery_method,
        product: &product,
        quantity: order.tickets.len(),
        link: link.as_deref(),
        pickup_code: order.pickup_code.as_deref(),
    };
    Ok(issue_notice(
        &notice,
        &buyer_of(order),
        settings?.operation.sms_enabled,
        purpose,
    ))
}

/// Change the buyer (變更購買人, §7-3 C): ibon — not once printed, a new pickup code;
/// electronic — not while a ticket is given to someone, a new page (the old link stops
/// working); both notify the new buyer (mail, and SMS when the service is on) and mail the
/// old one. Paper — not once printed, no notice. The tickets follow the order in the
/// background (their buyer, and their holder unless given). Needs an `Idempotency-Key`.
#[utoipa::path(put, path = "/issued-orders/{import_no}/buyer", tag = "issued-orders", security(("bearer" = [])), request_body = BuyerInput,
    params(("import_no" = String, Path, description = "The import number: 1-20 letters or digits")),
    responses((status = 200, body = IssuedOrderView),
        (status = 400, description = "VALIDATION_FAILED: buyer.name (1-30 characters), buyer.mobile (09 and 8 digits), buyer.email (an address; required for electronic tickets); MALFORMED_JSON", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of issued_orders", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ISSUED_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "ORDER_TICKETS_TRANSFERRED, ORDER_TICKETS_PRINTED, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn change_buyer(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(import_no): Path<String>,
    ApiJson(input): ApiJson<BuyerInput>,
) -> Result<Json<IssuedOrderView>, Problem> {
    let actor = &current.actor;
    ORDERS.check_own(actor, Access::Modify)?;
    let (order, _) = visible_order(&services, actor, &import_no).await?;
    let electronic = tessera_domain::issuance::needs_email(order.delivery_method);
    let buyer = check_person(
        "buyer",
        &input.name,
        &input.mobile,
        input.email.as_deref(),
        electronic,
    )?;
    let (services, buyer, import_no) = (&services, &buyer, import_no.as_str());
    let view = services
        .engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let (mut order, tickets) = visible_order(services, actor, import_no).await?;
            let method = order.delivery_method;
            check_change_buyer(method, OrderTickets::of(&tickets))?;
            let before = buyer_of(&order);
            order.buyer_name = buyer.name.clone();
            order.buyer_mobile = buyer.mobile.clone();
            order.buyer_email = buyer.email.clone();
            let mut changes = Changes::new();
            if order.link_token.is_some() {
                let token = tickets::link_token(random_bytes()?);
                changes.write(link_claim_write(
                    &token,
                    &LinkTarget::Order {
                        merchant_id: order.merchant_id.clone(),
                        import_no: order.import_no.clone(),
                    },
                )?);
                order.link_token = Some(token);
            }
            if method == DeliveryMethod::Ibon {
                order.pickup_code = Some(tickets::pickup_code(random_bytes()?));
            }
            let version = changes.update(&mut order)?;
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    ENTITY,
                    &order.import_no,
                    "change_buyer",
                    json!({"buyer": {"before": masked(&before), "after": masked(buyer)}}),
                ),
                version,
            )?;
            changes.event(buyer_changed_event(&order, version, now)?);
            if change_buyer_notifies(method) {
                let mut messages: Vec<(&str, Message)> =
                    notice_to_buyer(services, &order, SmsPurpose::ChangeBuyer)
                        .await?
                        .into_iter()
                        .map(|m| ("buyer", m))
                        .collect();
                messages.extend(
                    buyer_replaced_notice(
                        &tickets
                            .first()
                            .map(|t| t.product_name.clone())
                            .unwrap_or_default(),
                        &before,
                    )
                    .map(|m| ("replaced", m)),
                );
                for event in notification_events(
                    &format!("order-{}-{}-v{version}", order.merchant_id, order.import_no),
                    &order.merchant_id,
                    now,
                    &order.import_no,
                    &notifications(&order, version, messages),
                )? {
                    changes.event(event);
                }
            }
            Ok(Decision::new(changes, order_view(&order, &tickets, now)))
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, import_no = %view.import_no, operation = "change_buyer", "buyer changed");
    Ok(Json(view))
}

/// Resend the issue notice (補發, §7-3 C) to the order's buyer: ibon — not once printed;
/// electronic — always, to the buyer only (a recipient's page is theirs to pass on); paper —
/// not offered. Mail, and SMS when the service is on. Needs an `Idempotency-Key`.
#[utoipa::path(post, path = "/issued-orders/{import_no}/resend", tag = "issued-orders", security(("bearer" = [])),
    params(("import_no" = String, Path, description = "The import number: 1-20 letters or digits")),
    responses((status = 200, body = IssuedOrderView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of issued_orders", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ISSUED_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "RESEND_NOT_OFFERED (paper), ORDER_TICKETS_PRINTED, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn resend(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(import_no): Path<String>,
) -> Result<Json<IssuedOrderView>, Problem> {
    let actor = &current.actor;
    ORDERS.check_own(actor, Access::Modify)?;
    let (services, import_no) = (&services, import_no.as_str());
    let view = services.engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let (mut order, tickets) = visible_order(services, actor, import_no).await?;
            check_resend(order.delivery_method, OrderTickets::of(&tickets))?;
            let mut changes = Changes::new();
            let version = changes.update(&mut order)?;
            let messages = notice_to_buyer(services, &order, SmsPurpose::Resend).await?;
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    ENTITY,
                    &order.import_no,
                    "resend",
                    json!({"to": masked(&buyer_of(&order)), "messages": messages.iter().map(Message::channel).collect::<Vec<_>>()}),
                ),
                version,
            )?;
            for event in notification_events(
                &format!("order-{}-{}-v{version}", order.merchant_id, order.import_no),
                &order.merchant_id,
                now,
                &order.import_no,
                &notifications(&order, version, messages.into_iter().map(|m| ("buyer", m)).collect()),
            )? {
                changes.event(event);
            }
            Ok(Decision::new(changes, order_view(&order, &tickets, now)))
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, import_no = %view.import_no, operation = "resend", "issue notice sent again");
    Ok(Json(view))
}

/// A transfer (轉贈單) as the back office shows it: buyer and recipient, and each ticket
/// with where it is now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransferRecordView {
    pub transfer_id: String,
    pub import_no: String,
    pub giver: BuyerView,
    pub recipient: BuyerView,
    pub at: DateTime<Utc>,
    /// `active` or `cancelled`.
    pub status: String,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub tickets: Vec<OrderTicketView>,
    /// Tickets still with the recipient.
    pub still_given: usize,
}

async fn visible_transfer(
    services: &Services,
    actor: &Actor,
    transfer_id: &str,
) -> Result<(Transfer, Vec<Ticket>), Error> {
    let not_found = || Error::new(ErrorCode::TransferNotFound);
    if transfer_id.len() > 40 || !transfer_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(not_found());
    }
    let transfer = services
        .table
        .get_transfer(&actor.acting_as, transfer_id)
        .await?
        .ok_or_else(not_found)?;
    // A branch-bound account sees the transfers of its branch's orders.
    if actor.branch.is_some() && transfer.branch != actor.branch {
        return Err(not_found());
    }
    let mut tickets = services.table.get_tickets(&transfer.ticket_nos).await?;
    tickets.sort_by(|a, b| a.ticket_no.cmp(&b.ticket_no));
    Ok((transfer, tickets))
}

fn transfer_view(
    transfer: &Transfer,
    tickets: &[Ticket],
    now: DateTime<Utc>,
) -> TransferRecordView {
    let tickets: Vec<OrderTicketView> = tickets
        .iter()
        .map(|stored| {
            let (t, _) = stored.as_of(now);
            OrderTicketView {
                ticket_no: t.ticket_no.to_string(),
                status: t.status,
                holder_name: t.holder.name.clone(),
                transfer_id: t.transfer_id.clone(),
                print_count: t.print_count,
            }
        })
        .collect();
    TransferRecordView {
        transfer_id: transfer.transfer_id.clone(),
        import_no: transfer.import_no.clone(),
        giver: transfer.giver.clone().into(),
        recipient: transfer.recipient.clone().into(),
        at: transfer.at,
        status: match transfer.status {
            TransferStatus::Active => "active",
            TransferStatus::Cancelled => "cancelled",
        }
        .to_owned(),
        cancelled_at: transfer.cancelled_at,
        still_given: tickets
            .iter()
            .filter(|t| t.transfer_id.as_deref() == Some(transfer.transfer_id.as_str()))
            .count(),
        tickets,
    }
}

/// One transfer (電子票券轉贈紀錄): giver, recipient and its tickets now.
#[utoipa::path(get, path = "/transfers/{transfer_id}", tag = "issued-orders", security(("bearer" = [])),
    params(("transfer_id" = String, Path, description = "The transfer number (TR and 16 hexadecimal digits)")),
    responses((status = 200, body = TransferRecordView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of transfers", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TRANSFER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn get_transfer(
    State(services): State<Services>,
    current: CurrentActor,
    Path(transfer_id): Path<String>,
) -> Result<Json<TransferRecordView>, Problem> {
    TRANSFERS.check_own(&current.actor, Access::Query)?;
    let (transfer, tickets) = visible_transfer(&services, &current.actor, &transfer_id).await?;
    Ok(Json(transfer_view(
        &transfer,
        &tickets,
        services.clock.now(),
    )))
}

/// One entry of a transfer's history: a ticket's transfer, cancellation, or the return that
/// ended it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransferHistoryEntry {
    pub at: DateTime<Utc>,
    pub ticket_no: String,
    pub action: String,
    pub by_merchant: String,
    pub by_account: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransferHistory {
    pub items: Vec<TransferHistoryEntry>,
}

/// A transfer's history (歷程): every change of its tickets since they were given — the
/// transfer, its cancellation, returns that ended it — oldest first.
#[utoipa::path(get, path = "/transfers/{transfer_id}/history", tag = "issued-orders", security(("bearer" = [])),
    params(("transfer_id" = String, Path, description = "The transfer number")),
    responses((status = 200, body = TransferHistory),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of transfers", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TRANSFER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn transfer_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(transfer_id): Path<String>,
) -> Result<Json<TransferHistory>, Problem> {
    TRANSFERS.check_own(&current.actor, Access::Query)?;
    let (transfer, _) = visible_transfer(&services, &current.actor, &transfer_id).await?;
    let histories = futures_util::future::try_join_all(
        transfer
            .ticket_nos
            .iter()
            .map(|no| services.table.ticket_history(no)),
    )
    .await?;
    let mut items: Vec<TransferHistoryEntry> = histories
        .into_iter()
        .flatten()
        .filter(|e| {
            TRANSFER_ACTIONS.contains(&e.action.as_str())
                && e.changes["transfer_id"] == transfer.transfer_id.as_str()
        })
        .map(|e| TransferHistoryEntry {
            at: e.at,
            ticket_no: e.ticket_no.to_string(),
            action: e.action,
            by_merchant: e.by_merchant.to_string(),
            by_account: e.by_account.to_string(),
        })
        .collect();
    items.sort_by(|a, b| (a.at, &a.ticket_no).cmp(&(b.at, &b.ticket_no)));
    Ok(Json(TransferHistory { items }))
}

/// Cancel a transfer (取消轉贈, §7-3 K): every ticket of it still given and unused goes
/// back to the buyer (their page shows it again; the recipient's stops); used or returned
/// tickets stay as they are. Needs an `Idempotency-Key`.
#[utoipa::path(post, path = "/transfers/{transfer_id}/cancel", tag = "issued-orders", security(("bearer" = [])),
    params(("transfer_id" = String, Path, description = "The transfer number")),
    responses((status = 200, body = TransferRecordView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of transfers", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TRANSFER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "TRANSFER_NOT_ACTIVE, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
async fn cancel_transfer(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(transfer_id): Path<String>,
) -> Result<Json<TransferRecordView>, Problem> {
    let actor = &current.actor;
    TRANSFERS.check_own(actor, Access::Modify)?;
    let (services, transfer_id) = (&services, transfer_id.as_str());
    let view = services
        .engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let (mut transfer, tickets) = visible_transfer(services, actor, transfer_id).await?;
            if transfer.status != TransferStatus::Active {
                return Err(Error::new(ErrorCode::TransferNotActive));
            }
            let mut changes = Changes::new();
            let mut after: BTreeMap<TicketNumber, Ticket> = BTreeMap::new();
            for ticket in &tickets {
                match ticket.take_back(transfer_id, actor, now) {
                    Some(change) => {
                        let back = add_ticket_change(&mut changes, ticket, change)?;
                        after.insert(back.ticket_no.clone(), back);
                    }
                    None => {
                        after.insert(ticket.ticket_no.clone(), ticket.clone());
                    }
                }
            }
            transfer.status = TransferStatus::Cancelled;
            transfer.cancelled_at = Some(now);
            transfer.cancelled_by = Some(actor.account.clone());
            changes.update(&mut transfer)?;
            let tickets: Vec<Ticket> = after.into_values().collect();
            Ok(Decision::new(
                changes,
                transfer_view(&transfer, &tickets, now),
            ))
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, transfer = %view.transfer_id, operation = "cancel_transfer", "transfer cancelled");
    Ok(Json(view))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(get_order))
        .routes(routes!(order_history))
        .routes(routes!(change_buyer))
        .routes(routes!(resend))
        .routes(routes!(get_transfer))
        .routes(routes!(transfer_history))
        .routes(routes!(cancel_transfer))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
