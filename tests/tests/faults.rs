//! The producer when things go wrong, against the real servers: the partition leader of a three-broker cluster
//! killed mid-stream, the registry stopped mid-stream, invalid records interleaved in a stream. Every stream is
//! read back and checked record by record: nothing lost, nothing duplicated, per-key order kept.
//!
//! Bounded: 200,000 records for the failover in CI; `TYPED_KAFKA_SOAK_RECORDS=1000000 cargo test -p
//! typed-kafka-tests --test faults failover -- --nocapture` is the soak (README, "Testing").

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use typed_kafka::config::ProducerConfig;
use typed_kafka::producer::SendErrorKind;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient, SerializeError};
use typed_kafka_stack::{Service, Signal, Stack};
use typed_kafka_tests::{PrivateStack, cluster, create_topic, read_back, stack, unique};

/// One record of a keyed stream: the key again, and its per-key sequence number.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.faults")]
struct Step {
    key: String,
    seq: i64,
    /// Must fit an Avro long: `u64::MAX` is a record the producer refuses.
    amount: u64,
}

typed_kafka::topic! { STEPS: "it-steps", key: String, value: Step; }

fn registry(url: &str) -> SchemaRegistryClient {
    SchemaRegistryClient::builder([url]).build().unwrap()
}

fn decode(framed: &[u8]) -> Step {
    let (_, body) = typed_kafka::avro::wire::split(framed).unwrap();
    Step::decode_body(body).unwrap()
}

/// Checks records read back (in partition, offset order) against the sequence numbers each key was sent with:
/// every one exactly once, and in order within its partition.
fn assert_exactly_once_in_order(msgs: &[rdkafka::message::OwnedMessage], sent: &HashMap<String, Vec<i64>>) {
    let mut seen: HashMap<String, Vec<i64>> = HashMap::new();
    let mut partition_of: HashMap<String, i32> = HashMap::new();
    for m in msgs {
        let step = decode(m.payload().unwrap());
        assert_eq!(m.key(), Some(step.key.as_bytes()));
        let p = *partition_of.entry(step.key.clone()).or_insert(m.partition());
        assert_eq!(p, m.partition(), "key {} on two partitions", step.key);
        seen.entry(step.key).or_default().push(step.seq);
    }
    let lost: usize = sent.iter().map(|(k, s)| s.len().saturating_sub(seen.get(k).map_or(0, Vec::len))).sum();
    let total: usize = seen.values().map(Vec::len).sum();
    let expected: usize = sent.values().map(Vec::len).sum();
    assert_eq!(total, expected, "records read back ({lost} keys' records short)");
    for (key, seqs) in &seen {
        assert_eq!(seqs, &sent[key], "key {key}: every record once, in the order sent");
    }
}

/// The node leading `partition` of `topic`, by its process name in the stack.
fn leader(bootstrap: &str, topic: &str, partition: i32) -> String {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap).create().unwrap();
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let t = md.topics().iter().find(|t| t.name() == topic).unwrap();
    let p = t.partitions().iter().find(|p| p.id() == partition).unwrap();
    format!("cluster-node-{}", p.leader())
}

/// The failover tests kill and restart nodes of the shared cluster: one at a time.
static FAILOVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A failover test's set-up: how many records (`TYPED_KAFKA_SOAK_RECORDS`, 200,000 by default), the local
/// cluster, and a fresh topic of 6 partitions with 3 replicas.
struct Failover {
    records: usize,
    bootstrap: &'static str,
    cluster_stack: Stack,
    name: String,
}

