//! Schema evolution end to end, against the real Kafka and registry: v1 and v2 of a subject registered (the
//! registry's BACKWARD level accepts v2), records produced with each, and both read back as v2 (a newer consumer
//! of older data) and as v1 (an older consumer of newer data), through the deserializer's resolution; a v2 that
//! v1 cannot read refused with its path; Java-written records of other versions read; an older type writing into
//! the registered schema.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use typed_kafka::{AvroDeserializer, AvroSerializer, KafkaRecord, SchemaRegistryClient, SerializerConfig};
use typed_kafka_tests::{create_topic, stack, unique};

mod v1 {
    use super::*;

    /// A payment, first version.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.evolution", rename = "Payment")]
    pub(crate) struct Payment {
        pub(crate) id: i64,
        pub(crate) amount_cents: i32,
        pub(crate) method: String,
    }
}

mod v2 {
    use super::*;

    /// A payment, second version: the amount widened, a currency added with a default, a note added.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.evolution", rename = "Payment")]
    pub(crate) struct Payment {
        pub(crate) id: i64,
        pub(crate) amount_cents: i64,
        pub(crate) method: String,
        #[kafka(default = "EUR")]
        pub(crate) currency: String,
        pub(crate) note: Option<String>,
    }
}

mod v2full {
    use super::*;

    /// A payment, second version, compatible both ways with v1: a currency and a note added, with defaults.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.evolution", rename = "Payment")]
    pub(crate) struct Payment {
        pub(crate) id: i64,
        pub(crate) amount_cents: i32,
        pub(crate) method: String,
        #[kafka(default = "EUR")]
        pub(crate) currency: String,
        pub(crate) note: Option<String>,
    }
}

/// Produces `payloads` (framed records, no key) to `topic`, each acknowledged.
async fn produce(topic: &str, payloads: &[&[u8]]) {
    let producer: FutureProducer =
        ClientConfig::new().set("bootstrap.servers", &stack().bootstrap_servers).create().unwrap();
    for payload in payloads {
        producer
            .send(FutureRecord::<(), _>::to(topic).payload(*payload), Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// Consumes `n` payloads from the start of `topic`'s partition 0.
async fn consume(topic: &str, n: usize) -> Vec<Vec<u8>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &stack().bootstrap_servers)
        .set("group.id", unique("it-evolution-group"))
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning).unwrap();
    consumer.assign(&tpl).unwrap();
    let mut payloads = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while payloads.len() < n && std::time::Instant::now() < deadline {
        if let Some(msg) = consumer.poll(Duration::from_millis(500)) {
            payloads.push(msg.unwrap().payload().unwrap().to_vec());
        }
    }
    assert_eq!(payloads.len(), n, "records consumed");
    payloads
}

/// v1 and a v2 compatible both ways registered under one subject, one record produced with each, and both read
/// back into the v2 type and into the v1 type.
#[tokio::test]
async fn both_versions_read_both_versions_records() {
    let endpoints = stack();
    let topic = unique("it-evolution-full");
    create_topic(&endpoints.bootstrap_servers, &topic, 1, 1).await;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build().unwrap();
    let old = v1::Payment { id: 1, amount_cents: 1250, method: "card".into() };
    let new = v2full::Payment {
        id: 2,
        amount_cents: 77,
        method: "sepa".into(),
        currency: "CHF".into(),
        note: Some("rent".into()),
    };
    let (mut b1, mut b2) = (Vec::new(), Vec::new());
    AvroSerializer::<v1::Payment>::new(registry.clone(), SerializerConfig::default())
        .unwrap()
        .serialize(&topic, &old, &mut b1)
        .await
        .unwrap();
    AvroSerializer::<v2full::Payment>::new(registry.clone(), SerializerConfig::default())
        .unwrap()
        .serialize(&topic, &new, &mut b2)
        .await
        .unwrap();
    assert_eq!(registry.versions(&format!("{topic}-value")).await.unwrap(), [1, 2]);
    produce(&topic, &[&b1, &b2]).await;
    let payloads = consume(&topic, 2).await;
    let as_v2 = AvroDeserializer::<v2full::Payment>::new(registry.clone()).unwrap();
    assert_eq!(
        as_v2.deserialize(&topic, &payloads[0]).await.unwrap(),
        v2full::Payment { id: 1, amount_cents: 1250, method: "card".into(), currency: "EUR".into(), note: None }
    );
    assert_eq!(as_v2.deserialize(&topic, &payloads[1]).await.unwrap(), new);
    let as_v1 = AvroDeserializer::<v1::Payment>::new(registry).unwrap();
    assert_eq!(as_v1.deserialize(&topic, &payloads[0]).await.unwrap(), old);
    assert_eq!(
        as_v1.deserialize(&topic, &payloads[1]).await.unwrap(),
        v1::Payment { id: 2, amount_cents: 77, method: "sepa".into() }
    );
}

