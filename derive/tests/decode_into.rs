//! Decoding into an existing value (`decode_body_into`) gives exactly what a fresh decode gives, whatever the value
//! held before, keeps every limit, and reuses what the value owns: decoding record after record of one shape into
//! one value allocates only for what is new.
#![allow(unsafe_code)] // the counting allocator

use std::collections::HashMap;

use proptest::prelude::*;
use typed_kafka::{DecodeError, KafkaRecord};

#[derive(KafkaRecord, Debug, Clone, PartialEq, Default)]
struct Line {
    sku: String,
    qty: i32,
    tags: Vec<String>,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
enum Kind {
    Retail,
    Wholesale,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
enum Payment {
    Card { last4: String },
    Cash,
}

#[derive(KafkaRecord, Debug, Clone, PartialEq)]
struct Order {
    id: i64,
    note: Option<String>,
    lines: Vec<Line>,
    kind: Kind,
    payment: Payment,
    attributes: HashMap<String, String>,
    #[kafka(bytes)]
    digest: Vec<u8>,
    parent: Option<Box<Order>>,
    #[kafka(skip)]
    cache: Vec<u64>,
}

fn text() -> impl Strategy<Value = String> {
    "[a-z]{0,12}"
}

fn line() -> impl Strategy<Value = Line> {
    (text(), any::<i32>(), prop::collection::vec(text(), 0..4)).prop_map(|(sku, qty, tags)| Line { sku, qty, tags })
}

fn order() -> impl Strategy<Value = Order> {
    let leaf = (
        any::<i64>(),
        prop::option::of(text()),
        prop::collection::vec(line(), 0..5),
        any::<bool>(),
        prop::option::of("[0-9]{4}"),
        prop::collection::hash_map(text(), text(), 0..4),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(id, note, lines, wholesale, card, attributes, digest)| Order {
            id,
            note,
            lines,
            kind: if wholesale { Kind::Wholesale } else { Kind::Retail },
            payment: card.map_or(Payment::Cash, |last4| Payment::Card { last4 }),
            attributes,
            digest,
            parent: None,
            cache: Vec::new(),
        });
    leaf.prop_recursive(3, 8, 1, |inner| {
        (inner.clone(), prop::option::of(inner)).prop_map(|(mut o, parent)| {
            o.parent = parent.map(Box::new);
            o
        })
    })
}

proptest! {
    #[test]
    fn decoding_into_any_value_gives_what_a_fresh_decode_gives(before in order(), after in order()) {
        let mut bytes = Vec::new();
        after.encode_body(&mut bytes).unwrap();
        let fresh = Order::decode_body(&bytes).unwrap();
        let mut reused = before.clone();
        reused.cache = vec![7; 3];
        reused.decode_body_into(&bytes).unwrap();
        prop_assert_eq!(&reused, &fresh);
        // A truncated body is an error, and the value can be decoded into again afterwards.
        if bytes.len() > 1 {
            prop_assert!(reused.decode_body_into(&bytes[..bytes.len() - 1]).is_err());
            reused.decode_body_into(&bytes).unwrap();
            prop_assert_eq!(&reused, &fresh);
        }
    }
}

#[derive(KafkaRecord, Debug, PartialEq, Default)]
struct Chain {
    v: i32,
    next: Option<Box<Chain>>,
}

#[derive(KafkaRecord, Debug, PartialEq, Default)]
struct Nulls {
    items: Vec<()>,
}

#[test]
fn decoding_into_keeps_every_limit() {
    // 200 levels of `Some`: past the depth limit, into a value as into nothing.
    let mut bytes = Vec::new();
    for _ in 0..200 {
        bytes.extend([0x00, 0x02]);
    }
    bytes.extend([0x00, 0x00]);
    let mut chain = Chain::default();
    let err = chain.decode_body_into(&bytes).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::TooDeep { .. }), "{err}");
    // A block of 2^21 nulls, into an array that already has items.
    let mut nulls = Nulls { items: vec![(); 10] };
    let err = nulls.decode_body_into(&[0x80, 0x80, 0x80, 0x02, 0x00]).unwrap_err();
    assert!(matches!(err.root_cause(), DecodeError::TooManyItems { .. }), "{err}");
    // Trailing bytes.
    let mut bytes = Vec::new();
    Chain { v: 1, next: None }.encode_body(&mut bytes).unwrap();
    bytes.push(0);
    assert!(matches!(Chain::default().decode_body_into(&bytes), Err(DecodeError::TrailingBytes(1))));
}

#[test]
fn decoding_records_of_one_shape_into_one_value_allocates_only_for_what_decodes_anew() {
    let make = |i: i64| Order {
        id: i,
        note: Some(format!("note {i:04}")),
        lines: (0..5)
            .map(|j| Line { sku: format!("SKU-{:05}", i + j), qty: 2, tags: vec!["x".into(), "y".into()] })
            .collect(),
        kind: Kind::Retail,
        payment: Payment::Card { last4: "4242".into() },
        attributes: [("campaign".to_string(), format!("c{i:03}"))].into(),
        digest: vec![1, 2, 3, 4],
        parent: None,
        cache: Vec::new(),
    };
    let bodies: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            let mut b = Vec::new();
            make(i).encode_body(&mut b).unwrap();
            b
        })
        .collect();
    let mut value = Order::decode_body(&bodies[0]).unwrap();
    let before = allocations();
    for b in &bodies[1..] {
        value.decode_body_into(b).unwrap();
    }
    let per_record = (allocations() - before) as f64 / 99.0;
    assert_eq!(value, make(99));
    // The map's key and value are new Strings, and so are the payment union's branch (a union decodes anew) and
    // the bytes (a codec's value decodes anew); the rest is reused.
    assert!(per_record <= 4.0, "{per_record} allocations per record");
    let before = allocations();
    for b in &bodies[1..] {
        std::hint::black_box(Order::decode_body(b).unwrap());
    }
    let fresh = (allocations() - before) as f64 / 99.0;
    assert!(fresh > per_record * 3.0, "fresh {fresh}, reused {per_record}");
}

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the allocations of each thread (the tests of this binary run side by side).
struct Counting;

thread_local! {
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    COUNT.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;
