use typed_kafka::KafkaRecord;

#[derive(KafkaRecord)]
pub struct Address {
    pub zip: String,
}

#[derive(KafkaRecord)]
#[kafka(rule(name = "misspelled", expr = "this.totl > 0"))]
#[kafka(rule(name = "string_vs_int", expr = "this.sku > 3"))]
#[kafka(rule(name = "not_a_verdict", expr = "this.total + 1"))]
#[kafka(rule(name = "unsupported", expr = "this.lines.map(l, l * 2).size() > 0"))]
#[kafka(rule(name = "nested", expr = "this.address.zip.size() == 5"))]
#[kafka(rule(name = "syntax", expr = "this.total >"))]
pub struct Order {
    pub total: i64,
    #[kafka(rule(name = "bad_regex", expr = "this.matches('[A-Z')"))]
    pub sku: String,
    #[kafka(min = "1")]
    pub lines: Vec<i64>,
    #[kafka(rule(name = "no_name"))]
    pub address: Address,
}

#[derive(KafkaRecord)]
#[kafka(rule(name = "on_enum", expr = "true"))]
pub enum Color {
    Red,
    Green,
}

fn main() {}
