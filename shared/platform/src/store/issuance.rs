//! Batch issuance: uploads, batches and their per-row results, issued orders, and the
//! platform-wide ticket-number counter. Tickets themselves are in `tickets.rs`.

use super::orders::OrderRecord;
use super::{
    epoch_seconds, from_item, key, keys, to_item, unavailable, Expect, Item, Table, Write,
};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::issuance::{BatchStatus, IssuanceRow};
use tessera_domain::merchant::DeliveryMethod;
use tessera_domain::values::{
    AccountName, BranchCode, MerchantId, ProductId, TicketNumber, TradeNo,
};
use tessera_domain::Error;

/// Uploads not confirmed within a week are forgotten (the file itself is kept 30 days).
const UPLOAD_RETENTION_DAYS: i64 = 7;

/// What the batch-issue queue carries: which batch to issue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMessage {
    pub merchant_id: String,
    pub batch_id: String,
}

/// An issuance file's upload: who asked for it, for which delivery method, and where the
/// file goes in the uploads bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub merchant_id: MerchantId,
    pub upload_id: String,
    pub delivery_method: DeliveryMethod,
    /// Non-immediate electronic tickets: the day they become valid.
    #[serde(default)]
    pub valid_from: Option<chrono::NaiveDate>,
    pub object_key: String,
    pub requested_by: AccountName,
    pub branch: Option<BranchCode>,
    pub created_at: DateTime<Utc>,
}

/// One row of a confirmed batch as the worker issues it: the validated row and the first
/// ticket number (sequence) reserved for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    /// 0-based position in the batch; the row result's key.
    pub index: u32,
    pub first_sequence: u64,
    #[serde(flatten)]
    pub row: IssuanceRow,
    /// The row's paid order as the confirmation read and checked it, version included. The
    /// worker issues from it, its write conditional on that version, and reads the order
    /// again only if that condition fails (decision 0005). Absent for a row without an
    /// order, and in plans written before it was kept (the worker reads those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_as_confirmed: Option<OrderRecord>,
}

/// What the latest preview of an upload found, kept beside the upload
/// ([`object_keys::issuance_preview`](crate::store::object_keys::issuance_preview)) so that
/// the confirmation of the same file need not read every order and import number again
/// (decision 0005).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewedFile {
    /// The SHA-256 of the file previewed ([`crate::assets::digest`]): the confirmation
    /// uses this record only for the very same bytes.
    pub file_digest: String,
    /// Whether every row passed. Only then are the rows and orders kept; a preview with
    /// errors replaces an earlier clean one, so the confirmation checks again.
    pub clean: bool,
    pub rows: Vec<IssuanceRow>,
    /// The paid orders the rows name, as read and checked, versions included.
    pub orders: Vec<OrderRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub merchant_id: MerchantId,
    pub batch_id: String,
    pub delivery_method: DeliveryMethod,
    /// Non-immediate electronic tickets: the day they become valid.
    #[serde(default)]
    pub valid_from: Option<chrono::NaiveDate>,
    /// The refund notify URL in force when the batch was confirmed: its tickets keep it.
    #[serde(default)]
    pub notify_url: Option<String>,
    pub status: BatchStatus,
    pub rows_total: u32,
    pub tickets_total: u32,
    /// Where the planned rows are (uploads bucket, JSON).
    pub plan_key: String,
    /// The file the batch was confirmed from.
    pub object_key: String,
    pub created_by: AccountName,
    pub branch: Option<BranchCode>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub rows_failed: u32,
    #[serde(default)]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Every issued row's notifications were queued (a redelivery after this does nothing).
    #[serde(default)]
    pub notified: bool,
}

/// A row's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    Issued,
    Failed,
}

/// A ticket as the row result lists it (what the notification needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedTicket {
    pub ticket_no: TicketNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    pub batch_id: String,
    pub index: u32,
    /// The Excel row the data came from.
    pub row: u32,
    pub import_no: String,
    pub outcome: RowOutcome,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub tickets: Vec<IssuedTicket>,
    #[serde(default)]
    pub pickup_code: Option<String>,
    /// The buyer's e-ticket page (electronic tickets).
    #[serde(default)]
    pub link_token: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssuedOrderStatus {
    /// Claimed; tickets are being written (only rows too big for one transaction).
    Issuing,
    Issued,
}

