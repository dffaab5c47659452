//! A record between its enqueue and its delivery report: what it holds of the byte budget, what its metadata
//! needs, and who wants its outcome.
//!
//! An awaited or called-back record takes a slot in a block of [`BLOCK_SLOTS`], allocated together: the slot is
//! what librdkafka carries, and an awaited record's is also the sender's [`Delivery`](super::Delivery); a
//! callback (the sender's closure, kept inline when it is small: see `callback.rs`) rides in it. A fire-and-forget
//! record with headers, or on a producer with interceptors, costs one small box; a quiet fire-and-forget record
//! costs nothing (see `kafka::Opaque`).
//!
//! Why blocks: small chunks allocated one by one per record, on the sending thread, sat between librdkafka's
//! per-message chunks on the allocator's heap, and were freed on another thread or much later: glibc's `malloc`
//! then split and merged chunks on every send, and librdkafka's batches spread over more memory. With a third of
//! the records awaited and a third called back, that cost the producer more CPU per record than everything else
//! those records do (`benches/README.md`, "the allocator's heap").

use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use typed_kafka_avro::SchemaId;

use super::callback::Callback;
use super::error::{DeliveryError, DeliveryErrorKind};
use crate::record::{RecordMetadata, Timestamp};

/// What a delivery callback is given.
pub(crate) type DeliveryResult = Result<RecordMetadata, DeliveryError>;

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
    /// Its value is lent to librdkafka from the producer's value arena; the delivery report gives it back.
    pub(crate) leased: bool,
}

impl Meta {
    /// A record known only by its ID and bytes, as a quiet record's failed delivery report rebuilds it.
    pub(crate) fn quiet(record_id: u64, bytes: u32) -> Meta {
        Meta {
            record_id,
            bytes,
            key_size: None,
            value_size: None,
            key_schema_id: None,
            value_schema_id: None,
            leased: false,
        }
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
    /// Fire-and-forget, with headers or on a producer with interceptors.
    Boxed(Box<Boxed>),
    /// Awaited through a [`Delivery`](super::Delivery), or called back.
    InSlot(Completer),
}

impl Pending {
    pub(crate) fn meta(&self) -> &Meta {
        match self {
            Pending::Boxed(b) => &b.meta,
            Pending::InSlot(c) => c.meta(),
        }
    }

    /// Whether only the counters and the interceptors want its outcome.
    pub(crate) fn is_forgotten(&self) -> bool {
        matches!(self, Pending::Boxed(_))
    }

    /// A fire-and-forget record known only by its ID and bytes.
    pub(crate) fn quiet(record_id: u64, bytes: u32) -> Pending {
        Pending::Boxed(Box::new(Boxed { meta: Meta::quiet(record_id, bytes) }))
    }
}

/// A fire-and-forget record that librdkafka carries by pointer.
pub(crate) struct Boxed {
    pub(crate) meta: Meta,
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
        (Pending::Boxed(Box::new(Boxed { meta })), meta.record_id)
    }
}

/// A callback run with the outcome, carried in a slot taken from `.1`; the sender gets the record's ID.
pub(crate) struct Call<'a>(pub(crate) Callback, pub(crate) &'a SlotSource);

impl Completion for Call<'_> {
    type Handle = u64;

    fn quietly(&self, _: u64) -> Option<u64> {
        None
    }

    fn pending(self, meta: Meta) -> (Pending, u64) {
        (Pending::InSlot(Completer::with_callback(self.1.take(meta), meta, Some(self.0))), meta.record_id)
    }
}

/// A future: the sender gets the record's slot, taken from `.0`, which it awaits.
pub(crate) struct Await<'a>(pub(crate) &'a SlotSource);

impl Completion for Await<'_> {
    type Handle = SlotRef;

    fn quietly(&self, _: u64) -> Option<SlotRef> {
        None
    }

    fn pending(self, meta: Meta) -> (Pending, SlotRef) {
        let slot = self.0.take(meta);
        (Pending::InSlot(Completer::new(slot.clone(), meta)), slot)
    }
}

/// Slots per block: a block is one allocation of about 120 KiB.
///
/// Why so many: a block lives as long as the last of its slots, and in a stream it sits among librdkafka's
/// per-message chunks on the allocator's heap. Blocks of 64 slots (7 KiB), one per 64 awaited or called-back records,
/// cut that heap into pieces the per-message chunks no longer merge across: with a third of the records awaited
/// and kept until the end, glibc's `malloc` then cost the sending thread a third more than in a fire-and-forget
/// stream (`benches/README.md`, "Run AB"). (Under Miri, 64: it checks every slot of a block on every access to
/// one, and the logic does not depend on the number.)
pub(crate) const BLOCK_SLOTS: usize = if cfg!(miri) { 64 } else { 1024 };

