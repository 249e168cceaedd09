//! Sign-in alerts (§3-5) through the notifications queue to SES, and the consumer's
//! idempotency and poison-message handling, against the local AWS.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use serde_json::json;
use tessera_dev::functions::QueueHandler;
use tessera_dev::gateway::poll_once;
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, STAFF_PASSWORD};
use tessera_tests::{authed, json_request, seeded, Seeded};

struct World {
    base: Seeded,
    notify: QueueHandler,
    /// A recipient no other test uses, so mails can be counted in the shared emulator.
    inbox: String,
}

tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let notify = base.handler("NotifyFunction");
    let inbox = format!(
        "alerts-{}@demo.com.tw",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    World {
        base,
        notify,
        inbox,
    }
}

impl World {
    async fn sign_in(&self, account: &str, password: &str, user_agent: &str) -> u16 {
        let body = json!({"merchant_id": PARENT, "account": account, "password": password});
        let mut request = json_request("POST", "/sessions", None, body);
        request
            .headers_mut()
            .insert("user-agent", user_agent.parse().unwrap());
        self.call(request).await.0
    }

    async fn admin(&self) -> String {
        let body = json!({"merchant_id": PARENT, "account": "admin", "password": ADMIN_PASSWORD});
        let (_, session) = self
            .call(json_request("POST", "/sessions", None, body))
            .await;
        session["token"].as_str().unwrap().to_owned()
    }

    fn queue_url(&self) -> String {
        self.stack.provisioned.queue_urls["NotificationsQueue"].clone()
    }

    /// Publishes the outbox, then runs the consumer until the queue is empty, as Lambda
    /// would.
    async fn drain(&self) {
        self.base.publish().await;
        while poll_once(&self.stack.aws.sqs, &self.queue_url(), &self.notify, 0)
            .await
            .unwrap()
            > 0
        {}
    }

    /// Mails the emulator accepted for this test's inbox: (subject, body).
    async fn inbox(&self) -> Vec<(String, String)> {
        tessera_tests::mail_to(&self.inbox).await
    }

    async fn set_alerts(&self, token: &str, failed: bool, new_device: bool) {
        let body = json!({"on_failed_sign_in": failed, "on_new_device": new_device, "emails": format!("{};boss@demo.com.tw", self.inbox)});
        let (status, saved) = self
            .call(json_request("PUT", "/login-alerts", Some(token), body))
            .await;
        assert_eq!(status, 200, "{saved}");
    }
}

#[tokio::test]
async fn a_failed_sign_in_mails_the_alert_recipients_once() {
    let w = world().await;
    let admin = w.admin().await;
    w.set_alerts(&admin, true, false).await;
    assert_eq!(
        w.sign_in("cashier01", "Wrong2026", "Mozilla/5.0 (X11; Linux)")
            .await,
        401
    );
    assert_eq!(
        w.sign_in("cashier01", STAFF_PASSWORD, "Mozilla/5.0 (X11; Linux)")
            .await,
        201
    );
    w.drain().await;
    let mails = w.inbox().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].0.contains("Failed sign-in") && mails[0].0.contains("DEMO0001/cashier01"),
        "{}",
        mails[0].0
    );
    assert!(
        mails[0].1.contains("2026-11-30 10:00:00"),
        "Taipei time in the body: {}",
        mails[0].1
    );
}

#[tokio::test]
async fn a_new_device_is_reported_once_per_device() {
    let w = world().await;
    let admin = w.admin().await; // its device (the test client) is now known
    w.set_alerts(&admin, false, true).await;
    assert_eq!(
        w.sign_in("admin", ADMIN_PASSWORD, "tessera-tests/1.0")
            .await,
        201
    );
    assert_eq!(
        w.sign_in("admin", ADMIN_PASSWORD, "Mozilla/5.0 (iPhone) Safari")
            .await,
        201
    );
    assert_eq!(
        w.sign_in("admin", ADMIN_PASSWORD, "Mozilla/5.0 (iPhone) Safari")
            .await,
        201
    );
    assert_eq!(
        w.sign_in("admin", "Wrong#2026", "Another/1.0").await,
        401,
        "failures do not count as devices"
    );
    w.drain().await;
    let mails = w.inbox().await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].0.contains("new device"));
    assert!(mails[0].1.contains("iPhone"));
}

#[tokio::test]
async fn with_alerts_off_nothing_is_queued() {
    let w = world().await;
    assert_eq!(w.sign_in("cashier01", "Wrong2026", "x").await, 401);
    assert_eq!(
        w.sign_in("manager01", STAFF_PASSWORD, "brand new device")
            .await,
        201
    );
    let received = poll_once(&w.stack.aws.sqs, &w.queue_url(), &w.notify, 0)
        .await
        .unwrap();
    assert_eq!(received, 0);
}

#[tokio::test]
async fn a_redelivered_notification_is_mailed_once_and_poison_is_reported() {
    let w = world().await;
    let notification = json!({"id": "fixed-id-for-redelivery", "merchant_id": PARENT, "channel": "email", "to": [w.inbox], "subject": "s", "body": "b"});
    let notification = notification
        .to_string()
        .replace("fixed-id-for-redelivery", &uuid::Uuid::new_v4().to_string());
    for _ in 0..2 {
        w.stack
            .aws
            .sqs
            .send_message()
            .queue_url(w.queue_url())
            .message_body(&notification)
            .send()
            .await
            .unwrap();
    }
    w.drain().await;
    assert_eq!(
        w.inbox().await.len(),
        1,
        "the same notification id mails once"
    );

    let mut event = SqsEvent::default();
    let mut poison = SqsMessage::default();
    poison.message_id = Some("poison-1".into());
    poison.body = Some("not a notification".into());
    event.records.push(poison);
    let response = (w.notify)(event).await.unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        ["poison-1"],
        "left for SQS to retry and dead-letter"
    );
}

#[tokio::test]
async fn alert_settings_are_validated_and_need_the_right() {
    let w = world().await;
    let admin = w.admin().await;
    let (status, problem) = w
        .call(json_request(
            "PUT",
            "/login-alerts",
            Some(&admin),
            json!({"on_failed_sign_in": true, "on_new_device": false, "emails": ""}),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("emails"))
    );
    let (status, problem) = w.call(json_request("PUT", "/login-alerts", Some(&admin), json!({"on_failed_sign_in": true, "on_new_device": false, "emails": "ok@x.com;broken@"}))).await;
    assert_eq!(status, 400);
    assert!(problem["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("broken@"));
    let (_, current) = w.call(authed("GET", "/login-alerts", &admin)).await;
    assert_eq!(
        current,
        json!({"on_failed_sign_in": false, "on_new_device": false, "emails": ""}),
        "nothing stored"
    );

    let body = json!({"merchant_id": PARENT, "account": "cashier01", "password": STAFF_PASSWORD});
    let (_, session) = w.call(json_request("POST", "/sessions", None, body)).await;
    let cashier = session["token"].as_str().unwrap();
    let (status, problem) = w.call(authed("GET", "/login-alerts", cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
}
