//! Records every AWS call a function makes, in local and test runs only: with
//! `TESSERA_AWS_CALL_LOG=<file>` set, each request the SDK is about to send (presigned ones
//! included) is appended to the file as one JSON line naming the function, the IAM action
//! it needs and the resource it touches. The least-privilege test compares these lines with
//! the policies of the expanded template (docs/decisions/0007-run-what-ships.md).
//!
//! In AWS the variable is never set, and the interceptor is not installed.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

pub const CALL_LOG_VARIABLE: &str = "TESSERA_AWS_CALL_LOG";

/// One permission a request needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AwsCall {
    /// `AWS_LAMBDA_FUNCTION_NAME` of the caller (empty outside Lambda).
    pub function: String,
    /// The IAM action, e.g. `dynamodb:GetItem`.
    pub action: String,
    /// The resource in the service's own terms: `table/NAME[/index/INDEX]` (DynamoDB),
    /// `BUCKET[/KEY]` (S3), the queue name (SQS), the secret id (Secrets Manager),
    /// `identity/DOMAIN` (SES), the topic ARN or `*` (SNS).
    pub resource: String,
}

/// The SDK interceptor that appends each call to the log file.
#[derive(Debug, Clone)]
pub struct CallRecorder {
    path: Arc<PathBuf>,
    function: Arc<str>,
}

impl CallRecorder {
    /// Present only when `TESSERA_AWS_CALL_LOG` names a file.
    pub fn from_env() -> Option<CallRecorder> {
        let path = std::env::var(CALL_LOG_VARIABLE)
            .ok()
            .filter(|p| !p.is_empty())?;
        Some(CallRecorder {
            path: Arc::new(PathBuf::from(path)),
            function: std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_default()
                .into(),
        })
    }

    fn append(&self, calls: &[AwsCall]) -> std::io::Result<()> {
        let mut lines = String::new();
        for call in calls {
            lines.push_str(&serde_json::to_string(call).unwrap_or_default());
            lines.push('\n');
        }
        // One write per request with O_APPEND: lines from many processes never interleave.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path.as_ref())?
            .write_all(lines.as_bytes())
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let header = |name: &str| request.headers().get(name).map(str::to_owned);
        let mut calls = describe(
            request.method(),
            request.uri(),
            header("authorization").as_deref(),
            header("x-amz-target").as_deref(),
            request.body().bytes().unwrap_or_default(),
        );
        for call in &mut calls {
            call.function = self.function.to_string();
        }
        if let Err(error) = self.append(&calls) {
            tracing::warn!(error = %error, "AWS call not recorded");
        }
        Ok(())
    }
}

