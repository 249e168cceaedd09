//! Creates what `infra/template.yaml` declares in the local AWS: the table (with its
//! indexes and TTL), the buckets and the queues (dead-letter queues first). Safe to run
//! again: what exists is left as it is.

use crate::template::{KeyElement, QueueSpec, StackContext, TableSpec, Template};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;
use std::time::Duration;

/// The clients provisioning needs.
#[derive(Clone)]
pub struct LocalAws {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// DynamoDB Local's streams, for the stream event source emulator.
    pub streams: crate::streams::StreamsApi,
    pub region: String,
    /// The SDK configuration the clients were built from (services build theirs from it).
    pub config: aws_config::SdkConfig,
}

impl LocalAws {
    pub async fn from_env() -> LocalAws {
        let config = tessera_platform::aws::load_sdk_config().await;
        LocalAws {
            dynamodb: tessera_platform::aws::dynamodb_client(&config),
            s3: tessera_platform::aws::s3_client(&config),
            sqs: tessera_platform::aws::sqs_client(&config),
            ses: aws_sdk_sesv2::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            secrets: tessera_platform::aws::secrets_client(&config),
            streams: streams_api(&config),
            region: config
                .region()
                .map(|region| region.to_string())
                .unwrap_or_else(|| StackContext::local().region),
            config,
        }
    }
}

/// The streams API is served where DynamoDB is (DynamoDB Local answers both).
fn streams_api(config: &aws_config::SdkConfig) -> crate::streams::StreamsApi {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned());
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    crate::streams::StreamsApi::new(&endpoint, &region).unwrap_or_else(|error| panic!("{error}"))
}

/// What provisioning made: names and URLs a caller needs to reach the resources.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub table_name: String,
    /// Bucket logical id → bucket name.
    pub buckets: HashMap<String, String>,
    /// Queue logical id → queue URL.
    pub queue_urls: HashMap<String, String>,
    /// Secret logical id → secret ARN.
    pub secrets: HashMap<String, String>,
}

pub type ProvisionError = Box<dyn std::error::Error + Send + Sync>;

/// An AWS error as a person can act on it (`tessera_platform::aws::sdk_error_text`).
pub fn aws_error<E, R>(error: aws_sdk_dynamodb::error::SdkError<E, R>) -> ProvisionError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    tessera_platform::aws::sdk_error_text(&error).into()
}

/// An error with every cause it carries, for messages to people.
pub fn describe_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub async fn provision(aws: &LocalAws, template: &Template) -> Result<Provisioned, ProvisionError> {
    provision_table(&aws.dynamodb, &template.table).await?;
    let mut buckets = HashMap::new();
    for bucket in &template.buckets {
        create_bucket(aws, &bucket.name).await?;
        apply_bucket_cors(aws, bucket).await?;
        buckets.insert(bucket.logical_id.clone(), bucket.name.clone());
    }
    for identity in &template.email_identities {
        create_email_identity(&aws.ses, identity).await?;
    }
    let mut queue_urls = HashMap::new();
    // Dead-letter queues first: a work queue's redrive policy needs its DLQ's ARN.
    let (dead_letter_queues, work_queues): (Vec<&QueueSpec>, Vec<&QueueSpec>) = template
        .queues
        .iter()
        .partition(|queue| queue.dead_letter.is_none());
    for queue in dead_letter_queues.into_iter().chain(work_queues) {
        let url = create_queue(&aws.sqs, queue, &queue_urls).await?;
        queue_urls.insert(queue.logical_id.clone(), url);
    }
    let mut secrets = HashMap::new();
    for secret in &template.secrets {
        secrets.insert(
            secret.logical_id.clone(),
            create_secret(&aws.secrets, &secret.name).await?,
        );
    }
    Ok(Provisioned {
        table_name: template.table.name.clone(),
        buckets,
        queue_urls,
        secrets,
    })
}

/// A secret as `GenerateSecretString` makes it (64 letters and digits), unless it exists.
async fn create_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
) -> Result<String, ProvisionError> {
    if let Ok(existing) = secrets.describe_secret().secret_id(name).send().await {
        if let Some(arn) = existing.arn() {
            return Ok(arn.to_owned());
        }
    }
    let created = secrets
        .create_secret()
        .name(name)
        .secret_string(generated_secret()?)
        .send()
        .await
        .map_err(aws_error)?;
    created
        .arn()
        .map(str::to_owned)
        .ok_or_else(|| format!("creating secret {name} returned no ARN").into())
}

fn generated_secret() -> Result<String, ProvisionError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = tessera_platform::random::random_bytes::<64>().map_err(|e| e.to_string())?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

