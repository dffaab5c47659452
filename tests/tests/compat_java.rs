//! The compatibility checker against its oracle, Apache Avro for Java 1.12's `SchemaCompatibility` (what the
//! registries run), on a corpus of reader/writer pairs: hand-written cases for every rule and promotion, and
//! generated mutations of realistic schemas (derived types among them) in both directions. Every verdict must
//! agree; the checker's own reports (paths by names, every break) are tested in `avro/tests/compat.rs`.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use typed_kafka::KafkaRecord;
use typed_kafka::avro::compat::{CheckOptions, check};
use typed_kafka::avro::schema::Schema;

/// A postal address.
#[derive(KafkaRecord)]
#[kafka(namespace = "it.compat")]
#[allow(dead_code)]
struct Address {
    street: String,
    city: String,
    zip: Option<String>,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "it.compat")]
#[allow(dead_code)]
enum Status {
    Placed,
    Paid,
    Shipped,
}

#[derive(KafkaRecord)]
#[kafka(namespace = "it.compat")]
#[allow(dead_code)]
struct Line {
    sku: String,
    quantity: i32,
    #[kafka(decimal(precision = 12, scale = 2))]
    price: rust_decimal::Decimal,
}

/// An order, as services publish them.
#[derive(KafkaRecord)]
#[kafka(namespace = "it.compat", rename_all = "camelCase")]
#[allow(dead_code)]
struct Order {
    order_id: uuid::Uuid,
    customer_id: i64,
    status: Status,
    placed_at: chrono::DateTime<chrono::Utc>,
    lines: Vec<Line>,
    billing: Address,
    shipping: Option<Address>,
    tags: std::collections::HashMap<String, String>,
    weight: f32,
    digest: [u8; 4],
    note: Option<String>,
}

