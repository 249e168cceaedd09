//! The consumer's side (§7-1, §7-3 K): the e-ticket page a buyer opens from the issue mail,
//! its QR codes read back, transfers from it, return requests, and what a guesser meets.

use axum::body::Body;
use axum::http::Request;
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT};
use tessera_tests::{body_text, json_request, seeded, send, IssueRow, Seeded};

struct World {
    base: Seeded,
    admin: String,
    goods: String,
}
tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let body = json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 30, "face_value": 120, "usage_notes": "限門市使用"});
    let (status, product) = base
        .call(json_request("POST", "/products", Some(&admin), body))
        .await;
    assert_eq!(status, 201, "{product}");
    let goods = product["product_id"].as_str().unwrap().to_owned();
    World { base, admin, goods }
}

/// A mail address no other test uses.
fn address(name: &str) -> String {
    format!("{name}-{}@demo.com.tw", uuid::Uuid::new_v4().simple())
}

/// The e-ticket link's token in a mail.
fn token_in(mail: &str) -> String {
    let at = mail.find("/t/").expect("a ticket link in the mail") + 3;
    mail[at..at + 40].to_owned()
}

impl World {
    /// Issues `quantity` electronic goods vouchers to `email` (paid first) and delivers the
    /// mail: the order's tickets and the token of the buyer's page.
    async fn issue_to(
        &self,
        import_no: &str,
        quantity: u32,
        name: &str,
        email: &str,
    ) -> (Vec<tessera_platform::store::tickets::Ticket>, String) {
        let trade_no = format!("T{import_no}");
        self.record_order(
            &self.admin,
            &trade_no,
            &self.goods,
            120 * u64::from(quantity),
            quantity,
        )
        .await;
        let mut row = IssueRow::new(import_no, &self.goods, quantity)
            .paid_by(&trade_no)
            .mailed_to(email);
        row.buyer_name = name.to_owned();
        let tickets = self
            .issue(&self.admin, PARENT, "electronic_immediate", &[row])
            .await
            .remove(0);
        self.deliver_notifications().await;
        let mails = tessera_tests::mail_to(email).await;
        assert_eq!(mails.len(), 1, "{mails:?}");
        (tickets, token_in(&mails[0].1))
    }

    async fn open(&self, uri: &str, from: &str) -> (u16, axum::http::HeaderMap, String) {
        let request = Request::builder()
            .uri(uri)
            .header("x-forwarded-for", from)
            .body(Body::empty())
            .unwrap();
        let response = send(&self.gateway, request).await;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        (status, headers, body_text(response).await)
    }

    async fn wallet(&self, token: &str) -> (u16, Value) {
        let (status, _, body) = self.open(&format!("/wallet/{token}"), "198.51.100.1").await;
        (status, serde_json::from_str(&body).unwrap())
    }

    async fn post_json(&self, uri: &str, key: &str, body: Value) -> (u16, Value) {
        let mut request = json_request("POST", uri, None, body);
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
            .headers_mut()
            .insert("x-forwarded-for", "198.51.100.1".parse().unwrap());
        self.call(request).await
    }

    async fn post_form(&self, uri: &str, form: &[(&str, &str)]) -> (u16, String) {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-forwarded-for", "198.51.100.2")
            .body(Body::from(body))
            .unwrap();
        let response = send(&self.gateway, request).await;
        (response.status().as_u16(), body_text(response).await)
    }

    /// The merchant takes return requests from its buyers' pages (and mails them to
    /// `business`, when given), set directly in its settings.
    async fn take_return_requests(
        &self,
        merchant: &tessera_domain::values::MerchantId,
        business: Option<&str>,
    ) {
        let mut settings = self.services.table.get_settings(merchant).await.unwrap();
        settings.operation.consumer_returns_enabled = true;
        if let Some(business) = business {
            settings.contacts.business.email = business.to_owned();
        }
        let (write, _) =
            tessera_platform::store::settings::settings_write(merchant, &mut settings).unwrap();
        self.services
            .table
            .transact(vec![write], tessera_domain::ErrorCode::ConcurrentChange)
            .await
            .unwrap();
    }

