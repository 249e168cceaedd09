//! Refund callbacks (Standard Webhooks) end to end: a refund of an installment order is
//! posted once, signed, to a receiver the test runs; a failing endpoint is retried on the
//! schedule and ends on the dead-letter queue, from where a redelivery sends it; a 410
//! disables the endpoint; a rotated secret still verifies during its overlap only; the
//! guard refuses private targets whatever their names resolve to.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tessera_dev::seed::{ADMIN_PASSWORD, INSTALLMENT};
use tessera_domain::calendar;
use tessera_platform::webhooks::verify;
use tessera_tests::{authed, json_request, seeded, with_new_key, Seeded};

/// What the receiver got: the three headers and the body of each request.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<Mutex<u16>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    receiver.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body,
    });
    StatusCode::from_u16(*receiver.answer.lock().unwrap()).unwrap()
}

/// A receiver on a free local port, answering `status`; its URL.
async fn receiver(status: u16) -> (Receiver, String) {
    let receiver = Receiver {
        got: Arc::default(),
        answer: Arc::new(Mutex::new(status)),
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (receiver, format!("http://{address}/hook"))
}

async fn admin(w: &Seeded) -> String {
    w.token(INSTALLMENT, "admin", ADMIN_PASSWORD).await
}

/// The demo installment merchant's notify URL and a new signing secret (answered once).
async fn configure(w: &Seeded, url: &str) -> String {
    let token = admin(w).await;
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": url}),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, secret) = w
        .call(with_new_key(
            "POST",
            "/merchant/webhook-secret",
            &token,
            json!({}),
        ))
        .await;
    assert_eq!(status, 201, "{secret}");
    secret["secret"].as_str().unwrap().to_owned()
}

/// An order of the demo installment merchant, issued on 30 Nov and returned at once; the
/// cut-offs refund it on 3 Dec (issue day + 2, then the next), publishing the result.
async fn refund_an_order(w: &Seeded, trade_no: &str) {
    let token = admin(w).await;
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "課程", "kind": "goods_voucher", "term_days": 120, "face_value": 300}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let (status, body) = w
        .call(json_request(
            "POST",
            "/orders",
            Some(&token),
            json!({"trade_no": trade_no, "product_id": product["product_id"], "amount": 300, "quantity": 1,
                   "cardholder_name": "林小華", "cardholder_mobile": "0912345678", "paid_at": tessera_tests::test_start()}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    for (uri, body) in [
        (
            "/installment-orders".to_owned(),
            json!({"trade_no": trade_no, "periods": 3, "first_redemption_on": "2027-01-05"}),
        ),
        (
            format!("/installment-orders/{trade_no}/return"),
            json!({"fee": "30", "reason": "退課"}),
        ),
    ] {
        let (status, answer) = w.call(with_new_key("POST", &uri, &token, body)).await;
        assert!((200..300).contains(&status), "{uri}: {answer}");
    }
    let jobs = fn_daily_jobs::DailyJobs::new(&w.services).unwrap();
    for day in [2, 3] {
        w.clock.set(calendar::taipei_instant(
            chrono::NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            chrono::NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
        ));
        jobs.run(
            json!({"job": "installment_steps"}),
            fn_daily_jobs::Budget::default(),
        )
        .await
        .unwrap();
    }
    w.publish().await;
}

fn sender(w: &Seeded, faults: fn_callbacks::Faults) -> tessera_dev::functions::QueueHandler {
    let mut sender = fn_callbacks::Sender::new(&w.services).unwrap();
    sender.faults = faults;
    Arc::new(move |event| {
        let sender = sender.clone();
        Box::pin(async move { Ok(sender.handle(event).await) })
    })
}

async fn drain_with(w: &Seeded, handler: &tessera_dev::functions::QueueHandler) -> usize {
    let url = &w.stack.provisioned.queue_urls["RefundNotifyQueue"];
    tessera_tests::drain(&w.stack.aws.sqs, url, handler).await
}

fn now_seconds(w: &Seeded) -> i64 {
    use tessera_domain::clock::Clock;
    w.clock.now().timestamp()
}

#[tokio::test]
async fn a_refund_is_posted_signed_and_a_crash_after_sending_delivers_it_once() {
    let w = seeded().await;
    let (receiver, url) = receiver(200).await;
    let secret = configure(&w, &url).await;
    refund_an_order(&w, "CB1").await;

    // The sender crashes after posting, before recording: the message comes again (as SQS
    // would deliver it), and the same callback is posted with the same webhook-id.
    let crash = sender(
        &w,
        fn_callbacks::Faults {
            backoff_scale: 0.0,
            crash_after_send: true,
        },
    );
    assert_eq!(drain_with(&w, &crash).await, 1);
    let token = admin(&w).await;
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-12-31",
            &token,
        ))
        .await;
    let delivery_id = log["items"][0]["delivery_id"].as_str().unwrap().to_owned();
    tessera_platform::notifications::WorkQueue {
        sqs: w.stack.aws.sqs.clone(),
        url: w.stack.provisioned.queue_urls["RefundNotifyQueue"].clone(),
    }
    .send(&tessera_platform::webhooks::CallbackMessage {
        merchant_id: tessera_domain::values::MerchantId::parse("m", INSTALLMENT).unwrap(),
        delivery_id: delivery_id.clone(),
    })
    .await
    .unwrap();
    let handler = w.handler("CallbacksFunction");
    assert_eq!(drain_with(&w, &handler).await, 1);
    // Settled: another message for it sends nothing.
    assert_eq!(drain_with(&w, &handler).await, 0);

    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "posted twice");
    let ids: std::collections::BTreeSet<_> = got.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ids.len(),
        1,
        "one event: receivers deduplicate by webhook-id"
    );
    for request in &got {
        assert_eq!(
            verify(
                &secret,
                &request.id,
                &request.timestamp,
                &request.signature,
                request.body.as_bytes(),
                now_seconds(&w)
            ),
            Ok(()),
            "{request:?}"
        );
    }
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "refund.completed");
    assert_eq!(
        (
            body["data"]["trade_no"].as_str(),
            body["data"]["refund_amount"].as_str(),
            body["data"]["fee"].as_str()
        ),
        (Some("CB1"), Some("270"), Some("30"))
    );
    assert!(body["data"].get("notify_url").is_none());
    // The body is what the OpenAPI document's webhooks section says it is.
    let document = serde_json::to_value(tessera_dev::openapi::document()).unwrap();
    let post = &document["webhooks"]["refund.completed"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CallbackBody"
    );
    let fields = &document["components"]["schemas"]["RefundResult"]["properties"];
    for key in body["data"].as_object().unwrap().keys() {
        assert!(
            fields.get(key).is_some(),
            "{key} is not in the documented schema"
        );
    }
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-12-31&status=delivered",
            &token,
        ))
        .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["items"][0]["attempts"][0]["status_code"], 200);
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_then_dead_lettered_and_redelivered_by_hand() {
    let w = seeded().await;
    let (receiver, url) = receiver(500).await;
    let secret = configure(&w, &url).await;
    refund_an_order(&w, "CB2").await;
    let retrying = sender(
        &w,
        fn_callbacks::Faults {
            backoff_scale: 0.0,
            crash_after_send: false,
        },
    );
    drain_with(&w, &retrying).await;
    let tries = tessera_domain::webhooks::MAX_ATTEMPTS as usize;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        tries,
        "every try on the schedule"
    );
    let dlq = &w.stack.provisioned.queue_urls["RefundNotifyDeadLetterQueue"];
    let dead = w
        .stack
        .aws
        .sqs
        .receive_message()
        .queue_url(dlq)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        dead.messages.unwrap_or_default().len(),
        1,
        "on the dead-letter queue"
    );
    let token = admin(&w).await;
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-12-31&status=failed",
            &token,
        ))
        .await;
    let failed = &log["items"][0];
    assert_eq!(failed["attempt_count"], tries as u64, "{log}");
    assert_eq!(failed["attempts"][0]["status_code"], 500);
    // The log exports to Excel, filtered as it is read.
    let (status, export) = w
        .call(with_new_key(
            "POST",
            "/exports",
            &token,
            json!({"report": "callbacks", "query": {"from": "2026-11-30", "to": "2026-12-31", "status": "failed"}}),
        ))
        .await;
    assert_eq!(status, 202, "{export}");
    w.publish().await;
    assert_eq!(
        w.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let (_, done) = w
        .call(authed(
            "GET",
            &format!("/exports/{}", export["export_id"].as_str().unwrap()),
            &token,
        ))
        .await;
    assert_eq!(
        (done["status"].as_str(), done["rows_written"].as_u64()),
        (Some("done"), Some(1)),
        "{done}"
    );

    // The endpoint is fixed; the merchant redelivers every failed callback of the month:
    // the same webhook-id, delivered.
    *receiver.answer.lock().unwrap() = 204;
    let id = failed["delivery_id"].as_str().unwrap();
    let (status, queued) = w
        .call(with_new_key(
            "POST",
            "/webhooks/deliveries/redeliver-failed",
            &token,
            json!({"from": "2026-11-30", "to": "2026-12-31"}),
        ))
        .await;
    assert_eq!(
        (status, &queued["delivery_ids"]),
        (202, &json!([id])),
        "{queued}"
    );
    drain_with(&w, &w.handler("CallbacksFunction")).await;
    let got = receiver.got.lock().unwrap().clone();
    let last = got.last().unwrap();
    assert_eq!(last.id, id);
    assert_eq!(
        verify(
            &secret,
            &last.id,
            &last.timestamp,
            &last.signature,
            last.body.as_bytes(),
            now_seconds(&w)
        ),
        Ok(())
    );
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-12-31&status=delivered",
            &token,
        ))
        .await;
    assert_eq!(log["items"][0]["delivery_id"], id, "{log}");
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_a_rotated_secret_verifies_during_its_overlap_only() {
    let w = seeded().await;
    let (receiver, url) = receiver(200).await;
    let old = configure(&w, &url).await;
    let token = admin(&w).await;
    let (status, rotated) = w
        .call(with_new_key(
            "POST",
            "/merchant/webhook-secret",
            &token,
            json!({}),
        ))
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    let ping = |token: String| {
        let w = &w;
        async move {
            let (status, body) = w
                .call(with_new_key("POST", "/webhooks/ping", &token, json!({})))
                .await;
            assert_eq!(status, 202, "{body}");
            drain_with(w, &w.handler("CallbacksFunction")).await;
        }
    };
    ping(token.clone()).await;
    let during = receiver.got.lock().unwrap().last().cloned().unwrap();
    for secret in [&old, &new] {
        assert_eq!(
            verify(
                secret,
                &during.id,
                &during.timestamp,
                &during.signature,
                during.body.as_bytes(),
                now_seconds(&w)
            ),
            Ok(())
        );
    }
    // One callback redelivered by hand: the same webhook-id again.
    let (status, queued) = w
        .call(with_new_key(
            "POST",
            &format!("/webhooks/deliveries/{}/redeliver", during.id),
            &token,
            json!({}),
        ))
        .await;
    assert_eq!(status, 202, "{queued}");
    drain_with(&w, &w.handler("CallbacksFunction")).await;
    assert_eq!(receiver.got.lock().unwrap().last().unwrap().id, during.id);
    // A day and an hour later only the new secret signs.
    w.clock.advance(chrono::Duration::hours(25));
    let token = admin(&w).await;
    ping(token.clone()).await;
    let after = receiver.got.lock().unwrap().last().cloned().unwrap();
    let verify_with = |secret: &str| {
        verify(
            secret,
            &after.id,
            &after.timestamp,
            &after.signature,
            after.body.as_bytes(),
            now_seconds(&w),
        )
    };
    assert_eq!(verify_with(&new), Ok(()));
    assert!(verify_with(&old).is_err());

    // 410 Gone: the delivery is disabled and so is the endpoint; nothing more is posted
    // until the merchant sets the URL again.
    *receiver.answer.lock().unwrap() = 410;
    ping(token.clone()).await;
    let (_, state) = w
        .call(authed("GET", "/merchant/webhook-secret", &token))
        .await;
    assert_eq!(state["disabled_urls"], json!([url]), "{state}");
    let posted = receiver.got.lock().unwrap().len();
    ping(token.clone()).await;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        posted,
        "a disabled endpoint gets nothing"
    );
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": url}),
        ))
        .await;
    assert_eq!(status, 200);
    *receiver.answer.lock().unwrap() = 200;
    ping(token.clone()).await;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        posted + 1,
        "enabled again"
    );
}

