//! Schema model, codec runtime, registry client and wire format for typed-kafka.
//!
//! - [`codec`]: the Avro binary codec runtime that `#[derive(KafkaRecord)]` generates calls into.
//! - [`client`]: a Confluent Schema Registry client with caches, single flight, failover and retries.
//! - [`wire`]: the Confluent wire format.
//! - [`serializer`]: typed serialization of `KafkaRecord` values to framed bytes and back.
#![warn(missing_docs)]

pub mod client;
pub mod codec;
mod error;
pub mod serializer;
mod topic_table;
pub mod wire;

pub use apache_avro;
pub use client::{ClientBuilder, SchemaRegistryClient};
pub use error::RegistryError;
pub use serializer::{BoundSerializer, SchemaMode, Serializer, SerializerConfig, SubjectNameStrategy};
