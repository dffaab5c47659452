//! A record between its enqueue and its delivery report: what it holds of the byte budget, what its metadata
//! needs, and who wants its outcome.
//!
//! A record costs at most one allocation here, made on the sending thread: a fire-and-forget or called-back
//! record's box, or an awaited record's slot, which is both what librdkafka carries and the sender's
//! [`Delivery`](super::Delivery). (A quiet fire-and-forget record costs none: see `kafka::Opaque`.) Each
//! allocation made on one thread and freed on another was measured to cost more than the rest of a small
//! record's send.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use typed_kafka_avro::SchemaId;

use super::error::{DeliveryError, DeliveryErrorKind};
use crate::record::{RecordMetadata, Timestamp};

/// What a delivery callback is given.
pub(crate) type DeliveryResult = Result<RecordMetadata, DeliveryError>;

/// A delivery callback.
pub(crate) type Callback = Box<dyn FnOnce(DeliveryResult) + Send>;

/// The outcome of one delivery, as the batching core reports it.
#[derive(Debug)]
pub(crate) enum Outcome {
    Delivered { partition: i32, offset: Option<i64>, timestamp: Option<Timestamp> },
    Failed { partition: Option<i32>, kind: DeliveryErrorKind, message: String, retriable: bool },
}

impl Outcome {
    pub(crate) fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered { .. })
    }
}

/// What a record's metadata needs besides the delivery report. (Not its topic: the report names it, and a
/// per-record reference count shared by the sending and the delivery thread would make both write one cache line
/// per record.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Meta {
    pub(crate) record_id: u64,
    /// Bytes it holds of the byte budget.
    pub(crate) bytes: u32,
    pub(crate) key_size: Option<u32>,
    pub(crate) value_size: Option<u32>,
    pub(crate) key_schema_id: Option<SchemaId>,
    pub(crate) value_schema_id: Option<SchemaId>,
}

impl Meta {
    /// A record known only by its ID and bytes, as a quiet record's failed delivery report rebuilds it.
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
            Outcome::Failed { partition, kind, message, retriable } => {
                Err(DeliveryError { topic, partition, record_id: self.record_id, kind, message, retriable })
            }
        }
    }
}

/// An enqueued record, as its delivery report finds it.
pub(crate) enum Pending {
    /// Fire-and-forget (with headers, or on a producer with interceptors) or called back.
    Boxed(Box<Boxed>),
    /// Awaited through a [`Delivery`](super::Delivery).
    Awaited(Completer),
}

impl Pending {
    pub(crate) fn meta(&self) -> &Meta {
        match self {
            Pending::Boxed(b) => &b.meta,
            Pending::Awaited(c) => c.meta(),
        }
    }

    /// Whether only the counters and the interceptors want its outcome.
    pub(crate) fn is_forgotten(&self) -> bool {
        matches!(self, Pending::Boxed(b) if b.callback.is_none())
    }

    /// A fire-and-forget record known only by its ID and bytes.
    pub(crate) fn quiet(record_id: u64, bytes: u32) -> Pending {
        Pending::Boxed(Box::new(Boxed { meta: Meta::quiet(record_id, bytes), callback: None }))
    }
}

/// A fire-and-forget or called-back record.
pub(crate) struct Boxed {
    pub(crate) meta: Meta,
    /// In a mutex only so that the record is `Sync`, as librdkafka's opaque must be; nothing contends for it.
    pub(crate) callback: Option<Mutex<Callback>>,
}

impl Boxed {
    pub(crate) fn into_callback(self) -> Option<Callback> {
        self.callback.map(|cb| cb.into_inner().unwrap_or_else(PoisonError::into_inner))
    }
}

/// How a send wants its record's outcome, and what the sender gets back once the record is enqueued.
pub(crate) trait Completion {
    /// What the sender gets back.
    type Handle;

    /// The handle of a record that is carried by its ID alone, when this completion allows it: nobody but the
    /// counters wants its outcome.
    fn quietly(&self, record_id: u64) -> Option<Self::Handle>;

    /// The record as the batching core carries it, and the sender's handle.
    fn pending(self, meta: Meta) -> (Pending, Self::Handle);
}

/// Fire-and-forget: the sender gets the record's ID.
pub(crate) struct Forget;

impl Completion for Forget {
    type Handle = u64;

