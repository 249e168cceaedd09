//! The one table of error codes, and the error value every layer passes around.
//!
//! A code is stable once published: integrators match on it. The HTTP status and the
//! messages live beside the code so that the lookup endpoint (§5-1), the problem+json
//! responses and the OpenAPI document all read the same row.

use serde::Serialize;
use std::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $en:literal, $zh:literal), )+) => {
        /// Every error Tessera can return. See [`ErrorCode::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(into = "&'static str")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )+
        }

        impl ErrorCode {
            /// All codes, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )+ ];

            /// The stable, machine-readable code, e.g. `VALIDATION_FAILED`.
            pub const fn code(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )+ }
            }

            /// The HTTP status this error is answered with.
            pub const fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )+ }
            }

            /// A short English description.
            pub const fn message_en(self) -> &'static str {
                match self { $( ErrorCode::$variant => $en, )+ }
            }

            /// A short Traditional Chinese (zh-TW) description.
            pub const fn message_zh_tw(self) -> &'static str {
                match self { $( ErrorCode::$variant => $zh, )+ }
            }
        }
    };
}

error_codes! {
    /// The request's path matches no route.
    RouteNotFound = ("ROUTE_NOT_FOUND", 404, "No resource exists at this path.", "查無此路徑。"),
    /// The path exists but not with this HTTP method.
    MethodNotAllowed = ("METHOD_NOT_ALLOWED", 405, "This path does not accept this HTTP method.", "此路徑不支援此 HTTP 方法。"),
    /// The body is not syntactically valid JSON.
    MalformedJson = ("MALFORMED_JSON", 400, "The request body is not valid JSON.", "請求內容不是有效的 JSON。"),
    /// The body is not sent as `application/json`.
    UnsupportedMediaType = ("UNSUPPORTED_MEDIA_TYPE", 415, "The request body must be sent as application/json.", "請求內容須為 application/json。"),
    /// One or more fields (or spreadsheet cells) hold a value that breaks a rule.
    ValidationFailed = ("VALIDATION_FAILED", 400, "One or more fields are invalid; see the errors list.", "欄位資料有誤，請參閱錯誤清單。"),
    /// The request body is larger than this endpoint accepts.
    PayloadTooLarge = ("PAYLOAD_TOO_LARGE", 413, "The request body is too large.", "請求內容過大。"),
    /// The error-code lookup was asked for a code that does not exist.
    ErrorCodeNotFound = ("ERROR_CODE_NOT_FOUND", 404, "No error code with this name exists.", "查無此錯誤代碼。"),
    /// No valid bearer token was sent, or its signature does not verify.
    Unauthenticated = ("UNAUTHENTICATED", 401, "Sign in first: the request carries no valid session token.", "請先登入：請求未帶有效的登入憑證。"),
    /// The session token has expired or the session was signed out.
    SessionExpired = ("SESSION_EXPIRED", 401, "The session has ended; sign in again.", "登入階段已結束，請重新登入。"),
    /// Merchant ID, account or password is wrong (which one is not said).
    InvalidCredentials = ("INVALID_CREDENTIALS", 401, "The merchant ID, account or password is incorrect.", "商店代號、帳號或密碼錯誤。"),
    /// Too many failed sign-ins; the account is locked for a while.
    AccountLocked = ("ACCOUNT_LOCKED", 423, "Too many failed sign-ins; the account is locked for 15 minutes.", "登入失敗次數過多，帳號暫時鎖定 15 分鐘。"),
    /// A sub-account lacks the query or modify right of a function area.
    RightMissing = ("RIGHT_MISSING", 403, "The account lacks the right this operation needs.", "此帳號沒有執行此功能的權限。"),
    /// Only the merchant's admin account may do this.
    AdminOnly = ("ADMIN_ONLY", 403, "Only the admin account may do this.", "僅管理者帳號可執行此操作。"),
    /// A parent merchant tried to change a child's data without switching into it.
    SwitchRequired = ("SWITCH_REQUIRED", 403, "Switch into the child merchant before changing its data.", "請先切換至子商店代號再進行修改。"),
    /// The merchant does not exist or is not reachable from this session.
    MerchantNotFound = ("MERCHANT_NOT_FOUND", 404, "No such merchant.", "查無此商店。"),
    /// The account does not exist for this merchant.
    AccountNotFound = ("ACCOUNT_NOT_FOUND", 404, "No such account.", "查無此帳號。"),
    /// A sub-account with this ID already exists (deleted ones included: IDs are never reused).
    AccountExists = ("ACCOUNT_EXISTS", 409, "An account with this ID already exists.", "此帳號已存在。"),
    /// A merchant token on the operator's routes.
    OperatorOnly = ("OPERATOR_ONLY", 403, "Only the platform operator may do this.", "僅平台營運人員可執行此操作。"),
    MerchantExists = ("MERCHANT_EXISTS", 409, "A merchant with this ID already exists with other details.", "此商店代號已存在且資料不同。"),
    AnnouncementNotFound = ("ANNOUNCEMENT_NOT_FOUND", 404, "No such announcement.", "查無此公告。"),
    DocumentNotFound = ("DOCUMENT_NOT_FOUND", 404, "No such document.", "查無此文件。"),
    ParentLinkInvalid = ("PARENT_LINK_INVALID", 409, "A merchant cannot be its own parent, a parent's parent, or the child of two parents.", "上層商店設定無效：不可為自身、不可形成多層或同時隸屬兩個上層。"),
    /// The current password given to change a password is wrong.
    CurrentPasswordWrong = ("CURRENT_PASSWORD_WRONG", 400, "The current password is incorrect.", "目前密碼錯誤。"),
    /// The product does not exist for this merchant.
    ProductNotFound = ("PRODUCT_NOT_FOUND", 404, "No such product.", "查無此商品。"),
    /// The branch does not exist for this merchant.
    BranchNotFound = ("BRANCH_NOT_FOUND", 404, "No such branch.", "查無此分店。"),
    /// The merchant already has a branch with this code (codes are never reused).
    BranchCodeTaken = ("BRANCH_CODE_TAKEN", 409, "This branch code is already used by another branch.", "分店編號已存在，不可重複。"),
    /// The caller's branch is disabled: its staff may read reports but not issue, redeem or return.
    BranchDisabled = ("BRANCH_DISABLED", 403, "Your branch is disabled: tickets cannot be issued, redeemed or returned.", "所屬分店已停用，無法進行票券發行、核銷或退貨。"),
    /// SMS was switched on but the merchant's contract does not include the SMS service.
    SmsNotContracted = ("SMS_NOT_CONTRACTED", 409, "The SMS service is not in your contract; contact your account manager.", "並未開通簡訊服務，請聯繫所屬業務。"),
    /// A read-only field (set from the merchant's application) was sent for editing.
    ReadOnlyField = ("READ_ONLY_FIELD", 400, "This field is read-only; contact your account manager to change it.", "此欄位無法自行修改，請聯繫所屬業務。"),
    /// The merchant has no contract on record.
    ContractNotFound = ("CONTRACT_NOT_FOUND", 404, "No contract is on record for this merchant.", "查無合約資料。"),
    /// The merchant is already a redeemable store of this issuer.
    RelationExists = ("RELATION_EXISTS", 409, "This merchant is already one of your redeemable stores.", "此商店已是可核銷商店。"),
    /// The relation is already open.
    RelationAlreadyOpen = ("RELATION_ALREADY_OPEN", 409, "The relation is already open.", "關聯狀態已為開啟。"),
    /// The relation is not open, so it cannot be unlinked.
    RelationNotOpen = ("RELATION_NOT_OPEN", 409, "The relation is already unlinked.", "關聯狀態已為解除。"),
    /// The store unlinked the issuer; only the platform operator can clear this.
    RelationBlockedByStore = ("RELATION_BLOCKED_BY_STORE", 409, "The store has unlinked you; ask it to agree and contact your account manager to clear the block.", "可核銷商店已解除關聯，發行商無法重新開啟；請取得商店同意後聯繫所屬業務解除封鎖。"),
    /// No such redeemable-store or joint-issuer relation for this merchant.
    RelationNotFound = ("RELATION_NOT_FOUND", 404, "No such relation.", "查無此關聯。"),
    /// A merchant cannot be its own redeemable store.
    RelationWithSelf = ("RELATION_WITH_SELF", 400, "A merchant cannot add itself as a redeemable store.", "不可將自己設為可核銷商店。"),
    /// A branch-bound account tried to act for another branch, or for head office.
    OtherBranch = ("OTHER_BRANCH", 403, "Your account is bound to a branch and cannot act for another branch.", "此帳號已綁定分店，無法操作其他分店。"),
    /// Tickets were issued for the product: only its store and branch lists may change.
    ProductIssuedLocked = ("PRODUCT_ISSUED_LOCKED", 409, "Tickets were issued for this product; only its redeemable stores, redeem branches and return branches can change.", "此商品已有發行紀錄，僅可修改跨店核銷、核銷分店與退貨分店。"),
    /// No paid order with this number for this merchant.
    OrderNotFound = ("ORDER_NOT_FOUND", 404, "No such order.", "查無此訂單。"),
    /// An order with this merchant trade number was already recorded.
    OrderExists = ("ORDER_EXISTS", 409, "An order with this number was already recorded.", "此廠商訂單編號已存在。"),
    /// The order was already issued, abandoned or cancelled.
    OrderNotUnissued = ("ORDER_NOT_UNISSUED", 409, "The order is no longer awaiting issuance.", "此訂單已非待發行狀態。"),
    /// More than 21 days since payment: the order can no longer be issued.
    OrderIssuePeriodOver = ("ORDER_ISSUE_PERIOD_OVER", 409, "The order was paid more than 21 days ago and can no longer be issued.", "訂單已超過交易後21天，無法發行。"),
    /// No bill for this month.
    BillNotFound = ("BILL_NOT_FOUND", 404, "No bill for this month.", "查無此月份帳單。"),
    ExportNotFound = ("EXPORT_NOT_FOUND", 404, "No such export.", "查無此匯出檔案。"),
    /// The chosen delivery method is not enabled in the merchant's contract.
    DeliveryMethodNotContracted = ("DELIVERY_METHOD_NOT_CONTRACTED", 409, "This delivery method is not enabled in your contract.", "合約未開通此發行方式。"),
    /// Issuance needs the ECT issuance service to be active.
    ServiceNotActive = ("SERVICE_NOT_ACTIVE", 409, "The issuance service is not active for this merchant.", "ECT發行服務狀態未開通，無法發行票券。"),
    UploadNotFound = ("UPLOAD_NOT_FOUND", 404, "No such upload, or nothing was uploaded yet.", "查無此上傳檔案，或尚未上傳。"),
    /// The upload is not a readable xlsx workbook, or unpacking it would be unsafe.
    IssuanceFileInvalid = ("ISSUANCE_FILE_INVALID", 400, "The file is not a valid .xlsx workbook.", "檔案不是有效的 xlsx 檔。"),
    IssuanceFileTooLarge = ("ISSUANCE_FILE_TOO_LARGE", 413, "The file is larger than an issuance file may be.", "檔案超過發行檔案大小上限。"),
    IssuanceTooManyRows = ("ISSUANCE_TOO_MANY_ROWS", 413, "The file has more rows than one batch may have.", "檔案資料列數超過單批上限。"),
    /// The first row is not the template's header.
    IssuanceTemplateMismatch = ("ISSUANCE_TEMPLATE_MISMATCH", 400, "The file does not follow the issuance template's columns.", "檔案欄位與範例模板不符。"),
    /// No preview is shown while any row lacks its import number (§7-3 B 注意事項 2).
    IssuanceImportNoMissing = ("ISSUANCE_IMPORT_NO_MISSING", 400, "Every row needs an import number before a preview can be shown.", "上傳資料未填入匯入單號，無法顯示預覽。"),
    /// More than 1000 tickets in one batch (§7-3 B 注意事項 1).
    IssuanceTooManyTickets = ("ISSUANCE_TOO_MANY_TICKETS", 400, "One batch may issue at most 1000 tickets.", "每次發行上限為1000張。"),
    /// Confirming a file whose preview still shows row errors.
    IssuanceRowsInvalid = ("ISSUANCE_ROWS_INVALID", 422, "Some rows have errors; correct the file and upload it again.", "發行資料有誤，請修正後重新上傳。"),
    BatchNotFound = ("BATCH_NOT_FOUND", 404, "No such issuance batch.", "查無此發行批次。"),
    TicketNotFound = ("TICKET_NOT_FOUND", 404, "No such ticket.", "查無此票券。"),
    TicketAlreadyRedeemed = ("TICKET_ALREADY_REDEEMED", 409, "The ticket was already redeemed.", "此票券已核銷。"),
    TicketAlreadyReturned = ("TICKET_ALREADY_RETURNED", 409, "The ticket was returned or is being returned.", "此票券已退貨或退貨處理中。"),
    TicketExpired = ("TICKET_EXPIRED", 409, "The ticket has expired.", "此票券已逾期。"),
    /// The operation does not apply to the ticket's status.
    TicketStatusConflict = ("TICKET_STATUS_CONFLICT", 409, "The ticket's status does not allow this.", "票券狀態不允許此操作。"),
    /// Sent to the bank (redeeming/redeemed, returning/returned): no status may change.
    TicketWithBank = ("TICKET_WITH_BANK", 409, "The ticket was sent to the bank and can no longer change.", "票券已送銀行處理，無法異動。"),
    TicketNotRedeemed = ("TICKET_NOT_REDEEMED", 409, "The ticket is not redeemed.", "此票券未核銷。"),
    TicketNotReturned = ("TICKET_NOT_RETURNED", 409, "The ticket is not returned.", "此票券未退貨。"),
    GiftVoucherNotCancellable = ("GIFT_VOUCHER_NOT_CANCELLABLE", 409, "A gift voucher's redemption cannot be cancelled.", "贈品券無法取消核銷。"),
    /// The same-day window (until 23:59 Taipei of the day it happened) is over.
    CancelWindowClosed = ("CANCEL_WINDOW_CLOSED", 409, "It can only be cancelled until 23:59 (Taipei) of the day it happened.", "僅能於當日23:59前取消。"),
    ReturnFeeNotAllowed = ("RETURN_FEE_NOT_ALLOWED", 400, "A return handling fee applies only to goods vouchers within escrow.", "僅價金保管期間內的提貨券可收取退貨手續費。"),
    ReturnFeeTooHigh = ("RETURN_FEE_TOO_HIGH", 400, "The return handling fee may not exceed the face value.", "退貨手續費不可高於票面金額。"),
    /// Only the branch or store that redeemed (returned) a ticket, or head office, may cancel.
    NotOriginalActor = ("NOT_ORIGINAL_ACTOR", 403, "Only head office or whoever performed the operation may cancel it.", "僅總公司或原操作分店／商店可取消。"),
    BranchNotPermitted = ("BRANCH_NOT_PERMITTED", 403, "This branch is not permitted for this product.", "此分店不在商品的核銷或退貨分店中。"),
    StoreNotPermitted = ("STORE_NOT_PERMITTED", 403, "This store may not redeem this product.", "此商店不可核銷此商品。"),
    IssuerOnly = ("ISSUER_ONLY", 403, "Only the issuer may do this.", "僅發行商店可執行此操作。"),
    /// The e-ticket link leads nowhere (mistyped, or replaced by a change of buyer).
    TicketLinkNotFound = ("TICKET_LINK_NOT_FOUND", 404, "This e-ticket link is not valid.", "此電子票券連結無效。"),
    /// A non-immediate ticket before the day it becomes valid (docs/decisions/0015).
    TicketNotYetValid = ("TICKET_NOT_YET_VALID", 409, "This ticket is not valid yet.", "此票券尚未到可使用日期。"),
    /// Only unused electronic goods vouchers still with their buyer can be given.
    TicketNotTransferable = ("TICKET_NOT_TRANSFERABLE", 409, "This ticket cannot be transferred.", "此票券無法轉贈。"),
    TransferNotFound = ("TRANSFER_NOT_FOUND", 404, "No such transfer.", "查無此轉贈紀錄。"),
    /// The transfer was cancelled already.
    TransferNotActive = ("TRANSFER_NOT_ACTIVE", 409, "This transfer was cancelled already.", "此轉贈已取消。"),
    /// The merchant has not enabled return requests from the e-ticket page (§3-3).
    ConsumerReturnNotEnabled = ("CONSUMER_RETURN_NOT_ENABLED", 403, "This merchant does not take return requests online.", "此商店未開放線上申請退貨。"),
    IssuedOrderNotFound = ("ISSUED_ORDER_NOT_FOUND", 404, "No such issued order.", "查無此發行訂單。"),
    /// A change of buyer of an order whose tickets were given to someone (§7-3 C).
    OrderTicketsTransferred = ("ORDER_TICKETS_TRANSFERRED", 409, "Some tickets of this order were transferred; its buyer cannot change.", "票券已轉贈，無法變更購買人。"),
    /// A change of buyer or resend of an order whose paper tickets were printed (§7-3 C).
    OrderTicketsPrinted = ("ORDER_TICKETS_PRINTED", 409, "Tickets of this order were printed; this is no longer possible.", "票券已列印，無法執行此操作。"),
    /// Paper tickets are not sent to anyone, so there is nothing to resend (§7-3 C).
    ResendNotOffered = ("RESEND_NOT_OFFERED", 409, "Paper tickets are not sent, so they cannot be resent.", "紙本票券不提供補發通知。"),
    /// Printing applies to unused paper tickets of the right kind of printing (§7-3 D).
    TicketNotPrintable = ("TICKET_NOT_PRINTABLE", 409, "This ticket cannot be printed (or advanced in the print run) now.", "此票券無法列印。"),
    /// The merchant's redemption mode (使用後核銷 / 分期核銷) does not offer this operation.
    RedemptionModeMismatch = ("REDEMPTION_MODE_MISMATCH", 403, "This merchant's redemption mode does not offer this operation.", "此商店的核銷方式不提供此功能。"),
    /// No issued installment order with this number for this merchant.
    InstallmentOrderNotFound = ("INSTALLMENT_ORDER_NOT_FOUND", 404, "No such installment order.", "查無此分期訂單。"),
    /// An order return needs unused serials; this order has none left.
    OrderNothingToReturn = ("ORDER_NOTHING_TO_RETURN", 409, "The order has no unused serials to return.", "此訂單已無未使用序號可退貨。"),
    /// Cancel return needs a pending return; this order has none.
    OrderReturnNotPending = ("ORDER_RETURN_NOT_PENDING", 409, "The order has no pending return to cancel.", "此訂單沒有待退貨資料可取消。"),
    /// No callback delivery with this id for this merchant.
    DeliveryNotFound = ("DELIVERY_NOT_FOUND", 404, "No such callback delivery.", "查無此通知紀錄。"),
    /// A test callback needs the refund notify URL to be set first.
    NotifyUrlNotSet = ("NOTIFY_URL_NOT_SET", 409, "Set the refund notify URL first.", "請先設定退款結果通知網址。"),
    /// Too many requests from this address in a short time; wait and retry.
    TooManyRequests = ("TOO_MANY_REQUESTS", 429, "Too many requests; wait a minute and retry.", "請求過於頻繁，請稍後再試。"),
    IdempotencyKeyRequired = ("IDEMPOTENCY_KEY_REQUIRED", 400, "This request needs an Idempotency-Key header (1 to 64 letters, digits, - or _).", "此請求需要 Idempotency-Key 標頭。"),
    /// The key was used before with another request body.
    IdempotencyKeyReused = ("IDEMPOTENCY_KEY_REUSED", 422, "This Idempotency-Key was already used for a different request.", "此 Idempotency-Key 已用於不同的請求。"),
    /// Someone changed the record since it was read; read it again and retry.
    ConcurrentChange = ("CONCURRENT_CHANGE", 409, "The record was changed by someone else; reload and retry.", "資料已被他人修改，請重新整理後再試。"),
    /// A storage, queue or mail service did not answer; the request may be retried.
    DependencyUnavailable = ("DEPENDENCY_UNAVAILABLE", 503, "A service Tessera depends on is unavailable; retry later.", "系統相依服務暫時無法使用，請稍後再試。"),
    /// An unexpected fault inside Tessera. Nothing the caller did; the request id is logged.
    InternalError = ("INTERNAL_ERROR", 500, "An unexpected error occurred.", "系統發生未預期的錯誤。"),
}

