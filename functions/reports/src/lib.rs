//! Reports (§8) and their Excel exports: the ticket report in its modes (by date, ticket
//! numbers, issued orders, holder), the cross-store, branch and SMS-log reports read page by
//! page, circulation and the home dashboard from the counters; an export asks the export
//! worker (through the outbox) for any of them, and is polled until its file can be
//! downloaded.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::{Access, Actor, AreaGuard, FunctionArea, Role};
use tessera_domain::events::EventType;
use tessera_domain::installment::SerialStatus;
use tessera_domain::merchant::{rate_in_force, DeliveryMethod, FeeItem, RedemptionMode};
use tessera_domain::messages::SmsPurpose;
use tessera_domain::orders::TradeNo;
use tessera_domain::products::{check_query_range, ProductId, TicketKind};
use tessera_domain::reports::{
    parse_number_list, BranchScope, ColumnGroup, DateType, DayRange, HolderQuery, StatusGroup,
    TicketFilter, DEFAULT_PAGE_ROWS, MAX_PAGE_ROWS,
};
use tessera_domain::tickets::{TicketNumber, TicketStatus};
use tessera_domain::values::{BranchCode, MerchantId};
use tessera_domain::{Error, ErrorCode, Violation};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::installment;
use tessera_platform::reports::{
    BillsReport, BranchReport, CallbacksReport, CrossStoreReport, InstallmentOrdersReport,
    InstallmentSerialsReport, IssuedOrdersReport, PaperTicketsReport, ReportRequest,
    ReturnFeesReport, SmsLogReport, TicketQuery, TicketReport, TransfersReport,
};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::exports::{ExportMessage, ExportRecord, ExportStatus};
use tessera_platform::store::outbox::OutboxEvent;
use tessera_platform::{ApiJson, ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::Exports];

/// The rights check of every report route.
const RIGHTS: AreaGuard = AreaGuard::new(FunctionArea::Reports, ErrorCode::ExportNotFound);

/// How long a download link works.
const DOWNLOAD_LINK_MINUTES: u64 = 5;

/// A ticket report as asked for: the same fields in the query string of
/// `GET /reports/tickets` and in the body of `POST /exports`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct TicketReportQuery {
    /// `date` (default), `numbers`, `orders` or `holder`.
    #[param(pattern = "^(date|numbers|orders|holder)$")]
    #[schema(pattern = "^(date|numbers|orders|holder)$")]
    pub mode: Option<String>,
    /// By date: `issued` (default), `redeemed` or `returned`.
    #[param(pattern = "^(issued|redeemed|returned)$")]
    #[schema(pattern = "^(issued|redeemed|returned)$")]
    pub date_type: Option<String>,
    /// By date: first Taipei day (YYYY-MM-DD).
    pub from: Option<NaiveDate>,
    /// By date: last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: Option<NaiveDate>,
    /// By date: where the operation happened: `all` (default), `head_office` or `branch`
    /// (then `branch` names it). A branch-bound account sees its own branch only.
    #[param(pattern = "^(all|head_office|branch)$")]
    #[schema(pattern = "^(all|head_office|branch)$")]
    pub branch_type: Option<String>,
    pub branch: Option<String>,
    /// By date: a status group (`unused`, `redeemed`, `returned`, `expired`).
    #[param(pattern = "^(unused|redeemed|returned|expired)$")]
    #[schema(pattern = "^(unused|redeemed|returned|expired)$")]
    pub status_group: Option<String>,
    /// By date: detailed statuses, comma-separated (within the group if one is given).
    pub statuses: Option<String>,
    /// By date: delivery methods, comma-separated.
    pub delivery_methods: Option<String>,
    /// By numbers: 1 to 100 ticket numbers, comma-separated.
    pub ticket_nos: Option<String>,
    /// By orders: 1 to 100 import numbers, comma-separated.
    pub import_nos: Option<String>,
    /// By holder (with `from` and `to`, the issue dates): the latest holder's name…
    pub holder_name: Option<String>,
    /// …and/or mobile number (09 and 8 digits).
    pub holder_mobile: Option<String>,
    /// Column groups besides the ticket's own, comma-separated: `order`, `operator`,
    /// `holder`.
    #[param(pattern = "^((order|operator|holder)(,(order|operator|holder))*)?$")]
    pub columns: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

fn snake<T: serde::de::DeserializeOwned>(field: &str, text: &str) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_owned()))
        .map_err(|_| Error::invalid_field(field, format!("{text:?} is not one of the values")))
}

/// A value's name as the API writes it (its serde name).
fn wire_name<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn list<T: serde::de::DeserializeOwned>(field: &str, text: Option<&str>) -> Result<Vec<T>, Error> {
    match text.filter(|t| !t.trim().is_empty()) {
        None => Ok(Vec::new()),
        Some(text) => parse_number_list(field, text, snake),
    }
}

impl TicketReportQuery {
    /// The report this asks for, as `actor` may see it (a branch-bound account's view
    /// narrowed to its branch; another branch refused).
    pub fn report(&self, actor: &Actor) -> Result<TicketReport, Error> {
        let columns: Vec<ColumnGroup> = list("columns", self.columns.as_deref())?;
        let query = match self.mode.as_deref().unwrap_or("date") {
            "date" => TicketQuery::ByDate(self.filter(actor)?),
            "numbers" => TicketQuery::ByNumbers {
                ticket_nos: parse_number_list(
                    "ticket_nos",
                    self.ticket_nos.as_deref().unwrap_or_default(),
                    TicketNumber::parse,
                )?,
            },
            "orders" => TicketQuery::ByOrders {
                import_nos: parse_number_list(
                    "import_nos",
                    self.import_nos.as_deref().unwrap_or_default(),
                    |field, text| {
                        if text.len() <= 20 && text.chars().all(|c| c.is_ascii_alphanumeric()) {
                            Ok(text.to_owned())
                        } else {
                            Err(Error::invalid_field(field, "1 to 20 letters or digits"))
                        }
                    },
                )?,
            },
            "holder" => {
                let (Some(from), Some(to)) = (self.from, self.to) else {
                    return Err(Error::invalid_field(
                        "from",
                        "from and to (the issue dates) are required for a query by holder",
                    ));
                };
                TicketQuery::ByHolder {
                    range: DayRange::parse(from, to)?,
                    holder: HolderQuery::parse(
                        self.holder_name.as_deref(),
                        self.holder_mobile.as_deref(),
                    )?,
                }
            }
            other => {
                return Err(Error::invalid_field(
                    "mode",
                    format!("{other:?}: date, numbers, orders or holder"),
                ))
            }
        };
        Ok(TicketReport {
            owner: actor.acting_as.clone(),
            query,
            columns,
            viewer_branch: actor.branch.clone(),
        })
    }

