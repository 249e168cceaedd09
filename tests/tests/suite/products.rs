//! Products (§7-3 A) through the gateway against the local AWS.

use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::products::ProductId;
use tessera_domain::values::MerchantId;
use tessera_tests::{authed, json_request};

tessera_tests::seeded_world!();

fn latte() -> Value {
    json!({
        "name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120,
        "usage_notes": "限門市使用，不可找零。",
        "redeemable_stores": [PARTNER], "redeem_branches": ["TPE01", "KHH01"], "return_branches": ["TPE01"]
    })
}

impl World {
    async fn create(&self, token: &str, body: Value) -> Value {
        let (status, product) = self
            .call(json_request("POST", "/products", Some(token), body))
            .await;
        assert_eq!(status, 201, "{product}");
        product
    }

    /// Marks a product as issued through the store code issuance will use.
    async fn mark_issued(&self, product_id: &str) {
        let merchant = MerchantId::parse("m", PARENT).unwrap();
        let mut product = self
            .services
            .table
            .get_product(
                &merchant,
                &ProductId::parse("product_id", product_id).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        product.first_issued_at = Some(tessera_tests::test_start());
        product.version += 1;
        let entry = tessera_platform::store::history::HistoryEntry {
            at: tessera_tests::test_start(),
            merchant_id: merchant,
            by_account: tessera_domain::values::AccountName::parse_login("a", "issuance").unwrap(),
            entity: "product".into(),
            entity_id: product_id.into(),
            action: "issued".into(),
            changes: json!({"issued": 3}),
        };
        self.services
            .table
            .save_products(&[(product, entry)])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn products_are_created_with_checked_lists_and_found_by_date() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.create(&admin, latte()).await;
    let id = product["product_id"].as_str().unwrap();
    assert!(id.starts_with('P') && id.len() == 11);
    assert_eq!(
        (product["face_value"].as_str(), product["listed"].as_bool()),
        (Some("120"), Some(true))
    );
    assert_eq!(product["redeem_branches"], json!(["TPE01", "KHH01"]));

    let (status, found) = w
        .call(authed("GET", &format!("/products/{id}"), &admin))
        .await;
    assert_eq!((status, found["name"].as_str()), (200, Some("拿鐵提貨券")));
    let (_, listed) = w
        .call(authed(
            "GET",
            "/products?from=2026-11-30&to=2026-11-30",
            &admin,
        ))
        .await;
    assert_eq!(listed["items"][0]["product_id"], id);
    let (_, earlier) = w
        .call(authed(
            "GET",
            "/products?from=2026-01-01&to=2026-11-29",
            &admin,
        ))
        .await;
    assert_eq!(earlier["items"], json!([]));

    let (status, problem) = w
        .call(authed(
            "GET",
            "/products?from=2026-01-01&to=2027-01-01",
            &admin,
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("to"))
    );
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("one year"));
    let (status, problem) = w
        .call(authed(
            "GET",
            "/products?from=yesterday&to=2026-11-30",
            &admin,
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("from"))
    );
}

#[tokio::test]
async fn bad_products_name_every_field_and_store_nothing() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let bad = json!({"name": "", "kind": "goods_voucher", "term_days": 0, "face_value": "0.5", "usage_notes": ""});
    let (status, problem) = w
        .call(json_request("POST", "/products", Some(&admin), bad))
        .await;
    assert_eq!(status, 400);
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(fields, ["name", "term_days", "face_value"]);

    // Lists must name open redeemable stores and this merchant's branches.
    let mut lists = latte();
    lists["redeemable_stores"] = json!([PARTNER, CHILD]);
    lists["return_branches"] = json!(["NOPE01"]);
    let (status, problem) = w
        .call(json_request("POST", "/products", Some(&admin), lists))
        .await;
    assert_eq!(status, 400);
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(fields, ["redeemable_stores[1]", "return_branches[0]"]);

