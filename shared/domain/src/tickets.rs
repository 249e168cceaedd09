//! Tickets (票券): their numbers, codes and terms (§5), and their statuses (§6, §7-3 J).
//!
//! Random inputs come from the caller (a CSPRNG in the platform): this module only turns
//! bytes into the documented formats, so the formats are pure and testable.

use crate::calendar;
use crate::error::Error;
use crate::products::{TicketKind, CODE_ALPHABET};
pub use crate::values::{RedemptionCode, TicketNumber};
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
/// Characters of a redemption code: a random part, then the ticket's sequence.
pub const REDEMPTION_CODE_LEN: usize = CODE_RANDOM_LEN + CODE_SEQUENCE_LEN;
/// Random characters of a redemption code: 31^11 ≈ 2^54 values for each ticket.
pub const CODE_RANDOM_LEN: usize = 11;
/// Characters that spell the ticket's sequence in its code (31^9 > 10^12 sequences), so
/// that a code leads straight to its ticket.
pub const CODE_SEQUENCE_LEN: usize = 9;
/// Random bytes behind a redemption code (more than the code holds, so the reduction to
/// 31^11 values is unbiased to about 2^-73).
pub const REDEMPTION_CODE_BYTES: usize = 16;
/// Random bytes behind a ticket link token (160 bits, written as 40 hex digits).
pub const LINK_TOKEN_BYTES: usize = 20;
/// Characters of an ibon pickup code: 31^10 ≈ 2^49, only usable at a store kiosk.
pub const PICKUP_CODE_LEN: usize = 10;

impl TicketNumber {
    /// The number of the ticket with this platform-wide sequence: the 12 digits and a Luhn
    /// check digit, so that a mistyped number is caught before it is looked up.
    pub fn from_sequence(sequence: u64) -> Self {
        let digits = format!("{sequence:0width$}", width = TICKET_SEQUENCE_DIGITS);
        let check = luhn_check_digit(&digits);
        TicketNumber(format!("{digits}{check}"))
    }

    /// A ticket number as typed: 13 digits whose last one is the Luhn check digit of the
    /// others.
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let number = value.trim();
        let valid = number.len() == TICKET_SEQUENCE_DIGITS + 1
            && number.bytes().all(|b| b.is_ascii_digit())
            && luhn_check_digit(&number[..TICKET_SEQUENCE_DIGITS])
                == char::from(number.as_bytes()[TICKET_SEQUENCE_DIGITS]);
        if !valid {
            return Err(Error::invalid_field(
                field,
                format!(
                    "a ticket number is {} digits ending in a Luhn check digit",
                    TICKET_SEQUENCE_DIGITS + 1
                ),
            ));
        }
        Ok(TicketNumber(number.to_owned()))
    }
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

/// The value `spell` wrote, or `None` if a character is not of the alphabet.
fn unspell(text: &str) -> Option<u128> {
    let base = CODE_ALPHABET.len() as u128;
    text.bytes().rev().try_fold(0u128, |value, byte| {
        let digit = CODE_ALPHABET.iter().position(|&c| c == byte)?;
        Some(value * base + digit as u128)
    })
}

impl RedemptionCode {
    /// The code of the ticket with this sequence, from CSPRNG bytes: the random part makes
    /// it unguessable, the sequence makes it unique platform-wide (as ticket numbers are)
    /// and names the one ticket it can open.
    pub fn generate(sequence: u64, random: [u8; REDEMPTION_CODE_BYTES]) -> Self {
        let mut code = spell(u128::from_le_bytes(random), CODE_RANDOM_LEN);
        code.push_str(&spell(u128::from(sequence), CODE_SEQUENCE_LEN));
        RedemptionCode(code)
    }

    /// A code as a person typed or a scanner read it, normalised (case, spaces, dashes).
    pub fn parse(field: &str, input: &str) -> Result<Self, Error> {
        let code: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() != REDEMPTION_CODE_LEN || !code.bytes().all(|b| CODE_ALPHABET.contains(&b)) {
            return Err(Error::invalid_field(
                field,
                format!(
                    "a redemption code is {REDEMPTION_CODE_LEN} characters of {}",
                    String::from_utf8_lossy(CODE_ALPHABET)
                ),
            ));
        }
        Ok(RedemptionCode(code))
    }

