//! Typed topics: the one place that binds a topic name to its key and value types.
//!
//! A topic is declared once with [`topic!`](crate::topic!). The declaration is a unit type that names the topic, so
//! sending a value of the wrong type does not compile, and the compiler's message names the topic:
//!
//! ```
//! use typed_kafka::KafkaRecord;
//!
//! #[derive(KafkaRecord)]
//! struct Order { id: String, total_cents: i64 }
//! #[derive(KafkaRecord)]
//! struct Created { id: String }
//! #[derive(KafkaRecord)]
//! struct Deleted { id: String }
//!
//! typed_kafka::topic! {
//!     /// Orders placed in the shop, keyed by customer ID (as Java's `StringSerializer` writes it).
//!     pub ORDERS: "orders", key: String, value: Order;
//! }
//! typed_kafka::topic! {
//!     /// Customer lifecycle events, several record types on one topic (TopicRecordName subjects).
//!     pub CUSTOMER_EVENTS: "customer-events", key: String, values: [Created, Deleted];
//! }
//! use typed_kafka::topic::Topic;
//! assert_eq!(ORDERS::NAME, "orders");
//! assert_eq!(CUSTOMER_EVENTS::VALUE_TYPES, 2);
//! ```
//!
//! A declaration also checks, at compile time, that each Avro key and value type still derives its subject's latest
//! contract committed under `schemas/` (see [`contract`](crate::contract) and the README's "Schema contracts").
//!
//! Keys: `key: avro T` (a derived record, registered under `<topic>-key` and framed like Confluent's
//! `KafkaAvroSerializer` writes it), `key: T` for a [`PlainKey`] (Kafka's standard serializers' formats: `String`,
//! `i32`, `i64`, bytes, …), or no `key` clause for a topic without keys.

use std::future::Future;
use std::pin::Pin;

use typed_kafka_avro::{AvroDecode, KafkaRecord, SchemaError, SchemaId, SchemaInfo};
use typed_kafka_registry::{AvroDeserializer, DeserializeError, SchemaRegistryClient, SerializeError};

use crate::key::{FromKeyBytes, KeyBytesError, PlainKey};
use crate::producer::encode::{Encoder, ValueLane};
use crate::producer::error::BindError;

/// The key type of topic `T`.
pub type KeyOf<T> = <<T as Topic>::Key as KeyFormat>::Key;

/// A future of binding (generated code returns it; not for direct use).
#[doc(hidden)]
pub type BindFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BindError>> + Send + 'a>>;

/// A declared topic: its name, key format and value types. Implemented by [`topic!`](crate::topic!); not by hand.
pub trait Topic: Send + Sync + 'static {
    /// The topic's name in Kafka.
    const NAME: &'static str;
    /// How many record types the topic's values may be (more than one: TopicRecordName subjects).
    const VALUE_TYPES: usize;
    /// The key's format.
    type Key: KeyFormat;
    /// What each value type needs per record once bound: one [`ValueLane`] per value type. Generated.
    #[doc(hidden)]
    type Lanes: Send + Sync + 'static;

    /// The subject, type name and schema of the topic's Avro key (if any) and of each value type. Generated.
    #[doc(hidden)]
    fn contract_subjects() -> crate::subject::Subjects
    where
        Self: Sized;

    /// Binds every value type of the topic (registering or looking up each subject). Generated.
    #[doc(hidden)]
    fn bind_lanes<'a, B: Bind<Topic = Self> + 'a>(binder: &'a mut B) -> BindFuture<'a, Self::Lanes>
    where
        Self: Sized;
}

/// What binding a topic asks of the producer (implemented by the producer's binder; not for direct use).
#[doc(hidden)]
pub trait Bind: Send {
    /// The topic being bound.
    type Topic: Topic;

    /// The encoder and partitioner of the value type `V`, its subject resolved.
    fn value_lane<V: ValueOf<Self::Topic>>(
        &mut self,
    ) -> impl Future<Output = Result<ValueLane<KeyOf<Self::Topic>, V>, BindError>> + Send;

    /// The encoder of the Avro key type `K`, its subject resolved and checked.
    fn avro_key<K: KafkaRecord + Send + Sync + 'static>(
        &mut self,
    ) -> impl Future<Output = Result<Encoder<K>, BindError>> + Send;
}

/// A record type a topic's values may be: implemented by [`topic!`](crate::topic!) for each listed value type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value type of topic `{T}`",
    label = "topic `{T}` does not carry `{Self}`",
    note = "the `topic!` declaration of `{T}` lists the record types its values may be"
)]
pub trait ValueOf<T: Topic>: KafkaRecord + Sized + Send + Sync + 'static {
    /// This type's place in the declaration's list of value types.
    const INDEX: usize;

    /// This type's lane among the topic's bound lanes. Generated.
    #[doc(hidden)]
    fn lane(lanes: &T::Lanes) -> &ValueLane<KeyOf<T>, Self>;
}

