//! Transactional producing against the local broker, side by side in one run: typed-kafka's producer without
//! transactions, the same in transactions of 100, 1,000 and 10,000 records, and Java's transactional
//! `KafkaProducer` with Apache Avro for Java (Confluent framing, `benches/java/JavaAvroTxnProduce.java`) at 1,000
//! with Java's default `batch.size` and with typed-kafka's (1,000,000), and Java's producer without transactions
//! (the same program) for Java's own ratio.
//!
//! Every path: a fresh 6-partition topic (deleted after it), ~100-byte Avro records keyed by user, acks=all, idempotence, linger.ms 5,
//! every record sent without waiting for it (typed-kafka fire-and-forget, Java with a callback) and the run ends
//! when every transaction committed (or, without transactions, every record is acknowledged). A transactional
//! producer registers its `transactional.id` before the clock starts. Before round 0, as many records as a path
//! sends go through the typed paths without and with transactions, unmeasured (the broker's JIT warm-up). Paths run
//! in a different order each round;
//! the summary gives the median over the rounds of each ratio taken within a round.
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features produce-bench --bin txn [records] [rounds]
//! ```
//!
//! `TXN_PATHS=0,2` runs only those paths (0 no transactions, 1 100 per transaction, 2 1,000, 3 10,000, 4 Java at
//! 1,000, 5 Java with batch.size 1,000,000, 6 Java without transactions); `TXN_SETTINGS=key=value,..` sets producer settings of the typed-kafka
//! paths (a key `rdkafka.<name>` goes to librdkafka as `<name>`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_benches::click::{CLICKS, Click, click};
use typed_kafka_benches::median;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, PartialEq, Debug)]
enum TxnPath {
    /// typed-kafka without transactions.
    Plain,
    /// typed-kafka, this many records per transaction.
    Txn(u64),
    /// Java's transactional producer, this many records per transaction (0: Java's producer without
    /// transactions), and its batch.size if not its default.
    Java(u64, Option<u32>),
}

const PATHS: [TxnPath; 7] = [
    TxnPath::Plain,
    TxnPath::Txn(100),
    TxnPath::Txn(1_000),
    TxnPath::Txn(10_000),
    TxnPath::Java(1_000, None),
    TxnPath::Java(1_000, Some(1_000_000)),
    TxnPath::Java(0, None),
];

impl TxnPath {
    fn name(self) -> String {
        match self {
            TxnPath::Plain => "typed-kafka, no transactions".into(),
            TxnPath::Txn(k) => format!("typed-kafka, {k} per transaction"),
            TxnPath::Java(0, _) => "Java KafkaProducer + Avro, no transactions".into(),
            TxnPath::Java(k, None) => format!("Java KafkaProducer + Avro, {k} per transaction"),
            TxnPath::Java(k, Some(b)) => format!("Java KafkaProducer + Avro, {k} per transaction, batch.size {b}"),
        }
    }
}

struct Measure {
    wall: Duration,
    cpu: Duration,
    records: u64,
    /// A transactional typed path's median time per transaction in `begin`, in sending its records (enqueueing)
    /// and in `commit`.
    phases: Option<[Duration; 3]>,
}

/// The median of each phase, if there are any.
fn medians(phases: Vec<[Duration; 3]>) -> Option<[Duration; 3]> {
    if phases.is_empty() {
        return None;
    }
    Some(std::array::from_fn(|i| {
        let mut v: Vec<Duration> = phases.iter().map(|p| p[i]).collect();
        v.sort();
        v[v.len() / 2]
    }))
}

impl Measure {
    fn rate(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.records as f64
    }
}

struct Bench {
    bootstrap: String,
    /// Deletes each path's topic after it, so that the broker's load does not grow from round to round.
    admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
    registry: SchemaRegistryClient,
    java_cp: String,
    java: std::path::PathBuf,
}

impl Bench {
    fn config(&self, transactional_id: Option<&str>) -> Result<ProducerConfig> {
        let mut b = ProducerConfig::builder(self.bootstrap.as_str()).set("linger.ms", "5");
        if let Some(id) = transactional_id {
            b = b.set("transactional.id", id);
        }
        Ok(typed_kafka_benches::settings_from_env(b, "TXN_SETTINGS")?.build()?)
    }

