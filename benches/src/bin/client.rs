//! The client's CPU per record, with the broker out of the picture, and records/s end to end: typed-kafka in each
//! send mode against raw rust-rdkafka in the same mode, side by side in one run, for a 113-byte and a 1 KiB record.
//!
//! - **Client CPU** (`mock`, the default): every path produces to librdkafka's in-process mock cluster (a fresh one
//!   per path, one broker, a 6-partition topic). The client's CPU is the process's CPU time over the path's timed
//!   part, less that of the mock cluster's own thread (`rdk:mock`, read from `/proc/self/task/*/schedstat`): what
//!   the client spends per record, on any machine, however busy its broker would be.
//! - **End to end** (`broker`): the same paths against the local broker (started if absent, or
//!   `TYPED_KAFKA_BOOTSTRAP_SERVERS`), a fresh topic per path, deleted after it, for records/s. (The local stack with
//!   its data in tmpfs, `TYPED_KAFKA_STACK_DIR=/dev/shm/tk`, keeps the broker's disk out of the figures.)
//!
//! Paths, each in every mode (fire-and-forget; awaited, every future kept and awaited at the end; called back;
//! mixed, a third each):
//! - `raw`: rust-rdkafka's `ThreadedProducer` with key and value bytes framed before the clock starts; its opaque
//!   is `()`, a boxed oneshot sender, or a boxed callback (what a user adds on top of rdkafka to learn each outcome);
//! - `raw encoding`: the same, building, encoding (as `encode` below) and dropping each record in its loop: raw
//!   rdkafka's and the encode's costs measured together, in the heap an application has;
//! - `typed`: typed-kafka's `TypedProducer` from typed records (validate, encode, frame, byte budget, enqueue,
//!   delivery accounting);
//! - `typed otel`: the same producer with OpenTelemetry (`telemetry`): `no-op` (a no-op tracer and meter),
//!   `sampled out` (the SDK's tracer with an always-off sampler), `exported` (every span sampled, through the SDK's
//!   batch processor to an exporter that drops each batch), each with a no-op meter; and `metrics` (a no-op tracer,
//!   the SDK's meter aggregating every record);
//! - `hand-wired`: apache-avro through serde with `schema_registry_converter`'s cached `AvroEncoder` and rdkafka's
//!   `FutureProducer`, awaited at the end (a figure, in the awaited mode only);
//! - `encode`: the same records' keys (their bytes) and values (typed-kafka's derive, framed) serialized into reused
//!   buffers on one thread, without a transport: the bare encode the targets add to raw rdkafka's CPU, as raw
//!   rdkafka is handed both serialized.
//!
//! Every path: acks=all, idempotence, linger.ms 5, 32 MiB of records held at most (typed-kafka's `buffer.memory`;
//! librdkafka's `queue.buffering.max.kbytes` and its default 100,000-message cap for raw), each record built in the
//! loop just before it is sent (`CLIENT_RECORDS=prebuilt`: all before the clock), and the run ends when every record
//! is acknowledged. Allocations are the Rust heap's, counted by a global allocator, building a record's not counted
//! (librdkafka's mallocs are the transport's, the same for every path). `CLIENT_THREADS=1` prints each thread's CPU
//! per record.
//! Odd rounds run the paths in reverse order; the summary is the median over the rounds of each ratio within a
//! round.
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features produce-bench --bin client [mock|broker] [records] [rounds]
//! ```
//!
//! `CLIENT_SIZES=113` or `1024` runs one size (the large record gets `records / 2`); `CLIENT_PATHS="typed-kafka,
//! awaited"` runs the paths whose names contain one of the `;`-separated parts.
//! `CLIENT_SETTINGS=buffer.memory=67108864,...` sets producer settings (Kafka names; `rdkafka.<name>` for librdkafka's
//! own) for every path (raw rdkafka's queue limit follows `buffer.memory`). Each path runs in a child process of this
//! binary (`CLIENT_CHILD` set), so that no path inherits the heap another left behind. Needs the local schema registry
//! (started if absent, or `TYPED_KAFKA_REGISTRY_URL`): the typed paths bind through it once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DeliveryResult, FutureProducer, FutureRecord, ProducerContext, ThreadedProducer};
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy;
use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_benches::click::{CLICKS, Click, click, framed, rdkafka_config, send_result_when_room, send_when_room};
use typed_kafka_benches::{CountingAlloc, allocations, median, quantile, settings_from_env};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Forget,
    Await,
    Callback,
    Mixed,
}

