//! Typed serialization in the Confluent wire format: a [`KafkaRecord`] value becomes `0x00 | schema ID | Avro body`
//! and back, with the schema ID resolved through the registry once per topic and then answered from memory.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::client::SchemaRegistryClient;
use crate::codec::{AvroDecode, KafkaRecord, SchemaInfo};
use crate::error::RegistryError;
use crate::wire;

use crate::client::{FnvMap, read};

/// A user-supplied subject name strategy: `(topic, is_key, record full name)` → subject.
pub type CustomStrategy = Arc<dyn Fn(&str, bool, Option<&str>) -> Result<String, String> + Send + Sync>;

/// How a topic's records map to a registry subject, as Confluent's serializers name the strategies.
#[derive(Clone, Default)]
pub enum SubjectNameStrategy {
    /// `<topic>-key` / `<topic>-value` (the default).
    #[default]
    TopicName,
    /// The record's full name, whatever the topic.
    RecordName,
    /// `<topic>-<record full name>`.
    TopicRecordName,
    /// Your own.
    Custom(CustomStrategy),
}

impl std::fmt::Debug for SubjectNameStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SubjectNameStrategy::TopicName => "TopicName",
            SubjectNameStrategy::RecordName => "RecordName",
            SubjectNameStrategy::TopicRecordName => "TopicRecordName",
            SubjectNameStrategy::Custom(_) => "Custom",
        })
    }
}

impl SubjectNameStrategy {
    /// The subject for a topic's keys (`is_key`) or values of a record named `record_name`.
    pub fn subject(&self, topic: &str, is_key: bool, record_name: Option<&str>) -> Result<String, RegistryError> {
        let named = || {
            record_name.ok_or_else(|| {
                RegistryError::Config(format!(
                    "{self:?} strategy needs a named schema (record, enum or fixed); this type's schema has no name"
                ))
            })
        };
        match self {
            SubjectNameStrategy::TopicName => Ok(format!("{topic}-{}", if is_key { "key" } else { "value" })),
            SubjectNameStrategy::RecordName => named().map(str::to_owned),
            SubjectNameStrategy::TopicRecordName => Ok(format!("{topic}-{}", named()?)),
            SubjectNameStrategy::Custom(f) => f(topic, is_key, record_name).map_err(RegistryError::Config),
        }
    }
}

/// Which registered schema ID a serializer writes, as Confluent's serializer settings name the modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaMode {
    /// Register the type's schema under the subject (once) and use its ID (`auto.register.schemas=true`).
    #[default]
    AutoRegister,
    /// Use the ID of the type's schema if the subject has it; never register (`auto.register.schemas=false`).
    Lookup,
    /// Use the subject's latest version (`use.latest.version=true`); it must be the type's schema. Re-read after
    /// the client's `latest_ttl`.
    UseLatest,
    /// Use this ID (`use.schema.id`); it must be the type's schema.
    PinnedId(u32),
}

/// Settings of a [`Serializer`].
#[derive(Debug, Clone, Default)]
pub struct SerializerConfig {
    /// Subject naming.
    pub strategy: SubjectNameStrategy,
    /// Schema ID resolution.
    pub mode: SchemaMode,
    /// Whether this serializer writes keys (subjects `<topic>-key`) rather than values.
    pub is_key: bool,
    /// Ask the registry to normalize schemas on registration and lookup.
    pub normalize: bool,
}

struct Inner<T> {
    client: SchemaRegistryClient,
    config: SerializerConfig,
    info: &'static SchemaInfo,
    latest_ttl: Duration,
    /// topic → schema ID, read without locks (expiring only in [`SchemaMode::UseLatest`]).
    by_topic: crate::topic_table::TopicTable,
    verified_ids: RwLock<FnvMap<u32, ()>>,
    _type: PhantomData<fn(&T)>,
}

/// Serializes `T` to framed bytes for any topic, and framed bytes back to `T`. Cheap to clone.
///
/// After the first record of a topic, [`serialize`](Self::serialize) does no I/O and takes no lock: an atomic load
/// of the topic map, one hash lookup, the 5-byte header, and the derive's encoder writing into the caller's buffer.
pub struct Serializer<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Serializer<T> {
    fn clone(&self) -> Self {
        Serializer { inner: self.inner.clone() }
    }
}