    /// A fresh 6-partition topic with the value schema registered (through one record sent outside the clock).
    async fn topic(&self, name: &str) -> Result<u32> {
        let config = self.config(None)?;
        typed_kafka::admin::ensure_topic(&config, name, 6, 1).await?;
        let producer = Producer::builder(config).registry(self.registry.clone()).build()?;
        let clicks = producer.topic(CLICKS).name(name).bind().await?;
        let meta = clicks.send(Record::new(click(0, 0)).key("warm-up".into())).await?;
        producer.close(Duration::from_secs(10)).await;
        Ok(meta.value_schema_id.ok_or("no schema id")?.0)
    }

    async fn typed(&self, topic: &str, n: u64, per_txn: Option<u64>) -> Result<Measure> {
        let id = format!("{topic}-txn");
        let producer =
            Producer::builder(self.config(per_txn.map(|_| id.as_str()))?).registry(self.registry.clone()).build()?;
        if per_txn.is_some() {
            producer.init_transactions(Duration::from_secs(60)).await?;
        }
        let clicks = producer.topic(CLICKS).name(topic).bind().await?;
        let mut phases: Vec<[Duration; 3]> = Vec::new();
        let (started, cpu) = (Instant::now(), cpu_time::ProcessTime::now());
        match per_txn {
            None => {
                for i in 0..n {
                    let c = click(i, 0);
                    let key = c.user.clone();
                    clicks.send_and_forget(Record::new(c).key(key)).await?;
                }
                if producer.flush(Duration::from_secs(120)).await != 0 {
                    return Err("records left unacknowledged".into());
                }
            }
            Some(k) => {
                let mut i = 0;
                while i < n {
                    let t0 = Instant::now();
                    let txn = producer.begin().await?;
                    let t1 = Instant::now();
                    for _ in 0..k.min(n - i) {
                        let c = click(i, 0);
                        let key = c.user.clone();
                        clicks.send_and_forget(Record::new(c).key(key)).await?;
                        i += 1;
                    }
                    let t2 = Instant::now();
                    txn.commit(Duration::from_secs(60)).await?;
                    phases.push([t1 - t0, t2 - t1, t2.elapsed()]);
                }
            }
        }
        let m = Measure { wall: started.elapsed(), cpu: cpu.elapsed(), records: n, phases: medians(phases) };
        if producer.metrics().records_failed > 0 {
            return Err("records failed".into());
        }
        producer.close(Duration::from_secs(10)).await;
        Ok(m)
    }

