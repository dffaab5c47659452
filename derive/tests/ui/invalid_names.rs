use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
#[kafka(rename = "order-event", namespace = "shop..v1")]
struct OrderEvent {
    #[kafka(rename = "2fast")]
    speed: i32,
}

#[derive(KafkaRecord)]
#[kafka(rename_all = "kebab-case")]
struct Kebab {
    a: i32,
}

fn main() {}
