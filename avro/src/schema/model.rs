//! The parsed form of an Avro schema: named types in an arena, referenced by index, so that recursive schemas are
//! plain data and two uses of one named type are one definition.

use std::fmt;

use super::SchemaError;
use super::parse::MAX_DEPTH;

/// An Avro primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `null`.
    Null,
    /// `boolean`.
    Boolean,
    /// `int`: 32-bit signed.
    Int,
    /// `long`: 64-bit signed.
    Long,
    /// `float`: 32-bit IEEE 754.
    Float,
    /// `double`: 64-bit IEEE 754.
    Double,
    /// `bytes`.
    Bytes,
    /// `string`: UTF-8.
    String,
}

impl Primitive {
    /// The type's name in schema JSON.
    pub fn name(self) -> &'static str {
        match self {
            Primitive::Null => "null",
            Primitive::Boolean => "boolean",
            Primitive::Int => "int",
            Primitive::Long => "long",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Bytes => "bytes",
            Primitive::String => "string",
        }
    }

    /// The primitive with this name.
    pub fn from_name(name: &str) -> Option<Primitive> {
        Some(match name {
            "null" => Primitive::Null,
            "boolean" => Primitive::Boolean,
            "int" => Primitive::Int,
            "long" => Primitive::Long,
            "float" => Primitive::Float,
            "double" => Primitive::Double,
            "bytes" => Primitive::Bytes,
            "string" => Primitive::String,
            _ => return None,
        })
    }
}

/// A logical type the specification defines, on a valid underlying type. A `logicalType` that is unknown or does
/// not fit its type is ignored, as the specification requires (the schema is its underlying type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalType {
    /// `decimal` on `bytes` or `fixed`.
    Decimal {
        /// Total significant digits (≥ 1).
        precision: u32,
        /// Digits after the point (≤ precision).
        scale: u32,
    },
    /// `uuid` on `string` (or `fixed(16)`).
    Uuid,
    /// `date` on `int`: days since the epoch.
    Date,
    /// `time-millis` on `int`.
    TimeMillis,
    /// `time-micros` on `long`.
    TimeMicros,
    /// `timestamp-millis` on `long`.
    TimestampMillis,
    /// `timestamp-micros` on `long`.
    TimestampMicros,
    /// `timestamp-nanos` on `long`.
    TimestampNanos,
    /// `local-timestamp-millis` on `long`.
    LocalTimestampMillis,
    /// `local-timestamp-micros` on `long`.
    LocalTimestampMicros,
    /// `local-timestamp-nanos` on `long`.
    LocalTimestampNanos,
    /// `duration` on `fixed(12)`.
    Duration,
}

impl LogicalType {
    /// The `logicalType` name.
    pub fn name(self) -> &'static str {
        match self {
            LogicalType::Decimal { .. } => "decimal",
            LogicalType::Uuid => "uuid",
            LogicalType::Date => "date",
            LogicalType::TimeMillis => "time-millis",
            LogicalType::TimeMicros => "time-micros",
            LogicalType::TimestampMillis => "timestamp-millis",
            LogicalType::TimestampMicros => "timestamp-micros",
            LogicalType::TimestampNanos => "timestamp-nanos",
            LogicalType::LocalTimestampMillis => "local-timestamp-millis",
            LogicalType::LocalTimestampMicros => "local-timestamp-micros",
            LogicalType::LocalTimestampNanos => "local-timestamp-nanos",
            LogicalType::Duration => "duration",
        }
    }
}

/// A full name: namespace and name, as the specification resolves them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name {
    /// The namespace; empty for the null namespace.
    pub namespace: String,
    /// The name without its namespace.
    pub name: String,
}

impl Name {
    /// `namespace.name`, or `name` in the null namespace.
    pub fn full(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() { f.write_str(&self.name) } else { write!(f, "{}.{}", self.namespace, self.name) }
    }
}

/// The index of a named type in its [`Schema`]'s arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NamedId(pub(crate) usize);

impl NamedId {
    /// The position in [`Schema::named_types`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// A schema node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A primitive, possibly with a logical type.
    Primitive(Primitive, Option<LogicalType>),
    /// An array of `items`.
    Array(Box<Node>),
    /// A map from strings to `values`.
    Map(Box<Node>),
    /// A union of branches (never directly another union, no two branches of one unnamed kind or one name).
    Union(Vec<Node>),
    /// A record, enum or fixed, defined in the arena.
    Named(NamedId),
}

/// A field's sort order (`order`), which only affects sorting, never the binary encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `ascending` (the default).
    #[default]
    Ascending,
    /// `descending`.
    Descending,
    /// `ignore`.
    Ignore,
}

/// A record field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field name.
    pub name: String,
    /// Alternative names a reader matches writers' fields by.
    pub aliases: Vec<String>,
    /// `doc`.
    pub doc: Option<String>,
    /// The field's schema.
    pub schema: Node,
    /// `default`, checked against the schema (for a union, against its first branch).
    pub default: Option<serde_json::Value>,
    /// `order`.
    pub order: SortOrder,
}

/// What a named type is.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedKind {
    /// A record (or an `error`, which encodes the same).
    Record {
        /// The fields, in order.
        fields: Vec<Field>,
    },
    /// An enum.
    Enum {
        /// The symbols, in order (the encoding is the index).
        symbols: Vec<String>,
        /// The symbol a reader uses for a writer's symbol it does not know.
        default: Option<String>,
    },
    /// A fixed number of bytes.
    Fixed {
        /// The size in bytes.
        size: usize,
        /// A logical type on it (decimal, duration, uuid).
        logical: Option<LogicalType>,
    },
}

