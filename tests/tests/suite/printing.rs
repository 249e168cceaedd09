//! Paper printing (§7-3 D): the merchant's paper tickets listed, printed (and reprinted) as
//! print-ready pages whose QR codes hold the codes, each print in the ticket's history; the
//! test print; the platform's print run advanced by the operator; who may do what.

use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, OPERATOR, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_tests::{authed, body_text, json_request, seeded, send, IssueRow, Seeded};

struct World {
    base: Seeded,
    admin: String,
    gift: String,
}
tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let body = json!({"name": "生日禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 50, "usage_notes": "每張限用一次"});
    let (status, product) = base
        .call(json_request("POST", "/products", Some(&admin), body))
        .await;
    assert_eq!(status, 201, "{product}");
    let gift = product["product_id"].as_str().unwrap().to_owned();
    World { base, admin, gift }
}

impl World {
    async fn issue_paper(
        &self,
        method: &str,
        import_no: &str,
        quantity: u32,
    ) -> Vec<tessera_platform::store::tickets::Ticket> {
        let row = IssueRow::new(import_no, &self.gift, quantity);
        self.issue(&self.admin, PARENT, method, &[row])
            .await
            .remove(0)
    }

    /// POST /paper-tickets/print: status and the page (or problem) as text.
    async fn print(&self, token: &str, key: &str, ticket_nos: Value) -> (u16, String) {
        let mut request = json_request(
            "POST",
            "/paper-tickets/print",
            Some(token),
            json!({"ticket_nos": ticket_nos}),
        );
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        let response = send(&self.gateway, request).await;
        let status = response.status().as_u16();
        if status == 200 {
            assert!(response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert_eq!(response.headers()["cache-control"], "no-store");
        }
        (status, body_text(response).await)
    }

    async fn listed(&self, query: &str) -> Vec<Value> {
        let (status, page) = self
            .call(authed(
                "GET",
                &format!("/reports/paper-tickets?from=2026-11-01&to=2027-01-31{query}"),
                &self.admin,
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        page["rows"].as_array().unwrap().clone()
    }
}

fn code_of(problem: &str) -> String {
    serde_json::from_str::<Value>(problem).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn paper_tickets_print_as_pages_whose_codes_scan_and_every_print_is_recorded() {
    let w = world().await;
    let tickets = w.issue_paper("paper_by_merchant", "PRINT1", 2).await;
    let first = tickets[0].ticket_no.to_string();
    assert_eq!(w.listed("").await.len(), 2);
    assert_eq!(w.listed("&printed=false").await.len(), 2);
    assert!(w.listed("&printed=true").await.is_empty());

    // The page: one sheet per ticket, the QR code holding its redemption code.
    let (status, page) = w.print(&w.admin, "print-1", json!([first])).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        tessera_tests::qr_payloads(&page),
        [tickets[0].redemption_code.to_string()]
    );
    assert_eq!(page.matches("class=\"sheet\"").count(), 1);
    assert!(page.contains("生日禮券") && page.contains("每張限用一次") && page.contains(&first));
    // The same request again: the same page, and no second print.
    let (again, same) = w.print(&w.admin, "print-1", json!([first])).await;
    assert_eq!((again, &same), (200, &page));
    let stored = w
        .services
        .table
        .get_ticket(&tickets[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.print_count, 1);

    // A reprint says so, and the history tells each print.
    let (status, reprint) = w
        .print(&w.admin, "print-2", json!([first, tickets[1].ticket_no]))
        .await;
    assert_eq!(status, 200, "{reprint}");
    assert!(reprint.contains("第 2 次列印"));
    assert_eq!(reprint.matches("class=\"sheet\"").count(), 2);
    let (status, prints) = w
        .call(authed(
            "GET",
            &format!("/paper-tickets/{first}/prints"),
            &w.admin,
        ))
        .await;
    assert_eq!(status, 200, "{prints}");
    let items = prints["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|p| p["print"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(items[0]["by_account"], "admin");
    let printed = w.listed("&printed=true").await;
    assert_eq!(printed.len(), 2);
    let row = printed
        .iter()
        .find(|r| r["ticket_no"] == first.as_str())
        .unwrap();
    assert_eq!(row["print_count"], "2");
    // Printed: its buyer can no longer change.
    let mut change = json_request(
        "PUT",
        "/issued-orders/PRINT1/buyer",
        Some(&w.admin),
        json!({"name": "陳新", "mobile": "0933000111"}),
    );
    change
        .headers_mut()
        .insert("idempotency-key", "buyer-printed".parse().unwrap());
    let (status, problem) = w.call(change).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("ORDER_TICKETS_PRINTED"))
    );

    // The test print records nothing.
    let response = send(
        &w.gateway,
        authed("GET", "/paper-tickets/test-print", &w.admin),
    )
    .await;
    assert_eq!(response.status(), 200);
    let sample = body_text(response).await;
    assert_eq!(
        tessera_tests::qr_payloads(&sample),
        ["TESTPRINT00000000000"]
    );
    assert!(sample.contains("測試列印"));
}

#[tokio::test]
async fn printing_is_refused_to_the_wrong_tickets_and_accounts() {
    let w = world().await;
    let paper = w.issue_paper("paper_by_merchant", "PRINT2", 1).await;
    let platform = w.issue_paper("paper_by_platform", "PRINT3", 1).await;
    let no = paper[0].ticket_no.to_string();
    // Not the merchant's own printing; too many; a bad number.
    let (status, problem) = w
        .print(&w.admin, "p-platform", json!([platform[0].ticket_no]))
        .await;
    assert_eq!(
        (status, code_of(&problem)),
        (409, "TICKET_NOT_PRINTABLE".to_owned())
    );
    let many: Vec<String> = (0..31)
        .map(|n| format!("{:012}", 900_000_000_000u64 + n))
        .collect();
    let (status, problem) = w.print(&w.admin, "p-many", json!(many)).await;
    assert_eq!(
        (status, code_of(&problem)),
        (400, "VALIDATION_FAILED".to_owned())
    );
    let (status, _) = w.print(&w.admin, "p-dup", json!([no, no])).await;
    assert_eq!(status, 400);
    // Without the key: refused, nothing printed.
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/paper-tickets/print",
            Some(&w.admin),
            json!({"ticket_nos": [no]}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("IDEMPOTENCY_KEY_REQUIRED"))
    );
    // Another merchant's ticket is not found; rights are checked first.
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w.print(&partner, "p-partner", json!([no])).await;
    assert_eq!(
        (status, code_of(&problem)),
        (404, "TICKET_NOT_FOUND".to_owned())
    );
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let (status, problem) = w.print(&manager, "p-manager", json!([no])).await;
    assert_eq!(
        (status, code_of(&problem)),
        (403, "RIGHT_MISSING".to_owned())
    );
    assert_eq!(
        w.call(authed("GET", "/paper-tickets/test-print", &manager))
            .await
            .0,
        403
    );
    assert_eq!(
        w.call(authed(
            "GET",
            &format!("/paper-tickets/{no}/prints"),
            &manager
        ))
        .await
        .0,
        200
    );
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    assert_eq!(
        w.call(authed(
            "GET",
            "/reports/paper-tickets?from=2026-11-01&to=2027-01-31",
            &cashier
        ))
        .await
        .0,
        403
    );
    let stored = w
        .services
        .table
        .get_ticket(&paper[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.print_count, 0, "nothing was printed");
}

#[tokio::test]
async fn the_operator_prints_and_ships_the_platforms_run() {
    let w = world().await;
    let tickets = w.issue_paper("paper_by_platform", "PRUN1", 2).await;
    let ops = w.operator_token(OPERATOR).await;
    let mine = |run: &Value| -> Vec<String> {
        run["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["import_no"] == "PRUN1")
            .map(|t| t["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, run) = w
        .call(authed("GET", "/operator/print-run?status=queued", &ops))
        .await;
    assert_eq!(mine(&run), ["queued", "queued"]);
    let set = |status: &str, nos: Vec<String>| {
        json_request(
            "PUT",
            "/operator/print-run/status",
            Some(&ops),
            json!({"ticket_nos": nos, "status": status}),
        )
    };
    let first = vec![tickets[0].ticket_no.to_string()];
    // Shipping before printing is refused; printing twice prints once.
    let (status, problem) = w.call(set("shipped", first.clone())).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("TICKET_NOT_PRINTABLE"))
    );
    for _ in 0..2 {
        let (status, body) = w.call(set("printed", first.clone())).await;
        assert_eq!(status, 200, "{body}");
    }
    let stored = w
        .services
        .table
        .get_ticket(&tickets[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.print_count, 1);
    let (status, _) = w.call(set("shipped", first.clone())).await;
    assert_eq!(status, 200);
    let (_, run) = w.call(authed("GET", "/operator/print-run", &ops)).await;
    assert_eq!(mine(&run), ["queued"], "shipped tickets leave the run");
    let (_, audit) = w.call(authed("GET", "/operator/audit", &ops)).await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "platform_printed").count(),
        1,
        "{actions:?}"
    );
    // A merchant cannot; the auditor reads but cannot move.
    assert_eq!(
        w.call(authed("GET", "/operator/print-run", &w.admin))
            .await
            .0,
        403
    );
    let auditor = w.operator_token("auditor").await;
    assert_eq!(
        w.call(authed("GET", "/operator/print-run", &auditor))
            .await
            .0,
        200
    );
    let mut request = set("printed", vec![tickets[1].ticket_no.to_string()]);
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {auditor}").parse().unwrap(),
    );
    let (status, problem) = w.call(request).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
}
