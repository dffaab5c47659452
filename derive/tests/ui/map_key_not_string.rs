use std::collections::HashMap;
use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Inventory {
    counts: HashMap<u32, i64>,
}

fn main() {}
