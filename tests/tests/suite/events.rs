//! The sample events in `events/` (for `cargo lambda invoke --data-file`) exist for every
//! function and are what each function actually accepts.

use axum::body::Body;
use std::sync::Arc;
use tessera_domain::clock::FixedClock;
use tessera_tests::{body_json, send, test_start, TestStack};

fn event_text(binary: &str) -> String {
    let path = format!("{}/../events/{binary}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn http_event(binary: &str) -> axum::http::Request<Body> {
    let event: lambda_http::request::LambdaRequest =
        serde_json::from_str(&event_text(binary)).unwrap();
    let request: lambda_http::Request = event.into();
    request.map(|body| Body::from(body.to_vec()))
}

#[test]
fn every_function_in_the_template_has_a_sample_event() {
    let template = tessera_dev::template::Template::load_default(
        &tessera_dev::template::StackContext::named("unit"),
    )
    .unwrap();
    for function in &template.functions {
        let binary = function
            .binary
            .as_deref()
            .unwrap_or_else(|| panic!("{} names no binary", function.logical_id));
        let text = event_text(binary);
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok(),
            "{binary}.json is JSON"
        );
    }
}

#[tokio::test]
async fn the_sign_in_event_signs_in_against_the_demo_data() {
    let stack = TestStack::provision().await;
    let services = stack.services(Arc::new(FixedClock::at(test_start())));
    tessera_dev::seed::seed_demo(&services).await.unwrap();
    let response = send(&fn_auth::app(services), http_event("auth")).await;
    assert_eq!(response.status(), 201);
    assert!(body_json(response).await["token"].is_string());
}

#[tokio::test]
async fn the_accounts_event_carries_the_authorizer_context_the_function_reads() {
    let stack = TestStack::provision().await;
    let services = stack.services(Arc::new(FixedClock::at(test_start())));
    let response = send(&fn_accounts::app(services), http_event("accounts")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(body_json(response).await["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_authorizer_event_is_answered_with_a_simple_response() {
    let stack = TestStack::provision().await;
    let clock = Arc::new(FixedClock::at(test_start()));
    let services = stack.services(clock.clone());
    tessera_dev::seed::seed_demo(&services).await.unwrap();
    let mut event: aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request =
        serde_json::from_str(&event_text("authorizer")).unwrap();
    let authenticator = services.authenticator().unwrap();

    // The sample's placeholder token: authorized to reach the function, with the error.
    let response = fn_authorizer::handle(&authenticator.verifier(), event.clone()).await;
    assert!(response.is_authorized);
    assert_eq!(response.context["error"], "UNAUTHENTICATED");

    // A real session: the context carries its verified claims, which the function loads
    // the caller from.
    let sign_in = send(&fn_auth::app(services.clone()), http_event("auth")).await;
    let token = body_json(sign_in).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    event
        .headers
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let response = fn_authorizer::handle(&authenticator.verifier(), event).await;
    assert!(response.is_authorized);
    let claims: tessera_platform::session::SessionClaims =
        serde_json::from_str(response.context["session"].as_str().unwrap()).unwrap();
    assert_eq!(claims.mid, "DEMO0001");
    assert_eq!(claims.act, "DEMO0001");
    let signed_in = tessera_platform::auth::SignedIn { claims };
    let current = signed_in.actor(&services).await.unwrap();
    assert_eq!(current.actor.merchant.as_str(), "DEMO0001");
    assert_eq!(current.actor.acting_as.as_str(), "DEMO0001");
}

#[test]
fn the_notify_event_is_an_sqs_batch_of_notifications() {
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&event_text("notify")).unwrap();
    let body = event.records[0].body.as_deref().unwrap();
    let notification: tessera_domain::notification::Notification =
        serde_json::from_str(body).unwrap();
    assert_eq!(notification.merchant_id, "DEMO0001");
}

#[test]
fn the_daily_jobs_event_is_the_schedules_input() {
    let input: serde_json::Value = serde_json::from_str(&event_text("daily-jobs")).unwrap();
    let request: fn_daily_jobs::JobRequest = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(request.job, fn_daily_jobs::Job::UnissuedOrders);
    assert_eq!(request.day, None, "a schedule's run is for its own day");
    // And it is exactly what the template's schedule sends.
    let template = tessera_dev::template::Template::load_default(
        &tessera_dev::template::StackContext::named("unit"),
    )
    .unwrap();
    let schedule = template
        .functions
        .iter()
        .flat_map(|f| &f.schedules)
        .find(|s| s.event_name == "UnissuedOrders")
        .unwrap();
    let scheduled: serde_json::Value =
        serde_json::from_str(schedule.input.as_deref().unwrap()).unwrap();
    assert_eq!(scheduled, input);
    assert_eq!(schedule.timezone.as_deref(), Some("Asia/Taipei"));
}
