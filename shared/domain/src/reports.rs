//! Reports (§8, manual §7-3 J): what a report may ask for (ranges, filters, visibility) and
//! what its rows say, with the column headers the manual uses. Pure: the platform reads the
//! items, this module decides which of them a report shows and how.

use crate::access::Actor;
use crate::calendar;
use crate::error::{Error, ErrorCode, Violation};
use crate::merchant::DeliveryMethod;
use crate::products::TicketKind;
use crate::ticket::Ticket;
use crate::tickets::TicketStatus;
use crate::values::BranchCode;
use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The longest range a date query may span (查詢範圍不可超過三個月).
pub const MAX_RANGE_MONTHS: u32 = 3;
/// Rows in one page of a report, by default and at most.
pub const DEFAULT_PAGE_ROWS: usize = 100;
pub const MAX_PAGE_ROWS: usize = 500;
/// Ticket numbers or import numbers one lookup may name.
pub const MAX_LOOKUP_NUMBERS: usize = 100;

/// A range of Taipei days, `from` to `to` inclusive, at most three months long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    /// `from` ≤ `to`, and `to` no later than the same day three months after `from`.
    pub fn parse(from: NaiveDate, to: NaiveDate) -> Result<DayRange, Error> {
        if to < from {
            return Err(Error::invalid_field("to", "must not be before from"));
        }
        let limit = from
            .checked_add_months(Months::new(MAX_RANGE_MONTHS))
            .unwrap_or(NaiveDate::MAX);
        if to > limit {
            return Err(Error::invalid_field(
                "to",
                format!(
                    "a query spans at most {MAX_RANGE_MONTHS} months: {from} to {limit} at the latest"
                ),
            ));
        }
        Ok(DayRange { from, to })
    }

    /// The instants the days cover: from 00:00 Taipei of `from` to 00:00 of the day after
    /// `to` (exclusive).
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            calendar::start_of_day(self.from),
            calendar::end_of_day_exclusive(self.to),
        )
    }

    /// Every day of the range, oldest first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let to = self.to;
        self.from.iter_days().take_while(move |day| *day <= to)
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let (start, end) = self.instants();
        start <= at && at < end
    }
}

/// Which date of a ticket a query by date looks at (日期類型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateType {
    /// The day it was issued (發行日期).
    Issued,
    /// The day of the redemption in force (核銷日期).
    Redeemed,
    /// The day of the return in force (退貨日期).
    Returned,
}

/// Where the operation a query by date looks at happened (操作分店類型).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "branch")]
pub enum BranchScope {
    All,
    HeadOffice,
    Branch(BranchCode),
}

impl BranchScope {
    /// The scope a caller may query: a branch-bound sub-account sees its own branch only,
    /// and asking for anything else is refused rather than silently narrowed.
    pub fn visible_to(actor: &Actor, requested: BranchScope) -> Result<BranchScope, Error> {
        let Some(own) = &actor.branch else {
            return Ok(requested);
        };
        match requested {
            BranchScope::All => Ok(BranchScope::Branch(own.clone())),
            BranchScope::Branch(code) if &code == own => Ok(BranchScope::Branch(code)),
            _ => Err(Error::new(ErrorCode::OtherBranch)
                .with_detail(format!("this account sees branch {own} only"))),
        }
    }

    pub fn admits(&self, branch: Option<&BranchCode>) -> bool {
        match self {
            BranchScope::All => true,
            BranchScope::HeadOffice => branch.is_none(),
            BranchScope::Branch(code) => branch == Some(code),
        }
    }
}

/// The coarse status a query may choose before its detailed statuses (票券狀態).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusGroup {
    Unused,
    Redeemed,
    Returned,
    Expired,
}

impl StatusGroup {
    pub fn of(status: TicketStatus) -> StatusGroup {
        use TicketStatus::*;
        match status {
            Unused | UnusedEscrowExpired => StatusGroup::Unused,
            Used | Redeeming | Redeemed | RedeemedAfterExpiry => StatusGroup::Redeemed,
            PendingReturn | Returning | Returned | ReturnedEscrowExpired => StatusGroup::Returned,
            Expired => StatusGroup::Expired,
        }
    }
}

/// The manual's name of each status (§7-3 J 注意事項).
pub fn status_zh_tw(status: TicketStatus) -> &'static str {
    use TicketStatus::*;
    match status {
        Unused => "未使用",
        UnusedEscrowExpired => "未使用且價金保管逾期",
        Used => "已使用",
        Redeeming => "核銷中",
        Redeemed => "已核銷",
        RedeemedAfterExpiry => "逾期兌回",
        PendingReturn => "待退貨",
        Returning => "退貨中",
        Returned => "已退貨",
        ReturnedEscrowExpired => "已退貨且價金保管逾期",
        Expired => "已逾期",
    }
}

/// The manual's name of each delivery method (發行方式).
pub fn delivery_method_zh_tw(method: DeliveryMethod) -> &'static str {
    match method {
        DeliveryMethod::Ibon => "超商票券（ibon）",
        DeliveryMethod::PaperByPlatform => "紙本票券（平台印製）",
        DeliveryMethod::PaperByMerchant => "紙本票券（廠商自印）",
        DeliveryMethod::ElectronicImmediate => "電子票券（立即發送）",
        DeliveryMethod::ElectronicDeferred => "電子票券（延後發送）",
    }
}

