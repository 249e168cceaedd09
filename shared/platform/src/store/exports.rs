//! Report exports: one item per export under its merchant, created with the request that
//! asked for it (through the change engine, with its idempotency record), then advanced by
//! the export worker (rows written, done or failed). It expires with the file.

use super::{epoch_seconds, keys, to_item, Item, Table, Versioned};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::values::{AccountName, MerchantId};
use tessera_domain::Error;

/// Days an export (its record and, by the bucket's lifecycle rule, its file) is kept: the
/// template's default `ExportRetentionDays`.
pub const EXPORT_RETENTION_DAYS: i64 = 7;

/// The message the export worker receives for each export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportMessage {
    pub merchant_id: String,
    pub export_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Queued,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub merchant_id: MerchantId,
    pub export_id: String,
    /// The report and its query, as the request gave them (`reports::ReportRequest`).
    pub request: serde_json::Value,
    pub status: ExportStatus,
    pub rows_written: u64,
    #[serde(default)]
    pub object_key: Option<String>,
    #[serde(default)]
    pub failure: Option<String>,
    pub requested_by: AccountName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub version: u64,
}

fn export_item(export: &ExportRecord) -> Result<Item, Error> {
    let mut item = to_item(
        export,
        keys::merchant(export.merchant_id.as_str()),
        &keys::export(&export.export_id),
    )?;
    item.insert(
        "expires_at".to_owned(),
        epoch_seconds(export.created_at + chrono::Duration::days(EXPORT_RETENTION_DAYS)),
    );
    Ok(item)
}

impl Versioned for ExportRecord {
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, version: u64) {
        self.version = version;
    }
    fn stored_item(&self) -> Result<Item, Error> {
        export_item(self)
    }
}

impl Table {
    pub async fn get_export(
        &self,
        merchant_id: &MerchantId,
        export_id: &str,
    ) -> Result<Option<ExportRecord>, Error> {
        self.get(
            keys::merchant(merchant_id.as_str()),
            &keys::export(export_id),
        )
        .await
    }

    /// The worker's record of its progress. Unconditional: only the worker of this export
    /// writes it after creation, and a redelivered message starts the export over.
    pub async fn save_export_progress(&self, export: &ExportRecord) -> Result<(), Error> {
        self.put(export_item(export)?).await
    }
}
