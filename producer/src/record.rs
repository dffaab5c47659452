//! A record to send, and what the broker answered.

use std::sync::Arc;

use typed_kafka_avro::SchemaId;

/// Record headers, in order; a name may repeat, and a value may be absent (a null header, as Kafka allows).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, Option<Vec<u8>>)>);

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    /// Appends a header.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.0.push((name.into(), Some(value.into())));
        self
    }

    /// Appends a header without a value.
    pub fn insert_null(&mut self, name: impl Into<String>) -> &mut Self {
        self.0.push((name.into(), None));
        self
    }

    /// The first value of the header `name` (`Some(None)` for a null header).
    pub fn get(&self, name: &str) -> Option<Option<&[u8]>> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_deref())
    }

    /// The value of the last header named `name` (as Java's `Headers.lastHeader` reads it): `None` when there is
    /// no such header or it has no value. [`get`](Self::get) tells those two apart, for the first one.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.0.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }

    /// Every header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// How many headers there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes the headers take in a record (names and values), for the producer's byte budget.
    pub(crate) fn size(&self) -> usize {
        self.0.iter().map(|(n, v)| n.len() + v.as_ref().map_or(0, Vec::len)).sum()
    }
}

/// A record to send to a topic whose keys are `K` and whose values include `V`.
///
/// ```
/// use typed_kafka::Record;
///
/// let record: Record<String, u8> = Record::new(7)
///     .key("customer-1".to_string())
///     .header("trace-id", "abc")
///     .timestamp(1_700_000_000_000)
///     .partition(2);
/// assert_eq!(record.value, Some(7));
/// let tombstone: Record<String, u8> = Record::tombstone("customer-1".to_string());
/// assert!(tombstone.value.is_none());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Record<K, V> {
    /// The key; `None` sends a record without a key (it goes to a partition chosen for the batch, sticky as
    /// Java's partitioner does).
    pub key: Option<K>,
    /// The value; `None` is a tombstone (deletes the key on a compacted topic).
    pub value: Option<V>,
    /// An explicit partition: wins over any partitioner.
    pub partition: Option<i32>,
    /// The create time in milliseconds since the epoch; `None`: the time of sending.
    pub timestamp: Option<i64>,
    /// Headers.
    pub headers: Headers,
}

impl<K, V> Record<K, V> {
    /// A record with this value, no key, no headers.
    pub fn new(value: V) -> Record<K, V> {
        Record { key: None, value: Some(value), partition: None, timestamp: None, headers: Headers::new() }
    }

    /// A record of these parts.
    pub(crate) fn from_parts(
        key: Option<K>,
        value: Option<V>,
        partition: Option<i32>,
        timestamp: Option<i64>,
        headers: Headers,
    ) -> Record<K, V> {
        Record { key, value, partition, timestamp, headers }
    }

    /// A tombstone for `key`: a record with that key and no value.
    pub fn tombstone(key: K) -> Record<K, V> {
        Record { key: Some(key), value: None, partition: None, timestamp: None, headers: Headers::new() }
    }

    /// Sets the key.
    pub fn key(mut self, key: K) -> Self {
        self.key = Some(key);
        self
    }

    /// Sends to this partition, whatever the key.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the create time (milliseconds since the epoch).
    pub fn timestamp(mut self, millis: i64) -> Self {
        self.timestamp = Some(millis);
        self
    }

    /// Appends a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.headers.insert(name, value);
        self
    }
}

/// A record's timestamp as the broker stored it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// The producer's create time (the topic's `message.timestamp.type=CreateTime`).
    CreateTime(i64),
    /// The broker's append time (`LogAppendTime`).
    LogAppendTime(i64),
}

impl Timestamp {
    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        match self {
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => t,
        }
    }
}

/// Where a record was written: what Java's `RecordMetadata` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset; `None` with `acks=0`, where the broker does not answer.
    pub offset: Option<i64>,
    /// The timestamp, when known.
    pub timestamp: Option<Timestamp>,
    /// Bytes of the serialized key (`None`: no key).
    pub serialized_key_size: Option<usize>,
    /// Bytes of the serialized value (`None`: a tombstone).
    pub serialized_value_size: Option<usize>,
    /// The schema ID the key was framed with (Avro keys).
    pub key_schema_id: Option<SchemaId>,
    /// The schema ID the value was framed with.
    pub value_schema_id: Option<SchemaId>,
    /// The producer's sequence number for this record (what [`CloseReport`](crate::producer::CloseReport) lists).
    pub record_id: u64,
}
