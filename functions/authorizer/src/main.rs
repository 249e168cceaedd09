use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    let services = tessera_platform::services::Services::from_env().await?;
    let authenticator = services.authenticator()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<
            aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request,
        >| {
            let authenticator = authenticator.clone();
            async move {
                Ok::<_, lambda_runtime::Error>(
                    fn_authorizer::handle(&authenticator, event.payload).await,
                )
            }
        },
    ))
    .await
}
