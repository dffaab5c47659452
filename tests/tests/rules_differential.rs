//! Data-contract rules, differentially: every (value, rule) pair here gets the same verdict from typed-kafka's
//! generated Rust as from Confluent's Python client (confluent-kafka 2.16.1, its CEL validator over cel-python,
//! `validate_message`), reading the schema typed-kafka generated (with its `confluent:rules`) and the value as
//! Python's deserializer decodes typed-kafka's bytes. Edge cases: code points, regex classes, integer overflow and
//! division by zero, errors absorbed by `||` and `exists`, null and absent values, timestamps in other offsets,
//! missing map keys, out-of-range indexes, nested records' paths (a named type's rules where the schema uses it
//! again by name too: Python validates against the schema with named types expanded, as its serializer does).
//!
//! The Python environment is made by the stack (`tests/python/requirements.txt`, pinned) in its cache on first use.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use typed_kafka::{KafkaRecord, PathSegment, RuleViolation};

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.rules")]
#[kafka(rule(name = "r_sum", expr = "this.a + this.b < 100"))]
#[kafka(rule(name = "r_product", expr = "this.a * this.b > -1"))]
#[kafka(rule(name = "r_guarded_div", expr = "this.b == 0 || this.a / this.b >= 0"))]
#[kafka(rule(name = "r_div", expr = "this.a / this.b >= 0"))]
#[kafka(rule(name = "r_rem", expr = "this.a % 3 == 1 || this.a % 3 == -1"))]
#[kafka(rule(name = "r_message", expr = "this.a > this.b ? '' : 'a must exceed b'"))]
#[kafka(rule(name = "r_absorbed", expr = "this.a / this.b > 0 || this.a == this.a"))]
#[kafka(rule(name = "r_conditional", expr = "(this.a > 0 ? this.b : -this.b) >= 0"))]
#[kafka(rule(name = "r_negate", expr = "-this.a < 10"))]
#[kafka(rule(name = "r_truncate", expr = "int(this.d) == this.a"))]
#[kafka(rule(name = "r_double", expr = "this.d * 2.0 > 1.0 && this.d / 0.5 < 100.0"))]
#[kafka(rule(name = "r_string_of", expr = "string(this.a) == '7' || string(this.b) == '-3'"))]
#[kafka(rule(name = "r_uint", expr = "uint(this.small + 5) < 8u"))]
struct Numbers {
    a: i64,
    b: i64,
    d: f64,
    #[kafka(min = -5, max = 5)]
    small: i32,
    #[kafka(max = 1.5, min = 0)]
    ratio: f64,
}

