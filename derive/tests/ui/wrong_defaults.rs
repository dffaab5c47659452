use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Settings {
    #[kafka(default = "ten")]
    retries: i32,
    #[kafka(default = 3000000000)]
    small: i32,
    #[kafka(default = 5)]
    maybe: Option<i64>,
    #[kafka(default_json = "[1, \"two\"]")]
    list: Vec<i64>,
    #[kafka(default = true)]
    name: String,
}

fn main() {}
