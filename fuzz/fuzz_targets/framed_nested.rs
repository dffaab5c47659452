//! Arbitrary bytes as Confluent-framed payloads of the nested benchmark `Order` (records in arrays, unions, maps,
//! enums, decimals, uuids, timestamps): framing and decoding return a value or an error, and whatever decodes
//! re-frames and re-encodes to a payload that decodes again and re-encodes to as many bytes (decode and encode accept
//! the same set). Neither values nor bytes can be compared whole: a NaN is not equal to itself, and a `HashMap`'s
//! entries encode in its own iteration order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_kafka_avro::KafkaRecord;
use typed_kafka_avro::wire;
use typed_kafka_fuzz::Order;

fuzz_target!(|data: &[u8]| {
    let Ok((id, body)) = wire::split(data) else { return };
    if let Ok(order) = Order::decode_body(body) {
        let mut buf = Vec::new();
        wire::write_header(&mut buf, id);
        order.encode_body(&mut buf).expect("a decoded order re-encodes");
        let (again_id, again_body) = wire::split(&buf).expect("our own frame splits");
        assert_eq!(again_id, id);
        let again = Order::decode_body(again_body).expect("re-encoded bytes decode");
        let mut twice = Vec::new();
        wire::write_header(&mut twice, again_id);
        again.encode_body(&mut twice).expect("a decoded order re-encodes");
        assert_eq!(twice.len(), buf.len());
    }
});
