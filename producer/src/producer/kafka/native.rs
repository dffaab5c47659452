//! The librdkafka calls rdkafka does not wrap the way the producer needs them, each with the invariant that makes it
//! sound. This is the only `unsafe` code of the producer.
//!
//! - [`TopicHandle`]: librdkafka's topic object, made once per bound topic. Producing through it skips what
//!   rdkafka's `send` does per record to find the topic by name: a C string of the name (an allocation per record)
//!   and librdkafka's lookup of the topic under the client's write lock.
//! - [`produce`]: one record through `rd_kafka_produceva`, with the topic handle, the key and value (copied by
//!   librdkafka), the partition, timestamp and headers, and the record's ticket as the report's opaque.
//! - [`latency`]: `rd_kafka_message_latency`, the time from a record's enqueue to its delivery report, which
//!   librdkafka measures for every record anyway (what `messaging.client.operation.duration` reports, at no cost
//!   on the send path).
//! - [`commit_transaction`]: `rd_kafka_commit_transaction`, for the same reason as [`flush`].
//! - [`flush`]: `rd_kafka_flush`, which sends what waits for `linger.ms` at once. With delivery reports as events
//!   (rdkafka's `BaseProducer` asks for them) it only waits for the message count to reach zero while the delivery
//!   thread serves the reports, where rdkafka's own `flush` would serve them on the calling thread.

#![allow(unsafe_code)]

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{BaseProducer, Producer as _, ProducerContext};

use super::super::error::ErrorCode;
use super::super::transport::Outgoing;

/// A librdkafka topic handle with the client it was made on, which it keeps alive; destroyed on drop, before the
/// client can be.
pub(crate) struct TopicHandle<C: ProducerContext + 'static> {
    rkt: NonNull<rd::rd_kafka_topic_t>,
    producer: Arc<BaseProducer<C>>,
}

// SAFETY: librdkafka's topic handles may be used from any thread (its produce calls take the topic's own locks);
// this one is destroyed once, on drop. The client is `Send + Sync` itself.
unsafe impl<C: ProducerContext + 'static> Send for TopicHandle<C> {}
unsafe impl<C: ProducerContext + 'static> Sync for TopicHandle<C> {}

impl<C: ProducerContext + 'static> TopicHandle<C> {
    /// A handle for `topic` on `producer`'s client, with the client's default topic configuration (the one rdkafka's
    /// `send` gets for the same name).
    pub(crate) fn new(producer: &Arc<BaseProducer<C>>, topic: &str) -> Result<TopicHandle<C>, String> {
        let name = std::ffi::CString::new(topic).map_err(|_| format!("{topic:?} contains a NUL byte"))?;
        // SAFETY: the client is live (borrowed here, and kept by the handle); a NULL configuration means the
        // client's default; librdkafka copies the name.
        let rkt =
            unsafe { rd::rd_kafka_topic_new(producer.client().native_ptr(), name.as_ptr(), std::ptr::null_mut()) };
        match NonNull::new(rkt) {
            Some(rkt) => Ok(TopicHandle { rkt, producer: producer.clone() }),
            // SAFETY: reads librdkafka's thread-local last error, set by the call above.
            None => Err(RDKafkaErrorCode::from(unsafe { rd::rd_kafka_last_error() }).to_string()),
        }
    }
}

impl<C: ProducerContext + 'static> Drop for TopicHandle<C> {
    fn drop(&mut self) {
        // SAFETY: made by rd_kafka_topic_new and destroyed only here, while its client lives (`self.producer` is
        // dropped after this body).
        unsafe { rd::rd_kafka_topic_destroy(self.rkt.as_ptr()) };
    }
}

/// A librdkafka error object, read (a refused `rd_kafka_produceva`, a failed transaction call): its code and
/// message, whether the client failed fatally, and the transaction API's classes.
pub(crate) struct RdError {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) fatal: bool,
    pub(crate) retriable: bool,
    pub(crate) abortable: bool,
}

impl RdError {
    /// Reads and destroys `error`.
    ///
    /// # Safety
    /// `error` is a non-null error object a librdkafka call returned, not yet destroyed, and not used after.
    unsafe fn take(error: *mut rd::rd_kafka_error_t) -> RdError {
        // SAFETY: as the caller promises; the string is copied before the object is destroyed, once.
        unsafe {
            let read = RdError {
                code: ErrorCode::new(rd::rd_kafka_error_code(error) as i32),
                message: std::ffi::CStr::from_ptr(rd::rd_kafka_error_string(error)).to_string_lossy().into_owned(),
                fatal: rd::rd_kafka_error_is_fatal(error) != 0,
                retriable: rd::rd_kafka_error_is_retriable(error) != 0,
                abortable: rd::rd_kafka_error_txn_requires_abort(error) != 0,
            };
            rd::rd_kafka_error_destroy(error);
            read
        }
    }
}

fn vu(vtype: rd::rd_kafka_vtype_t, u: rd::rd_kafka_vu_s__bindgen_ty_1) -> rd::rd_kafka_vu_t {
    rd::rd_kafka_vu_t { vtype, u }
}

fn mem(bytes: Option<&[u8]>) -> rd::rd_kafka_vu_s__bindgen_ty_1 {
    let (ptr, size) = bytes.map_or((std::ptr::null_mut(), 0), |b| (b.as_ptr().cast_mut().cast::<c_void>(), b.len()));
    rd::rd_kafka_vu_s__bindgen_ty_1 { mem: rd::rd_kafka_vu_s__bindgen_ty_1__bindgen_ty_1 { ptr, size } }
}

