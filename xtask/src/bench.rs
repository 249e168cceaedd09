//! Benchmarks, run against the local AWS in release mode. Each prints lines of the form
//! `<name> <value> <unit>`; later issues add their figures here.

use crate::provision::{provision_table, LocalAws};
use crate::template::{StackContext, Template};
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::Request;
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run_all() -> Result<(), BenchError> {
    error_code_lookup().await?;
    dynamodb_put_floor().await?;
    sessions().await?;
    Ok(())
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

/// The p-th percentile (0–100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// `GET /error-codes?code=…` through the function's router: the cost of the HTTP layer
/// every function shares (routing, extraction, problem mapping, tracing span).
async fn error_code_lookup() -> Result<(), BenchError> {
    let app = fn_error_codes::app();
    let mut samples = Vec::with_capacity(10_000);
    for i in 0..10_000 {
        let uri = if i % 2 == 0 {
            "/error-codes?code=VALIDATION_FAILED"
        } else {
            "/error-codes?code=NOPE"
        };
        let request = Request::get(uri).body(Body::empty())?;
        let started = Instant::now();
        let response = app.clone().oneshot(request).await?;
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    report(
        "error_codes_lookup_p50",
        percentile(&samples, 50.0).as_secs_f64() * 1e6,
        "us",
    );
    report(
        "error_codes_lookup_p99",
        percentile(&samples, 99.0).as_secs_f64() * 1e6,
        "us",
    );
    Ok(())
}

/// One PutItem round trip to the local DynamoDB: the floor under every stored operation.
async fn dynamodb_put_floor() -> Result<(), BenchError> {
    let stack = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let template = Template::load_default(&StackContext::named(&stack))?;
    let aws = LocalAws::from_env().await;
    provision_table(&aws.dynamodb, &template.table).await?;
    let mut samples = Vec::with_capacity(1000);
    for i in 0..1000 {
        let started = Instant::now();
        aws.dynamodb
            .put_item()
            .table_name(&template.table.name)
            .item("PK", AttributeValue::S(format!("BENCH#{i}")))
            .item("SK", AttributeValue::S("ITEM".to_owned()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        samples.push(started.elapsed());
    }
    let _ = aws
        .dynamodb
        .delete_table()
        .table_name(&template.table.name)
        .send()
        .await;
    samples.sort();
    report(
        "dynamodb_put_p50",
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        "ms",
    );
    report(
        "dynamodb_put_p99",
        percentile(&samples, 99.0).as_secs_f64() * 1e3,
        "ms",
    );
    Ok(())
}

/// Sign-in (argon2id verification dominates, by design) and the authorizer every protected
/// request passes through (token check + session, account and merchant reads).
async fn sessions() -> Result<(), BenchError> {
    use crate::provision::{provision, LocalAws};
    use std::sync::Arc;
    use tessera_platform::assets::AssetStore;
    use tessera_platform::notifications::NotificationQueue;
    use tessera_platform::services::{Services, SystemClock};
    use tessera_platform::session::SigningKey;
    use tessera_platform::store::Table;

    let stack = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let template = Template::load_default(&StackContext::named(&stack))?;
    let aws = LocalAws::from_env().await;
    let provisioned = provision(&aws, &template).await?;
    let services = Services {
        table: Table::new(aws.dynamodb.clone(), provisioned.table_name.clone()),
        signing_key: Some(SigningKey::new(
            b"benchmark-signing-key-0123456789abcdef".to_vec(),
        )?),
        clock: Arc::new(SystemClock),
        session_lifetime: chrono::Duration::hours(8),
        uploads: AssetStore {
            s3: aws.s3.clone(),
            bucket: provisioned.buckets["UploadsBucket"].clone(),
        },
        batch_issue: tessera_platform::notifications::WorkQueue {
            sqs: aws.sqs.clone(),
            url: provisioned.queue_urls["BatchIssueQueue"].clone(),
        },
        notifications: NotificationQueue {
            sqs: aws.sqs.clone(),
            url: provisioned.queue_urls["NotificationsQueue"].clone(),
        },
        assets: AssetStore {
            s3: aws.s3.clone(),
            bucket: provisioned.buckets["AssetsBucket"].clone(),
        },
    };
    crate::seed::seed_demo(&services).await?;
    let app = fn_auth::app(services.clone());
    let sign_in_body = serde_json::json!({"merchant_id": crate::seed::PARENT, "account": "cashier01", "password": crate::seed::STAFF_PASSWORD}).to_string();
    let mut sign_in = Vec::with_capacity(50);
    let mut token = String::new();
    for _ in 0..50 {
        let request = Request::post("/sessions")
            .header("content-type", "application/json")
            .body(Body::from(sign_in_body.clone()))?;
        let started = Instant::now();
        let response = app.clone().oneshot(request).await?;
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        sign_in.push(started.elapsed());
        let session: serde_json::Value = serde_json::from_slice(&bytes)?;
        token = session["token"].as_str().unwrap_or_default().to_owned();
    }
    sign_in.sort();
    report(
        "sign_in_p50",
        percentile(&sign_in, 50.0).as_secs_f64() * 1e3,
        "ms",
    );

    let authenticator = services.authenticator()?;
    let mut samples = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        authenticator.authenticate(&token).await?;
        samples.push(started.elapsed());
    }
    samples.sort();
    report(
        "authorizer_p50",
        percentile(&samples, 50.0).as_secs_f64() * 1e3,
        "ms",
    );
    report(
        "authorizer_p99",
        percentile(&samples, 99.0).as_secs_f64() * 1e3,
        "ms",
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(51));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
