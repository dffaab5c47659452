//! [`TypedProducer`]: the records of one typed topic, in every send mode.

use std::any::Any;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use typed_kafka_avro::{KafkaRecord, SchemaId, wire};
#[cfg(feature = "kafka")]
use typed_kafka_registry::{AvroSerializer, SerializerConfig};
use typed_kafka_registry::{
    BoundSerializer, RecordPart, RegistryError, SchemaMode, SerializeError, SubjectNameStrategy, write_framed,
};

use super::callback::Callback;
use super::error::{BindError, DeliveryError, SendError, SendErrorKind};
#[cfg(feature = "kafka")]
use super::kafka::MetadataError;
use super::pending::{Await, Call, Completion, Forget, Meta, SlotRef};
use super::{Backend, Producer};
use crate::partition::java_partition;
use crate::record::{Record, RecordMetadata};
use crate::topic::{KeyFormat, KeyKind, Topic, ValueOf};

/// The key type of topic `T`.
pub(crate) type KeyOf<T> = <<T as Topic>::Key as KeyFormat>::Key;

/// Which bytes of an Avro key the default partitioner hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyHashing {
    /// The whole serialized key, the 5-byte Confluent frame included, as Java's producer with
    /// `KafkaAvroSerializer` does: the same partitions as Java producers of the same key schema ID.
    #[default]
    Framed,
    /// The Avro body only, without the frame: a key keeps its partition across key schema versions, but Java
    /// producers of the topic put it elsewhere. An explicit choice for topics only this producer writes.
    AvroBody,
}

/// A value or Avro key encoder bound to one topic.
pub(crate) enum Encoder<V> {
    /// Through the registry: the schema ID resolved at bind time (and followed in use-latest mode).
    Registry(BoundSerializer<V>),
    /// A known schema ID (the mock producer's registry).
    Fixed(SchemaId),
}

impl<V: KafkaRecord> Encoder<V> {
    #[inline]
    pub(crate) fn encode(&self, topic: &str, value: &V, buf: &mut Vec<u8>) -> Result<SchemaId, SerializeError> {
        match self {
            Encoder::Registry(s) => s.serialize(value, buf),
            Encoder::Fixed(id) => write_framed(topic, *id, value, buf).map(|()| *id),
        }
    }

    pub(crate) fn schema_id(&self) -> SchemaId {
        match self {
            Encoder::Registry(s) => s.schema_id(),
            Encoder::Fixed(id) => *id,
        }
    }
}

type Slot = OnceLock<Box<dyn Any + Send + Sync>>;
type PartitionerFn<K, V> = Box<dyn Fn(Option<&K>, Option<&V>, i32) -> i32 + Send + Sync>;

/// Resolves the subjects of a topic's value types while it is being bound (used by the code
/// [`topic!`](crate::topic!) generates).
pub struct Binder<T: Topic> {
    producer: Producer,
    topic: Arc<str>,
    values: Vec<Slot>,
    key: Slot,
    allow_key_schema_change: bool,
    _topic: PhantomData<fn() -> T>,
}

impl<T: Topic> Binder<T> {
    /// Resolves `V`'s schema ID for the topic's values (registering it in auto-register mode).
    pub async fn bind_value<V: ValueOf<T>>(&self) -> Result<(), BindError> {
        let strategy = crate::contract::value_strategy(T::VALUE_TYPES);
        let encoder = self.encoder::<V>(strategy, RecordPart::Value, self.producer.inner.mode).await?;
        let _ = self.values[V::INDEX].set(Box::new(encoder));
        Ok(())
    }

