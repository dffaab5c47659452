use super::*;

fn canonical(json: &str) -> String {
    Schema::parse(json).unwrap().canonical_form()
}

#[test]
fn canonical_form_follows_the_specification() {
    assert_eq!(canonical(r#""int""#), r#""int""#);
    assert_eq!(canonical(r#"{"type":"string","logicalType":"uuid"}"#), r#""string""#);
    assert_eq!(
        canonical(r#"{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}"#),
        r#""bytes""#,
        "a decimal's precision and scale are stripped"
    );
    assert_eq!(
        canonical(
            r#"{"type":"record","name":"R","namespace":"a.b","doc":"d","aliases":["Old"],"fields":[
                {"name":"x","type":{"type":"array","items":"long"},"default":[],"doc":"x"},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}},
                {"name":"f","type":{"type":"fixed","name":"F","namespace":"","size":4}},
                {"name":"m","type":{"type":"map","values":["null","E"]}},
                {"name":"self","type":["null","R"],"default":null}]}"#
        ),
        r#"{"name":"a.b.R","type":"record","fields":[{"name":"x","type":{"type":"array","items":"long"}},{"name":"e","type":{"name":"a.b.E","type":"enum","symbols":["A","B"]}},{"name":"f","type":{"name":"F","type":"fixed","size":4}},{"name":"m","type":{"type":"map","values":["null","a.b.E"]}},{"name":"self","type":["null","a.b.R"]}]}"#
    );
}

#[test]
fn fingerprint_matches_the_specification_test_vector() {
    // The specification's CRC-64-AVRO of the canonical form `"int"`, as Java's SchemaNormalization gives it.
    assert_eq!(rabin_fingerprint(br#""int""#), 0x7275_d51a_3f39_5c8f);
}

#[test]
fn custom_attributes_with_reserved_names_are_ignored_not_fatal() {
    // Legal under the specification (attributes it does not define are allowed); apache-avro 0.22 panics on these.
    for attr in [
        r#""precision":"high""#,
        r#""scale":1.5"#,
        r#""size":{}"#,
        r#""symbols":null"#,
        r#""items":16"#,
        r#""values":true"#,
        r#""logicalType":7"#,
        r#""aliases":null"#,
        r#""order":[]"#,
    ] {
        let field = format!(r#"{{"type":"record","name":"R","fields":[{{"name":"a","type":"int",{attr}}}]}}"#);
        let on_record = format!(r#"{{"type":"record","name":"R",{attr},"fields":[{{"name":"a","type":"int"}}]}}"#);
        for text in [field, on_record] {
            match SchemaInfo::parse(text.clone()) {
                Ok(info) => {
                    assert_eq!(
                        info.canonical_form(),
                        r#"{"name":"R","type":"record","fields":[{"name":"a","type":"int"}]}"#
                    )
                }
                Err(e) => assert!(matches!(e, SchemaError::Invalid { .. }), "{text}: {e}"),
            }
        }
    }
    let decimal_text = r#"{"type":"bytes","logicalType":"decimal","precision":"high"}"#;
    assert_eq!(Schema::parse(decimal_text).unwrap().root(), &Node::Primitive(Primitive::Bytes, None));
}

#[test]
fn invalid_schemas_are_typed_errors_with_short_messages() {
    type Expected = fn(&SchemaError) -> bool;
    let cases: &[(&str, Expected)] = &[
        ("not json", |e| matches!(e, SchemaError::Invalid { .. })),
        (r#""Unknown""#, |e| matches!(e, SchemaError::UnknownType { name } if name == "Unknown")),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
            |e| matches!(e, SchemaError::InvalidDefault { field, .. } if field == "R.a"),
        ),
        (r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":3000000000}]}"#, |e| {
            matches!(e, SchemaError::InvalidDefault { .. })
        }),
        (r#"["int","int"]"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"["null",["int"]]"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"{"type":"record","name":"1R","fields":[]}"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"{"type":"enum","name":"E","symbols":["A","A"]}"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"{"type":"enum","name":"E","symbols":["A"],"default":"B"}"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"{"type":"fixed","name":"F","size":-1}"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (r#"{"type":"array"}"#, |e| matches!(e, SchemaError::Invalid { .. })),
        (
            r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#,
            |e| matches!(e, SchemaError::Invalid { reason } if reason.contains("defined twice")),
        ),
        (r#"{"type":"record","name":"int","fields":[]}"#, |e| matches!(e, SchemaError::Invalid { .. })),
    ];
    for (text, expected) in cases {
        let err = Schema::parse(text).unwrap_err();
        assert!(expected(&err), "{text}: {err:?}");
    }
    // A huge unknown name is quoted as a short excerpt only.
    let long = format!("\"{}\"", "x".repeat(1_000_000));
    let err = Schema::parse(&long).unwrap_err().to_string();
    assert!(err.len() < 300, "{} bytes", err.len());
}

#[test]
fn defaults_are_checked_like_java_1_12() {
    let ok = |field_type: &str, default: &str| {
        let text = format!(
            r#"{{"type":"record","name":"R","fields":[{{"name":"a","type":{field_type},"default":{default}}}]}}"#
        );
        Schema::parse(&text).is_ok()
    };
    assert!(ok(r#"["null","string"]"#, "null"));
    assert!(ok(r#"["null","string"]"#, r#""x""#), "a union default may match any branch (AVRO-3649)");
    assert!(!ok(r#"["null","string"]"#, "1"));
    assert!(ok(r#""long""#, "9007199254740993"));
    assert!(ok(r#""double""#, "1"));
    assert!(ok(r#"{"type":"array","items":"int"}"#, "[1,2]"));
    assert!(!ok(r#"{"type":"array","items":"int"}"#, r#"["a"]"#));
    assert!(ok(r#"{"type":"map","values":"boolean"}"#, r#"{"k":true}"#));
    assert!(ok(r#"{"type":"enum","name":"E","symbols":["A"]}"#, r#""A""#));
    assert!(!ok(r#"{"type":"enum","name":"E","symbols":["A"]}"#, r#""B""#));
    assert!(ok(r#"{"type":"record","name":"S","fields":[{"name":"x","type":"int","default":1}]}"#, "{}"));
    assert!(!ok(r#"{"type":"record","name":"S","fields":[{"name":"x","type":"int"}]}"#, "{}"));
}

#[test]
fn names_resolve_through_namespaces_and_references() {
    let s = Schema::parse(
        r#"{"type":"record","name":"R","namespace":"n","fields":[
            {"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},
            {"name":"b","type":"E"},{"name":"c","type":"n.E"},
            {"name":"d","type":{"type":"record","name":"o.Inner","fields":[{"name":"e","type":"n.E"}]}}]}"#,
    )
    .unwrap();
    let names: Vec<String> = s.named_types().iter().map(|t| t.name.full()).collect();
    assert_eq!(names, ["n.R", "n.E", "o.Inner"]);

    let address =
        r#"{"type":"record","name":"Address","namespace":"shop","fields":[{"name":"city","type":"shop.City"}]}"#;
    let city = r#"{"type":"record","name":"City","namespace":"shop","fields":[{"name":"name","type":"string"}]}"#;
    let order = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"to","type":"Address"}]}"#;
    // References in any order.
    let info = SchemaInfo::parse_with_references(order, &[address, city]).unwrap();
    assert_eq!(
        info.canonical_form(),
        r#"{"name":"shop.Order","type":"record","fields":[{"name":"to","type":{"name":"shop.Address","type":"record","fields":[{"name":"city","type":{"name":"shop.City","type":"record","fields":[{"name":"name","type":"string"}]}}]}}]}"#
    );
    assert!(matches!(SchemaInfo::parse_with_references(order, &[address]), Err(SchemaError::UnknownType { .. })));
}

#[test]
fn logical_types_are_validated_and_invalid_ones_ignored() {
    let root = |t: &str| Schema::parse(t).unwrap().root().clone();
    assert_eq!(
        root(r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#),
        Node::Primitive(Primitive::Bytes, Some(LogicalType::Decimal { precision: 4, scale: 2 }))
    );
    assert_eq!(
        root(r#"{"type":"bytes","logicalType":"decimal","precision":2,"scale":3}"#),
        Node::Primitive(Primitive::Bytes, None)
    );
    assert_eq!(root(r#"{"type":"int","logicalType":"timestamp-millis"}"#), Node::Primitive(Primitive::Int, None));
    assert_eq!(
        root(r#"{"type":"long","logicalType":"timestamp-micros"}"#),
        Node::Primitive(Primitive::Long, Some(LogicalType::TimestampMicros))
    );
    let fixed = Schema::parse(r#"{"type":"fixed","name":"D","size":2,"logicalType":"decimal","precision":5}"#).unwrap();
    assert!(
        matches!(fixed.named_types()[0].kind, NamedKind::Fixed { size: 2, logical: None }),
        "2 bytes hold 4 digits at most"
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{}\"int\"{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Schema::parse(&deep).is_err());
    let deep = format!("{}\"int\"{}", r#"{"type":"array","items":"#.repeat(10_000), "}".repeat(10_000));
    assert!(Schema::parse(&deep).is_err());
}

#[test]
fn forward_references_resolve_as_java_1_12_resolves_them() {
    // A field uses a type defined by a later field: the canonical form defines it where it is first reached.
    let s = Schema::parse(
        r#"{"type":"record","name":"O","namespace":"n","fields":[{"name":"a","type":["null","A"]},
            {"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}}]}"#,
    )
    .unwrap();
    assert_eq!(
        s.canonical_form(),
        r#"{"name":"n.O","type":"record","fields":[{"name":"a","type":["null",{"name":"n.A","type":"record","fields":[{"name":"c","type":"string"}]}]},{"name":"b","type":"n.A"}]}"#
    );
    assert_eq!(s.named_types().len(), 2);
    // References may come in any order: each is parsed once.
    let a = r#"{"type":"record","name":"A","fields":[{"name":"b","type":"B"}]}"#;
    let b = r#"{"type":"record","name":"B","fields":[{"name":"x","type":"int"}]}"#;
    let root = r#"{"type":"record","name":"Top","fields":[{"name":"a","type":"A"}]}"#;
    let one = SchemaInfo::parse_with_references(root, &[a, b]).unwrap();
    let other = SchemaInfo::parse_with_references(root, &[b, a]).unwrap();
    assert_eq!(one.canonical_form(), other.canonical_form());
    // A name defined nowhere is still unknown; one defined twice is still refused; so is a union whose two
    // branches turn out to be one type.
    assert!(matches!(
        Schema::parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nowhere"}]}"#),
        Err(SchemaError::UnknownType { name }) if name == "Nowhere"
    ));
    assert!(
        Schema::parse(
            r#"{"type":"record","name":"R","namespace":"n","fields":[{"name":"u","type":["A","n.A"]},
                {"name":"d","type":{"type":"enum","name":"A","symbols":["X"]}}]}"#
        )
        .is_err_and(|e| e.to_string().contains("twice"))
    );
    // A default whose type is defined later is checked once it is.
    assert!(matches!(
        Schema::parse(
            r#"{"type":"record","name":"R","fields":[{"name":"e","type":"E","default":"Z"},
                {"name":"d","type":{"type":"enum","name":"E","symbols":["X"]}}]}"#
        ),
        Err(SchemaError::InvalidDefault { .. })
    ));
}
