//! Redeemable stores and joint issuers (§7-1), from both sides, with the refusals.

use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{authed, json_request};

tessera_tests::seeded_world!();

impl World {
    async fn status_of(&self, token: &str, list: &str, other: &str) -> String {
        let (_, body) = self.call(authed("GET", list, token)).await;
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["merchant_id"] == other)
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    async fn set(&self, token: &str, store: &str, status: &str) -> (u16, Value) {
        self.call(json_request(
            "PUT",
            &format!("/redeemable-stores/{store}/status"),
            Some(token),
            json!({"status": status}),
        ))
        .await
    }
}

#[tokio::test]
async fn merchants_are_found_by_id_or_name_prefix_but_never_oneself() {
    let w = world().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, hits) = w
        .call(authed("GET", "/merchants/search?q=demo", &admin))
        .await;
    assert_eq!(status, 200, "{hits}");
    let ids: Vec<&str> = hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["merchant_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&CHILD) && ids.contains(&PARTNER) && !ids.contains(&PARENT),
        "{ids:?}"
    );
    let (_, by_id) = w
        .call(authed("GET", "/merchants/search?q=DEMO0003", &admin))
        .await;
    assert_eq!(by_id["items"][0]["merchant_id"], PARTNER);
    let (_, none) = w
        .call(authed("GET", "/merchants/search?q=zzz", &admin))
        .await;
    assert_eq!(none["items"], json!([]));
    let (status, problem) = w.call(authed("GET", "/merchants/search?q=", &admin)).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (400, Some("q"))
    );
}

#[tokio::test]
async fn the_relation_lifecycle_seen_from_both_sides() {
    let w = world().await;
    let issuer = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let store = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.status_of(&issuer, "/redeemable-stores", PARTNER).await,
        "open"
    );
    assert_eq!(w.status_of(&store, "/joint-issuers", PARENT).await, "open");

    let (status, problem) = w
        .call(json_request(
            "POST",
            "/redeemable-stores",
            Some(&issuer),
            json!({"merchant_id": PARTNER}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("RELATION_EXISTS"))
    );
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/redeemable-stores",
            Some(&issuer),
            json!({"merchant_id": PARENT}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("RELATION_WITH_SELF"))
    );
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/redeemable-stores",
            Some(&issuer),
            json!({"merchant_id": "NOSUCH01"}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("MERCHANT_NOT_FOUND"))
    );

    assert_eq!(
        w.set(&issuer, PARTNER, "open").await.1["code"],
        "RELATION_ALREADY_OPEN"
    );
    assert_eq!(w.set(&issuer, PARTNER, "unlinked").await.0, 200);
    assert_eq!(
        w.status_of(&store, "/joint-issuers", PARENT).await,
        "unlinked_by_issuer"
    );
    assert_eq!(
        w.set(&issuer, PARTNER, "open").await.0,
        200,
        "the issuer may re-open what it unlinked"
    );

    let (status, unlinked) = w
        .call(authed(
            "POST",
            &format!("/joint-issuers/{PARENT}/unlink"),
            &store,
        ))
        .await;
    assert_eq!(
        (status, unlinked["status"].as_str()),
        (200, Some("unlinked_by_store"))
    );
    assert_eq!(
        w.status_of(&issuer, "/redeemable-stores", PARTNER).await,
        "unlinked_by_store"
    );
    let (status, problem) = w.set(&issuer, PARTNER, "open").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("RELATION_BLOCKED_BY_STORE"))
    );
    assert!(problem["title_zh_tw"]
        .as_str()
        .unwrap()
        .contains("無法重新開啟"));
    assert_eq!(
        w.set(&issuer, PARTNER, "unlinked").await.1["code"],
        "RELATION_NOT_OPEN"
    );
    let (status, problem) = w
        .call(authed(
            "POST",
            &format!("/joint-issuers/{PARENT}/unlink"),
            &store,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("RELATION_NOT_OPEN"))
    );

    let actions = |history: &Value| -> Vec<(String, String)> {
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["by_merchant"].as_str().unwrap().to_owned(),
                    h["action"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let expected: Vec<(String, String)> = [
        (PARENT, "added"),
        (PARENT, "unlinked_by_issuer"),
        (PARENT, "reopened"),
        (PARTNER, "unlinked_by_store"),
    ]
    .iter()
    .map(|(m, a)| (m.to_string(), a.to_string()))
    .collect();
    let (_, issuer_side) = w
        .call(authed(
            "GET",
            &format!("/redeemable-stores/{PARTNER}/history"),
            &issuer,
        ))
        .await;
    let (_, store_side) = w
        .call(authed(
            "GET",
            &format!("/joint-issuers/{PARENT}/history"),
            &store,
        ))
        .await;
    assert_eq!(actions(&issuer_side), expected);
    assert_eq!(actions(&store_side), expected);
}

#[tokio::test]
async fn relations_in_both_directions_keep_separate_histories() {
    let w = world().await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    // The partner also makes the parent one of its redeemable stores.
    let (status, body) = w
        .call(json_request(
            "POST",
            "/redeemable-stores",
            Some(&partner),
            json!({"merchant_id": PARENT}),
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.status_of(&parent, "/joint-issuers", PARTNER).await,
        "open"
    );
    assert_eq!(
        w.status_of(&parent, "/redeemable-stores", PARTNER).await,
        "open"
    );
    let (_, as_store) = w
        .call(authed(
            "GET",
            &format!("/joint-issuers/{PARTNER}/history"),
            &parent,
        ))
        .await;
    let (_, as_issuer) = w
        .call(authed(
            "GET",
            &format!("/redeemable-stores/{PARTNER}/history"),
            &parent,
        ))
        .await;
    assert_eq!(as_store["items"].as_array().unwrap().len(), 1);
    assert_eq!(as_issuer["items"].as_array().unwrap().len(), 1);
    assert_eq!(as_store["items"][0]["by_merchant"], PARTNER);
    assert_eq!(as_issuer["items"][0]["by_merchant"], PARENT);
}

#[tokio::test]
async fn strangers_and_accounts_without_the_right_are_refused() {
    let w = world().await;
    // The child merchant is party to neither side of DEMO0001 → DEMO0003.
    let stranger = w.token(CHILD, "admin", ADMIN_PASSWORD).await;
    for (method, path, body) in [
        (
            "PUT",
            format!("/redeemable-stores/{PARTNER}/status"),
            json!({"status": "unlinked"}),
        ),
        (
            "GET",
            format!("/redeemable-stores/{PARTNER}/history"),
            json!({}),
        ),
        ("POST", format!("/joint-issuers/{PARENT}/unlink"), json!({})),
        ("GET", format!("/joint-issuers/{PARENT}/history"), json!({})),
    ] {
        let (status, problem) = w
            .call(json_request(method, &path, Some(&stranger), body))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("RELATION_NOT_FOUND")),
            "{method} {path}"
        );
    }
    let (_, issuers) = w.call(authed("GET", "/joint-issuers", &stranger)).await;
    assert_eq!(issuers["items"], json!([]));

    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w.call(authed("GET", "/redeemable-stores", &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    assert_eq!(
        w.call(authed("GET", "/redeemable-stores", &manager))
            .await
            .0,
        200
    );
    let (status, problem) = w.set(&manager, PARTNER, "unlinked").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.status_of(&parent, "/redeemable-stores", PARTNER).await,
        "open",
        "nothing changed"
    );
}
