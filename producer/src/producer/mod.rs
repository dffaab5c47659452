//! The producer: [`Producer`] owns the batching core (librdkafka) and the byte budget; [`TypedProducer`] sends the
//! records of one [typed topic](mod@crate::topic).
//!
//! The path of one record: interceptors' `on_send` → key and value validated and encoded (schema IDs cached at
//! bind, no I/O) → a record that violates its schema is refused here, with every violation's path, and handed
//! back → partition (explicit > custom partitioner > Java's murmur2 over the serialized key, sticky for null
//! keys) → the byte budget (`buffer.memory`; waits up to `max.block.ms`, woken by deliveries) → enqueued into
//! librdkafka, which batches per partition (`linger.ms`, `batch.size`), compresses, retries within
//! `delivery.timeout.ms` → [`RecordMetadata`](crate::RecordMetadata) or a [`DeliveryError`].
//!
//! # Send modes
//! - awaited: [`TypedProducer::send`];
//! - two-phase: [`TypedProducer::enqueue`] returns once the record is enqueued, with a [`Delivery`] to await later;
//! - fire-and-forget: [`TypedProducer::send_and_forget`] (failures reach the metrics and the interceptors);
//! - callback: [`TypedProducer::send_with`];
//! - blocking: [`TypedProducer::send_blocking`] for threads outside async code.
//!
//! # Cancellation
//! Dropping a `send`/`enqueue` future **before** the record is enqueued (while it waits for the byte budget)
//! sends nothing and drops the record. Once enqueued, the record is delivered whatever happens to its futures:
//! dropping a [`Delivery`] only discards the result.

// Without the `kafka` feature only the mock backend exists, and what serves the batching core alone is unused.
#![cfg_attr(not(feature = "kafka"), allow(dead_code, unused_variables, unused_imports))]

mod accounting;
#[cfg(feature = "kafka")]
mod arena;
mod budget;
mod callback;
mod error;
#[cfg(feature = "kafka")]
mod kafka;
mod mock;
mod pending;
pub(crate) mod typed;

use std::sync::Arc;
use std::time::Duration;

pub use accounting::{CloseReport, Interceptor, ProducerMetrics, RefusedCounts, Undelivered};
pub use error::{BindError, BuildError, DeliveryError, DeliveryErrorKind, SendError, SendErrorKind};
pub use mock::{MockOutcome, MockProducer, Sent};
pub use typed::{Binder, Delivery, KeyHashing, ProduceError, TopicBinding, TypedProducer};

use accounting::Accounting;
use pending::SlotSource;
use typed_kafka_registry::client::Normalization;
use typed_kafka_registry::{SchemaMode, SchemaRegistryClient};

use crate::config::ProducerConfig;
use crate::topic::Topic;

/// The batching core behind a producer.
pub(crate) enum Backend {
    #[cfg(feature = "kafka")]
    Kafka(kafka::KafkaCore),
    Mock(mock::MockCore),
}

pub(crate) struct Inner {
    pub(crate) config: ProducerConfig,
    pub(crate) registry: Option<SchemaRegistryClient>,
    pub(crate) mode: SchemaMode,
    pub(crate) normalization: Normalization,
    pub(crate) accounting: Arc<Accounting>,
    pub(crate) backend: Backend,
    /// The runtime that runs registry I/O for blocking callers (the one the producer was built in, or its own).
    pub(crate) runtime: RuntimeHandle,
    /// Where the awaited records of every topic bound to the producer take their slots: one source per producer,
    /// as a block is large (see `pending::BLOCK_SLOTS`). Apart from the called-back records' (`called`): a future
    /// kept for long keeps its slot's whole block, which would otherwise hold the slots of called-back records
    /// long done.
    pub(crate) awaited: SlotSource,
    pub(crate) called: SlotSource,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let in_flight = self.accounting.in_flight();
        if in_flight > 0 {
            tracing::warn!(
                in_flight,
                "producer dropped with records in flight: they are purged and fail with Purged; call close(timeout) \
                 to deliver them first"
            );
        }
    }
}

