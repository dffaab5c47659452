//! The one cache every lookup of the client and the deserializer goes through: bounded by entries and by bytes,
//! entries optionally expiring, failures optionally remembered for a while (negative entries), and concurrent misses
//! for one key sharing one load (single flight).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// A fast hasher for the short keys here (topics, subjects, IDs), eight bytes per step (the FxHash recipe). No
/// DoS resistance is needed: the keys come from the application's own configuration and the registry's IDs.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct Fx(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Fx {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for Fx {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// How a [`LoadingCache`] is bounded and how long it keeps what it learned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachePolicy {
    /// Most entries (negative ones included).
    pub(crate) capacity: usize,
    /// Most bytes of values, as the cache's weigher counts them.
    pub(crate) max_bytes: usize,
    /// How long a value is served; `None` for as long as it is kept.
    pub(crate) ttl: Option<Duration>,
    /// How long a failure the caller calls permanent (e.g. "no such ID") is answered from memory; zero for never.
    pub(crate) negative_ttl: Duration,
}

enum Entry<V, E> {
    Present { value: V, at: Instant, weight: usize },
    Missing { error: E, at: Instant },
}

struct State<K, V, E> {
    map: FxMap<K, (Entry<V, E>, u64)>,
    /// Keys in insertion order with the generation they were inserted at; the oldest live one goes first.
    order: VecDeque<(K, u64)>,
    next_gen: u64,
    bytes: usize,
}

type Flight<V, E> = Arc<OnceCell<Result<V, E>>>;

/// A bounded map from keys to loaded values (FIFO eviction; expired entries are reloaded on access).
pub(crate) struct LoadingCache<K, V, E> {
    state: Mutex<State<K, V, E>>,
    flights: Mutex<FxMap<K, Flight<V, E>>>,
    policy: CachePolicy,
    weigh: fn(&V) -> usize,
}

/// What [`LoadingCache::get`] found.
pub(crate) enum Cached<V, E> {
    Hit(V),
    /// A remembered failure.
    Failed(E),
    Miss,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<K: Hash + Eq + Clone, V: Clone, E: Clone> LoadingCache<K, V, E> {
    pub(crate) fn new(policy: CachePolicy, weigh: fn(&V) -> usize) -> LoadingCache<K, V, E> {
        LoadingCache {
            state: Mutex::new(State { map: FxMap::default(), order: VecDeque::new(), next_gen: 0, bytes: 0 }),
            flights: Mutex::new(FxMap::default()),
            policy: CachePolicy { capacity: policy.capacity.max(1), ..policy },
            weigh,
        }
    }

    /// The live entry for `key`, without loading.
    pub(crate) fn get(&self, key: &K) -> Cached<V, E> {
        let state = lock(&self.state);
        match state.map.get(key) {
            Some((Entry::Present { value, at, .. }, _)) if self.policy.ttl.is_none_or(|ttl| at.elapsed() < ttl) => {
                Cached::Hit(value.clone())
            }
            Some((Entry::Missing { error, at }, _)) if at.elapsed() < self.policy.negative_ttl => {
                Cached::Failed(error.clone())
            }
            _ => Cached::Miss,
        }
    }

    /// The value for `key`: from memory, or from `load` (one load at a time per key; concurrent callers share its
    /// result). A failure for which `remember` is true is answered from memory for the negative TTL.
    pub(crate) async fn get_or_load<F, Fut>(&self, key: &K, remember: fn(&E) -> bool, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        match self.get(key) {
            Cached::Hit(v) => return Ok(v),
            Cached::Failed(e) => return Err(e),
            Cached::Miss => {}
        }
        let flight = lock(&self.flights).entry(key.clone()).or_default().clone();
        // If the caller that started the load is cancelled, the next waiter runs its own `load` instead.
        let ran = std::sync::atomic::AtomicBool::new(false);
        let out = flight
            .get_or_init(|| async {
                // A load that finished between our cache miss and our finding no flight left its value in the
                // cache (it stores before it clears its flight): take that instead of loading again.
                match self.get(key) {
                    Cached::Hit(v) => Ok(v),
                    Cached::Failed(e) => Err(e),
                    Cached::Miss => {
                        ran.store(true, std::sync::atomic::Ordering::Relaxed);
                        load().await
                    }
                }
            })
            .await
            .clone();
        // Stored before the flight is cleared, so that a caller arriving in between finds the value.
        if ran.load(std::sync::atomic::Ordering::Relaxed) {
            match &out {
                Ok(v) => self.insert(key.clone(), v.clone()),
                Err(e) if remember(e) && !self.policy.negative_ttl.is_zero() => {
                    self.put(key.clone(), Entry::Missing { error: e.clone(), at: Instant::now() }, 0)
                }
                Err(_) => {}
            }
        }
        let mut flights = lock(&self.flights);
        if flights.get(key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            flights.remove(key);
        }
        drop(flights);
        out
    }

    /// Stores a value (replacing any entry for the key). A value heavier than the whole byte budget is not kept.
    pub(crate) fn insert(&self, key: K, value: V) {
        let weight = (self.weigh)(&value);
        if weight > self.policy.max_bytes {
            self.remove(&key);
            return;
        }
        self.put(key, Entry::Present { value, at: Instant::now(), weight }, weight);
    }

    fn put(&self, key: K, entry: Entry<V, E>, weight: usize) {
        let mut state = lock(&self.state);
        let generation = state.next_gen;
        state.next_gen += 1;
        if let Some((old, _)) = state.map.insert(key.clone(), (entry, generation)) {
            state.bytes -= weight_of(&old);
        }
        state.bytes += weight;
        state.order.push_back((key, generation));
        while state.map.len() > self.policy.capacity || state.bytes > self.policy.max_bytes {
            let Some((old_key, old_gen)) = state.order.pop_front() else { break };
            if state.map.get(&old_key).is_some_and(|(_, g)| *g == old_gen)
                && let Some((old, _)) = state.map.remove(&old_key)
            {
                state.bytes -= weight_of(&old);
            }
        }
        // Replaced keys leave stale positions behind; drop them once they outnumber the live ones.
        if state.order.len() > 2 * state.map.len() + 16 {
            let State { map, order, .. } = &mut *state;
            order.retain(|(k, g)| map.get(k).is_some_and(|(_, live)| live == g));
        }
    }

    /// Forgets `key`.
    pub(crate) fn remove(&self, key: &K) {
        let mut state = lock(&self.state);
        if let Some((old, _)) = state.map.remove(key) {
            state.bytes -= weight_of(&old);
        }
    }

    /// Forgets every key for which `pred` is true.
    pub(crate) fn remove_if(&self, pred: impl Fn(&K) -> bool) {
        let mut state = lock(&self.state);
        let State { map, bytes, .. } = &mut *state;
        map.retain(|k, (entry, _)| {
            let keep = !pred(k);
            if !keep {
                *bytes -= weight_of(entry);
            }
            keep
        });
    }

    /// Entries held (negative ones included) and the bytes their values weigh.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.map.len(), state.bytes)
    }
}