/// Slots of awaited or called-back records, allocated together and freed when the last of them is done with.
type Block = Arc<[Awaited]>;

/// A block of free slots, written in place: collected from an iterator of known length, an `Arc<[_]>` is
/// allocated once and filled, not built on the stack and moved.
fn new_block() -> Block {
    (0..BLOCK_SLOTS as u32).map(|index| Awaited { entry: Mutex::new(Entry::default()), index }).collect()
}

/// Where a producer's awaited (or called-back) records take their slots: the block being filled, and the next
/// free slot in it. A block is kept alive by its slots alone once it is full.
#[derive(Default)]
pub(crate) struct SlotSource {
    filling: Mutex<Option<(Block, usize)>>,
}

impl SlotSource {
    /// A free slot holding `meta`.
    fn take(&self, meta: Meta) -> SlotRef {
        let (block, index) = {
            let mut filling = self.filling.lock().unwrap_or_else(PoisonError::into_inner);
            let (block, index) = filling.take().unwrap_or_else(|| (new_block(), 0));
            if index + 1 < BLOCK_SLOTS {
                *filling = Some((block.clone(), index + 1));
            }
            (block, index)
        };
        let slot = SlotRef { block, index };
        slot.lock().meta = meta;
        slot
    }
}

/// One record's slot, which keeps its block alive.
pub(crate) struct SlotRef {
    block: Block,
    /// Below [`BLOCK_SLOTS`], the block's length.
    index: usize,
}

impl SlotRef {
    /// References to the slot's block: its slots' (and the source's while it fills the block).
    #[cfg(test)]
    pub(crate) fn block_refs(&self) -> usize {
        Arc::strong_count(&self.block)
    }
}

impl Clone for SlotRef {
    fn clone(&self) -> Self {
        SlotRef { block: self.block.clone(), index: self.index }
    }
}

impl Deref for SlotRef {
    type Target = Awaited;

    fn deref(&self) -> &Awaited {
        &self.block[self.index]
    }
}

impl std::fmt::Debug for SlotRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotRef").field("index", &self.index).finish_non_exhaustive()
    }
}

/// An awaited record (shared by the batching core, which reports into it, and the sender's future) or a called-back
/// one (its callback carried through librdkafka).
pub(crate) struct Awaited {
    entry: Mutex<Entry>,
    /// Its place in its block, which finds the block from a pointer to the slot (see [`Completer::from_raw`]).
    index: u32,
}

// A pointer to a slot leaves its two low bits clear, for the tags of `kafka::Opaque`.
const _: () = assert!(align_of::<Awaited>() >= 4);

/// What a slot holds.
struct Entry {
    meta: Meta,
    state: State,
}

impl Default for Entry {
    fn default() -> Self {
        Entry { meta: Meta::quiet(0, 0), state: State::Waiting(None) }
    }
}

enum State {
    /// Not reported yet; the waker of the task that polled last.
    Waiting(Option<Waker>),
    /// A called-back record's callback, while librdkafka carries the record.
    Calling(Callback),
    Reported(Report),
    /// The future returned the outcome.
    Taken,
}

/// A reported outcome.
#[derive(Debug)]
pub(crate) enum Report {
    /// As the batching core reported it: the future builds the metadata, on the awaiting thread.
    Outcome(Outcome),
    /// Already built (for the interceptors, or the close report). Boxed, as this is the rare case: it keeps every
    /// slot, and so every block, small.
    Built(Box<DeliveryResult>),
}

impl Awaited {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The producer's sequence number for the record.
    pub(crate) fn record_id(&self) -> u64 {
        self.lock().meta.record_id
    }

