//! Transactions against the real three-broker cluster and registry: aborted transactions are invisible to
//! `read_committed` consumers and visible to `read_uncommitted` ones, records an abort purges fail as aborted,
//! a newer producer with the same `transactional.id` fences the older one, a record refused before enqueue leaves
//! the transaction alone, and a consume-transform-produce loop commits its input positions with its output.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use typed_kafka::config::ProducerConfig;
use typed_kafka::consumer::{IsolationLevel, StartAt, TypedConsumer};
use typed_kafka::producer::{DeliveryErrorKind, ProduceError, SendErrorKind, TransactionErrorKind};
use typed_kafka::{KafkaRecord, Producer, Record};
use typed_kafka_tests::{cluster, create_topic, registry_client, unique};

/// An order line, as the pipeline reads it.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.txn")]
struct Order {
    id: i64,
    #[kafka(min = 0)]
    cents: i64,
}

/// What the pipeline writes for each order.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.txn")]
struct Invoice {
    order: i64,
    cents_with_tax: i64,
}

typed_kafka::topic! { ORDERS: "it-txn-orders", key: String, value: Order; }
typed_kafka::topic! { INVOICES: "it-txn-invoices", key: String, value: Invoice; }

const TIMEOUT: Duration = Duration::from_secs(30);

fn transactional(id: &str, settings: &[(&str, &str)]) -> Producer {
    let mut config = ProducerConfig::builder(cluster()).set("transactional.id", id);
    for (k, v) in settings {
        config = config.set(*k, *v);
    }
    Producer::builder(config.build().unwrap()).registry(registry_client()).build().unwrap()
}

/// A producer that is not transactional, for a test's input.
fn plain() -> Producer {
    Producer::builder(ProducerConfig::builder(cluster()).build().unwrap()).registry(registry_client()).build().unwrap()
}

async fn topic(prefix: &str, partitions: i32) -> String {
    let name = unique(prefix);
    create_topic(cluster(), &name, partitions, 3).await;
    name
}

fn order(id: i64) -> Record<String, Order> {
    Record::new(Order { id, cents: id * 10 }).key(format!("customer-{}", id % 7))
}

/// Every order id on `topic` a consumer at `level` reads until `quiet` passes without a record (or `expected`
/// arrive), in (partition, offset) order.
async fn order_ids(topic: &str, level: IsolationLevel, expected: usize) -> Vec<i64> {
    let consumer = TypedConsumer::<ORDERS, Order>::builder(cluster(), registry_client())
        .name(topic)
        .isolation_level(level)
        .build()
        .unwrap();
    consumer.assign_all(StartAt::Beginning).await.unwrap();
    let mut read = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        let wait = if read.len() >= expected { Duration::from_secs(2) } else { Duration::from_secs(5) };
        match consumer.poll(wait).await {
            Some(r) => {
                let r = r.unwrap();
                read.push((r.partition, r.offset, r.value.unwrap().id));
            }
            None if read.len() >= expected => break,
            None => {}
        }
    }
    read.sort();
    read.into_iter().map(|(_, _, id)| id).collect()
}

/// `e` is the refusal of a record sent when no transaction is open, the record handed back.
fn assert_refused_outside_a_transaction(e: ProduceError<String, Order>) {
    let ProduceError::Refused(r) = e else { panic!("refused before enqueue: {e}") };
    assert!(matches!(r.kind(), SendErrorKind::NoTransaction), "{r}");
    assert!(r.into_record().value.is_some(), "the record is handed back");
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort();
    ids
}

