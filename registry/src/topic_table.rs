//! The serializer's topic → schema ID table: an immutable snapshot, replaced whole on insert (copy on write) and
//! read through `arc-swap` without locks or writes to shared memory; the first topic is also kept in a `OnceLock`
//! read before the snapshot (one acquire load), since most serializers serve one topic. Each topic's ID sits in its own atomic cell,
//! which the latest-version refresher updates in place and a bound serializer holds directly; one `u32` per cell,
//! so a reader can never see half of an update.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use typed_kafka_avro::SchemaId;

use crate::cache::Fx;

/// One topic's schema ID.
#[derive(Debug)]
pub(crate) struct TopicSlot {
    id: AtomicU32,
}

impl TopicSlot {
    #[inline]
    pub(crate) fn id(&self) -> SchemaId {
        SchemaId(self.id.load(Ordering::Acquire))
    }

    pub(crate) fn set(&self, id: SchemaId) {
        self.id.store(id.0, Ordering::Release);
    }
}

type Map = HashMap<Box<str>, Arc<TopicSlot>, BuildHasherDefault<Fx>>;

pub(crate) struct TopicTable {
    /// The first topic inserted, checked before the snapshot: most serializers serve one topic, and this read is
    /// one acquire load and a string comparison (set once, never changed; its ID cell is the map's).
    first: OnceLock<(Box<str>, Arc<TopicSlot>)>,
    /// Every topic (the first included).
    snapshot: ArcSwap<Map>,
    writer: std::sync::Mutex<()>,
}

impl TopicTable {
    pub(crate) fn new() -> TopicTable {
        TopicTable {
            first: OnceLock::new(),
            snapshot: ArcSwap::from_pointee(Map::default()),
            writer: std::sync::Mutex::new(()),
        }
    }

    /// The ID cached for `topic`.
    #[inline]
    pub(crate) fn get(&self, topic: &str) -> Option<SchemaId> {
        if let Some((t, slot)) = self.first.get()
            && &**t == topic
        {
            return Some(slot.id());
        }
        self.snapshot.load().get(topic).map(|s| s.id())
    }

    /// The cell of `topic`, for a handle bound to it.
    pub(crate) fn slot(&self, topic: &str) -> Option<Arc<TopicSlot>> {
        self.snapshot.load().get(topic).cloned()
    }

    /// Every topic and its cell (for the refresher).
    pub(crate) fn entries(&self) -> Vec<(Box<str>, Arc<TopicSlot>)> {
        self.snapshot.load().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Records the ID for `topic`: updates its cell, or publishes a new snapshot with the topic added.
    pub(crate) fn insert(&self, topic: &str, id: SchemaId) -> Arc<TopicSlot> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        if let Some(slot) = current.get(topic) {
            slot.set(id);
            return slot.clone();
        }
        let slot = Arc::new(TopicSlot { id: AtomicU32::new(id.0) });
        let mut map = (*current).clone();
        map.insert(topic.into(), slot.clone());
        self.snapshot.store(Arc::new(map));
        // Published after the snapshot, so that every topic `first` names is in the map too.
        let _ = self.first.set((topic.into(), slot.clone()));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_inserted() {
        let t = TopicTable::new();
        for i in 0..1000u32 {
            t.insert(&format!("topic-{i}"), SchemaId(i));
        }
        for i in 0..1000u32 {
            assert_eq!(t.get(&format!("topic-{i}")), Some(SchemaId(i)), "topic-{i}");
        }
        assert_eq!(t.get("absent"), None);
        let slot = t.slot("topic-5").unwrap();
        t.insert("topic-5", SchemaId(55));
        assert_eq!(t.get("topic-5"), Some(SchemaId(55)));
        assert_eq!(slot.id(), SchemaId(55), "a bound handle's cell sees the update");
        assert_eq!(t.get("topic-0"), Some(SchemaId(0)), "the first topic takes the unhashed path");
    }

    /// Writers add topics and rewrite IDs while readers look them up: a reader sees every topic it saw before
    /// (snapshots only grow), and only IDs that some writer stored for that topic.
    #[test]
    fn concurrent_readers_and_writers_see_consistent_entries() {
        let t = Arc::new(TopicTable::new());
        const TOPICS: u32 = 200;
        // Topic i only ever gets IDs i * 1000 + k: a reader that sees another is reading torn or foreign data.
        let writers: Vec<_> = (0..2)
            .map(|w| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for round in 0..50u32 {
                        for i in (w..TOPICS).step_by(2) {
                            t.insert(&format!("t{i}"), SchemaId(i * 1000 + round));
                        }
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    let mut seen = vec![false; TOPICS as usize];
                    for _ in 0..200 {
                        for i in 0..TOPICS {
                            match t.get(&format!("t{i}")) {
                                Some(SchemaId(id)) => {
                                    assert_eq!(id / 1000, i, "topic t{i} read ID {id}");
                                    seen[i as usize] = true;
                                }
                                None => assert!(!seen[i as usize], "topic t{i} disappeared"),
                            }
                        }
                    }
                })
            })
            .collect();
        for h in writers.into_iter().chain(readers) {
            h.join().unwrap();
        }
        for i in 0..TOPICS {
            assert_eq!(t.get(&format!("t{i}")), Some(SchemaId(i * 1000 + 49)));
        }
    }
}
