//! The ticket report and report exports end to end: tickets issued through the batch path,
//! redeemed, cancelled and returned at head office and at branches, then read back page by
//! page in every mode, by accounts of every standing, and exported to a real xlsx.

use axum::body::Body;
use axum::http::Request;
use calamine::{Data, Reader, Xlsx};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tessera_dev::seed::{ADMIN_PASSWORD, CHILD, PARENT, PARTNER, STAFF_PASSWORD};
use tessera_platform::store::tickets::Ticket;
use tessera_tests::{authed, error_fields, get_bytes, json_request, seeded, IssueRow, Seeded};

struct World {
    base: Seeded,
    admin: String,
    goods: Vec<Ticket>,
    gift: Vec<Ticket>,
    /// One gift ticket whose buyer's name is a formula.
    formula: Ticket,
}

tessera_tests::deref_to_seeded!(World);

const FORMULA_NAME: &str = "=HYPERLINK(\"http://x.tw\",\"x\")";

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

/// The demo parent with a goods and a gift product, 3 tickets of each and one more gift
/// ticket for a buyer called like a formula; cashier01 bound to TPE01 and clerk01 to
/// KHH01. Then: cashier01 redeems gift 0 at TPE01; head office redeems goods 0, redeems
/// goods 2 and cancels that; clerk01 returns goods 1 at KHH01.
async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    for (branch, account) in [("TPE01", "cashier01"), ("KHH01", "clerk01")] {
        let bind = json!({"branch_code": branch, "accounts": [account]});
        let (status, body) = base
            .call(json_request("PUT", "/branch-bindings", Some(&admin), bind))
            .await;
        assert_eq!(status, 204, "{body}");
    }
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
    base.record_order(&admin, "RPORDER", &products[0], 360, 3)
        .await;
    let mut formula_row = IssueRow::new("RP2", &products[1], 1);
    formula_row.buyer_name = FORMULA_NAME.to_owned();
    let mut issued = base
        .issue(
            &admin,
            PARENT,
            "paper_by_merchant",
            &[
                IssueRow::new("RP0", &products[0], 3).paid_by("RPORDER"),
                IssueRow::new("RP1", &products[1], 3),
                formula_row,
            ],
        )
        .await;
    let formula = issued.pop().unwrap().pop().unwrap();
    let gift = issued.pop().unwrap();
    let goods = issued.pop().unwrap();
    let world = World {
        base,
        admin,
        goods,
        gift,
        formula,
    };
    let cashier = world.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let clerk = world.token(PARENT, "clerk01", STAFF_PASSWORD).await;
    let code = |t: &Ticket| json!({"code": t.redemption_code});
    for (uri, token, body) in [
        ("/redemptions", &cashier, code(&world.gift[0])),
        ("/redemptions", &world.admin, code(&world.goods[0])),
        ("/redemptions", &world.admin, code(&world.goods[2])),
        (
            "/redemptions/cancel",
            &world.admin,
            json!({"code": world.goods[2].redemption_code, "reason": "按錯"}),
        ),
        (
            "/returns",
            &clerk,
            json!({"code": world.goods[1].redemption_code, "reason": "顧客退貨"}),
        ),
    ] {
        let (status, body) = world.call(keyed(uri, token, &fresh_key(), body)).await;
        assert_eq!(status, 200, "{uri}: {body}");
    }
    world
}

impl World {
    async fn report(&self, token: &str, query: &str) -> (u16, Value) {
        self.call(authed("GET", &format!("/reports/tickets?{query}"), token))
            .await
    }

