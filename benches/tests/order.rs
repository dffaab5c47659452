//! The benchmark's four codecs agree: each decoder reads every encoder's bytes back to the same order.

#[test]
fn every_codec_reads_every_other_codecs_bytes() {
    assert!(!typed_kafka_benches::check_codecs_agree().is_empty());
}