impl Failover {
    async fn new(prefix: &str) -> Failover {
        let records = std::env::var("TYPED_KAFKA_SOAK_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
        let bootstrap = cluster();
        assert!(
            std::env::var(typed_kafka_stack::ENV_CLUSTER_BOOTSTRAP).is_err(),
            "the failover test kills brokers of the local cluster only"
        );
        let name = unique(prefix);
        create_topic(bootstrap, &name, 6, 3).await;
        Failover { records, bootstrap, cluster_stack: Stack::from_env().unwrap(), name }
    }
}

/// Three brokers, RF 3, `min.insync.replicas=2`, acks=all with idempotence: the leader of partition 0 is killed
/// (SIGKILL) a third into a stream of keyed records and started again two thirds in. Every record is read back
/// exactly once, in per-key order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_a_killed_partition_leader_loses_and_duplicates_nothing() {
    let _serial = FAILOVER.lock().await;
    let Failover { records, bootstrap, cluster_stack, name } = Failover::new("it-failover").await;
    let config = ProducerConfig::builder(bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .set("delivery.timeout.ms", "120000")
        .build()
        .unwrap();
    let producer = Producer::builder(config).registry(registry(&stack().registry_url)).build().unwrap();
    let steps = producer.topic(STEPS).name(&name).bind().await.unwrap();

    const KEYS: usize = 64;
    let failed = Arc::new(AtomicUsize::new(0));
    let mut sent: HashMap<String, Vec<i64>> = HashMap::new();
    let victim = leader(bootstrap, &name, 0);
    let mut restart = None;
    let batch = 1_000;
    let started = Instant::now();
    for i in 0..records {
        if i == records / 3 {
            let (s, v) = (cluster_stack.clone(), victim.clone());
            tokio::task::spawn_blocking(move || s.signal(Service::Cluster, &v, Signal::Kill)).await.unwrap().unwrap();
            println!("killed {victim} (leader of partition 0) after {i} records, {:?}", started.elapsed());
        }
        if i == 2 * records / 3 {
            let s = cluster_stack.clone();
            restart = Some(tokio::task::spawn_blocking(move || s.up(&[Service::Cluster])));
        }
        let key = format!("k{}", i % KEYS);
        let seq = (i / KEYS) as i64;
        sent.entry(key.clone()).or_default().push(seq);
        let f = failed.clone();
        steps
            .send_with(Record::new(Step { key: key.clone(), seq, amount: i as u64 }).key(key), move |r| {
                if r.is_err() {
                    f.fetch_add(1, Ordering::Relaxed);
                }
            })
            .await
            .unwrap();
        // A stream over several seconds, not one burst: the kill and the restart land in the middle of it.
        if i % batch == batch - 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let left = producer.flush(Duration::from_secs(180)).await;
    println!("{records} records sent and acknowledged in {:?}", started.elapsed());
    assert_eq!(left, 0, "every record acknowledged");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no delivery failed");
    restart.unwrap().await.unwrap().expect("the killed broker starts again");

    let msgs = tokio::task::spawn_blocking({
        let (b, n) = (bootstrap.to_string(), name.clone());
        move || read_back(&b, &n, records, Duration::from_secs(180))
    })
    .await
    .unwrap();
    assert_exactly_once_in_order(&msgs, &sent);
    let m = producer.metrics();
    assert_eq!((m.records_sent, m.records_failed, m.in_flight), (records as u64, 0, 0));
}

/// Exactly-once through a failover: 200,000 keyed records in transactions of 1,000 on three brokers, the leader of
/// partition 0 killed (SIGKILL) a third in and started again two thirds in. A transaction that cannot commit is
/// aborted and its records sent again in a new one. A `read_committed` consumer reads every record exactly once, in
/// per-key order, and nothing of an aborted attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_transactions_keep_exactly_once_when_the_leader_is_killed() {
    let _serial = FAILOVER.lock().await;
    let Failover { records, bootstrap, cluster_stack, name } = Failover::new("it-txn-failover").await;
    let config = ProducerConfig::builder(bootstrap)
        .set("transactional.id", unique("txn-failover"))
        .set("linger.ms", "5")
        .build()
        .unwrap();
    let producer = Producer::builder(config).registry(registry(&stack().registry_url)).build().unwrap();
    let steps = producer.topic(STEPS).name(&name).bind().await.unwrap();
    const TXN: Duration = Duration::from_secs(60);

    const KEYS: usize = 64;
    const BATCH: usize = 1_000;
    let mut sent: HashMap<String, Vec<i64>> = HashMap::new();
    let victim = leader(bootstrap, &name, 0);
    let (mut restart, mut aborted, mut retried) = (None, 0, 0);
    let started = Instant::now();
    for start in (0..records).step_by(BATCH) {
        let end = (start + BATCH).min(records);
        if (start..end).contains(&(records / 3)) {
            let (s, v) = (cluster_stack.clone(), victim.clone());
            tokio::task::spawn_blocking(move || s.signal(Service::Cluster, &v, Signal::Kill)).await.unwrap().unwrap();
            println!("killed {victim} (leader of partition 0) after {start} records, {:?}", started.elapsed());
        }
        if (start..end).contains(&(2 * records / 3)) {
            let s = cluster_stack.clone();
            restart = Some(tokio::task::spawn_blocking(move || s.up(&[Service::Cluster])));
        }
        // Each batch until it commits (bounded): an attempt that cannot commit is aborted, then sent again whole.
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 20, "batch at {start} did not commit in 20 attempts");
            let txn = match producer.begin().await {
                Ok(t) => t,
                Err(e) if e.is_retriable() || e.is_abortable() => {
                    retried += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => panic!("begin: {e}"),
            };
            for i in start..end {
                let key = format!("k{}", i % KEYS);
                let step = Step { key: key.clone(), seq: (i / KEYS) as i64, amount: i as u64 };
                steps.send_with(Record::new(step).key(key), |_| {}).await.unwrap();
            }
            match txn.commit(TXN).await {
                Ok(()) => break,
                Err(e) if e.is_fatal() => panic!("commit: {e}"),
                Err(e) => {
                    println!("batch at {start}: {e}; aborting and sending it again");
                    aborted += 1;
                    if let Some(txn) = e.into_transaction() {
                        txn.abort(TXN).await.unwrap();
                    }
                }
            }
        }
        for i in start..end {
            sent.entry(format!("k{}", i % KEYS)).or_default().push((i / KEYS) as i64);
        }
    }
    println!(
        "{records} records committed in {:?}; {aborted} attempts aborted, {retried} begins retried",
        started.elapsed()
    );
    restart.unwrap().await.unwrap().expect("the killed broker starts again");

