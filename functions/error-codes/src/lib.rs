//! Error-code lookup (spec §2, manual §5-1): `GET /error-codes?code=…` describes one code,
//! or every code when the query is empty. Public: integrators read it to decode errors.

use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_domain::{lookup_error_codes, ErrorCode};
use tessera_platform::{ApiQuery, Problem, ProblemDetails};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The code to describe, e.g. `VALIDATION_FAILED` (case-insensitive). Empty: all codes.
    pub code: Option<String>,
}

/// One row of the error-code table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorCodeEntry {
    pub code: String,
    pub http_status: u16,
    pub message_en: String,
    pub message_zh_tw: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorCodeList {
    pub items: Vec<ErrorCodeEntry>,
}

impl From<ErrorCode> for ErrorCodeEntry {
    fn from(code: ErrorCode) -> Self {
        ErrorCodeEntry {
            code: code.code().to_owned(),
            http_status: code.http_status(),
            message_en: code.message_en().to_owned(),
            message_zh_tw: code.message_zh_tw().to_owned(),
        }
    }
}

/// Describe one error code, or all of them.
#[utoipa::path(
    get,
    path = "/error-codes",
    tag = "error-codes",
    params(LookupQuery),
    responses(
        (status = 200, description = "The code asked for, or every code", body = ErrorCodeList),
        (status = 400, description = "VALIDATION_FAILED: the code is longer than any code", body = ProblemDetails, content_type = "application/problem+json"),
        (status = 404, description = "ERROR_CODE_NOT_FOUND: no code has this name", body = ProblemDetails, content_type = "application/problem+json"),
    )
)]
async fn lookup(ApiQuery(query): ApiQuery<LookupQuery>) -> Result<Json<ErrorCodeList>, Problem> {
    let codes = lookup_error_codes(query.code.as_deref())?;
    Ok(Json(ErrorCodeList {
        items: codes.into_iter().map(ErrorCodeEntry::from).collect(),
    }))
}

/// The function's routes with their OpenAPI description, for the Lambda and the gateway.
pub fn routes<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(lookup))
}

/// The function as the Lambda serves it.
pub fn app() -> Router {
    let (router, _api) = routes().split_for_parts();
    tessera_platform::http::finish(router)
}
