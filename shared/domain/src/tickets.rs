//! Tickets (票券): their numbers, codes and terms (§5), and their statuses (§6, §7-3 J).
//!
//! Random inputs come from the caller (a CSPRNG in the platform): this module only turns
//! bytes into the documented formats, so the formats are pure and testable.

use crate::calendar;
use crate::products::{TicketKind, CODE_ALPHABET};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A ticket's status (§7-3 J). Transitions are the lifecycle's business (issue 5); issuance
/// only ever creates `Unused` tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
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
}

/// Digits of the platform-wide sequence in a ticket number.
pub const TICKET_SEQUENCE_DIGITS: usize = 12;
/// Characters of a redemption code: 31^16 ≈ 2^79 codes.
pub const REDEMPTION_CODE_LEN: usize = 16;
/// Random bytes behind a redemption code (more than the code holds, so the reduction to
/// 31^16 values is unbiased to about 2^-48).
pub const REDEMPTION_CODE_BYTES: usize = 16;
/// Random bytes behind a ticket link token (160 bits, written as 40 hex digits).
pub const LINK_TOKEN_BYTES: usize = 20;
/// Characters of an ibon pickup code: 31^10 ≈ 2^49, only usable at a store kiosk.
pub const PICKUP_CODE_LEN: usize = 10;

/// A ticket number (票券序號): the 12-digit platform-wide sequence number and a Luhn check
/// digit, so that a mistyped number is caught before it is looked up.
pub fn ticket_number(sequence: u64) -> String {
    let digits = format!("{sequence:0width$}", width = TICKET_SEQUENCE_DIGITS);
    let check = luhn_check_digit(&digits);
    format!("{digits}{check}")
}

/// True when `number` is 13 digits whose last one is the Luhn check digit of the others.
pub fn is_ticket_number(number: &str) -> bool {
    number.len() == TICKET_SEQUENCE_DIGITS + 1
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn_check_digit(&number[..TICKET_SEQUENCE_DIGITS])
            == char::from(number.as_bytes()[TICKET_SEQUENCE_DIGITS])
}

fn luhn_check_digit(digits: &str) -> char {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                digit
            }
        })
        .sum();
    char::from(b'0' + u8::try_from((10 - sum % 10) % 10).unwrap_or(0))
}

/// Spells `value` in `len` characters of the code alphabet (no 0/O, 1/I/L: nothing to
/// misread aloud or on paper).
fn spell(mut value: u128, len: usize) -> String {
    let base = CODE_ALPHABET.len() as u128;
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(CODE_ALPHABET[(value % base) as usize]);
        value /= base;
    }
    out.into_iter().map(char::from).collect()
}

/// A redemption code (核銷代碼) from CSPRNG bytes.
pub fn redemption_code(random: [u8; REDEMPTION_CODE_BYTES]) -> String {
    spell(u128::from_le_bytes(random), REDEMPTION_CODE_LEN)
}

/// What a person types is normalised (case, spaces, dashes) before it is looked up.
pub fn normalise_redemption_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == REDEMPTION_CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .then_some(code)
}

