//! Schema model, codec runtime, registry client and wire format for typed-kafka.
//!
//! - [`codec`]: the Avro binary codec runtime that `#[derive(KafkaRecord)]` generates calls into.
#![warn(missing_docs)]

pub mod codec;

pub use apache_avro;
