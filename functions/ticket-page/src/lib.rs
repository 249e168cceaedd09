//! The consumer's e-ticket page (電子票券頁, §7-1) and what its holder does there: see the
//! tickets with their redemption codes as QR codes and barcodes, give electronic goods
//! vouchers to someone (轉贈, §7-3 K), and ask for a return where the merchant allows it.
//!
//! Public: the unguessable link (160 random bits) is the only credential, so the routes
//! are rate-limited per caller address, a miss reads as much as a hit (guessing learns
//! nothing from the time), and every answer says `Cache-Control: no-store` and
//! `Referrer-Policy: no-referrer`. The page is server-rendered HTML with no script; the same
//! is JSON under `/wallet/{token}` for apps. State changes go through the change engine.

mod html;
mod wallet;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Json, Router};
use serde::Deserialize;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::extract::ClientAddress;
use tessera_platform::services::{Resource, Services};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use wallet::{ReturnRequestInput, ReturnRequestView, TransferInput, TransferView, WalletView};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::Assets, Resource::TicketLinks];

/// Requests one caller address may make to these routes in a minute: a family opening
/// its tickets a few times a day never meets it; a guesser meets it at once.
pub const REQUESTS_PER_MINUTE: u64 = 60;
const RATE_SCOPE: &str = "ticket-page";
const PROBLEM: &str = "application/problem+json";

/// The e-ticket page: each ticket with its redemption code as a QR code and a barcode,
/// its status and validity, the issuer's page information and the product's terms; with
/// the transfer form on the buyer's page and the return request where it is enabled.
#[utoipa::path(get, path = "/t/{token}", tag = "consumer",
    params(("token" = String, Path, description = "The link's token: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$")),
    responses((status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "TICKET_LINK_NOT_FOUND (an HTML page)", content_type = "text/html", body = String),
        (status = 429, description = "TOO_MANY_REQUESTS (an HTML page)", content_type = "text/html", body = String)))]
async fn page(
    State(services): State<Services>,
    caller: ClientAddress,
    Path(token): Path<String>,
) -> Response {
    html_answer(async {
        limit(&services, &caller).await?;
        let wallet = wallet::open(&services, &token).await?;
        Ok(html::page(&wallet.view(&services).await?, &token, None))
    })
    .await
}

