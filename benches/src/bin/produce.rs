//! Producer throughput, side by side in one run against the local broker: typed-kafka's `TypedProducer`
//! (fire-and-forget, from typed values: validate, encode, frame, budget, enqueue) against raw librdkafka
//! (`ThreadedProducer` with the same properties and pre-serialized bytes: the limit of the transport). Rounds
//! alternate the two paths; the figures are medians of the rounds.
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features produce-bench --bin produce [records-per-round] [rounds]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer as _, ProducerContext, ThreadedProducer};
use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_benches::{CountingAlloc, allocations};

// Counts the Rust heap allocations of the whole process (librdkafka's own mallocs are not counted: they are the
// transport's, the same for both paths).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// About 100 bytes framed.
#[derive(KafkaRecord, Clone)]
#[kafka(namespace = "bench.produce")]
struct Click {
    user: String,
    page: String,
    referrer: Option<String>,
    millis: i64,
    x: i32,
    y: i32,
    session: String,
}

typed_kafka::topic! { CLICKS: "bench-clicks", key: String, value: Click; }

fn click(i: u64) -> Click {
    Click {
        user: format!("user-{:06}", i % 100_000),
        page: "/products/garden/watering-can-10l".into(),
        referrer: Some("https://example.com/search?q=can".into()),
        millis: 1_700_000_000_000 + i as i64,
        x: (i % 1920) as i32,
        y: (i % 1080) as i32,
        session: "2f1c9a7e-51b2-4c1e".into(),
    }
}

struct Counting(Arc<AtomicU64>);

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_ok() {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// CPU time of this process (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

struct Round {
    wall: Duration,
    cpu: Duration,
    /// Rust heap allocations per record while sending and until every record was acknowledged.
    allocs: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(200_000);
    let rounds = args.get(1).copied().unwrap_or(3);
    let session = typed_kafka_stack::Session::start()?;
    let outcome = run(&session.endpoints, n, rounds).await;
    session.stop_started()?;
    outcome
}

async fn run(endpoints: &typed_kafka_stack::Endpoints, n: u64, rounds: u64) -> Result<()> {
    let topic = format!("bench-clicks-{}", std::process::id());
    let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).build()?;
    typed_kafka::admin::ensure_topic(&config, &topic, 6, 1).await?;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;
    let producer = Producer::builder(config.clone()).registry(registry).build()?;
    let clicks = producer.topic(CLICKS).name(&topic).bind().await?;
    let meta = clicks.send(Record::new(click(0)).key("user-0".into())).await?;
    let id = meta.value_schema_id.ok_or("no schema id")?;

    // Raw librdkafka: the same properties, the same bytes, prepared before the clock starts.
    let delivered = Arc::new(AtomicU64::new(0));
    let mut cc = ClientConfig::new();
    for (k, v) in config.librdkafka_properties() {
        cc.set(k, v);
    }
    let raw: ThreadedProducer<Counting> = cc.create_with_context(Counting(delivered.clone()))?;
    let prepared: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .map(|i| {
            let c = click(i);
            let mut value = Vec::new();
            typed_kafka::avro::wire::write_header(&mut value, id);
            c.encode_body(&mut value).map(|()| (c.user.into_bytes(), value))
        })
        .collect::<std::result::Result<_, _>>()?;
    println!(
        "record: {} bytes framed, key {} bytes; {n} records per round, {rounds} rounds",
        prepared[0].1.len(),
        prepared[0].0.len()
    );

    let mut raw_rounds = Vec::new();
    let mut typed_rounds = Vec::new();
    for round in 0..rounds {
        // Raw: enqueue every record (on QueueFull, serve delivery reports and retry), then wait for all.
        let before = delivered.load(Ordering::Relaxed);
        let (t, c, a) = (Instant::now(), cpu_time(), allocations());
        for (key, value) in &prepared {
            let mut record = BaseRecord::to(&topic).key(key.as_slice()).payload(value.as_slice());
            loop {
                match raw.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        raw.poll(Duration::from_millis(1));
                    }
                    Err((e, _)) => return Err(e.into()),
                }
            }
        }
        raw.flush(Duration::from_secs(120))?;
        while delivered.load(Ordering::Relaxed) < before + n {
            std::thread::sleep(Duration::from_millis(1));
        }
        let allocs = (allocations() - a) as f64 / n as f64;
        raw_rounds.push(Round { wall: t.elapsed(), cpu: cpu_time() - c, allocs });

        // typed-kafka: from typed values (built before the clock starts, as the raw path's bytes are),
        // fire-and-forget, then flush.
        let values: Vec<Record<String, Click>> = (0..n)
            .map(|i| {
                let c = click(i);
                let key = c.user.clone();
                Record::new(c).key(key)
            })
            .collect();
        let sent_before = producer.metrics().records_sent;
        let (t, c, a) = (Instant::now(), cpu_time(), allocations());
        for record in values {
            clicks.send_and_forget(record).await?;
        }
        let left = producer.flush(Duration::from_secs(120)).await;
        let allocs = (allocations() - a) as f64 / n as f64;
        let typed = Round { wall: t.elapsed(), cpu: cpu_time() - c, allocs };
        if left != 0 || producer.metrics().records_sent != sent_before + n {
            return Err(format!("round {round}: {left} records left in flight").into());
        }
        println!(
            "round {round}: raw {:.0} rec/s ({:.2} µs CPU/rec), typed {:.0} rec/s ({:.2} µs CPU/rec)",
            n as f64 / raw_rounds[round as usize].wall.as_secs_f64(),
            raw_rounds[round as usize].cpu.as_secs_f64() * 1e6 / n as f64,
            n as f64 / typed.wall.as_secs_f64(),
            typed.cpu.as_secs_f64() * 1e6 / n as f64,
        );
        typed_rounds.push(typed);
    }
    let rate = |r: &[Round]| median(r.iter().map(|x| n as f64 / x.wall.as_secs_f64()).collect());
    let cpu = |r: &[Round]| median(r.iter().map(|x| x.cpu.as_secs_f64() * 1e6 / n as f64).collect());
    let (raw_rate, typed_rate) = (rate(&raw_rounds), rate(&typed_rounds));
    println!("median: raw {raw_rate:.0} rec/s, {:.2} µs CPU/rec", cpu(&raw_rounds));
    println!("median: typed {typed_rate:.0} rec/s, {:.2} µs CPU/rec", cpu(&typed_rounds));
    println!("typed / raw throughput: {:.3}", typed_rate / raw_rate);
    println!("typed / raw CPU per record: {:.3}", cpu(&typed_rounds) / cpu(&raw_rounds));
    let allocs = |r: &[Round]| median(r.iter().map(|x| x.allocs).collect());
    println!(
        "Rust heap allocations per record (send to acknowledgement): raw {:.2}, typed {:.2}",
        allocs(&raw_rounds),
        allocs(&typed_rounds)
    );
    producer.close(Duration::from_secs(30)).await;
    Ok(())
}
