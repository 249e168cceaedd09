//! Merchants, their accounts, login records and the history of every account change.

pub use super::history::HistoryEntry;
use super::{from_item, key, keys, to_item, unavailable, Expect, Item, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::{Rights, Role};
use tessera_domain::values::{AccountName, BranchCode, MerchantId, Remark};
use tessera_domain::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MerchantRecord {
    pub merchant_id: MerchantId,
    pub name: String,
    #[serde(default)]
    pub parent: Option<MerchantId>,
    #[serde(default)]
    pub children: Vec<MerchantId>,
    /// What the merchant declared when applying; shown read-only (§3-2 網站資訊, §7-1 發行商資訊).
    #[serde(default)]
    pub issuer: IssuerInfo,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerInfo {
    pub company: String,
    pub representative: String,
    pub tax_id: String,
    pub address: String,
    pub website: String,
}

/// An admin or sub-account. `password_hash` never leaves the store layer in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub merchant_id: MerchantId,
    pub account: AccountName,
    pub role: Role,
    pub password_hash: String,
    #[serde(default)]
    pub rights: Rights,
    #[serde(default)]
    pub remark: Option<Remark>,
    #[serde(default)]
    pub branch: Option<BranchCode>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub deleted_at: Option<DateTime<Utc>>,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRecord {
    pub at: DateTime<Utc>,
    pub account: String,
    pub ip: String,
    pub user_agent: String,
    pub succeeded: bool,
    #[serde(default)]
    pub failure: Option<String>,
}

/// Login records are kept a year (DynamoDB TTL).
const LOGIN_RETENTION_DAYS: i64 = 366;

impl Table {
    pub async fn get_merchant(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Option<MerchantRecord>, Error> {
        self.get(keys::merchant(merchant_id.as_str()), keys::PROFILE)
            .await
    }

    pub async fn get_account(
        &self,
        merchant_id: &MerchantId,
        account: &AccountName,
    ) -> Result<Option<AccountRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::account(account.as_str()),
        )
        .await
    }

    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        output.item.map(from_item).transpose()
    }

    /// An item as stored (claims and other key-only records).
    pub(crate) async fn get_item_raw(&self, pk: String, sk: &str) -> Result<Option<Item>, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Every account of a merchant, deleted ones included, in ID order.
    pub async fn list_accounts(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<AccountRecord>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::ACCOUNT_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// Creates a merchant profile unless it exists (used by seeding and operator tooling).
    pub async fn put_merchant_if_absent(&self, merchant: &MerchantRecord) -> Result<bool, Error> {
        self.put_if_absent(merchant_write(merchant, Expect::Absent)?.item)
            .await
    }

    pub async fn record_login(
        &self,
        merchant_id: &MerchantId,
        record: &LoginRecord,
    ) -> Result<(), Error> {
        let mut item = to_item(
            record,
            keys::merchant(merchant_id.as_str()),
            &keys::login(record.at, &uuid::Uuid::new_v4().simple().to_string()),
        )?;
        item.insert(
            "expires_at".to_owned(),
            super::epoch_seconds(record.at + chrono::Duration::days(LOGIN_RETENTION_DAYS)),
        );
        self.put(item).await
    }

    /// The newest login records of a merchant, newest first.
    pub async fn list_logins(
        &self,
        merchant_id: &MerchantId,
        limit: i32,
    ) -> Result<Vec<LoginRecord>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::LOGIN_PREFIX,
            false,
            Some(limit),
        )
        .await?
        .into_iter()
        .take(limit.max(0) as usize)
        .map(from_item)
        .collect()
    }
}

impl super::Versioned for AccountRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        Ok(account_write(self, Expect::Absent)?.item)
    }
}

impl super::Versioned for MerchantRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        Ok(merchant_write(self, Expect::Absent)?.item)
    }
}

/// A merchant's profile as a write on `expect`, listed in the merchant directory (GSI1)
/// for the redeemable-store search and the jobs that visit every merchant.
pub fn merchant_write(merchant: &MerchantRecord, expect: Expect) -> Result<Write, Error> {
    let mut item = to_item(
        merchant,
        keys::merchant(merchant.merchant_id.as_str()),
        keys::PROFILE,
    )?;
    item.insert(
        keys::GSI1PK.to_owned(),
        AttributeValue::S(keys::MERCHANT_DIRECTORY.to_owned()),
    );
    item.insert(
        keys::GSI1SK.to_owned(),
        AttributeValue::S(keys::merchant_directory_entry(
            &merchant.name,
            merchant.merchant_id.as_str(),
        )),
    );
    Ok(Write { item, expect })
}

pub fn account_write(account: &AccountRecord, expect: Expect) -> Result<Write, Error> {
    Ok(Write {
        item: to_item(
            account,
            keys::merchant(account.merchant_id.as_str()),
            &keys::account(account.account.as_str()),
        )?,
        expect,
    })
}

impl Table {
    /// Many merchant profiles in as few round trips as DynamoDB allows (100 keys a call);
    /// unknown IDs are simply absent from the answer.
    pub async fn get_merchants(&self, ids: &[MerchantId]) -> Result<Vec<MerchantRecord>, Error> {
        let keys = ids
            .iter()
            .map(|id| key(keys::merchant(id.as_str()), keys::PROFILE))
            .collect();
        self.get_many(keys).await
    }
}
