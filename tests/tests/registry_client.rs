//! The registry client against the real registry of the local stack: every API call, the error-code mapping,
//! subject strategies, schema modes, references, the wire format, single flight and failover.
//!
//! The registry is Apicurio's Confluent-compatible API. Where it differs from Confluent's documented behaviour,
//! the test says so and accepts both.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::sync::Arc;
use std::time::Duration;

use typed_kafka::registry::client::{CompatibilityLevel, Normalization, UnregisteredSchema, Version};
use typed_kafka::{
    AvroDeserializer, AvroSerializer, DeserializeError, FramingError, KafkaRecord, RecordPart, RegistryError, SchemaId,
    SchemaMode, SchemaRegistryClient, SerializeError, SerializerConfig, SubjectNameStrategy,
};
use typed_kafka_tests::{stack, unique};

fn client() -> SchemaRegistryClient {
    typed_kafka_tests::registry_client()
}

fn avro(fields: &str) -> UnregisteredSchema {
    UnregisteredSchema::avro(format!(
        r#"{{"type":"record","name":"Thing","namespace":"it.registry","fields":[{{"name":"id","type":"long"}}{fields}]}}"#
    ))
}

/// An address.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "it.shop")]
struct Address {
    street: String,
    city: String,
}

/// A customer.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "it.shop")]
struct Customer {
    id: i64,
    name: String,
    home: Address,
    counter: u64,
}

fn customer() -> Customer {
    Customer { id: 7, name: "Ada".into(), home: Address { street: "Main 1".into(), city: "Berlin".into() }, counter: 3 }
}

#[tokio::test]
async fn registers_looks_up_and_fetches_schemas() {
    let c = client();
    let subject = unique("it-api-value");
    let schema = avro("");
    let id = c.register(&subject, &schema, Normalization::Normalized).await.unwrap();
    assert_eq!(
        c.register(&subject, &schema, Normalization::AsGiven).await.unwrap(),
        id,
        "registering again returns the same ID"
    );

    let found = c.lookup(&subject, &schema, Normalization::AsGiven).await.unwrap();
    assert_eq!((found.id, found.version, found.subject.as_str()), (id, 1, subject.as_str()));

    let by_id = c.schema_by_id(id).await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&by_id.schema).unwrap();
    assert_eq!(parsed["name"], "Thing");
    let in_subject = c.schema_by_id_in_subject(id, &subject).await.unwrap();
    assert_eq!(in_subject.schema, by_id.schema);

    let v1 = c.version(&subject, Version::Number(1)).await.unwrap();
    let latest = c.version(&subject, Version::Latest).await.unwrap();
    assert_eq!(v1, latest);
    assert_eq!(c.latest_version_cached(&subject).await.unwrap().id, id);

    assert!(c.subjects().await.unwrap().contains(&subject));
    assert_eq!(c.versions(&subject).await.unwrap(), vec![1]);
}

