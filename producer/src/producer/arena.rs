//! Leased value bytes: where a record's value waits for its delivery report, instead of a copy that librdkafka
//! allocates per record. Values of `LEASE_MIN..=LEASE_MAX` bytes sent through a bound topic's handle (no headers,
//! no explicit timestamp: `KafkaCore::enqueue`) are leased, in every send mode; the report's opaque says so.
//!
//! With `RD_KAFKA_MSG_F_COPY`, librdkafka allocates its message header and a copy of the value together, one
//! allocation per record, freed by the thread that serves delivery reports. Past about 1 KiB together, glibc serves
//! such blocks from its locked bins rather than its per-thread cache, and the sending and the reporting threads
//! contend for them: a sixth of the client's CPU per 1 KiB record (`benches/README.md`). Here the value is copied
//! into a chunk of 256 KiB shared by many records instead, and librdkafka is given the bytes without the copy flag;
//! the delivery report gives them back. A chunk is freed when the sender has moved on from it and its last record's
//! report has come.
//!
//! Memory stays bounded: the arena holds at most `cap` bytes of chunks (records still in flight, plus the parts of
//! chunks whose records were reported while a neighbour is not yet); past that, values go to librdkafka as copies.
//! A record whose report never comes (a client destroyed with records in flight) leaks its chunk, never frees it
//! early.

use std::alloc::{Layout, alloc, dealloc};
use std::ptr::NonNull;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

/// Size of a chunk, header included.
const CHUNK: usize = 256 * 1024;
/// The smallest value leased: smaller ones fit, with librdkafka's header, in glibc's per-thread cache.
pub(crate) const LEASE_MIN: usize = 768;
/// The largest value leased, so that a chunk holds at least a few.
pub(crate) const LEASE_MAX: usize = CHUNK / 8;
/// Before each leased value: the address of its chunk.
const BACK: usize = size_of::<*mut Chunk>();

/// The start of a chunk; leased values follow it.
#[repr(C)]
struct Chunk {
    /// `CHARGE` when made; each release takes one off, and the arena takes off the leases it did not give when it
    /// moves on. So the sending thread writes this line once per chunk, not once per record (a line written by
    /// both threads per record costs each of them a cache miss per record).
    refs: AtomicUsize,
}

/// More than a chunk can ever lend (every lease takes at least a byte of it).
const CHARGE: usize = CHUNK;

const LAYOUT: Layout = match Layout::from_size_align(CHUNK, align_of::<Chunk>()) {
    Ok(layout) => layout,
    Err(_) => panic!("the chunk layout is valid"),
};

/// Where the arena writes next.
struct Cursor {
    chunk: Option<NonNull<Chunk>>,
    used: usize,
    /// Leases given from `chunk`.
    leases: usize,
}

// SAFETY: the cursor's chunk is only written through while the arena's mutex is held; its reference count is atomic.
#[allow(unsafe_code)]
unsafe impl Send for Cursor {}

/// Chunks of value bytes lent to librdkafka until each record's delivery report. See the module documentation.
pub(crate) struct ValueArena {
    cursor: Mutex<Cursor>,
    /// Bytes of chunks allocated and not yet freed.
    live: AtomicUsize,
    /// The most `live` may reach.
    cap: usize,
}

impl std::fmt::Debug for ValueArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueArena").field("live", &self.live()).field("cap", &self.cap).finish()
    }
}

#[allow(unsafe_code)]
impl ValueArena {
    /// An arena that holds at most `cap` bytes of chunks.
    pub(crate) fn new(cap: usize) -> ValueArena {
        let cursor = Cursor { chunk: None, used: 0, leases: 0 };
        ValueArena { cursor: Mutex::new(cursor), live: AtomicUsize::new(0), cap }
    }

