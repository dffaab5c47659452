//! Framing the benchmark `Order` through the registry serializer's cached path, all in one run:
//! - `encode_only`: the derive's encoder alone (the floor);
//! - `typed_kafka_framed`: `AvroSerializer::serialize` with the topic's schema ID cached (lookup + header + encode);
//! - `typed_kafka_bound`: a `BoundSerializer` (one atomic load + header + encode);
//! - both again from 2 threads at once (each thread's time per record);
//! - `schema_registry_converter`: its async `AvroEncoder::encode_struct` on the same registry, cached, for the same
//!   record (in the serde shape it needs), driven by a current-thread tokio runtime;
//! - `confluent`: Confluent's own Rust serializer (`schema-registry-client`'s `AvroSerializer`, over apache-avro,
//!   the subject's latest version cached; a decimal given as the `Value::Decimal` apache-avro 0.21 takes), the same
//!   way;
//! - and the way back: typed-kafka's `AvroDeserializer` (cached writer schema) against `schema-registry-client`'s
//!   `AvroDeserializer` with `from_value` into the serde shape, and `schema_registry_converter`'s `AvroDecoder` with
//!   `from_value`.
//!
//! Needs the local registry (started if not running) or `TYPED_KAFKA_REGISTRY_URL`:
//! `cargo bench -p typed-kafka-benches --features registry-bench --bench registry`

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::Criterion;
use schema_registry_client::rest::client_config::ClientConfig as ConfluentConfig;
use schema_registry_client::rest::models::Schema as ConfluentSchema;
use schema_registry_client::rest::schema_registry_client::{Client as _, SchemaRegistryClient as ConfluentClient};
use schema_registry_client::serdes::avro::{
    AvroDeserializer as ConfluentDeserializer, AvroSerializer as ConfluentSerializer,
};
use schema_registry_client::serdes::config::{
    DeserializerConfig, SchemaSelector, SerializerConfig as ConfluentSerializerConfig,
};
use schema_registry_client::serdes::serde::{SerdeFormat, SerdeType, SerializationContext};
use schema_registry_converter::async_impl::avro::AvroDecoder;
use schema_registry_converter::async_impl::avro::AvroEncoder;
use schema_registry_converter::async_impl::schema_registry::SrSettings;
use schema_registry_converter::schema_registry_common::SubjectNameStrategy as SrcStrategy;
use typed_kafka::{AvroDeserializer, AvroSerializer, KafkaRecord, SchemaRegistryClient, SerializerConfig};
use typed_kafka_benches::{Order, interleaved, sample_order, serde_mirror};

/// Polls a future that must complete without waiting (the cached path) once, with a no-op waker.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the cached path waited for I/O"),
    }
}

/// Time per operation on each of `threads` threads running `op` `iters` times at once.
/// Each thread reuses its own buffer, as a producer's sender would.
fn concurrent(threads: usize, iters: u64, op: impl Fn(&mut Vec<u8>) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut buf = Vec::with_capacity(512);
                for _ in 0..iters {
                    buf.clear();
                    op(&mut buf);
                }
            });
        }
    });
    start.elapsed()
}

/// A registry client of the deserializer's own (its writer-schema cache warms on the first record).
fn client_for_reading(url: &str) -> SchemaRegistryClient {
    SchemaRegistryClient::builder([url.to_string()]).build().unwrap()
}

fn out_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion")
}

