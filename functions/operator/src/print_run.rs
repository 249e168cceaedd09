//! The platform's print run (§5: paper tickets printed by the platform): the operator reads
//! the queue and marks tickets printed, then shipped. Each ticket moves through the change
//! engine with its history; the operator's audit records who moved which.

use crate::{CurrentOperator, PROBLEM};
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tessera_domain::access::Access;
use tessera_domain::operator::OperatorArea;
use tessera_domain::printing::{PlatformPrintStep, PRINT_MAX_TICKETS};
use tessera_domain::ticket::{PrintStatus, Ticket};
use tessera_domain::tickets::TicketNumber;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::change::{Changes, Decision};
use tessera_platform::lifecycle::add_ticket_change;
use tessera_platform::services::Services;
use tessera_platform::store::keys;
use tessera_platform::store::printing::{print_record_write, PrintRecord};
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};

/// A ticket of the print run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrintRunTicket {
    pub merchant_id: String,
    pub ticket_no: String,
    pub import_no: String,
    pub product_name: String,
    pub face_value: String,
    /// `queued`, `printed` or `shipped`.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrintRun {
    pub items: Vec<PrintRunTicket>,
}

fn status_name(status: Option<PrintStatus>) -> &'static str {
    match status {
        Some(PrintStatus::PlatformPrinted) => "printed",
        Some(PrintStatus::Shipped) => "shipped",
        _ => "queued",
    }
}

fn view(ticket: &Ticket) -> PrintRunTicket {
    PrintRunTicket {
        merchant_id: ticket.merchant_id.to_string(),
        ticket_no: ticket.ticket_no.to_string(),
        import_no: ticket.import_no.clone(),
        product_name: ticket.product_name.clone(),
        face_value: ticket.face_value.to_string(),
        status: status_name(ticket.print_status).to_owned(),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PrintRunQuery {
    /// `queued` (waiting to be printed) or `printed` (waiting to be shipped); both when absent.
    #[param(pattern = "^(queued|printed)$")]
    pub status: Option<String>,
}

/// The print run: every paper ticket the platform is to print or to ship, by merchant.
#[utoipa::path(get, path = "/operator/print-run", tag = "operator", security(("bearer" = [])),
    params(PrintRunQuery),
    responses((status = 200, body = PrintRun),
        (status = 400, description = "VALIDATION_FAILED: status (queued, printed)", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: print_run (query)", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn print_run(
    State(services): State<Services>,
    operator: CurrentOperator,
    ApiQuery(query): ApiQuery<PrintRunQuery>,
) -> Result<Json<PrintRun>, Problem> {
    operator.may(OperatorArea::PrintRun, Access::Query)?;
    let wanted = match query.status.as_deref() {
        None => None,
        Some("queued") => Some(PrintStatus::AwaitingPlatformPrint),
        Some("printed") => Some(PrintStatus::PlatformPrinted),
        Some(_) => return Err(Error::invalid_field("status", "queued or printed").into()),
    };
    let numbers: Vec<TicketNumber> = services
        .table
        .print_queue(keys::PLATFORM_PRINT_QUEUE)
        .await?
        .iter()
        .filter_map(|no| TicketNumber::parse("ticket_no", no).ok())
        .collect();
    let mut tickets = services.table.get_tickets(&numbers).await?;
    tickets.sort_by(|a, b| (&a.merchant_id, &a.ticket_no).cmp(&(&b.merchant_id, &b.ticket_no)));
    Ok(Json(PrintRun {
        items: tickets
            .iter()
            .filter(|t| wanted.is_none_or(|w| t.print_status == Some(w)))
            .map(view)
            .collect(),
    }))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PrintRunStatusInput {
    /// 1 to 30 ticket numbers, each once.
    #[schema(min_items = 1, max_items = 30)]
    pub ticket_nos: Vec<String>,
    /// `printed` (from queued) or `shipped` (from printed).
    #[schema(pattern = "^(printed|shipped)$")]
    pub status: String,
}

/// Set tickets of the print run to printed (a print is counted, as the platform-printing
/// fee counts it) or shipped. A ticket already at that status stays as it is, so the same
/// request twice changes nothing the second time.
#[utoipa::path(put, path = "/operator/print-run/status", tag = "operator", security(("bearer" = [])), request_body = PrintRunStatusInput,
    responses((status = 200, body = PrintRun),
        (status = 400, description = "VALIDATION_FAILED: ticket_nos (1 to 30, each once), status (printed, shipped); MALFORMED_JSON", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED, SESSION_EXPIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "OPERATOR_ONLY; RIGHT_MISSING: print_run (modify)", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "TICKET_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "TICKET_NOT_PRINTABLE (not a platform-printed ticket at the step before), CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn set_print_run_status(
    State(services): State<Services>,
    operator: CurrentOperator,
    ApiJson(input): ApiJson<PrintRunStatusInput>,
) -> Result<Json<PrintRun>, Problem> {
    operator.may(OperatorArea::PrintRun, Access::Modify)?;
    let step = match input.status.as_str() {
        "printed" => PlatformPrintStep::Printed,
        "shipped" => PlatformPrintStep::Shipped,
        _ => return Err(Error::invalid_field("status", "printed or shipped").into()),
    };
    let target = match step {
        PlatformPrintStep::Printed => PrintStatus::PlatformPrinted,
        PlatformPrintStep::Shipped => PrintStatus::Shipped,
    };
    let numbers = tessera_domain::tickets::parse_ticket_choice(
        "ticket_nos",
        &input.ticket_nos,
        PRINT_MAX_TICKETS,
    )?;
    let (table, operator, numbers, status) =
        (&services.table, &operator, &numbers, input.status.as_str());
    let items = services
        .engine()
        .run(None, 200, |now| async move {
            let found: HashMap<TicketNumber, Ticket> = table
                .get_tickets(numbers)
                .await?
                .into_iter()
                .map(|t| (t.ticket_no.clone(), t))
                .collect();
            let mut changes = Changes::new();
            let mut after = Vec::with_capacity(numbers.len());
            let mut moved = Vec::new();
            for no in numbers {
                let ticket = found.get(no).ok_or_else(|| {
                    Error::new(ErrorCode::TicketNotFound).with_detail(format!("ticket {no}"))
                })?;
                if ticket.print_status == Some(target) {
                    after.push(view(ticket));
                    continue;
                }
                let change = ticket.platform_print(step, &operator.account, now)?;
                let moved_ticket = add_ticket_change(&mut changes, ticket, change)?;
                if step == PlatformPrintStep::Printed {
                    // What the platform-printing fee counts (daily fee totals).
                    changes.write(print_record_write(&PrintRecord {
                        merchant_id: moved_ticket.merchant_id.clone(),
                        ticket_no: moved_ticket.ticket_no.clone(),
                        print: moved_ticket.print_count,
                        at: now,
                        by_account: operator.account.clone(),
                        by_platform: true,
                    })?);
                }
                after.push(view(&moved_ticket));
                moved.push(no.to_string());
            }
            if !moved.is_empty() {
                changes.write(
                    operator
                        .audit(
                            now,
                            step.name(),
                            format!("tickets:{}", moved.join(",")),
                            json!({"status": status}),
                        )
                        .write()?,
                );
            }
            Ok(Decision::new(changes, after))
        })
        .await?;
    Ok(Json(PrintRun { items }))
}
