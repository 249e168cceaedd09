//! The functions as they deploy: each started from its own binary, in its own process, with
//! exactly the environment `infra/template.yaml` gives it (the emulator endpoints put in
//! place of AWS's), driven through the Lambda Runtime API, behind an emulation of API
//! Gateway (the authorizer invoked as a Lambda), the SQS event source and the scheduler.
//! Every AWS call the processes make is recorded and checked against the calling function's
//! own policy in the expanded template. Needs the binaries: `cargo build --workspace --bins`
//! (`localstack/test.sh` builds them).

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tessera_dev::deployed::{self, DeployedFunctions};
use tessera_dev::iam::{check_calls, Expanded};
use tessera_dev::lambda_host::{binaries_dir, Instance, LocalEnvironment};
use tessera_dev::template::{ResourceValues, StackContext, Template};
use tessera_domain::clock::FixedClock;
use tessera_domain::values::MerchantId;
use tessera_platform::aws_calls::{AwsCall, CALL_LOG_VARIABLE};
use tessera_tests::{json_request, TestStack};

const DEMO: &str = "DEMO0001";
const DEMO_PASSWORD: &str = "Demo#2026";

struct Deployed {
    stack: TestStack,
    template: Template,
    values: ResourceValues,
    functions: DeployedFunctions,
    api: Router,
    call_log: PathBuf,
}

/// A provisioned stack with the demo data, and its functions ready to start as deployed;
/// `parameters` are the stack's parameter values (the template's defaults otherwise).
async fn deploy(parameters: &[(&str, &str)]) -> Deployed {
    let stack = TestStack::provision().await;
    // The demo data dates its contracts from the clock: seed at the processes' own time.
    let services = stack.services(Arc::new(FixedClock::at(Utc::now())));
    tessera_dev::seed::seed_demo(&services)
        .await
        .expect("demo data seeds");
    let stack_name = stack
        .provisioned
        .table_name
        .trim_end_matches("-main")
        .to_owned();
    let mut context =
        StackContext::named(&stack_name).with_parameter("PublicUrl", "http://localhost:3000");
    for (name, value) in parameters {
        context = context.with_parameter(name, value);
    }
    let template = Template::load_default(&context).expect("the template parses");
    let values = deployed::resource_values(&template, &stack.provisioned);
    let call_log = std::env::temp_dir().join(format!("tessera-aws-calls-{stack_name}.jsonl"));
    let local = LocalEnvironment::from_env().with(CALL_LOG_VARIABLE, &call_log.to_string_lossy());
    let functions = DeployedFunctions::new(&template, &values, &binaries_dir(), &local, false)
        .expect("every function is configured from the template");
    let api = functions.router(&template);
    Deployed {
        stack,
        template,
        values,
        functions,
        api,
        call_log,
    }
}

impl Deployed {
    async fn call(&self, request: Request<Body>) -> (u16, Value) {
        tessera_tests::call(&self.api, request).await
    }

    async fn sign_in(&self, merchant: &str, account: &str, password: &str) -> String {
        tessera_tests::sign_in(&self.api, merchant, account, password).await
    }

    /// Hands the table stream's new records to the publisher's processes, as the stream
    /// event source mapping does.
    async fn publish(&self) -> tessera_dev::streams::PollOutcome {
        let source = self.stack.stream_source("PublishFunction").await;
        let outcome = source
            .poll_once(&self.functions.stream_handler("PublishFunction"))
            .await
            .expect("the stream reads");
        assert_eq!(outcome.retrying + outcome.dead_lettered, 0, "{outcome:?}");
        outcome
    }

    /// Hands what waits on a queue to its function's processes.
    async fn drain(&self, queue: &str, function: &str) -> usize {
        let url = &self.stack.provisioned.queue_urls[queue];
        tessera_tests::drain(
            &self.stack.aws.sqs,
            url,
            &self.functions.queue_handler(function),
        )
        .await
    }

    fn recorded_calls(&self) -> Vec<AwsCall> {
        std::fs::read_to_string(&self.call_log)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a recorded call"))
            .collect()
    }

    /// Fails on any recorded call the calling function's own policy does not allow;
    /// returns the allowed actions no call used.
    fn assert_least_privilege(&self) -> Vec<String> {
        let calls = self.recorded_calls();
        assert!(
            !calls.is_empty(),
            "no AWS call was recorded in {}",
            self.call_log.display()
        );
        let expanded = Expanded::load().unwrap_or_else(|e| panic!("{e}"));
        let functions: BTreeMap<String, String> = self
            .template
            .functions
            .iter()
            .map(|f| (f.logical_id.clone(), f.name.clone()))
            .collect();
        let report = check_calls(&expanded, &self.values, &functions, &calls)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            report.denied.is_empty(),
            "calls the template's policies do not allow (function, action, resource):\n{}",
            report.denied.iter().cloned().collect::<Vec<_>>().join("\n")
        );
        report.unused.into_iter().collect()
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.call_log);
    }
}

