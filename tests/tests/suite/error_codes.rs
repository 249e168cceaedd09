//! Error-code lookup (§5-1) and the problem+json answers every router gives.

use axum::body::Body;
use axum::http::{header, Request};
use serde::Deserialize;
use tessera_domain::ErrorCode;
use tessera_platform::ApiJson;
use tessera_tests::{body_json, get, send};

#[tokio::test]
async fn empty_query_lists_every_code_with_both_languages() {
    let app = fn_error_codes::app();
    for uri in [
        "/error-codes",
        "/error-codes?code=",
        "/error-codes?code=%20%20",
    ] {
        let response = send(&app, get(uri)).await;
        assert_eq!(response.status(), 200, "{uri}");
        let body = body_json(response).await;
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), ErrorCode::ALL.len(), "{uri}");
        for (item, code) in items.iter().zip(ErrorCode::ALL) {
            assert_eq!(item["code"], code.code());
            assert_eq!(item["http_status"], code.http_status());
            assert_eq!(item["message_en"], code.message_en());
            assert_eq!(item["message_zh_tw"], code.message_zh_tw());
        }
    }
}

#[tokio::test]
async fn one_code_is_described_case_insensitively() {
    let response = send(
        &fn_error_codes::app(),
        get("/error-codes?code=validation_failed"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 1);
    assert_eq!(body["items"][0]["code"], "VALIDATION_FAILED");
    assert_eq!(body["items"][0]["http_status"], 400);
}

#[tokio::test]
async fn unknown_and_overlong_codes_are_refused_with_problem_json() {
    let app = fn_error_codes::app();
    let response = send(&app, get("/error-codes?code=NO_SUCH_THING")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = body_json(response).await;
    assert_eq!(body["code"], "ERROR_CODE_NOT_FOUND");
    assert_eq!(body["type"], "/error-codes?code=ERROR_CODE_NOT_FOUND");
    assert!(body["detail"].as_str().unwrap().contains("NO_SUCH_THING"));

    let long = "A".repeat(65);
    let response = send(&app, get(&format!("/error-codes?code={long}"))).await;
    assert_eq!(response.status(), 400);
    let body = body_json(response).await;
    assert_eq!(body["code"], "VALIDATION_FAILED");
    assert_eq!(body["errors"][0]["field"], "code");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_problem_json_not_html() {
    let app = fn_error_codes::app();
    let response = send(&app, get("/no/such/route")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(body_json(response).await["code"], "ROUTE_NOT_FOUND");

    let post = Request::post("/error-codes").body(Body::empty()).unwrap();
    let response = send(&app, post).await;
    assert_eq!(response.status(), 405);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(body_json(response).await["code"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn every_response_carries_its_own_request_id_and_a_clients_beside_it() {
    let app = fn_error_codes::app();
    let response = send(&app, get("/error-codes")).await;
    assert!(!response.headers()["x-request-id"].is_empty());
    assert!(response.headers().get("x-client-request-id").is_none());
    // A caller's id is kept apart: echoed beside ours, never in its place.
    let request = Request::get("/error-codes")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_ne!(response.headers()["x-request-id"], "abc-123");
    assert_eq!(response.headers()["x-client-request-id"], "abc-123");
    // One that could forge log lines is not echoed at all.
    let request = Request::get("/error-codes")
        .header("x-request-id", "a b\tc")
        .body(Body::empty())
        .unwrap();
    let response = send(&app, request).await;
    assert_ne!(response.headers()["x-request-id"], "a b\tc");
    assert!(response.headers().get("x-client-request-id").is_none());
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Echo {
    name: String,
    quantity: u32,
}

/// Every JSON body goes through `ApiJson`; this router is the smallest that uses it.
fn json_router() -> axum::Router {
    let router = axum::Router::new().route(
        "/echo",
        axum::routing::post(|ApiJson(echo): ApiJson<Echo>| async move { echo.name }),
    );
    tessera_platform::http::finish(router)
}

fn post_json(body: &'static str, content_type: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/echo");
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn malformed_json_wrong_shapes_and_wrong_content_types_get_precise_codes() {
    let router = json_router();
    let cases = [
        (
            r#"{"name": "x", "quantity": 1"#,
            Some("application/json"),
            400,
            "MALFORMED_JSON",
            None,
        ),
        (
            r#"not json"#,
            Some("application/json"),
            400,
            "MALFORMED_JSON",
            None,
        ),
        (
            r#"{"name": "x", "quantity": -1}"#,
            Some("application/json"),
            400,
            "VALIDATION_FAILED",
            Some("quantity"),
        ),
        (
            r#"{"name": 5, "quantity": 1}"#,
            Some("application/json"),
            400,
            "VALIDATION_FAILED",
            Some("name"),
        ),
        (
            r#"{"name": "x", "quantity": 1}"#,
            Some("text/plain"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
        ),
        (
            r#"{"name": "x", "quantity": 1}"#,
            None,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
        ),
    ];
    for (body, content_type, status, code, field) in cases {
        let response = send(&router, post_json(body, content_type)).await;
        assert_eq!(response.status(), status, "{body} as {content_type:?}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem = body_json(response).await;
        assert_eq!(problem["code"], code, "{body}");
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
    }
    let ok = send(
        &router,
        post_json(
            r#"{"name": "fine", "quantity": 2}"#,
            Some("application/json"),
        ),
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn the_sample_lambda_event_is_served_by_the_function() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/error-codes.json");
    let text = std::fs::read_to_string(path).unwrap();
    let event: lambda_http::request::LambdaRequest = serde_json::from_str(&text).unwrap();
    let request: lambda_http::Request = event.into();
    let request = request.map(|body| Body::from(body.to_vec()));
    let response = send(&fn_error_codes::app(), request).await;
    assert_eq!(response.status(), 200);
    let body = body_json(response).await;
    assert_eq!(body["items"][0]["code"], "ROUTE_NOT_FOUND");
}
