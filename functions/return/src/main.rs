#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let services = tessera_platform::services::Services::from_env(fn_return::NEEDS).await?;
    tessera_platform::lambda::run_http(fn_return::app(services)).await
}
