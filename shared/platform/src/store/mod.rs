//! The DynamoDB single-table adapter: records, keys and the conditional writes that keep
//! them consistent under concurrency.

pub mod accounts;
pub mod announcements;
pub mod billing;
pub mod branches;
pub mod counters;
pub mod documents;
pub mod exports;
pub mod history;
pub mod idempotency;
pub mod installment;
pub mod issuance;
pub mod jobs;
pub mod keys;
pub mod links;
pub mod notifications;
pub mod object_keys;
pub mod operators;
pub mod orders;
pub mod outbox;
pub mod printing;
pub mod products;
pub mod rate_limits;
pub mod relations;
pub mod reports;
pub mod sessions;
pub mod settings;
pub mod tickets;
pub mod webhooks;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use tessera_domain::{Error, ErrorCode};

pub type Item = HashMap<String, AttributeValue>;

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Table {
    pub client: aws_sdk_dynamodb::Client,
    pub name: String,
}

impl Table {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Table {
            client,
            name: name.into(),
        }
    }

    /// The table `TABLE_NAME` names (set by the template), through a recorded client.
    pub fn from_env(config: &crate::aws::SdkConfig) -> Result<Self, crate::aws::ConfigError> {
        Ok(Table::new(
            crate::aws::dynamodb_client(config),
            crate::aws::required_env("TABLE_NAME")?,
        ))
    }
}

/// A record as an item under the given keys.
pub fn to_item<T: Serialize>(record: &T, pk: String, sk: &str) -> Result<Item, Error> {
    let mut item: Item = serde_dynamo::to_item(record).map_err(|e| internal(&e))?;
    item.insert(keys::PK.to_owned(), AttributeValue::S(pk));
    item.insert(keys::SK.to_owned(), AttributeValue::S(sk.to_owned()));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, Error> {
    serde_dynamo::from_item(item).map_err(|e| internal(&e))
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(pk)),
        (keys::SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

pub fn internal(cause: &dyn std::fmt::Display) -> Error {
    tracing::error!(error = %cause, "storage data error");
    Error::new(ErrorCode::InternalError)
}

/// A DynamoDB call failed for a reason that is not the caller's: logged, answered 503.
pub fn unavailable<E: std::fmt::Debug>(error: E) -> Error {
    tracing::error!(error = ?error, "dynamodb call failed");
    Error::new(ErrorCode::DependencyUnavailable)
}

/// How many times a batch call is sent while DynamoDB leaves items unprocessed (it does so
/// when a partition is throttled) before the caller is answered 503.
const UNPROCESSED_ATTEMPTS: u32 = 8;

/// Waits before attempt `attempt` of a batch call's unprocessed items: nothing before the
/// first, then exponential backoff with full jitter (25 ms doubling, at most 1.6 s), so that
/// a throttled partition is not hammered back-to-back and parallel writers spread out.
async fn backoff(attempt: u32) {
    if attempt == 0 {
        return;
    }
    let ceiling_ms = 25u64 << attempt.min(6);
    let random = crate::random::random_bytes::<8>()
        .map(u64::from_le_bytes)
        .unwrap_or(ceiling_ms / 2);
    tokio::time::sleep(std::time::Duration::from_millis(random % (ceiling_ms + 1))).await;
}

/// Epoch seconds, as the TTL attribute wants them.
pub fn epoch_seconds(at: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    AttributeValue::N(at.timestamp().to_string())
}

/// What a transactional write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Nothing under this key yet (creation, history entries, uniqueness claims).
    Absent,
    /// The item as it was read at this version (optimistic concurrency).
    Version(u64),
    /// Nothing, or only an item whose `expires_at` (epoch seconds) is before this: DynamoDB
    /// deletes expired items lazily, so an expired claim must not block a new one.
    AbsentOrExpiredBefore(i64),
    /// The item exists (changing a record that has no version, e.g. a bill marked paid).
    Present,
    /// Whatever is there is replaced (records set whole by the operator: a contract, a
    /// rate at its effective instant).
    Any,
}

impl Expect {
    /// The condition expression this expectation puts on a write, with its one value.
    fn condition(self) -> (&'static str, Option<(&'static str, AttributeValue)>) {
        match self {
            Expect::Absent => ("attribute_not_exists(PK)", None),
            Expect::Version(version) => (
                "attribute_exists(PK) AND version = :expected",
                Some((":expected", AttributeValue::N(version.to_string()))),
            ),
            Expect::AbsentOrExpiredBefore(now) => (
                "attribute_not_exists(PK) OR expires_at < :now",
                Some((":now", AttributeValue::N(now.to_string()))),
            ),
            Expect::Present => ("attribute_exists(PK)", None),
            Expect::Any => ("attribute_exists(PK) OR attribute_not_exists(PK)", None),
        }
    }
}

