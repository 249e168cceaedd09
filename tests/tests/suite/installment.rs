//! Installment mode (分期核銷, §八) end to end on a fixed clock: an operator opens an
//! installment merchant, the merchant issues a 12-period order, the 01:00 schedule redeems
//! its periods, an order return in period 5 apportions its fee over periods 5–12, is
//! cancelled, returned again, refunded by the cut-offs (the refund result published), and
//! the reports, the fee totals and the bill agree. The denials: modes, rights, switching.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, OPERATOR, PARENT};
use tessera_domain::calendar;
use tessera_domain::values::MerchantId;
use tessera_tests::{authed, json_request, seeded, with_new_key, Seeded};

const MERCHANT: &str = "INST0001";
const PASSWORD: &str = "Install#2026";

fn taipei(y: i32, m: u32, d: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    calendar::taipei_instant(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap(),
    )
}

/// The operator opens INST0001 in installment mode (a child of the demo parent), with a
/// return-operation fee of NT$15 an order and a serial processing fee of 1%.
async fn open_installment_merchant(w: &Seeded) {
    let ops = w.operator_token(OPERATOR).await;
    let calls = [
        (
            format!("/operator/merchants/{MERCHANT}"),
            json!({"name": "分期課程示範", "admin_password": PASSWORD}),
        ),
        (
            format!("/operator/merchants/{MERCHANT}/contract"),
            json!({"starts_on": "2026-01-01", "ends_on": "2028-12-31", "issuance_enabled": true,
                   "sms_contracted": false, "redemption_mode": "installment",
                   "delivery_methods": ["electronic_immediate"]}),
        ),
        (
            format!("/operator/merchants/{MERCHANT}/rates"),
            json!({"mode": "installment", "item": "return_operation", "basis": "per_unit",
                   "amount": "15", "effective_from": "2026-01-01T00:00:00Z"}),
        ),
        (
            format!("/operator/merchants/{MERCHANT}/rates"),
            json!({"mode": "installment", "item": "serial_processing", "basis": "percent",
                   "amount": "1", "effective_from": "2026-01-01T00:00:00Z"}),
        ),
        (
            format!("/operator/merchants/{MERCHANT}/parent"),
            json!({"parent_id": PARENT}),
        ),
    ];
    for (uri, body) in calls {
        let (status, answer) = w.call(json_request("PUT", &uri, Some(&ops), body)).await;
        assert!((200..300).contains(&status), "{uri}: {status} {answer}");
    }
}

async fn admin(w: &Seeded) -> String {
    w.token(MERCHANT, "admin", PASSWORD).await
}

