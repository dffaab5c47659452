//! The schema each shape derives to (checked in Parsing Canonical Form, plus the parts canonical form drops), and
//! round trips through our encoder and decoder.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::{BTreeMap, HashMap, VecDeque};

use apache_avro::Schema;
use serde_json::{Value, json};
use typed_kafka::avro::schema::resolution_form;
use typed_kafka::avro::schema::shape::to_json;
use typed_kafka::{AvroDecode, DecodeError, EncodeErrorKind, KafkaRecord};

/// The type's compile-time shape (what `topic!` checks contracts with) stands for the schema its writer writes:
/// the same resolution form. Every helper below checks it, so every type of this file is covered.
fn shape_agrees<T: KafkaRecord>() {
    let written = T::schema().unwrap();
    let shape = to_json(T::SHAPE).unwrap_or_else(|| panic!("{} has no compile-time shape", std::any::type_name::<T>()));
    assert_eq!(
        resolution_form(&shape.to_string()).unwrap(),
        resolution_form(written.json()).unwrap(),
        "{}",
        std::any::type_name::<T>()
    );
}

fn canonical<T: KafkaRecord>() -> String {
    shape_agrees::<T>();
    T::schema().unwrap().canonical_form().to_string()
}

fn json_of<T: KafkaRecord>() -> Value {
    shape_agrees::<T>();
    serde_json::from_str(T::schema().unwrap().json()).unwrap()
}

