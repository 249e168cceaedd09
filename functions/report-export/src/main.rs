use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use std::time::Duration;

/// A part closes this long before Lambda's deadline, leaving time to finish the file
/// (constant-memory rows already on disk), upload it, save the export and queue the rest.
const MARGIN: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let exporter = fn_report_export::Exporter::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let exporter = exporter.clone();
        async move {
            let deadline = tessera_platform::lambda::deadline_less(event.context.deadline, MARGIN);
            Ok::<_, lambda_runtime::Error>(exporter.handle(event.payload, deadline).await)
        }
    }))
    .await
}
