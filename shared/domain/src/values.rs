//! Values that cannot hold an invalid state: each is parsed once, at the edge, and names
//! the field and the rule when the input breaks it (§2, §4-1, §4-2, §3-2).

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::fmt;

fn invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::invalid_field(field, reason)
}

macro_rules! string_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Lets maps keyed by the value be looked up with a `&str` (hashes as the string).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

string_value!(
    /// A merchant ID (商店代號): 4–20 ASCII letters or digits.
    MerchantId
);
string_value!(
    /// A login name: the admin's account, or a sub-account ID (6–20 letters and digits).
    AccountName
);
string_value!(
    /// A branch code: 1–20 letters, digits, `-` or `_`, unique within a merchant, immutable.
    BranchCode
);
string_value!(
    /// A short free text of at most 20 characters (sub-account remark, §4-1).
    Remark
);
string_value!(
    /// A ticket number (票券序號): a 12-digit platform-wide sequence and a Luhn check digit
    /// (made and parsed in [`crate::tickets`]).
    TicketNumber
);
string_value!(
    /// A redemption code (核銷代碼), normalised: a random part, then the ticket's sequence
    /// (made and parsed in [`crate::tickets`]).
    RedemptionCode
);
string_value!(
    /// A product number (商品編號): `P` and 10 code characters (made and parsed in
    /// [`crate::products`]).
    ProductId
);
string_value!(
    /// A merchant's order number (廠商訂單編號): 1–20 letters or digits (parsed in
    /// [`crate::orders`]).
    TradeNo
);

impl MerchantId {
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        if !(4..=20).contains(&value.len()) || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(invalid(field, "a merchant ID is 4 to 20 letters or digits"));
        }
        Ok(MerchantId(value.to_owned()))
    }
}

impl AccountName {
    /// The platform itself, in the history of what it does on its own (jobs, a ticket's
    /// term running out). No sub-account can be called this: their IDs mix in digits.
    pub fn system() -> Self {
        AccountName("system".to_owned())
    }

    /// The consumer, in the history of what a ticket's holder did from the e-ticket page
    /// (a transfer). No login name can be called this: login names have no `~`.
    pub fn consumer() -> Self {
        AccountName("~consumer".to_owned())
    }

    /// A sub-account ID: 6–20 characters mixing letters and digits (§4-1).
    pub fn parse_sub_account(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        letters_and_digits_mixed(field, value, "a sub-account ID")?;
        Ok(AccountName(value.to_owned()))
    }

    /// Any login name as typed at sign-in: admin names follow the merchant's own choice, so
    /// only the length and character set are checked here.
    pub fn parse_login(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        if !(1..=20).contains(&value.chars().count())
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(invalid(
                field,
                "an account is 1 to 20 letters, digits or . _ - @",
            ));
        }
        Ok(AccountName(value.to_owned()))
    }
}

impl BranchCode {
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        if !(1..=20).contains(&value.len())
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                field,
                "a branch code is 1 to 20 letters, digits, - or _",
            ));
        }
        Ok(BranchCode(value.to_owned()))
    }
}

impl Remark {
    pub const MAX_CHARS: usize = 20;

    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let value = value.trim();
        if value.chars().count() > Self::MAX_CHARS {
            return Err(invalid(
                field,
                format!("at most {} characters", Self::MAX_CHARS),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid(field, "must not contain control characters"));
        }
        Ok(Remark(value.to_owned()))
    }
}

fn letters_and_digits_mixed(field: &str, value: &str, what: &str) -> Result<(), Error> {
    let length_ok = (6..=20).contains(&value.chars().count());
    let charset_ok = value.chars().all(|c| c.is_ascii_alphanumeric());
    let mixed =
        value.chars().any(|c| c.is_ascii_alphabetic()) && value.chars().any(|c| c.is_ascii_digit());
    if length_ok && charset_ok && mixed {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{what} is 6 to 20 characters mixing letters and digits"),
        ))
    }
}

