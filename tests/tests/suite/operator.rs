//! The platform operator's API: its own sign-in and rights, never a merchant's; every
//! action recorded with who, when and what changed; a merchant token refused on every
//! operator route and an operator token on merchant routes.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{
    ADMIN_PASSWORD, AUDITOR, CHILD, OPERATOR, OPERATOR_PASSWORD, PARENT, PARTNER,
};
use tessera_tests::{authed, error_fields, json_request, seeded, Seeded};

/// A PUT, then the clock moves a second on (the audit is in time order).
async fn put(w: &Seeded, token: &str, uri: &str, body: Value) -> (u16, Value) {
    let answer = w.call(json_request("PUT", uri, Some(token), body)).await;
    w.clock.advance(chrono::Duration::seconds(1));
    answer
}

/// Every operator route with a well-formed request (method, template path, concrete path,
/// body).
fn operator_routes() -> Vec<(&'static str, &'static str, String, Value)> {
    vec![
        (
            "DELETE",
            "/operator/sessions/current",
            "/operator/sessions/current".to_owned(),
            json!({}),
        ),
        (
            "GET",
            "/operator/job-runs",
            "/operator/job-runs?job=ticket_steps".to_owned(),
            Value::Null,
        ),
        (
            "GET",
            "/operator/audit",
            "/operator/audit".to_owned(),
            Value::Null,
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}",
            "/operator/merchants/NEWM0001".to_owned(),
            json!({"name": "新商店", "admin_password": "Fresh#2026"}),
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}/parent",
            format!("/operator/merchants/{PARTNER}/parent"),
            json!({"parent_id": null}),
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}/contract",
            format!("/operator/merchants/{PARENT}/contract"),
            json!({"starts_on": "2026-01-01", "ends_on": "2026-12-31", "issuance_enabled": true, "sms_contracted": true, "redemption_mode": "redeem_after_use", "delivery_methods": ["paper_by_merchant"]}),
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}/rates",
            format!("/operator/merchants/{PARENT}/rates"),
            json!({"mode": "redeem_after_use", "item": "sms", "basis": "per_unit", "amount": "1.5", "effective_from": "2026-12-01T00:00:00Z"}),
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}/remittance-account",
            format!("/operator/merchants/{PARENT}/remittance-account"),
            json!({"bank_code": "812", "bank_name": "台新銀行", "account_no": "9988776655443322", "account_name": "Tessera"}),
        ),
        (
            "PUT",
            "/operator/merchants/{merchant_id}/bills/{month}/paid",
            format!("/operator/merchants/{PARENT}/bills/2026-10/paid"),
            json!({}),
        ),
        (
            "PUT",
            "/operator/relations/{issuer_id}/{store_id}/block-cleared",
            format!("/operator/relations/{PARENT}/{PARTNER}/block-cleared"),
            json!({}),
        ),
        (
            "GET",
            "/operator/announcements",
            "/operator/announcements".to_owned(),
            Value::Null,
        ),
        (
            "PUT",
            "/operator/announcements/{announcement_id}",
            "/operator/announcements/maint-1".to_owned(),
            json!({"title": "維護", "body": "今晚維護"}),
        ),
        (
            "DELETE",
            "/operator/announcements/{announcement_id}",
            "/operator/announcements/maint-1".to_owned(),
            Value::Null,
        ),
        (
            "GET",
            "/operator/documents",
            "/operator/documents".to_owned(),
            Value::Null,
        ),
        (
            "PUT",
            "/operator/documents/{document_id}",
            "/operator/documents/manual-1".to_owned(),
            json!({"title": "操作手冊", "content_type": "application/pdf", "size": 10}),
        ),
        (
            "PUT",
            "/operator/documents/{document_id}/published",
            "/operator/documents/manual-1/published".to_owned(),
            json!({}),
        ),
        (
            "DELETE",
            "/operator/documents/{document_id}",
            "/operator/documents/manual-1".to_owned(),
            Value::Null,
        ),
        (
            "GET",
            "/operator/print-run",
            "/operator/print-run".to_owned(),
            Value::Null,
        ),
        (
            "PUT",
            "/operator/print-run/status",
            "/operator/print-run/status".to_owned(),
            json!({"ticket_nos": ["100000000001"], "status": "printed"}),
        ),
    ]
}

fn request(
    method: &str,
    uri: &str,
    token: &str,
    body: &Value,
) -> axum::http::Request<axum::body::Body> {
    if body.is_null() {
        authed(method, uri, token)
    } else {
        json_request(method, uri, Some(token), body.clone())
    }
}

