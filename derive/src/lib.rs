//! `#[derive(KafkaRecord)]` for typed-kafka.