/// An item of an order, with rules of its own.
#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.rules")]
struct Item {
    #[kafka(pattern = "^[A-Z]{2}\\d{2}$")]
    sku: String,
    #[kafka(min = 1)]
    count: i32,
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.rules")]
#[kafka(rule(name = "t_code", expr = "this.code.matches('^[A-Z]{3}-\\\\d+$')"))]
struct Texts {
    #[kafka(len(min = 2, max = 5))]
    code: String,
    #[kafka(pattern = "^\\w+$")]
    word: String,
    #[kafka(one_of = ["red", "green"])]
    color: String,
    #[kafka(non_empty)]
    note: Option<String>,
    #[kafka(rule(name = "t_affix", expr = "this.startsWith('a') || this.endsWith('z') || this.contains('mm')"))]
    s: String,
    #[kafka(rule(name = "t_order", expr = "this < 'm' && this >= ''"))]
    t: String,
    #[kafka(rule(name = "t_concat", expr = "size(this + '!') == 3"))]
    u: String,
    #[kafka(bytes, rule(name = "t_bytes", expr = "size(this) < 4 && this != b'\\x00'"))]
    raw: Vec<u8>,
    #[kafka(rule(name = "t_class", expr = "this.matches('^[\\\\p{L} ]+$') && !this.matches('[0-9]')"))]
    letters: String,
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.rules")]
#[kafka(rule(name = "c_all", expr = "this.nums.all(n, n > 0)"))]
#[kafka(rule(name = "c_exists", expr = "this.nums.exists(n, n == 3)"))]
#[kafka(rule(name = "c_one", expr = "this.nums.exists_one(n, n > 10)"))]
#[kafka(rule(name = "c_index", expr = "this.nums[2] > 0"))]
#[kafka(rule(name = "c_in", expr = "'b' in this.names"))]
#[kafka(rule(name = "c_map", expr = "'k' in this.scores && this.scores.k > 1"))]
#[kafka(rule(name = "c_missing_key", expr = "this.scores['x'] == 1"))]
#[kafka(rule(name = "c_keys", expr = "this.scores.all(k, size(k) == 1)"))]
#[kafka(rule(name = "c_absorbed", expr = "this.nums.exists(n, 10 / n == 5) || size(this.nums) == 0"))]
#[kafka(rule(name = "c_null", expr = "this.maybe == null || this.maybe > 0"))]
#[kafka(rule(name = "c_has", expr = "has(this.maybe) && has(this.scores.k)"))]
#[kafka(rule(name = "c_size_in", expr = "this.nums.size() in [0, 1, 3]"))]
#[kafka(rule(name = "c_items", expr = "size(this.items) <= 2"))]
struct Collections {
    nums: Vec<i64>,
    names: Vec<String>,
    scores: HashMap<String, i64>,
    maybe: Option<i64>,
    #[kafka(rule(name = "c_nullable_items", expr = "this.all(x, x == null || x != '')"))]
    optional: Vec<Option<String>>,
    items: Vec<Item>,
    by_name: HashMap<String, Item>,
}

#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.rules")]
struct Times {
    #[kafka(rule(name = "ts_year", expr = "this.getFullYear() >= 2000"))]
    #[kafka(rule(name = "ts_month", expr = "this.getMonth() != 1"))]
    #[kafka(rule(name = "ts_weekday", expr = "this.getDayOfWeek() != 0"))]
    #[kafka(rule(name = "ts_day_of_year", expr = "this.getDayOfYear() < 300"))]
    #[kafka(rule(name = "ts_hours_offset", expr = "this.getHours('+05:30') < 12"))]
    #[kafka(rule(name = "ts_date", expr = "this.getDate() != 31 && this.getDayOfMonth() != 0"))]
    #[kafka(rule(name = "ts_millis", expr = "this.getMilliseconds() < 500 && this.getMinutes() < 59"))]
    at: DateTime<Utc>,
    #[kafka(rule(
        name = "ts_window",
        expr = "this > timestamp('2020-01-01T00:00:00Z') && this - duration('24h') < timestamp('2030-01-01T00:00:00Z')"
    ))]
    #[kafka(rule(name = "ts_now", expr = "this < now"))]
    #[kafka(rule(name = "ts_span", expr = "this + duration('90m') - this == duration('1h30m')"))]
    other: DateTime<Utc>,
}

fn numbers() -> Vec<Numbers> {
    let n = |a, b, d, small, ratio| Numbers { a, b, d, small, ratio };
    vec![
        n(7, 2, 7.9, 0, 0.5),
        n(1, 0, 1.2, 5, 1.5),
        n(-4, -3, -4.5, -5, 0.0),
        n(i64::MAX, 1, 1e300, 6, 1.6),
        n(i64::MIN, -1, -1e300, -6, -0.1),
        n(50, 50, 0.25, 3, 1.0),
        n(4_000_000_000, 4_000_000_000, f64::NAN, 2, f64::INFINITY),
        n(0, 7, 0.0, 0, 1.5000001),
        n(-7, 2, -7.0, 1, 0.75),
        n(99, -3, 99.99, -1, 0.3),
        n(3, 3, f64::NEG_INFINITY, 4, f64::NAN),
    ]
}

fn texts() -> Vec<Texts> {
    let t = |code: &str,
             word: &str,
             color: &str,
             note: Option<&str>,
             s: &str,
             t: &str,
             u: &str,
             raw: &[u8],
             letters: &str| {
        Texts {
            code: code.into(),
            word: word.into(),
            color: color.into(),
            note: note.map(Into::into),
            s: s.into(),
            t: t.into(),
            u: u.into(),
            raw: raw.to_vec(),
            letters: letters.into(),
        }
    };
    vec![
        t("ABC-1", "hello_1", "red", None, "apple", "cat", "ab", b"ab", "Hello World"),
        t("é😀", "naïve", "green", Some(""), "hummm", "zebra", "é😀", &[0], "Ünïcödé"),
        t("A", "two words", "Red", Some("x"), "buzz", "m", "abc", &[1, 2, 3, 4], "abc1"),
        t("XYZ-42", "", "blue", Some("note"), "nothing", "", "", b"", ""),
        t("ab-12", "٣٤٥", "green", None, "a", "lemon", "x\u{0}", &[0, 0], "Ελληνικά"),
        t("QQQ-", "under_score", "red", Some("😀"), "mmmm", "Zed", "日本", b"\xff", "日本語 テキスト"),
        t("QQQ-٣", "tab\there", "", None, "", "mango", "\u{301}e", b"abc", "e\u{301}"),
        t("ABC-123456", "x", "red", Some(" "), "zz", "aardvark", "ok", b"\x00\x01", " "),
    ]
}

