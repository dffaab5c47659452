//! What the fuzz targets share: the benchmark `Order` (the very file the benchmarks compile), and generators that
//! turn the fuzzer's bytes into schema texts a registry could serve: many named types in several texts, used before
//! or after their definitions, nested deep through names, wide in fields, symbols and union branches; and
//! mutations of a schema of the kinds evolution makes (fields added, removed, reordered, promoted, made optional).

#[path = "../../benches/src/order.rs"]
mod order;

pub use order::{LineItem, Order, OrderStatus, sample_order};

use serde_json::{Value, json};

/// The fuzzer's bytes, read one choice at a time; zeros once they run out.
pub struct Choices<'a>(&'a [u8]);

impl<'a> Choices<'a> {
    /// Choices from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Choices(data)
    }

    /// The next byte (0 when none is left).
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// A number below `n` (`n` ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        let wide = usize::from(self.byte()) << 8 | usize::from(self.byte());
        wide % n.max(1)
    }

    /// What remains unread.
    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
}

const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// A type for a field of type `index` among `count` named types: a primitive, an array, a map or a union of
/// others, or a use of another named type (before or after its definition, possibly itself).
fn field_type(c: &mut Choices, index: usize, count: usize, depth: usize) -> Value {
    let named = |c: &mut Choices| json!(format!("T{}", c.below(count)));
    match c.byte() % 8 {
        0..=2 => json!(PRIMITIVES[c.below(PRIMITIVES.len())]),
        3 if depth < 4 => json!({"type": "array", "items": field_type(c, index, count, depth + 1)}),
        4 if depth < 4 => json!({"type": "map", "values": field_type(c, index, count, depth + 1)}),
        5 => {
            // A union of null and distinct named types: wide when the fuzzer says so.
            let wide = c.byte() > 250;
            let width = 1 + c.below(if wide { 300 } else { 4 });
            let mut seen = std::collections::BTreeSet::new();
            let mut branches = vec![json!("null")];
            for _ in 0..width {
                let t = c.below(count);
                if seen.insert(t) {
                    branches.push(json!(format!("T{t}")));
                }
            }
            json!(branches)
        }
        // The next type: chains of named types, as deep as there are types.
        6 => json!(format!("T{}", (index + 1) % count)),
        _ => named(c),
    }
}

/// A named type's definition: a record of a few (or, when the fuzzer says so, many) fields, an enum of a few or
/// many symbols, or a fixed.
fn definition(c: &mut Choices, index: usize, count: usize) -> Value {
    let name = format!("T{index}");
    match c.byte() % 6 {
        0 => {
            let wide = c.byte() > 250;
            let n = 1 + if wide { c.below(5_000) } else { c.below(4) };
            let symbols: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
            json!({"type": "enum", "name": name, "symbols": symbols})
        }
        1 => json!({"type": "fixed", "name": name, "size": c.below(20)}),
        _ => {
            let wide = c.byte() > 250;
            let n = if wide { c.below(2_000) } else { c.below(5) };
            let fields: Vec<Value> = (0..n)
                .map(|i| {
                    let t = field_type(c, index, count, 0);
                    let mut f = json!({"name": format!("f{i}"), "type": t});
                    // An optional field with a null default, now and then (a default the resolver encodes).
                    if f["type"].as_array().is_some_and(|b| b.first() == Some(&json!("null")))
                        && c.byte().is_multiple_of(2)
                    {
                        f["default"] = Value::Null;
                    }
                    f
                })
                .collect();
            json!({"type": "record", "name": name, "fields": fields})
        }
    }
}

/// Schema texts from the fuzzer's bytes: named types `T0` … spread over a few reference texts, and a root text
/// (last) that uses some of them. Returned as `(root, references)`.
pub fn schema_texts(c: &mut Choices) -> (String, Vec<String>) {
    let many = c.byte() > 240;
    let count = 1 + if many { c.below(400) } else { c.below(12) };
    let texts = 1 + c.below(4);
    let mut groups: Vec<Vec<Value>> = vec![Vec::new(); texts];
    for i in 0..count {
        let text = c.below(texts);
        groups[text].push(definition(c, i, count));
    }
    let mut all: Vec<String> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|g| if g.len() == 1 { g[0].to_string() } else { Value::Array(g).to_string() })
        .collect();
    let root = if c.byte().is_multiple_of(3) && !all.is_empty() {
        all.remove(0)
    } else {
        json!({"type": "record", "name": "Root", "fields": [{"name": "r", "type": format!("T{}", c.below(count))}]})
            .to_string()
    };
    (root, all)
}

/// Applies a few of evolution's changes to `schema` (a schema's JSON), each chosen by the fuzzer: a record field
/// removed, added with a default, promoted, made optional, renamed with an alias, or two fields swapped; an enum
/// symbol added or removed.
pub fn mutate(schema: &mut Value, c: &mut Choices) {
    for _ in 0..1 + c.below(4) {
        let mut records = Vec::new();
        collect_records(schema, &mut records);
        if records.is_empty() {
            return;
        }
        let target = records[c.below(records.len())].clone();
        let Some(node) = find_mut(schema, &target) else { return };
        if let Some(symbols) = node.get_mut("symbols").and_then(Value::as_array_mut) {
            if c.byte().is_multiple_of(2) {
                symbols.push(json!(format!("New{}", symbols.len())));
            } else if symbols.len() > 1 {
                symbols.pop();
            }
            continue;
        }
        let Some(fields) = node.get_mut("fields").and_then(Value::as_array_mut) else { continue };
        let n = fields.len();
        match c.byte() % 6 {
            0 if n > 0 => {
                fields.remove(c.below(n));
            }
            1 => fields.push(json!({"name": format!("added{n}"), "type": "string", "default": ""})),
            2 if n > 0 => {
                let f = &mut fields[c.below(n)];
                let promoted = match f["type"].as_str() {
                    Some("int") => "long",
                    Some("long") => "double",
                    Some("float") => "double",
                    Some("string") => "bytes",
                    Some("bytes") => "string",
                    _ => continue,
                };
                f["type"] = json!(promoted);
            }
            3 if n > 0 => {
                let f = &mut fields[c.below(n)];
                if !f["type"].is_array() {
                    f["type"] = json!(["null", f["type"].take()]);
                    f["default"] = Value::Null;
                }
            }
            4 if n > 0 => {
                let f = &mut fields[c.below(n)];
                let old = f["name"].clone();
                f["name"] = json!(format!("{}_renamed", old.as_str().unwrap_or("f")));
                f["aliases"] = json!([old]);
            }
            5 if n > 1 => fields.swap(c.below(n), c.below(n)),
            _ => {}
        }
    }
}

fn collect_records(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if matches!(m.get("type").and_then(Value::as_str), Some("record" | "enum"))
                && let Some(name) = m.get("name").and_then(Value::as_str)
            {
                out.push(name.to_string());
            }
            m.values().for_each(|x| collect_records(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_records(x, out)),
        _ => {}
    }
}

fn find_mut<'v>(v: &'v mut Value, name: &str) -> Option<&'v mut Value> {
    let here = v.get("name").and_then(Value::as_str) == Some(name)
        && matches!(v.get("type").and_then(Value::as_str), Some("record" | "enum"));
    if here {
        return Some(v);
    }
    match v {
        Value::Object(m) => m.values_mut().find_map(|x| find_mut(x, name)),
        Value::Array(a) => a.iter_mut().find_map(|x| find_mut(x, name)),
        _ => None,
    }
}
