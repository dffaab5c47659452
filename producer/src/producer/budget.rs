//! `buffer.memory`: the bytes of the records enqueued and not yet delivered, which `send` waits for up to
//! `max.block.ms`.
//!
//! Senders take a record's bytes from `free`; the delivery thread gives them back into `returned`, which it alone
//! adds to, and moves them to `free` a chunk at a time. So the two sides do not write one cache line per
//! record, as they did with a semaphore (whose every release also locked its waiter list), and a sender waiting
//! for room is woken once per chunk, not once per delivered record. A sender that finds `free` short collects
//! `returned` itself before it waits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::error::SendErrorKind;
use super::executor;

/// A value on a cache line (pair) of its own, so that writing it does not slow readers of its neighbours.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

pub(crate) struct ByteBudget {
    /// Bytes senders may take now.
    free: Padded<AtomicU64>,
    /// Bytes given back by deliveries and not yet moved to `free`.
    returned: Padded<AtomicU64>,
    /// Senders waiting for room.
    waiters: AtomicUsize,
    wake: Notify,
    total: u64,
    /// How much is given back to `free` at once: a sixteenth of the budget, at most 1 MiB, at least 1.
    chunk: u64,
}

/// The budget stayed short of a record's bytes for `max.block.ms`.
#[derive(Debug)]
pub(crate) struct Full {
    pub(crate) waited: Duration,
}

impl Full {
    /// The send's refusal for a record that needed `bytes` of the budget (its own and the per-record overhead).
    pub(crate) fn refusal(&self, bytes: u64) -> SendErrorKind {
        SendErrorKind::BufferFull { waited: self.waited, needed: bytes as usize }
    }
}

impl ByteBudget {
    pub(crate) fn new(total: u64) -> ByteBudget {
        ByteBudget {
            free: Padded(AtomicU64::new(total)),
            returned: Padded(AtomicU64::new(0)),
            waiters: AtomicUsize::new(0),
            wake: Notify::new(),
            total,
            chunk: (total / 16).clamp(1, 1 << 20),
        }
    }

    /// Bytes taken and not given back.
    pub(crate) fn in_use(&self) -> u64 {
        let free = self.free.load(Ordering::Acquire) + self.returned.load(Ordering::Acquire);
        self.total.saturating_sub(free)
    }

    fn take(&self, bytes: u64) -> bool {
        let mut free = self.free.load(Ordering::Relaxed);
        loop {
            if free < bytes {
                return false;
            }
            match self.free.compare_exchange_weak(free, free - bytes, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => free = now,
            }
        }
    }

    /// Moves what deliveries gave back to `free` and wakes the waiting senders; whether there was any.
    fn collect(&self) -> bool {
        let returned = self.returned.swap(0, Ordering::AcqRel);
        if returned == 0 {
            return false;
        }
        self.free.fetch_add(returned, Ordering::AcqRel);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.wake.notify_waiters();
        }
        true
    }

    /// Takes `bytes` now if they are free.
    #[inline]
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        self.take(bytes) || (self.collect() && self.take(bytes))
    }

    /// Gives `bytes` back (a record was delivered, failed, or not enqueued after all).
    #[inline]
    pub(crate) fn release(&self, bytes: u64) {
        let returned = self.returned.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if returned < self.chunk {
            if self.waiters.load(Ordering::SeqCst) == 0 {
                return;
            }
            // A sender waits. Hold its wake-up for a whole chunk only while a chunk is still out: when less is
            // taken than that, no chunk may ever come back.
            if self.free.load(Ordering::Acquire) + returned + self.chunk < self.total {
                return;
            }
        }
        self.collect();
    }

    /// Takes `bytes`, waiting up to `max_block` for deliveries to give them back (woken per chunk, never polling),
    /// on any executor. The clock is read only when the budget is full: on every send it cost as much as the budget
    /// itself.
    pub(crate) async fn reserve(&self, bytes: u64, max_block: Duration) -> Result<(), Full> {
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let started = Instant::now();
        match executor::until(started + max_block, self.wait_for(bytes)).await {
            Some(()) => Ok(()),
            None => self.last_try(bytes, started),
        }
    }

    /// [`reserve`](Self::reserve) for a caller outside async code: parks the thread until woken or `max_block` has
    /// passed.
    pub(crate) fn reserve_blocking(&self, bytes: u64, max_block: Duration) -> Result<(), Full> {
        if self.try_reserve(bytes) {
            return Ok(());
        }
        let started = Instant::now();
        match executor::block_on_until(self.wait_for(bytes), Some(started + max_block)) {
            Some(()) => Ok(()),
            None => self.last_try(bytes, started),
        }
    }

    /// Waits, counted as a waiter, until `bytes` are taken.
    async fn wait_for(&self, bytes: u64) {
        let _waiting = Counted::new(&self.waiters);
        loop {
            // Created before the check, so that a release after it wakes this sender.
            let woken = self.wake.notified();
            if self.try_reserve(bytes) {
                return;
            }
            woken.await;
        }
    }

    /// At the deadline: the bytes if they are free after all (a chunk that did not come back is no reason to
    /// refuse), else the refusal.
    fn last_try(&self, bytes: u64, started: Instant) -> Result<(), Full> {
        if self.try_reserve(bytes) { Ok(()) } else { Err(Full { waited: started.elapsed() }) }
    }
}

