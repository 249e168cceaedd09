use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let exporter = fn_report_export::Exporter::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let exporter = exporter.clone();
        async move { Ok::<_, lambda_runtime::Error>(exporter.handle(event.payload).await) }
    }))
    .await
}