    let (status, problem) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&admin),
            json!({"name": "x", "kind": "coupon", "term_days": 1, "face_value": 1}),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("kind"))
    );

    let (_, listed) = w
        .call(authed(
            "GET",
            "/products?from=2026-11-30&to=2026-11-30",
            &admin,
        ))
        .await;
    assert_eq!(listed["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn once_issued_only_the_three_lists_can_change() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let id = w.create(&admin, latte()).await["product_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut renamed = latte();
    renamed["name"] = json!("大杯拿鐵提貨券");
    renamed["face_value"] = json!("130");
    let (status, edited) = w
        .call(json_request(
            "PUT",
            &format!("/products/{id}"),
            Some(&admin),
            renamed.clone(),
        ))
        .await;
    assert_eq!(
        (status, edited["face_value"].as_str()),
        (200, Some("130")),
        "never issued: editable"
    );

    w.mark_issued(&id).await;
    renamed["face_value"] = json!("150");
    renamed["usage_notes"] = json!("改了說明");
    let (status, problem) = w
        .call(json_request(
            "PUT",
            &format!("/products/{id}"),
            Some(&admin),
            renamed.clone(),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("PRODUCT_ISSUED_LOCKED"))
    );
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(fields, ["face_value", "usage_notes"]);

    let mut lists_only = tessera_tests::product_edit_body(edited.clone());
    lists_only["redeem_branches"] = json!(["TPE01"]);
    lists_only["redeemable_stores"] = json!([]);
    let (status, saved) = w
        .call(json_request(
            "PUT",
            &format!("/products/{id}"),
            Some(&admin),
            lists_only,
        ))
        .await;
    assert_eq!(
        (status, saved["redeem_branches"].clone()),
        (200, json!(["TPE01"]))
    );

    let (_, history) = w
        .call(authed("GET", &format!("/products/{id}/history"), &admin))
        .await;
    let actions = tessera_tests::history_actions(&history);
    assert_eq!(actions, ["created", "edited", "issued", "edited"]);
}

#[tokio::test]
async fn bulk_delist_and_relist_are_all_or_nothing_and_copy_prefills() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let a = w.create(&admin, latte()).await["product_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = w.create(&admin, latte()).await["product_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, problem) = w
        .call(json_request(
            "POST",
            "/products/delist",
            Some(&admin),
            json!({"product_ids": [a, "PZZZZZZZZZZ"]}),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("product_ids[1]"))
    );
    let (_, still) = w
        .call(authed("GET", &format!("/products/{a}"), &admin))
        .await;
    assert_eq!(still["listed"], true, "nothing changed");

    assert_eq!(
        w.call(json_request(
            "POST",
            "/products/delist",
            Some(&admin),
            json!({"product_ids": [a, b]})
        ))
        .await
        .0,
        204
    );
    let (_, listed) = w
        .call(authed(
            "GET",
            "/products?from=2026-11-30&to=2026-11-30",
            &admin,
        ))
        .await;
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["listed"] == false));
    assert_eq!(
        w.call(json_request(
            "POST",
            "/products/relist",
            Some(&admin),
            json!({"product_ids": [b]})
        ))
        .await
        .0,
        204
    );
    let (_, b_now) = w
        .call(authed("GET", &format!("/products/{b}"), &admin))
        .await;
    assert_eq!(b_now["listed"], true);

    let (status, copy) = w
        .call(authed("GET", &format!("/products/{a}/copy"), &admin))
        .await;
    assert_eq!(status, 200);
    assert!(
        copy.get("product_id").is_none(),
        "a copy is a draft, not a product"
    );
    let created = w.create(&admin, copy).await;
    assert_ne!(created["product_id"].as_str(), Some(a.as_str()));
    assert_eq!(created["name"], "拿鐵提貨券");
}

#[tokio::test]
async fn products_respect_rights_tenancy_and_the_parent_child_rule() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let id = w.create(&admin, latte()).await["product_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(authed("GET", &format!("/products/{id}"), &cashier))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    assert_eq!(
        w.call(authed("GET", &format!("/products/{id}"), &manager))
            .await
            .0,
        200
    );
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/products/delist",
            Some(&manager),
            json!({"product_ids": [id]}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );

    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    for (method, path) in [
        ("GET", format!("/products/{id}")),
        ("GET", format!("/products/{id}/history")),
        ("GET", format!("/products/{id}/copy")),
    ] {
        let (status, problem) = w.call(authed(method, &path, &partner)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("PRODUCT_NOT_FOUND")),
            "{path}"
        );
    }
    let (status, _) = w
        .call(json_request(
            "PUT",
            &format!("/products/{id}"),
            Some(&partner),
            latte(),
        ))
        .await;
    assert_eq!(status, 404);

    // The parent reads the child's products, but changing them needs a switch.
    let (status, _) = w
        .call(authed(
            "GET",
            &format!("/products?from=2026-11-30&to=2026-11-30&merchant_id={CHILD}"),
            &admin,
        ))
        .await;
    assert_eq!(status, 200);
    let mut child_product = latte();
    child_product["redeemable_stores"] = json!([]);
    child_product["redeem_branches"] = json!([]);
    child_product["return_branches"] = json!([]);
    let (status, problem) = w
        .call(json_request(
            "POST",
            &format!("/products?merchant_id={CHILD}"),
            Some(&admin),
            child_product.clone(),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("SWITCH_REQUIRED"))
    );
    let (_, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&admin),
            json!({"merchant_id": CHILD}),
        ))
        .await;
    w.create(switched["token"].as_str().unwrap(), child_product)
        .await;
}

