//! Reports over the store: a report's query, read one page at a time from the partition
//! that serves it (docs/data-model.md, "Reports"), with an opaque cursor to the next page.
//! The HTTP routes and the export worker read the very same pages.

use crate::store::installment::{StoredInstallmentOrder, StoredSerial};
use crate::store::issuance::IssuedOrderRecord;
use crate::store::keys;
use crate::store::notifications::SmsLogEntry;
use crate::store::reports::{Chunk, Partition};
use crate::store::tickets::{Ticket, TicketEvent};
use crate::store::{from_item, Item, Table};
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tessera_domain::access::{FunctionArea, Role};
use tessera_domain::installment::SerialStatus;
use tessera_domain::orders::TradeNo;
use tessera_domain::reports::{
    bill_cells, bill_columns, binding_columns, branch_columns, branch_event_cells,
    branch_event_columns, callback_cells, callback_columns, circulation_columns, cross_store_cells,
    cross_store_columns, installment_order_cells, installment_order_columns,
    installment_return_fee_cells, installment_return_fee_columns, issued_order_cells,
    issued_order_columns, kind_zh_tw, paper_ticket_cells, paper_ticket_columns, product_columns,
    report_time, return_fee_cells, return_fee_columns, serial_cells, serial_columns, sms_log_cells,
    sms_log_columns, store_columns, ticket_cells, ticket_columns, transfer_cells, transfer_columns,
    BranchScope, CallbackRow, Column, ColumnGroup, DateType, DayRange, HolderQuery,
    InstallmentOrderRow, IssuedOrderRow, SerialRow, TicketFilter,
};
use tessera_domain::tickets::TicketNumber;
use tessera_domain::values::{BranchCode, MerchantId};
use tessera_domain::{Error, ErrorCode};

/// How a ticket report finds its tickets (查詢方式).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum TicketQuery {
    /// 日期查詢: by a date of the chosen type, with the filters.
    ByDate(TicketFilter),
    /// 票券序號查詢: these tickets, in this order.
    ByNumbers { ticket_nos: Vec<TicketNumber> },
    /// 訂單資訊查詢: the tickets of these issued orders (import numbers).
    ByOrders { import_nos: Vec<String> },
    /// 持票人查詢: the tickets issued in the range that this holder holds now.
    ByHolder {
        range: DayRange,
        holder: HolderQuery,
    },
}

/// A ticket report as asked for: whose, how found, which columns, and (for a branch-bound
/// account) the branch it is limited to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketReport {
    pub owner: MerchantId,
    pub query: TicketQuery,
    #[serde(default)]
    pub columns: Vec<ColumnGroup>,
    #[serde(default)]
    pub viewer_branch: Option<BranchCode>,
}

/// Every report a page can be read of and an export can write: the query frozen with the
/// owner and, where it matters, the viewer's branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "report")]
pub enum ReportRequest {
    Tickets(TicketReport),
    CrossStore(CrossStoreReport),
    Branch(BranchReport),
    SmsLog(SmsLogReport),
    /// The issued orders (發行訂單) of a range of days, oldest first.
    IssuedOrders(IssuedOrdersReport),
    /// The fee-bearing returns (退貨作業費報表) of a range of days, oldest first.
    ReturnFees(ReturnFeesReport),
    /// The transfers (電子票券轉贈紀錄) of a range of days, oldest first.
    Transfers(TransfersReport),
    /// The merchant's own paper tickets (紙本票券列印) issued in a range of days.
    PaperTickets(PaperTicketsReport),
    Bills(BillsReport),
    /// The products created in a range of days (at most a year, as the products list).
    Products {
        owner: MerchantId,
        from: NaiveDate,
        to: NaiveDate,
    },
    Branches {
        owner: MerchantId,
    },
    RedeemableStores {
        owner: MerchantId,
    },
    Bindings {
        owner: MerchantId,
    },
    Circulation {
        owner: MerchantId,
        range: DayRange,
        branch: BranchScope,
    },
    /// The installment orders (分期核銷訂單報表 > 訂單明細) issued in a range of days.
    InstallmentOrders(InstallmentOrdersReport),
    /// The installment serials (各期序號明細) expected in a range of days.
    InstallmentSerials(InstallmentSerialsReport),
    /// The refund callbacks' delivery log of a range of days.
    Callbacks(CallbacksReport),
}

impl ReportRequest {
    pub fn owner(&self) -> &MerchantId {
        match self {
            ReportRequest::Tickets(report) => &report.owner,
            ReportRequest::CrossStore(report) => &report.owner,
            ReportRequest::Branch(report) => &report.owner,
            ReportRequest::SmsLog(report) => &report.owner,
            ReportRequest::IssuedOrders(report) => &report.owner,
            ReportRequest::ReturnFees(report) => &report.owner,
            ReportRequest::Transfers(report) => &report.owner,
            ReportRequest::PaperTickets(report) => &report.owner,
            ReportRequest::Bills(report) => &report.owner,
            ReportRequest::Products { owner, .. }
            | ReportRequest::Branches { owner }
            | ReportRequest::RedeemableStores { owner }
            | ReportRequest::Bindings { owner }
            | ReportRequest::Circulation { owner, .. } => owner,
            ReportRequest::InstallmentOrders(report) => &report.owner,
            ReportRequest::InstallmentSerials(report) => &report.owner,
            ReportRequest::Callbacks(report) => &report.owner,
        }
    }

