//! What the notification consumer remembers (sent ids) and the known sign-in devices.

use super::{epoch_seconds, key, keys, unavailable, Gsi, SortKeys, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::Error;

/// Longer than SQS keeps a message (14 days), so every redelivery finds the mark.
const SENT_RETENTION_DAYS: i64 = 15;

impl Table {
    pub async fn is_notification_sent(&self, id: &str) -> Result<bool, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::notification_sent(id), keys::SENT)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item.is_some())
    }

    pub async fn mark_notification_sent(&self, id: &str) -> Result<(), Error> {
        let mut item = key(keys::notification_sent(id), keys::SENT);
        item.insert(
            "expires_at".to_owned(),
            epoch_seconds(Utc::now() + chrono::Duration::days(SENT_RETENTION_DAYS)),
        );
        self.put(item).await
    }

    /// Records that `account` signed in from a device; true if the device is new.
    pub async fn remember_device(
        &self,
        merchant_id: &MerchantId,
        account: &AccountName,
        fingerprint: &str,
    ) -> Result<bool, Error> {
        let mut item = key(
            keys::merchant(merchant_id.as_str()),
            &keys::device(account.as_str(), fingerprint),
        );
        item.insert(
            "first_seen".to_owned(),
            AttributeValue::S(keys::timestamp(Utc::now())),
        );
        self.put_if_absent(item).await
    }
}

/// An SMS as the merchant's SMS log shows it (§7-3 L).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmsLogEntry {
    pub notification_id: String,
    pub merchant_id: String,
    pub at: chrono::DateTime<Utc>,
    pub to: String,
    pub buyer_name: String,
    pub body: String,
    pub purpose: String,
}

impl Table {
    /// Records a sent SMS. Keyed by the notification id, so recording it twice keeps one.
    pub async fn record_sms(&self, entry: &SmsLogEntry) -> Result<(), Error> {
        let mut item = super::to_item(
            entry,
            keys::merchant(&entry.merchant_id),
            &keys::sms_log(&entry.notification_id),
        )?;
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::sms_log_of(&entry.merchant_id)),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(format!(
                "{}#{}",
                keys::timestamp(entry.at),
                entry.notification_id
            )),
        );
        self.put(item).await
    }

    /// The merchant's SMS log in `[from, until)`, oldest first.
    pub async fn sms_log(
        &self,
        merchant_id: &MerchantId,
        from: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> Result<Vec<SmsLogEntry>, Error> {
        let pk = keys::sms_log_of(merchant_id.as_str());
        let range = SortKeys::Between(keys::timestamp(from), keys::timestamp(until));
        self.query_index(Gsi::One, pk, range)
            .await?
            .into_iter()
            .map(super::from_item)
            .collect()
    }
}
