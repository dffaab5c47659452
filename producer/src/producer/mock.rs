//! A producer without a broker or a registry, for users' unit tests: the same [`TypedProducer`] API over a second
//! [`Transport`], records validated and encoded as the real producer does them, partitioned with Java's murmur2,
//! delivered at once or failed as scripted, and a typed history of what was sent.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use super::accounting::{Accounting, Interceptor};
use super::bind::TopicBinding;
use super::client::{Producer, Schemas};
use super::completion::{Failure, Outcome};
use super::dead_letter::DeadLetter;
use super::error::{BindError, DeliveryErrorKind, ErrorCode, SendErrorKind};
use super::executor::RuntimeHandle;
use super::report::report;
use super::transaction::TransactionErrorKind;
use super::transport::{Keep, MetadataError, Outgoing, Sink, Transport, TxnCall, TxnClass, TxnFailure};
use super::typed::TypedProducer;
use crate::config::ProducerConfig;
use crate::partition::java_partition;
use crate::record::{Record, Timestamp};
use crate::topic::{KeyOf, Topic, ValueOf};

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
    /// The transaction it was sent in (its index in [`MockProducer::transactions`]) and where that stands now;
    /// `None` for a producer that is not transactional.
    pub transaction: Option<(usize, MockTransactionState)>,
}

/// Where a transaction of a transactional mock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockTransactionState {
    /// Begun, not yet committed or aborted.
    Open,
    /// Committed.
    Committed,
    /// Aborted.
    Aborted,
}

/// A transaction of a transactional mock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockTransaction {
    /// Where it stands.
    pub state: MockTransactionState,
    /// The records sent in it.
    pub records: usize,
    /// The consumer positions sent in it: (group, topic, partition, next offset to read).
    pub offsets: Vec<(String, Arc<str>, i32, i64)>,
}

struct Entry {
    topic_type: TypeId,
    partition: i32,
    offset: Option<i64>,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    record: Arc<dyn Any + Send + Sync>,
    transaction: Option<usize>,
}

#[derive(Default)]
struct State {
    history: Vec<Entry>,
    script: VecDeque<MockOutcome>,
    offsets: HashMap<(Arc<str>, i32), i64>,
    transactions: Vec<MockTransaction>,
    /// The open transaction.
    open: Option<usize>,
    /// How the next commit fails, when scripted.
    commit_failure: Option<TransactionErrorKind>,
}

/// The mock's batching core: every topic has the same partition count; records are reported before `send`
/// returns.
struct MockTransport {
    partitions: i32,
    state: Arc<Mutex<State>>,
    accounting: Arc<Accounting>,
}

impl Transport for MockTransport {
    fn sink(&self, topic: &Arc<str>, declared: TypeId) -> Result<Box<dyn Sink>, String> {
        Ok(Box::new(MockSink {
            topic: topic.clone(),
            declared,
            partitions: self.partitions,
            state: self.state.clone(),
            accounting: self.accounting.clone(),
        }))
    }

    fn partition_count(&self, _topic: &str, _timeout: Duration) -> Result<Option<i32>, MetadataError> {
        Ok(Some(self.partitions))
    }

    fn watch(&self, _topic: Arc<str>, _partitions: Weak<AtomicI32>) {}

    fn flush(&self, _timeout: Duration) {}

    fn purge(&self) {}

    fn check_fatal(&self) {}