    /// Bytes of chunks allocated and not yet freed.
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// A copy of `value` in a chunk, valid until the lease is dropped or, once handed over with
    /// [`Lease::into_raw`], until [`release`](Self::release) is called with its pointer; `None` when the value is
    /// outside the leased sizes or the arena is at its cap (the caller copies instead).
    pub(crate) fn lease(&self, value: &[u8]) -> Option<Lease<'_>> {
        if !(LEASE_MIN..=LEASE_MAX).contains(&value.len()) {
            return None;
        }
        let need = BACK + value.len();
        let mut cursor = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let chunk = match cursor.chunk {
            Some(chunk) if cursor.used + need <= CHUNK => chunk,
            current => {
                if let Some(full) = current {
                    cursor.chunk = None;
                    // SAFETY: the arena's own share of the chunk's count, given up once, here.
                    unsafe { self.unref(full, CHARGE - cursor.leases) };
                }
                if self.live.load(Ordering::Relaxed) + CHUNK > self.cap {
                    return None;
                }
                // SAFETY: the layout has a non-zero size.
                let fresh = NonNull::new(unsafe { alloc(LAYOUT) })?.cast::<Chunk>();
                // SAFETY: freshly allocated for a chunk, aligned for its header.
                unsafe { fresh.write(Chunk { refs: AtomicUsize::new(CHARGE) }) };
                self.live.fetch_add(CHUNK, Ordering::Relaxed);
                *cursor = Cursor { chunk: Some(fresh), used: size_of::<Chunk>(), leases: 0 };
                fresh
            }
        };
        // SAFETY: `used + need <= CHUNK`, so the back pointer and the value lie inside the chunk, in bytes no other
        // lease was given (the cursor only moves forward, under the mutex).
        let value_ptr = unsafe {
            let at = chunk.cast::<u8>().add(cursor.used);
            at.cast::<*mut Chunk>().write_unaligned(chunk.as_ptr());
            let value_ptr = at.add(BACK);
            std::ptr::copy_nonoverlapping(value.as_ptr(), value_ptr.as_ptr(), value.len());
            value_ptr
        };
        cursor.used += need;
        // Counted into the chunk's `refs` when the arena moves on (see `Chunk::refs`).
        cursor.leases += 1;
        Some(Lease { arena: self, value: value_ptr })
    }

    /// Gives back a leased value.
    ///
    /// # Safety
    /// `value` was returned by [`lease`](Self::lease) on this arena (a pointer with the same address and the
    /// provenance of the chunk, as librdkafka hands back), is released once, and is not read after.
    pub(crate) unsafe fn release(&self, value: *const u8) {
        // SAFETY: `lease` wrote the chunk's pointer just before the value, inside the chunk, which is live until
        // this lease is released.
        let chunk = unsafe { value.sub(BACK).cast::<*mut Chunk>().read_unaligned() };
        // SAFETY: the lease's share of a live chunk's count, given up once (the caller's promise).
        unsafe { self.unref(NonNull::new_unchecked(chunk), 1) };
    }

    /// # Safety
    /// `chunk` is live and the caller gives up `n` of its count that it holds.
    unsafe fn unref(&self, chunk: NonNull<Chunk>, n: usize) {
        // SAFETY: live (the caller's promise).
        if unsafe { chunk.as_ref() }.refs.fetch_sub(n, Ordering::Release) == n {
            // Every write to the chunk (the leases' copies) happens before it is freed.
            fence(Ordering::Acquire);
            // SAFETY: the last reference: nobody reads the chunk any more; allocated with LAYOUT.
            unsafe { dealloc(chunk.as_ptr().cast(), LAYOUT) };
            self.live.fetch_sub(CHUNK, Ordering::Relaxed);
        }
    }
}

/// A value in the arena, given back when dropped unless handed over with [`into_raw`](Self::into_raw).
pub(crate) struct Lease<'a> {
    arena: &'a ValueArena,
    value: NonNull<u8>,
}

impl Lease<'_> {
    /// Where the value's bytes are.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        self.value.as_ptr()
    }

    /// Hands the lease over: whoever holds the pointer gives it back with [`ValueArena::release`].
    pub(crate) fn into_raw(self) -> NonNull<u8> {
        let value = self.value;
        std::mem::forget(self);
        value
    }
}

#[allow(unsafe_code)]
impl Drop for Lease<'_> {
    fn drop(&mut self) {
        // SAFETY: leased from this arena and not handed over (into_raw forgets the lease), so released once, here.
        unsafe { self.arena.release(self.value.as_ptr()) };
    }
}