const MODES: [Mode; 4] = [Mode::Forget, Mode::Await, Mode::Callback, Mode::Mixed];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Forget => "fire-and-forget",
            Mode::Await => "awaited",
            Mode::Callback => "called back",
            Mode::Mixed => "mixed",
        }
    }

    /// How record `i` wants its outcome in this mode.
    fn of(self, i: usize) -> Mode {
        match (self, i % 3) {
            (Mode::Mixed, 0) => Mode::Forget,
            (Mode::Mixed, 1) => Mode::Callback,
            (Mode::Mixed, _) => Mode::Await,
            (mode, _) => mode,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    Raw(Mode),
    /// Raw rdkafka encoding each record in its loop (typed-kafka's derive, into reused buffers) and dropping it.
    RawEncoding(Mode),
    Typed(Mode),
    /// typed-kafka with OpenTelemetry.
    Traced(Mode, Otel),
    HandWired,
}

/// The OpenTelemetry set-ups of the traced paths.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Otel {
    Noop,
    SampledOut,
    Exported,
    Metrics,
}

const OTELS: [Otel; 4] = [Otel::Noop, Otel::SampledOut, Otel::Exported, Otel::Metrics];

impl Otel {
    fn name(self) -> &'static str {
        match self {
            Otel::Noop => "no-op",
            Otel::SampledOut => "sampled out",
            Otel::Exported => "exported",
            Otel::Metrics => "metrics",
        }
    }
}

/// A span exporter that drops every batch: the cost of sampling, recording and batching each span, without a
/// collector's.
#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> opentelemetry_sdk::error::OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// The telemetry of a traced path, and what must live as long as the producer.
fn telemetry(otel: Otel) -> (typed_kafka::otel::Telemetry, Box<dyn std::any::Any>) {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider};
    let noop_meter = opentelemetry::global::meter("bench");
    match otel {
        Otel::Noop => {
            let tracer = opentelemetry::trace::noop::NoopTracer::new();
            (typed_kafka::otel::Telemetry::new(tracer, noop_meter), Box::new(()))
        }
        Otel::SampledOut => {
            let provider = SdkTracerProvider::builder().with_sampler(Sampler::AlwaysOff).build();
            (typed_kafka::otel::Telemetry::new(provider.tracer("bench"), noop_meter), Box::new(provider))
        }
        Otel::Exported => {
            let provider =
                SdkTracerProvider::builder().with_span_processor(BatchSpanProcessor::builder(Discard).build()).build();
            (typed_kafka::otel::Telemetry::new(provider.tracer("bench"), noop_meter), Box::new(provider))
        }
        Otel::Metrics => {
            // Aggregating, collected once a minute (the default) into memory.
            let reader = PeriodicReader::builder(InMemoryMetricExporter::default()).build();
            let meter = SdkMeterProvider::builder().with_reader(reader).build();
            let tracer = opentelemetry::trace::noop::NoopTracer::new();
            (typed_kafka::otel::Telemetry::new(tracer, meter.meter("bench")), Box::new(meter))
        }
    }
}

impl Path {
    fn name(self) -> String {
        match self {
            Path::Raw(m) => format!("raw rdkafka, {}", m.name()),
            Path::RawEncoding(m) => format!("raw rdkafka encoding, {}", m.name()),
            Path::Typed(m) => format!("typed-kafka, {}", m.name()),
            Path::Traced(m, o) => format!("typed-kafka otel {}, {}", o.name(), m.name()),
            Path::HandWired => "hand-wired, awaited".to_string(),
        }
    }
}

/// Where the paths produce to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Mock,
    Broker,
}

/// One path's figures.
#[derive(Clone, Copy, Debug)]
struct Measure {
    wall: Duration,
    /// The client's CPU (the process's, less the mock cluster's thread).
    cpu: Duration,
    records: u64,
    allocations: u64,
}

impl Measure {
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.records as f64
    }
    fn rate(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64()
    }
    fn allocs(&self) -> f64 {
        self.allocations as f64 / self.records as f64
    }
}

/// CPU time (ns) of each of this process's threads, by name, from their schedstat.
fn threads_cpu() -> std::collections::BTreeMap<String, u64> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return by_name };
    for task in tasks.flatten() {
        let path = task.path();
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else { continue };
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        *by_name.entry(name.trim_end().to_string()).or_default() += ns;
    }
    by_name
}

