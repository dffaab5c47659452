//! The codec runtime behind `#[derive(KafkaRecord)]`: Avro binary encoding and decoding of Rust values without
//! `serde`, without a `Value` tree and without allocation beyond the output buffer (and, when decoding, the owned
//! values themselves).
//!
//! - [`encoding`]: one function per Avro wire type.
//! - [`AvroType`] / [`AvroDecode`]: how a Rust type maps to an Avro schema and codes its values; implemented here for
//!   the standard types and by the derive for yours.
//! - [`Codec`]: alternative mappings a field attribute selects (`bytes`, `fixed`, logical types), also for
//!   `Option`/`Vec` of them.
//! - [`KafkaRecord`](crate::KafkaRecord): a top-level record type: its schema JSON, parsed schema, canonical form and fingerprint.

pub mod encoding;
mod impls;
#[cfg(any(feature = "uuid", feature = "chrono", feature = "time", feature = "rust_decimal"))]
pub mod logical;

use std::fmt;

use crate::schema::SchemaWriter;
use crate::schema::shape::{SchemaShape, ShapeName};

/// A step of the path to a value inside a record: a field, an array index, a map key, a union branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A record field.
    Field(&'static str),
    /// An array item.
    Index(usize),
    /// A map entry.
    Key(String),
}

/// A path such as `/items/3/sku`, built only when an error occurs (innermost segment first while it propagates).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(Vec<PathSegment>);

impl FieldPath {
    /// The segments, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = &PathSegment> {
        self.0.iter().rev()
    }

    fn push(&mut self, seg: PathSegment) {
        self.0.push(seg);
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("/");
        }
        for seg in self.segments() {
            match seg {
                PathSegment::Field(n) => write!(f, "/{n}")?,
                PathSegment::Index(i) => write!(f, "/{i}")?,
                PathSegment::Key(k) => write!(f, "/{}", k.replace('~', "~0").replace('/', "~1"))?,
            }
        }
        Ok(())
    }
}

/// Why a value could not be encoded against its schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeErrorKind {
    /// An unsigned value does not fit the Avro type (e.g. a `u64` above `i64::MAX` as `long`).
    #[error("{value} does not fit Avro {target}")]
    OutOfRange {
        /// The value, as text.
        value: String,
        /// The Avro type.
        target: &'static str,
    },
    /// A decimal value does not fit the schema's precision or scale without losing digits.
    #[error("decimal {value} does not fit decimal({precision}, {scale}): {reason}")]
    Decimal {
        /// The value, as text.
        value: String,
        /// The schema's precision.
        precision: u32,
        /// The schema's scale.
        scale: u32,
        /// What does not fit.
        reason: &'static str,
    },
    /// A collection is longer than Avro can describe.
    #[error("length {0} exceeds what Avro can encode")]
    TooLong(usize),
    /// An array of items that encode to nothing is longer than a decoder accepts (see
    /// [`encoding::zero_size_item_limit`]).
    #[error("{len} items of zero encoded size exceed the limit of {limit} per array")]
    TooManyZeroSizeItems {
        /// The array's length.
        len: usize,
        /// The limit for this item type.
        limit: usize,
    },
}

/// A value that violates its schema, with the path to the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {kind}")]
pub struct EncodeError {
    /// Where in the record.
    pub path: FieldPath,
    /// What is wrong.
    pub kind: EncodeErrorKind,
}

impl EncodeError {
    /// An error at the current position (the caller adds the path while it propagates).
    pub fn new(kind: EncodeErrorKind) -> EncodeError {
        EncodeError { path: FieldPath::default(), kind }
    }

    /// Adds the enclosing path segment.
    #[cold]
    pub fn at(mut self, seg: PathSegment) -> EncodeError {
        self.path.push(seg);
        self
    }
}

