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
