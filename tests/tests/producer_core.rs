//! The producer's core against the real broker: partition counts that follow a topic's expansion, one delivery
//! thread in each partition's offset order (during `close` too), panics on the delivery thread, blocking sends that
//! would wait for themselves, a callback that drops the producer's last handle, and another executor than tokio.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions};
use rdkafka::client::DefaultClientContext;
use typed_kafka::config::ProducerConfig;
use typed_kafka::producer::{DeliveryError, Interceptor, ProduceError, SendErrorKind};
use typed_kafka::{KafkaRecord, Producer, Record, RecordMetadata, SchemaRegistryClient};
use typed_kafka_tests::{create_topic, stack, unique};

/// A step of a job.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.core")]
struct Step {
    job: String,
    n: i64,
}

typed_kafka::topic! { STEPS: "it-steps", key: String, value: Step; }

fn registry() -> SchemaRegistryClient {
    SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap()
}

fn producer(settings: &[(&str, &str)]) -> Producer {
    let config = settings
        .iter()
        .fold(ProducerConfig::builder(stack().bootstrap_servers.as_str()), |c, (k, v)| c.set(*k, *v))
        .build()
        .unwrap();
    Producer::builder(config).registry(registry()).build().unwrap()
}

fn step(n: i64) -> Step {
    Step { job: format!("j-{}", n % 97), n }
}

async fn topic(prefix: &str, partitions: i32) -> String {
    let name = unique(prefix);
    create_topic(&stack().bootstrap_servers, &name, partitions, 1).await;
    name
}

/// The calling thread's entry under `/proc/self/task`, which goes away when the thread ends.
fn this_thread() -> std::path::PathBuf {
    let own = std::fs::read_link("/proc/thread-self").unwrap();
    std::path::Path::new("/proc/self/task").join(own.file_name().unwrap())
}

