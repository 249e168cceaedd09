//! The local gateway: every HTTP function's routes on one port, the queues polled into
//! their consumers, and the schedules fired, so the whole platform runs with one command.

use crate::functions::{
    http_functions, queue_handlers, scheduled_handlers, HandlerContext, QueueHandler,
    ScheduledHandler,
};
use crate::provision::{LocalAws, Provisioned};
use crate::schedule::Schedule;
use crate::template::Template;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use axum::extract::{MatchedPath, Request};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tessera_domain::{Error, ErrorCode};
use tessera_platform::auth::{request_context, Authenticator};
use tessera_platform::services::Services;
use tessera_platform::Problem;
use utoipa_axum::router::OpenApiRouter;

/// What the gateway's own endpoints need.
#[derive(Clone)]
pub struct GatewayState {
    pub aws: LocalAws,
    pub provisioned: Provisioned,
    pub services: Services,
    authenticator: Authenticator,
    /// (METHOD, path) of the template routes that need a session.
    protected: Arc<HashSet<(String, String)>>,
    schedules: Arc<BTreeMap<String, (Schedule, ScheduledHandler, serde_json::Value)>>,
    /// What the local webhook receiver got, newest last (the latest [`RECEIVED_KEPT`]).
    received: Arc<std::sync::Mutex<std::collections::VecDeque<ReceivedWebhook>>>,
}

/// Callbacks the local receiver keeps.
pub const RECEIVED_KEPT: usize = 100;

/// One callback as the local receiver (`POST /_dev/webhooks`) got it.
#[derive(Debug, Clone, Serialize)]
pub struct ReceivedWebhook {
    pub received_at: chrono::DateTime<Utc>,
    pub webhook_id: String,
    pub webhook_timestamp: String,
    pub webhook_signature: String,
    pub body: serde_json::Value,
}

/// The gateway's router: every function's routes, plus `/health`, `/openapi.json` and the
/// developer endpoints under `/_dev`.
pub fn router(state: GatewayState) -> Router {
    let mut functions = OpenApiRouter::new();
    for function in http_functions() {
        functions = functions.merge(function.routes);
    }
    let (functions, _) = functions.split_for_parts();
    // As in each function's app: the idempotency layer in front of every route, behind the
    // authorizer (it scopes keys to the caller the authorizer verified).
    let functions = tessera_platform::http::with_idempotency(functions, &state.services)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            apply_authorizer,
        ))
        .with_state(state.services.clone());
    router_over(state, functions)
}

/// The gateway's own endpoints in front of `functions` (in process, or the deployed
/// functions' processes: [`crate::deployed::DeployedFunctions::router`]).
pub fn router_over(state: GatewayState, functions: Router) -> Router {
    let own = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/_dev/schedules", get(list_schedules))
        .route("/_dev/schedules/{name}/run", post(run_schedule))
        .route(
            "/_dev/webhooks",
            post(receive_webhook).get(received_webhooks),
        )
        .with_state(state);
    tessera_platform::http::finish(functions.merge(own))
}

impl GatewayState {
    pub fn new(
        aws: LocalAws,
        template: &Template,
        provisioned: Provisioned,
        services: Services,
    ) -> Result<Self, String> {
        let handlers = scheduled_handlers(&services)
            .into_iter()
            .map(|(id, handler)| (id.to_owned(), handler))
            .collect();
        GatewayState::with_schedules(aws, template, provisioned, services, handlers)
    }

    /// The gateway firing `handlers` (by function logical id) on the template's schedules.
    pub fn with_schedules(
        aws: LocalAws,
        template: &Template,
        provisioned: Provisioned,
        services: Services,
        handlers: Vec<(String, ScheduledHandler)>,
    ) -> Result<Self, String> {
        let protected = template
            .routes()
            .into_iter()
            .filter(|(route, _)| !route.public)
            .map(|(route, _)| (route.method, route.path))
            .collect();
        let handlers: HashMap<_, _> = handlers.into_iter().collect();
        let mut schedules = BTreeMap::new();
        for function in &template.functions {
            for spec in &function.schedules {
                let Some(handler) = handlers.get(function.logical_id.as_str()) else {
                    return Err(format!(
                        "{} is scheduled in the template but has no handler",
                        function.logical_id
                    ));
                };
                let schedule = Schedule::parse(&spec.expression, spec.timezone.as_deref())
                    .map_err(|e| format!("{}.{}: {e}", function.logical_id, spec.event_name))?;
                let input = match &spec.input {
                    Some(text) => serde_json::from_str(text).map_err(|e| {
                        format!(
                            "{}.{}: input is not JSON: {e}",
                            function.logical_id, spec.event_name
                        )
                    })?,
                    None => serde_json::Value::Object(Default::default()),
                };
                let name = format!("{}.{}", function.logical_id, spec.event_name);
                schedules.insert(name, (schedule, handler.clone(), input));
            }
        }
        Ok(GatewayState {
            aws,
            provisioned,
            authenticator: services.authenticator()?,
            services,
            protected: Arc::new(protected),
            schedules: Arc::new(schedules),
            received: Arc::default(),
        })
    }
}