    /// The function area whose query right reads (and exports) this report.
    pub fn area(&self) -> FunctionArea {
        match self {
            ReportRequest::Tickets(_) | ReportRequest::CrossStore(_) | ReportRequest::Branch(_) => {
                FunctionArea::Reports
            }
            ReportRequest::SmsLog(_) => FunctionArea::SmsLog,
            ReportRequest::IssuedOrders(_) => FunctionArea::IssuedOrders,
            ReportRequest::ReturnFees(_) => FunctionArea::Billing,
            ReportRequest::Transfers(_) => FunctionArea::Transfers,
            ReportRequest::PaperTickets(_) => FunctionArea::PaperPrinting,
            ReportRequest::Bills(_) => FunctionArea::Billing,
            ReportRequest::Products { .. } => FunctionArea::Products,
            ReportRequest::Branches { .. } | ReportRequest::Bindings { .. } => {
                FunctionArea::Branches
            }
            ReportRequest::Circulation { .. } => FunctionArea::Reports,
            ReportRequest::RedeemableStores { .. } => FunctionArea::OperationSettings,
            ReportRequest::InstallmentOrders(_) | ReportRequest::InstallmentSerials(_) => {
                FunctionArea::InstallmentOrders
            }
            ReportRequest::Callbacks(_) => FunctionArea::OperationSettings,
        }
    }

    /// The report's name in the manual (the export's sheet).
    pub fn title(&self) -> &'static str {
        match self {
            ReportRequest::Tickets(_) => "票券報表",
            ReportRequest::CrossStore(_) => "跨店核銷報表",
            ReportRequest::Branch(_) => "分店報表",
            ReportRequest::SmsLog(_) => "簡訊發送紀錄",
            ReportRequest::IssuedOrders(_) => "發行訂單",
            ReportRequest::ReturnFees(_) => "退貨作業費報表",
            ReportRequest::Transfers(_) => "電子票券轉贈紀錄",
            ReportRequest::PaperTickets(_) => "紙本票券列印",
            ReportRequest::Bills(_) => "帳單報表",
            ReportRequest::Products { .. } => "商品管理",
            ReportRequest::Branches { .. } => "票券分店",
            ReportRequest::RedeemableStores { .. } => "可核銷商店",
            ReportRequest::Bindings { .. } => "子帳號綁定分店",
            ReportRequest::Circulation { .. } => "流通報表",
            ReportRequest::InstallmentOrders(_) => "分期核銷訂單明細",
            ReportRequest::InstallmentSerials(_) => "各期序號明細",
            ReportRequest::Callbacks(_) => "退款結果通知紀錄",
        }
    }

    /// The report's columns: ids (JSON fields) and the manual's headers.
    pub fn columns(&self) -> Vec<Column> {
        match self {
            ReportRequest::Tickets(report) => ticket_columns(&report.columns),
            ReportRequest::CrossStore(_) => cross_store_columns().to_vec(),
            ReportRequest::Branch(_) => branch_event_columns().to_vec(),
            ReportRequest::SmsLog(_) => sms_log_columns().to_vec(),
            ReportRequest::IssuedOrders(_) => issued_order_columns().to_vec(),
            ReportRequest::ReturnFees(report) if report.installment => {
                installment_return_fee_columns().to_vec()
            }
            ReportRequest::ReturnFees(_) => return_fee_columns().to_vec(),
            ReportRequest::Transfers(_) => transfer_columns().to_vec(),
            ReportRequest::PaperTickets(_) => paper_ticket_columns().to_vec(),
            ReportRequest::Bills(_) => bill_columns().to_vec(),
            ReportRequest::Products { .. } => product_columns().to_vec(),
            ReportRequest::Branches { .. } => branch_columns().to_vec(),
            ReportRequest::RedeemableStores { .. } => store_columns().to_vec(),
            ReportRequest::Bindings { .. } => binding_columns().to_vec(),
            ReportRequest::Circulation { .. } => circulation_columns().to_vec(),
            ReportRequest::InstallmentOrders(_) => installment_order_columns().to_vec(),
            ReportRequest::InstallmentSerials(_) => serial_columns().to_vec(),
            ReportRequest::Callbacks(_) => callback_columns().to_vec(),
        }
    }

    /// The sheet's name and the column headers, as the manual names them.
    pub fn sheet(&self) -> (&'static str, Vec<&'static str>) {
        (
            self.title(),
            self.columns().iter().map(|c| c.header).collect(),
        )
    }

    /// One page of rows as text cells, and the cursor of the next page.
    pub async fn page_cells(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        match self {
            ReportRequest::Tickets(report) => {
                let page = report.page(table, cursor, rows, now).await?;
                let cells = page
                    .tickets
                    .iter()
                    .map(|t| ticket_cells(t, &report.columns))
                    .collect();
                Ok((cells, page.next))
            }
            ReportRequest::CrossStore(report) => {
                let page = report.page(table, cursor, rows, now).await?;
                Ok((
                    page.tickets.iter().map(cross_store_cells).collect(),
                    page.next,
                ))
            }
            ReportRequest::Branch(report) => {
                let page = report.page(table, cursor, rows).await?;
                Ok((
                    page.events.iter().map(branch_event_cells).collect(),
                    page.next,
                ))
            }
            ReportRequest::SmsLog(report) => report.page(table, cursor, rows).await,
            ReportRequest::IssuedOrders(report) => report.page(table, cursor, rows).await,
            ReportRequest::ReturnFees(report) => report.page(table, cursor, rows).await,
            ReportRequest::Transfers(report) => report.page(table, cursor, rows).await,
            ReportRequest::PaperTickets(report) => report.page(table, cursor, rows, now).await,
            ReportRequest::InstallmentOrders(report) => report.page(table, cursor, rows).await,
            ReportRequest::InstallmentSerials(report) => report.page(table, cursor, rows).await,
            ReportRequest::Callbacks(report) => report.page(table, cursor, rows).await,
            // A merchant has one bill a month: every bill fits one page.
            ReportRequest::Bills(report) => {
                let mut bills = table.list_bills(&report.owner).await?;
                bills.sort_by(|a, b| b.month.cmp(&a.month));
                Ok((bills.iter().flat_map(bill_cells).collect(), None))
            }
            // The lists below are a merchant's own set-up: each fits one page.
            ReportRequest::Products { owner, from, to } => {
                let products = table
                    .list_products(
                        owner,
                        tessera_domain::calendar::start_of_day(*from),
                        tessera_domain::calendar::end_of_day_exclusive(*to),
                    )
                    .await?;
                Ok((products.iter().map(product_cells).collect(), None))
            }
            ReportRequest::Branches { owner } => {
                let branches = table.list_branches(owner).await?;
                Ok((branches.iter().map(branch_cells).collect(), None))
            }
            ReportRequest::RedeemableStores { owner } => {
                let stores = table.list_stores(owner).await?;
                Ok((stores.iter().map(store_cells).collect(), None))
            }
            ReportRequest::Bindings { owner } => {
                let accounts = table.list_accounts(owner).await?;
                let rows = accounts
                    .iter()
                    .filter(|a| a.role == Role::SubAccount && a.deleted_at.is_none())
                    .map(|a| {
                        vec![
                            a.account.to_string(),
                            a.remark
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default(),
                            a.branch
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default(),
                        ]
                    })
                    .collect();
                Ok((rows, None))
            }
            // A quarter's days at most: one page.
            ReportRequest::Circulation {
                owner,
                range,
                branch,
            } => {
                let rows = crate::circulation::circulation(table, owner, range, branch).await?;
                Ok((rows.iter().map(circulation_cells).collect(), None))
            }
        }
    }
}

