//! Who waits for a record's outcome, and how they get it.
//!
//! The batching core carries one word per record, its [`Ticket`], and nothing it could leak: a fire-and-forget
//! record on a producer without interceptors is its ID alone ("quiet"); every other record is an entry of the
//! producer's [`Table`], which holds what its outcome needs (its [`Meta`]) and who waits for it (a [`Waiter`]: a
//! oneshot sender behind a [`Delivery`], a callback, or nobody but the interceptors). The delivery report takes the
//! entry out of the table; so do `close` at its deadline and the producer's teardown, for records whose report
//! never came. Whoever takes an entry completes it, exactly once, so every `Delivery` and callback resolves.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use slab::Slab;
use typed_kafka_avro::SchemaId;

use super::error::{DeliveryError, DeliveryErrorKind};
use super::otel::SpanSlot;
use crate::record::{RecordMetadata, Timestamp};

/// What a delivery callback is given.
pub(crate) type DeliveryResult = Result<RecordMetadata, DeliveryError>;

/// A delivery callback with its record's metadata, in one allocation.
pub(crate) trait Called: Send {
    /// The record's metadata, set when the record is enqueued.
    fn set_meta(&mut self, meta: Meta);
    fn meta(&self) -> &Meta;
    /// Runs the callback with the outcome.
    fn call(self: Box<Self>, result: DeliveryResult);
}

struct CalledWith<F> {
    meta: Meta,
    f: F,
}

impl<F: FnOnce(DeliveryResult) + Send> Called for CalledWith<F> {
    fn set_meta(&mut self, meta: Meta) {
        self.meta = meta;
    }
    fn meta(&self) -> &Meta {
        &self.meta
    }
    fn call(self: Box<Self>, result: DeliveryResult) {
        (self.f)(result)
    }
}

/// A delivery callback, boxed once with room for its record's metadata.
pub(crate) type Callback = Box<dyn Called>;

/// `f` as a [`Callback`].
pub(crate) fn callback(f: impl FnOnce(DeliveryResult) + Send + 'static) -> Callback {
    Box::new(CalledWith { meta: Meta::default(), f })
}

/// The outcome of one delivery, as the batching core reports it.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Delivered { partition: i32, offset: Option<i64>, timestamp: Option<Timestamp> },
    Failed(Failure),
}

/// A delivery that failed.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) partition: Option<i32>,
    pub(crate) kind: DeliveryErrorKind,
    pub(crate) code: Option<super::error::ErrorCode>,
    pub(crate) message: String,
    pub(crate) retriable: bool,
}

impl Failure {
    /// A record the producer failed itself, without a report: `close`'s deadline or the teardown.
    pub(crate) fn purged(message: &str) -> Failure {
        Failure {
            partition: None,
            kind: DeliveryErrorKind::Purged,
            code: None,
            message: message.to_string(),
            retriable: false,
        }
    }
}

impl Outcome {
    pub(crate) fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }
}

/// What a record's metadata needs besides the delivery report.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Meta {
    pub(crate) record_id: u64,
    /// Bytes it holds of the byte budget (key, value and headers; the per-record overhead comes on top).
    pub(crate) bytes: u32,
    pub(crate) key_size: Option<u32>,
    pub(crate) value_size: Option<u32>,
    pub(crate) key_schema_id: Option<SchemaId>,
    pub(crate) value_schema_id: Option<SchemaId>,
}

impl Meta {
    /// A record known only by its ID and bytes.
    pub(crate) const fn quiet(record_id: u64, bytes: u32) -> Meta {
        Meta { record_id, bytes, key_size: None, value_size: None, key_schema_id: None, value_schema_id: None }
    }

    /// The outcome as the sender, the interceptors and the callbacks see it.
    pub(crate) fn result(&self, topic: Arc<str>, outcome: Outcome) -> DeliveryResult {
        match outcome {
            Outcome::Delivered { partition, offset, timestamp } => Ok(RecordMetadata {
                topic,
                partition,
                offset,
                timestamp,
                serialized_key_size: self.key_size.map(|n| n as usize),
                serialized_value_size: self.value_size.map(|n| n as usize),
                key_schema_id: self.key_schema_id,
                value_schema_id: self.value_schema_id,
                record_id: self.record_id,
            }),
            Outcome::Failed(Failure { partition, kind, code, message, retriable }) => {
                Err(DeliveryError { topic, partition, record_id: self.record_id, kind, code, message, retriable })
            }
        }
    }
}

