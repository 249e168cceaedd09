//! Batch issuance from the xlsx template (§5, manual §7-3 B): the template's columns, the
//! limits, and every rule a row is checked against. Reading the workbook is the sheets
//! adapter's job; facts from storage (products, orders, used import numbers) are passed in.

use crate::error::{Error, ErrorCode, Violation};
use crate::merchant::{Contract, DeliveryMethod, ServiceStatus};
use crate::orders::{self, OrderStatus};
use crate::products::TicketKind;
use crate::values::{is_email, ProductId, TaiwanMobile, TradeNo};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// The template's header, in order (Traditional Chinese, as merchants know it).
pub const COLUMNS: [&str; 8] = [
    IMPORT_NO,
    TRADE_NO,
    PRODUCT_NO,
    QUANTITY,
    BUYER_NAME,
    BUYER_MOBILE,
    BUYER_EMAIL,
    REMARK,
];
pub const IMPORT_NO: &str = "匯入單號";
pub const TRADE_NO: &str = "廠商訂單編號";
pub const PRODUCT_NO: &str = "商品編號";
pub const QUANTITY: &str = "張數";
pub const BUYER_NAME: &str = "購買人姓名";
pub const BUYER_MOBILE: &str = "購買人手機";
pub const BUYER_EMAIL: &str = "購買人Email";
pub const REMARK: &str = "備註";

/// At most this many tickets per batch (§7-3 B 注意事項 1).
pub const MAX_TICKETS: u32 = 1000;
/// Every row issues at least one ticket, so a file with more data rows than that cannot be
/// valid: it is refused while reading, before the rest of it is parsed.
pub const MAX_DATA_ROWS: u32 = MAX_TICKETS;
/// The largest upload accepted. A full 1000-row template is about 60 KB.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
/// An xlsx is a zip: no part of it may unpack to more than this (decompression bombs).
pub const MAX_UNPACKED_PART_BYTES: u64 = 16 * 1024 * 1024;
/// Nor all parts together.
pub const MAX_UNPACKED_BYTES: u64 = 32 * 1024 * 1024;
/// Nor may it hold more parts than a workbook plausibly has.
pub const MAX_PARTS: usize = 256;

pub const IMPORT_NO_MAX: usize = 20;
pub const BUYER_NAME_MAX: usize = 30;
pub const REMARK_MAX: usize = 50;

/// One data row as read from the sheet: its Excel row number and the text of each column
/// (numbers written without a trailing `.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub row: u32,
    pub cells: [String; 8],
    /// Columns whose cell holds a formula the file has no computed value for (a writer
    /// that does not calculate saved it): the cell cannot be read, never taken as empty.
    pub formulas_without_value: Vec<usize>,
}

impl SheetRow {
    fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty()) && self.formulas_without_value.is_empty()
    }
}

/// The first row must be the template's header.
pub fn check_header(cells: &[String]) -> Result<(), Error> {
    let mut violations = Vec::new();
    for (index, expected) in COLUMNS.iter().enumerate() {
        let found = cells.get(index).map(|c| c.trim()).unwrap_or("");
        if found != *expected {
            violations.push(Violation::cell(
                1,
                *expected,
                format!(
                    "column {} must be headed {expected}, found {found:?}",
                    index + 1
                ),
            ));
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error {
            code: ErrorCode::IssuanceTemplateMismatch,
            detail: None,
            violations,
        })
    }
}

/// A row that passed every check: one issued order (匯入單號) of `quantity` tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuanceRow {
    pub row: u32,
    pub import_no: String,
    pub trade_no: Option<TradeNo>,
    pub product_id: ProductId,
    pub quantity: u32,
    pub buyer_name: String,
    pub buyer_mobile: TaiwanMobile,
    pub buyer_email: Option<String>,
    pub remark: Option<String>,
}

/// A row of the preview: what it will issue, or why it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowCheck {
    pub row: u32,
    /// The row's cells as read, to show next to its errors.
    pub cells: [String; 8],
    pub parsed: Option<IssuanceRow>,
    pub violations: Vec<Violation>,
}

