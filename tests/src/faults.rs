//! A fault-injecting proxy between the SDK and the local emulators: every AWS call of a
//! test's services goes through it (DynamoDB calls to DynamoDB Local, the rest to moto), and
//! the test says which call fails, how, and how many times. What a real outage does to a
//! call, made on demand in the middle of an operation:
//! - `Refused`: the service answers 503 and never sees the request (a service down or
//!   throttling);
//! - `AnswerLost`: the service does the call, then the answer is lost (a connection cut
//!   after the commit): the caller cannot know it happened;
//! - `Slow`: the call is held longer than the SDK's attempt timeout before it goes on;
//! - `ConditionFailed`: a DynamoDB write is refused as if another writer had changed its
//!   items first (every condition of a transaction fails): a race lost every time.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long an attempt of a call through the proxy may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub enum Failure {
    Refused,
    AnswerLost,
    Slow(Duration),
    ConditionFailed,
}

struct Fault {
    /// The call it strikes: a DynamoDB operation (`TransactWriteItems`), or for the other
    /// services `METHOD path` (`POST /v2/email/outbound-emails`); a prefix matches.
    call: String,
    /// Text the call's body must hold too (a key it reads), if any.
    body: Option<String>,
    /// Matching calls let through first.
    skip: usize,
    /// Matching calls it still strikes.
    times: usize,
    failure: Failure,
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    /// Every call seen, in order, and whether a fault struck it.
    calls: Vec<(String, bool)>,
}

#[derive(Clone)]
pub struct FaultProxy {
    /// The address to give the SDK as its endpoint.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// A proxy on a port of its own, in front of the emulators `env.sh` points at.
    pub async fn start() -> FaultProxy {
        let dynamodb = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
            .unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned());
        let others = std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
        let state = Arc::new(Mutex::new(State::default()));
        let client = reqwest::Client::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let endpoint = format!("http://{}", listener.local_addr().expect("a bound address"));
        let shared = state.clone();
        let app = axum::Router::new().fallback(move |request: Request<Body>| {
            let (state, client) = (shared.clone(), client.clone());
            let (dynamodb, others) = (dynamodb.clone(), others.clone());
            async move { relay(request, &state, &client, &dynamodb, &others).await }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy { endpoint, state }
    }

    /// From now on, the next `times` calls starting with `call` fail.
    pub fn fail(&self, call: &str, failure: Failure, times: usize) {
        self.fail_after(call, 0, failure, times);
    }

    /// As [`FaultProxy::fail`], after letting `skip` such calls through.
    pub fn fail_after(&self, call: &str, skip: usize, failure: Failure, times: usize) {
        self.lock().faults.push(Fault {
            call: call.to_owned(),
            body: None,
            skip,
            times,
            failure,
        });
    }

    /// As [`FaultProxy::fail`], only for the calls whose body holds `text` (one item's key).
    pub fn fail_holding(&self, call: &str, text: &str, failure: Failure, times: usize) {
        self.lock().faults.push(Fault {
            call: call.to_owned(),
            body: Some(text.to_owned()),
            skip: 0,
            times,
            failure,
        });
    }

    /// No more faults: every call goes through.
    pub fn heal(&self) {
        self.lock().faults.clear();
    }

    /// How many calls starting with `call` a fault struck.
    pub fn struck(&self, call: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|(name, struck)| *struck && name.starts_with(call))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The shared SDK configuration with every service's endpoint at this proxy: the
    /// functions' retry settings, and their timeouts scaled down to [`ATTEMPT_TIMEOUT`] so
    /// that a slow call times out in a second rather than ten.
    pub fn sdk_config(&self, config: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        let mut builder = config
            .to_builder()
            .endpoint_url(&self.endpoint)
            .retry_config(tessera_platform::aws::retry_config())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(ATTEMPT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(ATTEMPT_TIMEOUT * 4)
                    .build(),
            );
        // Programmatic, so that it wins over the service-specific endpoint variables.
        builder.insert_origin("endpoint_url", aws_types::origin::Origin::shared_config());
        builder.build()
    }
}

/// The call a request makes, as faults name it.
fn call_name(request: &Request<Body>) -> (String, bool) {
    match request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        Some(target) if target.starts_with("DynamoDB_") => {
            (target.rsplit('.').next().unwrap_or(target).to_owned(), true)
        }
        Some(target) => (target.to_owned(), false),
        None => (
            format!("{} {}", request.method(), request.uri().path()),
            false,
        ),
    }
}

