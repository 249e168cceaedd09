//! The answers every operation shares, reached on every operation of the OpenAPI document
//! (walked from the document itself, so a new operation cannot skip them). Together with
//! the rest of the suite they meet every (operation, status) pair the document promises,
//! which `tessera-dev status-coverage` checks after a whole run (localstack/test.sh):
//! - a body the operation cannot read: not JSON or not a form (400), of another media type
//!   (415), over the limit (413); on a keyed operation a malformed Idempotency-Key (400); a
//!   query parameter breaking its documented schema (400); a path parameter breaking its
//!   shape (404 on the merchant's routes: it names nothing; 400 on the operator's);
//! - every service it needs down: 503 DEPENDENCY_UNAVAILABLE, never a 500 or a hang;
//! - a change that loses its race every time it is tried: 409 CONCURRENT_CHANGE (on the
//!   security table's samples, samples.rs);
//!
//! and, last, the few refusals particular to one operation that no other test meets.
//! None of these changes the table.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{ADMIN_PASSWORD, OPERATOR, PARENT, PARTNER};
use tessera_tests::faults::{Failure, FaultProxy};
use tessera_tests::{seeded, Seeded};

#[derive(Clone, Copy, PartialEq, Debug)]
enum BodyType {
    Json,
    Form,
}

/// One operation as the document states it.
struct Operation {
    method: String,
    path: String,
    body: Option<BodyType>,
    signed_in: bool,
    documented: BTreeSet<u16>,
    /// Each query parameter with its schema.
    query: Vec<(String, Value)>,
    path_parameters: Vec<String>,
}

impl Operation {
    fn is_operator(&self) -> bool {
        self.path.starts_with(tessera_dev::openapi::OPERATOR_PREFIX)
    }

    fn keyed(&self) -> bool {
        self.method != "GET"
            && tessera_dev::openapi::takes_idempotency_key(&self.method, &self.path)
    }

    /// The path with each parameter given a value of its documented shape.
    fn uri(&self) -> String {
        self.uri_with(None)
    }

    /// As [`Operation::uri`], with `parameter` given `value` instead.
    fn uri_with(&self, replaced: Option<(&str, &str)>) -> String {
        let product_id = tessera_domain::values::ProductId::generate([7; 10]).to_string();
        let ticket_no = tessera_domain::tickets::TicketNumber::from_sequence(1).to_string();
        let hex = "0123456789abcdef0123456789abcdef";
        let token = "0".repeat(40);
        let mut uri = self.path.clone();
        for (name, value) in [
            ("account", "cashier01"),
            ("code", "TPE01"),
            ("product_id", product_id.as_str()),
            ("trade_no", "ORD1"),
            ("import_no", "IMP1"),
            ("upload_id", hex),
            ("batch_id", hex),
            ("export_id", hex),
            ("transfer_id", hex),
            ("delivery_id", hex),
            ("announcement_id", "note1"),
            ("document_id", "doc1"),
            ("merchant_id", PARENT),
            ("month", "2026-11"),
            ("issuer_id", PARTNER),
            ("store_id", PARTNER),
            ("ticket_no", ticket_no.as_str()),
            ("token", token.as_str()),
            ("image", "logo"),
        ] {
            let value = match replaced {
                Some((parameter, value)) if parameter == name => value,
                _ => value,
            };
            uri = uri.replace(&format!("{{{name}}}"), value);
        }
        assert!(!uri.contains('{'), "a parameter without a value: {uri}");
        uri
    }
}

