//! OpenTelemetry (feature `otel`) against the real broker, with the SDK's in-memory span and metric exporters:
//! a `send {topic}` span per record in every send mode with the messaging conventions' attributes, ended at its
//! delivery report; the W3C trace context in the record's headers (a caller's own kept); refusals and delivery
//! failures on their spans; the conventions' metrics; and the typed consumer's `receive` span linked to the
//! producer's.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use rdkafka::Message;
use rdkafka::message::Headers as _;
use typed_kafka::config::ProducerConfig;
use typed_kafka::consumer::{StartAt, TypedConsumer};
use typed_kafka::otel::Telemetry;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_tests::{create_topic, create_topic_with, read_back, stack, unique};

/// A parcel, with a rule.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.otel")]
struct Parcel {
    #[kafka(min = 1)]
    grams: i64,
    note: String,
}

typed_kafka::topic! { PARCELS: "it-parcels", key: String, value: Parcel; }

struct Sdk {
    spans: InMemorySpanExporter,
    tracer: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter: SdkMeterProvider,
}

impl Sdk {
    fn new() -> Sdk {
        static PROPAGATOR: OnceLock<()> = OnceLock::new();
        PROPAGATOR.get_or_init(|| opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new()));
        let spans = InMemorySpanExporter::default();
        let tracer = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
        let metrics = InMemoryMetricExporter::default();
        let meter = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(metrics.clone()).build()).build();
        Sdk { spans, tracer, metrics, meter }
    }

    fn telemetry(&self) -> Telemetry {
        Telemetry::new(self.tracer.tracer("it"), opentelemetry::metrics::MeterProvider::meter(&self.meter, "it"))
    }

    fn spans(&self) -> Vec<SpanData> {
        self.tracer.force_flush().unwrap();
        self.spans.get_finished_spans().unwrap()
    }

    /// Each metric's data points: (attributes, value or count).
    fn metrics(&self) -> HashMap<String, Vec<(Vec<KeyValue>, f64)>> {
        self.meter.force_flush().unwrap();
        let mut out: HashMap<String, Vec<(Vec<KeyValue>, f64)>> = HashMap::new();
        for rm in self.metrics.get_finished_metrics().unwrap() {
            for sm in rm.scope_metrics() {
                for m in sm.metrics() {
                    let points: Vec<(Vec<KeyValue>, f64)> = match m.data() {
                        AggregatedMetrics::U64(MetricData::Sum(s)) => {
                            s.data_points().map(|p| (p.attributes().cloned().collect(), p.value() as f64)).collect()
                        }
                        AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                            g.data_points().map(|p| (p.attributes().cloned().collect(), p.value() as f64)).collect()
                        }
                        AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                            h.data_points().map(|p| (p.attributes().cloned().collect(), p.count() as f64)).collect()
                        }
                        _ => Vec::new(),
                    };
                    // The last export of each metric holds its cumulative points.
                    out.insert(m.name().to_string(), points);
                }
            }
        }
        out
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    attribute(attributes, key).map(|v| v.as_str().into_owned())
}

fn producer(sdk: &Sdk, config: typed_kafka::config::ProducerConfigBuilder) -> Producer {
    let registry = SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap();
    Producer::builder(config.build().unwrap()).registry(registry).telemetry(sdk.telemetry()).build().unwrap()
}

fn traceparent(span: &SpanData) -> String {
    let cx = &span.span_context;
    format!("00-{}-{}-01", cx.trace_id(), cx.span_id())
}

