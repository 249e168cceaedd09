//! Report exports: one item per export under its merchant, created with the request that
//! asked for it (through the change engine, with its idempotency record), then advanced by
//! the export worker (rows written, parts finished, done or failed). It expires with its
//! files.
//!
//! A report too long for one invocation is written in parts, one xlsx file each: a part is
//! closed when it reaches the part's row limit or the invocation's time runs short, the
//! record keeps the finished parts and the report cursor the next part starts from, and the
//! worker queues its own continuation. Every save is conditional on the version the worker
//! read, so of two deliveries of one message only one advances the export.

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

/// One finished file of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPart {
    pub object_key: String,
    pub rows: u64,
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
    pub failure: Option<String>,
    pub requested_by: AccountName,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The files finished so far, in the report's order (one for most exports).
    #[serde(default)]
    pub parts: Vec<ExportPart>,
    /// Where the next part starts in the report (its page cursor), while parts remain.
    #[serde(default)]
    pub resume_after: Option<String>,
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

    /// An export record written as it is (the reports function creates exports through
    /// the change engine; this is for records made by hand: benchmarks, tests). False if
    /// the export exists.
    pub async fn create_export(&self, export: &ExportRecord) -> Result<bool, Error> {
        self.put_if_absent(export_item(export)?).await
    }

    /// The worker's record of its progress, if the export is still at the version the
    /// worker read (then its version moves on); false if another delivery of the export's
    /// message has saved since, which then owns it.
    pub async fn save_export_progress(&self, export: &mut ExportRecord) -> Result<bool, Error> {
        let read = export.version;
        export.version = read + 1;
        let saved = self
            .put_expecting(super::Write {
                item: export_item(export)?,
                expect: super::Expect::Version(read),
            })
            .await;
        if !matches!(saved, Ok(true)) {
            export.version = read;
        }
        saved
    }
}
