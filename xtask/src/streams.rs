//! Lambda's DynamoDB stream event source, emulated over DynamoDB Local's stream: records
//! are read in order per shard, filtered by the event source's `FilterCriteria`, handed to
//! the function in batches of `BatchSize` as the Lambda event, and checkpointed. A record
//! the function reports failed (`ReportBatchItemFailures`), or a batch whose invocation
//! failed, is delivered again from that record on the next poll; after
//! `MaximumRetryAttempts` retries its batch is described on the on-failure queue and
//! skipped, as the real event source mapping does.

use crate::functions::{BoxError, BoxFuture};
use crate::template::StreamSourceSpec;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// A stream-consuming function, called with the Lambda event (JSON) and answering its
/// batch response (JSON), in-process or through the Lambda Runtime API.
pub type StreamHandler = Arc<dyn Fn(Value) -> BoxFuture<Result<Value, BoxError>> + Send + Sync>;

/// One event source mapping: a table's stream into one function.
pub struct StreamSource {
    client: StreamsApi,
    sqs: aws_sdk_sqs::Client,
    stream_arn: String,
    spec: StreamSourceSpec,
    /// The on-failure destination's URL, if the mapping has one.
    on_failure_url: Option<String>,
    region: String,
    state: Mutex<Positions>,
}

