//! The monthly close (§9), fired on the 1st by EventBridge Scheduler in Asia/Taipei: a bill
//! per merchant for the previous month from its daily fee totals, with the amount due
//! including every earlier bill still unpaid. A month is closed once: re-runs skip it.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tessera_domain::billing::Bill;
use tessera_domain::billing::{close_month, month_label, month_to_close};
use tessera_domain::clock::Clock;
use tessera_domain::events::EventType;
use tessera_domain::values::MerchantId;
use tessera_domain::{calendar, Error, ErrorCode};
use tessera_platform::change::{ChangeEngine, Changes, Decision};
use tessera_platform::store::billing::new_bill_write;
use tessera_platform::store::outbox::OutboxEvent;
use tessera_platform::store::Table;

/// What a schedule's input may name, e.g. `{"job": "monthly_close"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "job")]
pub enum Job {
    MonthlyClose,
}

#[derive(Clone)]
pub struct BillingClose {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub month: String,
    pub bills_created: usize,
    pub already_closed: usize,
}

impl BillingClose {
    pub async fn run(&self, input: serde_json::Value) -> Result<Summary, Error> {
        let Job::MonthlyClose = serde_json::from_value(input)
            .map_err(|e| Error::invalid_field("job", e.to_string()))?;
        let month = month_to_close(calendar::taipei_date(self.clock.now()));
        let mut summary = Summary {
            month: month_label(month),
            ..Summary::default()
        };
        for merchant in self.table.list_merchant_ids().await? {
            let (totals, bills, contract) = tokio::join!(
                self.table.daily_fee_totals(&merchant, month),
                self.table.list_bills(&merchant),
                self.table.get_contract(&merchant)
            );
            let mode = tessera_domain::merchant::redemption_mode(contract?.as_ref());
            let bills = bills?;
            if bills.iter().any(|bill| bill.month == summary.month) {
                summary.already_closed += 1;
                continue;
            }
            let unpaid: Vec<(String, rust_decimal::Decimal)> = bills
                .iter()
                .filter(|b| !b.paid)
                .map(|b| (b.month.clone(), b.total))
                .collect();
            let bill = close_month(month, mode, &totals?, &unpaid);
            if self.close(&merchant, &bill).await? {
                summary.bills_created += 1;
            } else {
                summary.already_closed += 1;
            }
        }
        tracing::info!(summary = ?summary, operation = "monthly_close", "monthly close finished");
        Ok(summary)
    }

    /// Writes the bill with its `bill.closed` event, through the change engine; false if
    /// the month was closed already (a re-run, or a run racing this one).
    async fn close(&self, merchant: &MerchantId, bill: &Bill) -> Result<bool, Error> {
        let engine = ChangeEngine::new(self.table.clone(), self.clock.clone());
        let closed = engine
            .run(None, 200, |now| async move {
                let mut changes = Changes::new();
                // Taken means closed already: the engine answers the claim's code.
                changes.claim(new_bill_write(merchant, bill)?, ErrorCode::ConcurrentChange);
                changes.event(OutboxEvent::new(
                    format!("bill-{merchant}-{}", bill.month),
                    EventType::BillClosed,
                    merchant,
                    now,
                    &bill.month,
                    bill,
                )?);
                Ok(Decision::new(changes, true))
            })
            .await;
        match closed {
            Ok(created) => Ok(created),
            Err(error) if error.code == ErrorCode::ConcurrentChange => Ok(false),
            Err(error) => Err(error),
        }
    }
}
