#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let services = tessera_platform::services::Services::from_env().await?;
    // Sign-in signs tokens: refuse to start without the key rather than fail each sign-in.
    services.require_signing_key()?;
    tessera_platform::lambda::run_http(fn_orders::app(services)).await
}