    // read_back's consumer reads read_committed (librdkafka's default): exactly the committed records.
    let msgs = tokio::task::spawn_blocking({
        let (b, n) = (bootstrap.to_string(), name.clone());
        move || typed_kafka_tests::read_back_all(&b, &n, records, Duration::from_secs(180))
    })
    .await
    .unwrap();
    assert_exactly_once_in_order(&msgs, &sent);
}

/// The registry stops in the middle of a stream: the topic already bound keeps producing and loses nothing; a topic
/// bound for the first time fails fast with a retriable error; once the registry is back, the same producer binds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_stopped_mid_stream() {
    let private = PrivateStack::new("faults-registry", |c| c.registry_port = 28681);
    let url = private.up(&[Service::Registry]).unwrap().endpoints.registry_url;
    let bootstrap = &stack().bootstrap_servers;
    let (bound, later) = (unique("it-reg-bound"), unique("it-reg-later"));
    create_topic(bootstrap, &bound, 3, 1).await;
    create_topic(bootstrap, &later, 3, 1).await;
    let config = ProducerConfig::builder(bootstrap.as_str()).set("linger.ms", "5").build().unwrap();
    let producer = Producer::builder(config).registry(registry(&url)).build().unwrap();
    let steps = producer.topic(STEPS).name(&bound).bind().await.unwrap();

    let mut sent: HashMap<String, Vec<i64>> = HashMap::new();
    let mut send = async |from: usize, to: usize| {
        for i in from..to {
            let key = format!("k{}", i % 8);
            sent.entry(key.clone()).or_default().push(i as i64);
            steps.send(Record::new(Step { key: key.clone(), seq: i as i64, amount: 1 }).key(key)).await.unwrap();
        }
    };
    send(0, 500).await;
    private.down(&[Service::Registry]).unwrap();
    send(500, 1_500).await;

    let started = Instant::now();
    let e = producer.topic(STEPS).name(&later).bind().await.unwrap_err();
    let waited = started.elapsed();
    println!("binding a new topic without a registry failed after {waited:?}: {e}");
    assert!(e.is_retriable(), "{e}");
    assert!(waited < Duration::from_secs(30), "fails fast, not after a hang: {waited:?}");

    private.up(&[Service::Registry]).unwrap();
    let later_steps = producer.topic(STEPS).name(&later).bind().await.expect("recovers without a restart");
    later_steps.send(Record::new(Step { key: "k".into(), seq: 0, amount: 1 }).key("k".into())).await.unwrap();
    send(1_500, 2_000).await;

    let msgs = read_back(bootstrap, &bound, 2_000, Duration::from_secs(60));
    assert_exactly_once_in_order(&msgs, &sent);
    assert_eq!(read_back(bootstrap, &later, 1, Duration::from_secs(30)).len(), 1);
}

/// Every 97th record of a stream violates its schema: each is refused with its path and handed back whole; every
/// valid record is delivered exactly once, in per-key order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_records_interleaved_in_a_stream() {
    let bootstrap = &stack().bootstrap_servers;
    let name = unique("it-interleaved");
    create_topic(bootstrap, &name, 3, 1).await;
    let config = ProducerConfig::builder(bootstrap.as_str()).set("linger.ms", "5").build().unwrap();
    let producer = Producer::builder(config).registry(registry(&stack().registry_url)).build().unwrap();
    let steps = producer.topic(STEPS).name(&name).bind().await.unwrap();

    const RECORDS: usize = 20_000;
    let mut sent: HashMap<String, Vec<i64>> = HashMap::new();
    let mut deliveries = Vec::new();
    let mut refused = 0;
    for i in 0..RECORDS {
        let key = format!("k{}", i % 16);
        let invalid = i % 97 == 96;
        let step = Step { key: key.clone(), seq: i as i64, amount: if invalid { u64::MAX } else { i as u64 } };
        match steps.enqueue(Record::new(step.clone()).key(key.clone()).header("i", i.to_string())).await {
            Ok(d) => {
                assert!(!invalid, "record {i} should have been refused");
                sent.entry(key).or_default().push(i as i64);
                deliveries.push(d);
            }
            Err(e) => {
                assert!(invalid, "record {i} refused: {e}");
                match e.kind() {
                    SendErrorKind::Value(SerializeError::Invalid { violations, .. }) => {
                        assert_eq!(violations.iter().map(|v| v.path.to_string()).collect::<Vec<_>>(), ["/amount"]);
                    }
                    other => panic!("expected a violation, got {other:?}"),
                }
                let back = e.into_record();
                assert_eq!(back.value, Some(step), "handed back whole");
                assert_eq!(back.key, Some(key));
                assert_eq!(back.headers.get("i"), Some(Some(i.to_string().as_bytes())));
                refused += 1;
            }
        }
    }
    for d in deliveries {
        d.await.unwrap();
    }
    assert_eq!(refused, RECORDS / 97);
    let valid = RECORDS - refused;
    let msgs = read_back(bootstrap, &name, valid, Duration::from_secs(60));
    assert_exactly_once_in_order(&msgs, &sent);
    let m = producer.metrics();
    assert_eq!((m.records_sent, m.refused.schema_violation), (valid as u64, refused as u64));
}
