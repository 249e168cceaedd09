//! Faults injected in the middle of the operations that matter: the functions reach AWS
//! through a proxy that refuses a call, loses its answer after the service did it, or holds
//! it past the SDK's timeout (tessera_tests::faults). Each operation must answer 503
//! DEPENDENCY_UNAVAILABLE (or fail its queue message, to be delivered again) and leave
//! nothing half-written, read back from the table; and the retry that follows, with the
//! same Idempotency-Key or the same message, must have the effect of one.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT};
use tessera_tests::faults::{Failure, FaultProxy};
use tessera_tests::{json_request, seeded, IssueRow, Seeded};

/// A seeded stack (reached directly, to set up and to read back) and the same functions
/// with every AWS call through the fault proxy.
struct World {
    base: Seeded,
    proxy: FaultProxy,
    api: axum::Router,
    context: tessera_dev::functions::HandlerContext,
}

tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let proxy = FaultProxy::start().await;
    let services = base.stack.services_through(base.clock.clone(), &proxy);
    let api = base.stack.gateway_over(services.clone());
    let config = proxy.sdk_config(&base.stack.aws.config);
    let context = tessera_dev::functions::HandlerContext {
        services,
        ses: aws_sdk_sesv2::Client::new(&config),
        sns: aws_sdk_sns::Client::new(&config),
        mail_from: base
            .stack
            .template
            .mail_from()
            .expect("the template declares an SES identity"),
    };
    World {
        base,
        proxy,
        api,
        context,
    }
}

const COMMIT: &str = "TransactWriteItems";

impl World {
    /// A request through the faulty functions.
    async fn call_through(&self, request: axum::http::Request<axum::body::Body>) -> (u16, Value) {
        tessera_tests::call(&self.api, request).await
    }

    /// `rows` issued directly (no faults), as the admin: the tickets of each row.
    async fn issued(
        &self,
        admin: &str,
        product_id: &str,
        rows: &[IssueRow],
    ) -> Vec<Vec<tessera_platform::store::tickets::Ticket>> {
        for row in rows {
            let trade_no = row.trade_no.as_deref().expect("a paid order");
            self.record_order(
                admin,
                trade_no,
                product_id,
                100 * u64::from(row.quantity),
                row.quantity,
            )
            .await;
        }
        let rows: Vec<IssueRow> = rows
            .iter()
            .map(|row| match row.buyer_email {
                Some(_) => row.clone(),
                None => row.clone().mailed_to("fault@demo.com.tw"),
            })
            .collect();
        self.issue(admin, PARENT, "electronic_immediate", &rows)
            .await
    }

    async fn product(&self, admin: &str) -> String {
        let (status, product) = self
            .call(json_request(
                "POST",
                "/products",
                Some(admin),
                json!({"name": "故障商品", "kind": "goods_voucher", "term_days": 30, "face_value": 100}),
            ))
            .await;
        assert_eq!(status, 201, "{product}");
        product["product_id"].as_str().expect("an id").to_owned()
    }

    /// The messages waiting on a queue, as one SQS event (what Lambda hands its function).
    async fn receive(&self, queue: &str) -> SqsEvent {
        let url = &self.stack.provisioned.queue_urls[queue];
        let received = self
            .stack
            .aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("the queue answers");
        let mut event = SqsEvent::default();
        for message in received.messages.unwrap_or_default() {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id;
            record.receipt_handle = message.receipt_handle;
            record.body = message.body;
            record.event_source = Some("aws:sqs".to_owned());
            event.records.push(record);
        }
        assert!(!event.records.is_empty(), "{queue} holds a message");
        event
    }

    /// Hands `event` to a function's queue consumer running through the proxy: whether
    /// every message was handled (none reported failed, no error).
    async fn consume(&self, logical_id: &str, event: SqsEvent) -> bool {
        let handler = tessera_dev::functions::queue_handler(&self.context, logical_id)
            .expect("the function consumes a queue");
        match handler(event).await {
            Ok(response) => response.batch_item_failures.is_empty(),
            Err(_) => false,
        }
    }
}

fn keyed(
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
    key: &str,
) -> axum::http::Request<axum::body::Body> {
    let mut request = json_request(method, uri, Some(token), body);
    request
        .headers_mut()
        .insert("idempotency-key", key.parse().expect("a header value"));
    request
}

fn unavailable(answer: &(u16, Value)) -> bool {
    answer.0 == 503 && answer.1["code"] == "DEPENDENCY_UNAVAILABLE"
}

