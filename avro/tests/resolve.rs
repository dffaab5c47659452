//! Reading data written with another schema into a derived type: the writer's body is transcoded by a resolver
//! built once per schema pair, then read by the type's own decoder.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::HashMap;

use typed_kafka_avro::KafkaRecord;
use typed_kafka_avro::compat::Rule;
use typed_kafka_avro::resolve::Resolver;
use typed_kafka_avro::schema::Schema;
use typed_kafka_derive::KafkaRecord;

/// Version 1 of a record, as an older producer writes it.
mod v1 {
    use super::*;

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) enum Status {
        Placed,
        Paid,
        Refunded,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) struct Line {
        pub(crate) sku: String,
        pub(crate) qty: i32,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) struct Order {
        pub(crate) id: i64,
        pub(crate) status: Status,
        pub(crate) legacy_code: String,
        pub(crate) lines: Vec<Line>,
        pub(crate) total: f32,
        pub(crate) tags: HashMap<String, i32>,
        pub(crate) note: Option<String>,
    }
}

/// Version 2: a field added with a default, one removed, fields reordered, promotions (int→long, float→double,
/// int→double in a map), an enum symbol dropped but absorbed by the enum default, a nested record grown.
mod v2 {
    use super::*;

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) enum Status {
        #[kafka(default)]
        Unknown,
        Placed,
        Paid,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) struct Line {
        pub(crate) qty: i64,
        pub(crate) sku: String,
        #[kafka(default = "each")]
        pub(crate) unit: String,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "shop")]
    pub(crate) struct Order {
        pub(crate) status: Status,
        pub(crate) id: i64,
        pub(crate) note: Option<String>,
        pub(crate) lines: Vec<Line>,
        pub(crate) total: f64,
        pub(crate) tags: HashMap<String, f64>,
        #[kafka(default = 7)]
        pub(crate) priority: i32,
    }
}

fn schema<T: KafkaRecord>() -> &'static Schema {
    T::schema().unwrap().schema()
}

fn read_as<R>(writer: &Schema, bytes: &[u8]) -> R
where
    R: KafkaRecord + for<'de> typed_kafka_avro::AvroDecode<'de>,
{
    let resolver = Resolver::new(writer, schema::<R>()).unwrap();
    let mut input = bytes;
    let mut out = Vec::new();
    resolver.transcode(&mut input, &mut out).unwrap();
    assert!(input.is_empty(), "{} writer bytes left", input.len());
    R::decode_body(&out).unwrap()
}

fn old_order(status: v1::Status) -> v1::Order {
    v1::Order {
        id: 42,
        status,
        legacy_code: "X-1".into(),
        lines: vec![v1::Line { sku: "A".into(), qty: 2 }, v1::Line { sku: "B".into(), qty: 3 }],
        total: 12.5,
        tags: HashMap::from([("vip".to_string(), 1)]),
        note: Some("gift".into()),
    }
}

#[test]
fn a_newer_reader_reads_older_data() {
    let mut bytes = Vec::new();
    old_order(v1::Status::Paid).encode_body(&mut bytes).unwrap();
    let read: v2::Order = read_as(schema::<v1::Order>(), &bytes);
    assert_eq!(
        read,
        v2::Order {
            status: v2::Status::Paid,
            id: 42,
            note: Some("gift".into()),
            lines: vec![
                v2::Line { qty: 2, sku: "A".into(), unit: "each".into() },
                v2::Line { qty: 3, sku: "B".into(), unit: "each".into() },
            ],
            total: 12.5,
            tags: HashMap::from([("vip".to_string(), 1.0)]),
            priority: 7,
        }
    );
    // A symbol the reader dropped becomes its enum default.
    bytes.clear();
    old_order(v1::Status::Refunded).encode_body(&mut bytes).unwrap();
    assert_eq!(read_as::<v2::Order>(schema::<v1::Order>(), &bytes).status, v2::Status::Unknown);
}

#[test]
fn an_older_reader_reads_newer_data_where_the_schemas_allow() {
    // v1 cannot read v2: legacy_code has no default, and v2's numbers do not narrow.
    let err = Resolver::new(schema::<v2::Order>(), schema::<v1::Order>()).unwrap_err();
    let rules: Vec<(Rule, &str)> = err.breaks.iter().map(|b| (b.rule, b.path.as_str())).collect();
    assert!(rules.contains(&(Rule::ReaderFieldMissingDefaultValue, "/fields/legacy_code")), "{rules:?}");
    assert!(rules.contains(&(Rule::TypeMismatch, "/fields/total")), "{rules:?}");
    assert!(rules.contains(&(Rule::TypeMismatch, "/fields/lines/items/fields/qty")), "{rules:?}");
    assert!(err.to_string().contains("/fields/legacy_code"), "{err}");
}