fn collections() -> Vec<Collections> {
    let item = |sku: &str, count| Item { sku: sku.into(), count };
    let c = |nums: Vec<i64>,
             names: &[&str],
             scores: &[(&str, i64)],
             maybe,
             optional: Vec<Option<&str>>,
             items,
             by_name: Vec<(&str, Item)>| {
        Collections {
            nums,
            names: names.iter().map(|s| s.to_string()).collect(),
            scores: scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            maybe,
            optional: optional.into_iter().map(|o| o.map(Into::into)).collect(),
            items,
            by_name: by_name.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    };
    vec![
        c(
            vec![1, 2, 3],
            &["a", "b"],
            &[("k", 2), ("x", 1)],
            Some(1),
            vec![Some("a"), None],
            vec![item("AB12", 1)],
            vec![],
        ),
        c(vec![], &[], &[], None, vec![], vec![], vec![]),
        c(vec![0, 5, 11], &["b"], &[("k", 1)], Some(0), vec![Some("")], vec![item("ab12", 0), item("CD34", 2)], vec![]),
        c(
            vec![2, 12, 13],
            &["c"],
            &[("long", 5)],
            Some(-1),
            vec![None, None],
            vec![item("AB1", 1), item("AB12", 1), item("XY99", 9)],
            vec![("one", item("ZZ00", 0))],
        ),
        c(
            vec![-1, 0, 2],
            &["b", "b"],
            &[("k", 3), ("x", 2)],
            None,
            vec![Some("x")],
            vec![],
            vec![("a", item("AB12", 1)), ("b", item("bad", 5))],
        ),
        c(vec![3], &["a"], &[("x", 1), ("y", 1)], Some(5), vec![], vec![], vec![]),
        c(
            vec![10, 20, 30, 40],
            &["B"],
            &[("k", 100)],
            Some(2),
            vec![Some("ok"), Some("")],
            vec![item("AA00", -1)],
            vec![],
        ),
        c(vec![i64::MAX, 1, 1], &["b"], &[("k", 2)], None, vec![], vec![], vec![("q", item("QQ11", 1))]),
    ]
}

fn times() -> Vec<Times> {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let t = |a: &str, o: &str| Times { at: at(a), other: at(o) };
    vec![
        t("2024-02-29T06:30:00.250Z", "2024-01-01T00:00:00Z"),
        t("1999-12-31T23:59:59.999Z", "2019-12-31T23:59:59Z"),
        t("2024-12-31T18:29:59Z", "2029-12-31T00:00:00Z"),
        t("2024-12-31T18:30:00Z", "2030-01-02T00:00:00Z"),
        t("2023-03-05T00:00:00Z", "2025-06-15T12:00:00Z"),
        t("1970-01-01T00:00:00Z", "2099-01-01T00:00:00Z"),
        t("2024-10-27T01:59:00.500Z", "2020-01-01T00:00:00.001Z"),
        t("2000-01-31T12:00:00Z", "2024-02-29T23:00:00Z"),
    ]
    .into_iter()
    .chain(std::iter::once(Times {
        at: Utc.timestamp_millis_opt(-1).unwrap(),
        other: Utc.timestamp_millis_opt(1).unwrap(),
    }))
    .collect()
}

/// A violation's path as Confluent's Python client writes it: `lines[1].sku`, `scores["k"]`, empty for the record.
fn python_path(v: &RuleViolation) -> String {
    let mut out = String::new();
    for seg in v.path.segments() {
        match seg {
            PathSegment::Field(name) if out.is_empty() => out.push_str(name),
            PathSegment::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
            PathSegment::Key(k) => out.push_str(&format!("[\"{k}\"]")),
        }
    }
    out
}

/// `bytes` in hex, as the Python side reads values.
fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer of `tests/python/<script>` to `request`.
fn ask_python(python: &std::path::Path, script: &str, request: &serde_json::Value) -> serde_json::Value {
    let script = typed_kafka_stack::workspace_root().join("tests/python").join(script);
    let out = typed_kafka_stack::run_python(python, &script, request.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// One type's schema and values: what Python is asked, and typed-kafka's verdicts.
struct Case {
    schema: String,
    values: Vec<String>,
    ours: Vec<Vec<(String, String)>>,
    rules: usize,
}

fn case<T: KafkaRecord>(values: &[T]) -> Case {
    let schema = T::schema().unwrap().json().to_string();
    let json: serde_json::Value = serde_json::from_str(&schema).unwrap();
    let rules = count_rules(&json);
    let mut hex = Vec::new();
    let mut ours = Vec::new();
    for v in values {
        let mut body = Vec::new();
        v.encode_body(&mut body).unwrap();
        hex.push(to_hex(&body));
        let mut found = Vec::new();
        v.rule_violations(&mut found);
        let mut verdict: Vec<(String, String)> = found.iter().map(|f| (f.rule.to_string(), python_path(f))).collect();
        verdict.sort();
        ours.push(verdict);
    }
    Case { schema, values: hex, ours, rules }
}

/// The rules a schema carries, its nested records' included (each counted once).
fn count_rules(schema: &serde_json::Value) -> usize {
    match schema {
        serde_json::Value::Object(o) => {
            let own = o.get("confluent:rules").and_then(|r| r.as_array()).map_or(0, Vec::len);
            own + o.iter().filter(|(k, _)| *k != "confluent:rules").map(|(_, v)| count_rules(v)).sum::<usize>()
        }
        serde_json::Value::Array(a) => a.iter().map(count_rules).sum(),
        _ => 0,
    }
}

/// The differences between the rules as the derive compiled them and the same rules read from the schema and
/// interpreted (as rules a registered schema carries are run), on each value: every rule, path and message.
fn interpreted<T: KafkaRecord>(values: &[T]) -> (usize, usize, Vec<String>) {
    use typed_kafka::avro::registered_rules::RegisteredRules;
    let info = T::schema().unwrap();
    let rules = RegisteredRules::compile(info.schema(), info.json(), None).unwrap().unwrap();
    let mut differences = Vec::new();
    let mut broken = 0;
    for (i, v) in values.iter().enumerate() {
        let mut body = Vec::new();
        v.encode_body(&mut body).unwrap();
        let (mut derived, mut read) = (Vec::new(), Vec::new());
        v.rule_violations(&mut derived);
        broken += derived.len();
        rules.violations(&body, &mut read).unwrap();
        let show = |f: &typed_kafka::avro::RuleViolation| (f.rule, f.path.to_string(), f.message.is_some());
        let (derived, read): (Vec<_>, Vec<_>) = (derived.iter().map(show).collect(), read.iter().map(show).collect());
        if derived != read {
            differences.push(format!(
                "{} value {i}: derived {derived:?}, interpreted {read:?}",
                info.full_name().unwrap_or_default()
            ));
        }
    }
    (values.len() * rules.len(), broken, differences)
}

/// Rules a registered schema carries are interpreted; the interpreter gives the verdict the derive's generated Rust
/// gives, rule for rule and path for path, on every (value, rule) pair of the differential.
#[test]
fn the_interpreter_agrees_with_the_derived_rules_on_every_pair() {
    let (mut pairs, mut broken) = (0, 0);
    let mut differences = Vec::new();
    for (n, b, d) in
        [interpreted(&numbers()), interpreted(&texts()), interpreted(&collections()), interpreted(&times())]
    {
        pairs += n;
        broken += b;
        differences.extend(d);
    }
    assert!(differences.is_empty(), "{} values differ:\n{}", differences.len(), differences.join("\n"));
    assert!(pairs >= 300 && broken >= 100, "{pairs} pairs, {broken} broken");
    println!("{pairs} (value, rule) pairs, {broken} broken, the same from the derived and the interpreted rules");
}

#[test]
fn every_verdict_matches_confluents_python_client() {
    let requirements = typed_kafka_stack::workspace_root().join("tests/python/requirements.txt");
    let python = typed_kafka_stack::python_env(&requirements, "confluent-kafka-rules").unwrap();
    let cases = [case(&numbers()), case(&texts()), case(&collections()), case(&times())];
    let request = serde_json::json!({
        "cases": cases.iter().map(|c| serde_json::json!({"schema": c.schema, "values": c.values})).collect::<Vec<_>>()
    });
    let answer = ask_python(&python, "rules_differential.py", &request);
    let mut pairs = 0;
    let mut differences = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for (j, ours) in c.ours.iter().enumerate() {
            pairs += c.rules;
            let theirs: Vec<(String, String)> = answer["verdicts"][i][j]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
                .collect();
            // The Python client itself raising (`int()` of an infinity) refuses the record as well.
            let both_refuse = theirs.first().is_some_and(|(rule, _)| rule == "raised") && !ours.is_empty();
            if *ours != theirs && !both_refuse {
                differences.push(format!("case {i} value {j}: typed-kafka {ours:?}, Python {theirs:?}"));
            }
        }
    }
    assert!(differences.is_empty(), "{} verdicts differ:\n{}", differences.len(), differences.join("\n"));
    assert!(pairs >= 300, "{pairs} (value, rule) pairs");
    println!("{pairs} (value, rule) pairs, the same verdict from typed-kafka and Confluent's Python client");
}

/// End to end: the schema typed-kafka registers (with its `confluent:rules`) is the latest of a subject, and
/// Confluent's Python `AvroSerializer` (`use.latest.version`, `validation.rules.execution`) refuses exactly the
/// values typed-kafka's serializer refuses, and serializes the others.
#[tokio::test]
async fn pythons_serializer_refuses_what_typed_kafka_refuses() {
    use typed_kafka::registry::client::{Normalization, UnregisteredSchema};
    use typed_kafka::{AvroSerializer, SchemaRegistryClient, SerializerConfig};

    let requirements = typed_kafka_stack::workspace_root().join("tests/python/requirements.txt");
    let python = typed_kafka_stack::python_env(&requirements, "confluent-kafka-rules").unwrap();
    let url = typed_kafka_tests::stack().registry_url.clone();
    let client = SchemaRegistryClient::builder([url.as_str()]).build().unwrap();
    let mut compared = 0;
    let mut refused = 0;
    let mut differences = Vec::new();
    macro_rules! compare {
        ($ty:ty, $values:expr) => {{
            let topic = typed_kafka_tests::unique("it-rules-python");
            let schema = <$ty>::schema().unwrap().json().to_string();
            let subject = format!("{topic}-value");
            client.register(&subject, &UnregisteredSchema::avro(schema.clone()), Normalization::AsGiven).await.unwrap();
            let ser = AvroSerializer::<$ty>::new(client.clone(), SerializerConfig::default()).unwrap();
            let values = $values;
            let mut ours = Vec::new();
            let mut hex = Vec::new();
            for v in &values {
                let mut body = Vec::new();
                v.encode_body(&mut body).unwrap();
                hex.push(to_hex(&body));
                ours.push(ser.serialize(&topic, v, &mut Vec::new()).await.err().map(|e| e.to_string()));
            }
            let request = serde_json::json!({"registry": url, "topic": topic, "schema": schema, "values": hex});
            let answer = ask_python(&python, "rules_serializer.py", &request);
            for (j, ours) in ours.iter().enumerate() {
                let theirs = answer["verdicts"][j].as_str();
                compared += 1;
                refused += usize::from(ours.is_some());
                if ours.is_some() != theirs.is_some() {
                    differences.push(format!("{} value {j}: typed-kafka {ours:?}, Python {theirs:?}", stringify!($ty)));
                }
            }
        }};
    }
    compare!(Numbers, numbers());
    compare!(Texts, texts());
    compare!(Collections, collections());
    compare!(Times, times());
    assert!(differences.is_empty(), "{} verdicts differ:\n{}", differences.len(), differences.join("\n"));
    assert!(refused > 0 && refused < compared, "{refused} of {compared} refused");
    println!("{compared} values, {refused} refused by both serializers, the others written by both");
}
