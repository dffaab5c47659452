//! Every send mode of the `TypedProducer`, side by side: awaited, two-phase, fire-and-forget, callback and
//! blocking; then `flush` and `close` with their report.
//!
//! ```text
//! cargo run --example send_modes
//! ```
//!
//! Like the quickstart, it starts the local stack when the environment names none, and stops what it started.

use std::error::Error;
use std::sync::mpsc;
use std::time::Duration;

use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};

/// A page view.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "examples.modes")]
struct PageView {
    page: String,
    millis: u32,
}

typed_kafka::topic! { PAGE_VIEWS: "examples-page-views", key: String, value: PageView; }

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

fn view(page: &str, millis: u32) -> Record<String, PageView> {
    Record::new(PageView { page: page.into(), millis }).key(format!("user-{}", millis % 7))
}

#[tokio::main]
async fn main() -> Result<()> {
    let session = typed_kafka_stack::Session::start()?;
    let outcome = run(&session.endpoints).await;
    session.stop_started()?;
    outcome
}

async fn run(endpoints: &typed_kafka_stack::Endpoints) -> Result<()> {
    let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).build()?;
    typed_kafka::admin::ensure_topic(&config, "examples-page-views", 3, 1).await?;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;
    let producer = Producer::builder(config).registry(registry).build()?;
    let views = producer.bind(PAGE_VIEWS).await?;

    // Awaited: one record, its metadata when the broker acknowledged it (one linger.ms + a round trip).
    let meta = views.send(view("/", 1)).await?;
    println!("awaited:         partition {} offset {:?}", meta.partition, meta.offset);

    // Two-phase: enqueue many without waiting for each acknowledgement, then await the deliveries.
    let mut deliveries = Vec::new();
    for i in 0..100 {
        deliveries.push(views.enqueue(view("/two-phase", i)).await?);
    }
    let mut last = None;
    for d in deliveries {
        last = Some(d.await?);
    }
    println!("two-phase:       100 records, the last at offset {:?}", last.and_then(|m| m.offset));

    // Fire-and-forget: no per-record future; failures reach the metrics and interceptors.
    for i in 0..100 {
        views.send_and_forget(view("/forget", i)).await?;
    }
    println!("fire-and-forget: 100 records enqueued, {} in flight", producer.in_flight());

    // Callback: run on the producer's delivery thread.
    let (tx, rx) = mpsc::channel();
    views
        .send_with(view("/callback", 5), move |result| {
            let _ = tx.send(result.map(|m| m.offset));
        })
        .await?;
    println!("callback:        offset {:?}", rx.recv_timeout(Duration::from_secs(30))?);

    // Blocking: from a thread outside async code.
    let blocking = views.clone();
    let meta =
        std::thread::spawn(move || blocking.send_blocking(view("/blocking", 9))).join().map_err(|_| "panicked")??;
    println!("blocking:        partition {} offset {:?}", meta.partition, meta.offset);

    let left = producer.flush(Duration::from_secs(30)).await;
    let report = producer.close(Duration::from_secs(30)).await;
    let m = producer.metrics();
    println!(
        "closed:          {left} left after flush, {} undelivered; {} sent, {} failed, {} bytes",
        report.undelivered.len(),
        m.records_sent,
        m.records_failed,
        m.bytes_sent
    );
    Ok(())
}
