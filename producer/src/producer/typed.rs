//! [`TypedProducer`]: the records of one typed topic, in every send mode. A send runs the record's way in order:
//! open? → interceptors → encode and validate ([`encode`](super::encode)) → partition ([`route`](super::route)) →
//! byte budget (`budget`) → a ticket ([`report::ticket`]) → the topic's sink
//! ([`transport`](super::transport)); the report comes back through [`report`](super::report) to the
//! [`Delivery`], the callback or the counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use typed_kafka_avro::SchemaId;
use typed_kafka_registry::{RecordPart, SerializeError};

use super::client::Producer;
use super::completion::{self, Callback, Delivery, DeliveryResult, Meta, Waiter};
use super::dead_letter::{self, DeadLetters, Letter};
use super::encode::{Encoded, Part};
use super::error::{DeliveryError, SendError, SendErrorKind};
use super::executor;
use super::otel::{self, SpanSlot};
use super::report;
use super::route::{self, KeyHashing};
use super::transport::{Outgoing, Sink};
use crate::partition::java_partition;
use crate::record::{Record, RecordMetadata};
use crate::topic::{KeyFormat, KeyKind, KeyOf, Topic, ValueOf};

/// What binding a topic made, for its [`TypedProducer`].
pub(crate) struct Bound<T: Topic> {
    pub(crate) producer: Producer,
    pub(crate) topic: Arc<str>,
    pub(crate) topic_index: u32,
    pub(crate) sink: Box<dyn Sink>,
    pub(crate) key: <T::Key as KeyFormat>::Encoder,
    pub(crate) lanes: T::Lanes,
    pub(crate) key_hashing: KeyHashing,
    pub(crate) allow_key_schema_change: bool,
    /// The partition count, kept current by the transport.
    pub(crate) partitions: Arc<AtomicI32>,
    /// Where records refused for breaking a data-contract rule are also written, if anywhere.
    pub(crate) dead_letters: Option<DeadLetters>,
}

struct TypedInner<T: Topic> {
    bound: Bound<T>,
    /// The same name, for the futures of awaited records: a copy of its own, so that the sending threads, which
    /// take a reference per awaited record, and the delivery thread, which takes one per reported record, do not
    /// write one reference count.
    awaited_topic: Arc<str>,
    /// The schema ID the topic's Avro keys are framed with ([`NO_KEY_ID`]: none).
    key_id: AtomicU64,
}

const NO_KEY_ID: u64 = u64::MAX;

/// Sends the records of the typed topic `T`: keys of `T`'s key type, values of `T`'s value types (anything else
/// does not compile, and the message names the topic). Cheap to clone (an `Arc` inside); from
/// [`Producer::bind`].
pub struct TypedProducer<T: Topic> {
    inner: Arc<TypedInner<T>>,
}

impl<T: Topic> Clone for TypedProducer<T> {
    fn clone(&self) -> Self {
        TypedProducer { inner: self.inner.clone() }
    }
}

impl<T: Topic> std::fmt::Debug for TypedProducer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedProducer")
            .field("topic", &self.inner.bound.topic)
            .field("partitions", &self.partitions())
            .finish_non_exhaustive()
    }
}

/// The result of the awaited and blocking sends: refused before enqueue (with the record), or not delivered.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum ProduceError<K, V> {
    /// Refused before it was enqueued; the record is in the error.
    #[error(transparent)]
    Refused(SendError<K, V>),
    /// Enqueued, then not delivered.
    #[error(transparent)]
    NotDelivered(DeliveryError),
}

impl<K, V> std::fmt::Debug for ProduceError<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProduceError::Refused(e) => f.debug_tuple("Refused").field(e).finish(),
            ProduceError::NotDelivered(e) => f.debug_tuple("NotDelivered").field(e).finish(),
        }
    }
}

impl<K, V> ProduceError<K, V> {
    /// Whether sending the same record again may succeed.
    pub fn is_retriable(&self) -> bool {
        match self {
            ProduceError::Refused(e) => e.is_retriable(),
            ProduceError::NotDelivered(e) => e.is_retriable(),
        }
    }

