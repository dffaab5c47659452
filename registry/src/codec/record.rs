//! Top-level record types: the schema a derive generates, parsed and fingerprinted once.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use apache_avro::Schema;

use super::{AvroType, DecodeError, EncodeError, SchemaWriter};

/// A type's generated schema is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// Two Rust types claim the same Avro full name.
    #[error("conflicting Avro names: {0}")]
    Conflict(String),
    /// The schema does not parse (a field default the derive could not check at compile time, for example).
    #[error("the generated schema does not parse: {reason}; schema: {json}")]
    Invalid {
        /// The parser's message.
        reason: String,
        /// The schema JSON.
        json: String,
    },
}

/// A record type's schema in every form the framework needs, computed once per type.
#[derive(Debug)]
pub struct SchemaInfo {
    json: String,
    schema: Schema,
    canonical: String,
    fingerprint: u64,
}

impl SchemaInfo {
    /// Parses and fingerprints a schema.
    pub fn new(json: String) -> Result<SchemaInfo, SchemaError> {
        let schema =
            Schema::parse_str(&json).map_err(|e| SchemaError::Invalid { reason: e.to_string(), json: json.clone() })?;
        let canonical = spec_canonical(schema.canonical_form());
        let fingerprint = rabin_fingerprint(canonical.as_bytes());
        Ok(SchemaInfo { json, schema, canonical, fingerprint })
    }

    /// Parses a schema that refers to named types defined in `references` (their schema texts, in any order), as a
    /// registry stores schemas with references. The canonical form and fingerprint are of the self-contained schema.
    pub fn with_references(json: String, references: &[String]) -> Result<SchemaInfo, SchemaError> {
        if references.is_empty() {
            return SchemaInfo::new(json);
        }
        let invalid = |e: apache_avro::Error| SchemaError::Invalid { reason: e.to_string(), json: json.clone() };
        let (schema, named) = Schema::parse_str_with_list(&json, references).map_err(invalid)?;
        let canonical = spec_canonical(schema.independent_canonical_form(&named).map_err(invalid)?);
        let fingerprint = rabin_fingerprint(canonical.as_bytes());
        Ok(SchemaInfo { json, schema, canonical, fingerprint })
    }

    /// The schema's full name, for a named schema (record, enum, fixed).
    pub fn full_name(&self) -> Option<String> {
        self.schema.name().map(|n| n.fullname(None))
    }

    /// The full schema JSON, as generated (with `doc`, defaults and aliases).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The parsed schema (for interop with apache-avro and for the registry).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The Parsing Canonical Form, as the Avro specification (and Java's `SchemaNormalization`) defines it.
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

/// The specification's Parsing Canonical Form, from apache-avro's: apache-avro 0.22 keeps attributes that [STRIP]
/// removes (a decimal's `precision` and `scale`) and then misses [PRIMITIVES] (`{"type":"string"}` left by a stripped
/// `logicalType` must be `"string"`). Re-emitting its JSON with only `name, type, fields, symbols, items, values,
/// size`, in that order, gives what Java's `SchemaNormalization` and the registries fingerprint.
fn spec_canonical(apache: String) -> String {
    fn emit(v: &serde_json::Value, out: &mut String) {
        use serde_json::Value as J;
        const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];
        const KEEP: [&str; 7] = ["name", "type", "fields", "symbols", "items", "values", "size"];
        match v {
            J::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    emit(item, out);
                }
                out.push(']');
            }
            J::Object(m) => {
                let kept: Vec<&str> = KEEP.iter().copied().filter(|k| m.contains_key(*k)).collect();
                if let (["type"], Some(J::String(t))) = (kept.as_slice(), m.get("type"))
                    && PRIMITIVES.contains(&t.as_str())
                {
                    emit(&m["type"], out);
                    return;
                }
                out.push('{');
                for (i, k) in kept.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String((*k).to_owned()).to_string());
                    out.push(':');
                    emit(&m[*k], out);
                }
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    match serde_json::from_str::<serde_json::Value>(&apache) {
        Ok(v) => {
            let mut out = String::with_capacity(apache.len());
            emit(&v, &mut out);
            out
        }
        Err(_) => apache,
    }
}

/// A top-level Avro record type, generated by `#[derive(KafkaRecord)]`.
///
/// What the derive generates for a type:
/// - the Avro schema, assembled from JSON fragments written at compile time, parsed and fingerprinted on first use
///   and cached for the life of the process ([`KafkaRecord::schema`]);
/// - [`AvroType::encode`]: writes the Avro body field by field through the `encoding` functions, into a reused
///   `Vec<u8>` (no allocation once the buffer has grown);
/// - [`AvroDecode::decode`](super::AvroDecode::decode): reads data written with the same schema, bounds-checked.
///
/// Data-carrying enums become unions: each variant is one branch, a variant with named fields (or several unnamed
/// ones) a record named after the variant, a variant with one unnamed field that field's own schema, a unit
/// variant an empty record named after the variant.
pub trait KafkaRecord: AvroType {
    /// The schema, computed on first use.
    fn schema() -> Result<&'static SchemaInfo, SchemaError>;

    /// Appends the Avro body of `self` (no framing).
    #[inline]
    fn encode_body(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encode(buf)
    }

    /// Decodes a value from exactly `bytes` (an Avro body written with this type's schema).
    fn decode_body<'de>(bytes: &'de [u8]) -> Result<Self, DecodeError>
    where
        Self: super::AvroDecode<'de>,
    {
        super::decode_exact(bytes)
    }
}

/// The cached schema of a non-generic type (the derive gives each type its own `OnceLock`).
#[doc(hidden)]
pub fn cached_schema<T: AvroType + ?Sized>(
    cell: &'static OnceLock<Result<SchemaInfo, SchemaError>>,
) -> Result<&'static SchemaInfo, SchemaError> {
    cell.get_or_init(|| SchemaWriter::schema_of::<T>().and_then(SchemaInfo::new)).as_ref().map_err(Clone::clone)
}

/// The cached schema of an instantiation of a generic type (statics are shared by every instantiation, so these
/// are keyed by `TypeId`; each is computed once and kept for the life of the process).
#[doc(hidden)]
pub fn cached_generic_schema<T: AvroType + ?Sized + 'static>() -> Result<&'static SchemaInfo, SchemaError> {
    type Cache = RwLock<HashMap<TypeId, &'static Result<SchemaInfo, SchemaError>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = TypeId::of::<T>();
    let hit = cache.read().unwrap_or_else(|e| e.into_inner()).get(&id).copied();
    let entry = match hit {
        Some(e) => e,
        None => {
            let computed = SchemaWriter::schema_of::<T>().and_then(SchemaInfo::new);
            let mut map = cache.write().unwrap_or_else(|e| e.into_inner());
            *map.entry(id).or_insert_with(|| Box::leak(Box::new(computed)))
        }
    };
    entry.as_ref().map_err(Clone::clone)
}
