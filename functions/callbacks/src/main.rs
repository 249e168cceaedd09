use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let sender = fn_callbacks::Sender::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let sender = sender.clone();
        async move { Ok::<_, lambda_runtime::Error>(sender.handle(event.payload).await) }
    }))
    .await
}
