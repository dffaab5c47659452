//! The Avro core of typed-kafka, with no I/O and no async runtime:
//!
//! - [`schema`]: the schema model: the writer derived schemas are assembled with, a parser for schema JSON, the
//!   Parsing Canonical Form and the CRC-64-AVRO fingerprint;
//! - [`codec`]: the binary codec runtime that `#[derive(KafkaRecord)]` generates calls into, one function per wire
//!   type in [`codec::encoding`];
//! - [`KafkaRecord`]: a top-level record type with its schema;
//! - [`wire`]: the Confluent wire format (magic byte, schema ID, body);
//! - [`json`]: Avro's JSON encoding of a binary body, for people and tools without the registry;
//! - [`registered_rules`]: the data-contract rules a registered schema carries that no attribute wrote, checked
//!   once and interpreted per value;
//! - [`resolve`]: reading data written with another (compatible) schema;
//! - [`compat`]: schema compatibility: every incompatibility of a reader/writer pair, with Java's verdicts, and
//!   compatibility levels over a history of versions.
//!
//! Most users depend on the `typed-kafka` crate, which re-exports this one. A codec-only user can depend on this
//! crate and `typed-kafka-derive` alone, with `#[kafka(crate = "typed_kafka_avro")]` on each derived type.
#![warn(missing_docs)]

pub mod codec;
pub mod compat;
pub mod json;
mod record;
pub mod registered_rules;
pub mod resolve;
pub mod schema;
pub mod wire;

pub use codec::{
    AvroDecode, AvroType, DecodeError, EncodeError, EncodeErrorKind, FieldPath, PathSegment, RuleViolation,
};
pub use record::KafkaRecord;
pub use schema::{SchemaError, SchemaInfo};
pub use wire::{FramingError, SchemaGuid, SchemaId, SchemaRef};

/// What `#[derive(KafkaRecord)]` expands to refers to these; not a stable API.
#[doc(hidden)]
pub mod __private {
    #[cfg(any(feature = "uuid", feature = "chrono", feature = "time", feature = "rust_decimal"))]
    pub use crate::codec::logical;
    pub use crate::codec::{
        AvroDecode, AvroType, Bytes, Codec, DecodeError, EncodeError, FixedU64, OptionOf, PathSegment, RuleViolation,
        VecOf, encoding, prefix_rule_violations, prefix_violations,
    };
    pub use crate::record::{KafkaRecord, cached_generic_schema, cached_schema};
    pub use crate::schema::shape::{SchemaShape, ShapeField, ShapeName, assert_contract, assert_contract_among};
    pub use crate::schema::{SchemaError, SchemaInfo, SchemaWriter};
    pub use std::sync::OnceLock;
    /// What the derive's generated rules call.
    pub use typed_kafka_rules::rt as rules;
}
