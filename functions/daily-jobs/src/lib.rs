//! The daily jobs, fired by EventBridge Scheduler in Asia/Taipei. The schedule's input names
//! the job. Every job is safe to run twice for the same day: reminders are outbox events
//! with deterministic ids (written once, published once) and state changes are conditional.
//! A job records its run (progress, last result, last error) for the operator; one whose
//! work does not fit an invocation queues its continuation on the jobs queue, which feeds
//! this same function.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tessera_domain::billing::{daily_fee_total_of, fee_bearing_returns};
use tessera_domain::clock::Clock;
use tessera_domain::installment::{
    fee_bearing_returns as installment_fee_bearing_returns, serials_issued,
};
use tessera_domain::merchant::{FeeItem, RedemptionMode};
use tessera_domain::notification::{Message, Notification};
use tessera_domain::orders::{daily_work, DailyAction, OrderEvent, TradeNo};
use tessera_domain::values::{EmailList, MerchantId};
use tessera_domain::{calendar, Error};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::installment;
use tessera_platform::lifecycle::{take_due_steps, STEPS_PER_TRANSACTION};
use tessera_platform::notifications::WorkQueue;
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::jobs::JobRunStatus;
use tessera_platform::store::keys::DUE_SHARDS;
use tessera_platform::store::orders::{order_cancelled_event, OrderRecord};
use tessera_platform::store::Table;

/// The jobs queue, for continuations.
pub const NEEDS: &[Resource] = &[Resource::JobsQueue];

/// The jobs a schedule can name in its input, e.g. `{"job": "unissued_orders"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Job {
    /// Day-7 and day-19 "pending issuance" mails, day-31 automatic cancellation (§5).
    UnissuedOrders,
    /// Every ticket step due by now (§6): unused tickets lapse (escrow expiry, gift-voucher
    /// expiry), redemptions and returns go to the bank at the cut-off and are settled at
    /// the next one.
    TicketSteps,
    /// Yesterday's fee totals per merchant (§6-3, §9): the return-operation fee of every
    /// return within escrow still standing at the end of the day, the SMS fee of every SMS
    /// sent, the paper-printing fee of every ticket the platform printed and the serial
    /// processing fee of every ticket issued; in installment mode the return-operation fee
    /// of every order return standing at the day's end and the serial processing fee of
    /// every serial issued. Each at the day's rate, summed and rounded half-up. The monthly
    /// close bills them.
    DailyFees,
    /// 21:00 Taipei: the tickets a merchant printed more than once since 21:00 yesterday,
    /// mailed to its billing contact (§7-3 D 注意事項 2).
    ReprintReminder,
    /// 01:00 Taipei: every installment serial step due (§八): serials whose expected date
    /// has come are redeemed, returns go to the bank, and what the bank had is settled; a
    /// return whose serials are all refunded publishes its refund result.
    InstallmentSteps,
}

impl Job {
    pub fn name(self) -> &'static str {
        match self {
            Job::UnissuedOrders => "unissued_orders",
            Job::TicketSteps => "ticket_steps",
            Job::DailyFees => "daily_fees",
            Job::ReprintReminder => "reprint_reminder",
            Job::InstallmentSteps => "installment_steps",
        }
    }
}

/// What a schedule or a continuation asks for: the job, and for a continuation the Taipei
/// day of the run it continues (a schedule's run is for today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRequest {
    pub job: Job,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<NaiveDate>,
    /// Where a continuation resumes, for jobs that walk the merchants in order (the fee
    /// totals): the last merchant done. Jobs with a worklist need none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<MerchantId>,
}

/// How much one invocation may do before it hands the rest to a continuation: stop taking
/// new work at `deadline` (Lambda's deadline less a margin), or after `max_groups`
/// transactions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    pub deadline: Option<Instant>,
    pub max_groups: Option<usize>,
}

#[derive(Clone)]
pub struct DailyJobs {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
    /// Where continuations go.
    pub continuations: WorkQueue,
}

