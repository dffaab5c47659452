//! [`Producer`]: the batching core (a [`Transport`]), the schema source and the [`Accounting`] shared by the topics
//! bound to it; building it, flushing and closing it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use typed_kafka_avro::SchemaId;
use typed_kafka_registry::client::Normalization;
use typed_kafka_registry::{SchemaMode, SchemaRegistryClient};

use super::accounting::{Accounting, CloseReport, Interceptor, ProducerMetrics};
use super::error::{BuildError, ErrorCode};
use super::executor::{self, RuntimeHandle};
use super::report::fail_unreported;
use super::transport::Transport;
use crate::config::ProducerConfig;

/// Where a producer's schema IDs come from.
pub(crate) enum Schemas {
    /// A schema registry, in a mode.
    Registry { client: SchemaRegistryClient, mode: SchemaMode, normalization: Normalization },
    /// IDs the producer gives itself, one per (subject, schema), stable for its life (the mock's).
    Local(Mutex<HashMap<(String, u64), SchemaId>>),
}

pub(crate) struct Inner {
    pub(crate) config: ProducerConfig,
    pub(crate) schemas: Schemas,
    pub(crate) accounting: Arc<Accounting>,
    pub(crate) transport: Arc<dyn Transport>,
    /// The runtime that runs registry I/O (the one the producer was built in, or its own).
    pub(crate) runtime: RuntimeHandle,
    /// A transactional producer's transactions.
    pub(crate) transactions: super::transaction::Transactions,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Only a flag: the transport tears down on its own thread, whichever thread drops the last handle.
        self.transport.shut_down();
    }
}

/// A Kafka producer of typed records: the batching core, the schema registry client and the byte budget, shared by
/// the `TypedProducer`s bound to it. Cheap to clone (an `Arc` inside).
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
    #[cfg(feature = "otel")]
    telemetry: Option<super::otel::Telemetry>,
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

    /// Traces every record and reports the producer's metrics through OpenTelemetry (feature `otel`): a `send
    /// {topic}` span of kind PRODUCER per record with the messaging conventions' attributes, ended at its delivery
    /// report (or its refusal), its W3C trace context injected into the record's headers through the global
    /// propagator (a `traceparent` already there is kept); `messaging.client.sent.messages`,
    /// `messaging.client.operation.duration` and the producer's own gauges. See the README's "Observability".
    #[cfg(feature = "otel")]
    pub fn telemetry(mut self, telemetry: super::otel::Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Starts the producer: the batching core connects to `bootstrap.servers` in the background, and the
    /// producer's delivery and metadata threads start.
    #[cfg(feature = "kafka")]
    pub fn build(self) -> Result<Producer, BuildError> {
        let client = self.registry.ok_or(BuildError::NoRegistry)?;
        let runtime = RuntimeHandle::current_or_own()?;
        let accounting = Arc::new(Accounting::new(&self.config, self.interceptors));
        #[cfg(feature = "otel")]
        if let Some(t) = &self.telemetry {
            accounting.instrument(t, &self.config);
        }
        let transport = super::kafka::KafkaTransport::start(&self.config, accounting.clone())?;
        let schemas = Schemas::Registry { client, mode: self.mode, normalization: self.normalization };
        Ok(Producer::from_parts(self.config, schemas, accounting, Arc::new(transport), runtime))
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
            #[cfg(feature = "otel")]
            telemetry: None,
        }
    }

    pub(crate) fn from_parts(
        config: ProducerConfig,
        schemas: Schemas,
        accounting: Arc<Accounting>,
        transport: Arc<dyn Transport>,
        runtime: RuntimeHandle,
    ) -> Producer {
        Producer {
            inner: Arc::new(Inner {
                config,
                schemas,
                accounting,
                transport,
                runtime,
                transactions: Default::default(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
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
    /// delivered or failed, at most `timeout`, on any executor. Returns how many are still in flight (0: all done).
    pub async fn flush(&self, timeout: Duration) -> usize {
        self.flush_until(Instant::now() + timeout).await
    }

    async fn flush_until(&self, deadline: Instant) -> usize {
        let accounting = &self.inner.accounting;
        if accounting.in_flight() == 0 {
            return 0;
        }
        // librdkafka sends at once what waits for linger.ms only while its flush runs: run it, in slices on a thread
        // of its own (it blocks), until this wait ends.
        let done = Arc::new(AtomicBool::new(false));
        let (transport, stop) = (self.inner.transport.clone(), done.clone());
        let _flushing = executor::start_thread("typed-kafka-flush", move || {
            while !stop.load(Ordering::Acquire) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                transport.flush(left.min(Duration::from_millis(100)));
            }
        });
        let left = accounting.wait_idle(deadline).await;
        done.store(true, Ordering::Release);
        left
    }

    /// Stops taking records (later sends fail with [`SendErrorKind::Closed`](super::error::SendErrorKind::Closed)),
    /// waits for the records in flight, then purges what is left and reports exactly which records were not
    /// delivered. Their futures and callbacks get [`DeliveryErrorKind::Purged`](super::error::DeliveryErrorKind::Purged).
    ///
    /// Returns within `timeout` (give or take a scheduler tick), on any executor: the last tenth of it (at most
    /// 1 s) is kept for the purge and its reports; a tracked record still unreported at the deadline is failed
    /// then, and a fire-and-forget one counted in [`CloseReport::unreported`].
    pub async fn close(&self, timeout: Duration) -> CloseReport {
        let accounting = &self.inner.accounting;
        accounting.start_closing();
        let deadline = Instant::now() + timeout;
        let reserve = (timeout / 10).min(Duration::from_secs(1));
        let left = self.flush_until(deadline - reserve).await;
        if left > 0 {
            let transport = self.inner.transport.clone();
            let purged = executor::off_thread("typed-kafka-purge", move || transport.purge());
            let _ = executor::until(deadline, purged).await;
            accounting.wait_idle(deadline).await;
            fail_unreported(accounting, "the record's report had not come when close's timeout passed");
        }
        accounting.close_report()
    }

    /// The fatal error the producer hit, if any (its code and reason): it must then be rebuilt.
    pub fn fatal_error(&self) -> Option<(ErrorCode, String)> {
        self.inner.transport.check_fatal();
        self.inner.accounting.fatal()
    }
}
