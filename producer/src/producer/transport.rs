//! The batching core behind a producer, as the send path sees it: a [`Transport`] (librdkafka, or the mock), and a
//! [`Sink`] per bound topic that takes one record's bytes with its [`Ticket`] and reports it later through
//! the report module. The send path never knows which transport it talks to.

use std::any::{Any, TypeId};
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::completion::Ticket;
use super::error::SendErrorKind;
use crate::record::Headers;

/// A record's bytes and destination, as the batching core takes them.
pub(crate) struct Outgoing<'a> {
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    /// The partition chosen on this side; `None` leaves it to the transport's partitioner (Java's murmur2 of the
    /// key, sticky for null keys).
    pub(crate) partition: Option<i32>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) headers: &'a Headers,
    /// What the record's delivery report will carry.
    pub(crate) ticket: Ticket,
}

/// Gives the typed record to a transport that keeps what was sent (the mock's history); called at most once, only
/// when the record is accepted.
pub(crate) type Keep<'a> = &'a mut dyn FnMut() -> Arc<dyn Any + Send + Sync>;

/// Where one bound topic's records go.
pub(crate) trait Sink: Send + Sync {
    /// Enqueues `record`; its ticket's report comes later, or (the mock) before this returns. On refusal nothing
    /// was enqueued and no report will come.
    fn send(&self, record: Outgoing<'_>, keep: Keep<'_>) -> Result<(), SendErrorKind>;
}

/// Why the metadata of a topic could not be read.
pub(crate) enum MetadataError {
    /// A broker connection failed to log in or to agree on TLS.
    Security(String),
    /// Anything else (a timeout, a broker error).
    Other(String),
}

/// A call of librdkafka's transaction API (each blocks its thread; see [`Transport::transaction`]).
pub(crate) enum TxnCall {
    /// Registers the `transactional.id` with its coordinator, fencing older instances, and ends what they left
    /// open.
    Init(Duration),
    Begin,
    /// Adds a consumer group's next offsets to the transaction.
    SendOffsets(GroupOffsets, Duration),
    /// Sends what waits, then commits.
    Commit(Duration),
    /// Fails what is queued or in flight (their reports say so), then aborts.
    Abort(Duration),
}

/// A consumer group's positions to commit in a transaction: the next offset to read in each partition, with the
/// group's metadata as the consumer holds it (its generation and member, so that the coordinator can fence a
/// zombie member).
pub(crate) struct GroupOffsets {
    pub(crate) group_id: String,
    /// (topic, partition, next offset to read).
    pub(crate) positions: Vec<(Arc<str>, i32, i64)>,
    #[cfg(feature = "kafka")]
    pub(crate) metadata: Option<rdkafka::consumer::ConsumerGroupMetadata>,
}

/// How a failed transaction call can go on, in librdkafka's classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnClass {
    /// Call it again.
    Retriable,
    /// Abort the transaction.
    Abortable,
    /// The producer can do nothing more.
    Fatal,
    /// The call did not fit the transaction's state (a usage error).
    State,
}

/// A transaction call's failure.
pub(crate) struct TxnFailure {
    pub(crate) class: TxnClass,
    pub(crate) code: Option<super::error::ErrorCode>,
    pub(crate) message: String,
}

/// A producer's batching core.
pub(crate) trait Transport: Send + Sync + 'static {
    /// The sink of `topic`, bound as the declared topic type `declared`.
    fn sink(&self, topic: &Arc<str>, declared: TypeId) -> Result<Box<dyn Sink>, String>;

    /// The partition count of `topic`, waiting up to `timeout` for it to exist (a topic just created may take a
    /// moment to reach every broker); `Ok(None)` if it still does not. Blocks.
    fn partition_count(&self, topic: &str, timeout: Duration) -> Result<Option<i32>, MetadataError>;

    /// Keeps `partitions` of `topic` current, as the cluster's metadata changes, while it is referenced.
    fn watch(&self, topic: Arc<str>, partitions: Weak<AtomicI32>);

    /// Sends what waits for `linger.ms` at once, for up to `timeout`. Blocks.
    fn flush(&self, timeout: Duration);

    /// Fails what is queued or in flight with `Purged`; the reports follow at once. Blocks briefly.
    fn purge(&self);

    /// Asks the batching core whether an error it reported was fatal, and notes it.
    fn check_fatal(&self);

    /// Makes a call of the transaction API. Blocks (up to the call's timeout; `Begin` does not wait).
    fn transaction(&self, call: TxnCall) -> Result<(), TxnFailure>;

    /// The producer's last handle is gone: purge, report or fail what is left, and stop, without blocking the
    /// caller.
    fn shut_down(&self);
}