/// The manual's name of each ticket kind.
pub fn kind_zh_tw(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::GoodsVoucher => "提貨券",
        TicketKind::GiftVoucher => "贈品券",
    }
}

/// What a ticket report by date keeps, besides its day range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketFilter {
    pub date_type: DateType,
    pub range: DayRange,
    pub branch: BranchScope,
    /// Detailed statuses to keep (empty: all), read as of the query's time.
    #[serde(default)]
    pub statuses: Vec<TicketStatus>,
    /// Delivery methods to keep (empty: all).
    #[serde(default)]
    pub delivery_methods: Vec<DeliveryMethod>,
}

impl TicketFilter {
    /// Whether the report by date shows this ticket (already read as of now): its date of
    /// the chosen type falls in the range, at the chosen branch, in a chosen status and
    /// delivery method. A cancelled redemption or return leaves no date: the ticket drops
    /// out of the day it had.
    pub fn admits(&self, ticket: &Ticket) -> bool {
        let (at, branch) = match self.date_type {
            DateType::Issued => (Some(ticket.issued_at), ticket.issued_branch.as_ref()),
            DateType::Redeemed => (ticket.redeemed_at, ticket.redeemed_branch.as_ref()),
            DateType::Returned => (ticket.returned_at, ticket.returned_branch.as_ref()),
        };
        at.is_some_and(|at| self.range.contains(at))
            && self.branch.admits(branch)
            && (self.statuses.is_empty() || self.statuses.contains(&ticket.status))
            && (self.delivery_methods.is_empty()
                || self.delivery_methods.contains(&ticket.delivery_method))
    }
}

/// Who a query by holder looks for (持票人查詢): the latest holder's name, mobile, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderQuery {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mobile: Option<crate::values::TaiwanMobile>,
}

impl HolderQuery {
    /// A name (as typed, trimmed) and/or a Taiwan mobile number; at least one.
    pub fn parse(name: Option<&str>, mobile: Option<&str>) -> Result<HolderQuery, Error> {
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        let mobile = mobile
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| crate::values::TaiwanMobile::parse("holder_mobile", m))
            .transpose()?;
        if name.is_none() && mobile.is_none() {
            return Err(Error::invalid_field(
                "holder_name",
                "a holder's name or mobile number (or both)",
            ));
        }
        if name.is_some_and(|n| n.chars().count() > 30) {
            return Err(Error::invalid_field("holder_name", "at most 30 characters"));
        }
        Ok(HolderQuery {
            name: name.map(str::to_owned),
            mobile,
        })
    }

    /// Whether the ticket's latest holder is this one.
    pub fn matches(&self, ticket: &Ticket) -> bool {
        self.name.as_deref().is_none_or(|n| ticket.holder.name == n)
            && self
                .mobile
                .as_ref()
                .is_none_or(|m| ticket.holder.mobile == m.as_str())
    }
}

/// The column groups a ticket report may show besides the ticket's own (顯示資訊).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnGroup {
    /// 訂單資訊: the order, the buyer, the return.
    Order,
    /// 操作人員: who redeemed and returned it, where.
    Operator,
    /// 持票人資訊: the latest holder.
    Holder,
}

/// A report column: a stable id (the JSON field) and the manual's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub id: &'static str,
    pub header: &'static str,
}

const fn column(id: &'static str, header: &'static str) -> Column {
    Column { id, header }
}

const TICKET_COLUMNS: &[Column] = &[
    column("ticket_no", "票券序號"),
    column("product_id", "商品編號"),
    column("product_name", "商品名稱"),
    column("kind", "票券類型"),
    column("face_value", "票面金額"),
    column("status", "票券狀態"),
    column("delivery_method", "發行方式"),
    column("issued_at", "發行日期"),
    column("issued_branch", "發行分店"),
    column("term_ends_on", "到期日"),
];
const ORDER_COLUMNS: &[Column] = &[
    column("import_no", "匯入單號"),
    column("trade_no", "廠商訂單編號"),
    column("buyer_name", "購買人姓名"),
    column("buyer_mobile", "購買人手機"),
    column("returned_at", "退貨日期"),
    column("return_fee", "退貨手續費"),
    column("transfer_id", "轉贈單號"),
    column("return_requested_at", "申請退貨日期"),
    column("return_request_reason", "申請退貨原因"),
];
const OPERATOR_COLUMNS: &[Column] = &[
    column("redeemed_at", "核銷日期"),
    column("redeemed_by", "核銷商店"),
    column("redeemed_branch", "核銷分店"),
    column("returned_branch", "退貨分店"),
];
const HOLDER_COLUMNS: &[Column] = &[
    column("holder_name", "持票人姓名"),
    column("holder_mobile", "持票人手機"),
];

/// The columns of a ticket report showing `groups` (the ticket's own always first).
pub fn ticket_columns(groups: &[ColumnGroup]) -> Vec<Column> {
    let mut columns = TICKET_COLUMNS.to_vec();
    for (group, extra) in [
        (ColumnGroup::Order, ORDER_COLUMNS),
        (ColumnGroup::Operator, OPERATOR_COLUMNS),
        (ColumnGroup::Holder, HOLDER_COLUMNS),
    ] {
        if groups.contains(&group) {
            columns.extend_from_slice(extra);
        }
    }
    columns
}

