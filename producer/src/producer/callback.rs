//! A delivery callback, kept inline when it is small.
//!
//! Most callbacks capture a word or two (an `Arc`, a channel's sender, an ID). Boxed, each would be a small
//! allocation made on the sending thread and freed on the delivery thread, between librdkafka's per-message
//! chunks on the allocator's heap: measured in the mixed stream, that box cost more than the rest of a called-back
//! record's completion (`benches/README.md`, "the allocator's heap"). A callback of up to [`INLINE_WORDS`] words,
//! aligned to at most a word, is kept in place instead; a larger one is boxed.

use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};

use super::pending::DeliveryResult;

/// The words a callback may take and still be kept inline.
pub(crate) const INLINE_WORDS: usize = 3;

type Words = [usize; INLINE_WORDS];

/// A callback run once with a record's outcome, or dropped unrun.
pub(crate) struct Callback(Repr);

enum Repr {
    Inline(Inline),
    Boxed(Box<dyn FnOnce(DeliveryResult) + Send>),
}

/// A closure of type `F`, moved into `words`, with the two functions that know `F`.
struct Inline {
    words: MaybeUninit<Words>,
    /// Moves the closure out of the words and runs it.
    call: unsafe fn(*mut Words, DeliveryResult),
    /// Drops the closure in place.
    drop: unsafe fn(*mut Words),
    /// Neither `Send` nor `Sync` by itself (the closure's type is erased): see below.
    _closure: PhantomData<*mut ()>,
}

// SAFETY: an `Inline` is made only from a closure that is `Send` (`Callback::new`'s bound), and moving it moves
// the closure. (It is not `Sync`, as a boxed callback is not.)
#[allow(unsafe_code)]
unsafe impl Send for Inline {}

impl Callback {
    /// `f`, kept inline if it fits.
    pub(crate) fn new<F: FnOnce(DeliveryResult) + Send + 'static>(f: F) -> Callback {
        if size_of::<F>() > size_of::<Words>() || align_of::<F>() > align_of::<Words>() {
            return Callback(Repr::Boxed(Box::new(f)));
        }
        let mut words = MaybeUninit::<Words>::uninit();
        // SAFETY: `F` fits in the words, in size and in alignment (checked above), and the words are uninit, so
        // nothing is overwritten.
        #[allow(unsafe_code)]
        unsafe {
            words.as_mut_ptr().cast::<F>().write(f)
        };
        Callback(Repr::Inline(Inline { words, call: call_erased::<F>, drop: drop_erased::<F>, _closure: PhantomData }))
    }

    /// Whether the callback is kept inline.
    #[cfg(test)]
    fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }

    /// Runs the callback with `result`.
    pub(crate) fn call(self, result: DeliveryResult) {
        match self.0 {
            Repr::Inline(inline) => {
                // The closure is moved out and run by `call`; its `Drop` must not drop it again.
                let mut inline = ManuallyDrop::new(inline);
                // SAFETY: `call` is `call_erased::<F>` for the `F` written into these words by `new`, which are still
                // initialised (neither `call` nor `drop` ran on them: each takes the `Inline` by value or runs in
                // its `Drop`), and are not used again.
                #[allow(unsafe_code)]
                unsafe {
                    (inline.call)(inline.words.as_mut_ptr(), result)
                }
            }
            Repr::Boxed(f) => f(result),
        }
    }
}

impl Drop for Inline {
    fn drop(&mut self) {
        // SAFETY: `drop` is `drop_erased::<F>` for the `F` written into these words by `new`, still there: a `call`
        // would have kept this `Drop` from running.
        #[allow(unsafe_code)]
        unsafe {
            (self.drop)(self.words.as_mut_ptr())
        }
    }
}

/// # Safety
/// `words` holds an initialised `F`, which is not used again.
#[allow(unsafe_code)]
unsafe fn call_erased<F: FnOnce(DeliveryResult)>(words: *mut Words, result: DeliveryResult) {
    // SAFETY: as the caller promises; the closure is read out once.
    let f = unsafe { words.cast::<F>().read() };
    f(result)
}

