use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Upload {
    data: Vec<u8>,
    thumbnail: Option<Vec<u8>>,
    #[kafka(bytes)]
    ok_bytes: Vec<u8>,
    #[kafka(int_array)]
    ok_ints: Vec<u8>,
    #[kafka(int_array)]
    not_bytes: Vec<i32>,
}

fn main() {}