/// The local stack's webhook receiver: set the refund notify URL to
/// `http://localhost:3000/_dev/webhooks` and watch callbacks arrive at `GET /_dev/webhooks`
/// (newest first). It answers 204 and keeps the latest 100.
async fn receive_webhook(
    State(state): State<GatewayState>,
    headers: axum::http::HeaderMap,
    body: String,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let received = ReceivedWebhook {
        received_at: Utc::now(),
        webhook_id: header(tessera_platform::webhooks::ID_HEADER),
        webhook_timestamp: header(tessera_platform::webhooks::TIMESTAMP_HEADER),
        webhook_signature: header(tessera_platform::webhooks::SIGNATURE_HEADER),
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    };
    tracing::info!(webhook_id = %received.webhook_id, "local receiver got a callback");
    if let Ok(mut kept) = state.received.lock() {
        kept.push_back(received);
        while kept.len() > RECEIVED_KEPT {
            kept.pop_front();
        }
    }
    StatusCode::NO_CONTENT
}

async fn received_webhooks(State(state): State<GatewayState>) -> Json<Vec<ReceivedWebhook>> {
    let kept = state
        .received
        .lock()
        .map(|kept| kept.iter().rev().cloned().collect())
        .unwrap_or_default();
    Json(kept)
}

/// What API Gateway does for a route behind the session authorizer: run the same
/// authorizer code and hand its context to the function.
async fn apply_authorizer(
    State(state): State<GatewayState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let protected = route.is_some_and(|path| {
        state
            .protected
            .contains(&(request.method().as_str().to_owned(), path))
    });
    if protected {
        let fields = state
            .authenticator
            .authorize_request(request.headers())
            .await;
        request.extensions_mut().insert(request_context(fields));
    }
    next.run(request).await
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi::document())
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub services: BTreeMap<&'static str, ServiceHealth>,
}

#[derive(Debug, Serialize)]
pub struct ServiceHealth {
    pub healthy: bool,
    pub detail: String,
}

/// Asks each service about the resources the platform uses, not just whether it answers.
pub async fn check_health(state: &GatewayState) -> Health {
    let aws = &state.aws;
    let p = &state.provisioned;
    let dynamodb = match aws
        .dynamodb
        .describe_table()
        .table_name(&p.table_name)
        .send()
        .await
    {
        Ok(_) => ServiceHealth {
            healthy: true,
            detail: format!("table {} reachable", p.table_name),
        },
        Err(e) => ServiceHealth {
            healthy: false,
            detail: format!("table {}: {}", p.table_name, e.into_service_error()),
        },
    };
    let mut s3 = ServiceHealth {
        healthy: true,
        detail: format!("{} buckets reachable", p.buckets.len()),
    };
    for name in p.buckets.values() {
        if let Err(e) = aws.s3.head_bucket().bucket(name).send().await {
            s3 = ServiceHealth {
                healthy: false,
                detail: format!("bucket {name}: {}", e.into_service_error()),
            };
            break;
        }
    }
    let mut sqs = ServiceHealth {
        healthy: true,
        detail: format!("{} queues reachable", p.queue_urls.len()),
    };
    for url in p.queue_urls.values() {
        if let Err(e) = aws.sqs.get_queue_attributes().queue_url(url).send().await {
            sqs = ServiceHealth {
                healthy: false,
                detail: format!("queue {url}: {}", e.into_service_error()),
            };
            break;
        }
    }
    let healthy = dynamodb.healthy && s3.healthy && sqs.healthy;
    Health {
        status: if healthy { "ok" } else { "degraded" },
        services: BTreeMap::from([("dynamodb", dynamodb), ("s3", s3), ("sqs", sqs)]),
    }
}

