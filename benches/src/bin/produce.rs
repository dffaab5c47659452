//! Producer throughput and latency, side by side in one run against the local broker, for a ~100-byte and a
//! ~1 KiB Avro record (the same schema; the second carries a longer note):
//!
//! - `raw`: rust-rdkafka's `ThreadedProducer` with bytes serialized before the clock starts (the limit of the
//!   transport); on `QueueFull` it sleeps 200 µs while the producer's thread serves delivery reports;
//! - `typed`: typed-kafka's `TypedProducer`, fire-and-forget, from typed values (validate, encode, frame, byte
//!   budget, enqueue, delivery accounting);
//! - `typed-mixed`: the same with fire-and-forget, callback and awaited sends in flight together (a third each);
//! - `raw-mixed`: `raw` with the same third each, through rdkafka's own means: a boxed callback or a oneshot
//!   sender as the record's opaque (what a user adds on top of `raw` to learn each record's outcome);
//! - `hand-wired`: what Rust users wire by hand today: apache-avro through serde with
//!   `schema_registry_converter`'s `AvroEncoder` (cached) and rdkafka's `FutureProducer`, every delivery future
//!   kept and awaited at the end (not one send awaited at a time, which would be far slower);
//! - `java-avro`: Java's `KafkaProducer` with Apache Avro for Java in the Confluent framing (`benches/java/`);
//! - `java-perf`: Kafka's own `ProducerPerformance` with raw bytes of the same size, as a reference;
//! - `java-avro-1mb`: `java-avro` with `batch.size` 1,000,000, typed-kafka's default, where Java's is 16,384.
//!
//! Every path: a fresh 6-partition topic, acks=all, idempotence, linger.ms 5, each client's defaults otherwise,
//! and the run ends when every record is acknowledged. The paths that await deliveries (`typed-mixed`, `raw-mixed`,
//! `hand-wired`) keep every one until the end; `PRODUCE_AWAIT_WINDOW=N` keeps at most N outstanding instead, as a
//! caller with bounded memory does (past N, each awaits its oldest before it sends on). Then the latency of
//! awaited sends at a fixed rate, per path. CPU is per process (user + system, librdkafka's threads included; for
//! Java, the JVM while sending). When the local stack runs the broker, its CPU over each path's timed part (for the
//! Java paths, the JVM's whole run) is added: on a machine the client and the broker share, their CPU per record
//! together is what bounds the throughput, and the summary gives that ratio too. Its broker then deletes a dropped
//! topic's files at once (`log.segment.delete.delay.ms` 0), and each path starts once the broker is idle.
//! Allocations are the Rust heap's, counted by a global allocator. The rdkafka and typed paths also give the
//! requests their client sent (librdkafka's statistics, every 500 ms): fewer, larger produce requests cost the
//! broker less per record.
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features produce-bench --bin produce [records] [rate] [rounds]
//! ```
//!
//! `PRODUCE_PATHS=0,1` runs only those paths (0 raw, 1 typed, 2 typed mixed, 3 hand-wired, 4 Java Avro, 5 Java
//! ProducerPerformance, 6 Java Avro with 1 MB batches, 7 raw mixed) and skips the latency part: for profiling one path.
//! `PRODUCE_PIN=1:0` runs the broker on CPU 1 and every client on CPU 0 (`taskset`, until the run ends). Keys
//! of `PRODUCE_SETTINGS` that start with `rdkafka.` go to librdkafka as they are, for every Rust path.
//! `PRODUCE_PERF_CTL=FIFO` with `perf record -D -1 --control fifo:FIFO` profiles only the paths' timed parts.
//! `PRODUCE_NOTES=0` runs only the small record (920: only the large one). `PRODUCE_SETTINGS=batch.size=16384,..`
//! sets producer settings (Kafka names) for the Rust paths. Before round 0, `PRODUCE_WARMUP` records (default: as
//! many as a path sends; 0 for none) of each size go through the typed path unmeasured, so that the first round
//! does not measure the broker's JIT warm-up.
//!
//! Each Rust path runs in a child process of this binary (the Java paths are processes of their own anyway), so
//! that no path inherits the heap another path left behind; `PRODUCE_ISOLATE=0` runs them all in this process.
//! Each typed path also has a typed producer of its own, as each rdkafka path has its own client.
//!
//! The summary gives, per pair of paths, the median over the rounds of their ratio within a round: the machine's
//! load drifts more between rounds than between the paths of one round.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{
    BaseRecord, DeliveryResult, FutureProducer, FutureRecord, Producer as _, ProducerContext, ThreadedProducer,
};
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_benches::click::{CLICKS, Click, click, framed, rdkafka_config, send_result_when_room, send_when_room};
use typed_kafka_benches::{CountingAlloc, allocations, settings_from_env};

// Counts the Rust heap allocations of the whole process (librdkafka's own mallocs are not counted: they are the
// transport's, the same for every Rust path).
#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Counts acknowledged records; with `Some` latencies, records each record's time from send to acknowledgement.
struct Counting {
    delivered: Arc<AtomicU64>,
    latencies: Option<Arc<Mutex<Vec<Duration>>>>,
    requests: Requests,
}

impl ClientContext for Counting {
    fn stats(&self, statistics: rdkafka::Statistics) {
        self.requests.record(&statistics);
    }
}

/// How often librdkafka reports its statistics to the Rust paths, which count their produce requests from them.
const STATS_MS: u64 = 500;

/// Waits until librdkafka has reported its statistics at least once more.
async fn next_statistics() {
    tokio::time::sleep(Duration::from_millis(STATS_MS + 100)).await;
}

/// The requests (produce requests, and a handful of others) an rdkafka path's producer sent to the brokers, as its
/// context last read them from librdkafka's statistics.
#[derive(Clone, Default)]
struct Requests(Arc<AtomicU64>);

impl Requests {
    fn record(&self, statistics: &rdkafka::Statistics) {
        self.0.store(statistics.brokers.values().map(|b| b.tx).sum(), Ordering::Relaxed);
    }