/// Who wants a tracked record's outcome.
pub(crate) enum Waiter {
    /// Only the counters and the interceptors (a fire-and-forget record on a producer with interceptors).
    Nobody,
    /// A [`Delivery`], through its cell.
    Future(Reporter),
    /// A callback.
    Callback(Callback),
}

/// What an awaited record's [`Delivery`] and its reporter share: the record's metadata, written when it is
/// enqueued, and its outcome once reported. One allocation per awaited record.
struct Cell {
    meta: Meta,
    state: Mutex<State>,
}

enum State {
    /// Not reported yet; the waker of the task that polled last.
    Waiting(Option<Waker>),
    /// As the batching core reported it: the `Delivery` builds the metadata with its own topic handle.
    Reported(Outcome),
    /// Already built (for the interceptors, or the close report). Boxed, as this is the rare case: it keeps every
    /// cell small.
    Built(Box<DeliveryResult>),
    /// The reporter went away without reporting (only a panic on the delivery thread can do that).
    Lost,
}

impl Cell {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a reporter that already reported would say (never read: a reporter is used once).
static NO_META: Meta = Meta::quiet(0, 0);

/// The reporting side of an awaited record: tells its [`Delivery`] the outcome, once. Dropped without reporting,
/// it tells the `Delivery` the outcome was lost, so that it never waits forever.
pub(crate) struct Reporter(Option<Arc<Cell>>);

impl Reporter {
    /// The record's metadata.
    fn meta(&self) -> &Meta {
        self.0.as_ref().map_or(&NO_META, |cell| &cell.meta)
    }