/// Fires the template's schedule of a daily job (its input as the template declares it).
async fn fire(w: &Seeded, schedule: &str) {
    let request = axum::http::Request::post(format!("/_dev/schedules/{schedule}/run"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = w.call(request).await;
    assert_eq!(status, 204, "{schedule}: {body}");
}

async fn order(w: &Seeded, token: &str) -> Value {
    let (status, order) = w
        .call(authed("GET", "/installment-orders/INST1", token))
        .await;
    assert_eq!(status, 200, "{order}");
    order
}

fn statuses(order: &Value) -> Vec<String> {
    order["serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .collect()
}

fn repeat(status: &str, n: usize) -> Vec<String> {
    vec![status.to_owned(); n]
}

#[tokio::test]
async fn a_twelve_period_order_is_redeemed_returned_cancelled_returned_refunded_and_billed() {
    let w = seeded().await;
    open_installment_merchant(&w).await;
    let token = admin(&w).await;
    let notify = "https://shop.example.com/refunds";
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": notify}),
        ))
        .await;
    assert_eq!((status, body["url"].as_str()), (200, Some(notify)));
    let (status, bad) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": "https://user:pw@shop.example.com/refunds"}),
        ))
        .await;
    assert_eq!(
        (status, tessera_tests::error_fields(&bad)),
        (400, vec!["url".to_owned()])
    );
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "一年期瑜珈課程", "kind": "goods_voucher", "term_days": 400, "face_value": 12000}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["product_id"].as_str().unwrap();
    // An installment order is one order: quantity 1.
    let paid = |quantity: u32| {
        json!({"trade_no": "INST1", "product_id": product_id, "amount": 12000, "quantity": quantity,
               "cardholder_name": "林小華", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()})
    };
    let (status, refused) = w
        .call(json_request("POST", "/orders", Some(&token), paid(2)))
        .await;
    assert_eq!(
        (status, tessera_tests::error_fields(&refused)),
        (400, vec!["quantity".to_owned()])
    );
    let (status, _) = w
        .call(json_request("POST", "/orders", Some(&token), paid(1)))
        .await;
    assert_eq!(status, 201);

    // Issued on 30 Nov 2026 (10:00): 12 periods of NT$1,000 from 5 Dec, monthly.
    let issue = json!({"trade_no": "INST1", "periods": 12, "first_redemption_on": "2026-12-05"});
    let (status, issued) = w
        .call(with_new_key(
            "POST",
            "/installment-orders",
            &token,
            issue.clone(),
        ))
        .await;
    assert_eq!(status, 201, "{issued}");
    assert_eq!(issued["notify_url"], notify);
    let serials = issued["serials"].as_array().unwrap();
    assert_eq!(serials.len(), 12);
    assert!(serials.iter().all(|s| s["face_value"] == "1000"));
    assert_eq!(serials[0]["expected_on"], "2026-12-05");
    assert_eq!(serials[11]["expected_on"], "2027-11-05");
    assert_eq!(serials[0]["serial_no"], "INST1-01");
    let (status, again) = w
        .call(with_new_key("POST", "/installment-orders", &token, issue))
        .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("ORDER_NOT_UNISSUED"))
    );
    let (_, unissued) = w.call(authed("GET", "/orders/unissued", &token)).await;
    assert_eq!(unissued["items"], json!([]));
    // A later URL is not retroactive.
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": "https://new.example.com/hook"}),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(order(&w, &token).await["notify_url"], notify);
    let (_, url_history) = w
        .call(authed("GET", "/merchant/refund-notify-url/history", &token))
        .await;
    assert_eq!(
        url_history["items"].as_array().unwrap().len(),
        2,
        "{url_history}"
    );

    // Periods 1–4 are redeemed at 01:00 of their dates and settled at the next 01:00; the
    // schedule fired twice the same night changes nothing the second time.
    for (y, m) in [(2026, 12), (2027, 1), (2027, 2), (2027, 3)] {
        w.clock.set(taipei(y, m, 5, 1, 0));
        fire(&w, "DailyJobsFunction.InstallmentSteps").await;
        fire(&w, "DailyJobsFunction.InstallmentSteps").await;
        w.clock.set(taipei(y, m, 6, 1, 0));
        fire(&w, "DailyJobsFunction.InstallmentSteps").await;
    }
    w.clock.set(taipei(2027, 4, 1, 10, 0));
    let token = admin(&w).await;
    let now = order(&w, &token).await;
    assert_eq!(
        statuses(&now),
        [repeat("redeemed", 4), repeat("unused", 8)].concat()
    );
    assert_eq!(now["figures"]["redeemed_amount"], "4000");

    // Denied: a sub-account with the installment orders' rights but not order return.
    let (status, created) = w
        .call(json_request(
            "POST",
            "/sub-accounts",
            Some(&token),
            json!({"account": "viewer01", "password": "Viewer2026", "rights": {"installment_orders": {"query": true, "modify": true}}}),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    // Its rights screen has the installment areas, not the till's (§八).
    let rights = created["rights"].as_object().unwrap();
    assert!(rights.contains_key("order_return") && rights.contains_key("order_cancel_return"));
    assert!(!rights.contains_key("redemption") && !rights.contains_key("return"));
    assert_eq!(
        created["rights"]["installment_orders"],
        json!({"query": true, "modify": true})
    );
    let viewer = w.token(MERCHANT, "viewer01", "Viewer2026").await;
    let return_body = |fee: u32, reason: &str| json!({"fee": fee.to_string(), "reason": reason});
    let (status, denied) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/return",
            &viewer,
            return_body(20, "x"),
        ))
        .await;
    assert_eq!(
        (status, denied["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    // A fee above the unused face value is refused, naming the limit.
    let (status, too_high) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/return",
            &token,
            return_body(8001, "x"),
        ))
        .await;
    assert_eq!(
        (status, too_high["code"].as_str()),
        (400, Some("RETURN_FEE_TOO_HIGH"))
    );
    assert!(
        too_high["detail"].as_str().unwrap().contains("8000"),
        "{too_high}"
    );

    // Return in period 5: NT$20 over periods 5–12 → 3,3,3,3,2,2,2,2.
    let (status, returned) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/return",
            &token,
            return_body(20, "搬家"),
        ))
        .await;
    assert_eq!(status, 200, "{returned}");
    let parts: Vec<&str> = returned["returns"][0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fee"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["3", "3", "3", "3", "2", "2", "2", "2"]);
    assert_eq!(returned["returns"][0]["parts"][0]["period"], 5);
    assert_eq!(
        statuses(&returned),
        [repeat("redeemed", 4), repeat("pending_return", 8)].concat()
    );
    // Cancelled the same evening: every pending serial back, the fee parts gone.
    w.clock.set(taipei(2027, 4, 1, 18, 0));
    let token = admin(&w).await;
    let (status, cancelled) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/cancel-return",
            &token,
            json!({"reason": "弄錯訂單"}),
        ))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(
        statuses(&cancelled),
        [repeat("redeemed", 4), repeat("unused", 8)].concat()
    );
    assert!(cancelled["serials"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["return_fee"] == "0"));
    // Returned again the next morning, NT$8; a cancel the day after is too late.
    w.clock.set(taipei(2027, 4, 2, 9, 0));
    let token = admin(&w).await;
    let (status, second) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/return",
            &token,
            return_body(8, "確定退費"),
        ))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        second["returns"][1]["bank_update_at"],
        json!(taipei(2027, 4, 3, 1, 0))
    );
    w.clock.set(taipei(2027, 4, 3, 0, 30));
    let token = admin(&w).await;
    let (status, late) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/cancel-return",
            &token,
            json!({"reason": "late"}),
        ))
        .await;
    assert_eq!(
        (status, late["code"].as_str()),
        (409, Some("CANCEL_WINDOW_CLOSED"))
    );

    // The cut-offs: to the bank on 3 Apr, refunded on 4 Apr; period 5 (due 5 Apr) is
    // returned, not redeemed. The refund result is published once, with the order's URL.
    w.clock.set(taipei(2027, 4, 3, 1, 0));
    fire(&w, "DailyJobsFunction.InstallmentSteps").await;
    w.clock.set(taipei(2027, 4, 4, 1, 0));
    fire(&w, "DailyJobsFunction.InstallmentSteps").await;
    w.clock.set(taipei(2027, 4, 5, 1, 0));
    fire(&w, "DailyJobsFunction.InstallmentSteps").await;
    w.clock.set(taipei(2027, 4, 5, 10, 0));
    let token = admin(&w).await;
    let done = order(&w, &token).await;
    assert_eq!(
        statuses(&done),
        [repeat("redeemed", 4), repeat("returned", 8)].concat()
    );
    assert_eq!(done["status"], "returned");
    assert_eq!(
        done["returns"][1]["refunded_at"],
        json!(taipei(2027, 4, 4, 1, 0))
    );
    assert_eq!(done["returns"][1]["refund_amount"], "7992");
    assert_eq!(
        done["returns"][0]["cancelled_at"],
        json!(taipei(2027, 4, 1, 18, 0))
    );
    let merchant = MerchantId::parse("m", MERCHANT).unwrap();
    let stored = w
        .services
        .table
        .get_installment_order(
            &merchant,
            &tessera_domain::orders::TradeNo::parse("t", "INST1").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let event = w
        .services
        .table
        .get_event(&format!(
            "iorder-{MERCHANT}-INST1-v{}-installment_order.refunded",
            stored.version
        ))
        .await
        .unwrap()
        .expect("the refund result is in the outbox");
    let result: Value = serde_json::from_str(&event.data).unwrap();
    assert_eq!(
        (
            result["notify_url"].as_str(),
            result["refund_amount"].as_str(),
            result["return_number"].as_u64()
        ),
        (Some(notify), Some("7992"), Some(2))
    );
    w.publish().await;
    let (_, history) = w
        .call(authed("GET", "/installment-orders/INST1/history", &token))
        .await;
    let actions = tessera_tests::history_actions(&history);
    assert_eq!(actions.first().map(String::as_str), Some("issued"));
    for action in ["return", "cancel_return", "system_steps"] {
        assert!(actions.iter().any(|a| a == action), "{actions:?}");
    }

    // The circulation counters count serials: two redeemed in February and March, eight
    // returned in April (the cancelled return taken back), nothing outstanding.
    let (status, circulation) = w
        .call(authed(
            "GET",
            "/reports/circulation?from=2027-02-01&to=2027-04-30",
            &token,
        ))
        .await;
    assert_eq!(status, 200, "{circulation}");
    let total = &circulation["total"];
    assert_eq!(
        [
            &total["redeemed_count"],
            &total["redeemed_amount"],
            &total["returned_count"],
            &total["returned_amount"],
            &total["outstanding_count"]
        ],
        [
            &json!(2),
            &json!("2000"),
            &json!(8),
            &json!("8000"),
            &json!(0)
        ],
        "{circulation}"
    );

    // The order report and the serial report agree with the ledger.
    let (status, report) = w
        .call(authed(
            "GET",
            "/reports/installment-orders?from=2026-11-30&to=2027-01-31",
            &token,
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    let row = &report["rows"][0];
    assert_eq!(report["rows"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        [
            &row["status"],
            &row["redeemed_amount"],
            &row["redeemed_periods"],
            &row["returned_amount"],
            &row["returned_periods"],
            &row["unused_periods"],
            &row["return_fee"],
            &row["fee_apportionment"]
        ],
        [
            &json!("已退貨"),
            &json!("4000"),
            &json!("4"),
            &json!("8000"),
            &json!("8"),
            &json!("0"),
            &json!("8"),
            &json!("5:1 6:1 7:1 8:1 9:1 10:1 11:1 12:1")
        ]
    );
    assert_eq!(row["cardholder_mobile"], "0912***678");
    let (status, serial_report) = w
        .call(authed(
            "GET",
            "/reports/installment-serials?from=2027-03-01&to=2027-05-31",
            &token,
        ))
        .await;
    assert_eq!(status, 200, "{serial_report}");
    let rows: Vec<(&str, &str, &str)> = serial_report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["serial_no"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["return_fee"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("INST1-04", "已核銷", ""),
            ("INST1-05", "已退貨", "1"),
            ("INST1-06", "已退貨", "1")
        ]
    );
    let (status, only_returned) = w
        .call(authed(
            "GET",
            "/reports/installment-serials?from=2027-03-01&to=2027-05-31&status=returned",
            &token,
        ))
        .await;
    assert_eq!(
        (status, only_returned["rows"].as_array().unwrap().len()),
        (200, 2)
    );

    // Fees: 1% of the NT$12,000 issued on 30 Nov; nothing for 1 Apr (the return was
    // cancelled that day); NT$15 for the return standing at the end of 2 Apr.
    let fee_days = [
        (taipei(2026, 12, 1, 0, 5), "2026-11-30"),
        (taipei(2027, 4, 2, 0, 5), "2027-04-01"),
        (taipei(2027, 4, 3, 0, 5), "2027-04-02"),
    ];
    for (at, _) in fee_days {
        w.clock.set(at);
        fire(&w, "DailyJobsFunction.DailyFees").await;
    }
    let mut totals = Vec::new();
    for (_, day) in fee_days {
        for total in w
            .services
            .table
            .daily_fee_totals(
                &merchant,
                NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap(),
            )
            .await
            .unwrap()
        {
            if total.date.to_string() == day {
                totals.push((
                    day,
                    serde_json::to_value(total.item).unwrap(),
                    total.amount.to_string(),
                ));
            }
        }
    }
    assert_eq!(
        totals,
        [
            ("2026-11-30", json!("serial_processing"), "120".to_owned()),
            ("2027-04-02", json!("return_operation"), "15".to_owned()),
        ]
    );
    let (status, fee_report) = w
        .call(authed(
            "GET",
            "/reports/return-fees?from=2027-04-01&to=2027-04-30",
            &token,
        ))
        .await;
    assert_eq!(status, 200, "{fee_report}");
    assert_eq!(
        fee_report["rows"],
        json!([{"returned_at": "2027-04-02 09:00:00", "trade_no": "INST1", "product_id": product_id,
                "amount": "8000", "rate": "NT$15/筆", "fee": "15"}])
    );
    // The dashboard of 1 Feb (the order within its 90 days) splits the order's serials.
    w.clock.set(taipei(2027, 2, 1, 10, 0));
    let early = admin(&w).await;
    let (status, dashboard) = w.call(authed("GET", "/dashboard", &early)).await;
    assert_eq!(status, 200, "{dashboard}");
    let split = &dashboard["last_90_days"];
    assert_eq!(
        [
            &split["issued"],
            &split["redeemed"],
            &split["returned"],
            &split["unused"]
        ],
        [
            &json!({"count": 12, "amount": "12000"}),
            &json!({"count": 4, "amount": "4000"}),
            &json!({"count": 8, "amount": "8000"}),
            &json!({"count": 0, "amount": "0"})
        ],
        "{dashboard}"
    );

    // The April bill, closed on 1 May, charges the return.
    w.clock.set(taipei(2027, 5, 1, 2, 0));
    fire(&w, "BillingCloseFunction.MonthlyClose").await;
    let token = admin(&w).await;
    let (_, bills) = w.call(authed("GET", "/bills", &token)).await;
    let april = bills["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["month"] == "2027-04")
        .cloned()
        .unwrap_or_else(|| panic!("{bills}"));
    // An installment bill has the mode's two items only (§6-2).
    assert_eq!(
        april["lines"],
        json!([{"item": "return_operation", "amount": "15"}, {"item": "serial_processing", "amount": "0"}])
    );
    assert_eq!(april["total"], "15");
}

#[tokio::test]
async fn installment_routes_follow_the_merchants_mode_and_a_parent_switches_to_act() {
    let w = seeded().await;
    open_installment_merchant(&w).await;
    // A merchant that redeems after use has no installment orders, nor their reports.
    let demo = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    for request in [
        with_new_key(
            "POST",
            "/installment-orders",
            &demo,
            json!({"trade_no": "X1", "periods": 3, "first_redemption_on": "2026-12-05"}),
        ),
        authed(
            "GET",
            "/reports/installment-orders?from=2026-11-01&to=2026-11-30",
            &demo,
        ),
        with_new_key(
            "POST",
            "/installment-orders/X1/return",
            &demo,
            json!({"reason": "x"}),
        ),
    ] {
        let (status, body) = w.call(request).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("REDEMPTION_MODE_MISMATCH")),
            "{body}"
        );
    }
    // An installment merchant issues no tickets.
    let token = admin(&w).await;
    let (status, body) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&token),
            json!({"delivery_method": "electronic_immediate", "size": 1000}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("REDEMPTION_MODE_MISMATCH")),
        "{body}"
    );
    // Bad plans are refused with their limits.
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "季課程", "kind": "goods_voucher", "term_days": 120, "face_value": 3000}),
        ))
        .await;
    assert_eq!(status, 201);
    let (status, _) = w
        .call(json_request(
            "POST",
            "/orders",
            Some(&token),
            json!({"trade_no": "INST1", "product_id": product["product_id"], "amount": 3000, "quantity": 1,
                   "cardholder_name": "林小華", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
        ))
        .await;
    assert_eq!(status, 201);
    let (status, bad) = w
        .call(with_new_key(
            "POST",
            "/installment-orders",
            &token,
            json!({"trade_no": "INST1", "periods": 61, "first_redemption_on": "2026-11-29"}),
        ))
        .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(
        tessera_tests::error_fields(&bad),
        ["periods", "first_redemption_on"]
    );
    let (status, issued) = w
        .call(with_new_key(
            "POST",
            "/installment-orders",
            &token,
            json!({"trade_no": "INST1", "periods": 7, "first_redemption_on": "2027-01-31"}),
        ))
        .await;
    assert_eq!(status, 201, "{issued}");
    let faces: Vec<&str> = issued["serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["face_value"].as_str().unwrap())
        .collect();
    assert_eq!(faces, ["429", "429", "429", "429", "428", "428", "428"]);
    assert_eq!(issued["serials"][1]["expected_on"], "2027-02-28");

    // The parent reads its child's order, but must switch into it to change it.
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let child = format!("/installment-orders/INST1?merchant_id={MERCHANT}");
    let (status, read) = w.call(authed("GET", &child, &parent)).await;
    assert_eq!((status, read["trade_no"].as_str()), (200, Some("INST1")));
    let remark = format!("/installment-orders/INST1/remarks?merchant_id={MERCHANT}");
    let (status, refused) = w
        .call(with_new_key(
            "POST",
            &remark,
            &parent,
            json!({"remark": "客戶來電"}),
        ))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("SWITCH_REQUIRED"))
    );
    let (status, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&parent),
            json!({"merchant_id": MERCHANT}),
        ))
        .await;
    assert_eq!(status, 200, "{switched}");
    let switched_token = switched["token"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(parent);
    let (status, remarked) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/remarks",
            &switched_token,
            json!({"remark": "客戶來電"}),
        ))
        .await;
    assert_eq!(status, 200, "{remarked}");
    let (_, history) = w
        .call(authed(
            "GET",
            "/installment-orders/INST1/history",
            &switched_token,
        ))
        .await;
    assert_eq!(
        tessera_tests::history_actions(&history),
        ["issued", "remark"]
    );
    // Nothing to cancel; an unknown order is not found.
    let (status, none) = w
        .call(with_new_key(
            "POST",
            "/installment-orders/INST1/cancel-return",
            &switched_token,
            json!({"reason": "x"}),
        ))
        .await;
    assert_eq!(
        (status, none["code"].as_str()),
        (409, Some("ORDER_RETURN_NOT_PENDING"))
    );
    let (status, missing) = w
        .call(authed("GET", "/installment-orders/NOPE1", &switched_token))
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("INSTALLMENT_ORDER_NOT_FOUND"))
    );
}