/// The unguessable token of a ticket link (the consumer's e-ticket page).
pub fn link_token(random: [u8; LINK_TOKEN_BYTES]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// An ibon pickup code (取票代碼) from CSPRNG bytes.
pub fn pickup_code(random: [u8; 8]) -> String {
    spell(u128::from(u64::from_le_bytes(random)), PICKUP_CODE_LEN)
}

/// The last Taipei day of a ticket's escrow (goods) or validity (gift): `term_days` after
/// the day it was issued.
pub fn term_ends_on(issued_at: DateTime<Utc>, term_days: u32) -> NaiveDate {
    calendar::taipei_date(issued_at) + chrono::Duration::days(i64::from(term_days))
}

/// The documented rules, as the "rules" link shows them (§7-3 B 2).
pub fn numbering_rules() -> Vec<(&'static str, String)> {
    vec![
        (
            "ticket_number",
            format!(
                "票券序號：{} 位數字，前 {} 位為全平台流水號、最後 1 位為 Luhn 檢查碼；全平台唯一。Ticket number: {} digits, a {}-digit platform-wide sequence and a Luhn check digit; unique across the platform.",
                TICKET_SEQUENCE_DIGITS + 1, TICKET_SEQUENCE_DIGITS, TICKET_SEQUENCE_DIGITS + 1, TICKET_SEQUENCE_DIGITS
            ),
        ),
        (
            "redemption_code",
            format!(
                "核銷代碼：{} 碼，由密碼學安全亂數產生，僅使用 {}（不含 0、O、1、I、L 等易混淆字元），約 79 位元亂度；全平台唯一，不可推測。Redemption code: {} characters drawn by a cryptographically secure generator from {} (no 0/O/1/I/L), about 79 bits; unique and unguessable.",
                REDEMPTION_CODE_LEN,
                String::from_utf8_lossy(CODE_ALPHABET),
                REDEMPTION_CODE_LEN,
                String::from_utf8_lossy(CODE_ALPHABET)
            ),
        ),
        (
            "ticket_link",
            "票券連結：含 160 位元密碼學安全亂數的網址，每張電子票券一個。Ticket link: a URL holding a 160-bit random token, one per electronic ticket.".to_owned(),
        ),
        (
            "pickup_code",
            format!(
                "ibon 取票代碼：{} 碼，由密碼學安全亂數產生，每筆匯入單號一個。ibon pickup code: {} random characters, one per import number.",
                PICKUP_CODE_LEN, PICKUP_CODE_LEN
            ),
        ),
    ]
}

/// The term a product gives its tickets, named for what it means to the holder.
pub fn term_name(kind: TicketKind) -> &'static str {
    match kind {
        TicketKind::GoodsVoucher => "escrow_ends_on",
        TicketKind::GiftVoucher => "valid_until",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ticket_numbers_carry_a_luhn_check_digit() {
        assert_eq!(ticket_number(1), "0000000000018");
        assert_eq!(ticket_number(7_992_739_871), "0079927398713");
        for sequence in [0, 1, 42, 999_999_999_999] {
            assert!(is_ticket_number(&ticket_number(sequence)));
        }
        assert!(!is_ticket_number("0000000000017"));
        assert!(!is_ticket_number("000000000001"));
        assert!(!is_ticket_number("00000000000A8"));
    }

    #[test]
    fn redemption_codes_use_the_unambiguous_alphabet_and_all_of_it() {
        let zero = redemption_code([0; 16]);
        assert_eq!(zero, "2222222222222222");
        let max = redemption_code([0xff; 16]);
        assert_eq!(max.len(), REDEMPTION_CODE_LEN);
        let mut seen = std::collections::HashSet::new();
        for seed in 0u8..=255 {
            let mut bytes = [0u8; 16];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(97));
            }
            let code = redemption_code(bytes);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
            seen.extend(code.bytes());
        }
        assert_eq!(seen.len(), CODE_ALPHABET.len());
    }

    #[test]
    fn typed_codes_are_normalised() {
        let code = redemption_code([7; 16]);
        let typed = format!(
            "{}-{} {}",
            &code[..4],
            &code[4..8].to_lowercase(),
            &code[8..]
        );
        assert_eq!(normalise_redemption_code(&typed), Some(code));
        assert_eq!(normalise_redemption_code("0000000000000000"), None);
        assert_eq!(normalise_redemption_code("ABC"), None);
    }

    #[test]
    fn links_and_pickup_codes() {
        assert_eq!(link_token([0xab; 20]), "ab".repeat(20));
        assert_eq!(pickup_code([0; 8]).len(), PICKUP_CODE_LEN);
    }

    #[test]
    fn terms_count_taipei_days() {
        // 23:30 Taipei on 30 Nov is 15:30 UTC: still 30 Nov in Taipei.
        let issued = Utc.with_ymd_and_hms(2026, 11, 30, 15, 30, 0).unwrap();
        assert_eq!(
            term_ends_on(issued, 30),
            NaiveDate::from_ymd_opt(2026, 12, 30).unwrap()
        );
        // 00:30 Taipei on 1 Dec.
        let issued = Utc.with_ymd_and_hms(2026, 11, 30, 16, 30, 0).unwrap();
        assert_eq!(
            term_ends_on(issued, 30),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
    }
}