    /// The number of the only ticket this code can belong to; `None` if the code spells no
    /// sequence a ticket number can have. The ticket must still carry the very code
    /// ([`RedemptionCode::is`]): the sequence part alone is no secret.
    pub fn ticket_number(&self) -> Option<TicketNumber> {
        let spelled = self
            .0
            .get(CODE_RANDOM_LEN..)
            .filter(|s| s.len() == CODE_SEQUENCE_LEN)?;
        let sequence = u64::try_from(unspell(spelled)?).ok()?;
        (sequence < 10u64.pow(TICKET_SEQUENCE_DIGITS as u32))
            .then(|| TicketNumber::from_sequence(sequence))
    }

    /// Whether a presented code is this one, compared in time that does not depend on
    /// where they differ (the answer must not hint at how much of a guess was right).
    pub fn is(&self, presented: &RedemptionCode) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

/// The unguessable token of a ticket link (the consumer's e-ticket page).
/// The tickets a request names (a transfer, a print, a print-run step): each parsed, 1 to
/// `max` of them, each once; `field` names them in the error.
pub fn parse_ticket_choice(
    field: &str,
    values: &[String],
    max: usize,
) -> Result<Vec<TicketNumber>, Error> {
    let numbers = values
        .iter()
        .map(|no| TicketNumber::parse(field, no))
        .collect::<Result<Vec<_>, _>>()?;
    let mut distinct: Vec<&TicketNumber> = numbers.iter().collect();
    distinct.sort();
    distinct.dedup();
    if numbers.is_empty() || numbers.len() > max || distinct.len() != numbers.len() {
        return Err(Error::invalid_field(
            field,
            format!("1 to {max} tickets, each once"),
        ));
    }
    Ok(numbers)
}

pub fn link_token(random: [u8; LINK_TOKEN_BYTES]) -> String {
    crate::values::hex(&random)
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
                "核銷代碼：{} 碼，僅使用 {}（不含 0、O、1、I、L 等易混淆字元）；前 {} 碼由密碼學安全亂數產生（約 54 位元亂度，每張票券各自獨立），後 {} 碼為票券流水號，故全平台唯一，且一次猜測至多只能命中該流水號的那一張票券，不可推測。Redemption code: {} characters from {} (no 0/O/1/I/L): {} drawn by a cryptographically secure generator (about 54 bits for each ticket), then {} spelling the ticket's sequence number, so codes are unique platform-wide and a guess can only ever hit the one ticket it names; unguessable.",
                REDEMPTION_CODE_LEN,
                String::from_utf8_lossy(CODE_ALPHABET),
                CODE_RANDOM_LEN,
                CODE_SEQUENCE_LEN,
                REDEMPTION_CODE_LEN,
                String::from_utf8_lossy(CODE_ALPHABET),
                CODE_RANDOM_LEN,
                CODE_SEQUENCE_LEN
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

    fn number(sequence: u64) -> String {
        TicketNumber::from_sequence(sequence).into()
    }

    fn code(sequence: u64, random: [u8; 16]) -> String {
        RedemptionCode::generate(sequence, random).into()
    }

    fn parsed_code(text: &str) -> RedemptionCode {
        RedemptionCode(text.to_owned())
    }

    #[test]
    fn ticket_numbers_carry_a_luhn_check_digit() {
        assert_eq!(number(1), "0000000000018");
        assert_eq!(number(7_992_739_871), "0079927398713");
        for sequence in [0, 1, 42, 999_999_999_999] {
            let parsed = TicketNumber::parse("n", &format!(" {} ", number(sequence))).unwrap();
            assert_eq!(parsed, TicketNumber::from_sequence(sequence));
        }
        for wrong in [
            "0000000000017",
            "000000000001",
            "00000000000A8",
            "",
            "٠٠٠٠٠٠٠٠٠٠٠١٨",
        ] {
            let refused = TicketNumber::parse("ticket_no", wrong).unwrap_err();
            assert_eq!(
                refused.violations[0].field.as_deref(),
                Some("ticket_no"),
                "{wrong}"
            );
        }
    }

    #[test]
    fn redemption_codes_use_the_unambiguous_alphabet_and_all_of_it() {
        assert_eq!(code(0, [0; 16]), "22222222222222222222");
        assert_eq!(code(999_999_999_999, [0xff; 16]).len(), REDEMPTION_CODE_LEN);
        let mut seen = std::collections::HashSet::new();
        for seed in 0u8..=255 {
            let mut bytes = [0u8; 16];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = seed
                    .wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(97));
            }
            let code = code(u64::from(seed), bytes);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']));
            seen.extend(code.bytes());
        }
        assert_eq!(seen.len(), CODE_ALPHABET.len());
    }

    #[test]
    fn a_code_names_its_ticket_and_nothing_else() {
        for sequence in [0, 1, 30, 31, 4_242_424, 999_999_999_999] {
            let code = RedemptionCode::generate(sequence, [0x5a; 16]);
            assert_eq!(
                code.ticket_number(),
                Some(TicketNumber::from_sequence(sequence)),
                "{code}"
            );
        }
        // Codes of the same ticket differ in their random part only; of neighbours, in
        // their sequence part too.
        let (a, b) = (code(7, [1; 16]), code(7, [2; 16]));
        assert_ne!(a[..CODE_RANDOM_LEN], b[..CODE_RANDOM_LEN]);
        assert_eq!(a[CODE_RANDOM_LEN..], b[CODE_RANDOM_LEN..]);
        assert_ne!(code(8, [1; 16])[CODE_RANDOM_LEN..], a[CODE_RANDOM_LEN..]);
        // Nine characters can spell more than twelve digits hold: such a code names none.
        let beyond = format!(
            "{}{}",
            "2".repeat(CODE_RANDOM_LEN),
            "Z".repeat(CODE_SEQUENCE_LEN)
        );
        assert_eq!(parsed_code(&beyond).ticket_number(), None);
        assert_eq!(parsed_code("2222").ticket_number(), None);
        assert_eq!(
            parsed_code(&"2".repeat(CODE_RANDOM_LEN + 2)).ticket_number(),
            None
        );
        assert_eq!(
            parsed_code(&format!("{}0OOOOOOOO", "2".repeat(11))).ticket_number(),
            None
        );
    }

    #[test]
    fn a_code_is_the_tickets_only_when_every_character_is() {
        let code = RedemptionCode::generate(42, [9; 16]);
        assert!(code.is(&code.clone()));
        for at in [0, CODE_RANDOM_LEN - 1, REDEMPTION_CODE_LEN - 1] {
            let mut other = code.as_str().as_bytes().to_vec();
            other[at] = if other[at] == b'Z' { b'Y' } else { b'Z' };
            let other = parsed_code(&String::from_utf8(other).unwrap());
            assert!(!code.is(&other), "{other} differs at {at}");
        }
        assert!(!code.is(&parsed_code(&code.as_str()[..REDEMPTION_CODE_LEN - 1])));
        assert!(!code.is(&parsed_code("")));
    }

    #[test]
    fn typed_codes_are_normalised() {
        let code = RedemptionCode::generate(12_345, [7; 16]);
        let text = code.as_str();
        let typed = format!(
            "{}-{} {}",
            &text[..4],
            &text[4..8].to_lowercase(),
            &text[8..]
        );
        assert_eq!(RedemptionCode::parse("code", &typed).unwrap(), code);
        for wrong in [
            "0".repeat(REDEMPTION_CODE_LEN),
            "2".repeat(16),
            "ABC".to_owned(),
        ] {
            let refused = RedemptionCode::parse("code", &wrong).unwrap_err();
            assert_eq!(refused.violations[0].field.as_deref(), Some("code"));
        }
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
