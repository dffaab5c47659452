//! What every record enqueued passes through on its way out, whatever the backend: the byte budget, the in-flight
//! count, the table of tracked records, the counters, the interceptors, the producer's state (closing, fatal).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::budget::{ByteBudget, Counted, Padded};
use super::completion::Table;
use super::error::{DeliveryError, DeliveryErrorKind, ErrorCode, Reason, SendErrorKind};
use super::executor;
use crate::config::{ProducerConfig, RECORD_OVERHEAD};
use crate::record::{Headers, RecordMetadata};

/// Hooks around every record, as Java's `ProducerInterceptor`: `on_send` before the record is encoded (it may add
/// headers), `on_acknowledgement` when it was delivered or failed. Both run on the producer's threads (`on_send` on
/// the sender's, `on_acknowledgement` on the delivery thread): keep them short. A panic in either is caught and
/// logged; the record and the producer carry on.
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
    /// The key or value breaks a data-contract rule.
    pub rule_violation: u64,
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
    /// Records refused for breaking a data-contract rule and also enqueued on their topic's dead-letter topic
    /// (their deliveries count in `records_sent` and `records_failed` like any record's).
    pub dead_lettered: u64,
    /// Dead-letter records that could not be enqueued (the byte budget stayed full, the producer was closing) or
    /// were not delivered; each is also logged.
    pub dead_letters_lost: u64,
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
    /// Records in librdkafka's queues by its own count (`msg_cnt`), from its last statistics.
    pub queued_records: Option<u64>,
    /// Bytes of the records in librdkafka's queues by its own count (`msg_size`: keys and values), from its last
    /// statistics.
    pub queued_bytes: Option<u64>,
    /// How long the brokers throttled this producer per produce response, on average, in librdkafka's last
    /// statistics window (a broker quota such as `producer_byte_rate`; 0 when none applies): Java's
    /// `produce-throttle-time-avg`. librdkafka then holds back requests to that broker for that long.
    pub throttle_time_avg_ms: Option<i64>,
    /// The longest throttle time of one produce response in that window: Java's `produce-throttle-time-max`.
    pub throttle_time_max_ms: Option<i64>,
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

/// What `Producer::close` did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReport {
    /// The records enqueued and not delivered: failed while closing, or purged at the timeout.
    pub undelivered: Vec<Undelivered>,
    /// Fire-and-forget records whose outcome was still unknown when `close` returned (their delivery report had
    /// not come by the deadline; they fail `Purged` in the metrics when it does). Usually 0.
    pub unreported: usize,
}

impl CloseReport {
    /// Whether every record was delivered.
    pub fn is_complete(&self) -> bool {
        self.undelivered.is_empty() && self.unreported == 0
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
    rule_violation: AtomicU64,
    serialization: AtomicU64,
    key_schema_changed: AtomicU64,
    buffer_full: AtomicU64,
    too_large: AtomicU64,
    other: AtomicU64,
    /// Refused records also enqueued on their topic's dead-letter topic.
    dead_lettered: AtomicU64,
    /// Dead-letter records that could not be enqueued, or were not delivered.
    dead_letters_lost: AtomicU64,
}

/// What librdkafka's statistics say, as the metrics give it.
#[derive(Clone, Copy, Default)]
pub(crate) struct BatchStats {
    pub(crate) batch_size_avg: Option<i64>,
    pub(crate) batch_records_avg: Option<i64>,
    pub(crate) requests_sent: Option<i64>,
    pub(crate) queued_records: Option<u64>,
    pub(crate) queued_bytes: Option<u64>,
    pub(crate) throttle_time_avg_ms: Option<i64>,
    pub(crate) throttle_time_max_ms: Option<i64>,
}

/// The producer's shared state per record. The sending threads and the delivery thread each write their own
/// counters, on cache lines of their own; what both read per record (the flags) is rarely written.
pub(crate) struct Accounting {
    /// This producer's number, unique in the process.
    number: u64,
    sends: Padded<Sends>,
    deliveries: Padded<Deliveries>,
    budget: ByteBudget,
    max_block: Duration,
    /// The records whose outcome someone waits for.
    pub(crate) table: Table,
    /// Tasks waiting for nothing to be in flight (flush, close).
    idle_waiters: AtomicUsize,
    idle: Notify,
    refusals: Refusals,
    interceptors: Vec<Arc<dyn Interceptor>>,
    closing: AtomicBool,
    /// Where a transactional producer stands (`TXN_*`).
    transaction: AtomicU8,
    undelivered: Mutex<Vec<Undelivered>>,
    fatal: Mutex<Option<(ErrorCode, String)>>,
    /// Whether `fatal` holds an error: the hot path reads this flag, not the mutex.
    is_fatal: AtomicBool,
    /// librdkafka reported an error that may be fatal: whether it is, only its client can tell.
    maybe_fatal: AtomicBool,
    /// The last authentication or TLS failure librdkafka reported, and when: a bind fails fast with it instead of
    /// waiting `max.block.ms` for metadata that cannot come.
    security: Mutex<Option<(Instant, String)>>,
    batch_stats: Mutex<BatchStats>,
    /// The names of the bound topics, shared by their producers and the metadata and errors of their records.
    topics: Mutex<Vec<Arc<str>>>,
    /// OpenTelemetry's instruments, when the producer was built with them.
    #[cfg(feature = "otel")]
    instrumentation: std::sync::OnceLock<super::otel::Instrumentation>,
}

const TXN_NOT_TRANSACTIONAL: u8 = 0;
const TXN_NONE: u8 = 1;
const TXN_OPEN: u8 = 2;
const TXN_ABORTING: u8 = 3;

/// Where a transactional producer's transaction stands, as the send path and the delivery reports see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnState {
    /// None is open (or one is committing).
    None,
    Open,
    Aborting,
}