#[test]
fn identical_schemas_transcode_to_the_same_bytes() {
    let mut bytes = Vec::new();
    old_order(v1::Status::Placed).encode_body(&mut bytes).unwrap();
    let r = Resolver::new(schema::<v1::Order>(), schema::<v1::Order>()).unwrap();
    let mut out = Vec::new();
    r.transcode(&mut bytes.as_slice(), &mut out).unwrap();
    assert_eq!(out, bytes);
}

/// Unions: a plain writer field read as an optional one, and an optional writer field read as a wider union.
#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "U")]
struct PlainU {
    a: i32,
    b: Option<String>,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "U")]
struct OptionalU {
    a: Option<i64>,
    b: Option<String>,
}

#[test]
fn unions_are_resolved_by_branch() {
    let mut bytes = Vec::new();
    PlainU { a: -5, b: None }.encode_body(&mut bytes).unwrap();
    assert_eq!(read_as::<OptionalU>(schema::<PlainU>(), &bytes), OptionalU { a: Some(-5), b: None });
    // The other way needs every writer branch readable: null is not an int.
    let err = Resolver::new(schema::<OptionalU>(), schema::<PlainU>()).unwrap_err();
    assert_eq!(err.breaks[0].path, "/fields/a/null");
}

/// A recursive type read across versions.
#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "Node")]
struct NodeV1 {
    v: i32,
    next: Option<Box<NodeV1>>,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "Node")]
struct NodeV2 {
    v: i64,
    next: Option<Box<NodeV2>>,
    #[kafka(default = true)]
    seen: bool,
}

#[test]
fn recursive_types_resolve() {
    let list = NodeV1 { v: 1, next: Some(Box::new(NodeV1 { v: 2, next: None })) };
    let mut bytes = Vec::new();
    list.encode_body(&mut bytes).unwrap();
    let read: NodeV2 = read_as(schema::<NodeV1>(), &bytes);
    assert_eq!(read, NodeV2 { v: 1, seen: true, next: Some(Box::new(NodeV2 { v: 2, next: None, seen: true })) });
}

#[test]
fn hostile_writer_bodies_are_errors() {
    let r = Resolver::new(schema::<v1::Order>(), schema::<v2::Order>()).unwrap();
    let mut bytes = Vec::new();
    old_order(v1::Status::Paid).encode_body(&mut bytes).unwrap();
    for cut in 0..bytes.len() {
        let mut out = Vec::new();
        assert!(r.transcode(&mut &bytes[..cut], &mut out).is_err(), "truncated at {cut}");
    }
    // Deep recursion through the resolver fails like the decoder does.
    let mut deep = Vec::new();
    for _ in 0..10_000 {
        deep.extend([0x02, 0x02]);
    }
    deep.extend([0x02, 0x00]);
    let r = Resolver::new(schema::<NodeV1>(), schema::<NodeV2>()).unwrap();
    let err = r.transcode(&mut deep.as_slice(), &mut Vec::new()).unwrap_err();
    assert!(matches!(err, typed_kafka_avro::DecodeError::TooDeep { .. }), "{err}");
}

/// Three fields, and readers that keep a prefix, append a defaulted field, or reorder.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(crate = "typed_kafka_avro", rename = "S")]
struct Abc {
    a: i64,
    b: String,
    c: Vec<i32>,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "S")]
struct Ab {
    a: i64,
    b: String,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "S")]
