//! The one place where item keys are spelled (docs/data-model.md). IDs that go into keys
//! are validated values whose alphabet has no `#`, so one key cannot be forged into another.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

pub const PK: &str = "PK";
pub const SK: &str = "SK";

pub fn merchant(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}")
}

pub const PROFILE: &str = "PROFILE";

pub const ACCOUNT_PREFIX: &str = "ACCOUNT#";

pub fn account(account: &str) -> String {
    format!("{ACCOUNT_PREFIX}{account}")
}

pub fn session(session_id: &str) -> String {
    format!("SESSION#{session_id}")
}

pub const SESSION: &str = "SESSION";

pub fn lockout(merchant_id: &str, account: &str) -> String {
    format!("LOCKOUT#{merchant_id}#{account}")
}

/// The failed sign-ins of an account from one device it signed in from before: counted
/// apart, so that failures elsewhere never lock a known till out (decision 0016).
pub fn device_lockout(merchant_id: &str, account: &str, fingerprint: &str) -> String {
    format!("LOCKOUT#{merchant_id}#{account}#{fingerprint}")
}

pub const LOCKOUT: &str = "LOCKOUT";

/// The operator's items live beside the merchants', under a prefix no merchant ID can take
/// (merchant IDs are letters and digits).
pub fn operator(account: &str) -> String {
    format!("OPERATOR#{account}")
}

pub const OPERATOR_ACCOUNT: &str = "ACCOUNT";

/// An operator's session: under its `SESSION#{id}`, with a sort key of its own, so a
/// merchant-session read never finds it (and the other way round).
pub const OPERATOR_SESSION: &str = "OPERATOR";

pub fn operator_lockout(account: &str) -> String {
    format!("LOCKOUT#~operator#{account}")
}

/// An announcement of the operator, by its ID.
pub fn announcement(id: &str) -> String {
    format!("ANNOUNCEMENT#{id}")
}

pub const ANNOUNCEMENT: &str = "ANNOUNCEMENT";

/// GSI1 partition of every announcement by publication time.
pub const ANNOUNCEMENTS: &str = "ANNOUNCEMENTS";

pub fn announcement_timeline(published_at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp(published_at))
}

/// A document of the platform for merchants (§3-4), by its ID.
pub fn document(id: &str) -> String {
    format!("DOCUMENT#{id}")
}

pub const DOCUMENT: &str = "DOCUMENT";

/// GSI1 partition of every document by title.
pub const DOCUMENTS: &str = "DOCUMENTS";

/// An account's mark that it read an announcement (under its merchant).
pub fn announcement_read(account: &str, id: &str) -> String {
    format!("{ANNOUNCEMENT_READ_PREFIX}{account}#{id}")
}

pub const ANNOUNCEMENT_READ_PREFIX: &str = "ANNOUNCEMENT_READ#";

/// The operator's audit log: every operator action, by time.
pub const OPERATOR_AUDIT: &str = "OPERATOR_AUDIT";

pub fn operator_audit_entry(at: DateTime<Utc>, id: &str) -> String {
    format!("{}#{id}", timestamp(at))
}

pub const LOGIN_PREFIX: &str = "LOGIN#";

pub fn login(at: DateTime<Utc>, id: &str) -> String {
    format!("{LOGIN_PREFIX}{}#{id}", timestamp(at))
}

pub fn history_prefix(entity: &str, id: &str) -> String {
    format!("HISTORY#{entity}#{id}#")
}

/// A history entry is keyed by the version the change produced: versions are unique per
/// entity (each change is conditional on the previous one), so entries never collide and
/// sort in the order the changes happened, whatever the clocks say.
pub fn history(entity: &str, id: &str, version: u64) -> String {
    format!("{}{version:010}", history_prefix(entity, id))
}

/// Fixed-width UTC timestamps, so that keys sort in time order.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub const BRANCH_PREFIX: &str = "BRANCH#";

pub fn branch(code: &str) -> String {
    format!("{BRANCH_PREFIX}{code}")
}

pub const SETTINGS: &str = "SETTINGS";
pub const CONTRACT: &str = "CONTRACT";
/// Where the merchant remits its bills (set by the operator).
pub const REMITTANCE: &str = "REMITTANCE";
pub const RATE_PREFIX: &str = "RATE#";

pub fn rate(mode: &str, item: &str, effective_from: DateTime<Utc>) -> String {
    format!("{RATE_PREFIX}{mode}#{item}#{}", timestamp(effective_from))
}

pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";

/// GSI1 partition listing every merchant by name, for the redeemable-store search.
pub const MERCHANT_DIRECTORY: &str = "MERCHANTS";

pub fn merchant_directory_entry(name: &str, merchant_id: &str) -> String {
    format!("{}#{merchant_id}", name.to_lowercase())
}

