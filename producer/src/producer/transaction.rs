//! Transactions (exactly-once): a producer built with `transactional.id` writes its records inside
//! [`Producer::begin`] … [`Transaction::commit`] or [`Transaction::abort`], and commits a typed consumer's positions
//! in the same transaction ([`Transaction::send_offsets`]), so that a consume-transform-produce job's output and
//! input positions become visible together, or not at all.
//!
//! librdkafka's transaction calls block (it has no callbacks for them): they run on the producer's transaction
//! thread, one at a time, never on the caller's executor. Errors come in librdkafka's classes ([`TransactionErrorKind`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::accounting::TxnState;
use super::client::Producer;
use super::error::ErrorCode;
use super::transport::{GroupOffsets, TxnCall, TxnClass, TxnFailure};

/// How long `begin` gives `init_transactions` when it was not called first.
const INIT_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the abort of a dropped transaction may take.
const DROP_ABORT_TIMEOUT: Duration = Duration::from_secs(60);

/// How a transaction call failed, in librdkafka's classes, and what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionErrorKind {
    /// The call may succeed if made again (a timeout, a coordinator that moved): make it again. A commit that
    /// timed out hands the transaction back ([`TransactionError::into_transaction`]) to commit or abort.
    Retriable,
    /// The transaction cannot commit (a record failed, the coordinator aborted it): abort it, rewind the input to
    /// its last committed positions (`TypedConsumer::rewind`), begin again.
    Abortable,
    /// A newer producer with the same `transactional.id` started: this one can do nothing more (its open
    /// transaction is aborted by the coordinator). Stop; the newer instance carries on.
    Fenced,
    /// Any other fatal error: the producer must be rebuilt.
    Fatal,
    /// The call does not fit the producer's state: the producer is not transactional, a transaction is already
    /// open, or the consumer has no group.
    State,
}

/// A failed transaction call: its class, the call, librdkafka's code and message, and the transaction when it can
/// still be committed or aborted.
#[derive(thiserror::Error)]
#[error("{operation}: {message}{}", code.map(|c| format!(" [{c}]")).unwrap_or_default())]
pub struct TransactionError {
    kind: TransactionErrorKind,
    operation: &'static str,
    code: Option<ErrorCode>,
    message: String,
    transaction: Option<Box<Transaction>>,
}

impl std::fmt::Debug for TransactionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionError")
            .field("kind", &self.kind)
            .field("operation", &self.operation)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("transaction", &self.transaction.is_some())
            .finish()
    }
}

impl TransactionError {
    fn new(operation: &'static str, f: TxnFailure) -> TransactionError {
        let fenced = f.code.is_some_and(|c| FENCED.contains(&c.code()));
        let kind = match f.class {
            TxnClass::Fatal if fenced => TransactionErrorKind::Fenced,
            TxnClass::Fatal => TransactionErrorKind::Fatal,
            TxnClass::Abortable => TransactionErrorKind::Abortable,
            TxnClass::Retriable => TransactionErrorKind::Retriable,
            TxnClass::State => TransactionErrorKind::State,
        };
        TransactionError { kind, operation, code: f.code, message: f.message, transaction: None }
    }

    fn state(operation: &'static str, message: impl Into<String>) -> TransactionError {
        TransactionError {
            kind: TransactionErrorKind::State,
            operation,
            code: None,
            message: message.into(),
            transaction: None,
        }
    }

    /// The class.
    pub fn kind(&self) -> TransactionErrorKind {
        self.kind
    }

    /// librdkafka's or the broker's code, when there is one.
    pub fn code(&self) -> Option<ErrorCode> {
        self.code
    }

    /// Whether making the same call again may succeed.
    pub fn is_retriable(&self) -> bool {
        self.kind == TransactionErrorKind::Retriable
    }

    /// Whether the transaction must be aborted (and the input rewound) before the next one begins.
    pub fn is_abortable(&self) -> bool {
        self.kind == TransactionErrorKind::Abortable
    }

    /// Whether the producer can do nothing more: fenced, or another fatal error.
    pub fn is_fatal(&self) -> bool {
        matches!(self.kind, TransactionErrorKind::Fenced | TransactionErrorKind::Fatal)
    }