/// Enqueues `record` through `topic`, on the client the handle was made on. librdkafka copies the key, the value and
/// the headers before it returns; on success the record's ticket comes back in its delivery report, exactly once.
pub(crate) fn produce<C: ProducerContext + 'static>(
    topic: &TopicHandle<C>,
    record: &Outgoing<'_>,
) -> Result<(), RdError> {
    let rk = topic.producer.client().native_ptr();
    use rd::rd_kafka_vtype_t as V;
    use rd::rd_kafka_vu_s__bindgen_ty_1 as U;
    let mut headers: *mut rd::rd_kafka_headers_t = std::ptr::null_mut();
    if !record.headers.is_empty() {
        // SAFETY: a new headers list, owned here until librdkafka takes it (below).
        headers = unsafe { rd::rd_kafka_headers_new(record.headers.len()) };
        for (name, value) in record.headers.iter() {
            let (val, size) = value.map_or((std::ptr::null(), 0), |v| (v.as_ptr().cast::<c_void>(), v.len() as isize));
            // SAFETY: `headers` is the list made above; librdkafka copies the name and the value (with their sizes:
            // neither needs a NUL terminator).
            unsafe { rd::rd_kafka_header_add(headers, name.as_ptr().cast(), name.len() as isize, val, size) };
        }
    }
    // The fields every record has, then those it may have: without a partition librdkafka's partitioner chooses,
    // without a timestamp it takes the time of sending.
    let mut fields = [
        vu(V::RD_KAFKA_VTYPE_RKT, U { rkt: topic.rkt.as_ptr() }),
        vu(V::RD_KAFKA_VTYPE_KEY, mem(record.key)),
        vu(V::RD_KAFKA_VTYPE_VALUE, mem(record.value)),
        vu(V::RD_KAFKA_VTYPE_MSGFLAGS, U { i: rd::RD_KAFKA_MSG_F_COPY }),
        vu(V::RD_KAFKA_VTYPE_OPAQUE, U { ptr: std::ptr::without_provenance_mut(record.ticket.word()) }),
        vu(V::RD_KAFKA_VTYPE_END, U { i: 0 }),
        vu(V::RD_KAFKA_VTYPE_END, U { i: 0 }),
        vu(V::RD_KAFKA_VTYPE_END, U { i: 0 }),
    ];
    let mut count = 5;
    let optional = [
        record.partition.map(|p| vu(V::RD_KAFKA_VTYPE_PARTITION, U { i32_: p })),
        record.timestamp.map(|t| vu(V::RD_KAFKA_VTYPE_TIMESTAMP, U { i64_: t })),
        (!headers.is_null()).then(|| vu(V::RD_KAFKA_VTYPE_HEADERS, U { headers })),
    ];
    for field in optional.into_iter().flatten() {
        fields[count] = field;
        count += 1;
    }
    // SAFETY: the client and the topic handle made on it are live (the handle keeps both); the key and value are
    // read (copied, with RD_KAFKA_MSG_F_COPY) before the call returns; the opaque is a plain number, never
    // dereferenced.
    let error = unsafe { rd::rd_kafka_produceva(rk, fields.as_ptr(), count) };
    if error.is_null() {
        // librdkafka owns the headers now.
        return Ok(());
    }
    // SAFETY: `error` is the error object the call returned, read and destroyed once; on failure the headers stay
    // ours (librdkafka's contract for application-owned headers), and are destroyed once.
    unsafe {
        let refused = RdError::take(error);
        if !headers.is_null() {
            rd::rd_kafka_headers_destroy(headers);
        }
        Err(refused)
    }
}

/// Sends what waits for `linger.ms` at once, and waits up to `timeout` for the client's message count to reach zero
/// (the delivery thread serves the reports meanwhile). Blocks the calling thread.
pub(crate) fn flush<C: ProducerContext + 'static>(producer: &BaseProducer<C>, timeout: Duration) {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: the client is live (borrowed). rdkafka's BaseProducer asks for delivery reports as events
    // (rd_kafka_conf_set_events with RD_KAFKA_EVENT_DR), so rd_kafka_flush only waits and never serves a report on
    // this thread (librdkafka's RD_KAFKA_DR_MODE_EVENT branch).
    unsafe { rd::rd_kafka_flush(producer.client().native_ptr(), ms) };
}

/// `rd_kafka_commit_transaction`: sends what waits, waits for every report, then commits, within `timeout`.
/// rdkafka's `commit_transaction` first runs its own `flush`, which serves delivery reports on the calling thread;
/// librdkafka's call only waits for them, which the delivery thread serves (as [`flush`]). Blocks.
pub(crate) fn commit_transaction<C: ProducerContext + 'static>(
    producer: &BaseProducer<C>,
    timeout: Duration,
) -> Result<(), RdError> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: the client is live (borrowed); the returned error object, if any, is read and destroyed once.
    unsafe {
        let error = rd::rd_kafka_commit_transaction(producer.client().native_ptr(), ms);
        if error.is_null() { Ok(()) } else { Err(RdError::take(error)) }
    }
}

/// The time from `message`'s enqueue to its delivery report, as librdkafka measured it (`None` if it did not).
#[cfg(feature = "otel")]
pub(crate) fn latency(message: &rdkafka::message::BorrowedMessage<'_>) -> Option<Duration> {
    // SAFETY: the pointer is the delivery report's message, valid while `message` is borrowed; the call only reads
    // the timestamp librdkafka set when it enqueued the message.
    let us = unsafe { rd::rd_kafka_message_latency(message.ptr()) };
    u64::try_from(us).ok().map(Duration::from_micros)
}
