//! Branches and sub-account binding (§7-1) through the gateway against the local AWS.

use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::access::{require_operational_branch, Attribution};
use tessera_domain::clock::FixedClock;
use tessera_domain::values::BranchCode;
use tessera_domain::ErrorCode;
use tessera_platform::services::Services;
use tessera_tests::{authed, json_request, send, test_start, TestStack};

struct World {
    services: Services,
    gateway: Router,
    _stack: TestStack,
}

async fn world() -> World {
    let stack = TestStack::provision().await;
    let clock = Arc::new(FixedClock::at(test_start()));
    let services = stack.services(clock.clone());
    tessera_dev::seed::seed_demo(&services).await.unwrap();
    World {
        gateway: stack.gateway(clock),
        services,
        _stack: stack,
    }
}

impl World {
    async fn call(&self, request: axum::http::Request<axum::body::Body>) -> (u16, Value) {
        let response = send(&self.gateway, request).await;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            },
        )
    }

    async fn token(&self, merchant: &str, account: &str, password: &str) -> String {
        let body = json!({"merchant_id": merchant, "account": account, "password": password});
        let (status, session) = self
            .call(json_request("POST", "/sessions", None, body))
            .await;
        assert_eq!(status, 201, "{session}");
        session["token"].as_str().unwrap().to_owned()
    }

    async fn bindings(&self, token: &str) -> Vec<(String, String)> {
        let (status, list) = self.call(authed("GET", "/branch-bindings", token)).await;
        assert_eq!(status, 200);
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["account"].as_str().unwrap().to_owned(),
                    b["branch_code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn branches_are_created_with_unique_immutable_codes_and_history() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let create = json!({"code": "TCH01", "name": "台中店", "address": "台中市西屯區", "phone": "04-2345-6789"});
    let (status, branch) = w
        .call(json_request("POST", "/branches", Some(&admin), create))
        .await;
    assert_eq!(status, 201, "{branch}");
    assert_eq!(branch["enabled"], true);

    let (status, problem) = w
        .call(json_request(
            "POST",
            "/branches",
            Some(&admin),
            json!({"code": "TCH01", "name": "另一家"}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("BRANCH_CODE_TAKEN"))
    );

    let (status, problem) = w
        .call(json_request(
            "POST",
            "/branches",
            Some(&admin),
            json!({"code": "台中", "name": "", "phone": "call"}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("VALIDATION_FAILED"))
    );
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["code", "name", "phone"]);

    let (status, problem) = w
        .call(json_request(
            "PATCH",
            "/branches/TCH01",
            Some(&admin),
            json!({"code": "TCH02"}),
        ))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("code"))
    );
    let (status, edited) = w
        .call(json_request(
            "PATCH",
            "/branches/TCH01",
            Some(&admin),
            json!({"name": "台中逢甲店", "enabled": false}),
        ))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["name"].as_str(), edited["enabled"].as_bool()),
        (Some("台中逢甲店"), Some(false))
    );
    assert_eq!(edited["code"], "TCH01");

    let (_, list) = w.call(authed("GET", "/branches", &admin)).await;
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["KHH01", "TCH01", "TPE01"],
        "the refused duplicate and bad branch were not stored"
    );

    let (status, history) = w
        .call(authed("GET", "/branches/TCH01/history", &admin))
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "edited"]);
    assert_eq!(history["items"][1]["changes"]["before"]["name"], "台中店");
    assert_eq!(history["items"][1]["changes"]["after"]["enabled"], false);
    assert_eq!(
        w.call(authed("GET", "/branches/NOPE/history", &admin))
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn sub_accounts_are_bound_rebound_and_unbound_all_or_nothing() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.bindings(&admin).await,
        [("cashier01".to_owned(), "TPE01".to_owned())]
    );

    // Re-bind the cashier and bind the manager to KHH01 in one request.
    let bind = json!({"branch_code": "KHH01", "accounts": ["cashier01", "manager01"]});
    assert_eq!(
        w.call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
            .await
            .0,
        204
    );
    assert_eq!(
        w.bindings(&admin).await,
        [
            ("cashier01".to_owned(), "KHH01".to_owned()),
            ("manager01".to_owned(), "KHH01".to_owned())
        ]
    );
    let (_, list) = w.call(authed("GET", "/branches", &admin)).await;
    let counts: Vec<(String, u64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["code"].as_str().unwrap().to_owned(),
                b["bound_accounts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [("KHH01".to_owned(), 2), ("TPE01".to_owned(), 0)]);

    // One bad account refuses the whole request.
    let bind = json!({"branch_code": "TPE01", "accounts": ["cashier01", "ghost01", "admin"]});
    let (status, problem) = w
        .call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
        .await;
    assert_eq!(status, 400);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["accounts[1]", "accounts[2]"],
        "unknown accounts and the admin cannot be bound"
    );
    assert_eq!(w.bindings(&admin).await.len(), 2);
    assert_eq!(w.bindings(&admin).await[0].1, "KHH01", "nothing changed");

    let bind = json!({"branch_code": "NOPE01", "accounts": ["cashier01"]});
    let (status, problem) = w
        .call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("BRANCH_NOT_FOUND"))
    );

    let unbind = json!({"accounts": ["cashier01", "manager01"]});
    assert_eq!(
        w.call(json_request(
            "POST",
            "/branch-bindings/unbind",
            Some(&admin),
            unbind
        ))
        .await
        .0,
        204
    );
    assert!(w.bindings(&admin).await.is_empty());

    let (_, history) = w
        .call(authed("GET", "/sub-accounts/cashier01/history", &admin))
        .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "bound", "bound", "unbound"]);
    assert_eq!(
        history["items"][2]["changes"]["branch"],
        json!({"before": "TPE01", "after": "KHH01"})
    );
}

