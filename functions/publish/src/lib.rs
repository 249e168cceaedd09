//! The outbox publisher: the table's stream (filtered to new event items) in, each event
//! handed to the consumers that want it.
//!
//! At least once, and once per consumer: a consumer's work is followed by its mark beside
//! the event, and an event whose mark exists is skipped, so the stream's redeliveries
//! (a failed batch is retried from the record that failed) do nothing twice. A consumer
//! that fails stops the batch at that record (`ReportBatchItemFailures`): records of a
//! shard are handled in order, and after the event source's last retry the record goes to
//! the outbox dead-letter queue, which raises an alarm.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::events::Consumer;
use tessera_domain::Error;
use tessera_platform::notifications::{NotificationQueue, WorkQueue};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::outbox::{handled_mark, OutboxEvent};
use tessera_platform::store::{Item, Table};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[
    Resource::NotificationsQueue,
    Resource::ReportExportQueue,
    Resource::RefundNotifyQueue,
    Resource::BatchIssueQueue,
];

#[derive(Clone)]
pub struct Publisher {
    pub table: Table,
    pub notifications: NotificationQueue,
    pub report_exports: WorkQueue,
    pub refund_notify: WorkQueue,
    pub batch_issue: WorkQueue,
    pub clock: Arc<dyn Clock>,
}

impl Publisher {
    pub fn new(services: &Services) -> Result<Publisher, Error> {
        Ok(Publisher {
            table: services.table.clone(),
            notifications: services.notifications()?.clone(),
            report_exports: services.report_export()?.clone(),
            refund_notify: services.refund_notify()?.clone(),
            batch_issue: services.batch_issue()?.clone(),
            clock: services.clock.clone(),
        })
    }

    /// From `TABLE_NAME` and the queues' variables.
    pub async fn from_env() -> Result<Publisher, String> {
        Publisher::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Lambda's DynamoDB stream integration: the first record that fails is reported (its
    /// sequence number), and the batch is retried from there.
    pub async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in event.records {
            if let Err(error) = self.publish(&record).await {
                let sequence = record.change.sequence_number.clone();
                tracing::warn!(record = %record.event_id, sequence = ?sequence, error = %error, operation = "publish", "event not handled; the stream will deliver it again");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = sequence;
                response.batch_item_failures.push(failure);
                break;
            }
        }
        response
    }

    async fn publish(&self, record: &EventRecord) -> Result<(), Error> {
        if record.event_name != "INSERT" {
            return Ok(());
        }
        let image: Item = record.change.new_image.clone().into();
        let Some(event) = OutboxEvent::from_image(image)? else {
            return Ok(());
        };
        for consumer in Consumer::ALL {
            if consumer.wants(event.event_type) {
                self.deliver_once(consumer, &event).await?;
            }
        }
        Ok(())
    }

    async fn deliver_once(&self, consumer: Consumer, event: &OutboxEvent) -> Result<(), Error> {
        if self.table.event_handled(consumer, &event.event_id).await? {
            tracing::info!(event = %event.event_id, consumer = consumer.name(), operation = "publish", "already handled; redelivery skipped");
            return Ok(());
        }
        match consumer {
            // Counted in one transaction with the mark: exactly once.
            Consumer::Circulation => {
                let deltas = tessera_platform::circulation::deltas_of(event)?;
                let mark = handled_mark(consumer, &event.event_id, self.clock.now());
                let counted = self
                    .table
                    .add_to_counters(&event.merchant_id, &deltas, mark)
                    .await?;
                tracing::info!(event = %event.event_id, event_type = event.event_type.name(), merchant = %event.merchant_id, deltas = deltas.len(), counted, consumer = consumer.name(), operation = "publish", "counters updated");
                return Ok(());
            }
            // The notify consumer sends each notification id once, so a crash between
            // this send and the mark below costs a duplicate message, never a mail.
            Consumer::Notifications => self.notifications.send_raw(event.data.clone()).await?,
            // The worker leaves a finished export alone: a duplicate costs a message.
            Consumer::ReportExports => self.report_exports.send_raw(event.data.clone()).await?,
            // The worker issues each row once, however often its batch is queued.
            Consumer::BatchIssue => self.batch_issue.send_raw(event.data.clone()).await?,
            Consumer::Callbacks => {
                // The delivery item first (once: its id is the event's), then its message;
                // a crash between the two repeats the message, which the sender skips
                // once the delivery is done.
                if let Some(mut delivery) = tessera_platform::webhooks::refund_delivery(event)? {
                    let created = self.table.create_delivery(&mut delivery).await?;
                    self.refund_notify
                        .send(&tessera_platform::webhooks::CallbackMessage {
                            merchant_id: delivery.merchant_id.clone(),
                            delivery_id: delivery.delivery_id.clone(),
                        })
                        .await?;
                    tracing::info!(event = %event.event_id, merchant = %event.merchant_id, created, consumer = consumer.name(), operation = "publish", "callback queued");
                }
            }
            // The tickets follow the order as it stands: following twice changes nothing.
            Consumer::TicketBuyers => {
                let changed = tessera_platform::issued_orders::BuyerChanged::of(event)?;
                let followed = tessera_platform::issued_orders::follow_buyer(
                    &self.table,
                    self.clock.clone(),
                    &changed,
                )
                .await?;
                tracing::info!(event = %event.event_id, merchant = %event.merchant_id, followed, consumer = consumer.name(), operation = "publish", "tickets follow their buyer");
            }
        }
        self.table
            .mark_event_handled(consumer, event, self.clock.now())
            .await?;
        tracing::info!(event = %event.event_id, event_type = event.event_type.name(), merchant = %event.merchant_id, consumer = consumer.name(), operation = "publish", "event handled");
        Ok(())
    }
}