/// The permissions one signed request needs. Pure, so it is unit-tested.
pub fn describe(
    method: &str,
    uri: &str,
    authorization: Option<&str>,
    target: Option<&str>,
    body: &[u8],
) -> Vec<AwsCall> {
    let (path, query) = split_uri(uri);
    let service = signing_service(authorization, query).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let operation = target
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_owned();
    let call = |action: &str, resource: String| AwsCall {
        function: String::new(),
        action: format!("{service}:{action}"),
        resource,
    };
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    match service.as_str() {
        "dynamodb" => {
            let table = |name: &serde_json::Value| format!("table/{}", text(name));
            match operation.as_str() {
                "BatchGetItem" | "BatchWriteItem" => json["RequestItems"]
                    .as_object()
                    .into_iter()
                    .flat_map(|items| items.keys())
                    .map(|name| call(&operation, format!("table/{name}")))
                    .collect(),
                "TransactWriteItems" | "TransactGetItems" => json["TransactItems"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|item| item.as_object()?.iter().next())
                    .map(|(kind, item)| {
                        let action = match kind.as_str() {
                            "Put" => "PutItem",
                            "Update" => "UpdateItem",
                            "Delete" => "DeleteItem",
                            "Get" => "GetItem",
                            _ => "ConditionCheckItem",
                        };
                        call(action, table(&item["TableName"]))
                    })
                    .collect(),
                _ => {
                    let mut resource = table(&json["TableName"]);
                    if let Some(index) = json["IndexName"].as_str() {
                        resource.push_str(&format!("/index/{index}"));
                    }
                    vec![call(&operation, resource)]
                }
            }
        }
        "sqs" => {
            let action = match operation.as_str() {
                "SendMessageBatch" => "SendMessage",
                "DeleteMessageBatch" => "DeleteMessage",
                "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
                other => other,
            };
            let queue = text(&json["QueueUrl"]);
            let name = queue.rsplit('/').next().unwrap_or_default().to_owned();
            vec![call(action, name)]
        }
        "secretsmanager" => vec![call(&operation, text(&json["SecretId"]))],
        "ses" => {
            let action = if path.ends_with("/outbound-emails") {
                "SendEmail"
            } else {
                "Unknown"
            };
            let from = text(&json["FromEmailAddress"]);
            let domain = from.rsplit('@').next().unwrap_or_default();
            vec![call(action, format!("identity/{domain}"))]
        }
        "sns" => {
            let field = |name: &str| form_value(body, name);
            let action = field("Action").unwrap_or_default();
            let resource = field("TopicArn")
                .or_else(|| field("TargetArn"))
                .unwrap_or_else(|| "*".to_owned());
            vec![call(&action, resource)]
        }
        "s3" => {
            let path = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
                .decode_utf8_lossy()
                .into_owned();
            let has_key = path.contains('/');
            let x_id = form_value(query.as_bytes(), "x-id").unwrap_or_default();
            let action = match (x_id.as_str(), method, has_key) {
                ("PutObject" | "CopyObject" | "UploadPart" | "CreateMultipartUpload", _, _) => {
                    "PutObject"
                }
                ("GetObject", _, _) | (_, "GET" | "HEAD", true) => "GetObject",
                ("DeleteObject" | "DeleteObjects", _, _) | (_, "DELETE", true) => "DeleteObject",
                (_, "PUT", true) => "PutObject",
                (_, "PUT", false) => "CreateBucket",
                _ => "ListBucket",
            };
            vec![call(action, path)]
        }
        _ => vec![call(&operation, path.to_owned())],
    }
}

fn split_uri(uri: &str) -> (&str, &str) {
    let without_scheme = uri.split_once("://").map(|(_, rest)| rest).unwrap_or(uri);
    let path_and_query = without_scheme
        .find('/')
        .map(|i| &without_scheme[i..])
        .unwrap_or("/");
    path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""))
}

/// The service a SigV4 request is signed for: `Credential=AKID/DATE/REGION/SERVICE/aws4_request`
/// in the Authorization header, or `X-Amz-Credential` of a presigned URL.
fn signing_service(authorization: Option<&str>, query: &str) -> Option<String> {
    let credential = match authorization {
        Some(header) => header
            .split("Credential=")
            .nth(1)?
            .split([',', ' '])
            .next()?
            .to_owned(),
        None => form_value(query.as_bytes(), "X-Amz-Credential")?,
    };
    credential.split('/').nth(3).map(str::to_owned)
}