#[tokio::test]
async fn compatibility_levels_can_be_read_set_and_tested() {
    let c = client();
    // The stack sets BACKWARD globally; setting it again keeps the other tests' expectations.
    c.set_global_compatibility(CompatibilityLevel::Backward).await.unwrap();
    assert_eq!(c.global_compatibility().await.unwrap(), CompatibilityLevel::Backward);

    let subject = unique("it-compat-value");
    c.register(&subject, &avro(""), Normalization::AsGiven).await.unwrap();
    // Confluent answers 40408 without a subject-level config (the client returns None); Apicurio 3.0.9 answers
    // 200 with NONE instead.
    let unset = |l: Option<CompatibilityLevel>| matches!(l, None | Some(CompatibilityLevel::None));
    assert!(unset(c.subject_compatibility(&subject).await.unwrap()), "no subject-level config yet");
    // What applies, though, is the global level (which is why a checker must ask for the effective one).
    assert_eq!(c.effective_compatibility(&subject).await.unwrap(), CompatibilityLevel::Backward);
    c.set_subject_compatibility(&subject, CompatibilityLevel::Full).await.unwrap();
    assert_eq!(c.subject_compatibility(&subject).await.unwrap(), Some(CompatibilityLevel::Full));
    assert_eq!(c.effective_compatibility(&subject).await.unwrap(), CompatibilityLevel::Full);

    let with_default = avro(r#",{"name":"note","type":"string","default":""}"#);
    let without_default = avro(r#",{"name":"note","type":"string"}"#);
    let ok = c.test_compatibility(&subject, Version::Latest, &with_default).await.unwrap();
    assert!(ok.is_compatible, "{:?}", ok.messages);
    let bad = c.test_compatibility(&subject, Version::Number(1), &without_default).await.unwrap();
    assert!(!bad.is_compatible);
    let bad_all = c.test_compatibility_all(&subject, &without_default).await.unwrap();
    assert!(!bad_all.is_compatible);

    c.delete_subject_compatibility(&subject).await.unwrap();
    assert!(unset(c.subject_compatibility(&subject).await.unwrap()));
}

#[tokio::test]
async fn registry_error_codes_become_typed_errors() {
    let c = client();
    let missing = unique("it-missing-value");
    assert!(matches!(c.version(&missing, Version::Latest).await, Err(RegistryError::SubjectNotFound { .. })), "40401");

    let subject = unique("it-errors-value");
    c.register(&subject, &avro(""), Normalization::AsGiven).await.unwrap();
    assert!(
        matches!(c.version(&subject, Version::Number(99)).await, Err(RegistryError::VersionNotFound { .. })),
        "40402"
    );
    assert!(matches!(c.schema_by_id(SchemaId(987_654_321)).await, Err(RegistryError::SchemaNotFound { .. })), "40403");

    match c.register(&subject, &avro(r#",{"name":"required","type":"string"}"#), Normalization::AsGiven).await {
        Err(RegistryError::Incompatible { subject: s, reasons }) => {
            assert_eq!(s, subject);
            assert!(!reasons.is_empty() && !reasons[0].is_empty());
        }
        other => panic!("expected 409 Incompatible, got {other:?}"),
    }
    match c
        .register(&subject, &UnregisteredSchema::avro("{\"type\": \"record\", \"name\""), Normalization::AsGiven)
        .await
    {
        // Confluent: 42201. Apicurio 3.0.9 answers 42201 too for unparsable Avro.
        Err(RegistryError::InvalidSchema { .. }) => {}
        other => panic!("expected 42201 InvalidSchema, got {other:?}"),
    }
    match c.version(&subject, Version::Number(-7)).await {
        // Confluent: 42202 for a version that is not a positive integer or -1.
        Err(RegistryError::InvalidVersion { .. }) => {}
        // Apicurio 3.0.9 answers 40401 with "Illegal version format".
        Err(RegistryError::SubjectNotFound { message }) if message.contains("Illegal version") => {}
        other => panic!("expected 42202 (or Apicurio's 40401 'Illegal version'), got {other:?}"),
    }
    // Not retriable: a 4xx is answered once.
    let before = c.stats().http_requests;
    let _ = c.version(&missing, Version::Latest).await;
    assert_eq!(c.stats().http_requests - before, 1);
}

#[tokio::test]
async fn schema_references_resolve_to_the_same_schema_as_the_derived_type() {
    let c = client();
    let address_subject = unique("it-ref-address");
    c.register(&address_subject, &UnregisteredSchema::avro(Address::schema().unwrap().json()), Normalization::AsGiven)
        .await
        .unwrap();

    let customer_subject = unique("it-ref-customer-value");
    let referring = UnregisteredSchema::avro(
        r#"{"type":"record","name":"Customer","namespace":"it.shop","fields":[
            {"name":"id","type":"long"},{"name":"name","type":"string"},
            {"name":"home","type":"it.shop.Address"},{"name":"counter","type":"long"}]}"#,
    )
    .with_reference("it.shop.Address", &address_subject, 1);
    let id = c.register(&customer_subject, &referring, Normalization::AsGiven).await.unwrap();

    let fetched = c.schema_by_id(id).await.unwrap();
    assert_eq!(fetched.references.len(), 1);
    assert_eq!(fetched.references[0].subject, address_subject);
    let resolved = c.parse_schema(&fetched, "the referring schema").await.unwrap();
    assert_eq!(resolved.canonical_form(), Customer::schema().unwrap().canonical_form());

    // So a serializer pinned to that ID accepts the derived type and writes that ID.
    let ser = AvroSerializer::<Customer>::new(
        c.clone(),
        SerializerConfig { mode: SchemaMode::PinnedId(id), ..Default::default() },
    )
    .unwrap();
    let mut buf = Vec::new();
    assert_eq!(ser.serialize("it-ref-topic", &customer(), &mut buf).await.unwrap(), id);
    let de = AvroDeserializer::<Customer>::new(c.clone()).unwrap();
    assert_eq!(de.deserialize("it-ref-topic", &buf).await.unwrap(), customer());
}

#[tokio::test]
async fn subject_name_strategies_pick_the_documented_subjects() {
    let c = client();
    let topic = unique("it-strategy");
    let cases: Vec<(SubjectNameStrategy, RecordPart, String)> = vec![
        (SubjectNameStrategy::TopicName, RecordPart::Value, format!("{topic}-value")),
        (SubjectNameStrategy::TopicName, RecordPart::Key, format!("{topic}-key")),
        (SubjectNameStrategy::TopicRecordName, RecordPart::Value, format!("{topic}-it.shop.Address")),
        (SubjectNameStrategy::RecordName, RecordPart::Value, "it.shop.Address".to_string()),
        (
            SubjectNameStrategy::Custom(Arc::new(|t: &str, part: RecordPart, name: Option<&str>| {
                Ok(format!("custom.{t}.{}.{}", if part == RecordPart::Key { "k" } else { "v" }, name.unwrap_or("-")))
            })),
            RecordPart::Value,
            format!("custom.{topic}.v.it.shop.Address"),
        ),
    ];
    for (strategy, part, expected) in cases {
        let ser = AvroSerializer::<Address>::new(c.clone(), SerializerConfig { strategy, part, ..Default::default() })
            .unwrap();
        assert_eq!(ser.subject(&topic).unwrap(), expected);
        let id =
            ser.serialize(&topic, &Address { street: "s".into(), city: "c".into() }, &mut Vec::new()).await.unwrap();
        let latest = c.version(&expected, Version::Latest).await.unwrap();
        assert_eq!(latest.id, id, "registered under {expected}");
    }
}

#[tokio::test]
async fn schema_modes_resolve_ids_and_refuse_foreign_schemas() {
    let c = client();
    let topic = unique("it-modes");
    let subject = format!("{topic}-value");
    let cfg = |mode| SerializerConfig { mode, ..Default::default() };

    // Lookup before anything is registered: an error, and nothing gets registered.
    let lookup = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::Lookup)).unwrap();
    let err = lookup.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap_err();
    assert!(
        matches!(
            &err,
            SerializeError::Registry {
                source: RegistryError::SubjectNotFound { .. } | RegistryError::SchemaNotFound { .. },
                subject: s,
                ..
            } if *s == subject
        ),
        "{err}"
    );
    assert!(!err.is_retriable());

    // Auto-register creates version 1; lookup then finds the same ID.
    let auto = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::AutoRegister)).unwrap();
    let id = auto.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap();
    assert_eq!(lookup.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap(), id);

    // Use-latest accepts the latest version while it is the type's own schema...
    let latest = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::UseLatest)).unwrap();
    assert_eq!(latest.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap(), id);
    // ...and once the subject has moved on to another schema, writes the value in that schema (its ID, its
    // defaults), as Confluent's serializers do with use.latest.version.
    let mut evolved: serde_json::Value = serde_json::from_str(Customer::schema().unwrap().json()).unwrap();
    evolved["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "vip", "type": "boolean", "default": true}));
    let evolved_id =
        c.register(&subject, &UnregisteredSchema::avro(evolved.to_string()), Normalization::AsGiven).await.unwrap();
    let fresh = SchemaRegistryClient::builder([stack().registry_url.clone()]).build().unwrap();
    let latest = AvroSerializer::<Customer>::new(fresh, cfg(SchemaMode::UseLatest)).unwrap();
    let mut projected = Vec::new();
    assert_eq!(latest.serialize(&topic, &customer(), &mut projected).await.unwrap(), evolved_id);
    let mut own = Vec::new();
    customer().encode_body(&mut own).unwrap();
    assert_eq!(projected[5..], [own.as_slice(), &[1]].concat(), "the type's body, then vip's default (true)");

    // A pinned ID works for the type's own schema, projects into a compatible other one...
    let pinned = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::PinnedId(id))).unwrap();
    assert_eq!(pinned.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap(), id);
    let other = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::PinnedId(evolved_id))).unwrap();
    assert_eq!(other.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap(), evolved_id);
    // ...and is refused, with every break, for a schema no value of the type fits.
    let unrelated = UnregisteredSchema::avro(
        r#"{"type":"record","name":"Customer","namespace":"it.shop","fields":[{"name":"id","type":"long"},{"name":"rank","type":"int"}]}"#,
    );
    let unrelated_id = c.register(&unique("it-modes-other"), &unrelated, Normalization::AsGiven).await.unwrap();
    let wrong = AvroSerializer::<Customer>::new(c.clone(), cfg(SchemaMode::PinnedId(unrelated_id))).unwrap();
    match wrong.serialize(&topic, &customer(), &mut Vec::new()).await.unwrap_err() {
        SerializeError::NotProjectable { id: i, source, .. } => {
            assert_eq!(i, unrelated_id);
            assert!(source.breaks.iter().any(|b| b.path == "/fields/rank"), "{source}");
        }
        other => panic!("expected NotProjectable, got {other}"),
    }
}

