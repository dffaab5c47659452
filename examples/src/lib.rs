//! Runnable examples for typed-kafka: see `examples/*.rs` (`cargo run --example quickstart`).
