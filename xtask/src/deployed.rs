//! The platform as it deploys: every function of the template in its own processes
//! ([`crate::lambda_host`]), with the environment the template gives it, behind an
//! emulation of what API Gateway, the SQS event source mapping and EventBridge Scheduler
//! do in front of it (events in the formats Lambda receives, the authorizer invoked as a
//! Lambda for every protected route).

use crate::functions::{BoxError, QueueHandler, ScheduledHandler};
use crate::lambda_host::{FunctionConfig, FunctionPool, InvokeError, LocalEnvironment};
use crate::provision::Provisioned;
use crate::template::{ResourceValues, Template};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use axum::body::{to_bytes, Body};
use axum::extract::{RawPathParams, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use base64::Engine;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The largest request body API Gateway accepts (HTTP APIs: 10 MB).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// The authorizer's logical id: the template's `DefaultAuthorizer` function.
pub const AUTHORIZER: &str = "AuthorizerFunction";

/// What `!Ref` and `!GetAtt` answer for the provisioned local resources.
pub fn resource_values(template: &Template, provisioned: &Provisioned) -> ResourceValues {
    let context = template.context();
    let mut values = ResourceValues {
        region: context.region.clone(),
        account: context.account_id.clone(),
        stack_name: context.stack_name.clone(),
        parameters: template.parameter_values(),
        ..ResourceValues::default()
    };
    // (logical id, its Ref value where provisioned, its ARN)
    let mut resources = vec![(
        template.table.logical_id.clone(),
        Some(provisioned.table_name.clone()),
        values.arn("dynamodb", &format!("table/{}", provisioned.table_name)),
    )];
    for bucket in &template.buckets {
        let arn = values.arn("s3", &bucket.name);
        resources.push((bucket.logical_id.clone(), Some(bucket.name.clone()), arn));
    }
    for queue in &template.queues {
        let url = provisioned.queue_urls.get(&queue.logical_id).cloned();
        resources.push((
            queue.logical_id.clone(),
            url,
            values.arn("sqs", &queue.name),
        ));
        values.attributes.insert(
            format!("{}.QueueName", queue.logical_id),
            queue.name.clone(),
        );
    }
    for function in &template.functions {
        let arn = values.arn("lambda", &format!("function:{}", function.name));
        resources.push((
            function.logical_id.clone(),
            Some(function.name.clone()),
            arn,
        ));
    }
    for (logical_id, reference, arn) in resources {
        values.attributes.insert(format!("{logical_id}.Arn"), arn);
        if let Some(reference) = reference {
            values.refs.insert(logical_id, reference);
        }
    }
    for (logical_id, arn) in &provisioned.secrets {
        values.refs.insert(logical_id.clone(), arn.clone());
    }
    values
}

/// Every function of the template, each a pool of processes started on demand.
#[derive(Clone)]
pub struct DeployedFunctions {
    pools: Arc<BTreeMap<String, Arc<FunctionPool>>>,
}

impl DeployedFunctions {
    /// Configures (does not yet start) every function: its binary under `binaries`, the
    /// template's environment resolved against `resources`, plus `local`.
    pub fn new(
        template: &Template,
        resources: &ResourceValues,
        binaries: &Path,
        local: &LocalEnvironment,
        echo_output: bool,
    ) -> Result<Self, String> {
        let mut pools = BTreeMap::new();
        for function in &template.functions {
            let binary = function.binary.as_deref().ok_or_else(|| {
                format!(
                    "{} names no binary (Metadata.BuildProperties.Binary)",
                    function.logical_id
                )
            })?;
            let environment = template
                .function_environment(&function.logical_id, resources)
                .map_err(|e| e.to_string())?;
            let config = FunctionConfig {
                logical_id: function.logical_id.clone(),
                function_name: function.name.clone(),
                binary: binaries.join(binary),
                environment,
                local: local.clone(),
                timeout: Duration::from_secs(function.timeout.unwrap_or(3).max(1) as u64),
                memory_mb: function.memory_size.unwrap_or(128),
                echo_output,
            };
            pools.insert(
                function.logical_id.clone(),
                Arc::new(FunctionPool::new(config, 4)),
            );
        }
        Ok(DeployedFunctions {
            pools: Arc::new(pools),
        })
    }

    pub fn pool(&self, logical_id: &str) -> Option<Arc<FunctionPool>> {
        self.pools.get(logical_id).cloned()
    }

    pub fn pools(&self) -> impl Iterator<Item = (&String, &Arc<FunctionPool>)> {
        self.pools.iter()
    }

    pub async fn invoke(
        &self,
        logical_id: &str,
        event: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        match self.pools.get(logical_id) {
            Some(pool) => pool.invoke(event).await,
            None => Err(InvokeError::Spawn {
                function: logical_id.to_owned(),
                binary: String::new(),
                reason: "not a function of the template".to_owned(),
            }),
        }
    }

    /// The HTTP API: every route of the template, each invoking its function with an API
    /// Gateway (payload 2.0) event, after the authorizer where the route is protected.
    pub fn router(&self, template: &Template) -> Router {
        let mut by_path: BTreeMap<String, MethodRouter> = BTreeMap::new();
        for (route, function) in template.routes() {
            let Some(filter) = method_filter(&route.method) else {
                continue;
            };
            let functions = self.clone();
            let route_key = format!("{} {}", route.method, route.path);
            let public = route.public;
            let handler = move |params: RawPathParams, request: Request| {
                let functions = functions.clone();
                let route_key = route_key.clone();
                let function = function.clone();
                async move {
                    functions
                        .serve(&function, &route_key, public, params, request)
                        .await
                }
            };
            let entry = by_path.remove(&route.path).unwrap_or_default();
            by_path.insert(route.path.clone(), entry.on(filter, handler));
        }
        by_path
            .into_iter()
            .fold(Router::new(), |router, (path, methods)| {
                router.route(&path, methods)
            })
    }

    async fn serve(
        &self,
        function: &str,
        route_key: &str,
        public: bool,
        params: RawPathParams,
        request: Request,
    ) -> Response {
        let path_parameters: BTreeMap<String, String> = params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let (parts, body) = request.into_parts();
        let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
            return gateway_message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
        };
        let mut event = http_event(&parts, &body, route_key, &path_parameters);
        if !public {
            let authorizer_event = authorizer_event(&event);
            let verdict = match self.invoke(AUTHORIZER, &authorizer_event).await {
                Ok(verdict) => verdict,
                Err(error) => {
                    tracing::error!(error = %error, "authorizer failed");
                    return gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    );
                }
            };
            if verdict["isAuthorized"].as_bool() != Some(true) {
                return gateway_message(StatusCode::FORBIDDEN, "Forbidden");
            }
            event["requestContext"]["authorizer"] = serde_json::json!({ "lambda": verdict.get("context").cloned().unwrap_or_default() });
        }
        match self.invoke(function, &event).await {
            Ok(answer) => http_response(&answer),
            Err(error) => {
                tracing::error!(error = %error, "function failed");
                gateway_message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }
    }

    /// The SQS event source mapping's call: the batch in, the batch-item failures out.
    pub fn queue_handler(&self, logical_id: &str) -> QueueHandler {
        let functions = self.clone();
        let logical_id = logical_id.to_owned();
        Arc::new(move |event: SqsEvent| {
            let functions = functions.clone();
            let logical_id = logical_id.clone();
            Box::pin(async move {
                let payload = serde_json::to_value(&event)?;
                let answer = functions.invoke(&logical_id, &payload).await?;
                let response: SqsBatchResponse = serde_json::from_value(answer)?;
                Ok(response)
            })
        })
    }

    /// The DynamoDB stream event source's call: the records in, the batch response out.
    pub fn stream_handler(&self, logical_id: &str) -> crate::streams::StreamHandler {
        let functions = self.clone();
        let logical_id = logical_id.to_owned();
        Arc::new(move |event: serde_json::Value| {
            let functions = functions.clone();
            let logical_id = logical_id.clone();
            Box::pin(async move { Ok(functions.invoke(&logical_id, &event).await?) })
        })
    }

    /// EventBridge Scheduler's call: the schedule's input is the event.
    pub fn scheduled_handler(&self, logical_id: &str) -> ScheduledHandler {
        let functions = self.clone();
        let logical_id = logical_id.to_owned();
        Arc::new(move |input: serde_json::Value| {
            let functions = functions.clone();
            let logical_id = logical_id.clone();
            Box::pin(async move {
                functions
                    .invoke(&logical_id, &input)
                    .await
                    .map(|_| ())
                    .map_err(|e| BoxError::from(e.to_string()))
            })
        })
    }
}

