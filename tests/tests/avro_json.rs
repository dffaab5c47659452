//! Avro's JSON encoding, which dead-letter records carry: typed-kafka's (`typed_kafka::avro::json`) against
//! fastavro's `json_writer` (PyPI, pinned, in the project's venv) on the same binary bodies, every kind of Avro type
//! among them: each value's JSON is the same document from both.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use typed_kafka::KafkaRecord;

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.json")]
struct Leaf {
    name: String,
    weight: f32,
}

#[derive(KafkaRecord, Debug, Clone, Copy)]
#[kafka(namespace = "it.json")]
enum Color {
    Red,
    Green,
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.json")]
enum Choice {
    Text(String),
    Number(i64),
    Leaf(Leaf),
    // No unit variant: it is an empty record, which fastavro's json_writer cannot write (fastavro 1.13.1).
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.json")]
struct Everything {
    flag: bool,
    int: i32,
    long: i64,
    float: f32,
    double: f64,
    text: String,
    #[kafka(bytes)]
    blob: Vec<u8>,
    fixed: [u8; 3],
    maybe: Option<i64>,
    maybe_leaf: Option<Leaf>,
    leaves: Vec<Leaf>,
    nested: Vec<Vec<i32>>,
    map: BTreeMap<String, Color>,
    maybe_leaves: BTreeMap<String, Option<Leaf>>,
    color: Color,
    choice: Choice,
}

/// A small deterministic generator (xorshift), so a failure names a value that can be made again.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Clone>(&mut self, from: &[T]) -> T {
        from[(self.next() % from.len() as u64) as usize].clone()
    }
    fn text(&mut self) -> String {
        let pieces = ["", "a", "é", "\"", "\\", "\n", "\u{1}", "€", "𝄞", "\u{7f}", "plain text", "</script>"];
        (0..self.next() % 4).map(|_| self.pick(&pieces)).collect()
    }
    fn leaf(&mut self) -> Leaf {
        let weights = [0.0f32, -0.0, 0.1, 1.5e-7, 3.4e38, -2.5, 16_777_217.0];
        Leaf { name: self.text(), weight: self.pick(&weights) }
    }
    fn value(&mut self) -> Everything {
        let doubles = [0.0, -1.0, 0.1, 1e300, -2.2250738585072014e-308, 123456789.125, 5e-324];
        let longs = [0, 1, -1, i64::MAX, i64::MIN, 1 << 53, (1 << 53) + 1];
        Everything {
            flag: self.next().is_multiple_of(2),
            int: self.pick(&[0, -1, i32::MAX, i32::MIN, 42]),
            long: self.pick(&longs),
            float: self.leaf().weight,
            double: self.pick(&doubles),
            text: self.text(),
            blob: (0..self.next() % 6).map(|_| self.next() as u8).collect(),
            fixed: [self.next() as u8, 0, 0xff],
            maybe: self.next().is_multiple_of(2).then(|| self.pick(&longs)),
            maybe_leaf: self.next().is_multiple_of(2).then(|| self.leaf()),
            leaves: (0..self.next() % 3).map(|_| self.leaf()).collect(),
            nested: (0..self.next() % 3).map(|n| (0..n as i32).collect()).collect(),
            // Keys not empty: fastavro's json_writer takes an empty map key for none (fastavro 1.13.1).
            map: (0..self.next() % 3)
                .map(|_| (format!("k{}", self.text()), self.pick(&[Color::Red, Color::Green])))
                .collect(),
            maybe_leaves: (0..self.next() % 3)
                .map(|_| (format!("k{}", self.text()), self.next().is_multiple_of(2).then(|| self.leaf())))
                .collect(),
            color: self.pick(&[Color::Red, Color::Green]),
            choice: match self.next() % 3 {
                0 => Choice::Text(self.text()),
                1 => Choice::Number(self.pick(&longs)),
                _ => Choice::Leaf(self.leaf()),
            },
        }
    }
}

#[test]
fn every_value_is_the_same_json_as_fastavros() {
    let requirements = typed_kafka_stack::workspace_root().join("tests/python/requirements.txt");
    let python = typed_kafka_stack::python_env(&requirements, "confluent-kafka-rules").unwrap();
    let info = Everything::schema().unwrap();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut hex, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let mut body = Vec::new();
        g.value().encode_body(&mut body).unwrap();
        hex.push(body.iter().map(|b| format!("{b:02x}")).collect::<String>());
        ours.push(typed_kafka::avro::json::body_to_json(info.schema(), &body).unwrap());
    }
    let request = serde_json::json!({"schema": info.json(), "values": hex});
    let script = typed_kafka_stack::workspace_root().join("tests/python/avro_json.py");
    let out = typed_kafka_stack::run_python(&python, &script, request.to_string().as_bytes()).unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(answer["json"].as_array().map(Vec::len), Some(ours.len()), "one answer per value");
    let mut differences = Vec::new();
    for (i, ours) in ours.iter().enumerate() {
        let mine: serde_json::Value = serde_json::from_str(ours).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(answer["json"][i].as_str().unwrap()).unwrap();
        if !same(&mine, &theirs) {
            differences.push(format!("value {i}:\n  typed-kafka {ours}\n  fastavro    {theirs}"));
        }
    }
    assert!(differences.is_empty(), "{} of 200 differ:\n{}", differences.len(), differences.join("\n"));
}

/// The same JSON document; numbers equal, or the same `float` (fastavro writes a float widened to a double's
/// digits, typed-kafka the float's shortest digits).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                x == y || x as f32 == y as f32
            }
        },
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        _ => a == b,
    }
}