/// A mobile number as a report shows it: the middle digits hidden (0912***678), as the
/// manual's screens show personal data.
pub fn masked_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (&chars[..4], &chars[chars.len() - 3..]);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(chars.len() - 7),
        tail.iter().collect::<String>()
    )
}

fn taipei_time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| {
        at.with_timezone(&calendar::TAIPEI)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    })
    .unwrap_or_default()
}

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// One row of the ticket report: the text of each of [`ticket_columns`]`(groups)`, in
/// that order. Times are Taipei times; an empty cell is an empty string.
pub fn ticket_cells(ticket: &Ticket, groups: &[ColumnGroup]) -> Vec<String> {
    let mut cells = vec![
        ticket.ticket_no.to_string(),
        ticket.product_id.to_string(),
        ticket.product_name.clone(),
        kind_zh_tw(ticket.kind).to_owned(),
        ticket.face_value.to_string(),
        status_zh_tw(ticket.status).to_owned(),
        delivery_method_zh_tw(ticket.delivery_method).to_owned(),
        taipei_time(Some(ticket.issued_at)),
        text(ticket.issued_branch.as_ref()),
        ticket.term_ends_on.to_string(),
    ];
    if groups.contains(&ColumnGroup::Order) {
        cells.extend([
            ticket.import_no.clone(),
            text(ticket.trade_no.as_ref()),
            ticket.buyer.name.clone(),
            masked_mobile(&ticket.buyer.mobile),
            taipei_time(ticket.returned_at),
            text(ticket.return_fee),
            text(ticket.transfer_id.as_ref()),
            taipei_time(ticket.return_requested_at),
            text(ticket.return_request_reason.as_ref()),
        ]);
    }
    if groups.contains(&ColumnGroup::Operator) {
        cells.extend([
            taipei_time(ticket.redeemed_at),
            text(ticket.redeemed_by.as_ref()),
            text(ticket.redeemed_branch.as_ref()),
            text(ticket.returned_branch.as_ref()),
        ]);
    }
    if groups.contains(&ColumnGroup::Holder) {
        cells.extend([
            ticket.holder.name.clone(),
            masked_mobile(&ticket.holder.mobile),
        ]);
    }
    cells
}

const CROSS_STORE_COLUMNS: &[Column] = &[
    column("ticket_no", "票券序號"),
    column("issuer", "發行商店"),
    column("product_name", "商品名稱"),
    column("face_value", "票面金額"),
    column("redeemed_at", "核銷日期"),
    column("redeemed_branch", "核銷分店"),
    column("status", "票券狀態"),
];

/// The columns of the cross-store report: what a redeeming store may know of another
/// issuer's ticket (nothing of its buyer or order).
pub fn cross_store_columns() -> &'static [Column] {
    CROSS_STORE_COLUMNS
}

pub fn cross_store_cells(ticket: &Ticket) -> Vec<String> {
    vec![
        ticket.ticket_no.to_string(),
        ticket.merchant_id.to_string(),
        ticket.product_name.clone(),
        ticket.face_value.to_string(),
        taipei_time(ticket.redeemed_at),
        text(ticket.redeemed_branch.as_ref()),
        status_zh_tw(ticket.status).to_owned(),
    ]
}

const BRANCH_EVENT_COLUMNS: &[Column] = &[
    column("at", "操作時間"),
    column("operation", "操作"),
    column("ticket_no", "票券序號"),
    column("issuer", "發行商店"),
    column("product_id", "商品編號"),
    column("face_value", "票面金額"),
    column("fee", "退貨手續費"),
];

/// The columns of the branch report: one row per operation the branch made.
pub fn branch_event_columns() -> &'static [Column] {
    BRANCH_EVENT_COLUMNS
}

/// The manual's name of an operation a till makes.
pub fn operation_zh_tw(operation: &str) -> &str {
    match operation {
        "redeem" => "核銷",
        "cancel_redemption" => "取消核銷",
        "return" => "退貨",
        "cancel_return" => "取消退貨",
        other => other,
    }
}

pub fn branch_event_cells(event: &crate::ticket::TicketEvent) -> Vec<String> {
    vec![
        taipei_time(Some(event.at)),
        operation_zh_tw(&event.operation).to_owned(),
        event.ticket_no.to_string(),
        event.issuer.to_string(),
        event.product_id.to_string(),
        event.face_value.to_string(),
        text(event.fee),
    ]
}

const SMS_LOG_COLUMNS: &[Column] = &[
    column("sent_at", "發送時間"),
    column("buyer_name", "購買人姓名"),
    column("mobile", "手機號碼"),
    column("purpose", "發送原因"),
    column("body", "簡訊內容"),
];

/// The columns of the SMS log (簡訊發送紀錄, §7-3 L).
pub fn sms_log_columns() -> &'static [Column] {
    SMS_LOG_COLUMNS
}