/// A data-contract rule (`#[kafka(rule(...))]`, written into the schema as `confluent:rules`) that a value breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: rule `{rule}` broken ({expr}){}", message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
pub struct RuleViolation {
    /// The rule's name.
    pub rule: &'static str,
    /// The rule's doc, if it has one.
    pub doc: Option<&'static str>,
    /// The rule's CEL expression.
    pub expr: &'static str,
    /// The field the rule is on, or the record of a record rule, from the value checked.
    pub path: FieldPath,
    /// The message of a rule that yields a string, or why the rule could not be evaluated on this value.
    pub message: Option<String>,
}

impl RuleViolation {
    /// A violation of rule `rule` at the current position (the caller adds the path); an empty message is none.
    #[cold]
    pub fn new(rule: &'static str, doc: Option<&'static str>, expr: &'static str, message: String) -> RuleViolation {
        let message = if message.is_empty() { None } else { Some(message) };
        RuleViolation { rule, doc, expr, path: FieldPath::default(), message }
    }

    /// Adds the enclosing path segment.
    #[cold]
    pub fn at(mut self, seg: PathSegment) -> RuleViolation {
        self.path.push(seg);
        self
    }

    /// The first ten of `found`, `; `-separated, and how many more: what an error message lists.
    pub fn list(found: &[RuleViolation]) -> String {
        let mut text: Vec<String> = found.iter().take(10).map(ToString::to_string).collect();
        if found.len() > 10 {
            text.push(format!("and {} more", found.len() - 10));
        }
        text.join("; ")
    }
}

/// Prefixes the path of every violation in `out` from `start` on with `seg` (the enclosing field, index or key).
#[inline]
pub fn prefix_rule_violations(out: &mut [RuleViolation], start: usize, seg: impl Fn() -> PathSegment) {
    if out.len() > start {
        prefix_found(&mut out[start..], seg)
    }
}

#[cold]
fn prefix_found(found: &mut [RuleViolation], seg: impl Fn() -> PathSegment) {
    for v in found {
        v.path.push(seg());
    }
}

/// Why bytes could not be decoded as a value of the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("input ends {needed} byte(s) early")]
    UnexpectedEof {
        /// How many more bytes were needed (at least).
        needed: usize,
    },
    /// A varint is longer than 10 bytes or overflows 64 bits.
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    /// A boolean byte other than 0 or 1.
    #[error("invalid boolean byte {0}")]
    InvalidBool(u8),
    /// A negative length or block size.
    #[error("negative length {0}")]
    NegativeLength(i64),
    /// A length prefix larger than the input that remains.
    #[error("length {length} exceeds the {remaining} byte(s) that remain")]
    LengthExceedsInput {
        /// The declared length.
        length: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// An array or map block declares more items than the input can hold.
    #[error("block of {count} items cannot fit in the {remaining} byte(s) that remain")]
    BlockTooLarge {
        /// The declared count.
        count: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A number outside the Rust type's range.
    #[error("{value} is out of range for {target}")]
    OutOfRange {
        /// The decoded number.
        value: i64,
        /// The target type.
        target: &'static str,
    },
    /// A union branch index outside the union.
    #[error("union branch {index} of {branches}")]
    UnionIndex {
        /// The index read.
        index: i64,
        /// Branches in the union.
        branches: u32,
    },
    /// An enum symbol index outside the enum.
    #[error("enum symbol {index} of {symbols}")]
    EnumIndex {
        /// The index read.
        index: i64,
        /// Symbols in the enum.
        symbols: u32,
    },
    /// A logical type's value is invalid (a malformed UUID, an impossible date, a decimal too large).
    #[error("invalid {logical_type}: {reason}")]
    Logical {
        /// The logical type.
        logical_type: &'static str,
        /// Why.
        reason: String,
    },
    /// Records or unions nested deeper than [`encoding::max_depth`].
    #[error("nested deeper than the limit of {limit} records or unions")]
    TooDeep {
        /// The limit in force.
        limit: u32,
    },
    /// An array of items that encode to nothing declares more of them than [`encoding::zero_size_item_limit`].
    #[error("{count} items of zero encoded size exceed the limit of {limit} per array")]
    TooManyItems {
        /// Items declared so far.
        count: usize,
        /// The limit for this item type.
        limit: usize,
    },
    /// A value the reader's schema has no place for (projecting into another schema): an enum symbol or union
    /// branch it lacks, or null where it requires a value.
    #[error("{reason}")]
    NotInReaderSchema {
        /// What has no place.
        reason: String,
    },
    /// Bytes remain after the top-level value.
    #[error("{0} byte(s) remain after the value")]
    TrailingBytes(usize),
    /// An error inside a field, item or entry.
    #[error("at {path}: {source}")]
    At {
        /// Where.
        path: FieldPath,
        /// The error.
        source: Box<DecodeError>,
    },
}

impl DecodeError {
    /// Adds the enclosing path segment.
    #[cold]
    pub fn at(self, seg: PathSegment) -> DecodeError {
        match self {
            DecodeError::At { mut path, source } => {
                path.push(seg);
                DecodeError::At { path, source }
            }
            other => DecodeError::At { path: FieldPath(vec![seg]), source: Box::new(other) },
        }
    }

    /// The error without its path.
    pub fn root_cause(&self) -> &DecodeError {
        match self {
            DecodeError::At { source, .. } => source,
            other => other,
        }
    }
}

/// A Rust type with an Avro schema and an encoder. Implemented for the standard types (see the crate docs for the
/// mapping) and by `#[derive(KafkaRecord)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no Avro mapping",
    label = "this type cannot be encoded as Avro",
    note = "derive `KafkaRecord` for your own types; for `Vec<u8>` as bytes, `u64` as fixed or logical types, \
            select the mapping with a `#[kafka(...)]` field attribute (`rust_decimal::Decimal` needs \
            `#[kafka(decimal(precision = P, scale = S))]`)"
)]
pub trait AvroType {
    /// The fewest bytes a value of this type encodes to (bounds hostile block counts when decoding).
    const MIN_SIZE: usize;

