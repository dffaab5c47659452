//! The serializer's topic → schema ID table: an immutable snapshot, replaced whole on insert (copy on write) and
//! read through `arc-swap` without locks or writes to shared memory. Each topic's ID sits in its own atomic cell,
//! which the latest-version refresher updates in place and a bound serializer holds directly; one `u32` per cell,
//! so a reader can never see half of an update.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

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

struct Snapshot {
    /// The first topic inserted, compared before hashing: most serializers serve one topic.
    first: Option<(Box<str>, Arc<TopicSlot>)>,
    map: Map,
}

pub(crate) struct TopicTable {
    snapshot: ArcSwap<Snapshot>,
    writer: std::sync::Mutex<()>,
}

impl TopicTable {
    pub(crate) fn new() -> TopicTable {
        TopicTable {
            snapshot: ArcSwap::from_pointee(Snapshot { first: None, map: Map::default() }),
            writer: std::sync::Mutex::new(()),
        }
    }

    /// The ID cached for `topic`.
    #[inline]
    pub(crate) fn get(&self, topic: &str) -> Option<SchemaId> {
        let snap = self.snapshot.load();
        if let Some((t, slot)) = &snap.first
            && &**t == topic
        {
            return Some(slot.id());
        }
        snap.map.get(topic).map(|s| s.id())
    }

    /// The cell of `topic`, for a handle bound to it.
    pub(crate) fn slot(&self, topic: &str) -> Option<Arc<TopicSlot>> {
        self.snapshot.load().map.get(topic).cloned()
    }

    /// Every topic and its cell (for the refresher).
    pub(crate) fn entries(&self) -> Vec<(Box<str>, Arc<TopicSlot>)> {
        self.snapshot.load().map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Records the ID for `topic`: updates its cell, or publishes a new snapshot with the topic added.
    pub(crate) fn insert(&self, topic: &str, id: SchemaId) -> Arc<TopicSlot> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        if let Some(slot) = current.map.get(topic) {
            slot.set(id);
            return slot.clone();
        }
        let slot = Arc::new(TopicSlot { id: AtomicU32::new(id.0) });
        let mut map = current.map.clone();
        map.insert(topic.into(), slot.clone());
        let first = current.first.clone().or_else(|| Some((topic.into(), slot.clone())));
        self.snapshot.store(Arc::new(Snapshot { first, map }));
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