    /// The transaction, when a commit or an abort failed and it can still be committed (retriable) or must be
    /// aborted (abortable). Dropping it aborts it.
    pub fn into_transaction(self) -> Option<Transaction> {
        self.transaction.map(|t| *t)
    }
}

/// librdkafka's `_FENCED`, and the broker's `PRODUCER_FENCED` and `INVALID_PRODUCER_EPOCH`.
const FENCED: [i32; 3] = [-144, 90, 47];

/// Where a transactional producer's transactions stand; its lock also makes the transaction calls one at a time.
/// The calls run on the producer's transaction thread, started on first use and ended when the producer is gone
/// (a thread per call cost a transaction of 1,000 records a fifth of its time in the benchmark).
#[derive(Default)]
pub(crate) struct Transactions {
    slot: Arc<Mutex<Slot>>,
    /// The generation of the transaction last dropped while open (0: none): the next call with the slot locked
    /// aborts it, if it is still open.
    abandoned: AtomicU64,
    /// Where the transaction thread takes its calls.
    worker: Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

/// A call for the transaction thread.
type Job = Box<dyn FnOnce() + Send>;

impl Transactions {
    /// Runs `job` on the transaction thread (started if it is not running). `false` if no thread could start.
    fn run(&self, job: Job) -> bool {
        let mut worker = self.worker.lock().unwrap_or_else(PoisonError::into_inner);
        let job = match worker.as_ref() {
            Some(w) => match w.send(job) {
                Ok(()) => return true,
                // The thread is gone (it cannot be while the producer lives, but a new one is cheap).
                Err(std::sync::mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let started = std::thread::Builder::new().name("typed-kafka-txn".into()).spawn(move || {
            // Until every sender is gone: the producer was dropped.
            while let Ok(job) = rx.recv() {
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                    tracing::error!("a transaction call panicked; its caller gets an error");
                }
            }
        });
        if let Err(e) = started {
            tracing::error!(error = %e, "starting the transaction thread");
            return false;
        }
        let sent = tx.send(job).is_ok();
        *worker = Some(tx);
        sent
    }
}

#[derive(Default)]
struct Slot {
    initialized: bool,
    /// The open transaction's generation.
    open: Option<u64>,
    /// The last generation given.
    last: u64,
}

impl Slot {
    /// Aborts the open transaction if it was dropped (its own abort may not have run yet).
    fn abort_abandoned(&mut self, p: &Producer) -> Result<(), TransactionError> {
        let abandoned = p.inner.transactions.abandoned.load(Ordering::Acquire);
        if abandoned != 0 && self.open == Some(abandoned) {
            abort(p, self, DROP_ABORT_TIMEOUT)?;
            tracing::info!("a dropped transaction was aborted");
        }
        Ok(())
    }
}

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Producer {
    fn transactional(&self, operation: &'static str) -> Result<(), TransactionError> {
        if self.inner.config.transactional_id.is_none() {
            return Err(TransactionError::state(operation, "the producer is not transactional: set transactional.id"));
        }
        Ok(())
    }

    /// Runs `work` with the transaction slot locked, on the transaction thread.
    async fn txn_call<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&Producer, &mut Slot) -> Result<T, TransactionError> + Send + 'static,
    ) -> Result<T, TransactionError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let producer = self.clone();
        let job: Job = Box::new(move || {
            let slot = producer.inner.transactions.slot.clone();
            let mut slot = lock(&slot);
            let _ = tx.send(work(&producer, &mut slot));
        });
        if !self.inner.transactions.run(job) {
            return Err(TransactionError::state(operation, "no thread for the transaction call"));
        }
        rx.await.unwrap_or_else(|_| Err(TransactionError::state(operation, "the transaction call panicked")))
    }

    /// Registers the producer's `transactional.id` with its transaction coordinator, within `timeout`: an older
    /// producer with the same ID is fenced (its next call fails [`Fenced`](TransactionErrorKind::Fenced)) and
    /// what it left open is aborted. Call it once, before reading the input a transaction will commit positions
    /// of; [`begin`](Producer::begin) calls it when it was not. A retriable error (a timeout) may be retried.
    pub async fn init_transactions(&self, timeout: Duration) -> Result<(), TransactionError> {
        self.transactional("init_transactions")?;
        self.txn_call("init_transactions", move |p, slot| init(p, slot, timeout)).await
    }