#[derive(Default)]
struct Positions {
    /// Per shard: the sequence number of the last record done with (handled, filtered
    /// out, or given up on).
    done_through: HashMap<String, String>,
    /// Retries so far of the record the shard is stuck on: (sequence number, retries).
    retries: HashMap<String, (String, i64)>,
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollOutcome {
    /// Records handed to the function and reported handled.
    pub delivered: usize,
    /// Records whose delivery failed and will be retried on the next poll.
    pub retrying: usize,
    /// Records given up on and described on the on-failure queue.
    pub dead_lettered: usize,
}

impl StreamSource {
    /// The mapping of `spec` over the stream of `table_name`.
    pub async fn new(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: StreamsApi,
        sqs: aws_sdk_sqs::Client,
        table_name: &str,
        spec: StreamSourceSpec,
        on_failure_url: Option<String>,
        region: &str,
    ) -> Result<StreamSource, BoxError> {
        let described = dynamodb
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| format!("describing {table_name}: {}", e.into_service_error()))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("the table {table_name} has no stream"))?
            .to_owned();
        Ok(StreamSource {
            client: streams,
            sqs,
            stream_arn,
            spec,
            on_failure_url,
            region: region.to_owned(),
            state: Mutex::new(Positions::default()),
        })
    }

    /// Reads every shard from its checkpoint to its end and delivers what passes the
    /// filters, each batch once (a failed record is retried by the next poll).
    pub async fn poll_once(&self, handler: &StreamHandler) -> Result<PollOutcome, BoxError> {
        let mut state = self.state.lock().await;
        let mut outcome = PollOutcome::default();
        let described = self
            .client
            .call("DescribeStream", json!({"StreamArn": self.stream_arn}))
            .await?;
        let mut shards: Vec<(String, String)> = described["StreamDescription"]["Shards"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|shard| {
                let start = shard["SequenceNumberRange"]["StartingSequenceNumber"]
                    .as_str()
                    .unwrap_or_default();
                Some((shard["ShardId"].as_str()?.to_owned(), start.to_owned()))
            })
            .collect();
        // Parents before children: a child's records come after its parent's.
        shards.sort_by(|a, b| sequence_order(&a.1, &b.1));
        for (shard, _) in shards {
            let records = self
                .read_shard(&shard, state.done_through.get(&shard))
                .await?;
            let Some(last) = records.last().and_then(sequence_of) else {
                continue;
            };
            let wanted: Vec<&Value> = records.iter().filter(|r| self.passes(r)).collect();
            let mut done_through = Some(last.clone());
            for batch in wanted.chunks(self.spec.batch_size.max(1)) {
                match self.deliver(handler, &shard, batch, &mut state).await? {
                    Delivery::Done(count) => outcome.delivered += count,
                    Delivery::DeadLettered(count) => outcome.dead_lettered += count,
                    Delivery::Retry {
                        handled,
                        failed_from,
                    } => {
                        outcome.delivered += handled;
                        outcome.retrying += batch.len() - handled;
                        // Stop before the failed record: it and everything after it in
                        // this shard come again on the next poll.
                        // (Nothing of this read before it: the checkpoint stays.)
                        done_through = records
                            .iter()
                            .take_while(|r| sequence_of(r).as_deref() != Some(&failed_from))
                            .last()
                            .and_then(sequence_of)
                            .or_else(|| state.done_through.get(&shard).cloned());
                        break;
                    }
                }
            }
            match done_through {
                Some(sequence) => {
                    state.done_through.insert(shard.clone(), sequence);
                }
                None => {
                    state.done_through.remove(&shard);
                }
            }
        }
        Ok(outcome)
    }

    /// Every record of a shard after `after` (from its start if none), up to its end now.
    async fn read_shard(
        &self,
        shard: &str,
        after: Option<&String>,
    ) -> Result<Vec<Value>, BoxError> {
        let request = match after {
            Some(sequence) => json!({
                "StreamArn": self.stream_arn, "ShardId": shard,
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequence,
            }),
            None => json!({
                "StreamArn": self.stream_arn, "ShardId": shard,
                "ShardIteratorType": "TRIM_HORIZON",
            }),
        };
        let mut iterator = self
            .client
            .call("GetShardIterator", request)
            .await?
            .get("ShardIterator")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut records = Vec::new();
        while let Some(current) = iterator.take() {
            let page = self
                .client
                .call(
                    "GetRecords",
                    json!({"ShardIterator": current, "Limit": 1000}),
                )
                .await?;
            let got = page["Records"].as_array().cloned().unwrap_or_default();
            if got.is_empty() {
                break;
            }
            records.extend(got);
            iterator = page
                .get("NextShardIterator")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        // DynamoDB Local starts an AFTER_SEQUENCE_NUMBER iterator at the record itself.
        if let Some(after) = after {
            records.retain(|r| sequence_of(r).is_some_and(|s| sequence_order(&s, after).is_gt()));
        }
        Ok(records)
    }

    /// Whether a record passes the mapping's filters (all records pass when it has none).
    fn passes(&self, record: &Value) -> bool {
        if self.spec.filters.is_empty() {
            return true;
        }
        let event = self.lambda_record(record);
        self.spec
            .filters
            .iter()
            .any(|pattern| pattern_matches(pattern, &event))
    }

    async fn deliver(
        &self,
        handler: &StreamHandler,
        shard: &str,
        batch: &[&Value],
        state: &mut Positions,
    ) -> Result<Delivery, BoxError> {
        let event = json!({
            "Records": batch.iter().map(|r| self.lambda_record(r)).collect::<Vec<_>>()
        });
        let failed_from = match handler(event).await {
            Ok(response) => response
                .get("batchItemFailures")
                .and_then(Value::as_array)
                .filter(|_| self.spec.report_batch_item_failures)
                .and_then(|failures| {
                    // The lowest failed sequence number is where the batch resumes.
                    failures
                        .iter()
                        .filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str))
                        .min_by(|a, b| sequence_order(a, b))
                        .map(str::to_owned)
                }),
            Err(error) => {
                tracing::warn!(function_error = %error, "stream batch failed; it will be retried");
                batch.first().and_then(|r| sequence_of(r))
            }
        };
        let Some(failed_from) = failed_from else {
            state.retries.remove(shard);
            return Ok(Delivery::Done(batch.len()));
        };
        let handled = batch
            .iter()
            .take_while(|r| sequence_of(r).as_deref() != Some(&failed_from))
            .count();
        let retries = match state.retries.get(shard) {
            Some((sequence, count)) if *sequence == failed_from => count + 1,
            _ => 0,
        };
        let limit = self.spec.maximum_retry_attempts;
        if limit >= 0 && retries >= limit {
            state.retries.remove(shard);
            let rest = &batch[handled..];
            self.dead_letter(shard, rest).await?;
            return Ok(Delivery::DeadLettered(rest.len()));
        }
        state
            .retries
            .insert(shard.to_owned(), (failed_from.clone(), retries));
        Ok(Delivery::Retry {
            handled,
            failed_from,
        })
    }

    /// What the real mapping sends its on-failure destination: where the records are, not
    /// the records (the event item in the table is the source of truth to replay from).
    async fn dead_letter(&self, shard: &str, records: &[&Value]) -> Result<(), BoxError> {
        let Some(url) = &self.on_failure_url else {
            tracing::warn!(
                shard,
                records = records.len(),
                "stream records given up on (no on-failure destination)"
            );
            return Ok(());
        };
        let body = json!({
            "requestContext": {"condition": "RetryAttemptsExhausted"},
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": records.first().and_then(|r| sequence_of(r)),
                "endSequenceNumber": records.last().and_then(|r| sequence_of(r)),
                "batchSize": records.len(),
                "streamArn": self.stream_arn,
            }
        });
        self.sqs
            .send_message()
            .queue_url(url)
            .message_body(body.to_string())
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        Ok(())
    }

    /// A stream record as Lambda hands it to the function: what GetRecords answers, with the
    /// stream's ARN and region, and empty maps spelled as DynamoDB spells them (`{"M": {}}`;
    /// DynamoDB Local writes a bare `{}` into its stream).
    fn lambda_record(&self, record: &Value) -> Value {
        let mut record = record.clone();
        if let Some(change) = record.get_mut("dynamodb").and_then(Value::as_object_mut) {
            for image in ["Keys", "NewImage", "OldImage"] {
                if let Some(Value::Object(attributes)) = change.get_mut(image) {
                    attributes.values_mut().for_each(normalise_attribute);
                }
            }
        }
        record["eventSourceARN"] = json!(self.stream_arn);
        record["awsRegion"] = json!(self.region);
        record
    }
}