/// A record's share of the budget.
#[inline]
fn charge(bytes: u32) -> u64 {
    u64::from(bytes) + u64::from(RECORD_OVERHEAD)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Accounting {
    pub(crate) fn new(config: &ProducerConfig, interceptors: Vec<Arc<dyn Interceptor>>) -> Accounting {
        static NUMBERS: AtomicU64 = AtomicU64::new(0);
        Accounting {
            number: NUMBERS.fetch_add(1, Ordering::Relaxed),
            sends: Padded::default(),
            deliveries: Padded::default(),
            budget: ByteBudget::new(config.buffer_memory),
            max_block: config.max_block,
            table: Table::default(),
            idle_waiters: AtomicUsize::new(0),
            idle: Notify::new(),
            refusals: Refusals::default(),
            interceptors,
            closing: AtomicBool::new(false),
            transaction: AtomicU8::new(if config.transactional_id.is_some() {
                TXN_NONE
            } else {
                TXN_NOT_TRANSACTIONAL
            }),
            undelivered: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
            is_fatal: AtomicBool::new(false),
            maybe_fatal: AtomicBool::new(false),
            security: Mutex::new(None),
            batch_stats: Mutex::new(BatchStats::default()),
            topics: Mutex::new(Vec::new()),
            #[cfg(feature = "otel")]
            instrumentation: std::sync::OnceLock::new(),
        }
    }

    /// The one shared name of `topic`, and its index among the producer's topics.
    pub(crate) fn topic(&self, topic: &str) -> (u32, Arc<str>) {
        let mut topics = lock(&self.topics);
        if let Some(i) = topics.iter().position(|t| **t == *topic) {
            return (i as u32, topics[i].clone());
        }
        let t: Arc<str> = topic.into();
        topics.push(t.clone());
        ((topics.len() - 1) as u32, t)
    }

    /// The name of the topic with this index.
    pub(crate) fn topic_at(&self, index: u32) -> Arc<str> {
        lock(&self.topics).get(index as usize).cloned().unwrap_or_else(|| Arc::from("?"))
    }

    /// [`topic_at`](Self::topic_at) for the delivery thread, which asks for the same topic record after record: the
    /// last one is kept on the thread (with this producer's unique number), so that no lock is taken per record.
    pub(crate) fn delivered_topic(&self, index: u32) -> Arc<str> {
        thread_local! {
            static LAST: std::cell::RefCell<Option<(u64, u32, Arc<str>)>> = const { std::cell::RefCell::new(None) };
        }
        LAST.with_borrow_mut(|last| match last {
            Some((producer, i, t)) if *producer == self.number && *i == index => t.clone(),
            _ => {
                let t = self.topic_at(index);
                *last = Some((self.number, index, t.clone()));
                t
            }
        })
    }

    /// The ID of a record about to be enqueued, which counts as in flight from now until it is
    /// [`finished`](Self::finished).
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

    /// A record no longer in flight.
    #[inline]
    pub(crate) fn finished(&self) {
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

    /// Waits, on any executor, until nothing is in flight, at most until `deadline`; returns what is still in
    /// flight.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> usize {
        let _waiting = Counted::new(&self.idle_waiters);
        loop {
            // Created before the check, so that the last completion after it wakes this task.
            let idle = self.idle.notified();
            let n = self.in_flight();
            if n == 0 {
                return 0;
            }
            if executor::until(deadline, idle).await.is_none() {
                return self.in_flight();
            }
        }
    }

    /// Counts a refusal before enqueue.
    pub(crate) fn refused(&self, kind: &SendErrorKind) {
        let c = &self.refusals;
        let counter = match kind.reason() {
            Reason::SchemaViolation => &c.violation,
            Reason::RuleViolation => &c.rule_violation,
            Reason::Serialization => &c.serialization,
            Reason::KeySchemaChanged => &c.key_schema_changed,
            Reason::BufferFull => &c.buffer_full,
            Reason::TooLarge => &c.too_large,
            Reason::Closed | Reason::Fatal | Reason::Other => &c.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// OpenTelemetry's instruments, if the producer has them.
    #[inline]
    pub(crate) fn instrumentation(&self) -> Option<&super::otel::Instrumentation> {
        #[cfg(feature = "otel")]
        {
            self.instrumentation.get()
        }
        #[cfg(not(feature = "otel"))]
        {
            None
        }
    }

    /// Instruments the producer (once, when it is built).
    #[cfg(feature = "otel")]
    pub(crate) fn instrument(self: &Arc<Self>, telemetry: &super::otel::Telemetry, config: &ProducerConfig) {
        let i = super::otel::Instrumentation::new(telemetry, config, Arc::downgrade(self));
        let _ = self.instrumentation.set(i);
    }

    /// Whether a fire-and-forget record's outcome is wanted by nobody but the counters (no interceptors).
    pub(crate) fn quiet(&self) -> bool {
        self.interceptors.is_empty()
    }

    /// The interceptors.
    pub(crate) fn interceptors(&self) -> &[Arc<dyn Interceptor>] {
        &self.interceptors
    }

    /// Runs the interceptors' `on_send`; a panic in one is logged and the record carries on.
    pub(crate) fn on_send(&self, topic: &str, headers: &mut Headers) {
        if self.interceptors.is_empty() {
            return;
        }
        let _user_code = executor::DeliveryPath::enter();
        for i in &self.interceptors {
            if catch_unwind(AssertUnwindSafe(|| i.on_send(topic, headers))).is_err() {
                tracing::error!(topic, "an interceptor's on_send panicked; the record carries on");
            }
        }
    }

    /// Counts a delivered record.
    pub(crate) fn count_sent(&self, bytes: u32) {
        self.deliveries.sent.fetch_add(1, Ordering::Relaxed);
        self.deliveries.bytes_sent.fetch_add(u64::from(bytes), Ordering::Relaxed);
    }

    /// A dead-letter record enqueued.
    pub(crate) fn dead_lettered(&self) {
        self.refusals.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// A dead-letter record not enqueued or not delivered.
    pub(crate) fn dead_letter_lost(&self) {
        self.refusals.dead_letters_lost.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a record that finally failed.
    pub(crate) fn count_failed(&self) {
        self.deliveries.failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Notes a record that failed while the producer was closing, for the close report.
    pub(crate) fn note_undelivered(&self, undelivered: Undelivered) {
        lock(&self.undelivered).push(undelivered);
    }

    pub(crate) fn start_closing(&self) {
        self.closing.store(true, Ordering::Release);
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Whether a record may be enqueued as far as transactions go: always for a producer that is not
    /// transactional, only inside an open transaction for one that is.
    #[inline]
    pub(crate) fn check_transaction(&self) -> Result<(), SendErrorKind> {
        match self.transaction.load(Ordering::Acquire) {
            TXN_NOT_TRANSACTIONAL | TXN_OPEN => Ok(()),
            _ => Err(SendErrorKind::NoTransaction),
        }
    }

    /// Notes where the producer's transaction stands: open (records are taken), ending (committing: none are
    /// taken), or aborting (none are taken, and those purged fail as aborted).
    pub(crate) fn set_transaction(&self, state: TxnState) {
        let value = match state {
            TxnState::None => TXN_NONE,
            TxnState::Open => TXN_OPEN,
            TxnState::Aborting => TXN_ABORTING,
        };
        self.transaction.store(value, Ordering::Release);
    }

    /// Whether the producer's transaction is being aborted: a record purged now fails as aborted.
    pub(crate) fn is_aborting(&self) -> bool {
        self.transaction.load(Ordering::Acquire) == TXN_ABORTING
    }

    /// The report of `close`: the records noted undelivered, and how many are still in flight unreported.
    pub(crate) fn close_report(&self) -> CloseReport {
        let mut undelivered = std::mem::take(&mut *lock(&self.undelivered));
        undelivered.sort_by_key(|u| u.record_id);
        CloseReport { undelivered, unreported: self.in_flight() }
    }

    /// Notes the producer's fatal error (the first one wins).
    pub(crate) fn set_fatal(&self, code: ErrorCode, reason: String) {
        let mut fatal = lock(&self.fatal);
        if fatal.is_none() {
            tracing::error!(reason, %code, "fatal producer error: the producer must be rebuilt");
            *fatal = Some((code, reason));
            self.is_fatal.store(true, Ordering::Release);
        }
    }

    /// Notes a client error that may be fatal (librdkafka's error events do not say).
    pub(crate) fn error_reported(&self) {
        self.maybe_fatal.store(true, Ordering::Release);
    }

    /// Whether an error was reported since the last check, clearing the note.
    pub(crate) fn take_error_reported(&self) -> bool {
        self.maybe_fatal.load(Ordering::Acquire) && self.maybe_fatal.swap(false, Ordering::AcqRel)
    }

    /// Notes an authentication or TLS failure of a broker connection.
    pub(crate) fn security_failed(&self, reason: String) {
        *lock(&self.security) = Some((Instant::now(), reason));
    }

    /// The last authentication or TLS failure reported after `since`.
    pub(crate) fn security_failure_since(&self, since: Instant) -> Option<String> {
        let last = lock(&self.security);
        last.as_ref().filter(|(at, _)| *at >= since).map(|(_, reason)| reason.clone())
    }

    /// The fatal error the producer hit, if any.
    pub(crate) fn fatal(&self) -> Option<(ErrorCode, String)> {
        if !self.is_fatal.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.fatal).clone()
    }

    /// Stores what librdkafka's last statistics said.
    pub(crate) fn set_batch_stats(&self, stats: BatchStats) {
        *lock(&self.batch_stats) = stats;
    }

    pub(crate) fn metrics(&self) -> ProducerMetrics {
        let (c, d) = (&self.refusals, &self.deliveries);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let stats = *lock(&self.batch_stats);
        ProducerMetrics {
            records_sent: get(&d.sent),
            records_failed: get(&d.failed),
            refused: RefusedCounts {
                schema_violation: get(&c.violation),
                rule_violation: get(&c.rule_violation),
                serialization: get(&c.serialization),
                key_schema_changed: get(&c.key_schema_changed),
                buffer_full: get(&c.buffer_full),
                too_large: get(&c.too_large),
                other: get(&c.other),
            },
            dead_lettered: get(&c.dead_lettered),
            dead_letters_lost: get(&c.dead_letters_lost),
            bytes_sent: get(&d.bytes_sent),
            in_flight: self.in_flight(),
            buffered_bytes: self.budget.in_use(),
            batch_size_avg: stats.batch_size_avg,
            batch_records_avg: stats.batch_records_avg,
            requests_sent: stats.requests_sent,
            queued_records: stats.queued_records,
            queued_bytes: stats.queued_bytes,
            throttle_time_avg_ms: stats.throttle_time_avg_ms,
            throttle_time_max_ms: stats.throttle_time_max_ms,
        }
    }
}