/// An aborted transaction's records never reach a `read_committed` consumer, and do reach a `read_uncommitted`
/// one; the records the abort purged before they were sent fail with `Aborted` through their futures; the
/// producer's next transaction commits.
#[tokio::test]
async fn an_aborted_transaction_is_invisible_to_read_committed_and_the_next_one_commits() {
    let name = topic("it-txn-abort", 3).await;
    let p = transactional(&unique("txn-abort"), &[]);
    p.init_transactions(TIMEOUT).await.unwrap();
    let orders = p.topic(ORDERS).name(&name).bind().await.unwrap();

    let txn = p.begin().await.unwrap();
    for id in 0..100 {
        orders.send(order(id)).await.unwrap();
    }
    txn.abort(TIMEOUT).await.unwrap();
    assert_refused_outside_a_transaction(orders.send(order(1_000)).await.unwrap_err());

    let txn = p.begin().await.unwrap();
    for id in 100..150 {
        orders.send_and_forget(order(id)).await.unwrap();
    }
    txn.commit(TIMEOUT).await.unwrap();
    assert_eq!(p.metrics().records_failed, 0);

    let committed = order_ids(&name, IsolationLevel::ReadCommitted, 50).await;
    assert_eq!(sorted(committed), (100..150).collect::<Vec<_>>(), "only the committed transaction");
    let everything = order_ids(&name, IsolationLevel::ReadUncommitted, 150).await;
    assert_eq!(sorted(everything), (0..150).collect::<Vec<_>>(), "read_uncommitted sees the aborted records too");
}

/// Records still waiting for `linger.ms` when their transaction aborts are never sent: their futures fail with
/// `Aborted`, and nothing of them is read.
#[tokio::test]
async fn records_queued_when_their_transaction_aborts_fail_as_aborted() {
    let name = topic("it-txn-purged", 2).await;
    let p = transactional(&unique("txn-purged"), &[("linger.ms", "10000")]);
    let orders = p.topic(ORDERS).name(&name).bind().await.unwrap();
    let txn = p.begin().await.unwrap();
    let mut waiting = Vec::new();
    for id in 0..20 {
        waiting.push(orders.enqueue(order(id)).await.unwrap());
    }
    txn.abort(TIMEOUT).await.unwrap();
    for delivery in waiting {
        let e = delivery.await.unwrap_err();
        assert_eq!(e.kind, DeliveryErrorKind::Aborted, "{e}");
    }
    assert_eq!(p.in_flight(), 0);
    let txn = p.begin().await.unwrap();
    orders.send_and_forget(order(99)).await.unwrap();
    txn.commit(TIMEOUT).await.unwrap();
    assert_eq!(order_ids(&name, IsolationLevel::ReadUncommitted, 1).await, [99]);
}

/// A second producer with the same `transactional.id` fences the first: the first's commit fails `Fenced` (fatal),
/// its sends are refused, and nothing of its transaction is visible; the second carries on.
#[tokio::test]
async fn a_newer_producer_with_the_same_transactional_id_fences_the_older_one() {
    let name = topic("it-txn-fenced", 3).await;
    let id = unique("txn-fenced");
    let old = transactional(&id, &[]);
    let old_orders = old.topic(ORDERS).name(&name).bind().await.unwrap();
    let txn = old.begin().await.unwrap();
    for i in 0..10 {
        old_orders.send(order(i)).await.unwrap();
    }

    let new = transactional(&id, &[]);
    new.init_transactions(TIMEOUT).await.unwrap();

    let e = txn.commit(TIMEOUT).await.unwrap_err();
    assert!(e.is_fatal() && !e.is_abortable() && !e.is_retriable(), "{e:?}");
    assert_eq!(e.kind(), TransactionErrorKind::Fenced, "{e:?}");
    assert!(e.into_transaction().is_none(), "a fenced transaction cannot be finished");
    let refused = old_orders.send(order(11)).await.unwrap_err();
    assert!(
        matches!(&refused, ProduceError::Refused(r) if matches!(r.kind(), SendErrorKind::Fatal { .. })),
        "{refused}"
    );
    let e = old.begin().await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");

    let new_orders = new.topic(ORDERS).name(&name).bind().await.unwrap();
    let txn = new.begin().await.unwrap();
    for i in 100..105 {
        new_orders.send(order(i)).await.unwrap();
    }
    txn.commit(TIMEOUT).await.unwrap();
    let committed = order_ids(&name, IsolationLevel::ReadCommitted, 5).await;
    assert_eq!(sorted(committed), (100..105).collect::<Vec<_>>());
}