#[allow(unsafe_code)]
impl Drop for ValueArena {
    fn drop(&mut self) {
        let cursor = self.cursor.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(chunk) = cursor.chunk.take() {
            // SAFETY: the arena's own share, given up once; leases still out keep the chunk alive.
            let unused = CHARGE - cursor.leases;
            unsafe { self.unref(chunk, unused) };
        }
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
mod tests {
    use super::*;

    fn value(seed: usize, len: usize) -> Vec<u8> {
        (0..len).map(|i| (seed.wrapping_mul(31).wrapping_add(i) % 251) as u8).collect()
    }

    /// The bytes read back are the value's, across chunks; every chunk is freed once its leases and the arena are.
    #[test]
    fn leases_hold_their_bytes_until_released_and_chunks_are_freed() {
        let arena = ValueArena::new(usize::MAX);
        let leases: Vec<(NonNull<u8>, Vec<u8>)> = (0..600)
            .map(|i| {
                let v = value(i, LEASE_MIN + (i * 37) % 2000);
                (arena.lease(&v).expect("leased").into_raw(), v)
            })
            .collect();
        assert!(arena.live() >= 4 * CHUNK, "{} bytes of chunks for ~1 MiB of values", arena.live());
        // Released out of order: every other one first.
        for (ptr, v) in leases.iter().step_by(2).chain(leases.iter().skip(1).step_by(2)) {
            // SAFETY: leased above, not yet released.
            let back = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), v.len()) };
            assert_eq!(back, v.as_slice());
            // SAFETY: leased above, released once, not read after.
            unsafe { arena.release(ptr.as_ptr()) };
        }
        assert_eq!(arena.live(), CHUNK, "only the chunk being written is left");
        drop(arena);
    }

    #[test]
    fn sizes_outside_the_leased_range_and_a_full_arena_are_refused() {
        let arena = ValueArena::new(2 * CHUNK);
        assert!(arena.lease(&[0; LEASE_MIN - 1]).is_none());
        assert!(arena.lease(&vec![0; LEASE_MAX + 1]).is_none());
        let big = vec![7u8; LEASE_MAX];
        let mut held = Vec::new();
        while let Some(lease) = arena.lease(&big) {
            held.push(lease);
            assert!(held.len() < 64, "the cap never refused");
        }
        assert!(arena.live() <= 2 * CHUNK);
        // Dropped leases are given back and make room again.
        drop(held);
        assert_eq!(arena.live(), 0, "both chunks freed: the arena had moved on from them");
        let lease = arena.lease(&big).expect("room again");
        // SAFETY: the lease's bytes, while it is held.
        assert_eq!(unsafe { std::slice::from_raw_parts(lease.as_ptr(), big.len()) }, big.as_slice());
    }

    /// One thread leases while another releases, as the sender and librdkafka's delivery-report thread do.
    #[test]
    fn leases_released_on_another_thread() {
        let arena = std::sync::Arc::new(ValueArena::new(64 * CHUNK));
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, usize, Vec<u8>)>(256);
        let reporter = {
            let arena = arena.clone();
            std::thread::spawn(move || {
                for (addr, len, expected) in rx {
                    let ptr = std::ptr::with_exposed_provenance::<u8>(addr);
                    // SAFETY: leased by the sender, not yet released.
                    assert_eq!(unsafe { std::slice::from_raw_parts(ptr, len) }, expected.as_slice());
                    // SAFETY: released once, here.
                    unsafe { arena.release(ptr) };
                }
            })
        };
        let n = if cfg!(miri) { 300 } else { 20_000 };
        for i in 0..n {
            let v = value(i, LEASE_MIN + i % 1500);
            let ptr = loop {
                match arena.lease(&v) {
                    Some(lease) => break lease.into_raw(),
                    None => std::thread::yield_now(),
                }
            };
            tx.send((ptr.as_ptr().expose_provenance(), v.len(), v)).expect("reporter alive");
        }
        drop(tx);
        reporter.join().expect("reporter");
        assert_eq!(arena.live(), CHUNK);
    }
}
