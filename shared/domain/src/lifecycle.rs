//! The ticket lifecycle (§6, manual §7-3 E–H, statuses §7-3 J): every transition as a pure
//! function, the Taipei day windows, the return fee rule, and who may act.

use crate::access::{authorize, require_operational_branch, Access, Actor, FunctionArea};
use crate::calendar;
use crate::error::{Error, ErrorCode};
use crate::products::TicketKind;
use crate::tickets::TicketStatus;
use crate::values::{BranchCode, MerchantId};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything that can happen to a ticket: the merchant's four operations and the system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Redeem,
    CancelRedemption,
    Return,
    CancelReturn,
    /// A goods voucher's escrow period ended unused.
    EscrowExpiry,
    /// A gift voucher's validity ended unused.
    GiftExpiry,
    /// The daily cut-off sent the redemption to the bank.
    SendRedemptionToBank,
    /// The bank settled it.
    BankSettledRedemption,
    /// The daily cut-off sent the return to the bank.
    SendReturnToBank,
    /// The bank refunded it.
    BankSettledReturn,
}

impl Operation {
    pub const ALL: [Operation; 10] = [
        Operation::Redeem,
        Operation::CancelRedemption,
        Operation::Return,
        Operation::CancelReturn,
        Operation::EscrowExpiry,
        Operation::GiftExpiry,
        Operation::SendRedemptionToBank,
        Operation::BankSettledRedemption,
        Operation::SendReturnToBank,
        Operation::BankSettledReturn,
    ];

    /// The right a merchant account needs for it (system operations need none).
    pub fn area(self) -> Option<FunctionArea> {
        match self {
            Operation::Redeem => Some(FunctionArea::Redemption),
            Operation::CancelRedemption => Some(FunctionArea::CancelRedemption),
            Operation::Return => Some(FunctionArea::Return),
            Operation::CancelReturn => Some(FunctionArea::CancelReturn),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::Redeem => "redeem",
            Operation::CancelRedemption => "cancel_redemption",
            Operation::Return => "return",
            Operation::CancelReturn => "cancel_return",
            Operation::EscrowExpiry => "escrow_expiry",
            Operation::GiftExpiry => "gift_expiry",
            Operation::SendRedemptionToBank => "send_redemption_to_bank",
            Operation::BankSettledRedemption => "bank_settled_redemption",
            Operation::SendReturnToBank => "send_return_to_bank",
            Operation::BankSettledReturn => "bank_settled_return",
        }
    }
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 11] = [
        TicketStatus::Unused,
        TicketStatus::UnusedEscrowExpired,
        TicketStatus::Used,
        TicketStatus::Redeeming,
        TicketStatus::Redeemed,
        TicketStatus::RedeemedAfterExpiry,
        TicketStatus::PendingReturn,
        TicketStatus::Returning,
        TicketStatus::Returned,
        TicketStatus::ReturnedEscrowExpired,
        TicketStatus::Expired,
    ];

    /// Handed to the bank: from here on nobody may change the ticket (§6).
    pub fn is_with_bank(self) -> bool {
        matches!(
            self,
            TicketStatus::Redeeming
                | TicketStatus::Redeemed
                | TicketStatus::Returning
                | TicketStatus::Returned
        )
    }

    fn is_redeemed(self) -> bool {
        matches!(
            self,
            TicketStatus::Used
                | TicketStatus::Redeeming
                | TicketStatus::Redeemed
                | TicketStatus::RedeemedAfterExpiry
        )
    }

    fn is_returned(self) -> bool {
        matches!(
            self,
            TicketStatus::PendingReturn
                | TicketStatus::Returning
                | TicketStatus::Returned
                | TicketStatus::ReturnedEscrowExpired
        )
    }
}