/// Waits up to `timeout` for `done`.
async fn eventually(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// A topic expanded from 3 to 6 partitions: a record for partition 5 is refused (retriably) until the producer's
/// metadata shows the new partitions, within `metadata.max.age.ms`, then delivered there; the partition count the
/// producer reports follows, and `partition_for` agrees with where librdkafka puts each key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_expanded_to_more_partitions_is_used_once_the_metadata_shows_them() {
    let name = topic("it-expand", 3).await;
    let p = producer(&[("metadata.max.age.ms", "1000")]);
    let steps = p.topic(STEPS).name(&name).bind().await.unwrap();
    assert_eq!(steps.partitions(), 3);
    let e = match steps.send(Record::new(step(0)).partition(5)).await {
        Err(ProduceError::Refused(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(matches!(e.kind(), SendErrorKind::UnknownPartition { partition: 5, partitions: Some(3) }), "{e}");
    assert!(e.is_retriable(), "{e}");

    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &stack().bootstrap_servers).create().unwrap();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in admin.create_partitions([&NewPartitions::new(&name, 6)], &opts).await.unwrap() {
        r.unwrap();
    }
    let expanded = Instant::now();
    let delivered = loop {
        match steps.send(Record::new(step(1)).partition(5)).await {
            Ok(meta) => break meta,
            Err(ProduceError::Refused(e)) if matches!(e.kind(), SendErrorKind::UnknownPartition { .. }) => {
                assert!(expanded.elapsed() < Duration::from_secs(20), "partition 5 never appeared: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(delivered.partition, 5);
    assert!(eventually(Duration::from_secs(10), || steps.partitions() == 6).await, "the count followed");
    println!("partition 5 accepted {:?} after the expansion", expanded.elapsed());

    // Keys land where `partition_for` says, with the new count: librdkafka's murmur2 and ours agree.
    let mut deliveries = Vec::new();
    for i in 0..300 {
        let key = format!("key-{i}");
        let expected = steps.partition_for(&key).unwrap();
        deliveries.push((expected, steps.enqueue(Record::new(step(i)).key(key)).await.unwrap()));
    }
    let mut beyond = 0;
    for (expected, d) in deliveries {
        let meta = d.await.unwrap();
        assert_eq!(meta.partition, expected);
        beyond += usize::from(meta.partition >= 3);
    }
    assert!(beyond > 50, "{beyond} of 300 keys in the new partitions");
}

/// 100,000 keyed records in flight with callbacks, and `close` while they are: every callback runs on the one
/// delivery thread, in each partition's offset order, flush and close included, and every record is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_run_on_one_thread_in_offset_order_while_closing() {
    const N: i64 = 100_000;
    let name = topic("it-order", 6).await;
    let p = producer(&[("linger.ms", "20")]);
    let steps = p.topic(STEPS).name(&name).bind().await.unwrap();
    let seen: Arc<Mutex<Vec<(String, i32, i64)>>> = Arc::new(Mutex::new(Vec::with_capacity(N as usize)));
    for i in 0..N {
        let seen = seen.clone();
        steps
            .send_with(Record::new(step(i)).key(format!("k-{}", i % 1000)), move |r| {
                let meta = r.unwrap();
                let thread = std::thread::current().name().unwrap_or("?").to_string();
                seen.lock().unwrap().push((thread, meta.partition, meta.offset.unwrap()));
            })
            .await
            .unwrap();
        if i == N / 2 {
            // Half-way, a flush from another task while the sends go on.
            let p = p.clone();
            tokio::spawn(async move { p.flush(Duration::from_secs(60)).await });
        }
    }
    let in_flight = p.in_flight();
    let report = p.close(Duration::from_secs(120)).await;
    assert!(report.is_complete(), "{report:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), N as usize, "every callback ran ({in_flight} were in flight at close)");
    let threads: std::collections::BTreeSet<&str> = seen.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(threads.into_iter().collect::<Vec<_>>(), ["typed-kafka-delivery"]);
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for (_, partition, offset) in seen.iter() {
        let before = last.insert(*partition, *offset);
        assert!(before.is_none_or(|b| b < *offset), "partition {partition}: offset {offset} after {before:?}");
    }
    println!("{in_flight} records in flight when close began");
}

/// Panics on the delivery thread (a callback, a waker, an interceptor) are caught: the reports keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_on_the_delivery_thread_do_not_stop_the_reports() {
    struct Boom;
    impl std::task::Wake for Boom {
        fn wake(self: Arc<Self>) {
            panic!("a waker that panics");
        }
    }
    struct Panicky;
    impl Interceptor for Panicky {
        fn on_acknowledgement(&self, _: Result<&RecordMetadata, &DeliveryError>) {
            panic!("an interceptor that panics");
        }
    }
    let name = topic("it-panics", 2).await;
    let config = ProducerConfig::builder(stack().bootstrap_servers.as_str()).build().unwrap();
    let p = Producer::builder(config).registry(registry()).interceptor(Panicky).build().unwrap();
    let steps = p.topic(STEPS).name(&name).bind().await.unwrap();
    for i in 0..20 {
        steps.send_with(Record::new(step(i)), |_| panic!("a callback that panics")).await.unwrap();
        let mut delivery = steps.enqueue(Record::new(step(i))).await.unwrap();
        let waker = std::task::Waker::from(Arc::new(Boom));
        let _ = std::pin::Pin::new(&mut delivery).poll(&mut std::task::Context::from_waker(&waker));
        // Its outcome is kept for the next poll.
        tokio::time::timeout(Duration::from_secs(30), delivery).await.unwrap().unwrap();
    }
    for i in 0..100 {
        steps.send(Record::new(step(i))).await.unwrap();
    }
    assert_eq!(p.flush(Duration::from_secs(30)).await, 0);
    let m = p.metrics();
    assert_eq!((m.records_sent, m.records_failed, m.in_flight), (140, 0, 0));
    assert!(p.fatal_error().is_none());
}

/// `send_blocking` in a callback or an interceptor would wait for a report only the delivery thread serves: it is
/// refused with `WouldDeadlock` and the record handed back. A callback that drops the producer's last handle does
/// not make the delivery thread wait for itself: it tears down and stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_sends_on_the_delivery_thread_are_refused_and_a_callback_may_drop_the_producer() {
    #[derive(Clone)]
    struct Resend(Arc<Mutex<Option<typed_kafka::TypedProducer<STEPS>>>>, Arc<Mutex<Vec<String>>>);
    impl Interceptor for Resend {
        fn on_acknowledgement(&self, _: Result<&RecordMetadata, &DeliveryError>) {
            if let Some(steps) = self.0.lock().unwrap().take() {
                let outcome = match steps.send_blocking(Record::new(step(-1))) {
                    Err(ProduceError::Refused(e)) => format!("{:?} {:?}", e.kind(), e.record().value),
                    other => format!("{other:?}"),
                };
                self.1.lock().unwrap().push(outcome);
            }
        }
    }
    let name = topic("it-deadlock", 1).await;
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let resend = Resend(Arc::new(Mutex::new(None)), outcomes.clone());
    let config = ProducerConfig::builder(stack().bootstrap_servers.as_str()).build().unwrap();
    let p = Producer::builder(config).registry(registry()).interceptor(resend.clone()).build().unwrap();
    let steps = p.topic(STEPS).name(&name).bind().await.unwrap();
    *resend.0.lock().unwrap() = Some(steps.clone());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let again = steps.clone();
    steps
        .send_with(Record::new(step(1)), move |_| {
            let _ = tx.send(format!("{:?}", again.send_blocking(Record::new(step(2)))));
        })
        .await
        .unwrap();
    let in_callback = tokio::time::timeout(Duration::from_secs(30), rx).await.unwrap().unwrap();
    assert!(in_callback.contains("WouldDeadlock"), "{in_callback}");
    assert!(eventually(Duration::from_secs(10), || !outcomes.lock().unwrap().is_empty()).await);
    let in_interceptor = outcomes.lock().unwrap()[0].clone();
    assert!(in_interceptor.starts_with("WouldDeadlock") && in_interceptor.contains("n: -1"), "{in_interceptor}");

    // The last handle is dropped by a callback, on the delivery thread. (The interceptor held a handle too; it
    // took it and dropped it after the first acknowledgement.) The callback waits for the test to let go of its
    // own handle first.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (gate, opened) = std::sync::mpsc::channel::<()>();
    let last = steps.clone();
    drop((p, steps));
    let holder = last.clone();
    holder
        .send_with(Record::new(step(3)), move |r| {
            let _ = opened.recv_timeout(Duration::from_secs(30));
            let thread = this_thread();
            drop(last);
            let _ = tx.send((r.is_ok(), thread));
        })
        .await
        .unwrap();
    drop(holder);
    gate.send(()).unwrap();
    let (delivered, thread) = tokio::time::timeout(Duration::from_secs(30), rx).await.unwrap().unwrap();
    assert!(delivered);
    assert!(thread.to_string_lossy().contains("/task/"), "{thread:?}");
    assert!(
        eventually(Duration::from_secs(10), || !thread.exists()).await,
        "the delivery thread ended after the callback dropped the last handle"
    );
}

/// Sends, flush and close on another executor than tokio (`futures::executor`), on a producer built outside any
/// runtime: binding runs the registry's I/O on the producer's own runtime, and every wait works.
#[test]
fn every_send_mode_works_on_another_executor() {
    let name = {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(topic("it-executor", 2))
    };
    let p = producer(&[]);
    futures::executor::block_on(async {
        let steps = p.topic(STEPS).name(&name).bind().await.unwrap();
        let meta = steps.send(Record::new(step(1)).key("a".into())).await.unwrap();
        assert_eq!(meta.offset.map(|o| o >= 0), Some(true));
        let delivery = steps.enqueue(Record::new(step(2))).await.unwrap();
        steps.send_and_forget(Record::new(step(3))).await.unwrap();
        let called = Arc::new(AtomicUsize::new(0));
        let c = called.clone();
        let count = move |r: Result<RecordMetadata, DeliveryError>| {
            c.fetch_add(usize::from(r.is_ok()), Ordering::SeqCst);
        };
        steps.send_with(Record::new(step(4)), count).await.unwrap();
        delivery.await.unwrap();
        assert_eq!(p.flush(Duration::from_secs(30)).await, 0);
        assert_eq!(called.load(Ordering::SeqCst), 1);
        assert!(p.close(Duration::from_secs(10)).await.is_complete());
    });
    assert_eq!(p.metrics().records_sent, 4);
}
