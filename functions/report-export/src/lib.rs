//! The report-export queue's consumer: reads the report an export asked for page by page,
//! streams the rows into an xlsx in constant memory, stores the file in the exports bucket
//! under the merchant's prefix and marks the export done.
//!
//! A report longer than one invocation can write goes out in parts, one file each: a part
//! closes at `part_rows` rows (below Excel's 1,048,576 a sheet) or when the invocation's
//! deadline nears, the record keeps the finished parts and where the next begins, and the
//! worker queues the export's message again for the rest. Every page is read as of the
//! moment the export was asked for, and the parts join at the saved cursor without a gap
//! or a repeat.
//!
//! Safe to deliver twice: a finished export is left alone; an unfinished one resumes at its
//! last finished part (the part under way is written again); and every save is conditional on the version read, so of two deliveries
//! running at once only one advances the export and the other steps aside.
//! After the queue's last try the export says it failed, and the message goes to the DLQ.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use std::sync::Arc;
use std::time::Instant;
use tessera_domain::clock::Clock;
use tessera_domain::values::MerchantId;
use tessera_domain::Error;
use tessera_platform::assets::AssetStore;
use tessera_platform::notifications::WorkQueue;
use tessera_platform::reports::{unreadable_request, ReportRequest};
use tessera_platform::services::{Resource, Services};
use tessera_platform::store::exports::{ExportMessage, ExportPart, ExportRecord, ExportStatus};
use tessera_platform::store::{object_keys, Table};
use tessera_sheets::{ReportWriter, XLSX_CONTENT_TYPE};

/// The stack's resources this function is given besides the table.
pub const NEEDS: &[Resource] = &[Resource::Exports, Resource::ReportExportQueue];

/// The report-export queue's maxReceiveCount (infra/template.yaml).
pub const MAX_RECEIVES: u32 = 5;
/// Rows read per page while exporting.
pub const PAGE_ROWS: usize = 500;
/// Rows a part may hold: well inside Excel's 1,048,576 rows a sheet.
pub const PART_ROWS: u64 = 1_000_000;
/// How often (in pages) the export's progress is saved for the merchant to see.
const PROGRESS_EVERY_PAGES: usize = 10;