/// A resolver that answers what the test says, for any name.
struct Answers(Vec<SocketAddr>);

impl fn_callbacks::Resolve for Answers {
    fn resolve(&self, _host: String, _port: u16) -> fn_callbacks::Resolving {
        let addresses = self.0.clone();
        Box::pin(async move { Ok(addresses) })
    }
}

#[tokio::test]
async fn private_targets_are_refused_after_resolution() {
    let w = seeded().await;
    let mut sender = fn_callbacks::Sender::new(&w.services).unwrap();
    sender.allow_private = false;
    for address in [
        "10.0.0.5",
        "127.0.0.1",
        "169.254.169.254",
        "192.168.0.10",
        "[::1]",
        "[fd00::2]",
    ] {
        let ip: std::net::IpAddr = address.trim_matches(['[', ']']).parse().unwrap();
        sender.resolver = Arc::new(Answers(vec![SocketAddr::new(ip, 443)]));
        let refused = sender
            .checked_target("https://shop.example.com/refunds")
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("resolves to"),
            "{address}: {refused}"
        );
        // A literal address is judged the same without asking the resolver.
        assert!(
            sender
                .checked_target(&format!("https://{address}/refunds"))
                .await
                .is_err(),
            "{address}"
        );
    }
    // One forbidden address among public ones is enough to refuse.
    sender.resolver = Arc::new(Answers(vec![
        "203.0.114.9:443".parse().unwrap(),
        "10.0.0.1:443".parse().unwrap(),
    ]));
    assert!(sender
        .checked_target("https://shop.example.com/refunds")
        .await
        .is_err());
    sender.resolver = Arc::new(Answers(vec!["203.0.114.9:443".parse().unwrap()]));
    let (_, addresses) = sender
        .checked_target("https://shop.example.com/refunds")
        .await
        .unwrap();
    assert_eq!(
        addresses,
        ["203.0.114.9:443".parse::<SocketAddr>().unwrap()]
    );
    assert!(
        sender
            .checked_target("http://shop.example.com/refunds")
            .await
            .is_err(),
        "https only"
    );
}

