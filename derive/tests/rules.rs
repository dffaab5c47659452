//! Data-contract rules: written beside the type, checked by the compiler, run as generated Rust, written into the
//! schema as `confluent:rules`.

use std::collections::HashMap;

use typed_kafka::{AvroType, KafkaRecord, RuleViolation};

/// An order line.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
pub struct Line {
    #[kafka(pattern = "^[A-Z]{3}-[0-9]+$")]
    pub sku: String,
    #[kafka(min = 1, max = 1000)]
    pub quantity: i32,
    #[kafka(rule(name = "price_not_negative", expr = "this >= 0.0", doc = "free is fine, negative is not"))]
    pub price: f64,
}

/// An order.
#[derive(KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(rule(name = "lines_add_up", expr = "this.total == this.lines.size() || this.lines.size() == 0"))]
#[kafka(rule(
    name = "due_after_placed",
    expr = "this.due_millis == null || this.due_millis > this.placed_millis ? '' : 'due before placed'"
))]
pub struct Order {
    #[kafka(len(min = 1, max = 16), rule(name = "id_prefix", expr = "this.startsWith('ord-')"))]
    pub id: String,
    #[kafka(min = 0)]
    pub total: i64,
    #[kafka(one_of = ["EUR", "USD", "GBP"])]
    pub currency: String,
    #[kafka(non_empty)]
    pub note: Option<String>,
    pub lines: Vec<Line>,
    #[kafka(rule(name = "tags_short", expr = "this.all(k, size(k) <= 8 && size(this[k]) <= 20)"))]
    pub tags: HashMap<String, String>,
    pub placed_millis: i64,
    pub due_millis: Option<i64>,
}

fn line(sku: &str, quantity: i32, price: f64) -> Line {
    Line { sku: sku.into(), quantity, price }
}

fn order() -> Order {
    Order {
        id: "ord-1".into(),
        total: 2,
        currency: "EUR".into(),
        note: None,
        lines: vec![line("ABC-1", 1, 2.5), line("XYZ-22", 3, 0.0)],
        tags: HashMap::from([("team".to_string(), "shop".to_string())]),
        placed_millis: 1_000,
        due_millis: Some(2_000),
    }
}

fn broken(o: &Order) -> Vec<(String, &'static str, Option<String>)> {
    let mut out: Vec<RuleViolation> = Vec::new();
    o.rule_violations(&mut out);
    out.into_iter().map(|v| (v.path.to_string(), v.rule, v.message)).collect()
}

#[test]
fn a_record_keeping_every_rule_has_no_violations() {
    assert_eq!(broken(&order()), vec![]);
}

#[test]
fn every_broken_rule_is_named_with_its_path() {
    let mut o = order();
    o.id = String::new();
    o.total = -1;
    o.currency = "eur".into();
    o.note = Some(String::new());
    o.lines[1] = line("bad", 0, -1.0);
    o.due_millis = Some(500);
    o.tags.insert("a-very-long-key".into(), "v".into());
    let found = broken(&o);
    let expect = [
        ("/", "lines_add_up", None),
        ("/", "due_after_placed", Some("due before placed".to_string())),
        ("/id", "id_len", None),
        ("/id", "id_prefix", None),
        ("/total", "total_min", None),
        ("/currency", "currency_one_of", None),
        ("/note", "note_non_empty", None),
        ("/lines/1/sku", "sku_pattern", None),
        ("/lines/1/quantity", "quantity_min", None),
        ("/lines/1/price", "price_not_negative", None),
        ("/tags", "tags_short", None),
    ];
    let expect: Vec<(String, &str, Option<String>)> =
        expect.into_iter().map(|(p, r, m)| (p.to_string(), r, m)).collect();
    assert_eq!(found, expect);
}

#[test]
fn null_fields_skip_their_rules() {
    let mut o = order();
    o.note = None;
    o.due_millis = None;
    assert_eq!(broken(&o), vec![]);
}

#[test]
fn rules_are_in_the_schema_as_confluent_reads_them() {
    let schema: serde_json::Value = serde_json::from_str(Order::schema().unwrap().json()).unwrap();
    let rules = &schema["confluent:rules"];
    assert_eq!(rules[0]["name"], "lines_add_up");
    assert_eq!(
        rules[1]["expr"],
        "this.due_millis == null || this.due_millis > this.placed_millis ? '' : 'due before placed'"
    );
    let id = &schema["fields"][0];
    assert_eq!(
        id["confluent:rules"][0],
        serde_json::json!({"name": "id_len", "expr": "size(this) >= 1 && size(this) <= 16"})
    );
    assert_eq!(id["confluent:rules"][1]["name"], "id_prefix");
    let line = &schema["fields"][4]["type"]["items"];
    assert_eq!(
        line["fields"][2]["confluent:rules"][0],
        serde_json::json!({"name": "price_not_negative", "doc": "free is fine, negative is not", "expr": "this >= 0.0"})
    );
    assert_eq!(schema["fields"][2]["confluent:rules"][0]["expr"], "this in [\"EUR\", \"USD\", \"GBP\"]");
}

/// Evaluation errors break the rule with CEL's message; logic absorbs them as CEL's does.
#[derive(KafkaRecord, Debug)]
#[kafka(rule(name = "has_is_presence", expr = "has(this.x) && has(this.maybe) && this.maybe == null"))]
pub struct Arithmetic {
    #[kafka(rule(name = "no_overflow", expr = "this + 1 > this"))]
    pub n: i64,
    #[kafka(rule(name = "divides", expr = "100 / this > 1"))]
    pub d: i64,
    #[kafka(rule(name = "absorbed", expr = "100 / this > 1 || true"))]
    pub e: i64,
    #[kafka(rule(name = "recent", expr = "timestamp('2020-01-01T00:00:00Z') < now && now - duration('1h') < now"))]
    pub f: bool,
    #[kafka(rule(name = "codepoints", expr = "size(this) == 2 && this.matches('^é') && 'ab' + this != ''"))]
    pub s: String,
    #[kafka(rule(name = "conversions", expr = "this > 1.0 && uint(this) < 2u && this == 1.5 && int(this) == 1"))]
    #[kafka(min = 1, max = 2)]
    pub x: f64,
    pub y: bool,
    pub maybe: Option<i64>,
}

#[test]
fn evaluation_errors_and_their_absorption() {
    let a = Arithmetic { n: i64::MAX, d: 0, e: 0, f: true, s: "é😀".into(), x: 1.5, y: true, maybe: None };
    let mut out = Vec::new();
    a.rule_violations(&mut out);
    let found: Vec<(&str, Option<String>)> = out.iter().map(|v| (v.rule, v.message.clone())).collect();
    assert_eq!(
        found,
        vec![
            ("no_overflow", Some("integer overflow in `+`".to_string())),
            ("divides", Some("division by zero".to_string())),
        ]
    );
}
