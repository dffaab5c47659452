//! What every record enqueued passes through on its way out: the byte budget, the in-flight count, the metrics,
//! the interceptors, and the completion of its future or callback.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::budget::{ByteBudget, Counted, Padded};
use super::error::{DeliveryError, DeliveryErrorKind, SendErrorKind};
use super::pending::{Outcome, Pending, Report};
use crate::config::{ProducerConfig, RECORD_OVERHEAD};
use crate::record::{Headers, RecordMetadata};

/// Hooks around every record, as Java's `ProducerInterceptor`: `on_send` before the record is encoded (it may add
/// headers), `on_acknowledgement` when it was delivered or failed. Both run on the producer's threads: keep them
/// short. A panic in either is caught and logged; the record and the producer carry on.
pub trait Interceptor: Send + Sync + 'static {
    /// Called for each record about to be sent to `topic`.
    fn on_send(&self, _topic: &str, _headers: &mut Headers) {}
    /// Called for each enqueued record when its delivery succeeded or finally failed.
    fn on_acknowledgement(&self, _result: Result<&RecordMetadata, &DeliveryError>) {}
}

/// How many records were refused before they were enqueued, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusedCounts {
    /// The key or value violates its schema.
    pub schema_violation: u64,
    /// The registry could not resolve a schema ID, or another serialization failure.
    pub serialization: u64,
    /// The key schema ID changed.
    pub key_schema_changed: u64,
    /// `buffer.memory` stayed full for `max.block.ms`.
    pub buffer_full: u64,
    /// Larger than `max.request.size`.
    pub too_large: u64,
    /// Any other reason (closed, fatal, unknown partition, the batching core refused it).
    pub other: u64,
}

/// The producer's counters.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProducerMetrics {
    /// Records acknowledged by the broker.
    pub records_sent: u64,
    /// Records enqueued that finally failed.
    pub records_failed: u64,
    /// Records refused before they were enqueued, by reason.
    pub refused: RefusedCounts,
    /// Bytes (key, value, headers) of the records acknowledged.
    pub bytes_sent: u64,
    /// Records enqueued and not yet delivered or failed.
    pub in_flight: usize,
    /// Bytes of the byte budget in use: the records' key, value and header bytes, and
    /// [`RECORD_OVERHEAD`](crate::config::RECORD_OVERHEAD) more per record.
    pub buffered_bytes: u64,
    /// librdkafka's average batch size in bytes over its last statistics window (needs `statistics.interval.ms`).
    pub batch_size_avg: Option<i64>,
    /// librdkafka's average records per batch over its last statistics window.
    pub batch_records_avg: Option<i64>,
    /// librdkafka's count of produce requests sent, from its last statistics.
    pub requests_sent: Option<i64>,
}

/// A record that was not delivered when the producer closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Undelivered {
    /// The producer's sequence number for the record ([`RecordMetadata::record_id`], returned by `enqueue`).
    pub record_id: u64,
    /// The topic.
    pub topic: Arc<str>,
    /// The partition, when one was chosen.
    pub partition: Option<i32>,
    /// Why.
    pub kind: DeliveryErrorKind,
}

/// What [`Producer::close`](super::Producer::close) did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReport {
    /// The records enqueued and not delivered: purged at the timeout, or failed while closing.
    pub undelivered: Vec<Undelivered>,
}

impl CloseReport {
    /// Whether every record was delivered.
    pub fn is_complete(&self) -> bool {
        self.undelivered.is_empty()
    }
}

/// What the sending side writes per record.
#[derive(Default)]
struct Sends {
    /// Record IDs handed out, each to a record about to be enqueued: the count of records ever in flight.
    issued: AtomicU64,
}

/// What the delivery side writes per record.
#[derive(Default)]
struct Deliveries {
    /// Records whose delivery ended (or whose enqueue failed).
    completed: AtomicU64,
    sent: AtomicU64,
    failed: AtomicU64,
    bytes_sent: AtomicU64,
}

