//! Schema JSON → [`Schema`], under the Avro specification's rules: names and namespaces, each named type defined
//! once (and used before or after its definition, as Java 1.12 allows; a record may refer to itself), unions
//! without nested unions or duplicate branches, defaults checked against their field's schema, logical types
//! validated (an invalid one is ignored, as the specification requires). Attributes the specification does not
//! define are ignored wherever they appear, whatever their JSON type, so no schema text can make the parser fail
//! other than with a [`SchemaError`].

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::SchemaError;
use super::model::{
    Facts, Field, LogicalType, Name, NamedId, NamedKind, NamedType, Node, Primitive, Schema, SortOrder,
};

/// Longest excerpt of schema text an error quotes.
pub(crate) const EXCERPT_CHARS: usize = 120;

/// At most this much nesting in a schema: in its text (serde_json refuses JSON nested deeper than 128 before we see
/// it), and through the named types it uses (a record whose field is a record defined elsewhere, whose field is
/// …), so that every walk over a parsed schema has a bounded depth.
pub const MAX_DEPTH: usize = 128;

/// The first [`EXCERPT_CHARS`] characters of `text`, marked when cut.
pub(crate) fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() { format!("{head}…") } else { head }
}

fn invalid(reason: impl Into<String>) -> SchemaError {
    SchemaError::Invalid { reason: reason.into() }
}

/// Whether `s` is a valid Avro name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_valid_namespace(s: &str) -> bool {
    s.is_empty() || s.split('.').all(is_valid_name)
}

pub(crate) struct Parser {
    named: Vec<NamedType>,
    by_name: HashMap<String, NamedId>,
    /// Uses of names not defined yet (forward references, as Java 1.12 allows): each holds a placeholder slot of
    /// `named`, resolved and removed by [`finish`](Parser::finish).
    forward: Vec<Forward>,
    /// Fields with a default, checked by `finish` once every type they may use is defined.
    defaults: Vec<(NamedId, usize)>,
}

/// A name used before its definition: its placeholder slot, the name as written, and the namespace it was used in.
struct Forward {
    slot: NamedId,
    name: String,
    enclosing: String,
}

impl Parser {
    pub(crate) fn new() -> Parser {
        Parser { named: Vec::new(), by_name: HashMap::new(), forward: Vec::new(), defaults: Vec::new() }
    }

    /// Parses one schema text; its named types join those already defined (references parsed earlier). Names it
    /// uses may be defined later, in this text or in one parsed after it.
    pub(crate) fn parse_text(&mut self, text: &str) -> Result<Node, SchemaError> {
        let json: Value = serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        self.node(&json, "", 0)
    }

    /// Resolves the forward references, checks what needs every type defined (defaults, distinct union
    /// branches, nesting through named types), and records what every later walk needs to know per type.
    pub(crate) fn finish(mut self, mut root: Node) -> Result<Schema, SchemaError> {
        if !self.forward.is_empty() {
            self.resolve_forward(&mut root)?;
        }
        // Unions are checked here, once every branch's name is known (a forward use names its type only now).
        check_unions(&self.named, &root)?;
        for ty in &self.named {
            if let NamedKind::Record { fields } = &ty.kind {
                fields.iter().try_for_each(|f| check_unions(&self.named, &f.schema))?;
            }
        }
        for (record, index) in &self.defaults {
            let NamedKind::Record { fields } = &self.named[record.0].kind else { continue };
            let f = &fields[*index];
            if let Some(d) = &f.default
                && !valid_default(&self.named, &f.schema, d, 0)
            {
                return Err(SchemaError::InvalidDefault {
                    field: format!("{}.{}", excerpt(&self.named[record.0].name.full()), f.name),
                    default: excerpt(&d.to_string()),
                });
            }
        }
        let facts = Facts::of(&self.named, &root)?;
        Ok(Schema { root, named: self.named, facts })
    }

