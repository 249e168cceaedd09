//! Queues notifications for the consumer (functions/notify). Enqueueing is the only thing
//! an operation does about mail, so a mail outage never fails or undoes the operation.

use tessera_domain::notification::Notification;
use tessera_domain::{Error, ErrorCode};

#[derive(Clone, Debug)]
pub struct NotificationQueue {
    pub sqs: aws_sdk_sqs::Client,
    pub url: String,
}

impl NotificationQueue {
    pub async fn enqueue(&self, notification: &Notification) -> Result<(), Error> {
        let body = serde_json::to_string(notification)
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = ?e, "notification not queued");
                Error::new(ErrorCode::DependencyUnavailable)
            })?;
        Ok(())
    }
}

impl NotificationQueue {
    /// Queues many notifications, ten to a SendMessageBatch call, all calls at once.
    /// Entries SQS reports as failed are an error: the caller retries, and the consumer's
    /// dedupe by notification id keeps a re-queued notification from being sent twice.
    pub async fn enqueue_all(&self, notifications: &[Notification]) -> Result<(), Error> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut calls = Vec::new();
        for chunk in notifications.chunks(10) {
            let mut request = self.sqs.send_message_batch().queue_url(&self.url);
            for (index, notification) in chunk.iter().enumerate() {
                let body = serde_json::to_string(notification)
                    .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| {
                        tracing::error!(error = ?e, "notification entry not built");
                        Error::new(ErrorCode::InternalError)
                    })?;
                request = request.entries(entry);
            }
            calls.push(request.send());
        }
        for output in futures_util::future::join_all(calls).await {
            let output = output.map_err(|e| {
                tracing::error!(error = ?e, "notifications not queued");
                Error::new(ErrorCode::DependencyUnavailable)
            })?;
            if !output.failed().is_empty() {
                tracing::error!(
                    failed = output.failed().len(),
                    "some notifications not queued"
                );
                return Err(Error::new(ErrorCode::DependencyUnavailable));
            }
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
        let body = serde_json::to_string(message)
            .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
        self.sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| {
                tracing::error!(error = ?e, queue = %self.url, "work not queued");
                Error::new(ErrorCode::DependencyUnavailable)
            })?;
        Ok(())
    }
}
