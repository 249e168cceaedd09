//! Scheduled jobs' runs: one item per job and Taipei day, updated as the run goes, so that
//! the operator can read a job's progress and last result, and a continuation finds the run
//! it continues. The run record is bookkeeping about the work, not the work: the job's
//! state changes go through the change engine and carry their own idempotency (a run
//! interrupted halfway is simply run again).

use super::{from_item, key, keys, unavailable, Table};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobRunStatus {
    /// Started (or continued) and not finished yet; a run that stays here past its
    /// schedule's retries was stopped from outside (its invocation timed out or crashed).
    Running,
    /// Everything due was done.
    Finished,
    /// The last invocation failed with `last_error`; the next one resumes.
    Failed,
}

/// One job's run for one Taipei day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRun {
    pub job: String,
    pub day: NaiveDate,
    pub status: JobRunStatus,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// Invocations so far: the first, its retries and its continuations.
    pub invocations: u64,
    /// Items changed so far (tickets stepped, totals written, ...).
    #[serde(default)]
    pub done: u64,
    /// The last finished invocation's summary, as JSON.
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl Table {
    /// Marks the run of `job` for `day` as running (created on its first invocation).
    pub async fn job_run_started(
        &self,
        job: &str,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::job(job), &keys::job_run(day))))
            .update_expression(
                "SET job = :job, #day = :day, #status = :running, updated_at = :now, \
                 started_at = if_not_exists(started_at, :now) ADD invocations :one",
            )
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":job", AttributeValue::S(job.to_owned()))
            .expression_attribute_values(":day", AttributeValue::S(day.to_string()))
            .expression_attribute_values(":running", AttributeValue::S("running".to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(keys::timestamp(now)))
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Adds `done` changed items to the run's progress.
    pub async fn job_run_progress(
        &self,
        job: &str,
        day: NaiveDate,
        done: u64,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::job(job), &keys::job_run(day))))
            .update_expression("SET updated_at = :now ADD done :done")
            .expression_attribute_values(":now", AttributeValue::S(keys::timestamp(now)))
            .expression_attribute_values(":done", AttributeValue::N(done.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Records how an invocation ended: finished (with its summary), failed (with the
    /// error), or still running (a continuation follows).
    pub async fn job_run_ended(
        &self,
        job: &str,
        day: NaiveDate,
        status: JobRunStatus,
        result: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let status_name = match status {
            JobRunStatus::Running => "running",
            JobRunStatus::Finished => "finished",
            JobRunStatus::Failed => "failed",
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(keys::job(job), &keys::job_run(day))))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", AttributeValue::S(status_name.to_owned()))
            .expression_attribute_values(":now", AttributeValue::S(keys::timestamp(now)))
            .expression_attribute_values(":result", AttributeValue::S(result.to_owned()));
        let mut set = "SET #status = :status, updated_at = :now, #result = :result".to_owned();
        request = request.expression_attribute_names("#result", "result");
        if status == JobRunStatus::Finished {
            set.push_str(", finished_at = :now");
        }
        let expression = match error {
            Some(error) => {
                request = request.expression_attribute_values(
                    ":error",
                    AttributeValue::S(error.chars().take(1000).collect()),
                );
                format!("{set}, last_error = :error")
            }
            None => format!("{set} REMOVE last_error"),
        };
        request
            .update_expression(expression)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// The run of `job` for `day`, if it ran.
    pub async fn get_job_run(&self, job: &str, day: NaiveDate) -> Result<Option<JobRun>, Error> {
        self.get(keys::job(job), &keys::job_run(day)).await
    }

    /// The latest runs of `job`, newest first.
    pub async fn latest_job_runs(&self, job: &str, limit: i32) -> Result<Vec<JobRun>, Error> {
        self.query_prefix(keys::job(job), keys::JOB_RUN_PREFIX, false, Some(limit))
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}
