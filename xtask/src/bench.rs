//! Benchmarks, run against the local AWS in release mode. Each prints lines of the form
//! `<name> <value> <unit>`; later issues add their figures here.

use crate::provision::{provision_table, LocalAws};
use crate::template::{StackContext, Template};
use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use axum::http::Request;
use std::time::{Duration, Instant};
use tessera_platform::store::keys;
use tower::ServiceExt;

pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// Runs every benchmark group, or only the one named (`errors`, `dynamodb`, `sessions`,
/// `issuance`, `redeem`, `export`, `daily`, `cold`, `callbacks`).
pub async fn run(only: Option<&str>) -> Result<(), BenchError> {
    // Quiet unless RUST_LOG asks (bench.sh sets it off by default).
    tessera_platform::telemetry::init();
    let wanted = |group: &str| only.is_none_or(|o| o == group);
    if wanted("errors") {
        error_code_lookup().await?;
    }
    if wanted("dynamodb") {
        dynamodb_put_floor().await?;
    }
    if wanted("sessions") {
        sessions().await?;
    }
    if wanted("issuance") {
        batch_issue().await?;
    }
    if wanted("redeem") {
        redeem().await?;
    }
    if wanted("export") {
        export_100k().await?;
    }
    if wanted("daily") {
        daily_jobs_100k().await?;
    }
    if wanted("cold") {
        cold_init().await?;
    }
    if wanted("callbacks") {
        callbacks().await?;
    }
    Ok(())
}

/// Each function's start to ready: its process spawned with the template's environment
/// until it asks the Runtime API for its first event (init done: configuration read,
/// clients built, the signing key fetched where it has one). The median of five starts,
/// from the binaries `TESSERA_FUNCTION_BINARIES` names (bench.sh: the release build).
async fn cold_init() -> Result<(), BenchError> {
    let template = Template::load_default(
        &StackContext::named(&bench_stack_name())
            .with_parameter("PublicUrl", "http://localhost:3000"),
    )?;
    let aws = LocalAws::from_env().await;
    let provisioned = crate::provision::provision(&aws, &template).await?;
    let values = crate::deployed::resource_values(&template, &provisioned);
    let functions = crate::deployed::DeployedFunctions::new(
        &template,
        &values,
        &crate::lambda_host::binaries_dir(),
        &crate::lambda_host::LocalEnvironment::from_env(),
        false,
    )?;
    for (_, pool) in functions.pools() {
        let mut samples = Vec::with_capacity(5);
        for _ in 0..5 {
            let instance = crate::lambda_host::Instance::start(&pool.config).await?;
            samples.push(instance.init_duration);
        }
        samples.sort();
        let binary = pool
            .config
            .binary
            .file_name()
            .map(|name| name.to_string_lossy().replace('-', "_"))
            .unwrap_or_default();
        report_ms(&format!("cold_init_{binary}"), percentile(&samples, 50.0));
    }
    Ok(())
}

fn report(name: &str, value: f64, unit: &str) {
    println!("{name} {value:.3} {unit}");
}

fn report_ms(name: &str, duration: Duration) {
    report(name, duration.as_secs_f64() * 1e3, "ms");
}

/// `{prefix}_p50` and `{prefix}_p99` of sorted samples, in milliseconds.
fn report_latency(prefix: &str, sorted: &[Duration]) {
    report_ms(&format!("{prefix}_p50"), percentile(sorted, 50.0));
    report_ms(&format!("{prefix}_p99"), percentile(sorted, 99.0));
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
    let aws = LocalAws::from_env().await;
    let table = empty_table(&aws).await?;
    let mut samples = Vec::with_capacity(1000);
    for i in 0..1000 {
        let started = Instant::now();
        aws.dynamodb
            .put_item()
            .table_name(&table)
            .item("PK", AttributeValue::S(format!("BENCH#{i}")))
            .item("SK", AttributeValue::S("ITEM".to_owned()))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        samples.push(started.elapsed());
    }
    let _ = aws.dynamodb.delete_table().table_name(&table).send().await;
    samples.sort();
    report_latency("dynamodb_put", &samples);
    Ok(())
}

/// Sign-in (argon2id verification dominates, by design) and the authorizer every protected
/// request passes through (token check + session, account and merchant reads).
async fn sessions() -> Result<(), BenchError> {
    let (_, _, _, services) = bench_stack().await?;
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
    report_ms("sign_in_p50", percentile(&sign_in, 50.0));

    // The authorizer's verdict (token only), then what the function adds: the caller loaded.
    let authenticator = services.authenticator()?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    let mut verdicts = Vec::with_capacity(1000);
    let mut loads = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let started = Instant::now();
        let fields = authenticator.authorize_request(&headers).await;
        verdicts.push(started.elapsed());
        let claims = fields
            .get(tessera_platform::auth::CLAIMS_CONTEXT_KEY)
            .and_then(|v| v.as_str())
            .ok_or("the authorizer refused a fresh token")?;
        let signed_in = tessera_platform::auth::SignedIn {
            claims: serde_json::from_str(claims)?,
        };
        let started = Instant::now();
        signed_in.actor(&services).await?;
        loads.push(started.elapsed());
    }
    verdicts.sort();
    loads.sort();
    report_latency("authorizer", &verdicts);
    report_latency("caller_load", &loads);
    Ok(())
}