    fn transaction(&self, call: TxnCall) -> Result<(), TxnFailure> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let open = state.open;
        let state = &mut *state;
        match (call, open) {
            (TxnCall::Init(_), _) => Ok(()),
            (TxnCall::Begin, None) => {
                state.transactions.push(MockTransaction {
                    state: MockTransactionState::Open,
                    records: 0,
                    offsets: Vec::new(),
                });
                state.open = Some(state.transactions.len() - 1);
                Ok(())
            }
            (TxnCall::SendOffsets(o, _), Some(i)) => {
                let group = o.group_id;
                let positions = o.positions.into_iter().map(|(t, p, next)| (group.clone(), t, p, next));
                state.transactions[i].offsets.extend(positions);
                Ok(())
            }
            (TxnCall::Commit(_), Some(i)) => {
                if let Some(kind) = state.commit_failure.take() {
                    let class = match kind {
                        TransactionErrorKind::Retriable => TxnClass::Retriable,
                        TransactionErrorKind::Abortable => TxnClass::Abortable,
                        TransactionErrorKind::State => TxnClass::State,
                        _ => TxnClass::Fatal,
                    };
                    let code = (kind == TransactionErrorKind::Fenced).then(|| ErrorCode::new(-144));
                    return Err(TxnFailure { class, code, message: format!("scripted commit failure: {kind:?}") });
                }
                state.transactions[i].state = MockTransactionState::Committed;
                state.open = None;
                Ok(())
            }
            (TxnCall::Abort(_), Some(i)) => {
                state.transactions[i].state = MockTransactionState::Aborted;
                state.open = None;
                Ok(())
            }
            (_, _) => Err(TxnFailure {
                class: TxnClass::State,
                code: None,
                message: "the call does not fit the mock's transaction state".into(),
            }),
        }
    }

    fn shut_down(&self) {}
}

struct MockSink {
    topic: Arc<str>,
    declared: TypeId,
    partitions: i32,
    state: Arc<Mutex<State>>,
    accounting: Arc<Accounting>,
}

