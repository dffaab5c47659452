//! Property tests against apache-avro, over randomized values of every shape: our bytes equal apache-avro's
//! encoding of the same value under our schema, apache-avro decodes our bytes to that value, and we decode our own
//! bytes back to the Rust value.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use typed_kafka::{AvroDecode, KafkaRecord};
use uuid::Uuid;

#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "interop")]
struct Inner {
    name: String,
    weight: f32,
}

#[derive(KafkaRecord, Debug, PartialEq, Clone, Copy)]
enum Color {
    Red,
    Green,
    Blue,
}

#[derive(KafkaRecord, Debug, PartialEq, Clone)]
enum Choice {
    Text(String),
    Number(i64),
    Pair { left: i32, right: Option<String> },
    Nothing,
}

#[derive(KafkaRecord, Debug, PartialEq, Clone)]
#[kafka(namespace = "interop")]
struct Shapes {
    flag: bool,
    small: i16,
    int: i32,
    long: i64,
    unsigned: u32,
    float: f32,
    double: f64,
    text: String,
    #[kafka(bytes)]
    blob: Vec<u8>,
    fixed: [u8; 3],
    maybe: Option<i64>,
    maybe_inner: Option<Inner>,
    list: Vec<Inner>,
    nested_list: Vec<Vec<i32>>,
    /// At most one entry, so the byte order of apache-avro's HashMap-backed maps is deterministic.
    map: std::collections::BTreeMap<String, Color>,
    color: Color,
    choice: Choice,
    id: Uuid,
    at: DateTime<Utc>,
    #[kafka(logical = "timestamp-micros")]
    at_micros: DateTime<Utc>,
    day: NaiveDate,
    #[kafka(decimal(precision = 18, scale = 4))]
    amount: Decimal,
    #[kafka(decimal(precision = 9, scale = 2))]
    maybe_amount: Option<Decimal>,
}

fn inner_value(i: &Inner) -> Value {
    Value::Record(vec![("name".into(), Value::String(i.name.clone())), ("weight".into(), Value::Float(i.weight))])
}

fn color_value(c: Color) -> Value {
    let (i, s) = match c {
        Color::Red => (0, "Red"),
        Color::Green => (1, "Green"),
        Color::Blue => (2, "Blue"),
    };
    Value::Enum(i, s.into())
}

fn decimal_bytes(d: &Decimal, scale: u32) -> Vec<u8> {
    let mut d = *d;
    d.rescale(scale);
    let unscaled = d.mantissa();
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    bytes[start..].to_vec()
}

/// The apache-avro value of a `Shapes`, written by hand from the Avro specification's mapping.
fn expected(s: &Shapes) -> Value {
    let choice = match &s.choice {
        Choice::Text(t) => Value::Union(0, Box::new(Value::String(t.clone()))),
        Choice::Number(n) => Value::Union(1, Box::new(Value::Long(*n))),
        Choice::Pair { left, right } => Value::Union(
            2,
            Box::new(Value::Record(vec![
                ("left".into(), Value::Int(*left)),
                (
                    "right".into(),
                    match right {
                        None => Value::Union(0, Box::new(Value::Null)),
                        Some(r) => Value::Union(1, Box::new(Value::String(r.clone()))),
                    },
                ),
            ])),
        ),
        Choice::Nothing => Value::Union(3, Box::new(Value::Record(vec![]))),
    };
    let opt = |v: Option<Value>| match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(v)),
    };
    Value::Record(vec![
        ("flag".into(), Value::Boolean(s.flag)),
        ("small".into(), Value::Int(i32::from(s.small))),
        ("int".into(), Value::Int(s.int)),
        ("long".into(), Value::Long(s.long)),
        ("unsigned".into(), Value::Long(i64::from(s.unsigned))),
        ("float".into(), Value::Float(s.float)),
        ("double".into(), Value::Double(s.double)),
        ("text".into(), Value::String(s.text.clone())),
        ("blob".into(), Value::Bytes(s.blob.clone())),
        ("fixed".into(), Value::Fixed(3, s.fixed.to_vec())),
        ("maybe".into(), opt(s.maybe.map(Value::Long))),
        ("maybe_inner".into(), opt(s.maybe_inner.as_ref().map(inner_value))),
        ("list".into(), Value::Array(s.list.iter().map(inner_value).collect())),
        (
            "nested_list".into(),
            Value::Array(
                s.nested_list.iter().map(|l| Value::Array(l.iter().map(|i| Value::Int(*i)).collect())).collect(),
            ),
        ),
        ("map".into(), Value::Map(s.map.iter().map(|(k, v)| (k.clone(), color_value(*v))).collect())),
        ("color".into(), color_value(s.color)),
        ("choice".into(), choice),
        ("id".into(), Value::Uuid(s.id)),
        ("at".into(), Value::TimestampMillis(s.at.timestamp_millis())),
        ("at_micros".into(), Value::TimestampMicros(s.at_micros.timestamp_micros())),
        ("day".into(), Value::Date((s.day - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32)),
        ("amount".into(), Value::Decimal(apache_avro::Decimal::from(decimal_bytes(&s.amount, 4)))),
        (
            "maybe_amount".into(),
            opt(s.maybe_amount.map(|d| Value::Decimal(apache_avro::Decimal::from(decimal_bytes(&d, 2))))),
        ),
    ])
}