#[tokio::test]
async fn every_send_mode_is_traced_and_the_consumer_links_to_it() {
    let sdk = Sdk::new();
    let name = unique("it-otel");
    create_topic(&stack().bootstrap_servers, &name, 3, 1).await;
    let client_id = unique("it-otel-client");
    let p = producer(&sdk, ProducerConfig::builder(stack().bootstrap_servers.as_str()).set("client.id", &client_id));
    let parcels = p.topic(PARCELS).name(&name).bind().await.unwrap();
    let parcel = |g| Parcel { grams: g, note: "fragile".into() };

    parcels.send(Record::new(parcel(1)).key("awaited".into())).await.unwrap();
    parcels.send_and_forget(Record::new(parcel(2)).key("forgotten".into())).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    parcels
        .send_with(Record::new(parcel(3)).key("called-back".into()), move |r| {
            let _ = tx.send(r.is_ok());
        })
        .await
        .unwrap();
    assert!(rx.await.unwrap());
    parcels.enqueue(Record::new(parcel(4)).key("two-phase".into())).await.unwrap().await.unwrap();
    let blocking = parcels.clone();
    tokio::task::spawn_blocking(move || blocking.send_blocking(Record::new(parcel(5)).key("blocking".into())))
        .await
        .unwrap()
        .unwrap();
    parcels.send(Record::<String, Parcel>::tombstone("tombstone".into())).await.unwrap();
    let theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    parcels.send(Record::new(parcel(7)).key("theirs".into()).header("traceparent", theirs)).await.unwrap();
    let refused = parcels.send(Record::new(parcel(0)).key("refused".into())).await;
    assert!(refused.is_err());
    assert_eq!(p.flush(Duration::from_secs(30)).await, 0);

    let spans = sdk.spans();
    let sends: HashMap<String, &SpanData> = spans
        .iter()
        .filter(|s| s.name == format!("send {name}"))
        .map(|s| (text(&s.attributes, "messaging.kafka.message.key").unwrap(), s))
        .collect();
    assert_eq!(sends.len(), 8, "{:?}", sends.keys().collect::<Vec<_>>());
    for (key, s) in &sends {
        let a = &s.attributes;
        assert_eq!(s.span_kind, SpanKind::Producer, "{key}");
        assert_eq!(text(a, "messaging.system").as_deref(), Some("kafka"));
        assert_eq!(text(a, "messaging.operation.name").as_deref(), Some("send"));
        assert_eq!(text(a, "messaging.operation.type").as_deref(), Some("send"));
        assert_eq!(text(a, "messaging.destination.name").as_deref(), Some(name.as_str()));
        assert_eq!(text(a, "messaging.client.id").as_deref(), Some(client_id.as_str()));
        assert_eq!(text(a, "server.address").as_deref(), Some("127.0.0.1"));
        assert!(matches!(attribute(a, "server.port"), Some(Value::I64(p)) if *p > 0));
        if key == "refused" {
            assert_eq!(text(a, "error.type").as_deref(), Some("rule_violation"));
            assert!(matches!(&s.status, Status::Error { description } if description.contains("/grams")));
            let event = s.events.iter().next().unwrap();
            assert_eq!(text(&event.attributes, "typed_kafka.paths").as_deref(), Some("/grams (grams_min)"));
            assert!(!format!("{:?}", s.attributes).contains("fragile"), "no value on the span");
            continue;
        }
        assert!(text(a, "messaging.destination.partition.id").is_some(), "{key}");
        assert!(matches!(attribute(a, "messaging.kafka.offset"), Some(Value::I64(o)) if *o >= 0), "{key}");
        assert_eq!(attribute(a, "messaging.kafka.message.tombstone").is_some(), key == "tombstone", "{key}");
        assert_eq!(s.status, Status::Unset, "{key}");
        assert!(s.end_time >= s.start_time);
    }

    // Each record carries its span's trace context; the caller's own is kept.
    let records = read_back(&stack().bootstrap_servers, &name, 7, Duration::from_secs(30));
    assert_eq!(records.len(), 7);
    for r in &records {
        let key = String::from_utf8(r.key().unwrap().to_vec()).unwrap();
        let headers: Vec<(&str, &[u8])> =
            r.headers().unwrap().iter().map(|h| (h.key, h.value.unwrap_or_default())).collect();
        let parents: Vec<&[u8]> = headers.iter().filter(|(k, _)| *k == "traceparent").map(|(_, v)| *v).collect();
        let expected = if key == "theirs" { theirs.to_string() } else { traceparent(sends[&key]) };
        assert_eq!(parents, [expected.as_bytes()], "{key}");
    }

    // The conventions' metrics, and the producer's own.
    let metrics = sdk.metrics();
    let sent: f64 = metrics["messaging.client.sent.messages"].iter().map(|(_, v)| v).sum();
    assert_eq!(sent, 7.0);
    let durations: f64 = metrics["messaging.client.operation.duration"].iter().map(|(_, n)| n).sum();
    assert_eq!(durations, 7.0);
    let refusals = &metrics["typed_kafka.producer.refused"];
    assert_eq!(refusals.len(), 1);
    assert_eq!(text(&refusals[0].0, "error.type").as_deref(), Some("rule_violation"));
    assert!(
        metrics.contains_key("typed_kafka.producer.buffered_bytes")
            && metrics.contains_key("typed_kafka.producer.in_flight")
    );

    // The typed consumer's receive spans link to the producer's.
    let consumer = TypedConsumer::<PARCELS, Parcel>::builder(&stack().bootstrap_servers, {
        SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap()
    })
    .name(&name)
    .group_id(unique("it-otel-group"))
    .telemetry(sdk.telemetry())
    .build()
    .unwrap();
    consumer.assign_all(StartAt::Beginning).await.unwrap();
    let mut read = 0;
    while read < 7 {
        let record = consumer.poll(Duration::from_secs(30)).await.expect("a record").unwrap();
        let key = record.key.clone().unwrap();
        if key != "theirs" {
            use opentelemetry::trace::TraceContextExt;
            let parent = record.trace_context();
            assert_eq!(parent.span().span_context().span_id(), sends[&key].span_context.span_id());
        }
        read += 1;
    }
    let spans = sdk.spans();
    let receives: Vec<&SpanData> = spans.iter().filter(|s| s.name == format!("receive {name}")).collect();
    assert_eq!(receives.len(), 7);
    for r in receives {
        assert_eq!(r.span_kind, SpanKind::Consumer);
        assert_eq!(text(&r.attributes, "messaging.operation.type").as_deref(), Some("receive"));
        let link = r.links.iter().next().expect("a link to the producer's span");
        assert!(
            sends.values().any(|s| s.span_context.span_id() == link.span_context.span_id())
                || link.span_context.span_id().to_string() == "b7ad6b7169203331"
        );
    }
}

