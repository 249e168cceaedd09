//! A merchant's own settings (§3-2, §3-6, §7-1): contacts, payment notifications, operation
//! settings, ticket-page information, and the contract with its fee rates.

use crate::calendar;
use crate::error::{Error, ErrorCode, Violation};
use crate::values::{is_email, EmailList};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A contact person (billing, business or technical).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    /// One or more addresses separated by `;`.
    pub email: String,
}

pub const CONTACT_NAME_MAX: usize = 30;
pub const PHONE_MAX: usize = 20;

impl Contact {
    /// Checks a contact, naming fields under `prefix` (e.g. `contacts.billing`).
    pub fn validate(&self, prefix: &str, violations: &mut Vec<Violation>) -> Contact {
        let name = self.name.trim();
        if name.chars().count() > CONTACT_NAME_MAX || name.chars().any(char::is_control) {
            violations.push(Violation::field(
                format!("{prefix}.name"),
                format!("at most {CONTACT_NAME_MAX} characters"),
            ));
        }
        let phone = self.phone.trim();
        if !valid_phone(phone) {
            violations.push(Violation::field(
                format!("{prefix}.phone"),
                format!("at most {PHONE_MAX} digits, spaces and + - ( ) #"),
            ));
        }
        let email = self.email.trim();
        let email = if email.is_empty() {
            String::new()
        } else {
            match EmailList::parse(&format!("{prefix}.email"), email) {
                Ok(list) => String::from(list),
                Err(error) => {
                    violations.extend(error.violations);
                    String::new()
                }
            }
        };
        Contact {
            name: name.to_owned(),
            phone: phone.to_owned(),
            email,
        }
    }
}

pub fn valid_phone(phone: &str) -> bool {
    phone.chars().count() <= PHONE_MAX
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()#".contains(c))
}

/// How a ticket reaches its holder (出券類型/發行方式, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMethod {
    /// Convenience-store ticket: an ibon pickup code is sent to the buyer.
    Ibon,
    /// Paper ticket printed by the platform.
    PaperByPlatform,
    /// Paper ticket printed by the merchant.
    PaperByMerchant,
    /// Electronic ticket sent at once.
    ElectronicImmediate,
    /// Electronic ticket sent later.
    ElectronicDeferred,
}

/// How redemption settles (§六, §八).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedemptionMode {
    /// 使用後核銷: redeemed when used.
    RedeemAfterUse,
    /// 分期核銷: redeemed by the system period by period.
    Installment,
}

/// A merchant's redemption mode: its contract's; no contract yet is redeem-after-use, the
/// platform's default.
pub fn redemption_mode(contract: Option<&Contract>) -> RedemptionMode {
    contract.map_or(RedemptionMode::RedeemAfterUse, |c| c.redemption_mode)
}

/// Refuses what the merchant's redemption mode does not offer (§四, §八): installment orders
/// for a merchant that redeems after use, tickets for an installment merchant. No contract
/// yet counts as redeem-after-use, the platform's default.
pub fn require_mode(contract: Option<&Contract>, wanted: RedemptionMode) -> Result<(), Error> {
    let mode = redemption_mode(contract);
    if mode == wanted {
        return Ok(());
    }
    let (is, offers) = match mode {
        RedemptionMode::RedeemAfterUse => ("redeem_after_use", "tickets"),
        RedemptionMode::Installment => ("installment", "installment orders"),
    };
    Err(
        Error::new(ErrorCode::RedemptionModeMismatch).with_detail(format!(
            "the merchant's mode is {is}: it works with {offers}"
        )),
    )
}

/// The contract the platform operator sets for a merchant (§3-6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// The operator's switch: issuance service (ECT) opened for this merchant.
    pub issuance_enabled: bool,
    pub sms_contracted: bool,
    pub redemption_mode: RedemptionMode,
    pub delivery_methods: Vec<DeliveryMethod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    Active,
    NotStarted,
    Expired,
    Suspended,
}

