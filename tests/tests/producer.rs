//! `TypedProducer` against the real broker and registry: every send mode, every key kind, headers, timestamps,
//! tombstones, explicit partitions, refusals before the partitioner, the byte budget, too-large records, unknown
//! topics, interceptors, callbacks that panic, compression codecs, close and drop with records in flight.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::message::Headers as _;
use typed_kafka::config::ProducerConfig;
use typed_kafka::partition::java_partition;
use typed_kafka::producer::{BindError, DeliveryErrorKind, Interceptor, KeyHashing, ProduceError, SendErrorKind};
use typed_kafka::{
    Headers, KafkaRecord, Producer, Record, RecordMetadata, SchemaRegistryClient, SerializeError, Timestamp,
};
use typed_kafka_tests::{create_topic, read_back, stack, unique};

/// A sensor reading.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
struct Reading {
    sensor: String,
    value: i64,
    tags: Vec<String>,
}

/// A reading's key.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
struct SensorKey {
    site: String,
    sensor: i32,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
struct Line {
    sku: String,
    count: u64,
}

/// Counts that must fit Avro longs.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
struct Invoice {
    id: String,
    lines: Vec<Line>,
    total: u64,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
struct Alarm {
    sensor: String,
}

/// A transfer with data-contract rules.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.producer")]
#[kafka(rule(name = "distinct_accounts", expr = "this.from != this.to", doc = "no transfer to itself"))]
struct Transfer {
    #[kafka(pattern = "^[A-Z]{2}[0-9]{4}$")]
    from: String,
    to: String,
    #[kafka(min = 1)]
    cents: i64,
}

typed_kafka::topic! { READINGS: "it-readings", key: String, value: Reading; }
typed_kafka::topic! { TRANSFERS: "it-transfers", key: String, value: Transfer; }
typed_kafka::topic! { KEYED_READINGS: "it-keyed-readings", key: avro SensorKey, value: Reading; }
typed_kafka::topic! { COUNTERS: "it-counters", key: i64, value: Reading; }
typed_kafka::topic! { LOG: "it-log", value: Reading; }
typed_kafka::topic! { INVOICES: "it-invoices", key: String, value: Invoice; }
typed_kafka::topic! { SENSOR_EVENTS: "it-sensor-events", key: String, values: [Reading, Alarm]; }

fn registry() -> SchemaRegistryClient {
    SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap()
}

fn config() -> typed_kafka::config::ProducerConfigBuilder {
    ProducerConfig::builder(stack().bootstrap_servers.as_str()).set("delivery.timeout.ms", "60000")
}

fn producer(config: typed_kafka::config::ProducerConfigBuilder) -> Producer {
    Producer::builder(config.build().unwrap()).registry(registry()).build().unwrap()
}

fn reading(i: i64) -> Reading {
    Reading { sensor: format!("s-{i}"), value: i, tags: vec!["a".into()] }
}

async fn topic(prefix: &str, partitions: i32) -> String {
    let name = unique(prefix);
    create_topic(&stack().bootstrap_servers, &name, partitions, 1).await;
    name
}

fn consume(topic: &str, n: usize) -> Vec<rdkafka::message::OwnedMessage> {
    let msgs = read_back(&stack().bootstrap_servers, topic, n, Duration::from_secs(30));
    assert_eq!(msgs.len(), n, "records on {topic}");
    msgs
}

fn decode<T: KafkaRecord + for<'de> typed_kafka::AvroDecode<'de>>(framed: &[u8]) -> T {
    let (_, body) = typed_kafka::avro::wire::split(framed).unwrap();
    T::decode_body(body).unwrap()
}

/// Values of a few bytes to 8 KiB, sent fire-and-forget, called back and awaited, interleaved: every record arrives
/// with its own bytes, once.
#[tokio::test]
async fn values_of_every_size_arrive_intact_in_every_send_mode() {
    let name = topic("it-leased", 3).await;
    let p = producer(config());
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let n = 4_000usize;
    let value = |i: usize| Reading {
        sensor: format!("s-{i}"),
        value: i as i64,
        // Sizes from a few bytes to ~8 KiB, each record's text its own.
        tags: vec![format!("{i:05}").repeat([1, 100, 160, 200, 1_600][i % 5])],
    };
    let called_back = Arc::new(AtomicUsize::new(0));
    let mut deliveries = Vec::new();
    for i in 0..n {
        let record = Record::new(value(i)).key(format!("k{i}"));
        match i % 3 {
            0 => drop(readings.send_and_forget(record).await.unwrap()),
            1 => {
                let called_back = called_back.clone();
                readings
                    .send_with(record, move |r| {
                        r.unwrap();
                        called_back.fetch_add(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
            }
            _ => deliveries.push(readings.enqueue(record).await.unwrap()),
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    assert_eq!(p.flush(Duration::from_secs(60)).await, 0);
    assert_eq!(called_back.load(Ordering::SeqCst), n / 3);
    let mut seen = vec![false; n];
    for m in consume(&name, n) {
        let r: Reading = decode(m.payload().unwrap());
        let i = r.value as usize;
        assert_eq!(r, value(i), "record {i} arrived with other bytes");
        assert!(!std::mem::replace(&mut seen[i], true), "record {i} arrived twice");
    }
    let m = p.metrics();
    assert_eq!((m.records_sent, m.in_flight, m.buffered_bytes), (n as u64, 0, 0));
}

#[tokio::test]
async fn every_send_mode_delivers_and_reports_metadata() {
    let name = topic("it-modes", 3).await;
    let p = producer(config());
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();

    // Awaited.
    let meta = readings.send(Record::new(reading(1)).key("k1".into())).await.unwrap();
    assert_eq!(&*meta.topic, name.as_str());
    assert_eq!(meta.partition, java_partition(b"k1", 3) as i32, "Java's murmur2 over the key bytes");
    assert!(meta.offset.is_some() && meta.timestamp.is_some() && meta.value_schema_id.is_some());

    // Two-phase: enqueue many, await later.
    let mut deliveries = Vec::new();
    for i in 2..12 {
        deliveries.push(readings.enqueue(Record::new(reading(i)).key(format!("k{i}"))).await.unwrap());
    }
    let mut offsets = Vec::new();
    for d in deliveries {
        let m = d.await.unwrap();
        offsets.push((m.partition, m.offset.unwrap()));
    }
    offsets.sort();
    offsets.dedup();
    assert_eq!(offsets.len(), 10, "ten distinct positions");

    // Fire-and-forget, then flush.
    for i in 12..22 {
        readings.send_and_forget(Record::new(reading(i)).key(format!("k{i}"))).await.unwrap();
    }
    assert_eq!(p.flush(Duration::from_secs(30)).await, 0);

    // Callback.
    let (tx, rx) = std::sync::mpsc::channel::<Result<RecordMetadata, String>>();
    for i in 22..27 {
        let tx = tx.clone();
        readings
            .send_with(Record::new(reading(i)).key(format!("k{i}")), move |r| {
                let _ = tx.send(r.map_err(|e| e.to_string()));
            })
            .await
            .unwrap();
    }
    for _ in 22..27 {
        rx.recv_timeout(Duration::from_secs(30)).unwrap().unwrap();
    }

    // Blocking, from a thread outside async code; inside async code it refuses rather than stall the runtime.
    let blocking = readings.clone();
    let meta = tokio::task::spawn_blocking(move || blocking.send_blocking(Record::new(reading(27)).key("k27".into())))
        .await
        .unwrap()
        .unwrap();
    assert!(meta.offset.is_some());
    let plain = readings.clone();
    let meta = std::thread::spawn(move || plain.send_blocking(Record::new(reading(28)).key("k28".into())))
        .join()
        .unwrap()
        .unwrap();
    assert!(meta.offset.is_some(), "also from a thread no runtime knows");

    let msgs = consume(&name, 28);
    let mut values: Vec<i64> = msgs.iter().map(|m| decode::<Reading>(m.payload().unwrap()).value).collect();
    values.sort();
    assert_eq!(values, (1..29).collect::<Vec<_>>(), "each record exactly once");
    for m in &msgs {
        let key = m.key().unwrap();
        assert_eq!(m.partition(), java_partition(key, 3) as i32);
    }
    let metrics = p.metrics();
    assert_eq!(metrics.records_sent, 28);
    assert_eq!(metrics.in_flight, 0);
    assert_eq!(metrics.buffered_bytes, 0, "the budget is whole again");
}

#[tokio::test]
async fn each_key_kind_is_written_as_java_writes_it() {
    let p = producer(config());

    // Avro keys: framed as KafkaAvroSerializer writes them, partitioned over the framed bytes.
    let name = topic("it-avro-keys", 4).await;
    let keyed = p.topic(KEYED_READINGS).name(&name).bind().await.unwrap();
    let key = SensorKey { site: "north".into(), sensor: 7 };
    let meta = keyed.send(Record::new(reading(1)).key(key.clone())).await.unwrap();
    let key_id = meta.key_schema_id.unwrap();
    let msg = &consume(&name, 1)[0];
    let framed = msg.key().unwrap();
    assert_eq!(framed[0], 0);
    assert_eq!(u32::from_be_bytes(framed[1..5].try_into().unwrap()), key_id.0);
    assert_eq!(decode::<SensorKey>(framed), key);
    assert_eq!(msg.partition(), java_partition(framed, 4) as i32);
    assert_eq!(keyed.partition_for(&key).unwrap(), msg.partition());
    let subjects = registry().subjects().await.unwrap();
    assert!(subjects.contains(&format!("{name}-key")) && subjects.contains(&format!("{name}-value")));

    // LongSerializer keys: 8 bytes big-endian.
    let name = topic("it-long-keys", 4).await;
    let counters = p.topic(COUNTERS).name(&name).bind().await.unwrap();
    counters.send(Record::new(reading(2)).key(-42)).await.unwrap();
    let msg = &consume(&name, 1)[0];
    assert_eq!(msg.key().unwrap(), (-42i64).to_be_bytes());
    assert_eq!(msg.partition(), java_partition(&(-42i64).to_be_bytes(), 4) as i32);

    // No key at all; and an empty String key, which is hashed (Java hashes any non-null key).
    let name = topic("it-no-keys", 4).await;
    let log = p.topic(LOG).name(&name).bind().await.unwrap();
    log.send(Record::new(reading(3))).await.unwrap();
    assert!(consume(&name, 1)[0].key().is_none());
    let name = topic("it-empty-key", 4).await;
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let meta = readings.send(Record::new(reading(4)).key(String::new())).await.unwrap();
    assert_eq!(meta.partition, java_partition(b"", 4) as i32);
    assert_eq!(consume(&name, 1)[0].key(), Some(&b""[..]));
}

#[tokio::test]
async fn headers_timestamps_tombstones_and_explicit_partitions() {
    let name = topic("it-record-parts", 3).await;
    let p = producer(config());
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let meta = readings
        .send(
            Record::new(reading(1))
                .key("k".into())
                .header("trace-id", "abc")
                .header("trace-id", "def")
                .timestamp(1_600_000_000_123)
                .partition(2),
        )
        .await
        .unwrap();
    assert_eq!(meta.partition, 2, "an explicit partition wins over the key's hash");
    assert_eq!(meta.timestamp, Some(Timestamp::CreateTime(1_600_000_000_123)));
    let mut null_header = Record::new(reading(2)).key("k".into());
    null_header.headers.insert_null("empty");
    readings.send(null_header).await.unwrap();
    let tomb = readings.send(Record::<String, Reading>::tombstone("k".into())).await.unwrap();
    assert_eq!(tomb.serialized_value_size, None);
    assert_eq!(tomb.value_schema_id, None);

    let msgs = consume(&name, 3);
    let first = msgs.iter().find(|m| m.partition() == 2).unwrap();
    let headers = first.headers().unwrap();
    let pairs: Vec<(String, Option<Vec<u8>>)> =
        headers.iter().map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec))).collect();
    assert_eq!(pairs, [("trace-id".into(), Some(b"abc".to_vec())), ("trace-id".into(), Some(b"def".to_vec()))]);
    assert_eq!(first.timestamp(), rdkafka::Timestamp::CreateTime(1_600_000_000_123));
    let tombstone = msgs.iter().find(|m| m.payload().is_none()).expect("a tombstone: key, no value");
    assert_eq!(tombstone.key(), Some(&b"k"[..]));
    let with_null = msgs.iter().find(|m| m.headers().is_some_and(|h| h.count() == 1)).unwrap();
    assert_eq!(with_null.headers().unwrap().get(0).value, None);

    // A partition the topic does not have: refused before enqueue, with the record.
    let e = readings.send(Record::new(reading(3)).partition(9)).await.unwrap_err().into_record().unwrap();
    assert_eq!(e.value, Some(reading(3)));
}

#[tokio::test]
async fn a_violating_record_is_refused_with_every_path_and_nothing_else_is_affected() {
    let name = topic("it-refused", 2).await;
    let p = producer(config());
    let invoices = p.topic(INVOICES).name(&name).bind().await.unwrap();
    let good = |id: &str| Invoice { id: id.into(), lines: vec![Line { sku: "a".into(), count: 1 }], total: 5 };
    invoices.send(Record::new(good("before")).key("c".into())).await.unwrap();
    let bad = Invoice {
        id: "bad".into(),
        lines: vec![Line { sku: "a".into(), count: 1 }, Line { sku: "b".into(), count: u64::MAX }],
        total: u64::MAX,
    };
    let err = match invoices.send(Record::new(bad.clone()).key("c".into()).header("h", "1")).await {
        Err(ProduceError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(err.kind().is_schema_violation());
    match err.kind() {
        SendErrorKind::Value(SerializeError::Invalid { violations, .. }) => {
            let paths: Vec<String> = violations.iter().map(|v| v.path.to_string()).collect();
            assert_eq!(paths, ["/lines/1/count", "/total"], "every violation, not only the first");
        }
        other => panic!("expected a value violation, got {other:?}"),
    }
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("/lines/1/count") && err.to_string().contains("/total"), "{err}");
    let back = err.into_record();
    assert_eq!(back.value, Some(bad));
    assert_eq!(back.key.as_deref(), Some("c"));
    assert_eq!(back.headers.get("h"), Some(Some(&b"1"[..])));
    invoices.send(Record::new(good("after")).key("c".into())).await.unwrap();

    let ids: Vec<String> = consume(&name, 2).iter().map(|m| decode::<Invoice>(m.payload().unwrap()).id).collect();
    assert_eq!(ids, ["before", "after"], "nothing of the refused record was sent");
    assert_eq!(read_back(&stack().bootstrap_servers, &name, 3, Duration::from_secs(2)).len(), 2);
    let m = p.metrics();
    assert_eq!((m.records_sent, m.refused.schema_violation, m.in_flight), (2, 1, 0));
}

/// A record breaking data-contract rules is refused before the partitioner with every rule and path, and handed
/// back; nothing of it reaches the broker; the schema the registry holds carries the rules for other clients.
#[tokio::test]
async fn a_record_breaking_rules_is_refused_and_the_registered_schema_carries_them() {
    let name = topic("it-rules", 3).await;
    let p = producer(config());
    let transfers = p.topic(TRANSFERS).name(&name).bind().await.unwrap();
    let good = Transfer { from: "AB1234".into(), to: "CD5678".into(), cents: 100 };
    let meta = transfers.send(Record::new(good.clone()).key("t1".into())).await.unwrap();
    let bad = Transfer { from: "ab12".into(), to: "ab12".into(), cents: 0 };
    let err = match transfers.send(Record::new(bad.clone()).key("t2".into())).await {
        Err(ProduceError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let SendErrorKind::RuleViolation { violations, .. } = err.kind() else { panic!("{err}") };
    let broken: Vec<(String, &str)> = violations.iter().map(|v| (v.path.to_string(), v.rule)).collect();
    assert_eq!(
        broken,
        [("/".into(), "distinct_accounts"), ("/from".into(), "from_pattern"), ("/cents".into(), "cents_min")]
    );
    assert_eq!(err.into_record().value, Some(bad));
    let msgs = consume(&name, 1);
    assert_eq!(decode::<Transfer>(msgs[0].payload().unwrap()), good);
    assert_eq!(read_back(&stack().bootstrap_servers, &name, 2, Duration::from_secs(2)).len(), 1, "only the good one");
    assert_eq!(p.metrics().refused.rule_violation, 1);

    let id = typed_kafka::avro::wire::split(msgs[0].payload().unwrap()).unwrap().0;
    let registered = registry().schema_by_id(id).await.unwrap();
    let schema: serde_json::Value = serde_json::from_str(&registered.schema).unwrap();
    assert_eq!(schema["confluent:rules"][0]["expr"], "this.from != this.to", "{}", registered.schema);
    assert_eq!(schema["fields"][0]["confluent:rules"][0]["name"], "from_pattern");
    assert_eq!(meta.topic.as_ref(), name);
}

/// With a dead-letter topic, a record breaking rules is refused and handed back, and the broker holds its dead
/// letter: the key as the topic carries it, the value in Avro's JSON, the record's headers and Confluent's
/// `__rule.*` headers.
#[tokio::test]
async fn a_record_breaking_rules_reaches_the_dead_letter_topic_on_the_broker() {
    let name = topic("it-dlq", 3).await;
    let dlq = topic("it-dlq-dead", 1).await;
    let p = producer(config());
    let transfers = p.topic(TRANSFERS).name(&name).dead_letter_topic(&dlq).bind().await.unwrap();
    let bad = Transfer { from: "AB1234".into(), to: "AB1234".into(), cents: 7 };
    let e = transfers.send(Record::new(bad.clone()).key("t9".into()).header("origin", "it")).await.unwrap_err();
    assert_eq!(e.into_record().unwrap().value, Some(bad), "the record comes back");
    let good = Transfer { from: "AB1234".into(), to: "CD5678".into(), cents: 100 };
    transfers.send(Record::new(good).key("t1".into())).await.unwrap();
    let quick = producer(config().set("max.block.ms", "2000"));
    let missing = quick.topic(TRANSFERS).name(&name).dead_letter_topic(unique("it-dlq-missing")).bind().await;
    assert!(matches!(missing, Err(BindError::UnknownTopic { .. })), "{missing:?}");

    let letters = consume(&dlq, 1);
    let l = &letters[0];
    assert_eq!(l.key(), Some(&b"t9"[..]));
    let value: serde_json::Value = serde_json::from_slice(l.payload().unwrap()).unwrap();
    assert_eq!(value, serde_json::json!({"from": "AB1234", "to": "AB1234", "cents": 7}));
    let headers: Vec<(String, String)> = l
        .headers()
        .unwrap()
        .iter()
        .map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
        .collect();
    assert_eq!(headers[0], ("origin".into(), "it".into()));
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(header("__rule.name"), Some("distinct_accounts"));
    assert_eq!(header("__rule.mode"), Some("WRITE"));
    assert_eq!(header("__rule.subject"), Some(format!("{name}-value").as_str()));
    assert_eq!(header("__rule.topic"), Some(name.as_str()));
    assert!(header("__rule.exception").unwrap().contains("distinct_accounts"));
    assert_eq!(consume(&name, 1).len(), 1, "only the good record on the topic");
    assert_eq!((p.metrics().dead_lettered, p.metrics().dead_letters_lost), (1, 0));
}

/// A producer in `UseLatest` mode runs the rules the registered schema carries and the type does not, before the
/// partitioner, after the type's own; `registered_rules(Ignore)` leaves them to other clients.
#[tokio::test]
async fn the_registered_schemas_own_rules_are_enforced_before_the_partitioner() {
    use typed_kafka::{RegisteredRulesPolicy, SchemaMode};
    let name = topic("it-rules-latest", 1).await;
    let mut schema: serde_json::Value = serde_json::from_str(Transfer::schema().unwrap().json()).unwrap();
    schema["fields"][2]["confluent:rules"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "cents_below_1000", "expr": "this < 1000"}));
    let subject = format!("{name}-value");
    let unregistered = typed_kafka::registry::client::UnregisteredSchema::avro(schema.to_string());
    registry().register(&subject, &unregistered, typed_kafka::registry::client::Normalization::AsGiven).await.unwrap();
    let p = Producer::builder(config().build().unwrap())
        .registry(registry())
        .schema_mode(SchemaMode::UseLatest)
        .build()
        .unwrap();
    let transfers = p.topic(TRANSFERS).name(&name).bind().await.unwrap();
    let big = Transfer { from: "AB1234".into(), to: "CD5678".into(), cents: 5000 };
    let e = transfers.send(Record::new(big.clone()).key("t".into())).await.unwrap_err();
    let ProduceError::Refused(e) = e else { panic!("refused") };
    let SendErrorKind::RuleViolation { violations, .. } = e.kind() else { panic!("{e}") };
    assert_eq!(
        violations.iter().map(|v| (v.path.to_string(), v.rule)).collect::<Vec<_>>(),
        [("/cents".into(), "cents_below_1000")]
    );
    transfers.send(Record::new(Transfer { cents: 500, ..big.clone() }).key("t".into())).await.unwrap();
    let lenient = p.topic(TRANSFERS).name(&name).registered_rules(RegisteredRulesPolicy::Ignore).bind().await.unwrap();
    lenient.send(Record::new(big).key("t".into())).await.unwrap();
    assert_eq!(consume(&name, 2).len(), 2);
    assert_eq!(p.metrics().refused.rule_violation, 1);
}

#[tokio::test]
async fn a_topic_of_several_record_types_takes_each_under_its_own_subject() {
    let name = topic("it-multi", 1).await;
    let p = producer(config());
    let events = p.topic(SENSOR_EVENTS).name(&name).bind().await.unwrap();
    let a = events.send(Record::new(reading(1)).key("s".into())).await.unwrap();
    let b = events.send(Record::new(Alarm { sensor: "s".into() }).key("s".into())).await.unwrap();
    assert_ne!(a.value_schema_id, b.value_schema_id);
    let subjects = registry().subjects().await.unwrap();
    assert!(subjects.contains(&format!("{name}-it.producer.Reading")), "TopicRecordName subjects");
    assert!(subjects.contains(&format!("{name}-it.producer.Alarm")));
    let msgs = consume(&name, 2);
    assert_eq!(decode::<Alarm>(msgs[1].payload().unwrap()).sensor, "s");
}

#[tokio::test]
async fn a_full_buffer_waits_for_deliveries_then_refuses_after_max_block() {
    let name = topic("it-budget", 1).await;
    // Records sit in librdkafka for linger.ms; the budget holds about five of them.
    let p = producer(
        config()
            .set("linger.ms", "20000")
            .set("delivery.timeout.ms", "60000")
            .set("buffer.memory", "400")
            .set("max.request.size", "200")
            .set("max.block.ms", "300"),
    );
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let mut deliveries = Vec::new();
    let refused = loop {
        match readings.enqueue(Record::new(reading(deliveries.len() as i64)).key("k".into())).await {
            Ok(d) => deliveries.push(d),
            Err(e) => break e,
        }
        assert!(deliveries.len() < 100, "the budget never filled");
    };
    match refused.kind() {
        SendErrorKind::BufferFull { waited, .. } => assert!(*waited >= Duration::from_millis(300)),
        other => panic!("expected BufferFull, got {other:?}"),
    }
    assert!(refused.is_retriable());
    assert_eq!(refused.record().value, Some(reading(deliveries.len() as i64)), "the record comes back");
    assert!(p.metrics().buffered_bytes > 0);

    // A send waiting for the budget is woken by the deliveries a flush brings, long before max.block.ms.
    let p2 = producer(
        config()
            .set("linger.ms", "20000")
            .set("delivery.timeout.ms", "60000")
            .set("buffer.memory", "1000")
            .set("max.request.size", "200")
            .set("max.block.ms", "30000"),
    );
    let readings2 = p2.topic(READINGS).name(&name).bind().await.unwrap();
    let mut body = Vec::new();
    reading(1).encode_body(&mut body).unwrap();
    let size = (5 + body.len() + 1) as u64; // frame, body, a one-byte key
    readings2.send_and_forget(Record::new(reading(0)).key("k".into())).await.unwrap();
    // Each record takes its bytes and the batching core's per-record overhead.
    let charge = p2.metrics().buffered_bytes;
    assert_eq!(
        charge,
        size + u64::from(typed_kafka::config::RECORD_OVERHEAD),
        "a record's bytes and the per-record overhead"
    );
    let mut n = 1;
    while p2.metrics().buffered_bytes + charge <= 1000 {
        readings2.send_and_forget(Record::new(reading(n % 10)).key("k".into())).await.unwrap();
        n += 1;
    }
    let waiter = {
        let readings2 = readings2.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            readings2.send_and_forget(Record::new(reading(999)).key("k".into())).await.map(|_| started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the send waits while the budget is full");
    assert_eq!(p2.flush(Duration::from_secs(30)).await, 0);
    let waited = waiter.await.unwrap().unwrap();
    assert!(waited < Duration::from_secs(20), "woken by deliveries, not by max.block.ms: {waited:?}");
    assert_eq!(p.flush(Duration::from_secs(30)).await, 0);
    for d in deliveries {
        d.await.unwrap();
    }
}

#[tokio::test]
async fn records_too_large_and_unknown_topics_are_refused_up_front() {
    let name = topic("it-large", 1).await;
    let p = producer(config().set("max.request.size", "1000"));
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let big = Reading { sensor: "x".repeat(2000), value: 1, tags: vec![] };
    let e = readings.send(Record::new(big.clone())).await.unwrap_err();
    let ProduceError::Refused(e) = e else { panic!("expected a refusal") };
    assert!(matches!(e.kind(), SendErrorKind::TooLarge { max: 1000, .. }), "{e}");
    assert_eq!(e.into_record().value, Some(big));
    assert_eq!(p.metrics().refused.too_large, 1);

    let p = producer(config().set("max.block.ms", "2000"));
    let started = Instant::now();
    match p.topic(READINGS).name(unique("it-no-such-topic")).bind().await {
        Err(BindError::UnknownTopic { .. }) => {}
        other => panic!("expected UnknownTopic, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "refused after max.block.ms");
}

#[tokio::test]
async fn a_changed_key_schema_is_refused_unless_opted_in() {
    /// Version 2 of the key: one more field, with a default (compatible, but another schema ID).
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "it.producer", rename = "SensorKey")]
    struct SensorKeyV2 {
        site: String,
        sensor: i32,
        #[kafka(default = 0)]
        rack: i32,
    }
    typed_kafka::topic! { KEYED_V2: "it-keyed-readings", key: avro SensorKeyV2, value: Reading; }

    let name = topic("it-key-guard", 4).await;
    let p = producer(config());
    let v1 = p.topic(KEYED_READINGS).name(&name).bind().await.unwrap();
    let meta = v1.send(Record::new(reading(1)).key(SensorKey { site: "n".into(), sensor: 1 })).await.unwrap();
    let v1_id = meta.key_schema_id.unwrap();

    match p.topic(KEYED_V2).name(&name).bind().await {
        Err(BindError::KeySchemaChanged { registered, ours: None, .. }) => assert_eq!(registered, v1_id),
        other => panic!("expected KeySchemaChanged, got {other:?}"),
    }
    let reason = p.topic(KEYED_V2).name(&name).bind().await.unwrap_err().to_string();
    assert!(reason.contains("other partitions") && reason.contains("allow_key_schema_change"), "{reason}");
    let versions = registry().versions(&format!("{name}-key")).await.unwrap();
    assert_eq!(versions.len(), 1, "the refused key schema was not registered");

    // Opting in to hashing the Avro body keeps each key's partition whatever its schema ID.
    let v2 =
        p.topic(KEYED_V2).name(&name).allow_key_schema_change().key_hashing(KeyHashing::AvroBody).bind().await.unwrap();
    let key = SensorKeyV2 { site: "n".into(), sensor: 1, rack: 3 };
    let meta = v2.send(Record::new(reading(2)).key(key.clone())).await.unwrap();
    assert_ne!(meta.key_schema_id, Some(v1_id));
    let mut body = Vec::new();
    key.encode_body(&mut body).unwrap();
    assert_eq!(meta.partition, java_partition(&body, 4) as i32);
    // And now the v1 type is the stale one.
    assert!(matches!(p.topic(KEYED_READINGS).name(&name).bind().await, Err(BindError::KeySchemaChanged { .. })));
}

#[derive(Default)]
struct Counting {
    sent: AtomicUsize,
    acked: AtomicUsize,
    failed: AtomicUsize,
}

struct Tagging(Arc<Counting>);

impl Interceptor for Tagging {
    fn on_send(&self, _topic: &str, headers: &mut Headers) {
        self.0.sent.fetch_add(1, Ordering::SeqCst);
        headers.insert("intercepted", "yes");
    }
    fn on_acknowledgement(&self, result: Result<&RecordMetadata, &typed_kafka::producer::DeliveryError>) {
        let counter = if result.is_ok() { &self.0.acked } else { &self.0.failed };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

struct Panicking;

impl Interceptor for Panicking {
    fn on_send(&self, _: &str, _: &mut Headers) {
        panic!("an interceptor bug");
    }
    fn on_acknowledgement(&self, _: Result<&RecordMetadata, &typed_kafka::producer::DeliveryError>) {
        panic!("another interceptor bug");
    }
}

#[tokio::test]
async fn interceptors_see_every_record_and_panics_never_stop_the_producer() {
    let name = topic("it-intercept", 1).await;
    let counts = Arc::new(Counting::default());
    let p = Producer::builder(config().build().unwrap())
        .registry(registry())
        .interceptor(Panicking)
        .interceptor(Tagging(counts.clone()))
        .build()
        .unwrap();
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    readings.send_with(Record::new(reading(1)), |_| panic!("a callback bug")).await.unwrap();
    readings
        .send_with(Record::new(reading(2)), move |r| {
            let _ = tx.send(r.is_ok());
        })
        .await
        .unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(30)).unwrap());
    readings.send(Record::new(reading(3))).await.unwrap();
    assert_eq!(counts.sent.load(Ordering::SeqCst), 3);
    assert_eq!(counts.acked.load(Ordering::SeqCst), 3);
    for m in consume(&name, 3) {
        assert_eq!(m.headers().unwrap().get(0).value, Some(&b"yes"[..]), "on_send added the header");
    }
}

#[tokio::test]
async fn every_compression_codec_round_trips() {
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let name = topic(&format!("it-{codec}"), 1).await;
        let p = producer(config().set("compression.type", codec).set("linger.ms", "50"));
        let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
        let mut deliveries = Vec::new();
        for i in 0..50 {
            let r = Reading { sensor: "compressible ".repeat(20), value: i, tags: vec![codec.into()] };
            deliveries.push(readings.enqueue(Record::new(r).key(format!("{i}"))).await.unwrap());
        }
        for d in deliveries {
            d.await.unwrap_or_else(|e| panic!("{codec}: {e}"));
        }
        let values: Vec<i64> =
            consume(&name, 50).iter().map(|m| decode::<Reading>(m.payload().unwrap()).value).collect();
        assert_eq!(values, (0..50).collect::<Vec<_>>(), "{codec}");
    }
}

/// Records in flight to a broker that went away: the delivery timeout, close(timeout) and dropping the producer.
/// A private broker (the shared one stays up for the other tests) is started, given a topic, and stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_flight_to_a_broker_that_is_gone() {
    use typed_kafka_stack::Service;
    let stack = typed_kafka_tests::PrivateStack::new("producer-gone", |c| {
        c.kafka_port = 28592;
        c.cluster_port = 28602;
        c.registry_port = 28581;
    });
    let bootstrap = stack.up(&[Service::Kafka]).expect("private broker").endpoints.bootstrap_servers;
    let name = unique("it-gone");
    create_topic(&bootstrap, &name, 1, 1).await;
    let build = |delivery_timeout: &str| {
        let config = ProducerConfig::builder(bootstrap.as_str())
            .set("delivery.timeout.ms", delivery_timeout)
            .set("request.timeout.ms", "1000")
            .set("linger.ms", "0")
            .build()
            .unwrap();
        Producer::builder(config).registry(registry()).build().unwrap()
    };
    let (short, long, dropped) = (build("4000"), build("120000"), build("120000"));
    let (short_t, long_t, dropped_t) = (
        short.topic(READINGS).name(&name).bind().await.unwrap(),
        long.topic(READINGS).name(&name).bind().await.unwrap(),
        dropped.topic(READINGS).name(&name).bind().await.unwrap(),
    );
    // The same with OpenTelemetry: the record's span ends in error when its delivery times out.
    use opentelemetry::trace::TracerProvider as _;
    let spans = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let tracer = opentelemetry_sdk::trace::SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
    let meter = opentelemetry_sdk::metrics::SdkMeterProvider::default();
    let telemetry = typed_kafka::otel::Telemetry::new(
        tracer.tracer("it"),
        opentelemetry::metrics::MeterProvider::meter(&meter, "it"),
    );
    let traced = Producer::builder(
        ProducerConfig::builder(bootstrap.as_str())
            .set("delivery.timeout.ms", "4000")
            .set("request.timeout.ms", "1000")
            .build()
            .unwrap(),
    )
    .registry(registry())
    .telemetry(telemetry)
    .build()
    .unwrap();
    let traced_t = traced.topic(READINGS).name(&name).bind().await.unwrap();
    long_t.send(Record::new(reading(0))).await.unwrap();
    stack.down(&[Service::Kafka]).expect("stop the private broker");

    // The delivery timeout passes: the error names topic and partition and says the record may be retried.
    let (sent, traced_sent) =
        tokio::join!(short_t.send(Record::new(reading(1))), traced_t.send(Record::new(reading(1))));
    assert!(matches!(traced_sent, Err(ProduceError::NotDelivered(_))));
    tracer.force_flush().unwrap();
    let finished = spans.get_finished_spans().unwrap();
    let span = finished.iter().find(|s| s.name == format!("send {name}")).expect("the record's span");
    let error = span.attributes.iter().find(|kv| kv.key.as_str() == "error.type").map(|kv| kv.value.as_str());
    assert_eq!(error.as_deref(), Some("timed_out"), "{:?}", span.attributes);
    assert!(matches!(span.status, opentelemetry::trace::Status::Error { .. }));
    let e = match sent {
        Err(ProduceError::NotDelivered(e)) => e,
        other => panic!("expected a delivery failure, got {other:?}"),
    };
    assert_eq!(&*e.topic, name.as_str());
    assert_eq!(e.kind, DeliveryErrorKind::TimedOut, "{e}");
    assert!(e.is_retriable(), "{e}");
    assert!(!e.is_fatal());
    let m = short.metrics();
    assert_eq!((m.records_failed, m.in_flight, m.buffered_bytes), (1, 0, 0));
    // A fire-and-forget record (which librdkafka carries as its ID alone) fails the same way, and its bytes come
    // back to the budget.
    short_t.send_and_forget(Record::new(reading(2)).key("k".into())).await.unwrap();
    assert!(short.metrics().buffered_bytes > 0);
    assert_eq!(short.flush(Duration::from_secs(30)).await, 0);
    let m = short.metrics();
    assert_eq!((m.records_failed, m.in_flight, m.buffered_bytes), (2, 0, 0));

    // close(timeout) reports exactly the records that were not delivered, fire-and-forget ones included, and the
    // futures fail Purged.
    let mut ids = Vec::new();
    let mut deliveries = Vec::new();
    for i in 0..6 {
        if i % 2 == 0 {
            let d = long_t.enqueue(Record::new(reading(i))).await.unwrap();
            ids.push(d.record_id());
            deliveries.push(d);
        } else {
            ids.push(long_t.send_and_forget(Record::new(reading(i))).await.unwrap());
        }
    }
    let started = Instant::now();
    let report = long.close(Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_secs(15), "close is bounded by its timeout");
    let reported: Vec<u64> = report.undelivered.iter().map(|u| u.record_id).collect();
    assert_eq!(reported, ids, "exactly the records in flight");
    assert!(report.undelivered.iter().all(|u| &*u.topic == name.as_str()));
    for d in deliveries {
        assert_eq!(d.await.unwrap_err().kind, DeliveryErrorKind::Purged);
    }
    match long_t.send(Record::new(reading(5))).await {
        Err(ProduceError::Refused(e)) => assert!(matches!(e.kind(), SendErrorKind::Closed)),
        other => panic!("expected Closed, got {other:?}"),
    }

    // Dropping a producer with records in flight fails them (futures and callbacks) and never hangs.
    let mut deliveries = Vec::new();
    for i in 0..3 {
        deliveries.push(dropped_t.enqueue(Record::new(reading(i))).await.unwrap());
    }
    let failed = Arc::new(AtomicUsize::new(0));
    let f = failed.clone();
    dropped_t
        .send_with(Record::new(reading(9)), move |r| {
            if r.is_err() {
                f.fetch_add(1, Ordering::SeqCst);
            }
        })
        .await
        .unwrap();
    assert_eq!(dropped.in_flight(), 4);
    let started = Instant::now();
    tokio::task::spawn_blocking(move || {
        drop(dropped_t);
        drop(dropped);
    })
    .await
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "dropping does not hang");
    for d in deliveries {
        let e = tokio::time::timeout(Duration::from_secs(10), d).await.unwrap().unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::Purged);
    }
    // The callback's report may come after the futures' (the teardown serves them in turn).
    let deadline = Instant::now() + Duration::from_secs(10);
    while failed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(failed.load(Ordering::SeqCst), 1, "the callback ran with the failure");
}

/// A consumer of `Reading`s of the typed topic `T` under the name `name`, assigned every partition from the start.
async fn reading_from_start<T: typed_kafka::topic::Topic>(
    name: &str,
) -> typed_kafka::consumer::TypedConsumer<T, Reading>
where
    Reading: typed_kafka::topic::ValueOf<T>,
{
    use typed_kafka::consumer::{StartAt, TypedConsumer};
    let consumer = TypedConsumer::<T, Reading>::builder(stack().bootstrap_servers.as_str(), registry())
        .name(name)
        .build()
        .unwrap();
    consumer.assign_all(StartAt::Beginning).await.unwrap();
    consumer
}

#[tokio::test]
async fn the_typed_consumer_reads_back_keys_values_headers_and_tombstones() {
    let name = topic("it-consumer", 2).await;
    let p = producer(config());
    let keyed = p.topic(KEYED_READINGS).name(&name).bind().await.unwrap();
    let key = SensorKey { site: "s".into(), sensor: 3 };
    keyed.send(Record::new(reading(1)).key(key.clone()).header("h", "v")).await.unwrap();
    keyed.send(Record::<SensorKey, Reading>::tombstone(key.clone())).await.unwrap();
    let consumer = reading_from_start::<KEYED_READINGS>(&name).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let record = consumer.poll(Duration::from_secs(30)).await.expect("a record in time").unwrap();
        got.push(record);
    }
    got.sort_by_key(|r| r.offset);
    assert_eq!(got[0].key.as_ref(), Some(&key), "Avro keys read back through the registry");
    assert_eq!(got[0].value, Some(reading(1)));
    assert_eq!(got[0].headers.get("h"), Some(Some(&b"v"[..])));
    assert_eq!((got[0].headers.value("h"), got[0].headers.value("absent")), (Some(&b"v"[..]), None));
    assert!(matches!(got[0].timestamp, Some(Timestamp::CreateTime(_))));
    // The schema IDs the key and value were written with, and their bytes as they were in the topic.
    let registered = |subject: String| async move { registry().latest_version_cached(&subject).await.unwrap().id };
    let (key_id, value_id) = (registered(format!("{name}-key")).await, registered(format!("{name}-value")).await);
    assert_eq!((got[0].key_schema_id, got[0].value_schema_id), (Some(key_id.into()), Some(value_id.into())));
    let raw_value = got[0].raw_value.as_deref().expect("the value's bytes");
    assert_eq!(typed_kafka::avro::wire::split(raw_value).unwrap(), (value_id, &raw_value[5..]));
    assert_eq!(Reading::decode_body(&raw_value[5..]).unwrap(), reading(1));
    assert_eq!(typed_kafka::avro::wire::split(got[0].raw_key.as_deref().unwrap()).unwrap().0, key_id);
    assert_eq!(got[1].value, None, "a tombstone");
    assert_eq!((got[1].value_schema_id, got[1].raw_value.as_ref()), (None, None));
    assert_eq!(got[1].key.as_ref(), Some(&key));

    // Plain keys come back in the standard deserializers' formats.
    let name = topic("it-consumer-plain", 1).await;
    let counters = p.topic(COUNTERS).name(&name).bind().await.unwrap();
    counters.send(Record::new(reading(2)).key(i64::MIN)).await.unwrap();
    let consumer = reading_from_start::<COUNTERS>(&name).await;
    let record = consumer.poll(Duration::from_secs(30)).await.expect("a record in time").unwrap();
    assert_eq!(record.key_schema_id, None, "a plain key has no schema");
    assert_eq!(record.raw_key.as_deref(), Some(&i64::MIN.to_be_bytes()[..]), "Kafka's LongSerializer format");
    assert_eq!((record.key, record.value), (Some(i64::MIN), Some(reading(2))));
}

#[tokio::test]
async fn the_typed_consumer_reads_confluents_header_framing() {
    use rdkafka::message::{Header, OwnedHeaders};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use typed_kafka::avro::SchemaRef;
    use typed_kafka::avro::wire::{VALUE_SCHEMA_ID_HEADER, schema_ref_from_header};
    use typed_kafka::consumer::ConsumeError;

    // The value's schema registered as the typed producer would; then records framed by header, as Confluent's
    // serializers write them with `schema.id.serializer` set to the header serializer: the body bare.
    let name = topic("it-consumer-header", 1).await;
    let p = producer(config());
    p.topic(LOG).name(&name).bind().await.unwrap();
    let id = registry().latest_version_cached(&format!("{name}-value")).await.unwrap().id;
    let mut body = Vec::new();
    reading(7).encode_body(&mut body).unwrap();
    let by_id: Vec<u8> = [&[0u8][..], &id.0.to_be_bytes()].concat();
    let guid: Vec<u8> = [&[1u8][..], &0x0011_2233_4455_6677_8899_aabb_ccdd_eeffu128.to_be_bytes()].concat();
    let raw: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", &stack().bootstrap_servers).create().unwrap();
    for header in [&by_id, &guid] {
        let headers =
            OwnedHeaders::new().insert(Header { key: VALUE_SCHEMA_ID_HEADER, value: Some(header.as_slice()) });
        let record = FutureRecord::<(), _>::to(&name).payload(&body).headers(headers);
        raw.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| e).unwrap();
    }

