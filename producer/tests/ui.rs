//! Compile errors of typed topics: a value of the wrong type does not compile, and the message names the topic.

#[test]
fn wrong_types_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
