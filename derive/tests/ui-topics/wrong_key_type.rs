use typed_kafka::mock::MockProducer;
use typed_kafka::{KafkaRecord, Record};

#[derive(KafkaRecord)]
struct Order {
    id: String,
}

typed_kafka::topic! { ORDERS: "orders", key: String, value: Order; }
typed_kafka::topic! { AUDIT: "audit", value: Order; }

async fn send(mock: MockProducer) {
    let orders = mock.bind(ORDERS).await.unwrap();
    let _ = orders.send(Record::new(Order { id: "a".into() }).key(42i64)).await;
    let audit = mock.bind(AUDIT).await.unwrap();
    let _ = audit.send(Record::new(Order { id: "a".into() }).key("no keys here".to_string())).await;
}

fn main() {}