    async fn history_actions(&self, ticket_no: &str) -> Vec<String> {
        let (status, history) = self
            .call(tessera_tests::authed(
                "GET",
                &format!("/tickets/{ticket_no}/history"),
                &self.admin,
            ))
            .await;
        assert_eq!(status, 200, "{history}");
        tessera_tests::history_actions(&history)
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_mailed_link_opens_a_private_page_whose_qr_codes_hold_the_redemption_codes() {
    let w = world().await;
    let ming = address("ming");
    let (tickets, token) = w.issue_to("CPAGE1", 2, "王小明", &ming).await;
    let other = address("other");
    let (others, _) = w.issue_to("CPAGE2", 1, "李四季", &other).await;

    let (status, headers, html) = w.open(&format!("/t/{token}"), "198.51.100.1").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(!html.contains("<script"), "no script on the page");
    assert!(html.contains("王小明") && html.contains("拿鐵提貨券") && html.contains("限門市使用"));
    let mut codes: Vec<String> = tickets
        .iter()
        .map(|t| t.redemption_code.to_string())
        .collect();
    let mut read = tessera_tests::qr_payloads(&html);
    codes.sort();
    read.sort();
    assert_eq!(
        read, codes,
        "each ticket's QR code holds its redemption code"
    );
    assert_eq!(html.matches("<svg class=\"barcode\"").count(), 2);
    // Nothing of another buyer's.
    assert!(!html.contains("李四季"));
    assert!(!html.contains(others[0].ticket_no.as_str()));
    assert!(!html.contains(others[0].redemption_code.as_str()));

    // The same as JSON.
    let (status, wallet) = w.wallet(&token).await;
    assert_eq!(status, 200, "{wallet}");
    assert_eq!(wallet["page"], "order");
    assert_eq!(wallet["can_transfer"], true);
    assert_eq!(wallet["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(wallet["tickets"][0]["status"], "unused");
    assert_eq!(wallet["tickets"][0]["transferable"], true);
}

#[tokio::test]
async fn a_guessed_link_meets_a_404_page_and_a_rate_limit() {
    let w = world().await;
    let (_, token) = w.issue_to("CGUESS1", 1, "王小明", &address("guess")).await;
    for uri in [
        format!("/t/{}", "0".repeat(40)),
        "/t/not-a-token".to_owned(),
        format!("/t/{}", token.to_uppercase()),
    ] {
        let (status, headers, html) = w.open(&uri, "203.0.113.50").await;
        assert_eq!(status, 404, "{uri}");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(html.contains("TICKET_LINK_NOT_FOUND"));
    }
    let (status, problem) = w.wallet(&"f".repeat(40)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("TICKET_LINK_NOT_FOUND"))
    );

    // A claim that names an order which does not carry its token leads nowhere.
    let stray = "1".repeat(40);
    let claim = tessera_platform::store::links::link_claim_write(
        &stray,
        &tessera_platform::store::links::LinkTarget::Order {
            merchant_id: tessera_domain::values::MerchantId::parse("m", PARENT).unwrap(),
            import_no: "CGUESS1".to_owned(),
        },
    )
    .unwrap();
    w.services
        .table
        .transact(vec![claim], tessera_domain::ErrorCode::ConcurrentChange)
        .await
        .unwrap();
    assert_eq!(w.wallet(&stray).await.0, 404);

    // One address gets 60 requests a minute (three were spent above); others are not held.
    let guesser = "203.0.113.99";
    for n in 0..tessera_fn_ticket_page_limit() {
        let (status, _, _) = w.open(&format!("/t/{:040x}", n), guesser).await;
        assert_eq!(status, 404, "request {n}");
    }
    let (status, headers, html) = w.open(&format!("/t/{token}"), guesser).await;
    assert_eq!(status, 429, "even the right link, past the limit");
    assert_eq!(headers["retry-after"], "60");
    assert!(html.contains("TOO_MANY_REQUESTS"));
    let (status, _, _) = w.open(&format!("/t/{token}"), "203.0.113.100").await;
    assert_eq!(status, 200);
    // The next minute, the guesser may look again.
    w.clock.advance(chrono::Duration::minutes(1));
    let (status, _, _) = w.open(&format!("/t/{token}"), guesser).await;
    assert_eq!(status, 200);
}

fn tessera_fn_ticket_page_limit() -> u64 {
    fn_ticket_page::REQUESTS_PER_MINUTE
}

#[tokio::test]
async fn a_buyer_gives_tickets_and_the_recipient_gets_a_page_of_their_own() {
    let w = world().await;
    let buyer = address("giver");
    let (tickets, token) = w.issue_to("CGIVE1", 3, "王小明", &buyer).await;
    let (given, kept) = (&tickets[..2], &tickets[2]);

    // The page's form, sent twice (a double tap): one transfer.
    let page = w.open(&format!("/t/{token}"), "198.51.100.2").await.2;
    let key = page
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let friend = address("friend");
    let form = [
        ("ticket_no", given[0].ticket_no.as_str()),
        ("ticket_no", given[1].ticket_no.as_str()),
        ("recipient_name", "林小美"),
        ("recipient_mobile", "0922333444"),
        ("recipient_email", friend.as_str()),
        ("idempotency_key", key.as_str()),
    ];
    let (status, html) = w.post_form(&format!("/t/{token}/transfers"), &form).await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("已轉贈 2 張票券給 林小美"), "{html}");
    let (again, html_again) = w.post_form(&format!("/t/{token}/transfers"), &form).await;
    assert_eq!(again, 201, "{html_again}");

    // The giver's page shows what is left; the recipient is mailed a page of their own.
    let (_, wallet) = w.wallet(&token).await;
    let shown: Vec<&str> = wallet["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ticket_no"].as_str().unwrap())
        .collect();
    assert_eq!(shown, [kept.ticket_no.as_str()]);
    w.deliver_notifications().await;
    let mails = tessera_tests::mail_to(&friend).await;
    assert_eq!(mails.len(), 1, "one transfer, one mail: {mails:?}");
    assert!(mails[0].1.contains("王小明"));
    let gift_token = token_in(&mails[0].1);
    let (status, gifts) = w.wallet(&gift_token).await;
    assert_eq!(status, 200, "{gifts}");
    assert_eq!(gifts["page"], "transfer");
    assert_eq!(gifts["holder_name"], "林小美");
    assert_eq!(gifts["can_transfer"], false);
    assert_eq!(gifts["tickets"].as_array().unwrap().len(), 2);
    let html = w.open(&format!("/t/{gift_token}"), "198.51.100.3").await.2;
    assert!(
        !html.contains("王小明"),
        "the giver's name is not on the recipient's page"
    );
    assert!(
        !html.contains("轉贈票券 Transfer"),
        "no transfer form on a recipient's page"
    );

    // Refused: giving on from the recipient's page, a ticket given already, one not on the page.
    let recipient = json!({"name": "陳大文", "mobile": "0933444555", "email": address("third")});
    for (link, ticket) in [
        (&gift_token, given[0].ticket_no.as_str()),
        (&token, given[0].ticket_no.as_str()),
        (&token, "000000000000"),
    ] {
        let (status, problem) = w
            .post_json(
                &format!("/wallet/{link}/transfers"),
                &format!("k{}", uuid::Uuid::new_v4().simple()),
                json!({"ticket_nos": [ticket], "recipient": recipient}),
            )
            .await;
        assert!(matches!(status, 400 | 409), "{status} {problem}");
    }
    let (status, problem) = w
        .post_json(
            &format!("/wallet/{token}/transfers"),
            "bad-recipient",
            json!({"ticket_nos": [kept.ticket_no], "recipient": {"name": "", "mobile": "123", "email": "x"}}),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        tessera_tests::error_fields(&problem),
        ["recipient.name", "recipient.mobile", "recipient.email"]
    );

    // The tickets' history and holder say so.
    assert!(w
        .history_actions(given[0].ticket_no.as_str())
        .await
        .contains(&"transfer".to_owned()));
    let stored = w
        .services
        .table
        .get_ticket(&given[0].ticket_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.holder.name, "林小美");
    assert_eq!(stored.buyer.name, "王小明");

    // Returning a gifted ticket ends its transfer: it leaves the recipient's page.
    let (status, body) = w
        .call({
            let mut r = json_request(
                "POST",
                "/returns",
                Some(&w.admin),
                json!({"code": given[0].redemption_code, "reason": "顧客退貨"}),
            );
            r.headers_mut()
                .insert("idempotency-key", "return-gift".parse().unwrap());
            r
        })
        .await;
    assert_eq!(status, 200, "{body}");
    let actions = w.history_actions(given[0].ticket_no.as_str()).await;
    assert!(
        actions.ends_with(&[
            "return".to_owned(),
            "transfer_cancelled_by_return".to_owned()
        ]),
        "{actions:?}"
    );
    let (_, gifts) = w.wallet(&gift_token).await;
    assert_eq!(gifts["tickets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_return_request_needs_the_merchant_to_take_them_and_is_mailed_once() {
    let w = world().await;
    let (tickets, token) = w.issue_to("CRET1", 1, "王小明", &address("returner")).await;
    let ask = json!({"ticket_nos": [tickets[0].ticket_no], "reason": "買錯了"});
    let (status, problem) = w
        .post_json(
            &format!("/wallet/{token}/return-requests"),
            "ask-1",
            ask.clone(),
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("CONSUMER_RETURN_NOT_ENABLED"))
    );

    let business = address("business");
    w.take_return_requests(&tickets[0].merchant_id, Some(&business))
        .await;

    let (status, asked) = w
        .post_json(
            &format!("/wallet/{token}/return-requests"),
            "ask-2",
            ask.clone(),
        )
        .await;
    assert_eq!(status, 201, "{asked}");
    let (again, replayed) = w
        .post_json(
            &format!("/wallet/{token}/return-requests"),
            "ask-2",
            ask.clone(),
        )
        .await;
    assert_eq!((again, &replayed), (201, &asked));
    let (status, problem) = w
        .post_json(&format!("/wallet/{token}/return-requests"), "ask-3", ask)
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("TICKET_STATUS_CONFLICT"))
    );

