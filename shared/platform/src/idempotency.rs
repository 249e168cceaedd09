//! `Idempotency-Key` on every state-changing route (POST, PUT, PATCH, DELETE), as one layer
//! in front of every function's routes:
//!
//! - the key (1–64 letters, digits, `-`, `_`) is scoped to the merchant the caller acts as,
//!   and the request it names is a digest of the caller, method, path and body;
//! - a request whose key was answered before gets that answer again (same status and
//!   body, `idempotent-replayed: true`), whatever the state is now; the same key with
//!   another request is refused (`IDEMPOTENCY_KEY_REUSED`); keys are kept 24 hours;
//! - routes whose changes go through the change engine write the key's record in the
//!   change's own transaction ([`crate::change::ChangeEngine`]), so a change and its answer
//!   are recorded together or not at all; the till's routes skip the read in front, as their
//!   engine looks the key up only when the change is refused;
//! - other routes get their 2xx answer recorded after the handler.
//!
//! Signing in is exempt: it changes no merchant's data, and its answer (a session token) is
//! never stored. So are the platform operator's routes: keys are a merchant's, and each
//! operator route is a PUT (or DELETE) of a named resource to a stated value, which sent
//! twice answers the same and changes nothing the second time.

use crate::auth::claims_of;
use crate::change::KeyedRequest;
use crate::problem::Problem;
use crate::store::idempotency::IdempotencyRecord;
use crate::store::Table;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::Digest;
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::values::{hex, MerchantId};
use tessera_domain::{Error, ErrorCode};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// Bodies of state-changing requests are small JSON documents (files go to S3 directly).
pub const BODY_LIMIT: usize = 1 << 20;
/// Answers larger than this are not recorded (none of the state-changing routes answers
/// so much; a list is not a change).
const ANSWER_LIMIT: usize = 256 * 1024;

/// Routes whose handlers record the key in their change's transaction and look it up only
/// when the change is refused (the till's hot path reads nothing extra).
pub const RECORDED_BY_THE_CHANGE: [(&str, &str); 6] = [
    ("POST", "/redemptions"),
    ("POST", "/redemptions/cancel"),
    ("POST", "/returns"),
    ("POST", "/returns/cancel"),
    ("POST", "/tickets/{ticket_no}/remarks"),
    // Its answer is a page (HTML), which the change records and redraws itself.
    ("POST", "/paper-tickets/print"),
];

/// The e-ticket wallet's JSON routes, keyed by the link's holder ([`link_keyed`]): the key
/// is required there too (a holder has no session a retry could be matched by).
pub const KEYED_BY_THE_LINK: [(&str, &str); 2] = [
    ("POST", "/wallet/{token}/transfers"),
    ("POST", "/wallet/{token}/return-requests"),
];

/// Whether a route refuses a request without an `Idempotency-Key`.
pub fn key_required(method: &str, route: &str) -> bool {
    RECORDED_BY_THE_CHANGE.contains(&(method, route))
        || KEYED_BY_THE_LINK.contains(&(method, route))
}

pub fn valid_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a method changes state (and so takes a key).
pub fn is_state_changing(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

#[derive(Clone)]
pub struct IdempotencyLayer {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
}

/// The keyed request of this call, for the handler (and its change engine); `None` when
/// the caller sent no key.
#[derive(Debug, Clone, Default)]
pub struct Keyed(pub Option<KeyedRequest>);

impl Keyed {
    /// The key, which this route requires (checked by the handler after the rights: a
    /// caller without them hears that first).
    pub fn require(&self) -> Result<&KeyedRequest, Error> {
        self.0
            .as_ref()
            .ok_or_else(|| Error::new(ErrorCode::IdempotencyKeyRequired))
    }

    pub fn as_ref(&self) -> Option<&KeyedRequest> {
        self.0.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Keyed {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Keyed>().cloned().unwrap_or_default())
    }
}

/// The layer's work, as the module says.
pub async fn idempotent(
    State(layer): State<IdempotencyLayer>,
    request: Request,
    next: Next,
) -> Response {
    if !is_state_changing(request.method()) {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::trim).unwrap_or_default().to_owned())
    else {
        return next.run(request).await;
    };
    let Some(claims) = claims_of(request.extensions()) else {
        // Public routes (sign-in) and unauthenticated calls: no merchant to scope a key to;
        // the handler answers as it would without one.
        return next.run(request).await;
    };
    if !valid_key(&key) {
        return Problem::new(ErrorCode::IdempotencyKeyRequired).into_response();
    }
    let Ok(merchant) = MerchantId::parse("act", &claims.act) else {
        return next.run(request).await;
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let recorded_by_change = RECORDED_BY_THE_CHANGE
        .iter()
        .any(|(method, path)| request.method().as_str() == *method && route == *path);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return Problem::new(ErrorCode::PayloadTooLarge).into_response();
    };
    let keyed = KeyedRequest {
        merchant,
        key,
        request_hash: request_hash(&parts, &claims.sub, &bytes),
    };
    if !recorded_by_change {
        let stored = layer
            .table
            .get_idempotency(&keyed.merchant, &keyed.key, layer.clock.now())
            .await;
        match stored {
            Ok(Some(record)) if record.request_hash == keyed.request_hash => {
                return replay(&record);
            }
            Ok(Some(_)) => return Problem::new(ErrorCode::IdempotencyKeyReused).into_response(),
            Ok(None) => {}
            Err(error) => return Problem(error).into_response(),
        }
    }
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(Keyed(Some(keyed.clone())));
    let response = next.run(request).await;
    if recorded_by_change || !response.status().is_success() {
        return response;
    }
    record_answer(&layer, &keyed, response).await
}