/// An issued order (發行訂單): one import number, its buyer and its tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedOrderRecord {
    pub merchant_id: MerchantId,
    pub import_no: String,
    pub batch_id: String,
    pub row_index: u32,
    pub trade_no: Option<TradeNo>,
    pub product_id: ProductId,
    pub quantity: u32,
    /// Each ticket's face value (the product's at issuance).
    #[serde(default, with = "rust_decimal::serde::str")]
    pub face_value: rust_decimal::Decimal,
    pub buyer_name: String,
    pub buyer_mobile: String,
    pub buyer_email: Option<String>,
    pub remark: Option<String>,
    pub delivery_method: DeliveryMethod,
    pub first_sequence: u64,
    pub pickup_code: Option<String>,
    /// The buyer's e-ticket page (electronic tickets): replaced by a change of buyer.
    #[serde(default)]
    pub link_token: Option<String>,
    /// The branch that issued it (`None`: head office): a branch-bound account sees only
    /// its branch's orders.
    #[serde(default)]
    pub branch: Option<BranchCode>,
    /// The tickets, with what their notification needs; the row result is derived from it.
    #[serde(default)]
    pub tickets: Vec<IssuedTicket>,
    pub status: IssuedOrderStatus,
    pub issued_at: DateTime<Utc>,
    pub version: u64,
    /// The paid order's version once issued: its "issued" history entry is keyed by it.
    #[serde(default)]
    pub order_version: Option<u64>,
}

pub fn upload_item(upload: &UploadRecord) -> Result<Item, Error> {
    let mut item = to_item(
        upload,
        keys::merchant(upload.merchant_id.as_str()),
        &keys::upload(&upload.upload_id),
    )?;
    item.insert(
        "expires_at".to_owned(),
        epoch_seconds(upload.created_at + chrono::Duration::days(UPLOAD_RETENTION_DAYS)),
    );
    Ok(item)
}

pub fn issued_order_write(order: &IssuedOrderRecord) -> Result<Write, Error> {
    let mut item = to_item(
        order,
        keys::merchant(order.merchant_id.as_str()),
        &keys::issued_order(&order.import_no),
    )?;
    // On the merchant's issued-orders timeline (GSI1): the issued-orders report by date.
    item.insert(
        keys::GSI1PK.to_owned(),
        AttributeValue::S(keys::issued_orders_of(order.merchant_id.as_str())),
    );
    item.insert(
        keys::GSI1SK.to_owned(),
        AttributeValue::S(keys::issued_order_timeline(
            order.issued_at,
            &order.import_no,
        )),
    );
    let expect = if order.version == 1 {
        Expect::Absent
    } else {
        Expect::Version(order.version - 1)
    };
    Ok(Write { item, expect })
}

impl super::Versioned for IssuedOrderRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        issued_order_write(self).map(|write| write.item)
    }
}

pub fn row_result_write(result: &RowResult) -> Result<Write, Error> {
    Ok(Write {
        item: to_item(
            result,
            keys::batch_rows(&result.batch_id),
            &keys::batch_row(result.index),
        )?,
        expect: Expect::Absent,
    })
}

