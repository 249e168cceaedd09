//! The ticket lifecycle end to end: tickets issued through the batch path, then redeemed,
//! cancelled, returned and cancelled again through the gateway (with the authorizer), by
//! every kind of actor, around Taipei midnight, concurrently, and with idempotency keys.

use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, NaiveDate, NaiveTime};
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_domain::calendar;
use tessera_domain::clock::Clock;
use tessera_domain::lifecycle::Operation;
use tessera_domain::tickets::TicketStatus;
use tessera_domain::values::MerchantId;
use tessera_platform::store::tickets::{ticket_change_writes, Ticket};
use tessera_tests::{authed, json_request, seeded, test_start, IssueRow, Seeded};

struct World {
    base: Seeded,
    admin: String,
    goods: Vec<Ticket>,
    gift: Vec<Ticket>,
}

tessera_tests::deref_to_seeded!(World);

fn keyed(uri: &str, token: &str, key: &str, body: Value) -> Request<Body> {
    let mut request = json_request("POST", uri, Some(token), body);
    request
        .headers_mut()
        .insert("idempotency-key", key.parse().unwrap());
    request
}

fn fresh_key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The demo parent with a goods and a gift product (redeemable at TPE01 and by the partner
/// store, returnable at KHH01) and `count` tickets of each, issued by the batch path.
async fn world(count: usize) -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let bind = json!({"branch_code": "KHH01", "accounts": ["clerk01"]});
    let (status, body) = base
        .call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
        .await;
    assert_eq!(status, 204, "{body}");
    let lists = json!({"redeemable_stores": [PARTNER], "redeem_branches": ["TPE01"], "return_branches": ["KHH01"]});
    let mut products = Vec::new();
    for (name, kind, face) in [
        ("拿鐵提貨券", "goods_voucher", 120),
        ("生日禮券", "gift_voucher", 50),
    ] {
        let mut body = json!({"name": name, "kind": kind, "term_days": 30, "face_value": face});
        body.as_object_mut()
            .unwrap()
            .extend(lists.as_object().unwrap().clone());
        let (status, product) = base
            .call(json_request("POST", "/products", Some(&admin), body))
            .await;
        assert_eq!(status, 201, "{product}");
        products.push(product["product_id"].as_str().unwrap().to_owned());
    }
    // The goods voucher is paid: its order is recorded first.
    let count = count as u32;
    base.record_order(
        &admin,
        "LCORDER",
        &products[0],
        120 * u64::from(count),
        count,
    )
    .await;
    let mut issued = base
        .issue(
            &admin,
            PARENT,
            "paper_by_merchant",
            &[
                IssueRow::new("LC0", &products[0], count).paid_by("LCORDER"),
                IssueRow::new("LC1", &products[1], count),
            ],
        )
        .await;
    let gift = issued.pop().expect("the gift row's tickets");
    let goods = issued.pop().expect("the goods row's tickets");
    World {
        base,
        admin,
        goods,
        gift,
    }
}

impl World {
    /// A JSON request by the parent's admin, without an Idempotency-Key.
    async fn as_admin(&self, method: &str, uri: &str, body: Value) -> (u16, Value) {
        self.call(json_request(method, uri, Some(&self.admin), body))
            .await
    }

    async fn act(&self, uri: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(keyed(uri, token, &fresh_key(), body)).await
    }

    async fn lookup(&self, token: &str, code: &str) -> (u16, Value) {
        let body = json!({ "code": code });
        self.call(json_request("POST", "/tickets/lookup", Some(token), body))
            .await
    }

    async fn redeem(&self, token: &str, ticket: &Ticket) -> (u16, Value) {
        self.act(
            "/redemptions",
            token,
            json!({"code": ticket.redemption_code}),
        )
        .await
    }

    async fn cancel_redemption(&self, token: &str, ticket: &Ticket) -> (u16, Value) {
        self.act(
            "/redemptions/cancel",
            token,
            json!({"code": ticket.redemption_code, "reason": "顧客取消"}),
        )
        .await
    }

