#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let services = tessera_platform::services::Services::from_env(fn_installment::NEEDS).await?;
    tessera_platform::lambda::run_http(fn_installment::app(services)).await
}
