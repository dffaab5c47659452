use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
struct Connection {
    peer: std::net::IpAddr,
}

fn main() {}
