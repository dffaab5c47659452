//! Encode and decode of the realistic `Order`, all in one run: typed-kafka's derive vs apache-avro's common path
//! (`to_value` + write, read + `from_value`), its fastest direct serde path (`GenericDatumWriter::write_ser`,
//! `GenericDatumReader::read_deser`), and a hand-written codec. Prints the ratios and the allocations per record
//! (counted by a counting global allocator) after criterion's own report.
//!
//! `cargo bench -p typed-kafka-benches --bench codec`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use criterion::Criterion;
use typed_kafka::{AvroDecode, AvroType, KafkaRecord};
use typed_kafka_benches::{CountingAlloc, Order, allocations, hand, interleaved, sample_order, serde_mirror};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations per call of `f`, averaged over 1,000 calls after 100 warm-up calls.
fn allocations_per_call(mut f: impl FnMut()) -> f64 {
    for _ in 0..100 {
        f();
    }
    let before = allocations();
    for _ in 0..1000 {
        f();
    }
    (allocations() - before) as f64 / 1000.0
}

fn out_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

fn mean_ns(group: &str, id: &str) -> Option<f64> {
    let path = out_dir().join(group).join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    let order = sample_order();
    let mirror = serde_mirror::Order::from(&order);
    let parsed = apache_avro::Schema::parse_str(Order::schema().unwrap().json()).unwrap();
    let schema = &parsed;
    let writer = GenericDatumWriter::builder(schema).build().unwrap();
    let reader = GenericDatumReader::builder(schema).build().unwrap();

    // All four encoders produce bytes every decoder reads back to the same order.
    let ours = typed_kafka_benches::check_codecs_agree();
    println!("Order encodes to {} bytes", ours.len());

    let mut c = Criterion::default().output_directory(&out_dir()).configure_from_args();
    {
        let mut g = c.benchmark_group("encode");
        let mut buf = Vec::with_capacity(512);
        g.bench_function("typed_kafka", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&order).encode_body(&mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("hand_written", |b| {
            b.iter(|| {
                buf.clear();
                hand::encode(black_box(&order), &mut buf);
                black_box(buf.len())
            })
        });
        g.bench_function("apache_avro_write_ser", |b| {
            b.iter(|| {
                buf.clear();
                writer.write_ser(&mut buf, black_box(&mirror)).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("apache_avro_to_value", |b| {
            b.iter(|| {
                buf.clear();
                let v = apache_avro::to_value(black_box(&mirror)).unwrap().resolve(schema).unwrap();
                writer.write_value(&mut buf, v).unwrap();
                black_box(buf.len())
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("decode");
        g.bench_function("typed_kafka", |b| b.iter(|| Order::decode_body(black_box(&ours)).unwrap()));
        let mut reused = sample_order();
        g.bench_function("typed_kafka_into", |b| b.iter(|| reused.decode_body_into(black_box(&ours)).unwrap()));
        g.bench_function("hand_written", |b| b.iter(|| hand::decode(black_box(&ours)).unwrap()));
        g.bench_function("apache_avro_read_deser", |b| {
            b.iter(|| reader.read_deser::<serde_mirror::Order>(&mut black_box(&ours).as_slice()).unwrap())
        });
        g.bench_function("apache_avro_from_value", |b| {
            b.iter(|| {
                let v = reader.read_value(&mut black_box(&ours).as_slice()).unwrap();
                apache_avro::from_value::<serde_mirror::Order>(&v).unwrap()
            })
        });
        g.finish();
    }
    c.final_summary();

    let mut buf = Vec::with_capacity(512);
    let alloc_enc_ours = allocations_per_call(|| {
        buf.clear();
        order.encode_body(&mut buf).unwrap();
    });
    let alloc_enc_ser = allocations_per_call(|| {
        buf.clear();
        writer.write_ser(&mut buf, &mirror).unwrap();
    });
    let alloc_dec_ours = allocations_per_call(|| {
        black_box(<Order as AvroDecode>::decode(&mut ours.as_slice()).unwrap());
    });
    let mut reused = sample_order();
    let alloc_dec_into = allocations_per_call(|| {
        reused.decode_body_into(&ours).unwrap();
    });
    let alloc_dec_hand = allocations_per_call(|| {
        black_box(hand::decode(&ours).unwrap());
    });
    let alloc_dec_deser = allocations_per_call(|| {
        black_box(reader.read_deser::<serde_mirror::Order>(&mut ours.as_slice()).unwrap());
    });

    println!("\n== ratios (mean time, same run) ==");
    let r = |g: &str, a: &str, b: &str| match (mean_ns(g, a), mean_ns(g, b)) {
        (Some(x), Some(y)) => format!("{:.2}x", y / x),
        _ => "n/a (run without a filter)".into(),
    };
    println!(
        "encode: apache_avro_write_ser / typed_kafka = {}  (target >= 5)",
        r("encode", "typed_kafka", "apache_avro_write_ser")
    );
    println!("encode: apache_avro_to_value  / typed_kafka = {}", r("encode", "typed_kafka", "apache_avro_to_value"));
    println!(
        "encode: typed_kafka / hand_written          = {}  (target <= 1.3)",
        r("encode", "hand_written", "typed_kafka")
    );
    println!(
        "decode: apache_avro_read_deser / typed_kafka = {}  (a new value each time)",
        r("decode", "typed_kafka", "apache_avro_read_deser")
    );
    println!(
        "decode: apache_avro_read_deser / typed_kafka decode_body_into = {}  (target >= 2.9; one value reused)",
        r("decode", "typed_kafka_into", "apache_avro_read_deser")
    );
    println!("decode: apache_avro_from_value / typed_kafka = {}", r("decode", "typed_kafka", "apache_avro_from_value"));
    println!(
        "decode: typed_kafka / hand_written           = {}  (target <= 1.25)",
        r("decode", "hand_written", "typed_kafka")
    );
    // The same comparisons, interleaved (robust to the machine's load drifting between criterion's runs).
    let (mut b1, mut b2) = (Vec::with_capacity(512), Vec::with_capacity(512));
    let enc_ours = || {
        b1.clear();
        black_box(&order).encode_body(&mut b1).unwrap();
    };
    let enc_ser = || {
        b2.clear();
        writer.write_ser(&mut b2, black_box(&mirror)).unwrap();
    };
    let i_enc_ser = interleaved(200, 500, enc_ours, enc_ser);
    let i_enc_hand = interleaved(
        400,
        2000,
        || {
            b1.clear();
            hand::encode(black_box(&order), &mut b1);
        },
        || {
            b2.clear();
            black_box(&order).encode_body(&mut b2).unwrap();
        },
    );
    let dec_ours = || {
        black_box(Order::decode_body(black_box(&ours)).unwrap());
    };
    let i_dec_deser = interleaved(200, 500, dec_ours, || {
        black_box(reader.read_deser::<serde_mirror::Order>(&mut black_box(&ours).as_slice()).unwrap());
    });
    let mut reused = sample_order();
    let i_dec_into_deser = interleaved(
        200,
        500,
        || reused.decode_body_into(black_box(&ours)).unwrap(),
        || {
            black_box(reader.read_deser::<serde_mirror::Order>(&mut black_box(&ours).as_slice()).unwrap());
        },
    );
    let i_dec_hand = interleaved(
        400,
        1000,
        || {
            black_box(hand::decode(black_box(&ours)).unwrap());
        },
        dec_ours,
    );
    // Schema evolution: the same Order written by a writer whose schema has one more field (appended), read through
    // a resolver (transcode into the reader's layout, then the derived decoder) vs the exact-schema decode.
    let mut widened: serde_json::Value = serde_json::from_str(Order::schema().unwrap().json()).unwrap();
    widened["fields"].as_array_mut().unwrap().push(serde_json::json!({"name": "added", "type": "long"}));
    let writer_schema = typed_kafka::avro::schema::Schema::parse(&widened.to_string()).unwrap();
    let resolver =
        typed_kafka::avro::resolve::Resolver::new(&writer_schema, Order::schema().unwrap().schema()).unwrap();
    let mut written = ours.clone();
    typed_kafka::avro::codec::encoding::put_long(&mut written, 1_234_567);
    let mut scratch = Vec::with_capacity(512);
    assert_eq!(resolver.read::<Order>(&written, &mut scratch).unwrap(), order);
    let i_dec_resolved = interleaved(400, 1000, dec_ours, || {
        black_box(resolver.read::<Order>(black_box(&written), &mut scratch).unwrap());
    });
    // The other direction: the writer lacks the optional `note` (default null), which the reader fills in.
    let mut narrowed: serde_json::Value = serde_json::from_str(Order::schema().unwrap().json()).unwrap();
    narrowed["fields"].as_array_mut().unwrap().retain(|f| f["name"] != "note");
    let narrow_schema = typed_kafka::avro::schema::Schema::parse(&narrowed.to_string()).unwrap();
    let filler = typed_kafka::avro::resolve::Resolver::new(&narrow_schema, Order::schema().unwrap().schema()).unwrap();
    let without_note = Order { note: None, ..order.clone() };
    let mut full = Vec::new();
    without_note.encode_body(&mut full).unwrap();
    // The writer's bytes: the same record without the note's union index (one byte, 0 for null).
    let mut with_note = Vec::new();
    Order { note: Some("x".into()), ..order.clone() }.encode_body(&mut with_note).unwrap();
    let note_at = full.iter().zip(&with_note).position(|(a, b)| a != b).unwrap();
    let mut narrow_bytes = full.clone();
    narrow_bytes.remove(note_at);
    assert_eq!(filler.read::<Order>(&narrow_bytes, &mut scratch).unwrap(), without_note);
    let dec_full = || {
        black_box(Order::decode_body(black_box(&full)).unwrap());
    };
    let i_dec_filled = interleaved(400, 1000, dec_full, || {
        black_box(filler.read::<Order>(black_box(&narrow_bytes), &mut scratch).unwrap());
    });

    // Writing into a registered schema with one more field (defaulted): encode, then project, vs encode alone.
    let mut defaulted: serde_json::Value = serde_json::from_str(Order::schema().unwrap().json()).unwrap();
    defaulted["fields"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "added", "type": "long", "default": 0}));
    let registered_schema = typed_kafka::avro::schema::Schema::parse(&defaulted.to_string()).unwrap();
    let projection =
        typed_kafka::avro::resolve::Resolver::projecting(Order::schema().unwrap().schema(), &registered_schema)
            .unwrap();
    let (mut plain, mut own, mut projected) =
        (Vec::with_capacity(512), Vec::with_capacity(512), Vec::with_capacity(512));
    let i_enc_projected = interleaved(
        400,
        2000,
        || {
            plain.clear();
            black_box(&order).encode_body(&mut plain).unwrap();
        },
        || {
            own.clear();
            projected.clear();
            black_box(&order).encode_body(&mut own).unwrap();
            projection.project(&own, &mut projected).unwrap();
        },
    );
    // And into one that lacks the optional `note` (the value has none): transcoded.
    let narrowing =
        typed_kafka::avro::resolve::Resolver::projecting(Order::schema().unwrap().schema(), &narrow_schema).unwrap();
    let i_enc_narrowed = interleaved(
        400,
        2000,
        || {
            plain.clear();
            black_box(&without_note).encode_body(&mut plain).unwrap();
        },
        || {
            own.clear();
            projected.clear();
            black_box(&without_note).encode_body(&mut own).unwrap();
            narrowing.project(&own, &mut projected).unwrap();
        },
    );

    // Five data-contract rules checked before the same encode (they hold, as for a record that is sent).
    let ruled = typed_kafka_benches::RuledOrder::from(&order);
    let (mut rule_buf, mut rule_plain) = (Vec::with_capacity(512), Vec::with_capacity(512));
    let mut broken = Vec::new();
    ruled.rule_violations(&mut broken);
    assert!(broken.is_empty(), "the sample keeps its rules: {broken:?}");
    let i_rules = interleaved(
        21,
        20_000,
        || {
            rule_plain.clear();
            black_box(&order).encode_body(&mut rule_plain).unwrap();
        },
        || {
            rule_buf.clear();
            let r = black_box(&ruled);
            let mut broken = Vec::new();
            r.rule_violations(&mut broken);
            assert!(broken.is_empty());
            r.encode_body(&mut rule_buf).unwrap();
        },
    );
    let alloc_rules = allocations_per_call(|| {
        let mut broken = Vec::new();
        black_box(&ruled).rule_violations(&mut broken);
        black_box(broken);
    });

    println!("\n== ratios, interleaved (median of alternating rounds) ==");
    println!("encode with 5 rules checked / the same encode without = {i_rules:.2}x  (target <= 1.15)");
    println!("encode: apache_avro_write_ser / typed_kafka  = {i_enc_ser:.2}x  (target >= 5)");
    println!("encode: typed_kafka / hand_written           = {i_enc_hand:.2}x  (target <= 1.3)");
    println!("decode: apache_avro_read_deser / typed_kafka = {i_dec_deser:.2}x  (a new value each time)");
    println!(
        "decode: apache_avro_read_deser / typed_kafka decode_body_into = {i_dec_into_deser:.2}x  (target >= 2.9; one value reused)"
    );
    println!("decode: typed_kafka / hand_written           = {i_dec_hand:.2}x  (target <= 1.25)");
    println!("decode: writer with one more field (resolved) / exact = {i_dec_resolved:.2}x  (target <= 1.3)");
    println!("decode: writer without an optional field (resolved) / exact = {i_dec_filled:.2}x  (target <= 1.3)");
    println!("encode: into a schema with one more field (projected) / exact = {i_enc_projected:.2}x  (target <= 1.3)");
    println!(
        "encode: into a schema without an optional field (projected) / exact = {i_enc_narrowed:.2}x  (target <= 1.3)"
    );

    println!("\n== allocations per record ==");
    println!("checking 5 rules that hold: {alloc_rules:.2}  (target 0)");
    println!(
        "encode into a reused buffer: typed_kafka {alloc_enc_ours:.2}, apache_avro_write_ser {alloc_enc_ser:.2}  (target 0)"
    );
    println!(
        "decode: typed_kafka {alloc_dec_ours:.2} (decode_body_into a reused value: {alloc_dec_into:.2}), hand_written {alloc_dec_hand:.2}, apache_avro_read_deser {alloc_dec_deser:.2}"
    );
}
