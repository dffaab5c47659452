//! Types that no longer derive their committed contracts (`schemas/ui-contracts-*`): each drift is a compile error
//! naming the type, the file, the first differing path and the command that fixes it.

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

/// A field added deep inside the value.
#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Line {
    sku: String,
    count: i32,
    coupon: String,
}

/// A field's type changed in the key.
#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct OrderKey {
    customer: i64,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
struct Created {
    id: String,
}

/// A symbol added to an enum of one of a multi-type topic's records.
#[derive(KafkaRecord)]
#[kafka(namespace = "ui")]
enum Reason {
    Fraud,
    Customer,
    Other,
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