    fn filter(&self, actor: &Actor) -> Result<TicketFilter, Error> {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return Err(Error::invalid(vec![Violation::field(
                "from",
                "from and to are required for a query by date",
            )]));
        };
        let range = DayRange::parse(from, to)?;
        let date_type: DateType =
            snake("date_type", self.date_type.as_deref().unwrap_or("issued"))?;
        let branch = branch_scope(actor, self.branch_type.as_deref(), self.branch.as_deref())?;
        let mut statuses: Vec<TicketStatus> = list("statuses", self.statuses.as_deref())?;
        if let Some(group) = self.status_group.as_deref() {
            let group: StatusGroup = snake("status_group", group)?;
            if let Some(index) = statuses.iter().position(|s| StatusGroup::of(*s) != group) {
                return Err(Error::invalid_field(
                    format!("statuses[{index}]"),
                    "not a status of the chosen group",
                ));
            }
            if statuses.is_empty() {
                statuses = TicketStatus::ALL
                    .into_iter()
                    .filter(|s| StatusGroup::of(*s) == group)
                    .collect();
            }
        }
        let delivery_methods: Vec<DeliveryMethod> =
            list("delivery_methods", self.delivery_methods.as_deref())?;
        Ok(TicketFilter {
            date_type,
            range,
            branch,
            statuses,
            delivery_methods,
        })
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnView {
    /// The field of each row that holds this column.
    pub id: String,
    /// The column's name in the manual (and the export's header).
    pub header: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportPage {
    pub columns: Vec<ColumnView>,
    /// One object per row: each column's id and its text (Taipei times; empty when the
    /// ticket has no such value).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

const PROBLEM: &str = "application/problem+json";

/// The ticket report (票券報表), one page (§7-3 J).
#[utoipa::path(get, path = "/reports/tickets", tag = "reports", security(("bearer" = [])),
    params(TicketReportQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: the field and the rule (range over 3 months, unknown status, malformed number, cursor)", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of reports; OTHER_BRANCH: a branch-bound account asked for another branch", body = ProblemDetails, content_type = PROBLEM)))]
