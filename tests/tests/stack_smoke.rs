//! Smoke tests proving the local stack is real: a Kafka broker that stores, orders and returns records, and a
//! Confluent-compatible registry that stores schemas and enforces BACKWARD compatibility.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Value, json};
use typed_kafka_tests::{SCHEMA_REGISTRY_JSON, cluster, create_topic, http, stack, unique};

const RECORDS: usize = 60;

fn idempotent_producer(bootstrap: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// A consumed record: partition, offset, key, payload, headers.
struct Consumed {
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

/// Reads every record of `topic` (partitions `0..partitions`) from the beginning until `expected` have arrived.
fn consume_all(bootstrap: &str, topic: &str, partitions: i32, expected: usize) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("smoke-group"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning).expect("partition offset");
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while out.len() < expected && std::time::Instant::now() < deadline {
        if let Some(msg) = consumer.poll(Duration::from_millis(500)) {
            let msg = msg.expect("consumed message");
            let headers = msg
                .headers()
                .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect())
                .unwrap_or_default();
            out.push(Consumed {
                partition: msg.partition(),
                offset: msg.offset(),
                key: msg.key().unwrap_or_default().to_vec(),
                payload: msg.payload().unwrap_or_default().to_vec(),
                headers,
            });
        }
    }
    out
}

#[tokio::test]
async fn kafka_produces_and_consumes_back_with_acks_all_and_idempotence() {
    let bootstrap = &stack().bootstrap_servers;
    let topic = unique("smoke-orders");
    create_topic(bootstrap, &topic, 3, 1).await;
    let producer = idempotent_producer(bootstrap);

    let mut delivered = HashMap::new();
    for i in 0..RECORDS {
        let key = format!("customer-{}", i % 7);
        let payload = format!("order-{i}");
        let headers = OwnedHeaders::new()
            .insert(Header { key: "trace-id", value: Some(format!("trace-{i}").as_bytes()) })
            .insert(Header { key: "source", value: Some("smoke".as_bytes()) });
        let record = FutureRecord::to(&topic).key(&key).payload(&payload).headers(headers);
        let delivery = producer.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| e).expect("delivery");
        delivered.insert(payload, (delivery.partition, delivery.offset, key));
    }

    // Offsets per partition are dense from 0, and every key stayed on one partition.
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut key_partition: HashMap<String, i32> = HashMap::new();
    for (partition, offset, key) in delivered.values() {
        per_partition.entry(*partition).or_default().push(*offset);
        let first = *key_partition.entry(key.clone()).or_insert(*partition);
        assert_eq!(first, *partition, "key {key} was written to two partitions");
    }
    assert!(per_partition.len() >= 2, "7 keys over 3 partitions landed on {per_partition:?}");
    for (p, offsets) in &mut per_partition {
        offsets.sort_unstable();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, &expected, "offsets of partition {p}");
        assert!((0..3).contains(p));
    }

    let consumed = consume_all(bootstrap, &topic, 3, RECORDS);
    assert_eq!(consumed.len(), RECORDS, "consumed back every record");
    for Consumed { partition, offset, key, payload, headers } in consumed {
        let payload = String::from_utf8(payload).expect("utf-8 payload");
        let (p, o, k) = delivered.get(&payload).unwrap_or_else(|| panic!("unexpected record {payload}"));
        assert_eq!((partition, offset), (*p, *o), "position of {payload}");
        assert_eq!(key, k.as_bytes());
        let i = payload.trim_start_matches("order-");
        assert_eq!(
            headers,
            vec![
                ("trace-id".to_string(), format!("trace-{i}").into_bytes()),
                ("source".to_string(), b"smoke".to_vec())
            ]
        );
    }
}

fn order_schema(extra_fields: &[Value]) -> String {
    let mut fields = vec![json!({"name": "id", "type": "long"}), json!({"name": "customer", "type": "string"})];
    fields.extend(extra_fields.iter().cloned());
    json!({"type": "record", "name": "Order", "namespace": "shop.smoke", "fields": fields}).to_string()
}

async fn register(registry: &str, subject: &str, schema: &str) -> reqwest::Response {
    http()
        .post(format!("{registry}/subjects/{subject}/versions"))
        .header("Content-Type", SCHEMA_REGISTRY_JSON)
        .json(&json!({ "schema": schema }))
        .send()
        .await
        .expect("registry request")
}

#[tokio::test]
async fn registry_registers_and_serves_a_schema_by_id_and_as_latest() {
    let registry = &stack().registry_url;
    let subject = unique("smoke-value");
    let schema = order_schema(&[]);

    let resp = register(registry, &subject, &schema).await;
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.expect("json")["id"].as_i64().expect("id");

    let by_id: Value =
        http().get(format!("{registry}/schemas/ids/{id}")).send().await.expect("get").json().await.expect("json");
    let fetched: Value = serde_json::from_str(by_id["schema"].as_str().expect("schema string")).expect("schema json");
    assert_eq!(fetched, serde_json::from_str::<Value>(&schema).expect("schema json"));

    let latest: Value = http()
        .get(format!("{registry}/subjects/{subject}/versions/latest"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(latest["id"].as_i64(), Some(id));
    assert_eq!(latest["version"].as_i64(), Some(1));
    assert_eq!(latest["subject"].as_str(), Some(subject.as_str()));

    // Registering the same schema again is idempotent.
    let again = register(registry, &subject, &schema).await.json::<Value>().await.expect("json");
    assert_eq!(again["id"].as_i64(), Some(id));
}

#[tokio::test]
async fn registry_refuses_a_backward_incompatible_schema_with_409() {
    let registry = &stack().registry_url;
    let subject = unique("smoke-compat-value");
    assert_eq!(register(registry, &subject, &order_schema(&[])).await.status(), 200);

    // The stack sets the global level to BACKWARD at start.
    let config: Value = http().get(format!("{registry}/config")).send().await.expect("get").json().await.expect("json");
    assert_eq!(config["compatibilityLevel"].as_str(), Some("BACKWARD"));

    // A new required field without a default cannot read old data: refused.
    let breaking = order_schema(&[json!({"name": "sku", "type": "string"})]);
    let resp = register(registry, &subject, &breaking).await;
    assert_eq!(resp.status(), 409);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error_code"].as_i64(), Some(409), "{body}");

    // The same field with a default is a compatible evolution: version 2.
    let evolving = order_schema(&[json!({"name": "sku", "type": "string", "default": ""})]);
    let resp = register(registry, &subject, &evolving).await;
    assert_eq!(resp.status(), 200);
    let versions: Value = http()
        .get(format!("{registry}/subjects/{subject}/versions"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(versions, json!([1, 2]));
}

#[tokio::test]
async fn three_broker_cluster_replicates_with_min_isr_two() {
    let bootstrap = cluster();
    let topic = unique("smoke-replicated");
    create_topic(bootstrap, &topic, 3, 3).await;

    let consumer: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("metadata client");
    let md = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).expect("metadata");
    assert_eq!(md.brokers().len(), 3);
    let t = &md.topics()[0];
    assert_eq!(t.partitions().len(), 3);
    for p in t.partitions() {
        assert_eq!(p.replicas().len(), 3, "replicas of partition {}", p.id());
    }

    let producer = idempotent_producer(bootstrap);
    for i in 0..10 {
        let payload = format!("replicated-{i}");
        producer
            .send(FutureRecord::to(&topic).key(&payload).payload(&payload), Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)
            .expect("acks=all delivery with three in-sync replicas");
    }
    assert_eq!(consume_all(bootstrap, &topic, 3, 10).len(), 10);
}
