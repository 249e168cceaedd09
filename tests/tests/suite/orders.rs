//! Paid orders, the 21-day rule, and the daily job's reminders and automatic cancellation,
//! fired through the schedule declared in the template.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{authed, json_request, seeded, test_start, Seeded};

struct World {
    base: Seeded,
    admin: String,
    product: String,
    inbox: String,
}

tessera_tests::deref_to_seeded!(World);

/// The demo parent with a product and a billing contact whose inbox is this test's own.
async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product =
        json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120});
    let (_, product) = base
        .call(json_request("POST", "/products", Some(&admin), product))
        .await;
    let inbox = format!(
        "billing-{}@demo.com.tw",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let contact = |email: &str| json!({"name": "", "phone": "", "email": email});
    let profile = json!({"payment_page_name": "company", "contacts": {"billing": contact(&inbox), "business": contact(""), "technical": contact("")}});
    assert_eq!(
        base.call(json_request(
            "PUT",
            "/merchant/profile",
            Some(&admin),
            profile
        ))
        .await
        .0,
        200
    );
    World {
        product: product["product_id"].as_str().unwrap().to_owned(),
        base,
        admin,
        inbox,
    }
}

impl World {
    async fn order(&self, trade_no: &str, paid_at: DateTime<Utc>) -> (u16, Value) {
        let body = json!({
            "trade_no": trade_no, "product_id": self.product, "amount": 240, "quantity": 2,
            "cardholder_name": "王小明", "cardholder_mobile": "０９１２-３４５-６７８", "paid_at": paid_at
        });
        self.call(json_request("POST", "/orders", Some(&self.admin), body))
            .await
    }

    async fn unissued(&self) -> Vec<Value> {
        let (_, list) = self
            .call(authed("GET", "/orders/unissued", &self.admin))
            .await;
        list["items"].as_array().unwrap().clone()
    }

    async fn run_daily_job(&self) {
        let request =
            axum::http::Request::post("/_dev/schedules/DailyJobsFunction.UnissuedOrders/run")
                .body(axum::body::Body::empty())
                .unwrap();
        let (status, body) = self.call(request).await;
        assert_eq!(status, 204, "{body}");
    }

    /// Delivers queued mail and returns the subjects that reached this test's billing inbox.
    async fn mail(&self) -> Vec<(String, String)> {
        self.deliver_notifications().await;
        tessera_tests::mail_to(&self.inbox).await
    }
}

/// 10:00 Taipei, `days` Taipei days before the tests' start day.
fn paid_days_ago(days: i64) -> DateTime<Utc> {
    test_start() - Duration::days(days)
}