/// One SMS as the log shows it: the mobile masked as on every report.
pub fn sms_log_cells(
    sent_at: DateTime<Utc>,
    buyer_name: &str,
    mobile: &str,
    purpose: &str,
    body: &str,
) -> Vec<String> {
    vec![
        taipei_time(Some(sent_at)),
        buyer_name.to_owned(),
        masked_mobile(mobile),
        crate::messages::SmsPurpose::parse(purpose)
            .map(|p| p.name_zh_tw().to_owned())
            .unwrap_or_else(|| purpose.to_owned()),
        body.to_owned(),
    ]
}

const PAPER_TICKET_COLUMNS: &[Column] = &[
    column("issued_at", "發行時間"),
    column("ticket_no", "票券序號"),
    column("import_no", "匯入序號"),
    column("product_name", "商品名稱"),
    column("face_value", "面額"),
    column("status", "票券狀態"),
    column("buyer_name", "購買人姓名"),
    column("buyer_mobile", "購買人手機"),
    column("print_count", "列印次數"),
];

/// The columns of the paper-printing list (紙本票券列印, §7-3 D).
pub fn paper_ticket_columns() -> &'static [Column] {
    PAPER_TICKET_COLUMNS
}

/// One paper ticket as the printing list shows it.
pub fn paper_ticket_cells(ticket: &Ticket) -> Vec<String> {
    vec![
        taipei_time(Some(ticket.issued_at)),
        ticket.ticket_no.to_string(),
        ticket.import_no.clone(),
        ticket.product_name.clone(),
        ticket.face_value.to_string(),
        status_zh_tw(ticket.status).to_owned(),
        ticket.buyer.name.clone(),
        masked_mobile(&ticket.buyer.mobile),
        ticket.print_count.to_string(),
    ]
}

const TRANSFER_COLUMNS: &[Column] = &[
    column("transferred_at", "轉贈時間"),
    column("transfer_id", "轉贈單號"),
    column("import_no", "匯入序號"),
    column("tickets", "轉贈張數"),
    column("giver_name", "購買人姓名"),
    column("giver_mobile", "購買人手機"),
    column("recipient_name", "受贈人姓名"),
    column("recipient_mobile", "受贈人手機"),
    column("status", "狀態"),
    column("cancelled_at", "取消轉贈時間"),
];

/// The columns of the transfer records (電子票券轉贈紀錄, §7-3 K).
pub fn transfer_columns() -> &'static [Column] {
    TRANSFER_COLUMNS
}

/// One transfer as the records show it, mobiles masked as on every report.
pub fn transfer_cells(transfer: &crate::transfers::Transfer) -> Vec<String> {
    vec![
        taipei_time(Some(transfer.at)),
        transfer.transfer_id.clone(),
        transfer.import_no.clone(),
        transfer.ticket_nos.len().to_string(),
        transfer.giver.name.clone(),
        masked_mobile(&transfer.giver.mobile),
        transfer.recipient.name.clone(),
        masked_mobile(&transfer.recipient.mobile),
        match transfer.status {
            crate::transfers::TransferStatus::Active => "轉贈中",
            crate::transfers::TransferStatus::Cancelled => "已取消轉贈",
        }
        .to_owned(),
        taipei_time(transfer.cancelled_at),
    ]
}

const ISSUED_ORDER_COLUMNS: &[Column] = &[
    column("issued_at", "發行時間"),
    column("import_no", "匯入序號"),
    column("trade_no", "訂單編號"),
    column("product_id", "商品編號"),
    column("quantity", "發行張數"),
    column("face_value", "面額"),
    column("amount", "發行金額"),
    column("delivery_method", "交付方式"),
    column("buyer_name", "購買人姓名"),
    column("buyer_mobile", "購買人手機"),
    column("remark", "備註"),
];

/// The columns of the issued-orders list (發行訂單, §7-3 C).
pub fn issued_order_columns() -> &'static [Column] {
    ISSUED_ORDER_COLUMNS
}

/// What an issued-order row shows.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedOrderRow<'a> {
    pub issued_at: DateTime<Utc>,
    pub import_no: &'a str,
    pub trade_no: Option<&'a str>,
    pub product_id: &'a str,
    pub quantity: u32,
    pub face_value: Decimal,
    pub delivery_method: DeliveryMethod,
    pub buyer_name: &'a str,
    pub buyer_mobile: &'a str,
    pub remark: Option<&'a str>,
}

/// One issued order as the list shows it: the amount is the quantity at face value, the
/// mobile masked as on every report.
pub fn issued_order_cells(row: &IssuedOrderRow<'_>) -> Vec<String> {
    vec![
        taipei_time(Some(row.issued_at)),
        row.import_no.to_owned(),
        row.trade_no.unwrap_or_default().to_owned(),
        row.product_id.to_owned(),
        row.quantity.to_string(),
        row.face_value.to_string(),
        (row.face_value * Decimal::from(row.quantity)).to_string(),
        delivery_method_zh_tw(row.delivery_method).to_owned(),
        row.buyer_name.to_owned(),
        masked_mobile(row.buyer_mobile),
        row.remark.unwrap_or_default().to_owned(),
    ]
}

