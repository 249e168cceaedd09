//! Paid orders awaiting issuance (§5, manual §7-2): intake from the payment side, the
//! unissued list with each order's issuable status (the 21-day rule), and abandoning an
//! order's authorization.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_domain::access::{Access, AreaGuard, FunctionArea};
use tessera_domain::merchant::RedemptionMode;
use tessera_domain::orders::{
    is_issuable, last_issuable_day, OrderEvent, OrderStatus, TradeNo, AUTO_CANCEL_AFTER_DAYS,
};
use tessera_domain::products::ProductId;
use tessera_domain::values::{is_email, TaiwanMobile};
use tessera_domain::{calendar, Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::orders::{order_cancelled_event, OrderRecord};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

const ENTITY: &str = "order";

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderInput {
    /// 廠商訂單編號: 1–20 letters or digits, unique per merchant.
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub trade_no: String,
    pub product_id: String,
    /// Whole NT$ paid.
    #[schema(value_type = String)]
    pub amount: Decimal,
    /// Tickets ordered, 1–1000 (1 for a merchant in installment mode: its order is split
    /// into periods, not tickets).
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: u32,
    pub cardholder_name: String,
    /// A Taiwan mobile number: 09 and 8 digits.
    #[schema(pattern = "^09[0-9]{8}$")]
    pub cardholder_mobile: String,
    #[serde(default)]
    pub cardholder_email: String,
    /// When the card authorization succeeded.
    pub paid_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub trade_no: String,
    pub product_id: String,
    pub amount: String,
    pub quantity: u32,
    pub cardholder_name: String,
    pub cardholder_mobile: String,
    pub cardholder_email: String,
    pub paid_at: DateTime<Utc>,
    /// `unissued`, `issued`, `abandoned` or `auto_cancelled`.
    pub status: String,
    /// Whether the order can be issued now (unissued and within 21 days of payment).
    pub issuable: bool,
    /// The last Taipei date the order can be issued.
    pub issuable_until: NaiveDate,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
}

/// The rights check of every order route (paid orders are part of issuance).
const RIGHTS: AreaGuard = AreaGuard::new(FunctionArea::Issuance, ErrorCode::OrderNotFound);

fn view(order: &OrderRecord, now: DateTime<Utc>) -> OrderView {
    OrderView {
        trade_no: order.trade_no.to_string(),
        product_id: order.product_id.to_string(),
        amount: order.amount.to_string(),
        quantity: order.quantity,
        cardholder_name: order.cardholder_name.clone(),
        cardholder_mobile: order.mobile.as_str().to_owned(),
        cardholder_email: order.email.clone(),
        paid_at: order.paid_at,
        status: serde_json::to_value(order.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        issuable: is_issuable(order.status, order.paid_at, now),
        issuable_until: last_issuable_day(order.paid_at),
    }
}

/// Record a paid (card-authorised) order for a product of this merchant.
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])), request_body = OrderInput,
    responses((status = 201, body = OrderView),
        (status = 400, description = "VALIDATION_FAILED: trade_no, product_id, amount, quantity (1 in installment mode), cardholder_*, paid_at", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of issuance", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "ORDER_EXISTS", body = ProblemDetails, content_type = "application/problem+json")))]
async fn record(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<OrderInput>,
) -> Result<(StatusCode, Json<OrderView>), Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    let now = services.clock.now();
    let mut violations = Vec::new();
    let trade_no = TradeNo::parse("trade_no", &input.trade_no)
        .map_err(|e| violations.extend(e.violations))
        .ok();
    let mobile = TaiwanMobile::parse("cardholder_mobile", &input.cardholder_mobile)
        .map_err(|e| violations.extend(e.violations))
        .ok();
    if !input.amount.fract().is_zero() || input.amount <= Decimal::ZERO {
        violations.push(Violation::field("amount", "a whole NT$ amount above zero"));
    }
    if !(1..=1000).contains(&input.quantity) {
        violations.push(Violation::field("quantity", "1 to 1000 tickets"));
    }
    let name = input.cardholder_name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        violations.push(Violation::field("cardholder_name", "1 to 30 characters"));
    }
    let email = input.cardholder_email.trim();
    if !email.is_empty() && !is_email(email) {
        violations.push(Violation::field(
            "cardholder_email",
            format!("{email:?} is not a valid email address"),
        ));
    }
    let age = calendar::days_between(input.paid_at, now);
    if input.paid_at > now || age > AUTO_CANCEL_AFTER_DAYS {
        violations.push(Violation::field(
            "paid_at",
            "not in the future, and at most 30 days ago",
        ));
    }
    // An installment order is split into periods, not tickets (§八).
    if services.table.redemption_mode(&actor.acting_as).await? == RedemptionMode::Installment
        && input.quantity != 1
    {
        violations.push(Violation::field(
            "quantity",
            "1: an installment order is split into periods, not tickets",
        ));
    }
    let product = match ProductId::parse("product_id", &input.product_id) {
        Ok(id) => services.table.get_product(&actor.acting_as, &id).await?,
        Err(_) => None,
    };
    if product.is_none() {
        violations.push(Violation::field(
            "product_id",
            "not a product of this merchant",
        ));
    }
    let (Some(trade_no), Some(mobile), Some(product), true) =
        (trade_no, mobile, product, violations.is_empty())
    else {
        return Err(Error::invalid(violations).into());
    };
    let template = OrderRecord {
        merchant_id: actor.acting_as.clone(),
        trade_no: trade_no.clone(),
        product_id: product.product_id,
        amount: input.amount,
        quantity: input.quantity,
        cardholder_name: name.to_owned(),
        mobile,
        email: email.to_owned(),
        paid_at: input.paid_at,
        status: OrderStatus::Unissued,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    let template = &template;
    let view = services
        .engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut order = template.clone();
            let mut changes = Changes::new();
            let version = changes.create(&mut order, ErrorCode::OrderExists)?;
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    ENTITY,
                    order.trade_no.as_str(),
                    "recorded",
                    json!({"paid_at": order.paid_at, "amount": order.amount.to_string()}),
                ),
                version,
            )?;
            Ok(Decision::new(changes, view(&order, now)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Orders paid but not issued, each with whether it can still be issued (§7-2).
#[utoipa::path(get, path = "/orders/unissued", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderList),
        (status = 403, description = "RIGHT_MISSING: query right of issuance", body = ProblemDetails, content_type = "application/problem+json")))]
