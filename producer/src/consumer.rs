//! A small typed consumer: reads a typed topic's records back into its key and value types through the
//! registry (schema resolution included), with each record's partition, offset, timestamp and headers, the schema
//! IDs its key and value were written with, and their bytes as they were in the topic.
//!
//! ```no_run
//! use std::time::Duration;
//! use typed_kafka::{KafkaRecord, consumer::{StartAt, TypedConsumer}, registry::SchemaRegistryClient};
//!
//! #[derive(KafkaRecord, Debug)]
//! struct Order { id: String, total_cents: i64 }
//! typed_kafka::topic! { pub ORDERS: "orders", key: String, value: Order; }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = SchemaRegistryClient::builder(["http://127.0.0.1:8081"]).build()?;
//! let consumer = TypedConsumer::<ORDERS, Order>::builder("127.0.0.1:9092", registry).group_id("billing").build()?;
//! consumer.assign_all(StartAt::Beginning).await?;
//! while let Some(record) = consumer.poll(Duration::from_secs(1)).await {
//!     let record = record?;
//!     println!("{:?} at {}/{}: {:?}", record.key, record.partition, record.offset, record.value);
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::Message;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::message::Headers as _;
use typed_kafka_avro::{SchemaRef, wire};
use typed_kafka_registry::{AvroDeserializer, DeserializeError, SchemaRegistryClient};

use crate::record::{Headers, Timestamp};
use crate::topic::{KeyFormat, KeyKind, KeyOf, KeyReadError, Topic, ValueOf};

/// Why a record could not be read, or the consumer could not be set up. The registry's and the deserializer's
/// errors are boxed: they are large, and every `Result` of the consumer would otherwise carry their size.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumeError {
    /// The consumer (librdkafka) failed.
    #[error("consumer: {0}")]
    Kafka(String),
    /// The key at this position could not be read.
    #[error("key at partition {partition} offset {offset}: {source}")]
    Key {
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
        /// Why.
        source: Box<KeyReadError>,
    },
    /// The value at this position could not be read.
    #[error("value at partition {partition} offset {offset}: {source}")]
    Value {
        /// The partition.
        partition: i32,
        /// The offset.
        offset: i64,
        /// Why.
        source: Box<DeserializeError>,
    },
    /// The value type's schema is unusable.
    #[error(transparent)]
    Schema(Box<DeserializeError>),
}

impl ConsumeError {
    /// Whether polling again may succeed: a consumer failure, or a registry the value's schema could not be
    /// fetched from. A key or value that cannot be read stays unreadable.
    pub fn is_retriable(&self) -> bool {
        match self {
            ConsumeError::Kafka(_) => true,
            ConsumeError::Value { source, .. } => source.is_retriable(),
            ConsumeError::Key { source, .. } => matches!(&**source, KeyReadError::Avro(e) if e.is_retriable()),
            ConsumeError::Schema(_) => false,
        }
    }
}

/// A record read back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Consumed<K, V> {
    /// The key (`None`: no key).
    pub key: Option<K>,
    /// The value (`None`: a tombstone).
    pub value: Option<V>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The timestamp, when the broker gave one.
    pub timestamp: Option<Timestamp>,
    /// The headers.
    pub headers: Headers,
    /// The schema an Avro key was written with (its frame's ID, or its `__key_schema_id` header's GUID or ID);
    /// `None` for plain keys and no key.
    pub key_schema_id: Option<SchemaRef>,
    /// The schema the value was written with (its frame's ID, or its `__value_schema_id` header's GUID or ID);
    /// `None` for a tombstone. Two records of one topic written with different schemas of the subject tell apart
    /// by it, without a header of their own.
    pub value_schema_id: Option<SchemaRef>,
    /// The key's bytes as they were in the topic, for forwarding or auditing.
    pub raw_key: Option<Vec<u8>>,
    /// The value's bytes as they were in the topic (framed), for forwarding or auditing.
    pub raw_value: Option<Vec<u8>>,
}

impl<K, V> Consumed<K, V> {
    /// The trace context the record's headers carry (the span of the producer that sent it, through the global
    /// propagator): the parent for the spans that process it. Feature `otel`.
    #[cfg(feature = "otel")]
    pub fn trace_context(&self) -> opentelemetry::Context {
        crate::producer::otel::trace_context(&self.headers)
    }
}

/// A record as it arrived, copied out of librdkafka's buffer once (so that nothing borrows the consumer while the
/// key and value are read through the registry).
struct Incoming {
    partition: i32,
    offset: i64,
    timestamp: Option<Timestamp>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Headers,
}

