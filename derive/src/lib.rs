//! `#[derive(KafkaRecord)]` for typed-kafka: generates, at compile time, a type's Avro schema and a direct binary
//! encoder and decoder. Use it through the `typed-kafka` crate, which documents the attributes and the mapping.
//!
//! Built like serde_derive: attributes are parsed into a small model ([`attr`], [`model`]), checked ([`check`]) with
//! every error collected against the span of the user's code, and only then generated ([`r#gen`](crate::r#gen)).

mod attr;
mod check;
mod contract;
mod r#gen;
mod model;
mod rules;
mod shape;
mod topic;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `AvroType`, `AvroDecode` and `KafkaRecord`. The mapping of Rust types to Avro and every attribute
/// (`#[kafka(...)]` on containers, fields and variants) are listed on the `typed_kafka` crate's front page, in its
/// sections *Mapping* and *Attributes*; `derive/tests/ui/` shows each compile error.
#[proc_macro_derive(KafkaRecord, attributes(kafka))]
pub fn derive_kafka_record(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let cx = attr::Ctxt::default();
    let container = model::parse(&cx, &input);
    if let Some(c) = &container {
        check::check(&cx, c);
    }
    let compiled = container.as_ref().map(|c| rules::compile(&cx, c));
    match (cx.into_result(), container, compiled) {
        (Ok(()), Some(c), Some(rules)) => r#gen::expand(&c, &rules).into(),
        (Err(e), ..) => e.to_compile_error().into(),
        (Ok(()), ..) => TokenStream::new(),
    }
}

/// `typed_kafka::topic!`'s expansion: the topic's type, its `Topic` and `ValueOf` impls and its contract check
/// (which the macro calls; not for direct use).
#[doc(hidden)]
#[proc_macro]
pub fn __topic(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as topic::Input);
    topic::expand(input, &contract::Env::current()).into()
}
