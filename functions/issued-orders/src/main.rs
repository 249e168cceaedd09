#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let services = tessera_platform::services::Services::from_env(fn_issued_orders::NEEDS).await?;
    tessera_platform::lambda::run_http(fn_issued_orders::app(services)).await
}
