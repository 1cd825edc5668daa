//! Values computed once per key and shared by threads: the first caller of a key computes it,
//! the others asking for the same key meanwhile wait for that result instead of computing again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

pub struct OnceMap<K, V> {
    cells: Mutex<BTreeMap<K, Arc<OnceLock<V>>>>,
}

impl<K, V> Default for OnceMap<K, V> {
    fn default() -> Self {
        OnceMap {
            cells: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord, V: Clone> OnceMap<K, V> {
    /// The value for `key`, computed by `f` if nobody did yet. The map is locked only to find
    /// the key's cell, never while `f` runs.
    pub fn get_or_init(&self, key: K, f: impl FnOnce() -> V) -> V {
        let cell = Arc::clone(
            self.cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        cell.get_or_init(f).clone()
    }

    /// How many keys were asked for.
    pub fn len(&self) -> usize {
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn each_key_is_computed_once_even_when_asked_for_at_once() {
        let m: OnceMap<&str, usize> = OnceMap::default();
        let calls = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let v = m.get_or_init("a", || {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        calls.fetch_add(1, Ordering::SeqCst) + 10
                    });
                    assert_eq!(v, 10);
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(m.get_or_init("b", || 2), 2);
        assert_eq!(m.len(), 2);
    }
}
