//! OpenTelemetry for the producer (feature `otel`): a `send {topic}` span of kind PRODUCER per record, following
//! the messaging semantic conventions for Kafka, ended when the record is delivered or fails (or is refused before
//! the partitioner); the W3C trace context injected into the record's headers through the configured propagator;
//! and the conventions' metrics (`messaging.client.sent.messages`, `messaging.client.operation.duration`) with the
//! producer's own (refusals by reason, bytes in flight, the byte budget's use, the brokers' throttle time).
//!
//! The send path and the delivery path see only a [`SpanSlot`] and the free functions here. Without the feature the
//! slot is a zero-sized type and every function is empty: nothing of it is on the hot path.

use std::sync::Arc;

use super::accounting::Accounting;
use super::completion::Outcome;
use super::error::SendErrorKind;
use crate::record::Headers;

#[cfg(all(feature = "otel", feature = "kafka"))]
pub(crate) use enabled::received;
#[cfg(feature = "otel")]
pub(crate) use enabled::{Instrumentation, SpanSlot};
#[cfg(feature = "otel")]
pub use enabled::{Telemetry, trace_context};

#[cfg(not(feature = "otel"))]
pub(crate) use disabled::{Instrumentation, SpanSlot};

/// An empty slot: no span.
#[inline]
pub(crate) fn no_span() -> SpanSlot {
    #[cfg(feature = "otel")]
    {
        None
    }
    #[cfg(not(feature = "otel"))]
    {
        SpanSlot
    }
}

/// Starts the span of a record about to go through the send path (`None` when the producer is not instrumented).
#[inline]
pub(crate) fn start(
    accounting: &Accounting,
    topic: &Arc<str>,
    key_text: Option<&str>,
    tombstone: bool,
    headers: &mut Headers,
) -> SpanSlot {
    match accounting.instrumentation() {
        Some(i) => i.start(topic, key_text, tombstone, headers),
        None => no_span(),
    }
}

/// Whether the slot holds a span (the record must then be tracked until its report, never quiet).
#[inline]
pub(crate) fn is_some(slot: &SpanSlot) -> bool {
    #[cfg(feature = "otel")]
    {
        slot.is_some()
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = slot;
        false
    }
}

/// The record was refused before it was enqueued: counted by reason, and its span records why (the violations'
/// paths, never the values) and ends.
#[inline]
pub(crate) fn refused(accounting: &Accounting, topic: &Arc<str>, slot: SpanSlot, kind: &SendErrorKind) {
    #[cfg(feature = "otel")]
    if let Some(i) = accounting.instrumentation() {
        i.refused(topic, slot, kind);
    }
    #[cfg(not(feature = "otel"))]
    let _ = (accounting, topic, slot, kind);
}

/// The partition chosen on this side, known before enqueue.
#[inline]
pub(crate) fn routed(slot: &mut SpanSlot, partition: Option<i32>) {
    #[cfg(feature = "otel")]
    if let (Some(span), Some(p)) = (slot, partition) {
        span.routed(p);
    }
    #[cfg(not(feature = "otel"))]
    let _ = (slot, partition);
}

/// The record's delivery report came (or the producer failed it): the span takes the outcome and ends. (The
/// metrics count every report where the batching core makes it.)
#[inline]
pub(crate) fn finished(accounting: &Accounting, slot: SpanSlot, outcome: &Outcome) {
    #[cfg(feature = "otel")]
    if let (Some(span), Some(i)) = (slot, accounting.instrumentation()) {
        i.finished(*span, outcome);
    }
    #[cfg(not(feature = "otel"))]
    let _ = (accounting, slot, outcome);
}

#[cfg(not(feature = "otel"))]
mod disabled {
    /// No span: the producer is built without the `otel` feature.
    pub(crate) struct SpanSlot;

    /// Never made without the `otel` feature.
    pub(crate) enum Instrumentation {}

    impl Instrumentation {
        pub(crate) fn start(
            &self,
            _topic: &std::sync::Arc<str>,
            _key_text: Option<&str>,
            _tombstone: bool,
            _headers: &mut crate::record::Headers,
        ) -> SpanSlot {
            match *self {}
        }
    }
}

