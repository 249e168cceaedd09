//! Installment orders (分期核銷, §10, manual §八): issuing a paid order as its serials, the
//! order with its serials, returns and figures, its history and remarks, the order return
//! with the fee apportioned over the unused periods, and the cancel of a return on its day.
//! Only a merchant in installment mode has them (`REDEMPTION_MODE_MISMATCH` otherwise).
//! The rules are the domain's (`tessera_domain::installment`); every change goes through
//! the change engine (`tessera_platform::installment::stage`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tessera_domain::access::{require_operational_branch, Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::installment::{
    InstallmentOrder, LedgerOperation, Plan, MAX_PERIODS, REASON_MAX,
};
use tessera_domain::merchant::{RedemptionMode, ServiceStatus};
use tessera_domain::orders::{require_issuable, OrderEvent, TradeNo};
use tessera_domain::reports::masked_mobile;
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::installment::{self as orders, LedgerLine, ENTITY};
use tessera_platform::owner::OwnerQuery;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::{HistoryEntry, HistoryList};
use tessera_platform::store::installment::InstallmentOrderRecord;
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

const PROBLEM: &str = "application/problem+json";

/// Issuing, viewing, remarks: the installment orders area.
const ORDERS: AreaGuard = AreaGuard::new(
    FunctionArea::InstallmentOrders,
    ErrorCode::InstallmentOrderNotFound,
);
/// 訂單退貨.
const RETURNS: AreaGuard = AreaGuard::new(
    FunctionArea::OrderReturn,
    ErrorCode::InstallmentOrderNotFound,
);
/// 訂單取消退貨.
const CANCEL_RETURNS: AreaGuard = AreaGuard::new(
    FunctionArea::OrderCancelReturn,
    ErrorCode::InstallmentOrderNotFound,
);

/// Remarks, at most.
pub const REMARK_MAX: usize = 100;

