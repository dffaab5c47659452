//! Generated schema texts with references (many named types over several texts, used before or after their
//! definitions, chained deep through names, wide in fields, symbols and union branches): parsing returns a schema
//! or a short typed error, never overflows the stack or runs away; a parsed schema's canonical form parses again
//! to itself, the schema is compatible with itself, and a resolver of it to itself builds and copies a value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::compat::{CheckOptions, check};
use typed_kafka_avro::resolve::Resolver;
use typed_kafka_avro::schema::{Schema, SchemaInfo};
use typed_kafka_fuzz::{Choices, schema_texts};

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let (root, references) = schema_texts(&mut c);
    let refs: Vec<&str> = references.iter().map(String::as_str).collect();
    match SchemaInfo::parse_with_references(root, &refs) {
        Ok(info) => {
            let again = Schema::parse(info.canonical_form()).expect("a canonical form parses");
            assert_eq!(again.canonical_form(), info.canonical_form());
            let found = check(info.schema(), info.schema(), &CheckOptions::default());
            assert!(found.iter().all(|i| i.rule == typed_kafka_avro::compat::Rule::TooDeep), "{found:?}");
            if found.is_empty() {
                let resolver = Resolver::new(info.schema(), info.schema()).expect("a schema reads itself");
                let mut out = Vec::new();
                let _ = resolver.project(c.rest(), &mut out);
            }
        }
        Err(e) => assert!(e.to_string().len() < 1024, "error message of {} bytes", e.to_string().len()),
    }
});