/// A password that met its rule when it was set. Never displayed, logged or serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    /// The admin rule (§4-2): 6–20 characters with at least two of letters, digits, symbols.
    pub fn parse_admin(field: &str, value: &str) -> Result<Self, Error> {
        let length_ok = (6..=20).contains(&value.chars().count());
        let printable = value.chars().all(|c| c.is_ascii_graphic());
        let kinds = [
            value.chars().any(|c| c.is_ascii_alphabetic()),
            value.chars().any(|c| c.is_ascii_digit()),
            value.chars().any(|c| c.is_ascii_punctuation()),
        ]
        .iter()
        .filter(|present| **present)
        .count();
        if length_ok && printable && kinds >= 2 {
            Ok(NewPassword(value.to_owned()))
        } else {
            Err(invalid(
                field,
                "a password is 6 to 20 characters mixing at least two of letters, digits and symbols",
            ))
        }
    }

    /// The sub-account rule (§4-1): 6–20 characters mixing letters and digits.
    pub fn parse_sub_account(field: &str, value: &str) -> Result<Self, Error> {
        letters_and_digits_mixed(field, value, "a sub-account password")?;
        Ok(NewPassword(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

/// One or more email addresses separated by a half-width `;` (§3-2). Each address is
/// checked; the first bad one is named in the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct EmailList(Vec<String>);

impl EmailList {
    pub const MAX_ADDRESSES: usize = 10;

    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let addresses: Vec<String> = value
            .split(';')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_owned)
            .collect();
        if addresses.is_empty() {
            return Err(invalid(field, "at least one email address is required"));
        }
        if addresses.len() > Self::MAX_ADDRESSES {
            return Err(invalid(
                field,
                format!("at most {} addresses", Self::MAX_ADDRESSES),
            ));
        }
        if let Some(bad) = addresses.iter().find(|address| !is_email(address)) {
            return Err(invalid(
                field,
                format!("{bad:?} is not a valid email address"),
            ));
        }
        Ok(EmailList(addresses))
    }

    pub fn addresses(&self) -> &[String] {
        &self.0
    }
}

impl From<EmailList> for String {
    fn from(list: EmailList) -> String {
        list.0.join(";")
    }
}

impl TryFrom<String> for EmailList {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        EmailList::parse("email", &value).map_err(|e| e.to_string())
    }
}