#[tokio::test]
async fn framed_bytes_round_trip_and_the_magic_byte_and_id_are_checked() {
    let c = client();
    let topic = unique("it-wire");
    let ser = AvroSerializer::<Customer>::new(c.clone(), SerializerConfig::default()).unwrap();
    let de = AvroDeserializer::<Customer>::new(c.clone()).unwrap();
    let mut buf = vec![0xAA]; // bytes already in the buffer stay
    let id = ser.serialize(&topic, &customer(), &mut buf).await.unwrap();
    assert_eq!(buf[0], 0xAA);
    assert_eq!(buf[1], 0, "magic byte");
    assert_eq!(SchemaId(u32::from_be_bytes(buf[2..6].try_into().unwrap())), id);
    let framed = &buf[1..];
    assert_eq!(de.deserialize(&topic, framed).await.unwrap(), customer());

    let mut bad_magic = framed.to_vec();
    bad_magic[0] = 1;
    assert!(matches!(
        de.deserialize(&topic, &bad_magic).await,
        Err(DeserializeError::Framing { source: FramingError::MagicByte { found: 1 }, .. })
    ));
    assert!(matches!(
        de.deserialize(&topic, &framed[..3]).await,
        Err(DeserializeError::Framing { source: FramingError::TooShort { len: 3 }, .. })
    ));
    let mut truncated = framed.to_vec();
    truncated.truncate(framed.len() - 1);
    match de.deserialize(&topic, &truncated).await {
        Err(DeserializeError::Decode { schema, source, .. }) => {
            assert_eq!(schema, typed_kafka::avro::SchemaRef::Id(id));
            assert!(matches!(source.root_cause(), typed_kafka::DecodeError::UnexpectedEof { .. }), "{source}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }

    // An ID whose schema is another type's is refused before decoding.
    let other = AvroSerializer::<Address>::new(c.clone(), SerializerConfig::default()).unwrap();
    let mut address = Vec::new();
    other
        .serialize(&unique("it-wire-other"), &Address { street: "a".into(), city: "b".into() }, &mut address)
        .await
        .unwrap();
    match de.deserialize(&topic, &address).await {
        Err(DeserializeError::Incompatible { type_name, source, .. }) => {
            assert_eq!(type_name, "it.shop.Customer");
            assert!(source.breaks.iter().any(|b| b.path == "/name"), "{source}");
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
    // The verdict on that foreign ID is remembered: refusing it again asks the registry nothing and parses nothing.
    let requests = c.stats().http_requests;
    for _ in 0..100 {
        assert!(matches!(de.deserialize(&topic, &address).await, Err(DeserializeError::Incompatible { .. })));
    }
    assert_eq!(c.stats().http_requests, requests);
}

#[tokio::test]
async fn a_value_violating_its_schema_is_refused_with_its_path_and_nothing_written() {
    let ser = AvroSerializer::<Customer>::new(client(), SerializerConfig::default()).unwrap();
    let topic = unique("it-violation");
    let mut buf = b"kept".to_vec();
    let bad = Customer { counter: u64::MAX, ..customer() };
    match ser.serialize(&topic, &bad, &mut buf).await {
        Err(SerializeError::Invalid { topic: t, violations, .. }) => {
            assert_eq!(t, topic);
            let paths: Vec<String> = violations.iter().map(|v| v.path.to_string()).collect();
            assert_eq!(paths, ["/counter"]);
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    assert_eq!(buf, b"kept", "nothing of the refused record is left in the buffer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_lookups_of_one_uncached_id_make_one_request() {
    let id = client().register(&unique("it-flight-value"), &avro(""), Normalization::AsGiven).await.unwrap();
    let c = client();
    assert_eq!(c.stats().http_requests, 0);
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.schema_by_id_cached(id).await }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap().schema.contains("Thing"));
    }
    // One load for 1,000 lookups: one HTTP request, or up to `max_retries` (2) more if the registry answered a
    // transient failure first (seen on a loaded CI machine); without the single flight it would be ~1,000.
    let requests = c.stats().http_requests;
    assert!((1..=3).contains(&requests), "one load for 1,000 concurrent lookups, made {requests} HTTP requests");
    // And from now on, lookups are answered from memory.
    c.schema_by_id_cached(id).await.unwrap();
    assert_eq!(c.stats().http_requests, requests);
}

#[tokio::test]
async fn a_missing_id_is_remembered_briefly() {
    let c = SchemaRegistryClient::builder([stack().registry_url.clone()])
        .missing_id_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    assert!(c.schema_by_id_cached(SchemaId(987_654_000)).await.is_err());
    assert!(c.schema_by_id_cached(SchemaId(987_654_000)).await.is_err());
    assert_eq!(c.stats().http_requests, 1);
}

#[tokio::test]
async fn an_unreachable_first_url_fails_over_to_the_next() {
    // Port 9 (discard) on loopback has no listener here: connection refused.
    let c = SchemaRegistryClient::builder(["http://127.0.0.1:9", stack().registry_url.as_str()])
        .max_retries(2)
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .build()
        .unwrap();
    let subject = unique("it-failover-value");
    c.register(&subject, &avro(""), Normalization::AsGiven).await.unwrap();
    assert_eq!(c.stats().http_requests, 2, "one refused, one answered");
    // The working URL is preferred from now on.
    c.versions(&subject).await.unwrap();
    assert_eq!(c.stats().http_requests, 3);
}

#[tokio::test]
async fn a_bound_serializer_writes_the_same_bytes_without_a_lookup() {
    let ser = AvroSerializer::<Customer>::new(client(), SerializerConfig::default()).unwrap();
    let topic = unique("it-bound");
    let bound = ser.bind(&topic).await.unwrap();
    assert_eq!(bound.topic(), topic);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let id = bound.serialize(&customer(), &mut a).unwrap();
    assert_eq!(ser.serialize(&topic, &customer(), &mut b).await.unwrap(), id);
    assert_eq!(a, b);
    assert_eq!(ser.serialize_cached(&topic, &customer(), &mut Vec::new()).unwrap().unwrap(), id);
    let mut kept = b"x".to_vec();
    assert!(matches!(
        bound.serialize(&Customer { counter: u64::MAX, ..customer() }, &mut kept),
        Err(SerializeError::Invalid { .. })
    ));
    assert_eq!(kept, b"x");
}

/// A service that binds at start-up in use-latest mode keeps working long after the latest version's TTL: the
/// latest version is re-read in the background, and a record never fails because a TTL passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_use_latest_binding_outlives_the_latest_ttl() {
    let c = SchemaRegistryClient::builder([stack().registry_url.clone()])
        .latest_ttl(Duration::from_millis(100))
        .build()
        .unwrap();
    let topic = unique("it-latest-ttl");
    AvroSerializer::<Customer>::new(c.clone(), SerializerConfig::default()).unwrap().bind(&topic).await.unwrap();
    let latest = AvroSerializer::<Customer>::new(
        c.clone(),
        SerializerConfig { mode: SchemaMode::UseLatest, ..Default::default() },
    )
    .unwrap();
    let bound = latest.bind(&topic).await.unwrap();
    let id = bound.schema_id();
    let requests = c.stats().http_requests;
    let mut buf = Vec::new();
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        buf.clear();
        assert_eq!(bound.serialize(&customer(), &mut buf).unwrap(), id);
        assert_eq!(latest.serialize(&topic, &customer(), &mut buf).await.unwrap(), id);
    }
    assert!(c.stats().http_requests > requests, "the latest version was re-read in the background");
}

/// Many serialize futures for one cold topic, polled concurrently from several threads: every one resolves the
/// same ID through one registration, and each writes exactly its own framed record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_serializes_of_a_cold_topic_share_one_registration() {
    let c = client();
    let ser = AvroSerializer::<Customer>::new(c.clone(), SerializerConfig::default()).unwrap();
    let topic = Arc::new(unique("it-cold-topic"));
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let (ser, topic) = (ser.clone(), topic.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::new();
            let id = ser.serialize(&topic, &Customer { id: i, ..customer() }, &mut buf).await.unwrap();
            (id, i, buf)
        }));
    }
    let de = AvroDeserializer::<Customer>::new(c.clone()).unwrap();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (id, i, buf) = t.await.unwrap();
        ids.insert(id);
        assert_eq!(de.deserialize(&topic, &buf).await.unwrap().id, i);
    }
    assert_eq!(ids.len(), 1);
    // One registration, then one schema fetch and nothing else for the deserializer's check.
    assert_eq!(c.stats().http_requests, 2);

    // A future dropped before it is polled writes nothing.
    let mut untouched = b"x".to_vec();
    drop(ser.serialize(&topic, &customer(), &mut untouched));
    assert_eq!(untouched, b"x");
}