#[tokio::test]
async fn a_merchant_token_is_refused_on_every_operator_route_and_an_operator_token_on_merchant_routes(
) {
    let w = seeded().await;
    let merchant = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    // The table covers every operator route of the template but the public sign-in.
    let covered: BTreeSet<(String, String)> = operator_routes()
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .collect();
    let in_template: BTreeSet<(String, String)> = w
        .stack
        .template
        .routes()
        .into_iter()
        .filter(|(route, _)| route.path.starts_with("/operator/") && !route.public)
        .map(|(route, _)| (route.method, route.path))
        .collect();
    assert_eq!(covered, in_template);
    for (method, _, uri, body) in operator_routes() {
        let (status, problem) = w.call(request(method, &uri, &merchant, &body)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("OPERATOR_ONLY")),
            "{method} {uri}: {problem}"
        );
        let (status, problem) = w
            .call(match body.is_null() {
                true => axum::http::Request::builder()
                    .method(method)
                    .uri(&uri)
                    .body(axum::body::Body::empty())
                    .unwrap(),
                false => json_request(method, &uri, None, body.clone()),
            })
            .await;
        assert_eq!(status, 401, "{method} {uri} without a token: {problem}");
    }
    // The operator's token opens no merchant route.
    let operator = w.operator_token(OPERATOR).await;
    for uri in [
        "/branches",
        "/merchant/profile",
        "/reports/sms-log?from=2026-11-01&to=2026-11-30",
    ] {
        let (status, problem) = w.call(authed("GET", uri, &operator)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (401, Some("UNAUTHENTICATED")),
            "{uri}: {problem}"
        );
    }
    // Merchant credentials do not sign in as an operator, and failures lock like merchants'.
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": "admin", "password": ADMIN_PASSWORD}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("INVALID_CREDENTIALS"))
    );
    for _ in 0..5 {
        w.call(json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": AUDITOR, "password": "Wrong#2026"}),
        ))
        .await;
    }
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/operator/sessions",
            None,
            json!({"account": AUDITOR, "password": OPERATOR_PASSWORD}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED"))
    );
}