    /// Begins a transaction: every record the producer's typed topics enqueue from now until its commit or abort
    /// belongs to it, in every send mode. A transactional producer refuses records outside a transaction
    /// ([`SendErrorKind::NoTransaction`](super::SendErrorKind::NoTransaction)). One transaction at a time;
    /// dropping it without committing aborts it.
    pub async fn begin(&self) -> Result<Transaction, TransactionError> {
        self.transactional("begin")?;
        let generation = self
            .txn_call("begin", |p, slot| {
                slot.abort_abandoned(p)?;
                if slot.open.is_some() {
                    return Err(TransactionError::state("begin", "a transaction is already open"));
                }
                if !slot.initialized {
                    init(p, slot, INIT_TIMEOUT)?;
                }
                p.inner.transport.transaction(TxnCall::Begin).map_err(|f| TransactionError::new("begin", f))?;
                slot.last += 1;
                slot.open = Some(slot.last);
                p.inner.accounting.set_transaction(TxnState::Open);
                Ok(slot.last)
            })
            .await?;
        Ok(Transaction { producer: Some(self.clone()), generation })
    }
}

fn init(p: &Producer, slot: &mut Slot, timeout: Duration) -> Result<(), TransactionError> {
    if !slot.initialized {
        p.inner
            .transport
            .transaction(TxnCall::Init(timeout))
            .map_err(|f| TransactionError::new("init_transactions", f))?;
        slot.initialized = true;
    }
    Ok(())
}

/// An open transaction of a transactional producer: the records its typed topics enqueue belong to it until
/// [`commit`](Transaction::commit) or [`abort`](Transaction::abort). Dropping it without either aborts it (on the
/// producer's transaction thread: the drop never blocks); the next [`begin`](Producer::begin) waits for that abort.
///
/// A record refused before it was enqueued (a schema or rule violation, too large) is handed back as always and
/// does not touch the transaction: the caller decides. A record enqueued in a transaction that is then aborted
/// fails with [`DeliveryErrorKind::Aborted`](super::DeliveryErrorKind::Aborted) if it was not delivered yet; one
/// delivered already was written to the topic, where `read_committed` consumers never see it.
pub struct Transaction {
    /// `None` once committed or aborted.
    producer: Option<Producer>,
    /// Which of the producer's transactions.
    generation: u64,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction").field("open", &self.producer.is_some()).finish()
    }
}

impl Transaction {
    /// The producer, while the transaction is open (always, for a `Transaction` the caller holds: commit and
    /// abort consume it).
    fn open(&mut self, operation: &'static str) -> Result<Producer, TransactionError> {
        self.producer.take().ok_or_else(|| TransactionError::state(operation, "the transaction has ended"))
    }

    /// Commits the consumer's positions in the transaction: for each partition it handed out records of, the
    /// offset after the last one (the next to read), with its group's metadata, so that the group's committed
    /// offsets move exactly when the transaction commits. Call it after the records made from that input were
    /// sent, before [`commit`](Transaction::commit). Blocks the transaction thread for up to `timeout`.
    #[cfg(feature = "kafka")]
    pub async fn send_offsets<T, V>(
        &self,
        consumer: &crate::consumer::TypedConsumer<T, V>,
        timeout: Duration,
    ) -> Result<(), TransactionError>
    where
        T: crate::topic::Topic,
        V: crate::topic::ValueOf<T> + for<'de> typed_kafka_avro::AvroDecode<'de>,
    {
        let offsets = consumer.transaction_offsets();
        self.send_group_offsets(offsets, timeout).await
    }

