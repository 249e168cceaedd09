//! Support for end-to-end tests: each test provisions a stack of its own (table, buckets,
//! queues named after a fresh stack name) in the local AWS, so tests run in parallel and
//! never see each other's data.

use axum::body::Body;
use axum::http::{Request, Response};
use axum::Router;
use tessera_dev::provision::{provision, LocalAws, Provisioned};
use tessera_dev::template::{StackContext, Template};
use tower::ServiceExt;

pub mod faults;

pub struct TestStack {
    pub aws: LocalAws,
    pub template: Template,
    pub provisioned: Provisioned,
}

/// Where `tessera-dev up` serves the console, and so the one origin the local API's CORS
/// admits.
pub const CONSOLE_ORIGIN: &str = tessera_dev::console::LOCAL_CONSOLE_ORIGIN;

impl TestStack {
    /// Provisions a new stack from `infra/template.yaml` under a unique name.
    pub async fn provision() -> TestStack {
        require_local_aws();
        let stack_name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        // Ticket links lead to the local gateway, as `tessera-dev up` serves it; callbacks
        // may reach the tests' receivers on this machine, as a local stack's may.
        let context = StackContext::named(&stack_name)
            .with_parameter("PublicUrl", "http://localhost:3000")
            .with_parameter("CallbackTargets", "any")
            .with_parameter("ConsoleOrigin", CONSOLE_ORIGIN)
            .with_parameter(
                "ConsoleConnectSources",
                tessera_dev::console::LOCAL_CONNECT_SOURCES,
            );
        let template = Template::load_default(&context).expect("infra/template.yaml parses");
        let aws = LocalAws::from_env().await;
        let provisioned = provision(&aws, &template)
            .await
            .unwrap_or_else(|e| panic!("provisioning {stack_name} failed: {e}"));
        TestStack {
            aws,
            template,
            provisioned,
        }
    }
}

/// Tests that store talk to the emulators `localstack/test.sh` starts; say so plainly
/// instead of failing with a connection error.
pub fn require_local_aws() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok()
            && std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "the local AWS is not configured: run the tests with localstack/test.sh"
    );
}

/// Sends one request through a router, as the gateway or Lambda would.
pub async fn send(router: &Router, request: Request<Body>) -> Response<Body> {
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let response = router
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    status_log::record(method.as_str(), &path, response.status().as_u16());
    response
}

/// The answers the tests met, for `tessera-dev status-coverage` (see
/// `tessera_dev::status_coverage`): one line per request into a file of this process
/// under the directory `TESSERA_STATUS_LOG_DIR` names, when it names one.
mod status_log {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    static LOG: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();

    pub fn record(method: &str, path: &str, status: u16) {
        let log = LOG.get_or_init(|| {
            let directory = std::env::var(tessera_dev::status_coverage::LOG_DIR_VARIABLE).ok()?;
            std::fs::create_dir_all(&directory).ok()?;
            let file = std::path::Path::new(&directory).join(format!(
                "{}-{}.log",
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .unwrap_or_default(),
                std::process::id()
            ));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .unwrap_or_else(|e| panic!("the status log {}: {e}", file.display()));
            Some(Mutex::new(file))
        });
        if let Some(file) = log {
            let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            writeln!(file, "{method} {path} {status}").expect("the status log is writable");
        }
    }
}

pub async fn body_json(response: Response<Body>) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body readable");
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    })
}

pub async fn body_text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .expect("body readable");
    String::from_utf8(bytes.to_vec()).expect("body is UTF-8")
}