/// The admin's token and a mailed ticket of a product of its own, issued directly.
async fn one_ticket(w: &World, n: u32) -> (String, tessera_platform::store::tickets::Ticket) {
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.product(&admin).await;
    let row = IssueRow::new(&format!("FLTIMP{n}"), &product, 1).paid_by(&format!("FLTORD{n}"));
    let ticket = w.issued(&admin, &product, &[row]).await.remove(0).remove(0);
    (admin, ticket)
}

/// The till's redemption of the ticket, with its Idempotency-Key.
fn redemption(
    admin: &str,
    ticket: &tessera_platform::store::tickets::Ticket,
    key: &str,
) -> axum::http::Request<axum::body::Body> {
    keyed(
        "POST",
        "/redemptions",
        admin,
        json!({"code": ticket.redemption_code}),
        key,
    )
}

impl World {
    /// How many redemptions the ticket's history holds.
    async fn redemptions(&self, ticket: &tessera_platform::store::tickets::Ticket) -> usize {
        let history = self
            .services
            .table
            .ticket_history(&ticket.ticket_no)
            .await
            .expect("history");
        history.iter().filter(|h| h.action == "redeem").count()
    }
}

#[tokio::test]
async fn a_redemption_whose_commit_fails_changes_nothing_and_its_retry_redeems_once() {
    let w = world().await;
    let (admin, ticket) = one_ticket(&w, 1).await;

    // DynamoDB refuses every attempt of the commit: 503, and not one item written.
    let before = w.snapshot().await;
    w.proxy.fail(COMMIT, Failure::Refused, 3);
    let answer = w
        .call_through(redemption(&admin, &ticket, "flt-redeem-1"))
        .await;
    assert!(unavailable(&answer), "{answer:?}");
    assert_eq!(w.proxy.struck(COMMIT), 3, "the SDK tried three times");
    assert_eq!(
        tessera_tests::changed_items(&before, &w.snapshot().await),
        Vec::<String>::new()
    );

    // A refusal the SDK's own retry gets past: the till never sees it.
    w.proxy.fail(COMMIT, Failure::Refused, 1);
    let answer = w
        .call_through(redemption(&admin, &ticket, "flt-redeem-1"))
        .await;
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(answer.1["status"], "used", "{answer:?}");
    assert_eq!(w.redemptions(&ticket).await, 1);
}

#[tokio::test]
async fn a_redemption_whose_answer_is_lost_after_the_commit_is_answered_by_its_retry_and_done_once()
{
    let w = world().await;
    let (admin, ticket) = one_ticket(&w, 2).await;

    // The commit reaches DynamoDB each time, and each answer is lost on the way back.
    w.proxy.fail(COMMIT, Failure::AnswerLost, 3);
    let answer = w
        .call_through(redemption(&admin, &ticket, "flt-redeem-2"))
        .await;
    assert!(unavailable(&answer), "{answer:?}");
    assert_eq!(
        w.proxy.struck(COMMIT),
        3,
        "each attempt committed or found its commit"
    );
    // The till retries with the same key: the redemption that did happen is its answer.
    w.proxy.heal();
    let answer = w
        .call_through(redemption(&admin, &ticket, "flt-redeem-2"))
        .await;
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(answer.1["status"], "used", "{answer:?}");
    assert_eq!(w.redemptions(&ticket).await, 1);

    // A slow commit past the attempt timeout, which still reaches DynamoDB after the SDK's
    // retry did: the ticket is redeemed once.
    let (admin, other) = one_ticket(&w, 3).await;
    let slow = tessera_tests::faults::ATTEMPT_TIMEOUT + std::time::Duration::from_millis(500);
    w.proxy.fail(COMMIT, Failure::Slow(slow), 1);
    let answer = w
        .call_through(redemption(&admin, &other, "flt-redeem-3"))
        .await;
    assert_eq!(answer.0, 200, "{answer:?}");
    assert_eq!(w.proxy.struck(COMMIT), 4, "the slow attempt was held");
    tokio::time::sleep(slow).await;
    assert_eq!(w.redemptions(&other).await, 1);
}

