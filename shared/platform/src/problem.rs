//! RFC 9457 problem details: how a domain [`Error`] leaves the HTTP API.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tessera_domain::{Error, ErrorCode, Violation};
use utoipa::ToSchema;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An error as an HTTP response. Handlers return `Result<_, Problem>`.
#[derive(Debug)]
pub struct Problem(pub Error);

impl Problem {
    pub fn new(code: ErrorCode) -> Self {
        Problem(Error::new(code))
    }

    /// An unexpected fault: the cause is logged, the caller only learns the code.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Problem::new(ErrorCode::InternalError)
    }

    /// A dependency (DynamoDB, S3, SQS, …) failed: logged, answered with 503.
    pub fn unavailable(service: &str, cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(service, error = %cause, "dependency unavailable");
        Problem::new(ErrorCode::DependencyUnavailable)
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        Problem(error)
    }
}

impl From<ErrorCode> for Problem {
    fn from(code: ErrorCode) -> Self {
        Problem::new(code)
    }
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProblemDetails {
    /// A reference to the error code's description in the lookup endpoint.
    #[serde(rename = "type")]
    #[schema(example = "/error-codes?code=VALIDATION_FAILED")]
    pub type_uri: String,
    /// The code's English description.
    pub title: String,
    /// The HTTP status, repeated for clients that only see the body.
    pub status: u16,
    /// The stable error code (see `GET /error-codes`).
    #[schema(example = "VALIDATION_FAILED")]
    pub code: String,
    /// The code's Traditional Chinese description.
    pub title_zh_tw: String,
    /// What went wrong in this occurrence, when there is more to say than the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For validation errors: each bad field or spreadsheet cell and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemViolation>,
}

/// One bad value: a JSON field, or a spreadsheet row and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemViolation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub reason: String,
}

impl From<&Violation> for ProblemViolation {
    fn from(violation: &Violation) -> Self {
        ProblemViolation {
            field: violation.field.clone(),
            row: violation.row,
            column: violation.column.clone(),
            reason: violation.reason.clone(),
        }
    }
}

impl From<&Error> for ProblemDetails {
    fn from(error: &Error) -> Self {
        let code = error.code;
        ProblemDetails {
            type_uri: format!("/error-codes?code={}", code.code()),
            title: code.message_en().to_owned(),
            status: code.http_status(),
            code: code.code().to_owned(),
            title_zh_tw: code.message_zh_tw().to_owned(),
            detail: error.detail.clone(),
            errors: error
                .violations
                .iter()
                .map(ProblemViolation::from)
                .collect(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let details = ProblemDetails::from(&self.0);
        let status =
            StatusCode::from_u16(details.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(code = %details.code, "request failed");
        } else {
            tracing::info!(code = %details.code, "request refused");
        }
        let body = serde_json::to_vec(&details).unwrap_or_else(|_| {
            // Serialising plain strings and numbers cannot fail; keep a valid body regardless.
            br#"{"type":"/error-codes?code=INTERNAL_ERROR","title":"An unexpected error occurred.","status":500,"code":"INTERNAL_ERROR","title_zh_tw":""}"#.to_vec()
        });
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        // Every rate limit counts by the minute.
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_names_fields_and_cells() {
        let error = Error::invalid(vec![
            Violation::field("email", "not an email address"),
            Violation::cell(3, "張數", "must be a whole number of at least 1"),
        ]);
        let details = ProblemDetails::from(&error);
        let json = serde_json::to_value(&details).unwrap();
        assert_eq!(json["type"], "/error-codes?code=VALIDATION_FAILED");
        assert_eq!(json["status"], 400);
        assert_eq!(json["code"], "VALIDATION_FAILED");
        assert_eq!(json["errors"][0]["field"], "email");
        assert_eq!(json["errors"][1]["row"], 3);
        assert_eq!(json["errors"][1]["column"], "張數");
        assert!(json.get("detail").is_none());
    }

    #[test]
    fn response_has_status_and_problem_content_type() {
        let response = Problem::new(ErrorCode::RouteNotFound).into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            PROBLEM_CONTENT_TYPE
        );
    }
}