fn operations(document: &Value) -> Vec<Operation> {
    tessera_dev::openapi::operations(&tessera_dev::openapi::document())
        .into_iter()
        .map(|(method, path)| {
            let operation = &document["paths"][&path][method.to_ascii_lowercase()];
            let content = &operation["requestBody"]["content"];
            let body = if content.get("application/json").is_some() {
                Some(BodyType::Json)
            } else if content.get("application/x-www-form-urlencoded").is_some() {
                Some(BodyType::Form)
            } else {
                None
            };
            let responses = operation["responses"].as_object();
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let of_kind = |kind: &str| {
                parameters
                    .iter()
                    .filter(|p| p["in"] == kind)
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or_default().to_owned(),
                            p["schema"].clone(),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let path_parameters = of_kind("path").into_iter().map(|(name, _)| name).collect();
            Operation {
                query: of_kind("query"),
                path_parameters,
                body,
                signed_in: operation["security"]
                    .as_array()
                    .is_some_and(|security| !security.is_empty()),
                documented: responses
                    .map(|r| r.keys().filter_map(|s| s.parse().ok()).collect())
                    .unwrap_or_default(),
                method,
                path,
            }
        })
        .collect()
}

/// Tokens for the walks: the demo parent's admin and the platform's operator.
struct Callers {
    admin: String,
    operator: String,
}

impl Callers {
    async fn of(w: &Seeded) -> Callers {
        Callers {
            admin: w.token(PARENT, "admin", ADMIN_PASSWORD).await,
            operator: w.operator_token(OPERATOR).await,
        }
    }

    fn for_operation(&self, operation: &Operation) -> Option<&str> {
        match (operation.signed_in, operation.is_operator()) {
            (false, _) => None,
            (true, true) => Some(&self.operator),
            (true, false) => Some(&self.admin),
        }
    }
}

/// A request of `operation` with `body` of `content_type`, the caller's token, and a fresh
/// well-formed Idempotency-Key on a keyed operation.
fn request(
    operation: &Operation,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    request_to(operation, operation.uri(), token, content_type, body)
}

fn request_to(
    operation: &Operation,
    uri: String,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder()
        .method(operation.method.as_str())
        .uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    if operation.keyed() {
        builder = builder.header("idempotency-key", uuid::Uuid::new_v4().simple().to_string());
    }
    builder
        .body(axum::body::Body::from(body))
        .expect("a request")
}

/// Past every body limit of the API (the idempotency layer's 1 MiB, axum's 2 MB).
const OVERSIZED_BODY: usize = 2 * 1024 * 1024 + 1;

#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    /// Notes the answer unless it is `expected` (with one of `codes`, when the answer is
    /// problem+json and codes are given) and documented.
    fn expect(
        &mut self,
        operation: &Operation,
        what: &str,
        answer: &(u16, Value),
        expected: u16,
        codes: &[&str],
    ) {
        let (status, body) = answer;
        let code = body["code"].as_str();
        let code_differs = match code {
            Some(code) => !codes.is_empty() && !codes.contains(&code),
            // A page (the e-ticket page's routes) carries no code.
            None => !body.is_string(),
        };
        if *status != expected || code_differs {
            self.0.push(format!(
                "{} {} {what}: expected {expected} {codes:?}, got {status} {body}",
                operation.method, operation.path
            ));
        }
        if !operation.documented.contains(status) {
            self.0.push(format!(
                "{} {} {what}: {status} is not documented",
                operation.method, operation.path
            ));
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} findings:\n{:#?}",
            self.0.len(),
            self.0
        );
    }
}