    /// Points every forward use at its definition and drops the placeholder slots.
    fn resolve_forward(&mut self, root: &mut Node) -> Result<(), SchemaError> {
        let slots = self.named.len();
        let mut target: Vec<usize> = (0..slots).collect();
        let mut placeholder = vec![false; slots];
        for f in &self.forward {
            match self.lookup(&f.name, &f.enclosing) {
                Some(id) => target[f.slot.0] = id.0,
                None => return Err(SchemaError::UnknownType { name: excerpt(&f.name) }),
            }
            placeholder[f.slot.0] = true;
        }
        let mut index = vec![0usize; slots];
        let mut next = 0;
        for (i, slot) in index.iter_mut().enumerate() {
            if !placeholder[i] {
                *slot = next;
                next += 1;
            }
        }
        let map: Vec<usize> = target.iter().map(|t| index[*t]).collect();
        let mut i = 0;
        self.named.retain(|_| {
            i += 1;
            !placeholder[i - 1]
        });
        for ty in &mut self.named {
            if let NamedKind::Record { fields } = &mut ty.kind {
                fields.iter_mut().for_each(|f| renumber(&mut f.schema, &map));
            }
        }
        renumber(root, &map);
        for (record, _) in &mut self.defaults {
            *record = NamedId(map[record.0]);
        }
        self.by_name.values_mut().for_each(|id| *id = NamedId(map[id.0]));
        self.forward.clear();
        Ok(())
    }

