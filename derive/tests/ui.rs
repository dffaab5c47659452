//! Compile errors of `#[derive(KafkaRecord)]`: each points at the user's code and says what to do.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