    /// The heap bytes a value whose encoding is empty owns (a `Box` of a record whose fields are all skipped):
    /// with its size, what caps an array of such values by memory ([`encoding::zero_size_item_limit`]). A derived
    /// record sums its fields'.
    const ZERO_SIZE_HEAP: usize = 0;

    /// This type's schema as a constant, which the compile-time contract check of `typed_kafka::topic!` compares
    /// with the committed contract. The default, [`SchemaShape::Opaque`], leaves the type to the contract test.
    const SHAPE: &'static SchemaShape = &SchemaShape::Opaque;

    /// Writes this type's schema.
    fn write_schema(w: &mut SchemaWriter);

    /// A name fragment for instantiations of generic records (`Wrapper<Order>` is named `Wrapper_Order`).
    fn type_name(out: &mut String);

    /// Appends the Avro binary encoding of `self`.
    fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError>;

    /// Appends **every** schema violation in `self` to `out`, each with its path relative to `self`. [`encode`]
    /// stops at the first one; this is its error path, run only after an encode failed, to tell the caller all of
    /// them. The default encodes into a scratch buffer: right for values with no inner values.
    ///
    /// [`encode`]: AvroType::encode
    #[cold]
    fn violations(&self, out: &mut Vec<EncodeError>) {
        if let Err(e) = self.encode(&mut Vec::new()) {
            out.push(e);
        }
    }

    /// Appends every data-contract rule `self` breaks to `out`: its own type's rules, then those of the values
    /// inside it, each with its path relative to `self`. Appends nothing, and allocates nothing, when every rule
    /// holds. The default, for types without rules, does nothing, and a collection of such values inlines to
    /// nothing.
    #[inline]
    fn rule_violations(&self, out: &mut Vec<RuleViolation>) {
        let _ = out;
    }
}

/// Prefixes the path of every error in `errors` with `seg` (the enclosing field, index or key).
#[cold]
pub fn prefix_violations(errors: &mut [EncodeError], seg: impl Fn() -> PathSegment) {
    for e in errors {
        e.path.push(seg());
    }
}

