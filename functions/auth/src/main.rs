#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Sign-in signs tokens: the key is read at start (NEEDS), so a missing one fails the
    // cold start rather than each sign-in.
    let services = tessera_platform::services::Services::from_env(fn_auth::NEEDS).await?;
    tessera_platform::lambda::run_http(fn_auth::app(services)).await
}
