//! The client over HTTPS to a private registry instance whose certificate is signed by a private CA (as inside a
//! company): trusted through `ca_pem`, refused without it.

use std::time::Duration;

use typed_kafka::registry::client::{Normalization, UnregisteredSchema};
use typed_kafka::{RegistryError, SchemaRegistryClient};
use typed_kafka_stack::{RegistryTls, Service};
use typed_kafka_tests::{PrivateStack, TestCa};

#[tokio::test]
async fn a_custom_ca_makes_a_self_signed_registry_trusted() {
    let certs = TestCa::new("registry");
    let (ca, cert, key) = (&certs.ca_pem, &certs.cert_pem, &certs.key_pem);

    let https_port = 28943;
    let stack = PrivateStack::new("tls", |c| {
        c.registry_port = 28981;
        c.kafka_port = 28992;
        c.cluster_port = 29000;
        c.registry_tls = Some(RegistryTls { port: https_port, cert_pem: cert.clone(), key_pem: key.clone() });
    });
    stack.up(&[Service::Registry]).unwrap();
    let url = format!("https://127.0.0.1:{https_port}/apis/ccompat/v7");
    let schema = UnregisteredSchema::avro(r#"{"type":"record","name":"Tls","fields":[{"name":"a","type":"int"}]}"#);

    let trusted = SchemaRegistryClient::builder([url.clone()]).ca_pem(std::fs::read(ca).unwrap()).build().unwrap();
    let id = trusted.register("tls-value", &schema, Normalization::AsGiven).await.unwrap();
    assert!(trusted.schema_by_id(id).await.unwrap().schema.contains("Tls"));

    // An unknown CA is a TLS error, not "unreachable": not retried (one request despite 3 retries), not retriable.
    let untrusted =
        SchemaRegistryClient::builder([url]).max_retries(3).connect_timeout(Duration::from_secs(2)).build().unwrap();
    match untrusted.register("tls-value", &schema, Normalization::AsGiven).await {
        Err(e @ RegistryError::Tls { .. }) => {
            assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
            assert!(!e.is_retriable());
        }
        other => panic!("expected a TLS failure, got {other:?}"),
    }
    assert_eq!(untrusted.stats().http_requests, 1);

    stack.down(&[Service::Registry]).unwrap();
}