async fn health(State(state): State<GatewayState>) -> (StatusCode, Json<Health>) {
    let health = check_health(&state).await;
    let status = if health.status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

#[derive(Debug, Serialize)]
struct ScheduleView {
    name: String,
    next_run: Option<chrono::DateTime<Utc>>,
}

async fn list_schedules(State(state): State<GatewayState>) -> Json<Vec<ScheduleView>> {
    let now = Utc::now();
    Json(
        state
            .schedules
            .iter()
            .map(|(name, (schedule, _, _))| ScheduleView {
                name: name.clone(),
                next_run: schedule.next_after(now),
            })
            .collect(),
    )
}

/// Fires a schedule now, for a person trying things out.
async fn run_schedule(
    State(state): State<GatewayState>,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    let Some((_, handler, input)) = state.schedules.get(&name) else {
        return Err(Problem(
            Error::new(ErrorCode::RouteNotFound).with_detail(format!("no schedule named {name}")),
        ));
    };
    handler(input.clone())
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs every schedule at its next firing time, forever.
pub fn spawn_scheduler(state: &GatewayState) {
    for (name, (schedule, handler, input)) in state.schedules.iter() {
        let (name, schedule, handler, input) = (
            name.clone(),
            schedule.clone(),
            handler.clone(),
            input.clone(),
        );
        tokio::spawn(async move {
            while let Some(next) = schedule.next_after(Utc::now()) {
                let wait = (next - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait).await;
                tracing::info!(schedule = %name, "firing schedule");
                if let Err(error) = handler(input.clone()).await {
                    tracing::error!(schedule = %name, error = %error, "scheduled run failed");
                }
            }
        });
    }
}

/// How long a queue poller's receive waits for a message. Well under an AWS call's 10 s
/// attempt timeout (`tessera_platform::aws::timeout_config`): at 10 s an empty poll timed
/// out at the client, and a message moto found for the abandoned request stayed invisible
/// for the queue's visibility timeout (an export waited minutes in the browser tests).
const LONG_POLL_SECONDS: i32 = 5;

/// Polls each consumed queue and hands its messages to the consumer, as Lambda's SQS
/// integration does: messages the handler reports as failed (or all, if it errors) stay
/// on the queue and come back after the visibility timeout.
pub fn spawn_queue_pollers(
    aws: &LocalAws,
    template: &Template,
    provisioned: &Provisioned,
    context: &HandlerContext,
) -> Result<(), String> {
    let handlers = queue_handlers(context)
        .into_iter()
        .map(|(id, handler)| (id.to_owned(), handler))
        .collect();
    spawn_queue_pollers_with(aws, template, provisioned, handlers)
}

/// Polls each consumed queue into `handlers` (by function logical id).
pub fn spawn_queue_pollers_with(
    aws: &LocalAws,
    template: &Template,
    provisioned: &Provisioned,
    handlers: Vec<(String, QueueHandler)>,
) -> Result<(), String> {
    let handlers: HashMap<_, _> = handlers.into_iter().collect();
    for function in &template.functions {
        for queue_id in &function.queues {
            let handler = handlers
                .get(function.logical_id.as_str())
                .ok_or_else(|| {
                    format!(
                        "{} consumes {queue_id} but has no handler",
                        function.logical_id
                    )
                })?
                .clone();
            let url = provisioned
                .queue_urls
                .get(queue_id)
                .ok_or_else(|| format!("queue {queue_id} was not provisioned"))?
                .clone();
            let sqs = aws.sqs.clone();
            tokio::spawn(async move {
                loop {
                    match poll_once(&sqs, &url, &handler, LONG_POLL_SECONDS).await {
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(queue = %url, error = %error, "queue poll failed");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
            });
        }
    }
    Ok(())
}

/// Starts the stream event sources: each function's DynamoDB stream mappings, polled
/// twice a second (the real event source polls each shard about four times a second).
pub async fn spawn_stream_pollers(
    aws: &LocalAws,
    template: &Template,
    provisioned: &Provisioned,
    handlers: Vec<(String, crate::streams::StreamHandler)>,
) -> Result<(), String> {
    for source in stream_sources(aws, template, provisioned).await? {
        let (logical_id, source) = source;
        let handler = handlers
            .iter()
            .find(|(id, _)| *id == logical_id)
            .map(|(_, h)| h.clone())
            .ok_or_else(|| format!("{logical_id} reads a stream but has no handler"))?;
        tokio::spawn(async move {
            loop {
                if let Err(error) = source.poll_once(&handler).await {
                    tracing::warn!(function = %logical_id, error = %error, "stream poll failed");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
    Ok(())
}

/// Every stream event source of the template, by the logical id of its function.
pub async fn stream_sources(
    aws: &LocalAws,
    template: &Template,
    provisioned: &Provisioned,
) -> Result<Vec<(String, crate::streams::StreamSource)>, String> {
    let mut sources = Vec::new();
    for function in &template.functions {
        for spec in &function.streams {
            if spec.table != template.table.logical_id {
                return Err(format!(
                    "{} reads the stream of an unknown table {}",
                    function.logical_id, spec.table
                ));
            }
            if let Some(pattern) = spec
                .filters
                .iter()
                .find(|p| !crate::streams::pattern_supported(p))
            {
                return Err(format!(
                    "{}: the local event source does not understand the filter {pattern}",
                    function.logical_id
                ));
            }
            let on_failure_url = match &spec.on_failure {
                Some(queue) => Some(
                    provisioned
                        .queue_urls
                        .get(queue)
                        .ok_or_else(|| format!("queue {queue} was not provisioned"))?
                        .clone(),
                ),
                None => None,
            };
            let source = crate::streams::StreamSource::new(
                &aws.dynamodb,
                aws.streams.clone(),
                aws.sqs.clone(),
                &provisioned.table_name,
                spec.clone(),
                on_failure_url,
                &aws.region,
            )
            .await
            .map_err(|e| e.to_string())?;
            sources.push((function.logical_id.clone(), source));
        }
    }
    Ok(sources)
}

/// One receive–handle–delete round. Returns how many messages were received.
pub async fn poll_once(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    handler: &QueueHandler,
    wait_seconds: i32,
) -> Result<usize, crate::functions::BoxError> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| tessera_platform::aws::sdk_error_text(&e))?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let mut event = SqsEvent::default();
    let mut receipts = HashMap::new();
    for message in &messages {
        let mut lambda_message = SqsMessage::default();
        lambda_message.message_id = message.message_id.clone();
        lambda_message.receipt_handle = message.receipt_handle.clone();
        lambda_message.body = message.body.clone();
        lambda_message.md5_of_body = message.md5_of_body.clone();
        lambda_message.event_source = Some("aws:sqs".to_owned());
        lambda_message.event_source_arn = Some(queue_url.to_owned());
        if let Some(attributes) = &message.attributes {
            lambda_message.attributes = attributes
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect();
        }
        if let (Some(id), Some(receipt)) = (&message.message_id, &message.receipt_handle) {
            receipts.insert(id.clone(), receipt.clone());
        }
        event.records.push(lambda_message);
    }
    let count = messages.len();
    match handler(event).await {
        Ok(response) => {
            for failure in &response.batch_item_failures {
                receipts.remove(&failure.item_identifier);
            }
            for receipt in receipts.values() {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| e.into_service_error())?;
            }
        }
        Err(error) => {
            tracing::warn!(queue = %queue_url, error = %error, "handler failed; messages will be retried")
        }
    }
    Ok(count)
}

/// API Gateway's CORS handling, from the template's `CorsConfiguration`: a preflight from
/// an allowed origin is answered here (204 with the allowed methods and headers) and never
/// reaches a function; other responses to an allowed origin carry `Access-Control-Allow-
/// Origin` and the exposed headers. Other origins get no CORS headers (the browser refuses).
pub fn with_cors(router: Router, cors: crate::template::CorsSpec) -> Router {
    router.layer(middleware::from_fn_with_state(Arc::new(cors), apply_cors))
}

async fn apply_cors(
    State(cors): State<Arc<crate::template::CorsSpec>>,
    request: Request,
    next: Next,
) -> Response {
    use axum::http::{header, HeaderValue, Method};
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let allowed = origin
        .as_ref()
        .filter(|o| cors.allow_origins.iter().any(|a| a == "*" || a == *o))
        .and_then(|o| HeaderValue::try_from(o.as_str()).ok());
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = Response::new(axum::body::Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = allowed {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            for (name, values) in [
                (header::ACCESS_CONTROL_ALLOW_METHODS, &cors.allow_methods),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, &cors.allow_headers),
            ] {
                if let Ok(value) = HeaderValue::try_from(values.join(",")) {
                    headers.insert(name, value);
                }
            }
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, cors.max_age.into());
            headers.insert(header::VARY, HeaderValue::from_static("origin"));
        }
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = allowed {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if !cors.expose_headers.is_empty() {
            if let Ok(value) = HeaderValue::try_from(cors.expose_headers.join(",")) {
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
            }
        }
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}