/// An attribute value as DynamoDB writes it: an empty map is `{"M": {}}`.
fn normalise_attribute(value: &mut Value) {
    match value {
        Value::Object(fields) if fields.is_empty() => *value = json!({"M": {}}),
        Value::Object(fields) => {
            if let Some(Value::Object(map)) = fields.get_mut("M") {
                map.values_mut().for_each(normalise_attribute);
            }
            if let Some(Value::Array(list)) = fields.get_mut("L") {
                list.iter_mut().for_each(normalise_attribute);
            }
        }
        _ => {}
    }
}

/// DynamoDB Local's streams API, spoken directly (JSON over HTTP/1.1): the SDK's client
/// cannot read the bare `{}` DynamoDB Local writes for an empty map, and the emulator wants
/// the records as JSON anyway, since that is what it hands the function.
#[derive(Debug, Clone)]
pub struct StreamsApi {
    /// `host:port` of DynamoDB Local.
    address: String,
    region: String,
}

impl StreamsApi {
    /// At `endpoint` (`http://host:port`, DynamoDB Local's: `AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn new(endpoint: &str, region: &str) -> Result<StreamsApi, BoxError> {
        let address = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| {
                format!("the DynamoDB endpoint {endpoint} is not plain http (DynamoDB Local)")
            })?
            .trim_end_matches('/')
            .to_owned();
        Ok(StreamsApi {
            address,
            region: region.to_owned(),
        })
    }

    /// One call: `DynamoDBStreams_20120810.<operation>` with a JSON body.
    pub async fn call(&self, operation: &str, body: Value) -> Result<Value, BoxError> {
        let body = body.to_string();
        // DynamoDB Local (-sharedDb) reads no signature, but wants the header's shape.
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: DynamoDBStreams_20120810.{operation}\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {length}\r\nConnection: close\r\n\r\n{body}",
            host = self.address,
            region = self.region,
            length = body.len(),
        );
        let mut stream = tokio::net::TcpStream::connect(&self.address).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("DynamoDB Local's answer has no header end")?;
        let head = String::from_utf8_lossy(&answer[..split]).to_string();
        let raw = &answer[split + 4..];
        let content = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(raw)?
        } else {
            raw.to_vec()
        };
        let status_ok = head
            .lines()
            .next()
            .is_some_and(|line| line.contains(" 200 "));
        if !status_ok {
            return Err(format!(
                "{operation}: {} {}",
                head.lines().next().unwrap_or_default(),
                String::from_utf8_lossy(&content)
            )
            .into());
        }
        Ok(serde_json::from_slice(&content)?)
    }
}