#[cfg(feature = "otel")]
mod enabled {
    use std::borrow::Cow;
    use std::sync::{Arc, Weak};

    use opentelemetry::global::BoxedTracer;
    use opentelemetry::metrics::{Counter, Histogram, Meter, ObservableGauge};
    use opentelemetry::propagation::Injector;
    use opentelemetry::trace::{Span, SpanKind, Status, TraceContextExt, Tracer};
    use opentelemetry::{Context, KeyValue, Value};

    use super::super::accounting::Accounting;
    use super::super::completion::Outcome;
    use super::super::error::SendErrorKind;
    use crate::config::ProducerConfig;
    use crate::record::Headers;

    /// A record's span, from the send path to its report (none with a no-op tracer: nothing is allocated then).
    pub(crate) type SpanSlot = Option<Box<RecordSpan>>;

    pub(crate) struct RecordSpan {
        span: opentelemetry::global::BoxedSpan,
        partition: Option<i32>,
    }

    impl RecordSpan {
        pub(crate) fn routed(&mut self, partition: i32) {
            self.partition = Some(partition);
            self.span.set_attribute(KeyValue::new("messaging.destination.partition.id", partition_id(partition)));
        }
    }

    /// A partition's ID as the conventions' string attribute: from a table for the first 1,024, without an
    /// allocation per record.
    fn partition_id(p: i32) -> Value {
        static IDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
        let ids = IDS.get_or_init(|| (0..1024).map(|i: i32| Value::from(Arc::<str>::from(i.to_string()))).collect());
        usize::try_from(p).ok().and_then(|i| ids.get(i)).cloned().unwrap_or_else(|| Value::from(p.to_string()))
    }