/// One field of a query string or form body, decoded.
fn form_value(form: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20261203/ap-northeast-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";

    fn auth(service: &str) -> String {
        AUTH.replace("SERVICE", service)
    }

    fn actions(calls: Vec<AwsCall>) -> Vec<(String, String)> {
        calls.into_iter().map(|c| (c.action, c.resource)).collect()
    }

    #[test]
    fn dynamodb_transactions_need_each_item_action_on_its_table() {
        let body = br#"{"TransactItems":[{"Put":{"TableName":"t-main"}},{"Update":{"TableName":"t-main"}},{"ConditionCheck":{"TableName":"t-main"}}]}"#;
        let calls = describe(
            "POST",
            "http://127.0.0.1:8000/",
            Some(&auth("dynamodb")),
            Some("DynamoDB_20120810.TransactWriteItems"),
            body,
        );
        assert_eq!(
            actions(calls),
            vec![
                ("dynamodb:PutItem".into(), "table/t-main".into()),
                ("dynamodb:UpdateItem".into(), "table/t-main".into()),
                ("dynamodb:ConditionCheckItem".into(), "table/t-main".into()),
            ]
        );
        let query = br#"{"TableName":"t-main","IndexName":"GSI1"}"#;
        let calls = describe(
            "POST",
            "http://127.0.0.1:8000/",
            Some(&auth("dynamodb")),
            Some("DynamoDB_20120810.Query"),
            query,
        );
        assert_eq!(
            actions(calls),
            vec![("dynamodb:Query".into(), "table/t-main/index/GSI1".into())]
        );
        let batch = br#"{"RequestItems":{"t-main":{"Keys":[]}}}"#;
        let calls = describe(
            "POST",
            "http://127.0.0.1:8000/",
            Some(&auth("dynamodb")),
            Some("DynamoDB_20120810.BatchGetItem"),
            batch,
        );
        assert_eq!(
            actions(calls),
            vec![("dynamodb:BatchGetItem".into(), "table/t-main".into())]
        );
    }

    #[test]
    fn s3_requests_and_presigned_urls_name_their_object() {
        let calls = describe(
            "PUT",
            "http://127.0.0.1:4566/t-uploads/merchants/M1/a%20b.xlsx?x-id=PutObject",
            Some(&auth("s3")),
            None,
            b"",
        );
        assert_eq!(
            actions(calls),
            vec![(
                "s3:PutObject".into(),
                "t-uploads/merchants/M1/a b.xlsx".into()
            )]
        );
        let presigned = "http://127.0.0.1:4566/t-assets/merchants/M1/logo?x-id=GetObject&X-Amz-Credential=test%2F20261203%2Fap-northeast-1%2Fs3%2Faws4_request&X-Amz-Signature=00";
        let calls = describe("GET", presigned, None, None, b"");
        assert_eq!(
            actions(calls),
            vec![("s3:GetObject".into(), "t-assets/merchants/M1/logo".into())]
        );
        let head = describe(
            "HEAD",
            "http://127.0.0.1:4566/t-assets/merchants/M1/logo",
            Some(&auth("s3")),
            None,
            b"",
        );
        assert_eq!(
            actions(head),
            vec![("s3:GetObject".into(), "t-assets/merchants/M1/logo".into())]
        );
    }

    #[test]
    fn queues_secrets_mail_and_texts_name_their_resource() {
        let sqs = describe(
            "POST",
            "http://127.0.0.1:4566/",
            Some(&auth("sqs")),
            Some("AmazonSQS.SendMessageBatch"),
            br#"{"QueueUrl":"http://127.0.0.1:4566/000000000000/t-notifications"}"#,
        );
        assert_eq!(
            actions(sqs),
            vec![("sqs:SendMessage".into(), "t-notifications".into())]
        );
        let secret = describe(
            "POST",
            "http://127.0.0.1:4566/",
            Some(&auth("secretsmanager")),
            Some("secretsmanager.GetSecretValue"),
            br#"{"SecretId":"arn:aws:secretsmanager:x:1:secret:k"}"#,
        );
        assert_eq!(
            actions(secret),
            vec![(
                "secretsmanager:GetSecretValue".into(),
                "arn:aws:secretsmanager:x:1:secret:k".into()
            )]
        );
        let mail = describe(
            "POST",
            "http://127.0.0.1:4566/v2/email/outbound-emails",
            Some(&auth("ses")),
            None,
            br#"{"FromEmailAddress":"noreply@tessera.example.com"}"#,
        );
        assert_eq!(
            actions(mail),
            vec![(
                "ses:SendEmail".into(),
                "identity/tessera.example.com".into()
            )]
        );
        let text = describe(
            "POST",
            "http://127.0.0.1:4566/",
            Some(&auth("sns")),
            None,
            b"Action=Publish&PhoneNumber=%2B886912345678&Message=hi",
        );
        assert_eq!(actions(text), vec![("sns:Publish".into(), "*".into())]);
    }
}
