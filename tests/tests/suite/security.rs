//! The security regression table. Every operation of the OpenAPI document behind the session
//! authorizer has a well-formed sample request here, on real objects of a victim tenant, and
//! each is tried as an attacker would:
//! - with no token, a tampered one, one signed with another key, and an expired one: 401;
//! - from another tenant: an object it does not own answers exactly what a nonexistent object
//!   answers (the documented 404 or the refusal before it), so existence cannot be probed,
//!   and a listing without an object in its address shows none of the victim's objects;
//! - by a sub-account with no rights at all: every operation but the few any account may use
//!   on itself is refused (403, or the documented 404 where the right is checked against the
//!   caller's own objects), and by a read-only manager: every change is refused with the
//!   modify right it lacks (or ADMIN_ONLY for account management).
//!
//! None of these refusals changes the table. A new operation in the document without a
//! sample here fails the walk. The operator's routes have a table of their own (operator.rs).

use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{
    ADMIN_PASSWORD, CHILD, INSTALLMENT, OPERATOR, PARENT, PARTNER, STAFF_PASSWORD,
};
use tessera_tests::{json_request, seeded, IssueRow, Seeded};

/// Which tenant a sample's objects belong to (installment orders exist only in installment mode).
#[derive(Clone, Copy, PartialEq)]
enum Victim {
    RedeemAfterUse,
    Installment,
}

/// The tokens that attack one victim tenant.
struct Attackers {
    /// The admin of another tenant in the victim's mode.
    stranger: String,
    /// A sub-account of the victim with no rights at all.
    bare: String,
    /// A sub-account of the victim that may read every area and change none.
    manager: String,
}

struct Sample {
    method: &'static str,
    /// The path as the document spells it.
    operation: &'static str,
    uri: String,
    /// `None` for a request without a body.
    body: Option<Value>,
    victim: Victim,
}

fn read(operation: &'static str, uri: impl Into<String>) -> Sample {
    Sample {
        method: "GET",
        operation,
        uri: uri.into(),
        body: None,
        victim: Victim::RedeemAfterUse,
    }
}

fn change(
    method: &'static str,
    operation: &'static str,
    uri: impl Into<String>,
    body: Value,
) -> Sample {
    Sample {
        method,
        operation,
        uri: uri.into(),
        body: Some(body),
        victim: Victim::RedeemAfterUse,
    }
}

impl Sample {
    fn of_installment(mut self) -> Sample {
        self.victim = Victim::Installment;
        self
    }
}

/// Operations any signed-in account may use on itself: no function-area right opens them.
const ANY_ACCOUNT: &[(&str, &str)] = &[
    ("GET", "/sessions/current"),
    ("DELETE", "/sessions/current"),
    ("POST", "/sessions/current/switch"),
    ("PUT", "/account/password"),
    ("GET", "/messages"),
    ("PUT", "/messages/{announcement_id}/read"),
    ("GET", "/documents"),
    // The issuance file's rules, as the manual prints them for every user.
    ("GET", "/issuance/rules"),
];

/// Objects of one account (an export holds what its maker's view of the report allowed): to
/// any other account, even one without rights, they do not exist.
const OWN_OBJECTS: &[(&str, &str)] = &[("GET", "/exports/{export_id}")];

/// Reads that are POSTs (a redemption code kept out of URLs; an export is reading a report):
/// the query right opens them, so a read-only manager may use them.
const READS_BY_POST: &[(&str, &str)] = &[("POST", "/tickets/lookup"), ("POST", "/exports")];

/// Operations whose body names another merchant by design, not an object of it: a merchant
/// lists any merchant as a store its tickets may be redeemed at.
const NAMES_ANOTHER_MERCHANT: &[(&str, &str)] = &[("POST", "/redeemable-stores")];

/// The real objects the samples address, and a nonexistent object of the same shape for each.
struct Objects {
    product_id: String,
    ticket_no: String,
    code: String,
    import_no: String,
    batch_id: String,
    upload_id: String,
    export_id: String,
    unissued_trade_no: String,
    transfer_id: String,
    delivery_id: String,
    installment_trade_no: String,
}

