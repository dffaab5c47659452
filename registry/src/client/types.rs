//! The Confluent Schema Registry API's data types.

use std::fmt;

use serde::{Deserialize, Serialize};
use typed_kafka_avro::SchemaId;

/// The kind of a schema (`schemaType`); absent means AVRO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchemaType {
    /// Apache Avro.
    #[default]
    Avro,
    /// JSON Schema.
    Json,
    /// Protocol Buffers.
    Protobuf,
}

/// A reference from a schema to a named type registered under another subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    /// The name the referring schema uses (for Avro, the referenced type's full name).
    pub name: String,
    /// The subject the referenced schema is registered under.
    pub subject: String,
    /// Its version.
    pub version: i32,
}

/// A schema to register, look up or test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnregisteredSchema {
    /// The schema text.
    pub schema: String,
    /// Its kind.
    #[serde(default, skip_serializing_if = "is_avro")]
    pub schema_type: SchemaType,
    /// Schemas it references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<SchemaReference>,
}

fn is_avro(t: &SchemaType) -> bool {
    *t == SchemaType::Avro
}

impl UnregisteredSchema {
    /// An Avro schema without references.
    pub fn avro(schema: impl Into<String>) -> UnregisteredSchema {
        UnregisteredSchema { schema: schema.into(), schema_type: SchemaType::Avro, references: Vec::new() }
    }

    /// Adds a reference.
    pub fn with_reference(mut self, name: &str, subject: &str, version: i32) -> UnregisteredSchema {
        self.references.push(SchemaReference { name: name.into(), subject: subject.into(), version });
        self
    }
}

/// A schema as stored under a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredSchema {
    /// The subject.
    pub subject: String,
    /// The version under the subject.
    pub version: i32,
    /// The global schema ID.
    pub id: SchemaId,
    /// The schema text.
    pub schema: String,
    /// Its kind.
    #[serde(default)]
    pub schema_type: SchemaType,
    /// Schemas it references.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
}

/// A schema fetched by ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaById {
    /// The schema text.
    pub schema: String,
    /// Its kind.
    #[serde(default)]
    pub schema_type: SchemaType,
    /// Schemas it references.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
}

/// A subject's (or the registry's) compatibility level (the same type as the checker's).
pub use typed_kafka_avro::compat::CompatibilityLevel;

/// Which version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// The latest.
    Latest,
    /// A version number.
    Number(i32),
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::Latest => f.write_str("latest"),
            Version::Number(n) => write!(f, "{n}"),
        }
    }
}

/// The outcome of a compatibility test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compatibility {
    /// Whether the schema is compatible.
    pub is_compatible: bool,
    /// The reasons when it is not (with `verbose=true`).
    pub messages: Vec<String>,
}

/// Whether the registry normalizes a schema before registering or looking it up (`?normalize=true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalization {
    /// The schema text as given.
    #[default]
    AsGiven,
    /// The registry's normalized form.
    Normalized,
}

impl Normalization {
    pub(crate) fn query(self) -> Vec<(&'static str, String)> {
        match self {
            Normalization::AsGiven => Vec::new(),
            Normalization::Normalized => vec![("normalize", "true".to_string())],
        }
    }
}

/// How a subject or version is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteMode {
    /// Hidden from reads, kept by the registry (and its IDs stay resolvable).
    #[default]
    Soft,
    /// Removed for good (`?permanent=true`); Confluent allows it only after a soft delete.
    Permanent,
}

impl DeleteMode {
    pub(crate) fn query(self) -> Vec<(&'static str, String)> {
        match self {
            DeleteMode::Soft => Vec::new(),
            DeleteMode::Permanent => vec![("permanent", "true".to_string())],
        }
    }
}