    async fn encoder<V: KafkaRecord + Send + Sync + 'static>(
        &self,
        strategy: SubjectNameStrategy,
        part: RecordPart,
        mode: SchemaMode,
    ) -> Result<Encoder<V>, BindError> {
        let inner = &self.producer.inner;
        match &inner.backend {
            Backend::Mock(mock) => {
                let info = V::schema()
                    .map_err(|source| SerializeError::Schema { type_name: std::any::type_name::<V>(), source })?;
                let subject = strategy
                    .subject(&self.topic, part, info.full_name().as_deref())
                    .map_err(|reason| SerializeError::Subject { topic: self.topic.to_string(), reason })?;
                Ok(Encoder::Fixed(mock.schema_id(&subject, info.fingerprint())))
            }
            #[cfg(feature = "kafka")]
            Backend::Kafka(_) => {
                let client = inner.registry.clone().ok_or(BindError::Closed)?;
                let config = SerializerConfig { strategy, mode, part, normalization: inner.normalization };
                let serializer = AvroSerializer::<V>::new(client, config)?;
                Ok(Encoder::Registry(serializer.bind(&self.topic).await?))
            }
        }
    }

    /// The Avro key's encoder, after checking that the key subject's latest schema is this key type's.
    pub(crate) async fn bind_avro_key<K: KafkaRecord + Send + Sync + 'static>(&self) -> Result<(), BindError> {
        let mode = match self.producer.inner.mode {
            SchemaMode::PinnedId(_) => SchemaMode::AutoRegister,
            mode => mode,
        };
        if !self.allow_key_schema_change {
            self.check_key_subject::<K>().await?;
        }
        let encoder = self.encoder::<K>(SubjectNameStrategy::TopicName, RecordPart::Key, mode).await?;
        let _ = self.key.set(Box::new(encoder));
        Ok(())
    }

    /// Refuses a key type whose schema is not the key subject's latest: its keys would hash elsewhere.
    async fn check_key_subject<K: KafkaRecord>(&self) -> Result<(), BindError> {
        let inner = &self.producer.inner;
        let Some(client) = &inner.registry else { return Ok(()) };
        let subject = crate::contract::key_subject(&self.topic);
        let serialize =
            |source| SerializeError::Registry { topic: self.topic.to_string(), subject: subject.clone(), source };
        let latest = match client.version(&subject, typed_kafka_registry::client::Version::Latest).await {
            Ok(latest) => latest,
            Err(RegistryError::SubjectNotFound { .. } | RegistryError::VersionNotFound { .. }) => return Ok(()),
            Err(e) => return Err(serialize(e).into()),
        };
        let info =
            K::schema().map_err(|source| SerializeError::Schema { type_name: std::any::type_name::<K>(), source })?;
        let ours = match client.lookup_cached(&subject, info, inner.normalization).await {
            Ok(id) => Some(id),
            Err(RegistryError::SchemaNotFound { .. } | RegistryError::SubjectNotFound { .. }) => None,
            Err(e) => return Err(serialize(e).into()),
        };
        if ours == Some(latest.id) {
            return Ok(());
        }
        Err(BindError::KeySchemaChanged { topic: self.topic.to_string(), subject, registered: latest.id, ours })
    }
}

/// Binds a typed topic to a producer, with options. From [`Producer::topic`].
pub struct TopicBinding<T: Topic> {
    producer: Producer,
    name: Option<String>,
    partitioners: Vec<Option<Box<dyn Any + Send + Sync>>>,
    key_hashing: KeyHashing,
    allow_key_schema_change: bool,
    _topic: PhantomData<fn() -> T>,
}

impl<T: Topic> std::fmt::Debug for TopicBinding<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicBinding")
            .field("topic", &T::NAME)
            .field("key_hashing", &self.key_hashing)
            .field("allow_key_schema_change", &self.allow_key_schema_change)
            .finish_non_exhaustive()
    }
}

impl<T: Topic> TopicBinding<T> {
    pub(crate) fn new(producer: Producer) -> TopicBinding<T> {
        TopicBinding {
            producer,
            name: None,
            partitioners: (0..T::VALUE_TYPES).map(|_| None).collect(),
            key_hashing: KeyHashing::default(),
            allow_key_schema_change: false,
            _topic: PhantomData,
        }
    }

