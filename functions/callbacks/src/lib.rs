//! The refund-notify queue's consumer: sends each callback, signed the Standard Webhooks
//! way, to its notify URL, and records the try in the delivery log. A 2xx delivers it; a
//! 410 disables the endpoint; anything else is tried again after a backoff with jitter
//! (the message's visibility), until the last try, after which SQS moves it to the
//! dead-letter queue (alarmed). The guard never lets a callback reach a private,
//! loopback, link-local or metadata address, whatever the name resolves to, and no
//! redirect is followed (docs/decisions/0018-refund-callbacks.md).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_domain::clock::Clock;
use tessera_domain::webhooks::{is_forbidden, outcome, retry_delay, Outcome, MAX_ATTEMPTS};
use tessera_domain::{Error, ErrorCode};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::webhooks::{
    callback_settings_write, Attempt, Delivery, DeliveryStatus,
};
use tessera_platform::store::Table;
use tessera_platform::webhooks::{
    signature_header, CallbackMessage, ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};

pub const NEEDS: &[Resource] = &[Resource::RefundNotifyQueue, Resource::CallbackTargets];

/// Connecting may take this long, a whole try this long: one slow endpoint holds one
/// message of one merchant, never the queue.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(15);
/// How much of an answer the log keeps.
pub const RESPONSE_START_BYTES: usize = 256;

pub type Resolving = Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>;

/// Turns a host name into addresses (the system's resolver; tests give their own).
pub trait Resolve: Send + Sync {
    fn resolve(&self, host: String, port: u16) -> Resolving;
}

/// The system resolver.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: String, port: u16) -> Resolving {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Test knobs: a retry's backoff multiplied by this (0: at once), and a crash after the
/// request was sent and before it is recorded.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    pub backoff_scale: f64,
    pub crash_after_send: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            backoff_scale: 1.0,
            crash_after_send: false,
        }
    }
}

#[derive(Clone)]
pub struct Sender {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// http and private addresses allowed (a local stack's receiver).
    pub allow_private: bool,
    pub resolver: Arc<dyn Resolve>,
    pub faults: Faults,
    /// A whole try's limit ([`TOTAL_TIMEOUT`]; tests shorten it).
    pub timeout: Duration,
}

/// Why a target was refused before any connection.
pub fn refusal(reason: &str) -> Error {
    Error::new(ErrorCode::ValidationFailed)
        .with_detail(format!("callback target refused: {reason}"))
}

impl Sender {
    pub fn new(services: &Services) -> Result<Sender, Error> {
        let queue = services.refund_notify()?;
        Ok(Sender {
            table: services.table.clone(),
            clock: services.clock.clone(),
            sqs: queue.sqs.clone(),
            queue_url: queue.url.clone(),
            allow_private: services.callbacks_reach_private_targets()?,
            resolver: Arc::new(SystemResolver),
            faults: Faults::default(),
            timeout: TOTAL_TIMEOUT,
        })
    }

