//! The benchmark's four codecs agree: each decoder reads every encoder's bytes back to the same order.

use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use typed_kafka::KafkaRecord;
use typed_kafka_benches::{Order, hand, sample_order, serde_mirror};

#[test]
fn every_codec_reads_every_other_codecs_bytes() {
    let order = sample_order();
    let mirror = serde_mirror::Order::from(&order);
    let info = Order::schema().unwrap();
    let writer = GenericDatumWriter::builder(info.schema()).build().unwrap();
    let reader = GenericDatumReader::builder(info.schema()).build().unwrap();

    let mut ours = Vec::new();
    order.encode_body(&mut ours).unwrap();
    let mut by_hand = Vec::new();
    hand::encode(&order, &mut by_hand);
    let via_ser = writer.write_ser_to_vec(&mirror).unwrap();
    let via_value =
        writer.write_value_to_vec(apache_avro::to_value(&mirror).unwrap().resolve(info.schema()).unwrap()).unwrap();
    assert_eq!(ours.len(), by_hand.len());
    for bytes in [&ours, &by_hand, &via_ser, &via_value] {
        assert_eq!(Order::decode_body(bytes).unwrap(), order);
        assert_eq!(hand::decode(bytes).unwrap(), order);
        assert_eq!(reader.read_deser::<serde_mirror::Order>(&mut bytes.as_slice()).unwrap().normalized(), mirror);
    }
}
