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
use crate::record::{RecordMetadata, Timestamp};

/// What a delivery callback is given.
pub(crate) type DeliveryResult = Result<RecordMetadata, DeliveryError>;

/// A delivery callback.
pub(crate) type Callback = Box<dyn FnOnce(DeliveryResult) + Send>;

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
#[derive(Debug, Clone, Copy)]
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
    #[cfg(test)]
    pub(crate) fn quiet(record_id: u64, bytes: u32) -> Meta {
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

/// The reporting side of an awaited record: tells its [`Delivery`] the outcome, once. Dropped without reporting,
/// it tells the `Delivery` the outcome was lost, so that it never waits forever.
pub(crate) struct Reporter(Option<Arc<Cell>>);

impl Reporter {
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

/// A tracked record in the table.
pub(crate) struct Entry {
    pub(crate) meta: Meta,
    /// Its topic's index among the producer's topics (for a record failed without a report, which names none).
    pub(crate) topic: u32,
    pub(crate) waiter: Waiter,
}

/// The word the batching core carries for a record.
///
/// Bit 0 set: a quiet record, its ID in the other bits. Bit 0 clear: a table entry, its key in the high 32 bits
/// and the low 31 bits of the record's ID in bits 1 to 31, which a report checks, so that a stale report (of an
/// entry `close` already failed) never completes the entry that took its key afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(usize);

impl Ticket {
    /// The largest ID a quiet record may have.
    pub(crate) const MAX_QUIET_ID: u64 = (usize::MAX >> 1) as u64;

    pub(crate) fn quiet(record_id: u64) -> Ticket {
        Ticket(((record_id as usize) << 1) | 1)
    }

    fn tracked(key: usize, record_id: u64) -> Ticket {
        Ticket((key << 32) | (((record_id as usize) & 0x7fff_ffff) << 1))
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
}

// A tracked ticket keeps a table key in its high 32 bits.
const _: () = assert!(usize::BITS == 64, "typed-kafka's tickets need 64-bit words");

/// The records whose outcome someone waits for, by ticket.
#[derive(Default)]
pub(crate) struct Table {
    entries: Mutex<Slab<Entry>>,
}

impl Table {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slab<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a record about to be enqueued; its ticket for the batching core.
    pub(crate) fn insert(&self, entry: Entry) -> Ticket {
        let record_id = entry.meta.record_id;
        let key = self.lock().insert(entry);
        Ticket::tracked(key, record_id)
    }

    /// Takes the entry of `ticket` out, if it is still there (a record's report, a refused enqueue).
    pub(crate) fn take(&self, ticket: Ticket) -> Option<Entry> {
        let key = ticket.0 >> 32;
        let check = (ticket.0 >> 1) & 0x7fff_ffff;
        let mut entries = self.lock();
        match entries.get(key) {
            Some(e) if (e.meta.record_id as usize) & 0x7fff_ffff == check => Some(entries.remove(key)),
            _ => None,
        }
    }

    /// Takes every entry out (`close` at its deadline, the teardown).
    pub(crate) fn drain(&self) -> Vec<Entry> {
        self.lock().drain().collect()
    }

    /// How many records are tracked.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
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
        let a = table.insert(Entry { meta: meta(5), topic: 0, waiter: Waiter::Nobody });
        assert_eq!(a.quiet_id(), None);
        assert_eq!(table.take(a).map(|e| e.meta.record_id), Some(5));
        // The key is reused by the next record; the first record's stale ticket does not find it.
        let b = table.insert(Entry { meta: meta(6), topic: 0, waiter: Waiter::Nobody });
        assert_eq!(a.word() >> 32, b.word() >> 32);
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
    }
}
