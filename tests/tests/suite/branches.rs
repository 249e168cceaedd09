//! Branches and sub-account binding (§7-1) through the gateway against the local AWS.

use serde_json::json;
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::access::{require_operational_branch, Attribution};
use tessera_domain::values::BranchCode;
use tessera_domain::ErrorCode;
use tessera_tests::{authed, json_request};

tessera_tests::seeded_world!();

impl World {
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
    let fields = tessera_tests::error_fields(&problem);
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
    let actions = tessera_tests::history_actions(&history);
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
    let fields = tessera_tests::error_fields(&problem);
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
    let actions = tessera_tests::history_actions(&history);
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
    let authenticator = w.services.authenticator().unwrap();

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

#[tokio::test]
async fn a_parent_reads_a_childs_branches_but_must_switch_to_change_them() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let child = tessera_dev::seed::CHILD;
    let (status, list) = w
        .call(authed(
            "GET",
            &format!("/branches?merchant_id={child}"),
            &admin,
        ))
        .await;
    assert_eq!((status, list["items"].clone()), (200, json!([])));

    let create = json!({"code": "CHD01", "name": "子商店一號店"});
    let (status, problem) = w
        .call(json_request(
            "POST",
            &format!("/branches?merchant_id={child}"),
            Some(&admin),
            create.clone(),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("SWITCH_REQUIRED"))
    );
    assert!(problem["detail"].as_str().unwrap().contains(child));
    let unbind = json!({"accounts": ["cashier01"]});
    let (status, problem) = w
        .call(json_request(
            "POST",
            &format!("/branch-bindings/unbind?merchant_id={child}"),
            Some(&admin),
            unbind,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("SWITCH_REQUIRED"))
    );

    // Not a child: not found, whatever the method.
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/branches?merchant_id={PARTNER}"),
            &admin,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("BRANCH_NOT_FOUND"))
    );
    let (status, problem) = w
        .call(authed("GET", "/branches?merchant_id=bad!", &admin))
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("merchant_id"))
    );

    // After switching, the same request creates the child's branch.
    let (_, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&admin),
            json!({"merchant_id": child}),
        ))
        .await;
    let as_child = switched["token"].as_str().unwrap().to_owned();
    assert_eq!(
        w.call(json_request("POST", "/branches", Some(&as_child), create))
            .await
            .0,
        201
    );
    // Switched into the child, the parent's branches are out of reach.
    let (status, _) = w
        .call(authed(
            "GET",
            &format!("/branches?merchant_id={PARENT}"),
            &as_child,
        ))
        .await;
    assert_eq!(status, 404);
    let (_, back) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&as_child),
            json!({"merchant_id": PARENT}),
        ))
        .await;
    let (_, list) = w
        .call(authed(
            "GET",
            &format!("/branches?merchant_id={child}"),
            back["token"].as_str().unwrap(),
        ))
        .await;
    assert_eq!(list["items"][0]["code"], "CHD01");
}

#[tokio::test]
async fn a_bound_sub_account_sees_and_acts_for_its_own_branch_only() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let grant = json!({"rights": {"branches": {"query": true, "modify": true}}});
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
    let manager_to_khh = json!({"branch_code": "KHH01", "accounts": ["manager01"]});
    assert_eq!(
        w.call(json_request(
            "PUT",
            "/branch-bindings",
            Some(&admin),
            manager_to_khh
        ))
        .await
        .0,
        204
    );

    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await; // bound to TPE01
    let (_, list) = w.call(authed("GET", "/branches", &cashier)).await;
    let codes: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["TPE01"]);
    assert_eq!(
        w.bindings(&cashier).await,
        [("cashier01".to_owned(), "TPE01".to_owned())]
    );

    for (method, path, body) in [
        ("GET", "/branches/KHH01/history", json!({})),
        ("PATCH", "/branches/KHH01", json!({"enabled": false})),
        (
            "POST",
            "/branches",
            json!({"code": "NEW01", "name": "新店"}),
        ),
        (
            "PUT",
            "/branch-bindings",
            json!({"branch_code": "KHH01", "accounts": ["cashier01"]}),
        ),
        (
            "POST",
            "/branch-bindings/unbind",
            json!({"accounts": ["manager01"]}),
        ),
    ] {
        let (status, problem) = w
            .call(json_request(method, path, Some(&cashier), body))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (403, Some("OTHER_BRANCH")),
            "{method} {path}: {problem}"
        );
    }
    assert_eq!(
        w.call(json_request(
            "PATCH",
            "/branches/TPE01",
            Some(&cashier),
            json!({"phone": "02-1111-2222"})
        ))
        .await
        .0,
        200
    );
    let (_, all) = w.call(authed("GET", "/branches", &admin)).await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["enabled"] == true),
        "KHH01 untouched"
    );
    assert_eq!(
        w.bindings(&admin).await.len(),
        2,
        "manager01 still bound to KHH01"
    );
}
