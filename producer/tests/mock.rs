//! The mock producer: the same `TypedProducer` API with no broker and no registry, for users' unit tests.

#![cfg(feature = "registry")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::Duration;
use typed_kafka::mock::{MockOutcome, MockProducer};
use typed_kafka::partition::java_partition;

use typed_kafka::producer::{DeliveryErrorKind, Interceptor, SendErrorKind, TransactionErrorKind};
use typed_kafka::{Headers, KafkaRecord, ProduceError, Record, RecordMetadata};

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
struct Order {
    id: String,
    total_cents: u64,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
struct Refund {
    order: String,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
struct CustomerKey {
    customer: String,
}

typed_kafka::topic! {
    /// Orders keyed by customer.
    ORDERS: "orders", key: String, value: Order;
}
typed_kafka::topic! { PAYMENTS: "payments", key: avro CustomerKey, values: [Order, Refund]; }

fn order(id: &str) -> Order {
    Order { id: id.into(), total_cents: 100 }
}

#[tokio::test]
async fn sends_are_recorded_typed_with_partitions_and_offsets() {
    let mock = MockProducer::new(6);
    let orders = mock.bind(ORDERS).await.unwrap();
    let a = orders.send(Record::new(order("a")).key("alice".into())).await.unwrap();
    let b = orders.send(Record::new(order("b")).key("alice".into())).await.unwrap();
    assert_eq!(a.partition, java_partition(b"alice", 6) as i32, "Java's murmur2, as the real producer");
    assert_eq!((a.offset, b.offset), (Some(0), Some(1)), "offsets per partition");
    orders.send_and_forget(Record::new(order("c"))).await.unwrap();
    let sent = mock.history::<ORDERS, Order>();
    let ids: Vec<&str> = sent.iter().map(|s| s.record.value.as_ref().unwrap().id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert_eq!(sent[0].key_bytes.as_deref(), Some(&b"alice"[..]));
    let framed = sent[0].value_bytes.as_ref().unwrap();
    assert_eq!(framed[0], 0, "values are framed as the real producer frames them");
    mock.clear();
    assert!(mock.history::<ORDERS, Order>().is_empty());
}

#[tokio::test]
async fn violations_are_refused_with_the_record_as_the_real_producer_does() {
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    struct Counters {
        a: u64,
        b: Vec<u64>,
    }
    typed_kafka::topic! { COUNTERS: "counters", value: Counters; }
    let mock = MockProducer::new(1);
    let counters = mock.bind(COUNTERS).await.unwrap();
    let bad = Counters { a: u64::MAX, b: vec![1, u64::MAX] };
    let Err(ProduceError::Refused(e)) = counters.send(Record::new(bad.clone())).await else { panic!("refused") };
    assert!(e.kind().is_schema_violation());
    let text = e.to_string();
    assert!(text.contains("/a") && text.contains("/b/1"), "{text}");
    assert_eq!(e.into_record().value, Some(bad));
    assert!(mock.history::<COUNTERS, Counters>().is_empty(), "nothing sent");
    assert_eq!(mock.producer().metrics().refused.schema_violation, 1);
}

/// Data-contract rules refuse a record before the partitioner in every send mode, with every broken rule and its
/// path, and hand it back; a key's rules run first; a record keeping them is sent.
#[tokio::test]
async fn rule_violations_are_refused_with_the_record_in_every_send_mode() {
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    struct Account {
        #[kafka(pattern = "^acc-[0-9]+$")]
        id: String,
    }
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(rule(
        name = "total_covers_fee",
        expr = "this.total_cents >= this.fee_cents",
        doc = "fees come out of the total"
    ))]
    struct Payment {
        #[kafka(min = 0)]
        total_cents: i64,
        fee_cents: i64,
        #[kafka(one_of = ["EUR", "USD"])]
        currency: String,
    }
    typed_kafka::topic! { PAID: "paid", key: avro Account, value: Payment; }
    let mock = MockProducer::new(3);
    let paid = mock.bind(PAID).await.unwrap();
    let good = Payment { total_cents: 500, fee_cents: 10, currency: "EUR".into() };
    let bad = Payment { total_cents: -5, fee_cents: 10, currency: "eur".into() };
    let key = Account { id: "acc-1".into() };

    let refused = |r: Result<RecordMetadata, ProduceError<Account, Payment>>| match r {
        Err(ProduceError::Refused(e)) => e,
        other => panic!("refused, not {other:?}"),
    };
    let e = refused(paid.send(Record::new(bad.clone()).key(key.clone())).await);
    let SendErrorKind::RuleViolation { part, violations } = e.kind() else { panic!("{e}") };
    assert_eq!(*part, typed_kafka::RecordPart::Value);
    let broken: Vec<(String, &str)> = violations.iter().map(|v| (v.path.to_string(), v.rule)).collect();
    assert_eq!(
        broken,
        [
            ("/".into(), "total_covers_fee"),
            ("/total_cents".into(), "total_cents_min"),
            ("/currency".into(), "currency_one_of")
        ]
    );
    assert_eq!(violations[0].doc, Some("fees come out of the total"));
    assert!(!e.kind().is_retriable());
    assert!(e.to_string().contains("value breaks 3 rule(s): at /: rule `total_covers_fee` broken"), "{e}");
    assert_eq!(e.into_record().value, Some(bad.clone()), "the record comes back");

    let e = refused(paid.send(Record::new(good.clone()).key(Account { id: "nope".into() })).await);
    let SendErrorKind::RuleViolation { part, violations } = e.kind() else { panic!("{e}") };
    assert_eq!((*part, violations[0].rule), (typed_kafka::RecordPart::Key, "id_pattern"));

    let Err(e) = paid.send_and_forget(Record::new(bad.clone())).await else { panic!("refused") };
    assert!(matches!(e.kind(), SendErrorKind::RuleViolation { .. }));
    let Err(e) = paid.send_with(Record::new(bad.clone()), |_| panic!("never called")).await else { panic!("refused") };
    assert!(matches!(e.kind(), SendErrorKind::RuleViolation { .. }));
    let Err(e) = paid.enqueue(Record::new(bad)).await else { panic!("refused") };
    assert!(matches!(e.kind(), SendErrorKind::RuleViolation { .. }));

    paid.send(Record::new(good.clone()).key(key)).await.unwrap();
    let sent = mock.history::<PAID, Payment>();
    assert_eq!(sent.len(), 1, "only the record keeping every rule was sent");
    assert_eq!(sent[0].record.value, Some(good));
    assert_eq!(mock.producer().metrics().refused.rule_violation, 5);
}

/// A topic bound with a dead-letter topic tees each record refused for a rule to it, as Confluent's DLQ action
/// does: the key (an Avro key in Avro's JSON), the value in Avro's JSON, the record's headers and the `__rule.*`
/// ones. The record is still refused and handed back; other refusals and good records do not go there.
#[tokio::test]
async fn records_breaking_rules_are_teed_to_the_dead_letter_topic() {
    use typed_kafka::producer::dead_letter::{RULE_EXCEPTION, RULE_MODE, RULE_NAME, RULE_SUBJECT, RULE_TOPIC};
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    struct Account {
        #[kafka(pattern = "^acc-[0-9]+$")]
        id: String,
    }
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop")]
    struct Charge {
        #[kafka(min = 1)]
        cents: i64,
        note: Option<String>,
        tags: Vec<String>,
    }
    typed_kafka::topic! { CHARGES: "charges", key: avro Account, value: Charge; }
    typed_kafka::topic! { NOTES: "notes", key: String, value: Charge; }
    let mock = MockProducer::new(3);
    let charges = mock.topic(CHARGES).dead_letter_topic("charges-dlq").bind().await.unwrap();
    let bad = Charge { cents: 0, note: Some("é\"".into()), tags: vec!["a".into()] };
    let key = Account { id: "acc-7".into() };
    let e = charges.send(Record::new(bad.clone()).key(key.clone()).header("trace", "t-1")).await.unwrap_err();
    assert_eq!(e.into_record().unwrap().value, Some(bad.clone()), "tee, not swallow: the record comes back");

    let letters = mock.dead_letters();
    assert_eq!(letters.len(), 1);
    let l = &letters[0];
    assert_eq!(&*l.topic, "charges-dlq");
    assert_eq!(l.key.as_deref(), Some(&br#"{"id":"acc-7"}"#[..]));
    let value: serde_json::Value = serde_json::from_slice(l.value.as_deref().unwrap()).unwrap();
    assert_eq!(value, serde_json::json!({"cents": 0, "note": {"string": "é\""}, "tags": ["a"]}));
    assert_eq!(l.headers.iter().next(), Some(("trace", Some(&b"t-1"[..]))), "the record's headers first");
    assert_eq!(l.header(RULE_NAME), Some("cents_min"));
    assert_eq!(l.header(RULE_MODE), Some("WRITE"));
    assert_eq!(l.header(RULE_SUBJECT), Some("charges-value"));
    assert_eq!(l.header(RULE_TOPIC), Some("charges"));
    assert!(l.header(RULE_EXCEPTION).unwrap().contains("/cents"), "{:?}", l.header(RULE_EXCEPTION));

    // A key breaking its rule names the key subject; in every send mode the record is teed.
    let e = charges.send_and_forget(Record::new(Charge { cents: 5, ..bad.clone() }).key(Account { id: "x".into() }));
    assert!(e.await.is_err());
    assert!(charges.send_with(Record::new(bad.clone()), |_| panic!("never called")).await.is_err());
    assert!(charges.enqueue(Record::new(bad.clone())).await.is_err());
    let letters = mock.dead_letters();
    assert_eq!(letters.len(), 4);
    assert_eq!(
        (letters[1].header(RULE_NAME), letters[1].header(RULE_SUBJECT)),
        (Some("id_pattern"), Some("charges-key"))
    );
    assert_eq!(letters[2].key, None);

    // Good records and other refusals do not go there; a plain key is its topic's bytes.
    charges.send(Record::new(Charge { cents: 5, ..bad.clone() }).key(key)).await.unwrap();
    let notes = mock.topic(NOTES).dead_letter_topic("notes-dlq").bind().await.unwrap();
    notes.send(Record::new(bad.clone()).key("k-1".to_string())).await.unwrap_err();
    let letters = mock.dead_letters();
    assert_eq!(letters.len(), 5);
    assert_eq!((letters[4].key.as_deref(), &*letters[4].topic), (Some(&b"k-1"[..]), "notes-dlq"));
    let m = mock.producer().metrics();
    assert_eq!((m.dead_lettered, m.dead_letters_lost, m.refused.rule_violation), (5, 0, 5));

    // A dead letter that fails delivery is counted lost; a topic is not its own dead-letter topic.
    mock.script(MockOutcome::Fail(DeliveryErrorKind::TimedOut));
    notes.send(Record::new(bad).key("k-2".to_string())).await.unwrap_err();
    assert_eq!(mock.producer().metrics().dead_letters_lost, 1);
    let e = mock.topic(NOTES).dead_letter_topic("notes").bind().await.unwrap_err();
    assert!(e.to_string().contains("own dead-letter topic"), "{e}");
}

#[tokio::test]
async fn scripted_failures_reach_futures_callbacks_and_metrics() {
    let mock = MockProducer::new(3);
    let orders = mock.bind(ORDERS).await.unwrap();
    mock.script(MockOutcome::Fail(DeliveryErrorKind::TimedOut));
    mock.script(MockOutcome::Fail(DeliveryErrorKind::Authorization));
    let Err(ProduceError::NotDelivered(e)) = orders.send(Record::new(order("x"))).await else { panic!() };
    assert_eq!(e.kind, DeliveryErrorKind::TimedOut);
    assert!(e.is_retriable());
    let (tx, rx) = std::sync::mpsc::channel();
    orders.send_with(Record::new(order("y")), move |r| tx.send(r.map_err(|e| e.kind)).unwrap()).await.unwrap();
    assert_eq!(rx.recv().unwrap(), Err(DeliveryErrorKind::Authorization));
    orders.send(Record::new(order("z"))).await.unwrap();
    let m = mock.producer().metrics();
    assert_eq!((m.records_sent, m.records_failed, m.in_flight), (1, 2, 0));
    let sent = mock.history::<ORDERS, Order>();
    assert_eq!(sent.iter().map(|s| s.offset).collect::<Vec<_>>(), [None, None, Some(0)]);
}

fn transactional_mock() -> MockProducer {
    let config = typed_kafka::config::ProducerConfig::builder("mock:9092").set("transactional.id", "t-1").build();
    MockProducer::with_config(config.unwrap(), 3)
}

/// A transactional mock takes records only inside a transaction, in every send mode, and its history says which
/// transaction each record was in and how that ended.
#[tokio::test]
async fn transactions_are_recorded_committed_or_aborted() {
    let mock = transactional_mock();
    let orders = mock.bind(ORDERS).await.unwrap();
    let e = orders.send(Record::new(order("outside"))).await.unwrap_err();
    let ProduceError::Refused(e) = e else { panic!("refused before enqueue: {e}") };
    assert!(matches!(e.kind(), SendErrorKind::NoTransaction), "{e}");
    assert_eq!(e.into_record().value.unwrap().id, "outside", "handed back");

    let txn = mock.producer().begin().await.unwrap();
    let again = mock.producer().begin().await.unwrap_err();
    assert_eq!(again.kind(), TransactionErrorKind::State, "one transaction at a time");
    orders.send(Record::new(order("a"))).await.unwrap();
    orders.send_and_forget(Record::new(order("b"))).await.unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    orders.send_with(Record::new(order("c")), move |r| tx.send(r.is_ok()).unwrap()).await.unwrap();
    assert!(rx.recv().unwrap());
    orders.send_blocking(Record::new(order("d"))).unwrap();
    txn.commit(Duration::from_secs(5)).await.unwrap();

    let txn = mock.producer().begin().await.unwrap();
    orders.enqueue(Record::new(order("e"))).await.unwrap().await.unwrap();
    txn.abort(Duration::from_secs(5)).await.unwrap();

    let txn = mock.producer().begin().await.unwrap();
    orders.send(Record::new(order("f"))).await.unwrap();
    drop(txn);
    // The drop's abort runs on a thread of its own; the next begin waits for it.
    let txn = mock.producer().begin().await.unwrap();
    mock.fail_next_commit(TransactionErrorKind::Abortable);
    orders.send(Record::new(order("g"))).await.unwrap();
    let e = txn.commit(Duration::from_secs(5)).await.unwrap_err();
    assert!(e.is_abortable() && !e.is_retriable() && !e.is_fatal(), "{e}");
    e.into_transaction().expect("handed back to abort").abort(Duration::from_secs(5)).await.unwrap();

    use typed_kafka::mock::MockTransactionState::{Aborted, Committed};
    let states: Vec<_> = mock.transactions().iter().map(|t| (t.state, t.records)).collect();
    assert_eq!(states, [(Committed, 4), (Aborted, 1), (Aborted, 1), (Aborted, 1)]);
    let sent: Vec<_> = mock
        .history::<ORDERS, Order>()
        .iter()
        .map(|s| (s.record.value.as_ref().unwrap().id.clone(), s.transaction))
        .collect();
    let expected = [
        ("a", (0, Committed)),
        ("b", (0, Committed)),
        ("c", (0, Committed)),
        ("d", (0, Committed)),
        ("e", (1, Aborted)),
        ("f", (2, Aborted)),
        ("g", (3, Aborted)),
    ];
    assert_eq!(sent, expected.map(|(id, t)| (id.to_string(), Some(t))));
}

/// A producer without `transactional.id` has no transactions, and says so.
#[tokio::test]
async fn a_producer_that_is_not_transactional_refuses_to_begin() {
    let mock = MockProducer::new(3);
    let e = mock.producer().begin().await.unwrap_err();
    assert_eq!(e.kind(), TransactionErrorKind::State);
    assert!(e.to_string().contains("transactional.id"), "{e}");
    let orders = mock.bind(ORDERS).await.unwrap();
    assert_eq!(orders.send(Record::new(order("a"))).await.unwrap().offset, Some(0));
    assert_eq!(mock.history::<ORDERS, Order>()[0].transaction, None);
}

#[tokio::test]
async fn a_custom_partitioner_sees_typed_keys_and_values_and_an_explicit_partition_wins() {
    let mock = MockProducer::new(4);
    let payments = mock
        .topic(PAYMENTS)
        .partitioner::<Order>(|key, value, partitions| {
            assert_eq!(partitions, 4);
            let vip = key.is_some_and(|k| k.customer == "vip");
            if vip { 3 } else { value.map_or(0, |o| (o.total_cents % 3) as i32) }
        })
        .partitioner::<Refund>(|_, _, _| 2)
        .bind()
        .await
        .unwrap();
    let key = |c: &str| CustomerKey { customer: c.into() };
    let vip = payments.send(Record::new(order("a")).key(key("vip"))).await.unwrap();
    let other = payments.send(Record::new(Order { id: "b".into(), total_cents: 4 }).key(key("x"))).await.unwrap();
    let refund = payments.send(Record::new(Refund { order: "a".into() }).key(key("vip"))).await.unwrap();
    let pinned = payments.send(Record::new(order("c")).key(key("vip")).partition(0)).await.unwrap();
    assert_eq!((vip.partition, other.partition, refund.partition, pinned.partition), (3, 1, 2, 0));
    assert_ne!(vip.value_schema_id, refund.value_schema_id, "one subject per record type");
    assert_eq!(vip.key_schema_id, refund.key_schema_id);
    let Err(ProduceError::Refused(e)) = payments.send(Record::new(order("d")).partition(4)).await else { panic!() };
    assert!(matches!(e.kind(), SendErrorKind::UnknownPartition { partition: 4, partitions: Some(4) }));
    assert_eq!(mock.history::<PAYMENTS, Refund>().len(), 1);
    assert_eq!(mock.history::<PAYMENTS, Order>().len(), 3);
}

#[derive(Default)]
struct Seen(AtomicUsize, AtomicUsize);

struct Counter(Arc<Seen>);

impl Interceptor for Counter {
    fn on_send(&self, topic: &str, headers: &mut Headers) {
        assert_eq!(topic, "orders");
        self.0.0.fetch_add(1, Ordering::SeqCst);
        headers.insert("via", "interceptor");
    }
    fn on_acknowledgement(&self, _: Result<&RecordMetadata, &typed_kafka::producer::DeliveryError>) {
        self.0.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn interceptors_run_on_the_mock_too() {
    let seen = Arc::new(Seen::default());
    let mock = MockProducer::with_interceptors(1, vec![Arc::new(Counter(seen.clone()))]);
    let orders = mock.bind(ORDERS).await.unwrap();
    orders.send(Record::new(order("a"))).await.unwrap();
    assert_eq!((seen.0.load(Ordering::SeqCst), seen.1.load(Ordering::SeqCst)), (1, 1));
    let sent = mock.history::<ORDERS, Order>();
    assert_eq!(sent[0].record.headers.get("via"), Some(Some(&b"interceptor"[..])));
}

#[test]
fn the_blocking_send_works_without_any_runtime() {
    let mock = MockProducer::new(1);
    let orders = mock.topic(ORDERS).bind_blocking().unwrap();
    let meta = orders.send_blocking(Record::new(order("a"))).unwrap();
    assert_eq!(meta.offset, Some(0));
}
