//! The benchmark `Order`: its three types and a typical value. Derived against `typed-kafka-avro` directly, so
//! that the fuzz targets (built without librdkafka, under AddressSanitizer) include this very file.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use typed_kafka_derive::KafkaRecord;
use uuid::Uuid;

/// Where an order stands.
#[derive(KafkaRecord, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[kafka(crate = "typed_kafka_avro", namespace = "shop")]
pub enum OrderStatus {
    /// Placed, not paid.
    Placed,
    /// Paid.
    Paid,
    /// Shipped.
    Shipped,
    /// Cancelled.
    Cancelled,
}

/// One line of an order.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(crate = "typed_kafka_avro", namespace = "shop")]
pub struct LineItem {
    /// Stock keeping unit.
    pub sku: String,
    /// How many.
    pub quantity: i32,
    /// Price of one, in cents.
    pub unit_price_cents: i64,
    /// Discount on the line, in cents.
    pub discount_cents: Option<i64>,
}

/// An order, as a shop service publishes it.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(crate = "typed_kafka_avro", namespace = "shop")]
pub struct Order {
    /// Unique id.
    pub order_id: Uuid,
    /// Customer number.
    pub customer_id: i64,
    /// State.
    pub status: OrderStatus,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// ISO 4217 currency.
    pub currency: String,
    /// Total amount.
    #[kafka(decimal(precision = 12, scale = 2))]
    pub total: Decimal,
    /// Lines.
    pub items: Vec<LineItem>,
    /// Coupon code.
    pub coupon: Option<String>,
    /// Free-text note.
    pub note: Option<String>,
    /// Sales channel.
    pub channel: String,
    /// Shipping priority.
    pub priority: i32,
    /// Gift wrapped.
    pub gift: bool,
    /// Parcel weight.
    pub weight_kg: f64,
    /// Free-form attributes.
    pub attributes: HashMap<String, String>,
    /// Warehouse that ships it.
    pub warehouse: String,
}

/// A typical order: five line items, two attributes, a coupon.
pub fn sample_order() -> Order {
    Order {
        order_id: Uuid::from_u128(0x6f1e_2d3c_4b5a_6978_8796_a5b4_c3d2_e1f0),
        customer_id: 1_234_567,
        status: OrderStatus::Paid,
        created_at: DateTime::from_timestamp_millis(1_795_300_000_123).unwrap_or_default(),
        currency: "EUR".into(),
        total: Decimal::new(1_234_599, 2),
        items: (0..5)
            .map(|i| LineItem {
                sku: format!("SKU-{:05}", 1000 + i),
                quantity: i + 1,
                unit_price_cents: 1999 + i64::from(i) * 100,
                discount_cents: if i % 2 == 0 { Some(150) } else { None },
            })
            .collect(),
        coupon: Some("WINTER-10".into()),
        note: None,
        channel: "web".into(),
        priority: 2,
        gift: false,
        weight_kg: 3.75,
        attributes: [
            ("campaign".to_string(), "newsletter-42".to_string()),
            ("device".to_string(), "mobile".to_string()),
        ]
        .into(),
        warehouse: "FRA-2".into(),
    }
}