    fn name(&self, obj: &Map<String, Value>, enclosing: &str) -> Result<Name, SchemaError> {
        let raw = match obj.get("name") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(invalid("a named type's \"name\" must be a string")),
            None => return Err(invalid("a record, enum or fixed needs a \"name\"")),
        };
        let ns_attr = match obj.get("namespace") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(invalid(format!("the namespace of {raw:?} must be a string"))),
        };
        full_name(raw, ns_attr.unwrap_or(enclosing))
    }

    fn aliases(&self, obj: &Map<String, Value>, namespace: &str) -> Result<Vec<Name>, SchemaError> {
        string_list(obj.get("aliases"), "aliases")?.iter().map(|a| full_name(a, namespace)).collect()
    }

    fn define(&mut self, ty: NamedType) -> Result<NamedId, SchemaError> {
        let full = ty.name.full();
        if Primitive::from_name(&ty.name.name).is_some() && ty.name.namespace.is_empty() {
            return Err(invalid(format!("{full:?} is a primitive type's name and cannot name a type")));
        }
        if self.by_name.contains_key(&full) {
            return Err(invalid(format!("the type {full} is defined twice")));
        }
        let id = NamedId(self.named.len());
        self.named.push(ty);
        self.by_name.insert(full, id);
        Ok(id)
    }

    /// The defined type `name` (as written) refers to when used in namespace `enclosing`: the name qualified with
    /// the namespace first, then as it stands.
    fn lookup(&self, name: &str, enclosing: &str) -> Option<NamedId> {
        let qualified = if name.contains('.') || enclosing.is_empty() {
            None
        } else {
            self.by_name.get(&format!("{enclosing}.{name}"))
        };
        qualified.or_else(|| self.by_name.get(name)).copied()
    }

    fn reference(&mut self, name: &str, enclosing: &str) -> Result<Node, SchemaError> {
        if let Some(p) = Primitive::from_name(name) {
            return Ok(Node::Primitive(p, None));
        }
        if let Some(id) = self.lookup(name, enclosing) {
            return Ok(Node::Named(id));
        }
        if !name.split('.').all(is_valid_name) {
            return Err(SchemaError::UnknownType { name: excerpt(name) });
        }
        // Defined later (or nowhere: `finish` says so).
        let slot = NamedId(self.named.len());
        self.named.push(NamedType {
            name: Name { namespace: String::new(), name: name.to_string() },
            aliases: Vec::new(),
            doc: None,
            kind: NamedKind::Record { fields: Vec::new() },
        });
        self.forward.push(Forward { slot, name: name.to_string(), enclosing: enclosing.to_string() });
        Ok(Node::Named(slot))
    }

    fn node(&mut self, json: &Value, enclosing: &str, depth: usize) -> Result<Node, SchemaError> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match json {
            Value::String(name) => self.reference(name, enclosing),
            Value::Array(branches) => self.union(branches, enclosing, depth),
            Value::Object(obj) => self.object(obj, enclosing, depth),
            other => Err(invalid(format!("a schema is a string, an object or an array, not {}", kind(other)))),
        }
    }

    fn union(&mut self, branches: &[Value], enclosing: &str, depth: usize) -> Result<Node, SchemaError> {
        let mut nodes = Vec::with_capacity(branches.len());
        for b in branches {
            let node = self.node(b, enclosing, depth + 1)?;
            if let Node::Union(_) = node {
                return Err(invalid("a union cannot directly contain another union"));
            }
            nodes.push(node);
        }
        // Duplicate branches are refused by `finish`, once every branch's name is known.
        Ok(Node::Union(nodes))
    }

    fn object(&mut self, obj: &Map<String, Value>, enclosing: &str, depth: usize) -> Result<Node, SchemaError> {
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            // `{"type": {...}}` or `{"type": [...]}`: the nested schema itself.
            Some(nested @ (Value::Object(_) | Value::Array(_))) => return self.node(nested, enclosing, depth + 1),
            Some(other) => return Err(invalid(format!("\"type\" must be a string, not {}", kind(other)))),
            None => return Err(invalid("a schema object needs a \"type\"")),
        };
        match ty {
            "record" | "error" => self.record(obj, enclosing, depth),
            "enum" => self.enumeration(obj, enclosing),
            "fixed" => self.fixed(obj, enclosing),
            "array" => {
                let items = obj.get("items").ok_or_else(|| invalid("an array needs \"items\""))?;
                Ok(Node::Array(Box::new(self.node(items, enclosing, depth + 1)?)))
            }
            "map" => {
                let values = obj.get("values").ok_or_else(|| invalid("a map needs \"values\""))?;
                Ok(Node::Map(Box::new(self.node(values, enclosing, depth + 1)?)))
            }
            other => match Primitive::from_name(other) {
                Some(p) => Ok(Node::Primitive(p, primitive_logical(p, obj))),
                // `{"type": "Name"}` refers to a named type defined earlier.
                None => self.reference(other, enclosing),
            },
        }
    }

    fn record(&mut self, obj: &Map<String, Value>, enclosing: &str, depth: usize) -> Result<Node, SchemaError> {
        let name = self.name(obj, enclosing)?;
        let aliases = self.aliases(obj, &name.namespace)?;
        let record_doc = doc(obj);
        let full = name.full();
        let namespace = name.namespace.clone();
        let fields_json = match obj.get("fields") {
            Some(Value::Array(f)) => f,
            Some(_) => return Err(invalid(format!("the fields of record {full} must be an array"))),
            None => return Err(invalid(format!("record {full} needs \"fields\""))),
        };
        // Defined before its fields, so that they may refer to it (recursive types).
        let id =
            self.define(NamedType { name, aliases, doc: record_doc, kind: NamedKind::Record { fields: Vec::new() } })?;
        let mut fields: Vec<Field> = Vec::with_capacity(fields_json.len());
        let mut names: HashSet<String> = HashSet::with_capacity(fields_json.len());
        for f in fields_json {
            let Value::Object(f) = f else {
                return Err(invalid(format!("a field of record {full} must be an object")));
            };
            let fname = match f.get("name") {
                Some(Value::String(n)) if is_valid_name(n) => n.clone(),
                Some(Value::String(n)) => {
                    return Err(invalid(format!("{:?} in record {full} is not a valid field name", excerpt(n))));
                }
                _ => return Err(invalid(format!("a field of record {full} needs a string \"name\""))),
            };
            if !names.insert(fname.clone()) {
                return Err(invalid(format!("record {full} has two fields named {fname}")));
            }
            let ftype = f.get("type").ok_or_else(|| invalid(format!("field {full}.{fname} needs a \"type\"")))?;
            let schema = self.node(ftype, &namespace, depth + 1)?;
            let default = f.get("default").cloned();
            if default.is_some() {
                self.defaults.push((id, fields.len()));
            }
            let aliases = string_list(f.get("aliases"), "aliases")?;
            let order = match f.get("order") {
                Some(Value::String(o)) if o == "descending" => SortOrder::Descending,
                Some(Value::String(o)) if o == "ignore" => SortOrder::Ignore,
                _ => SortOrder::Ascending,
            };
            fields.push(Field { name: fname, aliases, doc: doc(f), schema, default, order });
        }
        self.named[id.0].kind = NamedKind::Record { fields };
        Ok(Node::Named(id))
    }

    fn enumeration(&mut self, obj: &Map<String, Value>, enclosing: &str) -> Result<Node, SchemaError> {
        let name = self.name(obj, enclosing)?;
        let aliases = self.aliases(obj, &name.namespace)?;
        let full = name.full();
        let symbols = match obj.get("symbols") {
            Some(Value::Array(s)) => s,
            _ => return Err(invalid(format!("enum {full} needs \"symbols\", an array of names"))),
        };
        let mut out: Vec<String> = Vec::with_capacity(symbols.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(symbols.len());
        for s in symbols {
            match s {
                Value::String(s) if is_valid_name(s) => {
                    if !seen.insert(s) {
                        return Err(invalid(format!("enum {full} has the symbol {} twice", excerpt(s))));
                    }
                    out.push(s.clone());
                }
                other => {
                    return Err(invalid(format!(
                        "{} in enum {full} is not a valid symbol",
                        excerpt(&other.to_string())
                    )));
                }
            }
        }
        let default = match obj.get("default") {
            None => None,
            Some(Value::String(d)) if seen.contains(d.as_str()) => Some(d.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "the default {} of enum {full} is not one of its symbols",
                    excerpt(&other.to_string())
                )));
            }
        };
        let id =
            self.define(NamedType { name, aliases, doc: doc(obj), kind: NamedKind::Enum { symbols: out, default } })?;
        Ok(Node::Named(id))
    }

    fn fixed(&mut self, obj: &Map<String, Value>, enclosing: &str) -> Result<Node, SchemaError> {
        let name = self.name(obj, enclosing)?;
        let aliases = self.aliases(obj, &name.namespace)?;
        let size = match obj.get("size").and_then(Value::as_u64) {
            Some(s) if s <= u32::MAX as u64 => s as usize,
            _ => return Err(invalid(format!("fixed {name} needs a \"size\", a whole number of bytes"))),
        };
        let logical = fixed_logical(size, obj);
        let id = self.define(NamedType { name, aliases, doc: doc(obj), kind: NamedKind::Fixed { size, logical } })?;
        Ok(Node::Named(id))
    }
}

