//! Runs a function as Lambda runs it: its own process, from its own binary, with exactly the
//! environment the template gives it, driven through the Lambda Runtime API
//! (`/2018-06-01/runtime/...`), one invocation at a time per process. A pool starts more
//! processes when every one is busy, as Lambda scales out.
//!
//! What a process gets beyond the template's variables is what Lambda itself sets
//! (`AWS_LAMBDA_*`, region, credentials) and what points it at the local emulators
//! ([`LocalEnvironment`]); nothing of the caller's own environment leaks in.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

/// How long Lambda gives a function's init phase.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a process's output is kept for error reports.
const LOG_TAIL_BYTES: usize = 64 * 1024;

/// What points a function at the local emulators instead of AWS: the standard SDK
/// variables, taken from the runner's own environment (`localstack/env.sh`).
#[derive(Debug, Clone, Default)]
pub struct LocalEnvironment {
    pub variables: BTreeMap<String, String>,
}

impl LocalEnvironment {
    /// The variables that exist in AWS too (region, credentials) and the emulator
    /// endpoints, as the caller has them set.
    pub fn from_env() -> Self {
        let names = [
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "TESSERA_S3_FORCE_PATH_STYLE",
        ];
        LocalEnvironment {
            variables: names
                .iter()
                .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
                .collect(),
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.variables.insert(name.to_owned(), value.to_owned());
        self
    }
}

/// One function as the template declares it, ready to start.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub logical_id: String,
    pub function_name: String,
    pub binary: PathBuf,
    /// The template's variables (Globals and the function's own), resolved.
    pub environment: BTreeMap<String, String>,
    pub local: LocalEnvironment,
    pub timeout: Duration,
    pub memory_mb: i64,
    /// Copy the process's output to this process's stderr (the local gateway does).
    pub echo_output: bool,
}

impl FunctionConfig {
    /// Every variable the process starts with.
    pub fn process_environment(&self, runtime_api: &str) -> BTreeMap<String, String> {
        let mut variables = self.environment.clone();
        let region = self
            .local
            .variables
            .get("AWS_REGION")
            .cloned()
            .unwrap_or_else(|| "ap-northeast-1".to_owned());
        let lambda = [
            ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", self.function_name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.function_name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
            ("AWS_DEFAULT_REGION", region.clone()),
            ("AWS_REGION", region),
            ("_HANDLER", "bootstrap".to_owned()),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ];
        for (name, value) in &self.local.variables {
            variables.insert(name.clone(), value.clone());
        }
        for (name, value) in lambda {
            variables.insert(name.to_owned(), value);
        }
        variables
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("{function}: cannot start {binary}: {reason}")]
    Spawn {
        function: String,
        binary: String,
        reason: String,
    },
    #[error("{function}: init failed: {reason}\n--- its output ---\n{output}")]
    Init {
        function: String,
        reason: String,
        output: String,
    },
    #[error("{function}: {error_type}: {error_message}")]
    Function {
        function: String,
        error_type: String,
        error_message: String,
    },
    #[error("{function}: the process ended during the invocation\n--- its output ---\n{output}")]
    Crashed { function: String, output: String },
    #[error("{function}: timed out after {seconds} s")]
    Timeout { function: String, seconds: u64 },
}

struct Invocation {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    outcome: oneshot::Sender<Outcome>,
}

enum Outcome {
    Response(Bytes),
    Error(Bytes),
}

/// The Runtime API one process talks to.
struct RuntimeApi {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    ready: watch::Sender<bool>,
    init_error: Mutex<Option<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn next_invocation(State(api): State<Arc<RuntimeApi>>) -> Response {
    api.ready.send_replace(true);
    let Some(invocation) = api.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    lock(&api.in_flight).insert(invocation.request_id.clone(), invocation.outcome);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set(
        "lambda-runtime-deadline-ms",
        &invocation.deadline_ms.to_string(),
    );
    set("lambda-runtime-invoked-function-arn", &api.function_arn);
    set("content-type", "application/json");
    (StatusCode::OK, headers, invocation.payload).into_response()
}

async fn invocation_response(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&api, &request_id, Outcome::Response(body))
}