impl RowCheck {
    /// A row parsed earlier (a preview's, a plan's), to be checked again against what is
    /// stored now; its cells are not kept.
    pub fn of_parsed(row: &IssuanceRow) -> RowCheck {
        RowCheck {
            row: row.row,
            cells: Default::default(),
            parsed: Some(row.clone()),
            violations: Vec::new(),
        }
    }

    fn refuse(&mut self, column: &str, reason: impl Into<String>) {
        self.violations
            .push(Violation::cell(self.row, column, reason.into()));
    }
}

/// Whether the merchant may issue with `method` now: service active, method contracted.
pub fn require_can_issue(
    contract: Option<&Contract>,
    method: DeliveryMethod,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(contract) = contract else {
        return Err(Error::new(ErrorCode::ServiceNotActive).with_detail("no contract"));
    };
    let status = contract.status(now);
    if status != ServiceStatus::Active {
        return Err(Error::new(ErrorCode::ServiceNotActive)
            .with_detail(format!("service status: {status:?}").to_lowercase()));
    }
    crate::merchant::require_mode(
        Some(contract),
        crate::merchant::RedemptionMode::RedeemAfterUse,
    )?;
    if !contract.delivery_methods.contains(&method) {
        return Err(Error::new(ErrorCode::DeliveryMethodNotContracted));
    }
    Ok(())
}

/// Electronic tickets are sent by email, so the buyer's address is required for them.
pub fn needs_email(method: DeliveryMethod) -> bool {
    matches!(
        method,
        DeliveryMethod::ElectronicImmediate | DeliveryMethod::ElectronicDeferred
    )
}

/// Reads the shape of every row (no storage needed). Refuses the whole file when a row
/// lacks its import number or the tickets exceed the batch limit; otherwise returns every
/// non-blank row with its own violations.
pub fn read_rows(rows: Vec<SheetRow>, method: DeliveryMethod) -> Result<Vec<RowCheck>, Error> {
    let rows: Vec<SheetRow> = rows.into_iter().filter(|r| !r.is_blank()).collect();
    let missing: Vec<Violation> = rows
        .iter()
        .filter(|r| r.cells[0].trim().is_empty() && !r.formulas_without_value.contains(&0))
        .map(|r| Violation::cell(r.row, IMPORT_NO, "required"))
        .collect();
    if !missing.is_empty() {
        return Err(Error {
            code: ErrorCode::IssuanceImportNoMissing,
            detail: None,
            violations: missing,
        });
    }
    let mut checks: Vec<RowCheck> = rows
        .into_iter()
        .map(|r| {
            let unreadable = r.formulas_without_value.clone();
            let mut check = read_row(r, method);
            // What the cell was taken for (empty) is not what it is: one reason, the true one.
            for column in unreadable.iter().filter_map(|c| COLUMNS.get(*c)) {
                check
                    .violations
                    .retain(|v| v.column.as_deref() != Some(*column));
                check.refuse(
                    column,
                    "a formula whose result the file does not hold: type the value, or open and save the file in Excel",
                );
            }
            if !check.violations.is_empty() {
                check.parsed = None;
            }
            check
        })
        .collect();
    let tickets: u64 = checks
        .iter()
        .filter_map(|c| c.parsed.as_ref())
        .map(|r| u64::from(r.quantity))
        .sum();
    if tickets > u64::from(MAX_TICKETS) {
        return Err(Error::new(ErrorCode::IssuanceTooManyTickets)
            .with_detail(format!("the file asks for {tickets} tickets")));
    }
    // One order per import number, one issuance per paid order, within the file.
    let mut import_nos: HashMap<String, u32> = HashMap::new();
    let mut trade_nos: HashMap<TradeNo, u32> = HashMap::new();
    for check in &mut checks {
        let Some(parsed) = check.parsed.clone() else {
            continue;
        };
        if let Some(first) = import_nos.get(&parsed.import_no) {
            check.refuse(IMPORT_NO, format!("already used on row {first}"));
        } else {
            import_nos.insert(parsed.import_no.clone(), check.row);
        }
        if let Some(trade_no) = &parsed.trade_no {
            if let Some(first) = trade_nos.get(trade_no) {
                check.refuse(TRADE_NO, format!("the order is already on row {first}"));
            } else {
                trade_nos.insert(trade_no.clone(), check.row);
            }
        }
    }
    Ok(checks)
}