    async fn return_ticket(&self, token: &str, ticket: &Ticket, fee: Option<i64>) -> (u16, Value) {
        let mut body = json!({"code": ticket.redemption_code, "reason": "顧客退貨"});
        if let Some(fee) = fee {
            body["fee"] = json!(fee.to_string());
        }
        self.act("/returns", token, body).await
    }

    async fn cancel_return(&self, token: &str, ticket: &Ticket) -> (u16, Value) {
        self.act(
            "/returns/cancel",
            token,
            json!({"code": ticket.redemption_code, "reason": "誤退"}),
        )
        .await
    }

    async fn status_of(&self, ticket: &Ticket) -> TicketStatus {
        self.services
            .table
            .get_ticket(&ticket.ticket_no)
            .await
            .unwrap()
            .unwrap()
            .status
    }

    async fn history(&self, ticket: &Ticket) -> Vec<String> {
        let (status, body) = self
            .call(authed(
                "GET",
                &format!("/tickets/{}/history", ticket.ticket_no),
                &self.admin,
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        tessera_tests::history_actions(&body)
    }

    /// A system transition (escrow expiry, bank cut-offs), through the same store code the
    /// jobs use.
    async fn system(&self, ticket: &Ticket, operation: Operation) {
        let table = &self.services.table;
        let stored = table.get_ticket(&ticket.ticket_no).await.unwrap().unwrap();
        let mut change = stored.apply_system(operation, self.clock.now()).unwrap();
        let writes = ticket_change_writes(stored.version, &mut change).unwrap();
        table
            .transact(writes, tessera_domain::ErrorCode::ConcurrentChange)
            .await
            .unwrap();
    }

    /// `count` redemptions of one ticket sent at once, taking turns with `tokens`; each
    /// answer's status and body.
    async fn redeem_at_once(
        &self,
        tokens: &[String],
        ticket: &Ticket,
        count: usize,
    ) -> Vec<(u16, Value)> {
        let attempts: Vec<_> = (0..count)
            .map(|i| {
                let request = keyed(
                    "/redemptions",
                    &tokens[i % tokens.len()],
                    &fresh_key(),
                    json!({"code": ticket.redemption_code}),
                );
                let gateway = self.gateway.clone();
                tokio::spawn(async move {
                    let response = tessera_tests::send(&gateway, request).await;
                    let status = response.status().as_u16();
                    (status, tessera_tests::body_json(response).await)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for attempt in attempts {
            outcomes.push(attempt.await.unwrap());
        }
        outcomes
    }

    fn code_of(body: &Value) -> Option<&str> {
        body["code"].as_str()
    }
}

fn taipei(date: NaiveDate, h: u32, m: u32, s: u32) -> chrono::DateTime<chrono::Utc> {
    calendar::taipei_instant(date, NaiveTime::from_hms_opt(h, m, s).unwrap())
}

fn today() -> NaiveDate {
    calendar::taipei_date(test_start())
}

#[tokio::test]
async fn each_actor_may_do_what_the_rules_allow_and_no_more() {
    let w = world(8).await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await; // TPE01: redeem, cancel
    let clerk = w.token(PARENT, "clerk01", STAFF_PASSWORD).await; // KHH01: all four
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await; // open redeemable store
    let child = w.token(CHILD, "admin", ADMIN_PASSWORD).await; // no relation at all
    let t = &w.goods;

    // Redeem: the listed branch yes, another branch no, the store yes, a stranger not found.
    let (status, body) = w.redeem(&clerk, &t[0]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("BRANCH_NOT_PERMITTED"))
    );
    let (status, body) = w.redeem(&cashier, &t[0]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["status"].as_str(), body["redeemed_branch"].as_str()),
        (Some("used"), Some("TPE01"))
    );
    let (status, body) = w.redeem(&child, &t[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (404, Some("TICKET_NOT_FOUND"))
    );
    let (status, body) = w.redeem(&partner, &t[1]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("holder_name").is_none(),
        "a store does not see the buyer: {body}"
    );

    // Cancel redemption: only head office or whoever redeemed it.
    let (status, body) = w.cancel_redemption(&clerk, &t[0]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("NOT_ORIGINAL_ACTOR"))
    );
    let (status, body) = w.cancel_redemption(&partner, &t[0]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("NOT_ORIGINAL_ACTOR"))
    );
    assert_eq!(w.cancel_redemption(&cashier, &t[0]).await.0, 200);
    assert_eq!(w.cancel_redemption(&partner, &t[1]).await.0, 200);
    let (status, body) = w.redeem(&w.admin, &t[1]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        w.cancel_redemption(&w.admin, &t[1]).await.0,
        200,
        "head office may cancel any"
    );

    // Return and cancel return: the issuer only, at a listed return branch.
    let (status, body) = w.return_ticket(&partner, &t[2], None).await;
    assert_eq!((status, World::code_of(&body)), (403, Some("ISSUER_ONLY")));
    let (status, body) = w.return_ticket(&cashier, &t[2], None).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("RIGHT_MISSING"))
    );
    let (status, body) = w.return_ticket(&clerk, &t[2], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending_return");
    assert_eq!(w.return_ticket(&w.admin, &t[3], None).await.0, 200);
    let (status, body) = w.cancel_return(&clerk, &t[3]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("NOT_ORIGINAL_ACTOR")),
        "head office returned it"
    );
    assert_eq!(w.cancel_return(&clerk, &t[2]).await.0, 200);
    assert_eq!(w.cancel_return(&w.admin, &t[3]).await.0, 200);

    // A disabled branch, an unlinked store.
    let (status, _) = w
        .as_admin("PATCH", "/branches/TPE01", json!({"enabled": false}))
        .await;
    assert_eq!(status, 200);
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, body) = w.redeem(&cashier, &t[4]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("BRANCH_DISABLED"))
    );
    let (status, _) = w
        .as_admin(
            "PUT",
            &format!("/redeemable-stores/{PARTNER}/status"),
            json!({"status": "unlinked"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = w.redeem(&partner, &t[4]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("RELATION_NOT_OPEN"))
    );

    // A read-only account.
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let (status, body) = w.redeem(&manager, &t[4]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("RIGHT_MISSING"))
    );
    assert_eq!(w.status_of(&t[4]).await, TicketStatus::Unused);
}