/// A practical address check: one `@`, a plausible local part, a dotted domain of
/// letters, digits and hyphens. (Full RFC 5322 accepts things no mail system delivers.)
/// Bytes as lowercase hexadecimal, two digits a byte: how digests, tokens and random ids
/// are spelled.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = address.len() <= 254
        && labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_spells_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f, 0xff]), "00ab0fff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn admin_passwords_need_two_kinds_of_characters() {
        let cases = [
            ("abc123", true),
            ("abc!@#", true),
            ("123!@#", true),
            ("abcdef", false),
            ("123456", false),
            ("!@#$%^", false),
            ("ab12", false),                  // too short
            ("abcdefghij1234567890x", false), // 21 characters
            ("abc 123", false),               // space
            ("密碼abc123", false),            // not ASCII
        ];
        for (password, ok) in cases {
            assert_eq!(
                NewPassword::parse_admin("password", password).is_ok(),
                ok,
                "{password}"
            );
        }
    }

    #[test]
    fn sub_account_ids_and_passwords_mix_letters_and_digits_only() {
        let cases = [
            ("staff01", true),
            ("01staff", true),
            ("abcdefghij1234567890", true),
            ("staff", false),
            ("staffer", false),
            ("123456", false),
            ("staff_01", false),
            ("abcdefghij12345678901", false),
        ];
        for (value, ok) in cases {
            assert_eq!(
                AccountName::parse_sub_account("account", value).is_ok(),
                ok,
                "{value}"
            );
            assert_eq!(
                NewPassword::parse_sub_account("password", value).is_ok(),
                ok,
                "{value}"
            );
        }
    }

    #[test]
    fn remarks_are_at_most_20_characters_counting_chinese_as_one() {
        assert!(Remark::parse("remark", &"店".repeat(20)).is_ok());
        let error = Remark::parse("remark", &"店".repeat(21)).unwrap_err();
        assert_eq!(error.violations[0].field.as_deref(), Some("remark"));
        assert!(Remark::parse("remark", "line\nbreak").is_err());
    }

    #[test]
    fn email_lists_name_the_bad_address() {
        let list = EmailList::parse("billing.email", "a@example.com; b.c@shop.com.tw ;").unwrap();
        assert_eq!(list.addresses(), ["a@example.com", "b.c@shop.com.tw"]);
        let error =
            EmailList::parse("billing.email", "a@example.com;not-an-email;c@x.io").unwrap_err();
        assert_eq!(error.violations[0].field.as_deref(), Some("billing.email"));
        assert!(error.violations[0].reason.contains("not-an-email"));
        assert!(EmailList::parse("e", " ; ").is_err());
        for bad in [
            "a@b",
            "a@@b.com",
            "a b@c.com",
            ".a@b.com",
            "a@-b.com",
            "a@b.c0m",
            "a,b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert_eq!(String::from(list), "a@example.com;b.c@shop.com.tw");
    }

    #[test]
    fn ids_and_codes_are_trimmed_and_checked() {
        assert_eq!(
            MerchantId::parse("m", " 3002607 ").unwrap().as_str(),
            "3002607"
        );
        assert!(MerchantId::parse("m", "30-26").is_err());
        assert!(BranchCode::parse("code", "TPE-01").is_ok());
        assert!(BranchCode::parse("code", "台北").is_err());
        assert!(BranchCode::parse("code", "").is_err());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let password = NewPassword::parse_admin("p", "secret123").unwrap();
        assert!(!format!("{password:?}").contains("secret"));
    }
}

/// A Taiwan mobile number, `09` and 8 digits, stored normalised. Accepts full-width digits
/// and spacing/dashes, a `+886` prefix, and a number that lost its leading zero in a
/// spreadsheet cell (`912345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaiwanMobile(String);

impl TaiwanMobile {
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let digits: String = value
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{3000}'))
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                '＋' => '+',
                other => other,
            })
            .collect();
        let local = if let Some(rest) = digits.strip_prefix("+886") {
            format!("0{rest}")
        } else if digits.len() == 9 && digits.starts_with('9') {
            format!("0{digits}")
        } else {
            digits
        };
        if local.len() == 10 && local.starts_with("09") && local.chars().all(|c| c.is_ascii_digit())
        {
            Ok(TaiwanMobile(local))
        } else {
            Err(invalid(
                field,
                "a Taiwan mobile number: 09 followed by 8 digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the last three digits only.
    pub fn masked(&self) -> String {
        format!("09*****{}", &self.0[self.0.len().saturating_sub(3)..])
    }
}

#[cfg(test)]
mod mobile_tests {
    use super::*;

    #[test]
    fn mobiles_are_normalised_from_what_people_and_spreadsheets_write() {
        for (input, expected) in [
            ("0912345678", "0912345678"),
            ("0912-345-678", "0912345678"),
            ("０９１２３４５６７８", "0912345678"),
            ("912345678", "0912345678"),
            ("+886 912 345 678", "0912345678"),
        ] {
            assert_eq!(
                TaiwanMobile::parse("m", input).unwrap().as_str(),
                expected,
                "{input}"
            );
        }
        for bad in ["0212345678", "091234567", "09123456789", "abc", ""] {
            assert!(TaiwanMobile::parse("m", bad).is_err(), "{bad}");
        }
        assert_eq!(
            TaiwanMobile::parse("m", "0912345678").unwrap().masked(),
            "09*****678"
        );
    }
}