/// CPU time of this process's threads named `rdk:mock` (librdkafka's mock cluster).
fn mock_cpu() -> Duration {
    Duration::from_nanos(threads_cpu().get("rdk:mock").copied().unwrap_or(0))
}

/// Tells perf `command` through `CLIENT_PERF_CTL` (see [`typed_kafka_benches::perf_control`]).
fn perf_control(command: &str) {
    typed_kafka_benches::perf_control("CLIENT_PERF_CTL", command)
}

/// A path's clock: the wall time, the client's CPU and the allocations from its start.
struct Clock {
    started: Instant,
    process: cpu_time::ProcessTime,
    mock: Duration,
    allocations: u64,
    /// Each thread's CPU at the start, when `CLIENT_THREADS` asks for each thread's share.
    threads: Option<std::collections::BTreeMap<String, u64>>,
}

impl Clock {
    fn start() -> Clock {
        perf_control("enable");
        Clock {
            mock: mock_cpu(),
            threads: std::env::var_os("CLIENT_THREADS").map(|_| threads_cpu()),
            allocations: allocations(),
            process: cpu_time::ProcessTime::now(),
            started: Instant::now(),
        }
    }

    fn measure(&self, records: u64) -> Measure {
        perf_control("disable");
        let wall = self.started.elapsed();
        let cpu = self.process.elapsed();
        let allocations = allocations() - self.allocations;
        if let Some(before) = &self.threads {
            let shares: Vec<String> = threads_cpu()
                .into_iter()
                .map(|(name, ns)| (name.clone(), ns.saturating_sub(before.get(&name).copied().unwrap_or(0))))
                .filter(|(_, ns)| *ns > 0)
                .map(|(name, ns)| format!("{name} {:.3}", ns as f64 / 1e3 / records as f64))
                .collect();
            eprintln!("CPU per record by thread, µs: {}", shares.join(", "));
        }
        Measure { wall, cpu: cpu.saturating_sub(mock_cpu().saturating_sub(self.mock)), records, allocations }
    }
}

struct Bench {
    target: Target,
    registry_url: String,
    registry: SchemaRegistryClient,
    /// The local broker, for `broker`.
    bootstrap: Option<String>,
}

/// Where a path produces to: a mock cluster of its own (dropped after the path), or a fresh topic on the broker.
struct Sink {
    bootstrap: String,
    topic: String,
    _mock: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
}

impl Bench {
    /// The bench's registry (and broker, for `broker`): the local stack's, started if absent, unless the environment
    /// points elsewhere. The session, if one was started, stops what it started when dropped.
    fn new(target: Target) -> Result<(Bench, Option<typed_kafka_stack::Session>)> {
        let (registry_url, bootstrap, session) = match target {
            Target::Mock => {
                let url = match std::env::var("TYPED_KAFKA_REGISTRY_URL") {
                    Ok(url) => url,
                    Err(_) => {
                        let stack = typed_kafka_stack::Stack::from_env()?;
                        stack.up(&[typed_kafka_stack::Service::Registry])?;
                        stack.config().registry_url()
                    }
                };
                (url, None, None)
            }
            Target::Broker => {
                let session = typed_kafka_stack::Session::start()?;
                let e = session.endpoints.clone();
                (e.registry_url, Some(e.bootstrap_servers), Some(session))
            }
        };
        let registry = SchemaRegistryClient::builder([registry_url.clone()]).build()?;
        Ok((Bench { target, registry_url, registry, bootstrap }, session))
    }

    /// The value schema's ID, for the raw paths' frames and the bare encode.
    async fn schema_id(&self) -> Result<u32> {
        let serializer = typed_kafka::AvroSerializer::<Click>::new(self.registry.clone(), Default::default())?;
        Ok(serializer.serialize("bench-client", &click(0, 0), &mut Vec::new()).await?.0)
    }

    async fn sink(&self, round: usize, path: Path, size: usize) -> Result<Sink> {
        let topic =
            format!("bench-client-{}-{round}-{size}-{}", std::process::id(), path.name().replace([' ', ','], ""));
        match self.target {
            Target::Mock => {
                let mock = MockCluster::new(1)?;
                mock.create_topic(&topic, 6, 1)?;
                Ok(Sink { bootstrap: mock.bootstrap_servers(), topic, _mock: Some(mock) })
            }
            Target::Broker => {
                let bootstrap = self.bootstrap.clone().ok_or("no broker")?;
                let config = ProducerConfig::builder(bootstrap.as_str()).build()?;
                typed_kafka::admin::ensure_topic(&config, &topic, 6, 1).await?;
                Ok(Sink { bootstrap, topic, _mock: None })
            }
        }
    }
}