async fn ticket_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<TicketReportQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let request = ReportRequest::Tickets(query.report(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// One page of any report, as JSON rows keyed by column id.
async fn report_page(
    services: &Services,
    request: &ReportRequest,
    page: &PageQuery,
) -> Result<ReportPage, Error> {
    let rows = page.limit.unwrap_or(DEFAULT_PAGE_ROWS);
    if !(1..=MAX_PAGE_ROWS).contains(&rows) {
        return Err(Error::invalid_field(
            "limit",
            format!("1 to {MAX_PAGE_ROWS} rows"),
        ));
    }
    let columns = request.columns();
    let (cells, next_cursor) = request
        .page_cells(
            &services.table,
            page.cursor.as_deref(),
            rows,
            services.clock.now(),
        )
        .await?;
    let rows = cells
        .into_iter()
        .map(|row| {
            columns
                .iter()
                .zip(row)
                .map(|(column, cell)| (column.id.to_owned(), serde_json::Value::String(cell)))
                .collect()
        })
        .collect();
    Ok(ReportPage {
        columns: columns
            .iter()
            .map(|c| ColumnView {
                id: c.id.to_owned(),
                header: c.header.to_owned(),
            })
            .collect(),
        rows,
        next_cursor,
    })
}

/// The cross-store report or the branch report, as asked for.
#[derive(Debug, Clone, Default, Deserialize, Serialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct OperationsQuery {
    /// First Taipei day (YYYY-MM-DD).
    pub from: Option<NaiveDate>,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: Option<NaiveDate>,
    /// Cross-store: `all` (default), `head_office` or `branch` (then `branch` names it).
    #[param(pattern = "^(all|head_office|branch)$")]
    #[schema(pattern = "^(all|head_office|branch)$")]
    pub branch_type: Option<String>,
    /// The branch (the branch report's, required there).
    pub branch: Option<String>,
    /// Cross-store: only this issuer's tickets.
    pub issuer: Option<String>,
}

impl OperationsQuery {
    pub fn range(&self) -> Result<DayRange, Error> {
        let (Some(from), Some(to)) = (self.from, self.to) else {
            return Err(Error::invalid_field("from", "from and to are required"));
        };
        DayRange::parse(from, to)
    }

    pub fn cross_store(&self, actor: &Actor) -> Result<CrossStoreReport, Error> {
        Ok(CrossStoreReport {
            owner: actor.acting_as.clone(),
            range: self.range()?,
            issuer: self
                .issuer
                .as_deref()
                .map(|issuer| MerchantId::parse("issuer", issuer))
                .transpose()?,
            branch: branch_scope(actor, self.branch_type.as_deref(), self.branch.as_deref())?,
        })
    }

    pub fn branch_report(&self, actor: &Actor) -> Result<BranchReport, Error> {
        let range = self.range()?;
        let branch = BranchCode::parse("branch", self.branch.as_deref().unwrap_or_default())?;
        let BranchScope::Branch(branch) =
            BranchScope::visible_to(actor, BranchScope::Branch(branch))?
        else {
            return Err(Error::new(ErrorCode::OtherBranch));
        };
        Ok(BranchReport {
            owner: actor.acting_as.clone(),
            branch,
            range,
        })
    }
}

/// The SMS log (簡訊發送紀錄, §7-3 L): every SMS sent in the range (at most 3 months),
/// with buyer, masked mobile, reason and text; optionally of one buyer (name or mobile) and
/// one reason.
#[utoipa::path(get, path = "/reports/sms-log", tag = "reports", security(("bearer" = [])),
    params(SmsQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), buyer (at most 30 characters), purpose (issue, change_buyer, resend), limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of the SMS log", body = ProblemDetails, content_type = PROBLEM)))]
async fn sms_log_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<SmsQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    AreaGuard::new(FunctionArea::SmsLog, ErrorCode::ExportNotFound)
        .check_own(actor, Access::Query)?;
    let request = ReportRequest::SmsLog(query.report(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// The SMS log's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmsQuery {
    /// First Taipei day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// One buyer: the name as issued, or the mobile number.
    #[param(max_length = 30)]
    pub buyer: Option<String>,
    /// One reason: `issue`, `change_buyer` or `resend`.
    #[param(pattern = "^(issue|change_buyer|resend)$")]
    pub purpose: Option<String>,
}

impl SmsQuery {
    fn report(self, actor: &Actor) -> Result<SmsLogReport, Error> {
        let buyer = self
            .buyer
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if buyer.as_ref().is_some_and(|b| b.chars().count() > 30) {
            return Err(Error::invalid_field("buyer", "at most 30 characters"));
        }
        if let Some(purpose) = &self.purpose {
            if SmsPurpose::parse(purpose).is_none() {
                return Err(Error::invalid_field(
                    "purpose",
                    "issue, change_buyer or resend",
                ));
            }
        }
        Ok(SmsLogReport {
            owner: actor.acting_as.clone(),
            range: DayRange::parse(self.from, self.to)?,
            buyer,
            purpose: self.purpose,
        })
    }
}

/// The issued orders (發行訂單, §7-3 C) issued in a range of Taipei days (at most 3 months):
/// import number, order, product, quantity and amount, delivery, buyer (mobile masked);
/// optionally of one buyer (name or mobile), one delivery method, one import or trade
/// number. A branch-bound account sees its branch's orders.
#[utoipa::path(get, path = "/reports/issued-orders", tag = "reports", security(("bearer" = [])),
    params(IssuedOrdersQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), buyer (at most 30 characters), delivery_method, order_no (1-20 letters or digits), limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of issued orders", body = ProblemDetails, content_type = PROBLEM)))]
async fn issued_orders_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<IssuedOrdersQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    AreaGuard::new(FunctionArea::IssuedOrders, ErrorCode::ExportNotFound)
        .check_own(actor, Access::Query)?;
    let request = ReportRequest::IssuedOrders(query.report(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// The issued orders' filters (查詢已發行訂單).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IssuedOrdersQuery {
    /// First Taipei day of issue (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last Taipei day of issue (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// One buyer: the name as issued, or the mobile number.
    #[param(max_length = 30)]
    pub buyer: Option<String>,
    /// One delivery method (`ibon`, `paper_by_platform`, `paper_by_merchant`,
    /// `electronic_immediate`, `electronic_deferred`).
    #[param(
        pattern = "^(ibon|paper_by_platform|paper_by_merchant|electronic_immediate|electronic_deferred)$"
    )]
    pub delivery_method: Option<String>,
    /// One import number (匯入單號) or merchant order number (廠商訂單編號).
    #[param(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub order_no: Option<String>,
}

impl IssuedOrdersQuery {
    fn report(self, actor: &Actor) -> Result<IssuedOrdersReport, Error> {
        let buyer = self
            .buyer
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty());
        if buyer.as_ref().is_some_and(|b| b.chars().count() > 30) {
            return Err(Error::invalid_field("buyer", "at most 30 characters"));
        }
        let delivery_method = match self.delivery_method.as_deref() {
            None => None,
            Some(name) => Some(
                serde_json::from_value::<DeliveryMethod>(serde_json::json!(name)).map_err(|_| {
                    Error::invalid_field(
                        "delivery_method",
                        "ibon, paper_by_platform, paper_by_merchant, electronic_immediate or electronic_deferred",
                    )
                })?,
            ),
        };
        let order_no = self.order_no.filter(|n| !n.is_empty());
        if order_no
            .as_ref()
            .is_some_and(|n| n.len() > 20 || !n.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(Error::invalid_field(
                "order_no",
                "1 to 20 letters or digits",
            ));
        }
        Ok(IssuedOrdersReport {
            owner: actor.acting_as.clone(),
            range: DayRange::parse(self.from, self.to)?,
            branch: actor.branch.clone(),
            buyer,
            delivery_method,
            order_no,
        })
    }
}

/// The merchant's own paper tickets (紙本票券列印, §7-3 D) issued in a range of Taipei days
/// (at most 3 months), with how many times each was printed; `printed` keeps only the
/// printed (`true`) or never printed (`false`) ones.
#[utoipa::path(get, path = "/reports/paper-tickets", tag = "reports", security(("bearer" = [])),
    params(PaperTicketsQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), printed, limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of paper_printing", body = ProblemDetails, content_type = PROBLEM)))]
