//! Hostile input to derived decoders: every reproduction from the hostile-input report is a typed error, on any
//! thread, in bounded time and memory; and decode and encode accept exactly the same values.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use typed_kafka::avro::codec::encoding::{self, MAX_ZERO_SIZE_ITEMS};
use typed_kafka::{DecodeError, EncodeErrorKind, KafkaRecord};

/// A recursive expression type (recursion through `Box`).
#[derive(KafkaRecord, Debug, PartialEq)]
enum Expr {
    Lit { v: i64 },
    Neg { e: Box<Expr> },
    Add { l: Box<Expr>, r: Box<Expr> },
}

/// A list (recursion through `Option<Box<_>>`).
#[derive(KafkaRecord, Debug, PartialEq)]
struct Node {
    value: i32,
    next: Option<Box<Node>>,
}

/// `Neg` nested `depth` times around `Lit { v: 0 }`.
fn nested_negations(depth: usize) -> Vec<u8> {
    let mut bytes = vec![0x02; depth];
    bytes.extend([0, 0]);
    bytes
}

fn on_thread<T: Send + 'static>(stack: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(stack).spawn(f).unwrap().join().unwrap()
}

#[test]
fn deep_recursion_is_an_error_not_a_stack_overflow_on_any_thread() {
    // The reported input: 30,000 levels; on a 2 MiB (tokio worker) and a 256 KiB thread.
    for stack in [2 << 20, 256 << 10] {
        let err = on_thread(stack, || Expr::decode_body(&nested_negations(30_000)).unwrap_err());
        assert!(
            matches!(err.root_cause(), DecodeError::TooDeep { limit } if *limit == encoding::DEFAULT_MAX_DEPTH),
            "{err}"
        );
    }
    // Legitimate depth up to the limit decodes (and encodes back to the same bytes).
    let depth = encoding::DEFAULT_MAX_DEPTH as usize - 1;
    let bytes = nested_negations(depth);
    on_thread(256 << 10, move || {
        let e = Expr::decode_body(&bytes).unwrap();
        let mut out = Vec::new();
        e.encode_body(&mut out).unwrap();
        assert_eq!(out, bytes);
    });
    // Through Option<Box<_>>: a list deeper than the limit.
    let mut list = Vec::new();
    for _ in 0..10_000 {
        list.extend([0x02, 0x02]); // value 1, then branch 1 (a next node)
    }
    list.extend([0x02, 0x00]);
    let err = on_thread(256 << 10, move || Node::decode_body(&list).unwrap_err());
    assert!(matches!(err.root_cause(), DecodeError::TooDeep { .. }), "{err}");
}

#[test]
fn the_depth_counter_unwinds_after_errors() {
    // Many failed deep decodes on one thread leave the counter where it was: a shallow value still decodes.
    for _ in 0..1000 {
        assert!(Expr::decode_body(&nested_negations(500)).is_err());
        assert!(Expr::decode_body(&[0x02, 0x02, 0x02]).is_err()); // truncated inside the nesting
    }
    assert_eq!(Expr::decode_body(&nested_negations(100)).map(|_| ()), Ok(()));
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Nulls {
    items: Vec<()>,
}

/// A record whose only field is skipped: 0 bytes of Avro, 64 bytes of Rust.
#[derive(KafkaRecord, Debug, PartialEq, Default)]
struct Padding {
    #[kafka(skip)]
    pad: [u64; 8],
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Paddings {
    items: Vec<Padding>,
}

/// Zero-size records behind pointers: the pointer is 8 bytes inline, the record 512 on the heap.
#[derive(KafkaRecord, Debug, PartialEq, Default)]
struct Wide {
    #[kafka(skip)]
    pad: [[u64; 32]; 2],
}

#[derive(KafkaRecord, Debug, PartialEq)]
#[allow(clippy::vec_box, clippy::redundant_allocation)] // the pointers are what is tested
struct Boxed {
    items: Vec<Box<Wide>>,
    shared: Vec<std::sync::Arc<Box<Wide>>>,
}

#[test]
fn zero_size_items_behind_a_pointer_are_capped_by_what_they_point_to() {
    // The reported 4-byte input (a count of 2^20, no block end) built 528 MB: 2^20 boxes of 512-byte records,
    // capped as if each were its 8-byte pointer. Now the cap counts the record: 16 MiB / (8 + 512).
    let limit = encoding::zero_size_item_limit::<Box<Wide>>();
    assert_eq!(limit, (16 << 20) / (8 + 512));
    let err = Boxed::decode_body(&[0x80, 0x80, 0x80, 0x01]).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::TooManyItems { limit: l, .. } if *l == limit), "{err}");
    // Through two pointers, each level counted.
    let nested = encoding::zero_size_item_limit::<std::sync::Arc<Box<Wide>>>();
    assert_eq!(nested, (16 << 20) / (8 + 8 + 16 + 512));
    let mut body = vec![0x00];
    let mut count = Vec::new();
    encoding::put_long(&mut count, nested as i64 + 1);
    body.extend(count);
    let err = Boxed::decode_body(&body).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::TooManyItems { limit: l, .. } if *l == nested), "{err}");
    // At the limit, both directions agree.
    let at = Boxed { items: (0..limit).map(|_| Box::default()).collect(), shared: Vec::new() };
    let mut buf = Vec::new();
    at.encode_body(&mut buf).unwrap();
    assert_eq!(Boxed::decode_body(&buf).unwrap().items.len(), limit);
    let over = Boxed { items: (0..=limit).map(|_| Box::default()).collect(), shared: Vec::new() };
    assert!(
        over.encode_body(&mut Vec::new())
            .is_err_and(|e| matches!(e.kind, EncodeErrorKind::TooManyZeroSizeItems { .. }))
    );
}