    /// The record, when it was refused before enqueue.
    pub fn into_record(self) -> Option<Record<K, V>> {
        match self {
            ProduceError::Refused(e) => Some(e.into_record()),
            ProduceError::NotDelivered(_) => None,
        }
    }
}

impl<K, V> From<SendError<K, V>> for ProduceError<K, V> {
    fn from(e: SendError<K, V>) -> Self {
        ProduceError::Refused(e)
    }
}

impl<K, V> From<DeliveryError> for ProduceError<K, V> {
    fn from(e: DeliveryError) -> Self {
        ProduceError::NotDelivered(e)
    }
}

/// Who wants a record's outcome, as the send mode says.
enum Want {
    Nothing,
    Delivery,
    Callback(Callback),
}

/// What a send mode gets back once the record is enqueued.
struct Enqueued {
    record_id: u64,
    delivery: Option<Delivery>,
}

impl<T: Topic> TypedProducer<T> {
    pub(crate) fn new(bound: Bound<T>) -> TypedProducer<T> {
        let key_id = <T::Key as KeyFormat>::schema_id(&bound.key).map_or(NO_KEY_ID, |id| u64::from(id.0));
        let awaited_topic = Arc::from(&*bound.topic);
        TypedProducer { inner: Arc::new(TypedInner { bound, awaited_topic, key_id: AtomicU64::new(key_id) }) }
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.inner.bound.topic
    }

    /// The producer this topic is bound to.
    pub fn producer(&self) -> &Producer {
        &self.inner.bound.producer
    }

    /// The topic's partition count, as the producer last read it (every `metadata.max.age.ms`).
    pub fn partitions(&self) -> i32 {
        self.inner.bound.partitions.load(Ordering::Relaxed)
    }

    /// The partition Java's default partitioner gives `key` on this topic, with the partition count the producer
    /// last read: murmur2 of the serialized key (the Confluent frame included for an Avro key, unless
    /// [`KeyHashing::AvroBody`]).
    pub fn partition_for(&self, key: &KeyOf<T>) -> Result<i32, SerializeError> {
        let b = &self.inner.bound;
        let mut buf = Vec::new();
        <T::Key as KeyFormat>::encode(&b.key, &b.topic, key, &mut buf)?;
        let hashed = route::hashed(&buf, b.key_hashing, <T::Key as KeyFormat>::KIND == KeyKind::Avro);
        Ok(java_partition(hashed, route::count(&b.partitions) as u32) as i32)
    }

    /// Two-phase send: validates, encodes and enqueues the record (waiting up to `max.block.ms` for the byte
    /// budget), and returns its [`Delivery`] to await later. Errors before enqueue come back now, with the record.
    ///
    /// Dropping this future before it completes sends nothing; dropping the returned `Delivery` does not stop
    /// the record.
    pub async fn enqueue<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<Delivery, SendError<KeyOf<T>, V>> {
        let enqueued = self.submit(record, Want::Delivery, false).await?;
        Ok(enqueued.delivery.unwrap_or_else(|| unreachable!("a record that wants a delivery has one")))
    }

    /// Sends a record and waits for the broker's acknowledgement (or the delivery timeout).
    pub async fn send<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<RecordMetadata, ProduceError<KeyOf<T>, V>> {
        Ok(self.enqueue(record).await?.await?)
    }

    /// Fire-and-forget: enqueues the record without a per-record future, and returns its record ID. Errors before
    /// enqueue come back now; delivery failures reach only the metrics and the interceptors.
    pub async fn send_and_forget<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<u64, SendError<KeyOf<T>, V>> {
        self.submit(record, Want::Nothing, false).await.map(|e| e.record_id)
    }