fn inner() -> impl Strategy<Value = Inner> {
    (".{0,12}", -1e6f32..1e6f32).prop_map(|(name, weight)| Inner { name, weight })
}

fn color() -> impl Strategy<Value = Color> {
    prop_oneof![Just(Color::Red), Just(Color::Green), Just(Color::Blue)]
}

fn choice() -> impl Strategy<Value = Choice> {
    prop_oneof![
        ".{0,8}".prop_map(Choice::Text),
        any::<i64>().prop_map(Choice::Number),
        (any::<i32>(), proptest::option::of(".{0,8}")).prop_map(|(left, right)| Choice::Pair { left, right }),
        Just(Choice::Nothing),
    ]
}

fn shapes() -> impl Strategy<Value = Shapes> {
    let a = (
        any::<bool>(),
        any::<i16>(),
        any::<i32>(),
        any::<i64>(),
        any::<u32>(),
        -1e30f32..1e30f32,
        -1e300f64..1e300f64,
        ".{0,40}",
    );
    let b = (
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<[u8; 3]>(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(inner()),
        proptest::collection::vec(inner(), 0..6),
        proptest::collection::vec(proptest::collection::vec(any::<i32>(), 0..4), 0..4),
        proptest::collection::btree_map(".{0,6}", color(), 0..2),
        color(),
    );
    let c = (
        choice(),
        any::<u128>(),
        -8_000_000_000_000i64..8_000_000_000_000i64,
        -8_000_000_000_000_000i64..8_000_000_000_000_000i64,
        -700_000i32..2_900_000i32,
        (-999_999_999_999_999i64..999_999_999_999_999i64),
        proptest::option::of(-9_999_999i64..9_999_999i64),
    );
    (a, b, c).prop_map(|(a, b, c)| Shapes {
        flag: a.0,
        small: a.1,
        int: a.2,
        long: a.3,
        unsigned: a.4,
        float: a.5,
        double: a.6,
        text: a.7,
        blob: b.0,
        fixed: b.1,
        maybe: b.2,
        maybe_inner: b.3,
        list: b.4,
        nested_list: b.5,
        map: b.6,
        color: b.7,
        choice: c.0,
        id: Uuid::from_u128(c.1),
        at: DateTime::from_timestamp_millis(c.2).unwrap(),
        at_micros: DateTime::from_timestamp_micros(c.3).unwrap(),
        day: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::TimeDelta::days(i64::from(c.4)),
        amount: Decimal::new(c.5, 4),
        maybe_amount: c.6.map(|n| Decimal::new(n, 2)),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn our_bytes_are_apache_avros_bytes(v in shapes()) {
        let info = Shapes::schema().unwrap();
        let mut ours = Vec::new();
        v.encode_body(&mut ours).unwrap();

        let value = expected(&v);
        let schema = apache(info);
        let writer = GenericDatumWriter::builder(&schema).build().unwrap();
        let theirs = writer.write_value_to_vec(value.clone()).unwrap();
        prop_assert_eq!(&ours, &theirs);

        let reader = GenericDatumReader::builder(&schema).build().unwrap();
        let read = reader.read_value(&mut ours.as_slice()).unwrap();
        prop_assert_eq!(read, value);

        prop_assert_eq!(Shapes::decode_body(&ours).unwrap(), v);
    }

    /// Whatever the bytes, decoding returns a value or an error: it never panics, and never allocates more than
    /// the input can describe (the bounded-length checks make oversized blocks errors before any allocation).
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Shapes::decode_body(&bytes);
        let _ = <Vec<Choice> as AvroDecode>::decode(&mut bytes.as_slice());
    }

    /// Mutating one byte of a valid encoding gives a value or an error, never a panic.
    #[test]
    fn corrupted_encodings_never_panic_the_decoder(v in shapes(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut ours = Vec::new();
        v.encode_body(&mut ours).unwrap();
        let i = at.index(ours.len());
        ours[i] = byte;
        let _ = Shapes::decode_body(&ours);
    }
}

#[test]
fn maps_with_many_entries_decode_to_the_same_value_in_apache_avro() {
    #[derive(KafkaRecord, Debug, PartialEq)]
    struct Tags {
        tags: std::collections::HashMap<String, i64>,
    }
    let v = Tags { tags: (0..50).map(|i| (format!("k{i}"), i * 1000)).collect() };
    let mut ours = Vec::new();
    v.encode_body(&mut ours).unwrap();
    let info = Tags::schema().unwrap();
    let read = GenericDatumReader::builder(&apache(info)).build().unwrap().read_value(&mut ours.as_slice()).unwrap();
    let Value::Record(fields) = read else { panic!("not a record") };
    let Value::Map(m) = &fields[0].1 else { panic!("not a map") };
    assert_eq!(m.len(), 50);
    assert_eq!(m["k7"], Value::Long(7000));
    assert_eq!(Tags::decode_body(&ours).unwrap(), v);
}

#[test]
fn decimals_that_do_not_fit_are_encode_errors() {
    #[derive(KafkaRecord, Debug)]
    struct Price {
        #[kafka(decimal(precision = 5, scale = 2))]
        amount: Decimal,
    }
    let mut buf = Vec::new();
    assert!(Price { amount: Decimal::new(99999, 2) }.encode_body(&mut buf).is_ok());
    assert!(Price { amount: Decimal::new(1230, 3) }.encode_body(&mut buf).is_ok(), "1.230 is 1.23: no digit lost");
    let too_precise = Price { amount: Decimal::new(1234, 3) }.encode_body(&mut buf).unwrap_err();
    assert_eq!(too_precise.path.to_string(), "/amount");
    assert!(too_precise.to_string().contains("more fractional digits than the scale"), "{too_precise}");
    let too_large = Price { amount: Decimal::new(100000, 2) }.encode_body(&mut buf).unwrap_err();
    assert!(too_large.to_string().contains("more digits than the precision"), "{too_large}");
}

#[test]
fn schema_fingerprint_is_the_rabin_fingerprint_of_the_canonical_form() {
    // CRC-64-AVRO computed from the specification's definition, independently of apache-avro.
    fn rabin(data: &[u8]) -> u64 {
        const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
        let mut table = [0u64; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (0u64.wrapping_sub(fp & 1)));
            }
            *slot = fp;
        }
        let mut fp = EMPTY;
        for &b in data {
            fp = (fp >> 8) ^ table[((fp ^ u64::from(b)) & 0xff) as usize];
        }
        fp
    }
    let info = Shapes::schema().unwrap();
    assert_eq!(info.fingerprint(), rabin(info.canonical_form().as_bytes()));
    // A value from the specification's test suite: the fingerprint of "int".
    assert_eq!(rabin(br#""int""#), 0x7275_d51a_3f39_5c8f);
}

/// apache-avro's parse of a derived schema's JSON (apache-avro is the independent oracle here).
fn apache(info: &typed_kafka::SchemaInfo) -> apache_avro::Schema {
    apache_avro::Schema::parse_str(info.json()).unwrap()
}
