//! Types that still derive their committed contracts (`schemas/ui-contracts-*`): the build passes.

use typed_kafka::KafkaRecord;

/// An order of the compile-time contract tests.
#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Order {
    id: String,
    total_cents: i64,
    lines: Vec<Line>,
    note: Option<String>,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Line {
    sku: String,
    count: i32,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct OrderKey {
    customer: String,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Created {
    id: String,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
enum Reason {
    Fraud,
    Customer,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Cancelled {
    id: String,
    reason: Reason,
}

typed_kafka::topic! { ORDERS: "ui-contracts-orders", key: avro OrderKey, value: Order; }
typed_kafka::topic! { EVENTS: "ui-contracts-events", key: String, values: [Created, Cancelled]; }

fn main() {}