const RETURN_FEE_COLUMNS: &[Column] = &[
    column("returned_at", "退貨時間"),
    column("ticket_no", "票券序號"),
    column("product_id", "商品編號"),
    column("face_value", "面額"),
    column("rate", "費率（含稅）"),
    column("fee", "退貨作業費"),
];

/// The columns of the return-fee report (退貨作業費報表, §6-3).
pub fn return_fee_columns() -> &'static [Column] {
    RETURN_FEE_COLUMNS
}

/// One fee-bearing return as the report shows it; the rate as "NT$10/張" or "2.5%".
pub fn return_fee_cells(line: &crate::billing::ReturnFeeLine) -> Vec<String> {
    let rate = line
        .rate
        .as_ref()
        .map_or_else(String::new, |rate| match rate.basis {
            crate::merchant::FeeBasis::PerUnit => format!("NT${}/張", rate.amount),
            crate::merchant::FeeBasis::Percent => format!("{}%", rate.amount),
        });
    vec![
        taipei_time(Some(line.returned_at)),
        line.ticket_no.to_string(),
        line.product_id.to_string(),
        line.face_value.to_string(),
        rate,
        line.fee.normalize().to_string(),
    ]
}

const INSTALLMENT_RETURN_FEE_COLUMNS: &[Column] = &[
    column("returned_at", "退貨時間"),
    column("trade_no", "廠商訂單編號"),
    column("product_id", "商品編號"),
    column("amount", "退貨金額"),
    column("rate", "費率（含稅）"),
    column("fee", "退貨作業費"),
];

/// The return-fee report's columns in installment mode: per returned order (§6-3).
pub fn installment_return_fee_columns() -> &'static [Column] {
    INSTALLMENT_RETURN_FEE_COLUMNS
}

/// One fee-bearing order return: per order at the day's rate, or the rate on its amount.
pub fn installment_return_fee_cells(
    entry: &crate::installment::LedgerEntry,
    rate: Option<&crate::merchant::FeeRate>,
) -> Vec<String> {
    let (rate_text, fee) = match rate {
        None => (String::new(), Decimal::ZERO),
        Some(rate) => match rate.basis {
            crate::merchant::FeeBasis::PerUnit => (format!("NT${}/筆", rate.amount), rate.amount),
            crate::merchant::FeeBasis::Percent => (
                format!("{}%", rate.amount),
                entry.amount * rate.amount / Decimal::ONE_HUNDRED,
            ),
        },
    };
    vec![
        taipei_time(Some(entry.at)),
        entry.trade_no.to_string(),
        entry.product_id.to_string(),
        entry.amount.to_string(),
        rate_text,
        fee.normalize().to_string(),
    ]
}

const INSTALLMENT_ORDER_COLUMNS: &[Column] = &[
    column("issued_at", "發行日期"),
    column("trade_no", "廠商訂單編號"),
    column("product_id", "商品編號"),
    column("cardholder_name", "持卡人姓名"),
    column("cardholder_mobile", "持卡人手機"),
    column("status", "訂單狀態"),
    column("amount", "訂單總金額"),
    column("periods", "總期數"),
    column("redeemed_amount", "核銷金額"),
    column("redeemed_periods", "核銷期數"),
    column("returned_amount", "退貨金額"),
    column("returned_periods", "退貨期數"),
    column("unused_amount", "未使用金額"),
    column("unused_periods", "未使用期數"),
    column("escrow_until", "履約保障到期日"),
    column("returned_at", "退貨時間"),
    column("return_fee", "退貨手續費"),
    column("fee_apportionment", "手續費分攤"),
    column("return_reason", "退貨原因"),
];

/// The installment order report's columns (分期核銷訂單報表 > 訂單明細, §八 8-3 C).
pub fn installment_order_columns() -> &'static [Column] {
    INSTALLMENT_ORDER_COLUMNS
}

/// What an installment order row shows: the order's facts, its figures, and its standing
/// return (if any).
pub struct InstallmentOrderRow<'a> {
    pub issued_at: DateTime<Utc>,
    pub trade_no: &'a crate::orders::TradeNo,
    pub product_id: &'a crate::products::ProductId,
    pub cardholder_name: &'a str,
    pub cardholder_mobile: &'a str,
    pub status: crate::installment::SerialStatus,
    pub amount: Decimal,
    pub figures: &'a crate::installment::OrderFigures,
    pub last_expected_on: Option<NaiveDate>,
    pub standing_return: Option<&'a crate::installment::OrderReturn>,
}

/// One order as the report shows it: "核銷完成" in place of the last expected date once
/// every period is redeemed, the fee's parts as "5:3 6:3 …" (period:fee), the mobile
/// masked.
pub fn installment_order_cells(row: &InstallmentOrderRow<'_>) -> Vec<String> {
    let figures = row.figures;
    let until = if figures.fully_redeemed {
        "核銷完成".to_owned()
    } else {
        text(row.last_expected_on)
    };
    let standing = row.standing_return;
    let parts = standing.map(|r| {
        r.parts
            .iter()
            .map(|p| format!("{}:{}", p.period, p.fee))
            .collect::<Vec<_>>()
            .join(" ")
    });
    vec![
        taipei_time(Some(row.issued_at)),
        row.trade_no.to_string(),
        row.product_id.to_string(),
        row.cardholder_name.to_owned(),
        masked_mobile(row.cardholder_mobile),
        row.status.name_zh_tw().to_owned(),
        row.amount.to_string(),
        figures.periods.to_string(),
        figures.redeemed_amount.to_string(),
        figures.redeemed_periods.to_string(),
        figures.returned_amount.to_string(),
        figures.returned_periods.to_string(),
        figures.unused_amount.to_string(),
        figures.unused_periods.to_string(),
        until,
        taipei_time(standing.map(|r| r.returned_at)),
        text(standing.map(|r| r.fee)),
        parts.unwrap_or_default(),
        text(standing.map(|r| r.reason.clone())),
    ]
}

