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
/// stops taking more: now, if less than the margin is left (or none). `None` only if the
/// system clock is unreadable.
pub fn deadline_less(deadline_ms: u64, margin: std::time::Duration) -> Option<std::time::Instant> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis();
    let left = u64::try_from(u128::from(deadline_ms).saturating_sub(now_ms)).unwrap_or(u64::MAX);
    Some(std::time::Instant::now() + std::time::Duration::from_millis(left).saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    fn epoch_ms_in(offset_ms: i64) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock")
            .as_millis() as i64;
        (now + offset_ms) as u64
    }

    #[test]
    fn a_deadline_closer_than_the_margin_or_past_is_now() {
        let margin = Duration::from_secs(30);
        for offset_ms in [10_000, 0, -5_000] {
            let deadline = deadline_less(epoch_ms_in(offset_ms), margin).expect("a deadline");
            assert!(deadline <= Instant::now(), "{offset_ms}");
        }
        let later = deadline_less(epoch_ms_in(120_000), margin).expect("a deadline");
        let left = later - Instant::now();
        assert!(
            left > Duration::from_secs(85) && left <= Duration::from_secs(90),
            "{left:?}"
        );
    }
}