/// A record, enum or fixed type.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedType {
    /// Its full name.
    pub name: Name,
    /// Its aliases, as full names.
    pub aliases: Vec<Name>,
    /// `doc`.
    pub doc: Option<String>,
    /// What it is.
    pub kind: NamedKind,
}

/// What the parser learns about each named type once every type is defined, so that no walk recomputes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The fewest bytes a value encodes to (a recursive use counts 0: a lower bound).
    pub(crate) min_size: usize,
}

/// Where the walk of [`Facts::of`] is with a named type.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    New,
    /// Being walked: a use of it now is a recursive one.
    Open,
    Done,
}

impl Facts {
    /// The facts of every named type, walking from `root` first (in the order the canonical form walks, so that
    /// its depth is the one bounded here), then from every type not reached. A schema that nests more than
    /// [`MAX_DEPTH`] levels, counting through the named types it uses, is refused: every later walk over it is
    /// bounded by that.
    pub(crate) fn of(named: &[NamedType], root: &Node) -> Result<Vec<Facts>, SchemaError> {
        let mut walk = FactsWalk {
            named,
            facts: vec![Facts { min_size: 0 }; named.len()],
            visit: vec![Visit::New; named.len()],
            record: None,
        };
        walk.node(root, 1)?;
        for i in 0..named.len() {
            if walk.visit[i] == Visit::New {
                walk.named_type(i, 1)?;
            }
        }
        Ok(walk.facts)
    }

    /// The fewest bytes a value of a primitive, array, map or union encodes to.
    pub(crate) fn min_size_of_unnamed(node: &Node) -> usize {
        match node {
            Node::Primitive(p, _) => match p {
                Primitive::Null => 0,
                Primitive::Float => 4,
                Primitive::Double => 8,
                _ => 1,
            },
            Node::Array(_) | Node::Map(_) | Node::Union(_) => 1,
            Node::Named(_) => 0,
        }
    }
}

struct FactsWalk<'a> {
    named: &'a [NamedType],
    facts: Vec<Facts>,
    visit: Vec<Visit>,
    /// The record being walked, innermost: what a refusal names.
    record: Option<usize>,
}

impl FactsWalk<'_> {
    /// Walks `node` at nesting level `depth`, giving its minimum encoded size.
    fn node(&mut self, node: &Node, depth: usize) -> Result<usize, SchemaError> {
        if depth > MAX_DEPTH {
            let what = match self.record {
                Some(i) => format!("record {}", super::parse::excerpt(&self.named[i].name.full())),
                None => "the schema".to_string(),
            };
            return Err(SchemaError::Invalid {
                reason: format!("{what} nests more than {MAX_DEPTH} levels deep, counting the named types it uses"),
            });
        }
        match node {
            Node::Primitive(..) => Ok(Facts::min_size_of_unnamed(node)),
            Node::Array(inner) | Node::Map(inner) => self.node(inner, depth + 1).map(|_| 1),
            Node::Union(branches) => {
                for b in branches {
                    self.node(b, depth + 1)?;
                }
                Ok(1)
            }
            Node::Named(id) => match self.visit[id.0] {
                Visit::Done => Ok(self.facts[id.0].min_size),
                Visit::Open => Ok(0),
                Visit::New => self.named_type(id.0, depth),
            },
        }
    }

    fn named_type(&mut self, i: usize, depth: usize) -> Result<usize, SchemaError> {
        self.visit[i] = Visit::Open;
        let min_size = match &self.named[i].kind {
            NamedKind::Fixed { size, .. } => *size,
            NamedKind::Enum { .. } => 1,
            NamedKind::Record { fields } => {
                let outer = self.record.replace(i);
                let mut sum = 0usize;
                for f in fields {
                    sum = sum.saturating_add(self.node(&f.schema, depth + 1)?);
                }
                self.record = outer;
                sum
            }
        };
        self.facts[i] = Facts { min_size };
        self.visit[i] = Visit::Done;
        Ok(min_size)
    }
}

/// A parsed schema: the root node and the named types it defines, each exactly once.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub(crate) root: Node,
    pub(crate) named: Vec<NamedType>,
    pub(crate) facts: Vec<Facts>,
}

impl Schema {
    /// The root node.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Every named type, in order of definition.
    pub fn named_types(&self) -> &[NamedType] {
        &self.named
    }

    /// A named type.
    pub fn named(&self, id: NamedId) -> &NamedType {
        &self.named[id.0]
    }

    /// The named type with this full name.
    pub fn find(&self, full_name: &str) -> Option<NamedId> {
        self.named.iter().position(|t| t.name.full() == full_name).map(NamedId)
    }

    /// The fewest bytes a value of `node` (a node of this schema) encodes to: what bounds a hostile block count.
    /// Computed once when the schema is parsed; a recursive use of a record counts 0.
    pub fn min_size(&self, node: &Node) -> usize {
        match node {
            Node::Named(id) => self.facts[id.0].min_size,
            other => Facts::min_size_of_unnamed(other),
        }
    }

    /// The root's full name, for a named root (record, enum, fixed).
    pub fn root_name(&self) -> Option<&Name> {
        match &self.root {
            Node::Named(id) => Some(&self.named(*id).name),
            _ => None,
        }
    }
}