async fn paper_tickets_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<PaperTicketsQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    AreaGuard::new(FunctionArea::PaperPrinting, ErrorCode::ExportNotFound)
        .check_own(actor, Access::Query)?;
    let request = ReportRequest::PaperTickets(query.report(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// The paper-printing list's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaperTicketsQuery {
    /// First Taipei day of issue (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last Taipei day of issue (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// Only printed (`true`) or never printed (`false`) tickets.
    pub printed: Option<bool>,
}

impl PaperTicketsQuery {
    fn report(self, actor: &Actor) -> Result<PaperTicketsReport, Error> {
        Ok(PaperTicketsReport {
            owner: actor.acting_as.clone(),
            range: DayRange::parse(self.from, self.to)?,
            printed: self.printed,
            branch: actor.branch.clone(),
        })
    }
}

/// The transfer records (電子票券轉贈紀錄, §7-3 K) of a range of Taipei days (at most 3
/// months): buyer and recipient (mobiles masked), tickets, status. A branch-bound account
/// sees the transfers of its branch's orders.
#[utoipa::path(get, path = "/reports/transfers", tag = "reports", security(("bearer" = [])),
    params(SmsLogQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of transfers", body = ProblemDetails, content_type = PROBLEM)))]
async fn transfers_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<SmsLogQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    range_report(
        &services,
        &current,
        FunctionArea::Transfers,
        &query,
        &page,
        |owner, range, branch| {
            ReportRequest::Transfers(TransfersReport {
                owner,
                range,
                branch,
            })
        },
    )
    .await
}

/// The return-fee report (退貨作業費報表, §6-3): each goods voucher returned within escrow
/// and not cancelled that day, with the rate of its day and its fee (the days' totals,
/// rounded, are what the bill charges). A range of at most 3 months; a page holds whole days.
#[utoipa::path(get, path = "/reports/return-fees", tag = "reports", security(("bearer" = [])),
    params(SmsLogQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of billing", body = ProblemDetails, content_type = PROBLEM)))]
async fn return_fees_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<SmsLogQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    range_report(
        &services,
        &current,
        FunctionArea::Billing,
        &query,
        &page,
        |owner, range, branch| {
            ReportRequest::ReturnFees(ReturnFeesReport {
                owner,
                range,
                branch,
                installment: false,
            })
        },
    )
    .await
}

/// The delivery log's export query (the fields of `GET /webhooks/deliveries`).
#[derive(Debug, Deserialize)]
pub struct CallbacksQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub status: Option<String>,
}

/// The installment reports' filters (分期核銷訂單報表).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstallmentQuery {
    /// First Taipei day (YYYY-MM-DD): of issue for orders, of the expected redemption
    /// for serials.
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// Only this status (`unused`, `redeeming`, `redeemed`, `pending_return`, `returning`,
    /// `returned`): the order's (derived from its serials) or the serial's.
    #[param(pattern = "^(unused|redeeming|redeemed|pending_return|returning|returned)$")]
    pub status: Option<String>,
    /// Only this merchant trade number.
    #[param(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub trade_no: Option<String>,
}

impl InstallmentQuery {
    fn filters(self) -> Result<(DayRange, Option<SerialStatus>, Option<TradeNo>), Error> {
        let range = DayRange::parse(self.from, self.to)?;
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            Some(status) => Some(SerialStatus::parse("status", status)?),
            None => None,
        };
        let trade_no = match self.trade_no.as_deref().filter(|t| !t.is_empty()) {
            Some(trade_no) => Some(TradeNo::parse("trade_no", trade_no)?),
            None => None,
        };
        Ok((range, status, trade_no))
    }

    fn orders(self, actor: &Actor) -> Result<InstallmentOrdersReport, Error> {
        let (range, status, trade_no) = self.filters()?;
        Ok(InstallmentOrdersReport {
            owner: actor.acting_as.clone(),
            range,
            status,
            trade_no,
        })
    }

    fn serials(self, actor: &Actor) -> Result<InstallmentSerialsReport, Error> {
        let (range, status, trade_no) = self.filters()?;
        Ok(InstallmentSerialsReport {
            owner: actor.acting_as.clone(),
            range,
            status,
            trade_no,
        })
    }
}

/// The installment area's query right, and the merchant's installment mode.
async fn installment_reader(services: &Services, actor: &Actor) -> Result<(), Error> {
    AreaGuard::new(FunctionArea::InstallmentOrders, ErrorCode::ExportNotFound)
        .check_own(actor, Access::Query)?;
    installment::check_mode(
        &services.table,
        &actor.acting_as,
        RedemptionMode::Installment,
    )
    .await
}