/// The producer settings of every path: the defaults, and `CLIENT_SETTINGS=key=value,...` (see
/// [`settings_from_env`]).
fn config(bootstrap: &str) -> Result<ProducerConfig> {
    Ok(settings_from_env(ProducerConfig::builder(bootstrap), "CLIENT_SETTINGS")?.build()?)
}

/// The rdkafka paths' settings: every path's, as a plain rdkafka client has them (see [`rdkafka_config`]).
fn rd_config(bootstrap: &str) -> Result<ClientConfig> {
    Ok(rdkafka_config(&config(bootstrap)?))
}

/// How a raw record's outcome reaches its sender.
enum RawDone {
    Forget,
    Call(Box<dyn FnOnce(bool) + Send + Sync>),
    Await(tokio::sync::oneshot::Sender<bool>),
}

/// A raw record's opaque: `()` when every record is fire-and-forget (nothing allocated), a box otherwise (a
/// client with one context type carries one opaque type for every record).
trait Done: rdkafka::util::IntoOpaque + Send + Sync + 'static {
    fn done(self, ok: bool);
    fn forget() -> Self;
}

/// `()` carries no outcome: only the fire-and-forget mode uses it.
impl From<Box<RawDone>> for () {
    fn from(_: Box<RawDone>) {}
}

impl Done for () {
    fn done(self, _: bool) {}
    fn forget() -> Self {}
}

impl Done for Box<RawDone> {
    fn done(self, ok: bool) {
        match *self {
            RawDone::Forget => {}
            RawDone::Call(f) => f(ok),
            RawDone::Await(tx) => {
                let _ = tx.send(ok);
            }
        }
    }
    fn forget() -> Self {
        Box::new(RawDone::Forget)
    }
}

struct RawContext<D> {
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    _done: std::marker::PhantomData<fn(D)>,
}

impl<D: Done> ClientContext for RawContext<D> {}

impl<D: Done> ProducerContext for RawContext<D> {
    type DeliveryOpaque = D;
    fn delivery(&self, result: &DeliveryResult<'_>, done: D) {
        let ok = result.is_ok();
        let counter = if ok { &self.delivered } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        done.done(ok);
    }
}

async fn raw(sink: &Sink, mode: Mode, id: u32, n: u64, note: usize, encoding: bool) -> Result<Measure> {
    match mode {
        Mode::Forget => raw_with::<()>(sink, mode, id, n, note, encoding).await,
        _ => raw_with::<Box<RawDone>>(sink, mode, id, n, note, encoding).await,
    }
}

/// A raw record's opaque in `mode`, and the receiver of an awaited one.
fn raw_done<D: Done>(mode: Mode, called: &Arc<AtomicU64>) -> (D, Option<tokio::sync::oneshot::Receiver<bool>>)
where
    Box<RawDone>: Into<D>,
{
    match mode {
        Mode::Forget => (D::forget(), None),
        Mode::Callback => {
            let c = called.clone();
            let f: Box<dyn FnOnce(bool) + Send + Sync> = Box::new(move |ok| {
                if ok {
                    c.fetch_add(1, Ordering::Relaxed);
                }
            });
            (Box::new(RawDone::Call(f)).into(), None)
        }
        _ => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            (Box::new(RawDone::Await(tx)).into(), Some(rx))
        }
    }
}

/// The records a path sends, `n` of them: each built in the path's loop just before it is sent (the default, as an
/// application builds its records), or all built before the clock (`CLIENT_RECORDS=prebuilt`).
struct Records<T> {
    built: std::vec::IntoIter<T>,
    make: fn(u64, usize) -> T,
    note: usize,
    next: u64,
    n: u64,
}

impl<T> Records<T> {
    fn new(n: u64, note: usize, make: fn(u64, usize) -> T) -> Records<T> {
        let prebuilt = std::env::var("CLIENT_RECORDS").is_ok_and(|r| r == "prebuilt");
        let built = if prebuilt { (0..n).map(|i| make(i, note)).collect() } else { Vec::new() };
        Records { built: built.into_iter(), make, note, next: 0, n }
    }
}

impl<T> Iterator for Records<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.next == self.n {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // Building a record is the application's part: its allocations are not counted.
        Some(self.built.next().unwrap_or_else(|| typed_kafka_benches::uncounted(|| (self.make)(i, self.note))))
    }
}

