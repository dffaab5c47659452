//! Container attributes that say where the runtime is (`crate`) and which bounds the impls need (`bound`), bounds
//! inferred only for type parameters that encoded fields use, and user types whose names logical types also have.

use typed_kafka::{AvroDecode, AvroType, KafkaRecord};

mod renamed {
    pub(crate) use typed_kafka as tk;
}

/// Through a re-export under another name.
#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "renamed::tk")]
struct ViaRenamed {
    a: i32,
}

/// With the Avro core alone, as a codec-only user who depends on `typed-kafka-avro` would write it.
#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro", namespace = "core")]
struct ViaCore {
    b: String,
}

#[test]
fn the_runtime_path_can_be_given() {
    let mut buf = Vec::new();
    ViaRenamed { a: 5 }.encode_body(&mut buf).unwrap();
    assert_eq!(ViaRenamed::decode_body(&buf).unwrap(), ViaRenamed { a: 5 });
    buf.clear();
    ViaCore { b: "x".into() }.encode_body(&mut buf).unwrap();
    assert_eq!(ViaCore::decode_body(&buf).unwrap().b, "x");
    assert_eq!(ViaCore::schema().unwrap().full_name().as_deref(), Some("core.ViaCore"));
}

/// A user's own type named `Decimal`: an ordinary record, not rust_decimal's logical type.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
struct Decimal {
    units: i64,
    nanos: i32,
}

/// A user's own type named `DateTime`.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
struct DateTime {
    epoch_day: i32,
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct UsesOwnTypes {
    price: Decimal,
    at: DateTime,
    #[kafka(default_json = r#"{"epoch_day": 0}"#)]
    since: DateTime,
}

#[test]
fn own_types_named_like_logical_types_are_records() {
    let v = UsesOwnTypes {
        price: Decimal { units: 3, nanos: 5 },
        at: DateTime { epoch_day: 9 },
        since: DateTime { epoch_day: 0 },
    };
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    assert_eq!(UsesOwnTypes::decode_body(&buf).unwrap(), v);
    let canonical = UsesOwnTypes::schema().unwrap().canonical_form().to_string();
    assert!(canonical.contains(r#"{"name":"Decimal","type":"record""#), "{canonical}");
    assert!(canonical.contains(r#"{"name":"DateTime","type":"record""#), "{canonical}");
}

/// Not an Avro type at all.
#[derive(Default, Debug, PartialEq)]
struct NotAvro;

/// `M` appears only in a skipped field: it needs no Avro mapping and is not part of the schema's name.
#[derive(KafkaRecord, Debug, PartialEq)]
struct Tagged<M: Default> {
    a: i32,
    #[kafka(skip)]
    marker: M,
}

#[test]
fn only_type_parameters_of_encoded_fields_are_bounded() {
    let v = Tagged::<NotAvro> { a: 1, marker: NotAvro };
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    assert_eq!(Tagged::<NotAvro>::decode_body(&buf).unwrap(), v);
    assert_eq!(Tagged::<NotAvro>::schema().unwrap().full_name().as_deref(), Some("Tagged"));
}

/// A trait the user's bound mentions.
trait Unit: Default {}
impl Unit for NotAvro {}

/// `bound` replaces the inferred bounds (here it adds `U: Unit`, which the derive cannot know about).
#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(bound(encode = "T: AvroType, U: Unit", decode = "T: AvroDecode<'de>, U: Unit"))]
struct Measured<T, U> {
    value: T,
    #[kafka(skip)]
    unit: U,
}

#[test]
fn bounds_can_be_given() {
    let v = Measured::<i64, NotAvro> { value: 7, unit: NotAvro };
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    assert_eq!(Measured::<i64, NotAvro>::decode_body(&buf).unwrap(), v);
    assert_eq!(Measured::<i64, NotAvro>::schema().unwrap().full_name().as_deref(), Some("Measured_long"));
}