/// The installment order report (分期核銷訂單報表 > 訂單明細, §八 8-3 C): the orders issued
/// in a range of Taipei days (at most 3 months) with their totals, the amounts and periods
/// redeemed, returned and unused, "核銷完成" once every period is redeemed, and the
/// standing return with its fee's apportionment.
#[utoipa::path(get, path = "/reports/installment-orders", tag = "reports", security(("bearer" = [])),
    params(InstallmentQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), status, trade_no, limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of installment_orders; REDEMPTION_MODE_MISMATCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn installment_orders_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<InstallmentQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    installment_reader(&services, actor).await?;
    let request = ReportRequest::InstallmentOrders(query.orders(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// The per-period serial report (各期序號明細): the serials expected to be redeemed in a
/// range of Taipei days (at most 3 months), each with its face value, status, expected
/// date and its return's data.
#[utoipa::path(get, path = "/reports/installment-serials", tag = "reports", security(("bearer" = [])),
    params(InstallmentQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), status, trade_no, limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of installment_orders; REDEMPTION_MODE_MISMATCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn installment_serials_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<InstallmentQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    installment_reader(&services, actor).await?;
    let request = ReportRequest::InstallmentSerials(query.serials(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// A page of a report over a range of Taipei days of the caller's merchant: the query
/// right of `area` first (without it nothing else about the request matters), then the range.
async fn range_report(
    services: &Services,
    current: &CurrentActor,
    area: FunctionArea,
    query: &SmsLogQuery,
    page: &PageQuery,
    report: impl FnOnce(MerchantId, DayRange, Option<BranchCode>) -> ReportRequest,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    AreaGuard::new(area, ErrorCode::ExportNotFound).check_own(actor, Access::Query)?;
    let mut request = report(
        actor.acting_as.clone(),
        DayRange::parse(query.from, query.to)?,
        actor.branch.clone(),
    );
    if let ReportRequest::ReturnFees(report) = &mut request {
        report.installment =
            services.table.redemption_mode(&actor.acting_as).await? == RedemptionMode::Installment;
    }
    Ok(Json(report_page(services, &request, page).await?))
}

/// A range of Taipei days (the issued orders, the transfers, the return fees).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SmsLogQuery {
    /// First Taipei day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
}

/// The cross-store report (跨店核銷報表): other issuers' tickets this merchant redeemed as
/// their redeemable store; a cancelled redemption drops out.
#[utoipa::path(get, path = "/reports/cross-store", tag = "reports", security(("bearer" = [])),
    params(OperationsQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), branch_type, branch, issuer, limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of reports; OTHER_BRANCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn cross_store_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OperationsQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let request = ReportRequest::CrossStore(query.cross_store(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// The branch report (分店報表): each redemption, return and cancellation a branch made.
#[utoipa::path(get, path = "/reports/branch", tag = "reports", security(("bearer" = [])),
    params(OperationsQuery, PageQuery),
    responses((status = 200, body = ReportPage),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), branch, limit, cursor", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of reports; OTHER_BRANCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn branch_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<OperationsQuery>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ReportPage>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let request = ReportRequest::Branch(query.branch_report(actor)?);
    Ok(Json(report_page(&services, &request, &page).await?))
}

/// What to export: a report and its query (the fields of the report's GET route).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ExportInput {
    /// The report: `tickets`, `cross_store`, `branch`, `circulation`, `sms_log`, `transfers`, `paper_tickets`,
    /// `issued_orders`, `return_fees`, `bills`, `products`, `branches`, `bindings`,
    /// `redeemable_stores`, `installment_orders`, `installment_serials` or `callbacks` (the
    /// refund callbacks' delivery log: `from`, `to`, `status`).
    #[schema(
        pattern = "^(tickets|cross_store|branch|circulation|sms_log|issued_orders|transfers|paper_tickets|return_fees|bills|products|branches|bindings|redeemable_stores|installment_orders|installment_serials|callbacks)$"
    )]
    pub report: String,
    /// The fields of the report's own route (`/reports/tickets`, `/reports/cross-store`,
    /// `/reports/branch`, `/reports/circulation`, `/reports/sms-log`,
    /// `/reports/issued-orders`, `/reports/return-fees`; `from` and `to` for
    /// `products`, at most a year; none for the others), as an object.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
}

/// What `POST /exports` can write.
const EXPORTABLE: &str = "tickets, cross_store, branch, circulation, sms_log, issued_orders, transfers, paper_tickets, return_fees, bills, products, branches, bindings, redeemable_stores, installment_orders, installment_serials or callbacks";

/// The query of an export, read as the report's own route reads it.
fn export_query<T: serde::de::DeserializeOwned>(query: serde_json::Value) -> Result<T, Error> {
    let query = match query {
        serde_json::Value::Null => serde_json::Value::Object(Default::default()),
        other => other,
    };
    serde_json::from_value(query).map_err(|e| Error::invalid_field("query", e.to_string()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportView {
    pub export_id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub rows_written: u64,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When done: a link that downloads the file (the first part's, when there are
    /// several) for the next few minutes.
    pub download_url: Option<String>,
    /// When done: every file of the export in the report's order, each with its link. A
    /// report too long for one file (or one run of the worker) comes in several parts,
    /// each with the column headers; most exports have one.
    pub parts: Vec<ExportPartView>,
    pub failure: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportPartView {
    pub rows: u64,
    /// Downloads this part for the next few minutes.
    pub download_url: String,
}

fn view_of(export: &ExportRecord, parts: Vec<ExportPartView>) -> ExportView {
    ExportView {
        export_id: export.export_id.clone(),
        status: wire_name(export.status),
        rows_written: export.rows_written,
        created_at: export.created_at,
        finished_at: export.finished_at,
        download_url: parts.first().map(|part| part.download_url.clone()),
        parts,
        failure: export.failure.clone(),
    }
}

async fn export_view(services: &Services, export: &ExportRecord) -> Result<ExportView, Error> {
    let mut parts = Vec::new();
    if export.status == ExportStatus::Done {
        let count = export.parts.len();
        for (index, part) in export.parts.iter().enumerate() {
            // The file's name as the browser saves it: one file, or numbered parts.
            let file_name = match count {
                1 => format!("tessera-{}.xlsx", export.export_id),
                _ => format!("tessera-{}-{}of{count}.xlsx", export.export_id, index + 1),
            };
            let download_url = services
                .exports()?
                .presign_attachment(
                    &part.object_key,
                    &file_name,
                    std::time::Duration::from_secs(DOWNLOAD_LINK_MINUTES * 60),
                )
                .await?;
            parts.push(ExportPartView {
                rows: part.rows,
                download_url,
            });
        }
    }
    Ok(view_of(export, parts))
}

/// Export a report to Excel (asynchronous): poll `GET /exports/{export_id}` until it is
/// `done`, then download it from its link.
#[utoipa::path(post, path = "/exports", tag = "reports", security(("bearer" = [])), request_body = ExportInput,
    responses((status = 202, description = "Queued", body = ExportView),
        (status = 400, description = "VALIDATION_FAILED: as for the report's own route", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of the report's area (reports; the SMS log; billing); OTHER_BRANCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn create_export(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
    ApiJson(input): ApiJson<ExportInput>,
) -> Result<(StatusCode, Json<ExportView>), Problem> {
    let actor = &current.actor;
    // Exporting a report needs the right that reads it.
    let area = match input.report.as_str() {
        "tickets" | "cross_store" | "branch" | "circulation" => FunctionArea::Reports,
        "bindings" => FunctionArea::Branches,
        "sms_log" => FunctionArea::SmsLog,
        "issued_orders" => FunctionArea::IssuedOrders,
        "transfers" => FunctionArea::Transfers,
        "paper_tickets" => FunctionArea::PaperPrinting,
        "return_fees" => FunctionArea::Billing,
        "bills" => FunctionArea::Billing,
        "installment_orders" | "installment_serials" => FunctionArea::InstallmentOrders,
        "callbacks" => FunctionArea::OperationSettings,
        "products" => FunctionArea::Products,
        "branches" => FunctionArea::Branches,
        "redeemable_stores" => FunctionArea::OperationSettings,
        other => {
            return Err(Error::invalid_field("report", format!("{other:?}: {EXPORTABLE}")).into());
        }
    };
    AreaGuard::new(area, ErrorCode::ExportNotFound).check_own(actor, Access::Query)?;
    let request = match input.report.as_str() {
        "tickets" => {
            ReportRequest::Tickets(export_query::<TicketReportQuery>(input.query)?.report(actor)?)
        }
        "cross_store" => ReportRequest::CrossStore(
            export_query::<OperationsQuery>(input.query)?.cross_store(actor)?,
        ),
        "branch" => ReportRequest::Branch(
            export_query::<OperationsQuery>(input.query)?.branch_report(actor)?,
        ),
        "sms_log" => ReportRequest::SmsLog(export_query::<SmsQuery>(input.query)?.report(actor)?),
        "issued_orders" => ReportRequest::IssuedOrders(
            export_query::<IssuedOrdersQuery>(input.query)?.report(actor)?,
        ),
        "paper_tickets" => ReportRequest::PaperTickets(
            export_query::<PaperTicketsQuery>(input.query)?.report(actor)?,
        ),
        "transfers" => ReportRequest::Transfers(TransfersReport {
            owner: actor.acting_as.clone(),
            range: export_query::<OperationsQuery>(input.query)?.range()?,
            branch: actor.branch.clone(),
        }),
        "return_fees" => ReportRequest::ReturnFees(ReturnFeesReport {
            owner: actor.acting_as.clone(),
            range: export_query::<OperationsQuery>(input.query)?.range()?,
            branch: actor.branch.clone(),
            installment: services.table.redemption_mode(&actor.acting_as).await?
                == RedemptionMode::Installment,
        }),
        "installment_orders" => {
            installment::check_mode(
                &services.table,
                &actor.acting_as,
                RedemptionMode::Installment,
            )
            .await?;
            ReportRequest::InstallmentOrders(
                export_query::<InstallmentQuery>(input.query)?.orders(actor)?,
            )
        }
        "callbacks" => {
            let query = export_query::<CallbacksQuery>(input.query)?;
            let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(name) => Some(serde_json::from_value(serde_json::json!(name)).map_err(
                    |_| Error::invalid_field("status", "pending, delivered, failed or disabled"),
                )?),
            };
            ReportRequest::Callbacks(CallbacksReport {
                owner: actor.acting_as.clone(),
                range: DayRange::parse(query.from, query.to)?,
                status,
            })
        }
        "installment_serials" => {
            installment::check_mode(
                &services.table,
                &actor.acting_as,
                RedemptionMode::Installment,
            )
            .await?;
            ReportRequest::InstallmentSerials(
                export_query::<InstallmentQuery>(input.query)?.serials(actor)?,
            )
        }
        "products" => {
            let range = export_query::<OperationsQuery>(input.query)?;
            let (Some(from), Some(to)) = (range.from, range.to) else {
                return Err(Error::invalid_field("from", "from and to are required").into());
            };
            check_query_range(from, to)?;
            ReportRequest::Products {
                owner: actor.acting_as.clone(),
                from,
                to,
            }
        }
        "branches" => ReportRequest::Branches {
            owner: actor.acting_as.clone(),
        },
        "bindings" => ReportRequest::Bindings {
            owner: actor.acting_as.clone(),
        },
        "circulation" => {
            let query = export_query::<OperationsQuery>(input.query)?;
            ReportRequest::Circulation {
                owner: actor.acting_as.clone(),
                range: query.range()?,
                branch: branch_scope(actor, query.branch_type.as_deref(), query.branch.as_deref())?,
            }
        }
        "redeemable_stores" => ReportRequest::RedeemableStores {
            owner: actor.acting_as.clone(),
        },
        _ => ReportRequest::Bills(BillsReport {
            owner: actor.acting_as.clone(),
        }),
    };
    let request = serde_json::to_value(&request)
        .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
    let export_id = uuid::Uuid::new_v4().simple().to_string();
    let (request, export_id) = (&request, &export_id);
    let export = services
        .engine()
        .run(keyed.as_ref(), 202, |now| async move {
            let mut export = ExportRecord {
                merchant_id: actor.acting_as.clone(),
                export_id: export_id.clone(),
                request: request.clone(),
                status: ExportStatus::Queued,
                rows_written: 0,
                parts: Vec::new(),
                resume_after: None,
                failure: None,
                requested_by: actor.account.clone(),
                created_at: now,
                updated_at: now,
                finished_at: None,
                version: 0,
            };
            let mut changes = Changes::new();
            changes.create(&mut export, ErrorCode::ConcurrentChange)?;
            // The worker hears of it through the outbox: if and only if this commits.
            let message = ExportMessage {
                merchant_id: actor.acting_as.to_string(),
                export_id: export_id.clone(),
            };
            changes.event(OutboxEvent::new(
                format!("export-{export_id}"),
                EventType::ExportRequested,
                &actor.acting_as,
                now,
                export_id,
                &message,
            )?);
            Ok(Decision::new(changes, view_of(&export, Vec::new())))
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(export)))
}

/// An export's progress, and its download link once done.
#[utoipa::path(get, path = "/exports/{export_id}", tag = "reports", security(("bearer" = [])),
    params(("export_id" = String, Path, description = "32 hex digits")),
    responses((status = 200, body = ExportView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "EXPORT_NOT_FOUND: none, another account's, another merchant's, or one whose report the account may no longer read", body = ProblemDetails, content_type = PROBLEM)))]
async fn get_export(
    State(services): State<Services>,
    current: CurrentActor,
    Path(export_id): Path<String>,
) -> Result<Json<ExportView>, Problem> {
    let actor = &current.actor;
    let valid = export_id.len() == 32 && export_id.bytes().all(|b| b.is_ascii_hexdigit());
    let export = match valid {
        true => {
            services
                .table
                .get_export(&actor.acting_as, &export_id)
                .await?
        }
        false => None,
    }
    .ok_or_else(|| Problem::new(ErrorCode::ExportNotFound))?;
    // Only whoever asked for it (or the admin) sees an export: it holds what their view
    // of the report allowed.
    if export.requested_by != actor.account && actor.role != Role::Admin {
        return Err(Problem::new(ErrorCode::ExportNotFound));
    }
    // And only while the right that reads the report is held (a request this version
    // cannot read, which its export will say it failed on, is a report's).
    let area = serde_json::from_value::<ReportRequest>(export.request.clone())
        .map(|request| request.area())
        .unwrap_or(FunctionArea::Reports);
    AreaGuard::new(area, ErrorCode::ExportNotFound).check_own(actor, Access::Query)?;
    Ok(Json(export_view(&services, &export).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CirculationQuery {
    /// First Taipei day (YYYY-MM-DD).
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// `all` (default), `head_office` or `branch` (then `branch` names it). Redemptions by
    /// redeemable stores count under `all` only.
    #[param(pattern = "^(all|head_office|branch)$")]
    pub branch_type: Option<String>,
    pub branch: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CirculationFigures {
    pub issued_count: i64,
    pub issued_amount: String,
    pub redeemed_count: i64,
    pub redeemed_amount: String,
    pub returned_count: i64,
    pub returned_amount: String,
    /// Issued and neither redeemed nor returned, at the end of the row's day.
    pub outstanding_count: i64,
    pub outstanding_amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CirculationDay {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub figures: CirculationFigures,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CirculationReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Each day with activity, oldest first.
    pub days: Vec<CirculationDay>,
    /// The whole range; its outstanding figures are those at the end of `to`.
    pub total: CirculationFigures,
}

fn figures_view(row: &tessera_platform::circulation::CirculationRow) -> CirculationFigures {
    let f = &row.figures;
    CirculationFigures {
        issued_count: f.issued_count,
        issued_amount: f.issued_amount.normalize().to_string(),
        redeemed_count: f.redeemed_count,
        redeemed_amount: f.redeemed_amount.normalize().to_string(),
        returned_count: f.returned_count,
        returned_amount: f.returned_amount.normalize().to_string(),
        outstanding_count: row.outstanding_count,
        outstanding_amount: row.outstanding_amount.normalize().to_string(),
    }
}

fn branch_scope(
    actor: &Actor,
    kind: Option<&str>,
    branch: Option<&str>,
) -> Result<BranchScope, Error> {
    let requested = match kind.unwrap_or("all") {
        "all" => BranchScope::All,
        "head_office" => BranchScope::HeadOffice,
        "branch" => BranchScope::Branch(BranchCode::parse("branch", branch.unwrap_or_default())?),
        other => {
            return Err(Error::invalid_field(
                "branch_type",
                format!("{other:?}: all, head_office or branch"),
            ))
        }
    };
    BranchScope::visible_to(actor, requested)
}

/// The circulation report (流通報表): issued, redeemed, returned and outstanding counts
/// and amounts, day by day and in total, at a branch or everywhere (§8).
#[utoipa::path(get, path = "/reports/circulation", tag = "reports", security(("bearer" = [])),
    params(CirculationQuery),
    responses((status = 200, body = CirculationReport),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), branch_type, branch", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of reports; OTHER_BRANCH", body = ProblemDetails, content_type = PROBLEM)))]
async fn circulation_report(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<CirculationQuery>,
) -> Result<Json<CirculationReport>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let range = DayRange::parse(query.from, query.to)?;
    let scope = branch_scope(actor, query.branch_type.as_deref(), query.branch.as_deref())?;
    let mut rows = tessera_platform::circulation::circulation(
        &services.table,
        &actor.acting_as,
        &range,
        &scope,
    )
    .await?;
    let total = rows.pop().map(|row| figures_view(&row));
    let days = rows
        .iter()
        .filter_map(|row| {
            Some(CirculationDay {
                day: row.day?,
                figures: figures_view(row),
            })
        })
        .collect();
    Ok(Json(CirculationReport {
        from: range.from,
        to: range.to,
        days,
        total: total.ok_or_else(|| Error::new(ErrorCode::InternalError))?,
    }))
}

/// Days the dashboard's split looks back over (最近 90 天).
const DASHBOARD_DAYS: i64 = 90;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CountAndAmount {
    pub count: i64,
    pub amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketSplit {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub issued: CountAndAmount,
    pub redeemed: CountAndAmount,
    pub returned: CountAndAmount,
    /// Neither redeemed nor returned (lapsed ones included).
    pub unused: CountAndAmount,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractSummary {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// `redeem_after_use` or `installment`.
    pub redemption_mode: String,
    /// The fee rates in force today: item, basis and amount.
    #[schema(value_type = Vec<Object>)]
    pub rates: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopProduct {
    pub product_id: String,
    pub name: String,
    pub issued_count: i64,
    pub issued_amount: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopProducts {
    pub goods_voucher: Vec<TopProduct>,
    pub gift_voucher: Vec<TopProduct>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedInRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub issued: CountAndAmount,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// First Taipei day of the issued figures (default: the 1st of this month).
    pub from: Option<NaiveDate>,
    /// Last Taipei day (default: today), at most 3 months after `from`.
    pub to: Option<NaiveDate>,
}

/// Products the dashboard ranks per kind.
const TOP_PRODUCTS: usize = 5;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Dashboard {
    /// What became of the tickets issued in the last 90 Taipei days (today included).
    pub last_90_days: TicketSplit,
    /// Tickets issued in the chosen range.
    pub issued_in_range: IssuedInRange,
    /// The five products that issued most since the start, per kind.
    pub top_products: TopProducts,
    /// The contract, when the platform has set one.
    pub contract: Option<ContractSummary>,
    /// The message centre's latest for this account (`GET /messages` has them all).
    pub messages: DashboardMessages,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardMessages {
    /// Announcements this account has not read.
    pub unread: usize,
    /// The five latest, newest first.
    pub latest: Vec<DashboardMessage>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardMessage {
    pub announcement_id: String,
    pub title: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub read: bool,
}

/// The products that issued most, per kind (names and kinds from the products).
async fn top_products(
    services: &Services,
    merchant: &MerchantId,
    mut issued: Vec<(ProductId, tessera_domain::circulation::Figures)>,
) -> Result<TopProducts, Error> {
    issued.sort_by(|a, b| {
        b.1.issued_count
            .cmp(&a.1.issued_count)
            .then_with(|| a.0.cmp(&b.0))
    });
    let ids: Vec<ProductId> = issued.iter().map(|(id, _)| id.clone()).collect();
    let products: std::collections::HashMap<ProductId, _> = services
        .table
        .get_products(merchant, &ids)
        .await?
        .into_iter()
        .map(|p| (p.product_id.clone(), p))
        .collect();
    let mut top = TopProducts {
        goods_voucher: Vec::new(),
        gift_voucher: Vec::new(),
    };
    for (id, figures) in issued {
        let Some(product) = products.get(&id) else {
            continue;
        };
        let list = match product.spec.kind {
            TicketKind::GoodsVoucher => &mut top.goods_voucher,
            TicketKind::GiftVoucher => &mut top.gift_voucher,
        };
        if list.len() < TOP_PRODUCTS {
            list.push(TopProduct {
                product_id: id.to_string(),
                name: product.spec.name.clone(),
                issued_count: figures.issued_count,
                issued_amount: figures.issued_amount.normalize().to_string(),
            });
        }
    }
    Ok(top)
}

fn count_and_amount(count: i64, amount: rust_decimal::Decimal) -> CountAndAmount {
    CountAndAmount {
        count,
        amount: amount.normalize().to_string(),
    }
}

/// The home dashboard (§二): the last 90 days' tickets split into redeemed, returned and
/// unused, and the contract with its fees in force. For an installment merchant the counts
/// are serials (periods) and the amounts their face values (§八).
#[utoipa::path(get, path = "/dashboard", tag = "reports", security(("bearer" = [])),
    params(DashboardQuery),
    responses((status = 200, body = Dashboard),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months)", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of reports", body = ProblemDetails, content_type = PROBLEM)))]
async fn dashboard(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<Json<Dashboard>, Problem> {
    let actor = &current.actor;
    RIGHTS.check_own(actor, Access::Query)?;
    let today = tessera_domain::calendar::taipei_date(services.clock.now());
    let from = today - chrono::Duration::days(DASHBOARD_DAYS - 1);
    let range = DayRange::parse(
        query
            .from
            .unwrap_or_else(|| tessera_domain::calendar::month_start(today)),
        query.to.unwrap_or(today),
    )?;
    let merchant = &actor.acting_as;
    let (split, contract, rates, days, products, messages) = tokio::try_join!(
        tessera_platform::circulation::cohort_split(&services.table, merchant, from, today),
        services.table.get_contract(merchant),
        services.table.list_rates(merchant),
        services.table.counter_days(merchant, range.from, range.to),
        services.table.counter_products(merchant),
        services.table.messages_for(merchant, &actor.account),
    )?;
    let messages = DashboardMessages {
        unread: messages.iter().filter(|(_, read)| !read).count(),
        latest: messages
            .into_iter()
            .take(5)
            .map(|(a, read)| DashboardMessage {
                announcement_id: a.id,
                title: a.title,
                published_at: a.published_at,
                read,
            })
            .collect(),
    };
    let mut in_range = tessera_domain::circulation::Figures::default();
    for (_, _, figures) in &days {
        in_range.merge(figures);
    }
    let top_products = top_products(&services, merchant, products).await?;
    let (unused_count, unused_amount) = split.outstanding();
    let contract = contract.map(|contract| {
        let in_force = [
            FeeItem::ReturnOperation,
            FeeItem::Sms,
            FeeItem::PaperPrinting,
            FeeItem::SerialProcessing,
        ]
        .into_iter()
        .filter_map(|item| rate_in_force(&rates, contract.redemption_mode, item, today))
        .filter_map(|rate| serde_json::to_value(rate).ok())
        .collect();
        ContractSummary {
            starts_on: contract.starts_on,
            ends_on: contract.ends_on,
            redemption_mode: wire_name(contract.redemption_mode),
            rates: in_force,
        }
    });
    Ok(Json(Dashboard {
        issued_in_range: IssuedInRange {
            from: range.from,
            to: range.to,
            issued: count_and_amount(in_range.issued_count, in_range.issued_amount),
        },
        top_products,
        last_90_days: TicketSplit {
            from,
            to: today,
            issued: count_and_amount(split.issued_count, split.issued_amount),
            redeemed: count_and_amount(split.redeemed_count, split.redeemed_amount),
            returned: count_and_amount(split.returned_count, split.returned_amount),
            unused: count_and_amount(unused_count, unused_amount),
        },
        contract,
        messages,
    }))
}

pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(ticket_report))
        .routes(routes!(cross_store_report))
        .routes(routes!(branch_report))
        .routes(routes!(sms_log_report))
        .routes(routes!(issued_orders_report))
        .routes(routes!(transfers_report))
        .routes(routes!(paper_tickets_report))
        .routes(routes!(return_fees_report))
        .routes(routes!(installment_orders_report))
        .routes(routes!(installment_serials_report))
        .routes(routes!(circulation_report))
        .routes(routes!(dashboard))
        .routes(routes!(create_export))
        .routes(routes!(get_export))
}

pub fn app(services: Services) -> Router {
    tessera_platform::http::function_app(routes(), services)
}
