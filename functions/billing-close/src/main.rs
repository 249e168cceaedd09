use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let services = tessera_platform::services::Services::from_env().await?;
    let close = fn_billing_close::BillingClose {
        table: services.table.clone(),
        clock: Arc::new(tessera_platform::services::SystemClock),
    };
    // EventBridge Scheduler invokes the function with the schedule's input as the event.
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let close = close.clone();
        async move {
            close
                .run(event.payload)
                .await
                .map_err(|e| lambda_runtime::Error::from(e.to_string()))
        }
    }))
    .await
}