impl Contract {
    /// The service status on the Taipei day `now` falls on.
    pub fn status(&self, now: DateTime<Utc>) -> ServiceStatus {
        let today = calendar::taipei_date(now);
        if !self.issuance_enabled {
            ServiceStatus::Suspended
        } else if today < self.starts_on {
            ServiceStatus::NotStarted
        } else if today > self.ends_on {
            ServiceStatus::Expired
        } else {
            ServiceStatus::Active
        }
    }
}

/// The merchant's switches in operation settings (§7-1 基本設定).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationSettings {
    pub sms_enabled: bool,
    pub consumer_returns_enabled: bool,
}

impl OperationSettings {
    /// SMS can be switched on only when the contract includes it (§7-1: "並未開通此服務").
    pub fn validate(&self, contract: Option<&Contract>) -> Result<(), Error> {
        let contracted = contract.is_some_and(|c| c.sms_contracted);
        if self.sms_enabled && !contracted {
            return Err(Error::new(ErrorCode::SmsNotContracted));
        }
        Ok(())
    }
}

/// The refund-result notify URL (§八 8-1 退款結果主動通知 URL), at most this long.
pub const NOTIFY_URL_MAX: usize = 500;

/// Checks a refund notify URL: `https://` (also `http://` where `allow_http`: a local
/// stack) with a host, printable ASCII without spaces, no credentials, no fragment, at most
/// [`NOTIFY_URL_MAX`] characters. (Where it may connect is the sender's check, after DNS
/// resolution.)
pub fn parse_notify_url(field: &str, value: &str, allow_http: bool) -> Result<String, Error> {
    let value = value.trim();
    let reason = format!(
        "an https:// URL with a host, at most {NOTIFY_URL_MAX} characters, no spaces, credentials or fragment"
    );
    let rest = match value.strip_prefix("https://") {
        Some(rest) => rest,
        None => match value.strip_prefix("http://").filter(|_| allow_http) {
            Some(rest) => rest,
            None => return Err(Error::invalid_field(field, reason)),
        },
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, port)| {
            if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
                host
            } else {
                authority
            }
        });
    let valid = value.len() <= NOTIFY_URL_MAX
        && value.chars().all(|c| c.is_ascii_graphic())
        && !authority.contains('@')
        && !value.contains('#')
        && !host.is_empty()
        && host.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '[' || c == ']' || c == ':'
        });
    if !valid {
        return Err(Error::invalid_field(field, reason));
    }
    Ok(value.to_owned())
}

/// Sign-in alerts by mail (§3-5): on failed sign-ins, and on a sign-in from a device or
/// browser the account has not used before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAlerts {
    pub on_failed_sign_in: bool,
    pub on_new_device: bool,
    /// `;`-separated recipients; required while any alert is on.
    pub emails: String,
}

impl LoginAlerts {
    pub fn validate(self) -> Result<LoginAlerts, Error> {
        let emails = if self.emails.trim().is_empty() {
            if self.on_failed_sign_in || self.on_new_device {
                return Err(Error::invalid_field(
                    "emails",
                    "at least one address is needed while an alert is on",
                ));
            }
            String::new()
        } else {
            String::from(EmailList::parse("emails", &self.emails)?)
        };
        Ok(LoginAlerts { emails, ..self })
    }

    pub fn recipients(&self) -> Vec<String> {
        EmailList::parse("emails", &self.emails)
            .map(|list| list.addresses().to_vec())
            .unwrap_or_default()
    }
}

/// A fee item of §六.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeItem {
    ReturnOperation,
    Sms,
    PaperPrinting,
    SerialProcessing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeBasis {
    /// NT$ per unit (ticket, SMS, print, serial; per order in installment mode).
    PerUnit,
    /// Percent of the face value (or amount) concerned.
    Percent,
}

/// One fee rate, incl. tax, in force from an instant until a later rate replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeRate {
    pub mode: RedemptionMode,
    pub item: FeeItem,
    pub basis: FeeBasis,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub effective_from: DateTime<Utc>,
}