    fn quietly(&self, record_id: u64) -> Option<u64> {
        Some(record_id)
    }

    fn pending(self, meta: Meta) -> (Pending, u64) {
        (Pending::Boxed(Box::new(Boxed { meta, callback: None })), meta.record_id)
    }
}

/// A callback run with the outcome; the sender gets the record's ID.
pub(crate) struct Call(pub(crate) Callback);

impl Completion for Call {
    type Handle = u64;

    fn quietly(&self, _: u64) -> Option<u64> {
        None
    }

    fn pending(self, meta: Meta) -> (Pending, u64) {
        (Pending::Boxed(Box::new(Boxed { meta, callback: Some(Mutex::new(self.0)) })), meta.record_id)
    }
}

/// A future: the sender gets the record's slot, which it awaits.
pub(crate) struct Await;

impl Completion for Await {
    type Handle = Arc<Awaited>;

    fn quietly(&self, _: u64) -> Option<Arc<Awaited>> {
        None
    }

    fn pending(self, meta: Meta) -> (Pending, Arc<Awaited>) {
        let slot = Arc::new(Awaited { meta, state: Mutex::new(State::Waiting(None)) });
        (Pending::Awaited(Completer::new(slot.clone())), slot)
    }
}

/// An awaited record: shared by the batching core, which reports into it, and the sender's future.
#[derive(Debug)]
pub(crate) struct Awaited {
    meta: Meta,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    /// Not reported yet; the waker of the task that polled last.
    Waiting(Option<Waker>),
    Reported(Report),
    /// The future returned the outcome.
    Taken,
}

/// A reported outcome.
#[derive(Debug)]
pub(crate) enum Report {
    /// As the batching core reported it: the future builds the metadata, on the awaiting thread.
    Outcome(Outcome),
    /// Already built (for the interceptors, or the close report). Boxed, as this is the rare case: it keeps the
    /// slot within the allocator's smallest size classes (see [`Awaited`]).
    Built(Box<DeliveryResult>),
}

impl Awaited {
    /// The producer's sequence number for the record.
    pub(crate) fn record_id(&self) -> u64 {
        self.meta.record_id
    }

    /// The outcome once reported, building the metadata with `topic`; otherwise keeps `cx`'s waker to be woken
    /// by the report. After the outcome was taken it stays pending.
    pub(crate) fn poll_outcome(&self, cx: &mut Context<'_>, topic: &Arc<str>) -> Poll<DeliveryResult> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Taken => Poll::Pending,
            State::Reported(_) => match std::mem::replace(&mut *state, State::Taken) {
                State::Reported(Report::Outcome(outcome)) => Poll::Ready(self.meta.result(topic.clone(), outcome)),
                State::Reported(Report::Built(result)) => Poll::Ready(*result),
                State::Waiting(_) | State::Taken => Poll::Pending,
            },
        }
    }

    /// Stores the outcome `report` makes, unless one was stored already, and wakes the awaiting task.
    fn report(&self, report: impl FnOnce() -> Report) {
        let waker = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            match &mut *state {
                State::Waiting(waker) => {
                    let waker = waker.take();
                    *state = State::Reported(report());
                    waker
                }
                State::Reported(_) | State::Taken => None,
            }
        };
        // Woken outside the lock: the task may run at once, on another thread, and poll.
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The batching core's side of an awaited record. Dropped without a report (the producer was dropped, or the
/// batching core refused the record), it reports that the outcome will never come, so no future waits forever.
pub(crate) struct Completer {
    slot: Arc<Awaited>,
    /// The outcome to report when dropped; none means it never came.
    report: Option<Report>,
}

impl Completer {
    fn new(slot: Arc<Awaited>) -> Completer {
        Completer { slot, report: None }
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.slot.meta
    }

    /// Reports the outcome to the future (as the completer is dropped: the slot is locked once).
    pub(crate) fn complete(mut self, report: Report) {
        self.report = Some(report);
    }

    /// The slot as a pointer that owns this completer's reference, for librdkafka to carry (see
    /// [`from_raw`](Self::from_raw)).
    pub(crate) fn into_raw(self) -> *const Awaited {
        let ptr = Arc::as_ptr(&self.slot);
        // The reference now belongs to the pointer, and nothing is reported.
        std::mem::forget(self);
        ptr
    }

