//! The monthly close (§9), fired through the schedule declared in the template.

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::billing::DailyFeeTotal;
use tessera_domain::merchant::FeeItem;
use tessera_domain::values::MerchantId;
use tessera_tests::{authed, seeded};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// 02:00 Taipei on a date: when the schedule fires.
fn close_time(y: i32, m: u32, d: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).unwrap() - chrono::Duration::hours(8)
}

async fn fire(w: &tessera_tests::Seeded) {
    let request =
        axum::http::Request::post("/_dev/schedules/BillingCloseFunction.MonthlyClose/run")
            .body(axum::body::Body::empty())
            .unwrap();
    let (status, body) = w.call(request).await;
    assert_eq!(status, 204, "{body}");
}

/// The merchant's bills, signing in afresh (the tests move the clock by months).
async fn bills(w: &tessera_tests::Seeded, merchant: &str) -> Vec<Value> {
    let token = w.token(merchant, "admin", ADMIN_PASSWORD).await;
    let (status, list) = w.call(authed("GET", "/bills", &token)).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn each_month_is_billed_once_with_earlier_unpaid_bills_in_the_amount_due() {
    let w = seeded().await;
    let parent = MerchantId::parse("m", PARENT).unwrap();
    let record = |date: NaiveDate, item: FeeItem, amount: i64| {
        let table = w.services.table.clone();
        let parent = parent.clone();
        async move {
            table
                .record_daily_fee_total(
                    &parent,
                    &DailyFeeTotal {
                        date,
                        item,
                        amount: Decimal::new(amount, 0),
                    },
                )
                .await
                .unwrap()
        }
    };
    record(day(2026, 9, 1), FeeItem::ReturnOperation, 30).await;
    record(day(2026, 9, 30), FeeItem::ReturnOperation, 20).await;
    record(day(2026, 9, 15), FeeItem::Sms, 12).await;
    record(day(2026, 10, 2), FeeItem::PaperPrinting, 15).await;
    record(day(2026, 11, 3), FeeItem::Sms, 6).await;

    w.clock.set(close_time(2026, 10, 1));
    fire(&w).await;
    let september = &bills(&w, PARENT).await[0];
    assert_eq!(
        (
            september["month"].as_str(),
            september["total"].as_str(),
            september["amount_due"].as_str()
        ),
        (Some("2026-09"), Some("62"), Some("62"))
    );
    assert_eq!(
        september["lines"][0],
        json!({"item": "return_operation", "amount": "50"})
    );
    assert_eq!(september["paid"], false);

    fire(&w).await; // EventBridge may deliver twice
    assert_eq!(bills(&w, PARENT).await.len(), 1, "a month is closed once");

    w.clock.set(close_time(2026, 11, 1));
    fire(&w).await;
    let october = &bills(&w, PARENT).await[0];
    assert_eq!(
        (october["month"].as_str(), october["total"].as_str()),
        (Some("2026-10"), Some("15"))
    );
    assert_eq!(
        (
            october["amount_due"].as_str(),
            october["carried_months"].clone()
        ),
        (Some("77"), json!(["2026-09"]))
    );

    // September is paid; December's close carries only October.
    w.services
        .table
        .mark_bill_paid(&parent, "2026-09")
        .await
        .unwrap();
    w.clock.set(close_time(2026, 12, 1));
    fire(&w).await;
    let list = bills(&w, PARENT).await;
    let november = &list[0];
    assert_eq!(
        (november["month"].as_str(), november["total"].as_str()),
        (Some("2026-11"), Some("6"))
    );
    assert_eq!(
        (
            november["amount_due"].as_str(),
            november["carried_months"].clone()
        ),
        (Some("21"), json!(["2026-10"]))
    );
    let paid: Vec<(&str, bool)> = list
        .iter()
        .map(|b| {
            (
                b.get("month").and_then(Value::as_str).unwrap(),
                b["paid"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        paid,
        [("2026-11", false), ("2026-10", false), ("2026-09", true)]
    );
}

#[tokio::test]
async fn every_merchant_gets_its_own_bill_and_sees_only_its_own() {
    let w = seeded().await;
    w.clock.set(close_time(2026, 11, 1));
    fire(&w).await;
    let theirs = bills(&w, PARTNER).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (
            theirs[0]["month"].as_str(),
            theirs[0]["amount_due"].as_str()
        ),
        (Some("2026-10"), Some("0")),
        "a quiet month bills zero"
    );

    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w.call(authed("GET", "/bills", &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
}

#[test]
fn the_monthly_schedule_fires_on_the_first_in_taipei_with_the_sample_input() {
    let template = tessera_dev::template::Template::load_default(
        &tessera_dev::template::StackContext::named("unit"),
    )
    .unwrap();
    let schedule = template
        .functions
        .iter()
        .flat_map(|f| &f.schedules)
        .find(|s| s.event_name == "MonthlyClose")
        .unwrap();
    assert_eq!(schedule.timezone.as_deref(), Some("Asia/Taipei"));
    let parsed =
        tessera_dev::schedule::Schedule::parse(&schedule.expression, schedule.timezone.as_deref())
            .unwrap();
    // After 30 Nov 10:00 Taipei, the next run is 1 Dec 00:15 Taipei.
    assert_eq!(
        parsed.next_after(tessera_tests::test_start()),
        Some(close_time(2026, 12, 1))
    );
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/billing-close.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(schedule.input.as_deref().unwrap()).unwrap(),
        sample
    );
    assert_eq!(
        serde_json::from_value::<fn_billing_close::Job>(sample).unwrap(),
        fn_billing_close::Job::MonthlyClose
    );
}
