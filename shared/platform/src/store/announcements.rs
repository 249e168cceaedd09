//! The operator's announcements (the merchants' message centre, §3-4): one item each, on a
//! GSI1 timeline for "the latest"; and each account's read marks under its merchant.

use super::{from_item, keys, to_item, unavailable, Expect, Item, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use tessera_domain::operator::Audience;
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnouncementRecord {
    pub id: String,
    pub title: String,
    pub body: String,
    pub audience: Audience,
    pub published_at: DateTime<Utc>,
    pub published_by: AccountName,
    #[serde(default)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl super::Versioned for AnnouncementRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        let mut item = to_item(self, keys::announcement(&self.id), keys::ANNOUNCEMENT)?;
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::ANNOUNCEMENTS.to_owned()),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(keys::announcement_timeline(self.published_at, &self.id)),
        );
        Ok(item)
    }
}

/// An account's read mark of an announcement (writing it twice keeps one).
pub fn read_mark_write(
    merchant: &MerchantId,
    account: &AccountName,
    announcement_id: &str,
    at: DateTime<Utc>,
) -> Result<Write, Error> {
    #[derive(Serialize)]
    struct ReadMark<'a> {
        announcement_id: &'a str,
        read_at: DateTime<Utc>,
    }
    Ok(Write {
        item: to_item(
            &ReadMark {
                announcement_id,
                read_at: at,
            },
            keys::merchant(merchant.as_str()),
            &keys::announcement_read(account.as_str(), announcement_id),
        )?,
        expect: Expect::Any,
    })
}

impl Table {
    pub async fn get_announcement(&self, id: &str) -> Result<Option<AnnouncementRecord>, Error> {
        self.get(keys::announcement(id), keys::ANNOUNCEMENT).await
    }

    /// The latest announcements, newest first (withdrawn ones included).
    pub async fn latest_announcements(&self, limit: i32) -> Result<Vec<AnnouncementRecord>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::ANNOUNCEMENTS.to_owned()))
            .scan_index_forward(false)
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

    /// An account's message centre: the latest announcements (of the last 50 published)
    /// still standing for `merchant`, newest first, each with whether `account` read it.
    pub async fn messages_for(
        &self,
        merchant: &MerchantId,
        account: &AccountName,
    ) -> Result<Vec<(AnnouncementRecord, bool)>, Error> {
        let (announcements, read) = tokio::try_join!(
            self.latest_announcements(50),
            self.announcements_read(merchant, account)
        )?;
        Ok(announcements
            .into_iter()
            .filter(|a| a.withdrawn_at.is_none() && a.audience.includes(merchant))
            .map(|a| {
                let seen = read.contains(&a.id);
                (a, seen)
            })
            .collect())
    }

    /// The announcements an account has read.
    pub async fn announcements_read(
        &self,
        merchant: &MerchantId,
        account: &AccountName,
    ) -> Result<BTreeSet<String>, Error> {
        let prefix = format!("{}{}#", keys::ANNOUNCEMENT_READ_PREFIX, account.as_str());
        Ok(self
            .query_prefix(keys::merchant(merchant.as_str()), &prefix, true, None)
            .await?
            .iter()
            .filter_map(|item| match item.get("announcement_id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect())
    }
}
