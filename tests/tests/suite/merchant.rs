//! Merchant profile, operation settings, ticket page and contract (§3-2, §3-6, §7-1).

use serde_json::{json, Value};
use std::sync::Arc;
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::values::MerchantId;
use tessera_tests::{authed, json_request, test_start};

tessera_tests::seeded_world!();

impl World {
    async fn settings_history(&self, merchant: &str) -> Vec<String> {
        let merchant = MerchantId::parse("m", merchant).unwrap();
        let entries = self
            .services
            .table
            .list_history(&merchant, "settings", merchant.as_str())
            .await
            .unwrap();
        entries.into_iter().map(|e| e.action).collect()
    }
}

fn profile(billing_email: &str) -> Value {
    json!({
        "payment_page_name": "store",
        "contacts": {
            "billing": {"name": "會計 陳小姐", "phone": "02-2345-6789", "email": billing_email},
            "business": {"name": "業務 林先生", "phone": "0912345678", "email": "sales@demo.com.tw"},
            "technical": {"name": "", "phone": "", "email": ""}
        },
        "authorization_emails": "auth1@demo.com.tw;auth2@demo.com.tw"
    })
}

#[tokio::test]
async fn profile_contacts_take_semicolon_lists_and_name_the_bad_address() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, initial) = w.call(authed("GET", "/merchant/profile", &admin)).await;
    assert_eq!(status, 200);
    assert_eq!(
        initial["website"]["website"],
        "https://demo0001.example.com.tw"
    );

    let (status, saved) = w
        .call(json_request(
            "PUT",
            "/merchant/profile",
            Some(&admin),
            profile("acc@demo.com.tw; boss@demo.com.tw"),
        ))
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["contacts"]["billing"]["email"],
        "acc@demo.com.tw;boss@demo.com.tw"
    );
    assert_eq!(
        saved["receipt_emails"], "acc@demo.com.tw;boss@demo.com.tw",
        "receipts go to the billing contact"
    );
    assert_eq!(saved["payment_page_name"], "store");

    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/profile",
            Some(&admin),
            profile("ok@demo.com.tw;not-an-address"),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    assert_eq!(problem["errors"][0]["field"], "contacts.billing.email");
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not-an-address"));

    let mut with_website = profile("ok@demo.com.tw");
    with_website["website"] = json!({"website": "https://evil.example"});
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/profile",
            Some(&admin),
            with_website,
        ))
        .await;
    assert_eq!(
        (
            status,
            problem["code"].as_str(),
            problem["errors"][0]["field"].as_str()
        ),
        (400, Some("READ_ONLY_FIELD"), Some("website"))
    );

    let (_, now) = w.call(authed("GET", "/merchant/profile", &admin)).await;
    assert_eq!(now, saved, "refused edits stored nothing");
    assert_eq!(w.settings_history(PARENT).await, ["profile_changed"]);
    let (status, history) = w.call(authed("GET", "/merchant/history", &admin)).await;
    assert_eq!(status, 200);
    assert_eq!(history["items"][0]["by_account"], "admin");
    assert_eq!(
        history["items"][0]["changes"]["after"]["contacts"]["billing"]["email"],
        "acc@demo.com.tw;boss@demo.com.tw"
    );
    assert_eq!(
        history["items"][0]["changes"]["before"]["contacts"]["billing"]["email"],
        ""
    );
}

#[tokio::test]
async fn sms_can_be_switched_on_only_when_contracted() {
    let w = world().await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (_, settings) = w
        .call(authed("GET", "/merchant/operation-settings", &partner))
        .await;
    assert_eq!(
        settings,
        json!({"sms_enabled": false, "sms_available": false, "consumer_returns_enabled": false})
    );
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(&partner),
            json!({"sms_enabled": true, "consumer_returns_enabled": true}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("SMS_NOT_CONTRACTED"))
    );
    let (_, unchanged) = w
        .call(authed("GET", "/merchant/operation-settings", &partner))
        .await;
    assert_eq!(
        unchanged, settings,
        "nothing changed, not even the returns switch"
    );
    let (status, saved) = w
        .call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(&partner),
            json!({"sms_enabled": false, "consumer_returns_enabled": true}),
        ))
        .await;
    assert_eq!(
        (status, saved["consumer_returns_enabled"].as_bool()),
        (200, Some(true))
    );

    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, saved) = w
        .call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(&admin),
            json!({"sms_enabled": true, "consumer_returns_enabled": false}),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        saved,
        json!({"sms_enabled": true, "sms_available": true, "consumer_returns_enabled": false})
    );
}