/// Page view `i` and its key.
fn keyed_click(i: u64, note: usize) -> (String, Click) {
    let c = click(i, note);
    (c.user.clone(), c)
}

/// Raw rdkafka's path in `mode`: handed each record's key and value serialized, or, `encoding`, serializing each
/// record in its loop (its key's bytes and its value framed, into reused buffers) and dropping it there, as an
/// application on raw rdkafka would.
async fn raw_with<D: Done>(sink: &Sink, mode: Mode, id: u32, n: u64, note: usize, encoding: bool) -> Result<Measure>
where
    Box<RawDone>: Into<D>,
{
    let (delivered, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let context =
        RawContext::<D> { delivered: delivered.clone(), failed: failed.clone(), _done: std::marker::PhantomData };
    let producer: ThreadedProducer<RawContext<D>> = rd_config(&sink.bootstrap)?.create_with_context(context)?;
    warm_raw(&producer, &sink.topic, &delivered).await?;
    let (prepared, clicks) = if encoding {
        (Vec::new(), Records::new(n, note, keyed_click))
    } else {
        (
            (0..n).map(|i| framed(id, i, note)).collect::<std::result::Result<Vec<_>, _>>()?,
            Records::new(0, note, keyed_click),
        )
    };
    let called = Arc::new(AtomicU64::new(0));
    let before = delivered.load(Ordering::Relaxed);
    let clock = Clock::start();
    let mut awaited = Vec::new();
    let mut send = |i: usize, key: &[u8], value: &[u8]| {
        let (done, rx) = raw_done::<D>(mode.of(i), &called);
        awaited.extend(rx);
        send_when_room(&producer, BaseRecord::with_opaque_to(&sink.topic, done).key(key).payload(value))
    };
    let (mut key_buf, mut buf) = (Vec::with_capacity(64), Vec::with_capacity(2048));
    for (i, (key, c)) in clicks.into_iter().enumerate() {
        key_buf.clear();
        key_buf.extend_from_slice(key.as_bytes());
        buf.clear();
        typed_kafka::avro::wire::write_header(&mut buf, typed_kafka::SchemaId(id));
        c.encode_body(&mut buf)?;
        send(i, &key_buf, &buf)?;
        drop((key, c));
    }
    for (i, (key, value)) in prepared.into_iter().enumerate() {
        send(i, &key, &value)?;
    }
    for rx in awaited {
        if !rx.await? {
            return Err("raw: a record failed".into());
        }
    }
    while delivered.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < before + n {
        std::thread::sleep(Duration::from_micros(500));
    }
    let m = clock.measure(n);
    if failed.load(Ordering::Relaxed) > 0 {
        return Err("raw: records failed".into());
    }
    Ok(m)
}

/// One record through `producer` before the clock: its connection and producer ID are set up.
async fn warm_raw<D: Done>(
    producer: &ThreadedProducer<RawContext<D>>,
    topic: &str,
    delivered: &AtomicU64,
) -> Result<()> {
    let record: BaseRecord<'_, [u8], [u8], D> = BaseRecord::with_opaque_to(topic, D::forget()).payload(&b"warm-up"[..]);
    producer.send(record).map_err(|(e, _)| e)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while delivered.load(Ordering::Relaxed) == 0 {
        if Instant::now() > deadline {
            return Err("raw: the warm-up record was not delivered".into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

async fn typed(b: &Bench, sink: &Sink, mode: Mode, n: u64, note: usize, otel: Option<Otel>) -> Result<Measure> {
    let mut builder = Producer::builder(config(&sink.bootstrap)?).registry(b.registry.clone());
    let mut _providers: Option<Box<dyn std::any::Any>> = None;
    if let Some(o) = otel {
        let (t, p) = telemetry(o);
        builder = builder.telemetry(t);
        _providers = Some(p);
    }
    let producer = builder.build()?;
    let clicks = producer.topic(CLICKS).name(&sink.topic).bind().await?;
    clicks.send(Record::new(click(0, note)).key("warm-up".into())).await?;
    let records = Records::new(n, note, |i, note| {
        let (key, c) = keyed_click(i, note);
        Record::new(c).key(key)
    });
    let called = Arc::new(AtomicU64::new(0));
    let clock = Clock::start();
    let mut awaited = Vec::new();
    for (i, record) in records.enumerate() {
        match mode.of(i) {
            Mode::Forget => {
                clicks.send_and_forget(record).await?;
            }
            Mode::Callback => {
                let c = called.clone();
                clicks
                    .send_with(record, move |r| {
                        if r.is_ok() {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await?;
            }
            _ => awaited.push(clicks.enqueue(record).await?),
        }
    }
    for d in awaited {
        d.await?;
    }
    let left = producer.flush(Duration::from_secs(300)).await;
    let m = clock.measure(n);
    let metrics = producer.metrics();
    producer.close(Duration::from_secs(30)).await;
    if left != 0 || metrics.records_failed != 0 || metrics.records_sent != n + 1 {
        return Err(format!("typed: {left} left in flight, {metrics:?}").into());
    }
    Ok(m)
}

async fn hand_wired(b: &Bench, sink: &Sink, n: u64, note: usize) -> Result<Measure> {
    // schema_registry_converter looks the subject's latest version up: register it first.
    let serializer = typed_kafka::AvroSerializer::<Click>::new(b.registry.clone(), Default::default())?;
    serializer.serialize(&sink.topic, &click(0, note), &mut Vec::new()).await?;
    let encoder = AvroEncoder::new(SrSettings::new(b.registry_url.clone()));
    let strategy = SubjectNameStrategy::TopicNameStrategy(sink.topic.clone(), false);
    let producer: FutureProducer = rd_config(&sink.bootstrap)?.create()?;
    let clicks = Records::new(n, note, click);
    // Its schema cache and connection are warm before the clock starts, as the typed path is bound.
    let warm = encoder.encode_struct(&click(0, note), &strategy).await?;
    producer
        .send(FutureRecord::to(&sink.topic).key("warm-up").payload(&warm), Duration::from_secs(30))
        .await
        .map_err(|(e, _)| e)?;
    let clock = Clock::start();
    let mut futures = Vec::with_capacity(n as usize);
    for c in clicks {
        let payload = encoder.encode_struct(&c, &strategy).await?;
        let record = FutureRecord::to(&sink.topic).key(c.user.as_str()).payload(&payload);
        futures.push(send_result_when_room(&producer, record).await?);
    }
    for f in futures {
        f.await?.map_err(|(e, _)| e)?;
    }
    Ok(clock.measure(n))
}

/// The bare encode: the same records' keys (their bytes, as `StringSerializer` writes them) and values (Avro,
/// framed) into reused buffers, on this thread, without a transport: the serialization raw rdkafka is handed done.
fn encode(id: u32, n: u64, note: usize) -> Result<Measure> {
    let records = Records::new(n, note, keyed_click);
    let (mut key_buf, mut buf) = (Vec::with_capacity(64), Vec::with_capacity(2048));
    let allocations_before = allocations();
    let started = Instant::now();
    let cpu = cpu_time::ThreadTime::now();
    for (key, c) in records {
        key_buf.clear();
        key_buf.extend_from_slice(key.as_bytes());
        buf.clear();
        typed_kafka::avro::wire::write_header(&mut buf, typed_kafka::SchemaId(id));
        c.encode_body(&mut buf)?;
        std::hint::black_box((&key_buf, &buf));
    }
    Ok(Measure {
        wall: started.elapsed(),
        cpu: cpu.elapsed(),
        records: n,
        allocations: allocations() - allocations_before,
    })
}

/// `median (q1–q3)` of `v`.
fn spread(v: Vec<f64>) -> String {
    format!("{:.3} ({:.3}–{:.3})", quantile(v.clone(), 0.5), quantile(v.clone(), 0.25), quantile(v, 0.75))
}

/// Every path.
fn all_paths() -> Vec<Path> {
    let mut paths = Vec::new();
    for m in MODES {
        paths.push(Path::Raw(m));
        paths.push(Path::RawEncoding(m));
        paths.push(Path::Typed(m));
        for o in OTELS {
            paths.push(Path::Traced(m, o));
        }
    }
    paths.push(Path::HandWired);
    paths
}

/// Every path, or those whose name contains one of `CLIENT_PATHS`' `;`-separated parts (for profiling one).
fn paths() -> Vec<Path> {
    match std::env::var("CLIENT_PATHS") {
        Ok(only) => all_paths().into_iter().filter(|p| only.split(';').any(|o| p.name().contains(o))).collect(),
        Err(_) => all_paths(),
    }
}

/// The environment variable that makes this binary run one path and print its measure (see [`in_child`]).
const CHILD_ENV: &str = "CLIENT_CHILD";
const CHILD_LINE: &str = "measure:";

/// Runs one path in a child process of this binary, so that no path inherits the heap another left behind.
fn in_child(target: Target, round: usize, path: Path, n: u64, note: usize) -> Result<Measure> {
    let index = all_paths().iter().position(|p| *p == path).ok_or("unknown path")?;
    let target = if target == Target::Mock { "mock" } else { "broker" };
    let out = std::process::Command::new(std::env::current_exe()?)
        .env(CHILD_ENV, format!("{target} {round} {index} {n} {note}"))
        .stderr(std::process::Stdio::inherit())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix(CHILD_LINE));
    let (Some(line), true) = (line, out.status.success()) else {
        return Err(format!("{}: the child failed ({}): {stdout}", path.name(), out.status).into());
    };
    let f: Vec<u64> = line.split_whitespace().map(str::parse).collect::<std::result::Result<_, _>>()?;
    let [wall, cpu, records, allocations] = f[..] else { return Err("a child's measure has four numbers".into()) };
    Ok(Measure { wall: Duration::from_nanos(wall), cpu: Duration::from_nanos(cpu), records, allocations })
}

/// A child's part: one path, its measure on stdout.
async fn child(spec: &str) -> Result<()> {
    let f: Vec<&str> = spec.split_whitespace().collect();
    let [target, round, index, n, note] = f[..] else { return Err(format!("{CHILD_ENV}: {spec}").into()) };
    let target = if target == "mock" { Target::Mock } else { Target::Broker };
    let (round, n, note): (usize, u64, usize) = (round.parse()?, n.parse()?, note.parse()?);
    let path = *all_paths().get(index.parse::<usize>()?).ok_or("no such path")?;
    let (bench, _session) = Bench::new(target)?;
    let id = bench.schema_id().await?;
    let size = framed(id, 0, note)?.1.len();
    let sink = bench.sink(round, path, size).await?;
    let m = match path {
        Path::Raw(mode) => raw(&sink, mode, id, n, note, false).await?,
        Path::RawEncoding(mode) => raw(&sink, mode, id, n, note, true).await?,
        Path::Typed(mode) => typed(&bench, &sink, mode, n, note, None).await?,
        Path::Traced(mode, o) => typed(&bench, &sink, mode, n, note, Some(o)).await?,
        Path::HandWired => hand_wired(&bench, &sink, n, note).await?,
    };
    if target == Target::Broker {
        // The next paths run on a broker without this one's data.
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
            ClientConfig::new().set("bootstrap.servers", &sink.bootstrap).create()?;
        admin.delete_topics(&[&sink.topic], &rdkafka::admin::AdminOptions::new()).await?;
    }
    println!("{CHILD_LINE}{} {} {} {}", m.wall.as_nanos(), m.cpu.as_nanos(), m.records, m.allocations);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() -> Result<()> {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return child(&spec).await;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = match args.first().map(String::as_str) {
        None | Some("mock") => Target::Mock,
        Some("broker") => Target::Broker,
        Some(other) => return Err(format!("{other}: expected mock or broker").into()),
    };
    let records: u64 = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(500_000);
    let rounds: usize = args.get(2).map(|a| a.parse()).transpose()?.unwrap_or(5);
    let sizes: Vec<usize> = match std::env::var("CLIENT_SIZES").ok().as_deref() {
        Some("113") => vec![0],
        Some("1024") => vec![920],
        _ => vec![0, 920],
    };
    let (bench, _session) = Bench::new(target)?;
    let id = bench.schema_id().await?;
    println!(
        "client bench: {} records (1 KiB: half), {rounds} rounds, against {}",
        records,
        if target == Target::Mock { "librdkafka's mock cluster (client CPU)" } else { "the local broker (end to end)" }
    );
    for note in sizes {
        let n = if note > 0 { records / 2 } else { records };
        let size = framed(id, 0, note)?.1.len();
        println!("\n## {size}-byte values ({n} records per path)\n");
        let mut all: Vec<Vec<(Path, Measure)>> = Vec::new();
        let mut encodes = Vec::new();
        for round in 0..rounds {
            let mut order = paths();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut measured = Vec::new();
            for path in order {
                let m = in_child(target, round, path, n, note)?;
                println!(
                    "round {round} {:<32} {:>10.0} records/s {:>7.3} µs client CPU/record {:>6.2} allocations/record",
                    path.name(),
                    m.rate(),
                    m.cpu_us(),
                    m.allocs()
                );
                measured.push((path, m));
            }
            let e = encode(id, n, note)?;
            println!(
                "round {round} {:<32} {:>10} {:>17.3} µs CPU/record {:>13.2} allocations/record",
                "bare encode",
                "",
                e.cpu_us(),
                e.allocs()
            );
            encodes.push(e);
            all.push(measured);
        }
        summary(&all, &encodes, target);
    }
    Ok(())
}

/// One round's figures, by path.
type Round = [(Path, Measure)];

fn summary(all: &[Vec<(Path, Measure)>], encodes: &[Measure], target: Target) {
    let get = |round: &Round, p: Path| round.iter().find(|(q, _)| *q == p).map(|(_, m)| *m);
    let each_round = |f: &dyn Fn(&Round, &Measure) -> Option<f64>| {
        all.iter().zip(encodes).filter_map(|(r, e)| f(r, e)).collect::<Vec<_>>()
    };
    let per_round = |f: &dyn Fn(&Round, &Measure) -> Option<f64>| median(each_round(f));
    println!("\nmedians over {} rounds of ratios paired within a round (interquartile range in brackets):", all.len());
    println!(
        "| mode | typed CPU / (raw CPU + encode CPU) | typed CPU / raw encoding CPU | typed / raw records/s | typed allocations/record | raw allocations/record |"
    );
    println!("|---|---|---|---|---|---|");
    for mode in MODES {
        if all.iter().all(|r| get(r, Path::Typed(mode)).is_none() || get(r, Path::Raw(mode)).is_none()) {
            continue;
        }
        let cpu = spread(each_round(&|r, e| {
            Some(get(r, Path::Typed(mode))?.cpu_us() / (get(r, Path::Raw(mode))?.cpu_us() + e.cpu_us()))
        }));
        let encoding = spread(each_round(&|r, _| {
            Some(get(r, Path::Typed(mode))?.cpu_us() / get(r, Path::RawEncoding(mode))?.cpu_us())
        }));
        let rate =
            spread(each_round(&|r, _| Some(get(r, Path::Typed(mode))?.rate() / get(r, Path::Raw(mode))?.rate())));
        let typed_allocs = per_round(&|r, _| Some(get(r, Path::Typed(mode))?.allocs()));
        let raw_allocs = per_round(&|r, _| Some(get(r, Path::Raw(mode))?.allocs()));
        println!("| {} | {cpu} | {encoding} | {rate} | {typed_allocs:.2} | {raw_allocs:.2} |", mode.name());
    }
    if all.iter().any(|r| r.iter().any(|(p, _)| matches!(p, Path::Traced(..)))) {
        println!("\n| mode | OpenTelemetry | traced CPU / typed CPU | traced allocations/record |");
        println!("|---|---|---|---|");
        for mode in MODES {
            for o in OTELS {
                if all.iter().all(|r| get(r, Path::Traced(mode, o)).is_none() || get(r, Path::Typed(mode)).is_none()) {
                    continue;
                }
                let cpu = spread(each_round(&|r, _| {
                    Some(get(r, Path::Traced(mode, o))?.cpu_us() / get(r, Path::Typed(mode))?.cpu_us())
                }));
                let allocs = per_round(&|r, _| Some(get(r, Path::Traced(mode, o))?.allocs()));
                println!("| {} | {} | {cpu} | {allocs:.2} |", mode.name(), o.name());
            }
        }
    }
    let us = |p: Path| per_round(&|r, _| Some(get(r, p)?.cpu_us()));
    let encode = median(encodes.iter().map(Measure::cpu_us).collect());
    println!(
        "\nclient CPU per record (µs): bare encode {encode:.3}; raw {}; raw encoding {}; typed {}; hand-wired {:.3}",
        MODES.map(|m| format!("{} {:.3}", m.name(), us(Path::Raw(m)))).join(", "),
        MODES.map(|m| format!("{} {:.3}", m.name(), us(Path::RawEncoding(m)))).join(", "),
        MODES.map(|m| format!("{} {:.3}", m.name(), us(Path::Typed(m)))).join(", "),
        us(Path::HandWired)
    );
    let hand = per_round(&|r, _| Some(get(r, Path::HandWired)?.cpu_us() / get(r, Path::Typed(Mode::Await))?.cpu_us()));
    let hand_rate = per_round(&|r, _| Some(get(r, Path::Typed(Mode::Await))?.rate() / get(r, Path::HandWired)?.rate()));
    println!("hand-wired CPU / typed awaited CPU: {hand:.3}; typed awaited / hand-wired records/s: {hand_rate:.3}");
    if target == Target::Mock {
        println!(
            "(records/s against the mock cluster share the machine with it: the end-to-end figures are `broker`'s)"
        );
    }
}
