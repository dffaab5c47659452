//! Typed serialization in the Confluent wire format: a [`KafkaRecord`] value becomes `0x00 | schema ID | Avro body`
//! ([`AvroSerializer`], [`BoundSerializer`]) and back ([`AvroDeserializer`]), with schema IDs resolved through the
//! registry once per topic and then answered from memory.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use typed_kafka_avro::registered_rules::{RegisteredRuleError, RegisteredRules};
use typed_kafka_avro::resolve::{Resolver, Unresolvable};
use typed_kafka_avro::{AvroDecode, EncodeError, KafkaRecord, RuleViolation, SchemaId, SchemaInfo, SchemaRef, wire};

use crate::cache::{CachePolicy, LoadingCache};
use crate::client::{Normalization, SchemaRegistryClient};
use crate::error::{DeserializeError, RegistryError, SchemaMismatch, SerializeError};
use crate::topic_table::{TopicSlot, TopicTable};

/// Whether records are a topic's keys or its values (subjects `<topic>-key` / `<topic>-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordPart {
    /// The record key.
    Key,
    /// The record value.
    #[default]
    Value,
}

/// A user-supplied subject name strategy: `(topic, part, record full name)` → subject, or why there is none.
pub type CustomStrategy = Arc<dyn Fn(&str, RecordPart, Option<&str>) -> Result<String, String> + Send + Sync>;

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
    /// The subject for `part` of `topic`'s records, whose schema is named `record_name`; or why there is none.
    pub fn subject(&self, topic: &str, part: RecordPart, record_name: Option<&str>) -> Result<String, String> {
        let named = || {
            record_name.ok_or_else(|| {
                format!("the {self:?} strategy needs a named schema (record, enum or fixed); this one has no name")
            })
        };
        match self {
            SubjectNameStrategy::TopicName => {
                Ok(format!("{topic}-{}", if part == RecordPart::Key { "key" } else { "value" }))
            }
            SubjectNameStrategy::RecordName => named().map(str::to_owned),
            SubjectNameStrategy::TopicRecordName => Ok(format!("{topic}-{}", named()?)),
            SubjectNameStrategy::Custom(f) => f(topic, part, record_name),
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
    /// Use the subject's latest version (`use.latest.version=true`); it must be the type's schema. Re-read every
    /// `latest_ttl` of the client in the background: a record never waits for, or fails because of, a refresh.
    UseLatest,
    /// Use this ID (`use.schema.id`); it must be the type's schema.
    PinnedId(SchemaId),
}

/// Settings of an [`AvroSerializer`].
#[derive(Debug, Clone, Default)]
pub struct SerializerConfig {
    /// Subject naming.
    pub strategy: SubjectNameStrategy,
    /// Schema ID resolution.
    pub mode: SchemaMode,
    /// Whether this serializer writes keys or values.
    pub part: RecordPart,
    /// Whether the registry normalizes the schema on registration and lookup.
    pub normalization: Normalization,
    /// What to do with data-contract rules (`confluent:rules`) that the registered schema of a
    /// [`SchemaMode::UseLatest`] or [`SchemaMode::PinnedId`] serializer carries and the type does not.
    pub registered_rules: RegisteredRulesPolicy,
}

/// What a serializer does with the data-contract rules a registered schema carries that no attribute of the type
/// wrote (another team's rules on a shared subject, or rules added to the registered schema later).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegisteredRulesPolicy {
    /// Evaluate them on every value, after the type's own rules (checked once per schema ID, when it is first
    /// used); a rule outside the supported CEL, or reading a value rules cannot read, refuses the schema ID with
    /// [`SerializeError::UnusableRules`].
    #[default]
    Enforce,
    /// Leave them to other clients: only the type's own rules run.
    Ignore,
}

/// How a serializer writes for a registered schema ID: the type's own schema, or another one its values are
/// projected into, and the rules of the registered schema to run on each body.
enum Target {
    Exact,
    Project(Arc<Resolver>),
}

struct WritePlan {
    target: Target,
    rules: Option<Arc<RegisteredRules>>,
}

/// Why a serializer cannot write for a registered schema ID.
enum Unwritable {
    Unresolvable(Unresolvable),
    Rules(Vec<RegisteredRuleError>),
}

type Targets = LoadingCache<SchemaId, Arc<Result<WritePlan, Unwritable>>, RegistryError>;

fn targets() -> Targets {
    let policy = CachePolicy { capacity: 10_000, max_bytes: usize::MAX, ttl: None, negative_ttl: Duration::ZERO };
    LoadingCache::new(policy, |_| 0)
}

thread_local! {
    /// A value's body in its type's own layout, before it is projected into a registered schema.
    static PROJECTED: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// What a serializer keeps per registered schema ID that needs work beyond the encode (a projection, rules), and a
/// flag the hot path checks before anything else. Entries are never evicted: a serializer meets few IDs.
struct ById<T> {
    entries: std::sync::RwLock<HashMap<SchemaId, Arc<T>>>,
    any: AtomicBool,
}

impl<T> Default for ById<T> {
    fn default() -> Self {
        ById { entries: Default::default(), any: AtomicBool::new(false) }
    }
}

impl<T> ById<T> {
    fn insert(&self, id: SchemaId, value: &Arc<T>) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).entry(id).or_insert_with(|| value.clone());
        self.any.store(true, Ordering::Release);
    }

    /// Whether any ID has an entry (one load).
    #[inline]
    fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    fn get(&self, id: SchemaId) -> Option<Arc<T>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).get(&id).cloned()
    }
}

type Resolving<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Arc<TopicSlot>, SerializeError>> + Send + 'a>>;

