use rust_decimal::Decimal;
use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Price {
    amount: Decimal,
    #[kafka(decimal(precision = 4, scale = 6))]
    bad_scale: Decimal,
}

fn main() {}
