//! The producer's errors: before a record is enqueued ([`SendError`], which hands the record back), after it
//! ([`DeliveryError`]), and when building or binding.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use typed_kafka_avro::{RuleViolation, SchemaId};
use typed_kafka_registry::{RecordPart, SerializeError};

use crate::config::ProducerConfigError;
use crate::record::Record;

/// An error code of the batching core (librdkafka's `rd_kafka_resp_err_t`): negative codes are the client's own
/// (`-185` timed out, `-150` fatal, ...), positive ones the broker's (Kafka's protocol error codes).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(i32);

impl ErrorCode {
    /// librdkafka's `RD_KAFKA_RESP_ERR__FATAL`: the producer must be rebuilt.
    pub const FATAL: ErrorCode = ErrorCode(-150);
    /// librdkafka's `RD_KAFKA_RESP_ERR__FAIL`: a failure without a more precise code.
    pub const FAIL: ErrorCode = ErrorCode(-196);

    /// The code with this number.
    pub const fn new(code: i32) -> ErrorCode {
        ErrorCode(code)
    }

    /// The number, as librdkafka and the Kafka protocol give it.
    pub const fn code(self) -> i32 {
        self.0
    }

    /// librdkafka's name of the code (`MessageTimedOut`, `NotLeaderForPartition`, ...).
    #[cfg(feature = "kafka")]
    pub fn name(self) -> String {
        format!("{:?}", self.rdkafka())
    }

    /// The code as rdkafka's enum.
    #[cfg(feature = "kafka")]
    pub fn rdkafka(self) -> rdkafka::error::RDKafkaErrorCode {
        rdkafka::types::RDKafkaRespErr::try_from(self.0)
            .map(rdkafka::error::RDKafkaErrorCode::from)
            .unwrap_or(rdkafka::error::RDKafkaErrorCode::Fail)
    }
}

#[cfg(feature = "kafka")]
impl From<rdkafka::error::RDKafkaErrorCode> for ErrorCode {
    fn from(code: rdkafka::error::RDKafkaErrorCode) -> ErrorCode {
        ErrorCode(code as i32)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "kafka")]
        return write!(f, "ErrorCode({}, {})", self.0, self.name());
        #[cfg(not(feature = "kafka"))]
        return write!(f, "ErrorCode({})", self.0);
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "kafka")]
        return write!(f, "{} ({})", self.name(), self.0);
        #[cfg(not(feature = "kafka"))]
        return write!(f, "error code {}", self.0);
    }
}