/// Refusals before enqueue, by reason.
#[derive(Default)]
struct Refusals {
    violation: AtomicU64,
    serialization: AtomicU64,
    key_schema_changed: AtomicU64,
    buffer_full: AtomicU64,
    too_large: AtomicU64,
    other: AtomicU64,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct BatchStats {
    pub(crate) batch_size_avg: Option<i64>,
    pub(crate) batch_records_avg: Option<i64>,
    pub(crate) requests_sent: Option<i64>,
}

/// The producer's shared state per record. The sending threads and the delivery thread each write their own
/// counters, on cache lines of their own; what both read per record (the flags) is rarely written.
pub(crate) struct Accounting {
    sends: Padded<Sends>,
    deliveries: Padded<Deliveries>,
    budget: ByteBudget,
    max_block: Duration,
    /// Tasks waiting for nothing to be in flight (flush, close).
    idle_waiters: AtomicUsize,
    idle: Notify,
    refusals: Refusals,
    pub(crate) interceptors: Vec<Arc<dyn Interceptor>>,
    closing: AtomicBool,
    undelivered: Mutex<Vec<Undelivered>>,
    fatal: Mutex<Option<String>>,
    /// Whether `fatal` holds an error: the hot path reads this flag, not the mutex.
    is_fatal: AtomicBool,
    /// librdkafka reported an error that may be fatal: whether it is, only its client can tell.
    maybe_fatal: AtomicBool,
    /// The last authentication or TLS failure librdkafka reported, and when: a bind fails fast with it instead of
    /// waiting `max.block.ms` for metadata that cannot come.
    security: Mutex<Option<(std::time::Instant, String)>>,
    pub(crate) batch_stats: Mutex<BatchStats>,
    /// The names of the bound topics, shared by their producers and the metadata and errors of their records.
    topics: Mutex<Vec<Arc<str>>>,
}

/// A record's share of the budget.
#[inline]
fn charge(bytes: u32) -> u64 {
    u64::from(bytes) + u64::from(RECORD_OVERHEAD)
}

impl Accounting {
    pub(crate) fn new(config: &ProducerConfig, interceptors: Vec<Arc<dyn Interceptor>>) -> Accounting {
        Accounting {
            sends: Padded::default(),
            deliveries: Padded::default(),
            budget: ByteBudget::new(config.buffer_memory),
            max_block: config.max_block,
            idle_waiters: AtomicUsize::new(0),
            idle: Notify::new(),
            refusals: Refusals::default(),
            interceptors,
            closing: AtomicBool::new(false),
            undelivered: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
            is_fatal: AtomicBool::new(false),
            maybe_fatal: AtomicBool::new(false),
            security: Mutex::new(None),
            batch_stats: Mutex::new(BatchStats::default()),
            topics: Mutex::new(Vec::new()),
        }
    }

    /// The one shared name of `topic`.
    pub(crate) fn topic(&self, topic: &str) -> Arc<str> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = topics.iter().find(|t| ***t == *topic) {
            return t.clone();
        }
        let t: Arc<str> = topic.into();
        topics.push(t.clone());
        t
    }

    /// [`topic`](Self::topic) for the delivery thread, which asks for the same name record after record: the last
    /// one is kept on the thread, so that no lock is taken per record.
    fn delivered_topic(&self, topic: &str) -> Arc<str> {
        thread_local! {
            static LAST: std::cell::RefCell<Option<Arc<str>>> = const { std::cell::RefCell::new(None) };
        }
        LAST.with_borrow_mut(|last| match last {
            Some(t) if **t == *topic => t.clone(),
            _ => {
                let t = self.topic(topic);
                *last = Some(t.clone());
                t
            }
        })
    }

    /// The ID of a record about to be enqueued, which counts as in flight from now until [`complete`] or
    /// [`not_enqueued`].
    ///
    /// [`complete`]: Self::complete
    /// [`not_enqueued`]: Self::not_enqueued
    #[inline]
    pub(crate) fn issue(&self) -> u64 {
        self.sends.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Takes a record of `bytes` (key, value, headers) from the budget, with [`RECORD_OVERHEAD`], waiting up to
    /// `max.block.ms` for deliveries to free them.
    #[inline]
    pub(crate) async fn reserve(&self, bytes: u32) -> Result<(), SendErrorKind> {
        let charge = charge(bytes);
        let reserved = self.budget.reserve(charge, self.max_block).await;
        reserved.map_err(|full| full.refusal(charge))
    }

    /// [`reserve`](Self::reserve) for a blocking caller: parks the thread, woken by the releases.
    pub(crate) fn reserve_blocking(&self, bytes: u32) -> Result<(), SendErrorKind> {
        let charge = charge(bytes);
        let reserved = self.budget.reserve_blocking(charge, self.max_block);
        reserved.map_err(|full| full.refusal(charge))
    }

    /// Gives a record of `bytes` back to the budget (it was delivered, failed or never enqueued).
    #[inline]
    pub(crate) fn release(&self, bytes: u32) {
        self.budget.release(charge(bytes));
    }

    /// An enqueue that did not happen after all (the batching core refused the record).
    pub(crate) fn not_enqueued(&self, bytes: u32) {
        self.release(bytes);
        self.finished();
    }

    fn finished(&self) {
        self.deliveries.completed.fetch_add(1, Ordering::SeqCst);
        if self.idle_waiters.load(Ordering::SeqCst) > 0 && self.in_flight() == 0 {
            self.idle.notify_waiters();
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        // Completed first: every record it counts was issued before, so the difference is never negative.
        let completed = self.deliveries.completed.load(Ordering::SeqCst);
        let issued = self.sends.issued.load(Ordering::SeqCst);
        issued.saturating_sub(completed) as usize
    }

    /// Waits until nothing is in flight, at most until `deadline`; returns what is still in flight.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> usize {
        let _waiting = Counted::new(&self.idle_waiters);
        loop {
            // Created before the check, so that the last completion after it wakes this task.
            let idle = self.idle.notified();
            let n = self.in_flight();
            if n == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline.into(), idle).await.is_err() {
                return self.in_flight();
            }
        }
    }

