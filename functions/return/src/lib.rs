//! Returns (§6, manual §7-3 G–H): return a ticket (issuer only; a handling fee only on goods
//! vouchers within escrow, not above face value) and cancel a return. The rules are the
//! domain's (`tessera_domain::lifecycle`); the shared routine is `tessera_platform::lifecycle`.

use axum::extract::State;
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tessera_domain::lifecycle::Operation;
use tessera_platform::auth::SignedIn;
use tessera_platform::idempotency::Keyed;
use tessera_platform::lifecycle::{self, OperationRequest, TicketView};
use tessera_platform::services::{Resource, Services};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReturnInput {
    /// The redemption code.
    pub code: String,
    /// Why (required, at most 100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub reason: String,
    /// Handling fee kept, whole NT$ (goods vouchers within escrow only; at most face value).
    #[serde(default, with = "rust_decimal::serde::str_option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{1,7}$")]
    pub fee: Option<Decimal>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CancelReturnInput {
    pub code: String,
    /// Why (required, at most 100 characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^(?=[\\s\\S]*[^\\s\\x00-\\x1f\\x7f-\\x9f])[^\\x00-\\x1f\\x7f-\\x9f]{1,100}$"
    )]
    pub reason: String,
}

/// Return a ticket (退貨): `unused` → `pending_return` (the bank hears of it the next day
/// at 01:00, or on issue day + 2 at 01:00 if it was issued the same day);
/// `unused_escrow_expired` → `returned_escrow_expired`. Needs an `Idempotency-Key` header.
#[utoipa::path(post, path = "/returns", tag = "tickets", security(("bearer" = [])), request_body = ReturnInput,
    params(("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = TicketView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_FAILED, RETURN_FEE_NOT_ALLOWED, RETURN_FEE_TOO_HIGH", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING, BRANCH_DISABLED, BRANCH_NOT_PERMITTED, ISSUER_ONLY", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "TICKET_ALREADY_REDEEMED, TICKET_ALREADY_RETURNED, TICKET_EXPIRED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn return_ticket(
    State(services): State<Services>,
    signed_in: SignedIn,
    keyed: Keyed,
    ApiJson(input): ApiJson<ReturnInput>,
) -> Result<Json<serde_json::Value>, Problem> {
    let request = OperationRequest {
        code: input.code,
        operation: Operation::Return,
        reason: Some(input.reason),
        fee: input.fee,
    };
    Ok(Json(
        lifecycle::perform(&services, &signed_in, &keyed, request).await?,
    ))
}

/// Cancel a return: `pending_return` → `unused` until 23:59 (Taipei) of the return day;
/// `returned_escrow_expired` → `unused_escrow_expired` at any time. Head office or the
/// branch that returned it. Needs an `Idempotency-Key` header.
#[utoipa::path(post, path = "/returns/cancel", tag = "tickets", security(("bearer" = [])), request_body = CancelReturnInput,
    params(("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 200, body = TicketView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED, VALIDATION_FAILED: reason", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING, BRANCH_DISABLED, NOT_ORIGINAL_ACTOR, ISSUER_ONLY", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "TICKET_NOT_RETURNED, TICKET_WITH_BANK, CANCEL_WINDOW_CLOSED", body = ProblemDetails, content_type = "application/problem+json")))]
async fn cancel_return(
    State(services): State<Services>,
    signed_in: SignedIn,
    keyed: Keyed,
    ApiJson(input): ApiJson<CancelReturnInput>,
) -> Result<Json<serde_json::Value>, Problem> {
    let request = OperationRequest {
        code: input.code,
        operation: Operation::CancelReturn,
        reason: Some(input.reason),
        fee: None,
    };
    Ok(Json(
        lifecycle::perform(&services, &signed_in, &keyed, request).await?,
    ))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(return_ticket))
        .routes(routes!(cancel_return))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