/// The rate of `item` in force on Taipei day `day`: if the rate changed during that day,
/// the latest one of the day (§6-3).
pub fn rate_in_force(
    rates: &[FeeRate],
    mode: RedemptionMode,
    item: FeeItem,
    day: NaiveDate,
) -> Option<&FeeRate> {
    let end_of_day = calendar::end_of_day_exclusive(day);
    rates
        .iter()
        .filter(|rate| rate.mode == mode && rate.item == item && rate.effective_from < end_of_day)
        .max_by_key(|rate| rate.effective_from)
}

/// Customer-service details shown on tickets (§7-1 票券頁面資訊).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerService {
    pub phone: String,
    pub email: String,
    /// Up to five https links (social pages), shown on e-tickets and mails.
    pub links: Vec<String>,
}

pub const STATEMENT_MAX: usize = 1000;
pub const MAX_LINKS: usize = 5;

impl CustomerService {
    pub fn validate(&self, violations: &mut Vec<Violation>) -> CustomerService {
        let phone = self.phone.trim();
        if !valid_phone(phone) {
            violations.push(Violation::field(
                "customer_service.phone",
                format!("at most {PHONE_MAX} digits, spaces and + - ( ) #"),
            ));
        }
        let email = self.email.trim();
        if !email.is_empty() && !is_email(email) {
            violations.push(Violation::field(
                "customer_service.email",
                format!("{email:?} is not a valid email address"),
            ));
        }
        if self.links.len() > MAX_LINKS {
            violations.push(Violation::field(
                "customer_service.links",
                format!("at most {MAX_LINKS} links"),
            ));
        }
        for (index, link) in self.links.iter().enumerate() {
            let ok = link.len() <= 200
                && link.starts_with("https://")
                && link.len() > "https://".len()
                && !link.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                violations.push(Violation::field(
                    format!("customer_service.links[{index}]"),
                    "an https:// link of at most 200 characters",
                ));
            }
        }
        CustomerService {
            phone: phone.to_owned(),
            email: email.to_owned(),
            links: self.links.iter().map(|l| l.trim().to_owned()).collect(),
        }
    }
}