/// The 01:00 job out of budget continues itself through the jobs queue, order by order;
/// the orders' report exports to Excel.
#[tokio::test]
async fn the_serial_steps_continue_when_out_of_budget_and_the_reports_export() {
    let w = seeded().await;
    let token = w
        .token(tessera_dev::seed::INSTALLMENT, "admin", ADMIN_PASSWORD)
        .await;
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "月課程", "kind": "goods_voucher", "term_days": 120, "face_value": 600}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    for trade_no in ["JOB1", "JOB2"] {
        let (status, body) = w
            .call(json_request(
                "POST",
                "/orders",
                Some(&token),
                json!({"trade_no": trade_no, "product_id": product["product_id"], "amount": 600, "quantity": 1,
                       "cardholder_name": "林小華", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
            ))
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = w
            .call(with_new_key(
                "POST",
                "/installment-orders",
                &token,
                json!({"trade_no": trade_no, "periods": 2, "first_redemption_on": "2026-12-01"}),
            ))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    w.clock.set(taipei(2026, 12, 1, 1, 0));
    let jobs = fn_daily_jobs::DailyJobs::new(&w.services).unwrap();
    let first = jobs
        .run(
            json!({"job": "installment_steps"}),
            fn_daily_jobs::Budget {
                deadline: None,
                max_groups: Some(1),
            },
        )
        .await
        .unwrap();
    assert!(first.continued, "{first:?}");
    assert_eq!(
        (first.installment_orders_stepped, first.serials_stepped),
        (1, 1)
    );
    assert_eq!(w.drain("JobsQueue", "DailyJobsFunction").await, 1);
    let again = jobs
        .run(
            json!({"job": "installment_steps"}),
            fn_daily_jobs::Budget::default(),
        )
        .await
        .unwrap();
    assert_eq!(again.serials_stepped, 0, "both stepped already: {again:?}");
    let merchant = MerchantId::parse("m", tessera_dev::seed::INSTALLMENT).unwrap();
    for trade_no in ["JOB1", "JOB2"] {
        let order = w
            .services
            .table
            .get_installment_order(
                &merchant,
                &tessera_domain::orders::TradeNo::parse("t", trade_no).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            order.order.serials[0].status,
            tessera_domain::installment::SerialStatus::Redeeming,
            "{trade_no}"
        );
    }

    let token = w
        .token(tessera_dev::seed::INSTALLMENT, "admin", ADMIN_PASSWORD)
        .await;
    for (report, query) in [
        (
            "installment_orders",
            json!({"from": "2026-11-30", "to": "2026-11-30"}),
        ),
        (
            "installment_serials",
            json!({"from": "2026-12-01", "to": "2027-01-31"}),
        ),
    ] {
        let (status, export) = w
            .call(with_new_key(
                "POST",
                "/exports",
                &token,
                json!({"report": report, "query": query}),
            ))
            .await;
        assert_eq!(status, 202, "{export}");
        w.publish().await;
        assert_eq!(
            w.drain("ReportExportQueue", "ReportExportFunction").await,
            1
        );
        let (status, done) = w
            .call(authed(
                "GET",
                &format!("/exports/{}", export["export_id"].as_str().unwrap()),
                &token,
            ))
            .await;
        assert_eq!(status, 200, "{done}");
        let expected_rows = if report == "installment_orders" { 2 } else { 4 };
        assert_eq!(
            (done["status"].as_str(), done["rows_written"].as_u64()),
            (Some("done"), Some(expected_rows)),
            "{report}: {done}"
        );
    }
}