#[tokio::test]
async fn a_store_taken_off_the_products_list_can_no_longer_redeem_its_tickets() {
    let w = world(1).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let ticket = &w.goods[0];
    // The lists stay editable after issuance, and already-issued tickets follow them.
    let path = format!("/products/{}", ticket.product_id);
    let (status, product) = w.call(authed("GET", &path, &w.admin)).await;
    assert_eq!(status, 200, "{product}");
    let mut product = tessera_tests::product_edit_body(product);
    product["redeemable_stores"] = json!([]);
    let (status, saved) = w.as_admin("PUT", &path, product).await;
    assert_eq!(status, 200, "{saved}");

    let (status, body) = w.redeem(&partner, ticket).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("STORE_NOT_PERMITTED"))
    );
    assert_eq!(w.status_of(ticket).await, TicketStatus::Unused);
}

#[tokio::test]
async fn an_unlinked_store_keeps_no_product_and_reopening_grants_nothing_until_granted_again() {
    let w = world(3).await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let tickets = &w.goods;
    // Issued while the relation was open: the store redeems one.
    assert_eq!(w.redeem(&partner, &tickets[0]).await.0, 200);
    let relation = format!("/redeemable-stores/{PARTNER}/status");
    let (status, body) = w
        .as_admin("PUT", &relation, json!({"status": "unlinked"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w.redeem(&partner, &tickets[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("RELATION_NOT_OPEN"))
    );
    // Re-opened: the product no longer lists the store, so its tickets stay out of reach.
    let (status, body) = w
        .as_admin("PUT", &relation, json!({"status": "open"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = w.redeem(&partner, &tickets[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("STORE_NOT_PERMITTED"))
    );
    let path = format!("/products/{}", tickets[0].product_id);
    let (status, product) = w.call(authed("GET", &path, &w.admin)).await;
    assert_eq!(status, 200, "{product}");
    assert_eq!(product["redeemable_stores"], json!([]));
    let (status, history) = w
        .call(authed("GET", &format!("{path}/history"), &w.admin))
        .await;
    assert_eq!(status, 200, "{history}");
    assert!(
        tessera_tests::history_actions(&history)
            .iter()
            .any(|a| a == "redeemable_store_removed"),
        "{history}"
    );
    // Granted again, product by product: now the store redeems.
    let mut product = tessera_tests::product_edit_body(product);
    product["redeemable_stores"] = json!([PARTNER]);
    let (status, saved) = w.as_admin("PUT", &path, product).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(w.redeem(&partner, &tickets[1]).await.0, 200);
    assert_eq!(w.status_of(&tickets[2]).await, TicketStatus::Unused);
}

#[tokio::test]
async fn lookup_shows_the_issuer_everything_and_a_store_only_what_it_needs() {
    let w = world(1).await;
    let code = w.goods[0].redemption_code.as_str();
    let spaced = format!(
        "{}-{} {}",
        &code[..4],
        code[4..8].to_lowercase(),
        &code[8..]
    );
    let (status, issuer) = w.lookup(&w.admin, &spaced).await;
    assert_eq!(status, 200, "{issuer}");
    assert_eq!(issuer["holder_name"], "王小明");
    assert_eq!(issuer["allowed"], json!(["redeem", "return"]));
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (_, store) = w.lookup(&partner, code).await;
    assert_eq!(store["allowed"], json!(["redeem"]));
    assert!(
        store.get("holder_name").is_none() && store.get("trade_no").is_none(),
        "{store}"
    );
    let child = w.token(CHILD, "admin", ADMIN_PASSWORD).await;
    let (status, body) = w.lookup(&child, code).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (404, Some("TICKET_NOT_FOUND"))
    );
    // A code that spells this ticket's number with another random part is as unknown as
    // a code of no ticket, or one of the wrong length; none of them changes the ticket.
    let random_len = tessera_domain::tickets::CODE_RANDOM_LEN;
    let forged = format!("{}{}", "2".repeat(random_len), &code[random_len..]);
    let nobodys = "2".repeat(tessera_domain::tickets::REDEMPTION_CODE_LEN);
    for unknown in [forged.as_str(), nobodys.as_str(), "2222222222222222"] {
        let (status, body) = w.lookup(&w.admin, unknown).await;
        assert_eq!(
            (status, World::code_of(&body)),
            (404, Some("TICKET_NOT_FOUND")),
            "{unknown}: {body}"
        );
        let (status, body) = w
            .act("/redemptions", &w.admin, json!({"code": unknown}))
            .await;
        assert_eq!(
            (status, World::code_of(&body)),
            (404, Some("TICKET_NOT_FOUND")),
            "{unknown}: {body}"
        );
    }
    assert_eq!(w.status_of(&w.goods[0]).await, TicketStatus::Unused);
    // An account with no right over redemption or returns may not look codes up.
    let create = json!({"account": "report01", "password": "Staff2026", "remark": "",
        "rights": {"reports": {"query": true, "modify": false}}});
    let (status, body) = w.as_admin("POST", "/sub-accounts", create).await;
    assert_eq!(status, 201, "{body}");
    let reports_only = w.token(PARENT, "report01", "Staff2026").await;
    let (status, body) = w.lookup(&reports_only, code).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("RIGHT_MISSING"))
    );
}

#[tokio::test]
async fn cancel_windows_close_at_2359_taipei() {
    let w = world(4).await;
    let t = &w.goods;
    let day = today();
    // Redeemed and returned at 23:00; cancelled at 23:59:59 — allowed.
    w.clock.set(taipei(day, 23, 0, 0));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(w.redeem(&admin, &t[0]).await.0, 200);
    assert_eq!(w.redeem(&admin, &t[1]).await.0, 200);
    assert_eq!(w.return_ticket(&admin, &t[2], None).await.0, 200);
    assert_eq!(w.return_ticket(&admin, &t[3], None).await.0, 200);
    w.clock.set(taipei(day, 23, 59, 59));
    assert_eq!(w.cancel_redemption(&admin, &t[0]).await.0, 200);
    assert_eq!(w.cancel_return(&admin, &t[2]).await.0, 200);
    // 00:00:00 the next day — closed.
    w.clock.set(taipei(day + Duration::days(1), 0, 0, 0));
    let (status, body) = w.cancel_redemption(&admin, &t[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("CANCEL_WINDOW_CLOSED")),
        "{body}"
    );
    let (status, body) = w.cancel_return(&admin, &t[3]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("CANCEL_WINDOW_CLOSED"))
    );
    assert!(body["detail"].as_str().unwrap().contains(&day.to_string()));
}

#[tokio::test]
async fn fees_gift_vouchers_bank_states_and_escrow_expiry() {
    let w = world(6).await;
    let (goods, gift) = (&w.goods, &w.gift);
    // A fee up to the face value on a goods voucher within escrow; never on a gift voucher.
    let (status, body) = w.return_ticket(&w.admin, &goods[0], Some(121)).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (400, Some("RETURN_FEE_TOO_HIGH"))
    );
    let (status, body) = w.return_ticket(&w.admin, &gift[0], Some(10)).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (400, Some("RETURN_FEE_NOT_ALLOWED"))
    );
    let (status, body) = w.return_ticket(&w.admin, &goods[0], Some(120)).await;
    assert_eq!(
        (status, body["return_fee"].as_str()),
        (200, Some("120")),
        "{body}"
    );
    // Issued and returned the same day: the bank hears of it on issue day + 2, 01:00.
    let expected = taipei(today() + Duration::days(2), 1, 0, 0);
    assert_eq!(body["bank_update_at"], json!(expected));
    // Gift vouchers: redeemable, but a redemption cannot be cancelled.
    assert_eq!(w.redeem(&w.admin, &gift[1]).await.0, 200);
    let (status, body) = w.cancel_redemption(&w.admin, &gift[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("GIFT_VOUCHER_NOT_CANCELLABLE"))
    );

    // Sent to the bank: nothing may change any more.
    assert_eq!(w.redeem(&w.admin, &goods[1]).await.0, 200);
    w.system(&goods[1], Operation::SendRedemptionToBank).await;
    let (status, body) = w.cancel_redemption(&w.admin, &goods[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("TICKET_WITH_BANK"))
    );
    let (status, body) = w.redeem(&w.admin, &goods[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("TICKET_ALREADY_REDEEMED"))
    );
    w.system(&goods[0], Operation::SendReturnToBank).await;
    let (status, body) = w.cancel_return(&w.admin, &goods[0]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("TICKET_WITH_BANK"))
    );

    // Escrow over: redeemed after expiry, and that redemption can be cancelled any day.
    w.system(&goods[2], Operation::EscrowExpiry).await;
    let (status, body) = w.redeem(&w.admin, &goods[2]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("redeemed_after_expiry"))
    );
    w.clock.advance(Duration::days(3));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, body) = w.cancel_redemption(&admin, &goods[2]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("unused_escrow_expired"))
    );
    let (status, body) = w.return_ticket(&admin, &goods[2], Some(10)).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (400, Some("RETURN_FEE_NOT_ALLOWED")),
        "escrow is over"
    );
    let (status, body) = w.return_ticket(&admin, &goods[2], None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("returned_escrow_expired"))
    );
}