/// How a topic's keys are written. Implemented for [`AvroKey`], [`Plain`] and [`NoKey`].
pub trait KeyFormat: Send + Sync + 'static {
    /// The key's Rust type.
    type Key: Send + Sync + 'static;
    /// Which kind of key this is.
    const KIND: KeyKind;
    /// What writes a key once the topic is bound.
    #[doc(hidden)]
    type Encoder: Send + Sync + 'static;
    /// What reads a key back.
    #[doc(hidden)]
    type Reader: Send + Sync + 'static;

    /// Makes the key's encoder while a topic is bound.
    #[doc(hidden)]
    fn bind<B: Bind>(binder: &mut B) -> impl Future<Output = Result<Self::Encoder, BindError>> + Send;

    /// Appends the key's bytes to `buf`; returns the schema ID an Avro key is framed with.
    #[doc(hidden)]
    fn encode(
        encoder: &Self::Encoder,
        topic: &str,
        key: &Self::Key,
        buf: &mut Vec<u8>,
    ) -> Result<Option<SchemaId>, SerializeError>;

    /// The schema ID an Avro key is framed with now.
    #[doc(hidden)]
    fn schema_id(_encoder: &Self::Encoder) -> Option<SchemaId> {
        None
    }

    /// Appends every data-contract rule `key` breaks (an Avro key's rules; other keys have none).
    #[doc(hidden)]
    #[inline]
    fn rule_violations(_key: &Self::Key, _out: &mut Vec<typed_kafka_avro::RuleViolation>) {}

    /// The key as text, when it is a string key (for tracing).
    #[doc(hidden)]
    #[inline]
    fn key_text(_key: &Self::Key) -> Option<&str> {
        None
    }

    /// Appends the rules that the registered schema of an Avro key carries and the key type does not, and that
    /// the framed key `framed` breaks.
    #[doc(hidden)]
    #[inline]
    fn registered_rule_violations(
        _encoder: &Self::Encoder,
        _framed: &[u8],
        _out: &mut Vec<typed_kafka_avro::RuleViolation>,
    ) {
    }

    /// The key as a dead-letter record carries it: an Avro key in Avro's JSON encoding, any other key in the
    /// bytes its topic carries.
    #[doc(hidden)]
    fn dead_letter_key(encoder: &Self::Encoder, topic: &str, key: &Self::Key) -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        Self::encode(encoder, topic, key, &mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    }

    /// An Avro key's type name and schema (`None` for other kinds).
    #[doc(hidden)]
    fn avro_key_schema() -> Option<(&'static str, Result<&'static SchemaInfo, SchemaError>)> {
        None
    }

    /// The key's reader.
    #[doc(hidden)]
    fn reader(client: &SchemaRegistryClient) -> Result<Self::Reader, DeserializeError>;

    /// Reads a key back from its bytes (and, for an Avro key framed by header, the `__key_schema_id` header's
    /// value).
    #[doc(hidden)]
    fn read<'a>(
        reader: &'a Self::Reader,
        topic: &'a str,
        schema_id_header: Option<&'a [u8]>,
        bytes: &'a [u8],
    ) -> KeyRead<'a, Self::Key>;
}

/// A key being read (generated code's type; not for direct use).
#[doc(hidden)]
pub type KeyRead<'a, K> = Pin<Box<dyn Future<Output = Result<K, KeyReadError>> + Send + 'a>>;

/// Why a key could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyReadError {
    /// Not the bytes of a key of this plain type.
    #[error(transparent)]
    Plain(#[from] KeyBytesError),
    /// Not an Avro key of this type, or its writer schema could not be resolved.
    #[error(transparent)]
    Avro(#[from] DeserializeError),
    /// The topic is declared without keys, and the record has one.
    #[error("the topic is declared without keys")]
    Unexpected,
}

/// The kinds of keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An Avro record in the Confluent framing, registered under `<topic>-key`.
    Avro,
    /// A Kafka standard serializer's format.
    Plain,
    /// The topic has no keys.
    None,
}

/// Keys that are Avro records (`key: avro T` in [`topic!`](crate::topic!)).
pub struct AvroKey<K>(std::marker::PhantomData<fn() -> K>);

