//! Products (§7-3 A): what a merchant issues tickets for, and the rules for changing them.

use crate::error::{Error, ErrorCode, Violation};
use crate::values::{BranchCode, MerchantId};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The two ticket kinds (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// 提貨券: paid; the price is held in bank escrow for `term_days` after issuance.
    GoodsVoucher,
    /// 贈品券: free; valid for `term_days` after issuance, then expires.
    GiftVoucher,
}

/// Everything a merchant sets on a product. Parsed from a request once; the lists are
/// checked against relations and branches by the caller (they need storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductSpec {
    pub name: String,
    pub kind: TicketKind,
    /// Escrow period (goods) or validity (gift), in days after issuance.
    pub term_days: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub face_value: Decimal,
    pub usage_notes: String,
    pub lists: ProductLists,
}

/// The three lists that may change even after issuance (§7-3 A 注意事項 4). Empty = anyone
/// with the right may act.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductLists {
    pub redeemable_stores: Vec<MerchantId>,
    pub redeem_branches: Vec<BranchCode>,
    pub return_branches: Vec<BranchCode>,
}

pub const NAME_MAX: usize = 50;
pub const NOTES_MAX: usize = 1000;
pub const TERM_MAX_DAYS: u32 = 3650;
pub const LIST_MAX: usize = 100;
/// NT$ face values are whole dollars up to one million.
pub const FACE_VALUE_MAX: i64 = 1_000_000;

impl ProductSpec {
    /// Checks every field, collecting all violations.
    pub fn validate(self) -> Result<ProductSpec, Error> {
        let mut violations = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            violations.push(Violation::field(
                "name",
                format!("1 to {NAME_MAX} characters"),
            ));
        }
        if self.term_days == 0 || self.term_days > TERM_MAX_DAYS {
            violations.push(Violation::field(
                "term_days",
                format!("1 to {TERM_MAX_DAYS} days"),
            ));
        }
        let whole = self.face_value.fract().is_zero();
        if !whole
            || self.face_value <= Decimal::ZERO
            || self.face_value > Decimal::from(FACE_VALUE_MAX)
        {
            violations.push(Violation::field(
                "face_value",
                format!("a whole NT$ amount from 1 to {FACE_VALUE_MAX}"),
            ));
        }
        let usage_notes = self.usage_notes.trim().to_owned();
        if usage_notes.chars().count() > NOTES_MAX {
            violations.push(Violation::field(
                "usage_notes",
                format!("at most {NOTES_MAX} characters"),
            ));
        }
        self.lists.check(&mut violations);
        if violations.is_empty() {
            Ok(ProductSpec {
                name,
                usage_notes,
                ..self
            })
        } else {
            Err(Error::invalid(violations))
        }
    }
}

impl ProductLists {
    fn check(&self, violations: &mut Vec<Violation>) {
        fn distinct<T: PartialEq + std::fmt::Display>(
            field: &str,
            items: &[T],
            violations: &mut Vec<Violation>,
        ) {
            if items.len() > LIST_MAX {
                violations.push(Violation::field(
                    field,
                    format!("at most {LIST_MAX} entries"),
                ));
            }
            for (index, item) in items.iter().enumerate() {
                if items[..index].contains(item) {
                    violations.push(Violation::field(
                        format!("{field}[{index}]"),
                        format!("{item} is listed twice"),
                    ));
                }
            }
        }
        distinct("redeemable_stores", &self.redeemable_stores, violations);
        distinct("redeem_branches", &self.redeem_branches, violations);
        distinct("return_branches", &self.return_branches, violations);
    }

    pub fn validate(self) -> Result<ProductLists, Error> {
        let mut violations = Vec::new();
        self.check(&mut violations);
        if violations.is_empty() {
            Ok(self)
        } else {
            Err(Error::invalid(violations))
        }
    }
}

/// Once a product has issued tickets, only its three lists may change (§7-3 A 編輯商品):
/// consumers hold tickets whose terms must not move under them.
pub fn check_edit(
    issued: bool,
    current: &ProductSpec,
    requested: &ProductSpec,
) -> Result<(), Error> {
    if !issued {
        return Ok(());
    }
    let mut locked = Vec::new();
    if current.name != requested.name {
        locked.push("name");
    }
    if current.kind != requested.kind {
        locked.push("kind");
    }
    if current.term_days != requested.term_days {
        locked.push("term_days");
    }
    if current.face_value != requested.face_value {
        locked.push("face_value");
    }
    if current.usage_notes != requested.usage_notes {
        locked.push("usage_notes");
    }
    if locked.is_empty() {
        return Ok(());
    }
    Err(Error {
        code: ErrorCode::ProductIssuedLocked,
        detail: Some(format!("tickets were issued for this product; only its store and branch lists can change, not {}", locked.join(", "))),
        violations: locked.into_iter().map(|field| Violation::field(field, "locked once tickets are issued")).collect(),
    })
}

