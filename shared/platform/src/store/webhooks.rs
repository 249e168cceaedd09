//! Refund callbacks as stored: a merchant's signing secrets (the current one and, for a day
//! after a rotation, the previous), and one delivery item per callback with its attempts
//! (the delivery log), listed by time on GSI1 (docs/decisions/0018-refund-callbacks.md).

use super::{from_item, keys, to_item, Expect, Item, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// One signing secret (`whsec_…`) and, once replaced, until when it still signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    pub secret: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub signs_until: Option<DateTime<Utc>>,
}

/// A merchant's callback settings: its secrets and the endpoints that answered 410 Gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackSettings {
    #[serde(default)]
    pub current: Option<SigningSecret>,
    #[serde(default)]
    pub previous: Option<SigningSecret>,
    /// Endpoints disabled by a 410 answer: nothing more is sent to them until the merchant
    /// sets its notify URL again.
    #[serde(default)]
    pub disabled_urls: Vec<String>,
    #[serde(default)]
    pub version: u64,
}

impl CallbackSettings {
    /// The secrets that sign at `now`: the current one, and the previous one during the
    /// rotation's overlap.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets: Vec<&str> = self.current.iter().map(|s| s.secret.as_str()).collect();
        if let Some(previous) = &self.previous {
            if previous.signs_until.is_some_and(|until| now < until) {
                secrets.push(&previous.secret);
            }
        }
        secrets
    }
}

#[derive(Serialize, Deserialize)]
struct StoredSettings {
    merchant_id: MerchantId,
    #[serde(flatten)]
    settings: CallbackSettings,
}

/// The write of callback settings read at `settings.version` (0: never saved), at the next.
pub fn callback_settings_write(
    merchant_id: &MerchantId,
    settings: &mut CallbackSettings,
) -> Result<Write, Error> {
    let read = settings.version;
    settings.version = read + 1;
    let stored = StoredSettings {
        merchant_id: merchant_id.clone(),
        settings: settings.clone(),
    };
    Ok(Write {
        item: to_item(
            &stored,
            keys::merchant(merchant_id.as_str()),
            keys::CALLBACK_SETTINGS,
        )?,
        expect: if read == 0 {
            Expect::Absent
        } else {
            Expect::Version(read)
        },
    })
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Queued, or failed and waiting for its next try.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every try failed: on the dead-letter queue (redeliver it by hand).
    Failed,
    /// The endpoint answered 410 Gone (or was disabled before): not sent.
    Disabled,
}

impl DeliveryStatus {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Disabled => "disabled",
        }
    }
}

/// One try: when, the answer's status (none if no answer), how long, the answer's first
/// bytes, or what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(default)]
    pub response_start: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// Attempts kept on a delivery (the latest; the count is kept in full).
pub const ATTEMPTS_KEPT: usize = 20;

/// A callback: its `webhook-id`, what it carries and where it goes, and its attempts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub merchant_id: MerchantId,
    /// The `webhook-id`: the same on every try and redelivery, so receivers deduplicate.
    pub delivery_id: String,
    /// `refund.completed` or `ping`.
    pub event_type: String,
    pub url: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    #[serde(default)]
    pub attempt_count: u32,
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Delivery {
    fn pk(merchant_id: &MerchantId, delivery_id: &str) -> String {
        keys::callback_delivery(merchant_id.as_str(), delivery_id)
    }

    fn item(&self) -> Result<Item, Error> {
        let mut item = to_item(
            self,
            Delivery::pk(&self.merchant_id, &self.delivery_id),
            keys::DELIVERY,
        )?;
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::callback_deliveries_of(self.merchant_id.as_str())),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(keys::ticket_timeline(self.created_at, &self.delivery_id)),
        );
        Ok(item)
    }

    /// The write of a new delivery: only if its id is new (an event is delivered once).
    pub fn create_write(&mut self) -> Result<Write, Error> {
        self.version = 1;
        Ok(Write {
            item: self.item()?,
            expect: Expect::Absent,
        })
    }

    /// The write of a changed delivery read at its version, at the next.
    pub fn update_write(&mut self) -> Result<Write, Error> {
        let read = self.version;
        self.version = read + 1;
        Ok(Write {
            item: self.item()?,
            expect: Expect::Version(read),
        })
    }

    /// Records a try (keeping the latest [`ATTEMPTS_KEPT`]).
    pub fn record(&mut self, attempt: Attempt) {
        self.attempt_count += 1;
        self.attempts.push(attempt);
        if self.attempts.len() > ATTEMPTS_KEPT {
            let excess = self.attempts.len() - ATTEMPTS_KEPT;
            self.attempts.drain(..excess);
        }
    }
}

impl Table {
    pub async fn get_callback_settings(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<CallbackSettings, Error> {
        let stored: Option<StoredSettings> = self
            .get(
                keys::merchant(merchant_id.as_str()),
                keys::CALLBACK_SETTINGS,
            )
            .await?;
        Ok(stored.map(|s| s.settings).unwrap_or_default())
    }

    pub async fn get_delivery(
        &self,
        merchant_id: &MerchantId,
        delivery_id: &str,
    ) -> Result<Option<Delivery>, Error> {
        self.get(Delivery::pk(merchant_id, delivery_id), keys::DELIVERY)
            .await
    }

    /// Writes a delivery unless one with its id exists; true if it was new.
    pub async fn create_delivery(&self, delivery: &mut Delivery) -> Result<bool, Error> {
        match self.transact_detailed(vec![delivery.create_write()?]).await {
            Ok(()) => Ok(true),
            Err(super::TransactFailure::Conditions(_)) => Ok(false),
            Err(super::TransactFailure::Other(error)) => Err(error),
        }
    }

    /// A merchant's deliveries created between two instants, oldest first.
    pub async fn deliveries_between(
        &self,
        merchant_id: &MerchantId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, Error> {
        self.query_index(
            super::Gsi::One,
            keys::callback_deliveries_of(merchant_id.as_str()),
            super::SortKeys::Between(
                keys::timestamp(from),
                format!("{}~", keys::timestamp(until)),
            ),
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }
}