/// One put of a transaction, with its condition.
#[derive(Debug, Clone)]
pub struct Write {
    pub item: Item,
    pub expect: Expect,
}

/// A stored record with an optimistic-concurrency version. Its version is advanced by the
/// change engine ([`crate::change::Changes::update`]) or the store, never by a handler.
pub trait Versioned {
    fn version(&self) -> u64;
    fn set_version(&mut self, version: u64);
    /// The item as stored: its keys and index attributes with it (one place per record).
    fn stored_item(&self) -> Result<Item, Error>;
}

/// At most 100 writes go in one DynamoDB transaction.
pub const MAX_TRANSACTION_WRITES: usize = 100;

/// Why a transaction did not commit.
#[derive(Debug)]
pub enum TransactFailure {
    /// The conditions of these writes (their places in the transaction) failed.
    Conditions(Vec<usize>),
    /// Anything else (logged; a 503 for the caller).
    Other(Error),
}

impl Table {
    /// Writes all or nothing. A failed condition anywhere is `on_condition`.
    pub async fn transact(&self, writes: Vec<Write>, on_condition: ErrorCode) -> Result<(), Error> {
        match self.transact_detailed(writes).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Conditions(_)) => Err(Error::new(on_condition)),
            Err(TransactFailure::Other(error)) => Err(error),
        }
    }

    /// Writes all or nothing, saying which conditions failed if any did.
    pub async fn transact_detailed(&self, writes: Vec<Write>) -> Result<(), TransactFailure> {
        let mut request = self.client.transact_write_items();
        for write in writes {
            let mut put = Put::builder()
                .table_name(&self.name)
                .set_item(Some(write.item));
            let (condition, value) = write.expect.condition();
            put = put.condition_expression(condition);
            if let Some((name, value)) = value {
                put = put.expression_attribute_values(name, value);
            }
            let put = put
                .build()
                .map_err(|e| TransactFailure::Other(unavailable(e)))?;
            request = request.transact_items(TransactWriteItem::builder().put(put).build());
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    error.as_service_error()
                {
                    let failed: Vec<usize> = cancelled
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                        .map(|(place, _)| place)
                        .collect();
                    if !failed.is_empty() {
                        return Err(TransactFailure::Conditions(failed));
                    }
                }
                Err(TransactFailure::Other(unavailable(error)))
            }
        }
    }
}

impl Table {
    /// Writes an item unconditionally (records that are only ever added or replaced whole).
    pub(crate) async fn put(&self, item: Item) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Writes an item unless its key exists; true if it was written.
    pub(crate) async fn put_if_absent(&self, item: Item) -> Result<bool, Error> {
        self.put_expecting(Write {
            item,
            expect: Expect::Absent,
        })
        .await
    }

    /// One write on its own, with the condition a transaction would put on it; true if it
    /// was written, false if its condition failed.
    pub(crate) async fn put_expecting(&self, write: Write) -> Result<bool, Error> {
        let (condition, value) = write.expect.condition();
        let mut request = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(write.item))
            .condition_expression(condition);
        if let Some((name, value)) = value {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl Table {
    /// Reads many items by key, strongly consistent, 100 keys a call and all calls at once,
    /// asking again for any DynamoDB returns unprocessed; absent keys are simply not in the
    /// answer.
    pub(crate) async fn batch_get(&self, mut keys: Vec<Item>) -> Result<Vec<Item>, Error> {
        keys.sort_by_cached_key(|k| format!("{:?}{:?}", k.get(keys::PK), k.get(keys::SK)));
        keys.dedup();
        let calls = keys
            .chunks(100)
            .map(|chunk| self.batch_get_chunk(chunk.to_vec()));
        let mut found = Vec::with_capacity(keys.len());
        for items in futures_util::future::join_all(calls).await {
            found.extend(items?);
        }
        Ok(found)
    }

    /// `batch_get`, each item read as a `T`.
    pub(crate) async fn get_many<T: DeserializeOwned>(
        &self,
        keys: Vec<Item>,
    ) -> Result<Vec<T>, Error> {
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    async fn batch_get_chunk(&self, keys: Vec<Item>) -> Result<Vec<Item>, Error> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::with_capacity(keys.len());
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(unavailable)?,
        );
        for attempt in 0..UNPROCESSED_ATTEMPTS {
            let Some(pending) = request.take() else { break };
            backoff(attempt).await;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.name, pending)
                .send()
                .await
                .map_err(unavailable)?;
            found.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default(),
            );
            request = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.name))
                .filter(|k| !k.keys().is_empty());
        }
        if request.is_some() {
            return Err(Error::new(ErrorCode::DependencyUnavailable));
        }
        Ok(found)
    }
}