    /// Counts a refusal before enqueue.
    pub(crate) fn refused(&self, kind: &SendErrorKind) {
        let c = &self.refusals;
        let counter = match kind {
            k if k.is_schema_violation() => &c.violation,
            SendErrorKind::Key(_) | SendErrorKind::Value(_) => &c.serialization,
            SendErrorKind::KeySchemaChanged { .. } => &c.key_schema_changed,
            SendErrorKind::BufferFull { .. } => &c.buffer_full,
            SendErrorKind::TooLarge { .. } => &c.too_large,
            _ => &c.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs the interceptors' `on_send`.
    pub(crate) fn on_send(&self, topic: &str, headers: &mut Headers) {
        for i in &self.interceptors {
            if catch_unwind(AssertUnwindSafe(|| i.on_send(topic, headers))).is_err() {
                tracing::error!(topic, "an interceptor's on_send panicked; the record carries on");
            }
        }
    }

    /// Whether a fire-and-forget record's outcome is wanted by nobody but the counters (no interceptors).
    pub(crate) fn quiet(&self) -> bool {
        self.interceptors.is_empty()
    }

    /// The end of a fire-and-forget record delivered with nobody listening: the budget back and the counters.
    pub(crate) fn delivered_quietly(&self, bytes: u32) {
        self.release(bytes);
        self.count_sent(bytes);
        self.finished();
    }

    fn count_sent(&self, bytes: u32) {
        self.deliveries.sent.fetch_add(1, Ordering::Relaxed);
        self.deliveries.bytes_sent.fetch_add(u64::from(bytes), Ordering::Relaxed);
    }

    /// The end of one enqueued record: the budget back, the counters, the interceptors, then its sender told.
    /// `topic` gives the record's topic name, asked for only when the outcome is built here (for a callback, an
    /// interceptor, a failure); an awaited record's future builds it on the awaiting thread.
    pub(crate) fn complete<'t>(&self, pending: Pending, outcome: Outcome, topic: impl FnOnce() -> &'t str) {
        let meta = *pending.meta();
        if pending.is_forgotten() && self.quiet() && outcome.is_delivered() {
            // Fire-and-forget, delivered, nobody listening: the counters are the whole outcome.
            return self.delivered_quietly(meta.bytes);
        }
        self.release(meta.bytes);
        if outcome.is_delivered() {
            self.count_sent(meta.bytes);
        } else {
            self.deliveries.failed.fetch_add(1, Ordering::Relaxed);
        }
        let undelivered = !outcome.is_delivered() && self.closing.load(Ordering::Acquire);
        // Futures are told after the record stops counting as in flight, so whoever awaits one sees the counters
        // already updated.
        let pending = match pending {
            Pending::InSlot(completer) if completer.is_awaited() && self.interceptors.is_empty() && !undelivered => {
                self.finished();
                return completer.complete(Report::Outcome(outcome));
            }
            pending => pending,
        };
        let result = meta.result(self.delivered_topic(topic()), outcome);
        if let (true, Err(e)) = (undelivered, &result) {
            self.undelivered.lock().unwrap_or_else(|e| e.into_inner()).push(Undelivered {
                record_id: meta.record_id,
                topic: e.topic.clone(),
                partition: e.partition,
                kind: e.kind.clone(),
            });
        }
        for i in &self.interceptors {
            if catch_unwind(AssertUnwindSafe(|| i.on_acknowledgement(result.as_ref()))).is_err() {
                tracing::error!("an interceptor's on_acknowledgement panicked; the producer carries on");
            }
        }
        match pending {
            Pending::Boxed(_) => {
                if let Err(e) = &result {
                    tracing::debug!(error = %e, "fire-and-forget record not delivered");
                }
                self.finished();
            }
            Pending::InSlot(mut completer) => match completer.take_callback() {
                Some(cb) => {
                    // Callbacks run before the record stops counting as in flight: a flush returns after them.
                    if catch_unwind(AssertUnwindSafe(|| cb.call(result))).is_err() {
                        tracing::error!("a delivery callback panicked; the producer carries on");
                    }
                    self.finished();
                }
                None => {
                    self.finished();
                    completer.complete(Report::Built(Box::new(result)));
                }
            },
        }
    }

    pub(crate) fn start_closing(&self) {
        self.closing.store(true, Ordering::Release);
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    pub(crate) fn close_report(&self) -> CloseReport {
        let mut undelivered = std::mem::take(&mut *self.undelivered.lock().unwrap_or_else(|e| e.into_inner()));
        undelivered.sort_by_key(|u| u.record_id);
        CloseReport { undelivered }
    }

    pub(crate) fn set_fatal(&self, reason: String) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            tracing::error!(reason, "fatal producer error: the producer must be rebuilt");
            *fatal = Some(reason);
            self.is_fatal.store(true, Ordering::Release);
        }
    }

