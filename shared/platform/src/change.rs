//! The change engine: the one routine every state change goes through. It asks a decision
//! of the caller (which reads what it needs and lets the domain decide), then commits the
//! decision's writes, its outbox events and the idempotency record of the request in one
//! conditional transaction. A lost race (a version moved since the read) is read and
//! decided again, a bounded number of times; a repeated request (same key, same request)
//! answers the first answer again; the same key for another request is refused
//! (docs/decisions/0008-change-engine-and-outbox.md).

use crate::store::history::HistoryEntry;
use crate::store::idempotency::IdempotencyRecord;
use crate::store::outbox::OutboxEvent;
use crate::store::{Expect, Table, TransactFailure, Versioned, Write};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use tessera_domain::clock::Clock;
use tessera_domain::values::MerchantId;
use tessera_domain::{Error, ErrorCode};

/// Decisions before giving up on something that keeps changing under us.
pub const ATTEMPTS: usize = 8;

/// A request's `Idempotency-Key` and what it asked (a digest of the caller, method, path
/// and body), scoped to the merchant the caller acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRequest {
    pub merchant: MerchantId,
    pub key: String,
    pub request_hash: String,
}

/// What a decision writes, beside its answer.
#[derive(Debug, Default)]
pub struct Changes {
    /// Each write, and what its failed condition means when it is not a race: a claim
    /// that is taken (a branch code, an order number) is the caller's error, not a retry.
    writes: Vec<(Write, Option<ErrorCode>)>,
    events: Vec<OutboxEvent>,
}

impl Changes {
    pub fn new() -> Changes {
        Changes::default()
    }

    /// A write whose failed condition means someone changed the item since it was read.
    pub fn write(&mut self, write: Write) -> &mut Self {
        self.writes.push((write, None));
        self
    }

    pub fn writes(&mut self, writes: impl IntoIterator<Item = Write>) -> &mut Self {
        self.writes.extend(writes.into_iter().map(|w| (w, None)));
        self
    }

    /// A claim: its failed condition answers `taken`.
    pub fn claim(&mut self, write: Write, taken: ErrorCode) -> &mut Self {
        self.writes.push((write, Some(taken)));
        self
    }

    /// A new record at version 1, only if its key is new (`taken` if it is not). Returns
    /// the version it was written at.
    pub fn create<R: Versioned>(&mut self, record: &mut R, taken: ErrorCode) -> Result<u64, Error> {
        record.set_version(1);
        self.claim(
            Write {
                item: record.stored_item()?,
                expect: Expect::Absent,
            },
            taken,
        );
        Ok(1)
    }

    /// A changed record at its next version, only if it is still at the version it was read
    /// at (a race otherwise: decided again). Returns the version it was written at.
    pub fn update<R: Versioned>(&mut self, record: &mut R) -> Result<u64, Error> {
        let read = record.version();
        record.set_version(read + 1);
        self.write(Write {
            item: record.stored_item()?,
            expect: Expect::Version(read),
        });
        Ok(read + 1)
    }

    /// The history entry of the version a change produced (new: versions are unique).
    pub fn history(&mut self, entry: &HistoryEntry, version: u64) -> Result<&mut Self, Error> {
        Ok(self.write(entry.write(version)?))
    }

    /// An event published if and only if the change commits.
    pub fn event(&mut self, event: OutboxEvent) -> &mut Self {
        self.events.push(event);
        self
    }

    /// Every write of the change, its events' included, as the engine commits them
    /// (without the engine's idempotency record): what a change costs, for measuring it.
    pub fn into_writes(self) -> Result<Vec<Write>, Error> {
        let mut writes: Vec<Write> = self.writes.into_iter().map(|(write, _)| write).collect();
        for event in &self.events {
            writes.push(event.write()?);
        }
        Ok(writes)
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.events.is_empty()
    }
}

/// A decision: what to write, and what to answer once it is written.
#[derive(Debug)]
pub struct Decision<A> {
    pub changes: Changes,
    pub answer: A,
}

