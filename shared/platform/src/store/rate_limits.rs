//! Fixed-window request counters for the public routes (the e-ticket page): one item per
//! caller address and minute, counted atomically, gone by TTL an hour later.

use super::{keys, unavailable, Table};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tessera_domain::Error;

/// The window every counter counts in.
pub const WINDOW: TimeDelta = TimeDelta::minutes(1);

impl Table {
    /// Counts one request of `caller` under `scope` in the window `now` falls in, and
    /// answers how many that window has counted (this one included).
    pub async fn count_request(
        &self,
        scope: &str,
        caller: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, Error> {
        let start = now.duration_trunc(WINDOW).unwrap_or(now);
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(
                keys::PK,
                AttributeValue::S(keys::rate_window(scope, caller)),
            )
            .key(keys::SK, AttributeValue::S(keys::rate_window_start(start)))
            .update_expression("ADD #count :one SET expires_at = :expires")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(
                ":expires",
                super::epoch_seconds(start + TimeDelta::hours(1)),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .attributes
            .and_then(|a| a.get("count").and_then(|c| c.as_n().ok()?.parse().ok()))
            .unwrap_or(1))
    }
}