/// Why a record was refused before it was enqueued. Nothing of it was sent; the error hands it back.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendErrorKind {
    /// The key violates its schema (every violation with its path), or could not be serialized.
    #[error("key: {0}")]
    Key(SerializeError),
    /// The value violates its schema (every violation with its path), or could not be serialized.
    #[error("value: {0}")]
    Value(SerializeError),
    /// The key or value breaks data-contract rules (`#[kafka(rule(...))]`, the schema's `confluent:rules`):
    /// every broken rule, with its name, doc, expression and path.
    #[error("{} breaks {} rule(s): {}", part_name(part), violations.len(), RuleViolation::list(violations))]
    RuleViolation {
        /// Whether the key or the value breaks them.
        part: RecordPart,
        /// Every rule broken, in the order they ran.
        violations: Vec<RuleViolation>,
    },
    /// The key's schema ID differs from the one the topic's keys were framed with. With Avro keys the frame holds
    /// the schema ID and Java-compatible partitioning hashes the frame, so a new key schema ID sends every key to
    /// another partition and breaks per-key order.
    #[error(
        "the key schema ID changed from {previous} to {current}: keys framed with it hash to other partitions and \
         per-key order would break; opt in with allow_key_schema_change, or hash only the Avro body"
    )]
    KeySchemaChanged {
        /// The ID keys were framed with so far.
        previous: SchemaId,
        /// The ID this record's key would be framed with.
        current: SchemaId,
    },
    /// The producer's byte budget (`buffer.memory`) stayed full for `max.block.ms`.
    #[error("buffer.memory full: waited {waited:?} (max.block.ms) for {needed} bytes")]
    BufferFull {
        /// How long the send waited.
        waited: Duration,
        /// The bytes the record needs from the budget: its key, value and headers, and the batching core's
        /// per-record overhead ([`RECORD_OVERHEAD`](crate::config::RECORD_OVERHEAD)).
        needed: usize,
    },
    /// The record is larger than `max.request.size`.
    #[error("record of {size} bytes exceeds max.request.size ({max} bytes)")]
    TooLarge {
        /// The record's size (key, value and headers).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The custom partitioner or the explicit partition named a partition the topic does not have, as far as the
    /// producer's metadata knows (it is refreshed every `metadata.max.age.ms`).
    #[error(
        "partition {partition} does not exist (the topic has {})",
        partitions.map_or_else(|| "an unknown number of partitions".to_string(), |n| format!("{n}"))
    )]
    UnknownPartition {
        /// The partition asked for.
        partition: i32,
        /// The topic's partition count as the producer last read it, when known.
        partitions: Option<i32>,
    },
    /// The producer hit a fatal error (e.g. of idempotence) and must be rebuilt.
    #[error("the producer must be rebuilt after a fatal error: {reason} [{code}]")]
    Fatal {
        /// The batching core's code for the error that was fatal.
        code: ErrorCode,
        /// What happened.
        reason: String,
    },
    /// The producer was closed.
    #[error("the producer is closed")]
    Closed,
    /// The producer is transactional and no transaction is open: its records are written only inside one
    /// ([`Producer::begin`](super::Producer::begin)); none is open between a commit or an abort and the next
    /// `begin`.
    #[error("no transaction is open: a transactional producer sends only between begin and commit or abort")]
    NoTransaction,
    /// `send_blocking` was called on the thread that serves the producer's delivery reports (from a delivery
    /// callback, an interceptor, or code a waker runs there): it would wait for a report only that thread can
    /// serve. Send with `send_with`, `send_and_forget` or from another thread instead.
    #[error(
        "send_blocking on the producer's delivery thread (in a callback or an interceptor) would wait for itself; \
         use send_with or send_and_forget there"
    )]
    WouldDeadlock,
    /// The batching core refused the record.
    #[error("enqueue refused: {reason} [{code}]")]
    Enqueue {
        /// The batching core's code.
        code: ErrorCode,
        /// Its message.
        reason: String,
    },
}

/// "key" or "value".
fn part_name(part: &RecordPart) -> &'static str {
    match part {
        RecordPart::Key => "key",
        RecordPart::Value => "value",
    }
}

impl SendErrorKind {
    /// Whether the same record may succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        match self {
            SendErrorKind::Key(e) | SendErrorKind::Value(e) => e.is_retriable(),
            SendErrorKind::BufferFull { .. } => true,
            // A partition the metadata does not show yet may appear (the topic is being expanded).
            SendErrorKind::UnknownPartition { .. } => true,
            _ => false,
        }
    }

    /// Why the record was refused, as the metrics count and OpenTelemetry's `error.type` names it.
    pub(crate) fn reason(&self) -> Reason {
        match self {
            k if k.is_schema_violation() => Reason::SchemaViolation,
            SendErrorKind::RuleViolation { .. } => Reason::RuleViolation,
            SendErrorKind::Key(_) | SendErrorKind::Value(_) => Reason::Serialization,
            SendErrorKind::KeySchemaChanged { .. } => Reason::KeySchemaChanged,
            SendErrorKind::BufferFull { .. } => Reason::BufferFull,
            SendErrorKind::TooLarge { .. } => Reason::TooLarge,
            SendErrorKind::Closed => Reason::Closed,
            SendErrorKind::Fatal { .. } => Reason::Fatal,
            _ => Reason::Other,
        }
    }

    /// The paths of the schema violations this refusal names (none for other refusals).
    #[cfg(feature = "otel")]
    pub(crate) fn violation_paths(&self) -> Vec<String> {
        match self {
            SendErrorKind::Key(SerializeError::Invalid { violations, .. })
            | SendErrorKind::Value(SerializeError::Invalid { violations, .. }) => {
                violations.iter().map(|v| v.path.to_string()).collect()
            }
            SendErrorKind::Key(SerializeError::NotInRegisteredSchema { violations, .. })
            | SendErrorKind::Value(SerializeError::NotInRegisteredSchema { violations, .. }) => {
                violations.iter().map(|v| v.path.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Whether the record violates its key's or value's schema.
    pub fn is_schema_violation(&self) -> bool {
        matches!(
            self,
            SendErrorKind::Key(SerializeError::Invalid { .. } | SerializeError::NotInRegisteredSchema { .. })
                | SendErrorKind::Value(SerializeError::Invalid { .. } | SerializeError::NotInRegisteredSchema { .. })
        )
    }
}

/// A record refused before it was enqueued: why, the topic, and the record itself (nothing of it was sent, and no
/// other record was affected). One pointer wide.
pub struct SendError<K, V>(Box<Refusal<K, V>>);

struct Refusal<K, V> {
    kind: SendErrorKind,
    topic: Arc<str>,
    record: Record<K, V>,
}

impl<K, V> SendError<K, V> {
    pub(crate) fn new(kind: SendErrorKind, topic: Arc<str>, record: Record<K, V>) -> SendError<K, V> {
        SendError(Box::new(Refusal { kind, topic, record }))
    }

    /// Why.
    pub fn kind(&self) -> &SendErrorKind {
        &self.0.kind
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.0.topic
    }

    /// The record, to retry, fix or park.
    pub fn record(&self) -> &Record<K, V> {
        &self.0.record
    }

    /// Takes the record back.
    pub fn into_record(self) -> Record<K, V> {
        self.0.record
    }

    /// Whether the same record may succeed if sent again later.
    pub fn is_retriable(&self) -> bool {
        self.0.kind.is_retriable()
    }
}

impl<K, V> fmt::Debug for SendError<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").field("kind", &self.0.kind).field("topic", &self.0.topic).finish_non_exhaustive()
    }
}

impl<K, V> fmt::Display for SendError<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record for topic {} refused: {}", self.0.topic, self.0.kind)
    }
}