/// Why an operation cannot apply to a ticket in its status, as the caller should hear it.
fn refusal(status: TicketStatus, operation: Operation) -> ErrorCode {
    use TicketStatus as S;
    match operation {
        Operation::Redeem | Operation::Return => {
            if status == S::Expired {
                ErrorCode::TicketExpired
            } else if status.is_redeemed() {
                ErrorCode::TicketAlreadyRedeemed
            } else if status.is_returned() {
                ErrorCode::TicketAlreadyReturned
            } else {
                ErrorCode::TicketStatusConflict
            }
        }
        Operation::CancelRedemption if status.is_with_bank() && status.is_redeemed() => {
            ErrorCode::TicketWithBank
        }
        Operation::CancelRedemption => ErrorCode::TicketNotRedeemed,
        Operation::CancelReturn if status.is_with_bank() && status.is_returned() => {
            ErrorCode::TicketWithBank
        }
        Operation::CancelReturn => ErrorCode::TicketNotReturned,
        _ => ErrorCode::TicketStatusConflict,
    }
}

/// The status `operation` takes a ticket of `kind` in `status` to, or why it cannot.
/// Time windows are [`check_window`]'s; who acts is [`may_act`]'s.
pub fn transition(
    kind: TicketKind,
    status: TicketStatus,
    operation: Operation,
) -> Result<TicketStatus, ErrorCode> {
    use Operation as O;
    use TicketKind::{GiftVoucher, GoodsVoucher};
    use TicketStatus as S;
    let next = match (operation, kind, status) {
        (O::Redeem, _, S::Unused) => S::Used,
        (O::Redeem, GoodsVoucher, S::UnusedEscrowExpired) => S::RedeemedAfterExpiry,
        // Gift vouchers are free: there is no redemption to undo with the bank.
        (O::CancelRedemption, GiftVoucher, _) => return Err(ErrorCode::GiftVoucherNotCancellable),
        (O::CancelRedemption, GoodsVoucher, S::Used) => S::Unused,
        (O::CancelRedemption, GoodsVoucher, S::RedeemedAfterExpiry) => S::UnusedEscrowExpired,
        (O::Return, _, S::Unused) => S::PendingReturn,
        (O::Return, GoodsVoucher, S::UnusedEscrowExpired) => S::ReturnedEscrowExpired,
        (O::CancelReturn, _, S::PendingReturn) => S::Unused,
        (O::CancelReturn, GoodsVoucher, S::ReturnedEscrowExpired) => S::UnusedEscrowExpired,
        (O::EscrowExpiry, GoodsVoucher, S::Unused) => S::UnusedEscrowExpired,
        (O::GiftExpiry, GiftVoucher, S::Unused) => S::Expired,
        (O::SendRedemptionToBank, GoodsVoucher, S::Used) => S::Redeeming,
        (O::BankSettledRedemption, GoodsVoucher, S::Redeeming) => S::Redeemed,
        (O::SendReturnToBank, GoodsVoucher, S::PendingReturn) => S::Returning,
        (O::BankSettledReturn, GoodsVoucher, S::Returning) => S::Returned,
        _ => return Err(refusal(status, operation)),
    };
    Ok(next)
}

/// Whether an `unused` ticket's term has run out by `today` (Taipei): from the day after its
/// last day, a goods voucher's escrow is over and a gift voucher has expired. The system
/// operation and the status it leads to, or `None` if the ticket has not lapsed. Operations
/// and views go by this, so a ticket lapses at midnight whether or not a job has recorded
/// it yet.
pub fn lapse(
    kind: TicketKind,
    status: TicketStatus,
    term_ends_on: NaiveDate,
    today: NaiveDate,
) -> Option<(Operation, TicketStatus)> {
    let operation = match kind {
        TicketKind::GoodsVoucher => Operation::EscrowExpiry,
        TicketKind::GiftVoucher => Operation::GiftExpiry,
    };
    if today <= term_ends_on {
        return None;
    }
    transition(kind, status, operation)
        .ok()
        .map(|lapsed| (operation, lapsed))
}

