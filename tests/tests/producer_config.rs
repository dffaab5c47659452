//! The producer configuration's librdkafka properties are ones librdkafka accepts: creating a producer from them
//! validates every name and value (librdkafka refuses unknown properties and bad values at creation).

#![allow(clippy::unwrap_used)]

use rdkafka::ClientConfig;
use rdkafka::producer::BaseProducer;
use typed_kafka::config::ProducerConfig;

fn create(config: &ProducerConfig) -> Result<BaseProducer, rdkafka::error::KafkaError> {
    let mut client = ClientConfig::new();
    for (k, v) in config.librdkafka_properties() {
        client.set(k, v);
    }
    client.create()
}

#[test]
fn librdkafka_accepts_every_property_the_configuration_produces() {
    create(&ProducerConfig::builder("127.0.0.1:9092").build().unwrap()).unwrap();
    for compression in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let c = ProducerConfig::builder("127.0.0.1:9092")
            .set("compression.type", compression)
            .set("acks", "1")
            .set("linger.ms", "50")
            .set("batch.size", "65536")
            .set("buffer.memory", "67108864")
            .set("max.request.size", "2097152")
            .set("send.buffer.bytes", "131072")
            .set("receive.buffer.bytes", "131072")
            .set("delivery.timeout.ms", "60000")
            .set("request.timeout.ms", "20000")
            .set("retry.backoff.ms", "200")
            .set("client.id", "typed-kafka-test")
            .build()
            .unwrap();
        create(&c).unwrap_or_else(|e| panic!("{compression}: {e}"));
    }
    // SCRAM needs librdkafka built with OpenSSL (the secured-cluster work adds it); PLAIN checks the mapping.
    let secured = ProducerConfig::builder("127.0.0.1:9093")
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "PLAIN")
        .set("sasl.username", "svc")
        .set("sasl.password", "secret")
        .build()
        .unwrap();
    create(&secured).unwrap();
    // A librdkafka-only key passes through, and librdkafka is the judge of it.
    let passthrough =
        ProducerConfig::builder("127.0.0.1:9092").set_librdkafka("no.such.property", "1").build().unwrap();
    assert!(create(&passthrough).is_err());
}