/// A page of tickets (each as of the query's time) and the cursor of the next one.
pub struct TicketPage {
    pub tickets: Vec<Ticket>,
    pub next: Option<String>,
}

/// What a cursor carries: where the last page stopped. Opaque to callers (base64url of
/// this JSON); checked against the query before it is used.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// The day partition being read (queries over report events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    day: Option<NaiveDate>,
    /// The position in a list of numbers.
    #[serde(default, skip_serializing_if = "is_zero")]
    index: usize,
    /// The DynamoDB key to resume after.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    key: BTreeMap<String, String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn bad_cursor() -> Error {
    Error::invalid_field("cursor", "not a cursor this query returned")
}

impl Cursor {
    fn decode(text: Option<&str>) -> Result<Cursor, Error> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(Cursor::default());
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad_cursor())?;
        serde_json::from_slice(&bytes).map_err(|_| bad_cursor())
    }

    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// The resume key for `partition`, if the cursor has one (refused if it is not one
    /// of this partition's).
    fn start(&self, partition: &Partition) -> Result<Option<Item>, Error> {
        if self.key.is_empty() {
            return Ok(None);
        }
        partition
            .check_resume_key(&self.key)
            .map(Some)
            .ok_or_else(bad_cursor)
    }
}

/// Items read per query while filling a page: a page's first query asks for exactly the
/// rows still wanted (an unfiltered page reads nothing beyond itself, and the next page
/// starts right after it); once a filter has dropped items, twice as many, so that a
/// selective filter does not cost a round trip per row.
fn chunk_size(wanted: usize, first: &mut bool) -> i32 {
    let size = if std::mem::take(first) {
        wanted
    } else {
        wanted * 2
    };
    i32::try_from(size.clamp(25, 1000)).unwrap_or(1000)
}

/// Up to `rows` rows from one partition after `start`, chunk by chunk: `take` makes each
/// item a row or drops it. With the rows, the key to resume after the last one when the
/// page filled before the partition's end (`None`: nothing more here).
async fn fill_page<T>(
    table: &Table,
    partition: &Partition,
    mut start: Option<Item>,
    rows: usize,
    mut take: impl FnMut(Item) -> Result<Option<T>, Error>,
) -> Result<(Vec<T>, Option<BTreeMap<String, String>>), Error> {
    let mut taken = Vec::with_capacity(rows);
    let mut fresh = true;
    while taken.len() < rows {
        let Chunk { items, resume } = table
            .query_chunk(partition, start, chunk_size(rows - taken.len(), &mut fresh))
            .await?;
        let count = items.len();
        for (index, item) in items.into_iter().enumerate() {
            let key = partition.resume_key(&item);
            if let Some(row) = take(item)? {
                taken.push(row);
                if taken.len() == rows {
                    let last = index + 1 == count && resume.is_none();
                    return Ok((taken, (!last).then_some(key)));
                }
            }
        }
        match resume {
            Some(next) => start = Some(next),
            None => break,
        }
    }
    Ok((taken, None))
}

