//! Redemption (§6, manual §7-3 E–F): look a ticket up by its redemption code, redeem it,
//! cancel a redemption; a ticket's remarks and history. The rules are the domain's
//! (`tessera_domain::lifecycle`); the shared routine is `tessera_platform::lifecycle`.

use axum::extract::{Path, State};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_domain::lifecycle::Operation;
use tessera_platform::auth::{CurrentActor, SignedIn};
use tessera_platform::idempotency::Keyed;
use tessera_platform::lifecycle::{self, OperationRequest, TicketLookup, TicketView};
use tessera_platform::services::{Resource, Services};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeInput {
    /// The redemption code (spaces, dashes and case do not matter).
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RedeemInput {
    pub code: String,
    /// Optional note kept in the ticket's history: at most 100 characters, no control
    /// characters.
    #[serde(default)]
    #[schema(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{0,100}$")]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancelInput {
    pub code: String,
    /// Why (required, at most 100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub reason: String,
}

/// Find a ticket by redemption code: the issuer sees it whole; a store with a relation to
/// the issuer sees what it needs to redeem it; anyone else, "not found". Both see what they
/// may do with it now. POST, so that codes stay out of URLs and access logs.
#[utoipa::path(post, path = "/tickets/lookup", tag = "tickets", security(("bearer" = [])), request_body = CodeInput,
    responses((status = 200, body = TicketLookup),
        (status = 403, description = "RIGHT_MISSING: query right of redemption", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn lookup(
    State(services): State<Services>,
    signed_in: SignedIn,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Json<TicketLookup>, Problem> {
    Ok(Json(
        lifecycle::lookup(&services, &signed_in, &input.code).await?,
    ))
}

/// Redeem a ticket (核銷): `unused` → `used`, `unused_escrow_expired` →
/// `redeemed_after_expiry`. Needs an `Idempotency-Key` header.
#[utoipa::path(post, path = "/redemptions", tag = "tickets", security(("bearer" = [])), request_body = RedeemInput,
    params(("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _; a retry with the same key and body gets the first answer")),
    responses((status = 200, description = "The ticket as the caller may see it", body = TicketLookup),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_FAILED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING, BRANCH_DISABLED, BRANCH_NOT_PERMITTED, STORE_NOT_PERMITTED, SWITCH_REQUIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "TICKET_ALREADY_REDEEMED, TICKET_ALREADY_RETURNED, TICKET_EXPIRED, RELATION_NOT_OPEN", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn redeem(
    State(services): State<Services>,
    signed_in: SignedIn,
    keyed: Keyed,
    ApiJson(input): ApiJson<RedeemInput>,
) -> Result<Json<serde_json::Value>, Problem> {
    let request = OperationRequest {
        code: input.code,
        operation: Operation::Redeem,
        reason: input.reason,
        fee: None,
    };
    Ok(Json(
        lifecycle::perform(&services, &signed_in, &keyed, request).await?,
    ))
}

/// Cancel a redemption: a goods voucher's `used` → `unused` until 23:59 (Taipei) of the
/// redemption day, `redeemed_after_expiry` → `unused_escrow_expired` at any time. Head
/// office or whoever redeemed it. Needs an `Idempotency-Key` header.
#[utoipa::path(post, path = "/redemptions/cancel", tag = "tickets", security(("bearer" = [])), request_body = CancelInput,
    params(("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, description = "The ticket as the caller may see it", body = TicketLookup),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_FAILED: reason", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING, BRANCH_DISABLED, NOT_ORIGINAL_ACTOR", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "TICKET_NOT_REDEEMED, TICKET_WITH_BANK, GIFT_VOUCHER_NOT_CANCELLABLE, CANCEL_WINDOW_CLOSED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn cancel_redemption(
    State(services): State<Services>,
    signed_in: SignedIn,
    keyed: Keyed,
    ApiJson(input): ApiJson<CancelInput>,
) -> Result<Json<serde_json::Value>, Problem> {
    let request = OperationRequest {
        code: input.code,
        operation: Operation::CancelRedemption,
        reason: Some(input.reason),
        fee: None,
    };
    Ok(Json(
        lifecycle::perform(&services, &signed_in, &keyed, request).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RemarkInput {
    /// At most 100 characters.
    pub remark: String,
}

/// Add a remark to one of the merchant's tickets; it shows in the ticket's history.
#[utoipa::path(post, path = "/tickets/{ticket_no}/remarks", tag = "tickets", security(("bearer" = [])), request_body = RemarkInput,
    params(("ticket_no" = String, Path), ("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = TicketView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_FAILED: remark", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of issued_orders", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn add_remark(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(ticket_no): Path<String>,
    ApiJson(input): ApiJson<RemarkInput>,
) -> Result<Json<serde_json::Value>, Problem> {
    Ok(Json(
        lifecycle::add_remark(&services, &current.actor, &keyed, &ticket_no, &input.remark).await?,
    ))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketHistoryView {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `issued`, `redeem`, `cancel_redemption`, `return`, `cancel_return`, `remark`, …
    pub action: String,
    pub by_merchant: String,
    pub by_account: String,
    pub branch: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The reason or the remark.
    pub reason: Option<String>,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketHistory {
    pub items: Vec<TicketHistoryView>,
}

fn status_name(status: Option<tessera_domain::tickets::TicketStatus>) -> Option<String> {
    status.and_then(|s| {
        serde_json::to_value(s)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
    })
}

/// A ticket's history, oldest first: issuance, every change with who, where and why, the
/// remarks, and the end of its escrow or validity (`escrow_expiry`, `gift_expiry`).
#[utoipa::path(get, path = "/tickets/{ticket_no}/history", tag = "tickets", security(("bearer" = [])),
    params(("ticket_no" = String, Path)),
    responses((status = 200, body = TicketHistory),
        (status = 403, description = "RIGHT_MISSING: query right of issued_orders", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn history(
    State(services): State<Services>,
    current: CurrentActor,
    Path(ticket_no): Path<String>,
) -> Result<Json<TicketHistory>, Problem> {
    let entries = lifecycle::history(&services, &current.actor, &ticket_no).await?;
    Ok(Json(TicketHistory {
        items: entries
            .into_iter()
            .map(|e| TicketHistoryView {
                at: e.at,
                action: e.action,
                by_merchant: e.by_merchant.to_string(),
                by_account: e.by_account.to_string(),
                branch: e.branch.map(|b| b.to_string()),
                before: status_name(e.before),
                after: status_name(e.after),
                reason: e.reason,
                changes: e.changes,
            })
            .collect(),
    }))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(lookup))
        .routes(routes!(redeem))
        .routes(routes!(cancel_redemption))
        .routes(routes!(add_remark))
        .routes(routes!(history))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
