//! Issued orders and transfers at the back office (§7-3 C, K): change of buyer and resend
//! per delivery type with their refusals, the transfer records and cancel transfer, the SMS
//! log by reason, and who may see what.

use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{authed, json_request, seeded, IssueRow, Seeded};

struct World {
    base: Seeded,
    admin: String,
    goods: String,
}
tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let body =
        json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 30, "face_value": 120});
    let (status, product) = base
        .call(json_request("POST", "/products", Some(&admin), body))
        .await;
    assert_eq!(status, 201, "{product}");
    // Texts on, so the SMS log records why each was sent.
    let settings = json!({"sms_enabled": true, "consumer_returns_enabled": false});
    let (status, body) = base
        .call(json_request(
            "PUT",
            "/merchant/operation-settings",
            Some(&admin),
            settings,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let goods = product["product_id"].as_str().unwrap().to_owned();
    World { base, admin, goods }
}

fn address(name: &str) -> String {
    format!("{name}-{}@demo.com.tw", uuid::Uuid::new_v4().simple())
}

fn token_in(mail: &str) -> String {
    let at = mail.find("/t/").expect("a ticket link in the mail") + 3;
    mail[at..at + 40].to_owned()
}

impl World {
    /// Issues `quantity` goods vouchers of a paid order to `email` by `method`.
    async fn issue_by(
        &self,
        method: &str,
        import_no: &str,
        quantity: u32,
        email: &str,
    ) -> Vec<tessera_platform::store::tickets::Ticket> {
        let trade_no = format!("T{import_no}");
        self.record_order(
            &self.admin,
            &trade_no,
            &self.goods,
            120 * u64::from(quantity),
            quantity,
        )
        .await;
        let row = IssueRow::new(import_no, &self.goods, quantity)
            .paid_by(&trade_no)
            .mailed_to(email);
        self.issue(&self.admin, PARENT, method, &[row])
            .await
            .remove(0)
    }

    async fn keyed(&self, method: &str, uri: &str, token: &str, body: Value) -> (u16, Value) {
        let mut request = json_request(method, uri, Some(token), body);
        let key = format!("k{}", uuid::Uuid::new_v4().simple());
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        self.call(request).await
    }

    async fn change_buyer(&self, import_no: &str, buyer: Value) -> (u16, Value) {
        self.keyed(
            "PUT",
            &format!("/issued-orders/{import_no}/buyer"),
            &self.admin,
            buyer,
        )
        .await
    }

    async fn wallet(&self, token: &str) -> (u16, Value) {
        self.call(json_request(
            "GET",
            &format!("/wallet/{token}"),
            None,
            Value::Null,
        ))
        .await
    }

    async fn link_of(&self, import_no: &str) -> String {
        let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
        self.services
            .table
            .get_issued_order(&merchant, import_no)
            .await
            .unwrap()
            .unwrap()
            .link_token
            .unwrap()
    }
}

#[tokio::test]
async fn an_electronic_orders_buyer_changes_only_while_nothing_is_given_and_the_old_link_dies() {
    let w = world().await;
    let (ming, hua) = (address("ming"), address("hua"));
    let tickets = w.issue_by("electronic_immediate", "EBUY1", 2, &ming).await;
    let old_link = w.link_of("EBUY1").await;

    // Given away: the buyer cannot change.
    let friend = json!({"name": "林小美", "mobile": "0922333444", "email": address("friend")});
    let (status, transfer) = w
        .keyed(
            "POST",
            &format!("/wallet/{old_link}/transfers"),
            &w.admin,
            json!({"ticket_nos": [tickets[0].ticket_no], "recipient": friend}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    let transfer_id = transfer["transfer_id"].as_str().unwrap().to_owned();
    let new_buyer = json!({"name": "陳小華", "mobile": "0933000111", "email": hua});
    let (status, problem) = w.change_buyer("EBUY1", new_buyer.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("ORDER_TICKETS_TRANSFERRED"))
    );

    // The transfer records list it; cancelling gives the ticket back, once.
    let (status, records) = w
        .call(authed(
            "GET",
            "/reports/transfers?from=2026-11-01&to=2027-01-31",
            &w.admin,
        ))
        .await;
    assert_eq!(status, 200, "{records}");
    let rows = records["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["transfer_id"] == transfer_id.as_str() && r["status"] == "轉贈中"),
        "{records}"
    );
    let (status, cancelled) = w
        .keyed(
            "POST",
            &format!("/transfers/{transfer_id}/cancel"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["still_given"], 0);
    let (status, problem) = w
        .keyed(
            "POST",
            &format!("/transfers/{transfer_id}/cancel"),
            &w.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("TRANSFER_NOT_ACTIVE"))
    );
    let (_, history) = w
        .call(authed(
            "GET",
            &format!("/transfers/{transfer_id}/history"),
            &w.admin,
        ))
        .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["transfer", "cancel_transfer"]);
    let (_, page) = w.wallet(&old_link).await;
    assert_eq!(
        page["tickets"].as_array().unwrap().len(),
        2,
        "both back with the buyer"
    );

    // Now the buyer changes: a new page for the new buyer, the old link leads nowhere,
    // the old buyer is told by mail, and the tickets follow.
    let (status, order) = w.change_buyer("EBUY1", new_buyer).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["buyer"]["name"], "陳小華");
    assert_eq!(w.wallet(&old_link).await.0, 404);
    w.deliver_notifications().await;
    let to_new = tessera_tests::mail_to(&hua).await;
    assert_eq!(to_new.len(), 1, "{to_new:?}");
    let new_link = token_in(&to_new[0].1);
    assert_eq!(new_link, w.link_of("EBUY1").await);
    let (status, page) = w.wallet(&new_link).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["holder_name"], "陳小華");
    let to_old = tessera_tests::mail_to(&ming).await;
    assert!(
        to_old
            .iter()
            .any(|(subject, _)| subject.contains("購買人已變更")),
        "{to_old:?}"
    );
    let stored = w
        .services
        .table
        .get_ticket(&tickets[1].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stored.buyer.name.as_str(), stored.holder.name.as_str()),
        ("陳小華", "陳小華")
    );
    let (_, history) = w
        .call(authed("GET", "/issued-orders/EBUY1/history", &w.admin))
        .await;
    assert_eq!(tessera_tests::history_actions(&history), ["change_buyer"]);

    // Resend: to the buyer in force, always, and the SMS log tells each text's reason.
    let (status, _) = w
        .keyed("POST", "/issued-orders/EBUY1/resend", &w.admin, json!({}))
        .await;
    assert_eq!(status, 200);
    w.deliver_notifications().await;
    assert_eq!(tessera_tests::mail_to(&hua).await.len(), 2);
    for (purpose, label) in [("change_buyer", "變更購買人通知"), ("resend", "補發通知")]
    {
        let (status, log) = w
            .call(authed(
                "GET",
                &format!("/reports/sms-log?from=2026-11-01&to=2027-01-31&buyer=0933000111&purpose={purpose}"),
                &w.admin,
            ))
            .await;
        assert_eq!(status, 200, "{log}");
        let rows = log["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{purpose}: {log}");
        assert_eq!(rows[0]["purpose"], label);
    }
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/sms-log?from=2026-11-01&to=2027-01-31&purpose=spam",
            &w.admin,
        ))
        .await;
    assert_eq!(
        (status, tessera_tests::error_fields(&problem)),
        (400, vec!["purpose".to_owned()])
    );
}