/// Whether a branch-bound viewer may see this ticket: it was issued, redeemed or returned
/// at the viewer's branch.
fn visible(ticket: &Ticket, viewer_branch: Option<&BranchCode>) -> bool {
    let Some(branch) = viewer_branch else {
        return true;
    };
    [
        &ticket.issued_branch,
        &ticket.redeemed_branch,
        &ticket.returned_branch,
    ]
    .into_iter()
    .any(|b| b.as_ref() == Some(branch))
}

impl TicketReport {
    /// Up to `rows` tickets after `cursor`.
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        let cursor = Cursor::decode(cursor)?;
        let rows = rows.max(1);
        match &self.query {
            TicketQuery::ByDate(filter) => match filter.date_type {
                DateType::Issued => {
                    self.issued_between(
                        table,
                        &filter.range,
                        |t| filter.admits(t),
                        cursor,
                        rows,
                        now,
                    )
                    .await
                }
                DateType::Redeemed | DateType::Returned => {
                    self.operated_between(table, filter, cursor, rows, now)
                        .await
                }
            },
            TicketQuery::ByNumbers { ticket_nos } => {
                self.numbered(table, ticket_nos, cursor, rows, now).await
            }
            TicketQuery::ByOrders { import_nos } => {
                self.of_orders(table, import_nos, cursor, rows, now).await
            }
            TicketQuery::ByHolder { range, holder } => {
                let viewer = self.viewer_branch.as_ref();
                self.issued_between(
                    table,
                    range,
                    |t| holder.matches(t) && visible(t, viewer),
                    cursor,
                    rows,
                    now,
                )
                .await
            }
        }
    }

    /// By issue date: the merchant's tickets in issue order (GSI1), filtered.
    async fn issued_between(
        &self,
        table: &Table,
        range: &DayRange,
        keep: impl Fn(&Ticket) -> bool,
        cursor: Cursor,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        let (start, end) = range.instants();
        // "{end}" sorts before every "{end}#number": the upper bound is exclusive.
        let partition = Partition::tickets_issued(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        let (tickets, more) =
            fill_page(table, &partition, cursor.start(&partition)?, rows, |item| {
                let ticket = from_item::<Ticket>(item)?.as_of(now).0;
                Ok(keep(&ticket).then_some(ticket))
            })
            .await?;
        Ok(TicketPage {
            tickets,
            next: more.map(|key| {
                Cursor {
                    key,
                    ..Cursor::default()
                }
                .encode()
            }),
        })
    }

    /// By redemption or return date: the merchant's report events day by day, each ticket
    /// once, on the day of the redemption (or return) in force. A cancelled one has none,
    /// so the ticket drops out.
    async fn operated_between(
        &self,
        table: &Table,
        filter: &TicketFilter,
        cursor: Cursor,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        let operation = match filter.date_type {
            DateType::Redeemed => "redeem",
            _ => "return",
        };
        let (tickets, next) = events_between(
            table,
            &self.owner,
            &filter.range,
            cursor,
            rows,
            now,
            |event| event.operation == operation && event.issuer == self.owner,
            |event, ticket| {
                let in_force = match filter.date_type {
                    DateType::Redeemed => ticket.redeemed_at,
                    _ => ticket.returned_at,
                };
                in_force == Some(event.at) && filter.admits(ticket)
            },
        )
        .await?;
        Ok(TicketPage { tickets, next })
    }

    /// By ticket numbers: the ones that are this merchant's (and visible), in the order
    /// given.
    async fn numbered(
        &self,
        table: &Table,
        numbers: &[TicketNumber],
        cursor: Cursor,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        if cursor.index > numbers.len() {
            return Err(bad_cursor());
        }
        let rest = &numbers[cursor.index..];
        let found: HashMap<TicketNumber, Ticket> = table
            .get_tickets(rest)
            .await?
            .into_iter()
            .filter(|t| t.merchant_id == self.owner && visible(t, self.viewer_branch.as_ref()))
            .map(|t| (t.ticket_no.clone(), t.as_of(now).0))
            .collect();
        let mut tickets = Vec::new();
        for (offset, number) in rest.iter().enumerate() {
            if let Some(ticket) = found.get(number) {
                tickets.push(ticket.clone());
                if tickets.len() == rows && cursor.index + offset + 1 < numbers.len() {
                    let next = Cursor {
                        index: cursor.index + offset + 1,
                        ..Cursor::default()
                    };
                    return Ok(TicketPage {
                        tickets,
                        next: Some(next.encode()),
                    });
                }
            }
        }
        Ok(TicketPage {
            tickets,
            next: None,
        })
    }

    /// By issued orders: each order's tickets in number order (GSI2), order after order.
    async fn of_orders(
        &self,
        table: &Table,
        import_nos: &[String],
        cursor: Cursor,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        if cursor.index >= import_nos.len() && !(cursor.index == 0 && import_nos.is_empty()) {
            return Err(bad_cursor());
        }
        let mut tickets = Vec::with_capacity(rows);
        for (index, import_no) in import_nos.iter().enumerate().skip(cursor.index) {
            let partition = Partition::tickets_of_issued_order(self.owner.as_str(), import_no);
            let start = match index == cursor.index {
                true => cursor.start(&partition)?,
                false => None,
            };
            let (found, more) = fill_page(table, &partition, start, rows - tickets.len(), |item| {
                let ticket = from_item::<Ticket>(item)?.as_of(now).0;
                Ok(visible(&ticket, self.viewer_branch.as_ref()).then_some(ticket))
            })
            .await?;
            tickets.extend(found);
            if let Some(key) = more {
                let next = Cursor {
                    index,
                    key,
                    ..Cursor::default()
                };
                return Ok(TicketPage {
                    tickets,
                    next: Some(next.encode()),
                });
            }
            if tickets.len() == rows {
                // This order is done; the next page starts with the next one.
                let next = (index + 1 < import_nos.len()).then(|| {
                    Cursor {
                        index: index + 1,
                        ..Cursor::default()
                    }
                    .encode()
                });
                return Ok(TicketPage { tickets, next });
            }
        }
        Ok(TicketPage {
            tickets,
            next: None,
        })
    }
}