    fn java(&self, topic: &str, id: u32, n: u64, per_txn: u64, batch: Option<u32>) -> Result<Measure> {
        let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("java/JavaAvroTxnProduce.java");
        let mut args = vec![
            program.display().to_string(),
            self.bootstrap.clone(),
            topic.to_string(),
            id.to_string(),
            Click::schema()?.json().to_string(),
            n.to_string(),
            per_txn.to_string(),
            format!("{topic}-java-txn"),
        ];
        args.extend(batch.map(|b| b.to_string()));
        let out = Command::new(&self.java).arg("-cp").arg(&self.java_cp).args(&args).output()?;
        if !out.status.success() {
            return Err(format!("java failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        let out = String::from_utf8_lossy(&out.stdout);
        let f: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap_or(u64::MAX)).collect();
        if f.len() < 3 || f[2] != 0 {
            return Err(format!("JavaAvroTxnProduce: {out}").into());
        }
        Ok(Measure { wall: Duration::from_nanos(f[0]), cpu: Duration::from_nanos(f[1]), records: n, phases: None })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(200_000);
    let rounds = args.get(1).copied().unwrap_or(3).max(1);
    let session = typed_kafka_stack::Session::start()?;
    let endpoints = session.endpoints.clone();
    let outcome = run(&endpoints, n, rounds).await;
    session.stop_started()?;
    outcome
}

async fn run(endpoints: &typed_kafka_stack::Endpoints, n: u64, rounds: u64) -> Result<()> {
    let b = Bench {
        bootstrap: endpoints.bootstrap_servers.clone(),
        admin: rdkafka::config::ClientConfig::new().set("bootstrap.servers", &endpoints.bootstrap_servers).create()?,
        registry: SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?,
        java_cp: typed_kafka_stack::maven_classpath(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("java/pom.xml"),
            "bench-java",
        )?,
        java: typed_kafka_stack::java()?,
    };
    typed_kafka_benches::delete_files_at_once(&b.admin).await?;
    println!("transactions bench: {n} records per path, {rounds} round(s), ~100-byte records, 6 partitions");
    let pid = std::process::id();
    let only: Option<Vec<usize>> =
        std::env::var("TXN_PATHS").ok().map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect());
    // A freshly started broker spends about twice its settled CPU per record until its JIT has compiled the
    // produce path: records through the typed path first, not measured.
    let warm_up = format!("bench-txn-{pid}-warm-up");
    b.topic(&warm_up).await?;
    b.typed(&warm_up, n, None).await?;
    b.typed(&warm_up, n, Some(1_000)).await?;
    b.admin.delete_topics(&[warm_up.as_str()], &rdkafka::admin::AdminOptions::new()).await?;
    let mut rounds_measured: Vec<Vec<(TxnPath, Measure)>> = Vec::new();
    for round in 0..rounds {
        let mut measured = Vec::new();
        // A different path first in each round.
        for j in 0..PATHS.len() {
            let index = (j + round as usize) % PATHS.len();
            let path = PATHS[index];
            if only.as_ref().is_some_and(|o| !o.contains(&index)) {
                continue;
            }
            let topic = format!("bench-txn-{pid}-{round}-{j}");
            let id = b.topic(&topic).await?;
            let m = match path {
                TxnPath::Plain => b.typed(&topic, n, None).await?,
                TxnPath::Txn(k) => b.typed(&topic, n, Some(k)).await?,
                TxnPath::Java(k, batch) => b.java(&topic, id, n, k, batch)?,
            };
            b.admin.delete_topics(&[topic.as_str()], &rdkafka::admin::AdminOptions::new()).await?;
            let phases = m.phases.map_or(String::new(), |[b, s, c]| {
                format!("; per transaction: begin {b:.1?}, sends {s:.1?}, commit {c:.1?} (medians)")
            });
            println!(
                "round {round} {:<62} {:>9.0} records/s {:>7.2} µs CPU/record{phases}",
                path.name(),
                m.rate(),
                m.cpu_us()
            );
            measured.push((path, m));
        }
        rounds_measured.push(measured);
    }
    let ratio = |a: TxnPath, b_: TxnPath, f: fn(&Measure) -> f64| {
        median(
            rounds_measured
                .iter()
                .map(|r| {
                    let get = |p: TxnPath| r.iter().find(|(q, _)| *q == p).map(|(_, m)| f(m)).unwrap_or(f64::NAN);
                    get(a) / get(b_)
                })
                .collect(),
        )
    };
    println!("\nmedians over {rounds} round(s) of ratios within a round:");
    println!(
        "| path | records/s vs typed-kafka without transactions | CPU/record vs typed-kafka without transactions |"
    );
    println!("|---|---|---|");
    for p in PATHS.into_iter().skip(1) {
        println!(
            "| {} | {:.2} | {:.2} |",
            p.name(),
            ratio(p, TxnPath::Plain, Measure::rate),
            ratio(p, TxnPath::Plain, Measure::cpu_us)
        );
    }
    println!(
        "Java at 1,000 per transaction / Java without transactions: records/s {:.2}",
        ratio(TxnPath::Java(1_000, None), TxnPath::Java(0, None), Measure::rate)
    );
    for java in [TxnPath::Java(1_000, None), TxnPath::Java(1_000, Some(1_000_000))] {
        println!(
            "typed-kafka at 1,000 per transaction / {}: records/s {:.2}, CPU per record {:.2}",
            java.name(),
            ratio(TxnPath::Txn(1_000), java, Measure::rate),
            ratio(TxnPath::Txn(1_000), java, Measure::cpu_us)
        );
    }
    Ok(())
}
