//! A producer without a broker or a registry, for users' unit tests: the same [`TypedProducer`] API, records
//! validated and encoded as the real producer does them, partitioned with Java's murmur2, delivered at once or
//! failed as scripted, and a typed history of what was sent.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use typed_kafka_avro::SchemaId;

use super::accounting::Accounting;
use super::error::{BindError, DeliveryErrorKind};
use super::pending::{Outcome, Pending, SlotSource};
use super::typed::KeyOf;
use super::{Backend, Inner, Producer, RuntimeHandle, TopicBinding, TypedProducer};
use crate::config::ProducerConfig;
use crate::record::{Record, Timestamp};
use crate::topic::{Topic, ValueOf};

/// What the mock does with the next record it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockOutcome {
    /// Deliver it (the default when nothing is scripted).
    Deliver,
    /// Fail its delivery with this kind.
    Fail(DeliveryErrorKind),
}

/// A record the mock accepted.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sent<K, V> {
    /// The record as it was handed to `send` (after the interceptors).
    pub record: Arc<Record<K, V>>,
    /// The partition it was given.
    pub partition: i32,
    /// Its offset, if it was delivered.
    pub offset: Option<i64>,
    /// The serialized key (framed for an Avro key), as the broker would have received it.
    pub key_bytes: Option<Vec<u8>>,
    /// The serialized value, framed.
    pub value_bytes: Option<Vec<u8>>,
}

struct Entry {
    topic_type: TypeId,
    partition: i32,
    offset: Option<i64>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    record: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct State {
    history: Vec<Entry>,
    script: VecDeque<MockOutcome>,
    offsets: HashMap<(Arc<str>, i32), i64>,
    ids: HashMap<(String, u64), SchemaId>,
}

/// What the mock keeps of a record's bytes and destination.
pub(crate) struct MockBytes {
    pub(crate) topic: Arc<str>,
    pub(crate) topic_type: TypeId,
    pub(crate) partition: i32,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
}

pub(crate) struct MockCore {
    partitions: i32,
    state: Mutex<State>,
}

impl MockCore {
    pub(crate) fn partitions(&self) -> i32 {
        self.partitions
    }

    /// A schema ID for `subject`'s schema with this fingerprint, stable for the mock's life.
    pub(crate) fn schema_id(&self, subject: &str, fingerprint: u64) -> SchemaId {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = SchemaId(state.ids.len() as u32 + 1);
        *state.ids.entry((subject.to_string(), fingerprint)).or_insert(next)
    }

    pub(crate) fn accept<K: Send + Sync + 'static, V: Send + Sync + 'static>(
        &self,
        accounting: &Accounting,
        pending: Pending,
        bytes: MockBytes,
        record: Record<K, V>,
    ) {
        let MockBytes { topic, topic_type, partition, key, value } = bytes;
        let timestamp = record.timestamp;
        let outcome = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let (offset, outcome) = match state.script.pop_front().unwrap_or(MockOutcome::Deliver) {
                MockOutcome::Deliver => {
                    let next = state.offsets.entry((topic.clone(), partition)).or_insert(0);
                    let offset = *next;
                    *next += 1;
                    let timestamp = Timestamp::CreateTime(timestamp.unwrap_or_else(now_millis));
                    (Some(offset), Outcome::Delivered { partition, offset: Some(offset), timestamp: Some(timestamp) })
                }
                MockOutcome::Fail(kind) => {
                    let retriable = kind == DeliveryErrorKind::TimedOut;
                    let message = format!("scripted failure: {kind:?}");
                    (None, Outcome::Failed { partition: Some(partition), kind, message, retriable })
                }
            };
            state.history.push(Entry { topic_type, partition, offset, key, value, record: Arc::new(record) });
            outcome
        };
        accounting.complete(pending, outcome, || &topic);
    }
}