/// Creates the table as the template declares it (under the template's name) and waits
/// until it is active.
pub async fn provision_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &TableSpec,
) -> Result<(), ProvisionError> {
    let exists = match dynamodb
        .describe_table()
        .table_name(&table.name)
        .send()
        .await
    {
        Ok(_) => true,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(error) => return Err(aws_error(error)),
    };
    if !exists {
        let mut request = dynamodb
            .create_table()
            .table_name(&table.name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(key_schema(&table.key_schema)?));
        if let Some(view) = &table.stream_view_type {
            request = request.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()?,
            );
        }
        for (name, kind) in &table.attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(kind.as_str()))
                    .build()?,
            );
        }
        for index in &table.global_indexes {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(key_schema(&index.key_schema)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(index.projection_type.as_str()))
                            .build(),
                    )
                    .build()?,
            );
        }
        match request.send().await {
            Ok(_) => {}
            // Another process created it between our describe and create: fine.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(error) => return Err(aws_error(error)),
        }
    }
    wait_until_active(dynamodb, &table.name).await?;
    if let Some(view) = &table.stream_view_type {
        enable_stream(dynamodb, &table.name, view).await?;
    }
    if let Some(attribute) = &table.ttl_attribute {
        let current = dynamodb
            .describe_time_to_live()
            .table_name(&table.name)
            .send()
            .await
            .map_err(aws_error)?;
        let enabled = current
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            .is_some_and(|name| name == attribute);
        if !enabled {
            dynamodb
                .update_time_to_live()
                .table_name(&table.name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attribute)
                        .enabled(true)
                        .build()?,
                )
                .send()
                .await
                .map_err(aws_error)?;
        }
    }
    Ok(())
}

/// Turns the stream on for a table made before the template declared it (a local table that
/// outlived an upgrade); a table that has it already is left alone.
async fn enable_stream(
    dynamodb: &aws_sdk_dynamodb::Client,
    name: &str,
    view: &str,
) -> Result<(), ProvisionError> {
    let described = dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(aws_error)?;
    let enabled = described
        .table()
        .and_then(|t| t.stream_specification())
        .is_some_and(|s| s.stream_enabled());
    if !enabled {
        dynamodb
            .update_table()
            .table_name(name)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view))
                    .build()?,
            )
            .send()
            .await
            .map_err(aws_error)?;
        wait_until_active(dynamodb, name).await?;
    }
    Ok(())
}

fn key_schema(elements: &[KeyElement]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    elements
        .iter()
        .map(|element| {
            Ok(KeySchemaElement::builder()
                .attribute_name(&element.attribute)
                .key_type(KeyType::from(element.key_type.as_str()))
                .build()?)
        })
        .collect()
}

async fn wait_until_active(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
) -> Result<(), ProvisionError> {
    for _ in 0..300 {
        let description = dynamodb
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(aws_error)?;
        if description.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("table {table_name} did not become active within 30 s").into())
}

async fn create_bucket(aws: &LocalAws, name: &str) -> Result<(), ProvisionError> {
    let mut request = aws.s3.create_bucket().bucket(name);
    // S3 refuses a location constraint for us-east-1 and requires one everywhere else.
    if aws.region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(aws.region.as_str()))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            if error.as_service_error().is_some_and(|service| {
                service.is_bucket_already_owned_by_you() || service.is_bucket_already_exists()
            }) {
                Ok(())
            } else {
                Err(aws_error(error))
            }
        }
    }
}

/// The template's CORS rules on the bucket, so that the local S3 refuses a browser's PUT
/// from any origin but the console's, as S3 does.
async fn apply_bucket_cors(
    aws: &LocalAws,
    bucket: &crate::template::BucketSpec,
) -> Result<(), ProvisionError> {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    if bucket.cors.is_empty() {
        return Ok(());
    }
    let mut configuration = CorsConfiguration::builder();
    for rule in &bucket.cors {
        let mut built = CorsRule::builder()
            .set_allowed_methods(Some(rule.allowed_methods.clone()))
            .set_allowed_origins(Some(rule.allowed_origins.clone()))
            .set_allowed_headers(Some(rule.allowed_headers.clone()));
        if let Some(age) = rule.max_age_seconds {
            built = built.max_age_seconds(age);
        }
        configuration = configuration.cors_rules(built.build()?);
    }
    aws.s3
        .put_bucket_cors()
        .bucket(&bucket.name)
        .cors_configuration(configuration.build()?)
        .send()
        .await
        .map_err(aws_error)?;
    Ok(())
}

async fn create_email_identity(
    ses: &aws_sdk_sesv2::Client,
    identity: &str,
) -> Result<(), ProvisionError> {
    match ses
        .create_email_identity()
        .email_identity(identity)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) => {
            if error
                .as_service_error()
                .is_some_and(|service| service.is_already_exists_exception())
            {
                Ok(())
            } else {
                Err(aws_error(error))
            }
        }
    }
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    queue: &QueueSpec,
    created: &HashMap<String, String>,
) -> Result<String, ProvisionError> {
    let mut request = sqs.create_queue().queue_name(&queue.name);
    if let Some(seconds) = queue.visibility_timeout {
        request = request.attributes(QueueAttributeName::VisibilityTimeout, seconds.to_string());
    }
    if let Some(seconds) = queue.message_retention {
        request = request.attributes(
            QueueAttributeName::MessageRetentionPeriod,
            seconds.to_string(),
        );
    }
    if let Some((dead_letter_id, max_receives)) = &queue.dead_letter {
        let dead_letter_url = created.get(dead_letter_id).ok_or_else(|| {
            format!(
                "{}: dead-letter queue {dead_letter_id} is not declared",
                queue.logical_id
            )
        })?;
        let arn = queue_arn(sqs, dead_letter_url).await?;
        let policy =
            serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max_receives });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let output = request.send().await.map_err(aws_error)?;
    output
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| format!("creating {} returned no URL", queue.name).into())
}

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, ProvisionError> {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(aws_error)?;
    attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| format!("queue {url} has no ARN").into())
}
