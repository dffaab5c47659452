use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
#[kafka(rename_all = "camelCase")]
struct Person {
    first_name: String,
    #[kafka(rename = "firstName")]
    given_name: String,
}

#[derive(KafkaRecord)]
enum Status {
    Active,
    #[kafka(rename = "Active")]
    Enabled,
}

fn main() {}