    /// The count once librdkafka has reported its statistics after the last request.
    async fn settled(&self) -> u64 {
        next_statistics().await;
        self.0.load(Ordering::Relaxed)
    }
}

impl ProducerContext for Counting {
    type DeliveryOpaque = Box<Instant>;
    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        if result.is_ok() {
            self.delivered.fetch_add(1, Ordering::Relaxed);
            if let Some(l) = &self.latencies {
                l.lock().unwrap_or_else(|p| p.into_inner()).push(sent.elapsed());
            }
        }
    }
}

/// (own CPU, CPU of reaped child processes) of process `pid` (`self`), from /proc.
fn process_cpu(pid: &str) -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<u64> =
        stat.rsplit(')').next().unwrap_or("").split_whitespace().skip(1).map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = |i: usize| fields.get(i).copied().unwrap_or(0);
    // USER_HZ is 100 on Linux: utime, stime, cutime, cstime are fields 14-17 (10-13 after the state).
    let d = |t: u64| Duration::from_millis(t * 10);
    Some((d(ticks(10) + ticks(11)), d(ticks(12) + ticks(13))))
}

/// (own CPU, CPU of reaped child processes) of this process.
fn cpu_times() -> (Duration, Duration) {
    process_cpu("self").unwrap_or_default()
}

/// Waits (up to 30 s) until the broker `pid` has used less than a tenth of a core for a quarter of a second:
/// until it is done with the last path's topic.
async fn quiesce(pid: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some((before, _)) = process_cpu(pid) else { return };
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some((after, _)) = process_cpu(pid) else { return };
        if after.saturating_sub(before) < Duration::from_millis(25) {
            return;
        }
    }
}

/// `PRODUCE_PIN=BROKER:CLIENT` (CPU lists as `taskset` takes them, e.g. `1:0`): the broker's threads run only on
/// the first CPUs, this process's threads (and so every path's process, Java's too) only on the second, with
/// `taskset`. On a machine the broker shares, its CPU then no longer competes with the client's. The broker gets its
/// CPUs back when the returned guard is dropped.
fn pin(spec: &str, broker: &str) -> Result<Pinned> {
    let (broker_cpus, client_cpus) = spec.split_once(':').ok_or("PRODUCE_PIN: BROKER_CPUS:CLIENT_CPUS")?;
    // "pid 123's current affinity list: 0,1"
    let before = taskset(&["-p", "-c", broker])?;
    let before = before.rsplit(": ").next().unwrap_or_default().trim().to_string();
    taskset(&["-a", "-p", "-c", broker_cpus, broker])?;
    let pinned = Pinned { broker: broker.to_string(), cpus: before };
    taskset(&["-a", "-p", "-c", client_cpus, &std::process::id().to_string()])?;
    println!("pinned: the broker to CPUs {broker_cpus}, the clients to CPUs {client_cpus}");
    Ok(pinned)
}

