//! What every record enqueued passes through on its way out: the byte budget, the in-flight count, the metrics,
//! the interceptors, and the completion of its future or callback.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use typed_kafka_avro::SchemaId;

use super::error::{DeliveryError, DeliveryErrorKind, SendErrorKind};
use crate::config::ProducerConfig;
use crate::record::{Headers, RecordMetadata, Timestamp};

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
    /// Bytes of the byte budget in use.
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

/// How a record's outcome reaches its sender.
pub(crate) enum Completion {
    /// Fire-and-forget: metrics and interceptors only.
    Nothing,
    /// A [`Delivery`](super::Delivery) future.
    Future(tokio::sync::oneshot::Sender<Result<RecordMetadata, DeliveryError>>),
    /// A callback (in a mutex only so that the pending record is `Sync`, as librdkafka's opaque must be).
    #[allow(clippy::type_complexity)]
    Callback(Mutex<Option<Box<dyn FnOnce(Result<RecordMetadata, DeliveryError>) + Send>>>),
}

/// An enqueued record on its way to the broker: what its delivery report needs.
pub(crate) struct Pending {
    pub(crate) record_id: u64,
    pub(crate) topic: Arc<str>,
    /// Bytes it holds of the byte budget.
    pub(crate) bytes: u32,
    pub(crate) key_size: Option<usize>,
    pub(crate) value_size: Option<usize>,
    pub(crate) key_schema_id: Option<SchemaId>,
    pub(crate) value_schema_id: Option<SchemaId>,
    pub(crate) completion: Completion,
}

/// The outcome of one delivery, as the batching core reports it.
pub(crate) enum Outcome {
    Delivered { partition: i32, offset: Option<i64>, timestamp: Option<Timestamp> },
    Failed { partition: Option<i32>, kind: DeliveryErrorKind, message: String, retriable: bool },
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    bytes_sent: AtomicU64,
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

pub(crate) struct Accounting {
    budget: Semaphore,
    budget_bytes: u64,
    max_block: Duration,
    in_flight: AtomicUsize,
    idle: Notify,
    next_id: AtomicU64,
    counters: Counters,
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
}

impl Accounting {
    pub(crate) fn new(config: &ProducerConfig, interceptors: Vec<Arc<dyn Interceptor>>) -> Accounting {
        let budget_bytes = config.buffer_memory.min(Semaphore::MAX_PERMITS as u64);
        Accounting {
            budget: Semaphore::new(budget_bytes as usize),
            budget_bytes,
            max_block: config.max_block,
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            next_id: AtomicU64::new(1),
            counters: Counters::default(),
            interceptors,
            closing: AtomicBool::new(false),
            undelivered: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
            is_fatal: AtomicBool::new(false),
            maybe_fatal: AtomicBool::new(false),
            security: Mutex::new(None),
            batch_stats: Mutex::new(BatchStats::default()),
        }
    }

    pub(crate) fn next_record_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes `bytes` of the budget now, if they are free.
    #[inline]
    pub(crate) fn try_reserve(&self, bytes: u32) -> bool {
        match self.budget.try_acquire_many(bytes) {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        }
    }

    /// How much of the budget a send that found it full waits to see free before it takes its own `bytes`.
    /// Deliveries free the budget record by record; waking the sender for each would cost a thread switch per
    /// record once the buffer is full (Java's pool is freed batch by batch). A sixteenth of the budget, at most
    /// 1 MiB, and never less than the record.
    fn wake_chunk(&self, bytes: u32) -> u32 {
        let chunk = (self.budget_bytes / 16).min(1 << 20) as u32;
        chunk.max(bytes)
    }

    /// Takes `bytes` of the budget, waiting up to `max.block.ms` for deliveries to free them (woken by the
    /// releases, never polling).
    pub(crate) async fn reserve(&self, bytes: u32) -> Result<(), SendErrorKind> {
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let started = Instant::now();
        let chunk = self.wake_chunk(bytes);
        let acquired = tokio::time::timeout(self.max_block, self.budget.acquire_many(chunk)).await.ok();
        self.reserved(acquired, started, bytes, chunk)
    }

    /// [`reserve`](Self::reserve) for a blocking caller: parks the thread, woken by the releases.
    pub(crate) fn reserve_blocking(&self, bytes: u32) -> Result<(), SendErrorKind> {
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let started = Instant::now();
        let chunk = self.wake_chunk(bytes);
        let acquired = super::block_on_until(self.budget.acquire_many(chunk), Some(started + self.max_block));
        self.reserved(acquired, started, bytes, chunk)
    }

    /// The outcome of waiting for a `chunk` of the budget since `started`: acquired (`bytes` of it kept until the
    /// delivery report, the rest given back for the sends after this one), the budget closed, or `None`:
    /// `max.block.ms` passed, and the send is refused unless its own `bytes` are free after all.
    fn reserved(
        &self,
        acquired: Option<Result<tokio::sync::SemaphorePermit<'_>, tokio::sync::AcquireError>>,
        started: Instant,
        bytes: u32,
        chunk: u32,
    ) -> Result<(), SendErrorKind> {
        match acquired {
            Some(Ok(permit)) => {
                permit.forget();
                self.release(chunk - bytes);
                Ok(())
            }
            Some(Err(_)) => Err(SendErrorKind::Closed),
            None if self.try_reserve(bytes) => Ok(()),
            None => Err(SendErrorKind::BufferFull { waited: started.elapsed(), needed: bytes as usize }),
        }
    }

    /// Gives `bytes` back to the budget (the record was delivered, failed or never enqueued).
    #[inline]
    pub(crate) fn release(&self, bytes: u32) {
        self.budget.add_permits(bytes as usize);
    }