impl Table {
    pub async fn get_upload(
        &self,
        merchant_id: &MerchantId,
        upload_id: &str,
    ) -> Result<Option<UploadRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::upload(upload_id),
        )
        .await
    }

    /// Reserves `count` consecutive ticket numbers; returns the first.
    pub async fn reserve_ticket_numbers(&self, count: u32) -> Result<u64, Error> {
        let output = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::counter("ticket_number"), keys::COUNTER)))
            .update_expression("ADD next_value :count")
            .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(unavailable)?;
        let next: u64 = output
            .attributes
            .and_then(|a| a.get("next_value").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .ok_or_else(|| super::internal(&"counter without a value"))?;
        // The counter holds the next number to hand out, minus one: the first ticket is 1.
        Ok(next - u64::from(count) + 1)
    }

    pub async fn get_batch(
        &self,
        merchant_id: &MerchantId,
        batch_id: &str,
    ) -> Result<Option<BatchRecord>, Error> {
        self.get(keys::merchant(merchant_id.as_str()), &keys::batch(batch_id))
            .await
    }

    /// The merchant's batches, newest first, at most `limit`.
    pub async fn list_batches(
        &self,
        merchant_id: &MerchantId,
        limit: i32,
    ) -> Result<Vec<BatchRecord>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(keys::batches_of(merchant_id.as_str())),
            )
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Moves a batch to `to` if it is in one of `from`; false if it was not. `finish`
    /// records the failed-row count and, for a failed batch, the reason.
    pub async fn move_batch(
        &self,
        merchant_id: &MerchantId,
        batch_id: &str,
        to: BatchStatus,
        finish: Option<(u32, Option<String>, DateTime<Utc>)>,
    ) -> Result<bool, Error> {
        // Conditional on the domain's state machine: only from where `to` may be reached.
        let from = to.reachable_from();
        let status = |s: BatchStatus| {
            AttributeValue::S(
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            )
        };
        let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(
                keys::merchant(merchant_id.as_str()),
                &keys::batch(batch_id),
            )))
            .condition_expression(format!("#status IN ({})", allowed.join(", ")))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", status(to));
        for (index, s) in from.iter().enumerate() {
            request = request.expression_attribute_values(format!(":from{index}"), status(*s));
        }
        let mut update = "SET #status = :to".to_owned();
        if let Some((rows_failed, reason, at)) = finish {
            update.push_str(", rows_failed = :failed, finished_at = :at");
            request = request
                .expression_attribute_values(":failed", AttributeValue::N(rows_failed.to_string()))
                .expression_attribute_values(":at", AttributeValue::S(keys::timestamp(at)));
            if let Some(reason) = reason {
                update.push_str(", failure_reason = :reason");
                request = request.expression_attribute_values(":reason", AttributeValue::S(reason));
            }
        }
        match request.update_expression(update).send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn mark_batch_notified(
        &self,
        merchant_id: &MerchantId,
        batch_id: &str,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(
                keys::merchant(merchant_id.as_str()),
                &keys::batch(batch_id),
            )))
            .update_expression("SET notified = :yes")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Every row result recorded so far for a batch, in row order.
    pub async fn row_results(&self, batch_id: &str) -> Result<Vec<RowResult>, Error> {
        self.query_prefix(keys::batch_rows(batch_id), keys::ROW_PREFIX, true, None)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Row results derived from committed issued orders: writing one twice is harmless.
    pub async fn put_row_results(&self, results: &[RowResult]) -> Result<(), Error> {
        let items = results
            .iter()
            .map(|r| row_result_write(r).map(|w| w.item))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_all(items, 8).await
    }

    pub async fn put_row_result(&self, result: &RowResult) -> Result<bool, Error> {
        self.put_if_absent(row_result_write(result)?.item).await
    }

    pub async fn get_issued_order(
        &self,
        merchant_id: &MerchantId,
        import_no: &str,
    ) -> Result<Option<IssuedOrderRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::issued_order(import_no),
        )
        .await
    }

    /// The merchant's issued orders among `import_nos`, in one batched read.
    pub async fn issued_orders(
        &self,
        merchant_id: &MerchantId,
        import_nos: &[String],
    ) -> Result<Vec<IssuedOrderRecord>, Error> {
        let keys = import_nos
            .iter()
            .map(|no| {
                key(
                    keys::merchant(merchant_id.as_str()),
                    &keys::issued_order(no),
                )
            })
            .collect();
        self.get_many(keys).await
    }
}

/// A new batch's item (in the merchant's batch timeline), written only if its id is new.
pub fn batch_creation(batch: &BatchRecord) -> Result<Write, Error> {
    let mut item = to_item(
        batch,
        keys::merchant(batch.merchant_id.as_str()),
        &keys::batch(&batch.batch_id),
    )?;
    item.insert(
        keys::GSI1PK.to_owned(),
        AttributeValue::S(keys::batches_of(batch.merchant_id.as_str())),
    );
    item.insert(
        keys::GSI1SK.to_owned(),
        AttributeValue::S(keys::batch_timeline(batch.created_at, &batch.batch_id)),
    );
    Ok(Write {
        item,
        expect: Expect::Absent,
    })
}