    w.deliver_notifications().await;
    let mails = tessera_tests::mail_to(&business).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].1.contains("CRET1") && mails[0].1.contains("買錯了"));
    let (_, wallet) = w.wallet(&token).await;
    assert!(wallet["tickets"][0]["return_requested_at"].is_string());
    assert!(w
        .history_actions(tickets[0].ticket_no.as_str())
        .await
        .contains(&"return_requested".to_owned()));
    // The merchant sees it in the ticket report's order columns.
    let (status, report) = w
        .call(tessera_tests::authed(
            "GET",
            "/reports/tickets?mode=orders&import_nos=CRET1&columns=order",
            &w.admin,
        ))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["rows"][0]["return_request_reason"], "買錯了");
    assert!(!report["rows"][0]["return_requested_at"]
        .as_str()
        .unwrap()
        .is_empty());
}

/// The page's forms (no script) answer every outcome the JSON routes do, each as a page:
/// an unknown link, return requests not taken, recorded, asked twice, a key reused for
/// another form, a ticket that cannot be given; and past the address's limit, every route
/// of the page answers 429.
#[tokio::test]
async fn the_page_forms_answer_every_outcome_with_a_page() {
    let w = world().await;
    let (tickets, token) = w.issue_to("CFORM1", 2, "王小明", &address("forms")).await;
    let (first, second) = (tickets[0].ticket_no.as_str(), tickets[1].ticket_no.as_str());
    let ask = |ticket: &'static str, key: &'static str| {
        move |ticket_no: &str| {
            vec![
                ("ticket_no".to_owned(), ticket_no.to_owned()),
                ("reason".to_owned(), ticket.to_owned()),
                ("idempotency_key".to_owned(), key.to_owned()),
            ]
        }
    };
    let post = |uri: String, form: Vec<(String, String)>| {
        let w = &w;
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            w.post_form(&uri, &pairs).await
        }
    };
    let give = |ticket_no: &str, name: &str, key: &str| {
        vec![
            ("ticket_no".to_owned(), ticket_no.to_owned()),
            ("recipient_name".to_owned(), name.to_owned()),
            ("recipient_mobile".to_owned(), "0922333444".to_owned()),
            ("recipient_email".to_owned(), address("friend")),
            ("idempotency_key".to_owned(), key.to_owned()),
        ]
    };
    let returns = format!("/t/{token}/return-requests");
    let transfers = format!("/t/{token}/transfers");

    // An unknown link, on both forms.
    let nowhere = "e".repeat(40);
    for (uri, form) in [
        (
            format!("/t/{nowhere}/return-requests"),
            ask("買錯了", "form-0")(first),
        ),
        (
            format!("/t/{nowhere}/transfers"),
            give(first, "林小美", "give-0"),
        ),
    ] {
        let (status, html) = post(uri, form).await;
        assert_eq!(status, 404, "{html}");
        assert!(html.contains("TICKET_LINK_NOT_FOUND"));
    }
    // The merchant takes no return requests yet.
    let (status, html) = post(returns.clone(), ask("買錯了", "form-1")(first)).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("CONSUMER_RETURN_NOT_ENABLED"));

    w.take_return_requests(&tickets[0].merchant_id, None).await;
    let (status, html) = post(returns.clone(), ask("買錯了", "form-2")(first)).await;
    assert_eq!(status, 201, "{html}");
    assert!(html.contains("退貨申請"), "{html}");
    // The same key for another form; the same ticket asked again.
    let (status, html) = post(returns.clone(), ask("改變心意", "form-2")(first)).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("IDEMPOTENCY_KEY_REUSED"));
    let (status, html) = post(returns.clone(), ask("買錯了", "form-3")(first)).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("TICKET_STATUS_CONFLICT"));

    // A ticket redeemed at the till cannot be given; the other can, once per key.
    let mut redeem = json_request(
        "POST",
        "/redemptions",
        Some(&w.admin),
        json!({"code": tickets[0].redemption_code}),
    );
    redeem
        .headers_mut()
        .insert("idempotency-key", "redeem-form-1".parse().unwrap());
    let (status, redeemed) = w.call(redeem).await;
    assert_eq!(status, 200, "{redeemed}");
    let (status, html) = post(transfers.clone(), give(first, "林小美", "give-1")).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("TICKET_NOT_TRANSFERABLE"), "{html}");
    let (status, html) = post(transfers.clone(), give(second, "林小美", "give-2")).await;
    assert_eq!(status, 201, "{html}");
    let (status, html) = post(transfers.clone(), give(second, "陳大同", "give-2")).await;
    assert_eq!(status, 422, "{html}");

    // Past the address's limit, every route of the page.
    let crowd = "203.0.113.77";
    for n in 0..tessera_fn_ticket_page_limit() {
        let (status, _, _) = w.open(&format!("/t/{:040x}", n), crowd).await;
        assert_eq!(status, 404, "request {n}");
    }
    let routes = [
        ("GET", format!("/wallet/{token}"), None),
        (
            "POST",
            format!("/wallet/{token}/transfers"),
            Some(("application/json", json!({"ticket_nos": [second], "recipient": {"name": "林", "mobile": "0922333444", "email": "a@example.com"}}).to_string())),
        ),
        (
            "POST",
            format!("/wallet/{token}/return-requests"),
            Some(("application/json", json!({"ticket_nos": [second], "reason": "x"}).to_string())),
        ),
        (
            "POST",
            transfers.clone(),
            Some(("application/x-www-form-urlencoded", "idempotency_key=k9".to_owned())),
        ),
        (
            "POST",
            returns.clone(),
            Some(("application/x-www-form-urlencoded", "idempotency_key=k9".to_owned())),
        ),
    ];
    for (method, uri, body) in routes {
        let mut request = Request::builder()
            .method(method)
            .uri(&uri)
            .header("x-forwarded-for", crowd)
            .header("idempotency-key", "k9");
        let body = match body {
            Some((content_type, body)) => {
                request = request.header("content-type", content_type);
                Body::from(body)
            }
            None => Body::empty(),
        };
        let response = send(&w.gateway, request.body(body).unwrap()).await;
        assert_eq!(response.status(), 429, "{method} {uri}");
        assert_eq!(response.headers()["retry-after"], "60", "{method} {uri}");
    }
}