/// What a serializer of any type shares with its clones, its bound handles and its refresher.
struct Core {
    client: SchemaRegistryClient,
    config: SerializerConfig,
    info: &'static SchemaInfo,
    type_name: &'static str,
    by_topic: TopicTable,
    /// Per registered schema ID used: write exactly, project, or refuse (built once per ID).
    targets: Targets,
    /// The projections in use, by ID.
    projections: ById<Resolver>,
    /// The rules of registered schemas in use that the type does not carry, by ID.
    registered_rules: ById<RegisteredRules>,
    refresher: AtomicBool,
}

impl Core {
    fn subject(&self, topic: &str) -> Result<String, SerializeError> {
        let name = self.info.full_name();
        self.config
            .strategy
            .subject(topic, self.config.part, name.as_deref())
            .map_err(|reason| SerializeError::Subject { topic: topic.to_string(), reason })
    }

    /// The ID the serializer's mode gives for `topic`, through the registry (cached there).
    async fn resolve_id(&self, topic: &str) -> Result<SchemaId, SerializeError> {
        let subject = self.subject(topic)?;
        let registry = |source| SerializeError::Registry { topic: topic.to_string(), subject: subject.clone(), source };
        let normalization = self.config.normalization;
        let id = match self.config.mode {
            SchemaMode::AutoRegister => {
                self.client.register_cached(&subject, self.info, normalization).await.map_err(registry)?
            }
            SchemaMode::Lookup => {
                self.client.lookup_cached(&subject, self.info, normalization).await.map_err(registry)?
            }
            SchemaMode::UseLatest => self.client.latest_version_cached(&subject).await.map_err(registry)?.id,
            SchemaMode::PinnedId(id) => id,
        };
        if matches!(self.config.mode, SchemaMode::UseLatest | SchemaMode::PinnedId(_)) {
            match &*self.target(id).await.map_err(registry)? {
                Ok(plan) => {
                    if let Target::Project(resolver) = &plan.target {
                        self.projections.insert(id, resolver);
                    }
                    if let Some(rules) = &plan.rules {
                        self.registered_rules.insert(id, rules);
                    }
                }
                Err(Unwritable::Unresolvable(source)) => {
                    return Err(SerializeError::NotProjectable {
                        topic: topic.to_string(),
                        subject: subject.clone(),
                        id,
                        source: source.clone(),
                    });
                }
                Err(Unwritable::Rules(errors)) => {
                    return Err(SerializeError::UnusableRules {
                        topic: topic.to_string(),
                        subject: subject.clone(),
                        id,
                        errors: errors.clone(),
                    });
                }
            }
        }
        Ok(id)
    }

    /// How to write for the registered schema `id` (decided once per ID): exactly or projected, with the rules it
    /// carries that the type does not (unless the config ignores them).
    async fn target(&self, id: SchemaId) -> Result<Arc<Result<WritePlan, Unwritable>>, RegistryError> {
        self.targets
            .get_or_load(
                &id,
                |_| false,
                || async {
                    let registered = self.client.parsed_schema_by_id_cached(id).await?;
                    let target = if registered.fingerprint() == self.info.fingerprint() {
                        Target::Exact
                    } else {
                        match Resolver::projecting(self.info.schema(), registered.schema()) {
                            Ok(r) => Target::Project(Arc::new(r)),
                            Err(e) => return Ok(Arc::new(Err(Unwritable::Unresolvable(e)))),
                        }
                    };
                    let rules = match self.config.registered_rules {
                        RegisteredRulesPolicy::Ignore => None,
                        RegisteredRulesPolicy::Enforce => {
                            let own = Some((self.info.schema(), self.info.json()));
                            match RegisteredRules::compile(registered.schema(), registered.json(), own) {
                                Ok(rules) => rules.map(Arc::new),
                                Err(errors) => return Ok(Arc::new(Err(Unwritable::Rules(errors)))),
                            }
                        }
                    };
                    Ok(Arc::new(Ok(WritePlan { target, rules })))
                },
            )
            .await
    }

    /// Appends every rule of the registered schema that the framed record `framed` (just written) breaks, when
    /// that schema carries rules the type does not.
    #[inline]
    fn registered_rule_violations(&self, framed: &[u8], out: &mut Vec<RuleViolation>) {
        if !self.registered_rules.any() {
            return;
        }
        self.check_registered_rules(framed, out);
    }

    #[cold]
    fn check_registered_rules(&self, framed: &[u8], out: &mut Vec<RuleViolation>) {
        let Ok((id, body)) = wire::split(framed) else { return };
        let Some(rules) = self.registered_rules.get(id) else { return };
        if let Err(e) = rules.violations(body, out) {
            out.push(RuleViolation::new("registered_schema", None, "", format!("the body could not be read: {e}")));
        }
    }

    /// Rewrites the body just encoded at `buf[start + 5..]` in the registered schema of `id`, if that differs
    /// from the type's; a value it cannot hold is refused with every violation, and `buf` is left as it was.
    #[cold]
    fn project(&self, topic: &str, id: SchemaId, start: usize, buf: &mut Vec<u8>) -> Result<(), SerializeError> {
        let Some(resolver) = self.projections.get(id) else { return Ok(()) };
        let body_at = start + wire::HEADER_LEN;
        let mut own = PROJECTED.take();
        own.clear();
        own.extend_from_slice(&buf[body_at..]);
        buf.truncate(body_at);
        let result = resolver.project(&own, buf).map_err(|_| {
            buf.truncate(start);
            SerializeError::NotInRegisteredSchema {
                topic: topic.to_string(),
                id,
                violations: resolver.violations(&own),
            }
        });
        PROJECTED.set(own);
        result
    }

