//! The gateway's SQS poller behaves like Lambda's SQS integration: successes are deleted,
//! reported failures (or every message, when the handler errors) stay for redelivery.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::QueueAttributeName;
use std::sync::{Arc, Mutex};
use tessera_dev::functions::QueueHandler;
use tessera_dev::gateway::poll_once;
use tessera_tests::TestStack;

async fn counts(sqs: &aws_sdk_sqs::Client, url: &str) -> (u32, u32) {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    let read = |name: &QueueAttributeName| attributes[name].parse::<u32>().unwrap();
    (
        read(&QueueAttributeName::ApproximateNumberOfMessages),
        read(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

#[tokio::test]
async fn reported_failures_stay_on_the_queue_and_successes_are_deleted() {
    let stack = TestStack::provision().await;
    let sqs = &stack.aws.sqs;
    let url = stack.provisioned.queue_urls["NotificationsQueue"].clone();
    for body in ["one", "fail", "three"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = seen.clone();
    let handler: QueueHandler = Arc::new(move |event: SqsEvent| {
        let recorder = recorder.clone();
        Box::pin(async move {
            let mut response = SqsBatchResponse::default();
            for record in event.records {
                let body = record.body.clone().unwrap_or_default();
                if body == "fail" {
                    response.add_failure(record.message_id.clone().unwrap_or_default());
                }
                assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
                recorder.lock().unwrap().push(body);
            }
            Ok(response)
        })
    });

    let mut received = 0;
    for _ in 0..5 {
        received += poll_once(sqs, &url, &handler, 1).await.unwrap();
        if received == 3 {
            break;
        }
    }
    assert_eq!(received, 3);
    let mut bodies = seen.lock().unwrap().clone();
    bodies.sort();
    assert_eq!(bodies, ["fail", "one", "three"]);
    // Only the failed message is left, invisible until its visibility timeout passes.
    assert_eq!(counts(sqs, &url).await, (0, 1));
}

#[tokio::test]
async fn a_handler_error_leaves_every_message_for_redelivery() {
    let stack = TestStack::provision().await;
    let sqs = &stack.aws.sqs;
    let url = stack.provisioned.queue_urls["RefundNotifyQueue"].clone();
    sqs.send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .unwrap();
    let handler: QueueHandler = Arc::new(|_event: SqsEvent| {
        Box::pin(async { Err::<SqsBatchResponse, _>("consumer crashed".into()) })
    });
    let mut received = 0;
    for _ in 0..5 {
        received += poll_once(sqs, &url, &handler, 1).await.unwrap();
        if received > 0 {
            break;
        }
    }
    assert_eq!(received, 1);
    assert_eq!(counts(sqs, &url).await, (0, 1));
}

#[tokio::test]
async fn running_an_unknown_schedule_is_a_problem_not_a_panic() {
    let stack = TestStack::provision().await;
    let clock = std::sync::Arc::new(tessera_domain::clock::FixedClock::at(
        tessera_tests::test_start(),
    ));
    let router = stack.gateway(clock);
    let request = axum::http::Request::post("/_dev/schedules/Nope.Daily/run")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tessera_tests::send(&router, request).await;
    assert_eq!(response.status(), 404);
    let body = tessera_tests::body_json(response).await;
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
}