fn sample_event(binary: &str) -> Value {
    let path = format!("{}/../events/{binary}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[tokio::test]
async fn every_function_starts_from_its_binary_with_only_the_template_environment() {
    let d = deploy(&[]).await;
    for (id, pool) in d.functions.pools() {
        let instance = Instance::start(&pool.config)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!instance.has_exited(), "{id}");
    }
}

#[tokio::test]
async fn every_function_answers_its_sample_events_as_deployed() {
    let d = deploy(&[]).await;
    let token = d.sign_in(DEMO, "admin", DEMO_PASSWORD).await;
    // The installment function's sample is an installment merchant's request.
    let installment = d
        .sign_in(tessera_dev::seed::INSTALLMENT, "admin", DEMO_PASSWORD)
        .await;
    for function in &d.template.functions {
        let binary = function.binary.as_deref().expect("a binary");
        let mut event = sample_event(binary);
        let caller = if binary == "installment" {
            &installment
        } else {
            &token
        };
        let text = event
            .to_string()
            .replace("<token from POST /sessions>", caller);
        event = serde_json::from_str(&text).expect("still JSON");
        let id = function.logical_id.as_str();
        if event.get("routeKey").is_some() && id != deployed::AUTHORIZER {
            // What API Gateway does: the authorizer's verdict, then the function.
            let route =
                d.template.routes().into_iter().find(|(route, _)| {
                    format!("{} {}", route.method, route.path) == event["routeKey"]
                });
            let (route, _) = route.unwrap_or_else(|| panic!("{binary}.json: no such route"));
            if !route.public {
                let verdict = d
                    .functions
                    .invoke(deployed::AUTHORIZER, &deployed::authorizer_event(&event))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(verdict["isAuthorized"], true);
                event["requestContext"]["authorizer"] = json!({"lambda": verdict["context"]});
            }
            let answer = d
                .functions
                .invoke(id, &event)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = answer["statusCode"].as_u64().unwrap_or_default();
            assert!(
                (200..300).contains(&status) || status == 404,
                "{binary}.json: {status} {answer}"
            );
        } else {
            let answer = d
                .functions
                .invoke(id, &event)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            match binary {
                "authorizer" => {
                    assert_eq!(answer["isAuthorized"], true, "{answer}");
                    assert!(answer["context"]["session"].is_string(), "{answer}");
                }
                "notify" | "batch-issue" | "callbacks" => {
                    assert!(answer["batchItemFailures"].is_array(), "{binary}: {answer}")
                }
                "publish" => assert_eq!(answer["batchItemFailures"], json!([]), "{answer}"),
                _ => {}
            }
        }
    }
    d.assert_least_privilege();
}

fn authed_json(method: &str, uri: &str, token: &str, body: Value) -> Request<Body> {
    json_request(method, uri, Some(token), body)
}

/// A state change at the till, with the Idempotency-Key it needs.
fn keyed(method: &str, uri: &str, token: &str, key: &str, body: Value) -> Request<Body> {
    let mut request = json_request(method, uri, Some(token), body);
    request
        .headers_mut()
        .insert("idempotency-key", key.parse().expect("a header value"));
    request
}

fn authed_get(uri: &str, token: &str) -> Request<Body> {
    tessera_tests::authed("GET", uri, token)
}

#[tokio::test]
async fn a_merchants_day_runs_through_the_deployed_functions_within_their_policies() {
    // Callbacks reach the day's receiver on this machine, as a local stack's do.
    let d = deploy(&[("CallbackTargets", "any")]).await;
    // Signed out: the authorizer (a Lambda of its own) lets the request through with the
    // reason, and the function answers it as problem+json.
    let (status, body) = d.call(tessera_tests::get("/sub-accounts")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    let admin = d.sign_in(DEMO, "admin", DEMO_PASSWORD).await;
    for uri in [
        "/sub-accounts",
        "/branches",
        "/branch-bindings",
        "/merchant/profile",
        "/merchant/contract",
        "/merchant/operation-settings",
        "/merchant/ticket-page",
        "/merchant/history",
        "/bills",
        "/redeemable-stores",
        "/joint-issuers",
        "/login-history",
        "/login-alerts",
        "/orders/unissued",
        "/issuance/rules",
        "/issuance/batches",
        "/error-codes",
    ] {
        let (status, body) = d.call(authed_get(uri, &admin)).await;
        assert_eq!(status, 200, "GET {uri}: {body}");
    }
    let (status, body) = d
        .call(authed_get("/merchants/search?q=DEMO0003", &admin))
        .await;
    assert_eq!(status, 200, "{body}");

    // A branch, a product and a paid order.
    let (status, body) = d
        .call(authed_json(
            "POST",
            "/branches",
            &admin,
            json!({"code": "TPE09", "name": "信義店"}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, product) = d
        .call(authed_json(
            "POST",
            "/products",
            &admin,
            json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["product_id"].as_str().expect("an id").to_owned();
    let (status, body) = d
        .call(authed_get(
            &format!("/products/{product_id}/history"),
            &admin,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = d
        .call(authed_json(
            "POST",
            &format!("/products/{product_id}/image-uploads"),
            &admin,
            json!({"content_type": "image/png", "size": 1024}),
        ))
        .await;
    assert!(status == 201 || status == 200, "{body}");
    let paid_at = Utc::now() - Duration::days(1);
    let (status, body) = d
        .call(authed_json(
            "POST",
            "/orders",
            &admin,
            json!({"trade_no": "ORD900", "product_id": product_id, "amount": 120, "quantity": 1,
                   "cardholder_name": "王小明", "cardholder_mobile": "0912345678", "paid_at": paid_at}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");

    // Issuance: presigned upload, preview, confirm, the worker, the mail.
    let file = tessera_sheets::issuance_template(&[[
        "IMP900",
        "ORD900",
        &product_id,
        "1",
        "王小明",
        "0912345678",
        "ming@example.com",
        "",
    ]
    .map(str::to_owned)])
    .expect("a template");
    let (status, upload) = d
        .call(authed_json(
            "POST",
            "/issuance/uploads",
            &admin,
            json!({"delivery_method": "electronic_immediate", "size": file.len()}),
        ))
        .await;
    assert_eq!(status, 201, "{upload}");
    let put = tessera_tests::put_to(
        upload["upload_url"].as_str().expect("a URL"),
        upload["content_type"].as_str().expect("a type"),
        &file,
    )
    .await;
    assert_eq!(put, 200);
    let upload_id = upload["upload_id"].as_str().expect("an id").to_owned();
    let (status, preview) = d
        .call(authed_json(
            "POST",
            &format!("/issuance/uploads/{upload_id}/preview"),
            &admin,
            json!({}),
        ))
        .await;
    assert_eq!(
        (status, &preview["can_confirm"]),
        (200, &json!(true)),
        "{preview}"
    );
    let (status, batch) = d
        .call(authed_json(
            "POST",
            &format!("/issuance/uploads/{upload_id}/confirm"),
            &admin,
            json!({}),
        ))
        .await;
    assert_eq!(status, 202, "{batch}");
    d.publish().await;
    assert!(d.drain("BatchIssueQueue", "BatchIssueFunction").await >= 1);
    let (status, batch) = d
        .call(authed_get(
            &format!("/issuance/batches/{upload_id}"),
            &admin,
        ))
        .await;
    assert_eq!(
        (status, batch["status"].as_str()),
        (200, Some("done")),
        "{batch}"
    );
    assert!(
        d.publish().await.delivered >= 1,
        "the batch requested its notifications"
    );
    assert!(d.drain("NotificationsQueue", "NotifyFunction").await >= 1);

    // At the till: look up, redeem (twice with one key: one redemption), cancel, return.
    let merchant = MerchantId::parse("m", DEMO).expect("an id");
    let services = d.stack.services(Arc::new(FixedClock::at(Utc::now())));
    let tickets = services
        .table
        .tickets_of_issued_order(&merchant, "IMP900")
        .await
        .expect("tickets readable");
    assert_eq!(tickets.len(), 1);
    let (code, ticket_no) = (
        tickets[0].redemption_code.clone(),
        tickets[0].ticket_no.clone(),
    );
    let issued = services
        .table
        .get_issued_order(&merchant, "IMP900")
        .await
        .expect("issued order readable")
        .expect("issued");
    assert!(
        issued.link_token.is_some(),
        "an electronic order has its page"
    );
    // The back office resends and changes the buyer; the new buyer's page opens (HTML and
    // JSON), gives the ticket away, and the merchant cancels the transfer.
    for (method, uri, key, body) in [
        (
            "POST",
            "/issued-orders/IMP900/resend",
            "resend-900",
            json!({}),
        ),
        (
            "PUT",
            "/issued-orders/IMP900/buyer",
            "buyer-900",
            json!({"name": "陳小華", "mobile": "0933000111", "email": "hua@demo.com.tw"}),
        ),
    ] {
        let (status, body) = d.call(keyed(method, uri, &admin, key, body)).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
    let link = services
        .table
        .get_issued_order(&merchant, "IMP900")
        .await
        .expect("issued order readable")
        .and_then(|o| o.link_token)
        .expect("a new page");
    let page = tessera_tests::send(&d.api, tessera_tests::get(&format!("/t/{link}"))).await;
    assert_eq!(page.status(), 200);
    let (status, wallet) = d.call(tessera_tests::get(&format!("/wallet/{link}"))).await;
    assert_eq!(status, 200, "{wallet}");
    let mut give = json_request(
        "POST",
        &format!("/wallet/{link}/transfers"),
        None,
        json!({"ticket_nos": [ticket_no], "recipient": {"name": "林小美", "mobile": "0922333444", "email": "mei@demo.com.tw"}}),
    );
    give.headers_mut()
        .insert("idempotency-key", "give-900".parse().expect("a header"));
    let (status, transfer) = d.call(give).await;
    assert_eq!(status, 201, "{transfer}");
    let transfer_id = transfer["transfer_id"].as_str().expect("an id").to_owned();
    for uri in [
        "/issued-orders/IMP900".to_owned(),
        "/issued-orders/IMP900/history".to_owned(),
        format!("/transfers/{transfer_id}"),
        format!("/transfers/{transfer_id}/history"),
    ] {
        let (status, body) = d.call(authed_get(&uri, &admin)).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
    let (status, body) = d
        .call(keyed(
            "POST",
            &format!("/transfers/{transfer_id}/cancel"),
            &admin,
            "cancel-transfer-900",
            json!({}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // The publisher brings the ticket in line with its new buyer.
    d.publish().await;
    // Paper printing: a paper ticket of the merchant's printing (written beside IMP900's)
    // printed, the list, the test print, its print history; one of the platform's printing
    // moved through the operator's print run.
    let paper = |sequence: u64, method: tessera_domain::merchant::DeliveryMethod| {
        let mut ticket = tickets[0].clone();
        ticket.ticket_no = tessera_domain::tickets::TicketNumber::from_sequence(sequence);
        ticket.redemption_code =
            tessera_domain::tickets::RedemptionCode::generate(sequence, [9; 16]);
        ticket.import_no = format!("P{sequence}");
        ticket.delivery_method = method;
        ticket.print_status = Some(match method {
            tessera_domain::merchant::DeliveryMethod::PaperByPlatform => {
                tessera_platform::store::tickets::PrintStatus::AwaitingPlatformPrint
            }
            _ => tessera_platform::store::tickets::PrintStatus::AwaitingMerchantPrint,
        });
        ticket.version = 1;
        ticket
    };
    let own = paper(
        880_000_001,
        tessera_domain::merchant::DeliveryMethod::PaperByMerchant,
    );
    let platform = paper(
        880_000_002,
        tessera_domain::merchant::DeliveryMethod::PaperByPlatform,
    );
    services
        .table
        .transact(
            vec![
                tessera_platform::store::tickets::new_ticket_write(&own).expect("a write"),
                tessera_platform::store::tickets::new_ticket_write(&platform).expect("a write"),
            ],
            tessera_domain::ErrorCode::ConcurrentChange,
        )
        .await
        .expect("paper tickets written");
    let print = keyed(
        "POST",
        "/paper-tickets/print",
        &admin,
        "print-900",
        json!({"ticket_nos": [own.ticket_no]}),
    );
    let response = tessera_tests::send(&d.api, print).await;
    assert_eq!(response.status(), 200);
    let (status, session) = d
        .call(json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": tessera_dev::seed::OPERATOR, "password": tessera_dev::seed::OPERATOR_PASSWORD}),
        ))
        .await;
    assert_eq!(status, 201, "{session}");
    let ops = session["token"].as_str().expect("a token").to_owned();
    let (status, run) = d.call(authed_get("/operator/print-run", &ops)).await;
    assert_eq!(status, 200, "{run}");
    let (status, run) = d
        .call(authed_json(
            "PUT",
            "/operator/print-run/status",
            &ops,
            json!({"ticket_nos": [platform.ticket_no], "status": "printed"}),
        ))
        .await;
    assert_eq!(status, 200, "{run}");
    let day = tessera_domain::calendar::taipei_date(Utc::now());
    for uri in [
        format!("/reports/paper-tickets?from={day}&to={day}"),
        "/paper-tickets/test-print".to_owned(),
        format!("/paper-tickets/{}/prints", own.ticket_no),
    ] {
        let response = tessera_tests::send(&d.api, authed_get(&uri, &admin)).await;
        assert_eq!(response.status(), 200, "{uri}");
    }
    let (status, body) = d
        .call(authed_json(
            "POST",
            "/tickets/lookup",
            &admin,
            json!({"code": code}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    for _ in 0..2 {
        let (status, body) = d
            .call(keyed(
                "POST",
                "/redemptions",
                &admin,
                "redeem-900",
                json!({"code": code}),
            ))
            .await;
        assert!((200..300).contains(&status), "{body}");
    }
    let (status, body) = d
        .call(keyed(
            "POST",
            "/redemptions/cancel",
            &admin,
            "cancel-900",
            json!({"code": code, "reason": "顧客取消"}),
        ))
        .await;
    assert!((200..300).contains(&status), "{body}");
    let (status, body) = d
        .call(keyed(
            "POST",
            "/returns",
            &admin,
            "return-900",
            json!({"code": code, "reason": "顧客退貨"}),
        ))
        .await;
    assert!((200..300).contains(&status), "{body}");
    let (status, history) = d
        .call(authed_get(&format!("/tickets/{ticket_no}/history"), &admin))
        .await;
    assert_eq!(status, 200, "{history}");
    d.publish().await;
    d.drain("NotificationsQueue", "NotifyFunction").await;

    // Reports: the ticket report by date and by order, then its export, written by the
    // export worker and downloaded through its link.
    let today = tessera_domain::calendar::taipei_date(Utc::now());
    let (status, circulation) = d
        .call(authed_get(
            &format!("/reports/circulation?from={today}&to={today}"),
            &admin,
        ))
        .await;
    assert_eq!(status, 200, "{circulation}");
    assert_eq!(circulation["total"]["returned_count"], 1, "{circulation}");
    let (status, dashboard) = d.call(authed_get("/dashboard", &admin)).await;
    assert_eq!(status, 200, "{dashboard}");
    for uri in [
        format!("/reports/cross-store?from={today}&to={today}"),
        format!("/reports/branch?from={today}&to={today}&branch=TPE01"),
        format!("/reports/sms-log?from={today}&to={today}"),
        format!("/reports/issued-orders?from={today}&to={today}"),
        format!("/reports/transfers?from={today}&to={today}"),
        format!("/reports/return-fees?from={today}&to={today}"),
    ] {
        let (status, page) = d.call(authed_get(&uri, &admin)).await;
        assert_eq!(status, 200, "{uri}: {page}");
    }
    for query in [
        format!("mode=date&from={today}&to={today}&date_type=returned&columns=order"),
        format!("mode=date&from={today}&to={today}&statuses=pending_return"),
        "mode=orders&import_nos=IMP900".to_owned(),
    ] {
        let (status, page) = d
            .call(authed_get(&format!("/reports/tickets?{query}"), &admin))
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(
            page["rows"].as_array().map(Vec::len),
            Some(1),
            "{query}: {page}"
        );
    }
    let (status, export) = d
        .call(keyed(
            "POST",
            "/exports",
            &admin,
            "export-900",
            json!({"report": "tickets", "query": {"mode": "orders", "import_nos": "IMP900"}}),
        ))
        .await;
    assert_eq!(status, 202, "{export}");
    d.publish().await;
    assert_eq!(
        d.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let (status, export) = d
        .call(authed_get(
            &format!("/exports/{}", export["export_id"].as_str().expect("an id")),
            &admin,
        ))
        .await;
    assert_eq!(
        (status, export["status"].as_str()),
        (200, Some("done")),
        "{export}"
    );
    let file = tessera_tests::get_bytes(export["download_url"].as_str().expect("a link")).await;
    assert!(file.starts_with(b"PK"), "the link downloads the xlsx");

    // Installment mode: the demo installment merchant sets its refund notify URL, issues a
    // paid order as three serials, remarks it, returns it and cancels the return, and
    // reads its reports.
    let installment = d
        .sign_in(tessera_dev::seed::INSTALLMENT, "admin", DEMO_PASSWORD)
        .await;
    let (status, body) = d
        .call(authed_json(
            "PUT",
            "/merchant/refund-notify-url",
            &installment,
            json!({"url": "https://shop.example.com/refunds"}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, course) = d
        .call(authed_json(
            "POST",
            "/products",
            &installment,
            json!({"name": "季課程", "kind": "goods_voucher", "term_days": 120, "face_value": 3000}),
        ))
        .await;
    assert_eq!(status, 201, "{course}");
    let (status, body) = d
        .call(authed_json(
            "POST",
            "/orders",
            &installment,
            json!({"trade_no": "INST900", "product_id": course["product_id"], "amount": 3000, "quantity": 1,
                   "cardholder_name": "林小華", "cardholder_mobile": "0912345678", "paid_at": paid_at}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let first = today + Duration::days(1);
    for (uri, key, body, expected) in [
        (
            "/installment-orders",
            "inst-issue-900",
            json!({"trade_no": "INST900", "periods": 3, "first_redemption_on": first}),
            201,
        ),
        (
            "/installment-orders/INST900/remarks",
            "inst-remark-900",
            json!({"remark": "客戶來電"}),
            200,
        ),
        (
            "/installment-orders/INST900/return",
            "inst-return-900",
            json!({"fee": "30", "reason": "退課"}),
            200,
        ),
        (
            "/installment-orders/INST900/cancel-return",
            "inst-cancel-900",
            json!({"reason": "弄錯"}),
            200,
        ),
    ] {
        let (status, body) = d.call(keyed("POST", uri, &installment, key, body)).await;
        assert_eq!(status, expected, "{uri}: {body}");
    }
    for uri in [
        "/merchant/refund-notify-url".to_owned(),
        "/merchant/refund-notify-url/history".to_owned(),
        "/installment-orders/INST900".to_owned(),
        "/installment-orders/INST900/history".to_owned(),
        format!("/reports/installment-orders?from={today}&to={today}"),
        format!("/reports/installment-serials?from={today}&to={first}"),
        format!("/reports/return-fees?from={today}&to={today}"),
    ] {
        let (status, body) = d.call(authed_get(&uri, &installment)).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
    d.publish().await;

    // Refund callbacks: a signing secret, a receiver that fails once then answers, pings
    // sent through the deployed sender (a failed try sets its backoff on the message).
    let answers = Arc::new(std::sync::Mutex::new(vec![204u16, 500]));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post({
            let answers = answers.clone();
            move || {
                let answers = answers.clone();
                async move {
                    let code = answers.lock().expect("answers").pop().unwrap_or(204);
                    axum::http::StatusCode::from_u16(code).expect("a status")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let hook = format!("http://{}/hook", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the receiver") });
    let (status, body) = d
        .call(authed_json(
            "PUT",
            "/merchant/refund-notify-url",
            &installment,
            json!({"url": hook}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    for (uri, key) in [
        ("/merchant/webhook-secret", "secret-900"),
        ("/webhooks/ping", "ping-900"),
    ] {
        let (status, body) = d
            .call(keyed("POST", uri, &installment, key, json!({})))
            .await;
        assert!((200..300).contains(&status), "{uri}: {body}");
    }
    assert_eq!(d.drain("RefundNotifyQueue", "CallbacksFunction").await, 1);
    let (status, body) = d
        .call(keyed(
            "POST",
            "/webhooks/ping",
            &installment,
            "ping-901",
            json!({}),
        ))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(d.drain("RefundNotifyQueue", "CallbacksFunction").await, 1);
    let (status, log) = d
        .call(authed_get(
            &format!("/webhooks/deliveries?from={today}&to={today}"),
            &installment,
        ))
        .await;
    assert_eq!(status, 200, "{log}");
    let statuses: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["status"].as_str())
        .collect();
    assert!(
        statuses.contains(&"pending") && statuses.contains(&"delivered"),
        "{log}"
    );
    let (status, state) = d
        .call(authed_get("/merchant/webhook-secret", &installment))
        .await;
    assert_eq!((status, &state["exists"]), (200, &json!(true)), "{state}");

    // The scheduled jobs, called as EventBridge Scheduler calls them, and a job's
    // continuation as the jobs queue's SQS integration delivers it.
    let continuation = json!({"Records": [{
        "messageId": "continuation-1",
        "body": json!({"job": "ticket_steps", "day": "2026-12-01"}).to_string(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSource": "aws:sqs"
    }]});
    for (function, input) in [
        ("DailyJobsFunction", json!({"job": "unissued_orders"})),
        ("DailyJobsFunction", json!({"job": "ticket_steps"})),
        ("DailyJobsFunction", json!({"job": "daily_fees"})),
        ("DailyJobsFunction", json!({"job": "reprint_reminder"})),
        ("DailyJobsFunction", json!({"job": "installment_steps"})),
        ("DailyJobsFunction", continuation),
        ("BillingCloseFunction", json!({"job": "monthly_close"})),
    ] {
        let answer = d
            .functions
            .invoke(function, &input)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            answer
                .get("batchItemFailures")
                .is_none_or(|failures| failures == &json!([])),
            "{function}: {answer}"
        );
    }

    // The platform operator, in its own function: signs in, reads the job runs and the
    // audit, sets a rate, signs out.
    let (status, session) = d
        .call(json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": tessera_dev::seed::OPERATOR, "password": tessera_dev::seed::OPERATOR_PASSWORD}),
        ))
        .await;
    assert_eq!(status, 201, "{session}");
    let operator = session["token"].as_str().expect("a token").to_owned();
    let (status, runs) = d
        .call(authed_get("/operator/job-runs?job=ticket_steps", &operator))
        .await;
    assert_eq!(status, 200, "{runs}");
    assert!(
        !runs["items"].as_array().expect("runs").is_empty(),
        "{runs}"
    );
    let (status, rates) = d
        .call(authed_json(
            "PUT",
            &format!("/operator/merchants/{DEMO}/rates"),
            &operator,
            json!({"mode": "redeem_after_use", "item": "sms", "basis": "per_unit", "amount": "1.2", "effective_from": "2026-12-01T00:00:00Z"}),
        ))
        .await;
    assert_eq!(status, 200, "{rates}");
    let (status, audit) = d.call(authed_get("/operator/audit", &operator)).await;
    assert_eq!(
        (status, audit["items"][0]["action"].as_str()),
        (200, Some("rate_set")),
        "{audit}"
    );
    let (status, published) = d
        .call(authed_json(
            "PUT",
            "/operator/announcements/deployed-1",
            &operator,
            json!({"title": "維護公告", "body": "今晚維護。", "merchants": [DEMO]}),
        ))
        .await;
    assert_eq!(status, 201, "{published}");
    let (status, messages) = d.call(authed_get("/messages", &admin)).await;
    assert_eq!(
        (status, messages["unread"].as_u64()),
        (200, Some(1)),
        "{messages}"
    );
    let (status, _) = d
        .call(authed_json(
            "PUT",
            "/messages/deployed-1/read",
            &admin,
            json!({}),
        ))
        .await;
    assert_eq!(status, 204);
    let form = b"%PDF-1.4\n%%EOF\n".to_vec();
    let (status, upload) = d
        .call(authed_json(
            "PUT",
            "/operator/documents/form-1",
            &operator,
            json!({"title": "申請表", "content_type": "application/pdf", "size": form.len()}),
        ))
        .await;
    assert_eq!(status, 200, "{upload}");
    let url = upload["upload_url"].as_str().expect("an upload link");
    assert_eq!(
        tessera_tests::put_to(url, "application/pdf", &form).await,
        200
    );
    let (status, published) = d
        .call(authed_json(
            "PUT",
            "/operator/documents/form-1/published",
            &operator,
            json!({}),
        ))
        .await;
    assert_eq!(status, 200, "{published}");
    let (status, documents) = d.call(authed_get("/documents", &admin)).await;
    assert_eq!(status, 200, "{documents}");
    let link = documents["items"][0]["download_url"]
        .as_str()
        .expect("a link");
    assert_eq!(tessera_tests::get_bytes(link).await, form);
    let (status, _) = d
        .call(tessera_tests::authed(
            "DELETE",
            "/operator/sessions/current",
            &operator,
        ))
        .await;
    assert_eq!(status, 204);

    // Unlinking a redeemable store takes it off the products that list it; re-opening
    // grants nothing by itself.
    let partner = tessera_dev::seed::PARTNER;
    let (status, listed) = d
        .call(authed_json(
            "POST",
            "/products",
            &admin,
            json!({"name": "聯合提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 100, "redeemable_stores": [partner]}),
        ))
        .await;
    assert_eq!(status, 201, "{listed}");
    for status_to in ["unlinked", "open"] {
        let (status, body) = d
            .call(authed_json(
                "PUT",
                &format!("/redeemable-stores/{partner}/status"),
                &admin,
                json!({"status": status_to}),
            ))
            .await;
        assert_eq!(status, 200, "{status_to}: {body}");
    }
    let (status, product) = d
        .call(authed_get(
            &format!(
                "/products/{}",
                listed["product_id"].as_str().expect("an id")
            ),
            &admin,
        ))
        .await;
    assert_eq!(status, 200, "{product}");
    assert_eq!(product["redeemable_stores"], json!([]), "{product}");

    // A bound cashier is held to the rights the stored account has, in its own process.
    let cashier = d.sign_in(DEMO, "cashier01", "Tessera2026").await;
    let (status, body) = d
        .call(authed_json(
            "POST",
            "/sub-accounts",
            &cashier,
            json!({"account": "intruder01", "password": "Tessera2026"}),
        ))
        .await;
    assert_eq!(status, 403, "{body}");

    // The session's own view (the console's menus): the auth function reads the contract.
    let (status, current) = d.call(authed_get("/sessions/current", &admin)).await;
    assert_eq!(
        (status, current["role"].as_str()),
        (200, Some("admin")),
        "{current}"
    );

    let (status, _) = d
        .call(authed_json(
            "DELETE",
            "/sessions/current",
            &admin,
            json!({}),
        ))
        .await;
    assert!((200..300).contains(&status));
    let (status, body) = d.call(authed_get("/branches", &admin)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED"))
    );

    for unused in d.assert_least_privilege() {
        eprintln!("warning: allowed but used by no test: {unused}");
    }
}

#[tokio::test]
async fn a_sign_in_at_the_most_verbose_log_level_logs_neither_the_password_nor_the_token() {
    let d = deploy(&[("LogLevel", "trace")]).await;
    let token = d.sign_in(DEMO, "admin", DEMO_PASSWORD).await;
    let (status, body) = d.call(authed_get("/login-history", &token)).await;
    assert_eq!(status, 200, "{body}");
    let mut printed = String::new();
    for id in ["AuthFunction", deployed::AUTHORIZER] {
        let pool = d.functions.pool(id).expect("a function of the template");
        assert_eq!(pool.config.environment["RUST_LOG"], "trace");
        printed.push_str(&pool.output());
    }
    assert!(
        !printed.is_empty(),
        "at trace the functions print something"
    );
    assert!(!printed.contains(DEMO_PASSWORD), "the password was logged");
    let signature = token.rsplit('.').next().expect("a signature");
    assert!(!printed.contains(signature), "the token was logged");
}

#[tokio::test]
async fn an_export_longer_than_one_run_is_continued_by_the_deployed_worker_within_its_policy() {
    use futures_util::{StreamExt, TryStreamExt};
    let d = deploy(&[]).await;
    let admin = d.sign_in(DEMO, "admin", DEMO_PASSWORD).await;
    let today = tessera_domain::calendar::taipei_date(Utc::now());
    let (status, export) = d
        .call(keyed(
            "POST",
            "/exports",
            &admin,
            "export-sms",
            json!({"report": "sms_log", "query": {"from": today, "to": today}}),
        ))
        .await;
    assert_eq!(status, 202, "{export}");
    d.publish().await;
    // More SMS in the log than one page of the export holds (stored after the export is
    // asked for: the stream is read from its start, and the export's event comes first).
    let services = d.stack.services(Arc::new(FixedClock::at(Utc::now())));
    let pages = fn_report_export::PAGE_ROWS + 20;
    let sent_at = Utc::now() - Duration::minutes(5);
    futures_util::stream::iter(0..pages)
        .map(|i| {
            let table = services.table.clone();
            async move {
                let entry = tessera_platform::store::notifications::SmsLogEntry {
                    notification_id: format!("sms-{i:04}"),
                    merchant_id: DEMO.to_owned(),
                    at: sent_at + Duration::milliseconds(i as i64),
                    to: "0912345678".to_owned(),
                    buyer_name: "王小明".to_owned(),
                    body: "您的電子票券已送達".to_owned(),
                    purpose: "issue".to_owned(),
                };
                table.record_sms(&entry).await
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await
        .expect("the log stored");
    // The first run is given less time than the worker's margin before Lambda's deadline:
    // it closes its part after one page and queues the rest itself.
    let pool = d
        .functions
        .pool("ReportExportFunction")
        .expect("a function of the template");
    let worker = Arc::new(
        Instance::start(&pool.config)
            .await
            .expect("the worker starts"),
    );
    let short_run: tessera_dev::functions::QueueHandler = Arc::new(move |event| {
        let worker = worker.clone();
        Box::pin(async move {
            let payload = serde_json::to_value(&event)?;
            let answer = worker
                .invoke(&payload, std::time::Duration::from_secs(30))
                .await?;
            Ok(serde_json::from_value(answer)?)
        })
    });
    let url = &d.stack.provisioned.queue_urls["ReportExportQueue"];
    let taken = tessera_dev::gateway::poll_once(&d.stack.aws.sqs, url, &short_run, 0)
        .await
        .expect("the queue reads");
    assert_eq!(taken, 1);
    // The rest, by the function as Lambda runs it.
    assert_eq!(
        d.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let (status, done) = d
        .call(authed_get(
            &format!("/exports/{}", export["export_id"].as_str().expect("an id")),
            &admin,
        ))
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("done")),
        "{done}"
    );
    let parts: Vec<u64> = done["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|part| part["rows"].as_u64().expect("rows"))
        .collect();
    assert_eq!(parts, [fn_report_export::PAGE_ROWS as u64, 20], "{done}");
    d.assert_least_privilege();
}