#[tokio::test]
async fn a_read_only_operator_reads_and_is_refused_every_change() {
    let w = seeded().await;
    let auditor = w.operator_token(AUDITOR).await;
    for (method, _, uri, body) in operator_routes() {
        if uri == "/operator/sessions/current" {
            continue; // signing out: below
        }
        let (status, problem) = w.call(request(method, &uri, &auditor, &body)).await;
        match method {
            "GET" => assert!((200..300).contains(&status), "{uri}: {problem}"),
            _ => {
                assert_eq!(
                    (status, problem["code"].as_str()),
                    (403, Some("RIGHT_MISSING")),
                    "{method} {uri}: {problem}"
                );
                assert!(
                    problem["detail"].as_str().unwrap().contains("(modify)"),
                    "{problem}"
                );
            }
        }
    }
    // Signed out: the token no longer works.
    let (status, _) = w
        .call(authed("DELETE", "/operator/sessions/current", &auditor))
        .await;
    assert_eq!(status, 204);
    let (status, _) = w.call(authed("GET", "/operator/audit", &auditor)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_operator_sets_up_a_merchant_and_every_action_is_audited() {
    let w = seeded().await;
    let ops = w.operator_token(OPERATOR).await;

    // A new merchant with its admin, who signs in; putting it again changes nothing.
    let merchant = json!({"name": "新開幕商店", "admin_password": "Fresh#2026"});
    let (status, created) = put(&w, &ops, "/operator/merchants/NEWM0001", merchant.clone()).await;
    assert_eq!(status, 201, "{created}");
    let (status, again) = put(&w, &ops, "/operator/merchants/NEWM0001", merchant).await;
    assert_eq!((status, &again), (200, &created));
    let (status, problem) = put(
        &w,
        &ops,
        "/operator/merchants/NEWM0001",
        json!({"name": "別的名字", "admin_password": "Fresh#2026"}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("MERCHANT_EXISTS"))
    );
    let (status, problem) = put(
        &w,
        &ops,
        "/operator/merchants/bad-id",
        json!({"name": "x", "admin_password": "short"}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["merchant_id".to_owned()])
    );
    let admin = w.token("NEWM0001", "admin", "Fresh#2026").await;
    assert!(!admin.is_empty());

    // Linked under the demo parent: the parent can switch into it.
    let (status, child) = put(
        &w,
        &ops,
        "/operator/merchants/NEWM0001/parent",
        json!({"parent_id": PARENT}),
    )
    .await;
    assert_eq!(
        (status, child["parent"].as_str()),
        (200, Some(PARENT)),
        "{child}"
    );
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&parent),
            json!({"merchant_id": "NEWM0001"}),
        ))
        .await;
    assert_eq!(status, 200, "{switched}");
    // One level only: the demo child cannot become a parent.
    let (status, problem) = put(
        &w,
        &ops,
        &format!("/operator/merchants/{PARTNER}/parent"),
        json!({"parent_id": CHILD}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("PARENT_LINK_INVALID"))
    );

    // Contract and a rate: refused when malformed, in force when set.
    let contract = json!({"starts_on": "2026-01-01", "ends_on": "2027-12-31", "issuance_enabled": true, "sms_contracted": false, "redemption_mode": "redeem_after_use", "delivery_methods": ["paper_by_merchant", "electronic_immediate"]});
    let (status, body) = put(&w, &ops, "/operator/merchants/NEWM0001/contract", contract).await;
    assert_eq!(status, 204, "{body}");
    let (status, problem) = put(
        &w,
        &ops,
        "/operator/merchants/NEWM0001/contract",
        json!({"starts_on": "2026-01-01", "ends_on": "2025-12-31", "issuance_enabled": true, "sms_contracted": false, "redemption_mode": "redeem_after_use", "delivery_methods": ["ibon", "ibon"]}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["ends_on".to_owned()])
    );
    let (status, contract) = w.call(authed("GET", "/merchant/contract", &admin)).await;
    assert_eq!(status, 200, "{contract}");
    let rate = json!({"mode": "redeem_after_use", "item": "return_operation", "basis": "percent", "amount": "2.5", "effective_from": "2026-12-01T05:00:00Z"});
    let (status, rates) = put(&w, &ops, "/operator/merchants/NEWM0001/rates", rate).await;
    assert_eq!(status, 200, "{rates}");
    assert_eq!(rates["items"][0]["amount"], "2.5");
    let (status, problem) = put(
        &w,
        &ops,
        "/operator/merchants/NEWM0001/rates",
        json!({"mode": "redeem_after_use", "item": "sms", "basis": "percent", "amount": "101", "effective_from": "2026-12-01T05:00:00Z"}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["amount".to_owned()])
    );

    // A store's block cleared: the issuer may re-open the relation.
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let store = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, body) = w
        .call(json_request(
            "POST",
            &format!("/joint-issuers/{PARENT}/unlink"),
            Some(&store),
            json!({}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let reopen = |token: String| {
        let w = &w;
        async move {
            put(
                w,
                &token,
                &format!("/redeemable-stores/{PARTNER}/status"),
                json!({"status": "open"}),
            )
            .await
        }
    };
    let (status, problem) = reopen(parent.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("RELATION_BLOCKED_BY_STORE"))
    );
    let cleared = format!("/operator/relations/{PARENT}/{PARTNER}/block-cleared");
    let (status, relation) = put(&w, &ops, &cleared, json!({})).await;
    assert_eq!(
        (status, relation["status"].as_str()),
        (200, Some("unlinked_by_issuer")),
        "{relation}"
    );
    let (status, again) = put(&w, &ops, &cleared, json!({})).await;
    assert_eq!(
        (status, &again),
        (200, &relation),
        "clearing again changes nothing"
    );
    assert_eq!(reopen(parent.clone()).await.0, 200);

    // Every change above is in the audit, newest first, by the operator's account.
    let (status, audit) = w.call(authed("GET", "/operator/audit", &ops)).await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "relation_block_cleared",
            "rate_set",
            "contract_set",
            "parent_set",
            "merchant_created"
        ]
    );
    assert!(audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["account"] == OPERATOR));
    assert_eq!(audit["items"][3]["target"], "merchant:NEWM0001");
}