impl Incoming {
    fn copy<M: Message>(m: &M) -> Incoming {
        let mut headers = Headers::new();
        if let Some(h) = m.headers() {
            for header in h.iter() {
                match header.value {
                    Some(v) => headers.insert(header.key, v),
                    None => headers.insert_null(header.key),
                };
            }
        }
        let timestamp = match m.timestamp() {
            rdkafka::Timestamp::CreateTime(t) => Some(Timestamp::CreateTime(t)),
            rdkafka::Timestamp::LogAppendTime(t) => Some(Timestamp::LogAppendTime(t)),
            rdkafka::Timestamp::NotAvailable => None,
        };
        Incoming {
            partition: m.partition(),
            offset: m.offset(),
            timestamp,
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers,
        }
    }
}

/// Where reading starts in each assigned partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The first record.
    Beginning,
    /// After the last record (only records written from now on).
    End,
    /// The group's committed offset (`auto.offset.reset` where there is none).
    Committed,
}

/// Which records of transactional producers a consumer reads (`isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// Only committed transactions' records (and records written outside transactions), up to the first open
    /// transaction: what a consume-transform-produce pipeline reads. librdkafka's default.
    ReadCommitted,
    /// Every record, including those of open and aborted transactions (Java's default).
    ReadUncommitted,
}

/// Builds a [`TypedConsumer`].
pub struct ConsumerBuilder<T: Topic, V> {
    settings: BTreeMap<String, String>,
    registry: SchemaRegistryClient,
    name: Option<String>,
    check_rules: bool,
    #[cfg(feature = "otel")]
    telemetry: Option<crate::producer::otel::Telemetry>,
    _types: PhantomData<fn() -> (T, V)>,
}

impl<T: Topic, V> std::fmt::Debug for ConsumerBuilder<T, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: BTreeMap<&str, &str> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), if crate::config::is_secret(k) { "***" } else { v }))
            .collect();
        f.debug_struct("ConsumerBuilder").field("topic", &T::NAME).field("settings", &shown).finish_non_exhaustive()
    }
}

impl<T: Topic, V: ValueOf<T> + for<'de> typed_kafka_avro::AvroDecode<'de>> ConsumerBuilder<T, V> {
    /// The consumer group (default: a group of its own, committing nothing).
    pub fn group_id(self, group: impl Into<String>) -> Self {
        self.set("group.id", group)
    }

    /// Which records of transactional producers to read (default [`IsolationLevel::ReadCommitted`]).
    pub fn isolation_level(self, level: IsolationLevel) -> Self {
        let value = match level {
            IsolationLevel::ReadCommitted => "read_committed",
            IsolationLevel::ReadUncommitted => "read_uncommitted",
        };
        self.set("isolation.level", value)
    }

    /// Sets a consumer setting by its Kafka name (passed to librdkafka as it is).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// The topic's name in this deployment, when it differs from the declaration's.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Also checks each value read against its type's data-contract rules: a value that breaks one is a
    /// deserialization error naming every rule (off by default).
    pub fn check_rules(mut self, on: bool) -> Self {
        self.check_rules = on;
        self
    }

