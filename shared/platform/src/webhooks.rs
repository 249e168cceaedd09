//! Standard Webhooks signing (https://www.standardwebhooks.com): a merchant's secret is
//! `whsec_` and the base64 of 32 random bytes; a callback carries `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature`, a space-separated list of
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret in force (two
//! while a rotation overlaps). [`verify`] is what an integrator runs; the tests use it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{KeyInit, Mac};
use tessera_domain::{Error, ErrorCode};

pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a timestamp may be from the receiver's clock (replay protection).
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A new signing secret from 32 random bytes.
pub fn new_secret() -> Result<String, Error> {
    let bytes: [u8; 32] = crate::random::random_bytes()?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

fn key_of(secret: &str) -> Result<Vec<u8>, Error> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .map_err(|_| Error::new(ErrorCode::InternalError).with_detail("unreadable signing secret"))
}

/// One `v1,` signature of `body` sent as `id` at `timestamp` with `secret`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
    let mut mac = HmacSha256::new_from_slice(&key_of(secret)?)
        .map_err(|_| Error::new(ErrorCode::InternalError))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The `webhook-signature` header: a signature with each secret in force.
pub fn signature_header(
    secrets: &[&str],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, Error> {
    let signatures: Result<Vec<String>, Error> = secrets
        .iter()
        .map(|secret| signature(secret, id, timestamp, body))
        .collect();
    Ok(signatures?.join(" "))
}

/// Why a callback did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The timestamp is missing, unreadable or more than five minutes off.
    Timestamp,
    /// No signature in the header matches.
    Signature,
}

/// What a receiver does: the callback was signed with `secret` and sent within five minutes
/// of `now` (Unix seconds). Compares in constant time.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature_header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let sent: i64 = timestamp.parse().map_err(|_| VerifyError::Timestamp)?;
    if (now - sent).abs() > TOLERANCE_SECONDS {
        return Err(VerifyError::Timestamp);
    }
    let key = key_of(secret).map_err(|_| VerifyError::Signature)?;
    for candidate in signature_header.split(' ') {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            continue;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&key) else {
            return Err(VerifyError::Signature);
        };
        mac.update(format!("{id}.{sent}.").as_bytes());
        mac.update(body);
        if mac.verify_slice(&given).is_ok() {
            return Ok(());
        }
    }
    Err(VerifyError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_signs_as_published() {
        // The specification's test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signed = signature(secret, id, 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            verify(secret, id, "1614265330", &signed, body, 1614265330 + 60),
            Ok(())
        );
        assert_eq!(
            verify(secret, id, "1614265330", &signed, body, 1614265330 + 301),
            Err(VerifyError::Timestamp)
        );
        assert_eq!(
            verify(secret, id, "1614265330", &signed, b"{}", 1614265330),
            Err(VerifyError::Signature)
        );
    }

    #[test]
    fn either_secret_of_a_rotation_verifies_the_two_signature_header() {
        let (old, new) = (new_secret().unwrap(), new_secret().unwrap());
        let header = signature_header(&[&new, &old], "evt_1", 1_800_000_000, b"{}").unwrap();
        for secret in [&old, &new] {
            assert_eq!(
                verify(secret, "evt_1", "1800000000", &header, b"{}", 1_800_000_000),
                Ok(())
            );
        }
        let stranger = new_secret().unwrap();
        assert_eq!(
            verify(
                &stranger,
                "evt_1",
                "1800000000",
                &header,
                b"{}",
                1_800_000_000
            ),
            Err(VerifyError::Signature)
        );
    }
}

/// What the refund-notify queue carries: the delivery to (re)try.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallbackMessage {
    pub merchant_id: tessera_domain::values::MerchantId,
    pub delivery_id: String,
}

/// The body of a callback (Standard Webhooks' `type`, `timestamp`, `data`), the schema
/// the OpenAPI document's `webhooks` section states.
pub fn body(
    event_type: &str,
    at: chrono::DateTime<chrono::Utc>,
    data: &serde_json::Value,
) -> String {
    serde_json::json!({"type": event_type, "timestamp": at, "data": data}).to_string()
}

