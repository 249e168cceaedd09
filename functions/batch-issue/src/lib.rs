//! The batch-issue queue's consumer: issues every row of a confirmed batch.
//!
//! Safe to run twice on the same message and to resume after a crash:
//! - a row's tickets, its issued order (the import-number claim) and the
//!   paid order's change are written in one transaction when they fit (rows are packed
//!   whole into shared transactions), so a row is issued whole or not at all; bigger rows
//!   claim first, write tickets in chunks that recognise their own earlier writes, and
//!   finish; the tickets' history entries and link claims are idempotent writes beside the
//!   transaction, the order's history entry and the row result idempotent writes after it,
//!   all re-derived from what is stored when a retry finds a row committed
//!   (docs/decisions/0005-batch-issuance.md);
//! - rows with a result are skipped on the next delivery;
//! - ticket numbers were reserved at confirmation, so a retried row reuses its numbers;
//! - notifications have ids derived from the row and are requested by outbox events with ids
//!   derived from the batch; the publisher hands an event on once, the notify consumer
//!   sends a notification id once.
//!
//! A delivery that fails is retried by SQS; on the last allowed receive the batch is marked
//! failed with the reason before the message goes to the dead-letter queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_domain::circulation::Place;
use tessera_domain::clock::Clock;
use tessera_domain::events::EventType;
use tessera_domain::issuance::{check_rows, BatchStatus, RowCheck};
use tessera_domain::orders::{OrderStatus, TradeNo};
use tessera_domain::products::ProductId;
use tessera_domain::tickets::TicketNumber;
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode, Violation};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::issuance::StoredFacts;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::issuance::{
    issued_order_write, BatchMessage, BatchRecord, IssuedOrderRecord, IssuedOrderStatus,
    IssuedTicket, PlannedRow, RowOutcome, RowResult,
};
use tessera_platform::store::orders::OrderRecord;
use tessera_platform::store::outbox::OutboxEvent;
use tessera_platform::store::products::ProductRecord;
use tessera_platform::store::tickets::{new_ticket_write, ticket_prelude};
use tessera_platform::store::{Table, Write, MAX_TRANSACTION_WRITES};

mod draft;
mod notify;

use draft::{issued_order_prelude, order_history_item, RowDraft, RowJob};

/// The stack's resources this function is given besides the table (its template
/// environment names exactly these; `tessera-dev` checks both agree).
pub const NEEDS: &[Resource] = &[Resource::Uploads, Resource::TicketLinks];

/// Packs of rows committed at once. DynamoDB transactions on different items do not contend.
pub const DEFAULT_CONCURRENCY: usize = 32;
/// The batch-issue queue's maxReceiveCount (infra/template.yaml).
pub const DEFAULT_MAX_RECEIVES: u32 = 5;
/// The largest plan a batch can have (1000 rows of about 300 bytes, with room to spare).
const MAX_PLAN_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct BatchIssuer {
    pub table: Table,
    pub uploads: tessera_platform::assets::AssetStore,
    pub clock: Arc<dyn Clock>,
    /// Where a ticket link points: this and the token.
    pub ticket_link_base: String,
    pub concurrency: usize,
    pub max_receives: u32,
}

/// Packs rows, whole, into groups whose writes fit one transaction with their event; the
/// rows too large for one are issued alone. Counted before drafting, so that each group is
/// drafted just before it commits and the first commit goes out at once.
fn pack(jobs: Vec<RowJob>) -> (Vec<Vec<RowJob>>, Vec<RowJob>) {
    let mut groups: Vec<Vec<RowJob>> = Vec::new();
    let mut alone = Vec::new();
    let mut group_writes = 0;
    for job in jobs {
        let writes = job.transaction_writes();
        if writes >= MAX_TRANSACTION_WRITES {
            alone.push(job);
            continue;
        }
        // One place in each transaction is the group's `order.issued` event.
        if groups.is_empty() || group_writes + writes > MAX_TRANSACTION_WRITES - 1 {
            groups.push(Vec::new());
            group_writes = 0;
        }
        group_writes += writes;
        if let Some(group) = groups.last_mut() {
            group.push(job);
        }
    }
    (groups, alone)
}

