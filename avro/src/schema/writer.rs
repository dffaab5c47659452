//! Assembles a schema's JSON from the fragments `#[derive(KafkaRecord)]` wrote at compile time.

use std::collections::HashMap;

use super::SchemaError;
use crate::codec::AvroType;

/// Assembles a schema's JSON from the fragments the derive generated at compile time, defining each named type
/// once (the first time it appears) and referring to it by full name afterwards.
#[derive(Debug, Default)]
pub struct SchemaWriter {
    out: String,
    /// Full name → identity of the Rust type that defined it.
    defined: HashMap<String, String>,
    namespace: Vec<String>,
    errors: Vec<String>,
}

impl SchemaWriter {
    /// An empty writer.
    pub fn new() -> SchemaWriter {
        SchemaWriter::default()
    }

    /// Appends JSON text.
    #[inline]
    pub fn raw(&mut self, json: &str) {
        self.out.push_str(json);
    }

    /// Appends a JSON string literal.
    pub fn string(&mut self, s: &str) {
        // serde_json's escaping is exactly JSON's; a String never fails to serialize.
        self.out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    }

    /// The namespace a named type without its own namespace inherits here.
    pub fn enclosing_namespace(&self) -> Option<&str> {
        self.namespace.last().map(String::as_str).filter(|n| !n.is_empty())
    }

    /// Writes a named type: its definition (through `define`, with `namespace` as the enclosing namespace of what it
    /// contains) the first time its full name appears, a reference by full name after that. `identity` names the Rust
    /// type; two different Rust types claiming one Avro name is an error reported by [`SchemaWriter::finish`].
    pub fn named(&mut self, name: &str, namespace: Option<&str>, identity: &str, define: impl FnOnce(&mut Self)) {
        let ns = namespace.map(str::to_owned).or_else(|| self.enclosing_namespace().map(str::to_owned));
        let full = match &ns {
            Some(ns) if !ns.is_empty() => format!("{ns}.{name}"),
            _ => name.to_owned(),
        };
        match self.defined.get(&full) {
            Some(other) if other != identity => {
                self.errors.push(format!("the Avro name {full} is used by both {other} and {identity}; rename one"));
                self.string(&full);
            }
            Some(_) => self.string(&full),
            None => {
                self.defined.insert(full, identity.to_owned());
                self.namespace.push(ns.unwrap_or_default());
                define(self);
                self.namespace.pop();
            }
        }
    }

    /// The assembled JSON, or every naming conflict found.
    pub fn finish(self) -> Result<String, SchemaError> {
        if self.errors.is_empty() { Ok(self.out) } else { Err(SchemaError::Conflict(self.errors.join("; "))) }
    }

    /// The complete schema of `T`.
    pub fn schema_of<T: AvroType + ?Sized>() -> Result<String, SchemaError> {
        let mut w = SchemaWriter::new();
        T::write_schema(&mut w);
        w.finish()
    }
}