/// The return-rights statement (goods vouchers only): at most 1000 characters.
pub fn validate_statement(statement: &str, violations: &mut Vec<Violation>) -> String {
    let statement = statement.trim();
    if statement.chars().count() > STATEMENT_MAX {
        violations.push(Violation::field(
            "return_rights_statement",
            format!("at most {STATEMENT_MAX} characters"),
        ));
    }
    statement.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn contract() -> Contract {
        Contract {
            starts_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            ends_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            issuance_enabled: true,
            sms_contracted: false,
            redemption_mode: RedemptionMode::RedeemAfterUse,
            delivery_methods: vec![DeliveryMethod::ElectronicImmediate],
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn service_status_follows_the_taipei_calendar_and_the_switch() {
        let c = contract();
        let cases = [
            (utc(2025, 12, 31, 15, 59), ServiceStatus::NotStarted), // 23:59 Taipei, 31 Dec 2025
            (utc(2025, 12, 31, 16, 0), ServiceStatus::Active),      // 00:00 Taipei, 1 Jan 2026
            (utc(2026, 12, 31, 15, 59), ServiceStatus::Active),     // last minute of the contract
            (utc(2026, 12, 31, 16, 0), ServiceStatus::Expired),
        ];
        for (now, expected) in cases {
            assert_eq!(c.status(now), expected, "{now}");
        }
        let suspended = Contract {
            issuance_enabled: false,
            ..contract()
        };
        assert_eq!(
            suspended.status(utc(2026, 6, 1, 0, 0)),
            ServiceStatus::Suspended
        );
    }

    #[test]
    fn sms_needs_the_contract() {
        let on = OperationSettings {
            sms_enabled: true,
            consumer_returns_enabled: false,
        };
        assert_eq!(
            on.validate(Some(&contract())).unwrap_err().code,
            ErrorCode::SmsNotContracted
        );
        assert_eq!(
            on.validate(None).unwrap_err().code,
            ErrorCode::SmsNotContracted
        );
        let with_sms = Contract {
            sms_contracted: true,
            ..contract()
        };
        assert!(on.validate(Some(&with_sms)).is_ok());
        assert!(OperationSettings::default().validate(None).is_ok());
    }

    #[test]
    fn the_rate_in_force_on_a_day_is_the_latest_of_that_day() {
        let rate = |amount: i64, at: DateTime<Utc>| FeeRate {
            mode: RedemptionMode::RedeemAfterUse,
            item: FeeItem::ReturnOperation,
            basis: FeeBasis::PerUnit,
            amount: Decimal::new(amount, 0),
            effective_from: at,
        };
        let rates = vec![
            rate(10, utc(2026, 1, 1, 0, 0)),
            rate(12, utc(2026, 5, 1, 2, 0)),  // 10:00 Taipei, 1 May
            rate(15, utc(2026, 5, 1, 14, 0)), // 22:00 Taipei, 1 May
            rate(20, utc(2026, 5, 1, 16, 0)), // 00:00 Taipei, 2 May
        ];
        let on = |y, m, d| {
            rate_in_force(
                &rates,
                RedemptionMode::RedeemAfterUse,
                FeeItem::ReturnOperation,
                NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            )
            .map(|r| r.amount)
        };
        assert_eq!(on(2025, 12, 31), None);
        assert_eq!(on(2026, 4, 30), Some(Decimal::new(10, 0)));
        assert_eq!(
            on(2026, 5, 1),
            Some(Decimal::new(15, 0)),
            "latest of the day"
        );
        assert_eq!(on(2026, 5, 2), Some(Decimal::new(20, 0)));
        assert_eq!(
            rate_in_force(
                &rates,
                RedemptionMode::Installment,
                FeeItem::ReturnOperation,
                NaiveDate::from_ymd_opt(2026, 5, 2).unwrap()
            ),
            None
        );
    }

    #[test]
    fn login_alerts_need_recipients_while_on() {
        let off = LoginAlerts::default();
        assert!(off.validate().is_ok());
        let on = LoginAlerts {
            on_failed_sign_in: true,
            on_new_device: false,
            emails: " ".into(),
        };
        assert_eq!(
            on.validate().unwrap_err().violations[0].field.as_deref(),
            Some("emails")
        );
        let bad = LoginAlerts {
            on_failed_sign_in: true,
            on_new_device: true,
            emails: "ok@x.com;nope".into(),
        };
        assert!(bad.validate().unwrap_err().violations[0]
            .reason
            .contains("nope"));
        let good = LoginAlerts {
            on_failed_sign_in: true,
            on_new_device: true,
            emails: "a@x.com ; b@y.com".into(),
        }
        .validate()
        .unwrap();
        assert_eq!(good.recipients(), ["a@x.com", "b@y.com"]);
    }

    #[test]
    fn contacts_and_customer_service_name_their_bad_fields() {
        let mut violations = Vec::new();
        let contact = Contact {
            name: "王小明".into(),
            phone: "02-1234-5678".into(),
            email: "a@x.com;bad".into(),
        };
        contact.validate("contacts.billing", &mut violations);
        assert_eq!(
            violations[0].field.as_deref(),
            Some("contacts.billing.email")
        );
        assert!(violations[0].reason.contains("bad"));

        let mut violations = Vec::new();
        let service = CustomerService {
            phone: "hotline".into(),
            email: "x".into(),
            links: vec!["http://insecure.example".into()],
        };
        service.validate(&mut violations);
        let fields: Vec<_> = violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(
            fields,
            [
                "customer_service.phone",
                "customer_service.email",
                "customer_service.links[0]"
            ]
        );
    }
}

/// The two images of the ticket page (§7-1 電子票券-自訂圖片設定).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketImage {
    /// On e-tickets, paper tickets and notification mails.
    Logo,
    /// On the e-ticket redemption sign-in page.
    Banner,
    /// A product's picture, on its tickets and in its listing (§7-3 A).
    Product,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
}

impl TicketImage {
    pub const fn max_bytes(self) -> u64 {
        match self {
            TicketImage::Logo | TicketImage::Product => 1024 * 1024,
            TicketImage::Banner => 3 * 1024 * 1024,
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            TicketImage::Logo => "logo",
            TicketImage::Banner => "banner",
            TicketImage::Product => "product",
        }
    }
}

impl ImageType {
    pub fn from_content_type(content_type: &str) -> Option<ImageType> {
        match content_type.trim().to_ascii_lowercase().as_str() {
            "image/png" => Some(ImageType::Png),
            "image/jpeg" => Some(ImageType::Jpeg),
            _ => None,
        }
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
        }
    }

    /// Whether a file's first bytes are this format's signature: the declared type is the
    /// uploader's word, the bytes are the file's.
    pub fn matches_magic(self, head: &[u8]) -> bool {
        match self {
            ImageType::Png => head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]),
            ImageType::Jpeg => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        }
    }
}