#[tokio::test]
async fn bills_are_marked_paid_once_and_job_runs_are_readable() {
    let w = seeded().await;
    let ops = w.operator_token(OPERATOR).await;
    // A closed October bill of the demo parent.
    let parent = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
    w.services
        .table
        .record_daily_fee_total(
            &parent,
            &tessera_domain::billing::DailyFeeTotal {
                date: chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
                item: tessera_domain::merchant::FeeItem::Sms,
                amount: rust_decimal::Decimal::new(6, 0),
            },
        )
        .await
        .unwrap();
    let close = axum::http::Request::post("/_dev/schedules/BillingCloseFunction.MonthlyClose/run")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(w.call(close).await.0, 204);
    // Unpaid, the bill shows where to remit, once the operator has set it.
    let account = json!({"bank_code": "812", "bank_name": "台新銀行", "account_no": "9988776655443322", "account_name": "Tessera 平台"});
    let (status, body) = put(
        &w,
        &ops,
        &format!("/operator/merchants/{PARENT}/remittance-account"),
        account.clone(),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, problem) = put(
        &w,
        &ops,
        &format!("/operator/merchants/{PARENT}/remittance-account"),
        json!({"bank_code": "8", "bank_name": "台新銀行", "account_no": "12", "account_name": "x"}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["bank_code".to_owned(), "account_no".to_owned()])
    );
    let merchant = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let bill_of = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["month"] == "2026-10")
            .cloned()
            .unwrap()
    };
    let (_, list) = w.call(authed("GET", "/bills", &merchant)).await;
    assert_eq!(bill_of(&list)["remittance_account"], account, "{list}");
    let paid = format!("/operator/merchants/{PARENT}/bills/2026-10/paid");
    let (status, bill) = put(&w, &ops, &paid, json!({})).await;
    assert_eq!(
        (status, bill["paid"].as_bool()),
        (200, Some(true)),
        "{bill}"
    );
    let (status, again) = put(&w, &ops, &paid, json!({})).await;
    assert_eq!((status, &again), (200, &bill));
    let bills = w.services.table.list_bills(&parent).await.unwrap();
    assert!(bills.iter().any(|b| b.month == "2026-10" && b.paid));
    let (_, list) = w.call(authed("GET", "/bills", &merchant)).await;
    assert!(
        bill_of(&list)["remittance_account"].is_null(),
        "paid: {list}"
    );
    let (status, problem) = put(
        &w,
        &ops,
        &format!("/operator/merchants/{PARENT}/bills/2025-01/paid"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("BILL_NOT_FOUND"))
    );
    let (status, problem) = put(
        &w,
        &ops,
        &format!("/operator/merchants/{PARENT}/bills/2025-13/paid"),
        json!({}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["month".to_owned()])
    );
    let (_, audit) = w.call(authed("GET", "/operator/audit", &ops)).await;
    let paid_entries = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "bill_paid")
        .count();
    assert_eq!(paid_entries, 1, "marked once: {audit}");

    // A job's runs, as the daily job recorded them.
    let run = axum::http::Request::post("/_dev/schedules/DailyJobsFunction.TicketSteps/run")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(w.call(run).await.0, 204);
    let (status, runs) = w
        .call(authed("GET", "/operator/job-runs?job=ticket_steps", &ops))
        .await;
    assert_eq!(status, 200, "{runs}");
    assert_eq!(runs["items"][0]["status"], "finished", "{runs}");
    assert_eq!(runs["items"][0]["invocations"], 1);
    let (status, problem) = w
        .call(authed("GET", "/operator/job-runs?job=rm_rf", &ops))
        .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["job".to_owned()])
    );
}

