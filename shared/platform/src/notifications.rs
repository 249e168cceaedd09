//! Notifications for the consumer (functions/notify): an operation requests them as outbox
//! events in its own transaction (`notification_events`), and the publisher puts each
//! event's bundle on the notifications queue. Requesting is the only thing an operation
//! does about mail, so a mail outage never fails or undoes the operation, and a crash
//! after the commit loses nothing.

use tessera_domain::notification::Notification;
use tessera_domain::{Error, ErrorCode};

#[derive(Clone, Debug)]
pub struct NotificationQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

/// Notifications per bundle, and the bundle's size limit (SQS takes 256 KiB a message).
const BUNDLE_MAX: usize = 100;
const BUNDLE_MAX_BYTES: usize = 200 * 1024;

impl NotificationQueue {
    /// The queue `NOTIFICATIONS_QUEUE_URL` names (set by the template).
    pub fn from_env(config: &crate::aws::SdkConfig) -> Result<Self, crate::aws::ConfigError> {
        Ok(NotificationQueue {
            sqs: crate::aws::sqs_client(config),
            url: crate::aws::required_env("NOTIFICATIONS_QUEUE_URL")?,
        })
    }

    /// Sends a message body as it is (a bundle the outbox carried).
    pub async fn send_raw(&self, body: String) -> Result<(), Error> {
        send(&self.sqs, &self.url, body).await
    }
}

/// Many notifications as a few bundles (at most 100 notifications or 200 KiB each), each
/// the body of one queue message or the data of one outbox event.
pub fn bundles(notifications: &[Notification]) -> Result<Vec<String>, Error> {
    let mut bodies = Vec::new();
    let mut bundle: Vec<&Notification> = Vec::new();
    let mut size = 0;
    for notification in notifications {
        let bytes = to_json(notification)?.len();
        if !bundle.is_empty() && (bundle.len() == BUNDLE_MAX || size + bytes > BUNDLE_MAX_BYTES) {
            bodies.push(to_json(&serde_json::json!({ "bundle": bundle }))?);
            bundle.clear();
            size = 0;
        }
        bundle.push(notification);
        size += bytes + 1;
    }
    if !bundle.is_empty() {
        bodies.push(to_json(&serde_json::json!({ "bundle": bundle }))?);
    }
    Ok(bodies)
}

/// The outbox events that request `notifications`, one per bundle, with ids derived from
/// `id_prefix` (unique to the change that requests them) and the bundle's place.
pub fn notification_events(
    id_prefix: &str,
    merchant_id: &tessera_domain::values::MerchantId,
    at: chrono::DateTime<chrono::Utc>,
    subject: &str,
    notifications: &[Notification],
) -> Result<Vec<crate::store::outbox::OutboxEvent>, Error> {
    Ok(bundles(notifications)?
        .into_iter()
        .enumerate()
        .map(|(part, data)| crate::store::outbox::OutboxEvent {
            event_id: format!("{id_prefix}-n{part}"),
            event_type: tessera_domain::events::EventType::NotificationsRequested,
            merchant_id: merchant_id.clone(),
            at,
            subject: subject.to_owned(),
            data,
        })
        .collect())
}

/// A work queue (batch issuance, report export): JSON messages for a consumer function.
#[derive(Clone, Debug)]
pub struct WorkQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl WorkQueue {
    pub async fn send<T: serde::Serialize>(&self, message: &T) -> Result<(), Error> {
        send(&self.sqs, &self.url, to_json(message)?).await
    }

    /// Sends a message body as it is (a message the outbox carried).
    pub async fn send_raw(&self, body: String) -> Result<(), Error> {
        send(&self.sqs, &self.url, body).await
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value)
        .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))
}

/// One message onto a queue; a refusal is `DEPENDENCY_UNAVAILABLE` (logged with the cause).
async fn send(sqs: &aws_sdk_sqs::Client, url: &str, body: String) -> Result<(), Error> {
    sqs.send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, queue = %url, "message not queued");
            Error::new(ErrorCode::DependencyUnavailable)
        })?;
    Ok(())
}
