//! The batching core: librdkafka through rdkafka's `BaseProducer`, in three parts, each unaware of the next.
//!
//! - **Transport**: [`KafkaSink::send`] hands one record to librdkafka ([`native::produce`]) with its ticket.
//! - **Polling**: one thread per producer, `typed-kafka-delivery`, polls librdkafka's event queue; it is the only
//!   thread that ever serves delivery reports (a flush waits on another thread without serving them, see
//!   [`native::flush`]), so callbacks run on one thread, in each partition's offset order.
//! - **Completion**: each report goes to [`report`], which gives the budget back and tells the record's waiter.
//!
//! When the producer's last handle is dropped, [`Transport::shut_down`] only raises a flag. The delivery thread
//! then purges what is left, serves the purge's reports for up to [`TEARDOWN_GRACE`], fails whatever is still
//! unreported as `Purged`, and destroys the client, on its own thread: no caller (an async runtime's worker, or a
//! callback on the delivery thread itself) ever waits for it. A second thread per producer,
//! `typed-kafka-metadata`, re-reads the partition counts of the bound topics every `metadata.max.age.ms`.

mod native;

use std::any::TypeId;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers as _, Message};
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer as _, ProducerContext, PurgeConfig};
use rdkafka::statistics::Statistics;

use super::accounting::{Accounting, BatchStats};
use super::completion::{Failure, Outcome, Ticket};
use super::error::{BuildError, DeliveryErrorKind, ErrorCode, SendErrorKind};
use super::executor::DeliveryPath;
use super::report::{fail_unreported, report};
use super::transport::{Keep, MetadataError, Outgoing, Sink, Transport, TxnCall, TxnClass, TxnFailure};
use crate::config::ProducerConfig;
use crate::record::Timestamp;

/// How long one poll of the event queue waits: the longest the delivery thread takes to notice the producer's
/// last handle was dropped.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How long the teardown serves the reports of what it purged before it fails what is still unreported.
pub(crate) const TEARDOWN_GRACE: Duration = Duration::from_secs(2);

/// How long one re-read of a topic's partition count may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Receives librdkafka's callbacks, all on the delivery thread.
pub(crate) struct Ctx {
    accounting: Arc<Accounting>,
    /// The brokers that throttled the producer in librdkafka's last statistics window, by name.
    throttling: Mutex<Vec<String>>,
}

impl ClientContext for Ctx {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", fac, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", fac, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(target: "librdkafka", fac, "{message}"),
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", fac, "{message}"),
        }
    }

    fn stats(&self, statistics: Statistics) {
        match catch_unwind(AssertUnwindSafe(|| summarize(&statistics))) {
            Ok(stats) => self.accounting.set_batch_stats(stats),
            Err(_) => tracing::error!("summarizing librdkafka's statistics panicked; the metrics keep the last ones"),
        }
        self.note_throttling(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::Fatal) {
            self.accounting.set_fatal(ErrorCode::FATAL, reason.to_string());
        } else if is_security_failure(code, reason) {
            // Retrying will not fix a wrong password or an untrusted certificate: binds fail fast with it.
            self.accounting.security_failed(reason.to_string());
            tracing::error!(target: "librdkafka", error = %error, "{reason}");
        } else {
            // Through the event API a fatal error arrives with its underlying code; the delivery thread asks the
            // client whether it was fatal after this poll.
            self.accounting.error_reported();
            tracing::warn!(target: "librdkafka", error = %error, "{reason}");
        }
    }
}

impl Ctx {
    /// Logs each broker that starts or stops throttling the producer (a quota: its produce responses carry a
    /// throttle time), from one statistics window to the next.
    fn note_throttling(&self, statistics: &Statistics) {
        let now: Vec<(&str, i64)> = statistics
            .brokers
            .values()
            .filter_map(|b| b.throttle.as_ref().filter(|w| w.max > 0).map(|w| (b.name.as_str(), w.max)))
            .collect();
        let mut before = self.throttling.lock().unwrap_or_else(PoisonError::into_inner);
        for (broker, max_ms) in &now {
            if !before.iter().any(|b| b == broker) {
                tracing::warn!(
                    broker,
                    throttle_max_ms = max_ms,
                    "the broker started throttling the producer (a quota)"
                );
            }
        }
        for broker in before.iter().filter(|b| !now.iter().any(|(n, _)| n == b)) {
            tracing::info!(broker = broker.as_str(), "the broker stopped throttling the producer");
        }
        *before = now.into_iter().map(|(n, _)| n.to_string()).collect();
    }
}

