//! Branches of a merchant (§7-1). The code is the key: unique per merchant by the
//! conditional create, and immutable because nothing ever rewrites the key.

use super::history::HistoryEntry;
use super::{from_item, keys, to_item, Expect, Table, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::{BranchCode, MerchantId};
use tessera_domain::{Error, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchRecord {
    pub merchant_id: MerchantId,
    pub code: BranchCode,
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub phone: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

pub fn branch_write(branch: &BranchRecord, expect: Expect) -> Result<Write, Error> {
    Ok(Write {
        item: to_item(
            branch,
            keys::merchant(branch.merchant_id.as_str()),
            &keys::branch(branch.code.as_str()),
        )?,
        expect,
    })
}

impl super::Versioned for BranchRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<super::Item, Error> {
        Ok(branch_write(self, Expect::Absent)?.item)
    }
}

impl Table {
    pub async fn get_branch(
        &self,
        merchant_id: &MerchantId,
        code: &BranchCode,
    ) -> Result<Option<BranchRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::branch(code.as_str()),
        )
        .await
    }

    pub async fn list_branches(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<BranchRecord>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::BRANCH_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// Creates a branch; a code the merchant already uses is `BRANCH_CODE_TAKEN`.
    pub async fn create_branch(
        &self,
        branch: &BranchRecord,
        history: &HistoryEntry,
    ) -> Result<(), Error> {
        let writes = vec![
            branch_write(branch, Expect::Absent)?,
            history.write(branch.version)?,
        ];
        self.transact(writes, ErrorCode::BranchCodeTaken).await
    }
}