/// A reading with data-contract rules.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "it.registry")]
#[kafka(rule(name = "in_range", expr = "this.low <= this.high"))]
struct Range {
    #[kafka(min = 0)]
    low: i64,
    high: i64,
}

/// `AvroSerializer` runs a value's rules after its schema, in every method, and leaves the buffer as it was when
/// one breaks; the registered schema carries the rules.
#[tokio::test]
async fn the_serializer_refuses_values_breaking_rules() {
    let c = client();
    let ser = AvroSerializer::<Range>::new(c.clone(), SerializerConfig::default()).unwrap();
    let topic = unique("it-rules-ser");
    let mut buf = b"kept".to_vec();
    let id = ser.serialize(&topic, &Range { low: 1, high: 2 }, &mut buf).await.unwrap();
    assert_eq!(buf.len(), 4 + 5 + 2);
    let bad = Range { low: -1, high: -2 };
    let e = ser.serialize(&topic, &bad, &mut buf).await.unwrap_err();
    let SerializeError::RuleViolation { violations, .. } = &e else { panic!("{e}") };
    let broken: Vec<(String, &str)> = violations.iter().map(|v| (v.path.to_string(), v.rule)).collect();
    assert_eq!(broken, [("/".into(), "in_range"), ("/low".into(), "low_min")]);
    assert!(!e.is_retriable() && e.to_string().contains("breaks 2 rule(s)"), "{e}");
    assert_eq!(buf.len(), 11, "nothing written");
    assert!(matches!(ser.serialize_cached(&topic, &bad, &mut buf), Some(Err(SerializeError::RuleViolation { .. }))));
    assert!(matches!(ser.encode_framed(&topic, id, &bad, &mut buf), Err(SerializeError::RuleViolation { .. })));
    let bound = ser.bind(&topic).await.unwrap();
    assert!(matches!(bound.serialize(&bad, &mut buf), Err(SerializeError::RuleViolation { .. })));
    assert_eq!(buf.len(), 11);
    let registered: serde_json::Value = serde_json::from_str(&c.schema_by_id(id).await.unwrap().schema).unwrap();
    assert_eq!(registered["confluent:rules"][0]["name"], "in_range");
}

