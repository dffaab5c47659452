//! The producer: [`Producer`] owns the batching core (librdkafka), the schema source and the byte budget;
//! [`TypedProducer`] sends the records of one [typed topic](mod@crate::topic).
//!
//! The path of one record, one file per step: binding resolves subjects and the partition count once (`bind.rs`) →
//! interceptors' `on_send` → key and value validated and encoded (`encode.rs`; a record that violates its schema is
//! refused here, with every violation's path, and handed back) → partition (`route.rs`: explicit > custom
//! partitioner > Java's murmur2 over the serialized key, sticky for null keys) → the byte budget (`budget.rs`:
//! `buffer.memory`; waits up to `max.block.ms`, woken by deliveries) → enqueued into the batching core
//! (`transport.rs`, `kafka/`), which batches per partition (`linger.ms`, `batch.size`), compresses and retries within
//! `delivery.timeout.ms` → the delivery report (`report.rs`) → [`RecordMetadata`](crate::RecordMetadata) or a
//! [`DeliveryError`] for the [`Delivery`], the callback or the counters (`completion.rs`).
//!
//! # Send modes
//! - awaited: [`TypedProducer::send`];
//! - two-phase: [`TypedProducer::enqueue`] returns once the record is enqueued, with a [`Delivery`] to await later;
//! - fire-and-forget: [`TypedProducer::send_and_forget`] (failures reach the metrics and the interceptors);
//! - callback: [`TypedProducer::send_with`];
//! - blocking: [`TypedProducer::send_blocking`] for threads outside async code.
//!
//! Every future works on any executor (tokio, `futures::executor`, ...); binding runs its registry I/O on the tokio
//! runtime the producer was built in, or on a one-thread runtime of its own.
//!
//! # Threads
//! Each producer has a delivery thread (`typed-kafka-delivery`), the only one that serves delivery reports: callbacks
//! and `on_acknowledgement` run there, one at a time, in each partition's offset order, including during `flush`
//! and `close`. A metadata thread (`typed-kafka-metadata`) re-reads the bound topics' partition counts every
//! `metadata.max.age.ms`. `flush` and `close` run librdkafka's blocking calls on short-lived threads of their own,
//! never on the caller's executor.
//!
//! # Cancellation and teardown
//! Dropping a `send`/`enqueue` future **before** the record is enqueued (while it waits for the byte budget)
//! sends nothing and drops the record. Once enqueued, the record is delivered whatever happens to its futures:
//! dropping a [`Delivery`] only discards the result.
//!
//! Dropping the last handle of a producer (a [`Producer`] or [`TypedProducer`]) never blocks, whatever thread it
//! happens on (an async runtime's worker, a delivery callback): the delivery thread then purges what is still in
//! flight, serves the purge's reports for up to 2 s, fails what is still unreported, and destroys the client. Every
//! [`Delivery`] and callback of the producer has resolved (with [`DeliveryErrorKind::Purged`] for the records that
//! were not delivered) at most about 2.1 s after the last handle was dropped. [`Producer::close`] does the same
//! within the timeout it is given, and reports which records were not delivered.

// Without the `kafka` feature only the mock backend exists, and what serves the batching core alone is unused.
#![cfg_attr(not(feature = "kafka"), allow(dead_code, unused_variables, unused_imports))]

mod accounting;
mod bind;
mod budget;
mod client;
mod completion;
pub mod dead_letter;
pub(crate) mod encode;
pub(crate) mod error;
mod executor;
#[cfg(feature = "kafka")]
mod kafka;
pub(crate) mod mock;
pub(crate) mod otel;
mod report;
mod route;
pub(crate) mod transaction;
pub(crate) mod transport;
mod typed;

pub use accounting::{CloseReport, Interceptor, ProducerMetrics, RefusedCounts, Undelivered};
#[doc(hidden)]
pub use bind::Binder;
pub use bind::TopicBinding;
pub use client::{Producer, ProducerBuilder};
pub use completion::Delivery;
#[doc(hidden)]
pub use encode::{Encoder, ValueLane};
pub use error::{BindError, BuildError, DeliveryError, DeliveryErrorKind, ErrorCode, SendError, SendErrorKind};
pub use route::KeyHashing;
pub use transaction::{Transaction, TransactionError, TransactionErrorKind};
pub use typed::{ProduceError, TypedProducer};