    /// Traces each record read (feature `otel`): a `receive {topic}` span of kind CONSUMER, linked to the span of
    /// the producer that sent it (its headers' W3C trace context). [`Consumed::trace_context`] gives that context
    /// as the parent of the spans that process the record.
    #[cfg(feature = "otel")]
    pub fn telemetry(mut self, telemetry: crate::producer::otel::Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Creates the consumer (it connects on first use).
    pub fn build(self) -> Result<TypedConsumer<T, V>, ConsumeError> {
        let mut config = ClientConfig::new();
        for (k, v) in &self.settings {
            config.set(k, v);
        }
        let consumer: StreamConsumer = config.create().map_err(|e| ConsumeError::Kafka(e.to_string()))?;
        let key_reader =
            <T::Key as KeyFormat>::reader(&self.registry).map_err(|e| ConsumeError::Schema(Box::new(e)))?;
        Ok(TypedConsumer {
            #[cfg(feature = "otel")]
            telemetry: self.telemetry,
            consumer: Arc::new(consumer),
            group: self.settings.get("group.id").cloned().unwrap_or_default(),
            positions: Mutex::new(BTreeMap::new()),
            topic: self.name.as_deref().unwrap_or(T::NAME).into(),
            key_reader,
            values: AvroDeserializer::new(self.registry)
                .map_err(|e| ConsumeError::Schema(Box::new(e)))?
                .check_rules(self.check_rules),
            _types: PhantomData,
        })
    }
}

/// Reads the records of the typed topic `T` into its key type and the value type `V`. A record written with
/// another schema of `V`'s subject is resolved into `V`, as the Avro specification reads it.
pub struct TypedConsumer<T: Topic, V> {
    consumer: Arc<StreamConsumer>,
    group: String,
    /// The next offset to read in each partition, after the records handed out (read or not).
    positions: Mutex<BTreeMap<i32, i64>>,
    topic: Arc<str>,
    key_reader: <T::Key as KeyFormat>::Reader,
    values: AvroDeserializer<V>,
    /// The telemetry, when records are traced.
    #[cfg(feature = "otel")]
    telemetry: Option<crate::producer::otel::Telemetry>,
    _types: PhantomData<fn() -> T>,
}

impl<T: Topic, V> std::fmt::Debug for TypedConsumer<T, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedConsumer").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl<T: Topic, V: ValueOf<T> + for<'de> typed_kafka_avro::AvroDecode<'de>> TypedConsumer<T, V> {
    /// A builder of a consumer of `bootstrap_servers` reading values through `registry`.
    pub fn builder(bootstrap_servers: impl Into<String>, registry: SchemaRegistryClient) -> ConsumerBuilder<T, V> {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".to_string(), bootstrap_servers.into());
        settings.insert("group.id".to_string(), format!("typed-kafka-{}-{}", T::NAME, std::process::id()));
        settings.insert("enable.auto.commit".to_string(), "false".to_string());
        settings.insert("auto.offset.reset".to_string(), "earliest".to_string());
        ConsumerBuilder {
            settings,
            registry,
            name: None,
            check_rules: false,
            #[cfg(feature = "otel")]
            telemetry: None,
            _types: PhantomData,
        }
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Joins the group's assignment of the topic's partitions.
    pub fn subscribe(&self) -> Result<(), ConsumeError> {
        self.consumer.subscribe(&[&self.topic]).map_err(|e| ConsumeError::Kafka(e.to_string()))
    }

    /// Reads every partition of the topic, starting at `start`, outside any group assignment.
    pub async fn assign_all(&self, start: StartAt) -> Result<(), ConsumeError> {
        let consumer = self.consumer.clone();
        let topic = self.topic.to_string();
        let partitions = tokio::task::spawn_blocking(move || {
            let md =
                consumer.client().fetch_metadata(Some(&topic), Duration::from_secs(30)).map_err(|e| e.to_string())?;
            Ok::<_, String>(md.topics().iter().find(|t| t.name() == topic).map_or(0, |t| t.partitions().len()))
        })
        .await
        .map_err(|e| ConsumeError::Kafka(e.to_string()))?
        .map_err(ConsumeError::Kafka)?;
        let offset = match start {
            StartAt::Beginning => rdkafka::Offset::Beginning,
            StartAt::End => rdkafka::Offset::End,
            StartAt::Committed => rdkafka::Offset::Stored,
        };
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition_offset(&self.topic, p, offset).map_err(|e| ConsumeError::Kafka(e.to_string()))?;
        }
        self.consumer.assign(&tpl).map_err(|e| ConsumeError::Kafka(e.to_string()))
    }

    /// Reads the given partitions from the given offsets (e.g. the first offsets a producer reported).
    pub fn assign(&self, positions: impl IntoIterator<Item = (i32, i64)>) -> Result<(), ConsumeError> {
        let mut tpl = rdkafka::TopicPartitionList::new();
        for (partition, offset) in positions {
            tpl.add_partition_offset(&self.topic, partition, rdkafka::Offset::Offset(offset))
                .map_err(|e| ConsumeError::Kafka(e.to_string()))?;
        }
        self.consumer.assign(&tpl).map_err(|e| ConsumeError::Kafka(e.to_string()))
    }

    /// The next record, waiting at most `timeout`; `None` when none arrived in time.
    pub async fn poll(&self, timeout: Duration) -> Option<Result<Consumed<KeyOf<T>, V>, ConsumeError>> {
        let incoming = match tokio::time::timeout(timeout, self.consumer.recv()).await {
            Err(_) => return None,
            Ok(Err(e)) => return Some(Err(ConsumeError::Kafka(e.to_string()))),
            Ok(Ok(m)) => Incoming::copy(&m),
        };
        // Handed out, whether or not it reads: a transaction's offsets move past it.
        self.positions().insert(incoming.partition, incoming.offset + 1);
        #[cfg(feature = "otel")]
        let traced =
            self.telemetry.as_ref().map(|t| (t, incoming.partition, incoming.offset, incoming.headers.clone()));
        let read = self.read(incoming).await;
        #[cfg(feature = "otel")]
        if let Some((t, partition, offset, headers)) = traced {
            let error = match &read {
                Ok(_) => None,
                Err(ConsumeError::Key { .. }) => Some("key"),
                Err(ConsumeError::Value { .. }) => Some("value"),
                Err(_) => Some("_OTHER"),
            };
            crate::producer::otel::received(t, &self.topic, &self.group, partition, offset, &headers, error);
        }
        Some(read)
    }