fn method_filter(method: &str) -> Option<MethodFilter> {
    Some(match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "PATCH" => MethodFilter::PATCH,
        "DELETE" => MethodFilter::DELETE,
        _ => return None,
    })
}

/// API Gateway's own answers are `{"message": ...}`, not problem+json: the function never ran.
fn gateway_message(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_none_or(|value| {
        let value = value.to_ascii_lowercase();
        value.starts_with("text/")
            || value.contains("json")
            || value.contains("xml")
            || value.contains("x-www-form-urlencoded")
    })
}

/// The HTTP API's payload 2.0 event for a request.
pub fn http_event(
    parts: &axum::http::request::Parts,
    body: &[u8],
    route_key: &str,
    path_parameters: &BTreeMap<String, String>,
) -> serde_json::Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == axum::http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw_query.as_bytes()).into_owned() {
        query
            .entry(name)
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    let now = chrono::Utc::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let user_agent = headers.get("user-agent").cloned().unwrap_or_default();
    let source_ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "127.0.0.1".to_owned());
    let text = is_text(headers.get("content-type").map(String::as_str));
    let mut event = serde_json::json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": headers.get("host").cloned().unwrap_or_else(|| "localhost".to_owned()),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": !body.is_empty() && !text,
    });
    if !cookies.is_empty() {
        event["cookies"] = serde_json::json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = serde_json::json!(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = serde_json::json!(path_parameters);
    }
    if !body.is_empty() {
        event["body"] = if text {
            serde_json::Value::String(String::from_utf8_lossy(body).into_owned())
        } else {
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(body))
        };
    }
    event
}

