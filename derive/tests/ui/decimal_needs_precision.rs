use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Price {
    amount: rust_decimal::Decimal,
    #[kafka(decimal(precision = 4, scale = 6))]
    bad_scale: rust_decimal::Decimal,
}

fn main() {}