    /// Chooses the partition of records whose value type is `V` and that have no explicit partition: it sees the
    /// typed key and value (`None` for a tombstone) and the topic's partition count, and returns a partition in
    /// `0..count`. It runs on the sending task: keep it cheap and non-blocking.
    pub fn partitioner<V: ValueOf<T>>(
        mut self,
        f: impl Fn(Option<&KeyOf<T>>, Option<&V>, i32) -> i32 + Send + Sync + 'static,
    ) -> Self {
        let f: PartitionerFn<KeyOf<T>, V> = Box::new(f);
        self.partitioners[V::INDEX] = Some(Box::new(f));
        self
    }

    /// The topic's name in this deployment, when it differs from the declaration's (e.g. an environment prefix such
    /// as `staging.orders`). Subjects follow the name used.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Which bytes of an Avro key the default partitioner hashes (default: the framed key, as Java does).
    pub fn key_hashing(mut self, hashing: KeyHashing) -> Self {
        self.key_hashing = hashing;
        self
    }

    /// Accepts a key schema whose ID differs from the one the topic's keys were written with (a new key schema
    /// version): keys then move to other partitions, and per-key order across the change is lost.
    pub fn allow_key_schema_change(mut self) -> Self {
        self.allow_key_schema_change = true;
        self
    }

    /// Resolves the key and value subjects' schema IDs and the topic's partition count.
    pub async fn bind(self) -> Result<TypedProducer<T>, BindError> {
        let inner = &self.producer.inner;
        if inner.accounting.is_closing() {
            return Err(BindError::Closed);
        }
        let topic = inner.accounting.topic(self.name.as_deref().unwrap_or(T::NAME));
        #[cfg(feature = "kafka")]
        let mut handle = None;
        let partitions = match &inner.backend {
            Backend::Mock(mock) => mock.partitions(),
            #[cfg(feature = "kafka")]
            Backend::Kafka(core) => {
                // As Java's producer waits up to max.block.ms for a topic's metadata: a topic just created may
                // take a moment to reach every broker.
                let deadline = Instant::now() + inner.config.max_block;
                let count = loop {
                    match core.partition_count(&topic, &inner.accounting).await {
                        Ok(Some(n)) => break n,
                        Ok(None) if Instant::now() >= deadline => {
                            return Err(BindError::UnknownTopic { topic: topic.to_string() });
                        }
                        Ok(None) => tokio::time::sleep(Duration::from_millis(100)).await,
                        Err(MetadataError::Security(message)) => {
                            return Err(BindError::Security { topic: topic.to_string(), message });
                        }
                        Err(MetadataError::Other(message)) => {
                            return Err(BindError::Metadata { topic: topic.to_string(), message });
                        }
                    }
                };
                let made = core.topic_handle(&topic);
                handle = Some(made.map_err(|message| BindError::Metadata { topic: topic.to_string(), message })?);
                count
            }
        };
        let binder = Binder::<T> {
            producer: self.producer.clone(),
            topic: topic.clone(),
            values: (0..T::VALUE_TYPES).map(|_| OnceLock::new()).collect(),
            key: OnceLock::new(),
            allow_key_schema_change: self.allow_key_schema_change,
            _topic: PhantomData,
        };
        <T::Key as KeyFormat>::bind_avro(&binder).await?;
        T::bind_values(&binder).await?;
        let key_id = binder.key.get().and_then(|k| <T::Key as KeyFormat>::avro_schema_id(k.as_ref()));
        Ok(TypedProducer {
            inner: Arc::new(TypedInner {
                producer: self.producer,
                awaited_topic: Arc::from(&*topic),
                topic,
                #[cfg(feature = "kafka")]
                handle,
                key: binder.key,
                values: binder.values,
                partitioners: self.partitioners,
                key_hashing: self.key_hashing,
                allow_key_schema_change: self.allow_key_schema_change,
                key_id: AtomicU64::new(key_id.map_or(NO_KEY_ID, |id| u64::from(id.0))),
                partitions: AtomicI32::new(partitions),
                partitions_read: Mutex::new(Instant::now()),
                _topic: PhantomData,
            }),
        })
    }