impl Objects {
    /// (real, nonexistent) pairs: replacing each real text by its pair turns a sample on real
    /// objects into the same request on objects that do not exist.
    fn nonexistent(&self) -> Vec<(String, String)> {
        use tessera_domain::tickets::{RedemptionCode, TicketNumber, REDEMPTION_CODE_BYTES};
        let unissued_sequence = 987_654_321_012;
        vec![
            (
                self.product_id.clone(),
                tessera_domain::values::ProductId::generate([7; 10]).to_string(),
            ),
            (
                self.ticket_no.clone(),
                TicketNumber::from_sequence(unissued_sequence).to_string(),
            ),
            (
                self.code.clone(),
                RedemptionCode::generate(unissued_sequence, [7; REDEMPTION_CODE_BYTES]).to_string(),
            ),
            (self.import_no.clone(), "NOSUCHIMP".to_owned()),
            (self.batch_id.clone(), shifted(&self.batch_id)),
            (self.upload_id.clone(), shifted(&self.upload_id)),
            (self.export_id.clone(), shifted(&self.export_id)),
            (self.unissued_trade_no.clone(), "NOSUCHORD".to_owned()),
            (self.transfer_id.clone(), shifted(&self.transfer_id)),
            (self.delivery_id.clone(), shifted(&self.delivery_id)),
            (self.installment_trade_no.clone(), "NOSUCHINST".to_owned()),
            ("TPE01".to_owned(), "NOSUCH01".to_owned()),
            ("cashier01".to_owned(), "nobody01".to_owned()),
            (PARENT.to_owned(), "ZZZZ0001".to_owned()),
            (CHILD.to_owned(), "ZZZZ0002".to_owned()),
            (PARTNER.to_owned(), "ZZZZ0003".to_owned()),
            (INSTALLMENT.to_owned(), "ZZZZ0004".to_owned()),
        ]
    }

    /// The victim's own identifiers, none of which another tenant's listing may show.
    fn identifiers(&self) -> Vec<&str> {
        vec![
            &self.product_id,
            &self.ticket_no,
            &self.code,
            &self.import_no,
            &self.batch_id,
            &self.export_id,
            &self.unissued_trade_no,
            &self.transfer_id,
            &self.delivery_id,
            &self.installment_trade_no,
        ]
    }
}

/// The same text with each digit and hex letter moved one on (an identifier of the same shape
/// that no one was given).
fn shifted(id: &str) -> String {
    id.chars()
        .map(|c| match c {
            '0'..='8' | 'a'..='e' | 'A'..='E' => char::from(c as u8 + 1),
            '9' => '0',
            'f' => 'a',
            'F' => 'A',
            other => other,
        })
        .collect()
}