/// The metrics' view of librdkafka's statistics. Sums saturate: the numbers come from outside.
fn summarize(statistics: &Statistics) -> BatchStats {
    let (mut size, mut records, mut n) = (0i64, 0i64, 0i64);
    for t in statistics.topics.values() {
        if t.batchsize.cnt > 0 {
            size = size.saturating_add(t.batchsize.avg);
            records = records.saturating_add(t.batchcnt.avg);
            n += 1;
        }
    }
    let requests =
        statistics.brokers.values().fold(0i64, |sum, b| sum.saturating_add(b.tx.min(i64::MAX as u64) as i64));
    // Every produce response carries a throttle time (0 when not throttled): the mean over all of them, and the
    // longest, as Java's produce-throttle-time-avg and -max.
    let (mut throttle_sum, mut throttle_cnt, mut throttle_max) = (0i64, 0i64, 0i64);
    for w in statistics.brokers.values().filter_map(|b| b.throttle.as_ref()).filter(|w| w.cnt > 0) {
        throttle_sum = throttle_sum.saturating_add(w.sum);
        throttle_cnt = throttle_cnt.saturating_add(w.cnt);
        throttle_max = throttle_max.max(w.max);
    }
    BatchStats {
        throttle_time_avg_ms: (throttle_cnt > 0).then(|| throttle_sum / throttle_cnt),
        throttle_time_max_ms: (throttle_cnt > 0).then_some(throttle_max),
        batch_size_avg: (n > 0).then(|| size / n),
        batch_records_avg: (n > 0).then(|| records / n),
        requests_sent: Some(requests),
        queued_records: Some(statistics.msg_cnt),
        queued_bytes: Some(statistics.msg_size),
    }
}

/// Whether librdkafka's error is a failed login or TLS handshake (a wrong password, an untrusted or mismatched
/// certificate), as opposed to a broker that is down.
fn is_security_failure(code: Option<RDKafkaErrorCode>, reason: &str) -> bool {
    matches!(
        code,
        Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed | RDKafkaErrorCode::SSL)
    ) || reason.contains("SSL handshake failed")
        || reason.contains("certificate verify failed")
}

/// Whether a delivery that failed with `code` may succeed if the same record is sent again.
fn retriable(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        MessageTimedOut
            | RequestTimedOut
            | NetworkException
            | NotEnoughReplicas
            | NotEnoughReplicasAfterAppend
            | LeaderNotAvailable
            | NotLeaderForPartition
            | BrokerTransportFailure
            | AllBrokersDown
            | OperationTimedOut
            | TimedOutQueue
            | KafkaStorageError
            | ReplicaNotAvailable
            | PreferredLeaderNotAvailable
    )
}

fn delivery_kind(code: RDKafkaErrorCode) -> DeliveryErrorKind {
    use RDKafkaErrorCode::*;
    match code {
        MessageTimedOut | OperationTimedOut | TimedOutQueue | RequestTimedOut => DeliveryErrorKind::TimedOut,
        MessageSizeTooLarge | InvalidMessageSize => DeliveryErrorKind::TooLarge,
        UnknownTopicOrPartition | UnknownTopic | UnknownPartition => DeliveryErrorKind::UnknownTopicOrPartition,
        TopicAuthorizationFailed | ClusterAuthorizationFailed | SaslAuthenticationFailed | Authentication => {
            DeliveryErrorKind::Authorization
        }
        PurgeQueue | PurgeInflight => DeliveryErrorKind::Purged,
        Fatal => DeliveryErrorKind::Fatal,
        _ => DeliveryErrorKind::Other,
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let served = catch_unwind(AssertUnwindSafe(|| self.deliver(result, Ticket::from_word(opaque))));
        if served.is_err() {
            tracing::error!(ticket = opaque, "serving a delivery report panicked; the producer carries on");
        }
    }
}

