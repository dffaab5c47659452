//! The schema model: the writer the derive assembles schemas with, a parser for schema JSON ([`Schema`]), the
//! specification's Parsing Canonical Form and its CRC-64-AVRO (Rabin) fingerprint, all computed by this crate's own
//! code from the specification's rules.

mod canonical;
mod model;
pub(crate) mod parse;
pub mod shape;
mod writer;

use std::sync::OnceLock;

pub use model::{Field, LogicalType, Name, NamedId, NamedKind, NamedType, Node, Primitive, Schema, SortOrder};
pub use parse::{MAX_DEPTH, is_valid_name};
pub use writer::SchemaWriter;

/// A schema text that is not a valid Avro schema, or a generated schema that cannot be assembled. Messages quote at
/// most a short excerpt of the schema text, however large it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Two Rust types claim the same Avro full name.
    #[error("conflicting Avro names: {0}")]
    Conflict(String),
    /// The text breaks the specification's rules.
    #[error("invalid Avro schema: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A name that is neither a primitive nor a type the schema (or one of its references) defines.
    #[error("invalid Avro schema: unknown type {name:?}")]
    UnknownType {
        /// The name (an excerpt if it is long).
        name: String,
    },
    /// A field default that its schema does not allow.
    #[error("invalid Avro schema: the default {default} of field {field} does not match its type")]
    InvalidDefault {
        /// `Record.field`.
        field: String,
        /// The default (an excerpt if it is long).
        default: String,
    },
}

impl Schema {
    /// Parses schema JSON.
    ///
    /// ```
    /// use typed_kafka_avro::schema::Schema;
    ///
    /// let s = Schema::parse(r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int"}]}"#)?;
    /// assert_eq!(s.root_name().map(|n| n.full()), Some("n.R".to_string()));
    /// assert_eq!(s.canonical_form(), r#"{"name":"n.R","type":"record","fields":[{"name":"a","type":"int"}]}"#);
    /// # Ok::<(), typed_kafka_avro::schema::SchemaError>(())
    /// ```
    pub fn parse(json: &str) -> Result<Schema, SchemaError> {
        Schema::parse_with_references(json, &[])
    }

    /// Parses schema JSON that refers to named types defined in `references` (their schema texts, in any order), as
    /// a registry stores schemas with references.
    pub fn parse_with_references(json: &str, references: &[&str]) -> Result<Schema, SchemaError> {
        let mut p = parse::Parser::new();
        // References may use each other's types in any order, and the schema may use types it defines later
        // (forward references, as Java 1.12 allows): every text is parsed once, names are resolved at the end.
        for text in references {
            p.parse_text(text)?;
        }
        let root = p.parse_text(json)?;
        p.finish(root)
    }

    /// The Parsing Canonical Form, as the specification (and Java's `SchemaNormalization`) defines it.
    pub fn canonical_form(&self) -> String {
        canonical::canonical_form(self)
    }
}

/// A record type's schema in every form the framework needs, computed once.
#[derive(Debug, Clone)]
pub struct SchemaInfo {
    json: String,
    schema: Schema,
    canonical: String,
    fingerprint: u64,
}

impl SchemaInfo {
    /// Parses and fingerprints a schema.
    pub fn parse(json: impl Into<String>) -> Result<SchemaInfo, SchemaError> {
        let json = json.into();
        let schema = Schema::parse(&json)?;
        Ok(SchemaInfo::from_parts(json, schema))
    }

    /// Parses a schema that refers to named types defined in `references` (schema texts, in any order). The
    /// canonical form and fingerprint are of the self-contained schema.
    pub fn parse_with_references(json: impl Into<String>, references: &[&str]) -> Result<SchemaInfo, SchemaError> {
        let json = json.into();
        let schema = Schema::parse_with_references(&json, references)?;
        Ok(SchemaInfo::from_parts(json, schema))
    }

    fn from_parts(json: String, schema: Schema) -> SchemaInfo {
        let canonical = schema.canonical_form();
        let fingerprint = rabin_fingerprint(canonical.as_bytes());
        SchemaInfo { json, schema, canonical, fingerprint }
    }

    /// The schema's full name, for a named schema (record, enum, fixed).
    pub fn full_name(&self) -> Option<String> {
        self.schema.root_name().map(Name::full)
    }

    /// The schema JSON as given (for a derived type: with `doc`, defaults and aliases).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The parsed schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The Parsing Canonical Form.
    pub fn canonical_form(&self) -> &str {
        &self.canonical
    }

    /// The CRC-64-AVRO (Rabin) fingerprint of the canonical form.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// The CRC-64-AVRO (Rabin) fingerprint the Avro specification defines for schema fingerprints.
pub fn rabin_fingerprint(data: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: OnceLock<[u64; 256]> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & 0u64.wrapping_sub(fp & 1));
            }
            *slot = fp;
        }
        table
    });
    let mut fp = EMPTY;
    for &b in data {
        fp = (fp >> 8) ^ table[((fp ^ u64::from(b)) & 0xff) as usize];
    }
    fp
}

#[cfg(test)]
mod tests;

/// The resolution form of a schema text: its JSON with every attribute that matters when reading data (defaults,
/// aliases, logical types and their parameters, enum defaults, order) kept, documentation dropped, object keys
/// sorted and whitespace removed. Two texts with the same resolution form describe the same contract; the
/// Parsing Canonical Form would not tell them apart when only a default, an alias or a logical type differs.
pub fn resolution_form(text: &str) -> Result<String, SchemaError> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.remove("doc");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| SchemaError::Invalid { reason: format!("not JSON: {e}") })?;
    strip(&mut value);
    // serde_json's maps are ordered by key: the output is canonical.
    serde_json::to_string(&value).map_err(|e| SchemaError::Invalid { reason: e.to_string() })
}

/// The Rabin fingerprint of a schema text's [`resolution_form`].
pub fn resolution_fingerprint(text: &str) -> Result<u64, SchemaError> {
    resolution_form(text).map(|form| rabin_fingerprint(form.as_bytes()))
}
