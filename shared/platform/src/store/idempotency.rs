//! Idempotency keys: the first successful response to a keyed request, kept for a day and
//! written in the same transaction as the change it answers, so a retry can never apply
//! the change twice nor miss its answer.

use super::{epoch_seconds, keys, to_item, Expect, Table, Write};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub merchant_id: MerchantId,
    pub key: String,
    /// SHA-256 of method, path and body: the same key with another request is refused.
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl IdempotencyRecord {
    /// The conditional write that goes into the change's transaction.
    pub fn write(&self) -> Result<Write, Error> {
        let mut item = to_item(
            self,
            keys::idempotency(self.merchant_id.as_str(), &self.key),
            keys::IDEMPOTENCY,
        )?;
        item.insert(
            "expires_at".to_owned(),
            epoch_seconds(self.created_at + Duration::hours(IDEMPOTENCY_TTL_HOURS)),
        );
        Ok(Write {
            item,
            expect: Expect::AbsentOrExpiredBefore(self.created_at.timestamp()),
        })
    }
}

impl Table {
    /// Records the answer to a key outside a change (routes whose handlers do not record it
    /// themselves): only if the key has no record yet.
    pub async fn record_idempotency(&self, record: &IdempotencyRecord) -> Result<bool, Error> {
        self.put_expecting(record.write()?).await
    }

    /// The record for a key, unless it has expired (DynamoDB's TTL deletes lazily).
    pub async fn get_idempotency(
        &self,
        merchant_id: &MerchantId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, Error> {
        let record: Option<IdempotencyRecord> = self
            .get(
                keys::idempotency(merchant_id.as_str(), key),
                keys::IDEMPOTENCY,
            )
            .await?;
        Ok(record.filter(|r| r.created_at + Duration::hours(IDEMPOTENCY_TTL_HOURS) > now))
    }
}