    /// Every row of a report, page after page of `limit`; the ticket numbers in order.
    async fn all_rows(&self, token: &str, query: &str, limit: usize) -> Vec<String> {
        let mut numbers = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..50 {
            let mut uri = format!("{query}&limit={limit}");
            if let Some(cursor) = &cursor {
                uri.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = self.report(token, &uri).await;
            assert_eq!(status, 200, "{page}");
            let rows = page["rows"].as_array().unwrap();
            assert!(rows.len() <= limit);
            numbers.extend(
                rows.iter()
                    .map(|r| r["ticket_no"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return numbers,
            }
        }
        panic!("the report never ended");
    }
}

fn today() -> String {
    tessera_domain::calendar::taipei_date(tessera_tests::test_start()).to_string()
}

fn by_date(extra: &str) -> String {
    let day = today();
    format!("mode=date&from={day}&to={day}{extra}")
}

fn numbers(tickets: &[&Ticket]) -> Vec<String> {
    tickets.iter().map(|t| t.ticket_no.to_string()).collect()
}

#[tokio::test]
async fn the_report_by_issue_date_pages_through_every_ticket_once() {
    let w = world().await;
    let all = w.all_rows(&w.admin, &by_date(""), 3).await;
    assert_eq!(all.len(), 7, "{all:?}");
    let distinct: BTreeSet<_> = all.iter().collect();
    assert_eq!(distinct.len(), 7);
    // In issue order: a page boundary neither repeats nor skips a ticket.
    assert_eq!(all, w.all_rows(&w.admin, &by_date(""), 100).await);
    let (status, page) = w
        .report(&w.admin, &by_date("&columns=order,operator,holder"))
        .await;
    assert_eq!(status, 200, "{page}");
    let headers: Vec<&str> = page["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["header"].as_str().unwrap())
        .collect();
    assert_eq!(&headers[..2], ["票券序號", "商品編號"]);
    assert!(headers.contains(&"持票人手機") && headers.contains(&"核銷分店"));
    let redeemed = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ticket_no"] == w.gift[0].ticket_no.as_str())
        .unwrap();
    assert_eq!(redeemed["status"], "已使用");
    assert_eq!(redeemed["redeemed_branch"], "TPE01");
    assert_eq!(redeemed["holder_mobile"], "0912***678");
}

#[tokio::test]
async fn statuses_dates_and_branches_filter_as_the_manual_says() {
    let w = world().await;
    let rows = |query: String| {
        let w = &w;
        async move {
            let mut rows = w.all_rows(&w.admin, &query, 100).await;
            rows.sort();
            rows
        }
    };
    let mut redeemed = numbers(&[&w.gift[0], &w.goods[0]]);
    redeemed.sort();
    assert_eq!(rows(by_date("&status_group=redeemed")).await, redeemed);
    assert_eq!(
        rows(by_date("&statuses=pending_return")).await,
        numbers(&[&w.goods[1]])
    );
    // By redemption date: the cancelled redemption of goods 2 leaves no date.
    assert_eq!(rows(by_date("&date_type=redeemed")).await, redeemed);
    assert_eq!(
        rows(by_date(
            "&date_type=redeemed&branch_type=branch&branch=TPE01"
        ))
        .await,
        numbers(&[&w.gift[0]])
    );
    assert_eq!(
        rows(by_date("&date_type=redeemed&branch_type=head_office")).await,
        numbers(&[&w.goods[0]])
    );
    assert_eq!(
        rows(by_date("&date_type=returned")).await,
        numbers(&[&w.goods[1]])
    );
    assert!(rows(by_date("&delivery_methods=ibon")).await.is_empty());
    assert_eq!(
        rows(by_date("&delivery_methods=paper_by_merchant"))
            .await
            .len(),
        7
    );
}

#[tokio::test]
async fn numbers_and_orders_find_only_the_merchants_own_tickets() {
    let w = world().await;
    // Another merchant's ticket number (the partner issues its own) answers nothing.
    let foreign = tessera_domain::tickets::TicketNumber::from_sequence(999_999_999);
    let query = format!(
        "mode=numbers&ticket_nos={},{},{foreign}",
        w.gift[2].ticket_no, w.goods[0].ticket_no
    );
    assert_eq!(
        w.all_rows(&w.admin, &query, 1).await,
        numbers(&[&w.gift[2], &w.goods[0]])
    );
    let mut expected = numbers(&[&w.formula]);
    expected.extend(numbers(&w.goods.iter().collect::<Vec<_>>()));
    assert_eq!(
        w.all_rows(&w.admin, "mode=orders&import_nos=RP2,RP0", 2)
            .await,
        expected
    );
}

#[tokio::test]
async fn a_holder_is_found_by_name_or_mobile_within_the_issue_dates() {
    let w = world().await;
    let day = today();
    let holder = |query: &str| format!("mode=holder&from={day}&to={day}&{query}");
    // Everyone but the formula's buyer is 王小明.
    let ming = urlencoding("王小明");
    let all = w
        .all_rows(&w.admin, &holder(&format!("holder_name={ming}")), 4)
        .await;
    assert_eq!(all.len(), 6);
    let by_mobile = w
        .all_rows(&w.admin, &holder("holder_mobile=0912345678"), 100)
        .await;
    assert_eq!(by_mobile.len(), 7);
    let formula = w
        .all_rows(
            &w.admin,
            &holder(&format!("holder_name={}", urlencoding(FORMULA_NAME))),
            100,
        )
        .await;
    assert_eq!(formula, numbers(&[&w.formula]));
    assert!(w
        .all_rows(
            &w.admin,
            &holder(&format!("holder_name={ming}&holder_mobile=0987654321")),
            100,
        )
        .await
        .is_empty());
    for (query, field) in [
        (holder(""), "holder_name"),
        (holder("holder_mobile=12345"), "holder_mobile"),
        ("mode=holder&holder_name=x".to_owned(), "from"),
    ] {
        let (status, problem) = w.report(&w.admin, &query).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(error_fields(&problem), [field], "{query}");
    }
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_branch_sees_its_branch_and_an_account_without_the_right_sees_nothing() {
    let w = world().await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    // Bound to TPE01: the default scope is its branch; head office is refused.
    assert_eq!(
        w.all_rows(&cashier, &by_date("&date_type=redeemed"), 100)
            .await,
        numbers(&[&w.gift[0]])
    );
    assert!(w.all_rows(&cashier, &by_date(""), 100).await.is_empty());
    let (status, problem) = w
        .report(&cashier, &by_date("&branch_type=head_office"))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("OTHER_BRANCH"))
    );
    let query = format!(
        "mode=numbers&ticket_nos={},{}",
        w.gift[0].ticket_no, w.goods[0].ticket_no
    );
    assert_eq!(
        w.all_rows(&cashier, &query, 10).await,
        numbers(&[&w.gift[0]])
    );
    // clerk01 has no query right of reports.
    let clerk = w.token(PARENT, "clerk01", STAFF_PASSWORD).await;
    let (status, problem) = w.report(&clerk, &by_date("")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    // The child merchant's admin sees none of the parent's tickets.
    let child = w.token(CHILD, "admin", ADMIN_PASSWORD).await;
    assert!(w.all_rows(&child, &by_date(""), 100).await.is_empty());
    // The parent reads a child's reports only after switching into it, and then the
    // child's alone.
    let parent = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    assert_eq!(w.all_rows(&parent, &by_date(""), 100).await.len(), 7);
    let switch = json!({"merchant_id": CHILD});
    let (status, switched) = w
        .call(json_request(
            "POST",
            "/sessions/current/switch",
            Some(&parent),
            switch,
        ))
        .await;
    assert_eq!(status, 200, "{switched}");
    assert!(w.all_rows(&parent, &by_date(""), 100).await.is_empty());
}

#[tokio::test]
async fn bad_queries_name_the_field_and_the_rule() {
    let w = world().await;
    for (query, field) in [
        ("mode=date&from=2026-01-31&to=2026-05-01".to_owned(), "to"),
        ("mode=date&from=2026-05-02&to=2026-05-01".to_owned(), "to"),
        ("mode=date&to=2026-05-01".to_owned(), "from"),
        (by_date("&statuses=bogus"), "statuses[0]"),
        (by_date("&status_group=unused&statuses=used"), "statuses[0]"),
        (by_date("&branch_type=branch&branch=no%20such"), "branch"),
        (by_date("&columns=secret"), "columns[0]"),
        (by_date("&limit=0"), "limit"),
        (by_date("&limit=501"), "limit"),
        (by_date("&cursor=not-a-cursor"), "cursor"),
        ("mode=numbers&ticket_nos=123".to_owned(), "ticket_nos[0]"),
        ("mode=numbers".to_owned(), "ticket_nos"),
        ("mode=orders&import_nos=A-1".to_owned(), "import_nos[0]"),
        ("mode=everything".to_owned(), "mode"),
    ] {
        let (status, problem) = w.report(&w.admin, &query).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["code"], "VALIDATION_FAILED", "{query}");
        assert_eq!(error_fields(&problem), [field], "{query}");
    }
    // A cursor of one query is refused by another.
    let (_, page) = w
        .report(&w.admin, "mode=orders&import_nos=RP0&limit=1")
        .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let (status, problem) = w
        .report(&w.admin, &by_date(&format!("&cursor={cursor}")))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(error_fields(&problem), ["cursor"]);
}

#[tokio::test]
async fn an_export_is_a_real_workbook_with_no_live_formula() {
    let w = world().await;
    let key = fresh_key();
    let body = json!({"report": "tickets", "query": {"mode": "orders", "import_nos": "RP2,RP0", "columns": "order,holder"}});
    let (status, queued) = w
        .call(keyed("/exports", &w.admin, &key, body.clone()))
        .await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["status"], "queued");
    // The same key and body answer the same export; nothing is queued twice.
    let (status, again) = w.call(keyed("/exports", &w.admin, &key, body)).await;
    assert_eq!((status, &again["export_id"]), (202, &queued["export_id"]));
    // The request reaches the worker through the outbox, once.
    w.publish().await;
    assert_eq!(
        w.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let id = queued["export_id"].as_str().unwrap();
    let (status, done) = w
        .call(authed("GET", &format!("/exports/{id}"), &w.admin))
        .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["rows_written"].as_u64()),
        (Some("done"), Some(4))
    );
    let bytes = get_bytes(done["download_url"].as_str().unwrap()).await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let sheet = book
        .worksheet_range("票券報表")
        .expect("the report's sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 5, "a header and four tickets");
    assert_eq!(rows[0][0], Data::String("票券序號".into()));
    assert!(rows[0].contains(&Data::String("購買人姓名".into())));
    assert_eq!(rows[1][0], Data::String(w.formula.ticket_no.to_string()));
    let names: Vec<&Data> = rows[1]
        .iter()
        .filter(|c| matches!(c, Data::String(s) if s.contains("HYPERLINK")))
        .collect();
    assert_eq!(names.len(), 2, "buyer and holder");
    for name in names {
        assert_eq!(name, &Data::String(format!("'{FORMULA_NAME}")));
    }
    let formulas = book.worksheet_formula("票券報表").unwrap();
    assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
}

/// The rows of an export's file (the header first).
async fn xlsx_rows(link: &str) -> Vec<Vec<Data>> {
    let bytes = tessera_tests::get_bytes(link).await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let sheet = book
        .worksheet_range("票券報表")
        .expect("the report's sheet");
    sheet.rows().map(|r| r.to_vec()).collect()
}

#[tokio::test]
async fn an_export_too_long_for_one_run_comes_in_parts_that_join_without_a_gap() {
    use std::sync::Arc;
    use tessera_platform::store::exports::ExportStatus;
    let w = world().await;
    let body = json!({"report": "tickets", "query": {"mode": "date", "from": today(), "to": today(), "date_type": "issued"}});
    let queue = w.stack.provisioned.queue_urls["ReportExportQueue"].clone();
    let export = |body: Value| {
        let w = &w;
        async move {
            let (status, queued) = w
                .call(keyed("/exports", &w.admin, &fresh_key(), body))
                .await;
            assert_eq!(status, 202, "{queued}");
            w.publish().await;
            queued["export_id"].as_str().unwrap().to_owned()
        }
    };
    // An exporter whose parts hold at most 4 rows, read 2 at a time, with a deadline.
    let small_parts = || {
        let mut exporter = fn_report_export::Exporter::new(&w.services).unwrap();
        exporter.page_rows = 2;
        exporter.part_rows = 4;
        exporter
    };
    let exporter = |deadline: Option<std::time::Instant>| {
        let exporter = small_parts();
        let handler: tessera_dev::functions::QueueHandler = Arc::new(move |event| {
            let exporter = exporter.clone();
            Box::pin(async move { Ok(exporter.handle(event, deadline).await) })
        });
        handler
    };
    let view = |id: String| {
        let w = &w;
        async move {
            let (status, view) = w
                .call(authed("GET", &format!("/exports/{id}"), &w.admin))
                .await;
            assert_eq!(status, 200, "{view}");
            view
        }
    };

    // The whole report in one file, as the deployed worker writes it.
    let whole_id = export(body.clone()).await;
    assert_eq!(
        w.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let whole = view(whole_id).await;
    assert_eq!(whole["parts"].as_array().unwrap().len(), 1, "{whole}");
    let whole_rows = xlsx_rows(whole["download_url"].as_str().unwrap()).await;
    assert_eq!(whole_rows.len(), 8, "a header and seven tickets");

    // In parts: the worker closes a part when another page might not fit, saves where the
    // rest begins and queues it; the parts, each with the header, join to the whole.
    for (deadline, sizes) in [
        (None, vec![4, 3]),
        // Out of time at once: each part still takes its one page, so every run moves on.
        (Some(std::time::Instant::now()), vec![2, 2, 2, 1]),
    ] {
        let id = export(body.clone()).await;
        let runs = tessera_tests::drain(&w.stack.aws.sqs, &queue, &exporter(deadline)).await;
        assert_eq!(
            runs,
            sizes.len(),
            "the request and one continuation a further part"
        );
        let done = view(id).await;
        assert_eq!(
            (done["status"].as_str(), done["rows_written"].as_u64()),
            (Some("done"), Some(7)),
            "{done}"
        );
        let parts = done["parts"].as_array().unwrap();
        let rows: Vec<u64> = parts.iter().map(|p| p["rows"].as_u64().unwrap()).collect();
        assert_eq!(rows, sizes, "{done}");
        assert_eq!(done["download_url"], parts[0]["download_url"]);
        let mut joined = Vec::new();
        for part in parts {
            let mut rows = xlsx_rows(part["download_url"].as_str().unwrap()).await;
            assert_eq!(rows[0], whole_rows[0], "each part has the header");
            joined.extend(rows.drain(1..));
        }
        assert_eq!(
            joined,
            whole_rows[1..],
            "no row missing, none twice, in order"
        );
    }

    // Two deliveries of one message at once: the one that saves its part first carries the
    // export on; the other, holding the export as it read it, steps aside and changes
    // nothing (its file is named by no record).
    let id = export(body.clone()).await;
    let merchant = tessera_domain::values::MerchantId::parse("m", PARENT).unwrap();
    let stored = || async {
        w.services
            .table
            .get_export(&merchant, &id)
            .await
            .unwrap()
            .unwrap()
    };
    let mut stale = stored().await;
    let runs = tessera_tests::drain(&w.stack.aws.sqs, &queue, &exporter(None)).await;
    assert_eq!(runs, 2);
    let finished = stored().await;
    small_parts()
        .export(&mut stale, None)
        .await
        .expect("stepping aside is not a failure");
    let after = stored().await;
    assert_eq!(after, finished);
    assert_eq!(after.status, ExportStatus::Done);
    assert_eq!(after.parts.len(), 2);
    // Nothing queued by the one that stepped aside.
    assert_eq!(
        tessera_tests::drain(&w.stack.aws.sqs, &queue, &exporter(None)).await,
        0
    );
}

#[tokio::test]
async fn an_export_is_seen_only_by_whoever_asked_for_it() {
    let w = world().await;
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let body = json!({"report": "tickets", "query": {"mode": "date", "from": today(), "to": today(), "date_type": "redeemed"}});
    let (status, queued) = w
        .call(keyed("/exports", &cashier, &fresh_key(), body))
        .await;
    assert_eq!(status, 202, "{queued}");
    w.publish().await;
    w.drain("ReportExportQueue", "ReportExportFunction").await;
    let uri = format!("/exports/{}", queued["export_id"].as_str().unwrap());
    let (status, done) = w.call(authed("GET", &uri, &cashier)).await;
    // The cashier's export holds its branch's view: one redemption at TPE01.
    assert_eq!(
        (status, done["rows_written"].as_u64()),
        (200, Some(1)),
        "{done}"
    );
    let manager = w.token(PARENT, "manager01", STAFF_PASSWORD).await;
    let child = w.token(CHILD, "admin", ADMIN_PASSWORD).await;
    for token in [&manager, &child] {
        let (status, problem) = w.call(authed("GET", &uri, token)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("EXPORT_NOT_FOUND"))
        );
    }
    // The merchant's admin sees every export of the merchant.
    let (status, _) = w.call(authed("GET", &uri, &w.admin)).await;
    assert_eq!(status, 200);
    let (status, problem) = w
        .call(keyed(
            "/exports",
            &w.admin,
            &fresh_key(),
            json!({"report": "everything", "query": {}}),
        ))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(error_fields(&problem), ["report"]);
}

/// What the circulation report says of one day or the total: issued, redeemed, returned
/// and outstanding counts, and the same amounts.
fn figures(row: &Value) -> [(i64, String); 4] {
    ["issued", "redeemed", "returned", "outstanding"].map(|m| {
        (
            row[format!("{m}_count")].as_i64().unwrap(),
            row[format!("{m}_amount")].as_str().unwrap().to_owned(),
        )
    })
}

fn f(c: i64, a: &str) -> (i64, String) {
    (c, a.to_owned())
}

#[tokio::test]
async fn circulation_and_the_dashboard_agree_with_a_ledger_across_a_month_end() {
    // 30 Nov (10:00 Taipei): 3 goods (120) and 3 gift (50) tickets issued at head office;
    // cashier01 redeems gift 0 at TPE01, the partner store redeems gift 1.
    let w = world().await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let code = |t: &Ticket| json!({"code": t.redemption_code});
    let (status, body) = w
        .call(keyed(
            "/redemptions",
            &partner,
            &fresh_key(),
            code(&w.gift[1]),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    // The world also redeemed goods 0 (head office) and returned goods 1 (KHH01) on 30
    // Nov, and redeemed then cancelled goods 2. On 1 Dec, head office redeems gift 2.
    w.clock.advance(chrono::Duration::days(1));
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let (status, body) = w
        .call(keyed(
            "/redemptions",
            &admin,
            &fresh_key(),
            code(&w.gift[2]),
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    w.publish().await;
    // The stream delivered again from its start: nothing counts twice.
    let again = w.stack.stream_source("PublishFunction").await;
    let context = w.stack.handler_context(w.clock.clone());
    let (_, publisher) = tessera_dev::functions::stream_handlers(&context)
        .unwrap()
        .into_iter()
        .find(|(id, _)| *id == "PublishFunction")
        .unwrap();
    again.poll_once(&publisher).await.unwrap();

    let circulation = |query: &str| {
        let (w, admin, query) = (&w, &admin, query.to_owned());
        async move {
            let (status, report) = w
                .call(authed(
                    "GET",
                    &format!("/reports/circulation?{query}"),
                    admin,
                ))
                .await;
            assert_eq!(status, 200, "{query}: {report}");
            report
        }
    };
    let report = circulation("from=2026-11-30&to=2026-12-01").await;
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{report}");
    // 30 Nov: 7 issued (3×120 + 4×50 = 560); redeemed gift 0, gift 1, goods 0 (220);
    // returned goods 1 (120); goods 2's redemption was cancelled the same day.
    assert_eq!(
        figures(&days[0]),
        [f(7, "560"), f(3, "220"), f(1, "120"), f(3, "220")]
    );
    // 1 Dec: gift 2 redeemed; what circulates: goods 2 and the formula ticket (170).
    assert_eq!(
        figures(&days[1]),
        [f(0, "0"), f(1, "50"), f(0, "0"), f(2, "170")]
    );
    assert_eq!(
        figures(&report["total"]),
        [f(7, "560"), f(4, "270"), f(1, "120"), f(2, "170")]
    );
    // December alone carries November's outstanding in through the month's counters.
    let december = circulation("from=2026-12-01&to=2026-12-01").await;
    assert_eq!(
        figures(&december["total"]),
        [f(0, "0"), f(1, "50"), f(0, "0"), f(2, "170")]
    );
    // At TPE01 only its redemption; at head office the issuance and its own redemptions;
    // the partner store's redemption counts in the total only.
    let tpe = circulation("from=2026-11-30&to=2026-12-01&branch_type=branch&branch=TPE01").await;
    assert_eq!(figures(&tpe["total"])[1], f(1, "50"));
    let head = circulation("from=2026-11-30&to=2026-12-01&branch_type=head_office").await;
    assert_eq!(figures(&head["total"])[0], f(7, "560"));
    assert_eq!(figures(&head["total"])[1], f(2, "170"));
    // The ticket report by redemption date lists as many as circulation counts.
    let redeemed = w
        .all_rows(
            &admin,
            "mode=date&from=2026-11-30&to=2026-12-01&date_type=redeemed",
            100,
        )
        .await;
    assert_eq!(redeemed.len(), 4);
    let returned = w
        .all_rows(
            &admin,
            "mode=date&from=2026-11-30&to=2026-12-01&date_type=returned",
            100,
        )
        .await;
    assert_eq!(returned.len(), 1);

    // The dashboard: the last 90 days' tickets split by what became of them.
    let (status, dashboard) = w.call(authed("GET", "/dashboard", &admin)).await;
    assert_eq!(status, 200, "{dashboard}");
    let split = &dashboard["last_90_days"];
    let pair = |m: &str| {
        (
            split[m]["count"].as_i64().unwrap(),
            split[m]["amount"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        [
            pair("issued"),
            pair("redeemed"),
            pair("returned"),
            pair("unused")
        ],
        [f(7, "560"), f(4, "270"), f(1, "120"), f(2, "170")]
    );
    assert_eq!(split["to"], "2026-12-01");
    // The circulation report exports its days and total as the route shows them.
    let body =
        json!({"report": "circulation", "query": {"from": "2026-11-30", "to": "2026-12-01"}});
    let (status, queued) = w.call(keyed("/exports", &admin, &fresh_key(), body)).await;
    assert_eq!(status, 202, "{queued}");
    w.publish().await;
    w.drain("ReportExportQueue", "ReportExportFunction").await;
    let uri = format!("/exports/{}", queued["export_id"].as_str().unwrap());
    let (_, done) = w.call(authed("GET", &uri, &admin)).await;
    let bytes = get_bytes(done["download_url"].as_str().unwrap()).await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let rows: Vec<Vec<Data>> = book
        .worksheet_range("流通報表")
        .expect("the report's sheet")
        .rows()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(rows.len(), 4, "a header, two days and the total");
    assert_eq!(rows[3][0], Data::String("合計".into()));
    assert_eq!(rows[3][7], Data::String("2".into()));
    assert_eq!(rows[3][8], Data::String("170".into()));
    // December issued nothing yet; November's range issued all seven.
    assert_eq!(dashboard["issued_in_range"]["from"], "2026-12-01");
    assert_eq!(dashboard["issued_in_range"]["issued"]["count"], 0);
    let (_, november) = w
        .call(authed(
            "GET",
            "/dashboard?from=2026-11-01&to=2026-11-30",
            &admin,
        ))
        .await;
    assert_eq!(
        november["issued_in_range"]["issued"]["count"], 7,
        "{november}"
    );
    let top = &dashboard["top_products"];
    assert_eq!(top["goods_voucher"][0]["name"], "拿鐵提貨券");
    assert_eq!(top["goods_voucher"][0]["issued_count"], 3);
    assert_eq!(top["gift_voucher"][0]["issued_count"], 4);
    assert_eq!(top["gift_voucher"].as_array().unwrap().len(), 1);
    // A bound branch account sees its branch; asking for head office is refused.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/circulation?from=2026-11-30&to=2026-12-01&branch_type=head_office",
            &cashier,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("OTHER_BRANCH"))
    );
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/circulation?from=2026-01-01&to=2026-12-01",
            &admin,
        ))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(error_fields(&problem), ["to"]);
}

#[tokio::test]
async fn a_store_sees_what_it_redeemed_for_others_and_a_branch_what_it_did() {
    let w = world().await;
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let code = |t: &Ticket| json!({"code": t.redemption_code});
    for ticket in [&w.gift[1], &w.goods[2]] {
        let (status, body) = w
            .call(keyed("/redemptions", &partner, &fresh_key(), code(ticket)))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // The partner cancels one of them: it drops out of its cross-store report.
    let cancel = json!({"code": w.goods[2].redemption_code, "reason": "按錯"});
    let (status, body) = w
        .call(keyed("/redemptions/cancel", &partner, &fresh_key(), cancel))
        .await;
    assert_eq!(status, 200, "{body}");
    let day = today();
    let cross = format!("from={day}&to={day}");
    let (status, page) = w
        .call(authed(
            "GET",
            &format!("/reports/cross-store?{cross}"),
            &partner,
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{page}");
    assert_eq!(rows[0]["ticket_no"], w.gift[1].ticket_no.as_str());
    assert_eq!(rows[0]["issuer"], PARENT);
    assert_eq!(rows[0]["product_name"], "生日禮券");
    assert!(rows[0].get("buyer_name").is_none(), "nothing of the buyer");
    // Of one issuer only; another issuer's filter finds nothing; the issuer itself
    // redeemed nobody else's tickets.
    let (_, page) = w
        .call(authed(
            "GET",
            &format!("/reports/cross-store?{cross}&issuer={CHILD}"),
            &partner,
        ))
        .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 0, "{page}");
    let (_, page) = w
        .call(authed(
            "GET",
            &format!("/reports/cross-store?{cross}"),
            &w.admin,
        ))
        .await;
    assert_eq!(page["rows"].as_array().unwrap().len(), 0, "{page}");

    // The branch report: TPE01 redeemed gift 0, KHH01 returned goods 1.
    for (branch, ticket, operation) in [
        ("TPE01", &w.gift[0], "核銷"),
        ("KHH01", &w.goods[1], "退貨"),
    ] {
        let (status, page) = w
            .call(authed(
                "GET",
                &format!("/reports/branch?from={day}&to={day}&branch={branch}"),
                &w.admin,
            ))
            .await;
        assert_eq!(status, 200, "{page}");
        let rows = page["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{branch}: {page}");
        assert_eq!(rows[0]["ticket_no"], ticket.ticket_no.as_str());
        assert_eq!(rows[0]["operation"], operation);
    }
    // A branch-bound account reads its own branch's report only.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/reports/branch?from={day}&to={day}&branch=KHH01"),
            &cashier,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("OTHER_BRANCH"))
    );
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/reports/branch?from={day}&to={day}"),
            &w.admin,
        ))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(error_fields(&problem), ["branch"]);

    // The cross-store report exports like any other.
    let body = json!({"report": "cross_store", "query": {"from": day, "to": day}});
    let (status, queued) = w
        .call(keyed("/exports", &partner, &fresh_key(), body))
        .await;
    assert_eq!(status, 202, "{queued}");
    w.publish().await;
    w.drain("ReportExportQueue", "ReportExportFunction").await;
    let uri = format!("/exports/{}", queued["export_id"].as_str().unwrap());
    let (status, done) = w.call(authed("GET", &uri, &partner)).await;
    assert_eq!(
        (status, done["rows_written"].as_u64()),
        (200, Some(1)),
        "{done}"
    );
    let bytes = get_bytes(done["download_url"].as_str().unwrap()).await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let sheet = book
        .worksheet_range("跨店核銷報表")
        .expect("the report's sheet");
    assert_eq!(sheet.rows().count(), 2);
    let (status, problem) = w
        .call(keyed(
            "/exports",
            &partner,
            &fresh_key(),
            json!({"report": "branch", "query": {"from": day, "to": day, "branch": 7}}),
        ))
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(error_fields(&problem), ["query"]);
}

#[tokio::test]
async fn the_sms_log_and_the_bills_export_with_their_own_rights() {
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let sms =
        |id: &str, minutes: i64, body: &str| tessera_platform::store::notifications::SmsLogEntry {
            notification_id: id.to_owned(),
            merchant_id: PARENT.to_owned(),
            at: tessera_tests::test_start() + chrono::Duration::minutes(minutes),
            to: "0912345678".to_owned(),
            buyer_name: "王小明".to_owned(),
            body: body.to_owned(),
            purpose: "issue".to_owned(),
        };
    for (id, minutes, body) in [
        ("s1", 0, "=1+1 您的票券"),
        ("s2", 5, "您的票券"),
        ("s3", -60 * 24 * 200, "很久以前"),
    ] {
        w.services
            .table
            .record_sms(&sms(id, minutes, body))
            .await
            .unwrap();
    }
    let day = today();
    let (status, page) = w
        .call(authed(
            "GET",
            &format!("/reports/sms-log?from={day}&to={day}&limit=1"),
            &admin,
        ))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["rows"][0]["mobile"], "0912***678");
    assert_eq!(page["rows"][0]["body"], "=1+1 您的票券");
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, second) = w
        .call(authed(
            "GET",
            &format!("/reports/sms-log?from={day}&to={day}&limit=1&cursor={cursor}"),
            &admin,
        ))
        .await;
    assert_eq!(second["rows"][0]["body"], "您的票券");
    assert!(second["next_cursor"].is_null(), "{second}");
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/sms-log?from=2026-01-01&to=2026-11-30",
            &admin,
        ))
        .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["to".to_owned()])
    );
    // cashier01 has the reports right but not the SMS log's.
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/reports/sms-log?from={day}&to={day}"),
            &cashier,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
    let export = json!({"report": "sms_log", "query": {"from": day, "to": day}});
    let (status, problem) = w
        .call(keyed("/exports", &cashier, &fresh_key(), export.clone()))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );

    // The admin exports the SMS log and the bills.
    w.services
        .table
        .record_daily_fee_total(
            &tessera_domain::values::MerchantId::parse("m", PARENT).unwrap(),
            &tessera_domain::billing::DailyFeeTotal {
                date: chrono::NaiveDate::from_ymd_opt(2026, 10, 2).unwrap(),
                item: tessera_domain::merchant::FeeItem::Sms,
                amount: rust_decimal::Decimal::new(6, 0),
            },
        )
        .await
        .unwrap();
    let close = axum::http::Request::post("/_dev/schedules/BillingCloseFunction.MonthlyClose/run")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = w.call(close).await;
    assert_eq!(status, 204, "{body}");
    let mut files = Vec::new();
    for body in [
        export,
        json!({"report": "bills"}),
        json!({"report": "branches"}),
        json!({"report": "redeemable_stores"}),
        json!({"report": "products", "query": {"from": "2026-01-01", "to": "2026-11-30"}}),
        json!({"report": "bindings"}),
    ] {
        let (status, queued) = w.call(keyed("/exports", &admin, &fresh_key(), body)).await;
        assert_eq!(status, 202, "{queued}");
        files.push(queued["export_id"].as_str().unwrap().to_owned());
    }
    w.publish().await;
    assert_eq!(
        w.drain("ReportExportQueue", "ReportExportFunction").await,
        6
    );
    let mut sheets = Vec::new();
    for (id, sheet) in files.iter().zip([
        "簡訊發送紀錄",
        "帳單報表",
        "票券分店",
        "可核銷商店",
        "商品管理",
        "子帳號綁定分店",
    ]) {
        let (status, done) = w
            .call(authed("GET", &format!("/exports/{id}"), &admin))
            .await;
        assert_eq!(
            (status, done["status"].as_str()),
            (200, Some("done")),
            "{done}"
        );
        let bytes = get_bytes(done["download_url"].as_str().unwrap()).await;
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
        let rows: Vec<Vec<Data>> = book
            .worksheet_range(sheet)
            .expect("the report's sheet")
            .rows()
            .map(|r| r.to_vec())
            .collect();
        sheets.push(rows);
    }
    assert_eq!(sheets[0].len(), 3, "a header and today's two messages");
    // The demo's branches (TPE01, KHH01), its redeemable store, and no products yet.
    let codes: Vec<&Data> = sheets[2].iter().skip(1).map(|r| &r[0]).collect();
    assert!(
        codes.contains(&&Data::String("TPE01".into())),
        "{:?}",
        sheets[2]
    );
    assert!(
        sheets[3]
            .iter()
            .skip(1)
            .any(|r| r[0] == Data::String(PARTNER.into())),
        "{:?}",
        sheets[3]
    );
    assert_eq!(sheets[4].len(), 1, "only the header: {:?}", sheets[4]);
    // The demo's three sub-accounts, none bound yet.
    assert_eq!(sheets[5].len(), 4, "{:?}", sheets[5]);
    assert_eq!(sheets[0][1][4], Data::String("'=1+1 您的票券".into()));
    // October's bill: its SMS fee, then the month's total and amount due.
    let october: Vec<&Vec<Data>> = sheets[1]
        .iter()
        .filter(|r| r[0] == Data::String("2026-10".into()))
        .collect();
    assert_eq!(
        october.len(),
        5,
        "four fee items and the total: {:?}",
        sheets[1]
    );
    let sms = october
        .iter()
        .find(|r| r[1] == Data::String("簡訊費".into()))
        .unwrap();
    assert_eq!(sms[2], Data::String("6".into()));
    let total = october.last().unwrap();
    assert_eq!(
        [&total[1], &total[3], &total[4]],
        [
            &Data::String("合計".into()),
            &Data::String("6".into()),
            &Data::String("未繳費".into())
        ]
    );
}