    /// Notes a client error that may be fatal (librdkafka's error events do not say).
    pub(crate) fn error_reported(&self) {
        self.maybe_fatal.store(true, Ordering::Release);
    }

    /// Notes an authentication or TLS failure of a broker connection.
    pub(crate) fn security_failed(&self, reason: String) {
        *self.security.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), reason));
    }

    /// The last authentication or TLS failure reported after `since`.
    pub(crate) fn security_failure_since(&self, since: std::time::Instant) -> Option<String> {
        let last = self.security.lock().unwrap_or_else(|p| p.into_inner());
        last.as_ref().filter(|(at, _)| *at >= since).map(|(_, reason)| reason.clone())
    }

    /// Whether an error was reported since the last check, clearing the note.
    pub(crate) fn take_error_reported(&self) -> bool {
        self.maybe_fatal.load(Ordering::Acquire) && self.maybe_fatal.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn fatal(&self) -> Option<String> {
        if !self.is_fatal.load(Ordering::Acquire) {
            return None;
        }
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn metrics(&self) -> ProducerMetrics {
        let (c, d) = (&self.refusals, &self.deliveries);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let stats = *self.batch_stats.lock().unwrap_or_else(|e| e.into_inner());
        ProducerMetrics {
            records_sent: get(&d.sent),
            records_failed: get(&d.failed),
            refused: RefusedCounts {
                schema_violation: get(&c.violation),
                serialization: get(&c.serialization),
                key_schema_changed: get(&c.key_schema_changed),
                buffer_full: get(&c.buffer_full),
                too_large: get(&c.too_large),
                other: get(&c.other),
            },
            bytes_sent: get(&d.bytes_sent),
            in_flight: self.in_flight(),
            buffered_bytes: self.budget.in_use(),
            batch_size_avg: stats.batch_size_avg,
            batch_records_avg: stats.batch_records_avg,
            requests_sent: stats.requests_sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::callback::Callback;
    use crate::producer::pending::{Await, Call, Completion, Forget, Meta, SlotSource};
    use typed_kafka_avro::SchemaId;

    fn accounting(interceptors: Vec<Arc<dyn Interceptor>>) -> Arc<Accounting> {
        let config = ProducerConfig::builder("127.0.0.1:9092").build().unwrap();
        Arc::new(Accounting::new(&config, interceptors))
    }

    fn meta(a: &Accounting, bytes: u32) -> Meta {
        assert!(a.budget.try_reserve(charge(bytes)));
        Meta { key_size: Some(3), value_schema_id: Some(SchemaId(7)), ..Meta::quiet(a.issue(), bytes) }
    }

    fn forgotten(a: &Accounting, bytes: u32) -> Pending {
        Forget.pending(meta(a, bytes)).0
    }

    fn delivered(offset: i64) -> Outcome {
        Outcome::Delivered { partition: 2, offset: Some(offset), timestamp: None }
    }

    /// The in-flight count is the IDs issued less the records completed: a flush waits for the last completion,
    /// which a delivery thread reports while the flush waits.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_waits_for_the_last_completion_from_the_delivery_thread() {
        let a = accounting(Vec::new());
        let records: Vec<Pending> = (0..1000).map(|_| forgotten(&a, 100)).collect();
        assert_eq!(a.in_flight(), 1000);
        assert_eq!(a.metrics().buffered_bytes, 1000 * (100 + u64::from(RECORD_OVERHEAD)), "bytes and overheads");
        let deliveries = std::thread::spawn({
            let a = a.clone();
            move || {
                for (i, p) in records.into_iter().enumerate() {
                    if i % 100 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    a.complete(p, delivered(i as i64), || unreachable!("nobody asks for the outcome"));
                }
            }
        });
        let left = a.wait_idle(Instant::now() + Duration::from_secs(10)).await;
        deliveries.join().unwrap();
        assert_eq!(left, 0);
        let m = a.metrics();
        assert_eq!((m.records_sent, m.bytes_sent, m.in_flight, m.buffered_bytes), (1000, 100_000, 0, 0));
        assert_eq!(a.idle_waiters.load(Ordering::SeqCst), 0);
    }

    /// A refused enqueue gives its bytes back and stops counting as in flight.
    #[test]
    fn a_record_not_enqueued_is_not_in_flight() {
        let a = accounting(Vec::new());
        let p = forgotten(&a, 500);
        a.not_enqueued(p.meta().bytes);
        assert_eq!((a.in_flight(), a.metrics().buffered_bytes), (0, 0));
    }

    /// A callback runs on the delivery thread with the whole outcome, before the record stops counting as in
    /// flight; one that panics does not stop the producer.
    #[test]
    fn called_back_records_get_their_metadata_before_they_stop_counting() {
        let a = accounting(Vec::new());
        let source = SlotSource::default();
        let seen = Arc::new(Mutex::new(None));
        let (p, id) = Call(
            Callback::new({
                let (a, seen) = (a.clone(), seen.clone());
                move |r: Result<RecordMetadata, DeliveryError>| {
                    *seen.lock().unwrap() = Some((r.map(|m| (m.topic, m.offset, m.record_id)), a.in_flight()));
                }
            }),
            &source,
        )
        .pending(meta(&a, 10));
        a.complete(p, delivered(7), || "orders");
        let (result, in_flight) = seen.lock().unwrap().take().expect("the callback ran");
        let (topic, offset, record_id) = result.unwrap();
        assert_eq!((&*topic, offset, record_id, in_flight), ("orders", Some(7), id, 1));
        assert_eq!((a.in_flight(), a.metrics().records_sent), (0, 1));

        let (p, _) = Call(Callback::new(|_| panic!("a callback that panics")), &source).pending(meta(&a, 10));
        a.complete(p, delivered(8), || "orders");
        assert_eq!((a.in_flight(), a.metrics().records_sent), (0, 2));
    }

    /// Futures and interceptors get the whole outcome, with the topic's one shared name; a future's metadata is
    /// built from the outcome where it is awaited, unless an interceptor needed it first.
    #[test]
    fn awaited_records_get_their_metadata_and_shared_topic_name() {
        struct Count(AtomicUsize);
        impl Interceptor for Arc<Count> {
            fn on_acknowledgement(&self, result: Result<&RecordMetadata, &DeliveryError>) {
                assert!(result.is_err());
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let a = accounting(Vec::new());
        let bound = a.topic("orders");
        let (p, slot) = Await(&SlotSource::default()).pending(meta(&a, 10));
        a.complete(p, delivered(41), || unreachable!("the future builds the metadata"));
        assert_eq!(a.in_flight(), 0);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(Ok(m)) = slot.poll_outcome(&mut cx, &bound) else { panic!("delivered") };
        assert!(Arc::ptr_eq(&m.topic, &bound));
        assert_eq!(
            (m.offset, m.serialized_key_size, m.value_schema_id, m.record_id),
            (Some(41), Some(3), Some(SchemaId(7)), 1)
        );

        let count = Arc::new(Count(AtomicUsize::new(0)));
        let a = accounting(vec![Arc::new(count.clone())]);
        let failed = Outcome::Failed {
            partition: None,
            kind: DeliveryErrorKind::TimedOut,
            message: "t".into(),
            retriable: true,
        };
        a.complete(forgotten(&a, 10), failed, || "payments");
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(a.metrics().records_failed, 1);

        // With an interceptor, an awaited record's outcome is built once, on the delivery thread, and handed over.
        let bound = a.topic("payments");
        let (p, slot) = Await(&SlotSource::default()).pending(meta(&a, 10));
        let failed = Outcome::Failed {
            partition: Some(0),
            kind: DeliveryErrorKind::TimedOut,
            message: "t".into(),
            retriable: true,
        };
        a.complete(p, failed, || "payments");
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(Err(e)) = slot.poll_outcome(&mut cx, &"other".into()) else { panic!("failed") };
        assert!(Arc::ptr_eq(&e.topic, &bound));
        assert_eq!((e.kind, e.partition, e.record_id), (DeliveryErrorKind::TimedOut, Some(0), 2));
    }
}