#[derive(Debug, Deserialize, ToSchema)]
pub struct IssueInput {
    /// The paid order to issue (廠商訂單編號): unissued, within 21 days of payment.
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub trade_no: String,
    /// Periods the order's amount is split into, each redeemed on its date.
    #[schema(minimum = 1, maximum = 60)]
    pub periods: u32,
    /// The first period's expected redemption date (Taipei), from today to a year ahead;
    /// the others follow monthly on the same day (or the month's last day).
    pub first_redemption_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SerialView {
    /// The serial number: the trade number and the two-digit period.
    pub serial_no: String,
    pub period: u32,
    pub face_value: String,
    /// 預計核銷日 (Taipei).
    pub expected_on: NaiveDate,
    /// `unused`, `redeeming`, `redeemed`, `pending_return`, `returning` or `returned`.
    pub status: String,
    pub status_at: DateTime<Utc>,
    /// Its part of the standing return's handling fee.
    pub return_fee: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeePartView {
    pub period: u32,
    pub fee: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReturnView {
    pub number: u32,
    pub returned_at: DateTime<Utc>,
    pub by_account: String,
    pub reason: String,
    /// The return handling fee, apportioned over the returned periods (`parts`).
    pub fee: String,
    /// The face value returned, and what the cardholder gets back (amount less fee).
    pub amount: String,
    pub refund_amount: String,
    pub parts: Vec<FeePartView>,
    /// When the bank hears of it (01:00 the next day; issue day + 2 for a same-day return).
    pub bank_update_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// When the refund completed (the refund result is then sent to the notify URL).
    pub refunded_at: Option<DateTime<Utc>>,
}

/// 金額／期數: amounts and periods by what became of them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FiguresView {
    pub periods: u32,
    pub unused_periods: u32,
    pub redeemed_periods: u32,
    pub returned_periods: u32,
    pub unused_amount: String,
    pub redeemed_amount: String,
    pub returned_amount: String,
    /// Every period redeemed (核銷完成).
    pub fully_redeemed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstallmentOrderView {
    pub merchant_id: String,
    pub trade_no: String,
    pub product_id: String,
    pub amount: String,
    pub issued_at: DateTime<Utc>,
    /// Derived from the serials: pending_return, returning, unused or redeeming if any
    /// serial is; else returned if any was; else redeemed.
    pub status: String,
    pub cardholder_name: String,
    /// Masked.
    pub cardholder_mobile: String,
    /// The refund notify URL in force when the order was issued.
    pub notify_url: Option<String>,
    pub figures: FiguresView,
    pub serials: Vec<SerialView>,
    pub returns: Vec<ReturnView>,
}

fn view(record: &InstallmentOrderRecord) -> InstallmentOrderView {
    let order = &record.order;
    let figures = order.figures();
    InstallmentOrderView {
        merchant_id: record.merchant_id.to_string(),
        trade_no: order.trade_no.to_string(),
        product_id: order.product_id.to_string(),
        amount: order.amount.to_string(),
        issued_at: order.issued_at,
        status: order.status().name().to_owned(),
        cardholder_name: record.cardholder_name.clone(),
        cardholder_mobile: masked_mobile(&record.cardholder_mobile),
        notify_url: order.notify_url.clone(),
        figures: FiguresView {
            periods: figures.periods,
            unused_periods: figures.unused_periods,
            redeemed_periods: figures.redeemed_periods,
            returned_periods: figures.returned_periods,
            unused_amount: figures.unused_amount.to_string(),
            redeemed_amount: figures.redeemed_amount.to_string(),
            returned_amount: figures.returned_amount.to_string(),
            fully_redeemed: figures.fully_redeemed,
        },
        serials: order
            .serials
            .iter()
            .map(|s| SerialView {
                serial_no: tessera_domain::installment::Serial::number(&order.trade_no, s.period),
                period: s.period,
                face_value: s.face_value.to_string(),
                expected_on: s.expected_on,
                status: s.status.name().to_owned(),
                status_at: s.status_at,
                return_fee: s.return_fee.to_string(),
            })
            .collect(),
        returns: order
            .returns
            .iter()
            .map(|r| ReturnView {
                number: r.number,
                returned_at: r.returned_at,
                by_account: r.by_account.to_string(),
                reason: r.reason.clone(),
                fee: r.fee.to_string(),
                amount: r.amount.to_string(),
                refund_amount: r.refund_amount().to_string(),
                parts: r
                    .parts
                    .iter()
                    .map(|p| FeePartView {
                        period: p.period,
                        fee: p.fee.to_string(),
                    })
                    .collect(),
                bank_update_at: r.bank_update_at,
                cancelled_at: r.cancelled_at,
                cancel_reason: r.cancel_reason.clone(),
                refunded_at: r.refunded_at,
            })
            .collect(),
    }
}

/// A trade number from the path; one that cannot exist is simply not found.
fn trade_no(value: &str) -> Result<TradeNo, Error> {
    TradeNo::parse("trade_no", value).map_err(|_| Error::new(ErrorCode::InstallmentOrderNotFound))
}

/// Issue a paid order of an installment merchant: its amount split into periods (the
/// remainder one NT$ each to the earliest), each a serial expected to be redeemed monthly
/// from the first date. The order keeps the refund notify URL in force now.
#[utoipa::path(post, path = "/installment-orders", tag = "installment", security(("bearer" = [])), request_body = IssueInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 201, body = InstallmentOrderView),
        (status = 400, description = "VALIDATION_FAILED: trade_no, periods (1-60, at most one per NT$), first_redemption_on (today to a year ahead); IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of installment_orders; REDEMPTION_MODE_MISMATCH; BRANCH_DISABLED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "ORDER_NOT_UNISSUED, ORDER_ISSUE_PERIOD_OVER, SERVICE_NOT_ACTIVE, ORDER_EXISTS, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
async fn issue(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<IssueInput>,
) -> Result<(StatusCode, Json<InstallmentOrderView>), Problem> {
    let actor = &current.actor;
    ORDERS.check_own(actor, Access::Modify)?;
    require_operational_branch(actor)?;
    let merchant = &actor.acting_as;
    let trade_no = &TradeNo::parse("trade_no", &input.trade_no)?;
    let contract = services.table.get_contract(merchant).await?;
    orders::require_mode(contract.as_ref(), RedemptionMode::Installment)?;
    let now = services.clock.now();
    if contract.as_ref().map(|c| c.status(now)) != Some(ServiceStatus::Active) {
        return Err(Problem::new(ErrorCode::ServiceNotActive));
    }
    let notify_url = orders::notify_url_in_force(&services.table, merchant).await?;
    let plan = Plan {
        periods: input.periods,
        first_redemption_on: input.first_redemption_on,
    };
    let (services, plan, notify_url) = (&services, &plan, &notify_url);
    let answer = services.engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut paid = services
                .table
                .get_order(merchant, trade_no)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::OrderNotFound))?;
            require_issuable(paid.status, paid.paid_at, now)?;
            let order = InstallmentOrder::issue(
                trade_no.clone(),
                paid.product_id.clone(),
                paid.amount,
                plan,
                now,
                notify_url.clone(),
            )?;
            let mut record = InstallmentOrderRecord {
                merchant_id: merchant.clone(),
                order,
                cardholder_name: paid.cardholder_name.clone(),
                cardholder_mobile: paid.mobile.as_str().to_owned(),
                version: 0,
            };
            let before = record.order.clone();
            let mut changes = Changes::new();
            // The paid order leaves the unissued list in the same transaction.
            let status_before = paid.status;
            paid.status = paid.status.after(OrderEvent::Issue)?;
            paid.updated_at = now;
            let paid_version = changes.update(&mut paid)?;
            changes.history(
                &HistoryEntry::by(
                    actor,
                    now,
                    "order",
                    trade_no.as_str(),
                    "issued",
                    json!({"status": {"before": status_before.name(), "after": paid.status.name()}, "periods": plan.periods}),
                ),
                paid_version,
            )?;
            let periods = record.order.serials.len() as u32;
            let entry = HistoryEntry::by(
                actor,
                now,
                ENTITY,
                trade_no.as_str(),
                "issued",
                json!({
                    "amount": record.order.amount.to_string(),
                    "periods": periods,
                    "first_redemption_on": plan.first_redemption_on,
                    "notify_url": record.order.notify_url,
                }),
            );
            let event = json!({
                "trade_no": trade_no,
                "product_id": record.order.product_id,
                "amount": record.order.amount.to_string(),
                "periods": periods,
            });
            let amount = record.order.amount;
            orders::stage(
                &mut changes,
                &mut record,
                &before,
                &entry,
                Some(LedgerLine {
                    operation: LedgerOperation::Issued,
                    periods,
                    amount,
                    fee: None,
                    return_number: None,
                }),
                vec![(tessera_domain::events::EventType::InstallmentOrderIssued, event)],
                now,
            )?;
            Ok(Decision::new(changes, view(&record)))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The order the path names, of `owner`, after the mode check.
async fn owned_order(
    services: &Services,
    owner: &MerchantId,
    trade_no: &TradeNo,
) -> Result<InstallmentOrderRecord, Error> {
    orders::check_mode(&services.table, owner, RedemptionMode::Installment).await?;
    orders::read(&services.table, owner, trade_no).await
}

/// One installment order: its figures (金額／期數), serials (各期序號), returns with the fee
/// apportionment. A parent reads a child's with `merchant_id`.
#[utoipa::path(get, path = "/installment-orders/{trade_no}", tag = "installment", security(("bearer" = [])),
    params(("trade_no" = String, Path, description = "Merchant trade number: 1-20 letters or digits"), OwnerQuery),
    responses((status = 200, body = InstallmentOrderView),
        (status = 400, description = "VALIDATION_FAILED: merchant_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of installment_orders; REDEMPTION_MODE_MISMATCH", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "INSTALLMENT_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn get_order(
    State(services): State<Services>,
    current: CurrentActor,
    Path(number): Path<String>,
    ApiQuery(owner): ApiQuery<OwnerQuery>,
) -> Result<Json<InstallmentOrderView>, Problem> {
    let actor = &current.actor;
    let owner = owner.owner(actor)?;
    ORDERS.check(actor, &owner, Access::Query)?;
    let record = owned_order(&services, &owner, &trade_no(&number)?).await?;
    Ok(Json(view(&record)))
}

/// The order's history (歷程) since issuance: returns, cancels, the system's redemptions and
/// bank steps, remarks.
#[utoipa::path(get, path = "/installment-orders/{trade_no}/history", tag = "installment", security(("bearer" = [])),
    params(("trade_no" = String, Path, description = "Merchant trade number: 1-20 letters or digits"), OwnerQuery),
    responses((status = 200, body = HistoryList),
        (status = 400, description = "VALIDATION_FAILED: merchant_id", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of installment_orders; REDEMPTION_MODE_MISMATCH", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "INSTALLMENT_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn order_history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(number): Path<String>,
    ApiQuery(owner): ApiQuery<OwnerQuery>,
) -> Result<Json<HistoryList>, Problem> {
    let actor = &current.actor;
    let owner = owner.owner(actor)?;
    ORDERS.check(actor, &owner, Access::Query)?;
    let record = owned_order(&services, &owner, &trade_no(&number)?).await?;
    let entries = services
        .table
        .list_history(&owner, ENTITY, record.order.trade_no.as_str())
        .await?;
    Ok(Json(entries.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderRemarkInput {
    /// 1 to 100 characters.
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub remark: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderReturnInput {
    /// 退貨手續費: whole NT$, at most the unused periods' face value; apportioned over them.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{1,8}$")]
    pub fee: Option<Decimal>,
    /// 退貨原因: 1 to 100 characters.
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OrderCancelReturnInput {
    /// 取消退貨原因: 1 to 100 characters.
    #[schema(
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub reason: String,
}

/// What a person's change does to the order, decided by the domain.
enum PersonChange<'a> {
    Remark(&'a str),
    Return { fee: Decimal, reason: &'a str },
    CancelReturn { reason: &'a str },
}

impl PersonChange<'_> {
    /// The area whose modify right the change needs.
    fn rights(&self) -> AreaGuard {
        match self {
            PersonChange::Remark(_) => ORDERS,
            PersonChange::Return { .. } => RETURNS,
            PersonChange::CancelReturn { .. } => CANCEL_RETURNS,
        }
    }
}

/// Runs a person's change on the order the path names: the change's right on the order's
/// merchant (a parent must switch first), an enabled branch for returns and their cancel;
/// then read, decide, commit (the change engine), answered with the order as it is after.
async fn change(
    services: &Services,
    actor: &Actor,
    keyed: &Keyed,
    number: &str,
    owner: &OwnerQuery,
    what: PersonChange<'_>,
) -> Result<InstallmentOrderView, Error> {
    what.rights()
        .check(actor, &owner.owner(actor)?, Access::Modify)?;
    if !matches!(what, PersonChange::Remark(_)) {
        require_operational_branch(actor)?;
    }
    let merchant = &actor.acting_as;
    orders::check_mode(&services.table, merchant, RedemptionMode::Installment).await?;
    let trade_no = &trade_no(number)?;
    let what = &what;
    services.engine()
        .run(keyed.as_ref(), 200, |now| async move {
            let mut record = orders::read(&services.table, merchant, trade_no).await?;
            let before = record.order.clone();
            let (action, details, ledger, event) = match what {
                PersonChange::Remark(remark) => {
                    let remark = check_remark(remark)?;
                    ("remark", json!({"remark": remark}), None, None)
                }
                PersonChange::Return { fee, reason } => {
                    let number = record
                        .order
                        .return_order(*fee, reason, &actor.account, now)?;
                    let returned = record
                        .order
                        .returns
                        .iter()
                        .find(|r| r.number == number)
                        .cloned()
                        .ok_or_else(|| Error::new(ErrorCode::InternalError))?;
                    let parts: Vec<_> = returned
                        .parts
                        .iter()
                        .map(|p| json!({"period": p.period, "fee": p.fee.to_string()}))
                        .collect();
                    let details = json!({
                        "return_number": number,
                        "reason": returned.reason,
                        "fee": returned.fee.to_string(),
                        "amount": returned.amount.to_string(),
                        "parts": parts,
                        "bank_update_at": returned.bank_update_at,
                    });
                    let ledger = LedgerLine {
                        operation: LedgerOperation::Returned,
                        periods: returned.parts.len() as u32,
                        amount: returned.amount,
                        fee: Some(returned.fee),
                        return_number: Some(number),
                    };
                    let event = (
                        tessera_domain::events::EventType::InstallmentOrderReturned,
                        json!({"trade_no": trade_no, "return_number": number, "amount": returned.amount.to_string(), "fee": returned.fee.to_string(), "parts": parts}),
                    );
                    ("return", details, Some(ledger), Some(event))
                }
                PersonChange::CancelReturn { reason } => {
                    let number = record.order.cancel_return(reason, now)?;
                    let cancelled = record
                        .order
                        .returns
                        .iter()
                        .find(|r| r.number == number)
                        .cloned()
                        .ok_or_else(|| Error::new(ErrorCode::InternalError))?;
                    let details = json!({
                        "return_number": number,
                        "reason": cancelled.cancel_reason,
                        "periods": cancelled.parts.iter().map(|p| p.period).collect::<Vec<_>>(),
                    });
                    let ledger = LedgerLine {
                        operation: LedgerOperation::ReturnCancelled,
                        periods: cancelled.parts.len() as u32,
                        amount: cancelled.amount,
                        fee: Some(cancelled.fee),
                        return_number: Some(number),
                    };
                    let event = (
                        tessera_domain::events::EventType::InstallmentOrderReturnCancelled,
                        json!({"trade_no": trade_no, "return_number": number}),
                    );
                    ("cancel_return", details, Some(ledger), Some(event))
                }
            };
            // What the change adds to the circulation counters travels with its event.
            let mut event = event;
            if let Some((_, data)) = &mut event {
                data["facts"] = json!(record.order.changed_facts(&before));
            }
            let entry = HistoryEntry::by(actor, now, ENTITY, trade_no.as_str(), action, details);
            let mut changes = Changes::new();
            orders::stage(
                &mut changes,
                &mut record,
                &before,
                &entry,
                ledger,
                event.into_iter().collect(),
                now,
            )?;
            Ok(Decision::new(changes, view(&record)))
        })
        .await
}

fn check_remark(remark: &str) -> Result<String, Error> {
    let remark = remark.trim();
    let length = remark.chars().count();
    if length == 0 || length > REMARK_MAX || remark.chars().any(char::is_control) {
        return Err(Error::invalid(vec![Violation::field(
            "remark",
            format!("1 to {REMARK_MAX} characters, no control characters (found {length})"),
        )]));
    }
    Ok(remark.to_owned())
}

/// Add a remark to the order (備註); it shows in the order's history.
#[utoipa::path(post, path = "/installment-orders/{trade_no}/remarks", tag = "installment", security(("bearer" = [])), request_body = OrderRemarkInput,
    params(("trade_no" = String, Path, description = "Merchant trade number: 1-20 letters or digits"), OwnerQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = InstallmentOrderView),
        (status = 400, description = "VALIDATION_FAILED: remark; IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of installment_orders; SWITCH_REQUIRED; REDEMPTION_MODE_MISMATCH", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "INSTALLMENT_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
async fn add_remark(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(number): Path<String>,
    ApiQuery(owner): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<OrderRemarkInput>,
) -> Result<Json<InstallmentOrderView>, Problem> {
    let what = PersonChange::Remark(&input.remark);
    let view = change(&services, &current.actor, &keyed, &number, &owner, what).await?;
    Ok(Json(view))
}

/// 訂單退貨: every unused serial of the order at once (never part of them), the handling fee
/// apportioned over those periods (as even as possible, never above a period's face value,
/// the remainder to the earliest). Issuer only; the bank hears of it at 01:00 the next day
/// (issue day + 2 for an order issued and returned the same day).
#[utoipa::path(post, path = "/installment-orders/{trade_no}/return", tag = "installment", security(("bearer" = [])), request_body = OrderReturnInput,
    params(("trade_no" = String, Path, description = "Merchant trade number: 1-20 letters or digits"), OwnerQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = InstallmentOrderView),
        (status = 400, description = "VALIDATION_FAILED: fee, reason; RETURN_FEE_TOO_HIGH; IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of order_return; SWITCH_REQUIRED; REDEMPTION_MODE_MISMATCH; BRANCH_DISABLED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "INSTALLMENT_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "ORDER_NOTHING_TO_RETURN, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
async fn return_order(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(number): Path<String>,
    ApiQuery(owner): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<OrderReturnInput>,
) -> Result<Json<InstallmentOrderView>, Problem> {
    let what = PersonChange::Return {
        fee: input.fee.unwrap_or_default(),
        reason: &input.reason,
    };
    let view = change(&services, &current.actor, &keyed, &number, &owner, what).await?;
    Ok(Json(view))
}

/// 訂單取消退貨: every pending-return serial of the order back to unused, until 23:59
/// Taipei of the return day. Issuer only.
#[utoipa::path(post, path = "/installment-orders/{trade_no}/cancel-return", tag = "installment", security(("bearer" = [])), request_body = OrderCancelReturnInput,
    params(("trade_no" = String, Path, description = "Merchant trade number: 1-20 letters or digits"), OwnerQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = InstallmentOrderView),
        (status = 400, description = "VALIDATION_FAILED: reason; IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of order_cancel_return; SWITCH_REQUIRED; REDEMPTION_MODE_MISMATCH; BRANCH_DISABLED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "INSTALLMENT_ORDER_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "ORDER_RETURN_NOT_PENDING, CANCEL_WINDOW_CLOSED, CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
async fn cancel_return(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(number): Path<String>,
    ApiQuery(owner): ApiQuery<OwnerQuery>,
    ApiJson(input): ApiJson<OrderCancelReturnInput>,
) -> Result<Json<InstallmentOrderView>, Problem> {
    let what = PersonChange::CancelReturn {
        reason: &input.reason,
    };
    let view = change(&services, &current.actor, &keyed, &number, &owner, what).await?;
    Ok(Json(view))
}

/// Bounds the OpenAPI document states for the plan (kept beside the domain's).
const _: () = assert!(MAX_PERIODS == 60 && REASON_MAX == 100);

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(issue))
        .routes(routes!(get_order))
        .routes(routes!(order_history))
        .routes(routes!(add_remark))
        .routes(routes!(return_order))
        .routes(routes!(cancel_return))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
