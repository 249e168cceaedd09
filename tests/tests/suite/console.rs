//! The merchant console as the stack serves it: published into its bucket and served the way
//! the template's CloudFront distribution does (its security headers, a screen's address
//! answered with the app), and the API's CORS admitting that origin and no other.

use axum::body::Body;
use axum::http::Request;
use tessera_dev::console::{self, ConsoleServer, CONSOLE_BUCKET};
use tessera_tests::{body_text, send, TestStack, CONSOLE_ORIGIN};

fn clock() -> std::sync::Arc<tessera_domain::clock::FixedClock> {
    std::sync::Arc::new(tessera_domain::clock::FixedClock::at(
        tessera_tests::test_start(),
    ))
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_console_is_published_to_its_bucket_and_served_as_the_distribution_serves_it() {
    let stack = TestStack::provision().await;
    let bucket = &stack.provisioned.buckets[CONSOLE_BUCKET];
    let dist = std::env::temp_dir().join(format!("console-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>console</title>",
    )
    .unwrap();
    std::fs::write(dist.join("assets/app-1a2b.js"), "console.log(1)").unwrap();
    // A build's own config.json is replaced by the stack's.
    std::fs::write(dist.join("config.json"), r#"{"api_url":"http://wrong"}"#).unwrap();

    let unbuilt = console::publish(&stack.aws.s3, bucket, &dist.join("nothing"), "x").await;
    assert!(unbuilt.unwrap_err().contains("npm --prefix web run build"));
    let stored = console::publish(&stack.aws.s3, bucket, &dist, "http://localhost:3000")
        .await
        .unwrap();
    assert_eq!(stored, 3);

    let headers = stack.template.console_headers().unwrap();
    let server = ConsoleServer::new(stack.aws.s3.clone(), bucket, &headers)
        .unwrap()
        .router();

    let page = send(&server, request("GET", "/", &[])).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    assert_eq!(page.headers()["cache-control"], "no-cache");
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(body_text(page).await.contains("<title>console</title>"));

    // A screen's own address is the app (the distribution's 403/404 → /index.html).
    let screen = send(&server, request("GET", "/reports/tickets", &[])).await;
    assert_eq!(screen.status(), 200);
    assert!(body_text(screen).await.contains("<title>console</title>"));

    let script = send(&server, request("GET", "/assets/app-1a2b.js", &[])).await;
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));

    let config = body_text(send(&server, request("GET", "/config.json", &[])).await).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&config).unwrap()["api_url"],
        "http://localhost:3000"
    );
    assert_eq!(send(&server, request("POST", "/", &[])).await.status(), 405);
    std::fs::remove_dir_all(dist).ok();
}

#[tokio::test]
async fn the_api_admits_the_consoles_origin_and_no_other() {
    let stack = TestStack::provision().await;
    let cors = stack.template.cors().unwrap();
    assert_eq!(cors.allow_origins, vec![CONSOLE_ORIGIN.to_owned()]);
    let api = tessera_dev::gateway::with_cors(stack.gateway(clock()), cors);

    let preflight = |origin: &str| {
        request(
            "OPTIONS",
            "/redemptions",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "authorization,content-type,idempotency-key",
                ),
            ],
        )
    };
    let allowed = send(&api, preflight(CONSOLE_ORIGIN)).await;
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        CONSOLE_ORIGIN
    );
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for needed in ["authorization", "content-type", "idempotency-key"] {
        assert!(headers.contains(needed), "{headers}");
    }
    assert!(allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));

    let refused = send(&api, preflight("https://evil.example")).await;
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let answer = send(
        &api,
        request("GET", "/error-codes", &[("origin", CONSOLE_ORIGIN)]),
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        CONSOLE_ORIGIN
    );
    assert!(answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
    let other = send(
        &api,
        request("GET", "/error-codes", &[("origin", "https://evil.example")]),
    )
    .await;
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn the_deployed_api_admits_only_the_consoles_distribution() {
    // Deployed without ConsoleOrigin, the one allowed origin is the distribution's domain
    // (it cannot be resolved before the stack exists, so the raw template is read).
    let text = std::fs::read_to_string(tessera_dev::template::default_path()).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let origins =
        &document["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"];
    let rendered = format!("{origins:?}");
    assert!(!rendered.contains("\"*\""), "{rendered}");
    assert!(
        rendered.contains("ConsoleDistribution.DomainName"),
        "{rendered}"
    );
}

#[test]
fn the_console_bucket_is_private_and_readable_only_by_its_distribution() {
    let text = std::fs::read_to_string(tessera_dev::template::default_path()).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = &document["Resources"];
    let block = &resources[CONSOLE_BUCKET]["Properties"]["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], serde_yaml::Value::Bool(true), "{setting}");
    }
    let statements = resources["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1, "one grant, to the distribution only");
    let grant = &statements[0];
    assert_eq!(grant["Effect"], "Allow");
    assert_eq!(grant["Principal"]["Service"], "cloudfront.amazonaws.com");
    assert_eq!(grant["Action"], "s3:GetObject");
    let source = format!("{:?}", grant["Condition"]["StringEquals"]["AWS:SourceArn"]);
    assert!(
        source.contains("distribution/${ConsoleDistribution}"),
        "{source}"
    );

    let config = &resources["ConsoleDistribution"]["Properties"]["DistributionConfig"];
    let origin = &config["Origins"][0];
    assert!(format!("{:?}", origin["OriginAccessControlId"]).contains("ConsoleOriginAccessControl"));
    let behaviour = &config["DefaultCacheBehavior"];
    assert_eq!(behaviour["ViewerProtocolPolicy"], "redirect-to-https");
    assert!(format!("{:?}", behaviour["AllowedMethods"]).contains("GET"));
    assert!(!format!("{:?}", behaviour["AllowedMethods"]).contains("POST"));
    assert!(format!("{:?}", behaviour["ResponseHeadersPolicyId"])
        .contains("ConsoleResponseHeadersPolicy"));
}

/// A browser's preflight for a PUT to `bucket` from `origin`: the status and the origin the
/// local S3 admits.
async fn upload_preflight(bucket: &str, origin: &str) -> (u16, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("local AWS is configured");
    let output = tokio::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-D", "-", "-X", "OPTIONS"])
        .args(["-H", &format!("Origin: {origin}")])
        .args(["-H", "Access-Control-Request-Method: PUT"])
        .args(["-H", "Access-Control-Request-Headers: content-type"])
        .arg(format!("{endpoint}/{bucket}/upload.xlsx"))
        .output()
        .await
        .expect("curl runs");
    let head = String::from_utf8_lossy(&output.stdout).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let allowed = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .starts_with("access-control-allow-origin:")
                .then(|| line.split_once(':').map(|(_, v)| v.trim().to_owned()))
                .flatten()
        })
        .unwrap_or_default();
    (status, allowed)
}

#[tokio::test]
async fn the_upload_buckets_admit_browser_puts_from_the_console_only() {
    let stack = TestStack::provision().await;
    for bucket in ["UploadsBucket", "AssetsBucket"] {
        let name = &stack.provisioned.buckets[bucket];
        assert_eq!(
            upload_preflight(name, CONSOLE_ORIGIN).await,
            (200, CONSOLE_ORIGIN.to_owned()),
            "{bucket}"
        );
        // Refused: a browser goes on only after a 2xx preflight (the emulator's 403 echoes
        // the origin anyway, which a browser ignores on a failed preflight).
        let (status, _) = upload_preflight(name, "https://evil.example").await;
        assert_eq!(status, 403, "{bucket}");
    }
}
