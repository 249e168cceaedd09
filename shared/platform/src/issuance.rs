//! Checking issuance rows against storage: the one routine the preview, the confirmation
//! and the batch worker share, so that all three apply the same rules.

use crate::store::issuance::IssuedOrderRecord;
use crate::store::issuance::PlannedRow;
use crate::store::orders::OrderRecord;
use crate::store::products::ProductRecord;
use crate::store::Table;
use chrono::{DateTime, NaiveDate, Utc};
use tessera_domain::issuance::{
    check_rows, IssuanceFacts, IssuanceRow, OrderFacts, ProductFacts, RowCheck,
};
use tessera_domain::orders::OrderStatus;
use tessera_domain::values::{MerchantId, ProductId, TradeNo};
use tessera_domain::Error;

/// The stored records a set of rows names.
#[derive(Debug, Clone, Default)]
pub struct StoredFacts {
    pub products: Vec<ProductRecord>,
    pub orders: Vec<OrderRecord>,
    pub issued: Vec<IssuedOrderRecord>,
}

impl StoredFacts {
    /// Loads the products, orders and issued orders `rows` name: three batched reads, at
    /// once.
    pub async fn load(
        table: &Table,
        merchant_id: &MerchantId,
        rows: &[&IssuanceRow],
    ) -> Result<StoredFacts, Error> {
        let product_ids = product_ids_of(rows.iter().copied());
        let orders: Vec<(MerchantId, TradeNo)> = rows
            .iter()
            .filter_map(|r| r.trade_no.clone())
            .map(|t| (merchant_id.clone(), t))
            .collect();
        let import_nos: Vec<String> = rows.iter().map(|r| r.import_no.clone()).collect();
        let (products, orders, issued) = tokio::try_join!(
            table.get_products(merchant_id, &product_ids),
            table.get_orders(&orders),
            table.issued_orders(merchant_id, &import_nos),
        )?;
        Ok(StoredFacts {
            products,
            orders,
            issued,
        })
    }

    /// The facts a batch's pending rows are issued from: their products read now, and each
    /// paid order as the confirmation read it. Only an order the plan does not carry (a
    /// plan written before it kept them) is read now, with its import number's claim.
    /// Nothing is lost by not reading the rest again: every order's write is conditional on
    /// the version confirmed, and each import number's claim on its absence, so a row whose
    /// order or number changed since fails its condition and is looked at alone.
    pub async fn load_for_plan(
        table: &Table,
        merchant_id: &MerchantId,
        pending: &[&PlannedRow],
    ) -> Result<StoredFacts, Error> {
        let product_ids = product_ids_of(pending.iter().map(|p| &p.row));
        let unread: Vec<&IssuanceRow> = pending
            .iter()
            .filter(|p| p.row.trade_no.is_some() && p.order_as_confirmed.is_none())
            .map(|p| &p.row)
            .collect();
        let (products, mut stored) =
            tokio::try_join!(table.get_products(merchant_id, &product_ids), async {
                if unread.is_empty() {
                    Ok(StoredFacts::default())
                } else {
                    StoredFacts::load(table, merchant_id, &unread).await
                }
            })?;
        stored.products = products;
        stored
            .orders
            .extend(pending.iter().filter_map(|p| p.order_as_confirmed.clone()));
        Ok(stored)
    }

    /// The facts the domain checks rows against. Import numbers issued by `own_batch` do
    /// not count as used: that batch is resuming its own rows. `valid_from`: the day the
    /// batch's non-immediate tickets become valid.
    pub fn facts(&self, own_batch: Option<&str>, valid_from: Option<NaiveDate>) -> IssuanceFacts {
        IssuanceFacts {
            products: self
                .products
                .iter()
                .map(|p| {
                    (
                        p.product_id.clone(),
                        ProductFacts {
                            kind: p.spec.kind,
                            listed: p.listed,
                            term_days: p.spec.term_days,
                        },
                    )
                })
                .collect(),
            orders: self
                .orders
                .iter()
                .map(|o| {
                    // An order a row of `own_batch` already claimed is still that row's
                    // to finish.
                    let claimed_by_own = own_batch.is_some_and(|own| {
                        self.issued
                            .iter()
                            .any(|i| i.batch_id == own && i.trade_no.as_ref() == Some(&o.trade_no))
                    });
                    let status = if claimed_by_own {
                        OrderStatus::Unissued
                    } else {
                        o.status
                    };
                    (
                        o.trade_no.clone(),
                        OrderFacts {
                            product_id: o.product_id.clone(),
                            quantity: o.quantity,
                            status,
                            paid_at: o.paid_at,
                        },
                    )
                })
                .collect(),
            used_import_nos: self
                .issued
                .iter()
                .filter(|i| Some(i.batch_id.as_str()) != own_batch)
                .map(|i| i.import_no.clone())
                .collect(),
            valid_from,
        }
    }
}

/// The products `rows` name, each once.
pub fn product_ids_of<'a>(rows: impl Iterator<Item = &'a IssuanceRow>) -> Vec<ProductId> {
    let mut ids: Vec<ProductId> = rows.map(|r| r.product_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Checks every row against the merchant's stored products, orders and issued orders (and
/// the day non-immediate tickets become valid, if they are); what they were checked against.
pub async fn check_against_storage(
    table: &Table,
    merchant_id: &MerchantId,
    checks: &mut [RowCheck],
    valid_from: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<StoredFacts, Error> {
    let rows: Vec<&IssuanceRow> = checks.iter().filter_map(|c| c.parsed.as_ref()).collect();
    let stored = StoredFacts::load(table, merchant_id, &rows).await?;
    check_rows(checks, &stored.facts(None, valid_from), now);
    Ok(stored)
}
