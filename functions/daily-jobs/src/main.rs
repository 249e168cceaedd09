use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use tessera_platform::aws;
use tessera_platform::store::Table;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    // Only the client the jobs use: the table (reminders are outbox events in it).
    let config = aws::load_sdk_config().await;
    let jobs = fn_daily_jobs::DailyJobs {
        table: Table::from_env(&config)?,
        clock: Arc::new(tessera_platform::services::SystemClock),
    };
    // EventBridge Scheduler invokes the function with the schedule's input as the event.
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let jobs = jobs.clone();
        async move {
            jobs.run(event.payload)
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
