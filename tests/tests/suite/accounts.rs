//! Sign-in, sessions, lockout, sub-accounts and rights, through the gateway (authorizer
//! included) against the local AWS — the denials as well as the happy paths.

use chrono::Duration;
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{authed, json_request, test_start};

tessera_tests::seeded_world!();

impl World {
    async fn sign_in(&self, merchant: &str, account: &str, password: &str) -> (u16, Value) {
        self.call(json_request(
            "POST",
            "/sessions",
            None,
            json!({"merchant_id": merchant, "account": account, "password": password}),
        ))
        .await
    }

    async fn admin(&self) -> String {
        self.token(PARENT, "admin", ADMIN_PASSWORD).await
    }
}

#[tokio::test]
async fn sign_in_returns_a_session_and_records_the_login() {
    let w = world().await;
    let (status, body) = w.sign_in(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 201);
    assert_eq!(body["merchant_id"], PARENT);
    assert_eq!(body["acting_as"], PARENT);
    assert_eq!(body["role"], "admin");
    assert_eq!(body["children"], json!([CHILD]));
    let text = body.to_string();
    assert!(
        !text.contains(ADMIN_PASSWORD) && !text.contains("argon2"),
        "no secret in the response"
    );

    let token = body["token"].as_str().unwrap();
    let (status, history) = w.call(authed("GET", "/login-history", token)).await;
    assert_eq!(status, 200, "{history}");
    let latest = &history["items"][0];
    assert_eq!(latest["succeeded"], true);
    assert_eq!(latest["ip"], "203.0.113.7");
    assert_eq!(latest["user_agent"], "tessera-tests/1.0");
}

#[tokio::test]
async fn wrong_passwords_unknown_accounts_and_unknown_merchants_look_the_same() {
    let w = world().await;
    for (merchant, account, password) in [
        (PARENT, "admin", "Wrong#2026"),
        (PARENT, "nobody", ADMIN_PASSWORD),
        ("NOSUCH01", "admin", ADMIN_PASSWORD),
    ] {
        let (status, body) = w.sign_in(merchant, account, password).await;
        assert_eq!(status, 401, "{merchant}/{account}");
        assert_eq!(body["code"], "INVALID_CREDENTIALS");
    }
    let (status, body) = w.sign_in("bad id!", "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "merchant_id");

    let token = w.admin().await;
    let (_, history) = w.call(authed("GET", "/login-history", &token)).await;
    let failures = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["succeeded"] == false)
        .count();
    assert_eq!(
        failures, 2,
        "failures of this merchant's accounts are in its history: {history}"
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_window_passes() {
    let w = world().await;
    for attempt in 1..=4 {
        let (status, body) = w.sign_in(PARENT, "cashier01", "Wrong2026").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("INVALID_CREDENTIALS")),
            "attempt {attempt}"
        );
        w.clock.advance(Duration::minutes(1));
    }
    let (status, body) = w.sign_in(PARENT, "cashier01", "Wrong2026").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED"))
    );
    // Even the right password is refused while locked.
    let (status, body) = w.sign_in(PARENT, "cashier01", STAFF_PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED"))
    );
    // Other accounts are not affected.
    assert_eq!(w.sign_in(PARENT, "manager01", STAFF_PASSWORD).await.0, 201);
    // The first failure was at minute 0: the lock ends at minute 15.
    w.clock
        .set(test_start() + Duration::minutes(14) + Duration::seconds(59));
    assert_eq!(w.sign_in(PARENT, "cashier01", STAFF_PASSWORD).await.0, 423);
    w.clock.set(test_start() + Duration::minutes(15));
    assert_eq!(w.sign_in(PARENT, "cashier01", STAFF_PASSWORD).await.0, 201);
}

