//! Batch issuance end to end: HTTP API → presigned S3 upload → preview → confirm → SQS →
//! worker → DynamoDB, with real xlsx files (rust_xlsxwriter, and one from openpyxl).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tessera_dev::seed::{ADMIN_PASSWORD, PARENT, PARTNER};
use tessera_domain::issuance::COLUMNS;
use tessera_domain::orders::{OrderStatus, TradeNo};
use tessera_domain::products::ProductId;
use tessera_domain::tickets::{RedemptionCode, TicketNumber, TicketStatus};

fn ticket_number(sequence: u64) -> TicketNumber {
    TicketNumber::from_sequence(sequence)
}
use tessera_domain::values::MerchantId;
use tessera_platform::store::issuance::BatchMessage;
use tessera_platform::store::{key, keys, Item};
use tessera_tests::{authed, json_request, seeded, test_start, Seeded};

struct World {
    base: Seeded,
    /// The admin's token; signed in again when a test moves the clock past its lifetime.
    admin_token: std::sync::Mutex<String>,
    goods: String,
    gift: String,
    merchant: MerchantId,
}

tessera_tests::deref_to_seeded!(World);

async fn world() -> World {
    let base = seeded().await;
    let admin = base.token(PARENT, "admin", ADMIN_PASSWORD).await;
    let mut ids = Vec::new();
    for product in [
        json!({"name": "拿鐵提貨券", "kind": "goods_voucher", "term_days": 365, "face_value": 120}),
        json!({"name": "生日禮券", "kind": "gift_voucher", "term_days": 30, "face_value": 50}),
    ] {
        let (status, body) = base
            .call(json_request("POST", "/products", Some(&admin), product))
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["product_id"].as_str().unwrap().to_owned());
    }
    World {
        base,
        admin_token: std::sync::Mutex::new(admin),
        gift: ids.pop().unwrap(),
        goods: ids.pop().unwrap(),
        merchant: MerchantId::parse("m", PARENT).unwrap(),
    }
}

type Row = [String; 8];

fn row(cells: [&str; 8]) -> Row {
    cells.map(str::to_owned)
}

/// A filled template, as rust_xlsxwriter writes it.
fn xlsx(rows: &[Row]) -> Vec<u8> {
    tessera_sheets::issuance_template(rows).unwrap()
}

impl World {
    fn admin(&self) -> String {
        self.admin_token.lock().unwrap().clone()
    }

    async fn sign_in_again(&self) {
        let token = self.token(PARENT, "admin", ADMIN_PASSWORD).await;
        *self.admin_token.lock().unwrap() = token;
    }