impl Ctx {
    /// Why a record failed: a record purged while its transaction aborts failed as aborted.
    fn failure_kind(&self, code: RDKafkaErrorCode) -> DeliveryErrorKind {
        match delivery_kind(code) {
            DeliveryErrorKind::Purged if self.accounting.is_aborting() => DeliveryErrorKind::Aborted,
            kind => kind,
        }
    }

    fn deliver(&self, result: &DeliveryResult<'_>, ticket: Ticket) {
        let message = match result {
            Ok(m) | Err((_, m)) => m,
        };
        // A quiet record's budget bytes are its key, value and headers, which the report carries.
        let bytes = || {
            let headers = message
                .headers()
                .map_or(0, |h| h.iter().map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len)).sum::<usize>());
            let n = message.key().map_or(0, <[u8]>::len) + message.payload().map_or(0, <[u8]>::len) + headers;
            n.max(1) as u32
        };
        #[cfg(feature = "otel")]
        if let Some(i) = self.accounting.instrumentation() {
            let error = match result {
                Ok(_) => None,
                Err((e, _)) => Some(self.failure_kind(e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail))),
            };
            let topic_key = message.topic_ptr() as usize;
            i.delivered(topic_key, || message.topic(), message.partition(), native::latency(message), error.as_ref());
        }
        if result.is_ok() && ticket.quiet_id().is_some() {
            // Delivered, and nobody but the counters wants to know where: the outcome is not read.
            let outcome = Outcome::Delivered { partition: -1, offset: None, timestamp: None };
            return report(&self.accounting, ticket, outcome, bytes, || unreachable!("a quiet record has no topic"));
        }
        let outcome = match result {
            Ok(m) => Outcome::Delivered {
                partition: m.partition(),
                offset: (m.offset() >= 0).then(|| m.offset()),
                timestamp: match m.timestamp() {
                    rdkafka::Timestamp::CreateTime(t) => Some(Timestamp::CreateTime(t)),
                    rdkafka::Timestamp::LogAppendTime(t) => Some(Timestamp::LogAppendTime(t)),
                    rdkafka::Timestamp::NotAvailable => None,
                },
            },
            Err((e, m)) => {
                let code = e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                if code == RDKafkaErrorCode::Fatal {
                    self.accounting.set_fatal(ErrorCode::FATAL, e.to_string());
                }
                Outcome::Failed(Failure {
                    partition: (m.partition() >= 0).then(|| m.partition()),
                    kind: self.failure_kind(code),
                    code: Some(code.into()),
                    message: e.to_string(),
                    retriable: retriable(code),
                })
            }
        };
        report(&self.accounting, ticket, outcome, bytes, || self.accounting.topic(message.topic()).1);
    }
}

/// What the delivery thread, the metadata thread and the sinks share: the client and the stop flag.
struct Core {
    producer: Arc<BaseProducer<Ctx>>,
    accounting: Arc<Accounting>,
    /// The producer's last handle is gone.
    stopping: AtomicBool,
}

impl Core {
    fn check_fatal(&self) {
        if let Some((code, reason)) = self.producer.client().fatal_error() {
            self.accounting.set_fatal(code.into(), reason);
        }
    }

    /// One poll of the event queue: reports, errors, statistics. A panic that escapes it (nothing of ours should
    /// let one) may have lost the reports of the batch it was serving: the producer is then fatally failed and its
    /// tracked records fail at once, so that nothing waits forever.
    fn serve(&self, timeout: Duration) {
        if catch_unwind(AssertUnwindSafe(|| self.producer.poll(timeout))).is_err() {
            let reason = "a panic on the delivery thread may have lost delivery reports".to_string();
            self.accounting.set_fatal(ErrorCode::FATAL, reason);
            let failed = fail_unreported(&self.accounting, "the delivery thread lost this record's report");
            tracing::error!(failed, "a panic escaped a delivery report; the tracked records failed");
        }
        if self.accounting.take_error_reported() {
            self.check_fatal();
        }
    }