/// What each QR code drawn on a page holds (`tessera_platform::render::qr_svg`): its
/// squares back into a bitmap, read by rqrr.
pub fn qr_payloads(html: &str) -> Vec<String> {
    let mut payloads = Vec::new();
    for svg in html.split("<svg class=\"qr\"").skip(1) {
        let view_box = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
        let size: usize = view_box.split(' ').next().unwrap().parse().unwrap();
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut dark = vec![false; size * size];
        for square in path.split('M').filter(|s| !s.is_empty()) {
            let xy = square.trim_end_matches("h1v1h-1z");
            let (x, y) = xy.split_once(' ').unwrap();
            dark[y.parse::<usize>().unwrap() * size + x.parse::<usize>().unwrap()] = true;
        }
        let scale = 4;
        let mut image =
            rqrr::PreparedImage::prepare_from_bitmap(size * scale, size * scale, |x, y| {
                dark[(y / scale) * size + x / scale]
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code per drawing");
        let (_, content) = grids[0].decode().expect("the QR code reads");
        payloads.push(content);
    }
    payloads
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .body(Body::empty())
        .expect("valid request")
}

/// The instant tests start at: 10:00 Taipei, 30 November 2026.
pub fn test_start() -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 30, 2, 0, 0)
        .single()
        .expect("valid instant")
}

pub const TEST_SIGNING_KEY: &str = "test-signing-key-0123456789abcdef0123456789";

impl TestStack {
    /// The services a function gets, on a clock the test controls.
    pub fn services(
        &self,
        clock: std::sync::Arc<tessera_domain::clock::FixedClock>,
    ) -> tessera_platform::services::Services {
        // The functions' own constructor over the stack's variables; the signing key is the
        // tests' (tokens are signed and checked with it).
        tessera_dev::deployed::stack_services(&self.aws, &self.template, &self.provisioned, clock)
            .expect("the stack's variables build its services")
            .with_signing_keys(
                tessera_platform::session::SigningKey::new(TEST_SIGNING_KEY.as_bytes().to_vec())
                    .expect("test key is long enough")
                    .into(),
            )
    }

    /// As [`TestStack::services`], with every AWS call through `proxy`.
    pub fn services_through(
        &self,
        clock: std::sync::Arc<tessera_domain::clock::FixedClock>,
        proxy: &faults::FaultProxy,
    ) -> tessera_platform::services::Services {
        tessera_dev::deployed::stack_services_over(
            &proxy.sdk_config(&self.aws.config),
            &self.template,
            &self.provisioned,
            clock,
        )
        .expect("the stack's variables build its services")
        .with_signing_keys(
            tessera_platform::session::SigningKey::new(TEST_SIGNING_KEY.as_bytes().to_vec())
                .expect("test key is long enough")
                .into(),
        )
    }

    /// What the queue consumers are built from, as the gateway builds it.
    pub fn handler_context(
        &self,
        clock: std::sync::Arc<tessera_domain::clock::FixedClock>,
    ) -> tessera_dev::functions::HandlerContext {
        tessera_dev::functions::HandlerContext {
            services: self.services(clock),
            ses: self.aws.ses.clone(),
            sns: self.aws.sns.clone(),
            mail_from: self
                .template
                .mail_from()
                .expect("the template declares an SES identity"),
        }
    }

    /// The local gateway's router over this stack: every function, behind the authorizer.
    pub fn gateway(&self, clock: std::sync::Arc<tessera_domain::clock::FixedClock>) -> Router {
        self.gateway_over(self.services(clock))
    }

    /// The gateway's router with its functions on `services`.
    pub fn gateway_over(&self, services: tessera_platform::services::Services) -> Router {
        let state = tessera_dev::gateway::GatewayState::new(
            self.aws.clone(),
            &self.template,
            self.provisioned.clone(),
            services,
        )
        .expect("gateway state");
        tessera_dev::gateway::router(state)
    }
}

/// A JSON request, optionally with a bearer token.
pub fn json_request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("user-agent", "tessera-tests/1.0")
        .header("x-forwarded-for", "203.0.113.7");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
        .body(Body::from(body.to_string()))
        .expect("valid request")
}

/// A JSON request with a bearer token and an `Idempotency-Key` of its own.
pub fn with_new_key(
    method: &str,
    uri: &str,
    token: &str,
    body: serde_json::Value,
) -> Request<Body> {
    let mut request = json_request(method, uri, Some(token), body);
    request.headers_mut().insert(
        "idempotency-key",
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .parse()
            .expect("a header value"),
    );
    request
}