async fn relay(
    request: Request<Body>,
    state: &Mutex<State>,
    client: &reqwest::Client,
    dynamodb: &str,
    others: &str,
) -> Response<Body> {
    let (name, is_dynamodb) = call_name(&request);
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return unavailable();
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let request = Request::from_parts(parts, Body::from(bytes));
    let failure = {
        let mut state = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let failure = state
            .faults
            .iter_mut()
            .find(|fault| {
                fault.times > 0
                    && name.starts_with(&fault.call)
                    && fault.body.as_ref().is_none_or(|held| text.contains(held))
            })
            .and_then(|fault| match fault.skip {
                0 => {
                    fault.times -= 1;
                    Some(fault.failure)
                }
                _ => {
                    fault.skip -= 1;
                    None
                }
            });
        state.calls.push((name.clone(), failure.is_some()));
        failure
    };
    match failure {
        Some(Failure::Refused) => return unavailable(),
        Some(Failure::ConditionFailed) => return condition_failed(&name, &text),
        _ => {}
    }
    let upstream = if is_dynamodb { dynamodb } else { others };
    let delay = match failure {
        Some(Failure::Slow(delay)) => delay,
        _ => Duration::ZERO,
    };
    // Relayed on a task of its own: a held call still reaches the service after its caller
    // gave up waiting, as a slow network's would.
    let relayed = tokio::spawn(forward(request, client.clone(), upstream.to_owned(), delay));
    let Ok(Some(answer)) = relayed.await else {
        return unavailable();
    };
    if matches!(failure, Some(Failure::AnswerLost)) {
        // The service did it; the caller hears only that something went wrong.
        return unavailable();
    }
    answer
}

/// Sends the call on to `upstream` after `delay`: the service's answer, or `None` when it
/// cannot be reached.
async fn forward(
    request: Request<Body>,
    client: reqwest::Client,
    upstream: String,
    delay: Duration,
) -> Option<Response<Body>> {
    tokio::time::sleep(delay).await;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 << 20).await.ok()?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let head = parts.method == axum::http::Method::HEAD;
    let mut forwarded = client.request(parts.method, format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.body(bytes).send().await.ok()?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        // A HEAD's length is the object's, not its (empty) body's: it is passed on.
        if (name != "content-length" || head) && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.ok()?;
    response.body(Body::from(bytes)).ok()
}

/// DynamoDB's answer to a write whose condition failed: for a transaction, every item's
/// condition failed (one reason per item, as DynamoDB lists them).
fn condition_failed(call: &str, body: &str) -> Response<Body> {
    let answer = if call == "TransactWriteItems" {
        let items = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|request| request["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1);
        let reasons: Vec<serde_json::Value> = (0..items)
            .map(|_| serde_json::json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}))
            .collect();
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed]",
            "CancellationReasons": reasons,
        })
    } else {
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
            "message": "The conditional request failed",
        })
    };
    service_answer(StatusCode::BAD_REQUEST, answer.to_string())
}

/// A 503 as AWS services send it (the SDK treats it as transient and retries).
fn unavailable() -> Response<Body> {
    service_answer(
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"injected fault"}"#.to_owned(),
    )
}

/// An answer in the services' JSON protocol (the SDK reads the error from `__type`).
fn service_answer(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        "application/x-amz-json-1.0"
            .parse()
            .expect("a header value"),
    );
    response
}