pub const STORE_PREFIX: &str = "STORE#";

pub fn store(store_id: &str) -> String {
    format!("{STORE_PREFIX}{store_id}")
}

pub const ISSUER_PREFIX: &str = "ISSUER#";

pub fn issuer(issuer_id: &str) -> String {
    format!("{ISSUER_PREFIX}{issuer_id}")
}

/// A delivered notification, remembered so a redelivered message is not sent again.
pub fn notification_sent(id: &str) -> String {
    format!("SENT#notification#{id}")
}

pub const SENT: &str = "SENT";

pub const DEVICE_PREFIX: &str = "DEVICE#";

/// A device (user-agent fingerprint) an account has signed in from.
pub fn device(account: &str, fingerprint: &str) -> String {
    format!("{DEVICE_PREFIX}{account}#{fingerprint}")
}

/// The partition of a merchant's circulation counters.
pub fn counters(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#COUNTS")
}

/// A day's counter at a place (`place` empty: the day's first key; `~`: after its last).
pub fn counter_day(day: chrono::NaiveDate, place: &str) -> String {
    format!("DAY#{day}#{place}")
}

/// The day and place of a day counter's key.
pub fn parse_counter_day(sk: &str) -> Option<(chrono::NaiveDate, &str)> {
    let rest = sk.strip_prefix("DAY#")?;
    let (day, place) = rest.split_once('#')?;
    Some((day.parse().ok()?, place))
}

pub fn counter_month_prefix() -> &'static str {
    "MONTH#"
}

/// The month (of `day`) counter at a place.
pub fn counter_month(day: chrono::NaiveDate, place: &str) -> String {
    format!("MONTH#{}#{place}", day.format("%Y-%m"))
}

/// The counter of the tickets issued on a day.
pub fn counter_cohort(issued_on: chrono::NaiveDate) -> String {
    format!("COHORT#{issued_on}")
}

/// The counter of everything a product issued.
pub fn counter_product(product_id: &str) -> String {
    format!("PRODUCT#{product_id}")
}

pub fn parse_counter_cohort(sk: &str) -> Option<chrono::NaiveDate> {
    sk.strip_prefix("COHORT#")?.parse().ok()
}

pub const EXPORT_PREFIX: &str = "EXPORT#";

/// A report export under its merchant.
pub fn export(export_id: &str) -> String {
    format!("{EXPORT_PREFIX}{export_id}")
}

pub const PRODUCT_PREFIX: &str = "PRODUCT#";

pub fn product(product_id: &str) -> String {
    format!("{PRODUCT_PREFIX}{product_id}")
}

/// GSI1 partition of a merchant's products, sorted by creation time.
pub fn products_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#PRODUCTS")
}

pub fn product_timeline(created_at: DateTime<Utc>, product_id: &str) -> String {
    format!("{}#{product_id}", timestamp(created_at))
}

pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";

pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";

/// GSI4 (sparse, keys only) is the daily job's worklist: every ticket with a step the
/// platform takes by itself (a lapse, a bank cut-off), under the time it is due.
pub const GSI4: &str = "GSI4";
pub const GSI4PK: &str = "GSI4PK";
pub const GSI4SK: &str = "GSI4SK";

/// The worklist is spread over this many partitions, so that no one index partition takes
/// a whole day's tickets (and the job can work the shards side by side).
pub const DUE_SHARDS: u32 = 16;

/// The worklist shard of a ticket: FNV-1a of its number, so consecutive numbers spread.
pub fn due_shard(ticket_no: &str) -> u32 {
    let hash = ticket_no.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    hash % DUE_SHARDS
}

/// GSI4 partition of one worklist shard.
pub fn tickets_due(shard: u32) -> String {
    format!("DUE#{shard:02}")
}

/// GSI4 sort key: due time, then the ticket (earliest first).
pub fn ticket_due(due_at: DateTime<Utc>, ticket_no: &str) -> String {
    format!("{}#{ticket_no}", timestamp(due_at))
}

/// The GSI4 sort keys of everything due by `now`: every key sorts below this bound.
pub fn due_by(now: DateTime<Utc>) -> String {
    format!("{}#~", timestamp(now))
}

/// A scheduled job's runs, one item per Taipei day it ran for.
pub fn job(job: &str) -> String {
    format!("JOB#{job}")
}

pub const JOB_RUN_PREFIX: &str = "RUN#";

pub fn job_run(day: NaiveDate) -> String {
    format!("{JOB_RUN_PREFIX}{day}")
}

pub const ORDER_PREFIX: &str = "ORDER#";

pub fn order(trade_no: &str) -> String {
    format!("{ORDER_PREFIX}{trade_no}")
}

