use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use tessera_platform::auth::TokenVerifier;
use tessera_platform::session::SigningKeys;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tessera_platform::telemetry::init();
    // Only the signing keys: the authorizer reads nothing stored, so it builds no table,
    // bucket or queue client (a smaller binary and a shorter cold start).
    let config = tessera_platform::aws::load_sdk_config().await;
    let secret = tessera_platform::aws::required_env("TESSERA_SIGNING_KEY_SECRET_ARN")?;
    let verifier = TokenVerifier {
        keys: SigningKeys::from_secret(tessera_platform::aws::secrets_client(&config), &secret)
            .await?,
        clock: Arc::new(tessera_platform::services::SystemClock),
    };
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<
            aws_lambda_events::event::apigw::ApiGatewayV2CustomAuthorizerV2Request,
        >| {
            let verifier = verifier.clone();
            async move {
                Ok::<_, lambda_runtime::Error>(
                    fn_authorizer::handle(&verifier, event.payload).await,
                )
            }
        },
    ))
    .await
}