/// A ticket's term runs out at the midnight after its last day (Taipei), whether or not a
/// job has recorded it: the goods voucher is then redeemed "after expiry" and takes no
/// return fee, the gift voucher is expired. The lapse shows in the history at once and is
/// stored, once, with the ticket's next change.
#[tokio::test]
async fn tickets_lapse_at_the_midnight_after_their_last_day() {
    let w = world(4).await;
    let (goods, gift) = (&w.goods, &w.gift);
    let last_day = goods[0].term_ends_on;
    assert_eq!(gift[0].term_ends_on, last_day, "both are 30-day products");
    let w = &w;
    let lookup = |token: String, ticket: &Ticket| {
        let code = ticket.redemption_code.clone();
        async move { w.lookup(&token, code.as_str()).await.1 }
    };
    let history = |token: String, ticket: &Ticket| {
        let request = authed(
            "GET",
            &format!("/tickets/{}/history", ticket.ticket_no),
            &token,
        );
        async { tessera_tests::history_actions(&w.call(request).await.1) }
    };

    // The last day, one second before midnight: still within the term.
    w.clock.set(taipei(last_day, 23, 59, 59));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(lookup(admin.clone(), &goods[0]).await["status"], "unused");
    let (status, body) = w.redeem(&admin, &gift[0]).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("used")));

    // Midnight: lapsed, before any job has run.
    w.clock.set(taipei(last_day + Duration::days(1), 0, 0, 0));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let seen = lookup(admin.clone(), &goods[1]).await;
    assert_eq!(seen["status"], "unused_escrow_expired", "{seen}");
    assert_eq!(seen["allowed"], json!(["redeem", "return"]));
    assert_eq!(
        history(admin.clone(), &goods[1]).await,
        ["issued", "escrow_expiry"]
    );
    let (status, body) = w.return_ticket(&admin, &goods[1], Some(10)).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (400, Some("RETURN_FEE_NOT_ALLOWED")),
        "escrow is over"
    );
    assert_eq!(
        w.status_of(&goods[1]).await,
        TicketStatus::Unused,
        "refused: unchanged"
    );
    let (status, body) = w.redeem(&admin, &goods[1]).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("redeemed_after_expiry")),
        "{body}"
    );
    let (status, body) = w.return_ticket(&admin, &goods[2], None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("returned_escrow_expired")),
        "{body}"
    );
    let (status, body) = w.redeem(&admin, &gift[1]).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (409, Some("TICKET_EXPIRED"))
    );
    assert_eq!(lookup(admin.clone(), &gift[1]).await["allowed"], json!([]));
    let (status, body) = w
        .act(
            &format!("/tickets/{}/remarks", gift[2].ticket_no),
            &admin,
            json!({"remark": "過期未使用"}),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("expired")));

    // Stored once, dated the midnight it happened, before the change that stored it.
    assert_eq!(
        history(admin.clone(), &goods[1]).await,
        ["issued", "escrow_expiry", "redeem"]
    );
    assert_eq!(
        history(admin.clone(), &gift[2]).await,
        ["issued", "gift_expiry", "remark"]
    );
    let entries = w
        .services
        .table
        .ticket_history(&goods[1].ticket_no)
        .await
        .unwrap();
    assert_eq!(entries[1].at, taipei(last_day + Duration::days(1), 0, 0, 0));
    assert_eq!(entries[1].by_account.as_str(), "system");
    assert_eq!(
        (entries[1].before, entries[1].after, entries[2].before),
        (
            Some(TicketStatus::Unused),
            Some(TicketStatus::UnusedEscrowExpired),
            Some(TicketStatus::UnusedEscrowExpired)
        )
    );
    assert_eq!(w.status_of(&gift[2]).await, TicketStatus::Expired);
    // The gift voucher used on its last day is not touched by the lapse.
    assert_eq!(history(admin.clone(), &gift[0]).await, ["issued", "redeem"]);

    // Ten redemptions of a lapsed ticket at once: one wins, and the lapse is stored once.
    let outcomes = w
        .redeem_at_once(std::slice::from_ref(&admin), &goods[3], 10)
        .await;
    let won = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let refused = outcomes
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "TICKET_ALREADY_REDEEMED")
        .count();
    assert_eq!((won, refused), (1, 9), "{outcomes:?}");
    assert_eq!(
        history(admin, &goods[3]).await,
        ["issued", "escrow_expiry", "redeem"]
    );
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer_and_refuse_another_request() {
    let w = world(2).await;
    let t = &w.goods;
    let key = fresh_key();
    let body = json!({"code": t[0].redemption_code});
    let (first_status, first) = w
        .call(keyed("/redemptions", &w.admin, &key, body.clone()))
        .await;
    assert_eq!(first_status, 200);
    let (again_status, again) = w
        .call(keyed("/redemptions", &w.admin, &key, body.clone()))
        .await;
    assert_eq!(
        (again_status, &again),
        (200, &first),
        "the retry gets the first answer"
    );
    assert_eq!(
        w.history(&t[0]).await,
        ["issued", "redeem"],
        "and changes nothing"
    );
    let (status, problem) = w
        .call(keyed(
            "/redemptions",
            &w.admin,
            &key,
            json!({"code": t[1].redemption_code}),
        ))
        .await;
    assert_eq!(
        (status, World::code_of(&problem)),
        (422, Some("IDEMPOTENCY_KEY_REUSED"))
    );
    let (status, problem) = w
        .as_admin(
            "POST",
            "/redemptions",
            json!({"code": t[1].redemption_code}),
        )
        .await;
    assert_eq!(
        (status, World::code_of(&problem)),
        (400, Some("IDEMPOTENCY_KEY_REQUIRED"))
    );
    // Keys are per merchant and expire after a day.
    w.clock.advance(Duration::hours(25));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, body) = w
        .call(keyed(
            "/redemptions",
            &admin,
            &key,
            json!({"code": t[1].redemption_code}),
        ))
        .await;
    assert_eq!(status, 200, "an expired key is a new key: {body}");
}