/// A chunked HTTP/1.1 body, joined.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, BoxError> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if raw.len() < size + 2 {
            return Err("a chunk shorter than its size".into());
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

enum Delivery {
    Done(usize),
    DeadLettered(usize),
    Retry { handled: usize, failed_from: String },
}

fn sequence_of(record: &Value) -> Option<String> {
    record["dynamodb"]["SequenceNumber"]
        .as_str()
        .map(str::to_owned)
}

/// Sequence numbers are decimal strings of any length: shorter is smaller.
fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Lambda's event filtering, for the patterns the template uses: an object matches when
/// each of its keys matches the event's value at that key; an array lists the allowed
/// values (strings, numbers, booleans, null). Content filters (`prefix`, `anything-but`,
/// `numeric`, `exists`) are refused when the template is checked, so an unknown operator
/// never passes silently.
pub fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.iter().all(|(key, expected)| {
            event
                .get(key)
                .is_some_and(|actual| pattern_matches(expected, actual))
        }),
        Value::Array(allowed) => allowed.iter().any(|value| value == event),
        _ => false,
    }
}

/// Whether the emulator understands a pattern (objects of objects, ending in arrays of
/// plain values).
pub fn pattern_supported(pattern: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields.values().all(pattern_supported),
        Value::Array(allowed) => allowed.iter().all(|v| {
            matches!(
                v,
                Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
            )
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_lambda_filters_do() {
        let pattern =
            json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": ["EVENT"]}}}});
        let event = |name: &str, sk: &str| json!({"eventName": name, "dynamodb": {"Keys": {"PK": {"S": "EVENT#1"}, "SK": {"S": sk}}}});
        assert!(pattern_matches(&pattern, &event("INSERT", "EVENT")));
        assert!(!pattern_matches(&pattern, &event("MODIFY", "EVENT")));
        assert!(!pattern_matches(&pattern, &event("INSERT", "TICKET")));
        assert!(!pattern_matches(&pattern, &json!({"eventName": "INSERT"})));
        assert!(pattern_supported(&pattern));
        assert!(!pattern_supported(
            &json!({"eventName": [{"prefix": "IN"}]})
        ));
    }

    #[test]
    fn empty_maps_are_spelled_as_dynamodb_spells_them() {
        let mut value = json!({"M": {"a": {}, "b": {"L": [{}, {"S": "x"}]}}});
        normalise_attribute(&mut value);
        assert_eq!(
            value,
            json!({"M": {"a": {"M": {}}, "b": {"L": [{"M": {}}, {"S": "x"}]}}})
        );
        let mut bare = json!({});
        normalise_attribute(&mut bare);
        assert_eq!(bare, json!({"M": {}}));
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
    }

    #[test]
    fn longer_sequence_numbers_are_later() {
        assert_eq!(sequence_order("900", "1000"), std::cmp::Ordering::Less);
        assert_eq!(sequence_order("1000", "1001"), std::cmp::Ordering::Less);
    }
}