    /// # Safety
    /// `ptr` comes from [`into_raw`](Self::into_raw), and is given back once.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn from_raw(ptr: *const Awaited) -> Completer {
        // SAFETY: as the caller promises, `ptr` holds a reference to an `Arc`'s value, taken back once.
        Completer::new(unsafe { Arc::from_raw(ptr) })
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        let report = self.report.take();
        self.slot.report(|| {
            report.unwrap_or_else(|| {
                Report::Outcome(Outcome::Failed {
                    partition: None,
                    kind: DeliveryErrorKind::Purged,
                    message: "the producer was dropped before the record's delivery was reported".to_string(),
                    retriable: true,
                })
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn meta(record_id: u64) -> Meta {
        Meta { key_size: Some(3), value_schema_id: Some(SchemaId(7)), ..Meta::quiet(record_id, 10) }
    }

    /// The awaited side is polled before and after the report: it is woken once, gets the metadata built with its
    /// topic, and stays pending if polled again.
    #[test]
    fn an_awaited_record_is_woken_once_and_returns_its_metadata() {
        let (pending, slot) = Await.pending(meta(5));
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let topic: Arc<str> = "orders".into();
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        let Pending::Awaited(completer) = pending else { panic!("an awaited record") };
        completer.complete(Report::Outcome(Outcome::Delivered { partition: 1, offset: Some(9), timestamp: None }));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(Ok(m)) = slot.poll_outcome(&mut cx, &topic) else { panic!("delivered") };
        assert!(Arc::ptr_eq(&m.topic, &topic));
        assert_eq!((m.partition, m.offset, m.record_id, m.serialized_key_size), (1, Some(9), 5, Some(3)));
        assert_eq!(m.value_schema_id, Some(SchemaId(7)));
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        assert_eq!(Arc::strong_count(&slot), 1);
    }

    /// A completer dropped without a report (the producer dropped, the record refused) tells the future so.
    #[test]
    fn a_completer_dropped_unreported_fails_the_future() {
        let (pending, slot) = Await.pending(meta(6));
        drop(pending);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(Err(e)) = slot.poll_outcome(&mut cx, &"t".into()) else { panic!("failed") };
        assert_eq!((e.kind, e.record_id, e.retriable), (DeliveryErrorKind::Purged, 6, true));
    }

    /// A raw round trip keeps the slot's references: one for the future, one carried.
    #[test]
    #[allow(unsafe_code)]
    fn a_completer_round_trips_through_a_raw_pointer() {
        let (pending, slot) = Await.pending(meta(7));
        let Pending::Awaited(completer) = pending else { panic!("an awaited record") };
        let ptr = completer.into_raw();
        assert_eq!(Arc::strong_count(&slot), 2);
        // SAFETY: from `into_raw` just above, taken back once.
        let completer = unsafe { Completer::from_raw(ptr) };
        assert_eq!(completer.meta().record_id, 7);
        drop(completer);
        assert_eq!(Arc::strong_count(&slot), 1);
    }

    /// The report and the polls race from two threads, record after record: every future is woken and gets its
    /// own outcome exactly once.
    #[test]
    fn reports_from_another_thread_wake_every_waiting_future() {
        const N: u64 = 20_000;
        let (pendings, slots): (Vec<_>, Vec<_>) = (0..N).map(|i| Await.pending(meta(i))).unzip();
        let reporter = std::thread::spawn(move || {
            for (i, p) in pendings.into_iter().enumerate() {
                let Pending::Awaited(c) = p else { unreachable!() };
                c.complete(Report::Outcome(Outcome::Delivered {
                    partition: 0,
                    offset: Some(i as i64),
                    timestamp: None,
                }));
            }
        });
        let topic: Arc<str> = "t".into();
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut registered = 0;
        for (i, slot) in slots.iter().enumerate() {
            let offset = loop {
                match slot.poll_outcome(&mut cx, &topic) {
                    Poll::Ready(r) => break r.map(|m| m.offset),
                    Poll::Pending => {
                        registered += 1;
                        // Wait for this slot's wake-up; no report is lost between the poll and the wait.
                        while wakes.0.load(Ordering::SeqCst) < registered {
                            std::thread::yield_now();
                        }
                    }
                }
            };
            assert_eq!(offset.unwrap(), Some(i as i64));
        }
        reporter.join().unwrap();
        assert_eq!(wakes.0.load(Ordering::SeqCst), registered);
    }
}