/// A Kafka producer of typed records: the batching core, the schema registry client and the byte budget, shared by
/// the [`TypedProducer`]s bound to it. Cheap to clone (an `Arc` inside).
///
/// ```no_run
/// use std::time::Duration;
/// use typed_kafka::{KafkaRecord, Producer, Record, config::ProducerConfig, registry::SchemaRegistryClient};
///
/// #[derive(KafkaRecord)]
/// struct Order { id: String, total_cents: i64 }
/// typed_kafka::topic! { pub ORDERS: "orders", key: String, value: Order; }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let config = ProducerConfig::builder("127.0.0.1:9092").set("linger.ms", "10").build()?;
/// let registry = SchemaRegistryClient::builder(["http://127.0.0.1:8081"]).build()?;
/// let producer = Producer::builder(config).registry(registry).build()?;
/// let orders = producer.bind(ORDERS).await?;
/// let meta = orders.send(Record::new(Order { id: "o-1".into(), total_cents: 1299 }).key("c-7".into())).await?;
/// println!("written to partition {} at offset {:?}", meta.partition, meta.offset);
/// producer.close(Duration::from_secs(30)).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Producer {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("config", &self.inner.config)
            .field("in_flight", &self.inner.accounting.in_flight())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Producer`].
pub struct ProducerBuilder {
    config: ProducerConfig,
    registry: Option<SchemaRegistryClient>,
    mode: SchemaMode,
    normalization: Normalization,
    interceptors: Vec<Arc<dyn Interceptor>>,
}

impl std::fmt::Debug for ProducerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProducerBuilder")
            .field("config", &self.config)
            .field("mode", &self.mode)
            .field("interceptors", &self.interceptors.len())
            .finish_non_exhaustive()
    }
}

impl ProducerBuilder {
    /// The schema registry that key and value schemas are registered in and looked up from (required).
    pub fn registry(mut self, client: SchemaRegistryClient) -> Self {
        self.registry = Some(client);
        self
    }

    /// How schema IDs are chosen (default: register the type's schema, as `auto.register.schemas=true`).
    /// [`SchemaMode::PinnedId`] applies to values only.
    pub fn schema_mode(mut self, mode: SchemaMode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether the registry normalizes schemas on registration and lookup.
    pub fn normalization(mut self, normalization: Normalization) -> Self {
        self.normalization = normalization;
        self
    }

    /// Adds an interceptor: `on_send` for each record before it is encoded, `on_acknowledgement` for each
    /// delivery or delivery failure. A panicking interceptor is logged and never stops the producer.
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Starts the producer: the batching core connects to `bootstrap.servers` in the background.
    #[cfg(feature = "kafka")]
    pub fn build(self) -> Result<Producer, BuildError> {
        let registry = self.registry.ok_or(BuildError::NoRegistry)?;
        let accounting = Arc::new(Accounting::new(&self.config, self.interceptors));
        let backend = Backend::Kafka(kafka::KafkaCore::new(&self.config, accounting.clone())?);
        Ok(Producer {
            inner: Arc::new(Inner {
                config: self.config,
                registry: Some(registry),
                mode: self.mode,
                normalization: self.normalization,
                accounting,
                backend,
                runtime: RuntimeHandle::current_or_own()?,
                awaited: SlotSource::default(),
                called: SlotSource::default(),
            }),
        })
    }
}

impl Producer {
    /// A builder of a producer with this configuration.
    pub fn builder(config: ProducerConfig) -> ProducerBuilder {
        ProducerBuilder {
            config,
            registry: None,
            mode: SchemaMode::AutoRegister,
            normalization: Normalization::AsGiven,
            interceptors: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// Binds a typed topic with the default options: resolves its key and value subjects' schema IDs (registering
    /// them in [`SchemaMode::AutoRegister`]) and reads its partition count. After this, sending does no I/O
    /// before the batching core.
    pub async fn bind<T: Topic>(&self, topic: T) -> Result<TypedProducer<T>, BindError> {
        self.topic(topic).bind().await
    }

    /// Binds a typed topic with options (custom partitioner, key hashing, key schema changes).
    pub fn topic<T: Topic>(&self, _topic: T) -> TopicBinding<T> {
        TopicBinding::new(self.clone())
    }

    /// Records enqueued and not yet delivered or failed.
    pub fn in_flight(&self) -> usize {
        self.inner.accounting.in_flight()
    }

    /// Counters of records sent, failed and refused, bytes, and librdkafka's batch statistics.
    pub fn metrics(&self) -> ProducerMetrics {
        self.inner.accounting.metrics()
    }

    /// Sends what is buffered now, without waiting for `linger.ms`, and waits until every record enqueued so far is
    /// delivered or failed, at most `timeout`. Returns how many are still in flight (0: all done).
    pub async fn flush(&self, timeout: Duration) -> usize {
        match &self.inner.backend {
            #[cfg(feature = "kafka")]
            Backend::Kafka(core) => core.flush(&self.inner.accounting, timeout).await,
            Backend::Mock(_) => {
                let _ = timeout;
                0
            }
        }
    }

    /// Stops taking records (later sends fail with [`SendErrorKind::Closed`]), waits up to `timeout` for the
    /// records in flight, then purges what is left and reports exactly which records were not delivered. Their
    /// futures and callbacks get [`DeliveryErrorKind::Purged`].
    pub async fn close(&self, timeout: Duration) -> CloseReport {
        self.inner.accounting.start_closing();
        let left = self.flush(timeout).await;
        match &self.inner.backend {
            #[cfg(feature = "kafka")]
            Backend::Kafka(core) if left > 0 => core.purge(&self.inner.accounting).await,
            _ => {
                let _ = left;
            }
        }
        self.inner.accounting.close_report()
    }

    /// Asks the batching core whether an error it reported was fatal (cheap unless one was reported).
    pub(crate) fn check_fatal(&self) {
        match &self.inner.backend {
            #[cfg(feature = "kafka")]
            Backend::Kafka(core) => core.check_fatal(&self.inner.accounting),
            Backend::Mock(_) => {}
        }
    }

    /// The fatal error the producer hit, if any: it must then be rebuilt.
    pub fn fatal_error(&self) -> Option<String> {
        self.check_fatal();
        self.inner.accounting.fatal()
    }
}

/// A runtime handle for blocking callers, with the runtime itself when the producer had to start its own.
#[derive(Clone)]
pub(crate) struct RuntimeHandle {
    handle: tokio::runtime::Handle,
    _own: Option<Arc<OwnRuntime>>,
}

struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl RuntimeHandle {
    pub(crate) fn current_or_own() -> Result<RuntimeHandle, BuildError> {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return Ok(RuntimeHandle { handle, _own: None });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("typed-kafka-io")
            .enable_all()
            .build()
            .map_err(|e| BuildError::Runtime(e.to_string()))?;
        Ok(RuntimeHandle { handle: rt.handle().clone(), _own: Some(Arc::new(OwnRuntime(Some(rt)))) })
    }

    /// Runs `future` to completion from a thread outside async code.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }
}

/// Runs `future` on the calling thread until it completes or `deadline` passes (`None` then), parking the thread
/// between polls: for the blocking send, whose waits (the byte budget, the delivery report) are woken by other
/// threads, so no runtime needs to run here.
pub(crate) fn block_on_until<F: Future>(future: F, deadline: Option<std::time::Instant>) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        match deadline {
            None => std::thread::park(),
            Some(d) => {
                let now = std::time::Instant::now();
                if now >= d {
                    return None;
                }
                std::thread::park_timeout(d - now);
            }
        }
    }
}