/// GSI3 (sparse) partition of the orders paid on a Taipei date and still unissued.
pub fn unissued_paid_on(date: chrono::NaiveDate) -> String {
    format!("UNISSUED#{date}")
}

pub fn merchant_order(merchant_id: &str, trade_no: &str) -> String {
    format!("{merchant_id}#{trade_no}")
}

/// A day's fee total for one item (written by the daily fee job, read by the monthly close).
pub fn fee_day(date: chrono::NaiveDate, item: &str) -> String {
    format!("FEEDAY#{date}#{item}")
}

/// All of a month's fee days: `FEEDAY#YYYY-MM-`.
pub fn fee_month_prefix(month: &str) -> String {
    format!("FEEDAY#{month}-")
}

pub const BILL_PREFIX: &str = "BILL#";

pub fn bill(month: &str) -> String {
    format!("{BILL_PREFIX}{month}")
}

/// An issuance upload awaiting preview and confirmation.
pub fn upload(upload_id: &str) -> String {
    format!("UPLOAD#{upload_id}")
}

pub fn batch(batch_id: &str) -> String {
    format!("BATCH#{batch_id}")
}

/// GSI1 partition of a merchant's issuance batches, newest last.
pub fn batches_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#BATCHES")
}

pub fn batch_timeline(created_at: DateTime<Utc>, batch_id: &str) -> String {
    format!("{}#{batch_id}", timestamp(created_at))
}

/// The partition holding a batch's per-row results.
pub fn batch_rows(batch_id: &str) -> String {
    format!("BATCH#{batch_id}")
}

pub const ROW_PREFIX: &str = "ROW#";

pub fn batch_row(index: u32) -> String {
    format!("{ROW_PREFIX}{index:05}")
}

/// An issued order (one import number): also the claim that keeps import numbers unique
/// per merchant.
/// GSI1 partition of a merchant's issued orders by issue time.
pub fn issued_orders_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#ISSUED_ORDERS")
}

pub fn issued_order_timeline(issued_at: DateTime<Utc>, import_no: &str) -> String {
    format!("{}#{import_no}", timestamp(issued_at))
}

pub fn issued_order(import_no: &str) -> String {
    format!("ISSUED#{import_no}")
}

pub const TICKET_PARTITION_PREFIX: &str = "TICKET#";

pub fn ticket(ticket_no: &str) -> String {
    format!("{TICKET_PARTITION_PREFIX}{ticket_no}")
}

pub const TICKET: &str = "TICKET";

/// GSI1 partition of a merchant's tickets by issue time.
pub fn tickets_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#TICKETS")
}

pub fn ticket_timeline(issued_at: DateTime<Utc>, ticket_no: &str) -> String {
    format!("{}#{ticket_no}", timestamp(issued_at))
}

/// GSI2 partition of the tickets of one issued order.
pub fn tickets_of_issued_order(merchant_id: &str, import_no: &str) -> String {
    format!("MERCHANT#{merchant_id}#ISSUED#{import_no}")
}

pub const TICKET_HISTORY_PREFIX: &str = "HISTORY#";

/// A ticket's history entry, keyed by the ticket version the change produced.
pub fn ticket_history(version: u64) -> String {
    format!("{TICKET_HISTORY_PREFIX}{version:010}")
}

/// The claim of a ticket-link token (the consumer's e-ticket page): which issued order or
/// transfer the page shows.
pub fn ticket_link(token: &str) -> String {
    format!("LINK#{token}")
}

pub const LINK: &str = "LINK";

/// A transfer (轉贈單), under its merchant.
pub fn transfer(transfer_id: &str) -> String {
    format!("TRANSFER#{transfer_id}")
}

/// GSI1 partition of a merchant's transfers by time (the transfer records).
pub fn transfers_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#TRANSFERS")
}

pub fn transfer_timeline(at: DateTime<Utc>, transfer_id: &str) -> String {
    format!("{}#{transfer_id}", timestamp(at))
}

/// A fixed-window request counter of one caller address (rate limits of public routes).
pub fn rate_window(scope: &str, caller: &str) -> String {
    format!("RATE#{scope}#{caller}")
}

pub fn rate_window_start(start: DateTime<Utc>) -> String {
    format!("WINDOW#{}", timestamp(start))
}

/// A platform-wide counter (ticket numbers).
pub fn counter(name: &str) -> String {
    format!("COUNTER#{name}")
}

pub const COUNTER: &str = "COUNTER";

/// GSI3: paper tickets in the platform's print run (queued, or printed and not shipped).
pub const PLATFORM_PRINT_QUEUE: &str = "PRINT#platform";

/// GSI3: a merchant's own paper tickets (printed or not), by issue time.
pub fn merchant_print_queue(merchant_id: &str) -> String {
    format!("PRINT#merchant#{merchant_id}")
}

