//! Every state-changing route of the OpenAPI document takes an `Idempotency-Key`: walked
//! route by route on a seeded stack, each request sent twice with one key answers the same
//! twice, and the second time the table does not change at all. A new state-changing route
//! without a step here fails the walk.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{json_request, seeded, Seeded};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR tiny walk picture";

/// A request of the walk: its operation as the OpenAPI document names it, and what to send.
struct Step {
    method: &'static str,
    /// The path as the document spells it (`/branches/{code}`).
    operation: &'static str,
    uri: String,
    token: String,
    body: Value,
}

fn step(
    method: &'static str,
    operation: &'static str,
    uri: impl Into<String>,
    token: &str,
    body: Value,
) -> Step {
    Step {
        method,
        operation,
        uri: uri.into(),
        token: token.to_owned(),
        body,
    }
}

struct Walk {
    w: Seeded,
    walked: BTreeSet<(String, String)>,
}

impl Walk {
    async fn send(&self, step: &Step, key: &str) -> (u16, Value) {
        let mut request =
            json_request(step.method, &step.uri, Some(&step.token), step.body.clone());
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        self.w.call(request).await
    }

    /// Sends the step twice with one key: the first must succeed; the second must answer the
    /// same and leave every item of the table as it was. The first answer.
    async fn twice(&mut self, step: Step) -> Value {
        self.twice_with(step, json!({"another": "request"})).await
    }

    /// As `twice`, where `another` is a valid other request for the same route (the till's
    /// routes check their key when the change is decided, after the body is read).
    async fn twice_with(&mut self, step: Step, another: Value) -> Value {
        let key = format!("walk-{}", uuid::Uuid::new_v4().simple());
        let (status, first) = self.send(&step, &key).await;
        assert!(
            (200..300).contains(&status),
            "{} {}: {status} {first}",
            step.method,
            step.uri
        );
        let before = self.w.snapshot().await;
        let (again, second) = self.send(&step, &key).await;
        let after = self.w.snapshot().await;
        assert_eq!(
            (again, &second),
            (status, &first),
            "{} {}: the repeated request answered differently",
            step.method,
            step.uri
        );
        let changed = tessera_tests::changed_items(&before, &after);
        assert!(
            changed.is_empty(),
            "{} {}: the repeated request changed {changed:?}",
            step.method,
            step.uri
        );
        // The same key with another request is refused.
        let mut other = json_request(step.method, &step.uri, Some(&step.token), another);
        other
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        let (refused, problem) = self.w.call(other).await;
        assert_eq!(
            (refused, problem["code"].as_str()),
            (422, Some("IDEMPOTENCY_KEY_REUSED")),
            "{} {}",
            step.method,
            step.uri
        );
        self.walked
            .insert((step.method.to_owned(), step.operation.to_owned()));
        first
    }

    /// Uploads bytes where an upload answer says.
    async fn put_file(&self, upload: &Value, content_type: &str, bytes: &[u8]) {
        let url = upload["upload_url"].as_str().expect("an upload URL");
        assert_eq!(tessera_tests::put_to(url, content_type, bytes).await, 200);
    }
}