#[tokio::test]
async fn remarks_show_in_the_history_with_every_change() {
    let w = world(1).await;
    let t = &w.goods[0];
    assert_eq!(w.redeem(&w.admin, t).await.0, 200);
    let (status, body) = w
        .act(
            &format!("/tickets/{}/remarks", t.ticket_no),
            &w.admin,
            json!({"remark": "顧客來電確認"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, history) = w
        .call(authed(
            "GET",
            &format!("/tickets/{}/history", t.ticket_no),
            &w.admin,
        ))
        .await;
    assert_eq!(
        tessera_tests::history_actions(&history),
        ["issued", "redeem", "remark"]
    );
    assert_eq!(history["items"][2]["reason"], "顧客來電確認");
    assert_eq!(history["items"][1]["after"], "used");
    assert_eq!(history["items"][1]["by_account"], "admin");
    // Another tenant cannot read or annotate it.
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, _) = w
        .call(authed(
            "GET",
            &format!("/tickets/{}/history", t.ticket_no),
            &partner,
        ))
        .await;
    assert_eq!(status, 404);
    let (status, _) = w
        .act(
            &format!("/tickets/{}/remarks", t.ticket_no),
            &partner,
            json!({"remark": "x"}),
        )
        .await;
    assert_eq!(status, 404);
    // The report events of the day name the operation.
    let events = w
        .services
        .table
        .ticket_events(&MerchantId::parse("m", PARENT).unwrap(), today())
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].operation, "redeem");
}