/// A merchant's prints, by time (the 21:00 reprint reminder reads a day of them).
pub fn prints_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#PRINTS")
}

pub fn print_record(at: DateTime<Utc>, ticket_no: &str, print: u32) -> String {
    format!("{}#{ticket_no}#{print:04}", timestamp(at))
}

/// An SMS sent for a merchant (the SMS log), keyed by its notification id.
pub fn sms_log(notification_id: &str) -> String {
    format!("SMS#{notification_id}")
}

/// GSI1 partition of a merchant's SMS log by time.
pub fn sms_log_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#SMS")
}

/// A merchant's ticket events of one Taipei day (the reports' index).
pub fn ticket_events(merchant_id: &str, date: chrono::NaiveDate) -> String {
    format!("MERCHANT#{merchant_id}#EVENTS#{date}")
}

/// An event's key: time, ticket and the ticket version the change produced (unique even
/// when two changes share a timestamp).
pub fn ticket_event(at: DateTime<Utc>, ticket_no: &str, version: u64) -> String {
    format!("{}#{ticket_no}#{version:010}", timestamp(at))
}

/// GSI2 partition of one branch's ticket events (branch reports).
pub fn branch_events(merchant_id: &str, branch: &str) -> String {
    format!("MERCHANT#{merchant_id}#BRANCH#{branch}#EVENTS")
}

/// An idempotency key, scoped to the merchant that used it.
pub fn idempotency(merchant_id: &str, key: &str) -> String {
    format!("IDEMPOTENCY#{merchant_id}#{key}")
}

pub const IDEMPOTENCY: &str = "IDEMPOTENCY";

/// An outbox event, under a partition of its own: the stream consumer filters on the sort
/// key, and the consumers' marks sit beside the event they record.
pub fn event(event_id: &str) -> String {
    format!("EVENT#{event_id}")
}

pub const EVENT: &str = "EVENT";

/// A consumer's mark that it handled the event of this partition.
pub fn event_handled(consumer: &str) -> String {
    format!("HANDLED#{consumer}")
}

/// An installment order's partition: the order item and one item per serial, read in one
/// query and changed in one transaction (docs/decisions/0017-installment-orders.md).
pub fn installment_order(merchant_id: &str, trade_no: &str) -> String {
    format!("{INSTALLMENT_ORDER_PARTITION_PREFIX}{merchant_id}#{trade_no}")
}

pub const INSTALLMENT_ORDER_PARTITION_PREFIX: &str = "IORDER#";

pub const INSTALLMENT_ORDER: &str = "ORDER";

pub const SERIAL_PREFIX: &str = "SERIAL#";

pub fn serial(period: u32) -> String {
    format!("{SERIAL_PREFIX}{period:02}")
}

/// GSI1 partition of a merchant's installment orders by issue time (the order report).
pub fn installment_orders_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#IORDERS")
}

pub fn installment_order_timeline(issued_at: DateTime<Utc>, trade_no: &str) -> String {
    format!("{}#{trade_no}", timestamp(issued_at))
}

/// GSI1 partition of a merchant's serials by expected redemption date (the serial report).
pub fn serials_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#SERIALS")
}

pub fn serial_timeline(expected_on: NaiveDate, trade_no: &str, period: u32) -> String {
    format!("{expected_on}#{trade_no}#{period:02}")
}

/// GSI4 partition of one shard of the installment worklist: orders with a serial step due,
/// by due time (the same shards and sort keys as the tickets').
pub fn installment_orders_due(shard: u32) -> String {
    format!("IDUE#{shard:02}")
}

/// A merchant's installment ledger of one Taipei day: what was issued, returned and
/// cancelled (the fee totals and the return-fee report read it).
pub fn installment_events(merchant_id: &str, date: NaiveDate) -> String {
    format!("MERCHANT#{merchant_id}#IEVENTS#{date}")
}

/// The refund-result notify URL setting (退款結果主動通知 URL).
pub const REFUND_NOTIFY: &str = "REFUND_NOTIFY";

/// A merchant's refund-callback settings: signing secrets and disabled endpoints.
pub const CALLBACK_SETTINGS: &str = "CALLBACK_SETTINGS";

/// One callback delivery (its attempts with it).
pub fn callback_delivery(merchant_id: &str, delivery_id: &str) -> String {
    format!("CALLBACK#{merchant_id}#{delivery_id}")
}

pub const DELIVERY: &str = "DELIVERY";

/// GSI1 partition of a merchant's callback deliveries by creation time (the delivery log).
pub fn callback_deliveries_of(merchant_id: &str) -> String {
    format!("MERCHANT#{merchant_id}#CALLBACKS")
}
