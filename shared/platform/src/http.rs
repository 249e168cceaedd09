//! The layers every router ends with: problem+json for unknown routes and wrong methods,
//! and a request span carrying the request id.

use crate::problem::Problem;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::time::Instant;
use tessera_domain::ErrorCode;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// A caller's own request id, echoed back beside ours (never in its place).
pub const CLIENT_REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-client-request-id");

/// Adds the problem+json fallbacks and request tracing to a router of routes.
/// Call it once, on the final router: axum refuses to merge two routers with fallbacks.
pub fn finish(router: Router) -> Router {
    router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(trace_request))
}

/// A function's finished router: its routes over its services, behind the idempotency
/// layer (every state-changing route takes an `Idempotency-Key`), then [`finish`].
pub fn function_app(
    routes: utoipa_axum::router::OpenApiRouter<crate::services::Services>,
    services: crate::services::Services,
) -> Router {
    let (router, _) = routes.split_for_parts();
    finish(with_idempotency(router, &services).with_state(services))
}

/// Puts the idempotency layer in front of every route of `router` (the routes must be
/// matched first: the layer reads which route a request is for).
pub fn with_idempotency<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    services: &crate::services::Services,
) -> Router<S> {
    router.route_layer(middleware::from_fn_with_state(
        crate::idempotency::IdempotencyLayer {
            table: services.table.clone(),
            clock: services.clock.clone(),
        },
        crate::idempotency::idempotent,
    ))
}

async fn route_not_found() -> Problem {
    Problem::new(ErrorCode::RouteNotFound)
}

async fn method_not_allowed() -> Problem {
    Problem::new(ErrorCode::MethodNotAllowed)
}

/// Wraps each request in a span with its id, method and matched route, and logs the outcome.
async fn trace_request(request: Request, next: Next) -> Response {
    let request_id = request_id(&request);
    let client_request_id = client_request_id(&request);
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        client_request_id = client_request_id.as_deref().unwrap_or_default(),
        method = %request.method(),
        route = %route,
        merchant = tracing::field::Empty,
        operation = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let mut response = next.run(request).await;
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        if let Some(value) = client_request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            response
                .headers_mut()
                .insert(CLIENT_REQUEST_ID_HEADER, value);
        }
        response
    }
    .instrument(span)
    .await
}

/// The Lambda request id, else a fresh one: every log line of a request can be found by
/// it, and no caller can choose it (a supplied id could collide with another request's or
/// pose as one; issue 15).
fn request_id(request: &Request) -> String {
    if let Some(context) = request.extensions().get::<lambda_http::Context>() {
        return context.request_id.clone();
    }
    uuid::Uuid::new_v4().to_string()
}

/// The caller's own `x-request-id`, if it is short and plain (nothing that could forge a
/// log line): logged as `client_request_id` and echoed as `x-client-request-id`.
fn client_request_id(request: &Request) -> Option<String> {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty()
                && value.len() <= 64
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_owned)
}

/// A file to download: its bytes, type and the name the browser saves it under.
pub fn attachment(bytes: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_owned()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
