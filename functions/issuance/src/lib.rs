//! Batch issuance (§5, manual §7-3 B): the template and its rules, a presigned upload of
//! the filled xlsx, the preview (every row checked, errors per row and column), the
//! confirmation that queues the batch, and the batch results.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tessera_domain::access::{require_operational_branch, Access, Actor, AreaGuard, FunctionArea};
use tessera_domain::events::EventType;
use tessera_domain::issuance::{
    check_header, check_rows, read_rows, require_can_issue, template_rules, BatchStatus,
    IssuanceRow, RowCheck, COLUMNS, MAX_FILE_BYTES,
};
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::tickets::numbering_rules;
use tessera_domain::values::TradeNo;
use tessera_domain::{Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::issuance::{check_against_storage, product_ids_of, StoredFacts};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::issuance::{
    batch_creation, upload_item, BatchMessage, BatchRecord, PlannedRow, PreviewedFile, RowOutcome,
    RowResult, UploadRecord,
};
use tessera_platform::store::object_keys;
use tessera_platform::store::orders::OrderRecord;
use tessera_platform::store::outbox::OutboxEvent;
use tessera_platform::store::{Expect, Write};
use tessera_platform::{ApiJson, Problem, ProblemDetails};
use tessera_sheets::XLSX_CONTENT_TYPE;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// How long a presigned upload link works.
const UPLOAD_LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The rights check of an issuance route, whose missing object answers `not_found`.
const fn rights(not_found: ErrorCode) -> AreaGuard {
    AreaGuard::new(FunctionArea::Issuance, not_found)
}

/// Download the issuance template (sheet 1: the columns; sheet 2: the rules).
#[utoipa::path(get, path = "/issuance/template", tag = "issuance", security(("bearer" = [])),
    responses((status = 200, description = "The template", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 403, description = "RIGHT_MISSING: query right of issuance", body = ProblemDetails, content_type = "application/problem+json")))]
async fn template(current: CurrentActor) -> Result<Response, Problem> {
    rights(ErrorCode::UploadNotFound).check_own(&current.actor, Access::Query)?;
    let bytes = tessera_sheets::issuance_template(&[])?;
    Ok(tessera_platform::http::attachment(
        bytes,
        XLSX_CONTENT_TYPE,
        "issuance-template.xlsx",
    ))
}

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::Uploads];

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    pub name: String,
    pub rule: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Rules {
    /// Ticket numbers, redemption codes, links and pickup codes (規則說明).
    pub numbering: Vec<Rule>,
    /// How to fill the template (操作說明).
    pub template: Vec<String>,
    pub columns: Vec<String>,
    pub max_tickets: u32,
    pub max_file_bytes: u64,
}

/// The numbering and template rules (the "rules" link).
#[utoipa::path(get, path = "/issuance/rules", tag = "issuance", security(("bearer" = [])),
    responses((status = 200, body = Rules)))]
