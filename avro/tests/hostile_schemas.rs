//! Schemas and bodies an attacker controls (a registry, a Kafka message): each is refused with a typed error,
//! within bounded time and memory, never with an abort. The inputs are generated here, at the sizes a tester used.

use typed_kafka_avro::KafkaRecord;
use typed_kafka_avro::codec::encoding;
use typed_kafka_avro::compat::{CheckOptions, Rule, check};
use typed_kafka_avro::resolve::Resolver;
use typed_kafka_avro::schema::{MAX_DEPTH, Schema, SchemaInfo};
use typed_kafka_avro::{DecodeError, SchemaError};
use typed_kafka_derive::KafkaRecord;

/// A chain of `n` records defined side by side in one union, each holding the one before it: two levels of JSON,
/// `n` levels through the named types.
fn chain(n: usize) -> String {
    let mut defs = vec![r#"{"type":"record","name":"R0","fields":[{"name":"v","type":"int"}]}"#.to_string()];
    for i in 1..n {
        defs.push(format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"next","type":"R{}"}}]}}"#, i - 1));
    }
    format!("[{}]", defs.join(","))
}

fn too_deep(result: Result<SchemaInfo, SchemaError>) -> bool {
    match result {
        Err(SchemaError::Invalid { reason }) => reason.contains("nests more than 128 levels") && reason.len() < 300,
        Err(other) => panic!("another error: {other}"),
        Ok(_) => false,
    }
}

#[test]
fn a_chain_of_named_types_deeper_than_the_limit_is_refused_when_parsed() {
    // The tester's reference: about 15,000 records, 1.45 MB. A schema reaching the chain's far end is refused
    // when parsed: nothing downstream (canonical form, fingerprints, resolution) ever walks it.
    let reference = chain(15_000);
    let root = r#"{"type":"record","name":"Top","fields":[{"name":"head","type":"R14999"}]}"#;
    assert!(too_deep(SchemaInfo::parse_with_references(root, &[reference.as_str()])));
    // The same chain listed from its far end (each record using one defined after it, as Java 1.12 allows).
    let mut defs = vec![];
    for i in (1..15_000).rev() {
        defs.push(format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"next","type":"R{}"}}]}}"#, i - 1));
    }
    defs.push(r#"{"type":"record","name":"R0","fields":[]}"#.to_string());
    assert!(too_deep(SchemaInfo::parse(format!("[{}]", defs.join(",")))));
    // Listed from its near end, every record's definition is two levels deep where the canonical form writes it:
    // accepted, and every walk over it stays shallow or stops at its own bound.
    let info = SchemaInfo::parse(reference.as_str()).map_err(|e| e.to_string()).unwrap();
    assert!(info.canonical_form().len() > 1_000_000);
    assert!(check(info.schema(), info.schema(), &CheckOptions::default()).is_empty());
    // Just within the limit, a chain reached from its far end parses and every walk over it completes.
    let fits = chain(MAX_DEPTH - 2);
    let root = format!(r#"{{"type":"record","name":"Top","fields":[{{"name":"head","type":"R{}"}}]}}"#, MAX_DEPTH - 3);
    let info = SchemaInfo::parse_with_references(root, &[fits.as_str()]).map_err(|e| e.to_string()).unwrap();
    assert!(info.canonical_form().contains("R0"));
    assert!(check(info.schema(), info.schema(), &CheckOptions::default()).is_empty());
    Resolver::new(info.schema(), info.schema()).map_err(|e| e.to_string()).unwrap();
}

#[test]
fn a_default_that_never_ends_is_refused() {
    // A record whose field is the record itself, with the default `{}`: each level's default is the next level's
    // `{}`. Accepted, it made the resolver recurse without end while encoding the default.
    let text = r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},
        {"name":"loop","type":{"type":"record","name":"L","fields":[{"name":"l","type":"L","default":{}}]},"default":{}}]}"#;
    assert!(matches!(Schema::parse(text), Err(SchemaError::InvalidDefault { .. })));
}

/// Records `{prefix}0` … `{prefix}(period-1)`, each holding the next in an optional field, the last the first: a
/// recursive cycle, every record with `aliases`.
fn cycle(period: usize, prefix: &str, aliases: &str) -> String {
    fn nest(i: usize, period: usize, prefix: &str, aliases: &str) -> String {
        let next = if i + 1 == period { format!("\"{prefix}0\"") } else { nest(i + 1, period, prefix, aliases) };
        format!(
            r#"{{"type":"record","name":"{prefix}{i}","aliases":[{aliases}],"fields":[{{"name":"n","type":["null",{next}]}}]}}"#
        )
    }
    nest(0, period, prefix, aliases)
}