    pub async fn from_env() -> Result<Sender, String> {
        Sender::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Lambda's SQS integration: each message one delivery; a failure is reported (with
    /// the backoff already set as its visibility) so SQS delivers it again.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            let receives = tessera_platform::lambda::receive_count(&record.attributes);
            let message = record
                .body
                .as_deref()
                .and_then(|body| serde_json::from_str::<CallbackMessage>(body).ok());
            let Some(message) = message else {
                tracing::error!(message_id = %message_id, operation = "callback", "unreadable message dropped");
                continue;
            };
            match self.deliver(&message, receives).await {
                Ok(Done::Finished) => {}
                Ok(Done::Retry(delay)) => {
                    if let Some(receipt) = &record.receipt_handle {
                        let seconds = (delay.num_seconds() as f64 * self.faults.backoff_scale)
                            .round()
                            .clamp(0.0, 43_200.0) as i32;
                        if let Err(error) = self
                            .sqs
                            .change_message_visibility()
                            .queue_url(&self.queue_url)
                            .receipt_handle(receipt)
                            .visibility_timeout(seconds)
                            .send()
                            .await
                        {
                            tracing::warn!(error = ?error, "backoff not set; the queue's visibility applies");
                        }
                    }
                    response.add_failure(message_id);
                }
                Err(error) => {
                    tracing::warn!(message_id = %message_id, delivery = %message.delivery_id, error = %error, operation = "callback", "callback not settled; SQS will deliver it again");
                    response.add_failure(message_id);
                }
            }
        }
        response
    }

    /// One try of one delivery, recorded.
    pub async fn deliver(&self, message: &CallbackMessage, receives: u32) -> Result<Done, Error> {
        let Some(delivery) = self
            .table
            .get_delivery(&message.merchant_id, &message.delivery_id)
            .await?
        else {
            tracing::warn!(delivery = %message.delivery_id, "no such delivery; message dropped");
            return Ok(Done::Finished);
        };
        if matches!(
            delivery.status,
            DeliveryStatus::Delivered | DeliveryStatus::Disabled
        ) {
            // A message repeated after the delivery was settled (a crash after sending).
            return Ok(Done::Finished);
        }
        let settings = self
            .table
            .get_callback_settings(&delivery.merchant_id)
            .await?;
        if settings.disabled_urls.contains(&delivery.url) {
            self.settle(&delivery, None, DeliveryStatus::Disabled)
                .await?;
            return Ok(Done::Finished);
        }
        let now = self.clock.now();
        let secrets = settings.signing_secrets(now);
        let attempt = if secrets.is_empty() {
            Attempt {
                at: now,
                status_code: None,
                latency_ms: 0,
                response_start: String::new(),
                error: Some(
                    "no signing secret: create one (POST /merchant/webhook-secret), then redeliver"
                        .to_owned(),
                ),
            }
        } else {
            self.send(&delivery, &secrets, now).await
        };
        if self.faults.crash_after_send {
            return Err(Error::new(ErrorCode::InternalError).with_detail("crashed after sending"));
        }
        let status = match outcome(attempt.status_code) {
            Outcome::Delivered => DeliveryStatus::Delivered,
            Outcome::Gone => DeliveryStatus::Disabled,
            Outcome::Retry if receives >= MAX_ATTEMPTS => DeliveryStatus::Failed,
            Outcome::Retry => DeliveryStatus::Pending,
        };
        let code = attempt.status_code;
        self.settle(&delivery, Some(attempt), status).await?;
        if status == DeliveryStatus::Disabled && code == Some(410) {
            self.disable(&delivery).await?;
        }
        tracing::info!(merchant = %delivery.merchant_id, delivery = %delivery.delivery_id, status = status.name(), code = ?code, receives, operation = "callback", "callback tried");
        Ok(match status {
            DeliveryStatus::Pending => {
                let unit = f64::from(u32::from_le_bytes(
                    tessera_platform::random::random_bytes::<4>().unwrap_or_default(),
                )) / f64::from(u32::MAX);
                Done::Retry(retry_delay(receives, unit).unwrap_or(chrono::Duration::zero()))
            }
            // The last try failed: reported, so SQS moves the message to the DLQ.
            DeliveryStatus::Failed => Done::Retry(chrono::Duration::zero()),
            _ => Done::Finished,
        })
    }

    /// Records a try (and the status it leaves) on the delivery, through the change engine.
    async fn settle(
        &self,
        delivery: &Delivery,
        attempt: Option<Attempt>,
        status: DeliveryStatus,
    ) -> Result<(), Error> {
        let engine = ChangeEngine::new(self.table.clone(), self.clock.clone());
        let (attempt, id) = (&attempt, &delivery.delivery_id);
        let merchant = &delivery.merchant_id;
        engine
            .run(None, 200, |now| async move {
                let mut current = self
                    .table
                    .get_delivery(merchant, id)
                    .await?
                    .ok_or_else(|| Error::new(ErrorCode::InternalError))?;
                if let Some(attempt) = attempt {
                    current.record(attempt.clone());
                }
                current.status = status;
                if status == DeliveryStatus::Delivered {
                    current.delivered_at = Some(now);
                }
                let mut changes = Changes::new();
                changes.write(current.update_write()?);
                Ok(Decision::new(changes, ()))
            })
            .await
    }

    /// A 410 disables the endpoint: nothing more is sent to it until the merchant sets its
    /// notify URL again.
    async fn disable(&self, delivery: &Delivery) -> Result<(), Error> {
        let engine = ChangeEngine::new(self.table.clone(), self.clock.clone());
        let merchant = &delivery.merchant_id;
        let url = &delivery.url;
        engine
            .run(None, 200, |_| async move {
                let mut settings = self.table.get_callback_settings(merchant).await?;
                let mut changes = Changes::new();
                if !settings.disabled_urls.contains(url) {
                    settings.disabled_urls.push(url.clone());
                    changes.write(callback_settings_write(merchant, &mut settings)?);
                }
                Ok(Decision::new(changes, ()))
            })
            .await
    }

    /// The addresses `url` may be reached at, after the guard: https only (http too when
    /// private targets are allowed), and no forbidden address among its resolutions.
    pub async fn checked_target(
        &self,
        url: &str,
    ) -> Result<(reqwest::Url, Vec<SocketAddr>), Error> {
        let parsed = reqwest::Url::parse(url).map_err(|_| refusal("not a URL"))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            other => return Err(refusal(&format!("{other}: only https"))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refusal("credentials in the URL"));
        }
        let host = parsed.host_str().ok_or_else(|| refusal("no host"))?;
        let port = parsed
            .port_or_known_default()
            .ok_or_else(|| refusal("no port"))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addresses = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => self
                .resolver
                .resolve(bare.to_owned(), port)
                .await
                .map_err(|e| refusal(&format!("{host} does not resolve: {e}")))?,
        };
        if addresses.is_empty() {
            return Err(refusal(&format!("{host} has no address")));
        }
        if !self.allow_private {
            if let Some(bad) = addresses.iter().find(|a| is_forbidden(a.ip())) {
                return Err(refusal(&format!(
                    "{host} resolves to {} (private, loopback, link-local or reserved)",
                    bad.ip()
                )));
            }
        }
        Ok((parsed, addresses))
    }

    /// Posts the delivery once, signed with `secrets`, to the checked addresses only; no
    /// redirects, no proxies. What happened, as the log keeps it.
    async fn send(&self, delivery: &Delivery, secrets: &[&str], now: DateTime<Utc>) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| Attempt {
            at: now,
            status_code: None,
            latency_ms: started.elapsed().as_millis() as u64,
            response_start: String::new(),
            error: Some(error),
        };
        let (url, addresses) = match self.checked_target(&delivery.url).await {
            Ok(target) => target,
            Err(error) => return failed(error.to_string()),
        };
        let timestamp = now.timestamp();
        let signature = match signature_header(
            secrets,
            &delivery.delivery_id,
            timestamp,
            delivery.body.as_bytes(),
        ) {
            Ok(signature) => signature,
            Err(error) => return failed(error.to_string()),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT.min(self.timeout))
            .timeout(self.timeout)
            .user_agent("Tessera-Webhooks/1.0")
            .resolve_to_addrs(&host, &addresses)
            .build();
        let client = match client {
            Ok(client) => client,
            Err(error) => return failed(error.to_string()),
        };
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header(ID_HEADER, &delivery.delivery_id)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(delivery.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                let start = &bytes[..bytes.len().min(RESPONSE_START_BYTES)];
                Attempt {
                    at: now,
                    status_code: Some(status),
                    latency_ms: started.elapsed().as_millis() as u64,
                    response_start: String::from_utf8_lossy(start).into_owned(),
                    error: None,
                }
            }
            Err(error) => failed(if error.is_timeout() {
                format!("timed out after {} ms", self.timeout.as_millis())
            } else if error.is_connect() {
                "could not connect".to_owned()
            } else {
                error.to_string()
            }),
        }
    }
}

/// How a message ends this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// Delivered, disabled or dropped: the message is deleted.
    Finished,
    /// Tried and failed: again after this delay (or to the DLQ after the last try).
    Retry(chrono::Duration),
}
