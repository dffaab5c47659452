//! typed-kafka: type-safe, schema-registry-aware Avro producing to Apache Kafka.