    async fn order(&self, trade_no: &str, quantity: u32, paid_at: DateTime<Utc>) {
        let body = json!({
            "trade_no": trade_no, "product_id": self.goods, "amount": 120 * quantity, "quantity": quantity,
            "cardholder_name": "王小明", "cardholder_mobile": "0912345678", "paid_at": paid_at
        });
        let (status, body) = self
            .call(json_request("POST", "/orders", Some(&self.admin()), body))
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// Asks for an upload URL and PUTs the file there, as a browser would.
    async fn upload_as(&self, token: &str, method: &str, bytes: &[u8]) -> String {
        let (status, ticket) = self
            .call(json_request(
                "POST",
                "/issuance/uploads",
                Some(token),
                json!({"delivery_method": method, "size": bytes.len()}),
            ))
            .await;
        assert_eq!(status, 201, "{ticket}");
        let status = tessera_tests::put_to(
            ticket["upload_url"].as_str().unwrap(),
            ticket["content_type"].as_str().unwrap(),
            bytes,
        )
        .await;
        assert_eq!(status, 200);
        ticket["upload_id"].as_str().unwrap().to_owned()
    }

    async fn upload(&self, method: &str, bytes: &[u8]) -> String {
        self.upload_as(&self.admin(), method, bytes).await
    }

    async fn preview(&self, upload_id: &str) -> (u16, Value) {
        self.call(json_request(
            "POST",
            &format!("/issuance/uploads/{upload_id}/preview"),
            Some(&self.admin()),
            json!({}),
        ))
        .await
    }

    async fn confirm(&self, upload_id: &str) -> (u16, Value) {
        self.call(json_request(
            "POST",
            &format!("/issuance/uploads/{upload_id}/confirm"),
            Some(&self.admin()),
            json!({}),
        ))
        .await
    }

    async fn batch(&self, batch_id: &str) -> Value {
        let (status, body) = self
            .call(authed(
                "GET",
                &format!("/issuance/batches/{batch_id}"),
                &self.admin(),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Runs the batch-issue worker over whatever the queue holds (as Lambda's SQS
    /// integration would); how many messages it took.
    async fn run_worker(&self) -> usize {
        self.publish().await;
        self.drain("BatchIssueQueue", "BatchIssueFunction").await
    }

    /// Puts something where ticket number `sequence` goes, so that the row given that
    /// number cannot be written until `remove_item` takes it away again.
    async fn block_ticket_number(&self, sequence: u64) -> Item {
        let blocker = key(keys::ticket(ticket_number(sequence).as_str()), keys::TICKET);
        self.put_item(blocker.clone()).await;
        blocker
    }

    /// Writes an item as it is, past the store's code (to stage what a crash leaves).
    async fn put_item(&self, item: Item) {
        let table = &self.services.table;
        table
            .client
            .put_item()
            .table_name(&table.name)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    /// A paid order as stored.
    async fn stored_order(&self, trade_no: &str) -> tessera_platform::store::orders::OrderRecord {
        self.services
            .table
            .get_order(
                &self.merchant,
                &TradeNo::parse("trade_no", trade_no).unwrap(),
            )
            .await
            .unwrap()
            .unwrap()
    }

    /// What a crash right after a batch's first row committed leaves unwritten: the row
    /// result and the paid order's "issued" history entry (both written after the commit).
    async fn forget_first_row_records(&self, batch_id: &str, trade_no: &str) {
        let order = self.stored_order(trade_no).await;
        for item in [
            key(keys::batch_rows(batch_id), &keys::batch_row(0)),
            key(
                keys::merchant(PARENT),
                &keys::history("order", trade_no, order.version),
            ),
        ] {
            self.remove_item(item).await;
        }
    }

    /// As if the worker had stopped before finishing: the batch back to issuing, by hand
    /// (no code path moves a done batch back).
    async fn reopen_batch(&self, batch_id: &str) {
        let table = &self.services.table;
        table
            .client
            .update_item()
            .table_name(&table.name)
            .set_key(Some(key(
                keys::merchant(self.merchant.as_str()),
                &keys::batch(batch_id),
            )))
            .update_expression("SET #status = :issuing")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(
                ":issuing",
                aws_sdk_dynamodb::types::AttributeValue::S("issuing".to_owned()),
            )
            .send()
            .await
            .unwrap();
    }

    async fn remove_item(&self, item_key: Item) {
        let table = &self.services.table;
        table
            .client
            .delete_item()
            .table_name(&table.name)
            .set_key(Some(item_key))
            .send()
            .await
            .unwrap();
    }

    /// The same message delivered again (an SQS redelivery), straight to the handler.
    async fn redeliver(&self, batch_id: &str, receive_count: u32) -> usize {
        let mut message = SqsMessage::default();
        message.message_id = Some(uuid::Uuid::new_v4().to_string());
        message.body = Some(
            serde_json::to_string(&BatchMessage {
                merchant_id: PARENT.to_owned(),
                batch_id: batch_id.to_owned(),
            })
            .unwrap(),
        );
        message.attributes.insert(
            "ApproximateReceiveCount".to_owned(),
            receive_count.to_string(),
        );
        let mut event = SqsEvent::default();
        event.records.push(message);
        let response = (self.handler("BatchIssueFunction"))(event).await.unwrap();
        response.batch_item_failures.len()
    }

    /// What the publisher put on the notifications queue, taken off it unsent.
    async fn queued_notifications(&self) -> Vec<Value> {
        self.publish().await;
        let url = self.stack.provisioned.queue_urls["NotificationsQueue"].clone();
        let mut out = Vec::new();
        loop {
            let received = self
                .stack
                .aws
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(60)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                let queued: tessera_domain::notification::QueuedNotifications =
                    serde_json::from_str(m.body().unwrap()).unwrap();
                for n in queued.into_vec() {
                    out.push(serde_json::to_value(n).unwrap());
                }
            }
        }
    }

    async fn tickets_of(&self, import_no: &str) -> Vec<tessera_platform::store::tickets::Ticket> {
        self.services
            .table
            .tickets_of_issued_order(&self.merchant, import_no)
            .await
            .unwrap()
    }

    async fn switch_sms_on(&self) {
        let (status, body) = self
            .call(json_request(
                "PUT",
                "/merchant/operation-settings",
                Some(&self.admin()),
                json!({"sms_enabled": true, "consumer_returns_enabled": false}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

fn unique_email(name: &str) -> String {
    format!(
        "{name}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

#[tokio::test]
async fn an_electronic_batch_is_previewed_confirmed_issued_and_mailed_once() {
    let w = world().await;
    w.switch_sms_on().await;
    w.order("ORD100", 2, test_start() - Duration::days(3)).await;
    let (ming, hua) = (unique_email("ming"), unique_email("hua"));
    let file = xlsx(&[
        row([
            "IMP100",
            "ORD100",
            &w.goods,
            "2",
            "王小明",
            "0912345678",
            &ming,
            "VIP",
        ]),
        row(["IMP101", "", &w.gift, "1", "陳小華", "0987654321", &hua, ""]),
    ]);
    let upload = w.upload("electronic_immediate", &file).await;

    let (status, preview) = w.preview(&upload).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["can_confirm"], true, "{preview}");
    assert_eq!(preview["tickets_total"], 3);
    assert_eq!(preview["rows"][0]["cells"]["購買人Email"], ming.as_str());

    let (status, batch) = w.confirm(&upload).await;
    assert_eq!(status, 202, "{batch}");
    assert_eq!(batch["status"], "queued");
    assert_eq!(batch["batch_id"], upload.as_str());
    // Confirming again (a double click, a retry) gives the same batch, not a second one.
    let (status, again) = w.confirm(&upload).await;
    assert_eq!(status, 202);
    assert_eq!(again["batch_id"], batch["batch_id"]);

    assert!(w.run_worker().await >= 1);
    let done = w.batch(&upload).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(
        (done["rows_done"].as_u64(), done["rows_failed"].as_u64()),
        (Some(2), Some(0))
    );
    let (_, list) = w.call(authed("GET", "/issuance/batches", &w.admin())).await;
    assert_eq!(list["items"][0]["batch_id"], upload.as_str());
    // The rows committed together with their order.issued event (one per transaction).
    let issued = w
        .services
        .table
        .get_event(&format!("issued-{upload}-IMP100"))
        .await
        .unwrap()
        .expect("the batch's order.issued event");
    assert_eq!(
        issued.event_type,
        tessera_domain::events::EventType::OrderIssued
    );
    let data: Value = serde_json::from_str(&issued.data).unwrap();
    let imports: Vec<&str> = data["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["import_no"].as_str().unwrap())
        .collect();
    assert_eq!(imports, ["IMP100", "IMP101"]);

    // Tickets: numbered, unused, with their term, codes and links, findable by code.
    let tickets = w.tickets_of("IMP100").await;
    assert_eq!(tickets.len(), 2);
    let first = &tickets[0];
    assert_eq!(first.status, TicketStatus::Unused);
    assert_eq!(first.ticket_no, ticket_number(1));
    assert_eq!(first.product_id, w.goods);
    assert_eq!(first.face_value.to_string(), "120");
    assert_eq!(first.term_ends_on.to_string(), "2027-11-30");
    assert_eq!(first.trade_no.as_ref().map(TradeNo::as_str), Some("ORD100"));
    assert_eq!(first.issued_by.as_str(), "admin");
    assert_eq!(first.buyer.mobile, "0912345678");
    assert_eq!(
        first.redemption_code.as_str().len(),
        tessera_domain::tickets::REDEMPTION_CODE_LEN
    );
    assert_ne!(first.redemption_code, tickets[1].redemption_code);
    // The buyer's e-ticket page: one link for the order, claimed with it.
    let issued = w
        .services
        .table
        .get_issued_order(&w.merchant, "IMP100")
        .await
        .unwrap()
        .unwrap();
    let link = issued.link_token.clone().unwrap();
    assert_eq!(link.len(), 40);
    let by_code = w
        .services
        .table
        .ticket_by_code(&first.redemption_code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_code.ticket_no, first.ticket_no);
    // The code spells the ticket's number, but only the ticket's own code opens it: the
    // other ticket's random part with this one's number, or a code not yet given to any
    // ticket, leads nowhere.
    let random_len = tessera_domain::tickets::CODE_RANDOM_LEN;
    let forged = format!(
        "{}{}",
        &tickets[1].redemption_code.as_str()[..random_len],
        &first.redemption_code.as_str()[random_len..]
    );
    let forged = RedemptionCode::parse("code", &forged).unwrap();
    assert_eq!(
        w.services.table.ticket_by_code(&forged).await.unwrap(),
        None
    );
    let unissued = RedemptionCode::generate(999_999, [3; 16]);
    assert_eq!(
        w.services.table.ticket_by_code(&unissued).await.unwrap(),
        None
    );
    // The link's claim names the order (the page itself is tested in consumer.rs).
    assert_eq!(
        w.services.table.link_target(&link).await.unwrap(),
        Some(tessera_platform::store::links::LinkTarget::Order {
            merchant_id: w.merchant.clone(),
            import_no: "IMP100".to_owned(),
        })
    );
    let history = w
        .services
        .table
        .ticket_history(&first.ticket_no)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, "issued");
    let gift = w.tickets_of("IMP101").await;
    assert_eq!(gift[0].term_ends_on.to_string(), "2026-12-30");

    // The paid order is issued, and the product's terms are now locked.
    let order = w.stored_order("ORD100").await;
    assert_eq!(order.status, OrderStatus::Issued);
    assert_eq!(issued_entries(&w, "ORD100").await, 1);
    let (_, product) = w
        .call(authed("GET", &format!("/products/{}", w.goods), &w.admin()))
        .await;
    assert!(product["first_issued_at"].is_string(), "{product}");
    let mut edit = product.clone();
    edit["face_value"] = json!(150);
    let (status, problem) = w
        .call(json_request(
            "PUT",
            &format!("/products/{}", w.goods),
            Some(&w.admin()),
            edit,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("PRODUCT_ISSUED_LOCKED"))
    );

    // The same message delivered again: nothing new.
    assert_eq!(w.redeliver(&upload, 2).await, 0);
    assert_eq!(w.tickets_of("IMP100").await, tickets);
    assert_eq!(issued_entries(&w, "ORD100").await, 1);

    // One mail per buyer with its links, one SMS each, recorded in the SMS log.
    w.deliver_notifications().await;
    let mails = tessera_tests::mail_to(&ming).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].1.contains(&format!("/t/{link}")), "{mails:?}");
    let sms = w
        .services
        .table
        .sms_log(
            &w.merchant,
            test_start() - Duration::days(1),
            Utc::now() + Duration::days(1),
        )
        .await
        .unwrap();
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert!(sms
        .iter()
        .any(|s| s.to == "0912345678" && s.body.contains("電子票券")));
}

#[tokio::test]
async fn ibon_and_both_kinds_of_paper_end_where_they_should() {
    let w = world().await;
    let buyer = unique_email("ibon");
    let gift_row = |import_no: &str, email: &str| {
        row([
            import_no,
            "",
            &w.gift,
            "1",
            "林大同",
            "0987654321",
            email,
            "",
        ])
    };

    let ibon = w.upload("ibon", &xlsx(&[gift_row("IBON1", &buyer)])).await;
    let merchant_paper = w
        .upload("paper_by_merchant", &xlsx(&[gift_row("PAPERM1", "")]))
        .await;
    let platform_paper = w
        .upload("paper_by_platform", &xlsx(&[gift_row("PAPERP1", "")]))
        .await;
    for upload in [&ibon, &merchant_paper, &platform_paper] {
        let (status, body) = w.confirm(upload).await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(w.run_worker().await, 3);
    for upload in [&ibon, &merchant_paper, &platform_paper] {
        assert_eq!(w.batch(upload).await["status"], "done");
    }

    // ibon: a pickup code on the ticket and in the buyer's mail.
    let ticket = &w.tickets_of("IBON1").await[0];
    let code = ticket.pickup_code.clone().unwrap();
    let ibon_order = w
        .services
        .table
        .get_issued_order(&w.merchant, "IBON1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ibon_order.link_token, None, "no e-ticket page for ibon");
    let queued = w.queued_notifications().await;
    assert_eq!(queued.len(), 1, "paper sends nothing: {queued:?}");
    assert!(queued[0]["body"].as_str().unwrap().contains(&code));

    // Paper: in the merchant's print list, or queued for the platform's print run.
    let table = &w.services.table;
    let merchant_queue = table
        .print_queue(&keys::merchant_print_queue(PARENT))
        .await
        .unwrap();
    assert_eq!(
        merchant_queue,
        [w.tickets_of("PAPERM1").await[0].ticket_no.to_string()]
    );
    let platform_queue = table.print_queue(keys::PLATFORM_PRINT_QUEUE).await.unwrap();
    assert_eq!(
        platform_queue,
        [w.tickets_of("PAPERP1").await[0].ticket_no.to_string()]
    );
}

#[tokio::test]
async fn every_row_error_is_listed_by_row_and_column_and_nothing_is_issued() {
    let w = world().await;
    w.order("ORD200", 2, test_start() - Duration::days(1)).await;
    w.order("ORD201", 1, test_start() - Duration::days(25))
        .await;
    let (_, partner_product) = {
        let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
        let product =
            json!({"name": "別家的券", "kind": "gift_voucher", "term_days": 30, "face_value": 10});
        w.call(json_request("POST", "/products", Some(&partner), product))
            .await
    };
    let foreign = partner_product["product_id"].as_str().unwrap().to_owned();
    let good = row([
        "OK1",
        "ORD200",
        &w.goods,
        "2",
        "王小明",
        "0912345678",
        "a@b.tw",
        "",
    ]);
    let file = xlsx(&[
        good.clone(),
        row(["BAD-1", "", &w.gift, "1", "王", "0912345678", "a@b.tw", ""]),
        row(["BAD2", "", &w.goods, "1", "王", "0912345678", "a@b.tw", ""]),
        row([
            "BAD3",
            "ORD201",
            &w.goods,
            "1",
            "王",
            "0912345678",
            "a@b.tw",
            "",
        ]),
        row(["BAD4", "", &foreign, "1", "王", "0912345678", "a@b.tw", ""]),
        row(["BAD5", "", &w.gift, "0", "王", "0912345678", "a@b.tw", ""]),
        row(["BAD6", "", &w.gift, "1", "", "0912345678", "a@b.tw", ""]),
        row(["BAD7", "", &w.gift, "1", "王", "0212345678", "a@b.tw", ""]),
        row(["BAD8", "", &w.gift, "1", "王", "0912345678", "", ""]),
        row([
            "BAD9",
            "",
            &w.gift,
            "1",
            "王",
            "0912345678",
            "a@b.tw",
            &"長".repeat(51),
        ]),
        row(["OK1", "", &w.gift, "1", "王", "0912345678", "a@b.tw", ""]),
    ]);
    let upload = w.upload("electronic_immediate", &file).await;
    let (status, preview) = w.preview(&upload).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["can_confirm"], false);
    let errors: Vec<(u64, String)> = preview["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        r["row"].as_u64().unwrap(),
                        e["column"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: Vec<(u64, &str)> = vec![
        (3, "匯入單號"),
        (4, "廠商訂單編號"),
        (5, "廠商訂單編號"),
        (6, "商品編號"),
        (7, "張數"),
        (8, "購買人姓名"),
        (9, "購買人手機"),
        (10, "購買人Email"),
        (11, "備註"),
        (12, "匯入單號"),
    ];
    assert_eq!(
        errors,
        expected
            .iter()
            .map(|(r, c)| (*r, c.to_string()))
            .collect::<Vec<_>>(),
        "{preview}"
    );
    assert!(preview["rows"][3]["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("21 days"));

    let (status, problem) = w.confirm(&upload).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("ISSUANCE_ROWS_INVALID"))
    );
    assert_eq!(problem["errors"].as_array().unwrap().len(), expected.len());
    assert_eq!(problem["errors"][0]["row"], 3);
    let (status, _) = w
        .call(authed(
            "GET",
            &format!("/issuance/batches/{upload}"),
            &w.admin(),
        ))
        .await;
    assert_eq!(status, 404, "no batch was created");
    assert_eq!(w.run_worker().await, 0);
    assert!(w.tickets_of("OK1").await.is_empty());
}

#[tokio::test]
async fn files_are_refused_whole_for_what_no_row_can_fix() {
    let w = world().await;
    let preview_code = |bytes: Vec<u8>| {
        let w = &w;
        async move {
            let upload = w.upload("electronic_immediate", &bytes).await;
            let (status, problem) = w.preview(&upload).await;
            (
                status,
                problem["code"].as_str().unwrap_or_default().to_owned(),
                problem,
            )
        }
    };
    // Not an xlsx at all.
    let (status, code, _) = preview_code(b"import_no,name\nA,B\n".to_vec()).await;
    assert_eq!((status, code.as_str()), (400, "ISSUANCE_FILE_INVALID"));
    // A row without its import number: no preview, and the row is named.
    let file = xlsx(&[
        row(["A1", "", &w.gift, "1", "王", "0912345678", "a@b.tw", ""]),
        row(["", "", &w.gift, "1", "王", "0912345678", "a@b.tw", ""]),
    ]);
    let (status, code, problem) = preview_code(file).await;
    assert_eq!((status, code.as_str()), (400, "ISSUANCE_IMPORT_NO_MISSING"));
    assert_eq!(problem["errors"][0]["row"], 3);
    // Not the template's columns.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (column, title) in ["訂單", "名字"].iter().enumerate() {
        sheet.write_string(0, column as u16, *title).unwrap();
    }
    let (status, code, _) = preview_code(book.save_to_buffer().unwrap()).await;
    assert_eq!((status, code.as_str()), (400, "ISSUANCE_TEMPLATE_MISMATCH"));
    // Too big to upload at all.
    let (status, problem) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&w.admin()),
            json!({"delivery_method": "ibon", "size": 3 * 1024 * 1024}),
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (413, Some("ISSUANCE_FILE_TOO_LARGE"))
    );
    // An upload id that was never handed out, and one whose file never arrived.
    let (status, problem) = w.preview("0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("UPLOAD_NOT_FOUND"))
    );
    let (_, ticket) = w
        .call(json_request(
            "POST",
            "/issuance/uploads",
            Some(&w.admin()),
            json!({"delivery_method": "ibon", "size": 100}),
        ))
        .await;
    let (status, problem) = w.preview(ticket["upload_id"].as_str().unwrap()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("UPLOAD_NOT_FOUND"))
    );
}

#[tokio::test]
async fn a_thousand_tickets_are_issued_and_a_thousand_and_one_refused() {
    let w = world().await;
    let over = xlsx(&[
        row(["BIG1", "", &w.gift, "1000", "王", "0912345678", "", ""]),
        row(["BIG2", "", &w.gift, "1", "王", "0912345678", "", ""]),
    ]);
    let upload = w.upload("paper_by_merchant", &over).await;
    let (status, problem) = w.preview(&upload).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (400, Some("ISSUANCE_TOO_MANY_TICKETS"))
    );

    // One row of 1000 tickets: more than one transaction holds, so the worker claims the
    // import number, writes the tickets in chunks and finishes the row.
    let upload = w
        .upload(
            "paper_by_merchant",
            &xlsx(&[row([
                "BIG1",
                "",
                &w.gift,
                "1000",
                "王",
                "0912345678",
                "",
                "",
            ])]),
        )
        .await;
    let (status, preview) = w.preview(&upload).await;
    assert_eq!(status, 200);
    assert_eq!(preview["tickets_total"], 1000);
    assert_eq!(w.confirm(&upload).await.0, 202);
    w.run_worker().await;
    let batch = w.batch(&upload).await;
    assert_eq!(batch["status"], "done", "{batch}");
    assert_eq!(
        batch["rows"][0]["ticket_numbers"].as_array().unwrap().len(),
        1000
    );
    let tickets = w.tickets_of("BIG1").await;
    assert_eq!(tickets.len(), 1000);
    let mut codes: Vec<_> = tickets.iter().map(|t| t.redemption_code.clone()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 1000, "redemption codes are unique");
    assert_eq!(tickets[999].ticket_no, ticket_number(1000));
}

#[tokio::test]
async fn the_21_day_rule_is_checked_again_when_the_worker_issues() {
    let w = world().await;
    // Paid 2026-11-10 10:00 Taipei: issuable through 2026-11-30, the tests' start day.
    w.order("ORD300", 1, test_start() - Duration::days(20))
        .await;
    w.order("ORD301", 1, test_start() - Duration::days(20))
        .await;
    let file = |import_no: &str, trade_no: &str| {
        xlsx(&[row([
            import_no,
            trade_no,
            &w.goods,
            "1",
            "王",
            "0912345678",
            "",
            "",
        ])])
    };
    // 23:59:59 Taipei on the last day: issuable, and issued.
    w.clock
        .set(test_start() + Duration::hours(14) - Duration::seconds(1));
    w.sign_in_again().await;
    let in_time = w.upload("paper_by_merchant", &file("T300", "ORD300")).await;
    assert_eq!(w.preview(&in_time).await.1["can_confirm"], true);
    assert_eq!(w.confirm(&in_time).await.0, 202);
    w.run_worker().await;
    assert_eq!(w.batch(&in_time).await["rows"][0]["outcome"], "issued");

    // Confirmed at 23:59:59, but the worker runs at 00:00 the next day: that row fails,
    // saying why, and the order stays unissued.
    let late = w.upload("paper_by_merchant", &file("T301", "ORD301")).await;
    assert_eq!(w.confirm(&late).await.0, 202);
    w.clock.set(test_start() + Duration::hours(14));
    w.sign_in_again().await;
    w.run_worker().await;
    let batch = w.batch(&late).await;
    assert_eq!(
        (batch["status"].as_str(), batch["rows_failed"].as_u64()),
        (Some("done"), Some(1))
    );
    assert!(
        batch["rows"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("2026-11-30"),
        "{batch}"
    );
    assert!(w.tickets_of("T301").await.is_empty());
    // And a preview now says the same.
    let again = w.upload("paper_by_merchant", &file("T302", "ORD301")).await;
    let (_, preview) = w.preview(&again).await;
    assert_eq!(preview["rows"][0]["errors"][0]["column"], "廠商訂單編號");
}

/// Three paid orders and one confirmed batch issuing them, rows in order; the batch id.
async fn confirmed_batch_of_orders(w: &World, trade_nos: [&str; 3]) -> String {
    let upload = previewed_orders(w, trade_nos).await;
    assert_eq!(w.confirm(&upload).await.0, 202);
    upload
}

/// Three paid orders in one uploaded file, previewed clean; the upload id.
async fn previewed_orders(w: &World, trade_nos: [&str; 3]) -> String {
    let paid = test_start() - Duration::days(1);
    for trade_no in trade_nos {
        w.order(trade_no, 1, paid).await;
    }
    let upload = w
        .upload("paper_by_merchant", &orders_file(w, trade_nos))
        .await;
    assert_eq!(w.preview(&upload).await.1["can_confirm"], true);
    upload
}

/// A file issuing one ticket for each of the orders.
fn orders_file(w: &World, trade_nos: [&str; 3]) -> Vec<u8> {
    let rows: Vec<Row> = trade_nos
        .iter()
        .map(|t| {
            row([
                &format!("I{t}"),
                t,
                &w.goods,
                "1",
                "王",
                "0912345678",
                "",
                "",
            ])
        })
        .collect();
    xlsx(&rows)
}

/// Asserts that the batch's middle row of three failed because its order was no longer
/// awaiting issuance, and the other two were issued.
fn assert_middle_order_refused(done: &Value) {
    assert_eq!(outcomes(done), ["issued", "failed", "issued"], "{done}");
    assert!(
        done["rows"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("no longer awaiting issuance"),
        "{done}"
    );
}

/// Each row's outcome in a batch's detail, in row order.
fn outcomes(batch: &Value) -> Vec<&str> {
    batch["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["outcome"].as_str().unwrap())
        .collect()
}

impl World {
    async fn abandon(&self, trade_no: &str) {
        let (status, body) = self
            .call(json_request(
                "POST",
                &format!("/orders/{trade_no}/abandon"),
                Some(&self.admin()),
                json!({}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Changes a paid order behind the worker's back (still unissued, one version on).
    async fn touch_order(&self, trade_no: &str) -> u64 {
        let mut order = self.stored_order(trade_no).await;
        order.version += 1;
        order.updated_at += Duration::minutes(1);
        let write = tessera_platform::store::orders::order_write(&order).unwrap();
        self.put_item(write.item).await;
        order.version
    }
}

#[tokio::test]
async fn orders_changed_after_confirmation_are_read_again_when_the_worker_issues() {
    let w = world().await;
    let batch = confirmed_batch_of_orders(&w, ["ORD400", "ORD401", "ORD402"]).await;
    // The plan carries each order as confirmed; after the confirmation one is abandoned
    // and another changes while still awaiting issuance.
    w.abandon("ORD401").await;
    let touched = w.touch_order("ORD402").await;
    w.run_worker().await;
    let done = w.batch(&batch).await;
    assert_eq!(
        (done["status"].as_str(), done["rows_failed"].as_u64()),
        (Some("done"), Some(1)),
        "{done}"
    );
    assert_middle_order_refused(&done);
    assert!(w.tickets_of("IORD401").await.is_empty());
    assert_eq!(w.tickets_of("IORD402").await.len(), 1);
    // Issued from the order as it was when the worker read it again, one version on.
    let changed = w.stored_order("ORD402").await;
    assert_eq!(
        (changed.status, changed.version),
        (OrderStatus::Issued, touched + 1)
    );
    assert_eq!(
        w.stored_order("ORD401").await.status,
        OrderStatus::Abandoned
    );
}

#[tokio::test]
async fn a_plan_written_without_its_orders_has_them_read_by_the_worker() {
    let w = world().await;
    let batch = confirmed_batch_of_orders(&w, ["ORD410", "ORD411", "ORD412"]).await;
    // A plan as confirmations wrote them before they kept each order as read.
    let stored = w
        .services
        .table
        .get_batch(&w.merchant, &batch)
        .await
        .unwrap()
        .unwrap();
    let uploads = w.services.uploads().unwrap();
    let too_large = tessera_domain::Error::new(tessera_domain::ErrorCode::InternalError);
    let plan = uploads
        .get_bytes(&stored.plan_key, 1 << 20, too_large)
        .await
        .unwrap()
        .unwrap();
    let mut plan: Vec<Value> = serde_json::from_slice(&plan).unwrap();
    assert!(plan.iter().all(|row| row["order_as_confirmed"].is_object()));
    for row in &mut plan {
        row.as_object_mut().unwrap().remove("order_as_confirmed");
    }
    uploads
        .put_bytes(
            &stored.plan_key,
            serde_json::to_vec(&plan).unwrap(),
            "application/json",
        )
        .await
        .unwrap();
    w.abandon("ORD411").await;
    w.run_worker().await;
    let done = w.batch(&batch).await;
    assert_eq!(outcomes(&done), ["issued", "failed", "issued"], "{done}");
    assert_eq!(w.tickets_of("IORD410").await.len(), 1);
    assert_eq!(w.stored_order("ORD412").await.status, OrderStatus::Issued);
}

#[tokio::test]
async fn a_clean_preview_spares_the_confirmation_its_reads_and_the_worker_catches_what_changed_since(
) {
    let w = world().await;
    let upload = previewed_orders(&w, ["ORD420", "ORD421", "ORD422"]).await;
    // Abandoned after the preview: the confirmation does not read the orders again (a
    // full check would refuse it here), and the worker's write, conditional on the order
    // as previewed, finds the change and fails that row alone.
    w.abandon("ORD421").await;
    let (status, body) = w.confirm(&upload).await;
    assert_eq!(status, 202, "{body}");
    w.run_worker().await;
    let done = w.batch(&upload).await;
    assert_middle_order_refused(&done);
    assert!(w.tickets_of("IORD421").await.is_empty());
    assert_eq!(
        w.stored_order("ORD421").await.status,
        OrderStatus::Abandoned
    );
}

#[tokio::test]
async fn a_confirmation_checks_the_file_again_when_its_preview_does_not_stand() {
    let w = world().await;

    // The product is delisted after a clean preview: products are read again, and the
    // confirmation refuses with the rows' errors.
    let delisted = previewed_orders(&w, ["ORD430", "ORD431", "ORD432"]).await;
    let (status, body) = w
        .call(json_request(
            "POST",
            "/products/delist",
            Some(&w.admin()),
            json!({"product_ids": [w.goods]}),
        ))
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, problem) = w.confirm(&delisted).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("ISSUANCE_ROWS_INVALID")),
        "{problem}"
    );
    assert!(problem.to_string().contains("delisted"), "{problem}");
    let (status, body) = w
        .call(json_request(
            "POST",
            "/products/relist",
            Some(&w.admin()),
            json!({"product_ids": [w.goods]}),
        ))
        .await;
    assert_eq!(status, 204, "{body}");

    // Another file put where the previewed one was (the upload link still works): the
    // preview was of other bytes, so the new file is checked, and its unknown order refused.
    let replaced = previewed_orders(&w, ["ORD433", "ORD434", "ORD435"]).await;
    let object_key = tessera_platform::store::object_keys::issuance_upload(&w.merchant, &replaced);
    w.services
        .uploads()
        .unwrap()
        .put_bytes(
            &object_key,
            orders_file(&w, ["ORD433", "ORD434", "ORD439"]),
            tessera_sheets::XLSX_CONTENT_TYPE,
        )
        .await
        .unwrap();
    let (status, problem) = w.confirm(&replaced).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem.to_string().contains("廠商訂單編號"), "{problem}");

    // A preview with errors (an order not yet recorded) keeps nothing to reuse: once the
    // order is there, the confirmation checks the file as it is now and queues it.
    let (paid, later) = (test_start() - Duration::days(1), "ORD438");
    for trade_no in ["ORD436", "ORD437"] {
        w.order(trade_no, 1, paid).await;
    }
    let file = orders_file(&w, ["ORD436", "ORD437", later]);
    let upload = w.upload("paper_by_merchant", &file).await;
    assert_eq!(w.preview(&upload).await.1["can_confirm"], false);
    w.order(later, 1, paid).await;
    let (status, body) = w.confirm(&upload).await;
    assert_eq!(status, 202, "{body}");
    w.run_worker().await;
    let done = w.batch(&upload).await;
    assert_eq!(outcomes(&done), ["issued", "issued", "issued"], "{done}");
    let refused = w.services.table.get_batch(&w.merchant, &delisted).await;
    assert!(
        refused.unwrap().is_none(),
        "the refused upload has no batch"
    );
}

#[tokio::test]
async fn an_electronic_row_committed_just_before_a_crash_gets_its_link_back_on_redelivery() {
    let w = world().await;
    w.order("ORD710", 1, test_start() - Duration::days(1)).await;
    let email = unique_email("link");
    let file = xlsx(&[row([
        "IMP710",
        "ORD710",
        &w.goods,
        "1",
        "王小明",
        "0912345678",
        &email,
        "",
    ])]);
    let upload = w.upload("electronic_immediate", &file).await;
    assert_eq!(w.confirm(&upload).await.0, 202);
    w.run_worker().await;
    let issued = w
        .services
        .table
        .get_issued_order(&w.merchant, "IMP710")
        .await
        .unwrap()
        .unwrap();
    let token = issued.link_token.clone().unwrap();
    let link = key(keys::ticket_link(&token), keys::LINK);
    let claim = w.services.table.link_target(&token).await.unwrap();
    assert!(claim.is_some(), "the buyer's link is claimed");

    // A crash after the row's transaction, before what is written beside and after it:
    // the link claim (beside the transaction since it is not part of the row's atomic
    // core), the order's history entry and the row result are gone.
    w.remove_item(link).await;
    w.forget_first_row_records(&upload, "ORD710").await;
    assert!(w
        .services
        .table
        .link_target(&token)
        .await
        .unwrap()
        .is_none());
    w.reopen_batch(&upload).await;

    // The redelivery finds the row committed and writes the claim again, for the token the
    // issued order carries (the one the buyer is sent).
    assert_eq!(w.redeliver(&upload, 2).await, 0);
    assert_eq!(w.batch(&upload).await["status"], "done");
    assert_eq!(w.services.table.link_target(&token).await.unwrap(), claim);
    assert_eq!(
        w.services
            .table
            .get_issued_order(&w.merchant, "IMP710")
            .await
            .unwrap()
            .unwrap()
            .link_token,
        Some(token)
    );
    assert_eq!(issued_entries(&w, "ORD710").await, 1);
}

#[tokio::test]
async fn a_worker_that_fails_mid_batch_resumes_without_duplicates() {
    let w = world().await;
    let file = xlsx(&[
        row(["R1", "", &w.gift, "2", "王", "0912345678", "", ""]),
        row(["R2", "", &w.gift, "1", "王", "0912345678", "", ""]),
        row(["R3", "", &w.gift, "1", "王", "0912345678", "", ""]),
    ]);
    let upload = w.upload("paper_by_merchant", &file).await;
    assert_eq!(w.confirm(&upload).await.0, 202);
    // Something else holds the ticket number row 2 was given (numbers 1-2 are row 1's): its
    // write fails until the obstacle is gone.
    let blocker = w.block_ticket_number(3).await;
    w.run_worker().await;
    let stuck = w.batch(&upload).await;
    assert_eq!(stuck["status"], "issuing", "{stuck}");
    assert_eq!(stuck["rows_done"], 2);
    let row_one = w.tickets_of("R1").await;

    w.remove_item(blocker).await;
    assert_eq!(w.redeliver(&upload, 2).await, 0);
    let done = w.batch(&upload).await;
    assert_eq!(
        (done["status"].as_str(), done["rows_done"].as_u64()),
        (Some("done"), Some(3))
    );
    assert_eq!(
        w.tickets_of("R1").await,
        row_one,
        "row 1 was not issued again"
    );
    assert_eq!(w.tickets_of("R2").await[0].ticket_no, ticket_number(3));
    assert_eq!(w.tickets_of("R3").await.len(), 1);
}

/// The paid order's "issued" entries in its history.
async fn issued_entries(w: &World, trade_no: &str) -> usize {
    w.services
        .table
        .list_history(&w.merchant, "order", trade_no)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "issued")
        .count()
}

#[tokio::test]
async fn a_row_committed_just_before_a_crash_is_recorded_on_redelivery() {
    let w = world().await;
    w.order("ORD700", 1, test_start() - Duration::days(1)).await;
    let file = xlsx(&[row([
        "IMP700",
        "ORD700",
        &w.goods,
        "1",
        "王小明",
        "0912345678",
        "",
        "",
    ])]);
    let upload = w.upload("paper_by_merchant", &file).await;
    assert_eq!(w.confirm(&upload).await.0, 202);
    w.run_worker().await;
    let tickets = w.tickets_of("IMP700").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(issued_entries(&w, "ORD700").await, 1);

    // A crash between the row's transaction and its records: the order's history entry and
    // the row result are written after the transaction commits, so take both away again.
    let issued = w.stored_order("ORD700").await;
    w.forget_first_row_records(&upload, "ORD700").await;
    assert_eq!(issued_entries(&w, "ORD700").await, 0);
    w.reopen_batch(&upload).await;

    // The redelivery finds the row committed by its own batch and records it: the same
    // ticket, the order issued once, its history entry back exactly once.
    assert_eq!(w.redeliver(&upload, 2).await, 0);
    let done = w.batch(&upload).await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["rows_done"].as_u64(),
            done["rows_failed"].as_u64()
        ),
        (Some("done"), Some(1), Some(0)),
        "{done}"
    );
    assert_eq!(w.tickets_of("IMP700").await, tickets);
    assert_eq!(issued_entries(&w, "ORD700").await, 1);
    let order = w.stored_order("ORD700").await;
    assert_eq!(order.version, issued.version, "the order changed only once");
}

#[tokio::test]
async fn a_large_row_stopped_after_its_claim_finishes_with_one_order_history_entry() {
    let w = world().await;
    w.order("ORD800", 120, test_start() - Duration::days(1))
        .await;
    // 120 tickets do not fit in one transaction: the row claims its import number (and
    // issues the order) first, then writes tickets in chunks of 100.
    let file = xlsx(&[row([
        "IMP800",
        "ORD800",
        &w.goods,
        "120",
        "王小明",
        "0912345678",
        "",
        "",
    ])]);
    let upload = w.upload("paper_by_merchant", &file).await;
    assert_eq!(w.confirm(&upload).await.0, 202);
    let blocker = w.block_ticket_number(110).await;
    let table = &w.services.table;
    w.run_worker().await;
    assert_eq!(w.batch(&upload).await["status"], "issuing");
    let order = w.stored_order("ORD800").await;
    assert_eq!(order.status, OrderStatus::Issued);
    assert_eq!(
        issued_entries(&w, "ORD800").await,
        0,
        "not before the row is done"
    );

    w.remove_item(blocker).await;
    assert_eq!(w.redeliver(&upload, 2).await, 0);
    assert_eq!(w.batch(&upload).await["status"], "done");
    assert_eq!(w.tickets_of("IMP800").await.len(), 120);
    // The entry is the one the claim's order change made: keyed by that version.
    let after = w.stored_order("ORD800").await;
    assert_eq!(after.version, order.version);
    assert_eq!(issued_entries(&w, "ORD800").await, 1);
    let entry = table
        .client
        .get_item()
        .table_name(&table.name)
        .set_key(Some(key(
            keys::merchant(PARENT),
            &keys::history("order", "ORD800", order.version),
        )))
        .send()
        .await
        .unwrap();
    assert!(
        entry.item.is_some(),
        "the entry sits at the order's version"
    );
}

#[tokio::test]
async fn a_batch_that_cannot_be_processed_is_failed_with_its_reason() {
    let w = world().await;
    let file = xlsx(&[row(["P1", "", &w.gift, "1", "王", "0912345678", "", ""])]);
    let upload = w.upload("paper_by_merchant", &file).await;
    let (_, batch) = w.confirm(&upload).await;
    assert_eq!(batch["status"], "queued");
    // The worker's plan is gone: every delivery fails. Before the last one the batch waits;
    // on the last (the queue's maxReceiveCount, 5) it is marked failed and SQS moves the
    // message to the dead-letter queue.
    let plan_prefix = format!("merchants/{PARENT}/issuance/{upload}.plan-");
    let uploads = w.services.uploads().unwrap();
    let listed = uploads
        .s3
        .list_objects_v2()
        .bucket(&uploads.bucket)
        .prefix(&plan_prefix)
        .send()
        .await
        .unwrap();
    for object in listed.contents() {
        uploads
            .s3
            .delete_object()
            .bucket(&uploads.bucket)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
    }
    assert_eq!(w.redeliver(&upload, 1).await, 1);
    assert_eq!(w.batch(&upload).await["status"], "issuing");
    assert_eq!(w.redeliver(&upload, 5).await, 1);
    let failed = w.batch(&upload).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["failure_reason"].as_str().unwrap().contains("plan"),
        "{failed}"
    );
    // Later deliveries (e.g. a redrive from the DLQ) leave a failed batch alone.
    assert_eq!(w.redeliver(&upload, 1).await, 0);
}

#[tokio::test]
async fn other_tenants_cannot_see_or_use_a_merchants_uploads_batches_or_orders() {
    let w = world().await;
    w.order("ORD400", 1, test_start()).await;
    let file = xlsx(&[row(["X1", "", &w.gift, "1", "王", "0912345678", "", ""])]);
    let upload = w.upload("paper_by_merchant", &file).await;
    assert_eq!(w.confirm(&upload).await.0, 202);

    let partner = w.token(PARTNER, "admin", ADMIN_PASSWORD).await;
    let (status, problem) = w
        .call(authed(
            "GET",
            &format!("/issuance/batches/{upload}"),
            &partner,
        ))
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (404, Some("BATCH_NOT_FOUND"))
    );
    for action in ["preview", "confirm"] {
        let (status, problem) = w
            .call(json_request(
                "POST",
                &format!("/issuance/uploads/{upload}/{action}"),
                Some(&partner),
                json!({}),
            ))
            .await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (404, Some("UPLOAD_NOT_FOUND"))
        );
    }
    // The partner's file naming our product and our order: neither is theirs.
    let theirs = xlsx(&[row([
        "Y1",
        "ORD400",
        &w.goods,
        "1",
        "王",
        "0912345678",
        "",
        "",
    ])]);
    let upload = w.upload_as(&partner, "paper_by_merchant", &theirs).await;
    let (_, preview) = w
        .call(json_request(
            "POST",
            &format!("/issuance/uploads/{upload}/preview"),
            Some(&partner),
            json!({}),
        ))
        .await;
    assert_eq!(
        preview["rows"][0]["errors"][0]["column"], "商品編號",
        "{preview}"
    );
    let (_, list) = w.call(authed("GET", "/issuance/batches", &partner)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn issuing_needs_the_service_active_and_the_method_contracted() {
    let w = world().await;
    let mut contract = w
        .services
        .table
        .get_contract(&w.merchant)
        .await
        .unwrap()
        .unwrap();
    contract.delivery_methods = vec![tessera_domain::merchant::DeliveryMethod::Ibon];
    w.services
        .table
        .put_contract(&w.merchant, &contract)
        .await
        .unwrap();
    let ask = |method: &str| {
        json_request(
            "POST",
            "/issuance/uploads",
            Some(&w.admin()),
            json!({"delivery_method": method, "size": 100}),
        )
    };
    let (status, problem) = w.call(ask("electronic_immediate")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("DELIVERY_METHOD_NOT_CONTRACTED"))
    );
    assert_eq!(w.call(ask("ibon")).await.0, 201);
    contract.issuance_enabled = false;
    w.services
        .table
        .put_contract(&w.merchant, &contract)
        .await
        .unwrap();
    let (status, problem) = w.call(ask("ibon")).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("SERVICE_NOT_ACTIVE"))
    );
}

#[tokio::test]
async fn a_file_written_by_openpyxl_is_read_like_any_other() {
    let w = world().await;
    // The fixture names product PFXTRABCDEF: create it through the same store code.
    let mut product = w
        .services
        .table
        .get_product(
            &w.merchant,
            &ProductId::parse("product_id", &w.gift).unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    product.product_id = ProductId::parse("product_id", "PFXTRABCDEF").unwrap();
    product.version = 1;
    let entry = tessera_platform::store::history::HistoryEntry {
        at: test_start(),
        merchant_id: w.merchant.clone(),
        by_account: tessera_domain::values::AccountName::parse_login("a", "admin").unwrap(),
        entity: "product".into(),
        entity_id: "PFXTRABCDEF".into(),
        action: "created".into(),
        changes: json!({}),
    };
    w.services
        .table
        .save_products(&[(product, entry)])
        .await
        .unwrap();
    let bytes = std::fs::read(format!(
        "{}/fixtures/openpyxl-issuance.xlsx",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let upload = w.upload("electronic_immediate", &bytes).await;
    let (status, preview) = w.preview(&upload).await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["can_confirm"], true, "{preview}");
    assert_eq!(preview["rows"].as_array().unwrap().len(), 2);
    // The number cell lost its leading zero; the full-width digits were normalised.
    assert_eq!(preview["rows"][0]["cells"]["購買人手機"], "0912345678");
    assert_eq!(preview["rows"][1]["cells"]["購買人手機"], "0987654321");
    assert_eq!(w.confirm(&upload).await.0, 202);
    w.run_worker().await;
    assert_eq!(w.tickets_of("OXL001").await.len(), 2);
    assert_eq!(w.tickets_of("OXL002").await[0].buyer.mobile, "0987654321");
}

#[tokio::test]
async fn the_template_and_the_rules_are_downloadable() {
    let w = world().await;
    let response =
        tessera_tests::send(&w.gateway, authed("GET", "/issuance/template", &w.admin())).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        tessera_sheets::XLSX_CONTENT_TYPE
    );
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let (header, rows) = tessera_sheets::read_issuance(&bytes).unwrap();
    assert_eq!(header, COLUMNS.map(str::to_owned));
    assert!(rows.is_empty());
    use calamine::Reader;
    let book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["發行資料", "填寫規則"]);

    let (status, rules) = w.call(authed("GET", "/issuance/rules", &w.admin())).await;
    assert_eq!(status, 200);
    assert_eq!(rules["max_tickets"], 1000);
    let names: Vec<&str> = rules["numbering"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ticket_number",
            "redemption_code",
            "ticket_link",
            "pickup_code"
        ]
    );
}

#[tokio::test]
async fn issuable_orders_export_as_a_prefilled_file_that_issues_as_is() {
    let w = world().await;
    w.order("ORD500", 2, test_start() - Duration::days(2)).await;
    w.order("ORD501", 1, test_start() - Duration::days(21))
        .await; // past the 21 days
    let response = tessera_tests::send(
        &w.gateway,
        authed("GET", "/orders/unissued/export", &w.admin()),
    )
    .await;
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let (_, rows) = tessera_sheets::read_issuance(&bytes).unwrap();
    assert_eq!(rows.len(), 1, "only the issuable order");
    assert_eq!(rows[0].cells[1], "ORD500");
    assert_eq!(rows[0].cells[5], "0912345678");
    // Add the buyer's email and upload it: it issues.
    let mut row: Row = rows[0].cells.clone();
    row[6] = unique_email("export");
    let upload = w.upload("electronic_immediate", &xlsx(&[row])).await;
    let (status, preview) = w.preview(&upload).await;
    assert_eq!(
        (status, preview["can_confirm"].as_bool()),
        (200, Some(true)),
        "{preview}"
    );
    assert_eq!(w.confirm(&upload).await.0, 202);
    w.run_worker().await;
    assert_eq!(w.batch(&upload).await["rows_failed"], 0);
    let import_no = &rows[0].cells[0];
    assert_eq!(w.tickets_of(import_no).await.len(), 2);
    let order = w.stored_order("ORD500").await;
    assert_eq!(order.status, OrderStatus::Issued);
    assert_eq!(issued_entries(&w, "ORD500").await, 1);
}

#[tokio::test]
async fn staff_of_a_disabled_branch_cannot_issue_and_rights_are_checked_first() {
    let w = world().await;
    // An issuing clerk bound to KHH01.
    let create = json!({"account": "issuer01", "password": "Staff2026", "remark": "",
        "rights": {"issuance": {"query": true, "modify": true}}});
    let (status, body) = w
        .call(json_request(
            "POST",
            "/sub-accounts",
            Some(&w.admin()),
            create,
        ))
        .await;
    assert_eq!(status, 201, "{body}");
    let bind = json!({"branch_code": "KHH01", "accounts": ["issuer01"]});
    let (status, _) = w
        .call(json_request(
            "PUT",
            "/branch-bindings",
            Some(&w.admin()),
            bind,
        ))
        .await;
    assert_eq!(status, 204);
    let clerk = w.token(PARENT, "issuer01", "Staff2026").await;
    let ask = |token: &str| {
        json_request(
            "POST",
            "/issuance/uploads",
            Some(token),
            json!({"delivery_method": "ibon", "size": 100}),
        )
    };
    assert_eq!(
        w.call(ask(&clerk)).await.0,
        201,
        "an enabled branch may issue"
    );
    let (status, _) = w
        .call(json_request(
            "PATCH",
            "/branches/KHH01",
            Some(&w.admin()),
            json!({"enabled": false}),
        ))
        .await;
    assert_eq!(status, 200);
    let (status, problem) = w.call(ask(&clerk)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("BRANCH_DISABLED"))
    );
    // A cashier (no issuance right) hears about the right, whatever the branch.
    let cashier = w
        .token(PARENT, "cashier01", tessera_dev::seed::STAFF_PASSWORD)
        .await;
    let (status, problem) = w.call(ask(&cashier)).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("RIGHT_MISSING"))
    );
}