fn mean_ns(group: &str, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(out_dir().join(group).join(id).join("new/estimates.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["mean"]["point_estimate"].as_f64()
}

fn main() {
    let session = typed_kafka_stack::Session::start().unwrap();
    let url = session.endpoints.registry_url.clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let topic = format!("bench-orders-{}", std::process::id());

    let order = sample_order();
    let mirror = serde_mirror::Order::from(&order);
    let client = SchemaRegistryClient::builder([url.clone()]).build().unwrap();
    let ser = AvroSerializer::<Order>::new(client, SerializerConfig::default()).unwrap();
    let mut buf = Vec::with_capacity(512);
    let id = rt.block_on(ser.serialize(&topic, &order, &mut buf)).unwrap();

    let src = AvroEncoder::new(SrSettings::new(url.clone()));
    let strategy = SrcStrategy::TopicNameStrategy(topic.clone(), false);
    let src_bytes = rt.block_on(src.encode_struct(&mirror, &strategy)).unwrap();
    assert_eq!(src_bytes[..5], buf[..5], "both frame with the same schema ID {id}");
    assert_eq!(Order::decode_body(&src_bytes[5..]).unwrap(), order);

    let bound = rt.block_on(ser.bind(&topic)).unwrap();

    // Confluent's serializer, with the type's schema (registered already: it finds its ID), and its deserializer.
    let confluent = ConfluentClient::new(ConfluentConfig::new(vec![url.clone()]));
    let schema = ConfluentSchema {
        schema_type: Some("AVRO".to_string()),
        references: None,
        metadata: None,
        rule_set: None,
        schema: Order::schema().unwrap().json().to_string(),
    };
    // The subject's latest version, cached: with its default auto-registration, schema-registry-client 0.4.2 posts the
    // schema to the registry for every record (its registration cache is never filled), about 0.5 ms each here.
    let latest = ConfluentSerializerConfig {
        auto_register_schemas: false,
        use_schema: Some(SchemaSelector::LatestVersion),
        ..ConfluentSerializerConfig::default()
    };
    let confluent_ser = ConfluentSerializer::new(&confluent, Some(&schema), None, latest).unwrap();
    let confluent_de = ConfluentDeserializer::new(&confluent, None, DeserializerConfig::default()).unwrap();
    let ctx = SerializationContext {
        topic: topic.clone(),
        serde_type: SerdeType::Value,
        serde_format: SerdeFormat::Avro,
        headers: None,
    };
    let confluent_value = |m: &serde_mirror::Order| serde_mirror::apache_avro_021_value(m).unwrap();
    let confluent_write =
        |m: &serde_mirror::Order| rt.block_on(confluent_ser.serialize(&ctx, confluent_value(m))).unwrap();
    let confluent_bytes = confluent_write(&mirror);
    assert_eq!(confluent_bytes[..5], buf[..5], "Confluent's serializer frames with the same schema ID");
    assert_eq!(Order::decode_body(&confluent_bytes[5..]).unwrap(), order);
    let confluent_read = |bytes: &[u8]| -> serde_mirror::Order {
        let mut value = rt.block_on(confluent_de.deserialize(&ctx, bytes)).unwrap().value;
        // The way back: serde takes the decimal as bytes.
        if let apache_avro_021::types::Value::Record(fields) = &mut value {
            for (name, v) in fields.iter_mut() {
                if name == "total"
                    && let apache_avro_021::types::Value::Decimal(d) = v
                {
                    *v = apache_avro_021::types::Value::Bytes(Vec::<u8>::try_from(&*d).unwrap());
                }
            }
        }
        apache_avro_021::from_value(&value).unwrap()
    };
    // It reads its own bytes: apache-avro 0.21 refuses a decimal in fewer bytes than the precision allows ("Precision
    // 12 too small to hold decimal values with 3 bytes"), which typed-kafka writes, as Java's BigDecimal does.
    assert_eq!(confluent_read(&confluent_bytes).normalized(), mirror.clone().normalized());
    let typed_de = AvroDeserializer::<Order>::new(client_for_reading(&url)).unwrap();
    assert_eq!(rt.block_on(typed_de.deserialize(&topic, &buf)).unwrap(), order);
    let src_de = AvroDecoder::new(SrSettings::new(url.clone()));
    let src_read = |bytes: &[u8]| -> serde_mirror::Order {
        let value = rt.block_on(src_de.decode(Some(bytes))).unwrap().value;
        apache_avro::from_value(&value).unwrap()
    };
    assert_eq!(src_read(&buf).normalized(), mirror.clone().normalized());
    let mut c = Criterion::default().output_directory(&out_dir()).configure_from_args();
    {
        let mut g = c.benchmark_group("registry");
        g.bench_function("encode_only", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&order).encode_body(&mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("typed_kafka_framed", |b| {
            b.iter(|| {
                buf.clear();
                ready(ser.serialize(black_box(&topic), black_box(&order), &mut buf)).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("typed_kafka_bound", |b| {
            b.iter(|| {
                buf.clear();
                bound.serialize(black_box(&order), &mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("part_compare_topic", |b| {
            let copy = topic.clone().into_boxed_str();
            b.iter(|| black_box(&*copy == black_box(topic.as_str())))
        });
        g.bench_function("part_cached_id", |b| b.iter(|| black_box(ser.cached_id(black_box(&topic)))));
        g.bench_function("part_encode_framed_known_id", |b| {
            b.iter(|| {
                buf.clear();
                ser.encode_framed(&topic, black_box(id), black_box(&order), &mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("part_header_then_encode_inline", |b| {
            b.iter(|| {
                buf.clear();
                typed_kafka::avro::wire::write_header(&mut buf, black_box(id));
                black_box(&order).encode_body(&mut buf).unwrap();
                black_box(buf.len())
            })
        });
        g.bench_function("encode_only_2_threads", |b| {
            b.iter_custom(|iters| {
                concurrent(2, iters, |local| {
                    black_box(&order).encode_body(local).unwrap();
                    black_box(local.len());
                })
            })
        });
        g.bench_function("typed_kafka_framed_2_threads", |b| {
            b.iter_custom(|iters| {
                concurrent(2, iters, |local| {
                    ready(ser.serialize(&topic, black_box(&order), local)).unwrap();
                    black_box(local.len());
                })
            })
        });
        g.bench_function("schema_registry_converter", |b| {
            b.iter(|| black_box(rt.block_on(src.encode_struct(black_box(&mirror), &strategy)).unwrap()))
        });
        g.bench_function("confluent", |b| b.iter(|| black_box(confluent_write(black_box(&mirror)))));
        g.bench_function("read_typed_kafka", |b| {
            b.iter(|| black_box(ready(typed_de.deserialize(&topic, black_box(&buf))).unwrap()))
        });
        g.bench_function("read_confluent", |b| b.iter(|| black_box(confluent_read(black_box(&confluent_bytes)))));
        g.bench_function("read_schema_registry_converter", |b| b.iter(|| black_box(src_read(black_box(&buf)))));
        g.finish();
    }
    c.final_summary();

    let r = |a: &str, b: &str| match (mean_ns("registry", a), mean_ns("registry", b)) {
        (Some(x), Some(y)) => format!("{:.3}x", y / x),
        _ => "n/a (run without a filter)".into(),
    };
    println!("\n== ratios (mean time, same run) ==");
    println!(
        "typed_kafka_framed / encode_only                    = {}  (target <= 1.10)",
        r("encode_only", "typed_kafka_framed")
    );
    println!(
        "typed_kafka_framed_2_threads / encode_only_2_threads = {}  (target <= 1.10)",
        r("encode_only_2_threads", "typed_kafka_framed_2_threads")
    );
    println!(
        "schema_registry_converter / typed_kafka_framed      = {}  (target >= 10)",
        r("typed_kafka_framed", "schema_registry_converter")
    );

    // The same comparisons, interleaved (see `interleaved`).
    let mut b1 = Vec::with_capacity(512);
    let mut b2 = Vec::with_capacity(512);
    let single = interleaved(
        400,
        2000,
        || {
            b1.clear();
            black_box(&order).encode_body(&mut b1).unwrap();
        },
        || {
            b2.clear();
            ready(ser.serialize(black_box(&topic), black_box(&order), &mut b2)).unwrap();
        },
    );
    let single_sync = interleaved(
        400,
        2000,
        || {
            b1.clear();
            black_box(&order).encode_body(&mut b1).unwrap();
        },
        || {
            b2.clear();
            ser.serialize_cached(black_box(&topic), black_box(&order), &mut b2).unwrap().unwrap();
        },
    );
    let single_bound = interleaved(
        400,
        2000,
        || {
            b1.clear();
            black_box(&order).encode_body(&mut b1).unwrap();
        },
        || {
            b2.clear();
            bound.serialize(black_box(&order), &mut b2).unwrap();
        },
    );
    let two_bound = interleaved(
        200,
        1,
        || {
            concurrent(2, 50_000, |b| black_box(&order).encode_body(b).unwrap());
        },
        || {
            concurrent(2, 50_000, |b| {
                bound.serialize(black_box(&order), b).unwrap();
            });
        },
    );
    let two = interleaved(
        200,
        1,
        || {
            concurrent(2, 50_000, |b| black_box(&order).encode_body(b).unwrap());
        },
        || {
            concurrent(2, 50_000, |b| {
                ready(ser.serialize(&topic, black_box(&order), b)).unwrap();
            });
        },
    );
    // typed-kafka's side of the comparisons with the other serializers and deserializers.
    let mut typed_write = || {
        b1.clear();
        ready(ser.serialize(&topic, black_box(&order), &mut b1)).unwrap();
    };
    let typed_read = || {
        black_box(ready(typed_de.deserialize(&topic, black_box(&buf))).unwrap());
    };
    let src_ratio = interleaved(200, 200, &mut typed_write, || {
        black_box(rt.block_on(src.encode_struct(black_box(&mirror), &strategy)).unwrap());
    });
    let confluent_ratio = interleaved(200, 200, &mut typed_write, || {
        black_box(confluent_write(black_box(&mirror)));
    });
    let read_confluent = interleaved(200, 200, typed_read, || {
        black_box(confluent_read(black_box(&confluent_bytes)));
    });
    let read_src = interleaved(200, 200, typed_read, || {
        black_box(src_read(black_box(&buf)));
    });
    println!("\n== ratios, interleaved (median of alternating rounds) ==");
    println!("typed_kafka_framed / encode_only                     = {single:.3}x  (target <= 1.10)");
    println!("typed_kafka_framed_2_threads / encode_only_2_threads = {two:.3}x  (target <= 1.10)");
    println!(
        "serialize_cached (sync) / encode_only                = {single_sync:.3}x  (the same path without a future)"
    );
    println!("schema_registry_converter / typed_kafka_framed       = {src_ratio:.3}x  (target >= 10)");
    println!("confluent (schema-registry-client) / typed_kafka_framed = {confluent_ratio:.3}x  (a figure)");
    println!("read: confluent + from_value / typed_kafka            = {read_confluent:.3}x  (a figure)");
    println!("read: schema_registry_converter + from_value / typed_kafka = {read_src:.3}x  (a figure)");
    println!("typed_kafka_bound / encode_only                      = {single_bound:.3}x  (target <= 1.03)");
    println!("typed_kafka_bound_2_threads / encode_only_2_threads  = {two_bound:.3}x  (target <= 1.03)");
    let _ = session.stop_started();
}
