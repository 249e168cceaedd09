//! Every state-changing route refuses an account that holds query rights everywhere and
//! modify rights nowhere (`manager01`): with RIGHT_MISSING naming the right, or ADMIN_ONLY
//! for account management. The table must cover every such route of the template, so a new
//! route cannot arrive without its denial being tested.

use serde_json::json;
use std::collections::BTreeSet;
use tessera_dev::seed::{PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{json_request, seeded};

/// Routes any signed-in account may use on itself: not gated by a function-area right.
const SESSION_ROUTES: &[(&str, &str)] = &[
    ("DELETE", "/sessions/current"),
    ("POST", "/sessions/current/switch"),
    ("PUT", "/account/password"),
    // A lookup that is a POST only to keep redemption codes out of URLs: it changes nothing
    // (its query-right denials are in lifecycle.rs).
    ("POST", "/tickets/lookup"),
    // Exporting a report is reading it: the query right of reports is the one it needs
    // (its denials are in reports.rs).
    ("POST", "/exports"),
    // An account marks what it read in its own message centre.
    ("PUT", "/messages/{announcement_id}/read"),
];

#[tokio::test]
async fn an_account_without_modify_rights_is_refused_on_every_state_changing_route() {
    let w = seeded().await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let product = json!({"name": "x", "kind": "gift_voucher", "term_days": 30, "face_value": 100});
    let contact = json!({"name": "", "phone": "", "email": ""});
    // (method, template path, concrete path, a well-formed body, expected code)
    let cases = [
        (
            "POST",
            "/installment-orders",
            "/installment-orders".to_owned(),
            json!({"trade_no": "INST1", "periods": 3, "first_redemption_on": "2026-12-05"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/installment-orders/{trade_no}/remarks",
            "/installment-orders/INST1/remarks".to_owned(),
            json!({"remark": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/installment-orders/{trade_no}/return",
            "/installment-orders/INST1/return".to_owned(),
            json!({"fee": "0", "reason": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/installment-orders/{trade_no}/cancel-return",
            "/installment-orders/INST1/cancel-return".to_owned(),
            json!({"reason": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/merchant/webhook-secret",
            "/merchant/webhook-secret".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/webhooks/deliveries/redeliver-failed",
            "/webhooks/deliveries/redeliver-failed".to_owned(),
            json!({"from": "2026-11-01", "to": "2026-11-30"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/webhooks/ping",
            "/webhooks/ping".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/webhooks/deliveries/{delivery_id}/redeliver",
            "/webhooks/deliveries/ping_0/redeliver".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/merchant/refund-notify-url",
            "/merchant/refund-notify-url".to_owned(),
            json!({"url": "https://shop.example.com/refunds"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/paper-tickets/print",
            "/paper-tickets/print".to_owned(),
            json!({"ticket_nos": ["100000000001"]}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/issued-orders/{import_no}/buyer",
            "/issued-orders/IMP0001/buyer".to_owned(),
            json!({"name": "陳新", "mobile": "0933000111", "email": "new@demo.com.tw"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/issued-orders/{import_no}/resend",
            "/issued-orders/IMP0001/resend".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/transfers/{transfer_id}/cancel",
            "/transfers/TR0000000000000000/cancel".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/branch-bindings",
            "/branch-bindings".to_owned(),
            json!({"branch_code": "TPE01", "accounts": ["cashier01"]}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/branch-bindings/unbind",
            "/branch-bindings/unbind".to_owned(),
            json!({"accounts": ["cashier01"]}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/branches",
            "/branches".to_owned(),
            json!({"code": "NEW01", "name": "新店"}),
            "RIGHT_MISSING",
        ),
        (
            "PATCH",
            "/branches/{code}",
            "/branches/TPE01".to_owned(),
            json!({"enabled": false}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/joint-issuers/{issuer_id}/unlink",
            format!("/joint-issuers/{PARTNER}/unlink"),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/login-alerts",
            "/login-alerts".to_owned(),
            json!({"on_failed_sign_in": false, "on_new_device": false, "emails": ""}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/merchant/operation-settings",
            "/merchant/operation-settings".to_owned(),
            json!({"sms_enabled": false, "consumer_returns_enabled": true}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/merchant/profile",
            "/merchant/profile".to_owned(),
            json!({"payment_page_name": "store", "contacts": {"billing": contact, "business": contact, "technical": contact}}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/merchant/ticket-page",
            "/merchant/ticket-page".to_owned(),
            json!({"customer_service": {}}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/merchant/ticket-page/images/{image}",
            "/merchant/ticket-page/images/logo".to_owned(),
            json!({"key": "merchants/DEMO0001/logo/x.png"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/merchant/ticket-page/uploads",
            "/merchant/ticket-page/uploads".to_owned(),
            json!({"image": "logo", "content_type": "image/png", "size": 10}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/issuance/uploads",
            "/issuance/uploads".to_owned(),
            json!({"delivery_method": "electronic_immediate", "size": 1000}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/issuance/uploads/{upload_id}/preview",
            "/issuance/uploads/0123456789abcdef0123456789abcdef/preview".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/issuance/uploads/{upload_id}/confirm",
            "/issuance/uploads/0123456789abcdef0123456789abcdef/confirm".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/redemptions",
            "/redemptions".to_owned(),
            json!({"code": "2222222222222222"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/redemptions/cancel",
            "/redemptions/cancel".to_owned(),
            json!({"code": "2222222222222222", "reason": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/returns",
            "/returns".to_owned(),
            json!({"code": "2222222222222222", "reason": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/returns/cancel",
            "/returns/cancel".to_owned(),
            json!({"code": "2222222222222222", "reason": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/tickets/{ticket_no}/remarks",
            "/tickets/0000000000018/remarks".to_owned(),
            json!({"remark": "x"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/orders",
            "/orders".to_owned(),
            json!({"trade_no": "ORD1", "product_id": "PZZZZZZZZZZ", "amount": 100, "quantity": 1, "cardholder_name": "王", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/orders/{trade_no}/abandon",
            "/orders/ORD1/abandon".to_owned(),
            json!({}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/products/{product_id}/image-uploads",
            "/products/PZZZZZZZZZZ/image-uploads".to_owned(),
            json!({"content_type": "image/png", "size": 10}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/products/{product_id}/image",
            "/products/PZZZZZZZZZZ/image".to_owned(),
            json!({"key": "merchants/DEMO0001/products/PZZZZZZZZZZ/x.png"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/products",
            "/products".to_owned(),
            product.clone(),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/products/delist",
            "/products/delist".to_owned(),
            json!({"product_ids": ["PZZZZZZZZZZ"]}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/products/relist",
            "/products/relist".to_owned(),
            json!({"product_ids": ["PZZZZZZZZZZ"]}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/products/{product_id}",
            "/products/PZZZZZZZZZZ".to_owned(),
            product,
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/redeemable-stores",
            "/redeemable-stores".to_owned(),
            json!({"merchant_id": "DEMO0002"}),
            "RIGHT_MISSING",
        ),
        (
            "PUT",
            "/redeemable-stores/{store_id}/status",
            format!("/redeemable-stores/{PARTNER}/status"),
            json!({"status": "unlinked"}),
            "RIGHT_MISSING",
        ),
        (
            "POST",
            "/sub-accounts",
            "/sub-accounts".to_owned(),
            json!({"account": "new01abc", "password": "Newpass2026"}),
            "ADMIN_ONLY",
        ),
        (
            "DELETE",
            "/sub-accounts/{account}",
            "/sub-accounts/cashier01".to_owned(),
            json!({}),
            "ADMIN_ONLY",
        ),
        (
            "PUT",
            "/sub-accounts/{account}/password",
            "/sub-accounts/cashier01/password".to_owned(),
            json!({"password": "Newpass2026"}),
            "ADMIN_ONLY",
        ),
        (
            "PUT",
            "/sub-accounts/{account}/remark",
            "/sub-accounts/cashier01/remark".to_owned(),
            json!({"remark": "x"}),
            "ADMIN_ONLY",
        ),
        (
            "PUT",
            "/sub-accounts/{account}/rights",
            "/sub-accounts/cashier01/rights".to_owned(),
            json!({"rights": {}}),
            "ADMIN_ONLY",
        ),
    ];

    let covered: BTreeSet<(String, String)> = cases
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .collect();
    let state_changing: BTreeSet<(String, String)> = w
        .stack
        .template
        .routes()
        .into_iter()
        // The operator's routes have the operator's rights (their denials: operator.rs).
        .filter(|(route, _)| {
            !route.public && route.method != "GET" && !route.path.starts_with("/operator/")
        })
        .map(|(route, _)| (route.method, route.path))
        .filter(|(m, p)| !SESSION_ROUTES.contains(&(m.as_str(), p.as_str())))
        .collect();
    assert_eq!(
        covered, state_changing,
        "every state-changing route has its denial in this table"
    );

    for (method, _, path, body, code) in cases {
        let (status, problem) = w
            .call(json_request(method, &path, Some(&manager), body))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some(code)),
            "{method} {path}: {problem}"
        );
        if code == "RIGHT_MISSING" {
            assert!(
                problem["detail"].as_str().unwrap().contains("modify right"),
                "{method} {path}: {problem}"
            );
        }
    }
}
