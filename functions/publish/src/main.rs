use aws_lambda_events::event::dynamodb::Event;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let publisher = fn_publish::Publisher::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let publisher = publisher.clone();
        async move { Ok::<_, lambda_runtime::Error>(publisher.handle(event.payload).await) }
    }))
    .await
}