fn taskset(args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("taskset").args(args).output()?;
    if !out.status.success() {
        return Err(format!("taskset {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The broker pinned by [`pin`], and the CPUs it had before.
struct Pinned {
    broker: String,
    cpus: String,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Err(e) = taskset(&["-a", "-p", "-c", &self.cpus, &self.broker]) {
            eprintln!("PRODUCE_PIN: the broker keeps its pinning: {e}");
        }
    }
}

/// The pid of the local stack's broker, when it is the one at `bootstrap`.
fn broker_pid(bootstrap: &str) -> Option<String> {
    let status = typed_kafka_stack::Stack::from_env().ok()?.status().ok()?;
    let kafka = status
        .into_iter()
        .find(|p| p.name == "kafka" && p.ports.first().is_some_and(|port| bootstrap.ends_with(&format!(":{port}"))))?;
    kafka.pid.map(|pid| pid.to_string())
}

struct Measure {
    path: &'static str,
    wall: Duration,
    cpu: Duration,
    records: u64,
    bytes: u64,
    allocs: Option<f64>,
    /// The local broker's CPU over the path's timed part, when this machine runs it.
    broker_cpu: Option<Duration>,
    /// Requests the client sent to the broker, from librdkafka's statistics (the Rust paths but hand-wired): fewer
    /// and larger produce requests cost the broker less per record.
    requests: Option<u64>,
}

impl Measure {
    fn rate(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }
    fn mbps(&self) -> f64 {
        self.bytes as f64 / self.wall.as_secs_f64() / 1e6
    }
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.records as f64
    }
    /// The client's and the broker's CPU per record: on a machine they share, what bounds the throughput.
    fn system_cpu_us(&self) -> f64 {
        self.broker_cpu.map_or(f64::NAN, |b| (self.cpu + b).as_secs_f64() * 1e6 / self.records as f64)
    }
}

/// Tells perf `command` through `PRODUCE_PERF_CTL` (see [`typed_kafka_benches::perf_control`]).
fn perf_control(command: &str) {
    typed_kafka_benches::perf_control("PRODUCE_PERF_CTL", command)
}

/// A path's clock: started where its timed part starts, it reads the wall time, this process's CPU, the Rust
/// heap's allocations and the local broker's CPU over the same span.
struct Clock {
    started: Instant,
    cpu: Duration,
    allocations: u64,
    /// The local broker's pid and its CPU at the start, when this machine runs it.
    broker: Option<(String, Duration)>,
}

impl Clock {
    fn start(b: &Bench) -> Clock {
        let broker = b.broker.as_ref().and_then(|pid| Some((pid.clone(), process_cpu(pid)?.0)));
        perf_control("enable");
        Clock { started: Instant::now(), cpu: cpu_times().0, allocations: allocations(), broker }
    }

    /// The broker's CPU since the start.
    fn broker_cpu(&self) -> Option<Duration> {
        let (pid, before) = self.broker.as_ref()?;
        Some(process_cpu(pid)?.0.saturating_sub(*before))
    }

    /// A Rust path's measure of `records` records (`bytes` in all), from the start to now.
    fn measure(&self, path: &'static str, records: u64, bytes: u64) -> Measure {
        let wall = self.started.elapsed();
        perf_control("disable");
        Measure {
            path,
            wall,
            cpu: cpu_times().0 - self.cpu,
            records,
            bytes,
            allocs: Some((allocations() - self.allocations) as f64 / records as f64),
            broker_cpu: self.broker_cpu(),
            requests: None,
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The Rust paths' names, as the output and the summary give them.
const RAW: &str = "raw rdkafka";
const RAW_MIXED: &str = "raw rdkafka, mixed";
const TYPED: &str = "typed-kafka, fire-and-forget";
const TYPED_MIXED: &str = "typed-kafka, mixed";
const HAND_WIRED: &str = "hand-wired (apache-avro + schema_registry_converter + FutureProducer)";

struct Bench {
    bootstrap: String,
    registry_url: String,
    config: ProducerConfig,
    registry: SchemaRegistryClient,
    /// The bench's own process's part; `None` in a child, which runs one Rust path and needs none of it.
    parent: Option<Parent>,
    /// Awaited deliveries a path keeps outstanding at most.
    await_window: usize,
    /// The local stack's broker process, when it is the one at `bootstrap`.
    broker: Option<String>,
}

/// What only the bench's own process holds: the clients that make and drop the paths' topics, and Java.
struct Parent {
    /// Registers each path's schema and creates its topic's metadata; no path measures it (see
    /// [`Bench::fresh_producer`]).
    producer: Producer,
    admin: AdminClient<DefaultClientContext>,
    java_cp: String,
    java: std::path::PathBuf,
}

impl Bench {
    /// The bench's own process's part.
    fn parent(&self) -> Result<&Parent> {
        Ok(self.parent.as_ref().ok_or("topics and Java are the bench's own process's, not a child's")?)
    }

    /// The typed producer's settings for the rdkafka paths, with the same buffer (see [`rdkafka_config`]).
    fn rd_config(&self) -> ClientConfig {
        rdkafka_config(&self.config)
    }

    /// A producer of its own for one typed path, as every rdkafka path creates its own client. librdkafka's sender
    /// serves a broker's partitions in a ring, starting one partition further on each pass, and the ring holds the
    /// partitions of every topic the client has written to, also those of a topic since deleted, until its metadata
    /// drops them. With an earlier path's empty partitions in the ring, the measured topic's first partition led most
    /// passes and its last partition fell behind: in one run its transmitted records lagged the first's by a fifth to
    /// a third all along, its records waiting to be sent took up to a third of the budget, the other partitions'
    /// batches came out smaller, and the shared typed producer sent 9% more produce requests than raw rdkafka for the
    /// same records. With a producer per path, it sends as many.
    fn fresh_producer(&self) -> Result<Producer> {
        Ok(Producer::builder(self.config.clone()).registry(self.registry.clone()).build()?)
    }

    /// A fresh 6-partition topic with the value schema registered under its subject; returns the schema ID.
    async fn topic(&self, name: &str) -> Result<u32> {
        typed_kafka::admin::ensure_topic(&self.config, name, 6, 1).await?;
        let clicks = self.parent()?.producer.topic(CLICKS).name(name).bind().await?;
        let meta = clicks.send(Record::new(click(0, 0)).key("warm-up".into())).await?;
        Ok(meta.value_schema_id.ok_or("no schema id")?.0)
    }

    async fn drop_topic(&self, name: &str) {
        if let Ok(parent) = self.parent() {
            let _ = parent.admin.delete_topics(&[name], &AdminOptions::new()).await;
        }
    }

    /// For the local stack's broker: deletes a dropped topic's files at once.
    async fn delete_files_at_once(&self) -> Result<()> {
        typed_kafka_benches::delete_files_at_once(&self.parent()?.admin).await
    }

    fn java(&self, args: &[String]) -> Result<String> {
        let parent = self.parent()?;
        let out = Command::new(&parent.java).arg("-cp").arg(&parent.java_cp).args(args).output()?;
        if !out.status.success() {
            return Err(format!("java failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A record's key and value bytes.
type Framed = (Vec<u8>, Vec<u8>);

/// A path's outstanding deliveries, oldest first: at most `window` of them.
struct Outstanding<F> {
    futures: std::collections::VecDeque<F>,
    window: usize,
}

impl<F: std::future::Future> Outstanding<F> {
    fn new(window: usize, expected: u64) -> Self {
        Outstanding { futures: std::collections::VecDeque::with_capacity(window.min(expected as usize)), window }
    }

    /// Keeps `f`; with more than the window outstanding, awaits the oldest and gives its output.
    async fn push(&mut self, f: F) -> Option<F::Output> {
        self.futures.push_back(f);
        if self.futures.len() <= self.window {
            return None;
        }
        Some(self.futures.pop_front()?.await)
    }

    /// The rest, oldest first, to await at the end.
    fn rest(self) -> impl Iterator<Item = F> {
        self.futures.into_iter()
    }
}

/// The raw paths' `n` records, framed before the clock starts, and their bytes.
fn prepared(id: u32, n: u64, note: usize) -> Result<(Vec<Framed>, u64)> {
    let prepared = (0..n).map(|i| framed(id, i, note)).collect::<std::result::Result<Vec<_>, _>>()?;
    let bytes = prepared.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    Ok((prepared, bytes))
}

async fn raw(b: &Bench, topic: &str, id: u32, n: u64, note: usize) -> Result<Measure> {
    let delivered = Arc::new(AtomicU64::new(0));
    let requests = Requests::default();
    let context = Counting { delivered: delivered.clone(), latencies: None, requests: requests.clone() };
    let raw: ThreadedProducer<Counting> =
        b.rd_config().set("statistics.interval.ms", STATS_MS.to_string()).create_with_context(context)?;
    let (prepared, bytes) = prepared(id, n, note)?;
    let clock = Clock::start(b);
    // Each path consumes its prepared inputs inside the clock, as the typed path consumes its records.
    for (key, value) in prepared {
        let record = BaseRecord::with_opaque_to(topic, Box::new(clock.started));
        send_when_room(&raw, record.key(&key[..]).payload(&value[..]))?;
    }
    raw.flush(Duration::from_secs(300))?;
    while delivered.load(Ordering::Relaxed) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
    let m = clock.measure(RAW, n, bytes);
    Ok(Measure { requests: Some(requests.settled().await), ..m })
}

/// How a `raw-mixed` record's outcome reaches its sender.
enum RawDone {
    Forget,
    Call(Box<dyn FnOnce(bool) + Send + Sync>),
    Await(tokio::sync::oneshot::Sender<bool>),
}

struct RawMixed {
    delivered: Arc<AtomicU64>,
    requests: Requests,
}

impl ClientContext for RawMixed {
    fn stats(&self, statistics: rdkafka::Statistics) {
        self.requests.record(&statistics);
    }
}

impl ProducerContext for RawMixed {
    type DeliveryOpaque = Box<RawDone>;
    fn delivery(&self, result: &DeliveryResult<'_>, done: Box<RawDone>) {
        if result.is_ok() {
            self.delivered.fetch_add(1, Ordering::Relaxed);
        }
        match *done {
            RawDone::Forget => {}
            RawDone::Call(f) => f(result.is_ok()),
            RawDone::Await(tx) => {
                let _ = tx.send(result.is_ok());
            }
        }
    }
}

/// `raw`, with fire-and-forget, called-back and awaited records in flight together, as `typed-mixed`.
async fn raw_mixed(b: &Bench, topic: &str, id: u32, n: u64, note: usize) -> Result<Measure> {
    let delivered = Arc::new(AtomicU64::new(0));
    let requests = Requests::default();
    let context = RawMixed { delivered: delivered.clone(), requests: requests.clone() };
    let raw: ThreadedProducer<RawMixed> =
        b.rd_config().set("statistics.interval.ms", STATS_MS.to_string()).create_with_context(context)?;
    let (prepared, bytes) = prepared(id, n, note)?;
    let failed = Arc::new(AtomicU64::new(0));
    let clock = Clock::start(b);
    let mut outcomes = Outstanding::new(b.await_window, n / 3 + 1);
    for (i, (key, value)) in prepared.into_iter().enumerate() {
        let mut awaiting = None;
        let done = match i % 3 {
            1 => {
                let f = failed.clone();
                RawDone::Call(Box::new(move |ok| {
                    if !ok {
                        f.fetch_add(1, Ordering::Relaxed);
                    }
                }))
            }
            2 => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                awaiting = Some(rx);
                RawDone::Await(tx)
            }
            _ => RawDone::Forget,
        };
        send_when_room(&raw, BaseRecord::with_opaque_to(topic, Box::new(done)).key(&key[..]).payload(&value[..]))?;
        if let Some(rx) = awaiting
            && let Some(ok) = outcomes.push(rx).await
            && !ok?
        {
            failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    for o in outcomes.rest() {
        if !o.await? {
            failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    raw.flush(Duration::from_secs(300))?;
    while delivered.load(Ordering::Relaxed) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
    let m = clock.measure(RAW_MIXED, n, bytes);
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("raw mixed: records failed".into());
    }
    Ok(Measure { requests: Some(requests.settled().await), ..m })
}

async fn typed(b: &Bench, topic: &str, n: u64, note: usize, mixed: bool) -> Result<Measure> {
    let producer = b.fresh_producer()?;
    let clicks = producer.topic(CLICKS).name(topic).bind().await?;
    let records: Vec<Record<String, Click>> = (0..n)
        .map(|i| {
            let c = click(i, note);
            let key = c.user.clone();
            Record::new(c).key(key)
        })
        .collect();
    let size = {
        let mut v = Vec::new();
        click(0, note).encode_body(&mut v)?;
        v.len() + 5 + 11
    };
    let failed = Arc::new(AtomicU64::new(0));
    let sent_before = producer.metrics().records_sent;
    let requests_before = producer.metrics().requests_sent;
    let clock = Clock::start(b);
    let mut deliveries = Outstanding::new(if mixed { b.await_window } else { 0 }, n / 3 + 1);
    for (i, record) in records.into_iter().enumerate() {
        match (mixed, i % 3) {
            (true, 1) => {
                let f = failed.clone();
                clicks
                    .send_with(record, move |r| {
                        if r.is_err() {
                            f.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await?;
            }
            (true, 2) => {
                if let Some(done) = deliveries.push(clicks.enqueue(record).await?).await {
                    done?;
                }
            }
            _ => {
                clicks.send_and_forget(record).await?;
            }
        }
    }
    for d in deliveries.rest() {
        d.await?;
    }
    let left = producer.flush(Duration::from_secs(300)).await;
    let path = if mixed { TYPED_MIXED } else { TYPED };
    let mut m = clock.measure(path, n, size as u64 * n);
    next_statistics().await;
    // A fresh producer has no statistics before its first report: it had sent no produce request then.
    if let Some(after) = producer.metrics().requests_sent {
        m.requests = Some((after - requests_before.unwrap_or(0)).max(0) as u64);
    }
    let sent = producer.metrics().records_sent;
    producer.close(Duration::from_secs(30)).await;
    if left != 0 || failed.load(Ordering::Relaxed) != 0 || sent != sent_before + n {
        return Err(format!("{topic}: {left} left in flight, {} failed", failed.load(Ordering::Relaxed)).into());
    }
    Ok(m)
}

async fn hand_wired(b: &Bench, topic: &str, n: u64, note: usize) -> Result<Measure> {
    let encoder = AvroEncoder::new(SrSettings::new(b.registry_url.clone()));
    let strategy = SubjectNameStrategy::TopicNameStrategy(topic.to_string(), false);
    let producer: FutureProducer = b.rd_config().create()?;
    let clicks: Vec<Click> = (0..n).map(|i| click(i, note)).collect();
    // Its schema cache is warm before the clock starts, as the typed path is bound.
    let warm = encoder.encode_struct(&clicks[0], &strategy).await?;
    let bytes = (warm.len() + clicks[0].user.len()) as u64 * n;
    let clock = Clock::start(b);
    let mut futures = Outstanding::new(b.await_window, n);
    for c in clicks {
        let payload = encoder.encode_struct(&c, &strategy).await?;
        let record = FutureRecord::to(topic).key(c.user.as_str()).payload(&payload);
        if let Some(done) = futures.push(send_result_when_room(&producer, record).await?).await {
            done?.map_err(|(e, _)| e)?;
        }
    }
    for f in futures.rest() {
        f.await?.map_err(|(e, _)| e)?;
    }
    Ok(clock.measure(HAND_WIRED, n, bytes))
}

/// Java's KafkaProducer with Apache Avro: (measure, p50, p99) from the program's one line.
fn java_avro(
    b: &Bench,
    topic: &str,
    id: u32,
    n: u64,
    note: usize,
    rate: u64,
    batch_size: Option<u32>,
) -> Result<(Measure, u64, u64)> {
    let schema = Click::schema()?.json().to_string();
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("java/JavaAvroProduce.java");
    let args = [
        program.display().to_string(),
        b.bootstrap.clone(),
        topic.to_string(),
        id.to_string(),
        schema,
        n.to_string(),
        note.to_string(),
        rate.to_string(),
    ]
    .into_iter()
    .chain(batch_size.map(|s| s.to_string()))
    .collect::<Vec<_>>();
    let clock = Clock::start(b);
    let out = b.java(&args)?;
    perf_control("disable");
    let f: Vec<u64> = out.split_whitespace().map(|x| x.parse().unwrap_or(0)).collect();
    if f.len() < 5 || f[2] != 0 {
        return Err(format!("JavaAvroProduce: {out}").into());
    }
    let mut v = Vec::new();
    click(0, note).encode_body(&mut v)?;
    let m = Measure {
        path: if batch_size.is_some() {
            "Java KafkaProducer + Avro, batch.size 1,000,000"
        } else {
            "Java KafkaProducer + Avro (Confluent framing)"
        },
        wall: Duration::from_nanos(f[0]),
        cpu: Duration::from_nanos(f[1]),
        records: n,
        bytes: (v.len() + 5 + 11) as u64 * n,
        allocs: None,
        broker_cpu: clock.broker_cpu(),
        requests: None,
    };
    Ok((m, f[3], f[4]))
}

/// Kafka's ProducerPerformance with raw bytes of `size`: (measure, p50 µs, p99 µs). CPU is the whole JVM's,
/// start-up included.
fn java_perf(b: &Bench, topic: &str, n: u64, size: usize, rate: i64) -> Result<(Measure, u64, u64)> {
    let (_, children) = cpu_times();
    let props = format!("bootstrap.servers={}", b.bootstrap);
    let args: Vec<String> = [
        "org.apache.kafka.tools.ProducerPerformance",
        "--topic",
        topic,
        "--num-records",
        &n.to_string(),
        "--record-size",
        &size.to_string(),
        "--throughput",
        &rate.to_string(),
        "--producer-props",
        &props,
        "acks=all",
        "enable.idempotence=true",
        "linger.ms=5",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let clock = Clock::start(b);
    let out = b.java(&args)?;
    perf_control("disable");
    let cpu = cpu_times().1 - children;
    // "N records sent, R records/sec (M MB/sec), A ms avg latency, X ms max latency, P ms 50th, ..., Q ms 99th, ..."
    let last = out.lines().rev().find(|l| l.contains("records sent")).ok_or(format!("ProducerPerformance: {out}"))?;
    let num = |after: &str| -> f64 {
        let i = last.find(after).unwrap_or(0);
        last[..i].trim_end().rsplit([' ', '(']).next().and_then(|x| x.parse().ok()).unwrap_or(0.0)
    };
    let rate = num(" records/sec");
    let m = Measure {
        path: "Java ProducerPerformance, raw bytes (reference)",
        wall: Duration::from_secs_f64(n as f64 / rate.max(1.0)),
        cpu,
        records: n,
        bytes: size as u64 * n,
        allocs: None,
        broker_cpu: clock.broker_cpu(),
        requests: None,
    };
    Ok((m, (num(" ms 50th") * 1000.0) as u64, (num(" ms 99th") * 1000.0) as u64))
}

fn percentiles(mut v: Vec<Duration>) -> (u64, u64) {
    v.sort();
    let at = |q: f64| {
        v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1))).map_or(0, |d| d.as_micros() as u64)
    };
    (at(0.5), at(0.99))
}

/// Starts `count` tasks at `rate` per second (a tokio interval), each made by `task` from its index and answering
/// its send's latency (`None`: the send failed); waits for all of them: (p50, p99) in µs.
async fn paced<F, Fut>(count: u64, rate: u64, what: &str, mut task: F) -> Result<(u64, u64)>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Option<Duration>> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for i in 0..count {
        tick.tick().await;
        tasks.spawn(task(i));
    }
    let mut latencies = Vec::with_capacity(count as usize);
    while let Some(latency) = tasks.join_next().await {
        latencies.push(latency?.ok_or_else(|| format!("{what}: a send failed"))?);
    }
    Ok(percentiles(latencies))
}

/// Awaited sends at `rate` per second for `count` records, each in its own task: (p50, p99) in µs.
async fn latency_typed(b: &Bench, topic: &str, count: u64, rate: u64) -> Result<(u64, u64)> {
    let producer = b.fresh_producer()?;
    let clicks = producer.topic(CLICKS).name(topic).bind().await?;
    // Connected before the clock starts: one record, delivered, then the measured ones.
    clicks.send(Record::new(click(0, 0)).key("warm-up".into())).await?;
    let percentiles = paced(count, rate, "typed", |i| {
        let clicks = clicks.clone();
        let c = click(i, 0);
        async move {
            let key = c.user.clone();
            let t = Instant::now();
            clicks.send(Record::new(c).key(key)).await.ok().map(|_| t.elapsed())
        }
    })
    .await;
    producer.close(Duration::from_secs(30)).await;
    percentiles
}

async fn latency_hand_wired(b: &Bench, topic: &str, count: u64, rate: u64) -> Result<(u64, u64)> {
    let encoder = Arc::new(AvroEncoder::new(SrSettings::new(b.registry_url.clone())));
    let strategy = Arc::new(SubjectNameStrategy::TopicNameStrategy(topic.to_string(), false));
    let producer: FutureProducer = b.rd_config().create()?;
    // Connected and cached before the clock starts, as the other paths are.
    let warm = encoder.encode_struct(&click(0, 0), &strategy).await?;
    producer
        .send(FutureRecord::to(topic).key("warm-up").payload(&warm), Duration::from_secs(30))
        .await
        .map_err(|(e, _)| e)?;
    paced(count, rate, "hand-wired", |i| {
        let (encoder, strategy, producer) = (encoder.clone(), strategy.clone(), producer.clone());
        let topic = topic.to_string();
        let c = click(i, 0);
        async move {
            let t = Instant::now();
            let payload = encoder.encode_struct(&c, &strategy).await.ok()?;
            let record = FutureRecord::to(&topic).key(c.user.as_str()).payload(&payload);
            producer.send(record, Duration::from_secs(30)).await.ok().map(|_| t.elapsed())
        }
    })
    .await
}

async fn latency_raw(b: &Bench, topic: &str, id: u32, count: u64, rate: u64) -> Result<(u64, u64)> {
    let delivered = Arc::new(AtomicU64::new(0));
    let lat = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
    let raw: ThreadedProducer<Counting> = b.rd_config().create_with_context(Counting {
        delivered: delivered.clone(),
        latencies: Some(lat.clone()),
        requests: Requests::default(),
    })?;
    // Connected before the clock starts: one record, delivered, then the measured ones.
    let (_, warm) = framed(id, 0, 0)?;
    raw.send(BaseRecord::with_opaque_to(topic, Box::new(Instant::now())).key("warm-up").payload(&warm))
        .map_err(|(e, _)| e)?;
    raw.flush(Duration::from_secs(30))?;
    lat.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let count_before = delivered.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    for i in 0..count {
        tick.tick().await;
        let (key, value) = framed(id, i, 0)?;
        let record = BaseRecord::with_opaque_to(topic, Box::new(Instant::now())).key(&key[..]).payload(&value[..]);
        raw.send(record).map_err(|(e, _)| e)?;
    }
    raw.flush(Duration::from_secs(60))?;
    while delivered.load(Ordering::Relaxed) < count_before + count {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let v = std::mem::take(&mut *lat.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(percentiles(v))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let rate = args.get(1).copied().unwrap_or(5_000);
    let rounds = args.get(2).copied().unwrap_or(1);
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec).await;
    }
    let session = typed_kafka_stack::Session::start()?;
    let outcome = run(&session.endpoints, n, rate, rounds).await;
    session.stop_started()?;
    outcome
}

/// The comma-separated numbers in the variable `name`, if it is set.
fn env_list<T: std::str::FromStr>(name: &str) -> Option<Vec<T>> {
    std::env::var(name).ok().map(|v| v.split(',').filter_map(|p| p.trim().parse().ok()).collect())
}

/// Runs path `path` (see `PRODUCE_PATHS`) in this process.
async fn run_path(b: &Bench, path: u64, topic: &str, id: u32, n: u64, note: usize, size: usize) -> Result<Measure> {
    Ok(match path {
        0 => raw(b, topic, id, n, note).await?,
        1 => typed(b, topic, n, note, false).await?,
        2 => typed(b, topic, n, note, true).await?,
        3 => hand_wired(b, topic, n, note).await?,
        4 => java_avro(b, topic, id, n, note, 0, None)?.0,
        6 => java_avro(b, topic, id, n, note, 0, Some(1_000_000))?.0,
        7 => raw_mixed(b, topic, id, n, note).await?,
        _ => java_perf(b, topic, n, size, -1)?.0,
    })
}

/// The name of Rust path `path` (see `PRODUCE_PATHS`), `None` for a Java path. Each Rust path runs in a child
/// process unless `PRODUCE_ISOLATE=0`.
fn rust_path(path: u64) -> Option<&'static str> {
    Some(match path {
        0 => RAW,
        1 => TYPED,
        2 => TYPED_MIXED,
        3 => HAND_WIRED,
        7 => RAW_MIXED,
        _ => return None,
    })
}

/// Set in a child process: the path it runs, as `path note records schema-id topic`.
const CHILD_ENV: &str = "PRODUCE_CHILD";

/// How a child's one line of output, its measure, starts.
const CHILD_LINE: &str = "measure:";

impl Measure {
    /// The measure as a child prints it for its parent: path, wall and CPU in ns, records, bytes, allocations per
    /// record, the broker's CPU in ns and the requests ("-" when not known).
    fn to_line(&self, path: u64) -> String {
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        format!(
            "{CHILD_LINE} {path} {} {} {} {} {} {} {}",
            self.wall.as_nanos(),
            self.cpu.as_nanos(),
            self.records,
            self.bytes,
            or_dash(self.allocs.map(|a| a.to_string())),
            or_dash(self.broker_cpu.map(|c| c.as_nanos().to_string())),
            or_dash(self.requests.map(|r| r.to_string())),
        )
    }

    /// The measure of a child's line.
    fn from_line(line: &str) -> Result<Measure> {
        let bad = || format!("a child's measure: {line:?}");
        let f: Vec<&str> = line.strip_prefix(CHILD_LINE).ok_or_else(bad)?.split_whitespace().collect();
        let [path, wall, cpu, records, bytes, allocs, broker, requests] = f[..] else { return Err(bad().into()) };
        fn opt(v: &str) -> Option<&str> {
            (v != "-").then_some(v)
        }
        let nanos = |v: &str| v.parse::<u64>().map(Duration::from_nanos);
        Ok(Measure {
            path: rust_path(path.parse()?).ok_or_else(bad)?,
            wall: nanos(wall)?,
            cpu: nanos(cpu)?,
            records: records.parse()?,
            bytes: bytes.parse()?,
            allocs: opt(allocs).map(str::parse).transpose()?,
            broker_cpu: opt(broker).map(nanos).transpose()?,
            requests: opt(requests).map(str::parse).transpose()?,
        })
    }
}

/// Runs Rust path `path` in a child process of this binary: each path starts from a fresh heap and a fresh
/// allocator state, whatever ran before it, as a JMH fork does. In one process, the paths before it left glibc's
/// heap in pieces that a later path's librdkafka `malloc`s then paid for (see benches/README.md, runs AE, AF and AG).
fn in_child(
    b: &Bench,
    endpoints: &typed_kafka_stack::Endpoints,
    path: u64,
    topic: &str,
    id: u32,
    n: u64,
    note: usize,
) -> Result<Measure> {
    let out = Command::new(std::env::current_exe()?)
        .env(CHILD_ENV, format!("{path} {note} {n} {id} {topic}"))
        .env(typed_kafka_stack::ENV_BOOTSTRAP, &endpoints.bootstrap_servers)
        .env(typed_kafka_stack::ENV_REGISTRY, &endpoints.registry_url)
        .env("PRODUCE_BROKER_PID", b.broker.as_deref().unwrap_or("-"))
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("path {path} in its process: {}; output: {stdout}", out.status).into());
    }
    let line = stdout.lines().find(|l| l.starts_with(CHILD_LINE)).ok_or("a child printed no measure")?;
    Measure::from_line(line)
}

/// A child's part: runs the one path its parent named and prints its measure.
async fn child(spec: &str) -> Result<()> {
    let bad = || format!("{CHILD_ENV}: {spec:?}");
    let f: Vec<&str> = spec.split_whitespace().collect();
    let [path, note, n, id, topic] = f[..] else { return Err(bad().into()) };
    let endpoints = typed_kafka_stack::Endpoints {
        bootstrap_servers: std::env::var(typed_kafka_stack::ENV_BOOTSTRAP)?,
        registry_url: std::env::var(typed_kafka_stack::ENV_REGISTRY)?,
    };
    let mut b = bench(&endpoints, false).await?;
    b.broker = std::env::var("PRODUCE_BROKER_PID").ok().filter(|p| p != "-");
    let path: u64 = path.parse()?;
    if rust_path(path).is_none() {
        return Err(bad().into());
    }
    // The size is only the Java reference path's.
    let m = run_path(&b, path, topic, id.parse()?, n.parse()?, note.parse()?, 0).await?;
    println!("{}", m.to_line(path));
    Ok(())
}

/// The bench's clients and settings for `endpoints`; with `parent`, also the clients for the paths' topics and the
/// Java paths' class path (Maven resolves it on first use).
async fn bench(endpoints: &typed_kafka_stack::Endpoints, parent: bool) -> Result<Bench> {
    let builder = ProducerConfig::builder(endpoints.bootstrap_servers.as_str())
        .set_librdkafka("statistics.interval.ms", STATS_MS.to_string());
    let config = settings_from_env(builder, "PRODUCE_SETTINGS")?.build()?;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.clone()]).build()?;
    let parent = if parent {
        Some(Parent {
            producer: Producer::builder(config.clone()).registry(registry.clone()).build()?,
            admin: ClientConfig::new().set("bootstrap.servers", &endpoints.bootstrap_servers).create()?,
            java_cp: typed_kafka_stack::maven_classpath(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("java/pom.xml"),
                "bench-java",
            )?,
            java: typed_kafka_stack::java()?,
        })
    } else {
        None
    };
    Ok(Bench {
        bootstrap: endpoints.bootstrap_servers.clone(),
        registry_url: endpoints.registry_url.clone(),
        config,
        registry,
        parent,
        await_window: match std::env::var("PRODUCE_AWAIT_WINDOW").as_deref() {
            Err(_) | Ok("all") => usize::MAX,
            Ok(w) => w.parse().map_err(|_| "PRODUCE_AWAIT_WINDOW: a count, or all")?,
        },
        broker: broker_pid(&endpoints.bootstrap_servers),
    })
}

async fn run(endpoints: &typed_kafka_stack::Endpoints, n: u64, rate: u64, rounds: u64) -> Result<()> {
    let b = bench(endpoints, true).await?;
    let pid = std::process::id();
    if b.broker.is_some() {
        b.delete_files_at_once().await?;
    }
    let _pinned = match std::env::var("PRODUCE_PIN") {
        Ok(spec) => Some(pin(&spec, b.broker.as_deref().ok_or("PRODUCE_PIN: the broker is not the local stack's")?)?),
        Err(_) => None,
    };
    let window = if b.await_window == usize::MAX { "all".to_string() } else { b.await_window.to_string() };
    println!(
        "{n} records per path and size, {rounds} round(s); latency at {rate} records/s; awaited deliveries outstanding: {window}"
    );
    let only: Option<Vec<u64>> = env_list("PRODUCE_PATHS");
    let isolate = std::env::var("PRODUCE_ISOLATE").map_or(true, |v| v != "0");
    let notes: Vec<usize> = env_list("PRODUCE_NOTES").unwrap_or(vec![0, 920]);
    // A freshly started broker spends about twice its settled CPU per record until its JIT has compiled the
    // produce path (in one run: 2.2 times, per 1 KiB record, in round 0 what it took in round 4), which would make
    // round 0 measure the broker's warm-up. Records sent through the typed path first, not measured.
    let warm_up: u64 = env_list("PRODUCE_WARMUP").and_then(|v| v.first().copied()).unwrap_or(n);
    for note in notes.iter().copied().filter(|_| warm_up > 0) {
        let topic = format!("bench-{pid}-warm-up-{note}");
        b.topic(&topic).await?;
        let m = typed(&b, &topic, warm_up, note, false).await?;
        println!("warm-up: {warm_up} records of note {note} at {:.0} rec/s, not counted", m.rate());
        b.drop_topic(&topic).await;
    }
    let mut all: HashMap<(usize, &'static str), Vec<Measure>> = HashMap::new();
    for round in 0..rounds {
        for note in notes.iter().copied() {
            let mut framed = Vec::new();
            click(0, note).encode_body(&mut framed)?;
            let size = framed.len() + 5;
            println!("\n## round {round}: {size}-byte framed record, 11-byte key");
            // Odd rounds run the paths in reverse order, so that no path always follows the same one (whose topic
            // the broker is still deleting, whose memory the allocator still holds).
            let mut paths: Vec<u64> = (0..8).filter(|p| only.as_ref().is_none_or(|o| o.contains(p))).collect();
            if round % 2 == 1 {
                paths.reverse();
            }
            for path in paths {
                let topic = format!("bench-{pid}-{round}-{note}-{path}");
                let id = b.topic(&topic).await?;
                if let Some(pid) = &b.broker {
                    quiesce(pid).await;
                }
                let m = if isolate && rust_path(path).is_some() {
                    in_child(&b, endpoints, path, &topic, id, n, note)?
                } else {
                    run_path(&b, path, &topic, id, n, note, size).await?
                };
                println!(
                    "{:<70} {:>9.0} rec/s {:>7.1} MB/s {:>6.2} µs CPU/rec {}{}{}",
                    m.path,
                    m.rate(),
                    m.mbps(),
                    m.cpu_us(),
                    m.allocs.map(|a| format!("{a:.2} allocs/rec")).unwrap_or_default(),
                    m.broker_cpu
                        .map(|_| format!(" (with the broker's: {:.2} µs)", m.system_cpu_us()))
                        .unwrap_or_default(),
                    m.requests.map(|r| format!(" {r} requests")).unwrap_or_default()
                );
                all.entry((size, m.path)).or_default().push(m);
                b.drop_topic(&topic).await;
            }
        }
    }

    println!("\n## summary: medians over the rounds of the ratio of two paths in the same round");
    let mut sizes: Vec<usize> = all.keys().map(|(s, _)| *s).collect();
    sizes.sort();
    sizes.dedup();
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    for size in sizes {
        // The paths of one round ran minutes apart at most; the machine's load drifts more between rounds.
        let ratio = |a: &str, b: &str, f: &dyn Fn(&Measure) -> f64| -> (f64, Vec<f64>) {
            let (Some(a), Some(b)) = (all.get(&(size, a)), all.get(&(size, b))) else { return (f64::NAN, Vec::new()) };
            let per_round: Vec<f64> = a.iter().zip(b).map(|(a, b)| f(a) / f(b)).collect();
            (median(per_round.clone()), per_round)
        };
        let (t, m, r, h, j) = (TYPED, TYPED_MIXED, RAW, HAND_WIRED, "Java KafkaProducer + Avro (Confluent framing)");
        for (what, a, b) in [
            ("typed / raw", t, r),
            ("typed mixed / raw", m, r),
            ("typed mixed / raw mixed", m, RAW_MIXED),
            ("raw mixed / raw", RAW_MIXED, r),
            ("typed / hand-wired", t, h),
            ("typed mixed / hand-wired", m, h),
            // The transport's own lead over the hand-wired stack: typed / hand-wired can hardly pass it.
            ("raw / hand-wired", r, h),
            ("typed / Java Avro", t, j),
            ("typed / Java Avro 1 MB batches", t, "Java KafkaProducer + Avro, batch.size 1,000,000"),
        ] {
            let (rate, rounds) = ratio(a, b, &Measure::rate);
            if rounds.is_empty() {
                continue;
            }
            let (cpu, _) = ratio(b, a, &Measure::cpu_us);
            let (system, system_rounds) = ratio(b, a, &Measure::system_cpu_us);
            let listed = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(" ");
            let with_broker = if system.is_nan() {
                String::new()
            } else {
                format!("; with the broker's {system:.3} (rounds {})", listed(&system_rounds))
            };
            println!(
                "{size} bytes: {what:<28} throughput {rate:.3} (rounds {}), CPU/rec {b_name} / {a_name} {cpu:.3}{with_broker}",
                listed(&rounds),
                b_name = what.split(" / ").nth(1).unwrap_or(""),
                a_name = what.split(" / ").next().unwrap_or(""),
            );
        }
    }

    if only.is_some() {
        return Ok(());
    }
    println!("\n## latency of awaited sends at {rate} records/s, 100-byte record (p50 / p99)");
    let count = (rate * 10).min(n);
    let topic = format!("bench-{pid}-latency");
    let id = b.topic(&topic).await?;
    let (p50, p99) = latency_raw(&b, &topic, id, count, rate).await?;
    println!("{:<70} {p50:>7} µs {p99:>7} µs", "raw rdkafka (send to delivery report)");
    let (p50, p99) = latency_typed(&b, &topic, count, rate).await?;
    println!("{:<70} {p50:>7} µs {p99:>7} µs", "typed-kafka, awaited send");
    let (p50, p99) = latency_hand_wired(&b, &topic, count, rate).await?;
    println!("{:<70} {p50:>7} µs {p99:>7} µs", "hand-wired, awaited send (FutureProducer)");
    let (_, p50, p99) = java_avro(&b, &topic, id, count, 0, rate, None)?;
    println!("{:<70} {p50:>7} µs {p99:>7} µs", "Java KafkaProducer + Avro (send to callback)");
    let (_, p50, p99) = java_perf(&b, &topic, count, 112, rate as i64)?;
    println!("{:<70} {p50:>7} µs {p99:>7} µs", "Java ProducerPerformance (ms resolution)");
    b.drop_topic(&topic).await;
    b.parent()?.producer.close(Duration::from_secs(30)).await;
    Ok(())
}
