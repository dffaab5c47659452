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

/// The compile-time contract check of `typed_kafka::topic!` against the committed `schemas/ui-contracts-*`
/// contracts of this repository (found above the trybuild project, as above any crate of the workspace): types that
/// still derive them build; each drifted type is an error with its path. (No "contract" in the name: `cargo
/// contracts bless` runs the tests with that word.)
#[test]
fn typed_topic_drift_fails_to_build() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui-contracts/holds.rs");
    t.compile_fail("tests/ui-contracts/drifted.rs");
}