#[tokio::test]
async fn gift_vouchers_are_products_with_a_validity_term() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let gift = json!({"name": "生日贈品券", "kind": "gift_voucher", "term_days": 90, "face_value": "50", "usage_notes": "效期 90 天"});
    let product = w.create(&admin, gift).await;
    assert_eq!(
        (
            product["kind"].as_str(),
            product["term_days"].as_u64(),
            product["face_value"].as_str()
        ),
        (Some("gift_voucher"), Some(90), Some("50"))
    );
    let (_, copy) = w
        .call(authed(
            "GET",
            &format!("/products/{}/copy", product["product_id"].as_str().unwrap()),
            &admin,
        ))
        .await;
    assert_eq!(copy["kind"], "gift_voucher");
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR tiny product picture";

#[tokio::test]
async fn a_product_picture_is_uploaded_checked_shown_and_locked_after_issuance() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.create(&admin, latte()).await;
    let id = product["product_id"].as_str().unwrap().to_owned();
    let ask = |body: Value| {
        json_request(
            "POST",
            &format!("/products/{id}/image-uploads"),
            Some(&admin),
            body,
        )
    };
    // Refused before any URL is handed out: not an image, too big.
    let (status, problem) = w
        .call(ask(json!({"content_type": "image/gif", "size": 10})))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("content_type"))
    );
    let (status, problem) = w
        .call(ask(
            json!({"content_type": "image/png", "size": 2 * 1024 * 1024}),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("size"))
    );

    let (status, upload) = w
        .call(ask(json!({"content_type": "image/png", "size": PNG.len()})))
        .await;
    assert_eq!(status, 201, "{upload}");
    let key = upload["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("merchants/{PARENT}/products/{id}/")));
    // Confirming before the file is there, or with bytes that are not a PNG, is refused.
    let confirm = |key: &str| {
        json_request(
            "PUT",
            &format!("/products/{id}/image"),
            Some(&admin),
            json!({"key": key}),
        )
    };
    let (status, problem) = w.call(confirm(&key)).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("key"))
    );
    let other_product_key = key.replace(&id, "PZZZZZZZZZZ");
    let (status, _) = w.call(confirm(&other_product_key)).await;
    assert_eq!(status, 400, "another product's upload key is refused");
    assert_eq!(
        tessera_tests::put_to(upload["upload_url"].as_str().unwrap(), "image/png", PNG).await,
        200
    );
    let (status, shown) = w.call(confirm(&key)).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["image_key"], key.as_str());
    assert_eq!(
        tessera_tests::get_bytes(shown["image_url"].as_str().unwrap()).await,
        PNG
    );
    let (_, history) = w
        .call(authed("GET", &format!("/products/{id}/history"), &admin))
        .await;
    assert_eq!(
        tessera_tests::history_actions(&history),
        ["created", "image_changed"]
    );

    // A read-only account cannot; another tenant cannot even see the product.
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(json_request(
            "POST",
            &format!("/products/{id}/image-uploads"),
            Some(&manager),
            json!({"content_type": "image/png", "size": 10}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w
        .call(json_request(
            "POST",
            &format!("/products/{id}/image-uploads"),
            Some(&partner),
            json!({"content_type": "image/png", "size": 10}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("PRODUCT_NOT_FOUND"))
    );

    // Issued: the picture is part of the terms and is locked.
    w.mark_issued(&id).await;
    let (status, problem) = w
        .call(ask(json!({"content_type": "image/png", "size": PNG.len()})))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("PRODUCT_ISSUED_LOCKED"))
    );
}