fn read_row(row: SheetRow, method: DeliveryMethod) -> RowCheck {
    let mut check = RowCheck {
        row: row.row,
        cells: row.cells.clone(),
        parsed: None,
        violations: Vec::new(),
    };
    let [import_no, trade_no, product_id, quantity, name, mobile, email, remark] =
        row.cells.map(|c| c.trim().to_owned());
    let import_length = import_no.chars().count();
    if import_length > IMPORT_NO_MAX {
        check.refuse(
            IMPORT_NO,
            format!("at most {IMPORT_NO_MAX} letters or digits, found {import_length} characters"),
        );
    } else if !import_no.chars().all(|c| c.is_ascii_alphanumeric()) {
        check.refuse(
            IMPORT_NO,
            format!("1 to {IMPORT_NO_MAX} letters or digits only"),
        );
    }
    let trade_no = if trade_no.is_empty() {
        None
    } else {
        match TradeNo::parse(TRADE_NO, &trade_no) {
            Ok(t) => Some(t),
            Err(_) => {
                check.refuse(TRADE_NO, "1 to 20 letters or digits");
                None
            }
        }
    };
    let product_id = if product_id.is_empty() {
        check.refuse(PRODUCT_NO, "required");
        None
    } else {
        match ProductId::parse(PRODUCT_NO, &product_id) {
            Ok(id) => Some(id),
            Err(_) => {
                check.refuse(PRODUCT_NO, "no such product of this merchant");
                None
            }
        }
    };
    let quantity = match quantity.parse::<u32>() {
        Ok(q) if q >= 1 => q,
        _ if quantity.is_empty() => {
            check.refuse(QUANTITY, "required: a whole number of tickets, at least 1");
            0
        }
        _ => {
            let shown: String = quantity.chars().take(20).collect();
            check.refuse(
                QUANTITY,
                format!("{shown:?} is not a whole number of tickets of at least 1"),
            );
            0
        }
    };
    let name_length = name.chars().count();
    if name.is_empty() {
        check.refuse(
            BUYER_NAME,
            format!("required (at most {BUYER_NAME_MAX} characters)"),
        );
    } else if name_length > BUYER_NAME_MAX {
        check.refuse(
            BUYER_NAME,
            format!("at most {BUYER_NAME_MAX} characters, found {name_length}"),
        );
    } else if name.chars().any(char::is_control) {
        check.refuse(BUYER_NAME, "no control characters (line breaks, tabs)");
    }
    let buyer_mobile = match TaiwanMobile::parse(BUYER_MOBILE, &mobile) {
        Ok(m) => Some(m),
        Err(_) => {
            check.refuse(
                BUYER_MOBILE,
                "a Taiwan mobile number: 09 followed by 8 digits",
            );
            None
        }
    };
    let buyer_email = if email.is_empty() {
        if needs_email(method) {
            check.refuse(BUYER_EMAIL, "required for electronic tickets");
        }
        None
    } else if is_email(&email) {
        Some(email)
    } else {
        check.refuse(BUYER_EMAIL, "not an email address");
        None
    };
    let remark_length = remark.chars().count();
    if remark_length > REMARK_MAX {
        check.refuse(
            REMARK,
            format!("at most {REMARK_MAX} characters, found {remark_length}"),
        );
    }
    if check.violations.is_empty() {
        if let (Some(buyer_mobile), Some(product_id)) = (buyer_mobile, product_id) {
            check.parsed = Some(IssuanceRow {
                row: row.row,
                import_no,
                trade_no,
                product_id,
                quantity,
                buyer_name: name,
                buyer_mobile,
                buyer_email,
                remark: (!remark.is_empty()).then_some(remark),
            });
        }
    }
    check
}