#[tokio::test]
async fn missing_expired_tampered_and_signed_out_tokens_are_refused() {
    let w = world().await;
    let (status, body) = w
        .call(json_request("GET", "/login-history", None, json!({})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    let token = w.admin().await;
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let (status, body) = w.call(authed("GET", "/login-history", &tampered)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    // A token signed with another key.
    let other = tessera_platform::session::SigningKey::new(
        b"another-key-another-key-another-key!".to_vec(),
    )
    .unwrap();
    let claims = tessera_platform::session::SessionClaims {
        sid: "x".into(),
        mid: PARENT.into(),
        sub: "admin".into(),
        act: PARENT.into(),
        br: None,
        op: false,
        iat: test_start().timestamp(),
        exp: (test_start() + Duration::hours(1)).timestamp(),
    };
    let forged = tessera_platform::session::sign(&claims, &other);
    assert_eq!(
        w.call(authed("GET", "/login-history", &forged)).await.0,
        401
    );

    w.clock.advance(Duration::hours(8));
    let (status, body) = w.call(authed("GET", "/login-history", &token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED"))
    );

    let token = w.admin().await;
    assert_eq!(
        w.call(authed("DELETE", "/sessions/current", &token))
            .await
            .0,
        204
    );
    let (status, body) = w.call(authed("GET", "/login-history", &token)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED"))
    );
}

#[tokio::test]
async fn every_protected_route_answers_401_problem_json_without_a_session() {
    let w = world().await;
    for (route, _) in w.stack.template.routes() {
        if route.public {
            continue;
        }
        let path = route.path.replace("{account}", "cashier01");
        let (status, body) = w
            .call(json_request(&route.method, &path, None, json!({})))
            .await;
        assert_eq!(status, 401, "{} {}", route.method, route.path);
        assert_eq!(
            body["code"], "UNAUTHENTICATED",
            "{} {}",
            route.method, route.path
        );
    }
}

#[tokio::test]
async fn the_admin_manages_sub_accounts_with_history() {
    let w = world().await;
    let admin = w.admin().await;
    let create = json!({
        "account": "staff02a", "password": "Staff2026", "remark": "晚班",
        "rights": {"reports": {"query": true, "modify": false}, "redemption": {"query": false, "modify": true}}
    });
    let (status, created) = w
        .call(json_request(
            "POST",
            "/sub-accounts",
            Some(&admin),
            create.clone(),
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["rights"]["redemption"],
        json!({"query": true, "modify": true}),
        "modify implies query"
    );
    assert_eq!(
        created["rights"]["billing"],
        json!({"query": false, "modify": false})
    );
    assert!(!created.to_string().contains("Staff2026"));

    let (status, body) = w
        .call(json_request("POST", "/sub-accounts", Some(&admin), create))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("ACCOUNT_EXISTS"))
    );

    // The new account signs in with its password, and its session says what it may do
    // (what the console draws its menus from).
    let (status, signed_in) = w.sign_in(PARENT, "staff02a", "Staff2026").await;
    assert_eq!(status, 201);
    let staff = signed_in["token"].as_str().unwrap().to_owned();
    let (status, current) = w.call(authed("GET", "/sessions/current", &staff)).await;
    assert_eq!(status, 200, "{current}");
    assert_eq!(
        (current["role"].as_str(), current["mode"].as_str()),
        (Some("sub_account"), Some("redeem_after_use"))
    );
    assert_eq!(
        current["rights"]["redemption"],
        json!({"query": true, "modify": true})
    );
    assert_eq!(
        current["rights"]["reports"],
        json!({"query": true, "modify": false})
    );
    assert_eq!(
        current["rights"]["billing"],
        json!({"query": false, "modify": false})
    );
    assert!(current["rights"].get("order_return").is_none(), "{current}");
    let (_, current) = w.call(authed("GET", "/sessions/current", &admin)).await;
    assert_eq!(current["role"], "admin");
    assert_eq!(
        current["rights"]["billing"],
        json!({"query": true, "modify": true})
    );

    let (status, _) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/staff02a/remark",
            Some(&admin),
            json!({"remark": "早班"}),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/staff02a/password",
            Some(&admin),
            json!({"password": "Newpass99"}),
        ))
        .await;
    assert_eq!(status, 204);
    assert_eq!(w.sign_in(PARENT, "staff02a", "Staff2026").await.0, 401);
    assert_eq!(w.sign_in(PARENT, "staff02a", "Newpass99").await.0, 201);

    assert_eq!(
        w.call(authed("DELETE", "/sub-accounts/staff02a", &admin))
            .await
            .0,
        204
    );
    assert_eq!(
        w.sign_in(PARENT, "staff02a", "Newpass99").await.0,
        401,
        "deleted accounts cannot sign in"
    );
    let (_, active) = w.call(authed("GET", "/sub-accounts", &admin)).await;
    let names: Vec<&str> = active["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cashier01", "clerk01", "manager01"]);
    let (_, deleted) = w
        .call(authed("GET", "/sub-accounts?deleted=true", &admin))
        .await;
    assert_eq!(deleted["items"][0]["account"], "staff02a");
    assert!(deleted["items"][0]["deleted_at"].is_string());
    assert_eq!(
        w.call(authed("DELETE", "/sub-accounts/staff02a", &admin))
            .await
            .0,
        404
    );

    let (status, history) = w
        .call(authed("GET", "/sub-accounts/staff02a/history", &admin))
        .await;
    assert_eq!(status, 200);
    let actions = tessera_tests::history_actions(&history);
    assert_eq!(
        actions,
        ["created", "remark_changed", "password_changed", "deleted"]
    );
    assert_eq!(
        history["items"][1]["changes"],
        json!({"before": "晚班", "after": "早班"})
    );
    assert_eq!(history["items"][0]["by_account"], "admin");
    assert!(!history.to_string().contains("Newpass99") && !history.to_string().contains("argon2"));
}