/// The delivery a refund asks for, if it was issued with a notify URL (the one in force
/// then): `refund.completed` with the refund result. An `installment_order.refunded`
/// event is one; a `ticket.bank_updated` event carries one when the bank settled a return.
pub fn refund_delivery(
    event: &crate::store::outbox::OutboxEvent,
) -> Result<Option<crate::store::webhooks::Delivery>, Error> {
    let data: serde_json::Value = serde_json::from_str(&event.data)
        .map_err(|e| Error::new(ErrorCode::InternalError).with_detail(e.to_string()))?;
    let data = match event.event_type {
        tessera_domain::events::EventType::TicketBankUpdated => data["refund"].clone(),
        _ => data,
    };
    let Some(url) = data["notify_url"].as_str().map(str::to_owned) else {
        return Ok(None);
    };
    let mut result = data.clone();
    if let Some(fields) = result.as_object_mut() {
        fields.remove("notify_url");
    }
    Ok(Some(crate::store::webhooks::Delivery {
        merchant_id: event.merchant_id.clone(),
        delivery_id: format!("evt_{}", event.event_id),
        event_type: REFUND_COMPLETED.to_owned(),
        url,
        body: body(REFUND_COMPLETED, event.at, &result),
        created_at: event.at,
        status: crate::store::webhooks::DeliveryStatus::Pending,
        attempt_count: 0,
        attempts: Vec::new(),
        delivered_at: None,
        version: 0,
    }))
}

/// The callback of a completed refund.
pub const REFUND_COMPLETED: &str = "refund.completed";
/// The merchant's test callback.
pub const PING: &str = "ping";

/// The body of every callback, as the OpenAPI document's `webhooks` section states it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CallbackBody {
    /// `refund.completed` or `ping`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the refund completed (the ping was sent).
    pub timestamp: chrono::DateTime<chrono::Utc>,
    pub data: RefundResult,
}

/// A completed refund: of an installment order's return (`trade_no`, `return_number`,
/// `periods`), or of a ticket's (`ticket_no`, `import_no`). A ping carries `merchant_id`
/// only.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefundResult {
    pub merchant_id: String,
    pub trade_no: Option<String>,
    pub return_number: Option<u32>,
    pub ticket_no: Option<String>,
    pub import_no: Option<String>,
    pub returned_at: Option<chrono::DateTime<chrono::Utc>>,
    pub refunded_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Face value returned, whole NT$.
    pub amount: Option<String>,
    /// The return handling fee kept.
    pub fee: Option<String>,
    /// What the cardholder gets back: amount less fee.
    pub refund_amount: Option<String>,
    /// Installment orders: each returned period with its part of the fee.
    pub periods: Option<Vec<RefundedPeriod>>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefundedPeriod {
    pub period: u32,
    pub fee: String,
}

/// The OpenAPI 3.1 `webhooks` object: what Tessera posts to a merchant's notify URL, with
/// the Standard Webhooks headers and what each answer means.
pub fn openapi_webhooks() -> serde_json::Value {
    let header = |name: &str, description: &str| {
        serde_json::json!({"name": name, "in": "header", "required": true,
            "description": description, "schema": {"type": "string"}})
    };
    let operation = |summary: &str| {
        serde_json::json!({"post": {
            "summary": summary,
            "description": "Signed as Standard Webhooks define: verify webhook-signature (v1, base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` with your whsec_ secret; two signatures during a rotation) and refuse timestamps more than 5 minutes off. Deduplicate on webhook-id: a retry or redelivery repeats it.",
            "parameters": [
                header(ID_HEADER, "The callback's id, the same on every try and redelivery."),
                header(TIMESTAMP_HEADER, "Unix seconds when this try was signed."),
                header(SIGNATURE_HEADER, "Space-separated `v1,<base64>` signatures."),
            ],
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/CallbackBody"}}}},
            "responses": {
                "2XX": {"description": "Delivered: not sent again."},
                "410": {"description": "Gone: the endpoint is disabled until the notify URL is set again."},
                "default": {"description": "Anything else (or no answer within 15 s) is retried after 1 min, 5 min, 30 min, 2 h, 5 h and 10 h (±20 %), then marked failed."}
            }
        }})
    };
    serde_json::json!({
        REFUND_COMPLETED: operation("A refund completed (an installment order's return, or a ticket's)."),
        PING: operation("A test callback (POST /webhooks/ping)."),
    })
}
