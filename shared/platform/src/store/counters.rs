//! Circulation counters: per merchant, one item per (Taipei day, place), per (month, place)
//! and per issue-day cohort, each holding the counts and amounts of the three measures.
//! A consumer of the outbox adds an event's deltas in one transaction with its mark, so
//! each event counts exactly once however often the stream delivers it.

use super::{keys, unavailable, Item, Table};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use tessera_domain::circulation::{Bucket, Delta, Figures, Measure, Place};
use tessera_domain::products::ProductId;
use tessera_domain::values::MerchantId;
use tessera_domain::Error;

/// The sort keys a delta adds to: a day's also counts in its month.
fn sort_keys(bucket: &Bucket) -> Vec<String> {
    match bucket {
        Bucket::Day { day, place } => vec![
            keys::counter_day(*day, &place.key()),
            keys::counter_month(*day, &place.key()),
        ],
        Bucket::Cohort { issued_on } => vec![keys::counter_cohort(*issued_on)],
        Bucket::Product { product_id } => vec![keys::counter_product(product_id.as_str())],
    }
}

fn number(item: &Item, name: &str) -> Decimal {
    match item.get(name) {
        Some(AttributeValue::N(n)) => Decimal::from_str(n).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn sort_key(item: &Item) -> Option<&str> {
    match item.get(keys::SK) {
        Some(AttributeValue::S(sk)) => Some(sk),
        _ => None,
    }
}

/// The figures an item holds.
fn figures(item: &Item) -> Figures {
    let mut figures = Figures::default();
    for measure in Measure::ALL {
        let count = number(item, &format!("{}_count", measure.name()));
        let amount = number(item, &format!("{}_amount", measure.name()));
        figures.add(measure, count.trunc().to_i64().unwrap_or_default(), amount);
    }
    figures
}

impl Table {
    /// Adds `deltas` to `merchant`'s counters together with `mark` (the consumer's mark of
    /// the event, written only if absent). False when the mark was there: the event was
    /// counted before, and nothing is added again.
    pub async fn add_to_counters(
        &self,
        merchant: &MerchantId,
        deltas: &[Delta],
        mark: Item,
    ) -> Result<bool, Error> {
        let mut per_item: BTreeMap<String, BTreeMap<Measure, (i64, Decimal)>> = BTreeMap::new();
        for delta in deltas {
            for sk in sort_keys(&delta.bucket) {
                let entry = per_item
                    .entry(sk)
                    .or_default()
                    .entry(delta.measure)
                    .or_default();
                entry.0 += delta.count;
                entry.1 += delta.amount;
            }
        }
        let pk = keys::counters(merchant.as_str());
        let mut request = self.client.transact_write_items().transact_items(
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.name)
                        .set_item(Some(mark))
                        .condition_expression("attribute_not_exists(PK)")
                        .build()
                        .map_err(unavailable)?,
                )
                .build(),
        );
        for (sk, measures) in per_item {
            let mut update = Update::builder()
                .table_name(&self.name)
                .key(keys::PK, AttributeValue::S(pk.clone()))
                .key(keys::SK, AttributeValue::S(sk));
            let mut adds = Vec::new();
            for (index, (measure, (count, amount))) in measures.into_iter().enumerate() {
                adds.push(format!("#c{index} :c{index}, #a{index} :a{index}"));
                update = update
                    .expression_attribute_names(
                        format!("#c{index}"),
                        format!("{}_count", measure.name()),
                    )
                    .expression_attribute_names(
                        format!("#a{index}"),
                        format!("{}_amount", measure.name()),
                    )
                    .expression_attribute_values(
                        format!(":c{index}"),
                        AttributeValue::N(count.to_string()),
                    )
                    .expression_attribute_values(
                        format!(":a{index}"),
                        AttributeValue::N(amount.normalize().to_string()),
                    );
            }
            let update = update
                .update_expression(format!("ADD {}", adds.join(", ")))
                .build()
                .map_err(unavailable)?;
            request = request.transact_items(TransactWriteItem::builder().update(update).build());
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    error.as_service_error()
                {
                    let mark_taken = cancelled
                        .cancellation_reasons()
                        .first()
                        .is_some_and(|reason| reason.code() == Some("ConditionalCheckFailed"));
                    if mark_taken {
                        return Ok(false);
                    }
                }
                Err(unavailable(error))
            }
        }
    }

    /// Each day's figures at each place, `from` to `to` (Taipei days, inclusive).
    pub async fn counter_days(
        &self,
        merchant: &MerchantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Place, Figures)>, Error> {
        let items = self
            .query_between(
                keys::counters(merchant.as_str()),
                keys::counter_day(from, ""),
                keys::counter_day(to, "~"),
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = sort_key(item)?;
                let (day, place) = keys::parse_counter_day(sk)?;
                Some((day, Place::from_key(place)?, figures(item)))
            })
            .collect())
    }

    /// Each month's figures at each place, months starting before `until` (exclusive).
    pub async fn counter_months_before(
        &self,
        merchant: &MerchantId,
        until: NaiveDate,
    ) -> Result<Vec<(Place, Figures)>, Error> {
        let items = self
            .query_between(
                keys::counters(merchant.as_str()),
                keys::counter_month_prefix().to_owned(),
                keys::counter_month(until, ""),
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = sort_key(item)?;
                let place = sk.rsplit_once('#')?.1;
                Some((Place::from_key(place)?, figures(item)))
            })
            .collect())
    }

    /// What became of the tickets issued on each day, `from` to `to`.
    pub async fn counter_cohorts(
        &self,
        merchant: &MerchantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Figures)>, Error> {
        let items = self
            .query_between(
                keys::counters(merchant.as_str()),
                keys::counter_cohort(from),
                keys::counter_cohort(to),
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = sort_key(item)?;
                let day = keys::parse_counter_cohort(sk)?;
                Some((day, figures(item)))
            })
            .collect())
    }

    /// What each product of the merchant issued, all time.
    pub async fn counter_products(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<(ProductId, Figures)>, Error> {
        let items = self
            .query_between(
                keys::counters(merchant.as_str()),
                keys::counter_product(""),
                keys::counter_product("~"),
            )
            .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = sort_key(item)?;
                let id = sk.strip_prefix(&keys::counter_product(""))?;
                Some((ProductId::parse("product_id", id).ok()?, figures(item)))
            })
            .collect())
    }

    /// Every item of a base-table partition with a sort key from `from` to `until`.
    async fn query_between(
        &self,
        pk: String,
        from: String,
        until: String,
    ) -> Result<Vec<Item>, Error> {
        let partition = super::reports::Partition::table(pk, Some((from, until)));
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let chunk = self.query_chunk(&partition, start, 1000).await?;
            items.extend(chunk.items);
            match chunk.resume {
                Some(next) => start = Some(next),
                None => return Ok(items),
            }
        }
    }
}