const SERIAL_COLUMNS: &[Column] = &[
    column("serial_no", "序號"),
    column("trade_no", "廠商訂單編號"),
    column("period", "期數"),
    column("face_value", "面額"),
    column("status", "序號狀態"),
    column("status_at", "狀態時間"),
    column("expected_on", "預計核銷日"),
    column("issued_at", "發行日期"),
    column("returned_at", "退貨時間"),
    column("return_fee", "退貨手續費分攤"),
    column("return_reason", "退貨原因"),
];

/// The per-period serial report's columns (分期核銷訂單報表 > 各期序號明細).
pub fn serial_columns() -> &'static [Column] {
    SERIAL_COLUMNS
}

/// What a serial row shows besides the serial.
pub struct SerialRow<'a> {
    pub trade_no: &'a crate::orders::TradeNo,
    pub serial: &'a crate::installment::Serial,
    pub issued_at: DateTime<Utc>,
    pub returned_at: Option<DateTime<Utc>>,
    pub return_reason: Option<&'a str>,
}

pub fn serial_cells(row: &SerialRow<'_>) -> Vec<String> {
    let serial = row.serial;
    vec![
        crate::installment::Serial::number(row.trade_no, serial.period),
        row.trade_no.to_string(),
        serial.period.to_string(),
        serial.face_value.to_string(),
        serial.status.name_zh_tw().to_owned(),
        taipei_time(Some(serial.status_at)),
        serial.expected_on.to_string(),
        taipei_time(Some(row.issued_at)),
        taipei_time(row.returned_at),
        if serial.status.is_return() {
            serial.return_fee.to_string()
        } else {
            String::new()
        },
        row.return_reason.unwrap_or_default().to_owned(),
    ]
}

const CALLBACK_COLUMNS: &[Column] = &[
    column("created_at", "建立時間"),
    column("delivery_id", "通知編號"),
    column("event_type", "事件"),
    column("url", "通知網址"),
    column("status", "狀態"),
    column("attempt_count", "發送次數"),
    column("last_attempt_at", "最近發送時間"),
    column("last_status_code", "最近回應碼"),
    column("last_error", "最近錯誤"),
    column("delivered_at", "送達時間"),
];

/// The refund callbacks' delivery log (退款結果通知紀錄).
pub fn callback_columns() -> &'static [Column] {
    CALLBACK_COLUMNS
}

/// What a delivery-log row shows.
pub struct CallbackRow<'a> {
    pub created_at: DateTime<Utc>,
    pub delivery_id: &'a str,
    pub event_type: &'a str,
    pub url: &'a str,
    pub status: &'a str,
    pub attempt_count: u32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<&'a str>,
    pub delivered_at: Option<DateTime<Utc>>,
}

pub fn callback_cells(row: &CallbackRow<'_>) -> Vec<String> {
    vec![
        taipei_time(Some(row.created_at)),
        row.delivery_id.to_owned(),
        row.event_type.to_owned(),
        row.url.to_owned(),
        row.status.to_owned(),
        row.attempt_count.to_string(),
        taipei_time(row.last_attempt_at),
        text(row.last_status_code),
        row.last_error.unwrap_or_default().to_owned(),
        taipei_time(row.delivered_at),
    ]
}

const BILL_COLUMNS: &[Column] = &[
    column("month", "帳單月份"),
    column("item", "費用項目"),
    column("amount", "金額"),
    column("amount_due", "應繳金額"),
    column("paid", "繳費狀態"),
];

/// The columns of the bill report (帳單報表): one row per fee item of each month.
pub fn bill_columns() -> &'static [Column] {
    BILL_COLUMNS
}

/// The manual's name of a fee item (§六).
pub fn fee_item_zh_tw(item: crate::merchant::FeeItem) -> &'static str {
    use crate::merchant::FeeItem::*;
    match item {
        ReturnOperation => "退貨作業手續費",
        Sms => "簡訊費",
        PaperPrinting => "平台紙本印製費",
        SerialProcessing => "序號處理費",
    }
}

/// A bill's rows: each fee item, then the month's total with the amount due.
pub fn bill_cells(bill: &crate::billing::Bill) -> Vec<Vec<String>> {
    let paid = if bill.paid { "已繳費" } else { "未繳費" };
    let mut rows: Vec<Vec<String>> = bill
        .lines
        .iter()
        .map(|line| {
            vec![
                bill.month.clone(),
                fee_item_zh_tw(line.item).to_owned(),
                line.amount.to_string(),
                String::new(),
                String::new(),
            ]
        })
        .collect();
    rows.push(vec![
        bill.month.clone(),
        "合計".to_owned(),
        bill.total.to_string(),
        bill.amount_due.to_string(),
        paid.to_owned(),
    ]);
    rows
}