/// A query range of Taipei dates, `from` to `to` inclusive, at most a year (the manual
/// recommends it; Tessera enforces it).
pub fn check_query_range(from: NaiveDate, to: NaiveDate) -> Result<(), Error> {
    if to < from {
        return Err(Error::invalid_field("to", "must not be before from"));
    }
    // Inclusive of both ends: 1 Jan to 31 Dec is a year; 1 Jan to 1 Jan next year is not.
    let limit = from
        .checked_add_months(chrono::Months::new(12))
        .unwrap_or(NaiveDate::MAX);
    if to >= limit {
        return Err(Error::invalid_field("to", "the range is at most one year"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProductSpec {
        ProductSpec {
            name: " 拿鐵提貨券 ".into(),
            kind: TicketKind::GoodsVoucher,
            term_days: 365,
            face_value: Decimal::new(120, 0),
            usage_notes: "限門市使用".into(),
            lists: ProductLists::default(),
        }
    }

    #[test]
    fn a_valid_spec_is_trimmed_and_every_bad_field_named() {
        assert_eq!(spec().validate().unwrap().name, "拿鐵提貨券");
        let bad = ProductSpec {
            name: String::new(),
            term_days: 0,
            face_value: Decimal::new(1205, 1),
            usage_notes: "字".repeat(1001),
            lists: ProductLists {
                redeem_branches: vec![
                    BranchCode::parse("b", "TPE01").unwrap(),
                    BranchCode::parse("b", "TPE01").unwrap(),
                ],
                ..Default::default()
            },
            ..spec()
        };
        let error = bad.validate().unwrap_err();
        let fields: Vec<_> = error
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "term_days",
                "face_value",
                "usage_notes",
                "redeem_branches[1]"
            ]
        );
        for value in [
            Decimal::ZERO,
            Decimal::new(-5, 0),
            Decimal::new(1_000_001, 0),
        ] {
            assert!(
                ProductSpec {
                    face_value: value,
                    ..spec()
                }
                .validate()
                .is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn after_issuance_only_the_lists_change() {
        let current = spec();
        let lists_only = ProductSpec {
            lists: ProductLists {
                redeem_branches: vec![BranchCode::parse("b", "TPE01").unwrap()],
                ..Default::default()
            },
            ..spec()
        };
        assert!(check_edit(true, &current, &lists_only).is_ok());
        let repriced = ProductSpec {
            face_value: Decimal::new(150, 0),
            name: "新名".into(),
            ..spec()
        };
        assert!(
            check_edit(false, &current, &repriced).is_ok(),
            "never issued: anything goes"
        );
        let error = check_edit(true, &current, &repriced).unwrap_err();
        assert_eq!(error.code, ErrorCode::ProductIssuedLocked);
        let fields: Vec<_> = error
            .violations
            .iter()
            .filter_map(|v| v.field.as_deref())
            .collect();
        assert_eq!(fields, ["name", "face_value"]);
    }

    #[test]
    fn query_ranges_are_at_most_a_year() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(check_query_range(day(2026, 1, 1), day(2026, 12, 31)).is_ok());
        assert!(
            check_query_range(day(2024, 1, 1), day(2024, 12, 31)).is_ok(),
            "leap year: 366 days inclusive"
        );
        assert!(check_query_range(day(2026, 1, 1), day(2027, 1, 1)).is_err());
        assert!(check_query_range(day(2026, 5, 2), day(2026, 5, 1)).is_err());
        assert!(check_query_range(day(2024, 2, 29), day(2025, 2, 27)).is_ok());
        assert!(check_query_range(day(2024, 2, 29), day(2025, 2, 28)).is_err());
    }
}

/// Characters of generated codes: no 0/O, 1/I/L, so a code read aloud or typed into a
/// spreadsheet cannot be mistaken.
pub const CODE_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub use crate::values::ProductId;

/// Characters of a product number after its `P`.
pub const PRODUCT_ID_RANDOM_LEN: usize = 10;

impl ProductId {
    /// A new product number from 10 random bytes: `P` and 10 code characters (about 49
    /// bits; product numbers are not secrets, collisions are refused by the store).
    pub fn generate(random: [u8; PRODUCT_ID_RANDOM_LEN]) -> Self {
        let mut id = String::with_capacity(1 + PRODUCT_ID_RANDOM_LEN);
        id.push('P');
        for byte in random {
            id.push(char::from(
                CODE_ALPHABET[usize::from(byte) % CODE_ALPHABET.len()],
            ));
        }
        ProductId(id)
    }

    /// A product number as given (checked before it reaches a key).
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let text = value.trim();
        let valid = text.len() == 1 + PRODUCT_ID_RANDOM_LEN
            && text.starts_with('P')
            && text.bytes().skip(1).all(|b| CODE_ALPHABET.contains(&b));
        if !valid {
            return Err(Error::invalid_field(
                field,
                format!(
                    "a product number is P and {PRODUCT_ID_RANDOM_LEN} characters of {}",
                    String::from_utf8_lossy(CODE_ALPHABET)
                ),
            ));
        }
        Ok(ProductId(text.to_owned()))
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn product_numbers_are_p_and_ten_unambiguous_characters() {
        let id = ProductId::generate([0, 1, 31, 32, 200, 255, 7, 8, 9, 10]);
        assert_eq!(id.as_str().len(), 11);
        assert_eq!(ProductId::parse("product_id", id.as_str()).unwrap(), id);
        assert!(!id.as_str()[1..].contains(['0', 'O', '1', 'I', 'L']));
        for wrong in ["P0000000000", "X23456789AB", "P2345", ""] {
            let refused = ProductId::parse("product_id", wrong).unwrap_err();
            assert_eq!(refused.violations[0].field.as_deref(), Some("product_id"));
        }
    }
}