    /// In [`SchemaMode::UseLatest`], re-reads every known topic's latest version each `latest_ttl`, off the hot
    /// path; a topic whose latest version can no longer be used keeps the ID it has (and the failure is logged).
    /// The task ends when the last serializer and bound handle sharing this core are gone.
    fn start_refresher(self: &Arc<Core>) {
        if self.config.mode != SchemaMode::UseLatest || self.refresher.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.refresher.store(false, Ordering::Release);
            return;
        };
        let period = self.client.latest_ttl().max(Duration::from_millis(10));
        let core: Weak<Core> = Arc::downgrade(self);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(core) = core.upgrade() else { break };
                for (topic, slot) in core.by_topic.entries() {
                    match core.resolve_id(&topic).await {
                        Ok(id) if id != slot.id() => {
                            tracing::info!(topic = %topic, old = %slot.id(), new = %id, "latest schema changed");
                            slot.set(id);
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(topic = %topic, error = %e, "keeping the schema ID in use"),
                    }
                }
            }
        });
    }

    #[inline]
    fn encode_framed<T: KafkaRecord>(
        &self,
        topic: &str,
        id: SchemaId,
        value: &T,
        buf: &mut Vec<u8>,
    ) -> Result<(), SerializeError> {
        let start = buf.len();
        write_framed(topic, id, value, buf)?;
        if self.projections.any() {
            return self.project(topic, id, start, buf);
        }
        Ok(())
    }

    /// [`encode_framed`](Self::encode_framed), then the value's data-contract rules (after the schema, as the
    /// producer runs them): a broken rule leaves `buf` as it was.
    #[inline]
    fn encode_checked<T: KafkaRecord>(
        &self,
        topic: &str,
        id: SchemaId,
        value: &T,
        buf: &mut Vec<u8>,
    ) -> Result<(), SerializeError> {
        let start = buf.len();
        self.encode_framed(topic, id, value, buf)?;
        let mut violations = Vec::new();
        value.rule_violations(&mut violations);
        self.registered_rule_violations(&buf[start..], &mut violations);
        if violations.is_empty() {
            return Ok(());
        }
        buf.truncate(start);
        Err(SerializeError::RuleViolation { topic: topic.to_string(), violations })
    }
}

/// The error for a value whose encoding failed with `first`: every violation in it, found on this cold path.
#[cold]
#[inline(never)]
fn invalid<T: KafkaRecord + ?Sized>(topic: &str, value: &T, first: EncodeError) -> SerializeError {
    let mut violations = Vec::new();
    value.violations(&mut violations);
    if violations.is_empty() {
        violations.push(first);
    }
    SerializeError::Invalid { topic: topic.to_string(), violations }
}

/// Appends `value` to `buf` framed with a known schema `id` (`0x00 | id | body`), with no registry involved (the
/// caller knows the ID is `T`'s schema). A value that violates its schema is refused with every violation and
/// leaves `buf` as it was.
#[inline]
pub fn write_framed<T: KafkaRecord + ?Sized>(
    topic: &str,
    id: SchemaId,
    value: &T,
    buf: &mut Vec<u8>,
) -> Result<(), SerializeError> {
    let start = buf.len();
    wire::write_header(buf, id);
    if let Err(source) = value.encode_body(buf) {
        buf.truncate(start);
        return Err(invalid(topic, value, source));
    }
    Ok(())
}

/// Writes `T` as framed records for any topic. Cheap to clone (an `Arc` inside).
///
/// After the first record of a topic, [`serialize`](Self::serialize) does no I/O and takes no lock: a lock-free
/// snapshot read of the topic table, the 5-byte header, and the derive's encoder writing into the caller's buffer.
pub struct AvroSerializer<T> {
    core: Arc<Core>,
    _type: PhantomData<fn(&T)>,
}

impl<T> Clone for AvroSerializer<T> {
    fn clone(&self) -> Self {
        AvroSerializer { core: self.core.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for AvroSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroSerializer")
            .field("type", &self.core.type_name)
            .field("config", &self.core.config)
            .finish_non_exhaustive()
    }
}

impl<T: KafkaRecord> AvroSerializer<T> {
    /// A serializer of `T` through `client`.
    pub fn new(client: SchemaRegistryClient, config: SerializerConfig) -> Result<AvroSerializer<T>, SerializeError> {
        let type_name = std::any::type_name::<T>();
        let info = T::schema().map_err(|source| SerializeError::Schema { type_name, source })?;
        let core = Core {
            client,
            config,
            info,
            type_name,
            by_topic: TopicTable::new(),
            targets: targets(),
            projections: ById::default(),
            registered_rules: ById::default(),
            refresher: AtomicBool::new(false),
        };
        Ok(AvroSerializer { core: Arc::new(core), _type: PhantomData })
    }

    /// The type's schema.
    pub fn schema(&self) -> &'static SchemaInfo {
        self.core.info
    }

    /// The subject `topic`'s records are registered under.
    pub fn subject(&self, topic: &str) -> Result<String, SerializeError> {
        self.core.subject(topic)
    }

    /// The schema ID for `topic` if it is known (no I/O).
    #[inline]
    pub fn cached_id(&self, topic: &str) -> Option<SchemaId> {
        self.core.by_topic.get(topic)
    }

    /// The schema ID for `topic`: from memory, or resolved through the registry by the serializer's mode.
    pub async fn schema_id(&self, topic: &str) -> Result<SchemaId, SerializeError> {
        match self.cached_id(topic) {
            Some(id) => Ok(id),
            None => self.resolve_boxed(topic).await.map(|slot| slot.id()),
        }
    }

    /// [`resolve`](Self::resolve) behind a pointer, so that the futures of the cached paths stay small.
    fn resolve_boxed<'a>(&'a self, topic: &'a str) -> Resolving<'a> {
        Box::pin(self.resolve(topic))
    }

    async fn resolve(&self, topic: &str) -> Result<Arc<TopicSlot>, SerializeError> {
        let id = self.core.resolve_id(topic).await?;
        let slot = self.core.by_topic.insert(topic, id);
        self.core.start_refresher();
        Ok(slot)
    }