#[tokio::test]
async fn a_sign_in_whose_storage_fails_is_a_503_not_a_wrong_password_and_counts_no_failure() {
    let w = world().await;
    let sign_in = |password: &str| {
        json_request(
            "POST",
            "/sessions",
            None,
            json!({"merchant_id": PARENT, "account": "admin", "password": password}),
        )
    };
    let before = w.snapshot().await;
    // Storage down: a 503, nothing written.
    w.proxy.fail("GetItem", Failure::Refused, 1000);
    let answer = w.call_through(sign_in(ADMIN_PASSWORD)).await;
    assert!(unavailable(&answer), "{answer:?}");
    assert_eq!(
        tessera_tests::changed_items(&before, &w.snapshot().await),
        Vec::<String>::new()
    );
    // The account's own read failing, whatever else goes through: a 503 each time, never
    // a wrong password, nothing reserved against the lockout, and six of them lock nothing.
    w.proxy.heal();
    w.proxy
        .fail_holding("GetItem", "ACCOUNT#admin", Failure::Refused, 1000);
    for password in [
        ADMIN_PASSWORD,
        "Wrong#2026",
        "Wrong#2026",
        "Wrong#2026",
        "Wrong#2026",
        "Wrong#2026",
    ] {
        let answer = w.call_through(sign_in(password)).await;
        assert!(unavailable(&answer), "{answer:?}");
    }
    assert!(
        w.proxy.struck("GetItem") >= 6 * 3,
        "every attempt met the fault"
    );
    assert_eq!(
        tessera_tests::changed_items(&before, &w.snapshot().await),
        Vec::<String>::new()
    );
    // The session's write refused: no session, and the password still opens one after.
    w.proxy.heal();
    w.proxy.fail(COMMIT, Failure::Refused, 3);
    w.proxy.fail("PutItem", Failure::Refused, 3);
    let answer = w.call_through(sign_in(ADMIN_PASSWORD)).await;
    assert!(unavailable(&answer), "{answer:?}");
    let sessions = |snapshot: &std::collections::BTreeMap<String, String>| {
        snapshot.keys().filter(|k| k.contains("SESSION#")).count()
    };
    assert_eq!(sessions(&w.snapshot().await), sessions(&before));
    w.proxy.heal();
    let answer = w.call_through(sign_in(ADMIN_PASSWORD)).await;
    assert_eq!(answer.0, 201, "no lock was counted: {answer:?}");
}

#[tokio::test]
async fn an_upload_confirm_whose_commit_fails_makes_no_batch_and_its_retry_one() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.product(&admin).await;
    w.record_order(&admin, "FLTORD4", &product, 300, 3).await;
    let row = IssueRow::new("FLTIMP4", &product, 3)
        .paid_by("FLTORD4")
        .mailed_to("fault@demo.com.tw");
    let file = tessera_sheets::issuance_template(&[row.cells()]).expect("a file");
    let (status, upload) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&admin),
            json!({"delivery_method": "electronic_immediate", "size": file.len()}),
        ))
        .await;
    assert_eq!(status, 201, "{upload}");
    let url = upload["upload_url"].as_str().expect("a URL");
    assert_eq!(
        tessera_tests::put_to(url, upload["content_type"].as_str().expect("a type"), &file).await,
        200
    );
    let confirm = format!(
        "/issuance/uploads/{}/confirm",
        upload["upload_id"].as_str().expect("an id")
    );

    let before = w.snapshot().await;
    w.proxy.fail(COMMIT, Failure::Refused, 3);
    let answer = w
        .call_through(keyed("POST", &confirm, &admin, json!({}), "flt-confirm"))
        .await;
    assert!(unavailable(&answer), "{answer:?}");
    // No batch, no event, no idempotency record. The ticket numbers it reserved stay
    // unused (a gap in the platform's sequence, as after any failure; its plan object
    // expires with the uploads bucket's lifecycle).
    let changed: Vec<String> = tessera_tests::changed_items(&before, &w.snapshot().await)
        .into_iter()
        .filter(|key| !key.contains("COUNTER#ticket_number"))
        .collect();
    assert_eq!(changed, Vec::<String>::new());

    w.proxy.heal();
    let answer = w
        .call_through(keyed("POST", &confirm, &admin, json!({}), "flt-confirm"))
        .await;
    assert_eq!(answer.0, 202, "{answer:?}");
    let again = w
        .call_through(keyed("POST", &confirm, &admin, json!({}), "flt-confirm"))
        .await;
    assert_eq!(
        again, answer,
        "the repeated confirm answers the first answer"
    );
    w.publish().await;
    assert_eq!(
        w.drain("BatchIssueQueue", "BatchIssueFunction").await,
        1,
        "one batch queued"
    );
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).expect("an id");
    let tickets = w
        .services
        .table
        .tickets_of_issued_order(&merchant, "FLTIMP4")
        .await
        .expect("tickets");
    assert_eq!(tickets.len(), 3);
}

