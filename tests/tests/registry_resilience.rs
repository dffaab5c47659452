//! The client through a registry outage, on a private registry instance (its own port and state, so the shared
//! stack is not disturbed): cached schemas keep serializing while it is down, a cold lookup fails with a clear,
//! retriable error after the configured retries, and the same client recovers when the registry is back.

use std::time::{Duration, Instant};

use typed_kafka::KafkaRecord;
use typed_kafka::{
    AvroDeserializer, AvroSerializer, RegistryError, SchemaRegistryClient, SerializeError, SerializerConfig,
};
use typed_kafka_stack::Service;
use typed_kafka_tests::PrivateStack;

#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "it.resilience")]
struct Reading {
    sensor: String,
    value: f64,
}

#[tokio::test]
async fn cached_schemas_survive_an_outage_and_the_client_recovers() {
    let stack = PrivateStack::new("resilience", |c| {
        c.registry_port = 28881;
        c.kafka_port = 28892;
        c.cluster_port = 28900;
    });
    let report = stack.up(&[Service::Registry]).unwrap();

    let client = SchemaRegistryClient::builder([report.endpoints.registry_url.clone()])
        .basic_auth("svc", "top-secret-password")
        .max_retries(2)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let ser = AvroSerializer::<Reading>::new(client.clone(), SerializerConfig::default()).unwrap();
    let de = AvroDeserializer::<Reading>::new(client.clone()).unwrap();
    let reading = Reading { sensor: "t1".into(), value: 21.5 };
    let mut before = Vec::new();
    let id = ser.serialize("readings", &reading, &mut before).await.unwrap();
    assert_eq!(de.deserialize("readings", &before).await.unwrap(), reading);

    stack.down(&[Service::Registry]).unwrap();

    // Cached: serializing and deserializing go on without the registry.
    let mut during = Vec::new();
    assert_eq!(ser.serialize("readings", &reading, &mut during).await.unwrap(), id);
    assert_eq!(during, before);
    assert_eq!(de.deserialize("readings", &during).await.unwrap(), reading);
    assert!(client.schema_by_id_cached(id).await.is_ok());

    // Cold: a new topic needs the registry, and fails after 1 + 2 retries, quickly and clearly.
    let requests = client.stats().http_requests;
    let t = Instant::now();
    let err = ser.serialize("other-readings", &reading, &mut Vec::new()).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10), "gave up after {:?}", t.elapsed());
    assert_eq!(client.stats().http_requests - requests, 3);
    assert!(
        matches!(&err, SerializeError::Registry { source: RegistryError::Unreachable { attempts: 3, .. }, topic, .. } if topic == "other-readings"),
        "{err}"
    );
    assert!(err.is_retriable());
    let text = format!("{err} {err:?} {client:?}");
    assert!(!text.contains("top-secret-password"), "a secret leaked: {text}");

    // Back (an in-memory registry restarts empty): the same client registers and goes on.
    stack.up(&[Service::Registry]).unwrap();
    let mut after = Vec::new();
    ser.serialize("other-readings", &reading, &mut after).await.unwrap();
    assert_eq!(de.deserialize("other-readings", &after).await.unwrap(), reading);

    stack.down(&[Service::Registry]).unwrap();
}