/// A registered schema used with `UseLatest` or `PinnedId` may carry rules no attribute wrote (another team's, on
/// the same record): they are checked once when the ID is first used and run after the type's own; one that
/// cannot be evaluated refuses the ID, unless the serializer leaves them to other clients.
#[tokio::test]
async fn rules_of_the_registered_schema_run_after_the_types_own() {
    use typed_kafka::RegisteredRulesPolicy;
    let c = client();
    let topic = unique("it-rules-registered");
    let subject = format!("{topic}-value");
    let mut schema: serde_json::Value = serde_json::from_str(Range::schema().unwrap().json()).unwrap();
    schema["fields"][1]["confluent:rules"] =
        serde_json::json!([{"name": "high_below_100", "expr": "this < 100", "doc": "set by another team"}]);
    let id = c.register(&subject, &UnregisteredSchema::avro(schema.to_string()), Normalization::AsGiven).await.unwrap();
    let latest = SerializerConfig { mode: SchemaMode::UseLatest, ..Default::default() };
    let ser = AvroSerializer::<Range>::new(c.clone(), latest.clone()).unwrap();
    let mut buf = Vec::new();
    assert_eq!(ser.serialize(&topic, &Range { low: 1, high: 2 }, &mut buf).await.unwrap(), id);
    let e = ser.serialize(&topic, &Range { low: -1, high: 200 }, &mut buf).await.unwrap_err();
    let SerializeError::RuleViolation { violations, .. } = &e else { panic!("{e}") };
    let broken: Vec<(String, &str)> = violations.iter().map(|v| (v.path.to_string(), v.rule)).collect();
    assert_eq!(broken, [("/low".into(), "low_min"), ("/high".into(), "high_below_100")], "own rules first");
    assert_eq!(violations[1].doc, Some("set by another team"));
    let bound = AvroSerializer::<Range>::new(
        c.clone(),
        SerializerConfig { mode: SchemaMode::PinnedId(id), ..Default::default() },
    )
    .unwrap()
    .bind(&topic)
    .await
    .unwrap();
    assert!(matches!(
        bound.serialize(&Range { low: 1, high: 200 }, &mut buf),
        Err(SerializeError::RuleViolation { .. })
    ));
    let ignoring = SerializerConfig { registered_rules: RegisteredRulesPolicy::Ignore, ..latest.clone() };
    let lenient = AvroSerializer::<Range>::new(c.clone(), ignoring.clone()).unwrap();
    lenient.serialize(&topic, &Range { low: 1, high: 200 }, &mut buf).await.unwrap();

    // A rule that does not check against the registered schema refuses the ID, naming it.
    let topic = unique("it-rules-unusable");
    schema["fields"][1]["confluent:rules"] = serde_json::json!([{"name": "typo", "expr": "this.value > 0"}]);
    c.register(&format!("{topic}-value"), &UnregisteredSchema::avro(schema.to_string()), Normalization::AsGiven)
        .await
        .unwrap();
    let ser = AvroSerializer::<Range>::new(c.clone(), latest).unwrap();
    let e = ser.serialize(&topic, &Range { low: 1, high: 2 }, &mut buf).await.unwrap_err();
    let SerializeError::UnusableRules { errors, .. } = &e else { panic!("{e}") };
    assert_eq!((errors[0].location.as_str(), errors[0].rule.as_str()), ("it.registry.Range.high", "typo"));
    assert!(e.to_string().contains("cannot be evaluated"), "{e}");
    AvroSerializer::<Range>::new(c, ignoring)
        .unwrap()
        .serialize(&topic, &Range { low: 1, high: 2 }, &mut buf)
        .await
        .unwrap();
}