impl ErrorCode {
    /// Looks a code up by its stable name, ignoring ASCII case and surrounding spaces.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        let code = code.trim();
        ErrorCode::ALL
            .iter()
            .copied()
            .find(|candidate| candidate.code().eq_ignore_ascii_case(code))
    }
}

impl From<ErrorCode> for &'static str {
    fn from(code: ErrorCode) -> Self {
        code.code()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where a bad value was found and why it is bad.
///
/// `field` names a JSON field (dotted path); `row`/`column` point into an uploaded
/// spreadsheet (1-based row as shown in Excel, column header text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub reason: String,
}

impl Violation {
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            field: Some(field.into()),
            row: None,
            column: None,
            reason: reason.into(),
        }
    }

    pub fn cell(row: u32, column: impl Into<String>, reason: impl Into<String>) -> Self {
        Violation {
            field: None,
            row: Some(row),
            column: Some(column.into()),
            reason: reason.into(),
        }
    }
}

/// The error every layer returns: a code from the table, an optional human detail for this
/// occurrence, and, for validation errors, the list of violations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub detail: Option<String>,
    pub violations: Vec<Violation>,
}

impl Error {
    pub fn new(code: ErrorCode) -> Self {
        Error {
            code,
            detail: None,
            violations: Vec::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// A validation error about a single field.
    pub fn invalid_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::invalid(vec![Violation::field(field, reason)])
    }

    /// A validation error listing every violation found.
    pub fn invalid(violations: Vec<Violation>) -> Self {
        Error {
            code: ErrorCode::ValidationFailed,
            detail: None,
            violations,
        }
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error::new(code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {}", self.code, detail),
            None => write!(f, "{}: {}", self.code, self.code.message_en()),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_screaming_snake_case_and_fully_described() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.code();
            assert!(seen.insert(name), "duplicate code {name}");
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "{name} is not SCREAMING_SNAKE_CASE"
            );
            assert!((400..600).contains(&code.http_status()), "{name} status");
            assert!(!code.message_en().is_empty(), "{name} english message");
            assert!(!code.message_zh_tw().is_empty(), "{name} chinese message");
        }
    }

