//! The CEL of data-contract rules, as typed-kafka reads it: a parser with the span of every node, and a type
//! checker against the type the rule is written on. The derive checks each rule with it at compile time and
//! generates Rust from the checked tree; rules that a registered schema carries go through the same parser and
//! checker. No I/O.
//!
//! The supported CEL: literals, field access, `has()`, comparisons, arithmetic, `&&`, `||`, `!`, `?:`, `size()`,
//! `in` on lists and maps, `startsWith`, `endsWith`, `contains`, `matches` (RE2 syntax), timestamps and durations
//! (`timestamp("…")`, `duration("…")`, `now`, their arithmetic and accessors), `int()`/`uint()`/`double()`/
//! `string()`, and `all`, `exists`, `exists_one` over lists and maps. Anything else is an error at the construct.
//!
//! ```
//! use std::sync::Arc;
//! use typed_kafka_rules::{check_rule, parse, Field, Record, Type, Yields};
//!
//! let order = Type::Record(Arc::new(Record {
//!     name: "Order".into(),
//!     fields: vec![
//!         Field { name: "total".into(), ty: Type::Int },
//!         Field { name: "sku".into(), ty: Type::String },
//!     ],
//! }));
//! let rule = parse("this.total > 0 && this.sku.matches('^[A-Z]{3}-[0-9]+$')").unwrap();
//! assert_eq!(check_rule(&rule, &order).map(|c| c.yields), Ok(Yields::Bool));
//!
//! let wrong = parse("this.totl > 0").unwrap();
//! let errors = check_rule(&wrong, &order).unwrap_err();
//! assert_eq!(errors[0].to_string(), "no field `totl` in Order (its fields: total, sku)");
//! ```

pub mod ast;
mod check;
#[cfg(feature = "runtime")]
pub mod interp;
mod lex;
mod parse;
mod pattern;
#[cfg(feature = "runtime")]
pub mod rt;
mod time;
mod types;

pub use check::{Checked, Yields, check_rule, type_of};
pub use parse::{MAX_DEPTH, MAX_NESTING, parse};
pub use pattern::re2_pattern;
pub use time::{parse_duration, parse_timestamp, parse_zone};
pub use types::{Field, Record, Type};

/// A byte range of a rule's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start, end: end.max(start) }
    }

    /// From this span's start to `other`'s end.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// What is wrong with a rule, and where in its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// Where the rule's text is wrong.
    pub span: Span,
    /// What is wrong.
    pub message: String,
}

impl RuleError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> RuleError {
        RuleError { span, message: message.into() }
    }
}