#[tokio::test]
async fn announcements_reach_the_chosen_message_centres_until_withdrawn() {
    let w = seeded().await;
    let ops = w.operator_token(OPERATOR).await;
    let everyone = json!({"title": "系統維護公告", "body": "12/10 02:00–04:00 系統維護。"});
    let (status, published) = put(
        &w,
        &ops,
        "/operator/announcements/maint-1",
        everyone.clone(),
    )
    .await;
    assert_eq!(status, 201, "{published}");
    let (status, again) = put(&w, &ops, "/operator/announcements/maint-1", everyone).await;
    assert_eq!((status, &again), (200, &published), "unchanged: as it is");
    let (status, _) = put(
        &w,
        &ops,
        "/operator/announcements/vip-1",
        json!({"title": "專屬方案", "body": "母商店專屬。", "merchants": [PARENT]}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, problem) = put(
        &w,
        &ops,
        "/operator/announcements/bad",
        json!({"title": " ", "body": "x", "merchants": []}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["title".to_owned(), "merchants".to_owned()])
    );

    let messages = |token: String| {
        let w = &w;
        async move {
            let (status, list) = w.call(authed("GET", "/messages", &token)).await;
            assert_eq!(status, 200, "{list}");
            list
        }
    };
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let list = messages(admin.clone()).await;
    assert_eq!(
        (
            list["items"].as_array().unwrap().len(),
            list["unread"].as_u64()
        ),
        (2, Some(2))
    );
    assert_eq!(list["items"][0]["announcement_id"], "vip-1", "newest first");
    let list = messages(partner.clone()).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // Read per account: the admin's mark is not the manager's.
    let read = |token: &str, id: &str| {
        json_request(
            "PUT",
            &format!("/messages/{id}/read"),
            Some(token),
            json!({}),
        )
    };
    assert_eq!(w.call(read(&admin, "maint-1")).await.0, 204);
    assert_eq!(w.call(read(&admin, "maint-1")).await.0, 204);
    assert_eq!(messages(admin.clone()).await["unread"], 1);
    // The home dashboard shows the same.
    let (status, dashboard) = w.call(authed("GET", "/dashboard", &admin)).await;
    assert_eq!(status, 200, "{dashboard}");
    assert_eq!(dashboard["messages"]["unread"], 1);
    assert_eq!(
        dashboard["messages"]["latest"][1]["read"], true,
        "{dashboard}"
    );
    let manager = w
        .token(PARENT, "manager01", tessera_dev::seed::STAFF_PASSWORD)
        .await;
    assert_eq!(messages(manager).await["unread"], 2);
    let (status, problem) = w.call(read(&partner, "vip-1")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("ANNOUNCEMENT_NOT_FOUND"))
    );

    // Withdrawn: gone from the message centres; withdrawing again changes nothing.
    let withdraw = || authed("DELETE", "/operator/announcements/vip-1", &ops);
    assert_eq!(w.call(withdraw()).await.0, 204);
    assert_eq!(w.call(withdraw()).await.0, 204);
    assert_eq!(messages(admin).await["items"].as_array().unwrap().len(), 1);
    let (status, problem) = w
        .call(authed("DELETE", "/operator/announcements/nope", &ops))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("ANNOUNCEMENT_NOT_FOUND"))
    );
    let (_, listed) = w.call(authed("GET", "/operator/announcements", &ops)).await;
    assert!(listed["items"][0]["withdrawn_at"].is_string(), "{listed}");
    let (_, audit) = w.call(authed("GET", "/operator/audit", &ops)).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "announcement_withdrawn",
            "announcement_published",
            "announcement_published"
        ]
    );
}

#[tokio::test]
async fn documents_are_uploaded_checked_published_and_downloaded_through_short_lived_links() {
    let w = seeded().await;
    let ops = w.operator_token(OPERATOR).await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let pdf = b"%PDF-1.4\n% Tessera operation manual\n%%EOF\n".to_vec();
    let described =
        json!({"title": "票券系統操作手冊", "content_type": "application/pdf", "size": pdf.len()});
    let (status, upload) = put(&w, &ops, "/operator/documents/manual-1", described.clone()).await;
    assert_eq!(status, 200, "{upload}");
    let documents = |token: String| {
        let w = &w;
        async move {
            let (status, list) = w.call(authed("GET", "/documents", &token)).await;
            assert_eq!(status, 200, "{list}");
            list["items"].as_array().unwrap().clone()
        }
    };
    assert!(
        documents(admin.clone()).await.is_empty(),
        "not published yet"
    );
    let publish = "/operator/documents/manual-1/published";
    let (status, problem) = put(&w, &ops, publish, json!({})).await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["file".to_owned()])
    );

    let url = upload["upload_url"].as_str().unwrap();
    assert_eq!(
        tessera_tests::put_to(url, "application/pdf", &pdf).await,
        200
    );
    let (status, published) = put(&w, &ops, publish, json!({})).await;
    assert_eq!(status, 200, "{published}");
    assert!(published["published_at"].is_string());
    let (status, again) = put(&w, &ops, publish, json!({})).await;
    assert_eq!((status, &again), (200, &published));
    // Describing it again the same way keeps it published.
    let (status, same) = put(&w, &ops, "/operator/documents/manual-1", described).await;
    assert_eq!((status, &same["document"]), (200, &published));

    let listed = documents(admin.clone()).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["title"], "票券系統操作手冊");
    let bytes = tessera_tests::get_bytes(listed[0]["download_url"].as_str().unwrap()).await;
    assert_eq!(bytes, pdf);

    let (status, problem) = put(
        &w,
        &ops,
        "/operator/documents/bad-1",
        json!({"title": "x", "content_type": "text/html", "size": 0}),
    )
    .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["content_type".to_owned(), "size".to_owned()])
    );
    let withdraw = || authed("DELETE", "/operator/documents/manual-1", &ops);
    assert_eq!(w.call(withdraw()).await.0, 204);
    assert_eq!(w.call(withdraw()).await.0, 204);
    assert!(documents(admin).await.is_empty());
    let (status, problem) = put(&w, &ops, publish, json!({})).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("DOCUMENT_NOT_FOUND"))
    );
}
