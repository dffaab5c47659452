//! Exactly-once: a consume-transform-produce job between two typed topics. It reads orders, writes an invoice for
//! each in a transaction that also commits the orders' positions for its consumer group, and reads the invoices
//! back `read_committed`: one per order, whatever was aborted on the way.
//!
//! ```text
//! cargo run --example exactly_once
//! ```
//!
//! Like the quickstart, it provisions and starts the local stack when `TYPED_KAFKA_BOOTSTRAP_SERVERS` /
//! `TYPED_KAFKA_REGISTRY_URL` are not set, and stops what it started at the end. The job itself is
//! `typed_kafka_examples::pipeline::run`; the integration tests kill it with SIGKILL mid-stream and start it again.

use std::collections::BTreeSet;
use std::error::Error;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use typed_kafka::config::ProducerConfig;
use typed_kafka::consumer::{IsolationLevel, StartAt, TypedConsumer};
use typed_kafka::{Producer, Record, SchemaRegistryClient};
use typed_kafka_examples::pipeline::{INVOICES, Invoice, Job, run};
use typed_kafka_examples::shop::{Line, ORDERS, Order, Status};
use uuid::Uuid;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// How many orders the example processes.
const ORDER_COUNT: usize = 10_000;

#[tokio::main]
async fn main() -> Result<()> {
    let session = typed_kafka_stack::Session::start()?;
    let endpoints = session.endpoints.clone();
    println!("kafka:    {}", endpoints.bootstrap_servers);
    println!("registry: {}", endpoints.registry_url);
    let outcome = example(&endpoints).await;
    let stopped = session.stop_started()?;
    if !stopped.is_empty() {
        println!("stack:    stopped {stopped:?}");
    }
    outcome
}

async fn example(endpoints: &typed_kafka_stack::Endpoints) -> Result<()> {
    // Fresh topics per run, so that a second run reads only its own orders.
    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let (input, output) = (format!("exactly-once-orders-{run_id}"), format!("exactly-once-invoices-{run_id}"));
    let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).build()?;
    typed_kafka::admin::ensure_topic(&config, &input, 3, 1).await?;
    typed_kafka::admin::ensure_topic(&config, &output, 3, 1).await?;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;

    // The orders, written by an ordinary (not transactional) producer.
    let producer = Producer::builder(config).registry(registry.clone()).build()?;
    let orders = producer.topic(ORDERS).name(&input).bind().await?;
    let mut ids = BTreeSet::new();
    for i in 0..ORDER_COUNT {
        let order = Order {
            id: Uuid::new_v4(),
            lines: vec![Line { sku: format!("sku-{}", i % 13), quantity: 1 + (i % 3) as u32, unit_cents: 250 }],
            total_cents: 250 * (1 + (i % 3) as u64),
            status: Status::Placed,
            placed_at: DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default(),
            note: None,
        };
        ids.insert(order.id);
        orders.send_and_forget(Record::new(order).key(format!("customer-{}", i % 50))).await?;
    }
    producer.close(Duration::from_secs(30)).await;
    println!("input:    {ORDER_COUNT} orders on {input}");

    let job = Job {
        bootstrap_servers: endpoints.bootstrap_servers.clone(),
        registry_url: endpoints.registry_url.clone(),
        input,
        output: output.clone(),
        group: format!("exactly-once-{run_id}"),
        transactional_id: format!("exactly-once-{run_id}"),
        batch: 1_000,
        idle: Duration::from_secs(3),
    };
    let t = Instant::now();
    let report = run(&job).await?;
    println!(
        "job:      {} orders in {} transactions ({} aborted) in {:.1} s",
        report.orders,
        report.committed,
        report.aborted,
        t.elapsed().as_secs_f64()
    );

    // What a read_committed consumer of the invoices sees: one per order.
    let invoices = TypedConsumer::<INVOICES, Invoice>::builder(endpoints.bootstrap_servers.as_str(), registry)
        .name(&output)
        .isolation_level(IsolationLevel::ReadCommitted)
        .build()?;
    invoices.assign_all(StartAt::Beginning).await?;
    let mut seen = BTreeSet::new();
    let mut duplicates = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < ids.len() && Instant::now() < deadline {
        let Some(read) = invoices.poll(Duration::from_millis(500)).await else { continue };
        if let Some(invoice) = read?.value
            && !seen.insert(invoice.order)
        {
            duplicates += 1;
        }
    }
    if seen != ids || duplicates > 0 {
        return Err(format!("{} invoices for {} orders, {duplicates} duplicates", seen.len(), ids.len()).into());
    }
    println!("output:   {} invoices on {output}, one per order, read read_committed", seen.len());
    Ok(())
}