#[tokio::test]
async fn every_state_changing_route_repeated_with_its_key_changes_nothing_the_second_time() {
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let mut walk = Walk {
        w,
        walked: BTreeSet::new(),
    };
    let a = admin.as_str();

    // Branches and sub-accounts.
    walk.twice(step(
        "POST",
        "/branches",
        "/branches",
        a,
        json!({"code": "WALK1", "name": "步行店"}),
    ))
    .await;
    walk.twice(step(
        "PATCH",
        "/branches/{code}",
        "/branches/WALK1",
        a,
        json!({"name": "步行二店"}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/sub-accounts",
        "/sub-accounts",
        a,
        json!({"account": "walker01", "password": "Walk2026x", "rights": {}}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/branch-bindings",
        "/branch-bindings",
        a,
        json!({"branch_code": "WALK1", "accounts": ["walker01"]}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/branch-bindings/unbind",
        "/branch-bindings/unbind",
        a,
        json!({"accounts": ["walker01"]}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/sub-accounts/{account}/remark",
        "/sub-accounts/walker01/remark",
        a,
        json!({"remark": "步行"}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/sub-accounts/{account}/rights",
        "/sub-accounts/walker01/rights",
        a,
        json!({"rights": {}}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/sub-accounts/{account}/password",
        "/sub-accounts/walker01/password",
        a,
        json!({"password": "Walk2027x"}),
    ))
    .await;
    walk.twice(step(
        "DELETE",
        "/sub-accounts/{account}",
        "/sub-accounts/walker01",
        a,
        json!({}),
    ))
    .await;

    // Settings.
    walk.twice(step(
        "PUT",
        "/login-alerts",
        "/login-alerts",
        a,
        json!({"on_failed_sign_in": true, "on_new_device": false, "emails": "walk@demo.com.tw"}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/merchant/operation-settings",
        "/merchant/operation-settings",
        a,
        json!({"sms_enabled": true, "consumer_returns_enabled": true}),
    ))
    .await;
    walk.twice(step("PUT", "/merchant/profile", "/merchant/profile", a, json!({
        "payment_page_name": "store",
        "contacts": {
            "billing": {"name": "會計 陳小姐", "phone": "02-2345-6789", "email": "billing@demo.com.tw"},
            "business": {"name": "業務 林先生", "phone": "0912345678", "email": "sales@demo.com.tw"},
            "technical": {"name": "", "phone": "", "email": ""}
        },
        "authorization_emails": "auth1@demo.com.tw"
    }))).await;
    walk.twice(step("PUT", "/merchant/ticket-page", "/merchant/ticket-page", a, json!({"customer_service": {"phone": "02-2345-6789", "email": "service@demo.com.tw", "links": []}, "return_rights_statement": "未使用之提貨券可申請退貨。"}))).await;
    // The message centre: an announcement of the operator, read by the admin.
    let ops = walk.w.operator_token(tessera_dev::seed::OPERATOR).await;
    let (status, body) = walk
        .w
        .call(json_request(
            "PUT",
            "/operator/announcements/walk-1",
            Some(&ops),
            json!({"title": "公告", "body": "內容"}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    walk.twice(step(
        "PUT",
        "/messages/{announcement_id}/read",
        "/messages/walk-1/read",
        a,
        json!({}),
    ))
    .await;
    let logo = walk
        .twice(step(
            "POST",
            "/merchant/ticket-page/uploads",
            "/merchant/ticket-page/uploads",
            a,
            json!({"image": "logo", "content_type": "image/png", "size": PNG.len()}),
        ))
        .await;
    walk.put_file(&logo, "image/png", PNG).await;
    walk.twice(step(
        "PUT",
        "/merchant/ticket-page/images/{image}",
        "/merchant/ticket-page/images/logo",
        a,
        json!({"key": logo["key"]}),
    ))
    .await;

    // Products and paid orders.
    let product = walk.twice(step("POST", "/products", "/products", a, json!({"name": "步行提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120}))).await;
    let id = product["product_id"].as_str().unwrap().to_owned();
    // An export (its item; the queue's message is sent by the first request only).
    walk.twice(step(
        "POST",
        "/exports",
        "/exports",
        a,
        json!({"report": "tickets", "query": {"mode": "numbers", "ticket_nos": "0000000000018"}}),
    ))
    .await;
    walk.twice(step(
        "PUT",
        "/products/{product_id}",
        format!("/products/{id}"),
        a,
        tessera_tests::product_edit_body(product.clone()),
    ))
    .await;
    let picture = walk
        .twice(step(
            "POST",
            "/products/{product_id}/image-uploads",
            format!("/products/{id}/image-uploads"),
            a,
            json!({"content_type": "image/png", "size": PNG.len()}),
        ))
        .await;
    walk.put_file(&picture, "image/png", PNG).await;
    walk.twice(step(
        "PUT",
        "/products/{product_id}/image",
        format!("/products/{id}/image"),
        a,
        json!({"key": picture["key"]}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/products/delist",
        "/products/delist",
        a,
        json!({"product_ids": [id]}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/products/relist",
        "/products/relist",
        a,
        json!({"product_ids": [id]}),
    ))
    .await;
    let paid_at = tessera_tests::test_start();
    let order = |trade_no: &str| json!({"trade_no": trade_no, "product_id": id, "amount": 120, "quantity": 1, "cardholder_name": "王小明", "cardholder_mobile": "0912345678", "cardholder_email": "walk@demo.com.tw", "paid_at": paid_at});
    walk.twice(step("POST", "/orders", "/orders", a, order("WALK1")))
        .await;
    walk.twice(step("POST", "/orders", "/orders", a, order("WALK2")))
        .await;
    walk.twice(step(
        "POST",
        "/orders/{trade_no}/abandon",
        "/orders/WALK2/abandon",
        a,
        json!({}),
    ))
    .await;

    // Redeemable stores, from both sides: the partner adds this merchant as its store.
    let p = partner.as_str();
    walk.twice(step(
        "POST",
        "/redeemable-stores",
        "/redeemable-stores",
        p,
        json!({"merchant_id": PARENT}),
    ))
    .await;
    for status in ["unlinked", "open"] {
        walk.twice(step(
            "PUT",
            "/redeemable-stores/{store_id}/status",
            format!("/redeemable-stores/{PARENT}/status"),
            p,
            json!({"status": status}),
        ))
        .await;
    }
    walk.twice(step(
        "POST",
        "/joint-issuers/{issuer_id}/unlink",
        format!("/joint-issuers/{PARTNER}/unlink"),
        a,
        json!({}),
    ))
    .await;

    // Issuance: the order's ticket, through upload, preview and confirm.
    let row = tessera_tests::IssueRow::new("WALKIMP1", &id, 1)
        .paid_by("WALK1")
        .mailed_to("walk@demo.com.tw");
    let sheet = tessera_sheets::issuance_template(&[row.cells()]).unwrap();
    let upload = walk
        .twice(step(
            "POST",
            "/issuance/uploads",
            "/issuance/uploads",
            a,
            json!({"delivery_method": "electronic_immediate", "size": sheet.len()}),
        ))
        .await;
    walk.put_file(&upload, upload["content_type"].as_str().unwrap(), &sheet)
        .await;
    let upload_id = upload["upload_id"].as_str().unwrap().to_owned();
    walk.twice(step(
        "POST",
        "/issuance/uploads/{upload_id}/preview",
        format!("/issuance/uploads/{upload_id}/preview"),
        a,
        json!({}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/issuance/uploads/{upload_id}/confirm",
        format!("/issuance/uploads/{upload_id}/confirm"),
        a,
        json!({}),
    ))
    .await;
    walk.w.publish().await;
    assert!(walk.w.drain("BatchIssueQueue", "BatchIssueFunction").await >= 1);
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
    let tickets = walk
        .w
        .services
        .table
        .tickets_of_issued_order(&merchant, "WALKIMP1")
        .await
        .unwrap();
    let (code, ticket_no) = (
        tickets[0].redemption_code.clone(),
        tickets[0].ticket_no.clone(),
    );

    // At the till.
    walk.twice(step(
        "POST",
        "/tickets/lookup",
        "/tickets/lookup",
        a,
        json!({"code": code}),
    ))
    .await;
    let other_reason = json!({"code": code, "reason": "另一個理由"});
    walk.twice_with(
        step(
            "POST",
            "/redemptions",
            "/redemptions",
            a,
            json!({"code": code}),
        ),
        other_reason.clone(),
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/redemptions/cancel",
            "/redemptions/cancel",
            a,
            json!({"code": code, "reason": "顧客取消"}),
        ),
        other_reason.clone(),
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/returns",
            "/returns",
            a,
            json!({"code": code, "reason": "顧客退貨"}),
        ),
        other_reason.clone(),
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/returns/cancel",
            "/returns/cancel",
            a,
            json!({"code": code, "reason": "退貨取消"}),
        ),
        other_reason,
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/tickets/{ticket_no}/remarks",
            format!("/tickets/{ticket_no}/remarks"),
            a,
            json!({"remark": "步行備註"}),
        ),
        json!({"remark": "另一個備註"}),
    )
    .await;

    // The consumer's page, keyed by the link's holder: a transfer and a return request.
    walk.w.record_order(a, "WALK3", &id, 240, 2).await;
    let row = tessera_tests::IssueRow::new("WALKIMP3", &id, 2)
        .paid_by("WALK3")
        .mailed_to("walk3@demo.com.tw");
    let gifts = walk
        .w
        .issue(a, PARENT, "electronic_immediate", &[row])
        .await
        .remove(0);
    let link = walk
        .w
        .services
        .table
        .get_issued_order(&merchant, "WALKIMP3")
        .await
        .unwrap()
        .unwrap()
        .link_token
        .unwrap();
    let recipient =
        |name: &str| json!({"name": name, "mobile": "0922333444", "email": "friend@demo.com.tw"});
    walk.twice_with(
        step(
            "POST",
            "/wallet/{token}/transfers",
            format!("/wallet/{link}/transfers"),
            a,
            json!({"ticket_nos": [gifts[0].ticket_no], "recipient": recipient("林小美")}),
        ),
        json!({"ticket_nos": [gifts[1].ticket_no], "recipient": recipient("陳大文")}),
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/wallet/{token}/return-requests",
            format!("/wallet/{link}/return-requests"),
            a,
            json!({"ticket_nos": [gifts[1].ticket_no], "reason": "買錯了"}),
        ),
        json!({"ticket_nos": [gifts[1].ticket_no], "reason": "不需要了"}),
    )
    .await;

    // Paper the merchant prints: a print page, asked twice.
    walk.w.record_order(a, "WALK4", &id, 240, 2).await;
    let paper = walk
        .w
        .issue(
            a,
            PARENT,
            "paper_by_merchant",
            &[tessera_tests::IssueRow::new("WALKIMP4", &id, 2).paid_by("WALK4")],
        )
        .await
        .remove(0);
    walk.twice_with(
        step(
            "POST",
            "/paper-tickets/print",
            "/paper-tickets/print",
            a,
            json!({"ticket_nos": [paper[0].ticket_no]}),
        ),
        json!({"ticket_nos": [paper[1].ticket_no]}),
    )
    .await;

    // At the back office: the transfer cancelled, the order resent and its buyer changed.
    let transfer_id = walk
        .w
        .services
        .table
        .get_ticket(&gifts[0].ticket_no)
        .await
        .unwrap()
        .unwrap()
        .transfer_id
        .unwrap();
    walk.twice(step(
        "POST",
        "/transfers/{transfer_id}/cancel",
        format!("/transfers/{transfer_id}/cancel"),
        a,
        json!({}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/issued-orders/{import_no}/resend",
        "/issued-orders/WALKIMP3/resend",
        a,
        json!({}),
    ))
    .await;
    walk.twice_with(
        step(
            "PUT",
            "/issued-orders/{import_no}/buyer",
            "/issued-orders/WALKIMP3/buyer",
            a,
            json!({"name": "陳新", "mobile": "0933000111", "email": "new@demo.com.tw"}),
        ),
        json!({"name": "陳另", "mobile": "0933000222", "email": "other@demo.com.tw"}),
    )
    .await;

    // Installment mode: an installment merchant opened by the operator (whose routes take
    // no keys), its refund notify URL, an order issued, remarked, returned and cancelled.
    let ops = walk.w.operator_token(tessera_dev::seed::OPERATOR).await;
    for (uri, body) in [
        (
            "/operator/merchants/INSTWALK",
            json!({"name": "分期步行", "admin_password": "Walk#2026"}),
        ),
        (
            "/operator/merchants/INSTWALK/contract",
            json!({"starts_on": "2026-01-01", "ends_on": "2027-12-31", "issuance_enabled": true,
                   "sms_contracted": false, "redemption_mode": "installment",
                   "delivery_methods": ["electronic_immediate"]}),
        ),
    ] {
        let (status, answer) = walk
            .w
            .call(json_request("PUT", uri, Some(&ops), body))
            .await;
        assert!((200..300).contains(&status), "{uri}: {answer}");
    }
    let installment = walk.w.token("INSTWALK", "admin", "Walk#2026").await;
    let i = installment.as_str();
    walk.twice_with(
        step(
            "PUT",
            "/merchant/refund-notify-url",
            "/merchant/refund-notify-url",
            i,
            json!({"url": "https://walk.example.com/refunds"}),
        ),
        json!({"url": "https://other.example.com/refunds"}),
    )
    .await;
    let secret = walk
        .twice_with(
            step(
                "POST",
                "/merchant/webhook-secret",
                "/merchant/webhook-secret",
                i,
                json!({}),
            ),
            json!({"other": true}),
        )
        .await;
    assert!(secret["secret"]
        .as_str()
        .is_some_and(|s| s.starts_with("whsec_")));
    let ping = walk
        .twice_with(
            step("POST", "/webhooks/ping", "/webhooks/ping", i, json!({})),
            json!({"other": true}),
        )
        .await;
    let ping_id = ping["delivery_id"].as_str().unwrap().to_owned();
    walk.twice_with(
        step(
            "POST",
            "/webhooks/deliveries/{delivery_id}/redeliver",
            format!("/webhooks/deliveries/{ping_id}/redeliver"),
            i,
            json!({}),
        ),
        json!({"other": true}),
    )
    .await;
    walk.twice_with(
        step(
            "POST",
            "/webhooks/deliveries/redeliver-failed",
            "/webhooks/deliveries/redeliver-failed",
            i,
            json!({"from": "2026-11-01", "to": "2026-11-30"}),
        ),
        json!({"from": "2026-11-02", "to": "2026-11-30"}),
    )
    .await;
    let (status, course) = walk
        .w
        .call(json_request(
            "POST",
            "/products",
            Some(i),
            json!({"name": "步行課程", "kind": "goods_voucher", "term_days": 120, "face_value": 900}),
        ))
        .await;
    assert_eq!(status, 201, "{course}");
    let (status, paid) = walk
        .w
        .call(json_request(
            "POST",
            "/orders",
            Some(i),
            json!({"trade_no": "WALKINST", "product_id": course["product_id"], "amount": 900, "quantity": 1,
                   "cardholder_name": "林步行", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
        ))
        .await;
    assert_eq!(status, 201, "{paid}");
    walk.twice(step(
        "POST",
        "/installment-orders",
        "/installment-orders",
        i,
        json!({"trade_no": "WALKINST", "periods": 3, "first_redemption_on": "2026-12-05"}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/installment-orders/{trade_no}/remarks",
        "/installment-orders/WALKINST/remarks",
        i,
        json!({"remark": "步行備註"}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/installment-orders/{trade_no}/return",
        "/installment-orders/WALKINST/return",
        i,
        json!({"fee": "30", "reason": "步行退貨"}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/installment-orders/{trade_no}/cancel-return",
        "/installment-orders/WALKINST/cancel-return",
        i,
        json!({"reason": "步行取消"}),
    ))
    .await;

    // The session and the caller's own password, last: they change who the caller is.
    let cashier = walk.w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    walk.twice(step(
        "PUT",
        "/account/password",
        "/account/password",
        &cashier,
        json!({"current_password": STAFF_PASSWORD, "new_password": "Walked2027"}),
    ))
    .await;
    walk.twice(step(
        "POST",
        "/sessions/current/switch",
        "/sessions/current/switch",
        a,
        json!({"merchant_id": tessera_dev::seed::CHILD}),
    ))
    .await;
    walk.twice(step(
        "DELETE",
        "/sessions/current",
        "/sessions/current",
        a,
        json!({}),
    ))
    .await;

    // Every state-changing operation of the document was walked.
    let document = tessera_dev::openapi::document();
    let state_changing: BTreeSet<(String, String)> = tessera_dev::openapi::operations(&document)
        .into_iter()
        .filter(|(method, _)| matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
        .filter(|(method, path)| tessera_dev::openapi::takes_idempotency_key(method, path))
        .collect();
    let missing: Vec<_> = state_changing.difference(&walk.walked).collect();
    assert!(
        missing.is_empty(),
        "state-changing routes the walk does not cover: {missing:?}"
    );
}

/// A key is the caller's: another account of the merchant, or another merchant, sending
/// the same key and body gets no one else's answer.
#[tokio::test]
async fn a_key_answers_only_the_account_and_merchant_that_used_it() {
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let send = |token: &str| {
        let mut request = json_request(
            "POST",
            "/branches",
            Some(token),
            json!({"code": "KEY01", "name": "鍵店"}),
        );
        request
            .headers_mut()
            .insert("idempotency-key", "shared-key-1".parse().unwrap());
        request
    };
    let (status, created) = w.call(send(&admin)).await;
    assert_eq!(status, 201, "{created}");
    // Another account of the same merchant: the key names another request (its caller).
    let (status, problem) = w.call(send(&manager)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_REUSED")),
        "{problem}"
    );
    // Another merchant: its keys are its own; the request runs for it, on its data.
    let (status, theirs) = w.call(send(&partner)).await;
    assert_eq!(status, 201, "{theirs}");
    assert_eq!(theirs["code"], "KEY01");
    let (_, list) = w
        .call(tessera_tests::authed("GET", "/branches", &partner))
        .await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b["code"] == "KEY01"));
}
