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

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use typed_kafka_avro::{AvroDecode, KafkaRecord, SchemaError, SchemaId, SchemaInfo};
use typed_kafka_registry::{AvroDeserializer, DeserializeError, SchemaRegistryClient, SerializeError};

use crate::key::{FromKeyBytes, KeyBytesError, PlainKey};
use crate::producer::typed::Encoder;
use crate::producer::{BindError, Binder};

/// An Avro key being read (`None`: the key format has no Avro reader).
#[doc(hidden)]
pub type KeyRead<'a, K> = Pin<Box<dyn Future<Output = Option<Result<K, DeserializeError>>> + Send + 'a>>;

/// A declared topic: its name, key format and value types. Implemented by [`topic!`](crate::topic!); not by hand.
pub trait Topic: Send + Sync + 'static {
    /// The topic's name in Kafka.
    const NAME: &'static str;
    /// How many record types the topic's values may be (more than one: TopicRecordName subjects).
    const VALUE_TYPES: usize;
    /// The key's format.
    type Key: KeyFormat;

    /// The subject, type name and schema of the topic's Avro key (if any) and of each value type. Generated.
    #[doc(hidden)]
    fn contract_subjects() -> crate::contract::Subjects
    where
        Self: Sized;

    /// Binds every value type of the topic (registering or looking up each subject). Generated.
    #[doc(hidden)]
    fn bind_values<'a>(
        binder: &'a crate::producer::Binder<Self>,
    ) -> Pin<Box<dyn Future<Output = Result<(), crate::producer::BindError>> + Send + 'a>>
    where
        Self: Sized;
}

/// A record type a topic's values may be: implemented by [`topic!`](crate::topic!) for each listed value type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value type of topic `{T}`",
    label = "topic `{T}` does not carry `{Self}`",
    note = "the `topic!` declaration of `{T}` lists the record types its values may be"
)]
pub trait ValueOf<T: Topic>: KafkaRecord + Send + Sync + 'static {
    /// This type's place in the declaration's list of value types.
    const INDEX: usize;
}

/// How a topic's keys are written. Implemented for [`AvroKey`], [`Plain`] and [`NoKey`].
pub trait KeyFormat: Send + Sync + 'static {
    /// The key's Rust type.
    type Key: Send + Sync + 'static;
    /// Which kind of key this is.
    const KIND: KeyKind;
    /// Writes a plain key's bytes (only called for [`KeyKind::Plain`]).
    #[doc(hidden)]
    fn write_plain(_key: &Self::Key, _out: &mut Vec<u8>) {}

    /// An Avro key's type name and schema (`None` for other kinds).
    #[doc(hidden)]
    fn avro_key_schema() -> Option<(&'static str, Result<&'static SchemaInfo, SchemaError>)> {
        None
    }

    /// Reads a plain key back (`None` for other kinds).
    #[doc(hidden)]
    fn read_plain(_bytes: &[u8]) -> Option<Result<Self::Key, KeyBytesError>> {
        None
    }

    /// A reader of Avro keys through the registry (`None` for other kinds).
    #[doc(hidden)]
    fn avro_reader(_client: &SchemaRegistryClient) -> Option<Result<Box<dyn Any + Send + Sync>, DeserializeError>> {
        None
    }

    /// Reads an Avro key with its reader.
    #[doc(hidden)]
    fn read_avro<'a>(
        _reader: &'a (dyn Any + Send + Sync),
        _topic: &'a str,
        _bytes: &'a [u8],
    ) -> KeyRead<'a, Self::Key> {
        Box::pin(async { None })
    }

    /// Resolves an Avro key's subject while a topic is bound (only for [`KeyKind::Avro`]).
    #[doc(hidden)]
    fn bind_avro<T: Topic>(_binder: &Binder<T>) -> impl Future<Output = Result<(), BindError>> + Send {
        async { Ok(()) }
    }

    /// The schema ID of a bound Avro key encoder.
    #[doc(hidden)]
    fn avro_schema_id(_encoder: &(dyn Any + Send + Sync)) -> Option<SchemaId> {
        None
    }

    /// Encodes an Avro key with its bound encoder, returning the schema ID.
    #[doc(hidden)]
    fn encode_avro(
        _encoder: &(dyn Any + Send + Sync),
        _topic: &str,
        _key: &Self::Key,
        _buf: &mut Vec<u8>,
    ) -> Result<Option<SchemaId>, SerializeError> {
        Ok(None)
    }
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

    fn avro_key_schema() -> Option<(&'static str, Result<&'static SchemaInfo, SchemaError>)> {
        Some((std::any::type_name::<K>(), K::schema()))
    }

    fn avro_reader(client: &SchemaRegistryClient) -> Option<Result<Box<dyn Any + Send + Sync>, DeserializeError>> {
        Some(AvroDeserializer::<K>::new(client.clone()).map(|d| Box::new(d) as Box<dyn Any + Send + Sync>))
    }

    fn read_avro<'a>(reader: &'a (dyn Any + Send + Sync), topic: &'a str, bytes: &'a [u8]) -> KeyRead<'a, K> {
        Box::pin(async move {
            let reader = reader.downcast_ref::<AvroDeserializer<K>>()?;
            Some(reader.deserialize(topic, bytes).await)
        })
    }

    fn bind_avro<T: Topic>(binder: &Binder<T>) -> impl Future<Output = Result<(), BindError>> + Send {
        binder.bind_avro_key::<K>()
    }

    fn avro_schema_id(encoder: &(dyn Any + Send + Sync)) -> Option<SchemaId> {
        encoder.downcast_ref::<Encoder<K>>().map(Encoder::schema_id)
    }

    #[inline]
    fn encode_avro(
        encoder: &(dyn Any + Send + Sync),
        topic: &str,
        key: &K,
        buf: &mut Vec<u8>,
    ) -> Result<Option<SchemaId>, SerializeError> {
        match encoder.downcast_ref::<Encoder<K>>() {
            Some(e) => e.encode(topic, key, buf).map(Some),
            None => Err(SerializeError::Subject {
                topic: topic.to_string(),
                reason: "the topic's key encoder is not bound".to_string(),
            }),
        }
    }
}

