//! The Confluent Schema Registry side of typed-kafka: an HTTP client with caches that make the steady state free of
//! I/O, subject name strategies, and typed (de)serialization of [`KafkaRecord`](typed_kafka_avro::KafkaRecord)
//! values in the Confluent wire format.
//!
//! - [`SchemaRegistryClient`]: the registry's REST API; caches, single flight, failover, retries.
//! - [`AvroSerializer`] / [`BoundSerializer`]: values to framed bytes, with the schema ID resolved once per topic.
//! - [`AvroDeserializer`]: framed bytes back to values.
//! - Errors, one type per layer: [`RegistryError`] (the registry's answers), [`ConfigError`] (building),
//!   [`SerializeError`] and [`DeserializeError`] (one record).
#![warn(missing_docs)]

mod cache;
pub mod client;
mod error;
mod framed;
mod topic_table;

#[cfg(test)]
mod test_server;

pub use client::{ClientBuilder, ClientStats, SchemaRegistryClient};
pub use error::{ConfigError, DeserializeError, RegistryError, SchemaMismatch, SerializeError};
pub use framed::{
    AvroDeserializer, AvroSerializer, BoundSerializer, CustomStrategy, RecordPart, RegisteredRulesPolicy, SchemaMode,
    SerializeFuture, SerializerConfig, SubjectNameStrategy, write_framed,
};