#[tokio::test]
async fn fifty_concurrent_redemptions_of_one_code_succeed_once() {
    let w = world(2).await;
    let ticket = w.goods[0].clone();
    let tokens = [
        w.admin.clone(),
        w.token(PARENT, "cashier01", STAFF_PASSWORD).await,
        w.token(PARTNER, "admin", ADMIN_PASSWORD).await,
    ];
    let outcomes = w.redeem_at_once(&tokens, &ticket, 50).await;
    let successes = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let already: Vec<_> = outcomes
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "TICKET_ALREADY_REDEEMED")
        .collect();
    assert_eq!(successes, 1, "{outcomes:?}");
    assert_eq!(already.len(), 49, "{outcomes:?}");
    assert_eq!(w.history(&ticket).await, ["issued", "redeem"]);
    // One redemption, one ticket.redeemed event (with the version it produced).
    let table = &w.services.table;
    let event = table
        .get_event(&format!("ticket-{}-v2", ticket.ticket_no))
        .await
        .unwrap()
        .expect("the redemption's event");
    assert_eq!(
        event.event_type,
        tessera_domain::events::EventType::TicketRedeemed
    );
    assert!(table
        .get_event(&format!("ticket-{}-v3", ticket.ticket_no))
        .await
        .unwrap()
        .is_none());

    // A return and a redemption at once: one wins, the other is refused cleanly.
    let other = w.goods[1].clone();
    let redeem = keyed(
        "/redemptions",
        &w.admin,
        &fresh_key(),
        json!({"code": other.redemption_code}),
    );
    let give_back = keyed(
        "/returns",
        &w.admin,
        &fresh_key(),
        json!({"code": other.redemption_code, "reason": "退貨"}),
    );
    let (a, b) = tokio::join!(
        tessera_tests::send(&w.gateway, redeem),
        tessera_tests::send(&w.gateway, give_back)
    );
    let statuses = [a.status().as_u16(), b.status().as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&409),
        "{statuses:?}"
    );
    assert_eq!(w.history(&other).await.len(), 2);
}