/// Counts a waiter (a sender waiting for room, a flush waiting for nothing in flight) for as long as it waits,
/// also when its future is dropped.
pub(crate) struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    pub(crate) fn new(waiters: &'a AtomicUsize) -> Counted<'a> {
        waiters.fetch_add(1, Ordering::SeqCst);
        Counted(waiters)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    /// A send waiting for `bytes` of `b` up to `max_block`, on its own task.
    fn spawn_waiter(b: &Arc<ByteBudget>, bytes: u64, max_block: Duration) -> tokio::task::JoinHandle<Result<(), Full>> {
        let b = b.clone();
        tokio::spawn(async move { b.reserve(bytes, max_block).await })
    }

    /// A send that found the budget full is woken once a chunk is back, not by every record's release: the
    /// sender and the delivery thread do not switch per record. (One thread: each step runs to its await point.)
    #[tokio::test(flavor = "current_thread")]
    async fn a_waiting_send_wakes_for_a_chunk_and_leaves_the_rest_free() {
        let b = Arc::new(ByteBudget::new(16_000));
        assert!(b.try_reserve(16_000));
        let waiter = spawn_waiter(&b, 100, ms(10_000));
        tokio::task::yield_now().await; // the waiter is now waiting
        b.release(100);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "100 bytes back are less than the 1,000-byte chunk");
        for _ in 0..9 {
            b.release(100);
        }
        waiter.await.unwrap().unwrap();
        // The waiter kept its 100 bytes; the other 900 serve the next sends without waiting.
        assert!(b.try_reserve(900));
        assert!(!b.try_reserve(1));
        assert_eq!(b.in_use(), 16_000);
    }

    /// At the deadline a send is refused only if its own bytes are not free: a chunk that did not come back is no
    /// reason to refuse.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_the_deadline_a_send_takes_its_bytes_if_they_are_back() {
        let b = Arc::new(ByteBudget::new(16_000));
        assert!(b.try_reserve(16_000));
        let waiter = spawn_waiter(&b, 100, ms(200));
        tokio::time::sleep(Duration::from_millis(50)).await;
        b.release(150);
        assert!(waiter.await.unwrap().is_ok(), "150 bytes were back at the deadline");
        let refused = b.reserve(100, ms(100)).await;
        assert!(refused.is_err_and(|f| f.waited >= Duration::from_millis(90)));
        // The async wait works on another executor, and the blocking wait needs none.
        let refused = futures::executor::block_on(b.reserve(100, ms(100)));
        assert!(refused.is_err_and(|f| f.waited >= Duration::from_millis(90)));
        let blocking = std::thread::spawn({
            let b = b.clone();
            move || (b.reserve_blocking(100, ms(100)).is_err(), b.reserve_blocking(40, ms(100)).is_ok())
        });
        assert_eq!(blocking.join().unwrap(), (true, true), "refused at its deadline; 40 of the 50 bytes free");
        assert!(!b.try_reserve(11));
    }

    /// When less than a chunk is out, every release wakes a waiter: no whole chunk may come back.
    #[tokio::test(flavor = "current_thread")]
    async fn the_last_bytes_out_wake_a_waiter() {
        let b = Arc::new(ByteBudget::new(16_000));
        assert!(b.try_reserve(15_500));
        assert!(b.try_reserve(400)); // 100 free
        let waiter = spawn_waiter(&b, 15_800, ms(10_000));
        tokio::task::yield_now().await;
        b.release(15_500); // a chunk and more: back to free, but 15,600 < 15,800
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        b.release(400); // less than a chunk, but nothing else is out
        waiter.await.unwrap().unwrap();
        assert_eq!(b.in_use(), 15_800);
    }

    /// Two senders and a delivery thread, as the producer runs them: every take is given back, no byte is lost
    /// or made up, and what the senders hold at once never exceeds the budget. What they hold is counted here, apart
    /// from the budget's own counters: each sender adds its bytes once the budget granted them, the delivery side
    /// takes them off before giving them back.
    #[test]
    fn concurrent_senders_and_releases_keep_the_total() {
        const TOTAL: u64 = 64 * 1024;
        let b = Arc::new(ByteBudget::new(TOTAL));
        let held = Arc::new(AtomicU64::new(0));
        let most = Arc::new(AtomicU64::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let deliveries = std::thread::spawn({
            let (b, held) = (b.clone(), held.clone());
            move || {
                let mut n = 0u64;
                for bytes in rx {
                    held.fetch_sub(bytes, Ordering::SeqCst);
                    b.release(bytes);
                    n += 1;
                }
                n
            }
        });
        let senders: Vec<_> = (0..2u64)
            .map(|s| {
                let (b, tx, held, most) = (b.clone(), tx.clone(), held.clone(), most.clone());
                runtime.spawn(async move {
                    for i in 0..50_000u64 {
                        let bytes = 1 + (i * 7 + s * 13) % 3000;
                        b.reserve(bytes, ms(10_000)).await.expect("deliveries free the budget");
                        let now = held.fetch_add(bytes, Ordering::SeqCst) + bytes;
                        most.fetch_max(now, Ordering::SeqCst);
                        tx.send(bytes).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        runtime.block_on(async {
            for s in senders {
                s.await.unwrap();
            }
        });
        assert_eq!(deliveries.join().unwrap(), 100_000);
        let most = most.load(Ordering::SeqCst);
        assert!(most <= TOTAL, "the senders held {most} bytes of a {TOTAL}-byte budget at once");
        assert!(most > TOTAL / 2, "the budget was used ({most} of {TOTAL} bytes at most)");
        assert_eq!(b.in_use(), 0);
        assert!(b.try_reserve(TOTAL));
    }
}