/// The `order.issued` event of rows committed in one transaction: their import and trade
/// numbers. Its id is the batch and the first row's import number (import numbers are
/// unique, and a row commits once).
fn orders_issued(
    batch: &BatchRecord,
    rows: &[&IssuedOrderRecord],
    at: DateTime<Utc>,
) -> Result<OutboxEvent, Error> {
    let first = rows
        .first()
        .map(|r| r.import_no.as_str())
        .unwrap_or_default();
    let orders: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| json!({"import_no": r.import_no, "trade_no": r.trade_no, "product_id": r.product_id, "quantity": r.quantity, "face_value": r.face_value.to_string()}))
        .collect();
    // Where they were issued, as the circulation counters group it.
    let place = Place::of(
        &batch.merchant_id,
        &batch.merchant_id,
        batch.branch.as_ref(),
    );
    OutboxEvent::new(
        format!("issued-{}-{first}", batch.batch_id),
        EventType::OrderIssued,
        &batch.merchant_id,
        at,
        &batch.batch_id,
        &json!({"batch_id": batch.batch_id, "place": place, "orders": orders}),
    )
}

/// Why a delivery did not finish; SQS will deliver the message again.
#[derive(Debug)]
pub struct Retry(pub String);

impl From<Error> for Retry {
    fn from(error: Error) -> Self {
        Retry(format!(
            "{}{}",
            error.code,
            error.detail.map(|d| format!(": {d}")).unwrap_or_default()
        ))
    }
}

impl BatchIssuer {
    pub fn new(services: &Services) -> Result<BatchIssuer, Error> {
        Ok(BatchIssuer {
            table: services.table.clone(),
            uploads: services.uploads()?.clone(),
            clock: services.clock.clone(),
            ticket_link_base: services.ticket_link_base()?.to_owned(),
            concurrency: std::env::var("TESSERA_BATCH_CONCURRENCY")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|c| (1..=256).contains(c))
                .unwrap_or(DEFAULT_CONCURRENCY),
            max_receives: std::env::var("TESSERA_BATCH_MAX_RECEIVES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_MAX_RECEIVES),
        })
    }

