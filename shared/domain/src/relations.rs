//! Cross-store relations (§7-1 可核銷商店 / 聯合票券發行單位): issuer A lets store B redeem
//! some of its products. Either side may unlink; once the *store* has unlinked, the issuer
//! cannot re-open the relation (only the platform operator can clear it).

use crate::error::{Error, ErrorCode};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationStatus {
    Open,
    UnlinkedByIssuer,
    UnlinkedByStore,
}

impl RelationStatus {
    pub fn is_open(self) -> bool {
        self == RelationStatus::Open
    }
}

/// The issuer re-opens a relation it unlinked.
pub fn issuer_opens(status: RelationStatus) -> Result<RelationStatus, Error> {
    match status {
        RelationStatus::Open => Err(Error::new(ErrorCode::RelationAlreadyOpen)),
        RelationStatus::UnlinkedByIssuer => Ok(RelationStatus::Open),
        RelationStatus::UnlinkedByStore => Err(Error::new(ErrorCode::RelationBlockedByStore)),
    }
}

/// The issuer unlinks: the store can no longer redeem any of its products.
pub fn issuer_unlinks(status: RelationStatus) -> Result<RelationStatus, Error> {
    match status {
        RelationStatus::Open => Ok(RelationStatus::UnlinkedByIssuer),
        RelationStatus::UnlinkedByIssuer | RelationStatus::UnlinkedByStore => {
            Err(Error::new(ErrorCode::RelationNotOpen))
        }
    }
}

/// The store unlinks the joint issuer; this also blocks the issuer from re-opening.
pub fn store_unlinks(status: RelationStatus) -> Result<RelationStatus, Error> {
    match status {
        RelationStatus::Open | RelationStatus::UnlinkedByIssuer => {
            Ok(RelationStatus::UnlinkedByStore)
        }
        RelationStatus::UnlinkedByStore => Err(Error::new(ErrorCode::RelationNotOpen)),
    }
}

/// The platform operator clears the block a store's unlink set (the store agreed): the
/// relation is as if the issuer had unlinked it, so the issuer may re-open it. `None` when
/// there is no block (clearing is then nothing to do).
pub fn operator_clears_block(status: RelationStatus) -> Option<RelationStatus> {
    match status {
        RelationStatus::UnlinkedByStore => Some(RelationStatus::UnlinkedByIssuer),
        RelationStatus::Open | RelationStatus::UnlinkedByIssuer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RelationStatus::*;

    #[test]
    fn every_status_and_action() {
        type Action = fn(RelationStatus) -> Result<RelationStatus, Error>;
        let cases: [(Action, RelationStatus, Result<RelationStatus, ErrorCode>); 9] = [
            (issuer_opens, Open, Err(ErrorCode::RelationAlreadyOpen)),
            (issuer_opens, UnlinkedByIssuer, Ok(Open)),
            (
                issuer_opens,
                UnlinkedByStore,
                Err(ErrorCode::RelationBlockedByStore),
            ),
            (issuer_unlinks, Open, Ok(UnlinkedByIssuer)),
            (
                issuer_unlinks,
                UnlinkedByIssuer,
                Err(ErrorCode::RelationNotOpen),
            ),
            (
                issuer_unlinks,
                UnlinkedByStore,
                Err(ErrorCode::RelationNotOpen),
            ),
            (store_unlinks, Open, Ok(UnlinkedByStore)),
            (store_unlinks, UnlinkedByIssuer, Ok(UnlinkedByStore)),
            (
                store_unlinks,
                UnlinkedByStore,
                Err(ErrorCode::RelationNotOpen),
            ),
        ];
        for (index, (action, from, expected)) in cases.into_iter().enumerate() {
            assert_eq!(action(from).map_err(|e| e.code), expected, "case {index}");
        }
        assert!(Open.is_open() && !UnlinkedByIssuer.is_open() && !UnlinkedByStore.is_open());
        assert_eq!(
            operator_clears_block(UnlinkedByStore),
            Some(UnlinkedByIssuer)
        );
        assert_eq!(operator_clears_block(Open), None);
        assert_eq!(operator_clears_block(UnlinkedByIssuer), None);
    }
}