/// A ticket's return, once the bank has refunded it, is posted to the notify URL its ticket
/// was issued under; a ticket issued before the URL was set gets none (not retroactive).
#[tokio::test]
async fn a_refunded_ticket_return_is_posted_to_the_url_of_its_issue() {
    use tessera_dev::seed::PARENT;
    let w = seeded().await;
    let (receiver, url) = receiver(200).await;
    let token = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 30, "face_value": 120}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["product_id"].as_str().unwrap();
    // Goods vouchers are paid for: each row issues a paid order.
    let issue = |import_no: &'static str| {
        let (w, token) = (&w, &token);
        async move {
            let trade_no = format!("T{import_no}");
            w.record_order(token, &trade_no, product_id, 120, 1).await;
            w.issue(
                token,
                PARENT,
                "paper_by_merchant",
                &[tessera_tests::IssueRow::new(import_no, product_id, 1).paid_by(&trade_no)],
            )
            .await
            .remove(0)
            .remove(0)
        }
    };
    let before = issue("CBT0").await;
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/merchant/refund-notify-url",
            Some(&token),
            json!({"url": url}),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, secret) = w
        .call(with_new_key(
            "POST",
            "/merchant/webhook-secret",
            &token,
            json!({}),
        ))
        .await;
    assert_eq!(status, 201, "{secret}");
    let secret = secret["secret"].as_str().unwrap().to_owned();
    let after = issue("CBT1").await;
    for ticket in [&before, &after] {
        let (status, body) = w
            .call(with_new_key(
                "POST",
                "/returns",
                &token,
                json!({"code": ticket.redemption_code, "reason": "顧客退貨", "fee": "20"}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let jobs = fn_daily_jobs::DailyJobs::new(&w.services).unwrap();
    for day in [2, 3] {
        w.clock.set(calendar::taipei_instant(
            chrono::NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            chrono::NaiveTime::from_hms_opt(1, 0, 0).unwrap(),
        ));
        jobs.run(
            json!({"job": "ticket_steps"}),
            fn_daily_jobs::Budget::default(),
        )
        .await
        .unwrap();
    }
    w.publish().await;
    drain_with(&w, &w.handler("CallbacksFunction")).await;
    let got = receiver.got.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        1,
        "only the ticket issued under the URL: {got:?}"
    );
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "refund.completed");
    assert_eq!(
        (
            body["data"]["ticket_no"].as_str(),
            body["data"]["refund_amount"].as_str()
        ),
        (Some(after.ticket_no.as_str()), Some("100"))
    );
    assert_eq!(
        verify(
            &secret,
            &got[0].id,
            &got[0].timestamp,
            &got[0].signature,
            got[0].body.as_bytes(),
            now_seconds(&w)
        ),
        Ok(())
    );
}

/// The local stack's receiver: a person points the notify URL at the gateway's
/// `/_dev/webhooks` and watches callbacks arrive there.
#[tokio::test]
async fn the_local_receiver_shows_the_callbacks_it_got() {
    let w = seeded().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let gateway = w.gateway.clone();
    tokio::spawn(async move { axum::serve(listener, gateway).await.unwrap() });
    configure(&w, &format!("http://{address}/_dev/webhooks")).await;
    let token = admin(&w).await;
    let (status, ping) = w
        .call(with_new_key("POST", "/webhooks/ping", &token, json!({})))
        .await;
    assert_eq!(status, 202, "{ping}");
    drain_with(&w, &w.handler("CallbacksFunction")).await;
    let (status, received) = w.call(tessera_tests::get("/_dev/webhooks")).await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received[0]["webhook_id"], ping["delivery_id"], "{received}");
    assert_eq!(received[0]["body"]["type"], "ping");
    assert!(received[0]["webhook_signature"]
        .as_str()
        .unwrap()
        .starts_with("v1,"));
    // Another merchant can neither redeliver it nor see it in its log.
    let other = w
        .token(tessera_dev::seed::PARENT, "admin", ADMIN_PASSWORD)
        .await;
    let id = ping["delivery_id"].as_str().unwrap();
    let (status, refused) = w
        .call(with_new_key(
            "POST",
            &format!("/webhooks/deliveries/{id}/redeliver"),
            &other,
            json!({}),
        ))
        .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (404, Some("DELIVERY_NOT_FOUND"))
    );
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-11-30",
            &other,
        ))
        .await;
    assert_eq!(log["items"], json!([]), "{log}");
}