/// # Safety
/// `words` holds an initialised `F`, which is not used again.
#[allow(unsafe_code)]
unsafe fn drop_erased<F>(words: *mut Words) {
    // SAFETY: as the caller promises.
    unsafe { words.cast::<F>().drop_in_place() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::error::{DeliveryError, DeliveryErrorKind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn failed(record_id: u64) -> DeliveryResult {
        Err(DeliveryError {
            topic: "t".into(),
            partition: None,
            record_id,
            kind: DeliveryErrorKind::TimedOut,
            message: "m".into(),
            retriable: true,
        })
    }

    /// Closures of every size run once with their outcome, and what they captured is dropped once: inline ones
    /// (nothing captured, two words, three words) and boxed ones (four words; a 16-byte-aligned capture).
    #[test]
    fn callbacks_inline_or_boxed_run_once_and_drop_what_they_captured() {
        let runs = Arc::new(AtomicUsize::new(0));
        let seen = |runs: &Arc<AtomicUsize>, expected: u64| {
            let runs = runs.clone();
            move |r: DeliveryResult| {
                assert_eq!(r.unwrap_err().record_id, expected);
                runs.fetch_add(1, Ordering::SeqCst);
            }
        };
        // Two words: the `Arc` and the expected ID.
        let one = Callback::new(seen(&runs, 1));
        let a = 7u64;
        let three = Callback::new({
            let f = seen(&runs, 2);
            move |r| {
                assert_eq!(a, 7);
                f(r)
            }
        });
        let (c, d) = (1u64, 2u64);
        let four = Callback::new({
            let f = seen(&runs, 3);
            move |r| {
                assert_eq!(c + d, 3);
                f(r)
            }
        });
        #[repr(align(16))]
        struct Wide(u8);
        let wide = Wide(4);
        let aligned = Callback::new({
            let f = seen(&runs, 4);
            move |r| {
                let wide: &Wide = &wide;
                assert_eq!(wide.0, 4);
                f(r)
            }
        });
        let nothing = Callback::new(|r: DeliveryResult| assert!(r.is_err()));
        assert_eq!(
            (one.is_inline(), three.is_inline(), four.is_inline(), aligned.is_inline(), nothing.is_inline()),
            (true, true, false, false, true)
        );
        assert_eq!(Arc::strong_count(&runs), 5);
        for (i, cb) in [one, three, four, aligned].into_iter().enumerate() {
            cb.call(failed(i as u64 + 1));
        }
        nothing.call(failed(0));
        assert_eq!((runs.load(Ordering::SeqCst), Arc::strong_count(&runs)), (4, 1));
    }

    /// A callback dropped unrun drops what it captured, once, inline or boxed.
    #[test]
    fn a_callback_dropped_unrun_drops_what_it_captured() {
        let held = Arc::new(());
        let inline = Callback::new({
            let held = held.clone();
            move |_| drop(held)
        });
        let big = [0u64; 8];
        let boxed = Callback::new({
            let held = held.clone();
            move |_| drop((held, big))
        });
        assert!(inline.is_inline() && !boxed.is_inline());
        assert_eq!(Arc::strong_count(&held), 3);
        drop((inline, boxed));
        assert_eq!(Arc::strong_count(&held), 1);
    }

    /// A callback that panics has still consumed what it captured, and nothing is dropped twice.
    #[test]
    fn a_callback_that_panics_drops_what_it_captured_once() {
        let held = Arc::new(());
        let cb = Callback::new({
            let held = held.clone();
            move |_| {
                let _held = held;
                panic!("a callback that panics");
            }
        });
        assert!(cb.is_inline());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb.call(failed(1))));
        assert!(caught.is_err());
        assert_eq!(Arc::strong_count(&held), 1);
    }

    /// Callbacks move between threads, kept inline, and run on the other one.
    #[test]
    fn inline_callbacks_run_on_another_thread() {
        let runs = Arc::new(AtomicUsize::new(0));
        let callbacks: Vec<Callback> = (0..1000)
            .map(|i| {
                let runs = runs.clone();
                Callback::new(move |r: DeliveryResult| {
                    assert_eq!(r.unwrap_err().record_id, i);
                    runs.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        std::thread::spawn(move || {
            for (i, cb) in callbacks.into_iter().enumerate() {
                cb.call(failed(i as u64));
            }
        })
        .join()
        .unwrap();
        assert_eq!((runs.load(Ordering::SeqCst), Arc::strong_count(&runs)), (1000, 1));
    }
}