impl<T> std::fmt::Debug for Serializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serializer")
            .field("type", &std::any::type_name::<T>())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl<T: KafkaRecord> Serializer<T> {
    /// A serializer of `T` through `client`.
    pub fn new(client: SchemaRegistryClient, config: SerializerConfig) -> Result<Serializer<T>, RegistryError> {
        let info = T::schema()?;
        let latest_ttl = client.latest_ttl();
        Ok(Serializer {
            inner: Arc::new(Inner {
                client,
                config,
                info,
                latest_ttl,
                by_topic: crate::topic_table::TopicTable::new(),
                verified_ids: RwLock::new(FnvMap::default()),
                _type: PhantomData,
            }),
        })
    }

    /// The type's schema.
    pub fn schema(&self) -> &'static SchemaInfo {
        self.inner.info
    }

    /// The subject records of `topic` are registered under.
    pub fn subject(&self, topic: &str) -> Result<String, RegistryError> {
        self.inner.config.strategy.subject(topic, self.inner.config.is_key, self.inner.info.full_name().as_deref())
    }

    /// The schema ID for `topic` if it is known (no I/O).
    #[inline]
    pub fn cached_id(&self, topic: &str) -> Option<u32> {
        self.inner.by_topic.get(topic)
    }

    /// The schema ID for `topic`: from memory, or resolved through the registry by the serializer's mode.
    pub async fn schema_id(&self, topic: &str) -> Result<u32, RegistryError> {
        match self.cached_id(topic) {
            Some(id) => Ok(id),
            // Boxed, so that the cached path's future stays small.
            None => Box::pin(self.resolve(topic)).await,
        }
    }

    async fn resolve(&self, topic: &str) -> Result<u32, RegistryError> {
        let inner = &self.inner;
        let subject = self.subject(topic)?;
        let normalize = inner.config.normalize;
        let (id, expires) = match inner.config.mode {
            SchemaMode::AutoRegister => (inner.client.register_cached(&subject, inner.info, normalize).await?, None),
            SchemaMode::Lookup => (inner.client.lookup_cached(&subject, inner.info, normalize).await?, None),
            SchemaMode::UseLatest => {
                let latest = inner.client.latest_cached(&subject).await?;
                let by_id = crate::client::SchemaById {
                    schema: latest.schema.clone(),
                    schema_type: latest.schema_type,
                    references: latest.references.clone(),
                };
                self.check_same_schema(&subject, latest.id, &by_id).await?;
                (latest.id, Some(Instant::now() + inner.latest_ttl))
            }
            SchemaMode::PinnedId(id) => {
                let schema = inner.client.schema_by_id(id).await?;
                self.check_same_schema(&format!("id {id}"), id, &schema).await?;
                (id, None)
            }
        };
        inner.by_topic.insert(topic, id, expires);
        Ok(id)
    }

    async fn check_same_schema(
        &self,
        subject: &str,
        id: u32,
        schema: &crate::client::SchemaById,
    ) -> Result<(), RegistryError> {
        let registry = self.inner.client.resolve(schema).await?;
        if registry.fingerprint() == self.inner.info.fingerprint() {
            Ok(())
        } else {
            Err(RegistryError::SchemaMismatch {
                subject: subject.to_string(),
                id,
                type_name: self.inner.info.full_name().unwrap_or_else(|| std::any::type_name::<T>().to_string()),
                type_fingerprint: self.inner.info.fingerprint(),
                registry_fingerprint: registry.fingerprint(),
            })
        }
    }

    /// Appends `value` to `buf` as a framed record for `topic` and returns the schema ID used. A value that
    /// violates its schema is an error naming the field path, and leaves `buf` as it was.
    ///
    /// With the topic's ID cached, the first poll completes it: no I/O, no allocation, no boxed future.
    pub fn serialize<'a>(&'a self, topic: &'a str, value: &'a T, buf: &'a mut Vec<u8>) -> SerializeFuture<'a, T> {
        SerializeFuture { ser: self, topic, value, buf: Some(buf), resolving: None }
    }

    /// Resolves `topic`'s schema ID now and returns a handle that serializes for that topic without any lookup
    /// (what a producer with a topic bound to its record type uses).
    pub async fn bind(&self, topic: &str) -> Result<BoundSerializer<T>, RegistryError> {
        let id = self.schema_id(topic).await?;
        Ok(BoundSerializer { ser: self.clone(), topic: topic.into(), id })
    }

    /// `serialize` without waiting: `None` when the topic's schema ID is not cached yet.
    #[inline]
    pub fn serialize_cached(&self, topic: &str, value: &T, buf: &mut Vec<u8>) -> Option<Result<u32, RegistryError>> {
        let id = self.cached_id(topic)?;
        Some(self.encode_framed(topic, id, value, buf).map(|()| id))
    }

    /// Appends `value` framed with a known schema `id` (the synchronous part of [`serialize`](Self::serialize)).
    #[inline]
    pub fn encode_framed(&self, topic: &str, id: u32, value: &T, buf: &mut Vec<u8>) -> Result<(), RegistryError> {
        let start = buf.len();
        wire::write_header(buf, id);
        if let Err(e) = value.encode_body(buf) {
            buf.truncate(start);
            return Err(RegistryError::Encode(e, topic.to_string()));
        }
        Ok(())
    }

    /// Reads a framed record of `topic` back into `T`: the magic byte must be 0 and the schema ID must name the
    /// type's own schema (checked through the registry once per ID).
    pub async fn deserialize<'de>(&self, topic: &str, payload: &'de [u8]) -> Result<T, RegistryError>
    where
        T: AvroDecode<'de>,
    {
        let (id, body) = wire::split(payload)?;
        if !read(&self.inner.verified_ids).contains_key(&id) {
            let schema = self.inner.client.schema_by_id(id).await?;
            self.check_same_schema(&format!("id {id}"), id, &schema).await?;
            self.inner.verified_ids.write().unwrap_or_else(|e| e.into_inner()).insert(id, ());
        }
        crate::codec::decode_exact(body).map_err(|e| RegistryError::Decode(e, topic.to_string()))
    }
}

