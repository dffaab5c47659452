//! Compile errors of `#[derive(KafkaRecord)]`: each points at the user's code and says what to do.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

/// Typed topics (`typed_kafka::topic!`): a value, key or member type the topic does not carry does not compile,
/// and the message names the topic. (Here rather than in `typed-kafka`'s own tests so that the compile-fail
/// projects build typed-kafka without librdkafka.)
#[test]
fn typed_topic_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui-topics/*.rs");
}