#[tokio::test]
async fn bad_sub_account_input_names_every_field_and_stores_nothing() {
    let w = world().await;
    let admin = w.admin().await;
    let (status, body) = w
        .call(json_request(
            "POST",
            "/sub-accounts",
            Some(&admin),
            json!({"account": "abc", "password": "onlyletters", "remark": "x".repeat(21)}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    let fields = tessera_tests::error_fields(&body);
    assert_eq!(fields, ["account", "password", "remark"]);

    let (status, body) = w
        .call(json_request("POST", "/sub-accounts", Some(&admin), json!({"account": "good01x", "password": "Good2026", "rights": {"teleport": {"query": true}}})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    assert!(
        body["errors"][0]["field"]
            .as_str()
            .unwrap()
            .starts_with("rights"),
        "{body}"
    );

    let (status, body) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/cashier01/remark",
            Some(&admin),
            json!({"remark": "店".repeat(21)}),
        ))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("remark"))
    );
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/cashier01/password",
            Some(&admin),
            json!({"password": "short1"}),
        ))
        .await;
    assert_eq!(
        status, 204,
        "6 characters mixing letters and digits is allowed: {body}"
    );
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/cashier01/password",
            Some(&admin),
            json!({"password": "12345678"}),
        ))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("password"))
    );

    let (_, list) = w.call(authed("GET", "/sub-accounts", &admin)).await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        3,
        "nothing was created"
    );
    let (_, cashier) = w
        .call(authed("GET", "/sub-accounts/cashier01/history", &admin))
        .await;
    let actions = tessera_tests::history_actions(&cashier);
    assert_eq!(
        actions,
        ["created", "bound", "password_changed"],
        "refused changes leave no history (the seed bound the cashier to TPE01)"
    );
}

#[tokio::test]
async fn sub_accounts_get_403_naming_the_right_and_rights_changes_apply_at_once() {
    let w = world().await;
    let admin = w.admin().await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;

    let (status, body) = w.call(authed("GET", "/sub-accounts", &cashier)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ADMIN_ONLY")));
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/sub-accounts/manager01/rights",
            Some(&cashier),
            json!({"rights": {}}),
        ))
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("ADMIN_ONLY")));

    let (status, body) = w.call(authed("GET", "/login-history", &cashier)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    assert!(
        body["detail"].as_str().unwrap().contains("login_history"),
        "{body}"
    );

    // Granting the right works for the token the cashier already holds.
    let grant = json!({"rights": {"login_history": {"query": true}}});
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/sub-accounts/cashier01/rights",
            Some(&admin),
            grant
        ))
        .await
        .0,
        200
    );
    assert_eq!(
        w.call(authed("GET", "/login-history", &cashier)).await.0,
        200
    );
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/sub-accounts/cashier01/rights",
            Some(&admin),
            json!({"rights": {}})
        ))
        .await
        .0,
        200
    );
    assert_eq!(
        w.call(authed("GET", "/login-history", &cashier)).await.0,
        403
    );

    // Deleting the account ends its sessions.
    assert_eq!(
        w.call(authed("DELETE", "/sub-accounts/cashier01", &admin))
            .await
            .0,
        204
    );
    let (status, body) = w.call(authed("GET", "/login-history", &cashier)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("SESSION_EXPIRED"))
    );
}