#[tokio::test]
async fn ticket_page_issuer_fields_are_read_only_and_customer_service_is_checked() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (_, page) = w.call(authed("GET", "/merchant/ticket-page", &admin)).await;
    assert_eq!(page["issuer"]["tax_id"], "24681357");

    let good = json!({"customer_service": {"phone": "02-2345-6789", "email": "service@demo.com.tw", "links": ["https://facebook.com/demo"]}, "return_rights_statement": "未使用之提貨券可於價金保管期間內申請退貨。"});
    let mut with_issuer = good.clone();
    with_issuer["issuer"] = json!({"tax_id": "00000000"});
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page",
            Some(&admin),
            with_issuer,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("READ_ONLY_FIELD"))
    );

    let bad = json!({"customer_service": {"phone": "call us", "email": "nope", "links": ["javascript:alert(1)"]}, "return_rights_statement": "字".repeat(1001)});
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page",
            Some(&admin),
            bad,
        ))
        .await;
    assert_eq!(status, 400);
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(
        fields,
        [
            "customer_service.phone",
            "customer_service.email",
            "customer_service.links[0]",
            "return_rights_statement"
        ]
    );

    let (status, saved) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page",
            Some(&admin),
            good,
        ))
        .await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["issuer"]["tax_id"], "24681357", "unchanged");
    assert_eq!(
        saved["customer_service"]["links"],
        json!(["https://facebook.com/demo"])
    );
}

#[tokio::test]
async fn contract_shows_status_and_the_rates_in_force_on_a_day() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, contract) = w.call(authed("GET", "/merchant/contract", &admin)).await;
    assert_eq!(status, 200, "{contract}");
    assert_eq!(contract["service_status"], "active");
    assert_eq!(contract["rates_on"], "2026-11-30");
    assert_eq!(contract["redemption_mode"], "redeem_after_use");
    let rates: Vec<(&str, &str)> = contract["rates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["item"].as_str().unwrap(), r["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rates,
        [
            ("return_operation", "10"),
            ("sms", "1.2"),
            ("paper_printing", "5"),
            ("serial_processing", "0.5")
        ]
    );

    // A rate change during a day: that day shows the latest rate.
    let merchant = MerchantId::parse("m", PARENT).unwrap();
    let raise = tessera_domain::merchant::FeeRate {
        mode: tessera_domain::merchant::RedemptionMode::RedeemAfterUse,
        item: tessera_domain::merchant::FeeItem::ReturnOperation,
        basis: tessera_domain::merchant::FeeBasis::PerUnit,
        amount: rust_decimal::Decimal::new(15, 0),
        effective_from: test_start() + chrono::Duration::hours(12), // 22:00 Taipei, 30 Nov
    };
    w.services.table.put_rate(&merchant, &raise).await.unwrap();
    let (_, on_the_day) = w
        .call(authed("GET", "/merchant/contract?date=2026-11-30", &admin))
        .await;
    assert_eq!(on_the_day["rates"][0]["amount"], "15");
    let (_, day_before) = w
        .call(authed("GET", "/merchant/contract?date=2026-11-29", &admin))
        .await;
    assert_eq!(day_before["rates"][0]["amount"], "10");
    let (_, before_contract) = w
        .call(authed("GET", "/merchant/contract?date=2025-12-31", &admin))
        .await;
    assert_eq!(before_contract["rates"], json!([]));

    let (status, problem) = w
        .call(authed("GET", "/merchant/contract?date=30/11/2026", &admin))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("date"))
    );
}

#[tokio::test]
async fn settings_rights_and_switching_scope_every_read_and_write() {
    let w = world().await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w.call(authed("GET", "/merchant/profile", &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    assert_eq!(
        w.call(authed("GET", "/merchant/operation-settings", &manager))
            .await
            .0,
        200
    );
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(&manager),
            json!({"sms_enabled": false, "consumer_returns_enabled": true}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );

    // Switched into the child, the parent's admin reads and writes the child's settings only.
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (_, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&admin),
            json!({"merchant_id": CHILD}),
        ))
        .await;
    let child = switched["token"].as_str().unwrap();
    let (_, profile) = w.call(authed("GET", "/merchant/profile", child)).await;
    assert_eq!(profile["merchant_id"], CHILD);
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(child),
            json!({"sms_enabled": true, "consumer_returns_enabled": true})
        ))
        .await
        .0,
        200
    );
    assert_eq!(
        w.settings_history(CHILD).await,
        ["operation_settings_changed"]
    );
    assert!(w.settings_history(PARENT).await.is_empty());
}

