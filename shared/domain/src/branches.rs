//! Branch details and binding requests (§7-1), checked before anything is stored.

use crate::error::{Error, Violation};
use crate::values::AccountName;

/// What a merchant may say about a branch besides its (immutable) code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchDetails {
    pub name: String,
    pub address: String,
    pub phone: String,
}

pub const NAME_MAX: usize = 30;
pub const ADDRESS_MAX: usize = 100;
pub const PHONE_MAX: usize = 20;
/// Accounts bound or unbound in one request (one DynamoDB transaction holds two writes each).
pub const MAX_ACCOUNTS_PER_BINDING: usize = 40;

impl BranchDetails {
    pub fn parse(name: &str, address: &str, phone: &str) -> Result<Self, Error> {
        let (name, address, phone) = (name.trim(), address.trim(), phone.trim());
        let mut violations = Vec::new();
        let length = name.chars().count();
        if length == 0 || length > NAME_MAX {
            violations.push(Violation::field(
                "name",
                format!("1 to {NAME_MAX} characters"),
            ));
        }
        if address.chars().count() > ADDRESS_MAX {
            violations.push(Violation::field(
                "address",
                format!("at most {ADDRESS_MAX} characters"),
            ));
        }
        if phone.chars().count() > PHONE_MAX
            || !phone
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()#".contains(c))
        {
            violations.push(Violation::field(
                "phone",
                format!("at most {PHONE_MAX} digits, spaces and + - ( ) #"),
            ));
        }
        for (field, value) in [("name", name), ("address", address)] {
            if value.chars().any(char::is_control) {
                violations.push(Violation::field(
                    field,
                    "must not contain control characters",
                ));
            }
        }
        if violations.is_empty() {
            Ok(BranchDetails {
                name: name.to_owned(),
                address: address.to_owned(),
                phone: phone.to_owned(),
            })
        } else {
            Err(Error::invalid(violations))
        }
    }
}

/// The accounts of a bind or unbind request: 1 to 40 distinct sub-account IDs.
pub fn parse_account_list(accounts: &[String]) -> Result<Vec<AccountName>, Error> {
    if accounts.is_empty() || accounts.len() > MAX_ACCOUNTS_PER_BINDING {
        return Err(Error::invalid_field(
            "accounts",
            format!("1 to {MAX_ACCOUNTS_PER_BINDING} sub-accounts"),
        ));
    }
    let mut parsed: Vec<AccountName> = Vec::with_capacity(accounts.len());
    let mut violations = Vec::new();
    for (index, account) in accounts.iter().enumerate() {
        let field = format!("accounts[{index}]");
        match AccountName::parse_login(&field, account) {
            Ok(name) if parsed.contains(&name) => {
                violations.push(Violation::field(field, "listed twice"))
            }
            Ok(name) => parsed.push(name),
            Err(error) => violations.extend(error.violations),
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

    #[test]
    fn details_name_every_bad_field() {
        assert!(BranchDetails::parse("台北旗艦店", "台北市信義區", "02-2345-6789").is_ok());
        let error = BranchDetails::parse("", &"路".repeat(101), "call me").unwrap_err();
        let fields: Vec<_> = error
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(fields, ["name", "address", "phone"]);
        assert!(BranchDetails::parse(&"店".repeat(31), "", "").is_err());
    }

    #[test]
    fn account_lists_are_bounded_and_distinct() {
        let ok = parse_account_list(&["staff01".into(), "staff02".into()]).unwrap();
        assert_eq!(ok.len(), 2);
        assert!(parse_account_list(&[]).is_err());
        let too_many: Vec<String> = (0..41).map(|i| format!("staff{i:02}")).collect();
        assert!(parse_account_list(&too_many).is_err());
        let error = parse_account_list(&["staff01".into(), "staff01".into()]).unwrap_err();
        assert_eq!(error.violations[0].field.as_deref(), Some("accounts[1]"));
    }
}
