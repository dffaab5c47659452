//! The producer against a broker that is gone or hung, on a private broker, with the process's resident memory
//! measured. The tests of this binary run one at a time, so that each measures only its own memory.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use typed_kafka::config::{ProducerConfig, RECORD_OVERHEAD};
use typed_kafka::producer::{DeliveryErrorKind, ProduceError, SendErrorKind};
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_stack::{Service, Signal};
use typed_kafka_tests::{PrivateStack, create_topic, stack, unique};

/// A record of about 1 KiB.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.broker_faults")]
struct Blob {
    id: i64,
    body: String,
}

typed_kafka::topic! { BLOBS: "it-blobs", value: Blob; }

fn blob(id: i64) -> Blob {
    Blob { id, body: "x".repeat(1_000) }
}

/// One test at a time in this binary (each measures the process's memory).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resident memory of this process in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 =
        status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

const MIB: u64 = 1024 * 1024;

/// A producer with `settings` (Kafka names; a key `rdkafka.<name>` goes to librdkafka as `<name>`).
fn producer(bootstrap: &str, settings: &[(&str, &str)]) -> Producer {
    let mut config = ProducerConfig::builder(bootstrap);
    for (k, v) in settings {
        config = match k.strip_prefix("rdkafka.") {
            Some(name) => config.set_librdkafka(name, *v),
            None => config.set(*k, *v),
        };
    }
    let registry = SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap();
    Producer::builder(config.build().unwrap()).registry(registry).build().unwrap()
}