/// A Python consumer (confluent-kafka) reads each record's `traceparent` with OpenTelemetry's Python propagator
/// and gets the trace and span IDs of the span that sent it.
#[tokio::test]
async fn a_python_consumer_reads_the_same_trace_context() {
    let sdk = Sdk::new();
    let name = unique("it-otel-python");
    create_topic(&stack().bootstrap_servers, &name, 2, 1).await;
    let p = producer(&sdk, ProducerConfig::builder(stack().bootstrap_servers.as_str()));
    let parcels = p.topic(PARCELS).name(&name).bind().await.unwrap();
    for i in 0..3 {
        parcels.send(Record::new(Parcel { grams: 1 + i, note: "n".into() }).key(format!("k{i}"))).await.unwrap();
    }
    let spans = sdk.spans();
    let requirements = typed_kafka_stack::workspace_root().join("tests/python/requirements.txt");
    let python = typed_kafka_stack::python_env(&requirements, "confluent-kafka-rules").unwrap();
    let script = typed_kafka_stack::workspace_root().join("tests/python/otel_traceparent.py");
    let request = serde_json::json!({"bootstrap": stack().bootstrap_servers, "topic": name, "count": 3});
    let out = tokio::task::spawn_blocking(move || {
        typed_kafka_stack::run_python(&python, &script, request.to_string().as_bytes()).unwrap()
    })
    .await
    .unwrap();
    let seen: HashMap<String, (String, String)> = serde_json::from_slice(&out).unwrap();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for s in spans.iter().filter(|s| s.name == format!("send {name}")) {
        let key = text(&s.attributes, "messaging.kafka.message.key").unwrap();
        let ids = (s.span_context.trace_id().to_string(), s.span_context.span_id().to_string());
        assert_eq!(seen[&key], ids, "{key}");
    }
}

