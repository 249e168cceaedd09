//! Well-formed sample requests for every signed-in operation of the OpenAPI document, on
//! real objects of a victim tenant made through the API (a product, an issued ticket and
//! its code, orders, an upload, a batch, an export, a transfer, a callback delivery, a joint
//! issuer, an installment order), each with a nonexistent object of the same shape. The
//! security table sends them as attackers would (security.rs); the answers walk sends them
//! with their commits failing (answers.rs).

use serde_json::{json, Value};
use tessera_dev::seed::{CHILD, INSTALLMENT, PARENT, PARTNER};
use tessera_tests::{json_request, IssueRow, Seeded};

/// Which tenant a sample's objects belong to (installment orders exist only in installment mode).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Victim {
    RedeemAfterUse,
    Installment,
}

pub(crate) struct Sample {
    pub(crate) method: &'static str,
    /// The path as the document spells it.
    pub(crate) operation: &'static str,
    pub(crate) uri: String,
    /// `None` for a request without a body.
    pub(crate) body: Option<Value>,
    pub(crate) victim: Victim,
}

pub(crate) fn read(operation: &'static str, uri: impl Into<String>) -> Sample {
    Sample {
        method: "GET",
        operation,
        uri: uri.into(),
        body: None,
        victim: Victim::RedeemAfterUse,
    }
}

pub(crate) fn change(
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
    pub(crate) fn of_installment(mut self) -> Sample {
        self.victim = Victim::Installment;
        self
    }
}

/// The real objects the samples address, and a nonexistent object of the same shape for each.
pub(crate) struct Objects {
    pub(crate) product_id: String,
    pub(crate) ticket_no: String,
    pub(crate) code: String,
    pub(crate) import_no: String,
    pub(crate) batch_id: String,
    pub(crate) upload_id: String,
    pub(crate) export_id: String,
    pub(crate) unissued_trade_no: String,
    pub(crate) transfer_id: String,
    pub(crate) delivery_id: String,
    pub(crate) installment_trade_no: String,
}

impl Objects {
    /// (real, nonexistent) pairs: replacing each real text by its pair turns a sample on real
    /// objects into the same request on objects that do not exist.
    pub(crate) fn nonexistent(&self) -> Vec<(String, String)> {
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
    pub(crate) fn identifiers(&self) -> Vec<&str> {
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
pub(crate) fn shifted(id: &str) -> String {
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
pub(crate) fn samples(o: &Objects) -> Vec<Sample> {
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
pub(crate) fn request(
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

/// One request that must succeed: its answer.
pub(crate) async fn ok(w: &Seeded, method: &str, uri: &str, token: &str, body: Value) -> Value {
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
pub(crate) async fn objects(
    w: &Seeded,
    admin: &str,
    installment_admin: &str,
    partner: &str,
) -> Objects {
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
