//! The documents area (§3-4): manuals and application forms the operator uploads for every
//! merchant. One item per document; its file in the assets bucket under `documents/`.

use super::{from_item, keys, to_item, unavailable, Item, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::operator::DocumentKind;
use tessera_domain::values::AccountName;
use tessera_domain::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: String,
    pub title: String,
    pub kind: DocumentKind,
    /// The declared size; publishing checks the uploaded object against it.
    pub size: u64,
    /// The object the file is (or is to be) uploaded to.
    pub key: String,
    /// Merchants see it only once published (its file uploaded and checked) and until
    /// withdrawn.
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub updated_by: AccountName,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl super::Versioned for DocumentRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        let mut item = to_item(self, keys::document(&self.id), keys::DOCUMENT)?;
        item.insert(
            keys::GSI1PK.to_owned(),
            AttributeValue::S(keys::DOCUMENTS.to_owned()),
        );
        item.insert(
            keys::GSI1SK.to_owned(),
            AttributeValue::S(format!("{}#{}", self.title, self.id)),
        );
        Ok(item)
    }
}

impl Table {
    pub async fn get_document(&self, id: &str) -> Result<Option<DocumentRecord>, Error> {
        self.get(keys::document(id), keys::DOCUMENT).await
    }

    /// Every document (published or not), by title.
    pub async fn list_documents(&self) -> Result<Vec<DocumentRecord>, Error> {
        let output = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::DOCUMENTS.to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect()
    }
}