/// What a run did, for the logs, the run record and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub reminders_queued: usize,
    pub orders_reminded: usize,
    pub orders_cancelled: usize,
    pub merchants_without_billing_email: usize,
    /// Tickets that took their due step.
    pub tickets_stepped: usize,
    /// Daily fee totals written (one per merchant and billable item).
    pub fee_totals_written: usize,
    /// Reprint reminders requested (one per merchant that reprinted).
    pub reprint_reminders: usize,
    /// Installment orders that took steps, the serials that moved, and the refunds that
    /// completed with them.
    pub installment_orders_stepped: usize,
    pub serials_stepped: usize,
    pub refunds_completed: usize,
    /// The budget ran out first: a continuation was queued for the rest.
    pub continued: bool,
    /// Where the continuation resumes (the last merchant done), for jobs that need it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<MerchantId>,
}

impl DailyJobs {
    pub fn new(services: &Services) -> Result<DailyJobs, Error> {
        Ok(DailyJobs {
            table: services.table.clone(),
            clock: services.clock.clone(),
            continuations: services.jobs()?.clone(),
        })
    }

    pub async fn from_env() -> Result<DailyJobs, String> {
        DailyJobs::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Runs the job a schedule's input names, for today's Taipei date, within `budget`.
    pub async fn run(&self, input: serde_json::Value, budget: Budget) -> Result<Summary, Error> {
        let request: JobRequest = serde_json::from_value(input)
            .map_err(|e| Error::invalid_field("job", e.to_string()))?;
        self.run_request(request, budget).await
    }

    /// Lambda's SQS integration for continuations: a continuation that fails is reported
    /// (SQS delivers it again, then to the jobs DLQ and its alarm).
    pub async fn handle_continuations(&self, event: SqsEvent, budget: Budget) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            let request = record
                .body
                .as_deref()
                .ok_or_else(|| Error::invalid_field("body", "missing"))
                .and_then(|body| {
                    serde_json::from_str::<JobRequest>(body)
                        .map_err(|e| Error::invalid_field("job", e.to_string()))
                });
            let outcome = match request {
                Ok(request) => self.run_request(request, budget).await.map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                tracing::warn!(message_id = %message_id, error = %error, operation = "daily_job", "continuation failed; SQS will retry");
                response.add_failure(message_id);
            }
        }
        response
    }

    async fn run_request(&self, request: JobRequest, budget: Budget) -> Result<Summary, Error> {
        let job = request.job;
        let day = request
            .day
            .unwrap_or_else(|| calendar::taipei_date(self.clock.now()));
        self.table
            .job_run_started(job.name(), day, self.clock.now())
            .await?;
        let outcome = match job {
            Job::UnissuedOrders => self.unissued_orders(day).await,
            Job::TicketSteps => self.ticket_steps(day, budget).await,
            Job::DailyFees => {
                self.daily_fees(
                    day - chrono::Duration::days(1),
                    request.after.as_ref(),
                    budget,
                )
                .await
            }
            Job::ReprintReminder => {
                self.reprint_reminder(day, request.after.as_ref(), budget)
                    .await
            }
            Job::InstallmentSteps => self.installment_steps(day, budget).await,
        };
        let now = self.clock.now();
        match outcome {
            Ok(summary) => {
                let result = serde_json::to_string(&summary).unwrap_or_default();
                let status = if summary.continued {
                    self.continuations
                        .send(&JobRequest {
                            job,
                            day: Some(day),
                            after: summary.resume_after.clone(),
                        })
                        .await?;
                    JobRunStatus::Running
                } else {
                    JobRunStatus::Finished
                };
                self.table
                    .job_run_ended(job.name(), day, status, &result, None, now)
                    .await?;
                tracing::info!(job = job.name(), day = %day, summary = ?summary, operation = "daily_job", "daily job invocation ended");
                Ok(summary)
            }
            Err(error) => {
                // Recorded for the operator; the error itself goes back to the caller, whose
                // retries (Scheduler's, SQS's) end on a dead-letter queue with an alarm.
                let recorded = self
                    .table
                    .job_run_ended(
                        job.name(),
                        day,
                        JobRunStatus::Failed,
                        "",
                        Some(&error.to_string()),
                        now,
                    )
                    .await;
                if let Err(not_recorded) = recorded {
                    tracing::error!(error = %not_recorded, "job failure not recorded");
                }
                tracing::error!(job = job.name(), day = %day, error = %error, operation = "daily_job", "daily job failed");
                Err(error)
            }
        }
    }

    /// Every ticket step due by now, shard by shard of the worklist (four at a time), in
    /// transactions of up to [`STEPS_PER_TRANSACTION`] tickets. The worklist is the
    /// progress: a ticket that stepped leaves the due range, so a run that stopped anywhere
    /// is resumed by running it again.
    async fn ticket_steps(&self, day: NaiveDate, budget: Budget) -> Result<Summary, Error> {
        let now = self.clock.now();
        let groups = AtomicUsize::new(0);
        let out_of_budget = AtomicBool::new(false);
        let stepped = AtomicUsize::new(0);
        let (groups, out_of_budget, stepped) = (&groups, &out_of_budget, &stepped);
        stream::iter(0..DUE_SHARDS)
            .map(|shard| async move {
                let mut start = None;
                loop {
                    let (due, next) = self.table.tickets_due(shard, now, start, 100).await?;
                    let mut done = 0;
                    for group in due.chunks(STEPS_PER_TRANSACTION) {
                        let spent = groups.fetch_add(1, Ordering::SeqCst);
                        if budget.max_groups.is_some_and(|max| spent >= max)
                            || budget.deadline.is_some_and(|d| Instant::now() >= d)
                        {
                            out_of_budget.store(true, Ordering::SeqCst);
                            break;
                        }
                        done += take_due_steps(&self.table, self.clock.clone(), group).await?;
                    }
                    if done > 0 {
                        stepped.fetch_add(done, Ordering::SeqCst);
                        self.table
                            .job_run_progress(
                                Job::TicketSteps.name(),
                                day,
                                done as u64,
                                self.clock.now(),
                            )
                            .await?;
                    }
                    match next {
                        Some(next) if !out_of_budget.load(Ordering::SeqCst) => start = Some(next),
                        _ => return Ok::<(), Error>(()),
                    }
                }
            })
            .buffer_unordered(4)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(Summary {
            tickets_stepped: stepped.load(Ordering::SeqCst),
            continued: out_of_budget.load(Ordering::SeqCst),
            ..Summary::default()
        })
    }

    /// Every installment order with a step due by now, shard by shard of its worklist (four
    /// at a time), one order per transaction (an order and its serials change together).
    /// Like the tickets' steps: an order that stepped leaves the due range, so a run that
    /// stopped anywhere is resumed by running it again.
    async fn installment_steps(&self, day: NaiveDate, budget: Budget) -> Result<Summary, Error> {
        let now = self.clock.now();
        let engine = &ChangeEngine::new(self.table.clone(), self.clock.clone());
        let spent = AtomicUsize::new(0);
        let out_of_budget = AtomicBool::new(false);
        let totals = std::sync::Mutex::new(Summary::default());
        let (spent, out_of_budget, totals) = (&spent, &out_of_budget, &totals);
        stream::iter(0..installment::SHARDS)
            .map(|shard| async move {
                let mut start = None;
                loop {
                    let (due, next) = self
                        .table
                        .installment_orders_due(shard, now, start, 100)
                        .await?;
                    let mut done = 0u64;
                    for (merchant, trade_no) in &due {
                        let used = spent.fetch_add(1, Ordering::SeqCst);
                        if budget.max_groups.is_some_and(|max| used >= max)
                            || budget.deadline.is_some_and(|d| Instant::now() >= d)
                        {
                            out_of_budget.store(true, Ordering::SeqCst);
                            break;
                        }
                        let stepped =
                            installment::take_due_steps(engine, merchant, trade_no).await?;
                        if stepped.serials > 0 {
                            done += 1;
                            let mut totals = totals.lock().map_err(|_| {
                                Error::new(tessera_domain::ErrorCode::InternalError)
                            })?;
                            totals.installment_orders_stepped += 1;
                            totals.serials_stepped += stepped.serials;
                            totals.refunds_completed += stepped.refunds;
                        }
                    }
                    if done > 0 {
                        self.table
                            .job_run_progress(
                                Job::InstallmentSteps.name(),
                                day,
                                done,
                                self.clock.now(),
                            )
                            .await?;
                    }
                    match next {
                        Some(next) if !out_of_budget.load(Ordering::SeqCst) => start = Some(next),
                        _ => return Ok::<(), Error>(()),
                    }
                }
            })
            .buffer_unordered(4)
            .try_collect::<Vec<()>>()
            .await?;
        let mut summary = totals
            .lock()
            .map_err(|_| Error::new(tessera_domain::ErrorCode::InternalError))?
            .clone();
        summary.continued = out_of_budget.load(Ordering::SeqCst);
        Ok(summary)
    }

    /// Each merchant's fee totals of `day`, replacing what a previous run wrote (the day is
    /// over, so a run twice computes the same). A merchant with no rate set for an item is
    /// not billed for it.
    async fn daily_fees(
        &self,
        day: NaiveDate,
        after: Option<&MerchantId>,
        budget: Budget,
    ) -> Result<Summary, Error> {
        let mut summary = Summary::default();
        // In ID order, so that a continuation resumes after the last merchant done.
        let mut merchants = self.table.list_merchant_ids().await?;
        merchants.sort();
        let remaining = merchants
            .into_iter()
            .filter(|m| after.is_none_or(|after| m > after));
        for (done, merchant) in remaining.enumerate() {
            if budget.max_groups.is_some_and(|max| done >= max)
                || budget.deadline.is_some_and(|d| Instant::now() >= d)
            {
                summary.continued = true;
                break;
            }
            let (start, end) = (
                calendar::start_of_day(day),
                calendar::end_of_day_exclusive(day),
            );
            let (contract, rates) = tokio::try_join!(
                self.table.get_contract(&merchant),
                self.table.list_rates(&merchant),
            )?;
            let mode = tessera_domain::merchant::redemption_mode(contract.as_ref());
            // Each billable item of the mode: how many units, and their face value in all.
            let units: Vec<(FeeItem, usize, Decimal)> = match mode {
                RedemptionMode::RedeemAfterUse => {
                    let (events, sms, prints, issued) = tokio::try_join!(
                        self.table.ticket_events(&merchant, day),
                        self.table.sms_log(&merchant, start, end),
                        self.table.prints_between(&merchant, start, end),
                        self.table.counter_days(&merchant, day, day),
                    )?;
                    let own: Vec<_> = events
                        .into_iter()
                        .filter(|e| e.issuer == merchant)
                        .collect();
                    let returns = fee_bearing_returns(&own);
                    let platform_prints = prints.iter().filter(|p| p.by_platform).count();
                    // The tickets the day issued (the serial processing fee), from the
                    // circulation counters of the day, every place together.
                    let (issued_count, issued_amount) =
                        issued
                            .iter()
                            .fold((0usize, Decimal::ZERO), |(n, a), (_, _, f)| {
                                (
                                    n + usize::try_from(f.issued_count).unwrap_or(0),
                                    a + f.issued_amount,
                                )
                            });
                    vec![
                        (
                            FeeItem::ReturnOperation,
                            returns.len(),
                            returns.iter().map(|(_, face)| *face).sum(),
                        ),
                        // Per unit: what was sent or printed counts, not its value.
                        (FeeItem::Sms, sms.len(), Decimal::ZERO),
                        (FeeItem::PaperPrinting, platform_prints, Decimal::ZERO),
                        (FeeItem::SerialProcessing, issued_count, issued_amount),
                    ]
                }
                RedemptionMode::Installment => {
                    let ledger = self.table.installment_events(&merchant, day).await?;
                    let returns = installment_fee_bearing_returns(&ledger);
                    let (serials, serial_amount) = serials_issued(&ledger);
                    vec![
                        (
                            FeeItem::ReturnOperation,
                            returns.len(),
                            returns.iter().map(|r| r.amount).sum(),
                        ),
                        (FeeItem::SerialProcessing, serials, serial_amount),
                    ]
                }
            };
            for (item, count, face_total) in units {
                if let Some(total) = daily_fee_total_of(day, item, mode, &rates, count, face_total)
                {
                    self.table.record_daily_fee_total(&merchant, &total).await?;
                    summary.fee_totals_written += 1;
                }
            }
            summary.resume_after = Some(merchant);
        }
        if !summary.continued {
            summary.resume_after = None;
        }
        Ok(summary)
    }

    /// For each merchant, the tickets it printed more than once in the reminder's window
    /// (21:00 yesterday to 21:00 of `day`), mailed once to its billing contact: the
    /// notification's id is the merchant's and the day's, so a run twice sends one mail.
    async fn reprint_reminder(
        &self,
        day: NaiveDate,
        after: Option<&MerchantId>,
        budget: Budget,
    ) -> Result<Summary, Error> {
        let mut summary = Summary::default();
        let (from, until) = tessera_domain::printing::reminder_window(day);
        let mut merchants = self.table.list_merchant_ids().await?;
        merchants.sort();
        let remaining = merchants
            .into_iter()
            .filter(|m| after.is_none_or(|after| m > after));
        for (done, merchant) in remaining.enumerate() {
            if budget.max_groups.is_some_and(|max| done >= max)
                || budget.deadline.is_some_and(|d| Instant::now() >= d)
            {
                summary.continued = true;
                break;
            }
            let prints = self.table.prints_between(&merchant, from, until).await?;
            let reprinted = reprinted_tickets(&prints);
            if !reprinted.is_empty() {
                if self.remind_reprints(&merchant, day, &reprinted).await? {
                    summary.reprint_reminders += 1;
                } else {
                    summary.merchants_without_billing_email += 1;
                }
            }
            summary.resume_after = Some(merchant);
        }
        if !summary.continued {
            summary.resume_after = None;
        }
        Ok(summary)
    }

    async fn remind_reprints(
        &self,
        merchant: &MerchantId,
        day: NaiveDate,
        reprinted: &[(String, u32)],
    ) -> Result<bool, Error> {
        let settings = self.table.get_settings(merchant).await?;
        let Ok(to) = EmailList::parse("billing", &settings.contacts.billing.email) else {
            tracing::warn!(merchant = %merchant, "no billing contact email: reprint reminder not sent");
            return Ok(false);
        };
        let lines: Vec<String> = reprinted
            .iter()
            .map(|(ticket_no, prints)| format!("{ticket_no}\t{prints}"))
            .collect();
        let notification = Notification {
            id: format!("reprint-reminder-{merchant}-{day}"),
            merchant_id: merchant.to_string(),
            message: Message::Email {
                to: to.addresses().to_vec(),
                subject: format!(
                    "[Tessera] 票券多次列印提醒 Tickets printed more than once ({merchant}, {day})"
                ),
                body: format!(
                    "以下票券於前一日 21:00 至 {day} 21:00 間列印超過一次，請確認。\nThese tickets were printed more than once between 21:00 the day before and 21:00 on {day}:\n\n票券序號 Ticket\t列印次數 Prints\n{}\n",
                    lines.join("\n")
                ),
            },
        };
        let events = tessera_platform::notifications::notification_events(
            &notification.id,
            merchant,
            self.clock.now(),
            &format!("reprints-{day}"),
            std::slice::from_ref(&notification),
        )?;
        self.table.put_events(&events).await?;
        Ok(true)
    }

    async fn unissued_orders(&self, today: NaiveDate) -> Result<Summary, Error> {
        let mut summary = Summary::default();
        let now = self.clock.now();
        for (paid_on, action) in daily_work(today) {
            let orders = self.table.unissued_paid_on(paid_on).await?;
            match action {
                DailyAction::Remind(days) => {
                    let mut by_merchant: BTreeMap<MerchantId, Vec<TradeNo>> = BTreeMap::new();
                    for (merchant, trade_no) in orders {
                        by_merchant.entry(merchant).or_default().push(trade_no);
                    }
                    for (merchant, trade_nos) in by_merchant {
                        match self
                            .remind(&merchant, today, paid_on, days, &trade_nos)
                            .await?
                        {
                            true => {
                                summary.reminders_queued += 1;
                                summary.orders_reminded += trade_nos.len();
                            }
                            false => summary.merchants_without_billing_email += 1,
                        }
                    }
                }
                DailyAction::AutoCancel => {
                    for order in self.table.get_orders(&orders).await? {
                        if self.cancel(order, now).await? {
                            summary.orders_cancelled += 1;
                        }
                    }
                }
            }
        }
        Ok(summary)
    }

    /// Requests one reminder per merchant, day and reminder kind to the billing contact.
    async fn remind(
        &self,
        merchant: &MerchantId,
        today: NaiveDate,
        paid_on: NaiveDate,
        days: i64,
        trade_nos: &[TradeNo],
    ) -> Result<bool, Error> {
        let settings = self.table.get_settings(merchant).await?;
        let Ok(to) = EmailList::parse("billing", &settings.contacts.billing.email) else {
            tracing::warn!(merchant = %merchant, "no billing contact email: pending-issuance reminder not sent");
            return Ok(false);
        };
        let last_day = paid_on + chrono::Duration::days(tessera_domain::orders::ISSUABLE_DAYS - 1);
        let body = format!(
            "以下訂單已於 {paid_on} 完成交易滿 {days} 天，尚未發行票券。請於 {last_day} 前完成發行，逾期將無法發行。\n\
             The following orders were paid on {paid_on} ({days} days ago) and are not issued yet. Issue them by {last_day}.\n\n{}",
            trade_nos
                .iter()
                .map(TradeNo::as_str)
                .collect::<Vec<_>>()
                .join("\n")
        );
        let notification = Notification {
            // Deterministic: a re-run of the job for the same day queues the same id, and the
            // consumer sends an id only once.
            id: format!("unissued-reminder-{merchant}-{today}-day{days}"),
            merchant_id: merchant.to_string(),
            message: Message::Email {
                to: to.addresses().to_vec(),
                subject: format!(
                    "[Tessera] 待發行通知 Orders pending issuance ({merchant}, {} orders)",
                    trade_nos.len()
                ),
                body,
            },
        };
        // Deterministic event id too: a re-run finds the request already written.
        let events = tessera_platform::notifications::notification_events(
            &notification.id,
            merchant,
            self.clock.now(),
            &format!("unissued-{today}"),
            std::slice::from_ref(&notification),
        )?;
        Ok(self.table.put_events(&events).await? > 0)
    }

    /// Cancels an order still unissued 30 days after payment (through the change engine);
    /// false if it no longer is.
    async fn cancel(&self, order: OrderRecord, now: DateTime<Utc>) -> Result<bool, Error> {
        let engine = ChangeEngine::new(self.table.clone(), self.clock.clone());
        let key = (order.merchant_id.clone(), order.trade_no.clone());
        let key = &key;
        let first = std::sync::Mutex::new(Some(order));
        let cancelled = engine
            .run(None, 200, |_| {
                let first = first.lock().ok().and_then(|mut o| o.take());
                async move {
                    let order = match first {
                        Some(order) => Some(order),
                        None => self.table.get_order(&key.0, &key.1).await?,
                    };
                    let Some(mut order) = order else {
                        return Ok(Decision::new(Changes::new(), false));
                    };
                    let before = order.status;
                    // Issued, abandoned or cancelled by someone else meanwhile: nothing to do.
                    let Ok(after) = before.after(OrderEvent::AutoCancel) else {
                        return Ok(Decision::new(Changes::new(), false));
                    };
                    order.status = after;
                    order.updated_at = now;
                    let mut changes = Changes::new();
                    let version = changes.update(&mut order)?;
                    changes.history(
                        &HistoryEntry::by_system(
                            &order.merchant_id,
                            now,
                            "order",
                            order.trade_no.as_str(),
                            "auto_cancelled",
                            json!({"status": {"before": before.name(), "after": after.name()}, "reason": "not issued or abandoned within 30 days of payment"}),
                        ),
                        version,
                    )?;
                    changes.event(order_cancelled_event(&order, version, now)?);
                    Ok(Decision::new(changes, true))
                }
            })
            .await?;
        Ok(cancelled)
    }
}

/// The tickets printed more than once (by the merchant) among `prints`, with how many
/// times in all (its highest print number), by ticket number.
pub fn reprinted_tickets(
    prints: &[tessera_platform::store::printing::PrintRecord],
) -> Vec<(String, u32)> {
    let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for print in prints.iter().filter(|p| !p.by_platform) {
        let entry = counts.entry(print.ticket_no.to_string()).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = entry.1.max(print.print);
    }
    counts
        .into_iter()
        .filter(|(_, (in_window, highest))| *in_window > 1 || *highest > 1)
        .map(|(ticket, (_, highest))| (ticket, highest))
        .collect()
}