/// The same-day windows (§6): cancelling a redemption of a `used` ticket, or a return of a
/// `pending_return` one, is possible until 23:59 Taipei of the day it happened. The
/// after-expiry variants have no window (escrow is over; no money moves).
pub fn check_window(
    status: TicketStatus,
    operation: Operation,
    happened_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let windowed = matches!(
        (operation, status),
        (Operation::CancelRedemption, TicketStatus::Used)
            | (Operation::CancelReturn, TicketStatus::PendingReturn)
    );
    if !windowed {
        return Ok(());
    }
    match happened_at {
        Some(at) if calendar::within_same_day_window(at, now) => Ok(()),
        Some(at) => Err(
            Error::new(ErrorCode::CancelWindowClosed).with_detail(format!(
                "possible until 23:59 (Taipei) on {}",
                calendar::taipei_date(at)
            )),
        ),
        None => Err(Error::new(ErrorCode::CancelWindowClosed)),
    }
}

/// A return's handling fee (§7-3 G): only on goods vouchers still within escrow, whole NT$,
/// not negative and not above the face value.
pub fn check_return_fee(
    kind: TicketKind,
    status: TicketStatus,
    face_value: Decimal,
    fee: Option<Decimal>,
) -> Result<Decimal, Error> {
    let Some(fee) = fee.filter(|f| !f.is_zero()) else {
        return Ok(Decimal::ZERO);
    };
    if kind != TicketKind::GoodsVoucher || status != TicketStatus::Unused {
        return Err(Error::new(ErrorCode::ReturnFeeNotAllowed));
    }
    if fee < Decimal::ZERO || !fee.fract().is_zero() {
        return Err(Error::invalid_field(
            "fee",
            "a whole NT$ amount, not negative",
        ));
    }
    if fee > face_value {
        return Err(Error::new(ErrorCode::ReturnFeeTooHigh)
            .with_detail(format!("the face value is NT${face_value}")));
    }
    Ok(fee)
}

/// The daily bank cut-off, Taipei time (§7-3 G: "7/3 01:00").
pub fn bank_cutoff_time() -> NaiveTime {
    NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN)
}

/// The first bank cut-off after `at`: 01:00 Taipei the next day. A day's redemptions and
/// returns can be cancelled until 23:59 of that day, so nothing is handed to the bank on the
/// day it happened; and what the bank received at one cut-off it has settled by the next.
pub fn next_bank_cutoff(at: DateTime<Utc>) -> DateTime<Utc> {
    calendar::taipei_instant(
        calendar::taipei_date(at) + Duration::days(1),
        bank_cutoff_time(),
    )
}

/// When the bank hears of a return: the next day at 01:00 Taipei, except that a ticket
/// issued and returned on the same day is reported on the issue day + 2 at 01:00 (§7-3 G).
pub fn return_bank_update_at(
    issued_at: DateTime<Utc>,
    returned_at: DateTime<Utc>,
) -> DateTime<Utc> {
    let next = next_bank_cutoff(returned_at);
    if calendar::taipei_date(issued_at) == calendar::taipei_date(returned_at) {
        next + Duration::days(1)
    } else {
        next
    }
}

/// What the caller is to the ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The issuer (or a parent reading a child's ticket).
    Issuer,
    /// Another merchant with a relation to the issuer: open or not.
    Store { relation_open: bool },
    /// Anyone else: the ticket does not exist for them.
    Stranger,
}

/// The facts about a ticket that decide who may act on it.
#[derive(Debug, Clone)]
pub struct TicketParties<'a> {
    pub issuer: &'a MerchantId,
    pub redeem_branches: &'a [BranchCode],
    pub return_branches: &'a [BranchCode],
    pub redeemable_stores: &'a [MerchantId],
    /// Who redeemed it (merchant and branch), if it is redeemed.
    pub redeemed_by: Option<(&'a MerchantId, Option<&'a BranchCode>)>,
    /// The branch that returned it (None: head office), if it is returned.
    pub returned_by_branch: Option<Option<&'a BranchCode>>,
}

/// Whether the product's lists (redeem branches, return branches, redeemable stores) can
/// change what [`may_act`] answers for this caller: they cannot for the issuer's head
/// office, which may act whatever the lists say, so its requests need not read the product.
pub fn product_lists_matter(actor: &Actor, standing: &Standing) -> bool {
    !(*standing == Standing::Issuer && actor.branch.is_none())
}