/// A stack name of its own, so that benchmarks never share a table.
fn bench_stack_name() -> String {
    format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// A fresh, empty table laid out like the platform's; its name.
async fn empty_table(aws: &LocalAws) -> Result<String, BenchError> {
    let template = bench_template()?;
    provision_table(&aws.dynamodb, &template.table).await?;
    Ok(template.table.name)
}

/// The template a benchmark's tables are made from, without the table's stream: with it,
/// DynamoDB Local's writes to a filled table slowed many times over (the redemption floor's
/// transactions from 2.5 ms to 37-67 ms), where AWS writes stream records aside at no cost
/// to the write; no benchmark reads the stream, and every side of a ratio is measured on
/// the same kind of table.
fn bench_template() -> Result<Template, BenchError> {
    // Ticket links lead to the local gateway (every variable of the stack is resolved).
    let mut template = Template::load_default(
        &StackContext::named(&bench_stack_name())
            .with_parameter("PublicUrl", "http://localhost:3000"),
    )?;
    template.table.stream_view_type = None;
    Ok(template)
}

/// An item's primary key, as one comparable string.
fn item_key(item: &Item) -> String {
    format!("{:?}{:?}", item.get("PK"), item.get("SK"))
}

/// A string attribute of an item ("" when absent).
fn text(item: &Item, key: &str) -> String {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// A provisioned stack with the demo data and services over it.
async fn bench_stack() -> Result<
    (
        LocalAws,
        Template,
        crate::provision::Provisioned,
        tessera_platform::services::Services,
    ),
    BenchError,
> {
    use std::sync::Arc;
    use tessera_platform::services::SystemClock;
    use tessera_platform::session::SigningKey;

    let template = bench_template()?;
    let aws = LocalAws::from_env().await;
    let provisioned = crate::provision::provision(&aws, &template).await?;
    let services =
        crate::deployed::stack_services(&aws, &template, &provisioned, Arc::new(SystemClock))?
            .with_signing_keys(
                SigningKey::new(b"benchmark-signing-key-0123456789abcdef".to_vec())?.into(),
            );
    crate::seed::seed_demo(&services).await?;
    Ok((aws, template, provisioned, services))
}

/// Every item of a table (a bench table is small).
async fn scan_all(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, BenchError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = dynamodb
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// A JSON request to the gateway with the caller's bearer token.
fn api_request(method: &str, uri: &str, token: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, BenchError> {
    let request = api_request(method, uri, token).body(Body::from(body.to_string()))?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 8 << 20).await?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)?;
    if !status.is_success() {
        return Err(format!("{method} {uri}: {status} {value}").into());
    }
    Ok(value)
}

/// A 1000-ticket electronic batch of goods vouchers (1000 paid orders, one ticket each),
/// from the upload to every ticket stored and every notification queued, through the
/// gateway's routes (with the authorizer), S3, SQS and the worker; then the floor: the
/// very items that run stored, written again into an empty table with bare parallel
/// BatchWriteItem calls.
/// Runs of the batch benchmark (`TESSERA_BENCH_BATCH_RUNS`): DynamoDB Local's times for
/// the same writes vary by a fifth from one run to the next, so each figure is the median
/// of several runs, each run's issuance next to its own floors.
fn batch_runs() -> usize {
    std::env::var("TESSERA_BENCH_BATCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(5)
}

/// One run of the batch benchmark: the issuance, its floors and where its time went.
struct BatchFigures {
    elapsed: Duration,
    floor: Duration,
    atomic_floor: Duration,
    atomic_floor_as_found: Duration,
    items: usize,
    atomic_items: usize,
    upload: Duration,
    preview: Duration,
    confirm: Duration,
    worker: Duration,
}

/// How one figure is read from a run.
type BatchFigure = fn(&BatchFigures) -> f64;

async fn batch_issue() -> Result<(), BenchError> {
    let mut runs = Vec::new();
    for _ in 0..batch_runs() {
        runs.push(batch_issue_once().await?);
    }
    let median = |figure: BatchFigure| {
        let mut values: Vec<f64> = runs.iter().map(figure).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    // Each figure's name after `batch_issue_1000`, how a run gives it, and its unit. The
    // last four say where the time went: upload, preview, confirm, worker (receive to
    // notifications requested).
    let figures: [(&str, BatchFigure, &str); 13] = [
        ("", |r| r.elapsed.as_secs_f64(), "s"),
        ("_floor", |r| r.floor.as_secs_f64(), "s"),
        (
            "_ratio",
            |r| r.elapsed.as_secs_f64() / r.floor.as_secs_f64(),
            "x",
        ),
        ("_items", |r| r.items as f64, "items"),
        ("_atomic_floor", |r| r.atomic_floor.as_secs_f64(), "s"),
        (
            "_atomic_ratio",
            |r| r.elapsed.as_secs_f64() / r.atomic_floor.as_secs_f64(),
            "x",
        ),
        (
            "_atomic_floor_as_found",
            |r| r.atomic_floor_as_found.as_secs_f64(),
            "s",
        ),
        (
            "_atomic_as_found_ratio",
            |r| r.elapsed.as_secs_f64() / r.atomic_floor_as_found.as_secs_f64(),
            "x",
        ),
        ("_atomic_items", |r| r.atomic_items as f64, "items"),
        ("_upload", |r| r.upload.as_secs_f64(), "s"),
        ("_preview", |r| r.preview.as_secs_f64(), "s"),
        ("_confirm", |r| r.confirm.as_secs_f64(), "s"),
        ("_worker", |r| r.worker.as_secs_f64(), "s"),
    ];
    for (suffix, figure, unit) in figures {
        report(&format!("batch_issue_1000{suffix}"), median(figure), unit);
    }
    report("batch_issue_1000_runs", runs.len() as f64, "runs");
    Ok(())
}

async fn batch_issue_once() -> Result<BatchFigures, BenchError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};

    let world = bench_world().await?;
    let BenchWorld {
        aws,
        provisioned,
        gateway,
        token,
        ..
    } = &world;
    let product_id = world
        .create_product(serde_json::json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120}))
        .await?;
    let paid_at = chrono::Utc::now() - chrono::Duration::hours(1);
    stream::iter(0..1000)
        .map(|i| {
            let gateway = gateway.clone();
            let token = token.clone();
            let product_id = product_id.clone();
            async move {
                call(&gateway, "POST", "/orders", &token, serde_json::json!({
                    "trade_no": format!("ORD{i:05}"), "product_id": product_id, "amount": 120, "quantity": 1,
                    "cardholder_name": "王小明", "cardholder_mobile": "0912345678", "paid_at": paid_at
                })).await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let rows: Vec<[String; 8]> = (0..1000)
        .map(|i| {
            [
                format!("IMP{i:05}"),
                format!("ORD{i:05}"),
                product_id.clone(),
                "1".to_owned(),
                "王小明".to_owned(),
                "0912345678".to_owned(),
                format!("buyer{i}@example.com"),
                String::new(),
            ]
        })
        .collect();
    let file = tessera_sheets::issuance_template(&rows)?;
    // The table as the issuance found it (the paid orders unissued, in their index).
    let found = scan_all(&aws.dynamodb, &provisioned.table_name).await?;
    let before: std::collections::HashSet<String> = found.iter().map(item_key).collect();

    let started = Instant::now();
    let upload_id = world.upload("electronic_immediate", file).await?;
    let uploaded = started.elapsed();
    let preview = call(
        gateway,
        "POST",
        &format!("/issuance/uploads/{upload_id}/preview"),
        token,
        serde_json::json!({}),
    )
    .await?;
    if preview["can_confirm"] != true {
        return Err(format!("preview refused the file: {preview}").into());
    }
    let previewed = started.elapsed();
    call(
        gateway,
        "POST",
        &format!("/issuance/uploads/{upload_id}/confirm"),
        token,
        serde_json::json!({}),
    )
    .await?;
    let confirmed = started.elapsed();
    world.run_worker(&upload_id).await?;
    let elapsed = started.elapsed();
    let batch = call(
        gateway,
        "GET",
        &format!("/issuance/batches/{upload_id}"),
        token,
        serde_json::Value::Null,
    )
    .await?;
    if batch["status"] != "done" || batch["rows_failed"] != 0 {
        return Err(format!("the batch did not finish cleanly: {}", batch["status"]).into());
    }

    let stored = scan_all(&aws.dynamodb, &provisioned.table_name).await?;
    let new_key = |item: &Item| !before.contains(&item_key(item));
    let written: Vec<Item> = stored.iter().filter(|i| new_key(i)).cloned().collect();
    let floor = write_floor(aws, &written, Vec::new(), &[]).await?;
    // The floor for any design that keeps each row atomic: the row's conditional core
    // (issued order, paid order, ticket, code claim) in transactions of 100, the rest batched.
    let (core, rest): (Vec<Item>, Vec<Item>) = written
        .iter()
        .cloned()
        .chain(
            stored
                .iter()
                .filter(|i| text(i, "SK").starts_with(keys::ORDER_PREFIX))
                .cloned(),
        )
        .partition(|item| {
            let (pk, sk) = (text(item, "PK"), text(item, "SK"));
            sk.starts_with(&keys::issued_order(""))
                || sk.starts_with(keys::ORDER_PREFIX)
                || (pk.starts_with(&keys::ticket("")) && sk == keys::TICKET)
        });
    let core_items = core.len();
    let atomic_floor = write_floor(aws, &rest, core.clone(), &[]).await?;
    // The same, into a copy of the table as the issuance found it: each paid order is
    // replaced (leaving the unissued-orders index) rather than written new, as any design
    // must, among the items the issuance wrote beside (as the redemption floor is).
    let atomic_floor_as_found = write_floor(aws, &rest, core, &found).await?;
    let _ = aws
        .dynamodb
        .delete_table()
        .table_name(&provisioned.table_name)
        .send()
        .await;
    Ok(BatchFigures {
        elapsed,
        floor,
        atomic_floor,
        atomic_floor_as_found,
        items: written.len(),
        atomic_items: core_items,
        upload: uploaded,
        preview: previewed - uploaded,
        confirm: confirmed - previewed,
        worker: elapsed - confirmed,
    })
}

type Item = std::collections::HashMap<String, AttributeValue>;

/// Due tickets of the daily-jobs benchmark (`TESSERA_BENCH_DAILY_TICKETS` for a quick run).
fn daily_tickets() -> usize {
    std::env::var("TESSERA_BENCH_DAILY_TICKETS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// The daily ticket steps over 100,000 due tickets (half lapsing gift vouchers, half goods
/// vouchers redeemed two days ago and going to the bank), against the floor: the same
/// steps' writes (ticket, history entry, outbox event; with their version conditions) in
/// transactions of the same size and concurrency on a second, identical set of tickets,
/// with nothing read and nothing decided.
async fn daily_jobs_100k() -> Result<(), BenchError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    use tessera_domain::products::TicketKind;
    use tessera_domain::tickets::{RedemptionCode, TicketNumber, TicketStatus};
    use tessera_platform::change::Changes;
    use tessera_platform::lifecycle::{add_due_step, STEPS_PER_TRANSACTION};

    let count = daily_tickets();
    let world = bench_world().await?;
    let product_id = world
        .create_product(serde_json::json!({"name": "生日禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 50}))
        .await?;
    let pattern = issue_for_bench(&world, &product_id, "DAILYPAT", 1)
        .await?
        .pop()
        .ok_or("the pattern ticket was not issued")?;
    let now = chrono::Utc::now();
    let today = tessera_domain::calendar::taipei_date(now);
    let due = |sequence: u64, i: usize| {
        let mut ticket = pattern.clone();
        ticket.ticket_no = TicketNumber::from_sequence(sequence);
        ticket.redemption_code = RedemptionCode::generate(sequence, [7; 16]);
        ticket.print_status = None;
        if i % 2 == 0 {
            ticket.term_ends_on = today - chrono::Duration::days(3);
        } else {
            ticket.kind = TicketKind::GoodsVoucher;
            ticket.status = TicketStatus::Used;
            ticket.redeemed_at = Some(now - chrono::Duration::days(2));
            ticket.redeemed_by = Some(ticket.merchant_id.clone());
        }
        ticket
    };
    let job_tickets: Vec<_> = (0..count).map(|i| due(800_000_000 + i as u64, i)).collect();
    let floor_tickets: Vec<_> = (0..count).map(|i| due(850_000_000 + i as u64, i)).collect();
    let items = job_tickets
        .iter()
        .chain(&floor_tickets)
        .map(|t| tessera_platform::store::tickets::new_ticket_write(t).map(|w| w.item))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = Instant::now();
    world.services.table.put_all(items, 32).await?;
    eprintln!(
        "bench: {} due tickets written in {:.1} s",
        2 * count,
        loaded.elapsed().as_secs_f64()
    );

    // The floor: the steps' writes, decided beforehand, committed bare.
    let mut transactions = Vec::new();
    for group in floor_tickets.chunks(STEPS_PER_TRANSACTION) {
        let mut changes = Changes::new();
        for ticket in group {
            add_due_step(&mut changes, ticket, now)?;
        }
        transactions.push(changes.into_writes()?);
    }
    let table = &world.services.table;
    let started = Instant::now();
    stream::iter(transactions)
        .map(|writes| table.transact(writes, tessera_domain::ErrorCode::ConcurrentChange))
        .buffer_unordered(4)
        .try_collect::<Vec<_>>()
        .await?;
    let floor = started.elapsed();

    // The job, as the schedule runs it.
    let jobs = fn_daily_jobs::DailyJobs::new(&world.services)?;
    let started = Instant::now();
    let summary = jobs
        .run(
            serde_json::json!({"job": "ticket_steps"}),
            fn_daily_jobs::Budget::default(),
        )
        .await?;
    let job = started.elapsed();
    // The floor's tickets were stepped already: only the job's own are left to it.
    if summary.tickets_stepped != count {
        return Err(format!(
            "the job stepped {} of {count} tickets",
            summary.tickets_stepped
        )
        .into());
    }
    let name = if count == 100_000 {
        "daily_jobs_100k".to_owned()
    } else {
        format!("daily_jobs_{count}")
    };
    report(&format!("{name}_s"), job.as_secs_f64(), "s");
    report(&format!("{name}_floor_s"), floor.as_secs_f64(), "s");
    report(
        &format!("{name}_ratio"),
        job.as_secs_f64() / floor.as_secs_f64(),
        "x",
    );
    Ok(())
}

/// Tickets the export benchmark's report holds.
const EXPORT_TICKETS: usize = 100_000;

/// A 100,000-row ticket report exported end to end by the deployed export worker (its
/// release binary, as Lambda runs it), against the same rows written by bare
/// rust_xlsxwriter in this process; the worker's peak memory; and one 100-row page of the
/// ticket report by date over the same table.
async fn export_100k() -> Result<(), BenchError> {
    use tessera_domain::reports::{
        ticket_cells, BranchScope, ColumnGroup, DateType, DayRange, TicketFilter,
    };
    use tessera_domain::tickets::{RedemptionCode, TicketNumber};
    use tessera_platform::reports::{ReportRequest, TicketQuery, TicketReport};
    use tessera_platform::store::exports::{ExportRecord, ExportStatus};

    let world = bench_world().await?;
    let product_id = world
        .create_product(serde_json::json!({"name": "拿鐵提貨券", "kind": "gift_voucher", "term_days": 365, "face_value": 120}))
        .await?;
    // One ticket issued through the batch path is the pattern of all the others, written
    // as the batch worker writes them (numbers, codes and issue times their own).
    let pattern = issue_for_bench(&world, &product_id, "EXPORTPAT", 1)
        .await?
        .pop()
        .ok_or("the pattern ticket was not issued")?;
    let merchant = pattern.merchant_id.clone();
    let day = tessera_domain::calendar::taipei_date(pattern.issued_at);
    let start = tessera_domain::calendar::start_of_day(day);
    let tickets: Vec<tessera_platform::store::tickets::Ticket> = (0..EXPORT_TICKETS)
        .map(|i| {
            let sequence = 900_000_000 + i as u64;
            let mut ticket = pattern.clone();
            ticket.ticket_no = TicketNumber::from_sequence(sequence);
            ticket.redemption_code = RedemptionCode::generate(sequence, [7; 16]);
            ticket.import_no = format!("EXP{i:06}");
            ticket.issued_at = start + chrono::Duration::milliseconds(i as i64 * 800);
            // Some holders' names begin like formulas: the export neutralises them.
            if i % 1000 == 0 {
                ticket.holder.name = "=SUM(A1)".to_owned();
            }
            ticket
        })
        .collect();
    let items = tickets
        .iter()
        .map(|t| tessera_platform::store::tickets::new_ticket_write(t).map(|w| w.item))
        .collect::<Result<Vec<_>, _>>()?;
    let loaded = Instant::now();
    world.services.table.put_all(items, 32).await?;
    eprintln!(
        "bench: {EXPORT_TICKETS} tickets written in {:.1} s",
        loaded.elapsed().as_secs_f64()
    );

    let columns = vec![
        ColumnGroup::Order,
        ColumnGroup::Operator,
        ColumnGroup::Holder,
    ];
    let ticket_report = TicketReport {
        owner: merchant.clone(),
        query: TicketQuery::ByDate(TicketFilter {
            date_type: DateType::Issued,
            range: DayRange::parse(day, day)?,
            branch: BranchScope::All,
            statuses: Vec::new(),
            delivery_methods: Vec::new(),
        }),
        columns: columns.clone(),
        viewer_branch: None,
    };

    // The read floor: the day's tickets queried from GSI1 bare, page after page.
    let started = Instant::now();
    let mut read = 0usize;
    let mut start_key = None;
    loop {
        let (from, until) = (
            keys::timestamp(tessera_domain::calendar::start_of_day(day)),
            keys::timestamp(tessera_domain::calendar::end_of_day_exclusive(day)),
        );
        let output = world
            .aws
            .dynamodb
            .query()
            .table_name(&world.provisioned.table_name)
            .index_name(keys::GSI1)
            .key_condition_expression("GSI1PK = :pk AND GSI1SK BETWEEN :from AND :until")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(keys::tickets_of(merchant.as_str())),
            )
            .expression_attribute_values(":from", AttributeValue::S(from))
            .expression_attribute_values(":until", AttributeValue::S(until))
            .limit(1000)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(|e| BenchError::from(e.into_service_error()))?;
        read += output.items().len();
        start_key = output.last_evaluated_key;
        if start_key.is_none() {
            break;
        }
    }
    let read_floor = started.elapsed();
    if read < EXPORT_TICKETS {
        return Err(format!("the read floor found {read} tickets").into());
    }

    // One page of the report by date over the full table.
    let mut pages = Vec::with_capacity(30);
    let mut cursor: Option<String> = None;
    let now = chrono::Utc::now();
    for _ in 0..30 {
        let started = Instant::now();
        let page = ticket_report
            .page(&world.services.table, cursor.as_deref(), 100, now)
            .await?;
        pages.push(started.elapsed());
        cursor = page.next;
    }
    pages.sort();
    report_ms("report_page_p50", percentile(&pages, 50.0));

    // The export, by the deployed worker's release binary.
    let request = ReportRequest::Tickets(ticket_report);
    let export_id = uuid::Uuid::new_v4().simple().to_string();
    let record = ExportRecord {
        merchant_id: merchant.clone(),
        export_id: export_id.clone(),
        request: serde_json::to_value(&request)?,
        status: ExportStatus::Queued,
        rows_written: 0,
        parts: Vec::new(),
        resume_after: None,
        failure: None,
        requested_by: tessera_domain::values::AccountName::parse_login("a", "admin")?,
        created_at: now,
        updated_at: now,
        finished_at: None,
        version: 1,
    };
    world.services.table.create_export(&record).await?;
    let values = crate::deployed::resource_values(&world.template, &world.provisioned);
    let functions = crate::deployed::DeployedFunctions::new(
        &world.template,
        &values,
        &crate::lambda_host::binaries_dir(),
        &crate::lambda_host::LocalEnvironment::from_env(),
        false,
    )?;
    let pool = functions
        .pool("ReportExportFunction")
        .ok_or("the template has no ReportExportFunction")?;
    let worker = crate::lambda_host::Instance::start(&pool.config).await?;
    let message = serde_json::json!({"merchant_id": merchant.as_str(), "export_id": export_id});
    let event = serde_json::json!({"Records": [{
        "messageId": "bench-export", "receiptHandle": "bench", "body": message.to_string(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:local:000000000000:report-export",
        "awsRegion": "ap-northeast-1"
    }]});
    let started = Instant::now();
    let answer = worker.invoke(&event, Duration::from_secs(900)).await?;
    let exported = started.elapsed();
    if answer["batchItemFailures"]
        .as_array()
        .is_some_and(|f| !f.is_empty())
    {
        return Err(format!("the export failed: {answer}\n{}", worker.output()).into());
    }
    let peak_kb = worker
        .pid
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .ok_or("the worker's peak memory is not readable")?;
    let done = world
        .services
        .table
        .get_export(&merchant, &export_id)
        .await?
        .ok_or("the export record is gone")?;
    if done.status != ExportStatus::Done {
        return Err(format!("the export did not finish: {:?}", done.status).into());
    }
    let rows = done.rows_written as f64;

    // The floor: the same rows' cells written by bare rust_xlsxwriter, constant memory.
    let (sheet, headers) = request.sheet();
    let cells: Vec<Vec<String>> = std::iter::once(&pattern)
        .chain(tickets.iter())
        .map(|t| ticket_cells(&t.as_of(now).0, &columns))
        .collect();
    let started = Instant::now();
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let worksheet = workbook.add_worksheet_with_constant_memory();
    worksheet.set_name(sheet)?;
    for (column, header) in headers.iter().enumerate() {
        worksheet.write_string(0, column as u16, *header)?;
    }
    for (row, line) in cells.iter().enumerate() {
        for (column, cell) in line.iter().enumerate() {
            if !cell.is_empty() {
                worksheet.write_string(row as u32 + 1, column as u16, cell)?;
            }
        }
    }
    let bytes = workbook.save_to_buffer()?;
    let floor = started.elapsed();
    drop(bytes);

    report("export_100k_s", exported.as_secs_f64(), "s");
    report(
        "export_100k_rows_per_s",
        rows / exported.as_secs_f64(),
        "rows_per_s",
    );
    report("export_100k_floor_s", floor.as_secs_f64(), "s");
    report(
        "export_100k_ratio",
        exported.as_secs_f64() / floor.as_secs_f64(),
        "x",
    );
    report("export_100k_peak_rss_mb", peak_kb / 1024.0, "MB");
    report("export_100k_read_floor_s", read_floor.as_secs_f64(), "s");
    report("export_100k_rows", rows, "rows");
    let _ = world
        .aws
        .dynamodb
        .delete_table()
        .table_name(&world.provisioned.table_name)
        .send()
        .await;
    Ok(())
}

/// Writes `batched` with bare parallel BatchWriteItem calls and `transactional` in
/// conditional transactions of 100 puts, all at once, into a fresh empty table; how long
/// that took.
async fn write_floor(
    aws: &LocalAws,
    batched: &[Item],
    transactional: Vec<Item>,
    prior: &[Item],
) -> Result<Duration, BenchError> {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    let table = empty_table(aws).await?;
    // What the table holds before (not timed): a transactional put of one of these keys
    // replaces it, on the condition that it is there.
    load_items(aws, &table, write_requests(prior)?).await?;
    let prior_keys: std::collections::HashSet<String> = prior.iter().map(item_key).collect();
    let chunks = write_requests(batched)?;
    let transactions: Vec<Vec<TransactWriteItem>> = transactional
        .chunks(100)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    let replaces = prior_keys.contains(&item_key(item));
                    Put::builder()
                        .table_name(&table)
                        .set_item(Some(item.clone()))
                        .condition_expression(if replaces {
                            "attribute_exists(PK)"
                        } else {
                            "attribute_not_exists(PK)"
                        })
                        .build()
                        .map(|put| TransactWriteItem::builder().put(put).build())
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let batches = load_items(aws, &table, chunks);
    let transacted = stream::iter(transactions)
        .map(|items| {
            let dynamodb = aws.dynamodb.clone();
            async move {
                dynamodb
                    .transact_write_items()
                    .set_transact_items(Some(items))
                    .send()
                    .await
                    .map_err(|e| BenchError::from(e.into_service_error()))
            }
        })
        .buffer_unordered(fn_batch_issue::DEFAULT_CONCURRENCY)
        .try_collect::<Vec<_>>();
    tokio::try_join!(batches, transacted)?;
    let elapsed = started.elapsed();
    let _ = aws.dynamodb.delete_table().table_name(&table).send().await;
    Ok(elapsed)
}

/// Items as BatchWriteItem requests of 25 puts each.
fn write_requests(
    items: &[Item],
) -> Result<Vec<Vec<aws_sdk_dynamodb::types::WriteRequest>>, BenchError> {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    Ok(items
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()?)
}

/// Writes the batches with bare parallel BatchWriteItem calls, retrying what DynamoDB
/// leaves unprocessed.
async fn load_items(
    aws: &LocalAws,
    table: &str,
    chunks: Vec<Vec<aws_sdk_dynamodb::types::WriteRequest>>,
) -> Result<(), BenchError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    stream::iter(chunks)
        .map(|mut requests| {
            let dynamodb = aws.dynamodb.clone();
            async move {
                while !requests.is_empty() {
                    let output = dynamodb
                        .batch_write_item()
                        .request_items(table, requests)
                        .send()
                        .await
                        .map_err(|e| BenchError::from(e.into_service_error()))?;
                    requests = output
                        .unprocessed_items
                        .and_then(|mut u| u.remove(table))
                        .unwrap_or_default();
                }
                Ok::<_, BenchError>(())
            }
        })
        .buffer_unordered(fn_batch_issue::DEFAULT_CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// A benchmark's stack, with the gateway in front and a signed-in admin.
struct BenchWorld {
    template: Template,
    aws: LocalAws,
    provisioned: crate::provision::Provisioned,
    services: tessera_platform::services::Services,
    gateway: axum::Router,
    token: String,
}

/// A demo parent account's bearer token, signed in through the gateway.
async fn sign_in(
    gateway: &axum::Router,
    account: &str,
    password: &str,
) -> Result<String, BenchError> {
    let sign_in = serde_json::json!({"merchant_id": crate::seed::PARENT, "account": account, "password": password});
    let request = Request::post("/sessions")
        .header("content-type", "application/json")
        .body(Body::from(sign_in.to_string()))?;
    let response = gateway.clone().oneshot(request).await?;
    let session: serde_json::Value =
        serde_json::from_slice(&axum::body::to_bytes(response.into_body(), 1 << 20).await?)?;
    session["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{account} could not sign in: {session}").into())
}

async fn bench_world() -> Result<BenchWorld, BenchError> {
    let (aws, template, provisioned, services) = bench_stack().await?;
    let gateway = crate::gateway::router(crate::gateway::GatewayState::new(
        aws.clone(),
        &template,
        provisioned.clone(),
        services.clone(),
    )?);
    let token = sign_in(&gateway, "admin", crate::seed::ADMIN_PASSWORD).await?;
    Ok(BenchWorld {
        template,
        aws,
        provisioned,
        services,
        gateway,
        token,
    })
}

impl BenchWorld {
    async fn create_product(&self, body: serde_json::Value) -> Result<String, BenchError> {
        let product = call(&self.gateway, "POST", "/products", &self.token, body).await?;
        Ok(product["product_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Asks for an upload and puts the file where the presigned URL points (with the SDK,
    /// to the same key, as the browser's PUT would); the upload id.
    async fn upload(&self, method: &str, file: Vec<u8>) -> Result<String, BenchError> {
        let upload = call(
            &self.gateway,
            "POST",
            "/issuance/uploads",
            &self.token,
            serde_json::json!({"delivery_method": method, "size": file.len()}),
        )
        .await?;
        let upload_id = upload["upload_id"].as_str().unwrap_or_default().to_owned();
        self.aws
            .s3
            .put_object()
            .bucket(&self.provisioned.buckets["UploadsBucket"])
            .key(tessera_platform::store::object_keys::issuance_upload(
                &tessera_domain::values::MerchantId::parse("m", crate::seed::PARENT)?,
                &upload_id,
            ))
            .content_type(tessera_sheets::XLSX_CONTENT_TYPE)
            .body(file.into())
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        Ok(upload_id)
    }

    /// Runs the worker on a confirmed batch's message, as the outbox publisher queues it
    /// (the benchmarks' tables have no stream to publish from).
    async fn run_worker(&self, batch_id: &str) -> Result<(), BenchError> {
        let context = crate::functions::HandlerContext {
            services: self.services.clone(),
            ses: self.aws.ses.clone(),
            sns: self.aws.sns.clone(),
            mail_from: "noreply@tessera.example.com".to_owned(),
        };
        let handler = crate::functions::queue_handler(&context, "BatchIssueFunction")
            .ok_or("no batch-issue handler")?;
        let message = tessera_platform::store::issuance::BatchMessage {
            merchant_id: crate::seed::PARENT.to_owned(),
            batch_id: batch_id.to_owned(),
        };
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = Some(format!("bench-{batch_id}"));
        record.body = Some(serde_json::to_string(&message)?);
        let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
        event.records.push(record);
        let response = handler(event).await?;
        if !response.batch_item_failures.is_empty() {
            return Err(format!("the worker failed batch {batch_id}").into());
        }
        Ok(())
    }
}

/// Issues `count` gift-voucher tickets (≤ 1000) through the real path; the tickets.
async fn issue_for_bench(
    world: &BenchWorld,
    product_id: &str,
    import_no: &str,
    count: usize,
) -> Result<Vec<tessera_platform::store::tickets::Ticket>, BenchError> {
    let rows = vec![[
        import_no.to_owned(),
        String::new(),
        product_id.to_owned(),
        count.to_string(),
        "王小明".to_owned(),
        "0912345678".to_owned(),
        String::new(),
        String::new(),
    ]];
    let file = tessera_sheets::issuance_template(&rows)?;
    let upload_id = world.upload("paper_by_merchant", file).await?;
    call(
        &world.gateway,
        "POST",
        &format!("/issuance/uploads/{upload_id}/confirm"),
        &world.token,
        serde_json::json!({}),
    )
    .await?;
    world.run_worker(&upload_id).await?;
    let merchant = tessera_domain::values::MerchantId::parse("m", crate::seed::PARENT)?;
    Ok(world
        .services
        .table
        .tickets_of_issued_order(&merchant, import_no)
        .await?)
}

async fn redeem_once(
    gateway: &axum::Router,
    token: &str,
    code: &str,
) -> Result<Duration, BenchError> {
    let request = api_request("POST", "/redemptions", token)
        .header("idempotency-key", uuid::Uuid::new_v4().simple().to_string())
        .body(Body::from(serde_json::json!({ "code": code }).to_string()))?;
    let started = Instant::now();
    let response = gateway.clone().oneshot(request).await?;
    let status = response.status();
    let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        return Err(format!("redeem answered {status}").into());
    }
    Ok(elapsed)
}

/// Redemption through the gateway (authorizer included): 1000 sequential redemptions by
/// the head office (p50, p99) and 300 by a cashier bound to a branch; the floor, the
/// operation's own transaction (ticket, history entry, report event, idempotency record,
/// as an unreported pass of 1000 redemptions stored them) written bare with the store's
/// conditions into a copy of the table as the redemptions found it (and into an empty
/// table); the reads that come first, bare; the one-read floor ([`OneRead`]); all of
/// them taken in turn, ticket by ticket; then 32 concurrent clients over another 1000
/// tickets.
async fn redeem() -> Result<(), BenchError> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    use tessera_domain::ErrorCode;
    use tessera_platform::store::{Expect, Table, Write};

    let world = bench_world().await?;
    let BenchWorld {
        aws,
        provisioned,
        gateway,
        token,
        ..
    } = &world;
    let product_id = world
        .create_product(serde_json::json!({"name": "生日禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 50}))
        .await?;
    let sequential = issue_for_bench(&world, &product_id, "BENCHSEQ", 1000).await?;
    let preparation = issue_for_bench(&world, &product_id, "BENCHPRE", 1000).await?;
    let concurrent = issue_for_bench(&world, &product_id, "BENCHPAR", 1000).await?;
    let at_branch = issue_for_bench(&world, &product_id, "BENCHBR", 300).await?;
    let one_read_set = issue_for_bench(&world, &product_id, "BENCHONE", 300).await?;
    // The table as the redemptions find it, so that the floor writes into the same state.
    let unredeemed = scan_all(&aws.dynamodb, &provisioned.table_name).await?;

    // An unreported pass: the items these redemptions commit become the floor's
    // transactions, so that the floor can then be timed side by side with the redemptions.
    for ticket in &preparation {
        redeem_once(gateway, token, ticket.redemption_code.as_str()).await?;
    }
    let stored = scan_all(&aws.dynamodb, &provisioned.table_name).await?;
    let prepared: std::collections::HashSet<String> = preparation
        .iter()
        .map(|t| t.ticket_no.to_string())
        .collect();
    let mut per_ticket: std::collections::HashMap<String, Vec<_>> =
        std::collections::HashMap::new();
    for item in &stored {
        let (pk, sk) = (text(item, "PK"), text(item, "SK"));
        let ticket_no = if let Some(no) = pk.strip_prefix(&keys::ticket("")) {
            // The ticket and its new history entry (version 2), not the issuance entry.
            (sk == keys::TICKET || sk == keys::ticket_history(2)).then(|| no.to_owned())
        } else if pk.contains("#EVENTS#") {
            sk.split('#').nth(1).map(str::to_owned)
        } else if sk == keys::EVENT {
            // The redemption's outbox event: its subject is the ticket.
            item.get("subject").and_then(|v| v.as_s().ok()).cloned()
        } else if sk == keys::IDEMPOTENCY {
            item.get("body")
                .and_then(|v| v.as_s().ok())
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|b| b["ticket_no"].as_str().map(str::to_owned))
        } else {
            None
        };
        if let Some(no) = ticket_no.filter(|no| prepared.contains(no)) {
            per_ticket.entry(no).or_default().push(item.clone());
        }
    }
    if per_ticket.len() != sequential.len() {
        return Err(format!(
            "the unreported pass left {} transactions for {} redemptions",
            per_ticket.len(),
            sequential.len()
        )
        .into());
    }

    // The floor: each prepared ticket's items, written in one transaction by the store's
    // own `transact` with the conditions the store puts on them (the ticket replaced at
    // the version it was read at, the rest new), into a copy of the table as the
    // redemptions found it. The same items written into an empty table, each only if new,
    // are reported too, as the floor was measured before. Every figure below is taken in
    // turn, ticket by ticket (a redemption, a floor transaction of each kind, the bare
    // reads, ...), so that a drift of the emulator's speed during the run weighs on both
    // sides of every ratio alike.
    let empty_floor_table = empty_table(aws).await?;
    let floor_table = empty_table(aws).await?;
    load_items(aws, &floor_table, write_requests(&unredeemed)?).await?;
    let into_copy = Table::new(aws.dynamodb.clone(), floor_table.clone());
    let into_empty = Table::new(aws.dynamodb.clone(), empty_floor_table.clone());
    // A cashier bound to a branch: the product is read too, since its redeem-branch list
    // decides whether that branch may redeem.
    let cashier = sign_in(gateway, "cashier01", crate::seed::STAFF_PASSWORD).await?;
    let one_read = OneRead::new(&world, token, &stored).await?;
    let authenticator = world.services.authenticator()?;
    let table = &world.services.table;
    let mut samples = Vec::with_capacity(sequential.len());
    let mut floor = Vec::with_capacity(per_ticket.len());
    let mut floor_empty = Vec::with_capacity(per_ticket.len());
    let mut at_branch_samples = Vec::with_capacity(at_branch.len());
    let mut one_read_samples = Vec::with_capacity(one_read_set.len());
    let mut before_write = Vec::with_capacity(sequential.len());
    for (index, (ticket, items)) in sequential.iter().zip(per_ticket.values()).enumerate() {
        samples.push(redeem_once(gateway, token, ticket.redemption_code.as_str()).await?);
        let writes = |as_stored: bool| {
            items
                .iter()
                .map(|item| {
                    let version = item
                        .get("version")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<u64>().ok())
                        .filter(|_| as_stored && text(item, "SK") == keys::TICKET);
                    Write {
                        item: item.clone(),
                        expect: version
                            .map_or(Expect::Absent, |v| Expect::Version(v.saturating_sub(1))),
                    }
                })
                .collect::<Vec<_>>()
        };
        let (as_stored, new_only) = (writes(true), writes(false));
        let started = Instant::now();
        into_copy
            .transact(as_stored, ErrorCode::ConcurrentChange)
            .await?;
        floor.push(started.elapsed());
        let started = Instant::now();
        into_empty
            .transact(new_only, ErrorCode::ConcurrentChange)
            .await?;
        floor_empty.push(started.elapsed());

        // What comes before the transaction, bare: the token verified and the caller
        // loaded, while the ticket the code names is read (as the redeem function does;
        // the product's lists do not matter to the head office the bench signs in as).
        let started = Instant::now();
        let code = async {
            table
                .ticket_by_code(&ticket.redemption_code)
                .await?
                .ok_or("a redeemed ticket is not found by its code")?;
            Ok::<_, BenchError>(())
        };
        let caller = async { Ok::<_, BenchError>(authenticator.authenticate(token).await?) };
        tokio::try_join!(caller, code)?;
        before_write.push(started.elapsed());

        // The smaller sets are spread evenly over the run, so that they share its minutes.
        let spread = |set_len: usize| {
            let nth = index * set_len / sequential.len();
            ((index + 1) * set_len / sequential.len() > nth).then_some(nth)
        };
        if let Some(ticket) = spread(at_branch.len()).and_then(|nth| at_branch.get(nth)) {
            at_branch_samples
                .push(redeem_once(gateway, &cashier, ticket.redemption_code.as_str()).await?);
        }
        if let Some(ticket) = spread(one_read_set.len()).and_then(|nth| one_read_set.get(nth)) {
            one_read_samples.push(one_read.once(&world, ticket).await?);
        }
    }
    if (at_branch_samples.len(), one_read_samples.len()) != (at_branch.len(), one_read_set.len()) {
        return Err("the spread missed some of the smaller sets' tickets".into());
    }
    for sorted in [
        &mut samples,
        &mut floor,
        &mut floor_empty,
        &mut at_branch_samples,
        &mut one_read_samples,
        &mut before_write,
    ] {
        sorted.sort();
    }

    let started = Instant::now();
    stream::iter(concurrent.iter())
        .map(|ticket| redeem_once(gateway, token, ticket.redemption_code.as_str()))
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    let throughput = concurrent.len() as f64 / started.elapsed().as_secs_f64();

    for table in [&provisioned.table_name, &floor_table, &empty_floor_table] {
        let _ = aws.dynamodb.delete_table().table_name(table).send().await;
    }
    let p50 = percentile(&samples, 50.0);
    let floor_p50 = percentile(&floor, 50.0);
    report_latency("redeem", &samples);
    report_ms("redeem_floor_p50", floor_p50);
    report_ms(
        "redeem_floor_empty_table_p50",
        percentile(&floor_empty, 50.0),
    );
    report(
        "redeem_overhead_ratio",
        p50.as_secs_f64() / floor_p50.as_secs_f64(),
        "x",
    );
    let at_branch_p50 = percentile(&at_branch_samples, 50.0);
    report_ms("redeem_at_branch_p50", at_branch_p50);
    report(
        "redeem_at_branch_ratio",
        at_branch_p50.as_secs_f64() / floor_p50.as_secs_f64(),
        "x",
    );
    let reads_p50 = percentile(&before_write, 50.0);
    report_ms("redeem_reads_p50", reads_p50);
    report(
        "redeem_bound_ratio",
        (reads_p50 + floor_p50).as_secs_f64() / floor_p50.as_secs_f64(),
        "x",
    );
    let one_read_p50 = percentile(&one_read_samples, 50.0);
    report_ms("redeem_one_read_floor_p50", one_read_p50);
    report(
        "redeem_one_read_ratio",
        one_read_p50.as_secs_f64() / floor_p50.as_secs_f64(),
        "x",
    );
    report("redeem_throughput_32", throughput, "per_s");
    report(
        "redeem_floor_items",
        per_ticket.values().map(Vec::len).sum::<usize>() as f64 / per_ticket.len().max(1) as f64,
        "items_per_op",
    );
    Ok(())
}

/// The floor of any design that reads only once before its transaction: one BatchGetItem
/// of the caller's items (session, account, merchant) and the ticket the code names; then
/// the redemption's transaction as the store writes it (the ticket replaced at its
/// version, history entry, report event, an idempotency record as large as the run's).
/// No routing, no JSON, no rules: what such a design could not go below.
struct OneRead {
    actor: tessera_domain::access::Actor,
    session_id: String,
    /// A redemption's answer as the run stored it, for an idempotency record as large.
    answer: String,
}

impl OneRead {
    async fn new(
        world: &BenchWorld,
        token: &str,
        stored: &[std::collections::HashMap<String, AttributeValue>],
    ) -> Result<OneRead, BenchError> {
        let (actor, session_id) = world.services.authenticator()?.authenticate(token).await?;
        let answer = stored
            .iter()
            .find(|item| text(item, "SK") == keys::IDEMPOTENCY)
            .and_then(|item| item.get("body")?.as_s().ok().cloned())
            .ok_or("the run stored no idempotency record")?;
        Ok(OneRead {
            actor,
            session_id,
            answer,
        })
    }

    /// One read and one transaction for `ticket`: how long they took.
    async fn once(
        &self,
        world: &BenchWorld,
        ticket: &tessera_platform::store::tickets::Ticket,
    ) -> Result<Duration, BenchError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        use tessera_domain::ticket::TicketChange;
        use tessera_platform::store::idempotency::IdempotencyRecord;
        use tessera_platform::store::key;
        use tessera_platform::store::outbox::OutboxEvent;
        use tessera_platform::store::tickets::{
            ticket_change_writes, TicketEvent, TicketHistoryEntry,
        };

        let actor = &self.actor;
        let merchant = keys::merchant(actor.merchant.as_str());
        let started = Instant::now();
        let wanted = vec![
            key(keys::session(&self.session_id), keys::SESSION),
            key(merchant.clone(), &keys::account(actor.account.as_str())),
            key(merchant.clone(), keys::PROFILE),
            key(keys::ticket(ticket.ticket_no.as_str()), keys::TICKET),
        ];
        let read = world
            .aws
            .dynamodb
            .batch_get_item()
            .request_items(
                &world.provisioned.table_name,
                KeysAndAttributes::builder()
                    .set_keys(Some(wanted))
                    .consistent_read(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        let found = read
            .responses
            .unwrap_or_default()
            .into_values()
            .flatten()
            .count();
        if found != 4 {
            return Err(format!("one read found {found} of 4 items").into());
        }
        let now = chrono::Utc::now();
        let mut redeemed = ticket.clone();
        redeemed.status = tessera_domain::tickets::TicketStatus::Used;
        redeemed.updated_at = now;
        redeemed.redeemed_at = Some(now);
        redeemed.redeemed_by = Some(actor.acting_as.clone());
        let entry = TicketHistoryEntry {
            ticket_no: redeemed.ticket_no.clone(),
            at: now,
            action: "redeem".to_owned(),
            by_merchant: actor.acting_as.clone(),
            by_account: actor.account.clone(),
            branch: None,
            before: Some(ticket.status),
            after: Some(redeemed.status),
            reason: None,
            changes: serde_json::json!({"fee": null, "bank_update_at": null}),
        };
        let event = TicketEvent {
            at: now,
            ticket_no: redeemed.ticket_no.clone(),
            version: 0,
            operation: "redeem".to_owned(),
            issuer: redeemed.merchant_id.clone(),
            product_id: redeemed.product_id.clone(),
            face_value: redeemed.face_value,
            by_merchant: actor.acting_as.clone(),
            branch: None,
            fee: None,
            kind: Some(redeemed.kind),
            after: Some(redeemed.status),
        };
        let record = IdempotencyRecord {
            merchant_id: actor.acting_as.clone(),
            key: uuid::Uuid::new_v4().simple().to_string(),
            request_hash: format!("{:064}", 0),
            status: 200,
            body: self.answer.clone(),
            created_at: now,
        };
        // What every redemption writes: the ticket, its history entry, the report event,
        // the outbox event and the idempotency record, in one transaction.
        let outbox = OutboxEvent::new(
            format!("ticket-{}-v{}", redeemed.ticket_no, ticket.version + 1),
            tessera_domain::events::EventType::TicketRedeemed,
            &redeemed.merchant_id,
            now,
            redeemed.ticket_no.as_str(),
            &entry,
        )?;
        let mut change = TicketChange {
            ticket: redeemed,
            entries: vec![entry],
            report: Some(event),
            events: vec![tessera_domain::events::EventType::TicketRedeemed],
        };
        let mut writes = ticket_change_writes(ticket.version, &mut change)?;
        writes.push(outbox.write()?);
        writes.push(record.write()?);
        world
            .services
            .table
            .transact(writes, tessera_domain::ErrorCode::ConcurrentChange)
            .await?;
        Ok(started.elapsed())
    }
}

/// Refund callbacks (docs/decisions/0018): from an `installment_order.refunded` event
/// committed to the table until a receiver on this machine has the signed POST, through
/// the stream's publisher (its `callbacks` consumer), the refund-notify queue and the
/// sender, as the local stack runs them; one event at a time, the median of
/// [`CALLBACK_EVENTS`]. The floor, in the same run: the same POST sent straight to the
/// receiver with the same client settings.
async fn callbacks() -> Result<(), BenchError> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use tessera_platform::services::SystemClock;
    use tessera_platform::session::SigningKey;
    use tessera_platform::store::outbox::OutboxEvent;

    let template = Template::load_default(
        &StackContext::named(&bench_stack_name())
            .with_parameter("PublicUrl", "http://localhost:3000")
            .with_parameter("CallbackTargets", "any"),
    )?;
    let aws = LocalAws::from_env().await;
    let provisioned = crate::provision::provision(&aws, &template).await?;
    let services =
        crate::deployed::stack_services(&aws, &template, &provisioned, Arc::new(SystemClock))?
            .with_signing_keys(
                SigningKey::new(b"benchmark-signing-key-0123456789abcdef".to_vec())?.into(),
            );
    crate::seed::seed_demo(&services).await?;
    let gateway = crate::gateway::router(crate::gateway::GatewayState::new(
        aws.clone(),
        &template,
        provisioned.clone(),
        services.clone(),
    )?);
    let token = sign_in(&gateway, "admin", crate::seed::ADMIN_PASSWORD).await?;
    call(
        &gateway,
        "POST",
        "/merchant/webhook-secret",
        &token,
        serde_json::json!({}),
    )
    .await?;

    // The receiver: when each webhook-id arrived.
    let arrived: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let arrived = arrived.clone();
            move |headers: axum::http::HeaderMap| {
                let arrived = arrived.clone();
                async move {
                    let id = headers
                        .get(tessera_platform::webhooks::ID_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    if let Ok(mut arrived) = arrived.lock() {
                        arrived.insert(id, Instant::now());
                    }
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let context = crate::functions::HandlerContext {
        services: services.clone(),
        ses: aws.ses.clone(),
        sns: aws.sns.clone(),
        mail_from: template.mail_from().unwrap_or_default(),
    };
    let (_, publisher) = crate::functions::stream_handlers(&context)?
        .into_iter()
        .find(|(id, _)| *id == "PublishFunction")
        .ok_or("no publisher")?;
    let source = crate::gateway::stream_sources(&aws, &template, &provisioned)
        .await?
        .into_iter()
        .find(|(id, _)| id == "PublishFunction")
        .map(|(_, source)| source)
        .ok_or("the publisher reads no stream")?;
    let sender = crate::functions::queue_handler(&context, "CallbacksFunction")
        .ok_or("no callbacks handler")?;
    let queue = &provisioned.queue_urls["RefundNotifyQueue"];
    // What seeding published goes first, unmeasured.
    source.poll_once(&publisher).await?;
    let merchant = tessera_domain::values::MerchantId::parse("m", crate::seed::PARENT)?;

    let mut delivered = Vec::with_capacity(CALLBACK_EVENTS);
    for i in 0..CALLBACK_EVENTS {
        let event = OutboxEvent::new(
            format!("bench-refund-{i}"),
            tessera_domain::events::EventType::InstallmentOrderRefunded,
            &merchant,
            chrono::Utc::now(),
            &format!("BENCH{i}"),
            &serde_json::json!({"merchant_id": merchant, "trade_no": format!("BENCH{i}"),
                "return_number": 1, "amount": "1000", "fee": "10", "refund_amount": "990",
                "notify_url": url}),
        )?;
        let id = format!("evt_{}", event.event_id);
        let committed = Instant::now();
        services
            .table
            .transact(
                vec![event.write()?],
                tessera_domain::ErrorCode::ConcurrentChange,
            )
            .await?;
        let deadline = committed + Duration::from_secs(30);
        loop {
            source.poll_once(&publisher).await?;
            crate::gateway::poll_once(&aws.sqs, queue, &sender, 0).await?;
            let got = arrived.lock().ok().and_then(|a| a.get(&id).copied());
            if let Some(at) = got {
                delivered.push(at.duration_since(committed));
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("callback {id} did not arrive in 30 s").into());
            }
        }
    }

    // The floor: the POST alone, the same client settings, the same receiver.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()?;
    let mut floor = Vec::with_capacity(CALLBACK_EVENTS);
    for i in 0..CALLBACK_EVENTS {
        let started = Instant::now();
        client
            .post(&url)
            .header(tessera_platform::webhooks::ID_HEADER, format!("floor-{i}"))
            .body("{}")
            .send()
            .await?;
        floor.push(started.elapsed());
    }
    let p50 = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2].as_secs_f64() * 1000.0
    };
    let (delivery, post) = (p50(delivered), p50(floor));
    println!("callback_delivery_p50 {delivery:.2} ms");
    println!("callback_post_floor_p50 {post:.2} ms");
    Ok(())
}

/// Refund events the callbacks benchmark sends, one after another.
const CALLBACK_EVENTS: usize = 50;

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