    /// The outcome once reported, building the metadata with `topic`; otherwise keeps `cx`'s waker to be woken
    /// by the report. After the outcome was taken it stays pending.
    pub(crate) fn poll_outcome(&self, cx: &mut Context<'_>, topic: &Arc<str>) -> Poll<DeliveryResult> {
        let mut entry = self.lock();
        let Entry { meta, state } = &mut *entry;
        match state {
            State::Waiting(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            State::Taken | State::Calling(_) => Poll::Pending,
            State::Reported(_) => match std::mem::replace(state, State::Taken) {
                State::Reported(Report::Outcome(outcome)) => Poll::Ready(meta.result(topic.clone(), outcome)),
                State::Reported(Report::Built(result)) => Poll::Ready(*result),
                State::Waiting(_) | State::Calling(_) | State::Taken => Poll::Pending,
            },
        }
    }

    /// Stores the outcome `report` makes, unless one was stored already, and wakes the awaiting task.
    fn report(&self, report: impl FnOnce() -> Report) {
        let waker = {
            let mut entry = self.lock();
            match &mut entry.state {
                State::Waiting(waker) => {
                    let waker = waker.take();
                    entry.state = State::Reported(report());
                    waker
                }
                State::Reported(_) | State::Calling(_) | State::Taken => None,
            }
        };
        // Woken outside the lock: the task may run at once, on another thread, and poll.
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The batching core's side of a record in a slot. Dropped without a report (the producer was dropped, or the
/// batching core refused the record), an awaited record's reports that the outcome will never come, so no future
/// waits forever; a called-back record's drops the callback unrun.
pub(crate) struct Completer {
    slot: SlotRef,
    /// A copy of the slot's, read without its lock.
    meta: Meta,
    /// A called-back record's callback, unless a raw pointer carries it in the slot. (In a mutex only so that the
    /// completer is `Sync`, as librdkafka's opaque must be; it is only reached through `&mut self`, unlocked.)
    callback: Mutex<Option<Callback>>,
    calls_back: bool,
    /// Whether nothing is to be reported when dropped: the outcome was, a raw pointer carries the reference now
    /// (see [`into_raw`](Self::into_raw)), or the record was called back.
    silent: bool,
}

impl Completer {
    fn new(slot: SlotRef, meta: Meta) -> Completer {
        Completer::with_callback(slot, meta, None)
    }

    fn with_callback(slot: SlotRef, meta: Meta, callback: Option<Callback>) -> Completer {
        let calls_back = callback.is_some();
        Completer { slot, meta, callback: Mutex::new(callback), calls_back, silent: false }
    }

    fn callback(&mut self) -> &mut Option<Callback> {
        self.callback.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a future awaits the outcome (otherwise, a callback wants it).
    pub(crate) fn is_awaited(&self) -> bool {
        !self.calls_back
    }

    /// A called-back record's callback; the record is then done with its slot.
    pub(crate) fn take_callback(&mut self) -> Option<Callback> {
        let callback = self.callback().take();
        self.silent |= callback.is_some();
        callback
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Reports the outcome to the future (a called-back record's is its callback's to run: see
    /// [`take_callback`](Self::take_callback)).
    pub(crate) fn complete(mut self, report: Report) {
        if !self.silent && !self.calls_back {
            self.silent = true;
            self.slot.report(|| report);
        }
    }

    /// The slot as a pointer that owns this completer's reference to its block, for librdkafka to carry (see
    /// [`from_raw`](Self::from_raw)). Its bits 0 and 1 are clear, for the caller's tags.
    pub(crate) fn into_raw(mut self) -> *const Awaited {
        if let Some(callback) = self.callback().take() {
            self.slot.lock().state = State::Calling(callback);
        }
        // The pointer takes a reference of its own; `self`'s goes as it is dropped, reporting nothing.
        self.silent = true;
        Arc::into_raw(self.slot.block.clone()).cast::<Awaited>().wrapping_add(self.slot.index)
    }

    /// # Safety
    /// `ptr` comes from [`into_raw`](Self::into_raw) (with bits 0 and 1 as it made them), and is given back once.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn from_raw(ptr: *const Awaited) -> Completer {
        // SAFETY: as the caller promises, `ptr` is a slot of a block it keeps alive; its index is never written
        // after the block was made.
        let index = unsafe { (*ptr).index } as usize;
        let block = std::ptr::slice_from_raw_parts(ptr.wrapping_sub(index), BLOCK_SLOTS);
        // SAFETY: `block` is the slice `Arc::into_raw` gave in `into_raw` (every block has `BLOCK_SLOTS` slots),
        // whose reference is taken back once.
        let slot = SlotRef { block: unsafe { Arc::from_raw(block) }, index };
        let (meta, callback) = {
            let mut entry = slot.lock();
            let callback = match std::mem::replace(&mut entry.state, State::Taken) {
                State::Calling(callback) => Some(callback),
                state => {
                    entry.state = state;
                    None
                }
            };
            (entry.meta, callback)
        };
        Completer::with_callback(slot, meta, callback)
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if self.silent || self.calls_back {
            return;
        }
        self.slot.report(|| {
            Report::Outcome(Outcome::Failed {
                partition: None,
                kind: DeliveryErrorKind::Purged,
                message: "the producer was dropped before the record's delivery was reported".to_string(),
                retriable: true,
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
        let (pending, slot) = Await(&SlotSource::default()).pending(meta(5));
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let topic: Arc<str> = "orders".into();
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        let Pending::InSlot(completer) = pending else { panic!("an awaited record") };
        completer.complete(Report::Outcome(Outcome::Delivered { partition: 1, offset: Some(9), timestamp: None }));
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        let Poll::Ready(Ok(m)) = slot.poll_outcome(&mut cx, &topic) else { panic!("delivered") };
        assert!(Arc::ptr_eq(&m.topic, &topic));
        assert_eq!((m.partition, m.offset, m.record_id, m.serialized_key_size), (1, Some(9), 5, Some(3)));
        assert_eq!(m.value_schema_id, Some(SchemaId(7)));
        assert!(slot.poll_outcome(&mut cx, &topic).is_pending());
        assert_eq!(slot.block_refs(), 1);
    }

    /// A completer dropped without a report (the producer dropped, the record refused) tells the future so.
    #[test]
    fn a_completer_dropped_unreported_fails_the_future() {
        let (pending, slot) = Await(&SlotSource::default()).pending(meta(6));
        drop(pending);
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(Err(e)) = slot.poll_outcome(&mut cx, &"t".into()) else { panic!("failed") };
        assert_eq!((e.kind, e.record_id, e.retriable), (DeliveryErrorKind::Purged, 6, true));
    }

    /// Slots are handed out block after block, each with its own index and metadata, which a raw round trip
    /// finds again; a block is freed once the last of its slots is done with.
    #[test]
    #[allow(unsafe_code)]
    fn slots_fill_blocks_and_a_block_lives_as_long_as_its_slots() {
        let source = SlotSource::default();
        let n = 2 * BLOCK_SLOTS as u64 + 1;
        let taken: Vec<_> = (0..n).map(|i| Await(&source).pending(meta(i))).collect();
        assert!(Arc::ptr_eq(&taken[0].1.block, &taken[BLOCK_SLOTS - 1].1.block));
        assert!(!Arc::ptr_eq(&taken[0].1.block, &taken[BLOCK_SLOTS].1.block));
        let first = Arc::downgrade(&taken[0].1.block);
        let mut slots = Vec::new();
        for (i, (pending, slot)) in taken.into_iter().enumerate() {
            assert_eq!(slot.index, i % BLOCK_SLOTS);
            let Pending::InSlot(completer) = pending else { panic!("an awaited record") };
            let ptr = completer.into_raw();
            assert_eq!(ptr.addr() & 3, 0);
            // SAFETY: from `into_raw` just above, taken back once.
            let completer = unsafe { Completer::from_raw(ptr) };
            assert_eq!(completer.meta().record_id, i as u64);
            let offset = Some(i as i64);
            completer.complete(Report::Outcome(Outcome::Delivered { partition: 0, offset, timestamp: None }));
            slots.push(slot);
        }
        let mut cx = Context::from_waker(Waker::noop());
        for (i, slot) in slots.iter().enumerate() {
            let Poll::Ready(Ok(m)) = slot.poll_outcome(&mut cx, &"t".into()) else { panic!("delivered") };
            assert_eq!((m.record_id, m.offset), (i as u64, Some(i as i64)));
        }
        let last_of_first = slots.remove(BLOCK_SLOTS - 1);
        slots.drain(..BLOCK_SLOTS - 1);
        assert!(first.upgrade().is_some());
        drop(last_of_first);
        assert!(first.upgrade().is_none());
    }

    /// Several senders take slots from one source at once while another thread reports into them: every slot is
    /// its sender's own, and every future gets its own outcome.
    #[test]
    #[allow(unsafe_code)]
    fn senders_sharing_a_source_each_get_their_own_slots() {
        const SENDERS: u64 = 4;
        const EACH: u64 = if cfg!(miri) { 50 } else { 5_000 };
        let source = Arc::new(SlotSource::default());
        let (tx, rx) = std::sync::mpsc::channel::<Completer>();
        let reporter = std::thread::spawn(move || {
            for completer in rx {
                // SAFETY: from `into_raw` just here, taken back once.
                let completer = unsafe { Completer::from_raw(completer.into_raw()) };
                let offset = Some(completer.meta().record_id as i64);
                completer.complete(Report::Outcome(Outcome::Delivered { partition: 0, offset, timestamp: None }));
            }
        });
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let (source, tx) = (source.clone(), tx.clone());
                std::thread::spawn(move || {
                    let slots: Vec<_> = (0..EACH)
                        .map(|i| {
                            let (pending, slot) = Await(&source).pending(meta(s * EACH + i));
                            let Pending::InSlot(completer) = pending else { unreachable!() };
                            tx.send(completer).unwrap();
                            slot
                        })
                        .collect();
                    let mut cx = Context::from_waker(Waker::noop());
                    for (i, slot) in slots.iter().enumerate() {
                        let m = loop {
                            match slot.poll_outcome(&mut cx, &"t".into()) {
                                Poll::Ready(r) => break r.unwrap(),
                                Poll::Pending => std::thread::yield_now(),
                            }
                        };
                        assert_eq!((m.record_id, m.offset), (s * EACH + i as u64, Some((s * EACH + i as u64) as i64)));
                    }
                })
            })
            .collect();
        drop(tx);
        for s in senders {
            s.join().unwrap();
        }
        reporter.join().unwrap();
    }

    /// A called-back record's callback rides in its slot through a raw round trip and comes back to be run; the
    /// slot is then done with. Refused before the round trip, the callback is dropped unrun.
    #[test]
    #[allow(unsafe_code)]
    fn a_callback_rides_in_its_slot_and_is_dropped_unrun_when_refused() {
        let source = SlotSource::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let callback = |runs: &Arc<AtomicUsize>| -> Callback {
            let runs = runs.clone();
            Callback::new(move |r: DeliveryResult| {
                assert_eq!(r.unwrap().offset, Some(3));
                runs.fetch_add(1, Ordering::SeqCst);
            })
        };
        let (pending, id) = Call(callback(&runs), &source).pending(meta(8));
        assert_eq!(id, 8);
        let Pending::InSlot(completer) = pending else { panic!("a record in a slot") };
        assert!(!completer.is_awaited());
        let keep = completer.slot.clone();
        let ptr = completer.into_raw();
        assert_eq!(Arc::strong_count(&runs), 2, "the slot holds the callback");
        // SAFETY: from `into_raw` just above, taken back once.
        let mut completer = unsafe { Completer::from_raw(ptr) };
        assert_eq!(completer.meta().record_id, 8);
        let cb = completer.take_callback().expect("the callback came back");
        cb.call(Ok(Meta::quiet(8, 1)
            .result("t".into(), Outcome::Delivered { partition: 0, offset: Some(3), timestamp: None })
            .unwrap()));
        drop(completer);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(matches!(keep.lock().state, State::Taken));
        drop(source);
        assert_eq!(keep.block_refs(), 1);

        let (refused, _) = Call(callback(&runs), &SlotSource::default()).pending(meta(9));
        drop(refused);
        assert_eq!((Arc::strong_count(&runs), runs.load(Ordering::SeqCst)), (1, 1));
    }

    /// A raw round trip keeps the slot's references: one for the future, one carried.
    #[test]
    #[allow(unsafe_code)]
    fn a_completer_round_trips_through_a_raw_pointer() {
        let (pending, slot) = Await(&SlotSource::default()).pending(meta(7));
        let Pending::InSlot(completer) = pending else { panic!("an awaited record") };
        let ptr = completer.into_raw();
        assert_eq!(slot.block_refs(), 2);
        // SAFETY: from `into_raw` just above, taken back once.
        let completer = unsafe { Completer::from_raw(ptr) };
        assert_eq!(completer.meta().record_id, 7);
        drop(completer);
        assert_eq!(slot.block_refs(), 1);
    }

    /// The report and the polls race from two threads, record after record: every future is woken and gets its
    /// own outcome exactly once.
    #[test]
    fn reports_from_another_thread_wake_every_waiting_future() {
        const N: u64 = 20_000;
        let source = SlotSource::default();
        let (pendings, slots): (Vec<_>, Vec<_>) = (0..N).map(|i| Await(&source).pending(meta(i))).unzip();
        let reporter = std::thread::spawn(move || {
            for (i, p) in pendings.into_iter().enumerate() {
                let Pending::InSlot(c) = p else { unreachable!() };
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