/// A bodiless request with a bearer token.
pub fn authed(method: &str, uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("valid request")
}

/// A provisioned stack with the demo data, its clock, and the gateway in front of it: what
/// an end-to-end test talks to.
pub struct Seeded {
    pub stack: TestStack,
    pub clock: std::sync::Arc<tessera_domain::clock::FixedClock>,
    pub services: tessera_platform::services::Services,
    pub gateway: Router,
    /// The table stream's event source into the publisher, made at first use.
    outbox: tokio::sync::OnceCell<tessera_dev::streams::StreamSource>,
}

pub async fn seeded() -> Seeded {
    let stack = TestStack::provision().await;
    let clock = std::sync::Arc::new(tessera_domain::clock::FixedClock::at(test_start()));
    let services = stack.services(clock.clone());
    tessera_dev::seed::seed_demo(&services)
        .await
        .expect("demo data seeds");
    let gateway = stack.gateway(clock.clone());
    Seeded {
        stack,
        clock,
        services,
        gateway,
        outbox: tokio::sync::OnceCell::new(),
    }
}

impl TestStack {
    /// The event source of the template's stream mapping into `logical_id`, reading this
    /// stack's table from the start of its stream.
    pub async fn stream_source(&self, logical_id: &str) -> tessera_dev::streams::StreamSource {
        tessera_dev::gateway::stream_sources(&self.aws, &self.template, &self.provisioned)
            .await
            .expect("the stream sources start")
            .into_iter()
            .find(|(id, _)| id == logical_id)
            .map(|(_, source)| source)
            .unwrap_or_else(|| panic!("{logical_id} reads no stream"))
    }
}

/// One request through a router: status and JSON body (null when empty).
pub async fn call(router: &Router, request: Request<Body>) -> (u16, serde_json::Value) {
    let response = send(router, request).await;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
        .await
        .expect("body readable");
    // A page (HTML) comes back as a JSON string, so callers compare any answer alike.
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        })
    };
    (status, body)
}

/// Signs in through a router and returns the bearer token.
pub async fn sign_in(router: &Router, merchant: &str, account: &str, password: &str) -> String {
    let body =
        serde_json::json!({"merchant_id": merchant, "account": account, "password": password});
    let (status, session) = call(router, json_request("POST", "/sessions", None, body)).await;
    assert_eq!(status, 201, "{session}");
    session["token"].as_str().expect("token").to_owned()
}

/// Hands what waits on a queue to `handler` until the queue is empty, as the SQS event
/// source mapping does; how many messages it took.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    handler: &tessera_dev::functions::QueueHandler,
) -> usize {
    let mut total = 0;
    loop {
        let taken = tessera_dev::gateway::poll_once(sqs, queue_url, handler, 0)
            .await
            .unwrap_or_else(|e| panic!("{queue_url}: {e}"));
        if taken == 0 {
            return total;
        }
        total += taken;
    }
}

impl Seeded {
    /// One request through the gateway: status and JSON body (null when empty).
    pub async fn call(&self, request: Request<Body>) -> (u16, serde_json::Value) {
        call(&self.gateway, request).await
    }

    /// The queue consumer of a function of the template, as Lambda would call it.
    pub fn handler(&self, logical_id: &str) -> tessera_dev::functions::QueueHandler {
        tessera_dev::functions::queue_handler(
            &self.stack.handler_context(self.clock.clone()),
            logical_id,
        )
        .unwrap_or_else(|| panic!("{logical_id} consumes no queue"))
    }

    /// Runs a function's consumer over its queue until the queue is empty; how many
    /// messages it took.
    pub async fn drain(&self, queue: &str, logical_id: &str) -> usize {
        let url = &self.stack.provisioned.queue_urls[queue];
        drain(&self.stack.aws.sqs, url, &self.handler(logical_id)).await
    }