const PRODUCT_COLUMNS: &[Column] = &[
    column("product_id", "商品編號"),
    column("name", "商品名稱"),
    column("kind", "票券類型"),
    column("face_value", "票面金額"),
    column("term_days", "期限天數"),
    column("redeemable_stores", "可核銷商店"),
    column("redeem_branches", "核銷分店"),
    column("return_branches", "退貨分店"),
    column("listed", "上架狀態"),
    column("created_at", "建立時間"),
];

/// The columns of the products export (商品管理).
pub fn product_columns() -> &'static [Column] {
    PRODUCT_COLUMNS
}

const BRANCH_COLUMNS: &[Column] = &[
    column("code", "分店代號"),
    column("name", "分店名稱"),
    column("address", "地址"),
    column("phone", "電話"),
    column("enabled", "狀態"),
    column("created_at", "建立時間"),
];

/// The columns of the branches export (票券分店).
pub fn branch_columns() -> &'static [Column] {
    BRANCH_COLUMNS
}

const STORE_COLUMNS: &[Column] = &[
    column("store", "商店代號"),
    column("status", "狀態"),
    column("created_at", "建立時間"),
    column("updated_at", "更新時間"),
];

/// The columns of the redeemable stores export (可核銷商店).
pub fn store_columns() -> &'static [Column] {
    STORE_COLUMNS
}

const BINDING_COLUMNS: &[Column] = &[
    column("account", "子帳號"),
    column("remark", "備註"),
    column("branch", "綁定分店"),
];

/// The columns of the bindings export (子帳號綁定分店): every live sub-account.
pub fn binding_columns() -> &'static [Column] {
    BINDING_COLUMNS
}

const CIRCULATION_COLUMNS: &[Column] = &[
    column("day", "日期"),
    column("issued_count", "發行張數"),
    column("issued_amount", "發行金額"),
    column("redeemed_count", "核銷張數"),
    column("redeemed_amount", "核銷金額"),
    column("returned_count", "退貨張數"),
    column("returned_amount", "退貨金額"),
    column("outstanding_count", "流通在外張數"),
    column("outstanding_amount", "流通在外金額"),
];

/// The columns of the circulation export: a row per day, then the total.
pub fn circulation_columns() -> &'static [Column] {
    CIRCULATION_COLUMNS
}

/// A time as every report shows it: Taipei, to the second.
pub fn report_time(at: DateTime<Utc>) -> String {
    taipei_time(Some(at))
}