    /// Stores `state` and wakes the awaiting task (outside the lock: it may run at once, elsewhere, and poll).
    fn set(mut self, state: State) {
        let Some(cell) = self.0.take() else { return };
        let waker = match std::mem::replace(&mut *cell.lock(), state) {
            State::Waiting(waker) => waker,
            _ => None,
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The outcome as the batching core reported it.
    pub(crate) fn outcome(self, outcome: Outcome) {
        self.set(State::Reported(outcome));
    }

    /// The outcome, already built.
    pub(crate) fn built(self, result: DeliveryResult) {
        self.set(State::Built(Box::new(result)));
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if self.0.is_some() {
            Reporter(self.0.take()).set(State::Lost);
        }
    }
}

/// A [`Delivery`] for a record with `meta` sent to `topic`, and its reporter.
pub(crate) fn delivery(meta: Meta, topic: Arc<str>) -> (Reporter, Delivery) {
    let cell = Arc::new(Cell { meta, state: Mutex::new(State::Waiting(None)) });
    (Reporter(Some(cell.clone())), Delivery { cell, topic })
}

/// A tracked record in the table: small, as the sending and the delivery threads hand it over through memory. Its
/// metadata is where its waiter keeps it: a `Delivery`'s cell, a callback's box.
pub(crate) struct Entry {
    record_id: u64,
    /// Its topic's index among the producer's topics.
    pub(crate) topic: u32,
    held: Held,
    /// Its OpenTelemetry span (zero-sized without the `otel` feature).
    span: SpanSlot,
}

enum Held {
    Nobody(Box<Meta>),
    Future(Reporter),
    Callback(Callback),
}

impl Entry {
    /// The entry of a record with `meta` sent to the topic of index `topic`, waited for by `waiter`.
    pub(crate) fn new(meta: Meta, topic: u32, waiter: Waiter) -> Entry {
        let held = match waiter {
            Waiter::Nobody => Held::Nobody(Box::new(meta)),
            Waiter::Future(reporter) => Held::Future(reporter),
            Waiter::Callback(mut callback) => {
                callback.set_meta(meta);
                Held::Callback(callback)
            }
        };
        Entry { record_id: meta.record_id, topic, held, span: super::otel::no_span() }
    }

    /// The entry with the record's span.
    pub(crate) fn with_span(mut self, span: SpanSlot) -> Entry {
        self.span = span;
        self
    }

    /// The record's span, taken out.
    pub(crate) fn take_span(&mut self) -> SpanSlot {
        std::mem::replace(&mut self.span, super::otel::no_span())
    }

    pub(crate) fn meta(&self) -> &Meta {
        match &self.held {
            Held::Nobody(meta) => meta,
            Held::Future(reporter) => reporter.meta(),
            Held::Callback(callback) => callback.meta(),
        }
    }

    /// Who waits, taken out.
    pub(crate) fn into_waiter(self) -> Waiter {
        match self.held {
            Held::Nobody(_) => Waiter::Nobody,
            Held::Future(reporter) => Waiter::Future(reporter),
            Held::Callback(callback) => Waiter::Callback(callback),
        }
    }
}

/// The word the batching core carries for a record.
///
/// Bit 0 set: a quiet record, its ID in the other bits. Bit 0 clear: a table entry: the shard in bits 1 to 5, the
/// next 26 bits of the record's ID in bits 6 to 31 (the shard is the ID's low 5 bits), and the entry's key in its
/// shard in the high 32 bits. A report checks the ID bits, so that a stale report (of an entry `close` already
/// failed) never completes the entry that took its key afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(usize);

impl Ticket {
    /// The largest ID a quiet record may have.
    pub(crate) const MAX_QUIET_ID: u64 = (usize::MAX >> 1) as u64;

    pub(crate) fn quiet(record_id: u64) -> Ticket {
        Ticket(((record_id as usize) << 1) | 1)
    }

    fn tracked(key: usize, record_id: u64) -> Ticket {
        Ticket((key << 32) | ((record_id as usize & ID_BITS) << 1))
    }

    /// The word, for the batching core.
    pub(crate) fn word(self) -> usize {
        self.0
    }

    /// The ticket the batching core carried.
    pub(crate) fn from_word(word: usize) -> Ticket {
        Ticket(word)
    }

    /// A quiet record's ID.
    pub(crate) fn quiet_id(self) -> Option<u64> {
        (self.0 & 1 == 1).then_some((self.0 >> 1) as u64)
    }

    /// A tracked record's shard, key in it and ID bits.
    fn parts(self) -> (usize, usize, usize) {
        let id = (self.0 >> 1) & ID_BITS;
        (id % SHARDS, self.0 >> 32, id)
    }
}

// A tracked ticket keeps a table key in its high 32 bits.
const _: () = assert!(usize::BITS == 64, "typed-kafka's tickets need 64-bit words");

/// Shards of the table: a record's is its ID modulo this, so the sending threads (inserting the newest records)
/// and the delivery thread (taking records a buffer's worth older) almost never want the same shard at once.
const SHARDS: usize = 32;
/// The bits of a record's ID a tracked ticket keeps: the shard's 5 and 26 more.
const ID_BITS: usize = (1 << 31) - 1;

/// One shard: a slab behind a lock, on cache lines of its own.
#[repr(align(128))]
#[derive(Default)]
struct Shard(Mutex<Slab<Entry>>);

/// The records whose outcome someone waits for, by ticket.
pub(crate) struct Table {
    shards: Box<[Shard]>,
}

impl Default for Table {
    fn default() -> Table {
        Table { shards: (0..SHARDS).map(|_| Shard::default()).collect() }
    }
}

impl Table {
    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Slab<Entry>> {
        self.shards[shard].0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a record about to be enqueued; its ticket for the batching core.
    pub(crate) fn insert(&self, entry: Entry) -> Ticket {
        let record_id = entry.record_id;
        let key = self.lock((record_id as usize & ID_BITS) % SHARDS).insert(entry);
        Ticket::tracked(key, record_id)
    }

    /// Takes the entry of `ticket` out, if it is still there (a record's report, a refused enqueue).
    pub(crate) fn take(&self, ticket: Ticket) -> Option<Entry> {
        let (shard, key, id) = ticket.parts();
        let mut entries = self.lock(shard);
        match entries.get(key) {
            Some(e) if e.record_id as usize & ID_BITS == id => Some(entries.remove(key)),
            _ => None,
        }
    }

    /// Takes every entry out (`close` at its deadline, the teardown).
    pub(crate) fn drain(&self) -> Vec<Entry> {
        (0..SHARDS).flat_map(|s| self.lock(s).drain().collect::<Vec<_>>()).collect()
    }

    /// How many records are tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS).map(|s| self.lock(s).len()).sum()
    }
}

/// The outcome of an enqueued record, to await when it is wanted: [`RecordMetadata`] or a [`DeliveryError`].
/// Dropping it does not cancel the record, which is still delivered; only its result is discarded.
///
/// It always resolves: with the broker's answer, at `delivery.timeout.ms`, or with
/// [`Purged`](DeliveryErrorKind::Purged) when the producer is closed or dropped first (within the bound the
/// producer module docs give). Polled again after it resolved, it returns the same result.
#[must_use = "dropping a Delivery discards the outcome (the record is still delivered)"]
pub struct Delivery {
    cell: Arc<Cell>,
    /// The topic's name, a handle of the awaiting side's own (see `TypedProducer`'s `awaited_topic`).
    topic: Arc<str>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery").field("topic", &self.topic).field("record_id", &self.record_id()).finish()
    }
}

impl Delivery {
    /// The producer's sequence number for the record (as `CloseReport` lists it).
    pub fn record_id(&self) -> u64 {
        self.cell.meta.record_id
    }
}

impl Future for Delivery {
    type Output = DeliveryResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        let mut state = self.cell.lock();
        match &mut *state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Reported(outcome) => Poll::Ready(self.cell.meta.result(self.topic.clone(), outcome.clone())),
            State::Built(result) => Poll::Ready((**result).clone()),
            State::Lost => Poll::Ready(Err(DeliveryError {
                topic: self.topic.clone(),
                partition: None,
                record_id: self.cell.meta.record_id,
                kind: DeliveryErrorKind::Other,
                code: None,
                message: "the record's outcome was lost by the producer".to_string(),
                retriable: false,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(record_id: u64) -> Meta {
        Meta { key_size: Some(3), value_schema_id: Some(SchemaId(7)), ..Meta::quiet(record_id, 10) }
    }

    #[test]
    fn tickets_round_trip_and_stale_ones_find_nothing() {
        for id in [0, 1, 41, u64::from(u32::MAX) + 7, Ticket::MAX_QUIET_ID] {
            assert_eq!(Ticket::from_word(Ticket::quiet(id).word()).quiet_id(), Some(id));
        }
        let table = Table::default();
        let a = table.insert(Entry::new(meta(5), 0, Waiter::Nobody));
        assert_eq!(a.quiet_id(), None);
        assert_eq!(table.take(a).map(|e| e.meta().record_id), Some(5));
        // The key is reused by a record of the same shard; the first record's stale ticket does not find it.
        let b = table.insert(Entry::new(meta(5 + 32), 0, Waiter::Nobody));
        assert_eq!(a.word() >> 32, b.word() >> 32);
        assert_eq!(a.parts().0, b.parts().0);
        assert!(table.take(a).is_none());
        assert_eq!(table.len(), 1);
        assert_eq!(table.drain().len(), 1);
        assert!(table.take(b).is_none());
    }

    /// A delivery resolves once its outcome is reported, polled again returns the same result, and a reporter
    /// dropped without reporting still resolves it.
    #[test]
    fn a_delivery_resolves_and_stays_resolved() {
        let (reporter, mut d) = delivery(meta(5), "orders".into());
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut d).poll(&mut cx).is_pending());
        reporter.outcome(Outcome::Delivered { partition: 1, offset: Some(9), timestamp: None });
        for _ in 0..2 {
            let Poll::Ready(Ok(m)) = Pin::new(&mut d).poll(&mut cx) else { panic!("delivered") };
            assert_eq!((m.partition, m.offset, m.record_id, m.value_schema_id), (1, Some(9), 5, Some(SchemaId(7))));
            assert_eq!(&*m.topic, "orders");
        }
        let (reporter, mut d) = delivery(meta(6), "orders".into());
        drop(reporter);
        let Poll::Ready(Err(e)) = Pin::new(&mut d).poll(&mut cx) else { panic!("failed") };
        assert_eq!((e.record_id, e.kind), (6, DeliveryErrorKind::Other));
        assert_eq!(size_of::<Delivery>(), 3 * size_of::<usize>(), "a Delivery is small: callers keep many");
        assert!(size_of::<Cell>() <= 128, "a cell is {} bytes", size_of::<Cell>());
        // With the `otel` feature an entry also holds its span's box.
        let most = if cfg!(feature = "otel") { 48 } else { 40 };
        assert!(size_of::<Entry>() <= most, "an entry is {} bytes", size_of::<Entry>());
    }
}