    /// Runs the outbox publisher over what the table's stream carries since the last
    /// call, as the event source mapping would (in-process, on the test's clock).
    pub async fn publish(&self) -> tessera_dev::streams::PollOutcome {
        let source = self
            .outbox
            .get_or_init(|| self.stack.stream_source("PublishFunction"))
            .await;
        let context = self.stack.handler_context(self.clock.clone());
        let (_, handler) = tessera_dev::functions::stream_handlers(&context)
            .expect("the publisher's resources")
            .into_iter()
            .find(|(id, _)| *id == "PublishFunction")
            .expect("the publisher has a stream handler");
        let outcome = source.poll_once(&handler).await.expect("the stream reads");
        assert_eq!(
            outcome.retrying + outcome.dead_lettered,
            0,
            "the publisher failed: {outcome:?}"
        );
        outcome
    }

    /// Publishes the outbox, then runs the notify consumer until its queue is empty: every
    /// notification requested so far is sent. How many queue messages it took.
    pub async fn deliver_notifications(&self) -> usize {
        self.publish().await;
        self.drain("NotificationsQueue", "NotifyFunction").await
    }

    /// Every item of the table, as text, in key order: two snapshots compare equal when
    /// nothing changed. The public routes' request counters are left out: they count every
    /// request, a rate limit rather than a change.
    pub async fn snapshot(&self) -> std::collections::BTreeMap<String, String> {
        use std::collections::BTreeMap;
        let table = &self.services.table;
        let mut items = BTreeMap::new();
        let mut start = None;
        loop {
            let page = table
                .client
                .scan()
                .table_name(&table.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("the table scans");
            for item in page.items.unwrap_or_default() {
                let key = format!("{:?} {:?}", item.get("PK"), item.get("SK"));
                if key.contains("RATE#") {
                    continue;
                }
                let sorted: BTreeMap<_, _> = item
                    .iter()
                    .map(|(k, v)| (k.clone(), canonical(v)))
                    .collect();
                items.insert(key, format!("{sorted:?}"));
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// Signs in a platform operator (`ops`, or the read-only `auditor`) and returns the
    /// bearer token.
    pub async fn operator_token(&self, account: &str) -> String {
        let body = serde_json::json!({"account": account, "password": tessera_dev::seed::OPERATOR_PASSWORD});
        let (status, session) = self
            .call(json_request("POST", "/operator/sessions", None, body))
            .await;
        assert_eq!(status, 201, "{session}");
        session["token"].as_str().expect("token").to_owned()
    }

    /// Signs in and returns the bearer token.
    pub async fn token(&self, merchant: &str, account: &str, password: &str) -> String {
        sign_in(&self.gateway, merchant, account, password).await
    }
}

/// One row of an issuance file, typed: what a test wants issued (the file's columns are the
/// sheet crate's business).
#[derive(Debug, Clone)]
pub struct IssueRow {
    pub import_no: String,
    pub trade_no: Option<String>,
    pub product_id: String,
    pub quantity: u32,
    pub buyer_name: String,
    pub buyer_mobile: String,
    pub buyer_email: Option<String>,
    pub remark: Option<String>,
}

impl IssueRow {
    /// `quantity` tickets of `product_id` under `import_no`, for 王小明 (0912345678).
    pub fn new(import_no: &str, product_id: &str, quantity: u32) -> IssueRow {
        IssueRow {
            import_no: import_no.to_owned(),
            trade_no: None,
            product_id: product_id.to_owned(),
            quantity,
            buyer_name: "王小明".to_owned(),
            buyer_mobile: "0912345678".to_owned(),
            buyer_email: None,
            remark: None,
        }
    }

    /// Issued against the paid order `trade_no` (goods vouchers need one).
    pub fn paid_by(mut self, trade_no: &str) -> IssueRow {
        self.trade_no = Some(trade_no.to_owned());
        self
    }

    pub fn mailed_to(mut self, email: &str) -> IssueRow {
        self.buyer_email = Some(email.to_owned());
        self
    }

    /// The row's cells, in the template's column order.
    pub fn cells(&self) -> [String; 8] {
        [
            self.import_no.clone(),
            self.trade_no.clone().unwrap_or_default(),
            self.product_id.clone(),
            self.quantity.to_string(),
            self.buyer_name.clone(),
            self.buyer_mobile.clone(),
            self.buyer_email.clone().unwrap_or_default(),
            self.remark.clone().unwrap_or_default(),
        ]
    }
}

impl Seeded {
    /// Records a paid order (`POST /orders`) for `quantity` tickets of a product.
    pub async fn record_order(
        &self,
        token: &str,
        trade_no: &str,
        product_id: &str,
        amount: u64,
        quantity: u32,
    ) {
        let body = serde_json::json!({
            "trade_no": trade_no, "product_id": product_id, "amount": amount, "quantity": quantity,
            "cardholder_name": "王小明", "cardholder_mobile": "0912345678", "paid_at": test_start()
        });
        let (status, order) = self
            .call(json_request("POST", "/orders", Some(token), body))
            .await;
        assert_eq!(status, 201, "{order}");
    }

    /// Issues `rows` the way a merchant does (the file uploaded, confirmed, the batch
    /// worker run) as `token` of `merchant`, delivered by `method`: each row's tickets, by
    /// ticket number.
    pub async fn issue(
        &self,
        token: &str,
        merchant: &str,
        method: &str,
        rows: &[IssueRow],
    ) -> Vec<Vec<tessera_platform::store::tickets::Ticket>> {
        self.issue_with(
            token,
            merchant,
            serde_json::json!({"delivery_method": method}),
            rows,
        )
        .await
    }

    /// As [`Seeded::issue`], with the upload request's fields given whole (the file's size
    /// is added): e.g. a non-immediate batch's `valid_from`.
    pub async fn issue_with(
        &self,
        token: &str,
        merchant: &str,
        upload: serde_json::Value,
        rows: &[IssueRow],
    ) -> Vec<Vec<tessera_platform::store::tickets::Ticket>> {
        let cells: Vec<[String; 8]> = rows.iter().map(IssueRow::cells).collect();
        let file = tessera_sheets::issuance_template(&cells).expect("an issuance file");
        let mut body = upload;
        body["size"] = serde_json::json!(file.len());
        let (status, upload) = self
            .call(json_request("POST", "/issuance/uploads", Some(token), body))
            .await;
        assert_eq!(status, 201, "{upload}");
        let url = upload["upload_url"].as_str().expect("an upload URL");
        let content_type = upload["content_type"].as_str().expect("a content type");
        assert_eq!(put_to(url, content_type, &file).await, 200);
        let id = upload["upload_id"].as_str().expect("an upload id");
        let confirm = format!("/issuance/uploads/{id}/confirm");
        let (status, batch) = self
            .call(json_request(
                "POST",
                &confirm,
                Some(token),
                serde_json::json!({}),
            ))
            .await;
        assert_eq!(status, 202, "{batch}");
        // The confirmation's event queues the batch (the outbox).
        self.publish().await;
        self.drain("BatchIssueQueue", "BatchIssueFunction").await;
        let (status, batch) = self
            .call(authed("GET", &format!("/issuance/batches/{id}"), token))
            .await;
        assert_eq!(
            (status, batch["status"].as_str()),
            (200, Some("done")),
            "{batch}"
        );
        let merchant =
            tessera_domain::values::MerchantId::parse("m", merchant).expect("a merchant id");
        let mut issued = Vec::new();
        for row in rows {
            let tickets = self
                .services
                .table
                .tickets_of_issued_order(&merchant, &row.import_no)
                .await
                .expect("tickets readable");
            assert_eq!(tickets.len(), row.quantity as usize, "{}", row.import_no);
            issued.push(tickets);
        }
        issued
    }
}

/// `Deref` to the `Seeded` in the `base` field of a test's world that carries more.
#[macro_export]
macro_rules! deref_to_seeded {
    ($world:ty) => {
        impl std::ops::Deref for $world {
            type Target = $crate::Seeded;
            fn deref(&self) -> &$crate::Seeded {
                &self.base
            }
        }
    };
}

/// Declares a test file's `World`: a [`Seeded`] stack that the file can give methods of its
/// own (`impl World { … }`), and `world()` to make one.
#[macro_export]
macro_rules! seeded_world {
    () => {
        struct World($crate::Seeded);

        impl std::ops::Deref for World {
            type Target = $crate::Seeded;
            fn deref(&self) -> &$crate::Seeded {
                &self.0
            }
        }

        async fn world() -> World {
            World($crate::seeded().await)
        }
    };
}

/// The `field` of every violation in a problem+json body, in order.
/// A product as `GET /products/{id}` shows it, made into a `PUT` body: without the fields
/// the platform keeps itself (id, listing, first issue, times).
pub fn product_edit_body(mut view: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = view.as_object_mut() {
        for kept in [
            "product_id",
            "listed",
            "first_issued_at",
            "created_at",
            "updated_at",
        ] {
            fields.remove(kept);
        }
    }
    view
}

pub fn error_fields(problem: &serde_json::Value) -> Vec<String> {
    listed(&problem["errors"], "field")
}

/// The `action` of every entry of a history list, oldest first.
pub fn history_actions(history: &serde_json::Value) -> Vec<String> {
    listed(&history["items"], "action")
}

fn listed(items: &serde_json::Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item[key].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every mail the emulator (moto's SES) has accepted for `address`: (subject, body). The
/// emulator's state dump is read again if a busy emulator answers it with something that
/// is not JSON (its dump races with concurrent writes).
pub async fn mail_to(address: &str) -> Vec<(String, String)> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("local AWS is configured");
    let mut data = serde_json::Value::Null;
    for _ in 0..5 {
        let output = tokio::process::Command::new("curl")
            .arg("-s")
            .arg(format!("{endpoint}/moto-api/data.json"))
            .output()
            .await
            .expect("curl runs");
        if let Ok(parsed) = serde_json::from_slice(&output.stdout) {
            data = parsed;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to| to.iter().any(|a| a == address))
        })
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or_default().to_owned(),
                m["body"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// PUTs bytes to a presigned URL as a browser would; returns the HTTP status.
pub async fn put_to(url: &str, content_type: &str, bytes: &[u8]) -> u16 {
    let path = std::env::temp_dir().join(format!("upload-{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).expect("temp file");
    let output = tokio::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-X",
            "PUT",
            "-H",
        ])
        .arg(format!("Content-Type: {content_type}"))
        .arg("--data-binary")
        .arg(format!("@{}", path.display()))
        .arg(url)
        .output()
        .await
        .expect("curl runs");
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&output.stdout).parse().unwrap_or(0)
}

/// GETs a (presigned) URL's body.
pub async fn get_bytes(url: &str) -> Vec<u8> {
    tokio::process::Command::new("curl")
        .args(["-s", url])
        .output()
        .await
        .expect("curl runs")
        .stdout
}

/// The keys of the items that differ between two [`Seeded::snapshot`]s: changed, added or
/// gone.
pub fn changed_items(
    before: &std::collections::BTreeMap<String, String>,
    after: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
        .collect()
}

/// An attribute value as text that does not depend on a map's iteration order.
fn canonical(value: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use std::collections::{BTreeMap, BTreeSet};
    match value {
        A::M(map) => {
            let sorted: BTreeMap<_, _> =
                map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect();
            format!("M{sorted:?}")
        }
        A::L(list) => format!("L{:?}", list.iter().map(canonical).collect::<Vec<_>>()),
        A::Ss(set) | A::Ns(set) => {
            let sorted: BTreeSet<_> = set.iter().collect();
            format!("SET{sorted:?}")
        }
        other => format!("{other:?}"),
    }
}