async fn invocation_error(
    State(api): State<Arc<RuntimeApi>>,
    UrlPath(request_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&api, &request_id, Outcome::Error(body))
}

fn complete(api: &RuntimeApi, request_id: &str, outcome: Outcome) -> StatusCode {
    match lock(&api.in_flight).remove(request_id) {
        Some(sender) => {
            let _ = sender.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn init_error(State(api): State<Arc<RuntimeApi>>, body: Bytes) -> StatusCode {
    *lock(&api.init_error) = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

/// One running process of a function.
pub struct Instance {
    function: String,
    invocations: mpsc::Sender<Invocation>,
    exited: watch::Receiver<bool>,
    output: Arc<Mutex<String>>,
    /// From spawning the process to its first request for an event.
    pub init_duration: Duration,
    /// The process's id (benchmarks read its memory from `/proc`).
    pub pid: Option<u32>,
    _kill: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Instance {
    /// Starts the process and waits until it asks for its first event (init done).
    pub async fn start(config: &FunctionConfig) -> Result<Instance, InvokeError> {
        let function = config.logical_id.clone();
        let (sender, receiver) = mpsc::channel(1);
        let (ready, mut ready_rx) = watch::channel(false);
        let api = Arc::new(RuntimeApi {
            function_arn: format!(
                "arn:aws:lambda:{}:000000000000:function:{}",
                config
                    .local
                    .variables
                    .get("AWS_REGION")
                    .map(String::as_str)
                    .unwrap_or("ap-northeast-1"),
                config.function_name
            ),
            queue: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            ready,
            init_error: Mutex::new(None),
        });
        let spawn_error = |reason: String| InvokeError::Spawn {
            function: function.clone(),
            binary: config.binary.display().to_string(),
            reason,
        };
        if !config.binary.is_file() {
            return Err(spawn_error(
                "no such binary; build the functions first (cargo build --workspace --bins)"
                    .to_owned(),
            ));
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| spawn_error(format!("no port for its Runtime API: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| spawn_error(e.to_string()))?;
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let started = Instant::now();
        let mut child = tokio::process::Command::new(&config.binary)
            .env_clear()
            .envs(config.process_environment(&address.to_string()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error(e.to_string()))?;
        let pid = child.id();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            let echo = config.echo_output.then(|| config.logical_id.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(name) = &echo {
                        eprintln!("[{name}] {line}");
                    }
                    let mut kept = lock(&output);
                    kept.push_str(&line);
                    kept.push('\n');
                    if kept.len() > LOG_TAIL_BYTES {
                        let cut = kept.len() - LOG_TAIL_BYTES;
                        let cut = (cut..kept.len())
                            .find(|i| kept.is_char_boundary(*i))
                            .unwrap_or(0);
                        kept.drain(..cut);
                    }
                }
            });
        }
        let (kill, kill_rx) = oneshot::channel::<()>();
        let (exited_tx, exited) = watch::channel(false);
        tokio::spawn(async move {
            tokio::select! {
                _ = child.wait() => {}
                _ = kill_rx => { let _ = child.kill().await; }
            }
            exited_tx.send_replace(true);
        });

        let mut exited_rx = exited.clone();
        let outcome = tokio::time::timeout(INIT_TIMEOUT, async {
            tokio::select! {
                _ = ready_rx.wait_for(|ready| *ready) => Ok(()),
                _ = exited_rx.wait_for(|exited| *exited) => Err(()),
            }
        })
        .await;
        let init_duration = started.elapsed();
        let failure = |reason: String| {
            // Give the output readers a moment to drain what the process printed last.
            let output = output.clone();
            let function = function.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                InvokeError::Init {
                    function,
                    reason,
                    output: lock(&output).clone(),
                }
            }
        };
        match outcome {
            Ok(Ok(())) => Ok(Instance {
                function: function.clone(),
                invocations: sender,
                exited,
                output,
                init_duration,
                pid,
                _kill: kill,
                server,
            }),
            Ok(Err(())) => {
                let reported = lock(&api.init_error).clone();
                Err(failure(reported.unwrap_or_else(|| "the process exited".to_owned())).await)
            }
            Err(_) => Err(failure(format!("not ready within {} s", INIT_TIMEOUT.as_secs())).await),
        }
    }

    /// One invocation: the event in, the function's answer out.
    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
        timeout: Duration,
    ) -> Result<serde_json::Value, InvokeError> {
        let (outcome_tx, outcome_rx) = oneshot::channel();
        let deadline = std::time::SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default();
        let invocation = Invocation {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload: Bytes::from(payload.to_string()),
            deadline_ms,
            outcome: outcome_tx,
        };
        let crashed = || InvokeError::Crashed {
            function: self.function.clone(),
            output: lock(&self.output).clone(),
        };
        self.invocations
            .send(invocation)
            .await
            .map_err(|_| crashed())?;
        let mut exited = self.exited.clone();
        let outcome = tokio::time::timeout(timeout, async {
            tokio::select! {
                outcome = outcome_rx => outcome.ok(),
                _ = exited.wait_for(|exited| *exited) => None,
            }
        })
        .await
        .map_err(|_| InvokeError::Timeout {
            function: self.function.clone(),
            seconds: timeout.as_secs(),
        })?;
        match outcome {
            Some(Outcome::Response(body)) => {
                serde_json::from_slice(&body).map_err(|e| InvokeError::Function {
                    function: self.function.clone(),
                    error_type: "Runtime.InvalidResponse".to_owned(),
                    error_message: format!("the response is not JSON: {e}"),
                })
            }
            Some(Outcome::Error(body)) => {
                let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                Err(InvokeError::Function {
                    function: self.function.clone(),
                    error_type: error["errorType"].as_str().unwrap_or("Unknown").to_owned(),
                    error_message: error["errorMessage"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned()),
                })
            }
            None => Err(crashed()),
        }
    }

    pub fn has_exited(&self) -> bool {
        *self.exited.borrow()
    }

    /// Everything the process printed so far (the last 64 KiB).
    pub fn output(&self) -> String {
        lock(&self.output).clone()
    }
}

/// A function's processes: idle ones are reused, new ones start while all are busy.
pub struct FunctionPool {
    pub config: FunctionConfig,
    idle: Mutex<Vec<Instance>>,
    capacity: Semaphore,
}

impl FunctionPool {
    pub fn new(config: FunctionConfig, max_processes: usize) -> Self {
        FunctionPool {
            config,
            idle: Mutex::new(Vec::new()),
            capacity: Semaphore::new(max_processes.max(1)),
        }
    }

    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        let _permit = self
            .capacity
            .acquire()
            .await
            .map_err(|_| InvokeError::Crashed {
                function: self.config.logical_id.clone(),
                output: String::new(),
            })?;
        let idle = lock(&self.idle).pop();
        let instance = match idle {
            Some(instance) if !instance.has_exited() => instance,
            _ => Instance::start(&self.config).await?,
        };
        let result = instance.invoke(payload, self.config.timeout).await;
        // Lambda discards an environment that timed out or crashed.
        if result.is_ok() || matches!(result, Err(InvokeError::Function { .. })) {
            lock(&self.idle).push(instance);
        }
        result
    }

    /// Everything the pool's idle processes printed (for tests that read the logs).
    pub fn output(&self) -> String {
        lock(&self.idle)
            .iter()
            .map(Instance::output)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Where `cargo build` puts the workspace's binaries (`target/debug` unless told).
pub fn binaries_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TESSERA_FUNCTION_BINARIES") {
        return PathBuf::from(dir);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        });
    target.join("debug")
}
