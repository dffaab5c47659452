use typed_kafka::{KafkaRecord, Producer, Record};

#[derive(KafkaRecord)]
struct Order {
    id: String,
}

#[derive(KafkaRecord)]
struct Payment {
    amount: i64,
}

typed_kafka::topic! { ORDERS: "orders", key: String, value: Order; }

async fn send(producer: Producer) {
    let orders = producer.bind(ORDERS).await.unwrap();
    let _ = orders.send(Record::new(Payment { amount: 5 }).key("c-1".to_string())).await;
}

fn main() {}
