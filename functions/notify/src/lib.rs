//! The notifications queue's consumer: sends each queued mail through SES, and each text
//! message through SNS (recording it in the SMS log), once.
//!
//! Idempotent: a notification whose id is already marked sent is skipped, so an SQS
//! redelivery never mails twice. A send that fails is reported as a batch-item failure and
//! retried by SQS; after the queue's maxReceiveCount it lands in the dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};
use futures_util::stream::{self, StreamExt};
use tessera_domain::notification::{mask_email, Message, Notification, QueuedNotifications};
use tessera_domain::values::TaiwanMobile;

tessera_platform::recorded_client!(ses_client, aws_sdk_sesv2);
tessera_platform::recorded_client!(sns_client, aws_sdk_sns);
use tessera_platform::store::notifications::SmsLogEntry;
use tessera_platform::store::Table;

/// Notifications of one bundle sent at once (SES and SNS rate limits are per second).
const SEND_CONCURRENCY: usize = 8;

#[derive(Clone)]
pub struct Notifier {
    pub table: Table,
    pub ses: aws_sdk_sesv2::Client,
    /// Text messages (SMS) go through SNS.
    pub sns: aws_sdk_sns::Client,
    /// The verified sender, e.g. `noreply@tessera.example.com`.
    pub mail_from: String,
}

impl Notifier {
    pub async fn from_env() -> Result<Notifier, String> {
        let config = tessera_platform::aws::load_sdk_config().await;
        let mail_from =
            tessera_platform::aws::required_env("TESSERA_MAIL_FROM").map_err(|e| e.to_string())?;
        Ok(Notifier {
            table: Table::from_env(&config).map_err(|e| e.to_string())?,
            ses: ses_client(&config),
            sns: sns_client(&config),
            mail_from,
        })
    }

    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if let Err(reason) = self.deliver(&record).await {
                let message_id = record.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %message_id, reason = %reason, operation = "notify", "notification not delivered; SQS will retry");
                response.add_failure(message_id);
            }
        }
        response
    }

    /// Sends every notification of the message that was not sent before; the first
    /// failure fails the message (the ones already sent are skipped when it comes back).
    async fn deliver(&self, record: &SqsMessage) -> Result<(), String> {
        let body = record.body.as_deref().ok_or("message has no body")?;
        let queued: QueuedNotifications =
            serde_json::from_str(body).map_err(|e| format!("not a notification: {e}"))?;
        let results: Vec<Result<(), String>> = stream::iter(queued.into_vec())
            .map(|notification| async move { self.send_once(&notification).await })
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }

    async fn send_once(&self, notification: &Notification) -> Result<(), String> {
        if self
            .table
            .is_notification_sent(&notification.id)
            .await
            .map_err(|e| e.to_string())?
        {
            tracing::info!(notification = %notification.id, operation = "notify", "already sent; redelivery skipped");
            return Ok(());
        }
        match &notification.message {
            Message::Email { to, subject, body } => {
                let content = EmailContent::builder()
                    .simple(
                        SesMessage::builder()
                            .subject(
                                Content::builder()
                                    .data(subject)
                                    .charset("UTF-8")
                                    .build()
                                    .map_err(|e| e.to_string())?,
                            )
                            .body(
                                Body::builder()
                                    .text(
                                        Content::builder()
                                            .data(body)
                                            .charset("UTF-8")
                                            .build()
                                            .map_err(|e| e.to_string())?,
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build();
                self.ses
                    .send_email()
                    .from_email_address(&self.mail_from)
                    .destination(
                        Destination::builder()
                            .set_to_addresses(Some(to.clone()))
                            .build(),
                    )
                    .content(content)
                    .send()
                    .await
                    .map_err(|e| format!("SES refused: {}", e.into_service_error()))?;
                let recipients: Vec<String> = to.iter().map(|a| mask_email(a)).collect();
                tracing::info!(notification = %notification.id, merchant = %notification.merchant_id, to = ?recipients, operation = "notify", "mail sent");
            }
            Message::Sms {
                to,
                buyer_name,
                body,
                purpose,
            } => {
                let mobile = TaiwanMobile::parse("to", to)
                    .map_err(|_| "not a Taiwan mobile number".to_owned())?;
                // E.164 for SNS: 09xxxxxxxx is +8869xxxxxxxx.
                let e164 = format!("+886{}", &mobile.as_str()[1..]);
                self.sns
                    .publish()
                    .phone_number(e164)
                    .message(body)
                    .send()
                    .await
                    .map_err(|e| format!("SNS refused: {}", e.into_service_error()))?;
                // Every SMS sent is in the merchant's SMS log (§7-3 L); recording it again
                // on a retry overwrites the same entry.
                self.table
                    .record_sms(&SmsLogEntry {
                        notification_id: notification.id.clone(),
                        merchant_id: notification.merchant_id.clone(),
                        at: chrono::Utc::now(),
                        to: mobile.as_str().to_owned(),
                        buyer_name: buyer_name.clone(),
                        body: body.clone(),
                        purpose: purpose.clone(),
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(notification = %notification.id, merchant = %notification.merchant_id, to = %mobile.masked(), operation = "notify", "sms sent");
            }
        }
        self.table
            .mark_notification_sent(&notification.id)
            .await
            .map_err(|e| e.to_string())
    }
}