type Resolving<'a> = Pin<Box<dyn Future<Output = Result<u32, RegistryError>> + Send + 'a>>;

/// The future of [`Serializer::serialize`]: the cached path completes on the first poll; a miss resolves the
/// topic's schema ID through the registry first.
#[must_use = "futures do nothing unless awaited"]
pub struct SerializeFuture<'a, T> {
    ser: &'a Serializer<T>,
    topic: &'a str,
    value: &'a T,
    buf: Option<&'a mut Vec<u8>>,
    resolving: Option<Resolving<'a>>,
}

impl<T> std::fmt::Debug for SerializeFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerializeFuture").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl<'a, T: KafkaRecord + Sync> Future for SerializeFuture<'a, T> {
    type Output = Result<u32, RegistryError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = match &mut this.resolving {
            None => match this.ser.cached_id(this.topic) {
                Some(id) => id,
                None => {
                    let (ser, topic) = (this.ser, this.topic);
                    let fut = this.resolving.insert(Box::pin(ser.resolve(topic)));
                    match fut.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(r) => match r {
                            Ok(id) => id,
                            Err(e) => return Poll::Ready(Err(e)),
                        },
                    }
                }
            },
            Some(fut) => match fut.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(id)) => id,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            },
        };
        let Some(buf) = this.buf.take() else {
            return Poll::Ready(Err(RegistryError::Config("SerializeFuture polled after completion".into())));
        };
        Poll::Ready(this.ser.encode_framed(this.topic, id, this.value, buf).map(|()| id))
    }
}

/// A [`Serializer`] bound to one topic by [`Serializer::bind`]: the schema ID is held in the handle, so the hot
/// path is the 5-byte header and the encoder. In [`SchemaMode::UseLatest`], where the subject's latest version can
/// change, the handle re-checks the serializer's expiring cache instead, and asks for a new
/// [`bind`](Serializer::bind) (an error) once the entry has expired.
pub struct BoundSerializer<T> {
    ser: Serializer<T>,
    topic: Box<str>,
    id: u32,
}

impl<T> std::fmt::Debug for BoundSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSerializer").field("topic", &self.topic).field("id", &self.id).finish_non_exhaustive()
    }
}

impl<T: KafkaRecord> BoundSerializer<T> {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Appends `value` as a framed record and returns the schema ID; a schema violation leaves `buf` unchanged.
    #[inline]
    pub fn serialize(&self, value: &T, buf: &mut Vec<u8>) -> Result<u32, RegistryError> {
        let id = if self.ser.inner.config.mode == SchemaMode::UseLatest {
            self.ser.cached_id(&self.topic).ok_or_else(|| {
                RegistryError::Config(format!("the latest schema of topic {} expired: bind again", self.topic))
            })?
        } else {
            self.id
        };
        self.ser.encode_framed(&self.topic, id, value, buf)?;
        Ok(id)
    }
}