#[tokio::test]
async fn records_of_both_versions_are_read_by_both_versions() {
    let endpoints = stack();
    let topic = unique("it-evolution");
    create_topic(&endpoints.bootstrap_servers, &topic, 1, 1).await;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build().unwrap();

    // Registering v1, then v2 (BACKWARD-compatible), under one subject: two IDs.
    let w1 = AvroSerializer::<v1::Payment>::new(registry.clone(), SerializerConfig::default()).unwrap();
    let w2 = AvroSerializer::<v2::Payment>::new(registry.clone(), SerializerConfig::default()).unwrap();
    let old = v1::Payment { id: 1, amount_cents: 1250, method: "card".into() };
    let new = v2::Payment {
        id: 2,
        amount_cents: 5_000_000_000,
        method: "sepa".into(),
        currency: "CHF".into(),
        note: Some("rent".into()),
    };
    let (mut b1, mut b2) = (Vec::new(), Vec::new());
    let id1 = w1.serialize(&topic, &old, &mut b1).await.unwrap();
    let id2 = w2.serialize(&topic, &new, &mut b2).await.unwrap();
    assert_ne!(id1, id2);
    assert_eq!(registry.versions(&format!("{topic}-value")).await.unwrap(), [1, 2]);

    produce(&topic, &[&b1, &b2]).await;
    let payloads = consume(&topic, 2).await;

    // A v2 consumer reads both: v1's record with the promoted amount and the defaults.
    let r2 = AvroDeserializer::<v2::Payment>::new(registry.clone()).unwrap();
    assert_eq!(
        r2.deserialize(&topic, &payloads[0]).await.unwrap(),
        v2::Payment { id: 1, amount_cents: 1250, method: "card".into(), currency: "EUR".into(), note: None }
    );
    assert_eq!(r2.deserialize(&topic, &payloads[1]).await.unwrap(), new);

    // A v1 consumer reads v1's record, and refuses v2's: its amount is a long, which an int cannot read; the error
    // lists the break with its path.
    let r1 = AvroDeserializer::<v1::Payment>::new(registry.clone()).unwrap();
    assert_eq!(r1.deserialize(&topic, &payloads[0]).await.unwrap(), old);
    match r1.deserialize(&topic, &payloads[1]).await {
        Err(typed_kafka::DeserializeError::Incompatible { schema, source, .. }) => {
            assert_eq!(schema, typed_kafka::avro::SchemaRef::Id(id2));
            let paths: Vec<&str> = source.breaks.iter().map(|b| b.path.as_str()).collect();
            assert_eq!(paths, ["/fields/amount_cents"]);
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
}

mod v3 {
    use super::*;

    /// A payment as an older consumer that only knows the id and the method sees it.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.evolution", rename = "Payment")]
    pub(crate) struct Payment {
        pub(crate) method: String,
        pub(crate) id: i64,
    }
}

#[tokio::test]
async fn a_reader_with_fewer_fields_in_another_order_reads_newer_records() {
    let endpoints = stack();
    let topic = unique("it-evolution-narrow");
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build().unwrap();
    let w2 = AvroSerializer::<v2::Payment>::new(registry.clone(), SerializerConfig::default()).unwrap();
    let new = v2::Payment { id: 9, amount_cents: 1, method: "cash".into(), currency: "USD".into(), note: None };
    let mut buf = Vec::new();
    w2.serialize(&topic, &new, &mut buf).await.unwrap();
    let r3 = AvroDeserializer::<v3::Payment>::new(registry).unwrap();
    assert_eq!(r3.deserialize(&topic, &buf).await.unwrap(), v3::Payment { method: "cash".into(), id: 9 });
}

/// Java's binary encoding of `datum` (Avro JSON encoding) under `schema`.
fn written_by_java(schema: &str, datum: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(unique("it-java-writes"));
    std::fs::create_dir_all(&dir).unwrap();
    let (s, d) = (dir.join("schema.avsc"), dir.join("datum.json"));
    std::fs::write(&s, schema).unwrap();
    std::fs::write(&d, datum).unwrap();
    let hex = typed_kafka_tests::run_java_interop("JsonToBinary", &[s.as_os_str(), d.as_os_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let hex = hex.trim();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// Records a Java producer writes with an older and with a newer schema than the Rust type's read into the Rust
/// type, with the type's defaults for what the older one lacks.
#[test]
fn records_written_by_java_with_older_and_newer_schemas_are_read() {
    use typed_kafka::avro::resolve::Resolver;
    use typed_kafka::avro::schema::Schema;

    let older = r#"{"type":"record","name":"Payment","namespace":"it.evolution","fields":[
        {"name":"id","type":"long"},{"name":"amount_cents","type":"int"},{"name":"method","type":"string"}]}"#;
    let newer = r#"{"type":"record","name":"Payment","namespace":"it.evolution","fields":[
        {"name":"id","type":"long"},{"name":"amount_cents","type":"long"},{"name":"method","type":"string"},
        {"name":"currency","type":"string","default":"EUR"},{"name":"note","type":["null","string"],"default":null},
        {"name":"channel","type":{"type":"enum","name":"Channel","symbols":["WEB","SHOP"]},"default":"WEB"},
        {"name":"refs","type":{"type":"array","items":"long"},"default":[]}]}"#;
    let old_bytes = written_by_java(older, r#"{"id": 1, "amount_cents": 1250, "method": "card"}"#);
    let new_bytes = written_by_java(
        newer,
        r#"{"id": 2, "amount_cents": 6000000000, "method": "sepa", "currency": "CHF", "note": {"string": "rent"},
            "channel": "SHOP", "refs": [7, 8]}"#,
    );
    let v2_schema = v2::Payment::schema().unwrap().schema();
    let mut scratch = Vec::new();
    let from_old = Resolver::new(&Schema::parse(older).unwrap(), v2_schema).unwrap();
    assert_eq!(
        from_old.read::<v2::Payment>(&old_bytes, &mut scratch).unwrap(),
        v2::Payment { id: 1, amount_cents: 1250, method: "card".into(), currency: "EUR".into(), note: None }
    );
    let from_new = Resolver::new(&Schema::parse(newer).unwrap(), v2_schema).unwrap();
    assert_eq!(
        from_new.read::<v2::Payment>(&new_bytes, &mut scratch).unwrap(),
        v2::Payment {
            id: 2,
            amount_cents: 6_000_000_000,
            method: "sepa".into(),
            currency: "CHF".into(),
            note: Some("rent".into()),
        }
    );
    // The v1 type reads Java's older record, and the v3 type (fewer fields, another order) the newer one.
    let v1_schema = v1::Payment::schema().unwrap().schema();
    let r = Resolver::new(&Schema::parse(older).unwrap(), v1_schema).unwrap();
    assert_eq!(
        r.read::<v1::Payment>(&old_bytes, &mut scratch).unwrap(),
        v1::Payment { id: 1, amount_cents: 1250, method: "card".into() }
    );
    let r = Resolver::new(&Schema::parse(newer).unwrap(), v3::Payment::schema().unwrap().schema()).unwrap();
    assert_eq!(r.read::<v3::Payment>(&new_bytes, &mut scratch).unwrap(), v3::Payment { method: "sepa".into(), id: 2 });
}

mod optional {
    use super::*;

    /// A payment whose method a service may not know yet.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.evolution", rename = "Payment")]
    pub(crate) struct Payment {
        pub(crate) id: i64,
        pub(crate) amount_cents: i32,
        pub(crate) method: Option<String>,
    }
}

/// A service still on v1 of the type writes into the subject's latest schema (v2) with use-latest: the bytes are
/// v2's (its ID, the widened amount, its defaults), which our v2 reader reads exactly and Avro Java decodes under
/// v2 and re-encodes to the same bytes. A value v2 has no place for is refused with its path, and nothing is
/// written.
#[tokio::test]
async fn an_older_type_writes_into_the_registered_schema() {
    use typed_kafka::{SchemaMode, SerializeError};

    let endpoints = stack();
    let topic = unique("it-projection");
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build().unwrap();
    // v1 and then v2 are registered under the subject; v2 is the latest.
    let mut scratch = Vec::new();
    AvroSerializer::<v1::Payment>::new(registry.clone(), SerializerConfig::default())
        .unwrap()
        .serialize(&topic, &v1::Payment { id: 0, amount_cents: 0, method: String::new() }, &mut scratch)
        .await
        .unwrap();
    let v2_id = AvroSerializer::<v2::Payment>::new(registry.clone(), SerializerConfig::default())
        .unwrap()
        .bind(&topic)
        .await
        .unwrap()
        .schema_id();

    let use_latest = SerializerConfig { mode: SchemaMode::UseLatest, ..Default::default() };
    let old_writer = AvroSerializer::<v1::Payment>::new(registry.clone(), use_latest.clone()).unwrap();
    let value = v1::Payment { id: 7, amount_cents: 990, method: "card".into() };
    let mut framed = Vec::new();
    assert_eq!(old_writer.serialize(&topic, &value, &mut framed).await.unwrap(), v2_id);
    let reader = AvroDeserializer::<v2::Payment>::new(registry.clone()).unwrap();
    let expected = v2::Payment { id: 7, amount_cents: 990, method: "card".into(), currency: "EUR".into(), note: None };
    assert_eq!(reader.deserialize_borrowed(&topic, &framed).await.unwrap(), expected, "exactly v2's bytes");

    // Avro Java decodes the body under v2 and writes the same bytes back.
    let dir = std::env::temp_dir().join(unique("it-projection-java"));
    std::fs::create_dir_all(&dir).unwrap();
    let (schema_file, data_file) = (dir.join("v2.avsc"), dir.join("body.bin"));
    std::fs::write(&schema_file, v2::Payment::schema().unwrap().json()).unwrap();
    std::fs::write(&data_file, &framed[5..]).unwrap();
    let out =
        typed_kafka_tests::run_java_interop("AvroInterop", &[schema_file.as_os_str(), data_file.as_os_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let hex: String = framed[5..].iter().map(|b| format!("{b:02x}")).collect();
    assert!(out.lines().any(|l| l == format!("reencoded={hex}")), "{out}");

    // A type whose `method` may be missing: values with a method are written, values without are refused.
    let optional_writer = AvroSerializer::<optional::Payment>::new(registry.clone(), use_latest).unwrap();
    let mut buf = b"kept".to_vec();
    let with = optional::Payment { id: 8, amount_cents: 1, method: Some("cash".into()) };
    assert_eq!(optional_writer.serialize(&topic, &with, &mut buf).await.unwrap(), v2_id);
    buf.truncate(4);
    let without = optional::Payment { id: 9, amount_cents: 1, method: None };
    match optional_writer.serialize(&topic, &without, &mut buf).await.unwrap_err() {
        SerializeError::NotInRegisteredSchema { id, violations, .. } => {
            assert_eq!(id, v2_id);
            let found: Vec<String> = violations.iter().map(ToString::to_string).collect();
            assert_eq!(found, ["at /method: null where the target schema requires a value"]);
        }
        other => panic!("expected NotInRegisteredSchema, got {other}"),
    }
    assert_eq!(buf, b"kept", "nothing of the refused record is left in the buffer");
}
