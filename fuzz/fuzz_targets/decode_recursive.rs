//! Arbitrary bytes as recursive types (through `Box`, `Option<Box<_>>` and `Vec<Self>`): decoding returns a value
//! or an error, never overflows the stack, and whatever decodes re-encodes to bytes that decode and re-encode to the
//! same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::KafkaRecord;
use typed_kafka_derive::KafkaRecord;

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro")]
enum Expr {
    Lit { v: i64 },
    Neg { e: Box<Expr> },
    Add { l: Box<Expr>, r: Box<Expr> },
    Call { name: String, args: Vec<Expr> },
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[kafka(crate = "typed_kafka_avro")]
struct Node {
    value: Option<String>,
    next: Option<Box<Node>>,
    children: Vec<Node>,
}

fn round_trip<T: KafkaRecord + for<'de> typed_kafka_avro::AvroDecode<'de>>(data: &[u8]) {
    if let Ok(v) = T::decode_body(data) {
        let mut buf = Vec::new();
        v.encode_body(&mut buf).expect("a decoded value re-encodes");
        let again = T::decode_body(&buf).expect("re-encoded bytes decode");
        let mut twice = Vec::new();
        again.encode_body(&mut twice).expect("a decoded value re-encodes");
        assert_eq!(twice, buf);
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Expr>(data);
    round_trip::<Node>(data);
});