    /// [`bind`](Self::bind) for threads outside async code.
    pub fn bind_blocking(self) -> Result<TypedProducer<T>, BindError> {
        let runtime = self.producer.inner.runtime.clone();
        runtime.block_on(self.bind())
    }
}

struct TypedInner<T: Topic> {
    producer: Producer,
    topic: Arc<str>,
    /// The same name, for the futures of awaited records: a copy of its own, so that the sending threads, which
    /// take a reference per awaited record, and the delivery thread, which takes one per called-back record, do
    /// not write one reference count.
    awaited_topic: Arc<str>,
    /// librdkafka's handle of the topic, for the Kafka backend.
    #[cfg(feature = "kafka")]
    handle: Option<super::kafka::TopicHandle>,
    key: Slot,
    values: Vec<Slot>,
    partitioners: Vec<Option<Box<dyn Any + Send + Sync>>>,
    key_hashing: KeyHashing,
    allow_key_schema_change: bool,
    /// The schema ID the topic's Avro keys are framed with ([`NO_KEY_ID`]: none).
    key_id: AtomicU64,
    partitions: AtomicI32,
    partitions_read: Mutex<Instant>,
    _topic: PhantomData<fn() -> T>,
}

const NO_KEY_ID: u64 = u64::MAX;

/// How often a producer with its own partitioning (custom partitioner, Avro body hashing) re-reads the partition
/// count, as Java's `metadata.max.age.ms` would.
const PARTITIONS_MAX_AGE: Duration = Duration::from_secs(60);

/// Sends the records of the typed topic `T`: keys of `T`'s key type, values of `T`'s value types (anything else
/// does not compile, and the message names the topic). Cheap to clone (an `Arc` inside); from
/// [`Producer::bind`].
pub struct TypedProducer<T: Topic> {
    inner: Arc<TypedInner<T>>,
}

impl<T: Topic> Clone for TypedProducer<T> {
    fn clone(&self) -> Self {
        TypedProducer { inner: self.inner.clone() }
    }
}

impl<T: Topic> std::fmt::Debug for TypedProducer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedProducer")
            .field("topic", &self.inner.topic)
            .field("partitions", &self.inner.partitions.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The key and value buffers of the last record this thread handed to librdkafka, which copies the bytes:
    /// reused so that the steady state allocates no buffers per record.
    static KEY_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    static VALUE_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Buffers larger than this are not kept for reuse (one huge record should not pin its memory).
const MAX_POOLED: usize = 64 * 1024;

fn pooled(slot: &'static std::thread::LocalKey<std::cell::Cell<Vec<u8>>>) -> Vec<u8> {
    slot.take()
}

fn recycle(slot: &'static std::thread::LocalKey<std::cell::Cell<Vec<u8>>>, buf: Option<Vec<u8>>) {
    if let Some(mut buf) = buf
        && buf.capacity() <= MAX_POOLED
    {
        buf.clear();
        slot.set(buf);
    }
}

/// A record's bytes and where it goes, before it takes its share of the byte budget.
struct Encoded {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    key_id: Option<SchemaId>,
    value_id: Option<SchemaId>,
    partition: Option<i32>,
    size: u32,
}

/// The result of the awaited and blocking sends: refused before enqueue (with the record), or not delivered.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ProduceError<K, V> {
    /// Refused before it was enqueued; the record is in the error.
    #[error(transparent)]
    Refused(SendError<K, V>),
    /// Enqueued, then not delivered.
    #[error(transparent)]
    NotDelivered(DeliveryError),
}

impl<K, V> std::fmt::Debug for ProduceError<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProduceError::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
            ProduceError::NotDelivered(e) => f.debug_tuple("NotDelivered").field(e).finish(),
        }
    }
}

