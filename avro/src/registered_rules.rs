//! Data-contract rules that a registered schema carries (`confluent:rules` on its records and fields) and that no
//! Rust attribute wrote: another team's rules on a shared subject, or rules added to the registered schema after the
//! type was derived. They are parsed and checked once per schema, against the types the schema gives its values,
//! and evaluated by the interpreter (`typed_kafka_rules::interp`) on each body written in that schema, with
//! Confluent's walk: record rules, then each field's (skipped when the field is null), then the values inside
//! (the union branch taken, array items, map values, nested records), every violation with its path.
//!
//! Rule names, docs, expressions and field names of registered schemas are kept for the life of the process (a
//! violation names them as `&'static str`, as the derived rules do): once per distinct text, however many schemas
//! and values repeat them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use typed_kafka_rules::interp::{Program, Value};
use typed_kafka_rules::rt::Timestamp;
use typed_kafka_rules::{Field as CelField, Record as CelRecord, Type};

use crate::codec::encoding as enc;
use crate::codec::{DecodeError, PathSegment, RuleViolation};
use crate::schema::{LogicalType, NamedId, NamedKind, Node, Primitive, Schema};

/// A rule of a registered schema that cannot be used: its text does not parse, does not check against the schema's
/// types, or reads a value rules cannot read yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}` on {location}: {message}")]
pub struct RegisteredRuleError {
    /// The record (`ns.Order`) or field (`ns.Order.total`) the rule is on.
    pub location: String,
    /// The rule's name.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

struct Compiled {
    name: &'static str,
    doc: Option<&'static str>,
    expr: &'static str,
    program: Program,
}

/// The rules of a registered schema that its reader's own type does not carry, compiled.
pub struct RegisteredRules {
    schema: Schema,
    records: HashMap<NamedId, Vec<Compiled>>,
    fields: HashMap<(NamedId, usize), Vec<Compiled>>,
    count: usize,
}

impl std::fmt::Debug for RegisteredRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredRules").field("rules", &self.count).finish_non_exhaustive()
    }
}

/// One rule as the schema text gives it: where, name, doc, expression.
struct Written {
    at: (NamedId, Option<usize>),
    name: String,
    doc: Option<String>,
    expr: String,
}

