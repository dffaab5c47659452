//! The batching core: librdkafka through rdkafka's `ThreadedProducer`, whose poll thread serves delivery reports
//! into [`Accounting::complete`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer as _, ProducerContext, PurgeConfig, ThreadedProducer};
use rdkafka::statistics::Statistics;
use rdkafka::util::IntoOpaque;

use super::accounting::{Accounting, BatchStats};
use super::arena::{Lease, ValueArena};
use super::error::{BuildError, DeliveryErrorKind, SendErrorKind};
use super::pending::{Awaited, Boxed, Completer, Outcome, Pending};
use crate::config::ProducerConfig;
use crate::record::{Headers, Timestamp};

/// Receives librdkafka's callbacks on its poll thread.
pub(crate) struct Ctx {
    accounting: Arc<Accounting>,
    /// Where records' values wait for their reports (see [`ValueArena`]).
    arena: ValueArena,
}

/// The most the value arena holds: a fixed overhead above `buffer.memory`, whatever its setting.
const ARENA_CAP: u64 = 16 * 1024 * 1024;

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
        let (mut size, mut records, mut n) = (0i64, 0i64, 0i64);
        for t in statistics.topics.values() {
            if t.batchsize.cnt > 0 {
                size += t.batchsize.avg;
                records += t.batchcnt.avg;
                n += 1;
            }
        }
        let requests: i64 = statistics.brokers.values().map(|b| b.tx as i64).sum();
        let mut s = self.accounting.batch_stats.lock().unwrap_or_else(|e| e.into_inner());
        *s = BatchStats {
            batch_size_avg: (n > 0).then(|| size / n),
            batch_records_avg: (n > 0).then(|| records / n),
            requests_sent: Some(requests),
        };
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if code == Some(RDKafkaErrorCode::Fatal) {
            self.accounting.set_fatal(reason.to_string());
        } else if is_security_failure(code, reason) {
            // Retrying will not fix a wrong password or an untrusted certificate: binds fail fast with it.
            self.accounting.security_failed(reason.to_string());
            tracing::error!(target: "librdkafka", error = %error, "{reason}");
        } else {
            // Through the event API a fatal error arrives with its underlying code; the sender side asks the
            // client whether it was fatal (KafkaCore::check_fatal).
            self.accounting.error_reported();
            tracing::warn!(target: "librdkafka", error = %error, "{reason}");
        }
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

/// Why the metadata of a topic could not be read.
pub(crate) enum MetadataError {
    /// A broker connection failed to log in or to agree on TLS.
    Security(String),
    /// Anything else (a timeout, a broker error).
    Other(String),
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
    type DeliveryOpaque = Opaque;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Opaque) {
        let message = match result {
            Ok(m) | Err((_, m)) => m,
        };
        // Read before a leased value is given back; the rest of the report reads only librdkafka's message header.
        let value_len = message.payload().map_or(0, <[u8]>::len);
        let leased = match &opaque {
            Opaque::Pending(pending) => pending.meta().leased,
            Opaque::Quiet { leased, .. } => *leased,
        };
        if leased {
            // SAFETY: the message is the one librdkafka reports; its payload pointer (read raw, with the provenance
            // librdkafka gives) is the value leased for this record in `KafkaCore::enqueue`, reported once; nothing
            // reads the payload after this.
            #[allow(unsafe_code)]
            unsafe {
                self.arena.release((*message.ptr()).payload.cast_const().cast())
            };
        }
        let pending = match opaque {
            Opaque::Pending(pending) => pending,
            Opaque::Quiet { id: record_id, .. } => {
                // The bytes it held of the budget are its key and value: a quiet record has no headers.
                let bytes = (message.key().map_or(0, <[u8]>::len) + value_len).max(1) as u32;
                if result.is_ok() {
                    self.accounting.delivered_quietly(bytes);
                    return;
                }
                Pending::quiet(record_id, bytes)
            }
        };
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
                    self.accounting.set_fatal(e.to_string());
                }
                Outcome::Failed {
                    partition: (m.partition() >= 0).then(|| m.partition()),
                    kind: delivery_kind(code),
                    message: e.to_string(),
                    retriable: retriable(code),
                }
            }
        };
        self.accounting.complete(pending, outcome, || message.topic());
    }
}