/// An issuance file written by openpyxl (a writer that never calculates, so a formula has
/// no stored result): the template's header, then the rows `rows_python` (a Python
/// expression of lists) evaluates to. The local AWS's venv has openpyxl (local-aws.sh).
fn openpyxl_file(rows_python: &str) -> Vec<u8> {
    let python = format!(
        "{}/../localstack/.local/venv/bin/python",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = std::env::temp_dir().join(format!("openpyxl-{}.xlsx", uuid::Uuid::new_v4().simple()));
    let header = serde_json::to_string(&tessera_domain::issuance::COLUMNS).unwrap();
    let script = format!(
        "import openpyxl, sys\nwb = openpyxl.Workbook()\nws = wb.active\nws.append({header})\nfor row in {rows_python}:\n    ws.append(row)\nwb.save(sys.argv[1])\n"
    );
    let status = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("{python}: {e} (run ./localstack/local-aws.sh start once)"));
    assert!(status.success(), "openpyxl wrote the file");
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

/// Precise reasons (issue 15 part 5) on files from a third-party writer: a quantity says
/// what it read, a too-long name is not called missing, a formula with no stored result is
/// a row error naming its cell (never read as empty), and too many rows say where the
/// limit was passed.
#[tokio::test]
async fn files_written_by_openpyxl_are_refused_with_precise_reasons() {
    let w = world().await;
    let g = &w.gift;
    let long = "長".repeat(31);
    let file = openpyxl_file(&format!(
        r#"[["P1", "", "{g}", 1.5, "王", "0912345678", "a@b.tw", ""],
            ["P2", "", "{g}", "=1+1", "王", "0912345678", "a@b.tw", ""],
            ["P3", "", "{g}", 1, "{long}", "0912345678", "a@b.tw", ""],
            ["P4", "", "{g}", 1, "王", "0912345678", "a@b.tw", ""]]"#
    ));
    let upload = w.upload("electronic_immediate", &file).await;
    let (status, preview) = w.preview(&upload).await;
    assert_eq!(status, 200, "{preview}");
    let reasons: Vec<(u64, String, String)> = preview["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["errors"].as_array().unwrap().iter().map(|e| {
                (
                    r["row"].as_u64().unwrap(),
                    e["column"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!((reasons[0].0, reasons[0].1.as_str()), (2, "張數"));
    assert!(
        reasons[0].2.contains("\"1.5\" is not a whole number"),
        "{reasons:?}"
    );
    assert_eq!((reasons[1].0, reasons[1].1.as_str()), (3, "張數"));
    assert!(
        reasons[1]
            .2
            .contains("a formula whose result the file does not hold"),
        "{reasons:?}"
    );
    assert_eq!((reasons[2].0, reasons[2].1.as_str()), (4, "購買人姓名"));
    assert_eq!(reasons[2].2, "at most 30 characters, found 31");

    let many = openpyxl_file(&format!(
        r#"[["R%d" % i, "", "{g}", 1, "王", "0912345678", "a@b.tw", ""] for i in range(1001)]"#
    ));
    let upload = w.upload("electronic_immediate", &many).await;
    let (status, problem) = w.preview(&upload).await;
    assert_eq!(problem["code"], "ISSUANCE_TOO_MANY_ROWS", "{problem}");
    assert_eq!(status, 413);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("at most 1000 rows below the header, found data on row 1002"),
        "{problem}"
    );
}