/// An endpoint that answers too slowly is cut off at the try's limit and retried; the log
/// says it timed out.
#[tokio::test]
async fn a_slow_endpoint_is_cut_off_and_retried() {
    let w = seeded().await;
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::post(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            StatusCode::NO_CONTENT
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    configure(&w, &format!("http://{address}/slow")).await;
    let token = admin(&w).await;
    let (status, ping) = w
        .call(with_new_key("POST", "/webhooks/ping", &token, json!({})))
        .await;
    assert_eq!(status, 202, "{ping}");
    let mut sender = fn_callbacks::Sender::new(&w.services).unwrap();
    sender.timeout = std::time::Duration::from_millis(500);
    let handler: tessera_dev::functions::QueueHandler = Arc::new(move |event| {
        let sender = sender.clone();
        Box::pin(async move { Ok(sender.handle(event).await) })
    });
    let url = &w.stack.provisioned.queue_urls["RefundNotifyQueue"];
    let started = std::time::Instant::now();
    tessera_dev::gateway::poll_once(&w.stack.aws.sqs, url, &handler, 0)
        .await
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "cut off, not waited out"
    );
    let (_, log) = w
        .call(authed(
            "GET",
            "/webhooks/deliveries?from=2026-11-30&to=2026-11-30",
            &token,
        ))
        .await;
    let delivery = &log["items"][0];
    assert_eq!(delivery["status"], "pending", "retried later: {log}");
    assert_eq!(delivery["attempts"][0]["error"], "timed out after 500 ms");
}
