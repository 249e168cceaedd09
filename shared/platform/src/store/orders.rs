//! Paid orders. While an order is unissued it also sits on the sparse GSI3 under its Taipei
//! payment date, so the daily job finds exactly the orders of a given day; any other status
//! rewrites the item without those attributes, which takes it off the index.

use super::{from_item, keys, to_item, Expect, Gsi, SortKeys, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tessera_domain::calendar;
use tessera_domain::orders::{OrderStatus, TradeNo};
use tessera_domain::products::ProductId;
use tessera_domain::values::{MerchantId, TaiwanMobile};
use tessera_domain::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub merchant_id: MerchantId,
    pub trade_no: TradeNo,
    pub product_id: ProductId,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub quantity: u32,
    pub cardholder_name: String,
    pub mobile: TaiwanMobile,
    #[serde(default)]
    pub email: String,
    pub paid_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

pub fn order_write(order: &OrderRecord) -> Result<Write, Error> {
    let mut item = to_item(
        order,
        keys::merchant(order.merchant_id.as_str()),
        &keys::order(order.trade_no.as_str()),
    )?;
    if order.status == OrderStatus::Unissued {
        item.insert(
            keys::GSI3PK.to_owned(),
            AttributeValue::S(keys::unissued_paid_on(calendar::taipei_date(order.paid_at))),
        );
        item.insert(
            keys::GSI3SK.to_owned(),
            AttributeValue::S(keys::merchant_order(
                order.merchant_id.as_str(),
                order.trade_no.as_str(),
            )),
        );
    }
    let expect = if order.version == 1 {
        Expect::Absent
    } else {
        Expect::Version(order.version - 1)
    };
    Ok(Write { item, expect })
}

/// The `order.cancelled` event of an order that will never be issued (abandoned, or
/// cancelled on day 31); its id is the order and the version its cancellation produced.
pub fn order_cancelled_event(
    order: &OrderRecord,
    version: u64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<super::outbox::OutboxEvent, Error> {
    super::outbox::OutboxEvent::new(
        format!("order-{}-{}-v{version}", order.merchant_id, order.trade_no),
        tessera_domain::events::EventType::OrderCancelled,
        &order.merchant_id,
        at,
        order.trade_no.as_str(),
        &serde_json::json!({
            "trade_no": order.trade_no,
            "product_id": order.product_id,
            "amount": order.amount.to_string(),
            "status": order.status.name(),
        }),
    )
}

impl super::Versioned for OrderRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<super::Item, Error> {
        Ok(order_write(self)?.item)
    }
}

impl Table {
    pub async fn get_order(
        &self,
        merchant_id: &MerchantId,
        trade_no: &TradeNo,
    ) -> Result<Option<OrderRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::order(trade_no.as_str()),
        )
        .await
    }

    /// Orders by (merchant, trade number), in one batched read; unknown ones are absent.
    pub async fn get_orders(
        &self,
        orders: &[(MerchantId, TradeNo)],
    ) -> Result<Vec<OrderRecord>, Error> {
        let keys = orders
            .iter()
            .map(|(merchant, trade_no)| {
                super::key(
                    keys::merchant(merchant.as_str()),
                    &keys::order(trade_no.as_str()),
                )
            })
            .collect();
        self.get_many(keys).await
    }

    pub async fn list_orders(&self, merchant_id: &MerchantId) -> Result<Vec<OrderRecord>, Error> {
        self.query_prefix(
            keys::merchant(merchant_id.as_str()),
            keys::ORDER_PREFIX,
            true,
            None,
        )
        .await?
        .into_iter()
        .map(from_item)
        .collect()
    }

    /// (merchant, trade number) of every order paid on `date` and still unissued.
    pub async fn unissued_paid_on(
        &self,
        date: NaiveDate,
    ) -> Result<Vec<(MerchantId, TradeNo)>, Error> {
        let items = self
            .query_index(Gsi::Three, keys::unissued_paid_on(date), SortKeys::All)
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let Some(AttributeValue::S(entry)) = item.get(keys::GSI3SK) else {
                    return None;
                };
                let (merchant, trade_no) = entry.split_once('#')?;
                let merchant = MerchantId::parse("merchant_id", merchant).ok()?;
                let trade_no = TradeNo::parse("trade_no", trade_no).ok()?;
                Some((merchant, trade_no))
            })
            .collect())
    }
}
