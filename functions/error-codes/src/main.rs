#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tessera_platform::lambda::run_http(fn_error_codes::app()).await
}