#[tokio::test]
async fn an_export_that_keeps_failing_says_so_after_the_last_try() {
    use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
    use tessera_platform::store::exports::{ExportRecord, ExportStatus};
    let w = seeded().await;
    let admin = w.token(PARENT, "admin", ADMIN_PASSWORD).await;
    // An export whose request no worker can read (written by a newer version, say).
    let export_id = uuid::Uuid::new_v4().simple().to_string();
    let at = tessera_tests::test_start();
    let record = ExportRecord {
        merchant_id: tessera_domain::values::MerchantId::parse("m", PARENT).unwrap(),
        export_id: export_id.clone(),
        request: json!({"report": "from_the_future"}),
        status: ExportStatus::Queued,
        rows_written: 0,
        parts: Vec::new(),
        resume_after: None,
        failure: None,
        requested_by: tessera_domain::values::AccountName::parse_login("a", "admin").unwrap(),
        created_at: at,
        updated_at: at,
        finished_at: None,
        version: 1,
    };
    w.services.table.create_export(&record).await.unwrap();
    let handler = w.handler("ReportExportFunction");
    let delivery = |receives: &str| {
        let mut message = SqsMessage::default();
        message.message_id = Some(format!("m{receives}"));
        message.body = Some(json!({"merchant_id": PARENT, "export_id": export_id}).to_string());
        message
            .attributes
            .insert("ApproximateReceiveCount".to_owned(), receives.to_owned());
        let mut event = SqsEvent::default();
        event.records = vec![message];
        event
    };
    let uri = format!("/exports/{export_id}");
    // A try before the last: SQS will deliver it again; the export still waits.
    let response = handler(delivery("1")).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    let (_, view) = w.call(authed("GET", &uri, &admin)).await;
    assert_ne!(view["status"], "failed", "{view}");
    // The last try: the message goes to the DLQ and the export says why it stopped.
    let response = handler(delivery("5")).await.unwrap();
    assert_eq!(response.batch_item_failures.len(), 1);
    let (status, view) = w.call(authed("GET", &uri, &admin)).await;
    assert_eq!(
        (status, view["status"].as_str()),
        (200, Some("failed")),
        "{view}"
    );
    assert!(
        view["failure"].as_str().unwrap().contains("export request"),
        "{view}"
    );
    assert!(view["download_url"].is_null());
}

