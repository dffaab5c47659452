//! Typed serialization in the Confluent wire format: a [`KafkaRecord`] value becomes `0x00 | schema ID | Avro body`
//! and back, with the schema ID resolved through the registry once per topic and then answered from memory.

use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::client::SchemaRegistryClient;
use crate::codec::{AvroDecode, KafkaRecord, SchemaInfo};
use crate::error::RegistryError;
use crate::wire;

type FnvMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<crate::client::FnvHasher>>;

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

#[derive(Clone, Copy)]
struct Resolved {
    id: u32,
    /// Only for [`SchemaMode::UseLatest`].
    expires: Option<Instant>,
}

struct Inner<T> {
    client: SchemaRegistryClient,
    config: SerializerConfig,
    info: &'static SchemaInfo,
    latest_ttl: Duration,
    by_topic: RwLock<FnvMap<String, Resolved>>,
    verified_ids: RwLock<FnvMap<u32, ()>>,
    _type: PhantomData<fn(&T)>,
}

/// Serializes `T` to framed bytes for any topic, and framed bytes back to `T`. Cheap to clone.
///
/// After the first record of a topic, [`serialize`](Self::serialize) does no I/O: a read lock held for one hash
/// lookup, the 5-byte header, and the derive's encoder writing into the caller's buffer.
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

fn read<V>(l: &RwLock<V>) -> std::sync::RwLockReadGuard<'_, V> {
    l.read().unwrap_or_else(|e| e.into_inner())
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
                by_topic: RwLock::new(FnvMap::default()),
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
        let r = *read(&self.inner.by_topic).get(topic)?;
        match r.expires {
            Some(at) if Instant::now() >= at => None,
            _ => Some(r.id),
        }
    }

    /// The schema ID for `topic`: from memory, or resolved through the registry by the serializer's mode.
    pub async fn schema_id(&self, topic: &str) -> Result<u32, RegistryError> {
        match self.cached_id(topic) {
            Some(id) => Ok(id),
            None => self.resolve(topic).await,
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
        inner.by_topic.write().unwrap_or_else(|e| e.into_inner()).insert(topic.to_string(), Resolved { id, expires });
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
    pub async fn serialize(&self, topic: &str, value: &T, buf: &mut Vec<u8>) -> Result<u32, RegistryError> {
        let id = self.schema_id(topic).await?;
        self.encode_framed(topic, id, value, buf)?;
        Ok(id)
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
