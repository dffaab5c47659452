//! The benchmark `Order` with five data-contract rules: a set of currencies, a lower bound, a length, a pattern and
//! a rule on the whole record. Its schema is the `Order`'s with `confluent:rules` added.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use typed_kafka_derive::KafkaRecord;
use uuid::Uuid;

use crate::order::{LineItem, Order, OrderStatus};

/// An order, as a shop service publishes it, with the shop's rules.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(crate = "typed_kafka_avro", namespace = "shop", rename = "Order")]
#[kafka(rule(name = "priority_or_gift", expr = "this.priority <= 9 || this.gift", doc = "urgent only as a gift"))]
pub struct RuledOrder {
    /// Unique id.
    pub order_id: Uuid,
    /// Customer number.
    #[kafka(min = 1)]
    pub customer_id: i64,
    /// State.
    pub status: OrderStatus,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// ISO 4217 currency.
    #[kafka(one_of = ["EUR", "USD", "GBP", "CHF"])]
    pub currency: String,
    /// Total amount.
    #[kafka(decimal(precision = 12, scale = 2))]
    pub total: Decimal,
    /// Lines.
    #[kafka(len(min = 1, max = 100))]
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
    #[kafka(pattern = "^[A-Z]{3}-[0-9]+$")]
    pub warehouse: String,
}

impl From<&Order> for RuledOrder {
    fn from(o: &Order) -> RuledOrder {
        RuledOrder {
            order_id: o.order_id,
            customer_id: o.customer_id,
            status: o.status,
            created_at: o.created_at,
            currency: o.currency.clone(),
            total: o.total,
            items: o.items.clone(),
            coupon: o.coupon.clone(),
            note: o.note.clone(),
            channel: o.channel.clone(),
            priority: o.priority,
            gift: o.gift,
            weight_kg: o.weight_kg,
            attributes: o.attributes.clone(),
            warehouse: o.warehouse.clone(),
        }
    }
}
