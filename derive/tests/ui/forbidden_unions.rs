use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
enum Amount {
    Cents(i64),
    Millis(i64),
    Items(Vec<String>),
    Codes(Vec<i32>),
    Maybe(Option<String>),
}

#[derive(KafkaRecord)]
struct Nested {
    value: Option<Option<i32>>,
}

fn main() {}