/// Parses a list of numbers given in one field ("a,b,c"): each by `parse`, at most
/// [`MAX_LOOKUP_NUMBERS`], a refusal naming the field and the position.
pub fn parse_number_list<T>(
    field: &str,
    text: &str,
    parse: impl Fn(&str, &str) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() || parts.len() > MAX_LOOKUP_NUMBERS {
        return Err(Error::invalid_field(
            field,
            format!("1 to {MAX_LOOKUP_NUMBERS} numbers, separated by commas"),
        ));
    }
    let mut violations = Vec::new();
    let mut parsed = Vec::with_capacity(parts.len());
    for (index, part) in parts.iter().enumerate() {
        match parse(field, part) {
            Ok(value) => parsed.push(value),
            Err(error) => violations.extend(
                error
                    .violations
                    .into_iter()
                    .map(|v| Violation::field(format!("{field}[{index}]"), v.reason)),
            ),
        }
    }
    if violations.is_empty() {
        Ok(parsed)
    } else {
        Err(Error::invalid(violations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rights, Role};
    use crate::values::{AccountName, MerchantId};
    use chrono::TimeZone;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn ranges_span_at_most_three_calendar_months() {
        assert!(DayRange::parse(day(2026, 1, 31), day(2026, 4, 30)).is_ok());
        let refused = DayRange::parse(day(2026, 1, 31), day(2026, 5, 1)).unwrap_err();
        assert_eq!(refused.violations[0].field.as_deref(), Some("to"));
        assert!(refused.violations[0].reason.contains("2026-04-30"));
        assert!(DayRange::parse(day(2026, 5, 2), day(2026, 5, 1)).is_err());
        assert!(DayRange::parse(day(2026, 5, 1), day(2026, 5, 1)).is_ok());
    }

    #[test]
    fn a_range_covers_whole_taipei_days() {
        let range = DayRange::parse(day(2026, 12, 1), day(2026, 12, 2)).unwrap();
        let (start, end) = range.instants();
        // 00:00 Taipei on 1 Dec is 16:00 UTC on 30 Nov.
        assert_eq!(start, Utc.with_ymd_and_hms(2026, 11, 30, 16, 0, 0).unwrap());
        assert_eq!(end, Utc.with_ymd_and_hms(2026, 12, 2, 16, 0, 0).unwrap());
        assert!(range.contains(start));
        assert!(!range.contains(end));
        assert_eq!(range.days().count(), 2);
    }

    fn actor(branch: Option<&str>) -> Actor {
        Actor {
            merchant: MerchantId::parse("m", "SHOP0001").unwrap(),
            account: AccountName::parse_login("a", "clerk01").unwrap(),
            role: Role::SubAccount,
            rights: Rights::none(),
            acting_as: MerchantId::parse("m", "SHOP0001").unwrap(),
            children: Vec::new(),
            branch: branch.map(|b| BranchCode::parse("b", b).unwrap()),
            branch_enabled: true,
        }
    }

    #[test]
    fn a_branch_bound_account_sees_its_branch_only() {
        let a = BranchCode::parse("b", "A").unwrap();
        let bound = actor(Some("A"));
        assert_eq!(
            BranchScope::visible_to(&bound, BranchScope::All).unwrap(),
            BranchScope::Branch(a.clone())
        );
        assert_eq!(
            BranchScope::visible_to(&bound, BranchScope::Branch(a.clone())).unwrap(),
            BranchScope::Branch(a)
        );
        for other in [
            BranchScope::HeadOffice,
            BranchScope::Branch(BranchCode::parse("b", "B").unwrap()),
        ] {
            let refused = BranchScope::visible_to(&bound, other).unwrap_err();
            assert_eq!(refused.code, ErrorCode::OtherBranch);
        }
        let head_office = actor(None);
        assert_eq!(
            BranchScope::visible_to(&head_office, BranchScope::HeadOffice).unwrap(),
            BranchScope::HeadOffice
        );
    }

    #[test]
    fn every_status_has_a_group_and_a_name() {
        use TicketStatus::*;
        for status in [
            Unused,
            UnusedEscrowExpired,
            Used,
            Redeeming,
            Redeemed,
            RedeemedAfterExpiry,
            PendingReturn,
            Returning,
            Returned,
            ReturnedEscrowExpired,
            Expired,
        ] {
            assert!(!status_zh_tw(status).is_empty());
            let _ = StatusGroup::of(status);
        }
        assert_eq!(StatusGroup::of(Redeeming), StatusGroup::Redeemed);
        assert_eq!(
            StatusGroup::of(ReturnedEscrowExpired),
            StatusGroup::Returned
        );
    }

    #[test]
    fn columns_and_cells_line_up_for_every_choice_of_groups() {
        let ticket = crate::ticket::tests_support::ticket();
        for groups in [
            vec![],
            vec![ColumnGroup::Order],
            vec![ColumnGroup::Operator, ColumnGroup::Holder],
            vec![
                ColumnGroup::Order,
                ColumnGroup::Operator,
                ColumnGroup::Holder,
            ],
        ] {
            assert_eq!(
                ticket_columns(&groups).len(),
                ticket_cells(&ticket, &groups).len(),
                "{groups:?}"
            );
        }
        let cells = ticket_cells(&ticket, &[ColumnGroup::Holder]);
        assert_eq!(cells.last().unwrap(), "0912***678");
    }

    #[test]
    fn mobiles_are_masked() {
        assert_eq!(masked_mobile("0912345678"), "0912***678");
        assert_eq!(masked_mobile("123"), "***");
    }

    #[test]
    fn number_lists_name_the_bad_one() {
        let parsed = parse_number_list("ticket_nos", "0000000000018, 0000000000026", |f, v| {
            crate::tickets::TicketNumber::parse(f, v)
        })
        .unwrap();
        assert_eq!(parsed.len(), 2);
        let refused = parse_number_list("ticket_nos", "0000000000018,123", |f, v| {
            crate::tickets::TicketNumber::parse(f, v)
        })
        .unwrap_err();
        assert_eq!(
            refused.violations[0].field.as_deref(),
            Some("ticket_nos[1]")
        );
        assert!(parse_number_list("x", " , ", |_, v| Ok(v.to_owned())).is_err());
        let many = vec!["1"; MAX_LOOKUP_NUMBERS + 1].join(",");
        assert!(parse_number_list("x", &many, |_, v| Ok(v.to_owned())).is_err());
    }

    #[test]
    fn the_filter_reads_the_date_and_branch_of_its_type() {
        let mut ticket = crate::ticket::tests_support::ticket();
        let range = DayRange::parse(day(2026, 12, 1), day(2026, 12, 31)).unwrap();
        let branch = BranchCode::parse("b", "A").unwrap();
        ticket.issued_at = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap(); // 1 Dec Taipei
        ticket.redeemed_at = Some(Utc.with_ymd_and_hms(2027, 1, 1, 1, 0, 0).unwrap());
        ticket.redeemed_branch = Some(branch.clone());
        let filter = |date_type, scope| TicketFilter {
            date_type,
            range,
            branch: scope,
            statuses: vec![],
            delivery_methods: vec![],
        };
        assert!(filter(DateType::Issued, BranchScope::HeadOffice).admits(&ticket));
        assert!(!filter(DateType::Issued, BranchScope::Branch(branch.clone())).admits(&ticket));
        assert!(!filter(DateType::Redeemed, BranchScope::All).admits(&ticket));
        assert!(!filter(DateType::Returned, BranchScope::All).admits(&ticket));
        let mut only_used = filter(DateType::Issued, BranchScope::All);
        only_used.statuses = vec![TicketStatus::Used];
        assert!(!only_used.admits(&ticket));
    }
}
