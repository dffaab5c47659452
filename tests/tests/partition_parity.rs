//! Java-compatible partitioning: for over a thousand keys (empty, ASCII, non-ASCII, random bytes, Avro-framed as
//! the registry serializer writes them), the partition equals what the Java client's own `Utils.murmur2` and
//! default partitioner give, computed by running Java.

#![allow(clippy::unwrap_used)]

use typed_kafka::partition::{java_partition, murmur2};
use typed_kafka::{KafkaRecord, SchemaId};

/// An Avro record key.
#[derive(KafkaRecord, Clone)]
#[kafka(namespace = "it.partition")]
struct CustomerKey {
    tenant: String,
    id: i64,
}

fn keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = vec![Vec::new(), b"a".to_vec(), b"kafka".to_vec(), b"giberish123456789".to_vec()];
    keys.extend((0..300).map(|i| format!("customer-{i}").into_bytes()));
    keys.extend(
        ["grüße", "日本語のキー", "emoji 🦀🦀", "ñandú", "Ωμέγα", "\u{0}\u{1}"].iter().map(|s| s.as_bytes().to_vec()),
    );
    // Deterministic pseudo-random bytes of every length from 0 to 64, several each.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in 0..=64 {
        for _ in 0..6 {
            keys.push(
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect(),
            );
        }
    }
    // Avro keys framed as the registry serializer writes them: 0x00, the schema ID, the body.
    for i in 0..300i64 {
        let mut framed = Vec::new();
        typed_kafka::avro::wire::write_header(&mut framed, SchemaId(42 + (i % 3) as u32));
        CustomerKey { tenant: format!("t{}", i % 7), id: i * 7919 }.encode_body(&mut framed).unwrap();
        keys.push(framed);
    }
    keys
}

