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

    /// The producer's last handle is gone: purge, report or fail what is left, and stop, without blocking the
    /// caller.
    fn shut_down(&self);
}
