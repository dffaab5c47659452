//! Arbitrary text as Avro schema JSON (the path a registry's answer takes): parsing returns a schema or a typed
//! error, never panics; error messages stay short however long the input; a parsed schema's canonical form parses
//! again to the same canonical form. The first line, when the input has several, is parsed with the rest as
//! references.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::schema::{Schema, SchemaInfo};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match SchemaInfo::parse(text) {
        Ok(info) => {
            let again = Schema::parse(info.canonical_form()).expect("a canonical form parses");
            assert_eq!(again.canonical_form(), info.canonical_form());
        }
        Err(e) => assert!(e.to_string().len() < 1024, "error message of {} bytes", e.to_string().len()),
    }
    let mut lines = text.lines();
    if let Some(first) = lines.next() {
        let refs: Vec<&str> = lines.collect();
        let _ = SchemaInfo::parse_with_references(first, &refs);
    }
});
