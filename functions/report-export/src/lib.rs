//! The report-export queue's consumer: reads the report an export asked for page by page,
//! streams the rows into an xlsx in constant memory, stores the file in the exports bucket
//! under the merchant's prefix and marks the export done.
//!
//! Safe to deliver twice: a finished export is left alone, an unfinished one is written
//! again from its first row (the same query gives the same rows, the file is overwritten).
//! After the queue's last try the export says it failed, and the message goes to the DLQ.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::values::MerchantId;
use tessera_domain::Error;
use tessera_platform::assets::AssetStore;
use tessera_platform::reports::{unreadable_request, ReportRequest};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::exports::{ExportMessage, ExportRecord, ExportStatus};
use tessera_platform::store::{object_keys, Table};
use tessera_sheets::{ReportWriter, XLSX_CONTENT_TYPE};

/// The stack's resources this function is given besides the table.
pub const NEEDS: &[Resource] = &[Resource::Exports];

/// The report-export queue's maxReceiveCount (infra/template.yaml).
pub const MAX_RECEIVES: u32 = 5;
/// Rows read per page while exporting.
pub const PAGE_ROWS: usize = 500;
/// How often (in pages) the export's progress is saved for the merchant to see.
const PROGRESS_EVERY_PAGES: usize = 10;

#[derive(Clone)]
pub struct Exporter {
    pub table: Table,
    pub exports: AssetStore,
    pub clock: Arc<dyn Clock>,
    /// Where the writer keeps its temporary row files (Lambda's `/tmp`).
    pub tempdir: std::path::PathBuf,
}

/// Why an export did not finish; SQS will deliver the message again.
#[derive(Debug)]
pub struct Retry(pub String);

impl From<Error> for Retry {
    fn from(error: Error) -> Self {
        Retry(error.to_string())
    }
}

impl Exporter {
    pub fn new(services: &Services) -> Result<Exporter, Error> {
        Ok(Exporter {
            table: services.table.clone(),
            exports: services.exports()?.clone(),
            clock: services.clock.clone(),
            tempdir: std::env::temp_dir(),
        })
    }

    pub async fn from_env() -> Result<Exporter, String> {
        Exporter::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Lambda's SQS integration: failed messages are reported, the others deleted.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if let Err(Retry(reason)) = self.deliver(&record).await {
                let message_id = record.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %message_id, reason = %reason, operation = "report_export", "export not finished; SQS will retry");
                response.add_failure(message_id);
            }
        }
        response
    }

    async fn deliver(&self, record: &SqsMessage) -> Result<(), Retry> {
        let body = record
            .body
            .as_deref()
            .ok_or_else(|| Retry("message has no body".to_owned()))?;
        let message: ExportMessage =
            serde_json::from_str(body).map_err(|e| Retry(format!("not an export message: {e}")))?;
        let merchant = MerchantId::parse("merchant_id", &message.merchant_id)
            .map_err(|_| Retry("bad merchant id".to_owned()))?;
        let Some(mut export) = self.table.get_export(&merchant, &message.export_id).await? else {
            // Expired, or never committed: nothing to write.
            tracing::warn!(export = %message.export_id, "no such export; message dropped");
            return Ok(());
        };
        if matches!(export.status, ExportStatus::Done | ExportStatus::Failed) {
            return Ok(());
        }
        let result = self.export(&mut export).await;
        if let Err(Retry(reason)) = &result {
            if tessera_platform::lambda::receive_count(&record.attributes) >= MAX_RECEIVES {
                export.status = ExportStatus::Failed;
                export.failure = Some(reason.clone());
                export.finished_at = Some(self.clock.now());
                export.updated_at = self.clock.now();
                let _ = self.table.save_export_progress(&export).await;
            }
        }
        result
    }

    /// Writes the whole report into the file and records the export done.
    pub async fn export(&self, export: &mut ExportRecord) -> Result<(), Retry> {
        let started = std::time::Instant::now();
        let request: ReportRequest =
            serde_json::from_value(export.request.clone()).map_err(unreadable_request)?;
        // Every page is read as of the export's start: a ticket lapsing midway does not
        // change its row between pages.
        let now = self.clock.now();
        let (sheet, headers) = request.sheet();
        let mut writer = ReportWriter::new(sheet, &headers, &self.tempdir)?;
        export.status = ExportStatus::Running;
        export.rows_written = 0;
        let mut pages = 0usize;
        let (mut rows, mut next) = request
            .page_cells(&self.table, None, PAGE_ROWS, now)
            .await?;
        loop {
            // The next page is asked for before this one is written: DynamoDB reads while
            // the rows go into the file.
            let prefetch = async {
                match &next {
                    Some(cursor) => request
                        .page_cells(&self.table, Some(cursor), PAGE_ROWS, now)
                        .await
                        .map(Some),
                    None => Ok(None),
                }
            };
            let write = async { rows.iter().try_for_each(|row| writer.push(row)) };
            let (fetched, written) = tokio::join!(prefetch, write);
            written?;
            pages += 1;
            if pages % PROGRESS_EVERY_PAGES == 1 {
                export.rows_written = writer.rows();
                export.updated_at = self.clock.now();
                self.table.save_export_progress(export).await?;
            }
            match fetched? {
                Some((page, after)) => (rows, next) = (page, after),
                None => break,
            }
        }
        let rows = writer.rows();
        let bytes = writer.finish()?;
        let key = object_keys::report_export(&export.merchant_id, &export.export_id);
        let size = bytes.len();
        self.exports
            .put_bytes(&key, bytes, XLSX_CONTENT_TYPE)
            .await?;
        export.status = ExportStatus::Done;
        export.rows_written = rows;
        export.object_key = Some(key);
        export.finished_at = Some(self.clock.now());
        export.updated_at = self.clock.now();
        self.table.save_export_progress(export).await?;
        tracing::info!(merchant = %export.merchant_id, export = %export.export_id, rows, bytes = size, elapsed_ms = started.elapsed().as_millis() as u64, operation = "report_export", "export written");
        Ok(())
    }
}
