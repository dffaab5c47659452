//! Binding a typed topic to a producer: its partition count, its sink in the batching core, its key encoder and
//! the lane of each value type (subjects resolved or registered), after which a send does no I/O before the
//! batching core. Binding runs on the producer's tokio runtime (the registry client needs one), so it may be
//! awaited from any executor.

use std::any::{Any, TypeId};
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicI32;

use typed_kafka_avro::KafkaRecord;
use typed_kafka_registry::client::Version;
use typed_kafka_registry::{
    AvroSerializer, RecordPart, RegisteredRulesPolicy, RegistryError, SchemaMode, SerializeError, SerializerConfig,
    SubjectNameStrategy,
};

use super::client::{Producer, Schemas};
use super::dead_letter::{DeadLetter, DeadLetters};
use super::encode::{Encoder, PartitionerFn, ValueLane};
use super::error::BindError;
use super::executor;
use super::route::KeyHashing;
use super::transport::MetadataError;
use super::typed::{Bound, TypedProducer};
use crate::subject::{key_subject, value_strategy};
use crate::topic::{Bind, KeyFormat, KeyOf, Topic, ValueOf};

impl Producer {
    /// Binds a typed topic with the default options: resolves its key and value subjects' schema IDs (registering
    /// them in [`SchemaMode::AutoRegister`]) and reads its partition count. After this, sending does no I/O
    /// before the batching core.
    pub async fn bind<T: Topic>(&self, topic: T) -> Result<TypedProducer<T>, BindError> {
        self.topic(topic).bind().await
    }

    /// Binds a typed topic with options (custom partitioner, key hashing, key schema changes).
    pub fn topic<T: Topic>(&self, _topic: T) -> TopicBinding<T> {
        TopicBinding {
            producer: self.clone(),
            name: None,
            partitioners: (0..T::VALUE_TYPES).map(|_| None).collect(),
            key_hashing: KeyHashing::default(),
            allow_key_schema_change: false,
            dead_letter_topic: None,
            registered_rules: RegisteredRulesPolicy::default(),
            _topic: PhantomData,
        }
    }
}

/// Binds a typed topic to a producer, with options. From [`Producer::topic`].
pub struct TopicBinding<T: Topic> {
    producer: Producer,
    name: Option<String>,
    /// Each value type's custom partitioner, by its index (a `PartitionerFn<KeyOf<T>, V>`; taken out once, at bind).
    partitioners: Vec<Option<Box<dyn Any + Send + Sync>>>,
    key_hashing: KeyHashing,
    allow_key_schema_change: bool,
    dead_letter_topic: Option<String>,
    registered_rules: RegisteredRulesPolicy,
    _topic: PhantomData<fn() -> T>,
}

impl<T: Topic> std::fmt::Debug for TopicBinding<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicBinding")
            .field("topic", &T::NAME)
            .field("key_hashing", &self.key_hashing)
            .field("allow_key_schema_change", &self.allow_key_schema_change)
            .field("dead_letter_topic", &self.dead_letter_topic)
            .field("registered_rules", &self.registered_rules)
            .finish_non_exhaustive()
    }
}

impl<T: Topic> TopicBinding<T> {
    /// Chooses the partition of records whose value type is `V` and that have no explicit partition: it sees the
    /// typed key and value (`None` for a tombstone) and the topic's partition count as the producer last read it
    /// (refreshed every `metadata.max.age.ms`), and returns a partition in `0..count`. It runs on the sending task:
    /// keep it cheap and non-blocking.
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

    /// Also writes each record refused for breaking a data-contract rule to `topic`, as Confluent's `DLQ` rule
    /// action does: its key, its value in Avro's JSON encoding, its headers and Confluent's `__rule.*` headers (see
    /// [`dead_letter`](super::dead_letter)). The record is still refused and handed back to the caller. The
    /// topic must exist when binding; records refused for any other reason are not written to it.
    pub fn dead_letter_topic(mut self, topic: impl Into<String>) -> Self {
        self.dead_letter_topic = Some(topic.into());
        self
    }