#[tokio::test]
async fn ibon_gets_a_new_pickup_code_and_paper_changes_silently_until_printed() {
    let w = world().await;
    let (first, second) = (address("ibon-first"), address("ibon-second"));
    let ibon = w.issue_by("ibon", "IBUY1", 1, &first).await;
    let old_code = ibon[0].pickup_code.clone().unwrap();
    let (status, order) = w
        .change_buyer(
            "IBUY1",
            json!({"name": "陳小華", "mobile": "0933000111", "email": second}),
        )
        .await;
    assert_eq!(status, 200, "{order}");
    let new_code = order["pickup_code"].as_str().unwrap().to_owned();
    assert_ne!(new_code, old_code);
    w.deliver_notifications().await;
    assert!(tessera_tests::mail_to(&second).await[0]
        .1
        .contains(&new_code));
    assert!(tessera_tests::mail_to(&first)
        .await
        .iter()
        .any(|(s, _)| s.contains("購買人已變更")));
    let stored = w
        .services
        .table
        .get_ticket(&ibon[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.pickup_code.as_deref(),
        Some(new_code.as_str()),
        "the ticket follows"
    );

    // Paper printed by the merchant: the buyer changes without a word to anyone...
    let paper_mail = address("paper");
    let paper = w
        .issue_by("paper_by_merchant", "PBUY1", 1, &paper_mail)
        .await;
    let (status, _) = w
        .change_buyer("PBUY1", json!({"name": "陳小華", "mobile": "0933000111"}))
        .await;
    assert_eq!(status, 200);
    let (status, problem) = w
        .keyed("POST", "/issued-orders/PBUY1/resend", &w.admin, json!({}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("RESEND_NOT_OFFERED"))
    );
    // ...until it is printed.
    let mut printed = w
        .services
        .table
        .get_ticket(&paper[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    let read = printed.version;
    printed.print_count = 1;
    let mut change = tessera_domain::ticket::TicketChange {
        entries: vec![tessera_platform::store::tickets::issued_entry(&printed)],
        ticket: printed,
        report: None,
        events: Vec::new(),
    };
    change.entries[0].action = "printed".to_owned();
    let writes = tessera_platform::store::tickets::ticket_change_writes(read, &mut change).unwrap();
    w.services
        .table
        .transact(writes, tessera_domain::ErrorCode::ConcurrentChange)
        .await
        .unwrap();
    let (status, problem) = w
        .change_buyer("PBUY1", json!({"name": "再一次", "mobile": "0933000222"}))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("ORDER_TICKETS_PRINTED"))
    );
    w.deliver_notifications().await;
    assert!(
        tessera_tests::mail_to(&paper_mail).await.is_empty(),
        "paper sends nothing"
    );

    // The issued orders, found by delivery, by order number and by buyer.
    for (query, expected) in [
        ("&delivery_method=ibon", vec!["IBUY1"]),
        ("&order_no=PBUY1", vec!["PBUY1"]),
        ("&order_no=TIBUY1", vec!["IBUY1"]),
        (
            "&buyer=0933000111&delivery_method=paper_by_merchant",
            vec!["PBUY1"],
        ),
    ] {
        let (status, page) = w
            .call(authed(
                "GET",
                &format!("/reports/issued-orders?from=2026-11-01&to=2027-01-31{query}"),
                &w.admin,
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let found: Vec<&str> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["import_no"].as_str().unwrap())
            .collect();
        assert_eq!(found, expected, "{query}");
    }
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/issued-orders?from=2026-11-01&to=2027-01-31&delivery_method=fax",
            &w.admin,
        ))
        .await;
    assert_eq!(
        (status, tessera_tests::error_fields(&problem)),
        (400, vec!["delivery_method".to_owned()])
    );

    // An electronic change needs the new buyer's address; every field is checked.
    w.issue_by("electronic_immediate", "EBUY2", 1, &address("e2"))
        .await;
    let (status, problem) = w
        .change_buyer("EBUY2", json!({"name": "", "mobile": "12", "email": null}))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        tessera_tests::error_fields(&problem),
        ["buyer.name", "buyer.mobile", "buyer.email"]
    );
}