fn hand_written() -> Vec<(String, String)> {
    let prims = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];
    let mut pairs = Vec::new();
    for r in prims {
        for w in prims {
            pairs.push((format!("\"{r}\""), format!("\"{w}\"")));
        }
    }
    let rec = |name: &str, fields: &str| format!(r#"{{"type":"record","name":"{name}","fields":[{fields}]}}"#);
    let cases = [
        (rec("R", r#"{"name":"a","type":"long"},{"name":"b","type":"string","default":""}"#), rec("R", r#"{"name":"a","type":"int"}"#)),
        (rec("R", r#"{"name":"a","type":"int"},{"name":"c","type":"string"}"#), rec("R", r#"{"name":"a","type":"int"}"#)),
        (r#"{"type":"record","name":"New","aliases":["R"],"fields":[{"name":"y","aliases":["a"],"type":"int"}]}"#.into(), rec("R", r#"{"name":"a","type":"int"}"#)),
        (rec("New", r#"{"name":"a","type":"int"}"#), rec("R", r#"{"name":"a","type":"int"}"#)),
        (r#"{"type":"record","name":"R","namespace":"b","fields":[]}"#.into(), r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#.into()),
        (r#"{"type":"enum","name":"E","symbols":["A","B"]}"#.into(), r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#.into()),
        (r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#.into(), r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#.into()),
        (r#"{"type":"fixed","name":"F","size":8}"#.into(), r#"{"type":"fixed","name":"F","size":4}"#.into()),
        (r#"{"type":"array","items":"long"}"#.into(), r#"{"type":"array","items":"int"}"#.into()),
        (r#"{"type":"map","values":"int"}"#.into(), r#"{"type":"map","values":"long"}"#.into()),
        (r#"["null","long"]"#.into(), r#""int""#.into()),
        (r#""long""#.into(), r#"["null","int"]"#.into()),
        (r#"["null","string"]"#.into(), r#"["null","int"]"#.into()),
        (r#"["string","null"]"#.into(), r#"["null","bytes"]"#.into()),
        (rec("R", r#"{"name":"s","type":{"type":"enum","name":"S","symbols":["A"],"default":"A"}}"#), rec("R", "")),
        (
            r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null},{"name":"w","type":"int"}]}"#.into(),
            r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}"#.into(),
        ),
        (
            rec("O", r#"{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"},{"name":"z","type":"string"}]}},{"name":"s","type":"A"}"#),
            rec("O", r#"{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}},{"name":"s","type":"A"}"#),
        ),
        (
            rec("O", r#"{"name":"s","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}},{"name":"b","type":"A"}"#),
            rec("O", r#"{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}},{"name":"s","type":"A"}"#),
        ),
        (
            rec("C", r#"{"name":"h","type":["null",{"type":"record","name":"A","fields":[{"name":"c","type":"string"},{"name":"z","type":"string"}]}],"default":null}"#),
            rec("C", r#"{"name":"h","type":["null",{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}],"default":null}"#),
        ),
        // Forward references (a type used before the field that defines it), which Java 1.12 accepts.
        (
            rec("F", r#"{"name":"a","type":"A"},{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"},{"name":"z","type":"string","default":""}]}}"#),
            rec("F", r#"{"name":"a","type":"A"},{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}}"#),
        ),
        (
            rec("F", r#"{"name":"a","type":["null","A"]},{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"},{"name":"z","type":"string"}]}}"#),
            rec("F", r#"{"name":"a","type":["null","A"]},{"name":"b","type":{"type":"record","name":"A","fields":[{"name":"c","type":"string"}]}}"#),
        ),
    ];
    pairs.extend(cases);
    pairs
}

/// A default valid for a primitive type name, if it is one.
fn default_for(t: &Value) -> Option<Value> {
    Some(match t.as_str()? {
        "null" => Value::Null,
        "boolean" => json!(false),
        "int" | "long" => json!(0),
        "float" | "double" => json!(0.0),
        "string" | "bytes" => json!(""),
        _ => return None,
    })
}

/// Mutations of a record schema's top-level fields, its name and namespace, and the named types inside it.
fn mutations(base: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let fields = base["fields"].as_array().cloned().unwrap_or_default();
    let with_fields = |f: Vec<Value>| {
        let mut v = base.clone();
        v["fields"] = Value::Array(f);
        v
    };
    for (i, field) in fields.iter().enumerate() {
        let mut removed = fields.clone();
        removed.remove(i);
        out.push(with_fields(removed));
        for aliased in [false, true] {
            let mut f = fields.clone();
            f[i]["name"] = json!("renamedField");
            if aliased {
                f[i]["aliases"] = json!([field["name"].clone()]);
            }
            out.push(with_fields(f));
        }
        let mut toggled = fields.clone();
        match (field.get("default"), default_for(&field["type"])) {
            (Some(_), _) => {
                toggled[i].as_object_mut().unwrap().remove("default");
            }
            (None, Some(d)) => toggled[i]["default"] = d,
            (None, None) => {}
        }
        out.push(with_fields(toggled));
        if field["type"].is_string() || field["type"].get("logicalType").is_some() {
            for t in ["int", "long", "float", "double", "string", "bytes", "boolean"] {
                let mut f = fields.clone();
                f[i]["type"] = json!(t);
                f[i].as_object_mut().unwrap().remove("default");
                out.push(with_fields(f));
            }
        }
        let mut f = fields.clone();
        if let Some(branches) = field["type"].as_array() {
            if let Some(other) = branches.iter().find(|b| *b != "null") {
                f[i]["type"] = other.clone();
                f[i].as_object_mut().unwrap().remove("default");
            }
        } else {
            f[i]["type"] = json!(["null", field["type"].clone()]);
            f[i]["default"] = Value::Null;
        }
        out.push(with_fields(f));
    }
    for (t, d) in [(json!("int"), None), (json!("int"), Some(json!(0))), (json!(["null", "string"]), Some(Value::Null))]
    {
        let mut f = fields.clone();
        let mut added = json!({"name": "addedField", "type": t});
        if let Some(d) = d {
            added["default"] = d;
        }
        f.push(added);
        out.push(with_fields(f));
    }
    for (name, aliases) in [("Renamed", None), ("Renamed", Some(base["name"].clone()))] {
        let mut v = base.clone();
        v["name"] = json!(name);
        if let Some(a) = aliases {
            let ns = base["namespace"].as_str().map(|n| format!("{n}.")).unwrap_or_default();
            v["aliases"] = json!([format!("{ns}{}", a.as_str().unwrap())]);
        }
        out.push(v);
    }
    let mut v = base.clone();
    v["namespace"] = json!("other.space");
    out.push(v);
    // Named types defined inside: each mutated where it is defined.
    let text = base.to_string();
    let mut inner = Vec::new();
    collect_named(base, &mut inner);
    for named in inner {
        let mut variants = Vec::new();
        match named["type"].as_str() {
            Some("enum") => {
                let symbols = named["symbols"].as_array().unwrap().clone();
                let mut fewer = named.clone();
                fewer["symbols"] = Value::Array(symbols[..symbols.len() - 1].to_vec());
                variants.push(fewer.clone());
                fewer["default"] = symbols[0].clone();
                variants.push(fewer);
                let mut more = named.clone();
                more["symbols"].as_array_mut().unwrap().push(json!("ADDED"));
                variants.push(more);
            }
            Some("fixed") => {
                let mut bigger = named.clone();
                bigger["size"] = json!(named["size"].as_u64().unwrap() + 1);
                variants.push(bigger);
            }
            Some("record") if &named != base => {
                let mut grown = named.clone();
                grown["fields"].as_array_mut().unwrap().push(json!({"name": "innerAdded", "type": "string"}));
                variants.push(grown.clone());
                let last = grown["fields"].as_array().unwrap().len() - 1;
                grown["fields"][last]["default"] = json!("");
                variants.push(grown);
                let mut shrunk = named.clone();
                shrunk["fields"].as_array_mut().unwrap().remove(0);
                variants.push(shrunk);
            }
            _ => {}
        }
        for v in variants {
            let replaced = text.replacen(&named.to_string(), &v.to_string(), 1);
            out.push(serde_json::from_str(&replaced).unwrap());
        }
    }
    out
}

fn collect_named(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if matches!(m.get("type").and_then(Value::as_str), Some("record" | "enum" | "fixed")) {
                out.push(v.clone());
            }
            for x in m.values() {
                collect_named(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_named(x, out)),
        _ => {}
    }
}

#[test]
fn verdicts_agree_with_avro_java_on_every_pair() {
    let bases: Vec<Value> = [
        Order::schema().unwrap().json().to_string(),
        Address::schema().unwrap().json().to_string(),
        Line::schema().unwrap().json().to_string(),
        r#"{"type":"record","name":"Reading","namespace":"iot","fields":[{"name":"sensor","type":"string"},{"name":"value","type":"double"},{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},{"name":"unit","type":{"type":"enum","name":"Unit","symbols":["C","F","K"]}},{"name":"samples","type":{"type":"array","items":"float"}},{"name":"meta","type":{"type":"map","values":"string"}},{"name":"raw","type":["null","bytes"],"default":null}]}"#.to_string(),
        r#"{"type":"record","name":"Tree","fields":[{"name":"label","type":"string"},{"name":"size","type":"int","default":1},{"name":"children","type":{"type":"array","items":"Tree"}},{"name":"parent","type":["null","Tree"],"default":null}]}"#.to_string(),
    ]
    .iter()
    .map(|t| serde_json::from_str(t).unwrap())
    .collect();
    let mut pairs = hand_written();
    for base in &bases {
        for m in mutations(base) {
            pairs.push((base.to_string(), m.to_string()));
            pairs.push((m.to_string(), base.to_string()));
        }
    }
    // Only pairs both sides accept as schemas are compared (a mutation can make a default invalid).
    let parsed: Vec<Option<(Schema, Schema)>> =
        pairs.iter().map(|(r, w)| Some((Schema::parse(r).ok()?, Schema::parse(w).ok()?))).collect();
    let dir = std::env::temp_dir().join(format!("typed-kafka-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("pairs.txt");
    let mut text = String::new();
    for (r, w) in &pairs {
        text.push_str(r);
        text.push('\n');
        text.push_str(w);
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let out = typed_kafka_tests::run_java_interop("CompatCheck", &[file.as_os_str()]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let java: Vec<&str> = out.lines().collect();
    assert_eq!(java.len(), pairs.len());

    let (mut compared, mut compatible, mut disagreements) = (0, 0, Vec::new());
    for (i, verdict) in java.iter().enumerate() {
        let ours = parsed[i].as_ref();
        match (ours, verdict.starts_with("ERROR")) {
            (Some((r, w)), false) => {
                compared += 1;
                let found = check(r, w, &CheckOptions::default());
                let java_ok = verdict.starts_with("COMPATIBLE");
                compatible += usize::from(java_ok);
                if found.is_empty() != java_ok {
                    let ours: Vec<String> = found.iter().map(ToString::to_string).collect();
                    disagreements.push(format!(
                        "pair {i}: java {verdict}, ours {ours:?}\n  reader {}\n  writer {}",
                        pairs[i].0, pairs[i].1
                    ));
                }
            }
            (None, true) => {}
            (Some(_), true) => {
                panic!("pair {i}: Java cannot check what we parse: {verdict}\n{}\n{}", pairs[i].0, pairs[i].1)
            }
            (None, false) => panic!("pair {i}: Java parses what we refuse\n{}\n{}", pairs[i].0, pairs[i].1),
        }
    }
    eprintln!("{compared} pairs compared ({compatible} compatible), {} disagreements", disagreements.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(compared >= 200, "only {compared} pairs compared");
    assert!(compatible > compared / 5 && compatible < compared * 4 / 5, "a corpus of one verdict tests little");
}

/// A subset of the corpus against the local registry's own compatibility endpoint: the writer registered under a
/// subject with level BACKWARD, the reader tested against it.
#[tokio::test]
async fn verdicts_agree_with_the_registry_on_a_subset() {
    use typed_kafka::SchemaRegistryClient;
    use typed_kafka::registry::client::{CompatibilityLevel, Normalization, UnregisteredSchema, Version};

    let registry = SchemaRegistryClient::builder([typed_kafka_tests::stack().registry_url.clone()]).build().unwrap();
    let mut pairs = hand_written();
    let base: Value = serde_json::from_str(Address::schema().unwrap().json()).unwrap();
    for m in mutations(&base) {
        pairs.push((base.to_string(), m.to_string()));
        pairs.push((m.to_string(), base.to_string()));
    }
    let (mut compared, mut disagreements) = (0, Vec::new());
    for (i, (reader, writer)) in pairs.iter().enumerate() {
        let (Ok(r), Ok(w)) = (Schema::parse(reader), Schema::parse(writer)) else { continue };
        let subject = typed_kafka_tests::unique("it-compat-registry");
        registry.set_subject_compatibility(&subject, CompatibilityLevel::Backward).await.unwrap();
        if registry
            .register(&subject, &UnregisteredSchema::avro(writer.as_str()), Normalization::AsGiven)
            .await
            .is_err()
        {
            continue;
        }
        let verdict = registry
            .test_compatibility(&subject, Version::Latest, &UnregisteredSchema::avro(reader.as_str()))
            .await
            .unwrap();
        compared += 1;
        let ours = check(&r, &w, &CheckOptions::default());
        if ours.is_empty() != verdict.is_compatible {
            disagreements
                .push(format!("pair {i}: registry {verdict:?}, ours {ours:?}\n  reader {reader}\n  writer {writer}"));
        }
    }
    eprintln!("{compared} pairs compared with the registry, {} disagreements", disagreements.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    assert!(compared >= 60, "only {compared} pairs compared");
}
