//! A record's delivery report, from whichever backend: its bytes back to the budget, the counters, the
//! interceptors, then whoever waits for it. Every piece of user code here (interceptors, callbacks, the wakers of
//! `Delivery` futures) runs under `catch_unwind` and on the [delivery path](super::executor::on_delivery_path): a
//! panic in it is logged and the reports keep flowing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::accounting::{Accounting, Undelivered};
use super::completion::{DeliveryResult, Entry, Failure, Meta, Outcome, Ticket, Waiter};
use super::executor::DeliveryPath;
use super::otel::{self, SpanSlot};

/// Completes the record of `ticket` with `outcome`. `quiet_bytes` gives a quiet record's budget bytes (its key,
/// value and headers, which the report carries), `topic` its topic name (a tracked record's entry knows its own);
/// each is asked only when needed.
/// A stale ticket (of a record `close` already failed at its deadline) is ignored.
pub(crate) fn report(
    accounting: &Accounting,
    ticket: Ticket,
    outcome: Outcome,
    quiet_bytes: impl FnOnce() -> u32,
    topic: impl FnOnce() -> Arc<str>,
) {
    if let Some(record_id) = ticket.quiet_id() {
        let bytes = quiet_bytes();
        accounting.release(bytes);
        match outcome {
            Outcome::Delivered { .. } => accounting.count_sent(bytes),
            Outcome::Failed(failure) => {
                accounting.count_failed();
                let topic = topic();
                tracing::debug!(%topic, record_id, message = failure.message, "fire-and-forget record not delivered");
                if accounting.is_closing() {
                    accounting.note_undelivered(Undelivered {
                        record_id,
                        topic,
                        partition: failure.partition,
                        kind: failure.kind,
                    });
                }
            }
        }
        accounting.finished();
        return;
    }
    match accounting.table.take(ticket) {
        Some(entry) => complete(accounting, entry, outcome),
        None => tracing::debug!(ticket = ticket.word(), "a delivery report for a record already failed"),
    }
}

/// Fails every tracked record still waiting for its report (`close` at its deadline, the teardown), as
/// [`Purged`](super::error::DeliveryErrorKind::Purged) with `message`. Returns how many.
pub(crate) fn fail_unreported(accounting: &Accounting, message: &str) -> usize {
    let entries = accounting.table.drain();
    let n = entries.len();
    for entry in entries {
        complete(accounting, entry, Outcome::Failed(Failure::purged(message)));
    }
    n
}

/// The end of one tracked record: the budget back, the counters, the interceptors, then its waiter.
fn complete(accounting: &Accounting, mut entry: Entry, outcome: Outcome) {
    let (meta, topic) = (*entry.meta(), entry.topic);
    let span = entry.take_span();
    let waiter = entry.into_waiter();
    accounting.release(meta.bytes);
    otel::finished(accounting, span, &outcome);
    let delivered = outcome.is_delivered();
    if delivered {
        accounting.count_sent(meta.bytes);
    } else {
        accounting.count_failed();
    }
    let waiter = match waiter {
        // Nobody else needs the outcome built: the awaiting side builds it, with its own topic handle.
        Waiter::Future(reporter) if accounting.interceptors().is_empty() && (delivered || !accounting.is_closing()) => {
            accounting.finished();
            let _user_code = DeliveryPath::enter();
            if catch_unwind(AssertUnwindSafe(|| reporter.outcome(outcome))).is_err() {
                tracing::error!(
                    record_id = meta.record_id,
                    "waking a Delivery's task panicked; the producer carries on"
                );
            }
            return;
        }
        waiter => waiter,
    };
    let result = meta.result(accounting.delivered_topic(topic), outcome);
    if let Err(e) = &result
        && accounting.is_closing()
    {
        accounting.note_undelivered(Undelivered {
            record_id: meta.record_id,
            topic: e.topic.clone(),
            partition: e.partition,
            kind: e.kind.clone(),
        });
    }
    let _user_code = DeliveryPath::enter();
    acknowledge(accounting, &result);
    match waiter {
        Waiter::Nobody => {
            if let Err(e) = &result {
                tracing::debug!(error = %e, "fire-and-forget record not delivered");
            }
            accounting.finished();
        }
        Waiter::Callback(callback) => {
            // Callbacks run before the record stops counting as in flight: a flush returns after them.
            if catch_unwind(AssertUnwindSafe(|| callback.call(result))).is_err() {
                tracing::error!(record_id = meta.record_id, "a delivery callback panicked; the producer carries on");
            }
            accounting.finished();
        }
        Waiter::Future(reporter) => {
            // Futures are told after the record stops counting as in flight, so whoever awaits one sees the
            // counters already updated. Telling wakes the awaiting task, whose waker is user code.
            accounting.finished();
            if catch_unwind(AssertUnwindSafe(|| reporter.built(result))).is_err() {
                tracing::error!(
                    record_id = meta.record_id,
                    "waking a Delivery's task panicked; the producer carries on"
                );
            }
        }
    }
}