#[test]
fn comparing_recursive_schemas_stops_at_the_depth_limit() {
    // A writer cycling with period 27 and a reader with period 29 whose records alias every writer name: the
    // pairs (reader, writer) repeat only after 29 × 27 hops, far past the limit. The comparison stops there with
    // a finding that is never conditional, and the resolver refuses the pair.
    let writer = Schema::parse(&cycle(27, "W", "")).unwrap();
    let names: Vec<String> = (0..27).map(|i| format!("\"W{i}\"")).collect();
    let reader = Schema::parse(&cycle(29, "R", &names.join(","))).unwrap();
    let found = check(&reader, &writer, &CheckOptions::default());
    let deep: Vec<_> = found.iter().filter(|i| i.rule == Rule::TooDeep).collect();
    assert!(!deep.is_empty(), "{found:?}");
    for i in &deep {
        assert!(!i.conditional && i.path.len() <= 520, "{i:?}");
    }
    assert!(Resolver::projecting(&writer, &reader).is_err());
    // Each alone is fine with itself.
    assert!(check(&reader, &reader, &CheckOptions::default()).is_empty());
    Resolver::new(&writer, &writer).unwrap();
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro")]
struct Kept {
    b: i32,
}

fn long(v: i64) -> Vec<u8> {
    let mut out = Vec::new();
    encoding::put_long(&mut out, v);
    out
}

#[test]
fn skipping_a_writer_array_of_zero_size_items_is_capped() {
    // The writer has a field the reader lacks: an array of nulls, or of empty records. A count of i64::MAX (or
    // 2^30) such items used to spin in the skip; it is refused as the decoder refuses it.
    for items in [r#""null""#, r#"{"type":"record","name":"E","fields":[]}"#] {
        let writer = Schema::parse(&format!(
            r#"{{"type":"record","name":"Kept","fields":[
                {{"name":"junk","type":{{"type":"array","items":{items}}}}},{{"name":"b","type":"int"}}]}}"#
        ))
        .unwrap();
        let resolver = Resolver::new(&writer, Kept::schema().unwrap().schema()).unwrap();
        for count in [i64::MAX, 1 << 30, (encoding::MAX_ZERO_SIZE_ITEMS + 1) as i64] {
            let mut body = long(count);
            body.extend(long(0));
            body.extend(long(7));
            let err = resolver.read::<Kept>(&body, &mut Vec::new()).unwrap_err();
            assert!(matches!(err.root_cause(), DecodeError::TooManyItems { .. }), "{err}");
            // Across blocks too: two blocks of half the cap plus one.
            let half = (encoding::MAX_ZERO_SIZE_ITEMS / 2 + 1) as i64;
            let mut body = long(half);
            body.extend(long(half));
            body.extend(long(0));
            body.extend(long(7));
            let err = resolver.read::<Kept>(&body, &mut Vec::new()).unwrap_err();
            assert!(matches!(err.root_cause(), DecodeError::TooManyItems { .. }), "{err}");
        }
        // Within the cap, the skip still reads the value.
        let mut body = long(3);
        body.extend(long(0));
        body.extend(long(7));
        assert_eq!(resolver.read::<Kept>(&body, &mut Vec::new()).unwrap(), Kept { b: 7 });
    }
    // Items of a known size cannot outnumber the input, skipped or not.
    let writer = Schema::parse(
        r#"{"type":"record","name":"Kept","fields":[
            {"name":"junk","type":{"type":"array","items":"long"}},{"name":"b","type":"int"}]}"#,
    )
    .unwrap();
    let resolver = Resolver::new(&writer, Kept::schema().unwrap().schema()).unwrap();
    let mut body = long(i64::MAX);
    body.extend(long(7));
    let err = resolver.read::<Kept>(&body, &mut Vec::new()).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::BlockTooLarge { .. }), "{err}");
}