    pub(crate) fn enqueued(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// An enqueue that did not happen after all (the batching core refused the record).
    pub(crate) fn not_enqueued(&self, bytes: u32) {
        self.release(bytes);
        self.finished();
    }

    fn finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Waits until nothing is in flight, at most until `deadline`; returns what is still in flight.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> usize {
        loop {
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
        let c = &self.counters;
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

    /// The end of one enqueued record: the budget back, the counters, the interceptors, then its sender told.
    #[allow(clippy::boxed_local)] // it arrives boxed, as librdkafka's opaque
    pub(crate) fn complete(&self, pending: Box<Pending>, outcome: Outcome) {
        let Pending { record_id, topic, bytes, key_size, value_size, key_schema_id, value_schema_id, completion } =
            *pending;
        self.release(bytes);
        let result = match outcome {
            Outcome::Delivered { partition, offset, timestamp } => {
                self.counters.sent.fetch_add(1, Ordering::Relaxed);
                self.counters.bytes_sent.fetch_add(u64::from(bytes), Ordering::Relaxed);
                Ok(RecordMetadata {
                    topic,
                    partition,
                    offset,
                    timestamp,
                    serialized_key_size: key_size,
                    serialized_value_size: value_size,
                    key_schema_id,
                    value_schema_id,
                    record_id,
                })
            }
            Outcome::Failed { partition, kind, message, retriable } => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                if self.closing.load(Ordering::Acquire) {
                    self.undelivered.lock().unwrap_or_else(|e| e.into_inner()).push(Undelivered {
                        record_id,
                        topic: topic.clone(),
                        partition,
                        kind: kind.clone(),
                    });
                }
                Err(DeliveryError { topic, partition, record_id, kind, message, retriable })
            }
        };
        for i in &self.interceptors {
            if catch_unwind(AssertUnwindSafe(|| i.on_acknowledgement(result.as_ref()))).is_err() {
                tracing::error!("an interceptor's on_acknowledgement panicked; the producer carries on");
            }
        }
        // Callbacks run before the record stops counting as in flight (a flush returns after them); futures are
        // told after, so whoever awaits one sees the counters already updated.
        match completion {
            Completion::Nothing => {
                if let Err(e) = &result {
                    tracing::debug!(error = %e, "fire-and-forget record not delivered");
                }
                self.finished();
            }
            Completion::Future(tx) => {
                self.finished();
                // The receiver may be gone: the sender dropped its Delivery and does not want the result.
                let _ = tx.send(result);
            }
            Completion::Callback(cb) => {
                let cb = cb.into_inner().unwrap_or_else(|e| e.into_inner());
                if let Some(cb) = cb
                    && catch_unwind(AssertUnwindSafe(|| cb(result))).is_err()
                {
                    tracing::error!("a delivery callback panicked; the producer carries on");
                }
                self.finished();
            }
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
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let stats = *self.batch_stats.lock().unwrap_or_else(|e| e.into_inner());
        ProducerMetrics {
            records_sent: get(&c.sent),
            records_failed: get(&c.failed),
            refused: RefusedCounts {
                schema_violation: get(&c.violation),
                serialization: get(&c.serialization),
                key_schema_changed: get(&c.key_schema_changed),
                buffer_full: get(&c.buffer_full),
                too_large: get(&c.too_large),
                other: get(&c.other),
            },
            bytes_sent: get(&c.bytes_sent),
            in_flight: self.in_flight(),
            buffered_bytes: self.budget_bytes.saturating_sub(self.budget.available_permits() as u64),
            batch_size_avg: stats.batch_size_avg,
            batch_records_avg: stats.batch_records_avg,
            requests_sent: stats.requests_sent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounting(budget: u64, max_block_ms: u64) -> Arc<Accounting> {
        let config = ProducerConfig::builder("127.0.0.1:9092")
            .set("buffer.memory", budget.to_string())
            .set("max.block.ms", max_block_ms.to_string())
            .set("max.request.size", budget.to_string())
            .build()
            .unwrap();
        Arc::new(Accounting::new(&config, Vec::new()))
    }

    /// A send that found the budget full is woken once a chunk is free, not by every record's release: the
    /// sender and the delivery thread do not switch per record. (One thread: each step runs to its await point.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_send_wakes_for_a_chunk_and_gives_the_rest_back() {
        let a = accounting(16_000, 10_000);
        assert!(a.try_reserve(16_000));
        let waiter = tokio::spawn({
            let a = a.clone();
            async move { a.reserve(100).await }
        });
        tokio::task::yield_now().await; // the waiter is now waiting for its chunk
        a.release(100);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "100 bytes free are less than the 1,000-byte chunk");
        for _ in 0..9 {
            a.release(100);
        }
        waiter.await.unwrap().unwrap();
        // The waiter kept its 100 bytes; the other 900 serve the next sends without waiting.
        assert!(a.try_reserve(900));
        assert!(!a.try_reserve(1));
    }

    /// At `max.block.ms` a send is refused only if its own bytes are not free: a chunk it did not see is no
    /// reason to refuse.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_max_block_a_send_takes_its_bytes_if_they_are_free() {
        let a = accounting(16_000, 200);
        assert!(a.try_reserve(16_000));
        let waiter = tokio::spawn({
            let a = a.clone();
            async move { a.reserve(100).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        a.release(150);
        assert!(waiter.await.unwrap().is_ok(), "150 bytes were free at the deadline");
        let refused = a.reserve(100).await;
        assert!(matches!(refused, Err(SendErrorKind::BufferFull { .. })), "{refused:?}");
        let blocking = tokio::task::spawn_blocking({
            let a = a.clone();
            move || a.reserve_blocking(40)
        });
        assert!(blocking.await.unwrap().is_ok(), "the 50 bytes left serve a blocking send at its deadline");
    }
}