/// The function loads the caller while it reads the code (decision 0004): whatever the code,
/// a caller who is no longer signed in hears only that, and nothing changes.
#[tokio::test]
async fn a_signed_out_caller_learns_nothing_about_a_code_and_changes_nothing() {
    let w = world(1).await;
    let ticket = w.goods[0].clone();
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    assert_eq!(
        w.call(authed("DELETE", "/sessions/current", &cashier))
            .await
            .0,
        204
    );
    let nobodys = "2".repeat(tessera_domain::tickets::REDEMPTION_CODE_LEN);
    for code in [ticket.redemption_code.as_str(), nobodys.as_str()] {
        let (status, body) = w.act("/redemptions", &cashier, json!({"code": code})).await;
        assert_eq!(
            (status, World::code_of(&body)),
            (401, Some("SESSION_EXPIRED")),
            "{body}"
        );
        let (status, body) = w.lookup(&cashier, code).await;
        assert_eq!(
            (status, World::code_of(&body)),
            (401, Some("SESSION_EXPIRED")),
            "{body}"
        );
    }
    // A token whose signature does not verify is refused by the authorizer.
    let forged = format!("{}A", w.admin);
    let (status, body) = w
        .act(
            "/returns",
            &forged,
            json!({"code": ticket.redemption_code, "reason": "退貨"}),
        )
        .await;
    assert_eq!(
        (status, World::code_of(&body)),
        (401, Some("UNAUTHENTICATED")),
        "{body}"
    );
    assert_eq!(w.status_of(&ticket).await, TicketStatus::Unused);
    assert_eq!(w.history(&ticket).await, ["issued"]);
}