fn roundtrip<T: KafkaRecord + for<'de> AvroDecode<'de> + PartialEq + std::fmt::Debug>(v: &T) -> Vec<u8> {
    shape_agrees::<T>();
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    assert_eq!(&T::decode_body(&buf).unwrap(), v);
    buf
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Primitives {
    b: bool,
    i8v: i8,
    i16v: i16,
    i32v: i32,
    u8v: u8,
    u16v: u16,
    i64v: i64,
    u32v: u32,
    u64v: u64,
    f: f32,
    d: f64,
    s: String,
    boxed: Box<str>,
    unit: (),
}

#[test]
fn primitives_map_to_the_documented_avro_types() {
    assert_eq!(
        canonical::<Primitives>(),
        r#"{"name":"Primitives","type":"record","fields":[{"name":"b","type":"boolean"},{"name":"i8v","type":"int"},{"name":"i16v","type":"int"},{"name":"i32v","type":"int"},{"name":"u8v","type":"int"},{"name":"u16v","type":"int"},{"name":"i64v","type":"long"},{"name":"u32v","type":"long"},{"name":"u64v","type":"long"},{"name":"f","type":"float"},{"name":"d","type":"double"},{"name":"s","type":"string"},{"name":"boxed","type":"string"},{"name":"unit","type":"null"}]}"#
    );
    let v = Primitives {
        b: true,
        i8v: -8,
        i16v: -1600,
        i32v: i32::MIN,
        u8v: 255,
        u16v: 65535,
        i64v: i64::MIN,
        u32v: u32::MAX,
        u64v: i64::MAX as u64,
        f: 1.5,
        d: -2.25,
        s: "grüße".into(),
        boxed: "box".into(),
        unit: (),
    };
    roundtrip(&v);
}

#[test]
fn every_violation_is_reported_with_its_path() {
    use typed_kafka::AvroType;

    #[derive(KafkaRecord, Debug)]
    struct Line {
        sku: String,
        count: u64,
    }
    #[derive(KafkaRecord, Debug)]
    enum Payment {
        Card { number: String, limit: u64 },
        Cash(u64),
    }
    #[derive(KafkaRecord, Debug)]
    struct Order {
        id: u64,
        lines: Vec<Line>,
        extras: BTreeMap<String, u64>,
        payment: Payment,
        refund: Option<Payment>,
        ok: u64,
    }
    let big = u64::MAX;
    let order = Order {
        id: big,
        lines: vec![
            Line { sku: "a".into(), count: 1 },
            Line { sku: "b".into(), count: big },
            Line { sku: "c".into(), count: big },
        ],
        extras: BTreeMap::from([("x/y".to_string(), big), ("z".to_string(), 3)]),
        payment: Payment::Card { number: "4".into(), limit: big },
        refund: Some(Payment::Cash(big)),
        ok: 7,
    };
    // The encoder stops at the first; `violations` finds them all, in field order.
    assert_eq!(order.encode_body(&mut Vec::new()).unwrap_err().path.to_string(), "/id");
    let mut all = Vec::new();
    order.violations(&mut all);
    let paths: Vec<String> = all.iter().map(|e| e.path.to_string()).collect();
    assert_eq!(
        paths,
        ["/id", "/lines/1/count", "/lines/2/count", "/extras/x~1y", "/payment/Card/limit", "/refund/Cash"]
    );
    assert!(all.iter().all(|e| matches!(e.kind, EncodeErrorKind::OutOfRange { .. })));
    // A valid value has none.
    let mut none = Vec::new();
    Line { sku: "a".into(), count: 1 }.violations(&mut none);
    assert!(none.is_empty());
}

#[test]
fn u64_above_long_range_is_an_encode_error_with_its_path() {
    #[derive(KafkaRecord, Debug, PartialEq)]
    struct Counter {
        name: String,
        value: u64,
    }
    let err = Counter { name: "c".into(), value: u64::MAX }.encode_body(&mut Vec::new()).unwrap_err();
    assert_eq!(err.path.to_string(), "/value");
    assert!(matches!(err.kind, EncodeErrorKind::OutOfRange { target: "long", .. }));

    #[derive(KafkaRecord, Debug, PartialEq)]
    struct WideCounter {
        #[kafka(fixed)]
        value: u64,
    }
    assert_eq!(
        canonical::<WideCounter>(),
        r#"{"name":"WideCounter","type":"record","fields":[{"name":"value","type":{"name":"u64","type":"fixed","size":8}}]}"#
    );
    assert_eq!(roundtrip(&WideCounter { value: u64::MAX }), [0xff; 8]);
}

/// An address.
#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "shop.common")]
struct Address {
    street: String,
    /// ISO 3166 code.
    country: String,
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(namespace = "shop", rename_all = "camelCase", aliases = ["shop.LegacyCustomer"])]
struct Customer {
    customer_id: i64,
    billing_address: Address,
    shipping_address: Option<Address>,
    previous_addresses: Vec<Address>,
    #[kafka(rename = "tags_by_key", default_json = "{}")]
    tags: BTreeMap<String, String>,
    #[kafka(skip)]
    cached_score: u32,
    #[kafka(bytes)]
    avatar: Vec<u8>,
    checksum: [u8; 4],
    #[kafka(default = "EUR", doc = "ISO 4217", aliases = ["ccy"])]
    currency: String,
}

#[test]
fn nested_records_are_defined_once_then_referenced_by_full_name() {
    let schema = json_of::<Customer>();
    let fields = schema["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "customerId",
            "billingAddress",
            "shippingAddress",
            "previousAddresses",
            "tags_by_key",
            "avatar",
            "checksum",
            "currency"
        ]
    );
    assert_eq!(fields[1]["type"]["name"], "Address");
    assert_eq!(fields[1]["type"]["namespace"], "shop.common");
    assert_eq!(fields[1]["type"]["fields"][1]["doc"], "ISO 3166 code.");
    assert_eq!(fields[2]["type"], json!(["null", "shop.common.Address"]));
    assert_eq!(fields[2]["default"], Value::Null);
    assert_eq!(fields[3]["type"], json!({"type": "array", "items": "shop.common.Address"}));
    assert_eq!(fields[4]["type"], json!({"type": "map", "values": "string"}));
    assert_eq!(fields[4]["default"], json!({}));
    assert_eq!(fields[5]["type"], "bytes");
    assert_eq!(fields[6]["type"], json!({"type": "fixed", "name": "fixed_4", "size": 4}));
    assert_eq!(
        fields[7],
        json!({"name": "currency", "doc": "ISO 4217", "aliases": ["ccy"], "type": "string", "default": "EUR"})
    );
    assert_eq!(schema["aliases"], json!(["shop.LegacyCustomer"]));
    assert!(Schema::parse_str(Customer::schema().unwrap().json()).is_ok());

    let home = Address { street: "Main St 1".into(), country: "DE".into() };
    let v = Customer {
        customer_id: 42,
        billing_address: home.clone(),
        shipping_address: Some(home.clone()),
        previous_addresses: vec![home.clone(), Address { street: "Old Rd".into(), country: "FR".into() }],
        tags: [("tier".to_string(), "gold".to_string())].into(),
        cached_score: 0,
        avatar: vec![0, 1, 2, 255],
        checksum: *b"abcd",
        currency: "EUR".into(),
    };
    roundtrip(&v);
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct TreeNode {
    label: String,
    children: Vec<TreeNode>,
    parent_hint: Option<Box<TreeNode>>,
}

/// Mutually recursive through pointers: their shapes must not form a cycle of constants.
#[derive(KafkaRecord, Debug, PartialEq)]
struct Ping {
    pong: Option<Box<Pong>>,
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Pong {
    ping: Option<Box<Ping>>,
}

#[test]
fn mutually_recursive_types_have_shapes_without_a_cycle() {
    // Evaluating the constants is the test: a cycle would not compile.
    const PING: &typed_kafka::avro::schema::shape::SchemaShape = <Ping as typed_kafka::AvroType>::SHAPE;
    assert!(to_json(PING).is_none(), "the pointee is left to run time");
    let v = Ping { pong: Some(Box::new(Pong { ping: None })) };
    let mut buf = Vec::new();
    v.encode_body(&mut buf).unwrap();
    assert_eq!(Ping::decode_body(&buf).unwrap(), v);
}

#[test]
fn recursive_types_refer_to_themselves_by_name() {
    assert_eq!(
        canonical::<TreeNode>(),
        r#"{"name":"TreeNode","type":"record","fields":[{"name":"label","type":"string"},{"name":"children","type":{"type":"array","items":"TreeNode"}},{"name":"parent_hint","type":["null","TreeNode"]}]}"#
    );
    let leaf = |l: &str| TreeNode { label: l.into(), children: vec![], parent_hint: None };
    roundtrip(&TreeNode {
        label: "root".into(),
        children: vec![
            leaf("a"),
            TreeNode { label: "b".into(), children: vec![leaf("c")], parent_hint: Some(Box::new(leaf("p"))) },
        ],
        parent_hint: None,
    });
}

#[derive(KafkaRecord, Debug, PartialEq, Clone, Copy)]
struct OrderId(i64);

/// Payment state.
#[derive(KafkaRecord, Debug, PartialEq, Clone, Copy)]
#[kafka(namespace = "shop", rename_all = "SCREAMING_SNAKE_CASE")]
enum PaymentState {
    Pending,
    #[kafka(rename = "PAID")]
    Settled,
    #[kafka(default)]
    Unknown,
}

#[test]
fn newtypes_are_transparent_and_unit_enums_are_avro_enums() {
    assert_eq!(canonical::<OrderId>(), r#""long""#);
    assert_eq!(roundtrip(&OrderId(-3)), [5]);
    assert_eq!(
        json_of::<PaymentState>(),
        json!({"type": "enum", "name": "PaymentState", "namespace": "shop", "doc": "Payment state.", "symbols": ["PENDING", "PAID", "UNKNOWN"], "default": "UNKNOWN"})
    );
    assert_eq!(roundtrip(&PaymentState::Settled), [2]);
    assert!(matches!(PaymentState::decode_body(&[6]), Err(DecodeError::EnumIndex { index: 3, symbols: 3 })));
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(namespace = "pay")]
enum PaymentMethod {
    Card { number: String, expiry_month: u8 },
    Iban(String),
    Voucher(Address),
    Cash,
    Split(i64, i32),
}

#[test]
fn data_carrying_enums_are_unions_of_records() {
    assert_eq!(
        canonical::<PaymentMethod>(),
        r#"[{"name":"pay.Card","type":"record","fields":[{"name":"number","type":"string"},{"name":"expiry_month","type":"int"}]},"string",{"name":"shop.common.Address","type":"record","fields":[{"name":"street","type":"string"},{"name":"country","type":"string"}]},{"name":"pay.Cash","type":"record","fields":[]},{"name":"pay.Split","type":"record","fields":[{"name":"_0","type":"long"},{"name":"_1","type":"int"}]}]"#
    );
    for v in [
        PaymentMethod::Card { number: "4111".into(), expiry_month: 12 },
        PaymentMethod::Iban("DE00".into()),
        PaymentMethod::Voucher(Address { street: "x".into(), country: "y".into() }),
        PaymentMethod::Cash,
        PaymentMethod::Split(5, -1),
    ] {
        roundtrip(&v);
    }
    let err = PaymentMethod::decode_body(&[0, 2, b'4', 0xff, 0xff]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "at /Card/expiry_month: varint longer than 64 bits"
            .replace("varint longer than 64 bits", &err.root_cause().to_string())
    );
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Envelope<T> {
    id: String,
    payload: T,
}

#[test]
fn generic_instantiations_get_distinct_names() {
    assert_eq!(json_of::<Envelope<Address>>()["name"], "Envelope_Address");
    assert_eq!(json_of::<Envelope<i64>>()["name"], "Envelope_long");
    #[derive(KafkaRecord, Debug, PartialEq)]
    struct Both {
        a: Envelope<Address>,
        b: Envelope<i64>,
        c: Envelope<Address>,
    }
    let schema = json_of::<Both>();
    assert_eq!(schema["fields"][1]["type"]["name"], "Envelope_long");
    assert_eq!(schema["fields"][2]["type"], "Envelope_Address");
    roundtrip(&Envelope { id: "e".into(), payload: 7i64 });
}

#[test]
fn borrowed_strings_decode_without_copying() {
    #[derive(KafkaRecord, Debug, PartialEq)]
    struct View<'a> {
        name: &'a str,
        label: std::borrow::Cow<'a, str>,
    }
    let mut buf = Vec::new();
    View { name: "n", label: "l".into() }.encode_body(&mut buf).unwrap();
    let v = View::decode_body(&buf).unwrap();
    assert_eq!(v.name, "n");
    assert!(matches!(v.label, std::borrow::Cow::Borrowed("l")));
}

#[test]
fn collections_of_every_kind_round_trip() {
    #[derive(KafkaRecord, Debug, PartialEq)]
    struct Collections {
        deque: VecDeque<i32>,
        hash: HashMap<String, Vec<String>>,
        nested: Vec<Vec<Option<f64>>>,
        #[kafka(bytes)]
        maybe_bytes: Option<Vec<u8>>,
        empty: Vec<String>,
    }
    let v = Collections {
        deque: [1, 2, 3].into(),
        hash: [("a".to_string(), vec!["x".to_string()]), ("b".to_string(), vec![])].into(),
        nested: vec![vec![Some(1.0), None], vec![]],
        maybe_bytes: Some(vec![9; 300]),
        empty: vec![],
    };
    roundtrip(&v);
    assert_eq!(json_of::<Collections>()["fields"][3]["type"], json!(["null", "bytes"]));
}

#[test]
fn two_rust_types_with_one_avro_name_are_a_schema_error() {
    mod a {
        #[derive(typed_kafka::KafkaRecord)]
        pub(super) struct Thing {
            pub(super) x: i32,
        }
    }
    mod b {
        #[derive(typed_kafka::KafkaRecord)]
        pub(super) struct Thing {
            pub(super) y: String,
        }
    }
    #[derive(KafkaRecord)]
    struct Holder {
        first: a::Thing,
        second: b::Thing,
    }
    let err = Holder::schema().unwrap_err();
    assert!(err.to_string().contains("the Avro name Thing is used by both"), "{err}");
}

#[test]
fn trailing_bytes_and_truncated_input_are_decode_errors() {
    let mut buf = Vec::new();
    Address { street: "s".into(), country: "c".into() }.encode_body(&mut buf).unwrap();
    buf.push(0);
    assert_eq!(Address::decode_body(&buf), Err(DecodeError::TrailingBytes(1)));
    buf.truncate(buf.len() - 2);
    let err = Address::decode_body(&buf).unwrap_err();
    assert_eq!(err.to_string(), "at /country: length 1 exceeds the 0 byte(s) that remain");
}

#[test]
fn canonical_form_strips_logical_type_attributes_as_the_specification_says() {
    // apache-avro 0.22 alone writes {"type":"bytes","precision":5,"scale":2} and {"type":"string"} here; the
    // specification's [STRIP] and [PRIMITIVES] (and Java's SchemaNormalization) give the plain primitives.
    #[derive(KafkaRecord)]
    struct Logical {
        #[kafka(decimal(precision = 5, scale = 2))]
        amount: rust_decimal::Decimal,
        id: uuid::Uuid,
        at: Option<chrono::DateTime<chrono::Utc>>,
    }
    assert_eq!(
        canonical::<Logical>(),
        r#"{"name":"Logical","type":"record","fields":[{"name":"amount","type":"bytes"},{"name":"id","type":"string"},{"name":"at","type":["null","long"]}]}"#
    );
}

#[test]
fn a_byte_vector_is_bytes_or_an_int_array_as_chosen() {
    #[derive(KafkaRecord)]
    #[allow(dead_code)]
    struct Upload {
        #[kafka(bytes)]
        data: Vec<u8>,
        #[kafka(int_array)]
        levels: Vec<u8>,
        #[kafka(int_array)]
        maybe_levels: Option<Vec<u8>>,
    }
    let json: serde_json::Value = serde_json::from_str(Upload::schema().unwrap().json()).unwrap();
    let types: Vec<String> = json["fields"].as_array().unwrap().iter().map(|f| f["type"].to_string()).collect();
    assert_eq!(
        types,
        [r#""bytes""#, r#"{"items":"int","type":"array"}"#, r#"["null",{"items":"int","type":"array"}]"#]
    );
}