/// Every violation in the items of a collection, each under its index; when the items have none, the
/// collection's own (its length), found by encoding it.
#[cold]
pub(crate) fn item_violations<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    item: impl Fn(&T, &mut Vec<EncodeError>),
    whole: impl FnOnce(&mut Vec<u8>) -> Result<(), EncodeError>,
    out: &mut Vec<EncodeError>,
) {
    let before = out.len();
    for (i, v) in items.enumerate() {
        let start = out.len();
        item(v, out);
        prefix_violations(&mut out[start..], || PathSegment::Index(i));
    }
    if out.len() == before
        && let Err(e) = whole(&mut Vec::new())
    {
        out.push(e);
    }
}

/// A Rust type that can be read from Avro binary written with its own schema; `'de` lets `&str` and `Cow<str>`
/// borrow from the input.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be decoded from Avro",
    label = "no Avro decoder for this type",
    note = "derive `KafkaRecord` for your own types"
)]
pub trait AvroDecode<'de>: AvroType + Sized {
    /// Reads one value, advancing `input` past it.
    fn decode(input: &mut &'de [u8]) -> Result<Self, DecodeError>;

    /// Reads one value into `self`, reusing what `self` owns where it can (a `String`'s and a `Vec`'s capacity,
    /// and the records, strings and vectors inside them), as prost's `merge` does: for a reader that decodes
    /// record after record into one value. The value is the one [`decode`](Self::decode) would return, with
    /// every limit in force; after an error, `self` is a valid value but unspecified.
    #[inline]
    fn decode_into(&mut self, input: &mut &'de [u8]) -> Result<(), DecodeError> {
        *self = Self::decode(input)?;
        Ok(())
    }
}

/// A mapping of `T` other than its natural one, chosen by a field attribute: `C` in `<C as Codec<T>>` is a marker
/// type such as [`Bytes`] or a logical type.
pub trait Codec<T> {
    /// As [`AvroType::MIN_SIZE`].
    const MIN_SIZE: usize;
    /// As [`AvroType::SHAPE`].
    const SHAPE: &'static SchemaShape = &SchemaShape::Opaque;
    /// Writes the schema of `T` under this mapping.
    fn write_schema(w: &mut SchemaWriter);
    /// As [`AvroType::type_name`].
    fn type_name(out: &mut String);
    /// Encodes `v`.
    fn encode(v: &T, buf: &mut Vec<u8>) -> Result<(), EncodeError>;
    /// Decodes a value.
    fn decode(input: &mut &[u8]) -> Result<T, DecodeError>;
    /// As [`AvroType::violations`].
    #[cold]
    fn violations(v: &T, out: &mut Vec<EncodeError>) {
        if let Err(e) = Self::encode(v, &mut Vec::new()) {
            out.push(e);
        }
    }
}

/// `Vec<u8>` (or `Box<[u8]>`) as Avro `bytes` instead of an array of ints: `#[kafka(bytes)]`.
pub struct Bytes;

impl Codec<Vec<u8>> for Bytes {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Primitive("bytes");
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("\"bytes\"")
    }
    fn type_name(out: &mut String) {
        out.push_str("bytes")
    }
    #[inline]
    fn encode(v: &Vec<u8>, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encoding::put_bytes(buf, v);
        Ok(())
    }
    #[inline]
    fn decode(input: &mut &[u8]) -> Result<Vec<u8>, DecodeError> {
        encoding::get_bytes(input).map(<[u8]>::to_vec)
    }
}

/// `u64` as an 8-byte big-endian `fixed` named `u64` instead of a range-checked `long`: `#[kafka(fixed)]`.
pub struct FixedU64;

