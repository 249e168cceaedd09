//! The daily jobs, fired by EventBridge Scheduler in Asia/Taipei. The schedule's input names
//! the job. Every job is safe to run twice for the same day: reminders are outbox events
//! with deterministic ids (written once, published once) and state changes are conditional.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::notification::{Message, Notification};
use tessera_domain::orders::{daily_work, DailyAction, OrderEvent, TradeNo};
use tessera_domain::values::{EmailList, MerchantId};
use tessera_domain::{calendar, Error};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::store::history::HistoryEntry;
use tessera_platform::store::orders::{order_cancelled_event, OrderRecord};
use tessera_platform::store::Table;

/// The jobs a schedule can name in its input, e.g. `{"job": "unissued_orders"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "job")]
pub enum Job {
    /// Day-7 and day-19 "pending issuance" mails, day-31 automatic cancellation (§5).
    UnissuedOrders,
}

#[derive(Clone)]
pub struct DailyJobs {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
}

/// What a run did, for the logs and for tests.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub reminders_queued: usize,
    pub orders_reminded: usize,
    pub orders_cancelled: usize,
    pub merchants_without_billing_email: usize,
}

impl DailyJobs {
    /// Runs the job named in a schedule's input for today's Taipei date.
    pub async fn run(&self, input: serde_json::Value) -> Result<Summary, Error> {
        let job: Job = serde_json::from_value(input)
            .map_err(|e| Error::invalid_field("job", e.to_string()))?;
        let today = calendar::taipei_date(self.clock.now());
        let summary = match job {
            Job::UnissuedOrders => self.unissued_orders(today).await?,
        };
        tracing::info!(job = ?job, day = %today, summary = ?summary, operation = "daily_job", "daily job finished");
        Ok(summary)
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
