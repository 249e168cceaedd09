//! The transactional outbox: an event is an item written in the same transaction as the
//! change it reports, so it exists if and only if the change committed. The table's stream
//! carries each new event to the publisher (functions/publish), which hands it to its
//! consumers at least once; each consumer marks what it handled, so a redelivered event
//! is handled once (docs/decisions/0008-change-engine-and-outbox.md).

use super::{
    epoch_seconds, from_item, key, keys, to_item, unavailable, Expect, Item, Table, Write,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::events::{Consumer, EventType};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

/// How long an event and its marks are kept: longer than the stream keeps a record (24
/// hours) and than the publisher retries, so every redelivery finds the marks.
pub const EVENT_RETENTION_DAYS: i64 = 7;

/// One event, as stored and as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// Unique per event and derived from the change where one exists (ticket and version,
    /// batch and part), so an attempt that is written again cannot publish twice.
    pub event_id: String,
    pub event_type: EventType,
    pub merchant_id: MerchantId,
    pub at: DateTime<Utc>,
    /// What the event is about: a ticket number, an import number, a batch id.
    pub subject: String,
    /// The event's facts, by type (JSON text: consumers parse what they understand).
    pub data: String,
}

impl OutboxEvent {
    pub fn new<T: Serialize>(
        event_id: String,
        event_type: EventType,
        merchant_id: &MerchantId,
        at: DateTime<Utc>,
        subject: &str,
        data: &T,
    ) -> Result<OutboxEvent, Error> {
        Ok(OutboxEvent {
            event_id,
            event_type,
            merchant_id: merchant_id.clone(),
            at,
            subject: subject.to_owned(),
            data: serde_json::to_string(data).map_err(|e| super::internal(&e))?,
        })
    }

    /// The write that puts the event in its change's transaction: only if it is new.
    pub fn write(&self) -> Result<Write, Error> {
        let mut item = to_item(self, keys::event(&self.event_id), keys::EVENT)?;
        item.insert(
            "expires_at".to_owned(),
            epoch_seconds(self.at + Duration::days(EVENT_RETENTION_DAYS)),
        );
        Ok(Write {
            item,
            expect: Expect::Absent,
        })
    }

    /// The event a stream record's new image carries; `None` for any other item.
    pub fn from_image(image: Item) -> Result<Option<OutboxEvent>, Error> {
        let is_event = matches!(image.get(keys::SK), Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) if sk == keys::EVENT);
        if !is_event {
            return Ok(None);
        }
        from_item(image).map(Some)
    }
}

/// The item that says `consumer` handled an event (kept as long as the event).
pub fn handled_mark(consumer: Consumer, event_id: &str, now: DateTime<Utc>) -> Item {
    let mut item = key(keys::event(event_id), &keys::event_handled(consumer.name()));
    item.insert(
        "expires_at".to_owned(),
        epoch_seconds(now + Duration::days(EVENT_RETENTION_DAYS)),
    );
    item
}

impl Table {
    /// Whether `consumer` has handled the event (strongly consistent: the mark may have
    /// been written a moment ago by the delivery this one repeats).
    pub async fn event_handled(&self, consumer: Consumer, event_id: &str) -> Result<bool, Error> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(
                keys::event(event_id),
                &keys::event_handled(consumer.name()),
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item.is_some())
    }

    /// Marks the event handled by `consumer`, after it was.
    pub async fn mark_event_handled(
        &self,
        consumer: Consumer,
        event: &OutboxEvent,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.put(handled_mark(consumer, &event.event_id, now)).await
    }

    /// Writes events that no other change goes with (a sign-in alert, a job's reminder,
    /// a batch's notifications), each only if its id is new: writing them again, on a
    /// retry or a re-run, publishes nothing twice. Returns how many were new.
    pub async fn put_events(&self, events: &[OutboxEvent]) -> Result<usize, Error> {
        let writes = events
            .iter()
            .map(|event| event.write().map(|w| self.put_expecting(w)))
            .collect::<Result<Vec<_>, Error>>()?;
        let mut written = 0;
        for result in futures_util::future::join_all(writes).await {
            written += usize::from(result?);
        }
        Ok(written)
    }

    /// An event by id (for operators and tests: the stream is how consumers get them).
    pub async fn get_event(&self, event_id: &str) -> Result<Option<OutboxEvent>, Error> {
        self.get(keys::event(event_id), keys::EVENT).await
    }
}

/// The event type of a stored event whose data a consumer could not read.
pub fn unreadable(event: &OutboxEvent, cause: &dyn std::fmt::Display) -> Error {
    Error::new(ErrorCode::InternalError).with_detail(format!(
        "event {} ({}): {cause}",
        event.event_id,
        event.event_type.name()
    ))
}