struct AbcD {
    a: i64,
    b: String,
    c: Vec<i32>,
    #[kafka(default = "dflt")]
    d: String,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", rename = "S")]
struct Cba {
    c: Vec<i32>,
    b: String,
    a: i64,
}

#[test]
fn every_read_shape_reads_whole_values_and_refuses_truncated_ones() {
    let v = Abc { a: 7, b: "bee".into(), c: vec![1, 2, 3] };
    let mut body = Vec::new();
    v.encode_body(&mut body).unwrap();
    let writer = schema::<Abc>();
    let mut scratch = Vec::new();
    // A prefix of the writer's fields: read from the body directly, the rest skipped.
    let prefix = Resolver::new(writer, schema::<Ab>()).unwrap();
    assert_eq!(prefix.read::<Ab>(&body, &mut scratch).unwrap(), Ab { a: 7, b: "bee".into() });
    // Every writer field, then a default.
    let append = Resolver::new(writer, schema::<AbcD>()).unwrap();
    assert_eq!(
        append.read::<AbcD>(&body, &mut scratch).unwrap(),
        AbcD { a: 7, b: "bee".into(), c: vec![1, 2, 3], d: "dflt".into() }
    );
    // Reordered: transcoded.
    let reorder = Resolver::new(writer, schema::<Cba>()).unwrap();
    assert_eq!(reorder.read::<Cba>(&body, &mut scratch).unwrap(), Cba { c: vec![1, 2, 3], b: "bee".into(), a: 7 });
    for cut in 0..body.len() {
        assert!(prefix.read::<Ab>(&body[..cut], &mut scratch).is_err(), "prefix, cut at {cut}");
        assert!(append.read::<AbcD>(&body[..cut], &mut scratch).is_err(), "append, cut at {cut}");
        assert!(reorder.read::<Cba>(&body[..cut], &mut scratch).is_err(), "reorder, cut at {cut}");
    }
    let mut longer = body.clone();
    longer.push(0);
    assert!(matches!(prefix.read::<Ab>(&longer, &mut scratch), Err(typed_kafka_avro::DecodeError::TrailingBytes(1))));
    assert!(matches!(append.read::<AbcD>(&longer, &mut scratch), Err(typed_kafka_avro::DecodeError::TrailingBytes(1))));
    assert!(matches!(reorder.read::<Cba>(&longer, &mut scratch), Err(typed_kafka_avro::DecodeError::TrailingBytes(1))));
}

/// The Rust type, as the service has it.
mod mine {
    use super::*;

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "reg")]
    pub(crate) enum Kind {
        Small,
        Large,
        Huge,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "reg")]
    pub(crate) struct Parcel {
        pub(crate) id: i32,
        pub(crate) label: Option<String>,
        pub(crate) kinds: Vec<Kind>,
    }
}

/// The schema registered for the subject: `id` wider, `label` required, `Huge` unknown, a field the type lacks.
mod registered {
    use super::*;

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "reg")]
    pub(crate) enum Kind {
        Small,
        Large,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "reg")]
    pub(crate) struct Parcel {
        pub(crate) id: i64,
        pub(crate) label: String,
        pub(crate) kinds: Vec<Kind>,
        #[kafka(default = "standard")]
        pub(crate) service: String,
    }

    #[derive(KafkaRecord, Debug, PartialEq, Clone)]
    #[kafka(crate = "typed_kafka_avro", namespace = "reg", rename = "Parcel")]
    pub(crate) struct Strict {
        pub(crate) id: i64,
        pub(crate) weight: i32,
    }
}

#[test]
fn values_are_written_in_a_registered_schema_that_differs() {
    let p = Resolver::projecting(schema::<mine::Parcel>(), schema::<registered::Parcel>()).unwrap();
    let value =
        mine::Parcel { id: 5, label: Some("fragile".into()), kinds: vec![mine::Kind::Large, mine::Kind::Small] };
    let mut body = Vec::new();
    value.encode_body(&mut body).unwrap();
    assert!(p.violations(&body).is_empty());
    let mut out = Vec::new();
    p.project(&body, &mut out).unwrap();
    assert_eq!(
        registered::Parcel::decode_body(&out).unwrap(),
        registered::Parcel {
            id: 5,
            label: "fragile".into(),
            kinds: vec![registered::Kind::Large, registered::Kind::Small],
            service: "standard".into(),
        }
    );
}

#[test]
fn every_violation_of_a_value_is_listed_with_its_path() {
    let p = Resolver::projecting(schema::<mine::Parcel>(), schema::<registered::Parcel>()).unwrap();
    let value = mine::Parcel { id: 5, label: None, kinds: vec![mine::Kind::Small, mine::Kind::Huge, mine::Kind::Huge] };
    let mut body = Vec::new();
    value.encode_body(&mut body).unwrap();
    assert!(matches!(p.project(&body, &mut Vec::new()), Err(typed_kafka_avro::DecodeError::NotInReaderSchema { .. })));
    let found: Vec<String> = p.violations(&body).iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "at /label: null where the target schema requires a value",
            "at /kinds/1: the target enum has no symbol Huge",
            "at /kinds/2: the target enum has no symbol Huge",
        ]
    );
}

#[test]
fn a_type_that_cannot_be_projected_at_all_is_refused_with_every_break() {
    let err = Resolver::projecting(schema::<mine::Parcel>(), schema::<registered::Strict>()).unwrap_err();
    let paths: Vec<(Rule, &str)> = err.breaks.iter().map(|b| (b.rule, b.path.as_str())).collect();
    assert!(paths.contains(&(Rule::ReaderFieldMissingDefaultValue, "/fields/weight")), "{paths:?}");
    // The conditional breaks are listed too, marked as such.
    let strict = Resolver::new(schema::<mine::Parcel>(), schema::<registered::Parcel>()).unwrap_err();
    assert!(strict.breaks.iter().all(|b| b.conditional), "{strict}");
    assert_eq!(strict.breaks.len(), 2, "{strict}");
}