/// Non-immediate (非即期) electronic tickets (docs/decisions/0015): the batch names the
/// day they become valid; they are issued and mailed at once, shown with that day, and
/// redeemed only from it on.
#[tokio::test]
async fn non_immediate_tickets_are_sent_at_once_and_redeemed_from_their_first_day() {
    let w = world().await;
    let start = tessera_domain::calendar::taipei_date(tessera_tests::test_start());
    let first_day = start + chrono::Duration::days(10);
    let upload = |valid_from: Value| {
        json_request(
            "POST",
            "/issuance/uploads",
            Some(&w.admin),
            json!({"delivery_method": "electronic_deferred", "size": 1000, "valid_from": valid_from}),
        )
    };
    for bad in [Value::Null, json!(start.to_string()), json!("2030-01-01")] {
        let (status, problem) = w.call(upload(bad.clone())).await;
        assert_eq!(
            (status, tessera_tests::error_fields(&problem)),
            (400, vec!["valid_from".to_owned()]),
            "{bad}: {problem}"
        );
    }
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&w.admin),
            json!({"delivery_method": "electronic_immediate", "size": 1000, "valid_from": first_day}),
        ))
        .await;
    assert_eq!(status, 400, "{problem}");

    let buyer = address("later");
    w.record_order(&w.admin, "TLATER1", &w.goods, 120, 1).await;
    let row = IssueRow::new("CLATER1", &w.goods, 1)
        .paid_by("TLATER1")
        .mailed_to(&buyer);
    let tickets = w
        .issue_with(
            &w.admin,
            PARENT,
            json!({"delivery_method": "electronic_deferred", "valid_from": first_day}),
            &[row],
        )
        .await
        .remove(0);
    assert_eq!(tickets[0].valid_from, Some(first_day));
    w.deliver_notifications().await;
    let token = token_in(&tessera_tests::mail_to(&buyer).await[0].1);
    let page = w.open(&format!("/t/{token}"), "198.51.100.5").await.2;
    assert!(
        page.contains(&format!("{first_day} 起")),
        "the page shows the first day"
    );

    let redeem = |key: &str| {
        let mut request = json_request(
            "POST",
            "/redemptions",
            Some(&w.admin),
            json!({"code": tickets[0].redemption_code}),
        );
        request
            .headers_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
    };
    let (status, problem) = w.call(redeem("later-1")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("TICKET_NOT_YET_VALID"))
    );
    w.clock
        .set(tessera_domain::calendar::start_of_day(first_day));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut request = json_request(
        "POST",
        "/redemptions",
        Some(&admin),
        json!({"code": tickets[0].redemption_code}),
    );
    request
        .headers_mut()
        .insert("idempotency-key", "later-2".parse().unwrap());
    let (status, body) = w.call(request).await;
    assert_eq!(status, 200, "{body}");
}
