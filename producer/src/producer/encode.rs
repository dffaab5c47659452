//! Validating and encoding a record's key and value: each bound value type has a [`ValueLane`] (its encoder and
//! its custom partitioner, if any), made once at bind and held in the struct `topic!` generates per topic, so a send
//! reaches it through a field, without a lookup or a downcast. The encoded bytes go into buffers kept per thread
//! and reused, so the steady state allocates no buffer per record.

use std::cell::Cell;
use std::thread::LocalKey;

use typed_kafka_avro::{KafkaRecord, SchemaId};
use typed_kafka_registry::{BoundSerializer, SerializeError, write_framed};

/// A value or Avro key type's encoder, bound to one topic.
#[doc(hidden)]
pub enum Encoder<V> {
    /// Through the registry: the schema ID resolved at bind time (and followed in use-latest mode).
    Registry(BoundSerializer<V>),
    /// A schema ID known without a registry (IDs the producer gives itself, as the mock does).
    Pinned(SchemaId),
}

impl<V: KafkaRecord> Encoder<V> {
    /// Appends `value`, framed, to `buf` and returns its schema ID; a violation leaves `buf` as it was. The
    /// data-contract rules are the caller's (the send path runs the key's and the value's together).
    #[inline]
    pub(crate) fn encode(&self, topic: &str, value: &V, buf: &mut Vec<u8>) -> Result<SchemaId, SerializeError> {
        match self {
            Encoder::Registry(s) => s.serialize_without_rules(value, buf),
            Encoder::Pinned(id) => write_framed(topic, *id, value, buf).map(|()| *id),
        }
    }

    /// Appends the rules that the registered schema of the framed record `framed` carries and the type does not,
    /// and that the record breaks (none without a registry).
    #[inline]
    pub(crate) fn registered_rule_violations(&self, framed: &[u8], out: &mut Vec<typed_kafka_avro::RuleViolation>) {
        if let Encoder::Registry(s) = self {
            s.registered_rule_violations(framed, out);
        }
    }

    /// The schema ID values are framed with now.
    pub(crate) fn schema_id(&self) -> SchemaId {
        match self {
            Encoder::Registry(s) => s.schema_id(),
            Encoder::Pinned(id) => *id,
        }
    }
}

/// A custom partitioner: the typed key and value (`None`: absent) and the partition count, to a partition.
pub(crate) type PartitionerFn<K, V> = Box<dyn Fn(Option<&K>, Option<&V>, i32) -> i32 + Send + Sync>;

/// What one value type of a bound topic needs per record: its encoder and its custom partitioner. Made at bind;
/// the struct `topic!` generates holds one per value type (not for direct use).
#[doc(hidden)]
pub struct ValueLane<K, V> {
    pub(crate) encoder: Encoder<V>,
    pub(crate) partitioner: Option<PartitionerFn<K, V>>,
}

impl<K, V> ValueLane<K, V> {
    pub(crate) fn new(encoder: Encoder<V>, partitioner: Option<PartitionerFn<K, V>>) -> ValueLane<K, V> {
        ValueLane { encoder, partitioner }
    }
}

thread_local! {
    /// The key and value buffers of the last record this thread handed to the batching core, which copies the
    /// bytes: reused so that the steady state allocates no buffers per record.
    static KEY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    static VALUE_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Buffers larger than this are not kept for reuse (one huge record should not pin its memory).
const MAX_POOLED: usize = 64 * 1024;

/// A buffer for a record's key or value: this thread's spare one, or a new one.
pub(crate) enum Part {
    Key,
    Value,
}

impl Part {
    fn slot(&self) -> &'static LocalKey<Cell<Vec<u8>>> {
        match self {
            Part::Key => &KEY_BUFFER,
            Part::Value => &VALUE_BUFFER,
        }
    }

    /// This thread's spare buffer (empty).
    pub(crate) fn buffer(&self) -> Vec<u8> {
        self.slot().take()
    }

    /// Keeps `buf` as this thread's spare, unless it grew too large.
    pub(crate) fn recycle(&self, buf: Option<Vec<u8>>) {
        if let Some(mut buf) = buf
            && buf.capacity() <= MAX_POOLED
        {
            buf.clear();
            self.slot().set(buf);
        }
    }
}

/// A record's bytes and where it goes, before it takes its share of the byte budget.
pub(crate) struct Encoded {
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) value: Option<Vec<u8>>,
    pub(crate) key_id: Option<SchemaId>,
    pub(crate) value_id: Option<SchemaId>,
    /// The partition chosen on this side, if any.
    pub(crate) partition: Option<i32>,
    /// Key, value and header bytes (at least 1), what the record takes from the budget besides the overhead.
    pub(crate) size: u32,
}

impl Encoded {
    /// Gives the buffers back to this thread for the next record.
    pub(crate) fn recycle(self) {
        Part::Key.recycle(self.key);
        Part::Value.recycle(self.value);
    }
}