/// Checks an upload request: a PNG or JPEG of 1 byte up to the image's limit.
pub fn validate_image_upload(
    image: TicketImage,
    content_type: &str,
    size: u64,
) -> Result<ImageType, Error> {
    let mut violations = Vec::new();
    let kind = ImageType::from_content_type(content_type);
    if kind.is_none() {
        violations.push(Violation::field("content_type", "image/png or image/jpeg"));
    }
    if size == 0 || size > image.max_bytes() {
        violations.push(Violation::field(
            "size",
            format!("1 to {} bytes for a {}", image.max_bytes(), image.name()),
        ));
    }
    match kind {
        Some(kind) if violations.is_empty() => Ok(kind),
        _ => Err(Error::invalid(violations)),
    }
}

#[cfg(test)]
mod image_tests {
    use super::*;

    #[test]
    fn uploads_are_png_or_jpeg_within_each_images_limit() {
        assert_eq!(
            validate_image_upload(TicketImage::Logo, "image/png", 1024).unwrap(),
            ImageType::Png
        );
        assert_eq!(
            validate_image_upload(TicketImage::Banner, "IMAGE/JPEG", 3 * 1024 * 1024).unwrap(),
            ImageType::Jpeg
        );
        let error =
            validate_image_upload(TicketImage::Logo, "image/gif", 2 * 1024 * 1024).unwrap_err();
        let fields: Vec<_> = error
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(fields, ["content_type", "size"]);
        assert!(validate_image_upload(TicketImage::Logo, "image/png", 0).is_err());
        assert!(
            validate_image_upload(TicketImage::Logo, "image/svg+xml", 10).is_err(),
            "no scriptable formats"
        );
    }

    #[test]
    fn magic_bytes_decide_what_a_file_is() {
        assert!(ImageType::Png.matches_magic(b"\x89PNG\r\n\x1a\nrest"));
        assert!(!ImageType::Png.matches_magic(b"<svg>"));
        assert!(ImageType::Jpeg.matches_magic(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!ImageType::Jpeg.matches_magic(b"GIF89a"));
    }

    #[test]
    fn notify_urls_are_https_with_a_host_and_nothing_hidden() {
        for good in [
            "https://shop.example.com/refunds",
            "https://shop.example.com:8443/refunds?x=1",
            "https://203.0.113.5/hook",
        ] {
            assert_eq!(parse_notify_url("url", good, false).unwrap(), good);
        }
        for bad in [
            "http://shop.example.com/refunds",
            "https://",
            "https:///path",
            "https://user:pw@shop.example.com/",
            "https://shop.example.com/a b",
            "https://shop.example.com/#frag",
            "ftp://shop.example.com",
            &format!("https://shop.example.com/{}", "a".repeat(NOTIFY_URL_MAX)),
        ] {
            assert!(parse_notify_url("url", bad, false).is_err(), "{bad}");
        }
        // A local stack's receiver.
        assert!(parse_notify_url("url", "http://127.0.0.1:3000/_dev/webhooks", true).is_ok());
    }
}