    /// The delivery thread: serves the event queue until the producer's last handle is gone, then tears down.
    fn run(self: Arc<Core>) {
        let _path = DeliveryPath::enter();
        while !self.stopping.load(Ordering::Acquire) {
            self.serve(POLL_INTERVAL);
        }
        self.tear_down();
    }

    fn tear_down(&self) {
        let in_flight = self.accounting.in_flight();
        if in_flight > 0 {
            tracing::warn!(
                in_flight,
                "producer dropped with records in flight: they are purged and fail with Purged; call \
                 close(timeout) to deliver them first"
            );
            self.producer.purge(PurgeConfig::default().queue().inflight());
        }
        let deadline = Instant::now() + TEARDOWN_GRACE;
        while self.accounting.in_flight() > 0 && Instant::now() < deadline {
            self.serve(Duration::from_millis(20));
        }
        let failed = fail_unreported(&self.accounting, "the producer was dropped before the record's report came");
        let left = self.accounting.in_flight();
        if failed > 0 || left > 0 {
            tracing::warn!(failed, left, "records unreported at the producer's teardown");
        }
        // The client is destroyed here (or by the last sink or metadata read to let go of it, with nothing left to
        // report), never on a caller's thread.
    }
}

/// The bound topics' partition counts, re-read every `metadata.max.age.ms`.
struct Watched {
    topics: Mutex<Vec<(Arc<str>, Weak<AtomicI32>)>>,
    stop: Mutex<bool>,
    wake: Condvar,
    every: Duration,
}

impl Watched {
    fn run(&self, core: Weak<Core>) {
        loop {
            {
                let stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
                let (stop, _) =
                    self.wake.wait_timeout_while(stop, self.every, |s| !*s).unwrap_or_else(PoisonError::into_inner);
                if *stop {
                    return;
                }
            }
            let topics: Vec<(Arc<str>, Arc<AtomicI32>)> = {
                let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
                topics.retain(|(_, cell)| cell.strong_count() > 0);
                topics.iter().filter_map(|(t, cell)| Some((t.clone(), cell.upgrade()?))).collect()
            };
            let Some(core) = core.upgrade() else { return };
            for (topic, cell) in topics {
                match read_partition_count(&core.producer, &topic, METADATA_TIMEOUT.min(self.every)) {
                    Ok(Some(n)) if n > 0 => {
                        let before = cell.swap(n, Ordering::Relaxed);
                        if before != n {
                            tracing::info!(%topic, before, now = n, "the topic's partition count changed");
                        }
                    }
                    Ok(_) => tracing::warn!(%topic, "the topic no longer exists"),
                    Err(e) => tracing::warn!(%topic, error = e, "re-reading the partition count"),
                }
            }
        }
    }
}

fn read_partition_count(producer: &BaseProducer<Ctx>, topic: &str, timeout: Duration) -> Result<Option<i32>, String> {
    let md = producer.client().fetch_metadata(Some(topic), timeout).map_err(|e| e.to_string())?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else { return Ok(None) };
    match t.error() {
        None => Ok(Some(t.partitions().len() as i32)),
        Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => Ok(None),
        Some(e) => Err(format!("{:?}", RDKafkaErrorCode::from(e))),
    }
}

/// The librdkafka transport.
pub(crate) struct KafkaTransport {
    core: Arc<Core>,
    watched: Arc<Watched>,
}

impl KafkaTransport {
    /// Creates the client and starts its delivery and metadata threads.
    pub(crate) fn start(config: &ProducerConfig, accounting: Arc<Accounting>) -> Result<KafkaTransport, BuildError> {
        let mut cc = ClientConfig::new();
        for (k, v) in config.librdkafka_properties() {
            cc.set(k, v);
        }
        let producer: BaseProducer<Ctx> = cc
            .create_with_context(Ctx { accounting: accounting.clone(), throttling: Mutex::new(Vec::new()) })
            .map_err(|e| BuildError::Core(scrub(&e.to_string(), config)))?;
        let core = Arc::new(Core { producer: Arc::new(producer), accounting, stopping: AtomicBool::new(false) });
        let watched = Arc::new(Watched {
            topics: Mutex::new(Vec::new()),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            every: config.metadata_max_age.max(Duration::from_millis(100)),
        });
        let delivery = core.clone();
        std::thread::Builder::new()
            .name("typed-kafka-delivery".into())
            .spawn(move || delivery.run())
            .map_err(|e| BuildError::Runtime(e.to_string()))?;
        let (metadata, weak) = (watched.clone(), Arc::downgrade(&core));
        let started = std::thread::Builder::new().name("typed-kafka-metadata".into()).spawn(move || metadata.run(weak));
        let transport = KafkaTransport { core, watched };
        if let Err(e) = started {
            transport.shut_down();
            return Err(BuildError::Runtime(e.to_string()));
        }
        Ok(transport)
    }
}