#[tokio::test]
async fn issued_orders_are_listed_by_issue_day_page_by_page_and_exported() {
    let w = world().await;
    let day = today();
    // RP0 (3 goods at 120), RP1 (3 gift at 50) and RP2 (the formula buyer), issued today.
    let mut imports = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let mut uri = format!("/reports/issued-orders?from={day}&to={day}&limit=2");
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = w.call(authed("GET", &uri, &w.admin)).await;
        assert_eq!(status, 200, "{page}");
        for row in page["rows"].as_array().unwrap() {
            imports.push(row["import_no"].as_str().unwrap().to_owned());
            if row["import_no"] == "RP0" {
                assert_eq!(row["quantity"], "3");
                assert_eq!(row["amount"], "360");
                assert_eq!(row["trade_no"], "RPORDER");
                assert_eq!(row["buyer_mobile"], "0912***678");
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let mut sorted = imports.clone();
    sorted.sort();
    assert_eq!(sorted, ["RP0", "RP1", "RP2"], "each once: {imports:?}");

    // Another day shows none; more than three months is refused; the range is checked.
    let (status, page) = w
        .call(authed(
            "GET",
            "/reports/issued-orders?from=2026-10-01&to=2026-10-31",
            &w.admin,
        ))
        .await;
    assert_eq!(
        (status, page["rows"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let (status, problem) = w
        .call(authed(
            "GET",
            "/reports/issued-orders?from=2026-01-01&to=2026-11-30",
            &w.admin,
        ))
        .await;
    assert_eq!(
        (status, error_fields(&problem)),
        (400, vec!["to".to_owned()])
    );
    // Another merchant sees its own (none); the cashier has no right to issued orders.
    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, page) = w
        .call(authed(
            "GET",
            &format!("/reports/issued-orders?from={day}&to={day}"),
            &partner,
        ))
        .await;
    assert_eq!(
        (status, page["rows"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    let cashier = w.token(PARENT, "cashier01", STAFF_PASSWORD).await;
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/reports/issued-orders?from={day}&to={day}"),
            &cashier,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );

    // Exported: a header and the three orders, the formula buyer neutralised.
    let export = json!({"report": "issued_orders", "query": {"from": day, "to": day}});
    let (status, queued) = w
        .call(keyed("/exports", &w.admin, &fresh_key(), export))
        .await;
    assert_eq!(status, 202, "{queued}");
    w.publish().await;
    assert_eq!(
        w.drain("ReportExportQueue", "ReportExportFunction").await,
        1
    );
    let id = queued["export_id"].as_str().unwrap();
    let (status, done) = w
        .call(authed("GET", &format!("/exports/{id}"), &w.admin))
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (200, Some("done")),
        "{done}"
    );
    let bytes = get_bytes(done["download_url"].as_str().unwrap()).await;
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx file");
    let rows: Vec<Vec<Data>> = book
        .worksheet_range("發行訂單")
        .expect("the report's sheet")
        .rows()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0][1], Data::String("匯入序號".into()));
    let names: Vec<&Data> = rows.iter().skip(1).map(|r| &r[8]).collect();
    assert!(
        names.contains(&&Data::String(format!("'{FORMULA_NAME}"))),
        "a formula is written as text: {names:?}"
    );
}