impl Sink for MockSink {
    fn send(&self, record: Outgoing<'_>, keep: Keep<'_>) -> Result<(), SendErrorKind> {
        // As librdkafka's murmur2_random partitioner: the key's murmur2; records without a key go to partition 0.
        let partition = match (record.partition, record.key) {
            (Some(p), _) if p >= self.partitions => {
                return Err(SendErrorKind::UnknownPartition { partition: p, partitions: Some(self.partitions) });
            }
            (Some(p), _) => p,
            (None, Some(key)) => java_partition(key, self.partitions as u32) as i32,
            (None, None) => 0,
        };
        let outcome = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let (offset, outcome) = match state.script.pop_front().unwrap_or(MockOutcome::Deliver) {
                MockOutcome::Deliver => {
                    let next = state.offsets.entry((self.topic.clone(), partition)).or_insert(0);
                    let offset = *next;
                    *next += 1;
                    let timestamp = Timestamp::CreateTime(record.timestamp.unwrap_or_else(now_millis));
                    (Some(offset), Outcome::Delivered { partition, offset: Some(offset), timestamp: Some(timestamp) })
                }
                MockOutcome::Fail(kind) => {
                    let retriable = kind == DeliveryErrorKind::TimedOut;
                    let message = format!("scripted failure: {kind:?}");
                    let failure = Failure { partition: Some(partition), kind, code: None, message, retriable };
                    (None, Outcome::Failed(failure))
                }
            };
            let transaction = state.open;
            if let Some(i) = transaction {
                state.transactions[i].records += 1;
            }
            state.history.push(Entry {
                topic_type: self.declared,
                partition,
                offset,
                key: record.key.map(<[u8]>::to_vec),
                value: record.value.map(<[u8]>::to_vec),
                record: keep(),
                transaction,
            });
            outcome
        };
        #[cfg(feature = "otel")]
        if let Some(i) = self.accounting.instrumentation() {
            let (partition, error) = match &outcome {
                Outcome::Delivered { partition, .. } => (*partition, None),
                Outcome::Failed(f) => (f.partition.unwrap_or(-1), Some(&f.kind)),
            };
            i.delivered_uncached(&self.topic, partition, Some(Duration::ZERO), error);
        }
        let bytes = || {
            let n = record.key.map_or(0, <[u8]>::len) + record.value.map_or(0, <[u8]>::len) + record.headers.size();
            n.max(1) as u32
        };
        report(&self.accounting, record.ticket, outcome, bytes, || self.topic.clone());
        Ok(())
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
/// use typed_kafka::mock::{MockOutcome, MockProducer};
/// use typed_kafka::{KafkaRecord, Record, producer::DeliveryErrorKind};
///
/// #[derive(KafkaRecord, Debug, PartialEq)]
/// struct Order { id: String, total_cents: i64 }
/// typed_kafka::topic! { pub ORDERS: "orders", key: String, value: Order; }
///
/// # futures_like_block_on(async {
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
/// # fn futures_like_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MockProducer {
    producer: Producer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("history", &self.history.len()).finish_non_exhaustive()
    }
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

    /// A mock with interceptors.
    pub fn with_interceptors(partitions: i32, interceptors: Vec<Arc<dyn Interceptor>>) -> MockProducer {
        Self::build(default_config(), interceptors, partitions)
    }

    /// A mock that traces its records and reports its metrics as the real producer does with
    /// [`ProducerBuilder::telemetry`](super::ProducerBuilder::telemetry) (feature `otel`): a `send {topic}` span per
    /// record, ended at its (immediate) report, its context in the record's headers, and the same metrics, each
    /// delivery's duration 0.
    #[cfg(feature = "otel")]
    pub fn with_telemetry(config: ProducerConfig, partitions: i32, telemetry: super::otel::Telemetry) -> MockProducer {
        let mock = Self::build(config, Vec::new(), partitions);
        mock.producer.inner.accounting.instrument(&telemetry, &mock.producer.inner.config);
        mock
    }

    fn build(config: ProducerConfig, interceptors: Vec<Arc<dyn Interceptor>>, partitions: i32) -> MockProducer {
        let accounting = Arc::new(Accounting::new(&config, interceptors));
        let state = Arc::new(Mutex::new(State::default()));
        let transport =
            MockTransport { partitions: partitions.max(1), state: state.clone(), accounting: accounting.clone() };
        let runtime = RuntimeHandle::current_or_own().unwrap_or_else(|_| unreachable!("a runtime starts"));
        let schemas = Schemas::Local(Mutex::new(HashMap::new()));
        let producer = Producer::from_parts(config, schemas, accounting, Arc::new(transport), runtime);
        MockProducer { producer, state }
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Scripts the outcome of the next record accepted (outcomes queue up in order).
    pub fn script(&self, outcome: MockOutcome) {
        self.state().script.push_back(outcome);
    }

    /// The records sent to topic `T` (under whatever name it was bound) with value type `V`, in order, delivered
    /// or failed.
    pub fn history<T: Topic, V: ValueOf<T>>(&self) -> Vec<Sent<KeyOf<T>, V>> {
        let state = self.state();
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
                    transaction: e.transaction.map(|i| (i, state.transactions[i].state)),
                })
            })
            .collect()
    }

    /// The records written to dead-letter topics (see [`TopicBinding::dead_letter_topic`]), in order, delivered or
    /// failed as scripted.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        let state = self.state();
        let letters = state.history.iter().filter(|e| e.topic_type == TypeId::of::<DeadLetter>());
        letters.filter_map(|e| e.record.clone().downcast::<DeadLetter>().ok()).map(Arc::unwrap_or_clone).collect()
    }

    /// The transactions of a transactional mock (built with `transactional.id` in its configuration), in the
    /// order they began.
    pub fn transactions(&self) -> Vec<MockTransaction> {
        self.state().transactions.clone()
    }

    /// Scripts the next commit to fail with `kind` (for a test of the code that aborts and rewinds): a
    /// retriable or abortable failure hands the transaction back, as the real producer's do.
    pub fn fail_next_commit(&self, kind: TransactionErrorKind) {
        self.state().commit_failure = Some(kind);
    }

    /// Forgets the history (records and transactions; an open transaction stays open).
    pub fn clear(&self) {
        let mut state = self.state();
        state.history.clear();
        if state.open.is_none() {
            state.transactions.clear();
        }
    }
}
