//! The compatibility checker on hand-written pairs: every rule, every promotion, the cases where Avro Java 1.12's
//! reports fall short (its verdicts are the expected verdicts; the differential test against Java itself is in the
//! integration tests), recursion, and levels over a history.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use typed_kafka_avro::compat::{CheckOptions, CompatibilityLevel, Direction, Rule, check, check_level};
use typed_kafka_avro::schema::Schema;

fn schema(json: &str) -> Schema {
    Schema::parse(json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

fn record(name: &str, fields: &str) -> Schema {
    schema(&format!(r#"{{"type":"record","name":"{name}","fields":[{fields}]}}"#))
}

/// `(rule, path)` of every incompatibility of reading `writer` with `reader`.
fn breaks(reader: &Schema, writer: &Schema) -> Vec<(Rule, String)> {
    check(reader, writer, &CheckOptions::default()).into_iter().map(|i| (i.rule, i.path)).collect()
}

fn semantic(reader: &Schema, writer: &Schema) -> Vec<(Rule, String)> {
    check(reader, writer, &CheckOptions { semantic: true }).into_iter().map(|i| (i.rule, i.path)).collect()
}

fn p(s: &str) -> String {
    s.to_string()
}

#[test]
fn primitive_promotions_follow_the_specification() {
    let prims = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];
    let allowed = [
        ("int", "long"),
        ("int", "float"),
        ("int", "double"),
        ("long", "float"),
        ("long", "double"),
        ("float", "double"),
        ("string", "bytes"),
        ("bytes", "string"),
    ];
    for w in prims {
        for r in prims {
            let ok = r == w || allowed.contains(&(w, r));
            let found = breaks(&schema(&format!("\"{r}\"")), &schema(&format!("\"{w}\"")));
            assert_eq!(found.is_empty(), ok, "reader {r}, writer {w}: {found:?}");
            if !ok {
                assert_eq!(found, [(Rule::TypeMismatch, p("/"))]);
            }
        }
    }
}

#[test]
fn fields_defaults_and_aliases() {
    let v1 = record("R", r#"{"name":"a","type":"int"},{"name":"gone","type":"string"}"#);
    let v2 = record("R", r#"{"name":"a","type":"long"},{"name":"b","type":"string","default":""}"#);
    assert!(breaks(&v2, &v1).is_empty(), "promoted, removed, added with a default");
    let v3 = record("R", r#"{"name":"a","type":"int"},{"name":"c","type":"string"}"#);
    assert_eq!(breaks(&v3, &v1), [(Rule::ReaderFieldMissingDefaultValue, p("/fields/c"))]);
    // Renamed with an alias (the reader's alias), and a renamed type with an alias.
    let renamed = schema(
        r#"{"type":"record","name":"New","aliases":["R"],"fields":[{"name":"y","aliases":["a"],"type":"int"},{"name":"gone","type":"string"}]}"#,
    );
    assert!(breaks(&renamed, &v1).is_empty());
    let no_alias = record("New", r#"{"name":"a","type":"int"}"#);
    assert_eq!(breaks(&no_alias, &v1), [(Rule::NameMismatch, p("/name"))]);
    // Only the reader's aliases count.
    let writer_alias = schema(r#"{"type":"record","name":"R","fields":[{"name":"y","aliases":["a"],"type":"int"}]}"#);
    assert_eq!(
        breaks(&record("R", r#"{"name":"a","type":"int"}"#), &writer_alias),
        [(Rule::ReaderFieldMissingDefaultValue, p("/fields/a"))]
    );
}

#[test]
fn every_break_is_reported_with_a_name_path() {
    // Java reports these three by positional paths (`/fields/0/type`, `/fields/1/type/size`, ...).
    let writer = record(
        "R",
        r#"{"name":"n","type":"long"},{"name":"f","type":{"type":"fixed","name":"F","size":4}},{"name":"xs","type":{"type":"array","items":"string"}}"#,
    );
    let reader = record(
        "R",
        r#"{"name":"n","type":"int"},{"name":"f","type":{"type":"fixed","name":"F","size":8}},{"name":"xs","type":{"type":"array","items":"int"}}"#,
    );
    assert_eq!(
        breaks(&reader, &writer),
        [
            (Rule::TypeMismatch, p("/fields/n")),
            (Rule::FixedSizeMismatch, p("/fields/f/size")),
            (Rule::TypeMismatch, p("/fields/xs/items")),
        ]
    );
    let found = check(&reader, &writer, &CheckOptions::default());
    assert_eq!((found[0].reader.as_str(), found[0].writer.as_str()), (r#""int""#, r#""long""#));
    assert!(found[1].message.contains("expected size 4, found 8"), "{}", found[1].message);
}

#[test]
fn the_real_cause_inside_a_union_branch_is_reported() {
    let address = |extra: &str| {
        format!(
            r#"{{"type":"record","name":"Address","namespace":"shop","fields":[{{"name":"city","type":"string"}}{extra}]}}"#
        )
    };
    let v1 = record("Customer", &format!(r#"{{"name":"home","type":["null",{}],"default":null}}"#, address("")));
    let v2 = record(
        "Customer",
        &format!(
            r#"{{"name":"home","type":["null",{}],"default":null}}"#,
            address(r#",{"name":"zip","type":"string"}"#)
        ),
    );
    // Java: only MISSING_UNION_BRANCH at /fields/0/type/1.
    assert_eq!(breaks(&v2, &v1), [(Rule::ReaderFieldMissingDefaultValue, p("/fields/home/shop.Address/fields/zip"))]);
    // A writer branch the reader has no counterpart for.
    let narrow = record("Customer", r#"{"name":"home","type":["null","string"],"default":null}"#);
    assert_eq!(breaks(&narrow, &v1), [(Rule::MissingUnionBranch, p("/fields/home/shop.Address"))]);
    // Writer union, reader not: every branch must be readable.
    let plain = record("R", r#"{"name":"a","type":"long"}"#);
    let optional = record("R", r#"{"name":"a","type":["null","int"],"default":null}"#);
    assert_eq!(breaks(&plain, &optional), [(Rule::TypeMismatch, p("/fields/a/null"))]);
    assert!(breaks(&optional, &plain).len() == 1, "the reader union has no long branch");
    assert!(breaks(&record("R", r#"{"name":"a","type":["null","long"],"default":null}"#), &plain).is_empty());
}

#[test]
fn named_types_compare_by_definition_and_report_at_each_use() {
    let addr = |extra: &str| {
        format!(r#"{{"type":"record","name":"Address","fields":[{{"name":"city","type":"string"}}{extra}]}}"#)
    };
    let v1 =
        record("Order", &format!(r#"{{"name":"billing","type":{}}},{{"name":"shipping","type":"Address"}}"#, addr("")));
    // The definition moves from billing to shipping: no break (apache-avro 0.22 reports one).
    let moved =
        record("Order", &format!(r#"{{"name":"shipping","type":{}}},{{"name":"billing","type":"Address"}}"#, addr("")));
    assert!(breaks(&moved, &v1).is_empty());
    // A break in the type is reported at both uses (Java reports the first path twice).
    let v2 = record(
        "Order",
        &format!(
            r#"{{"name":"billing","type":{}}},{{"name":"shipping","type":"Address"}}"#,
            addr(r#",{"name":"zip","type":"string"}"#)
        ),
    );
    assert_eq!(
        breaks(&v2, &v1),
        [
            (Rule::ReaderFieldMissingDefaultValue, p("/fields/billing/fields/zip")),
            (Rule::ReaderFieldMissingDefaultValue, p("/fields/shipping/fields/zip")),
        ]
    );
}

#[test]
fn enums() {
    let e = |symbols: &str, default: &str| {
        record("R", &format!(r#"{{"name":"s","type":{{"type":"enum","name":"S","symbols":[{symbols}]{default}}}}}"#))
    };
    let abc = e(r#""A","B","C""#, "");
    assert_eq!(breaks(&e(r#""A","B""#, ""), &abc), [(Rule::MissingEnumSymbols, p("/fields/s/symbols"))]);
    assert!(breaks(&e(r#""A","B""#, r#","default":"A""#), &abc).is_empty(), "the enum default absorbs C");
    assert!(breaks(&abc, &e(r#""A","B""#, "")).is_empty(), "adding symbols is backward compatible");
    let found = check(&e(r#""A""#, ""), &abc, &CheckOptions::default());
    assert!(found[0].message.contains("[B, C]"), "{}", found[0].message);
    // A new enum field with only an enum-level default: the field itself needs a default (Java says TYPE_MISMATCH).
    let with_enum = record(
        "R",
        r#"{"name":"a","type":"int"},{"name":"s","type":{"type":"enum","name":"S","symbols":["A"],"default":"A"}}"#,
    );
    assert_eq!(
        breaks(&with_enum, &record("R", r#"{"name":"a","type":"int"}"#)),
        [(Rule::ReaderFieldMissingDefaultValue, p("/fields/s"))]
    );
}

#[test]
fn names_namespaces_and_semantic_rules() {
    let a = schema(r#"{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":"int"}]}"#);
    let b = schema(r#"{"type":"record","name":"R","namespace":"b","fields":[{"name":"x","type":"int"}]}"#);
    assert!(breaks(&b, &a).is_empty(), "Java compares unqualified names (AVRO-2400)");
    assert_eq!(semantic(&b, &a), [(Rule::NamespaceChanged, p("/name"))]);

    let dec = |s: u32| {
        record(
            "P",
            &format!(r#"{{"name":"v","type":{{"type":"bytes","logicalType":"decimal","precision":9,"scale":{s}}}}}"#),
        )
    };
    assert!(breaks(&dec(4), &dec(2)).is_empty(), "Java ignores logical types");
    assert_eq!(semantic(&dec(4), &dec(2)), [(Rule::DecimalChanged, p("/fields/v"))]);
    let ts = |l: &str| record("T", &format!(r#"{{"name":"at","type":{{"type":"long","logicalType":"{l}"}}}}"#));
    assert!(breaks(&ts("timestamp-micros"), &ts("timestamp-millis")).is_empty());
    assert_eq!(
        semantic(&ts("timestamp-micros"), &ts("timestamp-millis")),
        [(Rule::LogicalTypeChanged, p("/fields/at"))]
    );
    let uuid = record("U", r#"{"name":"id","type":{"type":"string","logicalType":"uuid"}}"#);
    assert_eq!(
        semantic(&uuid, &record("U", r#"{"name":"id","type":"string"}"#)),
        [(Rule::LogicalTypeChanged, p("/fields/id"))]
    );
    assert!(semantic(&uuid, &uuid).is_empty());
}

#[test]
fn recursive_types_terminate_and_report() {
    let list = |extra: &str| {
        schema(&format!(
            r#"{{"type":"record","name":"Node","fields":[{{"name":"v","type":"int"}},{{"name":"next","type":["null","Node"],"default":null}}{extra}]}}"#
        ))
    };
    assert!(breaks(&list(""), &list("")).is_empty());
    let grown = list(r#",{"name":"w","type":"int"}"#);
    assert_eq!(breaks(&grown, &list("")), [(Rule::ReaderFieldMissingDefaultValue, p("/fields/w"))]);
    assert!(breaks(&list(""), &grown).is_empty());
}

#[test]
fn levels_over_a_history() {
    let v1 = record("R", r#"{"name":"a","type":"int"}"#);
    let v2 = record("R", r#"{"name":"a","type":"int"},{"name":"b","type":"int","default":0}"#);
    let v3 = record("R", r#"{"name":"b","type":"int","default":0}"#); // drops a (no default): breaks FORWARD
    let history = [v1, v2];
    let level = |l| check_level(&v3, &history, l, &CheckOptions::default());
    assert!(level(CompatibilityLevel::Backward).is_empty());
    assert!(level(CompatibilityLevel::BackwardTransitive).is_empty());
    assert!(level(CompatibilityLevel::None).is_empty());
    let forward = level(CompatibilityLevel::Forward);
    assert_eq!(forward.len(), 1);
    assert_eq!((forward[0].index, forward[0].direction), (1, Direction::OldReadsNew));
    assert_eq!(forward[0].incompatibilities[0].path, "/fields/a");
    // Transitive: every failing version is reported, not only the first.
    let all = level(CompatibilityLevel::FullTransitive);
    assert_eq!(
        all.iter().map(|f| (f.index, f.direction)).collect::<Vec<_>>(),
        [(0, Direction::OldReadsNew), (1, Direction::OldReadsNew)]
    );
    assert_eq!("backward_transitive".parse::<CompatibilityLevel>(), Ok(CompatibilityLevel::BackwardTransitive));
}
