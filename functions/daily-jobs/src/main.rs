use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let services = tessera_platform::services::Services::from_env().await?;
    let jobs = fn_daily_jobs::DailyJobs {
        table: services.table.clone(),
        notifications: services.notifications.clone(),
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
