//! typed-kafka: type-safe, schema-registry-aware Avro producing to Apache Kafka.
//!
//! This is the crate to depend on; it re-exports the others:
//! - [`avro`] (`typed-kafka-avro`): the schema model, the codec runtime and the Confluent wire framing, no I/O;
//! - `#[derive(KafkaRecord)]` (`typed-kafka-derive`);
#![cfg_attr(
    feature = "registry",
    doc = "- [`registry`] (`typed-kafka-registry`, cargo feature `registry`, on by default): the schema registry \
           client and framed (de)serialization."
)]
#![cfg_attr(
    not(feature = "registry"),
    doc = "- `registry` (`typed-kafka-registry`, cargo feature `registry`, on by default, off in this build): the \
           schema registry client and framed (de)serialization."
)]
//!
//! With `default-features = false` only the derive and the codec are compiled: no tokio, no HTTP client.
//!
//! # Deriving records
//!
//! `#[derive(KafkaRecord)]` generates a type's Avro schema and a direct binary codec:
//!
//! ```
//! use typed_kafka::KafkaRecord;
//!
//! /// A line of an order.
//! #[derive(KafkaRecord, Debug, PartialEq)]
//! #[kafka(namespace = "shop")]
//! struct LineItem {
//!     sku: String,
//!     quantity: i32,
//!     /// Unit price in cents.
//!     #[kafka(rename = "unitPriceCents")]
//!     unit_price_cents: i64,
//!     note: Option<String>,
//! }
//!
//! let item = LineItem { sku: "A-1".into(), quantity: 2, unit_price_cents: 499, note: None };
//! let mut buf = Vec::new();
//! item.encode_body(&mut buf)?;
//! assert_eq!(LineItem::decode_body(&buf)?, item);
//! let schema = LineItem::schema()?;
//! assert!(schema.json().contains(r#""doc":"Unit price in cents.""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Mapping
//! `bool`→boolean; `i8`/`i16`/`i32`/`u8`/`u16`→int; `i64`/`u32`→long; `u64`→long (values above `i64::MAX` are an
//! encode error; `#[kafka(fixed)]` maps it to an 8-byte fixed); `f32`→float; `f64`→double;
//! `String`/`&str`/`Box<str>`/`Arc<str>`/`Cow<str>`→string; `Vec<u8>`→bytes with `#[kafka(bytes)]`
//! (or an array of ints with `#[kafka(int_array)]`: one of the two is required, as peers read them differently);
//! `[u8; N]`→fixed named `fixed_N`; `Option<T>`→`["null", T]` with default null; `Vec<T>`/`VecDeque<T>`→array;
//! `HashMap<String, T>`/`BTreeMap<String, T>`→map; `Box`/`Arc`/`Rc<T>`→T; structs→records (a named type is defined
//! once per schema and referenced by full name afterwards; recursion through `Box`, `Option<Box<T>>`, `Vec<T>`);
//! one-field tuple structs→their field's type; unit-only enums→enums; data-carrying enums→unions (each variant a
//! branch: named or several unnamed fields→a record named after the variant, one unnamed field→that field's type,
//! unit→an empty record named after the variant). Generic records are named after their instantiation
//! (`Wrapper<Order>` → `Wrapper_Order`).
//!
//! Logical types (cargo features) are recognised by unambiguous paths, so a type of your own named `Decimal` or
//! `DateTime` is an ordinary derived type: `uuid::Uuid`→uuid; `chrono::DateTime<Utc>`/`time::OffsetDateTime`→
//! timestamp-millis; `NaiveDateTime`/`PrimitiveDateTime`→local-timestamp-millis; `NaiveDate`/`time::Date`→date;
//! `NaiveTime`/`time::Time`→time-millis; `#[kafka(logical = "timestamp-micros")]` (and the other names) selects
//! another; `rust_decimal::Decimal`→bytes/decimal with `#[kafka(decimal(precision = P, scale = S))]`.
//!
//! ## Attributes
//! - container: `namespace = "..."`, `rename = "..."`, `rename_all = "camelCase"` (also lowercase, UPPERCASE,
//!   PascalCase, snake_case, SCREAMING_SNAKE_CASE), `doc = "..."`, `aliases = ["..."]`, `crate = "path"` (where the
//!   runtime is when `typed_kafka` is renamed, or `typed_kafka_avro` for codec-only users), `bound = "T: ..."` or
//!   `bound(encode = "...", decode = "...")` (where-predicates replacing the inferred ones; by default each type
//!   parameter that an encoded field uses gets `AvroType` / `AvroDecode<'de>`), `rule(name = "...", expr = "<CEL>",
//!   doc = "...")` (a data-contract rule on the record; see the README's *Data contracts*);
//! - field: `rename`, `default = <literal>` / `default = null` / `default_json = "<JSON>"` (checked against the
//!   field's schema at compile time where the type shows it), `skip` (the type must be `Default`), `doc`, `aliases`,
//!   `bytes`, `int_array`, `fixed`, `logical = "..."`, `decimal(precision = P, scale = S)`; rules on the field's
//!   value: `rule(name = "...", expr = "<CEL>", doc = "...")`, `min = N`, `max = N`, `len(min = N, max = M)`,
//!   `pattern = "<RE2>"`, `one_of = [..]`, `non_empty`;
//! - variant: `rename`, `aliases`, `default` (the enum's default symbol, for evolution).
//!
//! Doc comments become `doc` unless `doc = "..."` overrides them.
#![warn(missing_docs)]

