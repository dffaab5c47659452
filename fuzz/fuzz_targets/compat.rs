//! The compatibility check (what `cargo contracts compat` and `check` run) on generated pairs: a generated schema
//! against a changed copy of itself, both ways, at every level over a two-version history. It finishes, with
//! findings whose texts stay short; a schema is always compatible with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::compat::{CheckOptions, CompatibilityLevel, Rule, check, check_level};
use typed_kafka_avro::schema::Schema;
use typed_kafka_fuzz::{Choices, mutate, schema_texts};

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let (root, references) = schema_texts(&mut c);
    // One self-contained text: the references as a union with the root's record after them.
    let Ok(root_json) = serde_json::from_str::<serde_json::Value>(&root) else { return };
    let mut branches: Vec<serde_json::Value> = references
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .flat_map(|v| match v {
            serde_json::Value::Array(a) => a,
            other => vec![other],
        })
        .collect();
    branches.push(root_json);
    let mut old = serde_json::Value::Array(branches);
    let Ok(v1) = Schema::parse(&old.to_string()) else { return };
    mutate(&mut old, &mut c);
    let Ok(v2) = Schema::parse(&old.to_string()) else { return };
    let options = CheckOptions { semantic: c.byte().is_multiple_of(2) };
    for (r, w) in [(&v1, &v1), (&v2, &v2)] {
        assert!(check(r, w, &options).iter().all(|i| i.rule == Rule::TooDeep || i.rule.is_semantic()));
    }
    for found in [check(&v2, &v1, &options), check(&v1, &v2, &options)] {
        for i in &found {
            assert!(i.to_string().len() < 4096, "a finding of {} bytes", i.to_string().len());
        }
    }
    for level in [
        CompatibilityLevel::Backward,
        CompatibilityLevel::Forward,
        CompatibilityLevel::Full,
        CompatibilityLevel::BackwardTransitive,
        CompatibilityLevel::FullTransitive,
    ] {
        let _ = check_level(&v2, std::slice::from_ref(&v1), level, &options);
    }
});
