use typed_kafka::mock::MockProducer;
use typed_kafka::{KafkaRecord, Record};

#[derive(KafkaRecord)]
struct Created {
    id: String,
}

#[derive(KafkaRecord)]
struct Deleted {
    id: String,
}

#[derive(KafkaRecord)]
struct Invoice {
    id: String,
}

typed_kafka::topic! { CUSTOMER_EVENTS: "customer-events", key: String, values: [Created, Deleted]; }

async fn send(mock: MockProducer) {
    let events = mock.bind(CUSTOMER_EVENTS).await.unwrap();
    let _ = events.send(Record::new(Created { id: "a".into() })).await;
    let _ = events.send_and_forget(Record::new(Invoice { id: "b".into() })).await;
}

fn main() {}