/// Walks `owner`'s report events of the range's days, reading the tickets of those
/// `wanted` admits, and keeps the tickets (as of `now`) `keep` admits with their event,
/// until `rows` are kept: what the reports by operation date share.
#[allow(clippy::too_many_arguments)]
async fn events_between(
    table: &Table,
    owner: &MerchantId,
    range: &DayRange,
    cursor: Cursor,
    rows: usize,
    now: DateTime<Utc>,
    wanted: impl Fn(&TicketEvent) -> bool,
    keep: impl Fn(&TicketEvent, &Ticket) -> bool,
) -> Result<(Vec<Ticket>, Option<String>), Error> {
    let first_day = match cursor.day {
        Some(day) if day >= range.from && day <= range.to => day,
        Some(_) => return Err(bad_cursor()),
        None => range.from,
    };
    let mut tickets = Vec::with_capacity(rows);
    let mut fresh = true;
    let mut cursor_key = Some(cursor);
    for day in range.days().filter(|d| *d >= first_day) {
        let partition = Partition::table(keys::ticket_events(owner.as_str(), day), None);
        let mut resume = match cursor_key.take() {
            Some(cursor) if cursor.day == Some(day) => cursor.start(&partition)?,
            _ => None,
        };
        loop {
            let Chunk {
                items,
                resume: next,
            } = table
                .query_chunk(
                    &partition,
                    resume,
                    chunk_size(rows - tickets.len(), &mut fresh),
                )
                .await?;
            let events: Vec<(BTreeMap<String, String>, TicketEvent)> = items
                .into_iter()
                .map(|item| Ok((partition.resume_key(&item), from_item(item)?)))
                .collect::<Result<_, Error>>()?;
            let numbers: Vec<TicketNumber> = events
                .iter()
                .filter(|(_, e)| wanted(e))
                .map(|(_, e)| e.ticket_no.clone())
                .collect();
            let found: HashMap<TicketNumber, Ticket> = table
                .get_tickets(&numbers)
                .await?
                .into_iter()
                .map(|t| (t.ticket_no.clone(), t.as_of(now).0))
                .collect();
            for (key, event) in events {
                if !wanted(&event) {
                    continue;
                }
                let Some(ticket) = found.get(&event.ticket_no) else {
                    continue;
                };
                if !keep(&event, ticket) {
                    continue;
                }
                tickets.push(ticket.clone());
                if tickets.len() == rows {
                    let next = Cursor {
                        day: Some(day),
                        key,
                        ..Cursor::default()
                    };
                    return Ok((tickets, Some(next.encode())));
                }
            }
            match next {
                Some(next) => resume = Some(next),
                None => break,
            }
        }
    }
    Ok((tickets, None))
}

/// The cross-store report (跨店核銷報表): tickets of other issuers this merchant redeemed
/// as their redeemable store, on the day of the redemption in force (a cancelled one drops
/// out), at the visible branch, of one issuer if asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossStoreReport {
    pub owner: MerchantId,
    pub range: DayRange,
    #[serde(default)]
    pub issuer: Option<MerchantId>,
    pub branch: BranchScope,
}

impl CrossStoreReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, Error> {
        let owner = &self.owner;
        let (tickets, next) = events_between(
            table,
            owner,
            &self.range,
            Cursor::decode(cursor)?,
            rows.max(1),
            now,
            |event| {
                event.operation == "redeem"
                    && &event.by_merchant == owner
                    && &event.issuer != owner
                    && self.issuer.as_ref().is_none_or(|i| i == &event.issuer)
            },
            |event, ticket| {
                ticket.redeemed_by.as_ref() == Some(owner)
                    && ticket.redeemed_at == Some(event.at)
                    && self.branch.admits(ticket.redeemed_branch.as_ref())
            },
        )
        .await?;
        Ok(TicketPage { tickets, next })
    }
}

/// The branch report (分店報表): every redemption, return and cancellation a branch made,
/// in time order, from its events (GSI2), as they happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchReport {
    pub owner: MerchantId,
    pub branch: BranchCode,
    pub range: DayRange,
}

/// A page of a branch's operations.
pub struct EventPage {
    pub events: Vec<TicketEvent>,
    pub next: Option<String>,
}