/// Keys in a Kafka standard serializer's format (`key: T` in [`topic!`](crate::topic!)).
pub struct Plain<K>(std::marker::PhantomData<fn() -> K>);

impl<K: PlainKey + FromKeyBytes + Send + Sync + 'static> KeyFormat for Plain<K> {
    type Key = K;
    const KIND: KeyKind = KeyKind::Plain;
    #[inline]
    fn write_plain(key: &K, out: &mut Vec<u8>) {
        key.write_key(out)
    }

    fn read_plain(bytes: &[u8]) -> Option<Result<K, KeyBytesError>> {
        Some(K::from_key_bytes(bytes))
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
}

/// Declares a typed topic: a unit type named `NAME` that is also its only value, bound to the topic's name, key
/// format and value types. See the [module docs](mod@crate::topic) for the forms.
#[macro_export]
macro_rules! topic {
    (@values $(#[$meta:meta])* $vis:vis $name:ident, $topic:literal, $key:ty, [$($akey:ty)?], value: $value:ty $(;)?) => {
        $crate::topic!(@emit $(#[$meta])* $vis $name, $topic, $key, [$($akey)?], [$value]);
    };
    (@values $(#[$meta:meta])* $vis:vis $name:ident, $topic:literal, $key:ty, [$($akey:ty)?], values: [$($value:ty),+ $(,)?] $(;)?) => {
        $crate::topic!(@emit $(#[$meta])* $vis $name, $topic, $key, [$($akey)?], [$($value),+]);
    };
    (@emit $(#[$meta:meta])* $vis:vis $name:ident, $topic:literal, $key:ty, [$($akey:ty)?], [$($value:ty),+]) => {
        // The bound types still derive their subjects' latest committed contracts (see `contract`).
        $crate::__topic_contract! { krate: $crate, topic: $topic, key: [$($akey)?], values: [$($value),+] }

        $(#[$meta])*
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis struct $name;

        impl $crate::topic::Topic for $name {
            const NAME: &'static str = $topic;
            const VALUE_TYPES: usize = [$(::core::stringify!($value)),+].len();
            type Key = $key;
            fn contract_subjects() -> $crate::contract::Subjects {
                let mut subjects = ::std::vec::Vec::new();
                if let ::core::option::Option::Some((type_name, info)) =
                    <$key as $crate::topic::KeyFormat>::avro_key_schema()
                {
                    subjects.push($crate::contract::key_subject_of($topic, type_name, info));
                }
                $( subjects.push($crate::contract::value_subject::<$value>($topic, Self::VALUE_TYPES)); )+
                subjects
            }
            fn bind_values<'a>(
                binder: &'a $crate::producer::Binder<Self>,
            ) -> ::core::pin::Pin<::std::boxed::Box<
                dyn ::core::future::Future<Output = ::core::result::Result<(), $crate::producer::BindError>>
                    + ::core::marker::Send + 'a,
            >> {
                ::std::boxed::Box::pin(async move {
                    $( binder.bind_value::<$value>().await?; )+
                    ::core::result::Result::Ok(())
                })
            }
        }

        $crate::topic!(@value_of $name, 0usize, $($value),+);
    };
    (@value_of $name:ident, $index:expr, $value:ty $(, $rest:ty)*) => {
        impl $crate::topic::ValueOf<$name> for $value {
            const INDEX: usize = $index;
        }
        $crate::topic!(@value_of $name, $index + 1usize $(, $rest)*);
    };
    (@value_of $name:ident, $index:expr) => {};
    ($(#[$meta:meta])* $vis:vis $name:ident : $topic:literal, key: avro $key:ty, $($rest:tt)*) => {
        $crate::topic!(@values $(#[$meta])* $vis $name, $topic, $crate::topic::AvroKey<$key>, [$key], $($rest)*);
    };
    ($(#[$meta:meta])* $vis:vis $name:ident : $topic:literal, key: $key:ty, $($rest:tt)*) => {
        $crate::topic!(@values $(#[$meta])* $vis $name, $topic, $crate::topic::Plain<$key>, [], $($rest)*);
    };
    ($(#[$meta:meta])* $vis:vis $name:ident : $topic:literal, $($rest:tt)*) => {
        $crate::topic!(@values $(#[$meta])* $vis $name, $topic, $crate::topic::NoKey, [], $($rest)*);
    };
}