/// What storage says about a product named in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductFacts {
    pub kind: TicketKind,
    pub listed: bool,
    /// Escrow (goods) or validity (gift) in days after issuance.
    pub term_days: u32,
}

/// What storage says about a paid order named in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub product_id: ProductId,
    pub quantity: u32,
    pub status: OrderStatus,
    pub paid_at: DateTime<Utc>,
}

/// The merchant's own products, orders and used import numbers among those the file names.
#[derive(Debug, Clone, Default)]
pub struct IssuanceFacts {
    pub products: HashMap<ProductId, ProductFacts>,
    pub orders: HashMap<TradeNo, OrderFacts>,
    pub used_import_nos: HashSet<String>,
    /// The day non-immediate electronic tickets become valid (the batch's).
    pub valid_from: Option<NaiveDate>,
}

/// How far ahead non-immediate tickets may start being valid.
pub const VALID_FROM_MAX_DAYS: i64 = 365;

/// The day a batch's tickets become valid (非即期, docs/decisions/0015): required for
/// `electronic_deferred`, after today (Taipei) and within [`VALID_FROM_MAX_DAYS`];
/// refused for every other delivery method.
pub fn check_valid_from(
    method: DeliveryMethod,
    valid_from: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, Error> {
    match (method, valid_from) {
        (DeliveryMethod::ElectronicDeferred, None) => Err(Error::invalid_field(
            "valid_from",
            "required for electronic_deferred: the day the tickets become valid",
        )),
        (DeliveryMethod::ElectronicDeferred, Some(day))
            if day <= today || day > today + chrono::Duration::days(VALID_FROM_MAX_DAYS) =>
        {
            Err(Error::invalid_field(
                "valid_from",
                format!("after today and at most {VALID_FROM_MAX_DAYS} days ahead"),
            ))
        }
        (DeliveryMethod::ElectronicDeferred, Some(day)) => Ok(Some(day)),
        (_, Some(_)) => Err(Error::invalid_field(
            "valid_from",
            "only for electronic_deferred (non-immediate) tickets",
        )),
        (_, None) => Ok(None),
    }
}

/// Checks the rows against the merchant's products, orders and earlier batches at `now`.
/// A row keeps its parsed value only if nothing is wrong with it.
pub fn check_rows(checks: &mut [RowCheck], facts: &IssuanceFacts, now: DateTime<Utc>) {
    for check in checks.iter_mut() {
        let Some(row) = check.parsed.clone() else {
            continue;
        };
        if let Some(reason) = row_problem_import(&row, facts) {
            check.refuse(IMPORT_NO, reason);
        }
        match facts.products.get(&row.product_id) {
            None => check.refuse(PRODUCT_NO, "no such product of this merchant"),
            Some(product) if !product.listed => check.refuse(PRODUCT_NO, "the product is delisted"),
            Some(product) => {
                if let Some((column, reason)) = order_problem(&row, product.kind, facts, now) {
                    check.refuse(column, reason);
                }
                let term_ends_on = crate::tickets::term_ends_on(now, product.term_days);
                if let Some(valid_from) = facts.valid_from.filter(|from| *from > term_ends_on) {
                    check.refuse(
                        PRODUCT_NO,
                        format!("the product's term ends on {term_ends_on}, before the tickets become valid on {valid_from}"),
                    );
                }
            }
        }
        if !check.violations.is_empty() {
            check.parsed = None;
        }
    }
}

fn row_problem_import(row: &IssuanceRow, facts: &IssuanceFacts) -> Option<String> {
    facts
        .used_import_nos
        .contains(&row.import_no)
        .then(|| "already issued in an earlier batch".to_owned())
}

/// Goods vouchers are paid: they need an issuable paid order for this product and quantity.
/// A gift voucher may name an order too, which must then be issuable as well.
fn order_problem(
    row: &IssuanceRow,
    kind: TicketKind,
    facts: &IssuanceFacts,
    now: DateTime<Utc>,
) -> Option<(&'static str, String)> {
    let Some(trade_no) = &row.trade_no else {
        return (kind == TicketKind::GoodsVoucher)
            .then(|| (TRADE_NO, "required for goods vouchers".to_owned()));
    };
    let Some(order) = facts.orders.get(trade_no) else {
        return Some((TRADE_NO, "no such paid order of this merchant".to_owned()));
    };
    if let Err(error) = orders::require_issuable(order.status, order.paid_at, now) {
        let reason = error
            .detail
            .map(|d| format!("{}: {d}", error.code.message_en()))
            .unwrap_or_else(|| error.code.message_en().to_owned());
        return Some((TRADE_NO, reason));
    }
    if order.product_id != row.product_id {
        return Some((
            PRODUCT_NO,
            format!("the order is for product {}", order.product_id),
        ));
    }
    if order.quantity != row.quantity {
        return Some((
            QUANTITY,
            format!("the order is for {} tickets", order.quantity),
        ));
    }
    None
}

/// A batch's progress, as the batch-results tab shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Queued,
    Issuing,
    /// Every row has its result (some may have failed).
    Done,
    /// The batch could not be processed at all (it reached the dead-letter queue).
    Failed,
}