impl Transport for KafkaTransport {
    fn sink(&self, topic: &Arc<str>, _declared: TypeId) -> Result<Box<dyn Sink>, String> {
        let handle = native::TopicHandle::new(&self.core.producer, topic)?;
        Ok(Box::new(KafkaSink { handle, core: self.core.clone() }))
    }

    fn partition_count(&self, topic: &str, timeout: Duration) -> Result<Option<i32>, MetadataError> {
        let started = Instant::now();
        let deadline = started + timeout;
        // Whether the cluster said the topic does not exist: a read the deadline cuts short then says the same.
        let mut missing = false;
        loop {
            let slice = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(250));
            match read_partition_count(&self.core.producer, topic, slice) {
                Ok(Some(count)) => return Ok(Some(count)),
                // A topic just created may take a moment to reach every broker.
                Ok(None) if Instant::now() < deadline => {
                    missing = true;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(None) => return Ok(None),
                Err(message) => {
                    if let Some(reason) = self.core.accounting.security_failure_since(started) {
                        return Err(MetadataError::Security(reason));
                    }
                    if Instant::now() >= deadline {
                        return if missing { Ok(None) } else { Err(MetadataError::Other(message)) };
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    fn watch(&self, topic: Arc<str>, partitions: Weak<AtomicI32>) {
        self.watched.topics.lock().unwrap_or_else(PoisonError::into_inner).push((topic, partitions));
    }

    fn flush(&self, timeout: Duration) {
        native::flush(&self.core.producer, timeout)
    }

    fn purge(&self) {
        self.core.producer.purge(PurgeConfig::default().queue().inflight());
    }

    fn check_fatal(&self) {
        self.core.check_fatal();
    }

    fn transaction(&self, call: TxnCall) -> Result<(), TxnFailure> {
        let producer = &self.core.producer;
        let done = match call {
            TxnCall::Init(timeout) => producer.init_transactions(timeout).map_err(|e| self.txn_failure(e)),
            TxnCall::Begin => producer.begin_transaction().map_err(|e| self.txn_failure(e)),
            TxnCall::SendOffsets(offsets, timeout) => {
                let Some(metadata) = &offsets.metadata else {
                    return Err(TxnFailure {
                        class: TxnClass::State,
                        code: None,
                        message: format!("the consumer of group {:?} has no group metadata", offsets.group_id),
                    });
                };
                let mut tpl = rdkafka::TopicPartitionList::new();
                for (topic, partition, next) in &offsets.positions {
                    tpl.add_partition_offset(topic, *partition, rdkafka::Offset::Offset(*next))
                        .map_err(|e| TxnFailure { class: TxnClass::State, code: None, message: e.to_string() })?;
                }
                producer.send_offsets_to_transaction(&tpl, metadata, timeout).map_err(|e| self.txn_failure(e))
            }
            TxnCall::Commit(timeout) => native::commit_transaction(producer, timeout).map_err(|e| self.classified(e)),
            TxnCall::Abort(timeout) => producer.abort_transaction(timeout).map_err(|e| self.txn_failure(e)),
        };
        if let Err(f) = &done
            && f.class == TxnClass::Fatal
        {
            self.core.accounting.set_fatal(f.code.unwrap_or(ErrorCode::FATAL), f.message.clone());
        }
        done
    }

    fn shut_down(&self) {
        self.core.stopping.store(true, Ordering::Release);
        *self.watched.stop.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.watched.wake.notify_all();
    }
}

impl KafkaTransport {
    fn txn_failure(&self, e: KafkaError) -> TxnFailure {
        match &e {
            KafkaError::Transaction(t) => self.classified(native::RdError {
                code: ErrorCode::new(t.code() as i32),
                message: t.string(),
                fatal: t.is_fatal(),
                retriable: t.is_retriable(),
                abortable: t.txn_requires_abort(),
            }),
            other => {
                let code = other.rdkafka_error_code().map(|c| ErrorCode::new(c as i32));
                TxnFailure { class: TxnClass::Fatal, code, message: other.to_string() }
            }
        }
    }

    /// A transaction call's error in librdkafka's classes. A fatal error carries the client's fatal code (a
    /// fencing, typically); an error of none of the classes is fatal, as librdkafka advises, except a call that
    /// did not fit the transaction's state.
    fn classified(&self, e: native::RdError) -> TxnFailure {
        let native::RdError { code, message, fatal, retriable, abortable } = e;
        let class = if fatal {
            TxnClass::Fatal
        } else if abortable {
            TxnClass::Abortable
        } else if retriable {
            TxnClass::Retriable
        } else if code.rdkafka() == RDKafkaErrorCode::State {
            TxnClass::State
        } else {
            TxnClass::Fatal
        };
        if class == TxnClass::Fatal
            && let Some((fatal_code, reason)) = self.core.producer.client().fatal_error()
        {
            return TxnFailure { class, code: Some(fatal_code.into()), message: reason };
        }
        TxnFailure { class, code: Some(code), message }
    }
}

/// A bound topic's sink: librdkafka's topic handle.
struct KafkaSink {
    handle: native::TopicHandle<Ctx>,
    core: Arc<Core>,
}

impl Sink for KafkaSink {
    fn send(&self, record: Outgoing<'_>, _keep: Keep<'_>) -> Result<(), SendErrorKind> {
        let refused = match native::produce(&self.handle, &record) {
            Ok(()) => return Ok(()),
            Err(refused) => refused,
        };
        if refused.fatal || refused.code == ErrorCode::FATAL {
            let (code, reason) = match self.core.producer.client().fatal_error() {
                Some((code, reason)) => (code.into(), reason),
                None => (refused.code, refused.message),
            };
            self.core.accounting.set_fatal(code, reason.clone());
            return Err(SendErrorKind::Fatal { code, reason });
        }
        Err(match refused.code.rdkafka() {
            RDKafkaErrorCode::UnknownPartition => {
                SendErrorKind::UnknownPartition { partition: record.partition.unwrap_or(-1), partitions: None }
            }
            // A transactional producer whose transaction ended while the record was on its way.
            RDKafkaErrorCode::State if self.core.accounting.check_transaction().is_err() => {
                SendErrorKind::NoTransaction
            }
            _ => SendErrorKind::Enqueue { code: refused.code, reason: refused.message },
        })
    }
}

/// `message` with the secret settings' values removed (librdkafka's errors may quote a setting's value).
fn scrub(message: &str, config: &ProducerConfig) -> String {
    let mut out = message.to_string();
    for (k, v) in config.librdkafka_properties() {
        if crate::config::is_secret(&k) && !v.is_empty() {
            out = out.replace(&v, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(name: &str, throttle: Option<(i64, i64, i64)>) -> String {
        let window = |(sum, cnt, max): (i64, i64, i64)| {
            format!(
                r#","throttle":{{"min":0,"max":{max},"avg":0,"sum":{sum},"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,
                "p99":0,"p99_99":0,"outofrange":0,"hdrsize":0,"cnt":{cnt}}}"#
            )
        };
        format!(
            r#""{name}":{{"name":"{name}","nodeid":1,"nodename":"{name}","source":"configured","state":"UP",
            "stateage":1,"outbuf_cnt":0,"outbuf_msg_cnt":0,"waitresp_cnt":0,"waitresp_msg_cnt":0,"tx":3,"txbytes":0,
            "txerrs":0,"txretries":0,"txidle":0,"req_timeouts":0,"rx":0,"rxbytes":0,"rxerrs":0,"rxcorriderrs":0,
            "rxpartial":0,"rxidle":0,"req":{{}},"zbuf_grow":0,"buf_grow":0,"toppars":{{}}{}}}"#,
            throttle.map(window).unwrap_or_default()
        )
    }

    fn statistics(brokers: &[String]) -> Statistics {
        let json = format!(
            r#"{{"name":"p","client_id":"c","type":"producer","ts":1,"time":1,"age":1,"replyq":0,"msg_cnt":0,
            "msg_size":0,"msg_max":0,"msg_size_max":0,"tx":0,"tx_bytes":0,"rx":0,"rx_bytes":0,"txmsgs":0,
            "txmsg_bytes":0,"rxmsgs":0,"rxmsg_bytes":0,"simple_cnt":0,"metadata_cache_cnt":0,
            "brokers":{{{}}},"topics":{{}}}}"#,
            brokers.join(",")
        );
        serde_json::from_str(&json).expect("librdkafka's statistics")
    }

    /// Throttle times are the mean over every produce response of every broker and the longest one, as Java's
    /// produce-throttle-time-avg and -max; without responses there is no figure.
    #[test]
    fn throttle_times_are_summarized_over_the_brokers() {
        let s = summarize(&statistics(&[broker("a:1/1", Some((300, 4, 200))), broker("b:1/2", Some((0, 6, 0)))]));
        assert_eq!((s.throttle_time_avg_ms, s.throttle_time_max_ms), (Some(30), Some(200)));
        let s = summarize(&statistics(&[broker("a:1/1", None), broker("b:1/2", Some((0, 0, 0)))]));
        assert_eq!((s.throttle_time_avg_ms, s.throttle_time_max_ms), (None, None));

        let ctx = Ctx {
            accounting: Arc::new(Accounting::new(
                &crate::config::ProducerConfig::builder("x:1").build().unwrap(),
                Vec::new(),
            )),
            throttling: Mutex::new(Vec::new()),
        };
        ctx.note_throttling(&statistics(&[broker("a:1/1", Some((300, 4, 200))), broker("b:1/2", Some((0, 6, 0)))]));
        assert_eq!(*ctx.throttling.lock().unwrap(), ["a:1/1"]);
        ctx.note_throttling(&statistics(&[broker("a:1/1", Some((0, 4, 0)))]));
        assert!(ctx.throttling.lock().unwrap().is_empty(), "it stopped");
    }

    /// Statistics with counters at their limits are summarized without overflowing.
    #[test]
    fn statistics_at_their_limits_do_not_overflow() {
        let json = format!(
            r#"{{"name":"p","client_id":"c","type":"producer","ts":1,"time":1,"age":1,"replyq":0,"msg_cnt":7,
            "msg_size":{max},"msg_max":0,"msg_size_max":0,"tx":0,"tx_bytes":0,"rx":0,"rx_bytes":0,"txmsgs":0,
            "txmsg_bytes":0,"rxmsgs":0,"rxmsg_bytes":0,"simple_cnt":0,"metadata_cache_cnt":0,
            "brokers":{{}},"topics":{{"a":{{"topic":"a","age":1,"metadata_age":1,
            "batchsize":{{"min":0,"max":0,"avg":{imax},"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,
            "p99_99":0,"outofrange":0,"hdrsize":0,"cnt":5}},
            "batchcnt":{{"min":0,"max":0,"avg":{imax},"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,
            "p99_99":0,"outofrange":0,"hdrsize":0,"cnt":5}},"partitions":{{}}}},
            "b":{{"topic":"b","age":1,"metadata_age":1,
            "batchsize":{{"min":0,"max":0,"avg":{imax},"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,
            "p99_99":0,"outofrange":0,"hdrsize":0,"cnt":5}},
            "batchcnt":{{"min":0,"max":0,"avg":{imax},"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,
            "p99_99":0,"outofrange":0,"hdrsize":0,"cnt":5}},"partitions":{{}}}}}}}}"#,
            max = u64::MAX,
            imax = i64::MAX
        );
        let statistics: Statistics = serde_json::from_str(&json).expect("librdkafka's statistics");
        let s = summarize(&statistics);
        assert_eq!(s.batch_size_avg, Some(i64::MAX / 2));
        assert_eq!((s.queued_records, s.queued_bytes), (Some(7), Some(u64::MAX)));
    }
}