    /// Appends `value` to `buf` as a framed record for `topic` and returns the schema ID used. A value that
    /// violates its schema is an error naming the field path, and leaves `buf` as it was.
    ///
    /// With the topic's ID cached, the future completes on its first poll: no I/O, no allocation. Dropping it
    /// before it completes writes nothing.
    pub fn serialize<'a>(&'a self, topic: &'a str, value: &'a T, buf: &'a mut Vec<u8>) -> SerializeFuture<'a, T> {
        SerializeFuture { ser: self, topic, value, buf: Some(buf), resolving: None }
    }

    /// [`serialize`](Self::serialize) without waiting: `None` when the topic's schema ID is not cached yet.
    #[inline]
    pub fn serialize_cached(
        &self,
        topic: &str,
        value: &T,
        buf: &mut Vec<u8>,
    ) -> Option<Result<SchemaId, SerializeError>> {
        let id = self.cached_id(topic)?;
        Some(self.core.encode_checked(topic, id, value, buf).map(|()| id))
    }

    /// Appends `value` framed with a known schema `id` (the synchronous part of [`serialize`](Self::serialize)).
    #[inline]
    pub fn encode_framed(&self, topic: &str, id: SchemaId, value: &T, buf: &mut Vec<u8>) -> Result<(), SerializeError> {
        self.core.encode_checked(topic, id, value, buf)
    }

    /// Resolves `topic`'s schema ID now and returns a handle that serializes for that topic without any lookup
    /// (what a producer with a topic bound to its record type uses). In [`SchemaMode::UseLatest`] the handle follows
    /// the background refresh of the latest version.
    pub async fn bind(&self, topic: &str) -> Result<BoundSerializer<T>, SerializeError> {
        let slot = match self.core.by_topic.slot(topic) {
            Some(slot) => slot,
            None => self.resolve_boxed(topic).await?,
        };
        Ok(BoundSerializer { core: self.core.clone(), topic: topic.into(), slot, _type: PhantomData })
    }
}

/// The future of [`AvroSerializer::serialize`]: on its first poll it looks the topic up and, when the ID is cached,
/// encodes at once; otherwise it resolves the ID through [`AvroSerializer::schema_id`]'s path first. (Written by
/// hand rather than as an `async fn`: the benchmark measured the `async fn`'s state machine at 6–10% of an Order's
/// encode, and this one costs what the synchronous [`serialize_cached`](AvroSerializer::serialize_cached) does.)
/// Polling it again after it completed never completes.
#[must_use = "futures do nothing unless awaited"]
pub struct SerializeFuture<'a, T> {
    ser: &'a AvroSerializer<T>,
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

impl<T: KafkaRecord> Future for SerializeFuture<'_, T> {
    type Output = Result<SchemaId, SerializeError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        let this = self.get_mut();
        let id = match &mut this.resolving {
            Some(resolving) => std::task::ready!(resolving.as_mut().poll(cx)).map(|slot| slot.id()),
            None => match this.ser.cached_id(this.topic) {
                Some(id) => Ok(id),
                None => {
                    let resolving = this.resolving.insert(this.ser.resolve_boxed(this.topic));
                    std::task::ready!(resolving.as_mut().poll(cx)).map(|slot| slot.id())
                }
            },
        };
        this.resolving = None;
        // The buffer is taken once: a future polled again after it completed stays pending.
        let Some(buf) = this.buf.take() else { return Poll::Pending };
        Poll::Ready(id.and_then(|id| this.ser.core.encode_checked(this.topic, id, this.value, buf).map(|()| id)))
    }
}

/// An [`AvroSerializer`] bound to one topic by [`AvroSerializer::bind`]: the hot path is one atomic load, the 5-byte
/// header and the encoder.
pub struct BoundSerializer<T> {
    core: Arc<Core>,
    topic: Box<str>,
    slot: Arc<TopicSlot>,
    _type: PhantomData<fn(&T)>,
}

impl<T> Clone for BoundSerializer<T> {
    fn clone(&self) -> Self {
        BoundSerializer {
            core: self.core.clone(),
            topic: self.topic.clone(),
            slot: self.slot.clone(),
            _type: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for BoundSerializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundSerializer")
            .field("topic", &self.topic)
            .field("id", &self.slot.id())
            .finish_non_exhaustive()
    }
}

impl<T: KafkaRecord> BoundSerializer<T> {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The schema ID records are framed with now.
    pub fn schema_id(&self) -> SchemaId {
        self.slot.id()
    }

    /// Appends `value` as a framed record and returns the schema ID; a schema violation or a broken
    /// data-contract rule leaves `buf` unchanged.
    #[inline]
    pub fn serialize(&self, value: &T, buf: &mut Vec<u8>) -> Result<SchemaId, SerializeError> {
        let id = self.slot.id();
        self.core.encode_checked(&self.topic, id, value, buf)?;
        Ok(id)
    }

    /// Appends every rule that the registered schema of the framed record `framed` (written by this serializer)
    /// carries and the type does not, and that the record breaks: for a caller that runs the rules itself.
    #[doc(hidden)]
    #[inline]
    pub fn registered_rule_violations(&self, framed: &[u8], out: &mut Vec<RuleViolation>) {
        self.core.registered_rule_violations(framed, out)
    }