/// Runs the interceptors' `on_acknowledgement`.
fn acknowledge(accounting: &Accounting, result: &DeliveryResult) {
    for i in accounting.interceptors() {
        if catch_unwind(AssertUnwindSafe(|| i.on_acknowledgement(result.as_ref()))).is_err() {
            tracing::error!("an interceptor's on_acknowledgement panicked; the producer carries on");
        }
    }
}

/// The ticket of a record about to be enqueued: quiet when nobody but the counters wants its outcome, otherwise
/// a table entry holding `meta` and `waiter`.
pub(crate) fn ticket(accounting: &Accounting, meta: Meta, topic: u32, waiter: Waiter) -> Ticket {
    traced_ticket(accounting, meta, topic, waiter, otel::no_span())
}

/// [`ticket`] for a record with an OpenTelemetry span, which its entry keeps until the report (a record with a span
/// is never quiet).
pub(crate) fn traced_ticket(accounting: &Accounting, meta: Meta, topic: u32, waiter: Waiter, span: SpanSlot) -> Ticket {
    match waiter {
        Waiter::Nobody if accounting.quiet() && !otel::is_some(&span) && meta.record_id <= Ticket::MAX_QUIET_ID => {
            Ticket::quiet(meta.record_id)
        }
        waiter => accounting.table.insert(Entry::new(meta, topic, waiter).with_span(span)),
    }
}