#[tokio::test]
async fn concurrent_edits_never_lose_a_history_entry() {
    let w = Arc::new(world().await);
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (w, admin) = (w.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let body = json!({"sms_enabled": i % 2 == 0, "consumer_returns_enabled": i % 3 == 0});
            w.call(json_request(
                "PUT",
                "/merchant/operation-settings",
                Some(&admin),
                body,
            ))
            .await
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => succeeded += 1,
            409 => assert_eq!(body["code"], "CONCURRENT_CHANGE"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(succeeded >= 1);
    assert_eq!(
        w.settings_history(PARENT).await.len(),
        succeeded,
        "one history entry per applied change"
    );
}

use tessera_tests::{get_bytes, put_to};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR tiny test image";

#[tokio::test]
async fn a_logo_is_uploaded_through_a_presigned_url_and_checked_before_use() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let request = json!({"image": "logo", "content_type": "image/png", "size": PNG.len()});
    let (status, ticket) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            request,
        ))
        .await;
    assert_eq!(status, 201, "{ticket}");
    let key = ticket["key"].as_str().unwrap();
    assert!(key.starts_with("merchants/DEMO0001/logo/") && key.ends_with(".png"));
    assert_eq!(
        put_to(ticket["upload_url"].as_str().unwrap(), "image/png", PNG).await,
        200
    );

    let (status, page) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page/images/logo",
            Some(&admin),
            json!({"key": key}),
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        get_bytes(page["logo_url"].as_str().unwrap()).await,
        PNG,
        "the download link serves the logo"
    );
    let (_, again) = w.call(authed("GET", "/merchant/ticket-page", &admin)).await;
    assert!(again["logo_url"].is_string() && again.get("banner_url").is_none());
    assert_eq!(w.settings_history(PARENT).await, ["ticket_image_changed"]);
}

#[tokio::test]
async fn uploads_of_the_wrong_type_size_or_owner_are_refused() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            json!({"image": "logo", "content_type": "image/gif", "size": 2_000_000}),
        ))
        .await;
    assert_eq!(status, 400);
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(fields, ["content_type", "size"]);
    let (status, _) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            json!({"image": "avatar", "content_type": "image/png", "size": 10}),
        ))
        .await;
    assert_eq!(status, 400, "unknown image kinds are refused");

    let upload = |size: usize| json!({"image": "logo", "content_type": "image/png", "size": size});
    let confirm = |key: &str| json!({"key": key});

    // Declared PNG, but the bytes are a script.
    let (_, ticket) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            upload(30),
        ))
        .await;
    put_to(
        ticket["upload_url"].as_str().unwrap(),
        "image/png",
        b"<script>alert(1)</script>....",
    )
    .await;
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page/images/logo",
            Some(&admin),
            confirm(ticket["key"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("key"))
    );
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not a image/png"));

    // More bytes than a logo may have.
    let (_, ticket) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            upload(1024),
        ))
        .await;
    let mut big = PNG.to_vec();
    big.resize(1024 * 1024 + 1, 0);
    put_to(ticket["upload_url"].as_str().unwrap(), "image/png", &big).await;
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page/images/logo",
            Some(&admin),
            confirm(ticket["key"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(status, 400);
    assert!(
        problem["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{problem}"
    );

    // A key never uploaded, a logo key used as banner, and another merchant's upload.
    let (_, ticket) = w
        .call(json_request(
            "POST",
            "/merchant/ticket-page/uploads",
            Some(&admin),
            upload(PNG.len()),
        ))
        .await;
    let key = ticket["key"].as_str().unwrap().to_owned();
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page/images/logo",
            Some(&admin),
            confirm(&key),
        ))
        .await;
    assert_eq!(status, 400);
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("nothing was uploaded"));
    put_to(ticket["upload_url"].as_str().unwrap(), "image/png", PNG).await;
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/merchant/ticket-page/images/banner",
            Some(&admin),
            confirm(&key)
        ))
        .await
        .0,
        400
    );
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/merchant/ticket-page/images/logo",
            Some(&partner),
            confirm(&key),
        ))
        .await;
    assert_eq!(status, 400);
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not an upload of this merchant"));
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/merchant/ticket-page/images/avatar",
            Some(&admin),
            confirm(&key)
        ))
        .await
        .0,
        404
    );

    assert!(
        w.settings_history(PARENT).await.is_empty(),
        "nothing refused was stored"
    );
    assert!(w.settings_history(PARTNER).await.is_empty());
}
