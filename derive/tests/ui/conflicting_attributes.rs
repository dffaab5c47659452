use typed_kafka::KafkaRecord;

#[derive(KafkaRecord, Default)]
struct Blob {
    #[kafka(bytes, fixed)]
    data: Vec<u8>,
    #[kafka(skip, default = 1)]
    cache: i32,
    #[kafka(bytes)]
    not_bytes: String,
    #[kafka(frobnicate)]
    other: i32,
}

fn main() {}