#[derive(Clone)]
pub struct Exporter {
    pub table: Table,
    pub exports: AssetStore,
    pub clock: Arc<dyn Clock>,
    /// Where the writer keeps its temporary row files (Lambda's `/tmp`).
    pub tempdir: std::path::PathBuf,
    /// Where the rest of an export goes when a part closes before its end.
    pub continuations: WorkQueue,
    pub page_rows: usize,
    pub part_rows: u64,
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
            continuations: services.report_export()?.clone(),
            page_rows: PAGE_ROWS,
            part_rows: PART_ROWS,
        })
    }

    pub async fn from_env() -> Result<Exporter, String> {
        Exporter::new(&Services::from_env(NEEDS).await?).map_err(|e| e.to_string())
    }

    /// Lambda's SQS integration: failed messages are reported, the others deleted. A part
    /// closes when `deadline` (Lambda's, less a margin) has passed.
    pub async fn handle(&self, event: SqsEvent, deadline: Option<Instant>) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if let Err(Retry(reason)) = self.deliver(&record, deadline).await {
                let message_id = record.message_id.clone().unwrap_or_default();
                tracing::warn!(message_id = %message_id, reason = %reason, operation = "report_export", "export not finished; SQS will retry");
                response.add_failure(message_id);
            }
        }
        response
    }

    async fn deliver(&self, record: &SqsMessage, deadline: Option<Instant>) -> Result<(), Retry> {
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
        let result = self.export(&mut export, deadline).await;
        if let Err(Retry(reason)) = &result {
            if tessera_platform::lambda::receive_count(&record.attributes) >= MAX_RECEIVES {
                // The record as stored now (a part may have been saved meanwhile).
                if let Some(mut stored) =
                    self.table.get_export(&merchant, &message.export_id).await?
                {
                    stored.status = ExportStatus::Failed;
                    stored.failure = Some(reason.clone());
                    stored.finished_at = Some(self.clock.now());
                    stored.updated_at = self.clock.now();
                    let _ = self.table.save_export_progress(&mut stored).await;
                }
            }
        }
        result
    }

    /// Writes the export's next part (the whole report, for most), then either records the
    /// export done or queues its continuation. Answers `Ok` also when another delivery of
    /// the message has taken the export over (its save came first).
    pub async fn export(
        &self,
        export: &mut ExportRecord,
        deadline: Option<Instant>,
    ) -> Result<(), Retry> {
        let started = Instant::now();
        let request: ReportRequest =
            serde_json::from_value(export.request.clone()).map_err(unreadable_request)?;
        // Every page of every part is read as of the moment the merchant asked, whichever
        // delivery writes it: a ticket lapsing meanwhile does not change its row.
        let as_of = export.created_at;
        // This delivery's own name for its files (see object_keys::report_export_part).
        let writer_id = uuid::Uuid::new_v4().simple().to_string();
        let part_number = export.parts.len();
        let resume_after = export.resume_after.clone();
        if part_number > 0 && resume_after.is_none() {
            return Err(Retry(format!(
                "export {} has {part_number} parts but no place to resume",
                export.export_id
            )));
        }
        let (sheet, headers) = request.sheet();
        let mut writer = ReportWriter::new(sheet, &headers, &self.tempdir)?;
        let rows_before: u64 = export.parts.iter().map(|part| part.rows).sum();
        export.status = ExportStatus::Running;
        export.rows_written = rows_before;
        let page_rows = self.page_rows;
        let mut pages = 0usize;
        let (mut rows, mut next) = request
            .page_cells(&self.table, resume_after.as_deref(), page_rows, as_of)
            .await?;
        let rest_after = loop {
            // The part closes after this page when a further page might not fit, or time
            // runs short; it always takes one page, so every invocation moves on.
            let closes = writer.rows() + rows.len() as u64 + page_rows as u64 > self.part_rows
                || deadline.is_some_and(|deadline| Instant::now() >= deadline);
            // The next page is asked for before this one is written: DynamoDB reads while
            // the rows go into the file.
            let prefetch = async {
                match &next {
                    Some(cursor) if !closes => request
                        .page_cells(&self.table, Some(cursor), page_rows, as_of)
                        .await
                        .map(Some),
                    _ => Ok(None),
                }
            };
            let write = async { rows.iter().try_for_each(|row| writer.push(row)) };
            let (fetched, written) = tokio::join!(prefetch, write);
            written?;
            pages += 1;
            if closes {
                break next;
            }
            if pages % PROGRESS_EVERY_PAGES == 1 {
                export.rows_written = rows_before + writer.rows();
                export.updated_at = self.clock.now();
                if !self.table.save_export_progress(export).await? {
                    return step_aside(export);
                }
            }
            match fetched? {
                Some((page, after)) => (rows, next) = (page, after),
                None => break None,
            }
        };
        let part_rows = writer.rows();
        let bytes = writer.finish()?;
        let key = object_keys::report_export_part(
            &export.merchant_id,
            &export.export_id,
            part_number,
            &writer_id,
        );
        let size = bytes.len();
        self.exports
            .put_bytes(&key, bytes, XLSX_CONTENT_TYPE)
            .await?;
        export.parts.push(ExportPart {
            object_key: key.clone(),
            rows: part_rows,
        });
        export.rows_written = rows_before + part_rows;
        export.resume_after = rest_after.clone();
        export.updated_at = self.clock.now();
        if rest_after.is_none() {
            export.status = ExportStatus::Done;
            export.finished_at = Some(self.clock.now());
        }
        if !self.table.save_export_progress(export).await? {
            return step_aside(export);
        }
        tracing::info!(merchant = %export.merchant_id, export = %export.export_id, part = part_number + 1, rows = part_rows, bytes = size, elapsed_ms = started.elapsed().as_millis() as u64, done = rest_after.is_none(), operation = "report_export", "export part written");
        if rest_after.is_some() {
            // Saved first, then queued: if the send fails, this message is delivered again
            // and resumes from the part just saved.
            self.continuations
                .send(&ExportMessage {
                    merchant_id: export.merchant_id.to_string(),
                    export_id: export.export_id.clone(),
                })
                .await?;
        }
        Ok(())
    }
}

/// Another delivery of this export's message saved first and carries it on: this one stops
/// (and its message is deleted).
fn step_aside(export: &ExportRecord) -> Result<(), Retry> {
    tracing::info!(merchant = %export.merchant_id, export = %export.export_id, operation = "report_export", "another delivery is writing this export; stepping aside");
    Ok(())
}
