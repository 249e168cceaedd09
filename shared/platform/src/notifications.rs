//! Queues notifications for the consumer (functions/notify). Enqueueing is the only thing
//! an operation does about mail, so a mail outage never fails or undoes the operation.

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
    pub async fn enqueue(&self, notification: &Notification) -> Result<(), Error> {
        send(&self.sqs, &self.url, to_json(notification)?).await
    }

    /// Queues many notifications as a few bundles (at most 100 notifications or 200 KiB
    /// each), all sent at once. A failure is the caller's to retry: the consumer's dedupe
    /// by notification id keeps a re-queued notification from being sent twice.
    pub async fn enqueue_all(&self, notifications: &[Notification]) -> Result<(), Error> {
        let mut bodies = Vec::new();
        let mut bundle: Vec<&Notification> = Vec::new();
        let mut size = 0;
        for notification in notifications {
            let bytes = to_json(notification)?.len();
            if !bundle.is_empty() && (bundle.len() == BUNDLE_MAX || size + bytes > BUNDLE_MAX_BYTES)
            {
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
        let sends = bodies
            .into_iter()
            .map(|body| send(&self.sqs, &self.url, body));
        for sent in futures_util::future::join_all(sends).await {
            sent?;
        }
        Ok(())
    }
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
