//! Request extractors whose every rejection is a problem+json error with a stable code.

use crate::problem::Problem;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::{header, request::Parts, HeaderMap};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tessera_domain::{Error, ErrorCode};

/// A JSON body. Unlike `axum::Json`, a rejection names the error code and, for a value of
/// the wrong shape, the JSON path of the offending field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(Problem::new(ErrorCode::UnsupportedMediaType));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&body).map(ApiJson).map_err(Problem)
    }
}

/// Parses a JSON document, telling syntax errors (`MALFORMED_JSON`) from values of the
/// wrong shape (`VALIDATION_FAILED` naming the field).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = serde_path_to_error::deserialize(&mut deserializer);
    let value = match parsed {
        Ok(value) => value,
        // Rare: read it again with whole numbers as integers, only when that changes it.
        Err(error) if error.inner().classify() == serde_json::error::Category::Data => {
            let Ok(mut document) = serde_json::from_slice::<serde_json::Value>(body) else {
                return Err(shape_error(error));
            };
            if !whole_numbers_as_integers(&mut document) {
                return Err(shape_error(error));
            }
            // The whole document was read into the value: nothing trails it.
            return serde_path_to_error::deserialize(document).map_err(shape_error);
        }
        Err(error) => return Err(shape_error(error)),
    };
    deserializer
        .end()
        .map_err(|error| Error::new(ErrorCode::MalformedJson).with_detail(error.to_string()))?;
    Ok(value)
}

/// A deserialization error as the caller's: the field and its rule, or a syntax error.
fn shape_error(error: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = error.path().to_string();
    let inner = error.into_inner();
    match inner.classify() {
        serde_json::error::Category::Data => {
            let field = if path == "." { "body".to_owned() } else { path };
            Error::invalid_field(field, data_error_reason(&inner))
        }
        _ => Error::new(ErrorCode::MalformedJson).with_detail(inner.to_string()),
    }
}

/// JSON does not tell `3` from `3.0`, and JSON Schema calls both an integer: a number with
/// no fraction (within the range a double holds exactly) is read as the integer it is.
/// Whether any number changed.
fn whole_numbers_as_integers(value: &mut serde_json::Value) -> bool {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match value {
        serde_json::Value::Number(number) if number.is_f64() => match number.as_f64() {
            Some(float) if float.fract() == 0.0 && float.abs() <= EXACT => {
                *number = serde_json::Number::from(float as i64);
                true
            }
            _ => false,
        },
        // Every number is visited (no short cut at the first change).
        serde_json::Value::Array(items) => {
            let mut changed = false;
            for item in items {
                changed |= whole_numbers_as_integers(item);
            }
            changed
        }
        serde_json::Value::Object(fields) => {
            let mut changed = false;
            for item in fields.values_mut() {
                changed |= whole_numbers_as_integers(item);
            }
            changed
        }
        _ => false,
    }
}

/// serde's message without its " at line L column C" suffix, which means nothing to a
/// caller once the field is named.
fn data_error_reason(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(position) => message[..position].to_owned(),
        None => message,
    }
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_rejection(rejection: BytesRejection) -> Problem {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(ErrorCode::PayloadTooLarge)
    } else {
        Problem(Error::new(ErrorCode::MalformedJson).with_detail(rejection.body_text()))
    }
}

/// Query-string parameters; a bad one is a `VALIDATION_FAILED` naming the query.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(query_rejection)
    }
}

fn query_rejection(rejection: QueryRejection) -> Problem {
    let reason = rejection
        .body_text()
        .trim_start_matches("Failed to deserialize query string: ")
        .to_owned();
    Problem(Error::invalid_field("query", reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Contact {
        name: String,
        emails: Vec<String>,
        quantity: u32,
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        let error = parse_json::<Contact>(br#"{"name": "A""#).unwrap_err();
        assert_eq!(error.code, ErrorCode::MalformedJson);
        let error = parse_json::<Contact>(br#"{"name":"A","emails":[],"quantity":1} trailing"#)
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::MalformedJson);
    }

    #[test]
    fn shape_errors_name_the_field() {
        let error =
            parse_json::<Contact>(br#"{"name":"A","emails":["a",3],"quantity":1}"#).unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(error.violations[0].field.as_deref(), Some("emails[1]"));
        assert!(!error.violations[0].reason.contains("line"));

        let error = parse_json::<Contact>(br#"{"name":"A","emails":[]}"#).unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert!(error.violations[0].reason.contains("quantity"));
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_is_an_integer() {
        let contact =
            parse_json::<Contact>(br#"{"name":"A","quantity":206.0,"emails":[]}"#).unwrap();
        assert_eq!(contact.quantity, 206);
        let error =
            parse_json::<Contact>(br#"{"name":"A","emails":[],"quantity":2.5}"#).unwrap_err();
        assert_eq!(error.violations[0].field.as_deref(), Some("quantity"));
    }

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!is_json_content_type(&headers));
        for (value, expected) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            assert_eq!(is_json_content_type(&headers), expected, "{value}");
        }
    }
}

/// The caller's address as API Gateway saw the connection (`requestContext.http.sourceIp`),
/// never a client-supplied header. Without a request context (the in-process local
/// gateway, tests) the first `X-Forwarded-For` entry stands in for it, and without either
/// it is [`ClientAddress::UNKNOWN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl ClientAddress {
    pub const UNKNOWN: &'static str = "unknown";

    /// Whether there is an address to count requests by (behind API Gateway, always).
    pub fn is_known(&self) -> bool {
        self.0 != Self::UNKNOWN
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::request::RequestContext;
        let from_gateway = match parts.extensions.get::<RequestContext>() {
            Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
            _ => None,
        };
        let address = from_gateway
            .or_else(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(|v| v.trim().to_owned())
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| ClientAddress::UNKNOWN.to_owned());
        Ok(ClientAddress(address.chars().take(64).collect()))
    }
}

#[cfg(test)]
mod client_address_tests {
    use super::*;

    async fn address_of(request: axum::http::Request<()>) -> String {
        let (mut parts, _) = request.into_parts();
        ClientAddress::from_request_parts(&mut parts, &())
            .await
            .unwrap_or_else(|never| match never {})
            .0
    }

    #[tokio::test]
    async fn the_gateways_source_ip_wins_over_a_header_the_client_sends() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
        use lambda_http::request::RequestContext;
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.http.source_ip = Some("203.0.113.7".to_owned());
        let mut request = axum::http::Request::builder()
            .header("x-forwarded-for", "198.51.100.99")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(RequestContext::ApiGatewayV2(context));
        assert_eq!(address_of(request).await, "203.0.113.7");
        let local = axum::http::Request::builder()
            .header("x-forwarded-for", "198.51.100.1, 10.0.0.1")
            .body(())
            .unwrap();
        assert_eq!(address_of(local).await, "198.51.100.1");
    }
}