    /// What to do with data-contract rules that a registered schema used with [`SchemaMode::UseLatest`] or
    /// [`SchemaMode::PinnedId`] carries and the key or value type does not (default
    /// [`RegisteredRulesPolicy::Enforce`]: run them after the type's own rules, and refuse to bind if one cannot
    /// be evaluated; [`RegisteredRulesPolicy::Ignore`]: leave them to other clients).
    pub fn registered_rules(mut self, policy: RegisteredRulesPolicy) -> Self {
        self.registered_rules = policy;
        self
    }

    /// Resolves the key and value subjects' schema IDs and the topic's partition count, waiting up to
    /// `max.block.ms` for the topic's metadata (a topic just created may take a moment to reach every broker).
    pub async fn bind(self) -> Result<TypedProducer<T>, BindError> {
        let runtime = self.producer.inner.runtime.clone();
        match runtime.run(self.bind_on_runtime()).await {
            Some(bound) => bound,
            None => Err(BindError::Metadata {
                topic: T::NAME.to_string(),
                message: "the producer's runtime shut down while binding".to_string(),
            }),
        }
    }

    /// [`bind`](Self::bind) for threads outside async code.
    pub fn bind_blocking(self) -> Result<TypedProducer<T>, BindError> {
        let runtime = self.producer.inner.runtime.clone();
        runtime.block_on(self.bind())
    }

    async fn bind_on_runtime(self) -> Result<TypedProducer<T>, BindError> {
        let inner = self.producer.inner.clone();
        if inner.accounting.is_closing() {
            return Err(BindError::Closed);
        }
        if let Some((code, reason)) = inner.accounting.fatal() {
            return Err(BindError::Fatal { code, reason });
        }
        let (topic_index, topic) = inner.accounting.topic(self.name.as_deref().unwrap_or(T::NAME));
        let partitions = partition_count(&self.producer, &topic).await?;
        let sink = inner
            .transport
            .sink(&topic, TypeId::of::<T>())
            .map_err(|message| BindError::InvalidTopic { topic: topic.to_string(), message })?;
        let mut binder = Binder::<T> {
            producer: self.producer.clone(),
            topic: topic.clone(),
            partitioners: self.partitioners,
            allow_key_schema_change: self.allow_key_schema_change,
            registered_rules: self.registered_rules,
            _topic: PhantomData,
        };
        let dead_letters = match &self.dead_letter_topic {
            Some(name) if **name == *topic => {
                let message = "a topic cannot be its own dead-letter topic".to_string();
                return Err(BindError::InvalidTopic { topic: name.clone(), message });
            }
            Some(name) => {
                let (topic_index, dead) = inner.accounting.topic(name);
                partition_count(&self.producer, &dead).await?;
                let sink = inner
                    .transport
                    .sink(&dead, TypeId::of::<DeadLetter>())
                    .map_err(|message| BindError::InvalidTopic { topic: name.clone(), message })?;
                Some(DeadLetters { topic: dead, topic_index, sink })
            }
            None => None,
        };
        let key = <T::Key as KeyFormat>::bind(&mut binder).await?;
        let lanes = T::bind_lanes(&mut binder).await?;
        let partitions = Arc::new(AtomicI32::new(partitions));
        inner.transport.watch(topic.clone(), Arc::downgrade(&partitions));
        Ok(TypedProducer::new(Bound {
            producer: self.producer,
            topic,
            topic_index,
            sink,
            key,
            lanes,
            key_hashing: self.key_hashing,
            allow_key_schema_change: self.allow_key_schema_change,
            partitions,
            dead_letters,
        }))
    }
}

/// The topic's partition count, waiting up to `max.block.ms` for its metadata, as Java's producer does (on a thread
/// of its own: the transport's read blocks).
async fn partition_count(producer: &Producer, topic: &Arc<str>) -> Result<i32, BindError> {
    let inner = &producer.inner;
    let (transport, name, max_block) = (inner.transport.clone(), topic.clone(), inner.config.max_block);
    let read = executor::off_thread("typed-kafka-bind", move || transport.partition_count(&name, max_block)).await;
    let topic = topic.to_string();
    match read {
        Some(Ok(Some(n))) => Ok(n),
        Some(Ok(None)) => Err(BindError::UnknownTopic { topic }),
        Some(Err(MetadataError::Security(message))) => Err(BindError::Security { topic, message }),
        Some(Err(MetadataError::Other(message))) => Err(BindError::Metadata { topic, message }),
        None => Err(BindError::Metadata { topic, message: "reading the topic's metadata failed".to_string() }),
    }
}