impl<K, V> ProduceError<K, V> {
    /// Whether sending the same record again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ProduceError::Refused(e) => e.is_retriable(),
            ProduceError::NotDelivered(e) => e.is_retriable(),
        }
    }

    /// The record, when it was refused before enqueue.
    pub fn into_record(self) -> Option<Record<K, V>> {
        match self {
            ProduceError::Refused(e) => Some(e.into_record()),
            ProduceError::NotDelivered(_) => None,
        }
    }
}

impl<K, V> From<SendError<K, V>> for ProduceError<K, V> {
    fn from(e: SendError<K, V>) -> Self {
        ProduceError::Refused(e)
    }
}

impl<K, V> From<DeliveryError> for ProduceError<K, V> {
    fn from(e: DeliveryError) -> Self {
        ProduceError::NotDelivered(e)
    }
}

/// The outcome of an enqueued record, to await when it is wanted: [`RecordMetadata`] or a [`DeliveryError`].
/// Dropping it does not cancel the record, which is still delivered; only its result is discarded.
#[must_use = "dropping a Delivery discards the outcome (the record is still delivered)"]
#[derive(Debug)]
pub struct Delivery {
    topic: Arc<str>,
    /// Shared with the batching core, which reports into it.
    slot: SlotRef,
}

impl Delivery {
    /// The producer's sequence number for the record (as [`CloseReport`](super::CloseReport) lists it).
    pub fn record_id(&self) -> u64 {
        self.slot.record_id()
    }
}

impl Future for Delivery {
    type Output = Result<RecordMetadata, DeliveryError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.slot.poll_outcome(cx, &self.topic)
    }
}

impl<T: Topic> TypedProducer<T> {
    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The producer this topic is bound to.
    pub fn producer(&self) -> &Producer {
        &self.inner.producer
    }

    /// The topic's partition count, as last read.
    pub fn partitions(&self) -> i32 {
        self.inner.partitions.load(Ordering::Relaxed)
    }

    /// The partition Java's default partitioner gives `key` on this topic: murmur2 of the serialized key (the
    /// Confluent frame included for an Avro key, unless [`KeyHashing::AvroBody`]).
    pub fn partition_for(&self, key: &KeyOf<T>) -> Result<i32, SerializeError> {
        let mut buf = Vec::new();
        self.encode_key(key, &mut buf)?;
        Ok(java_partition(self.hashed(&buf), self.partitions().max(1) as u32) as i32)
    }