/// The e-ticket page as JSON (for apps): the same tickets and information.
#[utoipa::path(get, path = "/wallet/{token}", tag = "consumer",
    params(("token" = String, Path, description = "The link's token: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$")),
    responses((status = 200, body = WalletView),
        (status = 404, description = "TICKET_LINK_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ProblemDetails, content_type = PROBLEM)))]
async fn wallet_json(
    State(services): State<Services>,
    caller: ClientAddress,
    Path(token): Path<String>,
) -> Result<Response, Problem> {
    limit(&services, &caller).await?;
    let wallet = wallet::open(&services, &token).await?;
    Ok(Json(wallet.view(&services).await?).into_response())
}

/// Give tickets of the buyer's page to someone (轉贈): electronic goods vouchers, unused,
/// 1 to 20 at a time. The recipient is mailed a page of their own; this page stops showing
/// the tickets given. Needs an `Idempotency-Key` header.
#[utoipa::path(post, path = "/wallet/{token}/transfers", tag = "consumer", request_body = TransferInput,
    params(("token" = String, Path, description = "The buyer's link: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$"),
        ("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 201, body = TransferView),
        (status = 400, description = "VALIDATION_FAILED: ticket_nos (1 to 20, each once), recipient.name (1-30 characters), recipient.mobile (09 and 8 digits), recipient.email (required); IDEMPOTENCY_KEY_REQUIRED; MALFORMED_JSON", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TICKET_LINK_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "TICKET_NOT_TRANSFERABLE (not on this page, not an unused electronic goods voucher, given already, or a recipient's page); CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ProblemDetails, content_type = PROBLEM)))]
async fn transfer_json(
    State(services): State<Services>,
    caller: ClientAddress,
    headers: HeaderMap,
    Path(token): Path<String>,
    ApiJson(input): ApiJson<TransferInput>,
) -> Result<Response, Problem> {
    limit(&services, &caller).await?;
    let key = header_key(&headers)?;
    let view = wallet::transfer(&services, &token, &key, input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The page's transfer form (no script): the same as `POST /wallet/{token}/transfers`,
/// with the idempotency key the page put in the form; answers a page saying what was done.
#[utoipa::path(post, path = "/t/{token}/transfers", tag = "consumer",
    request_body(content = TransferForm, content_type = "application/x-www-form-urlencoded"),
    params(("token" = String, Path, description = "The buyer's link: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$")),
    responses((status = 201, description = "The transfer was made (an HTML page)", content_type = "text/html", body = String),
        (status = 400, description = "VALIDATION_FAILED, IDEMPOTENCY_KEY_REQUIRED (an HTML page)", content_type = "text/html", body = String),
        (status = 404, description = "TICKET_LINK_NOT_FOUND (an HTML page)", content_type = "text/html", body = String),
        (status = 409, description = "TICKET_NOT_TRANSFERABLE, CONCURRENT_CHANGE (an HTML page)", content_type = "text/html", body = String),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED (an HTML page)", content_type = "text/html", body = String),
        (status = 429, description = "TOO_MANY_REQUESTS (an HTML page)", content_type = "text/html", body = String)))]
async fn transfer_form(
    State(services): State<Services>,
    caller: ClientAddress,
    Path(token): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    html_answer(async {
        limit(&services, &caller).await?;
        let Form(form) = form.map_err(form_refusal)?;
        let form = TransferForm::from_pairs(&form);
        let view = wallet::transfer(&services, &token, &form.idempotency_key, form.input()).await?;
        let wallet = wallet::open(&services, &token).await?;
        let done = format!(
            "已轉贈 {} 張票券給 {}（轉贈單號 {}）。Transferred {} ticket(s).",
            view.ticket_nos.len(),
            view.recipient_name,
            view.transfer_id,
            view.ticket_nos.len()
        );
        let mut answer = html::page(&wallet.view(&services).await?, &token, Some(&done));
        *answer.status_mut() = StatusCode::CREATED;
        Ok(answer)
    })
    .await
}

/// Ask the merchant to take tickets back (§3-3 電子票券申請退貨), where it is enabled: the
/// request is kept on each ticket (its history and the ticket report show it) and the
/// merchant is mailed. The merchant decides and returns at its back office. Needs an
/// `Idempotency-Key` header.
#[utoipa::path(post, path = "/wallet/{token}/return-requests", tag = "consumer", request_body = ReturnRequestInput,
    params(("token" = String, Path, description = "The link: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$"),
        ("Idempotency-Key" = String, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 201, body = ReturnRequestView),
        (status = 400, description = "VALIDATION_FAILED: ticket_nos (1 to 20, each once), reason (1-100 characters); IDEMPOTENCY_KEY_REQUIRED; MALFORMED_JSON", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "CONSUMER_RETURN_NOT_ENABLED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TICKET_LINK_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "TICKET_STATUS_CONFLICT (not on this page, not unused, or asked already); CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 413, description = "PAYLOAD_TOO_LARGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 415, description = "UNSUPPORTED_MEDIA_TYPE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM),
        (status = 429, description = "TOO_MANY_REQUESTS", body = ProblemDetails, content_type = PROBLEM)))]
async fn return_request_json(
    State(services): State<Services>,
    caller: ClientAddress,
    headers: HeaderMap,
    Path(token): Path<String>,
    ApiJson(input): ApiJson<ReturnRequestInput>,
) -> Result<Response, Problem> {
    limit(&services, &caller).await?;
    let key = header_key(&headers)?;
    let view = wallet::request_return(&services, &token, &key, input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The page's return-request form (no script): as `POST /wallet/{token}/return-requests`.
#[utoipa::path(post, path = "/t/{token}/return-requests", tag = "consumer",
    request_body(content = ReturnRequestForm, content_type = "application/x-www-form-urlencoded"),
    params(("token" = String, Path, description = "The link: 40 hexadecimal digits", pattern = "^[0-9a-f]{40}$")),
    responses((status = 201, description = "The request was recorded (an HTML page)", content_type = "text/html", body = String),
        (status = 400, description = "VALIDATION_FAILED, IDEMPOTENCY_KEY_REQUIRED (an HTML page)", content_type = "text/html", body = String),
        (status = 403, description = "CONSUMER_RETURN_NOT_ENABLED (an HTML page)", content_type = "text/html", body = String),
        (status = 404, description = "TICKET_LINK_NOT_FOUND (an HTML page)", content_type = "text/html", body = String),
        (status = 409, description = "TICKET_STATUS_CONFLICT, CONCURRENT_CHANGE (an HTML page)", content_type = "text/html", body = String),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED (an HTML page)", content_type = "text/html", body = String),
        (status = 429, description = "TOO_MANY_REQUESTS (an HTML page)", content_type = "text/html", body = String)))]
async fn return_request_form(
    State(services): State<Services>,
    caller: ClientAddress,
    Path(token): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    html_answer(async {
        limit(&services, &caller).await?;
        let Form(form) = form.map_err(form_refusal)?;
        let form = ReturnRequestForm::from_pairs(&form);
        let view =
            wallet::request_return(&services, &token, &form.idempotency_key, form.input()).await?;
        let wallet = wallet::open(&services, &token).await?;
        let done = format!(
            "已送出 {} 張票券的退貨申請，商店將與您聯繫。Your return request was sent.",
            view.ticket_nos.len()
        );
        let mut answer = html::page(&wallet.view(&services).await?, &token, Some(&done));
        *answer.status_mut() = StatusCode::CREATED;
        Ok(answer)
    })
    .await
}

/// The transfer form's fields: the tickets ticked (`ticket_no`, repeated), the recipient,
/// and the key the page drew for this form.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TransferForm {
    /// Repeated: one per ticket given.
    pub ticket_no: Vec<String>,
    pub recipient_name: String,
    pub recipient_mobile: String,
    pub recipient_email: String,
    pub idempotency_key: String,
}

impl TransferForm {
    fn from_pairs(pairs: &[(String, String)]) -> TransferForm {
        let mut form = TransferForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "ticket_no" => form.ticket_no.push(value.clone()),
                "recipient_name" => form.recipient_name = value.clone(),
                "recipient_mobile" => form.recipient_mobile = value.clone(),
                "recipient_email" => form.recipient_email = value.clone(),
                "idempotency_key" => form.idempotency_key = value.clone(),
                _ => {}
            }
        }
        form
    }

    fn input(&self) -> TransferInput {
        TransferInput {
            ticket_nos: self.ticket_no.clone(),
            recipient: wallet::RecipientInput {
                name: self.recipient_name.clone(),
                mobile: self.recipient_mobile.clone(),
                email: self.recipient_email.clone(),
            },
        }
    }
}