/// The broker goes away for longer than `delivery.timeout.ms`: every record in flight fails with a timeout through
/// its future or its callback, nothing hangs, the producer's buffer empties, and a second round does not grow the
/// process's memory (what the first round took is reused, not leaked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_longer_than_the_delivery_timeout_fails_every_record_in_flight() {
    let _serial = SERIAL.lock().await;
    let private = PrivateStack::new("broker-down", |c| {
        c.kafka_port = 28792;
        c.cluster_port = 28802;
        c.registry_port = 28781;
    });
    let bootstrap = private.up(&[Service::Kafka]).unwrap().endpoints.bootstrap_servers;
    let name = unique("it-down");
    create_topic(&bootstrap, &name, 3, 1).await;
    let p =
        producer(&bootstrap, &[("delivery.timeout.ms", "3000"), ("request.timeout.ms", "1000"), ("linger.ms", "5")]);
    let blobs = p.topic(BLOBS).name(&name).bind().await.unwrap();
    blobs.send(Record::new(blob(0))).await.unwrap();
    private.down(&[Service::Kafka]).unwrap();

    const PER_ROUND: usize = 2_000;
    let mut after_round = Vec::new();
    for round in 0..2 {
        let started = Instant::now();
        let failed_callbacks = Arc::new(AtomicUsize::new(0));
        let mut deliveries = Vec::new();
        for i in 0..PER_ROUND {
            if i % 2 == 0 {
                deliveries.push(blobs.enqueue(Record::new(blob(i as i64))).await.unwrap());
            } else {
                let f = failed_callbacks.clone();
                blobs
                    .send_with(Record::new(blob(i as i64)), move |r| {
                        if let Err(e) = r
                            && e.kind == DeliveryErrorKind::TimedOut
                        {
                            f.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                    .await
                    .unwrap();
            }
        }
        for d in deliveries {
            let e = tokio::time::timeout(Duration::from_secs(60), d).await.expect("no hang").unwrap_err();
            assert_eq!(e.kind, DeliveryErrorKind::TimedOut, "{e}");
            assert!(e.is_retriable());
        }
        assert_eq!(p.flush(Duration::from_secs(60)).await, 0, "nothing left in flight");
        assert_eq!(failed_callbacks.load(Ordering::SeqCst), PER_ROUND / 2, "every callback saw the timeout");
        let m = p.metrics();
        assert_eq!((m.in_flight, m.buffered_bytes), (0, 0), "the buffer is empty again");
        assert_eq!(m.records_failed, ((round + 1) * PER_ROUND) as u64);
        after_round.push(rss());
        println!("round {round}: {PER_ROUND} records failed in {:?}; RSS {} MiB", started.elapsed(), rss() / MIB);
    }
    let growth = after_round[1].saturating_sub(after_round[0]);
    assert!(growth < 16 * MIB, "the second round grew RSS by {} MiB", growth / MIB);
}

/// A broker that stops answering (SIGSTOP, a hung broker): sends fill `buffer.memory`, then one waits `max.block.ms`
/// and is refused with its record, on tokio and on another executor; what librdkafka holds by its own count, and the
/// process's memory, grow by at most `buffer.memory` (plus a fixed overhead for the memory). When the broker answers
/// again, every accepted record is delivered. Then the same with records of about 10 bytes. Then producers dropped
/// without `close`, and closed, with records in flight to the hung broker: the drop returns at once on a runtime
/// worker, every `Delivery` and callback resolves within the documented bound, and `close` keeps its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_broker_bounds_memory_by_the_buffer_and_refuses_after_max_block() {
    let _serial = SERIAL.lock().await;
    let private = PrivateStack::new("broker-hung", |c| {
        c.kafka_port = 28892;
        c.cluster_port = 28902;
        c.registry_port = 28881;
    });
    let bootstrap = private.up(&[Service::Kafka]).unwrap().endpoints.bootstrap_servers;
    let name = unique("it-hung");
    create_topic(&bootstrap, &name, 3, 1).await;
    const BUFFER: u64 = 16 * MIB;
    let p = producer(
        &bootstrap,
        &[
            ("buffer.memory", &BUFFER.to_string()),
            ("max.block.ms", "2000"),
            ("linger.ms", "5"),
            ("delivery.timeout.ms", "300000"),
            // librdkafka's own count of what it holds (its statistics' msg_size), the bound's independent witness.
            ("rdkafka.statistics.interval.ms", "100"),
        ],
    );
    let blobs = p.topic(BLOBS).name(&name).bind().await.unwrap();
    blobs.send(Record::new(blob(-1))).await.unwrap();
    let before = rss();
    private.signal(Service::Kafka, "kafka", Signal::Pause).unwrap();

    let mut accepted = 0usize;
    let refused = loop {
        let started = Instant::now();
        match blobs.send_and_forget(Record::new(blob(accepted as i64))).await {
            Ok(_) => accepted += 1,
            Err(e) => break (e, started.elapsed()),
        }
        assert!(accepted < 1_000_000, "the buffer never filled");
    };
    let peak = rss();
    let (e, waited) = refused;
    assert!(matches!(e.kind(), SendErrorKind::BufferFull { .. }), "{e}");
    assert!(e.is_retriable());
    assert!(waited >= Duration::from_millis(1_900) && waited < Duration::from_secs(10), "waited {waited:?}");
    assert_eq!(e.into_record().value.map(|b| b.id), Some(accepted as i64), "the refused record is handed back");
    let growth = peak.saturating_sub(before);
    println!(
        "hung broker: {accepted} records ({} MiB) accepted, then refused after {waited:?}; RSS grew {} MiB for a \
         {} MiB buffer.memory",
        p.metrics().buffered_bytes / MIB,
        growth / MIB,
        BUFFER / MIB
    );
    // What librdkafka says it holds, once its statistics caught up with the last records.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (queued, queued_bytes) = loop {
        let m = p.metrics();
        if let (Some(n), Some(bytes)) = (m.queued_records, m.queued_bytes)
            && n as usize >= accepted
        {
            break (n, bytes);
        }
        assert!(Instant::now() < deadline, "librdkafka's statistics never counted the records: {m:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("librdkafka holds {queued} records of {} MiB by its own count", queued_bytes / MIB);
    assert!(queued_bytes <= BUFFER, "librdkafka holds {queued_bytes} bytes for a {BUFFER}-byte buffer.memory");
    assert!(queued_bytes + queued * u64::from(RECORD_OVERHEAD) <= BUFFER + u64::from(RECORD_OVERHEAD));
    assert!(growth < BUFFER + 48 * MIB, "RSS grew {} MiB for a {} MiB buffer", growth / MIB, BUFFER / MIB);
    // The same wait and refusal on another executor than tokio.
    let other = blobs.clone();
    let started = Instant::now();
    let refused = std::thread::spawn(move || futures::executor::block_on(other.send_and_forget(Record::new(blob(-2)))))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(matches!(refused.kind(), SendErrorKind::BufferFull { .. }), "{refused}");
    assert!(started.elapsed() >= Duration::from_millis(1_900), "waited max.block.ms on another executor");

    private.signal(Service::Kafka, "kafka", Signal::Resume).unwrap();
    assert_eq!(p.flush(Duration::from_secs(120)).await, 0, "every accepted record delivered once the broker answers");
    let m = p.metrics();
    assert_eq!((m.records_sent, m.records_failed, m.buffered_bytes), (accepted as u64 + 1, 0, 0));
    match blobs.send(Record::new(blob(0))).await {
        Ok(_) => {}
        Err(ProduceError::Refused(e)) => panic!("refused after the broker recovered: {e}"),
        Err(e) => panic!("{e:?}"),
    }

    // Records of about 10 bytes: each also takes the batching core's per-record header (`RECORD_OVERHEAD`) from the
    // budget, so the bound holds for them too. Counting their bytes alone, 16 MiB was over a million records in
    // flight, each holding librdkafka's 176-byte message header besides.
    let sent_before = p.metrics().records_sent;
    let before = rss();
    private.signal(Service::Kafka, "kafka", Signal::Pause).unwrap();
    let mut small = 0usize;
    let refused = loop {
        match blobs.send_and_forget(Record::new(Blob { id: small as i64, body: String::new() })).await {
            Ok(_) => small += 1,
            Err(e) => break e,
        }
        assert!(small < 1_000_000, "the buffer never filled");
    };
    let growth = rss().saturating_sub(before);
    println!(
        "hung broker, small records: {small} accepted, then refused; RSS grew {} MiB for a {} MiB buffer.memory",
        growth / MIB,
        BUFFER / MIB
    );
    assert!(matches!(refused.kind(), SendErrorKind::BufferFull { .. }), "{refused}");
    assert!(
        small as u64 <= BUFFER / u64::from(RECORD_OVERHEAD),
        "{small} records held in a {} MiB budget",
        BUFFER / MIB
    );
    assert!(growth < BUFFER + 48 * MIB, "RSS grew {} MiB for a {} MiB buffer", growth / MIB, BUFFER / MIB);
    private.signal(Service::Kafka, "kafka", Signal::Resume).unwrap();
    assert_eq!(p.flush(Duration::from_secs(120)).await, 0, "every small record delivered once the broker answers");
    assert_eq!(p.metrics().records_sent, sent_before + small as u64);

    // Producers with records in flight to the hung broker: one dropped without close (on a runtime worker), one
    // closed. Each has awaited, called-back and fire-and-forget records in flight. (Bound before the broker hangs.)
    let settings = [("delivery.timeout.ms", "300000"), ("linger.ms", "5")];
    let bound = |p: Producer| async {
        let blobs = p.topic(BLOBS).name(&name).bind().await.unwrap();
        (p, blobs)
    };
    let (dropped, dropped_blobs) = bound(producer(&bootstrap, &settings)).await;
    let (closed, closed_blobs) = bound(producer(&bootstrap, &settings)).await;
    private.signal(Service::Kafka, "kafka", Signal::Pause).unwrap();
    let in_flight = |blobs: typed_kafka::TypedProducer<BLOBS>| async move {
        let failed = Arc::new(AtomicUsize::new(0));
        let mut deliveries = Vec::new();
        for i in 0..300 {
            match i % 3 {
                0 => deliveries.push(blobs.enqueue(Record::new(blob(i))).await.unwrap()),
                1 => {
                    let f = failed.clone();
                    let callback =
                        move |r: Result<typed_kafka::RecordMetadata, typed_kafka::producer::DeliveryError>| {
                            if r.is_err_and(|e| e.kind == DeliveryErrorKind::Purged) {
                                f.fetch_add(1, Ordering::SeqCst);
                            }
                        };
                    blobs.send_with(Record::new(blob(i)), callback).await.unwrap();
                }
                _ => drop(blobs.send_and_forget(Record::new(blob(i))).await.unwrap()),
            }
        }
        (blobs, deliveries, failed)
    };
    let (dropped_blobs, deliveries, failed) = in_flight(dropped_blobs).await;
    assert_eq!(dropped.in_flight(), 300);
    // Dropped on a runtime worker: only a flag is raised there.
    let drop_took = tokio::spawn(async move {
        let started = Instant::now();
        drop((dropped, dropped_blobs));
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(drop_took < Duration::from_millis(50), "dropping took {drop_took:?} on a runtime worker");
    let started = Instant::now();
    for d in deliveries {
        let e = tokio::time::timeout(Duration::from_secs(10), d).await.expect("every Delivery resolves").unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::Purged, "{e}");
        assert!(!e.is_retriable());
    }
    let resolved = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while failed.load(Ordering::SeqCst) < 100 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(failed.load(Ordering::SeqCst), 100, "every callback ran with Purged");
    println!(
        "dropped with 300 records in flight to a hung broker: the drop took {drop_took:?}, every Delivery resolved in {resolved:?}"
    );
    assert!(resolved < Duration::from_secs(4), "resolved after {resolved:?}; the bound is about 2.1 s");

    let (_closed_blobs, deliveries, failed) = in_flight(closed_blobs).await;
    let started = Instant::now();
    let report = closed.close(Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2_500), "close(2 s) took {took:?}");
    assert_eq!(report.undelivered.len() + report.unreported, 300, "{report:?}");
    assert_eq!(report.unreported, 0, "the purge's reports came within close's timeout");
    for d in deliveries {
        assert_eq!(d.await.unwrap_err().kind, DeliveryErrorKind::Purged);
    }
    assert_eq!(failed.load(Ordering::SeqCst), 100);
    private.signal(Service::Kafka, "kafka", Signal::Resume).unwrap();
}

/// A transaction whose commit cannot finish: the broker (its coordinator and the partitions' leader) hangs
/// (SIGSTOP) longer than `transaction.timeout.ms`. The commit ends within its timeout in a typed error, never a hang;
/// the transaction is then aborted cleanly or the producer reports fatal, as librdkafka decides; either way a
/// producer with the same `transactional.id` commits afterwards, and `read_committed` sees nothing of the hung
/// transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_past_the_transaction_timeout_ends_in_a_typed_error_and_a_clean_abort() {
    use typed_kafka::producer::TransactionErrorKind;
    let _serial = SERIAL.lock().await;
    let private = PrivateStack::new("broker-txn-hung", |c| {
        c.kafka_port = 28992;
        c.cluster_port = 29002;
        c.registry_port = 28981;
    });
    let bootstrap = private.up(&[Service::Kafka]).unwrap().endpoints.bootstrap_servers;
    let name = unique("it-txn-hung");
    create_topic(&bootstrap, &name, 3, 1).await;
    let id = unique("txn-hung");
    let settings = [
        ("transactional.id", id.as_str()),
        ("transaction.timeout.ms", "6000"),
        ("delivery.timeout.ms", "6000"),
        ("request.timeout.ms", "3000"),
    ];
    let p = producer(&bootstrap, &settings);
    let blobs = p.topic(BLOBS).name(&name).bind().await.unwrap();
    let txn = p.begin().await.unwrap();
    for i in 0..50 {
        blobs.send(Record::new(blob(i))).await.unwrap();
    }
    private.signal(Service::Kafka, "kafka", Signal::Pause).unwrap();
    let mut queued = Vec::new();
    for i in 50..100 {
        queued.push(blobs.enqueue(Record::new(blob(i))).await.unwrap());
    }
    let started = Instant::now();
    let bound = Duration::from_secs(60);
    let committed = tokio::time::timeout(bound, txn.commit(Duration::from_secs(10))).await.expect("commit returns");
    let e = committed.expect_err("nothing commits while the broker hangs");
    println!("commit with the broker hung: {:?} after {:?}", e, started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(20), "the commit ended near its timeout");
    assert!(e.code().is_some(), "librdkafka's code: {e:?}");
    // Hung past the transaction timeout: the coordinator aborts the transaction when it wakes.
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(started.elapsed())).await;
    private.signal(Service::Kafka, "kafka", Signal::Resume).unwrap();
    for d in queued {
        let r = tokio::time::timeout(bound, d).await.expect("each record's future resolves");
        assert!(r.is_err(), "a record of the hung transaction is not reported delivered once it was aborted");
    }

    let recovered = match e.kind() {
        TransactionErrorKind::Fenced | TransactionErrorKind::Fatal => {
            println!("librdkafka reported the producer fatal: {e}");
            false
        }
        _ => {
            let txn = e.into_transaction().expect("a retriable or abortable commit hands the transaction back");
            match tokio::time::timeout(bound, txn.abort(Duration::from_secs(30))).await.expect("abort returns") {
                Ok(()) => {
                    let txn = p.begin().await.unwrap();
                    blobs.send(Record::new(blob(1_000))).await.unwrap();
                    txn.commit(Duration::from_secs(30)).await.unwrap();
                    true
                }
                Err(abort) => {
                    println!("the abort failed: {abort:?}");
                    assert!(abort.is_fatal(), "an abort that fails after the timeout leaves the producer fatal");
                    false
                }
            }
        }
    };
    println!("the same producer recovered: {recovered}");
    if !recovered {
        let next = producer(&bootstrap, &settings);
        let next_blobs = next.topic(BLOBS).name(&name).bind().await.unwrap();
        let txn = next.begin().await.unwrap();
        next_blobs.send(Record::new(blob(1_000))).await.unwrap();
        txn.commit(Duration::from_secs(30)).await.unwrap();
    }
    let read = typed_kafka_tests::read_back_all(&bootstrap, &name, 1, Duration::from_secs(30));
    let ids: Vec<i64> = read
        .iter()
        .map(|m| {
            let (_, body) = typed_kafka::avro::wire::split(rdkafka::Message::payload(m).unwrap()).unwrap();
            Blob::decode_body(body).unwrap().id
        })
        .collect();
    assert_eq!(ids, [1_000], "read_committed sees only the transaction after the hang");
}