/// Who may perform a merchant operation on a ticket (§6):
/// - redeem: issuer head office; an issuer branch on the redeem-branch list (any branch if
///   the list is empty); a store with an open relation that the product grants;
/// - cancel redemption: issuer head office, or whoever redeemed it (that branch or store);
/// - return: issuer head office, or a branch on the return-branch list (any if empty);
/// - cancel return: issuer head office, or the branch that returned it.
///
/// Rights and disabled branches are checked for everyone; strangers get "not found".
pub fn may_act(
    actor: &Actor,
    standing: &Standing,
    ticket: &TicketParties<'_>,
    operation: Operation,
) -> Result<(), Error> {
    let Some(area) = operation.area() else {
        return Err(Error::new(ErrorCode::TicketStatusConflict));
    };
    match standing {
        Standing::Stranger => Err(Error::new(ErrorCode::TicketNotFound)),
        Standing::Issuer => {
            authorize(
                actor,
                ticket.issuer,
                area,
                Access::Modify,
                ErrorCode::TicketNotFound,
            )?;
            require_operational_branch(actor)?;
            let Some(branch) = &actor.branch else {
                return Ok(()); // head office
            };
            let listed = |list: &[BranchCode]| list.is_empty() || list.contains(branch);
            let allowed = match operation {
                Operation::Redeem => listed(ticket.redeem_branches),
                Operation::Return => listed(ticket.return_branches),
                Operation::CancelRedemption => {
                    ticket.redeemed_by == Some((ticket.issuer, Some(branch)))
                }
                Operation::CancelReturn => ticket.returned_by_branch == Some(Some(branch)),
                _ => false,
            };
            if allowed {
                Ok(())
            } else if matches!(
                operation,
                Operation::CancelRedemption | Operation::CancelReturn
            ) {
                Err(Error::new(ErrorCode::NotOriginalActor).with_detail(format!(
                    "branch {branch} did not {} this ticket",
                    if operation == Operation::CancelRedemption {
                        "redeem"
                    } else {
                        "return"
                    }
                )))
            } else {
                Err(Error::new(ErrorCode::BranchNotPermitted)
                    .with_detail(format!("branch {branch} is not on this product's list")))
            }
        }
        Standing::Store { relation_open } => {
            authorize(
                actor,
                &actor.acting_as,
                area,
                Access::Modify,
                ErrorCode::TicketNotFound,
            )?;
            require_operational_branch(actor)?;
            match operation {
                Operation::Redeem | Operation::CancelRedemption => {
                    if !relation_open {
                        return Err(Error::new(ErrorCode::RelationNotOpen));
                    }
                    if operation == Operation::Redeem
                        && !ticket.redeemable_stores.contains(&actor.acting_as)
                    {
                        return Err(Error::new(ErrorCode::StoreNotPermitted));
                    }
                    if operation == Operation::CancelRedemption
                        && ticket.redeemed_by.map(|(m, _)| m) != Some(&actor.acting_as)
                    {
                        return Err(Error::new(ErrorCode::NotOriginalActor)
                            .with_detail("only the issuer or the store that redeemed it"));
                    }
                    Ok(())
                }
                _ => Err(Error::new(ErrorCode::IssuerOnly)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Rights, Role};
    use chrono::TimeZone;
    use TicketKind::{GiftVoucher, GoodsVoucher};
    use TicketStatus as S;

    /// Every (kind, status, operation) triple: what is allowed is exactly this table;
    /// everything else is refused.
    #[test]
    fn every_status_and_operation_pair_is_decided() {
        use Operation as O;
        let allowed: &[(TicketKind, S, O, S)] = &[
            (GoodsVoucher, S::Unused, O::Redeem, S::Used),
            (GiftVoucher, S::Unused, O::Redeem, S::Used),
            (
                GoodsVoucher,
                S::UnusedEscrowExpired,
                O::Redeem,
                S::RedeemedAfterExpiry,
            ),
            (GoodsVoucher, S::Used, O::CancelRedemption, S::Unused),
            (
                GoodsVoucher,
                S::RedeemedAfterExpiry,
                O::CancelRedemption,
                S::UnusedEscrowExpired,
            ),
            (GoodsVoucher, S::Unused, O::Return, S::PendingReturn),
            (GiftVoucher, S::Unused, O::Return, S::PendingReturn),
            (
                GoodsVoucher,
                S::UnusedEscrowExpired,
                O::Return,
                S::ReturnedEscrowExpired,
            ),
            (GoodsVoucher, S::PendingReturn, O::CancelReturn, S::Unused),
            (GiftVoucher, S::PendingReturn, O::CancelReturn, S::Unused),
            (
                GoodsVoucher,
                S::ReturnedEscrowExpired,
                O::CancelReturn,
                S::UnusedEscrowExpired,
            ),
            (
                GoodsVoucher,
                S::Unused,
                O::EscrowExpiry,
                S::UnusedEscrowExpired,
            ),
            (GiftVoucher, S::Unused, O::GiftExpiry, S::Expired),
            (GoodsVoucher, S::Used, O::SendRedemptionToBank, S::Redeeming),
            (
                GoodsVoucher,
                S::Redeeming,
                O::BankSettledRedemption,
                S::Redeemed,
            ),
            (
                GoodsVoucher,
                S::PendingReturn,
                O::SendReturnToBank,
                S::Returning,
            ),
            (
                GoodsVoucher,
                S::Returning,
                O::BankSettledReturn,
                S::Returned,
            ),
        ];
        let mut checked = 0;
        for kind in [GoodsVoucher, GiftVoucher] {
            for status in S::ALL {
                for operation in O::ALL {
                    let expected = allowed
                        .iter()
                        .find(|(k, s, o, _)| *k == kind && *s == status && *o == operation)
                        .map(|(.., next)| *next);
                    let got = transition(kind, status, operation);
                    match expected {
                        Some(next) => {
                            assert_eq!(got, Ok(next), "{kind:?} {status:?} {operation:?}")
                        }
                        None => assert!(
                            got.is_err(),
                            "{kind:?} {status:?} {operation:?} allowed by accident"
                        ),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2 * 11 * 10);
    }

    #[test]
    fn refusals_say_why() {
        use Operation as O;
        let cases = [
            (S::Used, O::Redeem, ErrorCode::TicketAlreadyRedeemed),
            (S::Redeemed, O::Redeem, ErrorCode::TicketAlreadyRedeemed),
            (
                S::PendingReturn,
                O::Redeem,
                ErrorCode::TicketAlreadyReturned,
            ),
            (S::Expired, O::Redeem, ErrorCode::TicketExpired),
            (S::Redeeming, O::CancelRedemption, ErrorCode::TicketWithBank),
            (S::Unused, O::CancelRedemption, ErrorCode::TicketNotRedeemed),
            (S::Returning, O::CancelReturn, ErrorCode::TicketWithBank),
            (S::Returned, O::CancelReturn, ErrorCode::TicketWithBank),
            (S::Unused, O::CancelReturn, ErrorCode::TicketNotReturned),
            (S::Used, O::Return, ErrorCode::TicketAlreadyRedeemed),
            (S::Returning, O::Return, ErrorCode::TicketAlreadyReturned),
        ];
        for (status, operation, code) in cases {
            assert_eq!(
                transition(GoodsVoucher, status, operation),
                Err(code),
                "{status:?} {operation:?}"
            );
        }
        assert_eq!(
            transition(GiftVoucher, S::Used, O::CancelRedemption),
            Err(ErrorCode::GiftVoucherNotCancellable)
        );
    }

    fn taipei(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
        calendar::taipei_instant(
            chrono::NaiveDate::from_ymd_opt(2026, 11, d).unwrap(),
            NaiveTime::from_hms_opt(h, m, s).unwrap(),
        )
    }

    #[test]
    fn same_day_windows_close_at_taipei_midnight() {
        let redeemed = taipei(30, 9, 0, 0);
        for (now, open) in [
            (taipei(30, 23, 59, 59), true),
            (taipei(30, 23, 59, 0), true),
        ] {
            assert_eq!(
                check_window(S::Used, Operation::CancelRedemption, Some(redeemed), now).is_ok(),
                open
            );
        }
        let next_day = calendar::taipei_instant(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveTime::MIN,
        );
        let error = check_window(
            S::Used,
            Operation::CancelRedemption,
            Some(redeemed),
            next_day,
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::CancelWindowClosed);
        assert!(check_window(
            S::PendingReturn,
            Operation::CancelReturn,
            Some(redeemed),
            next_day
        )
        .is_err());
        // After escrow, no window.
        assert!(check_window(
            S::RedeemedAfterExpiry,
            Operation::CancelRedemption,
            Some(redeemed),
            next_day
        )
        .is_ok());
        assert!(check_window(
            S::ReturnedEscrowExpired,
            Operation::CancelReturn,
            Some(redeemed),
            next_day
        )
        .is_ok());
    }

    #[test]
    fn return_fees_only_on_goods_within_escrow_and_not_above_face_value() {
        let face = Decimal::new(120, 0);
        let fee = |f: i64| Some(Decimal::new(f, 0));
        assert_eq!(
            check_return_fee(GoodsVoucher, S::Unused, face, fee(120)),
            Ok(Decimal::new(120, 0))
        );
        assert_eq!(
            check_return_fee(GoodsVoucher, S::Unused, face, fee(121))
                .unwrap_err()
                .code,
            ErrorCode::ReturnFeeTooHigh
        );
        assert_eq!(
            check_return_fee(GiftVoucher, S::Unused, face, fee(10))
                .unwrap_err()
                .code,
            ErrorCode::ReturnFeeNotAllowed
        );
        assert_eq!(
            check_return_fee(GoodsVoucher, S::UnusedEscrowExpired, face, fee(10))
                .unwrap_err()
                .code,
            ErrorCode::ReturnFeeNotAllowed
        );
        assert_eq!(
            check_return_fee(GoodsVoucher, S::Unused, face, fee(-1))
                .unwrap_err()
                .code,
            ErrorCode::ValidationFailed
        );
        assert_eq!(
            check_return_fee(GiftVoucher, S::Unused, face, None),
            Ok(Decimal::ZERO)
        );
    }

    #[test]
    fn a_same_day_issue_and_return_reaches_the_bank_two_days_later() {
        let issued = taipei(30, 9, 0, 0);
        assert_eq!(
            return_bank_update_at(issued, taipei(30, 18, 0, 0)),
            calendar::taipei_instant(
                chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
                NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
            )
        );
        assert_eq!(
            return_bank_update_at(issued, Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap()),
            calendar::taipei_instant(
                chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
                NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
            )
        );
    }

    fn m(id: &str) -> MerchantId {
        MerchantId::parse("m", id).unwrap()
    }

    fn b(code: &str) -> BranchCode {
        BranchCode::parse("b", code).unwrap()
    }

    fn actor(merchant: &str, branch: Option<&str>, enabled: bool, rights: Rights) -> Actor {
        Actor {
            merchant: m(merchant),
            account: crate::values::AccountName::parse_login("a", "staff01").unwrap(),
            role: Role::SubAccount,
            rights,
            acting_as: m(merchant),
            children: vec![],
            branch: branch.map(b),
            branch_enabled: enabled,
        }
    }

    fn all_rights() -> Rights {
        FunctionArea::ALL
            .iter()
            .fold(Rights::none(), |rights, area| {
                rights.grant(*area, Access::Modify)
            })
    }

    #[test]
    fn unused_tickets_lapse_the_day_after_their_term() {
        use TicketStatus as S;
        let last_day = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let next_day = last_day.succ_opt().unwrap();
        assert_eq!(lapse(GoodsVoucher, S::Unused, last_day, last_day), None);
        assert_eq!(lapse(GiftVoucher, S::Unused, last_day, last_day), None);
        assert_eq!(
            lapse(GoodsVoucher, S::Unused, last_day, next_day),
            Some((Operation::EscrowExpiry, S::UnusedEscrowExpired))
        );
        assert_eq!(
            lapse(
                GiftVoucher,
                S::Unused,
                last_day,
                next_day + Duration::days(400)
            ),
            Some((Operation::GiftExpiry, S::Expired))
        );
        // Only an unused ticket lapses: redeemed, returned or already lapsed ones keep their
        // status, and the bank's states are out of reach.
        for kind in [GoodsVoucher, GiftVoucher] {
            for status in S::ALL.into_iter().filter(|s| *s != S::Unused) {
                assert_eq!(
                    lapse(kind, status, last_day, next_day),
                    None,
                    "{kind:?} {status:?}"
                );
            }
        }
    }

    #[test]
    fn the_product_lists_matter_to_everyone_but_the_issuers_head_office() {
        let issuer = m("ISSUER01");
        let tpe = [b("TPE01")];
        let shop = [m("STORE001")];
        let redeemed_by_tpe = (&issuer, Some(&tpe[0]));
        let head = actor("ISSUER01", None, true, all_rights());
        let at_tpe = actor("ISSUER01", Some("TPE01"), true, all_rights());
        let at_khh = actor("ISSUER01", Some("KHH01"), true, all_rights());
        let store = actor("STORE001", None, true, all_rights());
        let open = Standing::Store {
            relation_open: true,
        };
        // Whether any operation, on a ticket redeemed and returned by TPE01, is answered
        // differently under empty lists (any branch, no store) and under lists naming
        // TPE01 and the store.
        let lists_change_answers = |actor: &Actor, standing: &Standing| {
            let mut answers = Vec::new();
            for (branches, stores) in [(&tpe[..0], &shop[..0]), (&tpe[..], &shop[..])] {
                for operation in Operation::ALL {
                    let parties = TicketParties {
                        issuer: &issuer,
                        redeem_branches: branches,
                        return_branches: branches,
                        redeemable_stores: stores,
                        redeemed_by: Some(redeemed_by_tpe),
                        returned_by_branch: Some(Some(&tpe[0])),
                    };
                    answers.push(may_act(actor, standing, &parties, operation).map_err(|e| e.code));
                }
            }
            let (empty, listed) = answers.split_at(answers.len() / 2);
            empty != listed
        };
        assert!(!product_lists_matter(&head, &Standing::Issuer));
        assert!(
            !lists_change_answers(&head, &Standing::Issuer),
            "head office ignores the lists"
        );
        for (who, standing) in [
            (&at_tpe, &Standing::Issuer),
            (&at_khh, &Standing::Issuer),
            (&store, &open),
        ] {
            assert!(product_lists_matter(who, standing));
        }
        assert!(
            lists_change_answers(&at_khh, &Standing::Issuer),
            "a branch depends on the lists"
        );
        assert!(
            lists_change_answers(&store, &open),
            "a store depends on the lists"
        );
    }

    #[test]
    fn who_may_act() {
        use Operation as O;
        let issuer = m("ISSUER01");
        let store = m("STORE001");
        let tpe = b("TPE01");
        let redeem_branches = [tpe.clone()];
        let stores = [store.clone()];
        let parties = |redeemed_by, returned_by| TicketParties {
            issuer: &issuer,
            redeem_branches: &redeem_branches,
            return_branches: &redeem_branches,
            redeemable_stores: &stores,
            redeemed_by,
            returned_by_branch: returned_by,
        };
        let head = actor("ISSUER01", None, true, all_rights());
        let at_tpe = actor("ISSUER01", Some("TPE01"), true, all_rights());
        let at_khh = actor("ISSUER01", Some("KHH01"), true, all_rights());
        let tpe_off = actor("ISSUER01", Some("TPE01"), false, all_rights());
        let no_rights = actor("ISSUER01", None, true, Rights::none());
        let shop = actor("STORE001", None, true, all_rights());
        let other_shop = actor("STORE002", None, true, all_rights());
        let code = |r: Result<(), Error>| r.err().map(|e| e.code);
        let none = parties(None, None);
        let issuer_standing = Standing::Issuer;
        let open = Standing::Store {
            relation_open: true,
        };
        let closed = Standing::Store {
            relation_open: false,
        };

        // Redeem.
        assert_eq!(
            code(may_act(&head, &issuer_standing, &none, O::Redeem)),
            None
        );
        assert_eq!(
            code(may_act(&at_tpe, &issuer_standing, &none, O::Redeem)),
            None
        );
        assert_eq!(
            code(may_act(&at_khh, &issuer_standing, &none, O::Redeem)),
            Some(ErrorCode::BranchNotPermitted)
        );
        assert_eq!(
            code(may_act(&tpe_off, &issuer_standing, &none, O::Redeem)),
            Some(ErrorCode::BranchDisabled)
        );
        assert_eq!(
            code(may_act(&no_rights, &issuer_standing, &none, O::Redeem)),
            Some(ErrorCode::RightMissing)
        );
        assert_eq!(code(may_act(&shop, &open, &none, O::Redeem)), None);
        assert_eq!(
            code(may_act(&shop, &closed, &none, O::Redeem)),
            Some(ErrorCode::RelationNotOpen)
        );
        assert_eq!(
            code(may_act(&other_shop, &open, &none, O::Redeem)),
            Some(ErrorCode::StoreNotPermitted)
        );
        assert_eq!(
            code(may_act(&other_shop, &Standing::Stranger, &none, O::Redeem)),
            Some(ErrorCode::TicketNotFound)
        );
        // An empty list lets any branch.
        let any = TicketParties {
            redeem_branches: &[],
            ..none.clone()
        };
        assert_eq!(
            code(may_act(&at_khh, &issuer_standing, &any, O::Redeem)),
            None
        );

        // Cancel redemption: head office, or whoever redeemed it.
        let by_tpe = parties(Some((&issuer, Some(&tpe))), None);
        let by_shop = parties(Some((&store, None)), None);
        assert_eq!(
            code(may_act(
                &head,
                &issuer_standing,
                &by_shop,
                O::CancelRedemption
            )),
            None
        );
        assert_eq!(
            code(may_act(
                &at_tpe,
                &issuer_standing,
                &by_tpe,
                O::CancelRedemption
            )),
            None
        );
        assert_eq!(
            code(may_act(
                &at_khh,
                &issuer_standing,
                &by_tpe,
                O::CancelRedemption
            )),
            Some(ErrorCode::NotOriginalActor)
        );
        assert_eq!(
            code(may_act(
                &at_tpe,
                &issuer_standing,
                &by_shop,
                O::CancelRedemption
            )),
            Some(ErrorCode::NotOriginalActor)
        );
        assert_eq!(
            code(may_act(&shop, &open, &by_shop, O::CancelRedemption)),
            None
        );
        assert_eq!(
            code(may_act(&shop, &open, &by_tpe, O::CancelRedemption)),
            Some(ErrorCode::NotOriginalActor)
        );

        // Return and cancel return: the issuer only.
        assert_eq!(
            code(may_act(&head, &issuer_standing, &none, O::Return)),
            None
        );
        assert_eq!(
            code(may_act(&at_khh, &issuer_standing, &none, O::Return)),
            Some(ErrorCode::BranchNotPermitted)
        );
        assert_eq!(
            code(may_act(&shop, &open, &none, O::Return)),
            Some(ErrorCode::IssuerOnly)
        );
        let returned_by_tpe = parties(None, Some(Some(&tpe)));
        assert_eq!(
            code(may_act(
                &at_tpe,
                &issuer_standing,
                &returned_by_tpe,
                O::CancelReturn
            )),
            None
        );
        assert_eq!(
            code(may_act(
                &head,
                &issuer_standing,
                &returned_by_tpe,
                O::CancelReturn
            )),
            None
        );
        let returned_by_head = parties(None, Some(None));
        assert_eq!(
            code(may_act(
                &at_tpe,
                &issuer_standing,
                &returned_by_head,
                O::CancelReturn
            )),
            Some(ErrorCode::NotOriginalActor)
        );
        assert_eq!(
            code(may_act(&shop, &open, &returned_by_tpe, O::CancelReturn)),
            Some(ErrorCode::IssuerOnly)
        );
    }
}