    /// [`serialize`](Self::serialize) without the data-contract rules: for a caller that runs them itself (the
    /// producer runs a key's and a value's rules together, before its partitioner).
    #[doc(hidden)]
    #[inline]
    pub fn serialize_without_rules(&self, value: &T, buf: &mut Vec<u8>) -> Result<SchemaId, SerializeError> {
        let id = self.slot.id();
        self.core.encode_framed(&self.topic, id, value, buf)?;
        Ok(id)
    }
}

/// How records written with one schema ID are read: that ID's schema is the type's own (decode directly), or
/// resolvable into it (transcode, then decode), or not readable at all (every break, refused from memory), or not
/// a usable schema (refused from memory too: an ID's schema never changes, so it is never parsed twice).
enum ReadPlan {
    Exact,
    /// The resolver, and the writer schema's fingerprint.
    Resolve(Resolver, u64),
    Refuse(Arc<Unresolvable>),
    Unusable(RegistryError),
}

/// Breaks a refused plan keeps (and every refusal shares): the rest are counted.
const KEPT_BREAKS: usize = 100;

/// A plan with what it holds, in bytes (estimated: a resolver holds its own model of the writer's schema and a
/// step per node, measured at about 8 bytes per byte of the schema's canonical form).
struct Plan {
    read: ReadPlan,
    bytes: usize,
}

struct ReadCore {
    client: SchemaRegistryClient,
    info: &'static SchemaInfo,
    type_name: &'static str,
    /// Bounded by entries and by the bytes the plans hold (the client's `cache_max_bytes`).
    plans: LoadingCache<SchemaRef, Arc<Plan>, RegistryError>,
    /// Whether a value read must keep its type's data-contract rules.
    check_rules: bool,
}

impl ReadCore {
    /// The plan for records written with `id`: built once per ID from the registry's schema and kept (an ID's
    /// schema never changes), the verdict on an unreadable or unusable one included.
    async fn plan(&self, topic: &str, schema: SchemaRef) -> Result<Arc<Plan>, DeserializeError> {
        self.plans
            .get_or_load(&schema, |_| false, || async { self.build_plan(schema).await.map(Arc::new) })
            .await
            .map_err(|source| DeserializeError::Registry { topic: topic.to_string(), schema, source })
    }

    async fn build_plan(&self, schema: SchemaRef) -> Result<Plan, RegistryError> {
        let writer = match self.client.parsed_schema_cached(schema).await {
            Ok(writer) => writer,
            Err(e @ RegistryError::UnusableSchema { .. }) => {
                let bytes = e.to_string().len();
                return Ok(Plan { read: ReadPlan::Unusable(e), bytes });
            }
            Err(e) => return Err(e),
        };
        if writer.fingerprint() == self.info.fingerprint() {
            return Ok(Plan { read: ReadPlan::Exact, bytes: 0 });
        }
        Ok(match Resolver::new(writer.schema(), self.info.schema()) {
            Ok(r) => {
                let bytes = writer.canonical_form().len().saturating_mul(8);
                Plan { read: ReadPlan::Resolve(r, writer.fingerprint()), bytes }
            }
            Err(e) => {
                let e = e.truncated(KEPT_BREAKS);
                let bytes = e.breaks.iter().map(|b| b.to_string().len()).sum();
                Plan { read: ReadPlan::Refuse(Arc::new(e)), bytes }
            }
        })
    }

    fn incompatible(&self, topic: &str, schema: SchemaRef, source: &Arc<Unresolvable>) -> DeserializeError {
        DeserializeError::Incompatible {
            topic: topic.to_string(),
            schema,
            type_name: self.info.full_name().unwrap_or_else(|| self.type_name.to_string()),
            source: source.clone(),
        }
    }

    fn unusable(&self, topic: &str, schema: SchemaRef, source: &RegistryError) -> DeserializeError {
        DeserializeError::Registry { topic: topic.to_string(), schema, source: source.clone() }
    }
}

thread_local! {
    /// The reader-layout bytes of a resolved record, reused by every read on this thread.
    static RESOLVED: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Reads framed records back into `T`: records written with `T`'s own schema, and records written with any
/// schema `T`'s schema can read by the specification's resolution rules (fields added with defaults, removed,
/// reordered, promoted, enum symbols absorbed by a default, union branches). Cheap to clone (an `Arc` inside).
pub struct AvroDeserializer<T> {
    core: Arc<ReadCore>,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for AvroDeserializer<T> {
    fn clone(&self) -> Self {
        AvroDeserializer { core: self.core.clone(), _type: PhantomData }
    }
}

impl<T> std::fmt::Debug for AvroDeserializer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AvroDeserializer").field("type", &self.core.type_name).finish_non_exhaustive()
    }
}

impl<T: KafkaRecord> AvroDeserializer<T> {
    /// A deserializer of `T` through `client`.
    pub fn new(client: SchemaRegistryClient) -> Result<AvroDeserializer<T>, DeserializeError> {
        let type_name = std::any::type_name::<T>();
        let info = T::schema().map_err(|source| DeserializeError::Schema { type_name, source })?;
        Ok(Self::with(client, info, type_name, false))
    }

    fn with(
        client: SchemaRegistryClient,
        info: &'static SchemaInfo,
        type_name: &'static str,
        check_rules: bool,
    ) -> AvroDeserializer<T> {
        let policy = CachePolicy {
            capacity: 10_000,
            max_bytes: client.cache_max_bytes(),
            ttl: None,
            negative_ttl: Duration::ZERO,
        };
        let plans = LoadingCache::new(policy, |plan: &Arc<Plan>| plan.bytes);
        let core = ReadCore { client, info, type_name, plans, check_rules };
        AvroDeserializer { core: Arc::new(core), _type: PhantomData }
    }

    /// Also checks each value read against its type's data-contract rules (`#[kafka(rule(...))]`): a value that
    /// breaks one is a [`DeserializeError::RuleViolation`] naming every rule and path. Off by default: rules
    /// guard what is written, and a reader usually takes what was.
    pub fn check_rules(self, on: bool) -> AvroDeserializer<T> {
        Self::with(self.core.client.clone(), self.core.info, self.core.type_name, on)
    }

    /// `value`, or the rules it breaks when the deserializer checks them.
    fn kept(&self, topic: &str, schema: SchemaRef, value: T) -> Result<T, DeserializeError> {
        if !self.core.check_rules {
            return Ok(value);
        }
        let mut violations = Vec::new();
        value.rule_violations(&mut violations);
        if violations.is_empty() {
            Ok(value)
        } else {
            Err(DeserializeError::RuleViolation { topic: topic.to_string(), schema, violations })
        }
    }

