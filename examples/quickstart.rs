//! Quickstart: a typed topic, the producer, a refused violation with every path, the metadata of each record, and
//! the records read back as typed values.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! With no `TYPED_KAFKA_BOOTSTRAP_SERVERS` / `TYPED_KAFKA_REGISTRY_URL` in the environment it provisions and starts
//! the local stack (Kafka in KRaft mode and Apicurio Registry, from Maven Central) and stops it again at the end,
//! unless it was already running (`cargo stack up`), in which case it is reused and left running.

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use typed_kafka::config::ProducerConfig;
use typed_kafka::consumer::TypedConsumer;
use typed_kafka::{KafkaRecord, ProduceError, Producer, Record, SchemaRegistryClient};
use typed_kafka_examples::shop::{Line, ORDERS, Order, Status};
use uuid::Uuid;

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

fn order(customer_lines: &[(&str, u32, u64)], status: Status, note: Option<&str>) -> Order {
    let lines: Vec<Line> = customer_lines
        .iter()
        .map(|(sku, quantity, unit_cents)| Line { sku: sku.to_string(), quantity: *quantity, unit_cents: *unit_cents })
        .collect();
    let total_cents =
        lines.iter().fold(0u64, |t, l| t.saturating_add(u64::from(l.quantity).saturating_mul(l.unit_cents)));
    let placed_at = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    Order { id: Uuid::new_v4(), lines, total_cents, status, placed_at, note: note.map(str::to_string) }
}

async fn run(endpoints: &typed_kafka_stack::Endpoints) -> Result<()> {
    // Kafka's producer settings by their Java names, validated here; Kafka 4's defaults (acks=all, idempotence).
    let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).set("linger.ms", "10").build()?;
    typed_kafka::admin::ensure_topic(&config, "quickstart-orders", 3, 1).await?;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;
    let producer = Producer::builder(config).registry(registry.clone()).build()?;

    // Binding registers Order's schema under "quickstart-orders-value" and reads the partition count; after this,
    // sending does no registry I/O.
    let orders = producer.bind(ORDERS).await?;
    let schema = Order::schema()?;
    println!("schema:   {} (fingerprint {:016x})", schema.full_name().unwrap_or_default(), schema.fingerprint());

    let placed = [
        ("alice", order(&[("book", 1, 4999)], Status::Paid, None)),
        ("bob", order(&[("pen", 10, 125)], Status::Placed, Some("gift wrap"))),
        ("alice", order(&[("tea", 2, 150)], Status::Placed, None)),
    ];
    let mut sent = BTreeMap::new();
    let mut first = BTreeMap::new();
    for (customer, order) in &placed {
        let meta =
            orders.send(Record::new(order.clone()).key(customer.to_string()).header("source", "quickstart")).await?;
        let offset = meta.offset.unwrap_or(-1);
        println!(
            "produced: order for {customer} ({} cents) -> {}[{}]@{offset} schema id {}, {} bytes",
            order.total_cents,
            meta.topic,
            meta.partition,
            meta.value_schema_id.map(|id| id.to_string()).unwrap_or_default(),
            meta.serialized_value_size.unwrap_or(0),
        );
        first.entry(meta.partition).and_modify(|o: &mut i64| *o = (*o).min(offset)).or_insert(offset);
        sent.insert((meta.partition, offset), order.clone());
    }

    // A record that violates its schema never reaches the partitioner: every violation with its path, and the
    // record handed back.
    let mut broken = order(&[("book", 1, 4999), ("gold", 1, u64::MAX)], Status::Placed, None);
    broken.total_cents = u64::MAX;
    match orders.send(Record::new(broken).key("mallory".to_string())).await {
        Err(ProduceError::Refused(refused)) => {
            println!("refused:  {}", refused.kind());
            let record = refused.into_record();
            println!(
                "          handed back: order {} of {:?}; nothing was sent",
                record.value.map(|o| o.id).unwrap_or_default(),
                record.key
            );
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    let report = producer.close(Duration::from_secs(30)).await;
    println!("closed:   {} record(s) undelivered; {:?}", report.undelivered.len(), producer.metrics().refused);

    // Read exactly those records back as typed values.
    let consumer = TypedConsumer::<ORDERS, Order>::builder(endpoints.bootstrap_servers.as_str(), registry).build()?;
    consumer.assign(first)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut read = 0;
    while read < sent.len() && Instant::now() < deadline {
        let Some(record) = consumer.poll(Duration::from_millis(500)).await else { continue };
        let record = record?;
        let Some(expected) = sent.get(&(record.partition, record.offset)) else { continue };
        if record.value.as_ref() != Some(expected) {
            return Err(format!("read back {:?}, expected {expected:?}", record.value).into());
        }
        println!(
            "consumed: {}[{}]@{} key {:?}: {} line(s), {} cents, {:?}",
            consumer.topic(),
            record.partition,
            record.offset,
            record.key.as_deref().unwrap_or_default(),
            expected.lines.len(),
            expected.total_cents,
            expected.status,
        );
        read += 1;
    }
    if read < sent.len() {
        return Err(format!("read back {read} of {} records within 30 s", sent.len()).into());
    }
    println!("done:     {read} records produced and read back as `Order`");
    Ok(())
}
