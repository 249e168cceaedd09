use lambda_runtime::{service_fn, LambdaEvent};
use std::time::Duration;

/// Work stops this long before Lambda's deadline, leaving time to record the run and queue
/// its continuation (a transaction of the job takes well under a second).
const MARGIN: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let jobs = fn_daily_jobs::DailyJobs::from_env().await?;
    // Scheduler invokes with the schedule's input; the jobs queue with an SQS event.
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let jobs = jobs.clone();
        async move {
            let budget = fn_daily_jobs::Budget {
                deadline: tessera_platform::lambda::deadline_less(event.context.deadline, MARGIN),
                max_groups: None,
            };
            if event.payload.get("Records").is_some() {
                let sqs = serde_json::from_value(event.payload)?;
                let response = jobs.handle_continuations(sqs, budget).await;
                return Ok::<_, lambda_runtime::Error>(serde_json::to_value(response)?);
            }
            jobs.run(event.payload, budget)
                .await
                .map(|summary| serde_json::to_value(summary).unwrap_or_default())
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
