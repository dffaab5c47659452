//! Quickstart: register an Avro schema, produce a few framed records to Kafka and read them back.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With no `TYPED_KAFKA_BOOTSTRAP_SERVERS` / `TYPED_KAFKA_REGISTRY_URL` in the environment it provisions and starts
//! the local stack (Kafka in KRaft mode and Apicurio Registry, from Maven Central) and stops it again at the end,
//! unless it was already running (`cargo stack up`), in which case it is reused and left running.

use std::collections::HashMap;
use std::error::Error;
use std::time::{Duration, Instant};

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::{Record, Value as AvroValue};
use apache_avro::writer::datum::GenericDatumWriter;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

const TOPIC: &str = "quickstart-orders";
const SCHEMA: &str = r#"{
  "type": "record", "name": "Order", "namespace": "shop.quickstart",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "customer", "type": "string"},
    {"name": "total_cents", "type": "long"},
    {"name": "note", "type": ["null", "string"], "default": null}
  ]
}"#;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<()> {
    let t = Instant::now();
    let session = typed_kafka_stack::Session::start()?;
    let endpoints = session.endpoints.clone();
    println!("kafka:    {}", endpoints.bootstrap_servers);
    println!("registry: {}", endpoints.registry_url);
    if session.started.is_empty() {
        println!("stack:    using servers that were already running or configured");
    } else {
        println!("stack:    started {:?} in {:.1} s", session.started, t.elapsed().as_secs_f64());
    }

    let outcome = run(&endpoints).await;
    let stopped = session.stop_started()?;
    if !stopped.is_empty() {
        println!("stack:    stopped {stopped:?} (run `cargo stack up` first to keep it running between runs)");
    }
    outcome
}

async fn run(endpoints: &typed_kafka_stack::Endpoints) -> Result<()> {
    create_topic(&endpoints.bootstrap_servers).await?;

    // Register the schema under the topic's value subject (TopicNameStrategy).
    let subject = format!("{TOPIC}-value");
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let resp = http
        .post(format!("{}/subjects/{subject}/versions", endpoints.registry_url))
        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
        .json(&json!({ "schema": SCHEMA }))
        .send()
        .await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await?;
    let id = body["id"].as_u64().ok_or_else(|| format!("registering {subject} answered {status}: {body}"))?;
    let id = u32::try_from(id)?;
    println!("schema:   registered under {subject} with id {id}");

    let schema = Schema::parse_str(SCHEMA)?;
    let writer = GenericDatumWriter::builder(&schema).build()?;
    let reader = GenericDatumReader::builder(&schema).build()?;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &endpoints.bootstrap_servers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .create()?;

    let orders =
        [(1001_i64, "alice", 4999_i64, None), (1002, "bob", 1250, Some("gift wrap")), (1003, "alice", 300, None)];
    let mut sent = HashMap::new();
    for (order_id, customer, total, note) in orders {
        let mut record = Record::new(&schema).ok_or("the schema is not a record")?;
        record.put("id", order_id);
        record.put("customer", customer);
        record.put("total_cents", total);
        record.put(
            "note",
            AvroValue::Union(u32::from(note.is_some()), Box::new(note.map_or(AvroValue::Null, |n| n.into()))),
        );
        // Confluent wire format: magic byte 0, schema id (big-endian u32), Avro binary body.
        let mut framed = vec![0u8];
        framed.extend_from_slice(&id.to_be_bytes());
        writer.write_value(&mut framed, record)?;
        let key = customer.to_string();
        let delivery = producer
            .send(FutureRecord::to(TOPIC).key(&key).payload(&framed), Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)?;
        let (partition, offset) = (delivery.partition, delivery.offset);
        println!("produced: order {order_id} for {customer} -> {TOPIC}[{partition}]@{offset} ({} bytes)", framed.len());
        sent.insert((partition, offset), order_id);
    }

    // Read exactly those records back.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &endpoints.bootstrap_servers)
        .set("group.id", "typed-kafka-quickstart")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    let mut first: HashMap<i32, i64> = HashMap::new();
    for &(p, o) in sent.keys() {
        let e = first.entry(p).or_insert(o);
        *e = (*e).min(o);
    }
    for (&p, &o) in &first {
        tpl.add_partition_offset(TOPIC, p, Offset::Offset(o))?;
    }
    consumer.assign(&tpl)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut read = 0;
    while read < sent.len() && Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else { continue };
        let msg = msg?;
        if !sent.contains_key(&(msg.partition(), msg.offset())) {
            continue;
        }
        let payload = msg.payload().unwrap_or_default();
        let (magic, rest) = payload.split_first().ok_or("empty payload")?;
        let id_bytes: [u8; 4] = rest.get(..4).ok_or("short payload")?.try_into()?;
        if *magic != 0 || u32::from_be_bytes(id_bytes) != id {
            return Err(format!("unexpected framing: magic {magic}, id {}", u32::from_be_bytes(id_bytes)).into());
        }
        let value = reader.read_value(&mut &rest[4..])?;
        println!("consumed: {TOPIC}[{}]@{} schema id {id}: {value:?}", msg.partition(), msg.offset());
        read += 1;
    }
    if read < sent.len() {
        return Err(format!("read back {read} of {} records within 30 s", sent.len()).into());
    }
    println!("done:     {read} records produced and read back");
    Ok(())
}

async fn create_topic(bootstrap: &str) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics([&NewTopic::new(TOPIC, 3, TopicReplication::Fixed(1))], &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, e)) => return Err(format!("creating topic {topic}: {e}").into()),
        }
    }
    Ok(())
}