impl<K: KafkaRecord + for<'de> AvroDecode<'de> + Send + Sync + 'static> KeyFormat for AvroKey<K> {
    type Key = K;
    const KIND: KeyKind = KeyKind::Avro;
    type Encoder = Encoder<K>;
    type Reader = AvroDeserializer<K>;

    fn bind<B: Bind>(binder: &mut B) -> impl Future<Output = Result<Encoder<K>, BindError>> + Send {
        binder.avro_key::<K>()
    }

    #[inline]
    fn encode(
        encoder: &Encoder<K>,
        topic: &str,
        key: &K,
        buf: &mut Vec<u8>,
    ) -> Result<Option<SchemaId>, SerializeError> {
        encoder.encode(topic, key, buf).map(Some)
    }

    #[inline]
    fn rule_violations(key: &K, out: &mut Vec<typed_kafka_avro::RuleViolation>) {
        key.rule_violations(out)
    }

    #[inline]
    fn registered_rule_violations(encoder: &Encoder<K>, framed: &[u8], out: &mut Vec<typed_kafka_avro::RuleViolation>) {
        encoder.registered_rule_violations(framed, out)
    }

    fn dead_letter_key(_encoder: &Encoder<K>, _topic: &str, key: &K) -> Result<Vec<u8>, String> {
        crate::producer::dead_letter::avro_json(key)
    }

    fn schema_id(encoder: &Encoder<K>) -> Option<SchemaId> {
        Some(encoder.schema_id())
    }

    fn avro_key_schema() -> Option<(&'static str, Result<&'static SchemaInfo, SchemaError>)> {
        Some((std::any::type_name::<K>(), K::schema()))
    }

    fn reader(client: &SchemaRegistryClient) -> Result<AvroDeserializer<K>, DeserializeError> {
        AvroDeserializer::new(client.clone())
    }

    fn read<'a>(
        reader: &'a AvroDeserializer<K>,
        topic: &'a str,
        schema_id_header: Option<&'a [u8]>,
        bytes: &'a [u8],
    ) -> KeyRead<'a, K> {
        Box::pin(async move { Ok(reader.deserialize_headed(topic, schema_id_header, bytes).await?) })
    }
}

/// Keys in a Kafka standard serializer's format (`key: T` in [`topic!`](crate::topic!)).
pub struct Plain<K>(std::marker::PhantomData<fn() -> K>);

impl<K: PlainKey + FromKeyBytes + Send + Sync + 'static> KeyFormat for Plain<K> {
    type Key = K;
    const KIND: KeyKind = KeyKind::Plain;
    type Encoder = ();
    type Reader = ();

    async fn bind<B: Bind>(_binder: &mut B) -> Result<(), BindError> {
        Ok(())
    }

    #[inline]
    fn encode(_: &(), _topic: &str, key: &K, buf: &mut Vec<u8>) -> Result<Option<SchemaId>, SerializeError> {
        key.write_key(buf);
        Ok(None)
    }

    #[inline]
    fn key_text(key: &K) -> Option<&str> {
        key.as_text()
    }

    fn reader(_client: &SchemaRegistryClient) -> Result<(), DeserializeError> {
        Ok(())
    }

    fn read<'a>(_: &'a (), _topic: &'a str, _header: Option<&'a [u8]>, bytes: &'a [u8]) -> KeyRead<'a, K> {
        let key = K::from_key_bytes(bytes).map_err(KeyReadError::from);
        Box::pin(std::future::ready(key))
    }
}

/// A topic without keys.
pub struct NoKey;

/// The key type of a topic without keys: it has no values, so such a topic's records never carry a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyless {}

impl KeyFormat for NoKey {
    type Key = Keyless;
    const KIND: KeyKind = KeyKind::None;
    type Encoder = ();
    type Reader = ();

    async fn bind<B: Bind>(_binder: &mut B) -> Result<(), BindError> {
        Ok(())
    }

    fn encode(_: &(), _topic: &str, key: &Keyless, _buf: &mut Vec<u8>) -> Result<Option<SchemaId>, SerializeError> {
        match *key {}
    }

    fn reader(_client: &SchemaRegistryClient) -> Result<(), DeserializeError> {
        Ok(())
    }

    fn read<'a>(_: &'a (), _topic: &'a str, _header: Option<&'a [u8]>, _bytes: &'a [u8]) -> KeyRead<'a, Keyless> {
        Box::pin(std::future::ready(Err(KeyReadError::Unexpected)))
    }
}

/// Declares a typed topic: a unit type named `NAME` that is also its only value, bound to the topic's name, key
/// format and value types. See the [module docs](mod@crate::topic) for the forms:
///
/// ```text
/// topic! { [pub] NAME: "topic", [key: avro KeyType | key: PlainKeyType,] value: Type | values: [Type, ...]; }
/// ```
#[macro_export]
macro_rules! topic {
    ($($declaration:tt)*) => {
        $crate::__topic! { krate: $crate, $($declaration)* }
    };
}