impl BranchReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<EventPage, Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::branch_events(
            self.owner.as_str(),
            self.branch.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        let start = Cursor::decode(cursor)?.start(&partition)?;
        let (events, more) = fill_page(table, &partition, start, rows.max(1), |item| {
            from_item::<TicketEvent>(item).map(Some)
        })
        .await?;
        Ok(EventPage {
            events,
            next: more.map(|key| {
                Cursor {
                    key,
                    ..Cursor::default()
                }
                .encode()
            }),
        })
    }
}

/// The SMS log (簡訊發送紀錄, §7-3 L): every SMS sent in the range, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsLogReport {
    pub owner: MerchantId,
    pub range: DayRange,
    /// Only this buyer: a name (exactly) or a mobile number.
    #[serde(default)]
    pub buyer: Option<String>,
    /// Only texts sent for this reason (`issue`, `change_buyer`, `resend`).
    #[serde(default)]
    pub purpose: Option<String>,
}

impl SmsLogReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::sms_log(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let sms: SmsLogEntry = from_item(item)?;
            let buyer = self
                .buyer
                .as_deref()
                .is_none_or(|b| sms.buyer_name == b || sms.to == b);
            let purpose = self.purpose.as_deref().is_none_or(|p| sms.purpose == p);
            Ok((buyer && purpose)
                .then(|| sms_log_cells(sms.at, &sms.buyer_name, &sms.to, &sms.purpose, &sms.body)))
        })
        .await
    }
}

/// One page of a report whose rows are the items of one partition in key order (a
/// timeline between two instants), each item one row (or none, when `row` leaves it out: a filter), and the cursor of the next page.
async fn timeline_page(
    table: &Table,
    partition: &Partition,
    cursor: Option<&str>,
    rows: usize,
    row: impl Fn(Item) -> Result<Option<Vec<String>>, Error>,
) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
    let start = Cursor::decode(cursor)?.start(partition)?;
    let (cells, more) = fill_page(table, partition, start, rows.max(1), row).await?;
    let next = more.map(|key| {
        Cursor {
            key,
            ..Cursor::default()
        }
        .encode()
    });
    Ok((cells, next))
}

/// The issued orders (發行訂單, §7-3 C) issued in a range of Taipei days (at most 3 months),
/// oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedOrdersReport {
    pub owner: MerchantId,
    pub range: DayRange,
    /// A branch-bound viewer's branch: only the orders it issued.
    #[serde(default)]
    pub branch: Option<BranchCode>,
    /// Only this buyer: a name (exactly) or a mobile number.
    #[serde(default)]
    pub buyer: Option<String>,
    #[serde(default)]
    pub delivery_method: Option<tessera_domain::merchant::DeliveryMethod>,
    /// Only this import number or merchant order number.
    #[serde(default)]
    pub order_no: Option<String>,
}

impl IssuedOrdersReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::issued_orders(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let order: IssuedOrderRecord = from_item(item)?;
            let wanted = (self.branch.is_none() || order.branch == self.branch)
                && self
                    .buyer
                    .as_deref()
                    .is_none_or(|b| order.buyer_name == b || order.buyer_mobile == b)
                && self
                    .delivery_method
                    .is_none_or(|m| order.delivery_method == m)
                && self.order_no.as_deref().is_none_or(|n| {
                    order.import_no == n || order.trade_no.as_ref().is_some_and(|t| t.as_str() == n)
                });
            if !wanted {
                return Ok(None);
            }
            Ok(Some(issued_order_cells(&IssuedOrderRow {
                issued_at: order.issued_at,
                import_no: &order.import_no,
                trade_no: order.trade_no.as_ref().map(|t| t.as_str()),
                product_id: order.product_id.as_str(),
                quantity: order.quantity,
                face_value: order.face_value,
                delivery_method: order.delivery_method,
                buyer_name: &order.buyer_name,
                buyer_mobile: &order.buyer_mobile,
                remark: order.remark.as_deref(),
            })))
        })
        .await
    }
}

/// The merchant's own paper tickets (紙本票券列印, §7-3 D) issued in a range of Taipei days
/// (at most 3 months), printed or not or both, oldest first. Read from GSI3 (keys only),
/// each chunk's tickets in one batched read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperTicketsReport {
    pub owner: MerchantId,
    pub range: DayRange,
    /// `Some(true)`: printed at least once; `Some(false)`: never printed.
    #[serde(default)]
    pub printed: Option<bool>,
    /// A branch-bound viewer's branch: only the tickets it issued.
    #[serde(default)]
    pub branch: Option<BranchCode>,
}