    /// Enqueues the record and runs `callback` with its outcome on the producer's delivery thread, one callback at
    /// a time, in each partition's offset order (keep it short; a panic in it is caught and logged). Errors before
    /// enqueue come back now and the callback is not run. Returns the record ID.
    pub async fn send_with<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
        callback: impl FnOnce(Result<RecordMetadata, DeliveryError>) + Send + 'static,
    ) -> Result<u64, SendError<KeyOf<T>, V>> {
        self.submit(record, Want::Callback(completion::callback(callback)), false).await.map(|e| e.record_id)
    }

    /// [`send`](Self::send) for threads outside async code: blocks the calling thread until the record is
    /// acknowledged or failed (waiting up to `max.block.ms` for the byte budget first). It needs no async runtime;
    /// on an async runtime's thread use `send(..).await` instead, as blocking there stalls other tasks. On the
    /// producer's delivery thread (in a callback or an interceptor) it is refused with
    /// [`SendErrorKind::WouldDeadlock`].
    pub fn send_blocking<V: ValueOf<T>>(
        &self,
        record: Record<KeyOf<T>, V>,
    ) -> Result<RecordMetadata, ProduceError<KeyOf<T>, V>> {
        if executor::on_delivery_path() {
            return Err(self.refuse(SendErrorKind::WouldDeadlock, record).into());
        }
        let enqueued = executor::block_on_until(self.submit(record, Want::Delivery, true), None)
            .unwrap_or_else(|| unreachable!("waits without a deadline"))?;
        let delivery = enqueued.delivery.unwrap_or_else(|| unreachable!("a record that wants a delivery has one"));
        let result: DeliveryResult =
            executor::block_on_until(delivery, None).unwrap_or_else(|| unreachable!("waits without a deadline"));
        Ok(result?)
    }

    fn refuse<V>(&self, kind: SendErrorKind, record: Record<KeyOf<T>, V>) -> SendError<KeyOf<T>, V> {
        let b = &self.inner.bound;
        b.producer.inner.accounting.refused(&kind);
        SendError::new(kind, b.topic.clone(), record)
    }

    /// Every step of a send: [`prepare`](Self::prepare), then the hand-over to the sink. A refusal gives the
    /// record back (and drops a callback unrun).
    async fn submit<V: ValueOf<T>>(
        &self,
        mut record: Record<KeyOf<T>, V>,
        want: Want,
        blocking: bool,
    ) -> Result<Enqueued, SendError<KeyOf<T>, V>> {
        let accounting = &self.inner.bound.producer.inner.accounting;
        let key_text = record.key.as_ref().and_then(<T::Key as KeyFormat>::key_text);
        let tombstone = record.value.is_none();
        let mut span = otel::start(accounting, &self.inner.bound.topic, key_text, tombstone, &mut record.headers);
        match self.prepare(&mut record, blocking).await {
            Ok(encoded) => {
                otel::routed(&mut span, encoded.partition);
                self.hand_over(encoded, record, want, span)
            }
            Err(kind) => {
                otel::refused(accounting, &self.inner.bound.topic, span, &kind);
                if let (SendErrorKind::RuleViolation { part, .. }, Some(to)) = (&kind, &self.inner.bound.dead_letters) {
                    self.dead_letter(to, &record, *part, &kind, blocking).await;
                }
                Err(self.refuse(kind, record))
            }
        }
    }

    /// Tees a record refused for breaking a rule to the topic's dead-letter topic ([`dead_letter`]): built,
    /// given its share of the byte budget (waiting as a send does), and enqueued. A dead letter that cannot be
    /// built or enqueued is logged and counted; the record goes back to the caller either way.
    async fn dead_letter<V: ValueOf<T>>(
        &self,
        to: &DeadLetters,
        record: &Record<KeyOf<T>, V>,
        part: RecordPart,
        refusal: &SendErrorKind,
        blocking: bool,
    ) {
        let b = &self.inner.bound;
        let accounting = &b.producer.inner.accounting;
        let lost = |reason: &dyn std::fmt::Display| {
            accounting.dead_letter_lost();
            tracing::error!(topic = %to.topic, %reason, "a dead-letter record could not be written");
        };
        let key = match record.key.as_ref().map(|k| <T::Key as KeyFormat>::dead_letter_key(&b.key, &b.topic, k)) {
            Some(Err(reason)) => return lost(&reason),
            key => key.and_then(Result::ok),
        };
        let value = match record.value.as_ref().map(dead_letter::avro_json) {
            Some(Err(reason)) => return lost(&reason),
            value => value.and_then(Result::ok),
        };
        let subject = match part {
            RecordPart::Key => crate::subject::key_subject(&b.topic),
            RecordPart::Value => match crate::subject::value_subject::<V>(&b.topic, T::VALUE_TYPES).1 {
                Ok((subject, _)) => subject,
                Err(reason) => return lost(&reason),
            },
        };
        let mut letter = Letter::new(key, value, record.headers.clone(), &b.topic, &subject, refusal);
        accounting.on_send(&to.topic, &mut letter.headers);
        let size = letter.size();
        let reserved = if blocking { accounting.reserve_blocking(size) } else { accounting.reserve(size).await };
        match reserved {
            Ok(()) => dead_letter::enqueue(accounting, to, letter),
            Err(kind) => lost(&kind),
        }
    }

    /// Every step before the batching core: open?, interceptors, encoding, partition, the byte budget (awaited,
    /// or blocking the thread). On success the budget is held for the record. The record stays where the caller
    /// keeps it.
    async fn prepare<V: ValueOf<T>>(
        &self,
        record: &mut Record<KeyOf<T>, V>,
        blocking: bool,
    ) -> Result<Encoded, SendErrorKind> {
        let b = &self.inner.bound;
        let accounting = &b.producer.inner.accounting;
        if accounting.is_closing() {
            return Err(SendErrorKind::Closed);
        }
        if let Some((code, reason)) = accounting.fatal() {
            return Err(SendErrorKind::Fatal { code, reason });
        }
        accounting.check_transaction()?;
        accounting.on_send(&b.topic, &mut record.headers);
        let encoded = self.encode(record)?;
        if blocking {
            accounting.reserve_blocking(encoded.size)?
        } else {
            accounting.reserve(encoded.size).await?
        }
        Ok(encoded)
    }

    /// Validates and encodes the key and value, checks the size and chooses the partition. Nothing is enqueued.
    fn encode<V: ValueOf<T>>(&self, record: &Record<KeyOf<T>, V>) -> Result<Encoded, SendErrorKind> {
        let b = &self.inner.bound;
        let (key, key_id) = match &record.key {
            Some(k) => {
                let mut buf = Part::Key.buffer();
                match <T::Key as KeyFormat>::encode(&b.key, &b.topic, k, &mut buf) {
                    Ok(id) => (Some(buf), id),
                    Err(e) => {
                        Part::Key.recycle(Some(buf));
                        return Err(SendErrorKind::Key(e));
                    }
                }
            }
            None => (None, None),
        };
        let refuse = |kind, key| {
            Part::Key.recycle(key);
            Err(kind)
        };
        if let Some(id) = key_id {
            let previous = self.inner.key_id.load(Ordering::Relaxed);
            if previous != u64::from(id.0) && previous != NO_KEY_ID && !b.allow_key_schema_change {
                let current = id;
                return refuse(SendErrorKind::KeySchemaChanged { previous: SchemaId(previous as u32), current }, key);
            }
        }
        let lane = V::lane(&b.lanes);
        let (value, value_id) = match &record.value {
            Some(v) => {
                let mut buf = Part::Value.buffer();
                match lane.encoder.encode(&b.topic, v, &mut buf) {
                    Ok(id) => (Some(buf), Some(id)),
                    Err(e) => {
                        Part::Value.recycle(Some(buf));
                        return refuse(SendErrorKind::Value(e), key);
                    }
                }
            }
            None => (None, None),
        };
        let mut encoded = Encoded { key, value, key_id, value_id, partition: None, size: 0 };
        let size = encoded.key.as_ref().map_or(0, Vec::len)
            + encoded.value.as_ref().map_or(0, Vec::len)
            + record.headers.size();
        let max = b.producer.inner.config.max_request_size as usize;
        if size > max {
            encoded.recycle();
            return Err(SendErrorKind::TooLarge { size, max });
        }
        encoded.size = size.max(1) as u32;
        // Data-contract rules, after the schema and before the partitioner; nothing is allocated when they hold.
        // Then the rules the registered schemas carry that the types do not (one flag load each when none).
        let mut broken = Vec::new();
        if let Some(k) = &record.key {
            <T::Key as KeyFormat>::rule_violations(k, &mut broken);
            if let Some(framed) = &encoded.key {
                <T::Key as KeyFormat>::registered_rule_violations(&b.key, framed, &mut broken);
            }
        }
        let part = if broken.is_empty() { RecordPart::Value } else { RecordPart::Key };
        if let (Some(v), RecordPart::Value) = (&record.value, part) {
            v.rule_violations(&mut broken);
            if let Some(framed) = &encoded.value {
                lane.encoder.registered_rule_violations(framed, &mut broken);
            }
        }
        if !broken.is_empty() {
            encoded.recycle();
            return Err(SendErrorKind::RuleViolation { part, violations: broken });
        }
        let routed = route::choose(
            record.partition,
            lane.partitioner.as_ref(),
            record.key.as_ref(),
            record.value.as_ref(),
            encoded.key.as_deref(),
            b.key_hashing,
            <T::Key as KeyFormat>::KIND == KeyKind::Avro,
            &b.partitions,
        );
        match routed {
            Ok(partition) => {
                encoded.partition = partition;
                Ok(encoded)
            }
            Err(kind) => {
                encoded.recycle();
                Err(kind)
            }
        }
    }

    /// Hands a prepared record to the topic's sink with its ticket. On refusal the ticket is withdrawn, the budget
    /// given back and the record returned.
    fn hand_over<V: ValueOf<T>>(
        &self,
        encoded: Encoded,
        record: Record<KeyOf<T>, V>,
        want: Want,
        span: SpanSlot,
    ) -> Result<Enqueued, SendError<KeyOf<T>, V>> {
        let b = &self.inner.bound;
        let accounting = &b.producer.inner.accounting;
        let record_id = accounting.issue();
        let meta = Meta {
            record_id,
            bytes: encoded.size,
            key_size: encoded.key.as_ref().map(|k| k.len() as u32),
            value_size: encoded.value.as_ref().map(|v| v.len() as u32),
            key_schema_id: encoded.key_id,
            value_schema_id: encoded.value_id,
        };
        let (waiter, delivery) = match want {
            Want::Nothing => (Waiter::Nobody, None),
            Want::Delivery => {
                let (reporter, delivery) = completion::delivery(meta, self.inner.awaited_topic.clone());
                (Waiter::Future(reporter), Some(delivery))
            }
            Want::Callback(callback) => (Waiter::Callback(callback), None),
        };
        let ticket = report::traced_ticket(accounting, meta, b.topic_index, waiter, span);
        // The record is taken apart so that the sink may borrow its headers while a transport that keeps what was
        // sent (the mock) takes the rest; on refusal it is put back together.
        let Record { key, value, partition, timestamp, headers, .. } = record;
        let (mut key, mut value) = (Some(key), Some(value));
        let sent = {
            let outgoing = Outgoing {
                key: encoded.key.as_deref(),
                value: encoded.value.as_deref(),
                partition: encoded.partition,
                timestamp,
                headers: &headers,
                ticket,
            };
            let mut keep = || -> Arc<dyn std::any::Any + Send + Sync> {
                let (key, value) = (key.take().flatten(), value.take().flatten());
                Arc::new(Record::from_parts(key, value, partition, timestamp, headers.clone()))
            };
            b.sink.send(outgoing, &mut keep)
        };
        let size = encoded.size;
        encoded.recycle();
        match sent {
            Ok(()) => Ok(Enqueued { record_id, delivery }),
            Err(mut kind) => {
                let span = report::not_enqueued(accounting, ticket, size);
                if let SendErrorKind::UnknownPartition { partitions, .. } = &mut kind {
                    partitions.get_or_insert(self.partitions());
                }
                otel::refused(accounting, &b.topic, span, &kind);
                let record = Record::from_parts(key.flatten(), value.flatten(), partition, timestamp, headers);
                Err(self.refuse(kind, record))
            }
        }
    }
}