impl RegisteredRules {
    /// The rules of `schema` (parsed from `json`) that `own` (a type's own schema and its text) does not carry at
    /// the same record or field, with the same name and expression: `Ok(None)` when there are none. Every rule that
    /// cannot be used is an error.
    pub fn compile(
        schema: &Schema,
        json: &str,
        own: Option<(&Schema, &str)>,
    ) -> Result<Option<RegisteredRules>, Vec<RegisteredRuleError>> {
        let written = written_rules(schema, json);
        if written.is_empty() {
            return Ok(None);
        }
        let own: HashSet<(String, Option<String>, String, String)> = match own {
            Some((own_schema, own_json)) => written_rules(own_schema, own_json)
                .into_iter()
                .map(|w| located(own_schema, w.at, w.name, w.expr))
                .collect(),
            None => HashSet::new(),
        };
        let mut out =
            RegisteredRules { schema: schema.clone(), records: HashMap::new(), fields: HashMap::new(), count: 0 };
        let mut errors = Vec::new();
        for w in written {
            let key = located(schema, w.at, w.name.clone(), w.expr.clone());
            if own.contains(&key) {
                continue;
            }
            let location = match &key.1 {
                Some(field) => format!("{}.{field}", key.0),
                None => key.0.clone(),
            };
            let this = match w.at {
                (id, None) => record_type(schema, id, &mut Vec::new()),
                (id, Some(i)) => field_type(schema, id, i),
            };
            let error =
                |message: String| RegisteredRuleError { location: location.clone(), rule: w.name.clone(), message };
            let program = match Program::compile(&w.expr, &this) {
                Ok(p) if p.reads_dyn() => {
                    errors.push(error(
                        "it reads a value rules cannot read yet (a decimal, date, time, or a union of several types)"
                            .into(),
                    ));
                    continue;
                }
                Ok(p) => p,
                Err(es) => {
                    errors.extend(es.into_iter().map(|e| error(e.message)));
                    continue;
                }
            };
            let compiled =
                Compiled { name: intern(&w.name), doc: w.doc.as_deref().map(intern), expr: intern(&w.expr), program };
            out.count += 1;
            match w.at {
                (id, None) => out.records.entry(id).or_default().push(compiled),
                (id, Some(i)) => out.fields.entry((id, i)).or_default().push(compiled),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok((out.count > 0).then_some(out))
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends every rule `body` (a value written in the schema) breaks, with its path. Fails if the body is not a
    /// value of the schema.
    pub fn violations(&self, body: &[u8], out: &mut Vec<RuleViolation>) -> Result<(), DecodeError> {
        let mut input = body;
        let value = decode(&self.schema, self.schema.root(), &mut input)?;
        if !input.is_empty() {
            return Err(DecodeError::TrailingBytes(input.len()));
        }
        self.walk(self.schema.root(), &value, &mut Vec::new(), out);
        Ok(())
    }

    /// A violation of `rule` on `this`, if it breaks it, at `path` (made into segments only then).
    fn check(&self, rule: &Compiled, this: &Value, path: &[Step], out: &mut Vec<RuleViolation>) {
        let message = match rule.program.verdict(this) {
            Ok(None) => return,
            Ok(Some(m)) => m,
            Err(e) => e.to_string(),
        };
        let mut v = RuleViolation::new(rule.name, rule.doc, rule.expr, message);
        for step in path.iter().rev() {
            v = v.at(match step {
                Step::Field(id, i) => match &self.schema.named(*id).kind {
                    NamedKind::Record { fields } => PathSegment::Field(intern(&fields[*i].name)),
                    _ => PathSegment::Index(*i),
                },
                Step::Index(i) => PathSegment::Index(*i),
                Step::Key(k) => PathSegment::Key(k.to_string()),
            });
        }
        out.push(v);
    }

    fn walk(&self, node: &Node, value: &Value, path: &mut Vec<Step>, out: &mut Vec<RuleViolation>) {
        match (node, value) {
            (Node::Union(branches), v) => {
                if let Some(branch) = branch_of(&self.schema, branches, v) {
                    self.walk(branch, v, path, out);
                }
            }
            (Node::Array(items), Value::List(values)) => {
                for (i, v) in values.iter().enumerate() {
                    path.push(Step::Index(i));
                    self.walk(items, v, path, out);
                    path.pop();
                }
            }
            (Node::Map(values), Value::Map(entries)) => {
                for (k, v) in entries.iter() {
                    path.push(Step::Key(k.clone()));
                    self.walk(values, v, path, out);
                    path.pop();
                }
            }
            (Node::Named(id), Value::Record(fields)) => {
                let NamedKind::Record { fields: defs } = &self.schema.named(*id).kind else { return };
                for rule in self.records.get(id).into_iter().flatten() {
                    self.check(rule, value, path, out);
                }
                for (i, (def, (_, v))) in defs.iter().zip(fields.iter()).enumerate() {
                    path.push(Step::Field(*id, i));
                    if *v != Value::Null {
                        for rule in self.fields.get(&(*id, i)).into_iter().flatten() {
                            self.check(rule, v, path, out);
                        }
                    }
                    self.walk(&def.schema, v, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// One step of the walk's path: a record's field by index, an item, a map entry.
enum Step {
    Field(NamedId, usize),
    Index(usize),
    Key(Arc<str>),
}

/// The branch of `branches` a decoded value came from (decoding kept no index: the value's kind tells, as the
/// parser refuses two branches of one kind, except named types, told apart by their record's field names).
fn branch_of<'a>(schema: &Schema, branches: &'a [Node], v: &Value) -> Option<&'a Node> {
    match v {
        Value::Record(fields) => branches.iter().find(|b| match b {
            Node::Named(id) => match &schema.named(*id).kind {
                NamedKind::Record { fields: defs } => {
                    defs.len() == fields.len() && defs.iter().zip(fields.iter()).all(|(d, (n, _))| d.name == **n)
                }
                _ => false,
            },
            _ => false,
        }),
        Value::List(_) => branches.iter().find(|b| matches!(b, Node::Array(_))),
        Value::Map(_) => branches.iter().find(|b| matches!(b, Node::Map(_))),
        _ => None,
    }
}

fn intern(s: &str) -> &'static str {
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(t) = texts.get(s) {
        return t;
    }
    let t: &'static str = Box::leak(s.to_string().into_boxed_str());
    texts.insert(t);
    t
}

/// A rule's place by names, to match a registered schema's rules with a type's own.
fn located(
    schema: &Schema,
    at: (NamedId, Option<usize>),
    name: String,
    expr: String,
) -> (String, Option<String>, String, String) {
    let t = schema.named(at.0);
    let field = at.1.and_then(|i| match &t.kind {
        NamedKind::Record { fields } => fields.get(i).map(|f| f.name.clone()),
        _ => None,
    });
    (t.name.full(), field, name, expr)
}

/// Every `confluent:rules` entry of the schema text, at the record or field of the parsed schema it is on. Entries
/// without a name or an expression are skipped (Confluent's clients skip them too).
fn written_rules(schema: &Schema, json: &str) -> Vec<Written> {
    let Ok(tree) = serde_json::from_str::<serde_json::Value>(json) else { return Vec::new() };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    collect(schema, &tree, schema.root(), &mut seen, &mut out);
    out
}

fn entries(rules: Option<&serde_json::Value>, at: (NamedId, Option<usize>), out: &mut Vec<Written>) {
    for r in rules.and_then(serde_json::Value::as_array).into_iter().flatten() {
        let text = |k: &str| r.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
        if let (Some(name), Some(expr)) = (text("name"), text("expr")) {
            out.push(Written { at, name, doc: text("doc"), expr });
        }
    }
}

fn collect(
    schema: &Schema,
    json: &serde_json::Value,
    node: &Node,
    seen: &mut HashSet<NamedId>,
    out: &mut Vec<Written>,
) {
    use serde_json::Value as J;
    match (node, json) {
        (Node::Union(branches), J::Array(items)) => {
            for (b, j) in branches.iter().zip(items) {
                collect(schema, j, b, seen, out);
            }
        }
        // `{"type": {...}}` or `{"type": [...]}`: the type is inside.
        (_, J::Object(o)) if matches!(o.get("type"), Some(J::Object(_) | J::Array(_))) => {
            if let Some(inner) = o.get("type") {
                collect(schema, inner, node, seen, out);
            }
        }
        (Node::Array(items), J::Object(o)) => {
            if let Some(j) = o.get("items") {
                collect(schema, j, items, seen, out);
            }
        }
        (Node::Map(values), J::Object(o)) => {
            if let Some(j) = o.get("values") {
                collect(schema, j, values, seen, out);
            }
        }
        (Node::Named(id), J::Object(o)) => {
            let NamedKind::Record { fields } = &schema.named(*id).kind else { return };
            let Some(J::Array(field_json)) = o.get("fields") else { return };
            if !seen.insert(*id) {
                return;
            }
            entries(o.get("confluent:rules"), (*id, None), out);
            for (i, (f, j)) in fields.iter().zip(field_json).enumerate() {
                entries(j.get("confluent:rules"), (*id, Some(i)), out);
                if let Some(t) = j.get("type") {
                    collect(schema, t, &f.schema, seen, out);
                }
            }
        }
        _ => {}
    }
}

/// The CEL type a rule sees for a value of `node` (a record field's, an item's): `Dyn` for what rules cannot read.
fn node_type(schema: &Schema, node: &Node, open: &mut Vec<NamedId>) -> Type {
    match node {
        Node::Primitive(p, logical) => match (p, logical) {
            (Primitive::Long, Some(LogicalType::TimestampMillis | LogicalType::TimestampMicros)) => Type::Timestamp,
            (_, Some(LogicalType::Uuid) | None) => match p {
                Primitive::Null => Type::Null,
                Primitive::Boolean => Type::Bool,
                Primitive::Int | Primitive::Long => Type::Int,
                Primitive::Float | Primitive::Double => Type::Double,
                Primitive::Bytes => Type::Bytes,
                Primitive::String => Type::String,
            },
            _ => Type::Dyn,
        },
        Node::Array(items) => Type::list(node_type(schema, items, open)),
        Node::Map(values) => Type::map(Type::String, node_type(schema, values, open)),
        Node::Union(branches) => {
            let non_null: Vec<&Node> =
                branches.iter().filter(|b| !matches!(b, Node::Primitive(Primitive::Null, _))).collect();
            match non_null.as_slice() {
                [one] if branches.len() == 2 => Type::nullable(node_type(schema, one, open)),
                _ => Type::Dyn,
            }
        }
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Record { .. } => record_type(schema, *id, open),
            NamedKind::Enum { .. } => Type::String,
            NamedKind::Fixed { logical: None, .. } => Type::Bytes,
            NamedKind::Fixed { .. } => Type::Dyn,
        },
    }
}

fn record_type(schema: &Schema, id: NamedId, open: &mut Vec<NamedId>) -> Type {
    // A record inside itself is not typed again: a rule reading that deep is not checked.
    if open.contains(&id) {
        return Type::Dyn;
    }
    let t = schema.named(id);
    let NamedKind::Record { fields } = &t.kind else { return Type::Dyn };
    open.push(id);
    let fields =
        fields.iter().map(|f| CelField { name: f.name.clone(), ty: node_type(schema, &f.schema, open) }).collect();
    open.pop();
    Type::Record(Arc::new(CelRecord { name: t.name.full(), fields }))
}

/// The type of field `i`'s value where its rules run (never null: a null field skips its rules).
fn field_type(schema: &Schema, id: NamedId, i: usize) -> Type {
    match &schema.named(id).kind {
        NamedKind::Record { fields } => match fields.get(i) {
            Some(f) => node_type(schema, &f.schema, &mut vec![id]).non_null().clone(),
            None => Type::Dyn,
        },
        _ => Type::Dyn,
    }
}

/// One value of `node` from `input`, as rules see it.
fn decode(schema: &Schema, node: &Node, input: &mut &[u8]) -> Result<Value, DecodeError> {
    Ok(match node {
        Node::Primitive(p, logical) => match p {
            Primitive::Null => Value::Null,
            Primitive::Boolean => Value::Bool(enc::get_bool(input)?),
            Primitive::Int => Value::Int(i64::from(enc::get_int(input)?)),
            Primitive::Long => {
                let n = enc::get_long(input)?;
                match logical {
                    Some(LogicalType::TimestampMillis) => timestamp(n, 1_000),
                    Some(LogicalType::TimestampMicros) => timestamp(n, 1_000_000),
                    _ => Value::Int(n),
                }
            }
            Primitive::Float => Value::Double(f64::from(enc::get_float(input)?)),
            Primitive::Double => Value::Double(enc::get_double(input)?),
            Primitive::Bytes => Value::Bytes(Arc::from(enc::get_bytes(input)?)),
            Primitive::String => Value::string(enc::get_str(input)?),
        },
        Node::Array(items) => {
            let mut out = Vec::new();
            let mut total = 0usize;
            loop {
                let n = enc::get_array_block(input, schema.min_size(items), &mut total, enc::MAX_ZERO_SIZE_ITEMS)?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    out.push(decode(schema, items, input)?);
                }
            }
            Value::List(out.into())
        }
        Node::Map(values) => {
            let mut out = Vec::new();
            let min = 1usize.saturating_add(schema.min_size(values));
            loop {
                let n = enc::get_block_count(input, min)?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    let k: Arc<str> = Arc::from(enc::get_str(input)?);
                    out.push((k, decode(schema, values, input)?));
                }
            }
            Value::Map(out.into())
        }
        Node::Union(branches) => {
            let i = enc::get_union_index(input, branches.len() as u32)? as usize;
            decode(schema, &branches[i], input)?
        }
        Node::Named(id) => match &schema.named(*id).kind {
            NamedKind::Fixed { size, .. } => Value::Bytes(Arc::from(enc::take(input, *size)?)),
            NamedKind::Enum { symbols, .. } => {
                Value::string(&symbols[enc::get_enum_index(input, symbols.len() as u32)? as usize])
            }
            NamedKind::Record { fields } => {
                let _nested = enc::enter_nested()?;
                let mut out = Vec::with_capacity(fields.len());
                for f in fields {
                    out.push((Arc::from(f.name.as_str()), decode(schema, &f.schema, input)?));
                }
                Value::Record(out.into())
            }
        },
    })
}

/// A timestamp of `n` units of `1/per_second` s; outside CEL's range it is a plain `int` (a rule reading it as a
/// timestamp then fails on this value rather than on every value).
fn timestamp(n: i64, per_second: i64) -> Value {
    let (secs, sub) = (n.div_euclid(per_second), n.rem_euclid(per_second));
    let nanos = (sub * (1_000_000_000 / per_second)) as u32;
    Timestamp::new(secs, nanos).map_or(Value::Int(n), Value::Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encoding::{put_bytes, put_long};

    const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","confluent:rules":[
        {"name":"fee_within","expr":"this.fee <= this.total","doc":"fees come out of the total"}],
      "fields":[
        {"name":"total","type":"long","confluent:rules":[{"name":"positive","expr":"this > 0"}]},
        {"name":"fee","type":"long"},
        {"name":"note","type":["null","string"],"confluent:rules":[{"name":"short","expr":"size(this) < 4 ? '' : 'too long'"}]},
        {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
           {"name":"sku","type":"string","confluent:rules":[{"name":"sku_shape","expr":"this.matches('^[A-Z]+$')"}]}]}}}]}"#;

    fn body(total: i64, fee: i64, note: Option<&str>, skus: &[&str]) -> Vec<u8> {
        let mut b = Vec::new();
        put_long(&mut b, total);
        put_long(&mut b, fee);
        match note {
            Some(n) => {
                put_long(&mut b, 1);
                put_bytes(&mut b, n.as_bytes());
            }
            None => put_long(&mut b, 0),
        }
        if !skus.is_empty() {
            put_long(&mut b, skus.len() as i64);
            for s in skus {
                put_bytes(&mut b, s.as_bytes());
            }
        }
        put_long(&mut b, 0);
        b
    }

    #[test]
    fn a_registered_schemas_rules_run_with_confluents_walk() {
        let schema = Schema::parse(SCHEMA).unwrap();
        let rules = RegisteredRules::compile(&schema, SCHEMA, None).unwrap().unwrap();
        assert_eq!(rules.len(), 4);
        let mut out = Vec::new();
        rules.violations(&body(5, 1, None, &["AB"]), &mut out).unwrap();
        assert!(out.is_empty(), "{out:?}");
        rules.violations(&body(-1, 3, Some("long note"), &["AB", "x1"]), &mut out).unwrap();
        let found: Vec<(String, &str, Option<&str>)> =
            out.iter().map(|v| (v.path.to_string(), v.rule, v.message.as_deref())).collect();
        assert_eq!(
            found,
            [
                ("/".into(), "fee_within", None),
                ("/total".into(), "positive", None),
                ("/note".into(), "short", Some("too long")),
                ("/lines/1/sku".into(), "sku_shape", None),
            ]
        );
        assert_eq!(out[0].doc, Some("fees come out of the total"));
        assert!(rules.violations(&[0x02], &mut out).is_err(), "a body that is not a value");
    }

    #[test]
    fn rules_the_type_carries_are_left_to_it_and_unusable_rules_are_errors() {
        let schema = Schema::parse(SCHEMA).unwrap();
        let own = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
            {"name":"total","type":"long","confluent:rules":[{"name":"positive","expr":"this > 0"}]},
            {"name":"fee","type":"long"},{"name":"note","type":["null","string"]},
            {"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[
               {"name":"sku","type":"string","confluent:rules":[{"name":"sku_shape","expr":"this.matches('^[A-Z]+$')"}]}]}}}]}"#;
        let own_schema = Schema::parse(own).unwrap();
        let rules = RegisteredRules::compile(&schema, SCHEMA, Some((&own_schema, own))).unwrap().unwrap();
        assert_eq!(rules.len(), 2, "fee_within and short are the registered schema's own");
        let none = RegisteredRules::compile(&own_schema, own, Some((&own_schema, own))).unwrap();
        assert!(none.is_none());

        let bad = r#"{"type":"record","name":"R","fields":[
            {"name":"a","type":"long","confluent:rules":[{"name":"typo","expr":"this.size > 0"}]},
            {"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2},
             "confluent:rules":[{"name":"dec","expr":"this > 0"}]}]}"#;
        let errors = RegisteredRules::compile(&Schema::parse(bad).unwrap(), bad, None).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!((errors[0].location.as_str(), errors[0].rule.as_str()), ("R.a", "typo"));
        assert!(errors[1].to_string().contains("cannot read yet"), "{}", errors[1]);
    }
}