impl PaperTicketsReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::paper_tickets(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        let rows = rows.max(1);
        let mut start = Cursor::decode(cursor)?.start(&partition)?;
        let mut cells = Vec::with_capacity(rows);
        let mut fresh = true;
        loop {
            let Chunk { items, resume } = table
                .query_chunk(
                    &partition,
                    start,
                    chunk_size(rows - cells.len(), &mut fresh),
                )
                .await?;
            let keyed: Vec<(&Item, TicketNumber)> = items
                .iter()
                .filter_map(|item| match item.get(keys::PK) {
                    Some(aws_sdk_dynamodb::types::AttributeValue::S(pk)) => pk
                        .strip_prefix(keys::TICKET_PARTITION_PREFIX)
                        .and_then(|no| TicketNumber::parse("ticket_no", no).ok())
                        .map(|no| (item, no)),
                    _ => None,
                })
                .collect();
            let numbers: Vec<TicketNumber> = keyed.iter().map(|(_, no)| no.clone()).collect();
            let tickets: HashMap<TicketNumber, Ticket> = table
                .get_tickets(&numbers)
                .await?
                .into_iter()
                .map(|t| (t.ticket_no.clone(), t))
                .collect();
            let count = keyed.len();
            for (index, (item, no)) in keyed.into_iter().enumerate() {
                let Some(stored) = tickets.get(&no) else {
                    continue;
                };
                let (ticket, _) = stored.as_of(now);
                let printed = ticket.print_count > 0;
                if self.printed.is_some_and(|want| want != printed)
                    || (self.branch.is_some() && ticket.issued_branch != self.branch)
                {
                    continue;
                }
                cells.push(paper_ticket_cells(&ticket));
                if cells.len() == rows {
                    let last = index + 1 == count && resume.is_none();
                    let next = (!last).then(|| {
                        Cursor {
                            key: partition.resume_key(item),
                            ..Cursor::default()
                        }
                        .encode()
                    });
                    return Ok((cells, next));
                }
            }
            match resume {
                Some(next) => start = Some(next),
                None => return Ok((cells, None)),
            }
        }
    }
}

/// The transfer records (電子票券轉贈紀錄, §7-3 K) of a range of Taipei days (at most 3
/// months), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransfersReport {
    pub owner: MerchantId,
    pub range: DayRange,
    /// A branch-bound viewer's branch: only transfers of the orders it issued.
    #[serde(default)]
    pub branch: Option<BranchCode>,
}

impl TransfersReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::transfers(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let transfer: tessera_domain::transfers::Transfer = from_item(item)?;
            Ok((self.branch.is_none() || transfer.branch == self.branch)
                .then(|| transfer_cells(&transfer)))
        })
        .await
    }
}

/// The return-fee report (退貨作業費報表, §6-3): every fee-bearing return of a range of
/// Taipei days (at most 3 months) with the rate of its day and its fee. A page holds whole
/// days (at least one), so a day's lines are never split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnFeesReport {
    pub owner: MerchantId,
    pub range: DayRange,
    /// A branch-bound viewer's branch: only the returns it made.
    #[serde(default)]
    pub branch: Option<BranchCode>,
    /// The merchant is in installment mode: one line per returned order (§6-3).
    #[serde(default)]
    pub installment: bool,
}

impl ReturnFeesReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let cursor = Cursor::decode(cursor)?;
        let first = cursor.day.unwrap_or(self.range.from);
        if first < self.range.from || first > self.range.to {
            return Err(bad_cursor());
        }
        let (contract, rates) = tokio::try_join!(
            table.get_contract(&self.owner),
            table.list_rates(&self.owner)
        )?;
        let mode = tessera_domain::merchant::redemption_mode(contract.as_ref());
        let mut cells = Vec::new();
        let mut day = first;
        while day <= self.range.to {
            if self.installment {
                let ledger = table.installment_events(&self.owner, day).await?;
                let rate = tessera_domain::merchant::rate_in_force(
                    &rates,
                    mode,
                    tessera_domain::merchant::FeeItem::ReturnOperation,
                    day,
                );
                cells.extend(
                    tessera_domain::installment::fee_bearing_returns(&ledger)
                        .into_iter()
                        .map(|entry| installment_return_fee_cells(entry, rate)),
                );
                day += chrono::Duration::days(1);
                if cells.len() >= rows.max(1) {
                    break;
                }
                continue;
            }
            let events: Vec<_> = table
                .ticket_events(&self.owner, day)
                .await?
                .into_iter()
                .filter(|e| e.issuer == self.owner)
                .collect();
            cells.extend(
                tessera_domain::billing::return_fee_lines(day, mode, &rates, &events)
                    .iter()
                    .filter(|line| self.branch.is_none() || line.branch == self.branch)
                    .map(return_fee_cells),
            );
            day += chrono::Duration::days(1);
            if cells.len() >= rows.max(1) {
                break;
            }
        }
        let next = (day <= self.range.to).then(|| {
            Cursor {
                day: Some(day),
                ..Cursor::default()
            }
            .encode()
        });
        Ok((cells, next))
    }
}

/// The installment orders (分期核銷訂單報表 > 訂單明細, §八 8-3 C) issued in a range of
/// Taipei days (at most 3 months), oldest first; optionally of one status or trade number.
/// Read from the order items alone (their status and figures are kept with them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallmentOrdersReport {
    pub owner: MerchantId,
    pub range: DayRange,
    #[serde(default)]
    pub status: Option<SerialStatus>,
    #[serde(default)]
    pub trade_no: Option<TradeNo>,
}

impl InstallmentOrdersReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::installment_orders(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let stored: StoredInstallmentOrder = from_item(item)?;
            let wanted = self.status.is_none_or(|s| stored.status == s)
                && self.trade_no.as_ref().is_none_or(|t| *t == stored.trade_no);
            if !wanted {
                return Ok(None);
            }
            Ok(Some(installment_order_cells(&InstallmentOrderRow {
                issued_at: stored.issued_at,
                trade_no: &stored.trade_no,
                product_id: &stored.product_id,
                cardholder_name: &stored.cardholder_name,
                cardholder_mobile: &stored.cardholder_mobile,
                status: stored.status,
                amount: stored.amount,
                figures: &stored.figures,
                last_expected_on: stored.last_expected_on,
                standing_return: stored.returns.iter().rev().find(|r| r.is_standing()),
            })))
        })
        .await
    }
}