/// A record refused before enqueue (it breaks a rule) is handed back and the transaction goes on to commit
/// with the others.
#[tokio::test]
async fn a_record_refused_before_enqueue_leaves_the_transaction_to_commit() {
    let name = topic("it-txn-refused", 1).await;
    let p = transactional(&unique("txn-refused"), &[]);
    let orders = p.topic(ORDERS).name(&name).bind().await.unwrap();
    let txn = p.begin().await.unwrap();
    orders.send(order(1)).await.unwrap();
    let bad = Record::new(Order { id: 2, cents: -5 }).key("c".to_string());
    let e = orders.send(bad).await.unwrap_err();
    let ProduceError::Refused(e) = e else { panic!("refused before enqueue: {e}") };
    assert!(matches!(e.kind(), SendErrorKind::RuleViolation { .. }), "{e}");
    assert_eq!(e.into_record().value.unwrap().cents, -5, "handed back");
    orders.send(order(3)).await.unwrap();
    txn.commit(TIMEOUT).await.unwrap();
    assert_eq!(order_ids(&name, IsolationLevel::ReadCommitted, 2).await, [1, 3]);
}

/// A consume-transform-produce loop: each transaction writes the invoices of the orders read since the last one
/// and commits the group's positions with them. An aborted transaction is rewound and done again. The invoices
/// read `read_committed` hold each order's once, and the group's committed offsets are the input's end.
#[tokio::test]
async fn a_pipeline_commits_its_input_positions_with_its_output() {
    let input = topic("it-txn-in", 3).await;
    let output = topic("it-txn-out", 3).await;
    let n = 600i64;
    let plain = plain();
    let source = plain.topic(ORDERS).name(&input).bind().await.unwrap();
    for id in 0..n {
        source.send_and_forget(order(id)).await.unwrap();
    }
    assert_eq!(plain.flush(TIMEOUT).await, 0);

    let group = unique("txn-pipeline");
    let consumer = TypedConsumer::<ORDERS, Order>::builder(cluster(), registry_client())
        .name(&input)
        .group_id(&group)
        .isolation_level(IsolationLevel::ReadCommitted)
        .build()
        .unwrap();
    consumer.subscribe().unwrap();
    let p = transactional(&unique("txn-pipeline"), &[]);
    let invoices = p.topic(INVOICES).name(&output).bind().await.unwrap();

    let mut round = 0;
    let mut done = 0i64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while done < n && Instant::now() < deadline {
        let txn = p.begin().await.unwrap();
        let mut batch = Vec::new();
        while batch.len() < 100 {
            match consumer.poll(Duration::from_secs(3)).await {
                Some(r) => batch.push(r.unwrap()),
                None => break,
            }
        }
        for r in &batch {
            let o = r.value.as_ref().unwrap();
            let invoice = Invoice { order: o.id, cents_with_tax: o.cents * 12 / 10 };
            invoices.send_and_forget(Record::new(invoice).key(r.key.clone().unwrap())).await.unwrap();
        }
        txn.send_offsets(&consumer, TIMEOUT).await.unwrap();
        round += 1;
        if round == 3 {
            // Abort this one: its invoices never count, and its orders are read again.
            txn.abort(TIMEOUT).await.unwrap();
            consumer.rewind().await.unwrap();
            continue;
        }
        txn.commit(TIMEOUT).await.unwrap();
        done += batch.len() as i64;
    }
    assert_eq!(done, n, "every order processed within the time bound");

    let reader = TypedConsumer::<INVOICES, Invoice>::builder(cluster(), registry_client())
        .name(&output)
        .isolation_level(IsolationLevel::ReadCommitted)
        .build()
        .unwrap();
    reader.assign_all(StartAt::Beginning).await.unwrap();
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        match reader.poll(Duration::from_secs(3)).await {
            Some(r) => {
                let invoice = r.unwrap().value.unwrap();
                assert_eq!(invoice.cents_with_tax, invoice.order * 12);
                *seen.entry(invoice.order).or_default() += 1;
            }
            None if seen.len() as i64 >= n => break,
            None => {}
        }
    }
    assert_eq!(seen.len() as i64, n, "every order's invoice");
    assert!(seen.values().all(|c| *c == 1), "each exactly once: {:?}", seen.iter().find(|(_, c)| **c != 1));

    // The group's committed positions are the input's end in every partition.
    let committed = typed_kafka_tests::committed_offsets(cluster(), &group, &input, 3);
    let ends = typed_kafka_tests::end_offsets(cluster(), &input, 3);
    assert_eq!(committed, ends);
}

/// Seconds since the epoch's low bits, as the seed of the kill points (printed, to run a failing case again with
/// `TXN_KILL_SEED`).
fn seed() -> u64 {
    std::env::var("TXN_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64)
    })
}