    /// Reads a framed record of `topic` into `T`. The magic byte must be 0; the writer's schema (fetched and
    /// resolved once per ID) must be `T`'s own or one `T`'s schema can read: then the body is transcoded into
    /// `T`'s layout first. A writer schema `T` cannot read is refused with every break and its path.
    pub async fn deserialize(&self, topic: &str, payload: &[u8]) -> Result<T, DeserializeError>
    where
        T: for<'de> AvroDecode<'de>,
    {
        self.deserialize_headed(topic, None, payload).await
    }

    /// Reads a record of `topic` as Confluent's deserializers do: when `schema_id_header` is given (the value of
    /// the record's last `__value_schema_id` header, or `__key_schema_id` for a key), it names the writer schema
    /// (a version byte, then a GUID or an ID) and `payload` is the bare Avro body; otherwise `payload` is framed
    /// as [`deserialize`](Self::deserialize) reads it. A GUID the registry cannot resolve is a
    /// [`DeserializeError::Registry`] naming it.
    pub async fn deserialize_headed(
        &self,
        topic: &str,
        schema_id_header: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<T, DeserializeError>
    where
        T: for<'de> AvroDecode<'de>,
    {
        let (schema, body) = wire::split_headed(schema_id_header, payload)
            .map_err(|source| DeserializeError::Framing { topic: topic.to_string(), source })?;
        let plan = self.core.plan(topic, schema).await?;
        let decode_error = |source| DeserializeError::Decode { topic: topic.to_string(), schema, source };
        let value = match &plan.read {
            ReadPlan::Exact => typed_kafka_avro::codec::decode_exact(body).map_err(decode_error),
            ReadPlan::Resolve(resolver, _) => {
                let mut buf = RESOLVED.take();
                let read = resolver.read(body, &mut buf);
                RESOLVED.set(buf);
                read.map_err(decode_error)
            }
            ReadPlan::Refuse(source) => Err(self.core.incompatible(topic, schema, source)),
            ReadPlan::Unusable(source) => Err(self.core.unusable(topic, schema, source)),
        }?;
        self.kept(topic, schema, value)
    }

    /// Reads a framed record written with `T`'s own schema, borrowing strings and bytes from `payload` where `T`
    /// does (`&str`, `Cow<str>`). A record written with another schema is a [`DeserializeError::SchemaMismatch`]:
    /// resolving it needs [`deserialize`](Self::deserialize).
    pub async fn deserialize_borrowed<'de>(&self, topic: &str, payload: &'de [u8]) -> Result<T, DeserializeError>
    where
        T: AvroDecode<'de>,
    {
        let (id, body) =
            wire::split(payload).map_err(|source| DeserializeError::Framing { topic: topic.to_string(), source })?;
        let schema = SchemaRef::Id(id);
        let plan = self.core.plan(topic, schema).await?;
        match &plan.read {
            ReadPlan::Exact => typed_kafka_avro::codec::decode_exact(body)
                .map_err(|source| DeserializeError::Decode { topic: topic.to_string(), schema, source })
                .and_then(|value| self.kept(topic, schema, value)),
            ReadPlan::Refuse(source) => Err(self.core.incompatible(topic, schema, source)),
            ReadPlan::Unusable(source) => Err(self.core.unusable(topic, schema, source)),
            ReadPlan::Resolve(_, registry_fingerprint) => {
                let registry_fingerprint = *registry_fingerprint;
                Err(DeserializeError::SchemaMismatch {
                    topic: topic.to_string(),
                    source: SchemaMismatch {
                        id,
                        type_name: self.core.info.full_name().unwrap_or_else(|| self.core.type_name.to_string()),
                        type_fingerprint: self.core.info.fingerprint(),
                        registry_fingerprint,
                    },
                })
            }
        }
    }
}

/// What the deserializer does with schemas a registry serves, against a local fake registry (our logic only).
#[cfg(test)]
mod tests {
    use std::io::Write;

    use typed_kafka_avro::codec::AvroDecode;
    use typed_kafka_avro::schema::{SchemaError, SchemaInfo};
    use typed_kafka_avro::{AvroType, EncodeError, KafkaRecord};

    use super::*;
    use crate::test_server::serve;

    /// A one-field record, written by hand (this crate cannot use the derive).
    #[derive(Debug, PartialEq)]
    struct Reading(i32);

    impl AvroType for Reading {
        const MIN_SIZE: usize = 1;
        fn write_schema(w: &mut typed_kafka_avro::schema::SchemaWriter) {
            w.raw(r#"{"type":"record","name":"Reading","fields":[{"name":"v","type":"int"}]}"#)
        }
        fn type_name(out: &mut String) {
            out.push_str("Reading")
        }
        fn encode(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
            typed_kafka_avro::codec::encoding::put_int(buf, self.0);
            Ok(())
        }
    }

    impl<'de> AvroDecode<'de> for Reading {
        fn decode(input: &mut &'de [u8]) -> Result<Self, typed_kafka_avro::DecodeError> {
            typed_kafka_avro::codec::encoding::get_int(input).map(Reading)
        }
    }

    impl KafkaRecord for Reading {
        fn schema() -> Result<&'static SchemaInfo, SchemaError> {
            static INFO: std::sync::OnceLock<SchemaInfo> = std::sync::OnceLock::new();
            Ok(INFO.get_or_init(|| {
                SchemaInfo::parse(r#"{"type":"record","name":"Reading","fields":[{"name":"v","type":"int"}]}"#)
                    .expect("a valid schema")
            }))
        }
    }

    /// A registry whose `GET /schemas/ids/{id}` answers `schema` as the schema text (10 requests at most).
    fn registry_serving(
        schema: String,
        configure: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder,
    ) -> (SchemaRegistryClient, Arc<std::sync::atomic::AtomicUsize>) {
        registry_serving_many(10, schema, configure)
    }

