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

/// Whether the calling thread may take a worker's share: its stack must be no smaller than a
/// started thread's (Rust's 2 MiB), as the work may parse a deeply nested YAML file. The main
/// thread's stack is the process's limit, which `ulimit -s` may have set lower.
fn caller_can_work() -> bool {
    const THREAD_STACK: u64 = 2 << 20;
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(|| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the limit into the struct it is given.
        let asked = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) };
        asked == 0 && (limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= THREAD_STACK)
    })
}

/// `f` over `items` on up to `workers` threads (taking the next item as each one finishes); the
/// results in item order. The calling thread is one of the workers (unless its stack is smaller
/// than theirs, see `caller_can_work`): it would only wait, and a thread fewer to start is 0.1 to
/// 0.2 ms less on a virtual machine whose other core is idle (one worker starts none).
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
    let workers = workers.clamp(1, items.len().max(1));
    let caller = caller_can_work();
    std::thread::scope(|s| {
        for _ in usize::from(caller)..workers {
            s.spawn(work);
        }
        if caller {
            work();
        }
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
            if workers <= 1 && caller_can_work() {
                // one worker is the caller itself: no thread started
                assert_eq!(threads, HashSet::from([std::thread::current().id()]));
            }
        }
        assert!(map(4, &[] as &[u32], |&i| i).is_empty());
    }
}