#[tokio::test]
async fn branch_rights_are_checked_and_other_tenants_branches_are_not_found() {
    let w = world().await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await; // query rights everywhere
    assert_eq!(w.call(authed("GET", "/branches", &manager)).await.0, 200);
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/branches",
            Some(&manager),
            json!({"code": "X1", "name": "x"}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("modify right of branches"));
    let unbind = json!({"accounts": ["cashier01"]});
    assert_eq!(
        w.call(json_request(
            "POST",
            "/branch-bindings/unbind",
            Some(&manager),
            unbind
        ))
        .await
        .0,
        403
    );

    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await; // no branches right
    let (status, problem) = w.call(authed("GET", "/branch-bindings", &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );

    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (_, list) = w.call(authed("GET", "/branches", &partner)).await;
    assert_eq!(list["items"], json!([]));
    for (method, path, body) in [
        ("PATCH", "/branches/TPE01", json!({"enabled": false})),
        ("GET", "/branches/TPE01/history", json!({})),
        (
            "PUT",
            "/branch-bindings",
            json!({"branch_code": "TPE01", "accounts": ["cashier01"]}),
        ),
    ] {
        let (status, problem) = w
            .call(json_request(method, path, Some(&partner), body))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("BRANCH_NOT_FOUND")),
            "{method} {path}"
        );
    }
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (_, list) = w.call(authed("GET", "/branches", &admin)).await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["enabled"] == true),
        "the partner changed nothing"
    );
}

#[tokio::test]
async fn bound_staff_act_for_their_branch_and_a_disabled_branch_stops_ticket_operations() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let authenticator = w.services.authenticator();

    let (actor, _) = authenticator.authenticate(&cashier).await.unwrap();
    assert_eq!(
        actor.attribution(),
        Attribution::Branch(BranchCode::parse("b", "TPE01").unwrap())
    );
    assert!(require_operational_branch(&actor).is_ok());
    let (unbound, _) = authenticator.authenticate(&manager).await.unwrap();
    assert_eq!(unbound.attribution(), Attribution::HeadOffice);

    assert_eq!(
        w.call(json_request(
            "PATCH",
            "/branches/TPE01",
            Some(&admin),
            json!({"enabled": false})
        ))
        .await
        .0,
        200
    );
    // The same token, next request: the branch is now disabled.
    let (actor, _) = authenticator.authenticate(&cashier).await.unwrap();
    assert_eq!(
        require_operational_branch(&actor).unwrap_err().code,
        ErrorCode::BranchDisabled
    );
    let (unbound, _) = authenticator.authenticate(&manager).await.unwrap();
    assert!(
        require_operational_branch(&unbound).is_ok(),
        "head office staff are unaffected"
    );

    assert_eq!(
        w.call(json_request(
            "PATCH",
            "/branches/TPE01",
            Some(&admin),
            json!({"enabled": true})
        ))
        .await
        .0,
        200
    );
    let (actor, _) = authenticator.authenticate(&cashier).await.unwrap();
    assert!(require_operational_branch(&actor).is_ok());
}
