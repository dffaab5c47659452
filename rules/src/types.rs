//! The types rules are checked against: CEL's, with records for the type a rule is written on.

use std::fmt;
use std::sync::Arc;

/// A CEL type.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `int`: every signed integer field.
    Int,
    /// `uint`.
    Uint,
    /// `double`: `f32` and `f64` fields.
    Double,
    /// `string`: strings, and Avro enums (their symbol).
    String,
    /// `bytes`.
    Bytes,
    /// `null_type`.
    Null,
    /// `google.protobuf.Timestamp`: timestamps, and `now`.
    Timestamp,
    /// `google.protobuf.Duration`.
    Duration,
    /// `list(T)`.
    List(Box<Type>),
    /// `map(K, V)`.
    Map(Box<Type>, Box<Type>),
    /// A value that may be null (an optional field): compared with `null`, or used as its type (an error at run
    /// time when it is null).
    Nullable(Box<Type>),
    /// A record: its fields by name.
    Record(Arc<Record>),
    /// A type known only when the generated code is compiled (a nested type the derive does not see): the Rust
    /// compiler checks what the expression does with it.
    Dyn,
}

/// A record type: its name and fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The record's name (the Rust type's).
    pub name: String,
    /// Its fields, in order.
    pub fields: Vec<Field>,
}

/// A record's field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The field's name in rules (the Avro field's name).
    pub name: String,
    /// Its type.
    pub ty: Type,
}

impl Record {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl Type {
    /// `list(item)`.
    pub fn list(item: Type) -> Type {
        Type::List(Box::new(item))
    }

    /// `map(key, value)`.
    pub fn map(key: Type, value: Type) -> Type {
        Type::Map(Box::new(key), Box::new(value))
    }

    /// A value of `ty` that may be null.
    pub fn nullable(ty: Type) -> Type {
        match ty {
            Type::Nullable(_) | Type::Null | Type::Dyn => ty,
            ty => Type::Nullable(Box::new(ty)),
        }
    }

    /// The type without its nullability.
    pub fn non_null(&self) -> &Type {
        match self {
            Type::Nullable(t) => t,
            t => t,
        }
    }

    pub(crate) fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Uint | Type::Double)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Bool => f.write_str("bool"),
            Type::Int => f.write_str("int"),
            Type::Uint => f.write_str("uint"),
            Type::Double => f.write_str("double"),
            Type::String => f.write_str("string"),
            Type::Bytes => f.write_str("bytes"),
            Type::Null => f.write_str("null"),
            Type::Timestamp => f.write_str("timestamp"),
            Type::Duration => f.write_str("duration"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Map(k, v) => write!(f, "map({k}, {v})"),
            Type::Nullable(t) => write!(f, "{t} or null"),
            Type::Record(r) => write!(f, "record {}", r.name),
            Type::Dyn => f.write_str("dyn"),
        }
    }
}
