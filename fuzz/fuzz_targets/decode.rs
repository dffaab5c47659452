//! Decoding arbitrary bytes as the benchmark `Order` (strings, decimals, uuids, timestamps, arrays, maps, unions,
//! enums) must return a value or an error: never panic, never allocate more than the input can describe.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::{AvroDecode, KafkaRecord};
use typed_kafka_fuzz::{LineItem, Order};

fuzz_target!(|data: &[u8]| {
    if let Ok(order) = Order::decode_body(data) {
        // Whatever decodes re-encodes (the total may not fit its decimal schema only if decode accepted it, which
        // it cannot: decode reads the schema's own scale).
        let mut buf = Vec::new();
        let _ = order.encode_body(&mut buf);
    }
    let _ = <Vec<LineItem> as AvroDecode>::decode(&mut &data[..]);
});