impl BatchStatus {
    /// The batch's state machine, in one place: the statuses a batch may come to `self`
    /// from. Queued → issuing → done; queued or issuing → failed (the dead-letter queue).
    /// A worker that resumes a batch moves it to where it already is (issuing → issuing,
    /// done → done), which is how a redelivered message finds its way.
    pub fn reachable_from(self) -> &'static [BatchStatus] {
        match self {
            BatchStatus::Queued => &[],
            BatchStatus::Issuing => &[BatchStatus::Queued, BatchStatus::Issuing],
            BatchStatus::Done => &[BatchStatus::Issuing, BatchStatus::Done],
            BatchStatus::Failed => &[BatchStatus::Queued, BatchStatus::Issuing],
        }
    }

    pub fn may_move_to(self, next: BatchStatus) -> bool {
        next.reachable_from().contains(&self)
    }
}

/// The rules sheet of the template and the rules endpoint: one line per rule.
pub fn template_rules() -> Vec<String> {
    vec![
        format!("{IMPORT_NO}：必填，{IMPORT_NO_MAX} 碼以內英數字；一個匯入單號為一筆發行訂單，不可重複（含先前批次）。Required, up to {IMPORT_NO_MAX} letters/digits; one issued order per import number, never reused."),
        format!("{TRADE_NO}：提貨券必填，須為本商店已付款、尚未發行且交易後21天內的訂單；張數與商品須與訂單相同。Required for goods vouchers: a paid, unissued order of this merchant, paid within the last 21 days (Taipei), same product and quantity."),
        format!("{PRODUCT_NO}：必填，本商店上架中的商品編號。Required: a listed product of this merchant."),
        format!("{QUANTITY}：必填，1 以上的整數。Required: a whole number, at least 1."),
        format!("{BUYER_NAME}：必填，{BUYER_NAME_MAX} 字以內。Required, up to {BUYER_NAME_MAX} characters."),
        format!("{BUYER_MOBILE}：必填，09 開頭共 10 碼（缺少開頭 0 的數字儲存格與全形數字亦可）。Required: 09 and 8 digits (a number cell that lost its leading 0, and full-width digits, are accepted)."),
        format!("{BUYER_EMAIL}：電子票券必填。Required for electronic tickets."),
        format!("{REMARK}：選填，{REMARK_MAX} 字以內。Optional, up to {REMARK_MAX} characters."),
        format!("每批最多 {MAX_TICKETS} 張、{MAX_DATA_ROWS} 列；檔案須為 .xlsx 且不超過 {} MB；任一列缺少匯入單號時不顯示預覽。At most {MAX_TICKETS} tickets and {MAX_DATA_ROWS} rows per batch; .xlsx only, at most {} MB; no preview while any row lacks its import number.", MAX_FILE_BYTES / 1024 / 1024, MAX_FILE_BYTES / 1024 / 1024),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(n: u32, cells: [&str; 8]) -> SheetRow {
        SheetRow {
            formulas_without_value: Vec::new(),
            row: n,
            cells: cells.map(str::to_owned),
        }
    }

    fn good(n: u32, import_no: &str, trade_no: &str) -> SheetRow {
        row(
            n,
            [
                import_no,
                trade_no,
                "PGXXDS22222",
                "2",
                "王小明",
                "912345678",
                "ming@example.com",
                "",
            ],
        )
    }

    fn pid(id: &str) -> ProductId {
        ProductId::parse("product_id", id).unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 2, 0, 0).unwrap()
    }

    fn facts() -> IssuanceFacts {
        let mut facts = IssuanceFacts::default();
        facts.products.insert(
            pid("PGXXDS22222"),
            ProductFacts {
                term_days: 30,
                kind: TicketKind::GoodsVoucher,
                listed: true,
            },
        );
        facts.products.insert(
            pid("PGXFT222222"),
            ProductFacts {
                term_days: 30,
                kind: TicketKind::GiftVoucher,
                listed: true,
            },
        );
        facts.products.insert(
            pid("PGXNE222222"),
            ProductFacts {
                term_days: 30,
                kind: TicketKind::GoodsVoucher,
                listed: false,
            },
        );
        for (trade_no, days_ago, status) in [
            ("T1", 0, OrderStatus::Unissued),
            ("T2", 5, OrderStatus::Unissued),
            ("TOLD", 21, OrderStatus::Unissued),
            ("TDONE", 1, OrderStatus::Issued),
        ] {
            facts.orders.insert(
                TradeNo::parse("trade_no", trade_no).unwrap(),
                OrderFacts {
                    product_id: pid("PGXXDS22222"),
                    quantity: 2,
                    status,
                    paid_at: now() - chrono::Duration::days(days_ago),
                },
            );
        }
        facts.used_import_nos.insert("USED1".into());
        facts
    }

    fn reasons(check: &RowCheck) -> Vec<(String, String)> {
        check
            .violations
            .iter()
            .map(|v| (v.column.clone().unwrap_or_default(), v.reason.clone()))
            .collect()
    }

    #[test]
    fn a_good_row_is_parsed_and_normalised() {
        let mut checks = read_rows(
            vec![good(2, "IMP1", "T1")],
            DeliveryMethod::ElectronicImmediate,
        )
        .unwrap();
        check_rows(&mut checks, &facts(), now());
        let parsed = checks[0].parsed.clone().unwrap();
        assert_eq!(parsed.buyer_mobile.as_str(), "0912345678");
        assert_eq!(parsed.quantity, 2);
        assert_eq!(parsed.remark, None);
        assert!(checks[0].violations.is_empty());
    }

    #[test]
    fn every_cell_rule_names_its_row_and_column() {
        let long_name = "名".repeat(31);
        let long_remark = "x".repeat(51);
        let valid = [
            "IMP1",
            "T1",
            "PGXXDS22222",
            "2",
            "王",
            "0912345678",
            "a@b.tw",
            "",
        ];
        // One cell of a valid row made wrong; the violation names that cell's column.
        let cases: Vec<(&str, &str)> = vec![
            (IMPORT_NO, "IMP-1"),
            (IMPORT_NO, "USED1"),
            (TRADE_NO, "T-1"),
            (TRADE_NO, ""),
            (TRADE_NO, "TX"),
            (TRADE_NO, "TOLD"),
            (TRADE_NO, "TDONE"),
            (PRODUCT_NO, ""),
            (PRODUCT_NO, "PNXNE222222"),
            (PRODUCT_NO, "PGXNE222222"),
            (PRODUCT_NO, "PGXFT222222"),
            (QUANTITY, "0"),
            (QUANTITY, "2.5"),
            (QUANTITY, "3"),
            (BUYER_NAME, ""),
            (BUYER_NAME, &long_name),
            (BUYER_MOBILE, "0212345678"),
            (BUYER_EMAIL, ""),
            (BUYER_EMAIL, "not-mail"),
            (REMARK, &long_remark),
        ];
        for (column, value) in cases {
            let mut cells = valid;
            let index = COLUMNS.iter().position(|c| *c == column).unwrap();
            cells[index] = value;
            let mut checks =
                read_rows(vec![row(7, cells)], DeliveryMethod::ElectronicImmediate).unwrap();
            check_rows(&mut checks, &facts(), now());
            let found = reasons(&checks[0]);
            assert_eq!(found.len(), 1, "{cells:?}: {found:?}");
            assert_eq!(found[0].0, column, "{cells:?}: {found:?}");
            assert_eq!(checks[0].violations[0].row, Some(7));
            assert!(checks[0].parsed.is_none());
        }
    }

    #[test]
    fn gift_vouchers_need_no_order_and_paper_needs_no_email() {
        let cells = ["IMP9", "", "PGXFT222222", "3", "王", "0912345678", "", ""];
        let mut checks = read_rows(vec![row(2, cells)], DeliveryMethod::PaperByMerchant).unwrap();
        check_rows(&mut checks, &facts(), now());
        assert!(
            checks[0].violations.is_empty(),
            "{:?}",
            checks[0].violations
        );
    }

    #[test]
    fn duplicates_within_the_file_are_flagged_on_the_later_row() {
        let mut checks = read_rows(
            vec![
                good(2, "IMP1", "T1"),
                good(3, "IMP1", "T2"),
                good(4, "IMP3", "T1"),
            ],
            DeliveryMethod::ElectronicImmediate,
        )
        .unwrap();
        check_rows(&mut checks, &facts(), now());
        assert!(checks[0].violations.is_empty());
        assert_eq!(reasons(&checks[1])[0].0, IMPORT_NO);
        assert_eq!(reasons(&checks[2])[0].0, TRADE_NO);
    }

    #[test]
    fn no_preview_without_import_numbers_and_blank_rows_are_ignored() {
        let blank = row(3, ["", "", "", "", "", "", "", ""]);
        let checks = read_rows(
            vec![good(2, "IMP1", "T1"), blank.clone()],
            DeliveryMethod::ElectronicImmediate,
        )
        .unwrap();
        assert_eq!(checks.len(), 1);
        let error = read_rows(
            vec![good(2, "IMP1", "T1"), good(4, " ", "T2"), blank],
            DeliveryMethod::ElectronicImmediate,
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::IssuanceImportNoMissing);
        assert_eq!(error.violations.len(), 1);
        assert_eq!(error.violations[0].row, Some(4));
    }

    #[test]
    fn a_thousand_tickets_pass_and_one_more_refuses_the_file() {
        let rows = |last: &str| {
            vec![
                row(
                    2,
                    ["A", "", "PGXFT222222", "999", "王", "0912345678", "", ""],
                ),
                row(
                    3,
                    ["B", "", "PGXFT222222", last, "王", "0912345678", "", ""],
                ),
            ]
        };
        assert!(read_rows(rows("1"), DeliveryMethod::PaperByMerchant).is_ok());
        let error = read_rows(rows("2"), DeliveryMethod::PaperByMerchant).unwrap_err();
        assert_eq!(error.code, ErrorCode::IssuanceTooManyTickets);
    }

    #[test]
    fn the_21_day_rule_turns_at_taipei_midnight() {
        // Paid 2026-11-09 10:00 Taipei: issuable through 2026-11-29 (Taipei).
        let paid = Utc.with_ymd_and_hms(2026, 11, 9, 2, 0, 0).unwrap();
        let mut facts = facts();
        facts.orders.get_mut("T1").unwrap().paid_at = paid;
        let at = |h: u32, m: u32, d: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        for (now, ok) in [(at(15, 59, 29), true), (at(16, 0, 29), false)] {
            let mut checks = read_rows(
                vec![good(2, "IMP1", "T1")],
                DeliveryMethod::ElectronicImmediate,
            )
            .unwrap();
            check_rows(&mut checks, &facts, now);
            assert_eq!(checks[0].violations.is_empty(), ok, "{now}");
        }
    }

    #[test]
    fn the_header_must_be_the_templates() {
        let header: Vec<String> = COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        assert!(check_header(&header).is_ok());
        let mut wrong = header.clone();
        wrong[3] = "數量".into();
        let error = check_header(&wrong).unwrap_err();
        assert_eq!(error.code, ErrorCode::IssuanceTemplateMismatch);
        assert_eq!(error.violations[0].column.as_deref(), Some(QUANTITY));
    }

    #[test]
    fn issuing_needs_an_active_service_and_a_contracted_method() {
        use crate::merchant::RedemptionMode;
        let contract = Contract {
            starts_on: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            ends_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            issuance_enabled: true,
            sms_contracted: false,
            redemption_mode: RedemptionMode::RedeemAfterUse,
            delivery_methods: vec![DeliveryMethod::ElectronicImmediate],
        };
        assert!(
            require_can_issue(Some(&contract), DeliveryMethod::ElectronicImmediate, now()).is_ok()
        );
        assert_eq!(
            require_can_issue(Some(&contract), DeliveryMethod::Ibon, now())
                .unwrap_err()
                .code,
            ErrorCode::DeliveryMethodNotContracted
        );
        let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            require_can_issue(Some(&contract), DeliveryMethod::ElectronicImmediate, later)
                .unwrap_err()
                .code,
            ErrorCode::ServiceNotActive
        );
        assert_eq!(
            require_can_issue(None, DeliveryMethod::Ibon, now())
                .unwrap_err()
                .code,
            ErrorCode::ServiceNotActive
        );
        let installment = Contract {
            redemption_mode: RedemptionMode::Installment,
            ..contract
        };
        assert_eq!(
            require_can_issue(
                Some(&installment),
                DeliveryMethod::ElectronicImmediate,
                now()
            )
            .unwrap_err()
            .code,
            ErrorCode::RedemptionModeMismatch
        );
    }

    #[test]
    fn non_immediate_tickets_start_on_a_later_day_within_their_term() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let later = today + chrono::Duration::days(10);
        use DeliveryMethod::*;
        assert_eq!(
            check_valid_from(ElectronicDeferred, Some(later), today).unwrap(),
            Some(later)
        );
        for bad in [None, Some(today), Some(today + chrono::Duration::days(366))] {
            assert_eq!(
                check_valid_from(ElectronicDeferred, bad, today)
                    .unwrap_err()
                    .violations[0]
                    .field
                    .as_deref(),
                Some("valid_from")
            );
        }
        assert!(check_valid_from(ElectronicImmediate, Some(later), today).is_err());
        assert_eq!(check_valid_from(Ibon, None, today).unwrap(), None);
    }

    #[test]
    fn a_row_whose_term_ends_before_the_tickets_become_valid_is_refused() {
        let mut facts = facts();
        let term_end = crate::tickets::term_ends_on(now(), 30);
        for (valid_from, refused) in [
            (term_end, false),
            (term_end + chrono::Duration::days(1), true),
        ] {
            facts.valid_from = Some(valid_from);
            let mut checks = read_rows(
                vec![good(2, "IMP1", "T1")],
                DeliveryMethod::ElectronicDeferred,
            )
            .unwrap();
            check_rows(&mut checks, &facts, now());
            assert_eq!(checks[0].parsed.is_none(), refused, "{valid_from}");
            if refused {
                assert_eq!(reasons(&checks[0])[0].0, PRODUCT_NO);
                assert!(reasons(&checks[0])[0]
                    .1
                    .contains("before the tickets become valid"));
            }
        }
    }
}