/// Whether `value` is a valid default for `node` (Java 1.12's rules: a union's default may match any branch; a
/// record's field missing from the value takes its own default, which must be valid in turn).
fn valid_default(named: &[NamedType], node: &Node, value: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match node {
        Node::Primitive(p, _) => match p {
            Primitive::Null => value.is_null(),
            Primitive::Boolean => value.is_boolean(),
            Primitive::Int => value.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            Primitive::Long => value.is_i64(),
            Primitive::Float | Primitive::Double => value.is_number(),
            Primitive::Bytes | Primitive::String => value.is_string(),
        },
        Node::Array(items) => {
            value.as_array().is_some_and(|a| a.iter().all(|v| valid_default(named, items, v, depth + 1)))
        }
        Node::Map(values) => {
            value.as_object().is_some_and(|m| m.values().all(|v| valid_default(named, values, v, depth + 1)))
        }
        Node::Union(branches) => branches.iter().any(|b| valid_default(named, b, value, depth + 1)),
        Node::Named(id) => match &named[id.0].kind {
            NamedKind::Fixed { .. } => value.is_string(),
            NamedKind::Enum { symbols, .. } => value.as_str().is_some_and(|s| symbols.iter().any(|x| x == s)),
            NamedKind::Record { fields } => value.as_object().is_some_and(|m| {
                fields.iter().all(|f| match m.get(&f.name).or(f.default.as_ref()) {
                    Some(v) => valid_default(named, &f.schema, v, depth + 1),
                    None => false,
                })
            }),
        },
    }
}

/// Points every named use in `node` at its slot's new index.
fn renumber(node: &mut Node, map: &[usize]) {
    match node {
        Node::Primitive(..) => {}
        Node::Array(inner) | Node::Map(inner) => renumber(inner, map),
        Node::Union(branches) => branches.iter_mut().for_each(|b| renumber(b, map)),
        Node::Named(id) => *id = NamedId(map[id.0]),
    }
}