async fn rules(_current: CurrentActor) -> Json<Rules> {
    Json(Rules {
        numbering: numbering_rules()
            .into_iter()
            .map(|(name, rule)| Rule {
                name: name.to_owned(),
                rule,
            })
            .collect(),
        template: template_rules(),
        columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        max_tickets: tessera_domain::issuance::MAX_TICKETS,
        max_file_bytes: MAX_FILE_BYTES,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UploadRequest {
    /// `ibon`, `paper_by_platform`, `paper_by_merchant`, `electronic_immediate` or
    /// `electronic_deferred`; must be enabled in the contract.
    #[schema(value_type = String, pattern = "^(ibon|paper_by_platform|paper_by_merchant|electronic_immediate|electronic_deferred)$")]
    pub delivery_method: DeliveryMethod,
    /// The file's size in bytes (part of the upload signature), at most 2 MiB.
    #[schema(minimum = 1, maximum = 2097152)]
    pub size: u64,
    /// `electronic_deferred` (非即期) only, and required for it: the day (Taipei) the
    /// tickets become valid, after today and at most 365 days ahead; within every row's
    /// product term. The issue mail is sent at issuance.
    #[serde(default)]
    pub valid_from: Option<chrono::NaiveDate>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadTicket {
    pub upload_id: String,
    /// PUT the file here with `Content-Type` set to the xlsx type and exactly `size` bytes.
    pub upload_url: String,
    pub content_type: String,
    pub expires_at: DateTime<Utc>,
}

/// Choose the delivery method and get a presigned URL to upload the filled template.
#[utoipa::path(post, path = "/issuance/uploads", tag = "issuance", security(("bearer" = [])), request_body = UploadRequest,
    responses((status = 201, body = UploadTicket),
        (status = 400, description = "VALIDATION_FAILED: size (the file's bytes), valid_from (required for electronic_deferred and only for it: after today, at most 365 days ahead)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of issuance; BRANCH_DISABLED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "SERVICE_NOT_ACTIVE, DELIVERY_METHOD_NOT_CONTRACTED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "ISSUANCE_FILE_TOO_LARGE", body = ProblemDetails, content_type = "application/problem+json")))]
async fn request_upload(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<UploadTicket>), Problem> {
    let actor = &current.actor;
    rights(ErrorCode::UploadNotFound).check_own(actor, Access::Modify)?;
    require_operational_branch(actor)?;
    let now = services.clock.now();
    let contract = services.table.get_contract(&actor.acting_as).await?;
    require_can_issue(contract.as_ref(), input.delivery_method, now)?;
    let valid_from = tessera_domain::issuance::check_valid_from(
        input.delivery_method,
        input.valid_from,
        tessera_domain::calendar::taipei_date(now),
    )?;
    if input.size == 0 {
        return Err(Error::invalid_field("size", "the file's size in bytes").into());
    }
    if input.size > MAX_FILE_BYTES {
        return Err(Error::new(ErrorCode::IssuanceFileTooLarge)
            .with_detail(format!("at most {MAX_FILE_BYTES} bytes"))
            .into());
    }
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let object_key = object_keys::issuance_upload(&actor.acting_as, &upload_id);
    let upload_url = services
        .uploads()?
        .presign_upload(
            &object_key,
            XLSX_CONTENT_TYPE,
            input.size,
            UPLOAD_LINK_LIFETIME,
        )
        .await?;
    let upload = UploadRecord {
        merchant_id: actor.acting_as.clone(),
        upload_id: upload_id.clone(),
        delivery_method: input.delivery_method,
        valid_from,
        object_key,
        requested_by: actor.account.clone(),
        branch: actor.branch.clone(),
        created_at: now,
    };
    let ticket = UploadTicket {
        upload_id,
        upload_url,
        content_type: XLSX_CONTENT_TYPE.to_owned(),
        expires_at: now + chrono::Duration::seconds(UPLOAD_LINK_LIFETIME.as_secs() as i64),
    };
    let (upload, ticket) = (&upload, &ticket);
    let answer = services
        .engine()
        .run(keyed.as_ref(), 201, |_| async move {
            let mut changes = Changes::new();
            // A new id: its write expects nothing there.
            changes.write(Write {
                item: upload_item(upload)?,
                expect: Expect::Absent,
            });
            Ok(Decision::new(changes, ticket.clone()))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CellError {
    /// The column's header, e.g. `購買人手機`.
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewRow {
    /// The row number as Excel shows it.
    pub row: u32,
    /// The row's cells by column header (normalised where the row is valid).
    pub cells: BTreeMap<String, String>,
    pub quantity: u32,
    pub errors: Vec<CellError>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    pub upload_id: String,
    #[schema(value_type = String)]
    pub delivery_method: DeliveryMethod,
    pub rows: Vec<PreviewRow>,
    pub rows_with_errors: u32,
    pub tickets_total: u32,
    /// True when no row has an error: the batch can be confirmed.
    pub can_confirm: bool,
}

fn preview_row(check: &RowCheck) -> PreviewRow {
    let mut cells: BTreeMap<String, String> = COLUMNS
        .iter()
        .zip(check.cells.iter())
        .map(|(column, value)| ((*column).to_owned(), value.trim().to_owned()))
        .collect();
    if let Some(parsed) = &check.parsed {
        cells.insert(
            tessera_domain::issuance::BUYER_MOBILE.to_owned(),
            parsed.buyer_mobile.as_str().to_owned(),
        );
    }
    PreviewRow {
        row: check.row,
        cells,
        quantity: check.parsed.as_ref().map(|p| p.quantity).unwrap_or(0),
        errors: check
            .violations
            .iter()
            .map(|v| CellError {
                column: v.column.clone().unwrap_or_default(),
                reason: v.reason.clone(),
            })
            .collect(),
    }
}

/// The upload's file as stored.
async fn upload_file(services: &Services, upload: &UploadRecord) -> Result<Vec<u8>, Error> {
    let too_large = Error::new(ErrorCode::IssuanceFileTooLarge)
        .with_detail(format!("at most {MAX_FILE_BYTES} bytes"));
    services
        .uploads()?
        .get_bytes(&upload.object_key, MAX_FILE_BYTES, too_large)
        .await?
        .ok_or_else(|| {
            Error::new(ErrorCode::UploadNotFound).with_detail("nothing was uploaded yet")
        })
}

/// Reads the file's rows and checks every one: the shared work of preview and confirm.
/// The checks, with the stored records they were made against.
async fn check_file(
    services: &Services,
    actor: &Actor,
    upload: &UploadRecord,
    bytes: &[u8],
) -> Result<(Vec<RowCheck>, StoredFacts), Error> {
    let (header, rows) = tessera_sheets::read_issuance(bytes)?;
    check_header(&header)?;
    let mut checks = read_rows(rows, upload.delivery_method)?;
    if checks.is_empty() {
        return Err(Error::invalid(vec![Violation::cell(
            2,
            COLUMNS[0],
            "the file has no data rows",
        )]));
    }
    let stored = check_against_storage(
        &services.table,
        &actor.acting_as,
        &mut checks,
        upload.valid_from,
        services.clock.now(),
    )
    .await?;
    Ok((checks, stored))
}

/// The largest preview record (1000 rows and their orders, with room to spare).
const MAX_PREVIEW_BYTES: u64 = 8 * 1024 * 1024;

/// Keeps what a preview found for the confirmation of the same file: the rows and the
/// orders they were checked against if every row passed, otherwise only that it did not.
async fn remember_preview(
    services: &Services,
    actor: &Actor,
    upload_id: &str,
    bytes: &[u8],
    checks: &[RowCheck],
    orders: Vec<OrderRecord>,
) -> Result<(), Error> {
    let clean = checks.iter().all(|c| c.violations.is_empty());
    let previewed = PreviewedFile {
        file_digest: tessera_platform::assets::digest(bytes),
        clean,
        rows: if clean {
            checks.iter().filter_map(|c| c.parsed.clone()).collect()
        } else {
            Vec::new()
        },
        orders: if clean { orders } else { Vec::new() },
    };
    let json = serde_json::to_vec(&previewed)
        .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
    services
        .uploads()?
        .put_bytes(
            &object_keys::issuance_preview(&actor.acting_as, upload_id),
            json,
            "application/json",
        )
        .await
}

/// What the latest preview of the upload found, if there was one and it can be read.
async fn previewed_file(
    services: &Services,
    actor: &Actor,
    upload_id: &str,
) -> Result<Option<PreviewedFile>, Error> {
    let too_large = Error::new(ErrorCode::InternalError).with_detail("preview record too large");
    let Some(bytes) = services
        .uploads()?
        .get_bytes(
            &object_keys::issuance_preview(&actor.acting_as, upload_id),
            MAX_PREVIEW_BYTES,
            too_large,
        )
        .await?
    else {
        return Ok(None);
    };
    match serde_json::from_slice(&bytes) {
        Ok(previewed) => Ok(Some(previewed)),
        Err(error) => {
            // Written by an older version, say: the confirmation checks the file itself.
            tracing::warn!(upload = %upload_id, error = %error, operation = "confirm_issuance", "preview record unreadable; checking the file again");
            Ok(None)
        }
    }
}

/// The rows of a clean preview of this very file, and the orders it read, if the rows
/// still pass with the products read now and the time now. The orders and import numbers
/// are not read again: the worker's writes are conditional on the orders' versions and on
/// the import numbers being free, so a row whose order or number changed since the preview
/// fails there, with its reason in the batch results (decision 0005). `None`: the
/// confirmation checks the file as the preview did.
async fn reuse_preview(
    services: &Services,
    actor: &Actor,
    upload: &UploadRecord,
    bytes: &[u8],
    previewed: Option<PreviewedFile>,
) -> Result<Option<(Vec<IssuanceRow>, Vec<OrderRecord>)>, Error> {
    let Some(previewed) =
        previewed.filter(|p| p.clean && p.file_digest == tessera_platform::assets::digest(bytes))
    else {
        return Ok(None);
    };
    let product_ids = product_ids_of(previewed.rows.iter());
    let stored = StoredFacts {
        products: services
            .table
            .get_products(&actor.acting_as, &product_ids)
            .await?,
        orders: previewed.orders,
        issued: Vec::new(),
    };
    let mut checks: Vec<RowCheck> = previewed.rows.iter().map(RowCheck::of_parsed).collect();
    check_rows(
        &mut checks,
        &stored.facts(None, upload.valid_from),
        services.clock.now(),
    );
    if checks.iter().any(|c| !c.violations.is_empty()) {
        return Ok(None);
    }
    Ok(Some((previewed.rows, stored.orders)))
}

/// Upload ids are 32 hex digits (a UUID without dashes); anything else is no upload.
fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn load_upload(
    services: &Services,
    actor: &Actor,
    upload_id: &str,
) -> Result<UploadRecord, Error> {
    if !is_upload_id(upload_id) {
        return Err(Error::new(ErrorCode::UploadNotFound));
    }
    services
        .table
        .get_upload(&actor.acting_as, upload_id)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::UploadNotFound))
}

/// Check the uploaded file: every row is validated and listed with its errors.
#[utoipa::path(post, path = "/issuance/uploads/{upload_id}/preview", tag = "issuance", security(("bearer" = [])),
    params(("upload_id" = String, Path)),
    responses((status = 200, body = Preview),
        (status = 400, description = "ISSUANCE_FILE_INVALID, ISSUANCE_TEMPLATE_MISMATCH, ISSUANCE_IMPORT_NO_MISSING (rows named), ISSUANCE_TOO_MANY_TICKETS, VALIDATION_FAILED (no rows)", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of issuance", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "UPLOAD_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 413, description = "ISSUANCE_FILE_TOO_LARGE, ISSUANCE_TOO_MANY_ROWS", body = ProblemDetails, content_type = "application/problem+json")))]
async fn preview(
    State(services): State<Services>,
    current: CurrentActor,
    Path(upload_id): Path<String>,
) -> Result<Json<Preview>, Problem> {
    let actor = &current.actor;
    rights(ErrorCode::UploadNotFound).check_own(actor, Access::Modify)?;
    let upload = load_upload(&services, actor, &upload_id).await?;
    let bytes = upload_file(&services, &upload).await?;
    let (checks, stored) = check_file(&services, actor, &upload, &bytes).await?;
    remember_preview(&services, actor, &upload_id, &bytes, &checks, stored.orders).await?;
    let rows: Vec<PreviewRow> = checks.iter().map(preview_row).collect();
    let rows_with_errors = rows.iter().filter(|r| !r.errors.is_empty()).count() as u32;
    Ok(Json(Preview {
        upload_id,
        delivery_method: upload.delivery_method,
        tickets_total: rows.iter().map(|r| r.quantity).sum(),
        can_confirm: rows_with_errors == 0,
        rows_with_errors,
        rows,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchView {
    pub batch_id: String,
    #[schema(value_type = String)]
    pub delivery_method: DeliveryMethod,
    /// `queued`, `issuing`, `done` or `failed`.
    #[schema(value_type = String)]
    pub status: BatchStatus,
    pub rows_total: u32,
    /// Rows with a result. Counted live in a batch's detail; the list shows `rows_total`
    /// for a finished batch and 0 otherwise (open the batch for its progress).
    pub rows_done: u32,
    pub rows_failed: u32,
    pub tickets_total: u32,
    pub failure_reason: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

fn batch_view(batch: &BatchRecord, rows_done: u32) -> BatchView {
    BatchView {
        batch_id: batch.batch_id.clone(),
        delivery_method: batch.delivery_method,
        status: batch.status,
        rows_total: batch.rows_total,
        rows_done,
        rows_failed: batch.rows_failed,
        tickets_total: batch.tickets_total,
        failure_reason: batch.failure_reason.clone(),
        created_by: batch.created_by.to_string(),
        created_at: batch.created_at,
        finished_at: batch.finished_at,
    }
}

/// Issue the previewed file. Confirming the same upload again returns the same batch.
///
/// After a clean preview of the same file, the rows' orders and import numbers are not read
/// again: a row whose order or import number changed since the preview fails in the batch
/// results, with its reason. Without one, every row is checked as the preview checks it.
#[utoipa::path(post, path = "/issuance/uploads/{upload_id}/confirm", tag = "issuance", security(("bearer" = [])),
    params(("upload_id" = String, Path)),
    responses((status = 202, description = "Queued (or already confirmed)", body = BatchView),
        (status = 400, description = "as for the preview", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 403, description = "RIGHT_MISSING: modify right of issuance; BRANCH_DISABLED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "UPLOAD_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 409, description = "SERVICE_NOT_ACTIVE, DELIVERY_METHOD_NOT_CONTRACTED", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 422, description = "ISSUANCE_ROWS_INVALID: the rows' errors are listed", body = ProblemDetails, content_type = "application/problem+json")))]
async fn confirm(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    Path(upload_id): Path<String>,
) -> Result<(StatusCode, Json<BatchView>), Problem> {
    let actor = &current.actor;
    rights(ErrorCode::UploadNotFound).check_own(actor, Access::Modify)?;
    require_operational_branch(actor)?;
    let upload = load_upload(&services, actor, &upload_id).await?;
    // The batch id is the upload id: a second confirmation finds the first one's batch.
    // What follows needs the contract, the file and its preview: read at once.
    let (existing, contract, bytes, previewed) = tokio::join!(
        services.table.get_batch(&actor.acting_as, &upload_id),
        services.table.get_contract(&actor.acting_as),
        upload_file(&services, &upload),
        previewed_file(&services, actor, &upload_id)
    );
    if let Some(batch) = existing? {
        let done = services.table.row_results(&batch.batch_id).await?.len() as u32;
        return Ok((StatusCode::ACCEPTED, Json(batch_view(&batch, done))));
    }
    let now = services.clock.now();
    require_can_issue(contract?.as_ref(), upload.delivery_method, now)?;
    let bytes = bytes?;
    let (rows, orders) = match reuse_preview(&services, actor, &upload, &bytes, previewed?).await? {
        Some(previewed) => previewed,
        None => {
            let (checks, stored) = check_file(&services, actor, &upload, &bytes).await?;
            let violations: Vec<Violation> =
                checks.iter().flat_map(|c| c.violations.clone()).collect();
            if !violations.is_empty() {
                return Err(Problem::from(Error {
                    code: ErrorCode::IssuanceRowsInvalid,
                    detail: None,
                    violations,
                }));
            }
            let rows = checks.into_iter().filter_map(|c| c.parsed).collect();
            (rows, stored.orders)
        }
    };
    let tickets_total: u32 = rows.iter().map(|r| r.quantity).sum();
    let (first, settings) = tokio::try_join!(
        services.table.reserve_ticket_numbers(tickets_total),
        services.table.get_settings(&actor.acting_as)
    )?;
    let orders_read: HashMap<&TradeNo, &OrderRecord> =
        orders.iter().map(|o| (&o.trade_no, o)).collect();
    let mut next = first;
    let plan: Vec<PlannedRow> = rows
        .into_iter()
        .enumerate()
        .map(|(index, row)| {
            let order_as_confirmed = row
                .trade_no
                .as_ref()
                .and_then(|trade_no| orders_read.get(trade_no))
                .map(|order| (*order).clone());
            let planned = PlannedRow {
                index: index as u32,
                first_sequence: next,
                row,
                order_as_confirmed,
            };
            next += u64::from(planned.row.quantity);
            planned
        })
        .collect();
    let plan_key = object_keys::issuance_plan(
        &actor.acting_as,
        &upload_id,
        &uuid::Uuid::new_v4().simple().to_string(),
    );
    let plan_json = serde_json::to_vec(&plan)
        .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
    services
        .uploads()?
        .put_bytes(&plan_key, plan_json, "application/json")
        .await?;
    let batch = BatchRecord {
        merchant_id: actor.acting_as.clone(),
        batch_id: upload_id.clone(),
        delivery_method: upload.delivery_method,
        valid_from: upload.valid_from,
        notify_url: settings.refund_notify_url,
        status: BatchStatus::Queued,
        rows_total: plan.len() as u32,
        tickets_total,
        plan_key,
        object_key: upload.object_key,
        created_by: actor.account.clone(),
        branch: actor.branch.clone(),
        created_at: now,
        rows_failed: 0,
        failure_reason: None,
        finished_at: None,
        notified: false,
    };
    // The batch and the worker's message commit together: the outbox publishes the
    // message if and only if the batch is written, so no batch waits without one.
    let message = BatchMessage {
        merchant_id: batch.merchant_id.to_string(),
        batch_id: batch.batch_id.clone(),
    };
    let (batch, message, services, upload_id) = (&batch, &message, &services, &upload_id);
    let view = services
        .engine()
        .run(keyed.as_ref(), 202, |now| async move {
            // A concurrent confirmation that won is the answer.
            if let Some(existing) = services
                .table
                .get_batch(&actor.acting_as, upload_id)
                .await?
            {
                let done = services.table.row_results(&existing.batch_id).await?.len() as u32;
                return Ok(Decision::new(Changes::new(), batch_view(&existing, done)));
            }
            let mut changes = Changes::new();
            changes.write(batch_creation(batch)?);
            changes.event(OutboxEvent::new(
                format!("batch-{}", batch.batch_id),
                EventType::BatchConfirmed,
                &batch.merchant_id,
                now,
                &batch.batch_id,
                message,
            )?);
            Ok(Decision::new(changes, batch_view(batch, 0)))
        })
        .await?;
    tracing::info!(merchant = %actor.acting_as, batch = %batch.batch_id, rows = batch.rows_total, tickets = tickets_total, operation = "confirm_issuance", "batch confirmed");
    Ok((StatusCode::ACCEPTED, Json(view)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchList {
    pub items: Vec<BatchView>,
}

/// The batch-results tab: the merchant's latest 50 batches, newest first.
#[utoipa::path(get, path = "/issuance/batches", tag = "issuance", security(("bearer" = [])),
    responses((status = 200, body = BatchList),
        (status = 403, description = "RIGHT_MISSING: query right of issuance", body = ProblemDetails, content_type = "application/problem+json")))]
async fn list_batches(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<BatchList>, Problem> {
    rights(ErrorCode::BatchNotFound).check_own(&current.actor, Access::Query)?;
    let batches = services
        .table
        .list_batches(&current.actor.acting_as, 50)
        .await?;
    Ok(Json(BatchList {
        items: batches
            .iter()
            .map(|b| {
                let done = if matches!(b.status, BatchStatus::Done) {
                    b.rows_total
                } else {
                    0
                };
                batch_view(b, done)
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowView {
    pub row: u32,
    pub import_no: String,
    /// `issued` or `failed`.
    pub outcome: String,
    pub error_code: Option<String>,
    pub reason: Option<String>,
    pub ticket_numbers: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: BatchView,
    /// Rows with a result so far, in file order.
    pub rows: Vec<RowView>,
}

fn row_view(result: RowResult) -> RowView {
    RowView {
        row: result.row,
        import_no: result.import_no,
        outcome: match result.outcome {
            RowOutcome::Issued => "issued",
            RowOutcome::Failed => "failed",
        }
        .to_owned(),
        error_code: result.error_code,
        reason: result.reason,
        ticket_numbers: result
            .tickets
            .into_iter()
            .map(|t| t.ticket_no.into())
            .collect(),
    }
}

/// One batch: its status, progress and per-row results, readable at any time.
#[utoipa::path(get, path = "/issuance/batches/{batch_id}", tag = "issuance", security(("bearer" = [])),
    params(("batch_id" = String, Path)),
    responses((status = 200, body = BatchDetail),
        (status = 403, description = "RIGHT_MISSING: query right of issuance", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "BATCH_NOT_FOUND", body = ProblemDetails, content_type = "application/problem+json")))]
async fn get_batch(
    State(services): State<Services>,
    current: CurrentActor,
    Path(batch_id): Path<String>,
) -> Result<Json<BatchDetail>, Problem> {
    let actor = &current.actor;
    rights(ErrorCode::BatchNotFound).check_own(actor, Access::Query)?;
    // A batch id is the id of the upload it was confirmed from.
    if !is_upload_id(&batch_id) {
        return Err(Problem::new(ErrorCode::BatchNotFound));
    }
    let batch = services
        .table
        .get_batch(&actor.acting_as, &batch_id)
        .await?
        .ok_or_else(|| Problem::new(ErrorCode::BatchNotFound))?;
    let results = services.table.row_results(&batch_id).await?;
    Ok(Json(BatchDetail {
        batch: batch_view(&batch, results.len() as u32),
        rows: results.into_iter().map(row_view).collect(),
    }))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(template))
        .routes(routes!(rules))
        .routes(routes!(request_upload))
        .routes(routes!(preview))
        .routes(routes!(confirm))
        .routes(routes!(list_batches))
        .routes(routes!(get_batch))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
