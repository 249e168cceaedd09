//! Entry points that hand a router or handler to the Lambda runtime.

use axum::Router;

/// How many times SQS has delivered a message, from its attributes (1 when unsaid): a
/// consumer compares it with its queue's `maxReceiveCount` to know its last try.
pub fn receive_count(attributes: &std::collections::HashMap<String, String>) -> u32 {
    attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// Runs an HTTP function: API Gateway (HTTP API) events in, the router's responses out.
pub async fn run_http(router: Router) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    lambda_http::run(router).await
}

/// Lambda's deadline for this invocation (milliseconds since the epoch, as the Runtime API
/// gives it) as an instant of this process, less `margin`: when work that continues itself
/// stops taking more. `None` if the deadline is already past or unreadable.
pub fn deadline_less(deadline_ms: u64, margin: std::time::Duration) -> Option<std::time::Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = u64::try_from(u128::from(deadline_ms).checked_sub(now_ms)?).ok()?;
    Some(std::time::Instant::now() + std::time::Duration::from_millis(left).saturating_sub(margin))
}