/// A small xorshift: the kill points need no more.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The exactly-once example's job as a process: 100,000 orders, the process killed with SIGKILL at a random point
/// twice and started again each time. The invoices, read `read_committed`, hold each order's exactly once; the
/// group's committed positions are the input's end; Java's consumer at `read_committed` reads the same records.
#[tokio::test]
async fn a_pipeline_killed_twice_with_sigkill_writes_each_invoice_exactly_once() {
    use typed_kafka_examples::pipeline::{INVOICES, Invoice};
    use typed_kafka_examples::shop::{Line, ORDERS as SHOP_ORDERS, Order as ShopOrder, Status};

    let input = topic("it-txn-kill-in", 3).await;
    let output = topic("it-txn-kill-out", 3).await;
    let n = 100_000u128;
    let plain = plain();
    let orders = plain.topic(SHOP_ORDERS).name(&input).bind().await.unwrap();
    for i in 0..n {
        let order = ShopOrder {
            id: uuid::Uuid::from_u128(i + 1),
            lines: vec![Line { sku: format!("sku-{}", i % 11), quantity: 1, unit_cents: 100 + (i % 900) as u64 }],
            total_cents: 100 + (i % 900) as u64,
            status: Status::Placed,
            placed_at: chrono::DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
            note: None,
        };
        orders.send_and_forget(Record::new(order).key(format!("customer-{}", i % 50))).await.unwrap();
    }
    assert_eq!(plain.flush(Duration::from_secs(60)).await, 0);
    assert_eq!(plain.metrics().records_failed, 0);

    let (group, txn_id) = (unique("txn-kill"), unique("txn-kill"));
    let registry = typed_kafka_tests::stack().registry_url.clone();
    let args = [cluster(), &registry, &input, &output, &group, &txn_id];
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_txn_pipeline"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut state = seed() | 1;
    println!("kill seed: {state}");
    for round in 0..2 {
        let mut job = spawn();
        let after = Duration::from_millis(2_000 + next(&mut state) % 6_000);
        tokio::time::sleep(after).await;
        let still_running = job.try_wait().unwrap().is_none();
        job.kill().unwrap();
        job.wait().unwrap();
        let done: i64 =
            typed_kafka_tests::committed_offsets(cluster(), &group, &input, 3).iter().map(|o| o.max(&0)).sum();
        println!("run {round}: SIGKILL after {after:?}, {done} orders committed");
        assert!(still_running && (done as u128) < n, "the job was killed mid-stream, not after it finished");
    }
    let mut job = spawn();
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            job.kill().unwrap();
            panic!("the last run did not finish within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(status.success(), "the last run failed: {status}");
    let mut report = String::new();
    std::io::Read::read_to_string(job.stdout.as_mut().unwrap(), &mut report).unwrap();
    println!("last run (committed aborted orders): {report}");

    // Every order's invoice exactly once, read read_committed.
    let reader = TypedConsumer::<INVOICES, Invoice>::builder(cluster(), registry_client())
        .name(&output)
        .isolation_level(IsolationLevel::ReadCommitted)
        .build()
        .unwrap();
    reader.assign_all(StartAt::Beginning).await.unwrap();
    let mut rust_read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        match reader.poll(Duration::from_secs(3)).await {
            Some(r) => {
                let r = r.unwrap();
                let invoice = r.value.unwrap();
                rust_read.push((r.partition, r.offset, r.key.unwrap(), invoice.order));
            }
            None if rust_read.len() as u128 >= n => break,
            None => {}
        }
    }
    let mut per_order: BTreeMap<u128, usize> = BTreeMap::new();
    for (_, _, _, order) in &rust_read {
        *per_order.entry(order.as_u128()).or_default() += 1;
    }
    assert_eq!(per_order.len() as u128, n, "every order's invoice");
    let twice: Vec<_> = per_order.iter().filter(|(_, c)| **c != 1).take(5).collect();
    assert!(twice.is_empty(), "invoices written more than once: {twice:?}");
    assert_eq!(rust_read.len() as u128, n);

    let committed = typed_kafka_tests::committed_offsets(cluster(), &group, &input, 3);
    assert_eq!(committed, typed_kafka_tests::end_offsets(cluster(), &input, 3), "the group's positions");
    // What the killed runs left of their open transactions (aborted when the next run started) is in the log.
    let written: i64 = typed_kafka_tests::end_offsets(cluster(), &output, 3).iter().sum();
    println!("output log: {written} entries for {n} invoices (commit markers and aborted records included)");

    // Java's consumer at read_committed reads the same records at the same positions.
    let dir = std::env::temp_dir().join(unique("txn-java"));
    std::fs::create_dir_all(&dir).unwrap();
    let schema = dir.join("invoice.avsc");
    std::fs::write(&schema, <Invoice as KafkaRecord>::schema().unwrap().json()).unwrap();
    let expected = n.to_string();
    let java_args = [cluster(), &output, "read_committed", &expected, "120"].map(std::ffi::OsStr::new);
    let mut java_args = java_args.to_vec();
    java_args.push(schema.as_os_str());
    let out = typed_kafka_tests::run_java_interop("JavaConsume", &java_args).unwrap();
    let mut java_read: Vec<(i32, i64, String, uuid::Uuid)> = out
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.splitn(5, '\t').collect();
            let value: serde_json::Value = serde_json::from_str(fields[4]).unwrap();
            let order = uuid::Uuid::parse_str(value["order"].as_str().unwrap()).unwrap();
            (fields[0].parse().unwrap(), fields[1].parse().unwrap(), fields[2].to_string(), order)
        })
        .collect();
    java_read.sort();
    rust_read.sort();
    assert_eq!(java_read.len(), rust_read.len(), "Java read as many records");
    assert!(java_read == rust_read, "Java and typed-kafka read the same records at the same positions");
    let _ = std::fs::remove_dir_all(&dir);
}

