//! History entries: who changed what, when, for every entity (accounts, branches, …).

use super::{keys, to_item, Expect, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::Error;

/// `changes` holds the before/after of the fields that changed; secrets are recorded as
/// "changed", never valued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub merchant_id: MerchantId,
    pub by_account: AccountName,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub changes: serde_json::Value,
}

impl HistoryEntry {
    /// The entry of a change to `owner`'s `entity` by `by_account`: the one constructor.
    pub fn new(
        owner: &MerchantId,
        by_account: &AccountName,
        at: DateTime<Utc>,
        entity: &str,
        entity_id: &str,
        action: &str,
        changes: serde_json::Value,
    ) -> HistoryEntry {
        HistoryEntry {
            at,
            merchant_id: owner.clone(),
            by_account: by_account.clone(),
            entity: entity.to_owned(),
            entity_id: entity_id.to_owned(),
            action: action.to_owned(),
            changes,
        }
    }

    /// The entry of a change by `actor`, recorded under the merchant it acts as.
    pub fn by(
        actor: &tessera_domain::access::Actor,
        at: DateTime<Utc>,
        entity: &str,
        entity_id: &str,
        action: &str,
        changes: serde_json::Value,
    ) -> HistoryEntry {
        HistoryEntry::new(
            &actor.acting_as,
            &actor.account,
            at,
            entity,
            entity_id,
            action,
            changes,
        )
    }

    /// The entry of a change the platform made itself (a job), for `merchant_id`.
    pub fn by_system(
        merchant_id: &MerchantId,
        at: DateTime<Utc>,
        entity: &str,
        entity_id: &str,
        action: &str,
        changes: serde_json::Value,
    ) -> HistoryEntry {
        HistoryEntry::new(
            merchant_id,
            &AccountName::system(),
            at,
            entity,
            entity_id,
            action,
            changes,
        )
    }

    /// The entry as the write that records version `version` of its entity.
    pub fn write(&self, version: u64) -> Result<Write, Error> {
        Ok(Write {
            item: to_item(
                self,
                keys::merchant(self.merchant_id.as_str()),
                &keys::history(&self.entity, &self.entity_id, version),
            )?,
            expect: Expect::Absent,
        })
    }
}

impl super::Table {
    /// An entity's history, oldest first.
    pub async fn list_history(
        &self,
        merchant_id: &MerchantId,
        entity: &str,
        id: &str,
    ) -> Result<Vec<HistoryEntry>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            &keys::history_prefix(entity, id),
            true,
            None,
        )
        .await?
        .into_iter()
        .map(super::from_item)
        .collect()
    }
}

/// A history entry as the API shows it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryView {
    pub at: DateTime<Utc>,
    pub by_account: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
}

/// An entity's history, oldest first.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryList {
    pub items: Vec<HistoryView>,
}

impl From<Vec<HistoryEntry>> for HistoryList {
    fn from(entries: Vec<HistoryEntry>) -> Self {
        HistoryList {
            items: entries
                .into_iter()
                .map(|e| HistoryView {
                    at: e.at,
                    by_account: e.by_account.to_string(),
                    action: e.action,
                    changes: e.changes,
                })
                .collect(),
        }
    }
}