#[test]
fn partitions_equal_the_java_clients_for_every_key() {
    let keys = keys();
    assert!(keys.len() >= 1000, "{} keys", keys.len());
    let dir = std::env::temp_dir().join(typed_kafka_tests::unique("it-murmur2"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.txt");
    let hex: Vec<String> = keys.iter().map(|k| k.iter().map(|b| format!("{b:02x}")).collect()).collect();
    std::fs::write(&file, hex.join("\n") + "\n").unwrap();
    for partitions in [1u32, 3, 6, 7, 100] {
        let out = typed_kafka_tests::run_java_interop("Murmur2", &[file.as_os_str(), partitions.to_string().as_ref()])
            .unwrap();
        let java: Vec<(i32, u32)> = out
            .lines()
            .map(|l| {
                let (h, p) = l.split_once(' ').unwrap();
                (h.parse().unwrap(), p.parse().unwrap())
            })
            .collect();
        assert_eq!(java.len(), keys.len());
        for (key, (hash, partition)) in keys.iter().zip(&java) {
            assert_eq!(murmur2(key), *hash, "murmur2 of {key:02x?}");
            assert_eq!(java_partition(key, partitions), *partition, "partition of {key:02x?} among {partitions}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Keys in Kafka's standard serializers' formats are byte for byte what the Java serializers write (and so hash to
/// the same partitions).
#[test]
fn plain_keys_are_written_like_the_java_serializers() {
    use typed_kafka::key::PlainKey;

    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |line: String, key: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        key(&mut out);
        cases.push((line, out));
    };
    for s in ["", "order-1", "grüße", "日本語", "🦀", "a\u{0}b"] {
        add(format!("string {}", hex(s.as_bytes())), &|o| s.write_key(o));
        add(format!("bytes {}", hex(s.as_bytes())), &|o| s.as_bytes().write_key(o));
    }
    for v in [0i16, 1, -1, i16::MIN, i16::MAX, 12345] {
        add(format!("short {v}"), &|o| v.write_key(o));
    }
    for v in [0i32, 1, -1, i32::MIN, i32::MAX, 123_456_789] {
        add(format!("int {v}"), &|o| v.write_key(o));
    }
    for v in [0i64, 1, -1, i64::MIN, i64::MAX, 9_007_199_254_740_993] {
        add(format!("long {v}"), &|o| v.write_key(o));
    }
    for v in [0.0f32, -0.0, 1.5, f32::MIN_POSITIVE, f32::INFINITY, f32::NAN] {
        add(format!("float {:08x}", v.to_bits()), &|o| v.write_key(o));
    }
    for v in [0.0f64, -2.25, f64::MAX, f64::NEG_INFINITY, f64::EPSILON] {
        add(format!("double {:016x}", v.to_bits()), &|o| v.write_key(o));
    }
    for u in ["00000000-0000-0000-0000-000000000000", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"] {
        let id = uuid::Uuid::parse_str(u).unwrap();
        add(format!("uuid {u}"), &|o| id.write_key(o));
    }
    let dir = std::env::temp_dir().join(typed_kafka_tests::unique("it-plain-keys"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cases.txt");
    std::fs::write(&file, cases.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let out = typed_kafka_tests::run_java_interop("StandardSerializers", &[file.as_os_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let java: Vec<&str> = out.lines().collect();
    assert_eq!(java.len(), cases.len());
    for ((line, ours), theirs) in cases.iter().zip(java) {
        assert_eq!(hex(ours), theirs, "{line}");
    }
}

/// A value for the co-partitioning test.
#[derive(KafkaRecord)]
#[kafka(namespace = "it.partition")]
struct Probe {
    from: String,
}

typed_kafka::topic! { RAW_KEYED: "it-copartition", key: Vec<u8>, value: Probe; }
typed_kafka::topic! { AVRO_KEYED: "it-copartition", key: avro CustomerKey, value: Probe; }

/// On the real broker: a Java `KafkaProducer` and our `TypedProducer` send the same keys to one six-partition
/// topic, and every key lands on the same partition from both, the one `java_partition` gives. The keys are raw
/// bytes (`ByteArraySerializer`) and Avro records framed with the registry's schema ID, which Java sends as the
/// bytes its `KafkaAvroSerializer` would write.
#[tokio::test]
async fn java_and_the_typed_producer_put_each_key_on_the_same_partition() {
    use typed_kafka::config::ProducerConfig;
    use typed_kafka::{Producer, Record, SchemaRegistryClient};

    let endpoints = typed_kafka_tests::stack();
    let topic = typed_kafka_tests::unique("it-copartition");
    typed_kafka_tests::create_topic(&endpoints.bootstrap_servers, &topic, 6, 1).await;
    let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).build().unwrap();
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.as_str()]).build().unwrap();
    let producer = Producer::builder(config).registry(registry).build().unwrap();

    let mut keys: Vec<Vec<u8>> = keys().into_iter().step_by(5).collect();
    keys.push(Vec::new()); // an empty key is hashed, not treated as missing
    let raw = producer.topic(RAW_KEYED).name(&topic).bind().await.unwrap();
    let mut ours = Vec::new();
    for key in &keys {
        let meta = raw.send(Record::new(Probe { from: "rust".into() }).key(key.clone())).await.unwrap();
        ours.push(meta.partition);
    }
    let avro = producer.topic(AVRO_KEYED).name(&topic).bind().await.unwrap();
    for i in 0..200i64 {
        let key = CustomerKey { tenant: format!("t{}", i % 7), id: i * 7919 };
        let meta = avro.send(Record::new(Probe { from: "rust".into() }).key(key.clone())).await.unwrap();
        let mut framed = Vec::new();
        typed_kafka::avro::wire::write_header(&mut framed, meta.key_schema_id.unwrap());
        key.encode_body(&mut framed).unwrap();
        assert_eq!(avro.partition_for(&key).unwrap(), meta.partition);
        keys.push(framed);
        ours.push(meta.partition);
    }

    let dir = std::env::temp_dir().join(typed_kafka_tests::unique("it-copartition-keys"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.txt");
    let hex: Vec<String> = keys.iter().map(|k| k.iter().map(|b| format!("{b:02x}")).collect()).collect();
    std::fs::write(&file, hex.join("\n") + "\n").unwrap();
    let bootstrap = std::ffi::OsString::from(&endpoints.bootstrap_servers);
    let topic_arg = std::ffi::OsString::from(&topic);
    let out = typed_kafka_tests::run_java_interop("JavaProduce", &[&bootstrap, &topic_arg, file.as_os_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let java: Vec<i32> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(java.len(), keys.len());
    let mut used = std::collections::HashSet::new();
    for ((key, ours), theirs) in keys.iter().zip(&ours).zip(&java) {
        assert_eq!(ours, theirs, "key {key:02x?}");
        assert_eq!(*ours as u32, java_partition(key, 6), "key {key:02x?}");
        used.insert(*ours);
    }
    assert_eq!(used.len(), 6, "the keys spread over every partition");
    assert!(keys.len() >= 400, "{} keys", keys.len());
}
