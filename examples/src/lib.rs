//! Runnable examples for typed-kafka: see `examples/*.rs` (`cargo run --example quickstart`). The record types and
//! topics the examples share live here, so that their contracts under `schemas/` are checked by `cargo test`.

pub mod shop {
    //! The quickstart's shop: orders keyed by customer.

    use chrono::{DateTime, Utc};
    use typed_kafka::KafkaRecord;
    use uuid::Uuid;

    /// Where an order stands.
    #[derive(KafkaRecord, Debug, Clone, Copy, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub enum Status {
        /// Placed, not paid yet.
        Placed,
        /// Paid.
        Paid,
    }

    /// A line of an order.
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub struct Line {
        pub sku: String,
        pub quantity: u32,
        /// Unit price in cents.
        pub unit_cents: u64,
    }

    /// An order, as the shop publishes it.
    #[derive(KafkaRecord, Debug, Clone, PartialEq)]
    #[kafka(namespace = "shop.quickstart")]
    pub struct Order {
        /// Unique id.
        pub id: Uuid,
        pub lines: Vec<Line>,
        pub total_cents: u64,
        pub status: Status,
        pub placed_at: DateTime<Utc>,
        /// Free text from the customer.
        pub note: Option<String>,
    }

    typed_kafka::topic! {
        /// Orders, keyed by customer name (as Java's StringSerializer writes it, so Java producers of the same topic
        /// put each customer's orders on the same partition).
        pub ORDERS: "quickstart-orders", key: String, value: Order;
    }
}

#[cfg(test)]
mod tests {
    // The derived schemas are still the committed contracts (schemas/quickstart-orders-value/).
    typed_kafka::contract_test!(quickstart_orders_contract: crate::shop::ORDERS);
}