    fn hashed<'b>(&self, key: &'b [u8]) -> &'b [u8] {
        if self.inner.key_hashing == KeyHashing::AvroBody && <T::Key as KeyFormat>::KIND == KeyKind::Avro {
            key.get(wire::HEADER_LEN..).unwrap_or(key)
        } else {
            key
        }
    }

    #[inline]
    fn encode_key(&self, key: &KeyOf<T>, buf: &mut Vec<u8>) -> Result<Option<SchemaId>, SerializeError> {
        match <T::Key as KeyFormat>::KIND {
            KeyKind::Plain => {
                <T::Key as KeyFormat>::write_plain(key, buf);
                Ok(None)
            }
            KeyKind::Avro => match self.inner.key.get() {
                Some(encoder) => <T::Key as KeyFormat>::encode_avro(encoder.as_ref(), &self.inner.topic, key, buf),
                None => Ok(None),
            },
            KeyKind::None => Ok(None),
        }
    }

    /// Validates and encodes the key and value, and chooses the partition. Nothing is enqueued.
    fn encode<V: ValueOf<T>>(&self, record: &Record<KeyOf<T>, V>) -> Result<Encoded, SendErrorKind> {
        let inner = &self.inner;
        let (key, key_id) = match &record.key {
            Some(k) => {
                let mut buf = pooled(&KEY_BUFFER);
                let id = self.encode_key(k, &mut buf).map_err(SendErrorKind::Key)?;
                (Some(buf), id)
            }
            None => (None, None),
        };
        if let Some(id) = key_id {
            let previous = inner.key_id.load(Ordering::Relaxed);
            if previous != u64::from(id.0) && previous != NO_KEY_ID && !inner.allow_key_schema_change {
                return Err(SendErrorKind::KeySchemaChanged { previous: SchemaId(previous as u32), current: id });
            }
        }
        let (value, value_id) = match &record.value {
            Some(v) => {
                let Some(encoder) = inner.values[V::INDEX].get().and_then(|e| e.downcast_ref::<Encoder<V>>()) else {
                    return Err(SendErrorKind::Value(SerializeError::Subject {
                        topic: inner.topic.to_string(),
                        reason: "the value type is not bound".to_string(),
                    }));
                };
                let mut buf = pooled(&VALUE_BUFFER);
                let id = encoder.encode(&inner.topic, v, &mut buf).map_err(SendErrorKind::Value)?;
                (Some(buf), Some(id))
            }
            None => (None, None),
        };
        let size = key.as_ref().map_or(0, Vec::len) + value.as_ref().map_or(0, Vec::len) + record.headers.size();
        let max = inner.producer.inner.config.max_request_size as usize;
        if size > max {
            return Err(SendErrorKind::TooLarge { size, max });
        }
        let partition = match record.partition {
            Some(p) => Some(p),
            None => self.choose_partition(record, key.as_deref())?,
        };
        if let Some(p) = partition {
            let partitions = self.partitions();
            if p < 0 || p >= partitions {
                return Err(SendErrorKind::UnknownPartition { partition: p, partitions });
            }
        }
        Ok(Encoded { key, value, key_id, value_id, partition, size: size.max(1) as u32 })
    }

    /// The partition chosen on this side (custom partitioner, Avro body hashing, or the mock's murmur2); `None`
    /// leaves it to librdkafka's `murmur2_random`, which is Java's murmur2 for keys and sticky for null keys.
    fn choose_partition<V: ValueOf<T>>(
        &self,
        record: &Record<KeyOf<T>, V>,
        key: Option<&[u8]>,
    ) -> Result<Option<i32>, SendErrorKind> {
        let inner = &self.inner;
        let custom = inner.partitioners[V::INDEX].as_ref().and_then(|p| p.downcast_ref::<PartitionerFn<KeyOf<T>, V>>());
        let body_hashing = inner.key_hashing == KeyHashing::AvroBody && key.is_some();
        let mock = matches!(inner.producer.inner.backend, Backend::Mock(_));
        if custom.is_none() && !body_hashing && !mock {
            return Ok(None);
        }
        self.refresh_partitions_if_stale();
        let partitions = self.partitions().max(1);
        Ok(match (custom, key) {
            (Some(f), _) => Some(f(record.key.as_ref(), record.value.as_ref(), partitions)),
            (None, Some(key)) => Some(java_partition(self.hashed(key), partitions as u32) as i32),
            // Only the mock gets here: its null keys go to partition 0.
            (None, None) => Some(0),
        })
    }

    fn refresh_partitions_if_stale(&self) {
        #[cfg(feature = "kafka")]
        {
            let inner = &self.inner;
            let Backend::Kafka(_) = &inner.producer.inner.backend else { return };
            {
                let mut read = inner.partitions_read.lock().unwrap_or_else(|e| e.into_inner());
                if read.elapsed() < PARTITIONS_MAX_AGE {
                    return;
                }
                *read = Instant::now();
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
            let this = self.clone();
            runtime.spawn(async move {
                let Backend::Kafka(core) = &this.inner.producer.inner.backend else { return };
                match core.partition_count(&this.inner.topic, &this.inner.producer.inner.accounting).await {
                    Ok(Some(n)) => this.inner.partitions.store(n, Ordering::Relaxed),
                    Ok(None) => tracing::warn!(topic = %this.inner.topic, "topic no longer exists"),
                    Err(MetadataError::Security(e) | MetadataError::Other(e)) => {
                        tracing::warn!(topic = %this.inner.topic, error = %e, "re-reading the partition count")
                    }
                }
            });
        }
    }

    fn refuse<V>(&self, kind: SendErrorKind, record: Record<KeyOf<T>, V>) -> SendError<KeyOf<T>, V> {
        self.inner.producer.inner.accounting.refused(&kind);
        SendError::new(kind, self.inner.topic.clone(), record)
    }

    /// Every step before the batching core: interceptors, encoding, partition, the byte budget (awaited, or
    /// blocking the thread). On success the budget is held for the record. The record stays where the caller
    /// keeps it (a record is a few hundred bytes; moving it through every step cost more than encoding it).
    async fn prepare<V: ValueOf<T>>(
        &self,
        record: &mut Record<KeyOf<T>, V>,
        blocking: bool,
    ) -> Result<Encoded, SendErrorKind> {
        let encoded = self.encode_record(record)?;
        let accounting = &self.inner.producer.inner.accounting;
        if blocking {
            accounting.reserve_blocking(encoded.size)?
        } else {
            accounting.reserve(encoded.size).await?
        }
        Ok(encoded)
    }

    /// The interceptors, then validation, encoding and the partition.
    fn encode_record<V: ValueOf<T>>(&self, record: &mut Record<KeyOf<T>, V>) -> Result<Encoded, SendErrorKind> {
        self.check_open()?;
        self.inner.producer.inner.accounting.on_send(&self.inner.topic, &mut record.headers);
        self.encode(record)
    }

    fn check_open(&self) -> Result<(), SendErrorKind> {
        let accounting = &self.inner.producer.inner.accounting;
        if accounting.is_closing() {
            return Err(SendErrorKind::Closed);
        }
        self.inner.producer.check_fatal();
        if let Some(reason) = accounting.fatal() {
            return Err(SendErrorKind::Fatal(reason));
        }
        Ok(())
    }

    /// Hands a prepared record to the batching core with its completion; returns the sender's handle.
    fn hand_over<V: ValueOf<T>, C: Completion>(
        &self,
        encoded: Encoded,
        record: Record<KeyOf<T>, V>,
        completion: C,
    ) -> Result<C::Handle, SendError<KeyOf<T>, V>> {
        let producer = &self.inner.producer.inner;
        let accounting = &producer.accounting;
        let meta = Meta {
            record_id: accounting.issue(),
            bytes: encoded.size,
            key_size: encoded.key.as_ref().map(|k| k.len() as u32),
            value_size: encoded.value.as_ref().map(|v| v.len() as u32),
            key_schema_id: encoded.key_id,
            value_schema_id: encoded.value_id,
            leased: false,
        };
        match &producer.backend {
            #[cfg(feature = "kafka")]
            Backend::Kafka(core) => {
                use super::kafka::Opaque;
                // A record nobody waits for, without headers (its budget bytes are then its key and value, which
                // the delivery report carries), on a producer without interceptors: librdkafka carries its ID.
                let quiet = record.headers.is_empty() && accounting.quiet() && meta.record_id <= Opaque::MAX_QUIET_ID;
                let wire = super::kafka::Wire {
                    topic: &self.inner.topic,
                    handle: self.inner.handle.as_ref(),
                    key: encoded.key.as_deref(),
                    value: encoded.value.as_deref(),
                    partition: encoded.partition,
                    timestamp: record.timestamp,
                    headers: &record.headers,
                };
                let enqueued =
                    core.enqueue(wire, |leased| match quiet.then(|| completion.quietly(meta.record_id)).flatten() {
                        Some(handle) => (Opaque::Quiet { id: meta.record_id, leased }, handle),
                        None => {
                            let (pending, handle) = completion.pending(Meta { leased, ..meta });
                            (Opaque::Pending(pending), handle)
                        }
                    });
                // librdkafka or the value arena copied the bytes: the buffers serve the next record on this thread.
                recycle(&KEY_BUFFER, encoded.key);
                recycle(&VALUE_BUFFER, encoded.value);
                match enqueued {
                    Ok(handle) => Ok(handle),
                    Err((kind, _)) => {
                        accounting.not_enqueued(meta.bytes);
                        Err(self.refuse(kind, record))
                    }
                }
            }
            Backend::Mock(mock) => {
                let bytes = super::mock::MockBytes {
                    topic: self.inner.topic.clone(),
                    topic_type: std::any::TypeId::of::<T>(),
                    partition: encoded.partition.unwrap_or(0),
                    key: encoded.key,
                    value: encoded.value,
                };
                let (pending, handle) = completion.pending(meta);
                mock.accept(accounting, pending, bytes, record);
                Ok(handle)
            }
        }
    }

    /// Every step of a send up to the batching core: [`prepare`](Self::prepare), then the hand-over with
    /// `completion`. A refusal gives the record back (and drops `completion` unrun).
    async fn submit<V: ValueOf<T>, C: Completion>(
        &self,
        mut record: Record<KeyOf<T>, V>,
        completion: C,
        blocking: bool,
    ) -> Result<C::Handle, SendError<KeyOf<T>, V>> {
        match self.prepare(&mut record, blocking).await {
            Ok(encoded) => self.hand_over(encoded, record, completion),
            Err(kind) => Err(self.refuse(kind, record)),
        }
    }

    /// Two-phase send: validates, encodes and enqueues the record (waiting up to `max.block.ms` for the byte
    /// budget), and returns its [`Delivery`] to await later. Errors before enqueue come back now, with the record.
    ///
    /// Dropping this future before it completes sends nothing; dropping the returned `Delivery` does not stop
    /// the record.
    pub async fn enqueue<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<Delivery, SendError<KeyOf<T>, V>> {
        let slot = self.submit(record, Await(&self.inner.producer.inner.awaited), false).await?;
        Ok(Delivery { topic: self.inner.awaited_topic.clone(), slot })
    }

    /// Sends a record and waits for the broker's acknowledgement (or the delivery timeout).
    pub async fn send<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<RecordMetadata, ProduceError<KeyOf<T>, V>> {
        Ok(self.enqueue(record).await?.await?)
    }

    /// Fire-and-forget: enqueues the record without a per-record future. Errors before enqueue come back now;
    /// delivery failures reach only the metrics and the interceptors.
    pub async fn send_and_forget<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<u64, SendError<KeyOf<T>, V>> {
        self.submit(record, Forget, false).await
    }

    /// Enqueues the record and runs `callback` with its outcome, on the producer's delivery thread (keep it short;
    /// a panic in it is caught and logged). Errors before enqueue come back now and the callback is not run.
    pub async fn send_with<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
        callback: impl FnOnce(Result<RecordMetadata, DeliveryError>) + Send + 'static,
    ) -> Result<u64, SendError<KeyOf<T>, V>> {
        self.submit(record, Call(Callback::new(callback), &self.inner.producer.inner.called), false).await
    }

    /// [`send`](Self::send) for threads outside async code: blocks the calling thread until the record is
    /// acknowledged or failed (waiting up to `max.block.ms` for the byte budget first). It needs no async runtime;
    /// on an async runtime's thread use `send(..).await` instead, as blocking there stalls other tasks.
    pub fn send_blocking<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<RecordMetadata, ProduceError<KeyOf<T>, V>> {
        let delivery = super::block_on_until(
            async {
                let slot = self.submit(record, Await(&self.inner.producer.inner.awaited), true).await?;
                Ok::<_, SendError<KeyOf<T>, V>>(Delivery { topic: self.inner.awaited_topic.clone(), slot })
            },
            None,
        );
        match delivery {
            Some(Ok(delivery)) => match super::block_on_until(delivery, None) {
                Some(result) => Ok(result?),
                None => unreachable!("waits without a deadline"),
            },
            Some(Err(refused)) => Err(refused.into()),
            None => unreachable!("waits without a deadline"),
        }
    }
}