/// The installment serials (各期序號明細) expected in a range of Taipei days (at most 3
/// months), by expected date; optionally of one status or trade number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallmentSerialsReport {
    pub owner: MerchantId,
    pub range: DayRange,
    #[serde(default)]
    pub status: Option<SerialStatus>,
    #[serde(default)]
    pub trade_no: Option<TradeNo>,
}

impl InstallmentSerialsReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let partition = Partition::serials(
            self.owner.as_str(),
            self.range.from.to_string(),
            format!("{}#~", self.range.to),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let stored: StoredSerial = from_item(item)?;
            let wanted = self.status.is_none_or(|s| stored.serial.status == s)
                && self.trade_no.as_ref().is_none_or(|t| *t == stored.trade_no);
            if !wanted {
                return Ok(None);
            }
            Ok(Some(serial_cells(&SerialRow {
                trade_no: &stored.trade_no,
                serial: &stored.serial,
                issued_at: stored.issued_at,
                returned_at: stored.returned_at,
                return_reason: stored.return_reason.as_deref(),
            })))
        })
        .await
    }
}

/// The refund callbacks' delivery log (退款結果通知紀錄) of a range of Taipei days (at most
/// 3 months), oldest first; optionally of one status (`pending`, `delivered`, `failed`,
/// `disabled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbacksReport {
    pub owner: MerchantId,
    pub range: DayRange,
    #[serde(default)]
    pub status: Option<crate::store::webhooks::DeliveryStatus>,
}

impl CallbacksReport {
    pub async fn page(
        &self,
        table: &Table,
        cursor: Option<&str>,
        rows: usize,
    ) -> Result<(Vec<Vec<String>>, Option<String>), Error> {
        let (start, end) = self.range.instants();
        let partition = Partition::callback_deliveries(
            self.owner.as_str(),
            keys::timestamp(start),
            keys::timestamp(end),
        );
        timeline_page(table, &partition, cursor, rows, |item| {
            let delivery: crate::store::webhooks::Delivery = from_item(item)?;
            if self.status.is_some_and(|s| s != delivery.status) {
                return Ok(None);
            }
            let last = delivery.attempts.last();
            Ok(Some(callback_cells(&CallbackRow {
                created_at: delivery.created_at,
                delivery_id: &delivery.delivery_id,
                event_type: &delivery.event_type,
                url: &delivery.url,
                status: delivery.status.name(),
                attempt_count: delivery.attempt_count,
                last_attempt_at: last.map(|a| a.at),
                last_status_code: last.and_then(|a| a.status_code),
                last_error: last.and_then(|a| a.error.as_deref()),
                delivered_at: delivery.delivered_at,
            })))
        })
        .await
    }
}

/// The bill report (帳單報表): every month's bill with its fee items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillsReport {
    pub owner: MerchantId,
}

fn circulation_cells(row: &crate::circulation::CirculationRow) -> Vec<String> {
    let f = &row.figures;
    vec![
        row.day
            .map(|d| d.to_string())
            .unwrap_or_else(|| "合計".to_owned()),
        f.issued_count.to_string(),
        f.issued_amount.normalize().to_string(),
        f.redeemed_count.to_string(),
        f.redeemed_amount.normalize().to_string(),
        f.returned_count.to_string(),
        f.returned_amount.normalize().to_string(),
        row.outstanding_count.to_string(),
        row.outstanding_amount.normalize().to_string(),
    ]
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("、")
}

fn product_cells(product: &crate::store::products::ProductRecord) -> Vec<String> {
    let spec = &product.spec;
    vec![
        product.product_id.to_string(),
        spec.name.clone(),
        kind_zh_tw(spec.kind).to_owned(),
        spec.face_value.to_string(),
        spec.term_days.to_string(),
        joined(&spec.lists.redeemable_stores),
        joined(&spec.lists.redeem_branches),
        joined(&spec.lists.return_branches),
        if product.listed { "上架" } else { "下架" }.to_owned(),
        report_time(product.created_at),
    ]
}

fn branch_cells(branch: &crate::store::branches::BranchRecord) -> Vec<String> {
    vec![
        branch.code.to_string(),
        branch.name.clone(),
        branch.address.clone(),
        branch.phone.clone(),
        if branch.enabled { "啟用" } else { "停用" }.to_owned(),
        report_time(branch.created_at),
    ]
}

fn store_cells(relation: &crate::store::relations::RelationRecord) -> Vec<String> {
    use tessera_domain::relations::RelationStatus;
    let status = match relation.status {
        RelationStatus::Open => "開啟",
        RelationStatus::UnlinkedByIssuer => "發行商店已解除",
        RelationStatus::UnlinkedByStore => "核銷商店已解除",
    };
    vec![
        relation.store.to_string(),
        status.to_owned(),
        report_time(relation.created_at),
        report_time(relation.updated_at),
    ]
}

/// A report's request could not be read back (written by an older version, or damaged).
pub fn unreadable_request(error: serde_json::Error) -> Error {
    Error::new(ErrorCode::InternalError).with_detail(format!("export request: {error}"))
}
