//! Work over a list on a few threads, results in the list's order: used to load cluster files,
//! check them, and (in `execute`) to run releases and decryptions several at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The cores this process may use (its CPU affinity and cgroup quota), asked once: the standard
/// library reads `/proc/self/cgroup`, `/proc/self/mountinfo` and the quota file each time, about
/// 0.1 ms, and a plan asks three times.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

/// `f` over `items` on up to `workers` threads (taking the next item as each one finishes); the
/// results in item order. The calling thread is one of the workers: it would only wait, and a
/// thread fewer to start is a few tens of microseconds less (one worker starts none).
pub fn map<T: Sync, R: Send>(workers: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(items.len()));
    let work = || {
        loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            let Some(item) = items.get(k) else { break };
            let r = f(item);
            results
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((k, r));
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers.clamp(1, items.len().max(1)) {
            s.spawn(work);
        }
        work();
    });
    let mut r = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    r.sort_by_key(|(k, _)| *k);
    r.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn cores_is_what_the_standard_library_says() {
        let std = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!((cores(), cores()), (std, std));
    }

    #[test]
    fn each_item_once_results_in_order_on_at_most_the_workers_asked() {
        let items: Vec<u32> = (0..500).collect();
        for workers in [0, 1, 2, 3, 8, 1000] {
            let threads = Mutex::new(HashSet::new());
            let out = map(workers, &items, |&i| {
                threads.lock().unwrap().insert(std::thread::current().id());
                i * 2
            });
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
            let threads = threads.into_inner().unwrap();
            assert!(
                threads.len() <= workers.max(1),
                "{workers}: {}",
                threads.len()
            );
            if workers <= 1 {
                // one worker is the caller itself: no thread started
                assert_eq!(threads, HashSet::from([std::thread::current().id()]));
            }
        }
        assert!(map(4, &[] as &[u32], |&i| i).is_empty());
    }
}