    let consumer = reading_from_start::<LOG>(&name).await;
    // An ID in the header: read as the framed record would be.
    let record = consumer.poll(Duration::from_secs(30)).await.expect("a record in time").unwrap();
    assert_eq!(record.value, Some(reading(7)));
    assert_eq!(record.value_schema_id, Some(SchemaRef::Id(id)));
    assert_eq!(record.raw_value.as_deref(), Some(body.as_slice()), "the body is bare");
    // A GUID this registry (Apicurio 3.0.9) cannot resolve: a clear, typed error naming it.
    let err = consumer.poll(Duration::from_secs(30)).await.expect("a record in time").unwrap_err();
    let text = err.to_string();
    let ConsumeError::Value { source, .. } = &err else { panic!("expected a value error, got {err:?}") };
    match &**source {
        typed_kafka::DeserializeError::Registry { schema, source, .. } => {
            assert_eq!(Some(*schema), schema_ref_from_header(&guid).ok());
            assert!(matches!(source, typed_kafka::RegistryError::SchemaNotFound { .. }), "{source}");
        }
        other => panic!("expected a registry error for the GUID, got {other:?}"),
    }
    assert!(text.contains("GUID 00112233-4455-6677-8899-aabbccddeeff"), "{text}");
}

#[tokio::test]
async fn librdkafka_batch_statistics_reach_the_metrics() {
    let name = topic("it-stats", 1).await;
    // statistics.interval.ms is librdkafka-only, so it passes through explicitly.
    let p = Producer::builder(
        config().set("linger.ms", "20").set_librdkafka("statistics.interval.ms", "200").build().unwrap(),
    )
    .registry(registry())
    .build()
    .unwrap();
    let readings = p.topic(READINGS).name(&name).bind().await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..200 {
        deliveries.push(readings.enqueue(Record::new(reading(i)).key("k".into())).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.metrics().batch_records_avg.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let m = p.metrics();
    assert!(m.batch_records_avg.is_some_and(|n| n >= 1), "{m:?}");
    assert!(m.batch_size_avg.is_some_and(|n| n > 0), "{m:?}");
    assert!(m.requests_sent.is_some_and(|n| n > 0), "{m:?}");
    assert_eq!(m.records_sent, 200);
    assert!(m.bytes_sent > 200 * 10);
}

#[tokio::test]
async fn a_custom_partitioner_and_sticky_null_keys_on_the_broker() {
    let name = topic("it-partitioner", 6).await;
    let p = producer(config());
    let events = p
        .topic(SENSOR_EVENTS)
        .name(&name)
        .partitioner::<Alarm>(|key, alarm, partitions| {
            assert_eq!(partitions, 6);
            let urgent = alarm.is_some_and(|a| a.sensor.starts_with("fire")) || key.is_some_and(|k| k == "boiler");
            if urgent { 5 } else { 0 }
        })
        .bind()
        .await
        .unwrap();
    let fire = events.send(Record::new(Alarm { sensor: "fire-1".into() }).key("x".into())).await.unwrap();
    let boiler = events.send(Record::new(Alarm { sensor: "temp".into() }).key("boiler".into())).await.unwrap();
    let calm = events.send(Record::new(Alarm { sensor: "temp".into() }).key("x".into())).await.unwrap();
    assert_eq!((fire.partition, boiler.partition, calm.partition), (5, 5, 0));
    // Readings have no partitioner: Java's murmur2 of the key.
    let r = events.send(Record::new(reading(1)).key("x".into())).await.unwrap();
    assert_eq!(r.partition, java_partition(b"x", 6) as i32);

    // Records without a key stick to a partition for a while (librdkafka's sticky.partitioning.linger.ms, as
    // Java's built-in partitioner sticks per batch) rather than spreading one by one.
    let mut deliveries = Vec::new();
    for i in 0..60 {
        deliveries.push(events.enqueue(Record::new(reading(i))).await.unwrap());
    }
    let mut partitions = std::collections::BTreeSet::new();
    for d in deliveries {
        partitions.insert(d.await.unwrap().partition);
    }
    assert!(partitions.len() <= 3, "60 keyless records in a burst spread over {partitions:?}");
}

/// A fatal error of the idempotent producer (a cluster authorization failure on InitProducerId, injected through
/// librdkafka's in-process mock cluster, since a real broker cannot be made to fail this way on demand): the
/// records in flight fail as fatal, later sends are refused with the reason, and the producer says it must be
/// rebuilt.
#[tokio::test]
async fn a_fatal_error_says_the_producer_must_be_rebuilt() {
    use rdkafka::mocking::MockCluster;
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic("it-fatal", 1, 1).unwrap();
    cluster.request_errors(
        RDKafkaApiKey::InitProducerId,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED],
    );
    let config =
        ProducerConfig::builder(cluster.bootstrap_servers()).set("delivery.timeout.ms", "60000").build().unwrap();
    let p = Producer::builder(config).registry(registry()).build().unwrap();
    let readings = p.topic(READINGS).name("it-fatal").bind().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), readings.send(Record::new(reading(1)))).await.unwrap();
    match first {
        // librdkafka purges what was queued when the error turns fatal.
        Err(ProduceError::NotDelivered(e)) => assert!(e.is_fatal() || e.kind == DeliveryErrorKind::Purged, "{e}"),
        Err(ProduceError::Refused(e)) => assert!(matches!(e.kind(), SendErrorKind::Fatal { .. }), "{e}"),
        other => panic!("expected a fatal failure, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.fatal_error().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reason = p.fatal_error().expect("the fatal error is known");
    match readings.send(Record::new(reading(2))).await {
        Err(ProduceError::Refused(e)) => {
            assert!(matches!(e.kind(), SendErrorKind::Fatal { .. }), "{e}");
            assert!(e.to_string().contains("rebuilt"), "{e}");
            assert!(!e.is_retriable());
            assert_eq!(e.into_record().value, Some(reading(2)));
        }
        other => panic!("expected a fatal refusal, got {other:?} ({reason:?})"),
    }
}