/// Every operation behind the authorizer, as a well-formed request on the objects.
fn samples(o: &Objects) -> Vec<Sample> {
    let m = format!("merchant_id={PARENT}");
    let range = "from=2026-11-01&to=2026-11-30";
    let (pid, tno, imp) = (&o.product_id, &o.ticket_no, &o.import_no);
    let inst = &o.installment_trade_no;
    let product = json!({"name": "x", "kind": "gift_voucher", "term_days": 30, "face_value": 100});
    let contact = json!({"name": "", "phone": "", "email": ""});
    vec![
        // The session and the caller itself.
        read("/sessions/current", "/sessions/current"),
        change(
            "DELETE",
            "/sessions/current",
            "/sessions/current",
            json!({}),
        ),
        change(
            "POST",
            "/sessions/current/switch",
            "/sessions/current/switch",
            json!({"merchant_id": CHILD}),
        ),
        change(
            "PUT",
            "/account/password",
            "/account/password",
            json!({"current_password": "Wrong2026", "new_password": "Newpass2026"}),
        ),
        read("/messages", "/messages"),
        change(
            "PUT",
            "/messages/{announcement_id}/read",
            "/messages/none-1/read",
            json!({}),
        ),
        read("/documents", "/documents"),
        read("/dashboard", "/dashboard"),
        read("/bills", "/bills"),
        read("/login-history", "/login-history"),
        read("/merchants/search", "/merchants/search?q=Demo"),
        // Sub-accounts.
        read("/sub-accounts", "/sub-accounts"),
        read(
            "/sub-accounts/{account}/history",
            "/sub-accounts/cashier01/history",
        ),
        change(
            "POST",
            "/sub-accounts",
            "/sub-accounts",
            json!({"account": "new01abc", "password": "Newpass2026"}),
        ),
        change(
            "DELETE",
            "/sub-accounts/{account}",
            "/sub-accounts/cashier01",
            json!({}),
        ),
        change(
            "PUT",
            "/sub-accounts/{account}/password",
            "/sub-accounts/cashier01/password",
            json!({"password": "Newpass2026"}),
        ),
        change(
            "PUT",
            "/sub-accounts/{account}/remark",
            "/sub-accounts/cashier01/remark",
            json!({"remark": "x"}),
        ),
        change(
            "PUT",
            "/sub-accounts/{account}/rights",
            "/sub-accounts/cashier01/rights",
            json!({"rights": {}}),
        ),
        // Branches and bindings.
        read("/branches", format!("/branches?{m}")),
        read(
            "/branches/{code}/history",
            format!("/branches/TPE01/history?{m}"),
        ),
        change(
            "POST",
            "/branches",
            format!("/branches?{m}"),
            json!({"code": "NEW01", "name": "新店"}),
        ),
        change(
            "PATCH",
            "/branches/{code}",
            format!("/branches/TPE01?{m}"),
            json!({"enabled": false}),
        ),
        read("/branch-bindings", format!("/branch-bindings?{m}")),
        change(
            "PUT",
            "/branch-bindings",
            format!("/branch-bindings?{m}"),
            json!({"branch_code": "TPE01", "accounts": ["cashier01"]}),
        ),
        change(
            "POST",
            "/branch-bindings/unbind",
            format!("/branch-bindings/unbind?{m}"),
            json!({"accounts": ["cashier01"]}),
        ),
        // Redeemable stores and joint issuers.
        read("/redeemable-stores", "/redeemable-stores"),
        read(
            "/redeemable-stores/{store_id}/history",
            format!("/redeemable-stores/{PARTNER}/history"),
        ),
        change(
            "POST",
            "/redeemable-stores",
            "/redeemable-stores",
            json!({"merchant_id": CHILD}),
        ),
        change(
            "PUT",
            "/redeemable-stores/{store_id}/status",
            format!("/redeemable-stores/{PARTNER}/status"),
            json!({"status": "unlinked"}),
        ),
        read("/joint-issuers", "/joint-issuers"),
        read(
            "/joint-issuers/{issuer_id}/history",
            format!("/joint-issuers/{PARTNER}/history"),
        ),
        change(
            "POST",
            "/joint-issuers/{issuer_id}/unlink",
            format!("/joint-issuers/{PARTNER}/unlink"),
            json!({}),
        ),
        // The merchant's settings.
        read("/merchant/contract", "/merchant/contract"),
        read("/merchant/history", "/merchant/history"),
        read("/merchant/profile", "/merchant/profile"),
        change(
            "PUT",
            "/merchant/profile",
            "/merchant/profile",
            json!({"payment_page_name": "store", "contacts": {"billing": contact, "business": contact, "technical": contact}}),
        ),
        read(
            "/merchant/operation-settings",
            "/merchant/operation-settings",
        ),
        change(
            "PUT",
            "/merchant/operation-settings",
            "/merchant/operation-settings",
            json!({"sms_enabled": false, "consumer_returns_enabled": true}),
        ),
        read("/login-alerts", "/login-alerts"),
        change(
            "PUT",
            "/login-alerts",
            "/login-alerts",
            json!({"on_failed_sign_in": false, "on_new_device": false, "emails": ""}),
        ),
        read("/merchant/ticket-page", "/merchant/ticket-page"),
        change(
            "PUT",
            "/merchant/ticket-page",
            "/merchant/ticket-page",
            json!({"customer_service": {}}),
        ),
        change(
            "POST",
            "/merchant/ticket-page/uploads",
            "/merchant/ticket-page/uploads",
            json!({"image": "logo", "content_type": "image/png", "size": 10}),
        ),
        change(
            "PUT",
            "/merchant/ticket-page/images/{image}",
            "/merchant/ticket-page/images/logo",
            json!({"key": format!("merchants/{PARENT}/logo/x.png")}),
        ),
        // Refund callbacks.
        read("/merchant/refund-notify-url", "/merchant/refund-notify-url"),
        read(
            "/merchant/refund-notify-url/history",
            "/merchant/refund-notify-url/history",
        ),
        change(
            "PUT",
            "/merchant/refund-notify-url",
            "/merchant/refund-notify-url",
            json!({"url": "https://shop.example.com/refunds"}),
        ),
        read("/merchant/webhook-secret", "/merchant/webhook-secret"),
        change(
            "POST",
            "/merchant/webhook-secret",
            "/merchant/webhook-secret",
            json!({}),
        ),
        read(
            "/webhooks/deliveries",
            format!("/webhooks/deliveries?{range}"),
        ),
        change(
            "POST",
            "/webhooks/deliveries/{delivery_id}/redeliver",
            format!("/webhooks/deliveries/{}/redeliver", o.delivery_id),
            json!({}),
        ),
        change(
            "POST",
            "/webhooks/deliveries/redeliver-failed",
            "/webhooks/deliveries/redeliver-failed",
            json!({"from": "2026-11-01", "to": "2026-11-30"}),
        ),
        change("POST", "/webhooks/ping", "/webhooks/ping", json!({})),
        // Products.
        read("/products", format!("/products?{m}&{range}")),
        read("/products/{product_id}", format!("/products/{pid}?{m}")),
        read(
            "/products/{product_id}/copy",
            format!("/products/{pid}/copy?{m}"),
        ),
        read(
            "/products/{product_id}/history",
            format!("/products/{pid}/history?{m}"),
        ),
        change(
            "POST",
            "/products",
            format!("/products?{m}"),
            product.clone(),
        ),
        change(
            "PUT",
            "/products/{product_id}",
            format!("/products/{pid}?{m}"),
            product,
        ),
        change(
            "POST",
            "/products/delist",
            format!("/products/delist?{m}"),
            json!({"product_ids": [pid]}),
        ),
        change(
            "POST",
            "/products/relist",
            format!("/products/relist?{m}"),
            json!({"product_ids": [pid]}),
        ),
        change(
            "POST",
            "/products/{product_id}/image-uploads",
            format!("/products/{pid}/image-uploads"),
            json!({"content_type": "image/png", "size": 10}),
        ),
        change(
            "PUT",
            "/products/{product_id}/image",
            format!("/products/{pid}/image"),
            json!({"key": format!("merchants/{PARENT}/products/{pid}/x.png")}),
        ),
        // Orders and issuance.
        change(
            "POST",
            "/orders",
            "/orders",
            json!({"trade_no": "SECNEW1", "product_id": pid, "amount": 100, "quantity": 1, "cardholder_name": "王", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
        ),
        change(
            "POST",
            "/orders/{trade_no}/abandon",
            format!("/orders/{}/abandon", o.unissued_trade_no),
            json!({}),
        ),
        read("/orders/unissued", "/orders/unissued"),
        read("/orders/unissued/export", "/orders/unissued/export"),
        read("/issuance/rules", "/issuance/rules"),
        read("/issuance/template", "/issuance/template"),
        change(
            "POST",
            "/issuance/uploads",
            "/issuance/uploads",
            json!({"delivery_method": "electronic_immediate", "size": 1000}),
        ),
        change(
            "POST",
            "/issuance/uploads/{upload_id}/preview",
            format!("/issuance/uploads/{}/preview", o.upload_id),
            json!({}),
        ),
        change(
            "POST",
            "/issuance/uploads/{upload_id}/confirm",
            format!("/issuance/uploads/{}/confirm", o.upload_id),
            json!({}),
        ),
        read("/issuance/batches", "/issuance/batches"),
        read(
            "/issuance/batches/{batch_id}",
            format!("/issuance/batches/{}", o.batch_id),
        ),
        read(
            "/issued-orders/{import_no}",
            format!("/issued-orders/{imp}"),
        ),
        read(
            "/issued-orders/{import_no}/history",
            format!("/issued-orders/{imp}/history"),
        ),
        change(
            "PUT",
            "/issued-orders/{import_no}/buyer",
            format!("/issued-orders/{imp}/buyer"),
            json!({"name": "陳新", "mobile": "0933000111", "email": "new@demo.com.tw"}),
        ),
        change(
            "POST",
            "/issued-orders/{import_no}/resend",
            format!("/issued-orders/{imp}/resend"),
            json!({}),
        ),
        // Tickets at the till and in the back office.
        change(
            "POST",
            "/tickets/lookup",
            "/tickets/lookup",
            json!({"code": o.code}),
        ),
        change(
            "POST",
            "/redemptions",
            "/redemptions",
            json!({"code": o.code}),
        ),
        change(
            "POST",
            "/redemptions/cancel",
            "/redemptions/cancel",
            json!({"code": o.code, "reason": "x"}),
        ),
        change(
            "POST",
            "/returns",
            "/returns",
            json!({"code": o.code, "reason": "x"}),
        ),
        change(
            "POST",
            "/returns/cancel",
            "/returns/cancel",
            json!({"code": o.code, "reason": "x"}),
        ),
        read(
            "/tickets/{ticket_no}/history",
            format!("/tickets/{tno}/history"),
        ),
        change(
            "POST",
            "/tickets/{ticket_no}/remarks",
            format!("/tickets/{tno}/remarks"),
            json!({"remark": "x"}),
        ),
        read(
            "/transfers/{transfer_id}",
            format!("/transfers/{}", o.transfer_id),
        ),
        read(
            "/transfers/{transfer_id}/history",
            format!("/transfers/{}/history", o.transfer_id),
        ),
        change(
            "POST",
            "/transfers/{transfer_id}/cancel",
            format!("/transfers/{}/cancel", o.transfer_id),
            json!({}),
        ),
        // Paper.
        read("/paper-tickets/test-print", "/paper-tickets/test-print"),
        read(
            "/paper-tickets/{ticket_no}/prints",
            format!("/paper-tickets/{tno}/prints"),
        ),
        change(
            "POST",
            "/paper-tickets/print",
            "/paper-tickets/print",
            json!({"ticket_nos": [tno]}),
        ),
        // Reports and exports.
        read(
            "/reports/tickets",
            format!("/reports/tickets?mode=numbers&ticket_nos={tno}"),
        ),
        read(
            "/reports/circulation",
            format!("/reports/circulation?{range}"),
        ),
        read("/reports/cross-store", "/reports/cross-store"),
        read("/reports/branch", "/reports/branch"),
        read(
            "/reports/issued-orders",
            format!("/reports/issued-orders?{range}"),
        ),
        read(
            "/reports/paper-tickets",
            format!("/reports/paper-tickets?{range}"),
        ),
        read(
            "/reports/return-fees",
            format!("/reports/return-fees?{range}"),
        ),
        read("/reports/sms-log", format!("/reports/sms-log?{range}")),
        read("/reports/transfers", format!("/reports/transfers?{range}")),
        change(
            "POST",
            "/exports",
            "/exports",
            json!({"report": "tickets", "query": {"mode": "numbers", "ticket_nos": tno}}),
        ),
        read("/exports/{export_id}", format!("/exports/{}", o.export_id)),
        // Installment orders.
        read(
            "/reports/installment-orders",
            format!("/reports/installment-orders?{range}"),
        )
        .of_installment(),
        read(
            "/reports/installment-serials",
            format!("/reports/installment-serials?{range}"),
        )
        .of_installment(),
        change(
            "POST",
            "/installment-orders",
            "/installment-orders",
            json!({"trade_no": inst, "periods": 3, "first_redemption_on": "2026-12-05"}),
        )
        .of_installment(),
        read(
            "/installment-orders/{trade_no}",
            format!("/installment-orders/{inst}?merchant_id={INSTALLMENT}"),
        )
        .of_installment(),
        read(
            "/installment-orders/{trade_no}/history",
            format!("/installment-orders/{inst}/history?merchant_id={INSTALLMENT}"),
        )
        .of_installment(),
        change(
            "POST",
            "/installment-orders/{trade_no}/remarks",
            format!("/installment-orders/{inst}/remarks?merchant_id={INSTALLMENT}"),
            json!({"remark": "x"}),
        )
        .of_installment(),
        change(
            "POST",
            "/installment-orders/{trade_no}/return",
            format!("/installment-orders/{inst}/return?merchant_id={INSTALLMENT}"),
            json!({"fee": "0", "reason": "x"}),
        )
        .of_installment(),
        change(
            "POST",
            "/installment-orders/{trade_no}/cancel-return",
            format!("/installment-orders/{inst}/cancel-return?merchant_id={INSTALLMENT}"),
            json!({"reason": "x"}),
        )
        .of_installment(),
    ]
}

/// A request as the sample says, sent with `token`, with an Idempotency-Key of its own when
/// it changes something (so that a route requiring one gets past that check).
fn request(
    method: &str,
    uri: &str,
    body: &Option<Value>,
    token: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    match body {
        None => {
            let mut builder = axum::http::Request::builder().method(method).uri(uri);
            if let Some(token) = token {
                builder = builder.header("authorization", format!("Bearer {token}"));
            }
            builder.body(axum::body::Body::empty()).expect("a request")
        }
        Some(body) => {
            let mut request = json_request(method, uri, token, body.clone());
            let key = uuid::Uuid::new_v4().simple().to_string();
            request
                .headers_mut()
                .insert("idempotency-key", key.parse().expect("a header value"));
            request
        }
    }
}

/// The statuses the document states for an operation.
fn documented(document: &Value, method: &str, operation: &str) -> BTreeSet<u16> {
    document["paths"][operation][method.to_ascii_lowercase()]["responses"]
        .as_object()
        .map(|responses| responses.keys().filter_map(|s| s.parse().ok()).collect())
        .unwrap_or_default()
}

struct Attack {
    w: Seeded,
    document: Value,
    findings: Vec<String>,
}

impl Attack {
    async fn send(
        &self,
        sample: &Sample,
        uri: &str,
        body: &Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        self.w.call(request(sample.method, uri, body, token)).await
    }

    /// Records a finding unless the answer is `expected` with one of `codes` (any code when
    /// `codes` is empty), and the status is one the document states.
    fn expect(
        &mut self,
        sample: &Sample,
        who: &str,
        answer: &(u16, Value),
        expected: u16,
        codes: &[&str],
    ) {
        let (status, body) = answer;
        let code = body["code"].as_str().unwrap_or_default();
        if *status != expected || (!codes.is_empty() && !codes.contains(&code)) {
            self.findings.push(format!(
                "{} {} {who}: expected {expected} {codes:?}, got {status} {body}",
                sample.method, sample.uri
            ));
        }
        self.documents(sample, who, *status);
    }

    fn documents(&mut self, sample: &Sample, who: &str, status: u16) {
        if !documented(&self.document, sample.method, sample.operation).contains(&status) {
            self.findings.push(format!(
                "{} {} {who}: {status} is not documented",
                sample.method, sample.operation
            ));
        }
    }
}

/// Opens a merchant through the operator's API, in the given mode, with its admin's password.
async fn open_merchant(w: &Seeded, operator: &str, merchant: &str, mode: &str) {
    let calls = [
        (
            format!("/operator/merchants/{merchant}"),
            json!({"name": "陌生商店", "admin_password": ADMIN_PASSWORD}),
        ),
        (
            format!("/operator/merchants/{merchant}/contract"),
            json!({"starts_on": "2026-01-01", "ends_on": "2028-12-31", "issuance_enabled": true,
                   "sms_contracted": false, "redemption_mode": mode,
                   "delivery_methods": ["electronic_immediate"]}),
        ),
    ];
    for (uri, body) in calls {
        let (status, answer) = w
            .call(json_request("PUT", &uri, Some(operator), body))
            .await;
        assert!((200..300).contains(&status), "{uri}: {status} {answer}");
    }
}

/// One request that must succeed: its answer.
async fn ok(w: &Seeded, method: &str, uri: &str, token: &str, body: Value) -> Value {
    let (status, answer) = w.call(request(method, uri, &Some(body), Some(token))).await;
    assert!(
        (200..300).contains(&status),
        "{method} {uri}: {status} {answer}"
    );
    answer
}

/// The victims' objects, made through the API: a product, an issued mailed ticket (its
/// order, batch and code), an order not yet issued, an upload not yet confirmed, an export,
/// a transfer, a callback delivery, and an installment order of the installment merchant.
async fn objects(w: &Seeded, admin: &str, installment_admin: &str, partner: &str) -> Objects {
    let product = ok(
        w,
        "POST",
        "/products",
        admin,
        json!({"name": "安全商品", "kind": "goods_voucher", "term_days": 30, "face_value": 100}),
    )
    .await;
    let product_id = product["product_id"]
        .as_str()
        .expect("a product id")
        .to_owned();
    w.record_order(admin, "SECORD1", &product_id, 200, 2).await;
    w.record_order(admin, "SECORD2", &product_id, 100, 1).await;
    let tickets = w
        .issue(
            admin,
            PARENT,
            "electronic_immediate",
            &[IssueRow::new("SECIMP1", &product_id, 2)
                .paid_by("SECORD1")
                .mailed_to("sec@demo.com.tw")],
        )
        .await
        .remove(0);
    let (_, batches) = w
        .call(request("GET", "/issuance/batches", &None, Some(admin)))
        .await;
    let batch_id = batches["items"][0]["batch_id"]
        .as_str()
        .expect("a batch")
        .to_owned();
    let upload = ok(
        w,
        "POST",
        "/issuance/uploads",
        admin,
        json!({"delivery_method": "electronic_immediate", "size": 1000}),
    )
    .await;
    let export = ok(w, "POST", "/exports", admin, json!({"report": "tickets", "query": {"mode": "numbers", "ticket_nos": tickets[0].ticket_no}})).await;
    // A transfer from the consumer's page, of the order's second ticket.
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).expect("an id");
    let link = w
        .services
        .table
        .get_issued_order(&merchant, "SECIMP1")
        .await
        .expect("the order reads")
        .and_then(|order| order.link_token)
        .expect("a link");
    ok(w, "POST", &format!("/wallet/{link}/transfers"), admin, json!({"ticket_nos": [tickets[1].ticket_no], "recipient": {"name": "林小美", "mobile": "0922333444", "email": "friend@demo.com.tw"}})).await;
    let transfer_id = w
        .services
        .table
        .get_ticket(&tickets[1].ticket_no)
        .await
        .expect("the ticket reads")
        .and_then(|ticket| ticket.transfer_id)
        .expect("a transfer");
    ok(
        w,
        "PUT",
        "/merchant/refund-notify-url",
        admin,
        json!({"url": "https://shop.example.com/refunds"}),
    )
    .await;
    let ping = ok(w, "POST", "/webhooks/ping", admin, json!({})).await;
    // The partner lists this merchant as a store: a joint issuer of it.
    ok(
        w,
        "POST",
        "/redeemable-stores",
        partner,
        json!({"merchant_id": PARENT}),
    )
    .await;
    let course = ok(
        w,
        "POST",
        "/products",
        installment_admin,
        json!({"name": "安全課程", "kind": "goods_voucher", "term_days": 120, "face_value": 900}),
    )
    .await;
    ok(w, "POST", "/orders", installment_admin, json!({"trade_no": "SECINST", "product_id": course["product_id"], "amount": 900, "quantity": 1, "cardholder_name": "林安全", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()})).await;
    ok(
        w,
        "POST",
        "/installment-orders",
        installment_admin,
        json!({"trade_no": "SECINST", "periods": 3, "first_redemption_on": "2026-12-05"}),
    )
    .await;
    Objects {
        product_id,
        ticket_no: tickets[0].ticket_no.to_string(),
        code: tickets[0].redemption_code.to_string(),
        import_no: "SECIMP1".to_owned(),
        batch_id,
        upload_id: upload["upload_id"].as_str().expect("an upload").to_owned(),
        export_id: export["export_id"].as_str().expect("an export").to_owned(),
        unissued_trade_no: "SECORD2".to_owned(),
        transfer_id: transfer_id.to_string(),
        delivery_id: ping["delivery_id"].as_str().expect("a delivery").to_owned(),
        installment_trade_no: "SECINST".to_owned(),
    }
}

/// An answer with its texts and numbers blanked: two answers of the same shape list as many
/// things (a report of no rows for an object the caller cannot see, as for one that does not
/// exist).
fn shape(answer: &Value) -> Value {
    match answer {
        Value::String(_) => json!(""),
        Value::Number(_) => json!(0),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::Object(fields) => fields.iter().map(|(k, v)| (k.clone(), shape(v))).collect(),
        other => other.clone(),
    }
}

/// Whether an answer shows one of the victim's identifiers that its request did not carry
/// (a filter is echoed; anything else is a leak).
fn shows_objects(answer: &Value, sample: &Sample, o: &Objects) -> bool {
    let asked = format!("{} {}", sample.uri, sample.body.clone().unwrap_or_default());
    let text = answer.to_string();
    o.identifiers()
        .into_iter()
        .any(|id| !asked.contains(id) && text.contains(id))
}

fn replaced(text: &str, pairs: &[(String, String)]) -> String {
    pairs.iter().fold(text.to_owned(), |text, (real, fake)| {
        text.replace(real, fake)
    })
}

#[tokio::test]
async fn every_operation_refuses_missing_bad_and_expired_tokens_other_tenants_and_accounts_without_the_right(
) {
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let installment_admin = w.token(INSTALLMENT, "admin", ADMIN_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let operator = w.operator_token(OPERATOR).await;
    open_merchant(&w, &operator, "OTHR0001", "redeem_after_use").await;
    open_merchant(&w, &operator, "OTHR0002", "installment").await;
    let stranger = w.token("OTHR0001", "admin", ADMIN_PASSWORD).await;
    let installment_stranger = w.token("OTHR0002", "admin", ADMIN_PASSWORD).await;
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &admin,
        json!({"account": "norights1", "password": "Norights2026", "rights": {}}),
    )
    .await;
    // In each victim tenant: a sub-account without any right, and one that may read every
    // area and change none (the demo's manager01 in the parent).
    let all_query: serde_json::Map<String, Value> = tessera_domain::access::FunctionArea::ALL
        .iter()
        .map(|area| {
            let name = serde_json::to_value(area).expect("an area");
            (
                name.as_str().expect("a name").to_owned(),
                json!({"query": true}),
            )
        })
        .collect();
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &installment_admin,
        json!({"account": "norights1", "password": "Norights2026", "rights": {}}),
    )
    .await;
    ok(
        &w,
        "POST",
        "/sub-accounts",
        &installment_admin,
        json!({"account": "readonly1", "password": "Readonly2026", "rights": all_query}),
    )
    .await;
    let bare = w.token(PARENT, "norights1", "Norights2026").await;
    let installment_bare = w.token(INSTALLMENT, "norights1", "Norights2026").await;
    let installment_manager = w.token(INSTALLMENT, "readonly1", "Readonly2026").await;
    // Who attacks each victim: a stranger in its mode, and its own accounts without rights.
    let parent_side = Attackers {
        stranger,
        bare,
        manager,
    };
    let installment_side = Attackers {
        stranger: installment_stranger,
        bare: installment_bare,
        manager: installment_manager,
    };
    let attackers = |victim: Victim| match victim {
        Victim::RedeemAfterUse => &parent_side,
        Victim::Installment => &installment_side,
    };
    let o = objects(&w, &admin, &installment_admin, &partner).await;

    let document = serde_json::to_value(tessera_dev::openapi::document()).expect("the document");
    let samples = samples(&o);
    // Every operation behind the authorizer has its sample, the operator's aside.
    let sampled: BTreeSet<(String, String)> = samples
        .iter()
        .map(|s| (s.method.to_owned(), s.operation.to_owned()))
        .collect();
    let guarded: BTreeSet<(String, String)> =
        tessera_dev::openapi::operations(&tessera_dev::openapi::document())
            .into_iter()
            .filter(|(method, path)| {
                document["paths"][path][method.to_ascii_lowercase()]["security"]
                    .as_array()
                    .is_some_and(|security| !security.is_empty())
                    && !path.starts_with(tessera_dev::openapi::OPERATOR_PREFIX)
            })
            .collect();
    assert_eq!(
        sampled, guarded,
        "every signed-in operation has its sample here"
    );

    let mut attack = Attack {
        w,
        document,
        findings: Vec::new(),
    };
    let before = attack.w.snapshot().await;
    let pairs = o.nonexistent();
    let mut tampered = admin.clone();
    let last = if tampered.ends_with('A') { 'B' } else { 'A' };
    tampered.pop();
    tampered.push(last);
    let forged = {
        let key = tessera_platform::session::SigningKey::new(
            b"another-key-another-key-another-key!".to_vec(),
        )
        .expect("a long key");
        let now = tessera_tests::test_start();
        let claims = tessera_platform::session::SessionClaims {
            sid: "forged".into(),
            mid: PARENT.into(),
            sub: "admin".into(),
            act: PARENT.into(),
            br: None,
            op: false,
            iat: now.timestamp(),
            exp: (now + chrono::Duration::hours(1)).timestamp(),
        };
        tessera_platform::session::sign(&claims, &key)
    };
    for sample in &samples {
        let key = (sample.method, sample.operation);
        for (who, token) in [
            ("without a token", None),
            ("with a tampered token", Some(tampered.as_str())),
            ("with a forged token", Some(forged.as_str())),
        ] {
            let answer = attack.send(sample, &sample.uri, &sample.body, token).await;
            attack.expect(sample, who, &answer, 401, &["UNAUTHENTICATED"]);
        }

        // Another tenant, in the victim's mode.
        let other = attackers(sample.victim).stranger.as_str();
        let fake_uri = replaced(&sample.uri, &pairs);
        let fake_body = sample.body.as_ref().map(|body| {
            serde_json::from_str(&replaced(&body.to_string(), &pairs)).expect("still JSON")
        });
        let addresses_objects = fake_uri != sample.uri || fake_body != sample.body;
        if addresses_objects
            && !ANY_ACCOUNT.contains(&key)
            && !NAMES_ANOTHER_MERCHANT.contains(&key)
            || key == ("POST", "/sessions/current/switch")
        {
            let real = attack
                .send(sample, &sample.uri, &sample.body, Some(other))
                .await;
            let none = attack
                .send(sample, &fake_uri, &fake_body, Some(other))
                .await;
            let leak = (real.0, real.1["code"].as_str()) != (none.0, none.1["code"].as_str())
                || shape(&real.1) != shape(&none.1)
                || shows_objects(&real.1, sample, &o);
            if leak {
                attack.findings.push(format!(
                    "{} {} from another tenant: the real object answered {} {}, a nonexistent one {} {}",
                    sample.method, sample.uri, real.0, real.1, none.0, none.1
                ));
            }
            attack.documents(sample, "from another tenant", real.0);
        } else if sample.method == "GET" && !ANY_ACCOUNT.contains(&key) {
            let (status, listing) = attack.send(sample, &sample.uri, &None, Some(other)).await;
            let text = listing.to_string();
            for id in o.identifiers() {
                if text.contains(id) {
                    attack
                        .findings
                        .push(format!("GET {} from another tenant shows {id}", sample.uri));
                }
            }
            attack.documents(sample, "from another tenant", status);
        }

        // A sub-account with no rights at all.
        if !ANY_ACCOUNT.contains(&key) {
            let answer = attack
                .send(
                    sample,
                    &sample.uri,
                    &sample.body,
                    Some(&attackers(sample.victim).bare),
                )
                .await;
            let states_403 =
                documented(&attack.document, sample.method, sample.operation).contains(&403);
            if OWN_OBJECTS.contains(&key) {
                attack.expect(sample, "by an account without rights", &answer, 404, &[]);
            } else if states_403 {
                attack.expect(
                    sample,
                    "by an account without rights",
                    &answer,
                    403,
                    &["RIGHT_MISSING", "ADMIN_ONLY"],
                );
            } else {
                // Checked against the caller's own objects: what it cannot reach is not found.
                attack.expect(sample, "by an account without rights", &answer, 404, &[]);
            }
        }
        // A read-only manager: every change.
        if sample.method != "GET" && !ANY_ACCOUNT.contains(&key) && !READS_BY_POST.contains(&key) {
            let answer = attack
                .send(
                    sample,
                    &sample.uri,
                    &sample.body,
                    Some(&attackers(sample.victim).manager),
                )
                .await;
            let code = if sample.operation.starts_with("/sub-accounts") {
                "ADMIN_ONLY"
            } else {
                "RIGHT_MISSING"
            };
            attack.expect(sample, "by a read-only manager", &answer, 403, &[code]);
            if code == "RIGHT_MISSING"
                && !answer.1["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("modify right")
            {
                attack.findings.push(format!(
                    "{} {}: the refusal does not name the modify right: {}",
                    sample.method, sample.uri, answer.1
                ));
            }
        }
    }
    let after = attack.w.snapshot().await;
    let changed: Vec<String> = tessera_tests::changed_items(&before, &after)
        .into_iter()
        // What the strangers did in their own tenants (an export of their own report, a
        // store of their own) is theirs to do.
        .filter(|key| {
            let item = after.get(key).or(before.get(key));
            !key.contains("OTHR000") && !item.is_some_and(|item| item.contains("OTHR000"))
        })
        .collect();
    for key in changed {
        attack
            .findings
            .push(format!("a refused request changed {key}"));
    }

    // Expired: the session's eight hours are over.
    attack
        .w
        .clock
        .advance(chrono::Duration::hours(8) + chrono::Duration::seconds(1));
    for sample in &samples {
        let answer = attack
            .send(sample, &sample.uri, &sample.body, Some(&admin))
            .await;
        attack.expect(
            sample,
            "with an expired token",
            &answer,
            401,
            &["SESSION_EXPIRED"],
        );
    }
    assert!(
        attack.findings.is_empty(),
        "{} findings:\n{:#?}",
        attack.findings.len(),
        attack.findings
    );
}
