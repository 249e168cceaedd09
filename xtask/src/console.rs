//! The merchant console (web/): publishing a build to the stack's console bucket, and, for
//! the local stack, serving that bucket the way the template's CloudFront distribution does
//! (the same files, the same security headers, a screen's address answered with
//! index.html), so what runs locally is what deploys.

use aws_sdk_s3::primitives::ByteStream;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The logical id of the console's bucket in the template.
pub const CONSOLE_BUCKET: &str = "ConsoleBucket";

/// Where `tessera-dev up` serves the console by default: the origin a local stack's API
/// and buckets admit (the template's `ConsoleOrigin`).
pub const LOCAL_CONSOLE_ORIGIN: &str = "http://localhost:3001";

/// What the local console's pages connect to (the template's `ConsoleConnectSources`): the
/// gateway and the emulators, over http on this machine.
pub const LOCAL_CONNECT_SOURCES: &str = "http://localhost:* http://127.0.0.1:*";

/// `web/dist`, where `npm run build` puts the console.
pub fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist")
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Files under `assets/` carry a content hash in their names and never change; the page
/// and its configuration must be fetched afresh so that a new release is seen at once.
fn cache_control(key: &str) -> &'static str {
    if key.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Uploads the built console under `dist` to `bucket`, and its `config.json` naming the
/// API at `api_url`. Returns how many files were stored.
pub async fn publish(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    dist: &Path,
    api_url: &str,
) -> Result<usize, String> {
    if !dist.join("index.html").is_file() {
        return Err(format!(
            "the console is not built ({} has no index.html): run `npm --prefix web ci && npm --prefix web run build`",
            dist.display()
        ));
    }
    let mut files = Vec::new();
    collect(dist, dist, &mut files)?;
    let mut stored = 0;
    for (key, path) in files {
        if key == "config.json" {
            continue;
        }
        let body = ByteStream::from_path(&path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        put(s3, bucket, &key, body, content_type(&path)).await?;
        stored += 1;
    }
    let config = serde_json::json!({ "api_url": api_url }).to_string();
    put(
        s3,
        bucket,
        "config.json",
        ByteStream::from(config.into_bytes()),
        "application/json",
    )
    .await?;
    Ok(stored + 1)
}

async fn put(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: ByteStream,
    content_type: &str,
) -> Result<(), String> {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .content_type(content_type)
        .cache_control(cache_control(key))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            format!(
                "cannot store {key} in {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let key = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((key, path));
        }
    }
    Ok(())
}

/// What the local console server needs: the bucket and the distribution's headers.
#[derive(Clone)]
pub struct ConsoleServer {
    s3: aws_sdk_s3::Client,
    bucket: String,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl ConsoleServer {
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: &str,
        headers: &[(String, String)],
    ) -> Result<ConsoleServer, String> {
        let headers = headers
            .iter()
            .map(|(name, value)| {
                Ok((
                    HeaderName::try_from(name.as_str())
                        .map_err(|e| format!("console header {name}: {e}"))?,
                    HeaderValue::try_from(value.as_str())
                        .map_err(|e| format!("console header {name}: {e}"))?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ConsoleServer {
            s3,
            bucket: bucket.to_owned(),
            headers: Arc::new(headers),
        })
    }

    pub fn router(self) -> Router {
        Router::new().fallback(serve).with_state(self)
    }
}

/// As the distribution: GET and HEAD only; the object at the path (the root is
/// index.html); a missing object is index.html with 200 (a screen's own address).
async fn serve(State(server): State<ConsoleServer>, request: Request) -> Response {
    let method = request.method().clone();
    let mut response = if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        plain(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only")
    } else {
        let path = request.uri().path().trim_start_matches('/');
        let key = if path.is_empty() { "index.html" } else { path };
        match fetch(&server, key).await {
            Ok(Some(found)) => found,
            Ok(None) => match fetch(&server, "index.html").await {
                Ok(Some(index)) => index,
                Ok(None) => plain(
                    StatusCode::NOT_FOUND,
                    "the console is not published: run ./localstack/up.sh (it builds and publishes web/)",
                ),
                Err(problem) => plain(StatusCode::BAD_GATEWAY, &problem),
            },
            Err(problem) => plain(StatusCode::BAD_GATEWAY, &problem),
        }
    };
    for (name, value) in server.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    if method == axum::http::Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    response
}

async fn fetch(server: &ConsoleServer, key: &str) -> Result<Option<Response>, String> {
    match server
        .s3
        .get_object()
        .bucket(&server.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(object) => {
            let content_type = object
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_owned();
            let cache = object.cache_control().unwrap_or("no-cache").to_owned();
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| format!("reading {key}: {e}"))?
                .into_bytes();
            let mut response = Response::new(Body::from(bytes));
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::try_from(content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if let Ok(value) = HeaderValue::try_from(cache) {
                headers.insert(header::CACHE_CONTROL, value);
            }
            Ok(Some(response))
        }
        Err(error) => {
            let missing = error.as_service_error().is_some_and(|e| e.is_no_such_key());
            if missing {
                Ok(None)
            } else {
                Err(format!(
                    "the console bucket could not be read: {}",
                    aws_sdk_s3::error::DisplayErrorContext(error)
                ))
            }
        }
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