#[tokio::test]
async fn a_batch_whose_ticket_write_fails_midway_is_delivered_again_and_issues_each_ticket_once() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.product(&admin).await;
    let rows: Vec<IssueRow> = (1..=4)
        .map(|n| {
            IssueRow::new(&format!("FLTB{n}"), &product, 30)
                .paid_by(&format!("FLTBO{n}"))
                .mailed_to("fault@demo.com.tw")
        })
        .collect();
    for row in &rows {
        w.record_order(
            &admin,
            row.trade_no.as_deref().expect("paid"),
            &product,
            3000,
            30,
        )
        .await;
    }
    let cells: Vec<[String; 8]> = rows.iter().map(IssueRow::cells).collect();
    let file = tessera_sheets::issuance_template(&cells).expect("a file");
    let (_, upload) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&admin),
            json!({"delivery_method": "electronic_immediate", "size": file.len()}),
        ))
        .await;
    let url = upload["upload_url"].as_str().expect("a URL");
    assert_eq!(
        tessera_tests::put_to(url, upload["content_type"].as_str().expect("a type"), &file).await,
        200
    );
    let id = upload["upload_id"].as_str().expect("an id").to_owned();
    let (status, _) = w
        .call(keyed(
            "POST",
            &format!("/issuance/uploads/{id}/confirm"),
            &admin,
            json!({}),
            "flt-batch",
        ))
        .await;
    assert_eq!(status, 202);
    w.publish().await;
    let event = w.receive("BatchIssueQueue").await;

    // The worker's first transaction of tickets goes through; then DynamoDB is down for
    // longer than the worker's own retries last.
    w.proxy.fail_after(COMMIT, 1, Failure::Refused, 1000);
    w.proxy
        .fail_after("BatchWriteItem", 1, Failure::Refused, 1000);
    assert!(
        !w.consume("BatchIssueFunction", event.clone()).await,
        "the message is failed back to its queue"
    );
    assert!(
        w.proxy.struck(COMMIT) + w.proxy.struck("BatchWriteItem") >= 3,
        "the fault struck the worker's writes"
    );
    // The queue delivers it again.
    w.proxy.heal();
    assert!(w.consume("BatchIssueFunction", event).await);
    let (_, batch) = w
        .call(tessera_tests::authed(
            "GET",
            &format!("/issuance/batches/{id}"),
            &admin,
        ))
        .await;
    assert_eq!(batch["status"], "done", "{batch}");
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).expect("an id");
    let mut numbers = std::collections::BTreeSet::new();
    for row in &rows {
        let tickets = w
            .services
            .table
            .tickets_of_issued_order(&merchant, &row.import_no)
            .await
            .expect("tickets");
        assert_eq!(tickets.len(), 30, "{}", row.import_no);
        numbers.extend(tickets.into_iter().map(|t| t.ticket_no.to_string()));
    }
    assert_eq!(numbers.len(), 120, "each ticket issued once");
}

#[tokio::test]
async fn a_mail_the_mail_service_refuses_is_delivered_again_and_sent_once() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let product = w.product(&admin).await;
    let inbox = format!(
        "fault-{}@demo.com.tw",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    w.issued(
        &admin,
        &product,
        &[IssueRow::new("FLTIMP5", &product, 1)
            .paid_by("FLTORD5")
            .mailed_to(&inbox)],
    )
    .await;
    w.publish().await;
    let event = w.receive("NotificationsQueue").await;

    let send_email = "POST /v2/email/outbound-emails";
    w.proxy.fail(send_email, Failure::Refused, 3);
    assert!(
        !w.consume("NotifyFunction", event.clone()).await,
        "the message is failed back to its queue"
    );
    assert_eq!(w.proxy.struck(send_email), 3);
    assert!(tessera_tests::mail_to(&inbox).await.is_empty());

    w.proxy.heal();
    assert!(w.consume("NotifyFunction", event.clone()).await);
    assert_eq!(tessera_tests::mail_to(&inbox).await.len(), 1);
    // Delivered once more (at least once is SQS's promise): still one mail.
    assert!(w.consume("NotifyFunction", event).await);
    assert_eq!(tessera_tests::mail_to(&inbox).await.len(), 1);
}
