use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use tessera_platform::aws;
use tessera_platform::store::Table;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    // Only the table: the close reads and writes nothing else.
    let config = aws::load_sdk_config().await;
    let close = fn_billing_close::BillingClose {
        table: Table::from_env(&config)?,
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
