//! Paper printing at the back office (紙本票券列印, §7-3 D): print chosen paper tickets (a
//! print-ready page, one ticket per sheet, with the redemption code as QR code and barcode;
//! docs/decisions/0014), a test print, and each ticket's print history. The list of paper
//! tickets and its Excel are a report (`/reports/paper-tickets`). Each print is recorded
//! through the change engine: the ticket's count and history, and a print record the 21:00
//! reprint reminder reads.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tessera_domain::access::{require_operational_branch, Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::printing::{PRINT_ACTION, PRINT_MAX_TICKETS};
use tessera_domain::products::{ProductId, TicketKind};
use tessera_domain::ticket::Ticket;
use tessera_domain::tickets::TicketNumber;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::lifecycle::add_ticket_change;
use tessera_platform::render::{barcode_svg, escape, qr_svg};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::printing::{print_record_write, PrintRecord};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[];

const RIGHTS: AreaGuard = AreaGuard::new(FunctionArea::PaperPrinting, ErrorCode::TicketNotFound);
const PROBLEM: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrintInput {
    /// The paper tickets to print: 1 to 30, each once.
    #[schema(min_items = 1, max_items = 30)]
    pub ticket_nos: Vec<String>,
}

/// A ticket as its printed sheet shows it (kept with the print's idempotency record, so a
/// repeated request draws the very same page).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PrintedTicket {
    ticket_no: String,
    redemption_code: String,
    product_id: ProductId,
    product_name: String,
    kind: TicketKind,
    face_value: String,
    term_ends_on: NaiveDate,
    buyer_name: String,
    print: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PrintJob {
    at: DateTime<Utc>,
    tickets: Vec<PrintedTicket>,
}

fn chosen(ticket_nos: &[String]) -> Result<Vec<TicketNumber>, Error> {
    tessera_domain::tickets::parse_ticket_choice("ticket_nos", ticket_nos, PRINT_MAX_TICKETS)
}

/// The merchant's own tickets among `numbers`, as the caller may see them (a branch-bound
/// account: its branch's); any other is not found.
async fn visible_tickets(
    services: &Services,
    actor: &Actor,
    numbers: &[TicketNumber],
) -> Result<Vec<Ticket>, Error> {
    let found: HashMap<TicketNumber, Ticket> = services
        .table
        .get_tickets(numbers)
        .await?
        .into_iter()
        .filter(|t| t.merchant_id == actor.acting_as)
        .filter(|t| actor.branch.is_none() || t.issued_branch == actor.branch)
        .map(|t| (t.ticket_no.clone(), t))
        .collect();
    numbers
        .iter()
        .map(|no| {
            found.get(no).cloned().ok_or_else(|| {
                Error::new(ErrorCode::TicketNotFound).with_detail(format!("ticket {no}"))
            })
        })
        .collect()
}

