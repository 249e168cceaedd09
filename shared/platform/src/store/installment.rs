//! Installment orders as stored: one partition per order, the order item (its figures,
//! returns and place on the worklist) and one item per serial (on the serial report's
//! index). An order is read with one query and written whole by one transaction,
//! conditional on the order item's version; the serial items change only with it.

use super::{from_item, keys, to_item, unavailable, Expect, Gsi, Item, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tessera_domain::installment::{
    InstallmentOrder, LedgerEntry, OrderFigures, OrderReturn, Serial, SerialStatus,
};
use tessera_domain::orders::TradeNo;
use tessera_domain::products::ProductId;
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// An issued installment order with its version (of the order item: the aggregate's).
#[derive(Debug, Clone, PartialEq)]
pub struct InstallmentOrderRecord {
    pub merchant_id: MerchantId,
    pub order: InstallmentOrder,
    /// The paid order's cardholder, for the report (masked there).
    pub cardholder_name: String,
    pub cardholder_mobile: String,
    pub version: u64,
}

/// The order item: the order without its serials, with what the report lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInstallmentOrder {
    pub merchant_id: MerchantId,
    pub trade_no: TradeNo,
    pub product_id: ProductId,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub issued_at: DateTime<Utc>,
    #[serde(default)]
    pub notify_url: Option<String>,
    #[serde(default)]
    pub returns: Vec<OrderReturn>,
    pub cardholder_name: String,
    pub cardholder_mobile: String,
    /// Derived from the serials when written: the report reads them without the serials.
    pub status: SerialStatus,
    pub figures: OrderFigures,
    #[serde(default)]
    pub next_step_at: Option<DateTime<Utc>>,
    /// The last period's expected date (the report's 履約保障到期日 until all are redeemed).
    #[serde(default)]
    pub last_expected_on: Option<NaiveDate>,
    pub version: u64,
}

/// A serial item: the serial, with its order's facts the serial report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSerial {
    pub merchant_id: MerchantId,
    pub trade_no: TradeNo,
    pub product_id: ProductId,
    pub issued_at: DateTime<Utc>,
    #[serde(flatten)]
    pub serial: Serial,
    /// The standing return that took it, if any: when and why.
    #[serde(default)]
    pub returned_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub return_reason: Option<String>,
}

impl InstallmentOrderRecord {
    fn stored_order(&self) -> StoredInstallmentOrder {
        let order = &self.order;
        StoredInstallmentOrder {
            merchant_id: self.merchant_id.clone(),
            trade_no: order.trade_no.clone(),
            product_id: order.product_id.clone(),
            amount: order.amount,
            issued_at: order.issued_at,
            notify_url: order.notify_url.clone(),
            returns: order.returns.clone(),
            cardholder_name: self.cardholder_name.clone(),
            cardholder_mobile: self.cardholder_mobile.clone(),
            status: order.status(),
            figures: order.figures(),
            next_step_at: order.next_step_at(),
            last_expected_on: order.serials.last().map(|s| s.expected_on),
            version: self.version,
        }
    }

    fn partition(&self) -> String {
        keys::installment_order(self.merchant_id.as_str(), self.order.trade_no.as_str())
    }

    /// The order item, on the order report's index and (while a step is due) the worklist.
    pub fn order_item(&self) -> Result<Item, Error> {
        let stored = self.stored_order();
        let mut item = to_item(&stored, self.partition(), keys::INSTALLMENT_ORDER)?;
        let trade_no = self.order.trade_no.as_str();
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::installment_orders_of(self.merchant_id.as_str())),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(keys::installment_order_timeline(
                self.order.issued_at,
                trade_no,
            )),
        );
        if let Some(due_at) = stored.next_step_at {
            let subject = keys::merchant_order(self.merchant_id.as_str(), trade_no);
            item.insert(
                keys::GSI4PK.to_owned(),
                AttributeValue::S(keys::installment_orders_due(keys::due_shard(&subject))),
            );
            item.insert(
                keys::GSI4SK.to_owned(),
                AttributeValue::S(keys::ticket_due(due_at, &subject)),
            );
        }
        Ok(item)
    }

    /// The item of one serial, on the serial report's index.
    pub fn serial_item(&self, serial: &Serial) -> Result<Item, Error> {
        let standing =
            self.order.returns.iter().rev().find(|r| {
                r.is_standing() && r.parts.iter().any(|part| part.period == serial.period)
            });
        let returned = serial.status.is_return();
        let stored = StoredSerial {
            merchant_id: self.merchant_id.clone(),
            trade_no: self.order.trade_no.clone(),
            product_id: self.order.product_id.clone(),
            issued_at: self.order.issued_at,
            serial: serial.clone(),
            returned_at: standing.filter(|_| returned).map(|r| r.returned_at),
            return_reason: standing.filter(|_| returned).map(|r| r.reason.clone()),
        };
        let mut item = to_item(&stored, self.partition(), &keys::serial(serial.period))?;
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::serials_of(self.merchant_id.as_str())),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(keys::serial_timeline(
                serial.expected_on,
                self.order.trade_no.as_str(),
                serial.period,
            )),
        );
        Ok(item)
    }

    /// The writes of a new order: the order item (only if the number is new) and every
    /// serial, at version 1.
    pub fn creation_writes(&mut self) -> Result<Vec<Write>, Error> {
        self.version = 1;
        let mut writes = vec![Write {
            item: self.order_item()?,
            expect: Expect::Absent,
        }];
        for serial in &self.order.serials {
            writes.push(Write {
                item: self.serial_item(serial)?,
                expect: Expect::Absent,
            });
        }
        Ok(writes)
    }

    /// The writes of a change from `before` (the order as read): the order item at its next
    /// version, conditional on the version read, and the serials that changed (they change
    /// only through their order, so the order's condition guards them).
    pub fn change_writes(&mut self, before: &InstallmentOrder) -> Result<Vec<Write>, Error> {
        let read = self.version;
        self.version = read + 1;
        let mut writes = vec![Write {
            item: self.order_item()?,
            expect: Expect::Version(read),
        }];
        // A return's fields shown on a serial change with the returns list too.
        let returns_changed = before.returns != self.order.returns;
        for serial in &self.order.serials {
            let changed = before.serial(serial.period) != Some(serial);
            if changed || (returns_changed && serial.status.is_return()) {
                writes.push(Write {
                    item: self.serial_item(serial)?,
                    expect: Expect::Any,
                });
            }
        }
        Ok(writes)
    }
}