/// Kafka 4's defaults, for a mock (the bootstrap address is never used).
fn default_config() -> ProducerConfig {
    ProducerConfig::builder("mock:9092").build().unwrap_or_else(|_| unreachable!("the default configuration is valid"))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A producer for unit tests: no broker, no registry, the same [`TypedProducer`] API.
///
/// ```
/// use typed_kafka::{KafkaRecord, MockProducer, MockOutcome, Record, producer::DeliveryErrorKind};
///
/// #[derive(KafkaRecord, Debug, PartialEq)]
/// struct Order { id: String, total_cents: i64 }
/// typed_kafka::topic! { pub ORDERS: "orders", key: String, value: Order; }
///
/// # tokio_test(async {
/// let mock = MockProducer::new(6);
/// let orders = mock.bind(ORDERS).await?;
/// let meta = orders.send(Record::new(Order { id: "o-1".into(), total_cents: 5 }).key("c-1".into())).await?;
/// assert_eq!(meta.offset, Some(0));
/// mock.script(MockOutcome::Fail(DeliveryErrorKind::TimedOut));
/// assert!(orders.send(Record::new(Order { id: "o-2".into(), total_cents: 6 })).await.is_err());
/// let sent = mock.history::<ORDERS, Order>();
/// assert_eq!(sent.len(), 2);
/// assert_eq!(sent[0].record.value.as_ref().map(|o| o.id.as_str()), Some("o-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(()) });
/// # fn tokio_test<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MockProducer {
    producer: Producer,
}

impl MockProducer {
    /// A mock whose topics all have `partitions` partitions (at least 1), with Kafka 4's default configuration.
    pub fn new(partitions: i32) -> MockProducer {
        Self::build(default_config(), Vec::new(), partitions)
    }

    /// A mock with this configuration (its `max.request.size`, `buffer.memory` and `max.block.ms` apply).
    pub fn with_config(config: ProducerConfig, partitions: i32) -> MockProducer {
        Self::build(config, Vec::new(), partitions)
    }

    fn build(config: ProducerConfig, interceptors: Vec<Arc<dyn super::Interceptor>>, partitions: i32) -> MockProducer {
        let accounting = Arc::new(Accounting::new(&config, interceptors));
        let core = MockCore { partitions: partitions.max(1), state: Mutex::new(State::default()) };
        let runtime = RuntimeHandle::current_or_own().unwrap_or_else(|_| unreachable!("a runtime starts"));
        MockProducer {
            producer: Producer {
                inner: Arc::new(Inner {
                    config,
                    registry: None,
                    mode: Default::default(),
                    normalization: Default::default(),
                    accounting,
                    backend: Backend::Mock(core),
                    runtime,
                    awaited: SlotSource::default(),
                    called: SlotSource::default(),
                }),
            },
        }
    }

    /// A mock with interceptors.
    pub fn with_interceptors(partitions: i32, interceptors: Vec<Arc<dyn super::Interceptor>>) -> MockProducer {
        Self::build(default_config(), interceptors, partitions)
    }

    /// The producer behind the mock (for code that takes a [`Producer`]).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Binds a typed topic, as [`Producer::bind`].
    pub async fn bind<T: Topic>(&self, topic: T) -> Result<TypedProducer<T>, BindError> {
        self.producer.bind(topic).await
    }

    /// Binds a typed topic with options, as [`Producer::topic`].
    pub fn topic<T: Topic>(&self, topic: T) -> TopicBinding<T> {
        self.producer.topic(topic)
    }

    /// Scripts the outcome of the next record accepted (outcomes queue up in order).
    pub fn script(&self, outcome: MockOutcome) {
        self.core().state.lock().unwrap_or_else(|e| e.into_inner()).script.push_back(outcome);
    }

    fn core(&self) -> &MockCore {
        match &self.producer.inner.backend {
            Backend::Mock(core) => core,
            #[cfg(feature = "kafka")]
            Backend::Kafka(_) => unreachable!("a mock producer has the mock backend"),
        }
    }

    /// The records sent to topic `T` (under whatever name it was bound) with value type `V`, in order, delivered
    /// or failed.
    pub fn history<T: Topic, V: ValueOf<T>>(&self) -> Vec<Sent<KeyOf<T>, V>> {
        let state = self.core().state.lock().unwrap_or_else(|e| e.into_inner());
        state
            .history
            .iter()
            .filter(|e| e.topic_type == TypeId::of::<T>())
            .filter_map(|e| {
                let record = e.record.clone().downcast::<Record<KeyOf<T>, V>>().ok()?;
                Some(Sent {
                    record,
                    partition: e.partition,
                    offset: e.offset,
                    key_bytes: e.key.clone(),
                    value_bytes: e.value.clone(),
                })
            })
            .collect()
    }

    /// Forgets the history.
    pub fn clear(&self) {
        self.core().state.lock().unwrap_or_else(|e| e.into_inner()).history.clear();
    }
}