/// The return-request form's fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ReturnRequestForm {
    /// Repeated: one per ticket.
    pub ticket_no: Vec<String>,
    pub reason: String,
    pub idempotency_key: String,
}

impl ReturnRequestForm {
    fn from_pairs(pairs: &[(String, String)]) -> ReturnRequestForm {
        let mut form = ReturnRequestForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "ticket_no" => form.ticket_no.push(value.clone()),
                "reason" => form.reason = value.clone(),
                "idempotency_key" => form.idempotency_key = value.clone(),
                _ => {}
            }
        }
        form
    }

    fn input(&self) -> ReturnRequestInput {
        ReturnRequestInput {
            ticket_nos: self.ticket_no.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Counts the request against its address's minute; refuses past the limit.
async fn limit(services: &Services, caller: &ClientAddress) -> Result<(), Error> {
    let count = services
        .table
        .count_request(RATE_SCOPE, &caller.0, services.clock.now())
        .await?;
    if count > REQUESTS_PER_MINUTE {
        tracing::warn!(operation = "ticket_page", count, "rate limit met");
        return Err(Error::new(ErrorCode::TooManyRequests).with_detail(format!(
            "at most {REQUESTS_PER_MINUTE} requests a minute from one address"
        )));
    }
    Ok(())
}

fn header_key(headers: &HeaderMap) -> Result<String, Error> {
    headers
        .get(tessera_platform::idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| Error::new(ErrorCode::IdempotencyKeyRequired))
}

/// What every answer of these routes carries: nothing cached, nothing leaked to the next
/// site by the Referer header, and (for the HTML) no script, frame or foreign form target.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    }
    response
}

/// An HTML route's answer: the page, or the refusal as a page of its own with its status.
/// A form the page's routes cannot read, refused as the JSON routes refuse a body (and
/// answered with a page like every refusal of these routes).
fn form_refusal(rejection: FormRejection) -> Error {
    match rejection.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::new(ErrorCode::UnsupportedMediaType),
        StatusCode::PAYLOAD_TOO_LARGE => Error::new(ErrorCode::PayloadTooLarge),
        _ => Error::invalid_field("form", rejection.body_text()),
    }
}

async fn html_answer(work: impl std::future::Future<Output = Result<Response, Error>>) -> Response {
    let response = match work.await {
        Ok(response) => response,
        Err(error) => {
            let details = ProblemDetails::from(&error);
            if details.status >= 500 {
                tracing::warn!(code = %details.code, "request failed");
            }
            let status =
                StatusCode::from_u16(details.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Html(html::refusal(&error))).into_response()
        }
    };
    let mut response = private(response);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(wallet_json))
        .routes(routes!(transfer_json))
        .routes(routes!(transfer_form))
        .routes(routes!(return_request_json))
        .routes(routes!(return_request_form))
        // Refusals of the JSON routes are private too.
        .layer(axum::middleware::map_response(
            |response: Response| async move { private(response) },
        ))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
