//! Redeemable-store relations: one item under the issuer (`STORE#{store}`), indexed on GSI1
//! under the store (`ISSUER#{issuer}`), so each side lists its own view; history is written
//! for both sides in the same transaction.

use super::history::HistoryEntry;
use super::{from_item, keys, to_item, unavailable, Expect, Gsi, SortKeys, Table, Write};
use crate::change::Changes;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::relations::RelationStatus;
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelationRecord {
    pub issuer: MerchantId,
    pub store: MerchantId,
    pub status: RelationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

fn relation_write(relation: &RelationRecord, expect: Expect) -> Result<Write, Error> {
    let mut item = to_item(
        relation,
        keys::merchant(relation.issuer.as_str()),
        &keys::store(relation.store.as_str()),
    )?;
    item.insert(
        keys::GSI1PK.to_owned(),
        AttributeValue::S(keys::merchant(relation.store.as_str())),
    );
    item.insert(
        keys::GSI1SK.to_owned(),
        AttributeValue::S(keys::issuer(relation.issuer.as_str())),
    );
    Ok(Write { item, expect })
}

/// History entities of a relation, one per side, keyed by the other merchant. The role is
/// part of the entity so that A→B and B→A relations never share history keys.
pub const STORE_ENTITY: &str = "redeemable_store";
pub const ISSUER_ENTITY: &str = "joint_issuer";

impl Table {
    pub async fn get_relation(
        &self,
        issuer: &MerchantId,
        store: &MerchantId,
    ) -> Result<Option<RelationRecord>, Error> {
        self.get(
            keys::merchant(issuer.as_str()),
            &keys::store(store.as_str()),
        )
        .await
    }

    /// The issuer's redeemable stores.
    pub async fn list_stores(&self, issuer: &MerchantId) -> Result<Vec<RelationRecord>, Error> {
        self.query_prefix(
            keys::merchant(issuer.as_str()),
            keys::STORE_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// The store's joint issuers (GSI1: eventually consistent, as indexes are).
    pub async fn list_joint_issuers(
        &self,
        store: &MerchantId,
    ) -> Result<Vec<RelationRecord>, Error> {
        let pk = keys::merchant(store.as_str());
        self.query_index(Gsi::One, pk, SortKeys::Prefix(keys::ISSUER_PREFIX))
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Merchants whose name starts with `prefix` (case-insensitive), at most `limit`.
    pub async fn search_merchants_by_name(
        &self,
        prefix: &str,
        limit: i32,
    ) -> Result<Vec<super::accounts::MerchantRecord>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_names("#sk", keys::GSI1SK)
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(keys::MERCHANT_DIRECTORY.to_owned()),
            )
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_lowercase()))
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }
}

impl super::Versioned for RelationRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<super::Item, Error> {
        Ok(relation_write(self, Expect::Absent)?.item)
    }
}

/// A relation change's history entry as each side sees it (the issuer's redeemable store,
/// the store's joint issuer): both are written with the change, at its version.
pub fn relation_histories(relation: &RelationRecord, by: &HistoryEntry) -> [HistoryEntry; 2] {
    let issuer_side = HistoryEntry {
        merchant_id: relation.issuer.clone(),
        entity: STORE_ENTITY.to_owned(),
        entity_id: relation.store.to_string(),
        ..by.clone()
    };
    let store_side = HistoryEntry {
        merchant_id: relation.store.clone(),
        entity: ISSUER_ENTITY.to_owned(),
        entity_id: relation.issuer.to_string(),
        ..by.clone()
    };
    [issuer_side, store_side]
}

/// A relation as read (version 0: a new one, `RELATION_EXISTS` if it is not) changed at its
/// next version, with its history entry on both sides.
pub fn change_relation(
    changes: &mut Changes,
    relation: &mut RelationRecord,
    by: &HistoryEntry,
) -> Result<(), Error> {
    let version = if relation.version == 0 {
        changes.create(relation, ErrorCode::RelationExists)?
    } else {
        changes.update(relation)?
    };
    for entry in relation_histories(relation, by) {
        changes.history(&entry, version)?;
    }
    Ok(())
}