impl Codec<u64> for FixedU64 {
    const MIN_SIZE: usize = 8;
    const SHAPE: &'static SchemaShape = &SchemaShape::Fixed(&ShapeName::plain("u64", None, &[]), 8);
    fn write_schema(w: &mut SchemaWriter) {
        w.named("u64", None, "u64 as fixed(8)", |w| w.raw(r#"{"type":"fixed","name":"u64","size":8}"#));
    }
    fn type_name(out: &mut String) {
        out.push_str("u64")
    }
    #[inline]
    fn encode(v: &u64, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encoding::put_fixed(buf, &v.to_be_bytes());
        Ok(())
    }
    #[inline]
    fn decode(input: &mut &[u8]) -> Result<u64, DecodeError> {
        encoding::get_array::<8>(input).map(u64::from_be_bytes)
    }
}

/// `Option<T>` under the mapping `C`: `["null", C's schema]`.
pub struct OptionOf<C>(std::marker::PhantomData<C>);

impl<T, C: Codec<T>> Codec<Option<T>> for OptionOf<C> {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Union(&[&SchemaShape::Primitive("null"), C::SHAPE]);
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("[\"null\",");
        C::write_schema(w);
        w.raw("]");
    }
    fn type_name(out: &mut String) {
        out.push_str("optional_");
        C::type_name(out)
    }
    #[inline]
    fn encode(v: &Option<T>, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        encoding::put_option(buf, v.as_ref(), C::encode)
    }
    #[inline]
    fn decode(input: &mut &[u8]) -> Result<Option<T>, DecodeError> {
        encoding::get_option(input, C::decode)
    }
    fn violations(v: &Option<T>, out: &mut Vec<EncodeError>) {
        if let Some(v) = v {
            C::violations(v, out)
        }
    }
}

/// `Vec<T>` under the mapping `C`: an array of C's schema.
pub struct VecOf<C>(std::marker::PhantomData<C>);

impl<T, C: Codec<T>> Codec<Vec<T>> for VecOf<C> {
    const MIN_SIZE: usize = 1;
    const SHAPE: &'static SchemaShape = &SchemaShape::Array(C::SHAPE);
    fn write_schema(w: &mut SchemaWriter) {
        w.raw("{\"type\":\"array\",\"items\":");
        C::write_schema(w);
        w.raw("}");
    }
    fn type_name(out: &mut String) {
        out.push_str("array_");
        C::type_name(out)
    }
    fn encode(v: &Vec<T>, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        let limit = encoding::zero_size_item_limit_of(std::mem::size_of::<T>());
        encoding::put_items(buf, v.len(), C::MIN_SIZE, limit, v.iter(), C::encode)
    }
    fn decode(input: &mut &[u8]) -> Result<Vec<T>, DecodeError> {
        let limit = encoding::zero_size_item_limit_of(std::mem::size_of::<T>());
        encoding::get_items(input, C::MIN_SIZE, limit, C::decode)
    }
    fn violations(v: &Vec<T>, out: &mut Vec<EncodeError>) {
        item_violations(v.iter(), C::violations, |buf| Self::encode(v, buf), out)
    }
}

/// Decodes a top-level value of `T` from exactly `bytes` (trailing bytes are an error).
pub fn decode_exact<'de, T: AvroDecode<'de>>(bytes: &'de [u8]) -> Result<T, DecodeError> {
    let mut input = bytes;
    let v = T::decode(&mut input)?;
    if input.is_empty() { Ok(v) } else { Err(DecodeError::TrailingBytes(input.len())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error message lists ten violations and counts the rest.
    #[test]
    fn a_list_of_violations_shows_ten_and_counts_the_rest() {
        let found: Vec<RuleViolation> = (0..12)
            .map(|i| RuleViolation::new("positive", None, "this > 0", String::new()).at(PathSegment::Index(i)))
            .collect();
        let text = RuleViolation::list(&found);
        assert_eq!(text.matches("rule `positive` broken").count(), 10);
        assert!(text.starts_with("at /0: rule `positive` broken (this > 0); at /1:"), "{text}");
        assert!(text.ends_with("; and 2 more"), "{text}");
        assert_eq!(RuleViolation::list(&found[..1]), "at /0: rule `positive` broken (this > 0)");
    }
}