#[tokio::test]
async fn another_tenants_accounts_are_not_found() {
    let w = world().await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    for (method, path, body) in [
        ("DELETE", "/sub-accounts/cashier01", json!({})),
        (
            "PUT",
            "/sub-accounts/cashier01/rights",
            json!({"rights": {}}),
        ),
        (
            "PUT",
            "/sub-accounts/cashier01/remark",
            json!({"remark": "x"}),
        ),
        (
            "PUT",
            "/sub-accounts/cashier01/password",
            json!({"password": "Hijack2026"}),
        ),
        ("GET", "/sub-accounts/cashier01/history", json!({})),
    ] {
        let (status, problem) = w
            .call(json_request(method, path, Some(&partner), body))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("ACCOUNT_NOT_FOUND")),
            "{method} {path}"
        );
    }
    let (_, list) = w.call(authed("GET", "/sub-accounts", &partner)).await;
    assert_eq!(list["items"], json!([]));
    // The cashier still signs in with its own password.
    assert_eq!(w.sign_in(PARENT, "cashier01", STAFF_PASSWORD).await.0, 201);
}

#[tokio::test]
async fn a_parent_switches_into_its_child_and_back_but_nowhere_else() {
    let w = world().await;
    let admin = w.admin().await;
    let (status, body) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&admin),
            json!({"merchant_id": PARTNER}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("MERCHANT_NOT_FOUND"))
    );

    let (status, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&admin),
            json!({"merchant_id": CHILD}),
        ))
        .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["acting_as"], CHILD);
    let child_token = switched["token"].as_str().unwrap().to_owned();

    // Acting as the child, the admin manages the child's accounts, not the parent's.
    let (_, list) = w.call(authed("GET", "/sub-accounts", &child_token)).await;
    assert_eq!(list["items"], json!([]));
    let create = json!({"account": "child01a", "password": "Child2026"});
    assert_eq!(
        w.call(json_request(
            "POST",
            "/sub-accounts",
            Some(&child_token),
            create
        ))
        .await
        .0,
        201
    );
    assert_eq!(w.sign_in(CHILD, "child01a", "Child2026").await.0, 201);
    assert_eq!(w.sign_in(PARENT, "child01a", "Child2026").await.0, 401);

    let (status, back) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&child_token),
            json!({"merchant_id": PARENT}),
        ))
        .await;
    assert_eq!((status, back["acting_as"].as_str()), (200, Some(PARENT)));
    let (_, list) = w
        .call(authed(
            "GET",
            "/sub-accounts",
            back["token"].as_str().unwrap(),
        ))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);

    // A child's admin cannot switch into its parent.
    let child_admin = w.token(CHILD, "admin", ADMIN_PASSWORD).await;
    let (status, _) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&child_admin),
            json!({"merchant_id": PARENT}),
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn changing_ones_own_password_checks_the_current_one_and_the_rule() {
    let w = world().await;
    let admin = w.admin().await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/account/password",
            Some(&admin),
            change("Wrong#1", "Better#2027"),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CURRENT_PASSWORD_WRONG"))
    );
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/account/password",
            Some(&admin),
            change(ADMIN_PASSWORD, "onlyletters"),
        ))
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("new_password"))
    );
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/account/password",
            Some(&admin),
            change(ADMIN_PASSWORD, "Better#2027")
        ))
        .await
        .0,
        204
    );
    assert_eq!(w.sign_in(PARENT, "admin", ADMIN_PASSWORD).await.0, 401);
    assert_eq!(w.sign_in(PARENT, "admin", "Better#2027").await.0, 201);

    // Sub-accounts follow their own rule: letters and digits only.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/account/password",
            Some(&cashier),
            change(STAFF_PASSWORD, "Symbol#2027"),
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/account/password",
            Some(&cashier),
            change(STAFF_PASSWORD, "Plain2027")
        ))
        .await
        .0,
        204
    );
}

