//! The benchmark `Order` read from bodies written with generated writer schemas (its own schema changed the ways
//! evolution changes schemas): a resolver builds or refuses with its breaks; a built one reads any body into an
//! `Order` or returns an error, never panics or spins; and the other way round, an `Order` is projected into the
//! changed schema or refused per value. Any body, written in the changed schema, has Avro's JSON encoding or an
//! error, and the JSON parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::KafkaRecord;
use typed_kafka_avro::resolve::Resolver;
use typed_kafka_avro::schema::Schema;
use typed_kafka_fuzz::{Choices, Order, mutate, sample_order};

fuzz_target!(|data: &[u8]| {
    let Ok(own) = Order::schema() else { return };
    let mut c = Choices::new(data);
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(own.json()) else { return };
    mutate(&mut json, &mut c);
    let Ok(writer) = Schema::parse(&json.to_string()) else { return };
    if let Ok(text) = typed_kafka_avro::json::body_to_json(&writer, c.rest()) {
        // serde_json's own nesting limit (128) is below what a deep schema's JSON may reach.
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
            assert!(e.to_string().contains("recursion limit"), "not JSON ({e}): {text}");
        }
    }
    if let Ok(resolver) = Resolver::new(&writer, own.schema()) {
        let mut scratch = Vec::new();
        let _ = resolver.read::<Order>(c.rest(), &mut scratch);
        let _ = resolver.violations(c.rest());
    }
    if let Ok(projection) = Resolver::projecting(own.schema(), &writer) {
        let mut body = Vec::new();
        sample_order().encode_body(&mut body).expect("the sample order encodes");
        let mut out = Vec::new();
        if projection.project(&body, &mut out).is_ok() {
            // What is written in the changed schema reads back through it.
            if let Ok(back) = Resolver::new(&writer, own.schema()) {
                let _ = back.read::<Order>(&out, &mut Vec::new());
            }
        }
    }
});