async fn unissued(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<OrderList>, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let now = services.clock.now();
    let orders = services.table.list_orders(&current.actor.acting_as).await?;
    let items = orders
        .iter()
        .filter(|o| o.status == OrderStatus::Unissued)
        .map(|o| view(o, now))
        .collect();
    Ok(Json(OrderList { items }))
}

/// The issuable orders as a pre-filled issuance file (§7-2): one row per order, with the
/// trade number also proposed as the import number; add or change what you need, then
/// upload it for issuance.
#[utoipa::path(get, path = "/orders/unissued/export", tag = "orders", security(("bearer" = [])),
    responses((status = 200, description = "The issuance template with the issuable orders filled in", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = "RIGHT_MISSING: query right of issuance", body = ProblemDetails, content_type = "application/problem+json")))]
async fn export_issuable(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<axum::response::Response, Problem> {
    RIGHTS.check_own(&current.actor, Access::Query)?;
    let now = services.clock.now();
    let mut orders = services.table.list_orders(&current.actor.acting_as).await?;
    orders.retain(|o| is_issuable(o.status, o.paid_at, now));
    orders.sort_by_key(|o| o.paid_at);
    let rows: Vec<[String; 8]> = orders
        .iter()
        .map(|o| {
            [
                o.trade_no.to_string(),
                o.trade_no.to_string(),
                o.product_id.to_string(),
                o.quantity.to_string(),
                o.cardholder_name.clone(),
                o.mobile.as_str().to_owned(),
                o.email.clone(),
                String::new(),
            ]
        })
        .collect();
    let bytes = tessera_sheets::issuance_template(&rows)?;
    Ok(tessera_platform::http::attachment(
        bytes,
        tessera_sheets::XLSX_CONTENT_TYPE,
        &format!("issuable-orders-{}.xlsx", calendar::taipei_date(now)),
    ))
}

/// Give up an unissued order's authorization: it leaves the unissued list and its reminders.
#[utoipa::path(post, path = "/orders/{trade_no}/abandon", tag = "orders", security(("bearer" = [])),
    params(("trade_no" = String, Path, description = "Merchant trade number")),
    responses((status = 200, body = OrderView),
        (status = 403, description = "RIGHT_MISSING: modify right of issuance", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ORDER_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "ORDER_NOT_UNISSUED, CONCURRENT_CHANGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn abandon(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(trade_no): Path<String>,
) -> Result<Json<OrderView>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    let trade_no = &TradeNo::parse("trade_no", &trade_no)
        .map_err(|_| Problem::new(ErrorCode::OrderNotFound))?;
    let services = &services;
    let view = services
        .engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let mut order = services
                .table
                .get_order(&actor.acting_as, trade_no)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::OrderNotFound))?;
            let before = order.status;
            order.status = before.after(OrderEvent::Abandon)?;
            order.updated_at = now;
            let mut changes = Changes::new();
            let version = changes.update(&mut order)?;
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    ENTITY,
                    trade_no.as_str(),
                    "abandoned",
                    json!({"status": {"before": before.name(), "after": order.status.name()}}),
                ),
                version,
            )?;
            changes.event(order_cancelled_event(&order, version, now)?);
            Ok(Decision::new(changes, view(&order, now)))
        })
        .await?;
    Ok(Json(view))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(record))
        .routes(routes!(unissued))
        .routes(routes!(export_issuable))
        .routes(routes!(abandon))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