/// Resolves the subjects of a topic's key and value types while it is being bound (the code
/// [`topic!`](crate::topic!) generates calls it through [`Bind`]; not for direct use).
#[doc(hidden)]
pub struct Binder<T: Topic> {
    producer: Producer,
    topic: Arc<str>,
    partitioners: Vec<Option<Box<dyn Any + Send + Sync>>>,
    allow_key_schema_change: bool,
    registered_rules: RegisteredRulesPolicy,
    _topic: PhantomData<fn() -> T>,
}

impl<T: Topic> Bind for Binder<T> {
    type Topic = T;

    async fn value_lane<V: ValueOf<T>>(&mut self) -> Result<ValueLane<KeyOf<T>, V>, BindError> {
        let strategy = value_strategy(T::VALUE_TYPES);
        let mode = match &self.producer.inner.schemas {
            Schemas::Registry { mode, .. } => *mode,
            Schemas::Local(_) => SchemaMode::AutoRegister,
        };
        let encoder = self.encoder::<V>(strategy, RecordPart::Value, mode).await?;
        // The one downcast of a partitioner: it was stored for this type's index, as this type's function.
        let partitioner = self.partitioners[V::INDEX]
            .take()
            .and_then(|p| p.downcast::<PartitionerFn<KeyOf<T>, V>>().ok())
            .map(|p| *p);
        Ok(ValueLane::new(encoder, partitioner))
    }

    async fn avro_key<K: KafkaRecord + Send + Sync + 'static>(&mut self) -> Result<Encoder<K>, BindError> {
        let mode = match &self.producer.inner.schemas {
            Schemas::Registry { mode: SchemaMode::PinnedId(_), .. } | Schemas::Local(_) => SchemaMode::AutoRegister,
            Schemas::Registry { mode, .. } => *mode,
        };
        if !self.allow_key_schema_change {
            self.check_key_subject::<K>().await?;
        }
        self.encoder::<K>(SubjectNameStrategy::TopicName, RecordPart::Key, mode).await
    }
}

impl<T: Topic> Binder<T> {
    async fn encoder<V: KafkaRecord + Send + Sync + 'static>(
        &self,
        strategy: SubjectNameStrategy,
        part: RecordPart,
        mode: SchemaMode,
    ) -> Result<Encoder<V>, BindError> {
        match &self.producer.inner.schemas {
            Schemas::Local(ids) => {
                let info = V::schema()
                    .map_err(|source| SerializeError::Schema { type_name: std::any::type_name::<V>(), source })?;
                let subject = strategy
                    .subject(&self.topic, part, info.full_name().as_deref())
                    .map_err(|reason| SerializeError::Subject { topic: self.topic.to_string(), reason })?;
                let mut ids = ids.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let next = typed_kafka_avro::SchemaId(ids.len() as u32 + 1);
                Ok(Encoder::Pinned(*ids.entry((subject, info.fingerprint())).or_insert(next)))
            }
            Schemas::Registry { client, normalization, .. } => {
                let config = SerializerConfig {
                    strategy,
                    mode,
                    part,
                    normalization: *normalization,
                    registered_rules: self.registered_rules,
                };
                let serializer = AvroSerializer::<V>::new(client.clone(), config)?;
                Ok(Encoder::Registry(serializer.bind(&self.topic).await?))
            }
        }
    }

    /// Refuses a key type whose schema is not the key subject's latest: its keys would hash elsewhere.
    async fn check_key_subject<K: KafkaRecord>(&self) -> Result<(), BindError> {
        let Schemas::Registry { client, normalization, .. } = &self.producer.inner.schemas else { return Ok(()) };
        let subject = key_subject(&self.topic);
        let serialize =
            |source| SerializeError::Registry { topic: self.topic.to_string(), subject: subject.clone(), source };
        let latest = match client.version(&subject, Version::Latest).await {
            Ok(latest) => latest,
            Err(RegistryError::SubjectNotFound { .. } | RegistryError::VersionNotFound { .. }) => return Ok(()),
            Err(e) => return Err(serialize(e).into()),
        };
        let info =
            K::schema().map_err(|source| SerializeError::Schema { type_name: std::any::type_name::<K>(), source })?;
        let ours = match client.lookup_cached(&subject, info, *normalization).await {
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