// Inlined, so that these docs show (and link) the modules whether or not the crates' own docs are built.
#[doc(inline)]
pub use typed_kafka_avro as avro;
pub use typed_kafka_avro::{
    AvroDecode, AvroType, DecodeError, EncodeError, EncodeErrorKind, FieldPath, FramingError, KafkaRecord, PathSegment,
    RuleViolation, SchemaError, SchemaId, SchemaInfo,
};
#[doc(hidden)]
pub use typed_kafka_derive::__topic;
pub use typed_kafka_derive::KafkaRecord;

#[cfg(feature = "kafka")]
pub mod admin;
pub mod config;
#[cfg(feature = "kafka")]
pub mod consumer;
#[cfg(feature = "registry")]
pub mod contract;
pub mod key;
pub mod partition;
#[cfg(feature = "registry")]
pub mod producer;
#[cfg(feature = "registry")]
mod record;
#[cfg(feature = "registry")]
#[doc(hidden)]
pub mod subject;
#[cfg(feature = "registry")]
pub mod topic;

/// A producer without a broker or a registry, for unit tests: [`MockProducer`](mock::MockProducer).
#[cfg(feature = "registry")]
pub mod mock {
    pub use crate::producer::mock::{MockOutcome, MockProducer, MockTransaction, MockTransactionState, Sent};
}

/// OpenTelemetry traces and metrics (feature `otel`): [`Telemetry`](otel::Telemetry) for
/// [`ProducerBuilder::telemetry`] and the typed consumer's builder, and the trace context a record carries.
#[cfg(feature = "otel")]
pub mod otel {
    pub use crate::producer::otel::{Telemetry, trace_context};
    /// The OpenTelemetry API this crate is built with.
    pub use opentelemetry;
}

#[cfg(feature = "registry")]
pub use producer::{Delivery, ProduceError, Producer, ProducerBuilder, SendError, TypedProducer};
#[cfg(feature = "registry")]
pub use record::{Headers, Record, RecordMetadata, Timestamp};

#[cfg(feature = "registry")]
#[doc(inline)]
pub use typed_kafka_registry as registry;
#[cfg(feature = "registry")]
pub use typed_kafka_registry::{
    AvroDeserializer, AvroSerializer, BoundSerializer, ClientBuilder, ConfigError, DeserializeError, RecordPart,
    RegisteredRulesPolicy, RegistryError, SchemaMode, SchemaRegistryClient, SerializeError, SerializerConfig,
    SubjectNameStrategy,
};

/// What `#[derive(KafkaRecord)]` expands to refers to these; not a stable API.
#[doc(hidden)]
pub use typed_kafka_avro::__private;

// The README's Rust examples are compiled as doctests.
#[cfg(all(doctest, feature = "registry"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
