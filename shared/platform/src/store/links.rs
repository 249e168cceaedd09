//! E-ticket links and transfers. A link token's claim names what its page shows: an issued
//! order's tickets still with the buyer, or a transfer's tickets still with the recipient.
//! The claim is never the only word: the order (transfer) must still carry the token, so a
//! link replaced by a change of buyer, or a claim left by an attempt that never committed,
//! leads nowhere.

use super::{from_item, key, keys, to_item, Expect, Item, Table, Versioned, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

pub use tessera_domain::transfers::{Transfer, TransferStatus};

/// What a link's page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LinkTarget {
    /// The buyer's page: the order's tickets that were not given away.
    Order {
        merchant_id: MerchantId,
        import_no: String,
    },
    /// A recipient's page: the transfer's tickets still gifted under it.
    Transfer {
        merchant_id: MerchantId,
        transfer_id: String,
    },
}

/// The claim of `token` for `target`. Tokens are 160 random bits, drawn afresh for each
/// claim: writing one again (a retried transaction) puts the same thing.
pub fn link_claim_write(token: &str, target: &LinkTarget) -> Result<Write, Error> {
    Ok(Write {
        item: to_item(target, keys::ticket_link(token), keys::LINK)?,
        expect: Expect::Any,
    })
}

impl Versioned for Transfer {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        let mut item = to_item(
            self,
            keys::merchant(self.merchant_id.as_str()),
            &keys::transfer(&self.transfer_id),
        )?;
        // On the merchant's transfer records by time (GSI1).
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::transfers_of(self.merchant_id.as_str())),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(keys::transfer_timeline(self.at, &self.transfer_id)),
        );
        Ok(item)
    }
}

impl Table {
    /// What the token's claim names, if there is a claim (the caller checks that the order
    /// or transfer still carries the token).
    pub async fn link_target(&self, token: &str) -> Result<Option<LinkTarget>, Error> {
        self.get_item_raw(keys::ticket_link(token), keys::LINK)
            .await?
            .map(from_item)
            .transpose()
    }

    pub async fn get_transfer(
        &self,
        merchant_id: &MerchantId,
        transfer_id: &str,
    ) -> Result<Option<Transfer>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::transfer(transfer_id),
        )
        .await
    }

    /// The item under `pk`/`sk` if any, read for nothing but its cost: a miss of the
    /// e-ticket page reads as much as a hit, so guessing learns nothing from the time.
    pub async fn read_for_cost(&self, pk: String, sk: &str) -> Result<(), Error> {
        self.get_item_raw(pk, sk).await.map(|_| ())
    }

    /// As many strongly consistent reads as a hit's ticket read, on keys that hold nothing.
    pub async fn batch_read_for_cost(&self, count: usize) -> Result<(), Error> {
        let keys = (0..count.max(1))
            .map(|n| key(keys::ticket_link("~"), &format!("DECOY#{n}")))
            .collect();
        self.batch_get(keys).await.map(|_| ())
    }
}