impl<K, V> std::error::Error for SendError<K, V> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.kind)
    }
}

/// Why an enqueued record was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryErrorKind {
    /// `delivery.timeout.ms` passed before the record was acknowledged.
    TimedOut,
    /// The broker refused the record as too large (its `message.max.bytes`).
    TooLarge,
    /// The topic or partition does not exist.
    UnknownTopicOrPartition,
    /// Not authorized to write to the topic.
    Authorization,
    /// Removed by `close` or by dropping the producer before its delivery was reported. Never retriable on this
    /// producer, which is closing; a record purged while in flight to the broker may have been written anyway.
    Purged,
    /// The producer hit a fatal error and must be rebuilt.
    Fatal,
    /// The record's transaction was aborted before the record was delivered: it is not in the topic for
    /// `read_committed` consumers (a record delivered before the abort is there, marked aborted).
    Aborted,
    /// Any other error from the broker or the client.
    Other,
}

/// The reasons a record is refused before it is enqueued, one per counter of
/// [`RefusedCounts`](super::RefusedCounts) (closed, fatal and the rest share `other` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    SchemaViolation,
    RuleViolation,
    Serialization,
    KeySchemaChanged,
    BufferFull,
    TooLarge,
    Closed,
    Fatal,
    Other,
}

impl Reason {
    /// A short, low-cardinality name, as OpenTelemetry's `error.type` takes it.
    #[cfg(feature = "otel")]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Reason::SchemaViolation => "schema_violation",
            Reason::RuleViolation => "rule_violation",
            Reason::Serialization => "serialization",
            Reason::KeySchemaChanged => "key_schema_changed",
            Reason::BufferFull => "buffer_full",
            Reason::TooLarge => "too_large",
            Reason::Closed => "closed",
            Reason::Fatal => "fatal",
            Reason::Other => "_OTHER",
        }
    }
}

impl DeliveryErrorKind {
    /// A short name, as OpenTelemetry's `error.type` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            DeliveryErrorKind::TimedOut => "timed_out",
            DeliveryErrorKind::TooLarge => "too_large",
            DeliveryErrorKind::UnknownTopicOrPartition => "unknown_topic_or_partition",
            DeliveryErrorKind::Authorization => "authorization",
            DeliveryErrorKind::Purged => "purged",
            DeliveryErrorKind::Fatal => "fatal",
            DeliveryErrorKind::Aborted => "aborted",
            DeliveryErrorKind::Other => "_OTHER",
        }
    }
}