/// What librdkafka carries for a record until its delivery report.
pub(crate) enum Opaque {
    /// What the report needs to complete the record: its future or callback, its metadata for the interceptors.
    Pending(Pending),
    /// A fire-and-forget record without headers, on a producer without interceptors: only its ID. Its budget bytes
    /// are its key and value, which the report carries; nothing is allocated for it. `leased`: its value is in the
    /// producer's [`ValueArena`], to be released by the report.
    Quiet { id: u64, leased: bool },
}

impl Opaque {
    /// The largest ID a quiet record may have: it is kept shifted by two bits in a pointer-sized word.
    pub(crate) const MAX_QUIET_ID: u64 = (usize::MAX >> 2) as u64;
    /// The low bit, set in a quiet record's word.
    const QUIET: usize = 1;
    /// The second bit: in a quiet record's word, its value is leased; in a pointer, the record is awaited.
    const AWAITED: usize = 2;
    const LEASED: usize = 2;
}

// Both kinds of pointer have their two low bits clear, which the tags use (an awaited record's, as
// `Completer::into_raw` promises).
const _: () = assert!(align_of::<Boxed>() >= 4);

// A box is its pointer as it is; an awaited record is its completer's raw pointer with the second bit set; a quiet
// record is its ID shifted left by two, with the low bit set and the second bit telling whether its value is leased.
#[allow(unsafe_code)]
impl IntoOpaque for Opaque {
    fn into_ptr(self) -> *mut std::ffi::c_void {
        match self {
            Opaque::Pending(Pending::Boxed(b)) => Box::into_raw(b).cast(),
            Opaque::Pending(Pending::InSlot(c)) => c.into_raw().cast_mut().map_addr(|a| a | Opaque::AWAITED).cast(),
            Opaque::Quiet { id, leased } => std::ptr::without_provenance_mut(
                ((id as usize) << 2) | Opaque::QUIET | if leased { Opaque::LEASED } else { 0 },
            ),
        }
    }

    unsafe fn from_ptr(ptr: *mut std::ffi::c_void) -> Opaque {
        if ptr.addr() & Opaque::QUIET != 0 {
            Opaque::Quiet { id: (ptr.addr() >> 2) as u64, leased: ptr.addr() & Opaque::LEASED != 0 }
        } else if ptr.addr() & Opaque::AWAITED != 0 {
            let slot = ptr.map_addr(|a| a & !Opaque::AWAITED).cast_const().cast::<Awaited>();
            // SAFETY: a pointer with the second bit set was made by `into_ptr` from a completer, and librdkafka
            // hands each opaque back once (rdkafka's contract for `from_ptr`).
            Opaque::Pending(Pending::InSlot(unsafe { Completer::from_raw(slot) }))
        } else {
            // SAFETY: an untagged pointer was made by `into_ptr` from a box, handed back once (as above).
            Opaque::Pending(Pending::Boxed(unsafe { Box::from_raw(ptr.cast()) }))
        }
    }
}

pub(crate) struct KafkaCore {
    producer: Arc<ThreadedProducer<Ctx>>,
    max_block: Duration,
}

/// A record's bytes, ready for the batching core.
pub(crate) struct Wire<'a> {
    pub(crate) topic: &'a str,
    /// The topic's handle (see [`TopicHandle`]), made when the topic was bound.
    pub(crate) handle: Option<&'a TopicHandle>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: &'a Headers,
}

impl KafkaCore {
    pub(crate) fn new(config: &ProducerConfig, accounting: Arc<Accounting>) -> Result<KafkaCore, BuildError> {
        let mut cc = ClientConfig::new();
        for (k, v) in config.librdkafka_properties() {
            cc.set(k, v);
        }
        let producer: ThreadedProducer<Ctx> = cc
            .create_with_context(Ctx {
                accounting,
                arena: ValueArena::new(config.buffer_memory.min(ARENA_CAP) as usize),
            })
            .map_err(|e| BuildError::Core(scrub(&e.to_string(), config)))?;
        Ok(KafkaCore { producer: Arc::new(producer), max_block: config.max_block })
    }

    /// A handle for sending to `topic`.
    pub(crate) fn topic_handle(&self, topic: &str) -> Result<TopicHandle, String> {
        TopicHandle::new(self.producer.clone(), topic)
    }