    pub(crate) async fn send_group_offsets(
        &self,
        offsets: GroupOffsets,
        timeout: Duration,
    ) -> Result<(), TransactionError> {
        if offsets.positions.is_empty() {
            return Ok(());
        }
        let Some(producer) = &self.producer else {
            return Err(TransactionError::state("send_offsets", "the transaction has ended"));
        };
        producer
            .txn_call("send_offsets", move |p, _| {
                p.inner
                    .transport
                    .transaction(TxnCall::SendOffsets(offsets, timeout))
                    .map_err(|f| TransactionError::new("send_offsets", f))
            })
            .await
    }

    /// Sends what waits, waits for every record's delivery, then commits, within `timeout`: the records and the
    /// positions sent become visible to `read_committed` consumers together. A retriable failure (the timeout
    /// passed) hands the transaction back in the error to commit again or abort; an abortable one hands it back to
    /// abort (dropping it does); a fatal one ends the producer.
    pub async fn commit(mut self, timeout: Duration) -> Result<(), TransactionError> {
        let producer = self.open("commit")?;
        let done = producer
            .txn_call("commit", move |p, slot| {
                // Nothing more is taken: librdkafka refuses records once a commit has begun, even one that failed.
                p.inner.accounting.set_transaction(TxnState::None);
                let done = p.inner.transport.transaction(TxnCall::Commit(timeout));
                if done.is_ok() {
                    slot.open = None;
                }
                done.map_err(|f| TransactionError::new("commit", f))
            })
            .await;
        self.hand_back(producer, done, &[TransactionErrorKind::Retriable, TransactionErrorKind::Abortable])
    }

    /// Aborts the transaction within `timeout`: what is queued or in flight fails with
    /// [`Aborted`](super::DeliveryErrorKind::Aborted), and nothing of it becomes visible to `read_committed`
    /// consumers. A retriable failure hands the transaction back to abort again.
    pub async fn abort(mut self, timeout: Duration) -> Result<(), TransactionError> {
        let producer = self.open("abort")?;
        let done = producer.txn_call("abort", move |p, slot| abort(p, slot, timeout)).await;
        self.hand_back(producer, done, &[TransactionErrorKind::Retriable])
    }

    /// A commit's or an abort's result: a failure of one of the `kinds` hands the transaction back; any other
    /// ends it.
    fn hand_back(
        &self,
        producer: Producer,
        done: Result<(), TransactionError>,
        kinds: &[TransactionErrorKind],
    ) -> Result<(), TransactionError> {
        done.map_err(|mut e| {
            if kinds.contains(&e.kind) {
                e.transaction = Some(Box::new(Transaction { producer: Some(producer), generation: self.generation }));
            } else {
                let mut slot = lock(&producer.inner.transactions.slot);
                if slot.open == Some(self.generation) {
                    slot.open = None;
                }
                producer.inner.accounting.set_transaction(TxnState::None);
            }
            e
        })
    }
}

/// Aborts the open transaction, with the slot locked.
fn abort(p: &Producer, slot: &mut Slot, timeout: Duration) -> Result<(), TransactionError> {
    let accounting = &p.inner.accounting;
    accounting.set_transaction(TxnState::Aborting);
    let done = p.inner.transport.transaction(TxnCall::Abort(timeout));
    accounting.set_transaction(TxnState::None);
    match done {
        Ok(()) => {
            slot.open = None;
            Ok(())
        }
        Err(f) => {
            let e = TransactionError::new("abort", f);
            if e.kind != TransactionErrorKind::Retriable {
                slot.open = None;
            }
            Err(e)
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        let Some(producer) = self.producer.take() else { return };
        let generation = self.generation;
        // From now on the producer takes no record, and those purged fail as aborted.
        producer.inner.accounting.set_transaction(TxnState::Aborting);
        producer.inner.transactions.abandoned.store(generation, Ordering::Release);
        // The abort blocks: on the transaction thread. The next transaction call aborts it first if that thread
        // has not yet.
        let inner = producer.inner.clone();
        let job: Job = Box::new(move || {
            let slot = producer.inner.transactions.slot.clone();
            let mut slot = lock(&slot);
            if let Err(e) = slot.abort_abandoned(&producer) {
                tracing::error!(error = %e, "aborting a dropped transaction failed");
            }
        });
        if !inner.transactions.run(job) {
            tracing::error!("no thread to abort a dropped transaction: the next begin aborts it");
        }
    }
}
