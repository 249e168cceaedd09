//! Entry points that hand a router or handler to the Lambda runtime.

use axum::Router;

/// Runs an HTTP function: API Gateway (HTTP API) events in, the router's responses out.
/// How many times SQS has delivered a message, from its attributes (1 when unsaid): a
/// consumer compares it with its queue's `maxReceiveCount` to know its last try.
pub fn receive_count(attributes: &std::collections::HashMap<String, String>) -> u32 {
    attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

pub async fn run_http(router: Router) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    lambda_http::run(router).await
}