#[tokio::test]
async fn orders_and_transfers_are_seen_only_by_their_merchant_branch_and_rights() {
    let w = world().await;
    let tickets = w
        .issue_by("electronic_immediate", "SEE1", 1, &address("see"))
        .await;
    let link = w.link_of("SEE1").await;
    let friend = json!({"name": "林小美", "mobile": "0922333444", "email": address("friend")});
    let (_, transfer) = w
        .keyed(
            "POST",
            &format!("/wallet/{link}/transfers"),
            &w.admin,
            json!({"ticket_nos": [tickets[0].ticket_no], "recipient": friend}),
        )
        .await;
    let transfer_id = transfer["transfer_id"].as_str().unwrap().to_owned();
    let order_uri = "/issued-orders/SEE1";
    let transfer_uri = format!("/transfers/{transfer_id}");
    let (status, order) = w.call(authed("GET", order_uri, &w.admin)).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["tickets"][0]["transfer_id"], transfer_id.as_str());
    assert_eq!(order["allowed"], json!(["resend"]));

    // Another merchant: not found.
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        w.call(authed("GET", order_uri, &partner)).await.1["code"],
        "ISSUED_ORDER_NOT_FOUND"
    );
    assert_eq!(
        w.call(authed("GET", &transfer_uri, &partner)).await.1["code"],
        "TRANSFER_NOT_FOUND"
    );
    let (status, _) = w
        .keyed(
            "POST",
            &format!("{transfer_uri}/cancel"),
            &partner,
            json!({}),
        )
        .await;
    assert_eq!(status, 404);
    // Without the right: refused, naming it.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w.call(authed("GET", order_uri, &cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    // Read-only: sees, cannot change.
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    assert_eq!(w.call(authed("GET", &transfer_uri, &manager)).await.0, 200);
    let (status, problem) = w.change_buyer_as(&manager, "SEE1").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    // Bound to a branch: head office's orders and transfers are not its own.
    let bind = json!({"branch_code": "KHH01", "accounts": ["manager01"]});
    let (status, body) = w
        .call(json_request(
            "PUT",
            "/branch-bindings",
            Some(&w.admin),
            bind,
        ))
        .await;
    assert_eq!(status, 204, "{body}");
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    assert_eq!(w.call(authed("GET", order_uri, &manager)).await.0, 404);
    assert_eq!(w.call(authed("GET", &transfer_uri, &manager)).await.0, 404);
    let (_, records) = w
        .call(authed(
            "GET",
            "/reports/transfers?from=2026-11-01&to=2027-01-31",
            &manager,
        ))
        .await;
    assert_eq!(records["rows"], json!([]), "{records}");
}

impl World {
    async fn change_buyer_as(&self, token: &str, import_no: &str) -> (u16, Value) {
        self.keyed(
            "PUT",
            &format!("/issued-orders/{import_no}/buyer"),
            token,
            json!({"name": "陳新", "mobile": "0933000111", "email": "new@demo.com.tw"}),
        )
        .await
    }
}