/// Records a route's successful answer (unless its change already did) and returns it.
async fn record_answer(
    layer: &IdempotencyLayer,
    keyed: &KeyedRequest,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, ANSWER_LIMIT).await else {
        tracing::warn!(key = %keyed.key, "answer too large to record for its idempotency key");
        return (StatusCode::INTERNAL_SERVER_ERROR, "answer too large").into_response();
    };
    let record = IdempotencyRecord {
        merchant_id: keyed.merchant.clone(),
        key: keyed.key.clone(),
        request_hash: keyed.request_hash.clone(),
        status: parts.status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        created_at: layer.clock.now(),
    };
    if let Err(error) = layer.table.record_idempotency(&record).await {
        // The change stands; a retry would do it again (and most likely be refused).
        tracing::warn!(key = %keyed.key, error = %error, "idempotency record not written");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(record: &IdempotencyRecord) -> Response {
    let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
    // A 204's body is nothing, whatever its change recorded (`null` for no answer).
    let mut response = if record.body.is_empty() || status == StatusCode::NO_CONTENT {
        status.into_response()
    } else {
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            record.body.clone(),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// What a key names: the caller (account), method, path with query, and body bytes.
/// The keyed request of a caller with no session (the holder of an e-ticket link, who sends
/// the key as a header or the page's form carries it): scoped to the merchant the link
/// belongs to and, inside it, to the link, so two holders' keys never meet.
pub fn link_keyed(
    merchant: &MerchantId,
    key: &str,
    token: &str,
    route: &str,
    body: &[u8],
) -> Result<KeyedRequest, Error> {
    if !valid_key(key) {
        return Err(Error::new(ErrorCode::IdempotencyKeyRequired));
    }
    let link = hex(&sha2::Sha256::digest(token.as_bytes()));
    let mut digest = sha2::Sha256::new();
    for part in [link.as_bytes(), route.as_bytes(), body] {
        digest.update(part);
        digest.update([0u8]);
    }
    Ok(KeyedRequest {
        merchant: merchant.clone(),
        key: format!("link-{}-{key}", &link[..16]),
        request_hash: hex(&digest.finalize()),
    })
}

fn request_hash(parts: &Parts, account: &str, body: &Bytes) -> String {
    let mut digest = sha2::Sha256::new();
    for part in [
        account.as_bytes(),
        parts.method.as_str().as_bytes(),
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_default()
            .as_bytes(),
    ] {
        digest.update(part);
        digest.update([0u8]);
    }
    digest.update(body);
    hex(&digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_and_plain() {
        assert!(valid_key("redeem-2026_11-30"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(65)));
        assert!(!valid_key("a b"));
        assert!(!valid_key("鍵"));
    }

    #[test]
    fn the_digest_tells_callers_paths_and_bodies_apart() {
        let parts = |uri: &str| Request::post(uri).body(()).unwrap().into_parts().0;
        let body = Bytes::from_static(b"{\"code\":\"A\"}");
        let base = request_hash(&parts("/redemptions"), "admin", &body);
        assert_eq!(base, request_hash(&parts("/redemptions"), "admin", &body));
        assert_ne!(base, request_hash(&parts("/returns"), "admin", &body));
        assert_ne!(
            base,
            request_hash(&parts("/redemptions"), "cashier01", &body)
        );
        assert_ne!(
            base,
            request_hash(&parts("/redemptions"), "admin", &Bytes::from_static(b"{}"))
        );
    }
}