#[tokio::test]
async fn orders_are_recorded_once_and_listed_with_the_21_day_rule() {
    let w = world().await;
    let (status, order) = w.order("ORD001", paid_days_ago(20)).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        order["cardholder_mobile"], "0912345678",
        "full-width digits normalised"
    );
    assert_eq!(
        (
            order["issuable"].as_bool(),
            order["issuable_until"].as_str()
        ),
        (Some(true), Some("2026-11-30"))
    );
    assert_eq!(
        w.order("ORD002", paid_days_ago(21)).await.1["issuable"],
        false,
        "day 22: too late"
    );
    let (status, problem) = w.order("ORD001", paid_days_ago(1)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("ORDER_EXISTS"))
    );

    let unissued = w.unissued().await;
    let flags: Vec<(&str, bool)> = unissued
        .iter()
        .map(|o| {
            (
                o["trade_no"].as_str().unwrap(),
                o["issuable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(flags, [("ORD001", true), ("ORD002", false)]);

    let (status, abandoned) = w
        .call(authed("POST", "/orders/ORD002/abandon", &w.admin))
        .await;
    assert_eq!(
        (status, abandoned["status"].as_str()),
        (200, Some("abandoned"))
    );
    assert_eq!(
        w.call(authed("POST", "/orders/ORD002/abandon", &w.admin))
            .await
            .1["code"],
        "ORDER_NOT_UNISSUED"
    );
    assert_eq!(w.unissued().await.len(), 1);
}

#[tokio::test]
async fn bad_orders_name_every_field_and_other_tenants_cannot_touch_them() {
    let w = world().await;
    let body = json!({
        "trade_no": "ORD-1", "product_id": "PZZZZZZZZZZ", "amount": 0, "quantity": 1001,
        "cardholder_name": "", "cardholder_mobile": "0212345678", "cardholder_email": "nope",
        "paid_at": test_start() + Duration::hours(1)
    });
    let (status, problem) = w
        .call(json_request("POST", "/orders", Some(&w.admin), body))
        .await;
    assert_eq!(status, 400);
    let fields = tessera_tests::error_fields(&problem);
    assert_eq!(
        fields,
        [
            "trade_no",
            "cardholder_mobile",
            "amount",
            "quantity",
            "cardholder_name",
            "cardholder_email",
            "paid_at",
            "product_id"
        ]
    );
    assert!(w.unissued().await.is_empty());

    assert_eq!(w.order("ORD001", paid_days_ago(3)).await.0, 201);
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w
        .call(authed("POST", "/orders/ORD001/abandon", &partner))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("ORDER_NOT_FOUND"))
    );
    let (_, theirs) = w.call(authed("GET", "/orders/unissued", &partner)).await;
    assert_eq!(theirs["items"], json!([]));
    // A product of another merchant cannot be ordered here.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w.call(authed("GET", "/orders/unissued", &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
}

#[tokio::test]
async fn the_daily_job_reminds_on_days_7_and_19_and_cancels_on_day_31_once() {
    let w = world().await;
    for (trade_no, days) in [
        ("DAY7A", 7),
        ("DAY7B", 7),
        ("DAY19", 19),
        ("DAY30", 30),
        ("DAY5", 5),
    ] {
        assert_eq!(
            w.order(trade_no, paid_days_ago(days)).await.0,
            201,
            "{trade_no}"
        );
    }
    assert_eq!(w.order("DONE30", paid_days_ago(30)).await.0, 201);
    assert_eq!(
        w.call(authed("POST", "/orders/DONE30/abandon", &w.admin))
            .await
            .0,
        200
    );

    w.run_daily_job().await;
    let mails = w.mail().await;
    assert_eq!(
        mails.len(),
        2,
        "one reminder per merchant and reminder day: {mails:?}"
    );
    let day7 = mails
        .iter()
        .find(|(_, body)| body.contains("7 days ago"))
        .expect("a day-7 reminder");
    assert!(
        day7.0.contains("2 orders") && day7.1.contains("DAY7A") && day7.1.contains("DAY7B"),
        "{day7:?}"
    );
    assert!(
        day7.1.contains("Issue them by 2026-12-13"),
        "paid 11/23: issuable through 12/13"
    );
    let day19 = mails
        .iter()
        .find(|(_, body)| body.contains("19 days ago"))
        .expect("a day-19 reminder");
    assert!(day19.0.contains("1 orders") && day19.1.contains("DAY19") && !day19.1.contains("DAY5"));
    let open: Vec<String> = w
        .unissued()
        .await
        .iter()
        .map(|o| o["trade_no"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        open,
        ["DAY19", "DAY5", "DAY7A", "DAY7B"],
        "DAY30 was cancelled on its 31st day"
    );

    // EventBridge may run a schedule twice: nothing is mailed or cancelled twice.
    w.run_daily_job().await;
    assert_eq!(w.mail().await.len(), 2);
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
    let history = w
        .services
        .table
        .list_history(&merchant, "order", "DAY30")
        .await
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["recorded", "auto_cancelled"]);
    assert_eq!(history[1].by_account.as_str(), "system");

    // The next day nobody is due.
    w.clock.advance(Duration::days(1));
    w.run_daily_job().await;
    assert_eq!(w.mail().await.len(), 2);
}
