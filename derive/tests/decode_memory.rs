//! Memory that decoding hostile input may take, measured with a counting allocator (its own test binary, so that
//! no other test's allocations count).
#![allow(unsafe_code)] // the counting allocator

use typed_kafka::{DecodeError, KafkaRecord};

#[derive(KafkaRecord, Debug, PartialEq)]
enum Call {
    Leaf { v: i64 },
    Call { name: String, args: Vec<Call> },
}

/// Found by fuzzing: nested arrays each declaring as many items as the remaining input could hold made every level
/// reserve for the whole input, so memory grew with depth x input. Decoding now reserves a bounded amount per
/// block and grows with the items that really decode.
#[test]
fn nested_array_counts_do_not_multiply_reservations() {
    let depth = 120;
    let mut bytes = Vec::new();
    for _ in 0..depth {
        bytes.extend([0x02, 0x00]); // branch Call, empty name
        // A block declaring 30,000 items, each at least one byte: plausible against the remaining input.
        bytes.extend([0xe0, 0xd4, 0x03]);
    }
    bytes.resize(bytes.len() + 40_000, 0x00);
    let before = allocated();
    let err = Call::decode_body(&bytes).unwrap_err();
    let peak = PEAK.load(Relaxed).saturating_sub(before);
    // The innermost array decodes 20,000 of its 30,000 declared items before the input ends.
    assert!(matches!(err.root_cause(), DecodeError::UnexpectedEof { .. }), "{err}");
    // Before the fix: 120 levels x 30,000 items x the item's size, over 200 MB.
    assert!(peak < 32 << 20, "decoding {} bytes reserved {} MB", bytes.len(), peak >> 20);
}

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Counts live bytes and their peak, to bound what decoding allocates.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn allocated() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    live
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
