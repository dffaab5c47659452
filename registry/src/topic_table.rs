//! The serializer's topic → schema ID table: append-only, read without locks or read-modify-write atomics.
//!
//! Slots are `OnceLock`s in an open-addressing array: a read hashes the topic and loads a few slots (acquire loads),
//! stopping at the first empty one, which proves the topic is absent because slots are never emptied. A topic whose
//! probe run is full goes to a locked overflow map (more topics than a serializer normally sees).

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use crate::client::FnvHasher;

const SLOTS: usize = 128;
const PROBES: usize = 8;

struct Slot {
    topic: Box<str>,
    id: AtomicU32,
    /// Nanoseconds after `base` at which the entry expires; `u64::MAX` for never.
    expires: AtomicU64,
}

pub(crate) struct TopicTable {
    slots: Box<[OnceLock<Slot>]>,
    /// The slot of the first topic inserted, checked before hashing: most serializers serve one topic. Written once
    /// (at that insert), so readers on many threads never contend for it.
    hint: AtomicUsize,
    overflow: RwLock<std::collections::HashMap<String, (u32, u64)>>,
    base: Instant,
}

fn hash(topic: &str) -> usize {
    std::hash::BuildHasherDefault::<FnvHasher>::default().hash_one(topic) as usize
}

impl TopicTable {
    pub(crate) fn new() -> TopicTable {
        TopicTable {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            hint: AtomicUsize::new(usize::MAX),
            overflow: RwLock::new(Default::default()),
            base: Instant::now(),
        }
    }

    fn deadline(&self, expires: Option<Instant>) -> u64 {
        expires.map_or(u64::MAX, |at| {
            at.saturating_duration_since(self.base).as_nanos().min(u128::from(u64::MAX - 1)) as u64
        })
    }

    fn live(&self, id: u32, expires: u64) -> Option<u32> {
        if expires == u64::MAX || (Instant::now().saturating_duration_since(self.base).as_nanos() as u64) < expires {
            Some(id)
        } else {
            None
        }
    }

    /// The ID cached for `topic`, unless absent or expired.
    #[inline]
    pub(crate) fn get(&self, topic: &str) -> Option<u32> {
        if let Some(s) = self.slots.get(self.hint.load(Ordering::Relaxed)).and_then(OnceLock::get)
            && &*s.topic == topic
        {
            return self.live(s.id.load(Ordering::Acquire), s.expires.load(Ordering::Acquire));
        }
        let h = hash(topic);
        for i in 0..PROBES {
            match self.slots[(h + i) % SLOTS].get() {
                None => return None,
                Some(s) if &*s.topic == topic => {
                    return self.live(s.id.load(Ordering::Acquire), s.expires.load(Ordering::Acquire));
                }
                Some(_) => {}
            }
        }
        let (id, expires) = *self.overflow.read().unwrap_or_else(|e| e.into_inner()).get(topic)?;
        self.live(id, expires)
    }

    /// Records (or updates) the ID for `topic`.
    pub(crate) fn insert(&self, topic: &str, id: u32, expires: Option<Instant>) {
        let deadline = self.deadline(expires);
        let h = hash(topic);
        for i in 0..PROBES {
            let cell = &self.slots[(h + i) % SLOTS];
            let slot = cell.get_or_init(|| Slot {
                topic: topic.into(),
                id: AtomicU32::new(id),
                expires: AtomicU64::new(deadline),
            });
            if &*slot.topic == topic {
                slot.id.store(id, Ordering::Release);
                slot.expires.store(deadline, Ordering::Release);
                let _ = self.hint.compare_exchange(usize::MAX, (h + i) % SLOTS, Ordering::Relaxed, Ordering::Relaxed);
                return;
            }
        }
        self.overflow.write().unwrap_or_else(|e| e.into_inner()).insert(topic.to_string(), (id, deadline));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn finds_what_was_inserted_including_overflow_and_expiry() {
        let t = TopicTable::new();
        for i in 0..1000u32 {
            t.insert(&format!("topic-{i}"), i, None);
        }
        for i in 0..1000u32 {
            assert_eq!(t.get(&format!("topic-{i}")), Some(i), "topic-{i}");
        }
        assert_eq!(t.get("absent"), None);
        t.insert("topic-5", 55, None);
        assert_eq!(t.get("topic-5"), Some(55));
        t.insert("expired", 1, Some(Instant::now()));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(t.get("expired"), None);
        t.insert("fresh", 2, Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(t.get("fresh"), Some(2));
    }
}
