//! Quickstart: a Rust type with `#[derive(KafkaRecord)]`, its schema registered by the serializer, records framed
//! in the Confluent wire format, produced to Kafka and read back into the same type.
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

use chrono::{DateTime, Utc};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use typed_kafka::{
    AvroDeserializer, AvroSerializer, KafkaRecord, SchemaRegistryClient, SerializeError, SerializerConfig,
};
use uuid::Uuid;

const TOPIC: &str = "quickstart-orders";

/// Where an order stands.
#[derive(KafkaRecord, Debug, Clone, Copy, PartialEq)]
#[kafka(namespace = "shop.quickstart")]
enum Status {
    Placed,
    Paid,
}

/// An order, as the shop publishes it.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "shop.quickstart")]
struct Order {
    /// Unique id.
    id: Uuid,
    customer: String,
    total_cents: u64,
    status: Status,
    placed_at: DateTime<Utc>,
    /// Free text from the customer.
    note: Option<String>,
}

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

    let schema = Order::schema()?;
    println!("schema:   {} (fingerprint {:016x})", schema.full_name().unwrap_or_default(), schema.fingerprint());

    // The serializer registers the schema under "quickstart-orders-value" on first use (TopicNameStrategy,
    // auto-register), then frames every record with its ID without asking the registry again.
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;
    let serializer = AvroSerializer::<Order>::new(registry.clone(), SerializerConfig::default())?;
    let deserializer = AvroDeserializer::<Order>::new(registry)?;

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &endpoints.bootstrap_servers)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("partitioner", "murmur2_random")
        .create()?;

    let placed_at = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    let orders = [
        Order {
            id: Uuid::new_v4(),
            customer: "alice".into(),
            total_cents: 4999,
            status: Status::Paid,
            placed_at,
            note: None,
        },
        Order {
            id: Uuid::new_v4(),
            customer: "bob".into(),
            total_cents: 1250,
            status: Status::Placed,
            placed_at,
            note: Some("gift wrap".into()),
        },
        Order {
            id: Uuid::new_v4(),
            customer: "alice".into(),
            total_cents: 300,
            status: Status::Placed,
            placed_at,
            note: None,
        },
    ];
    let mut sent = HashMap::new();
    let mut buf = Vec::with_capacity(256);
    for order in &orders {
        buf.clear();
        let schema_id = serializer.serialize(TOPIC, order, &mut buf).await?;
        let delivery = producer
            .send(FutureRecord::to(TOPIC).key(&order.customer).payload(&buf), Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)?;
        println!(
            "produced: order for {} ({} cents) -> {TOPIC}[{}]@{} schema id {schema_id}, {} bytes",
            order.customer,
            order.total_cents,
            delivery.partition,
            delivery.offset,
            buf.len()
        );
        sent.insert((delivery.partition, delivery.offset), order.clone());
    }

    // A record that violates its schema never reaches Kafka: the error names the field, the buffer is untouched.
    buf.clear();
    let too_big = Order { total_cents: u64::MAX, ..orders[0].clone() };
    match serializer.serialize(TOPIC, &too_big, &mut buf).await {
        Err(e @ SerializeError::Invalid { .. }) => {
            println!("refused:  {e} (nothing sent, {} bytes written)", buf.len())
        }
        other => return Err(format!("expected a schema violation, got {other:?}").into()),
    }

    // Read exactly those records back into `Order`.
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
        let Some(expected) = sent.get(&(msg.partition(), msg.offset())) else { continue };
        let order: Order = deserializer.deserialize(TOPIC, msg.payload().unwrap_or_default()).await?;
        if &order != expected {
            return Err(format!("read back {order:?}, expected {expected:?}").into());
        }
        println!("consumed: {TOPIC}[{}]@{}: {order:?}", msg.partition(), msg.offset());
        read += 1;
    }
    if read < sent.len() {
        return Err(format!("read back {read} of {} records within 30 s", sent.len()).into());
    }
    println!("done:     {read} records produced and read back as `Order`");
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