#[tokio::test]
async fn every_request_of_the_wrong_shape_is_refused_before_anything_is_done() {
    let w = seeded().await;
    let callers = Callers::of(&w).await;
    let document = serde_json::to_value(tessera_dev::openapi::document()).expect("the document");
    let before = w.snapshot().await;
    let mut findings = Findings::default();
    let mut walked = 0;
    for operation in operations(&document) {
        let token = callers.for_operation(&operation);
        parameters_breaking_their_rules(&w, &operation, token, &mut findings).await;
        let Some(body_type) = operation.body else {
            key_breaking_its_rule(&w, &operation, token, &mut findings).await;
            continue;
        };
        walked += 1;
        let (own_type, other_type, unreadable): (&str, &str, &[u8]) = match body_type {
            BodyType::Json => ("application/json", "text/plain", br#"{"name": "#),
            // A form is read leniently (any pairs); an empty one lacks what every form needs.
            BodyType::Form => ("application/x-www-form-urlencoded", "application/json", b""),
        };
        let answer = w
            .call(request(
                &operation,
                token,
                Some(own_type),
                unreadable.to_vec(),
            ))
            .await;
        findings.expect(
            &operation,
            "with a body it cannot read",
            &answer,
            400,
            &["MALFORMED_JSON", "VALIDATION_FAILED"],
        );
        let answer = w
            .call(request(&operation, token, Some(other_type), b"{}".to_vec()))
            .await;
        findings.expect(
            &operation,
            &format!("with a {other_type} body"),
            &answer,
            415,
            &["UNSUPPORTED_MEDIA_TYPE"],
        );
        let oversized = vec![b'x'; OVERSIZED_BODY];
        let answer = w
            .call(request(&operation, token, Some(own_type), oversized))
            .await;
        findings.expect(
            &operation,
            "with a body over the limit",
            &answer,
            413,
            &["PAYLOAD_TOO_LARGE"],
        );
        key_breaking_its_rule(&w, &operation, token, &mut findings).await;
    }
    assert!(
        walked > 50,
        "the document's operations with a body: {walked}"
    );
    let after = w.snapshot().await;
    for key in tessera_tests::changed_items(&before, &after) {
        // Reading a request counts against the public routes' per-address limits.
        if !key.starts_with("RATE#") {
            findings.0.push(format!("a refused request changed {key}"));
        }
    }
    findings.assert_none();
}

/// A keyed operation with an Idempotency-Key that breaks its pattern: 400.
async fn key_breaking_its_rule(
    w: &Seeded,
    operation: &Operation,
    token: Option<&str>,
    findings: &mut Findings,
) {
    // A link's key is read once the link is found (a fake link is not found first); the
    // consumer tests refuse a bad key on a real link.
    let keyed_by_the_link = tessera_platform::idempotency::KEYED_BY_THE_LINK
        .contains(&(operation.method.as_str(), operation.path.as_str()));
    if !operation.keyed() || keyed_by_the_link {
        return;
    }
    let (content_type, body) = readable_body(operation);
    let mut malformed = request(operation, token, content_type, body);
    malformed.headers_mut().insert(
        "idempotency-key",
        "not a key!".parse().expect("a header value"),
    );
    let answer = w.call(malformed).await;
    findings.expect(
        operation,
        "with a malformed Idempotency-Key",
        &answer,
        400,
        &["IDEMPOTENCY_KEY_REQUIRED"],
    );
}

/// A value that breaks a parameter's documented schema, if the schema constrains it.
fn breaking(schema: &Value) -> Option<String> {
    if schema["type"] == "integer" {
        return Some("x".to_owned());
    }
    if schema["type"] == "boolean" {
        return Some("maybe".to_owned());
    }
    if schema["format"] == "date" {
        return Some("2026-13-45".to_owned());
    }
    if schema.get("pattern").is_some() {
        return Some("%21%21".to_owned());
    }
    schema["maxLength"]
        .as_u64()
        .map(|max| "x".repeat(max as usize + 1))
}

/// Each query parameter and each path parameter given a value that breaks its rule: the
/// query's is refused (400), a path's names nothing (404) or is refused (400).
async fn parameters_breaking_their_rules(
    w: &Seeded,
    operation: &Operation,
    token: Option<&str>,
    findings: &mut Findings,
) {
    let (content_type, body) = readable_body(operation);
    for (name, schema) in &operation.query {
        let Some(value) = breaking(schema) else {
            continue;
        };
        let uri = format!("{}?{name}={value}", operation.uri());
        let answer = w
            .call(request_to(
                operation,
                uri,
                token,
                content_type,
                body.clone(),
            ))
            .await;
        findings.expect(
            operation,
            &format!("with {name} breaking its rule"),
            &answer,
            400,
            &["VALIDATION_FAILED"],
        );
    }
    for name in &operation.path_parameters {
        let uri = operation.uri_with(Some((name.as_str(), "bad%20value%21")));
        let answer = w
            .call(request_to(
                operation,
                uri,
                token,
                content_type,
                body.clone(),
            ))
            .await;
        if !operation.documented.contains(&answer.0) || answer.0 >= 500 {
            findings.0.push(format!(
                "{} {} with {name} breaking its rule: {} {}",
                operation.method, operation.path, answer.0, answer.1
            ));
        }
    }
}

/// A well-formed body for the routes that read their body before anything else (signed-in
/// routes load their caller first, and a refused load answers before the body is read).
fn readable_body(operation: &Operation) -> (Option<&'static str>, Vec<u8>) {
    use tessera_domain::tickets::{RedemptionCode, REDEMPTION_CODE_BYTES};
    let code = RedemptionCode::generate(1, [7; REDEMPTION_CODE_BYTES]).to_string();
    let ticket_no = tessera_domain::tickets::TicketNumber::from_sequence(1).to_string();
    let body = match (operation.method.as_str(), operation.path.as_str()) {
        ("POST", "/redemptions") => json!({"code": code}),
        ("POST", "/redemptions/cancel" | "/returns" | "/returns/cancel") => {
            json!({"code": code, "reason": "x"})
        }
        ("POST", "/sessions") => {
            json!({"merchant_id": PARENT, "account": "admin", "password": "Wrong2026"})
        }
        ("POST", "/operator/sessions") => json!({"account": OPERATOR, "password": "Wrong2026"}),
        ("POST", "/wallet/{token}/transfers") => json!({
            "ticket_nos": [ticket_no],
            "recipient": {"name": "王小明", "mobile": "0912345678", "email": "a@example.com"}
        }),
        ("POST", "/wallet/{token}/return-requests") => {
            json!({"ticket_nos": [ticket_no], "reason": "x"})
        }
        _ => json!({}),
    };
    match operation.body {
        None => (None, Vec::new()),
        Some(BodyType::Json) => (Some("application/json"), body.to_string().into_bytes()),
        Some(BodyType::Form) => (
            Some("application/x-www-form-urlencoded"),
            b"idempotency_key=k1&reason=x".to_vec(),
        ),
    }
}

#[tokio::test]
async fn every_operation_answers_503_when_the_services_it_needs_are_down() {
    let w = seeded().await;
    let callers = Callers::of(&w).await;
    let proxy = FaultProxy::start().await;
    let down = w
        .stack
        .gateway_over(w.stack.services_through(w.clock.clone(), &proxy));
    let document = serde_json::to_value(tessera_dev::openapi::document()).expect("the document");
    // Every call to every service is refused from now on.
    proxy.fail("", Failure::Refused, usize::MAX);
    let mut findings = Findings::default();
    let mut walked = 0;
    for operation in operations(&document) {
        if !operation.documented.contains(&503) {
            continue;
        }
        walked += 1;
        let (content_type, body) = readable_body(&operation);
        let answer = tessera_tests::call(
            &down,
            request(
                &operation,
                callers.for_operation(&operation),
                content_type,
                body,
            ),
        )
        .await;
        findings.expect(
            &operation,
            "with every service down",
            &answer,
            503,
            &["DEPENDENCY_UNAVAILABLE"],
        );
    }
    assert!(walked > 100, "the document's operations: {walked}");
    assert!(proxy.struck("") >= walked, "the services were asked");
    findings.assert_none();
}

#[tokio::test]
async fn every_change_answers_409_when_it_loses_its_race_every_time() {
    use super::samples::{objects, ok, request as sample_request, samples, Victim};
    use tessera_dev::seed::INSTALLMENT;
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let installment_admin = w.token(INSTALLMENT, "admin", ADMIN_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let operator = w.operator_token(OPERATOR).await;
    let o = objects(&w, &admin, &installment_admin, &partner).await;
    // The partner unlinks its issuer: a block the operator may clear.
    let (status, body) = w
        .call(sample_request(
            "POST",
            &format!("/joint-issuers/{PARENT}/unlink"),
            &Some(json!({})),
            Some(&partner),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let document = serde_json::to_value(tessera_dev::openapi::document()).expect("the document");
    let operations = operations(&document);
    let conflicts = |method: &str, path: &str| {
        operations
            .iter()
            .find(|op| op.method == method && op.path == path)
            .filter(|_| {
                document["paths"][path][method.to_ascii_lowercase()]["responses"]["409"]
                    ["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("CONCURRENT_CHANGE"))
            })
    };
    // Every conditional write is refused as if another writer had just changed its items.
    let proxy = FaultProxy::start().await;
    let racing = w
        .stack
        .gateway_over(w.stack.services_through(w.clock.clone(), &proxy));
    for write in ["TransactWriteItems", "PutItem"] {
        proxy.fail(write, Failure::ConditionFailed, usize::MAX);
    }
    // Two pictures uploaded (a picture is set only from an upload that happened): the
    // merchant's logo and a product's without tickets.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR tiny test image";
    let fresh = ok(
        &w,
        "POST",
        "/products",
        &admin,
        json!({"name": "新品", "kind": "gift_voucher", "term_days": 30, "face_value": 100}),
    )
    .await;
    let fresh_id = fresh["product_id"].as_str().expect("an id").to_owned();
    let mut pictures = Vec::new();
    for (ask, ask_body, set) in [
        (
            "/merchant/ticket-page/uploads".to_owned(),
            json!({"image": "logo", "content_type": "image/png", "size": png.len()}),
            (
                "/merchant/ticket-page/images/{image}",
                "/merchant/ticket-page/images/logo".to_owned(),
            ),
        ),
        (
            format!("/products/{fresh_id}/image-uploads"),
            json!({"content_type": "image/png", "size": png.len()}),
            (
                "/products/{product_id}/image",
                format!("/products/{fresh_id}/image"),
            ),
        ),
    ] {
        let ticket = ok(&w, "POST", &ask, &admin, ask_body).await;
        let url = ticket["upload_url"].as_str().expect("an upload link");
        assert_eq!(tessera_tests::put_to(url, "image/png", png).await, 200);
        pictures.push((set.0, set.1, json!({"key": ticket["key"]})));
    }
    let before = w.snapshot().await;
    let mut findings = Findings::default();
    let mut lost = BTreeSet::new();
    for (path, uri, body) in &pictures {
        let operation = conflicts("PUT", path).expect("documented with CONCURRENT_CHANGE");
        let answer = tessera_tests::call(
            &racing,
            sample_request("PUT", uri, &Some(body.clone()), Some(&admin)),
        )
        .await;
        findings.expect(
            operation,
            "losing every race",
            &answer,
            409,
            &["CONCURRENT_CHANGE"],
        );
    }
    for sample in samples(&o) {
        let Some(operation) = conflicts(sample.method, sample.operation) else {
            continue;
        };
        let token = match sample.victim {
            Victim::RedeemAfterUse => &admin,
            Victim::Installment => &installment_admin,
        };
        let answer = tessera_tests::call(
            &racing,
            sample_request(sample.method, &sample.uri, &sample.body, Some(token)),
        )
        .await;
        // A sample its object's state refuses before the commit (a product with tickets, a
        // relation already unlinked) answers that instead: documented, never a 5xx.
        if answer.1["code"] == "CONCURRENT_CHANGE" {
            lost.insert((sample.method, sample.operation));
        }
        if answer.0 >= 500 || !operation.documented.contains(&answer.0) {
            findings.0.push(format!(
                "{} {} losing every race: {} {}",
                sample.method, sample.uri, answer.0, answer.1
            ));
        }
    }
    // The operator's changes of records it keeps.
    for (path, uri, body) in [
        (
            "/operator/announcements/{announcement_id}",
            "/operator/announcements/maint-9",
            json!({"title": "維護", "body": "今晚維護"}),
        ),
        (
            "/operator/documents/{document_id}",
            "/operator/documents/manual-9",
            json!({"title": "操作手冊", "content_type": "application/pdf", "size": 10}),
        ),
        (
            "/operator/relations/{issuer_id}/{store_id}/block-cleared",
            "/operator/relations/DEMO0001/DEMO0003/block-cleared",
            json!({}),
        ),
    ] {
        let operation = conflicts("PUT", path).expect("documented with CONCURRENT_CHANGE");
        let answer = tessera_tests::call(
            &racing,
            sample_request("PUT", uri, &Some(body), Some(&operator)),
        )
        .await;
        findings.expect(
            operation,
            "losing every race",
            &answer,
            409,
            &["CONCURRENT_CHANGE"],
        );
    }
    assert!(
        lost.len() > 12,
        "samples that reached their commit and lost: {lost:?}"
    );
    let after = w.snapshot().await;
    for key in tessera_tests::changed_items(&before, &after) {
        findings
            .0
            .push(format!("a change that lost its race wrote {key}"));
    }
    findings.assert_none();
}

/// The refusals that belong to one operation and that no other test of the suite meets:
/// the operator naming what does not exist, a ping with nowhere to go, a merchant without a
/// contract, a return of a redeemed ticket, an upload confirmed after issuance stopped, and
/// the operator's sign-in limit.
#[tokio::test]
async fn the_refusals_particular_to_one_operation_are_reached() {
    let w = seeded().await;
    let callers = Callers::of(&w).await;
    let (admin, operator) = (callers.admin.as_str(), callers.operator.as_str());
    let expect = |answer: (u16, Value), status: u16, code: &str, what: &str| {
        assert_eq!(
            (answer.0, answer.1["code"].as_str()),
            (status, Some(code)),
            "{what}: {}",
            answer.1
        );
    };
    let contract = |issuance: bool| {
        json!({"starts_on": "2026-01-01", "ends_on": "2027-12-31", "issuance_enabled": issuance,
               "sms_contracted": true, "redemption_mode": "redeem_after_use",
               "delivery_methods": ["electronic_immediate", "paper_by_merchant"]})
    };

    // The operator names a merchant, a ticket, a relation or a document that does not exist.
    let nobody = "ZZZZ9999";
    let unissued = tessera_domain::tickets::TicketNumber::from_sequence(987_654_321_012);
    for (uri, body, code) in [
        (
            format!("/operator/merchants/{nobody}/contract"),
            contract(true),
            "MERCHANT_NOT_FOUND",
        ),
        (
            format!("/operator/merchants/{nobody}/parent"),
            json!({"parent_id": null}),
            "MERCHANT_NOT_FOUND",
        ),
        (
            format!("/operator/merchants/{nobody}/rates"),
            json!({"mode": "redeem_after_use", "item": "sms", "basis": "per_unit", "amount": "1.5", "effective_from": "2026-12-01T00:00:00Z"}),
            "MERCHANT_NOT_FOUND",
        ),
        (
            format!("/operator/merchants/{nobody}/remittance-account"),
            json!({"bank_code": "812", "bank_name": "台新銀行", "account_no": "9988776655443322", "account_name": "Tessera"}),
            "MERCHANT_NOT_FOUND",
        ),
        (
            "/operator/print-run/status".to_owned(),
            json!({"ticket_nos": [unissued.to_string()], "status": "printed"}),
            "TICKET_NOT_FOUND",
        ),
        (
            format!("/operator/relations/{PARENT}/{nobody}/block-cleared"),
            json!({}),
            "RELATION_NOT_FOUND",
        ),
    ] {
        let answer = w
            .call(tessera_tests::with_new_key("PUT", &uri, operator, body))
            .await;
        expect(answer, 404, code, &uri);
    }
    let answer = w
        .call(tessera_tests::authed(
            "DELETE",
            "/operator/documents/nosuch-1",
            operator,
        ))
        .await;
    expect(
        answer,
        404,
        "DOCUMENT_NOT_FOUND",
        "a document never described",
    );

    // A ping before the merchant said where callbacks go.
    let answer = w
        .call(tessera_tests::with_new_key(
            "POST",
            "/webhooks/ping",
            admin,
            json!({}),
        ))
        .await;
    expect(answer, 409, "NOTIFY_URL_NOT_SET", "ping");

    // A merchant the operator opened without a contract yet.
    let answer = w
        .call(tessera_tests::with_new_key(
            "PUT",
            "/operator/merchants/NOCT0001",
            operator,
            json!({"name": "未簽約商店", "admin_password": ADMIN_PASSWORD}),
        ))
        .await;
    assert!(matches!(answer.0, 200 | 201), "{}", answer.1);
    let newcomer = w.token("NOCT0001", "admin", ADMIN_PASSWORD).await;
    let answer = w
        .call(tessera_tests::authed(
            "GET",
            "/merchant/contract",
            &newcomer,
        ))
        .await;
    expect(
        answer,
        404,
        "CONTRACT_NOT_FOUND",
        "a merchant without a contract",
    );

    // A redeemed ticket taken back at the till (a gift voucher: no paid order needed).
    let product = w
        .call(tessera_tests::json_request(
            "POST",
            "/products",
            Some(admin),
            json!({"name": "生日禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 120}),
        ))
        .await;
    assert_eq!(product.0, 201, "{}", product.1);
    let product_id = product.1["product_id"].as_str().expect("an id").to_owned();
    let ticket = w
        .issue(
            admin,
            PARENT,
            "paper_by_merchant",
            &[tessera_tests::IssueRow::new("ANS1", &product_id, 1)],
        )
        .await
        .remove(0)
        .remove(0);
    let code = json!({"code": ticket.redemption_code, "reason": "顧客退貨"});
    let answer = w
        .call(tessera_tests::with_new_key(
            "POST",
            "/redemptions",
            admin,
            json!({"code": ticket.redemption_code}),
        ))
        .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let answer = w
        .call(tessera_tests::with_new_key("POST", "/returns", admin, code))
        .await;
    expect(
        answer,
        409,
        "TICKET_ALREADY_REDEEMED",
        "a return of a redeemed ticket",
    );

    // An upload confirmed after the operator stopped the merchant's issuance.
    let cells = [tessera_tests::IssueRow::new("ANS2", &product_id, 1).cells()];
    let file = tessera_sheets::issuance_template(&cells).expect("an issuance file");
    let upload = w
        .call(tessera_tests::json_request(
            "POST",
            "/issuance/uploads",
            Some(admin),
            json!({"delivery_method": "paper_by_merchant", "size": file.len()}),
        ))
        .await;
    assert_eq!(upload.0, 201, "{}", upload.1);
    let url = upload.1["upload_url"].as_str().expect("an upload URL");
    let content_type = upload.1["content_type"].as_str().expect("a content type");
    assert_eq!(tessera_tests::put_to(url, content_type, &file).await, 200);
    let answer = w
        .call(tessera_tests::with_new_key(
            "PUT",
            &format!("/operator/merchants/{PARENT}/contract"),
            operator,
            contract(false),
        ))
        .await;
    assert_eq!(answer.0, 204, "{}", answer.1);
    let confirm = format!(
        "/issuance/uploads/{}/confirm",
        upload.1["upload_id"].as_str().expect("an id")
    );
    let answer = w
        .call(tessera_tests::with_new_key(
            "POST",
            &confirm,
            admin,
            json!({}),
        ))
        .await;
    expect(
        answer,
        409,
        "SERVICE_NOT_ACTIVE",
        "a confirm after issuance stopped",
    );

    // The operator's sign-in: 20 attempts a minute from one address, whatever the accounts.
    let attempt = |account: String| {
        let mut request = tessera_tests::json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": account, "password": "Nope2026x"}),
        );
        request
            .headers_mut()
            .insert("x-forwarded-for", "192.0.2.60".parse().expect("an address"));
        request
    };
    for n in 0..20 {
        let (status, body) = w.call(attempt(format!("nobody{n:02}"))).await;
        assert_eq!(status, 401, "attempt {n}: {body}");
    }
    let response = tessera_tests::send(&w.gateway, attempt("nobody20".to_owned())).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
}
