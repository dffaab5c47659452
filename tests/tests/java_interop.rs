//! Interop with Apache Avro for Java (1.12, from Maven Central): Java parses the derived schema (validating its
//! defaults), computes the same Rabin fingerprint and canonical form, decodes our bytes, and re-encodes them to the
//! very same bytes.

use std::collections::BTreeMap;

use typed_kafka::KafkaRecord;

/// A shipping address.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "interop.java")]
struct Address {
    street: String,
    /// ISO 3166 code.
    #[kafka(default = "DE")]
    country: String,
}

#[derive(KafkaRecord, Debug, Clone, Copy, PartialEq)]
#[kafka(namespace = "interop.java")]
enum Channel {
    Web,
    Store,
    #[kafka(default)]
    Unknown,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "interop.java")]
enum Payment {
    Card { last4: String, expiry_month: u8 },
    Voucher(String),
    Invoice,
}

/// An order with every shape the derive maps.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "interop.java", rename_all = "camelCase", aliases = ["interop.java.LegacyOrder"])]
struct JavaOrder {
    order_id: uuid::Uuid,
    customer_id: i64,
    channel: Channel,
    payment: Payment,
    placed_at: chrono::DateTime<chrono::Utc>,
    #[kafka(decimal(precision = 12, scale = 2))]
    total: rust_decimal::Decimal,
    ship_to: Address,
    bill_to: Option<Address>,
    previous: Vec<Address>,
    #[kafka(default_json = "{}")]
    tags: BTreeMap<String, i32>,
    #[kafka(bytes)]
    signature: Vec<u8>,
    checksum: [u8; 4],
    weight: f32,
    ratio: f64,
    gift: bool,
    #[kafka(default = 0)]
    priority: i32,
    note: Option<String>,
}

fn sample() -> JavaOrder {
    let home = Address { street: "Hauptstraße 1".into(), country: "DE".into() };
    JavaOrder {
        order_id: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        customer_id: -42,
        channel: Channel::Store,
        payment: Payment::Card { last4: "4242".into(), expiry_month: 12 },
        placed_at: chrono::DateTime::from_timestamp_millis(1_795_300_000_123).unwrap_or_default(),
        total: rust_decimal::Decimal::new(-1_234_599, 2),
        ship_to: home.clone(),
        bill_to: Some(home.clone()),
        previous: vec![home, Address { street: "Rue 2".into(), country: "FR".into() }],
        tags: [("loyalty".to_string(), 3)].into(),
        signature: vec![0, 255, 7],
        checksum: *b"\x01\x02\x03\x04",
        weight: 1.25,
        ratio: -0.5,
        gift: true,
        priority: 2,
        note: None,
    }
}

#[test]
fn java_reads_our_schema_and_bytes_and_writes_the_same_bytes() {
    let info = JavaOrder::schema().unwrap();
    let mut bytes = Vec::new();
    sample().encode_body(&mut bytes).unwrap();

    let dir = std::env::temp_dir().join(format!("typed-kafka-java-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (schema_file, data_file) = (dir.join("order.avsc"), dir.join("order.bin"));
    std::fs::write(&schema_file, info.json()).unwrap();
    std::fs::write(&data_file, &bytes).unwrap();

    let out = typed_kafka_tests::run_java_interop("AvroInterop", &[schema_file.as_os_str(), data_file.as_os_str()])
        .unwrap_or_else(|e| panic!("the Java interop program failed: {e}"));
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= in the Java output:\n{out}"))
            .to_string()
    };

    assert_eq!(field("canonical"), info.canonical_form(), "parsing canonical form");
    assert_eq!(u64::from_str_radix(&field("fingerprint"), 16).unwrap(), info.fingerprint(), "Rabin fingerprint");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(field("reencoded"), hex, "Java re-encodes our datum to our bytes");
    let value = field("value");
    assert!(value.contains("\"customerId\": -42") && value.contains("\"last4\": \"4242\""), "{value}");
    let _ = std::fs::remove_dir_all(&dir);
}