    /// `send {topic}`, made once per topic name per thread (span names are `'static`: each distinct name is kept
    /// for the life of the process, as the topics a producer binds are).
    fn span_name(topic: &Arc<str>) -> &'static str {
        use std::cell::RefCell;
        use std::collections::HashMap;
        thread_local! {
            static NAMES: RefCell<HashMap<Arc<str>, &'static str>> = RefCell::new(HashMap::new());
        }
        NAMES.with(|names| {
            if let Some(name) = names.borrow().get(topic) {
                return *name;
            }
            static KEPT: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
            let text = format!("send {topic}");
            let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let name = match kept.iter().find(|k| **k == text) {
                Some(k) => *k,
                None => {
                    let leaked: &'static str = Box::leak(text.into_boxed_str());
                    kept.push(leaked);
                    leaked
                }
            };
            names.borrow_mut().insert(topic.clone(), name);
            name
        })
    }

    /// Where a producer's telemetry goes: a tracer and a meter (see [`ProducerBuilder::telemetry`]).
    ///
    /// [`ProducerBuilder::telemetry`]: crate::ProducerBuilder::telemetry
    #[derive(Clone)]
    pub struct Telemetry {
        tracer: Arc<BoxedTracer>,
        meter: Meter,
    }

    impl std::fmt::Debug for Telemetry {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Telemetry").finish_non_exhaustive()
        }
    }

    impl Telemetry {
        /// The tracer and meter `typed-kafka` of the global providers (install them before building the producer:
        /// a tracer that is a no-op when the producer is built records no spans, only the metrics).
        pub fn global() -> Telemetry {
            Telemetry {
                tracer: Arc::new(opentelemetry::global::tracer("typed-kafka")),
                meter: opentelemetry::global::meter("typed-kafka"),
            }
        }

        /// This tracer and this meter.
        pub fn new<T>(tracer: T, meter: Meter) -> Telemetry
        where
            T: Tracer + Send + Sync + 'static,
            T::Span: Send + Sync + 'static,
        {
            Telemetry { tracer: Arc::new(BoxedTracer::new(Box::new(tracer))), meter }
        }
    }

    /// A producer's instruments, made when it is built.
    pub(crate) struct Instrumentation {
        tracer: Arc<BoxedTracer>,
        /// The tracer makes spans that neither record nor propagate (a no-op tracer): skip them. Learnt from the first
        /// record's span, so that no span of the producer's own is ever exported.
        noop: std::sync::atomic::AtomicBool,
        client_id: Value,
        server: Option<(Value, i64)>,
        sent: Counter<u64>,
        duration: Histogram<f64>,
        refused: Counter<u64>,
        _gauges: Vec<ObservableGauge<u64>>,
    }

    /// The first bootstrap server's host and port, as `server.address` and `server.port`.
    fn server(bootstrap: &str) -> Option<(Value, i64)> {
        let first = bootstrap.split(',').next()?.trim();
        let first = first.rsplit_once("://").map_or(first, |(_, rest)| rest);
        let (host, port) = first.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Some((Value::from(Arc::<str>::from(host)), port.parse().ok()?))
    }

    impl Instrumentation {
        pub(crate) fn new(t: &Telemetry, config: &ProducerConfig, accounting: Weak<Accounting>) -> Instrumentation {
            let m = &t.meter;
            let gauge = |name: &'static str, unit: &'static str, what: &'static str, read: fn(&Accounting) -> u64| {
                let accounting = accounting.clone();
                m.u64_observable_gauge(name)
                    .with_unit(unit)
                    .with_description(what)
                    .with_callback(move |o| {
                        if let Some(a) = accounting.upgrade() {
                            o.observe(read(&a), &[]);
                        }
                    })
                    .build()
            };
            let gauges = vec![
                gauge("typed_kafka.producer.in_flight", "{message}", "Records enqueued and not yet reported", |a| {
                    a.in_flight() as u64
                }),
                gauge(
                    "typed_kafka.producer.buffered_bytes",
                    "By",
                    "Bytes of the byte budget (buffer.memory) in use",
                    |a| a.metrics().buffered_bytes,
                ),
                gauge(
                    "typed_kafka.producer.throttle_time.avg",
                    "ms",
                    "Brokers' throttle time per produce response, mean over librdkafka's last statistics window",
                    |a| a.metrics().throttle_time_avg_ms.unwrap_or(0).max(0) as u64,
                ),
                gauge(
                    "typed_kafka.producer.throttle_time.max",
                    "ms",
                    "Brokers' longest throttle time of one produce response in librdkafka's last statistics window",
                    |a| a.metrics().throttle_time_max_ms.unwrap_or(0).max(0) as u64,
                ),
            ];
            Instrumentation {
                tracer: t.tracer.clone(),
                noop: std::sync::atomic::AtomicBool::new(false),
                client_id: Value::from(Arc::<str>::from(config.client_id.as_str())),
                server: server(&config.bootstrap_servers),
                sent: m
                    .u64_counter("messaging.client.sent.messages")
                    .with_unit("{message}")
                    .with_description("Number of messages the producer attempted to send to the broker")
                    .build(),
                duration: m
                    .f64_histogram("messaging.client.operation.duration")
                    .with_unit("s")
                    .with_description("Duration of the send operation, from the call to its delivery report")
                    .with_boundaries(vec![
                        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                    ])
                    .build(),
                refused: m
                    .u64_counter("typed_kafka.producer.refused")
                    .with_unit("{message}")
                    .with_description("Records refused before they were enqueued, by error.type")
                    .build(),
                _gauges: gauges,
            }
        }

        pub(crate) fn start(
            &self,
            topic: &Arc<str>,
            key_text: Option<&str>,
            tombstone: bool,
            headers: &mut Headers,
        ) -> SpanSlot {
            if self.noop.load(std::sync::atomic::Ordering::Relaxed) {
                return None;
            }
            let mut attributes = Vec::with_capacity(10);
            attributes.extend([
                KeyValue::new("messaging.system", "kafka"),
                KeyValue::new("messaging.operation.name", "send"),
                KeyValue::new("messaging.operation.type", "send"),
                KeyValue::new("messaging.destination.name", topic.clone()),
                KeyValue::new("messaging.client.id", self.client_id.clone()),
            ]);
            if let Some((address, port)) = &self.server {
                attributes.push(KeyValue::new("server.address", address.clone()));
                attributes.push(KeyValue::new("server.port", *port));
            }
            if let Some(key) = key_text {
                attributes.push(KeyValue::new("messaging.kafka.message.key", key.to_string()));
            }
            if tombstone {
                attributes.push(KeyValue::new("messaging.kafka.message.tombstone", true));
            }
            let name: Cow<'static, str> = Cow::Borrowed(span_name(topic));
            let span = self
                .tracer
                .span_builder(name)
                .with_kind(SpanKind::Producer)
                .with_attributes(attributes)
                .start_with_context(self.tracer.as_ref(), &Context::current());
            if !span.span_context().is_valid() && !span.is_recording() {
                self.noop.store(true, std::sync::atomic::Ordering::Relaxed);
                return None;
            }
            // A context the caller already put in the headers is kept.
            if span.span_context().is_valid() && headers.get("traceparent").is_none() {
                let cx = Context::new().with_remote_span_context(span.span_context().clone());
                opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut HeaderInjector(headers)));
            }
            Some(Box::new(RecordSpan { span, partition: None }))
        }

        pub(crate) fn refused(&self, topic: &Arc<str>, slot: SpanSlot, kind: &SendErrorKind) {
            let error = kind.reason().name();
            self.refused.add(
                1,
                &[
                    KeyValue::new("messaging.system", "kafka"),
                    KeyValue::new("messaging.destination.name", topic.clone()),
                    KeyValue::new("error.type", error),
                ],
            );
            let Some(mut s) = slot else { return };
            let span = &mut s.span;
            span.set_attribute(KeyValue::new("error.type", error));
            let paths = paths(kind);
            // The status says what kind of refusal and the paths, never the values.
            let status = if paths.is_empty() { error.to_string() } else { format!("{error}: {paths}") };
            let mut event = vec![KeyValue::new("typed_kafka.refusal", error)];
            if !paths.is_empty() {
                event.push(KeyValue::new("typed_kafka.paths", paths));
            }
            span.add_event("refused before the partitioner", event);
            span.set_status(Status::error(status));
            span.end();
        }

        /// Counts a record's delivery report: `messaging.client.sent.messages` and
        /// `messaging.client.operation.duration` (librdkafka's enqueue-to-report latency), with the conventions'
        /// attributes. A delivered record's attributes are made once per topic handle (`topic_key`, with `topic`
        /// its name) and partition, and kept on the delivery thread; a failure's are made for it.
        #[cfg(feature = "kafka")]
        pub(crate) fn delivered<'t>(
            &self,
            topic_key: usize,
            topic: impl FnOnce() -> &'t str,
            partition: i32,
            latency: Option<std::time::Duration>,
            error: Option<&super::super::error::DeliveryErrorKind>,
        ) {
            use std::cell::RefCell;
            use std::collections::HashMap;
            /// Attributes by topic handle and partition.
            type Kept = HashMap<(usize, i32), Box<[KeyValue]>>;
            thread_local! {
                static DELIVERED: RefCell<Kept> = RefCell::new(HashMap::new());
            }
            if error.is_some() {
                return self.delivered_uncached(topic(), partition, latency, error);
            }
            DELIVERED.with(|cache| {
                let mut cache = cache.borrow_mut();
                let attributes = cache
                    .entry((topic_key, partition))
                    .or_insert_with(|| self.attributes(topic(), partition).into_boxed_slice());
                self.count(attributes, latency);
            });
        }

        /// Counts a record's report as [`delivered`](Instrumentation::delivered) does, with its attributes made
        /// for it: a failure's, and the mock's reports (on whatever thread sends: no cache keyed by addresses).
        pub(crate) fn delivered_uncached(
            &self,
            topic: &str,
            partition: i32,
            latency: Option<std::time::Duration>,
            error: Option<&super::super::error::DeliveryErrorKind>,
        ) {
            let mut attributes = self.attributes(topic, partition);
            if let Some(e) = error {
                attributes.push(KeyValue::new("error.type", e.name()));
            }
            self.count(&attributes, latency);
        }

        /// One report in `messaging.client.sent.messages`, and its latency, when known, in
        /// `messaging.client.operation.duration`.
        fn count(&self, attributes: &[KeyValue], latency: Option<std::time::Duration>) {
            self.sent.add(1, attributes);
            if let Some(latency) = latency {
                self.duration.record(latency.as_secs_f64(), attributes);
            }
        }

        /// The attributes of a record sent to `partition` of `topic`, as the metrics give them.
        fn attributes(&self, topic: &str, partition: i32) -> Vec<KeyValue> {
            let mut attributes = vec![
                KeyValue::new("messaging.system", "kafka"),
                KeyValue::new("messaging.operation.name", "send"),
                KeyValue::new("messaging.destination.name", Arc::<str>::from(topic)),
            ];
            if partition >= 0 {
                attributes.push(KeyValue::new("messaging.destination.partition.id", partition_id(partition)));
            }
            if let Some((address, port)) = &self.server {
                attributes.push(KeyValue::new("server.address", address.clone()));
                attributes.push(KeyValue::new("server.port", *port));
            }
            attributes
        }

        pub(crate) fn finished(&self, mut s: RecordSpan, outcome: &Outcome) {
            let span = &mut s.span;
            let partition = match outcome {
                Outcome::Delivered { partition, .. } => Some(*partition).filter(|p| *p >= 0),
                Outcome::Failed(f) => f.partition,
            };
            if let Some(p) = partition.filter(|p| Some(*p) != s.partition) {
                span.set_attribute(KeyValue::new("messaging.destination.partition.id", partition_id(p)));
            }
            match outcome {
                Outcome::Delivered { offset: Some(offset), .. } => {
                    span.set_attribute(KeyValue::new("messaging.kafka.offset", *offset));
                }
                Outcome::Delivered { .. } => {}
                Outcome::Failed(f) => {
                    span.set_attribute(KeyValue::new("error.type", f.kind.name()));
                    span.set_status(Status::error(f.message.clone()));
                }
            }
            span.end();
        }
    }

    /// The paths a refusal names (the fields that broke the schema or a rule), never their values.
    fn paths(kind: &SendErrorKind) -> String {
        let mut out: Vec<String> = match kind {
            SendErrorKind::RuleViolation { violations, .. } => {
                violations.iter().map(|v| format!("{} ({})", v.path, v.rule)).collect()
            }
            k => k.violation_paths(),
        };
        out.truncate(20);
        out.join(", ")
    }

    /// The trace context a record's headers carry (W3C `traceparent`/`tracestate`, through the global
    /// propagator): the parent for spans that process the record. An empty context when there is none.
    pub fn trace_context(headers: &Headers) -> Context {
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)))
    }

    /// A `receive {topic}` span of kind CONSUMER for a record read back, linked to the span of the producer that
    /// sent it (when its headers carry one), ended at once; `error` when it could not be read.
    #[cfg(feature = "kafka")]
    pub(crate) fn received(
        t: &Telemetry,
        topic: &Arc<str>,
        group: &str,
        partition: i32,
        offset: i64,
        headers: &Headers,
        error: Option<&'static str>,
    ) {
        use opentelemetry::trace::Link;
        let producer = trace_context(headers).span().span_context().clone();
        let attributes = vec![
            KeyValue::new("messaging.system", "kafka"),
            KeyValue::new("messaging.operation.name", "receive"),
            KeyValue::new("messaging.operation.type", "receive"),
            KeyValue::new("messaging.destination.name", topic.clone()),
            KeyValue::new("messaging.destination.partition.id", partition.to_string()),
            KeyValue::new("messaging.kafka.offset", offset),
            KeyValue::new("messaging.consumer.group.name", group.to_string()),
        ];
        let mut builder =
            t.tracer.span_builder(format!("receive {topic}")).with_kind(SpanKind::Consumer).with_attributes(attributes);
        if producer.is_valid() {
            builder = builder.with_links(vec![Link::with_context(producer)]);
        }
        let mut span = builder.start_with_context(t.tracer.as_ref(), &Context::current());
        if let Some(e) = error {
            span.set_attribute(KeyValue::new("error.type", e));
            span.set_status(Status::error(e));
        }
        span.end();
    }

    struct HeaderExtractor<'a>(&'a Headers);

    impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.value(key).and_then(|v| std::str::from_utf8(v).ok())
        }

        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| k).collect()
        }
    }

    struct HeaderInjector<'a>(&'a mut Headers);

    impl Injector for HeaderInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.insert(key, value);
        }
    }
}
