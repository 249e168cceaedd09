use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let issuer = fn_batch_issue::BatchIssuer::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let issuer = issuer.clone();
        async move { Ok::<_, lambda_runtime::Error>(issuer.handle(event.payload).await) }
    }))
    .await
}
