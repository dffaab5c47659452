//! Waiting the same way on any executor: the producer's futures wait on `tokio::sync::Notify` and `futures-timer`
//! (neither needs a tokio runtime), blocking work runs on a thread of its own and is awaited through a oneshot, and
//! registry I/O (reqwest, which needs tokio) is spawned onto the runtime the producer was built in, or its own.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

use super::error::BuildError;

/// `future`'s output, or `None` once `deadline` passed first.
pub(crate) async fn until<F: Future>(deadline: Instant, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer = pin!(futures_timer::Delay::new(deadline.saturating_duration_since(Instant::now())));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Starts the blocking `work` on a thread of its own named `name`; its result comes through the receiver (which
/// fails if `work` panicked). `None` if the thread could not start.
pub(crate) fn start_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<tokio::sync::oneshot::Receiver<T>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let _ = tx.send(work());
    });
    match started {
        Ok(_) => Some(rx),
        Err(e) => {
            tracing::error!(error = %e, "starting a producer thread");
            None
        }
    }
}

/// Runs the blocking `work` on a thread of its own named `name` and waits for it without blocking the caller's
/// executor. `None` if the thread could not start or `work` panicked.
pub(crate) async fn off_thread<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    start_thread(name, work)?.await.ok()
}

/// Runs `future` on the calling thread until it completes or `deadline` passes (`None` then), parking the thread
/// between polls: for the blocking send, whose waits (the byte budget, the delivery report) are woken by other
/// threads, so no executor needs to run here.
pub(crate) fn block_on_until<F: Future>(future: F, deadline: Option<Instant>) -> Option<F::Output> {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Some(out);
        }
        match deadline {
            None => std::thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return None;
                }
                std::thread::park_timeout(d - now);
            }
        }
    }
}

thread_local! {
    /// Above 0 while this thread serves delivery reports (the delivery thread, always) or runs the user code around
    /// a record (interceptors, callbacks, the wakers of `Delivery` futures).
    static ON_DELIVERY_PATH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Whether this thread serves delivery reports, or is running a callback or an interceptor: a blocking send here
/// could wait for a report only this thread would serve.
pub(crate) fn on_delivery_path() -> bool {
    ON_DELIVERY_PATH.get() > 0
}

/// Marks the current thread as on the delivery path while the guard lives.
pub(crate) struct DeliveryPath(());

impl DeliveryPath {
    pub(crate) fn enter() -> DeliveryPath {
        ON_DELIVERY_PATH.set(ON_DELIVERY_PATH.get() + 1);
        DeliveryPath(())
    }
}

impl Drop for DeliveryPath {
    fn drop(&mut self) {
        ON_DELIVERY_PATH.set(ON_DELIVERY_PATH.get().saturating_sub(1));
    }
}

/// The tokio runtime that runs registry I/O (the one the producer was built in, or its own one-thread runtime),
/// so that binding works from any executor and from threads outside async code.
#[derive(Clone)]
pub(crate) struct RuntimeHandle {
    handle: tokio::runtime::Handle,
    _own: Option<Arc<OwnRuntime>>,
}

struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            // Never blocks: the runtime's thread finishes on its own.
            rt.shutdown_background();
        }
    }
}

impl RuntimeHandle {
    /// The current tokio runtime, or a runtime of the producer's own when there is none.
    pub(crate) fn current_or_own() -> Result<RuntimeHandle, BuildError> {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            return Ok(RuntimeHandle { handle, _own: None });
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("typed-kafka-io")
            .enable_all()
            .build()
            .map_err(|e| BuildError::Runtime(e.to_string()))?;
        Ok(RuntimeHandle { handle: rt.handle().clone(), _own: Some(Arc::new(OwnRuntime(Some(rt)))) })
    }

    /// Runs `future` on the runtime and waits for it from any executor. `None` if the runtime shut down first.
    pub(crate) async fn run<F>(&self, future: F) -> Option<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future).await.ok()
    }

    /// Runs `future` to completion from a thread outside async code.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The waits work without a tokio runtime: a deadline, a timer, a blocking thread's result.
    #[test]
    fn waits_work_on_another_executor() {
        let started = Instant::now();
        let timed_out =
            futures::executor::block_on(until(started + Duration::from_millis(50), std::future::pending::<()>()));
        assert_eq!(timed_out, None);
        assert!(started.elapsed() >= Duration::from_millis(50));
        let done = futures::executor::block_on(until(
            started + Duration::from_secs(30),
            futures_timer::Delay::new(Duration::from_millis(10)),
        ));
        assert_eq!(done, Some(()));
        let on_thread =
            futures::executor::block_on(off_thread("test", || std::thread::current().name().map(str::to_string)));
        assert_eq!(on_thread, Some(Some("test".to_string())));
        assert_eq!(futures::executor::block_on(off_thread("test", || -> u8 { panic!("boom") })), None);
    }
}
