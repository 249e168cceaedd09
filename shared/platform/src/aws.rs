//! AWS clients, configured the standard way (`aws_config`), so that the endpoint of every
//! service comes from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` and nothing in
//! function code knows whether it talks to AWS or to an emulator.

use crate::aws_calls::CallRecorder;
use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;

/// Loads the shared SDK configuration (region, credentials, endpoints) from the environment,
/// with the one HTTPS client every service client shares (rustls on ring).
pub async fn load_sdk_config() -> SdkConfig {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// How every AWS call is retried, stated rather than left to the SDK's defaults: three
/// attempts in all, with exponential backoff and full jitter from 50 ms up to 1 s, on
/// throttling, 5xx answers and transient transport errors. Three keeps a failing dependency
/// inside an API request's budget: the caller gets a 503 and retries with its
/// Idempotency-Key, or the queue redelivers.
pub fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(50))
        .with_max_backoff(std::time::Duration::from_secs(1))
}

/// How long an AWS call may take: 3 s to connect, 10 s an attempt, 25 s in all (retries
/// included, inside the HTTP API's 29 s). A DynamoDB or SQS call answers in milliseconds;
/// one that hangs is a failure to retry, not a wait to the function's own timeout.
pub fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(25))
        .build()
}

/// An S3 client. Path-style addressing is switched on by `TESSERA_S3_FORCE_PATH_STYLE=true`,
/// which emulators need (bucket names are not resolvable host names there).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let force_path_style = std::env::var("TESSERA_S3_FORCE_PATH_STYLE")
        .map(|value| value.eq_ignore_ascii_case("true") || value == "1")
        .unwrap_or(false);
    let mut builder = aws_sdk_s3::config::Builder::from(config).force_path_style(force_path_style);
    if let Some(recorder) = CallRecorder::from_env() {
        builder = builder.interceptor(recorder);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Defines `pub fn $name(&SdkConfig) -> $sdk::Client`: a client of any service built from
/// the shared configuration, with the call recorder installed when `TESSERA_AWS_CALL_LOG`
/// asks for it (local and test runs only). Functions use it for the services the platform
/// does not know (mail, text messages).
#[macro_export]
macro_rules! recorded_client {
    ($name:ident, $sdk:ident) => {
        pub fn $name(config: &$crate::aws::SdkConfig) -> $sdk::Client {
            let mut builder = $sdk::config::Builder::from(config);
            if let Some(recorder) = $crate::aws_calls::CallRecorder::from_env() {
                builder = builder.interceptor(recorder);
            }
            $sdk::Client::from_conf(builder.build())
        }
    };
}

recorded_client!(dynamodb_client, aws_sdk_dynamodb);
recorded_client!(sqs_client, aws_sdk_sqs);
recorded_client!(secrets_client, aws_sdk_secretsmanager);

/// An SDK error as a person can act on it: the operation, the service's error code and its
/// message (an SDK error's own text is often just "service error" or "unhandled error").
pub fn sdk_error_text<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let operation = std::any::type_name::<E>()
        .rsplit("::")
        .next()
        .unwrap_or("request")
        .trim_end_matches("Error");
    match error.as_service_error() {
        Some(service) => format!(
            "{operation}: {}: {}",
            service.code().unwrap_or("unknown error"),
            service.message().unwrap_or("no message")
        ),
        None => format!(
            "{operation}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        ),
    }
}

/// Reads a required configuration variable, naming it when it is missing.
pub fn required_env(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(ConfigError {
            variable: name.to_owned(),
        }),
    }
}

#[derive(Debug)]
pub struct ConfigError {
    pub variable: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "configuration variable {} is not set", self.variable)
    }
}

impl std::error::Error for ConfigError {}
