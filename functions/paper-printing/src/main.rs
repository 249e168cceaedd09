#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let services = tessera_platform::services::Services::from_env(fn_paper_printing::NEEDS).await?;
    tessera_platform::lambda::run_http(fn_paper_printing::app(services)).await
}