    /// Hands a record to librdkafka with the opaque that `pending` makes, told whether the record's value is
    /// leased from the value arena (the report then gives it back); returns what `pending` returned beside the
    /// opaque. On refusal the opaque comes back with the reason, and a lease is given back.
    #[allow(clippy::result_large_err)] // the refusal path, once per refused record
    pub(crate) fn enqueue<H>(
        &self,
        wire: Wire<'_>,
        pending: impl FnOnce(bool) -> (Opaque, H),
    ) -> Result<H, (SendErrorKind, Opaque)> {
        if let Some(handle) = wire.handle
            && wire.headers.is_empty()
            && wire.timestamp.is_none()
        {
            // Only this path lends values: its opaque is told so, and `TopicHandle::produce` passes the lease.
            let lease = wire.value.and_then(|v| handle.client.context().arena.lease(v));
            let (opaque, held) = pending(lease.is_some());
            return handle.produce(wire.partition, wire.key, wire.value, lease, opaque).map(|()| held).map_err(
                |(code, pending)| (self.refusal(code, wire.partition, KafkaError::MessageProduction(code)), pending),
            );
        }
        let (pending, held) = pending(false);
        let mut record: BaseRecord<'_, [u8], [u8], Opaque> = BaseRecord::with_opaque_to(wire.topic, pending);
        record.key = wire.key;
        record.payload = wire.value;
        record.partition = wire.partition;
        record.timestamp = wire.timestamp;
        if !wire.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(wire.headers.len());
            for (key, value) in wire.headers.iter() {
                h = h.insert(Header { key, value });
            }
            record.headers = Some(h);
        }
        self.producer.send(record).map(|()| held).map_err(|(e, record)| {
            let code = e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
            (self.refusal(code, wire.partition, e), record.delivery_opaque)
        })
    }

    fn refusal(&self, code: RDKafkaErrorCode, partition: Option<i32>, e: KafkaError) -> SendErrorKind {
        match code {
            RDKafkaErrorCode::UnknownPartition => {
                SendErrorKind::UnknownPartition { partition: partition.unwrap_or(-1), partitions: -1 }
            }
            RDKafkaErrorCode::Fatal => SendErrorKind::Fatal(
                self.producer.client().fatal_error().map(|(_, reason)| reason).unwrap_or_else(|| e.to_string()),
            ),
            _ => SendErrorKind::Enqueue(e.to_string()),
        }
    }

    /// Records the client's fatal error, if an error was reported since the last check and it is one.
    pub(crate) fn check_fatal(&self, accounting: &Accounting) {
        if accounting.take_error_reported()
            && let Some((code, reason)) = self.producer.client().fatal_error()
        {
            accounting.set_fatal(format!("{reason} ({code:?})"));
        }
    }

    /// The partition count of `topic` from the cluster's metadata; `Ok(None)` if the topic does not exist. Waits up
    /// to `max.block.ms`, but fails at once when a broker connection fails to log in or to agree on TLS.
    pub(crate) async fn partition_count(
        &self,
        topic: &str,
        accounting: &Accounting,
    ) -> Result<Option<i32>, MetadataError> {
        let started = std::time::Instant::now();
        let deadline = started + self.max_block;
        loop {
            let producer = self.producer.clone();
            let name = topic.to_string();
            let slice = deadline.saturating_duration_since(std::time::Instant::now()).min(Duration::from_millis(250));
            let read = tokio::task::spawn_blocking(move || {
                let md = producer.client().fetch_metadata(Some(&name), slice).map_err(|e| e.to_string())?;
                let Some(t) = md.topics().iter().find(|t| t.name() == name) else { return Ok(None) };
                match t.error() {
                    None => Ok(Some(t.partitions().len() as i32)),
                    Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) => Ok(None),
                    Some(e) => Err(format!("{:?}", RDKafkaErrorCode::from(e))),
                }
            })
            .await
            .map_err(|e| MetadataError::Other(e.to_string()))?;
            match read {
                Ok(count) => return Ok(count),
                Err(message) => {
                    if let Some(reason) = accounting.security_failure_since(started) {
                        return Err(MetadataError::Security(reason));
                    }
                    if std::time::Instant::now() >= deadline {
                        return Err(MetadataError::Other(message));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Sends what is buffered without waiting for `linger.ms` and waits until nothing is in flight or `timeout`
    /// passed; returns how many records are still in flight.
    pub(crate) async fn flush(&self, accounting: &Accounting, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        // librdkafka's flush makes the linger immediate only while it runs: run it (blocking, off the async
        // threads) for the whole wait, and wait for the in-flight count on this side.
        let producer = self.producer.clone();
        let flushing = tokio::task::spawn_blocking(move || {
            let _ = producer.flush(rdkafka::util::Timeout::After(timeout));
        });
        let left = accounting.wait_idle(deadline).await;
        if left == 0 {
            let _ = flushing.await;
        }
        left
    }

    /// Fails everything queued or in flight with `Purged` and waits (briefly) for their reports.
    pub(crate) async fn purge(&self, accounting: &Accounting) {
        self.producer.purge(PurgeConfig::default().queue().inflight());
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || {
            producer.poll(Duration::from_millis(100));
        })
        .await;
        accounting.wait_idle(Instant::now() + Duration::from_secs(5)).await;
    }
}

/// A librdkafka topic handle, made once per bound topic. Sending through it skips what rdkafka's `send` does per
/// record to find the topic by name: a C string of the name (an allocation), and librdkafka's lookup of the
/// topic under the client's write lock. Records with headers or a timestamp go through rdkafka's `send`, which
/// finds this same topic object by its name.
pub(crate) struct TopicHandle {
    rkt: std::ptr::NonNull<rdkafka::bindings::rd_kafka_topic_t>,
    name: String,
    /// The client the handle belongs to, kept alive until the handle is destroyed.
    client: Arc<ThreadedProducer<Ctx>>,
}

// SAFETY: librdkafka's topic handles may be used from any thread (its produce calls take the topic's own locks),
// and this one is destroyed once, on drop, while its client is kept alive by `client`.
#[allow(unsafe_code)]
unsafe impl Send for TopicHandle {}
#[allow(unsafe_code)]
unsafe impl Sync for TopicHandle {}

#[allow(unsafe_code)]
impl TopicHandle {
    fn new(producer: Arc<ThreadedProducer<Ctx>>, topic: &str) -> Result<TopicHandle, String> {
        let name = std::ffi::CString::new(topic).map_err(|_| format!("{topic:?} contains a NUL byte"))?;
        // SAFETY: the client pointer is valid while `producer` lives; a NULL configuration means the client's
        // default topic configuration (the one rdkafka's `send` gets for the same name); the name is copied.
        let rkt = unsafe {
            rdkafka::bindings::rd_kafka_topic_new(producer.client().native_ptr(), name.as_ptr(), std::ptr::null_mut())
        };
        match std::ptr::NonNull::new(rkt) {
            Some(rkt) => Ok(TopicHandle { rkt, name: topic.to_string(), client: producer }),
            // SAFETY: reads librdkafka's thread-local last error.
            None => Err(RDKafkaErrorCode::from(unsafe { rdkafka::bindings::rd_kafka_last_error() }).to_string()),
        }
    }

    /// Enqueues the key and value with `pending` as the delivery report's opaque; on refusal `pending` comes back
    /// with librdkafka's reason. librdkafka copies the key; it reads the value from `lease` (a copy in the
    /// producer's [`ValueArena`], which the report gives back) when there is one, else copies it too.
    // The refused record comes back by value: a box would cost an allocation per refusal (a full queue refuses
    // many in a row).
    #[allow(clippy::result_large_err)]
    fn produce(
        &self,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        lease: Option<Lease<'_>>,
        pending: Opaque,
    ) -> Result<(), (RDKafkaErrorCode, Opaque)> {
        let (key_ptr, key_len) = key.map_or((std::ptr::null(), 0), |k| (k.as_ptr(), k.len()));
        // A leased value is the same bytes, in the arena.
        let (value_ptr, value_len) =
            value.map_or((std::ptr::null(), 0), |v| (lease.as_ref().map_or(v.as_ptr(), Lease::as_ptr), v.len()));
        let flags = if lease.is_some() { 0 } else { rdkafka::bindings::RD_KAFKA_MSG_F_COPY };
        let opaque = pending.into_ptr();
        // SAFETY: the handle is live (see the type). librdkafka copies the key before it returns; it copies the
        // value too with RD_KAFKA_MSG_F_COPY, else (a leased value) it reads the value until the record's delivery
        // report, which releases the lease, and never writes through or frees it (no RD_KAFKA_MSG_F_FREE). On
        // success it owns `opaque` and hands it to the delivery report, which rdkafka turns back into this
        // `Opaque` (the context's `DeliveryOpaque`); on failure it keeps nothing, and the opaque is taken back here.
        let failed = unsafe {
            rdkafka::bindings::rd_kafka_produce(
                self.rkt.as_ptr(),
                partition.unwrap_or(-1), // RD_KAFKA_PARTITION_UA: the partitioner chooses
                flags,
                value_ptr as *mut std::ffi::c_void,
                value_len,
                key_ptr as *const std::ffi::c_void,
                key_len,
                opaque,
            ) != 0
        };
        if failed {
            // SAFETY: librdkafka did not take the opaque; the thread-local error is this call's.
            let (code, pending) = unsafe { (rdkafka::bindings::rd_kafka_last_error(), Opaque::from_ptr(opaque)) };
            // librdkafka kept nothing: dropping the lease gives it back.
            drop(lease);
            return Err((RDKafkaErrorCode::from(code), pending));
        }
        if let Some(lease) = lease {
            // librdkafka reads the value until the record's report, which gives the lease back.
            lease.into_raw();
        }
        Ok(())
    }
}

#[allow(unsafe_code)]
impl Drop for TopicHandle {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_topic_new and destroyed only here, while its client lives (`self.client`
        // is dropped after this body).
        unsafe { rdkafka::bindings::rd_kafka_topic_destroy(self.rkt.as_ptr()) };
    }
}

impl std::fmt::Debug for TopicHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TopicHandle").field(&self.name).finish()
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
    use crate::producer::callback::Callback;
    use crate::producer::pending::{Await, Call, Completion, Forget, Meta, SlotSource};

    /// Every kind of opaque comes back as it went in: a quiet record's ID, up to the largest allowed, a box and
    /// an awaited record's slot.
    #[test]
    #[allow(unsafe_code)] // from_ptr is rdkafka's unsafe trait method
    fn opaques_round_trip() {
        for id in [0, 1, 41, u64::from(u32::MAX) + 7, Opaque::MAX_QUIET_ID] {
            for leased in [false, true] {
                let ptr = Opaque::Quiet { id, leased }.into_ptr();
                // SAFETY: made by into_ptr just above, taken back once.
                let back = unsafe { Opaque::from_ptr(ptr) };
                assert!(matches!(back, Opaque::Quiet { id: i, leased: l } if i == id && l == leased));
            }
        }
        let ptr = Opaque::Pending(Forget.pending(Meta::quiet(9, 120)).0).into_ptr();
        assert_eq!(ptr.addr() & 3, 0);
        // SAFETY: as above.
        match unsafe { Opaque::from_ptr(ptr) } {
            Opaque::Pending(p @ Pending::Boxed(_)) => assert_eq!((p.meta().record_id, p.meta().bytes), (9, 120)),
            _ => panic!("a box came back as something else"),
        }
        let source = SlotSource::default();
        let (pending, slot) = Await(&source).pending(Meta::quiet(10, 130));
        drop(source);
        let ptr = Opaque::Pending(pending).into_ptr();
        assert_eq!(ptr.addr() & 3, 2);
        // SAFETY: as above.
        match unsafe { Opaque::from_ptr(ptr) } {
            Opaque::Pending(p @ Pending::InSlot(_)) => assert_eq!(p.meta().record_id, 10),
            _ => panic!("an awaited record came back as something else"),
        }
        // The carried reference was given back when the opaque was dropped.
        assert_eq!(slot.block_refs(), 1);
        let (pending, _) = Call(Callback::new(|_| {}), &SlotSource::default()).pending(Meta::quiet(11, 140));
        let ptr = Opaque::Pending(pending).into_ptr();
        assert_eq!(ptr.addr() & 3, 2);
        // SAFETY: as above.
        match unsafe { Opaque::from_ptr(ptr) } {
            Opaque::Pending(Pending::InSlot(mut c)) => {
                assert_eq!(c.meta().record_id, 11);
                assert!(c.take_callback().is_some());
            }
            _ => panic!("a called-back record came back as something else"),
        }
    }
}