    fn framed(id: u32, v: i32) -> Vec<u8> {
        let mut buf = Vec::new();
        wire::write_header(&mut buf, SchemaId(id));
        Reading(v).encode(&mut buf).expect("an int encodes");
        buf
    }

    #[tokio::test]
    async fn legal_schemas_with_odd_attributes_never_panic_the_reader() {
        // Custom attributes reusing reserved names: legal Avro, and apache-avro 0.22 panicked on them.
        let odd = r#"{"type":"record","name":"Reading","fields":[{"name":"v","type":"int","precision":"high","scale":1.5,"size":{},"symbols":null,"items":16,"values":true}]}"#;
        let (client, _) = registry_serving(odd.to_string(), |b| b);
        let de = AvroDeserializer::<Reading>::new(client).expect("the type's schema is valid");
        // The attributes are not part of the canonical form: it is the type's own schema.
        assert_eq!(de.deserialize("t", &framed(7, 42)).await, Ok(Reading(42)));
    }

    #[tokio::test]
    async fn an_invalid_registry_schema_is_named_and_quoted_briefly() {
        // 10 MB of invalid schema text (a reference to an unknown type with a huge name).
        let huge =
            format!(r#"{{"type":"record","name":"R","fields":[{{"name":"a","type":"{}"}}]}}"#, "X".repeat(10 << 20));
        let (client, seen) = registry_serving(huge, |b| b);
        let de = AvroDeserializer::<Reading>::new(client.clone()).expect("the type's schema is valid");
        let err = de.deserialize("t", &framed(42, 1)).await.unwrap_err();
        let text = err.to_string();
        assert!(text.len() < 600, "{} bytes: {}", text.len(), &text[..200]);
        assert!(text.contains("the registry's schema 42 is unusable"), "{text}");
        assert!(!text.contains("generated"), "{text}");
        assert!(matches!(
            err,
            DeserializeError::Registry {
                source: RegistryError::UnusableSchema { source: SchemaError::UnknownType { .. }, .. },
                ..
            }
        ));
        // The schema text itself stays in the by-ID cache (it is within its byte budget), the failure does not.
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn schema_texts_over_the_byte_budget_are_not_cached() {
        let big = format!(
            r#"{{"type":"record","name":"Reading","doc":"{}","fields":[{{"name":"v","type":"int"}}]}}"#,
            "d".repeat(2 << 20)
        );
        let (client, seen) = registry_serving(big, |b| b.cache_max_bytes(1 << 20));
        for _ in 0..3 {
            assert!(client.schema_by_id_cached(SchemaId(5)).await.is_ok());
        }
        assert_eq!(client.stats().cached_id_bytes, 0, "a 2 MiB schema is not kept under a 1 MiB budget");
        assert_eq!(seen.load(Ordering::SeqCst), 3);
    }
    /// A registry answering each request's path with `answer(path)`: a JSON body, after an optional pause.
    fn registry_answering(
        connections: usize,
        answer: impl Fn(&str) -> (std::time::Duration, String) + Send + Sync + 'static,
        configure: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder,
    ) -> (SchemaRegistryClient, Arc<std::sync::atomic::AtomicUsize>) {
        let (url, seen) = serve(connections, move |conn, head, _| {
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let (pause, body) = answer(&path);
            std::thread::sleep(pause);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(body.as_bytes());
        });
        (configure(SchemaRegistryClient::builder([url]).max_retries(0)).build().expect("a valid client"), seen)
    }

    /// A schema referring to `n` subjects `s0` … `s(n-1)`, each defining a record `Ri` of `pad` bytes of doc.
    fn with_references(
        n: usize,
        pad: usize,
        pause: std::time::Duration,
    ) -> impl Fn(&str) -> (std::time::Duration, String) {
        move |path: &str| {
            if let Some(rest) = path.strip_prefix("/subjects/s") {
                let i: usize = rest.split('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
                let text = format!(
                    r#"{{"type":"record","name":"R{i}","doc":"{}","fields":[{{"name":"x","type":"int"}}]}}"#,
                    "d".repeat(pad)
                );
                let body = serde_json::json!({"subject": format!("s{i}"), "version": 1, "id": 100 + i, "schema": text});
                return (pause, body.to_string());
            }
            let fields: Vec<String> = (0..n).map(|i| format!(r#"{{"name":"f{i}","type":"R{i}"}}"#)).collect();
            let text = format!(r#"{{"type":"record","name":"Reading","fields":[{}]}}"#, fields.join(","));
            let refs: Vec<serde_json::Value> = (0..n)
                .map(|i| serde_json::json!({"name": format!("R{i}"), "subject": format!("s{i}"), "version": 1}))
                .collect();
            (std::time::Duration::ZERO, serde_json::json!({"schema": text, "references": refs}).to_string())
        }
    }

    #[tokio::test]
    async fn one_deadline_covers_a_schema_and_all_its_references() {
        // Ten references answered after 400 ms each: with a deadline per request, one deserialize took 4 s
        // against a 1 s call timeout.
        let (client, _) = registry_answering(11, with_references(10, 0, std::time::Duration::from_millis(400)), |b| {
            b.call_timeout(std::time::Duration::from_secs(1))
        });
        let de = AvroDeserializer::<Reading>::new(client).expect("the type's schema is valid");
        let started = std::time::Instant::now();
        let err = de.deserialize("t", &framed(9, 1)).await.unwrap_err();
        assert!(
            matches!(&err, DeserializeError::Registry { source: RegistryError::Timeout { after, .. }, .. }
                if *after == std::time::Duration::from_secs(1)),
            "{err}"
        );
        assert!(err.is_retriable());
        assert!(started.elapsed() < std::time::Duration::from_millis(2500), "took {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn references_are_bounded_in_bytes_and_an_unusable_schema_is_refused_from_memory() {
        // Three references of 1 MB each under a 2 MiB budget for a schema and its references together.
        let (client, seen) = registry_answering(10, with_references(3, 1 << 20, std::time::Duration::ZERO), |b| {
            b.max_response_bytes(2 << 20)
        });
        let de = AvroDeserializer::<Reading>::new(client.clone()).expect("the type's schema is valid");
        for _ in 0..5 {
            let err = de.deserialize("t", &framed(3, 1)).await.unwrap_err();
            assert!(
                matches!(&err, DeserializeError::Registry { source: RegistryError::UnusableSchema { .. }, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("bytes of schema text"), "{err}");
            assert!(!err.is_retriable());
        }
        // Fetched and judged once: the refusal is remembered per ID, not re-parsed for every message.
        assert_eq!(seen.load(Ordering::SeqCst), 3, "the schema and the two references read before the budget ran out");
        assert_eq!(de.core.plans.usage().0, 1);
    }

    #[tokio::test]
    async fn refusals_of_a_huge_union_are_short_shared_and_bounded() {
        // A writer union of 5,000 records, none of which `Reading` can read: 5,000 breaks.
        let records: Vec<String> = (0..5_000)
            .map(|i| format!(r#"{{"type":"record","name":"U{i}","fields":[{{"name":"a","type":"int"}}]}}"#))
            .collect();
        let (client, _) = registry_serving(format!("[{}]", records.join(",")), |b| b);
        let de = AvroDeserializer::<Reading>::new(client).expect("the type's schema is valid");
        let first = de.deserialize("t", &framed(4, 1)).await.unwrap_err();
        let second = de.deserialize("t", &framed(4, 2)).await.unwrap_err();
        let (DeserializeError::Incompatible { source: a, .. }, DeserializeError::Incompatible { source: b, .. }) =
            (&first, &second)
        else {
            panic!("{first}")
        };
        assert!(Arc::ptr_eq(a, b), "every refusal shares one list of breaks");
        // Each branch breaks two rules (another name, a field without default).
        assert_eq!((a.breaks.len(), a.count()), (KEPT_BREAKS, 10_000));
        let text = first.to_string();
        assert!(text.len() < 16 << 10 && text.contains("and 9990 more"), "{} bytes", text.len());
    }

    #[tokio::test]
    async fn the_plan_cache_is_bounded_by_bytes() {
        // 40 writer schemas of about 200 KB each (a large doc-free record: the resolver keeps its model), under a
        // 4 MiB budget: at most a couple of plans stay, not all 40.
        let fields: Vec<String> = (0..8_000).map(|i| format!(r#"{{"name":"extra_{i}","type":"long"}}"#)).collect();
        let text = format!(
            r#"{{"type":"record","name":"Reading","fields":[{{"name":"v","type":"int"}},{}]}}"#,
            fields.join(",")
        );
        let (client, _) = registry_serving_many(40, text, |b| b.cache_max_bytes(4 << 20));
        let de = AvroDeserializer::<Reading>::new(client).expect("the type's schema is valid");
        for id in 0..40 {
            let mut payload = Vec::new();
            wire::write_header(&mut payload, SchemaId(id));
            typed_kafka_avro::codec::encoding::put_int(&mut payload, 5);
            for _ in 0..8_000 {
                typed_kafka_avro::codec::encoding::put_long(&mut payload, 1);
            }
            assert_eq!(de.deserialize("t", &payload).await, Ok(Reading(5)));
        }
        let (entries, bytes) = de.core.plans.usage();
        assert!(entries < 40 && bytes <= 4 << 20, "{entries} plans, {bytes} bytes");
        assert!(entries >= 1);
    }

    /// As [`registry_serving`], for `connections` requests.
    fn registry_serving_many(
        connections: usize,
        schema: String,
        configure: impl FnOnce(crate::ClientBuilder) -> crate::ClientBuilder,
    ) -> (SchemaRegistryClient, Arc<std::sync::atomic::AtomicUsize>) {
        let body = serde_json::json!({ "schema": schema }).to_string();
        registry_answering(connections, move |_| (std::time::Duration::ZERO, body.clone()), configure)
    }
    #[tokio::test]
    async fn a_record_framed_by_header_names_its_schema_by_guid_or_id() {
        // A registry that knows the type's schema under ID 3 and under a GUID.
        let guid = "00112233-4455-6677-8899-aabbccddeeff";
        let schema = serde_json::json!({
            "schema": r#"{"type":"record","name":"Reading","fields":[{"name":"v","type":"int"}]}"#
        })
        .to_string();
        let (client, seen) = registry_answering(
            10,
            move |path| {
                let known = path == "/schemas/ids/3" || path == format!("/schemas/guids/{guid}");
                (std::time::Duration::ZERO, if known { schema.clone() } else { String::new() })
            },
            |b| b,
        );
        let de = AvroDeserializer::<Reading>::new(client).expect("the type's schema is valid");
        let mut body = Vec::new();
        Reading(42).encode(&mut body).expect("an int encodes");
        let mut by_guid = vec![1u8];
        by_guid.extend(0x0011_2233_4455_6677_8899_aabb_ccdd_eeffu128.to_be_bytes());
        for _ in 0..3 {
            assert_eq!(de.deserialize_headed("t", Some(&by_guid), &body).await, Ok(Reading(42)));
        }
        assert_eq!(de.deserialize_headed("t", Some(&[0, 0, 0, 0, 3]), &body).await, Ok(Reading(42)));
        // Without a header the payload is framed, as always.
        assert_eq!(de.deserialize_headed("t", None, &framed(3, 42)).await, Ok(Reading(42)));
        assert_eq!(seen.load(Ordering::SeqCst), 2, "one request per schema, each remembered");
        // A header of an unknown version is a framing error, not a registry call.
        let err = de.deserialize_headed("t", Some(&[7, 0, 0]), &body).await.unwrap_err();
        assert!(matches!(
            err,
            DeserializeError::Framing { source: wire::FramingError::HeaderVersion { found: 7 }, .. }
        ));
    }
}