impl World {
    /// A sign-in from `address` with `user_agent`.
    async fn sign_in_from(
        &self,
        address: &str,
        user_agent: &str,
        account: &str,
        password: &str,
    ) -> (u16, Value) {
        let mut request = json_request(
            "POST",
            "/sessions",
            None,
            json!({"merchant_id": PARENT, "account": account, "password": password}),
        );
        let headers = request.headers_mut();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        headers.insert("user-agent", user_agent.parse().unwrap());
        self.call(request).await
    }

    /// The account's login records that failed for `failure` (read from the store: the
    /// login-history screen shows only the latest 50).
    async fn failures_of(&self, account: &str, failure: &str) -> usize {
        let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
        self.services
            .table
            .list_logins(&merchant, 500)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.account == account && r.failure.as_deref() == Some(failure))
            .count()
    }
}

/// Guesses sent all at once cannot get past the lock: each takes one of the five attempts
/// before its password is checked (issue 15 part 4).
#[tokio::test]
async fn fifty_parallel_wrong_passwords_have_at_most_five_checked() {
    let w = world().await;
    let attempts = (0..50).map(|n| {
        let w = &w;
        async move {
            w.sign_in_from(
                &format!("198.51.100.{n}"),
                "Guesser",
                "cashier01",
                "Wrong2026",
            )
            .await
            .0
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    // Four wrong answers, the fifth locks, the other 45 are refused unchecked.
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 423).count(),
        46,
        "{statuses:?}"
    );
    assert_eq!(w.failures_of("cashier01", "invalid_credentials").await, 5);
}

/// Guesses from elsewhere lock the account for every device but the ones it signed in from
/// before: a known till keeps its own five attempts (decision 0016).
#[tokio::test]
async fn a_known_till_is_not_locked_out_by_guesses_from_elsewhere() {
    let w = world().await;
    let till = "TillTablet/1.0";
    assert_eq!(
        w.sign_in_from("203.0.113.1", till, "cashier01", STAFF_PASSWORD)
            .await
            .0,
        201
    );
    for _ in 0..5 {
        w.sign_in_from("198.51.100.9", "Guesser", "cashier01", "Wrong2026")
            .await;
    }
    let (status, body) = w
        .sign_in_from("198.51.100.9", "Guesser", "cashier01", STAFF_PASSWORD)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (423, Some("ACCOUNT_LOCKED"))
    );
    assert_eq!(
        w.sign_in_from("203.0.113.1", till, "cashier01", STAFF_PASSWORD)
            .await
            .0,
        201
    );
    // The till's own wrong guesses lock the till.
    for _ in 0..5 {
        w.sign_in_from("203.0.113.1", till, "cashier01", "Wrong2026")
            .await;
    }
    assert_eq!(
        w.sign_in_from("203.0.113.1", till, "cashier01", STAFF_PASSWORD)
            .await
            .0,
        423
    );
}

/// One address gets 20 sign-in attempts a minute, whatever the accounts; then 429 with
/// Retry-After, before any account is looked at. Others are not held up.
#[tokio::test]
async fn one_address_gets_twenty_sign_in_attempts_a_minute() {
    let w = world().await;
    for n in 0..20 {
        let account = format!("nobody{n:02}");
        let (status, _) = w
            .sign_in_from("192.0.2.50", "Script", &account, "Nope2026x")
            .await;
        assert_ne!(status, 429, "attempt {n}");
    }
    let mut request = json_request(
        "POST",
        "/sessions",
        None,
        json!({"merchant_id": PARENT, "account": "admin", "password": ADMIN_PASSWORD}),
    );
    request
        .headers_mut()
        .insert("x-forwarded-for", "192.0.2.50".parse().unwrap());
    let response = tessera_tests::send(&w.gateway, request).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "60");
    assert_eq!(
        w.sign_in_from("192.0.2.51", "Browser", "admin", ADMIN_PASSWORD)
            .await
            .0,
        201
    );
    w.clock.advance(Duration::minutes(1));
    assert_eq!(
        w.sign_in_from("192.0.2.50", "Script", "admin", ADMIN_PASSWORD)
            .await
            .0,
        201
    );
}
