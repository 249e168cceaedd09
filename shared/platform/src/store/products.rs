//! Products: one item per product under its merchant, on GSI1 by creation time for the
//! date-range query.

use super::history::HistoryEntry;
use super::{from_item, keys, to_item, Expect, Gsi, SortKeys, Table, Write};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::products::{ProductId, ProductSpec};
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    pub merchant_id: MerchantId,
    pub product_id: ProductId,
    #[serde(flatten)]
    pub spec: ProductSpec,
    /// Delisted products cannot be issued any more.
    pub listed: bool,
    /// When the first ticket was issued; from then on only the lists may change.
    #[serde(default)]
    pub first_issued_at: Option<DateTime<Utc>>,
    /// The product picture in the assets bucket.
    #[serde(default)]
    pub image_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// The history entity of products.
pub const PRODUCT_ENTITY: &str = "product";

pub fn product_write(product: &ProductRecord) -> Result<Write, Error> {
    let mut item = to_item(
        product,
        keys::merchant(product.merchant_id.as_str()),
        &keys::product(product.product_id.as_str()),
    )?;
    item.insert(
        keys::GSI1PK.to_owned(),
        AttributeValue::S(keys::products_of(product.merchant_id.as_str())),
    );
    item.insert(
        keys::GSI1SK.to_owned(),
        AttributeValue::S(keys::product_timeline(
            product.created_at,
            product.product_id.as_str(),
        )),
    );
    let expect = if product.version == 1 {
        Expect::Absent
    } else {
        Expect::Version(product.version - 1)
    };
    Ok(Write { item, expect })
}

impl super::Versioned for ProductRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<super::Item, Error> {
        Ok(product_write(self)?.item)
    }
}

impl Table {
    pub async fn get_product(
        &self,
        merchant_id: &MerchantId,
        product_id: &ProductId,
    ) -> Result<Option<ProductRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::product(product_id.as_str()),
        )
        .await
    }

    /// The merchant's products among `ids`, in one batched read; unknown ids are absent.
    pub async fn get_products(
        &self,
        merchant_id: &MerchantId,
        ids: &[ProductId],
    ) -> Result<Vec<ProductRecord>, Error> {
        let keys = ids
            .iter()
            .map(|id| {
                super::key(
                    keys::merchant(merchant_id.as_str()),
                    &keys::product(id.as_str()),
                )
            })
            .collect();
        self.get_many(keys).await
    }

    /// Creates (version 1) or saves changed products with their history entries, all in one
    /// transaction.
    pub async fn save_products(
        &self,
        changes: &[(ProductRecord, HistoryEntry)],
    ) -> Result<(), Error> {
        let mut writes = Vec::with_capacity(changes.len() * 2);
        for (product, history) in changes {
            writes.push(product_write(product)?);
            writes.push(history.write(product.version)?);
        }
        self.transact(writes, ErrorCode::ConcurrentChange).await
    }

    /// Every product of the merchant, oldest first (from the index: callers that change
    /// them read each again).
    pub async fn all_products(
        &self,
        merchant_id: &MerchantId,
    ) -> Result<Vec<ProductRecord>, Error> {
        let pk = keys::products_of(merchant_id.as_str());
        self.query_index(Gsi::One, pk, SortKeys::All)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// Products created in `[from, until)`, oldest first.
    pub async fn list_products(
        &self,
        merchant_id: &MerchantId,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<ProductRecord>, Error> {
        let pk = keys::products_of(merchant_id.as_str());
        // "{until}" sorts before every "{until}#id": the bound is exclusive.
        let range = SortKeys::Between(keys::timestamp(from), keys::timestamp(until));
        self.query_index(Gsi::One, pk, range)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}