/// A record the broker refuses (larger than the topic's `max.message.bytes`) fails its span and counts as sent
/// with its `error.type`.
#[tokio::test]
async fn a_delivery_failure_ends_its_span_in_error() {
    let sdk = Sdk::new();
    let name = unique("it-otel-small");
    create_topic_with(&stack().bootstrap_servers, &name, 1, &[("max.message.bytes", "1000")]).await;
    let p = producer(&sdk, ProducerConfig::builder(stack().bootstrap_servers.as_str()).set("retries", "0"));
    let parcels = p.topic(PARCELS).name(&name).bind().await.unwrap();
    let big = Parcel { grams: 1, note: "x".repeat(5_000) };
    let e = parcels.send(Record::new(big).key("big".into())).await.unwrap_err();
    assert!(!e.to_string().is_empty());
    let spans = sdk.spans();
    let span = spans.iter().find(|s| s.name == format!("send {name}")).unwrap();
    assert_eq!(text(&span.attributes, "error.type").as_deref(), Some("too_large"), "{:?}", span.attributes);
    assert!(matches!(span.status, Status::Error { .. }));
    let metrics = sdk.metrics();
    let failed = &metrics["messaging.client.sent.messages"];
    assert_eq!(failed.len(), 1);
    assert_eq!(text(&failed[0].0, "error.type").as_deref(), Some("too_large"));
}

/// The mock producer traces and counts as the real one does: a span per record with the conventions'
/// attributes, ended at its report (a scripted failure with `error.type`), its context in the headers the mock
/// keeps, and the sent-messages metric by outcome.
#[tokio::test]
async fn the_mock_producer_traces_its_records_too() {
    use typed_kafka::mock::{MockOutcome, MockProducer};
    use typed_kafka::producer::DeliveryErrorKind;
    let sdk = Sdk::new();
    let config = ProducerConfig::builder("mock:9092").set("client.id", "mocked").build().unwrap();
    let mock = MockProducer::with_telemetry(config, 3, sdk.telemetry());
    let parcels = mock.bind(PARCELS).await.unwrap();
    let parcel = |note: &str| Parcel { grams: 5, note: note.into() };
    parcels.send(Record::new(parcel("a")).key("k".into())).await.unwrap();
    mock.script(MockOutcome::Fail(DeliveryErrorKind::TimedOut));
    parcels.send(Record::new(parcel("b"))).await.unwrap_err();

    let spans = sdk.spans();
    assert_eq!(spans.len(), 2, "{spans:?}");
    for span in &spans {
        assert_eq!(span.name, "send it-parcels");
        assert_eq!(span.span_kind, SpanKind::Producer);
        assert_eq!(text(&span.attributes, "messaging.client.id").as_deref(), Some("mocked"));
    }
    assert_eq!(text(&spans[0].attributes, "messaging.kafka.message.key").as_deref(), Some("k"));
    assert_eq!(attribute(&spans[0].attributes, "messaging.kafka.offset"), Some(&Value::I64(0)));
    assert_eq!(text(&spans[1].attributes, "error.type").as_deref(), Some("timed_out"));
    assert!(matches!(spans[1].status, Status::Error { .. }));
    let sent = mock.history::<PARCELS, Parcel>();
    let header = sent[0].record.headers.value("traceparent").expect("the context in the headers");
    assert_eq!(std::str::from_utf8(header).unwrap(), traceparent(&spans[0]));

    let metrics = sdk.metrics();
    let points = &metrics["messaging.client.sent.messages"];
    let failed = points.iter().find(|(a, _)| text(a, "error.type").as_deref() == Some("timed_out"));
    let delivered = points.iter().find(|(a, _)| text(a, "error.type").is_none());
    assert_eq!((delivered.map(|p| p.1), failed.map(|p| p.1)), (Some(1.0), Some(1.0)), "{points:?}");
    assert!(metrics.contains_key("messaging.client.operation.duration"));
}