/// librdkafka's transaction calls block; they never run on the caller's executor: on a one-thread runtime, a task
/// keeps ticking while `init_transactions` waits for a coordinator that cannot be reached, and the call ends in a
/// typed, retriable timeout.
#[test]
fn transaction_calls_never_block_the_callers_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // Nothing listens on port 1.
        let config = ProducerConfig::builder("127.0.0.1:1").set("transactional.id", unique("txn-blocked"));
        let p = Producer::builder(config.build().unwrap()).registry(registry_client()).build().unwrap();
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let ticker = {
            let ticks = ticks.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let started = Instant::now();
        let e = p.init_transactions(Duration::from_secs(2)).await.unwrap_err();
        let waited = started.elapsed();
        ticker.abort();
        let ticks = ticks.load(std::sync::atomic::Ordering::Relaxed);
        println!("init_transactions without a broker: {e:?} after {waited:?}; the runtime ticked {ticks} times");
        assert!(e.is_retriable(), "a timeout is retriable: {e:?}");
        assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(10), "{waited:?}");
        assert!(ticks >= 50, "the runtime's one thread kept running other tasks: {ticks} ticks in {waited:?}");
    });
}

/// Dropping an open transaction aborts it without blocking the caller: the next `begin` waits for that abort,
/// and nothing of the dropped transaction reaches a `read_committed` consumer.
#[tokio::test]
async fn a_dropped_transaction_is_aborted() {
    let name = topic("it-txn-dropped", 2).await;
    let p = transactional(&unique("txn-dropped"), &[]);
    let orders = p.topic(ORDERS).name(&name).bind().await.unwrap();
    let txn = p.begin().await.unwrap();
    for id in 0..10 {
        orders.send(order(id)).await.unwrap();
    }
    let started = Instant::now();
    drop(txn);
    assert!(started.elapsed() < Duration::from_millis(50), "the drop does not wait for the abort");
    assert_refused_outside_a_transaction(orders.send(order(10)).await.unwrap_err());
    let txn = p.begin().await.unwrap();
    for id in 20..25 {
        orders.send(order(id)).await.unwrap();
    }
    txn.commit(TIMEOUT).await.unwrap();
    assert_eq!(sorted(order_ids(&name, IsolationLevel::ReadCommitted, 5).await), (20..25).collect::<Vec<_>>());
    let everything = sorted(order_ids(&name, IsolationLevel::ReadUncommitted, 15).await);
    assert_eq!(everything, (0..10).chain(20..25).collect::<Vec<_>>());
}