/// The redeem function guesses from the token what to read beside the ticket (decision
/// 0006); the decision uses the caller as stored now. A clerk signed in unbound, then bound
/// to KHH01 (not on the product's redeem-branch list), is refused with the same token: the
/// product the token did not call for is read before deciding.
#[tokio::test]
async fn a_branch_bound_after_sign_in_is_held_to_the_products_lists_at_once() {
    let w = world(1).await;
    let ticket = w.goods[0].clone();
    let unbind = json!({"accounts": ["clerk01"]});
    let (status, body) = w.as_admin("POST", "/branch-bindings/unbind", unbind).await;
    assert_eq!(status, 204, "{body}");
    let clerk = w.token(PARENT, "clerk01", STAFF_PASSWORD).await;
    let bind = json!({"branch_code": "KHH01", "accounts": ["clerk01"]});
    let (status, body) = w.as_admin("PUT", "/branch-bindings", bind).await;
    assert_eq!(status, 204, "{body}");

    let (status, body) = w.redeem(&clerk, &ticket).await;
    assert_eq!(
        (status, World::code_of(&body)),
        (403, Some("BRANCH_NOT_PERMITTED")),
        "{body}"
    );
    let (status, body) = w.lookup(&clerk, ticket.redemption_code.as_str()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["allowed"], json!(["return"]), "{body}");
    assert_eq!(w.status_of(&ticket).await, TicketStatus::Unused);
    assert_eq!(w.history(&ticket).await, ["issued"]);
}