fn weight_of<V, E>(e: &Entry<V, E>) -> usize {
    match e {
        Entry::Present { weight, .. } => *weight,
        Entry::Missing { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(capacity: usize, max_bytes: usize) -> CachePolicy {
        CachePolicy { capacity, max_bytes, ttl: None, negative_ttl: Duration::from_secs(60) }
    }

    #[test]
    fn evicts_the_oldest_by_count_and_by_bytes() {
        let c: LoadingCache<u32, String, ()> = LoadingCache::new(policy(2, 1000), String::len);
        c.insert(1, "a".into());
        c.insert(2, "b".into());
        c.insert(1, "a2".into());
        c.insert(3, "c".into());
        // Re-inserting 1 moved it behind 2, so 2 was the oldest live insertion.
        assert!(matches!(c.get(&2), Cached::Miss));
        assert!(matches!(c.get(&1), Cached::Hit(v) if v == "a2"));
        assert!(matches!(c.get(&3), Cached::Hit(_)));
        assert_eq!(c.usage(), (2, 3));

        let c: LoadingCache<u32, String, ()> = LoadingCache::new(policy(100, 10), String::len);
        c.insert(1, "xxxx".into());
        c.insert(2, "yyyy".into());
        c.insert(3, "zzzz".into());
        assert_eq!(c.usage(), (2, 8));
        assert!(matches!(c.get(&1), Cached::Miss));
        c.insert(4, "w".repeat(11));
        assert!(matches!(c.get(&4), Cached::Miss), "heavier than the whole budget: not kept");
        assert_eq!(c.usage(), (2, 8));
        // Many replacements of one key keep the order queue bounded.
        for i in 0..10_000 {
            c.insert(2, format!("{}", i % 10));
        }
        assert!(lock(&c.state).order.len() <= 2 * 2 + 17);
    }

    #[tokio::test]
    async fn expiry_and_negative_entries() {
        let c: LoadingCache<u32, u32, String> = LoadingCache::new(
            CachePolicy {
                capacity: 10,
                max_bytes: 100,
                ttl: Some(Duration::from_millis(30)),
                negative_ttl: Duration::from_millis(30),
            },
            |_| 1,
        );
        let loads = AtomicU32::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, String>(7)
        };
        assert_eq!(c.get_or_load(&1, |_| true, load).await, Ok(7));
        assert_eq!(c.get_or_load(&1, |_| true, load).await, Ok(7));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(c.get_or_load(&1, |_| true, load).await, Ok(7));
        assert_eq!(loads.load(Ordering::SeqCst), 2, "expired entries are reloaded");

        let fails = AtomicU32::new(0);
        let fail = || async {
            fails.fetch_add(1, Ordering::SeqCst);
            Err::<u32, String>("gone".into())
        };
        assert!(c.get_or_load(&2, |_| true, fail).await.is_err());
        assert!(c.get_or_load(&2, |_| true, fail).await.is_err());
        assert_eq!(fails.load(Ordering::SeqCst), 1, "a remembered failure is answered from memory");
        assert!(c.get_or_load(&3, |_| false, fail).await.is_err());
        assert!(c.get_or_load(&3, |_| false, fail).await.is_err());
        assert_eq!(fails.load(Ordering::SeqCst), 3, "a transient failure is not remembered");
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(c.get_or_load(&2, |_| true, fail).await.is_err());
        assert_eq!(fails.load(Ordering::SeqCst), 4, "negative entries expire");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_share_one_load() {
        let c = Arc::new(LoadingCache::<u32, u32, String>::new(policy(10, 100), |_| 1));
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..100 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                c.get_or_load(
                    &7,
                    |_| true,
                    || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(42)
                    },
                )
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(42));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