impl<A> Decision<A> {
    pub fn new(changes: Changes, answer: A) -> Decision<A> {
        Decision { changes, answer }
    }
}

#[derive(Clone)]
pub struct ChangeEngine {
    pub table: Table,
    pub clock: Arc<dyn Clock>,
}

impl ChangeEngine {
    pub fn new(table: Table, clock: Arc<dyn Clock>) -> ChangeEngine {
        ChangeEngine { table, clock }
    }

    /// Decides and commits, as the module says. `decide` is called with the time of the
    /// attempt and reads afresh each time; `status` is the HTTP status the answer is given
    /// with (kept with the idempotency record, so a replay answers the same).
    pub async fn run<A, F, Fut>(
        &self,
        keyed: Option<&KeyedRequest>,
        status: u16,
        mut decide: F,
    ) -> Result<A, Error>
    where
        A: Serialize + DeserializeOwned,
        F: FnMut(DateTime<Utc>) -> Fut,
        Fut: Future<Output = Result<Decision<A>, Error>>,
    {
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let decision = match decide(now).await {
                Ok(decision) => decision,
                Err(error) if is_outage(&error) => return Err(error),
                // Refused now: if this very request succeeded before, that is its answer
                // (a retry after the change it made); otherwise the refusal is.
                Err(error) => {
                    return match self.replay(keyed).await? {
                        Some(answer) => Ok(answer),
                        None => Err(error),
                    }
                }
            };
            let Decision { changes, answer } = decision;
            let mut writes = Vec::with_capacity(changes.writes.len() + changes.events.len() + 1);
            let mut taken = Vec::with_capacity(writes.capacity());
            for (write, code) in changes.writes {
                writes.push(write);
                taken.push(code);
            }
            for event in &changes.events {
                writes.push(event.write()?);
                taken.push(None);
            }
            if let Some(keyed) = keyed {
                let body =
                    serde_json::to_string(&answer).map_err(|e| crate::store::internal(&e))?;
                let record = IdempotencyRecord {
                    merchant_id: keyed.merchant.clone(),
                    key: keyed.key.clone(),
                    request_hash: keyed.request_hash.clone(),
                    status,
                    body,
                    created_at: now,
                };
                writes.push(record.write()?);
                taken.push(None);
            }
            if writes.is_empty() {
                return Ok(answer);
            }
            match self.table.transact_detailed(writes).await {
                Ok(()) => return Ok(answer),
                Err(TransactFailure::Other(error)) => return Err(error),
                Err(TransactFailure::Conditions(failed)) => {
                    if let Some(answer) = self.replay(keyed).await? {
                        return Ok(answer);
                    }
                    if let Some(code) = failed
                        .iter()
                        .find_map(|place| taken.get(*place).copied().flatten())
                    {
                        return Err(Error::new(code));
                    }
                    // A race: someone changed what we read. Decide again.
                }
            }
        }
        Err(Error::new(ErrorCode::ConcurrentChange))
    }

    /// The first answer to this keyed request, if it was answered; the key used for another
    /// request is refused.
    async fn replay<A: DeserializeOwned>(
        &self,
        keyed: Option<&KeyedRequest>,
    ) -> Result<Option<A>, Error> {
        let Some(keyed) = keyed else {
            return Ok(None);
        };
        let stored = self
            .table
            .get_idempotency(&keyed.merchant, &keyed.key, self.clock.now())
            .await?;
        match stored {
            Some(record) if record.request_hash == keyed.request_hash => {
                serde_json::from_str(&record.body)
                    .map(Some)
                    .map_err(|e| crate::store::internal(&e))
            }
            Some(_) => Err(Error::new(ErrorCode::IdempotencyKeyReused)),
            None => Ok(None),
        }
    }
}

/// Failures that are not a decision: nothing is known about the request's fate.
fn is_outage(error: &Error) -> bool {
    matches!(
        error.code,
        ErrorCode::DependencyUnavailable | ErrorCode::InternalError
    )
}