/// Print paper tickets (列印紙本票券): the merchant's own paper tickets, unused, 1 to 30
/// at a time. Answers the print page (HTML, one ticket per A6 sheet, ready for the browser's
/// print dialog); each ticket's print count goes up and its history records who printed it
/// and the how-many-th print. Needs an `Idempotency-Key` (a repeated request answers the
/// same page and prints nothing more).
#[utoipa::path(post, path = "/paper-tickets/print", tag = "paper-printing", security(("bearer" = [])), request_body = PrintInput,
    responses((status = 200, description = "The print page", content_type = "text/html", body = String),
        (status = 400, description = "VALIDATION_FAILED: ticket_nos (1 to 30 ticket numbers, each once); IDEMPOTENCY_KEY_REQUIRED; MALFORMED_JSON", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of paper_printing; BRANCH_DISABLED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TICKET_NOT_FOUND (also another merchant's or branch's)", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "TICKET_NOT_PRINTABLE (not the merchant's own paper ticket, or not unused); CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
async fn print(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<PrintInput>,
) -> Result<Response, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Modify)?;
    require_operational_branch(actor)?;
    let keyed = keyed.require()?;
    let numbers = chosen(&input.ticket_nos)?;
    let (services, numbers) = (&services, &numbers);
    let job = services
        .engine()
        .run(Some(keyed), 200, |now| async move {
            let tickets = visible_tickets(services, actor, numbers).await?;
            let mut changes = Changes::new();
            let mut printed = Vec::with_capacity(tickets.len());
            for ticket in &tickets {
                let change = ticket.print(actor, now)?;
                let after = add_ticket_change(&mut changes, ticket, change)?;
                changes.write(print_record_write(&PrintRecord {
                    merchant_id: after.merchant_id.clone(),
                    ticket_no: after.ticket_no.clone(),
                    print: after.print_count,
                    at: now,
                    by_account: actor.account.clone(),
                    by_platform: false,
                })?);
                printed.push(PrintedTicket {
                    ticket_no: after.ticket_no.to_string(),
                    redemption_code: after.redemption_code.to_string(),
                    product_id: after.product_id.clone(),
                    product_name: after.product_name.clone(),
                    kind: after.kind,
                    face_value: after.face_value.to_string(),
                    term_ends_on: after.term_ends_on,
                    buyer_name: after.buyer.name.clone(),
                    print: after.print_count,
                });
            }
            Ok(Decision::new(
                changes,
                PrintJob {
                    at: now,
                    tickets: printed,
                },
            ))
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, tickets = job.tickets.len(), operation = "print", "paper tickets printed");
    let page = print_page(services, actor, &job).await?;
    Ok(html(page))
}

/// A test print (測試列印): a sample sheet in the paper ticket's layout, to check the
/// printer and its settings. Nothing is recorded.
#[utoipa::path(get, path = "/paper-tickets/test-print", tag = "paper-printing", security(("bearer" = [])),
    responses((status = 200, description = "The sample page", content_type = "text/html", body = String),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of paper_printing", body = ProblemDetails, content_type = PROBLEM)))]
async fn test_print(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Response, Problem> {
    let actor = &current.actor;
    // The manual hides the test print from accounts without the modify right.
    RIGHTS.check_own(actor, Access::Modify)?;
    let now = services.clock.now();
    let sample = PrintJob {
        at: now,
        tickets: vec![PrintedTicket {
            ticket_no: "000000000000".to_owned(),
            redemption_code: "TESTPRINT00000000000".to_owned(),
            product_id: ProductId::generate([0; 10]),
            product_name: "測試列印 TEST PRINT".to_owned(),
            kind: TicketKind::GoodsVoucher,
            face_value: "0".to_owned(),
            term_ends_on: tessera_domain::calendar::taipei_date(now),
            buyer_name: "樣本 Sample".to_owned(),
            print: 0,
        }],
    };
    Ok(html(print_page(&services, actor, &sample).await?))
}

/// One print of a ticket.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrintView {
    /// The how-many-th print (1: the first; more: reprints).
    pub print: u32,
    pub at: DateTime<Utc>,
    pub by_account: String,
    pub branch: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrintHistory {
    pub ticket_no: String,
    pub items: Vec<PrintView>,
}

/// A paper ticket's print history (檢視列印紀錄): every print, who and when.
#[utoipa::path(get, path = "/paper-tickets/{ticket_no}/prints", tag = "paper-printing", security(("bearer" = [])),
    params(("ticket_no" = String, Path, description = "The ticket number: 12 digits", pattern = "^[0-9]{12}$")),
    responses((status = 200, body = PrintHistory),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of paper_printing", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM)))]
async fn prints(
    State(services): State<Services>,
    current: CurrentActor,
    Path(ticket_no): Path<String>,
) -> Result<Json<PrintHistory>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let number = TicketNumber::parse("ticket_no", &ticket_no)
        .map_err(|_| Problem::new(ErrorCode::TicketNotFound))?;
    let ticket = visible_tickets(&services, actor, std::slice::from_ref(&number))
        .await?
        .remove(0);
    let items = services
        .table
        .ticket_history(&ticket.ticket_no)
        .await?
        .into_iter()
        .filter(|e| e.action == PRINT_ACTION)
        .map(|e| PrintView {
            print: e.changes["print"].as_u64().unwrap_or_default() as u32,
            at: e.at,
            by_account: e.by_account.to_string(),
            branch: e.branch.map(|b| b.to_string()),
        })
        .collect();
    Ok(Json(PrintHistory {
        ticket_no: ticket.ticket_no.to_string(),
        items,
    }))
}

fn html(page: String) -> Response {
    let mut response = (StatusCode::OK, Html(page)).into_response();
    let headers = response.headers_mut();
    // The page carries redemption codes: not cached, and nothing but its own styles.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    response
}

const STYLE: &str = "@page{size:105mm 148mm;margin:6mm}body{margin:0;font-family:'Noto Sans TC',system-ui,sans-serif;color:#000}.sheet{page-break-after:always;break-after:page;height:136mm;display:flex;flex-direction:column;justify-content:space-between;border:1px dashed #999;padding:4mm;box-sizing:border-box}.sheet:last-child{page-break-after:auto}h1{font-size:13pt;margin:0}h2{font-size:11pt;margin:2mm 0}.codes{text-align:center}svg.qr{width:40mm;height:40mm}svg.barcode{width:85mm;height:12mm}.code{font:700 12pt monospace;letter-spacing:1pt}dl{display:grid;grid-template-columns:auto 1fr;gap:1mm 3mm;font-size:9pt;margin:0}dd{margin:0}.notes{white-space:pre-wrap;font-size:8pt}.reprint{font-size:8pt;text-align:right}";

/// The print page: one sheet per ticket, in the paper ticket's layout.
async fn print_page(services: &Services, actor: &Actor, job: &PrintJob) -> Result<String, Error> {
    let mut product_ids: Vec<ProductId> =
        job.tickets.iter().map(|t| t.product_id.clone()).collect();
    product_ids.sort();
    product_ids.dedup();
    let (merchant, products) = tokio::join!(
        services.table.get_merchant(&actor.acting_as),
        services.table.get_products(&actor.acting_as, &product_ids),
    );
    let issuer = merchant?
        .map(|m| m.issuer.company)
        .unwrap_or_else(|| actor.acting_as.to_string());
    let notes: HashMap<ProductId, String> = products?
        .into_iter()
        .map(|p| (p.product_id, p.spec.usage_notes))
        .collect();
    let sheets: String = job
        .tickets
        .iter()
        .map(|t| {
            format!(
                "<section class=\"sheet\"><div><h1>{issuer}</h1><h2>{product}</h2><dl><dt>面額</dt><dd>NT$ {face}</dd><dt>{term}</dt><dd>{ends}</dd><dt>票券序號</dt><dd>{no}</dd><dt>購買人</dt><dd>{buyer}</dd></dl></div><div class=\"codes\">{qr}{bar}<div class=\"code\">{code}</div></div><div class=\"notes\">{notes}</div><div class=\"reprint\">{print}</div></section>",
                issuer = escape(&issuer),
                product = escape(&t.product_name),
                face = escape(&t.face_value),
                term = match t.kind {
                    TicketKind::GoodsVoucher => "價金保管期限",
                    TicketKind::GiftVoucher => "有效期限",
                },
                ends = t.term_ends_on,
                no = escape(&t.ticket_no),
                buyer = escape(&t.buyer_name),
                qr = qr_svg(&t.redemption_code).unwrap_or_default(),
                bar = barcode_svg(&t.redemption_code).unwrap_or_default(),
                code = escape(&t.redemption_code),
                notes = escape(notes.get(&t.product_id).map(String::as_str).unwrap_or_default()),
                print = match t.print {
                    0 => "測試列印 TEST PRINT".to_owned(),
                    1 => String::new(),
                    n => format!("第 {n} 次列印 reprint {n}"),
                },
            )
        })
        .collect();
    Ok(format!(
        "<!doctype html><html lang=\"zh-Hant-TW\"><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><title>紙本票券列印 {at}</title><style>{STYLE}</style></head><body>{sheets}</body></html>",
        at = escape(&job.at.to_rfc3339())
    ))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(print))
        .routes(routes!(test_print))
        .routes(routes!(prints))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
