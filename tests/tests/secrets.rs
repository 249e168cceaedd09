//! No secret — password, password hash, session token, signing key — reaches the logs or a
//! response, on any path of sign-in and account management.

use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, STAFF_PASSWORD};
use tessera_domain::clock::FixedClock;
use tessera_tests::{json_request, send, test_start, TestStack, TEST_SIGNING_KEY};

/// Collects everything the JSON log formatter writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_logs_or_responses() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        // The platform's own filter, asked for everything: what a developer gets with RUST_LOG=trace.
        .with_env_filter(tessera_platform::telemetry::safe_filter("trace"))
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let stack = TestStack::provision().await;
    let clock = Arc::new(FixedClock::at(test_start()));
    tessera_dev::seed::seed_demo(&stack.services(clock.clone()))
        .await
        .unwrap();
    let gateway = stack.gateway(clock);
    let mut responses = String::new();
    let call = |request| {
        let gateway = gateway.clone();
        async move {
            let response = send(&gateway, request).await;
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };

    let wrong = "Wrong#Secret2026";
    let new_sub_password = "Fresh2026abc";
    for password in [wrong, ADMIN_PASSWORD] {
        let body = json!({"merchant_id": PARENT, "account": "admin", "password": password});
        responses.push_str(&call(json_request("POST", "/sessions", None, body)).await);
    }
    let session: Value = serde_json::from_str(
        responses
            .rsplit("}{")
            .next()
            .map(|s| format!("{{{s}"))
            .as_deref()
            .unwrap_or("{}"),
    )
    .unwrap_or_default();
    let token = session["token"].as_str().expect("signed in").to_owned();
    let change = json!({"password": new_sub_password});
    responses.push_str(
        &call(json_request(
            "PUT",
            "/sub-accounts/cashier01/password",
            Some(&token),
            change,
        ))
        .await,
    );
    let own = json!({"current_password": ADMIN_PASSWORD, "new_password": "Another#2027"});
    responses.push_str(&call(json_request("PUT", "/account/password", Some(&token), own)).await);
    let create = json!({"account": "secret01x", "password": "Hidden2026x"});
    responses.push_str(&call(json_request("POST", "/sub-accounts", Some(&token), create)).await);
    responses.push_str(&call(tessera_tests::authed("DELETE", "/sessions/current", &token)).await);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request finished"),
        "the capture works: {logs}"
    );
    let secrets = [
        wrong,
        ADMIN_PASSWORD,
        STAFF_PASSWORD,
        new_sub_password,
        "Another#2027",
        "Hidden2026x",
        "$argon2",
        TEST_SIGNING_KEY,
        token.as_str(),
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
    // The token is handed out once, by sign-in; nothing else echoes a secret.
    let after_sign_in = responses.replace(&token, "<token>");
    for secret in secrets {
        assert!(
            !after_sign_in.contains(secret),
            "a secret reached a response: {secret}"
        );
    }
}