    pub async fn from_env() -> Result<BatchIssuer, String> {
        // The link base is required: a link to a made-up host would reach consumers as if
        // it were real.
        BatchIssuer::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Lambda's SQS integration: failed messages are reported, the others deleted.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if let Err(Retry(reason)) = self.deliver(&record).await {
                let message_id = record.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %message_id, reason = %reason, operation = "batch_issue", "batch not finished; SQS will retry");
                response.add_failure(message_id);
            }
        }
        response
    }

    async fn deliver(&self, record: &SqsMessage) -> Result<(), Retry> {
        let body = record
            .body
            .as_deref()
            .ok_or_else(|| Retry("message has no body".to_owned()))?;
        let message: BatchMessage =
            serde_json::from_str(body).map_err(|e| Retry(format!("not a batch message: {e}")))?;
        let result = self.issue(&message).await;
        if let Err(Retry(reason)) = &result {
            if tessera_platform::lambda::receive_count(&record.attributes) >= self.max_receives {
                // This was the last try: the message goes to the dead-letter queue, and
                // the batch says why it stopped.
                if let Ok(merchant) = MerchantId::parse("merchant_id", &message.merchant_id) {
                    let failed = self.table.row_results(&message.batch_id).await.map(|rows| {
                        rows.iter()
                            .filter(|r| r.outcome == RowOutcome::Failed)
                            .count() as u32
                    });
                    let _ = self
                        .table
                        .move_batch(
                            &merchant,
                            &message.batch_id,
                            BatchStatus::Failed,
                            Some((failed.unwrap_or(0), Some(reason.clone()), self.clock.now())),
                        )
                        .await;
                }
            }
        }
        result
    }

    /// Issues every row of the batch that has no result yet, then requests the notifications.
    pub async fn issue(&self, message: &BatchMessage) -> Result<(), Retry> {
        let merchant = MerchantId::parse("merchant_id", &message.merchant_id)
            .map_err(|_| Retry("bad merchant id".to_owned()))?;
        let batch = self
            .table
            .get_batch(&merchant, &message.batch_id)
            .await?
            .ok_or_else(|| Retry(format!("no batch {}", message.batch_id)))?;
        match batch.status {
            BatchStatus::Failed => return Ok(()),
            BatchStatus::Done if batch.notified => return Ok(()),
            _ => {}
        }
        let started = std::time::Instant::now();
        // Independent of each other: the move to `issuing`, the plan and the rows an
        // earlier delivery finished.
        let (moved, plan, results) = tokio::join!(
            self.table
                .move_batch(&merchant, &batch.batch_id, BatchStatus::Issuing, None),
            self.plan(&batch),
            self.table.row_results(&batch.batch_id)
        );
        moved?;
        let plan = plan?;
        let mut results: HashMap<u32, RowResult> =
            results?.into_iter().map(|r| (r.index, r)).collect();
        let pending: Vec<&PlannedRow> = plan
            .iter()
            .filter(|p| !results.contains_key(&p.index))
            .collect();
        if !pending.is_empty() {
            let fresh = self.issue_rows(&batch, &pending).await;
            let mut first_error = None;
            for outcome in fresh {
                match outcome {
                    Ok(result) => {
                        results.insert(result.index, result);
                    }
                    Err(retry) => {
                        first_error.get_or_insert(retry);
                    }
                }
            }
            if let Some(retry) = first_error {
                return Err(retry);
            }
        }
        tracing::info!(batch = %batch.batch_id, rows = pending.len(), elapsed_ms = started.elapsed().as_millis() as u64, operation = "batch_issue", "rows written");
        let failed = results
            .values()
            .filter(|r| r.outcome == RowOutcome::Failed)
            .count() as u32;
        // The notifications need only the results: built while the batch is marked done.
        let (done, notifications) = tokio::join!(
            self.table.move_batch(
                &merchant,
                &batch.batch_id,
                BatchStatus::Done,
                Some((failed, None, self.clock.now())),
            ),
            self.notifications_for(&batch, &plan, &results)
        );
        done?;
        let notifications = notifications?;
        tracing::info!(batch = %batch.batch_id, elapsed_ms = started.elapsed().as_millis() as u64, operation = "batch_issue", "notifications built");
        // Outbox events with ids derived from the batch: a redelivered message writes none
        // twice, and each is published once.
        let events = tessera_platform::notifications::notification_events(
            &format!("batch-{}", batch.batch_id),
            &merchant,
            self.clock.now(),
            &batch.batch_id,
            &notifications,
        )?;
        self.table.put_events(&events).await?;
        self.table
            .mark_batch_notified(&merchant, &batch.batch_id)
            .await?;
        tracing::info!(merchant = %merchant, batch = %batch.batch_id, rows = plan.len(), failed, notifications = notifications.len(), elapsed_ms = started.elapsed().as_millis() as u64, operation = "batch_issue", "batch issued");
        Ok(())
    }

    async fn plan(&self, batch: &BatchRecord) -> Result<Vec<PlannedRow>, Retry> {
        let too_large = Error::new(ErrorCode::InternalError).with_detail("plan too large");
        let bytes = self
            .uploads
            .get_bytes(&batch.plan_key, MAX_PLAN_BYTES, too_large)
            .await?
            .ok_or_else(|| Retry(format!("the plan {} is missing", batch.plan_key)))?;
        serde_json::from_slice(&bytes).map_err(|e| Retry(format!("the plan is unreadable: {e}")))
    }

    /// Issues the pending rows, in three steps: check them again now, pack them whole into
    /// shared transactions, and commit each pack (drafted just before; a row too large for
    /// one, or in a pack that conflicts, is issued on its own).
    async fn issue_rows(
        &self,
        batch: &BatchRecord,
        pending: &[&PlannedRow],
    ) -> Vec<Result<RowResult, Retry>> {
        let now = self.clock.now();
        let started = std::time::Instant::now();
        let (jobs, refused) = match self.check(batch, pending, now).await {
            Ok(checked) => checked,
            Err(error) => return vec![Err(error.into())],
        };
        let checked = started.elapsed();
        let (groups, mut alone) = pack(jobs);
        let mut outcomes: Vec<Result<RowResult, Retry>> = stream::iter(refused)
            .map(|(planned, reason)| async move {
                self.fail_row(batch, &planned, ErrorCode::IssuanceRowsInvalid, reason, now)
                    .await
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let packs = stream::iter(groups)
            .map(|group| self.commit_group(batch, group, now))
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        for pack in packs {
            match pack {
                Ok(Packed::Committed(results)) => outcomes.extend(results.into_iter().map(Ok)),
                // Some row's condition failed (its order changed, its import number was
                // taken, a ticket number was in the way): each row on its own finds which.
                Ok(Packed::Conflict(jobs)) => alone.extend(jobs),
                Err(error) => outcomes.push(Err(Retry::from(error))),
            }
        }
        let issued_alone = stream::iter(alone)
            .map(|job| async move {
                self.issue_row(batch, &job.planned, &job.product, job.order, now)
                    .await
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>()
            .await;
        outcomes.extend(issued_alone);
        tracing::debug!(batch = %batch.batch_id, check_ms = checked.as_millis() as u64, commit_ms = (started.elapsed() - checked).as_millis() as u64, operation = "batch_issue", "rows issued, by phase");
        outcomes
    }

    /// Re-checks the pending rows now (an order may have been abandoned, a product delisted
    /// since the preview) and locks their products against edits: the rows to issue, with
    /// what they are issued from, and the refused ones with why.
    async fn check(
        &self,
        batch: &BatchRecord,
        pending: &[&PlannedRow],
        now: DateTime<Utc>,
    ) -> Result<(Vec<RowJob>, Vec<(PlannedRow, String)>), Error> {
        let stored = StoredFacts::load_for_plan(&self.table, &batch.merchant_id, pending).await?;
        let mut checks: Vec<RowCheck> = pending
            .iter()
            .map(|p| RowCheck::of_parsed(&p.row))
            .collect();
        check_rows(
            &mut checks,
            &stored.facts(Some(&batch.batch_id), batch.valid_from),
            now,
        );
        let mut products: HashMap<ProductId, ProductRecord> = stored
            .products
            .iter()
            .map(|p| (p.product_id.clone(), p.clone()))
            .collect();
        let orders: HashMap<TradeNo, OrderRecord> = stored
            .orders
            .iter()
            .map(|o| (o.trade_no.clone(), o.clone()))
            .collect();
        let issuing: Vec<&ProductRecord> = {
            let mut ids: Vec<&ProductId> = checks
                .iter()
                .filter_map(|c| c.parsed.as_ref().map(|p| &p.product_id))
                .collect();
            ids.sort();
            ids.dedup();
            ids.into_iter().filter_map(|id| products.get(id)).collect()
        };
        // A product locked now was read again to be locked: its tickets copy the terms it
        // was locked with, even if it was edited since the read above.
        for locked in self.lock_products(batch, &issuing, now).await? {
            products.insert(locked.product_id.clone(), locked);
        }
        let mut jobs = Vec::new();
        let mut refused = Vec::new();
        for (planned, check) in pending.iter().zip(checks) {
            let product = products.get(&planned.row.product_id).cloned();
            match (check.violations.first(), product) {
                (None, Some(product)) => jobs.push(RowJob {
                    planned: (*planned).clone(),
                    product,
                    order: planned
                        .row
                        .trade_no
                        .as_ref()
                        .and_then(|t| orders.get(t))
                        .cloned(),
                }),
                (violation, _) => {
                    let reason = violation
                        .map(refusal_reason)
                        .unwrap_or_else(|| "the product is gone".to_owned());
                    refused.push(((*planned).clone(), reason));
                }
            }
        }
        Ok((jobs, refused))
    }

    /// Drafts a pack of rows and commits them in one transaction with their `order.issued`
    /// event, their preludes (history entries, link claims) written beside it, then records
    /// them: the rows' results, or the pack's rows when some row's condition failed.
    async fn commit_group(
        &self,
        batch: &BatchRecord,
        group: Vec<RowJob>,
        now: DateTime<Utc>,
    ) -> Result<Packed, Error> {
        let mut drafts = Vec::with_capacity(group.len());
        let mut writes = Vec::new();
        let mut prelude = Vec::new();
        for job in &group {
            let draft = RowDraft::new(batch, &job.planned, &job.product, job.order.clone(), now)?;
            writes.extend(draft.single_transaction()?.ok_or_else(|| {
                Error::new(ErrorCode::InternalError).with_detail(format!(
                    "row {} does not fit a transaction",
                    job.planned.row.row
                ))
            })?);
            prelude.extend(draft.prelude()?);
            drafts.push(draft);
        }
        let issued: Vec<&IssuedOrderRecord> = drafts.iter().map(|d| &d.issued_order).collect();
        writes.push(orders_issued(batch, &issued, now)?.write()?);
        // The prelude goes in while the transaction runs: if it fails after the
        // transaction committed, the retry finds the rows committed and repairs it
        // (finish_row). Either way it is done before anything else is written for these
        // rows, so a later attempt's prelude is never overwritten by this one's.
        let (written, preluded) = tokio::join!(
            self.table.transact(writes, ErrorCode::ConcurrentChange),
            self.table.put_all(prelude, 4)
        );
        match conflict_or(written)? {
            Written::Done => {
                preluded?;
                let committed = drafts
                    .into_iter()
                    .map(|draft| (draft.issued_order, draft.result))
                    .collect();
                Ok(Packed::Committed(self.record_rows(batch, committed).await?))
            }
            Written::Conflict => Ok(Packed::Conflict(group)),
        }
    }

    /// A product that issues its first ticket can no longer change its terms (§7-3 A):
    /// marked through the change engine (read again if someone edits it meanwhile). The
    /// products it locked, as locked.
    async fn lock_products(
        &self,
        batch: &BatchRecord,
        products: &[&ProductRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<ProductRecord>, Error> {
        let ids: Vec<ProductId> = products
            .iter()
            .filter(|p| p.first_issued_at.is_none())
            .map(|p| p.product_id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = &ids;
        ChangeEngine::new(self.table.clone(), self.clock.clone())
            .run(None, 200, |_| async move {
                let mut changes = Changes::new();
                let mut locked = Vec::new();
                for mut product in self.table.get_products(&batch.merchant_id, ids).await? {
                    if product.first_issued_at.is_some() {
                        // Locked by another batch meanwhile: as it stands now.
                        locked.push(product);
                        continue;
                    }
                    product.first_issued_at = Some(now);
                    product.updated_at = now;
                    let version = changes.update(&mut product)?;
                    let entry = HistoryEntry::new(
                        &batch.merchant_id,
                        &batch.created_by,
                        now,
                        "product",
                        product.product_id.as_str(),
                        "first_issued",
                        json!({"batch_id": batch.batch_id}),
                    );
                    changes.history(&entry, version)?;
                    locked.push(product);
                }
                Ok(Decision::new(changes, locked))
            })
            .await
    }

    async fn fail_row(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        code: ErrorCode,
        reason: String,
        now: DateTime<Utc>,
    ) -> Result<RowResult, Retry> {
        let result = RowResult {
            batch_id: batch.batch_id.clone(),
            index: planned.index,
            row: planned.row.row,
            import_no: planned.row.import_no.clone(),
            outcome: RowOutcome::Failed,
            error_code: Some(code.code().to_owned()),
            reason: Some(reason),
            tickets: Vec::new(),
            pickup_code: None,
            link_token: None,
            at: now,
        };
        if self.table.put_row_result(&result).await? {
            Ok(result)
        } else {
            // A concurrent delivery recorded this row first: its result stands.
            self.recorded(batch, planned).await
        }
    }

    async fn recorded(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
    ) -> Result<RowResult, Retry> {
        self.table
            .row_results(&batch.batch_id)
            .await?
            .into_iter()
            .find(|r| r.index == planned.index)
            .ok_or_else(|| Retry(format!("row {} changed under us", planned.row.row)))
    }

    async fn issue_row(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        product: &ProductRecord,
        mut order: Option<OrderRecord>,
        now: DateTime<Utc>,
    ) -> Result<RowResult, Retry> {
        // A fresh draft per attempt. Redemption codes spell their ticket numbers and link
        // claims are written outside the transaction, so a failed condition is someone
        // else's write in the way, which the lines below find out.
        for _attempt in 0..3 {
            let draft = RowDraft::new(batch, planned, product, order.clone(), now)?;
            if let Some(issued) = self.write_row(batch, planned, &draft).await? {
                return self.finish_row(batch, planned, &issued, false).await;
            }
            // Someone else's write is in the way: find out whose.
            if let Some(issued) = self
                .table
                .get_issued_order(&batch.merchant_id, &planned.row.import_no)
                .await?
            {
                if issued.batch_id != batch.batch_id {
                    return self
                        .fail_row(
                            batch,
                            planned,
                            ErrorCode::IssuanceRowsInvalid,
                            format!(
                                "{}: already issued in an earlier batch",
                                tessera_domain::issuance::IMPORT_NO
                            ),
                            now,
                        )
                        .await;
                }
                if issued.status == IssuedOrderStatus::Issued {
                    // Committed by an earlier attempt that stopped before recording it.
                    return self.finish_row(batch, planned, &issued, true).await;
                }
            }
            if let Some(trade_no) = &planned.row.trade_no {
                let current = self.table.get_order(&batch.merchant_id, trade_no).await?;
                let still_ours = current.as_ref().is_some_and(|o| {
                    o.status == OrderStatus::Unissued
                        || (o.status == OrderStatus::Issued
                            && order.as_ref().map(|x| x.version + 1) == Some(o.version))
                });
                if still_ours && current.as_ref().map(|o| o.status) == Some(OrderStatus::Unissued) {
                    // Still awaiting issuance but changed since it was read (the plan
                    // carries it as confirmed): checked again as it is now, and the next
                    // attempt issues from it.
                    let fresh = StoredFacts {
                        products: vec![product.clone()],
                        orders: current.iter().cloned().collect(),
                        issued: Vec::new(),
                    };
                    if let Some(reason) = row_refusal(planned, &fresh, batch, now) {
                        return self
                            .fail_row(batch, planned, ErrorCode::IssuanceRowsInvalid, reason, now)
                            .await;
                    }
                    order = current;
                } else if !still_ours {
                    return self
                        .fail_row(
                            batch,
                            planned,
                            ErrorCode::OrderNotUnissued,
                            format!(
                                "{}: the order is no longer awaiting issuance",
                                tessera_domain::issuance::TRADE_NO
                            ),
                            now,
                        )
                        .await;
                }
            }
        }
        Err(Retry(format!("row {} kept conflicting", planned.row.row)))
    }

    /// Writes a row: in one transaction when it fits, otherwise claim, chunks, finish.
    /// The committed issued order, or `None` when a condition failed.
    async fn write_row(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        draft: &RowDraft,
    ) -> Result<Option<IssuedOrderRecord>, Error> {
        self.table
            .put_all(draft.prelude()?, self.concurrency)
            .await?;
        if let Some(mut writes) = draft.single_transaction()? {
            let issued = &draft.issued_order;
            writes.push(orders_issued(batch, &[issued], issued.issued_at)?.write()?);
            return Ok(
                match conflict_or(
                    self.table
                        .transact(writes, ErrorCode::ConcurrentChange)
                        .await,
                )? {
                    Written::Done => Some(draft.issued_order.clone()),
                    Written::Conflict => None,
                },
            );
        }
        let ticket_writes: Vec<Write> = draft
            .tickets
            .iter()
            .map(new_ticket_write)
            .collect::<Result<_, _>>()?;
        let mut head = draft.head_writes()?;
        // Too big for one transaction: claim the import number as `issuing`...
        let mut claim = draft.issued_order.clone();
        claim.status = IssuedOrderStatus::Issuing;
        head[0] = issued_order_write(&claim)?;
        let existing = self
            .table
            .get_issued_order(&batch.merchant_id, &planned.row.import_no)
            .await?;
        let claim = match existing {
            // An earlier attempt's claim: it changed the order, so its order version (and
            // time) are the ones the finished record and the order's history entry carry.
            Some(mine) if mine.batch_id == batch.batch_id => mine,
            Some(_) => return Ok(None),
            None => {
                if let Written::Conflict =
                    conflict_or(self.table.transact(head, ErrorCode::ConcurrentChange).await)?
                {
                    return Ok(None);
                }
                claim
            }
        };
        // ...write the tickets in chunks (one write each), each recognising its own earlier
        // write...
        let chunks = draft
            .tickets
            .chunks(MAX_TRANSACTION_WRITES)
            .zip(ticket_writes.chunks(MAX_TRANSACTION_WRITES));
        for (tickets, writes) in chunks {
            if let Written::Conflict = conflict_or(
                self.table
                    .transact(writes.to_vec(), ErrorCode::ConcurrentChange)
                    .await,
            )? {
                let Some(first) = tickets.first() else {
                    continue;
                };
                let stored = self.table.get_ticket(&first.ticket_no).await?;
                if stored.is_none_or(|t| t.batch_id != batch.batch_id) {
                    return Err(Error::new(ErrorCode::ConcurrentChange)
                        .with_detail(format!("ticket number {} is taken", first.ticket_no)));
                }
            }
        }
        // ...and finish: the issued order lists the tickets as stored (chunks written by an
        // earlier attempt kept that attempt's codes) and becomes `issued`.
        let numbers: Vec<TicketNumber> =
            draft.tickets.iter().map(|t| t.ticket_no.clone()).collect();
        let mut stored = self.table.get_tickets(&numbers).await?;
        stored.sort_by(|a, b| a.ticket_no.cmp(&b.ticket_no));
        let mut finished = draft.issued_order.clone();
        finished.version = 2;
        finished.issued_at = claim.issued_at;
        finished.order_version = claim.order_version;
        // The link claimed with the import number is the one the buyer is sent.
        finished.link_token = claim.link_token.clone();
        finished.tickets = stored
            .into_iter()
            .map(|t| IssuedTicket {
                ticket_no: t.ticket_no,
            })
            .collect();
        Ok(
            match conflict_or(
                self.table
                    .transact(
                        vec![
                            issued_order_write(&finished)?,
                            orders_issued(batch, &[&finished], finished.issued_at)?.write()?,
                        ],
                        ErrorCode::ConcurrentChange,
                    )
                    .await,
            )? {
                Written::Done => Some(finished),
                Written::Conflict => None,
            },
        )
    }

    /// Records the row result of a committed issued order (idempotent). With `repair`, the
    /// row was committed by an attempt that may have stopped before its preludes (link
    /// claim, tickets' first history entries) were written: they are written again from the
    /// issued order and the stored tickets.
    async fn finish_row(
        &self,
        batch: &BatchRecord,
        planned: &PlannedRow,
        issued: &IssuedOrderRecord,
        repair: bool,
    ) -> Result<RowResult, Retry> {
        if repair {
            let numbers: Vec<TicketNumber> =
                issued.tickets.iter().map(|t| t.ticket_no.clone()).collect();
            let mut prelude = issued_order_prelude(issued)?;
            for ticket in self.table.get_tickets(&numbers).await? {
                prelude.extend(ticket_prelude(&ticket)?);
            }
            self.table.put_all(prelude, self.concurrency).await?;
        }
        let result = RowResult {
            batch_id: batch.batch_id.clone(),
            index: planned.index,
            row: planned.row.row,
            import_no: issued.import_no.clone(),
            outcome: RowOutcome::Issued,
            error_code: None,
            reason: None,
            tickets: issued.tickets.clone(),
            pickup_code: issued.pickup_code.clone(),
            link_token: issued.link_token.clone(),
            at: issued.issued_at,
        };
        let mut recorded = self
            .record_rows(batch, vec![(issued.clone(), result)])
            .await?;
        recorded
            .pop()
            .ok_or_else(|| Retry(format!("row {} was not recorded", planned.row.row)))
    }

    /// Records committed rows: first each paid order's "issued" history entry, then the row
    /// results. In that order, because a row with a result is never looked at again: an
    /// entry lost in a crash is written by the redelivery, which finds the row committed
    /// and comes back here.
    async fn record_rows(
        &self,
        batch: &BatchRecord,
        committed: Vec<(IssuedOrderRecord, RowResult)>,
    ) -> Result<Vec<RowResult>, Error> {
        let mut entries = Vec::new();
        for (issued, _) in &committed {
            if let Some(entry) = order_history_item(batch, issued)? {
                entries.push(entry);
            }
        }
        self.table.put_all(entries, self.concurrency).await?;
        let results: Vec<RowResult> = committed.into_iter().map(|(_, r)| r).collect();
        self.table.put_row_results(&results).await?;
        Ok(results)
    }
}

/// A refused row's reason as its result shows it: the column, then why.
fn refusal_reason(violation: &Violation) -> String {
    format!(
        "{}: {}",
        violation.column.clone().unwrap_or_default(),
        violation.reason
    )
}

/// Why a planned row can no longer be issued from `stored`, if it cannot.
fn row_refusal(
    planned: &PlannedRow,
    stored: &StoredFacts,
    batch: &BatchRecord,
    now: DateTime<Utc>,
) -> Option<String> {
    let mut checks = [RowCheck::of_parsed(&planned.row)];
    check_rows(
        &mut checks,
        &stored.facts(Some(&batch.batch_id), batch.valid_from),
        now,
    );
    checks[0].violations.first().map(refusal_reason)
}

/// What became of a pack of rows.
enum Packed {
    /// Every row committed and was recorded: their results.
    Committed(Vec<RowResult>),
    /// A condition failed: the rows, to be issued each on its own.
    Conflict(Vec<RowJob>),
}

enum Written {
    Done,
    /// A condition failed: something is already there.
    Conflict,
}

fn conflict_or(result: Result<(), Error>) -> Result<Written, Error> {
    match result {
        Ok(()) => Ok(Written::Done),
        Err(error) if error.code == ErrorCode::ConcurrentChange => Ok(Written::Conflict),
        Err(error) => Err(error),
    }
}