/// The write of a ledger entry, in its change's transaction (new: keyed by the version).
pub fn ledger_write(merchant_id: &MerchantId, entry: &LedgerEntry) -> Result<Write, Error> {
    let day = tessera_domain::calendar::taipei_date(entry.at);
    Ok(Write {
        item: to_item(
            entry,
            keys::installment_events(merchant_id.as_str(), day),
            &keys::ticket_event(entry.at, entry.trade_no.as_str(), entry.version),
        )?,
        expect: Expect::Absent,
    })
}

impl Table {
    /// An order with its serials (one strongly consistent query of its partition).
    pub async fn get_installment_order(
        &self,
        merchant_id: &MerchantId,
        trade_no: &TradeNo,
    ) -> Result<Option<InstallmentOrderRecord>, Error> {
        let items = self
            .query_partition(keys::installment_order(
                merchant_id.as_str(),
                trade_no.as_str(),
            ))
            .await?;
        assemble(items)
    }

    /// The worklist: up to `limit` orders of one shard with a step due by `now`, as
    /// (merchant, trade number), and where the next page starts.
    pub async fn installment_orders_due(
        &self,
        shard: u32,
        now: DateTime<Utc>,
        start: Option<Item>,
        limit: i32,
    ) -> Result<(Vec<(MerchantId, TradeNo)>, Option<Item>), Error> {
        let (index, pk_name, sk_name) = Gsi::Four.names();
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND #sk < :due")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_names("#sk", sk_name)
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(keys::installment_orders_due(shard)),
            )
            .expression_attribute_values(":due", AttributeValue::S(keys::due_by(now)))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(unavailable)?;
        let orders = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|item| match item.get(keys::PK) {
                Some(AttributeValue::S(pk)) => {
                    let (merchant, trade_no) = pk
                        .strip_prefix(keys::INSTALLMENT_ORDER_PARTITION_PREFIX)?
                        .split_once('#')?;
                    Some((
                        MerchantId::parse("merchant_id", merchant).ok()?,
                        TradeNo::parse("trade_no", trade_no).ok()?,
                    ))
                }
                _ => None,
            })
            .collect();
        Ok((orders, output.last_evaluated_key.filter(|k| !k.is_empty())))
    }

    /// A merchant's installment ledger of one Taipei day, in time order.
    pub async fn installment_events(
        &self,
        merchant_id: &MerchantId,
        date: NaiveDate,
    ) -> Result<Vec<LedgerEntry>, Error> {
        // Every key of the partition starts with its timestamp, so with the year.
        let year = chrono::Datelike::year(&date).to_string();
        self.query_prefix(
            keys::installment_events(merchant_id.as_str(), date),
            &year,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }
}

/// The order and its serials from the items of its partition (`None`: no order item).
fn assemble(items: Vec<Item>) -> Result<Option<InstallmentOrderRecord>, Error> {
    let mut stored_order: Option<StoredInstallmentOrder> = None;
    let mut serials = Vec::new();
    for item in items {
        let sort = match item.get(keys::SK) {
            Some(AttributeValue::S(sort)) => sort.clone(),
            _ => continue,
        };
        if sort == keys::INSTALLMENT_ORDER {
            stored_order = Some(from_item(item)?);
        } else if sort.starts_with(keys::SERIAL_PREFIX) {
            let stored: StoredSerial = from_item(item)?;
            serials.push(stored.serial);
        }
    }
    let Some(stored) = stored_order else {
        return Ok(None);
    };
    serials.sort_by_key(|s| s.period);
    Ok(Some(InstallmentOrderRecord {
        merchant_id: stored.merchant_id,
        order: InstallmentOrder {
            trade_no: stored.trade_no,
            product_id: stored.product_id,
            amount: stored.amount,
            issued_at: stored.issued_at,
            notify_url: stored.notify_url,
            serials,
            returns: stored.returns,
        },
        cardholder_name: stored.cardholder_name,
        cardholder_mobile: stored.cardholder_mobile,
        version: stored.version,
    }))
}