/// On read, rules are checked only when asked: a value another writer wrote breaking them is refused with every
/// rule by a deserializer that checks, and read as it is by one that does not.
#[tokio::test]
async fn the_deserializer_checks_rules_when_asked() {
    /// The same record without rules, as a producer that does not know them writes it.
    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(namespace = "it.registry", rename = "Range")]
    struct Unruled {
        low: i64,
        high: i64,
    }
    let c = client();
    let topic = unique("it-rules-de");
    let mut framed = Vec::new();
    let writer = AvroSerializer::<Unruled>::new(c.clone(), SerializerConfig::default()).unwrap();
    writer.serialize(&topic, &Unruled { low: 5, high: 1 }, &mut framed).await.unwrap();
    let lenient = AvroDeserializer::<Range>::new(c.clone()).unwrap();
    assert_eq!(lenient.deserialize(&topic, &framed).await.unwrap(), Range { low: 5, high: 1 });
    let strict = AvroDeserializer::<Range>::new(c.clone()).unwrap().check_rules(true);
    let e = strict.deserialize(&topic, &framed).await.unwrap_err();
    let DeserializeError::RuleViolation { violations, .. } = &e else { panic!("{e}") };
    assert_eq!(violations.iter().map(|v| v.rule).collect::<Vec<_>>(), ["in_range"]);
    assert!(!e.is_retriable());
    let mut good = Vec::new();
    writer.serialize(&topic, &Unruled { low: 1, high: 5 }, &mut good).await.unwrap();
    assert_eq!(strict.deserialize(&topic, &good).await.unwrap(), Range { low: 1, high: 5 });
}