#[test]
fn zero_size_items_are_capped_per_array_in_count_and_memory() {
    // The reported input: (80 80 80 01) x 100,000 then 00, 400 KB that used to decode for 70 s.
    let mut bytes = Vec::new();
    for _ in 0..100_000 {
        bytes.extend([0x80, 0x80, 0x80, 0x01]);
    }
    bytes.push(0);
    let t = std::time::Instant::now();
    let err = Nulls::decode_body(&bytes).unwrap_err();
    assert!(
        matches!(err.root_cause(), DecodeError::TooManyItems { limit, .. } if *limit == MAX_ZERO_SIZE_ITEMS),
        "{err}"
    );
    assert!(t.elapsed() < std::time::Duration::from_secs(5), "took {:?}", t.elapsed());

    // The reported 65-byte input into skip-only records: capped by memory (16 MiB / 64 bytes), not 1 GB.
    let mut bytes = Vec::new();
    for _ in 0..16 {
        bytes.extend([0x80, 0x80, 0x80, 0x01]);
    }
    bytes.push(0);
    let err = Paddings::decode_body(&bytes).unwrap_err();
    assert!(
        matches!(err.root_cause(), DecodeError::TooManyItems { limit, .. }
            if *limit == encoding::zero_size_item_limit::<Padding>() && *limit == (16 << 20) / 64),
        "{err}"
    );
}

#[test]
fn encode_and_decode_accept_the_same_zero_size_arrays() {
    // At the limit: encodes, and decodes back.
    let at_limit = Nulls { items: vec![(); MAX_ZERO_SIZE_ITEMS] };
    let mut buf = Vec::new();
    at_limit.encode_body(&mut buf).unwrap();
    assert_eq!(Nulls::decode_body(&buf).unwrap().items.len(), MAX_ZERO_SIZE_ITEMS);
    // One more (the reported `82 80 80 01 00`): refused by the encoder with its path, as the decoder refuses it.
    let over = Nulls { items: vec![(); MAX_ZERO_SIZE_ITEMS + 1] };
    buf.clear();
    let err = over.encode_body(&mut buf).unwrap_err();
    assert_eq!(err.path.to_string(), "/items");
    assert!(matches!(err.kind, EncodeErrorKind::TooManyZeroSizeItems { len, .. } if len == MAX_ZERO_SIZE_ITEMS + 1));
    assert!(matches!(
        Nulls::decode_body(&[0x82, 0x80, 0x80, 0x01, 0x00]).unwrap_err().root_cause(),
        DecodeError::TooManyItems { .. }
    ));
    let limit = encoding::zero_size_item_limit::<Padding>();
    let pads = Paddings { items: (0..=limit).map(|_| Padding::default()).collect() };
    assert!(
        pads.encode_body(&mut Vec::new())
            .is_err_and(|e| matches!(e.kind, EncodeErrorKind::TooManyZeroSizeItems { .. }))
    );
}

#[derive(KafkaRecord, Debug, PartialEq)]
struct Price {
    #[kafka(decimal(precision = 12, scale = 2))]
    amount: rust_decimal::Decimal,
}

#[test]
fn a_decimal_with_more_digits_than_its_precision_is_refused_on_decode_as_on_encode() {
    // The reported bytes: 10 bytes of unscaled value, 47223664828696452136.96 at scale 2 (22 digits > 12).
    let err = Price::decode_body(&[0x14, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::Logical { logical_type: "decimal", .. }), "{err}");
    assert_eq!(err.to_string().split(':').next(), Some("at /amount"));
    // The largest value the precision allows goes both ways; one more digit goes neither way.
    let max = Price { amount: rust_decimal::Decimal::new(999_999_999_999, 2) };
    let mut buf = Vec::new();
    max.encode_body(&mut buf).unwrap();
    assert_eq!(Price::decode_body(&buf).unwrap(), max);
    let over = Price { amount: rust_decimal::Decimal::new(1_000_000_000_000, 2) };
    assert!(over.encode_body(&mut Vec::new()).is_err());
    // The same magnitude written by another producer is refused by the decoder.
    let unscaled = 1_000_000_000_000i64.to_be_bytes();
    let mut foreign = vec![0x0c]; // 6 bytes
    foreign.extend(&unscaled[2..]);
    assert!(Price::decode_body(&foreign).is_err());
}
