//! The producer on a SASL/SCRAM over TLS listener of a real broker whose certificate a throwaway CA signed: it
//! connects with credentials and the CA; a wrong password fails fast with an authentication error and a wrong CA
//! with a certificate error, neither after a timeout; the password appears in no Debug output, error or log line.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use typed_kafka::config::ProducerConfig;
use typed_kafka::producer::BindError;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_stack::{KafkaSasl, Service};
use typed_kafka_tests::{PrivateStack, TestCa, create_topic, read_back, stack, unique};

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "it.secured")]
struct Payment {
    id: String,
    cents: i64,
}

typed_kafka::topic! { PAYMENTS: "it-payments", key: String, value: Payment; }

const USER: &str = "alice";
const PASSWORD: &str = "alice-Secret-5e1f09";

/// Every log line of this process, to search for the password.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn secured(bootstrap: &str, mechanism: &str, password: &str, ca: &std::path::Path) -> ProducerConfig {
    ProducerConfig::builder(bootstrap)
        .set("security.protocol", "SASL_SSL")
        .set("sasl.mechanism", mechanism)
        .set("sasl.username", USER)
        .set("sasl.password", password)
        .set("ssl.ca.location", ca.display().to_string())
        // librdkafka's own security log lines reach the captured logs too.
        .set_librdkafka("debug", "security")
        .set("max.block.ms", "60000")
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sasl_scram_tls_listener_takes_credentials_and_refuses_wrong_ones_fast() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let ca = TestCa::new("kafka-sasl");
    let other_ca = TestCa::new("kafka-other");
    let private = PrivateStack::new("secured", |c| {
        c.kafka_port = 28492;
        c.cluster_port = 28402;
        c.registry_port = 28481;
        c.kafka_sasl = Some(KafkaSasl {
            port: 28494,
            cert_pem: ca.cert_pem.clone(),
            key_pem: ca.key_pem.clone(),
            users: vec![(USER.into(), PASSWORD.into())],
        });
    });
    let plain = private.up(&[Service::Kafka]).unwrap().endpoints.bootstrap_servers;
    let secure = "127.0.0.1:28494";
    let name = unique("it-secured");
    create_topic(&plain, &name, 2, 1).await;
    let registry = SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap();

    let mut everything_printed = Vec::new();
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let config = secured(secure, mechanism, PASSWORD, &ca.ca_pem);
        everything_printed.push(format!("{config:?}"));
        let producer = Producer::builder(config).registry(registry.clone()).build().unwrap();
        everything_printed.push(format!("{producer:?}"));
        let payments = producer.topic(PAYMENTS).name(&name).bind().await.unwrap();
        for i in 0..5 {
            let p = Payment { id: format!("{mechanism}-{i}"), cents: i };
            payments.send(Record::new(p).key("k".into())).await.unwrap();
        }
    }
    assert_eq!(read_back(&plain, &name, 10, Duration::from_secs(30)).len(), 10, "both logins produced");

    // A wrong password: an authentication error at bind, long before max.block.ms (60 s).
    let started = Instant::now();
    let config = secured(secure, "SCRAM-SHA-256", "not-the-password", &ca.ca_pem);
    let producer = Producer::builder(config).registry(registry.clone()).build().unwrap();
    let e = producer.topic(PAYMENTS).name(&name).bind().await.unwrap_err();
    let waited = started.elapsed();
    println!("wrong password: {e} after {waited:?}");
    assert!(matches!(e, BindError::Security { .. }), "{e:?}");
    assert!(e.to_string().to_lowercase().contains("authentication"), "{e}");
    assert!(!e.is_retriable());
    assert!(waited < Duration::from_secs(20), "fails fast: {waited:?}");
    everything_printed.push(format!("{e} {e:?}"));

    // A CA that did not sign the broker's certificate: a certificate error.
    let started = Instant::now();
    let config = secured(secure, "SCRAM-SHA-256", PASSWORD, &other_ca.ca_pem);
    let producer = Producer::builder(config).registry(registry).build().unwrap();
    let e = producer.topic(PAYMENTS).name(&name).bind().await.unwrap_err();
    let waited = started.elapsed();
    println!("wrong CA: {e} after {waited:?}");
    assert!(matches!(e, BindError::Security { .. }), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    assert!(waited < Duration::from_secs(20), "fails fast: {waited:?}");
    everything_printed.push(format!("{e} {e:?}"));

    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logs.contains("SASL") || logs.contains("sasl"), "librdkafka's security logs were captured");
    for text in everything_printed.iter().chain([&logs]) {
        assert!(!text.contains(PASSWORD) && !text.contains("not-the-password"), "a password was printed: {text}");
    }
}