    #[test]
    fn parse_ignores_case_and_spaces_and_rejects_unknown_codes() {
        assert_eq!(
            ErrorCode::parse(" validation_failed "),
            Some(ErrorCode::ValidationFailed)
        );
        assert_eq!(ErrorCode::parse("NO_SUCH_CODE"), None);
        assert_eq!(ErrorCode::parse(""), None);
    }

    #[test]
    fn validation_errors_carry_field_and_cell_locations() {
        let error = Error::invalid(vec![
            Violation::field("contacts.billing.email", "not an email address"),
            Violation::cell(7, "購買人手機", "must be 09 followed by 8 digits"),
        ]);
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(
            error.violations[0].field.as_deref(),
            Some("contacts.billing.email")
        );
        assert_eq!(error.violations[1].row, Some(7));
        assert_eq!(
            error.to_string(),
            "VALIDATION_FAILED: One or more fields are invalid; see the errors list."
        );
    }
}

/// The longest code name the lookup accepts; anything longer cannot be a code.
pub const MAX_CODE_QUERY_LEN: usize = 64;

/// The error-code lookup rule (§5-1): an empty query lists every code, otherwise exactly
/// the code asked for, or `ERROR_CODE_NOT_FOUND`.
pub fn lookup_error_codes(query: Option<&str>) -> Result<Vec<ErrorCode>, Error> {
    let query = query.map(str::trim).unwrap_or_default();
    if query.is_empty() {
        return Ok(ErrorCode::ALL.to_vec());
    }
    if query.chars().count() > MAX_CODE_QUERY_LEN {
        return Err(Error::invalid_field(
            "code",
            format!("an error code has at most {MAX_CODE_QUERY_LEN} characters"),
        ));
    }
    ErrorCode::parse(query)
        .map(|code| vec![code])
        .ok_or_else(|| {
            Error::new(ErrorCode::ErrorCodeNotFound)
                .with_detail(format!("no error code is named {query:?}"))
        })
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn lookup_cases() {
        assert_eq!(lookup_error_codes(None).unwrap(), ErrorCode::ALL);
        assert_eq!(lookup_error_codes(Some("   ")).unwrap(), ErrorCode::ALL);
        assert_eq!(
            lookup_error_codes(Some("route_not_found")).unwrap(),
            vec![ErrorCode::RouteNotFound]
        );
        let unknown = lookup_error_codes(Some("NOPE")).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::ErrorCodeNotFound);
        let too_long = lookup_error_codes(Some(&"X".repeat(65))).unwrap_err();
        assert_eq!(too_long.code, ErrorCode::ValidationFailed);
        assert_eq!(too_long.violations[0].field.as_deref(), Some("code"));
    }
}