/// A record the batching core refused after its ticket was made: its bytes back, no longer in flight, and its
/// waiter dropped unrun (the record goes back to the caller instead).
pub(crate) fn not_enqueued(accounting: &Accounting, ticket: Ticket, bytes: u32) -> SpanSlot {
    let span = match ticket.quiet_id() {
        None => accounting.table.take(ticket).map_or_else(otel::no_span, |mut e| e.take_span()),
        Some(_) => otel::no_span(),
    };
    accounting.release(bytes);
    accounting.finished();
    span
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use typed_kafka_avro::SchemaId;

    use super::super::accounting::Interceptor;
    use super::super::completion::delivery;
    use super::super::error::{DeliveryError, DeliveryErrorKind};
    use super::*;
    use crate::config::{ProducerConfig, RECORD_OVERHEAD};
    use crate::record::RecordMetadata;

    fn accounting(interceptors: Vec<Arc<dyn Interceptor>>) -> Arc<Accounting> {
        let config = ProducerConfig::builder("127.0.0.1:9092").build().unwrap();
        let a = Arc::new(Accounting::new(&config, interceptors));
        a.topic("orders");
        a
    }

    /// A record's meta after taking its bytes from the budget, as a send does.
    fn meta(a: &Accounting, bytes: u32) -> Meta {
        futures::executor::block_on(a.reserve(bytes)).unwrap();
        Meta { key_size: Some(3), value_schema_id: Some(SchemaId(7)), ..Meta::quiet(a.issue(), bytes) }
    }

    fn delivered(offset: i64) -> Outcome {
        Outcome::Delivered { partition: 2, offset: Some(offset), timestamp: None }
    }

    fn orders() -> Arc<str> {
        "orders".into()
    }

    /// The in-flight count is the IDs issued less the records completed: a flush waits for the last completion,
    /// which a delivery thread reports while the flush waits.
    #[test]
    fn a_flush_waits_for_the_last_completion_from_the_delivery_thread() {
        let a = accounting(Vec::new());
        let tickets: Vec<(Ticket, u32)> =
            (0..1000).map(|_| (ticket(&a, meta(&a, 100), 0, Waiter::Nobody), 100)).collect();
        assert_eq!(a.in_flight(), 1000);
        assert_eq!(a.metrics().buffered_bytes, 1000 * (100 + u64::from(RECORD_OVERHEAD)), "bytes and overheads");
        let deliveries = std::thread::spawn({
            let a = a.clone();
            move || {
                for (i, (t, bytes)) in tickets.into_iter().enumerate() {
                    if i % 100 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    report(&a, t, delivered(i as i64), || bytes, || unreachable!("nobody asks for the topic"));
                }
            }
        });
        let left = futures::executor::block_on(a.wait_idle(Instant::now() + Duration::from_secs(10)));
        deliveries.join().unwrap();
        assert_eq!(left, 0);
        let m = a.metrics();
        assert_eq!((m.records_sent, m.bytes_sent, m.in_flight, m.buffered_bytes), (1000, 100_000, 0, 0));
    }

    /// A refused enqueue gives its bytes back, stops counting as in flight, and drops its callback unrun.
    #[test]
    fn a_record_not_enqueued_is_not_in_flight() {
        let a = accounting(Vec::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let t = ticket(
            &a,
            meta(&a, 500),
            0,
            Waiter::Callback(super::super::completion::callback(move |_| {
                r.fetch_add(1, Ordering::SeqCst);
            })),
        );
        assert_eq!(Arc::strong_count(&runs), 2);
        not_enqueued(&a, t, 500);
        assert_eq!((a.in_flight(), a.metrics().buffered_bytes, a.table.len()), (0, 0, 0));
        assert_eq!((Arc::strong_count(&runs), runs.load(Ordering::SeqCst)), (1, 0));
    }

    /// A callback runs with the whole outcome before the record stops counting as in flight; one that panics does
    /// not stop the producer; its code runs on the delivery path.
    #[test]
    fn called_back_records_get_their_metadata_before_they_stop_counting() {
        let a = accounting(Vec::new());
        let seen = Arc::new(Mutex::new(None));
        let callback = {
            let (a, seen) = (a.clone(), seen.clone());
            move |r: Result<RecordMetadata, DeliveryError>| {
                let on_path = super::super::executor::on_delivery_path();
                *seen.lock().unwrap() = Some((r.map(|m| (m.topic, m.offset, m.record_id)), a.in_flight(), on_path));
            }
        };
        let m = meta(&a, 10);
        let t = ticket(&a, m, 0, Waiter::Callback(super::super::completion::callback(callback)));
        report(&a, t, delivered(7), || unreachable!(), orders);
        let (result, in_flight, on_path) = seen.lock().unwrap().take().expect("the callback ran");
        let (topic, offset, record_id) = result.unwrap();
        assert_eq!((&*topic, offset, record_id, in_flight, on_path), ("orders", Some(7), m.record_id, 1, true));
        assert_eq!((a.in_flight(), a.metrics().records_sent), (0, 1));
        assert!(!super::super::executor::on_delivery_path());

        let t = ticket(
            &a,
            meta(&a, 10),
            0,
            Waiter::Callback(super::super::completion::callback(|_| panic!("a callback that panics"))),
        );
        report(&a, t, delivered(8), || unreachable!(), orders);
        assert_eq!((a.in_flight(), a.metrics().records_sent), (0, 2));
    }

    /// A waker that panics: the future's result is still there, and the producer carries on.
    #[test]
    fn a_panicking_waker_does_not_stop_the_reports() {
        struct Boom;
        impl std::task::Wake for Boom {
            fn wake(self: Arc<Self>) {
                panic!("a waker that panics");
            }
        }
        let a = accounting(Vec::new());
        let m = meta(&a, 10);
        let (reporter, mut d) = delivery(m, orders());
        let t = ticket(&a, m, 0, Waiter::Future(reporter));
        let waker = std::task::Waker::from(Arc::new(Boom));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut d).poll(&mut cx).is_pending());
        report(&a, t, delivered(3), || unreachable!(), orders);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let std::task::Poll::Ready(Ok(m)) = std::pin::Pin::new(&mut d).poll(&mut cx) else { panic!("delivered") };
        assert_eq!(m.offset, Some(3));
        assert_eq!(a.in_flight(), 0);
    }

    /// Interceptors see every outcome; a failure while closing is noted for the close report; the records nobody
    /// reported are failed as purged, every waiter told, and a late report of one of them is ignored.
    #[test]
    fn unreported_records_are_failed_once() {
        struct Count(AtomicUsize);
        impl Interceptor for Arc<Count> {
            fn on_acknowledgement(&self, _: Result<&RecordMetadata, &DeliveryError>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let a = accounting(vec![Arc::new(count.clone())]);
        let forgotten = ticket(&a, meta(&a, 10), 0, Waiter::Nobody);
        assert!(forgotten.quiet_id().is_none(), "with interceptors a fire-and-forget record is tracked");
        let m = meta(&a, 10);
        let (reporter, d) = delivery(m, orders());
        let awaited = ticket(&a, m, 0, Waiter::Future(reporter));
        a.start_closing();
        assert_eq!(fail_unreported(&a, "closed"), 2);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        let e = futures::executor::block_on(d).unwrap_err();
        assert_eq!((e.kind.clone(), &*e.topic, e.is_retriable()), (DeliveryErrorKind::Purged, "orders", false));
        report(&a, awaited, delivered(1), || unreachable!(), orders);
        let m = a.metrics();
        assert_eq!((m.records_failed, m.records_sent, m.in_flight, m.buffered_bytes), (2, 0, 0, 0));
        let close = a.close_report();
        assert_eq!(close.undelivered.len(), 2);
        assert_eq!(close.unreported, 0);
    }
}