/// A global secondary index of the table.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Gsi {
    One,
    Two,
    Three,
    Four,
}

impl Gsi {
    /// The index's name and its partition- and sort-key attributes.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Gsi::One => (keys::GSI1, keys::GSI1PK, keys::GSI1SK),
            Gsi::Two => (keys::GSI2, keys::GSI2PK, keys::GSI2SK),
            Gsi::Three => (keys::GSI3, keys::GSI3PK, keys::GSI3SK),
            Gsi::Four => (keys::GSI4, keys::GSI4PK, keys::GSI4SK),
        }
    }
}

/// Sends a query page after page until DynamoDB has no more, or until `limit` items.
async fn all_pages(
    request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    limit: Option<i32>,
) -> Result<Vec<Item>, Error> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = request
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(unavailable)?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        let full = limit.is_some_and(|limit| items.len() >= limit as usize);
        if start.is_none() || full {
            return Ok(items);
        }
    }
}

/// Which sort keys of an index partition a query wants.
pub(crate) enum SortKeys<'a> {
    All,
    Prefix(&'a str),
    /// From `.0` up to `.1`, both as stored strings (`BETWEEN`).
    Between(String, String),
}

impl Table {
    /// Every item of one index partition (in sort-key order), page after page. Indexes are
    /// eventually consistent; callers that decide writes read the base table instead.
    pub(crate) async fn query_index(
        &self,
        index: Gsi,
        pk: String,
        sort: SortKeys<'_>,
    ) -> Result<Vec<Item>, Error> {
        let (name, pk_name, sk_name) = index.names();
        let request = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(name)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", AttributeValue::S(pk));
        let request = match sort {
            SortKeys::All => request.key_condition_expression("#pk = :pk"),
            SortKeys::Prefix(prefix) => request
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
            SortKeys::Between(from, until) => request
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :until")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":from", AttributeValue::S(from))
                .expression_attribute_values(":until", AttributeValue::S(until)),
        };
        all_pages(request, None).await
    }

    /// The items of one base-table partition whose sort key starts with `prefix`, page
    /// after page, up to `limit` items if given; strongly consistent.
    pub(crate) async fn query_prefix(
        &self,
        pk: String,
        prefix: &str,
        ascending: bool,
        limit: Option<i32>,
    ) -> Result<Vec<Item>, Error> {
        let request = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(ascending)
            // Management lists feed conditional writes: read what was last written.
            .consistent_read(true)
            .set_limit(limit);
        all_pages(request, limit).await
    }

    /// Every item of one base-table partition, page after page; strongly consistent.
    pub(crate) async fn query_partition(&self, pk: String) -> Result<Vec<Item>, Error> {
        let request = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .consistent_read(true);
        all_pages(request, None).await
    }

    /// Writes items unconditionally with parallel BatchWriteItem calls (25 items each),
    /// resending what DynamoDB returns unprocessed. For items whose writing twice is
    /// harmless: deterministic keys and content, or claims that lookups verify.
    pub async fn put_all(&self, items: Vec<Item>, concurrency: usize) -> Result<(), Error> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let mut chunks = Vec::new();
        for chunk in items.chunks(25) {
            let requests = chunk
                .iter()
                .map(|item| {
                    PutRequest::builder()
                        .set_item(Some(item.clone()))
                        .build()
                        .map(|put| WriteRequest::builder().put_request(put).build())
                        .map_err(unavailable)
                })
                .collect::<Result<Vec<_>, _>>()?;
            chunks.push(requests);
        }
        stream::iter(chunks)
            .map(|mut requests| async move {
                for attempt in 0..UNPROCESSED_ATTEMPTS {
                    if requests.is_empty() {
                        return Ok(());
                    }
                    backoff(attempt).await;
                    let output = self
                        .client
                        .batch_write_item()
                        .request_items(&self.name, requests)
                        .send()
                        .await
                        .map_err(unavailable)?;
                    requests = output
                        .unprocessed_items
                        .and_then(|mut u| u.remove(&self.name))
                        .unwrap_or_default();
                }
                if requests.is_empty() {
                    Ok(())
                } else {
                    Err(Error::new(ErrorCode::DependencyUnavailable))
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
