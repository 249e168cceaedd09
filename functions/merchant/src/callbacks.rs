//! The merchant's side of refund callbacks (§八 8-1, Standard Webhooks): the signing
//! secret (shown once, rotated with a day's overlap), the delivery log, redelivery, and a
//! signed test ping (docs/decisions/0018-refund-callbacks.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::{Access, FunctionArea};
use tessera_domain::reports::DayRange;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::CurrentActor;
use tessera_platform::change::{Changes, Decision};
use tessera_platform::idempotency::Keyed;
use tessera_platform::services::Services;
use tessera_platform::store::webhooks::{
    callback_settings_write, Delivery, DeliveryStatus, SigningSecret,
};
use tessera_platform::webhooks::{body, new_secret, CallbackMessage, PING};
use tessera_platform::{ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};

const PROBLEM: &str = "application/problem+json";

/// The history entity of the callback settings (versions of their own item).
const CALLBACKS_ENTITY: &str = "callback_settings";

/// How long a replaced secret still signs, so integrators can switch without a gap.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

fn rights() -> tessera_domain::access::AreaGuard {
    super::rights(FunctionArea::OperationSettings)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewSecretView {
    /// `whsec_` and base64: verify callbacks with it (Standard Webhooks). Shown only now.
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// Until when the replaced secret also signs (both signatures are sent meanwhile).
    pub previous_signs_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SecretStateView {
    /// Whether a signing secret exists (callbacks wait for one).
    pub exists: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub previous_signs_until: Option<DateTime<Utc>>,
    /// Endpoints that answered 410 Gone: nothing is sent to them until the notify URL is
    /// set again.
    pub disabled_urls: Vec<String>,
}

/// Create the signing secret, or rotate it: the new one is answered once; the replaced one
/// keeps signing for 24 hours beside it.
#[utoipa::path(post, path = "/merchant/webhook-secret", tag = "merchant", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 201, body = NewSecretView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM),
        (status = 422, description = "IDEMPOTENCY_KEY_REUSED", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn rotate_secret(
    State(services): State<Services>,
    current: CurrentActor,
    keyed: Keyed,
) -> Result<(StatusCode, Json<NewSecretView>), Problem> {
    let actor = &current.actor;
    rights().check_own(actor, Access::Modify)?;
    let secret = &new_secret()?;
    let services = &services;
    let view = services.engine()
        .run(keyed.as_ref(), 201, |now| async move {
            let mut settings = services.table.get_callback_settings(&actor.acting_as).await?;
            let replaced = settings.current.take().map(|mut old| {
                old.signs_until = Some(now + Duration::hours(ROTATION_OVERLAP_HOURS));
                old
            });
            let previous_signs_until = replaced.as_ref().and_then(|s| s.signs_until);
            settings.previous = replaced;
            settings.current = Some(SigningSecret {
                secret: secret.clone(),
                created_at: now,
                signs_until: None,
            });
            let mut changes = Changes::new();
            changes.write(callback_settings_write(&actor.acting_as, &mut settings)?);
            changes.history(
                &tessera_platform::store::history::HistoryEntry::by(
                    actor,
                    now,
                    CALLBACKS_ENTITY,
                    actor.acting_as.as_str(),
                    "webhook_secret_rotated",
                    // The secret itself is never recorded.
                    serde_json::json!({"secret": "changed", "previous_signs_until": previous_signs_until}),
                ),
                settings.version,
            )?;
            Ok(Decision::new(
                changes,
                NewSecretView {
                    secret: secret.clone(),
                    created_at: now,
                    previous_signs_until,
                },
            ))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Whether a signing secret exists and since when (never the secret itself).
#[utoipa::path(get, path = "/merchant/webhook-secret", tag = "merchant", security(("bearer" = [])),
    responses((status = 200, body = SecretStateView),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn secret_state(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<Json<SecretStateView>, Problem> {
    rights().check_own(&current.actor, Access::Query)?;
    let settings = services
        .table
        .get_callback_settings(&current.actor.acting_as)
        .await?;
    let now = services.clock.now();
    Ok(Json(SecretStateView {
        exists: settings.current.is_some(),
        created_at: settings.current.as_ref().map(|s| s.created_at),
        previous_signs_until: settings
            .previous
            .as_ref()
            .and_then(|s| s.signs_until)
            .filter(|until| *until > now),
        disabled_urls: settings.disabled_urls,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    /// The endpoint's answer; none when there was no answer (see `error`).
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// The answer's first 256 bytes.
    pub response_start: String,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The `webhook-id` header: the same on every try and redelivery.
    pub delivery_id: String,
    /// `refund.completed` or `ping`.
    pub event_type: String,
    pub url: String,
    /// `pending`, `delivered`, `failed` or `disabled`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub attempt_count: u32,
    /// The latest attempts (at most 20), oldest first.
    pub attempts: Vec<AttemptView>,
    /// The JSON body sent, as signed.
    pub body: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
}

fn delivery_view(delivery: Delivery) -> DeliveryView {
    DeliveryView {
        delivery_id: delivery.delivery_id,
        event_type: delivery.event_type,
        url: delivery.url,
        status: delivery.status.name().to_owned(),
        created_at: delivery.created_at,
        delivered_at: delivery.delivered_at,
        attempt_count: delivery.attempt_count,
        attempts: delivery
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                at: a.at,
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                response_start: a.response_start,
                error: a.error,
            })
            .collect(),
        body: delivery.body,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// First Taipei day (YYYY-MM-DD) a callback was created.
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
    /// Only this status: `pending`, `delivered`, `failed` or `disabled`.
    #[param(pattern = "^(pending|delivered|failed|disabled)$")]
    pub status: Option<String>,
}

/// The delivery log: each callback of a range of days with every attempt (time, status,
/// latency, the answer's first bytes, the error).
#[utoipa::path(get, path = "/webhooks/deliveries", tag = "merchant", security(("bearer" = [])),
    params(DeliveryQuery),
    responses((status = 200, body = DeliveryList),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months), status", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: query right of operation_settings", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn deliveries(
    State(services): State<Services>,
    current: CurrentActor,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryList>, Problem> {
    rights().check_own(&current.actor, Access::Query)?;
    let range = DayRange::parse(query.from, query.to)?;
    let wanted = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(
            [
                DeliveryStatus::Pending,
                DeliveryStatus::Delivered,
                DeliveryStatus::Failed,
                DeliveryStatus::Disabled,
            ]
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::invalid_field("status", "pending, delivered, failed or disabled")
            })?,
        ),
    };
    let (from, until) = range.instants();
    let items = services
        .table
        .deliveries_between(&current.actor.acting_as, from, until)
        .await?
        .into_iter()
        .filter(|d| wanted.is_none_or(|w| d.status == w))
        .map(delivery_view)
        .collect();
    Ok(Json(DeliveryList { items }))
}

/// Queue a delivery's message (the sender looks the delivery up).
async fn queue(services: &Services, delivery: &Delivery) -> Result<(), Error> {
    services
        .refund_notify()?
        .send(&CallbackMessage {
            merchant_id: delivery.merchant_id.clone(),
            delivery_id: delivery.delivery_id.clone(),
        })
        .await
}

/// Send a callback again (same `webhook-id`, body and signature scheme), whatever became of
/// it: e.g. after the endpoint was fixed, or the secret created.
#[utoipa::path(post, path = "/webhooks/deliveries/{delivery_id}/redeliver", tag = "merchant", security(("bearer" = [])),
    params(("delivery_id" = String, Path, description = "The callback's webhook-id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 202, description = "Queued", body = DeliveryView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 404, description = "DELIVERY_NOT_FOUND", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "CONCURRENT_CHANGE", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn redeliver(
    State(services): State<Services>,
    current: CurrentActor,
    Path(delivery_id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryView>), Problem> {
    let actor = &current.actor;
    rights().check_own(actor, Access::Modify)?;
    let services = &services;
    let id = &delivery_id;
    let delivery = services
        .engine()
        .run(None, 202, |_| async move {
            let mut delivery = services
                .table
                .get_delivery(&actor.acting_as, id)
                .await?
                .ok_or_else(|| Error::new(ErrorCode::DeliveryNotFound))?;
            delivery.status = DeliveryStatus::Pending;
            let mut changes = Changes::new();
            changes.write(delivery.update_write()?);
            Ok(Decision::new(changes, delivery))
        })
        .await?;
    queue(services, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery_view(delivery))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RedeliverRange {
    /// First Taipei day (YYYY-MM-DD) a callback was created.
    pub from: NaiveDate,
    /// Last Taipei day (YYYY-MM-DD), at most 3 months after `from`.
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RedeliveredList {
    /// The failed callbacks queued again (their webhook-ids).
    pub delivery_ids: Vec<String>,
}

/// Send again every callback of a range of days whose tries all failed.
#[utoipa::path(post, path = "/webhooks/deliveries/redeliver-failed", tag = "merchant", security(("bearer" = [])),
    request_body = RedeliverRange,
    params(("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 202, description = "Queued", body = RedeliveredList),
        (status = 400, description = "VALIDATION_FAILED: from, to (at most 3 months); IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn redeliver_failed(
    State(services): State<Services>,
    current: CurrentActor,
    tessera_platform::ApiJson(range): tessera_platform::ApiJson<RedeliverRange>,
) -> Result<(StatusCode, Json<RedeliveredList>), Problem> {
    let actor = &current.actor;
    rights().check_own(actor, Access::Modify)?;
    let (from, until) = DayRange::parse(range.from, range.to)?.instants();
    let failed: Vec<Delivery> = services
        .table
        .deliveries_between(&actor.acting_as, from, until)
        .await?
        .into_iter()
        .filter(|d| d.status == DeliveryStatus::Failed)
        .collect();
    let mut delivery_ids = Vec::with_capacity(failed.len());
    for mut delivery in failed {
        delivery.status = DeliveryStatus::Pending;
        // A delivery changed meanwhile (its own redelivery) is left as it is.
        match services
            .table
            .transact_detailed(vec![delivery.update_write()?])
            .await
        {
            Ok(()) => {
                queue(&services, &delivery).await?;
                delivery_ids.push(delivery.delivery_id);
            }
            Err(tessera_platform::store::TransactFailure::Conditions(_)) => {}
            Err(tessera_platform::store::TransactFailure::Other(error)) => return Err(error.into()),
        }
    }
    Ok((StatusCode::ACCEPTED, Json(RedeliveredList { delivery_ids })))
}

/// Send a signed test callback (`ping`) to the current notify URL.
#[utoipa::path(post, path = "/webhooks/ping", tag = "merchant", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-64 letters, digits, - or _")),
    responses((status = 202, description = "Queued", body = DeliveryView),
        (status = 400, description = "IDEMPOTENCY_KEY_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 401, description = "UNAUTHENTICATED", body = ProblemDetails, content_type = PROBLEM),
        (status = 403, description = "RIGHT_MISSING: modify right of operation_settings; SWITCH_REQUIRED", body = ProblemDetails, content_type = PROBLEM),
        (status = 409, description = "NOTIFY_URL_NOT_SET", body = ProblemDetails, content_type = PROBLEM)))]
pub async fn ping(
    State(services): State<Services>,
    current: CurrentActor,
) -> Result<(StatusCode, Json<DeliveryView>), Problem> {
    let actor = &current.actor;
    rights().check_own(actor, Access::Modify)?;
    let url = services
        .table
        .get_settings(&actor.acting_as)
        .await?
        .refund_notify_url
        .ok_or_else(|| Problem::new(ErrorCode::NotifyUrlNotSet))?;
    let now = services.clock.now();
    let random: [u8; 12] = tessera_platform::random::random_bytes()?;
    let id = tessera_domain::values::hex(&random);
    let mut delivery = Delivery {
        merchant_id: actor.acting_as.clone(),
        delivery_id: format!("ping_{id}"),
        event_type: PING.to_owned(),
        url,
        body: body(
            PING,
            now,
            &serde_json::json!({"merchant_id": actor.acting_as}),
        ),
        created_at: now,
        status: DeliveryStatus::Pending,
        attempt_count: 0,
        attempts: Vec::new(),
        delivered_at: None,
        version: 0,
    };
    services.table.create_delivery(&mut delivery).await?;
    queue(&services, &delivery).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery_view(delivery))))
}