/// Refuses a union in `node` (not looking into named types) with two branches of one unnamed kind or one name.
fn check_unions(named: &[NamedType], node: &Node) -> Result<(), SchemaError> {
    match node {
        Node::Primitive(..) | Node::Named(_) => Ok(()),
        Node::Array(inner) | Node::Map(inner) => check_unions(named, inner),
        Node::Union(branches) => {
            let mut seen: HashSet<String> = HashSet::with_capacity(branches.len());
            for b in branches {
                let key = match b {
                    Node::Primitive(p, _) => p.name().to_string(),
                    Node::Array(inner) => {
                        check_unions(named, inner)?;
                        "array".to_string()
                    }
                    Node::Map(inner) => {
                        check_unions(named, inner)?;
                        "map".to_string()
                    }
                    Node::Named(id) => named[id.0].name.full(),
                    Node::Union(_) => return Err(invalid("a union cannot directly contain another union")),
                };
                if seen.contains(&key) {
                    return Err(invalid(format!("a union contains {} twice", excerpt(&key))));
                }
                seen.insert(key);
            }
            Ok(())
        }
    }
}

/// The full name of `raw` (which may itself be dotted) in `namespace`, with every part validated.
fn full_name(raw: &str, namespace: &str) -> Result<Name, SchemaError> {
    let (ns, name) = match raw.rsplit_once('.') {
        Some((ns, name)) => (ns, name),
        None => (namespace, raw),
    };
    if !is_valid_name(name) {
        return Err(invalid(format!("{:?} is not a valid Avro name", excerpt(raw))));
    }
    if !is_valid_namespace(ns) {
        return Err(invalid(format!("{:?} is not a valid Avro namespace", excerpt(ns))));
    }
    Ok(Name { namespace: ns.to_string(), name: name.to_string() })
}

fn string_list(v: Option<&Value>, what: &str) -> Result<Vec<String>, SchemaError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| match s {
                Value::String(s) => Ok(s.clone()),
                _ => Err(invalid(format!("\"{what}\" must be an array of strings"))),
            })
            .collect(),
        Some(_) => Err(invalid(format!("\"{what}\" must be an array of strings"))),
    }
}

fn doc(obj: &Map<String, Value>) -> Option<String> {
    obj.get("doc").and_then(Value::as_str).map(str::to_owned)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn decimal(obj: &Map<String, Value>, max_precision: Option<u64>) -> Option<LogicalType> {
    let precision = obj.get("precision")?.as_u64().filter(|p| *p >= 1)?;
    let scale = match obj.get("scale") {
        None => 0,
        Some(s) => s.as_u64()?,
    };
    if scale > precision || max_precision.is_some_and(|m| precision > m) || precision > u64::from(u32::MAX) {
        return None;
    }
    Some(LogicalType::Decimal { precision: precision as u32, scale: scale as u32 })
}

fn primitive_logical(p: Primitive, obj: &Map<String, Value>) -> Option<LogicalType> {
    let name = obj.get("logicalType")?.as_str()?;
    let l = match (name, p) {
        ("decimal", Primitive::Bytes) => return decimal(obj, None),
        ("uuid", Primitive::String) => LogicalType::Uuid,
        ("date", Primitive::Int) => LogicalType::Date,
        ("time-millis", Primitive::Int) => LogicalType::TimeMillis,
        ("time-micros", Primitive::Long) => LogicalType::TimeMicros,
        ("timestamp-millis", Primitive::Long) => LogicalType::TimestampMillis,
        ("timestamp-micros", Primitive::Long) => LogicalType::TimestampMicros,
        ("timestamp-nanos", Primitive::Long) => LogicalType::TimestampNanos,
        ("local-timestamp-millis", Primitive::Long) => LogicalType::LocalTimestampMillis,
        ("local-timestamp-micros", Primitive::Long) => LogicalType::LocalTimestampMicros,
        ("local-timestamp-nanos", Primitive::Long) => LogicalType::LocalTimestampNanos,
        _ => return None,
    };
    Some(l)
}

fn fixed_logical(size: usize, obj: &Map<String, Value>) -> Option<LogicalType> {
    match obj.get("logicalType")?.as_str()? {
        // The most decimal digits a two's-complement number of `size` bytes holds: floor(log10(2^(8n-1) - 1)).
        "decimal" if size >= 1 => {
            let bits = (8 * size - 1) as f64;
            decimal(obj, Some((bits * std::f64::consts::LOG10_2).floor() as u64))
        }
        "duration" if size == 12 => Some(LogicalType::Duration),
        "uuid" if size == 16 => Some(LogicalType::Uuid),
        _ => None,
    }
}
