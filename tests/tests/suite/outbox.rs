//! The transactional outbox: an event written with its change reaches its consumer through
//! the table's stream exactly once, even when the publisher fails after the commit; and the
//! stream event source emulator retries and dead-letters as Lambda's does.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT};
use tessera_dev::streams::{PollOutcome, StreamHandler};
use tessera_domain::clock::Clock;
use tessera_domain::events::EventType;
use tessera_domain::notification::{Message, Notification};
use tessera_domain::values::MerchantId;
use tessera_platform::notifications::notification_events;
use tessera_tests::{json_request, seeded, Seeded};

fn inbox() -> String {
    format!(
        "outbox-{}@demo.com.tw",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A failed sign-in with alerts on: the alert's event commits with the sign-in's record.
async fn failed_sign_in_with_alerts(w: &Seeded, inbox: &str) {
    let token = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let body = json!({"on_failed_sign_in": true, "on_new_device": false, "emails": inbox});
    let (status, saved) = w
        .call(json_request("PUT", "/login-alerts", Some(&token), body))
        .await;
    assert_eq!(status, 200, "{saved}");
    let body = json!({"merchant_id": PARENT, "account": "cashier01", "password": "Wrong2026"});
    let (status, _) = w.call(json_request("POST", "/sessions", None, body)).await;
    assert_eq!(status, 401);
}

/// The publisher over the stack's notifications queue, or (`broken`) over a queue that
/// does not exist: then every send fails after the commit.
fn publisher(w: &Seeded, broken: bool) -> StreamHandler {
    let mut notifications = w.services.notifications().unwrap().clone();
    if broken {
        notifications.url = format!("{}-gone", notifications.url);
    }
    tessera_dev::functions::publisher_handler(fn_publish::Publisher {
        table: w.services.table.clone(),
        notifications,
        report_exports: w.services.report_export().unwrap().clone(),
        refund_notify: w.services.refund_notify().unwrap().clone(),
        batch_issue: w.services.batch_issue().unwrap().clone(),
        clock: w.clock.clone(),
    })
}

#[tokio::test]
async fn an_event_whose_publisher_fails_after_the_commit_is_delivered_once_afterwards() {
    let w = seeded().await;
    let inbox = inbox();
    failed_sign_in_with_alerts(&w, &inbox).await;
    let source = w.stack.stream_source("PublishFunction").await;

    // The publisher fails between the commit and the send: nothing reaches the consumer,
    // and the record stays on the stream.
    let failed = source.poll_once(&publisher(&w, true)).await.unwrap();
    assert_eq!(failed.retrying, 1, "{failed:?}");
    assert_eq!(w.drain("NotificationsQueue", "NotifyFunction").await, 0);
    assert!(tessera_tests::mail_to(&inbox).await.is_empty());

    // The next poll delivers it.
    let healthy = publisher(&w, false);
    let published = source.poll_once(&healthy).await.unwrap();
    assert_eq!(published.delivered, 1, "{published:?}");
    assert_eq!(w.drain("NotificationsQueue", "NotifyFunction").await, 1);

    // The stream delivers everything again (a new event source starts at its horizon):
    // the event is recognised and nothing is sent twice.
    let replay = w.stack.stream_source("PublishFunction").await;
    assert_eq!(replay.poll_once(&healthy).await.unwrap().delivered, 1);
    assert_eq!(w.drain("NotificationsQueue", "NotifyFunction").await, 0);
    let mails = tessera_tests::mail_to(&inbox).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0.contains("Failed sign-in"), "{}", mails[0].0);
}

#[tokio::test]
async fn a_change_that_does_not_commit_publishes_nothing() {
    let w = seeded().await;
    let merchant = MerchantId::parse("m", PARENT).unwrap();
    let notification = Notification {
        id: "never-sent".to_owned(),
        merchant_id: PARENT.to_owned(),
        message: Message::Email {
            to: vec![inbox()],
            subject: "s".to_owned(),
            body: "b".to_owned(),
        },
    };
    let events = notification_events(
        "uncommitted",
        &merchant,
        w.clock.now(),
        "test",
        std::slice::from_ref(&notification),
    )
    .unwrap();
    // The event goes with a write whose condition fails (an item that must not exist but
    // does): the whole transaction is refused.
    let taken = tessera_platform::store::Write {
        item: tessera_platform::store::key(
            tessera_platform::store::keys::merchant(PARENT),
            tessera_platform::store::keys::PROFILE,
        ),
        expect: tessera_platform::store::Expect::Absent,
    };
    let refused = w
        .services
        .table
        .transact(
            vec![taken, events[0].write().unwrap()],
            tessera_domain::ErrorCode::ConcurrentChange,
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        w.services
            .table
            .get_event(&events[0].event_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(w.publish().await, PollOutcome::default());
    assert_eq!(w.drain("NotificationsQueue", "NotifyFunction").await, 0);
}

#[tokio::test]
async fn a_record_that_keeps_failing_goes_to_the_dead_letter_queue_after_its_retries() {
    let w = seeded().await;
    let merchant = MerchantId::parse("m", PARENT).unwrap();
    let events: Vec<_> = (0..3)
        .map(|i| {
            tessera_platform::store::outbox::OutboxEvent::new(
                format!("probe-{i}"),
                EventType::TicketRemarked,
                &merchant,
                w.clock.now(),
                "probe",
                &json!({"i": i}),
            )
            .unwrap()
        })
        .collect();
    // One at a time, so that the stream has them in this order.
    for event in &events {
        assert_eq!(
            w.services
                .table
                .put_events(std::slice::from_ref(event))
                .await
                .unwrap(),
            1
        );
    }
    let source = w.stack.stream_source("PublishFunction").await;
    let retries = w
        .stack
        .template
        .function("PublishFunction")
        .unwrap()
        .streams[0]
        .maximum_retry_attempts;

    // A function that fails the second record of every batch it sees.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = seen.clone();
    let failing: StreamHandler = Arc::new(move |event: Value| {
        let recorder = recorder.clone();
        Box::pin(async move {
            let records = event["Records"].as_array().cloned().unwrap_or_default();
            for record in &records {
                assert_eq!(record["eventName"], "INSERT");
                assert_eq!(record["dynamodb"]["Keys"]["SK"]["S"], "EVENT");
                recorder.lock().unwrap().push(
                    record["dynamodb"]["NewImage"]["event_id"]["S"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
            let failed = records
                .iter()
                .find(|r| r["dynamodb"]["NewImage"]["event_id"]["S"] == "probe-1")
                .map(|r| json!([{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]))
                .unwrap_or(json!([]));
            Ok(json!({"batchItemFailures": failed}))
        })
    });
    // Only the event items pass the filter; the first is handled, the second is retried
    // (with the third) until the retries run out.
    let first = source.poll_once(&failing).await.unwrap();
    assert_eq!((first.delivered, first.retrying), (1, 2), "{first:?}");
    for _ in 0..retries - 1 {
        let again = source.poll_once(&failing).await.unwrap();
        assert_eq!((again.delivered, again.retrying), (0, 2), "{again:?}");
    }
    let last = source.poll_once(&failing).await.unwrap();
    assert_eq!(last.dead_lettered, 2, "{last:?}");
    assert_eq!(
        source.poll_once(&failing).await.unwrap(),
        PollOutcome::default()
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|e| *e == "probe-0").count(), 1);
    assert_eq!(
        seen.iter().filter(|e| *e == "probe-1").count() as i64,
        retries + 1
    );

    // The dead-letter queue says where the records are.
    let dlq = &w.stack.provisioned.queue_urls["OutboxDeadLetterQueue"];
    let received = w
        .stack
        .aws
        .sqs
        .receive_message()
        .queue_url(dlq)
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let info: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(info["DDBStreamBatchInfo"]["batchSize"], 2, "{info}");
}

#[tokio::test]
async fn ticket_and_order_changes_write_their_events_with_the_change() {
    let w = seeded().await;
    let token = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, product) = w
        .call(json_request(
            "POST",
            "/products",
            Some(&token),
            json!({"name": "事件券", "kind": "goods_voucher", "term_days": 30, "face_value": 80}),
        ))
        .await;
    assert_eq!(status, 201, "{product}");
    let product_id = product["product_id"].as_str().unwrap();
    w.record_order(&token, "EVT1", product_id, 80, 1).await;
    let (status, abandoned) = w
        .call(json_request(
            "POST",
            "/orders/EVT1/abandon",
            Some(&token),
            json!({}),
        ))
        .await;
    assert_eq!(
        (status, abandoned["status"].as_str()),
        (200, Some("abandoned"))
    );
    let event = w
        .services
        .table
        .get_event(&format!("order-{PARENT}-EVT1-v2"))
        .await
        .unwrap()
        .expect("the abandonment's event");
    assert_eq!(event.event_type, EventType::OrderCancelled);
    assert_eq!(event.subject, "EVT1");
    // Abandoning again is refused, and writes no second event.
    let (status, _) = w
        .call(json_request(
            "POST",
            "/orders/EVT1/abandon",
            Some(&token),
            json!({}),
        ))
        .await;
    assert_eq!(status, 409);
    assert!(w
        .services
        .table
        .get_event(&format!("order-{PARENT}-EVT1-v3"))
        .await
        .unwrap()
        .is_none());
    // The publisher takes it (no consumer wants it yet) and records nothing to send.
    assert!(w.publish().await.delivered >= 1);
    assert_eq!(w.drain("NotificationsQueue", "NotifyFunction").await, 0);
}
