//! Installment orders through the change engine: every change reads the order with its
//! serials, lets the domain decide (`tessera_domain::installment`), and commits the order
//! item, the serials that changed, the history entry of the new version, the ledger line
//! (what the fee totals and the return-fee report count) and the outbox events, in one
//! transaction conditional on the order's version (docs/decisions/0017-installment-orders.md).

use crate::change::{ChangeEngine, Changes, Decision};
use crate::store::history::HistoryEntry;
use crate::store::installment::{ledger_write, InstallmentOrderRecord};
use crate::store::keys::DUE_SHARDS;
use crate::store::outbox::OutboxEvent;
use crate::store::Table;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use tessera_domain::events::EventType;
use tessera_domain::installment::{InstallmentOrder, LedgerEntry, LedgerOperation, StepsTaken};
use tessera_domain::merchant::RedemptionMode;
use tessera_domain::orders::TradeNo;
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

/// The history entity of an installment order.
pub const ENTITY: &str = "installment_order";

pub use tessera_domain::merchant::require_mode;

/// The merchant's mode must be `wanted` (one read of its contract).
pub async fn check_mode(
    table: &Table,
    merchant: &MerchantId,
    wanted: RedemptionMode,
) -> Result<(), Error> {
    require_mode(table.get_contract(merchant).await?.as_ref(), wanted)
}

/// The order, or `INSTALLMENT_ORDER_NOT_FOUND`.
pub async fn read(
    table: &Table,
    merchant: &MerchantId,
    trade_no: &TradeNo,
) -> Result<InstallmentOrderRecord, Error> {
    table
        .get_installment_order(merchant, trade_no)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::InstallmentOrderNotFound))
}

/// A ledger line of a change, without its time, order and version (the staging adds them).
pub struct LedgerLine {
    pub operation: LedgerOperation,
    pub periods: u32,
    pub amount: Decimal,
    pub fee: Option<Decimal>,
    pub return_number: Option<u32>,
}

/// Stages the change of `record` from `before` in `changes`: the order and its changed
/// serials at the next version, `entry` as that version's history, the ledger line and
/// the events (ids derived from the order and version: written once). Returns the version.
pub fn stage(
    changes: &mut Changes,
    record: &mut InstallmentOrderRecord,
    before: &InstallmentOrder,
    entry: &HistoryEntry,
    ledger: Option<LedgerLine>,
    events: Vec<(EventType, serde_json::Value)>,
    at: DateTime<Utc>,
) -> Result<u64, Error> {
    let writes = if record.version == 0 {
        record.creation_writes()?
    } else {
        record.change_writes(before)?
    };
    let version = record.version;
    changes.writes(writes);
    changes.history(entry, version)?;
    let trade_no = record.order.trade_no.clone();
    if let Some(line) = ledger {
        changes.write(ledger_write(
            &record.merchant_id,
            &LedgerEntry {
                at,
                trade_no: trade_no.clone(),
                version,
                operation: line.operation,
                product_id: record.order.product_id.clone(),
                periods: line.periods,
                amount: line.amount,
                fee: line.fee,
                return_number: line.return_number,
            },
        )?);
    }
    for (event_type, data) in events {
        changes.event(OutboxEvent::new(
            format!(
                "iorder-{}-{}-v{version}-{}",
                record.merchant_id,
                trade_no,
                event_type.name()
            ),
            event_type,
            &record.merchant_id,
            at,
            trade_no.as_str(),
            &data,
        )?);
    }
    Ok(version)
}

/// The refund result of a completed return: what the order's notify URL is sent.
pub fn refund_result(
    record: &InstallmentOrderRecord,
    return_number: u32,
) -> Option<serde_json::Value> {
    let order = &record.order;
    let refund = order.returns.iter().find(|r| r.number == return_number)?;
    Some(json!({
        "merchant_id": record.merchant_id,
        "trade_no": order.trade_no,
        "return_number": refund.number,
        "returned_at": refund.returned_at,
        "refunded_at": refund.refunded_at,
        "amount": refund.amount.to_string(),
        "fee": refund.fee.to_string(),
        "refund_amount": refund.refund_amount().to_string(),
        "periods": refund.parts.iter().map(|p| json!({"period": p.period, "fee": p.fee.to_string()})).collect::<Vec<_>>(),
        "notify_url": order.notify_url,
    }))
}

/// What the jobs' steps did to one order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderStepped {
    pub serials: usize,
    pub refunds: usize,
}

/// Takes every step due by now on one order (scheduled redemption, bank cut-offs) through
/// the change engine; an order with nothing due (stepped already, or changed by a person)
/// is left alone. Safe to run twice: what stepped is no longer due.
pub async fn take_due_steps(
    engine: &ChangeEngine,
    merchant: &MerchantId,
    trade_no: &TradeNo,
) -> Result<OrderStepped, Error> {
    engine
        .run(None, 200, |now| async move {
            let Some(mut record) = engine
                .table
                .get_installment_order(merchant, trade_no)
                .await?
            else {
                return Ok(Decision::new(Changes::new(), (0usize, 0usize)));
            };
            let before = record.order.clone();
            let StepsTaken {
                steps,
                refunds_completed,
            } = record.order.take_due_steps(now);
            let mut changes = Changes::new();
            if steps.is_empty() {
                return Ok(Decision::new(changes, (0, 0)));
            }
            let moved: Vec<_> = steps
                .iter()
                .map(|s| json!({"period": s.period, "before": s.before.name(), "after": s.after.name()}))
                .collect();
            let mut events = vec![(
                EventType::InstallmentSerialsStepped,
                json!({
                    "trade_no": trade_no,
                    "steps": moved,
                    "facts": record.order.changed_facts(&before),
                }),
            )];
            for number in &refunds_completed {
                if let Some(result) = refund_result(&record, *number) {
                    events.push((EventType::InstallmentOrderRefunded, result));
                }
            }
            let entry = HistoryEntry::by_system(
                merchant,
                now,
                ENTITY,
                trade_no.as_str(),
                "system_steps",
                json!({"steps": moved, "refunds_completed": refunds_completed}),
            );
            stage(
                &mut changes,
                &mut record,
                &before,
                &entry,
                None,
                events,
                now,
            )?;
            Ok(Decision::new(changes, (steps.len(), refunds_completed.len())))
        })
        .await
        .map(|(serials, refunds)| OrderStepped { serials, refunds })
}

/// The worklist's shards, for the job.
pub const SHARDS: u32 = DUE_SHARDS;

/// The refund notify URL in force for `merchant` now (snapshotted onto each order).
pub async fn notify_url_in_force(
    table: &Table,
    merchant: &MerchantId,
) -> Result<Option<String>, Error> {
    Ok(table.get_settings(merchant).await?.refund_notify_url)
}