/// The authorizer's payload 2.0 request for a route's event.
pub fn authorizer_event(http_event: &serde_json::Value) -> serde_json::Value {
    let mut event = serde_json::json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!(
            "arn:aws:execute-api:local:000000000000:local/$default/{}",
            http_event["routeKey"].as_str().unwrap_or_default().replacen(' ', "", 1)
        ),
        "identitySource": http_event["headers"]["authorization"].as_str().map(|v| vec![v]).unwrap_or_default(),
        "routeKey": http_event["routeKey"],
        "rawPath": http_event["rawPath"],
        "rawQueryString": http_event["rawQueryString"],
        "headers": http_event["headers"],
        "requestContext": http_event["requestContext"],
    });
    for optional in ["cookies", "queryStringParameters", "pathParameters"] {
        if let Some(value) = http_event.get(optional) {
            event[optional] = value.clone();
        }
    }
    event
}

/// A function's payload 2.0 answer as the HTTP response API Gateway makes of it.
pub fn http_response(answer: &serde_json::Value) -> Response {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|code| StatusCode::from_u16(code as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = match answer["body"].as_str() {
        Some(text) if answer["isBase64Encoded"].as_bool() == Some(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        }
        Some(text) => text.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(map) = answer["headers"].as_object() {
        for (name, value) in map {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(name.as_bytes()),
                value.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    if let Some(map) = answer["multiValueHeaders"].as_object() {
        for (name, values) in map {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            headers.remove(&name);
            for value in values.as_array().into_iter().flatten() {
                if let Some(Ok(value)) = value.as_str().map(HeaderValue::from_str) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(Ok(value)) = cookie.as_str().map(HeaderValue::from_str) {
            headers.append(axum::http::header::SET_COOKIE, value);
        }
    }
    response
}

/// Every variable any function of the stack is given, resolved: what one process that runs
/// every function (the in-process gateway, the tests, the benchmarks) builds its services
/// from.
pub fn stack_variables(
    template: &Template,
    provisioned: &Provisioned,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let values = resource_values(template, provisioned);
    let mut all = std::collections::BTreeMap::new();
    for function in &template.functions {
        all.extend(
            template
                .function_environment(&function.logical_id, &values)
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(all)
}

/// Services over every resource of the stack (the table, buckets and queues the template
/// names), built by the functions' own constructor, on `clock`; the signing key is the
/// caller's to add.
pub fn stack_services(
    aws: &crate::provision::LocalAws,
    template: &Template,
    provisioned: &Provisioned,
    clock: Arc<dyn tessera_domain::clock::Clock>,
) -> Result<tessera_platform::services::Services, String> {
    stack_services_over(&aws.config, template, provisioned, clock)
}

/// As [`stack_services`], over another SDK configuration (the fault tests' proxy).
pub fn stack_services_over(
    config: &aws_config::SdkConfig,
    template: &Template,
    provisioned: &Provisioned,
    clock: Arc<dyn tessera_domain::clock::Clock>,
) -> Result<tessera_platform::services::Services, String> {
    let variables = stack_variables(template, provisioned)?;
    let lookup = |name: &str| variables.get(name).cloned();
    tessera_platform::services::Services::build(
        config,
        &lookup,
        &tessera_platform::services::Resource::ALL
            .into_iter()
            .filter(|r| *r != tessera_platform::services::Resource::SigningKey)
            .collect::<Vec<_>>(),
        clock,
    )
}

/// The stream handlers of every function that reads a stream, by logical id.
pub fn stream_handlers(
    functions: &DeployedFunctions,
    template: &Template,
) -> Handlers<crate::streams::StreamHandler> {
    template
        .functions
        .iter()
        .filter(|f| !f.streams.is_empty())
        .map(|f| {
            (
                f.logical_id.clone(),
                functions.stream_handler(&f.logical_id),
            )
        })
        .collect()
}

/// Handlers by function logical id.
pub type Handlers<H> = Vec<(String, H)>;

/// Queue and schedule handlers of every function, by logical id, for the gateway's pollers
/// and scheduler.
pub fn handlers(
    functions: &DeployedFunctions,
    template: &Template,
) -> (Handlers<QueueHandler>, Handlers<ScheduledHandler>) {
    let mut queues = Vec::new();
    let mut schedules = Vec::new();
    for function in &template.functions {
        if !function.queues.is_empty() {
            queues.push((
                function.logical_id.clone(),
                functions.queue_handler(&function.logical_id),
            ));
        }
        if !function.schedules.is_empty() {
            schedules.push((
                function.logical_id.clone(),
                functions.scheduled_handler(&function.logical_id),
            ));
        }
    }
    (queues, schedules)
}