    async fn read(&self, m: Incoming) -> Result<Consumed<KeyOf<T>, V>, ConsumeError> {
        let Incoming { partition, offset, timestamp, key: raw_key, value: raw_value, headers } = m;
        // Confluent's header framing: a schema-ID header names the schema and the body is bare. Only an Avro key
        // names a schema.
        let avro_key = matches!(<T::Key as KeyFormat>::KIND, KeyKind::Avro);
        let key_header = if avro_key { headers.value(wire::KEY_SCHEMA_ID_HEADER) } else { None };
        let value_header = headers.value(wire::VALUE_SCHEMA_ID_HEADER);
        let key = match &raw_key {
            None => None,
            Some(bytes) => Some(
                <T::Key as KeyFormat>::read(&self.key_reader, &self.topic, key_header, bytes)
                    .await
                    .map_err(|source| ConsumeError::Key { partition, offset, source: Box::new(source) })?,
            ),
        };
        let value = match &raw_value {
            None => None,
            Some(bytes) => Some(
                self.values
                    .deserialize_headed(&self.topic, value_header, bytes)
                    .await
                    .map_err(|source| ConsumeError::Value { partition, offset, source: Box::new(source) })?,
            ),
        };
        // Both read already: their framing splits.
        let schema_of = |header: Option<&[u8]>, bytes: &Option<Vec<u8>>| {
            wire::split_headed(header, bytes.as_deref()?).ok().map(|(schema, _)| schema)
        };
        let key_schema_id = if avro_key { schema_of(key_header, &raw_key) } else { None };
        let value_schema_id = schema_of(value_header, &raw_value);
        Ok(Consumed {
            key,
            value,
            partition,
            offset,
            timestamp,
            headers,
            key_schema_id,
            value_schema_id,
            raw_key,
            raw_value,
        })
    }

    fn positions(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, i64>> {
        self.positions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The positions a transaction commits for the consumer's group: the offset after the last record handed out
    /// in each partition the consumer is still assigned (a partition a rebalance took away is another member's to
    /// commit), with the group's metadata.
    #[cfg(feature = "kafka")]
    pub(crate) fn transaction_offsets(&self) -> crate::producer::transport::GroupOffsets {
        use rdkafka::consumer::Consumer as _;
        let assigned = self.consumer.assignment().unwrap_or_default();
        let mut positions = self.positions();
        positions.retain(|p, _| assigned.find_partition(&self.topic, *p).is_some());
        let positions = positions.iter().map(|(p, next)| (self.topic.clone(), *p, *next)).collect();
        crate::producer::transport::GroupOffsets {
            group_id: self.group.clone(),
            positions,
            metadata: self.consumer.group_metadata(),
        }
    }

    /// Moves back to the group's committed offsets in every assigned partition (the first record where none is
    /// committed), forgetting the records handed out since: after a transaction was aborted, the input is read
    /// again from where the last committed transaction left it.
    pub async fn rewind(&self) -> Result<(), ConsumeError> {
        let consumer = self.consumer.clone();
        let rewound = tokio::task::spawn_blocking(move || {
            let assignment = consumer.assignment().map_err(|e| e.to_string())?;
            let committed =
                consumer.committed_offsets(assignment, Duration::from_secs(30)).map_err(|e| e.to_string())?;
            let mut rewound = Vec::new();
            for e in committed.elements() {
                let offset = match e.offset() {
                    rdkafka::Offset::Offset(o) => rdkafka::Offset::Offset(o),
                    _ => rdkafka::Offset::Beginning,
                };
                consumer.seek(e.topic(), e.partition(), offset, Duration::from_secs(30)).map_err(|e| e.to_string())?;
                rewound.push(e.partition());
            }
            Ok::<_, String>(rewound)
        })
        .await
        .map_err(|e| ConsumeError::Kafka(e.to_string()))?
        .map_err(ConsumeError::Kafka)?;
        let mut positions = self.positions();
        for p in rewound {
            positions.remove(&p);
        }
        Ok(())
    }

    /// Commits the position after `record` for the consumer's group.
    pub fn commit(&self, record: &Consumed<KeyOf<T>, V>) -> Result<(), ConsumeError> {
        let mut tpl = rdkafka::TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, record.partition, rdkafka::Offset::Offset(record.offset + 1))
            .map_err(|e| ConsumeError::Kafka(e.to_string()))?;
        self.consumer.commit(&tpl, CommitMode::Async).map_err(|e| ConsumeError::Kafka(e.to_string()))
    }
}