/// An enqueued record that was not delivered: the topic, the partition if one was chosen, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {record_id} for topic {topic}{} not delivered: {message}", partition.map(|p| format!(" partition {p}")).unwrap_or_default())]
#[non_exhaustive]
pub struct DeliveryError {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition, when one was chosen.
    pub partition: Option<i32>,
    /// The producer's sequence number for the record.
    pub record_id: u64,
    /// What kind of failure.
    pub kind: DeliveryErrorKind,
    /// The batching core's or the broker's error code, when it gave one.
    pub code: Option<ErrorCode>,
    /// The client's or broker's message.
    pub message: String,
    pub(crate) retriable: bool,
}

impl DeliveryError {
    /// Whether sending the same record again may succeed (the failure was transient, e.g. a timeout while a leader
    /// moved); the producer already retried it within `delivery.timeout.ms`.
    pub fn is_retriable(&self) -> bool {
        self.retriable
    }

    /// Whether the producer must be rebuilt.
    pub fn is_fatal(&self) -> bool {
        self.kind == DeliveryErrorKind::Fatal
    }
}

/// Why a producer could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration breaks a rule.
    #[error(transparent)]
    Config(#[from] ProducerConfigError),
    /// The batching core refused the configuration.
    #[error("the batching core (librdkafka) refused the configuration: {0}")]
    Core(String),
    /// The producer needs a schema registry client (`registry(..)` on the builder).
    #[error("no schema registry client: give one with ProducerBuilder::registry")]
    NoRegistry,
    /// No async runtime to run registry I/O on, and none could be started; or a producer thread could not start.
    #[error("starting the producer's threads: {0}")]
    Runtime(String),
}

impl BuildError {
    /// Building again with the same settings fails the same way.
    pub fn is_retriable(&self) -> bool {
        false
    }
}

/// Why a topic could not be bound to a producer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The topic does not exist (and the cluster does not create topics on first use).
    #[error("topic {topic} does not exist")]
    UnknownTopic {
        /// The topic.
        topic: String,
    },
    /// The cluster's metadata could not be read within the time given (`max.block.ms`).
    #[error("reading the metadata of topic {topic}: {message}")]
    Metadata {
        /// The topic.
        topic: String,
        /// What failed.
        message: String,
    },
    /// A broker refused the login (a wrong user or password) or the TLS handshake failed (an untrusted or
    /// mismatched certificate): retrying does not help, the configuration must change.
    #[error("topic {topic}: connecting to the cluster failed: {message}")]
    Security {
        /// The topic.
        topic: String,
        /// librdkafka's reason (it never contains the password).
        message: String,
    },
    /// A key or value type's subject could not be resolved in the registry.
    #[error(transparent)]
    Serializer(#[from] SerializeError),
    /// The key subject's latest registered schema is not this key type's schema: keys framed with another schema
    /// ID hash to other partitions than the keys already on the topic.
    #[error(
        "topic {topic}: the key subject {subject} holds schema ID {registered}, but this key type's schema {}: \
         its keys would land on other partitions than the keys already written and per-key order would break; \
         opt in with allow_key_schema_change, or hash only the Avro body",
        ours.map(|id| format!("has ID {id}")).unwrap_or_else(|| "is not registered".to_string())
    )]
    KeySchemaChanged {
        /// The topic.
        topic: String,
        /// The key subject.
        subject: String,
        /// The ID of the subject's latest version.
        registered: SchemaId,
        /// This key type's ID in the subject, if registered.
        ours: Option<SchemaId>,
    },
    /// The batching core refused the topic's name (e.g. it holds a NUL byte).
    #[error("topic {topic}: {message}")]
    InvalidTopic {
        /// The topic.
        topic: String,
        /// Why.
        message: String,
    },
    /// The producer is closed.
    #[error("the producer is closed")]
    Closed,
    /// The producer hit a fatal error and must be rebuilt.
    #[error("the producer must be rebuilt after a fatal error: {reason} [{code}]")]
    Fatal {
        /// The batching core's code for the error that was fatal.
        code: ErrorCode,
        /// What happened.
        reason: String,
    },
}

impl BindError {
    /// Whether binding again later may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            BindError::Metadata { .. } => true,
            BindError::Serializer(e) => e.is_retriable(),
            _ => false,
        }
    }
}