/// Records `D0` … `D(levels-1)`, each holding two fields of the next one, under an array: a 7 KB text at 40
/// levels, whose minimum size computed without memo costs 2^40 steps.
fn doubling(levels: usize) -> String {
    let mut inner = r#"{"type":"record","name":"Leaf","fields":[{"name":"x","type":"int"}]}"#.to_string();
    let mut next = "Leaf".to_string();
    for i in (0..levels).rev() {
        inner = format!(
            r#"{{"type":"record","name":"D{i}","fields":[{{"name":"a","type":{inner}}},{{"name":"b","type":"{next}"}}]}}"#
        );
        next = format!("D{i}");
    }
    format!(
        r#"{{"type":"record","name":"Top","fields":[{{"name":"items","type":{{"type":"array","items":{inner}}}}},
        {{"name":"m","type":{{"type":"map","values":"D0"}}}}]}}"#
    )
}

#[test]
fn plans_for_schemas_that_double_at_each_level_are_built_in_linear_time() {
    let text = doubling(40);
    let schema = Schema::parse(&text).unwrap();
    let resolver = Resolver::new(&schema, &schema).unwrap();
    // The minimum size saturates rather than overflows: 2^40 ints.
    let mut body = long(1);
    body.extend(long(0));
    let err = resolver.project(&body, &mut Vec::new()).unwrap_err();
    assert!(matches!(err, DecodeError::BlockTooLarge { .. }), "{err}");
}

#[test]
fn wide_enums_unions_and_records_parse_in_linear_time() {
    // 200,000 symbols took 53 s when each was compared with every one before it.
    let n = 200_000;
    let symbols: Vec<String> = (0..n).map(|i| format!("\"S{i}\"")).collect();
    let text = format!(r#"{{"type":"enum","name":"E","symbols":[{}]}}"#, symbols.join(","));
    Schema::parse(&text).unwrap();
    let fields: Vec<String> = (0..n).map(|i| format!(r#"{{"name":"f{i}","type":"null"}}"#)).collect();
    let text = format!(r#"{{"type":"record","name":"R","fields":[{}]}}"#, fields.join(","));
    let wide = Schema::parse(&text).unwrap();
    assert!(check(&wide, &wide, &CheckOptions::default()).is_empty());
    let branches: Vec<String> = (0..n / 10).map(|i| format!(r#"{{"type":"fixed","name":"F{i}","size":1}}"#)).collect();
    let union = Schema::parse(&format!("[{}]", branches.join(","))).unwrap();
    assert!(check(&union, &union, &CheckOptions::default()).is_empty());
    // Duplicates are still found, and named with an excerpt.
    let long_name = "n".repeat(1 << 20);
    let text = format!(r#"{{"type":"enum","name":"E","symbols":["{long_name}","{long_name}"]}}"#);
    let err = Schema::parse(&text).unwrap_err();
    assert!(err.to_string().len() < 300, "{} bytes", err.to_string().len());
}

#[test]
fn a_union_of_thousands_of_records_compares_in_linear_memory() {
    // `compat` on a union of 4,000 records (180 KB) used 6 GB: every writer branch was compared with every
    // reader branch, each comparison remembered.
    let records: Vec<String> = (0..4_000)
        .map(|i| format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
        .collect();
    let schema = Schema::parse(&format!("[{}]", records.join(","))).unwrap();
    assert!(check(&schema, &schema, &CheckOptions::default()).is_empty());
    Resolver::new(&schema, &schema).unwrap();
    // A reader that lacks every branch: thousands of findings, each quoting a short excerpt.
    let other = Schema::parse(r#"["null",{"type":"record","name":"Z","fields":[]}]"#).unwrap();
    let found = check(&other, &schema, &CheckOptions::default());
    assert_eq!(found.len(), 4_000);
    assert!(found.iter().all(|i| i.reader.len() < 300 && i.writer.len() < 300));
    let err = Resolver::new(&other, &schema).unwrap_err();
    assert!(err.to_string().len() < 16 << 10, "{} bytes", err.to_string().len());
}

#[test]
fn findings_quote_huge_names_as_excerpts() {
    let name = "N".repeat(1 << 20);
    let reader = Schema::parse(&format!(r#"{{"type":"record","name":"{name}","fields":[]}}"#)).unwrap();
    let writer = Schema::parse(&format!(r#"{{"type":"record","name":"W{name}","fields":[]}}"#)).unwrap();
    let found = check(&reader, &writer, &CheckOptions::default());
    assert_eq!(found.len(), 1);
    let total = found[0].to_string().len();
    assert!(total < 2_000, "{total} bytes");
}
