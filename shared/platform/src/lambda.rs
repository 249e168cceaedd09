//! Entry points that hand a router or handler to the Lambda runtime.

use axum::Router;

/// Runs an HTTP function: API Gateway (HTTP API) events in, the router's responses out.
pub async fn run_http(router: Router) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    lambda_http::run(router).await
}
